/*
 * The HTTP server: GNU libmicrohttpd, one access handler for every path
 * and method, so routing, 404 and 405 are ours and answer in JSON. A
 * read is answered in the handler, on one of POLL_THREADS threads (an
 * LMDB read does not block, as in net/server.c); a write suspends its
 * connection, goes to the RPC server's writer thread and is answered
 * from there after its commit (the connection resumed).
 *
 * Why libmicrohttpd rather than nng's HTTP server, which this replaced:
 * nng 1.5.2's server owns its listener and has no timeouts and no hook
 * to count, time or close a connection, so a client sending its
 * request a byte at a time, or never reading the answer, held a
 * connection (a file descriptor) for good, and enough of them took the
 * port. libmicrohttpd tells us of each connection and request (the
 * notify and URI callbacks), takes its own listening socket from us,
 * and suspends and resumes a connection for the writer.
 *
 * What bounds one client (http_limits; README "HTTP"):
 * - connections in all and per peer address: counted in a net_conns
 *   table as on the RPC port, decided when a connection is reported;
 *   one over a limit is shut down at once, unread (not libmicrohttpd's
 *   own limits: they count per listener and thread, and log neither the
 *   peer nor the flag);
 * - whole deadlines, not inactivity: the request line and headers
 *   within header_timeout of the connection or of the previous
 *   response, the body within body_timeout of the headers, the response
 *   taken within send_timeout. The reaper thread shuts a connection
 *   past its deadline down (shutdown(2)); libmicrohttpd then sees it end
 *   and closes it. A request being answered has no deadline;
 * - memory: HTTP_CONN_MEMORY a connection (its request line and headers
 *   fit there), a body of at most HTTP_BODY_MAX (a longer
 *   Content-Length is refused 400 before it is read);
 * - HTTP_WORKERS requests answered at once (then 503 with Retry-After),
 *   the request target's length and parameter count, and page sizes
 *   bounded by the RPC limits.
 */
#include <microhttpd.h>
#include <gnutls/gnutls.h>
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/date.h"
#include "core/log.h"
#include "core/pbjson.h"
#include "core/validate.h"
#include "http/internal.h"
#include "net/conns.h"

#define URL_MAX 512
#define URLS_MAX 16
/* libmicrohttpd's threads per listener, each polling its share of the
 * connections (epoll) and answering their reads. */
#define POLL_THREADS 4

typedef struct hworker {
	rpc_worker *rpc;
	Spreg__V1__Reply reply;
	net_write write;
	http_req *r;
	struct hworker *next_free;
} hworker;

/* Where a connection is, for its deadline. */
typedef enum conn_phase {
	PHASE_IDLE,	/* new, or after a response: no request line yet */
	PHASE_HEADERS,	/* a request line, the headers not all in */
	PHASE_BODY,	/* the headers in, the body not */
	PHASE_RUN,	/* being answered: the server's time, no deadline */
	PHASE_SEND,	/* the response not yet all taken */
} conn_phase;

/* One connection, from libmicrohttpd's notice that it opened to the one
 * that it closed (its socket context). Under the server's mu. */
typedef struct hconn {
	uint32_t id;		/* in the net_conns table; 0: refused */
	int fd;
	conn_phase phase;
	int64_t deadline_ms;	/* monotonic; 0: none */
	bool shut;		/* shut down: libmicrohttpd will close it */
	bool verified;		/* its client certificate was checked */
	char who[INET6_ADDRSTRLEN];
	struct hconn *prev, *next;
} hconn;

typedef enum body_state {
	BODY_OK,
	BODY_TOO_LONG,		/* answered 400, the rest unread */
	BODY_NO_MEMORY,
} body_state;

/* One request, from its request line to its completion (the request
 * context libmicrohttpd hands the handler). */
struct http_exchange {
	http_server *srv;
	struct MHD_Connection *conn;
	hconn *hc;
	char *uri;		/* the request target as sent */
	char *body;
	size_t body_len;
	body_state body_state;
	bool started;		/* the headers were seen */
	bool routed;		/* handed to the routes */
	/* Under the server's mu: a write waiting for its commit, and the
	 * response made and not yet queued. */
	bool suspended;
	struct MHD_Response *resp;
	unsigned status;
};

typedef struct listener {
	http_server *srv;
	struct MHD_Daemon *daemon;
	bool https;
	char url[URL_MAX];
} listener;

struct http_server {
	rpc_server *rpc;
	net_server *writer;
	http_limits lim;
	listener listeners[URLS_MAX];
	size_t nurls;
	char *tls_cert, *tls_key, *tls_ca;	/* PEM, for https:// */
	net_conns *conns;	/* the connection limits */
	pthread_mutex_t mu;
	pthread_cond_t cv;	/* busy went down */
	pthread_cond_t reaper_cv;	/* stopping */
	hconn *open;		/* every connection reported open */
	uint32_t next_id;
	pthread_t reaper;
	bool reaper_started;
	hworker workers[HTTP_WORKERS];
	hworker *free_list;
	size_t busy;		/* requests being answered */
	bool stopping;
	char mhd_said[256];	/* libmicrohttpd's last message */
	log_limit refused_log, timeout_log;
};

bool
http_url_ok(const char *url)
{
	return strncmp(url, "http://", 7) == 0 ||
	    strncmp(url, "https://", 8) == 0;
}

uint16_t
http_status_of(spreg_status st)
{
	/* google.rpc.Code -> HTTP, as in Google's API design guide. */
	switch (st) {
	case SPREG_OK:
		return 200;
	case SPREG_CANCELLED:
		return 499;
	case SPREG_INVALID_ARGUMENT:
	case SPREG_FAILED_PRECONDITION:
	case SPREG_OUT_OF_RANGE:
		return 400;
	case SPREG_DEADLINE_EXCEEDED:
		return 504;
	case SPREG_NOT_FOUND:
		return 404;
	case SPREG_ALREADY_EXISTS:
	case SPREG_ABORTED:
		return 409;
	case SPREG_PERMISSION_DENIED:
		return 403;
	case SPREG_UNAUTHENTICATED:
		return 401;
	case SPREG_RESOURCE_EXHAUSTED:
		return 429;
	case SPREG_UNIMPLEMENTED:
		return 501;
	case SPREG_UNAVAILABLE:
		return 503;
	default:
		return 500;
	}
}

/* ---- responses ---------------------------------------------------------- */

static void
req_free(http_req *r)
{
	for (size_t i = 0; i < r->nparams; i++) {
		free(r->params[i].name);
		free(r->params[i].value);
	}
	if (r->out != NULL) {
		protobuf_c_message_free_unpacked(r->out, NULL);
	}
	free(r->target);
	free(r->owned);
	free(r);
}

