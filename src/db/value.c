#include <sodium.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "db/value.h"

void
db_value_seal(db_table table, const MDB_val *k, const void *payload,
    size_t len, unsigned char out[DB_VALUE_HEADER])
{
	const char *name = db_table_name(table);
	unsigned char klen[8], sum[16];
	crypto_generichash_state h;

	/* The table's name, not its number: numbers move when tables are
	 * added. BLAKE2b-128 cut to 8 bytes: damage, not forgery, is what
	 * this catches (the hash chain and spreg verify see forgery). */
	db_be64_put(klen, k->mv_size);
	crypto_generichash_init(&h, NULL, 0, sizeof(sum));
	crypto_generichash_update(&h, (const unsigned char *) name,
	    strlen(name) + 1);
	crypto_generichash_update(&h, klen, sizeof(klen));
	crypto_generichash_update(&h, k->mv_data, k->mv_size);
	crypto_generichash_update(&h, payload, len);
	crypto_generichash_final(&h, sum, sizeof(sum));
	out[0] = DB_VALUE_FORMAT;
	memcpy(out + 1, sum, DB_VALUE_SUM);
}

spreg_status
db_damaged(db_txn *t, err *e, const char *fmt, ...)
{
	err local;
	va_list ap;

	if (e == NULL) {
		e = &local;
	}
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	db_set_read_only(t->d, e->msg);
	return SPREG_DATA_LOSS;
}

/* Key bytes as text: printable ASCII kept, the rest as '?'. */
static void
key_text(const unsigned char *p, size_t n, char *buf, size_t len)
{
	size_t i;

	if (n > 64) {
		n = 64;
	}
	for (i = 0; i < n && i + 1 < len; i++) {
		buf[i] = p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\'' ?
		    (char) p[i] : '?';
	}
	buf[i] = '\0';
}

void
db_value_name(db_table table, const MDB_val *k, char *buf, size_t len)
{
	const unsigned char *p = k->mv_data;
	size_t n = k->mv_size;
	char id[72];

	switch (table) {
	case DB_SP:
		key_text(p, n, id, sizeof(id));
		snprintf(buf, len, "subprocessor '%s'", id);
		return;
	case DB_SP_HIST:
		if (n > 9) {
			key_text(p, n - 9, id, sizeof(id));
			snprintf(buf, len, "subprocessor '%s' revision %llu",
			    id, (unsigned long long) db_be64_get(p + n - 8));
			return;
		}
		break;
	case DB_CHANGES:
	case DB_ANNOUNCEMENTS:
	case DB_REQUESTS:
		if (n == 8) {
			snprintf(buf, len, "%s %llu",
			    table == DB_CHANGES ? "change seq" :
			    table == DB_REQUESTS ? "saved reply of request" :
			                           "announcement seq",
			    (unsigned long long) db_be64_get(p));
			return;
		}
		break;
	case DB_OBJECTIONS:
		if (n > 8) {
			key_text(p + 8, n - 8, id, sizeof(id));
			snprintf(buf, len, "objection of customer '%s' to "
			    "change seq %llu", id,
			    (unsigned long long) db_be64_get(p));
			return;
		}
		break;
	case DB_CUSTOMERS:
		key_text(p, n, id, sizeof(id));
		snprintf(buf, len, "customer '%s'", id);
		return;
	case DB_TOKENS:
		key_text(p, n, id, sizeof(id));
		snprintf(buf, len, "token '%s'", id);
		return;
	case DB_CATEGORIES:
		key_text(p, n, id, sizeof(id));
		snprintf(buf, len, "data category '%s'", id);
		return;
	case DB_META:
		key_text(p, n, id, sizeof(id));
		snprintf(buf, len, "store meta '%s'", id);
		return;
	default:
		break;
	}
	key_text(p, n, id, sizeof(id));
	snprintf(buf, len, "%s key '%s'", db_table_name(table), id);
}

void
db_verified_init(db_verified *v)
{
	memset(v, 0, sizeof(*v));
	for (size_t i = 0; i < DB_VERIFIED_STRIPES; i++) {
		pthread_mutex_init(&v->mu[i], NULL);
	}
}

void
db_verified_fini(db_verified *v)
{
	for (size_t i = 0; i < DB_VERIFIED_SLOTS; i++) {
		free(v->slot[i].value);
	}
	for (size_t i = 0; i < DB_VERIFIED_STRIPES; i++) {
		pthread_mutex_destroy(&v->mu[i]);
	}
}

