#include <stdio.h>
#include <string.h>

#include "core/date.h"
#include "core/pb.h"
#include "core/validate.h"
#include "core/vocab.h"

static const char *const location_roles[] = {"hosting", "processing",
    "storage", "backup", "support", "development"};

static validate_limits limits = {
	VALIDATE_TEXT_MAX_DEFAULT,
	VALIDATE_LIST_MAX_DEFAULT,
};

void
validate_limits_set(const validate_limits *l)
{
	limits = *l;
}

const validate_limits *
validate_limits_get(void)
{
	return &limits;
}

size_t
validate_name_max(void)
{
	return limits.text_max < VALIDATE_NAME_MAX ? limits.text_max :
	                                             VALIDATE_NAME_MAX;
}

bool
validate_slug(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > VALIDATE_ID_MAX) {
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		bool ok = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
		    (ch == '-' && i > 0);
		if (!ok) {
			return false;
		}
	}
	return true;
}

bool
validate_category_key(const char *s)
{
	size_t n = strlen(s);
	bool seg_empty = true;

	if (n == 0 || n > 255) {
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		if (ch == '.') {
			if (seg_empty) {
				return false;
			}
			seg_empty = true;
		} else if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
		    ch == '_') {
			seg_empty = false;
		} else {
			return false;
		}
	}
	return !seg_empty;
}

/* Explicit embeddings, overrides and isolates: they reorder the text
 * around them, up to the end of a line (a table row, a CSV record). */
static bool
bidi_control(unsigned cp)
{
	return (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

/* The zero-width marks LRM, RLM and ALM: they reorder nothing beyond
 * their neighbours, and right-to-left prose uses them. */
static bool
bidi_mark(unsigned cp)
{
	return cp == 0x200e || cp == 0x200f || cp == 0x061c;
}

validate_fault
validate_text_fault(const char *s, bool multiline, unsigned *cp_out)
{
	const unsigned char *p = (const unsigned char *) s;

	while (*p) {
		unsigned c = *p;
		size_t len;
		unsigned cp;
		if (c < 0x80) {
			if ((c < 0x20 || c == 0x7f) &&
			    !(multiline && (c == '\n' || c == '\t'))) {
				*cp_out = c;
				return VALIDATE_FAULT_CONTROL;
			}
			p++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			len = 2;
			cp = c & 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			len = 3;
			cp = c & 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			len = 4;
			cp = c & 0x07;
		} else {
			return VALIDATE_FAULT_UTF8;
		}
		for (size_t i = 1; i < len; i++) {
			if ((p[i] & 0xc0) != 0x80) {
				return VALIDATE_FAULT_UTF8;
			}
			cp = (cp << 6) | (p[i] & 0x3f);
		}
		/* Overlong forms, surrogates and beyond U+10FFFF. */
		if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
		    (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff)) {
			return VALIDATE_FAULT_UTF8;
		}
		if (bidi_control(cp) || (!multiline && bidi_mark(cp))) {
			*cp_out = cp;
			return VALIDATE_FAULT_BIDI;
		}
		p += len;
	}
	return VALIDATE_FAULT_NONE;
}

bool
validate_text(const char *s, bool multiline)
{
	unsigned cp;

	return validate_text_fault(s, multiline, &cp) == VALIDATE_FAULT_NONE;
}

spreg_status
validate_text_field(const char *field, const char *s, bool multiline, err *e)
{
	unsigned cp = 0;

	switch (validate_text_fault(s, multiline, &cp)) {
	case VALIDATE_FAULT_NONE:
		return SPREG_OK;
	case VALIDATE_FAULT_UTF8:
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "%s: not valid UTF-8", field);
	case VALIDATE_FAULT_CONTROL:
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "%s: has a control character (0x%02X)", field, cp);
	case VALIDATE_FAULT_BIDI:
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "%s: has a bidirectional control character (U+%04X)",
		    field, cp);
	}
	return err_set(e, SPREG_INTERNAL, "%s: unchecked", field);
}

