/*
 * The spreg command's framework (see cli.h): one pass of main finds the
 * command words; the command's handler then calls cli_parse with its
 * option table, which reads every other word of the command line, the
 * global options wherever they stand included.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_private.h"
#include "core/date.h"
#include "spreg_config.h"

#define TIMEOUT_DEFAULT_MS 10000
#define HELP_COLUMN 22		/* where option help starts */

/* Accepted before and after every command. */
static const cli_option globals[] = {
	{"server", CLI_TEXT, "URL",
	    "nng URL of spregd, or file://DIR to read its\n"
	    "data folder in this process (reads only)\n"
	    "(default: $SPREG_SERVER, else\n"
	    SPREG_DEFAULT_SERVER ")", 0, 0},
	{"tls-ca", CLI_TEXT, "FILE",
	    "PEM CA that signed a tls+tcp:// server's\n"
	    "certificate (default: $SPREG_TLS_CA)", 0, 0},
	{"tls-cert", CLI_TEXT, "FILE",
	    "PEM client certificate, for servers that\n"
	    "require one (default: $SPREG_TLS_CERT)", 0, 0},
	{"tls-key", CLI_TEXT, "FILE",
	    "its key (default: $SPREG_TLS_KEY)", 0, 0},
	{"token-file", CLI_TEXT, "FILE",
	    "the access token, first line of FILE (default:\n"
	    "$SPREG_TOKEN, else the file $SPREG_TOKEN_FILE;\n"
	    "spregd writes an admin token to DATA/admin.token\n"
	    "on its first start)", 0, 0},
	{"json", CLI_FLAG, NULL,
	    "machine output: one JSON object (the proto JSON\n"
	    "form) for one item, JSON Lines (one object per\n"
	    "line) for lists", 0, 0},
	{"wide", CLI_FLAG, NULL,
	    "never cut table cells (by default they are cut at\n"
	    "40 characters, or to fit a terminal)", 0, 0},
	{"timeout", CLI_NUMBER, "MS",
	    "per-call timeout in milliseconds (default 10000)", 1, INT_MAX},
	{"help", CLI_FLAG, NULL,
	    "this help; 'spreg COMMAND --help' for a command", 0, 0},
	{"version", CLI_FLAG, NULL, "print the version", 0, 0},
	{NULL, CLI_FLAG, NULL, NULL, 0, 0},
};
_Static_assert(sizeof(globals) / sizeof(globals[0]) - 1 == CLI_NGLOBALS,
    "CLI_NGLOBALS counts the global options");

/* ---- help ------------------------------------------------------------- */

static void
print_options(const cli_option *options, FILE *out)
{
	for (const cli_option *o = options; o != NULL && o->name; o++) {
		char head[64];
		snprintf(head, sizeof(head), "  --%s%s%s", o->name,
		    o->value ? " " : "", o->value ? o->value : "");
		if (strcmp(o->name, "help") == 0) {
			snprintf(head, sizeof(head), "  -h, --help");
		}
		fputs(head, out);
		size_t col = strlen(head);
		if (col + 2 > HELP_COLUMN) {
			fputc('\n', out);
			col = 0;
		}
		/* Each line of the help at the help column. */
		for (const char *p = o->help; *p != '\0';) {
			const char *nl = strchr(p, '\n');
			size_t len = nl ? (size_t) (nl - p) : strlen(p);
			fprintf(out, "%*s%.*s\n", (int) (HELP_COLUMN - col), "",
			    (int) len, p);
			col = 0;
			p += len + (nl ? 1 : 0);
		}
	}
}

static void
usage_command(const cli *c, FILE *out)
{
	fprintf(out, "usage: spreg %s\n\n%s.\n", c->cmd->usage,
	    c->cmd->summary);
	if (c->spec->options != NULL && c->spec->options[0].name != NULL) {
		fprintf(out, "\nOptions:\n");
		print_options(c->spec->options, out);
	}
	if (c->spec->notes != NULL && c->spec->notes[0] != '\0') {
		fprintf(out, "\n%s", c->spec->notes);
	}
	fprintf(out, "\nGlobal options (--server, --token-file, --tls-*, "
	             "--json, --wide, --timeout)\ngo before or after the "
	             "command; they and the exit codes: 'spreg --help'.\n");
}

