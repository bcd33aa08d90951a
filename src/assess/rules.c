#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assess/rules.h"
#include "core/csvfile.h"
#include "core/date.h"
#include "core/pool.h"

struct assess_rules {
	assess_regime *regimes;
	size_t nregimes;
	assess_finding *findings;
	size_t nfindings;
	assess_lineage *lineage;
	size_t nlineage;
	char version[DATE_BUF];
	char checksum[ASSESS_CHECKSUM_HEX];
	pool strings;	/* every string above points into it */
};

typedef struct load {
	assess_rules *r;
	const catalog *cat;
	size_t cap;
} load;

bool
assess_regime_home(const assess_regime *g, const char *country)
{
	size_t n = strlen(country);
	const char *p = g->home;

	if (n == 0) {
		return false;
	}
	while ((p = strstr(p, country)) != NULL) {
		bool start = p == g->home || p[-1] == ' ';
		bool end = p[n] == '\0' || p[n] == ' ';
		if (start && end) {
			return true;
		}
		p += n;
	}
	return false;
}

const assess_regime *
assess_regime_find(const assess_rules *r, const char *regime)
{
	for (size_t i = 0; i < r->nregimes; i++) {
		if (strcmp(r->regimes[i].id, regime) == 0) {
			return &r->regimes[i];
		}
	}
	return NULL;
}

static spreg_status
regime_row(void *arg, const csvfile_row *row, err *e)
{
	load *l = arg;
	assess_rules *r = l->r;
	char *const *f = row->fields;
	assess_regime g;
	spreg_status st;

	memset(&g, 0, sizeof(g));
	if (!catalog_regime_valid(f[0])) {
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "%s:%zu: regime: '%.40s' is not EU, UK or CH", row->path,
		    row->line, f[0]);
	}
	if (assess_regime_find(r, f[0]) != NULL) {
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "%s:%zu: regime: '%s' twice", row->path, row->line, f[0]);
	}
	/* Each code of the area must be a country, one space apart. */
	const char *p = f[1];
	if (*p == '\0') {
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "%s:%zu: home_countries: required", row->path, row->line);
	}
	while (*p != '\0') {
		char code[3] = {0};
		size_t n = strcspn(p, " ");
		if (n == 2) {
			memcpy(code, p, 2);
		}
		if (n != 2 || catalog_country_find(l->cat, code) == NULL) {
			return err_set(e, SPREG_INVALID_ARGUMENT,
			    "%s:%zu: home_countries: '%.*s' is not a country "
			    "of countries.csv", row->path, row->line,
			    (int) (n > 40 ? 40 : n), p);
		}
		p += n;
		if (*p == ' ') {
			p++;
		}
	}
	if ((st = csvfile_day(row, 3, "reviewed_on", &g.reviewed_on, e)) !=
	    SPREG_OK) {
		return st;
	}
	if (g.reviewed_on == CATALOG_DAY_NONE) {
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "%s:%zu: reviewed_on: required", row->path, row->line);
	}
	if ((g.id = pool_keep(&r->strings, f[0])) == NULL || (g.home = pool_keep(&r->strings, f[1])) ==
	        NULL || (g.name = pool_keep(&r->strings, f[2])) == NULL ||
	    (g.source = pool_keep(&r->strings, f[4])) == NULL) {
		return err_oom(e, row->path);
	}
	if (!pool_grow((void **) &r->regimes, &l->cap, r->nregimes, sizeof(g))) {
		return err_oom(e, row->path);
	}
	r->regimes[r->nregimes++] = g;
	return SPREG_OK;
}

static bool
organisation_code(const char *s)
{
	size_t n = strlen(s);

	if (n < 3 || n > 8) {
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		if (s[i] < 'A' || s[i] > 'Z') {
			return false;
		}
	}
	return true;
}

/* "none", or terms "in_scope", "certified:<framework>" and
 * "safeguard:<mechanism>" joined by '+'. */
