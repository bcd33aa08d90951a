/*
 * Watching the change log: every committed change exactly once, in seq
 * order, however many notifications the network drops.
 *
 * A spreg_watch reads the log with ListChanges from a starting seq, then
 * follows spregd's PUB socket (the topic of its filter and "hb/"). The
 * log is the truth, the live stream a shortcut: on a seq gap, a new
 * server epoch (a restart), a reconnect, or a heartbeat showing changes
 * it has not examined, it reads the log again from where it stopped
 * there, with the same filter. Changes it has already returned are
 * never returned again.
 *
 * A store restored from an older copy, or replaced, reuses seqs. The
 * watch notices: each catch-up first reads back the last change it
 * queued and checks its hash (the log is hash-chained), and on a new
 * epoch or reconnect it compares the store's identity (ServerInfo
 * store_id). When the store is not the one it followed, it finds the
 * last change the new store still has (the same seq and hash), returns
 * SPREG_ABORTED once with spreg_watch_error() saying so, and then
 * delivers the store's changes after that point, their seqs reused;
 * spreg_watch_position() goes back to it. It remembers the last 1024
 * changes: an older divergence resumes before the oldest, saying so.
 *
 * To resume after either side restarts, open a new watch with since_seq
 * = spreg_watch_position() of the old one (or the seq of the last change
 * you processed).
 *
 * A spreg_watch is used by one thread at a time. The watches of a process
 * share one SUB connection per publisher URL (each with its own nng
 * context and queue); that connection stays open until the process
 * exits, because nng 1.5.2 can hang closing a SUB socket while
 * notifications arrive.
 */
#ifndef SPREG_WATCH_H
#define SPREG_WATCH_H

#include <stdbool.h>
#include <stdint.h>

#include "spreg/client.h"
#include "spreg/v1/registry.pb-c.h"

#define SPREG_DEFAULT_PUB "tcp://127.0.0.1:7451"

typedef struct spreg_watch spreg_watch;

/* At most one of the two; both NULL or empty: every change. The same
 * changes as the topic "sp/<id>/" or "customer/<id>/" and as ListChanges
 * with that filter. */
typedef struct spreg_watch_filter {
	const char *subprocessor_id;
	const char *customer_id;
} spreg_watch_filter;

/*
 * Opens a watch of the changes with seq > since_seq: RPC to rpc_url,
 * notifications from pub_url (the "pub" URL in spregd's ready file);
 * pub_url NULL or "": the one the server names in ServerInfo
 * (publish_urls), asked before the first log read. f may be NULL. Neither server needs to be up yet: the watch connects
 * when they appear. The strings are copied. Caller closes *out.
 * INVALID_ARGUMENT: a bad URL or both filters set.
 */
spreg_status spreg_watch_open(const char *rpc_url, const char *pub_url,
    const spreg_watch_filter *f, uint64_t since_seq, spreg_watch **out);

/* How to reach a server with access control and TLS. */
typedef struct spreg_watch_options {
	const spreg_tls_options *tls;	/* tls+tcp:// URLs (RPC and PUB) */
	const char *token;	/* bearer token for ListChanges; a customer
				 * token sees its customer's changes only */
} spreg_watch_options;

/* As spreg_watch_open, with o (NULL: none). A server with access
 * control publishes only the seqs of changes to its public list; the
 * changes come from ListChanges under o->token, so the watch sees what
 * the token may see, and with a token the log is also read once per
 * heartbeat period for the changes the stream does not announce (a
 * customer's own vendors, customer records, objections). */
spreg_status spreg_watch_open_with(const char *rpc_url, const char *pub_url,
    const spreg_watch_filter *f, uint64_t since_seq,
    const spreg_watch_options *o, spreg_watch **out);

/*
 * The next change, waiting up to timeout_ms (negative: no limit; a call
 * to the server in progress may overrun it by up to its own timeout,
 * 5 s). On OK *out is a change the caller frees with spreg_message_free.
 *
 * DEADLINE_EXCEEDED: nothing new in time (call again). UNAVAILABLE: the
 * server did not answer in time (call again: the watch keeps trying).
 * ABORTED: the server's store was restored or replaced (see above);
 * call again for the changes after the point where it diverged.
 * Any other status is the server's answer to ListChanges and will not
 * pass by itself: OUT_OF_RANGE (since_seq beyond the log), NOT_FOUND
 * (no such customer), INVALID_ARGUMENT. spreg_watch_error() says more.
 */
spreg_status spreg_watch_next(spreg_watch *w, int timeout_ms,
    Spreg__V1__Change **out);

/* The seq of the last change returned (since_seq before the first):
 * open a new watch with it to resume without a gap or a repeat. */
uint64_t spreg_watch_position(const spreg_watch *w);

/* Why the last call failed; valid until the next call. */
const char *spreg_watch_error(const spreg_watch *w);

/* Counters, for tests and tuning. */
typedef struct spreg_watch_stats {
	uint64_t live;		/* changes returned from the live stream */
	uint64_t from_log;	/* changes returned from ListChanges */
	uint64_t log_reads;	/* ListChanges calls */
	uint64_t duplicates;	/* notifications of changes already seen */
	uint64_t gaps;		/* catch-ups started by a gap, an epoch, a
				 * reconnect or a heartbeat */
	uint64_t restores;	/* stores found restored or replaced */
} spreg_watch_stats;

void spreg_watch_stats_get(const spreg_watch *w, spreg_watch_stats *out);

/*
 * The live stream. Notifications and heartbeats carry the store's
 * identity: those of another store (a PUB URL of another server) are
 * dropped. When no heartbeat of the store followed arrives for three
 * heartbeat periods (ServerInfo heartbeat_ms), with nothing queued, the
 * watch reads the log by polling, once a period, until one does: a
 * stream that is blocked, or a PUB URL of the wrong server, makes
 * changes late, never missing.
 */
typedef struct spreg_watch_stream {
	const char *pub_url;	/* the URL listened on; "" when none (the
				 * server publishes nowhere) or not yet
				 * known; valid until the watch closes */
	bool polling;		/* the stream is silent: polling the log */
	uint64_t stalls;	/* times it fell silent */
	uint64_t foreign;	/* notifications of another store, dropped */
	uint32_t heartbeat_ms;	/* the server's heartbeat period */
} spreg_watch_stream;

void spreg_watch_stream_get(const spreg_watch *w, spreg_watch_stream *out);

/* Closes the sockets and frees what is queued. NULL is fine. */
void spreg_watch_close(spreg_watch *w);

#endif
