#include <stdarg.h>
#include <stdio.h>

#include "core/err.h"

spreg_status
err_set(err *e, spreg_status code, const char *fmt, ...)
{
	if (e != NULL) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
		va_end(ap);
	}
	return code;
}
