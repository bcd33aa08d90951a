#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/catalog.h"
#include "core/csvfile.h"
#include "core/date.h"
#include "core/pool.h"

struct catalog {
	catalog_country *countries;
	size_t ncountries;
	catalog_mechanism *mechanisms;
	size_t nmechanisms;
	catalog_category *categories;
	size_t ncategories;
	catalog_data_use *uses;
	size_t nuses;
	pool strings;	/* every string above points into it */
};

typedef struct load {
	catalog *c;
	size_t cap;
} load;

static int
cmp_country(const void *a, const void *b)
{
	return strcmp(((const catalog_country *) a)->code,
	    ((const catalog_country *) b)->code);
}

static int
cmp_mechanism(const void *a, const void *b)
{
	return strcmp(((const catalog_mechanism *) a)->id,
	    ((const catalog_mechanism *) b)->id);
}

static int
cmp_category(const void *a, const void *b)
{
	return strcmp(((const catalog_category *) a)->key,
	    ((const catalog_category *) b)->key);
}

static int
cmp_data_use(const void *a, const void *b)
{
	return strcmp(((const catalog_data_use *) a)->key,
	    ((const catalog_data_use *) b)->key);
}

/* The one name of each mechanism kind: the file's and the API's. */
static const char *const kinds[] = {
	[CATALOG_MECH_ADEQUACY] = "adequacy",
	[CATALOG_MECH_FRAMEWORK] = "framework",
	[CATALOG_MECH_ART46] = "art46",
	[CATALOG_MECH_DEROGATION] = "derogation",
	[CATALOG_MECH_NOT_TRANSFER_TOOL] = "not_transfer_tool",
};
#define NKINDS (sizeof(kinds) / sizeof(*kinds))

const char *
catalog_mechanism_kind_name(catalog_mechanism_kind kind)
{
	return (unsigned) kind < NKINDS ? kinds[kind] :
	    kinds[CATALOG_MECH_NOT_TRANSFER_TOOL];
}

static spreg_status
country_row(void *arg, const csvfile_row *row, err *e)
{
	load *l = arg;
	catalog *c = l->c;
	const char *code = row->fields[0];

	if (strlen(code) != 2 || code[0] < 'A' || code[0] > 'Z' ||
	    code[1] < 'A' || code[1] > 'Z') {
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "%s:%zu: code: '%s' is not two capital letters", row->path,
		    row->line, code);
	}
	if (!pool_grow((void **) &c->countries, &l->cap, c->ncountries,
	        sizeof(*c->countries))) {
		return err_oom(e, row->path);
	}
	catalog_country *cc = &c->countries[c->ncountries];
	if ((cc->code = pool_keep(&c->strings, code)) == NULL ||
	    (cc->name = pool_keep(&c->strings, row->fields[1])) == NULL) {
		return err_oom(e, row->path);
	}
	c->ncountries++;
	return SPREG_OK;
}

bool
catalog_regime_valid(const char *regime)
{
	return strcmp(regime, "EU") == 0 || strcmp(regime, "UK") == 0 ||
	    strcmp(regime, "CH") == 0;
}

