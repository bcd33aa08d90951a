/*
 * Plain aligned text tables for the human output of the spreg command:
 * a header row in capitals, columns two spaces apart, widths computed
 * from the cells, long cells cut short with "…" when the output must
 * fit. No colours, so the output pipes cleanly into grep and awk.
 */
#ifndef CLI_TABLE_H
#define CLI_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* table_print widths: cut every cell at TABLE_CELL_MAX characters (the
 * output of a pipe, stable for scripts), or never cut. Any other width
 * is a terminal's: the widest columns are cut until a row fits. */
#define TABLE_CELL_MAX 40
#define TABLE_CUT ((size_t) 0)
#define TABLE_WIDE SIZE_MAX

typedef struct table table;

/* headers holds ncols strings (copied). NULL on OOM; caller destroys. */
table *table_create(size_t ncols, const char *const *headers);
/* NULL is fine. */
void table_destroy(table *t);

/* Never cut column col (t may be NULL: then nothing) (ids and keys must stay whole to be copied into
 * the next command). */
void table_column_keep(table *t, size_t col);

/* Leave column col out when every row's cell in it is empty (a column
 * few kinds of rows fill). t may be NULL. */
void table_column_optional(table *t, size_t col);

/* Appends a row of ncols cells (copied; NULL is an empty cell). False on
 * OOM. */
bool table_row_add(table *t, const char *const *cells);
size_t table_row_count(const table *t);

/* Writes the header and every row to out, cut to width (see above). */
void table_print(const table *t, FILE *out, size_t width);

#endif
