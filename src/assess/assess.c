#include <stdio.h>
#include <string.h>

#include "assess/internal.h"

bool
assess_verdict_lawful(Spreg__V1__Verdict v)
{
	return v == ASSESS_NO_TRANSFER || v == ASSESS_ADEQUATE ||
	    v == ASSESS_SAFEGUARDED || v == ASSESS_DEROGATION;
}

const char *
assess_verdict_name(Spreg__V1__Verdict v)
{
	static const char *const names[ASSESS_NVERDICTS] = {
		"UNSPECIFIED", "NO_TRANSFER", "ADEQUATE", "SAFEGUARDED",
		"TIA_REQUIRED", "DEROGATION", "INVALID", "MISSING",
		"UNKNOWN_LOCATION",
	};
	unsigned i = (unsigned) v;

	return i < ASSESS_NVERDICTS ? names[i] : "UNSPECIFIED";
}

spreg_status
assess_supposition_check(const assess_rules *r, const catalog *cat,
    const char *id, const char *field, err *e)
{
	if (catalog_mechanism_find(cat, id) != NULL) {
		return SPREG_OK;
	}
	for (size_t i = 0; i < assess_finding_count(r); i++) {
		const assess_finding *f = assess_finding_at(r, i);
		char alias[64];
		if (f->mechanism == NULL) {
			continue;
		}
		snprintf(alias, sizeof(alias), "adequacy:%s:%s", f->regime,
		    f->country);
		if (strcmp(id, f->id) == 0 || strcmp(id, alias) == 0) {
			return SPREG_OK;
		}
	}
	return err_set(e, SPREG_INVALID_ARGUMENT, "%s: '%.80s' is not a "
	    "mechanism or an adequacy finding (adequacy:REGIME:CC)", field,
	    id);
}

/* A country's locations merged: roles and categories, deduplicated. */
typedef struct place {
	const char *country;
	const char **roles;
	size_t nroles;
	const char **cats;
	size_t ncats;
} place;

static void
add_unique(const char **list, size_t *n, const char *s)
{
	for (size_t i = 0; i < *n; i++) {
		if (strcmp(list[i], s) == 0) {
			return;
		}
	}
	list[(*n)++] = s;
}

static char *
join(arena *a, const char **list, size_t n)
{
	size_t len = 1;

	for (size_t i = 0; i < n; i++) {
		len += strlen(list[i]) + 1;
	}
	char *s = arena_alloc(a, len);
	if (s == NULL) {
		return NULL;
	}
	s[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (i > 0) {
			strcat(s, ",");
		}
		strcat(s, list[i]);
	}
	return s;
}

static char *
day_string(arena *a, int32_t day)
{
	char *s = arena_alloc(a, DATE_BUF);

	if (s != NULL) {
		date_format(day, s);
	}
	return s;
}

static bool
special(const assess_ctx *c, const char *key)
{
	const catalog_category *cc = catalog_category_find(c->cat, key);

	if (cc != NULL) {
		return cc->special;
	}
	return c->q->is_special != NULL &&
	    c->q->is_special(c->q->special_arg, key);
}

static bool
in_effect(const Spreg__V1__Subprocessor *sp, int32_t day)
{
	int32_t from = assess_day_parse(sp->effective_from);
	int32_t until = assess_day_parse(sp->effective_until);

	return (from == NONE || from <= day) && (until == NONE || day < until);
}

/* One country's verdict with and without the suppositions, as the
 * strings rows share. */
typedef struct judged {
	Spreg__V1__Verdict verdict;
	char *reason, *rule, *reference, *mechanism;
	char *ceased_on, *lapses_on, *fallback;
	bool affected;
} judged;

