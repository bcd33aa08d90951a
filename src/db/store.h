/*
 * Inside src/db/ only: LMDB itself (the handles and error conversion
 * every file of db/ uses), and the steps of opening a store that live
 * beside db.c (migration.c, identity.c).
 */
#ifndef DB_STORE_H
#define DB_STORE_H

#include <lmdb.h>

#include "db/db.h"

#define DB_IDENTITY_MAX 48
#define DB_IDENTITY_FILE "store.id"	/* the marker, in the data folder */

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

#endif
