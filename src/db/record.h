/*
 * Records in the store: subprocessors with their history and indexes,
 * the change log, applied request ids and user data categories. Every
 * function works inside a db_txn; writers call them between
 * db_write_begin and db_write_retry, so a record, its indexes, its
 * history and its change-log entry commit together or not at all.
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
#include "spreg/v1/admin.pb-c.h"

#define DB_DIGEST_LEN 32

/* Filters are AND-combined; NULL or "" does not restrict. */
typedef struct db_sp_filter {
	const char *category;	/* matches the key and keys below it */
	const char *country;
	const char *mechanism;
	const char *service;
	Spreg__V1__SubprocessorStatus status;	/* UNSPECIFIED: any */
	/* When nany > 0: serving any of these services (a customer's). */
	char *const *any_service;
	size_t nany;
	/* With nany: that customer, whom alone a customer_selected vendor
	 * serves (it is left out of every other customer's view). */
	const char *for_customer;
	const char *purpose;	/* matches the key and keys below it */
	const char *kind;	/* core/vocab.h; "subprocessor" matches an
				 * empty kind */
	const char *fourth_party;	/* a fourth party's id */
} db_sp_filter;

/* Adds every current record to the indexes (the migration to 4);
 * *count records read. A damaged record is left to verify. */
spreg_status db_sp_reindex(db_txn *t, size_t *count, err *e);

