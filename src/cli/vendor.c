/*
 * Subprocessor commands: get, list, put, edit, retire, diff.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "cli/commands.h"
#include "cli/yaml.h"
#include "core/pb.h"
#include "core/vocab.h"

#define STATUS_BUF 32

static const char *
status_name(Spreg__V1__SubprocessorStatus status, char *buf)
{
	return cli_enum_name(&spreg__v1__subprocessor_status__descriptor,
	    (int) status, true, buf, STATUS_BUF);
}

const char *
vendor_kind_name(Spreg__V1__ChangeKind kind, char *buf, size_t len)
{
	const char *name = vocab_change_kind_name(kind);

	if (name == NULL) {	/* a kind newer than this spreg */
		snprintf(buf, len, "%d", (int) kind);
		return buf;
	}
	return name;
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

void
vendor_print(const Spreg__V1__Subprocessor *sp)
{
	char status[STATUS_BUF];

	print_field("id", sp->id);
	print_field("name", sp->name);
	print_field("legal_entity", sp->legal_entity);
	print_field("purpose", sp->purpose);
	print_field("website", sp->website);
	print_field("kind", vocab_kind_of(sp->kind));
	print_field("customer", sp->customer);
	print_field("status", status_name(sp->status, status));
	print_strings("services", sp->services, sp->n_services);
	print_strings("data_categories", sp->data_categories,
	    sp->n_data_categories);
	print_strings("data_uses", sp->data_uses, sp->n_data_uses);
	for (size_t i = 0; i < sp->n_locations; i++) {
		const Spreg__V1__Location *loc = sp->locations[i];
		printf("location: %s %s", loc->country, loc->role);
		for (size_t j = 0; j < loc->n_data_categories; j++) {
			printf("%s%s", j ? ", " : " (",
			    loc->data_categories[j]);
		}
		printf("%s", loc->n_data_categories ? ")" : "");
		for (size_t j = 0; j < loc->n_data_uses; j++) {
			printf("%s%s", j ? ", " : " for ", loc->data_uses[j]);
		}
		printf("%s\n", loc->out_of_adequacy_scope ?
		    " out_of_adequacy_scope" : "");
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
	for (size_t i = 0; i < sp->n_fourth_parties; i++) {
		const Spreg__V1__FourthParty *fp = sp->fourth_parties[i];
		printf("fourth_party: %s %s", fp->id, fp->name);
		for (size_t j = 0; j < fp->n_countries; j++) {
			printf("%s%s", j ? "," : " in ", fp->countries[j]);
		}
		printf(" confirmed %s source %s\n", fp->confirmed_on,
		    fp->source);
	}
	print_field("dpf_certified_on", sp->dpf_certified_on);
	for (size_t i = 0; i < sp->n_dpf_participation; i++) {
		const Spreg__V1__DpfParticipation *p = sp->dpf_participation[i];
		printf("dpf_participation: %s since %s%s%s\n", p->framework,
		    p->since, p->until[0] ? " until " : "", p->until);
	}
	print_field("effective_from", sp->effective_from);
	print_field("effective_until", sp->effective_until);
	printf("revision: %llu\n", (unsigned long long) sp->revision);
	print_field("updated_at", sp->updated_at);
	print_field("updated_by", sp->updated_by);
}

void
vendor_print_write(const char *id, uint64_t revision,
    const Spreg__V1__Change *change)
{
	char kind[48];

	if (change == NULL) {
		printf("unchanged %s revision %llu\n", id,
		    (unsigned long long) revision);
		return;
	}
	printf("%s %s revision %llu (change seq %llu)\n",
	    vendor_kind_name(change->kind, kind, sizeof(kind)), id,
	    (unsigned long long) revision, (unsigned long long) change->seq);
}

int
vendor_read(const char *path, Spreg__V1__Subprocessor **sp_out)
{
	ProtobufCMessage *msg;
	int rc = cli_read_message(path, &spreg__v1__subprocessor__descriptor,
	    "subprocessor", &msg);

	if (rc != 0) {
		return rc;
	}
	/* Country codes in any case, as on the command line. */
	Spreg__V1__Subprocessor *sp = (Spreg__V1__Subprocessor *) msg;
	for (size_t i = 0; i < sp->n_locations; i++) {
		cli_upper(sp->locations[i]->country);
	}
	for (size_t i = 0; i < sp->n_fourth_parties; i++) {
		for (size_t k = 0; k < sp->fourth_parties[i]->n_countries; k++) {
			cli_upper(sp->fourth_parties[i]->countries[k]);
		}
	}
	*sp_out = sp;
	return 0;
}

/* The server's largest page by default (--max-page): more are refused. */
#define CLI_GET_IDS_MAX 1000

/* ---- get ------------------------------------------------------------------ */

static int
print_one(const cli *c, const Spreg__V1__Subprocessor *sp, bool yaml)
{
	if (sp == NULL) {
		fprintf(stderr, "spreg: INTERNAL: reply without a "
		                "subprocessor\n");
		return CLI_EXIT_SERVER;
	}
	if (yaml) {
		return cli_yaml_write(&sp->base, stdout) ? 0 :
		    cli_out_of_memory();
	}
	if (cli_json(c)) {
		return cli_print_json(&sp->base, false);
	}
	vendor_print(sp);
	return 0;
}

/* Several ids: one GetSubprocessors call, the records in the order
 * given; each id not found is named on stderr and the exit is
 * CLI_EXIT_NOT_FOUND once the others are printed. */
static int
get_many(cli *c, bool yaml)
{
	Spreg__V1__GetSubprocessorsRequest req =
	    SPREG__V1__GET_SUBPROCESSORS_REQUEST__INIT;
	ProtobufCMessage *msg;
	int rc;

	if (cli_opt_u64(c, "revision", 0) != 0) {
		return cli_usage_error(c, "--revision takes one ID only");
	}
	char **ids = calloc((size_t) cli_nargs(c), sizeof(*ids));
	if (ids == NULL) {
		return cli_out_of_memory();
	}
	for (int i = 0; i < cli_nargs(c); i++) {
		ids[i] = (char *) cli_arg(c, i);
	}
	req.ids = ids;
	req.n_ids = (size_t) cli_nargs(c);
	req.as_of = cli_text(c, "as-of");
	rc = cli_call(c, "GetSubprocessors", &req.base,
	    &spreg__v1__get_subprocessors_response__descriptor, &msg);
	free(ids);
	if (rc != 0) {
		return rc;
	}
	const Spreg__V1__GetSubprocessorsResponse *resp = (const void *) msg;
	for (size_t i = 0; rc == 0 && i < resp->n_subprocessors; i++) {
		if (i > 0 && !cli_json(c)) {
			fputs(yaml ? "---\n" : "\n", stdout);
		}
		/* --json: one object a line, as list prints rows. */
		rc = cli_json(c) && !yaml ?
		    cli_print_json(&resp->subprocessors[i]->base, true) :
		    print_one(c, resp->subprocessors[i], yaml);
	}
	for (size_t i = 0; rc == 0 && i < resp->n_not_found; i++) {
		fprintf(stderr, "spreg: NOT_FOUND: id: no subprocessor '%s'\n",
		    resp->not_found[i]);
	}
	if (rc == 0 && resp->n_not_found > 0) {
		rc = CLI_EXIT_NOT_FOUND;
	}
	spreg_message_free(msg);
	return rc;
}

int
cmd_get(cli *c)
{
	static const cli_option options[] = {
		{"revision", CLI_NUMBER, "N",
		    "an earlier revision, from the history", 1, UINT64_MAX},
		{"as-of", CLI_TEXT, "WHEN",
		    "as it stands on a date (YYYY-MM-DD, announced\n"
		    "changes included) or as recorded at a moment\n"
		    "(RFC 3339, e.g. 2026-01-01T00:00:00Z)", 0, 0},
		{"yaml", CLI_FLAG, NULL,
		    "print YAML that 'spreg put' reads back unchanged", 0, 0},
		{NULL, CLI_FLAG, NULL, NULL, 0, 0},
	};
	static const cli_spec spec = {options, 1, CLI_GET_IDS_MAX,
	    "Prints \"key: value\" lines. With --json: the subprocessor as one\n"
	    "JSON object; with --yaml: as YAML. Several IDs are read in one\n"
	    "call (GetSubprocessors): the records in the order given, blank\n"
	    "lines (--yaml: ---) between them, --json one object a line; an\n"
	    "ID not found is named on stderr and the exit status is 2.\n"};
	Spreg__V1__GetSubprocessorRequest req =
	    SPREG__V1__GET_SUBPROCESSOR_REQUEST__INIT;
	ProtobufCMessage *msg;
	int rc;

	if ((rc = cli_parse(c, &spec)) != CLI_CONTINUE) {
		return rc;
	}
	if (cli_flag(c, "yaml") && cli_json(c)) {
		return cli_usage_error(c, "give --json or --yaml, not both");
	}
	if (cli_nargs(c) > 1) {
		return get_many(c, cli_flag(c, "yaml"));
	}
	req.id = (char *) cli_arg(c, 0);
	req.revision = cli_opt_u64(c, "revision", 0);
	req.as_of = cli_text(c, "as-of");
	if ((rc = cli_call(c, "GetSubprocessor", &req.base,
	         &spreg__v1__get_subprocessor_response__descriptor, &msg)) !=
	    0) {
		return rc;
	}
	rc = print_one(c,
	    ((Spreg__V1__GetSubprocessorResponse *) msg)->subprocessor,
	    cli_flag(c, "yaml"));
	spreg_message_free(msg);
	/* Today's record: the lists that keep its fourth parties. */
	if (rc == 0 && !cli_flag(c, "yaml") && !cli_json(c) &&
	    req.revision == 0 && req.as_of[0] == '\0') {
		vendor_print_follows(c, req.id);
	}
	return rc;
}

/* ---- list ------------------------------------------------------------------ */

typedef struct list_walk {
	cli *c;
	table *t;		/* NULL with --json */
	uint64_t limit;		/* 0: every row */
	uint64_t shown;
} list_walk;

static int
list_row_add(table *t, const Spreg__V1__Subprocessor *sp)
{
	char countries[512] = "";
	char mechanisms[512] = "";
	char ncategories[24];
	char status[STATUS_BUF];

	for (size_t i = 0; i < sp->n_locations; i++) {
		cli_list_add(countries, sizeof(countries),
		    sp->locations[i]->country);
	}
	for (size_t i = 0; i < sp->n_safeguards; i++) {
		cli_list_add(mechanisms, sizeof(mechanisms),
		    sp->safeguards[i]->mechanism);
	}
	snprintf(ncategories, sizeof(ncategories), "%zu",
	    sp->n_data_categories);
	const char *cells[] = {sp->id, sp->name, status_name(sp->status,
	    status), countries, ncategories, mechanisms};
	return cli_rows_add(t, &sp->base, cells);
}

static int
list_page(void *ctx, const ProtobufCMessage *msg)
{
	list_walk *w = ctx;
	const Spreg__V1__ListSubprocessorsResponse *resp = (const void *) msg;
	int rc = 0;

	for (size_t i = 0; i < resp->n_subprocessors && rc == 0; i++) {
		if (w->limit != 0 && w->shown == w->limit) {
			return CLI_STOP;
		}
		rc = list_row_add(w->t, resp->subprocessors[i]);
		w->shown++;
	}
	return rc == 0 && w->limit != 0 && w->shown == w->limit ? CLI_STOP :
	                                                          rc;
}

/* --status by its name: proposed, active, retired, ... */
static int
parse_status(const cli *c, const char *text,
    Spreg__V1__SubprocessorStatus *out)
{
	const ProtobufCEnumDescriptor *d =
	    &spreg__v1__subprocessor_status__descriptor;
	char names[256] = "";
	char name[STATUS_BUF];

	for (unsigned i = 0; i < d->n_values; i++) {
		if (d->values[i].value == 0) {
			continue;
		}
		status_name(d->values[i].value, name);
		if (strcmp(text, name) == 0) {
			*out = d->values[i].value;
			return CLI_CONTINUE;
		}
		cli_list_add(names, sizeof(names), name);
	}
	return cli_usage_error(c, "--status: '%s' is not one of %s", text,
	    names);
}

int
cmd_list(cli *c)
{
	static const cli_option options[] = {
		{"category", CLI_TEXT, "K", "data category K or any key below it",
		    0, 0},
		{"country", CLI_COUNTRY, "CC",
		    "processes data in country CC (ISO 3166-1)", 0, 0},
		{"mechanism", CLI_TEXT, "M", "holds safeguard mechanism M", 0, 0},
		{"service", CLI_TEXT, "S", "used by our service S", 0, 0},
		{"status", CLI_TEXT, "S", "proposed, active or retired", 0, 0},
		{"customer", CLI_TEXT, "ID",
		    "serving the services customer ID uses", 0, 0},
		{"purpose", CLI_TEXT, "KEY",
		    "for data use KEY or any key below it\n"
		    "(fideslang, e.g. marketing.advertising)", 0, 0},
		{"kind", CLI_TEXT, "K", "subprocessor, controller, affiliate or\n"
		    "customer_selected", 0, 0},
		{"fourth-party", CLI_TEXT, "ID",
		    "whose own subprocessors include ID", 0, 0},
		{"as-of", CLI_TEXT, "WHEN",
		    "the registry on a date (YYYY-MM-DD: in effect\n"
		    "then, announced changes included) or as\n"
		    "recorded at a moment (RFC 3339)", 0, 0},
		{"page-size", CLI_NUMBER, "N",
		    "rows per request (default: the server's\n"
		    "largest page)", 1, UINT32_MAX},
		{"all", CLI_FLAG, NULL, "fetch every page (the default)", 0, 0},
		{"limit", CLI_NUMBER, "N", "stop after N rows", 1, UINT32_MAX},
		{NULL, CLI_FLAG, NULL, NULL, 0, 0},
	};
	static const cli_spec spec = {options, 0, 0,
	    "Columns: ID, NAME, STATUS, COUNTRIES, CATEGORIES (count),\n"
	    "MECHANISMS. With --json: JSON Lines, one subprocessor per line.\n"};
	static const char *const headers[] = {"ID", "NAME", "STATUS",
	    "COUNTRIES", "CATEGORIES", "MECHANISMS"};
	Spreg__V1__ListSubprocessorsRequest req =
	    SPREG__V1__LIST_SUBPROCESSORS_REQUEST__INIT;
	list_walk w = {c, NULL, 0, 0};
	const char *status;
	int rc;

	if ((rc = cli_parse(c, &spec)) != CLI_CONTINUE) {
		return rc;
	}
	if (cli_flag(c, "all") && cli_opt(c, "limit") != NULL) {
		return cli_usage_error(c, "give --all or --limit, not both");
	}
	if ((status = cli_opt(c, "status")) != NULL &&
	    (rc = parse_status(c, status, &req.status)) != CLI_CONTINUE) {
		return rc;
	}
	req.data_category = cli_text(c, "category");
	req.country = cli_text(c, "country");
	req.mechanism = cli_text(c, "mechanism");
	req.service = cli_text(c, "service");
	req.customer = cli_text(c, "customer");
	req.purpose = cli_text(c, "purpose");
	req.kind = cli_text(c, "kind");
	req.fourth_party = cli_text(c, "fourth-party");
	req.as_of = cli_text(c, "as-of");
	w.limit = cli_opt_u64(c, "limit", 0);
	if ((rc = cli_rows_begin(c, 6, headers, &w.t)) != 0) {
		return rc;
	}
	table_column_keep(w.t, 0);
	rc = cli_pages(c, "ListSubprocessors", &req.base,
	    &spreg__v1__list_subprocessors_response__descriptor,
	    (uint32_t) cli_opt_u64(c, "page-size", 0), list_page, &w);
	return cli_rows_end(c, w.t, rc);
}

/* ---- put, edit and retire -------------------------------------------------- */

/* Sends sp; prints the outcome. */
static int
put(cli *c, Spreg__V1__Subprocessor *sp, uint64_t expected_revision,
    bool create_only, const char *emergency)
{
	Spreg__V1__PutSubprocessorRequest req =
	    SPREG__V1__PUT_SUBPROCESSOR_REQUEST__INIT;
	ProtobufCMessage *msg;
	int rc;

	req.subprocessor = sp;
	req.expected_revision = expected_revision;
	req.create_only = create_only;
	req.emergency = emergency != NULL;
	req.reason = (char *) (emergency != NULL ? emergency : "");
	if ((rc = cli_call(c, "PutSubprocessor", &req.base,
	         &spreg__v1__put_subprocessor_response__descriptor, &msg)) !=
	    0) {
		return rc;
	}
	const Spreg__V1__PutSubprocessorResponse *resp = (const void *) msg;
	if (cli_json(c)) {
		rc = cli_print_json(msg, false);
	} else {
		vendor_print_write(sp->id, resp->subprocessor ?
		    resp->subprocessor->revision : 0, resp->change);
	}
	spreg_message_free(msg);
	return rc;
}

int
cmd_put(cli *c)
{
	static const cli_option options[] = {
		{"expected-revision", CLI_NUMBER, "N",
		    "fail unless the stored revision is N", 1, UINT64_MAX},
		{"create-only", CLI_FLAG, NULL,
		    "fail if the id exists already", 0, 0},
		{"emergency", CLI_TEXT, "REASON",
		    "make it active sooner than the notice its\n"
		    "customers are owed: an emergency, the reason\n"
		    "recorded in the log", 0, 0},
		{NULL, CLI_FLAG, NULL, NULL, 0, 0},
	};
	static const cli_spec spec = {options, 1, 1,
	    "FILE holds one subprocessor in the JSON form of 'spreg get\n"
	    "--json', as JSON or YAML ('spreg get --yaml'); '-' reads\n"
	    "standard input. Country codes may be in any case.\n"
	    "\nA put that makes a vendor active (new, or newly serving a\n"
	    "service, country or data category) for a customer owed notice is\n"
	    "refused (FAILED_PRECONDITION, exit 3) naming the customer, the\n"
	    "days owed and the earliest date: use 'spreg announce', or\n"
	    "--emergency REASON. Written as proposed, it is always accepted.\n"
	    "\nPrints 'created|updated ID revision N (change seq S)', or\n"
	    "'unchanged ID revision N'. With --json: the reply (subprocessor\n"
	    "and change) as one JSON object.\n"};
	Spreg__V1__Subprocessor *sp;
	int rc;

	if ((rc = cli_parse(c, &spec)) != CLI_CONTINUE ||
	    (rc = vendor_read(cli_arg(c, 0), &sp)) != 0) {
		return rc;
	}
	rc = put(c, sp, cli_opt_u64(c, "expected-revision", 0),
	    cli_flag(c, "create-only"), cli_opt(c, "emergency"));
	protobuf_c_message_free_unpacked(&sp->base, NULL);
	return rc;
}

/* Runs $VISUAL or $EDITOR (default vi) on path, through the shell as
 * git does, so "code --wait" works. */
static int
run_editor(const char *path)
{
	const char *editor = getenv("VISUAL");
	char script[1024];
	int status;

	if (editor == NULL || editor[0] == '\0') {
		editor = getenv("EDITOR");
	}
	if (editor == NULL || editor[0] == '\0') {
		editor = "vi";
	}
	snprintf(script, sizeof(script), "%s \"$1\"", editor);
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0) {
		fprintf(stderr, "spreg: edit: cannot start %s: %s\n", editor,
		    strerror(errno));
		return CLI_EXIT_USAGE;
	}
	if (pid == 0) {
		execl("/bin/sh", "sh", "-c", script, "sh", path, (char *) NULL);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			return CLI_EXIT_USAGE;
		}
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "spreg: edit: the editor (%s) failed; nothing "
		                "changed\n", editor);
		return CLI_EXIT_USAGE;
	}
	return 0;
}

