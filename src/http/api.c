/*
 * The JSON API under /v1/: each route is one RPC method. The request
 * message is built from the query parameters (named as the request's
 * fields), the path's own field and, for a POST, the JSON body; the
 * reply is the method's response in the proto3 JSON mapping. doc/
 * openapi.json describes the same routes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/pbjson.h"
#include "http/internal.h"

#define PATH_SEGS 3

typedef struct api_route {
	const char *method;		/* GET (and HEAD) or POST */
	const char *path[PATH_SEGS];	/* after /v1/; "*" is the field */
	const char *rpc;
	const char *path_field;		/* the request field "*" sets */
} api_route;

static const api_route routes[] = {
	{"GET", {"subprocessors"}, "spreg.v1.Registry/ListSubprocessors",
	    NULL},
	{"GET", {"subprocessors", "*"}, "spreg.v1.Registry/GetSubprocessor",
	    "id"},
	{"GET", {"changes"}, "spreg.v1.Registry/ListChanges", NULL},
	{"GET", {"assessment"}, "spreg.v1.Assessment/AssessTransfers", NULL},
	{"POST", {"changes", "*", "objections"},
	    "spreg.v1.Registry/ObjectToChange", "change_seq"},
};
#define NROUTES (sizeof(routes) / sizeof(routes[0]))

/* The path after /v1/ matches; *field is what "*" stood for. */
static bool
path_matches(const api_route *rt, const http_req *r, const char **field)
{
	size_t n = 0;

	while (n < PATH_SEGS && rt->path[n] != NULL) {
		n++;
	}
	if (r->nsegs != n + 1) {
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		const char *seg = r->segs[i + 1];
		if (strcmp(rt->path[i], "*") == 0) {
			if (seg[0] == '\0') {
				return false;
			}
			*field = seg;
		} else if (strcmp(rt->path[i], seg) != 0) {
			return false;
		}
	}
	return true;
}

static void
answered(http_req *r)
{
	if (r->st != SPREG_OK) {
		http_respond_error(r);
		return;
	}
	json_t *body = pbjson_from_message_flags(r->out, PBJSON_PROTO3);
	http_respond_json(r, 200, body, NULL);
}

/* A POST's body: a JSON object, or none at all. */
static spreg_status
body_json(http_req *r, json_t **out, err *e)
{
	const void *data;
	size_t len;
	json_error_t jerr;
	const char *type = http_header(r, "Content-Type");

	http_body(r, &data, &len);
	if (len == 0) {
		*out = NULL;
		return SPREG_OK;
	}
	if (type == NULL || strncmp(type, "application/json", 16) != 0 ||
	    (type[16] != '\0' && type[16] != ';')) {
		return err_set(e, SPREG_INVALID_ARGUMENT, "body: Content-Type "
		    "must be application/json");
	}
	*out = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
	if (*out == NULL) {
		return err_set(e, SPREG_INVALID_ARGUMENT, "body: malformed "
		    "JSON at line %d column %d: %s", jerr.line, jerr.column,
		    jerr.text);
	}
	return SPREG_OK;
}

static void
run(http_req *r, const api_route *rt, const char *field)
{
	const ProtobufCMessageDescriptor *desc = NULL;
	ProtobufCMessage *in = NULL;
	json_t *body = NULL;
	err e;
	spreg_status st;

	for (size_t i = 0; rpc_services[i] != NULL && desc == NULL; i++) {
		const ProtobufCServiceDescriptor *d = rpc_services[i]->desc;
		for (unsigned j = 0; j < d->n_methods; j++) {
			size_t len = strlen(d->name);
			if (strncmp(rt->rpc, d->name, len) == 0 &&
			    rt->rpc[len] == '/' &&
			    strcmp(rt->rpc + len + 1, d->methods[j].name) == 0) {
				desc = d->methods[j].input;
				break;
			}
		}
	}
	if (desc == NULL) {
		http_fail(r, SPREG_INTERNAL, "%s: no such method", rt->rpc);
		return;
	}
	const char *path_fields[] = {rt->path_field, field, NULL};
	if (strcmp(rt->method, "POST") == 0 &&
	    (st = body_json(r, &body, &e)) != SPREG_OK) {
		http_fail(r, st, "%s", e.msg);
		return;
	}
	st = http_request_message(r, desc, body,
	    rt->path_field != NULL ? path_fields : NULL, &in, &e);
	json_decref(body);
	if (st != SPREG_OK) {
		http_fail(r, st, "%s", e.msg);
		return;
	}
	/* The envelope is packed before http_call returns; r may be gone
	 * by then (a write answered from the writer thread). */
	http_call(r, rt->rpc, in, answered);
	protobuf_c_message_free_unpacked(in, NULL);
}

bool
http_api_route(http_req *r)
{
	char allow[64] = "";
	const char *field = NULL;
	const char *m = strcmp(r->method, "HEAD") == 0 ? "GET" : r->method;

	if (r->nsegs == 0 || strcmp(r->segs[0], "v1") != 0) {
		return false;
	}
	for (size_t i = 0; i < NROUTES; i++) {
		if (!path_matches(&routes[i], r, &field)) {
			continue;
		}
		if (strcmp(routes[i].method, m) == 0) {
			run(r, &routes[i], field);
			return true;
		}
		size_t used = strlen(allow);
		snprintf(allow + used, sizeof(allow) - used, "%s%s",
		    used > 0 ? ", " : "", routes[i].method);
	}
	if (allow[0] == '\0') {
		http_fail(r, SPREG_NOT_FOUND, "path: no such resource");
		return true;
	}
	/* 405 is not a gRPC code: answered here, with Allow. */
	char msg[128];
	snprintf(msg, sizeof(msg), "method: %.16s is not allowed here "
	    "(allowed: %s)", r->method, allow);
	const char *headers[] = {"Allow", allow, NULL};
	http_respond_json(r, 405, json_pack("{s:{s:i,s:s,s:s,s:s}}", "error",
	    "code", 405, "status", "METHOD_NOT_ALLOWED", "message", msg,
	    "field", "method"), headers);
	return true;
}
