/*
 * Unit tests of the export: the byte formats of src/export/format.c (CSV
 * quoting and formula neutralising, JSON escaping), and the Export
 * service of src/rpc/export.c on the sample registry (paging, cursor
 * binding and expiry, at_seq, the log head it names, as_of errors).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assess/rules.h"
#include "core/catalog.h"
#include "export/format.h"
#include "rpc/import.h"
#include "rpc/rpc.h"
#include "support/store.h"
#include "spreg/v1/export.pb-c.h"

/* ---- formats ---- */

static char *
csv_field(const char *s)
{
	export_buf b;
	export_buf_init(&b);
	export_csv_field(&b, s);
	ck_assert(!b.failed);
	return b.data;
}

START_TEST(csv_quotes_and_neutralises)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{"plain", "\"plain\""},
		{"", "\"\""},
		{"a,b", "\"a,b\""},
		{"say \"hi\"", "\"say \"\"hi\"\"\""},
		{"two\nlines\r\n", "\"two\nlines\r\n\""},
		{"=HYPERLINK(\"http://x\",\"y\")",
		    "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\""},
		{"+1", "\"'+1\""},
		{"-1", "\"'-1\""},
		{"@SUM(A1)", "\"'@SUM(A1)\""},
		{"\tx", "\"'\tx\""},
		{"\rx", "\"'\rx\""},
		{"'quoted", "\"''quoted\""},	/* reversible */
		{"a=b", "\"a=b\""},		/* only a leading sign */
		{"東京 ü", "\"東京 ü\""},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		char *got = csv_field(cases[i].in);
		ck_assert_msg(strcmp(got, cases[i].out) == 0, "%zu: %s", i, got);
		free(got);
	}
}
END_TEST

static char *
json_string(const char *s)
{
	export_buf b;
	export_buf_init(&b);
	export_json_string(&b, s);
	return b.data;
}

START_TEST(json_escapes)
{
	char *got = json_string("a\"b\\c\nd\re\tf\x01g 東京");
	ck_assert_str_eq(got, "\"a\\\"b\\\\c\\nd\\re\\tf\\u0001g 東京\"");
	free(got);
	got = json_string("=HYPERLINK(\"x\")");
	ck_assert_str_eq(got, "\"=HYPERLINK(\\\"x\\\")\"");
	free(got);
}
END_TEST

START_TEST(transfer_row_forms)
{
	Spreg__V1__TransferRecord r = SPREG__V1__TRANSFER_RECORD__INIT;
	char *services[] = {"app", "billing"};
	export_cell cells[EXPORT_TRANSFER_NCOLS];
	export_buf b, scratch;

	r.subprocessor_id = "acme";
	r.subprocessor_name = "=cmd|' /C calc'!A0";
	r.purpose = "x, \"y\"\nz";
	r.services = services;
	r.n_services = 2;
	r.special_category = true;
	r.verdict = SPREG__V1__VERDICT__VERDICT_TIA_REQUIRED;
	r.as_of = "2026-11-23";
	export_transfer_cells(&r, cells);
	export_buf_init(&b);
	export_buf_init(&scratch);
	export_csv_row(&b, cells, EXPORT_TRANSFER_NCOLS, &scratch);
	ck_assert_str_eq(b.data, "\"acme\",\"'=cmd|' /C calc'!A0\",\"\","
	    "\"x, \"\"y\"\"\nz\",\"app; billing\",\"\",\"\",\"\",\"\",\"\","
	    "\"true\",\"\",\"\",\"\",\"\",\"\",\"\",\"\",\"TIA_REQUIRED\",\"\","
	    "\"2026-11-23\"\r\n");
	export_buf_reset(&b);
	export_json_row(&b, export_transfer_columns, cells,
	    EXPORT_TRANSFER_NCOLS);
	ck_assert_msg(strncmp(b.data, "{\"subprocessor_id\":\"acme\","
	    "\"subprocessor_name\":\"=cmd|' /C calc'!A0\",\"legal_entity\":\"\","
	    "\"purpose\":\"x, \\\"y\\\"\\nz\",\"services\":[\"app\",\"billing\"]",
	    strlen("{\"subprocessor_id\":\"acme\",")) == 0, "%s", b.data);
	ck_assert_ptr_nonnull(strstr(b.data, "\"special_category\":true,"));
	ck_assert_ptr_nonnull(strstr(b.data, "\"verdict\":\"TIA_REQUIRED\""));
	ck_assert_str_eq(b.data + b.len - 2, "}\n");
	ck_assert_ptr_null(strchr(b.data, '\r'));
	/* A spreadsheet gets the exact text. */
	ck_assert_str_eq(export_cell_text(&cells[1], &scratch),
	    "=cmd|' /C calc'!A0");
	ck_assert_str_eq(export_cell_text(&cells[4], &scratch), "app; billing");
	export_buf_fini(&b);
	export_buf_fini(&scratch);
	export_buf b2;
	export_buf_init(&b2);
	export_csv_header(&b2, export_transfer_columns, 2);
	ck_assert_str_eq(b2.data, "\"subprocessor_id\",\"subprocessor_name\"\r\n");
	export_buf_fini(&b2);
}
END_TEST

