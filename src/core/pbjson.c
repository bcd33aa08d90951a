/*
 * JSON form of protobuf-c messages by reflection over the generated
 * descriptors: message -> JSON here, JSON -> message in pbjson_read.c,
 * the helpers both use (base64, enum names, field sizes) here too. The
 * JSON/YAML reader that produces the json_t tree from text is in
 * pbtext.c.
 *
 * Input is untrusted (CLI files, HTTP bodies), so every conversion checks
 * type and range, sizes are capped, and every failure frees what it built:
 * a message under construction is always in a state that
 * protobuf_c_message_free_unpacked() can free, because a field is written
 * only once its value is complete and a repeated field's count grows one
 * finished element at a time.
 */
#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/pbjson.h"
#include "core/pbjson_internal.h"

/* ---- small helpers ------------------------------------------------------ */

static char
ascii_lower(char c)
{
	if (c >= 'A' && c <= 'Z') {
		return (char) (c - 'A' + 'a');
	}
	return c;
}

bool
pbjson_ascii_equal_nocase(const char *a, const char *b)
{
	while (*a != '\0' && ascii_lower(*a) == ascii_lower(*b)) {
		a++;
		b++;
	}
	return ascii_lower(*a) == ascii_lower(*b);
}

/*
 * Length of the text that is a valid UTF-8 sequence at s (1 to 4 bytes),
 * or 0 when the bytes there are not valid UTF-8 (overlong forms,
 * surrogates and values above U+10FFFF included).
 */
static size_t
utf8_sequence_len(const unsigned char *s, size_t left)
{
	unsigned char c = s[0];
	size_t need;
	unsigned char low = 0x80;
	unsigned char high = 0xbf;

	if (c < 0x80) {
		return 1;
	} else if (c >= 0xc2 && c <= 0xdf) {
		need = 2;
	} else if (c >= 0xe0 && c <= 0xef) {
		need = 3;
		if (c == 0xe0) {
			low = 0xa0;
		} else if (c == 0xed) {
			high = 0x9f;
		}
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 4;
		if (c == 0xf0) {
			low = 0x90;
		} else if (c == 0xf4) {
			high = 0x8f;
		}
	} else {
		return 0;
	}
	if (left < need || s[1] < low || s[1] > high) {
		return 0;
	}
	for (size_t i = 2; i < need; i++) {
		if (s[i] < 0x80 || s[i] > 0xbf) {
			return 0;
		}
	}
	return need;
}

/*
 * protobuf-c does not check that a string field holds UTF-8, and jansson
 * refuses to build a string that does not. Rather than fail the whole
 * message, invalid bytes become U+FFFD, as most JSON encoders do.
 */
static json_t *
json_string_lossy(const char *text)
{
	json_t *value = json_string(text);
	if (value != NULL) {
		return value;
	}

	const unsigned char *in = (const unsigned char *) text;
	size_t len = strlen(text);
	/* Each invalid byte grows into three. */
	char *fixed = malloc(len * 3 + 1);
	if (fixed == NULL) {
		return NULL;
	}
	size_t out = 0;
	size_t i = 0;
	while (i < len) {
		size_t seq = utf8_sequence_len(in + i, len - i);
		if (seq == 0) {
			memcpy(fixed + out, "\xef\xbf\xbd", 3);
			out += 3;
			i++;
		} else {
			memcpy(fixed + out, in + i, seq);
			out += seq;
			i += seq;
		}
	}
	value = json_stringn(fixed, out);
	free(fixed);
	return value;
}

/*
 * The shortest "%g" text that reads back as exactly v, so 0.1 prints as
 * "0.1" and not "0.10000000000000001". Integral values print without an
 * exponent while that is exact ("1000", not "1e+03").
 */
void
pbjson_format_double(double v, char buf[NUMBER_BUF])
{
	if (v == floor(v) && fabs(v) < 1e17) {
		snprintf(buf, NUMBER_BUF, "%.0f", v);
		return;
	}
	for (int precision = 1; precision <= 17; precision++) {
		snprintf(buf, NUMBER_BUF, "%.*g", precision, v);
		if (strtod(buf, NULL) == v) {
			return;
		}
	}
}

/* ---- base64 (RFC 4648) -------------------------------------------------- */

static const char base64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static json_t *
base64_encode(const ProtobufCBinaryData *bytes)
{
	size_t out_len = (bytes->len + 2) / 3 * 4;
	char *out = malloc(out_len + 1);
	if (out == NULL) {
		return NULL;
	}
	size_t o = 0;
	for (size_t i = 0; i < bytes->len; i += 3) {
		size_t left = bytes->len - i;
		uint32_t group = (uint32_t) bytes->data[i] << 16;
		if (left > 1) {
			group |= (uint32_t) bytes->data[i + 1] << 8;
		}
		if (left > 2) {
			group |= bytes->data[i + 2];
		}
		out[o++] = base64_alphabet[(group >> 18) & 0x3f];
		out[o++] = base64_alphabet[(group >> 12) & 0x3f];
		out[o++] = left > 1 ? base64_alphabet[(group >> 6) & 0x3f] : '=';
		out[o++] = left > 2 ? base64_alphabet[group & 0x3f] : '=';
	}
	json_t *value = json_stringn(out, o);
	free(out);
	return value;
}

