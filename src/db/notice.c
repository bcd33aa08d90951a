/* Announced changes, their due dates, and customers' objections. */
#include <string.h>

#include "core/date.h"
#include "db/record.h"
#include "db/value.h"

static spreg_status
put_announcement(db_txn *t, const Spreg__V1__Announcement *an, err *e)
{
	unsigned char kbuf[8];
	MDB_val k = {8, kbuf};

	db_be64_put(kbuf, an->seq);
	return db_value_put_message(t, DB_ANNOUNCEMENTS, &k, &an->base, 0, e);
}

spreg_status
db_announcement_get(db_txn *t, uint64_t seq, arena *a,
    Spreg__V1__Announcement **out, err *e)
{
	unsigned char kbuf[8];
	MDB_val k = {8, kbuf};
	spreg_status st;

	db_be64_put(kbuf, seq);
	st = db_value_get_message(t, DB_ANNOUNCEMENTS, &k,
	    &spreg__v1__announcement__descriptor, a, (ProtobufCMessage **) out,
	    e);
	if (st == SPREG_NOT_FOUND) {
		return err_set(e, SPREG_NOT_FOUND,
		    "change_seq: %llu is not an announced change",
		    (unsigned long long) seq);
	}
	return st;
}

spreg_status
db_announcement_list(db_txn *t, bool include_applied, arena *a,
    Spreg__V1__Announcement ***out, size_t *n_out, err *e)
{
	MDB_stat stat;
	MDB_cursor *cur;
	MDB_val k, v;
	size_t n = 0;
	int rc;

	if ((rc = mdb_stat(t->txn, db_dbi(t->d, DB_ANNOUNCEMENTS), &stat)) !=
	        0 ||
	    (rc = mdb_cursor_open(t->txn, db_dbi(t->d, DB_ANNOUNCEMENTS),
	         &cur)) != 0) {
		return db_fail(t, rc, "announcements", e);
	}
	Spreg__V1__Announcement **items = arena_alloc(a,
	    (stat.ms_entries + 1) * sizeof(*items));
	if (items == NULL) {
		mdb_cursor_close(cur);
		return err_oom(e, NULL);
	}
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		Spreg__V1__Announcement *an;
		spreg_status st = db_value_decode(t, DB_ANNOUNCEMENTS, &k, &v,
		    &spreg__v1__announcement__descriptor, a,
		    (ProtobufCMessage **) &an, e);
		if (st != SPREG_OK) {
			mdb_cursor_close(cur);
			return st;
		}
		if (include_applied || (!an->applied && !an->withdrawn)) {
			items[n++] = an;
		}
	}
	mdb_cursor_close(cur);
	*out = items;
	*n_out = n;
	return SPREG_OK;
}

/* The ANNOUNCED entry of the log at seq: it names the services
 * concerned. */
static spreg_status
announced_change(db_txn *t, uint64_t seq, arena *a, Spreg__V1__Change **out,
    err *e)
{
	Spreg__V1__Change **cs;
	size_t nc;
	uint64_t next;
	spreg_status st;

	if ((st = db_change_list(t, seq - 1, 1, NULL, 1, a, &cs, &nc, &next,
	         e)) != SPREG_OK) {
		return st;
	}
	if (nc != 1 || cs[0]->kind != CHANGE_ANNOUNCED) {
		return err_set(e, SPREG_DATA_LOSS,
		    "change %llu: the log has no announcement there",
		    (unsigned long long) seq);
	}
	*out = cs[0];
	return SPREG_OK;
}

static void
due_key(unsigned char out[12], int32_t day, uint64_t seq)
{
	db_be32_put(out, (uint32_t) day);
	db_be64_put(out + 4, seq);
}

/* The pending announcement of a subprocessor, if any. */
static spreg_status
pending_for(db_txn *t, const char *id, arena *a, uint64_t *seq_out, err *e)
{
	Spreg__V1__Announcement **items;
	size_t n;
	spreg_status st;

	*seq_out = 0;
	if ((st = db_announcement_list(t, false, a, &items, &n, e)) !=
	    SPREG_OK) {
		return st;
	}
	for (size_t i = 0; i < n; i++) {
		if (strcmp(items[i]->subprocessor->id, id) == 0) {
			*seq_out = items[i]->seq;
		}
	}
	return SPREG_OK;
}