/* ---- the Export service ---- */

static char dir[64];
static catalog *cat;
static assess_rules *rules;
static db *d;
static rpc_server *srv;
static rpc_worker *w;

/* Handlers under test; access control is test_auth.c's. */
static store_fixture fx = {.name = "export", .map_size = 1 << 20,
    .insecure_local = true, .dir = &dir, .cat = &cat, .rules = &rules,
    .d = &d, .srv = &srv, .w = &w};

static void
setup(void)
{
	store_fixture_setup(&fx);
}

static void
teardown(void)
{
	store_fixture_teardown(&fx);
}

static spreg_status
call(const char *method, const ProtobufCMessage *in,
    const ProtobufCMessageDescriptor *od, ProtobufCMessage **out, char *msg,
    size_t msglen)
{
	Spreg__V1__Request env = SPREG__V1__REQUEST__INIT;
	static uint64_t next_id = 1000;

	env.method = (char *) method;
	env.request_id = next_id++;
	env.actor = "tester";
	return store_fixture_call(w, &env, in, od, out, msg, msglen);
}

#define TRANSFERS "spreg.v1.Export/ExportTransfers"
#define PUBLIC "spreg.v1.Export/ExportSubprocessors"

static spreg_status
page(Spreg__V1__ExportTransfersRequest *in,
    Spreg__V1__ExportTransfersResponse **out, char *msg)
{
	return call(TRANSFERS, &in->base,
	    &spreg__v1__export_transfers_response__descriptor,
	    (ProtobufCMessage **) out, msg, 512);
}

/* Every row of the export with page_size vendors per page, as "id cc
 * category verdict" lines. */
static char *
all_rows(uint32_t page_size, size_t *pages)
{
	Spreg__V1__ExportTransfersRequest in =
	    SPREG__V1__EXPORT_TRANSFERS_REQUEST__INIT;
	export_buf b;
	char cursor[512] = "", msg[512];

	export_buf_init(&b);
	in.as_of = "2026-11-23";
	in.page_size = page_size;
	*pages = 0;
	do {
		Spreg__V1__ExportTransfersResponse *out;
		in.cursor = cursor;
		ck_assert_msg(page(&in, &out, msg) == SPREG_OK, "%s", msg);
		ck_assert_str_eq(out->metadata->as_of, "2026-11-23");
		for (size_t i = 0; i < out->n_records; i++) {
			const Spreg__V1__TransferRecord *r = out->records[i];
			char line[256];
			snprintf(line, sizeof(line), "%s %s %s %s\n",
			    r->subprocessor_id, r->country, r->data_category,
			    export_verdict_name(r->verdict));
			export_buf_adds(&b, line);
		}
		snprintf(cursor, sizeof(cursor), "%s", out->next_cursor);
		spreg__v1__export_transfers_response__free_unpacked(out, NULL);
		(*pages)++;
	} while (cursor[0] != '\0');
	return b.data;
}

START_TEST(table_covers_export)
{
	err e;
	ck_assert_msg(rpc_services_check(&e), "%s", e.msg);
	ck_assert_uint_eq(rpc_export_service.nmethods,
	    spreg__v1__export__descriptor.n_methods);
}
END_TEST

START_TEST(pages_do_not_change_rows)
{
	size_t pages1, pages_all;
	char *one = all_rows(1, &pages1);
	char *all = all_rows(1000, &pages_all);

	ck_assert_uint_eq(pages_all, 1);
	ck_assert_uint_gt(pages1, 15);
	ck_assert_str_eq(one, all);
	ck_assert_ptr_nonnull(strstr(all, "fastspring US "));
	ck_assert_ptr_nonnull(strstr(all, " INVALID\n"));
	free(one);
	free(all);
}
END_TEST

/* The head VerifyLog reports: its seq, and its hash into hash. */
static uint64_t
verified_head(uint8_t hash[32])
{
	Spreg__V1__VerifyLogRequest in = SPREG__V1__VERIFY_LOG_REQUEST__INIT;
	Spreg__V1__VerifyLogResponse *v;
	char msg[512];

	ck_assert_msg(call("spreg.v1.Registry/VerifyLog", &in.base,
	    &spreg__v1__verify_log_response__descriptor,
	    (ProtobufCMessage **) &v, msg, sizeof(msg)) == SPREG_OK, "%s",
	    msg);
	ck_assert(v->ok);
	ck_assert_uint_eq(v->head_hash.len, 32);
	memcpy(hash, v->head_hash.data, 32);
	uint64_t seq = v->head_seq;
	spreg__v1__verify_log_response__free_unpacked(v, NULL);
	return seq;
}

