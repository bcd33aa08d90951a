/*
 * The registry benchmark's parts (registry.c runs them in order):
 * synthetic vendors (registry_synth.c), the store in this process
 * (registry_store.c), the echo baseline server (registry_echo.c), load
 * generation against spregd or the echo (registry_load.c),
 * notifications (registry_notify.c) and the figures (registry_report.c).
 */
#ifndef BENCH_REGISTRY_H
#define BENCH_REGISTRY_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "bench.h"
#include "core/validate.h"
#include "spreg/client.h"
#include "spreg/watch.h"

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

#define READY_TIMEOUT_MS 20000
#define PATH_MAX_LEN BENCH_PATH
#define URL_LEN 1100
#define SYNTH_CATS_MAX 7	/* 2-6 drawn + the rare one */
#define SYNTH_LOCS_MAX 3
#define SYNTH_SGS_MAX 2

/* ---- synthetic vendors (registry_synth.c) ---- */

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

/* The data-category keys vendors draw from: every non-root key of the
 * shipped taxonomy except RARE_CATEGORY. False when it is too small. */
bool synth_init(const catalog *cat);
void synth_fini(void);

/*
 * Fills s with synthetic vendor number `number` under id (NULL: the
 * registry id "vendor-%06d"). Deterministic: the same number always
 * gives the same record.
 */
void synth_make(synth *s, uint32_t number, const char *id);

/* bench_fill's maker: synth_make into scratch, a synth. */
Spreg__V1__Subprocessor *synth_fill(void *scratch, uint32_t number);

/* Does the vendor match a data_category filter (the key or below)? */
bool synth_matches(const synth *s, const char *key);

/* ---- figures (registry_report.c) ---- */

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

extern measure measures[64];
extern size_t nmeasures;

measure *measure_add(const char *unit, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

typedef struct load_result {
	double per_s;
	double p50_us, p99_us;
	double server_cpu_us, client_cpu_us;	/* per call */
	size_t calls;
} load_result;

/* A measure named name: the median throughput of rounds and that
 * round's latencies and CPU times (r is reordered). */
measure *rounds_measure(const char *unit, load_result *r, size_t nrounds,
    const char *name);

/* Median of n values (n <= 8); a is reordered. */
double median(double *a, size_t n);
int cmp_u64(const void *a, const void *b);
double percentile_us(const uint64_t *sorted, size_t n, double q);

/* The sizes and rates found while checking the server. */
typedef struct wire_figures {
	size_t req_size, reply_size;	/* mean Get envelopes */
	size_t page_bytes;		/* a page of PAGE_SIZE */
	double pack_per_s, unpack_per_s; /* a page, protobuf-c alone */
} wire_figures;

typedef struct store_figures {
	double populate_s;
	double store_puts_per_s;	/* one record per durable write */
	uint32_t store_puts;
	double raw_reads_per_s;
	double store_gets_per_s;
	double store_pages_per_s;
	size_t page_records;
} store_figures;

void print_table(void);
/* The notes under the table and the targets met. */
void print_notes(void);
/* The in-process store, raw LMDB and protobuf-c figures as measures. */
void add_store_measures(const store_figures *fig,
    const double raw_commit_per_s[3], const wire_figures *wire);
bool write_json(const char *path, uint32_t vendors, const store_figures *fig,
    const wire_figures *wire, int measure_ms, int rounds);

/* ---- the store in this process (registry_store.c) ---- */

/* Stores vendors 0 .. vendors - 1 in dir, then measures reads. */
bool populate(const char *dir, const catalog *cat, uint32_t vendors,
    store_figures *fig);
/* One record per durable write transaction, for RAW_MEASURE_MS. */
bool store_single_puts(const char *dir, const catalog *cat, uint32_t vendors,
    store_figures *fig);
/* Durable one-record commits on a fresh environment DIR/raw-lmdb-INDEX. */
bool raw_commits(const char *tmpdir, int index, double *per_s);

/* ---- the echo server (registry_echo.c) ---- */

/* This program as a child process (--echo-server DIR SIZE): an nng REP
 * that answers every request with SIZE bytes, on ipc and tcp. */
int echo_main(const char *dir, const char *size_arg);

/* ---- load generation (registry_load.c) ---- */

typedef enum load_kind {
	LOAD_ECHO,
	LOAD_GET,
	LOAD_LIST,
	LOAD_PUT,
	LOAD_BATCH,	/* GetSubprocessors of BATCH_IDS random ids */
} load_kind;
#define BATCH_IDS 100

typedef struct phase {
	load_kind kind;
	const char *url;
	size_t clients;
	uint32_t vendors;	/* Get: ids drawn from 0..vendors-1 */
	size_t echo_request_size;
	size_t echo_reply_size;
	unsigned put_series;	/* Put: makes every phase's ids new */
	spreg_client *shared;	/* every thread calls through this one
				 * (not closed); NULL: one client each */
	int64_t t0, t1;		/* measurement window, monotonic ns */
	pthread_barrier_t opened, go;
	pthread_mutex_t mu;
	char error[300];	/* the first failure */
	atomic_int failures;
} phase;

/*
 * Runs p->clients threads for a warm-up and a window of measure_ms;
 * counts calls completed in the window. False (with the reason printed)
 * when any call failed.
 */
bool phase_run(phase *p, pid_t server, int measure_ms, load_result *out);

/* The servers the reads and writes run against. */
typedef struct targets {
	const char *spreg_ipc, *spreg_tcp;
	pid_t spregd;
	const char *echo_ipc, *echo_tcp;
	pid_t echo;
	uint32_t vendors;
	const wire_figures *wire;
	const char *dir;	/* for the raw LMDB commits */
} targets;

/* Echo, Get and (over tcp) a category page back to back in each round,
 * over ipc and tcp, 1 and MANY_CLIENTS clients. */
bool measure_reads(const targets *t, int measure_ms, int rounds);
/*
 * Against the peers a service would read vendors from instead, in the
 * same run (registry_peers.c): Get through a file:// client at 1 and
 * MANY_CLIENTS threads next to a raw LMDB point read and Redis GET
 * (redis-server started on a free loopback port; skipped when absent),
 * PostgreSQL pgbench -S (skipped when absent), remote Get through one
 * shared client vs one client per thread, and a batch of BATCH_IDS ids
 * vs as many Gets. store_dir is the data folder spregd serves.
 */
bool measure_peers(const targets *t, const char *store_dir,
    const store_figures *fig, int measure_ms, int rounds);
/* Acknowledged writes, 1 and MANY_CLIENTS writers, each next to raw
 * durable commits measured just before (raw_commit_per_s[1..2]). */
bool measure_writes(const targets *t, double raw_commit_per_s[3]);

/* ---- the server (registry.c) ---- */

/* A client, or a watcher, of the spregd started, with its token. */
spreg_status server_client_open(const char *url, bool wait,
    spreg_client **out);
spreg_status server_watch_open(const char *rpc_url, const char *pub_url,
    const spreg_watch_filter *f, uint64_t since_seq, spreg_watch **out);

/* ---- notifications (registry_notify.c) ---- */

bool notify_latency(const char *rpc_url, const char *pub_url, size_t nsubs,
    unsigned series);
/* Once spregd is gone nothing arrives: closing is safe. */
void notify_subs_close(void);
bool notify_catch_up(const char *rpc_url, const char *pub_url, int rounds);

#endif
