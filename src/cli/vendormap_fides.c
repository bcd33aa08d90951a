/*
 * Fides data maps (fideslang "system" YAML) both ways: read into the
 * API's form with every unmapped field noted once, and written from
 * stored vendors so that reading them back gives the same vendors.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "cli/vendormap.h"
#include "cli/vendormap_internal.h"

/* ---- Fides ---------------------------------------------------------------- */

/* Fields of a Fides file that spreg does not keep: counted, reported
 * once each. */
typedef struct unmapped {
	char path[96];
	size_t count, first_line;
} unmapped;

typedef struct fides_ctx {
	vmap_file *f;
	const vmap_taxonomy *tax;
	const pbjson_lines *lines;
	unmapped skipped[32];
	size_t nskipped;
} fides_ctx;

static void
skip(fides_ctx *x, const char *path, size_t line)
{
	for (size_t i = 0; i < x->nskipped; i++) {
		if (strcmp(x->skipped[i].path, path) == 0) {
			x->skipped[i].count++;
			return;
		}
	}
	if (x->nskipped < sizeof(x->skipped) / sizeof(x->skipped[0])) {
		unmapped *u = &x->skipped[x->nskipped++];
		snprintf(u->path, sizeof(u->path), "%s", path);
		u->count = 1;
		u->first_line = line;
	}
}

static size_t
line_of(const fides_ctx *x, const json_t *node, size_t dflt)
{
	size_t line = pbjson_line_of(x->lines, node);
	return line ? line : dflt;
}

static bool
set_string(json_t *obj, const char *key, const json_t *value)
{
	if (json_is_string(value) && json_string_length(value) > 0) {
		return json_object_set(obj, key, (json_t *) value) == 0;
	}
	return true;
}

/* A list of strings with value added unless there. */
static void
array_add_unique(json_t *array, const char *value)
{
	size_t i;
	json_t *v;

	json_array_foreach(array, i, v) {
		if (strcmp(json_string_value(v), value) == 0) {
			return;
		}
	}
	json_array_append_new(array, json_string(value));
}

/* fides_key: [A-Za-z0-9_.-]; ours [a-z0-9][a-z0-9-]{0,63}. */
static bool
fides_id(const char *key, char *out, size_t size)
{
	size_t len = strlen(key);

	if (len == 0 || len >= size || len > 64) {
		return false;
	}
	for (size_t i = 0; i <= len; i++) {
		char ch = key[i];
		out[i] = ch == '_' || ch == '.' ? '-' :
		    (char) tolower((unsigned char) ch);
		if (ch != '\0' && !isalnum((unsigned char) out[i]) &&
		    out[i] != '-') {
			return false;
		}
	}
	return isalnum((unsigned char) out[0]);
}

/* The declarations' data categories into cats, their data uses into
 * uses. */
static void
fides_declarations(fides_ctx *x, const json_t *decls, json_t *cats,
    json_t *uses, size_t line)
{
	size_t i;
	json_t *d;

	if (decls != NULL && !json_is_array(decls)) {
		vmap_problem(x->f, line_of(x, decls, line),
		    "privacy_declarations: expected a list");
		return;
	}
	json_array_foreach(decls, i, d) {
		size_t at = line_of(x, d, line);
		const char *key;
		json_t *v;
		if (!json_is_object(d)) {
			vmap_problem(x->f, at, "privacy_declarations[%zu]: "
			    "expected a mapping", i);
			continue;
		}
		json_object_foreach(d, key, v) {
			char path[96];
			if (strcmp(key, "data_use") == 0 && json_is_string(v)) {
				array_add_unique(uses, json_string_value(v));
				continue;
			}
			if (strcmp(key, "data_categories") != 0) {
				snprintf(path, sizeof(path),
				    "privacy_declarations[].%s", key);
				skip(x, path, line_of(x, v, at));
				continue;
			}
			if (!json_is_array(v)) {
				vmap_problem(x->f, line_of(x, v, at),
				    "data_categories: expected a list");
				continue;
			}
			size_t j;
			json_t *c;
			json_array_foreach(v, j, c) {
				size_t cl = line_of(x, c, at);
				if (!json_is_string(c)) {
					vmap_problem(x->f, cl, "data_categories"
					    "[%zu]: expected a key", j);
					continue;
				}
				const char *k = vmap_category_key(x->f, cl,
				    json_string_value(c), x->tax, true);
				if (k != NULL) {
					array_add_unique(cats, k);
				}
			}
		}
	}
}