START_TEST(cursor_bound_and_expiring)
{
	Spreg__V1__ExportTransfersRequest in =
	    SPREG__V1__EXPORT_TRANSFERS_REQUEST__INIT;
	Spreg__V1__ExportTransfersResponse *out;
	char msg[512], cursor[512];

	in.page_size = 2;
	in.as_of = "2026-11-23";
	ck_assert_int_eq(page(&in, &out, msg), SPREG_OK);
	uint64_t seq = out->metadata->at_seq;
	ck_assert_uint_gt(seq, 0);
	ck_assert_str_ne(out->next_cursor, "");
	snprintf(cursor, sizeof(cursor), "%s", out->next_cursor);
	/* The export names the chain head VerifyLog reports at its seq. */
	uint8_t head[32], verified[32];
	ck_assert_uint_eq(out->metadata->head_hash.len, 32);
	memcpy(head, out->metadata->head_hash.data, 32);
	ck_assert_uint_eq(verified_head(verified), seq);
	ck_assert_mem_eq(head, verified, 32);
	spreg__v1__export_transfers_response__free_unpacked(out, NULL);

	/* Another query, or a forged cursor: not issued for it. */
	in.cursor = cursor;
	in.regime = "UK";
	ck_assert_int_eq(page(&in, &out, msg), SPREG_INVALID_ARGUMENT);
	ck_assert_msg(strncmp(msg, "cursor:", 7) == 0, "%s", msg);
	in.regime = "";
	in.cursor = "AQVhYmNkZQAAAAAAAAAAAAAAAAAAAAAA";
	ck_assert_int_eq(page(&in, &out, msg), SPREG_INVALID_ARGUMENT);
	ck_assert_msg(strncmp(msg, "cursor:", 7) == 0, "%s", msg);

	/* The same query pages on, at the same seq and head. */
	in.cursor = cursor;
	ck_assert_int_eq(page(&in, &out, msg), SPREG_OK);
	ck_assert_uint_eq(out->metadata->at_seq, seq);
	ck_assert_uint_eq(out->metadata->head_hash.len, 32);
	ck_assert_mem_eq(out->metadata->head_hash.data, head, 32);
	spreg__v1__export_transfers_response__free_unpacked(out, NULL);

	/* at_seq on a first page must be the current seq. */
	in.cursor = "";
	in.at_seq = seq + 5;
	ck_assert_int_eq(page(&in, &out, msg), SPREG_FAILED_PRECONDITION);
	ck_assert_msg(strstr(msg, "at_seq") != NULL, "%s", msg);
	in.at_seq = seq;
	ck_assert_int_eq(page(&in, &out, msg), SPREG_OK);
	spreg__v1__export_transfers_response__free_unpacked(out, NULL);
	in.at_seq = 0;

	/* A write moves the log: the cursor has expired. */
	Spreg__V1__RetireSubprocessorRequest rt =
	    SPREG__V1__RETIRE_SUBPROCESSOR_REQUEST__INIT;
	rt.id = "zoom";
	ck_assert_int_eq(call("spreg.v1.Registry/RetireSubprocessor",
	    &rt.base, &spreg__v1__retire_subprocessor_response__descriptor,
	    NULL, msg, sizeof(msg)), SPREG_OK);
	in.cursor = cursor;
	ck_assert_int_eq(page(&in, &out, msg), SPREG_FAILED_PRECONDITION);
	ck_assert_msg(strstr(msg, "cursor: expired") != NULL &&
	    strstr(msg, "since seq") != NULL, "%s", msg);

	/* A new export: the new seq and its head, no longer the old one. */
	in.cursor = "";
	ck_assert_int_eq(page(&in, &out, msg), SPREG_OK);
	ck_assert_uint_gt(out->metadata->at_seq, seq);
	ck_assert_uint_eq(verified_head(verified), out->metadata->at_seq);
	ck_assert_uint_eq(out->metadata->head_hash.len, 32);
	ck_assert_mem_eq(out->metadata->head_hash.data, verified, 32);
	ck_assert(memcmp(out->metadata->head_hash.data, head, 32) != 0);
	spreg__v1__export_transfers_response__free_unpacked(out, NULL);
}
END_TEST

