#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <errno.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "client/dial.h"
#include "core/arena.h"
#include "rpc/local.h"
#include "spreg/client.h"
#include "spreg/v1/rpc.pb-c.h"

#define CLIENT_ERR_MAX 1024
#define REGISTRY_PREFIX "spreg.v1.Registry/"

#define FILE_SCHEME "file://"

/* Shared by threads: each call has its own nng context (remote) or rpc
 * worker (local); the settings are read only. */
struct spreg_client {
	nng_socket sock;
	client_link *link;	/* its connection, redialed (dial.h) */
	rpc_local *local;	/* a file:// URL: no socket */
	int timeout_ms;
	char actor[256];
	char token[SPREG_TOKEN_MAX];
};

/* The last failed call's message, per thread, as calls on one client
 * run in many. */
static _Thread_local char last_error[CLIENT_ERR_MAX];

static spreg_status
fail(spreg_client *c, spreg_status st, const char *fmt, const char *what)
{
	(void) c;
	snprintf(last_error, sizeof(last_error), fmt, what);
	return st;
}

static void
default_actor(char *buf, size_t len)
{
	char host[128] = "localhost";
	const char *user = getenv("USER");
	struct passwd *pw;

	if (user == NULL && (pw = getpwuid(getuid())) != NULL) {
		user = pw->pw_name;
	}
	gethostname(host, sizeof(host) - 1);
	snprintf(buf, len, "%s@%s", user ? user : "unknown", host);
}

spreg_status
spreg_client_open_tls(const char *url, const spreg_tls_options *tls,
    bool wait, spreg_client **out)
{
	spreg_client *c = calloc(1, sizeof(*c));
	spreg_status st;
	int rv;

	if (c == NULL) {
		return SPREG_RESOURCE_EXHAUSTED;
	}
	c->timeout_ms = 10000;
	default_actor(c->actor, sizeof(c->actor));
	if (strncmp(url, FILE_SCHEME, strlen(FILE_SCHEME)) == 0) {
		err e;
		if ((st = rpc_local_open(url + strlen(FILE_SCHEME), &c->local,
		         &e)) != SPREG_OK) {
			fail(c, st, "%s", e.msg);
			free(c);
			return st;
		}
		*out = c;
		return SPREG_OK;
	}
	if ((rv = nng_req0_open(&c->sock)) != 0) {
		free(c);
		return SPREG_RESOURCE_EXHAUSTED;
	}
	/* Replies may be as large as a full page of records. */
	nng_socket_set_size(c->sock, NNG_OPT_RECVMAXSZ, (size_t) 64 << 20);
	nng_socket_set_ms(c->sock, NNG_OPT_RECONNMINT, 50);
	nng_socket_set_ms(c->sock, NNG_OPT_RECONNMAXT, 1000);
	if (client_link_open(c->sock, url, tls, wait, &st, &c->link) != 0) {
		nng_close(c->sock);
		free(c);
		return st;
	}
	*out = c;
	return SPREG_OK;
}

spreg_status
spreg_client_open(const char *url, bool wait, spreg_client **out)
{
	return spreg_client_open_tls(url, NULL, wait, out);
}

void
spreg_client_close(spreg_client *c)
{
	if (c != NULL) {
		if (c->local != NULL) {
			rpc_local_close(c->local);
		} else {
			nng_close(c->sock);
			client_link_free(c->link);
		}
		free(c);
	}
}

void
spreg_client_set_timeout(spreg_client *c, int timeout_ms)
{
	c->timeout_ms = timeout_ms > 0 ? timeout_ms : 10000;
}

void
spreg_client_set_actor(spreg_client *c, const char *actor)
{
	snprintf(c->actor, sizeof(c->actor), "%s", actor);
}

void
spreg_client_set_token(spreg_client *c, const char *token)
{
	snprintf(c->token, sizeof(c->token), "%s", token ? token : "");
}

/* The first line of path, without its newline and trailing blanks. */
static spreg_status
token_read(const char *path, char *out, size_t len)
{
	FILE *f = fopen(path, "r");

	if (f == NULL) {
		return SPREG_INVALID_ARGUMENT;
	}
	bool ok = fgets(out, (int) len, f) != NULL;
	fclose(f);
	if (!ok) {
		return SPREG_INVALID_ARGUMENT;
	}
	size_t n = strlen(out);
	while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r' ||
	                    out[n - 1] == ' ' || out[n - 1] == '\t')) {
		out[--n] = '\0';
	}
	return n > 0 ? SPREG_OK : SPREG_INVALID_ARGUMENT;
}

