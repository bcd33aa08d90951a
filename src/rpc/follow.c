/*
 * The Follows service (follow.proto), and the follow poller's work on
 * the store (rpc_follow_due, rpc_follow_record; the poller itself, with
 * its fetches, is src/follow/).
 *
 * FollowVendor is an RPC_FETCH write: its URL is fetched (net/server.c's
 * fetch thread, rpc_write_fetch) before the write runs, so the handler
 * refuses a URL that does not give the list, naming url, with nothing
 * stored. A list that differs from the vendor's fourth parties from
 * that URL is written through rpc_put_vendor, PutSubprocessor's own
 * write: validated, logged, re-assessed, published and delivered.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/validate.h"
#include "db/follow.h"
#include "rpc/auth.h"
#include "rpc/handlers.h"
#include "rpc/internal.h"
#include "rpc/reassess.h"

#define INTERVAL_DEFAULT 300
#define INTERVAL_MIN 1
#define INTERVAL_MAX 86400

void
rpc_follow_fetch(exec *x, const atomic_bool *stop)
{
	const Spreg__V1__FollowVendorRequest *in = (const void *) x->in;
	publist_fetched f = {0};
	err e;

	x->has_fetched = false;
	/* Nothing is fetched for a request the handler refuses anyway:
	 * not a URL of ours, or a server that fetches nothing. */
	if (x->w->srv->fetch == NULL ||
	    rpc_check_url("url", in->url, DB_FOLLOW_URL_MAX, &e) != SPREG_OK) {
		return;
	}
	x->w->srv->fetch(in->url, "", stop, &f);
	x->fetched = f;
	x->fetched.body = NULL;
	if (f.body != NULL) {
		/* In the worker's arena: the request's, freed with it. */
		if ((x->fetched.body = arena_alloc(&x->w->arena, f.len + 1)) ==
		    NULL) {
			x->fetched.st = SPREG_RESOURCE_EXHAUSTED;
			snprintf(x->fetched.msg, sizeof(x->fetched.msg),
			    "url: %s: no memory for the list", in->url);
		} else {
			memcpy(x->fetched.body, f.body, f.len + 1);
		}
	}
	publist_fetched_fini(&f);
	x->has_fetched = true;
}

/* "YYYY-MM-DD" of the call's time. */
static void
today_of(const rpc_call *call, char out[DATE_BUF])
{
	date_format(date_from_ms(call->now_ms), out);
}

/*
 * The vendor's fourth parties from url become those of the list in f
 * (others kept). Writes the vendor, by who, only when they differ:
 * *change_out is then its change, else NULL.
 */
static spreg_status
apply_list(rpc_call *call, const char *vendor, const char *url,
    const publist_fetched *f, const db_actor *who,
    Spreg__V1__Change **change_out, err *e)
{
	Spreg__V1__FourthParty **fresh, **merged;
	Spreg__V1__Subprocessor *sp, *written;
	size_t nfresh, nmerged;
	char today[DATE_BUF];
	bool differs;
	spreg_status st;

	*change_out = NULL;
	today_of(call, today);
	if ((st = publist_parse(f->body != NULL ? f->body : "", f->len, url,
	         today, call->arena, &fresh, &nfresh, e)) != SPREG_OK ||
	    (st = db_sp_get(call->txn, vendor, 0, call->arena, &sp, e)) !=
	        SPREG_OK ||
	    (st = publist_merge(sp->fourth_parties, sp->n_fourth_parties, fresh,
	         nfresh, url, call->arena, &merged, &nmerged, &differs, e)) !=
	        SPREG_OK) {
		return st;
	}
	if (!differs) {
		return SPREG_OK;
	}
	Spreg__V1__Subprocessor next = *sp;
	next.fourth_parties = merged;
	next.n_fourth_parties = nmerged;
	return rpc_put_vendor(call, &next, sp->revision, false, false, "",
	    who, &written, change_out, e);
}

/*
 * A 304: the list is as last read, so its fourth parties are confirmed
 * today; written (once a day at most) only when a confirmed_on moves.
 */
