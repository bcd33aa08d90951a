/*
 * GDPR Art. 28(2) from the command line: customers and the notice they
 * are owed, announced changes, their withdrawal, and objections.
 */
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/yaml.h"
#include "core/date.h"
#include "core/pb.h"

/* ---- customers ------------------------------------------------------------ */

static void
customer_print(const Spreg__V1__Customer *cu)
{
	printf("id: %s\n", cu->id);
	printf("name: %s\n", cu->name);
	printf("services: ");
	for (size_t i = 0; i < cu->n_services; i++) {
		printf("%s%s", i ? ", " : "", cu->services[i]);
	}
	printf("\nregime: %s\n", cu->regime);
	printf("notice_days: %u\n", (unsigned) cu->notice_days);
	for (size_t i = 0; i < cu->n_contacts; i++) {
		printf("contact: %s\n", cu->contacts[i]);
	}
	printf("revision: %llu\n", (unsigned long long) cu->revision);
	printf("updated_at: %s\n", cu->updated_at);
	printf("updated_by: %s\n", cu->updated_by);
}

int
cmd_customer_put(cli *c)
{
	static const cli_option options[] = {
		{"expected-revision", CLI_NUMBER, "N",
		    "fail unless the stored revision is N", 1, UINT64_MAX},
		{NULL, CLI_FLAG, NULL, NULL, 0, 0},
	};
	static const cli_spec spec = {options, 1, 1,
	    "FILE holds one customer as JSON or YAML ('-': standard input):\n"
	    "id, name, services (ours it uses), regime (EU, UK or CH),\n"
	    "notice_days (0 or absent: 30), contacts (e-mail addresses).\n"
	    "Prints 'customer-updated ID revision N (change seq S)'. With\n"
	    "--json: the reply (customer and change) as one JSON object.\n"};
	Spreg__V1__PutCustomerRequest req =
	    SPREG__V1__PUT_CUSTOMER_REQUEST__INIT;
	ProtobufCMessage *in, *msg;
	int rc;

	if ((rc = cli_parse(c, &spec)) != CLI_CONTINUE ||
	    (rc = cli_read_message(cli_arg(c, 0),
	         &spreg__v1__customer__descriptor, "customer", &in)) != 0) {
		return rc;
	}
	req.customer = (Spreg__V1__Customer *) in;
	cli_upper(req.customer->regime);
	req.expected_revision = cli_opt_u64(c, "expected-revision", 0);
	if ((rc = cli_call(c, "PutCustomer", &req.base,
	         &spreg__v1__put_customer_response__descriptor, &msg)) == 0) {
		const Spreg__V1__PutCustomerResponse *resp = (const void *) msg;
		if (cli_json(c)) {
			rc = cli_print_json(msg, false);
		} else {
			vendor_print_write(req.customer->id, resp->customer ?
			    resp->customer->revision : 0, resp->change);
		}
		spreg_message_free(msg);
	}
	protobuf_c_message_free_unpacked(in, NULL);
	return rc;
}

int
cmd_customer_get(cli *c)
{
	static const cli_option options[] = {
		{"yaml", CLI_FLAG, NULL,
		    "print YAML that 'customer put' reads back", 0, 0},
		{NULL, CLI_FLAG, NULL, NULL, 0, 0},
	};
	static const cli_spec spec = {options, 1, 1,
	    "Prints \"key: value\" lines. With --json: one JSON object.\n"};
	Spreg__V1__GetCustomerRequest req =
	    SPREG__V1__GET_CUSTOMER_REQUEST__INIT;
	ProtobufCMessage *msg;
	int rc;

	if ((rc = cli_parse(c, &spec)) != CLI_CONTINUE) {
		return rc;
	}
	req.id = (char *) cli_arg(c, 0);
	if ((rc = cli_call(c, "GetCustomer", &req.base,
	         &spreg__v1__get_customer_response__descriptor, &msg)) != 0) {
		return rc;
	}
	const Spreg__V1__Customer *cu =
	    ((Spreg__V1__GetCustomerResponse *) msg)->customer;
	if (cu == NULL) {
		fprintf(stderr, "spreg: INTERNAL: reply without a customer\n");
		rc = CLI_EXIT_SERVER;
	} else if (cli_flag(c, "yaml")) {
		rc = cli_yaml_write(&cu->base, stdout) ? 0 :
		    cli_out_of_memory();
	} else if (cli_json(c)) {
		rc = cli_print_json(&cu->base, false);
	} else {
		customer_print(cu);
	}
	spreg_message_free(msg);
	return rc;
}

