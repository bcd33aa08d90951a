/*
 * Listing subprocessors: a filter is answered by walking its most
 * selective index (the "driver") and checking the rest on each record;
 * counts, and the packed forms the co-located and HTTP readers use.
 */
#include <string.h>

#include "core/vocab.h"
#include "db/record.h"
#include "db/value.h"

/* The index and key a filter field selects, with its entry count. */
typedef struct driver {
	db_table table;
	const char *key;
	size_t count;
} driver;

static spreg_status
count_key(db_txn *t, MDB_cursor *cur, const driver *dr, size_t *count,
    err *e)
{
	MDB_val k = db_str_val(dr->key), v;
	size_t n = 0;
	int rc;

	if (k.mv_size == 0 || k.mv_size > DB_KEY_MAX) {
		*count = 0;
		return SPREG_OK;
	}
	(void) t;
	rc = mdb_cursor_get(cur, &k, &v, MDB_SET);
	if (rc == MDB_NOTFOUND) {
		*count = 0;
		return SPREG_OK;
	}
	if (rc != 0 || (rc = mdb_cursor_count(cur, &n)) != 0) {
		return db_fail(t, rc, "index", e);
	}
	*count = (size_t) n;
	return SPREG_OK;
}

/* Does the index have (key, id)? */
static spreg_status
index_has(db_txn *t, const driver *dr, const char *id, bool *has, err *e)
{
	MDB_cursor *cur;
	MDB_val k = db_str_val(dr->key), v = db_str_val(id);
	int rc;

	if ((rc = mdb_cursor_open(t->txn, db_dbi(t->d, dr->table), &cur)) !=
	    0) {
		return db_fail(t, rc, "index", e);
	}
	rc = mdb_cursor_get(cur, &k, &v, MDB_GET_BOTH);
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND) {
		return db_fail(t, rc, "index", e);
	}
	*has = rc == 0;
	return SPREG_OK;
}

/* Where listed records go: decoded into items, or their stored bytes
 * appended to buf as a repeated message field of a response. */
typedef struct sink {
	Spreg__V1__Subprocessor **items;	/* NULL: packed */
	uint32_t field;
	uint8_t *buf;
	size_t len, cap;
	size_t n;
	char *last_id;
} sink;

static size_t
varint(uint8_t *out, uint64_t v)
{
	size_t n = 0;
	do {
		out[n] = (uint8_t) (v & 0x7f);
		v >>= 7;
		out[n] |= v ? 0x80 : 0;
		n++;
	} while (v);
	return n;
}

/* An index names a record that is not there. */
static spreg_status
dangling(db_txn *t, const char *id, err *e)
{
	return db_damaged(t, e, "subprocessor '%.64s': listed by an index "
	    "but not stored (damaged index or record)", id);
}

static spreg_status
emit(db_txn *t, sink *s, const char *id, size_t idlen, arena *a, err *e)
{
	char *copy = arena_alloc(a, idlen + 1);

	if (copy == NULL) {
		return err_set(e, SPREG_RESOURCE_EXHAUSTED,
		    "list: decode budget exceeded");
	}
	memcpy(copy, id, idlen);
	copy[idlen] = '\0';
	if (s->items != NULL) {
		spreg_status st = db_sp_get(t, copy, 0, a, &s->items[s->n], e);
		if (st == SPREG_OK) {
			s->n++;
		}
		return st == SPREG_NOT_FOUND ? dangling(t, copy, e) : st;
	}
	/* Checked before it is passed on: a damaged record must not make
	 * the whole reply unreadable (and is never served). */
	MDB_val k = {idlen, copy}, v;
	spreg_status st = db_value_get(t, DB_SP, &k, &v, e);
	if (st == SPREG_NOT_FOUND) {
		return dangling(t, copy, e);
	}
	if (st != SPREG_OK) {
		return st;
	}
	/* tag, length, then the record exactly as stored. */
	size_t need = s->len + 20 + v.mv_size;
	if (need > s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 65536;
		while (cap < need) {
			cap *= 2;
		}
		uint8_t *buf = arena_alloc(a, cap);
		if (buf == NULL) {
			return err_set(e, SPREG_RESOURCE_EXHAUSTED,
			    "list: reply budget exceeded");
		}
		if (s->len > 0) {
			memcpy(buf, s->buf, s->len);
		}
		s->buf = buf;
		s->cap = cap;
	}
	s->len += varint(s->buf + s->len, (uint64_t) s->field << 3 | 2);
	s->len += varint(s->buf + s->len, v.mv_size);
	memcpy(s->buf + s->len, v.mv_data, v.mv_size);
	s->len += v.mv_size;
	s->last_id = copy;
	s->n++;
	return SPREG_OK;
}

