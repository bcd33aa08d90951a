/* The registry benchmark's synthetic vendors: see registry.h. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry.h"

static const char *const services[] = {"app", "billing", "support",
    "marketing", "analytics", "infrastructure", "communications"};
static const char *const countries[] = {"US", "DE", "FR", "IE", "GB", "CA",
    "IN", "RS", "JP", "BR", "NL", "SG", "AU", "PL", "CH"};
static const char *const roles[] = {"hosting", "processing", "storage",
    "backup", "support", "development"};
static const char *const name_first[] = {"Acme", "Nimbus", "Blue", "Vertex",
    "Quill", "Harbor", "Lumen", "Orbit", "Cedar", "Pixel", "Granite",
    "Atlas", "Juniper", "Signal", "Kestrel", "Mosaic"};
static const char *const name_second[] = {"Cloud", "Mail", "Pay", "Desk",
    "Metrics", "Labs", "Hosting", "Analytics", "Chat", "Data", "Ops",
    "Forms"};
static const char *const entity_form[] = {"Inc.", "GmbH", "SAS", "Ltd",
    "K.K.", "B.V.", "LLC", "Sp. z o.o."};

typedef struct safeguard_kind {
	const char *mechanism;
	const char *regime;
	const char *signed_on;
} safeguard_kind;

static const safeguard_kind safeguard_kinds[] = {
	{"eu-scc-2021-m2", "EU", "2022-01-10"},
	{"eu-scc-2021-m3", "EU", "2022-03-01"},
	{"uk-idta", "UK", "2022-06-15"},
	{"uk-addendum", "UK", "2022-09-01"},
	{"ch-standard-clauses", "CH", "2023-10-02"},
};

/* The data-category keys vendors draw from (synth_init). */
static const char **cat_pool;
static size_t cat_pool_len;

bool
synth_init(const catalog *cat)
{
	size_t n = catalog_category_count(cat);

	if ((cat_pool = calloc(n, sizeof(*cat_pool))) == NULL) {
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		const catalog_category *c = catalog_category_at(cat, i);
		if (c->parent[0] != '\0' && strcmp(c->key, RARE_CATEGORY) != 0) {
			cat_pool[cat_pool_len++] = c->key;
		}
	}
	return cat_pool_len >= 6;
}

void
synth_fini(void)
{
	free(cat_pool);
	cat_pool = NULL;
	cat_pool_len = 0;
}