/* third_country_transfers (alpha-3, or alpha-2) as locations. */
static json_t *
fides_countries(fides_ctx *x, const json_t *list, vmap_item *it)
{
	json_t *locs = json_array();
	size_t i;
	json_t *v;

	if (!json_is_array(list)) {
		vmap_problem(x->f, line_of(x, list, it->line),
		    "third_country_transfers: expected a list");
		return locs;
	}
	json_array_foreach(list, i, v) {
		size_t at = line_of(x, v, it->line);
		char code[3];
		if (!json_is_string(v) ||
		    !vmap_country_code(json_string_value(v), code)) {
			vmap_problem(x->f, at, "third_country_transfers[%zu]: "
			    "not an ISO 3166-1 alpha-3 or alpha-2 code", i);
			continue;
		}
		json_array_append_new(locs, json_pack("{s:s, s:s}", "country",
		    code, "role", "processing"));
		vmap_location_line_add(x->f, it, at);
	}
	return locs;
}

/* Fields of System this mapping reads; any other is reported. */
static const char *const fides_read[] = {"fides_key", "name",
    "description", "legal_name", "privacy_declarations", "meta",
    "third_country_transfers", "system_type", NULL};

static void
fides_system(fides_ctx *x, const json_t *sys, size_t line)
{
	const json_t *key = json_object_get(sys, "fides_key");
	char id[72];
	const char *k;
	json_t *v;

	if (!json_is_object(sys)) {
		vmap_problem(x->f, line, "system: expected a mapping");
		return;
	}
	if (!json_is_string(key) ||
	    !fides_id(json_string_value(key), id, sizeof(id))) {
		vmap_problem(x->f, line_of(x, key, line), "fides_key: %s",
		    json_is_string(key) ? "cannot be an id (letters, digits, "
		    "'-', '_' and '.', at most 64)" : "required");
		return;
	}
	if (strcmp(id, json_string_value(key)) != 0) {
		vmap_note(x->f, line_of(x, key, line), "fides_key '%s' is id "
		    "'%s'", json_string_value(key), id);
	}
	json_t *obj = json_pack("{s:s}", "id", id);
	vmap_item *it = vmap_item_add(x->f, obj, line);
	if (it == NULL) {
		return;
	}
	const json_t *name = json_object_get(sys, "name");
	if (!set_string(obj, "name", json_is_string(name) &&
	        json_string_length(name) > 0 ? name : key) ||
	    !set_string(obj, "purpose", json_object_get(sys, "description")) ||
	    !set_string(obj, "legal_entity",
	        json_object_get(sys, "legal_name"))) {
		x->f->oom = true;
		return;
	}
	json_t *cats = json_array();
	json_t *uses = json_array();
	fides_declarations(x, json_object_get(sys, "privacy_declarations"),
	    cats, uses, line);
	if (json_array_size(cats) > 0) {
		json_object_set(obj, "data_categories", cats);
	}
	json_decref(cats);
	/* What Fides has no field for, as 'spreg export --format fides'
	 * writes it: meta.spreg, in the API's form. */
	const json_t *meta = json_object_get(sys, "meta");
	json_object_foreach((json_t *) meta, k, v) {
		if (strcmp(k, "spreg") != 0 || !json_is_object(v)) {
			char path[96];
			snprintf(path, sizeof(path), "meta.%s", k);
			skip(x, path, line_of(x, v, line));
			continue;
		}
		const char *sk;
		json_t *sv;
		json_object_foreach(v, sk, sv) {
			if (json_object_get(obj, sk) != NULL) {
				vmap_problem(x->f, line_of(x, sv, line),
				    "meta.spreg.%s: given by a Fides field "
				    "already", sk);
				continue;
			}
			json_object_set(obj, sk, sv);
			if (strcmp(sk, "locations") == 0) {
				size_t i;
				json_t *loc;
				json_array_foreach(sv, i, loc) {
					vmap_location_line_add(x->f, it,
					    line_of(x, loc, line));
				}
			}
		}
	}
	/* The declarations' data uses, unless meta.spreg lists the
	 * vendor's own (the declarations may name a generic one). */
	if (json_array_size(uses) > 0 &&
	    json_object_get(obj, "data_uses") == NULL) {
		json_object_set(obj, "data_uses", uses);
	}
	json_decref(uses);
	/* meta.spreg's locations say more (roles, categories): they win. */
	const json_t *tct = json_object_get(sys, "third_country_transfers");
	if (tct != NULL && json_object_get(obj, "locations") == NULL) {
		json_object_set_new(obj, "locations",
		    fides_countries(x, tct, it));
	}
	json_object_foreach((json_t *) sys, k, v) {
		bool read = false;
		for (size_t i = 0; fides_read[i] != NULL; i++) {
			read = read || strcmp(k, fides_read[i]) == 0;
		}
		if (!read) {
			skip(x, k, line_of(x, v, line));
		}
	}
}

