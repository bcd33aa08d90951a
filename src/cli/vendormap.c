/*
 * The import CSV and Fides data maps, both ways (see vendormap.h).
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <csv.h>

#include "cli/vendormap.h"

/* ---- problems and notes ------------------------------------------------- */

void
vmap_file_init(vmap_file *f, const char *name)
{
	memset(f, 0, sizeof(*f));
	f->name = name;
}

void
vmap_file_fini(vmap_file *f)
{
	for (size_t i = 0; i < f->n; i++) {
		json_decref(f->items[i].json);
		free(f->items[i].location_lines);
	}
	for (size_t i = 0; i < f->nproblems; i++) {
		free(f->problems[i]);
	}
	for (size_t i = 0; i < f->nnotes; i++) {
		free(f->notes[i]);
	}
	free(f->items);
	free(f->problems);
	free(f->notes);
	memset(f, 0, sizeof(*f));
}

static void
add_message(vmap_file *f, char ***list, size_t *n, size_t *cap, size_t line,
    const char *fmt, va_list ap)
{
	char text[1024];
	char *msg = NULL;

	vsnprintf(text, sizeof(text), fmt, ap);
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		char **grown = realloc(*list, ncap * sizeof(*grown));
		if (grown == NULL) {
			f->oom = true;
			return;
		}
		*list = grown;
		*cap = ncap;
	}
	int len = line ? snprintf(NULL, 0, "%s:%zu: %s", f->name, line, text) :
	                 snprintf(NULL, 0, "%s: %s", f->name, text);
	if ((msg = malloc((size_t) len + 1)) == NULL) {
		f->oom = true;
		return;
	}
	if (line) {
		snprintf(msg, (size_t) len + 1, "%s:%zu: %s", f->name, line, text);
	} else {
		snprintf(msg, (size_t) len + 1, "%s: %s", f->name, text);
	}
	(*list)[(*n)++] = msg;
}

void
vmap_problem(vmap_file *f, size_t line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	add_message(f, &f->problems, &f->nproblems, &f->capproblems, line, fmt,
	    ap);
	va_end(ap);
}

void
vmap_note(vmap_file *f, size_t line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	add_message(f, &f->notes, &f->nnotes, &f->capnotes, line, fmt, ap);
	va_end(ap);
}

size_t
vmap_item_line_for(const vmap_item *it, const char *message)
{
	unsigned long idx;
	int used = 0;

	if (sscanf(message, "locations[%lu]%n", &idx, &used) == 1 &&
	    used > 0 && idx < it->nlocation_lines &&
	    it->location_lines[idx] != 0) {
		return it->location_lines[idx];
	}
	return it->line;
}

static vmap_item *
item_add(vmap_file *f, json_t *json, size_t line)
{
	if (json == NULL) {
		f->oom = true;
		return NULL;
	}
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 32;
		vmap_item *grown = realloc(f->items, cap * sizeof(*grown));
		if (grown == NULL) {
			json_decref(json);
			f->oom = true;
			return NULL;
		}
		f->items = grown;
		f->cap = cap;
	}
	vmap_item *it = &f->items[f->n++];
	*it = (vmap_item) {json, line, NULL, 0};
	return it;
}

static void
location_line_add(vmap_file *f, vmap_item *it, size_t line)
{
	size_t *grown = realloc(it->location_lines,
	    (it->nlocation_lines + 1) * sizeof(*grown));
	if (grown == NULL) {
		f->oom = true;
		return;
	}
	it->location_lines = grown;
	it->location_lines[it->nlocation_lines++] = line;
}

/* ---- data category keys --------------------------------------------------- */

/*
 * fideslang 1.x keys and the key of today's taxonomy that replaced each
 * (the data-category migration of Fides 2.0, ethyca/fides revision
 * 7abe778b7082, kept only where its target is a key of today's
 * taxonomy).
 */
static const char *const renamed[][2] = {
	{"user.derived.identifiable.demographic", "user.demographic"},
	{"user.derived.identifiable.device", "user.device"},
	{"user.derived.identifiable.device.cookie_id", "user.device.cookie_id"},
	{"user.derived.identifiable.device.device_id", "user.device.device_id"},
	{"user.derived.identifiable.device.ip_address",
	    "user.device.ip_address"},
	{"user.derived.identifiable.location", "user.location"},
	{"user.derived.identifiable.social", "user.social"},
	{"user.derived.identifiable.telemetry", "user.telemetry"},
	{"user.derived.identifiable.unique_id", "user.unique_id"},
	{"user.derived.identifiable.workplace", "user.workplace"},
	{"user.provided.identifiable.biometric", "user.biometric"},
	{"user.provided.identifiable.childrens", "user.childrens"},
	{"user.provided.identifiable.contact.city", "user.contact.address.city"},
	{"user.provided.identifiable.contact.country",
	    "user.contact.address.country"},
	{"user.provided.identifiable.contact.email", "user.contact.email"},
	{"user.provided.identifiable.contact.phone_number",
	    "user.contact.phone_number"},
	{"user.provided.identifiable.contact.postal_code",
	    "user.contact.address.postal_code"},
	{"user.provided.identifiable.contact.state",
	    "user.contact.address.state"},
	{"user.provided.identifiable.contact.street",
	    "user.contact.address.street"},
	{"user.provided.identifiable.financial", "user.financial"},
	{"user.provided.identifiable.government_id", "user.government_id"},
	{"user.provided.identifiable.government_id.drivers_license_number",
	    "user.government_id.drivers_license_number"},
	{"user.provided.identifiable.government_id.national_identification_"
	 "number", "user.government_id.national_identification_number"},
	{"user.provided.identifiable.government_id.passport_number",
	    "user.government_id.passport_number"},
	{"user.provided.identifiable.health_and_medical",
	    "user.health_and_medical"},
	{"user.provided.identifiable.job_title", "user.job_title"},
	{"user.provided.identifiable.name", "user.name"},
};

