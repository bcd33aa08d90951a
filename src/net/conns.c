/*
 * An open-addressing hash table (linear probing) of pipe id -> entry
 * under one mutex. It holds at most limits.connections entries in at
 * least twice as many slots, so probes stay short and an empty slot
 * always ends one. Removal shifts later entries of the probe run back,
 * so no tombstones build up.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "net/conns.h"

typedef struct entry {
	uint32_t id;		/* 0: empty */
	uint32_t inflight;
	uint32_t queued;
	size_t queued_bytes;
	int64_t active_ms;	/* last connect, request or reply taken */
	bool muted;
	net_peer peer;
} entry;

struct net_conns {
	pthread_mutex_t mu;
	entry *slots;
	size_t mask;		/* capacity - 1, capacity a power of two */
	net_conns_limits lim;
	size_t count;
	size_t queued_bytes;
	uint64_t refused;
};

static size_t
home(const net_conns *t, uint32_t id)
{
	return (size_t) (id * 2654435761u) & t->mask;	/* Knuth */
}

/* The slot of id, or the empty slot where it would go. */
static size_t
find(const net_conns *t, uint32_t id)
{
	size_t i = home(t, id);

	while (t->slots[i].id != 0 && t->slots[i].id != id) {
		i = (i + 1) & t->mask;
	}
	return i;
}

/* id's entry, or NULL. */
static entry *
lookup(net_conns *t, uint32_t id)
{
	entry *e = &t->slots[find(t, id)];

	return e->id == id && id != 0 ? e : NULL;
}

spreg_status
net_conns_create(const net_conns_limits *l, net_conns **out)
{
	size_t cap = 8;
	while (cap < 2 * l->connections) {
		cap *= 2;
	}
	net_conns *t = calloc(1, sizeof(*t));
	if (t == NULL || (t->slots = calloc(cap, sizeof(*t->slots))) == NULL) {
		free(t);
		return SPREG_RESOURCE_EXHAUSTED;
	}
	pthread_mutex_init(&t->mu, NULL);
	t->mask = cap - 1;
	t->lim = *l;
	*out = t;
	return SPREG_OK;
}

void
net_conns_destroy(net_conns *t)
{
	if (t != NULL) {
		pthread_mutex_destroy(&t->mu);
		free(t->slots);
		free(t);
	}
}

net_conns_verdict
net_conns_add(net_conns *t, uint32_t id, const net_peer *peer,
    int64_t now_ms)
{
	net_conns_verdict v = NET_CONNS_OK;

	pthread_mutex_lock(&t->mu);
	if (t->count >= t->lim.connections) {
		v = NET_CONNS_FULL;
	} else if (peer->family != 0) {
		size_t same = 0;
		for (size_t i = 0; i <= t->mask; i++) {
			const entry *e = &t->slots[i];
			same += e->id != 0 && e->peer.family == peer->family &&
			    memcmp(e->peer.addr, peer->addr,
			        sizeof(peer->addr)) == 0;
		}
		if (same >= t->lim.per_peer) {
			v = NET_CONNS_PEER_FULL;
		}
	}
	if (v == NET_CONNS_OK && lookup(t, id) == NULL) {
		entry *e = &t->slots[find(t, id)];
		memset(e, 0, sizeof(*e));
		e->id = id;
		e->peer = *peer;
		e->active_ms = now_ms;
		t->count++;
	} else if (v != NET_CONNS_OK) {
		t->refused++;
	}
	pthread_mutex_unlock(&t->mu);
	return v;
}

void
net_conns_remove(net_conns *t, uint32_t id)
{
	pthread_mutex_lock(&t->mu);
	size_t i = find(t, id);
	if (id == 0 || t->slots[i].id == 0) {
		pthread_mutex_unlock(&t->mu);
		return;
	}
	t->queued_bytes -= t->slots[i].queued_bytes;
	t->count--;
	/* Empty slot i, then move back each later entry of the run whose
	 * home is not in (i, j]: it would no longer be found past the gap. */
	t->slots[i].id = 0;
	for (size_t j = (i + 1) & t->mask; t->slots[j].id != 0;
	     j = (j + 1) & t->mask) {
		size_t h = home(t, t->slots[j].id);
		bool between = i <= j ? (i < h && h <= j) : (i < h || h <= j);
		if (!between) {
			t->slots[i] = t->slots[j];
			t->slots[j].id = 0;
			i = j;
		}
	}
	pthread_mutex_unlock(&t->mu);
}

