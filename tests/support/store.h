/*
 * The unit tests' store: a fresh temporary folder with a small map, the
 * shipped reference data, and (when asked) an rpc server with one
 * worker over it and the sample registry imported. It fills the test's
 * own variables, so test bodies keep using d, srv, w, and frees what
 * they hold at the end (a test that made a new server keeps it there).
 *
 *   static store_fixture fx = {.name = "rpc", .map_size = 1 << 20,
 *       .insecure_local = true, .dir = &dir, .cat = &cat, .d = &d,
 *       .srv = &srv, .w = &w};
 *   static void setup(void) { store_fixture_setup(&fx); }
 *   static void teardown(void) { store_fixture_teardown(&fx); }
 *
 * Failures stop the test with a Check assertion.
 */
#ifndef TEST_STORE_H
#define TEST_STORE_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#include "assess/rules.h"
#include "core/catalog.h"
#include "db/db.h"
#include "rpc/import.h"
#include "rpc/rpc.h"

#ifndef SPREG_TEST_DATA
#define SPREG_TEST_DATA "data"
#endif

#define STORE_FIXTURE_DIR 64

typedef struct store_fixture {
	/* What to make. */
	const char *name;	/* the folder: /tmp/spreg-NAME-XXXXXX */
	size_t map_size;
	bool insecure_local;	/* handlers under test without tokens */
	bool no_sample;		/* no sample registry in the store */
	/* The server's publisher: publish (NULL: none) gets each write's
	 * changes, with publish_arg. */
	void (*publish)(void *arg, const rpc_event *events, size_t n);
	void *publish_arg;
	rpc_fetch_fn fetch;	/* FollowVendor's fetch, or NULL */
	/* Where it goes: the test's variables; NULL, not wanted. */
	char (*dir)[STORE_FIXTURE_DIR];
	catalog **cat;
	assess_rules **rules;	/* given to the server too */
	db **d;
	rpc_server **srv;	/* a server, a worker, the sample */
	rpc_worker **w;
} store_fixture;

/* The folder, the reference data (rules too when asked) and the store. */
static inline void
store_fixture_open(store_fixture *f)
{
	db_options o = {.dir = *f->dir, .map_size = f->map_size};
	err e;

	snprintf(*f->dir, sizeof(*f->dir), "/tmp/spreg-%s-XXXXXX", f->name);
	ck_assert_ptr_nonnull(mkdtemp(*f->dir));
	if (f->cat != NULL) {
		ck_assert_msg(catalog_load(SPREG_TEST_DATA, f->cat, &e) ==
		    SPREG_OK, "%s", e.msg);
	}
	if (f->rules != NULL) {
		ck_assert_msg(assess_rules_load(SPREG_TEST_DATA, *f->cat,
		    f->rules, &e) == SPREG_OK, "%s", e.msg);
	}
	ck_assert_msg(db_open(&o, f->d, &e) == SPREG_OK, "%s", e.msg);
}

/* A server (again, after store_fixture_server_stop) and its worker. */
static inline void
store_fixture_server_start(store_fixture *f)
{
	err e;

	rpc_publisher pub = {.publish = f->publish, .arg = f->publish_arg};
	ck_assert_msg(rpc_server_create(*f->d, *f->cat,
	    f->publish != NULL ? &pub : NULL, f->fetch, f->srv, &e) ==
	    SPREG_OK, "%s",
	    e.msg);
	if (f->rules != NULL) {
		rpc_server_set_rules(*f->srv, *f->rules);
	}
	if (f->insecure_local) {
		rpc_server_set_insecure_local(*f->srv, true);
	}
	if (f->w != NULL) {
		ck_assert_int_eq(rpc_worker_create(*f->srv, f->w), SPREG_OK);
	}
}

static inline void
store_fixture_server_stop(store_fixture *f)
{
	if (f->w != NULL) {
		rpc_worker_destroy(*f->w);
		*f->w = NULL;
	}
	if (f->srv != NULL) {
		rpc_server_destroy(*f->srv);
		*f->srv = NULL;
	}
}

/* The sample registry (data/sample-customers.json, then
 * data/sample-registry.json) through the server. */
static inline void
store_fixture_import(store_fixture *f)
{
	size_t ncustomers, n;
	err e;

	ck_assert_msg(rpc_import_sample(*f->srv, SPREG_TEST_DATA, "test",
	    &ncustomers, &n, &e) == SPREG_OK, "%s", e.msg);
	ck_assert_uint_ge(ncustomers, 1);
	ck_assert_uint_ge(n, 15);
}

/*
 * One call through the worker w, as a client's envelope carries it: env
 * holds the method, actor, token and request id, and in is packed into
 * its payload here. Returns the reply's status; msg (when not NULL) gets
 * its message, and *out (when out is not NULL) the response on OK
 * (caller frees), NULL otherwise.
 */
static inline spreg_status
store_fixture_call(rpc_worker *w, Spreg__V1__Request *env,
    const ProtobufCMessage *in, const ProtobufCMessageDescriptor *od,
    ProtobufCMessage **out, char *msg, size_t msglen)
{
	Spreg__V1__Reply r;
	uint8_t *payload = malloc(protobuf_c_message_get_packed_size(in) + 1);

	ck_assert_ptr_nonnull(payload);
	env->payload.len = protobuf_c_message_pack(in, payload);
	env->payload.data = payload;
	size_t len = spreg__v1__request__get_packed_size(env);
	uint8_t *buf = malloc(len);
	ck_assert_ptr_nonnull(buf);
	spreg__v1__request__pack(env, buf);
	rpc_handle(w, buf, len, &r);
	free(buf);
	free(payload);
	env->payload.data = NULL;
	env->payload.len = 0;
	if (msg != NULL) {
		snprintf(msg, msglen, "%s", r.message ? r.message : "");
	}
	if (out != NULL) {
		*out = NULL;
		if (r.code == SPREG__V1__CODE__OK) {
			*out = protobuf_c_message_unpack(od, NULL,
			    r.payload.len, r.payload.data);
			ck_assert_ptr_nonnull(*out);
		}
	}
	return (spreg_status) r.code;
}

/* All of it: open, and with srv a server and the sample. */
static inline void
store_fixture_setup(store_fixture *f)
{
	store_fixture_open(f);
	if (f->srv != NULL) {
		store_fixture_server_start(f);
		if (!f->no_sample) {
			store_fixture_import(f);
		}
	}
}

static inline void
store_fixture_teardown(store_fixture *f)
{
	char cmd[STORE_FIXTURE_DIR + 16];

	store_fixture_server_stop(f);
	db_close(*f->d);
	*f->d = NULL;
	if (f->rules != NULL) {
		assess_rules_destroy(*f->rules);
		*f->rules = NULL;
	}
	if (f->cat != NULL) {
		catalog_destroy(*f->cat);
		*f->cat = NULL;
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", *f->dir);
	ck_assert_int_eq(system(cmd), 0);
}

#endif
