/*
 * Unit tests of service spreg.v1.Assessment through rpc_handle (paging,
 * verdict counts, customers, suppositions, typed errors that change
 * nothing) and of re-assessment: a write or a passing day that makes a
 * lawful transfer fail logs and publishes one ASSESSMENT_CHANGED change.
 * Time is injected (time_set_clock), never slept through.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assess/assess.h"
#include "assess/rules.h"
#include "core/catalog.h"
#include "core/date.h"
#include "rpc/import.h"
#include "rpc/rpc.h"
#include "support/store.h"
#include "spreg/v1/export.pb-c.h"

#define REG "spreg.v1.Registry/"
#define ASMT "spreg.v1.Assessment/"

static char dir[64];
static catalog *cat;
static assess_rules *rules;
static db *d;
static rpc_server *srv;
static rpc_worker *w;

/* 2026-11-23T12:00:00Z, moved by the tests. */
static int64_t fake_now_ms;
static int64_t
fake_clock(void)
{
	return fake_now_ms;
}

static void
set_day(const char *day)
{
	int32_t n;
	ck_assert(date_parse(day, &n));
	fake_now_ms = (int64_t) n * 86400000 + 12 * 3600000;
}

/* Kinds published through the hook, in order. */
static Spreg__V1__ChangeKind published[64];
static size_t npublished;

static void
record_publish(void *arg, const rpc_event *events, size_t n)
{
	(void) arg;
	for (size_t i = 0; i < n && npublished < 64; i++) {
		published[npublished++] = events[i].change->kind;
	}
}

/* Handlers under test; access control is test_auth.c's. */
static store_fixture fx = {.name = "arpc", .map_size = 1 << 20,
    .insecure_local = true, .publish = record_publish, .dir = &dir,
    .cat = &cat, .rules = &rules, .d = &d, .srv = &srv, .w = &w};

static void
server_start(void)
{
	store_fixture_server_start(&fx);
}

static void
server_stop(void)
{
	store_fixture_server_stop(&fx);
}

static void
setup(void)
{
	store_fixture_open(&fx);
	set_day("2026-11-23");
	time_set_clock(fake_clock);
	server_start();
	store_fixture_import(&fx);
	npublished = 0;
}

static void
teardown(void)
{
	store_fixture_teardown(&fx);
	time_set_clock(NULL);
}

static spreg_status
call(const char *method, const ProtobufCMessage *in,
    const ProtobufCMessageDescriptor *od, ProtobufCMessage **out, char *msg,
    size_t msglen)
{
	Spreg__V1__Request env = SPREG__V1__REQUEST__INIT;

	env.method = (char *) method;
	env.actor = "tester";
	return store_fixture_call(w, &env, in, od, out, msg, msglen);
}

static spreg_status
assess(const Spreg__V1__AssessTransfersRequest *in,
    Spreg__V1__AssessTransfersResponse **out, char *msg, size_t msglen)
{
	return call(ASMT "AssessTransfers", &in->base,
	    &spreg__v1__assess_transfers_response__descriptor,
	    (ProtobufCMessage **) out, msg, msglen);
}

static void
fingerprint(uint64_t *count, uint64_t *seq)
{
	Spreg__V1__ServerInfoRequest in = SPREG__V1__SERVER_INFO_REQUEST__INIT;
	Spreg__V1__ServerInfoResponse *out;

	ck_assert_int_eq(call(REG "ServerInfo", &in.base,
	    &spreg__v1__server_info_response__descriptor,
	    (ProtobufCMessage **) &out, NULL, 0), SPREG_OK);
	*count = out->subprocessors;
	*seq = out->last_seq;
	spreg__v1__server_info_response__free_unpacked(out, NULL);
}

static uint64_t
count_of(Spreg__V1__VerdictCount *const *counts, size_t n,
    Spreg__V1__Verdict v)
{
	for (size_t i = 0; i < n; i++) {
		if (counts[i]->verdict == v) {
			return counts[i]->count;
		}
	}
	return 0;
}

static const Spreg__V1__TransferAssessment *
row_of(const Spreg__V1__AssessTransfersResponse *r, const char *sp,
    const char *country)
{
	for (size_t i = 0; i < r->n_assessments; i++) {
		if (strcmp(r->assessments[i]->subprocessor_id, sp) == 0 &&
		    strcmp(r->assessments[i]->country, country) == 0) {
			return r->assessments[i];
		}
	}
	return NULL;
}

