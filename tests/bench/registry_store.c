/*
 * The store in this process, before spregd opens it: filled through the
 * server's own store path, then raw LMDB point reads and the store's
 * own calls for context, one-record durable writes, and raw durable
 * LMDB commits (the fsync floor the acknowledged writes stand on).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <lmdb.h>

#include "db/store.h"
#include "registry.h"

/* Single-threaded reads in this process, before spregd opens the store. */
static bool
store_reads(db *d, uint32_t vendors, store_figures *fig)
{
	db_session *s = NULL;
	arena a;
	db_txn t;
	err e;
	int rc;
	uint64_t rng = SEED;
	bool ok = false;

	arena_init(&a, (size_t) 16 << 20);
	if (db_session_create(d, &s) != SPREG_OK ||
	    db_read_begin(s, &t, &e) != SPREG_OK) {
		goto out;
	}
	MDB_env *env = mdb_txn_env(t.txn);
	MDB_dbi dbi = db_dbi(d, DB_SP);
	db_read_end(s);

	/* Raw LMDB: renew, mdb_get, reset per read. */
	MDB_txn *rtxn;
	if ((rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &rtxn)) != 0) {
		fprintf(stderr, "bench: read txn: %s\n", mdb_strerror(rc));
		goto out;
	}
	mdb_txn_reset(rtxn);
	size_t reads = 0;
	int64_t end = bench_now_ns() + (int64_t) RAW_MEASURE_MS * 1000000 / 2;
	int64_t start = bench_now_ns();
	while (bench_now_ns() < end) {
		for (int k = 0; k < 256; k++) {
			char id[32];
			snprintf(id, sizeof(id), "vendor-%06" PRIu32,
			    bench_rng_below(&rng, vendors));
			MDB_val key = {strlen(id), id}, val;
			if ((rc = mdb_txn_renew(rtxn)) != 0 ||
			    (rc = mdb_get(rtxn, dbi, &key, &val)) != 0) {
				fprintf(stderr, "bench: raw read %s: %s\n", id,
				    mdb_strerror(rc));
				mdb_txn_abort(rtxn);
				goto out;
			}
			mdb_txn_reset(rtxn);
			reads++;
		}
	}
	fig->raw_reads_per_s = (double) reads * 1e9 /
	    (double) (bench_now_ns() - start);
	mdb_txn_abort(rtxn);

	/* The store's own calls: db_sp_get decodes into an arena. */
	size_t gets = 0;
	start = bench_now_ns();
	end = start + (int64_t) RAW_MEASURE_MS * 1000000 / 2;
	while (bench_now_ns() < end) {
		for (int k = 0; k < 64; k++) {
			char id[32];
			Spreg__V1__Subprocessor *sp;
			snprintf(id, sizeof(id), "vendor-%06" PRIu32,
			    bench_rng_below(&rng, vendors));
			arena_reset(&a);
			if (db_read_begin(s, &t, &e) != SPREG_OK) {
				goto out;
			}
			spreg_status st = db_sp_get(&t, id, 0, &a, &sp, &e);
			db_read_end(s);
			if (st != SPREG_OK) {
				fprintf(stderr, "bench: db_sp_get: %s\n", e.msg);
				goto out;
			}
			gets++;
		}
	}
	fig->store_gets_per_s = (double) gets * 1e9 /
	    (double) (bench_now_ns() - start);

	size_t pages = 0;
	start = bench_now_ns();
	end = start + (int64_t) RAW_MEASURE_MS * 1000000 / 2;
	while (bench_now_ns() < end) {
		db_sp_filter f = {.category = LIST_CATEGORY,
		    .status = SP_STATUS_UNSPECIFIED};
		Spreg__V1__Subprocessor **items;
		bool more;
		arena_reset(&a);
		if (db_read_begin(s, &t, &e) != SPREG_OK) {
			goto out;
		}
		spreg_status st = db_sp_list(&t, &f, "", PAGE_SIZE, &a, &items,
		    &fig->page_records, &more, &e);
		db_read_end(s);
		if (st != SPREG_OK) {
			fprintf(stderr, "bench: db_sp_list: %s\n", e.msg);
			goto out;
		}
		pages++;
	}
	fig->store_pages_per_s = (double) pages * 1e9 /
	    (double) (bench_now_ns() - start);
	ok = true;
out:
	db_session_destroy(s);
	arena_fini(&a);
	return ok;
}