static spreg_status
parse_condition(const load *l, const csvfile_row *row, assess_finding *fd,
    err *e)
{
	const char *s = row->fields[8];

	fd->nterms = 0;
	if (s[0] == '\0' || strcmp(s, "none") == 0) {
		return SPREG_OK;
	}
	while (*s != '\0') {
		size_t n = strcspn(s, "+");
		assess_term t = {ASSESS_TERM_IN_SCOPE, NULL};
		size_t skip = 0;
		if (n == 8 && strncmp(s, "in_scope", 8) == 0) {
			skip = 0;
		} else if (n > 10 && strncmp(s, "certified:", 10) == 0) {
			t.kind = ASSESS_TERM_CERTIFIED;
			skip = 10;
		} else if (n > 10 && strncmp(s, "safeguard:", 10) == 0) {
			t.kind = ASSESS_TERM_SAFEGUARD;
			skip = 10;
		} else {
			return err_set(e, SPREG_INVALID_ARGUMENT,
			    "%s:%zu: condition: '%.80s' is not none, or "
			    "in_scope, certified:<framework> and "
			    "safeguard:<mechanism> joined by '+'", row->path,
			    row->line, row->fields[8]);
		}
		if (skip > 0) {
			char id[80];
			if (n - skip >= sizeof(id)) {
				return err_set(e, SPREG_INVALID_ARGUMENT,
				    "%s:%zu: condition: a mechanism id too long",
				    row->path, row->line);
			}
			memcpy(id, s + skip, n - skip);
			id[n - skip] = '\0';
			t.mechanism = catalog_mechanism_find(l->cat, id);
			bool foreign = t.mechanism != NULL &&
			    strcmp(t.mechanism->regime, fd->regime) != 0;
			if (t.mechanism == NULL ||
			    (foreign && t.kind == ASSESS_TERM_SAFEGUARD)) {
				return err_set(e, SPREG_INVALID_ARGUMENT,
				    "%s:%zu: condition: '%s' is not a mechanism "
				    "of regime %s", row->path, row->line, id,
				    fd->regime);
			}
			/* The UK Extension needs the EU-US DPF too: a
			 * framework of another regime may be required. */
			if (t.kind == ASSESS_TERM_CERTIFIED &&
			    t.mechanism->kind != CATALOG_MECH_FRAMEWORK) {
				return err_set(e, SPREG_INVALID_ARGUMENT,
				    "%s:%zu: condition: '%s' is not a framework "
				    "mechanism", row->path, row->line, id);
			}
		}
		if (fd->nterms == ASSESS_TERMS_MAX) {
			return err_set(e, SPREG_INVALID_ARGUMENT,
			    "%s:%zu: condition: more than %d terms", row->path,
			    row->line, ASSESS_TERMS_MAX);
		}
		fd->terms[fd->nterms++] = t;
		s += n;
		if (*s == '+') {
			s++;
			if (*s == '\0') {
				return err_set(e, SPREG_INVALID_ARGUMENT,
				    "%s:%zu: condition: ends with '+'",
				    row->path, row->line);
			}
		}
	}
	return SPREG_OK;
}

