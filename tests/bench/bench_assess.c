/*
 * The assessment benchmark (meson test --benchmark): how long a
 * whole-registry transfer assessment takes, next to the cost of just
 * listing the same registry.
 *
 * Builds a store of BENCH_VENDORS (default 100,000) synthetic
 * subprocessors directly through the store (validate_subprocessor +
 * db_sp_put in durable writes), starts the real spregd on it, then per
 * round pages through the whole registry once with AssessTransfers
 * (regime EU, a fixed day, 1000 vendors a page) and once with
 * ListSubprocessors (same page size), over ipc, one client. Reports the
 * median round: vendors/s and rows/s of each and the cost ratio.
 *
 * The vendors mix what the rules distinguish: EEA-only, adequate
 * countries, the US with and without DPF certification, SCCs with and
 * without a TIA, expired safeguards, derogations and nothing at all.
 *
 * Environment: SPREGD (required), BENCH_VENDORS, BENCH_ROUNDS (default
 * 3), TMPDIR. Exit status non-zero only when something failed.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "spreg/client.h"
#include "spreg/v1/assess.pb-c.h"
#include "support/spawn.h"

#define POPULATE_BATCH 2000
#define PAGE 1000
#define AS_OF "2026-11-23"
#define MAP_SIZE ((size_t) 8 << 30)
#define READY_TIMEOUT_MS 60000

/* ---- synthetic vendors ---- */

/* One vendor's record and the storage its pointers use. */
typedef struct vendor {
	Spreg__V1__Subprocessor sp;
	Spreg__V1__Location loc[3], *locs[3];
	Spreg__V1__Safeguard sg[2], *sgs[2];
	char *cats[4], *services[2];
	char id[32], name[48];
} vendor;

static const char *const categories[] = {"user.name", "user.contact.email",
    "user.device.ip_address", "user.account.username",
    "user.financial.bank_account", "user.content.private",
    "user.behavior.browsing_history", "user.contact.phone_number"};
static const char *const services[] = {"app", "billing", "support",
    "marketing", "analytics"};
/* Where the second location goes: EEA, adequate, US, elsewhere. */
static const char *const countries[] = {"DE", "FR", "IE", "JP", "CH",
    "GB", "US", "US", "US", "IN", "BR", "CA"};

static Spreg__V1__Subprocessor *
vendor_make(void *scratch, uint32_t i)
{
	vendor *v = scratch;
	uint32_t h = i * 2654435761u;

	memset(v, 0, sizeof(*v));
	spreg__v1__subprocessor__init(&v->sp);
	snprintf(v->id, sizeof(v->id), "vendor-%06u", i);
	snprintf(v->name, sizeof(v->name), "Vendor %u", i);
	v->sp.id = v->id;
	v->sp.name = v->name;
	v->sp.effective_from = "2019-01-01";
	v->services[0] = (char *) services[h % 5];
	v->sp.services = v->services;
	v->sp.n_services = 1;
	size_t ncats = 1 + (h >> 3) % 4;
	for (size_t c = 0; c < ncats; c++) {
		v->cats[c] = (char *) categories[((h >> 5) + c) % 8];
	}
	v->sp.data_categories = v->cats;
	v->sp.n_data_categories = ncats;

	/* Always hosted in the EEA; a second (and third) country. */
	size_t nloc = 2 + (h >> 9) % 2;
	for (size_t l = 0; l < nloc; l++) {
		spreg__v1__location__init(&v->loc[l]);
		v->loc[l].country = (char *) (l == 0 ? "DE" :
		    countries[((h >> 11) + l * 5) % 12]);
		v->loc[l].role = (char *) (l == 0 ? "hosting" : "support");
		v->locs[l] = &v->loc[l];
	}
	v->sp.locations = v->locs;
	v->sp.n_locations = nloc;

	/* Safeguards: SCCs with or without a TIA, expired ones, a
	 * derogation, or none; some are DPF-certified. */
	size_t nsg = 0;
	switch ((h >> 14) % 6) {
	case 0:
		break;
	case 1:
	case 2:
		spreg__v1__safeguard__init(&v->sg[nsg]);
		v->sg[nsg].mechanism = "eu-scc-2021-m2";
		v->sg[nsg].regime = "EU";
		v->sg[nsg].signed_on = "2022-03-01";
		v->sg[nsg].tia_ref = (h >> 17) % 2 ? "TIA-1" : "";
		nsg++;
		break;
	case 3:
		spreg__v1__safeguard__init(&v->sg[nsg]);
		v->sg[nsg].mechanism = "eu-scc-2021-m3";
		v->sg[nsg].regime = "EU";
		v->sg[nsg].signed_on = "2022-03-01";
		v->sg[nsg].expires_on = "2025-03-01";
		v->sg[nsg].tia_ref = "TIA-2";
		nsg++;
		break;
	case 4:
		spreg__v1__safeguard__init(&v->sg[nsg]);
		v->sg[nsg].mechanism = "eu-derogation-b";
		v->sg[nsg].regime = "EU";
		v->sg[nsg].signed_on = "2021-01-01";
		nsg++;
		break;
	default:
		v->sp.dpf_certified_on = "2023-08-01";
		break;
	}
	v->sp.safeguards = v->sgs;
	for (size_t s = 0; s < nsg; s++) {
		v->sgs[s] = &v->sg[s];
	}
	v->sp.n_safeguards = nsg;
	return &v->sp;
}

