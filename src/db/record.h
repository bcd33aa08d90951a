/*
 * Records in the store: subprocessors with their history and indexes,
 * the change log, applied request ids and user data categories. Every
 * function works inside a db_txn; writers call them from a db_write
 * callback so a record, its indexes, its history and its change-log
 * entry commit together or not at all.
 *
 * Decoded messages are allocated in the arena passed in and are valid
 * until it is reset; they never point into LMDB pages.
 */
#ifndef DB_RECORD_H
#define DB_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/pb.h"
#include "db/db.h"

#define DB_DIGEST_LEN 32

/* Filters are AND-combined; NULL or "" does not restrict. */
typedef struct db_sp_filter {
	const char *category;	/* matches the key and keys below it */
	const char *country;
	const char *mechanism;
	const char *service;
	Spreg__V1__SubprocessorStatus status;	/* UNSPECIFIED: any */
} db_sp_filter;

/* Who writes and when; recorded in the record and its Change. */
typedef struct db_actor {
	const char *name;
	uint64_t request_id;
	int64_t now_ms;
} db_actor;

/* revision 0: the current one. NOT_FOUND names the id. */
spreg_status db_sp_get(db_txn *t, const char *id, uint64_t revision,
    arena *a, Spreg__V1__Subprocessor **out, err *e);

/*
 * Creates or replaces sp (already validated). Sets its server fields.
 * expected_revision != 0 must equal the stored revision, and
 * create_only fails ALREADY_EXISTS on a taken id (FAILED_PRECONDITION
 * and ALREADY_EXISTS name the revisions). A put identical to the stored
 * record changes nothing and sets *change_out to NULL.
 */
spreg_status db_sp_put(db_txn *t, Spreg__V1__Subprocessor *sp,
    uint64_t expected_revision, bool create_only, const db_actor *who,
    arena *a, Spreg__V1__Change **change_out, err *e);

/* Marks id retired from effective_until ("" = the actor's today). */
spreg_status db_sp_retire(db_txn *t, const char *id,
    uint64_t expected_revision, const char *effective_until,
    const db_actor *who, arena *a, Spreg__V1__Subprocessor **sp_out,
    Spreg__V1__Change **change_out, err *e);

/*
 * Up to limit records matching f with id > after_id ("" for the start),
 * in id order, driven by the most selective index of the filter (never
 * a scan of all records when a filter is set). *more_out tells whether
 * further matches exist.
 */
spreg_status db_sp_list(db_txn *t, const db_sp_filter *f,
    const char *after_id, size_t limit, arena *a,
    Spreg__V1__Subprocessor ***out, size_t *n_out, bool *more_out, err *e);

spreg_status db_sp_count(db_txn *t, uint64_t *total, uint64_t *active,
    err *e);

/* Assigns c->seq (last + 1) and appends c to the log. */
spreg_status db_change_append(db_txn *t, Spreg__V1__Change *c, err *e);
/* Changes with seq > since_seq, at most limit. */
spreg_status db_change_list(db_txn *t, uint64_t since_seq, size_t limit,
    arena *a, Spreg__V1__Change ***out, size_t *n_out, err *e);
/* 0 for an empty log. */
spreg_status db_change_last_seq(db_txn *t, uint64_t *seq_out, err *e);

/*
 * Applied writes, so a resent request is answered from the record of
 * the first. NOT_FOUND when request_id is new; INVALID_ARGUMENT when it
 * was used for a different request (digest differs). The reply bytes are
 * copied into the arena.
 */
spreg_status db_request_find(db_txn *t, uint64_t request_id,
    const unsigned char digest[DB_DIGEST_LEN], arena *a, void **reply_out,
    size_t *len_out, err *e);
/* Saves the reply; also forgets up to a few entries older than
 * DB_REQUEST_TTL_MS. */
spreg_status db_request_save(db_txn *t, uint64_t request_id,
    const unsigned char digest[DB_DIGEST_LEN], const void *reply, size_t len,
    int64_t now_ms, err *e);
#define DB_REQUEST_TTL_MS (24LL * 3600 * 1000)

/* User-added data categories. */
spreg_status db_category_get(db_txn *t, const char *key, arena *a,
    Spreg__V1__DataCategory **out, err *e);
spreg_status db_category_put(db_txn *t, const Spreg__V1__DataCategory *c,
    err *e);
spreg_status db_category_list(db_txn *t, arena *a,
    Spreg__V1__DataCategory ***out, size_t *n_out, err *e);

/* The server secret made at creation (for page-token MACs). */
spreg_status db_secret(db_txn *t, unsigned char out[32], err *e);

#endif
