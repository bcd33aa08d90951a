/*
 * The HTTP server: nng's own (nng/supplemental/http), one handler for
 * every path and method, so routing, 404 and 405 are ours and answer in
 * JSON. A request is answered in nng's callback (an LMDB read does not
 * block, as in net/server.c); a write is handed to the RPC server's
 * writer thread and answered from there after its commit.
 *
 * What nng 1.5.2's HTTP server bounds for us, and what it does not:
 * - a request body: collect_body with HTTP_BODY_MAX; a longer
 *   Content-Length is refused 400 before it is read;
 * - a header line: its 8 KiB read buffer;
 * - not the number of connections, nor how long a client may take to
 *   send a request or read a response (no timeouts), nor the number of
 *   header lines. An idle or slow connection costs a file descriptor
 *   and a few KiB, and no thread: nng reads asynchronously.
 * What we add: HTTP_WORKERS requests answered at once (then 503 with
 * Retry-After), the request target's length (414) and parameter count,
 * and a page size bounded by the RPC limits. Put a reverse proxy in
 * front of a port open to the internet (README, "HTTP").
 */
#include <nng/nng.h>
#include <nng/supplemental/http/http.h>
#include <nng/supplemental/tls/tls.h>
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/pbjson.h"
#include "core/validate.h"
#include "http/internal.h"
#include "net/nngerr.h"

#define URL_MAX 512
#define URLS_MAX 16

typedef struct hworker {
	rpc_worker *rpc;
	Spreg__V1__Reply reply;
	net_write write;
	http_req *r;
	struct hworker *next_free;
} hworker;

struct http_server {
	rpc_server *rpc;
	net_server *writer;
	nng_http_server *servers[URLS_MAX];
	char urls[URLS_MAX][URL_MAX];
	size_t nurls;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	hworker workers[HTTP_WORKERS];
	hworker *free_list;
	size_t busy;		/* requests being answered */
	bool stopping;
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
	nng_http_res *res;
	nng_aio *aio = r->aio;
	http_server *s = r->srv;
	int rv;

