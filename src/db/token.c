/* Bearer tokens: id -> packed Token. Few records, read one at a time on
 * every request, listed whole by an admin. */
#include <string.h>

#include "db/record.h"
#include "db/value.h"

#define TOKEN_ID_MAX 64

spreg_status
db_token_get(db_txn *t, const char *id, arena *a, Spreg__V1__Token **out,
    err *e)
{
	MDB_val k = {strlen(id), (void *) id};
	spreg_status st;

	if (k.mv_size == 0 || k.mv_size > TOKEN_ID_MAX) {
		return err_set(e, SPREG_NOT_FOUND, "token: not found");
	}
	st = db_value_get_message(t, DB_TOKENS, &k,
	    &spreg__v1__token__descriptor, a, (ProtobufCMessage **) out, e);
	if (st == SPREG_NOT_FOUND) {
		return err_set(e, SPREG_NOT_FOUND, "token: not found");
	}
	return st;
}

spreg_status
db_token_put(db_txn *t, const Spreg__V1__Token *tok, err *e)
{
	MDB_val k = {strlen(tok->id), tok->id};

	if (k.mv_size == 0 || k.mv_size > TOKEN_ID_MAX) {
		return err_set(e, SPREG_INTERNAL, "token: bad id");
	}
	return db_value_put_message(t, DB_TOKENS, &k, &tok->base, 0, e);
}

spreg_status
db_token_any(db_txn *t, bool *any, err *e)
{
	MDB_stat stat;
	int rc;

	if ((rc = mdb_stat(t->txn, db_dbi(t->d, DB_TOKENS), &stat)) != 0) {
		return db_fail(t, rc, "tokens", e);
	}
	*any = stat.ms_entries > 0;
	return SPREG_OK;
}

spreg_status
db_token_list(db_txn *t, arena *a, Spreg__V1__Token ***out, size_t *n_out,
    err *e)
{
	return db_value_list(t, DB_TOKENS, NULL, 0, &spreg__v1__token__descriptor,
	    a, (ProtobufCMessage ***) out, n_out, e);
}
