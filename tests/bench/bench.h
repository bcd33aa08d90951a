/*
 * What every benchmark shares (meson test --benchmark): the clock,
 * sleeping, a deterministic random source, settings from the
 * environment, CPU time of a process, a temporary folder, and filling a
 * store with synthetic vendors through the server's own store path
 * (validate_subprocessor + db_sp_put in durable write transactions).
 * Each benchmark makes its own vendors; spregd itself is started with
 * tests/support/spawn.h.
 */
#ifndef BENCH_H
#define BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/arena.h"
#include "core/catalog.h"
#include "core/validate.h"
#include "db/db.h"
#include "db/record.h"

#ifndef SPREG_TEST_DATA
#define SPREG_TEST_DATA "data"
#endif

#define COUNT(a) (sizeof(a) / sizeof(*(a)))
#define BENCH_PATH 1024

/* Monotonic nanoseconds; wall-clock milliseconds. */
int64_t bench_now_ns(void);
int64_t bench_wall_ms(void);
void bench_sleep_until_ns(int64_t t);
void bench_sleep_ms(int ms);

/* splitmix64: deterministic, one state per vendor or per thread. */
uint64_t bench_rng_next(uint64_t *state);
uint32_t bench_rng_below(uint64_t *state, uint32_t n);

/* $name as a number in min..max; def when unset, or (with a message)
 * when it is not such a number. */
long bench_env_long(const char *name, long def, long min, long max);

/* CPU time (user + system) of a process, or of this one, in
 * microseconds; -1 if unknown. */
double bench_cpu_us(pid_t pid);
double bench_self_cpu_us(void);

/* A fresh folder $TMPDIR/PREFIX-XXXXXX in dir (/tmp when TMPDIR is unset
 * or too long: ipc:// paths must fit a sockaddr_un). */
bool bench_mkdtemp(char *dir, size_t size, const char *prefix);

/* Reads up to size - 1 bytes of path into buf, NUL-terminated. */
bool bench_read_file(const char *path, char *buf, size_t size);

/* Is s one of list[0 .. n - 1]? */
bool bench_contains(char *const *list, size_t n, const char *s);

/* rm -rf dir; false when something is left. */
bool bench_rmrf(const char *dir);

/* Fills scratch with vendor number and returns its record. */
typedef Spreg__V1__Subprocessor *(*bench_make_fn)(void *scratch,
    uint32_t number);

/* How the vendors of a store are made and stored. */
typedef struct bench_fill {
	const catalog *cat;
	validate_category_fn has_category;	/* validate_subprocessor's */
	void *has_category_arg;
	const char *actor;	/* the change log's actor */
	int64_t at_ms;		/* its time; 0: the wall clock per batch */
	bench_make_fn make;
	void *scratch;		/* make's record storage */
} bench_fill;

/* An open store and the session that writes it. */
typedef struct bench_store {
	db *d;
	db_session *s;
	arena a;
} bench_store;

/* Opens (creating) the store in dir with a map of map_size bytes. */
bool bench_store_open(bench_store *bs, const char *dir, size_t map_size);

/* Stores vendors first .. first + count - 1 in one durable write
 * transaction. */
bool bench_store_put(bench_store *bs, const bench_fill *f, uint32_t first,
    uint32_t count);

/* Accepts a partly opened or closed store. */
void bench_store_close(bench_store *bs);

/* Opens dir, stores vendors 0 .. vendors - 1, batch to a durable
 * transaction, and closes it. */
bool bench_populate(const char *dir, size_t map_size, const bench_fill *f,
    uint32_t vendors, uint32_t batch);

#endif
