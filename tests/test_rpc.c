/*
 * Unit tests of src/rpc: envelopes in, replies out, on a real store with
 * the shipped reference data. Every bad input must get its status, a
 * message naming the field, and leave the store unchanged.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/catalog.h"
#include "core/date.h"
#include "core/validate.h"
#include "rpc/import.h"
#include "db/record.h"
#include "db/store.h"
#include "db/value.h"
#include "rpc/rpc.h"
#include "support/store.h"

static char dir[64];
static catalog *cat;
static db *d;
static rpc_server *srv;
static rpc_worker *w;
static const char *envelope_actor = "tester";

/* Handlers under test; access control is test_auth.c's. */
static store_fixture fx = {.name = "rpc", .map_size = 1 << 20,
    .insecure_local = true, .dir = &dir, .cat = &cat, .d = &d, .srv = &srv,
    .w = &w};

static void
setup(void)
{
	store_fixture_setup(&fx);
}

static void
teardown(void)
{
	validate_limits_set(&(validate_limits) {VALIDATE_TEXT_MAX_DEFAULT,
	    VALIDATE_LIST_MAX_DEFAULT});
	store_fixture_teardown(&fx);
}

/* Packs an envelope around msg; caller frees. */
static uint8_t *
envelope(const char *method, uint64_t request_id, const ProtobufCMessage *msg,
    size_t *len)
{
	Spreg__V1__Request env = SPREG__V1__REQUEST__INIT;
	uint8_t payload[1 << 16];

	env.method = (char *) method;
	env.request_id = request_id;
	env.actor = (char *) envelope_actor;
	env.payload.len = protobuf_c_message_pack(msg, payload);
	env.payload.data = payload;
	*len = spreg__v1__request__get_packed_size(&env);
	uint8_t *buf = malloc(*len);
	spreg__v1__request__pack(&env, buf);
	return buf;
}

static spreg_status
call_id(const char *method, uint64_t request_id, const ProtobufCMessage *in,
    const ProtobufCMessageDescriptor *od, ProtobufCMessage **out,
    char *msg, size_t msglen)
{
	Spreg__V1__Request env = SPREG__V1__REQUEST__INIT;

	env.method = (char *) method;
	env.request_id = request_id;
	env.actor = (char *) envelope_actor;
	return store_fixture_call(w, &env, in, od, out, msg, msglen);
}

static spreg_status
call(const char *method, const ProtobufCMessage *in,
    const ProtobufCMessageDescriptor *od, ProtobufCMessage **out, char *msg,
    size_t msglen)
{
	return call_id(method, 0, in, od, out, msg, msglen);
}

#define REG "spreg.v1.Registry/"

static Spreg__V1__ServerInfoResponse *
server_info(void)
{
	Spreg__V1__ServerInfoRequest in = SPREG__V1__SERVER_INFO_REQUEST__INIT;
	Spreg__V1__ServerInfoResponse *out;

	ck_assert_int_eq(call(REG "ServerInfo", &in.base,
	    &spreg__v1__server_info_response__descriptor,
	    (ProtobufCMessage **) &out, NULL, 0), SPREG_OK);
	return out;
}

/* The store's fingerprint: record count and last seq. */
static void
fingerprint(uint64_t *count, uint64_t *seq)
{
	Spreg__V1__ServerInfoResponse *out = server_info();

	*count = out->subprocessors;
	*seq = out->last_seq;
	spreg__v1__server_info_response__free_unpacked(out, NULL);
}

START_TEST(table_covers_every_method)
{
	err e;
	ck_assert_msg(rpc_services_check(&e), "%s", e.msg);
	const ProtobufCServiceDescriptor *desc =
	    rpc_registry_service.desc;
	ck_assert_uint_eq(rpc_registry_service.nmethods, desc->n_methods);
	for (unsigned i = 0; i < desc->n_methods; i++) {
		ck_assert_str_eq(rpc_registry_service.methods[i].name,
		    desc->methods[i].name);
		ck_assert(rpc_registry_service.methods[i].fn != NULL);
	}
}
END_TEST

START_TEST(get_and_list_sample)
{
	Spreg__V1__GetSubprocessorRequest g =
	    SPREG__V1__GET_SUBPROCESSOR_REQUEST__INIT;
	Spreg__V1__GetSubprocessorResponse *gr;
	g.id = "stripe";
	ck_assert_int_eq(call(REG "GetSubprocessor", &g.base,
	    &spreg__v1__get_subprocessor_response__descriptor,
	    (ProtobufCMessage **) &gr, NULL, 0), SPREG_OK);
	ck_assert_str_eq(gr->subprocessor->name, "Stripe");
	ck_assert_int_eq(gr->subprocessor->revision, 1);
	spreg__v1__get_subprocessor_response__free_unpacked(gr, NULL);

	/* A gRPC path with a leading slash works too. */
	ck_assert_int_eq(call("/" REG "GetSubprocessor", &g.base,
	    &spreg__v1__get_subprocessor_response__descriptor, NULL, NULL, 0),
	    SPREG_OK);

	/* Page through the US vendors two at a time: same set as one go. */
	Spreg__V1__ListSubprocessorsRequest l =
	    SPREG__V1__LIST_SUBPROCESSORS_REQUEST__INIT;
	Spreg__V1__ListSubprocessorsResponse *lr;
	l.country = "US";
	l.page_size = 1000;
	ck_assert_int_eq(call(REG "ListSubprocessors", &l.base,
	    &spreg__v1__list_subprocessors_response__descriptor,
	    (ProtobufCMessage **) &lr, NULL, 0), SPREG_OK);
	size_t total = lr->n_subprocessors;
	ck_assert_uint_gt(total, 3);
	ck_assert_str_eq(lr->next_page_token, "");
	spreg__v1__list_subprocessors_response__free_unpacked(lr, NULL);

	char token[256] = "", prev[80] = "";
	size_t seen = 0;
	l.page_size = 2;
	do {
		l.page_token = token;
		ck_assert_int_eq(call(REG "ListSubprocessors", &l.base,
		    &spreg__v1__list_subprocessors_response__descriptor,
		    (ProtobufCMessage **) &lr, NULL, 0), SPREG_OK);
		for (size_t i = 0; i < lr->n_subprocessors; i++) {
			ck_assert_int_lt(strcmp(prev, lr->subprocessors[i]->id),
			    0);
			snprintf(prev, sizeof(prev), "%s",
			    lr->subprocessors[i]->id);
			seen++;
		}
		snprintf(token, sizeof(token), "%s", lr->next_page_token);
		spreg__v1__list_subprocessors_response__free_unpacked(lr,
		    NULL);
	} while (token[0] != '\0');
	ck_assert_uint_eq(seen, total);
}
END_TEST

/* A fresh valid Put request around a record the caller may break. */
typedef struct put_req {
	Spreg__V1__PutSubprocessorRequest req;
	Spreg__V1__Subprocessor sp;
	Spreg__V1__Location loc, *locs[1];
	char *cats[1];
} put_req;

static void
put_req_init(put_req *p, const char *id)
{
	spreg__v1__put_subprocessor_request__init(&p->req);
	spreg__v1__subprocessor__init(&p->sp);
	spreg__v1__location__init(&p->loc);
	p->sp.id = (char *) id;
	p->sp.name = "New Vendor";
	p->cats[0] = "user.contact.email";
	p->sp.data_categories = p->cats;
	p->sp.n_data_categories = 1;
	p->loc.country = "DE";
	p->loc.role = "hosting";
	p->locs[0] = &p->loc;
	p->sp.locations = p->locs;
	p->sp.n_locations = 1;
	p->sp.effective_from = "2026-01-01";
	p->req.subprocessor = &p->sp;
}

START_TEST(bad_put_rejected_store_unchanged)
{
	static const struct {
		const char *what, *expect;
		spreg_status code;
	} cases[] = {
		{"slug", "id:", SPREG_INVALID_ARGUMENT},
		{"country", "locations[0].country", SPREG_INVALID_ARGUMENT},
		{"category", "data_categories[0]", SPREG_INVALID_ARGUMENT},
		{"mechanism", "safeguards[0].mechanism", SPREG_INVALID_ARGUMENT},
		{"name", "name: required", SPREG_INVALID_ARGUMENT},
		{"revision", "expected_revision", SPREG_FAILED_PRECONDITION},
		{"missing", "subprocessor: required", SPREG_INVALID_ARGUMENT},
		{"create_only", "exists", SPREG_ALREADY_EXISTS},
	};
	uint64_t count0, seq0, count1, seq1;

	fingerprint(&count0, &seq0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		put_req p;
		Spreg__V1__Safeguard sg = SPREG__V1__SAFEGUARD__INIT;
		Spreg__V1__Safeguard *sgs[1] = {&sg};
		char msg[512];
		const char *what = cases[i].what;

		put_req_init(&p, "stripe");
		if (strcmp(what, "slug") == 0) {
			p.sp.id = "Not A Slug";
		} else if (strcmp(what, "country") == 0) {
			p.loc.country = "ZZ";
		} else if (strcmp(what, "category") == 0) {
			p.cats[0] = "user.contact.telepathy";
		} else if (strcmp(what, "mechanism") == 0) {
			sg.mechanism = "eu-handshake";
			sg.regime = "EU";
			sg.signed_on = "2022-01-01";
			p.sp.safeguards = sgs;
			p.sp.n_safeguards = 1;
		} else if (strcmp(what, "name") == 0) {
			p.sp.name = "";
		} else if (strcmp(what, "revision") == 0) {
			p.req.expected_revision = 7;
		} else if (strcmp(what, "missing") == 0) {
			p.req.subprocessor = NULL;
		} else if (strcmp(what, "create_only") == 0) {
			p.req.create_only = true;
		}
		ck_assert_int_eq(call(REG "PutSubprocessor", &p.req.base,
		    &spreg__v1__put_subprocessor_response__descriptor, NULL,
		    msg, sizeof(msg)), cases[i].code);
		ck_assert_msg(strstr(msg, cases[i].expect) != NULL,
		    "%s: '%s' lacks '%s'", what, msg, cases[i].expect);
	}
	fingerprint(&count1, &seq1);
	ck_assert_uint_eq(count0, count1);
	ck_assert_uint_eq(seq0, seq1);
}
END_TEST

/* ImportSubprocessors: one refused item rolls every item back; a dry run
 * judges each and writes nothing. */
START_TEST(import_all_or_nothing)
{
	put_req p[3];
	Spreg__V1__Subprocessor *items[3];
	Spreg__V1__ImportSubprocessorsRequest req =
	    SPREG__V1__IMPORT_SUBPROCESSORS_REQUEST__INIT;
	Spreg__V1__ImportSubprocessorsResponse *out;
	uint64_t count0, seq0, count1, seq1;
	char msg[512];

	put_req_init(&p[0], "imp-a");
	put_req_init(&p[1], "stripe");
	p[1].sp.name = "Stripe, renamed";
	put_req_init(&p[2], "imp-c");
	p[2].loc.country = "ZZ";
	for (int i = 0; i < 3; i++) {
		items[i] = &p[i].sp;
	}
	req.subprocessors = items;
	req.n_subprocessors = 3;
	fingerprint(&count0, &seq0);

	ck_assert_int_eq(call(REG "ImportSubprocessors", &req.base,
	    &spreg__v1__import_subprocessors_response__descriptor, NULL, msg,
	    sizeof(msg)), SPREG_INVALID_ARGUMENT);
	ck_assert_msg(strstr(msg, "subprocessors[2] (imp-c): "
	    "locations[0].country") != NULL, "%s", msg);
	fingerprint(&count1, &seq1);
	ck_assert_uint_eq(count0, count1);
	ck_assert_uint_eq(seq0, seq1);

	req.dry_run = true;
	ck_assert_int_eq(call(REG "ImportSubprocessors", &req.base,
	    &spreg__v1__import_subprocessors_response__descriptor,
	    (ProtobufCMessage **) &out, msg, sizeof(msg)), SPREG_OK);
	ck_assert_uint_eq(out->n_results, 3);
	ck_assert_int_eq(out->results[0]->outcome,
	    SPREG__V1__IMPORT_OUTCOME__IMPORT_OUTCOME_CREATED);
	ck_assert_int_eq(out->results[1]->outcome,
	    SPREG__V1__IMPORT_OUTCOME__IMPORT_OUTCOME_CHANGED);
	ck_assert_int_eq(out->results[2]->outcome,
	    SPREG__V1__IMPORT_OUTCOME__IMPORT_OUTCOME_REFUSED);
	ck_assert_str_eq(out->results[2]->status, "INVALID_ARGUMENT");
	ck_assert_ptr_nonnull(strstr(out->results[2]->problem,
	    "locations[0].country"));
	ck_assert_uint_eq(out->created, 1);
	ck_assert_uint_eq(out->changed, 1);
	ck_assert_uint_eq(out->refused, 1);
	spreg__v1__import_subprocessors_response__free_unpacked(out, NULL);
	fingerprint(&count1, &seq1);
	ck_assert_uint_eq(count0, count1);
	ck_assert_uint_eq(seq0, seq1);

	p[2].loc.country = "FR";
	req.dry_run = false;
	ck_assert_int_eq(call(REG "ImportSubprocessors", &req.base,
	    &spreg__v1__import_subprocessors_response__descriptor,
	    (ProtobufCMessage **) &out, msg, sizeof(msg)), SPREG_OK);
	ck_assert_uint_eq(out->created, 2);
	ck_assert_uint_eq(out->changed, 1);
	ck_assert_uint_gt(out->results[2]->change_seq, seq0);
	spreg__v1__import_subprocessors_response__free_unpacked(out, NULL);
	fingerprint(&count1, &seq1);
	ck_assert_uint_eq(count1, count0 + 2);
	ck_assert_uint_ge(seq1, seq0 + 3);

	/* One id twice, or nothing at all: refused, nothing written. */
	items[2] = &p[0].sp;
	ck_assert_int_eq(call(REG "ImportSubprocessors", &req.base,
	    &spreg__v1__import_subprocessors_response__descriptor, NULL, msg,
	    sizeof(msg)), SPREG_INVALID_ARGUMENT);
	ck_assert_msg(strstr(msg, "subprocessors[2].id") != NULL, "%s", msg);
	req.n_subprocessors = 0;
	ck_assert_int_eq(call(REG "ImportSubprocessors", &req.base,
	    &spreg__v1__import_subprocessors_response__descriptor, NULL, msg,
	    sizeof(msg)), SPREG_INVALID_ARGUMENT);
	fingerprint(&count0, &seq0);
	ck_assert_uint_eq(count0, count1);
	ck_assert_uint_eq(seq0, seq1);
}
END_TEST

