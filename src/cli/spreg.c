/*
 * spreg: the command-line client of spregd.
 * global options -> command -> its options -> connect -> call(s) ->
 * table, "key: value" lines or JSON on stdout; errors on stderr.
 *
 * Exit codes are part of the interface (scripts test them): see
 * EXIT_* below and the help text.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/assess.h"
#include "cli/export.h"
#include "cli/table.h"
#include "core/date.h"
#include "core/pb.h"
#include "core/pbjson.h"
#include "spreg/client.h"
#include "spreg/v1/admin.pb-c.h"
#include "spreg/watch.h"
#include "spreg_config.h"

#define EXIT_USAGE 1		/* bad option or argument, bad input file */
#define EXIT_NOT_FOUND 2	/* the server said NOT_FOUND */
#define EXIT_SERVER 3		/* any other error status from the server */
#define EXIT_CONNECT 4		/* no server, or no reply in time */
#define EXIT_TAMPERED 6		/* verify: the log or a record was altered */
#define EXIT_DENIED 7		/* UNAUTHENTICATED or PERMISSION_DENIED */

/* Returned by option helpers: keep parsing. */
#define PARSE_CONTINUE (-1)

#define TIMEOUT_DEFAULT_MS 10000
#define PAGE_MAX 1000		/* the server's largest page */
#define INPUT_MAX (16 << 20)	/* bytes of a put file */

/* Long options without a short form: values above any char, so they
 * never clash with one. */
enum {
	OPT_SERVER = 0x100,
	OPT_TLS_CA,
	OPT_TLS_CERT,
	OPT_TLS_KEY,
	OPT_TOKEN_FILE,
	OPT_JSON,
	OPT_TIMEOUT,
	OPT_VERSION,
	OPT_REVISION,
	OPT_CATEGORY,
	OPT_COUNTRY,
	OPT_MECHANISM,
	OPT_SERVICE,
	OPT_STATUS,
	OPT_PAGE_SIZE,
	OPT_ALL,
	OPT_LIMIT,
	OPT_EXPECTED_REVISION,
	OPT_CREATE_ONLY,
	OPT_EFFECTIVE_UNTIL,
	OPT_SINCE,
	OPT_PARENT,
	OPT_CUSTOMER,
	OPT_SUBPROCESSOR,
	OPT_PUB,
	OPT_COUNT,
	OPT_AS_OF,
	OPT_ROLE,
	OPT_NAME,
};

/* Accepted before the command and after it. */
#define GLOBAL_OPTIONS \
	{"server", required_argument, NULL, OPT_SERVER}, \
	{"tls-ca", required_argument, NULL, OPT_TLS_CA}, \
	{"tls-cert", required_argument, NULL, OPT_TLS_CERT}, \
	{"tls-key", required_argument, NULL, OPT_TLS_KEY}, \
	{"token-file", required_argument, NULL, OPT_TOKEN_FILE}, \
	{"json", no_argument, NULL, OPT_JSON}, \
	{"timeout", required_argument, NULL, OPT_TIMEOUT}, \
	{"help", no_argument, NULL, 'h'}, \
	{"version", no_argument, NULL, OPT_VERSION}

typedef struct cli cli;

typedef struct command {
	const char *name;
	int (*run)(cli *g, int argc, char **argv);
	const char *synopsis;
	const char *summary;
	const char *options;	/* help text of its own options */
} command;

struct cli {
	const char *server;
	spreg_tls_options tls;	/* for a tls+tcp:// server */
	const char *token_file;	/* --token-file; NULL: the environment */
	char token[SPREG_TOKEN_MAX];	/* resolved by resolve_token */
	bool json;
	int timeout_ms;
	const command *cmd;	/* NULL before the command is known */
	spreg_client *client;	/* opened by connect_server */
};

/* ---- help ---------------------------------------------------------------- */

/* After the command table, which they read. */
static void usage_global(FILE *out);
static const command *command_find(const char *name);

static void
usage_command(const command *cmd, FILE *out)
{
	fprintf(out, "usage: spreg %s\n\n%s.\n", cmd->synopsis, cmd->summary);
	if (cmd->options[0] != '\0') {
		fprintf(out, "\nOptions:\n%s", cmd->options);
	}
	fprintf(out, "\nGlobal options --server, --json, --timeout and exit "
	             "codes: see 'spreg --help'.\n");
}

/* Prints a usage error and returns EXIT_USAGE. */
static int usage_error(const cli *g, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
usage_error(const cli *g, const char *fmt, ...)
{
	va_list ap;

	fputs("spreg: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (g->cmd != NULL) {
		fprintf(stderr, "\nTry 'spreg %s --help'.\n", g->cmd->name);
	} else {
		fprintf(stderr, "\nTry 'spreg --help'.\n");
	}
	return EXIT_USAGE;
}

/* ---- option parsing ---------------------------------------------------- */

/* Decimal digits only, no sign, no blanks, at most max. */
static bool
parse_u64(const char *text, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (text[0] == '\0') {
		return false;
	}
	for (const char *p = text; *p != '\0'; p++) {
		if (*p < '0' || *p > '9') {
			return false;
		}
		unsigned digit = (unsigned) (*p - '0');
		if (digit > max || v > (max - digit) / 10) {
			return false;
		}
		v = v * 10 + digit;
	}
	*out = v;
	return true;
}

static int
number_option(const cli *g, const char *name, const char *text,
    uint64_t min, uint64_t max, uint64_t *out)
{
	if (!parse_u64(text, max, out) || *out < min) {
		return usage_error(g,
		    "%s: '%s' is not a whole number from %llu to %llu", name,
		    text, (unsigned long long) min, (unsigned long long) max);
	}
	return PARSE_CONTINUE;
}

/*
 * Handles a global option, --help, or a getopt error for the current
 * command. Returns PARSE_CONTINUE, or the exit code to stop with.
 */
static int
global_option(cli *g, int opt, char **argv)
{
	uint64_t v;
	int rc;

	switch (opt) {
	case OPT_SERVER:
		g->server = optarg;
		return PARSE_CONTINUE;
	case OPT_TLS_CA:
		g->tls.ca_file = optarg;
		return PARSE_CONTINUE;
	case OPT_TLS_CERT:
		g->tls.cert_file = optarg;
		return PARSE_CONTINUE;
	case OPT_TLS_KEY:
		g->tls.key_file = optarg;
		return PARSE_CONTINUE;
	case OPT_TOKEN_FILE:
		g->token_file = optarg;
		return PARSE_CONTINUE;
	case OPT_JSON:
		g->json = true;
		return PARSE_CONTINUE;
	case OPT_TIMEOUT:
		if ((rc = number_option(g, "--timeout", optarg, 1, INT_MAX,
		         &v)) == PARSE_CONTINUE) {
			g->timeout_ms = (int) v;
		}
		return rc;
	case 'h':
		if (g->cmd != NULL) {
			usage_command(g->cmd, stdout);
		} else {
			usage_global(stdout);
		}
		return 0;
	case OPT_VERSION:
		printf("spreg %s\n", SPREG_VERSION);
		return 0;
	case ':':
		return usage_error(g, "option '%s' needs an argument",
		    argv[optind - 1]);
	default:
		/* '?': optopt is the bad short option, or 0 for a long one. */
		if (optopt != 0) {
			char shortopt[3] = {'-', (char) optopt, '\0'};
			return usage_error(g, "unknown option '%s'", shortopt);
		}
		return usage_error(g, "unknown option '%s'", argv[optind - 1]);
	}
}

/* Checks that exactly want operands follow the options. */
static int
operands(const cli *g, int argc, char **argv, int want)
{
	if (argc - optind < want) {
		return usage_error(g, "%s: missing argument", g->cmd->name);
	}
	if (argc - optind > want) {
		return usage_error(g, "unexpected argument '%s'",
		    argv[optind + want]);
	}
	return PARSE_CONTINUE;
}

/* ---- calling the server ------------------------------------------------ */

/* --token-file, else $SPREG_TOKEN, else $SPREG_TOKEN_FILE, into g->token. */
static int
resolve_token(cli *g)
{
	if (spreg_token_resolve(g->token_file, g->token, sizeof(g->token)) !=
	    SPREG_OK) {
		const char *f = g->token_file ? g->token_file :
		    getenv("SPREG_TOKEN_FILE");
		return f != NULL ?
		    usage_error(g, "token file '%s': cannot be read or holds "
		        "no token", f) :
		    usage_error(g, "$SPREG_TOKEN: longer than a token");
	}
	return 0;
}

static int
connect_server(cli *g)
{
	bool tls = strncmp(g->server, "tls+", 4) == 0;
	spreg_status st;

	if ((g->tls.cert_file == NULL) != (g->tls.key_file == NULL)) {
		return usage_error(g, "--tls-cert and --tls-key go together");
	}
	st = spreg_client_open_tls(g->server, &g->tls, false, &g->client);
	if (st == SPREG_INVALID_ARGUMENT) {
		fprintf(stderr, tls ?
		    "spreg: --server '%s': not an nng URL, or a --tls-ca, "
		    "--tls-cert or --tls-key file is not readable PEM\n" :
		    "spreg: --server: '%s' is not an nng URL\n", g->server);
		return EXIT_USAGE;
	}
	if (st != SPREG_OK) {
		fprintf(stderr, "spreg: cannot reach server at %s: %s\n",
		    g->server, st == SPREG_UNAUTHENTICATED ?
		    "TLS handshake failed (server not trusted: see --tls-ca; "
		    "or our certificate refused: see --tls-cert)" :
		    st == SPREG_UNAVAILABLE ?
		    (tls ? "no TLS server is listening there, or it "
		           "closed the connection (does it require a client "
		           "certificate? see --tls-cert)" :
		           "no server is listening there") :
		    spreg_status_name(st));
		return EXIT_CONNECT;
	}
	spreg_client_set_timeout(g->client, g->timeout_ms);
	int rc = resolve_token(g);
	spreg_client_set_token(g->client, g->token);
	return rc;
}

/*
 * Calls method; on success *resp_out is the response, which the caller
 * frees with spreg_message_free. On failure prints why and returns the
 * exit code.
 */
static int
call(cli *g, const char *method, const ProtobufCMessage *req,
    const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp_out)
{
	spreg_status st = spreg_call(g->client, method, req, resp_desc,
	    resp_out);

	switch (st) {
	case SPREG_OK:
		return 0;
	case SPREG_UNAVAILABLE:
	case SPREG_DEADLINE_EXCEEDED:
		fprintf(stderr, "spreg: cannot reach server at %s: %s\n",
		    g->server, spreg_client_error(g->client));
		return EXIT_CONNECT;
	case SPREG_UNAUTHENTICATED:
		fprintf(stderr, "spreg: %s: %s\n%s", spreg_status_name(st),
		    spreg_client_error(g->client), g->token[0] ? "" :
		    "(no token given: use --token-file FILE, $SPREG_TOKEN or "
		    "$SPREG_TOKEN_FILE)\n");
		return EXIT_DENIED;
	case SPREG_PERMISSION_DENIED:
		fprintf(stderr, "spreg: %s: %s\n", spreg_status_name(st),
		    spreg_client_error(g->client));
		return EXIT_DENIED;
	default:
		fprintf(stderr, "spreg: %s: %s\n", spreg_status_name(st),
		    spreg_client_error(g->client));
		return st == SPREG_NOT_FOUND ? EXIT_NOT_FOUND : EXIT_SERVER;
	}
}

/* ---- output -------------------------------------------------------------- */

static int
out_of_memory(void)
{
	fprintf(stderr, "spreg: out of memory\n");
	return EXIT_SERVER;
}

/* Writes msg as JSON: indented when alone, one line in JSON Lines. */
static int
print_json(const ProtobufCMessage *msg, bool one_line)
{
	json_t *json = pbjson_from_message(msg);

	if (json == NULL) {
		return out_of_memory();
	}
	json_dumpf(json, stdout, one_line ? JSON_COMPACT : JSON_INDENT(2));
	fputc('\n', stdout);
	json_decref(json);
	return 0;
}

static const char *
status_name(Spreg__V1__SubprocessorStatus status)
{
	switch (status) {
	case SP_STATUS_PROPOSED:
		return "proposed";
	case SP_STATUS_ACTIVE:
		return "active";
	case SP_STATUS_RETIRED:
		return "retired";
	default:
		return "unspecified";
	}
}

static const char *
kind_name(Spreg__V1__ChangeKind kind)
{
	switch (kind) {
	case CHANGE_CREATED:
		return "created";
	case CHANGE_UPDATED:
		return "updated";
	case CHANGE_RETIRED:
		return "retired";
	case CHANGE_ANNOUNCED:
		return "announced";
	case CHANGE_TOOK_EFFECT:
		return "took-effect";
	case CHANGE_OBJECTION:
		return "objection";
	case CHANGE_CUSTOMER_UPDATED:
		return "customer-updated";
	case CHANGE_CUSTOMER_DELETED:
		return "customer-deleted";
	case CHANGE_ASSESSMENT_CHANGED:
		return "assessment-changed";
	default:
		return "unspecified";
	}
}

/*
 * Appends item to the comma-separated list in buf unless it is there
 * already. A full buffer keeps what fits: table cells are cut far
 * shorter anyway.
 */
static void
list_add_unique(char *buf, size_t size, const char *item)
{
	size_t item_len = strlen(item);
	const char *p = buf;

	while (*p != '\0') {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t) (comma - p) : strlen(p);
		if (len == item_len && memcmp(p, item, len) == 0) {
			return;
		}
		p += len + (comma ? 1 : 0);
	}
	size_t used = strlen(buf);
	snprintf(buf + used, size - used, "%s%s", used ? "," : "", item);
}