static spreg_status
confirm_list(rpc_call *call, const char *vendor, const char *url,
    const db_actor *who, Spreg__V1__Change **change_out, err *e)
{
	Spreg__V1__Subprocessor *sp, *written;
	char today[DATE_BUF];
	bool moved = false;
	spreg_status st;

	*change_out = NULL;
	today_of(call, today);
	if ((st = db_sp_get(call->txn, vendor, 0, call->arena, &sp, e)) !=
	    SPREG_OK) {
		return st;
	}
	size_t n = sp->n_fourth_parties;
	Spreg__V1__FourthParty **fps = arena_alloc(call->arena,
	    (n + 1) * sizeof(*fps));
	char *day = arena_strdup(call->arena, today);
	if (fps == NULL || day == NULL) {
		return err_oom(e, NULL);
	}
	for (size_t i = 0; i < n; i++) {
		Spreg__V1__FourthParty *fp = sp->fourth_parties[i];
		fps[i] = fp;
		if (strcmp(fp->source, url) != 0 ||
		    strcmp(fp->confirmed_on, today) == 0) {
			continue;
		}
		if ((fps[i] = arena_alloc(call->arena, sizeof(*fp))) == NULL) {
			return err_oom(e, NULL);
		}
		*fps[i] = *fp;
		fps[i]->confirmed_on = day;
		moved = true;
	}
	if (!moved) {
		return SPREG_OK;
	}
	Spreg__V1__Subprocessor next = *sp;
	next.fourth_parties = fps;
	return rpc_put_vendor(call, &next, sp->revision, false, false, "",
	    who, &written, change_out, e);
}

/* The vendor named exists (NOT_FOUND naming subprocessor_id). */
static spreg_status
check_vendor(rpc_call *call, const char *id, err *e)
{
	Spreg__V1__Subprocessor *sp;
	spreg_status st;

	if ((st = rpc_check_id("subprocessor_id", id, e)) != SPREG_OK) {
		return st;
	}
	st = db_sp_get(call->txn, id, 0, call->arena, &sp, e);
	if (st == SPREG_NOT_FOUND) {
		return err_set(e, SPREG_NOT_FOUND, "subprocessor_id: no "
		    "subprocessor '%s'", id);
	}
	return st;
}

static spreg_status
follow_vendor(rpc_call *call, const ProtobufCMessage *in_,
    ProtobufCMessage *out_, err *e)
{
	const Spreg__V1__FollowVendorRequest *in = (const void *) in_;
	Spreg__V1__FollowVendorResponse *out = (void *) out_;
	const publist_fetched *f = call->fetched;
	uint32_t interval = in->interval_seconds != 0 ? in->interval_seconds :
	    INTERVAL_DEFAULT;
	db_actor who = rpc_actor_of(call);
	char now[TIME_BUF];
	Spreg__V1__Follow *old;
	spreg_status st;

	if ((st = check_vendor(call, in->subprocessor_id, e)) != SPREG_OK ||
	    (st = rpc_check_url("url", in->url, DB_FOLLOW_URL_MAX, e)) !=
	        SPREG_OK) {
		return st;
	}
	if (interval < INTERVAL_MIN || interval > INTERVAL_MAX) {
		return err_set(e, SPREG_INVALID_ARGUMENT, "interval_seconds: "
		    "%" PRIu32 " is not %d to %d", interval, INTERVAL_MIN,
		    INTERVAL_MAX);
	}
	if (!in->once) {
		st = db_follow_get(call->txn, in->subprocessor_id, in->url,
		    call->arena, &old, e);
		if (st == SPREG_OK) {
			return err_set(e, SPREG_ALREADY_EXISTS, "url: '%s' "
			    "already follows %s (unfollow it first to change "
			    "its interval)", in->subprocessor_id, in->url);
		}
		if (st != SPREG_NOT_FOUND) {
			return st;
		}
	}
	if (f == NULL) {
		return err_set(e, SPREG_UNAVAILABLE, "url: this server fetches "
		    "nothing (it runs no follows)");
	}
	/* An upstream that does not answer is not this server being
	 * unavailable: the caller is told to fix the URL or its server,
	 * not to retry here. */
	if (f->st != SPREG_OK) {
		return err_set(e, f->st == SPREG_UNAVAILABLE && !f->stopped ?
		    SPREG_FAILED_PRECONDITION : f->st, "%s", f->msg);
	}
	time_format(call->now_ms, now);
	Spreg__V1__Follow *fl = arena_alloc(call->arena, sizeof(*fl));
	if (fl == NULL) {
		return err_oom(e, NULL);
	}
	spreg__v1__follow__init(fl);
	fl->subprocessor_id = in->subprocessor_id;
	fl->url = in->url;
	fl->interval_seconds = interval;
	fl->created_at = arena_strdup(call->arena, now);
	fl->created_by = (char *) call->actor;
	fl->created_token = (char *) (call->token != NULL ? call->token : "");
	fl->last_fetch_at = fl->created_at;
	fl->last_success_at = fl->created_at;
	fl->etag = arena_strdup(call->arena, f->etag);
	fl->fetches = 1;
	if (fl->created_at == NULL || fl->etag == NULL) {
		return err_oom(e, NULL);
	}
	/* The decision first in the log, then what it wrote. */
	if (!in->once && (st = db_follow_log(call->txn, fl, CHANGE_FOLLOWED,
	                      &who, call->arena, NULL, e)) != SPREG_OK) {
		return st;
	}
	if ((st = apply_list(call, in->subprocessor_id, in->url, f, &who,
	         &out->change, e)) != SPREG_OK) {
		return st;
	}
	fl->last_outcome = out->change != NULL ?
	    SPREG__V1__FOLLOW_OUTCOME__FOLLOW_OUTCOME_UPDATED :
	    SPREG__V1__FOLLOW_OUTCOME__FOLLOW_OUTCOME_UNCHANGED;
	if (out->change != NULL) {
		fl->changes = 1;
		fl->last_change_seq = out->change->seq;
	}
	if (in->once) {
		return SPREG_OK;
	}
	out->follow = fl;
	return db_follow_put(call->txn, fl, e);
}