START_TEST(pages_add_up_to_one_page)
{
	Spreg__V1__AssessTransfersRequest in =
	    SPREG__V1__ASSESS_TRANSFERS_REQUEST__INIT;
	Spreg__V1__AssessTransfersResponse *out;
	uint64_t whole[ASSESS_NVERDICTS] = {0}, paged[ASSESS_NVERDICTS] = {0};
	size_t whole_rows, whole_vendors, rows = 0, vendors = 0, pages = 0;
	char token[512] = "", prev[80] = "";

	in.as_of = "2026-11-23";
	in.page_size = 1000;
	ck_assert_int_eq(assess(&in, &out, NULL, 0), SPREG_OK);
	ck_assert_str_eq(out->next_page_token, "");
	ck_assert_str_eq(out->regime, "EU");
	ck_assert_str_eq(out->as_of, "2026-11-23");
	ck_assert_str_eq(out->rules_version, assess_rules_version(rules));
	whole_rows = out->n_assessments;
	whole_vendors = out->n_vendors;
	ck_assert_uint_ge(whole_vendors, 20);
	for (size_t i = 0; i < out->n_totals; i++) {
		whole[out->totals[i]->verdict] = out->totals[i]->count;
	}
	/* Each vendor's summary counts its own rows. */
	for (size_t v = 0; v < out->n_vendors; v++) {
		uint64_t sum = 0, rows_of = 0;
		const Spreg__V1__VendorSummary *s = out->vendors[v];
		for (size_t i = 0; i < s->n_counts; i++) {
			sum += s->counts[i]->count;
		}
		for (size_t i = 0; i < out->n_assessments; i++) {
			rows_of += strcmp(out->assessments[i]->subprocessor_id,
			    s->subprocessor_id) == 0;
		}
		ck_assert_uint_eq(sum, rows_of);
	}
	spreg__v1__assess_transfers_response__free_unpacked(out, NULL);

	in.page_size = 3;
	do {
		in.page_token = token;
		ck_assert_int_eq(assess(&in, &out, NULL, 0), SPREG_OK);
		ck_assert_uint_le(out->n_vendors, 3);
		for (size_t v = 0; v < out->n_vendors; v++) {
			const char *id = out->vendors[v]->subprocessor_id;
			ck_assert_int_lt(strcmp(prev, id), 0);
			snprintf(prev, sizeof(prev), "%s", id);
		}
		for (size_t i = 0; i < out->n_totals; i++) {
			paged[out->totals[i]->verdict] += out->totals[i]->count;
		}
		rows += out->n_assessments;
		vendors += out->n_vendors;
		pages++;
		snprintf(token, sizeof(token), "%s", out->next_page_token);
		spreg__v1__assess_transfers_response__free_unpacked(out, NULL);
	} while (token[0] != '\0');
	ck_assert_uint_eq(rows, whole_rows);
	ck_assert_uint_eq(vendors, whole_vendors);
	ck_assert_uint_ge(pages, (whole_vendors + 2) / 3);
	for (int v = 0; v < ASSESS_NVERDICTS; v++) {
		ck_assert_uint_eq(paged[v], whole[v]);
	}

	/* The server's --max-page bounds the page asked for. */
	char msg[256];
	rpc_server_set_limits(srv, &(rpc_limits) {.page_max = 2});
	in.page_token = "";
	ck_assert_int_eq(assess(&in, &out, msg, sizeof(msg)),
	    SPREG_INVALID_ARGUMENT);
	ck_assert_str_eq(msg, "page_size: at most 2");
}
END_TEST

START_TEST(then_and_now)
{
	Spreg__V1__AssessTransfersRequest in =
	    SPREG__V1__ASSESS_TRANSFERS_REQUEST__INIT;
	Spreg__V1__AssessTransfersResponse *out;
	const Spreg__V1__TransferAssessment *row;

	/* Privacy Shield only: adequate before Schrems II, invalid now. */
	in.subprocessor_id = "mailchimp";
	in.as_of = "2020-01-01";
	ck_assert_int_eq(assess(&in, &out, NULL, 0), SPREG_OK);
	ck_assert_ptr_nonnull(row = row_of(out, "mailchimp", "US"));
	ck_assert_int_eq(row->verdict, ASSESS_ADEQUATE);
	spreg__v1__assess_transfers_response__free_unpacked(out, NULL);
	in.as_of = "";	/* today, of the injected clock */
	ck_assert_int_eq(assess(&in, &out, NULL, 0), SPREG_OK);
	ck_assert_str_eq(out->as_of, "2026-11-23");
	ck_assert_ptr_nonnull(row = row_of(out, "mailchimp", "US"));
	ck_assert_int_eq(row->verdict, ASSESS_INVALID);
	ck_assert_str_eq(row->ceased_on, "2020-07-16");
	ck_assert_uint_eq(out->n_vendors, 1);
	ck_assert_uint_gt(count_of(out->vendors[0]->counts,
	    out->vendors[0]->n_counts, ASSESS_INVALID), 0);
	spreg__v1__assess_transfers_response__free_unpacked(out, NULL);

	/* What if the DPF falls: google-ads has nothing else. */
	Spreg__V1__Supposition s = SPREG__V1__SUPPOSITION__INIT;
	Spreg__V1__Supposition *sl[] = {&s};
	s.id = "eu-us-dpf";
	in.subprocessor_id = "google-ads";
	in.suppose_invalid = sl;
	in.n_suppose_invalid = 1;
	ck_assert_int_eq(assess(&in, &out, NULL, 0), SPREG_OK);
	ck_assert_ptr_nonnull(row = row_of(out, "google-ads", "US"));
	ck_assert(row->affected);
	ck_assert(!assess_verdict_lawful(row->verdict));
	spreg__v1__assess_transfers_response__free_unpacked(out, NULL);
}
END_TEST

