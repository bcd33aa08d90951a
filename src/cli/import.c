/*
 * spreg import: many vendors at once, all or none, from a JSON or YAML
 * list in the API's form, an import CSV, or a Fides data map (the
 * mapping is vendormap.c's). Every problem found in the file is listed
 * with its line before anything is sent; then the server judges every
 * vendor in a dry run (ImportSubprocessors with dry_run), and only when
 * none is refused does the import itself run, in one transaction.
 */
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/vendormap.h"
#include "spreg/status.h"

#define METHOD_IMPORT "ImportSubprocessors"
#define IMPORT_ITEMS_MAX 1000	/* the server's RPC_IMPORT_MAX */

typedef enum kind {
	KIND_JSON,
	KIND_YAML,
	KIND_CSV,
} kind;

static bool
ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n > m && strcmp(s + n - m, suffix) == 0;
}

/* Well-formed UTF-8 without NUL: text, not a binary file. */
static bool
is_utf8_text(const unsigned char *s, size_t len)
{
	for (size_t i = 0; i < len;) {
		unsigned char c = s[i];
		size_t n = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 :
		    (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
		if (c == 0 || n == 0 || (n == 2 && c < 0xc2) || i + n > len) {
			return false;
		}
		for (size_t k = 1; k < n; k++) {
			if ((s[i + k] & 0xc0) != 0x80) {
				return false;
			}
		}
		i += n;
	}
	return true;
}

/* The first line that is not blank or a '#' comment, for telling CSV
 * from YAML by its look. */
static void
first_line(const char *text, char *buf, size_t size)
{
	for (;;) {
		while (*text == '\n' || *text == '\r' || *text == ' ') {
			text++;
		}
		if (*text != '#') {
			break;
		}
		text += strcspn(text, "\n");
	}
	size_t n = strcspn(text, "\r\n");
	snprintf(buf, size, "%.*s", (int) (n < size ? n : size - 1), text);
}

/* Does the content look like what the name says? A problem if not. */
static void
check_kind(vmap_file *f, kind k, const char *text, size_t len)
{
	static const char *const names[] = {"JSON", "YAML", "CSV"};
	static const char *const exts[] = {".json", ".yaml or .yml", ".csv"};
	char line[256];
	const char *looks = NULL;

	if (!is_utf8_text((const unsigned char *) text, len)) {
		vmap_problem(f, 0, "not UTF-8 text, so not %s (as its name "
		    "says); nothing read", names[k]);
		return;
	}
	const char *bom = len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0 ?
	    text + 3 : text;
	first_line(bom, line, sizeof(line));
	bool json = line[0] == '{' || line[0] == '[';
	bool yamlish = strncmp(line, "---", 3) == 0 ||
	    (strchr(line, ':') != NULL && strchr(line, ',') == NULL);
	bool csvish = !json && strchr(line, ',') != NULL &&
	    strchr(line, ':') == NULL;
	if (k == KIND_JSON && !json) {
		looks = csvish ? "CSV" : line[0] ? "YAML" : "empty";
	} else if (k == KIND_CSV && (json || yamlish)) {
		looks = json ? "JSON" : "YAML";
	} else if (k == KIND_YAML && csvish) {
		looks = "CSV";
	}
	if (looks != NULL) {
		vmap_problem(f, 1, "this is not %s: it looks like %s (the "
		    "format is told by the name's ending, %s); nothing read",
		    names[k], looks, exts[k]);
	}
}

static int
key_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *) a, *(const char *const *) b);
}

/* The data category keys the server knows, for checking every key of
 * the file at once. */
static int
taxonomy_fetch(cli *c, vmap_taxonomy *tax, ProtobufCMessage **msg_out)
{
	Spreg__V1__ListDataCategoriesRequest req =
	    SPREG__V1__LIST_DATA_CATEGORIES_REQUEST__INIT;
	int rc = cli_call(c, "ListDataCategories", &req.base,
	    &spreg__v1__list_data_categories_response__descriptor, msg_out);

	if (rc != 0) {
		return rc;
	}
	const Spreg__V1__ListDataCategoriesResponse *resp =
	    (const void *) *msg_out;
	tax->n = resp->n_categories;
	if ((tax->keys = calloc(tax->n + 1, sizeof(*tax->keys))) == NULL) {
		return cli_out_of_memory();
	}
	for (size_t i = 0; i < tax->n; i++) {
		tax->keys[i] = resp->categories[i]->key;
	}
	qsort(tax->keys, tax->n, sizeof(*tax->keys), key_cmp);
	return 0;
}

