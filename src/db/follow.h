/*
 * Follows (follow.proto): a vendor's fourth parties kept from a list
 * spregd fetches, stored under vendor id NUL url, with the poller's
 * view of each (last fetch, ETag, outcome, error, changes made).
 *
 * The table came after schema version 5 without a version of its own:
 * like the delivery tables, it is made empty when a store without it
 * is opened, so an older store needs no migration (db/migrate.c).
 *
 * Records point into the arena given (valid until it is reset).
 */
#ifndef DB_FOLLOW_H
#define DB_FOLLOW_H

#include "db/record.h"
#include "spreg/v1/follow.pb-c.h"

/* Bytes of a followed URL: with a vendor id the key fits LMDB's 511. */
#define DB_FOLLOW_URL_MAX 400

/* Stores f (new or replacing the one of its vendor and url). */
spreg_status db_follow_put(db_txn *t, const Spreg__V1__Follow *f, err *e);
/* NOT_FOUND with e untouched when vendor does not follow url. */
spreg_status db_follow_get(db_txn *t, const char *vendor, const char *url,
    arena *a, Spreg__V1__Follow **out, err *e);
/* Removes it (NOT_FOUND, e untouched, when there is none). */
spreg_status db_follow_delete(db_txn *t, const char *vendor,
    const char *url, err *e);
/* Every follow in (vendor, url) order, or a vendor's (vendor not NULL). */
spreg_status db_follow_list(db_txn *t, const char *vendor, arena *a,
    Spreg__V1__Follow ***out, size_t *n_out, err *e);
/*
 * Logs kind (CHANGE_FOLLOWED or CHANGE_UNFOLLOWED) of f's vendor, the
 * URL and interval in the reason. The change names no service: it
 * concerns our staff, not our customers (no webhook, no customer feed;
 * the public feed shows only changes to the list).
 */
spreg_status db_follow_log(db_txn *t, const Spreg__V1__Follow *f,
    Spreg__V1__ChangeKind kind, const db_actor *who, arena *a,
    Spreg__V1__Change **change_out, err *e);

#endif