static void
print_field(const char *key, const char *value)
{
	if (value != NULL && value[0] != '\0') {
		printf("%s: %s\n", key, value);
	}
}

static void
print_strings(const char *key, char **items, size_t n)
{
	if (n == 0) {
		return;
	}
	printf("%s: ", key);
	for (size_t i = 0; i < n; i++) {
		printf("%s%s", i ? ", " : "", items[i]);
	}
	fputc('\n', stdout);
}

/* "key: value" lines; empty fields left out, as in the JSON form. */
static void
print_subprocessor(const Spreg__V1__Subprocessor *sp)
{
	print_field("id", sp->id);
	print_field("name", sp->name);
	print_field("legal_entity", sp->legal_entity);
	print_field("purpose", sp->purpose);
	print_field("website", sp->website);
	print_field("status", status_name(sp->status));
	print_strings("services", sp->services, sp->n_services);
	print_strings("data_categories", sp->data_categories,
	    sp->n_data_categories);
	for (size_t i = 0; i < sp->n_locations; i++) {
		const Spreg__V1__Location *loc = sp->locations[i];
		printf("location: %s %s", loc->country, loc->role);
		for (size_t j = 0; j < loc->n_data_categories; j++) {
			printf("%s%s", j ? ", " : " (",
			    loc->data_categories[j]);
		}
		printf("%s\n", loc->n_data_categories ? ")" : "");
	}
	for (size_t i = 0; i < sp->n_safeguards; i++) {
		const Spreg__V1__Safeguard *sg = sp->safeguards[i];
		printf("safeguard: %s %s", sg->mechanism, sg->regime);
		if (sg->signed_on[0] != '\0') {
			printf(" signed %s", sg->signed_on);
		}
		if (sg->expires_on[0] != '\0') {
			printf(" expires %s", sg->expires_on);
		}
		if (sg->document_ref[0] != '\0') {
			printf(" document %s", sg->document_ref);
		}
		if (sg->tia_ref[0] != '\0') {
			printf(" tia %s", sg->tia_ref);
		}
		fputc('\n', stdout);
	}
	print_field("dpf_certified_on", sp->dpf_certified_on);
	print_field("effective_from", sp->effective_from);
	print_field("effective_until", sp->effective_until);
	printf("revision: %llu\n", (unsigned long long) sp->revision);
	print_field("updated_at", sp->updated_at);
	print_field("updated_by", sp->updated_by);
}

/* "created stripe revision 1 (change seq 25)" and friends. */
static void
print_write(const char *id, uint64_t revision, const Spreg__V1__Change *change)
{
	if (change == NULL) {
		printf("unchanged %s revision %llu\n", id,
		    (unsigned long long) revision);
		return;
	}
	printf("%s %s revision %llu (change seq %llu)\n",
	    kind_name(change->kind), id, (unsigned long long) revision,
	    (unsigned long long) change->seq);
}

/* ---- reading input files ----------------------------------------------- */

/* Reads all of path ("-": stdin) into a NUL-terminated buffer the caller
 * frees. */
static int
read_input(const char *path, char **text_out, size_t *len_out)
{
	const char *name = strcmp(path, "-") == 0 ? "standard input" : path;
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	char *text = NULL;
	size_t len = 0;
	size_t cap = 0;
	int rc = EXIT_USAGE;

	if (f == NULL) {
		fprintf(stderr, "spreg: %s: %s\n", name, strerror(errno));
		return EXIT_USAGE;
	}
	for (;;) {
		if (cap - len < 2) {
			if (cap >= INPUT_MAX) {
				fprintf(stderr,
				    "spreg: %s: larger than %d bytes\n", name,
				    INPUT_MAX);
				goto cleanup;
			}
			cap = cap ? cap * 2 : 65536;
			char *grown = realloc(text, cap);
			if (grown == NULL) {
				rc = out_of_memory();
				goto cleanup;
			}
			text = grown;
		}
		size_t n = fread(text + len, 1, cap - len - 1, f);
		len += n;
		if (n == 0) {
			if (ferror(f)) {
				fprintf(stderr, "spreg: %s: %s\n", name,
				    strerror(errno));
				goto cleanup;
			}
			break;
		}
	}
	text[len] = '\0';
	*text_out = text;
	*len_out = len;
	text = NULL;
	rc = 0;
cleanup:
	free(text);
	if (f != stdin) {
		fclose(f);
	}
	return rc;
}

/* Parses a JSON or YAML subprocessor file; caller frees *sp_out with
 * protobuf_c_message_free_unpacked. */
