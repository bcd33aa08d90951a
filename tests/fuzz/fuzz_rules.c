/*
 * Fuzzes the transfer rules loader: assess_rules_load with the input as
 * adequacy.csv, then as regimes.csv (the other files copied from data/),
 * against the shipped catalog. Rules that load are read back through
 * every lookup.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "assess/rules.h"
#include "core/catalog.h"

#include "fuzz.h"

static const char *const files[] = {"adequacy.csv", "regimes.csv"};
#define NFILES (sizeof(files) / sizeof(files[0]))

static catalog *cat;
static char dirs[NFILES][300];

static void
drop_catalog(void)
{
	catalog_destroy(cat);
}

static void
init_once(void)
{
	const char *top = fuzz_scratch_dir("fuzz-rules");
	err e;

	if (catalog_load(SPREG_TEST_DATA, &cat, &e) != SPREG_OK) {
		fprintf(stderr, "fuzz_rules: %s\n", e.msg);
		abort();
	}
	atexit(drop_catalog);
	for (size_t i = 0; i < NFILES; i++) {
		snprintf(dirs[i], sizeof(dirs[i]), "%s/%zu", top, i);
		if (mkdir(dirs[i], 0700) != 0) {
			perror(dirs[i]);
			abort();
		}
		fuzz_copy_data(dirs[i], "mechanisms.csv");
		fuzz_copy_data(dirs[i], "lineage.csv");
		fuzz_copy_data(dirs[i], files[1 - i]);
	}
}

static void
read_back(const assess_rules *r)
{
	if (strlen(assess_rules_checksum(r)) != ASSESS_CHECKSUM_HEX - 1) {
		fprintf(stderr, "checksum '%s'\n", assess_rules_checksum(r));
		abort();
	}
	(void) strlen(assess_rules_version(r));
	for (size_t i = 0; i < assess_regime_count(r); i++) {
		const assess_regime *g = assess_regime_at(r, i);
		if (assess_regime_find(r, g->id) != g) {
			fprintf(stderr, "regime %s not found by id\n", g->id);
			abort();
		}
		(void) assess_regime_home(g, "DE");
		(void) assess_regime_home(g, "");
	}
	for (size_t i = 0; i < assess_finding_count(r); i++) {
		const assess_finding *fd = assess_finding_at(r, i);
		size_t n;
		const assess_finding *all = assess_findings_for(r, fd->regime,
		    fd->country, &n);
		if (all == NULL || fd < all || fd >= all + n) {
			fprintf(stderr, "finding %s not among its pair's\n",
			    fd->id);
			abort();
		}
		if (fd->valid_from != CATALOG_DAY_NONE &&
		    fd->valid_until != CATALOG_DAY_NONE &&
		    fd->valid_until <= fd->valid_from) {
			fprintf(stderr, "finding %s: inverted interval\n",
			    fd->id);
			abort();
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	err e;

	if (!ready) {
		init_once();
		ready = true;
	}
	for (size_t i = 0; i < NFILES; i++) {
		assess_rules *r;
		fuzz_write_file(dirs[i], files[i], data, size);
		if (assess_rules_load(dirs[i], cat, &r, &e) == SPREG_OK) {
			read_back(r);
			assess_rules_destroy(r);
		}
	}
	return 0;
}
