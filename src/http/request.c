/*
 * A request's target and parameters: the path split into decoded
 * segments, the query into decoded, UTF-8-checked parameters (with the
 * limits of internal.h), and a request message built from them and a
 * JSON body for the RPC layer.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/pbjson.h"
#include "core/validate.h"
#include "http/internal.h"

static int
hex_digit(char c)
{
	if (c >= '0' && c <= '9') {
		return c - '0';
	}
	if (c >= 'a' && c <= 'f') {
		return c - 'a' + 10;
	}
	if (c >= 'A' && c <= 'F') {
		return c - 'A' + 10;
	}
	return -1;
}

/* Percent-decodes s in place ('+' is a space in a query); false on a
 * bad escape, an encoded NUL or text that is not UTF-8. */
static bool
percent_decode(char *s, bool query)
{
	char *out = s;

	for (const char *in = s; *in != '\0'; in++) {
		if (*in == '%') {
			int hi = hex_digit(in[1]);
			int lo = hi < 0 ? -1 : hex_digit(in[2]);
			if (lo < 0 || (hi == 0 && lo == 0)) {
				return false;
			}
			*out++ = (char) (hi * 16 + lo);
			in += 2;
		} else if (*in == '+' && query) {
			*out++ = ' ';
		} else {
			*out++ = *in;
		}
	}
	*out = '\0';
	return validate_text(s, false);
}

const char *
http_param_get(const http_req *r, const char *name)
{
	for (size_t i = 0; i < r->nparams; i++) {
		if (strcmp(r->params[i].name, name) == 0) {
			return r->params[i].value;
		}
	}
	return NULL;
}

spreg_status
http_parse_target(http_req *r, err *e)
{
	char *query = strchr(r->target, '?');

	if (query != NULL) {
		*query++ = '\0';
	}
	if (r->target[0] != '/') {
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "path: must start with '/'");
	}
	/* Segments: "/v1/subprocessors/aws" -> v1, subprocessors, aws. */
	char *p = r->target + 1;
	while (*p != '\0') {
		char *slash = strchr(p, '/');
		if (slash != NULL) {
			*slash = '\0';
		}
		if (r->nsegs == sizeof(r->segs) / sizeof(r->segs[0])) {
			return err_set(e, SPREG_NOT_FOUND,
			    "path: no such resource");
		}
		if (!percent_decode(p, false)) {
			return err_set(e, SPREG_INVALID_ARGUMENT,
			    "path: a bad percent-escape or not UTF-8");
		}
		r->segs[r->nsegs++] = p;
		if (slash == NULL) {
			break;
		}
		p = slash + 1;
	}
	while (query != NULL && *query != '\0') {
		char *amp = strchr(query, '&');
		if (amp != NULL) {
			*amp = '\0';
		}
		if (*query != '\0') {
			if (r->nparams == HTTP_PARAMS_MAX) {
				return err_set(e, SPREG_INVALID_ARGUMENT,
				    "query: more than %d parameters",
				    HTTP_PARAMS_MAX);
			}
			char *eq = strchr(query, '=');
			if (eq != NULL) {
				*eq = '\0';
			}
			http_param *pm = &r->params[r->nparams];
			pm->name = strdup(query);
			pm->value = strdup(eq != NULL ? eq + 1 : "");
			if (pm->name == NULL || pm->value == NULL) {
				free(pm->name);
				free(pm->value);
				return err_oom(e, NULL);
			}
			r->nparams++;
			if (!percent_decode(pm->name, true) ||
			    !percent_decode(pm->value, true)) {
				return err_set(e, SPREG_INVALID_ARGUMENT,
				    "query: a bad percent-escape or not "
				    "UTF-8");
			}
		}
		query = amp != NULL ? amp + 1 : NULL;
	}
	return SPREG_OK;
}

