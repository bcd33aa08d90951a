/*
 * The change log: appending a change to the hash chain (and the outbox
 * rows it owes), who a change concerns, and listing changes for a
 * customer or a filter.
 */
#include <stdlib.h>
#include <string.h>
#include <stdio.h>

#include "db/outbox.h"
#include "db/record.h"
#include "db/value.h"

spreg_status
db_change_last_seq(db_txn *t, uint64_t *seq_out, err *e)
{
	MDB_cursor *cur;
	MDB_val k, v;
	int rc;

	if ((rc = mdb_cursor_open(t->txn, db_dbi(t->d, DB_CHANGES), &cur)) !=
	    0) {
		return db_fail(t, rc, "changes", e);
	}
	rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
	mdb_cursor_close(cur);
	if (rc == MDB_NOTFOUND) {
		*seq_out = 0;
		return SPREG_OK;
	}
	if (rc != 0 || k.mv_size != 8) {
		return db_fail(t, rc ? rc : MDB_CORRUPTED, "changes", e);
	}
	*seq_out = db_be64_get(k.mv_data);
	return SPREG_OK;
}

spreg_status
db_change_hash(db_txn *t, uint64_t seq, arena *a,
    ProtobufCBinaryData *hash_out, err *e)
{
	unsigned char kbuf[8];
	MDB_val k = {sizeof(kbuf), kbuf};
	Spreg__V1__Change *c = NULL;
	spreg_status st;

	if (seq == 0) {
		*hash_out = (ProtobufCBinaryData) {0, NULL};
		return SPREG_OK;
	}
	db_be64_put(kbuf, seq);
	st = db_value_get_message(t, DB_CHANGES, &k,
	    &spreg__v1__change__descriptor, a, (ProtobufCMessage **) &c, e);
	if (st == SPREG_NOT_FOUND) {
		return err_set(e, SPREG_NOT_FOUND,
		    "seq: the change log has no entry %llu",
		    (unsigned long long) seq);
	}
	if (st != SPREG_OK) {
		return st;
	}
	if (c->seq != seq || c->hash.len != DB_DIGEST_LEN) {
		return db_damaged(t, e,
		    "change seq %llu: stored without its hash",
		    (unsigned long long) seq);
	}
	*hash_out = c->hash;
	return SPREG_OK;
}

/* The chain's head: the last seq and its hash, kept in DB_META. */
#define CHAIN_HEAD "chain_head"

static spreg_status
chain_head(db_txn *t, uint64_t last, unsigned char hash[DB_DIGEST_LEN],
    err *e)
{
	MDB_val k = db_str_val(CHAIN_HEAD), v;
	spreg_status st = db_value_get(t, DB_META, &k, &v, e);

	if (st == SPREG_NOT_FOUND && last == 0) {
		memset(hash, 0, DB_DIGEST_LEN);
		return SPREG_OK;
	}
	if (st != SPREG_OK && st != SPREG_NOT_FOUND) {
		return st;
	}
	if (st != SPREG_OK || v.mv_size != 8 + DB_DIGEST_LEN ||
	    db_be64_get(v.mv_data) != last) {
		return db_damaged(t, e,
		    "change log: the hash chain's head is not at seq %llu",
		    (unsigned long long) last);
	}
	memcpy(hash, (unsigned char *) v.mv_data + 8, DB_DIGEST_LEN);
	return SPREG_OK;
}

spreg_status
db_chain_hash(const unsigned char prev[DB_DIGEST_LEN], Spreg__V1__Change *c,
    unsigned char out[DB_DIGEST_LEN], err *e)
{
	ProtobufCBinaryData saved = c->hash;
	c->hash = (ProtobufCBinaryData) {0, NULL};
	size_t n = spreg__v1__change__get_packed_size(c);
	uint8_t *buf = malloc(n + 1);
	if (buf == NULL) {
		c->hash = saved;
		return err_oom(e, NULL);
	}
	spreg__v1__change__pack(c, buf);
	c->hash = saved;
	db_blake2b(prev, buf, n, out);
	free(buf);
	return SPREG_OK;
}

/* Lists c in the transaction's appended changes, grown in a (where c
 * lives too). Out of memory only loses the listing: subscribers catch
 * up from the log. */
static void
appended_add(db_appended *l, Spreg__V1__Change *c, arena *a)
{
	if (l == NULL) {
		return;
	}
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 8;
		Spreg__V1__Change **grown = arena_alloc(a,
		    cap * sizeof(*grown));
		if (grown == NULL) {
			l->incomplete = true;
			return;
		}
		if (l->n > 0) {
			memcpy(grown, l->changes, l->n * sizeof(*grown));
		}
		l->changes = grown;
		l->cap = cap;
	}
	l->changes[l->n++] = c;
}

