#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/date.h"

/* Howard Hinnant's days_from_civil / civil_from_days. */
static int32_t
days_from_civil(int y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned) (y - era * 400);
	unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int32_t) doe - 719468;
}

static void
civil_from_days(int32_t z, int *y, unsigned *m, unsigned *d)
{
	z += 719468;
	int era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned) (z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int yy = (int) yoe + era * 400;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = yy + (*m <= 2);
}

static bool
is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

bool
date_parse(const char *s, int32_t *day_out)
{
	static const unsigned mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30,
	    31, 30, 31};

	if (s == NULL || strlen(s) != 10 || s[4] != '-' || s[7] != '-') {
		return false;
	}
	for (int i = 0; i < 10; i++) {
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9')) {
			return false;
		}
	}
	int y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 +
	    (s[3] - '0');
	unsigned m = (unsigned) ((s[5] - '0') * 10 + (s[6] - '0'));
	unsigned d = (unsigned) ((s[8] - '0') * 10 + (s[9] - '0'));
	if (y < 1900 || m < 1 || m > 12 || d < 1) {
		return false;
	}
	unsigned maxd = mdays[m - 1] + (m == 2 && is_leap(y) ? 1 : 0);
	if (d > maxd) {
		return false;
	}
	*day_out = days_from_civil(y, m, d);
	return true;
}

void
date_format(int32_t day, char buf[DATE_BUF])
{
	int y;
	unsigned m, d;

	civil_from_days(day, &y, &m, &d);
	y = y < 0 ? 0 : y % 10000;
	buf[0] = (char) ('0' + y / 1000);
	buf[1] = (char) ('0' + y / 100 % 10);
	buf[2] = (char) ('0' + y / 10 % 10);
	buf[3] = (char) ('0' + y % 10);
	buf[4] = '-';
	buf[5] = (char) ('0' + m / 10);
	buf[6] = (char) ('0' + m % 10);
	buf[7] = '-';
	buf[8] = (char) ('0' + d / 10);
	buf[9] = (char) ('0' + d % 10);
	buf[10] = '\0';
}

int32_t
date_from_ms(int64_t unix_ms)
{
	int64_t days = unix_ms / 86400000;
	if (unix_ms < 0 && unix_ms % 86400000 != 0) {
		days--;
	}
	return (int32_t) days;
}

void
time_format(int64_t unix_ms, char buf[TIME_BUF])
{
	char day[DATE_BUF];
	int32_t d = date_from_ms(unix_ms);
	int64_t ms = unix_ms - (int64_t) d * 86400000;

	date_format(d, day);
	/* ms is in [0, 86400000), so every field has its width. */
	unsigned h = (unsigned) (ms / 3600000) % 24;
	unsigned mi = (unsigned) (ms / 60000 % 60);
	unsigned s = (unsigned) (ms / 1000 % 60);
	unsigned milli = (unsigned) (ms % 1000);
	memcpy(buf, day, 10);
	buf[10] = 'T';
	buf[11] = (char) ('0' + h / 10);
	buf[12] = (char) ('0' + h % 10);
	buf[13] = ':';
	buf[14] = (char) ('0' + mi / 10);
	buf[15] = (char) ('0' + mi % 10);
	buf[16] = ':';
	buf[17] = (char) ('0' + s / 10);
	buf[18] = (char) ('0' + s % 10);
	buf[19] = '.';
	buf[20] = (char) ('0' + milli / 100);
	buf[21] = (char) ('0' + milli / 10 % 10);
	buf[22] = (char) ('0' + milli % 10);
	buf[23] = 'Z';
	buf[24] = '\0';
}

static bool
two_digits(const char *s, unsigned max, unsigned *out)
{
	if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9') {
		return false;
	}
	*out = (unsigned) (s[0] - '0') * 10 + (unsigned) (s[1] - '0');
	return *out <= max;
}

bool
time_parse(const char *s, int64_t *unix_ms_out)
{
	char day[DATE_BUF];
	unsigned h, mi, sec, oh, om;
	int32_t d;
	int64_t ms = 0;

	if (strlen(s) < 20 || (s[10] != 'T' && s[10] != 't') || s[13] != ':' ||
	    s[16] != ':') {
		return false;
	}
	memcpy(day, s, 10);
	day[10] = '\0';
	if (!date_parse(day, &d) || !two_digits(s + 11, 23, &h) ||
	    !two_digits(s + 14, 59, &mi) || !two_digits(s + 17, 59, &sec)) {
		return false;
	}
	const char *p = s + 19;
	if (*p == '.') {
		int digits = 0;
		for (p++; *p >= '0' && *p <= '9'; p++, digits++) {
			if (digits < 3) {
				ms = ms * 10 + (*p - '0');
			}
		}
		if (digits == 0) {
			return false;
		}
		for (; digits < 3; digits++) {
			ms *= 10;
		}
	}
	int64_t offset = 0;
	if ((*p == 'Z' || *p == 'z') && p[1] == '\0') {
		offset = 0;
	} else if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':' &&
	    two_digits(p + 1, 23, &oh) && two_digits(p + 4, 59, &om)) {
		offset = ((int64_t) oh * 60 + om) * 60000 * (*p == '-' ? -1 : 1);
	} else {
		return false;
	}
	*unix_ms_out = (int64_t) d * 86400000 + ((int64_t) h * 3600 +
	    (int64_t) mi * 60 + sec) * 1000 + ms - offset;
	return true;
}

#ifdef SPREG_TEST_HOOKS
/* The offset in SPREG_TEST_CLOCK_FILE, 0 when there is none. */
static int64_t
test_clock_offset(void)
{
	const char *path = getenv("SPREG_TEST_CLOCK_FILE");
	long long offset = 0;
	FILE *f;

	if (path == NULL || (f = fopen(path, "r")) == NULL) {
		return 0;
	}
	if (fscanf(f, "%lld", &offset) != 1) {
		offset = 0;
	}
	fclose(f);
	return (int64_t) offset;
}
#endif

static int64_t
real_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	int64_t ms = (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
#ifdef SPREG_TEST_HOOKS
	ms += test_clock_offset();
#endif
	return ms;
}

static int64_t
real_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static _Atomic(int64_t (*)(void)) clock_fn = real_now_ms;
static _Atomic(int64_t (*)(void)) mono_fn = real_mono_ms;

int64_t
time_now_ms(void)
{
	return atomic_load(&clock_fn)();
}

void
time_set_clock(int64_t (*now_ms)(void))
{
	atomic_store(&clock_fn, now_ms != NULL ? now_ms : real_now_ms);
}

int64_t
time_mono_ms(void)
{
	return atomic_load(&mono_fn)();
}

void
time_set_mono_clock(int64_t (*mono_ms)(void))
{
	atomic_store(&mono_fn, mono_ms != NULL ? mono_ms : real_mono_ms);
}

struct timespec
time_realtime_after_ms(int ms)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	t.tv_sec += ms / 1000;
	t.tv_nsec += (long) (ms % 1000) * 1000000L;
	t.tv_sec += t.tv_nsec / 1000000000L;
	t.tv_nsec %= 1000000000L;
	return t;
}

void
time_test_write_delay(void)
{
#ifdef SPREG_TEST_HOOKS
	const char *ms = getenv("SPREG_TEST_WRITE_DELAY_MS");
	long delay = ms != NULL ? strtol(ms, NULL, 10) : 0;
	if (delay > 0) {
		struct timespec ts = {delay / 1000, (delay % 1000) * 1000000L};
		nanosleep(&ts, NULL);
	}
#endif
}
