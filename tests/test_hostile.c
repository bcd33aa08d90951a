/*
 * Hostile peers and signals against a real spregd (issue 12, items 1
 * and 5). Each scenario states the bound it asserts:
 *
 * greedy      one raw connection pipelines 30,000 list requests and
 *             never reads a reply; a second client's 30 calls alongside
 *             must each be answered OK within its 5 s timeout, and the
 *             server must close the greedy connection.
 * large       100 pipelined large list requests (~2.4 MB replies), never
 *             read: the connection is muted and then closed, and
 *             spregd's VmRSS grows by less than 192 MiB (measured: about
 *             125 MiB; on the main before this test, 692 MiB: every
 *             context held an unsent reply). The queued replies are at
 *             most --max-queued-bytes (16 MiB here); the rest is replies
 *             being built and freed.
 * conns       --max-connections 64 --max-connections-per-peer 16: of 20
 *             connections from one address exactly 4 are closed at
 *             once; of 60 more from four addresses exactly 12.
 * partial     200 connections each send all but 100 bytes of a 1 MiB
 *             message: VmRSS may grow by less than 64 x 1 MiB + 48 MiB,
 *             and every connection, and 20 half-open ones (10 that never
 *             finish the SP handshake, 10 that send nothing after it),
 *             is closed (--idle-timeout 2; nng's 10 s handshake limit).
 * signals     20 rounds: writers, readers and a greedy peer at work,
 *             SIGTERM; spregd must exit with status 0 within 30 s each
 *             time (--shutdown-timeout 20, --send-timeout 1), and every
 *             write acknowledged in any round is there after a restart.
 *             SIGHUP is logged and ignored.
 *
 * The latency bound is a correctness property; the latencies measured
 * are printed, never compared.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "spreg/client.h"
#include "spreg/v1/registry.pb-c.h"
#include "spreg/v1/rpc.pb-c.h"
#include "support/check.h"
#include "support/rawsp.h"
#include "support/spawn.h"
#include "test_token.h"

#define CALL_TIMEOUT_MS 5000	/* the latency bound of the greedy test */
#define EXIT_BOUND_MS 30000	/* the SIGTERM bound */
#define ROUNDS 20
#define STATUS_ACTIVE SPREG__V1__SUBPROCESSOR_STATUS__SUBPROCESSOR_STATUS_ACTIVE

static char dir[64];

/* --- The server ----------------------------------------------------- */

typedef spawn server;

/* Starts spregd on tcp://127.0.0.1:0 with data in dir/name and the
 * extra flags (NULL-terminated); its stderr goes to dir/name.log. */
static bool
server_start(server *sv, const char *name, const char *const *extra)
{
	char log[160], asan[512];
	const char *was = getenv("ASAN_OPTIONS");
	/* Under AddressSanitizer freed memory waits in a quarantine
	 * (256 MiB) before reuse: VmRSS would measure that, not what the
	 * server holds. */
	const char *env[] = {"ASAN_OPTIONS", asan, NULL};
	spawn_opts o = {.dir = dir, .name = name, .tcp = true,
	    .log_level = "info", .log = log, .env = env, .args = extra};

	snprintf(log, sizeof(log), "%s/%s.log", dir, name);
	snprintf(asan, sizeof(asan), "%s%squarantine_size_mb=0",
	    was != NULL ? was : "", was != NULL ? ":" : "");
	return spawn_start(sv, &o);
}

/* Lines of the server's log holding text. */
static int
log_count(const server *sv, const char *text)
{
	char line[1024];
	int found = 0;
	FILE *f = fopen(sv->log, "r");

	while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
		found += strstr(line, text) != NULL;
	}
	if (f != NULL) {
		fclose(f);
	}
	return found;
}

static bool
log_has(const server *sv, const char *text)
{
	return log_count(sv, text) > 0;
}

/* --- Requests --------------------------------------------------------- */

