/*
 * Integration tests: a real spregd process on a temporary folder, driven
 * through the client library and raw nng sockets.
 */
#include <check.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "spreg/client.h"
#include "support/spawn.h"
#include "test_token.h"
#include "spreg/v1/registry.pb-c.h"
#include "spreg/v1/rpc.pb-c.h"

#define BURST 16		/* concurrent writes on one connection */

static char dir[64];
static spawn server;
static const char *max_inflight;	/* spregd --max-inflight, or NULL */

static void
start_server(void)
{
	const char *args[] = {"--max-message", "65536",
	    max_inflight ? "--max-inflight" : NULL, max_inflight, NULL};
	spawn_opts o = {.dir = dir, .args = args, .wait_ms = 10000};

	ck_assert_msg(spawn_start(&server, &o), "spregd did not start");
}

static int
stop_server(int sig)
{
	int status = spawn_stop(&server, sig);

	ck_assert_int_ne(status, -1);
	return status;
}

static void
setup(void)
{
	ck_assert(spawn_mkdtemp(dir, sizeof(dir), "spreg-srv"));
	start_server();
}

static void
setup_inflight_1(void)
{
	max_inflight = "1";
	setup();
}

static void
teardown(void)
{
	max_inflight = NULL;
	if (server.pid > 0) {
		stop_server(SIGKILL);
	}
	ck_assert(spawn_rmrf(dir));
}

static spreg_status
get(spreg_client *c, const char *id, Spreg__V1__GetSubprocessorResponse **out)
{
	Spreg__V1__GetSubprocessorRequest in =
	    SPREG__V1__GET_SUBPROCESSOR_REQUEST__INIT;
	in.id = (char *) id;
	return spreg_call(c, "GetSubprocessor", &in.base,
	    &spreg__v1__get_subprocessor_response__descriptor,
	    (ProtobufCMessage **) out);
}

START_TEST(client_get_and_not_found)
{
	spreg_client *c;
	Spreg__V1__GetSubprocessorResponse *r;

	ck_assert_int_eq(test_client_open(server.url, false, &c), SPREG_OK);
	ck_assert_int_eq(get(c, "stripe", &r), SPREG_OK);
	ck_assert_str_eq(r->subprocessor->legal_entity, "Stripe, Inc.");
	spreg_message_free(&r->base);
	ck_assert_int_eq(get(c, "nobody", &r), SPREG_NOT_FOUND);
	ck_assert_ptr_nonnull(strstr(spreg_client_error(c), "nobody"));
	spreg_client_close(c);
}
END_TEST

/* A message over --max-message is dropped by nng before decoding; the
 * server keeps serving everyone, the sender included once it redials. */
START_TEST(oversize_message_refused_server_serves_on)
{
	nng_socket s;
	nng_msg *m;
	ck_assert_int_eq(nng_req0_open(&s), 0);
	ck_assert_int_eq(nng_dial(s, server.url, NULL, 0), 0);
	nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, 500);
	ck_assert_int_eq(nng_msg_alloc(&m, 200000), 0);
	memset(nng_msg_body(m), 0x0a, 200000);
	ck_assert_int_eq(nng_sendmsg(s, m, 0), 0);
	ck_assert_int_ne(nng_recvmsg(s, &m, 0), 0);	/* no answer */
	nng_close(s);

	spreg_client *c;
	Spreg__V1__GetSubprocessorResponse *r;
	ck_assert_int_eq(test_client_open(server.url, false, &c), SPREG_OK);
	ck_assert_int_eq(get(c, "zoom", &r), SPREG_OK);
	spreg_message_free(&r->base);
	spreg_client_close(c);
}
END_TEST

