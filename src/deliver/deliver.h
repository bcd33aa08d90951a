/*
 * The webhook sender: one thread that posts what the outbox owes
 * (db/outbox.h) with libcurl, at most one request in flight per webhook
 * so each receives its changes in seq order, all webhooks at once (one
 * curl multi handle), so a slow or hung receiver delays only itself.
 *
 * A delivery leaves the outbox when the receiver answered 2xx, in a
 * write transaction of the sender's own: acknowledgements of one round
 * share one commit. A failure (no connection, a timeout, a status that
 * is not 2xx, a redirect, which is never followed) is retried after an
 * exponential backoff; a webhook failing for longer than pause_after_ms
 * is paused (ResumeWebhook sends its backlog). Each attempt's outcome
 * is written on the webhook (ListWebhooks). The sender never holds a
 * transaction across network I/O, and the writer never waits for it
 * beyond one short commit.
 */
#ifndef DELIVER_DELIVER_H
#define DELIVER_DELIVER_H

#include <stdint.h>

#include "core/err.h"
#include "db/db.h"

#define DELIVER_TIMEOUT_MS 10000
#define DELIVER_RETRY_MIN_MS 500
#define DELIVER_RETRY_MAX_MS 300000
#define DELIVER_PAUSE_AFTER_MS ((int64_t) 24 * 3600 * 1000)
#define DELIVER_BODY_MAX 65536	/* of a response: the rest is not read */

typedef struct deliver_options {
	int timeout_ms;		/* one request, connection included */
	int retry_min_ms;	/* the first backoff; doubles per failure */
	int retry_max_ms;	/* ... up to this */
	int64_t pause_after_ms;	/* failing this long: paused; 0: never */
	const char *ca_file;	/* extra CA bundle for https; NULL: system */
} deliver_options;

typedef struct deliver deliver;

/* Starts the thread on d (which must outlive it). o NULL: defaults. */
spreg_status deliver_start(db *d, const deliver_options *o, deliver **out,
    err *e);
/* The wait before retry number failures (1: the first): min_ms,
 * doubling up to max_ms, spread by +-20%. Shared with mail.c. */
int64_t deliver_backoff_ms(int min_ms, int max_ms, unsigned failures);

/* Stops the thread; requests in flight are abandoned (and resent after
 * a restart, as they were not acknowledged). NULL is fine. */
void deliver_stop(deliver *dl);

#endif
