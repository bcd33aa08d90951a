#include "spreg/status.h"

static const char *const names[] = {
	[SPREG_OK]                  = "OK",
	[SPREG_CANCELLED]           = "CANCELLED",
	[SPREG_UNKNOWN]             = "UNKNOWN",
	[SPREG_INVALID_ARGUMENT]    = "INVALID_ARGUMENT",
	[SPREG_DEADLINE_EXCEEDED]   = "DEADLINE_EXCEEDED",
	[SPREG_NOT_FOUND]           = "NOT_FOUND",
	[SPREG_ALREADY_EXISTS]      = "ALREADY_EXISTS",
	[SPREG_PERMISSION_DENIED]   = "PERMISSION_DENIED",
	[SPREG_RESOURCE_EXHAUSTED]  = "RESOURCE_EXHAUSTED",
	[SPREG_FAILED_PRECONDITION] = "FAILED_PRECONDITION",
	[SPREG_ABORTED]             = "ABORTED",
	[SPREG_OUT_OF_RANGE]        = "OUT_OF_RANGE",
	[SPREG_UNIMPLEMENTED]       = "UNIMPLEMENTED",
	[SPREG_INTERNAL]            = "INTERNAL",
	[SPREG_UNAVAILABLE]         = "UNAVAILABLE",
	[SPREG_DATA_LOSS]           = "DATA_LOSS",
	[SPREG_UNAUTHENTICATED]     = "UNAUTHENTICATED",
};

const char *
spreg_status_name(spreg_status st)
{
	if ((unsigned) st < sizeof(names) / sizeof(names[0]) && names[st]) {
		return names[st];
	}
	return "UNKNOWN";
}
