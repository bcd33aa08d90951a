/*
 * Text to a json_t tree: JSON through jansson, YAML through libyaml into
 * the same tree, so pbjson_to_message reads both (see pbjson.h). Input
 * is untrusted: nesting is capped and every failure frees what it built.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "core/pbjson.h"

/* True when containers nest deeper than limit levels. */
static bool
json_deeper_than(const json_t *value, unsigned limit)
{
	if (!json_is_object(value) && !json_is_array(value)) {
		return false;
	}
	if (limit == 0) {
		return true;
	}
	if (json_is_array(value)) {
		for (size_t i = 0; i < json_array_size(value); i++) {
			if (json_deeper_than(json_array_get(value, i), limit - 1)) {
				return true;
			}
		}
		return false;
	}
	json_t *object = (json_t *) value;
	for (void *iter = json_object_iter(object); iter != NULL;
	     iter = json_object_iter_next(object, iter)) {
		if (json_deeper_than(json_object_iter_value(iter), limit - 1)) {
			return true;
		}
	}
	return false;
}

static spreg_status
parse_json(const char *text, size_t len, json_t **out, err *e)
{
	json_error_t jerr;
	/* Duplicate keys are rejected: "last one wins" hides mistakes. */
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "JSON: %s at line %d, column %d", jerr.text, jerr.line,
		    jerr.column);
	}
	if (json_deeper_than(root, PBJSON_MAX_DEPTH)) {
		json_decref(root);
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "JSON: nested deeper than %d levels", PBJSON_MAX_DEPTH);
	}
	*out = root;
	return SPREG_OK;
}

/* One open YAML mapping or sequence. */
typedef struct yaml_frame {
	json_t *node;		/* borrowed: its parent (or root) owns it */
	char *key;		/* a mapping's key awaiting its value, or NULL */
	size_t key_len;
} yaml_frame;

typedef struct yaml_reader {
	yaml_frame stack[PBJSON_MAX_DEPTH];
	unsigned depth;
	json_t *root;
	bool seen_document;
	bool stream;		/* any number of documents, into root */
	pbjson_lines *lines;	/* NULL: not kept */
	err *e;
} yaml_reader;

void
pbjson_lines_fini(pbjson_lines *l)
{
	free(l->items);
	memset(l, 0, sizeof(*l));
}

static int
line_cmp(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t) ((const pbjson_line *) a)->node;
	uintptr_t y = (uintptr_t) ((const pbjson_line *) b)->node;
	return x < y ? -1 : x > y;
}

size_t
pbjson_line_of(const pbjson_lines *l, const json_t *node)
{
	pbjson_line key = {node, 0};
	const pbjson_line *found = l == NULL || l->n == 0 ? NULL :
	    bsearch(&key, l->items, l->n, sizeof(key), line_cmp);

	return found != NULL ? found->line : 0;
}

static spreg_status
lines_add(yaml_reader *r, const json_t *node, yaml_mark_t mark)
{
	pbjson_lines *l = r->lines;

	if (l == NULL) {
		return SPREG_OK;
	}
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		pbjson_line *items = realloc(l->items, cap * sizeof(*items));
		if (items == NULL) {
			return err_oom(r->e, NULL);
		}
		l->items = items;
		l->cap = cap;
	}
	l->items[l->n++] = (pbjson_line) {node, mark.line + 1};
	return SPREG_OK;
}

static spreg_status yaml_fail(yaml_reader *r, yaml_mark_t mark,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static spreg_status
yaml_fail(yaml_reader *r, yaml_mark_t mark, const char *fmt, ...)
{
	char detail[ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	return err_set(r->e, SPREG_INVALID_ARGUMENT,
	    "YAML: %s at line %zu, column %zu", detail, mark.line + 1,
	    mark.column + 1);
}

static bool
is_decimal_digits(const char *s, size_t len)
{
	if (len == 0) {
		return false;
	}
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9') {
			return false;
		}
	}
	return true;
}

/*
 * [sign] digits, without leading zeros. YAML 1.1 reads "010" as octal 8
 * and YAML 1.2 as 10; "007" in a reference field is more likely text, so
 * leading zeros keep a scalar a string.
 */
static bool
looks_like_integer(const char *s, size_t len)
{
	if (len > 0 && (s[0] == '-' || s[0] == '+')) {
		s++;
		len--;
	}
	return is_decimal_digits(s, len) && (len == 1 || s[0] != '0');
}

