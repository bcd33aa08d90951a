/*
 * A spreg public list read back as fourth parties (core/publist.h).
 * Moved here from the spreg command's client-side follow, so that
 * spregd's follows read the list the way that command did.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/publist.h"
#include "core/validate.h"

void
publist_fetched_fini(publist_fetched *f)
{
	free(f->body);
	f->body = NULL;
	f->len = 0;
}

/* A string member of o copied into a, "" when absent; false when
 * present and not a string (or out of memory). */
static bool
member_text(json_t *o, const char *name, arena *a, char **out)
{
	json_t *v = json_object_get(o, name);

	if (v == NULL) {
		*out = (char *) "";
		return true;
	}
	if (!json_is_string(v)) {
		return false;
	}
	*out = arena_strdup(a, json_string_value(v));
	return *out != NULL;
}

static spreg_status
parse_party(json_t *o, size_t i, const char *url, const char *today,
    arena *a, Spreg__V1__FourthParty *fp, err *e)
{
	json_t *countries = json_object_get(o, "countries");

	spreg__v1__fourth_party__init(fp);
	if (!json_is_object(o) ||
	    !member_text(o, "subprocessor_id", a, &fp->id) ||
	    !validate_slug(fp->id) ||
	    !member_text(o, "name", a, &fp->name) || fp->name[0] == '\0' ||
	    !member_text(o, "legal_entity", a, &fp->legal_entity) ||
	    !member_text(o, "purpose", a, &fp->purpose) ||
	    (countries != NULL && !json_is_array(countries))) {
		return err_set(e, SPREG_INVALID_ARGUMENT, "url: %s: "
		    "subprocessors[%zu]: not a subprocessor (subprocessor_id, "
		    "name, legal_entity, purpose, countries)", url, i);
	}
	fp->n_countries = json_array_size(countries);
	fp->countries = arena_alloc(a, (fp->n_countries + 1) *
	    sizeof(char *));
	if (fp->countries == NULL) {
		return err_oom(e, NULL);
	}
	for (size_t k = 0; k < fp->n_countries; k++) {
		json_t *c = json_array_get(countries, k);
		if (!json_is_string(c)) {
			return err_set(e, SPREG_INVALID_ARGUMENT, "url: %s: "
			    "subprocessors[%zu].countries[%zu]: not a string",
			    url, i, k);
		}
		if ((fp->countries[k] = arena_strdup(a,
		         json_string_value(c))) == NULL) {
			return err_oom(e, NULL);
		}
	}
	fp->source = arena_strdup(a, url);
	fp->confirmed_on = arena_strdup(a, today);
	if (fp->source == NULL || fp->confirmed_on == NULL) {
		return err_oom(e, NULL);
	}
	return SPREG_OK;
}

spreg_status
publist_parse(const char *body, size_t len, const char *url,
    const char *today, arena *a, Spreg__V1__FourthParty ***out,
    size_t *n_out, err *e)
{
	json_error_t jerr;
	json_t *doc, *list;
	spreg_status st = SPREG_OK;

	if ((doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr)) ==
	    NULL) {
		/* Where, not what: jansson's text quotes the answer, which
		 * may be a host's that only this server can reach. */
		return err_set(e, SPREG_INVALID_ARGUMENT, "url: %s: not JSON "
		    "(at line %d column %d)", url, jerr.line, jerr.column);
	}
	list = json_object_get(doc, "subprocessors");
	size_t n = json_array_size(list);
	Spreg__V1__FourthParty **fps = NULL;
	if (!json_is_array(list)) {
		st = err_set(e, SPREG_INVALID_ARGUMENT, "url: %s: not a spreg "
		    "public list (no \"subprocessors\" array; follow GET "
		    "/subprocessors.json)", url);
	} else if (n > PUBLIST_ITEMS_MAX) {
		st = err_set(e, SPREG_INVALID_ARGUMENT, "url: %s: more than "
		    "%d subprocessors", url, PUBLIST_ITEMS_MAX);
	} else if ((fps = arena_alloc(a, (n + 1) * sizeof(*fps))) == NULL) {
		st = err_oom(e, NULL);
	}
	for (size_t i = 0; st == SPREG_OK && i < n; i++) {
		if ((fps[i] = arena_alloc(a, sizeof(**fps))) == NULL) {
			st = err_oom(e, NULL);
			break;
		}
		st = parse_party(json_array_get(list, i), i, url, today, a,
		    fps[i], e);
	}
	json_decref(doc);
	if (st == SPREG_OK) {
		*out = fps;
		*n_out = n;
	}
	return st;
}

static bool
same_party(const Spreg__V1__FourthParty *a, const Spreg__V1__FourthParty *b)
{
	if (strcmp(a->id, b->id) != 0 || strcmp(a->name, b->name) != 0 ||
	    strcmp(a->legal_entity, b->legal_entity) != 0 ||
	    strcmp(a->purpose, b->purpose) != 0 ||
	    strcmp(a->confirmed_on, b->confirmed_on) != 0 ||
	    a->n_countries != b->n_countries) {
		return false;
	}
	for (size_t k = 0; k < a->n_countries; k++) {
		if (strcasecmp(a->countries[k], b->countries[k]) != 0) {
			return false;
		}
	}
	return true;
}

spreg_status
publist_merge(Spreg__V1__FourthParty *const *old, size_t nold,
    Spreg__V1__FourthParty *const *fresh, size_t nfresh, const char *url,
    arena *a, Spreg__V1__FourthParty ***out, size_t *n_out, bool *differs,
    err *e)
{
	Spreg__V1__FourthParty **merged = arena_alloc(a, (nold + nfresh + 1) *
	    sizeof(*merged));
	size_t n = 0, nold_url = 0, kept = 0;
	bool diff = false;

	if (merged == NULL) {
		return err_oom(e, NULL);
	}
	for (size_t i = 0; i < nold; i++) {
		if (strcmp(old[i]->source, url) != 0) {
			merged[n++] = old[i];
			continue;
		}
		nold_url++;
		bool found = false;
		for (size_t j = 0; j < nfresh && !found; j++) {
			found = same_party(old[i], fresh[j]);
		}
		diff = diff || !found;
	}
	size_t others = n;
	for (size_t j = 0; j < nfresh; j++) {
		bool taken = false;
		for (size_t i = 0; i < others && !taken; i++) {
			taken = strcmp(merged[i]->id, fresh[j]->id) == 0;
		}
		if (!taken) {
			merged[n++] = fresh[j];
			kept++;
		}
	}
	*out = merged;
	*n_out = n;
	*differs = diff || nold_url != kept;
	return SPREG_OK;
}
