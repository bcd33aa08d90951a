/*
 * Transfer assessment (service spreg.v1.Assessment): assess and rules.
 *
 * Verdicts are named from the generated enum descriptor and a verdict
 * is lawful only when it is one of the four below, so a verdict added to
 * assess.proto shows by its name and counts as failing (exit 5) without
 * a change here.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/commands.h"
#include "core/pbjson.h"
#include "spreg/v1/assess.pb-c.h"

#define ASSESSMENT "spreg.v1.Assessment/"
#define HORIZON_MAX 3650
#define SUPPOSE_MAX 32
#define VERDICT_SLOTS 32	/* counts by verdict value; larger: the last */
#define VERDICT_BUF 48

static const char *
verdict_name(Spreg__V1__Verdict v, char *buf)
{
	return cli_enum_name(&spreg__v1__verdict__descriptor, (int) v, false,
	    buf, VERDICT_BUF);
}

static bool
verdict_lawful(Spreg__V1__Verdict v)
{
	return v == SPREG__V1__VERDICT__VERDICT_NO_TRANSFER ||
	    v == SPREG__V1__VERDICT__VERDICT_ADEQUATE ||
	    v == SPREG__V1__VERDICT__VERDICT_SAFEGUARDED ||
	    v == SPREG__V1__VERDICT__VERDICT_DEROGATION;
}

static unsigned
slot(Spreg__V1__Verdict v)
{
	return (unsigned) v < VERDICT_SLOTS ? (unsigned) v : VERDICT_SLOTS - 1;
}

/* Counts of one vendor, in the order vendors first appear. */
typedef struct vendor_counts {
	char *id;
	uint64_t counts[VERDICT_SLOTS];
} vendor_counts;

/* What the walk over the pages gathers for the summary. */
typedef struct tally {
	bool json;
	bool failing;
	uint64_t totals[VERDICT_SLOTS];
	vendor_counts *vendors;
	size_t nvendors, capvendors;
	table *rows;		/* NULL with --json */
	table *affected;	/* NULL without suppositions or with --json */
	table *lapsing;		/* NULL with --json */
	table *onward;		/* fourth parties; NULL with --json */
	uint64_t naffected, nfallback, nspecial, nspecial_failing;
	char regime[8];
	char as_of[16];
	char rules_version[16];
} tally;

static void
tally_fini(tally *t)
{
	for (size_t i = 0; i < t->nvendors; i++) {
		free(t->vendors[i].id);
	}
	free(t->vendors);
	table_destroy(t->rows);
	table_destroy(t->affected);
	table_destroy(t->lapsing);
	table_destroy(t->onward);
}

static int
tally_vendor(tally *t, const Spreg__V1__VendorSummary *vs)
{
	if (t->nvendors == t->capvendors) {
		size_t cap = t->capvendors ? t->capvendors * 2 : 64;
		vendor_counts *grown = realloc(t->vendors,
		    cap * sizeof(*grown));
		if (grown == NULL) {
			return cli_out_of_memory();
		}
		t->vendors = grown;
		t->capvendors = cap;
	}
	vendor_counts *v = &t->vendors[t->nvendors];
	memset(v, 0, sizeof(*v));
	if ((v->id = strdup(vs->subprocessor_id)) == NULL) {
		return cli_out_of_memory();
	}
	t->nvendors++;
	for (size_t i = 0; t->onward != NULL && i < vs->n_onward; i++) {
		const Spreg__V1__OnwardTransfer *o = vs->onward[i];
		const char *cells[] = {vs->subprocessor_id, o->fourth_party_id,
		    o->country, o->leaves_regime ? "yes" : "no",
		    o->confirmed_on, o->source};
		if (!table_row_add(t->onward, cells)) {
			return cli_out_of_memory();
		}
	}
	for (size_t i = 0; i < vs->n_counts; i++) {
		v->counts[slot(vs->counts[i]->verdict)] += vs->counts[i]->count;
	}
	return 0;
}