/* [sign] int [. [digits]] [e [sign] digits], or [sign] . digits [exponent]. */
static bool
looks_like_real(const char *s, size_t len)
{
	size_t i = 0;
	size_t int_digits = 0;
	size_t frac_digits = 0;
	bool has_dot = false;
	bool has_exponent = false;

	if (i < len && (s[i] == '-' || s[i] == '+')) {
		i++;
	}
	size_t int_start = i;
	while (i < len && s[i] >= '0' && s[i] <= '9') {
		i++;
		int_digits++;
	}
	if (int_digits > 1 && s[int_start] == '0') {
		return false;
	}
	if (i < len && s[i] == '.') {
		has_dot = true;
		i++;
		while (i < len && s[i] >= '0' && s[i] <= '9') {
			i++;
			frac_digits++;
		}
	}
	if (int_digits + frac_digits == 0) {
		return false;
	}
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		has_exponent = true;
		i++;
		if (i < len && (s[i] == '-' || s[i] == '+')) {
			i++;
		}
		size_t exp_start = i;
		while (i < len && s[i] >= '0' && s[i] <= '9') {
			i++;
		}
		if (i == exp_start) {
			return false;
		}
	}
	return i == len && (has_dot || has_exponent);
}

static bool
plain_equals(const char *s, size_t len, const char *word)
{
	return strlen(word) == len && pbjson_ascii_equal_nocase(s, word);
}

/*
 * YAML plain-scalar rules (a subset of YAML 1.1's): null, booleans
 * (true/false, yes/no, on/off), decimal integers that fit json_int_t,
 * decimal reals; anything else, including a too-large integer (kept
 * exact for uint64 fields, which take decimal strings), is a string.
 */
static json_t *
plain_scalar_to_json(const char *s, size_t len)
{
	if (len == 0 || plain_equals(s, len, "~") ||
	    plain_equals(s, len, "null")) {
		return json_null();
	}
	/* YAML 1.2's core schema: only true and false are booleans. YAML
	 * 1.1 also read yes/no/on/off so, which turns Norway's country
	 * code NO into false. */
	if (plain_equals(s, len, "true")) {
		return json_true();
	}
	if (plain_equals(s, len, "false")) {
		return json_false();
	}
	/* libyaml NUL-terminates the value, so strtoll/strtod stop at len. */
	if (looks_like_integer(s, len)) {
		errno = 0;
		char *end;
		long long v = strtoll(s, &end, 10);
		if (errno == 0 && end == s + len) {
			return json_integer(v);
		}
	} else if (looks_like_real(s, len)) {
		char *end;
		double v = strtod(s, &end);
		if (end == s + len && isfinite(v)) {
			return json_real(v);
		}
	}
	return json_stringn(s, len);
}

#define YAML_TAG_STR "tag:yaml.org,2002:str"

static spreg_status
scalar_to_json(yaml_reader *r, const yaml_event_t *ev, json_t **out)
{
	const char *value = (const char *) ev->data.scalar.value;
	size_t len = ev->data.scalar.length;
	const char *tag = (const char *) ev->data.scalar.tag;

	json_t *node;
	if (tag != NULL && strcmp(tag, "!") != 0) {
		/* Only !!str is worth supporting: it is how to force text. */
		if (strcmp(tag, YAML_TAG_STR) != 0) {
			return yaml_fail(r, ev->start_mark, "unsupported tag '%s'",
			    tag);
		}
		node = json_stringn(value, len);
	} else if (ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
		node = plain_scalar_to_json(value, len);
	} else {
		node = json_stringn(value, len);
	}
	if (node == NULL) {
		return err_oom(r->e, NULL);
	}
	*out = node;
	return SPREG_OK;
}

/* Adds value (taking it) to the open container, or makes it the root. */
static spreg_status
yaml_attach(yaml_reader *r, json_t *value)
{
	if (r->depth == 0) {
		r->root = value;
		return SPREG_OK;
	}
	yaml_frame *top = &r->stack[r->depth - 1];
	int rc;
	if (json_is_array(top->node)) {
		rc = json_array_append_new(top->node, value);
	} else {
		rc = json_object_setn_new(top->node, top->key, top->key_len,
		    value);
		free(top->key);
		top->key = NULL;
	}
	return rc == 0 ? SPREG_OK : err_oom(r->e, NULL);
}

