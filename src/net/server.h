/*
 * The RPC listener: one nng REP socket with a pool of contexts, each
 * owning an nng_ctx, an nng_aio and an rpc_worker (its read transaction
 * and decode arena); reads are answered in the aio callback, writes by
 * one group-committing writer thread. Every nng call of the server lives
 * in src/net/.
 */
#ifndef NET_SERVER_H
#define NET_SERVER_H

#include <stddef.h>

#include "core/err.h"
#include "net/tls.h"
#include "rpc/rpc.h"

#define NET_RECV_MAX_DEFAULT ((size_t) 1 << 20)
#define NET_INFLIGHT_MAX_DEFAULT 32

typedef struct net_options {
	const char *const *listen;	/* nng URLs */
	size_t nlisten;
	size_t workers;			/* REP contexts; 0: 64 */
	size_t recv_max;		/* bytes; 0: NET_RECV_MAX_DEFAULT */
	/* Requests one connection may have in flight (received, not yet
	 * answered); more are answered RESOURCE_EXHAUSTED without running.
	 * 0: NET_INFLIGHT_MAX_DEFAULT. */
	size_t inflight_max;
	const net_tls_options *tls;	/* for tls+tcp:// URLs; or NULL */
} net_options;

typedef struct net_server net_server;

/* Listens on every URL and starts the workers. rpc must outlive it. */
spreg_status net_server_start(rpc_server *rpc, const net_options *o,
    net_server **out, err *e);

/* The URL a listener is bound to, with the port a tcp://...:0 or tls+tcp://...:0 got. */
const char *net_server_url(const net_server *s, size_t i);
size_t net_server_nurls(const net_server *s);

/* Stops taking requests, lets those in flight answer, joins the
 * workers and closes the socket. */
void net_server_stop(net_server *s);

#endif