static spreg_status
check_text(const char *field, const char *s, size_t max, bool required,
    bool multiline, err *e)
{
	if (required && s[0] == '\0') {
		return err_set(e, SPREG_INVALID_ARGUMENT, "%s: required", field);
	}
	if (strlen(s) > max) {
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "%s: longer than %zu bytes", field, max);
	}
	return validate_text_field(field, s, multiline, e);
}

static spreg_status
check_date(const char *field, const char *s, bool required, int32_t *day,
    err *e)
{
	*day = CATALOG_DAY_NONE;
	if (s[0] == '\0') {
		return required ? err_set(e, SPREG_INVALID_ARGUMENT,
		                      "%s: required (YYYY-MM-DD)", field)
		                : SPREG_OK;
	}
	if (!date_parse(s, day)) {
		char shown[40];
		snprintf(shown, sizeof(shown), "%.32s", s);
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "%s: '%s' is not a YYYY-MM-DD date", field,
		    validate_text(shown, false) ? shown : "?");
	}
	return SPREG_OK;
}

spreg_status
validate_list_len(const char *field, size_t n, err *e)
{
	if (n > limits.list_max) {
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "%s: more than %zu entries", field, limits.list_max);
	}
	return SPREG_OK;
}

/* Shows s in a message only when it is printable and short. */
static const char *
shown(const char *s)
{
	return strlen(s) <= 80 && validate_text(s, false) ? s : "?";
}

/* Is keys[i] one of the keys before it? Then e names it. */
static bool
listed_twice(const char *field, char *const *keys, size_t i, err *e)
{
	for (size_t j = 0; j < i; j++) {
		if (strcmp(keys[i], keys[j]) == 0) {
			err_set(e, SPREG_INVALID_ARGUMENT, "%s[%zu]: '%s' listed "
			    "twice", field, i, keys[i]);
			return true;
		}
	}
	return false;
}

static spreg_status
check_categories(const char *field, char **keys, size_t n,
    validate_category_fn has, void *arg, const catalog *cat, err *e)
{
	spreg_status st;

	if ((st = validate_list_len(field, n, e)) != SPREG_OK) {
		return st;
	}
	for (size_t i = 0; i < n; i++) {
		if (!validate_category_key(keys[i]) ||
		    (catalog_category_find(cat, keys[i]) == NULL &&
		        (has == NULL || !has(arg, keys[i])))) {
			return err_set(e, SPREG_INVALID_ARGUMENT,
			    "%s[%zu]: unknown data category '%s'", field, i,
			    shown(keys[i]));
		}
		if (listed_twice(field, keys, i, e)) {
			return SPREG_INVALID_ARGUMENT;
		}
	}
	return SPREG_OK;
}

/* Is key equal to or below one of the keys? */
static bool
covered(const char *key, char **keys, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(keys[i]);
		if (strncmp(key, keys[i], len) == 0 &&
		    (key[len] == '\0' || key[len] == '.')) {
			return true;
		}
	}
	return false;
}

static spreg_status
check_location(const catalog *cat, validate_category_fn has, void *arg,
    const Spreg__V1__Subprocessor *sp, size_t i, err *e)
{
	Spreg__V1__Location *loc = sp->locations[i];
	char field[64];
	spreg_status st;

	loc->base.n_unknown_fields = 0;
	if (catalog_country_find(cat, loc->country) == NULL) {
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "locations[%zu].country: '%s' is not an ISO 3166-1 "
		    "alpha-2 code", i, shown(loc->country));
	}
	bool role_ok = false;
	for (size_t r = 0; r < sizeof(location_roles) / sizeof(*location_roles);
	     r++) {
		role_ok = role_ok || strcmp(loc->role, location_roles[r]) == 0;
	}
	if (!role_ok) {
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "locations[%zu].role: '%s' is not one of hosting, "
		    "processing, storage, backup, support, development", i,
		    shown(loc->role));
	}
	snprintf(field, sizeof(field), "locations[%zu].data_categories", i);
	if ((st = check_categories(field, loc->data_categories,
	         loc->n_data_categories, has, arg, cat, e)) != SPREG_OK) {
		return st;
	}
	for (size_t k = 0; k < loc->n_data_categories; k++) {
		if (!covered(loc->data_categories[k], sp->data_categories,
		        sp->n_data_categories)) {
			return err_set(e, SPREG_INVALID_ARGUMENT,
			    "%s[%zu]: '%s' is not within the subprocessor's "
			    "data_categories", field, k,
			    loc->data_categories[k]);
		}
	}
	for (size_t j = 0; j < i; j++) {
		if (strcmp(sp->locations[j]->country, loc->country) == 0 &&
		    strcmp(sp->locations[j]->role, loc->role) == 0) {
			return err_set(e, SPREG_INVALID_ARGUMENT,
			    "locations[%zu]: %s/%s listed twice", i,
			    loc->country, loc->role);
		}
	}
	return SPREG_OK;
}

