/* Handlers of service spreg.v1.Assessment. */
#include <stdio.h>
#include <string.h>

#include "assess/assess.h"
#include "core/date.h"
#include "core/validate.h"
#include "db/record.h"
#include "rpc/handlers.h"
#include "rpc/rpc.h"
#include "rpc/token.h"

#define HORIZON_MAX 3650

static spreg_status
rules_of(rpc_call *call, const assess_rules **r, err *e)
{
	if ((*r = rpc_server_rules(call->srv)) == NULL) {
		return err_set(e, SPREG_FAILED_PRECONDITION,
		    "rules: the server has no transfer rules loaded");
	}
	return SPREG_OK;
}

/* User categories are special when stored so (inherited at put). */
static bool
user_special(void *arg, const char *key)
{
	rpc_call *call = arg;
	Spreg__V1__DataCategory *c;
	err ignored;

	return db_category_get(call->txn, key, call->arena, &c, &ignored) ==
	    SPREG_OK && c->special_category;
}

/* The checked request, with defaults applied. */
typedef struct request {
	const char *regime;
	int32_t as_of;
	char as_of_text[DATE_BUF];
	uint32_t horizon;
	assess_supposition *suppose;
	size_t nsuppose;
	/* With a customer: only vendors serving it (rpc_serves). */
	bool by_customer;
	const Spreg__V1__Customer *customer;
	char *const *services;
	size_t nservices;
	size_t page_size;
} request;

/* The customer's regime and services, or the regime asked for. */
static spreg_status
check_scope(rpc_call *call, const assess_rules *r,
    const Spreg__V1__AssessTransfersRequest *in, request *rq, err *e)
{
	Spreg__V1__Customer *c;
	spreg_status st;

	rq->by_customer = false;
	rq->regime = in->regime[0] ? in->regime : "EU";
	if (in->customer[0] != '\0') {
		if (in->regime[0] != '\0') {
			return err_set(e, SPREG_INVALID_ARGUMENT,
			    "customer: give customer or regime, not both "
			    "(a customer's regime is its own)");
		}
		if (!validate_slug(in->customer)) {
			return err_set(e, SPREG_INVALID_ARGUMENT,
			    "customer: must match [a-z0-9][a-z0-9-]{0,63}");
		}
		if ((st = db_customer_get(call->txn, in->customer,
		         call->arena, &c, e)) != SPREG_OK) {
			return st;
		}
		rq->by_customer = true;
		rq->customer = c;
		rq->regime = c->regime;
		rq->services = c->services;
		rq->nservices = c->n_services;
	}
	if (assess_regime_find(r, rq->regime) == NULL) {
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "regime: '%.40s' is not EU, UK or CH", rq->regime);
	}
	return SPREG_OK;
}

static spreg_status
check_request(rpc_call *call, const assess_rules *r,
    const Spreg__V1__AssessTransfersRequest *in, request *rq, err *e)
{
	const catalog *cat = rpc_server_catalog(call->srv);
	spreg_status st;

	if ((st = check_scope(call, r, in, rq, e)) != SPREG_OK) {
		return st;
	}
	if (in->as_of[0] == '\0') {
		rq->as_of = date_from_ms(call->now_ms);
	} else if (!date_parse(in->as_of, &rq->as_of)) {
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "as_of: '%.40s' is not a YYYY-MM-DD date", in->as_of);
	}
	date_format(rq->as_of, rq->as_of_text);
	if (in->horizon_days > HORIZON_MAX) {
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "horizon_days: at most %d", HORIZON_MAX);
	}
	rq->horizon = in->horizon_days ? in->horizon_days :
	    ASSESS_HORIZON_DEFAULT;
	if ((st = validate_list_len("suppose_invalid", in->n_suppose_invalid,
	         e)) != SPREG_OK) {
		return st;
	}
	if (in->n_suppose_invalid > ASSESS_SUPPOSE_MAX) {
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "suppose_invalid: at most %d", ASSESS_SUPPOSE_MAX);
	}
	rq->nsuppose = in->n_suppose_invalid;
	rq->suppose = arena_alloc(call->arena,
	    (rq->nsuppose + 1) * sizeof(*rq->suppose));
	if (rq->suppose == NULL) {
		return err_oom(e, NULL);
	}
	for (size_t i = 0; i < rq->nsuppose; i++) {
		const Spreg__V1__Supposition *s = in->suppose_invalid[i];
		char field[48];
		snprintf(field, sizeof(field), "suppose_invalid[%zu].id", i);
		if ((st = assess_supposition_check(r, cat, s->id, field, e)) !=
		    SPREG_OK) {
			return st;
		}
		rq->suppose[i].id = s->id;
		rq->suppose[i].from = rq->as_of;
		if (s->from[0] != '\0' &&
		    !date_parse(s->from, &rq->suppose[i].from)) {
			return err_set(e, SPREG_INVALID_ARGUMENT,
			    "suppose_invalid[%zu].from: '%.40s' is not a "
			    "YYYY-MM-DD date", i, s->from);
		}
	}
	return SPREG_OK;
}

