/*
 * Requests in flight per connection, for spregd --max-inflight: a request
 * counts from its receipt until its reply is handed to nng. Connections
 * are nng pipe ids; a connection with nothing in flight has no entry, so
 * the table holds at most one entry per REP context and needs no pipe
 * notifications. No nng here: the caller passes the ids.
 */
#ifndef NET_INFLIGHT_H
#define NET_INFLIGHT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "spreg/status.h"

typedef struct net_inflight net_inflight;

/* A table for at most slots requests in flight at once (the number of
 * REP contexts), each connection allowed max of them. */
spreg_status net_inflight_create(size_t slots, size_t max,
    net_inflight **out);
void net_inflight_destroy(net_inflight *t);

/* Counts a request of connection id (not 0) and returns true, or returns
 * false, counting nothing, when id has max in flight already. */
bool net_inflight_enter(net_inflight *t, uint32_t id);
/* The reply to a request counted for id is on its way. */
void net_inflight_leave(net_inflight *t, uint32_t id);
/* How many id has in flight now (for tests). */
size_t net_inflight_count(net_inflight *t, uint32_t id);

#endif
