#include <stdio.h>
#include <string.h>

#include "assess/assess.h"
#include "core/date.h"

#define NONE CATALOG_DAY_NONE
#define REASON_MAX 2048

typedef struct ctx {
	const assess_rules *r;
	const catalog *cat;
	const assess_regime *regime;	/* whose rules apply on the day */
	const assess_regime *asked;	/* the regime of the query */
	const assess_lineage *lineage;	/* why they differ, or NULL */
	const Spreg__V1__Subprocessor *sp;
	const assess_query *q;
	bool suppose;		/* apply q's suppositions */
	int32_t day;
} ctx;

/* What decided one country's verdict. */
typedef struct basis {
	Spreg__V1__Verdict verdict;
	const char *rule;	/* a Rule id of GetRules */
	const char *reference;
	const char *mechanism;
	int32_t ceased_on;	/* INVALID */
	int32_t ends_on;	/* when the basis stops counting */
	char rule_buf[96];
	char label[160];	/* short: what holds, for a fallback */
	char reason[REASON_MAX];
} basis;

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

static int32_t
parse_or_none(const char *s)
{
	int32_t day;

	if (s == NULL || s[0] == '\0' || !date_parse(s, &day)) {
		return NONE;
	}
	return day;
}

static const char *
fmt(int32_t day, char buf[DATE_BUF])
{
	if (day == NONE) {
		return "(open)";
	}
	date_format(day, buf);
	return buf;
}

/* The earliest supposition for id (or for alias), NONE when none. */
static int32_t
supposed_from(const ctx *c, const char *id, const char *alias)
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
mechanism_end(const ctx *c, const catalog_mechanism *m, cause *why)
{
	int32_t s = supposed_from(c, m->id, NULL);
	int32_t end = earlier(m->valid_until, s);

	*why = (s != NONE && end == s) ? CAUSE_SUPPOSED : CAUSE_MECHANISM;
	return end;
}