static spreg_status
check_filters(rpc_call *call, const Spreg__V1__AssessTransfersRequest *in,
    request *rq, err *e)
{
	if (in->subprocessor_id[0] && !validate_slug(in->subprocessor_id)) {
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "subprocessor_id: must match [a-z0-9][a-z0-9-]{0,63}");
	}
	spreg_status fst = rpc_check_filter(call, "", in->data_category,
	    in->country, in->mechanism, in->service, e);
	if (fst != SPREG_OK) {
		return fst;
	}
	return rpc_page_size(call, "page_size", in->page_size, &rq->page_size,
	    e);
}

/* Non-zero counts, in verdict order. */
static spreg_status
counts_out(arena *a, const uint64_t counts[ASSESS_NVERDICTS],
    Spreg__V1__VerdictCount ***out, size_t *n_out, err *e)
{
	Spreg__V1__VerdictCount **list = arena_alloc(a,
	    ASSESS_NVERDICTS * sizeof(*list));
	size_t n = 0;

	if (list == NULL) {
		return err_oom(e, NULL);
	}
	for (int v = 1; v < ASSESS_NVERDICTS; v++) {
		if (counts[v] == 0) {
			continue;
		}
		Spreg__V1__VerdictCount *c = arena_alloc(a, sizeof(*c));
		if (c == NULL) {
			return err_oom(e, NULL);
		}
		spreg__v1__verdict_count__init(c);
		c->verdict = (Spreg__V1__Verdict) v;
		c->count = counts[v];
		list[n++] = c;
	}
	*out = list;
	*n_out = n;
	return SPREG_OK;
}

/* Rows of one vendor appended to out, its summary added. */
typedef struct page {
	Spreg__V1__AssessTransfersResponse *out;
	size_t cap_rows;
	uint64_t totals[ASSESS_NVERDICTS];
} page;

/* The vendor's fourth parties, one entry per country: onward transfers,
 * flagged (leaving the regime's area or not), never judged. */
static spreg_status
onward_of(rpc_call *call, const assess_rules *r, const assess_query *q,
    const Spreg__V1__Subprocessor *sp, Spreg__V1__VendorSummary *vs,
    err *e)
{
	const assess_regime *g = assess_regime_find(r, q->regime);
	size_t n = 0;

	for (size_t i = 0; i < sp->n_fourth_parties; i++) {
		n += sp->fourth_parties[i]->n_countries;
	}
	if (n == 0 || g == NULL) {
		return SPREG_OK;
	}
	vs->onward = arena_alloc(call->arena, n * sizeof(*vs->onward));
	if (vs->onward == NULL) {
		return err_oom(e, NULL);
	}
	for (size_t i = 0; i < sp->n_fourth_parties; i++) {
		const Spreg__V1__FourthParty *fp = sp->fourth_parties[i];
		for (size_t k = 0; k < fp->n_countries; k++) {
			Spreg__V1__OnwardTransfer *o = arena_alloc(call->arena,
			    sizeof(*o));
			if (o == NULL) {
				return err_oom(e, NULL);
			}
			spreg__v1__onward_transfer__init(o);
			o->fourth_party_id = fp->id;
			o->name = fp->name;
			o->country = fp->countries[k];
			o->purpose = fp->purpose;
			o->source = fp->source;
			o->confirmed_on = fp->confirmed_on;
			o->leaves_regime = !assess_regime_home(g,
			    fp->countries[k]);
			vs->onward[vs->n_onward++] = o;
		}
	}
	return SPREG_OK;
}

