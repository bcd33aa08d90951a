/*
 * Fuzzes the CSV reference-data loader: csvfile_read on the input as it
 * is, then catalog_load with the input as each of countries.csv,
 * mechanisms.csv and data_categories.csv in turn (the other two copied
 * from data/). A catalog that loads is read back entry by entry and has
 * the shipped transfer rules loaded against it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "assess/rules.h"
#include "core/catalog.h"
#include "core/csvfile.h"

#include "fuzz.h"

static const char *const files[] = {
	"countries.csv", "mechanisms.csv", "data_categories.csv",
};
#define NFILES (sizeof(files) / sizeof(files[0]))

static char dirs[NFILES][300];
static char top_dir[256], raw_path[300];

static void
init_once(void)
{
	const char *top = fuzz_scratch_dir("fuzz-csv");

	snprintf(top_dir, sizeof(top_dir), "%s", top);
	snprintf(raw_path, sizeof(raw_path), "%s/raw.csv", top);
	for (size_t i = 0; i < NFILES; i++) {
		snprintf(dirs[i], sizeof(dirs[i]), "%s/%zu", top, i);
		if (mkdir(dirs[i], 0700) != 0) {
			perror(dirs[i]);
			abort();
		}
		for (size_t j = 0; j < NFILES; j++) {
			if (j != i) {
				fuzz_copy_data(dirs[i], files[j]);
			}
		}
		fuzz_copy_data(dirs[i], "regimes.csv");
		fuzz_copy_data(dirs[i], "adequacy.csv");
		fuzz_copy_data(dirs[i], "data_uses.csv");
	}
}

typedef struct tally {
	size_t rows, bytes;
} tally;

static spreg_status
count_row(void *arg, const csvfile_row *row, err *e)
{
	tally *t = arg;

	(void) e;
	t->rows++;
	for (size_t i = 0; i < row->nfields; i++) {
		t->bytes += strlen(row->fields[i]);
	}
	/* A callback may stop the read; the reader must clean up. */
	return t->rows > 1000 ? SPREG_OUT_OF_RANGE : SPREG_OK;
}

static void
read_back(const catalog *c)
{
	size_t n = catalog_category_count(c);
	for (size_t i = 0; i < n; i++) {
		const catalog_category *cc = catalog_category_at(c, i);
		if (catalog_category_find(c, cc->key) != cc) {
			fprintf(stderr, "category %s not found by key\n",
			    cc->key);
			abort();
		}
	}
	n = catalog_mechanism_count(c);
	for (size_t i = 0; i < n; i++) {
		const catalog_mechanism *m = catalog_mechanism_at(c, i);
		if (catalog_mechanism_find(c, m->id) != m) {
			fprintf(stderr, "mechanism %s not found by id\n", m->id);
			abort();
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const two[] = {"code", "name"};
	static bool ready;
	tally t = {0, 0};
	err e;

	if (!ready) {
		init_once();
		ready = true;
	}
	fuzz_write_file(top_dir, "raw.csv", data, size);
	(void) csvfile_read(raw_path, two, 2, count_row, &t, &e);

	for (size_t i = 0; i < NFILES; i++) {
		catalog *c;
		assess_rules *r;
		fuzz_write_file(dirs[i], files[i], data, size);
		if (catalog_load(dirs[i], &c, &e) != SPREG_OK) {
			continue;
		}
		read_back(c);
		if (assess_rules_load(dirs[i], c, &r, &e) == SPREG_OK) {
			assess_rules_destroy(r);
		}
		catalog_destroy(c);
	}
	return 0;
}