static int
key_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *) a, *(const char *const *) b);
}

static bool
tax_has(const vmap_taxonomy *tax, const char *key)
{
	return bsearch(&key, tax->keys, tax->n, sizeof(*tax->keys), key_cmp) !=
	    NULL;
}

/* The key to store for key found on line, or NULL after a problem. With
 * renames (Fides), a renamed fideslang key becomes its replacement. */
static const char *
category_key(vmap_file *f, size_t line, const char *key,
    const vmap_taxonomy *tax, bool renames)
{
	if (tax == NULL || tax->n == 0 || tax_has(tax, key)) {
		return key;
	}
	for (size_t i = 0; renames && i < sizeof(renamed) / sizeof(renamed[0]);
	     i++) {
		if (strcmp(key, renamed[i][0]) == 0 &&
		    tax_has(tax, renamed[i][1])) {
			vmap_note(f, line, "data category '%s' is fideslang's "
			    "former key for '%s' (replaced_by): imported as "
			    "'%s'", key, renamed[i][1], renamed[i][1]);
			return renamed[i][1];
		}
	}
	vmap_problem(f, line, "unknown data category '%s' (not in the "
	    "fideslang taxonomy nor added on this server: spreg categories)",
	    key);
	return NULL;
}

/* Checks the keys of a "data_categories" array in place. */
static void
check_categories(vmap_file *f, json_t *array, const pbjson_lines *lines,
    size_t dflt_line, const vmap_taxonomy *tax)
{
	size_t i;
	json_t *v;

	json_array_foreach(array, i, v) {
		size_t line = pbjson_line_of(lines, v);
		if (json_is_string(v)) {
			category_key(f, line ? line : dflt_line,
			    json_string_value(v), tax, false);
		}
	}
}

/* ---- countries ------------------------------------------------------------ */

/* ISO 3166-1 alpha-3 then alpha-2, sorted by alpha-3 (from Debian's
 * iso-codes, as data/countries.csv). */
static const char alpha3[] =
	"ABWAWAFGAFAGOAOAIAAIALAAXALBALANDADAREAEARGARARMAMASMASATAAQATFTFATGAG"
	"AUSAUAUTATAZEAZBDIBIBELBEBENBJBESBQBFABFBGDBDBGRBGBHRBHBHSBSBIHBABLMBL"
	"BLRBYBLZBZBMUBMBOLBOBRABRBRBBBBRNBNBTNBTBVTBVBWABWCAFCFCANCACCKCCCHECH"
	"CHLCLCHNCNCIVCICMRCMCODCDCOGCGCOKCKCOLCOCOMKMCPVCVCRICRCUBCUCUWCWCXRCX"
	"CYMKYCYPCYCZECZDEUDEDJIDJDMADMDNKDKDOMDODZADZECUECEGYEGERIERESHEHESPES"
	"ESTEEETHETFINFIFJIFJFLKFKFRAFRFROFOFSMFMGABGAGBRGBGEOGEGGYGGGHAGHGIBGI"
	"GINGNGLPGPGMBGMGNBGWGNQGQGRCGRGRDGDGRLGLGTMGTGUFGFGUMGUGUYGYHKGHKHMDHM"
	"HNDHNHRVHRHTIHTHUNHUIDNIDIMNIMINDINIOTIOIRLIEIRNIRIRQIQISLISISRILITAIT"
	"JAMJMJEYJEJORJOJPNJPKAZKZKENKEKGZKGKHMKHKIRKIKNAKNKORKRKWTKWLAOLALBNLB"
	"LBRLRLBYLYLCALCLIELILKALKLSOLSLTULTLUXLULVALVMACMOMAFMFMARMAMCOMCMDAMD"
	"MDGMGMDVMVMEXMXMHLMHMKDMKMLIMLMLTMTMMRMMMNEMEMNGMNMNPMPMOZMZMRTMRMSRMS"
	"MTQMQMUSMUMWIMWMYSMYMYTYTNAMNANCLNCNERNENFKNFNGANGNICNINIUNUNLDNLNORNO"
	"NPLNPNRUNRNZLNZOMNOMPAKPKPANPAPCNPNPERPEPHLPHPLWPWPNGPGPOLPLPRIPRPRKKP"
	"PRTPTPRYPYPSEPSPYFPFQATQAREUREROURORUSRURWARWSAUSASDNSDSENSNSGPSGSGSGS"
	"SHNSHSJMSJSLBSBSLESLSLVSVSMRSMSOMSOSPMPMSRBRSSSDSSSTPSTSURSRSVKSKSVNSI"
	"SWESESWZSZSXMSXSYCSCSYRSYTCATCTCDTDTGOTGTHATHTJKTJTKLTKTKMTMTLSTLTONTO"
	"TTOTTTUNTNTURTRTUVTVTWNTWTZATZUGAUGUKRUAUMIUMURYUYUSAUSUZBUZVATVAVCTVC"
	"VENVEVGBVGVIRVIVNMVNVUTVUWLFWFWSMWSYEMYEZAFZAZMBZMZWEZW";