static int
customer_page(void *ctx, const ProtobufCMessage *msg)
{
	table *t = ctx;
	const Spreg__V1__ListCustomersResponse *resp = (const void *) msg;

	int rc = 0;

	for (size_t i = 0; i < resp->n_customers && rc == 0; i++) {
		const Spreg__V1__Customer *cu = resp->customers[i];
		char services[512] = "", notice[16];
		for (size_t j = 0; j < cu->n_services; j++) {
			cli_list_add(services, sizeof(services),
			    cu->services[j]);
		}
		snprintf(notice, sizeof(notice), "%u",
		    (unsigned) cu->notice_days);
		const char *cells[] = {cu->id, cu->name, cu->regime, notice,
		    services};
		rc = cli_rows_add(t, &cu->base, cells);
	}
	return rc;
}

int
cmd_customer_list(cli *c)
{
	static const cli_spec spec = {NULL, 0, 0,
	    "Columns: ID, NAME, REGIME, NOTICE_DAYS, SERVICES. A customer\n"
	    "token sees itself. With --json: JSON Lines.\n"};
	static const char *const headers[] = {"ID", "NAME", "REGIME",
	    "NOTICE_DAYS", "SERVICES"};
	Spreg__V1__ListCustomersRequest req =
	    SPREG__V1__LIST_CUSTOMERS_REQUEST__INIT;
	table *t = NULL;
	int rc;

	if ((rc = cli_parse(c, &spec)) != CLI_CONTINUE ||
	    (rc = cli_rows_begin(c, 5, headers, &t)) != 0) {
		return rc;
	}
	table_column_keep(t, 0);
	rc = cli_pages(c, "ListCustomers", &req.base,
	    &spreg__v1__list_customers_response__descriptor, 0, customer_page,
	    t);
	return cli_rows_end(c, t, rc);
}

int
cmd_customer_delete(cli *c)
{
	static const cli_spec spec = {NULL, 1, 1,
	    "Prints 'customer-deleted ID (change seq S)'. Its objections stay\n"
	    "in the log. With --json: the reply as one JSON object.\n"};
	Spreg__V1__DeleteCustomerRequest req =
	    SPREG__V1__DELETE_CUSTOMER_REQUEST__INIT;
	ProtobufCMessage *msg;
	int rc;

	if ((rc = cli_parse(c, &spec)) != CLI_CONTINUE) {
		return rc;
	}
	req.id = (char *) cli_arg(c, 0);
	if ((rc = cli_call(c, "DeleteCustomer", &req.base,
	         &spreg__v1__delete_customer_response__descriptor, &msg)) !=
	    0) {
		return rc;
	}
	const Spreg__V1__DeleteCustomerResponse *resp = (const void *) msg;
	if (cli_json(c)) {
		rc = cli_print_json(msg, false);
	} else {
		printf("customer-deleted %s (change seq %llu)\n", req.id,
		    (unsigned long long) (resp->change ? resp->change->seq : 0));
	}
	spreg_message_free(msg);
	return rc;
}

