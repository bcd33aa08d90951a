/*
 * Test helper: flips the last byte of one value in a spregd data folder,
 * straight through LMDB, as someone with access to the file could.
 * usage: tamper_tool DATA_DIR TABLE KEY
 */
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
main(int argc, char **argv)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val k, v, nv;
	int rc;

	if (argc != 4) {
		fprintf(stderr, "usage: tamper_tool DATA_DIR TABLE KEY\n");
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
	k = (MDB_val) {strlen(argv[3]), argv[3]};
	if ((rc = mdb_get(txn, dbi, &k, &v)) != 0) {
		fprintf(stderr, "tamper_tool: %s: %s\n", argv[3],
		    mdb_strerror(rc));
		return 1;
	}
	unsigned char *copy = malloc(v.mv_size);
	memcpy(copy, v.mv_data, v.mv_size);
	copy[v.mv_size - 1] ^= 0x01;
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
