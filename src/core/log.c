#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

#include "core/date.h"
#include "core/log.h"

static atomic_int min_level = LOG_INFO;
static atomic_bool journal;

void
log_set_journal(bool on)
{
	atomic_store(&journal, on);
}

void
log_set_level(log_level level)
{
	atomic_store(&min_level, (int) level);
}

bool
log_enabled(log_level level)
{
	return (int) level >= atomic_load(&min_level);
}

void
log_msg(log_level level, const char *fmt, ...)
{
	static const char *const tags[] = {"debug", "info", "warn", "error"};
	/* syslog priorities: LOG_DEBUG 7, LOG_INFO 6, LOG_WARNING 4,
	 * LOG_ERR 3 (not <syslog.h>: its LOG_* names clash with ours). */
	static const int priorities[] = {7, 6, 4, 3};
	char line[1024];
	char now[TIME_BUF];
	va_list ap;

	if (!log_enabled(level)) {
		return;
	}
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* One fprintf per line so lines from threads do not interleave. */
	if (atomic_load(&journal)) {
		fprintf(stderr, "<%d>%s\n", priorities[level], line);
		return;
	}
	time_format(time_now_ms(), now);
	fprintf(stderr, "%s %s %s\n", now, tags[level], line);
}

bool
log_limit_pass(log_limit *l, uint64_t *suppressed)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	long long now = (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	long long next = atomic_load(&l->next_ms);
	/* One caller wins the window; the others count themselves. */
	if (now < next || !atomic_compare_exchange_strong(&l->next_ms, &next,
	        now + l->interval_ms)) {
		atomic_fetch_add(&l->suppressed, 1);
		return false;
	}
	*suppressed = atomic_exchange(&l->suppressed, 0);
	return true;
}
