#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>

#include "core/log.h"
#include "db/db.h"

#define DB_MAP_DEFAULT ((size_t) 64 << 20)
#define DB_MAP_MAX_DEFAULT ((size_t) 1 << 40)

struct db_session {
	db *d;
	MDB_txn *rtxn;		/* reset between requests */
	pthread_mutex_t mu;	/* held while a txn of this session is live */
	db_session *next;
};

struct db {
	MDB_env *env;
	uint64_t store_id;
	MDB_dbi dbi[DB_NTABLES];
	size_t map_max;
	pthread_mutex_t list_mu;	/* guards sessions */
	pthread_mutex_t grow_mu;	/* one grower at a time */
	db_session *sessions;
};

static const struct {
	const char *name;
	unsigned flags;
} tables[DB_NTABLES] = {
	[DB_META]          = {"meta", 0},
	[DB_SP]            = {"sp", 0},
	[DB_SP_HIST]       = {"sp_hist", 0},
	[DB_CHANGES]       = {"changes", 0},
	[DB_IDX_CATEGORY]  = {"idx_category", MDB_DUPSORT},
	[DB_IDX_COUNTRY]   = {"idx_country", MDB_DUPSORT},
	[DB_IDX_MECHANISM] = {"idx_mechanism", MDB_DUPSORT},
	[DB_IDX_SERVICE]   = {"idx_service", MDB_DUPSORT},
	[DB_IDX_STATUS]    = {"idx_status", MDB_DUPSORT},
	[DB_REQUESTS]      = {"requests", 0},
	[DB_REQUEST_TIMES] = {"request_times", 0},
	[DB_CATEGORIES]    = {"categories", 0},
	[DB_CUSTOMERS]     = {"customers", 0},
	[DB_IDX_CUSTOMER_SERVICE] = {"idx_customer_service", MDB_DUPSORT},
	[DB_ANNOUNCEMENTS] = {"announcements", 0},
	[DB_DUE]           = {"due", 0},
	[DB_OBJECTIONS]    = {"objections", 0},
	[DB_IDX_OBJECTION_CUSTOMER] = {"idx_objection_customer", MDB_DUPSORT},
	[DB_TOKENS]        = {"tokens", 0},
};

void
db_be64_put(unsigned char out[8], uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		out[i] = (unsigned char) (v & 0xff);
		v >>= 8;
	}
}

uint64_t
db_be64_get(const unsigned char in[8])
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++) {
		v = (v << 8) | in[i];
	}
	return v;
}

MDB_dbi
db_dbi(const db *d, db_table table)
{
	return d->dbi[table];
}

spreg_status
db_fail(db_txn *t, int rc, const char *what, err *e)
{
	if (t != NULL && t->mdb_rc == 0) {
		t->mdb_rc = rc;
	}
	switch (rc) {
	case MDB_NOTFOUND:
		return err_set(e, SPREG_NOT_FOUND, "%s: not found", what);
	case MDB_MAP_FULL:
	case MDB_TXN_FULL:
	case MDB_READERS_FULL:
		return err_set(e, SPREG_RESOURCE_EXHAUSTED, "%s: %s", what,
		    mdb_strerror(rc));
	default:
		log_error("lmdb: %s: %s", what, mdb_strerror(rc));
		return err_set(e, SPREG_INTERNAL, "%s: storage error: %s", what,
		    mdb_strerror(rc));
	}
}

uint64_t
db_store_id(db *d)
{
	return d->store_id;
}

size_t
db_map_size(db *d)
{
	MDB_envinfo info;
	mdb_env_info(d->env, &info);
	return info.me_mapsize;
}

