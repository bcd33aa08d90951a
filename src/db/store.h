/*
 * Inside src/db/ only: LMDB itself (the handles and error conversion
 * every file of db/ uses), and the steps of opening a store that live
 * beside db.c (migration.c, identity.c).
 */
#ifndef DB_STORE_H
#define DB_STORE_H

#include <limits.h>
#include <lmdb.h>
#include <pthread.h>
#include <string.h>
#include <sys/types.h>

#include "db/db.h"
#include "db/record.h"

#define DB_IDENTITY_MAX 48
#define DB_IDENTITY_FILE "store.id"	/* the marker, in the data folder */

#define DB_KEY_MAX 511	/* LMDB's default maximum key size */

static inline MDB_val
db_str_val(const char *s)
{
	return (MDB_val) {strlen(s), (void *) s};
}

/* The files of a data folder. */
#define DB_DATA_FILE "data.mdb"
#define DB_LMDB_LOCK "lock.mdb"
#define DB_FOLDER_LOCK "spregd.lock"	/* flock: one server per folder */
#define DB_NEW_MARK "spregd.new"	/* a first start not yet finished */

/* Two meta pages of the smallest page LMDB uses on Linux: a shorter data
 * file cannot hold a store. */
#define DB_FILE_MIN 8192
/* lock.mdb is allocated before LMDB maps it, so that a reader slot on a
 * full disk is an error at start, not a SIGBUS later: 1024 reader slots
 * of 64 bytes and the header fit (LMDB sizes its table by the file). */
#define DB_LOCK_BYTES ((off_t) 128 << 10)

struct db_session {
	db *d;
	MDB_txn *rtxn;		/* reset between requests */
	pthread_mutex_t mu;	/* held while a txn of this session is live */
	db_session *next;
};

/*
 * value.c: current records (DB_SP) whose bytes passed their checksum,
 * by key. The checksum is a function of the table, the key and the
 * bytes, so a value read again with the very same bytes passes again:
 * comparing them replaces the hash (a page of 100 records paid 30% of
 * spregd's CPU for it). Any byte that differs is hashed again.
 */
#define DB_VERIFIED_SLOTS 2048
#define DB_VERIFIED_STRIPES 64
#define DB_VERIFIED_KEY_MAX 64	/* VALIDATE_ID_MAX: every record id */
#define DB_VERIFIED_VALUE_MAX 4096	/* larger values are always hashed */

typedef struct db_verified_slot {
	size_t klen;		/* 0: empty */
	size_t vlen, cap;
	unsigned char key[DB_VERIFIED_KEY_MAX];
	unsigned char *value;	/* the whole stored value, header too */
} db_verified_slot;

typedef struct db_verified {
	pthread_mutex_t mu[DB_VERIFIED_STRIPES];	/* slot i: i % STRIPES */
	db_verified_slot slot[DB_VERIFIED_SLOTS];
} db_verified;

void db_verified_init(db_verified *v);
void db_verified_fini(db_verified *v);

struct db {
	MDB_env *env;
	char *dir;
	int lock_fd;		/* flock held until db_close */
	bool created;		/* this open made a new store */
	bool created_open;	/* its DB_NEW_MARK is still there */
	char identity[DB_IDENTITY_MAX];
	pthread_mutex_t ro_mu;	/* guards read_only and ro_why */
	bool read_only;
	char ro_why[ERR_MSG_MAX];
	bool opened;		/* db_open succeeded: marker on close */
	bool reader;		/* MDB_RDONLY beside the server */
	MDB_dbi dbi[DB_NTABLES];
	size_t map_max;
	pthread_mutex_t list_mu;	/* guards sessions */
	pthread_mutex_t grow_mu;	/* one grower at a time */
	db_session *sessions;
	db_verified verified;
};

/* folder.c: the data folder around the store: one server per folder,
 * the marker of an unfinished first start, the files checked before
 * LMDB maps them. */
void db_folder_path(const db *d, const char *name, char out[PATH_MAX]);
spreg_status db_folder_sync(const db *d, err *e);
spreg_status db_folder_lock(db *d, err *e);
spreg_status db_folder_check(db *d, const db_options *o, bool *fresh,
    err *e);
spreg_status db_folder_mark_new(db *d, err *e);
spreg_status db_folder_reserve_lock(db *d, err *e);
/* A data file shorter than its last page is refused (DATA_LOSS) before
 * any page is read (that would be a SIGBUS). */
spreg_status db_check_size(db *d, err *e);

MDB_env *db_env(const db *d);
MDB_dbi db_dbi(const db *d, db_table table);
/* Converts an LMDB error, remembering it in t (sticky). */
spreg_status db_fail(db_txn *t, int rc, const char *what, err *e);

/*
 * Brings a store of schema version `from` to DB_SCHEMA_VERSION in one
 * write transaction, after copying it to DIR/data.mdb.v<from>.bak. No
 * other transaction may be live (called from db_open).
 */
spreg_status db_migrate(db *d, const char *dir, uint64_t from, err *e);

/*
 * In the open's write txn: compares the store with the marker file
 * DIR/store.id left by the last server, raises the generation when they
 * differ, and writes the identity to out. *changed: it was raised.
 */
spreg_status db_identity_check(db *d, MDB_txn *txn, const char *dir,
    char out[DB_IDENTITY_MAX], bool *changed, err *e);
/* A reader's view of the identity (nothing written). */
spreg_status db_identity_read(db *d, MDB_txn *txn,
    char out[DB_IDENTITY_MAX], err *e);
/* Writes the marker file (identity, last seq and its hash); a failure
 * is logged, not returned. No write txn of this thread may be live. */
void db_identity_mark(db *d, const char *dir);

/* Shared by the files of the subprocessor records (record.c, list.c,
 * changes.c, verify.c). */
/* The history key of revision of id: id NUL be64(revision). */
size_t db_hist_key(unsigned char *buf, const char *id, uint64_t revision);
/* fn on each record of table (DB_SP or DB_SP_HIST), each decoded in an
 * arena of its own; a damaged one is left to verify and reads. */
typedef spreg_status (*db_record_fn)(db_txn *t,
    const Spreg__V1__Subprocessor *sp, void *arg, err *e);
spreg_status db_each_record(db_txn *t, db_table table, db_record_fn fn,
    void *arg, err *e);
/* BLAKE2b-256 of data, after prev (a digest) when not NULL. */
void db_blake2b(const unsigned char *prev, const void *data, size_t len,
    unsigned char out[DB_DIGEST_LEN]);
/* A change's link in the chain: BLAKE2b(prev || c packed with an empty
 * hash). */
spreg_status db_chain_hash(const unsigned char prev[DB_DIGEST_LEN],
    Spreg__V1__Change *c, unsigned char out[DB_DIGEST_LEN], err *e);
/* BLAKE2b-256 of revision rev of id as stored in the history. */
spreg_status db_record_digest(db_txn *t, const char *id, uint64_t rev,
    arena *a, ProtobufCBinaryData *out, err *e);

#endif