static void *
reader(void *arg)
{
	spreg_client *c;
	Spreg__V1__GetSubprocessorResponse *r;
	long ok = 0;
	(void) arg;

	if (test_client_open(server.url, false, &c) != SPREG_OK) {
		return (void *) 0;
	}
	for (int i = 0; i < 200; i++) {
		if (get(c, i % 2 ? "stripe" : "mailchimp", &r) == SPREG_OK) {
			ok++;
			spreg_message_free(&r->base);
		}
	}
	spreg_client_close(c);
	return (void *) ok;
}

START_TEST(concurrent_clients)
{
	pthread_t t[16];
	for (int i = 0; i < 16; i++) {
		ck_assert_int_eq(pthread_create(&t[i], NULL, reader, NULL), 0);
	}
	long total = 0;
	for (int i = 0; i < 16; i++) {
		void *ok;
		pthread_join(t[i], &ok);
		total += (long) ok;
	}
	ck_assert_int_eq(total, 16 * 200);
}
END_TEST

/* SIGTERM: the server exits 0 and its data opens again with everything
 * that was acknowledged. */
START_TEST(graceful_shutdown_and_restart)
{
	spreg_client *c;
	Spreg__V1__PutSubprocessorRequest in =
	    SPREG__V1__PUT_SUBPROCESSOR_REQUEST__INIT;
	Spreg__V1__Subprocessor sp = SPREG__V1__SUBPROCESSOR__INIT;
	Spreg__V1__Location loc = SPREG__V1__LOCATION__INIT, *locs[] = {&loc};
	char *cats[] = {"user.contact.email"};
	ProtobufCMessage *out;

	sp.id = "after-restart";
	sp.name = "After Restart";
	sp.data_categories = cats;
	sp.n_data_categories = 1;
	loc.country = "FR";
	loc.role = "hosting";
	sp.locations = locs;
	sp.n_locations = 1;
	sp.effective_from = "2026-01-01";
	in.subprocessor = &sp;
	ck_assert_int_eq(test_client_open(server.url, false, &c), SPREG_OK);
	ck_assert_int_eq(spreg_call(c, "PutSubprocessor", &in.base,
	    &spreg__v1__put_subprocessor_response__descriptor, &out),
	    SPREG_OK);
	spreg_message_free(out);
	spreg_client_close(c);

	int status = stop_server(SIGTERM);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);

	/* A client of a stopped server learns it at once. */
	ck_assert_int_eq(test_client_open(server.url, false, &c),
	    SPREG_UNAVAILABLE);

	start_server();
	Spreg__V1__GetSubprocessorResponse *r;
	ck_assert_int_eq(test_client_open(server.url, false, &c), SPREG_OK);
	ck_assert_int_eq(get(c, "after-restart", &r), SPREG_OK);
	ck_assert_int_eq(r->subprocessor->revision, 1);
	spreg_message_free(&r->base);
	/* The sample is loaded into an empty store only, not again. */
	Spreg__V1__ServerInfoRequest si = SPREG__V1__SERVER_INFO_REQUEST__INIT;
	Spreg__V1__ServerInfoResponse *info;
	ck_assert_int_eq(spreg_call(c, "ServerInfo", &si.base,
	    &spreg__v1__server_info_response__descriptor,
	    (ProtobufCMessage **) &info), SPREG_OK);
	Spreg__V1__ListChangesRequest lc = SPREG__V1__LIST_CHANGES_REQUEST__INIT;
	Spreg__V1__ListChangesResponse *changes;
	lc.limit = 1000;
	ck_assert_int_eq(spreg_call(c, "ListChanges", &lc.base,
	    &spreg__v1__list_changes_response__descriptor,
	    (ProtobufCMessage **) &changes), SPREG_OK);
	/* One change per vendor and per customer of the sample, and the
	 * one vendor written above. */
	Spreg__V1__ListCustomersRequest lcu =
	    SPREG__V1__LIST_CUSTOMERS_REQUEST__INIT;
	Spreg__V1__ListCustomersResponse *customers;
	ck_assert_int_eq(spreg_call(c, "ListCustomers", &lcu.base,
	    &spreg__v1__list_customers_response__descriptor,
	    (ProtobufCMessage **) &customers), SPREG_OK);
	ck_assert_uint_ge(customers->n_customers, 1);
	ck_assert_uint_eq(changes->n_changes,
	    info->subprocessors + customers->n_customers);
	ck_assert_uint_eq(info->last_seq, changes->n_changes);
	spreg_message_free(&customers->base);
	spreg_message_free(&changes->base);
	spreg_message_free(&info->base);
	spreg_client_close(c);
}
END_TEST