static spreg_status
put_customer(const char *id, const char *regime, const char *service)
{
	Spreg__V1__PutCustomerRequest in = SPREG__V1__PUT_CUSTOMER_REQUEST__INIT;
	Spreg__V1__Customer c = SPREG__V1__CUSTOMER__INIT;
	char *services[] = {(char *) service};
	char msg[512];

	c.id = (char *) id;
	c.name = (char *) id;
	c.regime = (char *) regime;
	c.services = services;
	c.n_services = 1;
	in.customer = &c;
	spreg_status st = call(REG "PutCustomer", &in.base,
	    &spreg__v1__put_customer_response__descriptor, NULL, msg,
	    sizeof(msg));
	ck_assert_msg(st == SPREG_OK, "%s", msg);
	return st;
}

START_TEST(customer_scope)
{
	Spreg__V1__AssessTransfersRequest in =
	    SPREG__V1__ASSESS_TRANSFERS_REQUEST__INIT;
	Spreg__V1__AssessTransfersResponse *out;
	Spreg__V1__ListSubprocessorsRequest l =
	    SPREG__V1__LIST_SUBPROCESSORS_REQUEST__INIT;
	Spreg__V1__ListSubprocessorsResponse *lr;

	put_customer("acme", "UK", "billing");
	l.customer = "acme";
	l.page_size = 1000;
	ck_assert_int_eq(call(REG "ListSubprocessors", &l.base,
	    &spreg__v1__list_subprocessors_response__descriptor,
	    (ProtobufCMessage **) &lr, NULL, 0), SPREG_OK);
	ck_assert_uint_gt(lr->n_subprocessors, 0);

	in.customer = "acme";
	in.page_size = 1000;
	ck_assert_int_eq(assess(&in, &out, NULL, 0), SPREG_OK);
	ck_assert_str_eq(out->regime, "UK");
	/* The customer's vendors that are in effect today. */
	ck_assert_uint_le(out->n_vendors, lr->n_subprocessors);
	ck_assert_uint_gt(out->n_vendors, 0);
	for (size_t v = 0; v < out->n_vendors; v++) {
		bool listed = false;
		for (size_t i = 0; i < lr->n_subprocessors; i++) {
			listed = listed || strcmp(lr->subprocessors[i]->id,
			    out->vendors[v]->subprocessor_id) == 0;
		}
		ck_assert_msg(listed, "%s", out->vendors[v]->subprocessor_id);
	}
	for (size_t i = 0; i < out->n_assessments; i++) {
		ck_assert_str_eq(out->assessments[i]->regime, "UK");
	}
	spreg__v1__assess_transfers_response__free_unpacked(out, NULL);
	spreg__v1__list_subprocessors_response__free_unpacked(lr, NULL);

	/* A vendor outside the customer's services: no rows. */
	in.subprocessor_id = "google-ads";
	ck_assert_int_eq(assess(&in, &out, NULL, 0), SPREG_OK);
	ck_assert_uint_eq(out->n_assessments, 0);
	spreg__v1__assess_transfers_response__free_unpacked(out, NULL);
}
END_TEST