/* One row as a JSON object with at least the documented keys. */
static int
print_row_json(const Spreg__V1__TransferAssessment *row)
{
	static const char *const keys[] = {"regime", "country",
	    "data_category", "verdict", "reason", "reference"};
	json_t *json = pbjson_from_message(&row->base);

	if (json == NULL) {
		return cli_out_of_memory();
	}
	json_object_set_new(json, "subprocessor",
	    json_string(row->subprocessor_id));
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (json_object_get(json, keys[i]) == NULL) {
			json_object_set_new(json, keys[i], json_string(""));
		}
	}
	json_dumpf(json, stdout, JSON_COMPACT);
	fputc('\n', stdout);
	json_decref(json);
	return 0;
}

static int
tally_row(tally *t, const Spreg__V1__TransferAssessment *row)
{
	char verdict[VERDICT_BUF];
	char category[256];

	t->totals[slot(row->verdict)]++;
	t->failing = t->failing || !verdict_lawful(row->verdict);
	t->naffected += row->affected;
	t->nfallback += row->fallback[0] != '\0';
	t->nspecial += row->special_category;
	t->nspecial_failing += row->special_category &&
	    !verdict_lawful(row->verdict);
	if (t->json) {
		return print_row_json(row);
	}
	verdict_name(row->verdict, verdict);
	snprintf(category, sizeof(category), "%s%s", row->data_category,
	    row->special_category ? " (special)" : "");
	const char *cells[] = {row->subprocessor_id, row->country, category,
	    verdict, row->reason};
	if (!table_row_add(t->rows, cells)) {
		return cli_out_of_memory();
	}
	if (row->lapses_on[0] != '\0') {
		const char *lcells[] = {row->subprocessor_id, row->country,
		    category, verdict, row->lapses_on, row->mechanism};
		if (!table_row_add(t->lapsing, lcells)) {
			return cli_out_of_memory();
		}
	}
	if (t->affected != NULL &&
	    (row->affected || row->fallback[0] != '\0')) {
		const char *acells[] = {row->subprocessor_id, row->country,
		    row->data_category, verdict,
		    row->fallback[0] ? row->fallback : "none"};
		if (!table_row_add(t->affected, acells)) {
			return cli_out_of_memory();
		}
	}
	return 0;
}

static void
print_counts(const uint64_t counts[VERDICT_SLOTS], bool lawful)
{
	char name[VERDICT_BUF];
	uint64_t sum = 0;
	bool first = true;

	for (unsigned v = 1; v < VERDICT_SLOTS; v++) {
		if (verdict_lawful((Spreg__V1__Verdict) v) == lawful) {
			sum += counts[v];
		}
	}
	printf("  %s %llu", lawful ? "lawful " : "failing",
	    (unsigned long long) sum);
	for (unsigned v = 1; v < VERDICT_SLOTS; v++) {
		if (verdict_lawful((Spreg__V1__Verdict) v) != lawful ||
		    counts[v] == 0) {
			continue;
		}
		printf("%s %s %llu", first ? ":" : ",",
		    verdict_name((Spreg__V1__Verdict) v, name),
		    (unsigned long long) counts[v]);
		first = false;
	}
	fputc('\n', stdout);
}

/* Per subprocessor: one column per verdict the enum names. */
static int
print_per_vendor(const cli *c, const tally *t)
{
	const ProtobufCEnumDescriptor *d = &spreg__v1__verdict__descriptor;
	const char *headers[VERDICT_SLOTS + 1] = {"SUBPROCESSOR"};
	char names[VERDICT_SLOTS][VERDICT_BUF];
	int values[VERDICT_SLOTS];
	size_t ncols = 1;

	for (unsigned i = 0; i < d->n_values && ncols < VERDICT_SLOTS; i++) {
		if (d->values[i].value <= 0) {
			continue;
		}
		values[ncols] = d->values[i].value;
		headers[ncols] = verdict_name(d->values[i].value, names[ncols]);
		ncols++;
	}
	table *per = table_create(ncols, headers);
	if (per == NULL) {
		return cli_out_of_memory();
	}
	table_column_keep(per, 0);
	for (size_t i = 0; i < t->nvendors; i++) {
		char nums[VERDICT_SLOTS][24];
		const char *cells[VERDICT_SLOTS] = {t->vendors[i].id};
		for (size_t col = 1; col < ncols; col++) {
			snprintf(nums[col], sizeof(nums[col]), "%llu",
			    (unsigned long long)
			        t->vendors[i].counts[slot(values[col])]);
			cells[col] = nums[col];
		}
		if (!table_row_add(per, cells)) {
			table_destroy(per);
			return cli_out_of_memory();
		}
	}
	fputc('\n', stdout);
	cli_table_print(c, per);
	table_destroy(per);
	return 0;
}

