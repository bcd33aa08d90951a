/*
 * spreg status codes: gRPC's codes with the same numbers, so a status read
 * off the wire (spreg.v1.Code) converts by cast.
 */
#ifndef SPREG_STATUS_H
#define SPREG_STATUS_H

typedef enum spreg_status {
	SPREG_OK = 0,
	SPREG_CANCELLED = 1,
	SPREG_UNKNOWN = 2,
	SPREG_INVALID_ARGUMENT = 3,
	SPREG_DEADLINE_EXCEEDED = 4,
	SPREG_NOT_FOUND = 5,
	SPREG_ALREADY_EXISTS = 6,
	SPREG_PERMISSION_DENIED = 7,
	SPREG_RESOURCE_EXHAUSTED = 8,
	SPREG_FAILED_PRECONDITION = 9,
	SPREG_ABORTED = 10,
	SPREG_OUT_OF_RANGE = 11,
	SPREG_UNIMPLEMENTED = 12,
	SPREG_INTERNAL = 13,
	SPREG_UNAVAILABLE = 14,
	SPREG_DATA_LOSS = 15,
	SPREG_UNAUTHENTICATED = 16,
} spreg_status;

/* "INVALID_ARGUMENT" etc.; a static string, never NULL. */
const char *spreg_status_name(spreg_status st);

#endif
