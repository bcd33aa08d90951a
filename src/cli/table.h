/*
 * Plain aligned text tables for the human output of the spreg command:
 * a header row in capitals, columns two spaces apart, widths computed
 * from the cells, long cells cut short with "…". No colours, so the
 * output pipes cleanly into grep and awk.
 */
#ifndef CLI_TABLE_H
#define CLI_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Cells longer than this many characters are truncated. */
#define TABLE_CELL_MAX 40

typedef struct table table;

/* headers holds ncols strings (copied). NULL on OOM; caller destroys. */
table *table_create(size_t ncols, const char *const *headers);
/* NULL is fine. */
void table_destroy(table *t);

/* Never truncate column col (ids and keys must stay whole to be copied
 * into the next command). Call before adding rows. */
void table_column_keep(table *t, size_t col);

/* Appends a row of ncols cells (copied; NULL is an empty cell). False on
 * OOM. */
bool table_row_add(table *t, const char *const *cells);
size_t table_row_count(const table *t);

/* Writes the header and every row to out. */
void table_print(const table *t, FILE *out);

#endif
