/*
 * The one place nng's error numbers become spreg statuses. Every nng
 * call in src/net/ reports its failure through net_err_from_nng.
 */
#ifndef NET_NNGERR_H
#define NET_NNGERR_H

#include "core/err.h"

/*
 * Sets e to the status for nng error rv ("what: nng's message") and
 * returns it: out of memory is RESOURCE_EXHAUSTED, a bad address,
 * option or TLS material INVALID_ARGUMENT, anything else UNAVAILABLE.
 */
spreg_status net_err_from_nng(err *e, int rv, const char *what);

#endif
