/*
 * The commit pipeline: a write request, once the dispatcher has checked
 * and decoded it (rpc_handle_begin), runs here in the writer's
 * transaction, batched with others into one commit (group commit), and
 * its changes are published after that commit only.
 */
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "rpc/auth.h"
#include "rpc/internal.h"
#include "rpc/reassess.h"

/* Fills in each change's customers, then hands them to the publisher. */
void
rpc_publish_appended(rpc_worker *w, const db_appended *appended)
{
	rpc_server *srv = w->srv;
	size_t n = appended->n;
	db_txn t;
	err e;

	if (n == 0 || srv->pub.publish == NULL) {
		return;
	}
	rpc_event *events = arena_alloc(&w->arena, n * sizeof(*events));
	if (events == NULL) {
		return;	/* a gap: subscribers catch up from the log */
	}
	for (size_t i = 0; i < n; i++) {
		events[i] = (rpc_event) {appended->changes[i], NULL, 0};
	}
	if (db_read_begin(w->session, &t, &e) == SPREG_OK) {
		for (size_t i = 0; i < n; i++) {
			const char **ids;
			size_t nids;
			if (db_customers_concerned(&t, events[i].change,
			        &w->arena, &ids, &nids, &e) == SPREG_OK) {
				events[i].customers = ids;
				events[i].ncustomers = nids;
			}
		}
		db_read_end(w->session);
	}
	srv->pub.publish(srv->pub.arg, events, n);
}

/*
 * The one place a write's effect on transfer verdicts is judged: the
 * changes it logged so far (a snapshot, as appending grows the list).
 */
spreg_status
rpc_exec_reassess(exec *x, db_txn *t, err *e)
{
	size_t n = x->appended.n;

	if (n == 0 || x->w->srv->rules == NULL) {
		return SPREG_OK;
	}
	const Spreg__V1__Change **changes = arena_alloc(&x->w->arena,
	    n * sizeof(*changes));
	if (changes == NULL) {
		return err_oom(e, NULL);
	}
	for (size_t i = 0; i < n; i++) {
		changes[i] = x->appended.changes[i];
	}
	return rpc_reassess_changes(x->w->srv, t, &x->w->arena, changes, n,
	    x->call.now_ms, x->call.request_id, e);
}

/* One write request in t, its nested transaction of the batch. */
static spreg_status
write_one(exec *x, db_txn *t, err *e)
{
	spreg_status st;

	x->call.txn = t;
	x->call.fetched = x->has_fetched ? &x->fetched : NULL;
	x->replayed = false;
	/* It may have waited behind other writes: the caller gave up. */
	if ((st = rpc_check_deadline(x, e)) != SPREG_OK) {
		return st;
	}
	x->call.now_ms = rpc_stamp(x->w->srv, time_now_ms());
	/* Again, in the transaction that writes: a token revoked since the
	 * request was read writes nothing. */
	if ((st = rpc_auth_check(&x->call, t, x->bearer, e)) != SPREG_OK) {
		return st;
	}
	bool save = x->call.request_id != 0 && !(x->m->flags & RPC_NO_SAVE);
	if (save) {
		void *saved;
		size_t len;
		st = db_request_find(t, x->call.request_id, x->digest,
		    &x->w->arena, &saved, &len, e);
		if (st == SPREG_OK) {
			x->reply->payload.data = saved;
			x->reply->payload.len = len;
			x->replayed = true;
			return SPREG_OK;
		}
		if (st != SPREG_NOT_FOUND) {
			return st;
		}
	}
	if ((st = rpc_exec_new_output(x, e)) != SPREG_OK ||
	    (st = x->m->fn(&x->call, x->in, x->out, e)) != SPREG_OK ||
	    (st = rpc_exec_reassess(x, t, e)) != SPREG_OK ||
	    (st = rpc_exec_pack_output(x, e)) != SPREG_OK) {
		return st;
	}
	if (save) {
		st = db_request_save(t, x->call.request_id, x->digest,
		    x->reply->payload.data, x->reply->payload.len,
		    rpc_store_now(x->w->srv), e);
	}
	return st;
}

struct rpc_writer {
	db_session *session;
};

spreg_status
rpc_writer_create(rpc_server *srv, rpc_writer **out, err *e)
{
	rpc_writer *wr = calloc(1, sizeof(*wr));
	spreg_status st;

	if (wr == NULL) {
		return err_oom(e, "writer");
	}
	if ((st = db_session_create(srv->d, &wr->session)) != SPREG_OK) {
		free(wr);
		return err_set(e, st, "writer: no store session");
	}
	*out = wr;
	return SPREG_OK;
}

void
rpc_writer_destroy(rpc_writer *wr)
{
	if (wr != NULL) {
		db_session_destroy(wr->session);
		free(wr);
	}
}

void
rpc_write_batch(rpc_writer *wr, rpc_worker *const *ws, size_t n)
{
	rpc_write_batch_in(wr->session, ws, n);
}

/*
 * Group commit: one write transaction, each request in a nested one (a
 * failing request is rolled back alone, its changes with it), one
 * fsync; run again from the start when the map had to grow. Replies
 * are set, and the changes each request logged published, only after
 * the commit.
 */
void
rpc_write_batch_in(db_session *writer, rpc_worker *const *ws, size_t n)
{
	spreg_status item_st[RPC_BATCH_MAX];
	err item_e[RPC_BATCH_MAX];
	spreg_status st;
	err e;
	db_txn batch;

	if (n > RPC_BATCH_MAX) {
		n = RPC_BATCH_MAX;	/* callers never pass more */
	}
	time_test_write_delay();
	do {
		if ((st = db_write_begin(writer, &batch, NULL, &e)) !=
		    SPREG_OK) {
			break;
		}
		for (size_t i = 0; i < n; i++) {
			exec *x = ws[i]->x;
			db_txn t;
			item_e[i].msg[0] = '\0';
			item_st[i] = db_nested_begin(&batch, &t, &x->appended,
			    &item_e[i]);
			if (item_st[i] == SPREG_OK) {
				item_st[i] = db_nested_end(&t,
				    write_one(x, &t, &item_e[i]), &item_e[i]);
			}
		}
	} while (db_write_retry(&batch, &st, &e));
	for (size_t i = 0; i < n; i++) {
		rpc_worker *w = ws[i];
		exec *x = w->x;
		if (st != SPREG_OK) {	/* nothing was committed */
			item_st[i] = st;
			item_e[i] = e;
		}
		rpc_exec_finish(w, item_st[i], &item_e[i]);
		if (item_st[i] == SPREG_OK && !x->replayed) {
			rpc_publish_appended(w, &x->appended);
		}
	}
}

/* A write runs at once in the worker's own session, alone in its
 * commit: for callers with no writer thread (tests, tools). */
void
rpc_handle(rpc_worker *w, const void *req, size_t len,
    Spreg__V1__Reply *reply)
{
	if (rpc_handle_begin(w, req, len, reply)) {
		if (rpc_write_needs_fetch(w)) {
			rpc_write_fetch(w, NULL);
		}
		rpc_write_batch_in(w->session, &w, 1);
	}
}