START_TEST(bad_requests_name_the_field)
{
	static const struct {
		const char *regime, *customer, *as_of, *suppose, *from, *token;
		spreg_status code;
		const char *field;
	} cases[] = {
		{"", "", "2020-13-01", NULL, NULL, "", SPREG_INVALID_ARGUMENT,
		    "as_of:"},
		{"", "", "yesterday", NULL, NULL, "", SPREG_INVALID_ARGUMENT,
		    "as_of:"},
		{"US", "", "", NULL, NULL, "", SPREG_INVALID_ARGUMENT,
		    "regime:"},
		{"eu", "", "", NULL, NULL, "", SPREG_INVALID_ARGUMENT,
		    "regime:"},
		{"", "nobody", "", NULL, NULL, "", SPREG_NOT_FOUND,
		    "customer:"},
		{"", "Bad Id", "", NULL, NULL, "", SPREG_INVALID_ARGUMENT,
		    "customer:"},
		{"EU", "acme", "", NULL, NULL, "", SPREG_INVALID_ARGUMENT,
		    "customer:"},
		{"", "", "", "eu-no-such", NULL, "", SPREG_INVALID_ARGUMENT,
		    "suppose_invalid[0].id"},
		{"", "", "", "eu-us-dpf", "2020-02-30", "",
		    SPREG_INVALID_ARGUMENT, "suppose_invalid[0].from"},
		{"", "", "", NULL, NULL, "forged", SPREG_INVALID_ARGUMENT,
		    "page_token"},
	};
	uint64_t count0, seq0, count1, seq1;
	char msg[512];

	put_customer("acme", "EU", "billing");
	fingerprint(&count0, &seq0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		Spreg__V1__AssessTransfersRequest in =
		    SPREG__V1__ASSESS_TRANSFERS_REQUEST__INIT;
		Spreg__V1__Supposition s = SPREG__V1__SUPPOSITION__INIT;
		Spreg__V1__Supposition *sl[] = {&s};
		in.regime = (char *) cases[i].regime;
		in.customer = (char *) cases[i].customer;
		in.as_of = (char *) cases[i].as_of;
		in.page_token = (char *) cases[i].token;
		if (cases[i].suppose != NULL) {
			s.id = (char *) cases[i].suppose;
			s.from = cases[i].from ? (char *) cases[i].from : "";
			in.suppose_invalid = sl;
			in.n_suppose_invalid = 1;
		}
		spreg_status st = assess(&in, NULL, msg, sizeof(msg));
		ck_assert_msg(st == cases[i].code, "case %zu: %d %s", i,
		    (int) st, msg);
		ck_assert_msg(strncmp(msg, cases[i].field,
		    strlen(cases[i].field)) == 0, "case %zu: %s", i, msg);
	}
	fingerprint(&count1, &seq1);
	ck_assert_uint_eq(count0, count1);
	ck_assert_uint_eq(seq0, seq1);
}
END_TEST

START_TEST(rules_in_force)
{
	Spreg__V1__GetRulesRequest in = SPREG__V1__GET_RULES_REQUEST__INIT;
	Spreg__V1__GetRulesResponse *out;
	char msg[512];
	size_t all;

	ck_assert_int_eq(call(ASMT "GetRules", &in.base,
	    &spreg__v1__get_rules_response__descriptor,
	    (ProtobufCMessage **) &out, NULL, 0), SPREG_OK);
	ck_assert_str_eq(out->version, assess_rules_version(rules));
	ck_assert_str_eq(out->checksum, assess_rules_checksum(rules));
	ck_assert_uint_eq(strlen(out->checksum), 64);
	all = out->n_rules;
	bool saw_dpf = false;
	for (size_t i = 0; i < out->n_rules; i++) {
		ck_assert_str_ne(out->rules[i]->source, "");
		saw_dpf = saw_dpf ||
		    strcmp(out->rules[i]->id, "mechanism:eu-us-dpf") == 0;
	}
	ck_assert(saw_dpf);
	spreg__v1__get_rules_response__free_unpacked(out, NULL);

	in.regime = "CH";
	ck_assert_int_eq(call(ASMT "GetRules", &in.base,
	    &spreg__v1__get_rules_response__descriptor,
	    (ProtobufCMessage **) &out, NULL, 0), SPREG_OK);
	ck_assert_uint_gt(out->n_rules, 0);
	ck_assert_uint_lt(out->n_rules, all);
	for (size_t i = 0; i < out->n_rules; i++) {
		ck_assert_str_eq(out->rules[i]->regime, "CH");
	}
	spreg__v1__get_rules_response__free_unpacked(out, NULL);

	in.regime = "US";
	ck_assert_int_eq(call(ASMT "GetRules", &in.base,
	    &spreg__v1__get_rules_response__descriptor, NULL, msg,
	    sizeof(msg)), SPREG_INVALID_ARGUMENT);
	ck_assert_msg(strncmp(msg, "regime:", 7) == 0, "%s", msg);
}
END_TEST

/* ---- re-assessment ---- */

/* A US vendor for billing: one category, one safeguard (or none). */
typedef struct vendor {
	Spreg__V1__PutSubprocessorRequest req;
	Spreg__V1__Subprocessor sp;
	Spreg__V1__Location loc, *locs[1];
	Spreg__V1__Safeguard sg, *sgs[1];
	char *cats[1], *services[1];
} vendor;