static spreg_status
unfollow_vendor(rpc_call *call, const ProtobufCMessage *in_,
    ProtobufCMessage *out_, err *e)
{
	const Spreg__V1__UnfollowVendorRequest *in = (const void *) in_;
	Spreg__V1__UnfollowVendorResponse *out = (void *) out_;
	db_actor who = rpc_actor_of(call);
	Spreg__V1__Follow **list, *one;
	size_t n;
	spreg_status st;

	if ((st = rpc_check_id("subprocessor_id", in->subprocessor_id, e)) !=
	    SPREG_OK) {
		return st;
	}
	if (in->url[0] != '\0') {
		st = db_follow_get(call->txn, in->subprocessor_id, in->url,
		    call->arena, &one, e);
		if (st == SPREG_NOT_FOUND) {
			return err_set(e, SPREG_NOT_FOUND, "url: '%s' does not "
			    "follow %s", in->subprocessor_id,
			    validate_text(in->url, false) ? in->url : "that");
		}
		/* The reply outlives this frame: the array is the call's. */
		if (st == SPREG_OK &&
		    (list = arena_alloc(call->arena, sizeof(*list))) == NULL) {
			return err_oom(e, NULL);
		}
		if (st == SPREG_OK) {
			list[0] = one;
		}
		n = 1;
	} else {
		st = db_follow_list(call->txn, in->subprocessor_id,
		    call->arena, &list, &n, e);
		if (st == SPREG_OK && n == 0) {
			return err_set(e, SPREG_NOT_FOUND, "subprocessor_id: "
			    "'%s' follows nothing", in->subprocessor_id);
		}
	}
	if (st != SPREG_OK) {
		return st;
	}
	for (size_t i = 0; i < n; i++) {
		if ((st = db_follow_delete(call->txn, list[i]->subprocessor_id,
		         list[i]->url, e)) != SPREG_OK ||
		    (st = db_follow_log(call->txn, list[i], CHANGE_UNFOLLOWED,
		         &who, call->arena, NULL, e)) != SPREG_OK) {
			return st;
		}
	}
	out->follows = list;
	out->n_follows = n;
	return SPREG_OK;
}

static spreg_status
list_follows(rpc_call *call, const ProtobufCMessage *in_,
    ProtobufCMessage *out_, err *e)
{
	const Spreg__V1__ListFollowsRequest *in = (const void *) in_;
	Spreg__V1__ListFollowsResponse *out = (void *) out_;
	spreg_status st;

	if (in->subprocessor_id[0] != '\0' &&
	    (st = rpc_check_id("subprocessor_id", in->subprocessor_id, e)) !=
	        SPREG_OK) {
		return st;
	}
	return db_follow_list(call->txn, in->subprocessor_id[0] != '\0' ?
	    in->subprocessor_id : NULL, call->arena, &out->follows,
	    &out->n_follows, e);
}

static const rpc_method follows_methods[] = {
	{"FollowVendor", RPC_WRITE | RPC_EDITOR | RPC_FETCH, follow_vendor,
	    NULL},
	{"UnfollowVendor", RPC_WRITE | RPC_EDITOR, unfollow_vendor, NULL},
	{"ListFollows", RPC_READ, list_follows, NULL},
};

const rpc_service rpc_follows_service = {
	&spreg__v1__follows__descriptor,
	follows_methods,
	sizeof(follows_methods) / sizeof(follows_methods[0]),
};

/* ---- the poller's work ---------------------------------------------- */

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
		got = f->not_modified ? confirm_list(&x->call,
		    fl->subprocessor_id, fl->url, &who, &change, &why) :
		    apply_list(&x->call, fl->subprocessor_id, fl->url, f, &who,
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
