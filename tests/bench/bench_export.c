/*
 * The export benchmark (meson test --benchmark export).
 *
 * Builds a store of synthetic subprocessors (default 100,000) through the
 * server's own store path (validate_subprocessor + db_sp_put in durable
 * batches), starts the real spregd on it, and runs the real client path,
 * `spreg export --format F --output FILE`, once per format. For each it
 * reports rows, seconds, rows/s and file size, and the server's memory:
 * VmRSS at rest (started, one export page served) and the peak VmRSS
 * sampled every 10 ms while the export runs, with VmHWM (the kernel's
 * high-water mark) after it, reset before each export by writing 5 to
 * /proc/PID/clear_refs where the kernel allows it: the peak is then the
 * export's own, against the target of 1.2x the RSS at rest.
 *
 * Targets are reported, never enforced: the exit status is non-zero only
 * when something failed. Environment: SPREGD (required), SPREG_BUILD
 * (the spreg command is $SPREG_BUILD/src/spreg, or set SPREG),
 * BENCH_VENDORS (default 100000), TMPDIR.
 */
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "support/spawn.h"

#define VENDORS_DEFAULT 100000
#define BATCH 5000
#define MAP_SIZE ((size_t) 2 << 30)
#define PATH_LEN 256
#define SAMPLE_MS 10
#define READY_MS 30000
#define AS_OF "2026-11-23"
#define TARGET_PEAK 1.2	/* peak RSS during an export / at rest */

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

static Spreg__V1__Subprocessor *
vendor_make(void *scratch, uint32_t n)
{
	vendor *v = scratch;
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
	size_t k = 1 + bench_rng_next(&r) % 3;
	while (sp->n_services < k) {
		char *s = (char *) services[bench_rng_next(&r) % COUNT(services)];
		if (!bench_contains(v->svc, sp->n_services, s)) {
			v->svc[sp->n_services++] = s;
		}
	}
	sp->services = v->svc;
	k = 2 + bench_rng_next(&r) % 4;
	while (sp->n_data_categories < k) {
		char *c = (char *) cats[bench_rng_next(&r) % ncats];
		if (!bench_contains(v->cat, sp->n_data_categories, c)) {
			v->cat[sp->n_data_categories++] = c;
		}
	}
	sp->data_categories = v->cat;
	snprintf(v->purpose, sizeof(v->purpose), "Provides %s services and "
	    "processes %s on our behalf under a DPA.", v->svc[0], v->cat[0]);
	sp->purpose = v->purpose;
	k = 1 + bench_rng_next(&r) % 3;
	for (size_t i = 0; i < k; i++) {
		spreg__v1__location__init(&v->loc[i]);
		v->loc[i].country = (char *) countries[bench_rng_next(&r) % COUNT(countries)];
		v->loc[i].role = (char *) roles[i];	/* distinct pairs */
		v->locp[i] = &v->loc[i];
	}
	sp->locations = v->locp;
	sp->n_locations = k;
	k = 1 + bench_rng_next(&r) % 2;
	size_t first = bench_rng_next(&r) % COUNT(mechanisms);
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
		if (bench_rng_next(&r) % 2) {
			v->sg[i].tia_ref = "TIA-2022";
		}
		v->sgp[i] = &v->sg[i];
	}
	sp->safeguards = v->sgp;
	sp->n_safeguards = k;
	sp->status = SP_STATUS_ACTIVE;
	sp->effective_from = "2020-01-01";
	return sp;
}

static bool
any_category(void *arg, const char *key)
{
	return catalog_category_find(arg, key) != NULL;
}

/* Runs argv without waiting; its pid, or -1. */
static pid_t
run(char *const argv[])
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
	if (!bench_read_file(path, buf, sizeof(buf))) {
		return -1;
	}
	const char *p = strstr(buf, "\"rows\":");
	return p != NULL ? strtoll(p + 7, NULL, 10) : -1;
}

/* Resets pid's VmHWM to its RSS now (clear_refs 5); false when the
 * kernel does not let us. */
static bool
reset_peak(pid_t pid)
{
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/clear_refs", (int) pid);
	if ((f = fopen(path, "w")) == NULL) {
		return false;
	}
	bool ok = fputs("5", f) >= 0;
	return fclose(f) == 0 && ok;
}

