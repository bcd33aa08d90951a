/* Unit tests of src/db: each test on a fresh folder with a tiny map. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/date.h"
#include "db/store.h"
#include "db/record.h"
#include "support/store.h"
#include "support/write.h"

static char dir[64];
static db *d;
static db_session *s;
static arena a;

/* The store alone, in a 64 KiB map. */
static store_fixture fx = {.name = "db", .map_size = 64 * 1024,
    .dir = &dir, .d = &d};

static void
setup(void)
{
	store_fixture_open(&fx);
	ck_assert_int_eq(db_session_create(d, &s), SPREG_OK);
	arena_init(&a, (size_t) 256 << 20);
}

static void
teardown(void)
{
	arena_fini(&a);
	db_session_destroy(s);
	store_fixture_teardown(&fx);
}

/* A record with one of everything; the caller varies it. */
typedef struct rec {
	Spreg__V1__Subprocessor sp;
	Spreg__V1__Location loc, *locs[1];
	Spreg__V1__Safeguard sg, *sgs[1];
	char *services[1];
	char *cats[1];
	char id[32], name[48];
} rec;

static void
rec_init(rec *r, const char *id, const char *country, const char *category,
    const char *service, const char *mechanism)
{
	spreg__v1__subprocessor__init(&r->sp);
	spreg__v1__location__init(&r->loc);
	spreg__v1__safeguard__init(&r->sg);
	snprintf(r->id, sizeof(r->id), "%s", id);
	snprintf(r->name, sizeof(r->name), "Vendor %s", id);
	r->sp.id = r->id;
	r->sp.name = r->name;
	r->services[0] = (char *) service;
	r->sp.services = r->services;
	r->sp.n_services = 1;
	r->cats[0] = (char *) category;
	r->sp.data_categories = r->cats;
	r->sp.n_data_categories = 1;
	r->loc.country = (char *) country;
	r->loc.role = "hosting";
	r->locs[0] = &r->loc;
	r->sp.locations = r->locs;
	r->sp.n_locations = 1;
	r->sg.mechanism = (char *) mechanism;
	r->sg.regime = "EU";
	r->sg.signed_on = "2022-01-10";
	r->sgs[0] = &r->sg;
	r->sp.safeguards = r->sgs;
	r->sp.n_safeguards = 1;
	r->sp.status = SP_STATUS_ACTIVE;
	r->sp.effective_from = "2020-01-01";
}

typedef struct put_args {
	Spreg__V1__Subprocessor *sp;
	uint64_t expected;
	bool create_only;
	Spreg__V1__Change *change;
} put_args;

static spreg_status
put_cb(db_txn *t, void *arg, err *e)
{
	put_args *p = arg;
	db_actor who = {"tester", 0, 1700000000000LL, "tester"};
	return db_sp_put(t, p->sp, p->expected, p->create_only, &who, &a,
	    &p->change, e);
}

static spreg_status
put(rec *r, uint64_t expected, Spreg__V1__Change **change, err *e)
{
	put_args p = {&r->sp, expected, false, NULL};
	spreg_status st = test_write(s, put_cb, &p, e);
	if (change != NULL) {
		*change = p.change;
	}
	return st;
}

static Spreg__V1__Subprocessor *
get(const char *id, uint64_t revision)
{
	Spreg__V1__Subprocessor *sp = NULL;
	db_txn t;
	err e;

	ck_assert_int_eq(db_read_begin(s, &t, &e), SPREG_OK);
	spreg_status st = db_sp_get(&t, id, revision, &a, &sp, &e);
	db_read_end(s);
	return st == SPREG_OK ? sp : NULL;
}