static spreg_status
mechanism_row(void *arg, const csvfile_row *row, err *e)
{
	load *l = arg;
	catalog *c = l->c;
	char *const *f = row->fields;
	catalog_mechanism m;
	spreg_status st;

	memset(&m, 0, sizeof(m));
	if (!catalog_regime_valid(f[1])) {
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "%s:%zu: regime: '%s' is not EU, UK or CH", row->path,
		    row->line, f[1]);
	}
	if ((st = csvfile_day(row, 4, "valid_from", &m.valid_from, e)) !=
	        SPREG_OK ||
	    (st = csvfile_day(row, 5, "valid_until", &m.valid_until, e)) !=
	        SPREG_OK ||
	    (st = csvfile_day(row, 6, "sign_until", &m.sign_until, e)) !=
	        SPREG_OK) {
		return st;
	}
	if (m.valid_from != CATALOG_DAY_NONE &&
	    m.valid_until != CATALOG_DAY_NONE && m.valid_until < m.valid_from) {
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "%s:%zu: valid_until: before valid_from", row->path,
		    row->line);
	}
	if (m.sign_until != CATALOG_DAY_NONE && m.valid_from != CATALOG_DAY_NONE &&
	    m.sign_until < m.valid_from) {
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "%s:%zu: sign_until: before valid_from", row->path,
		    row->line);
	}
	if (strcmp(f[8], "yes") != 0 && strcmp(f[8], "no") != 0) {
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "%s:%zu: needs_tia: '%s' is not yes or no", row->path,
		    row->line, f[8]);
	}
	m.needs_tia = strcmp(f[8], "yes") == 0;
	size_t k = 0;
	while (k < NKINDS && strcmp(f[9], kinds[k])) {
		k++;
	}
	if (k == NKINDS) {
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "%s:%zu: kind: '%s' is not adequacy, framework, art46, "
		    "derogation or not_transfer_tool", row->path, row->line,
		    f[9]);
	}
	m.kind = (catalog_mechanism_kind) k;
	if ((m.id = pool_keep(&c->strings, f[0])) == NULL || (m.regime = pool_keep(&c->strings, f[1])) ==
	        NULL || (m.name = pool_keep(&c->strings, f[2])) == NULL ||
	    (m.legal_basis = pool_keep(&c->strings, f[3])) == NULL ||
	    (m.superseded_by = pool_keep(&c->strings, f[7])) == NULL ||
	    (m.notes = pool_keep(&c->strings, f[10])) == NULL ||
	    (m.source = pool_keep(&c->strings, f[11])) == NULL) {
		return err_oom(e, row->path);
	}
	if (!pool_grow((void **) &c->mechanisms, &l->cap, c->nmechanisms,
	        sizeof(m))) {
		return err_oom(e, row->path);
	}
	c->mechanisms[c->nmechanisms++] = m;
	return SPREG_OK;
}

/* Key (field 0) and name (1) given; the key is the parent's (2) plus
 * one segment. */
static spreg_status
check_tree_key(const csvfile_row *row, err *e)
{
	char *const *f = row->fields;

	if (f[0][0] == '\0' || f[1][0] == '\0') {
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "%s:%zu: key and name are required", row->path, row->line);
	}
	size_t plen = strlen(f[2]);
	const char *leaf = f[0];
	if (plen > 0) {
		if (strncmp(f[0], f[2], plen) != 0 || f[0][plen] != '.') {
			return err_set(e, SPREG_INVALID_ARGUMENT,
			    "%s:%zu: key: '%s' is not under its parent '%s'",
			    row->path, row->line, f[0], f[2]);
		}
		leaf = f[0] + plen + 1;
	}
	if (leaf[0] == '\0' || strchr(leaf, '.') != NULL) {
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "%s:%zu: key: '%s' must add exactly one segment to its "
		    "parent", row->path, row->line, f[0]);
	}
	return SPREG_OK;
}

static spreg_status
data_use_row(void *arg, const csvfile_row *row, err *e)
{
	load *l = arg;
	catalog *c = l->c;
	char *const *f = row->fields;
	catalog_data_use u;
	spreg_status st;

	if ((st = check_tree_key(row, e)) != SPREG_OK) {
		return st;
	}
	if ((u.key = pool_keep(&c->strings, f[0])) == NULL ||
	    (u.name = pool_keep(&c->strings, f[1])) == NULL ||
	    (u.parent = pool_keep(&c->strings, f[2])) == NULL ||
	    (u.description = pool_keep(&c->strings, f[6])) == NULL) {
		return err_oom(e, row->path);
	}
	if (!pool_grow((void **) &c->uses, &l->cap, c->nuses, sizeof(u))) {
		return err_oom(e, row->path);
	}
	c->uses[c->nuses++] = u;
	return SPREG_OK;
}

