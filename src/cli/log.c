/*
 * The change log (changes, watch), the taxonomy (categories, category
 * put) and the server (info, verify).
 */
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "core/pb.h"
#include "spreg/watch.h"

/* ---- changes ------------------------------------------------------------- */

/* The one thing a change is about: a vendor, else a customer. */
static const char *
change_subject(const Spreg__V1__Change *ch)
{
	return ch->subprocessor_id[0] != '\0' ? ch->subprocessor_id :
	    ch->customer_id[0] != '\0' ? ch->customer_id : "-";
}

static int
changes_row_add(table *t, const Spreg__V1__Change *ch)
{
	char seq[24], revision[48], kind[48], reason[64];

	snprintf(seq, sizeof(seq), "%llu", (unsigned long long) ch->seq);
	snprintf(revision, sizeof(revision), "%llu->%llu",
	    (unsigned long long) ch->old_revision,
	    (unsigned long long) ch->new_revision);
	/* An objection's reason names the change it is about. */
	snprintf(reason, sizeof(reason), ch->ref_seq ? "(to seq %llu) " : "",
	    (unsigned long long) ch->ref_seq);
	char *why = malloc(strlen(reason) + strlen(ch->reason) + 16);
	if (why == NULL) {
		return cli_out_of_memory();
	}
	sprintf(why, "%s%s%s", ch->emergency ? "emergency: " : "", reason,
	    ch->reason);
	const char *cells[] = {seq, ch->time,
	    vendor_kind_name(ch->kind, kind, sizeof(kind)),
	    ch->subprocessor_id, revision, ch->actor, ch->customer_id,
	    ch->kind == CHANGE_ANNOUNCED ? ch->effective_at : "", why};
	int rc = cli_rows_add(t, &ch->base, cells);
	free(why);
	return rc;
}

int
cmd_changes(cli *c)
{
	static const cli_option options[] = {
		{"since", CLI_NUMBER, "N",
		    "only changes after seq N (default 0: all)", 0, UINT64_MAX},
		{"limit", CLI_NUMBER, "N",
		    "at most N changes (default: through the newest)", 1,
		    UINT32_MAX},
		{"customer", CLI_TEXT, "ID",
		    "only the changes concerning customer ID", 0, 0},
		{"subprocessor", CLI_TEXT, "ID",
		    "only the changes to subprocessor ID", 0, 0},
		{NULL, CLI_FLAG, NULL, NULL, 0, 0},
	};
	static const cli_spec spec = {options, 0, 0,
	    "Columns: SEQ, TIME, KIND, SUBPROCESSOR, REVISION (old->new),\n"
	    "ACTOR; then CUSTOMER, EFFECTIVE (an announcement's date) and\n"
	    "REASON (of an objection, a withdrawal or an emergency) when a\n"
	    "change listed has them. With --json: JSON Lines, one change per\n"
	    "line.\n"};
	static const char *const headers[] = {"SEQ", "TIME", "KIND",
	    "SUBPROCESSOR", "REVISION", "ACTOR", "CUSTOMER", "EFFECTIVE",
	    "REASON"};
	Spreg__V1__ListChangesRequest req =
	    SPREG__V1__LIST_CHANGES_REQUEST__INIT;
	table *t = NULL;
	uint64_t shown = 0, limit;
	bool more = true;
	int rc;

	if ((rc = cli_parse(c, &spec)) != CLI_CONTINUE) {
		return rc;
	}
	if (cli_opt(c, "customer") != NULL &&
	    cli_opt(c, "subprocessor") != NULL) {
		return cli_usage_error(c, "give --customer or --subprocessor, "
		                          "not both");
	}
	req.since_seq = cli_opt_u64(c, "since", 0);
	req.customer_id = cli_text(c, "customer");
	req.subprocessor_id = cli_text(c, "subprocessor");
	limit = cli_opt_u64(c, "limit", 0);
	rc = cli_rows_begin(c, 9, headers, &t);
	table_column_keep(t, 3);	/* subprocessor id */
	for (size_t col = 6; col < 9; col++) {
		table_column_optional(t, col);
	}
	uint32_t page = cli_page_size(c);
	while (rc == 0 && more) {
		ProtobufCMessage *msg;
		req.limit = page;
		if (limit != 0 && (page == 0 || limit - shown < page)) {
			req.limit = (uint32_t) (limit - shown);
		}
		if ((rc = cli_call(c, "ListChanges", &req.base,
		         &spreg__v1__list_changes_response__descriptor, &msg)) !=
		    0) {
			break;
		}
		const Spreg__V1__ListChangesResponse *resp = (const void *) msg;
		uint64_t since = req.since_seq;
		for (size_t i = 0; i < resp->n_changes && rc == 0 &&
		     (limit == 0 || shown < limit); i++, shown++) {
			const Spreg__V1__Change *ch = resp->changes[i];
			rc = changes_row_add(t, ch);
			since = ch->seq;
		}
		if (resp->next_since_seq > since) {
			since = resp->next_since_seq;
		}
		/* Stop at the newest, at the limit, or if the server stops
		 * moving forward (never loop on a confused reply). */
		more = since > req.since_seq && since < resp->last_seq &&
		    (limit == 0 || shown < limit);
		req.since_seq = since;
		spreg_message_free(msg);
	}
	return cli_rows_end(c, t, rc);
}

