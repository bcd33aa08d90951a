/*
 * Helpers shared by the fuzz targets: a scratch folder removed at exit
 * and whole-file writes. Each target is one .c file defining
 * LLVMFuzzerTestOneInput, linked either with libFuzzer (-Dfuzz=true,
 * clang) or with replay.c (every build: the corpus and the crash inputs
 * kept in regressions/ run as unit tests).
 */
#ifndef FUZZ_FUZZ_H
#define FUZZ_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char fuzz_scratch[256];

static inline void
fuzz_scratch_remove(void)
{
	char cmd[300];

	if (fuzz_scratch[0] != '\0') {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fuzz_scratch);
		if (system(cmd) != 0) {
			fprintf(stderr, "could not remove %s\n", fuzz_scratch);
		}
	}
}

/* A fresh folder, on tmpfs when there is one (writes fsync), removed
 * at exit. Aborts on failure: nothing can be fuzzed without it. */
static inline const char *
fuzz_scratch_dir(const char *name)
{
	const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";

	snprintf(fuzz_scratch, sizeof(fuzz_scratch), "%s/spreg-%s-XXXXXX",
	    base, name);
	if (mkdtemp(fuzz_scratch) == NULL) {
		perror(fuzz_scratch);
		abort();
	}
	atexit(fuzz_scratch_remove);
	return fuzz_scratch;
}

/* Writes size bytes to dir/name; aborts on failure. */
static inline void
fuzz_write_file(const char *dir, const char *name, const void *data,
    size_t size)
{
	char path[4096];

	if ((size_t) snprintf(path, sizeof(path), "%s/%s", dir, name) >=
	    sizeof(path)) {
		fprintf(stderr, "%s/%s: path too long\n", dir, name);
		abort();
	}
	FILE *f = fopen(path, "wb");
	if (f == NULL || (size > 0 && fwrite(data, 1, size, f) != size) ||
	    fclose(f) != 0) {
		perror(path);
		abort();
	}
}

/* Copies SPREG_TEST_DATA/name into dir. */
static inline void
fuzz_copy_data(const char *dir, const char *name)
{
	char path[4096];
	static char buf[1 << 20];

	if ((size_t) snprintf(path, sizeof(path), "%s/%s", SPREG_TEST_DATA,
	        name) >= sizeof(path)) {
		fprintf(stderr, "%s: path too long\n", name);
		abort();
	}
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		perror(path);
		abort();
	}
	size_t n = fread(buf, 1, sizeof(buf), f);
	if (ferror(f) || n == sizeof(buf)) {
		fprintf(stderr, "%s: read error or too large\n", path);
		abort();
	}
	fclose(f);
	fuzz_write_file(dir, name, buf, n);
}

#endif