void
synth_make(synth *s, uint32_t number, const char *id)
{
	uint64_t r = SEED ^ ((uint64_t) number * UINT64_C(0x100000001b3));
	Spreg__V1__Subprocessor *sp = &s->sp;

	spreg__v1__subprocessor__init(sp);
	if (id != NULL) {
		snprintf(s->id, sizeof(s->id), "%s", id);
	} else {
		snprintf(s->id, sizeof(s->id), "vendor-%06" PRIu32, number);
	}
	const char *first = name_first[bench_rng_below(&r, COUNT(name_first))];
	const char *second = name_second[bench_rng_below(&r, COUNT(name_second))];
	snprintf(s->name, sizeof(s->name), "%s %s %06" PRIu32, first, second,
	    number);
	snprintf(s->legal_entity, sizeof(s->legal_entity), "%s %s %06" PRIu32
	    " %s", first, second, number,
	    entity_form[bench_rng_below(&r, COUNT(entity_form))]);
	snprintf(s->website, sizeof(s->website),
	    "https://www.%s-%s-%06" PRIu32 ".example.com", first, second,
	    number);
	for (char *p = s->website; *p; p++) {
		if (*p >= 'A' && *p <= 'Z') {
			*p = (char) (*p - 'A' + 'a');
		}
	}
	sp->id = s->id;
	sp->name = s->name;
	sp->legal_entity = s->legal_entity;
	sp->website = s->website;

	size_t nservices = 1 + bench_rng_below(&r, 3);
	while (sp->n_services < nservices) {
		char *svc = (char *) services[bench_rng_below(&r, COUNT(services))];
		if (!bench_contains(s->services, sp->n_services, svc)) {
			s->services[sp->n_services++] = svc;
		}
	}
	sp->services = s->services;

	size_t ncats = 2 + bench_rng_below(&r, 5);
	while (sp->n_data_categories < ncats) {
		char *key = (char *) cat_pool[bench_rng_below(&r,
		    (uint32_t) cat_pool_len)];
		if (!bench_contains(s->categories, sp->n_data_categories, key)) {
			s->categories[sp->n_data_categories++] = key;
		}
	}
	if (number % RARE_EVERY == 7) {
		s->categories[sp->n_data_categories++] = RARE_CATEGORY;
	}
	sp->data_categories = s->categories;
	snprintf(s->purpose, sizeof(s->purpose),
	    "%s %s provides %s services for our product and processes %s "
	    "and related data on our behalf under a data processing "
	    "agreement.", first, second, s->services[0], s->categories[0]);
	sp->purpose = s->purpose;

	size_t nlocs = 1 + bench_rng_below(&r, SYNTH_LOCS_MAX);
	for (size_t i = 0; i < nlocs; i++) {
		Spreg__V1__Location *loc = &s->locations[i];
		spreg__v1__location__init(loc);
		for (;;) {	/* (country, role) pairs are distinct */
			loc->country = (char *) countries[bench_rng_below(&r,
			    COUNT(countries))];
			loc->role = (char *) roles[i == 0 ? 0 :
			    bench_rng_below(&r, COUNT(roles))];
			bool dup = false;
			for (size_t j = 0; j < i; j++) {
				dup = dup || (strcmp(s->locations[j].country,
				                  loc->country) == 0 &&
				                 strcmp(s->locations[j].role,
				                     loc->role) == 0);
			}
			if (!dup) {
				break;
			}
		}
		/* Narrower than the vendor's categories: 0-2 of them. */
		size_t nlc = bench_rng_below(&r, 3);
		for (size_t k = 0; k < nlc && k < sp->n_data_categories; k++) {
			char *key = s->categories[bench_rng_below(&r,
			    (uint32_t) sp->n_data_categories)];
			if (!bench_contains(s->location_categories[i],
			        loc->n_data_categories, key)) {
				s->location_categories[i]
				    [loc->n_data_categories++] = key;
			}
		}
		loc->data_categories = s->location_categories[i];
		s->location_ptrs[i] = loc;
	}
	sp->n_locations = nlocs;
	sp->locations = s->location_ptrs;

	size_t nsgs = 1 + bench_rng_below(&r, SYNTH_SGS_MAX);
	size_t first_kind = bench_rng_below(&r, COUNT(safeguard_kinds));
	for (size_t i = 0; i < nsgs; i++) {
		const safeguard_kind *k = &safeguard_kinds[(first_kind + i) %
		    COUNT(safeguard_kinds)];
		Spreg__V1__Safeguard *sg = &s->safeguards[i];
		spreg__v1__safeguard__init(sg);
		sg->mechanism = (char *) k->mechanism;
		sg->regime = (char *) k->regime;
		sg->signed_on = (char *) k->signed_on;
		snprintf(s->document_refs[i], sizeof(s->document_refs[i]),
		    "DPA-%06" PRIu32 "-%zu annex III", number, i + 1);
		sg->document_ref = s->document_refs[i];
		s->safeguard_ptrs[i] = sg;
	}
	sp->n_safeguards = nsgs;
	sp->safeguards = s->safeguard_ptrs;
	if (strcmp(s->locations[0].country, "US") == 0 &&
	    bench_rng_below(&r, 2) == 0) {
		sp->dpf_certified_on = "2023-08-01";
	}
	sp->status = SP_STATUS_ACTIVE;
	sp->effective_from = "2020-01-01";
}

bool
synth_matches(const synth *s, const char *key)
{
	size_t len = strlen(key);

	for (size_t i = 0; i < s->sp.n_data_categories; i++) {
		const char *k = s->sp.data_categories[i];
		if (strncmp(k, key, len) == 0 &&
		    (k[len] == '\0' || k[len] == '.')) {
			return true;
		}
	}
	return false;
}

Spreg__V1__Subprocessor *
synth_fill(void *scratch, uint32_t number)
{
	synth *s = scratch;

	synth_make(s, number, NULL);
	return &s->sp;
}
