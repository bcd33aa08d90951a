/*
 * Store migrations, run by db_open before anything else uses the store.
 * 2 -> 3: every value gets its checksum header (db/value.h), and
 * vendors in use with a future effective_until are scheduled to retire
 * on that day (version 2 kept no schedule, db/record.h).
 * 3 -> 4: every record is added to the purpose and kind indexes.
 * 4 -> 5: every record is added to the fourth-party index (and, again,
 * to the others: adding an entry that is there changes nothing).
 * Records themselves are never rewritten: their digests are in the log.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/date.h"
#include "core/log.h"
#include "db/record.h"
#include "db/store.h"
#include "db/value.h"
#include "spreg/v1/admin.pb-c.h"

/* The tables whose values are checksummed, and what each value is
 * (NULL: not a message, sealed as it stands). */
static const struct {
	db_table table;
	const ProtobufCMessageDescriptor *desc;
} sealed[] = {
	{DB_META, NULL},
	{DB_SP, &spreg__v1__subprocessor__descriptor},
	{DB_SP_HIST, &spreg__v1__subprocessor__descriptor},
	{DB_CHANGES, &spreg__v1__change__descriptor},
	{DB_REQUESTS, NULL},
	{DB_CATEGORIES, &spreg__v1__data_category__descriptor},
	{DB_CUSTOMERS, &spreg__v1__customer__descriptor},
	{DB_ANNOUNCEMENTS, &spreg__v1__announcement__descriptor},
	{DB_OBJECTIONS, &spreg__v1__objection__descriptor},
	{DB_TOKENS, &spreg__v1__token__descriptor},
};
#define NSEALED (sizeof(sealed) / sizeof(sealed[0]))

/* Copies the store as it is to path (fsynced). */
static spreg_status
keep_copy(db *d, const char *path, err *e)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int rc;

	if (fd < 0) {
		return err_set(e, SPREG_UNAVAILABLE, "%s: %s", path,
		    strerror(errno));
	}
	if ((rc = mdb_env_copyfd(db_env(d), fd)) != 0) {
		close(fd);
		return err_set(e, SPREG_UNAVAILABLE, "%s: %s", path,
		    mdb_strerror(rc));
	}
	if (fsync(fd) != 0) {
		int saved = errno;
		close(fd);
		return err_set(e, SPREG_UNAVAILABLE, "%s: %s", path,
		    strerror(saved));
	}
	close(fd);
	return SPREG_OK;
}

