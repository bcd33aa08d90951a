/*
 * Handlers of service spreg.v1.Export: transfer records and the public
 * subprocessor list, a page of vendors per call (see export.proto for the
 * cursor and consistency rules).
 *
 * Memory per call is bounded by the page (page_size vendors and their
 * rows, in the call's arena), never by the registry: the export is as
 * large as the client makes it by paging.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assess/assess.h"
#include "core/date.h"
#include "core/validate.h"
#include "core/vocab.h"
#include "db/record.h"
#include "rpc/handlers.h"
#include "rpc/rpc.h"
#include "rpc/token.h"
#include "spreg/v1/export.pb-c.h"
#include "spreg_config.h"

#define QUERY_MAX 1024

/* What every page of one export shares: its scope and its state. */
typedef struct scope {
	const char *regime;	/* transfers only */
	bool by_customer;
	const char *customer_id;	/* by_customer: its id */
	char *const *services;
	size_t nservices;
	db_as_of at;
	char as_of_text[TIME_BUF];
	uint64_t at_seq;
	ProtobufCBinaryData head_hash;	/* of the entry at at_seq */
	const char *after_id;
	char query[QUERY_MAX];
} scope;

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

/* "YYYY-MM-DD" is a day, an RFC 3339 timestamp a moment; "" is today. */
static spreg_status
resolve_as_of(rpc_call *call, const char *s, scope *sc, err *e)
{
	memset(&sc->at, 0, sizeof(sc->at));
	if (s[0] == '\0') {
		sc->at.day = date_from_ms(call->now_ms);
		date_format(sc->at.day, sc->as_of_text);
		return SPREG_OK;
	}
	if (date_parse(s, &sc->at.day)) {
		date_format(sc->at.day, sc->as_of_text);
		return SPREG_OK;
	}
	if (time_parse(s, &sc->at.ms)) {
		sc->at.moment = true;
		sc->at.day = date_from_ms(sc->at.ms);
		time_format(sc->at.ms, sc->as_of_text);
		return SPREG_OK;
	}
	return err_set(e, SPREG_INVALID_ARGUMENT,
	    "as_of: '%s' is neither a YYYY-MM-DD date nor an RFC 3339 "
	    "timestamp", validate_text(s, false) && strlen(s) < 40 ? s : "?");
}

static spreg_status
check_filter(rpc_call *call, const Spreg__V1__ExportFilter *f, err *e)
{
	if (f == NULL) {
		return SPREG_OK;
	}
	return rpc_check_filter(call, "filter.", f->data_category, f->country,
	    f->mechanism, f->service, e);
}

/* A customer's services (and regime), or the regime asked for. */
static spreg_status
check_scope(rpc_call *call, const char *regime, const char *customer,
    scope *sc, err *e)
{
	Spreg__V1__Customer *c;
	spreg_status st;

	sc->regime = regime[0] ? regime : "EU";
	if (customer[0] != '\0') {
		if (regime[0] != '\0') {
			return err_set(e, SPREG_INVALID_ARGUMENT,
			    "customer: give customer or regime, not both "
			    "(a customer's regime is its own)");
		}
		if (!validate_slug(customer)) {
			return err_set(e, SPREG_INVALID_ARGUMENT,
			    "customer: must match [a-z0-9][a-z0-9-]{0,63}");
		}
		if ((st = db_customer_get(call->txn, customer, call->arena, &c,
		         e)) != SPREG_OK) {
			return st;
		}
		sc->by_customer = true;
		sc->customer_id = c->id;
		sc->regime = c->regime;
		sc->services = c->services;
		sc->nservices = c->n_services;
	}
	if (!catalog_regime_valid(sc->regime)) {
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "regime: '%.40s' is not EU, UK or CH", sc->regime);
	}
	return SPREG_OK;
}

/*
 * Opens the cursor (or starts at the current seq), reads the log's head
 * hash at that seq and fixes the day. The cursor's payload is "SEQ AS_OF
 * LAST_ID", authenticated with the query.
 */
