/*
 * The notification publisher: one nng PUB socket that carries every
 * committed change, after it is durable, in seq order, plus a periodic
 * heartbeat with the newest seq. The topics and the message layout are
 * those of the comment above service Registry in registry.proto: the
 * topic bytes ("all/", "sp/<id>/", "customer/<id>/", "hb/") followed by
 * a packed spreg.v1.Notification.
 *
 * PUB/SUB drops messages (a full subscriber queue, a subscriber not yet
 * connected), and so does this publisher when nng will not take a
 * message at once: delivery rests on the change log, which subscribers
 * read with ListChanges when they see a gap. A worker is never blocked
 * by a subscriber.
 *
 * Unless the server runs --insecure-local, the socket carries no
 * content: each change is announced by its seq on "hb/" only, and
 * subscribers read it with ListChanges and their token.
 */
#ifndef NET_PUB_H
#define NET_PUB_H

#include <stddef.h>

#include "core/err.h"
#include "net/tls.h"
#include "rpc/rpc.h"

#define NET_PUB_DEFAULT_URL "tcp://127.0.0.1:7451"
#define NET_PUB_HEARTBEAT_MS 1000

typedef struct net_pub net_pub;

/*
 * Listens on every URL, registers the publish hook with rpc
 * (rpc_server_set_publish) and starts the heartbeat thread, which
 * publishes "hb/" every heartbeat_ms (0: NET_PUB_HEARTBEAT_MS).
 * tls configures tls+tcp:// URLs (NULL: none allowed). Call
 * before the workers start; rpc must outlive the publisher.
 */
spreg_status net_pub_start(rpc_server *rpc, const char *const *urls,
    size_t n, const net_tls_options *tls, int heartbeat_ms, net_pub **out,
    err *e);

/* The URL a listener is bound to, with the port a tcp://...:0 got;
 * NULL past the last. */
const char *net_pub_url(const net_pub *p, size_t i);
size_t net_pub_nurls(const net_pub *p);

/* Unregisters the hook, stops the heartbeat, drops what is held and
 * closes the socket. Call after every writer stopped (the REP server,
 * the periodic due-change thread). NULL is fine. */
void net_pub_stop(net_pub *p);

#endif
