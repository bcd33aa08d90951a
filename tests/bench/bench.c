/*
 * The registry benchmark (meson test --benchmark).
 *
 * Builds a store of 100,000 synthetic subprocessors through the server's
 * own store path (validate_subprocessor + db_sp_put in db_write batches),
 * starts the real spregd on it, and measures in one run:
 *
 *   - GetSubprocessor round trips/s, 1 and 32 clients, ipc and tcp, next
 *     to a raw nng REQ/REP echo with the same request and reply sizes
 *     (the transport limit);
 *   - ListSubprocessors by category, first page of 100, 1 and 32 clients
 *     over tcp, as a cost relative to a Get;
 *   - acknowledged (fsync-durable) PutSubprocessor writes/s, 1 and 32
 *     writers, next to raw durable LMDB one-record commits;
 *   - raw LMDB point reads and the in-process store calls, for context;
 *   - notifications: commit-to-receipt latency with 1 and 100 SUB
 *     subscribers (each its own connection), and the cost of catching up
 *     10,000 changes from the log through spreg_watch.
 *
 * Throughput is the median of BENCH_ROUNDS rounds, each echo/spreg pair
 * measured back to back, so ratios compare like with like. The echo
 * server is this program re-executed as a child process (--echo-server),
 * so it has the same process topology as spregd: clients here, server in
 * another process, each with its own nng threads.
 *
 * Targets are reported, never enforced: the exit status is non-zero only
 * when something failed (the server did not start, a call returned an
 * error). The figures also go to $BENCH_JSON when set.
 *
 * Environment: SPREGD (path of spregd, required), BENCH_JSON,
 * BENCH_MEASURE_MS (per round, default 2000), BENCH_ROUNDS (default 3),
 * BENCH_VENDORS (default 100000), TMPDIR.
 */
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <lmdb.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/pubsub0/sub.h>
#include <nng/protocol/reqrep0/req.h>
#include <nng/transport/tcp/tcp.h>

#include "core/arena.h"
#include "core/catalog.h"
#include "core/pb.h"
#include "core/validate.h"
#include "db/db.h"
#include "db/record.h"
#include "spreg/client.h"
#include "spreg/watch.h"
#include "test_token.h"

#ifndef SPREG_TEST_DATA
#define SPREG_TEST_DATA "data"
#endif

#define VENDORS_DEFAULT 100000
#define POPULATE_BATCH 5000	/* records per durable transaction */
#define STORE_MAP_SIZE ((size_t) 2 << 30)
#define WARMUP_MS 500
#define MEASURE_MS_DEFAULT 2000
#define ROUNDS_DEFAULT 3
#define WRITE_MEASURE_MS 3000
#define RAW_MEASURE_MS 2000
#define MANY_CLIENTS 32
#define ECHO_CONTEXTS 32
#define PAGE_SIZE 100
#define SIZE_SAMPLES 256
#define READY_TIMEOUT_MS 20000
#define DIR_MAX_LEN 512		/* the temporary folder */
#define PATH_MAX_LEN 1024
#define URL_LEN 1100
#define SEED UINT64_C(0x5eed5eed2026)

/* The list benchmark's filter: common enough that the first page of 100
 * is full, so it measures a full page. */
#define LIST_CATEGORY "user.contact"
/* Given to one vendor in RARE_EVERY only (and never drawn otherwise). */
#define RARE_CATEGORY "user.health_and_medical.genetic"
#define RARE_EVERY 1000

#define TARGET_GET_RATIO 0.70	/* Get@32 >= 70 % of the echo */
#define TARGET_PAGE_COST 3.0	/* a page <= 3x the cost of a Get */

#define NOTIFY_WRITES 200	/* sequential puts per subscriber count */
#define NOTIFY_MANY 100
#define NOTIFY_WAIT_MS 5000
#define CATCHUP_CHANGES 10000

/* ---- time, randomness ---- */

static int64_t
now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t
wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
sleep_until_ns(int64_t t)
{
	for (;;) {
		int64_t left = t - now_ns();
		if (left <= 0) {
			return;
		}
		struct timespec ts = {left / 1000000000, left % 1000000000};
		nanosleep(&ts, NULL);
	}
}

static void
sleep_ms(int ms)
{
	sleep_until_ns(now_ns() + (int64_t) ms * 1000000);
}

/* splitmix64: deterministic, one state per vendor or per thread. */
static uint64_t
rng_next(uint64_t *state)
{
	uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static uint32_t
rng_below(uint64_t *state, uint32_t n)
{
	return (uint32_t) (rng_next(state) % n);
}

static long
env_long(const char *name, long def, long min, long max)
{
	const char *s = getenv(name);
	char *end;

	if (s == NULL || *s == '\0') {
		return def;
	}
	long v = strtol(s, &end, 10);
	if (*end != '\0' || v < min || v > max) {
		fprintf(stderr, "bench: %s: %ld to %ld; using %ld\n", name, min,
		    max, def);
		return def;
	}
	return v;
}

/* ---- synthetic vendors ---- */

static const char *const services[] = {"app", "billing", "support",
    "marketing", "analytics", "infrastructure", "communications"};
static const char *const countries[] = {"US", "DE", "FR", "IE", "GB", "CA",
    "IN", "RS", "JP", "BR", "NL", "SG", "AU", "PL", "CH"};
static const char *const roles[] = {"hosting", "processing", "storage",
    "backup", "support", "development"};
static const char *const name_first[] = {"Acme", "Nimbus", "Blue", "Vertex",
    "Quill", "Harbor", "Lumen", "Orbit", "Cedar", "Pixel", "Granite",
    "Atlas", "Juniper", "Signal", "Kestrel", "Mosaic"};
static const char *const name_second[] = {"Cloud", "Mail", "Pay", "Desk",
    "Metrics", "Labs", "Hosting", "Analytics", "Chat", "Data", "Ops",
    "Forms"};
static const char *const entity_form[] = {"Inc.", "GmbH", "SAS", "Ltd",
    "K.K.", "B.V.", "LLC", "Sp. z o.o."};

typedef struct safeguard_kind {
	const char *mechanism;
	const char *regime;
	const char *signed_on;
} safeguard_kind;

static const safeguard_kind safeguard_kinds[] = {
	{"eu-scc-2021-m2", "EU", "2022-01-10"},
	{"eu-scc-2021-m3", "EU", "2022-03-01"},
	{"uk-idta", "UK", "2022-06-15"},
	{"uk-addendum", "UK", "2022-09-01"},
	{"ch-standard-clauses", "CH", "2023-10-02"},
};

#define COUNT(a) (sizeof(a) / sizeof(*(a)))
#define SYNTH_CATS_MAX 7	/* 2-6 drawn + the rare one */
#define SYNTH_LOCS_MAX 3
#define SYNTH_SGS_MAX 2

/* The data-category keys vendors draw from: every non-root key of the
 * shipped taxonomy except RARE_CATEGORY. */
static const char **cat_pool;
static size_t cat_pool_len;

static bool
cat_pool_init(const catalog *cat)
{
	size_t n = catalog_category_count(cat);

	if ((cat_pool = calloc(n, sizeof(*cat_pool))) == NULL) {
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		const catalog_category *c = catalog_category_at(cat, i);
		if (c->parent[0] != '\0' && strcmp(c->key, RARE_CATEGORY) != 0) {
			cat_pool[cat_pool_len++] = c->key;
		}
	}
	return cat_pool_len >= 6;
}

/* A vendor and the storage its fields point into. */
typedef struct synth {
	Spreg__V1__Subprocessor sp;
	char id[VALIDATE_ID_MAX + 1];
	char name[96];
	char legal_entity[128];
	char purpose[320];
	char website[128];
	char *services[3];
	char *categories[SYNTH_CATS_MAX];
	Spreg__V1__Location locations[SYNTH_LOCS_MAX];
	Spreg__V1__Location *location_ptrs[SYNTH_LOCS_MAX];
	char *location_categories[SYNTH_LOCS_MAX][2];
	Spreg__V1__Safeguard safeguards[SYNTH_SGS_MAX];
	Spreg__V1__Safeguard *safeguard_ptrs[SYNTH_SGS_MAX];
	char document_refs[SYNTH_SGS_MAX][64];
} synth;

static bool
contains(char *const *list, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(list[i], s) == 0) {
			return true;
		}
	}
	return false;
}

/*
 * Fills s with synthetic vendor number `number` under id (NULL: the
 * registry id "vendor-%06d"). Deterministic: the same number always
 * gives the same record.
 */