typedef struct buf {
	uint8_t *data;
	size_t len;
} buf;

/* A packed Request envelope for method with payload m, and the token. */
static buf
envelope(const char *method, const ProtobufCMessage *m)
{
	Spreg__V1__Request env = SPREG__V1__REQUEST__INIT;
	buf p, b;

	p.len = protobuf_c_message_get_packed_size(m);
	p.data = malloc(p.len + 1);
	protobuf_c_message_pack(m, p.data);
	env.method = (char *) method;
	env.request_id = 0;
	env.token = test_token;
	env.payload.data = p.data;
	env.payload.len = p.len;
	b.len = spreg__v1__request__get_packed_size(&env);
	b.data = malloc(b.len);
	spreg__v1__request__pack(&env, b.data);
	free(p.data);
	return b;
}

static buf
list_envelope(uint32_t page_size)
{
	Spreg__V1__ListSubprocessorsRequest l =
	    SPREG__V1__LIST_SUBPROCESSORS_REQUEST__INIT;
	l.page_size = page_size;
	return envelope("spreg.v1.Registry/ListSubprocessors", &l.base);
}

static spreg_status
put_vendor(spreg_client *c, const char *id, const char *purpose)
{
	char *services[] = {"app"}, *cats[] = {"user.contact.email"};
	Spreg__V1__Location loc = SPREG__V1__LOCATION__INIT, *locs[] = {&loc};
	Spreg__V1__Subprocessor sp = SPREG__V1__SUBPROCESSOR__INIT;
	Spreg__V1__PutSubprocessorRequest req =
	    SPREG__V1__PUT_SUBPROCESSOR_REQUEST__INIT;
	ProtobufCMessage *out = NULL;

	loc.country = "DE";
	loc.role = "hosting";
	sp.id = (char *) id;
	sp.name = (char *) id;
	sp.purpose = (char *) purpose;
	sp.services = services;
	sp.n_services = 1;
	sp.data_categories = cats;
	sp.n_data_categories = 1;
	sp.locations = locs;
	sp.n_locations = 1;
	sp.status = STATUS_ACTIVE;
	sp.effective_from = "2020-01-01";
	req.subprocessor = &sp;
	spreg_status st = spreg_call(c, "PutSubprocessor", &req.base,
	    &spreg__v1__put_subprocessor_response__descriptor, &out);
	spreg_message_free(out);
	return st;
}

static spreg_status
get_vendor(spreg_client *c, const char *id)
{
	Spreg__V1__GetSubprocessorRequest g =
	    SPREG__V1__GET_SUBPROCESSOR_REQUEST__INIT;
	ProtobufCMessage *out = NULL;

	g.id = (char *) id;
	spreg_status st = spreg_call(c, "GetSubprocessor", &g.base,
	    &spreg__v1__get_subprocessor_response__descriptor, &out);
	spreg_message_free(out);
	return st;
}

static spreg_status
server_info(spreg_client *c, Spreg__V1__ServerInfoResponse **out)
{
	Spreg__V1__ServerInfoRequest i = SPREG__V1__SERVER_INFO_REQUEST__INIT;
	return spreg_call(c, "ServerInfo", &i.base,
	    &spreg__v1__server_info_response__descriptor,
	    (ProtobufCMessage **) out);
}

/* n calls (Get, ServerInfo, Put in turn) from a well-behaved client,
 * each timed; returns how many were answered OK, and the slowest. */
