/*
 * The delivery outbox: webhooks (destinations) and the deliveries each
 * still owes, in the store with everything else.
 *
 * db_change_append calls db_outbox_enqueue for every change it logs, in
 * the same write transaction: one row (webhook number, seq) per webhook
 * of each customer the change concerns (db_customers_concerned). A row
 * leaves only when the sender acknowledges it (db_outbox_ack), so what a
 * crash interrupts is delivered again. Rows of one webhook sort by seq:
 * that is the order they are sent in. Seq 0 is a test delivery.
 *
 * Records point into the arena given (valid until it is reset).
 */
#ifndef DB_OUTBOX_H
#define DB_OUTBOX_H

#include "db/record.h"
#include "spreg/v1/delivery.pb-c.h"

#define DB_HOOK_ID_PREFIX "wh-"

/* In db_change_append's transaction: the rows for c (seq set). */
spreg_status db_outbox_enqueue(db_txn *t, const Spreg__V1__Change *c,
    arena *a, err *e);

/* Stores a new webhook: sets h->number and h->id ("wh-<number>"),
 * indexes it under its customer. h->id must have room for 32 bytes
 * (it is pointed at memory of a). */
spreg_status db_hook_add(db_txn *t, Spreg__V1__Webhook *h, arena *a,
    err *e);
/* By number; NOT_FOUND with e set naming the id. */
spreg_status db_hook_get(db_txn *t, uint64_t number, arena *a,
    Spreg__V1__Webhook **out, err *e);
/* "wh-<n>" -> n; false when id is not of that shape. */
bool db_hook_number(const char *id, uint64_t *number);
/* Rewrites a stored webhook (state, the sender's fields). */
spreg_status db_hook_put(db_txn *t, const Spreg__V1__Webhook *h, err *e);
/* Removes it, its index entry and its rows; *dropped counts those. */
spreg_status db_hook_remove(db_txn *t, uint64_t number, uint64_t *dropped,
    err *e);
/* All webhooks in number order, or a customer's (customer_id not NULL). */
spreg_status db_hook_list(db_txn *t, const char *customer_id, arena *a,
    Spreg__V1__Webhook ***out, size_t *n_out, err *e);

/* Up to max seqs owed to webhook number, ascending, after after_seq
 * (0: from the start, a test delivery included). */
spreg_status db_outbox_peek(db_txn *t, uint64_t number, uint64_t after_seq,
    uint64_t *seqs, size_t max, size_t *n_out, err *e);
/* Rows owed to webhook number (counted up to 10,000,000). */
spreg_status db_outbox_count(db_txn *t, uint64_t number, uint64_t *n_out,
    err *e);
/* Adds one row (seq 0: a test delivery). */
spreg_status db_outbox_put(db_txn *t, uint64_t number, uint64_t seq,
    err *e);
/* The row is delivered: gone (a missing row is fine). */
spreg_status db_outbox_ack(db_txn *t, uint64_t number, uint64_t seq,
    err *e);

/* The change at seq, decoded into a (NOT_FOUND when none). */
spreg_status db_change_get(db_txn *t, uint64_t seq, arena *a,
    Spreg__V1__Change **out, err *e);

#endif
