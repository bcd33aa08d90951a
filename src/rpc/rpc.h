/*
 * The RPC layer: decodes an envelope, finds the method through the
 * service descriptor protoc-c generated, runs its handler against the
 * store, and builds the reply. No nng here: src/net/ moves the bytes.
 *
 * Writes are applied at most once per request_id: the reply to a write
 * is saved in the same transaction as the write, and a repeat (nng REQ
 * resends after a timeout or reconnect) is answered from that record.
 */
#ifndef RPC_RPC_H
#define RPC_RPC_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/catalog.h"
#include "core/err.h"
#include "core/pb.h"
#include "core/publist.h"
#include "db/db.h"
#include "spreg/v1/admin.pb-c.h"

#define RPC_ARENA_BUDGET ((size_t) 64 << 20)

typedef struct rpc_server rpc_server;
typedef struct assess_rules assess_rules;
typedef struct rpc_worker rpc_worker;
typedef struct rpc_call rpc_call;

/*
 * A method's kind and who may call it. Without RPC_EDITOR or RPC_ADMIN
 * a reader may; every RPC_WRITE method needs one of the two (checked at
 * start). RPC_CUSTOMER also lets customer tokens in, scoped to their
 * customer: the request field named by the method's customer_field is
 * filled with it, or refused when it names another.
 */
typedef enum rpc_flags {
	RPC_READ = 1 << 0,	/* runs in the worker's read transaction */
	RPC_WRITE = 1 << 1,	/* runs in a durable write transaction */
	RPC_EDITOR = 1 << 2,	/* an editor or admin token */
	RPC_ADMIN = 1 << 3,	/* an admin token */
	RPC_CUSTOMER = 1 << 4,	/* customer tokens too */
	RPC_NO_SAVE = 1 << 5,	/* the reply holds a secret: not kept for
				 * replays of its request id */
	RPC_PUBLIC = 1 << 6,	/* what a public page shows: a public
				 * worker serves it without a token */
	RPC_FETCH = 1 << 7,	/* a write whose request's url is fetched
				 * first (rpc_write_fetch) */
} rpc_flags;

typedef spreg_status (*rpc_handler)(rpc_call *call,
    const ProtobufCMessage *in, ProtobufCMessage *out, err *e);

/* One entry per method, in the order of the service descriptor's
 * methods array (checked at start and by a unit test). */
typedef struct rpc_method {
	const char *name;
	unsigned flags;
	rpc_handler fn;
	const char *customer_field;	/* string field of the request */
} rpc_method;

typedef struct rpc_service {
	const ProtobufCServiceDescriptor *desc;
	const rpc_method *methods;
	size_t nmethods;
} rpc_service;

/* What a handler sees of its call. */
struct rpc_call {
	rpc_server *srv;
	db_txn *txn;		/* read or write, per the method's flags */
	arena *arena;		/* for everything the reply points at */
	const char *actor;	/* what the client says; not checked */
	/* The caller, from its token (rpc/auth.h). */
	const char *token;	/* the token's name */
	const Spreg__V1__Token *token_record;	/* NULL: --insecure-local */
	Spreg__V1__Role role;
	const char *customer_id;	/* a customer token's; else NULL */
	/* No token, on a public worker: only RPC_PUBLIC methods, no
	 * customer named, nothing internal in the reply. */
	bool anonymous;
	/* A customer's feed key (rpc/auth.h): RPC_PUBLIC methods only, as
	 * that customer. */
	bool feed_key;
	uint64_t request_id;
	int64_t now_ms;
	/* An RPC_FETCH write: what rpc_write_fetch brought; else NULL. */
	const publist_fetched *fetched;
	/* A handler that builds its response's bytes itself (records passed
	 * on as stored) sets this; the output message is then ignored. */
	ProtobufCBinaryData packed_reply;
};

/* The services served, NULL-terminated. */
extern const rpc_service *const rpc_services[];
extern const rpc_service rpc_registry_service;
extern const rpc_service rpc_assessment_service;
extern const rpc_service rpc_export_service;
extern const rpc_service rpc_admin_service;
extern const rpc_service rpc_delivery_service;
extern const rpc_service rpc_follows_service;

/* Checks that every table matches its descriptor; false names the first
 * mismatch in *e. */
bool rpc_services_check(err *e);

/* A change published, with the customers it concerns (their ids). */
typedef struct rpc_event {
	const Spreg__V1__Change *change;
	const char *const *customers;
	size_t ncustomers;
} rpc_event;

#define RPC_PUB_URLS 8
#define RPC_URL_MAX 512

/*
 * Where committed changes go: spregd's PUB socket (net/pub.h), or a
 * test's recorder. Given to rpc_server_create, which calls open once,
 * before it returns; the server then calls publish after each write
 * that logged changes, once the write is durable. The callee must
 * outlive every write of the server.
 */
