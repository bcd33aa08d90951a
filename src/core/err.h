/*
 * Error detail. Every fallible function returns a spreg_status; the ones
 * whose callers need to tell a user what went wrong also take an err *,
 * filled on failure with a message that names the field at fault.
 */
#ifndef CORE_ERR_H
#define CORE_ERR_H

#include <stddef.h>

#include "spreg/status.h"

#define ERR_MSG_MAX 512

typedef struct err {
	char msg[ERR_MSG_MAX];
} err;

/* Formats the message into e (when e is not NULL) and returns code. */
spreg_status err_set(err *e, spreg_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * The one allocation-failure idiom: sets e to "out of memory" (or
 * "where: out of memory" when where is not NULL) and returns
 * SPREG_RESOURCE_EXHAUSTED.
 */
spreg_status err_oom(err *e, const char *where);

#endif