START_TEST(put_get_history_and_log)
{
	rec r;
	Spreg__V1__Change *c;
	err e;

	rec_init(&r, "stripe", "US", "user.name", "billing", "eu-scc-2021-m2");
	ck_assert_int_eq(put(&r, 0, &c, &e), SPREG_OK);
	ck_assert_int_eq(c->seq, 1);
	ck_assert_int_eq(c->kind, CHANGE_CREATED);
	ck_assert_int_eq(c->new_revision, 1);

	snprintf(r.name, sizeof(r.name), "Stripe Inc");
	ck_assert_int_eq(put(&r, 1, &c, &e), SPREG_OK);
	ck_assert_int_eq(c->seq, 2);
	ck_assert_int_eq(c->kind, CHANGE_UPDATED);
	ck_assert_int_eq(c->old_revision, 1);

	/* Unchanged content: no revision, no change. */
	ck_assert_int_eq(put(&r, 0, &c, &e), SPREG_OK);
	ck_assert_ptr_null(c);

	/* Wrong expected revision: refused, nothing written. */
	snprintf(r.name, sizeof(r.name), "Other");
	ck_assert_int_eq(put(&r, 1, &c, &e), SPREG_FAILED_PRECONDITION);
	ck_assert_ptr_nonnull(strstr(e.msg, "expected_revision"));

	Spreg__V1__Subprocessor *cur = get("stripe", 0);
	ck_assert_str_eq(cur->name, "Stripe Inc");
	ck_assert_int_eq(cur->revision, 2);
	ck_assert_str_eq(cur->updated_by, "tester");
	/* History keeps every revision. */
	ck_assert_str_eq(get("stripe", 1)->name, "Vendor stripe");
	ck_assert_ptr_null(get("stripe", 3));
	ck_assert_ptr_null(get("nobody", 0));

	db_txn t;
	Spreg__V1__Change **changes;
	size_t n;
	uint64_t last;
	ck_assert_int_eq(db_read_begin(s, &t, &e), SPREG_OK);
	uint64_t next;
	ck_assert_int_eq(db_change_list(&t, 0, 100, NULL, 1000, &a, &changes,
	    &n, &next, &e), SPREG_OK);
	ck_assert_uint_eq(next, 2);
	ck_assert_int_eq(db_change_last_seq(&t, &last, &e), SPREG_OK);
	/* Each entry's hash by seq; seq 0, the head of an empty log, has
	 * none. */
	ProtobufCBinaryData hash;
	ck_assert_int_eq(db_change_hash(&t, 2, &a, &hash, &e), SPREG_OK);
	ck_assert_uint_eq(hash.len, DB_DIGEST_LEN);
	ck_assert_mem_eq(hash.data, changes[1]->hash.data, DB_DIGEST_LEN);
	ck_assert_int_eq(db_change_hash(&t, 1, &a, &hash, &e), SPREG_OK);
	ck_assert_mem_eq(hash.data, changes[0]->hash.data, DB_DIGEST_LEN);
	ck_assert_int_eq(db_change_hash(&t, 0, &a, &hash, &e), SPREG_OK);
	ck_assert_uint_eq(hash.len, 0);
	ck_assert_int_eq(db_change_hash(&t, 3, &a, &hash, &e),
	    SPREG_NOT_FOUND);
	db_read_end(s);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(last, 2);
	ck_assert_str_eq(changes[1]->subprocessor_id, "stripe");
}
END_TEST

static spreg_status
create_only_cb(db_txn *t, void *arg, err *e)
{
	put_args *p = arg;
	db_actor who = {"tester", 0, 0, "tester"};
	return db_sp_put(t, p->sp, 0, true, &who, &a, &p->change, e);
}

START_TEST(create_only_and_retire)
{
	rec r;
	err e;

	rec_init(&r, "zoom", "US", "user.name", "support", "eu-scc-2021-m2");
	put_args p = {&r.sp, 0, true, NULL};
	ck_assert_int_eq(test_write(s, create_only_cb, &p, &e), SPREG_OK);
	ck_assert_int_eq(test_write(s, create_only_cb, &p, &e),
	    SPREG_ALREADY_EXISTS);
}
END_TEST

typedef struct list_out {
	Spreg__V1__Subprocessor **items;
	size_t n;
	bool more;
} list_out;

