/*
 * Private to http.c and conn.c: the server, its connections and their
 * requests as libmicrohttpd hands them to us. The route files see only
 * http_req (http/internal.h).
 */
#ifndef HTTP_SERVER_H
#define HTTP_SERVER_H

#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/log.h"
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

/* conn.c: libmicrohttpd's notices of a connection opened or closed, of
 * a request line, and of a request completed (MHD_OPTION_NOTIFY_
 * CONNECTION, _URI_LOG_CALLBACK, _NOTIFY_COMPLETED; cls: the server). */
void http_conn_notified(void *cls, struct MHD_Connection *conn,
    void **socket_context, enum MHD_ConnectionNotificationCode code);
void *http_uri_seen(void *cls, const char *uri, struct MHD_Connection *conn);
void http_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
    enum MHD_RequestTerminationCode toe);
/* hc enters phase, with a deadline timeout_ms from now (0: none). */
void http_phase_set(http_server *s, hconn *hc, conn_phase phase,
    int timeout_ms);
/* The thread that shuts down connections past their deadline. */
void *http_reaper_main(void *arg);
/* With --tls-ca: the client's certificate checked, once a connection. */
bool http_client_verified(http_exchange *ex);

#endif
