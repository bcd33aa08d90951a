/*
 * The scheduled jobs spregd's tick runs: announced changes and dated
 * retirements whose day has come (rpc_apply_due), and the daily
 * re-assessment of every transfer (rpc_reassess_day). Each is one write
 * transaction of the writer, published after its commit.
 */
#include <string.h>

#include "rpc/internal.h"
#include "rpc/reassess.h"

static spreg_status
due_cb(db_txn *t, void *arg, err *e)
{
	exec *x = arg;
	spreg_status st;

	x->call.now_ms = rpc_stamp(x->w->srv, x->call.now_ms);
	db_actor who = {"spregd (announced change took effect)", 0,
	    x->call.now_ms, NULL};

	x->nevents = 0;
	t->on_append = rpc_exec_collect;
	t->on_append_arg = x;
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

	if ((st = rpc_worker_create(srv, &w)) != SPREG_OK) {
		return err_set(e, st, "out of memory");
	}
	memset(&x, 0, sizeof(x));
	x.w = w;
	x.call.now_ms = now_ms;
	x.applied = applied_out;
	*applied_out = 0;
	st = db_write(w->session, due_cb, &x, e);
	if (st == SPREG_OK && x.nevents > 0 && srv->publish != NULL) {
		rpc_publish_events(w, x.events, x.nevents);
	}
	rpc_worker_destroy(w);
	return st;
}

/* Appends the day's findings and records the day, unless another call
 * recorded it first. */
static spreg_status
day_cb(db_txn *t, void *arg, err *e)
{
	exec *x = arg;
	int32_t today = date_from_ms(x->call.now_ms);
	uint64_t last;
	spreg_status st;

	x->nevents = 0;
	x->day_done = false;
	t->on_append = rpc_exec_collect;
	t->on_append_arg = x;
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
	if ((st = db_write(w->session, day_cb, &x, e)) != SPREG_OK) {
		goto out;
	}
	if (!x.day_done) {
		*changed_out = x.ndue;
		if (x.nevents > 0 && srv->publish != NULL) {
			rpc_publish_events(w, x.events, x.nevents);
		}
	}
out:
	arena_fini(&keep);
	rpc_worker_destroy(w);
	return st;
}