/* The slot of a key (FNV-1a), or SIZE_MAX when it is not cached. */
static size_t
verified_slot(db_table table, const MDB_val *k, const MDB_val *v)
{
	const unsigned char *p = k->mv_data;
	uint32_t h = 2166136261u;

	if (table != DB_SP || k->mv_size == 0 ||
	    k->mv_size > DB_VERIFIED_KEY_MAX ||
	    v->mv_size > DB_VERIFIED_VALUE_MAX) {
		return SIZE_MAX;
	}
	for (size_t i = 0; i < k->mv_size; i++) {
		h = (h ^ p[i]) * 16777619u;
	}
	return h % DB_VERIFIED_SLOTS;
}

/* Were these very bytes under k verified before? */
static bool
verified_has(db_verified *c, size_t i, const MDB_val *k, const MDB_val *v)
{
	db_verified_slot *s = &c->slot[i];
	pthread_mutex_t *mu = &c->mu[i % DB_VERIFIED_STRIPES];

	pthread_mutex_lock(mu);
	bool same = s->klen == k->mv_size && s->vlen == v->mv_size &&
	    memcmp(s->key, k->mv_data, k->mv_size) == 0 &&
	    memcmp(s->value, v->mv_data, v->mv_size) == 0;
	pthread_mutex_unlock(mu);
	return same;
}

/* v passed its checksum under k. Best effort: out of memory, the slot
 * is left empty. */
static void
verified_put(db_verified *c, size_t i, const MDB_val *k, const MDB_val *v)
{
	db_verified_slot *s = &c->slot[i];
	pthread_mutex_t *mu = &c->mu[i % DB_VERIFIED_STRIPES];

	pthread_mutex_lock(mu);
	s->klen = 0;
	if (s->cap < v->mv_size) {
		unsigned char *grown = realloc(s->value, v->mv_size);
		if (grown == NULL) {
			pthread_mutex_unlock(mu);
			return;
		}
		s->value = grown;
		s->cap = v->mv_size;
	}
	memcpy(s->key, k->mv_data, k->mv_size);
	memcpy(s->value, v->mv_data, v->mv_size);
	s->vlen = v->mv_size;
	s->klen = k->mv_size;
	pthread_mutex_unlock(mu);
}

spreg_status
db_value_check(db_txn *t, db_table table, const MDB_val *k,
    const MDB_val *v, MDB_val *payload, err *e)
{
	unsigned char want[DB_VALUE_HEADER];
	const unsigned char *p = v->mv_data;

	if (v->mv_size >= DB_VALUE_HEADER && p[0] == DB_VALUE_FORMAT) {
		size_t slot = verified_slot(table, k, v);
		bool good = slot != SIZE_MAX &&
		    verified_has(&t->d->verified, slot, k, v);
		if (!good) {
			db_value_seal(table, k, p + DB_VALUE_HEADER,
			    v->mv_size - DB_VALUE_HEADER, want);
			good = sodium_memcmp(want, p, DB_VALUE_HEADER) == 0;
			if (good && slot != SIZE_MAX) {
				verified_put(&t->d->verified, slot, k, v);
			}
		}
		if (good) {
			*payload = (MDB_val) {v->mv_size - DB_VALUE_HEADER,
			    (void *) (p + DB_VALUE_HEADER)};
			return SPREG_OK;
		}
	}
	char name[160];
	db_value_name(table, k, name, sizeof(name));
	return db_damaged(t, e, "%s: the stored value is damaged (checksum "
	    "mismatch); it is not served", name);
}

/* The value as stored; NOT_FOUND with e untouched. */
static spreg_status
raw_get(db_txn *t, db_table table, const MDB_val *k, MDB_val *v, err *e)
{
	int rc = mdb_get(t->txn, db_dbi(t->d, table), (MDB_val *) k, v);

	if (rc == MDB_NOTFOUND) {
		return SPREG_NOT_FOUND;
	}
	return rc == 0 ? SPREG_OK : db_fail(t, rc, db_table_name(table), e);
}

spreg_status
db_value_get(db_txn *t, db_table table, const MDB_val *k, MDB_val *payload,
    err *e)
{
	MDB_val v;
	spreg_status st = raw_get(t, table, k, &v, e);

	return st != SPREG_OK ? st :
	    db_value_check(t, table, k, &v, payload, e);
}