static spreg_status
check_safeguard(const catalog *cat, Spreg__V1__Safeguard *sg, size_t i,
    err *e)
{
	const catalog_mechanism *m;
	char field[64];
	int32_t signed_on, expires_on;
	spreg_status st;

	sg->base.n_unknown_fields = 0;
	if ((m = catalog_mechanism_find(cat, sg->mechanism)) == NULL) {
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "safeguards[%zu].mechanism: unknown mechanism '%s'", i,
		    shown(sg->mechanism));
	}
	if (!catalog_regime_valid(sg->regime)) {
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "safeguards[%zu].regime: '%s' is not EU, UK or CH", i,
		    shown(sg->regime));
	}
	if (strcmp(sg->regime, m->regime) != 0) {
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "safeguards[%zu].regime: mechanism '%s' belongs to "
		    "regime %s, not %s", i, m->id, m->regime, sg->regime);
	}
	snprintf(field, sizeof(field), "safeguards[%zu].signed_on", i);
	if ((st = check_date(field, sg->signed_on, true, &signed_on, e)) !=
	    SPREG_OK) {
		return st;
	}
	snprintf(field, sizeof(field), "safeguards[%zu].expires_on", i);
	if ((st = check_date(field, sg->expires_on, false, &expires_on, e)) !=
	    SPREG_OK) {
		return st;
	}
	if (expires_on != CATALOG_DAY_NONE && expires_on <= signed_on) {
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "%s: must be after signed_on", field);
	}
	snprintf(field, sizeof(field), "safeguards[%zu].document_ref", i);
	if ((st = check_text(field, sg->document_ref, limits.text_max,
	         false, false, e)) != SPREG_OK) {
		return st;
	}
	snprintf(field, sizeof(field), "safeguards[%zu].tia_ref", i);
	return check_text(field, sg->tia_ref, limits.text_max, false, false,
	    e);
}

/* A framework's since (and until) must fall while it existed. */
static spreg_status
check_framework_day(const char *field, const catalog_mechanism *m,
    int32_t day, const char *text, err *e)
{
	char d[DATE_BUF];

	if (m->valid_from == CATALOG_DAY_NONE || day < m->valid_from) {
		if (m->valid_from != CATALOG_DAY_NONE) {
			date_format(m->valid_from, d);
		}
		return err_set(e, SPREG_INVALID_ARGUMENT, "%s: %s is before %s "
		    "existed (%s)", field, text, m->id,
		    m->valid_from == CATALOG_DAY_NONE ? "never adopted" : d);
	}
	if (m->valid_until != CATALOG_DAY_NONE && day >= m->valid_until) {
		date_format(m->valid_until, d);
		return err_set(e, SPREG_INVALID_ARGUMENT, "%s: %s is on or "
		    "after the day %s ceased (%s)", field, text, m->id, d);
	}
	return SPREG_OK;
}