/* An ISO 3166-1 code, alpha-2 (as is) or alpha-3 (mapped), upper-cased
 * into out[3]; false when it is neither. */
static bool
country_code(const char *text, char out[3])
{
	char up[4];
	size_t len = strlen(text);

	if (len < 2 || len > 3) {
		return false;
	}
	for (size_t i = 0; i < len; i++) {
		if (!isalpha((unsigned char) text[i])) {
			return false;
		}
		up[i] = (char) toupper((unsigned char) text[i]);
	}
	up[len] = '\0';
	for (size_t i = 0; i + 5 <= sizeof(alpha3) - 1; i += 5) {
		if (len == 2 && memcmp(alpha3 + i + 3, up, 2) == 0) {
			memcpy(out, up, 3);
			return true;
		}
		if (len == 3 && memcmp(alpha3 + i, up, 3) == 0) {
			memcpy(out, alpha3 + i + 3, 2);
			out[2] = '\0';
			return true;
		}
	}
	return false;
}

/* The alpha-3 code of an alpha-2 one, into out[4]; false if unknown. */
static bool
country_alpha3(const char *alpha2, char out[4])
{
	for (size_t i = 0; strlen(alpha2) == 2 && i + 5 <= sizeof(alpha3) - 1;
	     i += 5) {
		if (memcmp(alpha3 + i + 3, alpha2, 2) == 0) {
			memcpy(out, alpha3 + i, 3);
			out[3] = '\0';
			return true;
		}
	}
	return false;
}

/* ---- the API's own form --------------------------------------------------- */

/* A country code (a JSON string; else nothing) in upper case. */
static void
upper(vmap_file *f, json_t *country)
{
	if (!json_is_string(country)) {
		return;
	}
	char *up = strdup(json_string_value(country));
	if (up == NULL) {
		f->oom = true;
		return;
	}
	for (char *p = up; *p != '\0'; p++) {
		*p = (char) toupper((unsigned char) *p);
	}
	json_string_set(country, up);
	free(up);
}

/* One vendor object of a list: countries upper-cased as 'spreg put'
 * does, keys checked. */
static void
put_item(vmap_file *f, json_t *obj, size_t line, const pbjson_lines *lines,
    const vmap_taxonomy *tax)
{
	vmap_item *it = item_add(f, json_incref(obj), line);
	json_t *locs = json_object_get(obj, "locations");
	size_t i;
	json_t *loc;

	if (it == NULL) {
		return;
	}
	check_categories(f, json_object_get(obj, "data_categories"), lines,
	    line, tax);
	json_array_foreach(locs, i, loc) {
		size_t at = pbjson_line_of(lines, loc);
		location_line_add(f, it, at ? at : line);
		upper(f, json_object_get(loc, "country"));
		check_categories(f, json_object_get(loc, "data_categories"),
		    lines, at ? at : line, tax);
	}
	json_t *fp;
	json_array_foreach(json_object_get(obj, "fourth_parties"), i, fp) {
		size_t k;
		json_t *country;
		json_array_foreach(json_object_get(fp, "countries"), k,
		    country) {
			upper(f, country);
		}
	}
}

/*
 * Lines where the items of a JSON document start: the elements of the
 * top-level array, or of the array under the top-level key "system".
 */
typedef struct json_scan {
	char stack[PBJSON_MAX_DEPTH + 1];
	size_t depth;
	bool key_is_system;
} json_scan;

/* Is the innermost open container one whose elements are items? */
static bool
in_items(const json_scan *s)
{
	return (s->depth == 1 && s->stack[0] == '[') ||
	    (s->depth == 2 && s->stack[0] == '{' && s->stack[1] == '[' &&
	        s->key_is_system);
}