/* ---- the two walks ---- */

typedef struct walk {
	double seconds;
	uint64_t vendors, rows, pages;
} walk;

static bool
walk_assess(spreg_client *c, walk *out)
{
	Spreg__V1__AssessTransfersRequest req =
	    SPREG__V1__ASSESS_TRANSFERS_REQUEST__INIT;
	char token[512] = "";
	int64_t start = bench_now_ns();

	memset(out, 0, sizeof(*out));
	req.regime = "EU";
	req.as_of = AS_OF;
	req.page_size = PAGE;
	do {
		ProtobufCMessage *msg;
		req.page_token = token;
		if (spreg_call(c, "spreg.v1.Assessment/AssessTransfers",
		        &req.base,
		        &spreg__v1__assess_transfers_response__descriptor,
		        &msg) != SPREG_OK) {
			fprintf(stderr, "bench_assess: AssessTransfers: %s\n",
			    spreg_client_error(c));
			return false;
		}
		const Spreg__V1__AssessTransfersResponse *r =
		    (const void *) msg;
		out->vendors += r->n_vendors;
		out->rows += r->n_assessments;
		out->pages++;
		snprintf(token, sizeof(token), "%s", r->next_page_token);
		spreg_message_free(msg);
	} while (token[0] != '\0');
	out->seconds = (double) (bench_now_ns() - start) / 1e9;
	return true;
}

static bool
walk_list(spreg_client *c, walk *out)
{
	Spreg__V1__ListSubprocessorsRequest req =
	    SPREG__V1__LIST_SUBPROCESSORS_REQUEST__INIT;
	char token[512] = "";
	int64_t start = bench_now_ns();

	memset(out, 0, sizeof(*out));
	req.page_size = PAGE;
	do {
		ProtobufCMessage *msg;
		req.page_token = token;
		if (spreg_call(c, "ListSubprocessors", &req.base,
		        &spreg__v1__list_subprocessors_response__descriptor,
		        &msg) != SPREG_OK) {
			fprintf(stderr, "bench_assess: ListSubprocessors: %s\n",
			    spreg_client_error(c));
			return false;
		}
		const Spreg__V1__ListSubprocessorsResponse *r =
		    (const void *) msg;
		out->vendors += r->n_subprocessors;
		out->rows += r->n_subprocessors;
		out->pages++;
		snprintf(token, sizeof(token), "%s", r->next_page_token);
		spreg_message_free(msg);
	} while (token[0] != '\0');
	out->seconds = (double) (bench_now_ns() - start) / 1e9;
	return true;
}

