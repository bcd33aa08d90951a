/*
 * Reading vendor files (see vendormap.h): problems and notes with their
 * lines, data category keys and countries as the files spell them, the
 * API's own form in JSON or YAML. Fides data maps are in
 * vendormap_fides.c, the import CSV in vendormap_csv.c.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/vendormap.h"
#include "cli/vendormap_internal.h"

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

vmap_item *
vmap_item_add(vmap_file *f, json_t *json, size_t line)
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

void
vmap_location_line_add(vmap_file *f, vmap_item *it, size_t line)
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
const char *
vmap_category_key(vmap_file *f, size_t line, const char *key,
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
void
vmap_check_categories(vmap_file *f, json_t *array, const pbjson_lines *lines,
    size_t dflt_line, const vmap_taxonomy *tax)
{
	size_t i;
	json_t *v;

	json_array_foreach(array, i, v) {
		size_t line = pbjson_line_of(lines, v);
		if (json_is_string(v)) {
			vmap_category_key(f, line ? line : dflt_line,
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
bool
vmap_country_code(const char *text, char out[3])
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
bool
vmap_country_alpha3(const char *alpha2, char out[4])
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
	vmap_item *it = vmap_item_add(f, json_incref(obj), line);
	json_t *locs = json_object_get(obj, "locations");
	size_t i;
	json_t *loc;

	if (it == NULL) {
		return;
	}
	vmap_check_categories(f, json_object_get(obj, "data_categories"), lines,
	    line, tax);
	json_array_foreach(locs, i, loc) {
		size_t at = pbjson_line_of(lines, loc);
		vmap_location_line_add(f, it, at ? at : line);
		upper(f, json_object_get(loc, "country"));
		vmap_check_categories(f, json_object_get(loc, "data_categories"),
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
		vmap_read_fides(f, docs, &lines, item_lines, nitem_lines, tax);
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
