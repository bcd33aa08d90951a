/*
 * One client kept across crashes: spregd is killed with -9 and started
 * again on the same folder and the same URL, several times, over ipc://
 * and over tcp:// (port 0 first, then the port it was given), while
 * other threads keep calling on the same client. After each restart a
 * call must get through within a bounded number of attempts, each
 * bounded by the client's own deadline. Nothing here is timed: the
 * bound only keeps a client that never gets through from hanging the
 * suite.
 *
 * Between the kill and the restart, the moment that once left a client
 * unable to reach any later server is made to happen rather than waited
 * for: a server that dies after the client's connect and before its
 * accept. A listener on the server's address takes the client's next
 * connection into its backlog and is closed with it there, so the
 * client's handshake write fails (EPIPE, which nng 1.5.2 takes for its
 * own close and stops redialing: client/dial.h).
 */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "spreg/client.h"
#include "spreg/v1/registry.pb-c.h"
#include "support/record.h"
#include "support/spawn.h"

#define CYCLES 5
#define CALL_TIMEOUT_MS 1000
#define ATTEMPTS 30	/* calls after a restart before giving up */
#define LOADERS 4	/* threads calling on the client meanwhile */
#define RESTART_TRIES 3
#define PENDING_WAIT_MS 10000	/* for the client's next connect */

static char dir[SPAWN_PATH];
static spawn sv;
static spawn_opts so;
static spreg_client *client;
static atomic_bool loading;
static atomic_uint put_serial;

/* A put of a new vendor (a write: the writer, an fsync, a reply). */
static spreg_status
put(spreg_client *c, const char *prefix)
{
	Spreg__V1__PutSubprocessorRequest req =
	    SPREG__V1__PUT_SUBPROCESSOR_REQUEST__INIT;
	ProtobufCMessage *out = NULL;
	test_record r;

	test_record_init(&r, "hosting");
	unsigned n = atomic_fetch_add(&put_serial, 1);
	snprintf(r.id, sizeof(r.id), "%s-%u", prefix, n);
	snprintf(r.name, sizeof(r.name), "Vendor %s %u", prefix, n);
	req.subprocessor = &r.sp;
	spreg_status st = spreg_call(c, "PutSubprocessor", &req.base,
	    &spreg__v1__put_subprocessor_response__descriptor, &out);
	spreg_message_free(out);
	return st;
}

static spreg_status
server_info(spreg_client *c)
{
	Spreg__V1__ServerInfoRequest req = SPREG__V1__SERVER_INFO_REQUEST__INIT;
	ProtobufCMessage *out = NULL;

	spreg_status st = spreg_call(c, "ServerInfo", &req.base,
	    &spreg__v1__server_info_response__descriptor, &out);
	spreg_message_free(out);
	return st;
}

/* Calls on the shared client until told to stop, whatever they return:
 * some are in flight at each kill. */
static void *
loader(void *arg)
{
	(void) arg;
	for (unsigned i = 0; atomic_load(&loading); i++) {
		if (i % 2 == 0) {
			put(client, "load");
		} else {
			server_info(client);
		}
	}
	return NULL;
}

/* The number of the call (1..ATTEMPTS) that first got through after a
 * (re)start, or 0 when none did; the last failure is said. */
static int
calls_get_through(int cycle)
{
	spreg_status st = SPREG_UNKNOWN;

	for (int i = 1; i <= ATTEMPTS; i++) {
		st = i % 2 == 0 ? server_info(client) : put(client, "main");
		if (st == SPREG_OK) {
			return i;
		}
	}
	printf("cycle %d: %d calls failed, the last %s: %s\n", cycle, ATTEMPTS,
	    spreg_status_name(st), spreg_client_error(client));
	return 0;
}

