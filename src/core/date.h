/*
 * Calendar dates and timestamps. A date is a day number: days since
 * 1970-01-01 (proleptic Gregorian), so dates compare as integers. The
 * clock is injectable so tests never sleep.
 */
#ifndef CORE_DATE_H
#define CORE_DATE_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#define DATE_BUF 11	/* "YYYY-MM-DD" + NUL */
#define TIME_BUF 25	/* "YYYY-MM-DDTHH:MM:SS.mmmZ" + NUL */

/* Parses exactly "YYYY-MM-DD" (a real calendar day, years 1900-9999). */
bool date_parse(const char *s, int32_t *day_out);
void date_format(int32_t day, char buf[DATE_BUF]);
int32_t date_from_ms(int64_t unix_ms);

/* RFC 3339 UTC with milliseconds. */
void time_format(int64_t unix_ms, char buf[TIME_BUF]);
/* Parses RFC 3339 "YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)". */
bool time_parse(const char *s, int64_t *unix_ms_out);

/* Wall clock in Unix milliseconds, or the injected one. It may step
 * either way: nothing that measures a duration reads it. */
int64_t time_now_ms(void);
/* Tests inject a clock; NULL restores the real one. */
void time_set_clock(int64_t (*now_ms)(void));

/* A monotonic clock in milliseconds (from an arbitrary origin), for
 * durations: deadlines, ages, uptime. Clock steps never move it. */
int64_t time_mono_ms(void);
/* Tests inject one; NULL restores the real one. */
void time_set_mono_clock(int64_t (*mono_ms)(void));

/* The real CLOCK_REALTIME moment ms from now, for pthread_cond_timedwait
 * (a bound on a wait, never a measure). */
struct timespec time_realtime_after_ms(int ms);

/*
 * Test hooks, compiled in only with SPREG_TEST_HOOKS (the spregd-test
 * binary the integration tests run; never the installed spregd):
 * - SPREG_TEST_CLOCK_FILE names a file holding a signed offset in ms,
 *   added to the wall clock; re-read on every reading, so a test can
 *   step the server's clock while it runs.
 * - SPREG_TEST_WRITE_DELAY_MS: time_test_write_delay() sleeps that long
 *   (the writer calls it before each batch: a stalled server).
 * Without SPREG_TEST_HOOKS, time_test_write_delay() does nothing.
 */
void time_test_write_delay(void);

#endif
