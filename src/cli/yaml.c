/*
 * Messages to YAML: the JSON tree of core/pbjson, emitted with
 * libyaml's emitter (which quotes what must be quoted). A string whose
 * plain form YAML 1.2's core schema would read as something else (a
 * number, a boolean, null) or that starts with a digit (dates) is
 * double-quoted, so it reads back as the same string.
 */
#include <string.h>

#include <jansson.h>
#include <yaml.h>

#include "cli/yaml.h"
#include "core/pbjson.h"

/* Plain unless a reader could take it for another type. */
static yaml_scalar_style_t
string_style(const char *s)
{
	static const char *const words[] = {"null", "true", "false", "yes",
	    "no", "on", "off", "y", "n", "nan", "inf"};
	char lower[8];
	size_t len = strlen(s);

	if (len == 0 || !((s[0] >= 'a' && s[0] <= 'z') ||
	                     (s[0] >= 'A' && s[0] <= 'Z'))) {
		return YAML_DOUBLE_QUOTED_SCALAR_STYLE;
	}
	if (len < sizeof(lower)) {
		for (size_t i = 0; i <= len; i++) {
			char ch = s[i];
			lower[i] = ch >= 'A' && ch <= 'Z' ?
			    (char) (ch - 'A' + 'a') : ch;
		}
		for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
			if (strcmp(lower, words[i]) == 0) {
				return YAML_DOUBLE_QUOTED_SCALAR_STYLE;
			}
		}
	}
	return YAML_ANY_SCALAR_STYLE;
}

static bool
scalar(yaml_emitter_t *em, const char *text, yaml_scalar_style_t style)
{
	yaml_event_t ev;

	return yaml_scalar_event_initialize(&ev, NULL, NULL,
	           (yaml_char_t *) text, (int) strlen(text), 1, 1, style) &&
	    yaml_emitter_emit(em, &ev);
}

/* True when every item of the array is a scalar: written [a, b]. */
static bool
flat(const json_t *array)
{
	size_t i;
	json_t *item;

	json_array_foreach(array, i, item) {
		if (json_is_object(item) || json_is_array(item)) {
			return false;
		}
	}
	return true;
}

static bool
emit(yaml_emitter_t *em, const json_t *v)
{
	yaml_event_t ev;
	char number[32];

	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		const char *key;
		json_t *item;
		if (!yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1,
		        YAML_BLOCK_MAPPING_STYLE) ||
		    !yaml_emitter_emit(em, &ev)) {
			return false;
		}
		json_object_foreach((json_t *) v, key, item) {
			if (!scalar(em, key, YAML_PLAIN_SCALAR_STYLE) ||
			    !emit(em, item)) {
				return false;
			}
		}
		return yaml_mapping_end_event_initialize(&ev) &&
		    yaml_emitter_emit(em, &ev);
	}
	case JSON_ARRAY: {
		size_t i;
		json_t *item;
		if (!yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
		        flat(v) ? YAML_FLOW_SEQUENCE_STYLE :
		                  YAML_BLOCK_SEQUENCE_STYLE) ||
		    !yaml_emitter_emit(em, &ev)) {
			return false;
		}
		json_array_foreach(v, i, item) {
			if (!emit(em, item)) {
				return false;
			}
		}
		return yaml_sequence_end_event_initialize(&ev) &&
		    yaml_emitter_emit(em, &ev);
	}
	case JSON_STRING:
		return scalar(em, json_string_value(v),
		    string_style(json_string_value(v)));
	case JSON_INTEGER:
		snprintf(number, sizeof(number), "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
		return scalar(em, number, YAML_PLAIN_SCALAR_STYLE);
	case JSON_REAL:
		snprintf(number, sizeof(number), "%.17g", json_real_value(v));
		return scalar(em, number, YAML_PLAIN_SCALAR_STYLE);
	case JSON_TRUE:
		return scalar(em, "true", YAML_PLAIN_SCALAR_STYLE);
	case JSON_FALSE:
		return scalar(em, "false", YAML_PLAIN_SCALAR_STYLE);
	default:
		return scalar(em, "null", YAML_PLAIN_SCALAR_STYLE);
	}
}

bool
cli_yaml_write(const ProtobufCMessage *msg, FILE *out)
{
	json_t *json = pbjson_from_message(msg);
	bool ok = json != NULL && cli_yaml_write_json(json, out);

	json_decref(json);
	return ok;
}

bool
cli_yaml_write_json(const json_t *json, FILE *out)
{
	yaml_emitter_t em;
	yaml_event_t ev;
	bool ok;

	if (!yaml_emitter_initialize(&em)) {
		return false;
	}
	yaml_emitter_set_output_file(&em, out);
	yaml_emitter_set_unicode(&em, 1);
	yaml_emitter_set_width(&em, 78);
	ok = yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING) &&
	    yaml_emitter_emit(&em, &ev) &&
	    yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1) &&
	    yaml_emitter_emit(&em, &ev) && emit(&em, json) &&
	    yaml_document_end_event_initialize(&ev, 1) &&
	    yaml_emitter_emit(&em, &ev) &&
	    yaml_stream_end_event_initialize(&ev) &&
	    yaml_emitter_emit(&em, &ev) && yaml_emitter_flush(&em);
	yaml_emitter_delete(&em);
	return ok;
}
