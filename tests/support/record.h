/*
 * A minimal valid subprocessor for the integration tests' writes: one
 * service, one data category, a US location under EU standard clauses
 * with a TIA, active since 2020. The test names it (id, name).
 *
 *   test_record r;
 *   test_record_init(&r, "app");
 *   snprintf(r.id, sizeof(r.id), "w1-%u", n);   // and r.name
 *   req.subprocessor = &r.sp;
 */
#ifndef TEST_RECORD_H
#define TEST_RECORD_H

#include <string.h>

#include "spreg/v1/registry.pb-c.h"

#define TEST_STATUS_ACTIVE \
	SPREG__V1__SUBPROCESSOR_STATUS__SUBPROCESSOR_STATUS_ACTIVE

typedef struct test_record {
	Spreg__V1__Subprocessor sp;
	Spreg__V1__Location location;
	Spreg__V1__Location *locations[1];
	Spreg__V1__Safeguard safeguard;
	Spreg__V1__Safeguard *safeguards[1];
	char *services[1];
	char *categories[1];
	char id[32];
	char name[96];
} test_record;

/* service: a string that outlives r. */
static inline void
test_record_init(test_record *r, const char *service)
{
	memset(r, 0, sizeof(*r));
	spreg__v1__subprocessor__init(&r->sp);
	spreg__v1__location__init(&r->location);
	spreg__v1__safeguard__init(&r->safeguard);
	r->services[0] = (char *) service;
	r->categories[0] = (char *) "user.contact.email";
	r->location.country = (char *) "US";
	r->location.role = (char *) "hosting";
	r->locations[0] = &r->location;
	r->safeguard.mechanism = (char *) "eu-scc-2021-m2";
	r->safeguard.regime = (char *) "EU";
	r->safeguard.signed_on = (char *) "2022-01-10";
	r->safeguard.tia_ref = (char *) "TIA-1";
	r->safeguards[0] = &r->safeguard;
	r->sp.id = r->id;
	r->sp.name = r->name;
	r->sp.n_services = 1;
	r->sp.services = r->services;
	r->sp.n_data_categories = 1;
	r->sp.data_categories = r->categories;
	r->sp.n_locations = 1;
	r->sp.locations = r->locations;
	r->sp.n_safeguards = 1;
	r->sp.safeguards = r->safeguards;
	r->sp.status = TEST_STATUS_ACTIVE;
	r->sp.effective_from = (char *) "2020-01-01";
}

#endif
