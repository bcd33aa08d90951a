/*
 * Webhooks (service spreg.v1.Delivery): webhook add, list, pause,
 * resume, remove, test.
 */
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "spreg/v1/delivery.pb-c.h"

#define SECRET_MAX 256

static const char *
state_name(Spreg__V1__WebhookState s)
{
	return s == SPREG__V1__WEBHOOK_STATE__WEBHOOK_STATE_PAUSED ? "paused" :
	                                                             "active";
}

/* The secret file's first line, without its line end. */
static int
secret_read(const char *path, char *out, size_t len)
{
	char *text;
	size_t n;
	int rc;

	if ((rc = cli_read_file(path, &text, &n)) != 0) {
		return rc;	/* said on stderr, naming the file */
	}
	text[strcspn(text, "\r\n")] = '\0';
	if (text[0] == '\0' || strlen(text) >= len) {
		fprintf(stderr, "spreg: %s: %s\n", path, text[0] == '\0' ?
		    "empty: no secret in it" : "too long for a secret");
		free(text);
		return CLI_EXIT_USAGE;
	}
	snprintf(out, len, "%s", text);
	free(text);
	return 0;
}

int
cmd_webhook_add(cli *c)
{
	static const cli_option options[] = {
		{"customer", CLI_TEXT, "ID", "the customer told (required)", 0,
		    0},
		{"secret-file", CLI_TEXT, "F",
		    "the signing secret, \"whsec_\" and base64,\n"
		    "on F's first line (default: the server\n"
		    "makes one and prints it once)", 0, 0},
		{NULL, CLI_FLAG, NULL, NULL, 0, 0},
	};
	static const cli_spec spec = {options, 1, 1,
	    "URL is http:// or https:// (certificates verified). Every change\n"
	    "that concerns the customer from now on is POSTed to it, in seq\n"
	    "order, as proto3 JSON with Standard Webhooks headers\n"
	    "(webhook-id, webhook-timestamp, webhook-signature). A secret the\n"
	    "server made is printed alone on standard output, this once.\n"};
	Spreg__V1__AddWebhookRequest req = SPREG__V1__ADD_WEBHOOK_REQUEST__INIT;
	ProtobufCMessage *msg;
	char secret[SECRET_MAX] = "";
	int rc;

	if ((rc = cli_parse(c, &spec)) != CLI_CONTINUE) {
		return rc;
	}
	if (cli_opt(c, "customer") == NULL) {
		return cli_usage_error(c, "webhook add needs --customer ID");
	}
	if (cli_opt(c, "secret-file") != NULL &&
	    (rc = secret_read(cli_opt(c, "secret-file"), secret,
	         sizeof(secret))) != 0) {
		return rc;
	}
	req.customer_id = (char *) cli_opt(c, "customer");
	req.url = (char *) cli_arg(c, 0);
	req.secret = secret;
	rc = cli_call(c, "spreg.v1.Delivery/AddWebhook", &req.base,
	    &spreg__v1__add_webhook_response__descriptor, &msg);
	memset(secret, 0, sizeof(secret));
	if (rc != 0) {
		return rc;
	}
	const Spreg__V1__Webhook *h =
	    ((const Spreg__V1__AddWebhookResponse *) msg)->webhook;
	if (cli_json(c)) {
		rc = cli_print_json(msg, false);
	} else {
		fprintf(stderr, "added webhook %s for customer %s: %s\n", h->id,
		    h->customer_id, h->url);
		if (cli_opt(c, "secret-file") == NULL) {
			fprintf(stderr, "its signing secret is shown this "
			                "once:\n");
			printf("%s\n", h->secret);
		}
	}
	spreg_message_free(msg);
	return rc;
}

