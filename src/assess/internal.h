/*
 * Private to src/assess/: what assess.c (the walk over a vendor's
 * countries and categories) and decide.c (one country's verdict and why)
 * share.
 */
#ifndef ASSESS_INTERNAL_H
#define ASSESS_INTERNAL_H

#include "assess/assess.h"
#include "core/date.h"

#define NONE CATALOG_DAY_NONE
#define REASON_MAX 2048

typedef struct assess_ctx {
	const assess_rules *r;
	const catalog *cat;
	const assess_regime *regime;	/* whose rules apply on the day */
	const assess_regime *asked;	/* the regime of the query */
	const assess_lineage *lineage;	/* why they differ, or NULL */
	const Spreg__V1__Subprocessor *sp;
	const assess_query *q;
	bool suppose;		/* apply q's suppositions */
	int32_t day;
} assess_ctx;

/* What decided one country's verdict. */
typedef struct assess_basis {
	Spreg__V1__Verdict verdict;
	const char *rule;	/* a Rule id of GetRules */
	const char *reference;
	const char *mechanism;
	int32_t ceased_on;	/* INVALID */
	int32_t ends_on;	/* when the basis stops counting */
	char rule_buf[96];
	char label[160];	/* short: what holds, for a fallback */
	char reason[REASON_MAX];
} assess_basis;

/* Fills b: what decides the transfer to country for c's vendor on c's
 * day under c's regime (with c's suppositions when c->suppose). */
void assess_decide(const assess_ctx *c, const char *country,
    assess_basis *b);

/* A stored date, NONE when empty or unreadable. */
static inline int32_t
assess_day_parse(const char *s)
{
	int32_t day;

	if (s == NULL || s[0] == '\0' || !date_parse(s, &day)) {
		return NONE;
	}
	return day;
}

/* day as text in buf; "(open)" for NONE. */
static inline const char *
assess_day_text(int32_t day, char buf[DATE_BUF])
{
	if (day == NONE) {
		return "(open)";
	}
	date_format(day, buf);
	return buf;
}

#endif