int
cmd_customer_feed_key(cli *c)
{
	static const cli_option options[] = {
		{"rotate", CLI_FLAG, NULL,
		    "make a new key; the old one stops working at once", 0, 0},
		{NULL, CLI_FLAG, NULL, NULL, 0, 0},
	};
	static const cli_spec spec = {options, 1, 1,
	    "Prints 'key: KEY' and 'feed: /customers/ID/changes.atom?key=KEY',\n"
	    "the customer's private Atom feed on spregd's HTTP port (a\n"
	    "capability URL: whoever has it reads that feed, nothing else).\n"
	    "The key is derived from the server's secret, never stored.\n"
	    "With --json: the reply as one JSON object.\n"};
	Spreg__V1__GetFeedKeyRequest get = SPREG__V1__GET_FEED_KEY_REQUEST__INIT;
	Spreg__V1__RotateFeedKeyRequest rot =
	    SPREG__V1__ROTATE_FEED_KEY_REQUEST__INIT;
	ProtobufCMessage *msg;
	int rc;

	if ((rc = cli_parse(c, &spec)) != CLI_CONTINUE) {
		return rc;
	}
	bool rotate = cli_flag(c, "rotate");
	get.customer_id = rot.customer_id = (char *) cli_arg(c, 0);
	if ((rc = cli_call(c, rotate ? "RotateFeedKey" : "GetFeedKey",
	         rotate ? &rot.base : &get.base,
	         &spreg__v1__get_feed_key_response__descriptor, &msg)) != 0) {
		return rc;
	}
	const Spreg__V1__GetFeedKeyResponse *resp = (const void *) msg;
	if (cli_json(c)) {
		rc = cli_print_json(msg, false);
	} else {
		printf("key: %s\nfeed: %s\n", resp->key, resp->feed_path);
	}
	spreg_message_free(msg);
	return rc;
}

/* ---- announcements ---------------------------------------------------------- */

/* The vendor as it stands, retired on day: for 'announce --retire'.
 * *msg holds it; *until is the field's own string, to put back before
 * *msg is freed. */
static int
retirement(cli *c, const char *id, const char *day, ProtobufCMessage **msg,
    Spreg__V1__Subprocessor **sp_out, char **until)
{
	Spreg__V1__GetSubprocessorRequest req =
	    SPREG__V1__GET_SUBPROCESSOR_REQUEST__INIT;
	int rc;

	req.id = (char *) id;
	if ((rc = cli_call(c, "GetSubprocessor", &req.base,
	         &spreg__v1__get_subprocessor_response__descriptor, msg)) !=
	    0) {
		return rc;
	}
	Spreg__V1__Subprocessor *sp =
	    ((Spreg__V1__GetSubprocessorResponse *) *msg)->subprocessor;
	if (sp == NULL) {
		fprintf(stderr, "spreg: INTERNAL: reply without a "
		                "subprocessor\n");
		return CLI_EXIT_SERVER;
	}
	sp->status = SP_STATUS_RETIRED;
	*until = sp->effective_until;
	sp->effective_until = (char *) day;
	*sp_out = sp;
	return 0;
}

