/*
 * One country's verdict and the reason for it (assess_decide): the
 * decision order of assess.h, step by step, each step saying why in
 * words a compliance reader can check against data/RULES.md.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "assess/internal.h"

/* Why a recorded or relied-on basis stopped counting. */
typedef enum cause {
	CAUSE_MECHANISM,	/* the mechanism's own end (judgment, repeal) */
	CAUSE_FINDING,		/* the finding's own end */
	CAUSE_SUPPOSED,		/* a supposition of the query */
	CAUSE_EXPIRY,		/* the safeguard's expires_on */
	CAUSE_SIGNING,		/* signed after sign_until: never counted */
	CAUSE_WITHDRAWN,	/* the recipient left a framework's list */
} cause;

typedef struct ceased {
	bool set;
	int32_t on;
	cause why;
	const catalog_mechanism *m;
	const assess_finding *f;	/* when a finding ceased */
	int32_t signed_on;
	const catalog_mechanism *framework;	/* CAUSE_WITHDRAWN */
} ceased;
/* NONE is an open end: later than any day. */
static int32_t
earlier(int32_t a, int32_t b)
{
	if (a == NONE) {
		return b;
	}
	if (b == NONE) {
		return a;
	}
	return a < b ? a : b;
}

/* The earliest supposition for id (or for alias), NONE when none. */
static int32_t
supposed_from(const assess_ctx *c, const char *id, const char *alias)
{
	int32_t from = NONE;

	if (!c->suppose) {
		return NONE;
	}
	for (size_t i = 0; i < c->q->nsuppose; i++) {
		const assess_supposition *s = &c->q->suppose[i];
		if (strcmp(s->id, id) == 0 ||
		    (alias != NULL && strcmp(s->id, alias) == 0)) {
			from = earlier(from, s->from);
		}
	}
	return from;
}

static int32_t
mechanism_end(const assess_ctx *c, const catalog_mechanism *m, cause *why)
{
	int32_t s = supposed_from(c, m->id, NULL);
	int32_t end = earlier(m->valid_until, s);

	*why = (s != NONE && end == s) ? CAUSE_SUPPOSED : CAUSE_MECHANISM;
	return end;
}

static int32_t
finding_end(const assess_ctx *c, const assess_finding *f, cause *why)
{
	char alias[64];
	cause mwhy;
	int32_t end = f->valid_until;

	*why = CAUSE_FINDING;
	int32_t mend = mechanism_end(c, f->mechanism, &mwhy);
	/* On a tie the mechanism's end explains more (the judgment). */
	if (mend != NONE && (end == NONE || mend <= end)) {
		end = mend;
		*why = mwhy;
	}
	snprintf(alias, sizeof(alias), "adequacy:%s:%s", f->regime,
	    f->country);
	int32_t s = supposed_from(c, f->id, alias);
	if (s != NONE && (end == NONE || s < end)) {
		end = s;
		*why = CAUSE_SUPPOSED;
	}
	return end;
}

typedef enum sg_state {
	SG_SKIP,		/* another regime, or unreadable */
	SG_OK,
	SG_NOT_YET,		/* signed later, or mechanism not yet usable */
	SG_CEASED,
} sg_state;

typedef struct sg_eval {
	sg_state state;
	const catalog_mechanism *m;
	int32_t signed_on;
	int32_t ends_on;	/* SG_OK */
	ceased stop;		/* SG_CEASED */
} sg_eval;

/* A safeguard counts between signed_on and expires_on, and only where
 * its mechanism allowed it: signed before sign_until, valid on day. */
