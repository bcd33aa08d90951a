/*
 * The Follows service (follow.proto), and the merge of a fetched list
 * into a vendor's fourth parties that the poller's work (followpoll.c)
 * uses too.
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

spreg_status
rpc_follow_apply(rpc_call *call, const char *vendor, const char *url,
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

spreg_status
rpc_follow_confirm(rpc_call *call, const char *vendor, const char *url,
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
	if ((st = rpc_follow_apply(call, in->subprocessor_id, in->url, f, &who,
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