static void
synth_make(synth *s, uint32_t number, const char *id)
{
	uint64_t r = SEED ^ ((uint64_t) number * UINT64_C(0x100000001b3));
	Spreg__V1__Subprocessor *sp = &s->sp;

	spreg__v1__subprocessor__init(sp);
	if (id != NULL) {
		snprintf(s->id, sizeof(s->id), "%s", id);
	} else {
		snprintf(s->id, sizeof(s->id), "vendor-%06" PRIu32, number);
	}
	const char *first = name_first[rng_below(&r, COUNT(name_first))];
	const char *second = name_second[rng_below(&r, COUNT(name_second))];
	snprintf(s->name, sizeof(s->name), "%s %s %06" PRIu32, first, second,
	    number);
	snprintf(s->legal_entity, sizeof(s->legal_entity), "%s %s %06" PRIu32
	    " %s", first, second, number,
	    entity_form[rng_below(&r, COUNT(entity_form))]);
	snprintf(s->website, sizeof(s->website),
	    "https://www.%s-%s-%06" PRIu32 ".example.com", first, second,
	    number);
	for (char *p = s->website; *p; p++) {
		if (*p >= 'A' && *p <= 'Z') {
			*p = (char) (*p - 'A' + 'a');
		}
	}
	sp->id = s->id;
	sp->name = s->name;
	sp->legal_entity = s->legal_entity;
	sp->website = s->website;

	size_t nservices = 1 + rng_below(&r, 3);
	while (sp->n_services < nservices) {
		char *svc = (char *) services[rng_below(&r, COUNT(services))];
		if (!contains(s->services, sp->n_services, svc)) {
			s->services[sp->n_services++] = svc;
		}
	}
	sp->services = s->services;

	size_t ncats = 2 + rng_below(&r, 5);
	while (sp->n_data_categories < ncats) {
		char *key = (char *) cat_pool[rng_below(&r,
		    (uint32_t) cat_pool_len)];
		if (!contains(s->categories, sp->n_data_categories, key)) {
			s->categories[sp->n_data_categories++] = key;
		}
	}
	if (number % RARE_EVERY == 7) {
		s->categories[sp->n_data_categories++] = RARE_CATEGORY;
	}
	sp->data_categories = s->categories;
	snprintf(s->purpose, sizeof(s->purpose),
	    "%s %s provides %s services for our product and processes %s "
	    "and related data on our behalf under a data processing "
	    "agreement.", first, second, s->services[0], s->categories[0]);
	sp->purpose = s->purpose;

	size_t nlocs = 1 + rng_below(&r, SYNTH_LOCS_MAX);
	for (size_t i = 0; i < nlocs; i++) {
		Spreg__V1__Location *loc = &s->locations[i];
		spreg__v1__location__init(loc);
		for (;;) {	/* (country, role) pairs are distinct */
			loc->country = (char *) countries[rng_below(&r,
			    COUNT(countries))];
			loc->role = (char *) roles[i == 0 ? 0 :
			    rng_below(&r, COUNT(roles))];
			bool dup = false;
			for (size_t j = 0; j < i; j++) {
				dup = dup || (strcmp(s->locations[j].country,
				                  loc->country) == 0 &&
				                 strcmp(s->locations[j].role,
				                     loc->role) == 0);
			}
			if (!dup) {
				break;
			}
		}
		/* Narrower than the vendor's categories: 0-2 of them. */
		size_t nlc = rng_below(&r, 3);
		for (size_t k = 0; k < nlc && k < sp->n_data_categories; k++) {
			char *key = s->categories[rng_below(&r,
			    (uint32_t) sp->n_data_categories)];
			if (!contains(s->location_categories[i],
			        loc->n_data_categories, key)) {
				s->location_categories[i]
				    [loc->n_data_categories++] = key;
			}
		}
		loc->data_categories = s->location_categories[i];
		s->location_ptrs[i] = loc;
	}
	sp->n_locations = nlocs;
	sp->locations = s->location_ptrs;

	size_t nsgs = 1 + rng_below(&r, SYNTH_SGS_MAX);
	size_t first_kind = rng_below(&r, COUNT(safeguard_kinds));
	for (size_t i = 0; i < nsgs; i++) {
		const safeguard_kind *k = &safeguard_kinds[(first_kind + i) %
		    COUNT(safeguard_kinds)];
		Spreg__V1__Safeguard *sg = &s->safeguards[i];
		spreg__v1__safeguard__init(sg);
		sg->mechanism = (char *) k->mechanism;
		sg->regime = (char *) k->regime;
		sg->signed_on = (char *) k->signed_on;
		snprintf(s->document_refs[i], sizeof(s->document_refs[i]),
		    "DPA-%06" PRIu32 "-%zu annex III", number, i + 1);
		sg->document_ref = s->document_refs[i];
		s->safeguard_ptrs[i] = sg;
	}
	sp->n_safeguards = nsgs;
	sp->safeguards = s->safeguard_ptrs;
	if (strcmp(s->locations[0].country, "US") == 0 &&
	    rng_below(&r, 2) == 0) {
		sp->dpf_certified_on = "2023-08-01";
	}
	sp->status = SP_STATUS_ACTIVE;
	sp->effective_from = "2020-01-01";
}

/* Does the vendor match a data_category filter (the key or below)? */
static bool
synth_matches(const synth *s, const char *key)
{
	size_t len = strlen(key);

	for (size_t i = 0; i < s->sp.n_data_categories; i++) {
		const char *k = s->sp.data_categories[i];
		if (strncmp(k, key, len) == 0 &&
		    (k[len] == '\0' || k[len] == '.')) {
			return true;
		}
	}
	return false;
}

/* ---- results ---- */

typedef struct measure {
	char name[64];
	const char *unit;
	double value;		/* median over rounds */
	double rounds[8];
	size_t nrounds;
	double p50_us, p99_us;	/* of the median round */
	double server_cpu_us;	/* server CPU per call, median round */
	double client_cpu_us;	/* this process's CPU per call */
	char baseline_name[64];
	double baseline;	/* 0: none */
	double ratio;		/* value / baseline, or a cost ratio */
	const char *ratio_kind;	/* "of baseline", "cost x Get" */
	int target;		/* 0 none, 1 met, -1 not met */
	char target_text[64];
} measure;

static measure measures[64];
static size_t nmeasures;
static bool failed;

static measure *
measure_add(const char *unit, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static measure *
measure_add(const char *unit, const char *fmt, ...)
{
	measure *m = &measures[nmeasures++];
	va_list ap;

	memset(m, 0, sizeof(*m));
	va_start(ap, fmt);
	vsnprintf(m->name, sizeof(m->name), fmt, ap);
	va_end(ap);
	m->unit = unit;
	return m;
}

/* ---- child processes ---- */

typedef struct child {
	pid_t pid;
	char ready_file[PATH_MAX_LEN];
	char urls[4][URL_LEN];
	size_t nurls;
} child;

static child spregd_child, echo_child;

static bool
child_spawn(child *c, char *const argv[])
{
	unlink(c->ready_file);
	pid_t pid = fork();
	if (pid < 0) {
		fprintf(stderr, "bench: fork: %s\n", strerror(errno));
		return false;
	}
	if (pid == 0) {
		execv(argv[0], argv);
		fprintf(stderr, "bench: exec %s: %s\n", argv[0],
		    strerror(errno));
		_exit(127);
	}
	c->pid = pid;
	return true;
}

/* Polls for the child's ready file (bounded), then reads its URLs. */
static bool
child_wait_ready(child *c, const char *what)
{
	int64_t deadline = now_ns() + (int64_t) READY_TIMEOUT_MS * 1000000;
	int status;

	while (access(c->ready_file, R_OK) != 0) {
		if (waitpid(c->pid, &status, WNOHANG) == c->pid) {
			fprintf(stderr, "bench: %s exited before it was ready "
			    "(status %d)\n", what, status);
			c->pid = 0;
			return false;
		}
		if (now_ns() > deadline) {
			fprintf(stderr, "bench: %s not ready after %d ms\n",
			    what, READY_TIMEOUT_MS);
			return false;
		}
		sleep_ms(10);
	}
	FILE *f = fopen(c->ready_file, "r");
	if (f == NULL) {
		fprintf(stderr, "bench: %s: %s\n", c->ready_file,
		    strerror(errno));
		return false;
	}
	char line[URL_LEN];
	c->nurls = 0;
	while (c->nurls < COUNT(c->urls) && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] != '\0') {
			snprintf(c->urls[c->nurls++], URL_LEN, "%s", line);
		}
	}
	fclose(f);
	return true;
}

static const char *
child_url(const child *c, const char *scheme)
{
	for (size_t i = 0; i < c->nurls; i++) {
		if (strncmp(c->urls[i], scheme, strlen(scheme)) == 0) {
			return c->urls[i];
		}
	}
	return NULL;
}

static void
child_stop(child *c, const char *what)
{
	int status;

	if (c->pid <= 0) {
		return;
	}
	kill(c->pid, SIGTERM);
	int64_t deadline = now_ns() + (int64_t) 10000 * 1000000;
	for (;;) {
		pid_t r = waitpid(c->pid, &status, WNOHANG);
		if (r == c->pid || (r < 0 && errno != EINTR)) {
			break;
		}
		if (now_ns() > deadline) {
			fprintf(stderr, "bench: %s ignores SIGTERM; killing it\n",
			    what);
			kill(c->pid, SIGKILL);
			waitpid(c->pid, &status, 0);
			break;
		}
		sleep_ms(10);
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
		fprintf(stderr, "bench: %s exited with status %d\n", what,
		    WEXITSTATUS(status));
	}
	c->pid = 0;
}

/* CPU time (user + system) of a process in microseconds; -1 if unknown. */
static double
child_cpu_us(pid_t pid)
{
	char path[64], buf[1024];
	unsigned long utime, stime;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		return -1;
	}
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	const char *p = strrchr(buf, ')');	/* after the command name */
	if (p == NULL ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
	        &utime, &stime) != 2) {
		return -1;
	}
	return (double) (utime + stime) * 1e6 / (double) sysconf(_SC_CLK_TCK);
}

