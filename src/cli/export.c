/*
 * spreg export: pages through the Export service and writes the rows as
 * CSV, JSON Lines or XLSX (src/export/format.h has the byte formats).
 *
 * Files are written under a temporary name in the output's folder and
 * renamed into place only when complete, with the metadata next to them
 * in FILE.meta.json (generated_at lives there, not in the rows file, so
 * the rows file is byte-identical for the same as_of and seq). The
 * metadata's sha256 is that of the rows file's bytes; for xlsx, that of
 * the CSV form of the main sheet (the same digest a CSV export of the
 * same rows carries). Its log_head_hash is the change log's hash at
 * at_seq, spelled as spreg verify prints its head, so a reader can tie
 * the file to a verified log.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>
#include <xlsxwriter.h>

#include "cli/commands.h"
#include "cli/vendormap.h"
#include "cli/yaml.h"
#include "export/format.h"
#include "spreg/client.h"
#include "spreg/v1/export.pb-c.h"

#define METHOD_TRANSFERS "spreg.v1.Export/ExportTransfers"
#define METHOD_PUBLIC "spreg.v1.Export/ExportSubprocessors"
#define METHOD_CHANGES "spreg.v1.Registry/ListChanges"
#define XLSX_ROWS_MAX 1048576	/* rows of a worksheet, header included */
#define PATH_BUF 4096

typedef enum format {
	FORMAT_CSV,
	FORMAT_JSONL,
	FORMAT_XLSX,
	FORMAT_REGISTRY_CSV,	/* the vendors, as 'spreg import' reads them */
	FORMAT_FIDES,
} format;

static const char *const format_names[] = {"csv", "jsonl", "xlsx",
    "registry-csv", "fides"};

typedef struct options {
	format fmt;
	const char *as_of;
	const char *customer;
	const char *regime;
	const char *output;
	bool subprocessors;
	Spreg__V1__ExportFilter filter;
	uint32_t page_size;
} options;

/* ---- temporary files, removed on failure or a signal ---- */

static char temp_rows[PATH_BUF], temp_meta[PATH_BUF];