static size_t *
json_item_lines(const char *text, size_t len, size_t *n_out)
{
	json_scan s = {.depth = 0};
	size_t line = 1, n = 0, cap = 0;
	size_t *lines = NULL;
	bool want_item = false, expect_key = false;

	for (size_t i = 0; i < len; i++) {
		char ch = text[i];
		if (ch == '\n') {
			line++;
			continue;
		}
		if (ch == ' ' || ch == '\t' || ch == '\r') {
			continue;
		}
		if (want_item && ch != ']') {
			if (n == cap) {
				cap = cap ? cap * 2 : 64;
				size_t *grown = realloc(lines, cap * sizeof(*grown));
				if (grown == NULL) {
					free(lines);
					return NULL;
				}
				lines = grown;
			}
			lines[n++] = line;
		}
		want_item = false;
		if (ch == '"') {
			size_t start = i + 1;
			for (i++; i < len && text[i] != '"'; i++) {
				if (text[i] == '\\') {
					i++;
				} else if (text[i] == '\n') {
					line++;
				}
			}
			if (expect_key) {
				s.key_is_system = i - start == 6 &&
				    memcmp(text + start, "system", 6) == 0;
				expect_key = false;
			}
			continue;
		}
		if (ch == '[' || ch == '{') {
			if (s.depth < sizeof(s.stack)) {
				s.stack[s.depth] = ch;
			}
			s.depth++;
			want_item = ch == '[' && in_items(&s);
			expect_key = ch == '{' && s.depth == 1;
		} else if (ch == ']' || ch == '}') {
			s.depth = s.depth ? s.depth - 1 : 0;
		} else if (ch == ',') {
			want_item = in_items(&s);
			expect_key = s.depth == 1 && s.stack[0] == '{';
		}
	}
	*n_out = n;
	return lines;
}

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
				const char *k = category_key(x->f, cl,
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
		    !country_code(json_string_value(v), code)) {
			vmap_problem(x->f, at, "third_country_transfers[%zu]: "
			    "not an ISO 3166-1 alpha-3 or alpha-2 code", i);
			continue;
		}
		json_array_append_new(locs, json_pack("{s:s, s:s}", "country",
		    code, "role", "processing"));
		location_line_add(x->f, it, at);
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
	vmap_item *it = item_add(x->f, obj, line);
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
					location_line_add(x->f, it,
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

static void
read_fides(vmap_file *f, const json_t *docs, const pbjson_lines *lines,
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

/* ---- JSON and YAML -------------------------------------------------------- */

static bool
is_fides(const json_t *docs)
{
	const json_t *first = json_array_get(docs, 0);
	return json_is_object(first) && json_object_get(first, "system") != NULL;
}

void
vmap_read_structured(vmap_file *f, const char *text, size_t len, bool json,
    const vmap_taxonomy *tax)
{
	pbjson_lines lines = {0};
	json_t *docs = NULL;
	size_t *item_lines = NULL, nitem_lines = 0;
	err e;

	if (json) {
		json_t *doc;
		if (pbjson_parse_text(text, len, &doc, &e) != SPREG_OK) {
			vmap_problem(f, 0, "%s", e.msg);
			return;
		}
		docs = json_array();
		json_array_append_new(docs, doc);
		item_lines = json_item_lines(text, len, &nitem_lines);
	} else if (pbjson_parse_yaml_stream(text, len, &docs, &lines, &e) !=
	    SPREG_OK) {
		vmap_problem(f, 0, "%s", e.msg);
		return;
	}
	if (is_fides(docs)) {
		read_fides(f, docs, &lines, item_lines, nitem_lines, tax);
		goto out;
	}
	size_t d, item = 0;
	json_t *doc;
	json_array_foreach(docs, d, doc) {
		size_t doc_line = pbjson_line_of(&lines, doc);
		if (json_is_object(doc)) {
			put_item(f, doc, json ? 1 : doc_line, &lines, tax);
			continue;
		}
		if (!json_is_array(doc)) {
			vmap_problem(f, doc_line, "expected subprocessors (a list "
			    "of them, or one per YAML document) or a Fides data "
			    "map (system: ...)");
			continue;
		}
		size_t i;
		json_t *v;
		json_array_foreach(doc, i, v) {
			size_t at = json ? (item < nitem_lines ? item_lines[item] :
			                                         0) :
			                   pbjson_line_of(&lines, v);
			item++;
			if (!json_is_object(v)) {
				vmap_problem(f, at, "item %zu: expected a "
				    "subprocessor (a mapping with id, name, ...)",
				    i);
				continue;
			}
			put_item(f, v, at, &lines, tax);
		}
	}
out:
	free(item_lines);
	pbjson_lines_fini(&lines);
	json_decref(docs);
}

/* ---- the import CSV ------------------------------------------------------- */

const char *const vmap_csv_columns[VMAP_CSV_NCOLS] = {
	"id", "name", "legal_entity", "purpose", "website", "services",
	"data_categories", "country", "location_role",
	"location_data_categories", "safeguards", "dpf_certified_on",
	"dpf_participation", "status", "effective_from", "effective_until",
	"data_uses", "kind", "customer", "location_data_uses",
	"fourth_parties",
};

const char *const vmap_csv_help[VMAP_CSV_NCOLS] = {
	"the vendor's id, [a-z0-9][a-z0-9-]{0,63}; required on every row",
	"its name",
	"the legal entity that signs",
	"what it does for us",
	"its website (URL)",
	"our services using it; a list",
	"the data categories it receives (fideslang keys); a list",
	"a country it processes data in (ISO 3166-1 alpha-2); empty: none",
	"what it does there: hosting, processing, storage, backup, support\n"
	"    or development",
	"the categories of this location, when narrower; a list",
	"one safeguard per line of the cell: mechanism;regime;signed_on;\n"
	"    expires_on;document_ref;tia_ref (trailing fields may be left out)",
	"the day it was DPF-certified (YYYY-MM-DD); empty: not certified",
	"one DPF framework per line of the cell: framework;since;until",
	"proposed, active (empty means active) or retired",
	"its first day in use (YYYY-MM-DD)",
	"its first day out of use (YYYY-MM-DD)",
	"its purposes (fideslang data-use keys); a list",
	"subprocessor (empty means subprocessor), controller, affiliate\n"
	"    or customer_selected",
	"customer_selected: the id of the customer that chose it",
	"the data uses of this location, when narrower; a list",
	"its own subprocessors, one per line of the cell: id;name;\n"
	"    legal_entity;countries (by spaces);purpose;source;confirmed_on",
};

enum {
	COL_ID, COL_NAME, COL_LEGAL, COL_PURPOSE, COL_WEBSITE, COL_SERVICES,
	COL_CATEGORIES, COL_COUNTRY, COL_ROLE, COL_LOC_CATEGORIES,
	COL_SAFEGUARDS, COL_DPF, COL_DPF_PARTICIPATION, COL_STATUS, COL_FROM,
	COL_UNTIL, COL_DATA_USES, COL_KIND, COL_CUSTOMER, COL_LOC_DATA_USES,
	COL_FOURTH_PARTIES,
};

/* The API field of each vendor-level column; NULL for the others. */
static const char *const csv_field[VMAP_CSV_NCOLS] = {
	"id", "name", "legal_entity", "purpose", "website", "services",
	"data_categories", NULL, NULL, NULL, "safeguards", "dpf_certified_on",
	"dpf_participation", "status", "effective_from", "effective_until",
	"data_uses", "kind", "customer", NULL, "fourth_parties",
};

/* Cells holding records, one per line, fields separated by ';'. */
static const char *const safeguard_fields[] = {"mechanism", "regime",
    "signed_on", "expires_on", "document_ref", "tia_ref", NULL};
static const char *const dpf_fields[] = {"framework", "since", "until",
    NULL};
static const char *const fourth_party_fields[] = {"id", "name",
    "legal_entity", "countries", "purpose", "source", "confirmed_on", NULL};

typedef struct csv_reader {
	vmap_file *f;
	const vmap_taxonomy *tax;
	char **fields;
	size_t nfields, capfields;
	size_t line;		/* where the row being read started */
	bool header_done;
	int col_of[64];		/* header position -> column, -1 unknown */
	size_t ncols;
	bool have[VMAP_CSV_NCOLS];
} csv_reader;

static void
csv_field_cb(void *s, size_t len, void *data)
{
	csv_reader *r = data;

	if (r->nfields == r->capfields) {
		size_t cap = r->capfields ? r->capfields * 2 : 32;
		char **grown = realloc(r->fields, cap * sizeof(*grown));
		if (grown == NULL) {
			r->f->oom = true;
			return;
		}
		r->fields = grown;
		r->capfields = cap;
	}
	char *copy = malloc(len + 1);
	if (copy == NULL) {
		r->f->oom = true;
		return;
	}
	/* A line break inside a cell is "\n", as a spreadsheet shows it,
	 * whatever ends the file's lines. */
	size_t n = 0;
	for (size_t i = 0; i < len; i++) {
		const char *p = s;
		if (!(p[i] == '\r' && i + 1 < len && p[i + 1] == '\n')) {
			copy[n++] = p[i];
		}
	}
	copy[n] = '\0';
	len = n;
	/* What format.h's guard added, taken off again. */
	if (copy[0] == '\'' && copy[1] != '\0' &&
	    strchr("=+-@\t\r'", copy[1]) != NULL) {
		memmove(copy, copy + 1, len);
	}
	r->fields[r->nfields++] = copy;
}

static char *
trim(char *s)
{
	while (*s == ' ' || *s == '\t') {
		s++;
	}
	size_t len = strlen(s);
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t' ||
	                      s[len - 1] == '\r')) {
		s[--len] = '\0';
	}
	return s;
}