static int32_t
finding_end(const ctx *c, const assess_finding *f, cause *why)
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
eval_safeguard(const ctx *c, const Spreg__V1__Safeguard *sg)
{
	sg_eval ev;
	cause mwhy;

	memset(&ev, 0, sizeof(ev));
	ev.state = SG_SKIP;
	ev.m = catalog_mechanism_find(c->cat, sg->mechanism);
	ev.signed_on = parse_or_none(sg->signed_on);
	int32_t expires = parse_or_none(sg->expires_on);
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
safeguard_in_effect(const ctx *c, const char *id, const char *regime)
{
	for (size_t i = 0; i < c->sp->n_safeguards; i++) {
		const Spreg__V1__Safeguard *sg = c->sp->safeguards[i];
		int32_t from = parse_or_none(sg->signed_on);
		int32_t until = parse_or_none(sg->expires_on);
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
participation(const ctx *c, const catalog_mechanism *m, int32_t *since,
    int32_t *until)
{
	const Spreg__V1__Subprocessor *sp = c->sp;

	for (size_t i = 0; i < sp->n_dpf_participation; i++) {
		const Spreg__V1__DpfParticipation *p = sp->dpf_participation[i];
		if (strcmp(p->framework, m->id) == 0 &&
		    (*since = parse_or_none(p->since)) != NONE) {
			*until = parse_or_none(p->until);
			return true;
		}
	}
	if (strcmp(m->id, CATALOG_EU_US_DPF) == 0 &&
	    (*since = parse_or_none(sp->dpf_certified_on)) != NONE) {
		*until = NONE;
		return true;
	}
	bool found = false;
	for (size_t i = 0; i < sp->n_safeguards; i++) {
		const Spreg__V1__Safeguard *sg = sp->safeguards[i];
		int32_t from = parse_or_none(sg->signed_on);
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
		*until = parse_or_none(sg->expires_on);
		found = true;
	}
	return found;
}

/* Is any location of the vendor in country marked out of scope? */
static bool
out_of_scope(const ctx *c, const char *country)
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
condition_holds(const ctx *c, const assess_finding *f, const char *country,
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
				    m->id, fmt(since, d1));
				return COND_UNMET;
			}
			if (until != NONE && until <= c->day) {
				snprintf(why, len, "the recipient left %s on "
				    "%s", m->id, fmt(until, d1));
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
				    "effect on %s", m->id, fmt(c->day, d2));
				return COND_UNMET;
			}
			*ends_on = earlier(*ends_on,
			    parse_or_none(sg->expires_on));
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
describe_ceased(const ctx *c, const ceased *s, char *out, size_t len)
{
	char d1[DATE_BUF], d2[DATE_BUF];
	const catalog_mechanism *m = s->m;

	switch (s->why) {
	case CAUSE_FINDING:
		snprintf(out, len, "The %s adequacy finding for %s (%s) ended "
		    "on %s", c->regime->id, s->f->country,
		    s->f->decision_ref, fmt(s->on, d1));
		break;
	case CAUSE_SUPPOSED:
		if (s->f != NULL && s->f->mechanism == m &&
		    m->kind == CATALOG_MECH_ADEQUACY) {
			snprintf(out, len, "The %s adequacy finding for %s "
			    "(%s) is supposed to have ceased on %s for this "
			    "assessment", c->regime->id, s->f->country,
			    s->f->decision_ref, fmt(s->on, d1));
		} else {
			snprintf(out, len, "%s (%s) is supposed to have "
			    "ceased on %s for this assessment", m->name,
			    m->id, fmt(s->on, d1));
		}
		break;
	case CAUSE_EXPIRY:
		snprintf(out, len, "The %s (%s) safeguard signed on %s "
		    "expired on %s", m->name, m->id, fmt(s->signed_on, d1),
		    fmt(s->on, d2));
		break;
	case CAUSE_SIGNING:
		snprintf(out, len, "The %s (%s) safeguard was signed on %s, "
		    "but no new contracts could be signed under it from %s",
		    m->name, m->id, fmt(s->signed_on, d1), fmt(s->on, d2));
		break;
	case CAUSE_WITHDRAWN:
		snprintf(out, len, "The recipient left %s (%s) on %s, so the "
		    "%s adequacy finding for %s (%s) no longer covers it",
		    s->framework->name, s->framework->id, fmt(s->on, d1),
		    c->regime->id, s->f->country, s->f->decision_ref);
		break;
	case CAUSE_MECHANISM:
	default:
		snprintf(out, len, "%s (%s) ceased on %s (%.*s)", m->name,
		    m->id, fmt(s->on, d1), notes_clause(m), m->notes);
		break;
	}
}

static void
set_rule_mechanism(basis *b, const catalog_mechanism *m)
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

static void
decide(const ctx *c, const char *country, basis *b)
{
	char d1[DATE_BUF], d2[DATE_BUF];
	char unmet[640] = "";
	char notes[384] = "";
	const char *reg = c->regime->id;
	ceased stop;
	size_t nf;

	memset(b, 0, sizeof(*b));
	memset(&stop, 0, sizeof(stop));
	b->ceased_on = NONE;
	b->ends_on = NONE;
	fmt(c->day, d2);

	/* 0. Inside the regime's area, for good or for a period. */
	const assess_finding *fs = assess_findings_for(c->r, reg, country,
	    &nf);
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
			    country, reg, d2, f->scope_note, f->decision_ref,
			    fmt(f->valid_until, d1));
			return;
		}
	}
	if (assess_regime_home(c->regime, country)) {
		b->verdict = ASSESS_NO_TRANSFER;
		snprintf(b->rule_buf, sizeof(b->rule_buf), "regime:%s", reg);
		b->rule = b->rule_buf;
		b->reference = c->regime->name;
		snprintf(b->label, sizeof(b->label), "no transfer");
		snprintf(b->reason, sizeof(b->reason), "%s is inside the %s "
		    "regime's own area; no transfer out of the regime.",
		    country, reg);
		return;
	}

	/* 1. Adequacy findings. */
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
				keep_latest(&stop, &cand);
			}
			continue;
		}
		if (cs == COND_WITHDRAWN) {
			ceased cand = {true, left_on, CAUSE_WITHDRAWN,
			    f->mechanism, f, NONE, left};
			keep_latest(&stop, &cand);
			continue;
		}
		if (cs == COND_UNMET) {
			if (unmet[0] == '\0') {
				snprintf(unmet, sizeof(unmet), " %s has a "
				    "partial %s adequacy finding (%s) whose "
				    "condition (%s) is not met: %s. Its "
				    "scope: %.200s.", country, reg,
				    f->decision_ref, f->condition, why,
				    f->scope_note);
			}
			continue;
		}
		/* A finding taken over on its last day by the next one
		 * (the FDPIC list by Annex 1 DPO) does not lapse then. */
		for (size_t k = i + 1; k < nf && end != NONE; k++) {
			int32_t next_end, unused_left = NONE, next_cond;
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
			next_end = finding_end(c, &fs[k], &nwhy);
			end = next_end;
		}
		b->verdict = ASSESS_ADEQUATE;
		b->rule = f->id;
		b->reference = f->decision_ref;
		b->mechanism = f->mechanism->id;
		b->ends_on = earlier(end, cond_end);
		snprintf(b->label, sizeof(b->label), "%s", f->id);
		int n = snprintf(b->reason, sizeof(b->reason), "%s has a%s %s "
		    "adequacy finding (%s) in force on %s",
		    country, strcmp(f->status, "partial") == 0 ? " partial" :
		    "n", reg, f->decision_ref, d2);
		if (n > 0 && (size_t) n < sizeof(b->reason) &&
		    strcmp(f->condition, "none") != 0) {
			n += snprintf(b->reason + n, sizeof(b->reason) -
			    (size_t) n, "; its condition (%s) is met",
			    f->condition);
		}
		if (n > 0 && (size_t) n < sizeof(b->reason) &&
		    strcmp(f->status, "partial") == 0) {
			n += snprintf(b->reason + n, sizeof(b->reason) -
			    (size_t) n, "; its scope: %.300s", f->scope_note);
		}
		if (n > 0 && (size_t) n < sizeof(b->reason) &&
		    b->ends_on != NONE) {
			n += snprintf(b->reason + n, sizeof(b->reason) -
			    (size_t) n, "; it counts until %s",
			    fmt(b->ends_on, d1));
		}
		if (n > 0 && (size_t) n < sizeof(b->reason)) {
			snprintf(b->reason + n, sizeof(b->reason) - (size_t) n,
			    ".");
		}
		return;
	}

	/* 2. Recorded safeguards of this regime. */
	sg_eval tia, no_tia, derog;
	memset(&tia, 0, sizeof(tia));
	memset(&no_tia, 0, sizeof(no_tia));
	memset(&derog, 0, sizeof(derog));
	const Spreg__V1__Safeguard *tia_sg = NULL, *no_tia_sg = NULL;
	const Spreg__V1__Safeguard *derog_sg = NULL;
	for (size_t i = 0; i < c->sp->n_safeguards; i++) {
		const Spreg__V1__Safeguard *sg = c->sp->safeguards[i];
		sg_eval ev = eval_safeguard(c, sg);
		if (ev.state == SG_SKIP) {
			continue;
		}
		size_t used = strlen(notes);
		switch (ev.m->kind) {
		case CATALOG_MECH_ART46:
		case CATALOG_MECH_DEROGATION:
			if (ev.state == SG_CEASED) {
				keep_latest(&stop, &ev.stop);
			} else if (ev.state == SG_NOT_YET) {
				snprintf(notes + used, sizeof(notes) - used,
				    " %s signed on %s does not count yet.",
				    ev.m->id, fmt(ev.signed_on, d1));
			} else if (ev.m->kind == CATALOG_MECH_DEROGATION) {
				if (lasts_longer(&ev, &derog)) {
					derog = ev;
					derog_sg = sg;
				}
			} else if (ev.m->needs_tia && sg->tia_ref[0] == '\0') {
				if (lasts_longer(&ev, &no_tia)) {
					no_tia = ev;
					no_tia_sg = sg;
				}
			} else if (lasts_longer(&ev, &tia)) {
				tia = ev;
				tia_sg = sg;
			}
			break;
		case CATALOG_MECH_NOT_TRANSFER_TOOL:
			snprintf(notes + used, sizeof(notes) - used,
			    " %s is recorded but is not a transfer tool.",
			    ev.m->id);
			break;
		default:
			/* Adequacy and framework records are evidence for
			 * the findings above. */
			break;
		}
	}
	const sg_eval *use = NULL;
	const Spreg__V1__Safeguard *use_sg = NULL;
	if (tia_sg != NULL) {
		use = &tia;
		use_sg = tia_sg;
		b->verdict = ASSESS_SAFEGUARDED;
	} else if (no_tia_sg != NULL) {
		use = &no_tia;
		use_sg = no_tia_sg;
		b->verdict = ASSESS_TIA_REQUIRED;
	} else if (derog_sg != NULL) {
		use = &derog;
		use_sg = derog_sg;
		b->verdict = ASSESS_DEROGATION;
	}
	if (use != NULL) {
		const catalog_mechanism *m = use->m;
		set_rule_mechanism(b, m);
		b->ends_on = use->ends_on;
		fmt(use->signed_on, d1);
		snprintf(b->label, sizeof(b->label), "%s signed on %s%s%s",
		    m->id, d1, use_sg->tia_ref[0] ? ", TIA " : "",
		    use_sg->tia_ref);
		char until[48] = "";
		if (use->ends_on != NONE) {
			char d3[DATE_BUF];
			snprintf(until, sizeof(until), " until %s",
			    fmt(use->ends_on, d3));
		}
		if (b->verdict == ASSESS_SAFEGUARDED) {
			snprintf(b->reason, sizeof(b->reason), "%s (%s, %s) "
			    "signed on %s counts on %s%s; %s.", m->name, m->id,
			    m->legal_basis, d1, d2, until, m->needs_tia ?
			    "a transfer impact assessment is on file" :
			    "the mechanism needs no transfer impact "
			    "assessment");
		} else if (b->verdict == ASSESS_TIA_REQUIRED) {
			snprintf(b->reason, sizeof(b->reason), "%s (%s, %s) "
			    "signed on %s counts on %s%s, but no transfer "
			    "impact assessment is recorded and the mechanism "
			    "requires one (Schrems II, C-311/18).", m->name,
			    m->id, m->legal_basis, d1, d2, until);
		} else {
			snprintf(b->reason, sizeof(b->reason), "Only a "
			    "derogation is recorded: %s (%s, %s) from %s. A "
			    "derogation covers occasional transfers only, not "
			    "systematic transfers to a vendor.", m->name,
			    m->id, m->legal_basis, d1);
		}
		return;
	}

	/* 3. Nothing counts: something ceased, or nothing at all. */
	if (stop.set) {
		char what[640];
		describe_ceased(c, &stop, what, sizeof(what));
		b->verdict = ASSESS_INVALID;
		b->ceased_on = stop.on;
		if (stop.f != NULL) {
			b->rule = stop.f->id;
			b->reference = stop.f->decision_ref;
			b->mechanism = stop.m->id;
		} else {
			set_rule_mechanism(b, stop.m);
		}
		snprintf(b->reason, sizeof(b->reason), "%s; no other "
		    "mechanism for %s counts for %s on %s.%s", what, reg,
		    country, d2, notes);
		return;
	}
	b->verdict = ASSESS_MISSING;
	snprintf(b->rule_buf, sizeof(b->rule_buf), "missing:%s", reg);
	b->rule = b->rule_buf;
	b->reference = c->regime->name;
	if (unmet[0] != '\0') {
		snprintf(b->reason, sizeof(b->reason), "No transfer "
		    "mechanism for %s counts for %s on %s.%s%s", reg, country,
		    d2, unmet, notes);
	} else {
		snprintf(b->reason, sizeof(b->reason), "No transfer "
		    "mechanism for %s is recorded for %s, which has no %s "
		    "adequacy finding in force on %s.%s", reg, country, reg,
		    d2, notes);
	}
}

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
special(const ctx *c, const char *key)
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
	int32_t from = parse_or_none(sp->effective_from);
	int32_t until = parse_or_none(sp->effective_until);

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
judge(ctx *c, const char *country, arena *a, judged *j, err *e)
{
	basis base, what_if;
	const basis *b = &base;

	memset(j, 0, sizeof(*j));
	c->suppose = false;
	decide(c, country, &base);
	if (c->q->nsuppose > 0) {
		c->suppose = true;
		decide(c, country, &what_if);
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
		    "%s rules: %s (%s).", b->reason, fmt(c->day, day),
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
unknown_location(ctx *c, arena *a, Spreg__V1__TransferAssessment ***rows_out,
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
	ctx c = {r, cat, NULL, NULL, NULL, sp, q, false, q->as_of};
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
