/*
 * Integration tests of time: a real spregd-test (spregd with the test
 * hooks of core/date.h) whose wall clock is offset from the client's by
 * a file the test writes, and stepped while it runs. The machine's clock
 * is never touched, and no outcome rests on how long anything took.
 */
#include <check.h>
#include <fcntl.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "spreg/client.h"
#include "spreg/v1/registry.pb-c.h"
#include "spreg/v1/rpc.pb-c.h"
#include "support/spawn.h"
#include "test_token.h"

#define HOUR_MS (3600LL * 1000)
#define TIME_BUF 32		/* an RFC 3339 time and its NUL */
#define REPLY_BOUND_MS 30000	/* a bound on waiting, never a verdict */

static char dir[64];
static char data[128];
static spawn server;
static int runs;		/* server processes started, for log names */

/* Steps the server's wall clock to offset_ms from the real one (it
 * reads the file at every reading of its clock). */
static void
set_clock(long long offset_ms)
{
	char path[128], tmp[140];

	snprintf(path, sizeof(path), "%s/clock", dir);
	snprintf(tmp, sizeof(tmp), "%s.new", path);
	FILE *f = fopen(tmp, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "%lld\n", offset_ms);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(rename(tmp, path), 0);
}

/* Starts spregd-test on the test's folder; its log goes to
 * DIR/server-N.log (N from 1). write_delay_ms > 0 stalls its writer. */
static void
start_server(int write_delay_ms)
{
	char clock[128], log[128], delay[32];
	const char *env[] = {"SPREG_TEST_CLOCK_FILE", clock,
	    "SPREG_TEST_WRITE_DELAY_MS", delay, NULL};
	spawn_opts o = {.dir = dir, .bin_env = "SPREGD_TEST", .log = log,
	    .log_truncate = true, .env = env};

	snprintf(clock, sizeof(clock), "%s/clock", dir);
	snprintf(log, sizeof(log), "%s/server-%d.log", dir, ++runs);
	snprintf(delay, sizeof(delay), "%d", write_delay_ms);
	ck_assert_msg(spawn_start(&server, &o), "spregd-test did not start");
}

static void
stop_server(void)
{
	ck_assert_int_ne(spawn_stop(&server, SIGTERM), -1);
}

static void
setup(void)
{
	ck_assert(spawn_mkdtemp(dir, sizeof(dir), "spreg-clock"));
	snprintf(data, sizeof(data), "%s/var", dir);
	runs = 0;
	set_clock(0);
}

static void
teardown(void)
{
	spawn_stop(&server, SIGKILL);
	ck_assert(spawn_rmrf(dir));
}

/* Lines of server log n holding text. */
static int
log_count(int n, const char *text)
{
	char path[128], line[1024];
	int count = 0;

	snprintf(path, sizeof(path), "%s/server-%d.log", dir, n);
	FILE *f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		count += strstr(line, text) != NULL;
	}
	fclose(f);
	return count;
}

/* ---- one request, by hand: its request id and timeout chosen here ---- */

typedef struct put {
	Spreg__V1__PutSubprocessorRequest req;
	Spreg__V1__Subprocessor sp;
	Spreg__V1__Location loc, *locs[1];
	char *cats[1];
} put;

static void
put_init(put *p, const char *id)
{
	spreg__v1__put_subprocessor_request__init(&p->req);
	spreg__v1__subprocessor__init(&p->sp);
	spreg__v1__location__init(&p->loc);
	p->sp.id = (char *) id;
	p->sp.name = "Clock Test Vendor";
	p->cats[0] = "user.contact.email";
	p->sp.data_categories = p->cats;
	p->sp.n_data_categories = 1;
	p->loc.country = "DE";
	p->loc.role = "hosting";
	p->locs[0] = &p->loc;
	p->sp.locations = p->locs;
	p->sp.n_locations = 1;
	p->sp.effective_from = "2026-01-01";
	p->req.subprocessor = &p->sp;
	p->req.create_only = true;	/* a second run shows */
}

/* Sends a create_only put of id with request_id and timeout_ms on a
 * fresh REQ socket and waits (within a bound) for the server's reply.
 * Returns its code; *seq and time (TIME_BUF) from its change when OK. */