static void
vendor_init(vendor *v, const char *id, const char *name,
    const char *expires_on)
{
	spreg__v1__put_subprocessor_request__init(&v->req);
	spreg__v1__subprocessor__init(&v->sp);
	spreg__v1__location__init(&v->loc);
	spreg__v1__safeguard__init(&v->sg);
	v->sp.id = (char *) id;
	v->sp.name = (char *) name;
	v->cats[0] = "user.contact.email";
	v->sp.data_categories = v->cats;
	v->sp.n_data_categories = 1;
	v->services[0] = "billing";
	v->sp.services = v->services;
	v->sp.n_services = 1;
	v->loc.country = "US";
	v->loc.role = "hosting";
	v->locs[0] = &v->loc;
	v->sp.locations = v->locs;
	v->sp.n_locations = 1;
	v->sg.mechanism = "eu-scc-2021-m2";
	v->sg.regime = "EU";
	v->sg.signed_on = "2024-01-10";
	v->sg.expires_on = (char *) expires_on;
	v->sg.tia_ref = "TIA-7";
	v->sgs[0] = &v->sg;
	v->sp.safeguards = v->sgs;
	v->sp.n_safeguards = 1;
	v->sp.effective_from = "2024-02-01";
	v->req.subprocessor = &v->sp;
}

static uint64_t
put_vendor(vendor *v)
{
	Spreg__V1__PutSubprocessorResponse *out;
	char msg[512];

	ck_assert_msg(call(REG "PutSubprocessor", &v->req.base,
	    &spreg__v1__put_subprocessor_response__descriptor,
	    (ProtobufCMessage **) &out, msg, sizeof(msg)) == SPREG_OK, "%s",
	    msg);
	ck_assert_ptr_nonnull(out->change);
	uint64_t seq = out->change->seq;
	spreg__v1__put_subprocessor_response__free_unpacked(out, NULL);
	return seq;
}

/* The changes after since_seq, caller frees. */
static Spreg__V1__ListChangesResponse *
changes_since(uint64_t since_seq)
{
	Spreg__V1__ListChangesRequest in = SPREG__V1__LIST_CHANGES_REQUEST__INIT;
	Spreg__V1__ListChangesResponse *out;

	in.since_seq = since_seq;
	in.limit = 1000;
	ck_assert_int_eq(call(REG "ListChanges", &in.base,
	    &spreg__v1__list_changes_response__descriptor,
	    (ProtobufCMessage **) &out, NULL, 0), SPREG_OK);
	return out;
}

START_TEST(put_removing_the_safeguard_is_reported)
{
	vendor v;
	uint64_t count, seq;

	vendor_init(&v, "acme-mail", "Acme Mail", "");
	put_vendor(&v);	/* created: nothing was lawful before */
	fingerprint(&count, &seq);

	/* A change that keeps every transfer lawful: nothing reported. */
	v.sp.name = "Acme Mail Inc.";
	put_vendor(&v);
	Spreg__V1__ListChangesResponse *lc = changes_since(seq);
	ck_assert_uint_eq(lc->n_changes, 1);
	ck_assert_int_eq(lc->changes[0]->kind, CHANGE_UPDATED);
	spreg__v1__list_changes_response__free_unpacked(lc, NULL);

	/* The only safeguard goes: EU US becomes MISSING. */
	npublished = 0;
	v.sp.n_safeguards = 0;
	uint64_t put_seq = put_vendor(&v);
	lc = changes_since(put_seq - 1);
	ck_assert_uint_eq(lc->n_changes, 2);
	const Spreg__V1__Change *c = lc->changes[1];
	ck_assert_int_eq(c->kind, CHANGE_ASSESSMENT_CHANGED);
	ck_assert_str_eq(c->subprocessor_id, "acme-mail");
	ck_assert_uint_eq(c->ref_seq, put_seq);
	ck_assert_uint_eq(c->seq, put_seq + 1);
	ck_assert_uint_eq(c->n_services, 1);
	ck_assert_str_eq(c->services[0], "billing");
	ck_assert_str_eq(c->effective_at, "2026-11-23");
	ck_assert_msg(strstr(c->reason, "EU US user.contact.email: "
	    "SAFEGUARDED -> MISSING") != NULL, "%s", c->reason);
	spreg__v1__list_changes_response__free_unpacked(lc, NULL);
	/* Published with the write, after it. */
	ck_assert_uint_eq(npublished, 2);
	ck_assert_int_eq(published[0], CHANGE_UPDATED);
	ck_assert_int_eq(published[1], CHANGE_ASSESSMENT_CHANGED);

	/* Already failing: a further put reports nothing new. */
	v.sp.name = "Acme Mail LLC";
	put_seq = put_vendor(&v);
	lc = changes_since(put_seq - 1);
	ck_assert_uint_eq(lc->n_changes, 1);
	spreg__v1__list_changes_response__free_unpacked(lc, NULL);
}
END_TEST

