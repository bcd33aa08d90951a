/*
 * Inside src/db/ only: LMDB itself (the handles and error conversion
 * every file of db/ uses), and the steps of opening a store that live
 * beside db.c (migration.c, identity.c).
 */
#ifndef DB_STORE_H
#define DB_STORE_H

#include <lmdb.h>
#include <string.h>

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
/* "proposed", "active", "retired" (the status index's keys). */
const char *db_sp_status_key(Spreg__V1__SubprocessorStatus s);
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