spreg_status
db_announcement_put(db_txn *t, const db_announce *in, const db_actor *who,
    arena *a, Spreg__V1__Announcement **out, Spreg__V1__Change **change_out,
    err *e)
{
	Spreg__V1__Subprocessor *old = NULL;
	char now[TIME_BUF], day[DATE_BUF];
	uint64_t pending;
	spreg_status st;
	err ignored;

	st = db_sp_get(t, in->sp->id, 0, a, &old, &ignored);
	if (st == SPREG_NOT_FOUND) {
		old = NULL;
	} else if (st != SPREG_OK) {
		*e = ignored;
		return st;
	}
	uint64_t have = old ? old->revision : 0;
	if (in->expected_revision != 0 && in->expected_revision != have) {
		return err_set(e, SPREG_FAILED_PRECONDITION,
		    "expected_revision: %llu, but subprocessor '%s' is at "
		    "revision %llu", (unsigned long long) in->expected_revision,
		    in->sp->id, (unsigned long long) have);
	}
	if ((st = pending_for(t, in->sp->id, a, &pending, e)) != SPREG_OK) {
		return st;
	}
	if (pending != 0) {
		return err_set(e, SPREG_FAILED_PRECONDITION,
		    "subprocessor.id: '%s' already has a pending announcement "
		    "(change seq %llu)", in->sp->id,
		    (unsigned long long) pending);
	}
	date_format(in->effective_day, day);
	time_format(who->now_ms, now);

	/* A new vendor is listed as proposed until its date. */
	if (old == NULL) {
		Spreg__V1__Subprocessor *proposed = arena_alloc(a,
		    sizeof(*proposed));
		Spreg__V1__Change *created;
		if (proposed == NULL) {
			return err_oom(e, NULL);
		}
		*proposed = *in->sp;
		proposed->status = SP_STATUS_PROPOSED;
		proposed->effective_from = arena_strdup(a, day);
		if (proposed->effective_from == NULL) {
			return err_oom(e, NULL);
		}
		if ((st = db_sp_put(t, proposed, 0, true, who, a, &created,
		         e)) != SPREG_OK) {
			return st;
		}
		have = proposed->revision;
	}
	Spreg__V1__Change *c = arena_alloc(a, sizeof(*c));
	Spreg__V1__Announcement *an = arena_alloc(a, sizeof(*an));
	if (c == NULL || an == NULL) {
		return err_oom(e, NULL);
	}
	spreg__v1__change__init(c);
	c->time = arena_strdup(a, now);
	c->actor = (char *) who->name;
	c->token = (char *) (who->token ? who->token : "");
	c->kind = CHANGE_ANNOUNCED;
	c->subprocessor_id = in->sp->id;
	c->old_revision = have;
	c->request_id = who->request_id;
	c->effective_at = arena_strdup(a, day);
	c->emergency = in->emergency;
	c->reason = (char *) in->reason;
	c->customer_id = (char *) in->customer_id;
	if (c->time == NULL || c->effective_at == NULL) {
		return err_oom(e, NULL);
	}
	/* Concerned: whom the vendor serves, before and after. */
	if ((st = db_change_scope(c, old, in->sp, a, e)) != SPREG_OK) {
		return st;
	}
	if ((st = db_change_append(t, c, a, e)) != SPREG_OK) {
		return st;
	}
	spreg__v1__announcement__init(an);
	an->seq = c->seq;
	an->effective_at = c->effective_at;
	an->subprocessor = in->sp;
	an->emergency = in->emergency;
	an->reason = (char *) in->reason;
	if ((st = put_announcement(t, an, e)) != SPREG_OK) {
		return st;
	}
	unsigned char due[12];
	due_key(due, in->effective_day, an->seq);
	MDB_val k = {sizeof(due), due}, v = {0, ""};
	int rc = mdb_put(t->txn, db_dbi(t->d, DB_DUE), &k, &v, 0);
	if (rc != 0) {
		return db_fail(t, rc, "due", e);
	}
	*out = an;
	*change_out = c;
	return SPREG_OK;
}