/* The items as messages; a problem for each that does not convert. */
static Spreg__V1__Subprocessor **
to_messages(vmap_file *f)
{
	Spreg__V1__Subprocessor **sps = calloc(f->n + 1, sizeof(*sps));

	if (sps == NULL) {
		f->oom = true;
		return NULL;
	}
	for (size_t i = 0; i < f->n; i++) {
		const vmap_item *it = &f->items[i];
		ProtobufCMessage *m;
		err e;
		if (pbjson_to_message(it->json,
		        &spreg__v1__subprocessor__descriptor, &m, &e) !=
		    SPREG_OK) {
			const char *id = json_string_value(json_object_get(
			    it->json, "id"));
			vmap_problem(f, vmap_item_line_for(it, e.msg),
			    "subprocessor '%.64s': %s", id ? id : "?", e.msg);
			continue;
		}
		sps[i] = (Spreg__V1__Subprocessor *) m;
	}
	/* One id twice: the second would undo the first. */
	for (size_t i = 1; i < f->n; i++) {
		for (size_t j = 0; sps[i] != NULL && j < i; j++) {
			if (sps[j] != NULL && strcmp(sps[i]->id, sps[j]->id) ==
			    0) {
				vmap_problem(f, f->items[i].line, "id '%.64s' is "
				    "given again (first on line %zu)",
				    sps[i]->id, f->items[j].line);
				break;
			}
		}
	}
	if (f->n == 0 && f->nproblems == 0) {
		vmap_problem(f, 0, "no subprocessors in it");
	}
	if (f->n > IMPORT_ITEMS_MAX) {
		vmap_problem(f, 0, "%zu subprocessors: one import takes at most "
		    "%d", f->n, IMPORT_ITEMS_MAX);
	}
	return sps;
}

static void
free_messages(Spreg__V1__Subprocessor **sps, size_t n)
{
	for (size_t i = 0; sps != NULL && i < n; i++) {
		if (sps[i] != NULL) {
			protobuf_c_message_free_unpacked(&sps[i]->base, NULL);
		}
	}
	free(sps);
}

/* Refused when larger than the server takes (it would drop it
 * unread, and the client would only see a timeout). */
static int
check_size(cli *c, const ProtobufCMessage *req, const char *name)
{
	Spreg__V1__ServerInfoRequest in = SPREG__V1__SERVER_INFO_REQUEST__INIT;
	ProtobufCMessage *msg;
	int rc = cli_call(c, "ServerInfo", &in.base,
	    &spreg__v1__server_info_response__descriptor, &msg);

	if (rc != 0) {
		return rc;
	}
	uint64_t max = ((Spreg__V1__ServerInfoResponse *) msg)
	    ->max_message_bytes;
	spreg_message_free(msg);
	size_t size = protobuf_c_message_get_packed_size(req);
	/* Room for the envelope around it. */
	if (max != 0 && size + 4096 > max) {
		fprintf(stderr, "spreg: %s: the import is %zu bytes, more than "
		    "the server takes in one request (%llu, spregd "
		    "--max-message); nothing imported\n", name, size,
		    (unsigned long long) max);
		return CLI_EXIT_USAGE;
	}
	return 0;
}

static const char *
outcome_name(Spreg__V1__ImportOutcome o, char *buf, size_t len)
{
	return cli_enum_name(&spreg__v1__import_outcome__descriptor, (int) o,
	    true, buf, len);
}

/* The dry run's verdicts: refused items are problems of the file. */
static int
dry_run(cli *c, Spreg__V1__ImportSubprocessorsRequest *req, vmap_file *f,
    Spreg__V1__ImportSubprocessorsResponse **resp_out)
{
	ProtobufCMessage *msg;
	int rc;

	req->dry_run = true;
	if ((rc = cli_call(c, METHOD_IMPORT, &req->base,
	         &spreg__v1__import_subprocessors_response__descriptor,
	         &msg)) != 0) {
		return rc;
	}
	Spreg__V1__ImportSubprocessorsResponse *resp = (void *) msg;
	for (size_t i = 0; i < resp->n_results; i++) {
		const Spreg__V1__ImportResult *r = resp->results[i];
		if (r->outcome !=
		        SPREG__V1__IMPORT_OUTCOME__IMPORT_OUTCOME_REFUSED ||
		    r->index >= f->n) {
			continue;
		}
		vmap_problem(f, vmap_item_line_for(&f->items[r->index],
		    r->problem), "subprocessor '%s': %s: %s", r->id, r->status,
		    r->problem);
	}
	*resp_out = resp;
	return 0;
}