/* Writes the YAML of sp to a new temporary file, named in path. */
static int
edit_file_write(const Spreg__V1__Subprocessor *sp, char *path, size_t size)
{
	const char *dir = getenv("TMPDIR");

	snprintf(path, size, "%s/spreg-edit-%s-XXXXXX.yaml",
	    dir != NULL && dir[0] != '\0' ? dir : "/tmp", sp->id);
	int fd = mkstemps(path, 5);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (f == NULL) {
		fprintf(stderr, "spreg: edit: %s: %s\n", path, strerror(errno));
		if (fd >= 0) {
			close(fd);
			unlink(path);
		}
		return CLI_EXIT_USAGE;
	}
	fprintf(f, "# spreg edit %s, at revision %llu. Change what you need "
	           "and save;\n# it is written back only if nobody changed "
	           "it meanwhile. Leave it\n# unchanged to cancel. Lines "
	           "starting with '#' are ignored.\n", sp->id,
	    (unsigned long long) sp->revision);
	bool ok = cli_yaml_write(&sp->base, f);
	if (fclose(f) != 0 || !ok) {
		fprintf(stderr, "spreg: edit: %s: cannot be written\n", path);
		unlink(path);
		return CLI_EXIT_USAGE;
	}
	return 0;
}

int
cmd_edit(cli *c)
{
	static const cli_spec spec = {NULL, 1, 1,
	    "Opens the subprocessor as YAML ('spreg get ID --yaml') in $VISUAL\n"
	    "or $EDITOR (default vi) and writes it back with the revision it\n"
	    "was read at, as 'put --expected-revision'. Nothing is written\n"
	    "when the file is left unchanged, does not parse, or names\n"
	    "another id (exit 1), or when someone changed the subprocessor\n"
	    "meanwhile (FAILED_PRECONDITION, exit 3); then the edited file is\n"
	    "kept and named, to try again. With --json: the reply as one\n"
	    "JSON object.\n"};
	Spreg__V1__GetSubprocessorRequest req =
	    SPREG__V1__GET_SUBPROCESSOR_REQUEST__INIT;
	Spreg__V1__Subprocessor *edited = NULL;
	ProtobufCMessage *msg = NULL;
	char path[4096] = "";
	char *before = NULL, *after = NULL;
	size_t before_len, after_len;
	bool keep = false;
	int rc;

	if ((rc = cli_parse(c, &spec)) != CLI_CONTINUE) {
		return rc;
	}
	req.id = (char *) cli_arg(c, 0);
	if ((rc = cli_call(c, "GetSubprocessor", &req.base,
	         &spreg__v1__get_subprocessor_response__descriptor, &msg)) !=
	    0) {
		return rc;
	}
	const Spreg__V1__Subprocessor *sp =
	    ((Spreg__V1__GetSubprocessorResponse *) msg)->subprocessor;
	if (sp == NULL) {
		rc = print_one(c, sp, false);
		goto cleanup;
	}
	if ((rc = edit_file_write(sp, path, sizeof(path))) != 0) {
		path[0] = '\0';
		goto cleanup;
	}
	if ((rc = cli_read_file(path, &before, &before_len)) != 0 ||
	    (rc = run_editor(path)) != 0 ||
	    (rc = cli_read_file(path, &after, &after_len)) != 0) {
		goto cleanup;
	}
	if (after_len == before_len && memcmp(before, after, after_len) == 0) {
		fprintf(stderr, "spreg: edit: no change; nothing written\n");
		goto cleanup;
	}
	keep = true;
	if ((rc = vendor_read(path, &edited)) != 0) {
		goto cleanup;
	}
	if (strcmp(edited->id, sp->id) != 0) {
		fprintf(stderr, "spreg: edit: id: the file names '%s', not "
		    "'%s'; nothing changed (rename with put and retire)\n",
		    edited->id, sp->id);
		rc = CLI_EXIT_USAGE;
		goto cleanup;
	}
	if ((rc = put(c, edited, sp->revision, false, NULL)) == 0) {
		keep = false;
	}
cleanup:
	if (keep) {
		fprintf(stderr, "spreg: edit: your edit is kept in %s\n", path);
	} else if (path[0] != '\0') {
		unlink(path);
	}
	if (edited != NULL) {
		protobuf_c_message_free_unpacked(&edited->base, NULL);
	}
	free(before);
	free(after);
	spreg_message_free(msg);
	return rc;
}