typedef struct rpc_publisher {
	/* The stream's start: the server's epoch (new at each start), its
	 * store's identity (valid as long as the store is open) and the
	 * newest seq in the log, after which the seqs published go on.
	 * May be NULL. */
	void (*open)(void *arg, uint64_t epoch, const char *store_id,
	    uint64_t last_seq);
	/* The changes a write logged, in seq order, each with the
	 * customers it concerns (valid during the call only). Called from
	 * worker threads, possibly at once from several: the callee orders
	 * by seq. */
	void (*publish)(void *arg, const rpc_event *events, size_t n);
	void *arg;
	/* For ServerInfo, so that a watcher finds the stream of the server
	 * it asks: the listeners' URLs (a ":0" port resolved) and the
	 * heartbeat period. Copied; at most RPC_PUB_URLS URLs of
	 * RPC_URL_MAX - 1 bytes are kept. */
	const char *const *urls;
	size_t nurls;
	uint32_t heartbeat_ms;
} rpc_publisher;

/*
 * Fetching what an RPC_FETCH write needs (FollowVendor's first fetch of
 * its URL): spregd gives follow/fetch.h's follow_fetch; a server given
 * none refuses such writes UNAVAILABLE.
 */
typedef void (*rpc_fetch_fn)(const char *url, const char *etag,
    const atomic_bool *stop, publist_fetched *out);

/* Takes neither d nor cat: both must outlive the server. pub is copied
 * (NULL: changes are published nowhere); fetch may be NULL. */
spreg_status rpc_server_create(db *d, const catalog *cat,
    const rpc_publisher *pub, rpc_fetch_fn fetch, rpc_server **out, err *e);
void rpc_server_destroy(rpc_server *srv);
db *rpc_server_db(rpc_server *srv);
const catalog *rpc_server_catalog(rpc_server *srv);
/* Seconds since create; the start time as RFC 3339. */
uint64_t rpc_server_uptime(rpc_server *srv);
const char *rpc_server_started_at(rpc_server *srv);
const unsigned char *rpc_server_secret(rpc_server *srv);
/* --insecure-local: a request without a token is served as an admin.
 * Set before workers start. */
void rpc_server_set_insecure_local(rpc_server *srv, bool on);
bool rpc_server_insecure_local(const rpc_server *srv);
/* The transfer rules for the Assessment service. Takes no ownership:
 * rules must outlive the server. Set before workers start; NULL (the
 * default) makes Assessment calls fail FAILED_PRECONDITION. */
void rpc_server_set_rules(rpc_server *srv, const assess_rules *rules);
const assess_rules *rpc_server_rules(rpc_server *srv);

/*
 * The limits a client can learn from ServerInfo. page_max bounds the
 * page_size (or limit) of every list call here; message_max and
 * inflight_max are enforced by src/net/ and only reported (0: none in
 * this process). Set before workers start; the default is all 0 but
 * page_max, RPC_PAGE_MAX_DEFAULT.
 */
typedef struct rpc_limits {
	size_t message_max;	/* bytes of one request */
	size_t inflight_max;	/* requests at once per connection */
	uint32_t page_max;	/* records per page */
	/* Also enforced by src/net/ and only reported (spregd
	 * --max-connections ... --send-timeout). */
	size_t connections_max;
	size_t per_peer_max;
	size_t queued_max;	/* unread replies per connection */
	size_t queued_bytes_max;	/* unread reply bytes, in all */
	uint32_t idle_timeout_ms;
	uint32_t send_timeout_ms;
	/* Enforced by src/http/; 0 (NULL) when it serves no HTTP. */
	size_t http_body_max;
	size_t http_requests_max;
	size_t http_connections_max;
	size_t http_per_peer_max;
	uint32_t http_header_timeout_ms;
	uint32_t http_body_timeout_ms;
	uint32_t http_send_timeout_ms;
} rpc_limits;
#define RPC_PAGE_MAX_DEFAULT 1000
void rpc_server_set_limits(rpc_server *srv, const rpc_limits *l);
const rpc_limits *rpc_server_limits(rpc_server *srv);

/* Does the public (no token: the feeds, the public list) see change c?
 * A change to a vendor on the public list, not who made it; no
 * customer's own choice, customer record, objection or assessment. */
bool rpc_change_public(const Spreg__V1__Change *c);

/* The publisher's URLs (NULL past the last) and heartbeat period. */
const char *rpc_server_pub_url(const rpc_server *srv, size_t i);
uint32_t rpc_server_heartbeat_ms(const rpc_server *srv);
/* The store's identity (db_store_identity), which notifications carry. */
const char *rpc_server_store_id(rpc_server *srv);
/* Changes whenever the server starts: a subscriber that sees a new
 * epoch catches up from the log. */
uint64_t rpc_server_epoch(rpc_server *srv);
/* The newest seq in the log now. */
spreg_status rpc_server_last_seq(rpc_server *srv, uint64_t *seq, err *e);

/*
 * Applies the announced changes due on or before the day of now_ms, and
 * the dates reached (upcoming vendors becoming active, dated
 * retirements), also those a stopped server missed, durably, and
 * publishes them; *applied_out counts both. The server calls it at start
 * and then periodically; tests inject now_ms.
 */