static spreg_status
open_cursor(rpc_call *call, const char *cursor, const char *as_of,
    uint64_t want_seq, scope *sc, err *e)
{
	uint64_t last;
	const char *payload;
	spreg_status st;

	/* An export is only ever at the current seq: its head is the log's. */
	if ((st = db_change_last_seq(call->txn, &last, e)) != SPREG_OK ||
	    (st = db_change_hash(call->txn, last, call->arena, &sc->head_hash,
	         e)) != SPREG_OK) {
		return st;
	}
	if (cursor[0] == '\0') {
		if (want_seq != 0 && want_seq != last) {
			return err_set(e, SPREG_FAILED_PRECONDITION,
			    "at_seq: the registry is at seq %" PRIu64 ", not %"
			    PRIu64, last, want_seq);
		}
		sc->at_seq = last;
		sc->after_id = "";
		return resolve_as_of(call, as_of, sc, e);
	}
	if (rpc_token_open(rpc_server_secret(call->srv), sc->query, cursor,
	        call->arena, &payload, e) != SPREG_OK) {
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "cursor: not issued by this server for this query");
	}
	char *end;
	sc->at_seq = strtoull(payload, &end, 10);
	char *day = end[0] == ' ' ? end + 1 : NULL;
	char *sp = day != NULL ? strchr(day, ' ') : NULL;
	if (sp == NULL || (size_t) (sp - day) >= sizeof(sc->as_of_text)) {
		/* Authenticated, so ours: only an older format gets here. */
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "cursor: not issued by this server for this query");
	}
	*sp = '\0';
	sc->after_id = sp + 1;
	if (sc->at_seq != last) {
		return err_set(e, SPREG_FAILED_PRECONDITION,
		    "cursor: expired: the registry changed since seq %" PRIu64
		    " (now %" PRIu64 "); start the export again", sc->at_seq,
		    last);
	}
	return resolve_as_of(call, day, sc, e);
}

static spreg_status
next_cursor(rpc_call *call, const scope *sc, const char *last_id,
    char **out, err *e)
{
	char payload[256];

	snprintf(payload, sizeof(payload), "%" PRIu64 " %s %s", sc->at_seq,
	    sc->as_of_text, last_id);
	*out = rpc_token_make(rpc_server_secret(call->srv), sc->query,
	    payload, call->arena);
	return *out != NULL ? SPREG_OK : err_oom(e, NULL);
}

static spreg_status
metadata(rpc_call *call, const scope *sc, const char *customer,
    Spreg__V1__ExportMetadata **out, err *e)
{
	Spreg__V1__ExportMetadata *m = arena_alloc(call->arena, sizeof(*m));
	char *now = arena_alloc(call->arena, TIME_BUF);
	const assess_rules *r = rpc_server_rules(call->srv);

	if (m == NULL || now == NULL) {
		return err_oom(e, NULL);
	}
	spreg__v1__export_metadata__init(m);
	time_format(call->now_ms, now);
	if ((m->as_of = arena_strdup(call->arena, sc->as_of_text)) == NULL) {
		return err_oom(e, NULL);
	}
	m->at_seq = sc->at_seq;
	m->head_hash = sc->head_hash;
	m->regime = (char *) (sc->regime != NULL ? sc->regime : "");
	m->customer = (char *) customer;
	if (r != NULL) {
		m->rules_version = (char *) assess_rules_version(r);
		m->rules_checksum = (char *) assess_rules_checksum(r);
	}
	m->generated_at = now;
	m->server_version = (char *) SPREG_VERSION;
	if (sc->at_seq > 0) {
		Spreg__V1__Change **changes;
		size_t n;
		uint64_t next;
		spreg_status st = db_change_list(call->txn, sc->at_seq - 1, 1,
		    NULL, 1, call->arena, &changes, &n, &next, e);
		if (st != SPREG_OK) {
			return st;
		}
		if (n == 1) {
			m->changed_at = changes[0]->time;
		}
	}
	*out = m;
	return SPREG_OK;
}