static int
polite_calls(const server *sv, int n, const char *tag, int64_t *max_ms)
{
	spreg_client *c;
	int ok = 0;

	*max_ms = 0;
	if (test_client_open(sv->url, false, &c) != SPREG_OK) {
		return 0;
	}
	spreg_client_set_timeout(c, CALL_TIMEOUT_MS);
	for (int i = 0; i < n; i++) {
		int64_t t0 = rawsp_now_ms();
		spreg_status st;
		if (i % 3 == 0) {
			st = get_vendor(c, "stripe");
		} else if (i % 3 == 1) {
			Spreg__V1__ServerInfoResponse *info = NULL;
			st = server_info(c, &info);
			spreg_message_free(info ? &info->base : NULL);
		} else {
			char id[64];
			snprintf(id, sizeof(id), "polite-%s-%d", tag, i);
			st = put_vendor(c, id, "a polite write");
		}
		int64_t took = rawsp_now_ms() - t0;
		*max_ms = took > *max_ms ? took : *max_ms;
		if (st == SPREG_OK) {
			ok++;
		} else {
			printf("  call %d: %s: %s after %lld ms\n", i,
			    spreg_status_name(st), spreg_client_error(c),
			    (long long) took);
		}
	}
	spreg_client_close(c);
	return ok;
}

/* --- A greedy peer ---------------------------------------------------- */

typedef struct greedy {
	rawsp conn;
	buf request;
	int count;
	atomic_int sent;
	atomic_bool stop;
	bool cut;		/* a send failed: closed, or stalled 3 s */
} greedy;

static void *
greedy_run(void *arg)
{
	greedy *g = arg;

	for (int i = 0; i < g->count && !atomic_load(&g->stop); i++) {
		/* A send stalls while the server reads nothing from us,
		 * 3 s at most. */
		if (!rawsp_send(&g->conn, (uint32_t) i + 1, g->request.data,
		        g->request.len)) {
			g->cut = true;
			break;
		}
		atomic_fetch_add(&g->sent, 1);
	}
	return NULL;
}

static bool
greedy_start(greedy *g, pthread_t *t, const char *url, buf request,
    int count)
{
	memset(g, 0, sizeof(*g));
	g->conn = rawsp_connect(url, NULL, true, 3000);
	g->request = request;
	g->count = count;
	return g->conn.fd >= 0 && pthread_create(t, NULL, greedy_run, g) == 0;
}

/* --- Scenarios -------------------------------------------------------- */

