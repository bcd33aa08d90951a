/*
 * The export benchmark (meson test --benchmark export).
 *
 * Builds a store of synthetic subprocessors (default 100,000) through the
 * server's own store path (validate_subprocessor + db_sp_put in db_write
 * batches), starts the real spregd on it, and runs the real client path,
 * `spreg export --format F --output FILE`, once per format. For each it
 * reports rows, seconds, rows/s and file size, and the server's memory:
 * VmRSS at rest (started, one export page served) and the peak VmRSS
 * sampled every 10 ms while the export runs, with VmHWM (the kernel's
 * high-water mark) after it.
 *
 * Targets are reported, never enforced: the exit status is non-zero only
 * when something failed. Environment: SPREGD (required), SPREG_BUILD
 * (the spreg command is $SPREG_BUILD/src/spreg, or set SPREG),
 * BENCH_VENDORS (default 100000), TMPDIR.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/catalog.h"
#include "core/pb.h"
#include "core/validate.h"
#include "db/db.h"
#include "db/record.h"

#ifndef SPREG_TEST_DATA
#define SPREG_TEST_DATA "data"
#endif

#define VENDORS_DEFAULT 100000
#define BATCH 5000
#define MAP_SIZE ((size_t) 2 << 30)
#define PATH_LEN 1024
#define SAMPLE_MS 10
#define READY_MS 30000
#define AS_OF "2026-11-23"

static int64_t
now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void
sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long) (ms % 1000) * 1000000};
	nanosleep(&ts, NULL);
}

static uint64_t
rng(uint64_t *s)
{
	uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

#define COUNT(a) (sizeof(a) / sizeof(*(a)))

static const char *const services[] = {"app", "billing", "support",
    "marketing", "analytics", "infrastructure"};
static const char *const countries[] = {"US", "DE", "FR", "IE", "GB", "CA",
    "IN", "RS", "JP", "BR", "NL", "SG", "AU", "CH"};
static const char *const roles[] = {"hosting", "processing", "storage",
    "support"};
static const char *const mechanisms[][2] = {{"eu-scc-2021-m2", "EU"},
    {"eu-scc-2021-m3", "EU"}, {"uk-idta", "UK"}, {"uk-addendum", "UK"}};
static const char **cats;
static size_t ncats;

typedef struct vendor {
	Spreg__V1__Subprocessor sp;
	char id[32], name[64], entity[96], purpose[200], doc[2][48];
	char *svc[3], *cat[5];
	Spreg__V1__Location loc[3], *locp[3];
	Spreg__V1__Safeguard sg[2], *sgp[2];
} vendor;

static bool
has(char *const *list, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(list[i], s) == 0) {
			return true;
		}
	}
	return false;
}

static void
vendor_make(vendor *v, uint32_t n)
{
	uint64_t r = UINT64_C(0xe4b0) ^ ((uint64_t) n << 20);
	Spreg__V1__Subprocessor *sp = &v->sp;

	memset(v, 0, sizeof(*v));
	spreg__v1__subprocessor__init(sp);
	snprintf(v->id, sizeof(v->id), "vendor-%06" PRIu32, n);
	snprintf(v->name, sizeof(v->name), "Vendor %06" PRIu32 ", \"Data\"", n);
	snprintf(v->entity, sizeof(v->entity), "Vendor %06" PRIu32 " GmbH", n);
	sp->id = v->id;
	sp->name = v->name;
	sp->legal_entity = v->entity;
	size_t k = 1 + rng(&r) % 3;
	while (sp->n_services < k) {
		char *s = (char *) services[rng(&r) % COUNT(services)];
		if (!has(v->svc, sp->n_services, s)) {
			v->svc[sp->n_services++] = s;
		}
	}
	sp->services = v->svc;
	k = 2 + rng(&r) % 4;
	while (sp->n_data_categories < k) {
		char *c = (char *) cats[rng(&r) % ncats];
		if (!has(v->cat, sp->n_data_categories, c)) {
			v->cat[sp->n_data_categories++] = c;
		}
	}
	sp->data_categories = v->cat;
	snprintf(v->purpose, sizeof(v->purpose), "Provides %s services and "
	    "processes %s on our behalf under a DPA.", v->svc[0], v->cat[0]);
	sp->purpose = v->purpose;
	k = 1 + rng(&r) % 3;
	for (size_t i = 0; i < k; i++) {
		spreg__v1__location__init(&v->loc[i]);
		v->loc[i].country = (char *) countries[rng(&r) % COUNT(countries)];
		v->loc[i].role = (char *) roles[i];	/* distinct pairs */
		v->locp[i] = &v->loc[i];
	}
	sp->locations = v->locp;
	sp->n_locations = k;
	k = 1 + rng(&r) % 2;
	size_t first = rng(&r) % COUNT(mechanisms);
	for (size_t i = 0; i < k; i++) {
		spreg__v1__safeguard__init(&v->sg[i]);
		v->sg[i].mechanism = (char *) mechanisms[(first + i) %
		    COUNT(mechanisms)][0];
		v->sg[i].regime = (char *) mechanisms[(first + i) %
		    COUNT(mechanisms)][1];
		v->sg[i].signed_on = "2022-06-01";
		snprintf(v->doc[i], sizeof(v->doc[i]), "DPA-%06" PRIu32 "-%zu",
		    n, i);
		v->sg[i].document_ref = v->doc[i];
		if (rng(&r) % 2) {
			v->sg[i].tia_ref = "TIA-2022";
		}
		v->sgp[i] = &v->sg[i];
	}
	sp->safeguards = v->sgp;
	sp->n_safeguards = k;
	sp->status = SP_STATUS_ACTIVE;
	sp->effective_from = "2020-01-01";
}

