#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "core/date.h"
#include "db/outbox.h"
#include "db/record.h"
#include "db/value.h"

#define KEY_MAX 511	/* LMDB's default maximum key size */

static MDB_val
str_val(const char *s)
{
	return (MDB_val) {strlen(s), (void *) s};
}

static size_t
hist_key(unsigned char *buf, const char *id, uint64_t revision)
{
	size_t n = strlen(id);
	memcpy(buf, id, n);
	buf[n] = '\0';
	db_be64_put(buf + n + 1, revision);
	return n + 9;
}

spreg_status
db_sp_get(db_txn *t, const char *id, uint64_t revision, arena *a,
    Spreg__V1__Subprocessor **out, err *e)
{
	unsigned char kbuf[KEY_MAX];
	MDB_val k, v;
	int rc;

	if (strlen(id) + 9 > KEY_MAX) {
		return err_set(e, SPREG_NOT_FOUND, "id: no subprocessor '%s'",
		    "?");
	}
	if (revision == 0) {
		k = str_val(id);
		rc = mdb_get(t->txn, db_dbi(t->d, DB_SP), &k, &v);
	} else {
		k = (MDB_val) {hist_key(kbuf, id, revision), kbuf};
		rc = mdb_get(t->txn, db_dbi(t->d, DB_SP_HIST), &k, &v);
	}
	if (rc == MDB_NOTFOUND) {
		if (revision != 0) {
			return err_set(e, SPREG_NOT_FOUND,
			    "revision: subprocessor '%s' has no revision %llu",
			    id, (unsigned long long) revision);
		}
		return err_set(e, SPREG_NOT_FOUND, "id: no subprocessor '%s'",
		    id);
	}
	if (rc != 0) {
		return db_fail(t, rc, "subprocessor", e);
	}
	return db_value_decode(t, revision == 0 ? DB_SP : DB_SP_HIST, &k, &v,
	    &spreg__v1__subprocessor__descriptor, a,
	    (ProtobufCMessage **) out, e);
}

static const char *
status_key(Spreg__V1__SubprocessorStatus s)
{
	switch (s) {
	case SP_STATUS_PROPOSED:
		return "proposed";
	case SP_STATUS_ACTIVE:
		return "active";
	case SP_STATUS_RETIRED:
		return "retired";
	default:
		return "unspecified";
	}
}

/* Adds (or removes) one index entry; duplicates and misses are fine
 * because ancestors and countries repeat across a record's fields. */
static spreg_status
index_one(db_txn *t, db_table table, const char *key, size_t keylen,
    const char *id, bool add, err *e)
{
	MDB_val k = {keylen, (void *) key};
	MDB_val v = str_val(id);
	int rc;

	if (keylen == 0 || keylen > KEY_MAX) {
		return SPREG_OK;
	}
	if (add) {
		rc = mdb_put(t->txn, db_dbi(t->d, table), &k, &v,
		    MDB_NODUPDATA);
		if (rc == MDB_KEYEXIST) {
			rc = 0;
		}
	} else {
		rc = mdb_del(t->txn, db_dbi(t->d, table), &k, &v);
		if (rc == MDB_NOTFOUND) {
			rc = 0;
		}
	}
	return rc == 0 ? SPREG_OK : db_fail(t, rc, "index", e);
}

/* A category is indexed under itself and every ancestor, so a filter on
 * a parent key is one exact index lookup. */
static spreg_status
index_tree(db_txn *t, db_table table, const char *key, const char *id,
    bool add, err *e)
{
	spreg_status st = index_one(t, table, key, strlen(key), id, add, e);

	for (const char *p = key; st == SPREG_OK && *p; p++) {
		if (*p == '.') {
			st = index_one(t, table, key, (size_t) (p - key), id,
			    add, e);
		}
	}
	return st;
}

static spreg_status
index_category(db_txn *t, const char *key, const char *id, bool add,
    err *e)
{
	return index_tree(t, DB_IDX_CATEGORY, key, id, add, e);
}