static double
self_cpu_us(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double) (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 +
	    (double) (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

/* ---- the echo server (this program as a child process) ---- */

typedef struct echo_ctx {
	nng_ctx ctx;
	nng_aio *aio;
	bool sending;
} echo_ctx;

static size_t echo_reply_size;

static void
echo_cb(void *arg)
{
	echo_ctx *c = arg;
	int rv = nng_aio_result(c->aio);

	if (c->sending) {
		if (rv != 0) {
			nng_msg_free(nng_aio_get_msg(c->aio));
		}
		c->sending = false;
		nng_ctx_recv(c->ctx, c->aio);
		return;
	}
	if (rv == NNG_ECLOSED || rv == NNG_ECANCELED) {
		return;
	}
	if (rv != 0) {
		nng_ctx_recv(c->ctx, c->aio);
		return;
	}
	/* Like spregd: the reply replaces the request's body in the same
	 * message (the REP header, the route back, stays). */
	nng_msg *msg = nng_aio_get_msg(c->aio);
	nng_msg_clear(msg);
	if (nng_msg_realloc(msg, echo_reply_size) != 0) {
		nng_msg_free(msg);
		nng_ctx_recv(c->ctx, c->aio);
		return;
	}
	memset(nng_msg_body(msg), 0x5a, echo_reply_size);
	nng_aio_set_msg(c->aio, msg);
	c->sending = true;
	nng_ctx_send(c->ctx, c->aio);
}

static int
echo_main(const char *dir, const char *size_arg)
{
	static echo_ctx ctxs[ECHO_CONTEXTS];
	char ipc_url[URL_LEN], tcp_url[URL_LEN], path[PATH_MAX_LEN];
	nng_socket sock;
	nng_listener l;
	int rv, port;
	sigset_t sigs;

	echo_reply_size = strtoul(size_arg, NULL, 10);
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	snprintf(ipc_url, sizeof(ipc_url), "ipc://%s/echo.ipc", dir);
	if ((rv = nng_rep0_open(&sock)) != 0 ||
	    (rv = nng_socket_set_size(sock, NNG_OPT_RECVMAXSZ,
	         (size_t) 1 << 20)) != 0) {
		fprintf(stderr, "echo: socket: %s\n", nng_strerror(rv));
		return 1;
	}
	for (size_t i = 0; i < ECHO_CONTEXTS; i++) {
		if ((rv = nng_ctx_open(&ctxs[i].ctx, sock)) != 0 ||
		    (rv = nng_aio_alloc(&ctxs[i].aio, echo_cb, &ctxs[i])) !=
		        0) {
			fprintf(stderr, "echo: context: %s\n", nng_strerror(rv));
			return 1;
		}
	}
	if ((rv = nng_listen(sock, ipc_url, NULL, 0)) != 0 ||
	    (rv = nng_listen(sock, "tcp://127.0.0.1:0", &l, 0)) != 0 ||
	    (rv = nng_listener_get_int(l, NNG_OPT_TCP_BOUND_PORT, &port)) !=
	        0) {
		fprintf(stderr, "echo: listen: %s\n", nng_strerror(rv));
		return 1;
	}
	snprintf(tcp_url, sizeof(tcp_url), "tcp://127.0.0.1:%d", port);
	for (size_t i = 0; i < ECHO_CONTEXTS; i++) {
		nng_ctx_recv(ctxs[i].ctx, ctxs[i].aio);
	}
	snprintf(path, sizeof(path), "%s/echo-ready.tmp", dir);
	FILE *f = fopen(path, "w");
	if (f == NULL) {
		return 1;
	}
	fprintf(f, "%s\n%s\n", ipc_url, tcp_url);
	fclose(f);
	char ready[PATH_MAX_LEN];
	snprintf(ready, sizeof(ready), "%s/echo-ready", dir);
	if (rename(path, ready) != 0) {
		return 1;
	}
	int sig;
	sigwait(&sigs, &sig);
	return 0;	/* exit closes everything */
}

/* ---- load generation ---- */

typedef enum load_kind {
	LOAD_ECHO,
	LOAD_GET,
	LOAD_LIST,
	LOAD_PUT,
} load_kind;

typedef struct phase {
	load_kind kind;
	const char *url;
	size_t clients;
	uint32_t vendors;	/* Get: ids drawn from 0..vendors-1 */
	size_t echo_request_size;
	size_t echo_reply_size;
	unsigned put_series;	/* Put: makes every phase's ids new */
	int64_t t0, t1;		/* measurement window, monotonic ns */
	pthread_barrier_t opened, go;
	pthread_mutex_t mu;
	char error[300];	/* the first failure */
	atomic_int failures;
} phase;

typedef struct load_thread {
	phase *p;
	size_t index;
	pthread_t thread;
	uint64_t *lat;		/* ns per completed call in the window */
	size_t nlat, cap;
} load_thread;

typedef struct load_result {
	double per_s;
	double p50_us, p99_us;
	double server_cpu_us, client_cpu_us;	/* per call */
	size_t calls;
} load_result;

static void
phase_fail(phase *p, const char *fmt, const char *what, const char *why)
{
	pthread_mutex_lock(&p->mu);
	if (p->error[0] == '\0') {
		snprintf(p->error, sizeof(p->error), fmt, what, why);
	}
	pthread_mutex_unlock(&p->mu);
	atomic_fetch_add(&p->failures, 1);
}

static bool
lat_push(load_thread *lt, uint64_t ns)
{
	if (lt->nlat == lt->cap) {
		size_t cap = lt->cap ? lt->cap * 2 : 4096;
		uint64_t *lat = realloc(lt->lat, cap * sizeof(*lat));
		if (lat == NULL) {
			return false;
		}
		lt->lat = lat;
		lt->cap = cap;
	}
	lt->lat[lt->nlat++] = ns;
	return true;
}

/* One call of the phase's kind; false on failure (recorded in p). */
typedef struct call_state {
	spreg_client *client;
	/* Reads decode into an arena reset per call: what a client that
	 * pages through large lists would do (spreg_call_arena). */
	spreg_arena *arena;
	nng_socket sock;
	uint64_t rng;
	uint32_t put_count;
	synth s;
} call_state;

static bool
call_once(load_thread *lt, call_state *cs)
{
	phase *p = lt->p;
	spreg_status st;

	switch (p->kind) {
	case LOAD_ECHO: {
		nng_msg *msg;
		int rv;
		if ((rv = nng_msg_alloc(&msg, p->echo_request_size)) != 0) {
			phase_fail(p, "%s: %s", "echo", nng_strerror(rv));
			return false;
		}
		memset(nng_msg_body(msg), 0x61, p->echo_request_size);
		if ((rv = nng_sendmsg(cs->sock, msg, 0)) != 0) {
			nng_msg_free(msg);
			phase_fail(p, "%s: send: %s", "echo", nng_strerror(rv));
			return false;
		}
		if ((rv = nng_recvmsg(cs->sock, &msg, 0)) != 0) {
			phase_fail(p, "%s: receive: %s", "echo",
			    nng_strerror(rv));
			return false;
		}
		bool ok = nng_msg_len(msg) == p->echo_reply_size;
		nng_msg_free(msg);
		if (!ok) {
			phase_fail(p, "%s: %s", "echo", "wrong reply size");
		}
		return ok;
	}
	case LOAD_GET: {
		Spreg__V1__GetSubprocessorRequest req =
		    SPREG__V1__GET_SUBPROCESSOR_REQUEST__INIT;
		Spreg__V1__GetSubprocessorResponse *resp = NULL;
		char id[32];
		snprintf(id, sizeof(id), "vendor-%06" PRIu32,
		    rng_below(&cs->rng, p->vendors));
		req.id = id;
		spreg_arena_reset(cs->arena);
		st = spreg_call_arena(cs->client, "GetSubprocessor", &req.base,
		    &spreg__v1__get_subprocessor_response__descriptor, cs->arena,
		    (ProtobufCMessage **) &resp);
		if (st == SPREG_OK && (resp->subprocessor == NULL ||
		                          strcmp(resp->subprocessor->id, id) != 0)) {
			st = SPREG_INTERNAL;
		}
		break;
	}
	case LOAD_LIST: {
		Spreg__V1__ListSubprocessorsRequest req =
		    SPREG__V1__LIST_SUBPROCESSORS_REQUEST__INIT;
		Spreg__V1__ListSubprocessorsResponse *resp = NULL;
		req.data_category = LIST_CATEGORY;
		req.page_size = PAGE_SIZE;
		spreg_arena_reset(cs->arena);
		st = spreg_call_arena(cs->client, "ListSubprocessors", &req.base,
		    &spreg__v1__list_subprocessors_response__descriptor,
		    cs->arena, (ProtobufCMessage **) &resp);
		if (st == SPREG_OK && resp->n_subprocessors != PAGE_SIZE) {
			st = SPREG_INTERNAL;
		}
		break;
	}
	case LOAD_PUT: {
		Spreg__V1__PutSubprocessorRequest req =
		    SPREG__V1__PUT_SUBPROCESSOR_REQUEST__INIT;
		Spreg__V1__PutSubprocessorResponse *resp = NULL;
		char id[VALIDATE_ID_MAX + 1];
		uint32_t n = cs->put_count++;
		snprintf(id, sizeof(id), "bench-w%u-%02zu-%07" PRIu32,
		    p->put_series, lt->index, n);
		synth_make(&cs->s, (uint32_t) (lt->index * 1000003u + n), id);
		req.subprocessor = &cs->s.sp;
		st = spreg_call(cs->client, "PutSubprocessor", &req.base,
		    &spreg__v1__put_subprocessor_response__descriptor,
		    (ProtobufCMessage **) &resp);
		if (st == SPREG_OK && (resp->change == NULL ||
		                          resp->subprocessor == NULL ||
		                          resp->subprocessor->revision != 1)) {
			st = SPREG_INTERNAL;
		}
		spreg_message_free(resp ? &resp->base : NULL);
		break;
	}
	default:
		return false;
	}
	if (st != SPREG_OK) {
		phase_fail(p, "%s: %s", spreg_status_name(st),
		    st == SPREG_INTERNAL && spreg_client_error(cs->client)[0] ==
		            '\0' ?
		        "unexpected reply content" :
		        spreg_client_error(cs->client));
		return false;
	}
	return true;
}

static void *
load_main(void *arg)
{
	load_thread *lt = arg;
	phase *p = lt->p;
	call_state *cs = calloc(1, sizeof(*cs));
	bool open = false;
	int rv;

	if (cs == NULL || spreg_arena_create(&cs->arena) != SPREG_OK) {
		phase_fail(p, "%s: %s", "client", "out of memory");
	} else if (p->kind == LOAD_ECHO) {
		if ((rv = nng_req0_open(&cs->sock)) != 0 ||
		    (rv = nng_socket_set_ms(cs->sock, NNG_OPT_RECVTIMEO,
		         10000)) != 0 ||
		    (rv = nng_socket_set_size(cs->sock, NNG_OPT_RECVMAXSZ,
		         (size_t) 1 << 20)) != 0 ||
		    (rv = nng_dial(cs->sock, p->url, NULL, 0)) != 0) {
			phase_fail(p, "%s: %s", p->url, nng_strerror(rv));
			nng_close(cs->sock);
		} else {
			open = true;
		}
	} else {
		spreg_status st = test_client_open(p->url, false,
		    &cs->client);
		if (st != SPREG_OK) {
			phase_fail(p, "%s: %s", p->url, spreg_status_name(st));
		} else {
			spreg_client_set_actor(cs->client, "bench");
			open = true;
		}
	}
	if (cs != NULL) {
		cs->rng = SEED ^ (0xc0ffee + lt->index * 7919 +
		    (uint64_t) p->kind * 104729 + (uint64_t) now_ns());
	}
	pthread_barrier_wait(&p->opened);
	pthread_barrier_wait(&p->go);	/* t0 and t1 are set */
	while (open && atomic_load(&p->failures) == 0) {
		int64_t start = now_ns();
		if (start >= p->t1) {
			break;
		}
		if (!call_once(lt, cs)) {
			break;
		}
		int64_t end = now_ns();
		if (end >= p->t0 && end < p->t1 &&
		    !lat_push(lt, (uint64_t) (end - start))) {
			phase_fail(p, "%s: %s", "latency", "out of memory");
			break;
		}
	}
	if (open) {
		if (p->kind == LOAD_ECHO) {
			nng_close(cs->sock);
		} else {
			spreg_client_close(cs->client);
		}
	}
	if (cs != NULL) {
		spreg_arena_destroy(cs->arena);
	}
	free(cs);
	return NULL;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
	return x < y ? -1 : x > y;
}

static double
percentile_us(const uint64_t *sorted, size_t n, double q)
{
	if (n == 0) {
		return 0;
	}
	size_t i = (size_t) (q * (double) (n - 1) + 0.5);
	return (double) sorted[i] / 1000.0;
}

/*
 * Runs p->clients threads for a warm-up and a window of measure_ms;
 * counts calls completed in the window. False (with the reason printed)
 * when any call failed.
 */
static bool
phase_run(phase *p, pid_t server, int measure_ms, load_result *out)
{
	load_thread *threads = calloc(p->clients, sizeof(*threads));
	bool ok = true;

	if (threads == NULL) {
		return false;
	}
	p->error[0] = '\0';
	atomic_store(&p->failures, 0);
	pthread_mutex_init(&p->mu, NULL);
	pthread_barrier_init(&p->opened, NULL, (unsigned) p->clients + 1);
	pthread_barrier_init(&p->go, NULL, (unsigned) p->clients + 1);
	size_t started = 0;
	for (; started < p->clients; started++) {
		threads[started].p = p;
		threads[started].index = started;
		if (pthread_create(&threads[started].thread, NULL, load_main,
		        &threads[started]) != 0) {
			break;
		}
	}
	if (started < p->clients) {
		/* Cannot happen in practice; the barriers would hang. */
		fprintf(stderr, "bench: cannot start client threads\n");
		abort();
	}
	pthread_barrier_wait(&p->opened);
	p->t0 = now_ns() + (int64_t) WARMUP_MS * 1000000;
	p->t1 = p->t0 + (int64_t) measure_ms * 1000000;
	pthread_barrier_wait(&p->go);
	sleep_until_ns(p->t0);
	double srv0 = child_cpu_us(server), cli0 = self_cpu_us();
	sleep_until_ns(p->t1);
	double srv1 = child_cpu_us(server), cli1 = self_cpu_us();

	size_t total = 0;
	for (size_t i = 0; i < p->clients; i++) {
		pthread_join(threads[i].thread, NULL);
		total += threads[i].nlat;
	}
	uint64_t *all = malloc((total ? total : 1) * sizeof(*all));
	size_t n = 0;
	for (size_t i = 0; i < p->clients; i++) {
		if (all != NULL) {
			memcpy(all + n, threads[i].lat,
			    threads[i].nlat * sizeof(*all));
			n += threads[i].nlat;
		}
		free(threads[i].lat);
	}
	free(threads);
	pthread_barrier_destroy(&p->opened);
	pthread_barrier_destroy(&p->go);
	pthread_mutex_destroy(&p->mu);
	if (atomic_load(&p->failures) > 0 || all == NULL || total == 0) {
		fprintf(stderr, "bench: %s with %zu client(s) failed: %s\n",
		    p->url, p->clients,
		    p->error[0] ? p->error : "no call completed");
		ok = false;
	}
	qsort(all, n, sizeof(*all), cmp_u64);
	out->calls = n;
	out->per_s = (double) n * 1000.0 / measure_ms;
	out->p50_us = percentile_us(all, n, 0.50);
	out->p99_us = percentile_us(all, n, 0.99);
	out->server_cpu_us = srv0 >= 0 && srv1 >= 0 && n ?
	    (srv1 - srv0) / (double) n : 0;
	out->client_cpu_us = n ? (cli1 - cli0) / (double) n : 0;
	free(all);
	return ok;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *) a, y = *(const double *) b;
	return x < y ? -1 : x > y;
}

/* Median of n values (n <= 8); a is reordered. */
static double
median(double *a, size_t n)
{
	qsort(a, n, sizeof(*a), cmp_double);
	return n % 2 ? a[n / 2] : (a[n / 2 - 1] + a[n / 2]) / 2;
}

static int
cmp_result(const void *a, const void *b)
{
	double x = ((const load_result *) a)->per_s;
	double y = ((const load_result *) b)->per_s;
	return x < y ? -1 : x > y;
}

/* Fills m from rounds: the median throughput and that round's latencies. */
static void
measure_from_rounds(measure *m, load_result *r, size_t nrounds)
{
	for (size_t i = 0; i < nrounds && i < COUNT(m->rounds); i++) {
		m->rounds[i] = r[i].per_s;
	}
	m->nrounds = nrounds;
	qsort(r, nrounds, sizeof(*r), cmp_result);
	const load_result *med = &r[nrounds / 2];
	m->value = med->per_s;
	m->p50_us = med->p50_us;
	m->p99_us = med->p99_us;
	m->server_cpu_us = med->server_cpu_us;
	m->client_cpu_us = med->client_cpu_us;
}

/* ---- population and the in-process store figures ---- */

typedef struct populate_batch {
	const catalog *cat;
	uint32_t first, count;
	arena *a;
	int64_t now_ms;
} populate_batch;

static spreg_status
populate_fn(db_txn *t, void *arg, err *e)
{
	populate_batch *b = arg;
	db_actor who = {"bench (synthetic registry)", 0, b->now_ms, NULL};
	synth s;
	spreg_status st;

	for (uint32_t i = b->first; i < b->first + b->count; i++) {
		Spreg__V1__Change *change;
		arena_reset(b->a);
		synth_make(&s, i, NULL);
		if ((st = validate_subprocessor(b->cat, NULL, NULL, &s.sp,
		         e)) != SPREG_OK ||
		    (st = db_sp_put(t, &s.sp, 0, false, &who, b->a, &change,
		         e)) != SPREG_OK) {
			return st;
		}
		if (change == NULL) {
			return err_set(e, SPREG_INTERNAL, "%s: not stored", s.id);
		}
	}
	return SPREG_OK;
}

typedef struct store_figures {
	double populate_s;
	double store_puts_per_s;	/* one record per durable db_write */
	uint32_t store_puts;
	double raw_reads_per_s;
	double store_gets_per_s;
	double store_pages_per_s;
	size_t page_records;
} store_figures;

/* Single-threaded reads in this process, before spregd opens the store. */
static bool
store_reads(db *d, uint32_t vendors, store_figures *fig)
{
	db_session *s = NULL;
	arena a;
	db_txn t;
	err e;
	int rc;
	uint64_t rng = SEED;
	bool ok = false;

	arena_init(&a, (size_t) 16 << 20);
	if (db_session_create(d, &s) != SPREG_OK ||
	    db_read_begin(s, &t, &e) != SPREG_OK) {
		goto out;
	}
	MDB_env *env = mdb_txn_env(t.txn);
	MDB_dbi dbi = db_dbi(d, DB_SP);
	db_read_end(s);

	/* Raw LMDB: renew, mdb_get, reset per read. */
	MDB_txn *rtxn;
	if ((rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &rtxn)) != 0) {
		fprintf(stderr, "bench: read txn: %s\n", mdb_strerror(rc));
		goto out;
	}
	mdb_txn_reset(rtxn);
	size_t reads = 0;
	int64_t end = now_ns() + (int64_t) RAW_MEASURE_MS * 1000000 / 2;
	int64_t start = now_ns();
	while (now_ns() < end) {
		for (int k = 0; k < 256; k++) {
			char id[32];
			snprintf(id, sizeof(id), "vendor-%06" PRIu32,
			    rng_below(&rng, vendors));
			MDB_val key = {strlen(id), id}, val;
			if ((rc = mdb_txn_renew(rtxn)) != 0 ||
			    (rc = mdb_get(rtxn, dbi, &key, &val)) != 0) {
				fprintf(stderr, "bench: raw read %s: %s\n", id,
				    mdb_strerror(rc));
				mdb_txn_abort(rtxn);
				goto out;
			}
			mdb_txn_reset(rtxn);
			reads++;
		}
	}
	fig->raw_reads_per_s = (double) reads * 1e9 /
	    (double) (now_ns() - start);
	mdb_txn_abort(rtxn);

	/* The store's own calls: db_sp_get decodes into an arena. */
	size_t gets = 0;
	start = now_ns();
	end = start + (int64_t) RAW_MEASURE_MS * 1000000 / 2;
	while (now_ns() < end) {
		for (int k = 0; k < 64; k++) {
			char id[32];
			Spreg__V1__Subprocessor *sp;
			snprintf(id, sizeof(id), "vendor-%06" PRIu32,
			    rng_below(&rng, vendors));
			arena_reset(&a);
			if (db_read_begin(s, &t, &e) != SPREG_OK) {
				goto out;
			}
			spreg_status st = db_sp_get(&t, id, 0, &a, &sp, &e);
			db_read_end(s);
			if (st != SPREG_OK) {
				fprintf(stderr, "bench: db_sp_get: %s\n", e.msg);
				goto out;
			}
			gets++;
		}
	}
	fig->store_gets_per_s = (double) gets * 1e9 /
	    (double) (now_ns() - start);

	size_t pages = 0;
	start = now_ns();
	end = start + (int64_t) RAW_MEASURE_MS * 1000000 / 2;
	while (now_ns() < end) {
		db_sp_filter f = {LIST_CATEGORY, NULL, NULL, NULL,
		    SP_STATUS_UNSPECIFIED, NULL, 0};
		Spreg__V1__Subprocessor **items;
		bool more;
		arena_reset(&a);
		if (db_read_begin(s, &t, &e) != SPREG_OK) {
			goto out;
		}
		spreg_status st = db_sp_list(&t, &f, "", PAGE_SIZE, &a, &items,
		    &fig->page_records, &more, &e);
		db_read_end(s);
		if (st != SPREG_OK) {
			fprintf(stderr, "bench: db_sp_list: %s\n", e.msg);
			goto out;
		}
		pages++;
	}
	fig->store_pages_per_s = (double) pages * 1e9 /
	    (double) (now_ns() - start);
	ok = true;
out:
	db_session_destroy(s);
	arena_fini(&a);
	return ok;
}