static int
print_summary(const cli *c, const tally *t,
    const Spreg__V1__AssessTransfersRequest *req, uint32_t horizon)
{
	uint64_t rows = 0;
	int rc;

	for (unsigned v = 0; v < VERDICT_SLOTS; v++) {
		rows += t->totals[v];
	}
	cli_table_print(c, t->rows);
	printf("\n%s transfers as of %s (rules %s): %llu in %zu "
	       "subprocessor(s)\n", t->regime, t->as_of, t->rules_version,
	    (unsigned long long) rows, t->nvendors);
	print_counts(t->totals, true);
	print_counts(t->totals, false);
	printf("  special-category data (Art. 9/10): %llu, %llu of them "
	       "failing\n", (unsigned long long) t->nspecial,
	    (unsigned long long) t->nspecial_failing);
	if ((rc = print_per_vendor(c, t)) != 0) {
		return rc;
	}
	if (table_row_count(t->lapsing) > 0) {
		printf("\nLapsing within %u days: %zu transfer(s) rest on a "
		       "basis that ends\n", (unsigned) horizon,
		    table_row_count(t->lapsing));
		cli_table_print(c, t->lapsing);
	}
	if (table_row_count(t->onward) > 0) {
		printf("\nOnward transfers (the vendors' own subprocessors; "
		       "flagged, not judged): %zu\n", table_row_count(t->onward));
		cli_table_print(c, t->onward);
	}
	if (t->affected != NULL) {
		printf("\nAffected if");
		for (size_t i = 0; i < req->n_suppose_invalid; i++) {
			const Spreg__V1__Supposition *s =
			    req->suppose_invalid[i];
			printf("%s %s ceased on %s", i ? "," : "", s->id,
			    s->from[0] ? s->from : t->as_of);
		}
		printf(": %llu transfer(s) fail, %llu keep a fallback "
		       "safeguard\n", (unsigned long long) t->naffected,
		    (unsigned long long) t->nfallback);
		if (table_row_count(t->affected) > 0) {
			cli_table_print(c, t->affected);
		}
	}
	return 0;
}

static int
assess_page(void *ctx, const ProtobufCMessage *msg)
{
	tally *t = ctx;
	const Spreg__V1__AssessTransfersResponse *resp = (const void *) msg;
	int rc = 0;

	snprintf(t->regime, sizeof(t->regime), "%s", resp->regime);
	snprintf(t->as_of, sizeof(t->as_of), "%s", resp->as_of);
	snprintf(t->rules_version, sizeof(t->rules_version), "%s",
	    resp->rules_version);
	for (size_t i = 0; i < resp->n_assessments && rc == 0; i++) {
		rc = tally_row(t, resp->assessments[i]);
	}
	for (size_t i = 0; i < resp->n_vendors && rc == 0; i++) {
		rc = tally_vendor(t, resp->vendors[i]);
	}
	return rc;
}

/* "ID[@DATE]": the date follows the last '@'. */
static int
add_supposition(const cli *c, Spreg__V1__AssessTransfersRequest *req,
    Spreg__V1__Supposition *store, const char *arg)
{
	Spreg__V1__Supposition *s = &store[req->n_suppose_invalid];
	char *text = (char *) arg;	/* argv: ours to cut */
	char *at = strrchr(text, '@');

	spreg__v1__supposition__init(s);
	if (at != NULL) {
		*at = '\0';
		s->from = at + 1;
	}
	if (text[0] == '\0') {
		return cli_usage_error(c, "--suppose-invalid: a mechanism id "
		                          "is needed before '@'");
	}
	s->id = text;
	req->suppose_invalid[req->n_suppose_invalid++] = s;
	return CLI_CONTINUE;
}