static void
test_greedy_and_large(void)
{
	server sv;
	const char *args[] = {"--max-string", "65536", "--max-queued-bytes",
	    "16777216", NULL};

	printf("== greedy pipelining and large lists\n");
	if (!server_start(&sv, "greedy", args)) {
		CHECK(false, "spregd did not start");
		return;
	}
	long rss0 = spawn_rss_kb(&sv);

	/* greedy: 30,000 list requests, never a reply read */
	greedy g;
	pthread_t t;
	CHECK(greedy_start(&g, &t, sv.url, list_envelope(100), 30000),
	    "greedy connection");
	for (int i = 0; i < 500 && atomic_load(&g.sent) < 1000 && !g.cut;
	     i++) {
		spawn_sleep_ms(20);
	}
	printf("greedy peer has sent %d requests; a second client calls\n",
	    atomic_load(&g.sent));
	int64_t max_ms;
	int ok = polite_calls(&sv, 30, "greedy", &max_ms);
	printf("second client: %d of 30 calls answered, slowest %lld ms "
	    "(bound %d ms)\n", ok, (long long) max_ms, CALL_TIMEOUT_MS);
	CHECK(ok == 30, "only %d of 30 calls answered beside a greedy peer",
	    ok);
	pthread_join(t, NULL);
	printf("greedy peer sent %d requests before %s\n",
	    atomic_load(&g.sent), g.cut ? "its connection was cut" :
	                                  "it finished");
	CHECK(rawsp_wait_closed(&g.conn, 20000),
	    "the greedy connection is still open");
	rawsp_close(&g.conn);
	free(g.request.data);
	CHECK(log_has(&sv, "not reading its replies") ||
	    log_has(&sv, "--send-timeout"), "no log line for the greedy peer");

	/* large: 40 vendors of ~60 KB make a ~2.4 MB page */
	spreg_client *c;
	char *purpose = malloc(60001);
	memset(purpose, 'p', 60000);
	purpose[60000] = '\0';
	int put = 0;
	if (test_client_open(sv.url, false, &c) == SPREG_OK) {
		spreg_client_set_timeout(c, 20000);
		for (int i = 0; i < 40; i++) {
			char id[32];
			snprintf(id, sizeof(id), "large-%02d", i);
			put += put_vendor(c, id, purpose) == SPREG_OK;
		}
		spreg_client_close(c);
	}
	free(purpose);
	CHECK(put == 40, "%d of 40 large vendors written", put);
	long before = spawn_rss_kb(&sv), peak = before;
	rawsp lc = rawsp_connect(sv.url, NULL, true, 3000);
	buf big = list_envelope(1000);
	int sent = 0;
	for (int i = 0; i < 100 && lc.fd >= 0; i++) {
		sent += rawsp_send(&lc, (uint32_t) i + 1, big.data, big.len);
	}
	free(big.data);
	/* Nothing read (reading would drain the replies) until the
	 * server logs that it stopped serving us, or 30 s. */
	int muted0 = log_count(&sv, "not reading its replies");
	bool muted = false;
	for (int i = 0; i < 300 && !muted; i++) {
		spawn_sleep_ms(100);
		long rss = spawn_rss_kb(&sv);
		peak = rss > peak ? rss : peak;
		muted = log_count(&sv, "not reading its replies") > muted0;
	}
	for (int i = 0; i < 10; i++) {	/* what it holds once muted */
		spawn_sleep_ms(100);
		long rss = spawn_rss_kb(&sv);
		peak = rss > peak ? rss : peak;
	}
	bool closed = rawsp_wait_closed(&lc, 20000);
	ok = polite_calls(&sv, 6, "large", &max_ms);
	printf("100 pipelined 2.4 MB pages (%d sent): spregd VmRSS %ld -> "
	    "peak %ld KiB (+%ld MiB; started at %ld KiB); %s; connection "
	    "%s; second client %d of 6, slowest %lld ms\n", sent, before,
	    peak, (peak - before) / 1024, rss0, muted ? "muted" : "not muted",
	    closed ? "closed" : "open", ok, (long long) max_ms);
	CHECK(peak - before < 192 * 1024, "VmRSS grew by %ld MiB",
	    (peak - before) / 1024);
	CHECK(muted && closed, "the connection of unread large replies: %s, "
	    "%s", muted ? "muted" : "not muted", closed ? "closed" : "open");
	CHECK(ok == 6, "only %d of 6 calls answered after large lists", ok);
	rawsp_close(&lc);
	int64_t took;
	int status = spawn_stop_within(&sv, SIGTERM, EXIT_BOUND_MS, &took);
	CHECK(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "spregd on SIGTERM: status %d after %lld ms", status,
	    (long long) took);
}

/* How many of n connections the server closes within wait_ms (all of
 * them end the wait). */
static int
closed_of(rawsp *cs, int n, int wait_ms)
{
	int closed = 0;
	int64_t t0 = rawsp_now_ms();
	bool *done = calloc((size_t) n, sizeof(bool));

	while (closed < n && rawsp_now_ms() - t0 < wait_ms) {
		for (int i = 0; i < n; i++) {
			if (!done[i] && rawsp_wait_closed(&cs[i], 0)) {
				done[i] = true;
				closed++;
			}
		}
		spawn_sleep_ms(50);
	}
	free(done);
	return closed;
}