spreg_status
db_change_append(db_txn *t, Spreg__V1__Change *c, arena *a, err *e)
{
	unsigned char kbuf[8], prev[DB_DIGEST_LEN];
	uint64_t last;
	spreg_status st;

	if ((st = db_change_last_seq(t, &last, e)) != SPREG_OK ||
	    (st = chain_head(t, last, prev, e)) != SPREG_OK) {
		return st;
	}
	c->seq = last + 1;
	if ((c->hash.data = arena_alloc(a, DB_DIGEST_LEN)) == NULL) {
		return err_oom(e, NULL);
	}
	c->hash.len = DB_DIGEST_LEN;
	if ((st = db_chain_hash(prev, c, c->hash.data, e)) != SPREG_OK) {
		return st;
	}
	unsigned char head[8 + DB_DIGEST_LEN];
	db_be64_put(head, c->seq);
	memcpy(head + 8, c->hash.data, DB_DIGEST_LEN);
	MDB_val hk = db_str_val(CHAIN_HEAD);
	if ((st = db_value_put(t, DB_META, &hk, head, sizeof(head), 0, e)) !=
	    SPREG_OK) {
		return st;
	}
	db_be64_put(kbuf, c->seq);
	MDB_val k = {sizeof(kbuf), kbuf};
	if ((st = db_value_put_message(t, DB_CHANGES, &k, &c->base,
	         MDB_APPEND, e)) != SPREG_OK ||
	    (st = db_outbox_enqueue(t, c, a, e)) != SPREG_OK) {
		return st;
	}
	appended_add(t->appended, c, a);
	return SPREG_OK;
}

bool
db_services_meet(char *const *a, size_t na, char *const *b, size_t nb)
{
	for (size_t i = 0; i < na; i++) {
		for (size_t j = 0; j < nb; j++) {
			if (strcmp(a[i], b[j]) == 0) {
				return true;
			}
		}
	}
	return false;
}

bool
db_change_concerns(const Spreg__V1__Change *c, const char *customer_id,
    char *const *services, size_t nservices)
{
	char *const one[] = {(char *) customer_id};

	return strcmp(c->customer_id, customer_id) == 0 ||
	    db_services_meet(c->selected_by, c->n_selected_by, one, 1) ||
	    db_services_meet(c->services, c->n_services, services, nservices);
}

/*
 * Changes logged before they carried selected_by name a customer's own
 * vendor by its services only. For those (seq below the meta value
 * SCOPE_FROM), the vendors that ever were a customer's own choice are
 * listed when the store is first opened by a server that writes
 * selected_by (meta LEGACY_PREFIX + id: the customers, comma-joined),
 * and each such change is read as concerning those customers alone.
 */
#define SCOPE_FROM "selected_scope_from"
#define LEGACY_PREFIX "selected_legacy/"

/* Adds sp's customer to the vendor's legacy list, once. */
static spreg_status
legacy_add(db_txn *t, const Spreg__V1__Subprocessor *sp, err *e)
{
	char key[sizeof(LEGACY_PREFIX) + DB_KEY_MAX];
	char list[1024];
	MDB_val v;

	snprintf(key, sizeof(key), LEGACY_PREFIX "%s", sp->id);
	MDB_val k = db_str_val(key);
	spreg_status st = db_value_get(t, DB_META, &k, &v, e);
	size_t n = 0;
	if (st == SPREG_OK && v.mv_size < sizeof(list)) {
		memcpy(list, v.mv_data, v.mv_size);
		n = v.mv_size;
	} else if (st != SPREG_NOT_FOUND) {
		return st;
	}
	list[n] = '\0';
	for (char *p = list; p != NULL && *p != '\0';) {
		char *comma = strchr(p, ',');
		size_t len = comma ? (size_t) (comma - p) : strlen(p);
		if (len == strlen(sp->customer) &&
		    memcmp(p, sp->customer, len) == 0) {
			return SPREG_OK;
		}
		p = comma ? comma + 1 : NULL;
	}
	int w = snprintf(list + n, sizeof(list) - n, "%s%s", n ? "," : "",
	    sp->customer);
	if (w < 0 || (size_t) w >= sizeof(list) - n) {
		return SPREG_OK;	/* the first customers are kept */
	}
	return db_value_put(t, DB_META, &k, list, n + (size_t) w, 0, e);
}

/* Notes sp's customer, when it is one's own choice; *arg: any noted. */
static spreg_status
legacy_note(db_txn *t, const Spreg__V1__Subprocessor *sp, void *arg, err *e)
{
	if (sp->customer[0] == '\0') {
		return SPREG_OK;
	}
	*(bool *) arg = true;
	return legacy_add(t, sp, e);
}