/* Both the standard and the URL-safe alphabet are accepted on input. */
static int
base64_digit(char c)
{
	if (c >= 'A' && c <= 'Z') {
		return c - 'A';
	} else if (c >= 'a' && c <= 'z') {
		return c - 'a' + 26;
	} else if (c >= '0' && c <= '9') {
		return c - '0' + 52;
	} else if (c == '+' || c == '-') {
		return 62;
	} else if (c == '/' || c == '_') {
		return 63;
	}
	return -1;
}

/*
 * Decodes text (padding optional). Returns false on malformed input. An
 * empty text gives {0, NULL}; otherwise out->data is malloc()ed.
 */
bool
pbjson_base64_decode(const char *text, size_t len, ProtobufCBinaryData *out,
    bool *oom)
{
	*oom = false;
	size_t data_len = len;
	if (len > 0 && text[len - 1] == '=') {
		if (len % 4 != 0) {
			return false;
		}
		data_len--;
		if (text[data_len - 1] == '=') {
			data_len--;
		}
	}
	if (data_len % 4 == 1) {
		return false;
	}
	size_t out_len = data_len / 4 * 3 + (data_len % 4 == 0 ? 0 : data_len % 4 - 1);
	if (out_len == 0) {
		out->len = 0;
		out->data = NULL;
		return true;
	}
	uint8_t *data = malloc(out_len);
	if (data == NULL) {
		*oom = true;
		return false;
	}
	size_t o = 0;
	for (size_t i = 0; i < data_len; i += 4) {
		size_t chunk = data_len - i < 4 ? data_len - i : 4;
		uint32_t group = 0;
		for (size_t k = 0; k < 4; k++) {
			int digit = k < chunk ? base64_digit(text[i + k]) : 0;
			if (digit < 0) {
				free(data);
				return false;
			}
			group = (group << 6) | (uint32_t) digit;
		}
		data[o++] = (uint8_t) (group >> 16);
		if (chunk > 2) {
			data[o++] = (uint8_t) (group >> 8);
		}
		if (chunk > 3) {
			data[o++] = (uint8_t) group;
		}
	}
	out->len = out_len;
	out->data = data;
	return true;
}

/* ---- enums -------------------------------------------------------------- */

/*
 * Length of the prefix that the enum's value names share, cut back to an
 * underscore: "SUBPROCESSOR_STATUS_" for SUBPROCESSOR_STATUS_ACTIVE and
 * friends, 0 for OK/CANCELLED/... The short name is what follows. If a
 * short name would be empty or start with a digit (not an identifier, and
 * YAML would read it as a number) the enum gets no prefix.
 */
static size_t
enum_prefix_len(const ProtobufCEnumDescriptor *ed)
{
	if (ed->n_values == 0) {
		return 0;
	}
	const char *first = ed->values[0].name;
	size_t common = strlen(first);
	for (unsigned i = 1; i < ed->n_values; i++) {
		const char *name = ed->values[i].name;
		size_t same = 0;
		while (same < common && name[same] == first[same]) {
			same++;
		}
		common = same;
	}
	while (common > 0 && first[common - 1] != '_') {
		common--;
	}
	for (unsigned i = 0; i < ed->n_values; i++) {
		char next = ed->values[i].name[common];
		if (next == '\0' || (next >= '0' && next <= '9')) {
			return 0;
		}
	}
	return common;
}

static json_t *
enum_to_json(const ProtobufCEnumDescriptor *ed, int number)
{
	const ProtobufCEnumValue *ev =
	    protobuf_c_enum_descriptor_get_value(ed, number);
	if (ev == NULL) {
		/* proto3 enums are open: a number from a newer peer stays. */
		return json_integer(number);
	}
	const char *short_name = ev->name + enum_prefix_len(ed);
	size_t len = strlen(short_name);
	char *lower = malloc(len + 1);
	if (lower == NULL) {
		return NULL;
	}
	for (size_t i = 0; i <= len; i++) {
		lower[i] = ascii_lower(short_name[i]);
	}
	json_t *value = json_string(lower);
	free(lower);
	return value;
}

/*
 * Short names are tried before full names so that the canonical (short)
 * output always reads back as itself, even in the odd enum where one
 * value's full name equals another's short name.
 */