/* A customer_selected vendor is in no other customer's view. */
static spreg_status
kept_for_customer(db_txn *t, const char *customer, const char *id,
    bool *keep, err *e)
{
	driver selected = {DB_IDX_KIND,
	    vocab_kind_name(VOCAB_KIND_CUSTOMER_SELECTED), 0};
	driver mine = {DB_IDX_SELECTED, customer, 0};
	bool is_selected;
	spreg_status st = index_has(t, &selected, id, &is_selected, e);

	*keep = true;
	if (st == SPREG_OK && is_selected) {
		st = index_has(t, &mine, id, keep, e);
	}
	return st;
}

/* Up to limit (+1 to learn of more) ids serving any of f->any_service,
 * in order, merged from one cursor per service. */
static spreg_status
list_any_service(db_txn *t, const db_sp_filter *f, const driver *drivers,
    size_t ndrivers, const char *after_id, size_t limit, arena *a, sink *out,
    bool *more_out, err *e)
{
	MDB_cursor *cur[16];
	MDB_val val[16];
	bool live[16];
	size_t k = f->nany < 16 ? f->nany : 16;
	spreg_status st = SPREG_OK;
	int rc;

	if (f->nany > 16) {
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "customer: more than 16 services");
	}
	/* All NULL first: the error path closes whatever was opened. */
	for (size_t i = 0; i < k; i++) {
		cur[i] = NULL;
		live[i] = false;
	}
	for (size_t i = 0; i < k; i++) {
		MDB_val key = db_str_val(f->any_service[i]);
		val[i] = db_str_val(after_id);
		if ((rc = mdb_cursor_open(t->txn,
		         db_dbi(t->d, DB_IDX_SERVICE), &cur[i])) != 0) {
			st = db_fail(t, rc, "list", e);
			goto done;
		}
		rc = mdb_cursor_get(cur[i], &key, &val[i],
		    after_id[0] ? MDB_GET_BOTH_RANGE : MDB_SET_KEY);
		live[i] = rc == 0;
		if (rc != 0 && rc != MDB_NOTFOUND) {
			st = db_fail(t, rc, "list", e);
			goto done;
		}
	}
	for (;;) {
		/* The smallest current id among the live cursors. */
		ssize_t best = -1;
		for (size_t i = 0; i < k; i++) {
			if (!live[i]) {
				continue;
			}
			if (best < 0) {
				best = (ssize_t) i;
				continue;
			}
			size_t la = val[i].mv_size, lb = val[best].mv_size;
			int c = memcmp(val[i].mv_data, val[best].mv_data,
			    la < lb ? la : lb);
			if (c < 0 || (c == 0 && la < lb)) {
				best = (ssize_t) i;
			}
		}
		if (best < 0) {
			break;
		}
		char idbuf[DB_KEY_MAX + 1];
		size_t idlen = val[best].mv_size;
		memcpy(idbuf, val[best].mv_data, idlen);
		idbuf[idlen] = '\0';
		/* Advance every cursor sitting on this id. */
		for (size_t i = 0; i < k; i++) {
			if (live[i] && val[i].mv_size == idlen &&
			    memcmp(val[i].mv_data, idbuf, idlen) == 0) {
				MDB_val key;
				rc = mdb_cursor_get(cur[i], &key, &val[i],
				    MDB_NEXT_DUP);
				live[i] = rc == 0;
				if (rc != 0 && rc != MDB_NOTFOUND) {
					st = db_fail(t, rc, "list", e);
					goto done;
				}
			}
		}
		if (after_id[0] && strcmp(idbuf, after_id) == 0) {
			continue;
		}
		bool match = true;
		for (size_t i = 0; match && i < ndrivers; i++) {
			if ((st = index_has(t, &drivers[i], idbuf, &match, e)) !=
			    SPREG_OK) {
				goto done;
			}
		}
		if (match && f->for_customer != NULL &&
		    (st = kept_for_customer(t, f->for_customer, idbuf, &match,
		         e)) != SPREG_OK) {
			goto done;
		}
		if (!match) {
			continue;
		}
		if (out->n == limit) {
			*more_out = true;
			break;
		}
		if ((st = emit(t, out, idbuf, idlen, a, e)) != SPREG_OK) {
			goto done;
		}
	}
