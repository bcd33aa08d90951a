/*
 * An open-addressing hash table (linear probing) of pipe id -> count
 * under one mutex: two short critical sections per request. Entries are
 * removed when their count returns to 0, by shifting later entries of
 * the probe run back, so no tombstones build up.
 */
#include <pthread.h>
#include <stdlib.h>

#include "net/inflight.h"

typedef struct entry {
	uint32_t id;		/* 0: empty */
	uint32_t count;
} entry;

struct net_inflight {
	pthread_mutex_t mu;
	entry *slots;
	size_t mask;		/* capacity - 1, capacity a power of two */
	uint32_t max;
};

static size_t
home(const net_inflight *t, uint32_t id)
{
	return (size_t) (id * 2654435761u) & t->mask;	/* Knuth */
}

/* The slot of id, or the empty slot where it would go. */
static size_t
find(const net_inflight *t, uint32_t id)
{
	size_t i = home(t, id);

	while (t->slots[i].id != 0 && t->slots[i].id != id) {
		i = (i + 1) & t->mask;
	}
	return i;
}

spreg_status
net_inflight_create(size_t slots, size_t max, net_inflight **out)
{
	/* At least twice the entries there can be: probes stay short and
	 * an empty slot always ends a probe. */
	size_t cap = 8;
	while (cap < 2 * slots) {
		cap *= 2;
	}
	net_inflight *t = calloc(1, sizeof(*t));
	if (t == NULL || (t->slots = calloc(cap, sizeof(*t->slots))) == NULL) {
		free(t);
		return SPREG_RESOURCE_EXHAUSTED;
	}
	pthread_mutex_init(&t->mu, NULL);
	t->mask = cap - 1;
	t->max = max > UINT32_MAX ? UINT32_MAX : (uint32_t) max;
	*out = t;
	return SPREG_OK;
}

void
net_inflight_destroy(net_inflight *t)
{
	if (t != NULL) {
		pthread_mutex_destroy(&t->mu);
		free(t->slots);
		free(t);
	}
}

bool
net_inflight_enter(net_inflight *t, uint32_t id)
{
	bool ok;

	pthread_mutex_lock(&t->mu);
	entry *e = &t->slots[find(t, id)];
	if ((ok = e->count < t->max)) {
		e->id = id;
		e->count++;
	}
	pthread_mutex_unlock(&t->mu);
	return ok;
}

void
net_inflight_leave(net_inflight *t, uint32_t id)
{
	pthread_mutex_lock(&t->mu);
	size_t i = find(t, id);
	if (t->slots[i].id == 0 || --t->slots[i].count > 0) {
		pthread_mutex_unlock(&t->mu);
		return;
	}
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
			t->slots[j].count = 0;
			i = j;
		}
	}
	pthread_mutex_unlock(&t->mu);
}

size_t
net_inflight_count(net_inflight *t, uint32_t id)
{
	pthread_mutex_lock(&t->mu);
	size_t n = t->slots[find(t, id)].count;
	pthread_mutex_unlock(&t->mu);
	return n;
}
