/*
 * Another spregd's public list (GET /subprocessors.json) read back as a
 * vendor's fourth parties: what spregd's follows (follow/, rpc/follow.c)
 * do with the body they fetched. Pure functions over data; fetching is
 * follow/fetch.h's.
 */
#ifndef CORE_PUBLIST_H
#define CORE_PUBLIST_H

#include <stdbool.h>
#include <stddef.h>

#include "core/arena.h"
#include "core/err.h"
#include "spreg/v1/registry.pb-c.h"

#define PUBLIST_BODY_MAX (4u << 20)	/* bytes of a fetched list */
#define PUBLIST_TIMEOUT_S 30L		/* one fetch, connection included */
#define PUBLIST_ITEMS_MAX 1000		/* upstream vendors taken */
#define PUBLIST_ETAG_MAX 256

/* What one fetch brought (follow/fetch.h fills it). */
typedef struct publist_fetched {
	spreg_status st;	/* OK, or why it failed (msg names url) */
	char msg[ERR_MSG_MAX];
	bool not_modified;	/* 304 to the ETag sent */
	bool stopped;		/* abandoned: this server is stopping */
	char etag[PUBLIST_ETAG_MAX];	/* of this answer; "" when none */
	char *body;		/* malloc'd, NUL-terminated; or NULL */
	size_t len;
} publist_fetched;

/* Frees the body; the rest is left as it is. */
void publist_fetched_fini(publist_fetched *f);

/*
 * The vendors of the list in body[0..len) as fourth parties, with
 * source url and confirmed_on today ("YYYY-MM-DD"), all in a.
 * INVALID_ARGUMENT naming url and the place when body is not the list.
 */
spreg_status publist_parse(const char *body, size_t len, const char *url,
    const char *today, arena *a, Spreg__V1__FourthParty ***out,
    size_t *n_out, err *e);

/*
 * A vendor's fourth parties old[0..nold) with those from url replaced
 * by fresh[0..nfresh): the others kept, and an upstream one whose id is
 * among the others (entered by hand) left out: those win. *differs:
 * the result is not old (same parties, same confirmed_on). The array is
 * in a; its elements are old's and fresh's.
 */
spreg_status publist_merge(Spreg__V1__FourthParty *const *old, size_t nold,
    Spreg__V1__FourthParty *const *fresh, size_t nfresh, const char *url,
    arena *a, Spreg__V1__FourthParty ***out, size_t *n_out, bool *differs,
    err *e);

#endif