/* "a; b, c" (or one per line) as a list. */
static json_t *
csv_list(const char *cell)
{
	json_t *list = json_array();
	char *copy = strdup(cell), *save = NULL;

	if (list == NULL || copy == NULL) {
		json_decref(list);
		free(copy);
		return NULL;
	}
	for (char *tok = strtok_r(copy, ";,\n", &save); tok != NULL;
	     tok = strtok_r(NULL, ";,\n", &save)) {
		tok = trim(tok);
		if (tok[0] != '\0') {
			json_array_append_new(list, json_string(tok));
		}
	}
	free(copy);
	return list;
}

/* A cell of records, one per line, fields (names, NULL-terminated) by
 * ';': safeguards, DPF participation. */
static json_t *
csv_records(csv_reader *r, const char *cell, const char *column,
    const char *const *names)
{
	json_t *list = json_array();
	char *copy = strdup(cell), *save = NULL;

	if (list == NULL || copy == NULL) {
		json_decref(list);
		free(copy);
		r->f->oom = true;
		return NULL;
	}
	for (char *ln = strtok_r(copy, "\n", &save); ln != NULL;
	     ln = strtok_r(NULL, "\n", &save)) {
		if (trim(ln)[0] == '\0') {
			continue;
		}
		json_t *rec = json_object();
		size_t k = 0;
		for (char *p = ln; p != NULL && rec != NULL; k++) {
			char *semi = strchr(p, ';');
			if (semi != NULL) {
				*semi = '\0';
			}
			char *v = trim(p);
			if (names[k] == NULL) {
				vmap_problem(r->f, r->line, "%s: '%s' has more "
				    "than %zu fields", column, trim(ln), k);
				break;
			}
			if (v[0] != '\0') {
				json_object_set_new(rec, names[k], json_string(v));
			}
			p = semi != NULL ? semi + 1 : NULL;
		}
		json_array_append_new(list, rec);
	}
	free(copy);
	return list;
}

/* The fourth_parties cell: records whose countries field is a list of
 * codes separated by spaces. */