int
cmd_retire(cli *c)
{
	static const cli_option options[] = {
		{"effective-until", CLI_DATE, "DATE",
		    "the day it stops being in use, YYYY-MM-DD\n"
		    "(default today, UTC)", 0, 0},
		{"expected-revision", CLI_NUMBER, "N",
		    "fail unless the stored revision is N", 1, UINT64_MAX},
		{NULL, CLI_FLAG, NULL, NULL, 0, 0},
	};
	static const cli_spec spec = {options, 1, 1,
	    "With --json: the reply (subprocessor and change) as one JSON\n"
	    "object.\n"};
	Spreg__V1__RetireSubprocessorRequest req =
	    SPREG__V1__RETIRE_SUBPROCESSOR_REQUEST__INIT;
	ProtobufCMessage *msg;
	int rc;

	if ((rc = cli_parse(c, &spec)) != CLI_CONTINUE) {
		return rc;
	}
	req.id = (char *) cli_arg(c, 0);
	req.effective_until = cli_text(c, "effective-until");
	req.expected_revision = cli_opt_u64(c, "expected-revision", 0);
	if ((rc = cli_call(c, "RetireSubprocessor", &req.base,
	         &spreg__v1__retire_subprocessor_response__descriptor, &msg)) !=
	    0) {
		return rc;
	}
	const Spreg__V1__RetireSubprocessorResponse *resp = (const void *) msg;
	if (cli_json(c)) {
		rc = cli_print_json(msg, false);
	} else {
		vendor_print_write(req.id, resp->subprocessor ?
		    resp->subprocessor->revision : 0, resp->change);
	}
	spreg_message_free(msg);
	return rc;
}