static bool
populate(const char *dir, const catalog *cat, uint32_t vendors,
    store_figures *fig)
{
	db_options o = {.dir = dir, .map_size = STORE_MAP_SIZE};
	db_session *s = NULL;
	db *d = NULL;
	arena a;
	err e;
	bool ok = false;

	arena_init(&a, (size_t) 1 << 20);
	if (db_open(&o, &d, &e) != SPREG_OK) {
		fprintf(stderr, "bench: db_open %s: %s\n", dir, e.msg);
		goto out;
	}
	if (db_session_create(d, &s) != SPREG_OK) {
		goto out;
	}
	int64_t start = now_ns();
	for (uint32_t first = 0; first < vendors; first += POPULATE_BATCH) {
		populate_batch b = {cat, first, vendors - first < POPULATE_BATCH ?
		    vendors - first : POPULATE_BATCH, &a, wall_ms()};
		if (db_write(s, populate_fn, &b, &e) != SPREG_OK) {
			fprintf(stderr, "bench: populate: %s\n", e.msg);
			goto out;
		}
	}
	fig->populate_s = (double) (now_ns() - start) / 1e9;

	db_session_destroy(s);
	s = NULL;
	ok = store_reads(d, vendors, fig);
out:
	db_session_destroy(s);
	db_close(d);
	arena_fini(&a);
	return ok;
}

/* One record per durable db_write, as PutSubprocessor writes, but in
 * this process: no network, no RPC, no request-id record. */
static bool
store_single_puts(const char *dir, const catalog *cat, uint32_t vendors,
    store_figures *fig)
{
	db_options o = {.dir = dir, .map_size = STORE_MAP_SIZE};
	db_session *s = NULL;
	db *d = NULL;
	arena a;
	err e;
	bool ok = false;

	arena_init(&a, (size_t) 1 << 20);
	if (db_open(&o, &d, &e) != SPREG_OK) {
		fprintf(stderr, "bench: db_open %s: %s\n", dir, e.msg);
		goto out;
	}
	if (db_session_create(d, &s) != SPREG_OK) {
		goto out;
	}
	int64_t start = now_ns();
	int64_t end = start + (int64_t) RAW_MEASURE_MS * 1000000;
	while (now_ns() < end) {
		populate_batch b = {cat, vendors + fig->store_puts, 1, &a,
		    wall_ms()};
		if (db_write(s, populate_fn, &b, &e) != SPREG_OK) {
			fprintf(stderr, "bench: single put: %s\n", e.msg);
			goto out;
		}
		fig->store_puts++;
	}
	fig->store_puts_per_s = (double) fig->store_puts * 1e9 /
	    (double) (now_ns() - start);
	ok = true;
out:
	db_session_destroy(s);
	db_close(d);
	arena_fini(&a);
	return ok;
}