spreg_status
db_scope_legacy_init(db_txn *t, err *e)
{
	uint64_t from, last;
	bool any = false;

	spreg_status st = db_meta_get_u64(t, SCOPE_FROM, &from, e);
	if (st != SPREG_NOT_FOUND) {
		return st;	/* done before (or an error) */
	}
	if ((st = db_change_last_seq(t, &last, e)) != SPREG_OK ||
	    (st = db_each_record(t, DB_SP_HIST, legacy_note, &any, e)) !=
	    SPREG_OK) {
		return st;
	}
	return db_meta_put_u64(t, SCOPE_FROM, any ? last + 1 : 0, e);
}

/* A change logged before selected_by, to a vendor that was once a
 * customer's own choice: read as concerning those customers alone. */
static spreg_status
legacy_scope(db_txn *t, Spreg__V1__Change *c, arena *a, err *e)
{
	char key[sizeof(LEGACY_PREFIX) + DB_KEY_MAX];
	MDB_val v;

	if (c->subprocessor_id[0] == '\0' || c->n_selected_by > 0) {
		return SPREG_OK;
	}
	snprintf(key, sizeof(key), LEGACY_PREFIX "%s", c->subprocessor_id);
	MDB_val k = db_str_val(key);
	spreg_status st = db_value_get(t, DB_META, &k, &v, e);
	if (st == SPREG_NOT_FOUND) {
		return SPREG_OK;
	}
	if (st != SPREG_OK) {
		return st;
	}
	char *list = arena_alloc(a, v.mv_size + 1);
	char **ids = arena_alloc(a, (v.mv_size / 2 + 1) * sizeof(*ids));
	if (list == NULL || ids == NULL) {
		return err_oom(e, NULL);
	}
	memcpy(list, v.mv_data, v.mv_size);
	list[v.mv_size] = '\0';
	size_t n = 0;
	char *save = NULL;
	for (char *p = strtok_r(list, ",", &save); p != NULL;
	     p = strtok_r(NULL, ",", &save)) {
		ids[n++] = p;
	}
	c->selected_by = ids;
	c->n_selected_by = n;
	c->selected_only = n > 0;
	c->n_services = 0;
	return SPREG_OK;
}

static bool
change_matches(const Spreg__V1__Change *c, const db_change_filter *f)
{
	if (f == NULL) {
		return true;
	}
	if (f->subprocessor_id != NULL && f->subprocessor_id[0] != '\0') {
		return strcmp(c->subprocessor_id, f->subprocessor_id) == 0;
	}
	if (f->customer_id != NULL && f->customer_id[0] != '\0') {
		return db_change_concerns(c, f->customer_id,
		    f->customer_services, f->ncustomer_services);
	}
	return true;
}

spreg_status
db_change_list(db_txn *t, uint64_t since_seq, size_t limit,
    const db_change_filter *f, size_t scan_max, arena *a,
    Spreg__V1__Change ***out, size_t *n_out, uint64_t *next_out, err *e)
{
	unsigned char kbuf[8];
	MDB_cursor *cur;
	MDB_val k = {sizeof(kbuf), kbuf}, v;
	spreg_status st = SPREG_OK;
	size_t n = 0, scanned = 0;
	uint64_t next = since_seq;
	int rc;

	Spreg__V1__Change **items = arena_alloc(a,
	    (limit ? limit : 1) * sizeof(*items));
	if (items == NULL) {
		return err_set(e, SPREG_RESOURCE_EXHAUSTED,
		    "limit: too large for the decode budget");
	}
	*next_out = since_seq;
	if (since_seq == UINT64_MAX) {
		*out = items;
		*n_out = 0;
		return SPREG_OK;
	}
	db_be64_put(kbuf, since_seq + 1);
	if ((rc = mdb_cursor_open(t->txn, db_dbi(t->d, DB_CHANGES), &cur)) !=
	    0) {
		return db_fail(t, rc, "changes", e);
	}
	/* Seqs below it may need their legacy scope (0: none do). */
	uint64_t legacy_below = 0;
	st = db_meta_get_u64(t, SCOPE_FROM, &legacy_below, e);
	if (st != SPREG_OK && st != SPREG_NOT_FOUND) {
		goto done;
	}
	st = SPREG_OK;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	     rc == 0 && n < limit && scanned < scan_max;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		Spreg__V1__Change *c;
		scanned++;
		if ((st = db_value_decode(t, DB_CHANGES, &k, &v,
		         &spreg__v1__change__descriptor, a,
		         (ProtobufCMessage **) &c, e)) != SPREG_OK ||
		    (c->seq < legacy_below &&
		        (st = legacy_scope(t, c, a, e)) != SPREG_OK)) {
			goto done;
		}
		next = c->seq;
		if (change_matches(c, f)) {
			items[n++] = c;
		}
	}
	if (rc != 0 && rc != MDB_NOTFOUND) {
		st = db_fail(t, rc, "changes", e);
		goto done;
	}
	*out = items;
	*n_out = n;
	*next_out = next;
done:
	mdb_cursor_close(cur);
	return st;
}