static int
load_subprocessor(const char *path, Spreg__V1__Subprocessor **sp_out)
{
	const char *name = strcmp(path, "-") == 0 ? "standard input" : path;
	ProtobufCMessage *msg;
	json_t *json = NULL;
	char *text = NULL;
	size_t len;
	err e;
	int rc;

	if ((rc = read_input(path, &text, &len)) != 0) {
		return rc;
	}
	rc = EXIT_USAGE;
	if (pbjson_parse_text(text, len, &json, &e) != SPREG_OK) {
		fprintf(stderr, "spreg: %s: %s\n", name, e.msg);
		goto cleanup;
	}
	if (!json_is_object(json)) {
		fprintf(stderr, "spreg: %s: expected one subprocessor (an "
		                "object with id, name, ...)\n", name);
		goto cleanup;
	}
	if (pbjson_to_message(json, &spreg__v1__subprocessor__descriptor, &msg,
	        &e) != SPREG_OK) {
		fprintf(stderr, "spreg: %s: %s\n", name, e.msg);
		goto cleanup;
	}
	*sp_out = (Spreg__V1__Subprocessor *) msg;
	rc = 0;
cleanup:
	json_decref(json);
	free(text);
	return rc;
}

/* ---- commands ------------------------------------------------------------ */

static int
cmd_get(cli *g, int argc, char **argv)
{
	static const struct option options[] = {
		{"revision", required_argument, NULL, OPT_REVISION},
		{"as-of", required_argument, NULL, OPT_AS_OF},
		GLOBAL_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	Spreg__V1__GetSubprocessorRequest req =
	    SPREG__V1__GET_SUBPROCESSOR_REQUEST__INIT;
	ProtobufCMessage *msg = NULL;
	int opt;
	int rc;

	while ((opt = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
		if (opt == OPT_REVISION) {
			rc = number_option(g, "--revision", optarg, 1,
			    UINT64_MAX, &req.revision);
		} else if (opt == OPT_AS_OF) {
			req.as_of = optarg;
			rc = PARSE_CONTINUE;
		} else {
			rc = global_option(g, opt, argv);
		}
		if (rc != PARSE_CONTINUE) {
			return rc;
		}
	}
	if ((rc = operands(g, argc, argv, 1)) != PARSE_CONTINUE) {
		return rc;
	}
	req.id = argv[optind];
	if ((rc = connect_server(g)) != 0 ||
	    (rc = call(g, "GetSubprocessor", &req.base,
	         &spreg__v1__get_subprocessor_response__descriptor, &msg)) !=
	        0) {
		return rc;
	}
	const Spreg__V1__GetSubprocessorResponse *resp = (const void *) msg;
	if (resp->subprocessor == NULL) {
		fprintf(stderr, "spreg: INTERNAL: reply without a "
		                "subprocessor\n");
		rc = EXIT_SERVER;
	} else if (g->json) {
		rc = print_json(&resp->subprocessor->base, false);
	} else {
		print_subprocessor(resp->subprocessor);
	}
	spreg_message_free(msg);
	return rc;
}

static int
parse_status(const cli *g, const char *text,
    Spreg__V1__SubprocessorStatus *out)
{
	static const Spreg__V1__SubprocessorStatus all[] = {
		SP_STATUS_PROPOSED, SP_STATUS_ACTIVE, SP_STATUS_RETIRED,
	};

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		if (strcmp(text, status_name(all[i])) == 0) {
			*out = all[i];
			return PARSE_CONTINUE;
		}
	}
	return usage_error(g,
	    "--status: '%s' is not one of proposed, active, retired", text);
}

static int
list_row_add(table *t, const Spreg__V1__Subprocessor *sp)
{
	char countries[512] = "";
	char mechanisms[512] = "";
	char ncategories[24];

	for (size_t i = 0; i < sp->n_locations; i++) {
		list_add_unique(countries, sizeof(countries),
		    sp->locations[i]->country);
	}
	for (size_t i = 0; i < sp->n_safeguards; i++) {
		list_add_unique(mechanisms, sizeof(mechanisms),
		    sp->safeguards[i]->mechanism);
	}
	snprintf(ncategories, sizeof(ncategories), "%zu",
	    sp->n_data_categories);
	const char *cells[] = {sp->id, sp->name, status_name(sp->status),
	    countries, ncategories, mechanisms};
	return table_row_add(t, cells) ? 0 : out_of_memory();
}

static int
cmd_list(cli *g, int argc, char **argv)
{
	static const struct option options[] = {
		{"category", required_argument, NULL, OPT_CATEGORY},
		{"country", required_argument, NULL, OPT_COUNTRY},
		{"mechanism", required_argument, NULL, OPT_MECHANISM},
		{"service", required_argument, NULL, OPT_SERVICE},
		{"status", required_argument, NULL, OPT_STATUS},
		{"page-size", required_argument, NULL, OPT_PAGE_SIZE},
		{"all", no_argument, NULL, OPT_ALL},
		{"limit", required_argument, NULL, OPT_LIMIT},
		{"as-of", required_argument, NULL, OPT_AS_OF},
		{"customer", required_argument, NULL, OPT_CUSTOMER},
		GLOBAL_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	static const char *const headers[] = {"ID", "NAME", "STATUS",
	    "COUNTRIES", "CATEGORIES", "MECHANISMS"};
	Spreg__V1__ListSubprocessorsRequest req =
	    SPREG__V1__LIST_SUBPROCESSORS_REQUEST__INIT;
	uint64_t page_size = 0;	/* 0: as large as the server allows */
	uint64_t limit = 0;	/* 0: every row */
	char country[3] = "";
	table *t = NULL;
	char *token = NULL;
	int opt;
	int rc;

	while ((opt = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
		rc = PARSE_CONTINUE;
		switch (opt) {
		case OPT_CATEGORY:
			req.data_category = optarg;
			break;
		case OPT_COUNTRY:
			/* Codes are upper case; accept "us" too. */
			if (strlen(optarg) != 2) {
				rc = usage_error(g, "--country: '%s' is not a "
				    "two-letter country code", optarg);
				break;
			}
			for (size_t i = 0; i < 2; i++) {
				char c = optarg[i];
				country[i] = c >= 'a' && c <= 'z' ?
				    (char) (c - 'a' + 'A') : c;
			}
			req.country = country;
			break;
		case OPT_MECHANISM:
			req.mechanism = optarg;
			break;
		case OPT_SERVICE:
			req.service = optarg;
			break;
		case OPT_AS_OF:
			req.as_of = optarg;
			break;
		case OPT_CUSTOMER:
			req.customer = optarg;
			break;
		case OPT_STATUS:
			rc = parse_status(g, optarg, &req.status);
			break;
		case OPT_PAGE_SIZE:
			rc = number_option(g, "--page-size", optarg, 1,
			    PAGE_MAX, &page_size);
			break;
		case OPT_ALL:
			limit = 0;
			break;
		case OPT_LIMIT:
			rc = number_option(g, "--limit", optarg, 1, UINT32_MAX,
			    &limit);
			break;
		default:
			rc = global_option(g, opt, argv);
			break;
		}
		if (rc != PARSE_CONTINUE) {
			return rc;
		}
	}
	if ((rc = operands(g, argc, argv, 0)) != PARSE_CONTINUE ||
	    (rc = connect_server(g)) != 0) {
		return rc;
	}
	if (!g->json && (t = table_create(6, headers)) == NULL) {
		return out_of_memory();
	}
	if (t != NULL) {
		table_column_keep(t, 0);
	}
	uint64_t shown = 0;
	do {
		ProtobufCMessage *msg = NULL;
		uint64_t want = page_size ? page_size : PAGE_MAX;
		if (limit != 0 && limit - shown < want) {
			want = limit - shown;
		}
		req.page_size = (uint32_t) want;
		req.page_token = token ? token : (char *) "";
		if ((rc = call(g, "ListSubprocessors", &req.base,
		         &spreg__v1__list_subprocessors_response__descriptor,
		         &msg)) != 0) {
			goto cleanup;
		}
		const Spreg__V1__ListSubprocessorsResponse *resp =
		    (const void *) msg;
		for (size_t i = 0; i < resp->n_subprocessors &&
		     (limit == 0 || shown < limit); i++, shown++) {
			rc = g->json ?
			    print_json(&resp->subprocessors[i]->base, true) :
			    list_row_add(t, resp->subprocessors[i]);
			if (rc != 0) {
				break;
			}
		}
		free(token);
		token = NULL;
		/* An empty page ends the walk even with a token: never loop
		 * on a confused reply. */
		if (rc == 0 && resp->next_page_token[0] != '\0' &&
		    resp->n_subprocessors > 0 &&
		    (limit == 0 || shown < limit) &&
		    (token = strdup(resp->next_page_token)) == NULL) {
			rc = out_of_memory();
		}
		spreg_message_free(msg);
	} while (rc == 0 && token != NULL);
	if (rc == 0 && t != NULL) {
		table_print(t, stdout);
	}
cleanup:
	free(token);
	table_destroy(t);
	return rc;
}

/* Every subprocessor as of a date, in id order; the pages stay alive in
 * *pages until freed by free_pages. */
typedef struct snapshot {
	ProtobufCMessage **pages;
	size_t npages;
	const Spreg__V1__Subprocessor **items;
	size_t n;
} snapshot;

static void
snapshot_free(snapshot *snap)
{
	for (size_t i = 0; i < snap->npages; i++) {
		spreg_message_free(snap->pages[i]);
	}
	free(snap->pages);
	free(snap->items);
}

static int
snapshot_fetch(cli *g, const char *as_of, snapshot *snap)
{
	Spreg__V1__ListSubprocessorsRequest req =
	    SPREG__V1__LIST_SUBPROCESSORS_REQUEST__INIT;
	char *token = NULL;
	int rc = 0;

	memset(snap, 0, sizeof(*snap));
	req.as_of = (char *) as_of;
	req.page_size = PAGE_MAX;
	do {
		ProtobufCMessage *msg;
		req.page_token = token != NULL ? token : "";
		rc = call(g, "ListSubprocessors", &req.base,
		    &spreg__v1__list_subprocessors_response__descriptor, &msg);
		free(token);
		token = NULL;
		if (rc != 0) {
			break;
		}
		const Spreg__V1__ListSubprocessorsResponse *resp =
		    (const void *) msg;
		void *pages = realloc(snap->pages,
		    (snap->npages + 1) * sizeof(*snap->pages));
		void *items = realloc(snap->items,
		    (snap->n + resp->n_subprocessors + 1) * sizeof(*snap->items));
		if (pages == NULL || items == NULL) {
			exit(out_of_memory());	/* nothing worth saving */
		}
		snap->pages = pages;
		snap->items = items;
		snap->pages[snap->npages++] = msg;
		for (size_t i = 0; i < resp->n_subprocessors; i++) {
			snap->items[snap->n++] = resp->subprocessors[i];
		}
		if (resp->next_page_token[0] != '\0' &&
		    (token = strdup(resp->next_page_token)) == NULL) {
			exit(out_of_memory());
		}
	} while (token != NULL);
	return rc;
}

/* The fields that differ between two revisions, as "name,locations". */
static void
diff_fields(const Spreg__V1__Subprocessor *a,
    const Spreg__V1__Subprocessor *b, char *buf, size_t size)
{
	const ProtobufCMessageDescriptor *d = a->base.descriptor;

	buf[0] = '\0';
	for (unsigned i = 0; i < d->n_fields; i++) {
		const char *name = d->fields[i].name;
		if (strcmp(name, "revision") == 0 ||
		    strcmp(name, "updated_at") == 0 ||
		    strcmp(name, "updated_by") == 0) {
			continue;
		}
		/* Compare the field alone: pack a copy holding only it. */
		Spreg__V1__Subprocessor x = SPREG__V1__SUBPROCESSOR__INIT;
		Spreg__V1__Subprocessor y = SPREG__V1__SUBPROCESSOR__INIT;
		size_t off = d->fields[i].offset;
		size_t qoff = d->fields[i].quantifier_offset;
		size_t len = d->fields[i].label == PROTOBUF_C_LABEL_REPEATED ?
		    sizeof(void *) : (d->fields[i].type ==
		    PROTOBUF_C_TYPE_STRING || d->fields[i].type ==
		    PROTOBUF_C_TYPE_MESSAGE ? sizeof(void *) :
		    d->fields[i].type == PROTOBUF_C_TYPE_UINT64 ? 8 : 4);
		memcpy((char *) &x + off, (const char *) a + off, len);
		memcpy((char *) &y + off, (const char *) b + off, len);
		if (qoff != 0) {
			memcpy((char *) &x + qoff, (const char *) a + qoff,
			    sizeof(size_t));
			memcpy((char *) &y + qoff, (const char *) b + qoff,
			    sizeof(size_t));
		}
		size_t nx = protobuf_c_message_get_packed_size(&x.base);
		size_t ny = protobuf_c_message_get_packed_size(&y.base);
		bool same = nx == ny;
		if (same && nx > 0) {
			uint8_t *px = malloc(nx), *py = malloc(ny);
			if (px == NULL || py == NULL) {
				exit(out_of_memory());
			}
			protobuf_c_message_pack(&x.base, px);
			protobuf_c_message_pack(&y.base, py);
			same = memcmp(px, py, nx) == 0;
			free(px);
			free(py);
		}
		if (!same) {
			list_add_unique(buf, size, name);
		}
	}
}

static int
cmd_diff(cli *g, int argc, char **argv)
{
	static const struct option options[] = {
		GLOBAL_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	static const char *const headers[] = {"CHANGE", "ID", "NAME",
	    "FIELDS"};
	snapshot from, to;
	int opt, rc;

	while ((opt = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
		if ((rc = global_option(g, opt, argv)) != PARSE_CONTINUE) {
			return rc;
		}
	}
	if ((rc = operands(g, argc, argv, 2)) != PARSE_CONTINUE) {
		return rc;
	}
	const char *d1 = argv[optind], *d2 = argv[optind + 1];
	if ((rc = connect_server(g)) != 0) {
		return rc;
	}
	if ((rc = snapshot_fetch(g, d1, &from)) != 0) {
		snapshot_free(&from);
		return rc;
	}
	if ((rc = snapshot_fetch(g, d2, &to)) != 0) {
		snapshot_free(&from);
		snapshot_free(&to);
		return rc;
	}
	table *t = NULL;
	if (!g->json) {
		if ((t = table_create(4, headers)) == NULL) {
			exit(out_of_memory());
		}
		table_column_keep(t, 1);
	}
	size_t i = 0, j = 0;
	while (i < from.n || j < to.n) {
		int c = i == from.n ? 1 : j == to.n ? -1 :
		    strcmp(from.items[i]->id, to.items[j]->id);
		const Spreg__V1__Subprocessor *sp;
		const char *what;
		char fields[512] = "";
		if (c < 0) {
			sp = from.items[i++];
			what = "removed";
		} else if (c > 0) {
			sp = to.items[j++];
			what = "added";
		} else {
			diff_fields(from.items[i], to.items[j], fields,
			    sizeof(fields));
			sp = to.items[j];
			i++;
			j++;
			if (fields[0] == '\0') {
				continue;
			}
			what = "changed";
		}
		if (g->json) {
			json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "change",
			    what, "id", sp->id, "name", sp->name, "fields",
			    fields);
			char *line = o ? json_dumps(o, JSON_COMPACT) : NULL;
			if (line == NULL) {
				exit(out_of_memory());
			}
			puts(line);
			free(line);
			json_decref(o);
		} else {
			const char *row[] = {what, sp->id, sp->name, fields};
			if (!table_row_add(t, row)) {
				exit(out_of_memory());
			}
		}
	}
	if (t != NULL) {
		table_print(t, stdout);
		table_destroy(t);
	}
	snapshot_free(&from);
	snapshot_free(&to);
	return 0;
}

static int
cmd_put(cli *g, int argc, char **argv)
{
	static const struct option options[] = {
		{"expected-revision", required_argument, NULL,
		    OPT_EXPECTED_REVISION},
		{"create-only", no_argument, NULL, OPT_CREATE_ONLY},
		GLOBAL_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	Spreg__V1__PutSubprocessorRequest req =
	    SPREG__V1__PUT_SUBPROCESSOR_REQUEST__INIT;
	ProtobufCMessage *msg = NULL;
	int opt;
	int rc;

	while ((opt = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
		if (opt == OPT_EXPECTED_REVISION) {
			rc = number_option(g, "--expected-revision", optarg, 1,
			    UINT64_MAX, &req.expected_revision);
		} else if (opt == OPT_CREATE_ONLY) {
			req.create_only = true;
			rc = PARSE_CONTINUE;
		} else {
			rc = global_option(g, opt, argv);
		}
		if (rc != PARSE_CONTINUE) {
			return rc;
		}
	}
	if ((rc = operands(g, argc, argv, 1)) != PARSE_CONTINUE ||
	    (rc = load_subprocessor(argv[optind], &req.subprocessor)) != 0) {
		return rc;
	}
	if ((rc = connect_server(g)) != 0 ||
	    (rc = call(g, "PutSubprocessor", &req.base,
	         &spreg__v1__put_subprocessor_response__descriptor, &msg)) !=
	        0) {
		goto cleanup;
	}
	const Spreg__V1__PutSubprocessorResponse *resp = (const void *) msg;
	if (g->json) {
		rc = print_json(msg, false);
	} else {
		print_write(req.subprocessor->id, resp->subprocessor ?
		    resp->subprocessor->revision : 0, resp->change);
	}
cleanup:
	spreg_message_free(msg);
	protobuf_c_message_free_unpacked(&req.subprocessor->base, NULL);
	return rc;
}

static int
cmd_retire(cli *g, int argc, char **argv)
{
	static const struct option options[] = {
		{"effective-until", required_argument, NULL,
		    OPT_EFFECTIVE_UNTIL},
		{"expected-revision", required_argument, NULL,
		    OPT_EXPECTED_REVISION},
		GLOBAL_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	Spreg__V1__RetireSubprocessorRequest req =
	    SPREG__V1__RETIRE_SUBPROCESSOR_REQUEST__INIT;
	ProtobufCMessage *msg = NULL;
	int32_t day;
	int opt;
	int rc;

	while ((opt = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
		rc = PARSE_CONTINUE;
		if (opt == OPT_EFFECTIVE_UNTIL) {
			if (!date_parse(optarg, &day)) {
				rc = usage_error(g, "--effective-until: '%s' "
				    "is not a YYYY-MM-DD date", optarg);
			}
			req.effective_until = optarg;
		} else if (opt == OPT_EXPECTED_REVISION) {
			rc = number_option(g, "--expected-revision", optarg, 1,
			    UINT64_MAX, &req.expected_revision);
		} else {
			rc = global_option(g, opt, argv);
		}
		if (rc != PARSE_CONTINUE) {
			return rc;
		}
	}
	if ((rc = operands(g, argc, argv, 1)) != PARSE_CONTINUE) {
		return rc;
	}
	req.id = argv[optind];
	if ((rc = connect_server(g)) != 0 ||
	    (rc = call(g, "RetireSubprocessor", &req.base,
	         &spreg__v1__retire_subprocessor_response__descriptor, &msg)) !=
	        0) {
		return rc;
	}
	const Spreg__V1__RetireSubprocessorResponse *resp = (const void *) msg;
	if (g->json) {
		rc = print_json(msg, false);
	} else {
		print_write(req.id, resp->subprocessor ?
		    resp->subprocessor->revision : 0, resp->change);
	}
	spreg_message_free(msg);
	return rc;
}

static int
changes_row_add(table *t, const Spreg__V1__Change *c)
{
	char seq[24];
	char revision[48];

	snprintf(seq, sizeof(seq), "%llu", (unsigned long long) c->seq);
	snprintf(revision, sizeof(revision), "%llu->%llu",
	    (unsigned long long) c->old_revision,
	    (unsigned long long) c->new_revision);
	const char *cells[] = {seq, c->time, kind_name(c->kind),
	    c->subprocessor_id, revision, c->actor};
	return table_row_add(t, cells) ? 0 : out_of_memory();
}

static int
cmd_changes(cli *g, int argc, char **argv)
{
	static const struct option options[] = {
		{"since", required_argument, NULL, OPT_SINCE},
		{"limit", required_argument, NULL, OPT_LIMIT},
		GLOBAL_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	static const char *const headers[] = {"SEQ", "TIME", "KIND",
	    "SUBPROCESSOR", "REVISION", "ACTOR"};
	Spreg__V1__ListChangesRequest req =
	    SPREG__V1__LIST_CHANGES_REQUEST__INIT;
	uint64_t limit = 0;	/* 0: through to the newest */
	table *t = NULL;
	int opt;
	int rc;

	while ((opt = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
		if (opt == OPT_SINCE) {
			rc = number_option(g, "--since", optarg, 0, UINT64_MAX,
			    &req.since_seq);
		} else if (opt == OPT_LIMIT) {
			rc = number_option(g, "--limit", optarg, 1, UINT32_MAX,
			    &limit);
		} else {
			rc = global_option(g, opt, argv);
		}
		if (rc != PARSE_CONTINUE) {
			return rc;
		}
	}
	if ((rc = operands(g, argc, argv, 0)) != PARSE_CONTINUE ||
	    (rc = connect_server(g)) != 0) {
		return rc;
	}
	if (!g->json && (t = table_create(6, headers)) == NULL) {
		return out_of_memory();
	}
	if (t != NULL) {
		table_column_keep(t, 3);	/* subprocessor id */
	}
	uint64_t shown = 0;
	bool more = true;
	while (rc == 0 && more) {
		ProtobufCMessage *msg = NULL;
		uint64_t want = PAGE_MAX;
		if (limit != 0 && limit - shown < want) {
			want = limit - shown;
		}
		req.limit = (uint32_t) want;
		if ((rc = call(g, "ListChanges", &req.base,
		         &spreg__v1__list_changes_response__descriptor,
		         &msg)) != 0) {
			break;
		}
		const Spreg__V1__ListChangesResponse *resp = (const void *) msg;
		uint64_t since = req.since_seq;
		for (size_t i = 0; i < resp->n_changes && rc == 0; i++) {
			const Spreg__V1__Change *c = resp->changes[i];
			rc = g->json ? print_json(&c->base, true) :
			               changes_row_add(t, c);
			since = c->seq;
			shown++;
		}
		/* Stop at the newest, at the limit, or if the server stops
		 * moving forward (never loop on a confused reply). */
		more = since > req.since_seq && since < resp->last_seq &&
		    (limit == 0 || shown < limit);
		req.since_seq = since;
		spreg_message_free(msg);
	}
	if (rc == 0 && t != NULL) {
		table_print(t, stdout);
	}
	table_destroy(t);
	return rc;
}

/* One line per change, the columns of the changes table at fixed
 * widths (a stream cannot be measured first). */
static void
watch_row_print(const Spreg__V1__Change *c)
{
	char revision[48];
	const char *subject = c->subprocessor_id[0] != '\0' ?
	    c->subprocessor_id :
	    c->customer_id[0] != '\0' ? c->customer_id : "-";

	snprintf(revision, sizeof(revision), "%llu->%llu",
	    (unsigned long long) c->old_revision,
	    (unsigned long long) c->new_revision);
	printf("%-8llu  %-24s  %-12s  %-24s  %-9s  %s\n",
	    (unsigned long long) c->seq, c->time, kind_name(c->kind), subject,
	    revision, c->actor);
}

static int
cmd_watch(cli *g, int argc, char **argv)
{
	static const struct option options[] = {
		{"since", required_argument, NULL, OPT_SINCE},
		{"customer", required_argument, NULL, OPT_CUSTOMER},
		{"subprocessor", required_argument, NULL, OPT_SUBPROCESSOR},
		{"pub", required_argument, NULL, OPT_PUB},
		{"count", required_argument, NULL, OPT_COUNT},
		GLOBAL_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	spreg_watch_filter f = {NULL, NULL};
	const char *pub = getenv("SPREG_PUB");
	uint64_t since = 0;
	uint64_t count = 0;	/* 0: until interrupted */
	spreg_watch *w = NULL;
	bool unreachable = false;
	int opt;
	int rc;

	if (pub == NULL || pub[0] == '\0') {
		pub = SPREG_DEFAULT_PUB;
	}
	while ((opt = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
		rc = PARSE_CONTINUE;
		if (opt == OPT_SINCE) {
			rc = number_option(g, "--since", optarg, 0, UINT64_MAX,
			    &since);
		} else if (opt == OPT_COUNT) {
			rc = number_option(g, "--count", optarg, 1, UINT64_MAX,
			    &count);
		} else if (opt == OPT_CUSTOMER) {
			f.customer_id = optarg;
		} else if (opt == OPT_SUBPROCESSOR) {
			f.subprocessor_id = optarg;
		} else if (opt == OPT_PUB) {
			pub = optarg;
		} else {
			rc = global_option(g, opt, argv);
		}
		if (rc != PARSE_CONTINUE) {
			return rc;
		}
	}
	if ((rc = operands(g, argc, argv, 0)) != PARSE_CONTINUE) {
		return rc;
	}
	if (f.customer_id != NULL && f.subprocessor_id != NULL) {
		return usage_error(g, "give --customer or --subprocessor, not "
		                      "both");
	}
	if ((rc = resolve_token(g)) != 0) {
		return rc;
	}
	spreg_watch_options wo = {&g->tls, g->token};
	spreg_status st = spreg_watch_open_with(g->server, pub, &f, since, &wo,
	    &w);
	if (st == SPREG_INVALID_ARGUMENT) {
		return usage_error(g, "--server '%s' or --pub '%s' is not an "
		    "nng URL, or an id is too long", g->server, pub);
	}
	if (st != SPREG_OK) {
		fprintf(stderr, "spreg: watch: %s\n", spreg_status_name(st));
		return EXIT_CONNECT;
	}
	/* Runs until --count changes were printed, or until killed: the
	 * last seq printed is where to resume with --since. */
	uint64_t shown = 0;
	while (count == 0 || shown < count) {
		Spreg__V1__Change *c = NULL;
		st = spreg_watch_next(w, 1000, &c);
		if (st == SPREG_DEADLINE_EXCEEDED) {
			continue;
		}
		if (st == SPREG_UNAVAILABLE) {
			if (!unreachable) {
				fprintf(stderr, "spreg: server at %s not "
				    "answering (%s); still trying\n", g->server,
				    spreg_watch_error(w));
				unreachable = true;
			}
			continue;
		}
		if (st != SPREG_OK) {
			fprintf(stderr, "spreg: %s: %s\n", spreg_status_name(st),
			    spreg_watch_error(w));
			rc = st == SPREG_NOT_FOUND ? EXIT_NOT_FOUND :
			    st == SPREG_UNAUTHENTICATED ||
			        st == SPREG_PERMISSION_DENIED ? EXIT_DENIED :
			    EXIT_SERVER;
			break;
		}
		unreachable = false;
		if (g->json) {
			rc = print_json(&c->base, true);
		} else {
			watch_row_print(c);
		}
		spreg_message_free(&c->base);
		shown++;
		if (rc != 0 || fflush(stdout) != 0) {
			break;
		}
	}
	spreg_watch_close(w);
	return rc;
}

static int
cmd_categories(cli *g, int argc, char **argv)
{
	static const struct option options[] = {
		{"parent", required_argument, NULL, OPT_PARENT},
		GLOBAL_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	static const char *const headers[] = {"KEY", "NAME", "SPECIAL",
	    "CUSTOM"};
	Spreg__V1__ListDataCategoriesRequest req =
	    SPREG__V1__LIST_DATA_CATEGORIES_REQUEST__INIT;
	ProtobufCMessage *msg = NULL;
	table *t = NULL;
	int opt;
	int rc;

	while ((opt = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
		if (opt == OPT_PARENT) {
			req.parent = optarg;
			rc = PARSE_CONTINUE;
		} else {
			rc = global_option(g, opt, argv);
		}
		if (rc != PARSE_CONTINUE) {
			return rc;
		}
	}
	if ((rc = operands(g, argc, argv, 0)) != PARSE_CONTINUE ||
	    (rc = connect_server(g)) != 0 ||
	    (rc = call(g, "ListDataCategories", &req.base,
	         &spreg__v1__list_data_categories_response__descriptor,
	         &msg)) != 0) {
		return rc;
	}
	const Spreg__V1__ListDataCategoriesResponse *resp = (const void *) msg;
	if (!g->json && (t = table_create(4, headers)) == NULL) {
		rc = out_of_memory();
		goto cleanup;
	}
	if (t != NULL) {
		table_column_keep(t, 0);
	}
	for (size_t i = 0; i < resp->n_categories && rc == 0; i++) {
		const Spreg__V1__DataCategory *c = resp->categories[i];
		if (g->json) {
			rc = print_json(&c->base, true);
			continue;
		}
		const char *cells[] = {c->key, c->name,
		    c->special_category ? "yes" : "", c->custom ? "yes" : ""};
		if (!table_row_add(t, cells)) {
			rc = out_of_memory();
		}
	}
	if (rc == 0 && t != NULL) {
		table_print(t, stdout);
	}
cleanup:
	table_destroy(t);
	spreg_message_free(msg);
	return rc;
}

static int
cmd_info(cli *g, int argc, char **argv)
{
	static const struct option options[] = {
		GLOBAL_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	Spreg__V1__ServerInfoRequest req = SPREG__V1__SERVER_INFO_REQUEST__INIT;
	ProtobufCMessage *msg = NULL;
	int opt;
	int rc;

	while ((opt = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
		if ((rc = global_option(g, opt, argv)) != PARSE_CONTINUE) {
			return rc;
		}
	}
	if ((rc = operands(g, argc, argv, 0)) != PARSE_CONTINUE ||
	    (rc = connect_server(g)) != 0 ||
	    (rc = call(g, "ServerInfo", &req.base,
	         &spreg__v1__server_info_response__descriptor, &msg)) != 0) {
		return rc;
	}
	const Spreg__V1__ServerInfoResponse *info = (const void *) msg;
	if (g->json) {
		rc = print_json(msg, false);
	} else {
		printf("server: %s\n", g->server);
		printf("version: %s\n", info->version);
		printf("schema_version: %u\n", (unsigned) info->schema_version);
		printf("subprocessors: %llu\n",
		    (unsigned long long) info->subprocessors);
		printf("active_subprocessors: %llu\n",
		    (unsigned long long) info->active_subprocessors);
		printf("data_categories: %llu\n",
		    (unsigned long long) info->data_categories);
		printf("last_seq: %llu\n", (unsigned long long) info->last_seq);
		printf("started_at: %s\n", info->started_at);
		printf("uptime_seconds: %llu\n",
		    (unsigned long long) info->uptime_seconds);
		printf("map_size: %llu\n", (unsigned long long) info->map_size);
		printf("customers: %llu\n", (unsigned long long) info->customers);
		printf("rules_version: %s\n", info->rules_version);
		printf("rules_checksum: %s\n", info->rules_checksum);
	}
	spreg_message_free(msg);
	return rc;
}

static int
cmd_verify(cli *g, int argc, char **argv)
{
	static const struct option options[] = {
		GLOBAL_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	Spreg__V1__VerifyLogRequest req = SPREG__V1__VERIFY_LOG_REQUEST__INIT;
	ProtobufCMessage *msg = NULL;
	int opt;
	int rc;

	while ((opt = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
		if ((rc = global_option(g, opt, argv)) != PARSE_CONTINUE) {
			return rc;
		}
	}
	if ((rc = operands(g, argc, argv, 0)) != PARSE_CONTINUE ||
	    (rc = connect_server(g)) != 0 ||
	    (rc = call(g, "VerifyLog", &req.base,
	         &spreg__v1__verify_log_response__descriptor, &msg)) != 0) {
		return rc;
	}
	const Spreg__V1__VerifyLogResponse *v = (const void *) msg;
	if (g->json) {
		rc = print_json(msg, false);
	} else {
		char head[65] = "";
		for (size_t i = 0; i < v->head_hash.len && i < 32; i++) {
			snprintf(head + 2 * i, 3, "%02x", v->head_hash.data[i]);
		}
		printf("%s: %llu log entries, %llu records checked\n",
		    v->ok ? "ok" : "ALTERED",
		    (unsigned long long) v->checked_changes,
		    (unsigned long long) v->checked_records);
		if (!v->ok) {
			printf("first problem: %s\n", v->problem);
		}
		printf("head: seq %llu hash %s\n",
		    (unsigned long long) v->head_seq, head);
	}
	if (rc == 0 && !v->ok) {
		rc = EXIT_TAMPERED;
	}
	spreg_message_free(msg);
	return rc;
}

static int
cmd_help(cli *g, int argc, char **argv)
{
	static const struct option options[] = {
		GLOBAL_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	int opt;
	int rc;

	while ((opt = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
		if ((rc = global_option(g, opt, argv)) != PARSE_CONTINUE) {
			return rc;
		}
	}
	if (argc - optind == 0) {
		usage_global(stdout);
		return 0;
	}
	if ((rc = operands(g, argc, argv, 1)) != PARSE_CONTINUE) {
		return rc;
	}
	const command *cmd = command_find(argv[optind]);
	if (cmd == NULL) {
		return usage_error(g, "unknown command '%s'", argv[optind]);
	}
	usage_command(cmd, stdout);
	return 0;
}

/* assess and rules live in cli/assess.c. */
static int
cmd_assess(cli *g, int argc, char **argv)
{
	int rc = resolve_token(g);
	cli_settings s = {g->server, g->json, g->timeout_ms, g->tls,
	    g->token};
	return rc != 0 ? rc : cli_assess(&s, argc, argv);
}

static int
cmd_rules(cli *g, int argc, char **argv)
{
	int rc = resolve_token(g);
	cli_settings s = {g->server, g->json, g->timeout_ms, g->tls,
	    g->token};
	return rc != 0 ? rc : cli_rules(&s, argc, argv);
}

/* spreg export lives in cli/export.c. */
static int
cmd_export(cli *g, int argc, char **argv)
{
	int rc = resolve_token(g);
	return rc != 0 ? rc : cli_export(g->server, &g->tls, g->token,
	    g->timeout_ms, argc, argv);
}

/* ---- tokens ---------------------------------------------------------------- */

static const char *
role_text(const Spreg__V1__Token *t, char *buf, size_t len)
{
	const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(
	    &spreg__v1__role__descriptor, (int) t->role);
	const char *name = v != NULL ? v->name : "?";

	if (t->role == SPREG__V1__ROLE__CUSTOMER) {
		snprintf(buf, len, "customer:%s", t->customer_id);
	} else {
		snprintf(buf, len, "%s", name);
		for (char *p = buf; *p; p++) {
			*p = (char) (*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
		}
	}
	return buf;
}

/* "reader", "editor", "admin" or "customer:ID". */
static bool
role_parse(const char *text, Spreg__V1__CreateTokenRequest *req)
{
	if (strcmp(text, "reader") == 0) {
		req->role = SPREG__V1__ROLE__READER;
	} else if (strcmp(text, "editor") == 0) {
		req->role = SPREG__V1__ROLE__EDITOR;
	} else if (strcmp(text, "admin") == 0) {
		req->role = SPREG__V1__ROLE__ADMIN;
	} else if (strncmp(text, "customer:", 9) == 0 && text[9] != '\0') {
		req->role = SPREG__V1__ROLE__CUSTOMER;
		req->customer_id = (char *) text + 9;
	} else {
		return false;
	}
	return true;
}

static int
token_create(cli *g, int argc, char **argv)
{
	static const struct option options[] = {
		{"role", required_argument, NULL, OPT_ROLE},
		{"name", required_argument, NULL, OPT_NAME},
		GLOBAL_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	Spreg__V1__CreateTokenRequest req =
	    SPREG__V1__CREATE_TOKEN_REQUEST__INIT;
	ProtobufCMessage *msg = NULL;
	char role[96];
	int opt;
	int rc;

	while ((opt = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
		rc = PARSE_CONTINUE;
		if (opt == OPT_ROLE) {
			if (!role_parse(optarg, &req)) {
				return usage_error(g, "--role: reader, editor, "
				    "admin or customer:ID, not '%s'", optarg);
			}
		} else if (opt == OPT_NAME) {
			req.name = optarg;
		} else {
			rc = global_option(g, opt, argv);
		}
		if (rc != PARSE_CONTINUE) {
			return rc;
		}
	}
	if ((rc = operands(g, argc, argv, 0)) != PARSE_CONTINUE) {
		return rc;
	}
	if (req.role == SPREG__V1__ROLE__ROLE_UNSPECIFIED ||
	    req.name[0] == '\0') {
		return usage_error(g, "token create needs --role and --name");
	}
	if ((rc = connect_server(g)) != 0 ||
	    (rc = call(g, "spreg.v1.Admin/CreateToken", &req.base,
	         &spreg__v1__create_token_response__descriptor, &msg)) != 0) {
		return rc;
	}
	const Spreg__V1__CreateTokenResponse *resp = (const void *) msg;
	if (g->json) {
		rc = print_json(msg, false);
	} else {
		/* The secret alone on stdout, so that '> FILE' keeps it. */
		fprintf(stderr, "created token '%s' (%s, id %s); its secret is "
		    "shown this once:\n", resp->token->name,
		    role_text(resp->token, role, sizeof(role)), resp->token->id);
		printf("%s\n", resp->secret);
	}
	spreg_message_free(msg);
	return rc;
}

static int
token_list(cli *g, int argc, char **argv)
{
	static const struct option options[] = {
		{"all", no_argument, NULL, OPT_ALL},
		GLOBAL_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	static const char *const headers[] = {"NAME", "ROLE", "ID", "CREATED",
	    "BY", "REVOKED"};
	Spreg__V1__ListTokensRequest req = SPREG__V1__LIST_TOKENS_REQUEST__INIT;
	ProtobufCMessage *msg = NULL;
	table *t = NULL;
	char role[96];
	int opt;
	int rc;

	while ((opt = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
		rc = PARSE_CONTINUE;
		if (opt == OPT_ALL) {
			req.include_revoked = true;
		} else {
			rc = global_option(g, opt, argv);
		}
		if (rc != PARSE_CONTINUE) {
			return rc;
		}
	}
	if ((rc = operands(g, argc, argv, 0)) != PARSE_CONTINUE ||
	    (rc = connect_server(g)) != 0 ||
	    (rc = call(g, "spreg.v1.Admin/ListTokens", &req.base,
	         &spreg__v1__list_tokens_response__descriptor, &msg)) != 0) {
		return rc;
	}
	const Spreg__V1__ListTokensResponse *resp = (const void *) msg;
	if (!g->json && (t = table_create(6, headers)) == NULL) {
		rc = out_of_memory();
		goto cleanup;
	}
	if (t != NULL) {
		table_column_keep(t, 0);
		table_column_keep(t, 2);
	}
	for (size_t i = 0; i < resp->n_tokens && rc == 0; i++) {
		const Spreg__V1__Token *k = resp->tokens[i];
		if (g->json) {
			rc = print_json(&k->base, true);
			continue;
		}
		const char *cells[] = {k->name, role_text(k, role, sizeof(role)),
		    k->id, k->created_at, k->created_by, k->revoked_at};
		if (!table_row_add(t, cells)) {
			rc = out_of_memory();
		}
	}
	if (rc == 0 && t != NULL) {
		table_print(t, stdout);
	}
cleanup:
	table_destroy(t);
	spreg_message_free(msg);
	return rc;
}

static int
token_revoke(cli *g, int argc, char **argv)
{
	static const struct option options[] = {
		GLOBAL_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	Spreg__V1__RevokeTokenRequest req =
	    SPREG__V1__REVOKE_TOKEN_REQUEST__INIT;
	ProtobufCMessage *msg = NULL;
	int opt;
	int rc;

	while ((opt = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
		if ((rc = global_option(g, opt, argv)) != PARSE_CONTINUE) {
			return rc;
		}
	}
	if ((rc = operands(g, argc, argv, 1)) != PARSE_CONTINUE) {
		return rc;
	}
	req.name = argv[optind];
	if ((rc = connect_server(g)) != 0 ||
	    (rc = call(g, "spreg.v1.Admin/RevokeToken", &req.base,
	         &spreg__v1__revoke_token_response__descriptor, &msg)) != 0) {
		return rc;
	}
	const Spreg__V1__RevokeTokenResponse *resp = (const void *) msg;
	if (g->json) {
		rc = print_json(msg, false);
	} else {
		printf("revoked token '%s' at %s\n", resp->token->name,
		    resp->token->revoked_at);
	}
	spreg_message_free(msg);
	return rc;
}

/* spreg token create|list|revoke ... */
static int
cmd_token(cli *g, int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*run)(cli *g, int argc, char **argv);
	} subs[] = {
		{"create", token_create},
		{"list", token_list},
		{"revoke", token_revoke},
	};

	if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		if (argc < 2) {
			return usage_error(g, "token: create, list or revoke");
		}
		usage_command(g->cmd, stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		if (strcmp(argv[1], subs[i].name) == 0) {
			optind = 0;	/* argv[0] is now the subcommand */
			return subs[i].run(g, argc - 1, argv + 1);
		}
	}
	return usage_error(g, "token: create, list or revoke, not '%s'",
	    argv[1]);
}

static int
cmd_whoami(cli *g, int argc, char **argv)
{
	static const struct option options[] = {
		GLOBAL_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	Spreg__V1__WhoAmIRequest req = SPREG__V1__WHO_AM_IREQUEST__INIT;
	ProtobufCMessage *msg = NULL;
	char role[96];
	int opt;
	int rc;

	while ((opt = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
		if ((rc = global_option(g, opt, argv)) != PARSE_CONTINUE) {
			return rc;
		}
	}
	if ((rc = operands(g, argc, argv, 0)) != PARSE_CONTINUE ||
	    (rc = connect_server(g)) != 0 ||
	    (rc = call(g, "spreg.v1.Admin/WhoAmI", &req.base,
	         &spreg__v1__who_am_iresponse__descriptor, &msg)) != 0) {
		return rc;
	}
	const Spreg__V1__WhoAmIResponse *resp = (const void *) msg;
	if (g->json) {
		rc = print_json(msg, false);
	} else {
		printf("token: %s\nrole: %s\n", resp->token->name,
		    role_text(resp->token, role, sizeof(role)));
		if (resp->insecure_local) {
			printf("server: --insecure-local (no token needed)\n");
		}
	}
	spreg_message_free(msg);
	return rc;
}

static const command commands[] = {
	{"get", cmd_get, "get ID [--revision N | --as-of WHEN]",
	    "Show one subprocessor",
	    "  --revision N   an earlier revision, from the history\n"
	    "  --as-of WHEN   as it stands on a date (YYYY-MM-DD, announced\n"
	    "                 changes included) or as recorded at a moment\n"
	    "                 (RFC 3339, e.g. 2026-01-01T00:00:00Z)\n"
	    "\nWith --json: the subprocessor as one JSON object.\n"},
	{"list", cmd_list,
	    "list [--category K] [--country CC] [--mechanism M] "
	    "[--service S]\n"
	    "            [--status S] [--customer ID] [--as-of WHEN]\n"
	    "            [--page-size N] [--all | --limit N]",
	    "List subprocessors (every page, ordered by id)",
	    "  --category K     data category K or any key below it\n"
	    "  --country CC     processes data in country CC (ISO 3166-1)\n"
	    "  --mechanism M    holds safeguard mechanism M\n"
	    "  --service S      used by our service S\n"
	    "  --status S       proposed, active or retired\n"
	    "  --customer ID    serving the services customer ID uses\n"
	    "  --as-of WHEN     the registry on a date (YYYY-MM-DD: in effect\n"
	    "                   then, announced changes included) or as\n"
	    "                   recorded at a moment (RFC 3339)\n"
	    "  --page-size N    rows per request, 1 to 1000\n"
	    "  --all            fetch every page (the default)\n"
	    "  --limit N        stop after N rows\n"
	    "\nColumns: ID, NAME, STATUS, COUNTRIES, CATEGORIES (count),\n"
	    "MECHANISMS. With --json: JSON Lines, one subprocessor per "
	    "line.\n"},
	{"diff", cmd_diff, "diff WHEN1 WHEN2",
	    "What was added, changed and removed between two dates",
	    "  WHEN   a date (YYYY-MM-DD) or a moment (RFC 3339), as for\n"
	    "         'list --as-of'\n"
	    "\nColumns: CHANGE (added, changed, removed), ID, NAME, FIELDS\n"
	    "(those that differ). With --json: JSON Lines.\n"},
	{"put", cmd_put, "put FILE [--expected-revision N] [--create-only]",
	    "Create or update a subprocessor from a JSON or YAML file",
	    "  FILE                   one subprocessor in the JSON form of\n"
	    "                         'spreg get --json', as JSON or YAML;\n"
	    "                         '-' reads standard input\n"
	    "  --expected-revision N  fail unless the stored revision is N\n"
	    "  --create-only          fail if the id exists already\n"
	    "\nPrints 'created|updated ID revision N (change seq S)', or\n"
	    "'unchanged ID revision N'. With --json: the reply (subprocessor\n"
	    "and change) as one JSON object.\n"},
	{"retire", cmd_retire,
	    "retire ID [--effective-until DATE] [--expected-revision N]",
	    "Retire a subprocessor",
	    "  --effective-until DATE  last day in use, YYYY-MM-DD (default\n"
	    "                          today, UTC)\n"
	    "  --expected-revision N   fail unless the stored revision is N\n"
	    "\nWith --json: the reply (subprocessor and change) as one JSON\n"
	    "object.\n"},
	{"changes", cmd_changes, "changes [--since N] [--limit N]",
	    "Show the change log",
	    "  --since N   only changes after seq N (default 0: all)\n"
	    "  --limit N   at most N changes (default: through the newest)\n"
	    "\nColumns: SEQ, TIME, KIND, SUBPROCESSOR, REVISION (old->new),\n"
	    "ACTOR. With --json: JSON Lines, one change per line.\n"},
	{"watch", cmd_watch,
	    "watch [--since N] [--customer ID | --subprocessor ID] "
	    "[--pub URL]\n"
	    "            [--count N]",
	    "Print each change as it is committed, from the log then live",
	    "  --since N          changes after seq N (default 0: the whole\n"
	    "                     log first); to resume, the last seq printed\n"
	    "  --customer ID      only changes concerning customer ID\n"
	    "  --subprocessor ID  only changes to subprocessor ID\n"
	    "  --pub URL          spregd's notification URL (default:\n"
	    "                     $SPREG_PUB, else " SPREG_DEFAULT_PUB ")\n"
	    "  --count N          exit after N changes (default: run until\n"
	    "                     interrupted)\n"
	    "\nEvery change is printed once, in seq order: notifications the\n"
	    "network drops are read from the log. Columns: SEQ, TIME, KIND,\n"
	    "SUBPROCESSOR (or customer), REVISION (old->new), ACTOR. With\n"
	    "--json: JSON Lines, one change per line.\n"},
	{"categories", cmd_categories, "categories [--parent K]",
	    "List the data categories of the taxonomy",
	    "  --parent K   only K and the keys below it\n"
	    "\nColumns: KEY, NAME, SPECIAL (Art. 9/10 data), CUSTOM (added\n"
	    "by a user). With --json: JSON Lines, one category per line.\n"},
	{"export", cmd_export, CLI_EXPORT_SYNOPSIS, CLI_EXPORT_SUMMARY,
	    CLI_EXPORT_OPTIONS},
	{"info", cmd_info, "info", "Show the server's version and counts",
	    "With --json: one JSON object.\n"},
	{"verify", cmd_verify, "verify",
	    "Check the hash-chained change log and every stored record",
	    "Walks the log from seq 1, recomputing each entry's hash from the\n"
	    "previous one, checks each recorded revision against the digest\n"
	    "its change carries, and each current record against its newest\n"
	    "revision. Reports the first entry or record that does not match;\n"
	    "exit status 6 when one does. With --json: one JSON object.\n"},
	{"assess", cmd_assess, cli_assess_synopsis, cli_assess_summary,
	    cli_assess_options},
	{"rules", cmd_rules, cli_rules_synopsis, cli_rules_summary,
	    cli_rules_options},
	{"token", cmd_token,
	    "token create --role ROLE --name NAME | token list [--all] |\n"
	    "            token revoke NAME",
	    "Create, list and revoke access tokens (admin)",
	    "  create --role ROLE --name NAME\n"
	    "           ROLE: reader (queries, assessments, exports), editor\n"
	    "           (also writes), admin (also tokens), or customer:ID\n"
	    "           (what concerns customer ID; may object for it).\n"
	    "           Prints the secret once, alone on standard output:\n"
	    "           'spreg token create ... > FILE' keeps it in FILE\n"
	    "  list     active tokens; --all with the revoked ones\n"
	    "  revoke NAME\n"
	    "           refused from the next request on (NAME or id)\n"
	    "\nThe server keeps only a salted hash of each secret.\n"},
	{"whoami", cmd_whoami, "whoami", "Show the token in use and its role",
	    "With --json: one JSON object.\n"},
	{"help", cmd_help, "help [COMMAND]", "Show help for a command", ""},
};
static const size_t ncommands = sizeof(commands) / sizeof(commands[0]);

static const command *
command_find(const char *name)
{
	for (size_t i = 0; i < ncommands; i++) {
		if (strcmp(commands[i].name, name) == 0) {
			return &commands[i];
		}
	}
	return NULL;
}

static void
usage_global(FILE *out)
{
	fprintf(out,
	    "usage: spreg [global options] COMMAND [options] [arguments]\n"
	    "\n"
	    "Reads and changes the subprocessor registry kept by spregd.\n"
	    "\n"
	    "Commands:\n");
	for (size_t i = 0; i < ncommands; i++) {
		fprintf(out, "  %-12s %s\n", commands[i].name,
		    commands[i].summary);
	}
	fprintf(out,
	    "\n"
	    "Global options (before or after the command):\n"
	    "  --server URL   nng URL of spregd (default: $SPREG_SERVER, else\n"
	    "                 " SPREG_DEFAULT_SERVER ")\n"
	    "  --tls-ca FILE  PEM CA that signed a tls+tcp:// server's\n"
	    "                 certificate (default: $SPREG_TLS_CA)\n"
	    "  --tls-cert FILE, --tls-key FILE\n"
	    "                 PEM client certificate and key, for servers\n"
	    "                 that require one (default: $SPREG_TLS_CERT,\n"
	    "                 $SPREG_TLS_KEY)\n"
	    "  --token-file FILE\n"
	    "                 the access token, first line of FILE (default:\n"
	    "                 $SPREG_TOKEN, else the file $SPREG_TOKEN_FILE;\n"
	    "                 spregd writes an admin token to DATA/admin.token\n"
	    "                 on its first start)\n"
	    "  --json         machine output: get, put, retire and info print\n"
	    "                 one JSON object (the proto JSON form); list,\n"
	    "                 changes, watch and categories print\n"
	    "                 JSON Lines, one object per line\n"
	    "  --timeout MS   per-call timeout in milliseconds (default %d)\n"
	    "  -h, --help     this help; 'spreg COMMAND --help' for a "
	    "command\n"
	    "  --version      print the version\n"
	    "\n"
	    "Exit status:\n"
	    "  0  success\n"
	    "  1  usage error: bad option or argument, unreadable or invalid\n"
	    "     input file\n"
	    "  2  not found (the server answered NOT_FOUND)\n"
	    "  3  server error (any other error the server answered)\n"
	    "  4  cannot connect: no server at the URL, or no reply in time\n"
	    "  5  assess: a transfer is TIA_REQUIRED, INVALID or MISSING\n"
	    "  6  verify: the change log or a stored record was altered\n"
	    "  7  access denied: no token, an unknown or revoked one, or a\n"
	    "     role that may not do this\n",
	    TIMEOUT_DEFAULT_MS);
}

int
main(int argc, char **argv)
{
	static const struct option options[] = {
		GLOBAL_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	cli g = {
		.server = SPREG_DEFAULT_SERVER,
		.timeout_ms = TIMEOUT_DEFAULT_MS,
	};
	const char *env = getenv("SPREG_SERVER");
	int opt;
	int rc;

	if (env != NULL && env[0] != '\0') {
		g.server = env;
	}
	if ((env = getenv("SPREG_TLS_CA")) != NULL && env[0] != '\0') {
		g.tls.ca_file = env;
	}
	if ((env = getenv("SPREG_TLS_CERT")) != NULL && env[0] != '\0') {
		g.tls.cert_file = env;
	}
	if ((env = getenv("SPREG_TLS_KEY")) != NULL && env[0] != '\0') {
		g.tls.key_file = env;
	}
	opterr = 0;	/* we print our own messages */
	/* '+': stop at the command; its options are parsed by it. */
	while ((opt = getopt_long(argc, argv, "+:h", options, NULL)) != -1) {
		if ((rc = global_option(&g, opt, argv)) != PARSE_CONTINUE) {
			return rc;
		}
	}
	if (optind == argc) {
		usage_global(stderr);
		return EXIT_USAGE;
	}
	if ((g.cmd = command_find(argv[optind])) == NULL) {
		return usage_error(&g, "unknown command '%s'", argv[optind]);
	}
	int cmd_argc = argc - optind;
	char **cmd_argv = argv + optind;
	optind = 0;	/* glibc: start over, argv[0] is the command */
	rc = g.cmd->run(&g, cmd_argc, cmd_argv);
	spreg_client_close(g.client);
	if (fflush(stdout) != 0 && rc == 0) {
		fprintf(stderr, "spreg: writing output: %s\n", strerror(errno));
		rc = EXIT_USAGE;
	}
	return rc;
}