/* Opens the store in dir, and f to fill it with synth vendors. */
static bool
store_open(bench_store *bs, bench_fill *f, synth *scratch, const char *dir,
    const catalog *cat)
{
	*f = (bench_fill){.cat = cat, .actor = "bench (synthetic registry)",
	    .make = synth_fill, .scratch = scratch};
	return bench_store_open(bs, dir, STORE_MAP_SIZE);
}

bool
populate(const char *dir, const catalog *cat, uint32_t vendors,
    store_figures *fig)
{
	bench_store bs;
	bench_fill f;
	synth scratch;
	bool ok = store_open(&bs, &f, &scratch, dir, cat);

	int64_t start = bench_now_ns();
	for (uint32_t first = 0; ok && first < vendors;
	     first += POPULATE_BATCH) {
		ok = bench_store_put(&bs, &f, first, vendors - first <
		    POPULATE_BATCH ? vendors - first : POPULATE_BATCH);
	}
	if (ok) {
		fig->populate_s = (double) (bench_now_ns() - start) / 1e9;
		db_session_destroy(bs.s);
		bs.s = NULL;
		ok = store_reads(bs.d, vendors, fig);
	}
	bench_store_close(&bs);
	return ok;
}

/* One record per durable write transaction, as PutSubprocessor writes, but in
 * this process: no network, no RPC, no request-id record. */
bool
store_single_puts(const char *dir, const catalog *cat, uint32_t vendors,
    store_figures *fig)
{
	bench_store bs;
	bench_fill f;
	synth scratch;
	bool ok = store_open(&bs, &f, &scratch, dir, cat);

	int64_t start = bench_now_ns();
	int64_t end = start + (int64_t) RAW_MEASURE_MS * 1000000;
	while (ok && bench_now_ns() < end) {
		ok = bench_store_put(&bs, &f, vendors + fig->store_puts, 1);
		fig->store_puts += ok;
	}
	if (ok) {
		fig->store_puts_per_s = (double) fig->store_puts * 1e9 /
		    (double) (bench_now_ns() - start);
	}
	bench_store_close(&bs);
	return ok;
}

/* Durable one-record commits on a fresh environment (the fsync floor). */
bool
raw_commits(const char *tmpdir, int index, double *per_s)
{
	char dir[PATH_MAX_LEN];
	MDB_env *env = NULL;
	MDB_dbi dbi;
	MDB_txn *txn;
	unsigned char value[512];
	int rc;

	memset(value, 0x42, sizeof(value));
	snprintf(dir, sizeof(dir), "%s/raw-lmdb-%d", tmpdir, index);
	errno = 0;
	if (mkdir(dir, 0700) != 0 ||
	    (rc = mdb_env_create(&env)) != 0 ||
	    (rc = mdb_env_set_mapsize(env, (size_t) 256 << 20)) != 0 ||
	    (rc = mdb_env_open(env, dir, MDB_NOTLS, 0600)) != 0 ||
	    (rc = mdb_txn_begin(env, NULL, 0, &txn)) != 0 ||
	    (rc = mdb_dbi_open(txn, NULL, 0, &dbi)) != 0 ||
	    (rc = mdb_txn_commit(txn)) != 0) {
		fprintf(stderr, "bench: raw lmdb %s: %s\n", dir,
		    errno ? strerror(errno) : "environment");
		if (env != NULL) {
			mdb_env_close(env);
		}
		return false;
	}
	uint64_t n = 0;
	int64_t start = bench_now_ns(), end = start +
	    (int64_t) RAW_MEASURE_MS * 1000000;
	while (bench_now_ns() < end) {
		unsigned char key[8];
		db_be64_put(key, n);
		MDB_val k = {sizeof(key), key}, v = {sizeof(value), value};
		if ((rc = mdb_txn_begin(env, NULL, 0, &txn)) != 0) {
			break;
		}
		if ((rc = mdb_put(txn, dbi, &k, &v, MDB_APPEND)) != 0) {
			mdb_txn_abort(txn);
			break;
		}
		if ((rc = mdb_txn_commit(txn)) != 0) {
			break;	/* a failed commit freed the txn */
		}
		n++;
	}
	*per_s = (double) n * 1e9 / (double) (bench_now_ns() - start);
	mdb_env_close(env);
	if (rc != 0) {
		fprintf(stderr, "bench: raw lmdb commit: %s\n", mdb_strerror(rc));
		return false;
	}
	return true;
}