/* ---- diff ------------------------------------------------------------------ */

/* Every subprocessor on a date, in id order, each its own copy. */
typedef struct snapshot {
	Spreg__V1__Subprocessor **items;
	size_t n;
} snapshot;

static void
snapshot_fini(snapshot *snap)
{
	for (size_t i = 0; i < snap->n; i++) {
		protobuf_c_message_free_unpacked(&snap->items[i]->base, NULL);
	}
	free(snap->items);
}

/* A copy that outlives its page: packed and read back. */
static Spreg__V1__Subprocessor *
sp_copy(const Spreg__V1__Subprocessor *sp)
{
	size_t len = protobuf_c_message_get_packed_size(&sp->base);
	uint8_t *buf = malloc(len ? len : 1);
	Spreg__V1__Subprocessor *copy = NULL;

	if (buf != NULL) {
		protobuf_c_message_pack(&sp->base, buf);
		copy = spreg__v1__subprocessor__unpack(NULL, len, buf);
	}
	free(buf);
	return copy;
}

static int
snapshot_page(void *ctx, const ProtobufCMessage *msg)
{
	snapshot *snap = ctx;
	const Spreg__V1__ListSubprocessorsResponse *resp = (const void *) msg;
	Spreg__V1__Subprocessor **grown = realloc(snap->items,
	    (snap->n + resp->n_subprocessors + 1) * sizeof(*grown));

	if (grown == NULL) {
		return cli_out_of_memory();
	}
	snap->items = grown;
	for (size_t i = 0; i < resp->n_subprocessors; i++) {
		if ((snap->items[snap->n] = sp_copy(resp->subprocessors[i])) ==
		    NULL) {
			return cli_out_of_memory();
		}
		snap->n++;
	}
	return 0;
}