int
cmd_webhook_list(cli *c)
{
	static const cli_option options[] = {
		{"customer", CLI_TEXT, "ID", "only customer ID's", 0, 0},
		{NULL, CLI_FLAG, NULL, NULL, 0, 0},
	};
	static const cli_spec spec = {options, 0, 0,
	    "Columns: ID, CUSTOMER, STATE, DELIVERED (last seq acknowledged),\n"
	    "PENDING (deliveries waiting), LAG (seqs behind the log), STATUS\n"
	    "(of the last attempt), FAILING_SINCE, ERROR (the last one), URL.\n"
	    "With --json: JSON Lines, one webhook per line.\n"};
	static const char *const headers[] = {"ID", "CUSTOMER", "STATE",
	    "DELIVERED", "PENDING", "LAG", "STATUS", "FAILING_SINCE", "ERROR",
	    "URL"};
	Spreg__V1__ListWebhooksRequest req =
	    SPREG__V1__LIST_WEBHOOKS_REQUEST__INIT;
	ProtobufCMessage *msg;
	table *t = NULL;
	int rc;

	if ((rc = cli_parse(c, &spec)) != CLI_CONTINUE) {
		return rc;
	}
	req.customer_id = (char *) cli_text(c, "customer");
	if ((rc = cli_call(c, "spreg.v1.Delivery/ListWebhooks", &req.base,
	         &spreg__v1__list_webhooks_response__descriptor, &msg)) != 0) {
		return rc;
	}
	const Spreg__V1__ListWebhooksResponse *resp = (const void *) msg;
	rc = cli_rows_begin(c, 10, headers, &t);
	table_column_keep(t, 0);
	for (size_t i = 0; i < resp->n_webhooks && rc == 0; i++) {
		const Spreg__V1__Webhook *h = resp->webhooks[i];
		char delivered[24], pending[24], lag[24], status[16];
		snprintf(delivered, sizeof(delivered), "%llu",
		    (unsigned long long) h->delivered_seq);
		snprintf(pending, sizeof(pending), "%llu",
		    (unsigned long long) h->pending);
		snprintf(lag, sizeof(lag), "%llu", (unsigned long long) h->lag);
		snprintf(status, sizeof(status), "%u", h->last_status);
		const char *cells[] = {h->id, h->customer_id,
		    state_name(h->state), delivered, pending, lag,
		    h->last_status ? status : "", h->failing_since,
		    h->last_error, h->url};
		rc = cli_rows_add(t, &h->base, cells);
	}
	spreg_message_free(msg);
	return cli_rows_end(c, t, rc);
}

/* pause, resume and test: one id, one webhook back. */
static int
one_webhook(cli *c, const char *what, bool test, bool resume)
{
	static const cli_spec spec = {NULL, 1, 1, NULL};
	ProtobufCMessage *msg;
	int rc;

	if ((rc = cli_parse(c, &spec)) != CLI_CONTINUE) {
		return rc;
	}
	if (test) {
		Spreg__V1__TestWebhookRequest req =
		    SPREG__V1__TEST_WEBHOOK_REQUEST__INIT;
		req.id = (char *) cli_arg(c, 0);
		rc = cli_call(c, "spreg.v1.Delivery/TestWebhook", &req.base,
		    &spreg__v1__test_webhook_response__descriptor, &msg);
	} else {
		Spreg__V1__PauseWebhookRequest req =
		    SPREG__V1__PAUSE_WEBHOOK_REQUEST__INIT;
		req.id = (char *) cli_arg(c, 0);
		req.resume = resume;
		rc = cli_call(c, "spreg.v1.Delivery/PauseWebhook", &req.base,
		    &spreg__v1__pause_webhook_response__descriptor, &msg);
	}
	if (rc != 0) {
		return rc;
	}
	/* Both responses hold the webhook as field 1. */
	const Spreg__V1__Webhook *h =
	    ((const Spreg__V1__PauseWebhookResponse *) msg)->webhook;
	if (cli_json(c)) {
		rc = cli_print_json(msg, false);
	} else {
		printf("%s webhook %s (%s, %llu pending)\n", what, h->id,
		    state_name(h->state), (unsigned long long) h->pending);
	}
	spreg_message_free(msg);
	return rc;
}

int
cmd_webhook_pause(cli *c)
{
	return one_webhook(c, "paused", false, false);
}

int
cmd_webhook_resume(cli *c)
{
	return one_webhook(c, "resumed", false, true);
}

int
cmd_webhook_test(cli *c)
{
	return one_webhook(c, "queued a test delivery (seq 0) to", true,
	    false);
}

int
cmd_webhook_remove(cli *c)
{
	static const cli_spec spec = {NULL, 1, 1,
	    "What the webhook was still owed is dropped with it.\n"};
	Spreg__V1__RemoveWebhookRequest req =
	    SPREG__V1__REMOVE_WEBHOOK_REQUEST__INIT;
	ProtobufCMessage *msg;
	int rc;

	if ((rc = cli_parse(c, &spec)) != CLI_CONTINUE) {
		return rc;
	}
	req.id = (char *) cli_arg(c, 0);
	if ((rc = cli_call(c, "spreg.v1.Delivery/RemoveWebhook", &req.base,
	         &spreg__v1__remove_webhook_response__descriptor, &msg)) != 0) {
		return rc;
	}
	if (cli_json(c)) {
		rc = cli_print_json(msg, false);
	} else {
		printf("removed webhook %s (%llu pending deliveries dropped)\n",
		    req.id, (unsigned long long)
		    ((const Spreg__V1__RemoveWebhookResponse *) msg)->dropped);
	}
	spreg_message_free(msg);
	return rc;
}
