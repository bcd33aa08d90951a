/*
 * Small stores beside the records: saved replies of applied writes
 * (at most once per request id), user data categories, the server
 * secret and counters in DB_META.
 */
#include <stdlib.h>
#include <string.h>

#include "db/record.h"
#include "db/value.h"

spreg_status
db_request_find(db_txn *t, uint64_t request_id,
    const unsigned char digest[DB_DIGEST_LEN], arena *a, void **reply_out,
    size_t *len_out, err *e)
{
	unsigned char kbuf[8];
	MDB_val k = {sizeof(kbuf), kbuf}, v;

	db_be64_put(kbuf, request_id);
	spreg_status st = db_value_get(t, DB_REQUESTS, &k, &v, e);
	if (st != SPREG_OK) {
		return st;	/* NOT_FOUND: a new request id */
	}
	if (v.mv_size < 8 + DB_DIGEST_LEN) {
		return db_damaged(t, e, "saved reply of request %llu: short "
		    "record", (unsigned long long) request_id);
	}
	if (memcmp((unsigned char *) v.mv_data + 8, digest, DB_DIGEST_LEN) !=
	    0) {
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "request_id: %llu was already used for a different request",
		    (unsigned long long) request_id);
	}
	size_t len = v.mv_size - 8 - DB_DIGEST_LEN;
	void *copy = arena_alloc(a, len + 1);
	if (copy == NULL) {
		return err_oom(e, NULL);
	}
	memcpy(copy, (unsigned char *) v.mv_data + 8 + DB_DIGEST_LEN, len);
	*reply_out = copy;
	*len_out = len;
	return SPREG_OK;
}

spreg_status
db_request_newest(db_txn *t, int64_t *time_out, err *e)
{
	MDB_cursor *cur;
	MDB_val k, v;
	int rc;

	if ((rc = mdb_cursor_open(t->txn, db_dbi(t->d, DB_REQUEST_TIMES),
	         &cur)) != 0) {
		return db_fail(t, rc, "requests", e);
	}
	rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
	mdb_cursor_close(cur);
	if (rc == MDB_NOTFOUND) {
		*time_out = 0;
		return SPREG_OK;
	}
	if (rc != 0) {
		return db_fail(t, rc, "requests", e);
	}
	if (k.mv_size != 16) {
		return err_set(e, SPREG_DATA_LOSS, "requests: bad time key");
	}
	*time_out = (int64_t) db_be64_get(k.mv_data);
	return SPREG_OK;
}

/* Forgets a few of the oldest entries past their time to live. */
static spreg_status
prune_requests(db_txn *t, int64_t now_ms, err *e)
{
	MDB_cursor *cur;
	MDB_val k, v;
	int rc;

	if ((rc = mdb_cursor_open(t->txn, db_dbi(t->d, DB_REQUEST_TIMES),
	         &cur)) != 0) {
		return db_fail(t, rc, "requests", e);
	}
	for (int i = 0; i < 4; i++) {
		if ((rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST)) != 0) {
			break;
		}
		if (k.mv_size != 16 ||
		    (int64_t) db_be64_get(k.mv_data) > now_ms -
		        DB_REQUEST_TTL_MS) {
			break;
		}
		MDB_val rk = {8, (unsigned char *) k.mv_data + 8};
		rc = mdb_del(t->txn, db_dbi(t->d, DB_REQUESTS), &rk, NULL);
		if ((rc != 0 && rc != MDB_NOTFOUND) ||
		    (rc = mdb_cursor_del(cur, 0)) != 0) {
			mdb_cursor_close(cur);
			return db_fail(t, rc, "requests", e);
		}
	}
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND) {
		return db_fail(t, rc, "requests", e);
	}
	return SPREG_OK;
}