static int
snapshot_fetch(cli *c, const char *as_of, snapshot *snap)
{
	Spreg__V1__ListSubprocessorsRequest req =
	    SPREG__V1__LIST_SUBPROCESSORS_REQUEST__INIT;

	req.as_of = (char *) as_of;
	return cli_pages(c, "ListSubprocessors", &req.base,
	    &spreg__v1__list_subprocessors_response__descriptor, 0,
	    snapshot_page, snap);
}

/* The fields that differ between two revisions, as "name,locations". */
static int
diff_fields(const Spreg__V1__Subprocessor *a,
    const Spreg__V1__Subprocessor *b, char *buf, size_t size)
{
	const ProtobufCMessageDescriptor *d = a->base.descriptor;

	buf[0] = '\0';
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		if (strcmp(f->name, "revision") == 0 ||
		    strcmp(f->name, "updated_at") == 0 ||
		    strcmp(f->name, "updated_by") == 0) {
			continue;
		}
		/* Compare the field alone: pack a copy holding only it. */
		Spreg__V1__Subprocessor x = SPREG__V1__SUBPROCESSOR__INIT;
		Spreg__V1__Subprocessor y = SPREG__V1__SUBPROCESSOR__INIT;
		size_t len = f->label == PROTOBUF_C_LABEL_REPEATED ||
		        f->type == PROTOBUF_C_TYPE_STRING ||
		        f->type == PROTOBUF_C_TYPE_MESSAGE ? sizeof(void *) :
		    f->type == PROTOBUF_C_TYPE_UINT64 ? 8 : 4;
		memcpy((char *) &x + f->offset, (const char *) a + f->offset,
		    len);
		memcpy((char *) &y + f->offset, (const char *) b + f->offset,
		    len);
		if (f->quantifier_offset != 0) {
			memcpy((char *) &x + f->quantifier_offset,
			    (const char *) a + f->quantifier_offset,
			    sizeof(size_t));
			memcpy((char *) &y + f->quantifier_offset,
			    (const char *) b + f->quantifier_offset,
			    sizeof(size_t));
		}
		size_t nx = protobuf_c_message_get_packed_size(&x.base);
		size_t ny = protobuf_c_message_get_packed_size(&y.base);
		bool same = nx == ny;
		if (same && nx > 0) {
			uint8_t *px = malloc(nx), *py = malloc(ny);
			if (px == NULL || py == NULL) {
				free(px);
				free(py);
				return cli_out_of_memory();
			}
			protobuf_c_message_pack(&x.base, px);
			protobuf_c_message_pack(&y.base, py);
			same = memcmp(px, py, nx) == 0;
			free(px);
			free(py);
		}
		if (!same) {
			cli_list_add(buf, size, f->name);
		}
	}
	return 0;
}

