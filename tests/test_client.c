/*
 * The client's calls return by their deadline whatever the peer and nng
 * do: a peer that takes the request and never answers, and one killed
 * with -9 while the call waits, each with nng's own timeout left off
 * (client_aio_expiry false, as when nng's expiry threads never ran).
 * The calls run on a thread and a generous watchdog asserts that they
 * return at all: nothing here is a speed threshold.
 */
#include <check.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "client/dial.h"
#include "spreg/client.h"
#include "spreg/v1/registry.pb-c.h"
#include "support/spawn.h"

#define CALL_TIMEOUT_MS 300
#define WATCHDOG_S 60	/* "returns at all", not how fast */

typedef struct call {
	spreg_client *c;
	spreg_status st;
	char error[256];	/* the call's message (per thread) */
	bool returned;
	pthread_mutex_t mu;
	pthread_cond_t cv;
} call;

static void *
call_get(void *arg)
{
	call *k = arg;
	Spreg__V1__GetSubprocessorRequest req =
	    SPREG__V1__GET_SUBPROCESSOR_REQUEST__INIT;
	ProtobufCMessage *resp = NULL;

	req.id = "vendor-1";
	spreg_status st = spreg_call(k->c, "GetSubprocessor", &req.base,
	    &spreg__v1__subprocessor__descriptor, &resp);
	spreg_message_free(resp);
	pthread_mutex_lock(&k->mu);
	k->st = st;
	snprintf(k->error, sizeof(k->error), "%s", spreg_client_error(k->c));
	k->returned = true;
	pthread_cond_signal(&k->cv);
	pthread_mutex_unlock(&k->mu);
	return NULL;
}

/* Starts a Get on c in a thread. */
static void
call_start(call *k, spreg_client *c, pthread_t *th)
{
	memset(k, 0, sizeof(*k));
	k->c = c;
	pthread_mutex_init(&k->mu, NULL);
	pthread_cond_init(&k->cv, NULL);
	ck_assert_int_eq(pthread_create(th, NULL, call_get, k), 0);
}

/* The call's status once it returned; fails when it did not return
 * within the watchdog (the thread is left: the test process ends). */
static spreg_status
call_finish(call *k, pthread_t th)
{
	struct timespec at;

	clock_gettime(CLOCK_REALTIME, &at);
	at.tv_sec += WATCHDOG_S;
	pthread_mutex_lock(&k->mu);
	while (!k->returned &&
	    pthread_cond_timedwait(&k->cv, &k->mu, &at) == 0) {
	}
	bool returned = k->returned;
	pthread_mutex_unlock(&k->mu);
	ck_assert_msg(returned, "the call did not return within %d s of "
	    "its %d ms timeout", WATCHDOG_S, CALL_TIMEOUT_MS);
	pthread_join(th, NULL);
	return k->st;
}

static spreg_client *
client_open(const char *url)
{
	spreg_client *c = NULL;

	for (int i = 0; i < 500; i++) {	/* the peer may still be starting */
		if (spreg_client_open(url, false, &c) == SPREG_OK) {
			break;
		}
		usleep(20000);
	}
	ck_assert_ptr_nonnull(c);
	spreg_client_set_timeout(c, CALL_TIMEOUT_MS);
	return c;
}

/* A REP socket that takes requests and never answers. */
START_TEST(silent_peer)
{
	char dir[SPAWN_PATH], url[SPAWN_PATH + 16];
	nng_socket rep;
	pthread_t th;
	call k;

	ck_assert(spawn_mkdtemp(dir, sizeof(dir), "spreg-client"));
	snprintf(url, sizeof(url), "ipc://%s/peer.ipc", dir);
	ck_assert_int_eq(nng_rep0_open(&rep), 0);
	ck_assert_int_eq(nng_listen(rep, url, NULL, 0), 0);

	client_aio_expiry = _i == 0;	/* nng's timeout on, then off */
	spreg_client *c = client_open(url);
	call_start(&k, c, &th);
	ck_assert_int_eq(call_finish(&k, th), SPREG_DEADLINE_EXCEEDED);
	ck_assert_str_ne(k.error, "");
	spreg_client_close(c);
	nng_close(rep);
	spawn_rmrf(dir);
}
END_TEST

/* A peer process killed with -9 while the call waits for its answer. */
START_TEST(peer_killed)
{
	char dir[SPAWN_PATH], url[SPAWN_PATH + 16], path[SPAWN_PATH + 16];
	int pipefd[2];
	pthread_t th;
	call k;

	ck_assert(spawn_mkdtemp(dir, sizeof(dir), "spreg-client"));
	snprintf(url, sizeof(url), "ipc://%s/peer.ipc", dir);
	snprintf(path, sizeof(path), "%s/got", dir);
	ck_assert_int_eq(pipe(pipefd), 0);
	pid_t pid = fork();	/* before this process uses nng */
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		nng_socket rep;
		nng_msg *m;
		close(pipefd[0]);
		if (nng_rep0_open(&rep) != 0 ||
		    nng_listen(rep, url, NULL, 0) != 0) {
			_exit(1);
		}
		(void) !write(pipefd[1], "L", 1);	/* listening */
		if (nng_recvmsg(rep, &m, 0) == 0) {
			(void) !write(pipefd[1], "R", 1);	/* has it */
		}
		pause();
		_exit(0);
	}
	close(pipefd[1]);
	char b = 0;
	ck_assert_int_eq(read(pipefd[0], &b, 1), 1);
	ck_assert_int_eq(b, 'L');

	client_aio_expiry = false;
	spreg_client *c = client_open(url);
	call_start(&k, c, &th);
	ck_assert_int_eq(read(pipefd[0], &b, 1), 1);	/* the peer has it */
	ck_assert_int_eq(b, 'R');
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	spreg_status st = call_finish(&k, th);
	ck_assert_msg(st == SPREG_DEADLINE_EXCEEDED || st == SPREG_UNAVAILABLE,
	    "status %d", (int) st);
	spreg_client_close(c);
	close(pipefd[0]);
	spawn_rmrf(dir);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("client");
	TCase *tc = tcase_create("deadline");

	tcase_set_timeout(tc, 2 * WATCHDOG_S + 30);
	tcase_add_loop_test(tc, silent_peer, 0, 2);
	tcase_add_test(tc, peer_killed);
	suite_add_tcase(s, tc);
	SRunner *r = srunner_create(s);
	srunner_run_all(r, CK_NORMAL);
	int failed = srunner_ntests_failed(r);
	srunner_free(r);
	return failed == 0 ? 0 : 1;
}
