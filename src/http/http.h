/*
 * The HTTP front end (spregd --http): nng's own HTTP server, serving the
 * JSON API under /v1/. Every request becomes the same spreg.v1.Request
 * envelope an RPC client sends (method, payload, bearer token) and runs
 * through rpc_handle_begin; writes go to the RPC server's writer thread
 * (net_server_write) and are answered once durable. No second path to
 * the data, no second rule set. GET / is the public subprocessor page.
 */
#ifndef HTTP_HTTP_H
#define HTTP_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"
#include "net/server.h"
#include "net/tls.h"
#include "rpc/rpc.h"

#define HTTP_DEFAULT_URL "http://127.0.0.1:7452"
/* Requests answered at once (each holds an rpc_worker); more are
 * answered 503 with Retry-After. */
#define HTTP_WORKERS 16
/* Largest request body; nng refuses a longer Content-Length with 400
 * before reading it. */
#define HTTP_BODY_MAX 65536
/* Longest request target (path and query); longer: 414. */
#define HTTP_TARGET_MAX 4096
/* Most query parameters; more: 400. */
#define HTTP_PARAMS_MAX 32

typedef struct http_options {
	const char *const *urls;	/* http:// or https:// */
	size_t nurls;
	const net_tls_options *tls;	/* for https:// URLs; or NULL */
	/* --http-public off: the page and the public feed need a token
	 * too. On (false), a request without a token is served as the
	 * public: the RPC_PUBLIC methods only (rpc_worker_create_public). */
	bool public_off;
} http_options;

typedef struct http_server http_server;

/* Listens on every URL. rpc and writer must outlive it; stop it before
 * either. */
spreg_status http_start(rpc_server *rpc, net_server *writer,
    const http_options *o, http_server **out, err *e);

/* The URL a listener is bound to, with the port an ...:0 URL got. */
const char *http_url(const http_server *s, size_t i);
size_t http_nurls(const http_server *s);

/* True for http:// and https:// URLs, the only ones --http takes. */
bool http_url_ok(const char *url);

/* Stops the listeners and waits for requests in flight (a write waits
 * for its commit). Accepts NULL. */
void http_stop(http_server *s);

#endif
