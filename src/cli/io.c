/*
 * Output and input of the spreg command's framework (see cli.h): JSON,
 * tables and their width, enum names; reading JSON and YAML files.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <jansson.h>

#include "cli/cli.h"
#include "core/pbjson.h"

#define INPUT_MAX (16 << 20)	/* bytes of an input file */

/* ---- output ------------------------------------------------------------- */

int
cli_print_json(const ProtobufCMessage *msg, bool one_line)
{
	json_t *json = pbjson_from_message(msg);

	if (json == NULL) {
		return cli_out_of_memory();
	}
	json_dumpf(json, stdout, one_line ? JSON_COMPACT : JSON_INDENT(2));
	fputc('\n', stdout);
	json_decref(json);
	return 0;
}

void
cli_table_print(const cli *c, const table *t)
{
	struct winsize ws;
	size_t width = TABLE_CUT;

	if (cli_wide(c)) {
		width = TABLE_WIDE;
	} else if (isatty(STDOUT_FILENO) == 1) {
		width = ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 &&
		        ws.ws_col > 0 ? ws.ws_col : 80;
	}
	table_print(t, stdout, width);
}

int
cli_rows_begin(const cli *c, size_t ncols, const char *const *headers,
    table **t_out)
{
	*t_out = NULL;
	if (!cli_json(c) && (*t_out = table_create(ncols, headers)) == NULL) {
		return cli_out_of_memory();
	}
	return 0;
}

int
cli_rows_add(table *t, const ProtobufCMessage *item,
    const char *const *cells)
{
	if (t == NULL) {
		return cli_print_json(item, true);
	}
	return table_row_add(t, cells) ? 0 : cli_out_of_memory();
}

int
cli_rows_end(const cli *c, table *t, int rc)
{
	if (rc == 0 && t != NULL) {
		cli_table_print(c, t);
	}
	table_destroy(t);
	return rc;
}

const char *
cli_enum_name(const ProtobufCEnumDescriptor *d, int value, bool lower,
    char *buf, size_t len)
{
	const ProtobufCEnumValue *v =
	    protobuf_c_enum_descriptor_get_value(d, value);
	const ProtobufCEnumValue *zero =
	    protobuf_c_enum_descriptor_get_value(d, 0);
	size_t prefix = 0;

	if (v == NULL) {
		snprintf(buf, len, "%d", value);
		return buf;
	}
	if (zero != NULL) {
		const char *u = strstr(zero->name, "UNSPECIFIED");
		prefix = u != NULL ? (size_t) (u - zero->name) : 0;
		if (strncmp(v->name, zero->name, prefix) != 0) {
			prefix = 0;
		}
	}
	snprintf(buf, len, "%s", v->name + prefix);
	for (char *p = buf; lower && *p != '\0'; p++) {
		*p = *p == '_' ? '-' :
		    *p >= 'A' && *p <= 'Z' ? (char) (*p - 'A' + 'a') : *p;
	}
	return buf;
}

void
cli_list_add(char *buf, size_t size, const char *item)
{
	size_t item_len = strlen(item);
	const char *p = buf;

	while (*p != '\0') {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t) (comma - p) : strlen(p);
		if (len == item_len && memcmp(p, item, len) == 0) {
			return;
		}
		p += len + (comma ? 1 : 0);
	}
	size_t used = strlen(buf);
	snprintf(buf + used, size - used, "%s%s", used ? "," : "", item);
}

/* ---- input files -------------------------------------------------------- */

int
cli_read_file(const char *path, char **text_out, size_t *len_out)
{
	bool std = strcmp(path, "-") == 0;
	const char *name = std ? "standard input" : path;
	FILE *f = std ? stdin : fopen(path, "rb");
	char *text = NULL;
	size_t len = 0, cap = 0;
	int rc = CLI_EXIT_USAGE;

	if (f == NULL) {
		fprintf(stderr, "spreg: %s: %s\n", name, strerror(errno));
		return CLI_EXIT_USAGE;
	}
	for (;;) {
		if (cap - len < 2) {
			if (cap >= INPUT_MAX) {
				fprintf(stderr, "spreg: %s: larger than %d "
				    "bytes\n", name, INPUT_MAX);
				goto cleanup;
			}
			cap = cap ? cap * 2 : 65536;
			char *grown = realloc(text, cap);
			if (grown == NULL) {
				rc = cli_out_of_memory();
				goto cleanup;
			}
			text = grown;
		}
		size_t n = fread(text + len, 1, cap - len - 1, f);
		len += n;
		if (n == 0) {
			if (ferror(f)) {
				fprintf(stderr, "spreg: %s: %s\n", name,
				    strerror(errno));
				goto cleanup;
			}
			break;
		}
	}
	text[len] = '\0';
	*text_out = text;
	*len_out = len;
	text = NULL;
	rc = 0;
cleanup:
	free(text);
	if (f != stdin) {
		fclose(f);
	}
	return rc;
}

int
cli_read_message(const char *path, const ProtobufCMessageDescriptor *desc,
    const char *what, ProtobufCMessage **msg_out)
{
	const char *name = strcmp(path, "-") == 0 ? "standard input" : path;
	json_t *json = NULL;
	char *text = NULL;
	size_t len;
	err e;
	int rc;

	if ((rc = cli_read_file(path, &text, &len)) != 0) {
		return rc;
	}
	rc = CLI_EXIT_USAGE;
	if (pbjson_parse_text(text, len, &json, &e) != SPREG_OK) {
		fprintf(stderr, "spreg: %s: %s\n", name, e.msg);
		goto cleanup;
	}
	if (!json_is_object(json)) {
		fprintf(stderr, "spreg: %s: expected one %s (an object with "
		                "id, name, ...)\n", name, what);
		goto cleanup;
	}
	if (pbjson_to_message(json, desc, msg_out, &e) != SPREG_OK) {
		fprintf(stderr, "spreg: %s: %s\n", name, e.msg);
		goto cleanup;
	}
	rc = 0;
cleanup:
	json_decref(json);
	free(text);
	return rc;
}
