/*
 * Notifications, end to end: a real spregd publishing on ipc://, watchers
 * using spreg_watch in threads of this process.
 *
 *   - 100 watchers, 10 of them slow (they sleep while the writers go on
 *     at full speed), each ends with seqs 1..10,000 exactly once, in
 *     order, although PUB/SUB drops notifications;
 *   - a watcher that outlives two SIGKILLs of the server in the middle
 *     of a write burst, and one that is closed and reopened from its
 *     position, each end with every committed seq exactly once;
 *   - a customer's and a subprocessor's watch return exactly what
 *     ListChanges returns with the same filter, and so does a watch
 *     under a customer token with no filter at all;
 *   - a watch of a server run with a small --max-page reads the log in
 *     pages it accepts;
 *   - the PUB socket, read whole by a subscriber of every topic, never
 *     shows the seq of a change only a customer may see (its own vendor,
 *     its record), while that customer's watch still gets it.
 *
 * The server runs with access control (its PUB socket carries seqs
 * only, the changes come from the log under each watcher's token),
 * except in the first run of the hundred watchers, where
 * --insecure-local puts the changes themselves on the PUB socket.
 *
 * Every wait is bounded; the only sleeps are the slow watchers' and the
 * polling of the server's ready file.
 */
#include <check.h>
#include <errno.h>
#include <nng/nng.h>
#include <nng/protocol/pubsub0/sub.h>
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
#include "spreg/v1/admin.pb-c.h"
#include "support/record.h"
#include "support/spawn.h"
#include "test_token.h"
#include "spreg/v1/registry.pb-c.h"
#include "spreg/watch.h"

#define HEARTBEAT_MS "200"
#define READY_WAIT_MS 20000
#define NEXT_TIMEOUT_MS 500

#define MANY_WATCHERS 100
#define SLOW_WATCHERS 10
#define MANY_CHANGES_DEFAULT 10000	/* SPREG_WATCH_CHANGES overrides */
#define MANY_WRITERS 8
#define SLOW_SLEEP_EVERY 1000	/* a slow watcher sleeps after so many */
#define SLOW_SLEEP_MS 2500
/* Stuck: no watcher and no writer moved for this long. A bound on a
 * hang, not on speed: while anything moves, the test waits. */
#define MANY_STALL_MS 30000

#define BURST_WRITERS 4
#define KILL_CYCLES 2
#define KILL_AFTER 400		/* acknowledged writes before each kill */
#define WRITE_TIMEOUT_MS 2000
#define REOPEN_EVERY 300	/* the reopening watcher's batch */
#define BURST_DEADLINE_MS 60000

#define FILTER_WRITES 600


static char dir[64];
static char rpc_url[128];
static char pub_url[128];
static spawn server;
static const char *max_page;	/* spregd --max-page, or NULL */

static char str_app[] = "app";
static char str_billing[] = "billing";
static char str_support[] = "support";

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the server ---------------------------------------------------------- */

/* The next start_server runs spregd --insecure-local. */
static bool insecure;

/* Starts spregd on dir (again, after a kill: same data, same URLs). */
static void
start_server(void)
{
	/* Optional flags, NULL-terminated where they end. */
	const char *args[8] = {"--no-sample", "--heartbeat-ms", HEARTBEAT_MS};
	int n = 3;
	spawn_opts o = {.dir = dir, .log_level = "error", .args = args,
	    .wait_ms = READY_WAIT_MS};

	if (max_page) {
		args[n++] = "--max-page";
		args[n++] = max_page;
	}
	if (insecure) {
		args[n++] = "--insecure-local";
	}
	ck_assert_msg(spawn_start(&server, &o), "spregd did not start");
	/* RPC URLs first (older readers take line one), then "pub URL".
	 * Watcher threads read the globals: they are set once, and a
	 * restart keeps the URLs. */
	ck_assert_str_eq(server.url, server.listen);
	ck_assert_str_eq(server.pub_url, server.publish);
	if (rpc_url[0] == '\0') {
		snprintf(rpc_url, sizeof(rpc_url), "%s", server.url);
		snprintf(pub_url, sizeof(pub_url), "%s", server.pub_url);
	}
}

static void
stop_server(int sig)
{
	ck_assert_int_ne(spawn_stop(&server, sig), -1);
}

static void
setup(void)
{
	ck_assert(spawn_mkdtemp(dir, sizeof(dir), "spreg-watch"));
	start_server();
}

static void
setup_small_page(void)
{
	max_page = "10";
	setup();
}

static void
teardown(void)
{
	max_page = NULL;
	if (server.pid > 0) {
		stop_server(SIGKILL);
	}
	ck_assert(spawn_rmrf(dir));
}

/* ---- writes ---------------------------------------------------------- */

