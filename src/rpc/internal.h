/*
 * Private to src/rpc/: the server's state, a worker and the call in
 * progress, shared by the dispatcher (rpc.c), the commit pipeline
 * (pipeline.c) and the scheduled jobs (jobs.c). Nothing outside
 * src/rpc/ includes this.
 */
#ifndef RPC_INTERNAL_H
#define RPC_INTERNAL_H

#include <pthread.h>

#include "core/date.h"
#include "db/record.h"
#include "rpc/handlers.h"
#include "rpc/rpc.h"

struct rpc_server {
	db *d;
	const catalog *cat;
	rpc_publisher pub;	/* its urls not kept: see pub_urls */
	uint64_t epoch;
	int64_t started_ms;
	char started_at[TIME_BUF];
	unsigned char secret[32];
	const assess_rules *rules;	/* not owned; NULL until set */
	bool insecure_local;
	rpc_fetch_fn fetch;	/* NULL: RPC_FETCH writes refused */
	rpc_limits limits;
	char pub_urls[RPC_PUB_URLS][RPC_URL_MAX];
	size_t npub_urls;
	uint32_t heartbeat_ms;
	int64_t started_mono;
	/*
	 * Time as writes see it. Store time (for the request-id window)
	 * resumes at the newest saved reply's and runs on the monotonic
	 * clock, so no wall-clock step shortens the window; time the server
	 * is down does not count, which only lengthens it. Change times
	 * come from the wall clock but never go below the last one handed
	 * out (or the log's last, at start).
	 */
	pthread_mutex_t clock_mu;
	int64_t store_base_ms;
	int64_t last_stamp_ms;
	bool clock_behind;	/* warned of the step back in progress */
};

typedef struct exec exec;

struct rpc_worker {
	rpc_server *srv;
	db_session *session;
	arena arena;
	exec *x;		/* the call in progress */
	const char *method;	/* for the log */
	int64_t start_ms;
	bool public_ok;		/* rpc_worker_create_public */
};

/* State of one call, shared with the write callback. */
struct exec {
	rpc_worker *w;
	rpc_call call;
	const rpc_method *m;
	const ProtobufCMethodDescriptor *md;
	const ProtobufCMessage *in;
	ProtobufCMessage *out;
	const char *bearer;	/* the request's token, checked again in the
				 * write transaction */
	unsigned char digest[DB_DIGEST_LEN];
	Spreg__V1__Reply *reply;
	bool replayed;		/* answered from the saved reply */
	db_appended appended;	/* changes logged by the write */
	size_t *applied;	/* rpc_apply_due: announcements applied */
	Spreg__V1__Change **due;	/* rpc_reassess_day: to append */
	size_t ndue;
	bool day_done;		/* rpc_reassess_day: already recorded */
	/* RPC_FETCH: what was fetched (its body in the worker's arena). */
	publist_fetched fetched;
	bool has_fetched;
	int64_t received_mono;	/* when the request arrived */
	int64_t deadline_mono;	/* received + timeout_ms; 0: none */
};

/* rpc.c: time and the parts of a call both a read and a write run. */

/* Store time now (see struct rpc_server). */
int64_t rpc_store_now(rpc_server *srv);
/*
 * The time a write records: wall_ms, or the last time handed out when
 * the clock stepped back below it, so change times never decrease.
 */
int64_t rpc_stamp(rpc_server *srv, int64_t wall_ms);
/* DEADLINE_EXCEEDED once the request's timeout_ms has passed. */
spreg_status rpc_check_deadline(const exec *x, err *e);
/* The call's reply message, in the worker's arena. */
spreg_status rpc_exec_new_output(exec *x, err *e);
/* Packs the reply message into the reply's payload. */
spreg_status rpc_exec_pack_output(exec *x, err *e);
/* Sets the reply's status and message, and logs the call. */
void rpc_exec_finish(rpc_worker *w, spreg_status st, err *e);

/* follow.c: FollowVendor's fetch step (rpc_write_fetch). */
void rpc_follow_fetch(exec *x, const atomic_bool *stop);

/* pipeline.c: what a write transaction runs and what follows it. */

/* Re-assesses the transfers the changes x logged so far touched. */
spreg_status rpc_exec_reassess(exec *x, db_txn *t, err *e);
/* After the commit: each change appended, with the customers it
 * concerns, to the server's publisher (if any). */
void rpc_publish_appended(rpc_worker *w, const db_appended *appended);
/* rpc_write_batch with a given session: a writer's, or a worker's own
 * where no writer thread runs (rpc_handle, in pipeline.c too). */
void rpc_write_batch_in(db_session *writer, rpc_worker *const *ws,
    size_t n);

#endif
