/*
 * Export formats: rows of the Export service (and change-log entries) as
 * CSV and JSON Lines bytes, and as the cell texts a spreadsheet gets.
 * Pure functions: no I/O, no clock, no locale, so the same rows always
 * give the same bytes.
 *
 * CSV is RFC 4180: every field quoted ('"' doubled), fields separated by
 * ',', records ended by CRLF, UTF-8, a header row first. A field that
 * begins with '=', '+', '-', '@', TAB, CR or '\'' gets a leading '\'', so
 * a spreadsheet opening the file shows text and never runs a formula.
 * The apostrophe itself is in the set so the mapping is reversible: a
 * reader gets the exact value back by dropping one leading '\'' from a
 * field that has one.
 *
 * JSON Lines: one object per row, keys in column order, no blanks, '\n'
 * after each; strings are UTF-8 as stored ('"', '\\' and control
 * characters escaped), lists are arrays, flags booleans, counts numbers.
 *
 * A spreadsheet cell gets the text of a cell exactly (lists joined by
 * "; "), written as a string, never as a formula: no neutralising needed.
 */
#ifndef EXPORT_FORMAT_H
#define EXPORT_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "spreg/v1/export.pb-c.h"
#include "spreg/v1/registry.pb-c.h"

/* A growable byte buffer; init zeroes, fini frees. */
typedef struct export_buf {
	char *data;
	size_t len, cap;
	bool failed;		/* out of memory: appends are dropped */
} export_buf;

void export_buf_init(export_buf *b);
void export_buf_fini(export_buf *b);
void export_buf_reset(export_buf *b);
void export_buf_add(export_buf *b, const void *p, size_t n);
void export_buf_adds(export_buf *b, const char *s);
/* s with each '"' doubled, as inside a quoted CSV field. */
void export_buf_add_doubled(export_buf *b, const char *s);

typedef enum export_kind {
	EXPORT_TEXT,
	EXPORT_BOOL,
	EXPORT_UINT,
	EXPORT_LIST,
} export_kind;

/* One cell of a row; the strings are borrowed from the row's message. */
typedef struct export_cell {
	export_kind kind;
	const char *text;
	bool flag;
	uint64_t number;
	char *const *items;
	size_t nitems;
} export_cell;

/* The tables: their column names, and a row's cells (cells must have
 * room for the table's column count). */
#define EXPORT_TRANSFER_NCOLS 21
#define EXPORT_PUBLIC_NCOLS 14
#define EXPORT_CHANGE_NCOLS 11
extern const char *const export_transfer_columns[EXPORT_TRANSFER_NCOLS];
extern const char *const export_public_columns[EXPORT_PUBLIC_NCOLS];
extern const char *const export_change_columns[EXPORT_CHANGE_NCOLS];

void export_transfer_cells(const Spreg__V1__TransferRecord *r,
    export_cell *cells);
void export_public_cells(const Spreg__V1__PublicSubprocessor *p,
    export_cell *cells);
void export_change_cells(const Spreg__V1__Change *ch, export_cell *c);

/* "SAFEGUARDED" for VERDICT_SAFEGUARDED; "UNSPECIFIED" when unknown. */
const char *export_verdict_name(Spreg__V1__Verdict v);

/* Does a CSV field starting with c need the leading apostrophe? */
bool export_csv_needs_guard(const char *text);
/* One field: quoted, guarded. */
void export_csv_field(export_buf *b, const char *text);
/* The header row, then rows: each ends with CRLF. */
void export_csv_header(export_buf *b, const char *const *names, size_t n);
void export_csv_row(export_buf *b, const export_cell *cells, size_t n,
    export_buf *scratch);

void export_json_string(export_buf *b, const char *text);
/* {"name":value,...}\n */
void export_json_row(export_buf *b, const char *const *names,
    const export_cell *cells, size_t n);

/* The cell as spreadsheet text into scratch (reset first); returns its
 * NUL-terminated data ("" on failure). */
const char *export_cell_text(const export_cell *c, export_buf *scratch);

#endif