static void
request_ended(http_server *s)
{
	pthread_mutex_lock(&s->mu);
	s->busy--;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

void
http_respond(http_req *r, uint16_t status, const char *content_type,
    const void *body, size_t len, const char *const *headers)
{
	http_exchange *ex = r->ex;
	http_server *s = r->srv;
	struct MHD_Response *resp = MHD_create_response_from_buffer(len,
	    (void *) body, MHD_RESPMEM_MUST_COPY);
	bool ok = resp != NULL &&
	    (content_type == NULL ||
	        MHD_add_response_header(resp, "Content-Type", content_type) ==
	            MHD_YES) &&
	    MHD_add_response_header(resp, "X-Content-Type-Options",
	        "nosniff") == MHD_YES;

	for (size_t i = 0; ok && headers != NULL && headers[i] != NULL &&
	     headers[i + 1] != NULL; i += 2) {
		ok = MHD_add_response_header(resp, headers[i], headers[i + 1]) ==
		    MHD_YES;
	}
	if (!ok && resp != NULL) {
		MHD_destroy_response(resp);
		resp = NULL;	/* the connection is closed unanswered */
	}
	req_free(r);
	pthread_mutex_lock(&s->mu);
	ex->resp = resp;
	ex->status = status;
	bool resume = ex->suspended;
	struct MHD_Connection *conn = ex->conn;
	pthread_mutex_unlock(&s->mu);
	/* A write's answer: the handler runs again and queues it, and may
	 * end ex before this returns. Then the request ends, so that
	 * http_stop never finds a connection still suspended. */
	if (resume) {
		MHD_resume_connection(conn);
	}
	request_ended(s);
}

void
http_respond_json(http_req *r, uint16_t status, json_t *body,
    const char *const *headers)
{
	char *text = body != NULL ? json_dumps(body, JSON_COMPACT) : NULL;
	size_t len = text != NULL ? strlen(text) : 0;
	/* A newline ends the body, as curl users expect. */
	char *line = text != NULL ? realloc(text, len + 2) : NULL;

	json_decref(body);
	if (line == NULL) {
		free(text);
		http_respond(r, 500, "text/plain; charset=utf-8",
		    "out of memory\n", 14, NULL);
		return;
	}
	memcpy(line + len, "\n", 2);
	http_respond(r, status, "application/json", line, len + 1, headers);
	free(line);
}

/* The field a message names first ("locations[0].country: ..."). */
static json_t *
field_of(const char *msg)
{
	size_t n = strcspn(msg, ": ");

	if (n == 0 || msg[n] != ':' || msg[n + 1] != ' ') {
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		char c = msg[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		        c == '_' || c == '.' || c == '[' || c == ']')) {
			return NULL;
		}
	}
	return json_stringn(msg, n);
}

/*
 * {"error": {"code": 404, "status": "NOT_FOUND", "message": "...",
 * "field": "id"}}, Google's JSON error shape. Every UNAUTHENTICATED gets
 * one body: a caller learns nothing of why a token was refused.
 */
static void
respond_status(http_req *r, spreg_status st, const char *msg)
{
	uint16_t status = http_status_of(st);
	const char *headers[] = {NULL, NULL, NULL};

	if (st == SPREG_UNAUTHENTICATED) {
		msg = "token: missing, not recognised or revoked";
	}
	json_t *error = json_pack("{s:i,s:s,s:s}", "code", (int) status,
	    "status", spreg_status_name(st), "message", msg);
	json_t *field = field_of(msg);
	if (error != NULL && field != NULL) {
		json_object_set(error, "field", field);
	}
	json_decref(field);
	if (st == SPREG_UNAUTHENTICATED) {
		headers[0] = "WWW-Authenticate";
		headers[1] = "Bearer realm=\"spreg\"";
	} else if (st == SPREG_UNAVAILABLE || st == SPREG_RESOURCE_EXHAUSTED) {
		headers[0] = "Retry-After";
		headers[1] = "1";
	}
	http_respond_json(r, status, error != NULL ?
	    json_pack("{s:o}", "error", error) : NULL, headers);
}

void
http_respond_error(http_req *r)
{
	respond_status(r, r->st, r->e.msg);
}