static spreg_status
check_dpf(const catalog *cat, Spreg__V1__Subprocessor *sp, err *e)
{
	char field[64];
	int32_t since, until, cert;
	spreg_status st;

	if ((st = validate_list_len("dpf_participation",
	         sp->n_dpf_participation, e)) != SPREG_OK ||
	    (st = check_date("dpf_certified_on", sp->dpf_certified_on, false,
	         &cert, e)) != SPREG_OK) {
		return st;
	}
	const catalog_mechanism *eu = catalog_mechanism_find(cat,
	    CATALOG_EU_US_DPF);
	if (cert != CATALOG_DAY_NONE && eu != NULL &&
	    (st = check_framework_day("dpf_certified_on", eu, cert,
	         sp->dpf_certified_on, e)) != SPREG_OK) {
		return st;
	}
	for (size_t i = 0; i < sp->n_dpf_participation; i++) {
		Spreg__V1__DpfParticipation *p = sp->dpf_participation[i];
		const catalog_mechanism *m = catalog_mechanism_find(cat,
		    p->framework);
		p->base.n_unknown_fields = 0;
		if (m == NULL || m->kind != CATALOG_MECH_FRAMEWORK) {
			return err_set(e, SPREG_INVALID_ARGUMENT,
			    "dpf_participation[%zu].framework: '%s' is not a "
			    "framework mechanism (eu-us-dpf, uk-us-data-bridge, "
			    "ch-swiss-us-dpf)", i, shown(p->framework));
		}
		for (size_t j = 0; j < i; j++) {
			if (strcmp(sp->dpf_participation[j]->framework,
			        p->framework) == 0) {
				return err_set(e, SPREG_INVALID_ARGUMENT,
				    "dpf_participation[%zu].framework: '%s' "
				    "listed twice", i, p->framework);
			}
		}
		snprintf(field, sizeof(field), "dpf_participation[%zu].since",
		    i);
		if ((st = check_date(field, p->since, true, &since, e)) !=
		        SPREG_OK ||
		    (st = check_framework_day(field, m, since, p->since, e)) !=
		        SPREG_OK) {
			return st;
		}
		snprintf(field, sizeof(field), "dpf_participation[%zu].until",
		    i);
		if ((st = check_date(field, p->until, false, &until, e)) !=
		    SPREG_OK) {
			return st;
		}
		if (until != CATALOG_DAY_NONE && until <= since) {
			return err_set(e, SPREG_INVALID_ARGUMENT,
			    "%s: must be after since", field);
		}
		if (cert != CATALOG_DAY_NONE &&
		    strcmp(p->framework, CATALOG_EU_US_DPF) == 0 &&
		    since != cert) {
			return err_set(e, SPREG_INVALID_ARGUMENT,
			    "dpf_certified_on: %s differs from "
			    "dpf_participation[%zu].since %s (the EU-US entry)",
			    sp->dpf_certified_on, i, p->since);
		}
	}
	return SPREG_OK;
}

/* Purposes: fideslang data-use keys, each once. */
static spreg_status
check_uses(const catalog *cat, const char *field, char *const *keys,
    size_t n, err *e)
{
	spreg_status st;

	if ((st = validate_list_len(field, n, e)) != SPREG_OK) {
		return st;
	}
	for (size_t i = 0; i < n; i++) {
		if (catalog_data_use_find(cat, keys[i]) == NULL) {
			return err_set(e, SPREG_INVALID_ARGUMENT,
			    "%s[%zu]: '%s' is not a data use of the fideslang "
			    "taxonomy (data_uses.csv)", field, i,
			    shown(keys[i]));
		}
		if (listed_twice(field, keys, i, e)) {
			return SPREG_INVALID_ARGUMENT;
		}
	}
	return SPREG_OK;
}

