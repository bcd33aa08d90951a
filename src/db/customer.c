#include <stdlib.h>
#include <string.h>

#include "core/date.h"
#include "db/record.h"
#include "db/value.h"

spreg_status
db_customer_get(db_txn *t, const char *id, arena *a,
    Spreg__V1__Customer **out, err *e)
{
	MDB_val k = db_str_val(id);
	spreg_status st;

	if (k.mv_size == 0 || k.mv_size > 64) {
		return err_set(e, SPREG_NOT_FOUND, "customer: no customer '?'");
	}
	st = db_value_get_message(t, DB_CUSTOMERS, &k,
	    &spreg__v1__customer__descriptor, a, (ProtobufCMessage **) out, e);
	if (st == SPREG_NOT_FOUND) {
		return err_set(e, SPREG_NOT_FOUND,
		    "customer: no customer '%s'", id);
	}
	return st;
}

static spreg_status
index_services(db_txn *t, const Spreg__V1__Customer *c, bool add, err *e)
{
	for (size_t i = 0; i < c->n_services; i++) {
		MDB_val k = db_str_val(c->services[i]), v = db_str_val(c->id);
		int rc = add ?
		    mdb_put(t->txn, db_dbi(t->d, DB_IDX_CUSTOMER_SERVICE), &k,
		        &v, MDB_NODUPDATA) :
		    mdb_del(t->txn, db_dbi(t->d, DB_IDX_CUSTOMER_SERVICE), &k,
		        &v);
		if (rc != 0 && rc != MDB_KEYEXIST && rc != MDB_NOTFOUND) {
			return db_fail(t, rc, "customer index", e);
		}
	}
	return SPREG_OK;
}

static spreg_status
log_change(db_txn *t, const Spreg__V1__Customer *c,
    Spreg__V1__ChangeKind kind, uint64_t old_rev, const db_actor *who,
    arena *a, Spreg__V1__Change **change_out, err *e)
{
	char now[TIME_BUF];
	Spreg__V1__Change *ch = arena_alloc(a, sizeof(*ch));

	if (ch == NULL) {
		return err_oom(e, NULL);
	}
	spreg__v1__change__init(ch);
	time_format(who->now_ms, now);
	ch->time = arena_strdup(a, now);
	ch->actor = (char *) who->name;
	ch->token = (char *) (who->token ? who->token : "");
	ch->kind = kind;
	ch->customer_id = c->id;
	ch->old_revision = old_rev;
	ch->new_revision = kind == CHANGE_CUSTOMER_DELETED ? 0 : c->revision;
	ch->request_id = who->request_id;
	if (ch->time == NULL) {
		return err_oom(e, NULL);
	}
	*change_out = ch;
	return db_change_append(t, ch, a, e);
}

spreg_status
db_customer_put(db_txn *t, Spreg__V1__Customer *c, uint64_t expected_revision,
    const db_actor *who, arena *a, Spreg__V1__Change **change_out, err *e)
{
	Spreg__V1__Customer *old = NULL;
	char now[TIME_BUF];
	spreg_status st;
	err ignored;

	st = db_customer_get(t, c->id, a, &old, &ignored);
	if (st != SPREG_OK && st != SPREG_NOT_FOUND) {
		*e = ignored;
		return st;
	}
	if (st == SPREG_NOT_FOUND) {
		old = NULL;
	}
	uint64_t have = old ? old->revision : 0;
	if (expected_revision != 0 && expected_revision != have) {
		return err_set(e, SPREG_FAILED_PRECONDITION,
		    "expected_revision: %llu, but customer '%s' is at revision "
		    "%llu", (unsigned long long) expected_revision, c->id,
		    (unsigned long long) have);
	}
	time_format(who->now_ms, now);
	c->revision = have + 1;
	c->updated_at = arena_strdup(a, now);
	c->updated_by = (char *) who->name;
	if (c->updated_at == NULL) {
		return err_oom(e, NULL);
	}
	if ((old != NULL && (st = index_services(t, old, false, e)) !=
	        SPREG_OK) ||
	    (st = index_services(t, c, true, e)) != SPREG_OK) {
		return st;
	}
	MDB_val k = db_str_val(c->id);
	if ((st = db_value_put_message(t, DB_CUSTOMERS, &k, &c->base, 0, e)) !=
	    SPREG_OK) {
		return st;
	}
	return log_change(t, c, CHANGE_CUSTOMER_UPDATED, have, who, a,
	    change_out, e);
}

spreg_status
db_customer_delete(db_txn *t, const char *id, const db_actor *who, arena *a,
    Spreg__V1__Change **change_out, err *e)
{
	Spreg__V1__Customer *old;
	spreg_status st;

	if ((st = db_customer_get(t, id, a, &old, e)) != SPREG_OK ||
	    (st = index_services(t, old, false, e)) != SPREG_OK) {
		return st;
	}
	MDB_val k = db_str_val(id);
	int rc = mdb_del(t->txn, db_dbi(t->d, DB_CUSTOMERS), &k, NULL);
	if (rc != 0) {
		return db_fail(t, rc, "customer", e);
	}
	return log_change(t, old, CHANGE_CUSTOMER_DELETED, old->revision, who,
	    a, change_out, e);
}

