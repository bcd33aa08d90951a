/*
 * Memory for tables loaded once and kept for the process's life (the
 * catalog, the transfer rules): owned string copies freed together, and
 * arrays grown by doubling.
 */
#ifndef CORE_POOL_H
#define CORE_POOL_H

#include <stdbool.h>
#include <stddef.h>

typedef struct pool {
	char **strings;
	size_t n;
	size_t cap;
} pool;

/* A copy of s, owned by p until pool_fini; NULL on OOM. */
const char *pool_keep(pool *p, const char *s);
/* Frees every string kept. */
void pool_fini(pool *p);

/* Room for element n of elem bytes in *arr of *cap: doubles when full.
 * False on OOM (then *arr is unchanged). */
bool pool_grow(void **arr, size_t *cap, size_t n, size_t elem);

#endif