/* One put; *seq is the change's seq on OK. */
static spreg_status
put(spreg_client *c, test_record *r, uint64_t *seq)
{
	Spreg__V1__PutSubprocessorRequest req =
	    SPREG__V1__PUT_SUBPROCESSOR_REQUEST__INIT;
	ProtobufCMessage *out = NULL;

	req.subprocessor = &r->sp;
	spreg_status st = spreg_call(c, "PutSubprocessor", &req.base,
	    &spreg__v1__put_subprocessor_response__descriptor, &out);
	if (st == SPREG_OK) {
		const Spreg__V1__PutSubprocessorResponse *resp =
		    (const void *) out;
		*seq = resp->change != NULL ? resp->change->seq : 0;
		spreg_message_free(out);
	}
	return st;
}

static uint64_t
last_seq(void)
{
	Spreg__V1__ServerInfoRequest req = SPREG__V1__SERVER_INFO_REQUEST__INIT;
	ProtobufCMessage *out = NULL;
	spreg_client *c;

	ck_assert_int_eq(test_client_open(rpc_url, true, &c), SPREG_OK);
	spreg_client_set_timeout(c, 10000);
	ck_assert_int_eq(spreg_call(c, "ServerInfo", &req.base,
	                     &spreg__v1__server_info_response__descriptor, &out),
	    SPREG_OK);
	uint64_t last = ((Spreg__V1__ServerInfoResponse *) out)->last_seq;
	spreg_message_free(out);
	spreg_client_close(c);
	return last;
}

/* ---- watchers ------------------------------------------------------------ */

/* What a watcher thread saw; checked by the test's own thread. */
typedef struct watcher {
	pthread_t thread;
	int index;
	bool slow;
	/* A slow watcher reads nothing more while *hold is below
	 * hold_until (the writers' acknowledged writes): the changes
	 * published meanwhile overflow its queue, whatever the speed. */
	atomic_size_t *hold;
	size_t hold_until;
	bool reopen;		/* close and reopen every REOPEN_EVERY */
	spreg_watch_filter filter;
	const char *token;	/* NULL: the admin's */
	uint64_t until;		/* stop after this seq (0: when told) */
	_Atomic int64_t deadline;	/* stops then; may be pushed on */
	uint64_t *seqs;		/* in the order returned */
	size_t nseqs;
	size_t capseqs;
	size_t out_of_order;	/* seq <= the one before */
	size_t reopens;
	atomic_uint_fast64_t last;	/* the last seq, for other threads */
	spreg_watch_stats stats;
	char error[256];
} watcher;

static atomic_bool stop_watchers;

static void
watcher_error(watcher *w, const char *what, spreg_status st,
    const char *why)
{
	if (w->error[0] == '\0') {
		snprintf(w->error, sizeof(w->error), "watcher %d: %s: %s: %s",
		    w->index, what, spreg_status_name(st), why);
	}
}

static void
stats_add(spreg_watch_stats *sum, const spreg_watch_stats *s)
{
	sum->live += s->live;
	sum->from_log += s->from_log;
	sum->log_reads += s->log_reads;
	sum->duplicates += s->duplicates;
	sum->gaps += s->gaps;
}

static void *
watcher_main(void *arg)
{
	watcher *w = arg;
	spreg_watch *sw = NULL;
	spreg_status st;

	spreg_watch_options o = {NULL, w->token ? w->token : test_token};

	if ((st = spreg_watch_open_with(rpc_url, pub_url, &w->filter, 0, &o,
	         &sw)) != SPREG_OK) {
		watcher_error(w, "open", st, "");
		return NULL;
	}
	while (now_ms() < w->deadline) {
		if (w->until == 0 && atomic_load(&stop_watchers)) {
			break;
		}
		Spreg__V1__Change *c;
		st = spreg_watch_next(sw, NEXT_TIMEOUT_MS, &c);
		if (st == SPREG_DEADLINE_EXCEEDED || st == SPREG_UNAVAILABLE) {
			continue;
		}
		if (st != SPREG_OK) {
			watcher_error(w, "next", st, spreg_watch_error(sw));
			break;
		}
		uint64_t seq = c->seq;
		spreg_message_free(&c->base);
		if (w->nseqs > 0 && seq <= w->seqs[w->nseqs - 1]) {
			w->out_of_order++;
		}
		if (w->nseqs == w->capseqs) {
			w->capseqs = w->capseqs ? w->capseqs * 2 : 1024;
			w->seqs = realloc(w->seqs,
			    w->capseqs * sizeof(*w->seqs));
			if (w->seqs == NULL) {
				watcher_error(w, "realloc", SPREG_INTERNAL, "");
				break;
			}
		}
		w->seqs[w->nseqs++] = seq;
		atomic_store(&w->last, seq);
		if (w->slow && w->nseqs % SLOW_SLEEP_EVERY == 0) {
			spawn_sleep_ms(SLOW_SLEEP_MS);	/* deliberately slow */
		}
		while (w->slow && w->hold != NULL && w->nseqs == 1 &&
		    atomic_load(w->hold) < w->hold_until &&
		    now_ms() < w->deadline) {
			spawn_sleep_ms(50);	/* polling a counter, bounded */
		}
		if (w->reopen && w->nseqs % REOPEN_EVERY == 0) {
			uint64_t pos = spreg_watch_position(sw);
			spreg_watch_stats s;
			spreg_watch_stats_get(sw, &s);
			stats_add(&w->stats, &s);
			spreg_watch_close(sw);
			w->reopens++;
			if ((st = spreg_watch_open_with(rpc_url, pub_url,
			         &w->filter, pos, &o, &sw)) != SPREG_OK) {
				watcher_error(w, "reopen", st, "");
				return NULL;
			}
		}
		if (w->until != 0 && seq >= w->until) {
			break;
		}
	}
	spreg_watch_stats s;
	spreg_watch_stats_get(sw, &s);
	stats_add(&w->stats, &s);
	spreg_watch_close(sw);
	return NULL;
}

