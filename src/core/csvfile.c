#include <csv.h>
#include <stdbool.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/catalog.h"
#include "core/csvfile.h"
#include "core/date.h"

typedef struct reader {
	const char *path;
	const char *const *columns;
	size_t ncolumns;
	csvfile_row_fn fn;
	void *arg;
	err *e;
	spreg_status st;
	size_t line;		/* newlines seen so far, plus one */
	size_t row_line;	/* line where the current row started */
	size_t nrows;
	char **fields;
	size_t nfields;
	size_t cap;
	size_t field_limit;
} reader;

static void
on_field(void *data, size_t len, void *p)
{
	reader *r = p;

	if (r->st != SPREG_OK) {
		return;
	}
	if (r->nfields == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 16;
		char **f = realloc(r->fields, cap * sizeof(*f));
		if (f == NULL) {
			r->st = err_oom(r->e, r->path);
			return;
		}
		r->fields = f;
		r->cap = cap;
	}
	char *s = malloc(len + 1);
	if (s == NULL) {
		r->st = err_oom(r->e, r->path);
		return;
	}
	memcpy(s, data, len);
	s[len] = '\0';
	r->fields[r->nfields++] = s;
}

static void
free_fields(reader *r)
{
	for (size_t i = 0; i < r->nfields; i++) {
		free(r->fields[i]);
	}
	r->nfields = 0;
}

static void
on_row(int term, void *p)
{
	reader *r = p;
	(void) term;

	if (r->st == SPREG_OK) {
		if (r->nrows == 0) {
			bool same = r->nfields == r->ncolumns;
			for (size_t i = 0; same && i < r->nfields; i++) {
				same = strcmp(r->fields[i], r->columns[i]) == 0;
			}
			if (!same) {
				r->st = err_set(r->e, SPREG_INVALID_ARGUMENT,
				    "%s:%zu: header does not match the expected "
				    "columns (first expected: %s)", r->path,
				    r->row_line, r->columns[0]);
			}
		} else if (r->nfields != r->ncolumns) {
			r->st = err_set(r->e, SPREG_INVALID_ARGUMENT,
			    "%s:%zu: %zu fields, expected %zu", r->path,
			    r->row_line, r->nfields, r->ncolumns);
		} else {
			csvfile_row row = {r->path, r->row_line, r->nfields,
			    r->fields};
			r->st = r->fn(r->arg, &row, r->e);
		}
		r->nrows++;
	}
	free_fields(r);
	/* Called on the row's line end, before the line count moves on. */
	r->row_line = r->line + 1;
}

spreg_status
csvfile_read(const char *path, const char *const *columns, size_t ncolumns,
    csvfile_row_fn fn, void *arg, err *e)
{
	struct csv_parser p;
	reader r = {
		.path = path, .columns = columns, .ncolumns = ncolumns,
		.fn = fn, .arg = arg, .e = e, .st = SPREG_OK, .line = 1,
		.row_line = 1,
	};
	char buf[8192];
	FILE *f;

	if ((f = fopen(path, "rb")) == NULL) {
		return err_set(e, SPREG_NOT_FOUND, "%s: %s", path,
		    strerror(errno));
	}
	if (csv_init(&p, CSV_STRICT | CSV_APPEND_NULL | CSV_STRICT_FINI) != 0) {
		fclose(f);
		return err_set(e, SPREG_RESOURCE_EXHAUSTED, "%s: csv_init",
		    path);
	}
	size_t n;
	while (r.st == SPREG_OK && (n = fread(buf, 1, sizeof(buf), f)) > 0) {
		/* Feed line by line so row_line stays exact. */
		size_t start = 0;
		for (size_t i = 0; i < n && r.st == SPREG_OK; i++) {
			if (buf[i] != '\n') {
				continue;
			}
			if (csv_parse(&p, buf + start, i + 1 - start, on_field,
			        on_row, &r) != i + 1 - start) {
				goto parse_error;
			}
			start = i + 1;
			r.line++;
		}
		if (r.st == SPREG_OK && start < n &&
		    csv_parse(&p, buf + start, n - start, on_field, on_row,
		        &r) != n - start) {
			goto parse_error;
		}
	}
	if (r.st == SPREG_OK && ferror(f)) {
		r.st = err_set(e, SPREG_INTERNAL, "%s: read error", path);
	}
	if (r.st == SPREG_OK &&
	    csv_fini(&p, on_field, on_row, &r) != 0) {
		goto parse_error;
	}
	if (r.st == SPREG_OK && r.nrows == 0) {
		r.st = err_set(e, SPREG_INVALID_ARGUMENT, "%s: empty file",
		    path);
	}
	goto done;

parse_error:
	r.st = err_set(e, SPREG_INVALID_ARGUMENT, "%s:%zu: %s", path, r.line,
	    csv_strerror(csv_error(&p)));
done:
	free_fields(&r);
	free(r.fields);
	csv_free(&p);
	fclose(f);
	return r.st;
}

spreg_status
csvfile_read_in(const char *dir, const char *file,
    const char *const *columns, size_t ncolumns, csvfile_row_fn fn,
    void *arg, err *e)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	return csvfile_read(path, columns, ncolumns, fn, arg, e);
}

spreg_status
csvfile_day(const csvfile_row *row, size_t col, const char *name,
    int32_t *day, err *e)
{
	const char *s = row->fields[col];

	if (s[0] == '\0') {
		*day = CATALOG_DAY_NONE;
		return SPREG_OK;
	}
	if (!date_parse(s, day)) {
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "%s:%zu: %s: '%.40s' is not a YYYY-MM-DD date", row->path,
		    row->line, name, s);
	}
	return SPREG_OK;
}