/* Schema version and the server secret live in DB_META. */
static spreg_status
init_meta(db *d, MDB_txn *txn, err *e)
{
	MDB_val k = {strlen("schema_version"), "schema_version"};
	MDB_val v;
	unsigned char ver[8];
	int rc;

	rc = mdb_get(txn, d->dbi[DB_META], &k, &v);
	if (rc == MDB_NOTFOUND) {
		db_be64_put(ver, DB_SCHEMA_VERSION);
		v = (MDB_val) {sizeof(ver), ver};
		if ((rc = mdb_put(txn, d->dbi[DB_META], &k, &v, 0)) != 0) {
			return db_fail(NULL, rc, "meta", e);
		}
		unsigned char secret[32];
		if (getrandom(secret, sizeof(secret), 0) != sizeof(secret)) {
			return err_set(e, SPREG_INTERNAL, "getrandom: %s",
			    strerror(errno));
		}
		k = (MDB_val) {strlen("secret"), "secret"};
		v = (MDB_val) {sizeof(secret), secret};
		if ((rc = mdb_put(txn, d->dbi[DB_META], &k, &v, 0)) != 0) {
			return db_fail(NULL, rc, "meta", e);
		}
		return SPREG_OK;
	}
	if (rc != 0) {
		return db_fail(NULL, rc, "meta", e);
	}
	if (v.mv_size != 8 || db_be64_get(v.mv_data) != DB_SCHEMA_VERSION) {
		return err_set(e, SPREG_FAILED_PRECONDITION,
		    "data folder has schema version %llu; this server reads "
		    "version %d", v.mv_size == 8 ?
		    (unsigned long long) db_be64_get(v.mv_data) : 0ULL,
		    DB_SCHEMA_VERSION);
	}
	return SPREG_OK;
}

spreg_status
db_open(const db_options *o, db **out, err *e)
{
	MDB_txn *txn = NULL;
	spreg_status st;
	int rc, dead;
	db *d;

	if (mkdir(o->dir, 0700) != 0 && errno != EEXIST) {
		return err_set(e, SPREG_UNAVAILABLE, "data folder %s: %s",
		    o->dir, strerror(errno));
	}
	if ((d = calloc(1, sizeof(*d))) == NULL) {
		return err_set(e, SPREG_RESOURCE_EXHAUSTED, "out of memory");
	}
	pthread_mutex_init(&d->list_mu, NULL);
	pthread_mutex_init(&d->grow_mu, NULL);
	d->map_max = o->map_max ? o->map_max : DB_MAP_MAX_DEFAULT;
	if ((rc = mdb_env_create(&d->env)) != 0 ||
	    (rc = mdb_env_set_maxdbs(d->env, DB_NTABLES)) != 0 ||
	    (rc = mdb_env_set_maxreaders(d->env, 1024)) != 0 ||
	    (rc = mdb_env_set_mapsize(d->env,
	         o->map_size ? o->map_size : DB_MAP_DEFAULT)) != 0) {
		st = db_fail(NULL, rc, "environment", e);
		goto fail;
	}
	/* MDB_NOTLS: a session's read txn is reset and renewed, not tied
	 * to a thread's slot. */
	if ((rc = mdb_env_open(d->env, o->dir, MDB_NOTLS, 0600)) != 0) {
		st = err_set(e, SPREG_UNAVAILABLE, "data folder %s: %s", o->dir,
		    mdb_strerror(rc));
		goto fail;
	}
	/* Clear reader slots left by a process that died. */
	if ((rc = mdb_reader_check(d->env, &dead)) != 0) {
		st = db_fail(NULL, rc, "reader check", e);
		goto fail;
	}
	if (dead > 0) {
		log_warn("cleared %d stale reader slot(s)", dead);
	}
	if ((rc = mdb_txn_begin(d->env, NULL, 0, &txn)) != 0) {
		st = db_fail(NULL, rc, "open", e);
		goto fail;
	}
	for (int i = 0; i < DB_NTABLES; i++) {
		if ((rc = mdb_dbi_open(txn, tables[i].name,
		         tables[i].flags | MDB_CREATE, &d->dbi[i])) != 0) {
			st = db_fail(NULL, rc, tables[i].name, e);
			goto fail_txn;
		}
	}
	if ((st = init_meta(d, txn, e)) != SPREG_OK) {
		goto fail_txn;
	}
	MDB_val sk = {strlen("secret"), "secret"}, sv;
	if (mdb_get(txn, d->dbi[DB_META], &sk, &sv) == 0 && sv.mv_size >= 8) {
		d->store_id = db_be64_get(sv.mv_data);
	}
	rc = mdb_txn_commit(txn);
	txn = NULL;
	if (rc != 0) {
		st = db_fail(NULL, rc, "open", e);
		goto fail;
	}
	*out = d;
	return SPREG_OK;

fail_txn:
	mdb_txn_abort(txn);
fail:
	mdb_env_close(d->env);
	pthread_mutex_destroy(&d->list_mu);
	pthread_mutex_destroy(&d->grow_mu);
	free(d);
	return st;
}