/* ---- watch --------------------------------------------------------------- */

/* One line per change, the columns of the changes table at fixed
 * widths (a stream cannot be measured first). */
static void
watch_row_print(const Spreg__V1__Change *ch)
{
	char revision[48], kind[48];

	snprintf(revision, sizeof(revision), "%llu->%llu",
	    (unsigned long long) ch->old_revision,
	    (unsigned long long) ch->new_revision);
	printf("%-8llu  %-24s  %-12s  %-24s  %-9s  %s",
	    (unsigned long long) ch->seq, ch->time,
	    vendor_kind_name(ch->kind, kind, sizeof(kind)),
	    change_subject(ch), revision, ch->actor);
	if (ch->effective_at[0] != '\0') {
		printf("  effective %s", ch->effective_at);
	}
	if (ch->reason[0] != '\0') {
		printf("  reason: %s", ch->reason);
	}
	fputc('\n', stdout);
}

/* Says on stderr when the live stream falls silent (the log is polled
 * meanwhile) and when it is back; returns the state now. */
static bool
stream_report(const spreg_watch *w, bool was_polling)
{
	spreg_watch_stream s;

	spreg_watch_stream_get(w, &s);
	if (s.polling && !was_polling) {
		fprintf(stderr, "spreg: watch: no heartbeat from the server's "
		    "store on %s for %u ms%s; reading the log every %u ms "
		    "until the stream returns\n",
		    s.pub_url[0] != '\0' ? s.pub_url : "(no PUB URL)",
		    3 * s.heartbeat_ms, s.foreign > 0 ?
		    " (notifications of another store there were dropped)" : "",
		    s.heartbeat_ms);
	} else if (!s.polling && was_polling) {
		fprintf(stderr, "spreg: watch: the live stream on %s is "
		    "back\n", s.pub_url);
	}
	fflush(stderr);
	return s.polling;
}