static void
test_connection_limits(void)
{
	server sv;
	const char *args[] = {"--max-connections", "64",
	    "--max-connections-per-peer", "16", "--idle-timeout", "120",
	    NULL};
	rawsp one[20], many[60];

	printf("== connection limits\n");
	if (!server_start(&sv, "conns", args)) {
		CHECK(false, "spregd did not start");
		return;
	}
	spreg_client *c;
	Spreg__V1__ServerInfoResponse *info = NULL;
	if (test_client_open(sv.url, false, &c) == SPREG_OK &&
	    server_info(c, &info) == SPREG_OK) {
		CHECK(info->max_connections == 64 &&
		    info->max_connections_per_peer == 16 &&
		    info->idle_timeout_ms == 120000 &&
		    info->send_timeout_ms == 5000 &&
		    info->max_queued_replies == 8 &&
		    info->max_queued_bytes == 64u << 20,
		    "ServerInfo limits %u %u %u %u %u %llu",
		    info->max_connections, info->max_connections_per_peer,
		    info->idle_timeout_ms, info->send_timeout_ms,
		    info->max_queued_replies,
		    (unsigned long long) info->max_queued_bytes);
		spreg_message_free(&info->base);
	} else {
		CHECK(false, "ServerInfo");
	}
	spreg_client_close(c);
	spawn_sleep_ms(200);	/* that client's connection is gone */

	for (int i = 0; i < 20; i++) {
		one[i] = rawsp_connect(sv.url, "127.0.0.50", true, 1000);
	}
	int closed = closed_of(one, 20, 3000);
	printf("20 connections from one address: %d closed at once\n",
	    closed);
	CHECK(closed == 4, "%d of 20 closed (per peer 16)", closed);
	for (int i = 0; i < 60; i++) {
		char src[32];
		snprintf(src, sizeof(src), "127.0.0.%d", 51 + i / 15);
		many[i] = rawsp_connect(sv.url, src, true, 1000);
	}
	closed = closed_of(many, 60, 3000);
	printf("60 more from four addresses: %d closed at once\n", closed);
	CHECK(closed == 12, "%d of 60 closed (64 in all)", closed);
	CHECK(log_has(&sv, "--max-connections-per-peer") &&
	    log_has(&sv, "(--max-connections)"), "no log of refusals");
	for (int i = 0; i < 20; i++) {
		rawsp_close(&one[i]);
	}
	for (int i = 0; i < 60; i++) {
		rawsp_close(&many[i]);
	}
	int64_t took;
	int status = spawn_stop_within(&sv, SIGTERM, EXIT_BOUND_MS, &took);
	CHECK(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "spregd on SIGTERM: status %d", status);
}