static int
by_seconds(const void *a, const void *b)
{
	double x = ((const walk *) a)->seconds, y = ((const walk *) b)->seconds;
	return (x > y) - (x < y);
}

int
main(void)
{
	uint32_t vendors = (uint32_t) bench_env_long("BENCH_VENDORS", 100000,
	    1, UINT32_MAX);
	uint32_t rounds = (uint32_t) bench_env_long("BENCH_ROUNDS", 3, 1, 16);
	char dir[256];
	walk assess[16], list[16];
	catalog *cat = NULL;
	spreg_client *c = NULL;
	spawn server = {0};
	vendor scratch;
	int status = 1;
	err e;

	if (getenv("SPREGD") == NULL) {
		fprintf(stderr, "bench_assess: set SPREGD\n");
		return 1;
	}
	if (!bench_mkdtemp(dir, sizeof(dir), "spreg-bench-assess")) {
		return 1;
	}
	if (catalog_load(SPREG_TEST_DATA, &cat, &e) != SPREG_OK) {
		fprintf(stderr, "bench_assess: %s\n", e.msg);
		goto out;
	}
	char data[300];
	snprintf(data, sizeof(data), "%s/data", dir);
	bench_fill fill = {.cat = cat,
	    .actor = "bench_assess (synthetic registry)",
	    .make = vendor_make,
	    .scratch = &scratch};
	int64_t start = bench_now_ns();
	if (!bench_populate(data, MAP_SIZE, &fill, vendors, POPULATE_BATCH)) {
		goto out;
	}
	printf("populated %u vendors in %.1f s\n", vendors,
	    (double) (bench_now_ns() - start) / 1e9);
	char map[32];
	snprintf(map, sizeof(map), "%zu", MAP_SIZE);
	const char *args[] = {"--reference", SPREG_TEST_DATA, "--no-sample",
	    "--map-size", map, NULL};
	spawn_opts so = {.dir = dir, .name = "data", .args = args,
	    .wait_ms = READY_TIMEOUT_MS};
	if (!spawn_start(&server, &so) ||
	    test_client_open(server.url, false, &c) != SPREG_OK) {
		goto out;
	}
	spreg_client_set_timeout(c, 120000);
	/* A warm-up walk of each, so both start from a hot page cache. */
	if (!walk_list(c, &list[0]) || !walk_assess(c, &assess[0])) {
		goto out;
	}
	for (uint32_t r = 0; r < rounds; r++) {
		if (!walk_assess(c, &assess[r]) || !walk_list(c, &list[r])) {
			goto out;
		}
	}
	qsort(assess, rounds, sizeof(assess[0]), by_seconds);
	qsort(list, rounds, sizeof(list[0]), by_seconds);
	const walk *a = &assess[rounds / 2], *l = &list[rounds / 2];
	if (a->vendors != vendors || l->vendors != vendors) {
		fprintf(stderr, "bench_assess: saw %llu and %llu vendors, "
		    "expected %u\n", (unsigned long long) a->vendors,
		    (unsigned long long) l->vendors, vendors);
		goto out;
	}
	printf("whole-registry walks, %u vendors, pages of %d, median of "
	       "%u rounds, ipc, 1 client:\n", vendors, PAGE, rounds);
	printf("  AssessTransfers EU as of %s: %.3f s  %.0f vendors/s  "
	       "%.0f rows/s  (%llu rows, %llu pages)\n", AS_OF, a->seconds,
	    (double) a->vendors / a->seconds, (double) a->rows / a->seconds,
	    (unsigned long long) a->rows, (unsigned long long) a->pages);
	printf("  ListSubprocessors (baseline):   %.3f s  %.0f vendors/s\n",
	    l->seconds, (double) l->vendors / l->seconds);
	printf("  assessment costs %.2fx a listing of the same registry\n",
	    a->seconds / l->seconds);
	status = 0;
out:
	spreg_client_close(c);
	spawn_stop(&server, SIGTERM);
	catalog_destroy(cat);
	bench_rmrf(dir);
	return status;
}