net_conns_verdict
net_conns_enter(net_conns *t, uint32_t id, int64_t now_ms)
{
	net_conns_verdict v = NET_CONNS_GONE;

	pthread_mutex_lock(&t->mu);
	entry *e = lookup(t, id);
	if (e != NULL) {
		e->active_ms = now_ms;
		if (e->muted) {
			v = NET_CONNS_MUTED;
		} else if (e->inflight >= t->lim.inflight) {
			v = NET_CONNS_BUSY;
		} else {
			e->inflight++;
			v = NET_CONNS_OK;
		}
	}
	pthread_mutex_unlock(&t->mu);
	return v;
}

void
net_conns_leave(net_conns *t, uint32_t id)
{
	pthread_mutex_lock(&t->mu);
	entry *e = lookup(t, id);
	if (e != NULL && e->inflight > 0) {
		e->inflight--;
	}
	pthread_mutex_unlock(&t->mu);
}

net_conns_verdict
net_conns_queue(net_conns *t, uint32_t id, size_t bytes)
{
	net_conns_verdict v = NET_CONNS_GONE;

	pthread_mutex_lock(&t->mu);
	entry *e = lookup(t, id);
	if (e != NULL) {
		/* A client sharing one connection among threads has many
		 * requests out, and their replies queue behind each other
		 * in a burst: what is bounded is the contexts one
		 * connection holds, in flight and queued together. */
		if (e->muted || e->queued + e->inflight >= t->lim.queued +
		        t->lim.inflight ||
		    bytes > t->lim.queued_bytes - t->queued_bytes) {
			e->muted = true;
			v = NET_CONNS_OVER;
		} else {
			e->queued++;
			e->queued_bytes += bytes;
			t->queued_bytes += bytes;
			v = NET_CONNS_OK;
		}
	}
	pthread_mutex_unlock(&t->mu);
	return v;
}

void
net_conns_sent(net_conns *t, uint32_t id, size_t bytes, int64_t now_ms)
{
	pthread_mutex_lock(&t->mu);
	entry *e = lookup(t, id);
	if (e != NULL && e->queued > 0) {
		e->queued--;
		e->queued_bytes -= bytes;
		t->queued_bytes -= bytes;
		e->active_ms = now_ms;
	}
	pthread_mutex_unlock(&t->mu);
}

void
net_conns_mute(net_conns *t, uint32_t id)
{
	pthread_mutex_lock(&t->mu);
	entry *e = lookup(t, id);
	if (e != NULL) {
		e->muted = true;
	}
	pthread_mutex_unlock(&t->mu);
}

size_t
net_conns_idle(net_conns *t, int64_t before_ms, int64_t muted_before_ms,
    uint32_t *ids, size_t max)
{
	size_t n = 0;

	pthread_mutex_lock(&t->mu);
	for (size_t i = 0; i <= t->mask && n < max; i++) {
		const entry *e = &t->slots[i];
		if (e->id != 0 && e->inflight == 0 && e->queued == 0 &&
		    e->active_ms < (e->muted ? muted_before_ms : before_ms)) {
			ids[n++] = e->id;
		}
	}
	pthread_mutex_unlock(&t->mu);
	return n;
}

void
net_conns_stats_get(net_conns *t, net_conns_stats *out)
{
	pthread_mutex_lock(&t->mu);
	out->connections = t->count;
	out->queued_bytes = t->queued_bytes;
	out->refused = t->refused;
	pthread_mutex_unlock(&t->mu);
}

size_t
net_conns_inflight(net_conns *t, uint32_t id)
{
	pthread_mutex_lock(&t->mu);
	entry *e = lookup(t, id);
	size_t n = e != NULL ? e->inflight : 0;
	pthread_mutex_unlock(&t->mu);
	return n;
}

size_t
net_conns_queued(net_conns *t, uint32_t id)
{
	pthread_mutex_lock(&t->mu);
	entry *e = lookup(t, id);
	size_t n = e != NULL ? e->queued : 0;
	pthread_mutex_unlock(&t->mu);
	return n;
}