int
cmd_watch(cli *c)
{
	static const cli_option options[] = {
		{"since", CLI_NUMBER, "N",
		    "changes after seq N (default 0: the whole\n"
		    "log first); to resume, the last seq printed", 0,
		    UINT64_MAX},
		{"customer", CLI_TEXT, "ID",
		    "only changes concerning customer ID", 0, 0},
		{"subprocessor", CLI_TEXT, "ID",
		    "only changes to subprocessor ID", 0, 0},
		{"pub", CLI_TEXT, "URL",
		    "spregd's notification URL (default:\n"
		    "$SPREG_PUB, else the one the server names)", 0, 0},
		{"count", CLI_NUMBER, "N",
		    "exit after N changes (default: run until\n"
		    "interrupted)", 1, UINT64_MAX},
		{NULL, CLI_FLAG, NULL, NULL, 0, 0},
	};
	static const cli_spec spec = {options, 0, 0,
	    "Every change is printed once, in seq order: notifications the\n"
	    "network drops are read from the log. Columns: SEQ, TIME, KIND,\n"
	    "SUBPROCESSOR (or customer), REVISION (old->new), ACTOR, then an\n"
	    "announcement's date and a reason when there is one. With\n"
	    "--json: JSON Lines, one change per line.\n"};
	spreg_watch_filter f = {NULL, NULL};
	const char *pub = getenv("SPREG_PUB");
	const char *token;
	spreg_watch *w = NULL;
	bool unreachable = false;
	int rc;

	if ((rc = cli_parse(c, &spec)) != CLI_CONTINUE) {
		return rc;
	}
	if (pub != NULL && pub[0] == '\0') {
		pub = NULL;	/* ServerInfo names it */
	}
	if (cli_opt(c, "pub") != NULL) {
		pub = cli_opt(c, "pub");
	}
	f.customer_id = cli_opt(c, "customer");
	f.subprocessor_id = cli_opt(c, "subprocessor");
	if (f.customer_id != NULL && f.subprocessor_id != NULL) {
		return cli_usage_error(c, "give --customer or --subprocessor, "
		                          "not both");
	}
	if ((rc = cli_token(c, &token)) != 0) {
		return rc;
	}
	uint64_t count = cli_opt_u64(c, "count", 0);	/* 0: until killed */
	spreg_watch_options wo = {cli_tls(c), token};
	spreg_status st = spreg_watch_open_with(cli_server(c), pub, &f,
	    cli_opt_u64(c, "since", 0), &wo, &w);
	if (st == SPREG_INVALID_ARGUMENT) {
		return cli_usage_error(c, "--server '%s' or --pub '%s' is not "
		    "an nng URL, or an id is too long", cli_server(c),
		    pub != NULL ? pub : "");
	}
	if (st != SPREG_OK) {
		fprintf(stderr, "spreg: watch: %s\n", spreg_status_name(st));
		return CLI_EXIT_CONNECT;
	}
	/* Runs until --count changes were printed, or until killed: the
	 * last seq printed is where to resume with --since. */
	bool polling = false;
	for (uint64_t shown = 0; count == 0 || shown < count;) {
		Spreg__V1__Change *ch = NULL;
		st = spreg_watch_next(w, 1000, &ch);
		polling = stream_report(w, polling);
		if (st == SPREG_DEADLINE_EXCEEDED) {
			continue;
		}
		if (st == SPREG_UNAVAILABLE) {
			if (!unreachable) {
				fprintf(stderr, "spreg: server at %s not "
				    "answering (%s); still trying\n",
				    cli_server(c), spreg_watch_error(w));
				unreachable = true;
			}
			continue;
		}
		if (st == SPREG_ABORTED) {
			/* Loud, and on: the changes after it follow. */
			fprintf(stderr, "spreg: watch: %s\n",
			    spreg_watch_error(w));
			fflush(stderr);
			continue;
		}
		if (st != SPREG_OK) {
			fprintf(stderr, "spreg: %s: %s\n", spreg_status_name(st),
			    spreg_watch_error(w));
			rc = cli_exit_code(st);
			break;
		}
		unreachable = false;
		if (cli_json(c)) {
			rc = cli_print_json(&ch->base, true);
		} else {
			watch_row_print(ch);
		}
		spreg_message_free(&ch->base);
		shown++;
		if (rc != 0 || fflush(stdout) != 0) {
			break;
		}
	}
	spreg_watch_close(w);
	return rc;
}

/* ---- categories -------------------------------------------------------------- */

int
cmd_categories(cli *c)
{
	static const cli_option options[] = {
		{"parent", CLI_TEXT, "K", "only K and the keys below it", 0, 0},
		{NULL, CLI_FLAG, NULL, NULL, 0, 0},
	};
	static const cli_spec spec = {options, 0, 0,
	    "Columns: KEY, NAME, SPECIAL (Art. 9/10 data), CUSTOM (added by a\n"
	    "user). With --json: JSON Lines, one category per line.\n"};
	static const char *const headers[] = {"KEY", "NAME", "SPECIAL",
	    "CUSTOM"};
	Spreg__V1__ListDataCategoriesRequest req =
	    SPREG__V1__LIST_DATA_CATEGORIES_REQUEST__INIT;
	ProtobufCMessage *msg;
	table *t = NULL;
	int rc;

	if ((rc = cli_parse(c, &spec)) != CLI_CONTINUE) {
		return rc;
	}
	req.parent = cli_text(c, "parent");
	if ((rc = cli_call(c, "ListDataCategories", &req.base,
	         &spreg__v1__list_data_categories_response__descriptor,
	         &msg)) != 0) {
		return rc;
	}
	const Spreg__V1__ListDataCategoriesResponse *resp = (const void *) msg;
	rc = cli_rows_begin(c, 4, headers, &t);
	table_column_keep(t, 0);
	for (size_t i = 0; i < resp->n_categories && rc == 0; i++) {
		const Spreg__V1__DataCategory *dc = resp->categories[i];
		const char *cells[] = {dc->key, dc->name,
		    dc->special_category ? "yes" : "", dc->custom ? "yes" : ""};
		rc = cli_rows_add(t, &dc->base, cells);
	}
	spreg_message_free(msg);
	return cli_rows_end(c, t, rc);
}

