/*
 * The follow poller's work on the store (declared in rpc.h): which
 * follows are due, and what a fetch brought, recorded on its follow and
 * written to its vendor through follow.c's list merge, then published.
 * The poller itself, with its fetches, is src/follow/. Apart from
 * follow.c so that the Follows handlers, which the dispatcher reaches,
 * do not call the publishing end of the write pipeline.
 */
#include <stdio.h>
#include <string.h>

#include "db/follow.h"
#include "rpc/auth.h"
#include "rpc/handlers.h"
#include "rpc/internal.h"
#include "rpc/reassess.h"

/*
 * A follow writes on the authority of the token that made it: once that
 * token is revoked (or was made under --insecure-local and the server
 * now checks tokens), the follow is paused, fetching and writing
 * nothing, until someone who may write follows again. SPREG_OK when it
 * may go on; FAILED_PRECONDITION with why otherwise.
 */
static spreg_status
follow_authority(db_txn *t, const rpc_server *srv, arena *a,
    const Spreg__V1__Follow *fl, err *why)
{
	Spreg__V1__Token **all;
	size_t n;
	spreg_status st;

	if (strcmp(fl->created_token, RPC_AUTH_INSECURE_NAME) == 0) {
		if (rpc_server_insecure_local(srv)) {
			return SPREG_OK;
		}
		return err_set(why, SPREG_FAILED_PRECONDITION, "paused: "
		    "followed under --insecure-local, and the server now "
		    "checks tokens; unfollow and follow again with an editor "
		    "token");
	}
	if ((st = db_token_list(t, a, &all, &n, why)) != SPREG_OK) {
		return st;
	}
	for (size_t i = 0; i < n; i++) {
		if (strcmp(all[i]->name, fl->created_token) != 0) {
			continue;
		}
		if (all[i]->revoked_at[0] == '\0') {
			return SPREG_OK;
		}
		return err_set(why, SPREG_FAILED_PRECONDITION, "paused: token "
		    "'%s' that followed was revoked at %s; unfollow and "
		    "follow again with an editor token", fl->created_token,
		    all[i]->revoked_at);
	}
	return err_set(why, SPREG_FAILED_PRECONDITION, "paused: token '%s' "
	    "that followed no longer exists; unfollow and follow again with "
	    "an editor token", fl->created_token);
}

spreg_status
rpc_follow_due(rpc_worker *w, int64_t now_ms, rpc_follow_job *jobs,
    size_t max, size_t *n_out, int64_t *next_ms, err *e)
{
	Spreg__V1__Follow **list;
	size_t n, taken = 0;
	db_txn t;
	spreg_status st;

	*next_ms = INT64_MAX;
	arena_reset(&w->arena);
	if ((st = db_read_begin(w->session, &t, e)) != SPREG_OK) {
		return st;
	}
	st = db_follow_list(&t, NULL, &w->arena, &list, &n, e);
	for (size_t i = 0; st == SPREG_OK && i < n; i++) {
		int64_t last = 0;
		if (!time_parse(list[i]->last_fetch_at, &last)) {
			last = 0;
		}
		int64_t due = last + (int64_t) list[i]->interval_seconds * 1000;
		if (due > now_ms || taken == max) {
			*next_ms = due < *next_ms ? due : *next_ms;
			continue;
		}
		rpc_follow_job *j = &jobs[taken++];
		snprintf(j->vendor, sizeof(j->vendor), "%s",
		    list[i]->subprocessor_id);
		snprintf(j->url, sizeof(j->url), "%s", list[i]->url);
		snprintf(j->etag, sizeof(j->etag), "%s", list[i]->etag);
		err why;
		j->paused[0] = '\0';
		st = follow_authority(&t, w->srv, &w->arena, list[i], &why);
		if (st == SPREG_FAILED_PRECONDITION) {
			snprintf(j->paused, sizeof(j->paused), "%s", why.msg);
			st = SPREG_OK;
		} else if (st != SPREG_OK) {
			*e = why;
		}
	}
	db_read_end(w->session);
	*n_out = taken;
	return st;
}

typedef struct record_arg {
	exec *x;
	const rpc_follow_job *job;
	const publist_fetched *f;
	uint64_t change_seq;
} record_arg;

