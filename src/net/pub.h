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
 * content and nothing private: each change to the public list is
 * announced by its seq on "hb/" only, and the heartbeat's last_seq is
 * the newest of those; the other changes ring nothing. Subscribers read
 * the changes with ListChanges and their token, and read the log once a
 * heartbeat for the changes only their token may see.
 */
#ifndef NET_PUB_H
#define NET_PUB_H

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"
#include "net/tls.h"
#include "rpc/rpc.h"

#define NET_PUB_DEFAULT_URL "tcp://127.0.0.1:7451"
#define NET_PUB_HEARTBEAT_MS 1000

typedef struct net_pub net_pub;

typedef struct net_pub_options {
	const char *const *urls;
	size_t nurls;
	const net_tls_options *tls;	/* for tls+tcp:// (NULL: none) */
	int heartbeat_ms;	/* "hb/" period; 0: NET_PUB_HEARTBEAT_MS */
	bool contents;		/* --insecure-local: changes in full */
} net_pub_options;

/*
 * Listens on every URL and starts the heartbeat thread. The stream
 * starts when the rpc server it is given to (net_pub_publisher) is
 * made: that tells it the epoch, store and last seq; heartbeats wait
 * for it.
 */
spreg_status net_pub_start(const net_pub_options *o, net_pub **out,
    err *e);

/* The publisher to hand to rpc_server_create, for one server: the
 * hooks, the listeners' URLs and the heartbeat period. */
void net_pub_publisher(net_pub *p, rpc_publisher *out);

/* The URL a listener is bound to, with the port a tcp://...:0 got;
 * NULL past the last. */
const char *net_pub_url(const net_pub *p, size_t i);
size_t net_pub_nurls(const net_pub *p);

/* Stops the heartbeat, sends what is held and closes the socket. Call
 * once nothing writes through the rpc server any more (the REP server
 * and the tick loop stopped). NULL is fine. */
void net_pub_stop(net_pub *p);

#endif