done:
	for (size_t i = 0; i < k; i++) {
		if (cur[i] != NULL) {
			mdb_cursor_close(cur[i]);
		}
	}
	return st;
}

static spreg_status
list_impl(db_txn *t, const db_sp_filter *f, const char *after_id,
    size_t limit, arena *a, sink *out, bool *more_out, err *e)
{
	driver drivers[8];
	size_t ndrivers = 0;
	const char *status = f->status != SP_STATUS_UNSPECIFIED ?
	    vocab_status_name(f->status) : NULL;
	const struct {
		db_table table;
		const char *key;
	} wanted[] = {
		{DB_IDX_CATEGORY, f->category},
		{DB_IDX_COUNTRY, f->country},
		{DB_IDX_MECHANISM, f->mechanism},
		{DB_IDX_SERVICE, f->service},
		{DB_IDX_STATUS, status},
		{DB_IDX_PURPOSE, f->purpose},
		{DB_IDX_KIND, f->kind},
		{DB_IDX_FOURTH_PARTY, f->fourth_party},
	};
	MDB_cursor *cur = NULL;
	spreg_status st = SPREG_OK;
	int rc;

	/* Drive by the index with the fewest entries for its key. */
	size_t best = 0;
	for (size_t i = 0; i < sizeof(wanted) / sizeof(*wanted); i++) {
		if (wanted[i].key == NULL || wanted[i].key[0] == '\0') {
			continue;
		}
		driver *dr = &drivers[ndrivers];
		dr->table = wanted[i].table;
		dr->key = wanted[i].key;
		if ((rc = mdb_cursor_open(t->txn, db_dbi(t->d, dr->table),
		         &cur)) != 0) {
			return db_fail(t, rc, "index", e);
		}
		st = count_key(t, cur, dr, &dr->count, e);
		mdb_cursor_close(cur);
		cur = NULL;
		if (st != SPREG_OK) {
			return st;
		}
		if (dr->count < drivers[best].count) {
			best = ndrivers;
		}
		ndrivers++;
	}
	*more_out = false;
	if (ndrivers > 0 && drivers[best].count == 0) {
		return SPREG_OK;
	}
	if (f->nany > 0) {
		return list_any_service(t, f, drivers, ndrivers, after_id, limit,
		    a, out, more_out, e);
	}

	MDB_val k, v;
	MDB_cursor_op op;
	if (ndrivers == 0) {
		rc = mdb_cursor_open(t->txn, db_dbi(t->d, DB_SP), &cur);
		k = db_str_val(after_id);
		op = after_id[0] ? MDB_SET_RANGE : MDB_FIRST;
	} else {
		rc = mdb_cursor_open(t->txn,
		    db_dbi(t->d, drivers[best].table), &cur);
		k = db_str_val(drivers[best].key);
		v = db_str_val(after_id);
		op = after_id[0] ? MDB_GET_BOTH_RANGE : MDB_SET_KEY;
	}
	if (rc != 0) {
		return db_fail(t, rc, "list", e);
	}
	for (rc = mdb_cursor_get(cur, &k, &v, op); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v,
	         ndrivers ? MDB_NEXT_DUP : MDB_NEXT)) {
		const char *id = ndrivers ? v.mv_data : k.mv_data;
		size_t idlen = ndrivers ? v.mv_size : k.mv_size;
		if (after_id[0] && idlen == strlen(after_id) &&
		    memcmp(id, after_id, idlen) == 0) {
			continue;	/* the last id of the previous page */
		}
		char idbuf[DB_KEY_MAX + 1];
		memcpy(idbuf, id, idlen);
		idbuf[idlen] = '\0';
		bool match = true;
		for (size_t i = 0; match && i < ndrivers; i++) {
			if (i != best && (st = index_has(t, &drivers[i], idbuf,
			                      &match, e)) != SPREG_OK) {
				goto done;
			}
		}
		if (!match) {
			continue;
		}
		if (out->n == limit) {
			*more_out = true;
			break;
		}
		if ((st = emit(t, out, idbuf, idlen, a, e)) != SPREG_OK) {
			goto done;
		}
	}
	if (rc != 0 && rc != MDB_NOTFOUND) {
		st = db_fail(t, rc, "list", e);
	}