static spreg_status
index_sp(db_txn *t, const Spreg__V1__Subprocessor *sp, bool add, err *e)
{
	const char *id = sp->id;
	const char *status = status_key(sp->status);
	spreg_status st;

	st = index_one(t, DB_IDX_STATUS, status, strlen(status), id, add, e);
	for (size_t i = 0; st == SPREG_OK && i < sp->n_services; i++) {
		st = index_one(t, DB_IDX_SERVICE, sp->services[i],
		    strlen(sp->services[i]), id, add, e);
	}
	for (size_t i = 0; st == SPREG_OK && i < sp->n_data_categories; i++) {
		st = index_category(t, sp->data_categories[i], id, add, e);
	}
	for (size_t i = 0; st == SPREG_OK && i < sp->n_locations; i++) {
		const Spreg__V1__Location *loc = sp->locations[i];
		st = index_one(t, DB_IDX_COUNTRY, loc->country,
		    strlen(loc->country), id, add, e);
		for (size_t j = 0; st == SPREG_OK && j < loc->n_data_categories;
		     j++) {
			st = index_category(t, loc->data_categories[j], id, add,
			    e);
		}
	}
	for (size_t i = 0; st == SPREG_OK && i < sp->n_safeguards; i++) {
		st = index_one(t, DB_IDX_MECHANISM, sp->safeguards[i]->mechanism,
		    strlen(sp->safeguards[i]->mechanism), id, add, e);
	}
	/* A location's purposes are within the vendor's: those suffice. */
	for (size_t i = 0; st == SPREG_OK && i < sp->n_data_uses; i++) {
		st = index_tree(t, DB_IDX_PURPOSE, sp->data_uses[i], id, add,
		    e);
	}
	const char *kind = db_sp_kind(sp);
	if (st == SPREG_OK) {
		st = index_one(t, DB_IDX_KIND, kind, strlen(kind), id, add, e);
	}
	for (size_t i = 0; st == SPREG_OK && i < sp->n_fourth_parties; i++) {
		const char *fp = sp->fourth_parties[i]->id;
		st = index_one(t, DB_IDX_FOURTH_PARTY, fp, strlen(fp), id, add,
		    e);
	}
	if (st == SPREG_OK && sp->customer[0] != '\0') {
		st = index_one(t, DB_IDX_SELECTED, sp->customer,
		    strlen(sp->customer), id, add, e);
	}
	return st;
}

const char *
db_sp_kind(const Spreg__V1__Subprocessor *sp)
{
	return sp->kind[0] != '\0' ? sp->kind : "subprocessor";
}

typedef spreg_status (*record_fn)(db_txn *t,
    const Spreg__V1__Subprocessor *sp, void *arg, err *e);

/* fn on each record of table (DB_SP or DB_SP_HIST), each decoded in an
 * arena of its own; a damaged one is left to verify and reads. */
static spreg_status
each_record(db_txn *t, db_table table, record_fn fn, void *arg, err *e)
{
	MDB_cursor *cur;
	MDB_val k, v;
	spreg_status st = SPREG_OK;
	int rc;

	if ((rc = mdb_cursor_open(t->txn, db_dbi(t->d, table), &cur)) != 0) {
		return db_fail(t, rc, db_table_name(table), e);
	}
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
	     rc == 0 && st == SPREG_OK;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		arena a;
		ProtobufCMessage *m;
		arena_init(&a, (size_t) 4 << 20);
		st = db_value_decode(t, table, &k, &v,
		    &spreg__v1__subprocessor__descriptor, &a, &m, e);
		if (st == SPREG_OK) {
			st = fn(t, (const Spreg__V1__Subprocessor *) m, arg, e);
		} else if (st == SPREG_DATA_LOSS) {
			st = SPREG_OK;
		}
		arena_fini(&a);
	}
	mdb_cursor_close(cur);
	if (st == SPREG_OK && rc != 0 && rc != MDB_NOTFOUND) {
		st = db_fail(t, rc, db_table_name(table), e);
	}
	return st;
}

static spreg_status
reindex_one(db_txn *t, const Spreg__V1__Subprocessor *sp, void *arg, err *e)
{
	(*(size_t *) arg)++;
	return index_sp(t, sp, true, e);
}

spreg_status
db_sp_reindex(db_txn *t, size_t *count, err *e)
{
	*count = 0;
	return each_record(t, DB_SP, reindex_one, count, e);
}

static void
blake2b(const unsigned char *prev, const void *data, size_t len,
    unsigned char out[DB_DIGEST_LEN])
{
	crypto_generichash_state h;
	crypto_generichash_init(&h, NULL, 0, DB_DIGEST_LEN);
	if (prev != NULL) {
		crypto_generichash_update(&h, prev, DB_DIGEST_LEN);
	}
	crypto_generichash_update(&h, data, len);
	crypto_generichash_final(&h, out, DB_DIGEST_LEN);
}

/* BLAKE2b-256 of revision rev of id as stored in the history. */
static spreg_status
record_digest(db_txn *t, const char *id, uint64_t rev, arena *a,
    ProtobufCBinaryData *out, err *e)
{
	unsigned char kbuf[KEY_MAX];
	MDB_val k = {hist_key(kbuf, id, rev), kbuf}, v;
	spreg_status st = db_value_get(t, DB_SP_HIST, &k, &v, e);

	if (st == SPREG_NOT_FOUND) {
		return err_set(e, SPREG_NOT_FOUND, "history: not found");
	}
	if (st != SPREG_OK) {
		return st;
	}
	/* Of the record's bytes, not of the checksummed value: digests in
	 * the log predate the checksums. */
	if ((out->data = arena_alloc(a, DB_DIGEST_LEN)) == NULL) {
		return err_oom(e, NULL);
	}
	blake2b(NULL, v.mv_data, v.mv_size, out->data);
	out->len = DB_DIGEST_LEN;
	return SPREG_OK;
}

