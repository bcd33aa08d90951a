/*
 * Runs a fuzz target without libFuzzer: feeds every file named, or every
 * file in each folder named (sorted, dot files skipped), to
 * LLVMFuzzerTestOneInput. A crash, a sanitizer report or a leak fails
 * the test; a folder that does not exist is skipped (regressions/ may
 * be empty).
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t n = 0, cap = 0;

	if (f == NULL) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	for (;;) {
		if (n == cap) {
			cap = cap ? cap * 2 : 4096;
			uint8_t *p = realloc(buf, cap);
			if (p == NULL) {
				free(buf);
				fclose(f);
				return -1;
			}
			buf = p;
		}
		size_t got = fread(buf + n, 1, cap - n, f);
		if (got == 0) {
			break;
		}
		n += got;
	}
	fclose(f);
	/* libFuzzer hands over a copy of exactly size bytes. */
	uint8_t *copy = malloc(n > 0 ? n : 1);
	if (copy == NULL) {
		free(buf);
		return -1;
	}
	memcpy(copy, buf, n);
	free(buf);
	LLVMFuzzerTestOneInput(copy, n);
	free(copy);
	return 0;
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

static int
replay_dir(const char *dir, size_t *count)
{
	DIR *d = opendir(dir);
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *ent;
	int rc = 0;

	if (d == NULL) {
		return errno == ENOENT ? 0 : -1;
	}
	while ((ent = readdir(d)) != NULL) {
		if (ent->d_name[0] == '.') {
			continue;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			char **p = realloc(names, cap * sizeof(*names));
			if (p == NULL) {
				rc = -1;
				break;
			}
			names = p;
		}
		if ((names[n] = strdup(ent->d_name)) == NULL) {
			rc = -1;
			break;
		}
		n++;
	}
	closedir(d);
	if (n > 0) {
		qsort(names, n, sizeof(*names), cmp_names);
	}
	for (size_t i = 0; i < n; i++) {
		char path[4096];
		struct stat sb;
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (rc == 0 && stat(path, &sb) == 0 && S_ISREG(sb.st_mode)) {
			if (replay_file(path) != 0) {
				rc = -1;
			} else {
				(*count)++;
			}
		}
		free(names[i]);
	}
	free(names);
	return rc;
}

int
main(int argc, char **argv)
{
	int failed = 0;

	for (int i = 1; i < argc; i++) {
		struct stat sb;
		size_t count = 0;
		int rc;
		if (stat(argv[i], &sb) == 0 && S_ISREG(sb.st_mode)) {
			rc = replay_file(argv[i]);
			count = rc == 0;
		} else {
			rc = replay_dir(argv[i], &count);
		}
		printf("%s: %zu input(s) replayed%s\n", argv[i], count,
		    rc == 0 ? "" : ", error reading");
		failed |= rc != 0;
	}
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