static void
print_plan(const Spreg__V1__ImportSubprocessorsResponse *resp)
{
	char outcome[32];

	for (size_t i = 0; i < resp->n_results; i++) {
		const Spreg__V1__ImportResult *r = resp->results[i];
		printf("would be %s: %s", outcome_name(r->outcome, outcome,
		    sizeof(outcome)), r->id);
		if (r->outcome ==
		    SPREG__V1__IMPORT_OUTCOME__IMPORT_OUTCOME_CHANGED) {
			printf(" (to revision %llu)",
			    (unsigned long long) r->revision);
		}
		fputc('\n', stdout);
	}
	printf("dry run: %u to create, %u to change, %u unchanged; nothing "
	       "written\n", resp->created, resp->changed, resp->unchanged);
}

static void
print_done(const Spreg__V1__ImportSubprocessorsResponse *resp)
{
	char outcome[32];

	for (size_t i = 0; i < resp->n_results; i++) {
		const Spreg__V1__ImportResult *r = resp->results[i];
		printf("%s %s revision %llu", outcome_name(r->outcome, outcome,
		    sizeof(outcome)), r->id, (unsigned long long) r->revision);
		if (r->change_seq != 0) {
			printf(" (change seq %llu)",
			    (unsigned long long) r->change_seq);
		}
		fputc('\n', stdout);
	}
	printf("imported %zu: %u created, %u changed, %u unchanged\n",
	    resp->n_results, resp->created, resp->changed, resp->unchanged);
}

/* The file's line for the server's "subprocessors[I] (ID): ..." */
static void
point_at_item(const vmap_file *f, const char *message)
{
	unsigned long idx;
	int used = 0;

	if (message == NULL ||
	    sscanf(message, "subprocessors[%lu]%n", &idx, &used) != 1 ||
	    used == 0 || idx >= f->n) {
		return;
	}
	const char *rest = strstr(message, "): ");
	fprintf(stderr, "%s:%zu: this is the vendor refused\n", f->name,
	    vmap_item_line_for(&f->items[idx], rest ? rest + 3 : ""));
}

static void
print_list(char **lines, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		fprintf(stderr, "%s\n", lines[i]);
	}
}

static int
csv_template(void)
{
	for (size_t i = 0; i < VMAP_CSV_NCOLS; i++) {
		printf("%s%s", i ? "," : "", vmap_csv_columns[i]);
	}
	printf("\r\n");
	return 0;
}

