/*
 * Vendor files other than the API's own form, both ways: the import CSV
 * (one row per vendor and location) and Fides data maps (fideslang
 * "system" YAML). Reading gives each vendor in the API's JSON form (the
 * form 'spreg put' reads) with the line it starts on, and lists every
 * problem and every field that could not be mapped, with its line.
 * Writing gives the rows or systems of stored vendors, so that reading
 * them back gives the same vendors.
 *
 * The mapping of each field lives here and nowhere else: a new field
 * of the model is a column of vmap_csv_columns and a line in each
 * direction of the Fides mapping.
 */
#ifndef CLI_VENDORMAP_H
#define CLI_VENDORMAP_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "core/pbjson.h"
#include "export/format.h"
#include "spreg/v1/registry.pb-c.h"

/* One vendor read from a file. */
typedef struct vmap_item {
	json_t *json;		/* the API's JSON form; owned */
	size_t line;		/* where it starts (0: unknown) */
	size_t *location_lines;	/* of each locations[] entry, or NULL */
	size_t nlocation_lines;
} vmap_item;

/* A file being read: its vendors, its problems (any one stops the
 * import) and notes (what was mapped otherwise, or not at all). */
typedef struct vmap_file {
	const char *name;	/* as messages name it */
	vmap_item *items;
	size_t n, cap;
	char **problems;
	size_t nproblems, capproblems;
	char **notes;
	size_t nnotes, capnotes;
	bool oom;
} vmap_file;

/* The data category keys the server knows, sorted (strcmp). */
typedef struct vmap_taxonomy {
	char **keys;
	size_t n;
} vmap_taxonomy;

void vmap_file_init(vmap_file *f, const char *name);
void vmap_file_fini(vmap_file *f);
/* "NAME:LINE: text" (line 0: "NAME: text"). */
void vmap_problem(vmap_file *f, size_t line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void vmap_note(vmap_file *f, size_t line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The line of an item's field named by a message of the server or of
 * pbjson ("locations[1].country: ..."): that location's, else the
 * item's. */
size_t vmap_item_line_for(const vmap_item *it, const char *message);

/*
 * Readers; each adds to f. text is the whole file (NUL-terminated).
 * vmap_read_structured takes JSON (json true) or YAML: a list of
 * vendors in the API's form (a JSON array, a YAML list or a stream of
 * YAML documents, one vendor each), or a Fides data map (a mapping with
 * a "system" list). tax checks every data category key (and maps
 * fideslang's renamed keys in a Fides file).
 */
void vmap_read_structured(vmap_file *f, const char *text, size_t len,
    bool json, const vmap_taxonomy *tax);
void vmap_read_csv(vmap_file *f, const char *text, size_t len,
    const vmap_taxonomy *tax);

/* The import CSV's columns, in the order written. */
#define VMAP_CSV_NCOLS 21
extern const char *const vmap_csv_columns[VMAP_CSV_NCOLS];
/* What each column holds, for --csv-template. */
extern const char *const vmap_csv_help[VMAP_CSV_NCOLS];
/* The rows of sp (RFC 4180 with CRLF, as format.h writes them): one
 * per location, or one with no country when it has none. */
void vmap_csv_rows(export_buf *b, const Spreg__V1__Subprocessor *sp,
    export_buf *scratch);
/* sp as one Fides system (a new object; NULL on OOM). */
json_t *vmap_fides_system(const Spreg__V1__Subprocessor *sp);

#endif