static spreg_status
finding_row(void *arg, const csvfile_row *row, err *e)
{
	load *l = arg;
	assess_rules *r = l->r;
	char *const *f = row->fields;
	assess_finding fd;
	spreg_status st;

	memset(&fd, 0, sizeof(fd));
	fd.line = row->line;
	const assess_regime *g = assess_regime_find(r, f[0]);
	if (g == NULL) {
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "%s:%zu: regime: '%.40s' is not a regime of regimes.csv",
		    row->path, row->line, f[0]);
	}
	fd.regime = g->id;
	if (catalog_country_find(l->cat, f[1]) == NULL &&
	    !organisation_code(f[1])) {
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "%s:%zu: country_code: '%.40s' is not a country of "
		    "countries.csv", row->path, row->line, f[1]);
	}
	static const char *const statuses[] = {"eea", "adequate", "partial",
	    "none", "home"};
	size_t k = 0;
	while (k < 5 && strcmp(f[3], statuses[k]) != 0) {
		k++;
	}
	if (k == 5) {
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "%s:%zu: status: '%.40s' is not eea, home, adequate, "
		    "partial or none", row->path, row->line, f[3]);
	}
	bool finding = k == 1 || k == 2;
	bool home = k == 4;
	if (k == 0 && !assess_regime_home(g, f[1])) {
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "%s:%zu: status: eea, but %s is not in home_countries of "
		    "%s in regimes.csv", row->path, row->line, f[1], g->id);
	}
	if (home && assess_regime_home(g, f[1])) {
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "%s:%zu: status: home, but %s is in home_countries of %s "
		    "already", row->path, row->line, f[1], g->id);
	}
	if ((st = csvfile_day(row, 6, "valid_from", &fd.valid_from, e)) !=
	        SPREG_OK ||
	    (st = csvfile_day(row, 7, "valid_until", &fd.valid_until, e)) !=
	        SPREG_OK) {
		return st;
	}
	if (home && fd.valid_until == CATALOG_DAY_NONE) {
		/* A lasting one belongs in home_countries. */
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "%s:%zu: valid_until: required for status home", row->path,
		    row->line);
	}
	if (k != 3 && !home && fd.valid_from == CATALOG_DAY_NONE) {
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "%s:%zu: valid_from: required for status %s", row->path,
		    row->line, f[3]);
	}
	if (fd.valid_from != CATALOG_DAY_NONE &&
	    fd.valid_until != CATALOG_DAY_NONE &&
	    fd.valid_until <= fd.valid_from) {
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "%s:%zu: valid_until: %s is not after valid_from %s",
		    row->path, row->line, f[7], f[6]);
	}
	if (!finding) {
		/* eea and none rows decide nothing by themselves; home
		 * rows need nothing of the recipient. */
		if (f[9][0] != '\0' || (f[8][0] != '\0' &&
		                           strcmp(f[8], "none") != 0)) {
			return err_set(e, SPREG_INVALID_ARGUMENT,
			    "%s:%zu: %s: must be empty for status %s",
			    row->path, row->line, f[9][0] ? "mechanism" :
			    "condition", f[3]);
		}
	} else {
		const catalog_mechanism *m = catalog_mechanism_find(l->cat,
		    f[9]);
		if (m == NULL || strcmp(m->regime, g->id) != 0 ||
		    (m->kind != CATALOG_MECH_ADEQUACY &&
		        m->kind != CATALOG_MECH_FRAMEWORK)) {
			return err_set(e, SPREG_INVALID_ARGUMENT,
			    "%s:%zu: mechanism: '%.40s' is not an adequacy or "
			    "framework mechanism of regime %s in "
			    "mechanisms.csv", row->path, row->line, f[9], g->id);
		}
		fd.mechanism = m;
		if ((st = parse_condition(l, row, &fd, e)) != SPREG_OK) {
			return st;
		}
	}
	if ((fd.country = pool_keep(&r->strings, f[1])) == NULL ||
	    (fd.country_name = pool_keep(&r->strings, f[2])) == NULL ||
	    (fd.status = pool_keep(&r->strings, f[3])) == NULL ||
	    (fd.scope_note = pool_keep(&r->strings, f[4])) == NULL ||
	    (fd.decision_ref = pool_keep(&r->strings, f[5])) == NULL ||
	    (fd.condition = pool_keep(&r->strings, f[8][0] ? f[8] : "none")) == NULL ||
	    (fd.source = pool_keep(&r->strings, f[10])) == NULL) {
		return err_oom(e, row->path);
	}
	if (!pool_grow((void **) &r->findings, &l->cap, r->nfindings,
	        sizeof(fd))) {
		return err_oom(e, row->path);
	}
	r->findings[r->nfindings++] = fd;
	return SPREG_OK;
}

