/*
 * JSON form of protobuf-c messages, driven by the generated descriptors
 * (so every message of the API gets it for free): proto field names,
 * fields at their default value omitted, enums as their short lower-case
 * name ("active" for SUBPROCESSOR_STATUS_ACTIVE; the full name is accepted
 * on input too), bytes as base64. YAML input is read into the same JSON
 * tree first, so JSON and YAML files share one path.
 */
#ifndef CORE_PBJSON_H
#define CORE_PBJSON_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>

#include "core/err.h"

/* Returns a new JSON object; caller json_decref()s. NULL only on OOM. */
json_t *pbjson_from_message(const ProtobufCMessage *msg);

/*
 * The same with PBJSON_PROTO3: the proto3 JSON mapping's forms, as the
 * HTTP API answers: 64-bit integers as decimal strings and enums by
 * their full name in the .proto ("SUBPROCESSOR_STATUS_ACTIVE"). Both
 * read back through pbjson_to_message.
 */
#define PBJSON_PROTO3 1u
json_t *pbjson_from_message_flags(const ProtobufCMessage *msg,
    unsigned flags);

/*
 * Builds a message of type desc from a JSON object. An unknown field, a
 * value of the wrong type or out of range, or an unknown enum name fails
 * with INVALID_ARGUMENT and a message naming the field path
 * ("locations[1].country"); RESOURCE_EXHAUSTED when memory runs out.
 * Lenient in three ways, for YAML's sake: a string field takes a number
 * or boolean as its text, a 64-bit field takes a decimal string, a float
 * field takes "NaN"/"Infinity"/"-Infinity". Lists are capped at 100000
 * entries, strings at 1 MiB. On success *msg_out is set; caller frees it
 * with protobuf_c_message_free_unpacked(msg, NULL).
 */
spreg_status pbjson_to_message(const json_t *json,
    const ProtobufCMessageDescriptor *desc, ProtobufCMessage **msg_out,
    err *e);

/*
 * Parses a document that is JSON (when its first non-blank character is
 * '{' or '[') or YAML (libyaml; no anchors, aliases or tags but !!str,
 * nesting up to 64). Plain YAML scalars follow YAML 1.2's core schema:
 * null, true/false, integers, reals, else strings; quoted ones stay
 * strings.
 * INVALID_ARGUMENT with line and column on a syntax error. Caller
 * json_decref()s *out.
 */
spreg_status pbjson_parse_text(const char *text, size_t len, json_t **out,
    err *e);

/*
 * Where the nodes of a parsed document start: 1-based lines, kept for
 * reporting problems in a file by line. Zero-initialise; fini frees.
 */
typedef struct pbjson_line {
	const json_t *node;
	size_t line;
} pbjson_line;
typedef struct pbjson_lines {
	pbjson_line *items;	/* sorted by node once parsed */
	size_t n, cap;
} pbjson_lines;
void pbjson_lines_fini(pbjson_lines *l);
/* The line node starts on; 0 when not known. jansson shares one node
 * for every true, false and null: theirs is one of their lines. */
size_t pbjson_line_of(const pbjson_lines *l, const json_t *node);

/*
 * A YAML stream of any number of documents (the same YAML as
 * pbjson_parse_text reads), as an array of them; empty documents are
 * left out. lines (may be NULL) gets the line of every node.
 */
spreg_status pbjson_parse_yaml_stream(const char *text, size_t len,
    json_t **out, pbjson_lines *lines, err *e);

/* Shared by pbjson.c and pbtext.c. */
#define PBJSON_MAX_DEPTH 64	/* nesting of objects and arrays */
/* Case-insensitive ASCII equality; strcasecmp would depend on the locale. */
bool pbjson_ascii_equal_nocase(const char *a, const char *b);

#endif