static json_t *
fourth_parties(csv_reader *r, const char *cell)
{
	json_t *list = csv_records(r, cell, "fourth_parties",
	    fourth_party_fields);
	size_t i;
	json_t *fp;

	json_array_foreach(list, i, fp) {
		const char *text = json_string_value(json_object_get(fp,
		    "countries"));
		json_t *codes = json_array();
		char *copy = strdup(text != NULL ? text : ""), *save = NULL;
		if (codes == NULL || copy == NULL) {
			json_decref(codes);
			free(copy);
			r->f->oom = true;
			break;
		}
		for (char *tok = strtok_r(copy, " ", &save); tok != NULL;
		     tok = strtok_r(NULL, " ", &save)) {
			char code[3];
			json_array_append_new(codes, json_string(
			    country_code(tok, code) ? code : tok));
		}
		free(copy);
		json_object_set_new(fp, "countries", codes);
	}
	return list;
}

static vmap_item *
csv_vendor(csv_reader *r, const char *id)
{
	for (size_t i = 0; i < r->f->n; i++) {
		const char *have = json_string_value(
		    json_object_get(r->f->items[i].json, "id"));
		if (have != NULL && strcmp(have, id) == 0) {
			return &r->f->items[i];
		}
	}
	return item_add(r->f, json_pack("{s:s}", "id", id), r->line);
}

static void
csv_header(csv_reader *r)
{
	if (r->nfields > sizeof(r->col_of) / sizeof(r->col_of[0])) {
		vmap_problem(r->f, r->line, "%zu columns: more than the %d "
		    "of an import CSV (spreg import --csv-template)",
		    r->nfields, VMAP_CSV_NCOLS);
		return;
	}
	r->ncols = r->nfields;
	for (size_t i = 0; i < r->nfields; i++) {
		const char *name = trim(r->fields[i]);
		r->col_of[i] = -1;
		for (int c = 0; c < VMAP_CSV_NCOLS; c++) {
			if (strcmp(name, vmap_csv_columns[c]) == 0) {
				r->col_of[i] = c;
			}
		}
		if (r->col_of[i] < 0) {
			vmap_problem(r->f, r->line, "unknown column '%.64s' (the "
			    "columns: spreg import --csv-template)", name);
		} else if (r->have[r->col_of[i]]) {
			vmap_problem(r->f, r->line, "column '%s' given twice",
			    name);
		} else {
			r->have[r->col_of[i]] = true;
		}
	}
	if (!r->have[COL_ID]) {
		vmap_problem(r->f, r->line, "no 'id' column (the columns: "
		    "spreg import --csv-template)");
	}
}

/* A vendor-level cell: the first row to give it sets it; another row
 * giving another value is a problem. */
static void
csv_vendor_value(csv_reader *r, vmap_item *it, int col, const char *cell)
{
	const char *field = csv_field[col];
	json_t *value = col == COL_SERVICES || col == COL_CATEGORIES ||
	    col == COL_DATA_USES ? csv_list(cell) : col == COL_SAFEGUARDS ?
	    csv_records(r, cell, "safeguards", safeguard_fields) :
	    col == COL_DPF_PARTICIPATION ?
	    csv_records(r, cell, "dpf_participation", dpf_fields) :
	    col == COL_FOURTH_PARTIES ? fourth_parties(r, cell) :
	    json_string(cell);
	json_t *had = json_object_get(it->json, field);

	if (value == NULL) {
		r->f->oom = true;
		return;
	}
	if (col == COL_CATEGORIES) {
		check_categories(r->f, value, NULL, r->line, r->tax);
	}
	if (had == NULL) {
		json_object_set_new(it->json, field, value);
		return;
	}
	if (!json_equal(had, value)) {
		vmap_problem(r->f, r->line, "%s: differs from an earlier row of "
		    "vendor '%s' (line %zu)", vmap_csv_columns[col],
		    json_string_value(json_object_get(it->json, "id")),
		    it->line);
	}
	json_decref(value);
}

