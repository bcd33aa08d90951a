/*
 * The LMDB store. One environment per process, opened once with every
 * sub-database. Threads work through a db_session: it owns the thread's
 * read transaction (renewed per request, reset after) and lets a writer
 * that finds the map full quiesce every session and grow the map.
 *
 * Ownership: pointers into LMDB pages never leave this folder; records
 * are decoded into the caller's arena and are valid until it is reset.
 */
#ifndef DB_DB_H
#define DB_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>


#include "core/arena.h"
#include "core/err.h"

/* 2: hash-chained change log; 3: every value checksummed (db/value.h);
 * 4: purposes and kinds of recipient indexed; 5: fourth parties
 * indexed. An older store is migrated in place at open, a copy kept
 * beside it (data.mdb.v2.bak, data.mdb.v3.bak, data.mdb.v4.bak). */
#define DB_SCHEMA_VERSION 5

typedef struct db db;
typedef struct db_session db_session;

typedef struct db_options {
	const char *dir;	/* created when missing */
	size_t map_size;	/* initial map size in bytes; 0: 64 MiB */
	size_t map_max;		/* growth stops here; 0: 1 TiB */
	/* Names of files beside the store that only a store leaves
	 * (spregd: "admin.token"), NULL-terminated, or NULL. With data.mdb
	 * missing and one of these there, db_open refuses: not a first
	 * start. A first start cut short removes them with the rest. */
	const char *const *markers;
	/* A new store stays marked unfinished until db_created_done, so
	 * that a first start cut short before then starts over. */
	bool hold_new;
	/* A co-located reader (a file:// client): the environment opened
	 * MDB_RDONLY beside a running or stopped spregd. Takes no folder
	 * lock, creates, migrates and marks nothing; map_size, markers and
	 * hold_new are ignored; every write fails FAILED_PRECONDITION. */
	bool reader;
} db_options;

/* A transaction and the first LMDB error met in it (sticky: after a
 * failed put the transaction is dead and only abort is left). */
typedef struct db_txn db_txn;

/* LMDB's transaction: its type and calls are for src/db/ alone
 * (db/store.h); above db/ nothing compiles against <lmdb.h>. */
struct MDB_txn;
struct Spreg__V1__Change;

/*
 * The changes a write transaction appended to the log, in seq order:
 * the caller's, handed to db_write_begin or db_nested_begin, and read
 * by it during the transaction and after the commit (to publish them).
 * Zero it before use. The list grows in the arena each change was
 * appended with (db_change_append's), so it lives as long as they do.
 * Emptied when its transaction begins and when it is aborted.
 */
typedef struct db_appended {
	struct Spreg__V1__Change **changes;
	size_t n;
	size_t cap;
	bool incomplete;	/* out of memory: some are not listed */
} db_appended;

struct db_txn {
	struct MDB_txn *txn;	/* db/ only */
	db *d;
	int mdb_rc;		/* db/ only: see db_txn_dead */
	db_session *s;		/* db/ only: a write's session */
	db_txn *parent;		/* db/ only: a nested transaction's */
	size_t map_seen;	/* db/ only: the map size at begin */
	db_appended *appended;	/* NULL: the changes are not listed */
};

/*
 * Locks the folder (flock on spregd.lock, held until db_close; a second
 * opener is refused with UNAVAILABLE naming the holder's pid), then opens
 * the store in it, or creates one when the folder holds none (a first
 * start). An empty or short data.mdb, or one missing beside the files a
 * store leaves, is refused (DATA_LOSS, naming the file), never taken for
 * a first start. A full disk is RESOURCE_EXHAUSTED.
 */
spreg_status db_open(const db_options *o, db **out, err *e);
/*
 * Clears the reader slots of processes that died (a killed co-located
 * reader), so that their snapshots pin no pages; *dead counts them.
 * spregd calls it at open and on every tick.
 */
spreg_status db_reader_check(db *d, int *dead, err *e);
/* True when db_open created the store: a first start. */
bool db_created(const db *d);
/* Ends a first start opened with hold_new. */
spreg_status db_created_done(db *d, err *e);
/* All sessions must be destroyed first. Releases the folder. */
void db_close(db *d);

spreg_status db_session_create(db *d, db_session **out);
void db_session_destroy(db_session *s);

/* Starts the session's read transaction; db_read_end must follow. In a
 * reader, a map the server grew since is adopted first. */
spreg_status db_read_begin(db_session *s, db_txn *t, err *e);
void db_read_end(db_session *s);

/*
 * Writing. The caller drives the transaction; nothing here calls back:
 *
 *	db_txn t;
 *	do {
 *		if ((st = db_write_begin(s, &t, &appended, e)) != SPREG_OK) {
 *			break;
 *		}
 *		st = ... db_* puts on &t ...;
 *	} while (db_write_retry(&t, &st, e));
 *
 * db_write_begin starts a write transaction in session s (which must
 * not be in a read; the session is held until db_write_retry) and
 * empties appended (NULL: not wanted). A read-only store (see
 * db_set_read_only) or a co-located reader refuses FAILED_PRECONDITION.
 */
spreg_status db_write_begin(db_session *s, db_txn *t, db_appended *appended,
    err *e);