spreg_status
db_apply_due(db_txn *t, int32_t today, const db_actor *who, arena *a,
    size_t *applied_out, err *e)
{
	MDB_cursor *cur;
	MDB_val k, v;
	spreg_status st = SPREG_OK;
	size_t applied = 0;
	int rc;

	if ((rc = mdb_cursor_open(t->txn, db_dbi(t->d, DB_DUE), &cur)) != 0) {
		return db_fail(t, rc, "due", e);
	}
	while ((rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST)) == 0) {
		const unsigned char *key = k.mv_data;
		int32_t day = (int32_t) db_be32_get(key);
		if (k.mv_size != 12 || day > today) {
			break;
		}
		uint64_t seq = db_be64_get(key + 4);
		Spreg__V1__Announcement *an;
		Spreg__V1__Subprocessor *old = NULL, *sp;
		Spreg__V1__Change *c;
		err ignored;

		if ((rc = mdb_cursor_del(cur, 0)) != 0) {
			st = db_fail(t, rc, "due", e);
			break;
		}
		if ((st = db_announcement_get(t, seq, a, &an, e)) != SPREG_OK) {
			break;
		}
		if (an->applied || an->withdrawn) {
			continue;	/* its due entry was stale */
		}
		sp = an->subprocessor;
		if (sp->status == SP_STATUS_PROPOSED ||
		    sp->status == SP_STATUS_UNSPECIFIED) {
			sp->status = SP_STATUS_ACTIVE;
		}
		if (db_sp_get(t, sp->id, 0, a, &old, &ignored) != SPREG_OK) {
			old = NULL;
		}
		/* Applied as announced, whatever happened in between. */
		Spreg__V1__Change tmpl = SPREG__V1__CHANGE__INIT;
		tmpl.kind = CHANGE_TOOK_EFFECT;
		tmpl.ref_seq = seq;
		tmpl.effective_at = an->effective_at;
		if ((st = db_sp_put_as(t, sp, &tmpl, who, a, &c, e)) !=
		    SPREG_OK) {
			break;
		}
		an->applied = true;
		if ((st = put_announcement(t, an, e)) != SPREG_OK) {
			break;
		}
		applied++;
	}
	mdb_cursor_close(cur);
	if (st == SPREG_OK && rc != 0 && rc != MDB_NOTFOUND) {
		st = db_fail(t, rc, "due", e);
	}
	if (st == SPREG_OK) {
		*applied_out = applied;
	}
	return st;
}

spreg_status
db_announcement_withdraw(db_txn *t, uint64_t seq, const char *reason,
    const db_actor *who, arena *a, Spreg__V1__Announcement **out,
    Spreg__V1__Change **change_out, err *e)
{
	Spreg__V1__Announcement *an;
	Spreg__V1__Change *announced;
	char now[TIME_BUF];
	int32_t effective;
	spreg_status st;
	int rc;

	if ((st = db_announcement_get(t, seq, a, &an, e)) != SPREG_OK) {
		return st;
	}
	if (an->withdrawn) {
		return err_set(e, SPREG_FAILED_PRECONDITION,
		    "change_seq: change %llu is already withdrawn",
		    (unsigned long long) seq);
	}
	if (!date_parse(an->effective_at, &effective)) {
		return err_set(e, SPREG_DATA_LOSS, "announcement date");
	}
	if (an->applied || date_from_ms(who->now_ms) >= effective) {
		return err_set(e, SPREG_FAILED_PRECONDITION,
		    "change_seq: change %llu took effect on %s; it can no "
		    "longer be withdrawn (announce a new change instead)",
		    (unsigned long long) seq, an->effective_at);
	}
	if ((st = announced_change(t, seq, a, &announced, e)) != SPREG_OK) {
		return st;
	}
	unsigned char due[12];
	due_key(due, effective, seq);
	MDB_val k = {sizeof(due), due};
	if ((rc = mdb_del(t->txn, db_dbi(t->d, DB_DUE), &k, NULL)) != 0 &&
	    rc != MDB_NOTFOUND) {
		return db_fail(t, rc, "due", e);
	}
	time_format(who->now_ms, now);
	Spreg__V1__Change *c = arena_alloc(a, sizeof(*c));
	if (c == NULL) {
		return err_oom(e, NULL);
	}
	spreg__v1__change__init(c);
	if ((c->time = arena_strdup(a, now)) == NULL) {
		return err_oom(e, NULL);
	}
	c->actor = (char *) who->name;
	c->token = (char *) (who->token ? who->token : "");
	c->kind = CHANGE_WITHDRAWN;
	c->subprocessor_id = an->subprocessor->id;
	c->ref_seq = seq;
	c->reason = (char *) reason;
	c->effective_at = an->effective_at;
	c->request_id = who->request_id;
	/* Whoever was told of the announcement is told it is off. */
	c->services = announced->services;
	c->n_services = announced->n_services;
	c->selected_by = announced->selected_by;
	c->n_selected_by = announced->n_selected_by;
	c->selected_only = announced->selected_only;
	c->customer_id = announced->customer_id;
	if ((st = db_change_append(t, c, a, e)) != SPREG_OK) {
		return st;
	}
	an->withdrawn = true;
	if ((st = put_announcement(t, an, e)) != SPREG_OK) {
		return st;
	}
	*out = an;
	*change_out = c;
	return SPREG_OK;
}