int
cmd_announce(cli *c)
{
	static const cli_option options[] = {
		{"effective", CLI_DATE, "DATE",
		    "the day the change takes effect (required)", 0, 0},
		{"retire", CLI_TEXT, "ID",
		    "announce the retirement of subprocessor ID\n"
		    "(instead of FILE)", 0, 0},
		{"emergency", CLI_TEXT, "REASON",
		    "an emergency replacement: less notice than\n"
		    "owed, the reason recorded in the log", 0, 0},
		{"expected-revision", CLI_NUMBER, "N",
		    "fail unless the stored revision is N", 1, UINT64_MAX},
		{NULL, CLI_FLAG, NULL, NULL, 0, 0},
	};
	static const cli_spec spec = {options, 0, 1,
	    "FILE holds the subprocessor as it will be on DATE (JSON or YAML,\n"
	    "as for put; '-': standard input). Every customer using one of its\n"
	    "services, before or after, is owed its notice_days: a DATE\n"
	    "sooner is refused (FAILED_PRECONDITION, exit 3) naming the\n"
	    "customer owed the longest notice and the earliest date allowed.\n"
	    "Until DATE a new vendor is listed as proposed; on DATE the server\n"
	    "applies the change. Prints 'announced ID effective DATE (change\n"
	    "seq S)'; that seq is what customers object to and what 'spreg\n"
	    "withdraw' takes. With --json: the reply as one JSON object.\n"};
	Spreg__V1__AnnounceChangeRequest req =
	    SPREG__V1__ANNOUNCE_CHANGE_REQUEST__INIT;
	ProtobufCMessage *in = NULL, *got = NULL, *msg = NULL;
	const char *retire;
	char *until = NULL;
	int rc;

	if ((rc = cli_parse(c, &spec)) != CLI_CONTINUE) {
		return rc;
	}
	retire = cli_opt(c, "retire");
	if ((retire != NULL) == (cli_nargs(c) == 1)) {
		return cli_usage_error(c, "give FILE or --retire ID (one)");
	}
	if (cli_opt(c, "effective") == NULL) {
		return cli_usage_error(c, "announce needs --effective DATE");
	}
	req.effective_at = cli_text(c, "effective");
	req.emergency = cli_opt(c, "emergency") != NULL;
	req.reason = cli_text(c, "emergency");
	req.expected_revision = cli_opt_u64(c, "expected-revision", 0);
	rc = retire != NULL ?
	    retirement(c, retire, req.effective_at, &got, &req.subprocessor,
	        &until) :
	    vendor_read(cli_arg(c, 0), &req.subprocessor);
	if (rc != 0) {
		goto cleanup;
	}
	in = retire == NULL ? &req.subprocessor->base : NULL;
	/* A vendor announced for DATE is in effect from DATE. */
	if (in != NULL && req.subprocessor->effective_from[0] == '\0' &&
	    (req.subprocessor->effective_from = strdup(req.effective_at)) ==
	        NULL) {
		rc = cli_out_of_memory();
		goto cleanup;
	}
	if ((rc = cli_call(c, "AnnounceChange", &req.base,
	         &spreg__v1__announce_change_response__descriptor, &msg)) !=
	    0) {
		goto cleanup;
	}
	const Spreg__V1__AnnounceChangeResponse *resp = (const void *) msg;
	if (cli_json(c)) {
		rc = cli_print_json(msg, false);
	} else {
		printf("announced %s%s effective %s (change seq %llu)%s\n",
		    retire != NULL ? "the retirement of " : "",
		    req.subprocessor->id, req.effective_at,
		    (unsigned long long) (resp->change ? resp->change->seq : 0),
		    req.emergency ? ", an emergency" : "");
	}
cleanup:
	spreg_message_free(msg);
	if (until != NULL) {
		req.subprocessor->effective_until = until;
	}
	spreg_message_free(got);
	if (in != NULL) {
		protobuf_c_message_free_unpacked(in, NULL);
	}
	return rc;
}

static const char *
announcement_state(const Spreg__V1__Announcement *an)
{
	return an->withdrawn ? "withdrawn" : an->applied ? "applied" :
	                                                   "pending";
}

int
cmd_announcements(cli *c)
{
	static const cli_option options[] = {
		{"pending", CLI_FLAG, NULL,
		    "only those not yet applied or withdrawn", 0, 0},
		{"customer", CLI_TEXT, "ID",
		    "only those concerning customer ID", 0, 0},
		{NULL, CLI_FLAG, NULL, NULL, 0, 0},
	};
	static const cli_spec spec = {options, 0, 0,
	    "Columns: SEQ (of the announcement, to object to or withdraw),\n"
	    "EFFECTIVE, SUBPROCESSOR, STATUS (as it will be), STATE (pending,\n"
	    "applied, withdrawn), REASON (of an emergency). A customer token\n"
	    "sees those concerning its customer. With --json: JSON Lines.\n"};
	static const char *const headers[] = {"SEQ", "EFFECTIVE",
	    "SUBPROCESSOR", "STATUS", "STATE", "REASON"};
	Spreg__V1__ListAnnouncementsRequest req =
	    SPREG__V1__LIST_ANNOUNCEMENTS_REQUEST__INIT;
	ProtobufCMessage *msg;
	table *t = NULL;
	int rc;

	if ((rc = cli_parse(c, &spec)) != CLI_CONTINUE) {
		return rc;
	}
	req.include_applied = !cli_flag(c, "pending");
	req.customer_id = cli_text(c, "customer");
	if ((rc = cli_call(c, "ListAnnouncements", &req.base,
	         &spreg__v1__list_announcements_response__descriptor, &msg)) !=
	    0) {
		return rc;
	}
	const Spreg__V1__ListAnnouncementsResponse *resp = (const void *) msg;
	rc = cli_rows_begin(c, 6, headers, &t);
	table_column_keep(t, 2);
	for (size_t i = 0; i < resp->n_announcements && rc == 0; i++) {
		const Spreg__V1__Announcement *an = resp->announcements[i];
		const Spreg__V1__Subprocessor *sp = an->subprocessor;
		char seq[24], status[32] = "";
		snprintf(seq, sizeof(seq), "%llu", (unsigned long long) an->seq);
		if (sp != NULL) {
			cli_enum_name(&spreg__v1__subprocessor_status__descriptor,
			    (int) sp->status, true, status, sizeof(status));
		}
		const char *cells[] = {seq, an->effective_at,
		    sp ? sp->id : "", status, announcement_state(an),
		    an->reason};
		rc = cli_rows_add(t, &an->base, cells);
	}
	spreg_message_free(msg);
	return cli_rows_end(c, t, rc);
}

