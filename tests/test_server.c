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
#include "test_token.h"
#include "spreg/v1/registry.pb-c.h"
#include "spreg/v1/rpc.pb-c.h"

static char dir[64];
static char url[600];
static pid_t server;

static void
sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long) (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static void
start_server(void)
{
	char data[128], listen[128], ready[128], pub[128];

	snprintf(data, sizeof(data), "%s/var", dir);
	snprintf(listen, sizeof(listen), "ipc://%s/s.ipc", dir);
	snprintf(pub, sizeof(pub), "ipc://%s/p.ipc", dir);
	snprintf(ready, sizeof(ready), "%s/ready", dir);
	unlink(ready);
	server = fork();
	ck_assert_int_ge(server, 0);
	if (server == 0) {
		const char *bin = getenv("SPREGD");
		execl(bin, bin, "--data", data, "--listen", listen,
		    "--publish", pub,
		    "--ready-file", ready, "--max-message", "65536",
		    "--log-level", "warn", (char *) NULL);
		_exit(127);
	}
	for (int i = 0; i < 500; i++) {
		FILE *f = fopen(ready, "r");
		if (f != NULL) {
			bool got = fgets(url, sizeof(url), f) != NULL;
			fclose(f);
			if (got) {
				url[strcspn(url, "\n")] = '\0';
				ck_assert(test_token_load(data));
				return;
			}
		}
		sleep_ms(20);
	}
	ck_abort_msg("spregd did not start");
}

static int
stop_server(int sig)
{
	int status;
	kill(server, sig);
	ck_assert_int_eq(waitpid(server, &status, 0), server);
	server = 0;
	return status;
}

static void
setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/spreg-srv-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	start_server();
}

static void
teardown(void)
{
	char cmd[128];
	if (server > 0) {
		stop_server(SIGKILL);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
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

	ck_assert_int_eq(test_client_open(url, false, &c), SPREG_OK);
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
	ck_assert_int_eq(nng_dial(s, url, NULL, 0), 0);
	nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, 500);
	ck_assert_int_eq(nng_msg_alloc(&m, 200000), 0);
	memset(nng_msg_body(m), 0x0a, 200000);
	ck_assert_int_eq(nng_sendmsg(s, m, 0), 0);
	ck_assert_int_ne(nng_recvmsg(s, &m, 0), 0);	/* no answer */
	nng_close(s);

	spreg_client *c;
	Spreg__V1__GetSubprocessorResponse *r;
	ck_assert_int_eq(test_client_open(url, false, &c), SPREG_OK);
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

	if (test_client_open(url, false, &c) != SPREG_OK) {
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
	ck_assert_int_eq(test_client_open(url, false, &c), SPREG_OK);
	ck_assert_int_eq(spreg_call(c, "PutSubprocessor", &in.base,
	    &spreg__v1__put_subprocessor_response__descriptor, &out),
	    SPREG_OK);
	spreg_message_free(out);
	spreg_client_close(c);

	int status = stop_server(SIGTERM);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);

	/* A client of a stopped server learns it at once. */
	ck_assert_int_eq(test_client_open(url, false, &c), SPREG_UNAVAILABLE);

	start_server();
	Spreg__V1__GetSubprocessorResponse *r;
	ck_assert_int_eq(test_client_open(url, false, &c), SPREG_OK);
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
	ck_assert_uint_eq(changes->n_changes, info->subprocessors);
	ck_assert_uint_eq(info->last_seq, info->subprocessors);
	spreg_message_free(&changes->base);
	spreg_message_free(&info->base);
	spreg_client_close(c);
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
	suite_add_tcase(su, tc);
	SRunner *sr = srunner_create(su);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
