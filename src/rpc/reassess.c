/* Re-assessment after writes and at the day boundary (reassess.h). */
#include <stdio.h>
#include <string.h>

#include "assess/assess.h"
#include "assess/rules.h"
#include "core/date.h"
#include "db/record.h"
#include "rpc/reassess.h"

#define REASON_MAX 1024
#define SCAN_PAGE 1000

/* What went lawful -> failing, as text for Change.reason. */
typedef struct flips {
	char text[REASON_MAX];
	size_t len;
	size_t count;
	size_t dropped;		/* did not fit in text */
} flips;

static void
flips_add(flips *f, const char *regime,
    const Spreg__V1__TransferAssessment *was,
    const Spreg__V1__TransferAssessment *now)
{
	char item[256];
	int n = snprintf(item, sizeof(item), "%s%s %s %s: %s -> %s",
	    f->count ? "; " : "", regime, now->country, now->data_category,
	    assess_verdict_name(was->verdict),
	    assess_verdict_name(now->verdict));

	f->count++;
	/* Keep room for the "(and N more)" tail. */
	if (n < 0 || f->len + (size_t) n + 24 >= sizeof(f->text)) {
		f->dropped++;
		return;
	}
	memcpy(f->text + f->len, item, (size_t) n + 1);
	f->len += (size_t) n;
}

static const Spreg__V1__TransferAssessment *
row_find(Spreg__V1__TransferAssessment *const *rows, size_t n,
    const Spreg__V1__TransferAssessment *like)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(rows[i]->country, like->country) == 0 &&
		    strcmp(rows[i]->data_category, like->data_category) == 0) {
			return rows[i];
		}
	}
	return NULL;
}

/* Judges before on day_before and after on day_after in every regime. */
static spreg_status
compare(const assess_rules *r, const catalog *cat,
    const Spreg__V1__Subprocessor *before, int32_t day_before,
    const Spreg__V1__Subprocessor *after, int32_t day_after, arena *a,
    flips *f, err *e)
{
	spreg_status st;

	for (size_t i = 0; i < assess_regime_count(r); i++) {
		const char *regime = assess_regime_at(r, i)->id;
		assess_query qb = {regime, day_before, ASSESS_HORIZON_DEFAULT,
		    NULL, 0, NULL, NULL};
		assess_query qa = qb;
		Spreg__V1__TransferAssessment **rb, **ra;
		size_t nb, na;

		qa.as_of = day_after;
		if ((st = assess_subprocessor(r, cat, before, &qb, a, &rb, &nb,
		         e)) != SPREG_OK ||
		    (st = assess_subprocessor(r, cat, after, &qa, a, &ra, &na,
		         e)) != SPREG_OK) {
			return st;
		}
		for (size_t j = 0; j < na; j++) {
			if (assess_verdict_lawful(ra[j]->verdict)) {
				continue;
			}
			const Spreg__V1__TransferAssessment *was =
			    row_find(rb, nb, ra[j]);
			if (was != NULL && assess_verdict_lawful(was->verdict)) {
				flips_add(f, regime, was, ra[j]);
			}
		}
	}
	return SPREG_OK;
}

/* A Change for the flips of one vendor, in a (seq unset). */
static spreg_status
make_change(const Spreg__V1__Subprocessor *before,
    const Spreg__V1__Subprocessor *after, const flips *f, int32_t day,
    int64_t now_ms, uint64_t ref_seq, uint64_t request_id, arena *a,
    Spreg__V1__Change **out, err *e)
{
	char reason[REASON_MAX + 64];
	char time_text[TIME_BUF];
	char day_text[DATE_BUF];
	spreg_status st;

	Spreg__V1__Change *c = arena_alloc(a, sizeof(*c));
	if (c == NULL) {
		return err_oom(e, NULL);
	}
	spreg__v1__change__init(c);
	snprintf(reason, sizeof(reason), "%zu transfer(s) no longer lawful: "
	    "%s", f->count, f->text);
	if (f->dropped > 0) {
		size_t len = strlen(reason);
		snprintf(reason + len, sizeof(reason) - len, "; and %zu more",
		    f->dropped);
	}
	time_format(now_ms, time_text);
	date_format(day, day_text);
	c->kind = CHANGE_ASSESSMENT_CHANGED;
	c->actor = (char *) RPC_REASSESS_ACTOR;
	c->old_revision = before->revision;
	c->new_revision = after->revision;
	c->request_id = request_id;
	c->ref_seq = ref_seq;
	if ((c->time = arena_strdup(a, time_text)) == NULL ||
	    (c->effective_at = arena_strdup(a, day_text)) == NULL ||
	    (c->reason = arena_strdup(a, reason)) == NULL ||
	    (c->subprocessor_id = arena_strdup(a, after->id)) == NULL) {
		return err_oom(e, NULL);
	}
	if ((st = db_change_scope(c, before, after, a, e)) != SPREG_OK) {
		return st;
	}
	*out = c;
	return SPREG_OK;
}