static sg_eval
eval_safeguard(const assess_ctx *c, const Spreg__V1__Safeguard *sg)
{
	sg_eval ev;
	cause mwhy;

	memset(&ev, 0, sizeof(ev));
	ev.state = SG_SKIP;
	ev.m = catalog_mechanism_find(c->cat, sg->mechanism);
	ev.signed_on = assess_day_parse(sg->signed_on);
	int32_t expires = assess_day_parse(sg->expires_on);
	if (ev.m == NULL || strcmp(ev.m->regime, c->regime->id) != 0 ||
	    strcmp(sg->regime, c->regime->id) != 0 || ev.signed_on == NONE) {
		return ev;
	}
	ev.stop.m = ev.m;
	ev.stop.signed_on = ev.signed_on;
	if (ev.m->sign_until != NONE && ev.signed_on >= ev.m->sign_until) {
		ev.state = SG_CEASED;
		ev.stop = (ceased) {true, ev.m->sign_until, CAUSE_SIGNING,
		    ev.m, NULL, ev.signed_on, NULL};
		return ev;
	}
	if (ev.signed_on > c->day || ev.m->valid_from == NONE) {
		ev.state = SG_NOT_YET;
		return ev;
	}
	int32_t mend = mechanism_end(c, ev.m, &mwhy);
	int32_t end = earlier(expires, mend);
	if (end != NONE && end <= c->day) {
		ev.state = SG_CEASED;
		ev.stop = (ceased) {true, end,
		    end == expires ? CAUSE_EXPIRY : mwhy, ev.m, NULL,
		    ev.signed_on, NULL};
		return ev;
	}
	if (ev.m->valid_from > c->day) {
		ev.state = SG_NOT_YET;
		return ev;
	}
	ev.state = SG_OK;
	ev.ends_on = end;
	return ev;
}

/* Is a safeguard of mechanism id in effect on the day (as evidence of
 * scope; the mechanism's own validity is the finding's business)? */
static const Spreg__V1__Safeguard *
safeguard_in_effect(const assess_ctx *c, const char *id, const char *regime)
{
	for (size_t i = 0; i < c->sp->n_safeguards; i++) {
		const Spreg__V1__Safeguard *sg = c->sp->safeguards[i];
		int32_t from = assess_day_parse(sg->signed_on);
		int32_t until = assess_day_parse(sg->expires_on);
		if (strcmp(sg->mechanism, id) == 0 &&
		    strcmp(sg->regime, regime) == 0 && from != NONE &&
		    from <= c->day && (until == NONE || c->day < until)) {
			return sg;
		}
	}
	return NULL;
}

/*
 * The recipient's participation in framework m: its dpf_participation
 * entry; for the EU-US DPF, dpf_certified_on; or, as records made before
 * dpf_participation said it, a safeguard of that framework (the last
 * one signed on or before the day). False when none is recorded.
 */
static bool
participation(const assess_ctx *c, const catalog_mechanism *m, int32_t *since,
    int32_t *until)
{
	const Spreg__V1__Subprocessor *sp = c->sp;

	for (size_t i = 0; i < sp->n_dpf_participation; i++) {
		const Spreg__V1__DpfParticipation *p = sp->dpf_participation[i];
		if (strcmp(p->framework, m->id) == 0 &&
		    (*since = assess_day_parse(p->since)) != NONE) {
			*until = assess_day_parse(p->until);
			return true;
		}
	}
	if (strcmp(m->id, CATALOG_EU_US_DPF) == 0 &&
	    (*since = assess_day_parse(sp->dpf_certified_on)) != NONE) {
		*until = NONE;
		return true;
	}
	bool found = false;
	for (size_t i = 0; i < sp->n_safeguards; i++) {
		const Spreg__V1__Safeguard *sg = sp->safeguards[i];
		int32_t from = assess_day_parse(sg->signed_on);
		if (strcmp(sg->mechanism, m->id) != 0 || from == NONE) {
			continue;
		}
		/* Prefer the latest signed by the day, else the first after. */
		bool by_day = from <= c->day, had = found && *since <= c->day;
		if (found && (had ? !by_day || from < *since :
		                  !by_day && from > *since)) {
			continue;
		}
		*since = from;
		*until = assess_day_parse(sg->expires_on);
		found = true;
	}
	return found;
}