/* Durable one-record commits on a fresh environment (the fsync floor). */
static bool
raw_commits(const char *tmpdir, int index, double *per_s)
{
	char dir[PATH_MAX_LEN];
	MDB_env *env = NULL;
	MDB_dbi dbi;
	MDB_txn *txn;
	unsigned char value[512];
	int rc;

	memset(value, 0x42, sizeof(value));
	snprintf(dir, sizeof(dir), "%s/raw-lmdb-%d", tmpdir, index);
	errno = 0;
	if (mkdir(dir, 0700) != 0 ||
	    (rc = mdb_env_create(&env)) != 0 ||
	    (rc = mdb_env_set_mapsize(env, (size_t) 256 << 20)) != 0 ||
	    (rc = mdb_env_open(env, dir, MDB_NOTLS, 0600)) != 0 ||
	    (rc = mdb_txn_begin(env, NULL, 0, &txn)) != 0 ||
	    (rc = mdb_dbi_open(txn, NULL, 0, &dbi)) != 0 ||
	    (rc = mdb_txn_commit(txn)) != 0) {
		fprintf(stderr, "bench: raw lmdb %s: %s\n", dir,
		    errno ? strerror(errno) : "environment");
		if (env != NULL) {
			mdb_env_close(env);
		}
		return false;
	}
	uint64_t n = 0;
	int64_t start = now_ns(), end = start +
	    (int64_t) RAW_MEASURE_MS * 1000000;
	while (now_ns() < end) {
		unsigned char key[8];
		db_be64_put(key, n);
		MDB_val k = {sizeof(key), key}, v = {sizeof(value), value};
		if ((rc = mdb_txn_begin(env, NULL, 0, &txn)) != 0) {
			break;
		}
		if ((rc = mdb_put(txn, dbi, &k, &v, MDB_APPEND)) != 0) {
			mdb_txn_abort(txn);
			break;
		}
		if ((rc = mdb_txn_commit(txn)) != 0) {
			break;	/* a failed commit freed the txn */
		}
		n++;
	}
	*per_s = (double) n * 1e9 / (double) (now_ns() - start);
	mdb_env_close(env);
	if (rc != 0) {
		fprintf(stderr, "bench: raw lmdb commit: %s\n", mdb_strerror(rc));
		return false;
	}
	return true;
}

/* ---- checks and sizes through the real server ---- */

static bool
check_server(const char *url, uint32_t vendors, uint32_t records,
    size_t *req_size, size_t *reply_size, size_t *page_bytes,
    double *pack_per_s, double *unpack_per_s)
{
	spreg_client *c;
	spreg_status st;
	bool ok = false;

	if ((st = test_client_open(url, false, &c)) != SPREG_OK) {
		fprintf(stderr, "bench: connect %s: %s\n", url,
		    spreg_status_name(st));
		return false;
	}
	spreg_client_set_actor(c, "bench");

	Spreg__V1__ServerInfoRequest info_req =
	    SPREG__V1__SERVER_INFO_REQUEST__INIT;
	Spreg__V1__ServerInfoResponse *info = NULL;
	if ((st = spreg_call(c, "ServerInfo", &info_req.base,
	         &spreg__v1__server_info_response__descriptor,
	         (ProtobufCMessage **) &info)) != SPREG_OK) {
		fprintf(stderr, "bench: ServerInfo: %s: %s\n",
		    spreg_status_name(st), spreg_client_error(c));
		goto out;
	}
	bool count_ok = info->subprocessors == records;
	if (!count_ok) {
		fprintf(stderr, "bench: server holds %" PRIu64 " records, not "
		    "%" PRIu32 "\n", info->subprocessors, records);
	}
	spreg_message_free(&info->base);
	if (!count_ok) {
		goto out;
	}

	/* Mean envelope sizes of real Get calls, for the echo. */
	uint64_t rng = SEED ^ 42;
	size_t req_total = 0, reply_total = 0;
	for (size_t i = 0; i < SIZE_SAMPLES; i++) {
		Spreg__V1__GetSubprocessorRequest req =
		    SPREG__V1__GET_SUBPROCESSOR_REQUEST__INIT;
		Spreg__V1__GetSubprocessorResponse *resp = NULL;
		char id[32];
		uint32_t number = rng_below(&rng, vendors);
		snprintf(id, sizeof(id), "vendor-%06" PRIu32, number);
		req.id = id;
		if ((st = spreg_call(c, "GetSubprocessor", &req.base,
		         &spreg__v1__get_subprocessor_response__descriptor,
		         (ProtobufCMessage **) &resp)) != SPREG_OK) {
			fprintf(stderr, "bench: GetSubprocessor %s: %s: %s\n", id,
			    spreg_status_name(st), spreg_client_error(c));
			goto out;
		}
		synth s;
		synth_make(&s, number, NULL);
		bool same = resp->subprocessor != NULL &&
		    strcmp(resp->subprocessor->name, s.name) == 0 &&
		    resp->subprocessor->revision == 1;
		/* The envelopes as spreg_call and spregd build them; random
		 * request ids take 10 bytes half the time. */
		Spreg__V1__Request env = SPREG__V1__REQUEST__INIT;
		env.method = "spreg.v1.Registry/GetSubprocessor";
		env.request_id = UINT64_MAX;
		env.timeout_ms = 10000;
		env.actor = "bench";
		env.token = test_token;
		env.payload.len = spreg__v1__get_subprocessor_request__get_packed_size(&req);
		Spreg__V1__Reply reply = SPREG__V1__REPLY__INIT;
		reply.request_id = UINT64_MAX;
		reply.payload.len = spreg__v1__get_subprocessor_response__get_packed_size(resp);
		req_total += spreg__v1__request__get_packed_size(&env);
		reply_total += spreg__v1__reply__get_packed_size(&reply);
		spreg_message_free(&resp->base);
		if (!same) {
			fprintf(stderr, "bench: GetSubprocessor %s: not the "
			    "record written\n", id);
			goto out;
		}
	}
	*req_size = (req_total + SIZE_SAMPLES / 2) / SIZE_SAMPLES;
	*reply_size = (reply_total + SIZE_SAMPLES / 2) / SIZE_SAMPLES;

	Spreg__V1__ListSubprocessorsRequest lreq =
	    SPREG__V1__LIST_SUBPROCESSORS_REQUEST__INIT;
	Spreg__V1__ListSubprocessorsResponse *list = NULL;
	lreq.data_category = LIST_CATEGORY;
	lreq.page_size = PAGE_SIZE;
	if ((st = spreg_call(c, "ListSubprocessors", &lreq.base,
	         &spreg__v1__list_subprocessors_response__descriptor,
	         (ProtobufCMessage **) &list)) != SPREG_OK) {
		fprintf(stderr, "bench: ListSubprocessors: %s: %s\n",
		    spreg_status_name(st), spreg_client_error(c));
		goto out;
	}
	bool full = list->n_subprocessors == PAGE_SIZE &&
	    list->next_page_token[0] != '\0';
	*page_bytes = spreg__v1__list_subprocessors_response__get_packed_size(
	    list);
	/* What a page costs to encode (server) and decode (client) alone. */
	uint8_t *buf = malloc(*page_bytes + 1);
	size_t packs = 0, unpacks = 0;
	int64_t start = now_ns(), end = start + 250000000;
	while (buf != NULL && now_ns() < end) {
		size_t n = spreg__v1__list_subprocessors_response__get_packed_size(
		    list);
		spreg__v1__list_subprocessors_response__pack(list, buf);
		packs += n == *page_bytes;
	}
	*pack_per_s = (double) packs * 1e9 / (double) (now_ns() - start);
	start = now_ns();
	end = start + 250000000;
	while (buf != NULL && now_ns() < end) {
		Spreg__V1__ListSubprocessorsResponse *copy =
		    spreg__v1__list_subprocessors_response__unpack(NULL,
		        *page_bytes, buf);
		if (copy == NULL) {
			break;
		}
		unpacks++;
		spreg__v1__list_subprocessors_response__free_unpacked(copy,
		    NULL);
	}
	*unpack_per_s = (double) unpacks * 1e9 / (double) (now_ns() - start);
	free(buf);
	spreg_message_free(&list->base);
	if (!full) {
		fprintf(stderr, "bench: the first page of %s is not full\n",
		    LIST_CATEGORY);
		goto out;
	}
	ok = true;
out:
	spreg_client_close(c);
	return ok;
}

/* ---- notifications ---- */

/*
 * Raw SUB sockets on "all/" and "hb/", one thread each, recording when
 * each seq arrived: as a change (an --insecure-local server), or as the
 * seq alone (access control on: a watcher then reads the change with
 * ListChanges, one more round trip). They are closed only after spregd stopped: nng 1.5.2 can hang
 * closing a SUB socket while messages arrive (see src/client/watch.c).
 */
typedef struct notify_sub {
	nng_socket sock;
	bool open;
	pthread_t thread;
	bool started;
	uint64_t first_seq;
	int64_t *recv_ns;	/* by seq - first_seq; 0: not seen */
	size_t n;
	atomic_bool stop;
} notify_sub;

static notify_sub notify_subs[NOTIFY_MANY];

static void *
notify_sub_main(void *arg)
{
	notify_sub *ns = arg;

	while (!atomic_load(&ns->stop)) {
		nng_msg *m;
		if (nng_recvmsg(ns->sock, &m, 0) != 0) {
			continue;	/* the receive timeout: look at stop */
		}
		int64_t t = now_ns();
		size_t len = nng_msg_len(m);
		const uint8_t *body = nng_msg_body(m);
		const uint8_t *slash = memchr(body, '/', len);
		size_t tlen = slash != NULL ? (size_t) (slash - body) + 1 : len;
		if (len > tlen) {
			Spreg__V1__Notification *n =
			    spreg__v1__notification__unpack(NULL, len - tlen,
			        body + tlen);
			uint64_t seq = n == NULL ? 0 :
			    n->change != NULL ? n->change->seq : n->last_seq;
			if (seq >= ns->first_seq && seq - ns->first_seq < ns->n &&
			    ns->recv_ns[seq - ns->first_seq] == 0) {
				ns->recv_ns[seq - ns->first_seq] = t;
			}
			if (n != NULL) {
				spreg__v1__notification__free_unpacked(n, NULL);
			}
		}
		nng_msg_free(m);
	}
	return NULL;
}