spreg_status
db_customer_list(db_txn *t, const char *after_id, size_t limit, arena *a,
    Spreg__V1__Customer ***out, size_t *n_out, bool *more_out, err *e)
{
	MDB_cursor *cur;
	MDB_val k = db_str_val(after_id), v;
	spreg_status st = SPREG_OK;
	size_t n = 0;
	int rc;

	Spreg__V1__Customer **items = arena_alloc(a,
	    (limit ? limit : 1) * sizeof(*items));
	if (items == NULL) {
		return err_oom(e, NULL);
	}
	if ((rc = mdb_cursor_open(t->txn, db_dbi(t->d, DB_CUSTOMERS), &cur)) !=
	    0) {
		return db_fail(t, rc, "customers", e);
	}
	*more_out = false;
	for (rc = mdb_cursor_get(cur, &k, &v,
	         after_id[0] ? MDB_SET_RANGE : MDB_FIRST);
	     rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (after_id[0] && k.mv_size == strlen(after_id) &&
		    memcmp(k.mv_data, after_id, k.mv_size) == 0) {
			continue;
		}
		if (n == limit) {
			*more_out = true;
			break;
		}
		if ((st = db_value_decode(t, DB_CUSTOMERS, &k, &v,
		         &spreg__v1__customer__descriptor, a,
		         (ProtobufCMessage **) &items[n], e)) != SPREG_OK) {
			break;
		}
		n++;
	}
	mdb_cursor_close(cur);
	if (st == SPREG_OK && rc != 0 && rc != MDB_NOTFOUND) {
		return db_fail(t, rc, "customers", e);
	}
	*out = items;
	*n_out = n;
	return st;
}

spreg_status
db_customer_count(db_txn *t, uint64_t *count, err *e)
{
	MDB_stat stat;
	int rc = mdb_stat(t->txn, db_dbi(t->d, DB_CUSTOMERS), &stat);

	if (rc != 0) {
		return db_fail(t, rc, "customers", e);
	}
	*count = stat.ms_entries;
	return SPREG_OK;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/* Ids of the customers using any of services, sorted and unique. */
static spreg_status
ids_of_services(db_txn *t, char *const *services, size_t nservices,
    arena *a, char ***ids_out, size_t *n_out, err *e)
{
	MDB_cursor *cur;
	size_t n = 0, cap = 16;
	char **ids = arena_alloc(a, cap * sizeof(*ids));
	int rc;

	if (ids == NULL) {
		return err_oom(e, NULL);
	}
	if ((rc = mdb_cursor_open(t->txn,
	         db_dbi(t->d, DB_IDX_CUSTOMER_SERVICE), &cur)) != 0) {
		return db_fail(t, rc, "customer index", e);
	}
	for (size_t i = 0; i < nservices; i++) {
		MDB_val k = db_str_val(services[i]), v;
		if (k.mv_size == 0) {
			continue;
		}
		for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_KEY); rc == 0;
		     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT_DUP)) {
			if (n == cap) {
				char **more = arena_alloc(a,
				    2 * cap * sizeof(*more));
				if (more == NULL) {
					mdb_cursor_close(cur);
					return err_oom(e, NULL);
				}
				memcpy(more, ids, n * sizeof(*ids));
				ids = more;
				cap *= 2;
			}
			if ((ids[n] = arena_alloc(a, v.mv_size + 1)) == NULL) {
				mdb_cursor_close(cur);
				return err_oom(e, NULL);
			}
			memcpy(ids[n], v.mv_data, v.mv_size);
			ids[n][v.mv_size] = '\0';
			n++;
		}
		if (rc != MDB_NOTFOUND) {
			mdb_cursor_close(cur);
			return db_fail(t, rc, "customer index", e);
		}
	}
	mdb_cursor_close(cur);
	if (n > 0) {
		qsort(ids, n, sizeof(*ids), cmp_str);
	}
	size_t u = 0;
	for (size_t i = 0; i < n; i++) {
		if (u == 0 || strcmp(ids[u - 1], ids[i]) != 0) {
			ids[u++] = ids[i];
		}
	}
	*ids_out = ids;
	*n_out = u;
	return SPREG_OK;
}

spreg_status
db_customers_of_services(db_txn *t, char *const *services, size_t nservices,
    arena *a, Spreg__V1__Customer ***out, size_t *n_out, err *e)
{
	char **ids;
	size_t n;
	spreg_status st;

	if ((st = ids_of_services(t, services, nservices, a, &ids, &n, e)) !=
	    SPREG_OK) {
		return st;
	}
	Spreg__V1__Customer **items = arena_alloc(a,
	    (n ? n : 1) * sizeof(*items));
	if (items == NULL) {
		return err_oom(e, NULL);
	}
	for (size_t i = 0; i < n; i++) {
		if ((st = db_customer_get(t, ids[i], a, &items[i], e)) !=
		    SPREG_OK) {
			return st;
		}
	}
	*out = items;
	*n_out = n;
	return SPREG_OK;
}

spreg_status
db_customers_concerned(db_txn *t, const Spreg__V1__Change *c, arena *a,
    const char ***ids_out, size_t *n_out, err *e)
{
	char **ids;
	size_t n;
	spreg_status st;

	if ((st = ids_of_services(t, c->services, c->n_services, a, &ids, &n,
	         e)) != SPREG_OK) {
		return st;
	}
	/* By name: its customer_id, and the customer whose own choice
	 * the vendor is. */
	char **more = arena_alloc(a, (n + 1 + c->n_selected_by) *
	    sizeof(*more));
	if (more == NULL) {
		return err_oom(e, NULL);
	}
	if (n > 0) {
		memcpy(more, ids, n * sizeof(*ids));
	}
	ids = more;
	for (size_t k = 0; k <= c->n_selected_by; k++) {
		char *id = k < c->n_selected_by ? c->selected_by[k] :
		    c->customer_id;
		bool seen = id[0] == '\0';
		for (size_t i = 0; i < n && !seen; i++) {
			seen = strcmp(ids[i], id) == 0;
		}
		if (!seen) {
			ids[n++] = id;
		}
	}
	*ids_out = (const char **) ids;
	*n_out = n;
	return SPREG_OK;
}
