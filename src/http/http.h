/*
 * The HTTP front end (spregd --http): GNU libmicrohttpd, serving the
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
/* Largest request body; a longer Content-Length is refused 400 before
 * the body is read. */
#define HTTP_BODY_MAX 65536
/* Memory libmicrohttpd gives one connection: its request line and
 * headers must fit (beyond: it answers 431 or 414 and closes). */
#define HTTP_CONN_MEMORY 32768
/* Longest request target (path and query); longer: 414. */
#define HTTP_TARGET_MAX 4096
/* Most query parameters; more: 400. */
#define HTTP_PARAMS_MAX 32

/* What one peer may hold (spregd --http-max-connections ...). */
typedef struct http_limits {
	size_t connections_max;	/* open at once, in all listeners */
	size_t per_peer_max;	/* open at once from one IP address */
	/* Whole deadlines, not inactivity: a client trickling a byte a
	 * second meets them as surely as a silent one. */
	int header_timeout_ms;	/* the request line and headers, from the
				   connection (TLS handshake included) or
				   the previous response: also how long a
				   kept-alive connection may idle */
	int body_timeout_ms;	/* the body, from the end of the headers */
	int send_timeout_ms;	/* the response taken, from when it is
				   ready */
} http_limits;
#define HTTP_CONNECTIONS_DEFAULT 256
#define HTTP_PER_PEER_DEFAULT 16
#define HTTP_HEADER_TIMEOUT_MS_DEFAULT 10000
#define HTTP_BODY_TIMEOUT_MS_DEFAULT 30000
#define HTTP_SEND_TIMEOUT_MS_DEFAULT 60000

typedef struct http_options {
	const char *const *urls;	/* http:// or https:// */
	size_t nurls;
	const net_tls_options *tls;	/* for https:// URLs; or NULL */
	/* --http-public off: the page and the public feed need a token
	 * too. On (false), a request without a token is served as the
	 * public: the RPC_PUBLIC methods only (rpc_worker_create_public). */
	bool public_off;
	http_limits limits;	/* a field at 0 takes its default */
} http_options;

typedef struct http_server http_server;

/* The defaults into the fields of l left at 0. */
void http_limits_defaults(http_limits *l);

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