/* Is any location of the vendor in country marked out of scope? */
static bool
out_of_scope(const assess_ctx *c, const char *country)
{
	for (size_t i = 0; i < c->sp->n_locations; i++) {
		const Spreg__V1__Location *loc = c->sp->locations[i];
		if (loc->out_of_adequacy_scope &&
		    strcmp(loc->country, country) == 0) {
			return true;
		}
	}
	return false;
}

typedef enum cond_state {
	COND_HOLDS,
	COND_UNMET,
	COND_WITHDRAWN,		/* the recipient left a framework it needs */
} cond_state;

/* Does the recipient meet the finding's condition? If not, says why;
 * a withdrawal sets *left_on and *left. */
static cond_state
condition_holds(const assess_ctx *c, const assess_finding *f, const char *country,
    char *why, size_t len, int32_t *ends_on, int32_t *left_on,
    const catalog_mechanism **left)
{
	char d1[DATE_BUF], d2[DATE_BUF];

	*ends_on = NONE;
	for (size_t i = 0; i < f->nterms; i++) {
		const assess_term *t = &f->terms[i];
		const catalog_mechanism *m = t->mechanism;
		int32_t since = NONE, until = NONE;
		switch (t->kind) {
		case ASSESS_TERM_IN_SCOPE:
			if (out_of_scope(c, country)) {
				snprintf(why, len, "the recipient's location "
				    "in %s is marked out_of_adequacy_scope",
				    country);
				return COND_UNMET;
			}
			break;
		case ASSESS_TERM_CERTIFIED:
			if (!participation(c, m, &since, &until)) {
				snprintf(why, len, "the recipient is not "
				    "DPF-certified under %s", m->id);
				return COND_UNMET;
			}
			if (since > c->day) {
				snprintf(why, len, "the recipient is "
				    "DPF-certified under %s only from %s",
				    m->id, assess_day_text(since, d1));
				return COND_UNMET;
			}
			if (until != NONE && until <= c->day) {
				snprintf(why, len, "the recipient left %s on "
				    "%s", m->id, assess_day_text(until, d1));
				*left_on = until;
				*left = m;
				return COND_WITHDRAWN;
			}
			*ends_on = earlier(*ends_on, until);
			break;
		case ASSESS_TERM_SAFEGUARD:
		default: {
			const Spreg__V1__Safeguard *sg = safeguard_in_effect(c,
			    m->id, c->regime->id);
			if (sg == NULL) {
				snprintf(why, len, "no %s safeguard is in "
				    "effect on %s", m->id, assess_day_text(c->day, d2));
				return COND_UNMET;
			}
			*ends_on = earlier(*ends_on,
			    assess_day_parse(sg->expires_on));
			break;
		}
		}
	}
	return COND_HOLDS;
}

static void
keep_latest(ceased *best, const ceased *cand)
{
	if (!best->set || cand->on > best->on) {
		*best = *cand;
	}
}

/* The first clause of a mechanism's notes ("INVALID since CJEU
 * judgment of 16 Jul 2020, C-311/18 (Schrems II)"). */
static int
notes_clause(const catalog_mechanism *m)
{
	size_t n = strcspn(m->notes, ";");

	return (int) (n > 200 ? 200 : n);
}

