#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/outbox.h"
#include "db/value.h"

#define HOOK_NEXT "hook_next"	/* meta: the next webhook number */
#define COUNT_MAX 10000000

static void
row_key(unsigned char out[16], uint64_t number, uint64_t seq)
{
	db_be64_put(out, number);
	db_be64_put(out + 8, seq);
}

/* True when no webhook exists: appending then costs one lookup. */
static spreg_status
no_hooks(db_txn *t, bool *none, err *e)
{
	MDB_stat stat;
	int rc = mdb_stat(t->txn, db_dbi(t->d, DB_HOOKS), &stat);

	if (rc != 0) {
		return db_fail(t, rc, "hooks", e);
	}
	*none = stat.ms_entries == 0;
	return SPREG_OK;
}

spreg_status
db_outbox_put(db_txn *t, uint64_t number, uint64_t seq, err *e)
{
	unsigned char kb[16];
	MDB_val k = {sizeof(kb), kb}, v = {0, ""};

	row_key(kb, number, seq);
	int rc = mdb_put(t->txn, db_dbi(t->d, DB_OUTBOX), &k, &v, 0);
	return rc == 0 ? SPREG_OK : db_fail(t, rc, "outbox", e);
}

spreg_status
db_outbox_enqueue(db_txn *t, const Spreg__V1__Change *c, arena *a, err *e)
{
	const char **ids;
	size_t nids;
	bool none = false;
	spreg_status st;

	if ((st = no_hooks(t, &none, e)) != SPREG_OK || none) {
		return st;
	}
	if ((st = db_customers_concerned(t, c, a, &ids, &nids, e)) !=
	    SPREG_OK) {
		return st;
	}
	MDB_cursor *cur;
	int rc = mdb_cursor_open(t->txn, db_dbi(t->d, DB_IDX_HOOK_CUSTOMER),
	    &cur);
	if (rc != 0) {
		return db_fail(t, rc, "idx_hook_customer", e);
	}
	for (size_t i = 0; i < nids && st == SPREG_OK; i++) {
		MDB_val k = db_str_val(ids[i]), v;
		for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_KEY);
		     rc == 0 && st == SPREG_OK;
		     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT_DUP)) {
			if (v.mv_size == 8) {
				st = db_outbox_put(t,
				    db_be64_get(v.mv_data), c->seq, e);
			}
		}
		if (st == SPREG_OK && rc != MDB_NOTFOUND) {
			st = db_fail(t, rc, "idx_hook_customer", e);
		}
	}
	mdb_cursor_close(cur);
	return st;
}

bool
db_hook_number(const char *id, uint64_t *number)
{
	size_t plen = strlen(DB_HOOK_ID_PREFIX);
	char *end;

	if (strncmp(id, DB_HOOK_ID_PREFIX, plen) != 0 || id[plen] < '1' ||
	    id[plen] > '9') {
		return false;
	}
	unsigned long long n = strtoull(id + plen, &end, 10);
	if (*end != '\0' || n == 0 || n == ULLONG_MAX) {
		return false;
	}
	*number = n;
	return true;
}

spreg_status
db_hook_put(db_txn *t, const Spreg__V1__Webhook *h, err *e)
{
	unsigned char kb[8];
	MDB_val k = {sizeof(kb), kb};

	db_be64_put(kb, h->number);
	return db_value_put_message(t, DB_HOOKS, &k, &h->base, 0, e);
}

spreg_status
db_hook_add(db_txn *t, Spreg__V1__Webhook *h, arena *a, err *e)
{
	uint64_t next = 0;
	spreg_status st = db_meta_get_u64(t, HOOK_NEXT, &next, e);

	if (st != SPREG_OK && st != SPREG_NOT_FOUND) {
		return st;
	}
	h->number = next > 0 ? next : 1;
	if ((h->id = arena_alloc(a, 32)) == NULL) {
		return err_oom(e, NULL);
	}
	snprintf(h->id, 32, DB_HOOK_ID_PREFIX "%" PRIu64, h->number);
	if ((st = db_meta_put_u64(t, HOOK_NEXT, h->number + 1, e)) !=
	        SPREG_OK ||
	    (st = db_hook_put(t, h, e)) != SPREG_OK) {
		return st;
	}
	unsigned char vb[8];
	db_be64_put(vb, h->number);
	MDB_val k = db_str_val(h->customer_id), v = {sizeof(vb), vb};
	int rc = mdb_put(t->txn, db_dbi(t->d, DB_IDX_HOOK_CUSTOMER), &k, &v,
	    MDB_NODUPDATA);
	return rc == 0 ? SPREG_OK : db_fail(t, rc, "idx_hook_customer", e);
}

spreg_status
db_hook_get(db_txn *t, uint64_t number, arena *a, Spreg__V1__Webhook **out,
    err *e)
{
	unsigned char kb[8];
	MDB_val k = {sizeof(kb), kb};

	db_be64_put(kb, number);
	spreg_status st = db_value_get_message(t, DB_HOOKS, &k,
	    &spreg__v1__webhook__descriptor, a, (ProtobufCMessage **) out, e);
	if (st == SPREG_NOT_FOUND) {
		return err_set(e, SPREG_NOT_FOUND, "id: no webhook '"
		    DB_HOOK_ID_PREFIX "%" PRIu64 "'", number);
	}
	return st;
}