static list_out
list(const db_sp_filter *f, const char *after, size_t limit)
{
	list_out out;
	db_txn t;
	err e;

	ck_assert_int_eq(db_read_begin(s, &t, &e), SPREG_OK);
	ck_assert_msg(db_sp_list(&t, f, after, limit, &a, &out.items, &out.n,
	    &out.more, &e) == SPREG_OK, "%s", e.msg);
	db_read_end(s);
	return out;
}

START_TEST(indexes_filter_and_page)
{
	static const struct {
		const char *id, *country, *category, *service, *mechanism;
	} rows[] = {
		{"a1", "US", "user.financial.bank_account", "billing",
		    "eu-scc-2021-m2"},
		{"a2", "FR", "user.contact.email", "support", "eu-bcr"},
		{"a3", "US", "user.financial.credit_card", "support",
		    "eu-privacy-shield"},
		{"a4", "RS", "user.health_and_medical", "app", "eu-scc-2021-m3"},
		{"a5", "US", "user.contact.email", "billing", "eu-scc-2021-m2"},
	};
	rec r;
	err e;

	for (size_t i = 0; i < sizeof(rows) / sizeof(*rows); i++) {
		rec_init(&r, rows[i].id, rows[i].country, rows[i].category,
		    rows[i].service, rows[i].mechanism);
		ck_assert_msg(put(&r, 0, NULL, &e) == SPREG_OK, "%s", e.msg);
	}
	/* A parent key finds its descendants. */
	db_sp_filter f = {.category = "user.financial"};
	list_out o = list(&f, "", 10);
	ck_assert_uint_eq(o.n, 2);
	ck_assert_str_eq(o.items[0]->id, "a1");
	ck_assert_str_eq(o.items[1]->id, "a3");
	f = (db_sp_filter) {.category = "user"};
	ck_assert_uint_eq(list(&f, "", 10).n, 5);
	/* AND of filters. */
	f = (db_sp_filter) {.country = "US", .service = "billing"};
	o = list(&f, "", 10);
	ck_assert_uint_eq(o.n, 2);
	ck_assert_str_eq(o.items[1]->id, "a5");
	f = (db_sp_filter) {.country = "US", .mechanism = "eu-privacy-shield"};
	o = list(&f, "", 10);
	ck_assert_uint_eq(o.n, 1);
	ck_assert_str_eq(o.items[0]->id, "a3");
	f = (db_sp_filter) {.country = "JP"};
	ck_assert_uint_eq(list(&f, "", 10).n, 0);
	/* Pages in id order, no record twice, none missed. */
	f = (db_sp_filter) {.status = SP_STATUS_ACTIVE};
	o = list(&f, "", 2);
	ck_assert(o.more);
	ck_assert_str_eq(o.items[1]->id, "a2");
	o = list(&f, "a2", 2);
	ck_assert_str_eq(o.items[0]->id, "a3");
	ck_assert_str_eq(o.items[1]->id, "a4");
	o = list(&f, "a4", 2);
	ck_assert_uint_eq(o.n, 1);
	ck_assert(!o.more);
	/* No filter walks the records. */
	f = (db_sp_filter) {0};
	ck_assert_uint_eq(list(&f, "a3", 10).n, 2);

	/* An update moves the record between index keys. */
	rec_init(&r, "a1", "DE", "user.contact.email", "billing",
	    "eu-scc-2021-m2");
	ck_assert_int_eq(put(&r, 0, NULL, &e), SPREG_OK);
	f = (db_sp_filter) {.category = "user.financial"};
	ck_assert_uint_eq(list(&f, "", 10).n, 1);
	f = (db_sp_filter) {.country = "DE"};
	ck_assert_uint_eq(list(&f, "", 10).n, 1);
}
END_TEST

typedef struct retire_args {
	const char *id;
	Spreg__V1__Subprocessor *sp;
	Spreg__V1__Change *change;
} retire_args;

static spreg_status
retire_cb(db_txn *t, void *arg, err *e)
{
	retire_args *r = arg;
	db_actor who = {"tester", 0, 1700000000000LL, "tester"};
	return db_sp_retire(t, r->id, 0, "", &who, &a, &r->sp, &r->change, e);
}