START_TEST(bad_envelopes)
{
	Spreg__V1__Reply r;
	uint64_t count0, seq0, count1, seq1;

	fingerprint(&count0, &seq0);
	/* Not protobuf at all. */
	static const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff, 0x0f, 0x01};
	rpc_handle(w, junk, sizeof(junk), &r);
	ck_assert_int_eq(r.code, SPREG_INVALID_ARGUMENT);
	ck_assert_ptr_nonnull(strstr(r.message, "request"));

	/* A truncated envelope. */
	put_req p;
	size_t len;
	put_req_init(&p, "truncated");
	uint8_t *buf = envelope(REG "PutSubprocessor", 5, &p.req.base, &len);
	rpc_handle(w, buf, len - 3, &r);
	ck_assert_int_eq(r.code, SPREG_INVALID_ARGUMENT);
	free(buf);

	/* A payload that is not the method's message. */
	Spreg__V1__Request env = SPREG__V1__REQUEST__INIT;
	uint8_t payload[] = {0x0a, 0x05, 'a'};
	uint8_t out[64];
	env.method = REG "GetSubprocessor";
	env.payload.data = payload;
	env.payload.len = sizeof(payload);
	rpc_handle(w, out, spreg__v1__request__pack(&env, out), &r);
	ck_assert_int_eq(r.code, SPREG_INVALID_ARGUMENT);
	ck_assert_ptr_nonnull(strstr(r.message, "payload"));

	/* Unknown methods and services. */
	static const char *const unknown[] = {REG "DropEverything",
	    "spreg.v1.Nope/GetSubprocessor", "GetSubprocessor", "", "/"};
	for (size_t i = 0; i < sizeof(unknown) / sizeof(*unknown); i++) {
		env.method = (char *) unknown[i];
		env.payload.len = 0;
		rpc_handle(w, out, spreg__v1__request__pack(&env, out), &r);
		ck_assert_int_eq(r.code, SPREG_UNIMPLEMENTED);
		ck_assert_ptr_nonnull(strstr(r.message, "method"));
	}

	/* The deprecated absolute deadline is ignored: it compared the
	 * client's clock with the server's. */
	env.method = REG "ServerInfo";
	env.deadline_unix_ms = 1000;
	rpc_handle(w, out, spreg__v1__request__pack(&env, out), &r);
	ck_assert_int_eq(r.code, SPREG_OK);

	fingerprint(&count1, &seq1);
	ck_assert_uint_eq(count0, count1);
	ck_assert_uint_eq(seq0, seq1);
}
END_TEST

START_TEST(bad_queries)
{
	Spreg__V1__ListSubprocessorsRequest l =
	    SPREG__V1__LIST_SUBPROCESSORS_REQUEST__INIT;
	char msg[512];

	l.page_token = "forged-token";
	ck_assert_int_eq(call(REG "ListSubprocessors", &l.base,
	    &spreg__v1__list_subprocessors_response__descriptor, NULL, msg,
	    sizeof(msg)), SPREG_INVALID_ARGUMENT);
	ck_assert_ptr_nonnull(strstr(msg, "page_token"));

	/* A real token replayed with other filters is refused too. */
	Spreg__V1__ListSubprocessorsResponse *lr;
	l.page_token = "";
	l.page_size = 1;
	ck_assert_int_eq(call(REG "ListSubprocessors", &l.base,
	    &spreg__v1__list_subprocessors_response__descriptor,
	    (ProtobufCMessage **) &lr, NULL, 0), SPREG_OK);
	ck_assert_str_ne(lr->next_page_token, "");
	l.page_token = lr->next_page_token;
	l.country = "US";
	ck_assert_int_eq(call(REG "ListSubprocessors", &l.base,
	    &spreg__v1__list_subprocessors_response__descriptor, NULL, msg,
	    sizeof(msg)), SPREG_INVALID_ARGUMENT);
	spreg__v1__list_subprocessors_response__free_unpacked(lr, NULL);
	l.page_token = "";

	l.country = "XX";
	ck_assert_int_eq(call(REG "ListSubprocessors", &l.base,
	    &spreg__v1__list_subprocessors_response__descriptor, NULL, msg,
	    sizeof(msg)), SPREG_INVALID_ARGUMENT);
	ck_assert_ptr_nonnull(strstr(msg, "country"));
	l.country = "";
	l.data_category = "user.nope";
	ck_assert_int_eq(call(REG "ListSubprocessors", &l.base,
	    &spreg__v1__list_subprocessors_response__descriptor, NULL, msg,
	    sizeof(msg)), SPREG_INVALID_ARGUMENT);
	ck_assert_ptr_nonnull(strstr(msg, "data_category"));
	l.data_category = "";
	l.page_size = 5000;
	ck_assert_int_eq(call(REG "ListSubprocessors", &l.base,
	    &spreg__v1__list_subprocessors_response__descriptor, NULL, msg,
	    sizeof(msg)), SPREG_INVALID_ARGUMENT);
	ck_assert_ptr_nonnull(strstr(msg, "page_size"));

	Spreg__V1__GetSubprocessorRequest g =
	    SPREG__V1__GET_SUBPROCESSOR_REQUEST__INIT;
	g.id = "no-such-vendor";
	ck_assert_int_eq(call(REG "GetSubprocessor", &g.base,
	    &spreg__v1__get_subprocessor_response__descriptor, NULL, msg,
	    sizeof(msg)), SPREG_NOT_FOUND);
	g.id = "../etc";
	ck_assert_int_eq(call(REG "GetSubprocessor", &g.base,
	    &spreg__v1__get_subprocessor_response__descriptor, NULL, msg,
	    sizeof(msg)), SPREG_INVALID_ARGUMENT);

	Spreg__V1__ListChangesRequest c = SPREG__V1__LIST_CHANGES_REQUEST__INIT;
	c.since_seq = 1000000;
	ck_assert_int_eq(call(REG "ListChanges", &c.base,
	    &spreg__v1__list_changes_response__descriptor, NULL, msg,
	    sizeof(msg)), SPREG_OUT_OF_RANGE);
	ck_assert_ptr_nonnull(strstr(msg, "since_seq"));
}
END_TEST

/* nng REQ resends a request; the server must apply it once and answer
 * the repeat with the first reply. */
START_TEST(write_applied_once_per_request_id)
{
	put_req p;
	Spreg__V1__PutSubprocessorResponse *r1, *r2;
	uint64_t count0, seq0, count1, seq1;
	char msg[512];

	fingerprint(&count0, &seq0);
	put_req_init(&p, "fresh-vendor");
	ck_assert_int_eq(call_id(REG "PutSubprocessor", 77, &p.req.base,
	    &spreg__v1__put_subprocessor_response__descriptor,
	    (ProtobufCMessage **) &r1, NULL, 0), SPREG_OK);
	ck_assert_ptr_nonnull(r1->change);
	ck_assert_uint_eq(r1->change->seq, seq0 + 1);
	/* The resend: same id, same bytes. create_only proves it did not
	 * run again, which would fail ALREADY_EXISTS. */
	p.req.create_only = false;
	ck_assert_int_eq(call_id(REG "PutSubprocessor", 77, &p.req.base,
	    &spreg__v1__put_subprocessor_response__descriptor,
	    (ProtobufCMessage **) &r2, NULL, 0), SPREG_OK);
	ck_assert_uint_eq(r2->change->seq, r1->change->seq);
	fingerprint(&count1, &seq1);
	ck_assert_uint_eq(seq1, seq0 + 1);
	ck_assert_uint_eq(count1, count0 + 1);
	/* The same id for a different request is an error. */
	p.sp.name = "Changed";
	ck_assert_int_eq(call_id(REG "PutSubprocessor", 77, &p.req.base,
	    &spreg__v1__put_subprocessor_response__descriptor, NULL, msg,
	    sizeof(msg)), SPREG_INVALID_ARGUMENT);
	ck_assert_ptr_nonnull(strstr(msg, "request_id"));
	spreg__v1__put_subprocessor_response__free_unpacked(r1, NULL);
	spreg__v1__put_subprocessor_response__free_unpacked(r2, NULL);
}
END_TEST

START_TEST(categories_custom_under_parent)
{
	Spreg__V1__PutDataCategoryRequest in =
	    SPREG__V1__PUT_DATA_CATEGORY_REQUEST__INIT;
	Spreg__V1__DataCategory c = SPREG__V1__DATA_CATEGORY__INIT;
	Spreg__V1__PutDataCategoryResponse *out;
	char msg[512];

	in.category = &c;
	c.key = "user.health_and_medical.vaccination";
	c.parent = "user.health_and_medical";
	c.name = "Vaccination status";
	ck_assert_int_eq(call(REG "PutDataCategory", &in.base,
	    &spreg__v1__put_data_category_response__descriptor,
	    (ProtobufCMessage **) &out, msg, sizeof(msg)), SPREG_OK);
	ck_assert(out->category->special_category);	/* inherited */
	spreg__v1__put_data_category_response__free_unpacked(out, NULL);

	c.key = "user.contact.email";
	c.parent = "user.contact";
	ck_assert_int_eq(call(REG "PutDataCategory", &in.base,
	    &spreg__v1__put_data_category_response__descriptor, NULL, msg,
	    sizeof(msg)), SPREG_FAILED_PRECONDITION);
	c.key = "nowhere.x";
	c.parent = "nowhere";
	ck_assert_int_eq(call(REG "PutDataCategory", &in.base,
	    &spreg__v1__put_data_category_response__descriptor, NULL, msg,
	    sizeof(msg)), SPREG_INVALID_ARGUMENT);

	/* The new key is usable in a record and findable by its parent. */
	put_req p;
	put_req_init(&p, "clinic-app");
	p.cats[0] = "user.health_and_medical.vaccination";
	ck_assert_int_eq(call(REG "PutSubprocessor", &p.req.base,
	    &spreg__v1__put_subprocessor_response__descriptor, NULL, msg,
	    sizeof(msg)), SPREG_OK);
	Spreg__V1__ListDataCategoriesRequest lc =
	    SPREG__V1__LIST_DATA_CATEGORIES_REQUEST__INIT;
	Spreg__V1__ListDataCategoriesResponse *lcr;
	lc.parent = "user.health_and_medical";
	ck_assert_int_eq(call(REG "ListDataCategories", &lc.base,
	    &spreg__v1__list_data_categories_response__descriptor,
	    (ProtobufCMessage **) &lcr, NULL, 0), SPREG_OK);
	bool found = false;
	for (size_t i = 0; i < lcr->n_categories; i++) {
		found = found || (strcmp(lcr->categories[i]->key,
		                      "user.health_and_medical.vaccination") ==
		                     0 && lcr->categories[i]->custom);
		ck_assert(lcr->categories[i]->special_category);
	}
	ck_assert(found);
	spreg__v1__list_data_categories_response__free_unpacked(lcr, NULL);
}
END_TEST

/* Time is injected: 2026-11-23T12:00:00Z, moved by tests. */
static int64_t fake_now_ms = 1795435200000LL;

static int64_t
fake_clock(void)
{
	return fake_now_ms;
}

static spreg_status
put_customer(const char *id, const char *service, uint32_t notice_days)
{
	Spreg__V1__PutCustomerRequest in = SPREG__V1__PUT_CUSTOMER_REQUEST__INIT;
	Spreg__V1__Customer c = SPREG__V1__CUSTOMER__INIT;
	char *services[] = {(char *) service};
	char msg[512];

	c.id = (char *) id;
	c.name = (char *) id;
	c.services = services;
	c.n_services = 1;
	c.notice_days = notice_days;
	in.customer = &c;
	return call(REG "PutCustomer", &in.base,
	    &spreg__v1__put_customer_response__descriptor, NULL, msg,
	    sizeof(msg));
}

/* Announces vendor id for the billing service on effective_at. */
static spreg_status
announce(const char *id, const char *effective_at, bool emergency,
    const char *reason, uint64_t *seq, char *msg, size_t msglen)
{
	Spreg__V1__AnnounceChangeRequest in =
	    SPREG__V1__ANNOUNCE_CHANGE_REQUEST__INIT;
	Spreg__V1__AnnounceChangeResponse *out;
	put_req p;
	char *services[] = {"billing"};

	put_req_init(&p, id);
	p.sp.services = services;
	p.sp.n_services = 1;
	in.subprocessor = &p.sp;
	in.effective_at = (char *) effective_at;
	in.emergency = emergency;
	in.reason = (char *) reason;
	spreg_status st = call(REG "AnnounceChange", &in.base,
	    &spreg__v1__announce_change_response__descriptor,
	    (ProtobufCMessage **) &out, msg, msglen);
	if (st == SPREG_OK) {
		*seq = out->change->seq;
		ck_assert_int_eq(out->change->kind, CHANGE_ANNOUNCED);
		spreg__v1__announce_change_response__free_unpacked(out, NULL);
	}
	return st;
}

static spreg_status
object(const char *customer, uint64_t seq, char *msg, size_t msglen)
{
	Spreg__V1__ObjectToChangeRequest in =
	    SPREG__V1__OBJECT_TO_CHANGE_REQUEST__INIT;
	in.customer_id = (char *) customer;
	in.change_seq = seq;
	in.reason = "we cannot accept a new payment processor this quarter";
	return call(REG "ObjectToChange", &in.base,
	    &spreg__v1__object_to_change_response__descriptor, NULL, msg,
	    msglen);
}

/* ListObjections of change seq names customer only. */
static void
only_objector(uint64_t seq, const char *customer)
{
	Spreg__V1__ListObjectionsRequest lo =
	    SPREG__V1__LIST_OBJECTIONS_REQUEST__INIT;
	Spreg__V1__ListObjectionsResponse *objs;

	lo.change_seq = seq;
	ck_assert_int_eq(call(REG "ListObjections", &lo.base,
	    &spreg__v1__list_objections_response__descriptor,
	    (ProtobufCMessage **) &objs, NULL, 0), SPREG_OK);
	ck_assert_uint_eq(objs->n_objections, 1);
	ck_assert_str_eq(objs->objections[0]->customer_id, customer);
	spreg__v1__list_objections_response__free_unpacked(objs, NULL);
}

static Spreg__V1__SubprocessorStatus
status_of(const char *id)
{
	Spreg__V1__GetSubprocessorRequest g =
	    SPREG__V1__GET_SUBPROCESSOR_REQUEST__INIT;
	Spreg__V1__GetSubprocessorResponse *r;
	g.id = (char *) id;
	if (call(REG "GetSubprocessor", &g.base,
	        &spreg__v1__get_subprocessor_response__descriptor,
	        (ProtobufCMessage **) &r, NULL, 0) != SPREG_OK) {
		return SP_STATUS_UNSPECIFIED;
	}
	Spreg__V1__SubprocessorStatus st = r->subprocessor->status;
	spreg__v1__get_subprocessor_response__free_unpacked(r, NULL);
	return st;
}

START_TEST(notice_rule)
{
	char msg[512];
	uint64_t seq, count0, seq0, count1, seq1;

	time_set_clock(fake_clock);
	ck_assert_int_eq(put_customer("acme", "billing", 30), SPREG_OK);
	ck_assert_int_eq(put_customer("globex", "billing", 45), SPREG_OK);
	ck_assert_int_eq(put_customer("initech", "support", 90), SPREG_OK);
	fingerprint(&count0, &seq0);

	/* 2026-12-01 is 8 days away: globex is owed 45 days, the most
	 * among the billing customers (initech uses support only). */
	ck_assert_int_eq(announce("paynow", "2026-12-01", false, "", &seq, msg,
	    sizeof(msg)), SPREG_FAILED_PRECONDITION);
	ck_assert_ptr_nonnull(strstr(msg, "globex"));
	ck_assert_ptr_nonnull(strstr(msg, "2027-01-07"));
	/* In the past, or an emergency without a reason: refused. */
	ck_assert_int_eq(announce("paynow", "2026-11-01", true, "x", &seq, msg,
	    sizeof(msg)), SPREG_INVALID_ARGUMENT);
	ck_assert_ptr_nonnull(strstr(msg, "effective_at"));
	ck_assert_int_eq(announce("paynow", "2026-12-01", true, "", &seq, msg,
	    sizeof(msg)), SPREG_INVALID_ARGUMENT);
	ck_assert_ptr_nonnull(strstr(msg, "reason"));
	ck_assert_int_eq(announce("paynow", "someday", false, "", &seq, msg,
	    sizeof(msg)), SPREG_INVALID_ARGUMENT);
	fingerprint(&count1, &seq1);
	ck_assert_uint_eq(count1, count0);
	ck_assert_uint_eq(seq1, seq0);

	/* Exactly 45 days: accepted, listed as proposed until then. */
	ck_assert_int_eq(announce("paynow", "2027-01-07", false, "", &seq, msg,
	    sizeof(msg)), SPREG_OK);
	ck_assert_int_eq(status_of("paynow"), SP_STATUS_PROPOSED);
	/* One pending announcement per vendor. */
	ck_assert_int_eq(announce("paynow", "2027-02-01", false, "", &seq1, msg,
	    sizeof(msg)), SPREG_FAILED_PRECONDITION);

	/* An emergency replacement goes through, reason recorded. */
	uint64_t eseq;
	ck_assert_int_eq(announce("backup-pay", "2026-11-25", true,
	    "paynow outage", &eseq, msg, sizeof(msg)), SPREG_OK);
	Spreg__V1__ListChangesRequest lc = SPREG__V1__LIST_CHANGES_REQUEST__INIT;
	Spreg__V1__ListChangesResponse *changes;
	lc.since_seq = eseq - 1;
	lc.limit = 1;
	ck_assert_int_eq(call(REG "ListChanges", &lc.base,
	    &spreg__v1__list_changes_response__descriptor,
	    (ProtobufCMessage **) &changes, NULL, 0), SPREG_OK);
	ck_assert(changes->changes[0]->emergency);
	ck_assert_str_eq(changes->changes[0]->reason, "paynow outage");
	spreg__v1__list_changes_response__free_unpacked(changes, NULL);
	time_set_clock(NULL);
}
END_TEST

START_TEST(objections_in_and_out_of_window)
{
	char msg[512];
	uint64_t seq;

	time_set_clock(fake_clock);
	ck_assert_int_eq(put_customer("acme", "billing", 30), SPREG_OK);
	ck_assert_int_eq(put_customer("initech", "support", 30), SPREG_OK);
	ck_assert_int_eq(announce("paynow", "2027-01-15", false, "", &seq, msg,
	    sizeof(msg)), SPREG_OK);

	ck_assert_int_eq(object("acme", seq, msg, sizeof(msg)), SPREG_OK);
	ck_assert_int_eq(object("acme", seq, msg, sizeof(msg)),
	    SPREG_ALREADY_EXISTS);
	ck_assert_int_eq(object("nobody", seq, msg, sizeof(msg)),
	    SPREG_NOT_FOUND);
	ck_assert_ptr_nonnull(strstr(msg, "customer"));
	ck_assert_int_eq(object("acme", seq + 100, msg, sizeof(msg)),
	    SPREG_NOT_FOUND);
	ck_assert_ptr_nonnull(strstr(msg, "change_seq"));
	/* A customer of other services is not concerned. */
	ck_assert_int_eq(object("initech", seq, msg, sizeof(msg)),
	    SPREG_FAILED_PRECONDITION);

	only_objector(seq, "acme");
	Spreg__V1__ListObjectionsRequest lo =
	    SPREG__V1__LIST_OBJECTIONS_REQUEST__INIT;
	Spreg__V1__ListObjectionsResponse *objs;
	lo.change_seq = 0;
	lo.customer_id = "acme";
	ck_assert_int_eq(call(REG "ListObjections", &lo.base,
	    &spreg__v1__list_objections_response__descriptor,
	    (ProtobufCMessage **) &objs, NULL, 0), SPREG_OK);
	ck_assert_uint_eq(objs->n_objections, 1);
	spreg__v1__list_objections_response__free_unpacked(objs, NULL);

	/* On the effective date the window is closed. */
	ck_assert_int_eq(put_customer("hooli", "billing", 30), SPREG_OK);
	fake_now_ms += 53LL * 86400000;	/* 2027-01-15 */
	ck_assert_int_eq(object("hooli", seq, msg, sizeof(msg)),
	    SPREG_FAILED_PRECONDITION);
	ck_assert_ptr_nonnull(strstr(msg, "closed on 2027-01-15"));
	fake_now_ms -= 53LL * 86400000;
	time_set_clock(NULL);
}
END_TEST

/* The server was down on the effective date: the change applies at the
 * next start, with no one touching it. */
START_TEST(due_change_applies_after_missed_restart)
{
	char msg[512];
	uint64_t seq;
	size_t applied;
	err e;

	time_set_clock(fake_clock);
	ck_assert_int_eq(put_customer("acme", "billing", 30), SPREG_OK);
	ck_assert_int_eq(announce("paynow", "2027-01-15", false, "", &seq, msg,
	    sizeof(msg)), SPREG_OK);
	ck_assert_int_eq(rpc_apply_due(srv, fake_now_ms, &applied, &e),
	    SPREG_OK);
	ck_assert_uint_eq(applied, 0);
	ck_assert_int_eq(status_of("paynow"), SP_STATUS_PROPOSED);

	/* "Restart": a new server object over the same store, a month
	 * after the date. */
	store_fixture_server_stop(&fx);
	store_fixture_server_start(&fx);
	int64_t later = fake_now_ms + 83LL * 86400000;	/* 2027-02-14 */
	ck_assert_int_eq(rpc_apply_due(srv, later, &applied, &e), SPREG_OK);
	ck_assert_uint_eq(applied, 2);	/* and the sample's brevo, upcoming */
	ck_assert_int_eq(status_of("paynow"), SP_STATUS_ACTIVE);
	ck_assert_int_eq(status_of("brevo"), SP_STATUS_ACTIVE);
	/* Applied once only. */
	ck_assert_int_eq(rpc_apply_due(srv, later, &applied, &e), SPREG_OK);
	ck_assert_uint_eq(applied, 0);

	Spreg__V1__ListChangesRequest lc = SPREG__V1__LIST_CHANGES_REQUEST__INIT;
	Spreg__V1__ListChangesResponse *changes;
	lc.since_seq = seq;
	lc.subprocessor_id = "paynow";
	ck_assert_int_eq(call(REG "ListChanges", &lc.base,
	    &spreg__v1__list_changes_response__descriptor,
	    (ProtobufCMessage **) &changes, NULL, 0), SPREG_OK);
	ck_assert_uint_eq(changes->n_changes, 1);
	ck_assert_int_eq(changes->changes[0]->kind, CHANGE_TOOK_EFFECT);
	ck_assert_uint_eq(changes->changes[0]->ref_seq, seq);
	spreg__v1__list_changes_response__free_unpacked(changes, NULL);
	time_set_clock(NULL);
}
END_TEST

START_TEST(customer_filters)
{
	char msg[512];
	uint64_t seq;

	ck_assert_int_eq(put_customer("acme", "billing", 30), SPREG_OK);
	Spreg__V1__ListSubprocessorsRequest l =
	    SPREG__V1__LIST_SUBPROCESSORS_REQUEST__INIT;
	Spreg__V1__ListSubprocessorsResponse *lr;
	l.customer = "acme";
	ck_assert_int_eq(call(REG "ListSubprocessors", &l.base,
	    &spreg__v1__list_subprocessors_response__descriptor,
	    (ProtobufCMessage **) &lr, msg, sizeof(msg)), SPREG_OK);
	ck_assert_uint_gt(lr->n_subprocessors, 0);
	for (size_t i = 0; i < lr->n_subprocessors; i++) {
		bool billing = false;
		for (size_t j = 0; j < lr->subprocessors[i]->n_services; j++) {
			billing = billing || strcmp(
			    lr->subprocessors[i]->services[j], "billing") == 0;
		}
		ck_assert_msg(billing, "%s", lr->subprocessors[i]->id);
	}
	spreg__v1__list_subprocessors_response__free_unpacked(lr, NULL);
	l.customer = "nobody";
	ck_assert_int_eq(call(REG "ListSubprocessors", &l.base,
	    &spreg__v1__list_subprocessors_response__descriptor, NULL, msg,
	    sizeof(msg)), SPREG_NOT_FOUND);

	/* The customer's change stream: its own record and its vendors. */
	time_set_clock(fake_clock);
	ck_assert_int_eq(announce("paynow", "2027-01-15", false, "", &seq, msg,
	    sizeof(msg)), SPREG_OK);
	time_set_clock(NULL);
	Spreg__V1__ListChangesRequest lc = SPREG__V1__LIST_CHANGES_REQUEST__INIT;
	Spreg__V1__ListChangesResponse *changes;
	lc.customer_id = "acme";
	lc.limit = 1000;
	ck_assert_int_eq(call(REG "ListChanges", &lc.base,
	    &spreg__v1__list_changes_response__descriptor,
	    (ProtobufCMessage **) &changes, NULL, 0), SPREG_OK);
	bool saw_announce = false;
	for (size_t i = 0; i < changes->n_changes; i++) {
		saw_announce = saw_announce || changes->changes[i]->seq == seq;
		ck_assert(changes->changes[i]->kind == CHANGE_CUSTOMER_UPDATED ||
		    changes->changes[i]->n_services > 0);
	}
	ck_assert(saw_announce);
	ck_assert_uint_eq(changes->next_since_seq, changes->last_seq);
	spreg__v1__list_changes_response__free_unpacked(changes, NULL);
	lc.subprocessor_id = "stripe";
	ck_assert_int_eq(call(REG "ListChanges", &lc.base,
	    &spreg__v1__list_changes_response__descriptor, NULL, msg,
	    sizeof(msg)), SPREG_INVALID_ARGUMENT);
}
END_TEST

/* Lists every id as of a date (all pages); returns the count. */
static size_t
ids_as_of(const char *as_of, char ids[][64], size_t max, char *msg,
    size_t msglen, spreg_status *st)
{
	Spreg__V1__ListSubprocessorsRequest l =
	    SPREG__V1__LIST_SUBPROCESSORS_REQUEST__INIT;
	Spreg__V1__ListSubprocessorsResponse *lr;
	char token[256] = "";
	size_t n = 0;

	l.as_of = (char *) as_of;
	l.page_size = 5;
	do {
		l.page_token = token;
		*st = call(REG "ListSubprocessors", &l.base,
		    &spreg__v1__list_subprocessors_response__descriptor,
		    (ProtobufCMessage **) &lr, msg, msglen);
		if (*st != SPREG_OK) {
			return 0;
		}
		for (size_t i = 0; i < lr->n_subprocessors && n < max; i++) {
			snprintf(ids[n++], 64, "%s", lr->subprocessors[i]->id);
			ck_assert_int_eq(lr->subprocessors[i]->status,
			    SP_STATUS_ACTIVE);
		}
		snprintf(token, sizeof(token), "%s", lr->next_page_token);
		spreg__v1__list_subprocessors_response__free_unpacked(lr,
		    NULL);
	} while (token[0] != '\0');
	return n;
}

static bool
listed(char ids[][64], size_t n, const char *id)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(ids[i], id) == 0) {
			return true;
		}
	}
	return false;
}

/* Facts from data/sample-registry.json: skype was retired 2025-05-05,
 * hetzner starts 2020-06-01, brevo is proposed for 2027-01-15. */
START_TEST(as_of_dates_on_sample)
{
	char ids[64][64], msg[512];
	spreg_status st;
	size_t n;

	n = ids_as_of("2020-01-01", ids, 64, msg, sizeof(msg), &st);
	ck_assert_int_eq(st, SPREG_OK);
	ck_assert(listed(ids, n, "skype"));
	ck_assert(listed(ids, n, "mailchimp"));
	ck_assert(!listed(ids, n, "hetzner"));
	ck_assert(!listed(ids, n, "brevo"));
	ck_assert(!listed(ids, n, "google-ads"));

	n = ids_as_of("2027-02-01", ids, 64, msg, sizeof(msg), &st);
	ck_assert_int_eq(st, SPREG_OK);
	ck_assert(listed(ids, n, "brevo"));
	ck_assert(listed(ids, n, "hetzner"));
	ck_assert(!listed(ids, n, "skype"));

	/* The day before a date and the date itself. */
	n = ids_as_of("2025-05-04", ids, 64, msg, sizeof(msg), &st);
	ck_assert(listed(ids, n, "skype"));
	n = ids_as_of("2025-05-05", ids, 64, msg, sizeof(msg), &st);
	ck_assert(!listed(ids, n, "skype"));

	ids_as_of("last tuesday", ids, 64, msg, sizeof(msg), &st);
	ck_assert_int_eq(st, SPREG_INVALID_ARGUMENT);
	ck_assert_ptr_nonnull(strstr(msg, "as_of"));

	Spreg__V1__GetSubprocessorRequest g =
	    SPREG__V1__GET_SUBPROCESSOR_REQUEST__INIT;
	g.id = "brevo";
	g.as_of = "2026-12-01";
	ck_assert_int_eq(call(REG "GetSubprocessor", &g.base,
	    &spreg__v1__get_subprocessor_response__descriptor, NULL, msg,
	    sizeof(msg)), SPREG_NOT_FOUND);
	ck_assert_ptr_nonnull(strstr(msg, "in effect"));
}
END_TEST

/* A future date shows announced changes; a moment shows what was
 * recorded then. */
START_TEST(as_of_announcements_and_moments)
{
	char msg[512];
	uint64_t seq;

	time_set_clock(fake_clock);
	ck_assert_int_eq(announce("stripe", "2027-01-15", false, "", &seq, msg,
	    sizeof(msg)), SPREG_OK);
	time_set_clock(NULL);
	Spreg__V1__GetSubprocessorRequest g =
	    SPREG__V1__GET_SUBPROCESSOR_REQUEST__INIT;
	Spreg__V1__GetSubprocessorResponse *r;
	g.id = "stripe";
	g.as_of = "2027-01-14";
	ck_assert_int_eq(call(REG "GetSubprocessor", &g.base,
	    &spreg__v1__get_subprocessor_response__descriptor,
	    (ProtobufCMessage **) &r, msg, sizeof(msg)), SPREG_OK);
	ck_assert_str_eq(r->subprocessor->name, "Stripe");
	spreg__v1__get_subprocessor_response__free_unpacked(r, NULL);
	g.as_of = "2027-01-15";
	ck_assert_int_eq(call(REG "GetSubprocessor", &g.base,
	    &spreg__v1__get_subprocessor_response__descriptor,
	    (ProtobufCMessage **) &r, msg, sizeof(msg)), SPREG_OK);
	ck_assert_str_eq(r->subprocessor->name, "New Vendor");
	spreg__v1__get_subprocessor_response__free_unpacked(r, NULL);

	/* Moments: before the store existed, nothing; then revision 1. */
	g.as_of = "2001-01-01T00:00:00Z";
	ck_assert_int_eq(call(REG "GetSubprocessor", &g.base,
	    &spreg__v1__get_subprocessor_response__descriptor, NULL, msg,
	    sizeof(msg)), SPREG_NOT_FOUND);
	put_req p;
	put_req_init(&p, "zoom");
	p.sp.name = "Zoom renamed";
	g.id = "zoom";
	g.as_of = "";
	ck_assert_int_eq(call(REG "GetSubprocessor", &g.base,
	    &spreg__v1__get_subprocessor_response__descriptor,
	    (ProtobufCMessage **) &r, NULL, 0), SPREG_OK);
	char moment[64];
	snprintf(moment, sizeof(moment), "%s", r->subprocessor->updated_at);
	spreg__v1__get_subprocessor_response__free_unpacked(r, NULL);
	int64_t later = time_now_ms() + 5000;
	fake_now_ms = later;
	time_set_clock(fake_clock);
	ck_assert_int_eq(call(REG "PutSubprocessor", &p.req.base,
	    &spreg__v1__put_subprocessor_response__descriptor, NULL, msg,
	    sizeof(msg)), SPREG_OK);
	time_set_clock(NULL);
	fake_now_ms = 1795435200000LL;
	g.as_of = moment;
	ck_assert_int_eq(call(REG "GetSubprocessor", &g.base,
	    &spreg__v1__get_subprocessor_response__descriptor,
	    (ProtobufCMessage **) &r, msg, sizeof(msg)), SPREG_OK);
	ck_assert_str_eq(r->subprocessor->name, "Zoom");
	ck_assert_int_eq(r->subprocessor->revision, 1);
	spreg__v1__get_subprocessor_response__free_unpacked(r, NULL);
}
END_TEST

/* Alters the store directly, as someone with the file could: a byte
 * flipped (reseal false: damage, the checksum no longer matches) or a
 * forgery that recomputes the checksum (reseal true). Straight through
 * LMDB, so a store already read-only is altered too. */
typedef struct tamper {
	db_table table;
	MDB_val key;
	int byte;		/* which byte of the payload to flip */
	bool reseal;
} tamper;

static void
tamper_with(const tamper *tp)
{
	MDB_txn *txn;
	MDB_val v;

	ck_assert_int_eq(mdb_txn_begin(db_env(d), NULL, 0, &txn), 0);
	ck_assert_int_eq(mdb_get(txn, db_dbi(d, tp->table),
	    (MDB_val *) &tp->key, &v), 0);
	ck_assert_uint_gt(v.mv_size, DB_VALUE_HEADER);
	unsigned char *copy = malloc(v.mv_size);
	memcpy(copy, v.mv_data, v.mv_size);
	copy[tp->byte < 0 ? v.mv_size - 1 :
	    DB_VALUE_HEADER + (size_t) tp->byte] ^= 0x01;
	if (tp->reseal) {
		db_value_seal(tp->table, &tp->key, copy + DB_VALUE_HEADER,
		    v.mv_size - DB_VALUE_HEADER, copy);
	}
	MDB_val nv = {v.mv_size, copy};
	ck_assert_int_eq(mdb_put(txn, db_dbi(d, tp->table),
	    (MDB_val *) &tp->key, &nv, 0), 0);
	ck_assert_int_eq(mdb_txn_commit(txn), 0);
	free(copy);
}

static Spreg__V1__VerifyLogResponse *
verify(void)
{
	Spreg__V1__VerifyLogRequest in = SPREG__V1__VERIFY_LOG_REQUEST__INIT;
	Spreg__V1__VerifyLogResponse *out;
	ck_assert_int_eq(call(REG "VerifyLog", &in.base,
	    &spreg__v1__verify_log_response__descriptor,
	    (ProtobufCMessage **) &out, NULL, 0), SPREG_OK);
	return out;
}

START_TEST(verify_points_at_altered_records)
{
	Spreg__V1__VerifyLogResponse *v = verify();
	uint64_t count, seq;

	fingerprint(&count, &seq);
	ck_assert(v->ok);
	ck_assert_uint_eq(v->checked_changes, seq);
	ck_assert_uint_eq(v->checked_records, count);
	ck_assert_uint_eq(v->head_hash.len, 32);
	spreg__v1__verify_log_response__free_unpacked(v, NULL);

	/* A current record damaged: its last byte flipped. The checksum
	 * names it; the server is read-only from then on. */
	tamper tp = {DB_SP, {6, "stripe"}, -1, false};
	tamper_with(&tp);
	v = verify();
	ck_assert(!v->ok);
	ck_assert_ptr_nonnull(strstr(v->problem, "'stripe'"));
	ck_assert_ptr_nonnull(strstr(v->problem, "damaged"));
	spreg__v1__verify_log_response__free_unpacked(v, NULL);
	tamper_with(&tp);	/* undo */
	v = verify();
	ck_assert(v->ok);
	spreg__v1__verify_log_response__free_unpacked(v, NULL);

	/* Forged: the same edit in the record and its history, checksums
	 * recomputed. The log's digest of the revision catches it. */
	tamper fp = {DB_SP, {6, "stripe"}, -1, true};
	unsigned char hk[16] = "stripe";
	db_be64_put(hk + 7, 1);
	tamper th = {DB_SP_HIST, {15, hk}, -1, true};
	tamper_with(&fp);
	tamper_with(&th);
	v = verify();
	ck_assert(!v->ok);
	ck_assert_ptr_nonnull(strstr(v->problem, "'stripe' revision 1"));
	ck_assert_uint_gt(v->first_bad_seq, 0);
	spreg__v1__verify_log_response__free_unpacked(v, NULL);
	tamper_with(&fp);
	tamper_with(&th);

	/* A log entry forged: the chain breaks at that seq. */
	unsigned char ck[8];
	db_be64_put(ck, 5);
	tamper tc = {DB_CHANGES, {8, ck}, 3, true};
	tamper_with(&tc);
	v = verify();
	ck_assert(!v->ok);
	ck_assert_uint_eq(v->first_bad_seq, 5);
	ck_assert_ptr_nonnull(strstr(v->problem, "change seq 5"));
	spreg__v1__verify_log_response__free_unpacked(v, NULL);
}
END_TEST

/* A record read before (its bytes compared since, not hashed: db/store.h)
 * is still never served once a byte of it changed, alone or in a page. */
START_TEST(records_read_before_are_checked_again)
{
	Spreg__V1__GetSubprocessorRequest g =
	    SPREG__V1__GET_SUBPROCESSOR_REQUEST__INIT;
	Spreg__V1__ListSubprocessorsRequest l =
	    SPREG__V1__LIST_SUBPROCESSORS_REQUEST__INIT;
	ProtobufCMessage *out;
	char msg[512];

	g.id = "stripe";
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(call(REG "GetSubprocessor", &g.base,
		    &spreg__v1__get_subprocessor_response__descriptor, &out,
		    NULL, 0), SPREG_OK);
		protobuf_c_message_free_unpacked(out, NULL);
		ck_assert_int_eq(call(REG "ListSubprocessors", &l.base,
		    &spreg__v1__list_subprocessors_response__descriptor, &out,
		    NULL, 0), SPREG_OK);
		protobuf_c_message_free_unpacked(out, NULL);
	}
	/* One bit of its first payload byte: the same length, the same
	 * key, the same stored checksum. */
	tamper tp = {DB_SP, {6, "stripe"}, 0, false};
	tamper_with(&tp);
	ck_assert_int_eq(call(REG "GetSubprocessor", &g.base,
	    &spreg__v1__get_subprocessor_response__descriptor, &out, msg,
	    sizeof(msg)), SPREG_DATA_LOSS);
	ck_assert_ptr_nonnull(strstr(msg, "'stripe'"));
	ck_assert_int_eq(call(REG "ListSubprocessors", &l.base,
	    &spreg__v1__list_subprocessors_response__descriptor, &out, msg,
	    sizeof(msg)), SPREG_DATA_LOSS);
	ck_assert_ptr_nonnull(strstr(msg, "'stripe'"));
	/* The bytes read before, back: they pass again. */
	tamper_with(&tp);
	ck_assert_int_eq(call(REG "GetSubprocessor", &g.base,
	    &spreg__v1__get_subprocessor_response__descriptor, &out, NULL,
	    0), SPREG_OK);
	protobuf_c_message_free_unpacked(out, NULL);
}
END_TEST

/* --max-page: every list call refuses a larger page by name, and a page
 * size left 0 takes the default only up to the limit. */
START_TEST(page_limit_is_the_servers)
{
	Spreg__V1__ServerInfoResponse *info = server_info();
	ck_assert_uint_eq(info->max_page_size, RPC_PAGE_MAX_DEFAULT);
	ck_assert_uint_eq(info->max_string_bytes, VALIDATE_TEXT_MAX_DEFAULT);
	ck_assert_uint_eq(info->max_list_entries, VALIDATE_LIST_MAX_DEFAULT);
	ck_assert_uint_eq(info->max_inflight, 0);	/* no src/net/ here */
	spreg__v1__server_info_response__free_unpacked(info, NULL);

	rpc_server_set_limits(srv, &(rpc_limits) {.message_max = 65536,
	    .inflight_max = 4, .page_max = 5});
	info = server_info();
	ck_assert_uint_eq(info->max_page_size, 5);
	ck_assert_uint_eq(info->max_inflight, 4);
	ck_assert_uint_eq(info->max_message_bytes, 65536);
	spreg__v1__server_info_response__free_unpacked(info, NULL);

	Spreg__V1__ListSubprocessorsRequest l =
	    SPREG__V1__LIST_SUBPROCESSORS_REQUEST__INIT;
	Spreg__V1__ListSubprocessorsResponse *lr;
	char msg[512];
	l.page_size = 6;
	ck_assert_int_eq(call(REG "ListSubprocessors", &l.base,
	    &spreg__v1__list_subprocessors_response__descriptor, NULL, msg,
	    sizeof(msg)), SPREG_INVALID_ARGUMENT);
	ck_assert_str_eq(msg, "page_size: at most 5");
	l.page_size = 0;
	ck_assert_int_eq(call(REG "ListSubprocessors", &l.base,
	    &spreg__v1__list_subprocessors_response__descriptor,
	    (ProtobufCMessage **) &lr, NULL, 0), SPREG_OK);
	ck_assert_uint_eq(lr->n_subprocessors, 5);
	ck_assert_str_ne(lr->next_page_token, "");
	spreg__v1__list_subprocessors_response__free_unpacked(lr, NULL);

	Spreg__V1__ListChangesRequest c = SPREG__V1__LIST_CHANGES_REQUEST__INIT;
	Spreg__V1__ListChangesResponse *cr;
	c.limit = 1000;
	ck_assert_int_eq(call(REG "ListChanges", &c.base,
	    &spreg__v1__list_changes_response__descriptor, NULL, msg,
	    sizeof(msg)), SPREG_INVALID_ARGUMENT);
	ck_assert_str_eq(msg, "limit: at most 5");
	c.limit = 0;
	ck_assert_int_eq(call(REG "ListChanges", &c.base,
	    &spreg__v1__list_changes_response__descriptor,
	    (ProtobufCMessage **) &cr, NULL, 0), SPREG_OK);
	ck_assert_uint_eq(cr->n_changes, 5);
	spreg__v1__list_changes_response__free_unpacked(cr, NULL);

	Spreg__V1__ListCustomersRequest lc =
	    SPREG__V1__LIST_CUSTOMERS_REQUEST__INIT;
	lc.page_size = 100;
	ck_assert_int_eq(call(REG "ListCustomers", &lc.base,
	    &spreg__v1__list_customers_response__descriptor, NULL, msg,
	    sizeof(msg)), SPREG_INVALID_ARGUMENT);
	ck_assert_str_eq(msg, "page_size: at most 5");
}
END_TEST

/* --max-string and --max-list reach every write: the error names the
 * field and the limit, and nothing is stored. */
START_TEST(string_and_list_limits_in_writes)
{
	uint64_t count0, seq0, count1, seq1;
	char msg[512];

	fingerprint(&count0, &seq0);
	validate_limits_set(&(validate_limits) {20, 1});
	Spreg__V1__ServerInfoResponse *info = server_info();
	ck_assert_uint_eq(info->max_string_bytes, 20);
	ck_assert_uint_eq(info->max_list_entries, 1);
	spreg__v1__server_info_response__free_unpacked(info, NULL);

	put_req p;
	put_req_init(&p, "limited");
	p.sp.purpose = "twenty-one bytes long";
	ck_assert_int_eq(call(REG "PutSubprocessor", &p.req.base,
	    &spreg__v1__put_subprocessor_response__descriptor, NULL, msg,
	    sizeof(msg)), SPREG_INVALID_ARGUMENT);
	ck_assert_str_eq(msg, "purpose: longer than 20 bytes");

	put_req_init(&p, "limited");
	char *two[] = {"user.contact.email", "user.name"};
	p.sp.data_categories = two;
	p.sp.n_data_categories = 2;
	ck_assert_int_eq(call(REG "PutSubprocessor", &p.req.base,
	    &spreg__v1__put_subprocessor_response__descriptor, NULL, msg,
	    sizeof(msg)), SPREG_INVALID_ARGUMENT);
	ck_assert_str_eq(msg, "data_categories: more than 1 entries");

	Spreg__V1__PutDataCategoryRequest dc =
	    SPREG__V1__PUT_DATA_CATEGORY_REQUEST__INIT;
	Spreg__V1__DataCategory cat_in = SPREG__V1__DATA_CATEGORY__INIT;
	dc.category = &cat_in;
	cat_in.key = "user.contact.pager";
	cat_in.parent = "user.contact";
	cat_in.name = "Pager";
	cat_in.description = "a number that beeps, once common";
	ck_assert_int_eq(call(REG "PutDataCategory", &dc.base,
	    &spreg__v1__put_data_category_response__descriptor, NULL, msg,
	    sizeof(msg)), SPREG_INVALID_ARGUMENT);
	ck_assert_str_eq(msg, "category.description: at most 20 bytes of text");

	Spreg__V1__PutCustomerRequest pc = SPREG__V1__PUT_CUSTOMER_REQUEST__INIT;
	Spreg__V1__Customer cu = SPREG__V1__CUSTOMER__INIT;
	char *services[] = {"billing", "support"};
	cu.id = "acme";
	cu.name = "Acme";
	cu.services = services;
	cu.n_services = 2;
	pc.customer = &cu;
	ck_assert_int_eq(call(REG "PutCustomer", &pc.base,
	    &spreg__v1__put_customer_response__descriptor, NULL, msg,
	    sizeof(msg)), SPREG_INVALID_ARGUMENT);
	ck_assert_str_eq(msg, "customer.services: more than 1 entries");

	fingerprint(&count1, &seq1);
	ck_assert_uint_eq(count0, count1);
	ck_assert_uint_eq(seq0, seq1);

	/* Within the limits the same kinds of write pass. */
	put_req_init(&p, "limited");
	p.sp.purpose = "twenty bytes exactly";
	ck_assert_msg(call(REG "PutSubprocessor", &p.req.base,
	    &spreg__v1__put_subprocessor_response__descriptor, NULL, msg,
	    sizeof(msg)) == SPREG_OK, "%s", msg);
	cu.n_services = 1;
	ck_assert_msg(call(REG "PutCustomer", &pc.base,
	    &spreg__v1__put_customer_response__descriptor, NULL, msg,
	    sizeof(msg)) == SPREG_OK, "%s", msg);
}
END_TEST

/* Bidi controls and invalid UTF-8 in names, prose, reasons and the
 * actor: refused naming the field, nothing stored. */
START_TEST(bidi_and_bad_utf8_refused_store_unchanged)
{
	static const char rlo[] = "Acme \xe2\x80\xae" "cod.exe";
	uint64_t count0, seq0, count1, seq1, seq;
	char msg[512];

	time_set_clock(fake_clock);
	fingerprint(&count0, &seq0);

	put_req p;
	put_req_init(&p, "bidi-vendor");
	p.sp.name = (char *) rlo;
	ck_assert_int_eq(call(REG "PutSubprocessor", &p.req.base,
	    &spreg__v1__put_subprocessor_response__descriptor, NULL, msg,
	    sizeof(msg)), SPREG_INVALID_ARGUMENT);
	ck_assert_str_eq(msg,
	    "name: has a bidirectional control character (U+202E)");

	Spreg__V1__PutDataCategoryRequest dc =
	    SPREG__V1__PUT_DATA_CATEGORY_REQUEST__INIT;
	Spreg__V1__DataCategory cat_in = SPREG__V1__DATA_CATEGORY__INIT;
	dc.category = &cat_in;
	cat_in.key = "user.contact.pager";
	cat_in.parent = "user.contact";
	cat_in.name = "Pager \xe2\x81\xa6x";
	ck_assert_int_eq(call(REG "PutDataCategory", &dc.base,
	    &spreg__v1__put_data_category_response__descriptor, NULL, msg,
	    sizeof(msg)), SPREG_INVALID_ARGUMENT);
	ck_assert_str_eq(msg,
	    "category.name: has a bidirectional control character (U+2066)");
	cat_in.name = "Pager";
	cat_in.description = "beeps \xe2\x80\xab" "twice";
	ck_assert_int_eq(call(REG "PutDataCategory", &dc.base,
	    &spreg__v1__put_data_category_response__descriptor, NULL, msg,
	    sizeof(msg)), SPREG_INVALID_ARGUMENT);
	ck_assert_str_eq(msg, "category.description: has a bidirectional "
	    "control character (U+202B)");

	Spreg__V1__PutCustomerRequest pc = SPREG__V1__PUT_CUSTOMER_REQUEST__INIT;
	Spreg__V1__Customer cu = SPREG__V1__CUSTOMER__INIT;
	cu.id = "acme";
	cu.name = "Acme\xe2\x80\x8f";	/* RLM: not in a name */
	pc.customer = &cu;
	ck_assert_int_eq(call(REG "PutCustomer", &pc.base,
	    &spreg__v1__put_customer_response__descriptor, NULL, msg,
	    sizeof(msg)), SPREG_INVALID_ARGUMENT);
	ck_assert_str_eq(msg,
	    "customer.name: has a bidirectional control character (U+200F)");

	/* A reason is stored even without an emergency: checked too. */
	ck_assert_int_eq(announce("paynow", "2027-01-07", false, "bad \xff",
	    &seq, msg, sizeof(msg)), SPREG_INVALID_ARGUMENT);
	ck_assert_str_eq(msg, "reason: not valid UTF-8");

	/* The actor is recorded on every change. */
	put_req_init(&p, "bidi-vendor");
	envelope_actor = rlo;
	ck_assert_int_eq(call(REG "PutSubprocessor", &p.req.base,
	    &spreg__v1__put_subprocessor_response__descriptor, NULL, msg,
	    sizeof(msg)), SPREG_INVALID_ARGUMENT);
	ck_assert_str_eq(msg,
	    "actor: has a bidirectional control character (U+202E)");
	envelope_actor = "bad \xc3(";
	ck_assert_int_eq(call(REG "PutSubprocessor", &p.req.base,
	    &spreg__v1__put_subprocessor_response__descriptor, NULL, msg,
	    sizeof(msg)), SPREG_INVALID_ARGUMENT);
	ck_assert_str_eq(msg, "actor: not valid UTF-8");
	envelope_actor = "tester";

	fingerprint(&count1, &seq1);
	ck_assert_uint_eq(count1, count0);
	ck_assert_uint_eq(seq1, seq0);
	time_set_clock(NULL);
}
END_TEST

/* A monotonic clock the tests move; starts where the real one is, so a
 * server created before it was injected sees no jump. */
static int64_t fake_mono_ms;

static int64_t
fake_mono(void)
{
	return fake_mono_ms;
}

static void
fake_clocks_start(void)
{
	fake_mono_ms = time_mono_ms();
	time_set_mono_clock(fake_mono);
	time_set_clock(fake_clock);
}

static void
fake_clocks_stop(void)
{
	time_set_mono_clock(NULL);
	time_set_clock(NULL);
	fake_now_ms = 1795435200000LL;
}

/* A create_only put of id under request_id; the change's seq, or 0 when
 * it failed (*code tells how). */
static uint64_t
put_once(const char *id, uint64_t request_id, spreg_status *code)
{
	Spreg__V1__PutSubprocessorResponse *r;
	put_req p;
	uint64_t seq = 0;

	put_req_init(&p, id);
	p.req.create_only = true;
	*code = call_id(REG "PutSubprocessor", request_id, &p.req.base,
	    &spreg__v1__put_subprocessor_response__descriptor,
	    (ProtobufCMessage **) &r, NULL, 0);
	if (*code == SPREG_OK) {
		seq = r->change->seq;
		spreg__v1__put_subprocessor_response__free_unpacked(r, NULL);
	}
	return seq;
}

/* The at-most-once window is 24 h of store time: a wall clock stepped
 * forward 25 h expires nothing; 25 h really passing does. */
START_TEST(replay_window_ignores_wall_clock_steps)
{
	spreg_status code;

	fake_clocks_start();
	uint64_t first = put_once("replayed-vendor", 501, &code);
	ck_assert_int_eq(code, SPREG_OK);
	fake_now_ms += 25LL * 3600 * 1000;
	/* Another write: the one that forgets expired ids. */
	ck_assert_uint_gt(put_once("other-vendor", 502, &code), first);
	ck_assert_uint_eq(put_once("replayed-vendor", 501, &code), first);
	ck_assert_int_eq(code, SPREG_OK);

	/* A day of store time later the id is forgotten: the resend runs
	 * again, and create_only shows it. */
	fake_mono_ms += 25LL * 3600 * 1000;
	ck_assert_uint_gt(put_once("third-vendor", 503, &code), first);
	ck_assert_uint_eq(put_once("replayed-vendor", 501, &code), 0);
	ck_assert_int_eq(code, SPREG_ALREADY_EXISTS);
	fake_clocks_stop();
}
END_TEST

/* The wall clock steps back an hour: change times stay at the last one
 * until the clock catches up, then follow it again. */
START_TEST(change_times_never_go_back)
{
	char t0[TIME_BUF], t1[TIME_BUF];
	Spreg__V1__PutSubprocessorResponse *r;
	const char *ids[] = {"v-one", "v-two", "v-three", "v-four"};
	const int64_t steps[] = {0, -3600000, 1000, 3601000};

	fake_clocks_start();
	int64_t start = fake_now_ms;
	time_format(start, t0);
	time_format(start + 2000, t1);
	for (size_t i = 0; i < 4; i++) {
		put_req p;
		fake_now_ms += steps[i];
		put_req_init(&p, ids[i]);
		ck_assert_int_eq(call(REG "PutSubprocessor", &p.req.base,
		    &spreg__v1__put_subprocessor_response__descriptor,
		    (ProtobufCMessage **) &r, NULL, 0), SPREG_OK);
		/* Three writes at the held time, then the clock again. */
		ck_assert_str_eq(r->change->time, i < 3 ? t0 : t1);
		ck_assert_str_eq(r->subprocessor->updated_at, r->change->time);
		spreg__v1__put_subprocessor_response__free_unpacked(r, NULL);
	}
	fake_clocks_stop();
}
END_TEST

/* timeout_ms counts on the server's monotonic clock from arrival; a
 * write that waited past it changes nothing. */
START_TEST(timeout_counts_from_arrival)
{
	Spreg__V1__Request env = SPREG__V1__REQUEST__INIT;
	Spreg__V1__Reply r;
	uint64_t count0, seq0, count1, seq1;
	uint8_t buf[4096];
	put_req p;
	rpc_writer *wr;
	err e;

	ck_assert_int_eq(rpc_writer_create(srv, &wr, &e), SPREG_OK);
	fake_clocks_start();
	fingerprint(&count0, &seq0);
	put_req_init(&p, "late-vendor");
	uint8_t payload[2048];
	env.method = REG "PutSubprocessor";
	env.request_id = 601;
	env.timeout_ms = 200;
	env.payload.len = protobuf_c_message_pack(&p.req.base, payload);
	env.payload.data = payload;
	size_t len = spreg__v1__request__pack(&env, buf);

	ck_assert(rpc_handle_begin(w, buf, len, &r));
	fake_mono_ms += 201;	/* queued behind a slow commit */
	rpc_write_batch(wr, &w, 1);
	ck_assert_int_eq(r.code, SPREG_DEADLINE_EXCEEDED);
	ck_assert_str_eq(r.message,
	    "timeout_ms: 200 ms passed before the request was run");
	fingerprint(&count1, &seq1);
	ck_assert_uint_eq(seq1, seq0);
	ck_assert_uint_eq(count1, count0);

	/* Within it, it runs, however far the wall clock is off. */
	fake_now_ms += 11000;
	env.request_id = 602;
	len = spreg__v1__request__pack(&env, buf);
	ck_assert(rpc_handle_begin(w, buf, len, &r));
	fake_mono_ms += 200;
	rpc_write_batch(wr, &w, 1);
	ck_assert_int_eq(r.code, SPREG_OK);
	fake_clocks_stop();
	rpc_writer_destroy(wr);
}
END_TEST

static spreg_status
withdraw(uint64_t seq, const char *reason,
    Spreg__V1__WithdrawAnnouncementResponse **out, char *msg, size_t msglen)
{
	Spreg__V1__WithdrawAnnouncementRequest in =
	    SPREG__V1__WITHDRAW_ANNOUNCEMENT_REQUEST__INIT;

	in.change_seq = seq;
	in.reason = (char *) reason;
	return call(REG "WithdrawAnnouncement", &in.base,
	    &spreg__v1__withdraw_announcement_response__descriptor,
	    (ProtobufCMessage **) out, msg, msglen);
}

/* The changes after since concerning customer. */
static Spreg__V1__ListChangesResponse *
changes_for(uint64_t since, const char *customer)
{
	Spreg__V1__ListChangesRequest in = SPREG__V1__LIST_CHANGES_REQUEST__INIT;
	Spreg__V1__ListChangesResponse *out;

	in.since_seq = since;
	in.customer_id = (char *) customer;
	ck_assert_int_eq(call(REG "ListChanges", &in.base,
	    &spreg__v1__list_changes_response__descriptor,
	    (ProtobufCMessage **) &out, NULL, 0), SPREG_OK);
	return out;
}

/* Refused with want, the message naming field first. */
#define ck_refused(expr, want, field, msg) do { \
	spreg_status st_ = (expr); \
	ck_assert_msg(st_ == (want), "%s (%s), want %s", \
	    spreg_status_name(st_), (msg), spreg_status_name(want)); \
	ck_assert_msg(strncmp((msg), (field), strlen(field)) == 0, \
	    "'%s' does not name %s", (msg), (field)); \
} while (0)

/* The last seq, which a refusal must leave as it was. */
static uint64_t
log_head(void)
{
	uint64_t count, seq;

	fingerprint(&count, &seq);
	return seq;
}

START_TEST(withdraw_before_the_date)
{
	Spreg__V1__WithdrawAnnouncementResponse *wr;
	char msg[512];
	uint64_t seq, before;
	size_t applied;
	err e;

	time_set_clock(fake_clock);
	ck_assert_int_eq(put_customer("acme", "billing", 30), SPREG_OK);
	ck_assert_int_eq(put_customer("hooli", "billing", 30), SPREG_OK);
	ck_assert_int_eq(put_customer("initech", "support", 30), SPREG_OK);
	ck_assert_int_eq(announce("paynow", "2027-01-15", false, "", &seq, msg,
	    sizeof(msg)), SPREG_OK);
	ck_assert_int_eq(object("acme", seq, msg, sizeof(msg)), SPREG_OK);
	before = log_head();

	/* Bad input, an unknown seq or one that is no announcement. */
	ck_refused(withdraw(0, "why", NULL, msg, sizeof(msg)),
	    SPREG_INVALID_ARGUMENT, "change_seq:", msg);
	ck_refused(withdraw(seq, "", NULL, msg, sizeof(msg)),
	    SPREG_INVALID_ARGUMENT, "reason:", msg);
	ck_refused(withdraw(seq + 100, "why", NULL, msg, sizeof(msg)),
	    SPREG_NOT_FOUND, "change_seq:", msg);
	ck_refused(withdraw(seq - 1, "why", NULL, msg, sizeof(msg)),
	    SPREG_NOT_FOUND, "change_seq:", msg);	/* PutCustomer's */
	ck_assert_uint_eq(log_head(), before);

	ck_assert_int_eq(withdraw(seq, "the contract fell through", &wr, msg,
	    sizeof(msg)), SPREG_OK);
	ck_assert(wr->announcement->withdrawn);
	ck_assert(!wr->announcement->applied);
	ck_assert_uint_eq(wr->announcement->seq, seq);
	ck_assert_int_eq(wr->change->kind, CHANGE_WITHDRAWN);
	ck_assert_uint_eq(wr->change->seq, before + 1);
	ck_assert_uint_eq(wr->change->ref_seq, seq);
	ck_assert_str_eq(wr->change->reason, "the contract fell through");
	ck_assert_str_eq(wr->change->effective_at, "2027-01-15");
	ck_assert_str_eq(wr->change->subprocessor_id, "paynow");
	/* The customer owed the longest notice, as in the announcement
	 * (a tie: the first by id). */
	ck_assert_str_eq(wr->change->customer_id, "acme");
	spreg__v1__withdraw_announcement_response__free_unpacked(wr, NULL);

	/* Logged for the customers told of the announcement (the topics
	 * carry what ListChanges gives with the same filter). */
	Spreg__V1__ListChangesResponse *lc = changes_for(before, "acme");
	ck_assert_uint_eq(lc->n_changes, 1);
	ck_assert_int_eq(lc->changes[0]->kind, CHANGE_WITHDRAWN);
	spreg__v1__list_changes_response__free_unpacked(lc, NULL);
	lc = changes_for(before, "initech");
	ck_assert_uint_eq(lc->n_changes, 0);
	spreg__v1__list_changes_response__free_unpacked(lc, NULL);

	/* Twice, or an objection to it now: refused, nothing written. */
	before = log_head();
	ck_refused(withdraw(seq, "again", NULL, msg, sizeof(msg)),
	    SPREG_FAILED_PRECONDITION, "change_seq:", msg);
	ck_refused(object("hooli", seq, msg, sizeof(msg)),
	    SPREG_FAILED_PRECONDITION, "change_seq:", msg);
	ck_assert_ptr_nonnull(strstr(msg, "withdrawn"));
	ck_assert_uint_eq(log_head(), before);

	/* acme's objection stays on record. */
	only_objector(seq, "acme");

	/* Not pending; listed, withdrawn, with the applied ones. */
	Spreg__V1__ListAnnouncementsRequest la =
	    SPREG__V1__LIST_ANNOUNCEMENTS_REQUEST__INIT;
	Spreg__V1__ListAnnouncementsResponse *anns;
	ck_assert_int_eq(call(REG "ListAnnouncements", &la.base,
	    &spreg__v1__list_announcements_response__descriptor,
	    (ProtobufCMessage **) &anns, NULL, 0), SPREG_OK);
	ck_assert_uint_eq(anns->n_announcements, 0);
	spreg__v1__list_announcements_response__free_unpacked(anns, NULL);
	la.include_applied = true;
	ck_assert_int_eq(call(REG "ListAnnouncements", &la.base,
	    &spreg__v1__list_announcements_response__descriptor,
	    (ProtobufCMessage **) &anns, NULL, 0), SPREG_OK);
	ck_assert_uint_eq(anns->n_announcements, 1);
	ck_assert(anns->announcements[0]->withdrawn);
	spreg__v1__list_announcements_response__free_unpacked(anns, NULL);

	/* It never takes effect; the vendor may be announced afresh. */
	ck_assert_int_eq(rpc_apply_due(srv, fake_now_ms + 60 * 86400000LL,
	    &applied, &e), SPREG_OK);
	ck_assert_uint_eq(applied, 1);	/* the sample's brevo only */
	ck_assert_int_eq(status_of("paynow"), SP_STATUS_PROPOSED);
	ck_assert_int_eq(status_of("brevo"), SP_STATUS_ACTIVE);
	ck_assert_int_eq(announce("paynow", "2027-03-01", false, "", &seq, msg,
	    sizeof(msg)), SPREG_OK);
	time_set_clock(NULL);
}
END_TEST

START_TEST(withdraw_too_late)
{
	char msg[512];
	uint64_t seq, before;
	size_t applied;
	err e;

	time_set_clock(fake_clock);
	ck_assert_int_eq(put_customer("acme", "billing", 30), SPREG_OK);
	ck_assert_int_eq(announce("paynow", "2027-01-15", false, "", &seq, msg,
	    sizeof(msg)), SPREG_OK);
	/* On its date, even before the server applied it. */
	fake_now_ms += 53LL * 86400000;	/* 2027-01-15 */
	before = log_head();
	ck_refused(withdraw(seq, "oops", NULL, msg, sizeof(msg)),
	    SPREG_FAILED_PRECONDITION, "change_seq:", msg);
	ck_assert_ptr_nonnull(strstr(msg, "2027-01-15"));
	ck_assert_uint_eq(log_head(), before);
	ck_assert_int_eq(rpc_apply_due(srv, fake_now_ms, &applied, &e),
	    SPREG_OK);
	ck_assert_uint_eq(applied, 2);	/* with brevo, due the same day */
	before = log_head();
	ck_refused(withdraw(seq, "oops", NULL, msg, sizeof(msg)),
	    SPREG_FAILED_PRECONDITION, "change_seq:", msg);
	ck_assert_uint_eq(log_head(), before);
	ck_assert_int_eq(status_of("paynow"), SP_STATUS_ACTIVE);
	fake_now_ms -= 53LL * 86400000;
	time_set_clock(NULL);
}
END_TEST

/* Puts sp, maybe as an emergency; on OK the response is in *out (if
 * given, caller frees). */
static spreg_status
put_sp(Spreg__V1__Subprocessor *sp, bool emergency, const char *reason,
    Spreg__V1__PutSubprocessorResponse **out, char *msg, size_t msglen)
{
	Spreg__V1__PutSubprocessorRequest in =
	    SPREG__V1__PUT_SUBPROCESSOR_REQUEST__INIT;

	in.subprocessor = sp;
	in.emergency = emergency;
	in.reason = (char *) reason;
	return call(REG "PutSubprocessor", &in.base,
	    &spreg__v1__put_subprocessor_response__descriptor,
	    (ProtobufCMessage **) out, msg, msglen);
}

static Spreg__V1__Subprocessor *
get_sp(const char *id, const char *as_of)
{
	Spreg__V1__GetSubprocessorRequest g =
	    SPREG__V1__GET_SUBPROCESSOR_REQUEST__INIT;
	Spreg__V1__GetSubprocessorResponse *r;

	g.id = (char *) id;
	g.as_of = (char *) as_of;
	if (call(REG "GetSubprocessor", &g.base,
	        &spreg__v1__get_subprocessor_response__descriptor,
	        (ProtobufCMessage **) &r, NULL, 0) != SPREG_OK) {
		return NULL;
	}
	Spreg__V1__Subprocessor *sp = r->subprocessor;
	r->subprocessor = NULL;
	spreg__v1__get_subprocessor_response__free_unpacked(r, NULL);
	return sp;
}

/* Refused naming the customer owed notice, its days and the earliest
 * date, pointing to AnnounceChange; nothing written. */
static void
ck_notice_refused(Spreg__V1__Subprocessor *sp, const char *customer,
    const char *days, const char *earliest)
{
	char msg[512];
	uint64_t count0, seq0, count1, seq1;

	fingerprint(&count0, &seq0);
	ck_refused(put_sp(sp, false, "", NULL, msg, sizeof(msg)),
	    SPREG_FAILED_PRECONDITION, "effective_from:", msg);
	ck_assert_msg(strstr(msg, customer) && strstr(msg, days) &&
	    strstr(msg, earliest) && strstr(msg, "AnnounceChange") &&
	    strstr(msg, "spreg announce"), "%s", msg);
	fingerprint(&count1, &seq1);
	ck_assert_uint_eq(count1, count0);
	ck_assert_uint_eq(seq1, seq0);
}

/* A put that would bypass the advance notice is refused; an emergency
 * goes through, recorded; a proposal always does. */
START_TEST(put_cannot_bypass_notice)
{
	Spreg__V1__PutSubprocessorResponse *pr;
	char msg[512], *billing[] = {"billing"};
	put_req p;

	time_set_clock(fake_clock);	/* 2026-11-23 */
	ck_assert_int_eq(put_customer("acme", "billing", 30), SPREG_OK);
	ck_assert_int_eq(put_customer("globex", "billing", 45), SPREG_OK);
	ck_assert_int_eq(put_customer("initech", "support", 90), SPREG_OK);

	/* A new vendor for billing, from today (no date given) or 44 days
	 * on: globex is owed 45. */
	put_req_init(&p, "paynow");
	p.sp.services = billing;
	p.sp.n_services = 1;
	p.sp.effective_from = "";
	ck_notice_refused(&p.sp, "'globex'", "45 days", "2027-01-07");
	p.sp.effective_from = "2027-01-06";
	ck_notice_refused(&p.sp, "'globex'", "45 days", "2027-01-07");
	/* Retired in the future is in use until then: the same. */
	p.sp.status = SP_STATUS_RETIRED;
	p.sp.effective_until = "2027-06-01";
	ck_notice_refused(&p.sp, "'globex'", "45 days", "2027-01-07");
	p.sp.effective_until = "";

	/* Proposed: always accepted, and never in use by itself. */
	p.sp.status = SP_STATUS_PROPOSED;
	p.sp.effective_from = "";
	ck_assert_int_eq(put_sp(&p.sp, false, "", &pr, msg, sizeof(msg)),
	    SPREG_OK);
	ck_assert_int_eq(pr->subprocessor->status, SP_STATUS_PROPOSED);
	ck_assert_str_eq(pr->subprocessor->effective_from, "2026-11-23");
	spreg__v1__put_subprocessor_response__free_unpacked(pr, NULL);
	/* Making the proposal active is checked like a new vendor. */
	p.sp.status = SP_STATUS_ACTIVE;
	p.sp.effective_from = "2027-01-06";
	ck_notice_refused(&p.sp, "'globex'", "45 days", "2027-01-07");

	/* Exactly 45 days: accepted, upcoming (proposed until then). */
	p.sp.effective_from = "2027-01-07";
	ck_assert_int_eq(put_sp(&p.sp, false, "", &pr, msg, sizeof(msg)),
	    SPREG_OK);
	ck_assert_int_eq(pr->subprocessor->status, SP_STATUS_PROPOSED);
	ck_assert_str_eq(pr->change->effective_at, "2027-01-07");
	ck_assert(!pr->change->emergency);
	spreg__v1__put_subprocessor_response__free_unpacked(pr, NULL);

	/* Stripe (billing) newly in a country, with a new category, or
	 * newly serving support (initech's, 90 days). */
	Spreg__V1__Subprocessor *stripe = get_sp("stripe", "");
	ck_assert_ptr_nonnull(stripe);
	Spreg__V1__Location br = SPREG__V1__LOCATION__INIT, **locs =
	    malloc((stripe->n_locations + 1) * sizeof(*locs));
	memcpy(locs, stripe->locations, stripe->n_locations * sizeof(*locs));
	br.country = "BR";
	br.role = "support";
	locs[stripe->n_locations] = &br;
	Spreg__V1__Location **old_locs = stripe->locations;
	stripe->locations = locs;
	stripe->n_locations++;
	ck_notice_refused(stripe, "'globex'", "45 days", "2027-01-07");
	stripe->locations = old_locs;
	stripe->n_locations--;
	char *cats[16];
	size_t ncats = stripe->n_data_categories;
	char **old_cats = stripe->data_categories;
	memcpy(cats, old_cats, ncats * sizeof(*cats));
	cats[ncats] = "user.behavior";
	stripe->data_categories = cats;
	stripe->n_data_categories = ncats + 1;
	ck_notice_refused(stripe, "'globex'", "45 days", "2027-01-07");
	stripe->data_categories = old_cats;
	stripe->n_data_categories = ncats;
	char *services[] = {"billing", "support"}, **old_services =
	    stripe->services;
	size_t old_nservices = stripe->n_services;
	stripe->services = services;
	stripe->n_services = 2;
	ck_notice_refused(stripe, "'initech'", "90 days", "2027-02-21");
	stripe->services = old_services;
	stripe->n_services = old_nservices;
	/* Fewer countries, or a new purpose: no notice needed. */
	char *old_purpose = stripe->purpose;
	size_t old_nlocations = stripe->n_locations;
	stripe->purpose = "Payments";
	stripe->n_locations = 1;
	ck_assert_int_eq(put_sp(stripe, false, "", NULL, msg, sizeof(msg)),
	    SPREG_OK);

	/* An emergency needs a reason, and records it with the customer
	 * and the day. */
	stripe->locations = locs;
	stripe->n_locations = 2;
	locs[1] = &br;
	uint64_t count0, seq0, count1, seq1;
	fingerprint(&count0, &seq0);
	ck_refused(put_sp(stripe, true, "", NULL, msg, sizeof(msg)),
	    SPREG_INVALID_ARGUMENT, "reason:", msg);
	fingerprint(&count1, &seq1);
	ck_assert_uint_eq(seq1, seq0);
	ck_assert_int_eq(put_sp(stripe, true, "Brazilian support desk after "
	    "an outage", &pr, msg, sizeof(msg)), SPREG_OK);
	ck_assert(pr->change->emergency);
	ck_assert_str_eq(pr->change->reason,
	    "Brazilian support desk after an outage");
	ck_assert_str_eq(pr->change->customer_id, "globex");
	ck_assert_str_eq(pr->change->effective_at, "2026-11-23");
	ck_assert_int_eq(pr->subprocessor->status, SP_STATUS_ACTIVE);
	spreg__v1__put_subprocessor_response__free_unpacked(pr, NULL);
	stripe->locations = old_locs;
	stripe->n_locations = old_nlocations;
	stripe->purpose = old_purpose;
	free(locs);
	spreg__v1__subprocessor__free_unpacked(stripe, NULL);

	/* Ten days on, an edit of paynow that adds nothing stands; moving
	 * its date earlier does not. (Writes never go back in time.) */
	fake_now_ms += 10 * 86400000LL;	/* 2026-12-03 */
	p.sp.effective_from = "2027-01-07";
	p.sp.purpose = "Card payments";
	ck_assert_int_eq(put_sp(&p.sp, false, "", NULL, msg, sizeof(msg)),
	    SPREG_OK);
	p.sp.effective_from = "2027-01-06";
	ck_notice_refused(&p.sp, "'globex'", "45 days", "2027-01-17");
	fake_now_ms -= 10 * 86400000LL;
	time_set_clock(NULL);
}
END_TEST

/* A customer's own choice (kind customer_selected) is owed no notice:
 * not to the customer who chose it and contracts with it, nor to any
 * other (it serves none). Written from today, changed, announced for
 * tomorrow: no emergency needed. A vendor of the same service that we
 * engage still is owed notice to both. */
START_TEST(customer_selected_owes_no_notice)
{
	Spreg__V1__PutSubprocessorResponse *pr;
	char msg[512], *billing[] = {"billing"};
	put_req p;

	time_set_clock(fake_clock);	/* 2026-11-23 */
	ck_assert_int_eq(put_customer("leen", "billing", 30), SPREG_OK);
	ck_assert_int_eq(put_customer("globex", "billing", 45), SPREG_OK);
	put_req_init(&p, "llm-provider");
	p.sp.services = billing;
	p.sp.n_services = 1;
	p.sp.effective_from = "";
	p.sp.kind = "customer_selected";
	p.sp.customer = "leen";
	ck_assert_msg(put_sp(&p.sp, false, "", &pr, msg, sizeof(msg)) ==
	    SPREG_OK, "%s", msg);
	ck_assert_int_eq(pr->subprocessor->status, SP_STATUS_ACTIVE);
	ck_assert(!pr->change->emergency);
	spreg__v1__put_subprocessor_response__free_unpacked(pr, NULL);
	/* Newly in a country, a change announced for tomorrow. */
	p.loc.country = "US";
	ck_assert_msg(put_sp(&p.sp, false, "", NULL, msg, sizeof(msg)) ==
	    SPREG_OK, "%s", msg);
	Spreg__V1__AnnounceChangeRequest an =
	    SPREG__V1__ANNOUNCE_CHANGE_REQUEST__INIT;
	Spreg__V1__AnnounceChangeResponse *ar;
	p.loc.country = "JP";
	an.subprocessor = &p.sp;
	an.effective_at = "2026-11-24";
	ck_assert_msg(call(REG "AnnounceChange", &an.base,
	    &spreg__v1__announce_change_response__descriptor,
	    (ProtobufCMessage **) &ar, msg, sizeof(msg)) == SPREG_OK, "%s",
	    msg);
	/* Named as the customer it concerns, though owed no notice. */
	ck_assert_str_eq(ar->change->customer_id, "leen");
	spreg__v1__announce_change_response__free_unpacked(ar, NULL);
	/* The same vendor engaged by us: globex is owed its 45 days. */
	p.sp.id = "llm-ours";
	p.sp.kind = "";
	p.sp.customer = "";
	ck_notice_refused(&p.sp, "'globex'", "45 days", "2027-01-07");
	time_set_clock(NULL);
}
END_TEST

/* Is id listed today with status (UNSPECIFIED: any)? */
static bool
listed_now(const char *id, Spreg__V1__SubprocessorStatus status)
{
	Spreg__V1__ListSubprocessorsRequest l =
	    SPREG__V1__LIST_SUBPROCESSORS_REQUEST__INIT;
	Spreg__V1__ListSubprocessorsResponse *lr;
	bool found = false;

	l.status = status;
	l.page_size = 1000;
	ck_assert_int_eq(call(REG "ListSubprocessors", &l.base,
	    &spreg__v1__list_subprocessors_response__descriptor,
	    (ProtobufCMessage **) &lr, NULL, 0), SPREG_OK);
	for (size_t i = 0; i < lr->n_subprocessors; i++) {
		found = found || strcmp(lr->subprocessors[i]->id, id) == 0;
	}
	spreg__v1__list_subprocessors_response__free_unpacked(lr, NULL);
	return found;
}

/* In effect as of day (the as_of projection)? */
static bool
in_effect_on(const char *id, const char *day)
{
	Spreg__V1__Subprocessor *sp = get_sp(id, day);
	if (sp != NULL) {
		ck_assert_int_eq(sp->status, SP_STATUS_ACTIVE);
		spreg__v1__subprocessor__free_unpacked(sp, NULL);
	}
	return sp != NULL;
}

static size_t
apply_at(int64_t now_ms)
{
	size_t applied;
	err e;

	ck_assert_msg(rpc_apply_due(srv, now_ms, &applied, &e) == SPREG_OK,
	    "%s", e.msg);
	return applied;
}

/* effective_from is the first day in use, effective_until the first
 * day out; the status follows with no one touching the record. */
START_TEST(dates_are_first_day_in_and_first_day_out)
{
	Spreg__V1__PutSubprocessorResponse *pr;
	char msg[512];
	put_req p;
	int64_t day = 86400000LL;

	time_set_clock(fake_clock);	/* 2026-11-23T12:00Z */
	/* From tomorrow: proposed today, everywhere. */
	put_req_init(&p, "tomorrow");
	p.sp.effective_from = "2026-11-24";
	ck_assert_int_eq(put_sp(&p.sp, false, "", NULL, msg, sizeof(msg)),
	    SPREG_OK);
	ck_assert_int_eq(status_of("tomorrow"), SP_STATUS_PROPOSED);
	ck_assert(listed_now("tomorrow", SP_STATUS_PROPOSED));
	ck_assert(!listed_now("tomorrow", SP_STATUS_ACTIVE));
	ck_assert(!in_effect_on("tomorrow", "2026-11-23"));
	ck_assert(in_effect_on("tomorrow", "2026-11-24"));
	/* From today, or with no date: active at once. */
	put_req_init(&p, "today");
	p.sp.effective_from = "2026-11-23";
	ck_assert_int_eq(put_sp(&p.sp, false, "", NULL, msg, sizeof(msg)),
	    SPREG_OK);
	ck_assert_int_eq(status_of("today"), SP_STATUS_ACTIVE);
	ck_assert(in_effect_on("today", "2026-11-23"));
	ck_assert(!in_effect_on("today", "2026-11-22"));
	put_req_init(&p, "undated");
	p.sp.effective_from = "";
	ck_assert_int_eq(put_sp(&p.sp, false, "", &pr, msg, sizeof(msg)),
	    SPREG_OK);
	ck_assert_str_eq(pr->subprocessor->effective_from, "2026-11-23");
	ck_assert_int_eq(pr->subprocessor->status, SP_STATUS_ACTIVE);
	spreg__v1__put_subprocessor_response__free_unpacked(pr, NULL);
	/* Writing the upcoming vendor back as read changes nothing. */
	Spreg__V1__Subprocessor *back = get_sp("tomorrow", "");
	ck_assert_int_eq(put_sp(back, false, "", &pr, msg, sizeof(msg)),
	    SPREG_OK);
	ck_assert_ptr_null(pr->change);
	spreg__v1__put_subprocessor_response__free_unpacked(pr, NULL);
	spreg__v1__subprocessor__free_unpacked(back, NULL);

	/* A retirement dated the day after tomorrow: active until then. */
	Spreg__V1__RetireSubprocessorRequest r =
	    SPREG__V1__RETIRE_SUBPROCESSOR_REQUEST__INIT;
	Spreg__V1__RetireSubprocessorResponse *rr;
	r.id = "today";
	r.effective_until = "2026-11-25";
	ck_assert_int_eq(call(REG "RetireSubprocessor", &r.base,
	    &spreg__v1__retire_subprocessor_response__descriptor,
	    (ProtobufCMessage **) &rr, msg, sizeof(msg)), SPREG_OK);
	ck_assert_int_eq(rr->subprocessor->status, SP_STATUS_ACTIVE);
	ck_assert_str_eq(rr->change->effective_at, "2026-11-25");
	spreg__v1__retire_subprocessor_response__free_unpacked(rr, NULL);
	ck_assert(listed_now("today", SP_STATUS_ACTIVE));
	ck_assert(in_effect_on("today", "2026-11-24"));
	ck_assert(!in_effect_on("today", "2026-11-25"));

	/* The day before each date nothing moves; on it, it does, logged
	 * with its date. */
	uint64_t count, seq0;
	fingerprint(&count, &seq0);
	ck_assert_uint_eq(apply_at(fake_now_ms + day / 2 - 1), 0);
	ck_assert_int_eq(status_of("tomorrow"), SP_STATUS_PROPOSED);
	ck_assert_uint_eq(apply_at(fake_now_ms + day / 2), 1);	/* 00:00 */
	ck_assert_int_eq(status_of("tomorrow"), SP_STATUS_ACTIVE);
	ck_assert(listed_now("tomorrow", SP_STATUS_ACTIVE));
	ck_assert_int_eq(status_of("today"), SP_STATUS_ACTIVE);
	ck_assert_uint_eq(apply_at(fake_now_ms + day + day / 2 - 1), 0);
	ck_assert_int_eq(status_of("today"), SP_STATUS_ACTIVE);
	ck_assert_uint_eq(apply_at(fake_now_ms + day + day / 2), 1);
	ck_assert_int_eq(status_of("today"), SP_STATUS_RETIRED);
	ck_assert(listed_now("today", SP_STATUS_RETIRED));
	Spreg__V1__ListChangesResponse *lc = changes_for(seq0, "");
	ck_assert_uint_eq(lc->n_changes, 2);
	ck_assert_int_eq(lc->changes[0]->kind, CHANGE_TOOK_EFFECT);
	ck_assert_str_eq(lc->changes[0]->subprocessor_id, "tomorrow");
	ck_assert_str_eq(lc->changes[0]->effective_at, "2026-11-24");
	ck_assert_int_eq(lc->changes[1]->kind, CHANGE_RETIRED);
	ck_assert_str_eq(lc->changes[1]->subprocessor_id, "today");
	ck_assert_str_eq(lc->changes[1]->effective_at, "2026-11-25");
	spreg__v1__list_changes_response__free_unpacked(lc, NULL);

	/* A plain proposal is never in effect, on any date. */
	put_req_init(&p, "maybe");
	p.sp.status = SP_STATUS_PROPOSED;
	p.sp.effective_from = "2026-01-01";
	ck_assert_int_eq(put_sp(&p.sp, false, "", NULL, msg, sizeof(msg)),
	    SPREG_OK);
	ck_assert(!in_effect_on("maybe", "2026-11-23"));
	ck_assert(!in_effect_on("maybe", "2030-01-01"));
	ck_assert_uint_eq(apply_at(fake_now_ms + 400 * day), 1); /* brevo */
	ck_assert_int_eq(status_of("maybe"), SP_STATUS_PROPOSED);
	time_set_clock(NULL);
}
END_TEST

/* What a publisher given to rpc_server_create was told. */
typedef struct pub_record {
	int opens;
	uint64_t epoch;
	uint64_t start;
	const char *store_id;
	uint64_t seqs[64];
	size_t n;
} pub_record;

static void
pub_record_open(void *arg, uint64_t epoch, const char *store_id,
    uint64_t last_seq)
{
	pub_record *r = arg;

	r->opens++;
	r->epoch = epoch;
	r->store_id = store_id;
	r->start = last_seq;
}

static void
pub_record_publish(void *arg, const rpc_event *events, size_t n)
{
	pub_record *r = arg;

	for (size_t i = 0; i < n && r->n < 64; i++) {
		r->seqs[r->n++] = events[i].change->seq;
	}
}

/* The publisher is the server's from its making: told where the stream
 * starts, then given every change committed after, the first start's
 * sample import too, so the seqs it sends have no gap. */
START_TEST(publisher_given_at_creation_sees_every_change)
{
	char pdir[STORE_FIXTURE_DIR];
	catalog *pcat;
	db *pd;
	rpc_server *ps;
	store_fixture pf = {.name = "rpcpub", .map_size = 1 << 20,
	    .dir = &pdir, .cat = &pcat, .d = &pd};
	pub_record r = {0}, again = {0};
	rpc_publisher pub = {.open = pub_record_open,
	    .publish = pub_record_publish, .arg = &r};
	size_t ncustomers, n;
	err e;

	store_fixture_open(&pf);
	ck_assert_int_eq(rpc_server_create(pd, pcat, &pub, NULL, &ps, &e),
	    SPREG_OK);
	ck_assert_int_eq(r.opens, 1);
	ck_assert_uint_eq(r.start, 0);
	ck_assert_uint_ne(r.epoch, 0);
	ck_assert_str_eq(r.store_id, db_store_identity(pd));
	ck_assert_int_eq(rpc_import_sample(ps, SPREG_TEST_DATA, "test",
	    &ncustomers, &n, &e), SPREG_OK);
	ck_assert_uint_ge(n, 15);
	n += ncustomers;	/* one change each, customers first */
	ck_assert_uint_eq(r.n, n);
	for (size_t i = 0; i < r.n; i++) {
		ck_assert_uint_eq(r.seqs[i], i + 1);
	}
	rpc_server_destroy(ps);

	/* Made again on the same store: the stream goes on where the log
	 * ends, in a new epoch. */
	pub.arg = &again;
	ck_assert_int_eq(rpc_server_create(pd, pcat, &pub, NULL, &ps, &e),
	    SPREG_OK);
	ck_assert_int_eq(again.opens, 1);
	ck_assert_uint_eq(again.start, n);
	ck_assert_uint_ne(again.epoch, r.epoch);
	ck_assert_uint_eq(again.n, 0);
	rpc_server_destroy(ps);
	store_fixture_teardown(&pf);
}
END_TEST

int
main(void)
{
	Suite *su = suite_create("rpc");
	TCase *tc = tcase_create("dispatch");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, table_covers_every_method);
	tcase_add_test(tc, get_and_list_sample);
	tcase_add_test(tc, bad_put_rejected_store_unchanged);
	tcase_add_test(tc, import_all_or_nothing);
	tcase_add_test(tc, bad_envelopes);
	tcase_add_test(tc, bad_queries);
	tcase_add_test(tc, write_applied_once_per_request_id);
	tcase_add_test(tc, categories_custom_under_parent);
	tcase_add_test(tc, notice_rule);
	tcase_add_test(tc, objections_in_and_out_of_window);
	tcase_add_test(tc, due_change_applies_after_missed_restart);
	tcase_add_test(tc, customer_filters);
	tcase_add_test(tc, as_of_dates_on_sample);
	tcase_add_test(tc, as_of_announcements_and_moments);
	tcase_add_test(tc, verify_points_at_altered_records);
	tcase_add_test(tc, records_read_before_are_checked_again);
	tcase_add_test(tc, page_limit_is_the_servers);
	tcase_add_test(tc, string_and_list_limits_in_writes);
	tcase_add_test(tc, bidi_and_bad_utf8_refused_store_unchanged);
	tcase_add_test(tc, replay_window_ignores_wall_clock_steps);
	tcase_add_test(tc, change_times_never_go_back);
	tcase_add_test(tc, timeout_counts_from_arrival);
	tcase_add_test(tc, withdraw_before_the_date);
	tcase_add_test(tc, withdraw_too_late);
	tcase_add_test(tc, put_cannot_bypass_notice);
	tcase_add_test(tc, customer_selected_owes_no_notice);
	tcase_add_test(tc, dates_are_first_day_in_and_first_day_out);
	suite_add_tcase(su, tc);
	TCase *tp = tcase_create("publish");
	tcase_add_test(tp, publisher_given_at_creation_sees_every_change);
	suite_add_tcase(su, tp);
	SRunner *sr = srunner_create(su);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
