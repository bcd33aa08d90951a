/*
 * The server side of the spreg command's framework (see cli.h): the
 * token, the connection (opened on the first call, once), calls and
 * their exit codes, and paging in the server's page size.
 */
#include <stdlib.h>
#include <string.h>

#include "cli/cli_private.h"
#include "spreg/v1/registry.pb-c.h"

/* ---- the server ----------------------------------------------------- */

int
cli_token(cli *c, const char **token_out)
{
	const cli_value *file = cli_global(c, "token-file");

	if (!c->token_resolved) {
		if (spreg_token_resolve(file->set ? file->text : NULL, c->token,
		        sizeof(c->token)) != SPREG_OK) {
			const char *f = file->set ? file->text :
			    getenv("SPREG_TOKEN_FILE");
			return f != NULL ?
			    cli_usage_error(c, "token file '%s': cannot be "
			        "read or holds no token", f) :
			    cli_usage_error(c, "$SPREG_TOKEN: longer than a "
			        "token");
		}
		c->token_resolved = true;
	}
	*token_out = c->token;
	return 0;
}

static int connect_once(cli *c);

/* Connects once; a failure is reported once and remembered. */
static int
connect_server(cli *c)
{
	if (c->client == NULL && c->connect_rc == 0) {
		c->connect_rc = connect_once(c);
	}
	return c->connect_rc;
}

static int
connect_once(cli *c)
{
	bool tls = strncmp(c->server, "tls+", 4) == 0;
	const char *token;
	spreg_status st;
	int rc;

	if ((c->tls.cert_file == NULL) != (c->tls.key_file == NULL)) {
		return cli_usage_error(c, "--tls-cert and --tls-key go "
		                          "together");
	}
	if ((rc = cli_token(c, &token)) != 0) {
		return rc;
	}
	st = spreg_client_open_tls(c->server, &c->tls, false, &c->client);
	if (st != SPREG_OK && strncmp(c->server, "file://", 7) == 0) {
		fprintf(stderr, "spreg: cannot read %s: %s\n", c->server,
		    spreg_client_error(NULL));
		return CLI_EXIT_CONNECT;
	}
	if (st == SPREG_INVALID_ARGUMENT) {
		fprintf(stderr, tls ?
		    "spreg: --server '%s': not an nng URL, or a --tls-ca, "
		    "--tls-cert or --tls-key file is not readable PEM\n" :
		    "spreg: --server: '%s' is not an nng URL\n", c->server);
		return CLI_EXIT_USAGE;
	}
	if (st != SPREG_OK) {
		fprintf(stderr, "spreg: cannot reach server at %s: %s\n",
		    c->server, st == SPREG_UNAUTHENTICATED ?
		    "TLS handshake failed (server not trusted: see --tls-ca; "
		    "or our certificate refused: see --tls-cert)" :
		    st == SPREG_UNAVAILABLE ?
		    (tls ? "no TLS server is listening there, or it "
		           "closed the connection (does it require a client "
		           "certificate? see --tls-cert)" :
		           "no server is listening there") :
		    spreg_status_name(st));
		return CLI_EXIT_CONNECT;
	}
	spreg_client_set_timeout(c->client, c->timeout_ms);
	spreg_client_set_token(c->client, token);
	return 0;
}

int
cli_exit_code(spreg_status st)
{
	switch (st) {
	case SPREG_OK:
		return 0;
	case SPREG_NOT_FOUND:
		return CLI_EXIT_NOT_FOUND;
	case SPREG_UNAVAILABLE:
	case SPREG_DEADLINE_EXCEEDED:
		return CLI_EXIT_CONNECT;
	case SPREG_UNAUTHENTICATED:
	case SPREG_PERMISSION_DENIED:
		return CLI_EXIT_DENIED;
	default:
		return CLI_EXIT_SERVER;
	}
}

int
cli_call(cli *c, const char *method, const ProtobufCMessage *req,
    const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp_out)
{
	int rc;

	if (c->client == NULL && (rc = connect_server(c)) != 0) {
		return rc;
	}
	spreg_status st = spreg_call(c->client, method, req, resp_desc,
	    resp_out);
	if (st == SPREG_OK) {
		return 0;
	}
	if (st == SPREG_UNAVAILABLE || st == SPREG_DEADLINE_EXCEEDED) {
		fprintf(stderr, "spreg: cannot reach server at %s: %s\n",
		    c->server, spreg_client_error(c->client));
	} else {
		fprintf(stderr, "spreg: %s: %s\n", spreg_status_name(st),
		    spreg_client_error(c->client));
	}
	if (st == SPREG_UNAUTHENTICATED && c->token[0] == '\0') {
		fprintf(stderr, "(no token given: use --token-file FILE, "
		                "$SPREG_TOKEN or $SPREG_TOKEN_FILE)\n");
	}
	return cli_exit_code(st);
}

