/*
 * spreg verify: the change log's hash chain recomputed from seq 1, and
 * every record checked against the revision its change names.
 */
#include <sodium.h>
#include <string.h>
#include <stdio.h>

#include "db/record.h"
#include "db/value.h"

/* ---- verification ------------------------------------------------------ */

static spreg_status
bad(Spreg__V1__VerifyLogResponse *out, uint64_t seq, arena *a,
    const char *problem)
{
	out->ok = false;
	out->first_bad_seq = seq;
	out->problem = arena_strdup(a, problem);
	return out->problem ? SPREG_OK : SPREG_RESOURCE_EXHAUSTED;
}

spreg_status
db_verify(db_txn *t, Spreg__V1__VerifyLogResponse *out, arena *a, err *e)
{
	unsigned char prev[DB_DIGEST_LEN] = {0}, want[DB_DIGEST_LEN];
	char problem[512];
	MDB_cursor *cur;
	MDB_val k, v;
	uint64_t expect = 1;
	spreg_status st = SPREG_OK;
	arena tmp;
	int rc;

	out->ok = true;
	arena_init(&tmp, (size_t) 16 << 20);
	if ((rc = mdb_cursor_open(t->txn, db_dbi(t->d, DB_CHANGES), &cur)) !=
	    0) {
		arena_fini(&tmp);
		return db_fail(t, rc, "changes", e);
	}
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && out->ok;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT), expect++) {
		arena_reset(&tmp);
		uint64_t seq = k.mv_size == 8 ? db_be64_get(k.mv_data) : 0;
		MDB_val pl;
		err why;
		if (seq == expect &&
		    db_value_check(t, DB_CHANGES, &k, &v, &pl, &why) !=
		        SPREG_OK) {
			st = bad(out, seq, a, why.msg);
			break;
		}
		Spreg__V1__Change *c = seq != expect ? NULL :
		    spreg__v1__change__unpack(&tmp.pb, pl.mv_size, pl.mv_data);
		if (seq != expect || c == NULL || c->seq != seq) {
			snprintf(problem, sizeof(problem), "change seq %llu: "
			    "missing, out of order or unreadable",
			    (unsigned long long) expect);
			st = bad(out, expect, a, problem);
			break;
		}
		if ((st = db_chain_hash(prev, c, want, e)) != SPREG_OK) {
			break;
		}
		if (c->hash.len != DB_DIGEST_LEN ||
		    sodium_memcmp(c->hash.data, want, DB_DIGEST_LEN) != 0) {
			snprintf(problem, sizeof(problem), "change seq %llu: "
			    "its hash does not match its content and the "
			    "previous entry (altered entry)",
			    (unsigned long long) seq);
			st = bad(out, seq, a, problem);
			break;
		}
		memcpy(prev, want, DB_DIGEST_LEN);
		out->checked_changes++;
		if (c->record_digest.len == DB_DIGEST_LEN) {
			ProtobufCBinaryData d;
			err ignored;
			if (db_record_digest(t, c->subprocessor_id, c->new_revision,
			        &tmp, &d, &ignored) != SPREG_OK ||
			    sodium_memcmp(d.data, c->record_digest.data,
			        DB_DIGEST_LEN) != 0) {
				snprintf(problem, sizeof(problem),
				    "subprocessor '%.64s' revision %llu: the "
				    "stored record does not match change seq "
				    "%llu (altered or missing record)",
				    c->subprocessor_id,
				    (unsigned long long) c->new_revision,
				    (unsigned long long) seq);
				st = bad(out, seq, a, problem);
				break;
			}
		}
	}
	mdb_cursor_close(cur);
	if (st == SPREG_OK && rc != 0 && rc != MDB_NOTFOUND && out->ok) {
		st = db_fail(t, rc, "changes", e);
	}
	out->head_seq = expect - 1;
	if ((out->head_hash.data = arena_alloc(a, DB_DIGEST_LEN)) != NULL) {
		memcpy(out->head_hash.data, prev, DB_DIGEST_LEN);
		out->head_hash.len = DB_DIGEST_LEN;
	}
	/* Each current record must be its newest revision, byte for byte
	 * (that revision's digest was checked against the log above). */
	if (st == SPREG_OK && out->ok &&
	    (rc = mdb_cursor_open(t->txn, db_dbi(t->d, DB_SP), &cur)) == 0) {
		for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
		     rc == 0 && out->ok;
		     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
			arena_reset(&tmp);
			MDB_val pl, hpl;
			err why;
			if (db_value_check(t, DB_SP, &k, &v, &pl, &why) !=
			    SPREG_OK) {
				st = bad(out, 0, a, why.msg);
				break;
			}
			Spreg__V1__Subprocessor *sp =
			    spreg__v1__subprocessor__unpack(&tmp.pb, pl.mv_size,
			        pl.mv_data);
			unsigned char hk[DB_KEY_MAX];
			MDB_val hkey;
			bool same = false;
			if (sp != NULL && k.mv_size + 9 <= DB_KEY_MAX) {
				hkey = (MDB_val) {db_hist_key(hk, sp->id,
				    sp->revision), hk};
				same = db_value_get(t, DB_SP_HIST, &hkey, &hpl,
				           &why) == SPREG_OK &&
				    hpl.mv_size == pl.mv_size &&
				    memcmp(hpl.mv_data, pl.mv_data, pl.mv_size) ==
				        0;
			}
			if (!same) {
				snprintf(problem, sizeof(problem),
				    "subprocessor '%.*s': the current record "
				    "differs from its revision in the history "
				    "(altered record)", (int) (k.mv_size < 64 ?
				    k.mv_size : 64), (const char *) k.mv_data);
				st = bad(out, 0, a, problem);
				break;
			}
			out->checked_records++;
		}
		mdb_cursor_close(cur);
	}
	arena_fini(&tmp);
	return st;
}