/* The page of vendors after sc->after_id, as of sc->at. */
static spreg_status
list_page(rpc_call *call, const Spreg__V1__ExportFilter *ef,
    uint32_t page_size, const scope *sc, Spreg__V1__Subprocessor ***sps,
    size_t *nsps, bool *more, err *e)
{
	db_sp_filter f = {.status = SP_STATUS_UNSPECIFIED};
	size_t limit;
	spreg_status st;

	if ((st = rpc_page_size(call, "page_size", page_size, &limit, e)) !=
	    SPREG_OK) {
		return st;
	}
	if (ef != NULL) {
		f.category = ef->data_category;
		f.country = ef->country;
		f.mechanism = ef->mechanism;
		f.service = ef->service;
	}
	if (sc->by_customer) {
		if (sc->nservices == 0) {
			*sps = NULL;	/* no services, no vendors */
			*nsps = 0;
			*more = false;
			return SPREG_OK;
		}
		f.any_service = sc->services;
		f.nany = sc->nservices;
		f.for_customer = sc->customer_id;
	}
	return db_sp_list_as_of(call->txn, &f, &sc->at, sc->after_id, limit,
	    call->arena, sps, nsps, more, e);
}

static const char *empty_filter[4] = {"", "", "", ""};

static void
make_query(scope *sc, const char *kind, const Spreg__V1__ExportFilter *f,
    const char *regime, const char *customer, const char *as_of)
{
	snprintf(sc->query, sizeof(sc->query),
	    "%s\n%s\n%s\n%s\n%s\n%s\n%s\n%s", kind,
	    f ? f->data_category : empty_filter[0],
	    f ? f->country : empty_filter[1],
	    f ? f->mechanism : empty_filter[2],
	    f ? f->service : empty_filter[3], regime, customer, as_of);
}

/* ---- transfers ---- */

static int
row_cmp(const void *a_, const void *b_)
{
	const Spreg__V1__TransferAssessment *a =
	    *(const Spreg__V1__TransferAssessment *const *) a_;
	const Spreg__V1__TransferAssessment *b =
	    *(const Spreg__V1__TransferAssessment *const *) b_;
	int c = strcmp(a->country, b->country);

	return c != 0 ? c : strcmp(a->data_category, b->data_category);
}

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

static const char *
category_name(rpc_call *call, const char *key)
{
	const catalog_category *cc =
	    catalog_category_find(rpc_server_catalog(call->srv), key);
	Spreg__V1__DataCategory *c;
	err ignored;

	if (cc != NULL) {
		return cc->name;
	}
	if (db_category_get(call->txn, key, call->arena, &c, &ignored) ==
	    SPREG_OK) {
		return c->name;
	}
	return "";
}

static const char *
country_name(const catalog *cat, const char *code)
{
	const catalog_country *c = catalog_country_find(cat, code);
	return c != NULL ? c->name : "";
}

/* The first safeguard recorded under mechanism, or NULL. */
static const Spreg__V1__Safeguard *
safeguard_of(const Spreg__V1__Subprocessor *sp, const char *mechanism)
{
	for (size_t i = 0; mechanism[0] != '\0' && i < sp->n_safeguards; i++) {
		if (strcmp(sp->safeguards[i]->mechanism, mechanism) == 0) {
			return sp->safeguards[i];
		}
	}
	return NULL;
}

/* A sorted copy of the vendor's services, shared by its rows. */
static char **
sorted_services(arena *a, const Spreg__V1__Subprocessor *sp)
{
	char **list = arena_alloc(a, (sp->n_services + 1) * sizeof(*list));

	if (list != NULL && sp->n_services > 0) {
		memcpy(list, sp->services, sp->n_services * sizeof(*list));
		qsort(list, sp->n_services, sizeof(*list), str_cmp);
	}
	return list;
}