spreg_status
db_request_save(db_txn *t, uint64_t request_id,
    const unsigned char digest[DB_DIGEST_LEN], const void *reply, size_t len,
    int64_t now_ms, err *e)
{
	unsigned char kbuf[8], tbuf[16];
	MDB_val k = {sizeof(kbuf), kbuf};
	MDB_val v = {8 + DB_DIGEST_LEN + len, NULL};
	spreg_status st;
	int rc;

	if ((st = prune_requests(t, now_ms, e)) != SPREG_OK) {
		return st;
	}
	db_be64_put(kbuf, request_id);
	unsigned char *rec = malloc(8 + DB_DIGEST_LEN + len + 1);
	if (rec == NULL) {
		return err_oom(e, NULL);
	}
	db_be64_put(rec, (uint64_t) now_ms);
	memcpy(rec + 8, digest, DB_DIGEST_LEN);
	memcpy(rec + 8 + DB_DIGEST_LEN, reply, len);
	st = db_value_put(t, DB_REQUESTS, &k, rec, v.mv_size, 0, e);
	free(rec);
	if (st != SPREG_OK) {
		return st;
	}
	db_be64_put(tbuf, (uint64_t) now_ms);
	db_be64_put(tbuf + 8, request_id);
	k = (MDB_val) {sizeof(tbuf), tbuf};
	v = (MDB_val) {0, ""};
	if ((rc = mdb_put(t->txn, db_dbi(t->d, DB_REQUEST_TIMES), &k, &v,
	         0)) != 0) {
		return db_fail(t, rc, "requests", e);
	}
	return SPREG_OK;
}

spreg_status
db_category_get(db_txn *t, const char *key, arena *a,
    Spreg__V1__DataCategory **out, err *e)
{
	MDB_val k = db_str_val(key);

	if (k.mv_size == 0 || k.mv_size > DB_KEY_MAX) {
		return SPREG_NOT_FOUND;
	}
	return db_value_get_message(t, DB_CATEGORIES, &k,
	    &spreg__v1__data_category__descriptor, a,
	    (ProtobufCMessage **) out, e);
}

spreg_status
db_category_put(db_txn *t, const Spreg__V1__DataCategory *c, err *e)
{
	MDB_val k = db_str_val(c->key);
	return db_value_put_message(t, DB_CATEGORIES, &k, &c->base, 0, e);
}

spreg_status
db_category_list(db_txn *t, arena *a, Spreg__V1__DataCategory ***out,
    size_t *n_out, err *e)
{
	MDB_stat stat;
	MDB_cursor *cur;
	MDB_val k, v;
	spreg_status st = SPREG_OK;
	size_t n = 0;
	int rc;

	if ((rc = mdb_stat(t->txn, db_dbi(t->d, DB_CATEGORIES), &stat)) != 0 ||
	    (rc = mdb_cursor_open(t->txn, db_dbi(t->d, DB_CATEGORIES),
	         &cur)) != 0) {
		return db_fail(t, rc, "categories", e);
	}
	Spreg__V1__DataCategory **items = arena_alloc(a,
	    (stat.ms_entries + 1) * sizeof(*items));
	if (items == NULL) {
		mdb_cursor_close(cur);
		return err_oom(e, NULL);
	}
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
	     rc == 0 && n < stat.ms_entries;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if ((st = db_value_decode(t, DB_CATEGORIES, &k, &v,
		         &spreg__v1__data_category__descriptor, a,
		         (ProtobufCMessage **) &items[n], e)) != SPREG_OK) {
			break;
		}
		n++;
	}
	mdb_cursor_close(cur);
	*out = items;
	*n_out = n;
	return st;
}

spreg_status
db_secret(db_txn *t, unsigned char out[32], err *e)
{
	MDB_val k = db_str_val("secret"), v;
	spreg_status st = db_value_get(t, DB_META, &k, &v, e);

	if (st == SPREG_NOT_FOUND || (st == SPREG_OK && v.mv_size != 32)) {
		return db_damaged(t, e, "store meta 'secret': missing or of "
		    "the wrong size");
	}
	if (st != SPREG_OK) {
		return st;
	}
	memcpy(out, v.mv_data, 32);
	return SPREG_OK;
}

spreg_status
db_meta_get_u64(db_txn *t, const char *key, uint64_t *out, err *e)
{
	MDB_val k = db_str_val(key), v;
	spreg_status st = db_value_get(t, DB_META, &k, &v, e);

	if (st == SPREG_NOT_FOUND) {
		return err_set(e, SPREG_NOT_FOUND, "meta: no %s", key);
	}
	if (st != SPREG_OK) {
		return st;
	}
	if (v.mv_size != 8) {
		return db_damaged(t, e, "store meta '%s': bad size", key);
	}
	*out = db_be64_get(v.mv_data);
	return SPREG_OK;
}

spreg_status
db_meta_put_u64(db_txn *t, const char *key, uint64_t value, err *e)
{
	unsigned char buf[8];
	MDB_val k = db_str_val(key);

	db_be64_put(buf, value);
	return db_value_put(t, DB_META, &k, buf, sizeof(buf), 0, e);
}