static void
watcher_start(watcher *w)
{
	ck_assert_int_eq(pthread_create(&w->thread, NULL, watcher_main, w), 0);
}

/* Seqs 1..last, each once, in order. */
static void
check_all_seqs(const watcher *w, uint64_t last)
{
	ck_assert_msg(w->error[0] == '\0', "%s", w->error);
	ck_assert_msg(w->out_of_order == 0, "watcher %d: %zu seqs out of "
	    "order or repeated", w->index, w->out_of_order);
	ck_assert_msg(w->nseqs == last, "watcher %d: %zu changes, want %llu",
	    w->index, w->nseqs, (unsigned long long) last);
	for (size_t i = 0; i < w->nseqs; i++) {
		ck_assert_msg(w->seqs[i] == i + 1, "watcher %d: change %zu "
		    "is seq %llu", w->index, i, (unsigned long long) w->seqs[i]);
	}
}

/* ---- 100 watchers, 10 slow, 10,000 changes ---------------------------- */

typedef struct writer {
	pthread_t thread;
	int index;
	atomic_size_t *claimed;	/* puts claimed by all writers */
	size_t limit;		/* stop claiming at this many (0: no limit) */
	atomic_size_t *acked;
	size_t unknown;		/* failed puts: outcome unknown */
	char error[256];
} writer;

static atomic_bool stop_writers;

static size_t
many_changes(void)
{
	const char *v = getenv("SPREG_WATCH_CHANGES");
	long n = v != NULL ? atol(v) : 0;

	return n > 0 ? (size_t) n : MANY_CHANGES_DEFAULT;
}

static void *
writer_main(void *arg)
{
	writer *wr = arg;
	spreg_client *c;
	test_record r;
	char actor[32];

	if (test_client_open(rpc_url, true, &c) != SPREG_OK) {
		snprintf(wr->error, sizeof(wr->error), "open failed");
		return NULL;
	}
	spreg_client_set_timeout(c, wr->limit ? 30000 : WRITE_TIMEOUT_MS);
	snprintf(actor, sizeof(actor), "writer %d", wr->index);
	spreg_client_set_actor(c, actor);
	test_record_init(&r, str_app);
	for (unsigned n = 1; !atomic_load(&stop_writers); n++) {
		if (wr->limit != 0 &&
		    atomic_fetch_add(wr->claimed, 1) >= wr->limit) {
			break;
		}
		uint64_t seq;
		snprintf(r.id, sizeof(r.id), "w%d-%u", wr->index, n);
		snprintf(r.name, sizeof(r.name), "Writer %d record %u",
		    wr->index, n);
		spreg_status st = put(c, &r, &seq);
		if (st == SPREG_OK) {
			atomic_fetch_add(wr->acked, 1);
		} else if (wr->limit == 0 && (st == SPREG_UNAVAILABLE ||
		                                 st == SPREG_DEADLINE_EXCEEDED)) {
			wr->unknown++;	/* around a kill */
		} else {
			snprintf(wr->error, sizeof(wr->error), "put %s: %s: %s",
			    r.id, spreg_status_name(st), spreg_client_error(c));
			break;
		}
	}
	spreg_client_close(c);
	return NULL;
}

/* Run 0: --insecure-local, changes on the PUB socket. Run 1: access
 * control, seqs only on the PUB socket. */
