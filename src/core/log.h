/* Logging to stderr, one line per event. */
#ifndef CORE_LOG_H
#define CORE_LOG_H

#include <stdbool.h>

typedef enum log_level {
	LOG_DEBUG,
	LOG_INFO,
	LOG_WARN,
	LOG_ERROR,
} log_level;

void log_set_level(log_level level);
bool log_enabled(log_level level);
void log_msg(log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

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