static spreg_status
raw_put(const char *id, uint64_t request_id, uint32_t timeout_ms,
    uint64_t *seq, char *time)
{
	Spreg__V1__Request env = SPREG__V1__REQUEST__INIT;
	uint8_t payload[4096];
	nng_socket sock;
	nng_msg *m;
	put p;

	put_init(&p, id);
	env.method = "spreg.v1.Registry/PutSubprocessor";
	env.request_id = request_id;
	env.timeout_ms = timeout_ms;
	env.actor = "test_clock";
	env.token = test_token;
	env.payload.len = protobuf_c_message_pack(&p.req.base, payload);
	env.payload.data = payload;
	ck_assert_int_eq(nng_req0_open(&sock), 0);
	ck_assert_int_eq(nng_setopt_ms(sock, NNG_OPT_RECVTIMEO,
	    REPLY_BOUND_MS), 0);
	ck_assert_int_eq(nng_dial(sock, server.url, NULL, 0), 0);
	size_t len = spreg__v1__request__get_packed_size(&env);
	ck_assert_int_eq(nng_msg_alloc(&m, len), 0);
	spreg__v1__request__pack(&env, nng_msg_body(m));
	ck_assert_int_eq(nng_sendmsg(sock, m, 0), 0);
	ck_assert_int_eq(nng_recvmsg(sock, &m, 0), 0);
	nng_close(sock);

	Spreg__V1__Reply *r = spreg__v1__reply__unpack(NULL, nng_msg_len(m),
	    nng_msg_body(m));
	nng_msg_free(m);
	ck_assert_ptr_nonnull(r);
	spreg_status st = (spreg_status) r->code;
	if (st == SPREG_OK) {
		Spreg__V1__PutSubprocessorResponse *out =
		    spreg__v1__put_subprocessor_response__unpack(NULL,
		        r->payload.len, r->payload.data);
		ck_assert_ptr_nonnull(out);
		ck_assert_ptr_nonnull(out->change);
		*seq = out->change->seq;
		snprintf(time, TIME_BUF, "%s", out->change->time);
		spreg__v1__put_subprocessor_response__free_unpacked(out, NULL);
	}
	spreg__v1__reply__free_unpacked(r, NULL);
	return st;
}

static spreg_status
get(spreg_client *c, const char *id)
{
	Spreg__V1__GetSubprocessorRequest in =
	    SPREG__V1__GET_SUBPROCESSOR_REQUEST__INIT;
	Spreg__V1__GetSubprocessorResponse *out = NULL;

	in.id = (char *) id;
	spreg_status st = spreg_call(c, "GetSubprocessor", &in.base,
	    &spreg__v1__get_subprocessor_response__descriptor,
	    (ProtobufCMessage **) &out);
	spreg_message_free(out ? &out->base : NULL);
	return st;
}

/* ---- the cases ------------------------------------------------------ */

/* The server's clock 11 s ahead of the client's, then 11 s behind: the
 * library and the spreg command are served either way. (An absolute
 * deadline made every call of the first half fail: exit 4.) */
START_TEST(clocks_eleven_seconds_apart_calls_succeed)
{
	static const long long offsets[] = {11000, -11000};
	char cmd[2048], id[32];
	uint64_t seq;
	char time[TIME_BUF];

	start_server(0);
	for (size_t i = 0; i < 2; i++) {
		spreg_client *c;
		set_clock(offsets[i]);
		ck_assert_int_eq(test_client_open(server.url, false, &c), SPREG_OK);
		spreg_client_set_timeout(c, 5000);
		ck_assert_msg(get(c, "stripe") == SPREG_OK, "offset %lld: %s",
		    offsets[i], spreg_client_error(c));
		spreg_client_close(c);
		snprintf(id, sizeof(id), "skew-%zu", i);
		ck_assert_int_eq(raw_put(id, 100 + i, 5000, &seq, time),
		    SPREG_OK);

		snprintf(cmd, sizeof(cmd), "SPREG_SERVER='%s' "
		    "SPREG_TOKEN_FILE='%s/admin.token' '%s/src/spreg' info "
		    ">/dev/null", server.url, data, getenv("SPREG_BUILD"));
		int status = system(cmd);
		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		    "offset %lld: spreg info exit %d", offsets[i],
		    WEXITSTATUS(status));
	}
}
END_TEST

/* A write that waits 1.5 s in a stalled writer with a 300 ms timeout is
 * answered DEADLINE_EXCEEDED and not applied, even with the server's
 * clock 11 s behind (where an absolute deadline looked far away). */
