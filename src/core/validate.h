/*
 * Input validation: every string and record a client sends is checked
 * here before it reaches the store. protobuf-c checks neither UTF-8 nor
 * our formats, so this is the single place that does.
 */
#ifndef CORE_VALIDATE_H
#define CORE_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/arena.h"
#include "core/catalog.h"
#include "core/err.h"
#include "spreg/v1/registry.pb-c.h"

#define VALIDATE_ID_MAX 64
#define VALIDATE_NAME_MAX 200		/* or text_max, if smaller */
#define VALIDATE_URL_MAX 2048

/*
 * The limits an operator sets (spregd --max-string, --max-list). Ids and
 * URLs keep their fixed maxima: their formats, not their size, are what
 * matters. Set once at start, before any thread validates: readers take
 * no lock.
 */
typedef struct validate_limits {
	size_t text_max;	/* bytes: purpose, references, reasons */
	size_t list_max;	/* entries of any repeated field */
} validate_limits;
#define VALIDATE_TEXT_MAX_DEFAULT 1000
#define VALIDATE_LIST_MAX_DEFAULT 256

void validate_limits_set(const validate_limits *l);
const validate_limits *validate_limits_get(void);
/* min(VALIDATE_NAME_MAX, text_max): names are free text too. */
size_t validate_name_max(void);

/* INVALID_ARGUMENT naming field and list_max when n is above it. */
spreg_status validate_list_len(const char *field, size_t n, err *e);

/* Is key a data category, shipped or added by a user? */
typedef bool (*validate_category_fn)(void *arg, const char *key);

/* [a-z0-9][a-z0-9-]{0,63} */
bool validate_slug(const char *s);
/*
 * Text a client sends: well-formed UTF-8, no control characters (tab
 * and newline allowed when multiline), no bidirectional controls. Names,
 * references, URLs and the actor are single-line and refuse every bidi
 * control (U+202A-U+202E, U+2066-U+2069, U+200E, U+200F, U+061C): shown
 * in a table or a spreadsheet they could reorder what is read next to
 * them. Multiline prose (purposes, descriptions, reasons) refuses the
 * embeddings, overrides and isolates but keeps the marks LRM, RLM and
 * ALM, which right-to-left writing needs and which reorder nothing.
 */
typedef enum validate_fault {
	VALIDATE_FAULT_NONE,
	VALIDATE_FAULT_UTF8,	/* not well-formed UTF-8 */
	VALIDATE_FAULT_CONTROL,	/* a C0 control or DEL */
	VALIDATE_FAULT_BIDI,	/* a bidirectional control character */
} validate_fault;
/* *cp_out is set to the offending character for CONTROL and BIDI. */
validate_fault validate_text_fault(const char *s, bool multiline,
    unsigned *cp_out);
bool validate_text(const char *s, bool multiline);
/* INVALID_ARGUMENT naming field and the fault, e.g. "name: has a
 * bidirectional control character (U+202E)". */
spreg_status validate_text_field(const char *field, const char *s,
    bool multiline, err *e);
/* A dotted category key: segments of [a-z0-9_], 1..255 bytes. */
bool validate_category_key(const char *s);

/*
 * Checks a subprocessor sent by a client and normalises it in place:
 * status UNSPECIFIED becomes ACTIVE, unknown protobuf fields are dropped
 * (so nothing unvalidated is stored), server-set fields are cleared.
 * INVALID_ARGUMENT names the field, e.g. "locations[1].country: 'XX' is
 * not an ISO 3166-1 alpha-2 code".
 */
spreg_status validate_subprocessor(const catalog *cat,
    validate_category_fn has_category, void *arg,
    Spreg__V1__Subprocessor *sp, err *e);

/*
 * After validate_subprocessor: makes dpf_certified_on and the EU-US
 * entry of dpf_participation say the same thing, adding whichever is
 * missing (the new entry and its array in a, strings shared with sp).
 */
spreg_status validate_dpf_map(Spreg__V1__Subprocessor *sp, arena *a,
    err *e);

/* Checks a customer and normalises it: notice_days 0 becomes 30, regime
 * "" becomes EU, unknown fields are dropped, server fields cleared. */
#define VALIDATE_NOTICE_DEFAULT 30
#define VALIDATE_NOTICE_MAX 365
spreg_status validate_customer(Spreg__V1__Customer *c, err *e);

#endif