static spreg_status
lineage_row(void *arg, const csvfile_row *row, err *e)
{
	load *l = arg;
	assess_rules *r = l->r;
	char *const *f = row->fields;
	assess_lineage ln;
	spreg_status st;

	memset(&ln, 0, sizeof(ln));
	const assess_regime *g = assess_regime_find(r, f[0]);
	const assess_regime *to = assess_regime_find(r, f[1]);
	if (g == NULL || to == NULL) {
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "%s:%zu: %s: '%.40s' is not a regime of regimes.csv",
		    row->path, row->line, g == NULL ? "regime" : "follows",
		    g == NULL ? f[0] : f[1]);
	}
	if (g == to) {
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "%s:%zu: follows: a regime cannot follow itself", row->path,
		    row->line);
	}
	if ((st = csvfile_day(row, 2, "valid_from", &ln.valid_from, e)) !=
	        SPREG_OK ||
	    (st = csvfile_day(row, 3, "valid_until", &ln.valid_until, e)) !=
	        SPREG_OK) {
		return st;
	}
	if (ln.valid_until == CATALOG_DAY_NONE ||
	    (ln.valid_from != CATALOG_DAY_NONE &&
	        ln.valid_until <= ln.valid_from)) {
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "%s:%zu: valid_until: required, and after valid_from",
		    row->path, row->line);
	}
	for (size_t i = 0; i < r->nlineage; i++) {
		const assess_lineage *o = &r->lineage[i];
		bool overlap = (o->valid_from == CATALOG_DAY_NONE ||
		    o->valid_from < ln.valid_until) &&
		    (ln.valid_from == CATALOG_DAY_NONE ||
		        ln.valid_from < o->valid_until);
		if ((o->regime == g->id && overlap) || o->regime == to->id ||
		    o->follows == g->id) {
			return err_set(e, SPREG_INVALID_ARGUMENT,
			    "%s:%zu: %s: overlaps or chains with the row for "
			    "%s", row->path, row->line,
			    o->regime == g->id ? "valid_from" : "follows",
			    o->regime);
		}
	}
	ln.regime = g->id;
	ln.follows = to->id;
	if ((ln.note = pool_keep(&r->strings, f[4])) == NULL ||
	    (ln.reference = pool_keep(&r->strings, f[5])) == NULL ||
	    (ln.source = pool_keep(&r->strings, f[6])) == NULL) {
		return err_oom(e, row->path);
	}
	if (!pool_grow((void **) &r->lineage, &l->cap, r->nlineage,
	        sizeof(ln))) {
		return err_oom(e, row->path);
	}
	r->lineage[r->nlineage++] = ln;
	return SPREG_OK;
}

static int
cmp_finding(const void *a_, const void *b_)
{
	const assess_finding *a = a_, *b = b_;
	int c;

	if ((c = strcmp(a->regime, b->regime)) != 0 ||
	    (c = strcmp(a->country, b->country)) != 0) {
		return c;
	}
	if (a->valid_from != b->valid_from) {
		return a->valid_from < b->valid_from ? -1 : 1;
	}
	return a->line < b->line ? -1 : a->line > b->line;
}

static bool
same_pair(const assess_finding *a, const assess_finding *b)
{
	return strcmp(a->regime, b->regime) == 0 &&
	    strcmp(a->country, b->country) == 0;
}

