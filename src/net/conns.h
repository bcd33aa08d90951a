/*
 * The server's connections and what each holds, for the limits that keep
 * one peer from taking the service: connections in all and per peer
 * address, requests in flight per connection, replies queued (handed to
 * nng, not yet taken by the connection) per connection and their bytes
 * over all connections, and the time of each connection's last complete
 * request, for the idle timeout. A connection that passed a queue limit
 * or the send timeout is muted: its requests are dropped unanswered
 * until it is quiet and can be closed (closing a connection while its
 * peer is still sending can hang nng 1.5.2: see net/server.c). Connections are nng pipe ids; no nng
 * here: the caller passes ids and addresses, so this is unit-tested.
 * All calls are thread-safe (one mutex, short critical sections).
 */
#ifndef NET_CONNS_H
#define NET_CONNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "spreg/status.h"

typedef struct net_conns_limits {
	size_t connections;	/* open at once, in all */
	size_t per_peer;	/* open at once from one peer address */
	size_t inflight;	/* requests received, not yet answered,
				   per connection */
	size_t queued;		/* replies handed to nng and not yet taken
				   by the connection, per connection */
	size_t queued_bytes;	/* their bytes, all connections together */
} net_conns_limits;

/* A peer address: family 0 is none (ipc://, inproc://), which counts
 * only against the total. */
typedef struct net_peer {
	uint8_t family;		/* 0, 4 or 6 */
	uint8_t addr[16];	/* network order, the first 4 for IPv4 */
} net_peer;

typedef enum net_conns_verdict {
	NET_CONNS_OK,
	NET_CONNS_FULL,		/* add: limits.connections reached */
	NET_CONNS_PEER_FULL,	/* add: limits.per_peer reached */
	NET_CONNS_BUSY,		/* enter: limits.inflight reached */
	NET_CONNS_OVER,		/* queue: limits.queued or queued_bytes;
				   the connection is now muted */
	NET_CONNS_MUTED,	/* enter: drop the request unanswered */
	NET_CONNS_GONE,		/* the connection is not in the table */
} net_conns_verdict;

typedef struct net_conns net_conns;

spreg_status net_conns_create(const net_conns_limits *l, net_conns **out);
void net_conns_destroy(net_conns *t);

/* A new connection (id not 0) at now_ms; counted only when OK. */
net_conns_verdict net_conns_add(net_conns *t, uint32_t id,
    const net_peer *peer, int64_t now_ms);
/* The connection is gone: whatever it had queued is no longer counted,
 * and later calls for id are ignored (GONE). */
void net_conns_remove(net_conns *t, uint32_t id);

/* A complete request arrived on id: OK counts it in flight; BUSY (the
 * connection has limits.inflight), MUTED and GONE count nothing. */
net_conns_verdict net_conns_enter(net_conns *t, uint32_t id, int64_t now_ms);
/* A request counted by enter is answered (its reply handed over or
 * dropped). */
void net_conns_leave(net_conns *t, uint32_t id);

/* A reply of bytes is about to be handed to nng for id: OK counts it;
 * OVER (the connection would queue more than limits.queued replies, or
 * all connections more than limits.queued_bytes) counts nothing and
 * mutes id; the caller drops the reply. */
net_conns_verdict net_conns_queue(net_conns *t, uint32_t id, size_t bytes);
/* A reply counted by queue was taken (or dropped) at now_ms. */
void net_conns_sent(net_conns *t, uint32_t id, size_t bytes, int64_t now_ms);

/* Mutes id (its reply waited past the send timeout). */
void net_conns_mute(net_conns *t, uint32_t id);

/* Up to max ids of connections to close: nothing in flight or queued,
 * and no activity (connect, complete request, reply taken) since
 * before_ms, or since muted_before_ms for a muted one. */
size_t net_conns_idle(net_conns *t, int64_t before_ms,
    int64_t muted_before_ms, uint32_t *ids, size_t max);

typedef struct net_conns_stats {
	size_t connections;
	size_t queued_bytes;
	uint64_t refused;	/* connections refused by add, ever */
} net_conns_stats;
void net_conns_stats_get(net_conns *t, net_conns_stats *out);
/* In flight and queued for id (for tests). */
size_t net_conns_inflight(net_conns *t, uint32_t id);
size_t net_conns_queued(net_conns *t, uint32_t id);

#endif