static void
describe_ceased(const assess_ctx *c, const ceased *s, char *out, size_t len)
{
	char d1[DATE_BUF], d2[DATE_BUF];
	const catalog_mechanism *m = s->m;

	switch (s->why) {
	case CAUSE_FINDING:
		snprintf(out, len, "The %s adequacy finding for %s (%s) ended "
		    "on %s", c->regime->id, s->f->country,
		    s->f->decision_ref, assess_day_text(s->on, d1));
		break;
	case CAUSE_SUPPOSED:
		if (s->f != NULL && s->f->mechanism == m &&
		    m->kind == CATALOG_MECH_ADEQUACY) {
			snprintf(out, len, "The %s adequacy finding for %s "
			    "(%s) is supposed to have ceased on %s for this "
			    "assessment", c->regime->id, s->f->country,
			    s->f->decision_ref, assess_day_text(s->on, d1));
		} else {
			snprintf(out, len, "%s (%s) is supposed to have "
			    "ceased on %s for this assessment", m->name,
			    m->id, assess_day_text(s->on, d1));
		}
		break;
	case CAUSE_EXPIRY:
		snprintf(out, len, "The %s (%s) safeguard signed on %s "
		    "expired on %s", m->name, m->id, assess_day_text(s->signed_on, d1),
		    assess_day_text(s->on, d2));
		break;
	case CAUSE_SIGNING:
		snprintf(out, len, "The %s (%s) safeguard was signed on %s, "
		    "but no new contracts could be signed under it from %s",
		    m->name, m->id, assess_day_text(s->signed_on, d1), assess_day_text(s->on, d2));
		break;
	case CAUSE_WITHDRAWN:
		snprintf(out, len, "The recipient left %s (%s) on %s, so the "
		    "%s adequacy finding for %s (%s) no longer covers it",
		    s->framework->name, s->framework->id, assess_day_text(s->on, d1),
		    c->regime->id, s->f->country, s->f->decision_ref);
		break;
	case CAUSE_MECHANISM:
	default:
		snprintf(out, len, "%s (%s) ceased on %s (%.*s)", m->name,
		    m->id, assess_day_text(s->on, d1), notes_clause(m), m->notes);
		break;
	}
}

static void
set_rule_mechanism(assess_basis *b, const catalog_mechanism *m)
{
	snprintf(b->rule_buf, sizeof(b->rule_buf), "mechanism:%s", m->id);
	b->rule = b->rule_buf;
	b->reference = m->legal_basis;
	b->mechanism = m->id;
}

/* Picks the better of two usable safeguards: the one lasting longer. */
static bool
lasts_longer(const sg_eval *a, const sg_eval *b)
{
	if (b->state != SG_OK) {
		return true;
	}
	if (a->ends_on == NONE) {
		return b->ends_on != NONE;
	}
	return b->ends_on != NONE && a->ends_on > b->ends_on;
}

/*
 * What the steps of assess_decide gather on the way down, for the last
 * step's reason: the latest basis that ceased, a partial finding whose
 * condition failed, and notes on safeguards that did not count.
 */
typedef struct trail {
	ceased stop;
	char unmet[640];
	char notes[384];
	char today[DATE_BUF];	/* c->day as text */
} trail;

/* Appends to a reason built with snprintf; n is its length so far (a
 * full buffer stays full). */