static size_t
objection_key(unsigned char *buf, uint64_t seq, const char *customer_id)
{
	size_t n = strlen(customer_id);
	db_be64_put(buf, seq);
	memcpy(buf + 8, customer_id, n);
	return 8 + n;
}

spreg_status
db_objection_put(db_txn *t, const char *customer_id, uint64_t change_seq,
    const char *reason, const db_actor *who, arena *a,
    Spreg__V1__Objection **out, Spreg__V1__Change **change_out, err *e)
{
	Spreg__V1__Announcement *an;
	Spreg__V1__Customer *cust;
	unsigned char kbuf[8 + 64];
	char now[TIME_BUF];
	int32_t effective;
	spreg_status st;
	int rc;

	if ((st = db_announcement_get(t, change_seq, a, &an, e)) != SPREG_OK ||
	    (st = db_customer_get(t, customer_id, a, &cust, e)) != SPREG_OK) {
		return st;
	}
	/* The ANNOUNCED change names the services concerned. */
	Spreg__V1__Change *announced;
	if ((st = announced_change(t, change_seq, a, &announced, e)) !=
	    SPREG_OK) {
		return st;
	}
	if (!db_change_concerns(announced, customer_id, cust->services,
	        cust->n_services)) {
		return err_set(e, SPREG_FAILED_PRECONDITION,
		    "customer_id: customer '%s' uses none of the services of "
		    "change %llu", customer_id, (unsigned long long) change_seq);
	}
	if (!date_parse(an->effective_at, &effective)) {
		return db_damaged(t, e, "announcement seq %llu: bad date",
		    (unsigned long long) change_seq);
	}
	if (an->withdrawn) {
		return err_set(e, SPREG_FAILED_PRECONDITION,
		    "change_seq: change %llu was withdrawn",
		    (unsigned long long) change_seq);
	}
	if (an->applied || date_from_ms(who->now_ms) >= effective) {
		return err_set(e, SPREG_FAILED_PRECONDITION,
		    "change_seq: the notice window of change %llu closed on %s",
		    (unsigned long long) change_seq, an->effective_at);
	}
	MDB_val k = {objection_key(kbuf, change_seq, customer_id), kbuf}, v;
	rc = mdb_get(t->txn, db_dbi(t->d, DB_OBJECTIONS), &k, &v);
	if (rc == 0) {
		return err_set(e, SPREG_ALREADY_EXISTS,
		    "customer_id: customer '%s' already objected to change %llu",
		    customer_id, (unsigned long long) change_seq);
	}
	if (rc != MDB_NOTFOUND) {
		return db_fail(t, rc, "objections", e);
	}
	time_format(who->now_ms, now);
	Spreg__V1__Change *c = arena_alloc(a, sizeof(*c));
	Spreg__V1__Objection *o = arena_alloc(a, sizeof(*o));
	if (c == NULL || o == NULL || (c->time = arena_strdup(a, now)) == NULL) {
		return err_oom(e, NULL);
	}
	char *time = c->time;
	spreg__v1__change__init(c);
	c->time = time;
	c->actor = (char *) who->name;
	c->token = (char *) (who->token ? who->token : "");
	c->kind = CHANGE_OBJECTION;
	c->subprocessor_id = an->subprocessor->id;
	c->customer_id = (char *) customer_id;
	c->reason = (char *) reason;
	c->ref_seq = change_seq;
	c->request_id = who->request_id;
	c->effective_at = an->effective_at;
	if ((st = db_change_append(t, c, a, e)) != SPREG_OK) {
		return st;
	}
	spreg__v1__objection__init(o);
	o->customer_id = (char *) customer_id;
	o->change_seq = change_seq;
	o->reason = (char *) reason;
	o->time = c->time;
	o->actor = c->actor;
	o->seq = c->seq;
	if ((st = db_value_put_message(t, DB_OBJECTIONS, &k, &o->base, 0,
	         e)) != SPREG_OK) {
		return st;
	}
	MDB_val ik = {strlen(customer_id), (void *) customer_id};
	MDB_val iv = {8, kbuf};
	if ((rc = mdb_put(t->txn, db_dbi(t->d, DB_IDX_OBJECTION_CUSTOMER), &ik,
	         &iv, MDB_NODUPDATA)) != 0) {
		return db_fail(t, rc, "objections", e);
	}
	*out = o;
	*change_out = c;
	return SPREG_OK;
}