START_TEST(hundred_watchers_ten_slow_every_seq_once_in_order)
{
	static watcher ws[MANY_WATCHERS];
	static writer wrs[MANY_WRITERS];
	atomic_size_t claimed, acked;
	size_t many = many_changes();

	if (_i == 0) {
		stop_server(SIGTERM);
		insecure = true;
		start_server();
	}
	printf("# %s\n", insecure ? "--insecure-local: changes published" :
	                            "access control: seqs published");
	int64_t start = now_ms();

	atomic_init(&claimed, 0);
	atomic_init(&acked, 0);
	atomic_store(&stop_writers, false);
	for (int i = 0; i < MANY_WATCHERS; i++) {
		ws[i] = (watcher) {.index = i, .slow = i % 10 == 0,
		    .until = many, .deadline = start + MANY_STALL_MS,
		    .hold = &acked, .hold_until = many};
		watcher_start(&ws[i]);
	}
	for (int i = 0; i < MANY_WRITERS; i++) {
		wrs[i] = (writer) {.index = i, .claimed = &claimed,
		    .limit = many, .acked = &acked};
		ck_assert_int_eq(pthread_create(&wrs[i].thread, NULL,
		                     writer_main, &wrs[i]), 0);
	}
	/* Progress every few seconds, for the log of a slow machine. */
	int64_t report = start;
	int64_t written = 0;
	int64_t moved = start;
	uint64_t moved_sum = 0;
	size_t moved_acked = 0;
	for (;;) {
		int64_t now = now_ms();
		uint64_t lo = UINT64_MAX, hi = 0, sum = 0;
		for (int i = 0; i < MANY_WATCHERS; i++) {
			uint64_t at = atomic_load(&ws[i].last);
			lo = at < lo ? at : lo;
			hi = at > hi ? at : hi;
			sum += at;
		}
		size_t a = atomic_load(&acked);
		if (written == 0 && a == many) {
			written = now;
		}
		/* A watcher or a writer moved: every watcher may go on. */
		if (sum != moved_sum || a != moved_acked) {
			moved = now;
			moved_sum = sum;
			moved_acked = a;
			for (int i = 0; i < MANY_WATCHERS; i++) {
				ws[i].deadline = now + MANY_STALL_MS;
			}
		}
		if (lo == many || now > moved + MANY_STALL_MS) {
			break;
		}
		if (now - report >= 5000) {
			printf("# %.0f s: %zu writes acknowledged; watchers at "
			       "seq %llu to %llu\n", (double) (now - start) / 1000,
			    atomic_load(&acked), (unsigned long long) lo,
			    (unsigned long long) hi);
			fflush(stdout);
			report = now;
		}
		spawn_sleep_ms(50);	/* polling counters, bounded */
	}
	for (int i = 0; i < MANY_WRITERS; i++) {
		pthread_join(wrs[i].thread, NULL);
		ck_assert_msg(wrs[i].error[0] == '\0', "%s", wrs[i].error);
	}
	if (written == 0) {
		written = now_ms();
	}
	ck_assert_uint_eq(atomic_load(&acked), many);
	ck_assert_uint_eq(last_seq(), many);

	spreg_watch_stats fast = {0}, slow = {0};
	for (int i = 0; i < MANY_WATCHERS; i++) {
		pthread_join(ws[i].thread, NULL);
		stats_add(ws[i].slow ? &slow : &fast, &ws[i].stats);
	}
	int64_t done = now_ms();
	printf("# %zu writes in %.1f s (%.0f/s); all %d watchers done %.1f s "
	       "later\n", many, (double) (written - start) / 1000,
	    many * 1000.0 / (double) (written - start), MANY_WATCHERS,
	    (double) (done - written) / 1000);
	printf("# fast watchers: %llu live, %llu from the log in %llu reads, "
	       "%llu catch-ups, %llu duplicates dropped\n",
	    (unsigned long long) fast.live, (unsigned long long) fast.from_log,
	    (unsigned long long) fast.log_reads, (unsigned long long) fast.gaps,
	    (unsigned long long) fast.duplicates);
	printf("# slow watchers: %llu live, %llu from the log in %llu reads, "
	       "%llu catch-ups, %llu duplicates dropped\n",
	    (unsigned long long) slow.live, (unsigned long long) slow.from_log,
	    (unsigned long long) slow.log_reads, (unsigned long long) slow.gaps,
	    (unsigned long long) slow.duplicates);
	for (int i = 0; i < MANY_WATCHERS; i++) {
		check_all_seqs(&ws[i], many);
		free(ws[i].seqs);
	}
	/* Open: the live stream did carry changes, and the slow watchers
	 * lost some of it and repaired that from the log. With access
	 * control no change crossed the PUB socket: all came from the log,
	 * read under the watchers' token. */
	if (insecure) {
		ck_assert_uint_gt(fast.live, 0);
		ck_assert_uint_gt(slow.from_log, 0);
	} else {
		ck_assert_uint_eq(fast.live + slow.live, 0);
		ck_assert_uint_gt(fast.from_log, 0);
	}
}
END_TEST

/* ---- kill -9 in a write burst -------------------------------------------- */

static void
wait_acked(atomic_size_t *acked, size_t want, int64_t deadline)
{
	while (atomic_load(acked) < want) {
		ck_assert_msg(now_ms() < deadline, "writes stalled at %zu",
		    atomic_load(acked));
		spawn_sleep_ms(5);	/* polling a counter, bounded */
	}
}