START_TEST(bad_requests)
{
	Spreg__V1__ExportTransfersRequest in =
	    SPREG__V1__EXPORT_TRANSFERS_REQUEST__INIT;
	Spreg__V1__ExportFilter f = SPREG__V1__EXPORT_FILTER__INIT;
	Spreg__V1__ExportTransfersResponse *out;
	char msg[512];

	in.as_of = "2026-02-30";
	ck_assert_int_eq(page(&in, &out, msg), SPREG_INVALID_ARGUMENT);
	ck_assert_msg(strncmp(msg, "as_of:", 6) == 0, "%s", msg);
	in.as_of = "";
	in.regime = "XX";
	ck_assert_int_eq(page(&in, &out, msg), SPREG_INVALID_ARGUMENT);
	ck_assert_msg(strncmp(msg, "regime:", 7) == 0, "%s", msg);
	in.regime = "EU";
	in.customer = "acme";
	ck_assert_int_eq(page(&in, &out, msg), SPREG_INVALID_ARGUMENT);
	in.regime = "";
	in.customer = "";
	in.page_size = 1001;
	ck_assert_int_eq(page(&in, &out, msg), SPREG_INVALID_ARGUMENT);
	ck_assert_str_eq(msg, "page_size: at most 1000");
	rpc_server_set_limits(srv, &(rpc_limits) {.page_max = 2});
	in.page_size = 3;
	ck_assert_int_eq(page(&in, &out, msg), SPREG_INVALID_ARGUMENT);
	ck_assert_str_eq(msg, "page_size: at most 2");
	in.page_size = 0;
	f.country = "XX";
	in.filter = &f;
	ck_assert_int_eq(page(&in, &out, msg), SPREG_INVALID_ARGUMENT);
	ck_assert_msg(strncmp(msg, "filter.country", 14) == 0, "%s", msg);
	/* A moment is accepted and echoed in canonical form. */
	f.country = "";
	in.as_of = "2025-06-01T12:00:00+02:00";
	ck_assert_int_eq(page(&in, &out, msg), SPREG_OK);
	ck_assert_str_eq(out->metadata->as_of, "2025-06-01T10:00:00.000Z");
	spreg__v1__export_transfers_response__free_unpacked(out, NULL);
}
END_TEST

START_TEST(public_list)
{
	Spreg__V1__ExportSubprocessorsRequest in =
	    SPREG__V1__EXPORT_SUBPROCESSORS_REQUEST__INIT;
	Spreg__V1__ExportSubprocessorsResponse *out;
	char msg[512];

	in.as_of = "2026-11-23";
	in.page_size = 1000;
	ck_assert_msg(call(PUBLIC, &in.base,
	    &spreg__v1__export_subprocessors_response__descriptor,
	    (ProtobufCMessage **) &out, msg, sizeof(msg)) == SPREG_OK, "%s",
	    msg);
	ck_assert_str_eq(out->next_cursor, "");
	bool stripe = false;
	for (size_t i = 0; i < out->n_subprocessors; i++) {
		const Spreg__V1__PublicSubprocessor *p = out->subprocessors[i];
		ck_assert_str_ne(p->subprocessor_id, "skype");	/* retired */
		ck_assert_uint_eq(p->n_countries, p->n_country_names);
		ck_assert_uint_eq(p->n_safeguards, p->n_mechanisms);
		if (strcmp(p->subprocessor_id, "mailchimp") == 0) {
			for (size_t j = 0; j < p->n_mechanisms; j++) {
				ck_assert_str_ne(p->mechanisms[j],
				    "eu-privacy-shield");
			}
		}
		if (strcmp(p->subprocessor_id, "stripe") == 0) {
			stripe = true;
			ck_assert_uint_ge(p->n_countries, 2);
			ck_assert_uint_ge(p->n_safeguards, 1);
		}
	}
	ck_assert(stripe);
	uint8_t verified[32];
	ck_assert_uint_eq(verified_head(verified), out->metadata->at_seq);
	ck_assert_uint_eq(out->metadata->head_hash.len, 32);
	ck_assert_mem_eq(out->metadata->head_hash.data, verified, 32);
	spreg__v1__export_subprocessors_response__free_unpacked(out, NULL);
}
END_TEST

int
main(void)
{
	Suite *su = suite_create("export");
	TCase *fmt = tcase_create("format");
	tcase_add_test(fmt, csv_quotes_and_neutralises);
	tcase_add_test(fmt, json_escapes);
	tcase_add_test(fmt, transfer_row_forms);
	suite_add_tcase(su, fmt);
	TCase *tc = tcase_create("service");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, table_covers_export);
	tcase_add_test(tc, pages_do_not_change_rows);
	tcase_add_test(tc, cursor_bound_and_expiring);
	tcase_add_test(tc, bad_requests);
	tcase_add_test(tc, public_list);
	suite_add_tcase(su, tc);
	SRunner *sr = srunner_create(su);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
