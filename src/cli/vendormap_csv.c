/*
 * The import CSV both ways: its columns and their help, rows (one per
 * vendor and location) read into the API's form with a problem per bad
 * cell, and the rows of stored vendors written so that reading them
 * back gives the same vendors.
 */
#include <stdlib.h>
#include <string.h>

#include <csv.h>

#include "cli/vendormap.h"
#include "cli/vendormap_internal.h"
#include "core/vocab.h"

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
	"    legal_entity;countries (by spaces);purpose;source;confirmed_on\n"
	"    (a field with ';', a line break or a quote is quoted: \"a; b\")",
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

/*
 * A cell of records, one per line, fields (names, NULL-terminated) by
 * ';': safeguards, DPF participation, fourth parties. A field may be
 * quoted as in CSV ("a; b", "" for a quote inside), so that any text
 * goes into it: ';', line breaks, quotes, blanks at either end. An
 * unquoted field is taken as it stands, trimmed.
 */
static json_t *
csv_records(csv_reader *r, const char *cell, const char *column,
    const char *const *names)
{
	json_t *list = json_array();
	char *field = malloc(strlen(cell) + 1);
	const char *p = cell;

	if (list == NULL || field == NULL) {
		goto oom;
	}
	while (*p != '\0') {
		json_t *rec = json_object();
		size_t k = 0;
		bool blank = true;
		if (rec == NULL || json_array_append_new(list, rec) != 0) {
			goto oom;
		}
		for (;; k++) {
			size_t n = 0;
			bool quoted = false;
			while (*p == ' ' || *p == '\t') {
				p++;
			}
			if (*p == '"') {
				quoted = true;
				for (p++; *p != '"' || p[1] == '"'; p++) {
					if (*p == '\0') {
						vmap_problem(r->f, r->line, "%s: a "
						    "quoted field is not closed",
						    column);
						goto out;
					}
					field[n++] = *p;
					p += *p == '"';
				}
				p++;
				while (*p == ' ' || *p == '\t') {
					p++;
				}
				if (*p != ';' && *p != '\n' && *p != '\0') {
					vmap_problem(r->f, r->line, "%s: text "
					    "after a quoted field (a quote inside "
					    "one is written \"\")", column);
					goto out;
				}
			} else {
				while (*p != ';' && *p != '\n' && *p != '\0') {
					field[n++] = *p++;
				}
				while (n > 0 && (field[n - 1] == ' ' ||
				                    field[n - 1] == '\t')) {
					n--;
				}
			}
			field[n] = '\0';
			blank = blank && !quoted && n == 0 && *p != ';';
			if (!blank && names[k] == NULL) {
				vmap_problem(r->f, r->line, "%s: a record has more "
				    "than %zu fields", column, k);
				goto out;
			}
			json_t *value = n > 0 ? json_string(field) : NULL;
			if (n > 0 && value == NULL) {
				vmap_problem(r->f, r->line, "%s: %s is not valid "
				    "UTF-8", column, names[k]);
				goto out;
			}
			if (value != NULL &&
			    json_object_set_new(rec, names[k], value) != 0) {
				goto oom;
			}
			if (*p != ';') {
				break;
			}
			p++;
		}
		if (blank) {
			json_array_remove(list, json_array_size(list) - 1);
		}
		if (*p == '\n') {
			p++;
		}
	}
out:
	free(field);
	return list;
oom:
	free(field);
	json_decref(list);
	r->f->oom = true;
	return NULL;
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
			    vmap_country_code(tok, code) ? code : tok));
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
	return vmap_item_add(r->f, json_pack("{s:s}", "id", id), r->line);
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
		vmap_check_categories(r->f, value, NULL, r->line, r->tax);
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
	if (strlen(country) != 2 || !vmap_country_code(country, code)) {
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
		vmap_check_categories(r->f, list, NULL, r->line, r->tax);
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
	vmap_location_line_add(r->f, it, r->line);
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

/* A field of a records cell, quoted when reading it unquoted would not
 * give it back (see csv_records). */
static void
record_field(export_buf *b, const char *s)
{
	size_t len = strlen(s);
	bool plain = strpbrk(s, ";\n\"") == NULL && (len == 0 ||
	    (strchr(" \t", s[0]) == NULL && strchr(" \t", s[len - 1]) == NULL));

	if (plain) {
		export_buf_adds(b, s);
		return;
	}
	export_buf_add(b, "\"", 1);
	export_buf_add_doubled(b, s);
	export_buf_add(b, "\"", 1);
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
			record_field(b, f[k]);
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

/* Any status but proposed and retired is written active. */
static const char *
status_text(Spreg__V1__SubprocessorStatus s)
{
	return vocab_status_name(s == SP_STATUS_PROPOSED ||
	    s == SP_STATUS_RETIRED ? s : SP_STATUS_ACTIVE);
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