int
cmd_assess(cli *c)
{
	static const cli_option options[] = {
		{"customer", CLI_TEXT, "ID",
		    "that customer's regime and the vendors of its\n"
		    "services", 0, 0},
		{"regime", CLI_UPPER, "R", "EU, UK or CH (default EU)", 0, 0},
		{"as-of", CLI_TEXT, "DATE",
		    "the day judged, YYYY-MM-DD (default today, UTC)", 0, 0},
		{"subprocessor", CLI_TEXT, "ID", "only this subprocessor", 0, 0},
		{"horizon", CLI_NUMBER, "DAYS",
		    "flag bases that lapse within DAYS (default 90)", 1,
		    HORIZON_MAX},
		{"suppose-invalid", CLI_LIST, "ID[@DATE]",
		    "what if mechanism ID (or adequacy:REGIME:CC, or\n"
		    "a finding's id) ceased on DATE (default: the\n"
		    "day judged); repeatable. The date follows the\n"
		    "last '@', so a finding id needs one:\n"
		    "adequacy:EU:US@2023-07-10@2026-01-01", 0, 0},
		{"service", CLI_TEXT, "S", "vendor filter, as in list", 0, 0},
		{"country", CLI_COUNTRY, "CC", "vendor filter, as in list", 0, 0},
		{"category", CLI_TEXT, "K", "vendor filter, as in list", 0, 0},
		{NULL, CLI_FLAG, NULL, NULL, 0, 0},
	};
	static const cli_spec spec = {options, 0, 0,
	    "Prints SUBPROCESSOR, COUNTRY, CATEGORY (marked \"(special)\" for\n"
	    "Art. 9/10 data), VERDICT, REASON; then the verdict counts overall\n"
	    "and per subprocessor, the transfers whose basis lapses within the\n"
	    "horizon (LAPSES_ON), and with --suppose-invalid the transfers\n"
	    "affected and their fallback safeguards. A vendor with data\n"
	    "categories but no location is listed, with the verdict the\n"
	    "server gives it. With --json: JSON Lines, one transfer per line\n"
	    "(subprocessor, regime, country, data_category, verdict, reason,\n"
	    "reference, special_category, lapses_on, ...).\n"
	    "\nExit status 5 when any transfer is not lawful (TIA_REQUIRED,\n"
	    "INVALID, MISSING or any verdict but NO_TRANSFER, ADEQUATE,\n"
	    "SAFEGUARDED and DEROGATION) after the suppositions, 0 when all\n"
	    "are lawful.\n"};
	static const char *const headers[] = {"SUBPROCESSOR", "COUNTRY",
	    "CATEGORY", "VERDICT", "REASON"};
	static const char *const aheaders[] = {"SUBPROCESSOR", "COUNTRY",
	    "CATEGORY", "VERDICT", "FALLBACK"};
	static const char *const lheaders[] = {"SUBPROCESSOR", "COUNTRY",
	    "CATEGORY", "VERDICT", "LAPSES_ON", "MECHANISM"};
	static const char *const oheaders[] = {"SUBPROCESSOR",
	    "FOURTH_PARTY", "COUNTRY", "LEAVES_REGIME", "CONFIRMED_ON",
	    "SOURCE"};
	Spreg__V1__AssessTransfersRequest req =
	    SPREG__V1__ASSESS_TRANSFERS_REQUEST__INIT;
	Spreg__V1__Supposition suppose[SUPPOSE_MAX];
	Spreg__V1__Supposition *suppose_list[SUPPOSE_MAX];
	tally t;
	size_t nsuppose;
	int rc;

	memset(&t, 0, sizeof(t));
	if ((rc = cli_parse(c, &spec)) != CLI_CONTINUE) {
		return rc;
	}
	const char *const *sups = cli_opt_list(c, "suppose-invalid",
	    &nsuppose);
	if (nsuppose > SUPPOSE_MAX) {
		return cli_usage_error(c, "--suppose-invalid: at most %d",
		    SUPPOSE_MAX);
	}
	req.suppose_invalid = suppose_list;
	for (size_t i = 0; i < nsuppose; i++) {
		if ((rc = add_supposition(c, &req, suppose, sups[i])) !=
		    CLI_CONTINUE) {
			return rc;
		}
	}
	req.customer = cli_text(c, "customer");
	req.regime = cli_text(c, "regime");
	req.as_of = cli_text(c, "as-of");
	req.subprocessor_id = cli_text(c, "subprocessor");
	req.horizon_days = (uint32_t) cli_opt_u64(c, "horizon", 0);
	req.service = cli_text(c, "service");
	req.country = cli_text(c, "country");
	req.data_category = cli_text(c, "category");
	t.json = cli_json(c);
	if (!t.json) {
		if ((t.rows = table_create(5, headers)) == NULL ||
		    (t.lapsing = table_create(6, lheaders)) == NULL ||
		    (t.onward = table_create(6, oheaders)) == NULL ||
		    (req.n_suppose_invalid > 0 &&
		        (t.affected = table_create(5, aheaders)) == NULL)) {
			rc = cli_out_of_memory();
			goto out;
		}
		table_column_keep(t.rows, 0);
		table_column_keep(t.rows, 2);
		table_column_keep(t.lapsing, 0);
		table_column_keep(t.lapsing, 2);
		if (t.affected != NULL) {
			table_column_keep(t.affected, 0);
			table_column_keep(t.affected, 2);
			table_column_keep(t.affected, 4);
		}
	}
	if ((rc = cli_pages(c, ASSESSMENT "AssessTransfers", &req.base,
	         &spreg__v1__assess_transfers_response__descriptor, 0,
	         assess_page, &t)) != 0) {
		goto out;
	}
	if (!t.json && (rc = print_summary(c, &t, &req,
	                    req.horizon_days ? req.horizon_days : 90)) != 0) {
		goto out;
	}
	rc = t.failing ? CLI_EXIT_FAILING : 0;
out:
	tally_fini(&t);
	return rc;
}