static bool
server_last_seq(spreg_client *c, uint64_t *last)
{
	Spreg__V1__ServerInfoRequest req = SPREG__V1__SERVER_INFO_REQUEST__INIT;
	Spreg__V1__ServerInfoResponse *info = NULL;
	spreg_status st = spreg_call(c, "ServerInfo", &req.base,
	    &spreg__v1__server_info_response__descriptor,
	    (ProtobufCMessage **) &info);

	if (st != SPREG_OK) {
		fprintf(stderr, "bench: ServerInfo: %s\n",
		    spreg_client_error(c));
		return false;
	}
	*last = info->last_seq;
	spreg_message_free(&info->base);
	return true;
}

/*
 * NOTIFY_WRITES sequential puts while nsubs subscribers listen. Latency
 * is from the writer's call to the subscriber's receipt (the commit, and
 * its fsync, lie between); the put round trip of the same writes is the
 * baseline next to it.
 */
static bool
notify_latency(const char *rpc_url, const char *pub_url, size_t nsubs,
    unsigned series)
{
	int64_t start_ns[NOTIFY_WRITES], ack_ns[NOTIFY_WRITES];
	uint64_t seqs[NOTIFY_WRITES];
	spreg_client *c = NULL;
	uint64_t last;
	bool ok = false;
	synth s;
	int rv;

	if (test_client_open(rpc_url, false, &c) != SPREG_OK ||
	    !server_last_seq(c, &last)) {
		fprintf(stderr, "bench: notify: no server\n");
		spreg_client_close(c);
		return false;
	}
	for (size_t i = 0; i < nsubs; i++) {
		notify_sub *ns = &notify_subs[i];
		if (!ns->open) {
			if ((rv = nng_sub0_open(&ns->sock)) != 0 ||
			    (rv = nng_socket_set(ns->sock, NNG_OPT_SUB_SUBSCRIBE,
			         "all/", 4)) != 0 ||
			    (rv = nng_socket_set(ns->sock, NNG_OPT_SUB_SUBSCRIBE,
			         "hb/", 3)) != 0 ||
			    (rv = nng_socket_set_int(ns->sock, NNG_OPT_RECVBUF,
			         1024)) != 0 ||
			    (rv = nng_socket_set_ms(ns->sock, NNG_OPT_RECVTIMEO,
			         100)) != 0 ||
			    (rv = nng_dial(ns->sock, pub_url, NULL, 0)) != 0) {
				fprintf(stderr, "bench: SUB %s: %s\n", pub_url,
				    nng_strerror(rv));
				goto out;
			}
			ns->open = true;
		}
		free(ns->recv_ns);
		ns->first_seq = last + 1;
		ns->n = NOTIFY_WRITES;
		ns->recv_ns = calloc(NOTIFY_WRITES, sizeof(*ns->recv_ns));
		atomic_store(&ns->stop, false);
		if (ns->recv_ns == NULL || pthread_create(&ns->thread, NULL,
		                               notify_sub_main, ns) != 0) {
			fprintf(stderr, "bench: notify: out of resources\n");
			goto out;
		}
		ns->started = true;
	}
	sleep_ms(300);	/* let the publisher see every pipe */
	for (size_t i = 0; i < NOTIFY_WRITES; i++) {
		Spreg__V1__PutSubprocessorRequest req =
		    SPREG__V1__PUT_SUBPROCESSOR_REQUEST__INIT;
		Spreg__V1__PutSubprocessorResponse *resp = NULL;
		char id[VALIDATE_ID_MAX + 1];
		snprintf(id, sizeof(id), "bench-n%u-%04zu", series, i);
		synth_make(&s, (uint32_t) (7000000u + series * 1000u + i), id);
		req.subprocessor = &s.sp;
		start_ns[i] = now_ns();
		spreg_status st = spreg_call(c, "PutSubprocessor", &req.base,
		    &spreg__v1__put_subprocessor_response__descriptor,
		    (ProtobufCMessage **) &resp);
		ack_ns[i] = now_ns();
		if (st != SPREG_OK || resp->change == NULL) {
			fprintf(stderr, "bench: notify put: %s\n",
			    spreg_client_error(c));
			spreg_message_free(resp ? &resp->base : NULL);
			goto out;
		}
		seqs[i] = resp->change->seq;
		spreg_message_free(&resp->base);
	}
	/* Wait (bounded) for the last write's notification everywhere. */
	int64_t deadline = now_ns() + (int64_t) NOTIFY_WAIT_MS * 1000000;
	for (size_t i = 0; i < nsubs && now_ns() < deadline; i++) {
		uint64_t k = seqs[NOTIFY_WRITES - 1] - notify_subs[i].first_seq;
		while (k < NOTIFY_WRITES && notify_subs[i].recv_ns[k] == 0 &&
		    now_ns() < deadline) {
			sleep_ms(5);
		}
	}
	for (size_t i = 0; i < nsubs; i++) {
		atomic_store(&notify_subs[i].stop, true);
	}
	for (size_t i = 0; i < nsubs; i++) {
		if (notify_subs[i].started) {
			pthread_join(notify_subs[i].thread, NULL);
			notify_subs[i].started = false;
		}
	}
	uint64_t *lat = calloc(nsubs * NOTIFY_WRITES, sizeof(*lat));
	uint64_t rtt[NOTIFY_WRITES];
	size_t nlat = 0;
	if (lat == NULL) {
		goto out;
	}
	for (size_t w = 0; w < NOTIFY_WRITES; w++) {
		rtt[w] = (uint64_t) (ack_ns[w] - start_ns[w]);
		for (size_t i = 0; i < nsubs; i++) {
			uint64_t k = seqs[w] - notify_subs[i].first_seq;
			int64_t t = k < NOTIFY_WRITES ?
			    notify_subs[i].recv_ns[k] : 0;
			if (t != 0) {
				lat[nlat++] = (uint64_t) (t - start_ns[w]);
			}
		}
	}
	qsort(lat, nlat, sizeof(*lat), cmp_u64);
	qsort(rtt, NOTIFY_WRITES, sizeof(*rtt), cmp_u64);
	measure *m = measure_add("% live", "notify write->receipt %zu sub%s",
	    nsubs, nsubs > 1 ? "s" : "");
	m->value = 100.0 * (double) nlat / (double) (nsubs * NOTIFY_WRITES);
	if (nlat > 0) {
		m->p50_us = percentile_us(lat, nlat, 0.50);
		m->p99_us = percentile_us(lat, nlat, 0.99);
	}
	m = measure_add("us", "Put round trip (%zu sub%s listening)", nsubs,
	    nsubs > 1 ? "s" : "");
	m->p50_us = percentile_us(rtt, NOTIFY_WRITES, 0.50);
	m->p99_us = percentile_us(rtt, NOTIFY_WRITES, 0.99);
	m->value = m->p50_us;
	free(lat);
	ok = true;
out:
	for (size_t i = 0; i < nsubs; i++) {
		atomic_store(&notify_subs[i].stop, true);
		if (notify_subs[i].started) {
			pthread_join(notify_subs[i].thread, NULL);
			notify_subs[i].started = false;
		}
	}
	spreg_client_close(c);
	return ok;
}

/* Once spregd is gone nothing arrives: closing is safe. */
static void
notify_subs_close(void)
{
	for (size_t i = 0; i < NOTIFY_MANY; i++) {
		if (notify_subs[i].open) {
			nng_close(notify_subs[i].sock);
			notify_subs[i].open = false;
		}
		free(notify_subs[i].recv_ns);
		notify_subs[i].recv_ns = NULL;
	}
}

/* A watcher catching up CATCHUP_CHANGES changes from the log (pages of
 * 1000 through ListChanges), the median of rounds. */
static bool
notify_catch_up(const char *rpc_url, const char *pub_url, int rounds)
{
	double ms[8];
	spreg_client *c = NULL;
	uint64_t last;

	if (test_client_open(rpc_url, false, &c) != SPREG_OK ||
	    !server_last_seq(c, &last)) {
		spreg_client_close(c);
		return false;
	}
	spreg_client_close(c);
	uint64_t want = last < CATCHUP_CHANGES ? last : CATCHUP_CHANGES;
	for (int r = 0; r < rounds; r++) {
		spreg_watch *w;
		int64_t t0 = now_ns();
		if (test_watch_open(rpc_url, pub_url, NULL, last - want, &w) !=
		    SPREG_OK) {
			fprintf(stderr, "bench: spreg_watch_open failed\n");
			return false;
		}
		size_t got = 0;
		while (got < want) {
			Spreg__V1__Change *ch;
			spreg_status st = spreg_watch_next(w, 10000, &ch);
			if (st != SPREG_OK) {
				fprintf(stderr, "bench: catch-up: %s: %s\n",
				    spreg_status_name(st), spreg_watch_error(w));
				spreg_watch_close(w);
				return false;
			}
			spreg_message_free(&ch->base);
			got++;
		}
		ms[r] = (double) (now_ns() - t0) / 1e6;
		spreg_watch_close(w);
	}
	measure *m = measure_add("ms", "catch-up %" PRIu64 " changes "
	    "(spreg_watch)", want);
	for (int r = 0; r < rounds; r++) {
		m->rounds[m->nrounds++] = ms[r];
	}
	m->value = median(ms, (size_t) rounds);
	printf("catch-up: %" PRIu64 " changes in %.0f ms (%.0f changes/s, "
	    "pages of 1000)\n", want, m->value,
	    (double) want / (m->value / 1000));
	return true;
}

/* ---- report ---- */

static void
fmt_rate(char *buf, size_t len, double v)
{
	if (v >= 100) {
		snprintf(buf, len, "%.0f", v);
	} else {
		snprintf(buf, len, "%.1f", v);
	}
}

static void
print_table(void)
{
	char value[32], base[48], ratio[32];

	printf("%-38s %10s %-9s %8s %8s %8s %8s  %-16s %-11s %s\n", "measure",
	    "value", "unit", "p50 us", "p99 us", "srv us", "cli us",
	    "baseline", "ratio", "target");
	for (size_t i = 0; i < nmeasures; i++) {
		const measure *m = &measures[i];
		fmt_rate(value, sizeof(value), m->value);
		base[0] = ratio[0] = '\0';
		if (m->baseline > 0) {
			char b[32];
			fmt_rate(b, sizeof(b), m->baseline);
			snprintf(base, sizeof(base), "%s %s", b,
			    m->baseline_name);
			if (strcmp(m->ratio_kind, "cost") == 0) {
				snprintf(ratio, sizeof(ratio), "%.2fx Get",
				    m->ratio);
			} else {
				snprintf(ratio, sizeof(ratio), "%.0f%%",
				    m->ratio * 100);
			}
		}
		char p50[16] = "", p99[16] = "", srv[16] = "", cli[16] = "";
		if (m->p50_us > 0) {
			snprintf(p50, sizeof(p50), "%.0f", m->p50_us);
			snprintf(p99, sizeof(p99), "%.0f", m->p99_us);
		}
		if (m->server_cpu_us > 0) {
			snprintf(srv, sizeof(srv), "%.1f", m->server_cpu_us);
		}
		if (m->client_cpu_us > 0) {
			snprintf(cli, sizeof(cli), "%.1f", m->client_cpu_us);
		}
		printf("%-38s %10s %-9s %8s %8s %8s %8s  %-16s %-11s %s\n",
		    m->name, value, m->unit, p50, p99, srv, cli, base, ratio,
		    m->target == 0 ? "" :
		    m->target > 0 ? "target met" : "target NOT met");
	}
}