/* Overlaps and ids, on the sorted findings of dir/adequacy.csv. */
static spreg_status
link_findings(assess_rules *r, const char *dir, err *e)
{
	for (size_t i = 0; i < r->nfindings; i++) {
		assess_finding *cur = &r->findings[i];
		size_t first = i, last = i;
		while (first > 0 && same_pair(&r->findings[first - 1], cur)) {
			first--;
		}
		while (last + 1 < r->nfindings &&
		    same_pair(&r->findings[last + 1], cur)) {
			last++;
		}
		if (i > first) {
			const assess_finding *prev = &r->findings[i - 1];
			const char *what = NULL;
			if (strcmp(cur->status, "none") == 0 ||
			    strcmp(prev->status, "none") == 0) {
				what = "status: 'none' contradicts";
			} else if (prev->valid_until == CATALOG_DAY_NONE ||
			    prev->valid_until > cur->valid_from) {
				what = "valid_from: interval overlaps";
			}
			if (what != NULL) {
				size_t later = cur->line > prev->line ?
				    cur->line : prev->line;
				size_t earlier = cur->line > prev->line ?
				    prev->line : cur->line;
				return err_set(e, SPREG_INVALID_ARGUMENT,
				    "%s/adequacy.csv:%zu: %s the row of line %zu "
				    "for %s %s", dir, later, what, earlier,
				    cur->regime, cur->country);
			}
		}
		char id[64], from[DATE_BUF];
		if (last > first && cur->valid_from != CATALOG_DAY_NONE) {
			date_format(cur->valid_from, from);
			snprintf(id, sizeof(id), "adequacy:%s:%s@%s",
			    cur->regime, cur->country, from);
		} else {
			snprintf(id, sizeof(id), "adequacy:%s:%s",
			    cur->regime, cur->country);
		}
		if ((cur->id = pool_keep(&r->strings, id)) == NULL) {
			return err_oom(e, NULL);
		}
	}
	return SPREG_OK;
}

static spreg_status
hash_file(crypto_hash_sha256_state *h, const char *dir, const char *name,
    err *e)
{
	char path[4096];
	unsigned char buf[8192];
	unsigned char len[8];
	FILE *fp;
	size_t n;
	long size;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((fp = fopen(path, "rb")) == NULL) {
		return err_set(e, SPREG_INVALID_ARGUMENT, "%s: cannot open",
		    path);
	}
	/* Name and length first, so bytes cannot move between files. */
	if (fseek(fp, 0, SEEK_END) != 0 || (size = ftell(fp)) < 0 ||
	    fseek(fp, 0, SEEK_SET) != 0) {
		fclose(fp);
		return err_set(e, SPREG_INVALID_ARGUMENT, "%s: cannot read",
		    path);
	}
	for (int i = 0; i < 8; i++) {
		len[i] = (unsigned char) (((unsigned long long) size >>
		    (56 - 8 * i)) & 0xff);
	}
	crypto_hash_sha256_update(h, (const unsigned char *) name,
	    strlen(name) + 1);
	crypto_hash_sha256_update(h, len, sizeof(len));
	while ((n = fread(buf, 1, sizeof(buf), fp)) > 0) {
		crypto_hash_sha256_update(h, buf, n);
	}
	bool failed = ferror(fp) != 0;
	fclose(fp);
	if (failed) {
		return err_set(e, SPREG_INVALID_ARGUMENT, "%s: cannot read",
		    path);
	}
	return SPREG_OK;
}