int
cmd_category_put(cli *c)
{
	static const cli_option options[] = {
		{"name", CLI_TEXT, "NAME", "its name (required)", 0, 0},
		{"description", CLI_TEXT, "TEXT", "what it covers", 0, 0},
		{"special", CLI_FLAG, NULL,
		    "special-category data (GDPR Art. 9 / Art. 10);\n"
		    "a key under a special parent is special anyway", 0, 0},
		{NULL, CLI_FLAG, NULL, NULL, 0, 0},
	};
	static const cli_spec spec = {options, 1, 1,
	    "Adds or changes a user category KEY under an existing parent\n"
	    "(KEY without its last segment); shipped keys are fixed.\n"
	    "Prints 'put category KEY'. With --json: the category as one JSON\n"
	    "object.\n"};
	Spreg__V1__PutDataCategoryRequest req =
	    SPREG__V1__PUT_DATA_CATEGORY_REQUEST__INIT;
	Spreg__V1__DataCategory dc = SPREG__V1__DATA_CATEGORY__INIT;
	ProtobufCMessage *msg;
	char parent[256] = "";
	int rc;

	if ((rc = cli_parse(c, &spec)) != CLI_CONTINUE) {
		return rc;
	}
	if (cli_opt(c, "name") == NULL) {
		return cli_usage_error(c, "category put needs --name");
	}
	dc.key = (char *) cli_arg(c, 0);
	const char *dot = strrchr(dc.key, '.');
	if (dot != NULL && (size_t) (dot - dc.key) < sizeof(parent)) {
		memcpy(parent, dc.key, (size_t) (dot - dc.key));
	}
	dc.parent = parent;
	dc.name = cli_text(c, "name");
	dc.description = cli_text(c, "description");
	dc.special_category = cli_flag(c, "special");
	req.category = &dc;
	if ((rc = cli_call(c, "PutDataCategory", &req.base,
	         &spreg__v1__put_data_category_response__descriptor, &msg)) !=
	    0) {
		return rc;
	}
	const Spreg__V1__PutDataCategoryResponse *resp = (const void *) msg;
	if (cli_json(c)) {
		rc = resp->category ? cli_print_json(&resp->category->base,
		    false) : 0;
	} else {
		printf("put category %s under %s%s\n", dc.key, parent,
		    resp->category && resp->category->special_category ?
		    " (special category)" : "");
	}
	spreg_message_free(msg);
	return rc;
}

/* ---- the server ----------------------------------------------------------- */

int
cmd_info(cli *c)
{
	static const cli_spec spec = {NULL, 0, 0,
	    "With --json: one JSON object, with the server's limits.\n"};
	Spreg__V1__ServerInfoRequest req = SPREG__V1__SERVER_INFO_REQUEST__INIT;
	ProtobufCMessage *msg;
	int rc;

	if ((rc = cli_parse(c, &spec)) != CLI_CONTINUE ||
	    (rc = cli_call(c, "ServerInfo", &req.base,
	         &spreg__v1__server_info_response__descriptor, &msg)) != 0) {
		return rc;
	}
	const Spreg__V1__ServerInfoResponse *info = (const void *) msg;
	if (cli_json(c)) {
		rc = cli_print_json(msg, false);
	} else {
		printf("server: %s\n", cli_server(c));
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
		printf("store_id: %s\n", info->store_id);
		for (size_t i = 0; i < info->n_publish_urls; i++) {
			printf("publish: %s\n", info->publish_urls[i]);
		}
		if (info->n_publish_urls > 0) {
			printf("heartbeat_ms: %u\n",
			    (unsigned) info->heartbeat_ms);
		}
		if (info->read_only) {
			printf("read_only: %s\n", info->read_only_reason);
		}
	}
	spreg_message_free(msg);
	return rc;
}

int
cmd_verify(cli *c)
{
	static const cli_spec spec = {NULL, 0, 0,
	    "Walks the log from seq 1, recomputing each entry's hash from the\n"
	    "previous one, checks each recorded revision against the digest\n"
	    "its change carries, and each current record against its newest\n"
	    "revision. Reports the first entry or record that does not match;\n"
	    "exit status 6 when one does. With --json: one JSON object.\n"};
	Spreg__V1__VerifyLogRequest req = SPREG__V1__VERIFY_LOG_REQUEST__INIT;
	ProtobufCMessage *msg;
	int rc;

	if ((rc = cli_parse(c, &spec)) != CLI_CONTINUE ||
	    (rc = cli_call(c, "VerifyLog", &req.base,
	         &spreg__v1__verify_log_response__descriptor, &msg)) != 0) {
		return rc;
	}
	const Spreg__V1__VerifyLogResponse *v = (const void *) msg;
	if (cli_json(c)) {
		rc = cli_print_json(msg, false);
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
		rc = CLI_EXIT_TAMPERED;
	}
	spreg_message_free(msg);
	return rc;
}
