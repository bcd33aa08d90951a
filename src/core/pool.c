#include <stdlib.h>
#include <string.h>

#include "core/pool.h"

const char *
pool_keep(pool *p, const char *s)
{
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 512;
		char **grown = realloc(p->strings, cap * sizeof(*grown));
		if (grown == NULL) {
			return NULL;
		}
		p->strings = grown;
		p->cap = cap;
	}
	char *copy = strdup(s);
	if (copy != NULL) {
		p->strings[p->n++] = copy;
	}
	return copy;
}

void
pool_fini(pool *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free(p->strings[i]);
	}
	free(p->strings);
	p->strings = NULL;
	p->n = p->cap = 0;
}

bool
pool_grow(void **arr, size_t *cap, size_t n, size_t elem)
{
	if (n < *cap) {
		return true;
	}
	size_t ncap = *cap ? *cap * 2 : 32;
	void *grown = realloc(*arr, ncap * elem);
	if (grown == NULL) {
		return false;
	}
	*arr = grown;
	*cap = ncap;
	return true;
}