void
db_close(db *d)
{
	if (d == NULL) {
		return;
	}
	mdb_env_close(d->env);
	pthread_mutex_destroy(&d->list_mu);
	pthread_mutex_destroy(&d->grow_mu);
	free(d);
}

spreg_status
db_session_create(db *d, db_session **out)
{
	db_session *s = calloc(1, sizeof(*s));

	if (s == NULL) {
		return SPREG_RESOURCE_EXHAUSTED;
	}
	s->d = d;
	pthread_mutex_init(&s->mu, NULL);
	pthread_mutex_lock(&d->list_mu);
	s->next = d->sessions;
	d->sessions = s;
	pthread_mutex_unlock(&d->list_mu);
	*out = s;
	return SPREG_OK;
}

void
db_session_destroy(db_session *s)
{
	if (s == NULL) {
		return;
	}
	db *d = s->d;
	pthread_mutex_lock(&d->list_mu);
	for (db_session **pp = &d->sessions; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	}
	pthread_mutex_unlock(&d->list_mu);
	if (s->rtxn != NULL) {
		mdb_txn_abort(s->rtxn);
	}
	pthread_mutex_destroy(&s->mu);
	free(s);
}

spreg_status
db_read_begin(db_session *s, db_txn *t, err *e)
{
	int rc;

	pthread_mutex_lock(&s->mu);
	if (s->rtxn == NULL) {
		rc = mdb_txn_begin(s->d->env, NULL, MDB_RDONLY, &s->rtxn);
	} else {
		rc = mdb_txn_renew(s->rtxn);
	}
	if (rc != 0) {
		if (s->rtxn != NULL) {
			mdb_txn_abort(s->rtxn);
			s->rtxn = NULL;
		}
		pthread_mutex_unlock(&s->mu);
		return db_fail(NULL, rc, "read", e);
	}
	*t = (db_txn) {s->rtxn, s->d, 0, NULL, NULL};
	return SPREG_OK;
}

void
db_read_end(db_session *s)
{
	mdb_txn_reset(s->rtxn);
	pthread_mutex_unlock(&s->mu);
}

/*
 * Doubles the map. No transaction may be live in the process while
 * mdb_env_set_mapsize runs, so take every session's lock first; the
 * caller holds none.
 */
static spreg_status
grow(db *d, size_t seen, err *e)
{
	spreg_status st = SPREG_OK;

	pthread_mutex_lock(&d->grow_mu);
	pthread_mutex_lock(&d->list_mu);
	for (db_session *s = d->sessions; s != NULL; s = s->next) {
		pthread_mutex_lock(&s->mu);
	}
	size_t cur = db_map_size(d);
	if (cur == seen) {	/* else another writer grew it already */
		size_t next = cur * 2 < d->map_max ? cur * 2 : d->map_max;
		int rc;
		if (next <= cur) {
			st = err_set(e, SPREG_RESOURCE_EXHAUSTED,
			    "store is full (map size %zu bytes is the maximum)",
			    cur);
		} else if ((rc = mdb_env_set_mapsize(d->env, next)) != 0) {
			st = db_fail(NULL, rc, "grow map", e);
		} else {
			log_info("map grown from %zu to %zu bytes", cur, next);
		}
	}
	for (db_session *s = d->sessions; s != NULL; s = s->next) {
		pthread_mutex_unlock(&s->mu);
	}
	pthread_mutex_unlock(&d->list_mu);
	pthread_mutex_unlock(&d->grow_mu);
	return st;
}