int
cmd_import(cli *c)
{
	static const cli_option options[] = {
		{"dry-run", CLI_FLAG, NULL,
		    "say what would be created, changed or left alone,\n"
		    "and what would be refused; write nothing", 0, 0},
		{"emergency", CLI_TEXT, "REASON",
		    "as for 'put': make vendors active sooner than the\n"
		    "notice customers are owed, the reason recorded", 0, 0},
		{"csv-template", CLI_FLAG, NULL,
		    "print the import CSV's header row and stop", 0, 0},
		{NULL, CLI_FLAG, NULL, NULL, 0, 0},
	};
	static const cli_spec spec = {options, 0, 1,
	    "FILE is told by its name: .json (an array of subprocessors in the\n"
	    "form of 'spreg get --json'), .yaml or .yml (a list of them, one per\n"
	    "YAML document, or a Fides data map: system: [...]), or .csv (one\n"
	    "row per vendor and location; the header is 'spreg import\n"
	    "--csv-template'; lists in a cell separated by ';' or ','). A file\n"
	    "whose content is not what its name says is refused.\n"
	    "\nAll or nothing: every problem of the file is listed with its line\n"
	    "(exit 1), then the server judges every vendor without writing;\n"
	    "if it would refuse any, each is listed with its line (exit 3).\n"
	    "Only then are all written, in one transaction. Fides fields spreg\n"
	    "does not keep (data uses, subjects, egress, ...) are reported on\n"
	    "stderr, and renamed fideslang category keys mapped (and said).\n"
	    "\nPrints 'created|changed|unchanged ID revision N' per vendor and a\n"
	    "summary. With --json: the server's reply as one JSON object.\n"};
	vmap_file f;
	vmap_taxonomy tax = {NULL, 0};
	ProtobufCMessage *taxmsg = NULL;
	Spreg__V1__Subprocessor **sps = NULL;
	Spreg__V1__ImportSubprocessorsResponse *plan = NULL;
	ProtobufCMessage *done = NULL;
	char *text = NULL;
	size_t len;
	kind k;
	int rc;

	if ((rc = cli_parse(c, &spec)) != CLI_CONTINUE) {
		return rc;
	}
	if (cli_flag(c, "csv-template")) {
		if (cli_nargs(c) != 0) {
			return cli_usage_error(c, "--csv-template takes no FILE");
		}
		return csv_template();
	}
	const char *path = cli_arg(c, 0);
	if (path == NULL) {
		return cli_usage_error(c, "import: missing argument");
	}
	if (ends_with(path, ".json")) {
		k = KIND_JSON;
	} else if (ends_with(path, ".yaml") || ends_with(path, ".yml")) {
		k = KIND_YAML;
	} else if (ends_with(path, ".csv")) {
		k = KIND_CSV;
	} else {
		return cli_usage_error(c, "%s: cannot tell its format: the name "
		    "must end in .json, .yaml, .yml or .csv", path);
	}
	vmap_file_init(&f, path);
	if ((rc = cli_read_file(path, &text, &len)) != 0) {
		goto out;
	}
	check_kind(&f, k, text, len);
	if (f.nproblems == 0 && (rc = taxonomy_fetch(c, &tax, &taxmsg)) != 0) {
		goto out;
	}
	if (f.nproblems == 0) {
		if (k == KIND_CSV) {
			vmap_read_csv(&f, text, len, &tax);
		} else {
			vmap_read_structured(&f, text, len, k == KIND_JSON, &tax);
		}
		sps = to_messages(&f);
	}
	if (f.oom) {
		rc = cli_out_of_memory();
		goto out;
	}
	print_list(f.notes, f.nnotes);
	if (f.nproblems > 0) {
		print_list(f.problems, f.nproblems);
		fprintf(stderr, "spreg: %s: %zu problem%s; nothing imported\n",
		    path, f.nproblems, f.nproblems == 1 ? "" : "s");
		rc = CLI_EXIT_USAGE;
		goto out;
	}
	Spreg__V1__ImportSubprocessorsRequest req =
	    SPREG__V1__IMPORT_SUBPROCESSORS_REQUEST__INIT;
	req.subprocessors = sps;
	req.n_subprocessors = f.n;
	req.emergency = cli_opt(c, "emergency") != NULL;
	req.reason = cli_text(c, "emergency");
	if ((rc = check_size(c, &req.base, path)) != 0 ||
	    (rc = dry_run(c, &req, &f, &plan)) != 0) {
		goto out;
	}
	if (f.nproblems > 0) {
		print_list(f.problems, f.nproblems);
		fprintf(stderr, "spreg: %s: the server would refuse %zu "
		    "subprocessor%s; nothing imported\n", path, f.nproblems,
		    f.nproblems == 1 ? "" : "s");
		rc = CLI_EXIT_SERVER;
		goto out;
	}
	if (cli_flag(c, "dry-run")) {
		rc = cli_json(c) ? cli_print_json(&plan->base, false) :
		                   (print_plan(plan), 0);
		goto out;
	}
	req.dry_run = false;
	if ((rc = cli_call(c, METHOD_IMPORT, &req.base,
	         &spreg__v1__import_subprocessors_response__descriptor,
	         &done)) != 0) {
		point_at_item(&f, cli_last_error(c));
		fprintf(stderr, "spreg: %s: nothing imported\n", path);
		goto out;
	}
	rc = cli_json(c) ? cli_print_json(done, false) :
	                   (print_done((const void *) done), 0);
out:
	free_messages(sps, f.n);
	if (plan != NULL) {
		spreg_message_free(&plan->base);
	}
	if (done != NULL) {
		spreg_message_free(done);
	}
	if (taxmsg != NULL) {
		spreg_message_free(taxmsg);
	}
	free(tax.keys);
	free(text);
	vmap_file_fini(&f);
	return rc;
}