typedef struct batch {
	const catalog *cat;
	uint32_t first, n;
	arena *a;
} batch;

static bool
any_category(void *arg, const char *key)
{
	return catalog_category_find(arg, key) != NULL;
}

static spreg_status
batch_fn(db_txn *t, void *arg, err *e)
{
	batch *b = arg;
	db_actor who = {"bench", 0, 1700000000000, NULL};
	vendor v;
	spreg_status st;

	for (uint32_t i = 0; i < b->n; i++) {
		Spreg__V1__Change *ch;
		arena_reset(b->a);
		vendor_make(&v, b->first + i);
		if ((st = validate_subprocessor(b->cat, any_category,
		         (void *) b->cat, &v.sp, e)) != SPREG_OK ||
		    (st = db_sp_put(t, &v.sp, 0, false, &who, b->a, &ch, e)) !=
		        SPREG_OK) {
			return st;
		}
	}
	return SPREG_OK;
}

static bool
populate(const char *dir, const catalog *cat, uint32_t vendors)
{
	db_options o = {.dir = dir, .map_size = MAP_SIZE};
	db_session *s;
	db *d;
	arena a;
	err e;
	bool ok = true;

	if (db_open(&o, &d, &e) != SPREG_OK) {
		fprintf(stderr, "bench_export: open: %s\n", e.msg);
		return false;
	}
	if (db_session_create(d, &s) != SPREG_OK) {
		db_close(d);
		return false;
	}
	arena_init(&a, (size_t) 16 << 20);
	for (uint32_t first = 0; ok && first < vendors; first += BATCH) {
		batch b = {cat, first, vendors - first < BATCH ? vendors - first :
		    BATCH, &a};
		if (db_write(s, batch_fn, &b, &e) != SPREG_OK) {
			fprintf(stderr, "bench_export: populate: %s\n", e.msg);
			ok = false;
		}
	}
	arena_fini(&a);
	db_session_destroy(s);
	db_close(d);
	return ok;
}

