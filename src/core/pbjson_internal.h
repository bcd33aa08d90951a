/*
 * Private to src/core/pbjson*.c: what the writer (pbjson.c) and the
 * reader (pbjson_read.c) of the JSON form share.
 */
#ifndef CORE_PBJSON_INTERNAL_H
#define CORE_PBJSON_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

/* Bounds against hostile input; see pbjson.h. */
#define PBJSON_MAX_REPEATED 100000
#define PBJSON_MAX_STRING (1024 * 1024)

/* Long enough for any path of our schema; longer ones are cut short. */
#define PBJSON_PATH_MAX 256

/* Enough for "%.17g" of any double and for any 64-bit integer. */
#define NUMBER_BUF 40

/* The size of one element of a field of this type in a message. */
size_t pbjson_element_size(ProtobufCType type);
/* A map<K, V>'s entry message (protoc-c marks none: by its shape). */
bool pbjson_is_map_entry(const ProtobufCMessageDescriptor *desc);
/* The shortest text that reads back as exactly v. */
void pbjson_format_double(double v, char buf[NUMBER_BUF]);
/* Decodes base64 text (either alphabet, padding optional); false when
 * malformed or out of memory (*oom). An empty text gives {0, NULL};
 * otherwise out->data is malloc()ed. */
bool pbjson_base64_decode(const char *text, size_t len,
    ProtobufCBinaryData *out, bool *oom);
/* An enum value by short or full name, in any case. */
bool pbjson_enum_from_name(const ProtobufCEnumDescriptor *ed,
    const char *text, int *number_out);

#endif
