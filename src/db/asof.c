/* The registry as of a day or a moment (see db_sp_list_as_of). */
#include <string.h>

#include "core/date.h"
#include "core/vocab.h"
#include "db/record.h"
#include "db/value.h"

#define KEY_MAX 511

/* Is key equal to or below filter? */
static bool
under(const char *key, const char *filter)
{
	size_t n = strlen(filter);
	return strncmp(key, filter, n) == 0 &&
	    (key[n] == '\0' || key[n] == '.');
}

static bool
has_str(char *const *list, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(list[i], s) == 0) {
			return true;
		}
	}
	return false;
}

/* The filter, evaluated on a record instead of the indexes. */
static bool
matches(const Spreg__V1__Subprocessor *sp, const db_sp_filter *f)
{
	if (f->category != NULL && f->category[0] != '\0') {
		bool hit = false;
		for (size_t i = 0; !hit && i < sp->n_data_categories; i++) {
			hit = under(sp->data_categories[i], f->category);
		}
		for (size_t i = 0; !hit && i < sp->n_locations; i++) {
			const Spreg__V1__Location *l = sp->locations[i];
			for (size_t j = 0; !hit && j < l->n_data_categories; j++) {
				hit = under(l->data_categories[j], f->category);
			}
		}
		if (!hit) {
			return false;
		}
	}
	if (f->country != NULL && f->country[0] != '\0') {
		bool hit = false;
		for (size_t i = 0; !hit && i < sp->n_locations; i++) {
			hit = strcmp(sp->locations[i]->country, f->country) == 0;
		}
		if (!hit) {
			return false;
		}
	}
	if (f->mechanism != NULL && f->mechanism[0] != '\0') {
		bool hit = false;
		for (size_t i = 0; !hit && i < sp->n_safeguards; i++) {
			hit = strcmp(sp->safeguards[i]->mechanism, f->mechanism) ==
			    0;
		}
		if (!hit) {
			return false;
		}
	}
	if (f->service != NULL && f->service[0] != '\0' &&
	    !has_str(sp->services, sp->n_services, f->service)) {
		return false;
	}
	if (f->status != SP_STATUS_UNSPECIFIED && sp->status != f->status) {
		return false;
	}
	if (f->kind != NULL && f->kind[0] != '\0' &&
	    strcmp(vocab_kind_of(sp->kind), f->kind) != 0) {
		return false;
	}
	if (f->fourth_party != NULL && f->fourth_party[0] != '\0') {
		bool hit = false;
		for (size_t i = 0; !hit && i < sp->n_fourth_parties; i++) {
			hit = strcmp(sp->fourth_parties[i]->id,
			    f->fourth_party) == 0;
		}
		if (!hit) {
			return false;
		}
	}
	if (f->purpose != NULL && f->purpose[0] != '\0') {
		bool hit = false;
		for (size_t i = 0; !hit && i < sp->n_data_uses; i++) {
			hit = under(sp->data_uses[i], f->purpose);
		}
		if (!hit) {
			return false;
		}
	}
	if (f->for_customer != NULL && sp->customer[0] != '\0' &&
	    strcmp(sp->customer, f->for_customer) != 0) {
		return false;
	}
	if (f->nany > 0) {
		bool hit = false;
		for (size_t i = 0; !hit && i < f->nany; i++) {
			hit = has_str(sp->services, sp->n_services,
			    f->any_service[i]);
		}
		if (!hit) {
			return false;
		}
	}
	return true;
}

/* The newest revision of id written at or before ms; NULL when none. */
static spreg_status
recorded_at(db_txn *t, const char *id, int64_t ms, arena *a,
    Spreg__V1__Subprocessor **out, err *e)
{
	unsigned char kbuf[KEY_MAX];
	size_t idlen = strlen(id);
	MDB_cursor *cur;
	MDB_val k, v;
	int rc;

	*out = NULL;
	if (idlen + 9 > KEY_MAX) {
		return SPREG_OK;
	}
	memcpy(kbuf, id, idlen);
	kbuf[idlen] = '\0';
	memset(kbuf + idlen + 1, 0, 8);
	k = (MDB_val) {idlen + 9, kbuf};
	if ((rc = mdb_cursor_open(t->txn, db_dbi(t->d, DB_SP_HIST), &cur)) !=
	    0) {
		return db_fail(t, rc, "history", e);
	}
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size != idlen + 9 || memcmp(k.mv_data, id, idlen) != 0) {
			break;
		}
		Spreg__V1__Subprocessor *sp;
		int64_t written;
		spreg_status st = db_value_decode(t, DB_SP_HIST, &k, &v,
		    &spreg__v1__subprocessor__descriptor, a,
		    (ProtobufCMessage **) &sp, e);
		if (st != SPREG_OK) {
			mdb_cursor_close(cur);
			return st;
		}
		if (!time_parse(sp->updated_at, &written)) {
			mdb_cursor_close(cur);
			return db_damaged(t, e, "subprocessor '%s' revision "
			    "%llu: bad time", id,
			    (unsigned long long) sp->revision);
		}
		if (written > ms) {
			break;
		}
		*out = sp;
	}
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND) {
		return db_fail(t, rc, "history", e);
	}
	return SPREG_OK;
}

/* Applies announcements due by day to cur (which may be NULL). */
static Spreg__V1__Subprocessor *
with_announcements(Spreg__V1__Subprocessor *cur,
    Spreg__V1__Announcement *const *ans, size_t nans, int32_t day)
{
	for (size_t i = 0; i < nans; i++) {
		int32_t eff;
		if (!ans[i]->applied && !ans[i]->withdrawn &&
		    strcmp(ans[i]->subprocessor->id, cur->id) == 0 &&
		    date_parse(ans[i]->effective_at, &eff) && eff <= day) {
			cur = ans[i]->subprocessor;
		}
	}
	return cur;
}

