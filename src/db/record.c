/*
 * Subprocessor records: reading a revision, the secondary indexes, the
 * schedule of dated changes, and every put and retirement with the
 * change it logs. Listing is in list.c, the log in changes.c,
 * verification in verify.c; all over the helpers of db/store.h.
 */
#include <sodium.h>
#include <string.h>

#include "core/date.h"
#include "core/vocab.h"
#include "db/record.h"
#include "db/value.h"

size_t
db_hist_key(unsigned char *buf, const char *id, uint64_t revision)
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
	unsigned char kbuf[DB_KEY_MAX];
	MDB_val k, v;
	int rc;

	if (strlen(id) + 9 > DB_KEY_MAX) {
		return err_set(e, SPREG_NOT_FOUND, "id: no subprocessor '%s'",
		    "?");
	}
	if (revision == 0) {
		k = db_str_val(id);
		rc = mdb_get(t->txn, db_dbi(t->d, DB_SP), &k, &v);
	} else {
		k = (MDB_val) {db_hist_key(kbuf, id, revision), kbuf};
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

/* Adds (or removes) one index entry; duplicates and misses are fine
 * because ancestors and countries repeat across a record's fields. */
static spreg_status
index_one(db_txn *t, db_table table, const char *key, size_t keylen,
    const char *id, bool add, err *e)
{
	MDB_val k = {keylen, (void *) key};
	MDB_val v = db_str_val(id);
	int rc;

	if (keylen == 0 || keylen > DB_KEY_MAX) {
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
	const char *status = vocab_status_name(sp->status);
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
	const char *kind = vocab_kind_of(sp->kind);
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

/* fn on each record of table (DB_SP or DB_SP_HIST), each decoded in an
 * arena of its own; a damaged one is left to verify and reads. */
spreg_status
db_each_record(db_txn *t, db_table table, db_record_fn fn, void *arg, err *e)
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
	return db_each_record(t, DB_SP, reindex_one, count, e);
}

void
db_blake2b(const unsigned char *prev, const void *data, size_t len,
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
spreg_status
db_record_digest(db_txn *t, const char *id, uint64_t rev, arena *a,
    ProtobufCBinaryData *out, err *e)
{
	unsigned char kbuf[DB_KEY_MAX];
	MDB_val k = {db_hist_key(kbuf, id, rev), kbuf}, v;
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
	db_blake2b(NULL, v.mv_data, v.mv_size, out->data);
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
	unsigned char kbuf[DB_KEY_MAX];
	int32_t day;
	int rc;

	if (strlen(sp->id) + 4 > DB_KEY_MAX) {
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
	unsigned char kbuf[DB_KEY_MAX];
	int32_t from;
	MDB_val v;
	int rc;

	*out = false;
	if (sp->status != SP_STATUS_PROPOSED ||
	    !date_parse(sp->effective_from, &from) ||
	    strlen(sp->id) + 4 > DB_KEY_MAX) {
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
	unsigned char kbuf[DB_KEY_MAX];
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
	k = db_str_val(sp->id);
	if ((st = db_value_put_message(t, DB_SP, &k, &sp->base, 0, e)) !=
	    SPREG_OK) {
		return st;
	}
	k = (MDB_val) {db_hist_key(kbuf, sp->id, sp->revision), kbuf};
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
	    (st = db_record_digest(t, sp->id, sp->revision, a,
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
		char id[DB_KEY_MAX];
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
