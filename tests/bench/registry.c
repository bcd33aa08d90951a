/*
 * The registry benchmark (meson test --benchmark).
 *
 * Builds a store of 100,000 synthetic subprocessors through the server's
 * own store path (validate_subprocessor + db_sp_put in durable writes),
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
 * server is this program re-executed as a child process (--echo-server,
 * registry_echo.c). registry.h says which file measures what.
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
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "registry.h"
#include "support/spawn.h"

/*
 * Checks the server holds the records written and returns the right
 * one, and measures what the echo must mimic: the mean Get envelope
 * sizes, a page's size and what it costs to encode and decode alone.
 */
static bool
check_server(const char *url, uint32_t vendors, uint32_t records,
    wire_figures *w)
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
		uint32_t number = bench_rng_below(&rng, vendors);
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
	w->req_size = (req_total + SIZE_SAMPLES / 2) / SIZE_SAMPLES;
	w->reply_size = (reply_total + SIZE_SAMPLES / 2) / SIZE_SAMPLES;

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
	w->page_bytes = spreg__v1__list_subprocessors_response__get_packed_size(
	    list);
	/* What a page costs to encode (server) and decode (client) alone. */
	uint8_t *buf = malloc(w->page_bytes + 1);
	size_t packs = 0, unpacks = 0;
	int64_t start = bench_now_ns(), end = start + 250000000;
	while (buf != NULL && bench_now_ns() < end) {
		size_t n = spreg__v1__list_subprocessors_response__get_packed_size(
		    list);
		spreg__v1__list_subprocessors_response__pack(list, buf);
		packs += n == w->page_bytes;
	}
	w->pack_per_s = (double) packs * 1e9 / (double) (bench_now_ns() - start);
	start = bench_now_ns();
	end = start + 250000000;
	while (buf != NULL && bench_now_ns() < end) {
		Spreg__V1__ListSubprocessorsResponse *copy =
		    spreg__v1__list_subprocessors_response__unpack(NULL,
		        w->page_bytes, buf);
		if (copy == NULL) {
			break;
		}
		unpacks++;
		spreg__v1__list_subprocessors_response__free_unpacked(copy,
		    NULL);
	}
	w->unpack_per_s = (double) unpacks * 1e9 / (double) (bench_now_ns() - start);
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


spreg_status
server_client_open(const char *url, bool wait, spreg_client **out)
{
	return test_client_open(url, wait, out);
}

spreg_status
server_watch_open(const char *rpc_url, const char *pub_url,
    const spreg_watch_filter *f, uint64_t since_seq, spreg_watch **out)
{
	return test_watch_open(rpc_url, pub_url, f, since_seq, out);
}

/* How many vendors the list and the rare filters match; the store's
 * size and how long filling it took. */
static void
print_store(const char *data_mdb, uint32_t vendors, const store_figures *fig)
{
	size_t list_matches = 0, rare_matches = 0;
	struct stat st_data;

	for (uint32_t i = 0; i < vendors; i++) {
		synth s;
		synth_make(&s, i, NULL);
		list_matches += synth_matches(&s, LIST_CATEGORY);
		rare_matches += synth_matches(&s, RARE_CATEGORY);
	}
	double store_mib = stat(data_mdb, &st_data) == 0 ?
	    (double) st_data.st_size / (1 << 20) : 0;
	printf("populate: %" PRIu32 " records in %.1f s (%.0f records/s, %d "
	    "per durable transaction, validate + db_sp_put); store %.0f MiB\n",
	    vendors, fig->populate_s, (double) vendors / fig->populate_s,
	    POPULATE_BATCH, store_mib);
	printf("list filter: data_category=%s page_size=%d (%zu vendors "
	    "match, %.0f%%); rare category %s: %zu vendors\n", LIST_CATEGORY,
	    PAGE_SIZE, list_matches, 100.0 * (double) list_matches / vendors,
	    RARE_CATEGORY, rare_matches);
}