static bool
replaces_record(const Spreg__V1__Change *c)
{
	return c->subprocessor_id[0] != '\0' && c->old_revision != 0 &&
	    c->new_revision != c->old_revision &&
	    (c->kind == CHANGE_UPDATED || c->kind == CHANGE_RETIRED ||
	        c->kind == CHANGE_TOOK_EFFECT);
}

spreg_status
rpc_reassess_changes(rpc_server *srv, db_txn *t, arena *a,
    const Spreg__V1__Change *const *changes, size_t n, int64_t now_ms,
    uint64_t request_id, err *e)
{
	const assess_rules *r = rpc_server_rules(srv);
	const catalog *cat = rpc_server_catalog(srv);
	int32_t day = date_from_ms(now_ms);
	spreg_status st;

	if (r == NULL) {
		return SPREG_OK;
	}
	for (size_t i = 0; i < n; i++) {
		const Spreg__V1__Change *c = changes[i];
		Spreg__V1__Subprocessor *before, *after;
		Spreg__V1__Change *out;
		flips f = {.len = 0};

		if (!replaces_record(c)) {
			continue;
		}
		if ((st = db_sp_get(t, c->subprocessor_id, c->old_revision, a,
		         &before, e)) != SPREG_OK ||
		    (st = db_sp_get(t, c->subprocessor_id, c->new_revision, a,
		         &after, e)) != SPREG_OK ||
		    (st = compare(r, cat, before, day, after, day, a, &f,
		         e)) != SPREG_OK) {
			return st;
		}
		if (f.count == 0) {
			continue;
		}
		if ((st = make_change(before, after, &f, day, now_ms, c->seq,
		         request_id, a, &out, e)) != SPREG_OK ||
		    (st = db_change_append(t, out, a, e)) != SPREG_OK) {
			return st;
		}
	}
	return SPREG_OK;
}

/* ---- the day boundary ---------------------------------------------------- */

static bool
crosses(int32_t day, int32_t from, int32_t to)
{
	return day != CATALOG_DAY_NONE && from < day && day <= to;
}

static bool
text_crosses(const char *text, int32_t from, int32_t to)
{
	int32_t day;

	return text[0] != '\0' && date_parse(text, &day) &&
	    crosses(day, from, to);
}

/* Can the passing of (from, to] change a verdict of any vendor? */
static bool
rules_cross(const assess_rules *r, const catalog *cat, int32_t from,
    int32_t to)
{
	for (size_t i = 0; i < assess_finding_count(r); i++) {
		const assess_finding *f = assess_finding_at(r, i);
		if (crosses(f->valid_from, from, to) ||
		    crosses(f->valid_until, from, to)) {
			return true;
		}
	}
	for (size_t i = 0; i < assess_lineage_count(r); i++) {
		if (crosses(assess_lineage_at(r, i)->valid_until, from, to)) {
			return true;
		}
	}
	for (size_t i = 0; i < catalog_mechanism_count(cat); i++) {
		const catalog_mechanism *m = catalog_mechanism_at(cat, i);
		if (crosses(m->valid_from, from, to) ||
		    crosses(m->valid_until, from, to)) {
			return true;
		}
	}
	return false;
}

/* Does a date of the record itself fall in (from, to]? */
static bool
vendor_crosses(const Spreg__V1__Subprocessor *sp, int32_t from, int32_t to)
{
	if (text_crosses(sp->effective_from, from, to) ||
	    text_crosses(sp->effective_until, from, to) ||
	    text_crosses(sp->dpf_certified_on, from, to)) {
		return true;
	}
	for (size_t i = 0; i < sp->n_dpf_participation; i++) {
		if (text_crosses(sp->dpf_participation[i]->since, from, to) ||
		    text_crosses(sp->dpf_participation[i]->until, from, to)) {
			return true;
		}
	}
	for (size_t i = 0; i < sp->n_safeguards; i++) {
		if (text_crosses(sp->safeguards[i]->signed_on, from, to) ||
		    text_crosses(sp->safeguards[i]->expires_on, from, to)) {
			return true;
		}
	}
	return false;
}