static void
test_partial_and_half_open(void)
{
	enum { PARTIAL = 200, MSG = 1 << 20 };
	server sv;
	const char *args[] = {"--max-connections", "64",
	    "--max-connections-per-peer", "16", "--idle-timeout", "2", NULL};
	static rawsp cs[PARTIAL], half[20];

	printf("== partial messages and half-open connections\n");
	if (!server_start(&sv, "partial", args)) {
		CHECK(false, "spregd did not start");
		return;
	}
	long before = spawn_rss_kb(&sv), peak = before;
	uint8_t *junk = calloc(1, MSG);
	int sent = 0;
	for (int i = 0; i < PARTIAL; i++) {
		char src[32];
		uint8_t head[9];
		snprintf(src, sizeof(src), "127.0.0.%d", 10 + i / 10);
		cs[i] = rawsp_connect(sv.url, src, true, 2000);
		if (cs[i].fd < 0) {
			continue;
		}
		/* a message just under --max-message, all but 100 bytes */
		size_t n = rawsp_frame(&cs[i], MSG - 64, head);
		sent += rawsp_write_all(&cs[i], head, n) &&
		    rawsp_write_all(&cs[i], junk, MSG - 64 - 100);
		long rss = spawn_rss_kb(&sv);
		peak = rss > peak ? rss : peak;
	}
	free(junk);
	for (int i = 0; i < 10; i++) {
		half[i] = rawsp_connect(sv.url, "127.0.0.40", false, 1000);
		half[10 + i] = rawsp_connect(sv.url, "127.0.0.41", true, 1000);
	}
	for (int i = 0; i < 20; i++) {
		long rss = spawn_rss_kb(&sv);
		peak = rss > peak ? rss : peak;
		spawn_sleep_ms(50);
	}
	printf("%d of %d almost complete 1 MiB messages sent: spregd VmRSS "
	    "%ld -> peak %ld KiB (+%ld MiB; bound 64 x 1 MiB + 48 MiB)\n",
	    sent, PARTIAL, before, peak, (peak - before) / 1024);
	CHECK(peak - before < (64 + 48) * 1024, "VmRSS grew by %ld MiB",
	    (peak - before) / 1024);
	int64_t t0 = rawsp_now_ms();
	int closed = closed_of(cs, PARTIAL, 15000);
	printf("%d of %d partial-message connections closed after %lld ms\n",
	    closed, PARTIAL, (long long) (rawsp_now_ms() - t0));
	CHECK(closed == PARTIAL, "%d of %d partial connections closed",
	    closed, PARTIAL);
	int half_closed = 0;
	for (int i = 0; i < 20; i++) {
		half_closed += rawsp_wait_closed(&half[i], 20000);
	}
	printf("%d of 20 half-open connections closed after %lld ms\n",
	    half_closed, (long long) (rawsp_now_ms() - t0));
	CHECK(half_closed == 20, "%d of 20 half-open connections closed",
	    half_closed);
	int64_t max_ms;
	int ok = polite_calls(&sv, 3, "partial", &max_ms);
	CHECK(ok == 3, "only %d of 3 calls after the partial messages", ok);
	for (int i = 0; i < PARTIAL; i++) {
		rawsp_close(&cs[i]);
	}
	for (int i = 0; i < 20; i++) {
		rawsp_close(&half[i]);
	}
	int64_t took;
	int status = spawn_stop_within(&sv, SIGTERM, EXIT_BOUND_MS, &took);
	CHECK(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "spregd on SIGTERM: status %d", status);
}

/* --- Signals under load ------------------------------------------------ */

#define WRITERS 3
#define MAX_ACKS 20000

static char acked[MAX_ACKS][40];
static atomic_int nacked;

typedef struct writer {
	const char *url;
	int round, index;
	atomic_bool *stop;
} writer;

static void *
writer_run(void *arg)
{
	writer *w = arg;
	spreg_client *c;

	if (test_client_open(w->url, false, &c) != SPREG_OK) {
		return NULL;
	}
	spreg_client_set_timeout(c, 3000);
	for (int i = 0; !atomic_load(w->stop); i++) {
		char id[40];
		snprintf(id, sizeof(id), "sig-%02d-%d-%d", w->round, w->index, i);
		if (put_vendor(c, id, "written under SIGTERM") != SPREG_OK) {
			break;	/* the server is going */
		}
		int k = atomic_fetch_add(&nacked, 1);
		if (k < MAX_ACKS) {
			memcpy(acked[k], id, sizeof(id));
		}
	}
	spreg_client_close(c);
	return NULL;
}

static void *
reader_run(void *arg)
{
	writer *w = arg;
	spreg_client *c;

	if (test_client_open(w->url, false, &c) != SPREG_OK) {
		return NULL;
	}
	spreg_client_set_timeout(c, 3000);
	while (!atomic_load(w->stop) && get_vendor(c, "stripe") == SPREG_OK) {
	}
	spreg_client_close(c);
	return NULL;
}