static void
on_signal(int sig)
{
	if (temp_rows[0] != '\0') {
		unlink(temp_rows);
	}
	if (temp_meta[0] != '\0') {
		unlink(temp_meta);
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

static void
temps_remove(void)
{
	if (temp_rows[0] != '\0') {
		unlink(temp_rows);
		temp_rows[0] = '\0';
	}
	if (temp_meta[0] != '\0') {
		unlink(temp_meta);
		temp_meta[0] = '\0';
	}
}

/* Creates "PATH.tmp-XXXXXX" next to path; its name goes to buf. */
static int
temp_create(const char *path, char *buf)
{
	if (snprintf(buf, PATH_BUF, "%s.tmp-XXXXXX", path) >= PATH_BUF) {
		errno = ENAMETOOLONG;
		buf[0] = '\0';
		return -1;
	}
	int fd = mkstemp(buf);
	if (fd < 0) {
		buf[0] = '\0';
	}
	return fd;
}

/* ---- writing rows ---- */

typedef struct writer {
	format fmt;
	FILE *f;		/* csv, jsonl */
	lxw_workbook *wb;	/* xlsx */
	lxw_worksheet *ws;
	lxw_format *header_fmt;
	uint32_t ncols;
	uint32_t sheet_rows;	/* rows of the current sheet, header too */
	bool main_sheet;	/* rows of the sheet count and are hashed */
	export_buf line, scratch;
	crypto_hash_sha256_state sha;
	uint64_t rows;
	bool progress;
	const char *error;	/* the first failure */
} writer;

static void
writer_fail(writer *w, const char *what)
{
	if (w->error == NULL) {
		w->error = what;
	}
}

static void
hash_line(writer *w)
{
	crypto_hash_sha256_update(&w->sha, (const unsigned char *) w->line.data,
	    w->line.len);
}

static void
put_line(writer *w)
{
	if (w->line.failed) {
		writer_fail(w, "out of memory");
		return;
	}
	if (w->f != NULL && fwrite(w->line.data, 1, w->line.len, w->f) !=
	    w->line.len) {
		writer_fail(w, strerror(errno));
	}
}

static void
xlsx_cell(writer *w, uint32_t col, const char *s, lxw_format *fmt)
{
	/* Always a string cell: no text is ever read as a formula. */
	if (worksheet_write_string(w->ws, w->sheet_rows, (lxw_col_t) col, s,
	        fmt) != LXW_NO_ERROR) {
		writer_fail(w, "xlsx: a cell could not be written");
	}
}

/* Starts a sheet (xlsx) or the file (csv, jsonl) with its header. */
static void
writer_table(writer *w, const char *sheet, const char *const *names,
    uint32_t ncols, bool main_sheet)
{
	w->ncols = ncols;
	w->main_sheet = main_sheet;
	w->sheet_rows = 0;
	if (main_sheet && w->fmt != FORMAT_JSONL) {
		export_buf_reset(&w->line);
		export_csv_header(&w->line, names, ncols);
		hash_line(w);
		if (w->fmt == FORMAT_CSV) {
			put_line(w);
		}
	}
	if (w->fmt != FORMAT_XLSX) {
		return;
	}
	if ((w->ws = workbook_add_worksheet(w->wb, sheet)) == NULL) {
		writer_fail(w, "xlsx: cannot add a sheet");
		return;
	}
	for (uint32_t i = 0; i < ncols; i++) {
		xlsx_cell(w, i, names[i], w->header_fmt);
		worksheet_set_column(w->ws, (lxw_col_t) i, (lxw_col_t) i, 18,
		    NULL);
	}
	worksheet_freeze_panes(w->ws, 1, 0);
	w->sheet_rows = 1;
}

/* After the last row of a sheet: filters over header and rows. */
static void
writer_table_end(writer *w)
{
	if (w->fmt == FORMAT_XLSX && w->ws != NULL && w->ncols > 0) {
		worksheet_autofilter(w->ws, 0, 0,
		    w->sheet_rows > 1 ? w->sheet_rows - 1 : 0,
		    (lxw_col_t) (w->ncols - 1));
	}
}

static void
writer_row(writer *w, const char *const *names, const export_cell *cells)
{
	if (w->error != NULL) {
		return;
	}
	if (w->main_sheet) {
		/* The rows file's bytes; for xlsx the CSV form, hashed only. */
		export_buf_reset(&w->line);
		if (w->fmt == FORMAT_JSONL) {
			export_json_row(&w->line, names, cells, w->ncols);
		} else {
			export_csv_row(&w->line, cells, w->ncols, &w->scratch);
		}
		hash_line(w);
		if (w->fmt != FORMAT_XLSX) {
			put_line(w);
		}
		w->rows++;
	}
	if (w->fmt == FORMAT_XLSX) {
		if (w->sheet_rows >= XLSX_ROWS_MAX) {
			writer_fail(w, "xlsx: more rows than a worksheet holds "
			    "(1048575); export csv or jsonl instead");
			return;
		}
		for (uint32_t i = 0; i < w->ncols; i++) {
			xlsx_cell(w, i, export_cell_text(&cells[i], &w->scratch),
			    NULL);
		}
		w->sheet_rows++;
	}
}

static void
progress(const writer *w, bool done)
{
	if (w->progress) {
		fprintf(stderr, "\rexported %" PRIu64 " rows%s", w->rows,
		    done ? "\n" : "");
	}
}

/* The metadata of the first page, kept (copied) for the whole export. */
typedef struct meta {
	char *as_of, *regime, *customer, *rules_version, *rules_checksum,
	    *generated_at, *server_version;
	uint64_t at_seq;
	/* The log's head hash at at_seq, lowercase hex as spreg verify
	 * prints it; "" for an empty log. */
	char head_hash[2 * 32 + 1];
} meta;

static char *
dup_or_empty(const char *s)
{
	return strdup(s != NULL ? s : "");
}

static bool
meta_keep(meta *m, const Spreg__V1__ExportMetadata *pm)
{
	if (pm == NULL) {
		return false;
	}
	m->as_of = dup_or_empty(pm->as_of);
	m->regime = dup_or_empty(pm->regime);
	m->customer = dup_or_empty(pm->customer);
	m->rules_version = dup_or_empty(pm->rules_version);
	m->rules_checksum = dup_or_empty(pm->rules_checksum);
	m->generated_at = dup_or_empty(pm->generated_at);
	m->server_version = dup_or_empty(pm->server_version);
	m->at_seq = pm->at_seq;
	m->head_hash[0] = '\0';
	if (pm->head_hash.len * 2 < sizeof(m->head_hash)) {
		sodium_bin2hex(m->head_hash, sizeof(m->head_hash),
		    pm->head_hash.data, pm->head_hash.len);
	}
	return m->as_of && m->regime && m->customer && m->rules_version &&
	    m->rules_checksum && m->generated_at && m->server_version;
}

static void
meta_fini(meta *m)
{
	free(m->as_of);
	free(m->regime);
	free(m->customer);
	free(m->rules_version);
	free(m->rules_checksum);
	free(m->generated_at);
	free(m->server_version);
}

static int
write_failed(const writer *w, const options *o)
{
	fprintf(stderr, "spreg: %s: %s\n", o->output ? o->output :
	    "standard output", w->error);
	return CLI_EXIT_USAGE;
}

/* Pages through ExportTransfers. With want_seq (xlsx sheets after the
 * first) the export must reflect that seq. */
static int
run_transfers(cli *c, const options *o, writer *w, meta *m)
{
	Spreg__V1__ExportTransfersRequest req =
	    SPREG__V1__EXPORT_TRANSFERS_REQUEST__INIT;
	export_cell cells[EXPORT_TRANSFER_NCOLS];
	char *cursor = NULL;
	int rc = 0;

	req.filter = (Spreg__V1__ExportFilter *) &o->filter;
	req.regime = (char *) (o->regime ? o->regime : "");
	req.customer = (char *) (o->customer ? o->customer : "");
	req.as_of = (char *) (o->as_of ? o->as_of : "");
	req.page_size = o->page_size;
	for (bool first = true;; first = false) {
		Spreg__V1__ExportTransfersResponse *resp;
		req.cursor = cursor != NULL ? cursor : "";
		if ((rc = cli_call(c, METHOD_TRANSFERS, &req.base,
		         &spreg__v1__export_transfers_response__descriptor,
		         (ProtobufCMessage **) &resp)) != 0) {
			break;
		}
		if (first && !meta_keep(m, resp->metadata)) {
			spreg_message_free(&resp->base);
			rc = cli_out_of_memory();
			break;
		}
		if (first) {	/* nothing is written before a page is */
			writer_table(w, "transfers", export_transfer_columns,
			    EXPORT_TRANSFER_NCOLS, true);
		}
		for (size_t i = 0; i < resp->n_records; i++) {
			export_transfer_cells(resp->records[i], cells);
			writer_row(w, export_transfer_columns, cells);
		}
		progress(w, false);
		free(cursor);
		cursor = resp->next_cursor[0] ? strdup(resp->next_cursor) : NULL;
		bool last = resp->next_cursor[0] == '\0';
		spreg_message_free(&resp->base);
		if (w->error != NULL) {
			rc = write_failed(w, o);
			break;
		}
		if (last) {
			break;
		}
		if (cursor == NULL) {
			rc = cli_out_of_memory();
			break;
		}
	}
	free(cursor);
	writer_table_end(w);
	return rc;
}

/* Pages through ExportSubprocessors; main_sheet: the rows are the
 * export's (else a further xlsx sheet at m->at_seq). */
static int
run_public(cli *c, const options *o, writer *w, meta *m,
    bool main_sheet)
{
	Spreg__V1__ExportSubprocessorsRequest req =
	    SPREG__V1__EXPORT_SUBPROCESSORS_REQUEST__INIT;
	export_cell cells[EXPORT_PUBLIC_NCOLS];
	char *cursor = NULL;
	int rc = 0;

	req.filter = (Spreg__V1__ExportFilter *) &o->filter;
	req.customer = (char *) (o->customer ? o->customer : "");
	req.as_of = (char *) (main_sheet ? (o->as_of ? o->as_of : "") :
	                                   m->as_of);
	req.at_seq = main_sheet ? 0 : m->at_seq;
	req.page_size = o->page_size;
	for (bool first = true;; first = false) {
		Spreg__V1__ExportSubprocessorsResponse *resp;
		req.cursor = cursor != NULL ? cursor : "";
		if ((rc = cli_call(c, METHOD_PUBLIC, &req.base,
		         &spreg__v1__export_subprocessors_response__descriptor,
		         (ProtobufCMessage **) &resp)) != 0) {
			break;
		}
		if (first && main_sheet && !meta_keep(m, resp->metadata)) {
			spreg_message_free(&resp->base);
			rc = cli_out_of_memory();
			break;
		}
		if (first) {
			writer_table(w, "subprocessors", export_public_columns,
			    EXPORT_PUBLIC_NCOLS, main_sheet);
		}
		for (size_t i = 0; i < resp->n_subprocessors; i++) {
			export_public_cells(resp->subprocessors[i], cells);
			writer_row(w, export_public_columns, cells);
		}
		if (main_sheet) {
			progress(w, false);
		}
		free(cursor);
		cursor = resp->next_cursor[0] ? strdup(resp->next_cursor) : NULL;
		bool last = resp->next_cursor[0] == '\0';
		spreg_message_free(&resp->base);
		if (w->error != NULL) {
			rc = write_failed(w, o);
			break;
		}
		if (last) {
			break;
		}
		if (cursor == NULL) {
			rc = cli_out_of_memory();
			break;
		}
	}
	free(cursor);
	writer_table_end(w);
	return rc;
}

/* The change log up to m->at_seq (a customer's changes with --customer):
 * the xlsx "changes" sheet. */
static int
run_changes(cli *c, const options *o, writer *w, const meta *m)
{
	Spreg__V1__ListChangesRequest req = SPREG__V1__LIST_CHANGES_REQUEST__INIT;
	export_cell cells[EXPORT_CHANGE_NCOLS];
	int rc = 0;

	req.limit = cli_page_size(c);
	req.customer_id = (char *) (o->customer ? o->customer : "");
	writer_table(w, "changes", export_change_columns, EXPORT_CHANGE_NCOLS,
	    false);
	while (req.since_seq < m->at_seq) {
		Spreg__V1__ListChangesResponse *resp;
		if ((rc = cli_call(c, METHOD_CHANGES, &req.base,
		         &spreg__v1__list_changes_response__descriptor,
		         (ProtobufCMessage **) &resp)) != 0) {
			break;
		}
		for (size_t i = 0; i < resp->n_changes; i++) {
			if (resp->changes[i]->seq > m->at_seq) {
				break;
			}
			export_change_cells(resp->changes[i], cells);
			writer_row(w, export_change_columns, cells);
		}
		uint64_t next = resp->next_since_seq;
		spreg_message_free(&resp->base);
		if (w->error != NULL) {
			rc = write_failed(w, o);
			break;
		}
		if (next <= req.since_seq) {
			break;	/* the log ends before at_seq */
		}
		req.since_seq = next;
	}
	writer_table_end(w);
	return rc;
}

/* ---- metadata ---- */

static json_t *
meta_json(const options *o, const meta *m, const writer *w,
    const char *digest)
{
	json_t *cols = json_array();
	const char *const *names = o->subprocessors ? export_public_columns :
	                                              export_transfer_columns;
	size_t n = o->subprocessors ? EXPORT_PUBLIC_NCOLS :
	                              EXPORT_TRANSFER_NCOLS;

	for (size_t i = 0; cols != NULL && i < n; i++) {
		json_array_append_new(cols, json_string(names[i]));
	}
	return json_pack("{s:s, s:s, s:s, s:s, s:I, s:s, s:s, s:s, s:{s:s, "
	                 "s:s, s:s, s:s}, s:s, s:s, s:s, s:I, s:s, s:s, s:o*}",
	    "kind", o->subprocessors ? "subprocessors" : "transfers",
	    "format", format_names[o->fmt],
	    "generated_at", m->generated_at,
	    "as_of", m->as_of,
	    "at_seq", (json_int_t) m->at_seq,
	    "log_head_hash", m->head_hash,
	    "regime", o->subprocessors ? "" : m->regime,
	    "customer", m->customer,
	    "filter",
	    "data_category", o->filter.data_category,
	    "country", o->filter.country,
	    "mechanism", o->filter.mechanism,
	    "service", o->filter.service,
	    "rules_version", m->rules_version,
	    "rules_checksum", m->rules_checksum,
	    "server_version", m->server_version,
	    "rows", (json_int_t) w->rows,
	    "sha256", digest,
	    "sha256_of", o->fmt == FORMAT_XLSX ?
	        "the CSV form of the main sheet (as a csv export writes it)" :
	        "the bytes of the rows file",
	    "columns", cols);
}

/* The xlsx "metadata" sheet and document properties. */
static void
xlsx_meta(writer *w, json_t *mj)
{
	static const char *const names[] = {"key", "value"};
	const char *key;
	json_t *value;

	writer_table(w, "metadata", names, 2, false);
	json_object_foreach(mj, key, value) {
		char *text = json_is_string(value) ?
		    strdup(json_string_value(value)) :
		    json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
		export_cell cells[2] = {
			{.kind = EXPORT_TEXT, .text = key},
			{.kind = EXPORT_TEXT, .text = text ? text : ""},
		};
		writer_row(w, names, cells);
		free(text);
	}
	writer_table_end(w);
}

static bool
write_meta_file(const options *o, json_t *mj)
{
	char path[PATH_BUF];

	if (snprintf(path, sizeof(path), "%s.meta.json", o->output) >=
	    (int) sizeof(path)) {
		errno = ENAMETOOLONG;
		return false;
	}
	int fd = temp_create(path, temp_meta);
	if (fd < 0) {
		return false;
	}
	FILE *f = fdopen(fd, "w");
	if (f == NULL) {
		close(fd);
		return false;
	}
	bool ok = json_dumpf(mj, f, JSON_INDENT(2)) == 0 &&
	    fputc('\n', f) != EOF;
	ok = fclose(f) == 0 && ok;
	return ok;
}

/* Renames the temporary files into place. */
static bool
commit_files(const options *o)
{
	char path[PATH_BUF];

	snprintf(path, sizeof(path), "%s.meta.json", o->output);
	if (rename(temp_rows, o->output) != 0) {
		return false;
	}
	temp_rows[0] = '\0';
	if (rename(temp_meta, path) != 0) {
		return false;
	}
	temp_meta[0] = '\0';
	return true;
}

/* ---- the vendors themselves: registry-csv and fides ---- */

typedef struct registry_walk {
	format fmt;
	FILE *f;
	export_buf line, scratch;
	json_t *systems;	/* fides */
	bool failed;
} registry_walk;

static int
registry_page(void *ctx, const ProtobufCMessage *msg)
{
	registry_walk *w = ctx;
	const Spreg__V1__ListSubprocessorsResponse *resp = (const void *) msg;

	for (size_t i = 0; i < resp->n_subprocessors; i++) {
		const Spreg__V1__Subprocessor *sp = resp->subprocessors[i];
		if (w->fmt == FORMAT_FIDES) {
			json_t *sys = vmap_fides_system(sp);
			if (sys == NULL ||
			    json_array_append_new(w->systems, sys) != 0) {
				return cli_out_of_memory();
			}
			continue;
		}
		export_buf_reset(&w->line);
		vmap_csv_rows(&w->line, sp, &w->scratch);
		if (w->line.failed) {
			return cli_out_of_memory();
		}
		if (fwrite(w->line.data, 1, w->line.len, w->f) != w->line.len) {
			w->failed = true;
		}
	}
	return 0;
}

/* ListSubprocessors, every page, with the filters and as-of given;
 * written to --output (through a temporary file) or stdout. */
static int
run_registry(cli *c, const options *o)
{
	Spreg__V1__ListSubprocessorsRequest req =
	    SPREG__V1__LIST_SUBPROCESSORS_REQUEST__INIT;
	registry_walk w = {.fmt = o->fmt, .f = stdout};
	int rc;

	export_buf_init(&w.line);
	export_buf_init(&w.scratch);
	req.data_category = o->filter.data_category;
	req.country = o->filter.country;
	req.mechanism = o->filter.mechanism;
	req.service = o->filter.service;
	req.customer = (char *) (o->customer ? o->customer : "");
	req.as_of = (char *) (o->as_of ? o->as_of : "");
	if (o->output != NULL) {
		int fd = temp_create(o->output, temp_rows);
		if (fd < 0 || (w.f = fdopen(fd, "w")) == NULL) {
			fprintf(stderr, "spreg: --output %s: cannot create a "
			    "file there: %s\n", o->output, strerror(errno));
			if (fd >= 0) {
				close(fd);
			}
			rc = CLI_EXIT_USAGE;
			goto out;
		}
	}
	if (o->fmt == FORMAT_FIDES && (w.systems = json_array()) == NULL) {
		rc = cli_out_of_memory();
		goto out;
	}
	if (o->fmt == FORMAT_REGISTRY_CSV) {
		export_csv_header(&w.line, vmap_csv_columns, VMAP_CSV_NCOLS);
		w.failed = fwrite(w.line.data, 1, w.line.len, w.f) != w.line.len;
	}
	if ((rc = cli_pages(c, "ListSubprocessors", &req.base,
	         &spreg__v1__list_subprocessors_response__descriptor,
	         o->page_size, registry_page, &w)) != 0) {
		goto out;
	}
	if (o->fmt == FORMAT_FIDES) {
		json_t *doc = json_pack("{s:O}", "system", w.systems);
		w.failed = doc == NULL || !cli_yaml_write_json(doc, w.f);
		json_decref(doc);
	}
	w.failed = fflush(w.f) != 0 || ferror(w.f) || w.failed;
	if (w.f != stdout) {
		w.failed = fsync(fileno(w.f)) != 0 || w.failed;
		w.failed = fclose(w.f) != 0 || w.failed;
		w.f = NULL;
		w.failed = w.failed || rename(temp_rows, o->output) != 0;
		if (!w.failed) {
			temp_rows[0] = '\0';
		}
	}
	if (w.failed) {
		fprintf(stderr, "spreg: %s: %s\n", o->output ? o->output :
		    "standard output", strerror(errno));
		rc = CLI_EXIT_USAGE;
	}
out:
	if (w.f != NULL && w.f != stdout) {
		fclose(w.f);
	}
	temps_remove();
	json_decref(w.systems);
	export_buf_fini(&w.line);
	export_buf_fini(&w.scratch);
	return rc;
}

/* ---- the command ---- */

static const cli_option export_options[] = {
	{"format", CLI_TEXT, "F",
	    "csv (default; RFC 4180, CRLF, UTF-8), jsonl (one\n"
	    "JSON object per line) or xlsx (sheets transfers,\n"
	    "subprocessors, changes, metadata; needs --output);\n"
	    "or the vendors themselves, as 'spreg import' reads\n"
	    "them: registry-csv (the import CSV) or fides (a\n"
	    "Fides data map, fideslang system YAML)", 0, 0},
	{"as-of", CLI_TEXT, "WHEN",
	    "a date (YYYY-MM-DD; default: the server's today)\n"
	    "or a moment (RFC 3339), as for 'list --as-of'", 0, 0},
	{"customer", CLI_TEXT, "ID",
	    "the vendors of customer ID's services, judged\n"
	    "under its regime", 0, 0},
	{"regime", CLI_UPPER, "R", "EU (default), UK or CH", 0, 0},
	{"output", CLI_TEXT, "FILE",
	    "write FILE (through a temporary file renamed\n"
	    "into place, so no partial file is left) and its\n"
	    "metadata to FILE.meta.json; default: stdout", 0, 0},
	{"subprocessors", CLI_FLAG, NULL,
	    "the public subprocessor list (name, purpose,\n"
	    "countries, data categories, safeguards) instead\n"
	    "of the transfer records", 0, 0},
	{"category", CLI_TEXT, "K", "only vendors matching, as in 'list'",
	    0, 0},
	{"country", CLI_COUNTRY, "CC", "only vendors matching, as in 'list'",
	    0, 0},
	{"mechanism", CLI_TEXT, "M", "only vendors matching, as in 'list'",
	    0, 0},
	{"service", CLI_TEXT, "S", "only vendors matching, as in 'list'", 0,
	    0},
	{"page-size", CLI_NUMBER, "N",
	    "vendors per request (default: the server's);\n"
	    "the output does not depend on it", 1, UINT32_MAX},
	{NULL, CLI_FLAG, NULL, NULL, 0, 0},
};

static const cli_spec export_spec = {export_options, 0, 0,
    "One row per subprocessor x country x data category, ordered by\n"
    "them, with the safeguard and the assessment verdict (a vendor with\n"
    "data categories but no location included, with the verdict the\n"
    "server gives it). Every page reflects the change log at one seq (in\n"
    "the metadata): the same --as-of at the same seq gives\n"
    "byte-identical CSV and JSON Lines. CSV cells starting with = + - @ '\n"
    "TAB or CR get a leading ' so no spreadsheet runs them; drop it to\n"
    "read the value. Progress goes to stderr when it is a terminal. The\n"
    "format, not --json, says how rows are written.\n"
    "\nregistry-csv and fides write the vendors themselves (every field,\n"
    "paged by ListSubprocessors with the filters and --as-of, no\n"
    "metadata file), as 'spreg import' reads them back.\n"};

/* The command line into o; returns CLI_CONTINUE or the exit code. */
static int
parse(cli *c, options *o)
{
	const char *fmt;
	int rc;

	if ((rc = cli_parse(c, &export_spec)) != CLI_CONTINUE) {
		return rc;
	}
	o->fmt = FORMAT_CSV;
	if ((fmt = cli_opt(c, "format")) != NULL) {
		size_t i = 0;
		while (i <= FORMAT_FIDES && strcmp(fmt, format_names[i]) != 0) {
			i++;
		}
		if (i > FORMAT_FIDES) {
			return cli_usage_error(c, "--format: '%s' is not csv, "
			    "jsonl, xlsx, registry-csv or fides", fmt);
		}
		o->fmt = (format) i;
	}
	o->as_of = cli_opt(c, "as-of");
	o->customer = cli_opt(c, "customer");
	o->regime = cli_opt(c, "regime");
	o->output = cli_opt(c, "output");
	o->subprocessors = cli_flag(c, "subprocessors");
	o->filter.data_category = cli_text(c, "category");
	o->filter.country = cli_text(c, "country");
	o->filter.mechanism = cli_text(c, "mechanism");
	o->filter.service = cli_text(c, "service");
	o->page_size = (uint32_t) cli_opt_u64(c, "page-size", 0);
	if (o->customer != NULL && o->regime != NULL) {
		return cli_usage_error(c, "--regime: give --customer or "
		                          "--regime, not both");
	}
	if (o->subprocessors && o->regime != NULL) {
		return cli_usage_error(c, "--regime: the public list is not "
		                          "per regime");
	}
	if (o->fmt >= FORMAT_REGISTRY_CSV &&
	    (o->subprocessors || o->regime != NULL)) {
		return cli_usage_error(c, "--format: %s writes the vendors "
		    "themselves: no --subprocessors or --regime",
		    format_names[o->fmt]);
	}
	if (o->fmt == FORMAT_XLSX && o->output == NULL) {
		return cli_usage_error(c, "--format: xlsx needs --output FILE");
	}
	if (o->output != NULL && o->output[0] == '\0') {
		return cli_usage_error(c, "--output: an empty file name");
	}
	return CLI_CONTINUE;
}

/* Opens the rows file (a temporary name) or stdout. */
static int
open_output(const options *o, writer *w)
{
	if (o->output == NULL) {
		w->f = stdout;
		return 0;
	}
	int fd = temp_create(o->output, temp_rows);
	if (fd < 0) {
		fprintf(stderr, "spreg: --output %s: cannot create a file "
		    "there: %s\n", o->output, strerror(errno));
		return CLI_EXIT_USAGE;
	}
	if (o->fmt == FORMAT_XLSX) {
		close(fd);	/* libxlsxwriter writes the name at close */
		lxw_workbook_options wo = {.constant_memory = LXW_TRUE,
		    .tmpdir = NULL, .use_zip64 = LXW_TRUE};
		if ((w->wb = workbook_new_opt(temp_rows, &wo)) == NULL) {
			fprintf(stderr, "spreg: --output %s: cannot start a "
			    "workbook\n", o->output);
			return CLI_EXIT_USAGE;
		}
		w->header_fmt = workbook_add_format(w->wb);
		format_set_bold(w->header_fmt);
		return 0;
	}
	if ((w->f = fdopen(fd, "w")) == NULL) {
		close(fd);
		fprintf(stderr, "spreg: --output %s: %s\n", o->output,
		    strerror(errno));
		return CLI_EXIT_USAGE;
	}
	return 0;
}

static int
finish_xlsx(const options *o, writer *w, const meta *m, json_t *mj)
{
	char title[160], comments[512];

	xlsx_meta(w, mj);
	snprintf(title, sizeof(title), "spreg %s as of %s",
	    o->subprocessors ? "subprocessors" : "transfer records", m->as_of);
	snprintf(comments, sizeof(comments), "as_of %s; at_seq %" PRIu64
	    "; rules %s (%s); generated %s", m->as_of, m->at_seq,
	    m->rules_version, m->rules_checksum, m->generated_at);
	lxw_doc_properties props = {.title = title, .subject = "GDPR "
	    "transfer records", .author = "spreg", .comments = comments,
	    .keywords = "spreg, export"};
	workbook_set_properties(w->wb, &props);
	lxw_error err = workbook_close(w->wb);
	w->wb = NULL;
	if (err != LXW_NO_ERROR) {
		fprintf(stderr, "spreg: --output %s: %s\n", o->output,
		    lxw_strerror(err));
		return CLI_EXIT_USAGE;
	}
	return 0;
}

int
cmd_export(cli *c)
{
	options o;
	Spreg__V1__ExportFilter filter = SPREG__V1__EXPORT_FILTER__INIT;
	writer w;
	meta m;
	json_t *mj = NULL;
	int rc;

	memset(&o, 0, sizeof(o));
	o.filter = filter;
	memset(&m, 0, sizeof(m));
	memset(&w, 0, sizeof(w));
	export_buf_init(&w.line);
	export_buf_init(&w.scratch);
	crypto_hash_sha256_init(&w.sha);
	if ((rc = parse(c, &o)) != CLI_CONTINUE) {
		goto out;
	}
	if (o.fmt >= FORMAT_REGISTRY_CSV) {
		signal(SIGINT, on_signal);
		signal(SIGTERM, on_signal);
		rc = run_registry(c, &o);
		goto out;
	}
	if (sodium_init() < 0) {
		rc = cli_out_of_memory();
		goto out;
	}
	w.fmt = o.fmt;
	w.progress = isatty(STDERR_FILENO) == 1;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	if ((rc = open_output(&o, &w)) != 0) {
		goto out;
	}
	rc = o.subprocessors ? run_public(c, &o, &w, &m, true) :
	                       run_transfers(c, &o, &w, &m);
	if (rc == 0 && o.fmt == FORMAT_XLSX && !o.subprocessors) {
		if ((rc = run_public(c, &o, &w, &m, false)) == 0) {
			rc = run_changes(c, &o, &w, &m);
		}
	}
	if (rc != 0) {
		goto out;
	}
	progress(&w, true);
	unsigned char digest[crypto_hash_sha256_BYTES];
	char hex[crypto_hash_sha256_BYTES * 2 + 1];
	crypto_hash_sha256_final(&w.sha, digest);
	sodium_bin2hex(hex, sizeof(hex), digest, sizeof(digest));
	if ((mj = meta_json(&o, &m, &w, hex)) == NULL) {
		rc = cli_out_of_memory();
		goto out;
	}
	if (o.fmt == FORMAT_XLSX) {
		if ((rc = finish_xlsx(&o, &w, &m, mj)) != 0) {
			goto out;
		}
	} else {
		bool ok = fflush(w.f) == 0 && !ferror(w.f);
		if (w.f != stdout) {
			ok = fsync(fileno(w.f)) == 0 && ok;
			ok = fclose(w.f) == 0 && ok;
			w.f = NULL;
		}
		if (!ok) {
			fprintf(stderr, "spreg: %s: %s\n", o.output ? o.output :
			    "standard output", strerror(errno));
			rc = CLI_EXIT_USAGE;
			goto out;
		}
	}
	if (o.output != NULL &&
	    (!write_meta_file(&o, mj) || !commit_files(&o))) {
		fprintf(stderr, "spreg: --output %s: %s\n", o.output,
		    strerror(errno));
		rc = CLI_EXIT_USAGE;
		goto out;
	}
out:
	if (w.f != NULL && w.f != stdout) {
		fclose(w.f);
	}
	if (w.wb != NULL) {
		workbook_close(w.wb);	/* then removed below */
	}
	temps_remove();
	json_decref(mj);
	meta_fini(&m);
	export_buf_fini(&w.line);
	export_buf_fini(&w.scratch);
	return rc;
}