/* Projects sp (current) to a day: NULL when not in effect then. A
 * proposal is never in effect; an upcoming vendor is from its date. */
static spreg_status
project_day(db_txn *t, Spreg__V1__Subprocessor *sp,
    Spreg__V1__Announcement *const *ans, size_t nans, int32_t day, arena *a,
    Spreg__V1__Subprocessor **out, err *e)
{
	int32_t from, until;
	bool upcoming = true;
	spreg_status st;

	*out = NULL;
	sp = with_announcements(sp, ans, nans, day);
	if (sp->status == SP_STATUS_PROPOSED &&
	    (st = db_sp_upcoming(t, sp, &upcoming, e)) != SPREG_OK) {
		return st;
	}
	if (!upcoming || !date_parse(sp->effective_from, &from) || from > day ||
	    (date_parse(sp->effective_until, &until) && day >= until)) {
		return SPREG_OK;
	}
	Spreg__V1__Subprocessor *copy = arena_alloc(a, sizeof(*copy));
	if (copy == NULL) {
		return err_oom(e, NULL);
	}
	*copy = *sp;
	copy->status = SP_STATUS_ACTIVE;	/* in effect that day */
	*out = copy;
	return SPREG_OK;
}

static spreg_status
project(db_txn *t, Spreg__V1__Subprocessor *cur, const db_as_of *at,
    Spreg__V1__Announcement *const *ans, size_t nans, arena *a,
    Spreg__V1__Subprocessor **out, err *e)
{
	if (at->moment) {
		return recorded_at(t, cur->id, at->ms, a, out, e);
	}
	return project_day(t, cur, ans, nans, at->day, a, out, e);
}

spreg_status
db_sp_get_as_of(db_txn *t, const char *id, const db_as_of *at, arena *a,
    Spreg__V1__Subprocessor **out, err *e)
{
	Spreg__V1__Announcement **ans = NULL;
	Spreg__V1__Subprocessor *cur;
	size_t nans = 0;
	spreg_status st;

	if ((st = db_sp_get(t, id, 0, a, &cur, e)) != SPREG_OK ||
	    (!at->moment && (st = db_announcement_list(t, false, a, &ans,
	                         &nans, e)) != SPREG_OK) ||
	    (st = project(t, cur, at, ans, nans, a, out, e)) != SPREG_OK) {
		return st;
	}
	if (*out == NULL) {
		return err_set(e, SPREG_NOT_FOUND,
		    "as_of: subprocessor '%s' was not %s then", id,
		    at->moment ? "recorded yet" : "in effect");
	}
	return SPREG_OK;
}

spreg_status
db_sp_list_as_of(db_txn *t, const db_sp_filter *f, const db_as_of *at,
    const char *after_id, size_t limit, arena *a,
    Spreg__V1__Subprocessor ***out, size_t *n_out, bool *more_out, err *e)
{
	Spreg__V1__Announcement **ans = NULL;
	size_t nans = 0, n = 0;
	MDB_cursor *cur;
	MDB_val k = {strlen(after_id), (void *) after_id}, v;
	spreg_status st = SPREG_OK;
	int rc;

	Spreg__V1__Subprocessor **items = arena_alloc(a,
	    (limit ? limit : 1) * sizeof(*items));
	if (items == NULL) {
		return err_oom(e, NULL);
	}
	if (!at->moment &&
	    (st = db_announcement_list(t, false, a, &ans, &nans, e)) !=
	        SPREG_OK) {
		return st;
	}
	if ((rc = mdb_cursor_open(t->txn, db_dbi(t->d, DB_SP), &cur)) != 0) {
		return db_fail(t, rc, "list", e);
	}
	/* Candidates are decoded into scratch memory, reset per record, so
	 * a narrow filter over a large registry costs one record's worth;
	 * a match is decoded again into the caller's arena. */
	arena scratch;
	arena_init(&scratch, (size_t) 16 << 20);
	*more_out = false;
	for (rc = mdb_cursor_get(cur, &k, &v,
	         after_id[0] ? MDB_SET_RANGE : MDB_FIRST);
	     rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (after_id[0] && k.mv_size == strlen(after_id) &&
		    memcmp(k.mv_data, after_id, k.mv_size) == 0) {
			continue;
		}
		arena_reset(&scratch);
		Spreg__V1__Subprocessor *sp, *p;
		if ((st = db_value_decode(t, DB_SP, &k, &v,
		         &spreg__v1__subprocessor__descriptor, &scratch,
		         (ProtobufCMessage **) &sp, e)) != SPREG_OK) {
			break;
		}
		if ((st = project(t, sp, at, ans, nans, &scratch, &p, e)) !=
		    SPREG_OK) {
			break;
		}
		if (p == NULL || !matches(p, f)) {
			continue;
		}
		if (n == limit) {
			*more_out = true;
			break;
		}
		/* Keep it: the same projection, into the caller's arena. */
		if ((st = db_value_decode(t, DB_SP, &k, &v,
		         &spreg__v1__subprocessor__descriptor, a,
		         (ProtobufCMessage **) &sp, e)) != SPREG_OK ||
		    (st = project(t, sp, at, ans, nans, a, &p, e)) != SPREG_OK) {
			break;
		}
		items[n++] = p;
	}
	mdb_cursor_close(cur);
	arena_fini(&scratch);
	if (st == SPREG_OK && rc != 0 && rc != MDB_NOTFOUND && !*more_out) {
		st = db_fail(t, rc, "list", e);
	}
	*out = items;
	*n_out = n;
	return st;
}