spreg_status rpc_apply_due(rpc_server *srv, int64_t now_ms,
    size_t *applied_out, err *e);

/*
 * Re-assessment at the day boundary: when the day of now_ms differs from
 * the last day checked (kept in the store), logs and publishes an
 * ASSESSMENT_CHANGED change for each subprocessor with a transfer lawful
 * on that day and failing today, and records today. A call on a day
 * already checked reads one value and returns; the first call ever only
 * records the day. *changed_out counts the changes logged.
 */
spreg_status rpc_reassess_day(rpc_server *srv, int64_t now_ms,
    size_t *changed_out, err *e);

/* A worker: one per thread, owning a db session and a decode arena. */
spreg_status rpc_worker_create(rpc_server *srv, rpc_worker **out);
/* The same for a front end that publishes (spregd's HTTP page and
 * feeds): a request without a token is served as the anonymous public,
 * which may call RPC_PUBLIC methods only. */
spreg_status rpc_worker_create_public(rpc_server *srv, rpc_worker **out);
void rpc_worker_destroy(rpc_worker *w);
/* Frees what the last request took (its reply is invalid after): a
 * worker that serves nothing more for a while then holds one small
 * block, not the last page it answered. */
void rpc_worker_release(rpc_worker *w);

/*
 * Handles one request (envelope bytes) and fills *reply, whose pointers
 * stay valid until the next rpc_handle on this worker. Never fails:
 * every problem becomes a status in the reply.
 */
void rpc_handle(rpc_worker *w, const void *req, size_t len,
    Spreg__V1__Reply *reply);

/*
 * The same in two steps, for a server that answers reads where they
 * arrive and batches writes. rpc_handle_begin runs a read (or fails a bad
 * request) at once and returns false with *reply filled; for a write it
 * only decodes and returns true: the worker is then passed, with others,
 * to rpc_write_batch, which commits them all with one fsync (each in a
 * nested transaction, so one failure spoils no other) and fills each
 * reply. Until then the worker and its reply must be left alone.
 */
#define RPC_BATCH_MAX 128
bool rpc_handle_begin(rpc_worker *w, const void *req, size_t len,
    Spreg__V1__Reply *reply);
/* The same for an envelope already decoded (a caller in this process,
 * rpc/local.h): env and what it points to stay the caller's and must
 * outlive the reply. */
bool rpc_handle_begin_env(rpc_worker *w, const Spreg__V1__Request *env,
    Spreg__V1__Reply *reply);
/*
 * After rpc_handle_begin returned true: does the write need a fetch
 * first? Then rpc_write_fetch must run before it is queued, on a thread
 * that neither answers requests nor writes (it blocks for up to 30 s;
 * sooner once *stop turns true).
 */
bool rpc_write_needs_fetch(const rpc_worker *w);
void rpc_write_fetch(rpc_worker *w, const atomic_bool *stop);

/*
 * The follow poller's work on the store (rpc/follow.c). A job is one
 * follow to fetch, copied out of the store.
 */
typedef struct rpc_follow_job {
	char vendor[72];
	char url[416];
	char etag[PUBLIST_ETAG_MAX];
	/* Not "" when the token that made the follow may no longer write
	 * (revoked, or deleted): why; the poller then fetches nothing. */
	char paused[ERR_MSG_MAX];
} rpc_follow_job;
/*
 * Up to max follows due at now_ms (fetched interval_seconds or more
 * ago), into jobs; *next_ms: when the first one not due is (INT64_MAX
 * when none). w is the poller's own worker.
 */
spreg_status rpc_follow_due(rpc_worker *w, int64_t now_ms,
    rpc_follow_job *jobs, size_t max, size_t *n_out, int64_t *next_ms,
    err *e);
/*
 * Records what fetching job brought (f) on its follow and, when the
 * list differs from the vendor's fourth parties from that URL, writes
 * the vendor as PutSubprocessor would (validated, logged, re-assessed,
 * delivered), in one durable transaction, then publishes. A follow
 * removed meanwhile is left alone. *change_seq: the vendor's change, 0
 * when none.
 */
spreg_status rpc_follow_record(rpc_worker *w, const rpc_follow_job *job,
    const publist_fetched *f, uint64_t *change_seq, err *e);

/* The one writer of a server that batches writes (net/server.c's
 * writer thread), with its own store session; used by one thread at a
 * time. */
typedef struct rpc_writer rpc_writer;
spreg_status rpc_writer_create(rpc_server *srv, rpc_writer **out, err *e);
void rpc_writer_destroy(rpc_writer *wr);
void rpc_write_batch(rpc_writer *wr, rpc_worker *const *ws, size_t n);

/* Answers a request with st and message without running it (a server
 * limit refused it), unless it is a write already applied under its
 * request id: then with that write's saved reply. *reply as from
 * rpc_handle_begin. */
void rpc_handle_refuse(rpc_worker *w, const void *req, size_t len,
    spreg_status st, const char *message, Spreg__V1__Reply *reply);

/* Logs each request at debug level with its status and duration. */
#endif