/* Who writes and when; recorded in the record and its Change. */
typedef struct db_actor {
	const char *name;	/* free text the client gave */
	uint64_t request_id;
	int64_t now_ms;
	const char *token;	/* the authenticated token's name; NULL: the
				 * server itself */
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

/*
 * db_sp_put, with the emergency, reason, customer_id and effective_at of
 * note (NULL: none) in its Change.
 *
 * Dates settle the stored status on the writer's day: a vendor is in use
 * from effective_from (absent: the stored one, or today for a new vendor)
 * up to, not including, effective_until. Written active (or retired)
 * with a future effective_from, it is stored proposed and "upcoming":
 * db_apply_dates makes it active on that day. Written retired with a
 * future effective_until, it stays active until then. Proposed stays
 * proposed and never becomes active by itself.
 */
spreg_status db_sp_put_noted(db_txn *t, Spreg__V1__Subprocessor *sp,
    uint64_t expected_revision, bool create_only,
    const Spreg__V1__Change *note, const db_actor *who, arena *a,
    Spreg__V1__Change **change_out, err *e);

/* Is sp, as stored, proposed and upcoming (to become active by itself
 * on its effective_from)? */
spreg_status db_sp_upcoming(db_txn *t, const Spreg__V1__Subprocessor *sp,
    bool *out, err *e);

/* Schedules the dated retirement of sp as stored (a future
 * effective_until of a vendor not retired), for a store migrated from
 * a version that kept no schedule. */
spreg_status db_sp_schedule_stored(db_txn *t,
    const Spreg__V1__Subprocessor *sp, int32_t today, err *e);

/* Applies the dates due on or before today: upcoming vendors become
 * active (TOOK_EFFECT), dated retirements happen (RETIRED), each with
 * effective_at its date. *applied_out counts them. */
spreg_status db_apply_dates(db_txn *t, int32_t today, const db_actor *who,
    arena *a, size_t *applied_out, err *e);

/* Writes sp as db_sp_put does (no revision check, no no-op detection),
 * logging a change of tmpl's kind, ref_seq and effective_at. */
spreg_status db_sp_put_as(db_txn *t, Spreg__V1__Subprocessor *sp,
    const Spreg__V1__Change *tmpl, const db_actor *who, arena *a,
    Spreg__V1__Change **change_out, err *e);

/* Marks id retired from effective_until ("" = the actor's today): a
 * future date keeps it active until then (see db_sp_put_noted). */
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

/*
 * The same page, with each record's stored bytes appended as field
 * number `field` of the response being built (tag, length, bytes): no
 * decoding and re-encoding of records a reply only passes on.
 */
typedef struct db_packed_page {
	uint8_t *buf;		/* arena memory; NULL when empty */
	size_t len;
	size_t n;
	const char *last_id;
	bool more;
} db_packed_page;
spreg_status db_sp_list_packed(db_txn *t, const db_sp_filter *f,
    const char *after_id, size_t limit, uint32_t field, arena *a,
    db_packed_page *page, err *e);

/* The current record of id as stored (checked), as field `field` of the
 * response being built (tag, length, bytes), in a. */
spreg_status db_sp_get_packed(db_txn *t, const char *id, uint32_t field,
    arena *a, ProtobufCBinaryData *out, err *e);

spreg_status db_sp_count(db_txn *t, uint64_t *total, uint64_t *active,
    err *e);

/* Assigns c->seq (last + 1), chains c->hash to the previous entry's
 * (bytes in a) and appends c to the log; lists c in t's appended
 * changes (db_appended, grown in a), for the caller to publish after the
 * commit. c must live in a, or longer. */
spreg_status db_change_append(db_txn *t, Spreg__V1__Change *c, arena *a,
    err *e);
/* Checks the hash chain and every stored record against the log. */
spreg_status db_verify(db_txn *t, Spreg__V1__VerifyLogResponse *out,
    arena *a, err *e);
/*
 * Changes with seq > since_seq, at most limit, that match: all when both
 * filters are NULL; else those of one subprocessor, or those concerning
 * one customer (see db_customers_concerned). At most scan_max entries
 * are examined; *next_out is the seq to continue after.
 */
typedef struct db_change_filter {
	const char *subprocessor_id;
	const char *customer_id;
	char *const *customer_services;	/* the customer's services */
	size_t ncustomer_services;
} db_change_filter;
spreg_status db_change_list(db_txn *t, uint64_t since_seq, size_t limit,
    const db_change_filter *f, size_t scan_max, arena *a,
    Spreg__V1__Change ***out, size_t *n_out, uint64_t *next_out, err *e);
/* Do the two lists of services share one? (A vendor serves a customer,
 * a change concerns it.) */
bool db_services_meet(char *const *a, size_t na, char *const *b, size_t nb);
/*
 * Sets who a change to a vendor concerns, from its record before (NULL:
 * none) and after: the services of each record, and, for a record that
 * is a customer's own choice, that customer alone (selected_by;
 * selected_only when both are). Copies in a.
 */
spreg_status db_change_scope(Spreg__V1__Change *c,
    const Spreg__V1__Subprocessor *before,
    const Spreg__V1__Subprocessor *after, arena *a, err *e);
/*
 * Once per store, in db_open: notes the vendors that were a customer's
 * own choice before changes carried selected_by, so that db_change_list
 * reads those older changes as concerning that customer alone.
 */
spreg_status db_scope_legacy_init(db_txn *t, err *e);
/* Does c concern the customer (its services, selected_by or its id)? */
bool db_change_concerns(const Spreg__V1__Change *c, const char *customer_id,
    char *const *services, size_t nservices);
/* 0 for an empty log. */
spreg_status db_change_last_seq(db_txn *t, uint64_t *seq_out, err *e);
/*
 * The hash of the change at seq (the chain's head when seq is the last),
 * in a. Empty for seq 0: an empty log has no head. NOT_FOUND when the log
 * has no entry at seq; DATA_LOSS when the entry has no well-formed hash.
 */
spreg_status db_change_hash(db_txn *t, uint64_t seq, arena *a,
    ProtobufCBinaryData *hash_out, err *e);

/*
 * Applied writes, so a resent request is answered from the record of
 * the first. NOT_FOUND when request_id is new; INVALID_ARGUMENT when it
 * was used for a different request (digest differs). The reply bytes are
 * copied into the arena.
 */
spreg_status db_request_find(db_txn *t, uint64_t request_id,
    const unsigned char digest[DB_DIGEST_LEN], arena *a, void **reply_out,
    size_t *len_out, err *e);
/*
 * Saves the reply; also forgets up to a few entries older than
 * DB_REQUEST_TTL_MS. Ages are in "store time" (now_ms), which the caller
 * keeps: a clock that only moves forward, at most as fast as real time,
 * and never with the wall clock's steps (see rpc.c). Stores written
 * before it was kept hold wall-clock times, where store time resumes.
 */
spreg_status db_request_save(db_txn *t, uint64_t request_id,
    const unsigned char digest[DB_DIGEST_LEN], const void *reply, size_t len,
    int64_t now_ms, err *e);
#define DB_REQUEST_TTL_MS (24LL * 3600 * 1000)
/* The store time of the newest saved reply; 0 when none is saved. */
spreg_status db_request_newest(db_txn *t, int64_t *time_out, err *e);

/* User-added data categories. */
spreg_status db_category_get(db_txn *t, const char *key, arena *a,
    Spreg__V1__DataCategory **out, err *e);
spreg_status db_category_put(db_txn *t, const Spreg__V1__DataCategory *c,
    err *e);
spreg_status db_category_list(db_txn *t, arena *a,
    Spreg__V1__DataCategory ***out, size_t *n_out, err *e);

/* The server secret made at creation (for page-token MACs). */
spreg_status db_secret(db_txn *t, unsigned char out[32], err *e);

/* Small named counters of the store (DB_META), e.g. "reassessed_on".
 * NOT_FOUND when key was never set. */
spreg_status db_meta_get_u64(db_txn *t, const char *key, uint64_t *out,
    err *e);
spreg_status db_meta_put_u64(db_txn *t, const char *key, uint64_t value,
    err *e);


/* Bearer tokens (admin.proto), stored with their salt and hash. */
spreg_status db_token_get(db_txn *t, const char *id, arena *a,
    Spreg__V1__Token **out, err *e);
spreg_status db_token_put(db_txn *t, const Spreg__V1__Token *tok, err *e);
/* Is there any token at all (revoked ones count)? */
spreg_status db_token_any(db_txn *t, bool *any, err *e);
/* Every token, in id order. */
spreg_status db_token_list(db_txn *t, arena *a, Spreg__V1__Token ***out,
    size_t *n_out, err *e);

/* Customers: a customer is concerned by the vendors of its services. */
spreg_status db_customer_get(db_txn *t, const char *id, arena *a,
    Spreg__V1__Customer **out, err *e);
/* c is validated; sets its server fields; logs CUSTOMER_UPDATED. */
spreg_status db_customer_put(db_txn *t, Spreg__V1__Customer *c,
    uint64_t expected_revision, const db_actor *who, arena *a,
    Spreg__V1__Change **change_out, err *e);
spreg_status db_customer_delete(db_txn *t, const char *id,
    const db_actor *who, arena *a, Spreg__V1__Change **change_out, err *e);
spreg_status db_customer_list(db_txn *t, const char *after_id, size_t limit,
    arena *a, Spreg__V1__Customer ***out, size_t *n_out, bool *more_out,
    err *e);
spreg_status db_customer_count(db_txn *t, uint64_t *count, err *e);
/* Customers using any of services, each once, in id order. */
spreg_status db_customers_of_services(db_txn *t, char *const *services,
    size_t nservices, arena *a, Spreg__V1__Customer ***out, size_t *n_out,
    err *e);
/* Ids of the customers a change concerns: users of its services, its
 * selected_by and its customer_id. */
spreg_status db_customers_concerned(db_txn *t, const Spreg__V1__Change *c,
    arena *a, const char ***ids_out, size_t *n_out, err *e);

/*
 * Announced changes (GDPR Art. 28(2) advance notice). sp is the record
 * as it will be on effective_day; a new vendor is created at once with
 * status proposed. Logs ANNOUNCED (and CREATED for a new vendor). One
 * pending announcement per subprocessor.
 */
typedef struct db_announce {
	Spreg__V1__Subprocessor *sp;	/* validated */
	int32_t effective_day;
	bool emergency;
	const char *reason;
	uint64_t expected_revision;
	const char *customer_id;	/* owed the longest notice; "" */
} db_announce;
spreg_status db_announcement_put(db_txn *t, const db_announce *an,
    const db_actor *who, arena *a, Spreg__V1__Announcement **out,
    Spreg__V1__Change **change_out, err *e);
spreg_status db_announcement_get(db_txn *t, uint64_t seq, arena *a,
    Spreg__V1__Announcement **out, err *e);
spreg_status db_announcement_list(db_txn *t, bool include_applied,
    arena *a, Spreg__V1__Announcement ***out, size_t *n_out, err *e);
/*
 * Withdraws the announcement logged at seq before its effective date:
 * it leaves the due list and never applies; logs WITHDRAWN (ref_seq,
 * reason, the announcement's services). NOT_FOUND for a seq that is no
 * announcement; FAILED_PRECONDITION once applied or withdrawn, or from
 * its effective date on.
 */
spreg_status db_announcement_withdraw(db_txn *t, uint64_t seq,
    const char *reason, const db_actor *who, arena *a,
    Spreg__V1__Announcement **out, Spreg__V1__Change **change_out, err *e);
/* Applies every pending announcement due on or before today (TOOK_EFFECT,
 * status active); *applied_out counts them. */
spreg_status db_apply_due(db_txn *t, int32_t today, const db_actor *who,
    arena *a, size_t *applied_out, err *e);

/* Objections to an announced change, while its notice window is open
 * and it was not withdrawn. */
spreg_status db_objection_put(db_txn *t, const char *customer_id,
    uint64_t change_seq, const char *reason, const db_actor *who, arena *a,
    Spreg__V1__Objection **out, Spreg__V1__Change **change_out, err *e);
/* By change (customer_id NULL) or by customer (change_seq 0). */
spreg_status db_objection_list(db_txn *t, uint64_t change_seq,
    const char *customer_id, arena *a, Spreg__V1__Objection ***out,
    size_t *n_out, err *e);

/*
 * The registry at a point in time. A day (valid time): current records
 * with the announced changes due by then applied, kept when in effect
 * that day (effective_from <= day < effective_until) and shown active. A
 * moment (transaction time): each record as last written at or before
 * it, from the history. Filters are matched on the projected records,
 * so these calls scan every record: an audit query, not a hot path.
 */
typedef struct db_as_of {
	bool moment;
	int32_t day;
	int64_t ms;
} db_as_of;
spreg_status db_sp_get_as_of(db_txn *t, const char *id, const db_as_of *at,
    arena *a, Spreg__V1__Subprocessor **out, err *e);
spreg_status db_sp_list_as_of(db_txn *t, const db_sp_filter *f,
    const db_as_of *at, const char *after_id, size_t limit, arena *a,
    Spreg__V1__Subprocessor ***out, size_t *n_out, bool *more_out, err *e);

#endif
