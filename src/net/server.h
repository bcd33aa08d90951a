/*
 * The RPC listener: one nng REP socket with a pool of contexts, each
 * owning an nng_ctx, an nng_aio and an rpc_worker (its read transaction
 * and decode arena); reads are answered in the aio callback, writes by
 * one group-committing writer thread. Every nng call of the server lives
 * in src/net/.
 */
#ifndef NET_SERVER_H
#define NET_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"
#include "net/tls.h"
#include "rpc/rpc.h"

/* The defaults bound what connections can make the server buffer:
 * requests being received, at most connections x recv_max (256 MiB),
 * and replies queued, at most queued_bytes_max (64 MiB). */
#define NET_WORKERS_DEFAULT 64
#define NET_RECV_MAX_DEFAULT ((size_t) 1 << 20)
#define NET_INFLIGHT_MAX_DEFAULT 32
#define NET_CONNECTIONS_MAX_DEFAULT 256
#define NET_PER_PEER_MAX_DEFAULT 32
#define NET_QUEUED_MAX_DEFAULT 8
#define NET_QUEUED_BYTES_MAX_DEFAULT ((size_t) 64 << 20)
#define NET_IDLE_TIMEOUT_MS_DEFAULT 60000
#define NET_SEND_TIMEOUT_MS_DEFAULT 5000
/* net_server_stop waits this much longer than the send timeout for
 * requests in flight (a write's commit). */
#define NET_DRAIN_SLACK_MS 5000

/* Every count or time 0 means its NET_*_DEFAULT. */
typedef struct net_options {
	const char *const *listen;	/* nng URLs */
	size_t nlisten;
	size_t workers;			/* REP contexts */
	size_t recv_max;		/* bytes of one request */
	/* Requests one connection may have in flight (received, not yet
	 * answered); more are answered RESOURCE_EXHAUSTED without running. */
	size_t inflight_max;
	size_t connections_max;		/* open at once; more are closed */
	size_t per_peer_max;		/* open at once from one IP address */
	/* Replies one connection may leave unread in the server, and their
	 * bytes over all connections; beyond either the connection is
	 * closed. */
	size_t queued_max;
	size_t queued_bytes_max;
	/* A connection with nothing in flight and no complete request for
	 * this long is closed. */
	int idle_timeout_ms;
	/* A reply not taken by its connection for this long closes it. */
	int send_timeout_ms;
	const net_tls_options *tls;	/* for tls+tcp:// URLs; or NULL */
} net_options;

/* Replaces each 0 in o by its default (what the server will use). */
void net_options_defaults(net_options *o);

typedef struct net_server net_server;

/* Listens on every URL and starts the workers. rpc must outlive it. */
spreg_status net_server_start(rpc_server *rpc, const net_options *o,
    net_server **out, err *e);

/* The URL a listener is bound to, with the port a tcp://...:0 or tls+tcp://...:0 got. */
const char *net_server_url(const net_server *s, size_t i);
size_t net_server_nurls(const net_server *s);

/*
 * A write from another front end (src/http/), run by the same writer
 * thread and group commit as the RPC writes. rpc is a worker whose
 * rpc_handle_begin returned true; done(wr) runs on the writer thread
 * once the batch is durable (or failed) and rpc's reply is set. wr and
 * rpc stay the caller's, untouched by it until done.
 */
typedef struct net_write net_write;
struct net_write {
	rpc_worker *rpc;
	void (*done)(net_write *wr);
	void *arg;		/* the caller's */
	net_write *next;	/* queue link */
};
/* Queues wr; false (nothing queued) once the server is stopping. */
bool net_server_write(net_server *s, net_write *wr);

/* Stops taking requests, lets those in flight answer (waiting at most
 * the send timeout + NET_DRAIN_SLACK_MS), joins the threads and closes
 * the socket. */
void net_server_stop(net_server *s);

#endif
