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
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/date.h"
#include "core/log.h"
#include "core/pbjson.h"
#include "core/validate.h"
#include "http/internal.h"
#include "http/server.h"
#include "net/conns.h"

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

bool
http_get_only(http_req *r)
{
	static const char *const headers[] = {"Allow", "GET, HEAD", NULL};
	static const char text[] = "405 method not allowed\n";

	if (strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0) {
		return true;
	}
	http_respond(r, 405, "text/plain; charset=utf-8", text,
	    sizeof(text) - 1, headers);
	return false;
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

/* ---- the request as libmicrohttpd holds it ---------------------------- */

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
	spreg_status st = http_parse_target(r, &e);
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
	http_phase_set(s, ex->hc, PHASE_SEND, s->lim.send_timeout_ms);
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
		if (l->https && s->tls_ca != NULL && !http_client_verified(ex)) {
			return MHD_NO;
		}
		int announced = body_announced(ex->conn);
		if (announced >= 0) {
			/* Answered on a later call: one queued now ends the
			 * connection after it (libmicrohttpd 0.9.75). */
			if (announced > 0) {
				http_phase_set(s, ex->hc, PHASE_BODY,
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
	http_phase_set(s, ex->hc, PHASE_RUN, 0);
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
	    (intptr_t) http_conn_notified, s};
	opts[n++] = (struct MHD_OptionItem) {MHD_OPTION_URI_LOG_CALLBACK,
	    (intptr_t) http_uri_seen, s};
	opts[n++] = (struct MHD_OptionItem) {MHD_OPTION_NOTIFY_COMPLETED,
	    (intptr_t) http_completed, s};
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
	if (pthread_create(&s->reaper, NULL, http_reaper_main, s) != 0) {
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
