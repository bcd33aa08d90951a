#include <nng/nng.h>

#include "net/nngerr.h"

spreg_status
net_err_from_nng(err *e, int rv, const char *what)
{
	spreg_status st;

	switch (rv) {
	case NNG_ENOMEM:
		st = SPREG_RESOURCE_EXHAUSTED;
		break;
	case NNG_EADDRINUSE:
	case NNG_EADDRINVAL:
	case NNG_EINVAL:
	case NNG_ENOTSUP:
	case NNG_ECRYPTO:
		st = SPREG_INVALID_ARGUMENT;
		break;
	default:
		st = SPREG_UNAVAILABLE;
	}
	return err_set(e, st, "%s: %s", what, nng_strerror(rv));
}