static spreg_status
add_vendor(rpc_call *call, const assess_rules *r, const assess_query *q,
    const Spreg__V1__Subprocessor *sp, page *pg, err *e)
{
	Spreg__V1__AssessTransfersResponse *out = pg->out;
	Spreg__V1__TransferAssessment **rows;
	uint64_t counts[ASSESS_NVERDICTS] = {0};
	bool upcoming;
	size_t n;
	spreg_status st;

	/* A proposal transfers nothing, on any day. */
	if (sp->status == SP_STATUS_PROPOSED &&
	    ((st = db_sp_upcoming(call->txn, sp, &upcoming, e)) != SPREG_OK ||
	        !upcoming)) {
		return st;
	}
	if ((st = assess_subprocessor(r, rpc_server_catalog(call->srv), sp,
	         q, call->arena, &rows, &n, e)) != SPREG_OK) {
		return st;
	}
	if (out->n_assessments + n > pg->cap_rows) {
		/* The arena cannot grow in place: copy to a doubled list. */
		size_t cap = pg->cap_rows ? pg->cap_rows * 2 : 64;
		while (cap < out->n_assessments + n) {
			cap *= 2;
		}
		Spreg__V1__TransferAssessment **list = arena_alloc(call->arena,
		    cap * sizeof(*list));
		if (list == NULL) {
			return err_oom(e, NULL);
		}
		if (out->n_assessments > 0) {
			memcpy(list, out->assessments, out->n_assessments *
			    sizeof(*list));
		}
		out->assessments = list;
		pg->cap_rows = cap;
	}
	for (size_t i = 0; i < n; i++) {
		out->assessments[out->n_assessments++] = rows[i];
		counts[rows[i]->verdict % ASSESS_NVERDICTS]++;
		pg->totals[rows[i]->verdict % ASSESS_NVERDICTS]++;
	}
	Spreg__V1__VendorSummary *vs = arena_alloc(call->arena, sizeof(*vs));
	if (vs == NULL) {
		return err_oom(e, NULL);
	}
	spreg__v1__vendor_summary__init(vs);
	vs->subprocessor_id = sp->id;
	if ((st = counts_out(call->arena, counts, &vs->counts,
	         &vs->n_counts, e)) != SPREG_OK ||
	    (st = onward_of(call, r, q, sp, vs, e)) != SPREG_OK) {
		return st;
	}
	out->vendors[out->n_vendors++] = vs;
	return SPREG_OK;
}

/* Without a customer every vendor is in scope. */
static bool
serves_customer(const Spreg__V1__Subprocessor *sp, const request *rq)
{
	return !rq->by_customer || rpc_serves(sp, rq->customer);
}

static spreg_status
assess_transfers(rpc_call *call, const ProtobufCMessage *in_,
    ProtobufCMessage *out_, err *e)
{
	const Spreg__V1__AssessTransfersRequest *in = (const void *) in_;
	Spreg__V1__AssessTransfersResponse *out = (void *) out_;
	const assess_rules *r;
	Spreg__V1__Subprocessor **sps;
	size_t nsps;
	bool more = false;
	request rq;
	page pg;
	spreg_status st;

	if ((st = rules_of(call, &r, e)) != SPREG_OK ||
	    (st = check_request(call, r, in, &rq, e)) != SPREG_OK ||
	    (st = check_filters(call, in, &rq, e)) != SPREG_OK) {
		return st;
	}
	assess_query q = {rq.regime, rq.as_of, rq.horizon, rq.suppose,
	    rq.nsuppose, user_special, call};

	/* Outlives the branch: sps may point at it. */
	Spreg__V1__Subprocessor *one;
	if (in->subprocessor_id[0] != '\0') {
		if ((st = db_sp_get(call->txn, in->subprocessor_id, 0,
		         call->arena, &one, e)) != SPREG_OK) {
			return st;
		}
		/* Another customer's own choice: the same answer as no
		 * such vendor (one of our list is public: no rows). */
		if (rq.by_customer && one->customer[0] != '\0' &&
		    !serves_customer(one, &rq)) {
			return err_set(e, SPREG_NOT_FOUND,
			    "id: no subprocessor '%s'",
			    in->subprocessor_id);
		}
		sps = &one;
		nsps = serves_customer(one, &rq) ? 1 : 0;
	} else if (rq.by_customer && rq.nservices == 0) {
		sps = NULL;	/* no services, no vendors */
		nsps = 0;
	} else {
		/* The token is bound to the query: the same filters, day,
		 * regime and suppositions page on. */
		char query[2048];
		int len = snprintf(query, sizeof(query),
		    "assess\n%s\n%s\n%u\n%s\n%s\n%s\n%s\n%s", rq.regime,
		    rq.as_of_text, (unsigned) rq.horizon, in->data_category,
		    in->country, in->mechanism, in->service, in->customer);
		for (size_t i = 0; i < rq.nsuppose && len > 0 &&
		    (size_t) len < sizeof(query); i++) {
			char d[DATE_BUF];
			date_format(rq.suppose[i].from, d);
			len += snprintf(query + len, sizeof(query) - (size_t) len,
			    "\n%.80s@%s", rq.suppose[i].id, d);
		}
		const char *after_id;
		if ((st = rpc_token_open(rpc_server_secret(call->srv), query,
		         in->page_token, call->arena, &after_id, e)) !=
		    SPREG_OK) {
			return st;
		}
		db_sp_filter f = {.category = in->data_category,
		    .country = in->country, .mechanism = in->mechanism,
		    .service = in->service, .status = SP_STATUS_UNSPECIFIED};
		if (rq.by_customer) {
			f.any_service = rq.services;
			f.nany = rq.nservices;
			f.for_customer = rq.customer->id;
		}
		if ((st = db_sp_list(call->txn, &f, after_id, rq.page_size,
		         call->arena, &sps, &nsps, &more, e)) != SPREG_OK) {
			return st;
		}
		if (more && nsps > 0) {
			out->next_page_token = rpc_token_make(
			    rpc_server_secret(call->srv), query,
			    sps[nsps - 1]->id, call->arena);
			if (out->next_page_token == NULL) {
				return err_oom(e, NULL);
			}
		}
	}

	memset(&pg, 0, sizeof(pg));
	pg.out = out;
	out->vendors = arena_alloc(call->arena, (nsps + 1) *
	    sizeof(*out->vendors));
	if (out->vendors == NULL) {
		return err_oom(e, NULL);
	}
	for (size_t i = 0; i < nsps; i++) {
		if ((st = add_vendor(call, r, &q, sps[i], &pg, e)) !=
		    SPREG_OK) {
			return st;
		}
	}
	if ((st = counts_out(call->arena, pg.totals, &out->totals,
	         &out->n_totals, e)) != SPREG_OK) {
		return st;
	}
	if ((out->as_of = arena_strdup(call->arena, rq.as_of_text)) == NULL) {
		return err_oom(e, NULL);
	}
	out->regime = (char *) rq.regime;
	out->rules_version = (char *) assess_rules_version(r);
	return SPREG_OK;
}

