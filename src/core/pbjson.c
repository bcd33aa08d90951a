/*
 * JSON form of protobuf-c messages by reflection over the generated
 * descriptors. The JSON/YAML reader that produces the json_t tree from
 * text is in pbtext.c.
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

/* Bounds against hostile input; see pbjson.h. */
#define PBJSON_MAX_REPEATED 100000
#define PBJSON_MAX_STRING (1024 * 1024)

/* Long enough for any path of our schema; longer ones are cut short. */
#define PBJSON_PATH_MAX 256

/* Enough for "%.17g" of any double and for any 64-bit integer. */
#define NUMBER_BUF 40

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
static void
format_double(double v, char buf[NUMBER_BUF])
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
static bool
base64_decode(const char *text, size_t len, ProtobufCBinaryData *out,
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
static bool
enum_from_name(const ProtobufCEnumDescriptor *ed, const char *text,
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

static size_t
element_size(ProtobufCType type)
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
static bool
is_map_entry(const ProtobufCMessageDescriptor *desc)
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
	size_t size = element_size(fd->type);
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

/* ---- JSON -> message ---------------------------------------------------- */

/* Where in the document we are, for error messages: "locations[1].role". */
typedef struct pathbuf {
	char text[PBJSON_PATH_MAX];
	size_t len;
} pathbuf;

/* Each push returns the length to hand back to path_pop. */
static size_t
path_push_field(pathbuf *path, const char *name)
{
	size_t old = path->len;
	int n = snprintf(path->text + old, sizeof(path->text) - old, "%s%s",
	    old > 0 ? "." : "", name);
	if (n > 0) {
		size_t grown = old + (size_t) n;
		path->len = grown < sizeof(path->text) ? grown
							: sizeof(path->text) - 1;
	}
	return old;
}

static size_t
path_push_index(pathbuf *path, size_t index)
{
	size_t old = path->len;
	int n = snprintf(path->text + old, sizeof(path->text) - old, "[%zu]",
	    index);
	if (n > 0) {
		size_t grown = old + (size_t) n;
		path->len = grown < sizeof(path->text) ? grown
							: sizeof(path->text) - 1;
	}
	return old;
}

static void
path_pop(pathbuf *path, size_t old)
{
	path->len = old;
	path->text[old] = '\0';
}

/* INVALID_ARGUMENT with "path: " before the message (no prefix at the top). */
static spreg_status bad_value(err *e, const pathbuf *path, const char *fmt,
    ...) __attribute__((format(printf, 3, 4)));

static spreg_status
bad_value(err *e, const pathbuf *path, const char *fmt, ...)
{
	char detail[ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	if (path->len == 0) {
		return err_set(e, SPREG_INVALID_ARGUMENT, "%s", detail);
	}
	return err_set(e, SPREG_INVALID_ARGUMENT, "%s: %s", path->text, detail);
}

static const char *
json_type_name(const json_t *value)
{
	switch (json_typeof(value)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
		return "an integer";
	case JSON_REAL:
		return "a real number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	case JSON_NULL:
		return "null";
	}
	return "an unknown value";
}

static spreg_status
wrong_type(err *e, const pathbuf *path, const char *expected,
    const json_t *value)
{
	return bad_value(e, path, "expected %s, got %s", expected,
	    json_type_name(value));
}

/*
 * A string field also takes a number or a boolean, as its text: YAML
 * reads a plain `2022` or `yes` as a number or boolean, and a file should
 * not need quotes around a year or a reference number to be accepted.
 * Quoting keeps the exact text (`"1.10"`, `"007"`).
 */
static spreg_status
string_from_json(const json_t *value, pathbuf *path, err *e,
    char **text_out)
{
	const char *text;
	size_t len;
	char buf[NUMBER_BUF];

	switch (json_typeof(value)) {
	case JSON_STRING:
		text = json_string_value(value);
		len = json_string_length(value);
		break;
	case JSON_INTEGER:
		snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT,
		    json_integer_value(value));
		text = buf;
		len = strlen(buf);
		break;
	case JSON_REAL:
		format_double(json_real_value(value), buf);
		text = buf;
		len = strlen(buf);
		break;
	case JSON_TRUE:
	case JSON_FALSE:
		text = json_is_true(value) ? "true" : "false";
		len = strlen(text);
		break;
	default:
		return wrong_type(e, path, "a string", value);
	}
	if (len > PBJSON_MAX_STRING) {
		return bad_value(e, path, "string longer than %d bytes",
		    PBJSON_MAX_STRING);
	}
	/* The message holds C strings: a NUL would silently cut the text. */
	if (memchr(text, '\0', len) != NULL) {
		return bad_value(e, path, "string contains a NUL character");
	}
	char *copy = malloc(len + 1);
	if (copy == NULL) {
		return err_oom(e, NULL);
	}
	memcpy(copy, text, len + 1);
	*text_out = copy;
	return SPREG_OK;
}

static spreg_status
bytes_from_json(const json_t *value, pathbuf *path, err *e,
    ProtobufCBinaryData *bytes_out)
{
	if (!json_is_string(value)) {
		return wrong_type(e, path, "a base64 string", value);
	}
	size_t len = json_string_length(value);
	if (len > (PBJSON_MAX_STRING + 2) / 3 * 4) {
		return bad_value(e, path, "bytes longer than %d", PBJSON_MAX_STRING);
	}
	bool oom;
	if (!base64_decode(json_string_value(value), len, bytes_out, &oom)) {
		if (oom) {
			return err_oom(e, NULL);
		}
		return bad_value(e, path, "invalid base64");
	}
	return SPREG_OK;
}

/* An integer in [min, max] from a JSON integer. */
static spreg_status
integer_from_json(const json_t *value, json_int_t min, json_int_t max,
    const char *type_name, pathbuf *path, err *e, json_int_t *out)
{
	if (!json_is_integer(value)) {
		return wrong_type(e, path, "an integer", value);
	}
	json_int_t v = json_integer_value(value);
	if (v < min || v > max) {
		return bad_value(e, path,
		    "value %" JSON_INTEGER_FORMAT " out of range for %s", v,
		    type_name);
	}
	*out = v;
	return SPREG_OK;
}

/* Decimal digits only; false when empty, not digits, or above UINT64_MAX. */
static bool
parse_u64_digits(const char *text, size_t len, uint64_t *out, bool *overflow)
{
	uint64_t v = 0;

	*overflow = false;
	if (len == 0) {
		return false;
	}
	for (size_t i = 0; i < len; i++) {
		if (text[i] < '0' || text[i] > '9') {
			return false;
		}
		unsigned digit = (unsigned) (text[i] - '0');
		if (v > (UINT64_MAX - digit) / 10) {
			*overflow = true;
			return false;
		}
		v = v * 10 + digit;
	}
	*out = v;
	return true;
}

/*
 * 64-bit integers come as JSON integers or, because JSON readers in other
 * languages lose precision above 2^53 and jansson cannot hold values above
 * INT64_MAX, as decimal strings ("18446744073709551615").
 */
static spreg_status
int64_from_json(const json_t *value, bool is_signed, pathbuf *path, err *e,
    uint64_t *bits_out)
{
	const char *type_name = is_signed ? "int64" : "uint64";

	if (json_is_integer(value)) {
		json_int_t v = json_integer_value(value);
		if (!is_signed && v < 0) {
			return bad_value(e, path,
			    "value %" JSON_INTEGER_FORMAT " out of range for %s", v,
			    type_name);
		}
		*bits_out = (uint64_t) v;
		return SPREG_OK;
	}
	if (!json_is_string(value)) {
		return wrong_type(e, path, "an integer or a decimal string", value);
	}
	const char *text = json_string_value(value);
	size_t len = json_string_length(value);
	bool negative = is_signed && len > 0 && text[0] == '-';
	uint64_t magnitude;
	bool overflow;
	if (!parse_u64_digits(text + negative, len - negative, &magnitude,
		&overflow)) {
		if (overflow) {
			return bad_value(e, path, "value %s out of range for %s",
			    text, type_name);
		}
		return bad_value(e, path, "'%s' is not a decimal integer", text);
	}
	if (is_signed) {
		uint64_t limit = (uint64_t) INT64_MAX + (negative ? 1 : 0);
		if (magnitude > limit) {
			return bad_value(e, path, "value %s out of range for %s",
			    text, type_name);
		}
		/* Two's complement negation, defined on the unsigned type. */
		*bits_out = negative ? 0 - magnitude : magnitude;
	} else {
		*bits_out = magnitude;
	}
	return SPREG_OK;
}

/*
 * Non-finite values have no JSON number, so they travel as the strings
 * proto3's JSON mapping uses; output writes them the same way.
 */
static spreg_status
double_from_json(const json_t *value, pathbuf *path, err *e, double *out)
{
	if (json_is_number(value)) {
		*out = json_number_value(value);
		return SPREG_OK;
	}
	if (json_is_string(value)) {
		const char *text = json_string_value(value);
		if (strcmp(text, "NaN") == 0) {
			*out = NAN;
			return SPREG_OK;
		} else if (strcmp(text, "Infinity") == 0) {
			*out = INFINITY;
			return SPREG_OK;
		} else if (strcmp(text, "-Infinity") == 0) {
			*out = -INFINITY;
			return SPREG_OK;
		}
	}
	return wrong_type(e, path, "a number", value);
}

static spreg_status
enum_from_json(const json_t *value, const ProtobufCEnumDescriptor *ed,
    pathbuf *path, err *e, int *out)
{
	if (json_is_string(value)) {
		const char *text = json_string_value(value);
		if (strlen(text) == json_string_length(value) &&
		    enum_from_name(ed, text, out)) {
			return SPREG_OK;
		}
		return bad_value(e, path, "unknown value '%s' for enum %s", text,
		    ed->name);
	}
	if (json_is_integer(value)) {
		json_int_t v = json_integer_value(value);
		if (v >= INT_MIN && v <= INT_MAX &&
		    protobuf_c_enum_descriptor_get_value(ed, (int) v) != NULL) {
			*out = (int) v;
			return SPREG_OK;
		}
		return bad_value(e, path,
		    "unknown value %" JSON_INTEGER_FORMAT " for enum %s", v,
		    ed->name);
	}
	return wrong_type(e, path, "an enum name or number", value);
}

static spreg_status build_message(const json_t *json,
    const ProtobufCMessageDescriptor *desc, pathbuf *path, unsigned depth,
    err *e, ProtobufCMessage **msg_out);

/*
 * Converts one value of field fd into dst (the member, or an element of a
 * repeated field). dst is written only on success, and nothing allocated
 * here survives a failure.
 */
static spreg_status
value_from_json(const ProtobufCFieldDescriptor *fd, const json_t *value,
    pathbuf *path, unsigned depth, err *e, void *dst)
{
	/* Initialised because gcc cannot see that st == SPREG_OK sets them. */
	spreg_status st;
	json_int_t v = 0;
	uint64_t bits = 0;
	double real = 0;

	switch (fd->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		st = integer_from_json(value, INT32_MIN, INT32_MAX, "int32", path,
		    e, &v);
		if (st == SPREG_OK) {
			*(int32_t *) dst = (int32_t) v;
		}
		return st;
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		st = integer_from_json(value, 0, UINT32_MAX, "uint32", path, e, &v);
		if (st == SPREG_OK) {
			*(uint32_t *) dst = (uint32_t) v;
		}
		return st;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64: {
		bool is_signed = fd->type == PROTOBUF_C_TYPE_INT64 ||
		    fd->type == PROTOBUF_C_TYPE_SINT64 ||
		    fd->type == PROTOBUF_C_TYPE_SFIXED64;
		st = int64_from_json(value, is_signed, path, e, &bits);
		if (st == SPREG_OK) {
			/* int64_t and uint64_t share a representation. */
			memcpy(dst, &bits, sizeof(bits));
		}
		return st;
	}
	case PROTOBUF_C_TYPE_FLOAT:
		st = double_from_json(value, path, e, &real);
		if (st != SPREG_OK) {
			return st;
		}
		if (isfinite(real) && fabs(real) > FLT_MAX) {
			return bad_value(e, path, "value %g out of range for float",
			    real);
		}
		*(float *) dst = (float) real;
		return SPREG_OK;
	case PROTOBUF_C_TYPE_DOUBLE:
		st = double_from_json(value, path, e, &real);
		if (st == SPREG_OK) {
			*(double *) dst = real;
		}
		return st;
	case PROTOBUF_C_TYPE_BOOL:
		if (!json_is_boolean(value)) {
			return wrong_type(e, path, "a boolean", value);
		}
		*(protobuf_c_boolean *) dst = json_is_true(value);
		return SPREG_OK;
	case PROTOBUF_C_TYPE_ENUM:
		return enum_from_json(value, fd->descriptor, path, e, dst);
	case PROTOBUF_C_TYPE_STRING:
		return string_from_json(value, path, e, dst);
	case PROTOBUF_C_TYPE_BYTES:
		return bytes_from_json(value, path, e, dst);
	case PROTOBUF_C_TYPE_MESSAGE:
		return build_message(value, fd->descriptor, path, depth + 1, e,
		    dst);
	}
	return bad_value(e, path, "unsupported field type %d", (int) fd->type);
}

static spreg_status
repeated_from_json(ProtobufCMessage *msg, const ProtobufCFieldDescriptor *fd,
    const json_t *value, pathbuf *path, unsigned depth, err *e)
{
	if (fd->type == PROTOBUF_C_TYPE_MESSAGE && is_map_entry(fd->descriptor)) {
		return bad_value(e, path, "map fields are not supported");
	}
	if (!json_is_array(value)) {
		return wrong_type(e, path, "an array", value);
	}
	size_t count = json_array_size(value);
	if (count > PBJSON_MAX_REPEATED) {
		return bad_value(e, path, "more than %d elements",
		    PBJSON_MAX_REPEATED);
	}
	if (count == 0) {
		return SPREG_OK;
	}
	size_t size = element_size(fd->type);
	char *elements = calloc(count, size);
	if (elements == NULL) {
		return err_oom(e, NULL);
	}
	/*
	 * The array joins the message now with a count of zero; the count
	 * grows with each finished element, so free_unpacked after a failure
	 * frees exactly what was built.
	 */
	size_t *n_elements = (size_t *) ((char *) msg + fd->quantifier_offset);
	*(void **) ((char *) msg + fd->offset) = elements;
	*n_elements = 0;
	for (size_t i = 0; i < count; i++) {
		const json_t *item = json_array_get(value, i);
		size_t mark = path_push_index(path, i);
		spreg_status st;
		if (json_is_null(item)) {
			st = bad_value(e, path, "null is not allowed in a list");
		} else {
			st = value_from_json(fd, item, path, depth, e,
			    elements + i * size);
		}
		path_pop(path, mark);
		if (st != SPREG_OK) {
			return st;
		}
		(*n_elements)++;
	}
	return SPREG_OK;
}

static spreg_status
field_from_json(ProtobufCMessage *msg, const ProtobufCFieldDescriptor *fd,
    const json_t *value, pathbuf *path, unsigned depth, err *e)
{
	if ((fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) != 0) {
		return bad_value(e, path, "oneof fields are not supported");
	}
	/* null means absent: the field keeps its default. */
	if (json_is_null(value)) {
		return SPREG_OK;
	}
	if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
		return repeated_from_json(msg, fd, value, path, depth, e);
	}
	/* An empty proto3 string stays the shared default, as unpack leaves it. */
	if (fd->type == PROTOBUF_C_TYPE_STRING &&
	    fd->label == PROTOBUF_C_LABEL_NONE && json_is_string(value) &&
	    json_string_length(value) == 0) {
		return SPREG_OK;
	}
	void *member = (char *) msg + fd->offset;
	spreg_status st = value_from_json(fd, value, path, depth, e, member);
	if (st != SPREG_OK) {
		return st;
	}
	if (fd->label == PROTOBUF_C_LABEL_OPTIONAL &&
	    fd->type != PROTOBUF_C_TYPE_STRING &&
	    fd->type != PROTOBUF_C_TYPE_MESSAGE) {
		*(protobuf_c_boolean *) ((char *) msg + fd->quantifier_offset) = 1;
	}
	return SPREG_OK;
}

/*
 * Allocates as protobuf-c's unpack does with the default allocator
 * (malloc for the struct, every string, array and submessage), so the
 * caller frees with protobuf_c_message_free_unpacked(msg, NULL). On
 * failure the partial message is freed here.
 */
static spreg_status
build_message(const json_t *json, const ProtobufCMessageDescriptor *desc,
    pathbuf *path, unsigned depth, err *e, ProtobufCMessage **msg_out)
{
	if (!json_is_object(json)) {
		return wrong_type(e, path, "an object", json);
	}
	/* Our schema is not recursive, but a descriptor may be. */
	if (depth > PBJSON_MAX_DEPTH) {
		return bad_value(e, path, "nested deeper than %d levels",
		    PBJSON_MAX_DEPTH);
	}
	ProtobufCMessage *msg = malloc(desc->sizeof_message);
	if (msg == NULL) {
		return err_oom(e, NULL);
	}
	protobuf_c_message_init(desc, msg);

	spreg_status st = SPREG_OK;
	/* jansson's iterators take a non-const object but do not modify it. */
	json_t *object = (json_t *) json;
	for (void *iter = json_object_iter(object); iter != NULL;
	     iter = json_object_iter_next(object, iter)) {
		const char *key = json_object_iter_key(iter);
		const json_t *value = json_object_iter_value(iter);
		/* A key with a NUL in it must not match the field before it. */
		const ProtobufCFieldDescriptor *fd = NULL;
		if (strlen(key) == json_object_iter_key_len(iter)) {
			fd = protobuf_c_message_descriptor_get_field_by_name(desc,
			    key);
		}
		size_t mark = path_push_field(path, key);
		if (fd == NULL) {
			st = err_set(e, SPREG_INVALID_ARGUMENT,
			    "%s: unknown field", path->text);
		} else {
			st = field_from_json(msg, fd, value, path, depth, e);
		}
		path_pop(path, mark);
		if (st != SPREG_OK) {
			goto fail;
		}
	}
	*msg_out = msg;
	return SPREG_OK;

fail:
	protobuf_c_message_free_unpacked(msg, NULL);
	return st;
}

spreg_status
pbjson_to_message(const json_t *json, const ProtobufCMessageDescriptor *desc,
    ProtobufCMessage **msg_out, err *e)
{
	pathbuf path = {.text = "", .len = 0};

	if (json == NULL) {
		return err_set(e, SPREG_INVALID_ARGUMENT, "no document");
	}
	if (!json_is_object(json)) {
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "expected an object for %s, got %s", desc->name,
		    json_type_name(json));
	}
	return build_message(json, desc, &path, 0, e, msg_out);
}
