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

spreg_status
err_oom(err *e, const char *where)
{
	if (where != NULL) {
		return err_set(e, SPREG_RESOURCE_EXHAUSTED, "%s: out of memory",
		    where);
	}
	return err_set(e, SPREG_RESOURCE_EXHAUSTED, "out of memory");
}
