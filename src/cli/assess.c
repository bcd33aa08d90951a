/*
 * spreg assess and spreg rules (see assess.h). Same conventions as the
 * other commands of spreg.c: options after the command, global options
 * accepted there too, errors on stderr, exit codes 1 usage, 2 not found,
 * 3 server error, 4 cannot connect; assess adds 5 (a failing transfer).
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/assess.h"
#include "cli/table.h"
#include "core/pbjson.h"
#include "spreg/client.h"
#include "spreg/v1/assess.pb-c.h"
#include "spreg_config.h"

#define EXIT_USAGE 1
#define EXIT_NOT_FOUND 2
#define EXIT_SERVER 3
#define EXIT_CONNECT 4
#define EXIT_DENIED 7

#define PARSE_CONTINUE (-1)
#define PAGE_MAX 1000
#define HORIZON_MAX 3650
#define SUPPOSE_MAX 32
#define NVERDICTS 8	/* Verdict values 0..7 */

#define ASSESSMENT "spreg.v1.Assessment/"

enum {
	OPT_SERVER = 0x100,
	OPT_JSON,
	OPT_TIMEOUT,
	OPT_VERSION,
	OPT_CUSTOMER,
	OPT_REGIME,
	OPT_AS_OF,
	OPT_SUBPROCESSOR,
	OPT_HORIZON,
	OPT_SUPPOSE,
	OPT_SERVICE,
	OPT_COUNTRY,
	OPT_CATEGORY,
};

#define GLOBAL_OPTIONS \
	{"server", required_argument, NULL, OPT_SERVER}, \
	{"json", no_argument, NULL, OPT_JSON}, \
	{"timeout", required_argument, NULL, OPT_TIMEOUT}, \
	{"help", no_argument, NULL, 'h'}, \
	{"version", no_argument, NULL, OPT_VERSION}

const char cli_assess_synopsis[] =
    "assess [--customer ID | --regime EU|UK|CH] [--as-of DATE]\n"
    "            [--subprocessor ID] [--horizon DAYS]\n"
    "            [--suppose-invalid MECHANISM[@DATE]]... [--service S]\n"
    "            [--country CC] [--category K]";
const char cli_assess_summary[] =
    "Assess every transfer: subprocessor x country x data category";
const char cli_assess_options[] =
    "  --customer ID       that customer's regime and the vendors of its\n"
    "                      services\n"
    "  --regime R          EU, UK or CH (default EU)\n"
    "  --as-of DATE        the day judged, YYYY-MM-DD (default today, "
    "UTC)\n"
    "  --subprocessor ID   only this subprocessor\n"
    "  --horizon DAYS      flag bases that lapse within DAYS (default 90)\n"
    "  --suppose-invalid ID[@DATE]\n"
    "                      what if mechanism ID (or adequacy:REGIME:CC, or\n"
    "                      a finding's id) ceased on DATE (default: the\n"
    "                      day judged); repeatable. The date follows the\n"
    "                      last '@', so a finding id needs one:\n"
    "                      adequacy:EU:US@2023-07-10@2026-01-01\n"
    "  --service S, --country CC, --category K   vendor filters, as in "
    "list\n"
    "\nPrints SUBPROCESSOR, COUNTRY, CATEGORY, VERDICT, REASON, then the\n"
    "verdict counts overall and per subprocessor; with --suppose-invalid\n"
    "also the transfers affected and their fallback safeguards. With\n"
    "--json: JSON Lines, one transfer per line (subprocessor, regime,\n"
    "country, data_category, verdict, reason, reference, ...).\n"
    "\nExit status 5 when any transfer is TIA_REQUIRED, INVALID or "
    "MISSING\n(after the suppositions), 0 when all are lawful.\n";

const char cli_rules_synopsis[] = "rules [--regime EU|UK|CH]";
const char cli_rules_summary[] =
    "Show the transfer rules in force and their sources";