bool
pbjson_enum_from_name(const ProtobufCEnumDescriptor *ed, const char *text,
    int *number_out)
{
	size_t prefix = enum_prefix_len(ed);
	for (unsigned i = 0; i < ed->n_values; i++) {
		if (pbjson_ascii_equal_nocase(text, ed->values[i].name + prefix)) {
			*number_out = ed->values[i].value;
			return true;
		}
	}
	for (unsigned i = 0; i < ed->n_values; i++) {
		if (pbjson_ascii_equal_nocase(text, ed->values[i].name)) {
			*number_out = ed->values[i].value;
			return true;
		}
	}
	return false;
}

/* ---- message -> JSON ---------------------------------------------------- */

size_t
pbjson_element_size(ProtobufCType type)
{
	switch (type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		return sizeof(int32_t);
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		return sizeof(uint32_t);
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		return sizeof(int64_t);
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		return sizeof(uint64_t);
	case PROTOBUF_C_TYPE_FLOAT:
		return sizeof(float);
	case PROTOBUF_C_TYPE_DOUBLE:
		return sizeof(double);
	case PROTOBUF_C_TYPE_BOOL:
		return sizeof(protobuf_c_boolean);
	case PROTOBUF_C_TYPE_ENUM:
		/* protoc-c forces every enum to int size. */
		return sizeof(int);
	case PROTOBUF_C_TYPE_STRING:
		return sizeof(char *);
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(ProtobufCMessage *);
	}
	return 0;
}

/*
 * protoc-c marks nothing as a map: map<K, V> becomes a repeated nested
 * message "<Name>Entry" with fields key = 1 and value = 2, so that shape
 * is what we recognise.
 */
bool
pbjson_is_map_entry(const ProtobufCMessageDescriptor *desc)
{
	size_t len = strlen(desc->short_name);
	return len > 5 && strcmp(desc->short_name + len - 5, "Entry") == 0 &&
	    desc->n_fields == 2 && desc->fields[0].id == 1 &&
	    strcmp(desc->fields[0].name, "key") == 0 && desc->fields[1].id == 2 &&
	    strcmp(desc->fields[1].name, "value") == 0;
}

static json_t *message_to_json(const ProtobufCMessage *msg, unsigned flags);

static json_t *
float_to_json(double v, bool single)
{
	if (isnan(v)) {
		return json_string("NaN");
	}
	if (isinf(v)) {
		return json_string(v > 0 ? "Infinity" : "-Infinity");
	}
	if (!single) {
		return json_real(v);
	}
	/*
	 * (double) 0.1f is 0.100000001490116...; write the double nearest
	 * the shortest decimal that reads back as the same float instead.
	 */
	float f = (float) v;
	char buf[NUMBER_BUF];
	for (int precision = 1; precision <= 9; precision++) {
		snprintf(buf, sizeof(buf), "%.*g", precision, v);
		if (strtof(buf, NULL) == f) {
			break;
		}
	}
	return json_real(strtod(buf, NULL));
}

/* One value of field fd stored at member (a singular field or an element). */
static json_t *
value_to_json(const ProtobufCFieldDescriptor *fd, const void *member,
    unsigned flags)
{
	switch (fd->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		return json_integer(*(const int32_t *) member);
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		return json_integer(*(const uint32_t *) member);
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		if (flags & PBJSON_PROTO3) {
			char buf[NUMBER_BUF];
			snprintf(buf, sizeof(buf), "%" PRId64,
			    *(const int64_t *) member);
			return json_string(buf);
		}
		return json_integer(*(const int64_t *) member);
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64: {
		uint64_t v = *(const uint64_t *) member;
		if (v <= (uint64_t) INT64_MAX && !(flags & PBJSON_PROTO3)) {
			return json_integer((json_int_t) v);
		}
		/* Beyond json_int_t: a decimal string, which input accepts. */
		char buf[NUMBER_BUF];
		snprintf(buf, sizeof(buf), "%" PRIu64, v);
		return json_string(buf);
	}
	case PROTOBUF_C_TYPE_FLOAT:
		return float_to_json(*(const float *) member, true);
	case PROTOBUF_C_TYPE_DOUBLE:
		return float_to_json(*(const double *) member, false);
	case PROTOBUF_C_TYPE_BOOL:
		return json_boolean(*(const protobuf_c_boolean *) member);
	case PROTOBUF_C_TYPE_ENUM:
		if (flags & PBJSON_PROTO3) {
			const ProtobufCEnumValue *ev =
			    protobuf_c_enum_descriptor_get_value(fd->descriptor,
			        *(const int *) member);
			return ev != NULL ? json_string(ev->name) :
			    json_integer(*(const int *) member);
		}
		return enum_to_json(fd->descriptor, *(const int *) member);
	case PROTOBUF_C_TYPE_STRING: {
		const char *text = *(char *const *) member;
		return json_string_lossy(text != NULL ? text : "");
	}
	case PROTOBUF_C_TYPE_BYTES:
		return base64_encode(member);
	case PROTOBUF_C_TYPE_MESSAGE: {
		const ProtobufCMessage *sub = *(ProtobufCMessage *const *) member;
		return sub != NULL ? message_to_json(sub, flags) :
		    json_null();
	}
	}
	return json_null();
}