void
vmap_read_fides(vmap_file *f, const json_t *docs, const pbjson_lines *lines,
    const size_t *item_lines, size_t nitem_lines, const vmap_taxonomy *tax)
{
	fides_ctx x = {.f = f, .tax = tax, .lines = lines};
	size_t d, item = 0;
	json_t *doc;

	json_array_foreach(docs, d, doc) {
		const char *k;
		json_t *v;
		json_object_foreach(doc, k, v) {
			if (strcmp(k, "system") != 0) {
				skip(&x, k, line_of(&x, v, 0));
				continue;
			}
			if (!json_is_array(v)) {
				vmap_problem(f, line_of(&x, v, 0),
				    "system: expected a list");
				continue;
			}
			size_t i;
			json_t *sys;
			json_array_foreach(v, i, sys) {
				size_t at = line_of(&x, sys, item < nitem_lines ?
				    item_lines[item] : 0);
				item++;
				fides_system(&x, sys, at);
			}
		}
	}
	for (size_t i = 0; i < x.nskipped; i++) {
		const unmapped *u = &x.skipped[i];
		vmap_note(f, u->first_line, "not mapped: %s (%zu time%s; spreg "
		    "keeps no such field)", u->path, u->count,
		    u->count == 1 ? "" : "s");
	}
}

json_t *
vmap_fides_system(const Spreg__V1__Subprocessor *sp)
{
	json_t *all = pbjson_from_message(&sp->base);
	json_t *sys = json_object();
	json_t *spreg = json_object();

	if (all == NULL || sys == NULL || spreg == NULL) {
		goto fail;
	}
	json_object_set_new(sys, "fides_key", json_string(sp->id));
	json_object_set_new(sys, "name", json_string(sp->name));
	if (sp->purpose[0] != '\0') {
		json_object_set_new(sys, "description",
		    json_string(sp->purpose));
	}
	json_object_set_new(sys, "system_type", json_string("Service"));
	if (sp->legal_entity[0] != '\0') {
		json_object_set_new(sys, "legal_name",
		    json_string(sp->legal_entity));
	}
	/* A declaration per data use (fideslang's generic one when there
	 * is none: meta.spreg then says so); spreg keeps no data subjects,
	 * so the generic one is written. */
	json_t *decls = json_array();
	json_t *cats = json_object_get(all, "data_categories");
	for (size_t i = 0; decls != NULL && i < (sp->n_data_uses ?
	    sp->n_data_uses : 1); i++) {
		json_t *one = json_object();
		json_object_set_new(one, "name", json_string(sp->purpose[0] ?
		    sp->purpose : sp->name));
		json_object_set_new(one, "data_categories",
		    cats != NULL ? json_incref(cats) : json_array());
		json_object_set_new(one, "data_use", json_string(
		    sp->n_data_uses ? sp->data_uses[i] : "essential.service"));
		json_object_set_new(one, "data_subjects", json_pack("[s]",
		    "customer"));
		json_array_append_new(decls, one);
	}
	json_object_set_new(sys, "privacy_declarations", decls);
	if (sp->n_data_uses == 0) {
		json_object_set_new(spreg, "data_uses", json_array());
	}
	/* The countries, for Fides tools (fideslang 1.x's field, alpha-3);
	 * reading it back, meta.spreg's locations win. */
	json_t *countries = json_array();
	for (size_t i = 0; countries != NULL && i < sp->n_locations; i++) {
		char code[4];
		if (vmap_country_alpha3(sp->locations[i]->country, code)) {
			array_add_unique(countries, code);
		}
	}
	if (json_array_size(countries) > 0) {
		json_object_set(sys, "third_country_transfers", countries);
	}
	json_decref(countries);
	/* Everything else, in the API's form, under meta.spreg; server
	 * fields (revision, updated_*) stay out. */
	static const char *const kept[] = {"website", "services", "locations",
	    "safeguards", "dpf_certified_on", "dpf_participation", "status",
	    "effective_from", "effective_until", "data_uses", "kind",
	    "customer", "fourth_parties", NULL};
	for (size_t i = 0; kept[i] != NULL; i++) {
		json_t *v = json_object_get(all, kept[i]);
		if (v != NULL) {
			json_object_set(spreg, kept[i], v);
		}
	}
	json_object_set_new(sys, "meta", json_pack("{s:O}", "spreg", spreg));
	json_decref(all);
	json_decref(spreg);
	return sys;
fail:
	json_decref(all);
	json_decref(sys);
	json_decref(spreg);
	return NULL;
}
