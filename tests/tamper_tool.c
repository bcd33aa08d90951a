/*
 * Test helper: flips one byte of one value in a spregd data folder,
 * straight through LMDB, as someone with access to the file could.
 * usage: tamper_tool DATA_DIR TABLE KEY [TEXT]
 * KEY is the key's bytes, or seq:N (a big-endian 64-bit key, as in the
 * change log) or hist:ID:REV (a history key). Without TEXT the value's
 * last byte is flipped; with it, the first byte of the first occurrence
 * of TEXT in the value.
 */
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
be64(unsigned char *out, unsigned long long v)
{
	for (int i = 7; i >= 0; i--) {
		out[i] = (unsigned char) (v & 0xff);
		v >>= 8;
	}
}

int
main(int argc, char **argv)
{
	unsigned char kbuf[512];
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val k, v, nv;
	int rc;

	if (argc != 4 && argc != 5) {
		fprintf(stderr, "usage: tamper_tool DATA_DIR TABLE KEY [TEXT]\n");
		return 1;
	}
	if ((rc = mdb_env_create(&env)) != 0 ||
	    (rc = mdb_env_set_maxdbs(env, 64)) != 0 ||
	    (rc = mdb_env_open(env, argv[1], MDB_NOTLS, 0600)) != 0 ||
	    (rc = mdb_txn_begin(env, NULL, 0, &txn)) != 0 ||
	    (rc = mdb_dbi_open(txn, argv[2], 0, &dbi)) != 0) {
		fprintf(stderr, "tamper_tool: %s\n", mdb_strerror(rc));
		return 1;
	}
	const char *key = argv[3];
	if (strncmp(key, "seq:", 4) == 0) {
		be64(kbuf, strtoull(key + 4, NULL, 10));
		k = (MDB_val) {8, kbuf};
	} else if (strncmp(key, "hist:", 5) == 0 && strrchr(key, ':') > key + 5 &&
	    strlen(key) < 400) {
		const char *colon = strrchr(key, ':');
		size_t n = (size_t) (colon - (key + 5));
		memcpy(kbuf, key + 5, n);
		kbuf[n] = '\0';
		be64(kbuf + n + 1, strtoull(colon + 1, NULL, 10));
		k = (MDB_val) {n + 9, kbuf};
	} else {
		k = (MDB_val) {strlen(key), (void *) key};
	}
	if ((rc = mdb_get(txn, dbi, &k, &v)) != 0) {
		fprintf(stderr, "tamper_tool: %s: %s\n", key, mdb_strerror(rc));
		return 1;
	}
	unsigned char *copy = malloc(v.mv_size);
	memcpy(copy, v.mv_data, v.mv_size);
	size_t at = v.mv_size - 1;
	if (argc == 5) {
		size_t tl = strlen(argv[4]);
		for (at = 0; at + tl <= v.mv_size &&
		     memcmp(copy + at, argv[4], tl) != 0; at++) {
		}
		if (tl == 0 || at + tl > v.mv_size) {
			fprintf(stderr, "tamper_tool: '%s' not in the value\n",
			    argv[4]);
			return 1;
		}
	}
	copy[at] ^= 0x01;
	nv = (MDB_val) {v.mv_size, copy};
	if ((rc = mdb_put(txn, dbi, &k, &nv, 0)) != 0 ||
	    (rc = mdb_txn_commit(txn)) != 0) {
		fprintf(stderr, "tamper_tool: %s\n", mdb_strerror(rc));
		return 1;
	}
	free(copy);
	mdb_env_close(env);
	return 0;
}