static spreg_status
category_row(void *arg, const csvfile_row *row, err *e)
{
	load *l = arg;
	catalog *c = l->c;
	char *const *f = row->fields;
	catalog_category cat;

	memset(&cat, 0, sizeof(cat));
	spreg_status st = check_tree_key(row, e);
	if (st != SPREG_OK) {
		return st;
	}
	cat.special = f[3][0] != '\0';
	if ((cat.key = pool_keep(&c->strings, f[0])) == NULL ||
	    (cat.name = pool_keep(&c->strings, f[1])) == NULL ||
	    (cat.parent = pool_keep(&c->strings, f[2])) == NULL ||
	    (cat.special_note = pool_keep(&c->strings, f[3])) == NULL) {
		return err_oom(e, row->path);
	}
	if (!pool_grow((void **) &c->categories, &l->cap, c->ncategories,
	        sizeof(cat))) {
		return err_oom(e, row->path);
	}
	c->categories[c->ncategories++] = cat;
	return SPREG_OK;
}

static spreg_status
read_file(catalog *c, const char *dir, const char *file,
    const char *const *cols, size_t ncols, csvfile_row_fn fn, err *e)
{
	load l = {c, 0};

	return csvfile_read_in(dir, file, cols, ncols, fn, &l, e);
}

static spreg_status
check_unique(const char *what, const char *prev, const char *cur, err *e)
{
	if (prev != NULL && strcmp(prev, cur) == 0) {
		return err_set(e, SPREG_INVALID_ARGUMENT, "%s: '%s' twice",
		    what, cur);
	}
	return SPREG_OK;
}

/* Parents exist; special marks flow down to every descendant. */
static spreg_status
link_categories(catalog *c, err *e)
{
	/* Sorted by key, a parent comes before its children. */
	for (size_t i = 0; i < c->ncategories; i++) {
		catalog_category *cat = &c->categories[i];
		if (cat->parent[0] == '\0') {
			continue;
		}
		const catalog_category *p = catalog_category_find(c,
		    cat->parent);
		if (p == NULL) {
			return err_set(e, SPREG_INVALID_ARGUMENT,
			    "data_categories.csv: parent: '%s' of '%s' is not "
			    "a key", cat->parent, cat->key);
		}
		if (p->special && !cat->special) {
			cat->special = true;
			cat->special_note = p->special_note;
		}
	}
	return SPREG_OK;
}

spreg_status
catalog_load(const char *data_dir, catalog **out, err *e)
{
	static const char *const country_cols[] = {"code", "name"};
	static const char *const mech_cols[] = {"mechanism_id", "regime",
	    "name", "legal_basis", "valid_from", "valid_until", "sign_until",
	    "superseded_by", "needs_tia", "kind", "notes", "source"};
	static const char *const cat_cols[] = {"key", "name", "parent",
	    "special_category"};
	static const char *const use_cols[] = {"key", "name", "parent",
	    "version_added", "version_deprecated", "replaced_by",
	    "description"};
	spreg_status st;
	catalog *c;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		return err_oom(e, NULL);
	}
	if ((st = read_file(c, data_dir, "countries.csv", country_cols, 2,
	         country_row, e)) != SPREG_OK ||
	    (st = read_file(c, data_dir, "mechanisms.csv", mech_cols, 12,
	         mechanism_row, e)) != SPREG_OK ||
	    (st = read_file(c, data_dir, "data_categories.csv", cat_cols, 4,
	         category_row, e)) != SPREG_OK ||
	    (st = read_file(c, data_dir, "data_uses.csv", use_cols, 7,
	         data_use_row, e)) != SPREG_OK) {
		goto fail;
	}
	/* An empty array may be NULL, which qsort and bsearch must not
	 * see; the files need at least one row each. */
	if (c->ncountries == 0 || c->nmechanisms == 0 || c->ncategories == 0 ||
	    c->nuses == 0) {
		st = err_set(e, SPREG_INVALID_ARGUMENT, "%s: countries.csv, "
		    "mechanisms.csv, data_categories.csv and data_uses.csv "
		    "each need a row", data_dir);
		goto fail;
	}
	qsort(c->countries, c->ncountries, sizeof(*c->countries), cmp_country);
	qsort(c->mechanisms, c->nmechanisms, sizeof(*c->mechanisms),
	    cmp_mechanism);
	qsort(c->categories, c->ncategories, sizeof(*c->categories),
	    cmp_category);
	qsort(c->uses, c->nuses, sizeof(*c->uses), cmp_data_use);
	for (size_t i = 0; i < c->ncountries; i++) {
		if ((st = check_unique("countries.csv: code",
		         i ? c->countries[i - 1].code : NULL,
		         c->countries[i].code, e)) != SPREG_OK) {
			goto fail;
		}
	}
	for (size_t i = 0; i < c->nmechanisms; i++) {
		const catalog_mechanism *m = &c->mechanisms[i];
		if ((st = check_unique("mechanisms.csv: mechanism_id",
		         i ? c->mechanisms[i - 1].id : NULL, m->id, e)) !=
		    SPREG_OK) {
			goto fail;
		}
	}
	for (size_t i = 0; i < c->nmechanisms; i++) {
		const catalog_mechanism *m = &c->mechanisms[i];
		if (m->superseded_by[0] != '\0' &&
		    catalog_mechanism_find(c, m->superseded_by) == NULL) {
			st = err_set(e, SPREG_INVALID_ARGUMENT,
			    "mechanisms.csv: superseded_by: '%s' of '%s' is "
			    "not a mechanism", m->superseded_by, m->id);
			goto fail;
		}
	}
	for (size_t i = 0; i < c->ncategories; i++) {
		if ((st = check_unique("data_categories.csv: key",
		         i ? c->categories[i - 1].key : NULL,
		         c->categories[i].key, e)) != SPREG_OK) {
			goto fail;
		}
	}
	if ((st = link_categories(c, e)) != SPREG_OK) {
		goto fail;
	}
	for (size_t i = 0; i < c->nuses; i++) {
		const catalog_data_use *u = &c->uses[i];
		if ((st = check_unique("data_uses.csv: key",
		         i ? c->uses[i - 1].key : NULL, u->key, e)) !=
		    SPREG_OK) {
			goto fail;
		}
		if (u->parent[0] != '\0' &&
		    catalog_data_use_find(c, u->parent) == NULL) {
			st = err_set(e, SPREG_INVALID_ARGUMENT,
			    "data_uses.csv: parent: '%s' of '%s' is not a key",
			    u->parent, u->key);
			goto fail;
		}
	}
	*out = c;
	return SPREG_OK;