static void
json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\') {
			fputc('\\', f);
		}
		fputc(*s, f);
	}
	fputc('"', f);
}

static bool
write_json(const char *path, uint32_t vendors, const store_figures *fig,
    size_t req_size, size_t reply_size, size_t page_bytes, int measure_ms,
    int rounds)
{
	FILE *f = fopen(path, "w");

	if (f == NULL) {
		fprintf(stderr, "bench: BENCH_JSON %s: %s\n", path,
		    strerror(errno));
		return false;
	}
	fprintf(f, "{\n  \"vendors\": %" PRIu32 ",\n", vendors);
	fprintf(f, "  \"cpus\": %ld,\n", sysconf(_SC_NPROCESSORS_ONLN));
	fprintf(f, "  \"rounds\": %d,\n  \"measure_ms\": %d,\n", rounds,
	    measure_ms);
	fprintf(f, "  \"populate_seconds\": %.3f,\n", fig->populate_s);
	fprintf(f, "  \"populate_records_per_s\": %.1f,\n",
	    (double) vendors / fig->populate_s);
	fprintf(f, "  \"list_category\": \"%s\",\n", LIST_CATEGORY);
	fprintf(f, "  \"get_request_bytes\": %zu,\n", req_size);
	fprintf(f, "  \"get_reply_bytes\": %zu,\n", reply_size);
	fprintf(f, "  \"page_bytes\": %zu,\n", page_bytes);
	fprintf(f, "  \"measures\": [\n");
	bool all_met = true;
	for (size_t i = 0; i < nmeasures; i++) {
		const measure *m = &measures[i];
		fprintf(f, "    {\"name\": ");
		json_string(f, m->name);
		fprintf(f, ", \"value\": %.3f, \"unit\": \"%s\"", m->value,
		    m->unit);
		if (m->nrounds > 0) {
			fprintf(f, ", \"rounds\": [");
			for (size_t r = 0; r < m->nrounds; r++) {
				fprintf(f, "%s%.1f", r ? ", " : "", m->rounds[r]);
			}
			fprintf(f, "]");
		}
		if (m->p50_us > 0) {
			fprintf(f, ", \"p50_us\": %.1f, \"p99_us\": %.1f",
			    m->p50_us, m->p99_us);
		}
		if (m->server_cpu_us > 0) {
			fprintf(f, ", \"server_cpu_us_per_call\": %.2f",
			    m->server_cpu_us);
		}
		if (m->client_cpu_us > 0) {
			fprintf(f, ", \"client_cpu_us_per_call\": %.2f",
			    m->client_cpu_us);
		}
		if (m->baseline > 0) {
			fprintf(f, ", \"baseline\": ");
			json_string(f, m->baseline_name);
			fprintf(f, ", \"baseline_value\": %.3f, \"%s\": %.4f",
			    m->baseline, strcmp(m->ratio_kind, "cost") == 0 ?
			    "cost_ratio" : "ratio", m->ratio);
		}
		if (m->target != 0) {
			fprintf(f, ", \"target\": ");
			json_string(f, m->target_text);
			fprintf(f, ", \"target_met\": %s",
			    m->target > 0 ? "true" : "false");
			all_met = all_met && m->target > 0;
		}
		fprintf(f, "}%s\n", i + 1 < nmeasures ? "," : "");
	}
	fprintf(f, "  ],\n  \"all_targets_met\": %s\n}\n",
	    all_met ? "true" : "false");
	if (fclose(f) != 0) {
		fprintf(stderr, "bench: BENCH_JSON %s: %s\n", path,
		    strerror(errno));
		return false;
	}
	return true;
}

/* ---- main ---- */

/* Removes the temporary folder: files and one level of folders. */
static void
remove_tree(const char *path, int depth)
{
	DIR *d = opendir(path);
	struct dirent *ent;

	if (d != NULL) {
		while ((ent = readdir(d)) != NULL) {
			char sub[PATH_MAX_LEN];
			struct stat sb;
			if (strcmp(ent->d_name, ".") == 0 ||
			    strcmp(ent->d_name, "..") == 0) {
				continue;
			}
			snprintf(sub, sizeof(sub), "%s/%s", path, ent->d_name);
			if (lstat(sub, &sb) == 0 && S_ISDIR(sb.st_mode) &&
			    depth < 4) {
				remove_tree(sub, depth + 1);
			} else {
				unlink(sub);
			}
		}
		closedir(d);
	}
	rmdir(path);
}

static measure *
rounds_measure(const char *unit, load_result *r, size_t nrounds,
    const char *name)
{
	measure *m = measure_add(unit, "%s", name);
	measure_from_rounds(m, r, nrounds);
	return m;
}

