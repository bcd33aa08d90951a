/* What every benchmark shares: see bench.h. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "../support/write.h"

int64_t
bench_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t
bench_wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
bench_sleep_until_ns(int64_t t)
{
	for (;;) {
		int64_t left = t - bench_now_ns();
		if (left <= 0) {
			return;
		}
		struct timespec ts = {left / 1000000000, left % 1000000000};
		nanosleep(&ts, NULL);
	}
}

void
bench_sleep_ms(int ms)
{
	bench_sleep_until_ns(bench_now_ns() + (int64_t) ms * 1000000);
}

uint64_t
bench_rng_next(uint64_t *state)
{
	uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

uint32_t
bench_rng_below(uint64_t *state, uint32_t n)
{
	return (uint32_t) (bench_rng_next(state) % n);
}

long
bench_env_long(const char *name, long def, long min, long max)
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

double
bench_cpu_us(pid_t pid)
{
	char path[64], buf[1024];
	unsigned long utime, stime;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
	if (!bench_read_file(path, buf, sizeof(buf))) {
		return -1;
	}
	const char *p = strrchr(buf, ')');	/* after the command name */
	if (p == NULL ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
	        &utime, &stime) != 2) {
		return -1;
	}
	return (double) (utime + stime) * 1e6 / (double) sysconf(_SC_CLK_TCK);
}

double
bench_self_cpu_us(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double) (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 +
	    (double) (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

bool
bench_mkdtemp(char *dir, size_t size, const char *prefix)
{
	const char *tmp = getenv("TMPDIR");

	if (tmp == NULL || *tmp == '\0' || strlen(tmp) > 60) {
		tmp = "/tmp";
	}
	snprintf(dir, size, "%s/%s-XXXXXX", tmp, prefix);
	if (mkdtemp(dir) == NULL) {
		fprintf(stderr, "bench: mkdtemp %s: %s\n", dir, strerror(errno));
		return false;
	}
	return true;
}

bool
bench_read_file(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "r");

	if (f == NULL) {
		return false;
	}
	size_t n = fread(buf, 1, size - 1, f);
	fclose(f);
	buf[n] = '\0';
	return true;
}

bool
bench_contains(char *const *list, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(list[i], s) == 0) {
			return true;
		}
	}
	return false;
}

bool
bench_rmrf(const char *dir)
{
	char cmd[BENCH_PATH + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0) {
		fprintf(stderr, "bench: could not remove %s\n", dir);
		return false;
	}
	return true;
}

/* ---- the store ---- */

typedef struct put_batch {
	const bench_fill *f;
	uint32_t first, count;
	arena *a;
	int64_t now_ms;
} put_batch;

static spreg_status
put_fn(db_txn *t, void *arg, err *e)
{
	put_batch *b = arg;
	const bench_fill *f = b->f;
	db_actor who = {f->actor, 0, b->now_ms, NULL};
	spreg_status st;

	for (uint32_t i = b->first; i < b->first + b->count; i++) {
		Spreg__V1__Change *change;
		arena_reset(b->a);
		Spreg__V1__Subprocessor *sp = f->make(f->scratch, i);
		if ((st = validate_subprocessor(f->cat, f->has_category,
		         f->has_category_arg, sp, e)) != SPREG_OK ||
		    (st = db_sp_put(t, sp, 0, false, &who, b->a, &change,
		         e)) != SPREG_OK) {
			return st;
		}
		if (change == NULL) {
			return err_set(e, SPREG_INTERNAL, "%s: not stored",
			    sp->id);
		}
	}
	return SPREG_OK;
}

bool
bench_store_open(bench_store *bs, const char *dir, size_t map_size)
{
	db_options o = {.dir = dir, .map_size = map_size};
	err e;

	memset(bs, 0, sizeof(*bs));
	arena_init(&bs->a, (size_t) 1 << 20);
	if (db_open(&o, &bs->d, &e) != SPREG_OK) {
		fprintf(stderr, "bench: db_open %s: %s\n", dir, e.msg);
		return false;
	}
	if (db_session_create(bs->d, &bs->s) != SPREG_OK) {
		fprintf(stderr, "bench: db_session_create failed\n");
		return false;
	}
	return true;
}

bool
bench_store_put(bench_store *bs, const bench_fill *f, uint32_t first,
    uint32_t count)
{
	put_batch b = {f, first, count, &bs->a,
	    f->at_ms != 0 ? f->at_ms : bench_wall_ms()};
	err e;

	if (test_write(bs->s, put_fn, &b, &e) != SPREG_OK) {
		fprintf(stderr, "bench: store vendors %" PRIu32 "..: %s\n",
		    first, e.msg);
		return false;
	}
	return true;
}

void
bench_store_close(bench_store *bs)
{
	db_session_destroy(bs->s);
	bs->s = NULL;
	db_close(bs->d);
	bs->d = NULL;
	arena_fini(&bs->a);
}

bool
bench_populate(const char *dir, size_t map_size, const bench_fill *f,
    uint32_t vendors, uint32_t batch)
{
	bench_store bs;
	bool ok = bench_store_open(&bs, dir, map_size);

	for (uint32_t first = 0; ok && first < vendors; first += batch) {
		ok = bench_store_put(&bs, f, first, vendors - first < batch ?
		    vendors - first : batch);
	}
	bench_store_close(&bs);
	return ok;
}