static spreg_status
append_objection(db_txn *t, const MDB_val *k, const MDB_val *v, arena *a,
    Spreg__V1__Objection ***items, size_t *n, size_t *cap, err *e)
{
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		Spreg__V1__Objection **more = arena_alloc(a,
		    ncap * sizeof(*more));
		if (more == NULL) {
			return err_oom(e, NULL);
		}
		if (*n > 0) {
			memcpy(more, *items, *n * sizeof(*more));
		}
		*items = more;
		*cap = ncap;
	}
	spreg_status st = db_value_decode(t, DB_OBJECTIONS, k, v,
	    &spreg__v1__objection__descriptor, a,
	    (ProtobufCMessage **) &(*items)[*n], e);
	if (st == SPREG_OK) {
		(*n)++;
	}
	return st;
}

spreg_status
db_objection_list(db_txn *t, uint64_t change_seq, const char *customer_id,
    arena *a, Spreg__V1__Objection ***out, size_t *n_out, err *e)
{
	Spreg__V1__Objection **items = NULL;
	size_t n = 0, cap = 0;
	MDB_cursor *cur;
	spreg_status st = SPREG_OK;
	int rc;

	if (customer_id != NULL && customer_id[0] != '\0') {
		MDB_cursor *idx;
		MDB_val k = {strlen(customer_id), (void *) customer_id}, v;
		if ((rc = mdb_cursor_open(t->txn,
		         db_dbi(t->d, DB_IDX_OBJECTION_CUSTOMER), &idx)) != 0) {
			return db_fail(t, rc, "objections", e);
		}
		for (rc = mdb_cursor_get(idx, &k, &v, MDB_SET_KEY);
		     rc == 0 && st == SPREG_OK;
		     rc = mdb_cursor_get(idx, &k, &v, MDB_NEXT_DUP)) {
			unsigned char kbuf[8 + 64];
			MDB_val ok = {objection_key(kbuf,
			    db_be64_get(v.mv_data), customer_id), kbuf}, ov;
			if (mdb_get(t->txn, db_dbi(t->d, DB_OBJECTIONS), &ok,
			        &ov) == 0) {
				st = append_objection(t, &ok, &ov, a, &items,
				    &n, &cap, e);
			}
		}
		mdb_cursor_close(idx);
	} else {
		unsigned char kbuf[8];
		MDB_val k = {8, kbuf}, v;
		db_be64_put(kbuf, change_seq);
		if ((rc = mdb_cursor_open(t->txn, db_dbi(t->d, DB_OBJECTIONS),
		         &cur)) != 0) {
			return db_fail(t, rc, "objections", e);
		}
		for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
		     rc == 0 && st == SPREG_OK && k.mv_size >= 8 &&
		     db_be64_get(k.mv_data) == change_seq;
		     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
			st = append_objection(t, &k, &v, a, &items, &n, &cap,
			    e);
		}
		mdb_cursor_close(cur);
	}
	if (st != SPREG_OK) {
		return st;
	}
	if (items == NULL && (items = arena_alloc(a, sizeof(*items))) == NULL) {
		return err_oom(e, NULL);
	}
	*out = items;
	*n_out = n;
	return SPREG_OK;
}
