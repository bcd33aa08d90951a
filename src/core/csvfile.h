/*
 * Reading the CSV files of data/ with libcsv (RFC 4180 quoting handled by
 * a library rather than by us). Rows come back with their line number so
 * errors can name the line and field at fault.
 */
#ifndef CORE_CSVFILE_H
#define CORE_CSVFILE_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

typedef struct csvfile_row {
	const char *path;	/* the file, for messages */
	size_t line;		/* 1-based line where the row starts */
	size_t nfields;
	char **fields;		/* valid during the callback only */
} csvfile_row;

/*
 * Called for each row after the header. The header must equal the
 * columns given (same names, same order); returning non-OK stops the
 * read and that status is returned.
 */
typedef spreg_status (*csvfile_row_fn)(void *arg, const csvfile_row *row,
    err *e);

spreg_status csvfile_read(const char *path, const char *const *columns,
    size_t ncolumns, csvfile_row_fn fn, void *arg, err *e);
/* The same for file in the folder dir (data/, or --reference). */
spreg_status csvfile_read_in(const char *dir, const char *file,
    const char *const *columns, size_t ncolumns, csvfile_row_fn fn,
    void *arg, err *e);

/* Field col, named name in messages, as a day: YYYY-MM-DD, or
 * CATALOG_DAY_NONE when empty. */
spreg_status csvfile_day(const csvfile_row *row, size_t col,
    const char *name, int32_t *day, err *e);

#endif