void
cli_timeout_at_least(cli *c, int ms)
{
	if (c->timeout_given || c->timeout_ms >= ms) {
		return;
	}
	c->timeout_ms = ms;
	if (c->client != NULL) {
		spreg_client_set_timeout(c->client, ms);
	}
}

spreg_status
cli_call_quiet(cli *c, const char *method, const ProtobufCMessage *req,
    const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp_out)
{
	if (c->client == NULL && connect_server(c) != 0) {
		return SPREG_UNAVAILABLE;
	}
	return spreg_call(c->client, method, req, resp_desc, resp_out);
}

uint32_t
cli_page_size(cli *c)
{
	Spreg__V1__ServerInfoRequest req = SPREG__V1__SERVER_INFO_REQUEST__INIT;
	ProtobufCMessage *msg;

	if (c->page_asked) {
		return c->page_size;
	}
	c->page_asked = true;
	if (connect_server(c) == 0 &&
	    spreg_call(c->client, "ServerInfo", &req.base,
	        &spreg__v1__server_info_response__descriptor, &msg) ==
	        SPREG_OK) {
		c->page_size =
		    ((Spreg__V1__ServerInfoResponse *) msg)->max_page_size;
		spreg_message_free(msg);
	}
	return c->page_size;	/* 0: the server's default */
}

/* The field's place in the message; the descriptor says it is there. */
static void *
field_at(const ProtobufCMessage *m, const char *name,
    ProtobufCType type, size_t **count_out)
{
	const ProtobufCFieldDescriptor *f =
	    protobuf_c_message_descriptor_get_field_by_name(m->descriptor, name);

	if (f == NULL || f->type != type) {
		fprintf(stderr, "spreg: BUG: %s has no field %s\n",
		    m->descriptor->name, name);
		abort();
	}
	if (count_out != NULL) {
		*count_out = (size_t *) ((char *) m + f->quantifier_offset);
	}
	return (char *) m + f->offset;
}

/* True when no repeated field of m has an entry. */
static bool
page_empty(const ProtobufCMessage *m)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;

	for (unsigned i = 0; i < d->n_fields; i++) {
		if (d->fields[i].label == PROTOBUF_C_LABEL_REPEATED &&
		    *(const size_t *) ((const char *) m +
		        d->fields[i].quantifier_offset) > 0) {
			return false;
		}
	}
	return true;
}

int
cli_pages(cli *c, const char *method, ProtobufCMessage *req,
    const ProtobufCMessageDescriptor *resp_desc, uint32_t page_size,
    int (*page)(void *ctx, const ProtobufCMessage *resp), void *ctx)
{
	uint32_t *size = field_at(req, "page_size", PROTOBUF_C_TYPE_UINT32,
	    NULL);
	char **token_field = field_at(req, "page_token",
	    PROTOBUF_C_TYPE_STRING, NULL);
	char *token = NULL;
	int rc;

	*size = page_size != 0 ? page_size : cli_page_size(c);
	do {
		ProtobufCMessage *resp;
		*token_field = token != NULL ? token : (char *) "";
		if ((rc = cli_call(c, method, req, resp_desc, &resp)) != 0) {
			break;
		}
		rc = page(ctx, resp);
		free(token);
		token = NULL;
		const char *next = *(char **) field_at(resp, "next_page_token",
		    PROTOBUF_C_TYPE_STRING, NULL);
		/* An empty page ends the walk even with a token: never loop
		 * on a confused reply. */
		if (rc == 0 && next[0] != '\0' && !page_empty(resp) &&
		    (token = strdup(next)) == NULL) {
			rc = cli_out_of_memory();
		}
		spreg_message_free(resp);
	} while (rc == 0 && token != NULL);
	free(token);
	*token_field = (char *) "";
	return rc == CLI_STOP ? 0 : rc;
}

const char *
cli_last_error(const cli *c)
{
	return c->client != NULL ? spreg_client_error(c->client) : NULL;
}