/* In t: what r's fetch brought, on its follow and its vendor. */
static spreg_status
record_in(record_arg *r, db_txn *t, err *e)
{
	exec *x = r->x;
	const publist_fetched *f = r->f;
	Spreg__V1__Follow *fl;
	char now[TIME_BUF], actor[sizeof(r->job->url) + 32];
	spreg_status st;

	r->change_seq = 0;
	x->call.txn = t;
	x->call.now_ms = rpc_stamp(x->w->srv, time_now_ms());
	time_format(x->call.now_ms, now);
	st = db_follow_get(t, r->job->vendor, r->job->url, &x->w->arena, &fl,
	    e);
	if (st == SPREG_NOT_FOUND) {
		return SPREG_OK;	/* unfollowed while it was fetched */
	}
	if (st != SPREG_OK) {
		return st;
	}
	/* The server's own change, naming what it follows; the person
	 * who followed is in the log's followed change. */
	snprintf(actor, sizeof(actor), "spregd (follow of %s)", fl->url);
	db_actor who = {actor, 0, x->call.now_ms, NULL};
	Spreg__V1__Change *change = NULL;
	err why;
	spreg_status got = f->st;
	why.msg[0] = '\0';
	/* Checked again in the write: revoked while it was fetched. */
	st = follow_authority(t, x->w->srv, &x->w->arena, fl, &why);
	if (st != SPREG_OK && st != SPREG_FAILED_PRECONDITION) {
		*e = why;
		return st;
	}
	if (st != SPREG_OK) {
		got = st;
	} else if (got != SPREG_OK) {
		snprintf(why.msg, sizeof(why.msg), "%s", f->msg);
	} else {
		got = f->not_modified ? rpc_follow_confirm(&x->call,
		    fl->subprocessor_id, fl->url, &who, &change, &why) :
		    rpc_follow_apply(&x->call, fl->subprocessor_id, fl->url, f, &who,
		    &change, &why);
		if (got != SPREG_OK && db_txn_dead(t)) {
			*e = why;
			return got;
		}
	}
	if ((fl->last_fetch_at = arena_strdup(&x->w->arena, now)) == NULL) {
		return err_oom(e, NULL);
	}
	fl->fetches += r->job->paused[0] == '\0';	/* fetched */
	if (got != SPREG_OK) {
		fl->last_outcome = SPREG__V1__FOLLOW_OUTCOME__FOLLOW_OUTCOME_FAILED;
		fl->last_error = arena_strdup(&x->w->arena, why.msg);
		fl->failures++;
		if (fl->failing_since[0] == '\0') {
			fl->failing_since = fl->last_fetch_at;
		}
		/* A list refused whole is fetched whole next time. */
		if (f->st == SPREG_OK) {
			fl->etag = (char *) "";
		}
	} else {
		fl->last_outcome = f->not_modified ?
		    SPREG__V1__FOLLOW_OUTCOME__FOLLOW_OUTCOME_NOT_MODIFIED :
		    change != NULL ?
		    SPREG__V1__FOLLOW_OUTCOME__FOLLOW_OUTCOME_UPDATED :
		    SPREG__V1__FOLLOW_OUTCOME__FOLLOW_OUTCOME_UNCHANGED;
		fl->last_error = (char *) "";
		fl->last_success_at = fl->last_fetch_at;
		fl->failing_since = (char *) "";
		if (!f->not_modified) {
			fl->etag = arena_strdup(&x->w->arena, f->etag);
		}
	}
	if (change != NULL) {
		fl->changes++;
		fl->last_change_seq = change->seq;
		r->change_seq = change->seq;
	}
	if (fl->last_error == NULL || fl->etag == NULL) {
		return err_oom(e, NULL);
	}
	if ((st = db_follow_put(t, fl, e)) != SPREG_OK) {
		return st;
	}
	return rpc_exec_reassess(x, t, e);
}

spreg_status
rpc_follow_record(rpc_worker *w, const rpc_follow_job *job,
    const publist_fetched *f, uint64_t *change_seq, err *e)
{
	exec x;
	db_txn t;
	spreg_status st;

	*change_seq = 0;
	arena_reset(&w->arena);
	memset(&x, 0, sizeof(x));
	x.w = w;
	x.call.srv = w->srv;
	x.call.arena = &w->arena;
	x.call.actor = "spregd";
	record_arg r = {&x, job, f, 0};
	do {
		if ((st = db_write_begin(w->session, &t, &x.appended, e)) !=
		    SPREG_OK) {
			break;
		}
		st = record_in(&r, &t, e);
	} while (db_write_retry(&t, &st, e));
	if (st == SPREG_OK) {
		rpc_publish_appended(w, &x.appended);
		*change_seq = r.change_seq;
	}
	return st;
}