/* ---- raw requests, for many in flight on one connection ---- */

/* The one place this file builds an envelope by hand (spreg_call builds
 * the others). Caller sends or frees. */
static nng_msg *
envelope(const char *method, uint64_t request_id, const ProtobufCMessage *in)
{
	Spreg__V1__Request env = SPREG__V1__REQUEST__INIT;
	uint8_t payload[4096];
	nng_msg *m;

	env.method = (char *) method;
	env.request_id = request_id;
	env.actor = "test_server";
	env.token = test_token;
	ck_assert_uint_le(protobuf_c_message_get_packed_size(in),
	    sizeof(payload));
	env.payload.len = protobuf_c_message_pack(in, payload);
	env.payload.data = payload;
	size_t len = spreg__v1__request__get_packed_size(&env);
	ck_assert_int_eq(nng_msg_alloc(&m, len), 0);
	spreg__v1__request__pack(&env, nng_msg_body(m));
	return m;
}

/* A distinct custom category per n: each one a real write (fsync). */
static nng_msg *
put_category(int n)
{
	Spreg__V1__PutDataCategoryRequest in =
	    SPREG__V1__PUT_DATA_CATEGORY_REQUEST__INIT;
	Spreg__V1__DataCategory c = SPREG__V1__DATA_CATEGORY__INIT;
	char key[64], name[64];

	snprintf(key, sizeof(key), "user.contact.burst_%d", n);
	snprintf(name, sizeof(name), "Burst %d", n);
	c.key = key;
	c.parent = "user.contact";
	c.name = name;
	in.category = &c;
	return envelope("spreg.v1.Registry/PutDataCategory", (uint64_t) n + 1,
	    &in.base);
}

typedef struct conn {
	nng_socket sock;
	nng_ctx ctx[BURST];
	nng_aio *aio[BURST];
} conn;

static void
conn_open(conn *c)
{
	ck_assert_int_eq(nng_req0_open(&c->sock), 0);
	ck_assert_int_eq(nng_dial(c->sock, server.url, NULL, 0), 0);
	for (int i = 0; i < BURST; i++) {
		ck_assert_int_eq(nng_ctx_open(&c->ctx[i], c->sock), 0);
		ck_assert_int_eq(nng_aio_alloc(&c->aio[i], NULL, NULL), 0);
		nng_aio_set_timeout(c->aio[i], 20000);	/* a bound only */
	}
}

static void
conn_close(conn *c)
{
	for (int i = 0; i < BURST; i++) {
		nng_aio_free(c->aio[i]);
		nng_ctx_close(c->ctx[i]);
	}
	nng_close(c->sock);
}

static void
send_on(conn *c, int i, nng_msg *m)
{
	nng_aio_set_msg(c->aio[i], m);
	nng_ctx_send(c->ctx[i], c->aio[i]);
}

/* Waits for the send on context i, then for its reply; caller frees. */
static Spreg__V1__Reply *
reply_on(conn *c, int i)
{
	nng_aio_wait(c->aio[i]);
	ck_assert_int_eq(nng_aio_result(c->aio[i]), 0);
	nng_ctx_recv(c->ctx[i], c->aio[i]);
	nng_aio_wait(c->aio[i]);
	ck_assert_msg(nng_aio_result(c->aio[i]) == 0, "reply %d: %s", i,
	    nng_strerror(nng_aio_result(c->aio[i])));
	nng_msg *m = nng_aio_get_msg(c->aio[i]);
	Spreg__V1__Reply *r = spreg__v1__reply__unpack(NULL, nng_msg_len(m),
	    nng_msg_body(m));
	nng_msg_free(m);
	ck_assert_ptr_nonnull(r);
	return r;
}