/* A query value as the JSON pbjson_to_message takes for field fd. */
static spreg_status
param_json(const ProtobufCFieldDescriptor *fd, const char *name,
    const char *text, json_t **out, err *e)
{
	char *end;

	if (fd->label == PROTOBUF_C_LABEL_REPEATED ||
	    fd->type == PROTOBUF_C_TYPE_MESSAGE ||
	    fd->type == PROTOBUF_C_TYPE_BYTES) {
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "%s: cannot be given in a query", name);
	}
	switch (fd->type) {
	case PROTOBUF_C_TYPE_STRING:
	case PROTOBUF_C_TYPE_ENUM:
		*out = json_string(text);
		break;
	case PROTOBUF_C_TYPE_BOOL:
		if (strcmp(text, "true") == 0 || strcmp(text, "false") == 0) {
			*out = json_boolean(text[0] == 't');
			break;
		}
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "%s: '%.64s' is not true or false", name, text);
	case PROTOBUF_C_TYPE_FLOAT:
	case PROTOBUF_C_TYPE_DOUBLE: {
		errno = 0;
		double v = strtod(text, &end);
		if (text[0] == '\0' || *end != '\0' || errno != 0) {
			return err_set(e, SPREG_INVALID_ARGUMENT,
			    "%s: '%.64s' is not a number", name, text);
		}
		*out = json_real(v);
		break;
	}
	default: {
		/* Integers: decimal digits, a '-' where signed; 64-bit ones
		 * stay text, which pbjson reads in full range. */
		const char *d = text[0] == '-' ? text + 1 : text;
		if (d[0] == '\0' || strlen(d) > 20 ||
		    strspn(d, "0123456789") != strlen(d)) {
			return err_set(e, SPREG_INVALID_ARGUMENT,
			    "%s: '%.64s' is not an integer", name, text);
		}
		errno = 0;
		long long v = strtoll(text, &end, 10);
		if (errno != 0) {
			*out = json_string(text);
		} else {
			*out = json_integer(v);
		}
		break;
	}
	}
	return *out != NULL ? SPREG_OK : err_oom(e, NULL);
}

spreg_status
http_request_message(http_req *r, const ProtobufCMessageDescriptor *desc,
    json_t *base, const char *const *path_fields, ProtobufCMessage **out,
    err *e)
{
	json_t *obj = base != NULL ? json_incref(base) : json_object();
	spreg_status st = SPREG_OK;

	if (obj == NULL) {
		return err_oom(e, NULL);
	}
	if (!json_is_object(obj)) {
		st = err_set(e, SPREG_INVALID_ARGUMENT,
		    "body: not a JSON object");
		goto out;
	}
	for (size_t i = 0; path_fields != NULL && path_fields[i] != NULL;
	     i += 2) {
		if (json_object_get(obj, path_fields[i]) != NULL) {
			st = err_set(e, SPREG_INVALID_ARGUMENT,
			    "%s: given in the path; not in the body",
			    path_fields[i]);
			goto out;
		}
		const ProtobufCFieldDescriptor *fd =
		    protobuf_c_message_descriptor_get_field_by_name(desc,
		        path_fields[i]);
		json_t *v = NULL;
		if ((st = param_json(fd, path_fields[i], path_fields[i + 1], &v,
		         e)) != SPREG_OK) {
			goto out;
		}
		json_object_set_new(obj, path_fields[i], v);
	}
	for (size_t i = 0; i < r->nparams; i++) {
		const char *name = r->params[i].name;
		const ProtobufCFieldDescriptor *fd =
		    protobuf_c_message_descriptor_get_field_by_name(desc, name);
		if (fd == NULL) {
			st = err_set(e, SPREG_INVALID_ARGUMENT,
			    "%.64s: not a parameter of this request (the "
			    "fields of %s are)", name, desc->name);
			goto out;
		}
		if (json_object_get(obj, name) != NULL) {
			st = err_set(e, SPREG_INVALID_ARGUMENT,
			    "%s: given twice", name);
			goto out;
		}
		json_t *v = NULL;
		if ((st = param_json(fd, name, r->params[i].value, &v, e)) !=
		    SPREG_OK) {
			goto out;
		}
		json_object_set_new(obj, name, v);
	}
	st = pbjson_to_message(obj, desc, out, e);
out:
	json_decref(obj);
	return st;
}