static void
test_signals(void)
{
	server sv;
	const char *args[] = {"--shutdown-timeout", "20", "--send-timeout",
	    "1", NULL};
	int64_t slowest = 0;

	printf("== SIGTERM under load, %d times\n", ROUNDS);
	for (int r = 0; r < ROUNDS; r++) {
		if (!server_start(&sv, "signals", args)) {
			CHECK(false, "round %d: spregd did not start", r);
			return;
		}
		atomic_bool stop = false;
		writer ws[WRITERS + 1];
		pthread_t ts[WRITERS + 1];
		greedy g;
		pthread_t gt;
		bool greedy_on = greedy_start(&g, &gt, sv.url,
		    list_envelope(100), 30000);
		for (int i = 0; i <= WRITERS; i++) {
			ws[i] = (writer) {sv.url, r, i, &stop};
			pthread_create(&ts[i], NULL,
			    i < WRITERS ? writer_run : reader_run, &ws[i]);
		}
		int start = atomic_load(&nacked);
		for (int i = 0; i < 1000 && atomic_load(&nacked) - start < 10;
		     i++) {
			spawn_sleep_ms(10);
		}
		if (r == 0) {
			kill(sv.pid, SIGHUP);
			int64_t max_ms;
			CHECK(polite_calls(&sv, 3, "hup", &max_ms) == 3,
			    "calls after SIGHUP");
			for (int i = 0; i < 100 && !log_has(&sv, "SIGHUP"); i++) {
				spawn_sleep_ms(20);
			}
			CHECK(log_has(&sv, "SIGHUP ignored"),
			    "no log line for SIGHUP");
		}
		int64_t took;
		int status = spawn_stop_within(&sv, SIGTERM, EXIT_BOUND_MS, &took);
		slowest = took > slowest ? took : slowest;
		CHECK(status != -1 && WIFEXITED(status) &&
		    WEXITSTATUS(status) == 0,
		    "round %d: SIGTERM: %s, status %d, after %lld ms", r,
		    status == -1 ? "did not exit, killed" : "exited", status,
		    (long long) took);
		atomic_store(&stop, true);
		if (greedy_on) {
			atomic_store(&g.stop, true);
			pthread_join(gt, NULL);
			rawsp_close(&g.conn);
			free(g.request.data);
		}
		for (int i = 0; i <= WRITERS; i++) {
			pthread_join(ts[i], NULL);
		}
		if (failed > 0 && status == -1) {
			break;
		}
	}
	printf("slowest exit after SIGTERM: %lld ms (bound %d ms)\n",
	    (long long) slowest, EXIT_BOUND_MS);

	int n = atomic_load(&nacked);
	n = n < MAX_ACKS ? n : MAX_ACKS;
	int found = 0;
	spreg_client *c;
	if (server_start(&sv, "signals", args) &&
	    test_client_open(sv.url, false, &c) == SPREG_OK) {
		spreg_client_set_timeout(c, 10000);
		for (int i = 0; i < n; i++) {
			if (get_vendor(c, acked[i]) == SPREG_OK) {
				found++;
			} else {
				printf("  acknowledged %s is missing\n", acked[i]);
			}
		}
		spreg_client_close(c);
	}
	printf("%d of %d acknowledged writes present after restart\n", found,
	    n);
	CHECK(n > 0 && found == n, "%d of %d acknowledged writes present",
	    found, n);
	int64_t took;
	spawn_stop_within(&sv, SIGTERM, EXIT_BOUND_MS, &took);
}

int
main(int argc, char **argv)
{
	char cmd[128];

	if (getenv("SPREGD") == NULL) {
		fprintf(stderr, "SPREGD must name the spregd binary\n");
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	snprintf(dir, sizeof(dir), "/tmp/spreg-hostile-XXXXXX");
	if (mkdtemp(dir) == NULL) {
		return 1;
	}
	/* One scenario by name (argv[1]), or all. */
	const char *only = argc > 1 ? argv[1] : NULL;
	if (only == NULL || strcmp(only, "greedy") == 0) {
		test_greedy_and_large();
	}
	if (only == NULL || strcmp(only, "conns") == 0) {
		test_connection_limits();
	}
	if (only == NULL || strcmp(only, "partial") == 0) {
		test_partial_and_half_open();
	}
	if (only == NULL || strcmp(only, "signals") == 0) {
		test_signals();
	}
	if (getenv("HOSTILE_KEEP") == NULL) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0) {
			printf("could not remove %s\n", dir);
		}
	} else {
		printf("kept %s\n", dir);
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
