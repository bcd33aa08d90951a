#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "core/log.h"
#include "db/db.h"
#include "db/record.h"
#include "db/store.h"
#include "db/value.h"

#define DB_MAP_DEFAULT ((size_t) 64 << 20)
#define DB_MAP_MAX_DEFAULT ((size_t) 1 << 40)

/* LMDB reports a short write as EIO; with less than this free, a short
 * write means the disk is full. */
#define DB_DISK_LOW ((unsigned long long) 16 << 20)
/* A full disk refuses every write: log it at most this often. */
#define DB_FULL_LOG_MS 10000


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
	[DB_SP_DUE]        = {"sp_due", 0},
	[DB_HOOKS]         = {"hooks", 0},
	[DB_IDX_HOOK_CUSTOMER] = {"idx_hook_customer", MDB_DUPSORT},
	[DB_OUTBOX]        = {"outbox", 0},
	[DB_IDX_PURPOSE]   = {"idx_purpose", MDB_DUPSORT},
	[DB_IDX_KIND]      = {"idx_kind", MDB_DUPSORT},
	[DB_IDX_SELECTED]  = {"idx_selected", MDB_DUPSORT},
	[DB_IDX_FOURTH_PARTY] = {"idx_fourth_party", MDB_DUPSORT},
	[DB_FOLLOWS]       = {"follows", 0},
};

void
db_be64_put(unsigned char out[8], uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		out[i] = (unsigned char) (v & 0xff);
		v >>= 8;
	}
}

void
db_be32_put(unsigned char out[4], uint32_t v)
{
	for (int i = 3; i >= 0; i--) {
		out[i] = (unsigned char) (v & 0xff);
		v >>= 8;
	}
}