START_TEST(watchers_survive_server_kills_without_gap_or_repeat)
{
	static writer wrs[BURST_WRITERS];
	watcher follow = {.index = 0};
	watcher reopen = {.index = 1, .reopen = true};
	atomic_size_t claimed, acked;
	int64_t deadline = now_ms() + BURST_DEADLINE_MS;

	atomic_init(&claimed, 0);
	atomic_init(&acked, 0);
	atomic_store(&stop_writers, false);
	atomic_store(&stop_watchers, false);
	follow.deadline = reopen.deadline = deadline;
	watcher_start(&follow);
	watcher_start(&reopen);
	for (int i = 0; i < BURST_WRITERS; i++) {
		wrs[i] = (writer) {.index = i, .claimed = &claimed,
		    .acked = &acked};
		ck_assert_int_eq(pthread_create(&wrs[i].thread, NULL,
		                     writer_main, &wrs[i]), 0);
	}
	for (int cycle = 1; cycle <= KILL_CYCLES; cycle++) {
		wait_acked(&acked, (size_t) cycle * KILL_AFTER, deadline);
		stop_server(SIGKILL);	/* in the middle of the burst */
		start_server();
	}
	wait_acked(&acked, (KILL_CYCLES + 1) * KILL_AFTER, deadline);
	atomic_store(&stop_writers, true);
	size_t unknown = 0;
	for (int i = 0; i < BURST_WRITERS; i++) {
		pthread_join(wrs[i].thread, NULL);
		ck_assert_msg(wrs[i].error[0] == '\0', "%s", wrs[i].error);
		unknown += wrs[i].unknown;
	}
	uint64_t last = last_seq();
	ck_assert_uint_ge(last, atomic_load(&acked));

	/* Both must reach the last seq; then they are told to stop. */
	while (now_ms() < deadline && (atomic_load(&follow.last) < last ||
	                                  atomic_load(&reopen.last) < last)) {
		spawn_sleep_ms(10);	/* polling, bounded */
	}
	atomic_store(&stop_watchers, true);
	pthread_join(follow.thread, NULL);
	pthread_join(reopen.thread, NULL);
	printf("# %zu acknowledged writes, %zu with unknown outcome, last seq "
	       "%llu, %d kills\n", atomic_load(&acked), unknown,
	    (unsigned long long) last, KILL_CYCLES);
	printf("# follower: %llu live, %llu from the log, %llu catch-ups; "
	       "reopened %zu times: %llu live, %llu from the log\n",
	    (unsigned long long) follow.stats.live,
	    (unsigned long long) follow.stats.from_log,
	    (unsigned long long) follow.stats.gaps, reopen.reopens,
	    (unsigned long long) reopen.stats.live,
	    (unsigned long long) reopen.stats.from_log);
	check_all_seqs(&follow, last);
	check_all_seqs(&reopen, last);
	/* Each restart is a new epoch: the follower read the log for it. */
	ck_assert_uint_ge(follow.stats.gaps, KILL_CYCLES);
	free(follow.seqs);
	free(reopen.seqs);
}
END_TEST

/* ---- filtered watches ---------------------------------------------------- */

static void
put_customer(spreg_client *c, const char *id, char *service, int version)
{
	Spreg__V1__PutCustomerRequest req = SPREG__V1__PUT_CUSTOMER_REQUEST__INIT;
	Spreg__V1__Customer cu = SPREG__V1__CUSTOMER__INIT;
	char *services[1] = {service};
	char name[32];
	ProtobufCMessage *out = NULL;

	snprintf(name, sizeof(name), "A customer v%d", version);
	cu.id = (char *) id;
	cu.name = name;
	cu.services = services;
	cu.n_services = 1;
	req.customer = &cu;
	spreg_status st = spreg_call(c, "PutCustomer", &req.base,
	    &spreg__v1__put_customer_response__descriptor, &out);
	ck_assert_msg(st == SPREG_OK, "PutCustomer: %s: %s",
	    spreg_status_name(st), spreg_client_error(c));
	spreg_message_free(out);
}

/* Every seq ListChanges returns with the filter, following
 * next_since_seq; caller frees. */
static uint64_t *
log_seqs(const spreg_watch_filter *f, size_t *n_out)
{
	spreg_client *c;
	uint64_t *seqs = NULL;
	size_t n = 0;
	uint64_t since = 0;

	ck_assert_int_eq(test_client_open(rpc_url, true, &c), SPREG_OK);
	for (;;) {
		Spreg__V1__ListChangesRequest req =
		    SPREG__V1__LIST_CHANGES_REQUEST__INIT;
		ProtobufCMessage *out = NULL;
		req.since_seq = since;
		req.limit = 1000;
		req.subprocessor_id = (char *) (f->subprocessor_id ?
		    f->subprocessor_id : "");
		req.customer_id = (char *) (f->customer_id ? f->customer_id :
		                                               "");
		ck_assert_int_eq(spreg_call(c, "ListChanges", &req.base,
		                     &spreg__v1__list_changes_response__descriptor,
		                     &out),
		    SPREG_OK);
		Spreg__V1__ListChangesResponse *r = (void *) out;
		seqs = realloc(seqs, (n + r->n_changes + 1) * sizeof(*seqs));
		ck_assert_ptr_nonnull(seqs);
		for (size_t i = 0; i < r->n_changes; i++) {
			seqs[n++] = r->changes[i]->seq;
		}
		bool more = r->next_since_seq > since &&
		    r->next_since_seq < r->last_seq;
		since = r->next_since_seq;
		spreg_message_free(out);
		if (!more) {
			break;
		}
	}
	spreg_client_close(c);
	*n_out = n;
	return seqs;
}

