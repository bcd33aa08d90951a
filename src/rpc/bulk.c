/*
 * ImportSubprocessors: many vendors in one transaction, all or none,
 * each checked and written as PutSubprocessor would; or a dry run that
 * judges each in a nested transaction thrown away (db_nested_discard).
 */
#include <string.h>

#include "core/validate.h"
#include "db/record.h"
#include "rpc/handlers.h"
#include "spreg/status.h"

/* One item of an ImportSubprocessors request, written in call->txn. */
typedef struct import_one_arg {
	rpc_call *call;
	const Spreg__V1__ImportSubprocessorsRequest *in;
	size_t index;
	Spreg__V1__ImportResult *result;
} import_one_arg;

/* Checks and writes item index as PutSubprocessor would; the result
 * says what it did. */
static spreg_status
import_one(import_one_arg *a, err *e)
{
	rpc_call *call = a->call;
	db_actor who = rpc_actor_of(call);
	Spreg__V1__Change note, *change = NULL;
	spreg_status st;

	/* Validation normalises in place: a copy, as in PutSubprocessor. */
	Spreg__V1__Subprocessor *sp = arena_alloc(call->arena, sizeof(*sp));
	if (sp == NULL) {
		return err_oom(e, NULL);
	}
	*sp = *a->in->subprocessors[a->index];
	if ((st = validate_subprocessor(rpc_server_catalog(call->srv),
	         rpc_has_category, call, sp, e)) != SPREG_OK ||
	    (st = validate_dpf_map(sp, call->arena, e)) != SPREG_OK ||
	    (st = rpc_check_customer_selected(call, sp, e)) != SPREG_OK ||
	    (st = rpc_put_notice(call, sp, a->in->emergency, a->in->reason,
	         &note, e)) != SPREG_OK ||
	    (st = db_sp_put_noted(call->txn, sp, 0, false, &note, &who,
	         call->arena, &change, e)) != SPREG_OK) {
		return st;
	}
	a->result->outcome = change == NULL ?
	    SPREG__V1__IMPORT_OUTCOME__IMPORT_OUTCOME_UNCHANGED :
	    change->kind == SPREG__V1__CHANGE_KIND__CHANGE_KIND_CREATED ?
	    SPREG__V1__IMPORT_OUTCOME__IMPORT_OUTCOME_CREATED :
	    SPREG__V1__IMPORT_OUTCOME__IMPORT_OUTCOME_CHANGED;
	a->result->revision = sp->revision;
	a->result->change_seq = change != NULL ? change->seq : 0;
	return SPREG_OK;
}

/* The same, in a nested transaction that is then thrown away. A
 * failure to start one is the store's, not the item's: the whole
 * request fails (*fatal). */
static spreg_status
import_one_dry(import_one_arg *a, bool *fatal, err *e)
{
	db_txn *outer = a->call->txn;
	db_txn t;
	spreg_status st;

	*fatal = false;
	if ((st = db_nested_begin(outer, &t, NULL, e)) != SPREG_OK) {
		*fatal = true;
		return st;
	}
	a->call->txn = &t;
	st = db_nested_discard(&t, import_one(a, e), e);
	a->call->txn = outer;
	a->result->change_seq = 0;
	*fatal = db_txn_dead(outer);
	return st;
}

/* An id fit to quote in a message. */
static const char *
quotable_id(const char *id)
{
	return validate_slug(id) ? id : "?";
}

spreg_status
rpc_import_subprocessors(rpc_call *call, const ProtobufCMessage *in_,
    ProtobufCMessage *out_, err *e)
{
	const Spreg__V1__ImportSubprocessorsRequest *in = (const void *) in_;
	Spreg__V1__ImportSubprocessorsResponse *out = (void *) out_;
	size_t n = in->n_subprocessors;
	spreg_status st;

	if (n == 0) {
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "subprocessors: required (nothing to import)");
	}
	if (n > RPC_IMPORT_MAX) {
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "subprocessors: %zu entries, more than %d in one import",
		    n, RPC_IMPORT_MAX);
	}
	if (in->emergency &&
	    (st = validate_text_field("reason", in->reason, true, e)) !=
	    SPREG_OK) {
		return st;
	}
	/* Two items with one id: the second would silently undo the
	 * first. */
	for (size_t i = 1; i < n; i++) {
		for (size_t j = 0; j < i; j++) {
			if (strcmp(in->subprocessors[i]->id,
			        in->subprocessors[j]->id) == 0) {
				return err_set(e, SPREG_INVALID_ARGUMENT,
				    "subprocessors[%zu].id: '%s' is also "
				    "subprocessors[%zu]'s", i,
				    quotable_id(in->subprocessors[i]->id), j);
			}
		}
	}
	out->results = arena_alloc(call->arena, n * sizeof(*out->results));
	if (out->results == NULL) {
		return err_oom(e, NULL);
	}
	for (size_t i = 0; i < n; i++) {
		Spreg__V1__ImportResult *r = arena_alloc(call->arena,
		    sizeof(*r));
		if (r == NULL) {
			return err_oom(e, NULL);
		}
		spreg__v1__import_result__init(r);
		r->index = (uint32_t) i;
		r->id = validate_slug(in->subprocessors[i]->id) ?
		    in->subprocessors[i]->id : "";
		out->results[i] = r;
		out->n_results = i + 1;
		import_one_arg a = {call, in, i, r};
		bool fatal;
		err inner;
		if (!in->dry_run) {
			if ((st = import_one(&a, &inner)) != SPREG_OK) {
				out->n_results = 0;
				return err_set(e, st, "subprocessors[%zu] (%s): %s",
				    i, quotable_id(in->subprocessors[i]->id),
				    inner.msg);
			}
		} else if ((st = import_one_dry(&a, &fatal, &inner)) !=
		           SPREG_OK) {
			if (fatal) {
				return err_set(e, st, "%s", inner.msg);
			}
			r->outcome = SPREG__V1__IMPORT_OUTCOME__IMPORT_OUTCOME_REFUSED;
			r->revision = 0;
			r->status = (char *) spreg_status_name(st);
			if ((r->problem = arena_strdup(call->arena, inner.msg)) ==
			    NULL) {
				return err_oom(e, NULL);
			}
		}
		switch (r->outcome) {
		case SPREG__V1__IMPORT_OUTCOME__IMPORT_OUTCOME_CREATED:
			out->created++;
			break;
		case SPREG__V1__IMPORT_OUTCOME__IMPORT_OUTCOME_CHANGED:
			out->changed++;
			break;
		case SPREG__V1__IMPORT_OUTCOME__IMPORT_OUTCOME_UNCHANGED:
			out->unchanged++;
			break;
		default:
			out->refused++;
			break;
		}
	}
	return SPREG_OK;
}
