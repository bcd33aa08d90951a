/*
 * A bump allocator with a byte budget. Each RPC worker decodes requests
 * into its own arena and resets it after replying, so decoded messages
 * are never freed one by one and a hostile message cannot make a worker
 * allocate more than the budget.
 */
#ifndef CORE_ARENA_H
#define CORE_ARENA_H

#include <stdbool.h>
#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

typedef struct arena_block arena_block;

typedef struct arena {
	arena_block *head;
	size_t budget;		/* bytes that may be handed out in all */
	size_t used;
	bool exhausted;		/* an allocation was refused since reset */
	ProtobufCAllocator pb;	/* protobuf-c adapter; free is a no-op */
} arena;

void arena_init(arena *a, size_t budget);
/* Frees all blocks. */
void arena_fini(arena *a);
/* Forgets every allocation; keeps the first block for reuse. */
void arena_reset(arena *a);
/* NULL when the budget would be exceeded (and sets a->exhausted). */
void *arena_alloc(arena *a, size_t size);
char *arena_strdup(arena *a, const char *s);

#endif