/*
 * Ends the transaction: when *st is OK and no LMDB call failed in it,
 * commits it durably (fsync), else aborts it. Returns true when the map
 * was full: it has been grown and the caller must run the whole
 * transaction again from db_write_begin, deriving everything from the
 * store again. Otherwise returns false with *st the outcome (a failed
 * commit sets it).
 */
bool db_write_retry(db_txn *t, spreg_status *st, err *e);

/*
 * A nested transaction of parent (a write): what it writes becomes part
 * of parent at db_nested_end, or vanishes. Group commit runs each
 * request in one, so a failing request is rolled back alone; a "what
 * if" runs in one and discards it. appended (NULL: not wanted) must not
 * be parent's list. The parent is used through child only, until the
 * end.
 */
spreg_status db_nested_begin(db_txn *parent, db_txn *child,
    db_appended *appended, err *e);
/*
 * Keeps child in its parent when st is OK and nothing failed in child,
 * else aborts it. Returns st, or the failure met. A full map makes the
 * parent dead too: db_write_retry then grows the map and asks for
 * everything again.
 */
spreg_status db_nested_end(db_txn *child, spreg_status st, err *e);
/* Aborts child whatever st says (a dry run); returns st, or the
 * failure met in child. Its appended changes are not kept. */
spreg_status db_nested_discard(db_txn *child, spreg_status st, err *e);

/*
 * The store's identity, "<16 hex digits>-<generation>": the digits are
 * fixed at creation, the generation goes up whenever the store found at
 * open is not the one this data folder held when a server last had it
 * (a restored copy, or another store put in its place). See identity.c.
 */
const char *db_store_identity(db *d);

/*
 * Read-only after damage. The first DATA_LOSS met in the store (a value
 * whose checksum fails, a record that does not decode) turns the store
 * read-only for the rest of the process, with a loud error log: every
 * db_write_begin then fails FAILED_PRECONDITION naming the
 * damage, while reads of undamaged records go on. An operator restores
 * or repairs the store and restarts spregd.
 */
void db_set_read_only(db *d, const char *why);
/* True when read-only; why (may be NULL) gets the first reason. */
bool db_read_only(db *d, char *why, size_t len);

/* Current map size in bytes. */
size_t db_map_size(db *d);

/* True once an LMDB call failed in t: only abort is left (a failed
 * dry run leaves it so when the store itself failed, not the data). */
bool db_txn_dead(const db_txn *t);

/* Sub-databases. */
typedef enum db_table {
	DB_META,
	DB_SP,		/* id -> packed Subprocessor (current revision) */
	DB_SP_HIST,	/* id NUL be64(revision) -> packed Subprocessor */
	DB_CHANGES,	/* be64(seq) -> packed Change */
	DB_IDX_CATEGORY,	/* key and every ancestor -> id (dupsort) */
	DB_IDX_COUNTRY,	/* country -> id (dupsort) */
	DB_IDX_MECHANISM,	/* mechanism id -> id (dupsort) */
	DB_IDX_SERVICE,	/* service -> id (dupsort) */
	DB_IDX_STATUS,	/* "active" etc. -> id (dupsort) */
	DB_REQUESTS,	/* be64(request id) -> be64(store time) digest reply */
	DB_REQUEST_TIMES,	/* be64(store time) be64(request id) -> "" */
	DB_CATEGORIES,	/* user-added category key -> packed DataCategory */
	DB_CUSTOMERS,	/* id -> packed Customer */
	DB_IDX_CUSTOMER_SERVICE,	/* service -> customer id (dupsort) */
	DB_ANNOUNCEMENTS,	/* be64(seq) -> packed Announcement */
	DB_DUE,		/* be32(effective day) be64(seq) -> "" (pending) */
	DB_OBJECTIONS,	/* be64(change seq) customer id -> packed Objection */
	DB_IDX_OBJECTION_CUSTOMER,	/* customer id -> be64(change seq) (dupsort) */
	DB_TOKENS,	/* token id -> packed Token (with its salted hash) */
	DB_SP_DUE,	/* be32(day) id -> 'a' (becomes active) or 'r' (retired) */
	/* Delivery (db/outbox.h). Tables added since schema 3 are made
	 * empty at open: an older store needs no migration. */
	DB_HOOKS,	/* be64(number) -> packed Webhook */
	DB_IDX_HOOK_CUSTOMER,	/* customer id -> be64(number) (dupsort) */
	DB_OUTBOX,	/* be64(number) be64(seq) -> "" (to deliver) */
	DB_IDX_PURPOSE,	/* data-use key and every ancestor -> id (dupsort) */
	DB_IDX_KIND,	/* kind ("subprocessor" for none) -> id (dupsort) */
	DB_IDX_SELECTED,	/* customer -> customer_selected id (dupsort) */
	DB_IDX_FOURTH_PARTY,	/* fourth party id -> vendor id (dupsort) */
	DB_FOLLOWS,	/* vendor id NUL url -> packed Follow (db/follow.h) */
	DB_NTABLES
} db_table;

const char *db_table_name(db_table table);

/* Big-endian fixed-width keys: memcmp order is numeric order. */
void db_be64_put(unsigned char out[8], uint64_t v);
void db_be32_put(unsigned char out[4], uint32_t v);
uint32_t db_be32_get(const unsigned char in[4]);
uint64_t db_be64_get(const unsigned char in[8]);

#endif
