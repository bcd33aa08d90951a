/* Follows in the store (db/follow.h). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/date.h"
#include "db/follow.h"
#include "db/store.h"
#include "db/value.h"

/* vendor NUL url; false when too long for a key. */
static bool
follow_key(unsigned char buf[DB_KEY_MAX], const char *vendor,
    const char *url, MDB_val *k)
{
	size_t nv = strlen(vendor), nu = strlen(url);

	if (nv + 1 + nu > DB_KEY_MAX) {
		return false;
	}
	memcpy(buf, vendor, nv + 1);
	memcpy(buf + nv + 1, url, nu);
	*k = (MDB_val) {nv + 1 + nu, buf};
	return true;
}

spreg_status
db_follow_put(db_txn *t, const Spreg__V1__Follow *f, err *e)
{
	unsigned char kb[DB_KEY_MAX];
	MDB_val k;

	if (!follow_key(kb, f->subprocessor_id, f->url, &k)) {
		return err_set(e, SPREG_INVALID_ARGUMENT, "url: longer than "
		    "%d bytes", DB_FOLLOW_URL_MAX);
	}
	return db_value_put_message(t, DB_FOLLOWS, &k, &f->base, 0, e);
}

spreg_status
db_follow_get(db_txn *t, const char *vendor, const char *url, arena *a,
    Spreg__V1__Follow **out, err *e)
{
	unsigned char kb[DB_KEY_MAX];
	MDB_val k;

	if (!follow_key(kb, vendor, url, &k)) {
		return SPREG_NOT_FOUND;
	}
	return db_value_get_message(t, DB_FOLLOWS, &k,
	    &spreg__v1__follow__descriptor, a, (ProtobufCMessage **) out, e);
}

spreg_status
db_follow_delete(db_txn *t, const char *vendor, const char *url, err *e)
{
	unsigned char kb[DB_KEY_MAX];
	MDB_val k;

	if (!follow_key(kb, vendor, url, &k)) {
		return SPREG_NOT_FOUND;
	}
	int rc = mdb_del(t->txn, db_dbi(t->d, DB_FOLLOWS), &k, NULL);
	if (rc == MDB_NOTFOUND) {
		return SPREG_NOT_FOUND;
	}
	return rc == 0 ? SPREG_OK : db_fail(t, rc, "follows", e);
}

spreg_status
db_follow_list(db_txn *t, const char *vendor, arena *a,
    Spreg__V1__Follow ***out, size_t *n_out, err *e)
{
	/* A vendor's keys start with its id and a NUL. */
	return db_value_list(t, DB_FOLLOWS, vendor,
	    vendor != NULL ? strlen(vendor) + 1 : 0,
	    &spreg__v1__follow__descriptor, a, (ProtobufCMessage ***) out,
	    n_out, e);
}

spreg_status
db_follow_log(db_txn *t, const Spreg__V1__Follow *f,
    Spreg__V1__ChangeKind kind, const db_actor *who, arena *a,
    Spreg__V1__Change **change_out, err *e)
{
	char now[TIME_BUF], reason[DB_FOLLOW_URL_MAX + 64];
	Spreg__V1__Change *ch = arena_alloc(a, sizeof(*ch));
	spreg_status st;

	if (ch == NULL) {
		return err_oom(e, NULL);
	}
	spreg__v1__change__init(ch);
	time_format(who->now_ms, now);
	snprintf(reason, sizeof(reason), "%s every %" PRIu32 " s", f->url,
	    f->interval_seconds);
	ch->time = arena_strdup(a, now);
	ch->reason = arena_strdup(a, reason);
	if (ch->time == NULL || ch->reason == NULL) {
		return err_oom(e, NULL);
	}
	ch->actor = (char *) who->name;
	ch->token = (char *) (who->token ? who->token : "");
	ch->request_id = who->request_id;
	ch->kind = kind;
	ch->subprocessor_id = f->subprocessor_id;
	if ((st = db_change_append(t, ch, a, e)) != SPREG_OK) {
		return st;
	}
	if (change_out != NULL) {
		*change_out = ch;
	}
	return SPREG_OK;
}
