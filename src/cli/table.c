#include <stdlib.h>
#include <string.h>

#include "cli/table.h"

#define ELLIPSIS "\xe2\x80\xa6"	/* U+2026, one column wide */
#define FIT_MIN 12		/* a terminal never cuts a column below */

struct table {
	size_t ncols;
	size_t nrows;		/* the header is row 0 */
	size_t cap;
	char **cells;		/* nrows * ncols, row-major, whole */
	bool *keep;		/* per column: never cut */
	bool *optional;		/* per column: left out when empty */
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

table *
table_create(size_t ncols, const char *const *headers)
{
	table *t = calloc(1, sizeof(*t));

	if (t == NULL) {
		return NULL;
	}
	t->ncols = ncols;
	if ((t->keep = calloc(ncols, sizeof(*t->keep))) == NULL ||
	    (t->optional = calloc(ncols, sizeof(*t->optional))) == NULL ||
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
	free(t->optional);
	free(t);
}

void
table_column_keep(table *t, size_t col)
{
	if (t != NULL) {
		t->keep[col] = true;
	}
}

void
table_column_optional(table *t, size_t col)
{
	if (t != NULL) {
		t->optional[col] = true;
	}
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
		if ((row[c] = strdup(cells[c] ? cells[c] : "")) == NULL) {
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

/* Writes s cut to max characters: max - 1 of them and the ellipsis. */
static void
put_cut(const char *s, size_t max, FILE *out)
{
	size_t bytes = 0, chars = 0;

	if (text_width(s) <= max) {
		fputs(s, out);
		return;
	}
	while (s[bytes] != '\0') {
		if (((unsigned char) s[bytes] & 0xc0) != 0x80) {
			if (chars + 1 == max) {
				break;
			}
			chars++;
		}
		bytes++;
	}
	fwrite(s, 1, bytes, out);
	fputs(ELLIPSIS, out);
}

/* Narrows the widest columns that may be cut until a row fits width. */
static void
fit(const table *t, size_t *widths, size_t width)
{
	for (;;) {
		size_t total = 0, widest = t->ncols;
		for (size_t c = 0; c < t->ncols; c++) {
			total += widths[c] + (widths[c] > 0 ? 2 : 0);
			if (!t->keep[c] && widths[c] > FIT_MIN &&
			    (widest == t->ncols || widths[c] > widths[widest])) {
				widest = c;
			}
		}
		if (total <= width || widest == t->ncols) {
			return;
		}
		widths[widest]--;
	}
}

void
table_print(const table *t, FILE *out, size_t width)
{
	size_t *widths = calloc(t->ncols, sizeof(*widths));

	if (widths == NULL) {
		return;
	}
	for (size_t c = 0; c < t->ncols; c++) {
		bool used = !t->optional[c];
		for (size_t r = 0; r < t->nrows; r++) {
			const char *cell = t->cells[r * t->ncols + c];
			size_t w = text_width(cell);
			if (w > widths[c]) {
				widths[c] = w;
			}
			used = used || (r > 0 && cell[0] != '\0');
		}
		if (!used) {
			widths[c] = 0;	/* left out */
		}
	}
	for (size_t c = 0; c < t->ncols; c++) {
		if (width == TABLE_CUT && !t->keep[c] &&
		    widths[c] > TABLE_CELL_MAX) {
			widths[c] = TABLE_CELL_MAX;
		}
	}
	if (width != TABLE_CUT && width != TABLE_WIDE) {
		fit(t, widths, width);
	}
	for (size_t r = 0; r < t->nrows; r++) {
		char **row = t->cells + r * t->ncols;
		/* Pad only up to the last non-empty cell: no trailing
		 * blanks. */
		size_t last = t->ncols;
		while (last > 0 &&
		    (row[last - 1][0] == '\0' || widths[last - 1] == 0)) {
			last--;
		}
		for (size_t c = 0; c < last; c++) {
			if (widths[c] == 0) {
				continue;
			}
			put_cut(row[c], widths[c], out);
			if (c + 1 < last) {
				size_t w = text_width(row[c]);
				size_t pad = widths[c] + 2 -
				    (w < widths[c] ? w : widths[c]);
				fprintf(out, "%*s", (int) pad, "");
			}
		}
		fputc('\n', out);
	}
	free(widths);
}
