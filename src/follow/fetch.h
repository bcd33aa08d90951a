/*
 * One fetch of a followed list (libcurl): a conditional GET (the ETag
 * given sent back as If-None-Match), http or https only, no redirects
 * followed, at most PUBLIST_BODY_MAX bytes in at most PUBLIST_TIMEOUT_S
 * seconds, connection included. Used by spregd's follow poller and, for
 * the first fetch of a new follow, by the RPC server's fetch step (the
 * rpc_fetch_fn given to rpc_server_create): never on a thread that
 * answers requests or writes.
 */
#ifndef FOLLOW_FETCH_H
#define FOLLOW_FETCH_H

#include <stdatomic.h>

#include "core/publist.h"

/* Once, before any thread fetches. */
spreg_status follow_fetch_init(err *e);
void follow_fetch_fini(void);

/*
 * GETs url into *out (its body replaced; out->etag is this answer's).
 * A transfer error, a status other than 2xx (or 304 to etag) or an
 * answer too large sets out->st and out->msg, naming url. A fetch in
 * progress ends soon after *stop turns true (stop may be NULL).
 */
void follow_fetch(const char *url, const char *etag, const atomic_bool *stop,
    publist_fetched *out);

#endif