static void
usage_global(const cli *c, FILE *out)
{
	fprintf(out,
	    "usage: spreg [global options] COMMAND [options] [arguments]\n"
	    "\n"
	    "Reads and changes the subprocessor registry kept by spregd.\n"
	    "\n"
	    "Commands:\n");
	for (size_t i = 0; i < c->ntable; i++) {
		fprintf(out, "  %-19s %s\n", c->table[i].name,
		    c->table[i].summary);
	}
	fprintf(out, "\nGlobal options (before or after the command; each "
	             "at most once):\n");
	print_options(globals, out);
	fprintf(out,
	    "\n"
	    "Exit status:\n"
	    "  0  success\n"
	    "  1  usage error: bad option or argument, an option given "
	    "twice,\n"
	    "     unreadable or invalid input file\n"
	    "  2  not found (the server answered NOT_FOUND)\n"
	    "  3  server error (any other error the server answered)\n"
	    "  4  cannot connect: no server at the URL, or no reply in time\n"
	    "  5  assess: a transfer is not lawful (TIA_REQUIRED, INVALID,\n"
	    "     MISSING, or any verdict but NO_TRANSFER, ADEQUATE,\n"
	    "     SAFEGUARDED and DEROGATION)\n"
	    "  6  verify: the change log or a stored record was altered\n"
	    "  7  access denied: no token, an unknown or revoked one, or a\n"
	    "     role that may not do this\n");
}

/* The rows of a group ("customer"): "customer put", ... */
static bool
in_group(const cli_command *row, const char *group)
{
	size_t len = strlen(group);
	return strncmp(row->name, group, len) == 0 && row->name[len] == ' ';
}

static void
usage_group(const cli *c, const char *group, FILE *out)
{
	fprintf(out, "usage:\n");
	for (size_t i = 0; i < c->ntable; i++) {
		if (in_group(&c->table[i], group)) {
			fprintf(out, "  spreg %s\n", c->table[i].usage);
		}
	}
	fprintf(out, "\n");
	for (size_t i = 0; i < c->ntable; i++) {
		if (in_group(&c->table[i], group)) {
			fprintf(out, "  %-19s %s\n", c->table[i].name,
			    c->table[i].summary);
		}
	}
	fprintf(out, "\n'spreg %s WORD --help' for one of them.\n", group);
}

int
cli_usage_error(const cli *c, const char *fmt, ...)
{
	va_list ap;

	fputs("spreg: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (c != NULL && c->cmd != NULL) {
		fprintf(stderr, "\nTry 'spreg %s --help'.\n", c->cmd->name);
	} else {
		fprintf(stderr, "\nTry 'spreg --help'.\n");
	}
	return CLI_EXIT_USAGE;
}

int
cli_out_of_memory(void)
{
	fprintf(stderr, "spreg: out of memory\n");
	return CLI_EXIT_SERVER;
}

/* ---- the command line ------------------------------------------------- */

static const cli_option *
option_find(const cli_option *options, const char *name, size_t len)
{
	for (const cli_option *o = options; o != NULL && o->name; o++) {
		if (strlen(o->name) == len && strncmp(o->name, name, len) == 0) {
			return o;
		}
	}
	return NULL;
}

/* Decimal digits only, no sign, no blanks, at most max. */
static bool
parse_u64(const char *text, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (text[0] == '\0') {
		return false;
	}
	for (const char *p = text; *p != '\0'; p++) {
		if (*p < '0' || *p > '9') {
			return false;
		}
		unsigned digit = (unsigned) (*p - '0');
		if (v > (max - digit) / 10) {
			return false;
		}
		v = v * 10 + digit;
	}
	*out = v;
	return true;
}

void
cli_upper(char *s)
{
	for (; *s != '\0'; s++) {
		if (*s >= 'a' && *s <= 'z') {
			*s = (char) (*s - 'a' + 'A');
		}
	}
}