static spreg_status
add_transfers(rpc_call *call, const assess_rules *r, const assess_query *q,
    const scope *sc, const Spreg__V1__Subprocessor *sp,
    Spreg__V1__ExportTransfersResponse *out, size_t *cap, err *e)
{
	const catalog *cat = rpc_server_catalog(call->srv);
	Spreg__V1__TransferAssessment **rows;
	size_t n;
	spreg_status st;

	if ((st = assess_subprocessor(r, cat, sp, q, call->arena, &rows, &n,
	         e)) != SPREG_OK) {
		return st;
	}
	if (n == 0) {
		return SPREG_OK;
	}
	qsort(rows, n, sizeof(*rows), row_cmp);
	if (out->n_records + n > *cap) {
		size_t grown = *cap ? *cap * 2 : 256;
		while (grown < out->n_records + n) {
			grown *= 2;
		}
		Spreg__V1__TransferRecord **list = arena_alloc(call->arena,
		    grown * sizeof(*list));
		if (list == NULL) {
			return err_oom(e, NULL);
		}
		if (out->n_records > 0) {
			memcpy(list, out->records, out->n_records * sizeof(*list));
		}
		out->records = list;
		*cap = grown;
	}
	char **services = sorted_services(call->arena, sp);
	Spreg__V1__TransferRecord *recs = arena_alloc(call->arena,
	    n * sizeof(*recs));
	if (services == NULL || recs == NULL) {
		return err_oom(e, NULL);
	}
	for (size_t i = 0; i < n; i++) {
		const Spreg__V1__TransferAssessment *a = rows[i];
		Spreg__V1__TransferRecord *t = &recs[i];
		const catalog_mechanism *m = a->mechanism[0] ?
		    catalog_mechanism_find(cat, a->mechanism) : NULL;
		const Spreg__V1__Safeguard *sg = safeguard_of(sp, a->mechanism);

		spreg__v1__transfer_record__init(t);
		t->subprocessor_id = sp->id;
		t->subprocessor_name = sp->name;
		t->legal_entity = sp->legal_entity;
		t->purpose = sp->purpose;
		t->services = services;
		t->n_services = sp->n_services;
		t->country = a->country;
		t->country_name = (char *) country_name(cat, a->country);
		t->location_role = a->location_roles;
		t->data_category = a->data_category;
		t->data_category_name = (char *) category_name(call,
		    a->data_category);
		t->special_category = a->special_category;
		t->regime = (char *) sc->regime;
		t->mechanism = a->mechanism;
		t->mechanism_name = (char *) (m != NULL ? m->name : "");
		if (sg != NULL) {
			t->signed_on = sg->signed_on;
			t->expires_on = sg->expires_on;
			t->document_ref = sg->document_ref;
			t->tia_ref = sg->tia_ref;
		}
		t->verdict = a->verdict;
		t->reason = a->reason;
		t->as_of = (char *) sc->as_of_text;
		out->records[out->n_records++] = t;
	}
	return SPREG_OK;
}

static spreg_status
export_transfers(rpc_call *call, const ProtobufCMessage *in_,
    ProtobufCMessage *out_, err *e)
{
	const Spreg__V1__ExportTransfersRequest *in = (const void *) in_;
	Spreg__V1__ExportTransfersResponse *out = (void *) out_;
	const assess_rules *r = rpc_server_rules(call->srv);
	Spreg__V1__Subprocessor **sps;
	size_t nsps, cap = 0;
	bool more;
	spreg_status st;

	scope *sc = arena_alloc(call->arena, sizeof(*sc));
	if (sc == NULL) {
		return err_oom(e, NULL);
	}
	memset(sc, 0, sizeof(*sc));
	if (r == NULL) {
		return err_set(e, SPREG_FAILED_PRECONDITION,
		    "rules: the server has no transfer rules loaded");
	}
	make_query(sc, "export-transfers", in->filter, in->regime,
	    in->customer, in->as_of);
	if ((st = check_scope(call, in->regime, in->customer, sc, e)) !=
	    SPREG_OK) {
		return st;
	}
	if (assess_regime_find(r, sc->regime) == NULL) {
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "regime: '%.40s' has no rules loaded", sc->regime);
	}
	if ((st = check_filter(call, in->filter, e)) != SPREG_OK ||
	    (st = open_cursor(call, in->cursor, in->as_of, in->at_seq, sc,
	         e)) != SPREG_OK ||
	    (st = list_page(call, in->filter, in->page_size, sc, &sps, &nsps,
	         &more, e)) != SPREG_OK) {
		return st;
	}
	assess_query q = {sc->regime, sc->at.day, ASSESS_HORIZON_DEFAULT, NULL,
	    0, user_special, call};
	for (size_t i = 0; i < nsps; i++) {
		if ((st = add_transfers(call, r, &q, sc, sps[i], out, &cap,
		         e)) != SPREG_OK) {
			return st;
		}
	}
	if (more && nsps > 0 &&
	    (st = next_cursor(call, sc, sps[nsps - 1]->id, &out->next_cursor,
	         e)) != SPREG_OK) {
		return st;
	}
	return metadata(call, sc, in->customer, &out->metadata, e);
}