/* True when the next node of the open mapping is a key. */
static bool
yaml_expects_key(const yaml_reader *r)
{
	if (r->depth == 0) {
		return false;
	}
	const yaml_frame *top = &r->stack[r->depth - 1];
	return json_is_object(top->node) && top->key == NULL;
}

static spreg_status
yaml_on_scalar(yaml_reader *r, const yaml_event_t *ev)
{
	if (ev->data.scalar.anchor != NULL) {
		return yaml_fail(r, ev->start_mark,
		    "anchors and aliases are not supported");
	}
	if (yaml_expects_key(r)) {
		yaml_frame *top = &r->stack[r->depth - 1];
		const char *key = (const char *) ev->data.scalar.value;
		size_t len = ev->data.scalar.length;
		if (json_object_getn(top->node, key, len) != NULL) {
			return yaml_fail(r, ev->start_mark, "duplicate key '%s'", key);
		}
		top->key = malloc(len + 1);
		if (top->key == NULL) {
			return err_oom(r->e, NULL);
		}
		memcpy(top->key, key, len + 1);
		top->key_len = len;
		return SPREG_OK;
	}
	json_t *value = NULL;
	spreg_status st = scalar_to_json(r, ev, &value);
	if (st != SPREG_OK) {
		return st;
	}
	/* An empty document of a stream is left out. */
	if (r->stream && r->depth == 1 && json_is_null(value)) {
		json_decref(value);
		return SPREG_OK;
	}
	if ((st = yaml_attach(r, value)) != SPREG_OK) {
		return st;
	}
	return lines_add(r, value, ev->start_mark);
}

static spreg_status
yaml_on_start(yaml_reader *r, const yaml_event_t *ev, bool mapping)
{
	const yaml_char_t *anchor = mapping ? ev->data.mapping_start.anchor
					    : ev->data.sequence_start.anchor;
	const char *tag = (const char *) (mapping ? ev->data.mapping_start.tag
						  : ev->data.sequence_start.tag);
	const char *std_tag = mapping ? "tag:yaml.org,2002:map"
				      : "tag:yaml.org,2002:seq";

	if (anchor != NULL) {
		return yaml_fail(r, ev->start_mark,
		    "anchors and aliases are not supported");
	}
	if (tag != NULL && strcmp(tag, "!") != 0 && strcmp(tag, std_tag) != 0) {
		return yaml_fail(r, ev->start_mark, "unsupported tag '%s'", tag);
	}
	if (yaml_expects_key(r)) {
		return yaml_fail(r, ev->start_mark, "mapping keys must be scalars");
	}
	if (r->depth == PBJSON_MAX_DEPTH) {
		return yaml_fail(r, ev->start_mark, "nested deeper than %d levels",
		    PBJSON_MAX_DEPTH);
	}
	json_t *node = mapping ? json_object() : json_array();
	if (node == NULL) {
		return err_oom(r->e, NULL);
	}
	/* Attached at once, so freeing the root frees every open container. */
	spreg_status st = yaml_attach(r, node);
	if (st != SPREG_OK ||
	    (st = lines_add(r, node, ev->start_mark)) != SPREG_OK) {
		return st;
	}
	r->stack[r->depth].node = node;
	r->stack[r->depth].key = NULL;
	r->stack[r->depth].key_len = 0;
	r->depth++;
	return SPREG_OK;
}

/* Line and column (1-based) of a byte offset, for reader errors. */
static void
offset_to_position(const char *text, size_t len, size_t offset, size_t *line,
    size_t *column)
{
	*line = 1;
	*column = 1;
	for (size_t i = 0; i < offset && i < len; i++) {
		if (text[i] == '\n') {
			(*line)++;
			*column = 1;
		} else {
			(*column)++;
		}
	}
}

static spreg_status
yaml_syntax_error(yaml_reader *r, const yaml_parser_t *parser,
    const char *text, size_t len)
{
	const char *problem = parser->problem != NULL ? parser->problem
						      : "syntax error";

	switch (parser->error) {
	case YAML_MEMORY_ERROR:
		return err_oom(r->e, NULL);
	case YAML_READER_ERROR: {
		size_t line;
		size_t column;
		offset_to_position(text, len, parser->problem_offset, &line,
		    &column);
		return err_set(r->e, SPREG_INVALID_ARGUMENT,
		    "YAML: %s at line %zu, column %zu", problem, line, column);
	}
	default:
		break;
	}
	if (parser->context != NULL) {
		return err_set(r->e, SPREG_INVALID_ARGUMENT,
		    "YAML: %s at line %zu, column %zu (%s at line %zu, column "
		    "%zu)",
		    problem, parser->problem_mark.line + 1,
		    parser->problem_mark.column + 1, parser->context,
		    parser->context_mark.line + 1, parser->context_mark.column + 1);
	}
	return yaml_fail(r, parser->problem_mark, "%s", problem);
}