/* SIGTERM, up to 10 s, then SIGKILL; says when it exited badly. */
static void
stop(spawn *s, const char *what)
{
	int64_t took_ms;

	if (s->pid <= 0) {
		return;
	}
	int status = spawn_stop_within(s, SIGTERM, 10000, &took_ms);
	if (status == -1) {
		fprintf(stderr, "bench: %s ignores SIGTERM; killed it\n", what);
	} else if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
		fprintf(stderr, "bench: %s exited with status %d\n", what,
		    WEXITSTATUS(status));
	}
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
	uint32_t vendors = (uint32_t) bench_env_long("BENCH_VENDORS",
	    VENDORS_DEFAULT, 1000, 10000000);
	int measure_ms = (int) bench_env_long("BENCH_MEASURE_MS",
	    MEASURE_MS_DEFAULT, 200, 60000);
	int rounds = (int) bench_env_long("BENCH_ROUNDS", ROUNDS_DEFAULT, 1, 8);
	char dir[256], path[PATH_MAX_LEN], self[PATH_MAX_LEN];
	if (!bench_mkdtemp(dir, sizeof(dir), "spreg-bench")) {
		return 1;
	}
	ssize_t self_len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (self_len <= 0) {
		fprintf(stderr, "bench: /proc/self/exe: %s\n", strerror(errno));
		return 1;
	}
	self[self_len] = '\0';

	int64_t bench_start = bench_now_ns();
	catalog *cat = NULL;
	store_figures fig = {0};
	wire_figures wire = {0};
	spawn server = {0}, echo = {0};
	bool failed = false;
	err e;

	printf("spreg benchmark: %" PRIu32 " synthetic vendors, %ld CPUs; "
	    "median of %d rounds of %d ms (after %d ms warm-up)\n", vendors,
	    sysconf(_SC_NPROCESSORS_ONLN), rounds, measure_ms, WARMUP_MS);
	if (catalog_load(SPREG_TEST_DATA, &cat, &e) != SPREG_OK) {
		fprintf(stderr, "bench: reference data: %s\n", e.msg);
		failed = true;
		goto out;
	}
	if (!synth_init(cat)) {
		fprintf(stderr, "bench: taxonomy too small\n");
		failed = true;
		goto out;
	}

	/* 1. The store, through the server's own store path. */
	char store_dir[PATH_MAX_LEN];
	snprintf(store_dir, sizeof(store_dir), "%s/store", dir);
	if (!populate(store_dir, cat, vendors, &fig)) {
		failed = true;
		goto out;
	}
	snprintf(path, sizeof(path), "%s/store/data.mdb", dir);
	print_store(path, vendors, &fig);

	/* Durable writes: raw LMDB commits measured right before each
	 * write measurement, since fsync speed drifts within a run. */
	double raw_commit_per_s[3] = {0};
	if (!raw_commits(dir, 0, &raw_commit_per_s[0]) ||
	    !store_single_puts(store_dir, cat, vendors, &fig)) {
		failed = true;
		goto out;
	}

	/* 2. The real server, on ipc and tcp. */
	char map_size[32];
	snprintf(map_size, sizeof(map_size), "%zu", STORE_MAP_SIZE);
	const char *args[] = {"--reference", SPREG_TEST_DATA, "--no-sample",
	    "--listen", "tcp://127.0.0.1:0", "--map-size", map_size, NULL};
	spawn_opts so = {.dir = dir, .name = "store", .args = args,
	    .wait_ms = READY_TIMEOUT_MS};
	if (!spawn_start(&server, &so)) {
		failed = true;
		goto out;
	}
	targets t = {.spreg_ipc = spawn_url(&server, "ipc://"),
	    .spreg_tcp = spawn_url(&server, "tcp://"), .spregd = server.pid,
	    .vendors = vendors, .wire = &wire, .dir = dir};
	if (t.spreg_ipc == NULL || t.spreg_tcp == NULL) {
		fprintf(stderr, "bench: spregd's ready file lacks a URL\n");
		failed = true;
		goto out;
	}
	if (!check_server(t.spreg_ipc, vendors, vendors + fig.store_puts,
	        &wire)) {
		failed = true;
		goto out;
	}
	printf("spregd: %s and %s (64 REP contexts, the default); "
	    "GetSubprocessor request %zu bytes, reply %zu bytes (mean "
	    "envelopes); a page of %d is %zu bytes\n", t.spreg_ipc,
	    t.spreg_tcp, wire.req_size, wire.reply_size, PAGE_SIZE,
	    wire.page_bytes);

	/* 3. The echo baseline: same request and reply sizes. */
	char size_arg[32], echo_ready[SPAWN_PATH];
	snprintf(size_arg, sizeof(size_arg), "%zu", wire.reply_size);
	snprintf(echo_ready, sizeof(echo_ready), "%s/echo-ready", dir);
	char *echo_argv[] = {self, "--echo-server", dir, size_arg, NULL};
	if (!spawn_start_argv(&echo, echo_argv, echo_ready,
	        READY_TIMEOUT_MS)) {
		failed = true;
		goto out;
	}
	t.echo_ipc = spawn_url(&echo, "ipc://");
	t.echo_tcp = spawn_url(&echo, "tcp://");
	t.echo = echo.pid;
	printf("echo: nng REP with %d contexts, callbacks only, in a child "
	    "process: %s and %s\n\n", ECHO_CONTEXTS, t.echo_ipc, t.echo_tcp);

	/* 4. Reads; 5. acknowledged writes next to raw durable commits;
	 * 6. notifications: live latency, then a catch-up from the log. */
	if (!measure_reads(&t, measure_ms, rounds) ||
	    !measure_peers(&t, store_dir, &fig, measure_ms, rounds) ||
	    !measure_writes(&t, raw_commit_per_s)) {
		failed = true;
		goto out;
	}
	add_store_measures(&fig, raw_commit_per_s, &wire);
	if (!notify_latency(t.spreg_ipc, server.publish, 1, 1) ||
	    !notify_latency(t.spreg_ipc, server.publish, NOTIFY_MANY, 2) ||
	    !notify_catch_up(t.spreg_ipc, server.publish, rounds)) {
		failed = true;
		goto out;
	}

out:
	stop(&echo, "echo server");
	stop(&server, "spregd");
	notify_subs_close();
	if (nmeasures > 0) {
		print_table();
		print_notes();
	}
	const char *json = getenv("BENCH_JSON");
	if (json != NULL && *json != '\0' && nmeasures > 0 &&
	    !write_json(json, vendors, &fig, &wire, measure_ms, rounds)) {
		failed = true;
	}
	catalog_destroy(cat);
	synth_fini();
	bench_rmrf(dir);
	printf("total run time %.0f s%s\n",
	    (double) (bench_now_ns() - bench_start) / 1e9,
	    failed ? "; FAILED (see messages above)" : "");
	return failed ? 1 : 0;
}
