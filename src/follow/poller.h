/*
 * spregd's follow poller: one thread that fetches each stored follow
 * (follow.proto) on its interval (follow/fetch.h: conditional GET,
 * bounded in size and time) and hands what it brought to the store
 * through rpc_follow_record: the follow's outcome recorded, and the
 * vendor written as PutSubprocessor would when the list differs. It
 * holds no transaction while it fetches, and is never the thread that
 * answers requests or the writer's.
 */
#ifndef FOLLOW_POLLER_H
#define FOLLOW_POLLER_H

#include "core/err.h"
#include "rpc/rpc.h"

#define FOLLOW_TICK_MS 1000	/* looks for follows due */

typedef struct follow_poller follow_poller;

/* Starts the thread on rpc (which must outlive it); calls
 * follow_fetch_init, and follow_fetch_fini when stopped. */
spreg_status follow_poller_start(rpc_server *rpc, follow_poller **out,
    err *e);
/* Stops the thread, abandoning a fetch in progress (its follow is
 * fetched again after a restart). NULL is fine. */
void follow_poller_stop(follow_poller *p);

#endif