START_TEST(expiry_reported_once_at_the_day_boundary)
{
	vendor v;
	uint64_t count, seq;
	size_t changed;
	err e;

	set_day("2026-11-30");
	/* The first check only records the day. */
	ck_assert_int_eq(rpc_reassess_day(srv, fake_now_ms, &changed, &e),
	    SPREG_OK);
	ck_assert_uint_eq(changed, 0);
	vendor_init(&v, "acme-mail", "Acme Mail", "2026-12-01");
	put_vendor(&v);
	fingerprint(&count, &seq);
	ck_assert_int_eq(rpc_reassess_day(srv, fake_now_ms, &changed, &e),
	    SPREG_OK);
	ck_assert_uint_eq(changed, 0);

	/* 2026-12-01: the safeguard no longer counts. */
	npublished = 0;
	set_day("2026-12-01");
	ck_assert_int_eq(rpc_reassess_day(srv, fake_now_ms, &changed, &e),
	    SPREG_OK);
	ck_assert_uint_eq(changed, 1);
	Spreg__V1__ListChangesResponse *lc = changes_since(seq);
	ck_assert_uint_eq(lc->n_changes, 1);
	const Spreg__V1__Change *c = lc->changes[0];
	ck_assert_int_eq(c->kind, CHANGE_ASSESSMENT_CHANGED);
	ck_assert_str_eq(c->subprocessor_id, "acme-mail");
	ck_assert_str_eq(c->effective_at, "2026-12-01");
	ck_assert_msg(strstr(c->reason, "EU US user.contact.email: "
	    "SAFEGUARDED -> INVALID") != NULL, "%s", c->reason);
	spreg__v1__list_changes_response__free_unpacked(lc, NULL);
	ck_assert_uint_eq(npublished, 1);
	ck_assert_int_eq(published[0], CHANGE_ASSESSMENT_CHANGED);

	/* Once: again the same day, after a restart, and the next day. */
	ck_assert_int_eq(rpc_reassess_day(srv, fake_now_ms, &changed, &e),
	    SPREG_OK);
	ck_assert_uint_eq(changed, 0);
	server_stop();
	server_start();
	ck_assert_int_eq(rpc_reassess_day(srv, fake_now_ms, &changed, &e),
	    SPREG_OK);
	ck_assert_uint_eq(changed, 0);
	set_day("2026-12-02");
	ck_assert_int_eq(rpc_reassess_day(srv, fake_now_ms, &changed, &e),
	    SPREG_OK);
	ck_assert_uint_eq(changed, 0);
	lc = changes_since(seq);
	ck_assert_uint_eq(lc->n_changes, 1);
	spreg__v1__list_changes_response__free_unpacked(lc, NULL);
}
END_TEST

START_TEST(missed_days_compare_with_the_last_checked)
{
	size_t changed;
	err e;

	/* Down from 2020-07-01 to 2020-08-01: Privacy Shield fell in
	 * between (a rule boundary, so every vendor is judged). */
	set_day("2020-07-01");
	ck_assert_int_eq(rpc_reassess_day(srv, fake_now_ms, &changed, &e),
	    SPREG_OK);
	ck_assert_uint_eq(changed, 0);
	uint64_t count, seq;
	fingerprint(&count, &seq);
	set_day("2020-08-01");
	ck_assert_int_eq(rpc_reassess_day(srv, fake_now_ms, &changed, &e),
	    SPREG_OK);
	ck_assert_uint_gt(changed, 0);
	Spreg__V1__ListChangesResponse *lc = changes_since(seq);
	ck_assert_uint_eq(lc->n_changes, changed);
	bool mailchimp = false;
	for (size_t i = 0; i < lc->n_changes; i++) {
		ck_assert_int_eq(lc->changes[i]->kind,
		    CHANGE_ASSESSMENT_CHANGED);
		mailchimp = mailchimp || strcmp(lc->changes[i]->subprocessor_id,
		    "mailchimp") == 0;
	}
	ck_assert(mailchimp);
	spreg__v1__list_changes_response__free_unpacked(lc, NULL);
}
END_TEST

/* Every record ExportTransfers gives for vendor id (one page of 1000
 * vendors: the sample and a few more), as of as_of. */