/* ---- the public list ---- */

/* Appends s to list (of n) unless present. */
static void
add_unique(char **list, size_t *n, char *s)
{
	for (size_t i = 0; i < *n; i++) {
		if (strcmp(list[i], s) == 0) {
			return;
		}
	}
	list[(*n)++] = s;
}

static spreg_status
public_of(rpc_call *call, const scope *sc, Spreg__V1__Subprocessor *sp,
    Spreg__V1__PublicSubprocessor **out, err *e)
{
	const catalog *cat = rpc_server_catalog(call->srv);
	Spreg__V1__PublicSubprocessor *p = arena_alloc(call->arena, sizeof(*p));
	size_t ncats = sp->n_data_categories;

	for (size_t i = 0; i < sp->n_locations; i++) {
		ncats += sp->locations[i]->n_data_categories;
	}
	if (p == NULL) {
		return err_oom(e, NULL);
	}
	spreg__v1__public_subprocessor__init(p);
	p->subprocessor_id = sp->id;
	p->name = sp->name;
	p->legal_entity = sp->legal_entity;
	p->purpose = sp->purpose;
	p->website = sp->website;
	p->dpf_certified_on = sp->dpf_certified_on;
	p->kind = (char *) vocab_kind_of(sp->kind);
	p->data_uses = sp->data_uses;
	p->n_data_uses = sp->n_data_uses;
	p->fourth_parties = arena_alloc(call->arena,
	    (sp->n_fourth_parties + 1) * sizeof(char *));
	if (p->fourth_parties == NULL) {
		return err_oom(e, NULL);
	}
	for (size_t i = 0; i < sp->n_fourth_parties; i++) {
		p->fourth_parties[p->n_fourth_parties++] =
		    sp->fourth_parties[i]->id;
	}
	p->as_of = (char *) sc->as_of_text;
	p->services = sp->services;
	p->n_services = sp->n_services;
	p->countries = arena_alloc(call->arena,
	    (sp->n_locations + 1) * sizeof(char *));
	p->country_names = arena_alloc(call->arena,
	    (sp->n_locations + 1) * sizeof(char *));
	p->data_categories = arena_alloc(call->arena, (ncats + 1) *
	    sizeof(char *));
	p->data_category_names = arena_alloc(call->arena, (ncats + 1) *
	    sizeof(char *));
	p->mechanisms = arena_alloc(call->arena, (sp->n_safeguards + 1) *
	    sizeof(char *));
	p->safeguards = arena_alloc(call->arena, (sp->n_safeguards + 1) *
	    sizeof(char *));
	if (p->countries == NULL || p->country_names == NULL ||
	    p->data_categories == NULL || p->data_category_names == NULL ||
	    p->mechanisms == NULL || p->safeguards == NULL) {
		return err_oom(e, NULL);
	}
	for (size_t i = 0; i < sp->n_locations; i++) {
		add_unique(p->countries, &p->n_countries,
		    sp->locations[i]->country);
	}
	qsort(p->countries, p->n_countries, sizeof(char *), str_cmp);
	for (size_t i = 0; i < p->n_countries; i++) {
		p->country_names[i] = (char *) country_name(cat,
		    p->countries[i]);
	}
	p->n_country_names = p->n_countries;
	for (size_t i = 0; i < sp->n_data_categories; i++) {
		add_unique(p->data_categories, &p->n_data_categories,
		    sp->data_categories[i]);
	}
	for (size_t i = 0; i < sp->n_locations; i++) {
		const Spreg__V1__Location *l = sp->locations[i];
		for (size_t j = 0; j < l->n_data_categories; j++) {
			add_unique(p->data_categories, &p->n_data_categories,
			    l->data_categories[j]);
		}
	}
	qsort(p->data_categories, p->n_data_categories, sizeof(char *),
	    str_cmp);
	for (size_t i = 0; i < p->n_data_categories; i++) {
		p->data_category_names[i] = (char *) category_name(call,
		    p->data_categories[i]);
	}
	p->n_data_category_names = p->n_data_categories;
	/* In force on the day: signed by then, not yet expired. */
	for (size_t i = 0; i < sp->n_safeguards; i++) {
		const Spreg__V1__Safeguard *sg = sp->safeguards[i];
		int32_t signed_on, expires_on;
		if ((date_parse(sg->signed_on, &signed_on) &&
		        signed_on > sc->at.day) ||
		    (date_parse(sg->expires_on, &expires_on) &&
		        expires_on <= sc->at.day)) {
			continue;
		}
		const catalog_mechanism *m = catalog_mechanism_find(cat,
		    sg->mechanism);
		if (m != NULL && m->valid_until != CATALOG_DAY_NONE &&
		    m->valid_until <= sc->at.day) {
			continue;	/* the mechanism itself ceased */
		}
		add_unique(p->mechanisms, &p->n_mechanisms, sg->mechanism);
	}
	qsort(p->mechanisms, p->n_mechanisms, sizeof(char *), str_cmp);
	for (size_t i = 0; i < p->n_mechanisms; i++) {
		const catalog_mechanism *m =
		    catalog_mechanism_find(cat, p->mechanisms[i]);
		p->safeguards[i] = (char *) (m != NULL ? m->name :
		                                         p->mechanisms[i]);
	}
	p->n_safeguards = p->n_mechanisms;
	*out = p;
	return SPREG_OK;
}