fail:
	catalog_destroy(c);
	return st;
}

void
catalog_destroy(catalog *c)
{
	if (c == NULL) {
		return;
	}
	pool_fini(&c->strings);
	free(c->countries);
	free(c->mechanisms);
	free(c->categories);
	free(c->uses);
	free(c);
}

const catalog_country *
catalog_country_find(const catalog *c, const char *code)
{
	catalog_country key = {.code = code};
	return bsearch(&key, c->countries, c->ncountries,
	    sizeof(*c->countries), cmp_country);
}

const catalog_mechanism *
catalog_mechanism_find(const catalog *c, const char *id)
{
	catalog_mechanism key = {.id = id};
	return bsearch(&key, c->mechanisms, c->nmechanisms,
	    sizeof(*c->mechanisms), cmp_mechanism);
}

const catalog_category *
catalog_category_find(const catalog *c, const char *key)
{
	catalog_category k = {.key = key};
	return bsearch(&k, c->categories, c->ncategories,
	    sizeof(*c->categories), cmp_category);
}

const catalog_data_use *
catalog_data_use_find(const catalog *c, const char *key)
{
	catalog_data_use k = {.key = key};
	return bsearch(&k, c->uses, c->nuses, sizeof(*c->uses), cmp_data_use);
}

size_t
catalog_data_use_count(const catalog *c)
{
	return c->nuses;
}

const catalog_data_use *
catalog_data_use_at(const catalog *c, size_t i)
{
	return i < c->nuses ? &c->uses[i] : NULL;
}

size_t
catalog_category_count(const catalog *c)
{
	return c->ncategories;
}

const catalog_category *
catalog_category_at(const catalog *c, size_t i)
{
	return i < c->ncategories ? &c->categories[i] : NULL;
}

size_t
catalog_mechanism_count(const catalog *c)
{
	return c->nmechanisms;
}

const catalog_mechanism *
catalog_mechanism_at(const catalog *c, size_t i)
{
	return i < c->nmechanisms ? &c->mechanisms[i] : NULL;
}