/* A line "Key:   N kB" of /proc/PID/status, in kB; -1 if unknown. */
static long
status_kb(pid_t pid, const char *key)
{
	char path[64], line[256];
	long kb = -1;
	size_t klen = strlen(key);

	snprintf(path, sizeof(path), "/proc/%d/status", (int) pid);
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
			kb = strtol(line + klen + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return kb;
}

static pid_t
spawn(char *const argv[])
{
	pid_t pid = fork();
	if (pid == 0) {
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

/* "rows": N from the export's FILE.meta.json. */
static long long
meta_rows(const char *file)
{
	char path[PATH_LEN * 2], buf[8192];
	snprintf(path, sizeof(path), "%s.meta.json", file);
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		return -1;
	}
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	const char *p = strstr(buf, "\"rows\":");
	return p != NULL ? strtoll(p + 7, NULL, 10) : -1;
}

int
main(void)
{
	const char *spregd = getenv("SPREGD");
	const char *build = getenv("SPREG_BUILD");
	const char *spreg_env = getenv("SPREG");
	const char *vend = getenv("BENCH_VENDORS");
	const char *tmpdir = getenv("TMPDIR");
	uint32_t vendors = vend != NULL && atol(vend) > 0 ?
	    (uint32_t) atol(vend) : VENDORS_DEFAULT;
	char dir[PATH_LEN], store[PATH_LEN + 8], ready[PATH_LEN + 8],
	    url[PATH_LEN + 16], pub[PATH_LEN + 16], spreg[PATH_LEN],
	    cmd[PATH_LEN * 4];
	catalog *cat;
	err e;
	int status = 0;

	if (spregd == NULL || (build == NULL && spreg_env == NULL)) {
		fprintf(stderr, "bench_export: set SPREGD and SPREG_BUILD\n");
		return 1;
	}
	snprintf(spreg, sizeof(spreg), "%s", spreg_env != NULL ? spreg_env :
	    build);
	if (spreg_env == NULL) {
		snprintf(spreg, sizeof(spreg), "%s/src/spreg", build);
	}
	snprintf(dir, sizeof(dir), "%s/spreg-bench-export-XXXXXX",
	    tmpdir != NULL ? tmpdir : "/tmp");
	if (mkdtemp(dir) == NULL) {
		perror("bench_export: mkdtemp");
		return 1;
	}
	snprintf(store, sizeof(store), "%s/var", dir);
	snprintf(ready, sizeof(ready), "%s/ready", dir);
	snprintf(url, sizeof(url), "ipc://%s/s.ipc", dir);
	snprintf(pub, sizeof(pub), "ipc://%s/p.ipc", dir);
	if (catalog_load(SPREG_TEST_DATA, &cat, &e) != SPREG_OK) {
		fprintf(stderr, "bench_export: %s\n", e.msg);
		return 1;
	}
	size_t total = catalog_category_count(cat);
	cats = calloc(total, sizeof(*cats));
	for (size_t i = 0; cats != NULL && i < total; i++) {
		const catalog_category *c = catalog_category_at(cat, i);
		if (c->parent[0] != '\0') {
			cats[ncats++] = c->key;
		}
	}
	int64_t t0 = now_ns();
	if (cats == NULL || !populate(store, cat, vendors)) {
		return 1;
	}
	printf("populate: %" PRIu32 " vendors in %.1f s\n", vendors,
	    (double) (now_ns() - t0) / 1e9);

	char *server_argv[] = {(char *) spregd, "--data", store, "--no-sample",
	    "--listen", url, "--publish", pub, "--ready-file", ready,
	    "--log-level", "warn",
	    "--map-size", "2147483648", NULL};
	pid_t server = spawn(server_argv);
	/* The spreg runs below use the admin token spregd writes. */
	char token_file[PATH_LEN + 32];
	snprintf(token_file, sizeof(token_file), "%s/admin.token", store);
	setenv("SPREG_TOKEN_FILE", token_file, 1);
	int64_t deadline = now_ns() + (int64_t) READY_MS * 1000000;
	while (access(ready, R_OK) != 0 && now_ns() < deadline) {
		sleep_ms(10);
	}
	if (access(ready, R_OK) != 0) {
		fprintf(stderr, "bench_export: spregd did not start\n");
		kill(server, SIGTERM);
		waitpid(server, NULL, 0);
		return 1;
	}
	/* At rest: started, one small page served (code and caches in). */
	snprintf(cmd, sizeof(cmd), "%s --server %s export --as-of %s "
	    "--country JP --page-size 10 >/dev/null", spreg, url, AS_OF);
	if (system(cmd) != 0) {
		fprintf(stderr, "bench_export: warm-up export failed\n");
		status = 1;
	}
	long rest_kb = status_kb(server, "VmRSS");
	long rest_anon = status_kb(server, "RssAnon");
	printf("server at rest: VmRSS %.1f MiB (RssAnon %.1f MiB: heap and "
	    "stacks; the rest is LMDB's file-backed map)\n",
	    (double) rest_kb / 1024, (double) rest_anon / 1024);
	printf("%-6s %9s %8s %9s %9s %13s %13s %10s\n", "format", "rows",
	    "seconds", "rows/s", "file MiB", "peak RSS MiB", "peak anon MiB",
	    "VmHWM MiB");

	static const char *const formats[] = {"csv", "jsonl", "xlsx"};
	for (size_t i = 0; i < COUNT(formats); i++) {
		char out[PATH_LEN + 16];
		snprintf(out, sizeof(out), "%s/export.%s", dir, formats[i]);
		char *argv[] = {spreg, "--server", url, "--timeout", "60000",
		    "export", "--format", (char *) formats[i], "--as-of",
		    AS_OF, "--output", out, NULL};
		long peak = status_kb(server, "VmRSS");
		long peak_anon = status_kb(server, "RssAnon");
		int64_t start = now_ns();
		pid_t client = spawn(argv);
		int cs;
		for (;;) {
			pid_t rp = waitpid(client, &cs, WNOHANG);
			long kb = status_kb(server, "VmRSS");
			long anon = status_kb(server, "RssAnon");
			peak = kb > peak ? kb : peak;
			peak_anon = anon > peak_anon ? anon : peak_anon;
			if (rp == client) {
				break;
			}
			sleep_ms(SAMPLE_MS);
		}
		double secs = (double) (now_ns() - start) / 1e9;
		if (!WIFEXITED(cs) || WEXITSTATUS(cs) != 0) {
			fprintf(stderr, "bench_export: export %s failed "
			    "(status %d)\n", formats[i], cs);
			status = 1;
			continue;
		}
		struct stat stt;
		long long rows = meta_rows(out);
		double mib = stat(out, &stt) == 0 ?
		    (double) stt.st_size / 1048576 : 0;
		printf("%-6s %9lld %8.2f %9.0f %9.1f %13.1f %13.1f %10.1f\n",
		    formats[i], rows, secs, (double) rows / secs, mib,
		    (double) peak / 1024, (double) peak_anon / 1024,
		    (double) status_kb(server, "VmHWM") / 1024);
		fflush(stdout);
		unlink(out);
	}
	printf("server at rest for comparison: VmRSS %.1f MiB, RssAnon "
	    "%.1f MiB\n", (double) rest_kb / 1024, (double) rest_anon / 1024);
	kill(server, SIGTERM);
	waitpid(server, NULL, 0);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0) {
		status = 1;
	}
	free(cats);
	catalog_destroy(cat);
	return status;
}
