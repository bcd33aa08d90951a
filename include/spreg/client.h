/*
 * The spreg C client: connect to a spregd and call any method of its
 * services. Messages are the protobuf-c types generated from
 * proto/spreg/v1/ (include "spreg/v1/registry.pb-c.h").
 *
 * A spreg_client is one nng REQ socket; every call runs in an nng
 * context of its own, so one client may be shared by many threads (a
 * service with 32 workers holds one connection, not 32). Set the
 * timeout, actor and token before sharing it. Each call gets a fresh
 * random request id, so the server applies a write at most once even
 * when nng resends it after a reconnect.
 *
 * A file://DIR URL opens spregd's data folder instead (co-located
 * reads, README): read methods are answered in this process through
 * the server's own handlers from the store opened read-only; writes are
 * refused FAILED_PRECONDITION naming the server's URL. File permissions
 * on DIR are its access control; without a token a call reads as an
 * admin, with one it is checked and scoped as by the server.
 */
#ifndef SPREG_CLIENT_H
#define SPREG_CLIENT_H

#include <stdbool.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "spreg/status.h"

typedef struct spreg_client spreg_client;

#define SPREG_DEFAULT_SERVER "tcp://127.0.0.1:7450"

/*
 * Connects to url (tcp://, ipc://, any nng URL), or opens the data
 * folder of a file:// URL (UNAVAILABLE without a store there,
 * PERMISSION_DENIED when the folder may not be read). With wait false
 * a server that is not there fails at once with UNAVAILABLE; with wait
 * true the client connects whenever the server appears (calls before
 * then time out). Caller closes *out.
 */
spreg_status spreg_client_open(const char *url, bool wait,
    spreg_client **out);
void spreg_client_close(spreg_client *c);

/* TLS for a tls+tcp:// URL; PEM files, read when the client opens. */
typedef struct spreg_tls_options {
	const char *ca_file;	/* CA that signed the server's certificate;
				   NULL: no server is trusted */
	const char *cert_file;	/* client certificate, for servers that
				   require one; or NULL */
	const char *key_file;	/* its private key (with cert_file) */
	const char *server_name;	/* name the server's certificate must
					   carry; NULL: the URL's host */
} spreg_tls_options;

/*
 * As spreg_client_open; a tls+tcp:// URL is dialed with tls (NULL: no
 * options, so no server is trusted). An unreadable or invalid PEM file
 * is INVALID_ARGUMENT; a server whose certificate does not verify, or
 * that refuses ours, is UNAUTHENTICATED (with wait false). tls is
 * ignored for other URLs.
 */
spreg_status spreg_client_open_tls(const char *url,
    const spreg_tls_options *tls, bool wait, spreg_client **out);

/* Per-call timeout in milliseconds (default 10000). It is also sent to
 * the server as timeout_ms, which the server counts from the request's
 * arrival on its own clock: clocks that disagree do not matter. A
 * remote call returns within about timeout_ms + 1 s whatever the
 * server or the connection does (DEADLINE_EXCEEDED, UNAVAILABLE). */
void spreg_client_set_timeout(spreg_client *c, int timeout_ms);
/* Recorded by the server as the author of writes (default user@host),
 * next to the token's name. The string is copied. */
void spreg_client_set_actor(spreg_client *c, const char *actor);

/* Bearer tokens ("spreg_<id>.<secret>") are shorter than this. */
#define SPREG_TOKEN_MAX 128

/* The bearer token sent with every call (see admin.proto); NULL or ""
 * for none. The string is copied. */
void spreg_client_set_token(spreg_client *c, const char *token);

/*
 * The token as spreg's tools find it: the first line of token_file when
 * given, else $SPREG_TOKEN, else the first line of the file named by
 * $SPREG_TOKEN_FILE. Sets out to "" when there is none (and returns OK).
 * INVALID_ARGUMENT: a file that cannot be read or holds no token.
 */
spreg_status spreg_token_resolve(const char *token_file, char *out,
    size_t len);

/*
 * Calls method ("spreg.v1.Registry/GetSubprocessor", or just
 * "GetSubprocessor" for the Registry service) with request req. On OK
 * *resp_out is a message of type resp_desc that the caller frees with
 * spreg_message_free. On failure the status is returned and
 * spreg_client_error() tells why (the server's message, or the
 * transport's): DEADLINE_EXCEEDED when no reply came in time.
 */
spreg_status spreg_call(spreg_client *c, const char *method,
    const ProtobufCMessage *req, const ProtobufCMessageDescriptor *resp_desc,
    ProtobufCMessage **resp_out);

/* The message of the last failed call of this thread (on any client;
 * c may be NULL, after a failed open); valid until this thread's next
 * call. */
const char *spreg_client_error(const spreg_client *c);

/* Frees a message returned by spreg_call (NULL is fine). */
void spreg_message_free(ProtobufCMessage *msg);

/*
 * A decode arena: responses decoded into it take a few large blocks
 * instead of one allocation per string and sub-message, and are freed
 * all at once by spreg_arena_reset or spreg_arena_destroy (never by
 * spreg_message_free). Worth it for large pages in a loop.
 */
typedef struct spreg_arena spreg_arena;
spreg_status spreg_arena_create(spreg_arena **out);
/* Frees every response decoded into it since the last reset. */
void spreg_arena_reset(spreg_arena *a);
void spreg_arena_destroy(spreg_arena *a);

/* As spreg_call, but *resp_out lives in a until a is reset. */
spreg_status spreg_call_arena(spreg_client *c, const char *method,
    const ProtobufCMessage *req, const ProtobufCMessageDescriptor *resp_desc,
    spreg_arena *a, ProtobufCMessage **resp_out);

#endif