/* proto3 implicit presence: a field is written unless it holds zero. */
static bool
value_is_zero(const ProtobufCFieldDescriptor *fd, const void *member)
{
	switch (fd->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		return *(const uint32_t *) member == 0;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		return *(const uint64_t *) member == 0;
	case PROTOBUF_C_TYPE_FLOAT:
		return *(const float *) member == 0;
	case PROTOBUF_C_TYPE_DOUBLE:
		return *(const double *) member == 0;
	case PROTOBUF_C_TYPE_BOOL:
		return !*(const protobuf_c_boolean *) member;
	case PROTOBUF_C_TYPE_ENUM:
		return *(const int *) member == 0;
	case PROTOBUF_C_TYPE_STRING: {
		const char *text = *(char *const *) member;
		return text == NULL || text[0] == '\0';
	}
	case PROTOBUF_C_TYPE_BYTES:
		return ((const ProtobufCBinaryData *) member)->len == 0;
	case PROTOBUF_C_TYPE_MESSAGE:
		return *(ProtobufCMessage *const *) member == NULL;
	}
	return true;
}

/* Presence of a singular field, by the rules protobuf-c packs with. */
static bool
field_is_present(const ProtobufCMessage *msg,
    const ProtobufCFieldDescriptor *fd)
{
	const char *base = (const char *) msg;
	const void *member = base + fd->offset;
	bool is_pointer = fd->type == PROTOBUF_C_TYPE_STRING ||
	    fd->type == PROTOBUF_C_TYPE_MESSAGE;

	if ((fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) != 0) {
		uint32_t chosen =
		    *(const uint32_t *) (base + fd->quantifier_offset);
		return chosen == fd->id &&
		    (!is_pointer || *(void *const *) member != NULL);
	}
	switch (fd->label) {
	case PROTOBUF_C_LABEL_REQUIRED:
		return !is_pointer || *(void *const *) member != NULL;
	case PROTOBUF_C_LABEL_OPTIONAL:
		if (is_pointer) {
			const void *ptr = *(void *const *) member;
			return ptr != NULL && ptr != fd->default_value;
		}
		return *(const protobuf_c_boolean *) (base +
		    fd->quantifier_offset);
	case PROTOBUF_C_LABEL_NONE:
	case PROTOBUF_C_LABEL_REPEATED:
		break;
	}
	return !value_is_zero(fd, member);
}

static json_t *
repeated_to_json(const ProtobufCFieldDescriptor *fd, const void *elements,
    size_t count, unsigned flags)
{
	json_t *array = json_array();
	if (array == NULL) {
		return NULL;
	}
	size_t size = pbjson_element_size(fd->type);
	for (size_t i = 0; i < count; i++) {
		const void *member = (const char *) elements + i * size;
		/* append_new consumes the value, even a NULL or on failure. */
		if (json_array_append_new(array,
		        value_to_json(fd, member, flags)) != 0) {
			json_decref(array);
			return NULL;
		}
	}
	return array;
}

/*
 * Keys go in descriptor order, which protoc-c sorts by field number; in
 * our protos that is declaration order. jansson (>= 2.8) keeps insertion
 * order when dumping.
 */
static json_t *
message_to_json(const ProtobufCMessage *msg, unsigned flags)
{
	const ProtobufCMessageDescriptor *desc = msg->descriptor;
	const char *base = (const char *) msg;
	json_t *object = json_object();
	if (object == NULL) {
		return NULL;
	}
	for (unsigned i = 0; i < desc->n_fields; i++) {
		const ProtobufCFieldDescriptor *fd = &desc->fields[i];
		const void *member = base + fd->offset;
		json_t *value;

		if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t count =
			    *(const size_t *) (base + fd->quantifier_offset);
			if (count == 0) {
				continue;
			}
			value = repeated_to_json(fd, *(void *const *) member, count,
			    flags);
		} else {
			if (!field_is_present(msg, fd)) {
				continue;
			}
			value = value_to_json(fd, member, flags);
		}
		if (json_object_set_new(object, fd->name, value) != 0) {
			json_decref(object);
			return NULL;
		}
	}
	return object;
}

json_t *
pbjson_from_message(const ProtobufCMessage *msg)
{
	return message_to_json(msg, 0);
}

json_t *
pbjson_from_message_flags(const ProtobufCMessage *msg, unsigned flags)
{
	return message_to_json(msg, flags);
}