/* A listening socket on url (ipc:// or tcp://127.0.0.1:PORT), or -1. */
static int
listen_on(const char *url)
{
	struct sockaddr_un un = {.sun_family = AF_UNIX};
	struct sockaddr_in in = {.sin_family = AF_INET};
	struct sockaddr *sa = (struct sockaddr *) &un;
	socklen_t len = sizeof(un);
	int one = 1;

	if (strncmp(url, "ipc://", 6) == 0) {
		ck_assert_uint_lt(strlen(url + 6), sizeof(un.sun_path));
		memcpy(un.sun_path, url + 6, strlen(url + 6) + 1);
		unlink(un.sun_path);	/* the killed server's */
	} else {
		const char *port = strrchr(url, ':');
		ck_assert_ptr_nonnull(port);
		in.sin_port = htons((uint16_t) atoi(port + 1));
		in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sa = (struct sockaddr *) &in;
		len = sizeof(in);
	}
	int fd = socket(sa->sa_family, SOCK_STREAM, 0);
	if (fd < 0) {
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, sa, len) != 0 || listen(fd, 8) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* A server that dies with the client's connection in its backlog; true
 * when one was there. */
static bool
die_with_a_connection_pending(const char *url)
{
	int fd = listen_on(url);

	ck_assert_msg(fd >= 0, "cannot listen on %s", url);
	struct pollfd p = {.fd = fd, .events = POLLIN};
	bool pending = poll(&p, 1, PENDING_WAIT_MS) == 1;
	close(fd);	/* unaccepted: the client's peer is gone */
	if (strncmp(url, "ipc://", 6) == 0) {
		unlink(url + 6);
	}
	return pending;
}

/* Starts spregd on the same data and URL again; a tcp:// port may be
 * held for a moment by the client's own connect to it (a TCP
 * simultaneous open to itself, which nng then drops). */
static void
restart(void)
{
	bool started = false;

	for (int i = 0; i < RESTART_TRIES && !started; i++) {
		started = spawn_start(&sv, &so);
	}
	ck_assert_msg(started, "spregd did not start again");
}

static void
crash_cycles(bool tcp)
{
	pthread_t loaders[LOADERS];
	char url[sizeof(sv.url)];

	ck_assert(spawn_mkdtemp(dir, sizeof(dir), "spreg-reconnect"));
	so = (spawn_opts) {.dir = dir, .tcp = tcp,
	    .args = (const char *[]) {"--no-sample", NULL}};
	ck_assert_msg(spawn_start(&sv, &so), "spregd did not start");
	snprintf(url, sizeof(url), "%s", sv.url);
	so.listen = url;	/* restarts on the URL it was given */
	ck_assert_int_eq(spreg_client_open(url, true, &client), SPREG_OK);
	spreg_client_set_token(client, test_token);
	spreg_client_set_timeout(client, CALL_TIMEOUT_MS);
	ck_assert_int_ne(calls_get_through(0), 0);

	atomic_store(&loading, true);
	for (int i = 0; i < LOADERS; i++) {
		ck_assert_int_eq(pthread_create(&loaders[i], NULL, loader,
		                     NULL), 0);
	}
	int failures = 0;
	for (int cycle = 1; cycle <= CYCLES; cycle++) {
		ck_assert_int_ne(spawn_stop(&sv, SIGKILL), -1);
		bool pending = die_with_a_connection_pending(url);
		restart();
		ck_assert_str_eq(sv.url, url);
		int took = calls_get_through(cycle);
		printf("# %s cycle %d: a connection %s; through at call %d\n",
		    tcp ? "tcp" : "ipc", cycle,
		    pending ? "died unaccepted" : "never came", took);
		fflush(stdout);	/* a failed check ends the process */
		failures += took == 0;
	}
	atomic_store(&loading, false);
	for (int i = 0; i < LOADERS; i++) {
		pthread_join(loaders[i], NULL);
	}
	ck_assert_msg(failures == 0, "%d of %d restarts: the client never got "
	                             "through", failures, CYCLES);
	spreg_client_close(client);
	client = NULL;
	int status = spawn_stop(&sv, SIGTERM);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "spregd stops cleanly (status %d)", status);
	spawn_rmrf(dir);
}

START_TEST(across_kills_ipc)
{
	crash_cycles(false);
}
END_TEST

START_TEST(across_kills_tcp)
{
	crash_cycles(true);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("reconnect");
	TCase *tc = tcase_create("kill -9");

	/* Each restart may take ATTEMPTS calls of about 2 s at worst. */
	tcase_set_timeout(tc, CYCLES * (ATTEMPTS * 2 + 30) + 60);
	tcase_add_test(tc, across_kills_ipc);
	tcase_add_test(tc, across_kills_tcp);
	suite_add_tcase(s, tc);
	SRunner *r = srunner_create(s);
	srunner_set_fork_status(r, CK_FORK);
	srunner_run_all(r, CK_NORMAL);
	int failed = srunner_ntests_failed(r);
	srunner_free(r);
	return failed == 0 ? 0 : 1;
}