static void
csv_row(csv_reader *r)
{
	const char *cell[VMAP_CSV_NCOLS] = {0};
	bool empty = true;

	for (size_t i = 0; i < r->nfields; i++) {
		empty = empty && trim(r->fields[i])[0] == '\0';
	}
	if (empty) {
		return;		/* spreadsheets leave blank rows */
	}
	if (r->nfields != r->ncols) {
		vmap_problem(r->f, r->line, "%zu fields, but the header has %zu",
		    r->nfields, r->ncols);
		return;
	}
	for (size_t i = 0; i < r->nfields; i++) {
		if (r->col_of[i] >= 0) {
			cell[r->col_of[i]] = trim(r->fields[i]);
		}
	}
	if (cell[COL_ID] == NULL || cell[COL_ID][0] == '\0') {
		vmap_problem(r->f, r->line, "id: empty (every row names its "
		    "vendor)");
		return;
	}
	vmap_item *it = csv_vendor(r, cell[COL_ID]);
	if (it == NULL) {
		return;
	}
	for (int c = 0; c < VMAP_CSV_NCOLS; c++) {
		if (csv_field[c] != NULL && c != COL_ID && cell[c] != NULL &&
		    cell[c][0] != '\0') {
			csv_vendor_value(r, it, c, cell[c]);
		}
	}
	const char *country = cell[COL_COUNTRY] ? cell[COL_COUNTRY] : "";
	const char *role = cell[COL_ROLE] ? cell[COL_ROLE] : "";
	const char *lcats = cell[COL_LOC_CATEGORIES] ?
	    cell[COL_LOC_CATEGORIES] : "";
	const char *luses = cell[COL_LOC_DATA_USES] ?
	    cell[COL_LOC_DATA_USES] : "";
	if (country[0] == '\0') {
		if (role[0] != '\0' || lcats[0] != '\0' || luses[0] != '\0') {
			vmap_problem(r->f, r->line, "country: empty, but "
			    "location_role, location_data_categories or "
			    "location_data_uses given");
		}
		return;
	}
	char code[3];
	if (strlen(country) != 2 || !country_code(country, code)) {
		vmap_problem(r->f, r->line, "country: '%.32s' is not an ISO "
		    "3166-1 alpha-2 code", country);
		return;
	}
	json_t *loc = json_pack("{s:s}", "country", code);
	if (loc != NULL && role[0] != '\0') {
		json_object_set_new(loc, "role", json_string(role));
	}
	if (loc != NULL && lcats[0] != '\0') {
		json_t *list = csv_list(lcats);
		check_categories(r->f, list, NULL, r->line, r->tax);
		json_object_set_new(loc, "data_categories", list);
	}
	if (loc != NULL && luses[0] != '\0') {
		json_object_set_new(loc, "data_uses", csv_list(luses));
	}
	json_t *locs = json_object_get(it->json, "locations");
	if (locs == NULL) {
		json_object_set_new(it->json, "locations", json_array());
		locs = json_object_get(it->json, "locations");
	}
	if (loc == NULL || json_array_append_new(locs, loc) != 0) {
		r->f->oom = true;
		return;
	}
	location_line_add(r->f, it, r->line);
}

static void
csv_row_cb(int c, void *data)
{
	csv_reader *r = data;

	(void) c;
	if (!r->header_done) {
		csv_header(r);
		r->header_done = true;
	} else {
		csv_row(r);
	}
	for (size_t i = 0; i < r->nfields; i++) {
		free(r->fields[i]);
	}
	r->nfields = 0;
	r->line = 0;
}

void
vmap_read_csv(vmap_file *f, const char *text, size_t len,
    const vmap_taxonomy *tax)
{
	struct csv_parser p;
	csv_reader r = {.f = f, .tax = tax};
	size_t line = 1;

	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0) {
		text += 3;	/* the BOM spreadsheets write */
		len -= 3;
	}
	if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL) !=
	    0) {
		f->oom = true;
		return;
	}
	/* A line at a time, to know where each row starts. */
	for (size_t at = 0; at < len && !f->oom;) {
		const char *nl = memchr(text + at, '\n', len - at);
		size_t n = nl ? (size_t) (nl - (text + at)) + 1 : len - at;
		bool blank = n <= 2 && (text[at] == '\n' || text[at] == '\r');
		if (r.line == 0 && !blank) {
			r.line = line;
		}
		if (csv_parse(&p, text + at, n, csv_field_cb, csv_row_cb, &r) !=
		    n) {
			vmap_problem(f, r.line ? r.line : line, "CSV: %s",
			    csv_strerror(csv_error(&p)));
			goto out;
		}
		at += n;
		line++;
	}
	if (csv_fini(&p, csv_field_cb, csv_row_cb, &r) != 0) {
		vmap_problem(f, r.line ? r.line : line, "CSV: %s (a quoted "
		    "field is not closed)", csv_strerror(csv_error(&p)));
	}
	if (!r.header_done) {
		vmap_problem(f, 0, "empty: no header row");
	}
out:
	for (size_t i = 0; i < r.nfields; i++) {
		free(r.fields[i]);
	}
	free(r.fields);
	csv_free(&p);
}

/* ---- writing -------------------------------------------------------------- */

static void
join(export_buf *b, char *const *items, size_t n)
{
	export_buf_reset(b);
	for (size_t i = 0; i < n; i++) {
		if (i > 0) {
			export_buf_adds(b, "; ");
		}
		export_buf_adds(b, items[i]);
	}
	export_buf_add(b, "", 1);
}

/* A cell of records: one per line, fields by ';', trailing empty
 * fields left out. */
static void
records_cell(export_buf *b, const char *const *const *records, size_t n,
    size_t nfields)
{
	export_buf_reset(b);
	for (size_t i = 0; i < n; i++) {
		const char *const *f = records[i];
		size_t used = nfields;
		while (used > 1 && f[used - 1][0] == '\0') {
			used--;
		}
		if (i > 0) {
			export_buf_adds(b, "\n");
		}
		for (size_t k = 0; k < used; k++) {
			export_buf_adds(b, k ? ";" : "");
			export_buf_adds(b, f[k]);
		}
	}
	export_buf_add(b, "", 1);
}

static void
safeguards_cell(export_buf *b, const Spreg__V1__Subprocessor *sp)
{
	const char *fields[sp->n_safeguards + 1][6];
	const char *const *rows[sp->n_safeguards + 1];

	for (size_t i = 0; i < sp->n_safeguards; i++) {
		const Spreg__V1__Safeguard *sg = sp->safeguards[i];
		const char *f[6] = {sg->mechanism, sg->regime, sg->signed_on,
		    sg->expires_on, sg->document_ref, sg->tia_ref};
		memcpy(fields[i], f, sizeof(f));
		rows[i] = fields[i];
	}
	records_cell(b, rows, sp->n_safeguards, 6);
}