static spreg_status
yaml_on_event(yaml_reader *r, const yaml_event_t *ev, bool *done)
{
	switch (ev->type) {
	case YAML_STREAM_START_EVENT:
	case YAML_DOCUMENT_END_EVENT:
	case YAML_NO_EVENT:
		return SPREG_OK;
	case YAML_STREAM_END_EVENT:
		*done = true;
		return SPREG_OK;
	case YAML_DOCUMENT_START_EVENT:
		if (r->seen_document && !r->stream) {
			return yaml_fail(r, ev->start_mark,
			    "expected a single document");
		}
		r->seen_document = true;
		return SPREG_OK;
	case YAML_ALIAS_EVENT:
		/* Aliases let a small file expand without bound. */
		return yaml_fail(r, ev->start_mark,
		    "anchors and aliases are not supported");
	case YAML_SCALAR_EVENT:
		return yaml_on_scalar(r, ev);
	case YAML_SEQUENCE_START_EVENT:
		return yaml_on_start(r, ev, false);
	case YAML_MAPPING_START_EVENT:
		return yaml_on_start(r, ev, true);
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		r->depth--;
		return SPREG_OK;
	}
	return SPREG_OK;
}

static spreg_status
parse_yaml(const char *text, size_t len, bool stream, pbjson_lines *lines,
    json_t **out, err *e)
{
	yaml_parser_t parser;
	yaml_reader reader = {.depth = 0, .root = NULL, .stream = stream,
	    .lines = lines, .e = e};
	spreg_status st = SPREG_OK;

	if (stream) {
		/* The documents go into one array, as the items of a list. */
		if ((reader.root = json_array()) == NULL) {
			return err_oom(e, NULL);
		}
		reader.stack[0] = (yaml_frame) {reader.root, NULL, 0};
		reader.depth = 1;
	}
	if (!yaml_parser_initialize(&parser)) {
		json_decref(reader.root);
		return err_oom(e, NULL);
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *) text, len);
	yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING);

	bool done = false;
	while (!done) {
		yaml_event_t ev;
		if (!yaml_parser_parse(&parser, &ev)) {
			st = yaml_syntax_error(&reader, &parser, text, len);
			goto fail;
		}
		st = yaml_on_event(&reader, &ev, &done);
		yaml_event_delete(&ev);
		if (st != SPREG_OK) {
			goto fail;
		}
	}
	if (reader.root == NULL || json_is_null(reader.root)) {
		st = err_set(e, SPREG_INVALID_ARGUMENT, "YAML: empty document");
		goto fail;
	}
	reader.depth = 0;
	yaml_parser_delete(&parser);
	*out = reader.root;
	return SPREG_OK;

fail:
	for (unsigned i = 0; i < reader.depth; i++) {
		free(reader.stack[i].key);
	}
	json_decref(reader.root);
	yaml_parser_delete(&parser);
	return st;
}

spreg_status
pbjson_parse_text(const char *text, size_t len, json_t **out, err *e)
{
	size_t i = 0;

	if (text == NULL) {
		len = 0;
		text = "";
	}
	while (i < len && (text[i] == ' ' || text[i] == '\t' ||
			      text[i] == '\n' || text[i] == '\r')) {
		i++;
	}
	if (i < len && (text[i] == '{' || text[i] == '[')) {
		return parse_json(text, len, out, e);
	}
	return parse_yaml(text, len, false, NULL, out, e);
}

spreg_status
pbjson_parse_yaml_stream(const char *text, size_t len, json_t **out,
    pbjson_lines *lines, err *e)
{
	if (text == NULL) {
		len = 0;
		text = "";
	}
	spreg_status st = parse_yaml(text, len, true, lines, out, e);
	if (st == SPREG_OK && lines != NULL && lines->n > 1) {
		qsort(lines->items, lines->n, sizeof(*lines->items), line_cmp);
	}
	return st;
}