/* Checks and keeps one option's value. */
static int
option_set(const cli *c, const cli_option *o, cli_value *v, char *text)
{
	int32_t day;

	if (v->set && o->kind != CLI_LIST) {
		return cli_usage_error(c, "option '--%s' given twice", o->name);
	}
	v->set = true;
	v->text = text;
	switch (o->kind) {
	case CLI_NUMBER:
		if (!parse_u64(text, o->max, &v->number) || v->number < o->min) {
			return cli_usage_error(c, "--%s: '%s' is not a whole "
			    "number from %llu to %llu", o->name, text,
			    (unsigned long long) o->min,
			    (unsigned long long) o->max);
		}
		break;
	case CLI_DATE:
		if (!date_parse(text, &day)) {
			return cli_usage_error(c, "--%s: '%s' is not a "
			    "YYYY-MM-DD date", o->name, text);
		}
		break;
	case CLI_COUNTRY:
		if (strlen(text) != 2 ||
		    strspn(text, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		                 "abcdefghijklmnopqrstuvwxyz") != 2) {
			return cli_usage_error(c, "--%s: '%s' is not a "
			    "two-letter country code", o->name, text);
		}
		cli_upper(text);
		break;
	case CLI_UPPER:
		cli_upper(text);
		break;
	case CLI_LIST: {
		const char **grown = realloc(v->list,
		    (v->nlist + 1) * sizeof(*grown));
		if (grown == NULL) {
			return cli_out_of_memory();
		}
		v->list = grown;
		v->list[v->nlist++] = text;
		break;
	}
	default:
		break;
	}
	return CLI_CONTINUE;
}

static bool
is_command_word(const cli *c, int i)
{
	return i == c->cmd_words[0] || i == c->cmd_words[1];
}

/* Applies the global options parsed into c->gvalues. */
static int
globals_apply(cli *c)
{
	const cli_value *g = c->gvalues;

	for (size_t i = 0; i < CLI_NGLOBALS; i++) {
		const char *name = globals[i].name;
		if (!g[i].set) {
			continue;
		}
		if (strcmp(name, "server") == 0) {
			c->server = g[i].text;
		} else if (strcmp(name, "tls-ca") == 0) {
			c->tls.ca_file = g[i].text;
		} else if (strcmp(name, "tls-cert") == 0) {
			c->tls.cert_file = g[i].text;
		} else if (strcmp(name, "tls-key") == 0) {
			c->tls.key_file = g[i].text;
		} else if (strcmp(name, "json") == 0) {
			c->json = true;
		} else if (strcmp(name, "wide") == 0) {
			c->wide = true;
		} else if (strcmp(name, "timeout") == 0) {
			c->timeout_ms = (int) g[i].number;
			c->timeout_given = true;
		}
	}
	return CLI_CONTINUE;
}

const cli_value *
cli_global(const cli *c, const char *name)
{
	const cli_option *o = option_find(globals, name, strlen(name));
	return &c->gvalues[o - globals];
}

