#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"

#define ARENA_BLOCK_MIN (64 * 1024)

struct arena_block {
	arena_block *next;
	size_t size;
	size_t off;
	alignas(max_align_t) unsigned char data[];
};

static void *
pb_alloc(void *data, size_t size)
{
	return arena_alloc(data, size);
}

static void
pb_free(void *data, void *ptr)
{
	(void) data;
	(void) ptr;
}

void
arena_init(arena *a, size_t budget)
{
	memset(a, 0, sizeof(*a));
	a->budget = budget;
	a->pb.alloc = pb_alloc;
	a->pb.free = pb_free;
	a->pb.allocator_data = a;
}

void
arena_fini(arena *a)
{
	arena_block *b = a->head;
	while (b != NULL) {
		arena_block *next = b->next;
		free(b);
		b = next;
	}
	a->head = NULL;
	a->used = 0;
}

void
arena_reset(arena *a)
{
	if (a->head != NULL) {
		/* Keep the oldest block (the last in the list): the common
		 * request fits in it, so steady state allocates nothing. */
		arena_block *b = a->head;
		while (b->next != NULL) {
			arena_block *next = b->next;
			free(b);
			b = next;
		}
		b->off = 0;
		a->head = b;
	}
	a->used = 0;
	a->exhausted = false;
}

void *
arena_alloc(arena *a, size_t size)
{
	size_t need = (size + alignof(max_align_t) - 1) &
	    ~(alignof(max_align_t) - 1);

	if (need < size || need > a->budget - a->used) {
		a->exhausted = true;
		return NULL;
	}
	arena_block *b = a->head;
	if (b == NULL || b->size - b->off < need) {
		size_t bsize = need > ARENA_BLOCK_MIN ? need : ARENA_BLOCK_MIN;
		b = malloc(sizeof(*b) + bsize);
		if (b == NULL) {
			a->exhausted = true;
			return NULL;
		}
		b->size = bsize;
		b->off = 0;
		b->next = a->head;
		a->head = b;
	}
	void *p = b->data + b->off;
	b->off += need;
	a->used += need;
	return p;
}

char *
arena_strdup(arena *a, const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = arena_alloc(a, n);
	if (p != NULL) {
		memcpy(p, s, n);
	}
	return p;
}