spreg_status
spreg_token_resolve(const char *token_file, char *out, size_t len)
{
	const char *env;

	out[0] = '\0';
	if (token_file != NULL) {
		return token_read(token_file, out, len);
	}
	if ((env = getenv("SPREG_TOKEN")) != NULL && env[0] != '\0') {
		if (strlen(env) >= len) {
			return SPREG_INVALID_ARGUMENT;
		}
		memcpy(out, env, strlen(env) + 1);
		return SPREG_OK;
	}
	if ((env = getenv("SPREG_TOKEN_FILE")) != NULL && env[0] != '\0') {
		return token_read(env, out, len);
	}
	return SPREG_OK;
}

const char *
spreg_client_error(const spreg_client *c)
{
	(void) c;
	return last_error;
}

void
spreg_message_free(ProtobufCMessage *msg)
{
	if (msg != NULL) {
		protobuf_c_message_free_unpacked(msg, NULL);
	}
}

static int64_t
now_ms(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return (int64_t) tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

struct spreg_arena {
	arena a;
};

spreg_status
spreg_arena_create(spreg_arena **out)
{
	spreg_arena *a = malloc(sizeof(*a));

	if (a == NULL) {
		return SPREG_RESOURCE_EXHAUSTED;
	}
	arena_init(&a->a, (size_t) 1 << 30);
	*out = a;
	return SPREG_OK;
}

void
spreg_arena_reset(spreg_arena *a)
{
	arena_reset(&a->a);
}

void
spreg_arena_destroy(spreg_arena *a)
{
	if (a != NULL) {
		arena_fini(&a->a);
		free(a);
	}
}

static spreg_status call_impl(spreg_client *c, const char *method,
    const ProtobufCMessage *req, const ProtobufCMessageDescriptor *resp_desc,
    ProtobufCAllocator *alloc, ProtobufCMessage **resp_out);

spreg_status
spreg_call(spreg_client *c, const char *method, const ProtobufCMessage *req,
    const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp_out)
{
	return call_impl(c, method, req, resp_desc, NULL, resp_out);
}

spreg_status
spreg_call_arena(spreg_client *c, const char *method,
    const ProtobufCMessage *req, const ProtobufCMessageDescriptor *resp_desc,
    spreg_arena *a, ProtobufCMessage **resp_out)
{
	return call_impl(c, method, req, resp_desc, &a->a.pb, resp_out);
}

/* The reply's status, its message as the error, and its payload decoded
 * into *resp_out (alloc NULL: the default allocator). */
static spreg_status
finish(spreg_client *c, const Spreg__V1__Reply *reply,
    const ProtobufCMessageDescriptor *resp_desc, ProtobufCAllocator *alloc,
    ProtobufCMessage **resp_out)
{
	spreg_status st = (spreg_status) reply->code;

	if (st != SPREG_OK) {
		return fail(c, st, "%s", reply->message);
	}
	if (resp_out != NULL) {
		*resp_out = protobuf_c_message_unpack(resp_desc, alloc,
		    reply->payload.len, reply->payload.data);
		if (*resp_out == NULL) {
			st = fail(c, SPREG_INTERNAL, "reply: not a %s",
			    resp_desc->name);
		}
	}
	return st;
}

/* In this process, through spregd's own dispatcher (rpc/local.h): the
 * envelope is handed over as it is, never encoded. */
static spreg_status
call_local(spreg_client *c, const Spreg__V1__Request *env,
    const ProtobufCMessageDescriptor *resp_desc, ProtobufCAllocator *alloc,
    ProtobufCMessage **resp_out)
{
	Spreg__V1__Reply reply;
	rpc_worker *w;
	spreg_status st;

	if ((st = rpc_local_take(c->local, &w)) != SPREG_OK) {
		return fail(c, st, "%s", "out of memory");
	}
	rpc_local_handle(c->local, w, env, &reply);
	st = finish(c, &reply, resp_desc, alloc, resp_out);
	rpc_local_give(c->local, w);
	return st;
}

/* How long past its timeout a call waits for nng to expire it, and then
 * for a cancel to land, before it stops waiting. */
#define CALL_MARGIN_MS 500

/* Tests only (client/dial.h): false leaves the aio without a timeout,
 * as when nng's expiry threads never run. */
bool client_aio_expiry = true;

/*
 * One remote call's send and receive on one aio. The caller waits on
 * the condition with a deadline of its own; should even a cancel not
 * complete the aio in time, the caller abandons the call and the
 * callback, which nng always runs in the end, frees it all.
 */
typedef struct call_op {
	pthread_mutex_t mu;
	pthread_cond_t done_cv;
	nng_aio *aio;
	nng_ctx ctx;
	nng_msg *req;		/* ours again if the send fails */
	nng_msg *reply;
	int rv;
	bool sent;
	bool cancelled;		/* by the caller: start no receive */
	bool done;
	bool abandoned;		/* the caller is gone: the callback frees */
} call_op;

static void
call_op_free(call_op *op)
{
	if (op->reply != NULL) {
		nng_msg_free(op->reply);
	}
	if (!op->sent && op->req != NULL) {
		nng_msg_free(op->req);
	}
	pthread_cond_destroy(&op->done_cv);
	pthread_mutex_destroy(&op->mu);
	free(op);
}

static void
call_cb(void *arg)
{
	call_op *op = arg;
	int rv = nng_aio_result(op->aio);

	pthread_mutex_lock(&op->mu);
	if (!op->sent && rv == 0) {
		op->sent = true;	/* nng owns the request now */
		if (!op->cancelled && !op->abandoned) {
			/* Under the lock: a cancel after it finds it. */
			nng_ctx_recv(op->ctx, op->aio);
			pthread_mutex_unlock(&op->mu);
			return;
		}
		rv = NNG_ECANCELED;
	} else if (op->sent && rv == 0) {
		op->reply = nng_aio_get_msg(op->aio);
	}
	op->rv = rv;
	op->done = true;
	if (!op->abandoned) {
		pthread_cond_signal(&op->done_cv);
		pthread_mutex_unlock(&op->mu);
		return;
	}
	pthread_mutex_unlock(&op->mu);
	/* Nobody waits: free here (nng_aio_reap, as this is its callback). */
	nng_ctx_close(op->ctx);
	nng_aio_reap(op->aio);
	call_op_free(op);
}

static void
after_ms(struct timespec *ts, int ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long) (ms % 1000) * 1000000;
	if (ts->tv_nsec >= 1000000000) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000;
	}
}

