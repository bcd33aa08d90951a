/*
 * Stored values and their checksums: the one way src/db/ writes and
 * reads a value (records, history, the change log, customers,
 * announcements, objections, tokens, categories, saved replies, meta).
 *
 * A value is
 *     [DB_VALUE_FORMAT] [8 bytes: BLAKE2b of table name, key, payload]
 *     [payload]
 * and is checked on every read: a value whose checksum does not match
 * is never handed on. The reader gets DATA_LOSS naming the record
 * ("subprocessor 'stripe' revision 3") and the store turns read-only
 * (db_read_only). The key is covered too, so a record moved to another
 * key is damaged as well.
 *
 * Not covered: the indexes (their entries are keys; a dangling one is
 * reported as DATA_LOSS where it is followed) and "schema_version",
 * which says what format the rest is in.
 */
#ifndef DB_VALUE_H
#define DB_VALUE_H

#include "core/arena.h"
#include "core/err.h"
#include "core/pb.h"
#include "db/db.h"
#include "db/store.h"

#define DB_VALUE_FORMAT 1
#define DB_VALUE_SUM 8
#define DB_VALUE_HEADER (1 + DB_VALUE_SUM)

/* Writes payload under k (flags as for mdb_put, without MDB_RESERVE). */
spreg_status db_value_put(db_txn *t, db_table table, const MDB_val *k,
    const void *payload, size_t len, unsigned flags, err *e);
/* Packs msg straight into the value LMDB reserves. */
spreg_status db_value_put_message(db_txn *t, db_table table,
    const MDB_val *k, const ProtobufCMessage *msg, unsigned flags, err *e);

/* Checks v, read under k: on OK *payload points at the payload (in the
 * LMDB page: valid until the transaction ends). */
spreg_status db_value_check(db_txn *t, db_table table, const MDB_val *k,
    const MDB_val *v, MDB_val *payload, err *e);
/* mdb_get and check. A missing key is SPREG_NOT_FOUND with e untouched:
 * the caller words it. */
spreg_status db_value_get(db_txn *t, db_table table, const MDB_val *k,
    MDB_val *payload, err *e);
/* Check and decode into a. */
spreg_status db_value_decode(db_txn *t, db_table table, const MDB_val *k,
    const MDB_val *v, const ProtobufCMessageDescriptor *desc, arena *a,
    ProtobufCMessage **out, err *e);
/* Get, check and decode (NOT_FOUND as for db_value_get). */
spreg_status db_value_get_message(db_txn *t, db_table table,
    const MDB_val *k, const ProtobufCMessageDescriptor *desc, arena *a,
    ProtobufCMessage **out, err *e);

/* Every value of table whose key starts with the nprefix bytes of
 * prefix (nprefix 0: all), checked and decoded as desc into a, in key
 * order: *out (an array in a) and *n_out. */
spreg_status db_value_list(db_txn *t, db_table table, const void *prefix,
    size_t nprefix, const ProtobufCMessageDescriptor *desc, arena *a,
    ProtobufCMessage ***out, size_t *n_out, err *e);

/* The record a key names, for messages: "change seq 42". */
void db_value_name(db_table table, const MDB_val *k, char *buf, size_t len);

/* The header for payload under k (what db_value_put writes first). */
void db_value_seal(db_table table, const MDB_val *k, const void *payload,
    size_t len, unsigned char out[DB_VALUE_HEADER]);

/* DATA_LOSS in e with the message given, and the store read-only. */
spreg_status db_damaged(db_txn *t, err *e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
