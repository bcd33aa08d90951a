/*
 * spreg export: transfer records (or the public subprocessor list) as
 * CSV, JSON Lines or XLSX, from the Export service. See src/cli/export.c.
 */
#ifndef CLI_EXPORT_H
#define CLI_EXPORT_H

#include "spreg/client.h"

/* For the command table of spreg.c. */
#define CLI_EXPORT_SYNOPSIS \
	"export [--format csv|jsonl|xlsx] [--as-of WHEN]\n" \
	"            [--customer ID | --regime R] [--output FILE]\n" \
	"            [--subprocessors] [--category K] [--country CC]\n" \
	"            [--mechanism M] [--service S] [--page-size N]"
#define CLI_EXPORT_SUMMARY \
	"Export transfer records or the public subprocessor list"
#define CLI_EXPORT_OPTIONS \
	"  --format F       csv (default; RFC 4180, CRLF, UTF-8), jsonl (one\n" \
	"                   JSON object per line) or xlsx (sheets transfers,\n" \
	"                   subprocessors, changes, metadata; needs --output)\n" \
	"  --as-of WHEN     a date (YYYY-MM-DD; default: the server's today)\n" \
	"                   or a moment (RFC 3339), as for 'list --as-of'\n" \
	"  --customer ID    the vendors of customer ID's services, judged\n" \
	"                   under its regime\n" \
	"  --regime R       EU (default), UK or CH\n" \
	"  --output FILE    write FILE (through a temporary file renamed\n" \
	"                   into place, so no partial file is left) and its\n" \
	"                   metadata to FILE.meta.json; default: stdout\n" \
	"  --subprocessors  the public subprocessor list (name, purpose,\n" \
	"                   countries, data categories, safeguards) instead\n" \
	"                   of the transfer records\n" \
	"  --category K, --country CC, --mechanism M, --service S\n" \
	"                   only vendors matching, as in 'list'\n" \
	"  --page-size N    vendors per request, 1 to 1000 (default 100);\n" \
	"                   the output does not depend on it\n" \
	"\nOne row per subprocessor x country x data category, ordered by\n" \
	"them, with the safeguard and the assessment verdict. Every page\n" \
	"reflects the change log at one seq (in the metadata): the same\n" \
	"--as-of at the same seq gives byte-identical CSV and JSON Lines.\n" \
	"CSV cells starting with = + - @ ' TAB or CR get a leading ' so no\n" \
	"spreadsheet runs them; drop it to read the value. Progress goes to\n" \
	"stderr when it is a terminal.\n"

/*
 * Runs the command: argv[0] is "export", options follow (global options
 * --server, --timeout and --json are accepted too). server and
 * timeout_ms are the global settings given before the command. Returns
 * the exit status.
 */
int cli_export(const char *server, const spreg_tls_options *tls,
    const char *token,
    int timeout_ms, int argc, char **argv);

#endif