spreg_status
assess_rules_load(const char *data_dir, const catalog *cat,
    assess_rules **out, err *e)
{
	static const char *const regime_cols[] = {"regime", "home_countries",
	    "name", "reviewed_on", "source"};
	static const char *const finding_cols[] = {"regime", "country_code",
	    "country_name", "status", "scope_note", "decision_ref",
	    "valid_from", "valid_until", "condition", "mechanism", "source"};
	static const char *const lineage_cols[] = {"regime", "follows",
	    "valid_from", "valid_until", "note", "reference", "source"};
	crypto_hash_sha256_state h;
	unsigned char digest[crypto_hash_sha256_BYTES];
	spreg_status st;

	if (sodium_init() < 0) {
		return err_set(e, SPREG_INTERNAL, "libsodium did not start");
	}
	assess_rules *r = calloc(1, sizeof(*r));
	if (r == NULL) {
		return err_oom(e, NULL);
	}
	load lr = {r, cat, 0};
	load lf = {r, cat, 0};
	load ll = {r, cat, 0};
	if ((st = csvfile_read_in(data_dir, "regimes.csv", regime_cols, 5,
	         regime_row, &lr, e)) != SPREG_OK ||
	    (st = csvfile_read_in(data_dir, "adequacy.csv", finding_cols, 11,
	         finding_row, &lf, e)) != SPREG_OK ||
	    (st = csvfile_read_in(data_dir, "lineage.csv", lineage_cols, 7,
	         lineage_row, &ll, e)) != SPREG_OK) {
		goto fail;
	}
	if (r->nregimes == 0) {
		st = err_set(e, SPREG_INVALID_ARGUMENT,
		    "%s/regimes.csv: no regime", data_dir);
		goto fail;
	}
	if (r->nfindings > 0) {
		qsort(r->findings, r->nfindings, sizeof(*r->findings),
		    cmp_finding);
	}
	if ((st = link_findings(r, data_dir, e)) != SPREG_OK) {
		goto fail;
	}
	int32_t newest = r->regimes[0].reviewed_on;
	for (size_t i = 1; i < r->nregimes; i++) {
		if (r->regimes[i].reviewed_on > newest) {
			newest = r->regimes[i].reviewed_on;
		}
	}
	date_format(newest, r->version);
	crypto_hash_sha256_init(&h);
	if ((st = hash_file(&h, data_dir, "regimes.csv", e)) != SPREG_OK ||
	    (st = hash_file(&h, data_dir, "adequacy.csv", e)) != SPREG_OK ||
	    (st = hash_file(&h, data_dir, "mechanisms.csv", e)) != SPREG_OK ||
	    (st = hash_file(&h, data_dir, "lineage.csv", e)) != SPREG_OK) {
		goto fail;
	}
	crypto_hash_sha256_final(&h, digest);
	sodium_bin2hex(r->checksum, sizeof(r->checksum), digest,
	    sizeof(digest));
	*out = r;
	return SPREG_OK;

fail:
	assess_rules_destroy(r);
	return st;
}

void
assess_rules_destroy(assess_rules *r)
{
	if (r == NULL) {
		return;
	}
	pool_fini(&r->strings);
	free(r->regimes);
	free(r->findings);
	free(r->lineage);
	free(r);
}

const char *
assess_rules_version(const assess_rules *r)
{
	return r->version;
}

const char *
assess_rules_checksum(const assess_rules *r)
{
	return r->checksum;
}

size_t
assess_regime_count(const assess_rules *r)
{
	return r->nregimes;
}

const assess_regime *
assess_regime_at(const assess_rules *r, size_t i)
{
	return i < r->nregimes ? &r->regimes[i] : NULL;
}

const assess_lineage *
assess_lineage_on(const assess_rules *r, const char *regime, int32_t day)
{
	for (size_t i = 0; i < r->nlineage; i++) {
		const assess_lineage *ln = &r->lineage[i];
		if (strcmp(ln->regime, regime) == 0 &&
		    (ln->valid_from == CATALOG_DAY_NONE ||
		        ln->valid_from <= day) && day < ln->valid_until) {
			return ln;
		}
	}
	return NULL;
}

size_t
assess_lineage_count(const assess_rules *r)
{
	return r->nlineage;
}

const assess_lineage *
assess_lineage_at(const assess_rules *r, size_t i)
{
	return i < r->nlineage ? &r->lineage[i] : NULL;
}

size_t
assess_finding_count(const assess_rules *r)
{
	return r->nfindings;
}

const assess_finding *
assess_finding_at(const assess_rules *r, size_t i)
{
	return i < r->nfindings ? &r->findings[i] : NULL;
}

const assess_finding *
assess_findings_for(const assess_rules *r, const char *regime,
    const char *country, size_t *n)
{
	size_t lo = 0, hi = r->nfindings;

	/* Lower bound of (regime, country) in the sorted array. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const assess_finding *f = &r->findings[mid];
		int c = strcmp(f->regime, regime);
		if (c == 0) {
			c = strcmp(f->country, country);
		}
		if (c < 0) {
			lo = mid + 1;
		} else {
			hi = mid;
		}
	}
	size_t end = lo;
	while (end < r->nfindings &&
	    strcmp(r->findings[end].regime, regime) == 0 &&
	    strcmp(r->findings[end].country, country) == 0) {
		end++;
	}
	*n = end - lo;
	return *n > 0 ? &r->findings[lo] : NULL;
}