/* SEQ of a change in the log. */
static int
seq_arg(const cli *c, uint64_t *out)
{
	const char *text = cli_arg(c, 0);
	char *end;

	if (text[0] < '1' || text[0] > '9' ||
	    (*out = strtoull(text, &end, 10), *end != '\0')) {
		return cli_usage_error(c, "SEQ: '%s' is not a change seq "
		    "(a whole number from 1)", text);
	}
	return CLI_CONTINUE;
}

int
cmd_withdraw(cli *c)
{
	static const cli_option options[] = {
		{"reason", CLI_TEXT, "TEXT",
		    "why it is taken back (required; recorded)", 0, 0},
		{NULL, CLI_FLAG, NULL, NULL, 0, 0},
	};
	static const cli_spec spec = {options, 1, 1,
	    "Takes back announcement SEQ before its effective date: it never\n"
	    "applies. Logged and published as a 'withdrawn' change; objections\n"
	    "to it stay on record. An unknown SEQ is NOT_FOUND (exit 2); one\n"
	    "applied, withdrawn or due is FAILED_PRECONDITION (exit 3). Prints\n"
	    "'withdrew announcement SEQ (change seq S)'. With --json: the reply\n"
	    "as one JSON object.\n"};
	Spreg__V1__WithdrawAnnouncementRequest req =
	    SPREG__V1__WITHDRAW_ANNOUNCEMENT_REQUEST__INIT;
	ProtobufCMessage *msg;
	int rc;

	if ((rc = cli_parse(c, &spec)) != CLI_CONTINUE ||
	    (rc = seq_arg(c, &req.change_seq)) != CLI_CONTINUE) {
		return rc;
	}
	if (cli_opt(c, "reason") == NULL) {
		return cli_usage_error(c, "withdraw needs --reason TEXT");
	}
	req.reason = cli_text(c, "reason");
	if ((rc = cli_call(c, "WithdrawAnnouncement", &req.base,
	         &spreg__v1__withdraw_announcement_response__descriptor,
	         &msg)) != 0) {
		return rc;
	}
	const Spreg__V1__WithdrawAnnouncementResponse *resp =
	    (const void *) msg;
	if (cli_json(c)) {
		rc = cli_print_json(msg, false);
	} else {
		printf("withdrew announcement %llu (change seq %llu)\n",
		    (unsigned long long) req.change_seq,
		    (unsigned long long) (resp->change ? resp->change->seq : 0));
	}
	spreg_message_free(msg);
	return rc;
}

/* ---- objections ------------------------------------------------------------ */