/* A new token's bearer string; caller frees. */
static char *
create_token(spreg_client *c, const char *name, Spreg__V1__Role role,
    const char *customer_id)
{
	Spreg__V1__CreateTokenRequest req =
	    SPREG__V1__CREATE_TOKEN_REQUEST__INIT;
	ProtobufCMessage *out = NULL;

	req.name = (char *) name;
	req.role = role;
	req.customer_id = (char *) (customer_id ? customer_id : "");
	ck_assert_int_eq(spreg_call(c, "spreg.v1.Admin/CreateToken", &req.base,
	                     &spreg__v1__create_token_response__descriptor,
	                     &out), SPREG_OK);
	char *secret = strdup(((Spreg__V1__CreateTokenResponse *) out)->secret);
	spreg_message_free(out);
	ck_assert_ptr_nonnull(secret);
	return secret;
}

START_TEST(filtered_watches_match_list_changes)
{
	static writer wrs[BURST_WRITERS];
	spreg_client *c;
	test_record r;
	uint64_t seq;
	watcher cust = {.index = 0, .filter = {NULL, "acme"}};
	watcher sp = {.index = 1, .filter = {"shared-2", NULL}};
	watcher all = {.index = 2};
	/* acme's own token, no filter: the server scopes it. */
	watcher own = {.index = 3, .filter = {NULL, NULL}};
	atomic_size_t claimed, acked;
	int64_t deadline = now_ms() + 60000;

	ck_assert_int_eq(test_client_open(rpc_url, true, &c), SPREG_OK);
	put_customer(c, "acme", str_billing, 0);
	own.token = create_token(c, "acme-token", SPREG__V1__ROLE__CUSTOMER,
	    "acme");
	atomic_init(&claimed, 0);
	atomic_init(&acked, 0);
	atomic_store(&stop_writers, false);
	atomic_store(&stop_watchers, false);
	cust.deadline = sp.deadline = all.deadline = own.deadline = deadline;
	watcher_start(&cust);
	watcher_start(&sp);
	watcher_start(&all);
	watcher_start(&own);
	/* Background noise on service "app" (not acme's) ... */
	for (int i = 0; i < BURST_WRITERS; i++) {
		wrs[i] = (writer) {.index = i, .claimed = &claimed,
		    .limit = FILTER_WRITES, .acked = &acked};
		ck_assert_int_eq(pthread_create(&wrs[i].thread, NULL,
		                     writer_main, &wrs[i]), 0);
	}
	/* ... while vendors of billing and support change, and acme
	 * itself (not its services: ListChanges filters by the customer's
	 * services as they are when it is called, the topic by those at
	 * the time of the change). */
	char *services[] = {str_billing, str_support, str_app};
	for (int i = 0; i < 60; i++) {
		test_record_init(&r, services[i % 3]);
		snprintf(r.id, sizeof(r.id), "shared-%d", i % 5);
		snprintf(r.name, sizeof(r.name), "Shared %d", i);
		/* Past acme's notice: upcoming, not refused. */
		r.sp.effective_from = "2099-01-01";
		ck_assert_int_eq(put(c, &r, &seq), SPREG_OK);
		if (i % 20 == 10) {
			put_customer(c, "acme", str_billing, i);
		}
	}
	for (int i = 0; i < BURST_WRITERS; i++) {
		pthread_join(wrs[i].thread, NULL);
		ck_assert_msg(wrs[i].error[0] == '\0', "%s", wrs[i].error);
	}
	spreg_client_close(c);

	watcher *ws[] = {&cust, &sp, &all, &own};
	size_t nwant[4];
	uint64_t *want[4];
	for (int i = 0; i < 3; i++) {
		want[i] = log_seqs(&ws[i]->filter, &nwant[i]);
		ck_assert_uint_gt(nwant[i], 0);
	}
	want[3] = log_seqs(&cust.filter, &nwant[3]);
	/* Wait (bounded) until each has the last of its changes, then let
	 * them run two more heartbeats to show nothing extra comes. */
	for (int i = 0; i < 4; i++) {
		while (now_ms() < deadline &&
		    atomic_load(&ws[i]->last) < want[i][nwant[i] - 1]) {
			spawn_sleep_ms(10);	/* polling, bounded */
		}
	}
	spawn_sleep_ms(2 * atoi(HEARTBEAT_MS) + 100);
	atomic_store(&stop_watchers, true);
	for (int i = 0; i < 4; i++) {
		pthread_join(ws[i]->thread, NULL);
		ck_assert_msg(ws[i]->error[0] == '\0', "%s", ws[i]->error);
		printf("# watcher %s: %zu changes (%llu live, %llu from the "
		       "log), ListChanges: %zu\n",
		    i == 0 ? "customer acme" : i == 1 ? "subprocessor shared-2" :
		    i == 2 ? "all" : "under acme's token",
		    ws[i]->nseqs, (unsigned long long) ws[i]->stats.live,
		    (unsigned long long) ws[i]->stats.from_log, nwant[i]);
		for (size_t k = 0; k < nwant[i] && k < ws[i]->nseqs; k++) {
			ck_assert_msg(ws[i]->seqs[k] == want[i][k], "watcher "
			    "%d: change %zu is seq %llu, ListChanges has %llu",
			    i, k, (unsigned long long) ws[i]->seqs[k],
			    (unsigned long long) want[i][k]);
		}
		ck_assert_uint_eq(ws[i]->nseqs, nwant[i]);
		free(want[i]);
		free(ws[i]->seqs);
	}
	free((char *) own.token);
	ck_assert_uint_eq(nwant[2], last_seq());
	ck_assert_uint_lt(nwant[0], nwant[2]);
	ck_assert_uint_lt(nwant[1], nwant[0]);
}
END_TEST