uint32_t
db_be32_get(const unsigned char in[4])
{
	return (uint32_t) in[0] << 24 | (uint32_t) in[1] << 16 |
	    (uint32_t) in[2] << 8 | in[3];
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

static log_limit disk_full_log = LOG_LIMIT_INIT(DB_FULL_LOG_MS);
static log_limit map_full_log = LOG_LIMIT_INIT(DB_FULL_LOG_MS);

/* Refused for want of space: the client is told RESOURCE_EXHAUSTED and
 * the log gets one line per DB_FULL_LOG_MS, however many are refused. */
static spreg_status
store_full(log_limit *l, const char *why, const char *what, err *e)
{
	uint64_t held;

	if (!log_limit_pass(l, &held)) {
		/* counted, to be told in the next line */
	} else if (held == 0) {
		log_error("store: %s: refusing writes", why);
	} else {
		log_error("store: %s: refusing writes (%llu more refused "
		    "since the last such line)", why, (unsigned long long) held);
	}
	return err_set(e, SPREG_RESOURCE_EXHAUSTED, "%s: %s; nothing was "
	    "written", what, why);
}

bool
db_txn_dead(const db_txn *t)
{
	return t->mdb_rc != 0;
}

spreg_status
db_fail(db_txn *t, int rc, const char *what, err *e)
{
	if (t != NULL && t->mdb_rc == 0) {
		t->mdb_rc = rc;
	}
	switch (rc) {
	case ENOSPC:
	case EDQUOT:
		return store_full(&disk_full_log, rc == ENOSPC ?
		    "the disk holding the store is full" :
		    "the disk quota of the store is used up", what, e);
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

const char *
db_table_name(db_table table)
{
	return table < DB_NTABLES ? tables[table].name : "?";
}

MDB_env *
db_env(const db *d)
{
	return d->env;
}

const char *
db_store_identity(db *d)
{
	return d->identity;
}

void
db_set_read_only(db *d, const char *why)
{
	bool first;

	pthread_mutex_lock(&d->ro_mu);
	first = !d->read_only;
	if (first) {
		d->read_only = true;
		snprintf(d->ro_why, sizeof(d->ro_why), "%s", why);
	}
	pthread_mutex_unlock(&d->ro_mu);
	if (first && d->reader) {
		log_error("STORE DAMAGED: %s (seen by a co-located reader of "
		    "%s)", why, d->dir);
	} else if (first) {
		log_error("STORE DAMAGED: %s. spregd is now READ-ONLY: every "
		    "write is refused until an operator restores or repairs "
		    "the store in %s and restarts spregd (README, 'Damaged "
		    "store'); undamaged records are still served", why, d->dir);
	}
}

bool
db_read_only(db *d, char *why, size_t len)
{
	pthread_mutex_lock(&d->ro_mu);
	bool ro = d->read_only;
	if (ro && why != NULL && len > 0) {
		snprintf(why, len, "%s", d->ro_why);
	}
	pthread_mutex_unlock(&d->ro_mu);
	return ro;
}

/* Writes are refused once the store is read-only. */
static spreg_status
refuse_if_read_only(db *d, err *e)
{
	char why[ERR_MSG_MAX - 100];

	if (d->reader) {
		return err_set(e, SPREG_FAILED_PRECONDITION, "a co-located "
		    "reader of %s does not write: spregd does", d->dir);
	}
	if (!db_read_only(d, why, sizeof(why))) {
		return SPREG_OK;
	}
	return err_set(e, SPREG_FAILED_PRECONDITION, "the server is "
	    "read-only: %s", why);
}

size_t
db_map_size(db *d)
{
	MDB_envinfo info;
	mdb_env_info(d->env, &info);
	return info.me_mapsize;
}

/* True when the folder's file system has less than DB_DISK_LOW free. */
static bool
disk_low(db *d)
{
	struct statvfs sv;

	if (statvfs(d->dir, &sv) != 0) {
		return false;
	}
	return (unsigned long long) sv.f_bavail * sv.f_frsize < DB_DISK_LOW;
}

/* A failed top-level commit, the txn already freed. */
static spreg_status
commit_fail(db *d, int rc, err *e)
{
	if (rc == EIO && disk_low(d)) {
		rc = ENOSPC;	/* LMDB's word for a short write */
	}
	return db_fail(NULL, rc, "commit", e);
}

/* Schema version and the server secret live in DB_META; *version is
 * the store's (DB_SCHEMA_VERSION for a new one). */
static spreg_status
init_meta(db *d, MDB_txn *txn, uint64_t *version, err *e)
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
		db_txn t = {.txn = txn, .d = d};
		k = (MDB_val) {strlen("secret"), "secret"};
		*version = DB_SCHEMA_VERSION;
		return db_value_put(&t, DB_META, &k, secret, sizeof(secret), 0,
		    e);
	}
	if (rc != 0) {
		return db_fail(NULL, rc, "meta", e);
	}
	*version = v.mv_size == 8 ? db_be64_get(v.mv_data) : 0;
	if (*version != DB_SCHEMA_VERSION && (*version < 2 || *version > 4)) {
		return err_set(e, SPREG_FAILED_PRECONDITION,
		    "data folder has schema version %llu; this server reads "
		    "versions 2 to 4 (migrated at start) and %d",
		    (unsigned long long) *version, DB_SCHEMA_VERSION);
	}
	return SPREG_OK;
}

spreg_status
db_reader_check(db *d, int *dead, err *e)
{
	int rc;

	*dead = 0;
	if ((rc = mdb_reader_check(d->env, dead)) != 0) {
		return db_fail(NULL, rc, "reader check", e);
	}
	return SPREG_OK;
}

/*
 * A co-located reader: the store a spregd made, opened MDB_RDONLY with
 * the map size the store records. LMDB still takes a reader slot in
 * lock.mdb, so the folder must be writable to the reader's user (file
 * permissions are the access control). No flock: that is the server's.
 */
static spreg_status
open_reader(db *d, err *e)
{
	char path[PATH_MAX];
	MDB_txn *txn = NULL;
	struct stat sb;
	spreg_status st;
	int rc, dead;

	db_folder_path(d, DB_DATA_FILE, path);
	if (stat(path, &sb) != 0) {
		return err_set(e, SPREG_UNAVAILABLE, "%s: %s (spregd makes "
		    "the store at its first start)", path, strerror(errno));
	}
	if (!S_ISREG(sb.st_mode) || sb.st_size < DB_FILE_MIN) {
		return err_set(e, SPREG_FAILED_PRECONDITION, "%s: not a store",
		    path);
	}
	if ((rc = mdb_env_create(&d->env)) != 0 ||
	    (rc = mdb_env_set_maxdbs(d->env, DB_NTABLES)) != 0 ||
	    (rc = mdb_env_set_maxreaders(d->env, 1024)) != 0) {
		return db_fail(NULL, rc, "environment", e);
	}
	/* No map size: LMDB takes the one the store records. */
	if ((rc = mdb_env_open(d->env, d->dir, MDB_RDONLY | MDB_NOTLS,
	         0600)) != 0) {
		return err_set(e, rc == EACCES ? SPREG_PERMISSION_DENIED :
		    SPREG_UNAVAILABLE, "data folder %s: %s (a reader needs "
		    "read access to data.mdb and write access to lock.mdb)",
		    d->dir, mdb_strerror(rc));
	}
	if ((st = db_check_size(d, e)) != SPREG_OK ||
	    (st = db_reader_check(d, &dead, e)) != SPREG_OK) {
		return st;
	}
	if ((rc = mdb_txn_begin(d->env, NULL, MDB_RDONLY, &txn)) != 0) {
		return db_fail(NULL, rc, "open", e);
	}
	for (int i = 0; i < DB_NTABLES; i++) {
		if ((rc = mdb_dbi_open(txn, tables[i].name, tables[i].flags,
		         &d->dbi[i])) != 0) {
			st = rc == MDB_NOTFOUND ? err_set(e,
			    SPREG_FAILED_PRECONDITION, "data folder %s: no "
			    "table %s; start this version of spregd on it "
			    "once", d->dir, tables[i].name) :
			    db_fail(NULL, rc, tables[i].name, e);
			goto fail;
		}
	}
	/* Kept raw, as init_meta writes it. */
	MDB_val k = {strlen("schema_version"), "schema_version"}, v;
	uint64_t version = 0;
	if ((rc = mdb_get(txn, d->dbi[DB_META], &k, &v)) == 0 &&
	    v.mv_size == 8) {
		version = db_be64_get(v.mv_data);
	}
	if (version != DB_SCHEMA_VERSION) {
		st = err_set(e, SPREG_FAILED_PRECONDITION, "data folder %s has "
		    "schema version %llu; a reader reads %d only (spregd "
		    "migrates at start)", d->dir, (unsigned long long) version,
		    DB_SCHEMA_VERSION);
		goto fail;
	}
	if ((st = db_identity_read(d, txn, d->identity, e)) != SPREG_OK) {
		goto fail;
	}
	/* Committed, so the handles stay open for the environment. */
	if ((rc = mdb_txn_commit(txn)) != 0) {
		return db_fail(NULL, rc, "open", e);
	}
	return SPREG_OK;
fail:
	mdb_txn_abort(txn);
	return st;
}

spreg_status
db_open(const db_options *o, db **out, err *e)
{
	MDB_txn *txn = NULL;
	spreg_status st;
	bool fresh = false;
	int rc, dead;
	db *d;

	if (strlen(o->dir) > PATH_MAX - 32) {
		return err_set(e, SPREG_INVALID_ARGUMENT, "data folder %s: "
		    "path too long", o->dir);
	}
	if (sodium_init() < 0) {	/* picks the fast BLAKE2b for checksums */
		return err_set(e, SPREG_INTERNAL, "libsodium did not start");
	}
	if (!o->reader && mkdir(o->dir, 0700) != 0 && errno != EEXIST) {
		return err_set(e, SPREG_UNAVAILABLE, "data folder %s: %s",
		    o->dir, strerror(errno));
	}
	if ((d = calloc(1, sizeof(*d))) == NULL ||
	    (d->dir = strdup(o->dir)) == NULL) {
		free(d);
		return err_oom(e, NULL);
	}
	d->lock_fd = -1;
	pthread_mutex_init(&d->list_mu, NULL);
	pthread_mutex_init(&d->grow_mu, NULL);
	pthread_mutex_init(&d->ro_mu, NULL);
	db_verified_init(&d->verified);
	d->map_max = o->map_max ? o->map_max : DB_MAP_MAX_DEFAULT;
	if (o->reader) {
		d->reader = true;
		if ((st = open_reader(d, e)) != SPREG_OK) {
			goto fail;
		}
		*out = d;
		return SPREG_OK;
	}
	if ((st = db_folder_lock(d, e)) != SPREG_OK ||
	    (st = db_folder_check(d, o, &fresh, e)) != SPREG_OK ||
	    (fresh && (st = db_folder_mark_new(d, e)) != SPREG_OK) ||
	    (st = db_folder_reserve_lock(d, e)) != SPREG_OK) {
		goto fail;
	}
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
		if (rc == ENOSPC || rc == EDQUOT || (rc == EIO &&
		        disk_low(d))) {
			st = err_set(e, SPREG_RESOURCE_EXHAUSTED, "data "
			    "folder %s: the disk is full (%s)", o->dir,
			    mdb_strerror(rc == EIO ? ENOSPC : rc));
		} else {
			st = err_set(e, SPREG_UNAVAILABLE, "data folder %s: "
			    "%s", o->dir, mdb_strerror(rc));
		}
		goto fail;
	}
	if (!fresh && (st = db_check_size(d, e)) != SPREG_OK) {
		goto fail;
	}
	/* Clear reader slots left by a process that died. */
	if ((st = db_reader_check(d, &dead, e)) != SPREG_OK) {
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
	uint64_t version = 0;
	if ((st = init_meta(d, txn, &version, e)) != SPREG_OK) {
		goto fail_txn;
	}
	if (version != DB_SCHEMA_VERSION) {
		/* The handles stay open; the migration has its own txn. */
		rc = mdb_txn_commit(txn);
		txn = NULL;
		if (rc != 0) {
			st = db_fail(NULL, rc, "open", e);
			goto fail;
		}
		if ((st = db_migrate(d, o->dir, version, e)) != SPREG_OK) {
			goto fail;
		}
		if ((rc = mdb_txn_begin(d->env, NULL, 0, &txn)) != 0) {
			st = db_fail(NULL, rc, "open", e);
			goto fail;
		}
	}
	bool changed;
	db_txn scope = {.txn = txn, .d = d};
	if ((st = db_identity_check(d, txn, o->dir, d->identity, &changed,
	         e)) != SPREG_OK ||
	    (st = db_scope_legacy_init(&scope, e)) != SPREG_OK) {
		goto fail_txn;
	}
	rc = mdb_txn_commit(txn);
	txn = NULL;
	if (rc != 0) {
		st = commit_fail(d, rc, e);
		goto fail;
	}
	d->created = fresh;
	if (fresh && !o->hold_new && (st = db_created_done(d, e)) !=
	    SPREG_OK) {
		goto fail;
	}
	db_identity_mark(d, o->dir);
	d->opened = true;
	*out = d;
	return SPREG_OK;

fail_txn:
	mdb_txn_abort(txn);
fail:
	d->created_open = false;	/* the mark stays: start over next time */
	db_close(d);
	return st;
}

bool
db_created(const db *d)
{
	return d->created;
}

spreg_status
db_created_done(db *d, err *e)
{
	char path[PATH_MAX];

	if (!d->created_open) {
		return SPREG_OK;
	}
	db_folder_path(d, DB_NEW_MARK, path);
	if (unlink(path) != 0) {
		return err_set(e, SPREG_UNAVAILABLE, "%s: %s", path,
		    strerror(errno));
	}
	d->created_open = false;
	return db_folder_sync(d, e);
}

void
db_close(db *d)
{
	if (d == NULL) {
		return;
	}
	/* A clean stop records where the log ends, so that a copy older
	 * than that is recognised at the next open. */
	if (d->opened) {
		db_identity_mark(d, d->dir);
	}
	if (d->env != NULL) {
		mdb_env_close(d->env);
	}
	if (d->lock_fd >= 0) {
		close(d->lock_fd);	/* releases the folder */
	}
	pthread_mutex_destroy(&d->list_mu);
	pthread_mutex_destroy(&d->grow_mu);
	pthread_mutex_destroy(&d->ro_mu);
	db_verified_fini(&d->verified);
	free(d->dir);
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

/* Takes every session's lock, so that no transaction of this process
 * is live (what mdb_env_set_mapsize needs); the caller holds none. */
static void
quiesce(db *d)
{
	pthread_mutex_lock(&d->grow_mu);
	pthread_mutex_lock(&d->list_mu);
	for (db_session *s = d->sessions; s != NULL; s = s->next) {
		pthread_mutex_lock(&s->mu);
	}
}

static void
resume(db *d)
{
	for (db_session *s = d->sessions; s != NULL; s = s->next) {
		pthread_mutex_unlock(&s->mu);
	}
	pthread_mutex_unlock(&d->list_mu);
	pthread_mutex_unlock(&d->grow_mu);
}

/* A reader whose snapshot lies beyond its map (MDB_MAP_RESIZED: the
 * server grew it) maps the size the store records now. */
static int
adopt_map(db *d)
{
	quiesce(d);
	int rc = mdb_env_set_mapsize(d->env, 0);
	resume(d);
	return rc;
}

spreg_status
db_read_begin(db_session *s, db_txn *t, err *e)
{
	int rc;

	/* One retry is enough unless the server grows again meanwhile. */
	for (int tries = 0;; tries++) {
		pthread_mutex_lock(&s->mu);
		if (s->rtxn == NULL) {
			rc = mdb_txn_begin(s->d->env, NULL, MDB_RDONLY,
			    &s->rtxn);
		} else {
			rc = mdb_txn_renew(s->rtxn);
		}
		if (rc == 0) {
			break;
		}
		if (s->rtxn != NULL) {
			mdb_txn_abort(s->rtxn);
			s->rtxn = NULL;
		}
		pthread_mutex_unlock(&s->mu);
		if (rc != MDB_MAP_RESIZED || !s->d->reader || tries == 8 ||
		    (rc = adopt_map(s->d)) != 0) {
			return db_fail(NULL, rc, "read", e);
		}
	}
	*t = (db_txn) {.txn = s->rtxn, .d = s->d};
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

	quiesce(d);
	size_t cur = db_map_size(d);
	if (cur == seen) {	/* else another writer grew it already */
		size_t next = cur * 2 < d->map_max ? cur * 2 : d->map_max;
		int rc;
		if (next <= cur) {
			char why[96];
			snprintf(why, sizeof(why), "the store is full (map size "
			    "%zu bytes is the maximum)", cur);
			st = store_full(&map_full_log, why, "write", e);
		} else if ((rc = mdb_env_set_mapsize(d->env, next)) != 0) {
			st = db_fail(NULL, rc, "grow map", e);
		} else {
			log_info("map grown from %zu to %zu bytes", cur, next);
		}
	}
	resume(d);
	return st;
}

/* A transaction's list starts, and an aborted one ends, empty. */
static void
appended_clear(db_appended *l)
{
	if (l != NULL) {
		*l = (db_appended) {0};
	}
}

spreg_status
db_write_begin(db_session *s, db_txn *t, db_appended *appended, err *e)
{
	db *d = s->d;
	spreg_status st;
	int rc;

	*t = (db_txn) {.d = d, .s = s, .appended = appended};
	appended_clear(appended);
	if ((st = refuse_if_read_only(d, e)) != SPREG_OK) {
		return st;
	}
	pthread_mutex_lock(&s->mu);
	t->map_seen = db_map_size(d);
	if ((rc = mdb_txn_begin(d->env, NULL, 0, &t->txn)) != 0) {
		pthread_mutex_unlock(&s->mu);
		return db_fail(NULL, rc, "write", e);
	}
	return SPREG_OK;
}

bool
db_write_retry(db_txn *t, spreg_status *st, err *e)
{
	db *d = t->d;
	int rc;

	if (*st != SPREG_OK || t->mdb_rc != 0) {
		mdb_txn_abort(t->txn);
		appended_clear(t->appended);
		rc = t->mdb_rc;
		if (*st == SPREG_OK) {
			*st = db_fail(NULL, rc, "write", e);
		}
	} else if ((rc = mdb_txn_commit(t->txn)) != 0) {
		/* A failed commit has freed the txn already. */
		appended_clear(t->appended);
		*st = commit_fail(d, rc, e);
	}
	t->txn = NULL;
	pthread_mutex_unlock(&t->s->mu);
	if (rc != MDB_MAP_FULL) {
		return false;
	}
	if ((*st = grow(d, t->map_seen, e)) != SPREG_OK) {
		return false;
	}
	return true;
}

spreg_status
db_nested_begin(db_txn *parent, db_txn *child, db_appended *appended,
    err *e)
{
	int rc;

	*child = (db_txn) {.d = parent->d, .parent = parent,
	    .appended = appended};
	appended_clear(appended);
	if (parent->mdb_rc != 0) {
		return db_fail(NULL, parent->mdb_rc, "write", e);
	}
	if ((rc = mdb_txn_begin(parent->d->env, parent->txn, 0,
	         &child->txn)) != 0) {
		/* A full map fills the parent: its retry runs it all again. */
		if (rc == MDB_MAP_FULL) {
			parent->mdb_rc = rc;
		}
		return db_fail(NULL, rc, "write", e);
	}
	return SPREG_OK;
}

/* Ends child, committing it into its parent when keep; returns st, or
 * the failure met. */
static spreg_status
nested_end(db_txn *child, spreg_status st, bool keep, err *e)
{
	db_txn *parent = child->parent;
	int rc = child->mdb_rc;

	if (st == SPREG_OK && rc != 0) {
		st = db_fail(NULL, rc, "write", e);
	}
	if (keep && st == SPREG_OK) {
		/* A child's commit only folds it into the parent: no
		 * fsync. */
		if ((rc = mdb_txn_commit(child->txn)) != 0) {
			st = db_fail(NULL, rc, "write", e);
		}
	} else {
		mdb_txn_abort(child->txn);
	}
	child->txn = NULL;
	if (!keep || st != SPREG_OK) {
		appended_clear(child->appended);
	}
	/* A map filled by the child fills the parent too: its retry grows
	 * the map and runs everything again. */
	if (rc == MDB_MAP_FULL && parent->mdb_rc == 0) {
		parent->mdb_rc = rc;
	}
	return st;
}

spreg_status
db_nested_end(db_txn *child, spreg_status st, err *e)
{
	return nested_end(child, st, true, e);
}

spreg_status
db_nested_discard(db_txn *child, spreg_status st, err *e)
{
	return nested_end(child, st, false, e);
}