void
http_fail(http_req *r, spreg_status st, const char *fmt, ...)
{
	char msg[ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	respond_status(r, st, msg);
}

/* ---- calls into the rpc layer ------------------------------------------ */

static hworker *
worker_take(http_server *s)
{
	pthread_mutex_lock(&s->mu);
	hworker *w = s->free_list;
	if (w != NULL) {
		s->free_list = w->next_free;
	}
	pthread_mutex_unlock(&s->mu);
	return w;
}

static void
worker_give(http_server *s, hworker *w)
{
	rpc_worker_release(w->rpc);	/* its reply is taken or not needed */
	pthread_mutex_lock(&s->mu);
	w->next_free = s->free_list;
	s->free_list = w;
	pthread_mutex_unlock(&s->mu);
}

/* The reply in w is final: into r, and w back to the pool. */
static void
call_finish(http_req *r, hworker *w)
{
	const Spreg__V1__Reply *reply = &w->reply;

	r->st = (spreg_status) reply->code;
	if (r->st != SPREG_OK) {
		snprintf(r->e.msg, sizeof(r->e.msg), "%s", reply->message);
	} else if (r->out_desc != NULL) {
		r->out = protobuf_c_message_unpack(r->out_desc, NULL,
		    reply->payload.len, reply->payload.data);
		if (r->out == NULL) {
			r->st = err_set(&r->e, SPREG_INTERNAL,
			    "reply: not a %s", r->out_desc->name);
		}
	}
	worker_give(r->srv, w);
}

static void
written(net_write *wr)
{
	hworker *w = wr->arg;
	http_req *r = w->r;

	call_finish(r, w);
	if (r->done != NULL) {
		r->done(r);
	}
}

/* The method's descriptor, from the rpc layer's service table. */
static const ProtobufCMethodDescriptor *
method_of(const char *full)
{
	const char *slash = strchr(full, '/');

	if (slash == NULL) {
		return NULL;
	}
	for (size_t i = 0; rpc_services[i] != NULL; i++) {
		const ProtobufCServiceDescriptor *d = rpc_services[i]->desc;
		if (strlen(d->name) != (size_t) (slash - full) ||
		    strncmp(d->name, full, (size_t) (slash - full)) != 0) {
			continue;
		}
		for (unsigned j = 0; j < d->n_methods; j++) {
			if (strcmp(d->methods[j].name, slash + 1) == 0) {
				return &d->methods[j];
			}
		}
	}
	return NULL;
}

void
http_call(http_req *r, const char *method, const ProtobufCMessage *in,
    http_done_fn done)
{
	const ProtobufCMethodDescriptor *md = method_of(method);
	Spreg__V1__Request env = SPREG__V1__REQUEST__INIT;
	uint8_t *payload = NULL, *packed = NULL;

	if (r->out != NULL) {
		protobuf_c_message_free_unpacked(r->out, NULL);
		r->out = NULL;
	}
	r->done = done;
	r->out_desc = md != NULL ? md->output : NULL;
	if (md == NULL) {
		r->st = err_set(&r->e, SPREG_INTERNAL, "method %s: unknown",
		    method);
		goto finished;
	}
	hworker *w = worker_take(r->srv);
	if (w == NULL) {
		r->st = err_set(&r->e, SPREG_UNAVAILABLE, "server: all %d "
		    "HTTP workers are busy; retry", HTTP_WORKERS);
		goto finished;
	}
	size_t n = protobuf_c_message_get_packed_size(in);
	if ((payload = malloc(n + 1)) == NULL) {
		worker_give(r->srv, w);
		r->st = err_oom(&r->e, NULL);
		goto finished;
	}
	protobuf_c_message_pack(in, payload);
	env.method = (char *) method;
	env.payload.data = payload;
	env.payload.len = n;
	env.token = (char *) r->bearer;
	n = spreg__v1__request__get_packed_size(&env);
	if ((packed = malloc(n + 1)) == NULL) {
		worker_give(r->srv, w);
		r->st = err_oom(&r->e, NULL);
		goto finished;
	}
	spreg__v1__request__pack(&env, packed);
	w->r = r;
	bool write = rpc_handle_begin(w->rpc, packed, n, &w->reply);
	free(payload);
	free(packed);
	if (!write) {
		call_finish(r, w);
		goto finished_done;
	}
	r->hw = w;
	/* Answered from the writer thread once durable: the connection
	 * waits, without a deadline (the server's time), until
	 * http_respond resumes it. Only the handler may suspend it, so a
	 * write is never called from a done callback. */
	pthread_mutex_lock(&r->srv->mu);
	r->ex->suspended = true;
	pthread_mutex_unlock(&r->srv->mu);
	MHD_suspend_connection(r->ex->conn);
	if (!net_server_write(r->srv->writer, &w->write)) {
		/* Stopping: the write was decoded, never run. */
		worker_give(r->srv, w);
		r->st = err_set(&r->e, SPREG_UNAVAILABLE,
		    "server: stopping");
		goto finished_done;
	}
	return;

finished:
	free(payload);
	free(packed);
finished_done:
	if (done != NULL) {
		done(r);
	}
}

/* ---- request parsing ---------------------------------------------------- */

static int
hex_digit(char c)
{
	if (c >= '0' && c <= '9') {
		return c - '0';
	}
	if (c >= 'a' && c <= 'f') {
		return c - 'a' + 10;
	}
	if (c >= 'A' && c <= 'F') {
		return c - 'A' + 10;
	}
	return -1;
}

/* Percent-decodes s in place ('+' is a space in a query); false on a
 * bad escape, an encoded NUL or text that is not UTF-8. */
static bool
percent_decode(char *s, bool query)
{
	char *out = s;

	for (const char *in = s; *in != '\0'; in++) {
		if (*in == '%') {
			int hi = hex_digit(in[1]);
			int lo = hi < 0 ? -1 : hex_digit(in[2]);
			if (lo < 0 || (hi == 0 && lo == 0)) {
				return false;
			}
			*out++ = (char) (hi * 16 + lo);
			in += 2;
		} else if (*in == '+' && query) {
			*out++ = ' ';
		} else {
			*out++ = *in;
		}
	}
	*out = '\0';
	return validate_text(s, false);
}

const char *
http_param_get(const http_req *r, const char *name)
{
	for (size_t i = 0; i < r->nparams; i++) {
		if (strcmp(r->params[i].name, name) == 0) {
			return r->params[i].value;
		}
	}
	return NULL;
}

const char *
http_country_name(const http_req *r, const char *code)
{
	const catalog_country *c = catalog_country_find(
	    rpc_server_catalog(r->srv->rpc), code);

	return c != NULL && c->name != NULL && c->name[0] != '\0' ? c->name :
	    code;
}

const char *
http_header(const http_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->ex->conn, MHD_HEADER_KIND, name);
}

void
http_body(const http_req *r, const void **data, size_t *len)
{
	*data = r->ex->body;
	*len = r->ex->body_len;
}

/* Splits r->target into decoded path segments and query parameters. */
static spreg_status
parse_target(http_req *r, err *e)
{
	char *query = strchr(r->target, '?');

	if (query != NULL) {
		*query++ = '\0';
	}
	if (r->target[0] != '/') {
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "path: must start with '/'");
	}
	/* Segments: "/v1/subprocessors/aws" -> v1, subprocessors, aws. */
	char *p = r->target + 1;
	while (*p != '\0') {
		char *slash = strchr(p, '/');
		if (slash != NULL) {
			*slash = '\0';
		}
		if (r->nsegs == sizeof(r->segs) / sizeof(r->segs[0])) {
			return err_set(e, SPREG_NOT_FOUND,
			    "path: no such resource");
		}
		if (!percent_decode(p, false)) {
			return err_set(e, SPREG_INVALID_ARGUMENT,
			    "path: a bad percent-escape or not UTF-8");
		}
		r->segs[r->nsegs++] = p;
		if (slash == NULL) {
			break;
		}
		p = slash + 1;
	}
	while (query != NULL && *query != '\0') {
		char *amp = strchr(query, '&');
		if (amp != NULL) {
			*amp = '\0';
		}
		if (*query != '\0') {
			if (r->nparams == HTTP_PARAMS_MAX) {
				return err_set(e, SPREG_INVALID_ARGUMENT,
				    "query: more than %d parameters",
				    HTTP_PARAMS_MAX);
			}
			char *eq = strchr(query, '=');
			if (eq != NULL) {
				*eq = '\0';
			}
			http_param *pm = &r->params[r->nparams];
			pm->name = strdup(query);
			pm->value = strdup(eq != NULL ? eq + 1 : "");
			if (pm->name == NULL || pm->value == NULL) {
				free(pm->name);
				free(pm->value);
				return err_oom(e, NULL);
			}
			r->nparams++;
			if (!percent_decode(pm->name, true) ||
			    !percent_decode(pm->value, true)) {
				return err_set(e, SPREG_INVALID_ARGUMENT,
				    "query: a bad percent-escape or not "
				    "UTF-8");
			}
		}
		query = amp != NULL ? amp + 1 : NULL;
	}
	return SPREG_OK;
}