/* The next Notification on sub (every topic), its last_seq in *seq;
 * false after timeout_ms without one. */
static bool
sub_next(nng_socket sub, int timeout_ms, uint64_t *seq)
{
	int64_t deadline = now_ms() + timeout_ms;
	nng_msg *m;

	while (now_ms() < deadline) {
		if (nng_recvmsg(sub, &m, 0) != 0) {
			continue;	/* NNG_ETIMEDOUT: its receive timeout */
		}
		const uint8_t *body = nng_msg_body(m);
		size_t len = nng_msg_len(m), t = 0;
		while (t < len && body[t] != '/') {
			t++;	/* the topic's first part: "hb", "all", ... */
		}
		size_t skip = strncmp((const char *) body, "hb/", 3) == 0 ? 3 :
		    t + 1;
		Spreg__V1__Notification *n = skip <= len ?
		    spreg__v1__notification__unpack(NULL, len - skip,
		        body + skip) : NULL;
		nng_msg_free(m);
		if (n != NULL) {
			*seq = n->last_seq;
			spreg__v1__notification__free_unpacked(n, NULL);
			return true;
		}
	}
	return false;
}

/*
 * With access control, any process that can reach the PUB socket may
 * subscribe to every topic: the socket must not tell it how many changes
 * only some customer may see were made (a customer's own vendor, its
 * record), not even by their seqs in doorbells or heartbeats. The
 * customer's own watch still gets its change, though nothing public
 * follows it.
 */