int
cli_parse(cli *c, const cli_spec *spec)
{
	size_t nopts = 0;
	bool operands_only = false;
	int rc;

	c->spec = spec;
	if (c->help_only) {
		usage_command(c, stdout);
		return 0;
	}
	while (spec->options != NULL && spec->options[nopts].name != NULL) {
		nopts++;
	}
	if ((c->values = calloc(nopts + 1, sizeof(*c->values))) == NULL ||
	    (c->args = calloc((size_t) c->argc, sizeof(*c->args))) == NULL) {
		return cli_out_of_memory();
	}
	for (int i = 1; i < c->argc; i++) {
		char *arg = c->argv[i];
		if (is_command_word(c, i)) {
			continue;
		}
		if (operands_only || arg[0] != '-' || arg[1] == '\0') {
			c->args[c->nargs++] = arg;
			continue;
		}
		if (strcmp(arg, "--") == 0) {
			operands_only = true;
			continue;
		}
		if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
			usage_command(c, stdout);
			return 0;
		}
		if (arg[1] != '-') {
			return cli_usage_error(c, "unknown option '%s'", arg);
		}
		const char *name = arg + 2;
		char *eq = strchr(name, '=');
		size_t len = eq ? (size_t) (eq - name) : strlen(name);
		const cli_option *o = option_find(spec->options, name, len);
		cli_value *v;
		if (o != NULL) {
			v = &c->values[o - spec->options];
		} else if ((o = option_find(globals, name, len)) != NULL) {
			v = &c->gvalues[o - globals];
		} else {
			return cli_usage_error(c, "unknown option '%.*s'",
			    (int) len + 2, arg);
		}
		if (strcmp(o->name, "version") == 0) {
			printf("spreg %s\n", SPREG_VERSION);
			return 0;
		}
		char *value = eq ? eq + 1 : NULL;
		if (o->kind == CLI_FLAG && value != NULL) {
			return cli_usage_error(c, "option '--%s' takes no "
			    "value", o->name);
		}
		if (o->kind != CLI_FLAG && value == NULL) {
			if (i + 1 == c->argc || is_command_word(c, i + 1)) {
				return cli_usage_error(c, "option '--%s' needs "
				    "an argument", o->name);
			}
			value = c->argv[++i];
		}
		if ((rc = option_set(c, o, v, value)) != CLI_CONTINUE) {
			return rc;
		}
	}
	if (c->nargs < spec->min_args) {
		return cli_usage_error(c, "%s: missing argument", c->cmd->name);
	}
	if (c->nargs > spec->max_args) {
		return cli_usage_error(c, "unexpected argument '%s'",
		    c->args[spec->max_args]);
	}
	return globals_apply(c);
}

int
cli_nargs(const cli *c)
{
	return c->nargs;
}

const char *
cli_arg(const cli *c, int i)
{
	return i < c->nargs ? c->args[i] : NULL;
}

static const cli_value *
value_of(const cli *c, const char *name)
{
	const cli_option *o = option_find(c->spec->options, name,
	    strlen(name));

	if (o == NULL) {
		fprintf(stderr, "spreg: BUG: %s has no option --%s\n",
		    c->cmd->name, name);
		abort();
	}
	return &c->values[o - c->spec->options];
}

const char *
cli_opt(const cli *c, const char *name)
{
	const cli_value *v = value_of(c, name);
	return v->set ? v->text : NULL;
}

char *
cli_text(const cli *c, const char *name)
{
	const cli_value *v = value_of(c, name);
	return (char *) (v->set ? v->text : "");
}

bool
cli_flag(const cli *c, const char *name)
{
	return value_of(c, name)->set;
}

uint64_t
cli_opt_u64(const cli *c, const char *name, uint64_t dflt)
{
	const cli_value *v = value_of(c, name);
	return v->set ? v->number : dflt;
}

const char *const *
cli_opt_list(const cli *c, const char *name, size_t *n)
{
	const cli_value *v = value_of(c, name);
	*n = v->nlist;
	return v->list;
}

bool
cli_json(const cli *c)
{
	return c->json;
}

const char *
cli_server(const cli *c)
{
	return c->server;
}

bool
cli_wide(const cli *c)
{
	return c->wide;
}

const spreg_tls_options *
cli_tls(const cli *c)
{
	return &c->tls;
}

int
cli_timeout_ms(const cli *c)
{
	return c->timeout_ms;
}

/* ---- main ------------------------------------------------------------------ */

static const cli_command *
command_find(const cli *c, const char *name, const char *word)
{
	size_t len = strlen(name);

	for (size_t i = 0; i < c->ntable; i++) {
		const char *n = c->table[i].name;
		if (word == NULL ? strcmp(n, name) == 0 :
		    strncmp(n, name, len) == 0 && n[len] == ' ' &&
		        strcmp(n + len + 1, word) == 0) {
			return &c->table[i];
		}
	}
	return NULL;
}

static bool
is_group(const cli *c, const char *name)
{
	for (size_t i = 0; i < c->ntable; i++) {
		if (in_group(&c->table[i], name)) {
			return true;
		}
	}
	return false;
}

/*
 * The index of the next word after i that is not an option or the value
 * of a global option; argc when there is none. *stop: --help, --version
 * or an error came first (its exit code).
 */