int
main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "--echo-server") == 0) {
		return echo_main(argv[2], argv[3]);
	}
	if (argc != 1) {
		fprintf(stderr, "usage: bench (environment: SPREGD, "
		    "BENCH_JSON, BENCH_MEASURE_MS, BENCH_ROUNDS, "
		    "BENCH_VENDORS)\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);

	const char *spregd = getenv("SPREGD");
	if (spregd == NULL || access(spregd, X_OK) != 0) {
		fprintf(stderr, "bench: set SPREGD to the spregd to run\n");
		return 1;
	}
	uint32_t vendors = (uint32_t) env_long("BENCH_VENDORS",
	    VENDORS_DEFAULT, 1000, 10000000);
	int measure_ms = (int) env_long("BENCH_MEASURE_MS", MEASURE_MS_DEFAULT,
	    200, 60000);
	int rounds = (int) env_long("BENCH_ROUNDS", ROUNDS_DEFAULT, 1, 8);
	/* ipc:// paths must fit a sockaddr_un (108 bytes). */
	const char *tmp = getenv("TMPDIR");
	if (tmp == NULL || *tmp == '\0' || strlen(tmp) > 60) {
		tmp = "/tmp";
	}
	char dir[DIR_MAX_LEN], path[PATH_MAX_LEN], self[PATH_MAX_LEN];
	snprintf(dir, sizeof(dir), "%s/spreg-bench-XXXXXX",
	    tmp);
	if (mkdtemp(dir) == NULL) {
		fprintf(stderr, "bench: mkdtemp %s: %s\n", dir, strerror(errno));
		return 1;
	}
	ssize_t self_len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (self_len <= 0) {
		fprintf(stderr, "bench: /proc/self/exe: %s\n", strerror(errno));
		return 1;
	}
	self[self_len] = '\0';

	int64_t bench_start = now_ns();
	catalog *cat = NULL;
	store_figures fig = {0};
	size_t req_size = 0, reply_size = 0, page_bytes = 0;
	double page_pack_per_s = 0, page_unpack_per_s = 0;
	err e;

	printf("spreg benchmark: %" PRIu32 " synthetic vendors, %ld CPUs; "
	    "median of %d rounds of %d ms (after %d ms warm-up)\n", vendors,
	    sysconf(_SC_NPROCESSORS_ONLN), rounds, measure_ms, WARMUP_MS);
	if (catalog_load(SPREG_TEST_DATA, &cat, &e) != SPREG_OK) {
		fprintf(stderr, "bench: reference data: %s\n", e.msg);
		failed = true;
		goto out;
	}
	if (!cat_pool_init(cat)) {
		fprintf(stderr, "bench: taxonomy too small\n");
		failed = true;
		goto out;
	}
	size_t list_matches = 0, rare_matches = 0;
	for (uint32_t i = 0; i < vendors; i++) {
		synth s;
		synth_make(&s, i, NULL);
		list_matches += synth_matches(&s, LIST_CATEGORY);
		rare_matches += synth_matches(&s, RARE_CATEGORY);
	}

	/* 1. The store, through the server's own store path. */
	char store_dir[PATH_MAX_LEN];
	snprintf(store_dir, sizeof(store_dir), "%s/store", dir);
	if (!populate(store_dir, cat, vendors, &fig)) {
		failed = true;
		goto out;
	}
	struct stat st_data;
	snprintf(path, sizeof(path), "%s/store/data.mdb", dir);
	double store_mib = stat(path, &st_data) == 0 ?
	    (double) st_data.st_size / (1 << 20) : 0;
	printf("populate: %" PRIu32 " records in %.1f s (%.0f records/s, %d "
	    "per durable transaction, validate + db_sp_put); store %.0f MiB\n",
	    vendors, fig.populate_s, (double) vendors / fig.populate_s,
	    POPULATE_BATCH, store_mib);
	printf("list filter: data_category=%s page_size=%d (%zu vendors "
	    "match, %.0f%%); rare category %s: %zu vendors\n", LIST_CATEGORY,
	    PAGE_SIZE, list_matches, 100.0 * (double) list_matches / vendors,
	    RARE_CATEGORY, rare_matches);

	/* Durable writes: raw LMDB commits measured right before each
	 * write measurement, since fsync speed drifts within a run. */
	double raw_commit_per_s[3] = {0};
	if (!raw_commits(dir, 0, &raw_commit_per_s[0]) ||
	    !store_single_puts(store_dir, cat, vendors, &fig)) {
		failed = true;
		goto out;
	}

	/* 2. The real server. */
	char ipc_listen[URL_LEN], ipc_publish[URL_LEN], ready[PATH_MAX_LEN];
	char map_size[32];
	snprintf(ipc_listen, sizeof(ipc_listen), "ipc://%s/s.ipc", dir);
	snprintf(ipc_publish, sizeof(ipc_publish), "ipc://%s/p.ipc", dir);
	snprintf(spregd_child.ready_file, sizeof(spregd_child.ready_file),
	    "%s/ready", dir);
	snprintf(ready, sizeof(ready), "%s", spregd_child.ready_file);
	snprintf(map_size, sizeof(map_size), "%zu", STORE_MAP_SIZE);
	char *spregd_argv[] = {(char *) spregd, "--data", store_dir,
	    "--reference", SPREG_TEST_DATA, "--no-sample", "--listen",
	    ipc_listen, "--listen", "tcp://127.0.0.1:0", "--publish",
	    ipc_publish, "--map-size",
	    map_size, "--ready-file", ready, "--log-level", "warn", NULL};
	if (!child_spawn(&spregd_child, spregd_argv) ||
	    !child_wait_ready(&spregd_child, "spregd") ||
	    !test_token_load(store_dir)) {
		failed = true;
		goto out;
	}
	const char *spreg_ipc = child_url(&spregd_child, "ipc://");
	const char *spreg_tcp = child_url(&spregd_child, "tcp://");
	if (spreg_ipc == NULL || spreg_tcp == NULL) {
		fprintf(stderr, "bench: spregd's ready file lacks a URL\n");
		failed = true;
		goto out;
	}
	if (!check_server(spreg_ipc, vendors, vendors + fig.store_puts,
	        &req_size, &reply_size, &page_bytes, &page_pack_per_s,
	        &page_unpack_per_s)) {
		failed = true;
		goto out;
	}
	printf("spregd: %s and %s (64 REP contexts, the default); "
	    "GetSubprocessor request %zu bytes, reply %zu bytes (mean "
	    "envelopes); a page of %d is %zu bytes\n", spreg_ipc, spreg_tcp,
	    req_size, reply_size, PAGE_SIZE, page_bytes);

	/* 3. The echo baseline: same request and reply sizes. */
	char size_arg[32];
	snprintf(size_arg, sizeof(size_arg), "%zu", reply_size);
	snprintf(echo_child.ready_file, sizeof(echo_child.ready_file),
	    "%s/echo-ready", dir);
	char *echo_argv[] = {self, "--echo-server", dir, size_arg, NULL};
	if (!child_spawn(&echo_child, echo_argv) ||
	    !child_wait_ready(&echo_child, "echo server")) {
		failed = true;
		goto out;
	}
	printf("echo: nng REP with %d contexts, callbacks only, in a child "
	    "process: %s and %s\n\n", ECHO_CONTEXTS,
	    child_url(&echo_child, "ipc://"), child_url(&echo_child, "tcp://"));

	/* 4. Reads: echo, Get (and a category page over tcp) back to back
	 * in each round. */
	static const char *const transports[] = {"ipc", "tcp"};
	static const size_t client_counts[] = {1, MANY_CLIENTS};
	load_result list_tcp[COUNT(client_counts)][8];
	double page_costs[COUNT(client_counts)][8];
	for (size_t ti = 0; ti < COUNT(transports); ti++) {
		bool tcp = ti == 1;
		for (size_t ci = 0; ci < COUNT(client_counts); ci++) {
			size_t clients = client_counts[ci];
			load_result echo_r[8], get_r[8];
			for (int r = 0; r < rounds; r++) {
				phase pe = {.kind = LOAD_ECHO, .clients = clients,
				    .url = child_url(&echo_child, tcp ? "tcp://" :
				                                        "ipc://"),
				    .echo_request_size = req_size,
				    .echo_reply_size = reply_size};
				phase pg = {.kind = LOAD_GET, .clients = clients,
				    .url = tcp ? spreg_tcp : spreg_ipc,
				    .vendors = vendors};
				if (!phase_run(&pe, echo_child.pid, measure_ms,
				        &echo_r[r]) ||
				    !phase_run(&pg, spregd_child.pid, measure_ms,
				        &get_r[r])) {
					failed = true;
					goto out;
				}
				if (tcp) {
					phase pl = {.kind = LOAD_LIST,
					    .clients = clients, .url = spreg_tcp};
					if (!phase_run(&pl, spregd_child.pid,
					        measure_ms, &list_tcp[ci][r])) {
						failed = true;
						goto out;
					}
				}
			}
			/* Ratios pair the echo and Get of the same round, so
			 * a disturbance that spans a round cancels out. */
			double ratios[8];
			for (int r = 0; r < rounds; r++) {
				ratios[r] = get_r[r].per_s / echo_r[r].per_s;
				if (tcp) {
					page_costs[ci][r] = get_r[r].per_s /
					    list_tcp[ci][r].per_s;
				}
			}
			char name[64];
			snprintf(name, sizeof(name), "echo %s %zu client%s",
			    transports[ti], clients, clients > 1 ? "s" : "");
			measure *me = rounds_measure("calls/s", echo_r,
			    (size_t) rounds, name);
			snprintf(name, sizeof(name), "Get %s %zu client%s",
			    transports[ti], clients, clients > 1 ? "s" : "");
			measure *mg = rounds_measure("calls/s", get_r,
			    (size_t) rounds, name);
			snprintf(mg->baseline_name, sizeof(mg->baseline_name),
			    "echo");
			mg->baseline = me->value;
			mg->ratio = median(ratios, (size_t) rounds);
			mg->ratio_kind = "of baseline";
			if (clients == MANY_CLIENTS) {
				mg->target = mg->ratio >= TARGET_GET_RATIO ? 1 : -1;
				snprintf(mg->target_text, sizeof(mg->target_text),
				    ">= %.0f%% of echo", TARGET_GET_RATIO * 100);
			}
		}
	}
	for (size_t ci = 0; ci < COUNT(client_counts); ci++) {
		size_t clients = client_counts[ci];
		char name[64];
		snprintf(name, sizeof(name), "List %s p%d tcp %zu client%s",
		    LIST_CATEGORY, PAGE_SIZE, clients, clients > 1 ? "s" : "");
		measure *ml = rounds_measure("pages/s", list_tcp[ci],
		    (size_t) rounds, name);
		/* Cost against the Get measured in the same rounds. */
		double get_median = 0;
		for (size_t i = 0; i < nmeasures; i++) {
			char gname[64];
			snprintf(gname, sizeof(gname), "Get tcp %zu client%s",
			    clients, clients > 1 ? "s" : "");
			if (strcmp(measures[i].name, gname) == 0) {
				get_median = measures[i].value;
			}
		}
		snprintf(ml->baseline_name, sizeof(ml->baseline_name), "Get");
		ml->baseline = get_median;
		/* cost = 1 / rate: a page costs Get/s / pages/s Gets. */
		ml->ratio = median(page_costs[ci], (size_t) rounds);
		ml->ratio_kind = "cost";
		ml->target = ml->ratio <= TARGET_PAGE_COST ? 1 : -1;
		snprintf(ml->target_text, sizeof(ml->target_text),
		    "page <= %.0fx a Get", TARGET_PAGE_COST);
	}

	/* 5. Acknowledged writes, next to raw durable commits. */
	for (size_t ci = 0; ci < COUNT(client_counts); ci++) {
		size_t writers = client_counts[ci];
		phase pw = {.kind = LOAD_PUT, .clients = writers,
		    .url = spreg_tcp, .put_series = (unsigned) ci};
		load_result wr;
		if (!raw_commits(dir, 1 + (int) ci, &raw_commit_per_s[1 + ci]) ||
		    !phase_run(&pw, spregd_child.pid, WRITE_MEASURE_MS, &wr)) {
			failed = true;
			goto out;
		}
		char name[64];
		snprintf(name, sizeof(name), "Put tcp %zu writer%s", writers,
		    writers > 1 ? "s" : "");
		measure *mw = rounds_measure("writes/s", &wr, 1, name);
		snprintf(mw->baseline_name, sizeof(mw->baseline_name), "LMDB");
		mw->baseline = raw_commit_per_s[1 + ci];
		mw->ratio = mw->value / mw->baseline;
		mw->ratio_kind = "of baseline";
	}
	measure *m = measure_add("writes/s",
	    "store 1-record db_write in process");
	m->value = fig.store_puts_per_s;
	snprintf(m->baseline_name, sizeof(m->baseline_name), "LMDB");
	m->baseline = raw_commit_per_s[0];
	m->ratio = m->value / m->baseline;
	m->ratio_kind = "of baseline";
	m = measure_add("commits/s", "LMDB durable 1-record commit");
	for (size_t i = 0; i < COUNT(raw_commit_per_s); i++) {
		m->rounds[m->nrounds++] = raw_commit_per_s[i];
	}
	double sorted[3] = {raw_commit_per_s[0], raw_commit_per_s[1],
	    raw_commit_per_s[2]};
	qsort(sorted, 3, sizeof(*sorted), cmp_double);
	m->value = sorted[1];
	m = measure_add("reads/s", "LMDB point read (renew/reset)");
	m->value = fig.raw_reads_per_s;
	m = measure_add("calls/s", "store db_sp_get in process");
	m->value = fig.store_gets_per_s;
	m = measure_add("pages/s", "store db_sp_list p100 in process");
	m->value = fig.store_pages_per_s;
	m->baseline = fig.store_gets_per_s;
	snprintf(m->baseline_name, sizeof(m->baseline_name), "db_sp_get");
	m->ratio = fig.store_gets_per_s / fig.store_pages_per_s;
	m->ratio_kind = "cost";
	m = measure_add("pages/s", "protobuf-c pack of a page");
	m->value = page_pack_per_s;
	m = measure_add("pages/s", "protobuf-c unpack+free of a page");
	m->value = page_unpack_per_s;

	/* 6. Notifications: live latency, then a catch-up from the log. */
	if (!notify_latency(spreg_ipc, ipc_publish, 1, 1) ||
	    !notify_latency(spreg_ipc, ipc_publish, NOTIFY_MANY, 2) ||
	    !notify_catch_up(spreg_ipc, ipc_publish, rounds)) {
		failed = true;
		goto out;
	}

out:
	child_stop(&echo_child, "echo server");
	child_stop(&spregd_child, "spregd");
	notify_subs_close();
	if (nmeasures > 0) {
		print_table();
		printf("\nvalue: median of the rounds; ratio: median of the "
		    "per-round ratios (each round runs echo, Get and List "
		    "back to back).\n");
		printf("srv us / cli us: CPU time per call of the server "
		    "process (spregd or echo) and of this client process.\n");
		printf("Put: each acknowledged write is its own fsync-durable "
		    "LMDB commit; its LMDB baseline is one-record durable "
		    "commits in one thread,\nmeasured just before it (the "
		    "LMDB line shows the median of the three such runs, in "
		    "JSON each).\n");
		printf("notify: %d sequential puts; p50/p99 from the writer's "
		    "call to each subscriber's receipt (the durable commit "
		    "lies between);\n%% live: notifications that arrived "
		    "(the rest a subscriber reads from the log; with access "
		    "control they carry the seq only,\nand a watcher reads "
		    "the change with ListChanges and its token); Put round "
		    "trip: the same puts, call to acknowledgement.\n",
		    NOTIFY_WRITES);
		size_t met = 0, total = 0;
		for (size_t i = 0; i < nmeasures; i++) {
			if (measures[i].target != 0) {
				total++;
				met += measures[i].target > 0;
				printf("target %-38s %-18s %s\n", measures[i].name,
				    measures[i].target_text,
				    measures[i].target > 0 ? "target met" :
				                             "target NOT met");
			}
		}
		printf("targets met: %zu of %zu\n", met, total);
	}
	const char *json = getenv("BENCH_JSON");
	if (json != NULL && *json != '\0' && nmeasures > 0 &&
	    !write_json(json, vendors, &fig, req_size, reply_size, page_bytes,
	        measure_ms, rounds)) {
		failed = true;
	}
	catalog_destroy(cat);
	free(cat_pool);
	remove_tree(dir, 0);
	printf("total run time %.0f s%s\n",
	    (double) (now_ns() - bench_start) / 1e9,
	    failed ? "; FAILED (see messages above)" : "");
	return failed ? 1 : 0;
}