/* Seals every value of one table; *count, *bad count them. */
static int
seal_table(db_txn *t, size_t which, int32_t today, size_t *count,
    size_t *bad)
{
	db_table table = sealed[which].table;
	MDB_cursor *cur;
	MDB_val k, v;
	int rc;

	if ((rc = mdb_cursor_open(t->txn, db_dbi(t->d, table), &cur)) != 0) {
		return rc;
	}
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (table == DB_META && k.mv_size == strlen("schema_version") &&
		    memcmp(k.mv_data, "schema_version", k.mv_size) == 0) {
			continue;	/* stays readable without a format */
		}
		unsigned char kbuf[512];
		unsigned char *nv = malloc(DB_VALUE_HEADER + v.mv_size + 1);
		if (nv == NULL || k.mv_size > sizeof(kbuf)) {
			free(nv);
			rc = ENOMEM;
			break;
		}
		memcpy(kbuf, k.mv_data, k.mv_size);
		MDB_val kc = {k.mv_size, kbuf};
		memcpy(nv + DB_VALUE_HEADER, v.mv_data, v.mv_size);
		db_value_seal(table, &kc, nv + DB_VALUE_HEADER, v.mv_size, nv);
		/* A value already damaged must not come out of the
		 * migration looking sound: its checksum is left wrong. */
		if (sealed[which].desc != NULL) {
			ProtobufCMessage *m = protobuf_c_message_unpack(
			    sealed[which].desc, NULL, v.mv_size, v.mv_data);
			if (m == NULL) {
				char name[160];
				db_value_name(table, &kc, name, sizeof(name));
				log_error("migration: %s does not decode: "
				    "marked damaged", name);
				nv[1] ^= 0xff;
				(*bad)++;
			} else {
				if (table == DB_SP) {
					db_sp_schedule_stored(t,
					    (Spreg__V1__Subprocessor *) m, today,
					    NULL);
				}
				protobuf_c_message_free_unpacked(m, NULL);
				if (t->mdb_rc != 0) {
					free(nv);
					rc = t->mdb_rc;
					break;
				}
			}
		}
		MDB_val nval = {DB_VALUE_HEADER + v.mv_size, nv};
		rc = mdb_cursor_put(cur, &kc, &nval, MDB_CURRENT);
		free(nv);
		if (rc != 0) {
			break;
		}
		(*count)++;
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/* One transaction: from version 2 every value sealed, then every
 * record indexed, and the version raised. */
static int
upgrade(db *d, uint64_t from, size_t *count, size_t *bad, size_t *indexed)
{
	db_txn t = {.d = d};
	int rc;

	*count = *bad = *indexed = 0;
	if ((rc = mdb_txn_begin(db_env(d), NULL, 0, &t.txn)) != 0) {
		return rc;
	}
	int32_t today = date_from_ms(time_now_ms());
	for (size_t i = 0; from == 2 && i < NSEALED && rc == 0; i++) {
		rc = seal_table(&t, i, today, count, bad);
	}
	if (rc == 0) {
		err e;
		if (db_sp_reindex(&t, indexed, &e) != SPREG_OK) {
			rc = t.mdb_rc != 0 ? t.mdb_rc : ENOMEM;
		}
	}
	if (rc == 0) {
		unsigned char ver[8];
		MDB_val k = {strlen("schema_version"), "schema_version"};
		MDB_val v = {sizeof(ver), ver};
		db_be64_put(ver, DB_SCHEMA_VERSION);
		rc = mdb_put(t.txn, db_dbi(d, DB_META), &k, &v, 0);
	}
	if (rc != 0) {
		mdb_txn_abort(t.txn);
		return rc;
	}
	return mdb_txn_commit(t.txn);
}

spreg_status
db_migrate(db *d, const char *dir, uint64_t from, err *e)
{
	char path[PATH_MAX];
	size_t count, bad, indexed;
	spreg_status st;
	int rc;

	if (from < 2 || from > 4) {
		return err_set(e, SPREG_FAILED_PRECONDITION,
		    "data folder has schema version %llu; this server "
		    "migrates versions 2 to 4 only", (unsigned long long) from);
	}
	if ((size_t) snprintf(path, sizeof(path), "%s/data.mdb.v%llu.bak",
	        dir, (unsigned long long) from) >= sizeof(path)) {
		return err_set(e, SPREG_INVALID_ARGUMENT, "data folder: path "
		    "too long");
	}
	log_info("migrating the store in %s from schema version %llu to %d "
	    "(%spurposes, kinds and fourth parties indexed); keeping a copy "
	    "of it in %s",
	    dir, (unsigned long long) from, DB_SCHEMA_VERSION,
	    from == 2 ? "a checksum on every value, " : "", path);
	if ((st = keep_copy(d, path, e)) != SPREG_OK) {
		return st;
	}
	/* Each value grows by its header: the map may have to as well. */
	while ((rc = upgrade(d, from, &count, &bad, &indexed)) ==
	    MDB_MAP_FULL) {
		MDB_envinfo info;
		mdb_env_info(db_env(d), &info);
		if ((rc = mdb_env_set_mapsize(db_env(d),
		         info.me_mapsize * 2)) != 0) {
			break;
		}
	}
	if (rc != 0) {
		return err_set(e, SPREG_UNAVAILABLE, "migrating the store in "
		    "%s: %s (the store is unchanged; the copy is in %s)", dir,
		    mdb_strerror(rc), path);
	}
	log_info("migrated the store in %s to schema version %d: %zu values "
	    "checksummed%s, %zu records indexed; the version %llu store is "
	    "kept in %s", dir, DB_SCHEMA_VERSION, count,
	    bad ? " (some found damaged, above)" : "", indexed,
	    (unsigned long long) from, path);
	return SPREG_OK;
}