START_TEST(retire_moves_status)
{
	rec r;
	err e;

	rec_init(&r, "skype", "US", "user.name", "support", "eu-scc-2021-m2");
	ck_assert_int_eq(put(&r, 0, NULL, &e), SPREG_OK);
	retire_args ra = {"skype", NULL, NULL};
	ck_assert_int_eq(test_write(s, retire_cb, &ra, &e), SPREG_OK);
	ck_assert_int_eq(ra.sp->status, SP_STATUS_RETIRED);
	ck_assert_str_eq(ra.sp->effective_until, "2023-11-14");
	ck_assert_int_eq(ra.change->kind, CHANGE_RETIRED);
	ck_assert_int_eq(test_write(s, retire_cb, &ra, &e),
	    SPREG_FAILED_PRECONDITION);
	db_sp_filter f = {.status = SP_STATUS_ACTIVE};
	ck_assert_uint_eq(list(&f, "", 10).n, 0);
	f.status = SP_STATUS_RETIRED;
	ck_assert_uint_eq(list(&f, "", 10).n, 1);
	ra.id = "nobody";
	ck_assert_int_eq(test_write(s, retire_cb, &ra, &e), SPREG_NOT_FOUND);
}
END_TEST

/* 64 KiB of map fills after a few records: the map must grow, and every
 * record must still be there after reopening. */
START_TEST(map_grows_when_full)
{
	size_t before = db_map_size(d);
	char id[32];
	rec r;
	err e;

	for (int i = 0; i < 400; i++) {
		snprintf(id, sizeof(id), "vendor-%04d", i);
		rec_init(&r, id, "US", "user.contact.email", "app",
		    "eu-scc-2021-m2");
		ck_assert_msg(put(&r, 0, NULL, &e) == SPREG_OK, "%d: %s", i,
		    e.msg);
		arena_reset(&a);
	}
	ck_assert_uint_gt(db_map_size(d), before);
	db_session_destroy(s);
	db_close(d);
	db_options o = {.dir = dir, .map_size = 64 * 1024};
	ck_assert_int_eq(db_open(&o, &d, &e), SPREG_OK);
	ck_assert_int_eq(db_session_create(d, &s), SPREG_OK);
	db_sp_filter f = {.country = "US"};
	ck_assert_uint_eq(list(&f, "", 1000).n, 400);
}
END_TEST

/* A vendor's fourth parties are indexed: --fourth-party finds the
 * vendors of one, and a write that drops one drops it from the index. */
START_TEST(fourth_party_index)
{
	rec r1, r2;
	Spreg__V1__FourthParty aws, mailgun, *fps[2] = {&aws, &mailgun};
	char *us[] = {"US"};
	err e;

	spreg__v1__fourth_party__init(&aws);
	spreg__v1__fourth_party__init(&mailgun);
	aws.id = "aws";
	aws.countries = us;
	aws.n_countries = 1;
	mailgun.id = "mailgun";
	rec_init(&r1, "help-desk", "US", "user.name", "support",
	    "eu-scc-2021-m2");
	rec_init(&r2, "chat", "IE", "user.name", "support", "eu-scc-2021-m2");
	r1.sp.fourth_parties = fps;
	r1.sp.n_fourth_parties = 2;
	r2.sp.fourth_parties = fps;
	r2.sp.n_fourth_parties = 1;
	ck_assert_int_eq(put(&r1, 0, NULL, &e), SPREG_OK);
	ck_assert_int_eq(put(&r2, 0, NULL, &e), SPREG_OK);
	db_sp_filter f = {.fourth_party = "aws"};
	list_out out = list(&f, "", 100);
	ck_assert_uint_eq(out.n, 2);
	f.fourth_party = "mailgun";
	ck_assert_uint_eq(list(&f, "", 100).n, 1);
	f.service = "support";
	ck_assert_uint_eq(list(&f, "", 100).n, 1);
	r1.sp.n_fourth_parties = 1;	/* mailgun dropped */
	ck_assert_int_eq(put(&r1, 0, NULL, &e), SPREG_OK);
	ck_assert_uint_eq(list(&f, "", 100).n, 0);
	f.fourth_party = "aws";
	ck_assert_uint_eq(list(&f, "", 100).n, 2);
}
END_TEST