static void
reason_add(assess_basis *b, int *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void
reason_add(assess_basis *b, int *n, const char *fmt, ...)
{
	va_list ap;

	if (*n < 0 || (size_t) *n >= sizeof(b->reason)) {
		return;
	}
	va_start(ap, fmt);
	int k = vsnprintf(b->reason + *n, sizeof(b->reason) - (size_t) *n,
	    fmt, ap);
	va_end(ap);
	*n = k < 0 ? k : *n + k;
}

/* 0. Inside the regime's area, for good (its member states) or for a
 * period (a "home" finding). */
static bool
decide_home(const assess_ctx *c, const char *country,
    const assess_finding *fs, size_t nf, const trail *t, assess_basis *b)
{
	const char *reg = c->regime->id;
	char d1[DATE_BUF];

	for (size_t i = 0; i < nf; i++) {
		const assess_finding *f = &fs[i];
		if (strcmp(f->status, "home") == 0 && f->valid_from <= c->day &&
		    c->day < f->valid_until) {
			b->verdict = ASSESS_NO_TRANSFER;
			b->rule = f->id;
			b->reference = f->decision_ref;
			snprintf(b->label, sizeof(b->label), "no transfer");
			snprintf(b->reason, sizeof(b->reason), "%s counts as "
			    "inside the %s regime's own area on %s: %s (%s, "
			    "until %s); no transfer out of the regime.",
			    country, reg, t->today, f->scope_note,
			    f->decision_ref, assess_day_text(f->valid_until, d1));
			return true;
		}
	}
	if (!assess_regime_home(c->regime, country)) {
		return false;
	}
	b->verdict = ASSESS_NO_TRANSFER;
	snprintf(b->rule_buf, sizeof(b->rule_buf), "regime:%s", reg);
	b->rule = b->rule_buf;
	b->reference = c->regime->name;
	snprintf(b->label, sizeof(b->label), "no transfer");
	snprintf(b->reason, sizeof(b->reason), "%s is inside the %s regime's "
	    "own area; no transfer out of the regime.", country, reg);
	return true;
}

/* The end of finding fs[i] that ends on end, carried on while the next
 * finding takes over on that very day (the FDPIC list by Annex 1 DPO):
 * such a finding does not lapse then. */
static int32_t
chained_end(const assess_ctx *c, const char *country,
    const assess_finding *fs, size_t nf, size_t i, int32_t end)
{
	for (size_t k = i + 1; k < nf && end != NONE; k++) {
		int32_t next_cond, unused_left = NONE;
		const catalog_mechanism *unused_m = NULL;
		cause nwhy;
		char nwhy_text[160];
		if (fs[k].mechanism == NULL || fs[k].valid_from != end ||
		    fs[k].mechanism->valid_from == NONE ||
		    fs[k].mechanism->valid_from > end ||
		    condition_holds(c, &fs[k], country, nwhy_text,
		        sizeof(nwhy_text), &next_cond, &unused_left,
		        &unused_m) != COND_HOLDS) {
			break;
		}
		end = finding_end(c, &fs[k], &nwhy);
	}
	return end;
}

/* 1. An adequacy finding in force whose condition holds. One that ceased
 * or whose recipient left its framework goes to t->stop; a partial one
 * whose condition fails, to t->unmet. */
static bool
decide_adequacy(const assess_ctx *c, const char *country,
    const assess_finding *fs, size_t nf, trail *t, assess_basis *b)
{
	const char *reg = c->regime->id;
	char d1[DATE_BUF];

	for (size_t i = 0; i < nf; i++) {
		const assess_finding *f = &fs[i];
		char why[160];
		int32_t cond_end, left_on = NONE;
		const catalog_mechanism *left = NULL;
		cause fwhy;
		if (f->mechanism == NULL || f->valid_from > c->day ||
		    f->mechanism->valid_from == NONE ||
		    f->mechanism->valid_from > c->day) {
			continue;
		}
		int32_t end = finding_end(c, f, &fwhy);
		cond_state cs = condition_holds(c, f, country, why,
		    sizeof(why), &cond_end, &left_on, &left);
		if (end != NONE && end <= c->day) {
			if (cs == COND_HOLDS) {
				ceased cand = {true, end, fwhy, f->mechanism,
				    f, NONE, NULL};
				keep_latest(&t->stop, &cand);
			}
			continue;
		}
		if (cs == COND_WITHDRAWN) {
			ceased cand = {true, left_on, CAUSE_WITHDRAWN,
			    f->mechanism, f, NONE, left};
			keep_latest(&t->stop, &cand);
			continue;
		}
		if (cs == COND_UNMET) {
			if (t->unmet[0] == '\0') {
				snprintf(t->unmet, sizeof(t->unmet), " %s has "
				    "a partial %s adequacy finding (%s) whose "
				    "condition (%s) is not met: %s. Its "
				    "scope: %.200s.", country, reg,
				    f->decision_ref, f->condition, why,
				    f->scope_note);
			}
			continue;
		}
		end = chained_end(c, country, fs, nf, i, end);
		b->verdict = ASSESS_ADEQUATE;
		b->rule = f->id;
		b->reference = f->decision_ref;
		b->mechanism = f->mechanism->id;
		b->ends_on = earlier(end, cond_end);
		snprintf(b->label, sizeof(b->label), "%s", f->id);
		int n = 0;
		reason_add(b, &n, "%s has a%s %s adequacy finding (%s) in "
		    "force on %s", country, strcmp(f->status, "partial") == 0 ?
		    " partial" : "n", reg, f->decision_ref, t->today);
		if (strcmp(f->condition, "none") != 0) {
			reason_add(b, &n, "; its condition (%s) is met",
			    f->condition);
		}
		if (strcmp(f->status, "partial") == 0) {
			reason_add(b, &n, "; its scope: %.300s", f->scope_note);
		}
		if (b->ends_on != NONE) {
			reason_add(b, &n, "; it counts until %s",
			    assess_day_text(b->ends_on, d1));
		}
		reason_add(b, &n, ".");
		return true;
	}
	return false;
}

/* The recorded safeguards of c's regime that count on the day, the best
 * of each sort (the one lasting longest); the others go to t. */
typedef struct usable {
	sg_eval tia, no_tia, derog;
	const Spreg__V1__Safeguard *tia_sg, *no_tia_sg, *derog_sg;
} usable;

static void
sort_safeguards(const assess_ctx *c, trail *t, usable *u)
{
	char d1[DATE_BUF];

	memset(u, 0, sizeof(*u));
	for (size_t i = 0; i < c->sp->n_safeguards; i++) {
		const Spreg__V1__Safeguard *sg = c->sp->safeguards[i];
		sg_eval ev = eval_safeguard(c, sg);
		if (ev.state == SG_SKIP) {
			continue;
		}
		size_t used = strlen(t->notes);
		switch (ev.m->kind) {
		case CATALOG_MECH_ART46:
		case CATALOG_MECH_DEROGATION:
			if (ev.state == SG_CEASED) {
				keep_latest(&t->stop, &ev.stop);
			} else if (ev.state == SG_NOT_YET) {
				snprintf(t->notes + used, sizeof(t->notes) -
				    used, " %s signed on %s does not count "
				    "yet.", ev.m->id,
				    assess_day_text(ev.signed_on, d1));
			} else if (ev.m->kind == CATALOG_MECH_DEROGATION) {
				if (lasts_longer(&ev, &u->derog)) {
					u->derog = ev;
					u->derog_sg = sg;
				}
			} else if (ev.m->needs_tia && sg->tia_ref[0] == '\0') {
				if (lasts_longer(&ev, &u->no_tia)) {
					u->no_tia = ev;
					u->no_tia_sg = sg;
				}
			} else if (lasts_longer(&ev, &u->tia)) {
				u->tia = ev;
				u->tia_sg = sg;
			}
			break;
		case CATALOG_MECH_NOT_TRANSFER_TOOL:
			snprintf(t->notes + used, sizeof(t->notes) - used,
			    " %s is recorded but is not a transfer tool.",
			    ev.m->id);
			break;
		default:
			/* Adequacy and framework records are evidence for
			 * the findings above. */
			break;
		}
	}
}

/* 2. A recorded safeguard of this regime: with its TIA, without the TIA
 * its mechanism needs, or a derogation, in that order. */
static bool
decide_safeguard(const assess_ctx *c, trail *t, assess_basis *b)
{
	usable u;
	const sg_eval *use;
	const Spreg__V1__Safeguard *use_sg;
	char d1[DATE_BUF], until[48] = "";

	sort_safeguards(c, t, &u);
	if (u.tia_sg != NULL) {
		use = &u.tia;
		use_sg = u.tia_sg;
		b->verdict = ASSESS_SAFEGUARDED;
	} else if (u.no_tia_sg != NULL) {
		use = &u.no_tia;
		use_sg = u.no_tia_sg;
		b->verdict = ASSESS_TIA_REQUIRED;
	} else if (u.derog_sg != NULL) {
		use = &u.derog;
		use_sg = u.derog_sg;
		b->verdict = ASSESS_DEROGATION;
	} else {
		return false;
	}
	const catalog_mechanism *m = use->m;
	set_rule_mechanism(b, m);
	b->ends_on = use->ends_on;
	assess_day_text(use->signed_on, d1);
	snprintf(b->label, sizeof(b->label), "%s signed on %s%s%s", m->id,
	    d1, use_sg->tia_ref[0] ? ", TIA " : "", use_sg->tia_ref);
	if (use->ends_on != NONE) {
		char d3[DATE_BUF];
		snprintf(until, sizeof(until), " until %s",
		    assess_day_text(use->ends_on, d3));
	}
	if (b->verdict == ASSESS_SAFEGUARDED) {
		snprintf(b->reason, sizeof(b->reason), "%s (%s, %s) signed on "
		    "%s counts on %s%s; %s.", m->name, m->id, m->legal_basis,
		    d1, t->today, until, m->needs_tia ?
		    "a transfer impact assessment is on file" :
		    "the mechanism needs no transfer impact assessment");
	} else if (b->verdict == ASSESS_TIA_REQUIRED) {
		snprintf(b->reason, sizeof(b->reason), "%s (%s, %s) signed on "
		    "%s counts on %s%s, but no transfer impact assessment is "
		    "recorded and the mechanism requires one (Schrems II, "
		    "C-311/18).", m->name, m->id, m->legal_basis, d1, t->today,
		    until);
	} else {
		snprintf(b->reason, sizeof(b->reason), "Only a derogation is "
		    "recorded: %s (%s, %s) from %s. A derogation covers "
		    "occasional transfers only, not systematic transfers to "
		    "a vendor.", m->name, m->id, m->legal_basis, d1);
	}
	return true;
}

/* 3. Nothing counts: INVALID naming the latest basis that ceased, or
 * MISSING. */
static void
decide_nothing(const assess_ctx *c, const char *country, const trail *t,
    assess_basis *b)
{
	const char *reg = c->regime->id;

	if (t->stop.set) {
		char what[640];
		describe_ceased(c, &t->stop, what, sizeof(what));
		b->verdict = ASSESS_INVALID;
		b->ceased_on = t->stop.on;
		if (t->stop.f != NULL) {
			b->rule = t->stop.f->id;
			b->reference = t->stop.f->decision_ref;
			b->mechanism = t->stop.m->id;
		} else {
			set_rule_mechanism(b, t->stop.m);
		}
		snprintf(b->reason, sizeof(b->reason), "%s; no other "
		    "mechanism for %s counts for %s on %s.%s", what, reg,
		    country, t->today, t->notes);
		return;
	}
	b->verdict = ASSESS_MISSING;
	snprintf(b->rule_buf, sizeof(b->rule_buf), "missing:%s", reg);
	b->rule = b->rule_buf;
	b->reference = c->regime->name;
	if (t->unmet[0] != '\0') {
		snprintf(b->reason, sizeof(b->reason), "No transfer mechanism "
		    "for %s counts for %s on %s.%s%s", reg, country, t->today,
		    t->unmet, t->notes);
	} else {
		snprintf(b->reason, sizeof(b->reason), "No transfer mechanism "
		    "for %s is recorded for %s, which has no %s adequacy "
		    "finding in force on %s.%s", reg, country, reg, t->today,
		    t->notes);
	}
}

void
assess_decide(const assess_ctx *c, const char *country, assess_basis *b)
{
	trail t;
	size_t nf;

	memset(b, 0, sizeof(*b));
	memset(&t, 0, sizeof(t));
	b->ceased_on = NONE;
	b->ends_on = NONE;
	assess_day_text(c->day, t.today);
	const assess_finding *fs = assess_findings_for(c->r, c->regime->id,
	    country, &nf);
	if (decide_home(c, country, fs, nf, &t, b) ||
	    decide_adequacy(c, country, fs, nf, &t, b) ||
	    decide_safeguard(c, &t, b)) {
		return;
	}
	decide_nothing(c, country, &t, b);
}
