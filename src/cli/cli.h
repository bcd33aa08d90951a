/*
 * The framework of the spreg command, shared by every command: the
 * command table's row type, the one option parser (global options and a
 * command's own, in any order, driven by the command's option table),
 * the connection (opened on the first call), calls with their exit
 * codes, paging with the server's page size, and output helpers.
 *
 * A command is one row of the table in main.c and one handler:
 *
 *	static int
 *	cmd_get(cli *c)
 *	{
 *		static const cli_option options[] = {...};
 *		static const cli_spec spec = {options, 1, 1, "notes"};
 *		int rc;
 *
 *		if ((rc = cli_parse(c, &spec)) != CLI_CONTINUE) {
 *			return rc;
 *		}
 *		... cli_arg(c, 0), cli_opt(c, "as-of"), cli_call(c, ...) ...
 *	}
 */
#ifndef CLI_CLI_H
#define CLI_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <protobuf-c/protobuf-c.h>

#include "cli/table.h"
#include "spreg/client.h"

/* Exit codes: part of the interface, scripts test them. */
#define CLI_EXIT_OK 0
#define CLI_EXIT_USAGE 1	/* bad option or argument, bad input file */
#define CLI_EXIT_NOT_FOUND 2	/* the server said NOT_FOUND */
#define CLI_EXIT_SERVER 3	/* any other error status from the server */
#define CLI_EXIT_CONNECT 4	/* no server, or no reply in time */
#define CLI_EXIT_FAILING 5	/* assess: a transfer is not lawful */
#define CLI_EXIT_TAMPERED 6	/* verify: the log or a record was altered */
#define CLI_EXIT_DENIED 7	/* UNAUTHENTICATED or PERMISSION_DENIED */

/* cli_parse: go on with the command (any other value is the exit code). */
#define CLI_CONTINUE (-1)
/* A page callback's "enough": the walk stops, successfully. */
#define CLI_STOP (-2)

typedef struct cli cli;

/* A row of the command table. name is one word ("list") or a group and
 * a word ("customer put"). */
typedef struct cli_command {
	const char *name;
	int (*run)(cli *c);
	const char *summary;	/* one line, no full stop */
	const char *usage;	/* after "spreg ", lines joined by "\n" */
} cli_command;

typedef enum cli_kind {
	CLI_FLAG,	/* no value */
	CLI_TEXT,	/* any text */
	CLI_NUMBER,	/* a whole number from min to max */
	CLI_DATE,	/* YYYY-MM-DD */
	CLI_COUNTRY,	/* ISO 3166-1 alpha-2, any case; kept upper case */
	CLI_UPPER,	/* text kept upper case (regimes) */
	CLI_LIST,	/* text, repeatable */
} cli_kind;

typedef struct cli_option {
	const char *name;	/* "as-of" for --as-of */
	cli_kind kind;
	const char *value;	/* in the help: "DATE"; NULL for a flag */
	const char *help;	/* lines joined by "\n" */
	uint64_t min, max;	/* CLI_NUMBER */
} cli_option;

/* What a command takes: its options (ended by a row with a NULL name),
 * how many operands, and notes for --help (output, exit codes). */
typedef struct cli_spec {
	const cli_option *options;
	int min_args, max_args;
	const char *notes;
} cli_spec;

/*
 * The program: finds the command in table (n rows), and runs it.
 * Returns the exit code.
 */
int cli_main(const cli_command *table, size_t n, int argc, char **argv);

/*
 * Parses the command line for the running command: global options and
 * the command's own, in any position, and the operands. --help prints
 * the command's help. Returns CLI_CONTINUE, or the exit code to return
 * (0 after --help, CLI_EXIT_USAGE after a message on stderr).
 */
int cli_parse(cli *c, const cli_spec *spec);

/* Operands. */
int cli_nargs(const cli *c);
const char *cli_arg(const cli *c, int i);

/* Options of the command's table, by name (a name not in the table is
 * a programmer error). NULL or false when not given. */
const char *cli_opt(const cli *c, const char *name);
bool cli_flag(const cli *c, const char *name);
/* As cli_opt, "" when not given: for a message's string field. */
char *cli_text(const cli *c, const char *name);
uint64_t cli_opt_u64(const cli *c, const char *name, uint64_t dflt);
/* A CLI_LIST option: every value given, in order. */
const char *const *cli_opt_list(const cli *c, const char *name, size_t *n);

