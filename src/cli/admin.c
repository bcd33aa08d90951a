/*
 * Access tokens (service spreg.v1.Admin): token create, list, revoke,
 * and whoami.
 */
#include <string.h>

#include "cli/commands.h"
#include "core/vocab.h"
#include "spreg/v1/admin.pb-c.h"

#define ROLE_BUF 96

/* "reader", "editor", "admin" or "customer:ID". */
static const char *
role_text(const Spreg__V1__Token *t, char *buf)
{
	if (t->role == SPREG__V1__ROLE__CUSTOMER) {
		snprintf(buf, ROLE_BUF, "customer:%s", t->customer_id);
		return buf;
	}
	const char *name = vocab_role_name(t->role);
	return name != NULL ? name : cli_enum_name(
	    &spreg__v1__role__descriptor, (int) t->role, true, buf, ROLE_BUF);
}

static bool
role_parse(const char *text, Spreg__V1__CreateTokenRequest *req)
{
	if (vocab_staff_role_find(text, &req->role)) {
		return true;
	}
	if (strncmp(text, "customer:", 9) != 0 || text[9] == '\0') {
		return false;
	}
	req->role = SPREG__V1__ROLE__CUSTOMER;
	req->customer_id = (char *) text + 9;
	return true;
}

int
cmd_token_create(cli *c)
{
	static const cli_option options[] = {
		{"role", CLI_TEXT, "ROLE",
		    "reader (queries, assessments, exports), editor\n"
		    "(also writes), admin (also tokens), or\n"
		    "customer:ID (what concerns customer ID; may\n"
		    "object for it)", 0, 0},
		{"name", CLI_TEXT, "NAME", "a name to list and revoke it by",
		    0, 0},
		{NULL, CLI_FLAG, NULL, NULL, 0, 0},
	};
	static const cli_spec spec = {options, 0, 0,
	    "Prints the secret once, alone on standard output: 'spreg token\n"
	    "create ... > FILE' keeps it in FILE, for --token-file FILE. The\n"
	    "server keeps only a salted hash of it. With --json: the reply\n"
	    "(token and secret) as one JSON object.\n"};
	Spreg__V1__CreateTokenRequest req =
	    SPREG__V1__CREATE_TOKEN_REQUEST__INIT;
	ProtobufCMessage *msg;
	char role[ROLE_BUF];
	int rc;

	if ((rc = cli_parse(c, &spec)) != CLI_CONTINUE) {
		return rc;
	}
	if (cli_opt(c, "role") != NULL && !role_parse(cli_opt(c, "role"),
	                                       &req)) {
		return cli_usage_error(c, "--role: reader, editor, admin or "
		    "customer:ID, not '%s'", cli_opt(c, "role"));
	}
	req.name = cli_text(c, "name");
	if (req.role == SPREG__V1__ROLE__ROLE_UNSPECIFIED ||
	    req.name[0] == '\0') {
		return cli_usage_error(c, "token create needs --role and "
		                          "--name");
	}
	if ((rc = cli_call(c, "spreg.v1.Admin/CreateToken", &req.base,
	         &spreg__v1__create_token_response__descriptor, &msg)) != 0) {
		return rc;
	}
	const Spreg__V1__CreateTokenResponse *resp = (const void *) msg;
	if (cli_json(c)) {
		rc = cli_print_json(msg, false);
	} else {
		/* The secret alone on stdout, so that '> FILE' keeps it. */
		fprintf(stderr, "created token '%s' (%s, id %s); its secret is "
		    "shown this once:\n", resp->token->name,
		    role_text(resp->token, role), resp->token->id);
		printf("%s\n", resp->secret);
	}
	spreg_message_free(msg);
	return rc;
}

int
cmd_token_list(cli *c)
{
	static const cli_option options[] = {
		{"all", CLI_FLAG, NULL, "the revoked tokens too", 0, 0},
		{NULL, CLI_FLAG, NULL, NULL, 0, 0},
	};
	static const cli_spec spec = {options, 0, 0,
	    "Columns: NAME, ROLE, ID, CREATED, BY, REVOKED. No secret or hash\n"
	    "is shown. With --json: JSON Lines, one token per line.\n"};
	static const char *const headers[] = {"NAME", "ROLE", "ID", "CREATED",
	    "BY", "REVOKED"};
	Spreg__V1__ListTokensRequest req = SPREG__V1__LIST_TOKENS_REQUEST__INIT;
	ProtobufCMessage *msg;
	table *t = NULL;
	char role[ROLE_BUF];
	int rc;

	if ((rc = cli_parse(c, &spec)) != CLI_CONTINUE) {
		return rc;
	}
	req.include_revoked = cli_flag(c, "all");
	if ((rc = cli_call(c, "spreg.v1.Admin/ListTokens", &req.base,
	         &spreg__v1__list_tokens_response__descriptor, &msg)) != 0) {
		return rc;
	}
	const Spreg__V1__ListTokensResponse *resp = (const void *) msg;
	rc = cli_rows_begin(c, 6, headers, &t);
	table_column_keep(t, 0);
	table_column_keep(t, 2);
	for (size_t i = 0; i < resp->n_tokens && rc == 0; i++) {
		const Spreg__V1__Token *k = resp->tokens[i];
		const char *cells[] = {k->name, role_text(k, role), k->id,
		    k->created_at, k->created_by, k->revoked_at};
		rc = cli_rows_add(t, &k->base, cells);
	}
	spreg_message_free(msg);
	return cli_rows_end(c, t, rc);
}

int
cmd_token_revoke(cli *c)
{
	static const cli_spec spec = {NULL, 1, 1,
	    "NAME is the token's name or id. The token is refused from the\n"
	    "next request on; the last admin token cannot be revoked.\n"};
	Spreg__V1__RevokeTokenRequest req =
	    SPREG__V1__REVOKE_TOKEN_REQUEST__INIT;
	ProtobufCMessage *msg;
	int rc;

	if ((rc = cli_parse(c, &spec)) != CLI_CONTINUE) {
		return rc;
	}
	req.name = (char *) cli_arg(c, 0);
	if ((rc = cli_call(c, "spreg.v1.Admin/RevokeToken", &req.base,
	         &spreg__v1__revoke_token_response__descriptor, &msg)) != 0) {
		return rc;
	}
	const Spreg__V1__RevokeTokenResponse *resp = (const void *) msg;
	if (cli_json(c)) {
		rc = cli_print_json(msg, false);
	} else {
		printf("revoked token '%s' at %s\n", resp->token->name,
		    resp->token->revoked_at);
	}
	spreg_message_free(msg);
	return rc;
}

int
cmd_whoami(cli *c)
{
	static const cli_spec spec = {NULL, 0, 0,
	    "With --json: one JSON object.\n"};
	Spreg__V1__WhoAmIRequest req = SPREG__V1__WHO_AM_IREQUEST__INIT;
	ProtobufCMessage *msg;
	char role[ROLE_BUF];
	int rc;

	if ((rc = cli_parse(c, &spec)) != CLI_CONTINUE ||
	    (rc = cli_call(c, "spreg.v1.Admin/WhoAmI", &req.base,
	         &spreg__v1__who_am_iresponse__descriptor, &msg)) != 0) {
		return rc;
	}
	const Spreg__V1__WhoAmIResponse *resp = (const void *) msg;
	if (cli_json(c)) {
		rc = cli_print_json(msg, false);
	} else {
		printf("token: %s\nrole: %s\n", resp->token->name,
		    role_text(resp->token, role));
		if (resp->insecure_local) {
			printf("server: --insecure-local (no token needed)\n");
		}
	}
	spreg_message_free(msg);
	return rc;
}