START_TEST(private_changes_leave_no_seq_on_the_pub_socket)
{
	nng_socket sub;
	spreg_client *c;
	spreg_watch *w;
	test_record r;
	uint64_t seq, private_seq[2], public_seq, got;

	ck_assert_int_eq(nng_sub0_open(&sub), 0);
	ck_assert_int_eq(nng_socket_set(sub, NNG_OPT_SUB_SUBSCRIBE, "", 0), 0);
	ck_assert_int_eq(nng_socket_set_ms(sub, NNG_OPT_RECVTIMEO, 200), 0);
	ck_assert_int_eq(nng_dial(sub, pub_url, NULL, 0), 0);
	/* Connected once a heartbeat came (every HEARTBEAT_MS). */
	ck_assert_msg(sub_next(sub, 30000, &got), "no heartbeat");
	ck_assert_uint_eq(got, 0);	/* nothing public in this epoch */

	ck_assert_int_eq(test_client_open(rpc_url, true, &c), SPREG_OK);
	put_customer(c, "acme", str_billing, 0);
	private_seq[0] = last_seq();
	char *token = create_token(c, "acme-own", SPREG__V1__ROLE__CUSTOMER,
	    "acme");
	spreg_watch_options o = {NULL, token};
	ck_assert_int_eq(spreg_watch_open_with(rpc_url, pub_url, NULL,
	    last_seq(), &o, &w), SPREG_OK);
	/* Settled: it has heard the stream (a new epoch sent it to the log,
	 * after the connection, which would too), so only a heartbeat can
	 * send it to the log again. */
	Spreg__V1__Change *ch;
	spreg_watch_stats stats = {0};
	for (int i = 0; i < 100 && stats.gaps == 0; i++) {
		ck_assert_int_eq(spreg_watch_next(w, 300, &ch),
		    SPREG_DEADLINE_EXCEEDED);
		spreg_watch_stats_get(w, &stats);
	}
	ck_assert_uint_ge(stats.gaps, 1);

	test_record_init(&r, str_billing);
	snprintf(r.id, sizeof(r.id), "acme-llm");
	snprintf(r.name, sizeof(r.name), "ACME's own LLM");
	r.sp.kind = "customer_selected";
	r.sp.customer = "acme";
	ck_assert_int_eq(put(c, &r, &private_seq[1]), SPREG_OK);
	/* Its watch reads it from the log on a heartbeat: no public change
	 * comes after it to ring. (The bound ends a hang only.) */
	spreg_status st = spreg_watch_next(w, 60000, &ch);
	ck_assert_msg(st == SPREG_OK, "acme's watch: %s: %s",
	    spreg_status_name(st), spreg_watch_error(w));
	ck_assert_uint_eq(ch->seq, private_seq[1]);
	ck_assert_str_eq(ch->subprocessor_id, "acme-llm");
	spreg_message_free(&ch->base);
	spreg_watch_close(w);
	free(token);

	test_record_init(&r, str_app);
	snprintf(r.id, sizeof(r.id), "public-one");
	snprintf(r.name, sizeof(r.name), "Public One");
	ck_assert_int_eq(put(c, &r, &public_seq), SPREG_OK);
	spreg_client_close(c);
	ck_assert_uint_gt(public_seq, private_seq[1]);
	/* Everything the socket said until the public seq rang: 0 (no
	 * public change yet) or the public seq, never a private one. */
	size_t heard = 0;
	do {
		ck_assert_msg(sub_next(sub, 30000, &seq), "the public change "
		    "%llu never rang", (unsigned long long) public_seq);
		ck_assert_msg(seq == 0 || seq == public_seq, "the PUB socket "
		    "said seq %llu (private: %llu, %llu; public: %llu)",
		    (unsigned long long) seq,
		    (unsigned long long) private_seq[0],
		    (unsigned long long) private_seq[1],
		    (unsigned long long) public_seq);
		heard++;
	} while (seq != public_seq);
	/* And the heartbeats after it say the public seq. */
	ck_assert(sub_next(sub, 30000, &seq));
	ck_assert_uint_eq(seq, public_seq);
	printf("# PUB socket: %zu messages until the public seq %llu, none "
	       "with a private seq\n", heard, (unsigned long long) public_seq);
	nng_close(sub);
}
END_TEST

/* The watch asks for pages of 1000; a server that takes at most 10 says
 * so in ServerInfo, and the watch reads the log in pages of 10. */
START_TEST(watch_follows_a_smaller_max_page)
{
	spreg_client *c;
	spreg_watch *w;
	spreg_watch_stats stats;
	test_record r;
	uint64_t seq;

	ck_assert_int_eq(test_client_open(rpc_url, true, &c), SPREG_OK);
	for (int i = 0; i < 25; i++) {
		test_record_init(&r, str_app);
		snprintf(r.id, sizeof(r.id), "paged-%d", i);
		snprintf(r.name, sizeof(r.name), "Paged %d", i);
		ck_assert_int_eq(put(c, &r, &seq), SPREG_OK);
	}
	spreg_client_close(c);
	ck_assert_uint_eq(seq, 25);

	ck_assert_int_eq(test_watch_open(rpc_url, pub_url, NULL, 0, &w),
	    SPREG_OK);
	for (uint64_t want = 1; want <= 25; want++) {
		Spreg__V1__Change *ch;
		spreg_status st = spreg_watch_next(w, 10000, &ch);
		ck_assert_msg(st == SPREG_OK, "seq %llu: %s: %s",
		    (unsigned long long) want, spreg_status_name(st),
		    spreg_watch_error(w));
		ck_assert_uint_eq(ch->seq, want);
		spreg_message_free(&ch->base);
	}
	spreg_watch_stats_get(w, &stats);
	ck_assert_uint_eq(stats.from_log, 25);
	ck_assert_uint_ge(stats.log_reads, 4);	/* one refused, 3 pages */
	spreg_watch_close(w);
}
END_TEST

static Suite *
watch_suite(void)
{
	Suite *s = suite_create("watch");
	TCase *tc = tcase_create("watch");

	tcase_add_checked_fixture(tc, setup, teardown);
	/* An outer bound only: a loaded machine is slow, not wrong. */
	tcase_set_timeout(tc, 600);
	tcase_add_loop_test(tc, hundred_watchers_ten_slow_every_seq_once_in_order,
	    0, 2);
	tcase_add_test(tc, watchers_survive_server_kills_without_gap_or_repeat);
	tcase_add_test(tc, filtered_watches_match_list_changes);
	suite_add_tcase(s, tc);

	tc = tcase_create("private");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, private_changes_leave_no_seq_on_the_pub_socket);
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_add_checked_fixture(tc, setup_small_page, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, watch_follows_a_smaller_max_page);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(watch_suite());

	signal(SIGPIPE, SIG_IGN);
	srunner_run_all(sr, CK_VERBOSE);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