static spreg_status
check_purposes_and_kind(const catalog *cat, Spreg__V1__Subprocessor *sp,
    err *e)
{
	char field[64], kinds[VOCAB_KIND_LIST_MAX];
	vocab_kind k;
	spreg_status st;

	if ((st = check_uses(cat, "data_uses", sp->data_uses,
	         sp->n_data_uses, e)) != SPREG_OK) {
		return st;
	}
	for (size_t i = 0; i < sp->n_locations; i++) {
		const Spreg__V1__Location *loc = sp->locations[i];
		snprintf(field, sizeof(field), "locations[%zu].data_uses", i);
		if ((st = check_uses(cat, field, loc->data_uses,
		         loc->n_data_uses, e)) != SPREG_OK) {
			return st;
		}
		for (size_t k = 0; k < loc->n_data_uses; k++) {
			if (!covered(loc->data_uses[k], sp->data_uses,
			        sp->n_data_uses)) {
				return err_set(e, SPREG_INVALID_ARGUMENT,
				    "%s[%zu]: '%s' is not within the "
				    "subprocessor's data_uses", field, k,
				    loc->data_uses[k]);
			}
		}
	}
	if (!vocab_kind_find(sp->kind, &k)) {
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "kind: '%s' is not one of %s", shown(sp->kind),
		    vocab_kind_list(kinds));
	}
	if (k == VOCAB_KIND_SUBPROCESSOR) {
		sp->kind = "";	/* the default, stored as such */
	}
	bool selected = k == VOCAB_KIND_CUSTOMER_SELECTED;
	const char *selected_name = vocab_kind_name(
	    VOCAB_KIND_CUSTOMER_SELECTED);
	if (selected && sp->customer[0] == '\0') {
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "customer: required for kind %s (the customer that "
		    "chose it)", selected_name);
	}
	if (!selected && sp->customer[0] != '\0') {
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "customer: only for kind %s", selected_name);
	}
	if (selected && !validate_slug(sp->customer)) {
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "customer: '%s' must match [a-z0-9][a-z0-9-]{0,63}",
		    shown(sp->customer));
	}
	return SPREG_OK;
}

static spreg_status
check_fourth_party(const catalog *cat, Spreg__V1__FourthParty *fp, size_t i,
    err *e)
{
	char field[64];
	int32_t day;
	spreg_status st;

	fp->base.n_unknown_fields = 0;
	if (!validate_slug(fp->id)) {
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "fourth_parties[%zu].id: '%s' must match "
		    "[a-z0-9][a-z0-9-]{0,63}", i, shown(fp->id));
	}
	snprintf(field, sizeof(field), "fourth_parties[%zu].name", i);
	if ((st = check_text(field, fp->name, validate_name_max(), true, false,
	         e)) != SPREG_OK) {
		return st;
	}
	snprintf(field, sizeof(field), "fourth_parties[%zu].legal_entity", i);
	if ((st = check_text(field, fp->legal_entity, validate_name_max(),
	         false, false, e)) != SPREG_OK) {
		return st;
	}
	snprintf(field, sizeof(field), "fourth_parties[%zu].purpose", i);
	if ((st = check_text(field, fp->purpose, limits.text_max, false, true,
	         e)) != SPREG_OK) {
		return st;
	}
	snprintf(field, sizeof(field), "fourth_parties[%zu].source", i);
	if ((st = check_text(field, fp->source, VALIDATE_URL_MAX, true, false,
	         e)) != SPREG_OK) {
		return st;
	}
	snprintf(field, sizeof(field), "fourth_parties[%zu].confirmed_on", i);
	if ((st = check_date(field, fp->confirmed_on, true, &day, e)) !=
	    SPREG_OK) {
		return st;
	}
	snprintf(field, sizeof(field), "fourth_parties[%zu].countries", i);
	if ((st = validate_list_len(field, fp->n_countries, e)) != SPREG_OK) {
		return st;
	}
	for (size_t k = 0; k < fp->n_countries; k++) {
		if (catalog_country_find(cat, fp->countries[k]) == NULL) {
			return err_set(e, SPREG_INVALID_ARGUMENT,
			    "%s[%zu]: '%s' is not an ISO 3166-1 alpha-2 code",
			    field, k, shown(fp->countries[k]));
		}
		if (listed_twice(field, fp->countries, k, e)) {
			return SPREG_INVALID_ARGUMENT;
		}
	}
	return SPREG_OK;
}