const char cli_rules_options[] =
    "  --regime R   only the rules of regime R\n"
    "\nPrints version and checksum, then ID, REGIME, KIND, SUBJECT, FROM,\n"
    "UNTIL, CONDITION, SOURCE. With --json: the rule set as one JSON\n"
    "object.\n";

typedef struct cmd {
	cli_settings s;
	const char *name;
	const char *synopsis, *summary, *options;
	spreg_client *client;
} cmd;

static void
usage(const cmd *c, FILE *out)
{
	fprintf(out, "usage: spreg %s\n\n%s.\n\nOptions:\n%s", c->synopsis,
	    c->summary, c->options);
	fprintf(out, "\nGlobal options --server, --json, --timeout and exit "
	             "codes: see 'spreg --help'.\n");
}

static int usage_error(const cmd *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
usage_error(const cmd *c, const char *fmt, ...)
{
	va_list ap;

	fputs("spreg: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'spreg %s --help'.\n", c->name);
	return EXIT_USAGE;
}

static int
out_of_memory(void)
{
	fprintf(stderr, "spreg: out of memory\n");
	return EXIT_SERVER;
}

/* Whole decimal number in [min, max], or a usage error. */
static int
number(const cmd *c, const char *name, const char *text, unsigned long min,
    unsigned long max, unsigned long *out)
{
	char *end;

	if (text[0] < '0' || text[0] > '9') {
		goto bad;
	}
	errno = 0;
	*out = strtoul(text, &end, 10);
	if (errno == 0 && *end == '\0' && *out >= min && *out <= max) {
		return PARSE_CONTINUE;
	}
bad:
	return usage_error(c, "%s: '%s' is not a whole number from %lu to %lu",
	    name, text, min, max);
}

/* Global options, --help and getopt errors. */
static int
global_option(cmd *c, int opt, char **argv)
{
	unsigned long v = 0;
	int rc;

	switch (opt) {
	case OPT_SERVER:
		c->s.server = optarg;
		return PARSE_CONTINUE;
	case OPT_JSON:
		c->s.json = true;
		return PARSE_CONTINUE;
	case OPT_TIMEOUT:
		if ((rc = number(c, "--timeout", optarg, 1, INT_MAX, &v)) ==
		    PARSE_CONTINUE) {
			c->s.timeout_ms = (int) v;
		}
		return rc;
	case 'h':
		usage(c, stdout);
		return 0;
	case OPT_VERSION:
		printf("spreg %s\n", SPREG_VERSION);
		return 0;
	case ':':
		return usage_error(c, "option '%s' needs an argument",
		    argv[optind - 1]);
	default:
		if (optopt != 0) {
			return usage_error(c, "unknown option '-%c'",
			    (char) optopt);
		}
		return usage_error(c, "unknown option '%s'", argv[optind - 1]);
	}
}

static int
no_operands(const cmd *c, int argc, char **argv)
{
	if (optind < argc) {
		return usage_error(c, "unexpected argument '%s'",
		    argv[optind]);
	}
	return PARSE_CONTINUE;
}

static int
connect_server(cmd *c)
{
	spreg_status st = spreg_client_open_tls(c->s.server, &c->s.tls, false,
	    &c->client);

	if (st == SPREG_INVALID_ARGUMENT) {
		fprintf(stderr, "spreg: --server: '%s' is not an nng URL\n",
		    c->s.server);
		return EXIT_USAGE;
	}
	if (st != SPREG_OK) {
		fprintf(stderr, "spreg: cannot reach server at %s: %s\n",
		    c->s.server, st == SPREG_UNAVAILABLE ?
		    "no server is listening there" : spreg_status_name(st));
		return EXIT_CONNECT;
	}
	spreg_client_set_timeout(c->client, c->s.timeout_ms);
	spreg_client_set_token(c->client, c->s.token);
	return 0;
}

static int
call(cmd *c, const char *method, const ProtobufCMessage *req,
    const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp_out)
{
	spreg_status st = spreg_call(c->client, method, req, resp_desc,
	    resp_out);

	switch (st) {
	case SPREG_OK:
		return 0;
	case SPREG_UNAVAILABLE:
	case SPREG_DEADLINE_EXCEEDED:
		fprintf(stderr, "spreg: cannot reach server at %s: %s\n",
		    c->s.server, spreg_client_error(c->client));
		return EXIT_CONNECT;
	default:
		fprintf(stderr, "spreg: %s: %s\n", spreg_status_name(st),
		    spreg_client_error(c->client));
		return st == SPREG_NOT_FOUND ? EXIT_NOT_FOUND :
		    st == SPREG_UNAUTHENTICATED ||
		        st == SPREG_PERMISSION_DENIED ? EXIT_DENIED :
		    EXIT_SERVER;
	}
}

static const char *
verdict_name(Spreg__V1__Verdict v)
{
	static const char *const names[NVERDICTS] = {"UNSPECIFIED",
	    "NO_TRANSFER", "ADEQUATE", "SAFEGUARDED", "TIA_REQUIRED",
	    "DEROGATION", "INVALID", "MISSING"};
	return (unsigned) v < NVERDICTS ? names[v] : "UNSPECIFIED";
}

static bool
verdict_failing(Spreg__V1__Verdict v)
{
	return v == SPREG__V1__VERDICT__VERDICT_TIA_REQUIRED ||
	    v == SPREG__V1__VERDICT__VERDICT_INVALID ||
	    v == SPREG__V1__VERDICT__VERDICT_MISSING;
}

/* ---- assess ---------------------------------------------------------------- */

/* Counts of one vendor, in the order vendors first appear. */
typedef struct vendor_counts {
	char *id;
	uint64_t counts[NVERDICTS];
} vendor_counts;

/* What the walk over the pages gathers for the summary. */
typedef struct tally {
	uint64_t totals[NVERDICTS];
	vendor_counts *vendors;
	size_t nvendors, capvendors;
	table *rows;		/* NULL with --json */
	table *affected;	/* NULL without suppositions or with --json */
	uint64_t naffected, nfallback;
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
}

static int
tally_vendor(tally *t, const Spreg__V1__VendorSummary *vs)
{
	if (t->nvendors == t->capvendors) {
		size_t cap = t->capvendors ? t->capvendors * 2 : 64;
		vendor_counts *grown = realloc(t->vendors,
		    cap * sizeof(*grown));
		if (grown == NULL) {
			return out_of_memory();
		}
		t->vendors = grown;
		t->capvendors = cap;
	}
	vendor_counts *v = &t->vendors[t->nvendors];
	memset(v, 0, sizeof(*v));
	if ((v->id = strdup(vs->subprocessor_id)) == NULL) {
		return out_of_memory();
	}
	t->nvendors++;
	for (size_t i = 0; i < vs->n_counts; i++) {
		v->counts[vs->counts[i]->verdict % NVERDICTS] +=
		    vs->counts[i]->count;
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
		return out_of_memory();
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
tally_row(tally *t, const Spreg__V1__TransferAssessment *row, bool json)
{
	t->totals[row->verdict % NVERDICTS]++;
	if (row->affected) {
		t->naffected++;
	}
	if (row->fallback[0] != '\0') {
		t->nfallback++;
	}
	if (json) {
		return print_row_json(row);
	}
	const char *cells[] = {row->subprocessor_id, row->country,
	    row->data_category, verdict_name(row->verdict), row->reason};
	if (!table_row_add(t->rows, cells)) {
		return out_of_memory();
	}
	if (t->affected != NULL &&
	    (row->affected || row->fallback[0] != '\0')) {
		const char *acells[] = {row->subprocessor_id, row->country,
		    row->data_category, verdict_name(row->verdict),
		    row->fallback[0] ? row->fallback : "none"};
		if (!table_row_add(t->affected, acells)) {
			return out_of_memory();
		}
	}
	return 0;
}

static void
print_counts(const uint64_t counts[NVERDICTS], bool lawful)
{
	uint64_t sum = 0;
	bool first = true;

	for (int v = 1; v < NVERDICTS; v++) {
		if (verdict_failing((Spreg__V1__Verdict) v) != lawful) {
			sum += counts[v];
		}
	}
	printf("  %s %llu", lawful ? "lawful " : "failing",
	    (unsigned long long) sum);
	for (int v = 1; v < NVERDICTS; v++) {
		if (verdict_failing((Spreg__V1__Verdict) v) == lawful ||
		    counts[v] == 0) {
			continue;
		}
		printf("%s %s %llu", first ? ":" : ",",
		    verdict_name((Spreg__V1__Verdict) v),
		    (unsigned long long) counts[v]);
		first = false;
	}
	fputc('\n', stdout);
}

static int
print_summary(const tally *t, const Spreg__V1__AssessTransfersRequest *req)
{
	static const char *const headers[] = {"SUBPROCESSOR", "NO_TRANSFER",
	    "ADEQUATE", "SAFEGUARDED", "TIA_REQUIRED", "DEROGATION",
	    "INVALID", "MISSING"};
	uint64_t rows = 0;

	for (int v = 0; v < NVERDICTS; v++) {
		rows += t->totals[v];
	}
	table_print(t->rows, stdout);
	printf("\n%s transfers as of %s (rules %s): %llu in %zu "
	       "subprocessor(s)\n", t->regime, t->as_of, t->rules_version,
	    (unsigned long long) rows, t->nvendors);
	print_counts(t->totals, true);
	print_counts(t->totals, false);

	table *per = table_create(8, headers);
	if (per == NULL) {
		return out_of_memory();
	}
	table_column_keep(per, 0);
	for (size_t i = 0; i < t->nvendors; i++) {
		char nums[NVERDICTS][24];
		const char *cells[8] = {t->vendors[i].id};
		for (int v = 1; v < NVERDICTS; v++) {
			snprintf(nums[v], sizeof(nums[v]), "%llu",
			    (unsigned long long) t->vendors[i].counts[v]);
			cells[v] = nums[v];
		}
		if (!table_row_add(per, cells)) {
			table_destroy(per);
			return out_of_memory();
		}
	}
	fputc('\n', stdout);
	table_print(per, stdout);
	table_destroy(per);

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
			table_print(t->affected, stdout);
		}
	}
	return 0;
}

/* "ID[@DATE]": the date follows the last '@'. */
static int
add_supposition(const cmd *c, Spreg__V1__AssessTransfersRequest *req,
    Spreg__V1__Supposition *store, char *text)
{
	if (req->n_suppose_invalid == SUPPOSE_MAX) {
		return usage_error(c, "--suppose-invalid: at most %d",
		    SUPPOSE_MAX);
	}
	Spreg__V1__Supposition *s = &store[req->n_suppose_invalid];
	spreg__v1__supposition__init(s);
	char *at = strrchr(text, '@');
	if (at != NULL) {
		*at = '\0';
		s->from = at + 1;
	}
	if (text[0] == '\0') {
		return usage_error(c, "--suppose-invalid: a mechanism id is "
		    "needed before '@'");
	}
	s->id = text;
	req->suppose_invalid[req->n_suppose_invalid++] = s;
	return PARSE_CONTINUE;
}

static void
upper(char *s)
{
	for (; *s != '\0'; s++) {
		if (*s >= 'a' && *s <= 'z') {
			*s = (char) (*s - 'a' + 'A');
		}
	}
}

/* Calls AssessTransfers page after page into t. */
static int
walk(cmd *c, Spreg__V1__AssessTransfersRequest *req, tally *t,
    bool *failing)
{
	char *token = NULL;
	int rc = 0;

	do {
		ProtobufCMessage *msg = NULL;
		req->page_size = PAGE_MAX;
		req->page_token = token ? token : (char *) "";
		if ((rc = call(c, ASSESSMENT "AssessTransfers", &req->base,
		         &spreg__v1__assess_transfers_response__descriptor,
		         &msg)) != 0) {
			break;
		}
		const Spreg__V1__AssessTransfersResponse *resp =
		    (const void *) msg;
		snprintf(t->regime, sizeof(t->regime), "%s", resp->regime);
		snprintf(t->as_of, sizeof(t->as_of), "%s", resp->as_of);
		snprintf(t->rules_version, sizeof(t->rules_version), "%s",
		    resp->rules_version);
		for (size_t i = 0; i < resp->n_assessments && rc == 0; i++) {
			*failing = *failing ||
			    verdict_failing(resp->assessments[i]->verdict);
			rc = tally_row(t, resp->assessments[i], c->s.json);
		}
		for (size_t i = 0; i < resp->n_vendors && rc == 0; i++) {
			rc = tally_vendor(t, resp->vendors[i]);
		}
		free(token);
		token = NULL;
		/* An empty page ends the walk: never loop on a confused
		 * reply. */
		if (rc == 0 && resp->next_page_token[0] != '\0' &&
		    resp->n_vendors > 0 &&
		    (token = strdup(resp->next_page_token)) == NULL) {
			rc = out_of_memory();
		}
		spreg_message_free(msg);
	} while (rc == 0 && token != NULL);
	free(token);
	return rc;
}

int
cli_assess(const cli_settings *s, int argc, char **argv)
{
	static const struct option options[] = {
		{"customer", required_argument, NULL, OPT_CUSTOMER},
		{"regime", required_argument, NULL, OPT_REGIME},
		{"as-of", required_argument, NULL, OPT_AS_OF},
		{"subprocessor", required_argument, NULL, OPT_SUBPROCESSOR},
		{"horizon", required_argument, NULL, OPT_HORIZON},
		{"suppose-invalid", required_argument, NULL, OPT_SUPPOSE},
		{"service", required_argument, NULL, OPT_SERVICE},
		{"country", required_argument, NULL, OPT_COUNTRY},
		{"category", required_argument, NULL, OPT_CATEGORY},
		GLOBAL_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	static const char *const headers[] = {"SUBPROCESSOR", "COUNTRY",
	    "CATEGORY", "VERDICT", "REASON"};
	static const char *const aheaders[] = {"SUBPROCESSOR", "COUNTRY",
	    "CATEGORY", "VERDICT", "FALLBACK"};
	cmd c = {*s, "assess", cli_assess_synopsis, cli_assess_summary,
	    cli_assess_options, NULL};
	Spreg__V1__AssessTransfersRequest req =
	    SPREG__V1__ASSESS_TRANSFERS_REQUEST__INIT;
	Spreg__V1__Supposition suppose[SUPPOSE_MAX];
	Spreg__V1__Supposition *suppose_list[SUPPOSE_MAX];
	tally t;
	bool failing = false;
	unsigned long horizon = 0;
	int opt;
	int rc;

	memset(&t, 0, sizeof(t));
	req.suppose_invalid = suppose_list;
	while ((opt = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
		rc = PARSE_CONTINUE;
		switch (opt) {
		case OPT_CUSTOMER:
			req.customer = optarg;
			break;
		case OPT_REGIME:
			upper(optarg);
			req.regime = optarg;
			break;
		case OPT_AS_OF:
			req.as_of = optarg;	/* checked by the server */
			break;
		case OPT_SUBPROCESSOR:
			req.subprocessor_id = optarg;
			break;
		case OPT_HORIZON:
			if ((rc = number(&c, "--horizon", optarg, 1,
			         HORIZON_MAX, &horizon)) == PARSE_CONTINUE) {
				req.horizon_days = (uint32_t) horizon;
			}
			break;
		case OPT_SUPPOSE:
			rc = add_supposition(&c, &req, suppose, optarg);
			break;
		case OPT_SERVICE:
			req.service = optarg;
			break;
		case OPT_COUNTRY:
			upper(optarg);
			req.country = optarg;
			break;
		case OPT_CATEGORY:
			req.data_category = optarg;
			break;
		default:
			rc = global_option(&c, opt, argv);
			break;
		}
		if (rc != PARSE_CONTINUE) {
			return rc;
		}
	}
	if ((rc = no_operands(&c, argc, argv)) != PARSE_CONTINUE ||
	    (rc = connect_server(&c)) != 0) {
		goto out;
	}
	if (!c.s.json) {
		if ((t.rows = table_create(5, headers)) == NULL ||
		    (req.n_suppose_invalid > 0 &&
		        (t.affected = table_create(5, aheaders)) == NULL)) {
			rc = out_of_memory();
			goto out;
		}
		table_column_keep(t.rows, 0);
		table_column_keep(t.rows, 2);
		if (t.affected != NULL) {
			table_column_keep(t.affected, 0);
			table_column_keep(t.affected, 2);
			table_column_keep(t.affected, 4);
		}
	}
	if ((rc = walk(&c, &req, &t, &failing)) != 0) {
		goto out;
	}
	if (!c.s.json && (rc = print_summary(&t, &req)) != 0) {
		goto out;
	}
	rc = failing ? CLI_EXIT_FAILING : 0;
out:
	tally_fini(&t);
	spreg_client_close(c.client);
	return rc;
}

/* ---- rules ----------------------------------------------------------------- */

int
cli_rules(const cli_settings *s, int argc, char **argv)
{
	static const struct option options[] = {
		{"regime", required_argument, NULL, OPT_REGIME},
		GLOBAL_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	static const char *const headers[] = {"ID", "REGIME", "KIND",
	    "SUBJECT", "FROM", "UNTIL", "CONDITION", "SOURCE"};
	cmd c = {*s, "rules", cli_rules_synopsis, cli_rules_summary,
	    cli_rules_options, NULL};
	Spreg__V1__GetRulesRequest req = SPREG__V1__GET_RULES_REQUEST__INIT;
	ProtobufCMessage *msg = NULL;
	table *t = NULL;
	int opt;
	int rc;

	while ((opt = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
		if (opt == OPT_REGIME) {
			upper(optarg);
			req.regime = optarg;
			rc = PARSE_CONTINUE;
		} else {
			rc = global_option(&c, opt, argv);
		}
		if (rc != PARSE_CONTINUE) {
			return rc;
		}
	}
	if ((rc = no_operands(&c, argc, argv)) != PARSE_CONTINUE ||
	    (rc = connect_server(&c)) != 0 ||
	    (rc = call(&c, ASSESSMENT "GetRules", &req.base,
	         &spreg__v1__get_rules_response__descriptor, &msg)) != 0) {
		goto out;
	}
	const Spreg__V1__GetRulesResponse *resp = (const void *) msg;
	if (c.s.json) {
		json_t *json = pbjson_from_message(msg);
		if (json == NULL) {
			rc = out_of_memory();
			goto out;
		}
		json_dumpf(json, stdout, JSON_INDENT(2));
		fputc('\n', stdout);
		json_decref(json);
		goto out;
	}
	if ((t = table_create(8, headers)) == NULL) {
		rc = out_of_memory();
		goto out;
	}
	table_column_keep(t, 0);
	for (size_t i = 0; i < resp->n_rules; i++) {
		const Spreg__V1__Rule *r = resp->rules[i];
		const char *cells[] = {r->id, r->regime, r->kind, r->subject,
		    r->valid_from, r->valid_until, r->condition, r->source};
		if (!table_row_add(t, cells)) {
			rc = out_of_memory();
			goto out;
		}
	}
	printf("version: %s\nchecksum: %s\nrules: %zu\n\n", resp->version,
	    resp->checksum, resp->n_rules);
	table_print(t, stdout);
out:
	table_destroy(t);
	spreg_message_free(msg);
	spreg_client_close(c.client);
	return rc;
}