/* The changes of customer beta (of service app) from seq since. */
static size_t
changes_of(const char *customer, uint64_t since, Spreg__V1__Change ***out)
{
	char *app[] = {"app"};
	db_change_filter f = {NULL, customer, app, 1};
	db_txn t;
	size_t n;
	uint64_t next;
	err e;

	ck_assert_int_eq(db_read_begin(s, &t, &e), SPREG_OK);
	ck_assert_msg(db_change_list(&t, since, 100, &f, 1000, &a, out, &n,
	    &next, &e) == SPREG_OK, "%s", e.msg);
	db_read_end(s);
	return n;
}

/* An old server's change: a customer's own vendor named by its
 * services only (no selected_by). */
static spreg_status
legacy_cb(db_txn *t, void *arg, err *e)
{
	Spreg__V1__Change *c = arena_alloc(&a, sizeof(*c));
	static char *app[] = {"app"};

	(void) arg;
	spreg__v1__change__init(c);
	c->time = "2026-11-30T00:00:00.000Z";
	c->actor = "old server";
	c->kind = CHANGE_UPDATED;
	c->subprocessor_id = "mine";
	c->services = app;
	c->n_services = 1;
	MDB_val k = {strlen("selected_scope_from"), "selected_scope_from"};
	int rc = mdb_del(t->txn, db_dbi(t->d, DB_META), &k, NULL);
	if (rc != 0) {
		return db_fail(t, rc, "meta", e);
	}
	return db_change_append(t, c, &a, e);
}

/* A customer_selected vendor's changes concern its customer alone:
 * each record (before, after) adds its customer if it is one's own
 * choice, else its services; older changes without selected_by are
 * read so once the store is reopened. */
START_TEST(customer_selected_scope)
{
	rec r;
	Spreg__V1__Change *c, **cs;
	char *app[] = {"app"};
	err e;

	rec_init(&r, "mine", "US", "user.name", "app", "eu-scc-2021-m2");
	ck_assert_int_eq(put(&r, 0, &c, &e), SPREG_OK);
	ck_assert_uint_eq(c->n_services, 1);
	ck_assert_uint_eq(c->n_selected_by, 0);
	ck_assert(!c->selected_only);
	ck_assert(db_change_concerns(c, "beta", app, 1));

	/* Public -> acme's own: acme by name, app users (before) too. */
	r.sp.kind = "customer_selected";
	r.sp.customer = "acme";
	ck_assert_int_eq(put(&r, 0, &c, &e), SPREG_OK);
	ck_assert_uint_eq(c->n_selected_by, 1);
	ck_assert_str_eq(c->selected_by[0], "acme");
	ck_assert(!c->selected_only);
	ck_assert(db_change_concerns(c, "beta", app, 1));
	ck_assert(db_change_concerns(c, "acme", NULL, 0));
	uint64_t mine_since = c->seq;

	/* acme's own, both sides: acme alone, on no public feed. */
	snprintf(r.name, sizeof(r.name), "Renamed");
	ck_assert_int_eq(put(&r, 0, &c, &e), SPREG_OK);
	ck_assert_uint_eq(c->n_services, 0);
	ck_assert(c->selected_only);
	ck_assert(!db_change_concerns(c, "beta", app, 1));
	ck_assert(db_change_concerns(c, "acme", NULL, 0));
	ck_assert_uint_eq(changes_of("beta", mine_since, &cs), 0);
	ck_assert_uint_eq(changes_of("acme", mine_since, &cs), 1);

	/* An old server's change to it, then a restart. */
	ck_assert_msg(test_write(s, legacy_cb, NULL, &e) == SPREG_OK, "%s",
	    e.msg);
	ck_assert_uint_eq(changes_of("beta", mine_since, &cs), 1);
	db_session_destroy(s);
	db_close(d);
	db_options o = {.dir = dir, .map_size = 64 * 1024};
	ck_assert_int_eq(db_open(&o, &d, &e), SPREG_OK);
	ck_assert_int_eq(db_session_create(d, &s), SPREG_OK);
	ck_assert_uint_eq(changes_of("beta", mine_since, &cs), 0);
	ck_assert_uint_eq(changes_of("acme", mine_since, &cs), 2);
	ck_assert(cs[1]->selected_only);
	ck_assert_str_eq(cs[1]->actor, "old server");
	/* Changes logged since are as written. */
	r.sp.kind = "";
	r.sp.customer = "";
	ck_assert_int_eq(put(&r, 0, &c, &e), SPREG_OK);
	ck_assert_uint_eq(changes_of("beta", mine_since, &cs), 1);
	ck_assert_uint_eq(cs[0]->seq, c->seq);
}
END_TEST