int
cmd_object(cli *c)
{
	static const cli_option options[] = {
		{"reason", CLI_TEXT, "TEXT", "why (recorded)", 0, 0},
		{"customer", CLI_TEXT, "ID",
		    "the customer objecting; a customer token\n"
		    "objects for its own and need not name it", 0, 0},
		{NULL, CLI_FLAG, NULL, NULL, 0, 0},
	};
	static const cli_spec spec = {options, 1, 1,
	    "Objects to announcement SEQ while its notice runs. After its\n"
	    "effective date, FAILED_PRECONDITION (exit 3); twice,\n"
	    "ALREADY_EXISTS (exit 3); an unknown SEQ or customer, NOT_FOUND\n"
	    "(exit 2). Prints 'objected to change SEQ for CUSTOMER (change\n"
	    "seq S)'. With --json: the reply as one JSON object.\n"};
	Spreg__V1__ObjectToChangeRequest req =
	    SPREG__V1__OBJECT_TO_CHANGE_REQUEST__INIT;
	ProtobufCMessage *msg;
	int rc;

	if ((rc = cli_parse(c, &spec)) != CLI_CONTINUE ||
	    (rc = seq_arg(c, &req.change_seq)) != CLI_CONTINUE) {
		return rc;
	}
	req.reason = cli_text(c, "reason");
	req.customer_id = cli_text(c, "customer");
	if ((rc = cli_call(c, "ObjectToChange", &req.base,
	         &spreg__v1__object_to_change_response__descriptor, &msg)) !=
	    0) {
		return rc;
	}
	const Spreg__V1__ObjectToChangeResponse *resp = (const void *) msg;
	if (cli_json(c)) {
		rc = cli_print_json(msg, false);
	} else {
		printf("objected to change %llu for %s (change seq %llu)\n",
		    (unsigned long long) req.change_seq,
		    resp->objection ? resp->objection->customer_id : "",
		    (unsigned long long) (resp->change ? resp->change->seq : 0));
	}
	spreg_message_free(msg);
	return rc;
}

int
cmd_objections(cli *c)
{
	static const cli_option options[] = {
		{"change", CLI_NUMBER, "SEQ", "the objections to announcement SEQ",
		    1, UINT64_MAX},
		{"customer", CLI_TEXT, "ID", "the objections of customer ID", 0,
		    0},
		{NULL, CLI_FLAG, NULL, NULL, 0, 0},
	};
	static const cli_spec spec = {options, 0, 0,
	    "Give --change, --customer or both (a customer token: its own).\n"
	    "Columns: SEQ (of the objection), CHANGE, CUSTOMER, TIME, ACTOR,\n"
	    "REASON. With --json: JSON Lines.\n"};
	static const char *const headers[] = {"SEQ", "CHANGE", "CUSTOMER",
	    "TIME", "ACTOR", "REASON"};
	Spreg__V1__ListObjectionsRequest req =
	    SPREG__V1__LIST_OBJECTIONS_REQUEST__INIT;
	ProtobufCMessage *msg;
	table *t = NULL;
	int rc;

	if ((rc = cli_parse(c, &spec)) != CLI_CONTINUE) {
		return rc;
	}
	req.change_seq = cli_opt_u64(c, "change", 0);
	req.customer_id = cli_text(c, "customer");
	if ((rc = cli_call(c, "ListObjections", &req.base,
	         &spreg__v1__list_objections_response__descriptor, &msg)) !=
	    0) {
		return rc;
	}
	const Spreg__V1__ListObjectionsResponse *resp = (const void *) msg;
	rc = cli_rows_begin(c, 6, headers, &t);
	table_column_keep(t, 2);
	for (size_t i = 0; i < resp->n_objections && rc == 0; i++) {
		const Spreg__V1__Objection *ob = resp->objections[i];
		char seq[24], change[24];
		snprintf(seq, sizeof(seq), "%llu", (unsigned long long) ob->seq);
		snprintf(change, sizeof(change), "%llu",
		    (unsigned long long) ob->change_seq);
		const char *cells[] = {seq, change, ob->customer_id, ob->time,
		    ob->actor, ob->reason};
		rc = cli_rows_add(t, &ob->base, cells);
	}
	spreg_message_free(msg);
	return cli_rows_end(c, t, rc);
}