int
cmd_rules(cli *c)
{
	static const cli_option options[] = {
		{"regime", CLI_UPPER, "R", "only the rules of regime R", 0, 0},
		{NULL, CLI_FLAG, NULL, NULL, 0, 0},
	};
	static const cli_spec spec = {options, 0, 0,
	    "Prints version and checksum, then ID, REGIME, KIND, SUBJECT, FROM,\n"
	    "UNTIL, CONDITION, SOURCE. With --json: the rule set as one JSON\n"
	    "object.\n"};
	static const char *const headers[] = {"ID", "REGIME", "KIND",
	    "SUBJECT", "FROM", "UNTIL", "CONDITION", "SOURCE"};
	Spreg__V1__GetRulesRequest req = SPREG__V1__GET_RULES_REQUEST__INIT;
	ProtobufCMessage *msg;
	table *t = NULL;
	int rc;

	if ((rc = cli_parse(c, &spec)) != CLI_CONTINUE) {
		return rc;
	}
	req.regime = cli_text(c, "regime");
	if ((rc = cli_call(c, ASSESSMENT "GetRules", &req.base,
	         &spreg__v1__get_rules_response__descriptor, &msg)) != 0) {
		return rc;
	}
	const Spreg__V1__GetRulesResponse *resp = (const void *) msg;
	if (cli_json(c)) {
		rc = cli_print_json(msg, false);
		goto out;
	}
	if ((t = table_create(8, headers)) == NULL) {
		rc = cli_out_of_memory();
		goto out;
	}
	table_column_keep(t, 0);
	for (size_t i = 0; i < resp->n_rules; i++) {
		const Spreg__V1__Rule *r = resp->rules[i];
		const char *cells[] = {r->id, r->regime, r->kind, r->subject,
		    r->valid_from, r->valid_until, r->condition, r->source};
		if (!table_row_add(t, cells)) {
			rc = cli_out_of_memory();
			goto out;
		}
	}
	printf("version: %s\nchecksum: %s\nrules: %zu\n\n", resp->version,
	    resp->checksum, resp->n_rules);
	cli_table_print(c, t);
out:
	table_destroy(t);
	spreg_message_free(msg);
	return rc;
}