/* Adds s to list (of *n) unless it is there; a copy in a. */
static bool
add_once(char **list, size_t *n, const char *s, arena *a)
{
	for (size_t i = 0; i < *n; i++) {
		if (strcmp(list[i], s) == 0) {
			return true;
		}
	}
	return (list[(*n)++] = arena_strdup(a, s)) != NULL;
}

spreg_status
db_change_scope(Spreg__V1__Change *c, const Spreg__V1__Subprocessor *before,
    const Spreg__V1__Subprocessor *after, arena *a, err *e)
{
	const Spreg__V1__Subprocessor *r[2] = {after, before};
	size_t max = 0;

	for (int i = 0; i < 2; i++) {
		max += r[i] != NULL ? r[i]->n_services : 0;
	}
	c->services = arena_alloc(a, (max + 1) * sizeof(char *));
	c->selected_by = arena_alloc(a, 2 * sizeof(char *));
	if (c->services == NULL || c->selected_by == NULL) {
		return err_oom(e, NULL);
	}
	c->n_services = c->n_selected_by = 0;
	c->selected_only = true;
	for (int i = 0; i < 2; i++) {
		if (r[i] == NULL) {
			continue;
		}
		/* A customer's own choice serves that customer alone. */
		if (r[i]->customer[0] != '\0') {
			if (!add_once(c->selected_by, &c->n_selected_by,
			        r[i]->customer, a)) {
				return err_oom(e, NULL);
			}
			continue;
		}
		c->selected_only = false;
		for (size_t j = 0; j < r[i]->n_services; j++) {
			if (!add_once(c->services, &c->n_services,
			        r[i]->services[j], a)) {
				return err_oom(e, NULL);
			}
		}
	}
	c->selected_only = c->selected_only && c->n_selected_by > 0;
	return SPREG_OK;
}

/* ---- dates ---- */

#define DUE_ACTIVE 'a'
#define DUE_RETIRED 'r'

static size_t
due_key(unsigned char *buf, int32_t day, const char *id)
{
	size_t n = strlen(id);

	db_be32_put(buf, (uint32_t) day);
	memcpy(buf + 4, id, n);
	return n + 4;
}

/* Forgets old's dated steps and schedules sp's: it becomes active on
 * effective_from when upcoming, and retired on a future
 * effective_until. */
static spreg_status
schedule(db_txn *t, const Spreg__V1__Subprocessor *old,
    const Spreg__V1__Subprocessor *sp, bool upcoming, int32_t today, err *e)
{
	MDB_dbi dbi = db_dbi(t->d, DB_SP_DUE);
	unsigned char kbuf[KEY_MAX];
	int32_t day;
	int rc;

	if (strlen(sp->id) + 4 > KEY_MAX) {
		return SPREG_OK;
	}
	for (int pass = 0; old != NULL && pass < 2; pass++) {
		if (date_parse(pass ? old->effective_until : old->effective_from,
		        &day)) {
			MDB_val k = {due_key(kbuf, day, old->id), kbuf};
			if ((rc = mdb_del(t->txn, dbi, &k, NULL)) != 0 &&
			    rc != MDB_NOTFOUND) {
				return db_fail(t, rc, "due", e);
			}
		}
	}
	for (int pass = 0; pass < 2; pass++) {
		static const char steps[2] = {DUE_ACTIVE, DUE_RETIRED};
		bool due = pass == 0 ?
		    upcoming && date_parse(sp->effective_from, &day) :
		    sp->status != SP_STATUS_RETIRED &&
		        date_parse(sp->effective_until, &day) && day > today;
		if (!due) {
			continue;
		}
		MDB_val k = {due_key(kbuf, day, sp->id), kbuf};
		MDB_val v = {1, (void *) &steps[pass]};
		if ((rc = mdb_put(t->txn, dbi, &k, &v, 0)) != 0) {
			return db_fail(t, rc, "due", e);
		}
	}
	return SPREG_OK;
}

spreg_status
db_sp_schedule_stored(db_txn *t, const Spreg__V1__Subprocessor *sp,
    int32_t today, err *e)
{
	return schedule(t, NULL, sp, false, today, e);
}

spreg_status
db_sp_upcoming(db_txn *t, const Spreg__V1__Subprocessor *sp, bool *out,
    err *e)
{
	unsigned char kbuf[KEY_MAX];
	int32_t from;
	MDB_val v;
	int rc;

	*out = false;
	if (sp->status != SP_STATUS_PROPOSED ||
	    !date_parse(sp->effective_from, &from) ||
	    strlen(sp->id) + 4 > KEY_MAX) {
		return SPREG_OK;
	}
	MDB_val k = {due_key(kbuf, from, sp->id), kbuf};
	rc = mdb_get(t->txn, db_dbi(t->d, DB_SP_DUE), &k, &v);
	if (rc != 0 && rc != MDB_NOTFOUND) {
		return db_fail(t, rc, "due", e);
	}
	*out = rc == 0 && v.mv_size == 1 &&
	    *(const char *) v.mv_data == DUE_ACTIVE;
	return SPREG_OK;
}