/* Sends BURST writes at once on c; counts OK and refused replies (any
 * other answer fails the test). */
static void
burst(conn *c, int first, int *ok, int *refused, const char *refusal)
{
	*ok = *refused = 0;
	for (int i = 0; i < BURST; i++) {
		send_on(c, i, put_category(first + i));
	}
	for (int i = 0; i < BURST; i++) {
		Spreg__V1__Reply *r = reply_on(c, i);
		ck_assert_uint_eq(r->request_id, (uint64_t) (first + i) + 1);
		if (r->code == SPREG__V1__CODE__OK) {
			(*ok)++;
		} else {
			ck_assert_msg(r->code == SPREG__V1__CODE__RESOURCE_EXHAUSTED,
			    "request %d: %d %s", i, r->code, r->message);
			ck_assert_str_eq(r->message, refusal);
			(*refused)++;
		}
		spreg__v1__reply__free_unpacked(r, NULL);
	}
}

/* Custom categories stored, and the server's reported in-flight limit. */
static void
server_state(size_t *custom, uint32_t *inflight)
{
	spreg_client *c;
	Spreg__V1__ListDataCategoriesRequest lr =
	    SPREG__V1__LIST_DATA_CATEGORIES_REQUEST__INIT;
	Spreg__V1__ListDataCategoriesResponse *l;
	Spreg__V1__ServerInfoRequest si = SPREG__V1__SERVER_INFO_REQUEST__INIT;
	Spreg__V1__ServerInfoResponse *info;

	ck_assert_int_eq(test_client_open(server.url, false, &c), SPREG_OK);
	lr.parent = "user.contact";
	ck_assert_int_eq(spreg_call(c, "ListDataCategories", &lr.base,
	    &spreg__v1__list_data_categories_response__descriptor,
	    (ProtobufCMessage **) &l), SPREG_OK);
	*custom = 0;
	for (size_t i = 0; i < l->n_categories; i++) {
		*custom += l->categories[i]->custom;
	}
	spreg_message_free(&l->base);
	ck_assert_int_eq(spreg_call(c, "ServerInfo", &si.base,
	    &spreg__v1__server_info_response__descriptor,
	    (ProtobufCMessage **) &info), SPREG_OK);
	*inflight = info->max_inflight;
	ck_assert_uint_eq(info->max_message_bytes, 65536);
	spreg_message_free(&info->base);
	spreg_client_close(c);
}

/* --max-inflight 1: a burst on one connection is partly refused, by
 * name and unrun; one request at a time always passes, and another
 * connection is not refused for the first one's load. */