static spreg_status
judge(assess_ctx *c, const char *country, arena *a, judged *j, err *e)
{
	assess_basis base, what_if;
	const assess_basis *b = &base;

	memset(j, 0, sizeof(*j));
	c->suppose = false;
	assess_decide(c, country, &base);
	if (c->q->nsuppose > 0) {
		c->suppose = true;
		assess_decide(c, country, &what_if);
		b = &what_if;
		bool was = assess_verdict_lawful(base.verdict);
		j->affected = was && !assess_verdict_lawful(what_if.verdict);
		/* The supposition took away what decided, yet something
		 * else still holds (even if it lacks its TIA). */
		if (was && strcmp(base.rule, what_if.rule) != 0 &&
		    what_if.mechanism != NULL &&
		    (what_if.verdict == ASSESS_ADEQUATE ||
		        what_if.verdict == ASSESS_SAFEGUARDED ||
		        what_if.verdict == ASSESS_TIA_REQUIRED ||
		        what_if.verdict == ASSESS_DEROGATION)) {
			if ((j->fallback = arena_strdup(a, what_if.label)) ==
			    NULL) {
				return err_oom(e, NULL);
			}
		}
	}
	j->verdict = b->verdict;
	if (c->lineage != NULL) {
		/* Say whose rules answered, and why. */
		char day[DATE_BUF];
		size_t len = strlen(b->reason) + strlen(c->lineage->note) +
		    strlen(c->lineage->reference) + 128;
		if ((j->reason = arena_alloc(a, len)) == NULL) {
			return err_oom(e, NULL);
		}
		snprintf(j->reason, len, "%s On %s the %s regime applied the "
		    "%s rules: %s (%s).", b->reason, assess_day_text(c->day, day),
		    c->asked->id, c->regime->id, c->lineage->note,
		    c->lineage->reference);
	} else if ((j->reason = arena_strdup(a, b->reason)) == NULL) {
		return err_oom(e, NULL);
	}
	if ((j->rule = arena_strdup(a, b->rule)) == NULL) {
		return err_oom(e, NULL);
	}
	j->reference = (char *) b->reference;
	j->mechanism = (char *) b->mechanism;
	if (b->ceased_on != NONE &&
	    (j->ceased_on = day_string(a, b->ceased_on)) == NULL) {
		return err_oom(e, NULL);
	}
	if (assess_verdict_lawful(b->verdict) ||
	    b->verdict == ASSESS_TIA_REQUIRED) {
		if (b->ends_on != NONE && b->ends_on > c->day &&
		    (int64_t) b->ends_on - c->day <=
		        (int64_t) c->q->horizon_days &&
		    (j->lapses_on = day_string(a, b->ends_on)) == NULL) {
			return err_oom(e, NULL);
		}
	}
	return SPREG_OK;
}

/* Data but no location: one failing row per category, not silence. */
static spreg_status
unknown_location(assess_ctx *c, arena *a, Spreg__V1__TransferAssessment ***rows_out,
    size_t *n_out, err *e)
{
	const Spreg__V1__Subprocessor *sp = c->sp;
	Spreg__V1__TransferAssessment **rows = arena_alloc(a,
	    (sp->n_data_categories + 1) * sizeof(*rows));

	if (rows == NULL) {
		return err_oom(e, NULL);
	}
	for (size_t i = 0; i < sp->n_data_categories; i++) {
		Spreg__V1__TransferAssessment *t = arena_alloc(a, sizeof(*t));
		if (t == NULL) {
			return err_oom(e, NULL);
		}
		spreg__v1__transfer_assessment__init(t);
		t->subprocessor_id = sp->id;
		t->regime = (char *) c->asked->id;
		t->data_category = sp->data_categories[i];
		t->special_category = special(c, sp->data_categories[i]);
		t->verdict = ASSESS_UNKNOWN_LOCATION;
		t->reason = "no location recorded: where this data is processed, "
		    "and whether it leaves the regime, is unknown";
		t->rule = "unknown-location";
		rows[i] = t;
	}
	*rows_out = rows;
	*n_out = sp->n_data_categories;
	return SPREG_OK;
}