/*
 * Settles the status of sp, as written, on today: in use from
 * effective_from (when absent, the stored one, or today for a new
 * vendor) up to the day before effective_until. Active with a future
 * effective_from: proposed until then, *upcoming. Retired with a future
 * effective_until: active until then; retired with none: from today.
 * Proposed stays proposed.
 */
static spreg_status
settle(Spreg__V1__Subprocessor *sp, const Spreg__V1__Subprocessor *old,
    int32_t today, arena *a, bool *upcoming, err *e)
{
	char buf[DATE_BUF];
	int32_t from, until;

	*upcoming = false;
	if (sp->effective_from[0] == '\0') {
		if (old != NULL && old->effective_from[0] != '\0') {
			sp->effective_from = old->effective_from;
		} else {
			date_format(today, buf);
			if ((sp->effective_from = arena_strdup(a, buf)) == NULL) {
				return err_oom(e, NULL);
			}
		}
	}
	if (sp->status == SP_STATUS_PROPOSED) {
		return SPREG_OK;
	}
	if (!date_parse(sp->effective_from, &from)) {
		from = today;
	}
	bool ends = date_parse(sp->effective_until, &until);
	if (sp->status == SP_STATUS_RETIRED && !ends) {
		date_format(today, buf);
		if ((sp->effective_until = arena_strdup(a, buf)) == NULL) {
			return err_oom(e, NULL);
		}
		until = today;
		ends = true;
	}
	if (ends && (until <= today || until <= from)) {
		sp->status = SP_STATUS_RETIRED;
	} else if (from > today) {
		sp->status = SP_STATUS_PROPOSED;
		*upcoming = true;
	} else {
		sp->status = SP_STATUS_ACTIVE;
	}
	return SPREG_OK;
}

/* Writes sp as the current record and into history, re-indexes and
 * reschedules it from old (NULL on create), and logs the change. */
static spreg_status
store_sp(db_txn *t, const Spreg__V1__Subprocessor *old,
    Spreg__V1__Subprocessor *sp, const Spreg__V1__Change *tmpl, bool upcoming,
    const db_actor *who, arena *a, Spreg__V1__Change **change_out, err *e)
{
	unsigned char kbuf[KEY_MAX];
	char now[TIME_BUF];
	spreg_status st;
	MDB_val k;

	time_format(who->now_ms, now);
	sp->revision = old != NULL ? old->revision + 1 : 1;
	sp->updated_at = arena_strdup(a, now);
	sp->updated_by = arena_strdup(a, who->name);
	if (sp->updated_at == NULL || sp->updated_by == NULL) {
		return err_oom(e, NULL);
	}
	if (old != NULL && (st = index_sp(t, old, false, e)) != SPREG_OK) {
		return st;
	}
	if ((st = index_sp(t, sp, true, e)) != SPREG_OK ||
	    (st = schedule(t, old, sp, upcoming, date_from_ms(who->now_ms),
	         e)) != SPREG_OK) {
		return st;
	}
	k = str_val(sp->id);
	if ((st = db_value_put_message(t, DB_SP, &k, &sp->base, 0, e)) !=
	    SPREG_OK) {
		return st;
	}
	k = (MDB_val) {hist_key(kbuf, sp->id, sp->revision), kbuf};
	if ((st = db_value_put_message(t, DB_SP_HIST, &k, &sp->base,
	         MDB_NOOVERWRITE, e)) != SPREG_OK) {
		return st;
	}
	Spreg__V1__Change *c = arena_alloc(a, sizeof(*c));
	if (c == NULL) {
		return err_oom(e, NULL);
	}
	spreg__v1__change__init(c);
	c->time = sp->updated_at;
	c->actor = sp->updated_by;
	c->token = (char *) (who->token ? who->token : "");
	c->kind = tmpl->kind;
	c->ref_seq = tmpl->ref_seq;
	c->effective_at = tmpl->effective_at;
	c->emergency = tmpl->emergency;
	c->reason = tmpl->reason;
	c->customer_id = tmpl->customer_id;
	c->subprocessor_id = sp->id;
	c->old_revision = old != NULL ? old->revision : 0;
	c->new_revision = sp->revision;
	c->request_id = who->request_id;
	if ((st = db_change_scope(c, old, sp, a, e)) != SPREG_OK ||
	    (st = record_digest(t, sp->id, sp->revision, a,
	         &c->record_digest, e)) != SPREG_OK) {
		return st;
	}
	if ((st = db_change_append(t, c, a, e)) != SPREG_OK) {
		return st;
	}
	*change_out = c;
	return SPREG_OK;
}