static bool
before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec ||
	    (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* How often a waiting call looks whether the client lost its server
 * for good (client_link_check). */
#define CALL_LINK_CHECK_MS 250

/* Waits for op until at (CLOCK_MONOTONIC); false at the deadline.
 * Meanwhile the link is dialed again should nng have given up on it,
 * so a call waiting for a connection gets one. */
static bool
call_wait(call_op *op, client_link *link, const struct timespec *at)
{
	struct timespec slice;
	int rv = 0;

	pthread_mutex_lock(&op->mu);
	while (!op->done && rv != ETIMEDOUT) {
		after_ms(&slice, CALL_LINK_CHECK_MS);
		if (!before(&slice, at)) {
			rv = pthread_cond_timedwait(&op->done_cv, &op->mu, at);
			continue;
		}
		if (pthread_cond_timedwait(&op->done_cv, &op->mu, &slice) ==
		        ETIMEDOUT &&
		    !op->done) {
			pthread_mutex_unlock(&op->mu);
			client_link_check(link);
			pthread_mutex_lock(&op->mu);
		}
	}
	bool done = op->done;
	pthread_mutex_unlock(&op->mu);
	return done;
}

/* A call_op for msg in a context of c's socket, not started. */
static spreg_status
call_op_create(spreg_client *c, nng_msg *msg, call_op **out)
{
	pthread_condattr_t attr;
	call_op *op = calloc(1, sizeof(*op));
	int rv;

	if (op == NULL) {
		nng_msg_free(msg);
		return fail(c, SPREG_RESOURCE_EXHAUSTED, "%s", "out of memory");
	}
	op->req = msg;
	pthread_mutex_init(&op->mu, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&op->done_cv, &attr);
	pthread_condattr_destroy(&attr);
	if ((rv = nng_ctx_open(&op->ctx, c->sock)) != 0) {
		call_op_free(op);
		return fail(c, SPREG_RESOURCE_EXHAUSTED, "context: %s",
		    nng_strerror(rv));
	}
	if (nng_aio_alloc(&op->aio, call_cb, op) != 0) {
		nng_ctx_close(op->ctx);
		call_op_free(op);
		return fail(c, SPREG_RESOURCE_EXHAUSTED, "%s", "out of memory");
	}
	*out = op;
	return SPREG_OK;
}

/* Over nng, in a context of its own: one socket serves many threads.
 * Returns by the timeout plus 2 CALL_MARGIN_MS whatever nng does. */
static spreg_status
call_remote(spreg_client *c, nng_msg *msg,
    const ProtobufCMessageDescriptor *resp_desc, ProtobufCAllocator *alloc,
    ProtobufCMessage **resp_out)
{
	struct timespec at;
	call_op *op;
	spreg_status st;

	if ((st = call_op_create(c, msg, &op)) != SPREG_OK) {
		return st;
	}
	/* One aio timeout covers send and receive: the whole call. */
	nng_aio_set_timeout(op->aio, client_aio_expiry ? c->timeout_ms :
	                                                 NNG_DURATION_INFINITE);
	nng_aio_set_msg(op->aio, op->req);
	after_ms(&at, c->timeout_ms + CALL_MARGIN_MS);
	client_link_check(c->link);
	nng_ctx_send(op->ctx, op->aio);
	if (!call_wait(op, c->link, &at)) {
		/* nng has not expired it: cancel, and wait a little more. */
		pthread_mutex_lock(&op->mu);
		op->cancelled = true;
		pthread_mutex_unlock(&op->mu);
		nng_aio_cancel(op->aio);
		after_ms(&at, CALL_MARGIN_MS);
		if (!call_wait(op, c->link, &at)) {
			pthread_mutex_lock(&op->mu);
			bool done = op->done;
			op->abandoned = !done;
			pthread_mutex_unlock(&op->mu);
			if (!done) {
				return fail(c, SPREG_DEADLINE_EXCEEDED, "%s",
				    "no reply within the timeout (the call "
				    "could not be cancelled; left to nng)");
			}
		}
		if (op->rv == NNG_ECANCELED) {
			op->rv = NNG_ETIMEDOUT;
		}
	}
	int rv = op->rv;
	bool sent = op->sent;
	msg = op->reply;
	op->reply = NULL;
	nng_aio_free(op->aio);
	nng_ctx_close(op->ctx);
	call_op_free(op);
	if (rv != 0) {
		return fail(c, rv == NNG_ETIMEDOUT ? SPREG_DEADLINE_EXCEEDED :
		                                     SPREG_UNAVAILABLE,
		    rv == NNG_ETIMEDOUT ? "no reply within the timeout (%s)" :
		    sent ? "receive: %s" : "send: %s",
		    nng_strerror(rv));
	}
	Spreg__V1__Reply *reply = spreg__v1__reply__unpack(alloc,
	    nng_msg_len(msg), nng_msg_body(msg));
	nng_msg_free(msg);
	if (reply == NULL) {
		return fail(c, SPREG_INTERNAL, "%s",
		    "reply: not a spreg.v1.Reply");
	}
	st = finish(c, reply, resp_desc, alloc, resp_out);
	if (alloc == NULL) {
		spreg__v1__reply__free_unpacked(reply, NULL);
	}
	return st;
}

/* Requests up to this size are encoded on the stack. */
#define PAYLOAD_STACK 1024

/* alloc NULL: the default allocator (spreg_message_free frees). */
static spreg_status
call_impl(spreg_client *c, const char *method, const ProtobufCMessage *req,
    const ProtobufCMessageDescriptor *resp_desc, ProtobufCAllocator *alloc,
    ProtobufCMessage **resp_out)
{
	Spreg__V1__Request env = SPREG__V1__REQUEST__INIT;
	uint8_t stack[PAYLOAD_STACK];
	char full[256];
	nng_msg *msg = NULL;
	spreg_status st;

	last_error[0] = '\0';
	if (strchr(method, '/') == NULL) {
		/* Not snprintf: this runs on every call. */
		size_t pre = strlen(REGISTRY_PREFIX), n = strlen(method);
		if (pre + n >= sizeof(full)) {
			return fail(c, SPREG_INVALID_ARGUMENT, "method: %s",
			    "longer than 200 bytes");
		}
		memcpy(full, REGISTRY_PREFIX, pre);
		memcpy(full + pre, method, n + 1);
		method = full;
	}
	size_t plen = protobuf_c_message_get_packed_size(req);
	uint8_t *payload = plen <= sizeof(stack) ? stack : malloc(plen);
	if (payload == NULL) {
		return fail(c, SPREG_RESOURCE_EXHAUSTED, "%s", "out of memory");
	}
	protobuf_c_message_pack(req, payload);
	env.method = (char *) method;
	env.actor = c->actor;
	env.token = c->token;
	/* A duration, not a moment: the server measures it on its own
	 * clock, so the two clocks may disagree by any amount. */
	env.timeout_ms = c->timeout_ms > 0 ? (uint32_t) c->timeout_ms : 0;
	env.payload.data = payload;
	env.payload.len = plen;
	if (c->local != NULL) {
		/* A read in process is never resent: the id only names it. */
		static _Atomic uint64_t local_ids;
		env.request_id = ++local_ids;
		st = call_local(c, &env, resp_desc, alloc, resp_out);
		goto out;
	}
	while (env.request_id == 0) {	/* 0 means "no id" to the server */
		if (getrandom(&env.request_id, sizeof(env.request_id), 0) !=
		    sizeof(env.request_id)) {
			env.request_id = (uint64_t) now_ms() ^
			    ((uint64_t) getpid() << 32);
		}
	}
	size_t elen = spreg__v1__request__get_packed_size(&env);
	if (nng_msg_alloc(&msg, elen) != 0) {
		st = fail(c, SPREG_RESOURCE_EXHAUSTED, "%s", "out of memory");
		goto out;
	}
	spreg__v1__request__pack(&env, nng_msg_body(msg));
	st = call_remote(c, msg, resp_desc, alloc, resp_out);
out:
	if (payload != stack) {
		free(payload);
	}
	return st;
}