/* A query value as the JSON pbjson_to_message takes for field fd. */
static spreg_status
param_json(const ProtobufCFieldDescriptor *fd, const char *name,
    const char *text, json_t **out, err *e)
{
	char *end;

	if (fd->label == PROTOBUF_C_LABEL_REPEATED ||
	    fd->type == PROTOBUF_C_TYPE_MESSAGE ||
	    fd->type == PROTOBUF_C_TYPE_BYTES) {
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "%s: cannot be given in a query", name);
	}
	switch (fd->type) {
	case PROTOBUF_C_TYPE_STRING:
	case PROTOBUF_C_TYPE_ENUM:
		*out = json_string(text);
		break;
	case PROTOBUF_C_TYPE_BOOL:
		if (strcmp(text, "true") == 0 || strcmp(text, "false") == 0) {
			*out = json_boolean(text[0] == 't');
			break;
		}
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "%s: '%.64s' is not true or false", name, text);
	case PROTOBUF_C_TYPE_FLOAT:
	case PROTOBUF_C_TYPE_DOUBLE: {
		errno = 0;
		double v = strtod(text, &end);
		if (text[0] == '\0' || *end != '\0' || errno != 0) {
			return err_set(e, SPREG_INVALID_ARGUMENT,
			    "%s: '%.64s' is not a number", name, text);
		}
		*out = json_real(v);
		break;
	}
	default: {
		/* Integers: decimal digits, a '-' where signed; 64-bit ones
		 * stay text, which pbjson reads in full range. */
		const char *d = text[0] == '-' ? text + 1 : text;
		if (d[0] == '\0' || strlen(d) > 20 ||
		    strspn(d, "0123456789") != strlen(d)) {
			return err_set(e, SPREG_INVALID_ARGUMENT,
			    "%s: '%.64s' is not an integer", name, text);
		}
		errno = 0;
		long long v = strtoll(text, &end, 10);
		if (errno != 0) {
			*out = json_string(text);
		} else {
			*out = json_integer(v);
		}
		break;
	}
	}
	return *out != NULL ? SPREG_OK : err_oom(e, NULL);
}

spreg_status
http_request_message(http_req *r, const ProtobufCMessageDescriptor *desc,
    json_t *base, const char *const *path_fields, ProtobufCMessage **out,
    err *e)
{
	json_t *obj = base != NULL ? json_incref(base) : json_object();
	spreg_status st = SPREG_OK;

	if (obj == NULL) {
		return err_oom(e, NULL);
	}
	if (!json_is_object(obj)) {
		st = err_set(e, SPREG_INVALID_ARGUMENT,
		    "body: not a JSON object");
		goto out;
	}
	for (size_t i = 0; path_fields != NULL && path_fields[i] != NULL;
	     i += 2) {
		if (json_object_get(obj, path_fields[i]) != NULL) {
			st = err_set(e, SPREG_INVALID_ARGUMENT,
			    "%s: given in the path; not in the body",
			    path_fields[i]);
			goto out;
		}
		const ProtobufCFieldDescriptor *fd =
		    protobuf_c_message_descriptor_get_field_by_name(desc,
		        path_fields[i]);
		json_t *v = NULL;
		if ((st = param_json(fd, path_fields[i], path_fields[i + 1], &v,
		         e)) != SPREG_OK) {
			goto out;
		}
		json_object_set_new(obj, path_fields[i], v);
	}
	for (size_t i = 0; i < r->nparams; i++) {
		const char *name = r->params[i].name;
		const ProtobufCFieldDescriptor *fd =
		    protobuf_c_message_descriptor_get_field_by_name(desc, name);
		if (fd == NULL) {
			st = err_set(e, SPREG_INVALID_ARGUMENT,
			    "%.64s: not a parameter of this request (the "
			    "fields of %s are)", name, desc->name);
			goto out;
		}
		if (json_object_get(obj, name) != NULL) {
			st = err_set(e, SPREG_INVALID_ARGUMENT,
			    "%s: given twice", name);
			goto out;
		}
		json_t *v = NULL;
		if ((st = param_json(fd, name, r->params[i].value, &v, e)) !=
		    SPREG_OK) {
			goto out;
		}
		json_object_set_new(obj, name, v);
	}
	st = pbjson_to_message(obj, desc, out, e);
out:
	json_decref(obj);
	return st;
}

/* ---- connections and their deadlines ------------------------------------ */

void
http_limits_defaults(http_limits *l)
{
	if (l->connections_max == 0) {
		l->connections_max = HTTP_CONNECTIONS_DEFAULT;
	}
	if (l->per_peer_max == 0) {
		l->per_peer_max = HTTP_PER_PEER_DEFAULT;
	}
	if (l->header_timeout_ms == 0) {
		l->header_timeout_ms = HTTP_HEADER_TIMEOUT_MS_DEFAULT;
	}
	if (l->body_timeout_ms == 0) {
		l->body_timeout_ms = HTTP_BODY_TIMEOUT_MS_DEFAULT;
	}
	if (l->send_timeout_ms == 0) {
		l->send_timeout_ms = HTTP_SEND_TIMEOUT_MS_DEFAULT;
	}
}

static void
peer_of(const struct sockaddr *sa, net_peer *peer, char *who, size_t len)
{
	memset(peer, 0, sizeof(*peer));
	snprintf(who, len, "?");
	if (sa != NULL && sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *) sa;
		peer->family = 4;
		memcpy(peer->addr, &in->sin_addr, 4);
		inet_ntop(AF_INET, &in->sin_addr, who, (socklen_t) len);
	} else if (sa != NULL && sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *) sa;
		peer->family = 6;
		memcpy(peer->addr, &in6->sin6_addr, 16);
		inet_ntop(AF_INET6, &in6->sin6_addr, who, (socklen_t) len);
	}
}

/* A warning about a peer, at most once a second per kind: a hostile
 * peer must not flood the log either. */