/* Deletes the rows of webhook number from after_seq on; counts them. */
static spreg_status
rows_delete(db_txn *t, uint64_t number, uint64_t *count, err *e)
{
	unsigned char kb[16];
	MDB_val k = {sizeof(kb), kb}, v;
	MDB_cursor *cur;
	int rc;

	*count = 0;
	row_key(kb, number, 0);
	if ((rc = mdb_cursor_open(t->txn, db_dbi(t->d, DB_OUTBOX), &cur)) !=
	    0) {
		return db_fail(t, rc, "outbox", e);
	}
	for (;;) {
		row_key(kb, number, 0);
		k = (MDB_val) {sizeof(kb), kb};
		if ((rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE)) != 0 ||
		    k.mv_size != 16 || db_be64_get(k.mv_data) != number) {
			break;
		}
		if ((rc = mdb_cursor_del(cur, 0)) != 0) {
			break;
		}
		(*count)++;
	}
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND) {
		return db_fail(t, rc, "outbox", e);
	}
	return SPREG_OK;
}

spreg_status
db_hook_remove(db_txn *t, uint64_t number, uint64_t *dropped, err *e)
{
	Spreg__V1__Webhook *h;
	arena a;
	spreg_status st;

	arena_init(&a, (size_t) 1 << 20);
	if ((st = db_hook_get(t, number, &a, &h, e)) != SPREG_OK) {
		goto out;
	}
	unsigned char kb[8];
	db_be64_put(kb, number);
	MDB_val k = {sizeof(kb), kb};
	MDB_val ik = db_str_val(h->customer_id), iv = {sizeof(kb), kb};
	int rc = mdb_del(t->txn, db_dbi(t->d, DB_HOOKS), &k, NULL);
	if (rc == 0) {
		rc = mdb_del(t->txn, db_dbi(t->d, DB_IDX_HOOK_CUSTOMER), &ik,
		    &iv);
		rc = rc == MDB_NOTFOUND ? 0 : rc;
	}
	if (rc != 0) {
		st = db_fail(t, rc, "hooks", e);
		goto out;
	}
	st = rows_delete(t, number, dropped, e);
out:
	arena_fini(&a);
	return st;
}

spreg_status
db_hook_list(db_txn *t, const char *customer_id, arena *a,
    Spreg__V1__Webhook ***out, size_t *n_out, err *e)
{
	Spreg__V1__Webhook **list;
	size_t n, kept = 0;
	spreg_status st = db_value_list(t, DB_HOOKS, NULL, 0,
	    &spreg__v1__webhook__descriptor, a, (ProtobufCMessage ***) &list,
	    &n, e);

	if (st != SPREG_OK) {
		return st;
	}
	for (size_t i = 0; i < n; i++) {
		if (customer_id == NULL ||
		    strcmp(list[i]->customer_id, customer_id) == 0) {
			list[kept++] = list[i];
		}
	}
	*out = list;
	*n_out = kept;
	return SPREG_OK;
}

spreg_status
db_outbox_peek(db_txn *t, uint64_t number, uint64_t after_seq,
    uint64_t *seqs, size_t max, size_t *n_out, err *e)
{
	unsigned char kb[16];
	MDB_val k = {sizeof(kb), kb}, v;
	MDB_cursor *cur;
	size_t n = 0;
	int rc;

	row_key(kb, number, after_seq == 0 ? 0 : after_seq + 1);
	if ((rc = mdb_cursor_open(t->txn, db_dbi(t->d, DB_OUTBOX), &cur)) !=
	    0) {
		return db_fail(t, rc, "outbox", e);
	}
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	     rc == 0 && n < max;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size != 16 || db_be64_get(k.mv_data) != number) {
			break;
		}
		seqs[n++] = db_be64_get((unsigned char *) k.mv_data + 8);
	}
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND) {
		return db_fail(t, rc, "outbox", e);
	}
	*n_out = n;
	return SPREG_OK;
}

spreg_status
db_outbox_count(db_txn *t, uint64_t number, uint64_t *n_out, err *e)
{
	unsigned char kb[16];
	MDB_val k = {sizeof(kb), kb}, v;
	MDB_cursor *cur;
	uint64_t n = 0;
	int rc;

	row_key(kb, number, 0);
	if ((rc = mdb_cursor_open(t->txn, db_dbi(t->d, DB_OUTBOX), &cur)) !=
	    0) {
		return db_fail(t, rc, "outbox", e);
	}
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	     rc == 0 && n < COUNT_MAX;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size != 16 || db_be64_get(k.mv_data) != number) {
			break;
		}
		n++;
	}
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND) {
		return db_fail(t, rc, "outbox", e);
	}
	*n_out = n;
	return SPREG_OK;
}

spreg_status
db_outbox_ack(db_txn *t, uint64_t number, uint64_t seq, err *e)
{
	unsigned char kb[16];
	MDB_val k = {sizeof(kb), kb};

	row_key(kb, number, seq);
	int rc = mdb_del(t->txn, db_dbi(t->d, DB_OUTBOX), &k, NULL);
	return rc == 0 || rc == MDB_NOTFOUND ? SPREG_OK :
	                                       db_fail(t, rc, "outbox", e);
}

spreg_status
db_change_get(db_txn *t, uint64_t seq, arena *a, Spreg__V1__Change **out,
    err *e)
{
	unsigned char kb[8];
	MDB_val k = {sizeof(kb), kb};

	db_be64_put(kb, seq);
	return db_value_get_message(t, DB_CHANGES, &k,
	    &spreg__v1__change__descriptor, a, (ProtobufCMessage **) out, e);
}