int
main(void)
{
	const char *spregd = getenv("SPREGD");
	const char *build = getenv("SPREG_BUILD");
	const char *spreg_env = getenv("SPREG");
	uint32_t vendors = (uint32_t) bench_env_long("BENCH_VENDORS",
	    VENDORS_DEFAULT, 1, UINT32_MAX);
	char dir[PATH_LEN], spreg[PATH_LEN + 16], cmd[2048];
	catalog *cat;
	spawn server = {0};
	vendor scratch;
	err e;
	int status = 0;

	if (spregd == NULL || (build == NULL && spreg_env == NULL)) {
		fprintf(stderr, "bench_export: set SPREGD and SPREG_BUILD\n");
		return 1;
	}
	if (spreg_env != NULL) {
		snprintf(spreg, sizeof(spreg), "%s", spreg_env);
	} else {
		snprintf(spreg, sizeof(spreg), "%s/src/spreg", build);
	}
	if (!bench_mkdtemp(dir, sizeof(dir), "spreg-bench-export")) {
		return 1;
	}
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
	char store[PATH_LEN + 8];
	snprintf(store, sizeof(store), "%s/var", dir);
	bench_fill fill = {.cat = cat, .has_category = any_category,
	    .has_category_arg = (void *) cat, .actor = "bench",
	    .at_ms = 1700000000000, .make = vendor_make, .scratch = &scratch};
	int64_t t0 = bench_now_ns();
	if (cats == NULL ||
	    !bench_populate(store, MAP_SIZE, &fill, vendors, BATCH)) {
		return 1;
	}
	printf("populate: %" PRIu32 " vendors in %.1f s\n", vendors,
	    (double) (bench_now_ns() - t0) / 1e9);

	const char *args[] = {"--no-sample", "--map-size", "2147483648",
	    NULL};
	spawn_opts so = {.dir = dir, .args = args, .wait_ms = READY_MS};
	if (!spawn_start(&server, &so)) {
		fprintf(stderr, "bench_export: spregd did not start\n");
		spawn_stop(&server, SIGTERM);
		return 1;
	}
	/* The spreg runs below use the admin token spregd writes. */
	char token_file[SPAWN_PATH + 16];
	snprintf(token_file, sizeof(token_file), "%s/admin.token",
	    server.data);
	setenv("SPREG_TOKEN_FILE", token_file, 1);
	char *url = server.url;
	/* At rest: started, one small page served (code and caches in). */
	snprintf(cmd, sizeof(cmd), "%s --server %s export --as-of %s "
	    "--country JP --page-size 10 >/dev/null", spreg, url, AS_OF);
	if (system(cmd) != 0) {
		fprintf(stderr, "bench_export: warm-up export failed\n");
		status = 1;
	}
	long rest_kb = spawn_status_kb(&server, "VmRSS");
	long rest_anon = spawn_status_kb(&server, "RssAnon");
	printf("server at rest: VmRSS %.1f MiB (RssAnon %.1f MiB: heap and "
	    "stacks; the rest is LMDB's file-backed map)\n",
	    (double) rest_kb / 1024, (double) rest_anon / 1024);
	printf("%-6s %9s %8s %9s %9s %13s %13s %10s  %s\n", "format", "rows",
	    "seconds", "rows/s", "file MiB", "peak RSS MiB", "peak anon MiB",
	    "VmHWM MiB", "peak/rest (target <= 1.2x)");

	static const char *const formats[] = {"csv", "jsonl", "xlsx"};
	for (size_t i = 0; i < COUNT(formats); i++) {
		char out[PATH_LEN + 16];
		snprintf(out, sizeof(out), "%s/export.%s", dir, formats[i]);
		char *argv[] = {spreg, "--server", url, "--timeout", "60000",
		    "export", "--format", (char *) formats[i], "--as-of",
		    AS_OF, "--output", out, NULL};
		bool hwm_reset = reset_peak(server.pid);
		long peak = spawn_status_kb(&server, "VmRSS");
		long peak_anon = spawn_status_kb(&server, "RssAnon");
		int64_t start = bench_now_ns();
		pid_t client = run(argv);
		int cs;
		for (;;) {
			pid_t rp = waitpid(client, &cs, WNOHANG);
			long kb = spawn_status_kb(&server, "VmRSS");
			long anon = spawn_status_kb(&server, "RssAnon");
			peak = kb > peak ? kb : peak;
			peak_anon = anon > peak_anon ? anon : peak_anon;
			if (rp == client) {
				break;
			}
			bench_sleep_ms(SAMPLE_MS);
		}
		double secs = (double) (bench_now_ns() - start) / 1e9;
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
		long hwm = spawn_status_kb(&server, "VmHWM");
		if (hwm_reset && hwm > peak) {
			peak = hwm;	/* between two samples */
		}
		double ratio = (double) peak / (double) rest_kb;
		printf("%-6s %9lld %8.2f %9.0f %9.1f %13.1f %13.1f %10.1f%s "
		    "%6.2fx %s\n", formats[i], rows, secs, (double) rows / secs,
		    mib, (double) peak / 1024, (double) peak_anon / 1024,
		    (double) hwm / 1024, hwm_reset ? "" : "*", ratio,
		    ratio <= TARGET_PEAK ? "target met" : "target NOT met");
		fflush(stdout);
		unlink(out);
	}
	printf("server at rest for comparison: VmRSS %.1f MiB, RssAnon "
	    "%.1f MiB (VmHWM marked * was not reset: /proc/PID/clear_refs "
	    "refused, so it may be an earlier peak)\n",
	    (double) rest_kb / 1024, (double) rest_anon / 1024);
	spawn_stop(&server, SIGTERM);
	if (!bench_rmrf(dir)) {
		status = 1;
	}
	free(cats);
	catalog_destroy(cat);
	return status;
}
