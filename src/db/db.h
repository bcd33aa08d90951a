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

/* Told of each Change appended to the log in a write transaction. */
typedef void (*db_append_fn)(void *arg, const void *change);

/* LMDB's transaction: its type and calls are for src/db/ alone
 * (db/store.h); above db/ nothing compiles against <lmdb.h>. */
struct MDB_txn;

struct db_txn {
	struct MDB_txn *txn;	/* db/ only */
	db *d;
	int mdb_rc;		/* db/ only: see db_txn_dead */
	db_append_fn on_append;	/* NULL unless the writer asked */
	void *on_append_arg;
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
 * Runs fn in a write transaction and commits it durably (fsync) before
 * returning OK. fn may run more than once: when the map is full the
 * transaction is aborted, the map grown and fn run again, so fn must
 * derive everything from the transaction. The session must not be in a
 * read.
 */
typedef spreg_status (*db_write_fn)(db_txn *t, void *arg, err *e);
spreg_status db_write(db_session *s, db_write_fn fn, void *arg, err *e);

/*
 * Group commit: runs each item's fn in a nested transaction of one write
 * transaction, so a failing item is rolled back alone, and commits them
 * all with one fsync. Each item's status (and message) is set; a failed
 * final commit fails every item. Same retry rule as db_write.
 */
typedef struct db_batch_item {
	db_write_fn fn;
	void *arg;
	spreg_status st;
	err e;
} db_batch_item;
void db_write_batch(db_session *s, db_batch_item *items, size_t n);

/*
 * A "what if" inside a write: runs fn in a child transaction of t and
 * always aborts it, so nothing fn writes stays and no change it appends
 * is reported (on_append is not called). Returns fn's status; t stays
 * usable either way.
 */
spreg_status db_txn_dry_run(db_txn *t, db_write_fn fn, void *arg, err *e);

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
 * db_write and db_write_batch then fails FAILED_PRECONDITION naming the
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
	DB_NTABLES
} db_table;

const char *db_table_name(db_table table);

/* Big-endian fixed-width keys: memcmp order is numeric order. */
void db_be64_put(unsigned char out[8], uint64_t v);
void db_be32_put(unsigned char out[4], uint32_t v);
uint32_t db_be32_get(const unsigned char in[4]);
uint64_t db_be64_get(const unsigned char in[8]);

#endif
