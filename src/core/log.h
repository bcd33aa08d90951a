/* Logging to stderr, one line per event: a time, the level, the message. */
#ifndef CORE_LOG_H
#define CORE_LOG_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

typedef enum log_level {
	LOG_DEBUG,
	LOG_INFO,
	LOG_WARN,
	LOG_ERROR,
} log_level;

void log_set_level(log_level level);
/* Journal form: "<N>message", N the syslog priority, no time (the
 * journal keeps its own). For stderr connected to systemd's journal. */
void log_set_journal(bool on);
bool log_enabled(log_level level);
void log_msg(log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * At most one line per interval for an event that may repeat thousands of
 * times a second (a full disk refusing every write): the line that passes
 * carries how many were held back since the last one.
 */
typedef struct log_limit {
	int64_t interval_ms;
	atomic_llong next_ms;		/* monotonic; 0: the next one passes */
	atomic_ullong suppressed;
} log_limit;
#define LOG_LIMIT_INIT(ms) {(ms), 0, 0}

/* True when a line may be logged now; then *suppressed is how many calls
 * were refused since the last that passed. */
bool log_limit_pass(log_limit *l, uint64_t *suppressed);

#define log_debug(...) \
	do { \
		if (log_enabled(LOG_DEBUG)) { \
			log_msg(LOG_DEBUG, __VA_ARGS__); \
		} \
	} while (0)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif
