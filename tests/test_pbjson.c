/*
 * Unit tests for core/pbjson: JSON <-> protobuf-c messages by reflection,
 * and the JSON/YAML reader. Run under ASan/LSan: every error path must
 * free the partial message.
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "core/pbjson.h"
#include "spreg/v1/registry.pb-c.h"
#include "spreg/v1/rpc.pb-c.h"

/* ---- a hand-made descriptor covering the types our .proto files lack ---- */

/*
 * protoc-c output for a message with every scalar type, repeated scalars,
 * a proto2-style optional (has_ field) and a oneof. Built by hand so the
 * test needs no extra .proto in the build.
 */
typedef struct Scalars {
	ProtobufCMessage base;
	int32_t i32;
	int64_t s64;
	uint32_t u32;
	uint64_t f64;
	float f;
	double d;
	protobuf_c_boolean flag;
	ProtobufCBinaryData blob;
	size_t n_nums;
	int32_t *nums;
	size_t n_blobs;
	ProtobufCBinaryData *blobs;
	size_t n_flags;
	protobuf_c_boolean *flags;
	size_t n_codes;
	int *codes;
	protobuf_c_boolean has_opt;
	int32_t opt;
	uint32_t choice_case;
	char *choice;
} Scalars;

static const ProtobufCMessageDescriptor scalars_descriptor;

static void
scalars_init(ProtobufCMessage *msg)
{
	Scalars *s = (Scalars *) msg;
	memset(s, 0, sizeof(*s));
	s->base.descriptor = &scalars_descriptor;
}

#define SCALAR_FIELD(name, id, label, type, quant, member, desc)            \
	{                                                                     \
		name, id, PROTOBUF_C_LABEL_##label, PROTOBUF_C_TYPE_##type,   \
		    quant, offsetof(Scalars, member), desc, NULL, 0, 0, NULL, \
		    NULL                                                      \
	}

static const ProtobufCFieldDescriptor scalars_fields[14] = {
    SCALAR_FIELD("i32", 1, NONE, INT32, 0, i32, NULL),
    SCALAR_FIELD("s64", 2, NONE, SINT64, 0, s64, NULL),
    SCALAR_FIELD("u32", 3, NONE, UINT32, 0, u32, NULL),
    SCALAR_FIELD("f64", 4, NONE, FIXED64, 0, f64, NULL),
    SCALAR_FIELD("f", 5, NONE, FLOAT, 0, f, NULL),
    SCALAR_FIELD("d", 6, NONE, DOUBLE, 0, d, NULL),
    SCALAR_FIELD("flag", 7, NONE, BOOL, 0, flag, NULL),
    SCALAR_FIELD("blob", 8, NONE, BYTES, 0, blob, NULL),
    SCALAR_FIELD("nums", 9, REPEATED, SFIXED32, offsetof(Scalars, n_nums),
	nums, NULL),
    SCALAR_FIELD("blobs", 10, REPEATED, BYTES, offsetof(Scalars, n_blobs),
	blobs, NULL),
    SCALAR_FIELD("flags", 11, REPEATED, BOOL, offsetof(Scalars, n_flags),
	flags, NULL),
    SCALAR_FIELD("codes", 12, REPEATED, ENUM, offsetof(Scalars, n_codes),
	codes, &spreg__v1__code__descriptor),
    SCALAR_FIELD("opt", 13, OPTIONAL, INT32, offsetof(Scalars, has_opt), opt,
	NULL),
    {"choice", 14, PROTOBUF_C_LABEL_NONE, PROTOBUF_C_TYPE_STRING,
	offsetof(Scalars, choice_case), offsetof(Scalars, choice), NULL, NULL,
	PROTOBUF_C_FIELD_FLAG_ONEOF, 0, NULL, NULL},
};

/* Indexes into scalars_fields in strcmp order of the names. */
static const unsigned scalars_by_name[14] = {
    7, 9, 13, 11, 5, 4, 3, 6, 10, 0, 8, 12, 1, 2};

static const ProtobufCIntRange scalars_ranges[2] = {{1, 0}, {0, 14}};

static const ProtobufCMessageDescriptor scalars_descriptor = {
    PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC, "pbjson.test.Scalars", "Scalars",
    "Scalars", "pbjson.test", sizeof(Scalars), 14, scalars_fields,
    scalars_by_name, 1, scalars_ranges, scalars_init, NULL, NULL, NULL};

/* ---- helpers ------------------------------------------------------------ */

typedef struct packed {
	uint8_t *data;
	size_t len;
} packed;

static packed
pack(const ProtobufCMessage *msg)
{
	packed p;
	p.len = protobuf_c_message_get_packed_size(msg);
	p.data = malloc(p.len + 1);
	ck_assert_ptr_nonnull(p.data);
	ck_assert_uint_eq(protobuf_c_message_pack(msg, p.data), p.len);
	return p;
}

static void
assert_same_packed(const ProtobufCMessage *a, const ProtobufCMessage *b)
{
	packed pa = pack(a);
	packed pb = pack(b);
	ck_assert_uint_eq(pa.len, pb.len);
	ck_assert_mem_eq(pa.data, pb.data, pa.len);
	free(pa.data);
	free(pb.data);
}

static json_t *
must_parse(const char *text)
{
	err e = {{0}};
	json_t *json = NULL;
	spreg_status st = pbjson_parse_text(text, strlen(text), &json, &e);
	ck_assert_msg(st == SPREG_OK, "parse failed: %s", e.msg);
	ck_assert_ptr_nonnull(json);
	return json;
}

static ProtobufCMessage *
must_convert(const char *text, const ProtobufCMessageDescriptor *desc)
{
	err e = {{0}};
	json_t *json = must_parse(text);
	ProtobufCMessage *msg = NULL;
	spreg_status st = pbjson_to_message(json, desc, &msg, &e);
	json_decref(json);
	ck_assert_msg(st == SPREG_OK, "convert failed: %s", e.msg);
	ck_assert_ptr_nonnull(msg);
	return msg;
}

/* text parses, but converting it fails with a message containing want. */
static void
expect_convert_error(const char *text, const ProtobufCMessageDescriptor *desc,
    const char *want)
{
	err e = {{0}};
	json_t *json = must_parse(text);
	ProtobufCMessage *msg = NULL;
	spreg_status st = pbjson_to_message(json, desc, &msg, &e);
	json_decref(json);
	ck_assert_msg(st == SPREG_INVALID_ARGUMENT,
	    "'%s': expected INVALID_ARGUMENT, got %d (%s)", text, st, e.msg);
	ck_assert_ptr_null(msg);
	ck_assert_msg(strstr(e.msg, want) != NULL,
	    "'%s': message '%s' lacks '%s'", text, e.msg, want);
}

/* Converting a tree built by hand fails (takes json). */
static void
expect_tree_error(json_t *json, const ProtobufCMessageDescriptor *desc,
    const char *want)
{
	err e = {{0}};
	ProtobufCMessage *msg = NULL;
	ck_assert_ptr_nonnull(json);
	spreg_status st = pbjson_to_message(json, desc, &msg, &e);
	json_decref(json);
	ck_assert_int_eq(st, SPREG_INVALID_ARGUMENT);
	ck_assert_ptr_null(msg);
	ck_assert_msg(strstr(e.msg, want) != NULL, "message '%s' lacks '%s'",
	    e.msg, want);
}

/* Parsing text fails with INVALID_ARGUMENT and a message containing want. */
static void
expect_parse_error(const char *text, const char *want)
{
	err e = {{0}};
	json_t *json = NULL;
	spreg_status st = pbjson_parse_text(text, strlen(text), &json, &e);
	ck_assert_msg(st == SPREG_INVALID_ARGUMENT,
	    "'%s': expected INVALID_ARGUMENT, got %d", text, st);
	ck_assert_ptr_null(json);
	ck_assert_msg(strstr(e.msg, want) != NULL,
	    "'%s': message '%s' lacks '%s'", text, e.msg, want);
}

static char *
dump(const json_t *json)
{
	char *text = json_dumps(json, JSON_COMPACT);
	ck_assert_ptr_nonnull(text);
	return text;
}

/* Message -> JSON text -> JSON tree -> message gives the same bytes. */
static void
assert_round_trip(const ProtobufCMessage *msg)
{
	err e = {{0}};
	json_t *json = pbjson_from_message(msg);
	ck_assert_ptr_nonnull(json);
	char *text = dump(json);
	json_decref(json);

	json_t *again = must_parse(text);
	ProtobufCMessage *back = NULL;
	spreg_status st =
	    pbjson_to_message(again, msg->descriptor, &back, &e);
	ck_assert_msg(st == SPREG_OK, "%s: %s", text, e.msg);
	assert_same_packed(msg, back);
	protobuf_c_message_free_unpacked(back, NULL);
	json_decref(again);
	free(text);
}

static const char example_json[] =
    "{\"id\": \"stripe\", \"name\": \"Stripe\", \"legal_entity\": \"Stripe, "
    "Inc.\",\n"
    " \"purpose\": \"Payment processing\", \"website\": "
    "\"https://stripe.com\",\n"
    " \"services\": [\"billing\"],\n"
    " \"data_categories\": [\"user.name\", "
    "\"user.financial.bank_account\"],\n"
    " \"locations\": [{\"country\": \"US\", \"role\": \"processing\"}],\n"
    " \"safeguards\": [{\"mechanism\": \"eu-scc-2021-m3\", \"regime\": "
    "\"EU\",\n"
    "                 \"signed_on\": \"2022-03-01\", \"document_ref\": "
    "\"DPA-2022-03\",\n"
    "                 \"tia_ref\": \"TIA-2022-07\"}],\n"
    " \"dpf_certified_on\": \"2023-07-17\",\n"
    " \"status\": \"active\", \"effective_from\": \"2019-06-01\"}\n";

static const char example_yaml[] =
    "# the same record as example_json\n"
    "id: stripe\n"
    "name: Stripe\n"
    "legal_entity: Stripe, Inc.\n"
    "purpose: Payment processing\n"
    "website: https://stripe.com\n"
    "services: [billing]\n"
    "data_categories:\n"
    "  - user.name\n"
    "  - user.financial.bank_account\n"
    "locations:\n"
    "  - country: US\n"
    "    role: processing\n"
    "safeguards:\n"
    "  - mechanism: eu-scc-2021-m3\n"
    "    regime: EU\n"
    "    signed_on: 2022-03-01\n"
    "    document_ref: 'DPA-2022-03'\n"
    "    tia_ref: TIA-2022-07\n"
    "dpf_certified_on: 2023-07-17\n"
    "status: ACTIVE\n"
    "effective_from: \"2019-06-01\"\n";

/* ---- round trips -------------------------------------------------------- */

START_TEST(test_round_trip_subprocessor)
{
	char *services[] = {"billing", "payouts"};
	char *categories[] = {"user.name", "user.financial.bank_account"};
	char *loc_categories[] = {"user.name"};
	Spreg__V1__Location loc0 = SPREG__V1__LOCATION__INIT;
	Spreg__V1__Location loc1 = SPREG__V1__LOCATION__INIT;
	Spreg__V1__Location *locations[] = {&loc0, &loc1};
	Spreg__V1__Safeguard sg0 = SPREG__V1__SAFEGUARD__INIT;
	Spreg__V1__Safeguard sg1 = SPREG__V1__SAFEGUARD__INIT;
	Spreg__V1__Safeguard *safeguards[] = {&sg0, &sg1};
	Spreg__V1__Subprocessor sp = SPREG__V1__SUBPROCESSOR__INIT;

	loc0.country = "US";
	loc0.role = "processing";
	loc1.country = "IE";
	loc1.role = "hosting";
	loc1.n_data_categories = 1;
	loc1.data_categories = loc_categories;
	sg0.mechanism = "eu-scc-2021-m3";
	sg0.regime = "EU";
	sg0.signed_on = "2022-03-01";
	sg0.expires_on = "2027-03-01";
	sg0.document_ref = "DPA-2022-03";
	sg0.tia_ref = "TIA-2022-07";
	sg1.mechanism = "uk-idta";
	sg1.regime = "UK";
	sp.id = "stripe";
	sp.name = "Stripe \"Payments\" \xc3\xa9\xe2\x82\xac";
	sp.legal_entity = "Stripe, Inc.";
	sp.purpose = "Payment processing";
	sp.website = "https://stripe.com";
	sp.n_services = 2;
	sp.services = services;
	sp.n_data_categories = 2;
	sp.data_categories = categories;
	sp.n_locations = 2;
	sp.locations = locations;
	sp.n_safeguards = 2;
	sp.safeguards = safeguards;
	sp.dpf_certified_on = "2023-07-17";
	sp.status = SPREG__V1__SUBPROCESSOR_STATUS__SUBPROCESSOR_STATUS_RETIRED;
	sp.effective_from = "2019-06-01";
	sp.effective_until = "2026-01-01";
	sp.revision = UINT64_MAX;
	sp.updated_at = "2026-11-23T10:00:00.000Z";
	sp.updated_by = "alice";

	json_t *json = pbjson_from_message(&sp.base);
	ck_assert_ptr_nonnull(json);
	char *text = dump(json);
	/* Keys in declaration order; enum short name; big uint64 as text. */
	ck_assert_msg(strncmp(text, "{\"id\":\"stripe\",\"name\":", 22) == 0,
	    "%s", text);
	ck_assert_ptr_nonnull(strstr(text,
	    "\"status\":\"retired\",\"effective_from\":\"2019-06-01\""));
	ck_assert_ptr_nonnull(
	    strstr(text, "\"revision\":\"18446744073709551615\""));
	ck_assert_str_eq(json_string_value(json_object_get(json, "status")),
	    "retired");
	free(text);
	json_decref(json);

	assert_round_trip(&sp.base);

	/* A revision that fits int64 is a JSON integer. */
	sp.revision = 42;
	json = pbjson_from_message(&sp.base);
	ck_assert(json_is_integer(json_object_get(json, "revision")));
	json_decref(json);
	assert_round_trip(&sp.base);
}
END_TEST

START_TEST(test_defaults_omitted)
{
	Spreg__V1__Subprocessor sp = SPREG__V1__SUBPROCESSOR__INIT;
	json_t *json = pbjson_from_message(&sp.base);
	char *text = dump(json);
	ck_assert_str_eq(text, "{}");
	free(text);
	json_decref(json);

	/* An empty but present submessage stays present. */
	Spreg__V1__PutSubprocessorRequest put =
	    SPREG__V1__PUT_SUBPROCESSOR_REQUEST__INIT;
	put.subprocessor = &sp;
	json = pbjson_from_message(&put.base);
	text = dump(json);
	ck_assert_str_eq(text, "{\"subprocessor\":{}}");
	free(text);
	json_decref(json);
	assert_round_trip(&put.base);
}
END_TEST

START_TEST(test_round_trip_rpc)
{
	uint8_t payload[5] = {0xfb, 0xff, 0x00, 0x10, 0x3e};

	/* Every base64 tail: lengths 0 (omitted) to 5. */
	for (size_t len = 0; len <= sizeof(payload); len++) {
		Spreg__V1__Request req = SPREG__V1__REQUEST__INIT;
		req.method = "spreg.v1.Registry/GetSubprocessor";
		req.request_id = UINT64_MAX - len;
		req.deadline_unix_ms = INT64_MIN + (int64_t) len;
		req.actor = "cli";
		req.payload.data = payload;
		req.payload.len = len;
		assert_round_trip(&req.base);
	}

	Spreg__V1__Reply reply = SPREG__V1__REPLY__INIT;
	reply.code = SPREG__V1__CODE__INVALID_ARGUMENT;
	reply.message = "locations[1].country: bad";
	reply.request_id = 7;
	json_t *json = pbjson_from_message(&reply.base);
	/* Code's values share no prefix: the short name is the whole name. */
	ck_assert_str_eq(json_string_value(json_object_get(json, "code")),
	    "invalid_argument");
	json_decref(json);
	assert_round_trip(&reply.base);

	Spreg__V1__Request *req = (Spreg__V1__Request *) must_convert(
	    "{\"payload\": \"+/8AED4\", \"request_id\": \"12345678901234567890\","
	    " \"deadline_unix_ms\": \"-9223372036854775808\"}",
	    &spreg__v1__request__descriptor);
	ck_assert_uint_eq(req->payload.len, 5);
	ck_assert_mem_eq(req->payload.data, payload, 5);
	ck_assert(req->request_id == 12345678901234567890u);
	ck_assert(req->deadline_unix_ms == INT64_MIN);
	protobuf_c_message_free_unpacked(&req->base, NULL);

	/* URL-safe alphabet. */
	req = (Spreg__V1__Request *) must_convert("{\"payload\": \"-_8AED4=\"}",
	    &spreg__v1__request__descriptor);
	ck_assert_uint_eq(req->payload.len, 5);
	ck_assert_mem_eq(req->payload.data, payload, 5);
	protobuf_c_message_free_unpacked(&req->base, NULL);
}
END_TEST

START_TEST(test_round_trip_scalars)
{
	int32_t nums[] = {INT32_MIN, -1, 0, INT32_MAX};
	uint8_t raw[] = {1, 2, 3};
	ProtobufCBinaryData blobs[] = {{3, raw}, {0, NULL}, {1, raw}};
	protobuf_c_boolean flags[] = {1, 0, 1};
	int codes[] = {0, 16, 3};
	Scalars s;

	scalars_init(&s.base);
	s.i32 = -7;
	s.s64 = INT64_MIN;
	s.u32 = UINT32_MAX;
	s.f64 = UINT64_MAX;
	s.f = 0.1f;
	s.d = -2.5e-300;
	s.flag = 1;
	s.blob.data = raw;
	s.blob.len = sizeof(raw);
	s.n_nums = 4;
	s.nums = nums;
	s.n_blobs = 3;
	s.blobs = blobs;
	s.n_flags = 3;
	s.flags = flags;
	s.n_codes = 3;
	s.codes = codes;
	s.has_opt = 1;
	s.opt = 0;
	assert_round_trip(&s.base);

	json_t *json = pbjson_from_message(&s.base);
	char *text = dump(json);
	/* The float becomes the double 0.1, not 0.10000000149011612. */
	ck_assert(json_real_value(json_object_get(json, "f")) == 0.1);
	/* A set optional is written even at zero. */
	ck_assert_ptr_nonnull(strstr(text, "\"opt\":0"));
	ck_assert_ptr_nonnull(strstr(text,
	    "\"codes\":[\"ok\",\"unauthenticated\",\"invalid_argument\"]"));
	ck_assert_ptr_nonnull(strstr(text, "\"blobs\":[\"AQID\",\"\",\"AQ==\"]"));
	free(text);
	json_decref(json);

	/* Non-finite floats travel as proto3's strings. */
	s.f = INFINITY;
	s.d = -INFINITY;
	assert_round_trip(&s.base);
	s.d = NAN;
	json = pbjson_from_message(&s.base);
	ck_assert_str_eq(json_string_value(json_object_get(json, "d")), "NaN");
	json_decref(json);
	Scalars *back = (Scalars *) must_convert(
	    "{\"d\": \"NaN\", \"f\": 3, \"opt\": 5}", &scalars_descriptor);
	ck_assert(isnan(back->d));
	ck_assert(back->f == 3.0f);
	ck_assert(back->has_opt);
	ck_assert_int_eq(back->opt, 5);
	protobuf_c_message_free_unpacked(&back->base, NULL);

	/* A chosen oneof member is written; input refuses oneofs. */
	scalars_init(&s.base);
	s.choice_case = 14;
	s.choice = "picked";
	json = pbjson_from_message(&s.base);
	text = dump(json);
	ck_assert_str_eq(text, "{\"choice\":\"picked\"}");
	free(text);
	json_decref(json);
	expect_convert_error("{\"choice\": \"picked\"}", &scalars_descriptor,
	    "choice: oneof fields are not supported");
}
END_TEST

/* ---- input -------------------------------------------------------------- */

static void
assert_example(const Spreg__V1__Subprocessor *sp)
{
	ck_assert_str_eq(sp->id, "stripe");
	ck_assert_str_eq(sp->name, "Stripe");
	ck_assert_str_eq(sp->legal_entity, "Stripe, Inc.");
	ck_assert_str_eq(sp->purpose, "Payment processing");
	ck_assert_str_eq(sp->website, "https://stripe.com");
	ck_assert_uint_eq(sp->n_services, 1);
	ck_assert_str_eq(sp->services[0], "billing");
	ck_assert_uint_eq(sp->n_data_categories, 2);
	ck_assert_str_eq(sp->data_categories[0], "user.name");
	ck_assert_str_eq(sp->data_categories[1], "user.financial.bank_account");
	ck_assert_uint_eq(sp->n_locations, 1);
	ck_assert_str_eq(sp->locations[0]->country, "US");
	ck_assert_str_eq(sp->locations[0]->role, "processing");
	ck_assert_uint_eq(sp->locations[0]->n_data_categories, 0);
	ck_assert_uint_eq(sp->n_safeguards, 1);
	ck_assert_str_eq(sp->safeguards[0]->mechanism, "eu-scc-2021-m3");
	ck_assert_str_eq(sp->safeguards[0]->regime, "EU");
	ck_assert_str_eq(sp->safeguards[0]->signed_on, "2022-03-01");
	ck_assert_str_eq(sp->safeguards[0]->expires_on, "");
	ck_assert_str_eq(sp->safeguards[0]->document_ref, "DPA-2022-03");
	ck_assert_str_eq(sp->safeguards[0]->tia_ref, "TIA-2022-07");
	ck_assert_str_eq(sp->dpf_certified_on, "2023-07-17");
	ck_assert_int_eq(sp->status,
	    SPREG__V1__SUBPROCESSOR_STATUS__SUBPROCESSOR_STATUS_ACTIVE);
	ck_assert_str_eq(sp->effective_from, "2019-06-01");
	ck_assert_str_eq(sp->effective_until, "");
	ck_assert_uint_eq(sp->revision, 0);
}

START_TEST(test_example_json)
{
	Spreg__V1__Subprocessor *sp = (Spreg__V1__Subprocessor *) must_convert(
	    example_json, &spreg__v1__subprocessor__descriptor);
	assert_example(sp);

	/* And back: the canonical form is the same document. */
	json_t *out = pbjson_from_message(&sp->base);
	json_t *in = must_parse(example_json);
	ck_assert(json_equal(out, in));
	json_decref(in);
	json_decref(out);
	protobuf_c_message_free_unpacked(&sp->base, NULL);
}
END_TEST

START_TEST(test_example_yaml_same_bytes)
{
	ProtobufCMessage *from_json =
	    must_convert(example_json, &spreg__v1__subprocessor__descriptor);
	ProtobufCMessage *from_yaml =
	    must_convert(example_yaml, &spreg__v1__subprocessor__descriptor);
	assert_example((Spreg__V1__Subprocessor *) from_yaml);
	assert_same_packed(from_json, from_yaml);
	protobuf_c_message_free_unpacked(from_json, NULL);
	protobuf_c_message_free_unpacked(from_yaml, NULL);
}
END_TEST

START_TEST(test_null_means_absent)
{
	Spreg__V1__Subprocessor *sp = (Spreg__V1__Subprocessor *) must_convert(
	    "{\"id\": null, \"services\": null, \"status\": null,"
	    " \"locations\": [], \"name\": \"\"}",
	    &spreg__v1__subprocessor__descriptor);
	ck_assert_str_eq(sp->id, "");
	ck_assert_str_eq(sp->name, "");
	ck_assert_uint_eq(sp->n_services, 0);
	ck_assert_ptr_null(sp->locations);
	protobuf_c_message_free_unpacked(&sp->base, NULL);

	/* YAML: an empty value and ~ are null too. */
	sp = (Spreg__V1__Subprocessor *) must_convert(
	    "id:\nname: ~\nlocations:\n",
	    &spreg__v1__subprocessor__descriptor);
	ck_assert_str_eq(sp->id, "");
	ck_assert_uint_eq(sp->n_locations, 0);
	protobuf_c_message_free_unpacked(&sp->base, NULL);
}
END_TEST

START_TEST(test_enum_names)
{
	static const char *active[] = {"active", "ACTIVE", "Active",
	    "SUBPROCESSOR_STATUS_ACTIVE", "subprocessor_status_active", "2"};
	char text[128];

	for (size_t i = 0; i < sizeof(active) / sizeof(active[0]); i++) {
		bool number = active[i][0] == '2';
		snprintf(text, sizeof(text), "{\"status\": %s%s%s}",
		    number ? "" : "\"", active[i], number ? "" : "\"");
		Spreg__V1__Subprocessor *sp =
		    (Spreg__V1__Subprocessor *) must_convert(text,
			&spreg__v1__subprocessor__descriptor);
		ck_assert_msg(sp->status ==
			SPREG__V1__SUBPROCESSOR_STATUS__SUBPROCESSOR_STATUS_ACTIVE,
		    "%s", text);
		protobuf_c_message_free_unpacked(&sp->base, NULL);
	}

	/* YAML plain and the no-prefix Code enum. */
	Spreg__V1__Reply *reply = (Spreg__V1__Reply *) must_convert(
	    "code: Not_Found\n", &spreg__v1__reply__descriptor);
	ck_assert_int_eq(reply->code, SPREG__V1__CODE__NOT_FOUND);
	protobuf_c_message_free_unpacked(&reply->base, NULL);
	reply = (Spreg__V1__Reply *) must_convert("code: 16\n",
	    &spreg__v1__reply__descriptor);
	ck_assert_int_eq(reply->code, SPREG__V1__CODE__UNAUTHENTICATED);
	protobuf_c_message_free_unpacked(&reply->base, NULL);

	/* unspecified is a name too (and omitted on output). */
	Spreg__V1__Subprocessor *sp = (Spreg__V1__Subprocessor *) must_convert(
	    "status: unspecified\n", &spreg__v1__subprocessor__descriptor);
	ck_assert_int_eq(sp->status, 0);
	protobuf_c_message_free_unpacked(&sp->base, NULL);

	expect_convert_error("{\"status\": \"actve\"}",
	    &spreg__v1__subprocessor__descriptor,
	    "status: unknown value 'actve' for enum spreg.v1.SubprocessorStatus");
	expect_convert_error("{\"status\": \"STATUS_ACTIVE\"}",
	    &spreg__v1__subprocessor__descriptor, "unknown value");
	expect_convert_error("{\"status\": 9}",
	    &spreg__v1__subprocessor__descriptor,
	    "status: unknown value 9 for enum");
	expect_convert_error("{\"status\": 4294967298}",
	    &spreg__v1__subprocessor__descriptor, "unknown value 4294967298");
	expect_convert_error("{\"status\": true}",
	    &spreg__v1__subprocessor__descriptor,
	    "status: expected an enum name or number, got a boolean");
}
END_TEST

START_TEST(test_yaml_scalars)
{
	json_t *json = must_parse("a: true\n"
				  "b: False\n"
				  "c: ~\n"
				  "d: NULL\n"
				  "e: 2022\n"
				  "f: -17\n"
				  "g: +3\n"
				  "h: 1.5\n"
				  "i: 2e3\n"
				  "j: '42'\n"
				  "k: \"true\"\n"
				  "l: 010\n"
				  "m: 2022-03-01\n"
				  "n: 99999999999999999999\n"
				  "o: .inf\n"
				  "p: !!str 12\n"
				  "q: |\n  two\n  lines\n"
				  "r: 0\n"
				  "s: [1, x, {t: u}]\n");
	ck_assert(json_is_true(json_object_get(json, "a")));
	ck_assert(json_is_false(json_object_get(json, "b")));
	ck_assert(json_is_null(json_object_get(json, "c")));
	ck_assert(json_is_null(json_object_get(json, "d")));
	ck_assert_int_eq(json_integer_value(json_object_get(json, "e")), 2022);
	ck_assert_int_eq(json_integer_value(json_object_get(json, "f")), -17);
	ck_assert_int_eq(json_integer_value(json_object_get(json, "g")), 3);
	ck_assert(json_is_real(json_object_get(json, "h")));
	ck_assert(json_real_value(json_object_get(json, "h")) == 1.5);
	ck_assert(json_real_value(json_object_get(json, "i")) == 2000.0);
	ck_assert_str_eq(json_string_value(json_object_get(json, "j")), "42");
	ck_assert_str_eq(json_string_value(json_object_get(json, "k")), "true");
	/* Leading zeros: neither octal nor decimal, the text is kept. */
	ck_assert_str_eq(json_string_value(json_object_get(json, "l")), "010");
	ck_assert_str_eq(json_string_value(json_object_get(json, "m")),
	    "2022-03-01");
	/* Too big for json_int_t: kept exact, as uint64 fields accept. */
	ck_assert_str_eq(json_string_value(json_object_get(json, "n")),
	    "99999999999999999999");
	ck_assert_str_eq(json_string_value(json_object_get(json, "o")), ".inf");
	ck_assert_str_eq(json_string_value(json_object_get(json, "p")), "12");
	ck_assert_str_eq(json_string_value(json_object_get(json, "q")),
	    "two\nlines\n");
	ck_assert_int_eq(json_integer_value(json_object_get(json, "r")), 0);
	char *s = dump(json_object_get(json, "s"));
	ck_assert_str_eq(s, "[1,\"x\",{\"t\":\"u\"}]");
	free(s);
	json_decref(json);
	/* YAML 1.2 core schema: yes/no/on/off are text, so Norway stays NO. */
	json = must_parse("no: NO\nyes: on\n");
	ck_assert_str_eq(json_string_value(json_object_get(json, "no")), "NO");
	ck_assert_str_eq(json_string_value(json_object_get(json, "yes")), "on");
	json_decref(json);
}
END_TEST

START_TEST(test_string_field_takes_scalars)
{
	Spreg__V1__Safeguard *sg = (Spreg__V1__Safeguard *) must_convert(
	    "mechanism: 2022\n"
	    "regime: true\n"
	    "signed_on: 1.50\n"
	    "expires_on: 1000.0\n"
	    "document_ref: \"007\"\n"
	    "tia_ref: 007\n",
	    &spreg__v1__safeguard__descriptor);
	ck_assert_str_eq(sg->mechanism, "2022");
	ck_assert_str_eq(sg->regime, "true");
	ck_assert_str_eq(sg->signed_on, "1.5");
	ck_assert_str_eq(sg->expires_on, "1000");
	ck_assert_str_eq(sg->document_ref, "007");
	ck_assert_str_eq(sg->tia_ref, "007");
	protobuf_c_message_free_unpacked(&sg->base, NULL);

	/* Numeric fields take no strings, except 64-bit ones. */
	expect_convert_error("{\"page_size\": \"10\"}",
	    &spreg__v1__list_subprocessors_request__descriptor,
	    "page_size: expected an integer, got a string");
	Spreg__V1__ListChangesRequest *lc =
	    (Spreg__V1__ListChangesRequest *) must_convert(
		"since_seq: '18446744073709551615'\nlimit: 1000\n",
		&spreg__v1__list_changes_request__descriptor);
	ck_assert(lc->since_seq == UINT64_MAX);
	ck_assert_uint_eq(lc->limit, 1000);
	protobuf_c_message_free_unpacked(&lc->base, NULL);
}
END_TEST

/* ---- errors ------------------------------------------------------------- */

START_TEST(test_unknown_fields)
{
	const ProtobufCMessageDescriptor *sp =
	    &spreg__v1__subprocessor__descriptor;

	expect_convert_error("{\"id\": \"x\", \"bogus\": 1}", sp,
	    "bogus: unknown field");
	expect_convert_error("{\"locations\": [{\"country\": \"US\"},"
			     " {\"country\": \"DE\", \"cuntry\": \"FR\"}]}",
	    sp, "locations[1].cuntry: unknown field");
	expect_convert_error("safeguards:\n  - mechanism: m\n    signedOn: x\n",
	    sp, "safeguards[0].signedOn: unknown field");
	/*
	 * A key with a NUL must not pass for the field before it. jansson's
	 * parser refuses such keys; a tree built in code may hold one.
	 */
	json_t *json = json_object();
	json_object_setn_new(json, "id\0x", 4, json_string("a"));
	expect_tree_error(json, sp, "id: unknown field");
}
END_TEST

START_TEST(test_wrong_types)
{
	const ProtobufCMessageDescriptor *sp =
	    &spreg__v1__subprocessor__descriptor;

	expect_convert_error("{\"locations\": [{\"country\": \"US\"},"
			     " {\"country\": [\"DE\"]}]}",
	    sp, "locations[1].country: expected a string, got an array");
	expect_convert_error("{\"safeguards\": [{\"signed_on\": {}}]}", sp,
	    "safeguards[0].signed_on: expected a string, got an object");
	expect_convert_error("{\"services\": \"billing\"}", sp,
	    "services: expected an array, got a string");
	expect_convert_error("{\"locations\": [\"US\"]}", sp,
	    "locations[0]: expected an object, got a string");
	expect_convert_error("{\"locations\": {\"country\": \"US\"}}", sp,
	    "locations: expected an array, got an object");
	expect_convert_error("{\"services\": [\"a\", null]}", sp,
	    "services[1]: null is not allowed");
	expect_convert_error("{\"revision\": 1.5}", sp,
	    "revision: expected an integer or a decimal string, got a real");
	expect_convert_error("{\"revision\": \"12a\"}", sp,
	    "revision: '12a' is not a decimal integer");
	expect_convert_error("{\"revision\": \"\"}", sp,
	    "is not a decimal integer");
	expect_convert_error("{\"revision\": \"+1\"}", sp,
	    "is not a decimal integer");
	expect_convert_error("{\"create_only\": 1}",
	    &spreg__v1__put_subprocessor_request__descriptor,
	    "create_only: expected a boolean, got an integer");
	expect_convert_error("{\"subprocessor\": [] }",
	    &spreg__v1__put_subprocessor_request__descriptor,
	    "subprocessor: expected an object, got an array");
	expect_convert_error("{\"subprocessor\": {\"locations\": [{\"role\": "
			     "{}}]}}",
	    &spreg__v1__put_subprocessor_request__descriptor,
	    "subprocessor.locations[0].role: expected a string");
	expect_convert_error("{\"payload\": \"not base64!\"}",
	    &spreg__v1__request__descriptor, "payload: invalid base64");
	expect_convert_error("{\"payload\": \"QUJD=\"}",
	    &spreg__v1__request__descriptor, "payload: invalid base64");
	expect_convert_error("{\"payload\": 12}", &spreg__v1__request__descriptor,
	    "payload: expected a base64 string");
	expect_convert_error("{\"flags\": [true, \"yes\"]}", &scalars_descriptor,
	    "flags[1]: expected a boolean, got a string");
	expect_convert_error("{\"d\": \"1.5\"}", &scalars_descriptor,
	    "d: expected a number, got a string");
	expect_tree_error(json_pack("{s:s#}", "id", "a\0b", 3), sp,
	    "id: string contains a NUL character");
	expect_tree_error(json_pack("{s:s#}", "status", "active\0x", 8), sp,
	    "status: unknown value 'active' for enum");
	expect_convert_error("[1, 2]", sp,
	    "expected an object for spreg.v1.Subprocessor, got an array");
}
END_TEST

START_TEST(test_out_of_range)
{
	const ProtobufCMessageDescriptor *sc = &scalars_descriptor;

	expect_convert_error("{\"revision\": -1}",
	    &spreg__v1__subprocessor__descriptor,
	    "revision: value -1 out of range for uint64");
	expect_convert_error("{\"revision\": \"18446744073709551616\"}",
	    &spreg__v1__subprocessor__descriptor,
	    "value 18446744073709551616 out of range for uint64");
	expect_convert_error("{\"deadline_unix_ms\": \"9223372036854775808\"}",
	    &spreg__v1__request__descriptor, "out of range for int64");
	expect_convert_error("{\"deadline_unix_ms\": \"-9223372036854775809\"}",
	    &spreg__v1__request__descriptor, "out of range for int64");
	expect_convert_error("{\"page_size\": 4294967296}",
	    &spreg__v1__list_subprocessors_request__descriptor,
	    "page_size: value 4294967296 out of range for uint32");
	expect_convert_error("{\"page_size\": -1}",
	    &spreg__v1__list_subprocessors_request__descriptor,
	    "value -1 out of range for uint32");
	expect_convert_error("{\"i32\": 2147483648}", sc,
	    "i32: value 2147483648 out of range for int32");
	expect_convert_error("{\"nums\": [1, -2147483649]}", sc,
	    "nums[1]: value -2147483649 out of range for int32");
	expect_convert_error("{\"f\": 1e39}", sc, "f: value 1e+39 out of range");

	/* The limits themselves are fine. */
	Scalars *s = (Scalars *) must_convert(
	    "{\"i32\": -2147483648, \"u32\": 4294967295,"
	    " \"s64\": -9223372036854775808, \"f64\": \"18446744073709551615\","
	    " \"f\": 3.4028234663852886e38}",
	    sc);
	ck_assert_int_eq(s->i32, INT32_MIN);
	ck_assert_uint_eq(s->u32, UINT32_MAX);
	ck_assert(s->s64 == INT64_MIN);
	ck_assert(s->f64 == UINT64_MAX);
	protobuf_c_message_free_unpacked(&s->base, NULL);
}
END_TEST

START_TEST(test_limits)
{
	const ProtobufCMessageDescriptor *sp =
	    &spreg__v1__subprocessor__descriptor;
	err e = {{0}};
	ProtobufCMessage *msg = NULL;

	/* 1 MiB is allowed, one byte more is not. */
	size_t big = 1024 * 1024;
	char *text = malloc(big + 2);
	ck_assert_ptr_nonnull(text);
	memset(text, 'x', big + 1);
	text[big + 1] = '\0';
	json_t *json = json_pack("{s:s#}", "purpose", text, (int) big);
	ck_assert_int_eq(pbjson_to_message(json, sp, &msg, &e), SPREG_OK);
	protobuf_c_message_free_unpacked(msg, NULL);
	msg = NULL;
	json_decref(json);
	json = json_pack("{s:[s,s]}", "services", "ok", text);
	ck_assert_int_eq(pbjson_to_message(json, sp, &msg, &e),
	    SPREG_INVALID_ARGUMENT);
	ck_assert_ptr_null(msg);
	ck_assert_str_eq(e.msg, "services[1]: string longer than 1048576 bytes");
	json_decref(json);
	free(text);

	/* 100000 elements are allowed, 100001 are not. */
	json_t *list = json_array();
	for (int i = 0; i < 100000; i++) {
		json_array_append_new(list, json_string("c"));
	}
	json = json_pack("{s:O}", "data_categories", list);
	ck_assert_int_eq(pbjson_to_message(json, sp, &msg, &e), SPREG_OK);
	ck_assert_uint_eq(((Spreg__V1__Subprocessor *) msg)->n_data_categories,
	    100000);
	protobuf_c_message_free_unpacked(msg, NULL);
	msg = NULL;
	json_array_append_new(list, json_string("c"));
	ck_assert_int_eq(pbjson_to_message(json, sp, &msg, &e),
	    SPREG_INVALID_ARGUMENT);
	ck_assert_str_eq(e.msg, "data_categories: more than 100000 elements");
	json_decref(json);
	json_decref(list);
}
END_TEST

/*
 * Failures after much has been built: the partial message (strings,
 * arrays, submessages) must be freed; ASan's leak checker fails the run
 * otherwise.
 */
START_TEST(test_partial_messages_freed)
{
	const ProtobufCMessageDescriptor *sp =
	    &spreg__v1__subprocessor__descriptor;

	expect_convert_error("{\"id\": \"a\", \"name\": \"b\","
			     " \"services\": [\"x\", \"y\", \"z\", 5, {}],"
			     " \"bogus\": 1}",
	    sp, "services[4]");
	expect_convert_error(
	    "id: a\n"
	    "data_categories: [a, b]\n"
	    "locations:\n"
	    "  - {country: US, role: r, data_categories: [p, q]}\n"
	    "  - {country: DE, data_categories: [p, q, [bad]]}\n",
	    sp, "locations[1].data_categories[2]: expected a string");
	expect_convert_error(
	    "safeguards:\n"
	    "  - {mechanism: a, regime: EU}\n"
	    "  - {mechanism: b, regime: UK}\n"
	    "status: active\n"
	    "effective_from: x\n"
	    "revision: -5\n",
	    sp, "revision: value -5 out of range");
	expect_convert_error("{\"subprocessor\": {\"id\": \"a\", \"locations\":"
			     " [{\"country\": \"US\"}]}, \"expected_revision\":"
			     " \"x\"}",
	    &spreg__v1__put_subprocessor_request__descriptor,
	    "expected_revision: 'x' is not a decimal integer");
	expect_convert_error("{\"blob\": \"AQID\", \"blobs\": [\"AQID\", \"!\"]}",
	    &scalars_descriptor, "blobs[1]: invalid base64");
	expect_convert_error("{\"codes\": [\"ok\", \"nope\"], \"nums\": [1]}",
	    &scalars_descriptor, "codes[1]: unknown value 'nope'");
}
END_TEST

START_TEST(test_json_syntax_errors)
{
	expect_parse_error("{\"id\": \"x\",\n \"name\": }\n", "line 2");
	expect_parse_error("{\"id\": \"x\",\n \"name\": }\n", "JSON: ");
	expect_parse_error("[1, 2", "JSON: ");
	expect_parse_error("{\"id\": 1, \"id\": 2}", "duplicate");
	expect_parse_error("{\"n\": 99999999999999999999}", "too big");

	/* 64 levels parse; 65 do not. */
	char deep[200];
	memset(deep, '[', 64);
	memset(deep + 64, ']', 64);
	deep[128] = '\0';
	json_decref(must_parse(deep));
	memset(deep, '[', 65);
	memset(deep + 65, ']', 65);
	deep[130] = '\0';
	expect_parse_error(deep, "nested deeper than 64 levels");
}
END_TEST

START_TEST(test_yaml_syntax_errors)
{
	expect_parse_error("id: a\nlocations: [1, 2\nname: b\n", "YAML: ");
	expect_parse_error("id: a\nname: b\n  bad: indent\n", "line 3");
	expect_parse_error("id: 'unterminated\n", "line ");
	expect_parse_error("a: 1\na: 2\n", "YAML: duplicate key 'a' at line 2");
	expect_parse_error("a: 1\n---\nb: 2\n",
	    "expected a single document at line 2");
	expect_parse_error("? [a]\n: b\n", "mapping keys must be scalars");
	expect_parse_error("a: !!int 5\n", "unsupported tag");
	expect_parse_error("a: \"\\x80\\x00\"\n\xff\n",
	    "YAML: invalid leading UTF-8 octet at line 2, column 1");

	/* The top-level mapping is a level: it plus 63 sequences is 64. */
	char deep[200];
	strcpy(deep, "a: ");
	memset(deep + 3, '[', 63);
	memset(deep + 66, ']', 63);
	deep[129] = '\0';
	json_decref(must_parse(deep));
	strcpy(deep, "a: ");
	memset(deep + 3, '[', 64);
	memset(deep + 67, ']', 64);
	deep[131] = '\0';
	expect_parse_error(deep, "YAML: nested deeper than 64 levels at line 1");
}
END_TEST

START_TEST(test_yaml_aliases_rejected)
{
	expect_parse_error("a: &x 1\nb: *x\n",
	    "anchors and aliases are not supported at line 1, column 4");
	expect_parse_error("b: *x\n", "anchors and aliases are not supported");
	expect_parse_error("a: &list [1, 2]\n", "anchors and aliases");
	/* The billion-laughs shape stops at the first anchor. */
	expect_parse_error("a: &a [\"lol\",\"lol\"]\nb: &b [*a,*a]\nc: [*b,*b]\n",
	    "line 1");
}
END_TEST

START_TEST(test_empty_documents)
{
	expect_parse_error("", "empty document");
	expect_parse_error("   \n \n\n", "empty document");
	/* Tabs cannot indent YAML. */
	expect_parse_error("   \n\t\n", "YAML: found character that cannot");
	expect_parse_error("# only a comment\n", "empty document");
	expect_parse_error("---\n...\n", "empty document");
	expect_parse_error("~\n", "empty document");

	err e = {{0}};
	json_t *json = NULL;
	ck_assert_int_eq(pbjson_parse_text(NULL, 0, &json, &e),
	    SPREG_INVALID_ARGUMENT);
	ck_assert_ptr_null(json);

	/* A scalar document parses, but is no message. */
	json = must_parse("just text\n");
	ProtobufCMessage *msg = NULL;
	ck_assert_int_eq(pbjson_to_message(json,
			     &spreg__v1__subprocessor__descriptor, &msg, &e),
	    SPREG_INVALID_ARGUMENT);
	ck_assert_str_eq(e.msg,
	    "expected an object for spreg.v1.Subprocessor, got a string");
	json_decref(json);
}
END_TEST

static Suite *
pbjson_suite(void)
{
	Suite *s = suite_create("pbjson");

	TCase *tc = tcase_create("output");
	tcase_add_test(tc, test_round_trip_subprocessor);
	tcase_add_test(tc, test_defaults_omitted);
	tcase_add_test(tc, test_round_trip_rpc);
	tcase_add_test(tc, test_round_trip_scalars);
	suite_add_tcase(s, tc);

	tc = tcase_create("input");
	tcase_add_test(tc, test_example_json);
	tcase_add_test(tc, test_example_yaml_same_bytes);
	tcase_add_test(tc, test_null_means_absent);
	tcase_add_test(tc, test_enum_names);
	tcase_add_test(tc, test_string_field_takes_scalars);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_test(tc, test_unknown_fields);
	tcase_add_test(tc, test_wrong_types);
	tcase_add_test(tc, test_out_of_range);
	tcase_add_test(tc, test_partial_messages_freed);
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	/* 100000-element lists under ASan take a moment. */
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_limits);
	suite_add_tcase(s, tc);

	tc = tcase_create("text");
	tcase_add_test(tc, test_yaml_scalars);
	tcase_add_test(tc, test_json_syntax_errors);
	tcase_add_test(tc, test_yaml_syntax_errors);
	tcase_add_test(tc, test_yaml_aliases_rejected);
	tcase_add_test(tc, test_empty_documents);
	suite_add_tcase(s, tc);

	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(pbjson_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
