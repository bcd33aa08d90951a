/*
 * Calendar dates and timestamps. A date is a day number: days since
 * 1970-01-01 (proleptic Gregorian), so dates compare as integers. The
 * clock is injectable so tests never sleep.
 */
#ifndef CORE_DATE_H
#define CORE_DATE_H

#include <stdbool.h>
#include <stdint.h>

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

/* Wall clock in Unix milliseconds, or the injected one. */
int64_t time_now_ms(void);
/* Tests inject a clock; NULL restores the real one. */
void time_set_clock(int64_t (*now_ms)(void));

#endif
