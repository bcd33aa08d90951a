/*
 * Fuzzes the JSON/YAML import path: pbjson_parse_yaml_stream (its node
 * lines), pbjson_parse_text, then
 * pbjson_to_message into a Subprocessor and a Customer. A message that
 * builds must survive the round trip (pbjson_from_message, dump, parse,
 * build again: the same bytes) and go through validation against the
 * shipped catalog.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/catalog.h"
#include "core/pbjson.h"
#include "core/validate.h"
#include "spreg/v1/registry.pb-c.h"

#include "fuzz.h"

static catalog *cat;

static void
drop_catalog(void)
{
	catalog_destroy(cat);
}

static bool
known_category(void *arg, const char *key)
{
	(void) arg;
	return catalog_category_find(cat, key) != NULL;
}

/* Packs m into a new buffer; caller frees. */
static uint8_t *
pack(const ProtobufCMessage *m, size_t *len)
{
	*len = protobuf_c_message_get_packed_size(m);
	uint8_t *buf = malloc(*len + 1);
	if (buf == NULL) {
		abort();
	}
	if (protobuf_c_message_pack(m, buf) != *len) {
		abort();
	}
	return buf;
}

static void
round_trip(const ProtobufCMessage *m)
{
	json_t *j = pbjson_from_message(m);
	if (j == NULL) {
		abort();
	}
	char *text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (text == NULL) {
		fprintf(stderr, "pbjson_from_message made JSON that does not "
		    "dump\n");
		abort();
	}
	json_t *again;
	ProtobufCMessage *back;
	err e;
	if (pbjson_parse_text(text, strlen(text), &again, &e) != SPREG_OK) {
		fprintf(stderr, "round trip does not parse: %s\n%s\n", e.msg,
		    text);
		abort();
	}
	if (pbjson_to_message(again, m->descriptor, &back, &e) != SPREG_OK) {
		fprintf(stderr, "round trip does not build: %s\n%s\n", e.msg,
		    text);
		abort();
	}
	size_t alen, blen;
	uint8_t *a = pack(m, &alen), *b = pack(back, &blen);
	if (alen != blen || memcmp(a, b, alen) != 0) {
		fprintf(stderr, "round trip changed the message:\n%s\n", text);
		abort();
	}
	free(a);
	free(b);
	protobuf_c_message_free_unpacked(back, NULL);
	json_decref(again);
	free(text);
}

/* Validation normalises in place, pointing at literals: give it a copy
 * in an arena, as the server does. */
static void
validate(const ProtobufCMessage *m)
{
	arena a;
	size_t len;
	err e;
	uint8_t *buf = pack(m, &len);

	arena_init(&a, (size_t) 64 << 20);
	ProtobufCMessage *copy = protobuf_c_message_unpack(m->descriptor,
	    &a.pb, len, buf);
	if (copy == NULL) {
		fprintf(stderr, "a packed message does not unpack\n");
		abort();
	}
	if (m->descriptor == &spreg__v1__subprocessor__descriptor) {
		Spreg__V1__Subprocessor *sp = (Spreg__V1__Subprocessor *) copy;
		if (validate_subprocessor(cat, known_category, NULL, sp, &e) ==
		    SPREG_OK) {
			/* What passed must pass again, unchanged. */
			size_t n1, n2;
			uint8_t *p1 = pack(copy, &n1);
			if (validate_subprocessor(cat, known_category, NULL, sp,
			        &e) != SPREG_OK) {
				fprintf(stderr, "valid once, not twice: %s\n",
				    e.msg);
				abort();
			}
			uint8_t *p2 = pack(copy, &n2);
			if (n1 != n2 || memcmp(p1, p2, n1) != 0) {
				fprintf(stderr, "validation is not idempotent\n");
				abort();
			}
			free(p1);
			free(p2);
		}
	} else {
		(void) validate_customer((Spreg__V1__Customer *) copy, &e);
	}
	arena_fini(&a);
	free(buf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const ProtobufCMessageDescriptor *const descs[] = {
		&spreg__v1__subprocessor__descriptor,
		&spreg__v1__customer__descriptor,
	};
	json_t *doc;
	err e;

	if (cat == NULL) {
		if (catalog_load(SPREG_TEST_DATA, &cat, &e) != SPREG_OK) {
			fprintf(stderr, "fuzz_pbjson: %s\n", e.msg);
			abort();
		}
		atexit(drop_catalog);
	}
	/* A stream of YAML documents (spreg import), with the line of every
	 * node: each node's line is known and within the input (true, false
	 * and null are shared nodes: any of their lines). */
	pbjson_lines lines = {0};
	if (pbjson_parse_yaml_stream((const char *) data, size, &doc, &lines,
	        &e) == SPREG_OK) {
		for (size_t i = 0; i < lines.n; i++) {
			if (lines.items[i].line == 0 ||
			    lines.items[i].line > size + 1 ||
			    pbjson_line_of(&lines, lines.items[i].node) == 0) {
				abort();
			}
		}
		json_decref(doc);
	}
	pbjson_lines_fini(&lines);
	if (pbjson_parse_text((const char *) data, size, &doc, &e) !=
	    SPREG_OK) {
		return 0;
	}
	/* A record, or the first records of an import file. */
	for (size_t d = 0; d < sizeof(descs) / sizeof(descs[0]); d++) {
		size_t n = json_is_array(doc) ? json_array_size(doc) : 1;
		for (size_t i = 0; i < n && i < 4; i++) {
			const json_t *item = json_is_array(doc) ?
			    json_array_get(doc, i) : doc;
			ProtobufCMessage *m;
			if (pbjson_to_message(item, descs[d], &m, &e) !=
			    SPREG_OK) {
				continue;
			}
			round_trip(m);
			validate(m);
			protobuf_c_message_free_unpacked(m, NULL);
		}
	}
	json_decref(doc);
	return 0;
}