static spreg_status
export_subprocessors(rpc_call *call, const ProtobufCMessage *in_,
    ProtobufCMessage *out_, err *e)
{
	const Spreg__V1__ExportSubprocessorsRequest *in = (const void *) in_;
	Spreg__V1__ExportSubprocessorsResponse *out = (void *) out_;
	Spreg__V1__Subprocessor **sps;
	size_t nsps;
	bool more;
	spreg_status st;

	scope *sc = arena_alloc(call->arena, sizeof(*sc));
	if (sc == NULL) {
		return err_oom(e, NULL);
	}
	memset(sc, 0, sizeof(*sc));
	make_query(sc, "export-subprocessors", in->filter, "", in->customer,
	    in->as_of);
	if ((st = check_scope(call, "", in->customer, sc, e)) != SPREG_OK ||
	    (st = check_filter(call, in->filter, e)) != SPREG_OK ||
	    (st = open_cursor(call, in->cursor, in->as_of, in->at_seq, sc,
	         e)) != SPREG_OK ||
	    (st = list_page(call, in->filter, in->page_size, sc, &sps, &nsps,
	         &more, e)) != SPREG_OK) {
		return st;
	}
	sc->regime = NULL;	/* not a regime's view */
	out->subprocessors = arena_alloc(call->arena, (nsps + 1) *
	    sizeof(*out->subprocessors));
	if (out->subprocessors == NULL) {
		return err_oom(e, NULL);
	}
	for (size_t i = 0; i < nsps; i++) {
		/* One customer's own choice is never on the public list. */
		if (!sc->by_customer &&
		    strcmp(sps[i]->kind, vocab_kind_name(
		        VOCAB_KIND_CUSTOMER_SELECTED)) == 0) {
			continue;
		}
		if ((st = public_of(call, sc, sps[i],
		         &out->subprocessors[out->n_subprocessors], e)) !=
		    SPREG_OK) {
			return st;
		}
		out->n_subprocessors++;
	}
	if (more && nsps > 0 &&
	    (st = next_cursor(call, sc, sps[nsps - 1]->id, &out->next_cursor,
	         e)) != SPREG_OK) {
		return st;
	}
	return metadata(call, sc, in->customer, &out->metadata, e);
}

/* Indexed like spreg__v1__export__descriptor.methods. */
static const rpc_method export_methods[] = {
	{"ExportTransfers", RPC_READ, export_transfers, NULL},
	{"ExportSubprocessors", RPC_READ | RPC_CUSTOMER | RPC_PUBLIC,
	    export_subprocessors, "customer"},
};

const rpc_service rpc_export_service = {
	&spreg__v1__export__descriptor,
	export_methods,
	sizeof(export_methods) / sizeof(export_methods[0]),
};