/* Global settings. */
bool cli_json(const cli *c);
bool cli_wide(const cli *c);
const char *cli_server(const cli *c);

/*
 * Prints "spreg: MESSAGE" and where to find help; returns
 * CLI_EXIT_USAGE.
 */
int cli_usage_error(const cli *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Prints "spreg: out of memory"; returns CLI_EXIT_SERVER. */
int cli_out_of_memory(void);

/*
 * Calls method (the first call connects, with the global options) and on
 * success sets *resp_out, freed by the caller with spreg_message_free.
 * On failure prints the server's message (and a hint where one helps)
 * and returns the exit code for the status.
 */
int cli_call(cli *c, const char *method, const ProtobufCMessage *req,
    const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp_out);

/* The same, printing nothing: for what a command adds when it can. */
spreg_status cli_call_quiet(cli *c, const char *method,
    const ProtobufCMessage *req, const ProtobufCMessageDescriptor *resp_desc,
    ProtobufCMessage **resp_out);

/* The server's message of the last failed call (NULL: none). */
const char *cli_last_error(const cli *c);

/* The exit code for a status (0 for OK). */
int cli_exit_code(spreg_status st);

/* The token the commands send ("" for none); resolved on first use.
 * Returns 0, or CLI_EXIT_USAGE after a message. */
int cli_token(cli *c, const char **token_out);
const spreg_tls_options *cli_tls(const cli *c);
int cli_timeout_ms(const cli *c);
/* A command whose call takes long by nature (the server fetches a URL
 * first) raises the per-call timeout to ms, unless --timeout was
 * given. */
void cli_timeout_at_least(cli *c, int ms);

/*
 * The page size to ask for: the server's max_page_size (from ServerInfo,
 * asked once), or 0 (the server's default) when it does not say.
 */
uint32_t cli_page_size(cli *c);

/*
 * Walks a paged list: req has page_size, page_token fields and the
 * response a next_page_token (the generated descriptors say so). Calls
 * page(ctx, resp) for every page; page_size 0 asks cli_page_size. The
 * walk ends on the last page, an empty page, page's CLI_STOP (then 0) or
 * any other non-zero return (returned).
 */
int cli_pages(cli *c, const char *method, ProtobufCMessage *req,
    const ProtobufCMessageDescriptor *resp_desc, uint32_t page_size,
    int (*page)(void *ctx, const ProtobufCMessage *resp), void *ctx);

/* Writes msg as JSON: indented when alone, on one line in JSON Lines. */
int cli_print_json(const ProtobufCMessage *msg, bool one_line);

/*
 * A list's output: a table, or with --json JSON Lines (then *t_out is
 * NULL). cli_rows_add prints item as a JSON line, or adds cells as a
 * row; cli_rows_end prints the table when rc is 0, destroys it and
 * returns rc. Errors are printed and are exit codes.
 */
int cli_rows_begin(const cli *c, size_t ncols, const char *const *headers,
    table **t_out);
int cli_rows_add(table *t, const ProtobufCMessage *item,
    const char *const *cells);
int cli_rows_end(const cli *c, table *t, int rc);

/* Prints t: cells cut to TABLE_CELL_MAX, or fitted to the terminal, or
 * whole with --wide. */
void cli_table_print(const cli *c, const table *t);

/* An enum value's short name: the value's name without the prefix its
 * UNSPECIFIED value shares ("INVALID" for VERDICT_INVALID), or its
 * number. lower: in lower case with '-' for '_' ("customer-updated"). */
const char *cli_enum_name(const ProtobufCEnumDescriptor *d, int value,
    bool lower, char *buf, size_t len);

/*
 * Reads a JSON or YAML document of one message of type desc from path
 * ("-": standard input). On success *msg_out is set, freed by the
 * caller with protobuf_c_message_free_unpacked(msg, NULL). Errors are
 * printed and are CLI_EXIT_USAGE.
 */
int cli_read_message(const char *path,
    const ProtobufCMessageDescriptor *desc, const char *what,
    ProtobufCMessage **msg_out);
/* Reads all of path ("-": standard input), NUL-terminated. */
int cli_read_file(const char *path, char **text_out, size_t *len_out);

/* ASCII upper case in place. */
void cli_upper(char *s);

/* Appends item to the comma-separated list in buf unless it is there. */
void cli_list_add(char *buf, size_t size, const char *item);

#endif