static void
warn_limited(log_limit *l, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void
warn_limited(log_limit *l, const char *fmt, ...)
{
	char msg[256];
	uint64_t held;
	va_list ap;

	if (!log_limit_pass(l, &held)) {
		return;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (held > 0) {
		log_warn("%s (and %" PRIu64 " more like it since)", msg, held);
	} else {
		log_warn("%s", msg);
	}
}

/* Counted against the limits when it opens; over one, shut down at once
 * (libmicrohttpd reads its end and closes it). */
static void
conn_notified(void *cls, struct MHD_Connection *conn, void **socket_context,
    enum MHD_ConnectionNotificationCode code)
{
	http_server *s = cls;
	hconn *hc = *socket_context;

	if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
		if (hc == NULL) {
			return;
		}
		pthread_mutex_lock(&s->mu);
		if (hc->prev != NULL) {
			hc->prev->next = hc->next;
		} else {
			s->open = hc->next;
		}
		if (hc->next != NULL) {
			hc->next->prev = hc->prev;
		}
		if (hc->id != 0) {
			net_conns_remove(s->conns, hc->id);
		}
		pthread_mutex_unlock(&s->mu);
		free(hc);
		*socket_context = NULL;
		return;
	}
	const union MHD_ConnectionInfo *fd = MHD_get_connection_info(conn,
	    MHD_CONNECTION_INFO_CONNECTION_FD);
	const union MHD_ConnectionInfo *addr = MHD_get_connection_info(conn,
	    MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (fd == NULL) {
		return;
	}
	if ((hc = calloc(1, sizeof(*hc))) == NULL) {
		shutdown(fd->connect_fd, SHUT_RDWR);
		return;
	}
	net_peer peer;
	peer_of(addr != NULL ? addr->client_addr : NULL, &peer, hc->who,
	    sizeof(hc->who));
	hc->fd = fd->connect_fd;
	int64_t now = time_mono_ms();
	pthread_mutex_lock(&s->mu);
	if (++s->next_id == 0) {
		s->next_id = 1;
	}
	net_conns_verdict v = net_conns_add(s->conns, s->next_id, &peer, now);
	hc->id = v == NET_CONNS_OK ? s->next_id : 0;
	hc->shut = v != NET_CONNS_OK;
	hc->phase = PHASE_IDLE;
	hc->deadline_ms = now + s->lim.header_timeout_ms;
	hc->next = s->open;
	if (s->open != NULL) {
		s->open->prev = hc;
	}
	s->open = hc;
	pthread_mutex_unlock(&s->mu);
	*socket_context = hc;
	if (v == NET_CONNS_OK) {
		return;
	}
	shutdown(hc->fd, SHUT_RDWR);
	if (v == NET_CONNS_PEER_FULL) {
		warn_limited(&s->refused_log, "HTTP connection from %s refused: "
		    "it has %zu open (--http-max-connections-per-peer)",
		    hc->who, s->lim.per_peer_max);
	} else {
		warn_limited(&s->refused_log, "HTTP connection from %s refused: "
		    "%zu connections open (--http-max-connections)", hc->who,
		    s->lim.connections_max);
	}
}

/* hc enters phase, with a deadline timeout_ms from now (0: none). */
static void
phase_set(http_server *s, hconn *hc, conn_phase phase, int timeout_ms)
{
	if (hc == NULL) {
		return;
	}
	pthread_mutex_lock(&s->mu);
	hc->phase = phase;
	hc->deadline_ms = timeout_ms > 0 ? time_mono_ms() + timeout_ms : 0;
	pthread_mutex_unlock(&s->mu);
}

/* A request line arrived: the exchange begins (libmicrohttpd's request
 * context); its headers are due by the same deadline. */
static void *
uri_seen(void *cls, const char *uri, struct MHD_Connection *conn)
{
	http_server *s = cls;
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn,
	    MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	hconn *hc = ci != NULL ? ci->socket_context : NULL;
	http_exchange *ex = calloc(1, sizeof(*ex));

	if (hc != NULL) {
		pthread_mutex_lock(&s->mu);
		hc->phase = PHASE_HEADERS;
		pthread_mutex_unlock(&s->mu);
	}
	if (ex != NULL) {
		ex->srv = s;
		ex->conn = conn;
		ex->hc = hc;
		ex->uri = strdup(uri);	/* NULL: answered 429 */
	}
	return ex;	/* NULL: the connection is closed */
}

/* The exchange is over (answered, or the connection failed); the next
 * request is due within the header timeout. */
static void
completed(void *cls, struct MHD_Connection *conn, void **con_cls,
    enum MHD_RequestTerminationCode code)
{
	http_server *s = cls;
	http_exchange *ex = *con_cls;
	(void) conn;
	(void) code;

	if (ex == NULL) {
		return;
	}
	phase_set(s, ex->hc, PHASE_IDLE, s->lim.header_timeout_ms);
	if (ex->resp != NULL) {
		MHD_destroy_response(ex->resp);
	}
	free(ex->uri);
	free(ex->body);
	free(ex);
	*con_cls = NULL;
}

/* Under s->mu: hc passed its deadline and was shut down. */
static void
expired(http_server *s, const hconn *hc)
{
	static const char *const why[] = {
	    [PHASE_HEADERS] = "its request headers took longer than",
	    [PHASE_BODY] = "its request body took longer than",
	    [PHASE_SEND] = "it did not take its response within",
	};
	static const char *const flag[] = {
	    [PHASE_HEADERS] = "--http-header-timeout",
	    [PHASE_BODY] = "--http-body-timeout",
	    [PHASE_SEND] = "--http-send-timeout",
	};
	const http_limits *l = &s->lim;

	if (hc->phase == PHASE_IDLE) {
		/* Also a browser's idle keep-alive: not worth a warning. */
		log_debug("HTTP connection from %s closed: no request within "
		    "%d s (--http-header-timeout)", hc->who,
		    l->header_timeout_ms / 1000);
		return;
	}
	if (hc->phase == PHASE_HEADERS || hc->phase == PHASE_BODY ||
	    hc->phase == PHASE_SEND) {
		warn_limited(&s->timeout_log, "HTTP connection from %s closed: "
		    "%s %d s (%s)", hc->who, why[hc->phase],
		    (hc->phase == PHASE_BODY ? l->body_timeout_ms :
		     hc->phase == PHASE_SEND ? l->send_timeout_ms :
		     l->header_timeout_ms) / 1000, flag[hc->phase]);
	}
}

/* Shuts down the connections past their deadline, a few times per the
 * shortest timeout. libmicrohttpd closes a connection (and tells us)
 * before it closes its socket, so a descriptor here is never another's. */
static void *
reaper_main(void *arg)
{
	http_server *s = arg;
	const http_limits *l = &s->lim;
	int tick_ms = l->header_timeout_ms;

	if (l->body_timeout_ms < tick_ms) {
		tick_ms = l->body_timeout_ms;
	}
	if (l->send_timeout_ms < tick_ms) {
		tick_ms = l->send_timeout_ms;
	}
	tick_ms = tick_ms / 4 > 1000 ? 1000 : tick_ms / 4;
	pthread_mutex_lock(&s->mu);
	while (!s->stopping) {
		struct timespec until = time_realtime_after_ms(tick_ms);
		pthread_cond_timedwait(&s->reaper_cv, &s->mu, &until);
		int64_t now = time_mono_ms();
		for (hconn *hc = s->open; hc != NULL; hc = hc->next) {
			if (!hc->shut && hc->deadline_ms != 0 &&
			    now >= hc->deadline_ms) {
				shutdown(hc->fd, SHUT_RDWR);
				hc->shut = true;
				expired(s, hc);
			}
		}
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

/* With --tls-ca: the client's certificate, which the TLS handshake asked
 * for, must be signed by it; checked once per connection. */
static bool
client_verified(http_exchange *ex)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(ex->conn,
	    MHD_CONNECTION_INFO_GNUTLS_SESSION);
	gnutls_session_t ts = ci != NULL ? ci->tls_session : NULL;
	unsigned int status = 1;

	if (ex->hc != NULL && ex->hc->verified) {
		return true;
	}
	if (ts == NULL || gnutls_certificate_type_get(ts) != GNUTLS_CRT_X509 ||
	    gnutls_certificate_verify_peers2(ts, &status) != GNUTLS_E_SUCCESS ||
	    status != 0) {
		warn_limited(&ex->srv->refused_log, "HTTPS connection from %s "
		    "closed: no client certificate signed by --tls-ca",
		    ex->hc != NULL ? ex->hc->who : "?");
		return false;
	}
	if (ex->hc != NULL) {
		ex->hc->verified = true;	/* its thread's alone */
	}
	return true;
}

/* ---- the handler -------------------------------------------------------- */

/* What the headers announce: 0 no body, 1 a body, -1 one too long. */
static int
body_announced(struct MHD_Connection *conn)
{
	const char *len = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_CONTENT_LENGTH);

	if (MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	        MHD_HTTP_HEADER_TRANSFER_ENCODING) != NULL) {
		return 1;	/* chunked: measured as it comes */
	}
	if (len == NULL) {
		return 0;
	}
	/* libmicrohttpd refused a Content-Length that does not parse. */
	unsigned long long n = strtoull(len, NULL, 10);
	return n == 0 ? 0 : n > HTTP_BODY_MAX ? -1 : 1;
}

static body_state
body_take(http_exchange *ex, const char *data, size_t len)
{
	if (ex->body_len + len > HTTP_BODY_MAX) {
		return BODY_TOO_LONG;
	}
	char *grown = realloc(ex->body, ex->body_len + len + 1);
	if (grown == NULL) {
		return BODY_NO_MEMORY;
	}
	memcpy(grown + ex->body_len, data, len);
	ex->body = grown;
	ex->body_len += len;
	return BODY_OK;
}

/* The request, headers and body in, through the routes: answered (the
 * response in ex) or handed to the writer (ex suspended). */
static void
run(http_exchange *ex, const char *method)
{
	http_req *r = calloc(1, sizeof(*r));

	if (r == NULL) {
		request_ended(ex->srv);	/* closed unanswered */
		return;
	}
	r->srv = ex->srv;
	r->ex = ex;
	r->method = method;
	r->bearer = "";
	if (ex->body_state == BODY_TOO_LONG) {
		http_fail(r, SPREG_INVALID_ARGUMENT, "body: longer than %d "
		    "bytes", HTTP_BODY_MAX);
		return;
	}
	if (ex->body_state == BODY_NO_MEMORY) {
		http_fail(r, SPREG_RESOURCE_EXHAUSTED, "body: out of memory");
		return;
	}
	if (ex->uri == NULL || (r->target = strdup(ex->uri)) == NULL) {
		http_fail(r, SPREG_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	if (strlen(r->target) > HTTP_TARGET_MAX) {
		http_fail(r, SPREG_INVALID_ARGUMENT, "path: longer than %d "
		    "bytes", HTTP_TARGET_MAX);
		return;
	}
	err e;
	spreg_status st = parse_target(r, &e);
	if (st != SPREG_OK) {
		respond_status(r, st, e.msg);
		return;
	}
	const char *auth = http_header(r, "Authorization");
	if (auth != NULL) {
		/* "Bearer TOKEN"; the scheme is case-insensitive. */
		if (strlen(auth) < 7 ||
		    (strncmp(auth, "Bearer ", 7) != 0 &&
		        strncmp(auth, "bearer ", 7) != 0)) {
			http_fail(r, SPREG_UNAUTHENTICATED, "token: not a "
			    "Bearer token");
			return;
		}
		r->bearer = auth + 7;
	}
	if (http_api_route(r) || http_page_route(r) || http_feed_route(r)) {
		return;
	}
	http_fail(r, SPREG_NOT_FOUND, "path: no such resource");
}

/* Queues the response run or the writer made; the client has
 * send_timeout to take it. */
static enum MHD_Result
answer(http_exchange *ex)
{
	http_server *s = ex->srv;

	pthread_mutex_lock(&s->mu);
	struct MHD_Response *resp = ex->resp;
	unsigned status = ex->status;
	ex->resp = NULL;
	ex->suspended = false;
	pthread_mutex_unlock(&s->mu);
	if (resp == NULL) {
		return MHD_NO;	/* out of memory: closed unanswered */
	}
	enum MHD_Result ret = MHD_queue_response(ex->conn, status, resp);
	MHD_destroy_response(resp);
	phase_set(s, ex->hc, PHASE_SEND, s->lim.send_timeout_ms);
	return ret;
}

/*
 * libmicrohttpd calls this once the headers are in, then with each
 * piece of a body, then once more when the request is complete (with
 * or without a body), and again after a suspended connection is
 * resumed. MHD_NO closes the connection.
 */
static enum MHD_Result
handle(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **con_cls)
{
	listener *l = cls;
	http_server *s = l->srv;
	http_exchange *ex = *con_cls;
	(void) conn;
	(void) url;	/* decoded; ex->uri is as sent */
	(void) version;

	if (ex == NULL) {
		return MHD_NO;	/* no memory at its request line */
	}
	if (ex->routed) {
		return answer(ex);	/* resumed: a write's answer */
	}
	if (!ex->started) {
		ex->started = true;
		if (l->https && s->tls_ca != NULL && !client_verified(ex)) {
			return MHD_NO;
		}
		int announced = body_announced(ex->conn);
		if (announced >= 0) {
			/* Answered on a later call: one queued now ends the
			 * connection after it (libmicrohttpd 0.9.75). */
			if (announced > 0) {
				phase_set(s, ex->hc, PHASE_BODY,
				    s->lim.body_timeout_ms);
			}
			return MHD_YES;
		}
		/* Refused unread; the connection ends after the answer. */
		ex->body_state = BODY_TOO_LONG;
	} else if (*upload_data_size > 0) {
		if (ex->body_state == BODY_OK) {
			ex->body_state = body_take(ex, upload_data,
			    *upload_data_size);
		}
		*upload_data_size = 0;
		return MHD_YES;
	}
	pthread_mutex_lock(&s->mu);
	if (s->stopping) {
		pthread_mutex_unlock(&s->mu);
		return MHD_NO;
	}
	s->busy++;
	pthread_mutex_unlock(&s->mu);
	ex->routed = true;
	phase_set(s, ex->hc, PHASE_RUN, 0);
	run(ex, method);
	pthread_mutex_lock(&s->mu);
	bool later = ex->suspended;
	pthread_mutex_unlock(&s->mu);
	return later ? MHD_YES : answer(ex);
}

/* ---- start and stop ----------------------------------------------------- */

/* libmicrohttpd's messages (a peer's bad TLS, a refusal at start): at
 * debug level, the last kept for a start that fails. */
static void
mhd_logged(void *cls, const char *fmt, va_list ap)
{
	http_server *s = cls;
	char msg[sizeof(s->mhd_said)];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	log_debug("http: libmicrohttpd: %s", msg);
	pthread_mutex_lock(&s->mu);
	memcpy(s->mhd_said, msg, sizeof(msg));
	pthread_mutex_unlock(&s->mu);
}

/* A listening socket for "http[s]://HOST[:PORT][/]"; l->url is the URL
 * bound, with the port a ":0" got. */
static spreg_status
listen_on(listener *l, const char *url, int *fd_out, err *e)
{
	const char *host = url + (l->https ? 8 : 7);
	const char *end = host[0] == '[' ? strchr(host, ']') : host +
	    strcspn(host, ":/");
	char name[256], port[8] = "";
	struct addrinfo hints = {.ai_flags = AI_PASSIVE | AI_NUMERICSERV,
	    .ai_socktype = SOCK_STREAM};
	struct addrinfo *ai = NULL;
	int fd = -1, one = 1;

	if (end == NULL || (size_t) (end - host) >= sizeof(name)) {
		return err_set(e, SPREG_INVALID_ARGUMENT, "--http %s: not a "
		    "host", url);
	}
	bool bracketed = host[0] == '[';
	snprintf(name, sizeof(name), "%.*s", (int) (end - host) -
	    (bracketed ? 1 : 0), host + (bracketed ? 1 : 0));
	end += bracketed ? 1 : 0;
	if (*end == ':') {
		size_t n = strspn(end + 1, "0123456789");
		if (n == 0 || n >= sizeof(port)) {
			return err_set(e, SPREG_INVALID_ARGUMENT, "--http %s: "
			    "not a port", url);
		}
		snprintf(port, sizeof(port), "%.*s", (int) n, end + 1);
		end += 1 + n;
	} else {
		snprintf(port, sizeof(port), "%s", l->https ? "443" : "80");
	}
	if (strcmp(end, "") != 0 && strcmp(end, "/") != 0) {
		return err_set(e, SPREG_INVALID_ARGUMENT, "--http %s: no path "
		    "(everything is served from /)", url);
	}
	int rv = getaddrinfo(name[0] != '\0' ? name : NULL, port, &hints, &ai);
	if (rv != 0) {
		return err_set(e, SPREG_INVALID_ARGUMENT, "--http %s: %s", url,
		    gai_strerror(rv));
	}
	if ((fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC |
	         SOCK_NONBLOCK, 0)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 ||
	    listen(fd, SOMAXCONN) != 0) {
		int errnum = errno;
		if (fd >= 0) {
			close(fd);
		}
		freeaddrinfo(ai);
		return err_set(e, SPREG_INVALID_ARGUMENT, "--http %s: %s", url,
		    strerror(errnum));
	}
	struct sockaddr_storage sa;
	socklen_t len = sizeof(sa);
	int bound = 0;
	if (getsockname(fd, (struct sockaddr *) &sa, &len) == 0) {
		bound = ntohs(sa.ss_family == AF_INET6 ?
		    ((struct sockaddr_in6 *) &sa)->sin6_port :
		    ((struct sockaddr_in *) &sa)->sin_port);
	}
	snprintf(l->url, sizeof(l->url), bracketed ? "%s://[%s]:%d" :
	    "%s://%s:%d", l->https ? "https" : "http", name, bound);
	freeaddrinfo(ai);
	*fd_out = fd;
	return SPREG_OK;
}

static spreg_status
serve(http_server *s, const char *url, err *e)
{
	listener *l = &s->listeners[s->nurls];
	struct MHD_OptionItem opts[16];
	size_t n = 0;
	int fd = -1;
	spreg_status st;

	if (s->nurls == URLS_MAX) {
		return err_set(e, SPREG_INVALID_ARGUMENT, "--http: at most %d",
		    URLS_MAX);
	}
	if (!http_url_ok(url)) {
		return err_set(e, SPREG_INVALID_ARGUMENT, "--http %s: not an "
		    "http:// or https:// URL", url);
	}
	l->srv = s;
	l->https = strncmp(url, "https://", 8) == 0;
	if (l->https && s->tls_cert == NULL) {
		return err_set(e, SPREG_INVALID_ARGUMENT, "%s: an https URL "
		    "needs --tls-cert and --tls-key", url);
	}
	if ((st = listen_on(l, url, &fd, e)) != SPREG_OK) {
		return st;
	}
	/* libmicrohttpd closes its copy of the socket, or on a failed
	 * start may not: ours is closed either way. */
	int mhd_fd = dup(fd);
	if (mhd_fd < 0) {
		st = err_set(e, SPREG_RESOURCE_EXHAUSTED, "--http %s: %s", url,
		    strerror(errno));
		close(fd);
		return st;
	}
	opts[n++] = (struct MHD_OptionItem) {MHD_OPTION_LISTEN_SOCKET,
	    mhd_fd, NULL};
	opts[n++] = (struct MHD_OptionItem) {MHD_OPTION_THREAD_POOL_SIZE,
	    POLL_THREADS, NULL};
	/* Its own cap (per thread) stays above ours, which decides. */
	opts[n++] = (struct MHD_OptionItem) {MHD_OPTION_CONNECTION_LIMIT,
	    (intptr_t) (s->lim.connections_max + 64) * POLL_THREADS, NULL};
	opts[n++] = (struct MHD_OptionItem) {MHD_OPTION_CONNECTION_MEMORY_LIMIT,
	    HTTP_CONN_MEMORY, NULL};
	opts[n++] = (struct MHD_OptionItem) {MHD_OPTION_NOTIFY_CONNECTION,
	    (intptr_t) conn_notified, s};
	opts[n++] = (struct MHD_OptionItem) {MHD_OPTION_URI_LOG_CALLBACK,
	    (intptr_t) uri_seen, s};
	opts[n++] = (struct MHD_OptionItem) {MHD_OPTION_NOTIFY_COMPLETED,
	    (intptr_t) completed, s};
	opts[n++] = (struct MHD_OptionItem) {MHD_OPTION_EXTERNAL_LOGGER,
	    (intptr_t) mhd_logged, s};
	if (l->https) {
		opts[n++] = (struct MHD_OptionItem) {MHD_OPTION_HTTPS_MEM_CERT,
		    0, s->tls_cert};
		opts[n++] = (struct MHD_OptionItem) {MHD_OPTION_HTTPS_MEM_KEY,
		    0, s->tls_key};
		if (s->tls_ca != NULL) {
			opts[n++] = (struct MHD_OptionItem) {
			    MHD_OPTION_HTTPS_MEM_TRUST, 0, s->tls_ca};
		}
	}
	opts[n] = (struct MHD_OptionItem) {MHD_OPTION_END, 0, NULL};
	l->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD |
	    MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG |
	    (l->https ? MHD_USE_TLS : 0), 0, NULL, NULL, handle, l,
	    MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
	close(fd);
	if (l->daemon == NULL) {
		pthread_mutex_lock(&s->mu);
		st = err_set(e, SPREG_INVALID_ARGUMENT, "--http %s: "
		    "libmicrohttpd did not start: %s", url, s->mhd_said);
		pthread_mutex_unlock(&s->mu);
		return st;
	}
	s->nurls++;
	return SPREG_OK;
}

/* The PEM files for https:// URLs, checked as the RPC listeners check
 * them (the same messages). */
static spreg_status
tls_load(http_server *s, const net_tls_options *tls, err *e)
{
	nng_tls_config *cfg;
	spreg_status st;

	if ((st = net_tls_server_config(tls, &cfg, e)) != SPREG_OK) {
		return st;
	}
	nng_tls_config_free(cfg);
	if ((st = net_tls_read_pem("--tls-cert", tls->cert_file, &s->tls_cert,
	         e)) != SPREG_OK ||
	    (st = net_tls_read_pem("--tls-key", tls->key_file, &s->tls_key,
	         e)) != SPREG_OK ||
	    (tls->ca_file != NULL &&
	        (st = net_tls_read_pem("--tls-ca", tls->ca_file, &s->tls_ca,
	             e)) != SPREG_OK)) {
		return st;
	}
	return SPREG_OK;
}

spreg_status
http_start(rpc_server *rpc, net_server *writer, const http_options *o,
    http_server **out, err *e)
{
	spreg_status st;
	http_server *s = calloc(1, sizeof(*s));

	if (s == NULL) {
		return err_oom(e, NULL);
	}
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	pthread_cond_init(&s->reaper_cv, NULL);
	s->rpc = rpc;
	s->writer = writer;
	s->lim = o->limits;
	http_limits_defaults(&s->lim);
	s->refused_log.interval_ms = 1000;
	s->timeout_log.interval_ms = 1000;
	snprintf(s->mhd_said, sizeof(s->mhd_said), "no reason given");
	if ((st = net_conns_create(&(net_conns_limits) {
	         .connections = s->lim.connections_max,
	         .per_peer = s->lim.per_peer_max}, &s->conns)) != SPREG_OK) {
		err_set(e, st, "HTTP connections: out of memory");
		goto fail;
	}
	for (size_t i = 0; i < HTTP_WORKERS; i++) {
		hworker *w = &s->workers[i];
		if ((st = o->public_off ? rpc_worker_create(rpc, &w->rpc) :
		         rpc_worker_create_public(rpc, &w->rpc)) != SPREG_OK) {
			err_set(e, st, "HTTP worker: out of memory");
			goto fail;
		}
		w->write = (net_write) {.rpc = w->rpc, .done = written,
		    .arg = w};
		w->next_free = s->free_list;
		s->free_list = w;
	}
	for (size_t i = 0; i < o->nurls; i++) {
		if (strncmp(o->urls[i], "https://", 8) == 0 &&
		    o->tls != NULL && o->tls->cert_file != NULL &&
		    s->tls_cert == NULL &&
		    (st = tls_load(s, o->tls, e)) != SPREG_OK) {
			goto fail;
		}
	}
	if (pthread_create(&s->reaper, NULL, reaper_main, s) != 0) {
		st = err_set(e, SPREG_RESOURCE_EXHAUSTED, "HTTP: cannot start "
		    "a thread");
		goto fail;
	}
	s->reaper_started = true;
	for (size_t i = 0; i < o->nurls; i++) {
		if ((st = serve(s, o->urls[i], e)) != SPREG_OK) {
			goto fail;
		}
	}
	*out = s;
	return SPREG_OK;

fail:
	http_stop(s);
	return st;
}

const char *
http_url(const http_server *s, size_t i)
{
	return s != NULL && i < s->nurls ? s->listeners[i].url : NULL;
}

size_t
http_nurls(const http_server *s)
{
	return s != NULL ? s->nurls : 0;
}

void
http_stop(http_server *s)
{
	if (s == NULL) {
		return;
	}
	pthread_mutex_lock(&s->mu);
	s->stopping = true;	/* new requests: the connection is closed */
	pthread_cond_broadcast(&s->reaper_cv);
	pthread_mutex_unlock(&s->mu);
	if (s->reaper_started) {
		pthread_join(s->reaper, NULL);
	}
	/* A write waits for the writer; libmicrohttpd must not be stopped
	 * with a connection still suspended. */
	pthread_mutex_lock(&s->mu);
	while (s->busy > 0) {
		pthread_cond_wait(&s->cv, &s->mu);
	}
	pthread_mutex_unlock(&s->mu);
	/* Closes the listeners and connections (each reported closed). */
	for (size_t i = 0; i < s->nurls; i++) {
		MHD_stop_daemon(s->listeners[i].daemon);
	}
	for (size_t i = 0; i < HTTP_WORKERS; i++) {
		rpc_worker_destroy(s->workers[i].rpc);
	}
	net_conns_destroy(s->conns);
	free(s->tls_cert);
	free(s->tls_key);
	free(s->tls_ca);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	pthread_cond_destroy(&s->reaper_cv);
	free(s);
}