/* A map that may not grow: the write fails with a status, not a crash,
 * and the store is unchanged. */
START_TEST(map_full_at_maximum)
{
	db_session_destroy(s);
	db_close(d);
	db_options o = {.dir = dir, .map_size = 64 * 1024, .map_max = 64 * 1024};
	err e;
	ck_assert_int_eq(db_open(&o, &d, &e), SPREG_OK);
	ck_assert_int_eq(db_session_create(d, &s), SPREG_OK);
	rec r;
	char id[32];
	spreg_status st = SPREG_OK;
	int stored = 0;
	for (int i = 0; i < 400 && st == SPREG_OK; i++) {
		snprintf(id, sizeof(id), "vendor-%04d", i);
		rec_init(&r, id, "US", "user.contact.email", "app",
		    "eu-scc-2021-m2");
		if ((st = put(&r, 0, NULL, &e)) == SPREG_OK) {
			stored++;
		}
	}
	ck_assert_int_eq(st, SPREG_RESOURCE_EXHAUSTED);
	db_sp_filter f = {.country = "US"};
	ck_assert_uint_eq(list(&f, "", 1000).n, (size_t) stored);
}
END_TEST

typedef struct req_args {
	uint64_t id;
	unsigned char digest[DB_DIGEST_LEN];
	const char *reply;
	int64_t now;
} req_args;

static spreg_status
save_cb(db_txn *t, void *arg, err *e)
{
	req_args *r = arg;
	return db_request_save(t, r->id, r->digest, r->reply,
	    strlen(r->reply), r->now, e);
}

static spreg_status
find(req_args *r, char **reply, err *e)
{
	db_txn t;
	void *p;
	size_t len;
	ck_assert_int_eq(db_read_begin(s, &t, e), SPREG_OK);
	spreg_status st = db_request_find(&t, r->id, r->digest, &a, &p, &len,
	    e);
	db_read_end(s);
	if (st == SPREG_OK) {
		((char *) p)[len] = '\0';
		*reply = p;
	}
	return st;
}

START_TEST(request_ids_remembered_then_forgotten)
{
	req_args r = {42, {1, 2, 3}, "reply-bytes", 1000};
	char *reply;
	err e;

	ck_assert_int_eq(find(&r, &reply, &e), SPREG_NOT_FOUND);
	ck_assert_int_eq(test_write(s, save_cb, &r, &e), SPREG_OK);
	ck_assert_int_eq(find(&r, &reply, &e), SPREG_OK);
	ck_assert_str_eq(reply, "reply-bytes");
	/* The same id with another request is refused. */
	r.digest[0] = 9;
	ck_assert_int_eq(find(&r, &reply, &e), SPREG_INVALID_ARGUMENT);
	/* A later write past the time to live prunes the old entry. */
	req_args later = {43, {0}, "x", 1000 + DB_REQUEST_TTL_MS + 1};
	ck_assert_int_eq(test_write(s, save_cb, &later, &e), SPREG_OK);
	r.digest[0] = 1;
	ck_assert_int_eq(find(&r, &reply, &e), SPREG_NOT_FOUND);
}
END_TEST

