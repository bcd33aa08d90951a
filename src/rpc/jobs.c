/*
 * The scheduled jobs spregd's tick runs: announced changes and dated
 * retirements whose day has come (rpc_apply_due), and the daily
 * re-assessment of every transfer (rpc_reassess_day). Each is one write
 * transaction of the writer, published after its commit.
 */
#include <string.h>

#include "rpc/internal.h"
#include "rpc/reassess.h"

/* A job's write: fn in one write transaction of x's worker, run again
 * when the map grew; the changes it logged published after the
 * commit. */
typedef spreg_status (*job_fn)(exec *x, db_txn *t, err *e);

static spreg_status
job_write(exec *x, job_fn fn, err *e)
{
	spreg_status st;
	db_txn t;

	do {
		if ((st = db_write_begin(x->w->session, &t, &x->appended,
		         e)) != SPREG_OK) {
			break;
		}
		st = fn(x, &t, e);
	} while (db_write_retry(&t, &st, e));
	if (st == SPREG_OK) {
		rpc_publish_appended(x->w, &x->appended);
	}
	return st;
}

/* The announcements and dates due by x's day, applied in t. */
static spreg_status
apply_due(exec *x, db_txn *t, err *e)
{
	spreg_status st;

	*x->applied = 0;
	x->call.now_ms = rpc_stamp(x->w->srv, x->call.now_ms);
	db_actor who = {"spregd (announced change took effect)", 0,
	    x->call.now_ms, NULL};
	db_actor dated = {"spregd (date reached)", 0, x->call.now_ms, NULL};
	int32_t today = date_from_ms(x->call.now_ms);
	size_t by_date;
	if ((st = db_apply_due(t, today, &who, &x->w->arena, x->applied,
	         e)) != SPREG_OK ||
	    (st = db_apply_dates(t, today, &dated, &x->w->arena, &by_date,
	         e)) != SPREG_OK) {
		return st;
	}
	*x->applied += by_date;
	return rpc_exec_reassess(x, t, e);
}

spreg_status
rpc_apply_due(rpc_server *srv, int64_t now_ms, size_t *applied_out, err *e)
{
	rpc_worker *w;
	exec x;
	spreg_status st;

	*applied_out = 0;
	if ((st = rpc_worker_create(srv, &w)) != SPREG_OK) {
		return err_set(e, st, "out of memory");
	}
	memset(&x, 0, sizeof(x));
	x.w = w;
	x.call.now_ms = now_ms;
	x.applied = applied_out;
	st = job_write(&x, apply_due, e);
	rpc_worker_destroy(w);
	return st;
}

/* Appends the day's findings and records the day, unless another call
 * recorded it first. */
static spreg_status
record_day(exec *x, db_txn *t, err *e)
{
	int32_t today = date_from_ms(x->call.now_ms);
	uint64_t last;
	spreg_status st;

	x->day_done = false;
	st = db_meta_get_u64(t, RPC_REASSESS_META, &last, e);
	if (st == SPREG_OK && last == (uint64_t) (int64_t) today) {
		x->day_done = true;
		return SPREG_OK;
	}
	if (st != SPREG_OK && st != SPREG_NOT_FOUND) {
		return st;
	}
	for (size_t i = 0; i < x->ndue; i++) {
		if ((st = db_change_append(t, x->due[i], &x->w->arena, e)) !=
		    SPREG_OK) {
			return st;
		}
	}
	return db_meta_put_u64(t, RPC_REASSESS_META,
	    (uint64_t) (int64_t) today, e);
}

spreg_status
rpc_reassess_day(rpc_server *srv, int64_t now_ms, size_t *changed_out,
    err *e)
{
	int32_t today = date_from_ms(now_ms);
	rpc_worker *w;
	arena keep;
	db_txn t;
	uint64_t last = 0;
	bool known = false;
	exec x;
	spreg_status st;

	*changed_out = 0;
	if ((st = rpc_worker_create(srv, &w)) != SPREG_OK) {
		return err_set(e, st, "out of memory");
	}
	arena_init(&keep, RPC_ARENA_BUDGET);
	memset(&x, 0, sizeof(x));
	x.w = w;
	x.call.now_ms = now_ms;
	/* Cheap when the day is the one recorded: one meta read. */
	if ((st = db_read_begin(w->session, &t, e)) != SPREG_OK) {
		goto out;
	}
	st = db_meta_get_u64(&t, RPC_REASSESS_META, &last, e);
	db_read_end(w->session);
	if (st == SPREG_OK) {
		known = true;
	} else if (st != SPREG_NOT_FOUND) {
		goto out;
	}
	st = SPREG_OK;
	if (known && last == (uint64_t) (int64_t) today) {
		goto out;
	}
	/* A first run only records the day: nothing to compare with. */
	if (known && srv->rules != NULL && (int64_t) last < today &&
	    (st = rpc_reassess_scan(srv, w->session, (int32_t) (int64_t) last,
	         today, rpc_stamp(srv, now_ms), &w->arena, &keep, &x.due, &x.ndue,
	         e)) !=
	        SPREG_OK) {
		goto out;
	}
	arena_reset(&w->arena);
	if ((st = job_write(&x, record_day, e)) == SPREG_OK && !x.day_done) {
		*changed_out = x.ndue;
	}
out:
	arena_fini(&keep);
	rpc_worker_destroy(w);
	return st;
}
