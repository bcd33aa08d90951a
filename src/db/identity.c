/*
 * The store's identity: "<hex>-<generation>". hex is fixed at creation
 * (derived from the store's secret, which never leaves it); generation
 * is a counter kept in the store (meta "generation").
 *
 * What shows that the store is not the one this folder held last is a
 * marker outside it, DIR/store.id, written at every open and at a clean
 * stop: the identity and the last seq of the log with its hash. At open
 * the store must have that identity and, at that seq, that hash; a copy
 * restored from before then lacks the entry or has another one, and a
 * different store has another hex. Then the generation goes to one more
 * than either had, so the identity is one no server has reported
 * before, and watchers that knew the old one resynchronise.
 *
 * Not seen here: a copy taken after the marker was last written (after
 * the last start, when the server then died without a clean stop).
 * Watchers still notice that one: they check the hash of the last change
 * they delivered (spreg/watch.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "db/record.h"
#include "db/store.h"
#include "db/value.h"

#define MARKER DB_IDENTITY_FILE
#define GENERATION "generation"

typedef struct marker {
	char identity[DB_IDENTITY_MAX];
	uint64_t seq;
	unsigned char hash[DB_DIGEST_LEN];
} marker;

static void
hex(const unsigned char *p, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++) {
		snprintf(out + 2 * i, 3, "%02x", p[i]);
	}
}

static bool
marker_read(const char *dir, marker *m)
{
	char path[PATH_MAX], hh[2 * DB_DIGEST_LEN + 8];
	unsigned long long seq;
	bool ok = false;

	snprintf(path, sizeof(path), "%s/%s", dir, MARKER);
	FILE *f = fopen(path, "re");
	if (f == NULL) {
		return false;
	}
	memset(m, 0, sizeof(*m));
	if (fscanf(f, "spreg-store %47s %llu %70s", m->identity, &seq, hh) ==
	        3 &&
	    strlen(hh) == 2 * DB_DIGEST_LEN) {
		ok = true;
		for (size_t i = 0; i < DB_DIGEST_LEN && ok; i++) {
			unsigned v;
			ok = sscanf(hh + 2 * i, "%2x", &v) == 1;
			m->hash[i] = (unsigned char) v;
		}
		m->seq = seq;
	}
	fclose(f);
	return ok;
}

/* The store's hex part, from its secret. */
static spreg_status
store_hex(db_txn *t, char out[17], err *e)
{
	unsigned char secret[32], id[8];
	spreg_status st;

	if ((st = db_secret(t, secret, e)) != SPREG_OK) {
		return st;
	}
	crypto_generichash(id, sizeof(id), secret, sizeof(secret),
	    (const unsigned char *) "spreg store identity", 20);
	sodium_memzero(secret, sizeof(secret));
	hex(id, sizeof(id), out);
	return SPREG_OK;
}

/* Does the log hold the marker's entry? */
static bool
holds(db_txn *t, const marker *m)
{
	ProtobufCBinaryData h;
	arena a;
	err ignored;
	bool same;

	if (m->seq == 0) {
		return true;
	}
	arena_init(&a, (size_t) 1 << 20);
	same = db_change_hash(t, m->seq, &a, &h, &ignored) == SPREG_OK &&
	    h.len == DB_DIGEST_LEN &&
	    memcmp(h.data, m->hash, DB_DIGEST_LEN) == 0;
	arena_fini(&a);
	return same;
}

/* The hex part and the generation now. */
static spreg_status
current(db_txn *t, char shex[17], uint64_t *gen, err *e)
{
	spreg_status st;

	*gen = 0;
	if ((st = store_hex(t, shex, e)) != SPREG_OK) {
		return st;
	}
	st = db_meta_get_u64(t, GENERATION, gen, e);
	return st == SPREG_NOT_FOUND ? SPREG_OK : st;
}

spreg_status
db_identity_read(db *d, MDB_txn *txn, char out[DB_IDENTITY_MAX], err *e)
{
	db_txn t = {.txn = txn, .d = d};
	char shex[17];
	uint64_t gen;
	spreg_status st;

	if ((st = current(&t, shex, &gen, e)) == SPREG_OK) {
		snprintf(out, DB_IDENTITY_MAX, "%s-%llu", shex,
		    (unsigned long long) gen);
	}
	return st;
}