static char *
day_or_empty(arena *a, int32_t day)
{
	char buf[DATE_BUF];

	if (day == CATALOG_DAY_NONE) {
		return (char *) "";
	}
	date_format(day, buf);
	return arena_strdup(a, buf);
}

static spreg_status
get_rules(rpc_call *call, const ProtobufCMessage *in_,
    ProtobufCMessage *out_, err *e)
{
	const Spreg__V1__GetRulesRequest *in = (const void *) in_;
	Spreg__V1__GetRulesResponse *out = (void *) out_;
	const catalog *cat = rpc_server_catalog(call->srv);
	const assess_rules *r;
	spreg_status st;

	if ((st = rules_of(call, &r, e)) != SPREG_OK) {
		return st;
	}
	if (in->regime[0] && assess_regime_find(r, in->regime) == NULL) {
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "regime: '%.40s' is not EU, UK or CH", in->regime);
	}
	size_t cap = assess_regime_count(r) + assess_finding_count(r) +
	    assess_lineage_count(r) + catalog_mechanism_count(cat) + 1;
	out->rules = arena_alloc(call->arena, cap * sizeof(*out->rules));
	if (out->rules == NULL) {
		return err_oom(e, NULL);
	}
	/* Each regime's own area first, then findings, then mechanisms. */
	for (size_t i = 0; i < assess_regime_count(r); i++) {
		const assess_regime *g = assess_regime_at(r, i);
		char id[32];
		if (in->regime[0] && strcmp(in->regime, g->id) != 0) {
			continue;
		}
		Spreg__V1__Rule *ru = arena_alloc(call->arena, sizeof(*ru));
		snprintf(id, sizeof(id), "regime:%s", g->id);
		if (ru == NULL) {
			return err_oom(e, NULL);
		}
		spreg__v1__rule__init(ru);
		if ((ru->id = arena_strdup(call->arena, id)) == NULL) {
			return err_oom(e, NULL);
		}
		ru->regime = (char *) g->id;
		ru->kind = (char *) "regime";
		ru->subject = (char *) g->home;
		ru->reference = (char *) g->name;
		ru->source = (char *) g->source;
		out->rules[out->n_rules++] = ru;
	}
	/* Periods in which a regime applied another's rules. */
	for (size_t i = 0; i < assess_lineage_count(r); i++) {
		const assess_lineage *ln = assess_lineage_at(r, i);
		char id[64], until[DATE_BUF];
		if (in->regime[0] && strcmp(in->regime, ln->regime) != 0) {
			continue;
		}
		Spreg__V1__Rule *ru = arena_alloc(call->arena, sizeof(*ru));
		if (ru == NULL) {
			return err_oom(e, NULL);
		}
		spreg__v1__rule__init(ru);
		date_format(ln->valid_until, until);
		snprintf(id, sizeof(id), "lineage:%s@%s", ln->regime, until);
		if ((ru->id = arena_strdup(call->arena, id)) == NULL ||
		    (ru->valid_from = day_or_empty(call->arena,
		         ln->valid_from)) == NULL ||
		    (ru->valid_until = day_or_empty(call->arena,
		         ln->valid_until)) == NULL) {
			return err_oom(e, NULL);
		}
		ru->regime = (char *) ln->regime;
		ru->kind = (char *) "lineage";
		ru->subject = (char *) ln->follows;
		ru->condition = (char *) ln->note;
		ru->reference = (char *) ln->reference;
		ru->source = (char *) ln->source;
		out->rules[out->n_rules++] = ru;
	}
	for (size_t i = 0; i < assess_finding_count(r); i++) {
		const assess_finding *f = assess_finding_at(r, i);
		if (in->regime[0] && strcmp(in->regime, f->regime) != 0) {
			continue;
		}
		Spreg__V1__Rule *ru = arena_alloc(call->arena, sizeof(*ru));
		if (ru == NULL) {
			return err_oom(e, NULL);
		}
		spreg__v1__rule__init(ru);
		ru->id = (char *) f->id;
		ru->regime = (char *) f->regime;
		ru->kind = (char *) f->status;
		ru->subject = (char *) f->country;
		if ((ru->valid_from = day_or_empty(call->arena,
		         f->valid_from)) == NULL ||
		    (ru->valid_until = day_or_empty(call->arena,
		         f->valid_until)) == NULL) {
			return err_oom(e, NULL);
		}
		ru->condition = (char *) f->condition;
		ru->reference = (char *) f->decision_ref;
		ru->source = (char *) f->source;
		out->rules[out->n_rules++] = ru;
	}
	for (size_t i = 0; i < catalog_mechanism_count(cat); i++) {
		const catalog_mechanism *m = catalog_mechanism_at(cat, i);
		char id[96], cond[96];
		if (in->regime[0] && strcmp(in->regime, m->regime) != 0) {
			continue;
		}
		Spreg__V1__Rule *ru = arena_alloc(call->arena, sizeof(*ru));
		if (ru == NULL) {
			return err_oom(e, NULL);
		}
		spreg__v1__rule__init(ru);
		snprintf(id, sizeof(id), "mechanism:%s", m->id);
		cond[0] = '\0';
		if (m->sign_until != CATALOG_DAY_NONE) {
			char d[DATE_BUF];
			date_format(m->sign_until, d);
			snprintf(cond, sizeof(cond), "signed before %s%s", d,
			    m->needs_tia ? "; TIA required" : "");
		} else if (m->needs_tia) {
			snprintf(cond, sizeof(cond), "TIA required");
		}
		if ((ru->id = arena_strdup(call->arena, id)) == NULL ||
		    (ru->condition = arena_strdup(call->arena, cond)) ==
		        NULL ||
		    (ru->valid_from = day_or_empty(call->arena,
		         m->valid_from)) == NULL ||
		    (ru->valid_until = day_or_empty(call->arena,
		         m->valid_until)) == NULL) {
			return err_oom(e, NULL);
		}
		ru->regime = (char *) m->regime;
		ru->kind = (char *) catalog_mechanism_kind_name(m->kind);
		ru->subject = (char *) m->id;
		ru->reference = (char *) m->legal_basis;
		ru->source = (char *) m->source;
		out->rules[out->n_rules++] = ru;
	}
	out->version = (char *) assess_rules_version(r);
	out->checksum = (char *) assess_rules_checksum(r);
	return SPREG_OK;
}

/* Indexed like spreg__v1__assessment__descriptor.methods. */
static const rpc_method assessment_methods[] = {
	{"AssessTransfers", RPC_READ | RPC_CUSTOMER, assess_transfers,
	    "customer"},
	{"GetRules", RPC_READ | RPC_CUSTOMER, get_rules, NULL},
};

const rpc_service rpc_assessment_service = {
	&spreg__v1__assessment__descriptor,
	assessment_methods,
	sizeof(assessment_methods) / sizeof(assessment_methods[0]),
};