START_TEST(schema_version_checked)
{
	db_session_destroy(s);
	db_close(d);
	/* Reopening the same folder works; the version is remembered. */
	db_options o = {.dir = dir};
	err e;
	ck_assert_int_eq(db_open(&o, &d, &e), SPREG_OK);
	ck_assert_int_eq(db_session_create(d, &s), SPREG_OK);
	db_txn t;
	unsigned char secret[32], zero[32] = {0};
	ck_assert_int_eq(db_read_begin(s, &t, &e), SPREG_OK);
	ck_assert_int_eq(db_secret(&t, secret, &e), SPREG_OK);
	db_read_end(s);
	ck_assert(memcmp(secret, zero, 32) != 0);
}
END_TEST

/* A folder path under the fixture's folder. */
static const char *
in_dir(const char *name)
{
	static char path[128];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return path;
}

/* One opener per folder; what a folder holds decides whether a store is
 * opened, created, or refused. */
START_TEST(folder_locked_and_checked)
{
	static const char *const markers[] = {"admin.token", NULL};
	char sub[128], want[128];
	db *other;
	err e;

	db_options o = {.dir = dir};
	ck_assert_int_eq(db_open(&o, &other, &e), SPREG_UNAVAILABLE);
	snprintf(want, sizeof(want), "in use by another spregd (pid %ld",
	    (long) getpid());
	ck_assert_msg(strstr(e.msg, want) != NULL, "%s", e.msg);

	/* A first start held open and cut short starts over, taking the
	 * token file it wrote with it. */
	snprintf(sub, sizeof(sub), "%s", in_dir("new"));
	o = (db_options) {.dir = sub, .markers = markers, .hold_new = true};
	ck_assert_int_eq(db_open(&o, &other, &e), SPREG_OK);
	ck_assert(db_created(other));
	db_close(other);
	FILE *f = fopen(in_dir("new/admin.token"), "w");
	ck_assert_ptr_nonnull(f);
	fclose(f);
	ck_assert_int_eq(db_open(&o, &other, &e), SPREG_OK);
	ck_assert(db_created(other));
	ck_assert_int_eq(access(in_dir("new/admin.token"), F_OK), -1);
	ck_assert_int_eq(db_created_done(other, &e), SPREG_OK);
	db_close(other);
	ck_assert_int_eq(db_open(&o, &other, &e), SPREG_OK);
	ck_assert(!db_created(other));
	db_close(other);

	/* data.mdb gone beside a token file; then empty. */
	ck_assert_int_eq(unlink(in_dir("new/data.mdb")), 0);
	ck_assert_int_eq(unlink(in_dir("new/lock.mdb")), 0);
	f = fopen(in_dir("new/admin.token"), "w");
	ck_assert_ptr_nonnull(f);
	fclose(f);
	ck_assert_int_eq(db_open(&o, &other, &e), SPREG_DATA_LOSS);
	ck_assert_msg(strstr(e.msg, "data.mdb is missing") != NULL, "%s",
	    e.msg);
	f = fopen(in_dir("new/data.mdb"), "w");
	ck_assert_ptr_nonnull(f);
	fclose(f);
	ck_assert_int_eq(db_open(&o, &other, &e), SPREG_DATA_LOSS);
	ck_assert_msg(strstr(e.msg, "data.mdb is empty") != NULL, "%s",
	    e.msg);
}
END_TEST

int
main(void)
{
	Suite *su = suite_create("db");
	TCase *tc = tcase_create("store");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, put_get_history_and_log);
	tcase_add_test(tc, create_only_and_retire);
	tcase_add_test(tc, indexes_filter_and_page);
	tcase_add_test(tc, retire_moves_status);
	tcase_add_test(tc, customer_selected_scope);
	tcase_add_test(tc, fourth_party_index);
	tcase_add_test(tc, map_grows_when_full);
	tcase_add_test(tc, map_full_at_maximum);
	tcase_add_test(tc, request_ids_remembered_then_forgotten);
	tcase_add_test(tc, schema_version_checked);
	tcase_add_test(tc, folder_locked_and_checked);
	suite_add_tcase(su, tc);
	SRunner *sr = srunner_create(su);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