static void
dpf_cell(export_buf *b, const Spreg__V1__Subprocessor *sp)
{
	const char *fields[sp->n_dpf_participation + 1][3];
	const char *const *rows[sp->n_dpf_participation + 1];

	for (size_t i = 0; i < sp->n_dpf_participation; i++) {
		const Spreg__V1__DpfParticipation *d = sp->dpf_participation[i];
		fields[i][0] = d->framework;
		fields[i][1] = d->since;
		fields[i][2] = d->until;
		rows[i] = fields[i];
	}
	records_cell(b, rows, sp->n_dpf_participation, 3);
}

static void
fourth_parties_cell(export_buf *b, const Spreg__V1__Subprocessor *sp)
{
	size_t n = sp->n_fourth_parties;

	if (n == 0) {
		records_cell(b, NULL, 0, 7);
		return;
	}
	const char *fields[n][7];
	const char *const *rows[n];
	export_buf countries[n];

	for (size_t i = 0; i < n; i++) {
		const Spreg__V1__FourthParty *fp = sp->fourth_parties[i];
		export_buf_init(&countries[i]);
		for (size_t k = 0; k < fp->n_countries; k++) {
			export_buf_adds(&countries[i], k ? " " : "");
			export_buf_adds(&countries[i], fp->countries[k]);
		}
		export_buf_add(&countries[i], "", 1);
		const char *f[7] = {fp->id, fp->name, fp->legal_entity,
		    countries[i].failed ? "" : countries[i].data, fp->purpose,
		    fp->source, fp->confirmed_on};
		memcpy(fields[i], f, sizeof(f));
		rows[i] = fields[i];
	}
	records_cell(b, rows, n, 7);
	for (size_t i = 0; i < n; i++) {
		b->failed = b->failed || countries[i].failed;
		export_buf_fini(&countries[i]);
	}
}

static const char *
status_text(Spreg__V1__SubprocessorStatus s)
{
	switch (s) {
	case SPREG__V1__SUBPROCESSOR_STATUS__SUBPROCESSOR_STATUS_PROPOSED:
		return "proposed";
	case SPREG__V1__SUBPROCESSOR_STATUS__SUBPROCESSOR_STATUS_RETIRED:
		return "retired";
	default:
		return "active";
	}
}

void
vmap_csv_rows(export_buf *b, const Spreg__V1__Subprocessor *sp,
    export_buf *scratch)
{
	export_buf services, cats, sgs, dpf, lcats, uses, luses, fps;
	size_t nrows = sp->n_locations ? sp->n_locations : 1;

	export_buf_init(&services);
	export_buf_init(&cats);
	export_buf_init(&sgs);
	export_buf_init(&dpf);
	export_buf_init(&lcats);
	export_buf_init(&uses);
	export_buf_init(&luses);
	export_buf_init(&fps);
	join(&services, sp->services, sp->n_services);
	join(&cats, sp->data_categories, sp->n_data_categories);
	join(&uses, sp->data_uses, sp->n_data_uses);
	safeguards_cell(&sgs, sp);
	dpf_cell(&dpf, sp);
	fourth_parties_cell(&fps, sp);
	for (size_t i = 0; i < nrows; i++) {
		const Spreg__V1__Location *loc = sp->n_locations ?
		    sp->locations[i] : NULL;
		join(&lcats, loc ? loc->data_categories : NULL,
		    loc ? loc->n_data_categories : 0);
		join(&luses, loc ? loc->data_uses : NULL,
		    loc ? loc->n_data_uses : 0);
		const char *text[VMAP_CSV_NCOLS] = {sp->id, sp->name,
		    sp->legal_entity, sp->purpose, sp->website,
		    services.failed ? "" : services.data,
		    cats.failed ? "" : cats.data, loc ? loc->country : "",
		    loc ? loc->role : "", lcats.failed ? "" : lcats.data,
		    sgs.failed ? "" : sgs.data, sp->dpf_certified_on,
		    dpf.failed ? "" : dpf.data, status_text(sp->status), sp->effective_from,
		    sp->effective_until, uses.failed ? "" : uses.data,
		    sp->kind, sp->customer, luses.failed ? "" : luses.data,
		    fps.failed ? "" : fps.data};
		export_cell cells[VMAP_CSV_NCOLS];
		for (size_t c = 0; c < VMAP_CSV_NCOLS; c++) {
			cells[c] = (export_cell) {.kind = EXPORT_TEXT,
			    .text = text[c]};
		}
		export_csv_row(b, cells, VMAP_CSV_NCOLS, scratch);
	}
	b->failed = b->failed || services.failed || cats.failed ||
	    sgs.failed || dpf.failed || lcats.failed || uses.failed ||
	    luses.failed || fps.failed;
	export_buf_fini(&services);
	export_buf_fini(&cats);
	export_buf_fini(&sgs);
	export_buf_fini(&dpf);
	export_buf_fini(&lcats);
	export_buf_fini(&uses);
	export_buf_fini(&luses);
	export_buf_fini(&fps);
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
		if (country_alpha3(sp->locations[i]->country, code)) {
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
