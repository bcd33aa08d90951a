#include <stdlib.h>
#include <string.h>

#include "cli/table.h"

#define ELLIPSIS "\xe2\x80\xa6"	/* U+2026, one column wide */

struct table {
	size_t ncols;
	size_t nrows;		/* the header is row 0 */
	size_t cap;
	char **cells;		/* nrows * ncols, row-major */
	bool *keep;		/* per column: never truncated */
};

/* Characters, not bytes: a UTF-8 continuation byte adds no column. */
static size_t
text_width(const char *s)
{
	size_t width = 0;

	for (; *s != '\0'; s++) {
		if (((unsigned char) *s & 0xc0) != 0x80) {
			width++;
		}
	}
	return width;
}

/* A copy of s, cut to TABLE_CELL_MAX characters unless keep. */
static char *
cell_copy(const char *s, bool keep)
{
	if (s == NULL) {
		s = "";
	}
	if (keep || text_width(s) <= TABLE_CELL_MAX) {
		return strdup(s);
	}
	/* Keep TABLE_CELL_MAX - 1 whole characters, then the ellipsis. */
	size_t bytes = 0;
	size_t chars = 0;
	while (s[bytes] != '\0') {
		if (((unsigned char) s[bytes] & 0xc0) != 0x80) {
			if (chars == TABLE_CELL_MAX - 1) {
				break;
			}
			chars++;
		}
		bytes++;
	}
	char *out = malloc(bytes + sizeof(ELLIPSIS));
	if (out == NULL) {
		return NULL;
	}
	memcpy(out, s, bytes);
	memcpy(out + bytes, ELLIPSIS, sizeof(ELLIPSIS));
	return out;
}

table *
table_create(size_t ncols, const char *const *headers)
{
	table *t = calloc(1, sizeof(*t));

	if (t == NULL) {
		return NULL;
	}
	t->ncols = ncols;
	if ((t->keep = calloc(ncols, sizeof(*t->keep))) == NULL ||
	    !table_row_add(t, headers)) {
		table_destroy(t);
		return NULL;
	}
	return t;
}

void
table_destroy(table *t)
{
	if (t == NULL) {
		return;
	}
	for (size_t i = 0; i < t->nrows * t->ncols; i++) {
		free(t->cells[i]);
	}
	free(t->cells);
	free(t->keep);
	free(t);
}

void
table_column_keep(table *t, size_t col)
{
	t->keep[col] = true;
}

bool
table_row_add(table *t, const char *const *cells)
{
	if (t->nrows == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		char **grown = realloc(t->cells,
		    cap * t->ncols * sizeof(*grown));
		if (grown == NULL) {
			return false;
		}
		t->cells = grown;
		t->cap = cap;
	}
	char **row = t->cells + t->nrows * t->ncols;
	for (size_t c = 0; c < t->ncols; c++) {
		if ((row[c] = cell_copy(cells[c], t->keep[c])) == NULL) {
			while (c-- > 0) {
				free(row[c]);
			}
			return false;
		}
	}
	t->nrows++;
	return true;
}

size_t
table_row_count(const table *t)
{
	return t->nrows - 1;
}

void
table_print(const table *t, FILE *out)
{
	size_t *widths = calloc(t->ncols, sizeof(*widths));

	if (widths == NULL) {
		return;
	}
	for (size_t r = 0; r < t->nrows; r++) {
		for (size_t c = 0; c < t->ncols; c++) {
			size_t w = text_width(t->cells[r * t->ncols + c]);
			if (w > widths[c]) {
				widths[c] = w;
			}
		}
	}
	for (size_t r = 0; r < t->nrows; r++) {
		char **row = t->cells + r * t->ncols;
		/* Pad only up to the last non-empty cell: no trailing
		 * blanks. */
		size_t last = t->ncols;
		while (last > 0 && row[last - 1][0] == '\0') {
			last--;
		}
		for (size_t c = 0; c < last; c++) {
			fputs(row[c], out);
			if (c + 1 < last) {
				size_t pad = widths[c] + 2 - text_width(row[c]);
				fprintf(out, "%*s", (int) pad, "");
			}
		}
		fputc('\n', out);
	}
	free(widths);
}
