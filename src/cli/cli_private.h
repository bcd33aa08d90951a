/*
 * The state of one run of the spreg command, shared by the files of the
 * framework (cli.c: the command line; call.c: the server). Commands see
 * it only through cli.h.
 */
#ifndef CLI_CLI_PRIVATE_H
#define CLI_CLI_PRIVATE_H

#include "cli/cli.h"

#define CLI_NGLOBALS 10	/* rows of the global option table, cli.c */

/* An option's value(s) once parsed. */
typedef struct cli_value {
	bool set;
	const char *text;
	uint64_t number;
	const char **list;	/* CLI_LIST */
	size_t nlist;
} cli_value;

struct cli {
	const cli_command *table;
	size_t ntable;
	int argc;
	char **argv;
	const cli_command *cmd;	/* NULL before the command is known */
	int cmd_words[2];	/* argv indexes of the command's words */
	bool help_only;		/* 'spreg help CMD': print, do not run */

	const cli_spec *spec;
	cli_value *values;	/* one per option of spec */
	cli_value gvalues[CLI_NGLOBALS];
	const char **args;
	int nargs;

	const char *server;
	spreg_tls_options tls;
	int timeout_ms;
	bool timeout_given;	/* --timeout: no command raises it */
	bool json, wide;
	char token[SPREG_TOKEN_MAX];
	bool token_resolved;
	spreg_client *client;
	int connect_rc;		/* a failed connect's exit code, reported */
	bool page_asked;
	uint32_t page_size;
};

/* The value of a global option (cli.c). */
const cli_value *cli_global(const cli *c, const char *name);

#endif
