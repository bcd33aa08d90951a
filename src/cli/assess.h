/*
 * The transfer-assessment commands of spreg, on service
 * spreg.v1.Assessment: 'assess' (verdicts per subprocessor, country and
 * data category, with what-if suppositions) and 'rules' (the rule set in
 * force and its sources). spreg.c lists them in its command table and
 * hands over its global settings; the rest lives here.
 */
#ifndef CLI_ASSESS_H
#define CLI_ASSESS_H

#include <stdbool.h>

#include "spreg/client.h"

/* assess: some transfer is TIA_REQUIRED, INVALID or MISSING (after the
 * suppositions), so a pipeline can gate on it. */
#define CLI_EXIT_FAILING 5

/* The global options as spreg.c parsed them before the command. */
typedef struct cli_settings {
	const char *server;
	bool json;
	int timeout_ms;
	spreg_tls_options tls;	/* --tls-* given before the command */
	const char *token;	/* bearer token, or "" */
} cli_settings;

/*
 * Run a command: argv[0] is its name, the rest its options (global ones
 * included, as in every command). Return the exit code. The settings are
 * copied; the commands open and close their own connection.
 */
int cli_assess(const cli_settings *s, int argc, char **argv);
int cli_rules(const cli_settings *s, int argc, char **argv);

/* Help texts for spreg.c's command table (synopsis, summary, options). */
extern const char cli_assess_synopsis[];
extern const char cli_assess_summary[];
extern const char cli_assess_options[];
extern const char cli_rules_synopsis[];
extern const char cli_rules_summary[];
extern const char cli_rules_options[];

#endif