static int
next_word(cli *c, int i, int *stop)
{
	for (i++; i < c->argc; i++) {
		const char *arg = c->argv[i];
		if (arg[0] != '-' || arg[1] == '\0' || strcmp(arg, "--") == 0) {
			return strcmp(arg, "--") == 0 ? i + 1 : i;
		}
		const char *name = arg + (arg[1] == '-' ? 2 : 1);
		size_t len = strcspn(name, "=");
		const cli_option *o = option_find(globals, name, len);
		if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0 ||
		    strcmp(arg, "--version") == 0) {
			*stop = i;
			return c->argc;
		}
		if (o == NULL) {
			*stop = -1;	/* its options come after the command */
			return i;
		}
		if (o->kind != CLI_FLAG && name[len] != '=') {
			i++;
		}
	}
	return c->argc;
}

int
cli_main(const cli_command *table, size_t n, int argc, char **argv)
{
	cli c = {
		.table = table,
		.ntable = n,
		.argc = argc,
		.argv = argv,
		.cmd_words = {-1, -1},
		.server = SPREG_DEFAULT_SERVER,
		.timeout_ms = TIMEOUT_DEFAULT_MS,
	};
	const char *env;
	int stop = 0;
	int rc;

	if ((env = getenv("SPREG_SERVER")) != NULL && env[0] != '\0') {
		c.server = env;
	}
	if ((env = getenv("SPREG_TLS_CA")) != NULL && env[0] != '\0') {
		c.tls.ca_file = env;
	}
	if ((env = getenv("SPREG_TLS_CERT")) != NULL && env[0] != '\0') {
		c.tls.cert_file = env;
	}
	if ((env = getenv("SPREG_TLS_KEY")) != NULL && env[0] != '\0') {
		c.tls.key_file = env;
	}
	int w = next_word(&c, 0, &stop);
	if (stop > 0 && strcmp(argv[stop], "--version") == 0) {
		printf("spreg %s\n", SPREG_VERSION);
		return 0;
	}
	if (stop > 0) {
		usage_global(&c, stdout);
		return 0;
	}
	if (stop < 0) {
		return cli_usage_error(&c, "unknown option '%s' (a command's "
		    "options follow the command)", argv[w]);
	}
	if (w >= argc) {
		usage_global(&c, stderr);
		return CLI_EXIT_USAGE;
	}
	const char *name = argv[w];
	bool help = strcmp(name, "help") == 0;
	c.cmd_words[0] = w;
	if (is_group(&c, name) || help) {
		stop = 0;
		int sub = next_word(&c, w, &stop);
		if (stop < 0) {
			return cli_usage_error(&c, "unknown option '%s' (a "
			    "command's options follow its name)", argv[sub]);
		}
		if (help && sub < argc) {
			/* spreg help COMMAND [WORD]: its --help. */
			c.help_only = true;
			name = argv[sub];
			w = sub;
			if (!is_group(&c, name)) {
				c.cmd = command_find(&c, name, NULL);
				goto run;
			}
			stop = 0;
			sub = next_word(&c, w, &stop);
		}
		if (help && c.cmd == NULL && !is_group(&c, name)) {
			usage_global(&c, stdout);
			return 0;
		}
		if (sub >= argc) {
			if (stop > 0 || c.help_only) {
				usage_group(&c, name, stdout);
				return 0;
			}
			usage_group(&c, name, stderr);
			return CLI_EXIT_USAGE;
		}
		c.cmd_words[1] = sub;
		if ((c.cmd = command_find(&c, name, argv[sub])) == NULL) {
			return cli_usage_error(&c, "%s: no command '%s'", name,
			    argv[sub]);
		}
	} else {
		c.cmd = command_find(&c, name, NULL);
	}
run:
	if (c.cmd == NULL) {
		return cli_usage_error(&c, "unknown command '%s'", name);
	}
	rc = c.cmd->run(&c);
	spreg_client_close(c.client);
	if (c.values != NULL) {
		for (size_t i = 0; c.spec->options != NULL &&
		     c.spec->options[i].name != NULL; i++) {
			free(c.values[i].list);
		}
	}
	free(c.values);
	free(c.args);
	if (fflush(stdout) != 0 && rc == 0) {
		fprintf(stderr, "spreg: writing output: %s\n", strerror(errno));
		rc = CLI_EXIT_USAGE;
	}
	return rc;
}