/* Appends c to the growing list *list (capacity *cap) in keep. */
static spreg_status
list_push(arena *keep, Spreg__V1__Change ***list, size_t *n, size_t *cap,
    Spreg__V1__Change *c, err *e)
{
	if (*n == *cap) {
		size_t grown = *cap ? *cap * 2 : 16;
		Spreg__V1__Change **l = arena_alloc(keep, grown * sizeof(*l));
		if (l == NULL) {
			return err_oom(e, NULL);
		}
		if (*n > 0) {
			memcpy(l, *list, *n * sizeof(*l));
		}
		*list = l;
		*cap = grown;
	}
	(*list)[(*n)++] = c;
	return SPREG_OK;
}

/* One page of vendors after *after_id; sets *done on the last. */
static spreg_status
scan_page(rpc_server *srv, db_txn *t, bool all, int32_t from, int32_t to,
    int64_t now_ms, char *after_id, size_t after_size, arena *scan,
    arena *keep, Spreg__V1__Change ***list, size_t *n, size_t *cap,
    bool *done, err *e)
{
	const assess_rules *r = rpc_server_rules(srv);
	const catalog *cat = rpc_server_catalog(srv);
	db_sp_filter every = {.status = SP_STATUS_UNSPECIFIED};
	Spreg__V1__Subprocessor **sps;
	size_t nsps;
	bool more;
	spreg_status st;

	if ((st = db_sp_list(t, &every, after_id, SCAN_PAGE, scan, &sps,
	         &nsps, &more, e)) != SPREG_OK) {
		return st;
	}
	for (size_t i = 0; i < nsps; i++) {
		const Spreg__V1__Subprocessor *sp = sps[i];
		Spreg__V1__Change *c;
		flips f = {.len = 0};

		bool upcoming;
		if (!all && !vendor_crosses(sp, from, to)) {
			continue;
		}
		if (sp->status == SP_STATUS_PROPOSED &&
		    ((st = db_sp_upcoming(t, sp, &upcoming, e)) != SPREG_OK ||
		        !upcoming)) {
			if (st != SPREG_OK) {
				return st;
			}
			continue;	/* a proposal transfers nothing */
		}
		if ((st = compare(r, cat, sp, from, sp, to, scan, &f, e)) !=
		    SPREG_OK) {
			return st;
		}
		if (f.count == 0) {
			continue;
		}
		if ((st = make_change(sp, sp, &f, to, now_ms, 0, 0, keep, &c,
		         e)) != SPREG_OK ||
		    (st = list_push(keep, list, n, cap, c, e)) != SPREG_OK) {
			return st;
		}
	}
	if (nsps > 0) {
		snprintf(after_id, after_size, "%s", sps[nsps - 1]->id);
	}
	*done = !more || nsps == 0;
	return SPREG_OK;
}

spreg_status
rpc_reassess_scan(rpc_server *srv, db_session *s, int32_t from, int32_t to,
    int64_t now_ms, arena *scan, arena *keep, Spreg__V1__Change ***out,
    size_t *n_out, err *e)
{
	const assess_rules *r = rpc_server_rules(srv);
	Spreg__V1__Change **list = NULL;
	size_t n = 0, cap = 0;
	char after_id[80] = "";
	bool done = false;
	db_txn t;
	spreg_status st = SPREG_OK;

	if (r == NULL || from >= to) {
		*out = NULL;
		*n_out = 0;
		return SPREG_OK;
	}
	bool all = rules_cross(r, rpc_server_catalog(srv), from, to);
	while (!done && st == SPREG_OK) {
		arena_reset(scan);
		if ((st = db_read_begin(s, &t, e)) != SPREG_OK) {
			break;
		}
		st = scan_page(srv, &t, all, from, to, now_ms, after_id,
		    sizeof(after_id), scan, keep, &list, &n, &cap, &done, e);
		db_read_end(s);
	}
	if (st != SPREG_OK) {
		return st;
	}
	*out = list;
	*n_out = n;
	return SPREG_OK;
}