START_TEST(inflight_limit_per_connection)
{
	const char *refusal = "too many requests in flight on this "
	                      "connection (max 1)";
	conn a, b;
	int ok, refused;
	size_t custom;
	uint32_t limit;

	conn_open(&a);
	conn_open(&b);
	for (int i = 0; i < BURST; i++) {
		send_on(&a, i, put_category(i));
	}
	/* While a's burst is in flight, b sends one request at a time. */
	for (int i = 0; i < 4; i++) {
		send_on(&b, 0, put_category(100 + i));
		Spreg__V1__Reply *r = reply_on(&b, 0);
		ck_assert_msg(r->code == SPREG__V1__CODE__OK, "b: %d %s",
		    r->code, r->message);
		spreg__v1__reply__free_unpacked(r, NULL);
	}
	ok = refused = 0;
	for (int i = 0; i < BURST; i++) {
		Spreg__V1__Reply *r = reply_on(&a, i);
		if (r->code == SPREG__V1__CODE__OK) {
			ok++;
		} else {
			ck_assert_int_eq(r->code, SPREG__V1__CODE__RESOURCE_EXHAUSTED);
			ck_assert_str_eq(r->message, refusal);
			refused++;
		}
		spreg__v1__reply__free_unpacked(r, NULL);
	}
	ck_assert_int_ge(refused, 1);
	ck_assert_int_eq(ok + refused, BURST);
	int applied = ok + 4;

	/* Again, on its own: the counts went back to zero. */
	burst(&a, 200, &ok, &refused, refusal);
	ck_assert_int_ge(refused, 1);
	applied += ok;
	for (int i = 0; i < BURST; i++) {
		send_on(&a, i % 2, put_category(300 + i));
		Spreg__V1__Reply *r = reply_on(&a, i % 2);
		ck_assert_msg(r->code == SPREG__V1__CODE__OK, "sequential %d: "
		    "%d %s", i, r->code, r->message);
		spreg__v1__reply__free_unpacked(r, NULL);
	}
	applied += BURST;
	conn_close(&a);
	conn_close(&b);

	/* Refused requests did not run: only the answered ones wrote. */
	server_state(&custom, &limit);
	ck_assert_uint_eq(custom, (size_t) applied);
	ck_assert_uint_eq(limit, 1);
}
END_TEST

/* A client resends what it had in flight when its connection closed.
 * A resent write the server already applied is answered from its saved
 * reply, even when the in-flight limit would refuse it: a stored write
 * never comes back as RESOURCE_EXHAUSTED. */
START_TEST(resent_applied_write_never_refused)
{
	conn a;
	size_t custom;
	uint32_t limit;

	conn_open(&a);
	send_on(&a, 0, put_category(500));
	Spreg__V1__Reply *r = reply_on(&a, 0);
	ck_assert_int_eq(r->code, SPREG__V1__CODE__OK);
	spreg__v1__reply__free_unpacked(r, NULL);
	for (int i = 0; i < BURST; i++) {
		send_on(&a, i, put_category(500));
	}
	for (int i = 0; i < BURST; i++) {
		r = reply_on(&a, i);
		ck_assert_msg(r->code == SPREG__V1__CODE__OK, "resend %d: %d %s",
		    i, r->code, r->message);
		ck_assert_uint_eq(r->request_id, 501);
		spreg__v1__reply__free_unpacked(r, NULL);
	}
	conn_close(&a);
	server_state(&custom, &limit);
	ck_assert_uint_eq(custom, 1);
	ck_assert_uint_eq(limit, 1);
}
END_TEST

/* At the default limit (32) the same burst passes whole. */
START_TEST(inflight_default_takes_a_burst)
{
	conn a;
	int ok, refused;
	size_t custom;
	uint32_t limit;

	conn_open(&a);
	burst(&a, 0, &ok, &refused, "");
	conn_close(&a);
	ck_assert_int_eq(ok, BURST);
	ck_assert_int_eq(refused, 0);
	server_state(&custom, &limit);
	ck_assert_uint_eq(custom, BURST);
	ck_assert_uint_eq(limit, 32);
}
END_TEST

int
main(void)
{
	if (getenv("SPREGD") == NULL) {
		fprintf(stderr, "SPREGD must name the spregd binary\n");
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	Suite *su = suite_create("server");
	TCase *tc = tcase_create("process");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, client_get_and_not_found);
	tcase_add_test(tc, oversize_message_refused_server_serves_on);
	tcase_add_test(tc, concurrent_clients);
	tcase_add_test(tc, graceful_shutdown_and_restart);
	tcase_add_test(tc, inflight_default_takes_a_burst);
	suite_add_tcase(su, tc);
	tc = tcase_create("inflight");
	tcase_add_checked_fixture(tc, setup_inflight_1, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, inflight_limit_per_connection);
	tcase_add_test(tc, resent_applied_write_never_refused);
	suite_add_tcase(su, tc);
	SRunner *sr = srunner_create(su);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