static int
diff_row(const cli *c, table *t, const char *what,
    const Spreg__V1__Subprocessor *sp, const char *fields)
{
	if (t != NULL) {
		const char *row[] = {what, sp->id, sp->name, fields};
		return table_row_add(t, row) ? 0 : cli_out_of_memory();
	}
	(void) c;
	json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "change", what, "id",
	    sp->id, "name", sp->name, "fields", fields);
	char *line = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (line == NULL) {
		return cli_out_of_memory();
	}
	puts(line);
	free(line);
	return 0;
}

int
cmd_diff(cli *c)
{
	static const cli_spec spec = {NULL, 2, 2,
	    "WHEN is a date (YYYY-MM-DD) or a moment (RFC 3339), as for\n"
	    "'list --as-of'.\n"
	    "\nColumns: CHANGE (added, changed, removed), ID, NAME, FIELDS\n"
	    "(those that differ). With --json: JSON Lines.\n"};
	static const char *const headers[] = {"CHANGE", "ID", "NAME",
	    "FIELDS"};
	snapshot from = {NULL, 0}, to = {NULL, 0};
	table *t = NULL;
	int rc;

	if ((rc = cli_parse(c, &spec)) != CLI_CONTINUE) {
		return rc;
	}
	if ((rc = snapshot_fetch(c, cli_arg(c, 0), &from)) != 0 ||
	    (rc = snapshot_fetch(c, cli_arg(c, 1), &to)) != 0) {
		goto cleanup;
	}
	if (!cli_json(c)) {
		if ((t = table_create(4, headers)) == NULL) {
			rc = cli_out_of_memory();
			goto cleanup;
		}
		table_column_keep(t, 1);
	}
	size_t i = 0, j = 0;
	while (rc == 0 && (i < from.n || j < to.n)) {
		int order = i == from.n ? 1 : j == to.n ? -1 :
		    strcmp(from.items[i]->id, to.items[j]->id);
		char fields[512] = "";
		if (order < 0) {
			rc = diff_row(c, t, "removed", from.items[i++], "");
		} else if (order > 0) {
			rc = diff_row(c, t, "added", to.items[j++], "");
		} else {
			rc = diff_fields(from.items[i], to.items[j], fields,
			    sizeof(fields));
			if (rc == 0 && fields[0] != '\0') {
				rc = diff_row(c, t, "changed", to.items[j],
				    fields);
			}
			i++;
			j++;
		}
	}
	if (rc == 0 && t != NULL) {
		cli_table_print(c, t);
	}
cleanup:
	table_destroy(t);
	snapshot_fini(&from);
	snapshot_fini(&to);
	return rc;
}