static size_t
exported(const char *id, const char *as_of, Spreg__V1__Verdict *verdict,
    char *country, size_t country_len)
{
	Spreg__V1__ExportTransfersRequest in =
	    SPREG__V1__EXPORT_TRANSFERS_REQUEST__INIT;
	Spreg__V1__ExportTransfersResponse *out;
	char msg[512];
	size_t n = 0;

	in.as_of = (char *) as_of;
	in.page_size = 1000;
	ck_assert_msg(call("spreg.v1.Export/ExportTransfers", &in.base,
	    &spreg__v1__export_transfers_response__descriptor,
	    (ProtobufCMessage **) &out, msg, sizeof(msg)) == SPREG_OK, "%s",
	    msg);
	ck_assert_str_eq(out->next_cursor, "");
	for (size_t i = 0; i < out->n_records; i++) {
		const Spreg__V1__TransferRecord *r = out->records[i];
		if (strcmp(r->subprocessor_id, id) == 0) {
			*verdict = r->verdict;
			snprintf(country, country_len, "%s", r->country);
			n++;
		}
	}
	spreg__v1__export_transfers_response__free_unpacked(out, NULL);
	return n;
}

/* Rows AssessTransfers gives for vendor id as of as_of. */
static size_t
assessed(const char *id, const char *as_of)
{
	Spreg__V1__AssessTransfersRequest in =
	    SPREG__V1__ASSESS_TRANSFERS_REQUEST__INIT;
	Spreg__V1__AssessTransfersResponse *out;

	in.subprocessor_id = (char *) id;
	in.as_of = (char *) as_of;
	ck_assert_int_eq(assess(&in, &out, NULL, 0), SPREG_OK);
	size_t n = out->n_assessments;
	spreg__v1__assess_transfers_response__free_unpacked(out, NULL);
	return n;
}

/* A vendor with data but no location is judged UNKNOWN_LOCATION, failing,
 * in the assessment and the export alike. */
START_TEST(no_location_is_not_left_out)
{
	Spreg__V1__AssessTransfersRequest in =
	    SPREG__V1__ASSESS_TRANSFERS_REQUEST__INIT;
	Spreg__V1__AssessTransfersResponse *out;
	const Spreg__V1__TransferAssessment *row;
	vendor v;

	vendor_init(&v, "nowhere", "Nowhere Ltd", "");
	v.sp.n_locations = 0;
	put_vendor(&v);

	/* The whole registry, as a pipeline asks it. */
	in.page_size = 1000;
	ck_assert_int_eq(assess(&in, &out, NULL, 0), SPREG_OK);
	ck_assert_ptr_nonnull(row = row_of(out, "nowhere", ""));
	ck_assert_int_eq(row->verdict, ASSESS_UNKNOWN_LOCATION);
	ck_assert_str_eq(row->data_category, "user.contact.email");
	ck_assert_ptr_nonnull(strstr(row->reason, "no location"));
	ck_assert(!assess_verdict_lawful(row->verdict));
	ck_assert_uint_eq(count_of(out->totals, out->n_totals,
	    ASSESS_UNKNOWN_LOCATION), 1);
	spreg__v1__assess_transfers_response__free_unpacked(out, NULL);
	in.subprocessor_id = "nowhere";
	ck_assert_int_eq(assess(&in, &out, NULL, 0), SPREG_OK);
	ck_assert_uint_eq(out->n_assessments, 1);
	ck_assert_uint_eq(count_of(out->vendors[0]->counts,
	    out->vendors[0]->n_counts, ASSESS_UNKNOWN_LOCATION), 1);
	spreg__v1__assess_transfers_response__free_unpacked(out, NULL);

	Spreg__V1__Verdict verdict = 0;
	char country[8] = "?";
	ck_assert_uint_eq(exported("nowhere", "", &verdict, country,
	    sizeof(country)), 1);
	ck_assert_int_eq(verdict, ASSESS_UNKNOWN_LOCATION);
	ck_assert_str_eq(country, "");

	/* With a location it is judged by country again. */
	v.sp.n_locations = 1;
	put_vendor(&v);
	ck_assert_uint_eq(exported("nowhere", "", &verdict, country,
	    sizeof(country)), 1);
	ck_assert_str_eq(country, "US");
	ck_assert_int_eq(verdict, ASSESS_SAFEGUARDED);
}
END_TEST

/* Is id in the public subprocessor list as of as_of? */
static bool
public_list_has(const char *id, const char *as_of)
{
	Spreg__V1__ExportSubprocessorsRequest in =
	    SPREG__V1__EXPORT_SUBPROCESSORS_REQUEST__INIT;
	Spreg__V1__ExportSubprocessorsResponse *out;
	bool found = false;

	in.as_of = (char *) as_of;
	in.page_size = 1000;
	ck_assert_int_eq(call("spreg.v1.Export/ExportSubprocessors", &in.base,
	    &spreg__v1__export_subprocessors_response__descriptor,
	    (ProtobufCMessage **) &out, NULL, 0), SPREG_OK);
	for (size_t i = 0; i < out->n_subprocessors; i++) {
		found = found ||
		    strcmp(out->subprocessors[i]->subprocessor_id, id) == 0;
	}
	spreg__v1__export_subprocessors_response__free_unpacked(out, NULL);
	return found;
}