/* A vendor's own subprocessors, each id once. */
static spreg_status
check_fourth_parties(const catalog *cat, Spreg__V1__Subprocessor *sp,
    err *e)
{
	spreg_status st;

	if ((st = validate_list_len("fourth_parties", sp->n_fourth_parties,
	         e)) != SPREG_OK) {
		return st;
	}
	for (size_t i = 0; i < sp->n_fourth_parties; i++) {
		Spreg__V1__FourthParty *fp = sp->fourth_parties[i];
		if ((st = check_fourth_party(cat, fp, i, e)) != SPREG_OK) {
			return st;
		}
		for (size_t j = 0; j < i; j++) {
			if (strcmp(sp->fourth_parties[j]->id, fp->id) == 0) {
				return err_set(e, SPREG_INVALID_ARGUMENT,
				    "fourth_parties[%zu].id: '%s' listed twice",
				    i, fp->id);
			}
		}
	}
	return SPREG_OK;
}

spreg_status
validate_dpf_map(Spreg__V1__Subprocessor *sp, arena *a, err *e)
{
	for (size_t i = 0; i < sp->n_dpf_participation; i++) {
		Spreg__V1__DpfParticipation *p = sp->dpf_participation[i];
		if (strcmp(p->framework, CATALOG_EU_US_DPF) == 0) {
			if (sp->dpf_certified_on[0] == '\0') {
				sp->dpf_certified_on = p->since;
			}
			return SPREG_OK;
		}
	}
	if (sp->dpf_certified_on[0] == '\0') {
		return SPREG_OK;
	}
	size_t n = sp->n_dpf_participation;
	Spreg__V1__DpfParticipation **list = arena_alloc(a, (n + 1) *
	    sizeof(*list));
	Spreg__V1__DpfParticipation *p = arena_alloc(a, sizeof(*p));
	if (list == NULL || p == NULL) {
		return err_oom(e, NULL);
	}
	spreg__v1__dpf_participation__init(p);
	p->framework = (char *) CATALOG_EU_US_DPF;
	p->since = sp->dpf_certified_on;
	for (size_t i = 0; i < n; i++) {
		list[i] = sp->dpf_participation[i];
	}
	list[n] = p;
	sp->dpf_participation = list;
	sp->n_dpf_participation = n + 1;
	return SPREG_OK;
}

spreg_status
validate_subprocessor(const catalog *cat, validate_category_fn has,
    void *arg, Spreg__V1__Subprocessor *sp, err *e)
{
	int32_t from, until;
	spreg_status st;

	sp->base.n_unknown_fields = 0;
	if (!validate_slug(sp->id)) {
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "id: '%s' must match [a-z0-9][a-z0-9-]{0,63}",
		    shown(sp->id));
	}
	if ((st = check_text("name", sp->name, validate_name_max(), true,
	         false, e)) != SPREG_OK ||
	    (st = check_text("legal_entity", sp->legal_entity,
	         validate_name_max(), false, false, e)) != SPREG_OK ||
	    (st = check_text("purpose", sp->purpose, limits.text_max, false,
	         true, e)) != SPREG_OK ||
	    (st = check_text("website", sp->website, VALIDATE_URL_MAX, false,
	         false, e)) != SPREG_OK) {
		return st;
	}
	if (sp->website[0] != '\0' && strncmp(sp->website, "https://", 8) != 0 &&
	    strncmp(sp->website, "http://", 7) != 0) {
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "website: must start with https:// or http://");
	}
	if ((st = validate_list_len("services", sp->n_services, e)) !=
	    SPREG_OK) {
		return st;
	}
	for (size_t i = 0; i < sp->n_services; i++) {
		if (!validate_slug(sp->services[i])) {
			return err_set(e, SPREG_INVALID_ARGUMENT,
			    "services[%zu]: '%s' must match "
			    "[a-z0-9][a-z0-9-]{0,63}", i,
			    shown(sp->services[i]));
		}
		for (size_t j = 0; j < i; j++) {
			if (strcmp(sp->services[i], sp->services[j]) == 0) {
				return err_set(e, SPREG_INVALID_ARGUMENT,
				    "services[%zu]: '%s' listed twice", i,
				    sp->services[i]);
			}
		}
	}
	if ((st = check_categories("data_categories", sp->data_categories,
	         sp->n_data_categories, has, arg, cat, e)) != SPREG_OK ||
	    (st = validate_list_len("locations", sp->n_locations, e)) !=
	        SPREG_OK ||
	    (st = validate_list_len("safeguards", sp->n_safeguards, e)) !=
	        SPREG_OK) {
		return st;
	}
	for (size_t i = 0; i < sp->n_locations; i++) {
		if ((st = check_location(cat, has, arg, sp, i, e)) != SPREG_OK) {
			return st;
		}
	}
	for (size_t i = 0; i < sp->n_safeguards; i++) {
		if ((st = check_safeguard(cat, sp->safeguards[i], i, e)) !=
		    SPREG_OK) {
			return st;
		}
	}
	if ((st = check_dpf(cat, sp, e)) != SPREG_OK ||
	    (st = check_purposes_and_kind(cat, sp, e)) != SPREG_OK ||
	    (st = check_fourth_parties(cat, sp, e)) != SPREG_OK ||
	    (st = check_date("effective_from", sp->effective_from, false,
	         &from, e)) != SPREG_OK ||
	    (st = check_date("effective_until", sp->effective_until, false,
	         &until, e)) != SPREG_OK) {
		return st;
	}
	if (until != CATALOG_DAY_NONE && until < from) {
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "effective_until: before effective_from");
	}
	switch (sp->status) {
	case SP_STATUS_UNSPECIFIED:
		sp->status = SP_STATUS_ACTIVE;
		break;
	case SP_STATUS_PROPOSED:
	case SP_STATUS_ACTIVE:
	case SP_STATUS_RETIRED:
		break;
	default:
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "status: %d is not a known status", (int) sp->status);
	}
	return SPREG_OK;
}

