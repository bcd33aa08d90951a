/*
 * Transfer verdicts: for a subprocessor, each (processing country, data
 * category) pair is judged against one regime's rules on one day. Pure
 * functions over the rules, the catalog and the record: no store, no
 * network, no clock (the day is part of the query).
 *
 * Decision order for a country outside the regime's own area (the first
 * that holds wins; data/RULES.md has the long form):
 *   ADEQUATE      a finding of adequacy.csv covers the day, its mechanism
 *                 is valid and its condition holds for the recipient;
 *   SAFEGUARDED   a recorded Art. 46 safeguard counts on the day and its
 *                 TIA is on file (or the mechanism needs none);
 *   TIA_REQUIRED  such a safeguard counts, but its TIA is missing;
 *   DEROGATION    only an Art. 49 / FADP Art. 17 derogation counts;
 *   INVALID       something recorded or relied on ceased (the latest to
 *                 cease is named, with the day);
 *   MISSING       nothing at all.
 * A vendor with data categories and no location gets UNKNOWN_LOCATION
 * for each category (country empty): it is never silently left out.
 * Lawful: NO_TRANSFER, ADEQUATE, SAFEGUARDED and DEROGATION (flagged:
 * occasional transfers only). Failing: TIA_REQUIRED, INVALID, MISSING,
 * UNKNOWN_LOCATION.
 */
#ifndef ASSESS_ASSESS_H
#define ASSESS_ASSESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "assess/rules.h"
#include "core/arena.h"
#include "core/catalog.h"
#include "core/err.h"
#include "spreg/v1/assess.pb-c.h"
#include "spreg/v1/registry.pb-c.h"

#define ASSESS_NO_TRANSFER SPREG__V1__VERDICT__VERDICT_NO_TRANSFER
#define ASSESS_ADEQUATE SPREG__V1__VERDICT__VERDICT_ADEQUATE
#define ASSESS_SAFEGUARDED SPREG__V1__VERDICT__VERDICT_SAFEGUARDED
#define ASSESS_TIA_REQUIRED SPREG__V1__VERDICT__VERDICT_TIA_REQUIRED
#define ASSESS_DEROGATION SPREG__V1__VERDICT__VERDICT_DEROGATION
#define ASSESS_INVALID SPREG__V1__VERDICT__VERDICT_INVALID
#define ASSESS_MISSING SPREG__V1__VERDICT__VERDICT_MISSING
#define ASSESS_UNKNOWN_LOCATION SPREG__V1__VERDICT__VERDICT_UNKNOWN_LOCATION
#define ASSESS_NVERDICTS 9	/* index of counts arrays: the enum value */

#define ASSESS_HORIZON_DEFAULT 90
#define ASSESS_SUPPOSE_MAX 32

/* "As if id ceased on from": a mechanism id, or "adequacy:REGIME:CC"
 * (every finding of that pair) or a finding's own id. */
typedef struct assess_supposition {
	const char *id;
	int32_t from;		/* first day it no longer counts */
} assess_supposition;

/* Optional: is a category outside the catalog (a user's) special? */
typedef bool (*assess_special_fn)(void *arg, const char *category);

typedef struct assess_query {
	const char *regime;	/* "EU", "UK" or "CH" (of the rules) */
	int32_t as_of;		/* day */
	uint32_t horizon_days;	/* lapse warning window */
	const assess_supposition *suppose;
	size_t nsuppose;
	assess_special_fn is_special;	/* NULL: the catalog only */
	void *special_arg;
} assess_query;

/*
 * Is id a mechanism of the catalog or a finding ("adequacy:EU:US",
 * "adequacy:EU:US@2023-07-10") of the rules? INVALID_ARGUMENT names
 * field otherwise.
 */
spreg_status assess_supposition_check(const assess_rules *r,
    const catalog *cat, const char *id, const char *field, err *e);

/*
 * Judges sp on q->as_of: one row per distinct (location country, data
 * category), in order of first appearance (without locations: one
 * UNKNOWN_LOCATION row per data category); none when sp is not in
 * effect on that day (effective_from <= as_of < effective_until).
 * Rows and their arrays live in a; their strings point into a, sp, cat
 * and r, so they are valid while all four are. INVALID_ARGUMENT for an
 * unknown regime, RESOURCE_EXHAUSTED when a runs out. *rows_out and
 * *n_out are set on success only.
 */
spreg_status assess_subprocessor(const assess_rules *r, const catalog *cat,
    const Spreg__V1__Subprocessor *sp, const assess_query *q, arena *a,
    Spreg__V1__TransferAssessment ***rows_out, size_t *n_out, err *e);

bool assess_verdict_lawful(Spreg__V1__Verdict v);
/* "NO_TRANSFER", "ADEQUATE", ... ; "UNSPECIFIED" for anything else. */
const char *assess_verdict_name(Spreg__V1__Verdict v);

#endif