static spreg_status
check_revision(const Spreg__V1__Subprocessor *old, const char *id,
    uint64_t expected, err *e)
{
	uint64_t have = old != NULL ? old->revision : 0;

	if (expected != 0 && expected != have) {
		return err_set(e, SPREG_FAILED_PRECONDITION,
		    "expected_revision: %llu, but subprocessor '%s' is at "
		    "revision %llu", (unsigned long long) expected, id,
		    (unsigned long long) have);
	}
	return SPREG_OK;
}

/* Same content, ignoring the fields the server sets? */
static bool
same_content(const Spreg__V1__Subprocessor *old, Spreg__V1__Subprocessor *sp,
    arena *a)
{
	Spreg__V1__Subprocessor tmp = *sp;
	tmp.revision = old->revision;
	tmp.updated_at = old->updated_at;
	tmp.updated_by = old->updated_by;

	size_t n1 = protobuf_c_message_get_packed_size(&old->base);
	size_t n2 = protobuf_c_message_get_packed_size(&tmp.base);
	if (n1 != n2) {
		return false;
	}
	uint8_t *b1 = arena_alloc(a, n1 + 1), *b2 = arena_alloc(a, n2 + 1);
	if (b1 == NULL || b2 == NULL) {
		return false;
	}
	protobuf_c_message_pack(&old->base, b1);
	protobuf_c_message_pack(&tmp.base, b2);
	return memcmp(b1, b2, n1) == 0;
}

spreg_status
db_sp_put(db_txn *t, Spreg__V1__Subprocessor *sp, uint64_t expected_revision,
    bool create_only, const db_actor *who, arena *a,
    Spreg__V1__Change **change_out, err *e)
{
	return db_sp_put_noted(t, sp, expected_revision, create_only, NULL,
	    who, a, change_out, e);
}

spreg_status
db_sp_put_noted(db_txn *t, Spreg__V1__Subprocessor *sp,
    uint64_t expected_revision, bool create_only,
    const Spreg__V1__Change *note, const db_actor *who, arena *a,
    Spreg__V1__Change **change_out, err *e)
{
	Spreg__V1__Subprocessor *old = NULL;
	bool upcoming, was_upcoming = false;
	spreg_status st;
	err ignored;

	st = db_sp_get(t, sp->id, 0, a, &old, &ignored);
	if (st == SPREG_NOT_FOUND) {
		old = NULL;
	} else if (st != SPREG_OK) {
		*e = ignored;
		return st;
	}
	if (create_only && old != NULL) {
		return err_set(e, SPREG_ALREADY_EXISTS,
		    "id: subprocessor '%s' exists (revision %llu)", sp->id,
		    (unsigned long long) old->revision);
	}
	if ((st = check_revision(old, sp->id, expected_revision, e)) !=
	    SPREG_OK) {
		return st;
	}
	if ((st = settle(sp, old, date_from_ms(who->now_ms), a, &upcoming,
	         e)) != SPREG_OK ||
	    (old != NULL &&
	        (st = db_sp_upcoming(t, old, &was_upcoming, e)) != SPREG_OK)) {
		return st;
	}
	if (old != NULL && was_upcoming == upcoming &&
	    same_content(old, sp, a)) {
		*sp = *old;
		*change_out = NULL;
		return SPREG_OK;
	}
	Spreg__V1__Change tmpl = SPREG__V1__CHANGE__INIT;
	if (note != NULL) {
		tmpl = *note;
	}
	tmpl.kind = old ? CHANGE_UPDATED : CHANGE_CREATED;
	return store_sp(t, old, sp, &tmpl, upcoming, who, a, change_out, e);
}

spreg_status
db_sp_put_as(db_txn *t, Spreg__V1__Subprocessor *sp,
    const Spreg__V1__Change *tmpl, const db_actor *who, arena *a,
    Spreg__V1__Change **change_out, err *e)
{
	Spreg__V1__Subprocessor *old = NULL;
	err ignored;
	spreg_status st = db_sp_get(t, sp->id, 0, a, &old, &ignored);

	if (st == SPREG_NOT_FOUND) {
		old = NULL;
	} else if (st != SPREG_OK) {
		*e = ignored;
		return st;
	}
	bool upcoming;
	if ((st = settle(sp, old, date_from_ms(who->now_ms), a, &upcoming,
	         e)) != SPREG_OK) {
		return st;
	}
	return store_sp(t, old, sp, tmpl, upcoming, who, a, change_out, e);
}