spreg_status
assess_subprocessor(const assess_rules *r, const catalog *cat,
    const Spreg__V1__Subprocessor *sp, const assess_query *q, arena *a,
    Spreg__V1__TransferAssessment ***rows_out, size_t *n_out, err *e)
{
	assess_ctx c = {r, cat, NULL, NULL, NULL, sp, q, false, q->as_of};
	spreg_status st;

	if ((c.asked = assess_regime_find(r, q->regime)) == NULL) {
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "regime: '%.40s' is not a regime of the rules", q->regime);
	}
	c.regime = c.asked;
	if ((c.lineage = assess_lineage_on(r, q->regime, q->as_of)) != NULL) {
		c.regime = assess_regime_find(r, c.lineage->follows);
	}
	if (!in_effect(sp, q->as_of)) {
		*rows_out = arena_alloc(a, sizeof(**rows_out));
		if (*rows_out == NULL) {
			return err_oom(e, NULL);
		}
		*n_out = 0;
		return SPREG_OK;
	}

	/* Group locations by country, in order of first appearance. */
	size_t cap_cats = sp->n_data_categories;
	for (size_t i = 0; i < sp->n_locations; i++) {
		cap_cats += sp->locations[i]->n_data_categories;
	}
	place *places = arena_alloc(a, (sp->n_locations + 1) *
	    sizeof(*places));
	if (places == NULL) {
		return err_oom(e, NULL);
	}
	size_t nplaces = 0;
	for (size_t i = 0; i < sp->n_locations; i++) {
		const Spreg__V1__Location *loc = sp->locations[i];
		size_t k = 0;
		if (loc->country[0] == '\0') {
			continue;
		}
		while (k < nplaces && strcmp(places[k].country,
		                          loc->country) != 0) {
			k++;
		}
		if (k == nplaces) {
			place *p = &places[nplaces++];
			p->country = loc->country;
			p->nroles = p->ncats = 0;
			p->roles = arena_alloc(a, (sp->n_locations + 1) *
			    sizeof(*p->roles));
			p->cats = arena_alloc(a, (cap_cats + 1) *
			    sizeof(*p->cats));
			if (p->roles == NULL || p->cats == NULL) {
				return err_oom(e, NULL);
			}
		}
		place *p = &places[k];
		if (loc->role[0] != '\0') {
			add_unique(p->roles, &p->nroles, loc->role);
		}
		/* A location's own list narrows the vendor's. */
		char **keys = loc->n_data_categories ? loc->data_categories :
		    sp->data_categories;
		size_t nkeys = loc->n_data_categories ?
		    loc->n_data_categories : sp->n_data_categories;
		for (size_t j = 0; j < nkeys; j++) {
			add_unique(p->cats, &p->ncats, keys[j]);
		}
	}

	if (nplaces == 0) {
		return unknown_location(&c, a, rows_out, n_out, e);
	}
	size_t nrows = 0;
	for (size_t k = 0; k < nplaces; k++) {
		nrows += places[k].ncats ? places[k].ncats : 1;
	}
	Spreg__V1__TransferAssessment **rows = arena_alloc(a,
	    (nrows + 1) * sizeof(*rows));
	if (rows == NULL) {
		return err_oom(e, NULL);
	}
	size_t n = 0;
	for (size_t k = 0; k < nplaces; k++) {
		const place *p = &places[k];
		judged j;
		char *roles = join(a, p->roles, p->nroles);
		if (roles == NULL) {
			return err_oom(e, NULL);
		}
		if ((st = judge(&c, p->country, a, &j, e)) != SPREG_OK) {
			return st;
		}
		size_t ncats = p->ncats ? p->ncats : 1;
		for (size_t i = 0; i < ncats; i++) {
			Spreg__V1__TransferAssessment *t = arena_alloc(a,
			    sizeof(*t));
			if (t == NULL) {
				return err_oom(e, NULL);
			}
			spreg__v1__transfer_assessment__init(t);
			t->subprocessor_id = sp->id;
			t->regime = (char *) c.asked->id;
			t->country = (char *) p->country;
			t->location_roles = roles;
			if (p->ncats > 0) {
				t->data_category = (char *) p->cats[i];
				t->special_category = special(&c, p->cats[i]);
			}
			t->verdict = j.verdict;
			t->reason = j.reason;
			t->rule = j.rule;
			if (j.reference != NULL) {
				t->reference = j.reference;
			}
			if (j.mechanism != NULL) {
				t->mechanism = j.mechanism;
			}
			if (j.ceased_on != NULL) {
				t->ceased_on = j.ceased_on;
			}
			if (j.lapses_on != NULL) {
				t->lapses_on = j.lapses_on;
			}
			if (j.fallback != NULL) {
				t->fallback = j.fallback;
			}
			t->affected = j.affected;
			rows[n++] = t;
		}
	}
	*rows_out = rows;
	*n_out = n;
	return SPREG_OK;
}
