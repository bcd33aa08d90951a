/*
 * The reference data shipped in data/: ISO 3166-1 country codes, transfer
 * mechanisms and the data-category taxonomy. Loaded and validated once at
 * start; immutable afterwards, so every thread reads it without locks.
 */
#ifndef CORE_CATALOG_H
#define CORE_CATALOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define CATALOG_DAY_NONE INT32_MIN	/* an open-ended validity bound */
/* The framework a subprocessor's dpf_certified_on records. */
#define CATALOG_EU_US_DPF "eu-us-dpf"

typedef struct catalog catalog;

typedef struct catalog_country {
	const char *code;	/* "US" */
	const char *name;
} catalog_country;

/* What a mechanism is, for the transfer rules. */
typedef enum catalog_mechanism_kind {
	CATALOG_MECH_ADEQUACY,	/* reliance on an adequacy finding */
	CATALOG_MECH_FRAMEWORK,	/* a certification framework (DPF...) */
	CATALOG_MECH_ART46,	/* an Art. 46-type safeguard (SCCs, BCRs) */
	CATALOG_MECH_DEROGATION,	/* Art. 49 / FADP Art. 17 */
	CATALOG_MECH_NOT_TRANSFER_TOOL,	/* e.g. Art. 28 clauses */
} catalog_mechanism_kind;

/* "adequacy", "framework", "art46", "derogation" or "not_transfer_tool"
 * (also for a value out of range). */
const char *catalog_mechanism_kind_name(catalog_mechanism_kind kind);

/*
 * Validity bounds are half-open: a mechanism counts from valid_from up
 * to, not including, valid_until (the day it ceased: Privacy Shield's
 * valid_until is the Schrems II judgment, 2020-07-16). sign_until is
 * the first day on which no new contract could be signed under it.
 */
typedef struct catalog_mechanism {
	const char *id;		/* "eu-scc-2021-m2" */
	const char *regime;	/* "EU", "UK" or "CH" */
	const char *name;
	const char *legal_basis;
	int32_t valid_from;	/* day, or CATALOG_DAY_NONE */
	int32_t valid_until;	/* day, or CATALOG_DAY_NONE */
	int32_t sign_until;	/* day, or CATALOG_DAY_NONE */
	const char *superseded_by;	/* id or "" */
	bool needs_tia;
	catalog_mechanism_kind kind;
	const char *notes;
	const char *source;
} catalog_mechanism;

typedef struct catalog_category {
	const char *key;	/* "user.financial.bank_account" */
	const char *name;
	const char *parent;	/* "" for a root */
	bool special;		/* Art. 9 / Art. 10, itself or inherited */
	const char *special_note;	/* why, from the nearest marked key */
} catalog_category;

/* A purpose: a key of the fideslang data-use taxonomy. */
typedef struct catalog_data_use {
	const char *key;	/* "marketing.advertising.third_party" */
	const char *name;
	const char *parent;	/* "" for a root */
	const char *description;
} catalog_data_use;

/* Loads DIR/countries.csv, DIR/mechanisms.csv, DIR/data_categories.csv
 * and DIR/data_uses.csv.
 * Errors name the file, line and field. Caller destroys *out. */
spreg_status catalog_load(const char *data_dir, catalog **out, err *e);
void catalog_destroy(catalog *c);

/* NULL when unknown. Codes are upper case, exact match. */
const catalog_country *catalog_country_find(const catalog *c,
    const char *code);
const catalog_mechanism *catalog_mechanism_find(const catalog *c,
    const char *id);
const catalog_category *catalog_category_find(const catalog *c,
    const char *key);
const catalog_data_use *catalog_data_use_find(const catalog *c,
    const char *key);
size_t catalog_data_use_count(const catalog *c);
const catalog_data_use *catalog_data_use_at(const catalog *c, size_t i);

/* In key order. */
size_t catalog_category_count(const catalog *c);
const catalog_category *catalog_category_at(const catalog *c, size_t i);
size_t catalog_mechanism_count(const catalog *c);
const catalog_mechanism *catalog_mechanism_at(const catalog *c, size_t i);

/* Is regime one of "EU", "UK", "CH"? */
bool catalog_regime_valid(const char *regime);

#endif
