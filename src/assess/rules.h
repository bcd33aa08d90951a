/*
 * The transfer rules as data: data/regimes.csv (each regime's own area)
 * and data/adequacy.csv (adequacy findings per regime and jurisdiction,
 * with their validity, scope condition and the mechanism whose validity
 * they follow). Mechanisms themselves come from the catalog
 * (data/mechanisms.csv). Loaded and validated once at start; immutable
 * afterwards, so every thread reads it without locks.
 *
 * Dates are day numbers (core/date.h); intervals are half-open:
 * valid_from counts, valid_until is the first day that no longer does.
 */
#ifndef ASSESS_RULES_H
#define ASSESS_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/catalog.h"
#include "core/err.h"

#define ASSESS_CHECKSUM_HEX 65	/* SHA-256 in hex + NUL */

typedef struct assess_rules assess_rules;

typedef struct assess_regime {
	const char *id;		/* "EU", "UK" or "CH" */
	const char *name;
	const char *source;
	const char *home;	/* space-separated codes, as in the file */
	int32_t reviewed_on;	/* day the rules were last checked */
} assess_regime;

/* One term of a finding's condition (adequacy.csv "condition"). */
typedef enum assess_term_kind {
	ASSESS_TERM_CERTIFIED,	/* "certified:<framework>": the recipient
				 * participates in the framework on the day */
	ASSESS_TERM_SAFEGUARD,	/* "safeguard:<mechanism>": recorded and in
				 * effect on the day */
	ASSESS_TERM_IN_SCOPE,	/* "in_scope": no location in the country is
				 * marked out_of_adequacy_scope */
} assess_term_kind;

typedef struct assess_term {
	assess_term_kind kind;
	const catalog_mechanism *mechanism;	/* NULL for in_scope */
} assess_term;

#define ASSESS_TERMS_MAX 4

/* One row of adequacy.csv. */
typedef struct assess_finding {
	const char *id;		/* "adequacy:EU:JP", "adequacy:EU:US@2016-07-12"
				 * when the pair has several rows */
	const char *regime;
	const char *country;	/* ISO 3166-1 alpha-2, or an international
				 * organisation's code of 3+ letters ("EPO") */
	const char *country_name;
	const char *status;	/* "eea", "home", "adequate", "partial",
				 * "none"; "home": treated as inside the
				 * regime's own area for the interval (a
				 * former member state, a transition period,
				 * a flow the law says is no transfer) */
	const char *scope_note;
	const char *decision_ref;
	int32_t valid_from;	/* day, or CATALOG_DAY_NONE */
	int32_t valid_until;	/* day, or CATALOG_DAY_NONE (open) */
	const char *condition;	/* as in the file: "none", "in_scope",
				 * "certified:a+certified:b" */
	assess_term terms[ASSESS_TERMS_MAX];	/* all must hold */
	size_t nterms;
	const catalog_mechanism *mechanism;	/* whose validity it follows;
						 * NULL for eea and none */
	const char *source;
	size_t line;		/* in adequacy.csv */
} assess_finding;

/* One row of lineage.csv: on days in [valid_from, valid_until) the
 * regime applied the rules of another (the UK, EU rules before 2021). */
typedef struct assess_lineage {
	const char *regime;
	const char *follows;
	int32_t valid_from;	/* day, or CATALOG_DAY_NONE (open) */
	int32_t valid_until;	/* day, or CATALOG_DAY_NONE (open) */
	const char *note;
	const char *reference;
	const char *source;
} assess_lineage;

/*
 * Loads DATA_DIR/regimes.csv, DATA_DIR/adequacy.csv and
 * DATA_DIR/lineage.csv against cat (the
 * countries and mechanisms of the same folder) and checksums them with
 * mechanisms.csv. INVALID_ARGUMENT names "file:line: field" for an
 * unknown regime, country or mechanism, a malformed date or condition,
 * an inverted interval (valid_until not after valid_from), or two
 * findings of one regime and country whose intervals overlap; a lineage
 * row of an unknown regime, one following itself or overlapping another
 * of its regime, or one following a regime that follows another. cat must
 * outlive the rules (findings point at its mechanisms). Caller destroys
 * *out.
 */
spreg_status assess_rules_load(const char *data_dir, const catalog *cat,
    assess_rules **out, err *e);
void assess_rules_destroy(assess_rules *r);

/* "YYYY-MM-DD": the newest reviewed_on of regimes.csv. */
const char *assess_rules_version(const assess_rules *r);
/* Lower-case hex SHA-256 over regimes.csv, adequacy.csv,
 * mechanisms.csv and lineage.csv (each as name, NUL, length, bytes). */
const char *assess_rules_checksum(const assess_rules *r);

/* NULL when regime is not one of the file's regimes. */
const assess_regime *assess_regime_find(const assess_rules *r,
    const char *regime);
size_t assess_regime_count(const assess_rules *r);
const assess_regime *assess_regime_at(const assess_rules *r, size_t i);
/* Is country inside the regime's own area (no transfer)? */
bool assess_regime_home(const assess_regime *g, const char *country);

/* The lineage row that has regime follow another on day, or NULL:
 * then the regime's own rules apply. */
const assess_lineage *assess_lineage_on(const assess_rules *r,
    const char *regime, int32_t day);
size_t assess_lineage_count(const assess_rules *r);
const assess_lineage *assess_lineage_at(const assess_rules *r, size_t i);

/* Findings ordered by regime, country, valid_from. */
size_t assess_finding_count(const assess_rules *r);
const assess_finding *assess_finding_at(const assess_rules *r, size_t i);
/* The findings of one regime and country (consecutive); *n may be 0. */
const assess_finding *assess_findings_for(const assess_rules *r,
    const char *regime, const char *country, size_t *n);

#endif