spreg_status
db_identity_check(db *d, MDB_txn *txn, const char *dir,
    char out[DB_IDENTITY_MAX], bool *changed, err *e)
{
	db_txn t = {.txn = txn, .d = d};
	char shex[17];
	uint64_t gen = 0;
	marker m;
	spreg_status st;

	*changed = false;
	if ((st = current(&t, shex, &gen, e)) != SPREG_OK) {
		return st;
	}
	snprintf(out, DB_IDENTITY_MAX, "%s-%llu", shex,
	    (unsigned long long) gen);
	bool have = marker_read(dir, &m);
	if (have && gen > 0 && strcmp(m.identity, out) == 0 && holds(&t, &m)) {
		return SPREG_OK;	/* the store this folder held */
	}
	/* One more than either knew, so the identity is a new one. */
	uint64_t next = gen + 1;
	const char *dash = have ? strrchr(m.identity, '-') : NULL;
	if (dash != NULL && (size_t) (dash - m.identity) == 16 &&
	    memcmp(m.identity, shex, 16) == 0) {
		uint64_t old = strtoull(dash + 1, NULL, 10);
		if (old >= next) {
			next = old + 1;
		}
	}
	if ((st = db_meta_put_u64(&t, GENERATION, next, e)) != SPREG_OK) {
		return st;
	}
	char was[DB_IDENTITY_MAX];
	snprintf(was, sizeof(was), "%s", out);
	snprintf(out, DB_IDENTITY_MAX, "%s-%llu", shex,
	    (unsigned long long) next);
	*changed = true;
	if (have) {
		log_warn("the store in %s is not the one a server left there "
		    "last (%s, log at seq %llu): it was restored from an "
		    "older copy or replaced. Its identity is now %s; "
		    "watchers resynchronise", dir, m.identity,
		    (unsigned long long) m.seq, out);
	} else if (gen == 0) {
		log_info("store identity %s", out);
	} else {
		log_info("store identity %s (was %s; no %s/%s)", out, was,
		    dir, MARKER);
	}
	return SPREG_OK;
}

void
db_identity_mark(db *d, const char *dir)
{
	char path[PATH_MAX], tmp[PATH_MAX], hh[2 * DB_DIGEST_LEN + 1];
	ProtobufCBinaryData h = {0, NULL};
	db_txn t = {.d = d};
	uint64_t seq = 0;
	arena a;
	err e;
	int rc;

	if ((rc = mdb_txn_begin(db_env(d), NULL, MDB_RDONLY, &t.txn)) != 0) {
		log_warn("%s/%s: not written: %s", dir, MARKER,
		    mdb_strerror(rc));
		return;
	}
	arena_init(&a, (size_t) 1 << 20);
	memset(hh, '0', 2 * DB_DIGEST_LEN);
	hh[2 * DB_DIGEST_LEN] = '\0';
	if (db_change_last_seq(&t, &seq, &e) == SPREG_OK &&
	    db_change_hash(&t, seq, &a, &h, &e) == SPREG_OK &&
	    h.len == DB_DIGEST_LEN) {
		hex(h.data, h.len, hh);
	} else {
		seq = 0;
	}
	mdb_txn_abort(t.txn);
	arena_fini(&a);

	snprintf(path, sizeof(path), "%s/%s", dir, MARKER);
	snprintf(tmp, sizeof(tmp), "%s/%s.tmp", dir, MARKER);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	char line[160];
	int n = snprintf(line, sizeof(line), "spreg-store %s %llu %s\n",
	    db_store_identity(d), (unsigned long long) seq, hh);
	if (fd < 0 || write(fd, line, (size_t) n) != n || fsync(fd) != 0 ||
	    rename(tmp, path) != 0) {
		log_warn("%s: not written: %s", path, strerror(errno));
	}
	if (fd >= 0) {
		close(fd);
	}
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
}