spreg_status
db_write(db_session *s, db_write_fn fn, void *arg, err *e)
{
	db *d = s->d;
	spreg_status st;
	int rc;

	for (;;) {
		db_txn t = {NULL, d, 0, NULL, NULL};
		size_t seen;

		pthread_mutex_lock(&s->mu);
		seen = db_map_size(d);
		if ((rc = mdb_txn_begin(d->env, NULL, 0, &t.txn)) != 0) {
			pthread_mutex_unlock(&s->mu);
			return db_fail(NULL, rc, "write", e);
		}
		st = fn(&t, arg, e);
		if (st != SPREG_OK || t.mdb_rc != 0) {
			mdb_txn_abort(t.txn);
			rc = t.mdb_rc;
			if (st == SPREG_OK) {
				st = db_fail(NULL, rc, "write", e);
			}
		} else {
			/* A failed commit has freed the txn already. */
			rc = mdb_txn_commit(t.txn);
			if (rc != 0) {
				st = db_fail(NULL, rc, "commit", e);
			}
		}
		pthread_mutex_unlock(&s->mu);
		if (rc != MDB_MAP_FULL) {
			return st;
		}
		if ((st = grow(d, seen, e)) != SPREG_OK) {
			return st;
		}
	}
}

/* Runs one item in a child of parent; true when the map was full. */
static bool
batch_one(db *d, MDB_txn *parent, db_batch_item *it)
{
	db_txn t = {NULL, d, 0, NULL, NULL};
	int rc;

	if ((rc = mdb_txn_begin(d->env, parent, 0, &t.txn)) != 0) {
		it->st = db_fail(NULL, rc, "write", &it->e);
		return rc == MDB_MAP_FULL;
	}
	it->st = it->fn(&t, it->arg, &it->e);
	if (it->st != SPREG_OK || t.mdb_rc != 0) {
		mdb_txn_abort(t.txn);
		if (it->st == SPREG_OK) {
			it->st = db_fail(NULL, t.mdb_rc, "write", &it->e);
		}
		return t.mdb_rc == MDB_MAP_FULL;
	}
	/* A child's commit only folds it into the parent: no fsync. */
	if ((rc = mdb_txn_commit(t.txn)) != 0) {
		it->st = db_fail(NULL, rc, "write", &it->e);
		return rc == MDB_MAP_FULL;
	}
	return false;
}

void
db_write_batch(db_session *s, db_batch_item *items, size_t n)
{
	db *d = s->d;
	int rc;

	for (;;) {
		MDB_txn *parent;
		bool full = false;
		size_t seen;

		pthread_mutex_lock(&s->mu);
		seen = db_map_size(d);
		if ((rc = mdb_txn_begin(d->env, NULL, 0, &parent)) != 0) {
			pthread_mutex_unlock(&s->mu);
			for (size_t i = 0; i < n; i++) {
				items[i].st = db_fail(NULL, rc, "write",
				    &items[i].e);
			}
			return;
		}
		for (size_t i = 0; i < n && !full; i++) {
			full = batch_one(d, parent, &items[i]);
		}
		if (full) {
			mdb_txn_abort(parent);
			rc = MDB_MAP_FULL;
		} else {
			rc = mdb_txn_commit(parent);	/* the one fsync */
		}
		pthread_mutex_unlock(&s->mu);
		if (rc == MDB_MAP_FULL) {
			err e;
			spreg_status st = grow(d, seen, &e);
			if (st == SPREG_OK) {
				continue;	/* every item runs again */
			}
			for (size_t i = 0; i < n; i++) {
				items[i].st = st;
				items[i].e = e;
			}
			return;
		}
		if (rc != 0) {
			for (size_t i = 0; i < n; i++) {
				items[i].st = db_fail(NULL, rc, "commit",
				    &items[i].e);
			}
		}
		return;
	}
}