	if ((rv = nng_http_res_alloc(&res)) != 0) {
		req_free(r);
		nng_aio_finish(aio, rv);	/* nng closes the connection */
		request_ended(s);
		return;
	}
	if ((rv = nng_http_res_set_status(res, status)) != 0 ||
	    (content_type != NULL &&
	        (rv = nng_http_res_set_header(res, "Content-Type",
	             content_type)) != 0) ||
	    (rv = nng_http_res_set_header(res, "X-Content-Type-Options",
	         "nosniff")) != 0 ||
	    (len > 0 && (rv = nng_http_res_copy_data(res, body, len)) != 0)) {
		goto fail;
	}
	for (size_t i = 0; headers != NULL && headers[i] != NULL &&
	     headers[i + 1] != NULL; i += 2) {
		if ((rv = nng_http_res_set_header(res, headers[i],
		         headers[i + 1])) != 0) {
			goto fail;
		}
	}
	req_free(r);
	nng_aio_set_output(aio, 0, res);
	nng_aio_finish(aio, 0);
	request_ended(s);
	return;

fail:
	nng_http_res_free(res);
	req_free(r);
	nng_aio_finish(aio, rv);
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

/* ---- the handler -------------------------------------------------------- */

static void
handle(nng_aio *aio)
{
	nng_http_req *req = nng_aio_get_input(aio, 0);
	nng_http_handler *h = nng_aio_get_input(aio, 1);
	http_server *s = nng_http_handler_get_data(h);
	http_req *r;

	pthread_mutex_lock(&s->mu);
	if (s->stopping) {
		pthread_mutex_unlock(&s->mu);
		nng_aio_finish(aio, NNG_ECLOSED);
		return;
	}
	s->busy++;
	pthread_mutex_unlock(&s->mu);
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		nng_aio_finish(aio, NNG_ENOMEM);
		request_ended(s);
		return;
	}
	r->srv = s;
	r->aio = aio;
	r->req = req;
	r->method = nng_http_req_get_method(req);
	r->bearer = "";
	const char *target = nng_http_req_get_uri(req);
	if (strlen(target) > HTTP_TARGET_MAX) {
		http_fail(r, SPREG_INVALID_ARGUMENT, "path: longer than %d "
		    "bytes", HTTP_TARGET_MAX);
		return;
	}
	if ((r->target = strdup(target)) == NULL) {
		http_fail(r, SPREG_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	err e;
	spreg_status st = parse_target(r, &e);
	if (st != SPREG_OK) {
		respond_status(r, st, e.msg);
		return;
	}
	const char *auth = nng_http_req_get_header(req, "Authorization");
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

/* ---- start and stop ----------------------------------------------------- */

static spreg_status
serve(http_server *s, const char *url, const net_tls_options *tls, err *e)
{
	nng_url *u = NULL;
	nng_http_server *hs = NULL;
	nng_http_handler *h = NULL;
	nng_tls_config *cfg = NULL;
	nng_sockaddr sa;
	spreg_status st;
	int rv;

	if (s->nurls == URLS_MAX) {
		return err_set(e, SPREG_INVALID_ARGUMENT, "--http: at most %d",
		    URLS_MAX);
	}
	if (!http_url_ok(url)) {
		return err_set(e, SPREG_INVALID_ARGUMENT, "--http %s: not an "
		    "http:// or https:// URL", url);
	}
	if ((rv = nng_url_parse(&u, url)) != 0) {
		return net_err_from_nng(e, rv, url);
	}
	if ((rv = nng_http_server_hold(&hs, u)) != 0) {
		st = net_err_from_nng(e, rv, url);
		goto fail;
	}
	if (strcmp(u->u_scheme, "https") == 0) {
		if (tls == NULL || tls->cert_file == NULL) {
			st = err_set(e, SPREG_INVALID_ARGUMENT, "%s: an https "
			    "URL needs --tls-cert and --tls-key", url);
			goto fail;
		}
		if ((st = net_tls_server_config(tls, &cfg, e)) != SPREG_OK) {
			goto fail;
		}
		rv = nng_http_server_set_tls(hs, cfg);
		nng_tls_config_free(cfg);	/* the server holds it */
		if (rv != 0) {
			st = net_err_from_nng(e, rv, url);
			goto fail;
		}
	}
	/* One handler for every path and method: the routes are ours. */
	if ((rv = nng_http_handler_alloc(&h, "/", handle)) != 0 ||
	    (rv = nng_http_handler_set_method(h, NULL)) != 0 ||
	    (rv = nng_http_handler_set_tree(h)) != 0 ||
	    (rv = nng_http_handler_collect_body(h, true, HTTP_BODY_MAX)) !=
	        0 ||
	    (rv = nng_http_handler_set_data(h, s, NULL)) != 0 ||
	    (rv = nng_http_server_add_handler(hs, h)) != 0) {
		st = net_err_from_nng(e, rv, url);
		if (h != NULL) {
			nng_http_handler_free(h);
		}
		goto fail;
	}
	if ((rv = nng_http_server_start(hs)) != 0) {
		st = net_err_from_nng(e, rv, url);
		goto fail;
	}
	s->servers[s->nurls] = hs;
	snprintf(s->urls[s->nurls], URL_MAX, "%s", url);
	if (nng_http_server_get_addr(hs, &sa) == 0 &&
	    (sa.s_family == NNG_AF_INET || sa.s_family == NNG_AF_INET6)) {
		int port = ntohs(sa.s_family == NNG_AF_INET ? sa.s_in.sa_port :
		    sa.s_in6.sa_port);
		snprintf(s->urls[s->nurls], URL_MAX, "%s://%s:%d", u->u_scheme,
		    u->u_hostname, port);
	}
	s->nurls++;
	nng_url_free(u);
	return SPREG_OK;

fail:
	if (hs != NULL) {
		nng_http_server_release(hs);
	}
	nng_url_free(u);
	return st;
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
	s->rpc = rpc;
	s->writer = writer;
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
		if ((st = serve(s, o->urls[i], o->tls, e)) != SPREG_OK) {
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
	return s != NULL && i < s->nurls ? s->urls[i] : NULL;
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
	s->stopping = true;
	pthread_mutex_unlock(&s->mu);
	/* Closes the listeners and connections; a handler running goes
	 * on, and a write waits for the writer. */
	for (size_t i = 0; i < s->nurls; i++) {
		nng_http_server_stop(s->servers[i]);
	}
	pthread_mutex_lock(&s->mu);
	while (s->busy > 0) {
		pthread_cond_wait(&s->cv, &s->mu);
	}
	pthread_mutex_unlock(&s->mu);
	for (size_t i = 0; i < s->nurls; i++) {
		nng_http_server_release(s->servers[i]);
	}
	for (size_t i = 0; i < HTTP_WORKERS; i++) {
		rpc_worker_destroy(s->workers[i].rpc);
	}
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	free(s);
}