spreg_status
db_value_decode(db_txn *t, db_table table, const MDB_val *k,
    const MDB_val *v, const ProtobufCMessageDescriptor *desc, arena *a,
    ProtobufCMessage **out, err *e)
{
	MDB_val pl;
	spreg_status st;

	if ((st = db_value_check(t, table, k, v, &pl, e)) != SPREG_OK) {
		return st;
	}
	ProtobufCMessage *m = protobuf_c_message_unpack(desc, &a->pb,
	    pl.mv_size, pl.mv_data);
	if (m == NULL) {
		if (a->exhausted) {
			return err_set(e, SPREG_RESOURCE_EXHAUSTED,
			    "%s: decode budget exceeded",
			    db_table_name(table));
		}
		char name[160];
		db_value_name(table, k, name, sizeof(name));
		return db_damaged(t, e, "%s: the stored value does not decode",
		    name);
	}
	*out = m;
	return SPREG_OK;
}

spreg_status
db_value_get_message(db_txn *t, db_table table, const MDB_val *k,
    const ProtobufCMessageDescriptor *desc, arena *a, ProtobufCMessage **out,
    err *e)
{
	MDB_val v;
	spreg_status st = raw_get(t, table, k, &v, e);

	return st != SPREG_OK ? st :
	    db_value_decode(t, table, k, &v, desc, a, out, e);
}

spreg_status
db_value_list(db_txn *t, db_table table, const void *prefix, size_t nprefix,
    const ProtobufCMessageDescriptor *desc, arena *a, ProtobufCMessage ***out,
    size_t *n_out, err *e)
{
	ProtobufCMessage **items = NULL;
	size_t n = 0, cap = 0;
	MDB_cursor *cur;
	MDB_val k = {nprefix, (void *) prefix}, v;
	spreg_status st = SPREG_OK;
	int rc;

	if ((rc = mdb_cursor_open(t->txn, db_dbi(t->d, table), &cur)) != 0) {
		return db_fail(t, rc, db_table_name(table), e);
	}
	for (rc = mdb_cursor_get(cur, &k, &v,
	         nprefix > 0 ? MDB_SET_RANGE : MDB_FIRST);
	     rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (nprefix > 0 && (k.mv_size < nprefix ||
		    memcmp(k.mv_data, prefix, nprefix) != 0)) {
			break;
		}
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			ProtobufCMessage **grown = arena_alloc(a,
			    ncap * sizeof(*grown));
			if (grown == NULL) {
				st = err_oom(e, NULL);
				break;
			}
			if (n > 0) {
				memcpy(grown, items, n * sizeof(*items));
			}
			items = grown;
			cap = ncap;
		}
		if ((st = db_value_decode(t, table, &k, &v, desc, a, &items[n],
		         e)) != SPREG_OK) {
			break;
		}
		n++;
	}
	mdb_cursor_close(cur);
	if (st == SPREG_OK && rc != 0 && rc != MDB_NOTFOUND) {
		st = db_fail(t, rc, db_table_name(table), e);
	}
	if (st == SPREG_OK) {
		*out = items;
		*n_out = n;
	}
	return st;
}

/* Room for a payload of len under k: *payload_out is where it goes. */
static spreg_status
reserve(db_txn *t, db_table table, const MDB_val *k, size_t len,
    unsigned flags, unsigned char **payload_out, err *e)
{
	MDB_val v = {DB_VALUE_HEADER + len, NULL};
	int rc = mdb_put(t->txn, db_dbi(t->d, table), (MDB_val *) k, &v,
	    flags | MDB_RESERVE);

	if (rc != 0) {
		return db_fail(t, rc, db_table_name(table), e);
	}
	*payload_out = (unsigned char *) v.mv_data + DB_VALUE_HEADER;
	return SPREG_OK;
}

spreg_status
db_value_put(db_txn *t, db_table table, const MDB_val *k,
    const void *payload, size_t len, unsigned flags, err *e)
{
	unsigned char *p;
	spreg_status st = reserve(t, table, k, len, flags, &p, e);

	if (st == SPREG_OK) {
		if (len > 0) {
			memcpy(p, payload, len);
		}
		db_value_seal(table, k, p, len, p - DB_VALUE_HEADER);
	}
	return st;
}

spreg_status
db_value_put_message(db_txn *t, db_table table, const MDB_val *k,
    const ProtobufCMessage *msg, unsigned flags, err *e)
{
	size_t len = protobuf_c_message_get_packed_size(msg);
	unsigned char *p;
	spreg_status st = reserve(t, table, k, len, flags, &p, e);

	if (st == SPREG_OK) {
		protobuf_c_message_pack(msg, p);
		db_value_seal(table, k, p, len, p - DB_VALUE_HEADER);
	}
	return st;
}