spreg_status
db_sp_retire(db_txn *t, const char *id, uint64_t expected_revision,
    const char *effective_until, const db_actor *who, arena *a,
    Spreg__V1__Subprocessor **sp_out, Spreg__V1__Change **change_out,
    err *e)
{
	Spreg__V1__Subprocessor *old, *sp;
	char today[DATE_BUF];
	int32_t until, from;
	spreg_status st;

	if ((st = db_sp_get(t, id, 0, a, &old, e)) != SPREG_OK ||
	    (st = check_revision(old, id, expected_revision, e)) != SPREG_OK) {
		return st;
	}
	if (old->status == SP_STATUS_RETIRED) {
		return err_set(e, SPREG_FAILED_PRECONDITION,
		    "id: subprocessor '%s' is already retired", id);
	}
	if (effective_until[0] == '\0') {
		date_format(date_from_ms(who->now_ms), today);
		effective_until = today;
	}
	if (!date_parse(effective_until, &until)) {
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "effective_until: not a YYYY-MM-DD date");
	}
	if (date_parse(old->effective_from, &from) && until < from) {
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "effective_until: %s is before effective_from %s",
		    effective_until, old->effective_from);
	}
	if ((sp = arena_alloc(a, sizeof(*sp))) == NULL ||
	    (effective_until = arena_strdup(a, effective_until)) == NULL) {
		return err_oom(e, NULL);
	}
	*sp = *old;
	sp->status = SP_STATUS_RETIRED;
	sp->effective_until = (char *) effective_until;
	/* In use until that day; a mere proposal is dropped at once. */
	bool upcoming = false, proposal = false;
	if ((st = db_sp_upcoming(t, old, &upcoming, e)) != SPREG_OK) {
		return st;
	}
	proposal = old->status == SP_STATUS_PROPOSED && !upcoming;
	if (!proposal && (st = settle(sp, old, date_from_ms(who->now_ms), a,
	                      &upcoming, e)) != SPREG_OK) {
		return st;
	}
	Spreg__V1__Change tmpl = SPREG__V1__CHANGE__INIT;
	tmpl.kind = CHANGE_RETIRED;
	tmpl.effective_at = sp->effective_until;
	if ((st = store_sp(t, old, sp, &tmpl, upcoming, who, a, change_out,
	         e)) != SPREG_OK) {
		return st;
	}
	*sp_out = sp;
	return SPREG_OK;
}