/* Upcoming and proposed vendors: the assessment and the exports agree
 * with the listing, on each side of the date. */
START_TEST(dates_agree_across_assessment_and_export)
{
	Spreg__V1__Verdict verdict;
	char country[8];
	vendor v;

	vendor_init(&v, "soon", "Soon", "");
	v.sp.effective_from = "2026-11-24";	/* tomorrow */
	put_vendor(&v);
	vendor_init(&v, "maybe", "Maybe", "");
	v.sp.status = SP_STATUS_PROPOSED;
	put_vendor(&v);

	ck_assert_uint_eq(assessed("soon", ""), 0);
	ck_assert_uint_eq(assessed("soon", "2026-11-24"), 1);
	ck_assert_uint_eq(exported("soon", "", &verdict, country,
	    sizeof(country)), 0);
	ck_assert_uint_eq(exported("soon", "2026-11-24", &verdict, country,
	    sizeof(country)), 1);
	ck_assert(!public_list_has("soon", ""));
	ck_assert(public_list_has("soon", "2026-11-24"));

	ck_assert_uint_eq(assessed("maybe", ""), 0);
	ck_assert_uint_eq(assessed("maybe", "2030-01-01"), 0);
	ck_assert_uint_eq(exported("maybe", "2030-01-01", &verdict, country,
	    sizeof(country)), 0);
	ck_assert(!public_list_has("maybe", "2030-01-01"));

	/* On the day, with no one touching it, logged and published. */
	size_t applied;
	err e;
	set_day("2026-11-24");
	npublished = 0;
	ck_assert_int_eq(rpc_apply_due(srv, fake_now_ms, &applied, &e),
	    SPREG_OK);
	ck_assert_uint_eq(applied, 1);
	ck_assert_uint_eq(npublished, 1);
	ck_assert_int_eq(published[0], CHANGE_TOOK_EFFECT);
	ck_assert_uint_eq(assessed("soon", ""), 1);
	ck_assert(public_list_has("soon", ""));

	/* A withdrawal is published like every change. */
	Spreg__V1__AnnounceChangeRequest an =
	    SPREG__V1__ANNOUNCE_CHANGE_REQUEST__INIT;
	Spreg__V1__AnnounceChangeResponse *ar;
	vendor_init(&v, "later", "Later", "");
	an.subprocessor = &v.sp;
	an.effective_at = "2027-06-01";
	ck_assert_int_eq(call(REG "AnnounceChange", &an.base,
	    &spreg__v1__announce_change_response__descriptor,
	    (ProtobufCMessage **) &ar, NULL, 0), SPREG_OK);
	Spreg__V1__WithdrawAnnouncementRequest wd =
	    SPREG__V1__WITHDRAW_ANNOUNCEMENT_REQUEST__INIT;
	wd.change_seq = ar->change->seq;
	wd.reason = "not needed";
	spreg__v1__announce_change_response__free_unpacked(ar, NULL);
	npublished = 0;
	ck_assert_int_eq(call(REG "WithdrawAnnouncement", &wd.base,
	    &spreg__v1__withdraw_announcement_response__descriptor, NULL,
	    NULL, 0), SPREG_OK);
	ck_assert_uint_eq(npublished, 1);
	ck_assert_int_eq(published[0], CHANGE_WITHDRAWN);
}
END_TEST

int
main(void)
{
	Suite *su = suite_create("assess_rpc");
	TCase *tc = tcase_create("assessment");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, pages_add_up_to_one_page);
	tcase_add_test(tc, then_and_now);
	tcase_add_test(tc, customer_scope);
	tcase_add_test(tc, bad_requests_name_the_field);
	tcase_add_test(tc, rules_in_force);
	tcase_add_test(tc, no_location_is_not_left_out);
	tcase_add_test(tc, dates_agree_across_assessment_and_export);
	suite_add_tcase(su, tc);
	TCase *tr = tcase_create("reassessment");
	tcase_add_checked_fixture(tr, setup, teardown);
	tcase_add_test(tr, put_removing_the_safeguard_is_reported);
	tcase_add_test(tr, expiry_reported_once_at_the_day_boundary);
	tcase_add_test(tr, missed_days_compare_with_the_last_checked);
	suite_add_tcase(su, tr);
	SRunner *sr = srunner_create(su);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