done:
	mdb_cursor_close(cur);
	return st;
}

spreg_status
db_sp_list(db_txn *t, const db_sp_filter *f, const char *after_id,
    size_t limit, arena *a, Spreg__V1__Subprocessor ***out, size_t *n_out,
    bool *more_out, err *e)
{
	sink s = {0};
	spreg_status st;

	s.items = arena_alloc(a, (limit ? limit : 1) * sizeof(*s.items));
	if (s.items == NULL) {
		return err_set(e, SPREG_RESOURCE_EXHAUSTED,
		    "page_size: too large for the decode budget");
	}
	*more_out = false;
	if ((st = list_impl(t, f, after_id, limit, a, &s, more_out, e)) ==
	    SPREG_OK) {
		*out = s.items;
		*n_out = s.n;
	}
	return st;
}

spreg_status
db_sp_list_packed(db_txn *t, const db_sp_filter *f, const char *after_id,
    size_t limit, uint32_t field, arena *a, db_packed_page *page, err *e)
{
	sink s = {0};
	spreg_status st;

	s.field = field;
	page->more = false;
	if ((st = list_impl(t, f, after_id, limit, a, &s, &page->more, e)) ==
	    SPREG_OK) {
		page->buf = s.buf;
		page->len = s.len;
		page->n = s.n;
		page->last_id = s.last_id;
	}
	return st;
}

spreg_status
db_sp_get_packed(db_txn *t, const char *id, uint32_t field, arena *a,
    ProtobufCBinaryData *out, err *e)
{
	MDB_val k = db_str_val(id), v;
	spreg_status st;

	if (strlen(id) + 9 > DB_KEY_MAX) {
		return err_set(e, SPREG_NOT_FOUND, "id: no subprocessor '%s'",
		    "?");
	}
	/* Checked before it is passed on, as a listed record is. */
	if ((st = db_value_get(t, DB_SP, &k, &v, e)) == SPREG_NOT_FOUND) {
		return err_set(e, SPREG_NOT_FOUND, "id: no subprocessor '%s'",
		    id);
	}
	if (st != SPREG_OK) {
		return st;
	}
	uint8_t *buf = arena_alloc(a, 20 + v.mv_size);
	if (buf == NULL) {
		return err_set(e, SPREG_RESOURCE_EXHAUSTED,
		    "get: reply budget exceeded");
	}
	size_t n = varint(buf, (uint64_t) field << 3 | 2);
	n += varint(buf + n, v.mv_size);
	memcpy(buf + n, v.mv_data, v.mv_size);
	out->data = buf;
	out->len = n + v.mv_size;
	return SPREG_OK;
}

spreg_status
db_sp_count(db_txn *t, uint64_t *total, uint64_t *active, err *e)
{
	MDB_stat stat;
	MDB_cursor *cur;
	driver dr = {DB_IDX_STATUS, vocab_status_name(SP_STATUS_ACTIVE), 0};
	spreg_status st;
	int rc;

	if ((rc = mdb_stat(t->txn, db_dbi(t->d, DB_SP), &stat)) != 0 ||
	    (rc = mdb_cursor_open(t->txn, db_dbi(t->d, DB_IDX_STATUS),
	         &cur)) != 0) {
		return db_fail(t, rc, "count", e);
	}
	st = count_key(t, cur, &dr, &dr.count, e);
	mdb_cursor_close(cur);
	*total = stat.ms_entries;
	*active = dr.count;
	return st;
}