spreg_status
db_apply_dates(db_txn *t, int32_t today, const db_actor *who, arena *a,
    size_t *applied_out, err *e)
{
	MDB_dbi dbi = db_dbi(t->d, DB_SP_DUE);
	size_t applied = 0;
	spreg_status st;
	int rc;

	for (;;) {
		MDB_cursor *cur;
		MDB_val k, v;
		char id[KEY_MAX];
		if ((rc = mdb_cursor_open(t->txn, dbi, &cur)) != 0) {
			return db_fail(t, rc, "due", e);
		}
		rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
		int32_t day = rc == 0 && k.mv_size > 4 ?
		    (int32_t) db_be32_get(k.mv_data) : 0;
		char step = rc == 0 && v.mv_size == 1 ?
		    *(const char *) v.mv_data : 0;
		if (rc == 0 && k.mv_size > 4) {
			memcpy(id, (const char *) k.mv_data + 4, k.mv_size - 4);
			id[k.mv_size - 4] = '\0';
		}
		/* Taken off the schedule before the record is rewritten,
		 * which reschedules it. */
		if (rc == 0 && day <= today) {
			rc = mdb_cursor_del(cur, 0);
		} else if (rc == 0) {
			rc = MDB_NOTFOUND;	/* nothing due yet */
		}
		mdb_cursor_close(cur);
		if (rc == MDB_NOTFOUND) {
			break;
		}
		if (rc != 0) {
			return db_fail(t, rc, "due", e);
		}
		Spreg__V1__Subprocessor *old, *sp;
		int32_t date;
		err ignored;
		if (db_sp_get(t, id, 0, a, &old, &ignored) != SPREG_OK) {
			continue;	/* stale: nothing to apply */
		}
		Spreg__V1__Change tmpl = SPREG__V1__CHANGE__INIT;
		if ((sp = arena_alloc(a, sizeof(*sp))) == NULL) {
			return err_oom(e, NULL);
		}
		*sp = *old;
		if (step == DUE_ACTIVE && old->status == SP_STATUS_PROPOSED &&
		    date_parse(old->effective_from, &date) && date == day) {
			sp->status = SP_STATUS_ACTIVE;
			tmpl.kind = CHANGE_TOOK_EFFECT;
			tmpl.effective_at = old->effective_from;
		} else if (step == DUE_RETIRED &&
		    old->status != SP_STATUS_RETIRED &&
		    date_parse(old->effective_until, &date) && date == day) {
			sp->status = SP_STATUS_RETIRED;
			tmpl.kind = CHANGE_RETIRED;
			tmpl.effective_at = old->effective_until;
		} else {
			continue;	/* stale */
		}
		bool upcoming;
		Spreg__V1__Change *c;
		if ((st = settle(sp, old, today, a, &upcoming, e)) != SPREG_OK) {
			return st;
		}
		if (sp->status == SP_STATUS_RETIRED) {
			/* Both dates passed while the server was down. */
			tmpl.kind = CHANGE_RETIRED;
			tmpl.effective_at = sp->effective_until;
		}
		if ((st = store_sp(t, old, sp, &tmpl, upcoming, who, a, &c,
		         e)) != SPREG_OK) {
			return st;
		}
		applied++;
	}
	*applied_out = applied;
	return SPREG_OK;
}

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
	MDB_val k = str_val(dr->key), v;
	size_t n = 0;
	int rc;

	if (k.mv_size == 0 || k.mv_size > KEY_MAX) {
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
	MDB_val k = str_val(dr->key), v = str_val(id);
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
	driver selected = {DB_IDX_KIND, "customer_selected", 0};
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
		MDB_val key = str_val(f->any_service[i]);
		val[i] = str_val(after_id);
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
		char idbuf[KEY_MAX + 1];
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
	    status_key(f->status) : NULL;
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
		k = str_val(after_id);
		op = after_id[0] ? MDB_SET_RANGE : MDB_FIRST;
	} else {
		rc = mdb_cursor_open(t->txn,
		    db_dbi(t->d, drivers[best].table), &cur);
		k = str_val(drivers[best].key);
		v = str_val(after_id);
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
		char idbuf[KEY_MAX + 1];
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
	MDB_val k = str_val(id), v;
	spreg_status st;

	if (strlen(id) + 9 > KEY_MAX) {
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
	driver dr = {DB_IDX_STATUS, "active", 0};
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
	MDB_val k = str_val(CHAIN_HEAD), v;
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

/* hash = BLAKE2b(prev || c packed with an empty hash). */
static spreg_status
chain_hash(const unsigned char prev[DB_DIGEST_LEN], Spreg__V1__Change *c,
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
	blake2b(prev, buf, n, out);
	free(buf);
	return SPREG_OK;
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
	if ((st = chain_hash(prev, c, c->hash.data, e)) != SPREG_OK) {
		return st;
	}
	unsigned char head[8 + DB_DIGEST_LEN];
	db_be64_put(head, c->seq);
	memcpy(head + 8, c->hash.data, DB_DIGEST_LEN);
	MDB_val hk = str_val(CHAIN_HEAD);
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
	if (t->on_append != NULL) {
		t->on_append(t->on_append_arg, c);
	}
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
	char key[sizeof(LEGACY_PREFIX) + KEY_MAX];
	char list[1024];
	MDB_val v;

	snprintf(key, sizeof(key), LEGACY_PREFIX "%s", sp->id);
	MDB_val k = str_val(key);
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
	    (st = each_record(t, DB_SP_HIST, legacy_note, &any, e)) !=
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
	char key[sizeof(LEGACY_PREFIX) + KEY_MAX];
	MDB_val v;

	if (c->subprocessor_id[0] == '\0' || c->n_selected_by > 0) {
		return SPREG_OK;
	}
	snprintf(key, sizeof(key), LEGACY_PREFIX "%s", c->subprocessor_id);
	MDB_val k = str_val(key);
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
	MDB_val k = str_val(key);

	if (k.mv_size == 0 || k.mv_size > KEY_MAX) {
		return SPREG_NOT_FOUND;
	}
	return db_value_get_message(t, DB_CATEGORIES, &k,
	    &spreg__v1__data_category__descriptor, a,
	    (ProtobufCMessage **) out, e);
}

spreg_status
db_category_put(db_txn *t, const Spreg__V1__DataCategory *c, err *e)
{
	MDB_val k = str_val(c->key);
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
	MDB_val k = str_val("secret"), v;
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
	MDB_val k = str_val(key), v;
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
	MDB_val k = str_val(key);

	db_be64_put(buf, value);
	return db_value_put(t, DB_META, &k, buf, sizeof(buf), 0, e);
}

/* ---- verification ------------------------------------------------------ */

static spreg_status
bad(Spreg__V1__VerifyLogResponse *out, uint64_t seq, arena *a,
    const char *problem)
{
	out->ok = false;
	out->first_bad_seq = seq;
	out->problem = arena_strdup(a, problem);
	return out->problem ? SPREG_OK : SPREG_RESOURCE_EXHAUSTED;
}

spreg_status
db_verify(db_txn *t, Spreg__V1__VerifyLogResponse *out, arena *a, err *e)
{
	unsigned char prev[DB_DIGEST_LEN] = {0}, want[DB_DIGEST_LEN];
	char problem[512];
	MDB_cursor *cur;
	MDB_val k, v;
	uint64_t expect = 1;
	spreg_status st = SPREG_OK;
	arena tmp;
	int rc;

	out->ok = true;
	arena_init(&tmp, (size_t) 16 << 20);
	if ((rc = mdb_cursor_open(t->txn, db_dbi(t->d, DB_CHANGES), &cur)) !=
	    0) {
		arena_fini(&tmp);
		return db_fail(t, rc, "changes", e);
	}
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && out->ok;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT), expect++) {
		arena_reset(&tmp);
		uint64_t seq = k.mv_size == 8 ? db_be64_get(k.mv_data) : 0;
		MDB_val pl;
		err why;
		if (seq == expect &&
		    db_value_check(t, DB_CHANGES, &k, &v, &pl, &why) !=
		        SPREG_OK) {
			st = bad(out, seq, a, why.msg);
			break;
		}
		Spreg__V1__Change *c = seq != expect ? NULL :
		    spreg__v1__change__unpack(&tmp.pb, pl.mv_size, pl.mv_data);
		if (seq != expect || c == NULL || c->seq != seq) {
			snprintf(problem, sizeof(problem), "change seq %llu: "
			    "missing, out of order or unreadable",
			    (unsigned long long) expect);
			st = bad(out, expect, a, problem);
			break;
		}
		if ((st = chain_hash(prev, c, want, e)) != SPREG_OK) {
			break;
		}
		if (c->hash.len != DB_DIGEST_LEN ||
		    sodium_memcmp(c->hash.data, want, DB_DIGEST_LEN) != 0) {
			snprintf(problem, sizeof(problem), "change seq %llu: "
			    "its hash does not match its content and the "
			    "previous entry (altered entry)",
			    (unsigned long long) seq);
			st = bad(out, seq, a, problem);
			break;
		}
		memcpy(prev, want, DB_DIGEST_LEN);
		out->checked_changes++;
		if (c->record_digest.len == DB_DIGEST_LEN) {
			ProtobufCBinaryData d;
			err ignored;
			if (record_digest(t, c->subprocessor_id, c->new_revision,
			        &tmp, &d, &ignored) != SPREG_OK ||
			    sodium_memcmp(d.data, c->record_digest.data,
			        DB_DIGEST_LEN) != 0) {
				snprintf(problem, sizeof(problem),
				    "subprocessor '%.64s' revision %llu: the "
				    "stored record does not match change seq "
				    "%llu (altered or missing record)",
				    c->subprocessor_id,
				    (unsigned long long) c->new_revision,
				    (unsigned long long) seq);
				st = bad(out, seq, a, problem);
				break;
			}
		}
	}
	mdb_cursor_close(cur);
	if (st == SPREG_OK && rc != 0 && rc != MDB_NOTFOUND && out->ok) {
		st = db_fail(t, rc, "changes", e);
	}
	out->head_seq = expect - 1;
	if ((out->head_hash.data = arena_alloc(a, DB_DIGEST_LEN)) != NULL) {
		memcpy(out->head_hash.data, prev, DB_DIGEST_LEN);
		out->head_hash.len = DB_DIGEST_LEN;
	}
	/* Each current record must be its newest revision, byte for byte
	 * (that revision's digest was checked against the log above). */
	if (st == SPREG_OK && out->ok &&
	    (rc = mdb_cursor_open(t->txn, db_dbi(t->d, DB_SP), &cur)) == 0) {
		for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
		     rc == 0 && out->ok;
		     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
			arena_reset(&tmp);
			MDB_val pl, hpl;
			err why;
			if (db_value_check(t, DB_SP, &k, &v, &pl, &why) !=
			    SPREG_OK) {
				st = bad(out, 0, a, why.msg);
				break;
			}
			Spreg__V1__Subprocessor *sp =
			    spreg__v1__subprocessor__unpack(&tmp.pb, pl.mv_size,
			        pl.mv_data);
			unsigned char hk[KEY_MAX];
			MDB_val hkey;
			bool same = false;
			if (sp != NULL && k.mv_size + 9 <= KEY_MAX) {
				hkey = (MDB_val) {hist_key(hk, sp->id,
				    sp->revision), hk};
				same = db_value_get(t, DB_SP_HIST, &hkey, &hpl,
				           &why) == SPREG_OK &&
				    hpl.mv_size == pl.mv_size &&
				    memcmp(hpl.mv_data, pl.mv_data, pl.mv_size) ==
				        0;
			}
			if (!same) {
				snprintf(problem, sizeof(problem),
				    "subprocessor '%.*s': the current record "
				    "differs from its revision in the history "
				    "(altered record)", (int) (k.mv_size < 64 ?
				    k.mv_size : 64), (const char *) k.mv_data);
				st = bad(out, 0, a, problem);
				break;
			}
			out->checked_records++;
		}
		mdb_cursor_close(cur);
	}
	arena_fini(&tmp);
	return st;
}