START_TEST(stalled_write_past_its_timeout_is_not_applied)
{
	spreg_client *c;
	uint64_t seq;
	char time[TIME_BUF];

	set_clock(-11000);
	start_server(1500);
	ck_assert_int_eq(raw_put("too-late", 200, 300, &seq, time),
	    SPREG_DEADLINE_EXCEEDED);
	ck_assert_int_eq(test_client_open(server.url, false, &c), SPREG_OK);
	ck_assert_int_eq(get(c, "too-late"), SPREG_NOT_FOUND);
	spreg_client_close(c);
	/* A timeout longer than the stall: applied. */
	ck_assert_int_eq(raw_put("in-time", 201, 20000, &seq, time), SPREG_OK);
}
END_TEST

/* The clock steps forward 25 h: a request id saved a moment ago is still
 * answered from its saved reply, not applied again — after another
 * write (which forgets expired ids) and after a restart. */
START_TEST(clock_step_forward_keeps_request_ids)
{
	uint64_t seq, again, other;
	char time[TIME_BUF];

	start_server(0);
	ck_assert_int_eq(raw_put("once-only", 300, 5000, &seq, time), SPREG_OK);
	set_clock(25 * HOUR_MS);
	ck_assert_int_eq(raw_put("another", 301, 5000, &other, time), SPREG_OK);
	ck_assert_uint_gt(other, seq);
	ck_assert_int_eq(raw_put("once-only", 300, 5000, &again, time),
	    SPREG_OK);
	ck_assert_uint_eq(again, seq);

	stop_server();
	start_server(0);
	ck_assert_int_eq(raw_put("third", 302, 5000, &other, time), SPREG_OK);
	ck_assert_int_eq(raw_put("once-only", 300, 5000, &again, time),
	    SPREG_OK);
	ck_assert_uint_eq(again, seq);
}
END_TEST

/* The clock steps back an hour: change times stay at the last one, with
 * one warning saying by how much; a restart on the stepped-back clock
 * keeps to the log's last time. */
START_TEST(clock_step_back_times_never_decrease)
{
	char first[TIME_BUF], time[TIME_BUF];
	uint64_t seq;

	start_server(0);
	ck_assert_int_eq(raw_put("before-step", 400, 5000, &seq, first),
	    SPREG_OK);
	set_clock(-HOUR_MS);
	for (int i = 0; i < 3; i++) {
		char id[32];
		snprintf(id, sizeof(id), "after-step-%d", i);
		ck_assert_int_eq(raw_put(id, 401 + (uint64_t) i, 5000, &seq,
		    time), SPREG_OK);
		ck_assert_msg(strcmp(time, first) >= 0, "%s before %s", time,
		    first);
	}
	ck_assert_int_eq(log_count(1, "the clock stepped back by"), 1);
	ck_assert_int_eq(log_count(1, "the clock stepped back by 3"), 1);

	stop_server();
	start_server(0);
	ck_assert_int_eq(raw_put("after-restart", 410, 5000, &seq, time),
	    SPREG_OK);
	ck_assert_msg(strcmp(time, first) >= 0, "%s before %s", time, first);
	ck_assert_int_eq(log_count(2, "the clock stepped back by"), 1);

	/* Every change of the log, in seq order, at a time no earlier than
	 * the one before. */
	spreg_client *c;
	Spreg__V1__ListChangesRequest in = SPREG__V1__LIST_CHANGES_REQUEST__INIT;
	Spreg__V1__ListChangesResponse *out;
	ck_assert_int_eq(test_client_open(server.url, false, &c), SPREG_OK);
	in.limit = 1000;
	ck_assert_int_eq(spreg_call(c, "ListChanges", &in.base,
	    &spreg__v1__list_changes_response__descriptor,
	    (ProtobufCMessage **) &out), SPREG_OK);
	ck_assert_uint_ge(out->n_changes, 5);
	for (size_t i = 1; i < out->n_changes; i++) {
		ck_assert_msg(strcmp(out->changes[i]->time,
		    out->changes[i - 1]->time) >= 0, "seq %llu at %s",
		    (unsigned long long) out->changes[i]->seq,
		    out->changes[i]->time);
	}
	spreg_message_free(&out->base);
	spreg_client_close(c);
}
END_TEST

int
main(void)
{
	if (getenv("SPREGD_TEST") == NULL || getenv("SPREG_BUILD") == NULL) {
		fprintf(stderr, "SPREGD_TEST must name spregd-test\n");
		return 1;
	}
	Suite *s = suite_create("clock");
	TCase *tc = tcase_create("clock");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, clocks_eleven_seconds_apart_calls_succeed);
	tcase_add_test(tc, stalled_write_past_its_timeout_is_not_applied);
	tcase_add_test(tc, clock_step_forward_keeps_request_ids);
	tcase_add_test(tc, clock_step_back_times_never_decrease);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