spreg_status
validate_customer(Spreg__V1__Customer *c, err *e)
{
	spreg_status st;

	c->base.n_unknown_fields = 0;
	c->feed_key_generation = 0;	/* the server's: rpc_put_customer */
	if (!validate_slug(c->id)) {
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "customer.id: '%s' must match [a-z0-9][a-z0-9-]{0,63}",
		    shown(c->id));
	}
	if ((st = check_text("customer.name", c->name, validate_name_max(),
	         true, false, e)) != SPREG_OK) {
		return st;
	}
	if ((st = validate_list_len("customer.services", c->n_services, e)) !=
	    SPREG_OK) {
		return st;
	}
	if (c->n_services > 16) {
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "customer.services: at most 16");
	}
	for (size_t i = 0; i < c->n_services; i++) {
		if (!validate_slug(c->services[i])) {
			return err_set(e, SPREG_INVALID_ARGUMENT,
			    "customer.services[%zu]: '%s' must match "
			    "[a-z0-9][a-z0-9-]{0,63}", i,
			    shown(c->services[i]));
		}
	}
	if (c->regime[0] == '\0') {
		c->regime = "EU";
	} else if (!catalog_regime_valid(c->regime)) {
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "customer.regime: '%s' is not EU, UK or CH",
		    shown(c->regime));
	}
	if (c->notice_days == 0) {
		c->notice_days = VALIDATE_NOTICE_DEFAULT;
	} else if (c->notice_days > VALIDATE_NOTICE_MAX) {
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "customer.notice_days: at most %d", VALIDATE_NOTICE_MAX);
	}
	if ((st = validate_list_len("customer.contacts", c->n_contacts, e)) !=
	    SPREG_OK) {
		return st;
	}
	if (c->n_contacts > 16) {
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "customer.contacts: at most 16");
	}
	for (size_t i = 0; i < c->n_contacts; i++) {
		const char *at = strchr(c->contacts[i], '@');
		if (at == NULL || at == c->contacts[i] || at[1] == '\0' ||
		    strchr(at + 1, '@') != NULL || strlen(c->contacts[i]) > 254 ||
		    !validate_text(c->contacts[i], false) ||
		    strchr(c->contacts[i], ' ') != NULL) {
			return err_set(e, SPREG_INVALID_ARGUMENT,
			    "customer.contacts[%zu]: not an e-mail address", i);
		}
	}
	c->revision = 0;
	c->updated_at = "";
	c->updated_by = "";
	return SPREG_OK;
}
