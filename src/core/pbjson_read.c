/*
 * JSON -> message: a json_t tree (from a file, a request body or YAML
 * read by pbtext.c) into a protobuf-c message of a given type, checking
 * type and range of every value against untrusted input; see pbjson.c
 * for how a half-built message stays freeable.
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
		pbjson_format_double(json_real_value(value), buf);
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
	if (!pbjson_base64_decode(json_string_value(value), len, bytes_out, &oom)) {
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
		    pbjson_enum_from_name(ed, text, out)) {
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
	if (fd->type == PROTOBUF_C_TYPE_MESSAGE && pbjson_is_map_entry(fd->descriptor)) {
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
	size_t size = pbjson_element_size(fd->type);
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
