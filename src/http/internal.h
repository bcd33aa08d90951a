/*
 * Private to src/http/: one request being answered, and the helpers the
 * route files (api.c) share with the server (http.c).
 */
#ifndef HTTP_INTERNAL_H
#define HTTP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>
#include <protobuf-c/protobuf-c.h>

#include "http/http.h"
#include "spreg/v1/export.pb-c.h"
#include "spreg/v1/registry.pb-c.h"

typedef struct http_param {
	char *name;
	char *value;	/* percent-decoded, valid UTF-8 */
} http_param;

typedef struct http_req http_req;
typedef void (*http_done_fn)(http_req *r);
typedef struct http_exchange http_exchange;

struct http_req {
	http_server *srv;
	http_exchange *ex;	/* the server's; answered by http_respond */
	const char *method;	/* GET, HEAD, POST ... */
	char *target;		/* a copy of the request target */
	const char *segs[16];	/* the decoded path, split at '/' */
	size_t nsegs;
	http_param params[HTTP_PARAMS_MAX];
	size_t nparams;
	const char *bearer;	/* from Authorization; "" when none */
	char *owned;		/* a bearer made here (a feed key); freed */
	/* The last http_call's outcome: st, e.msg, and on OK the reply
	 * message (the caller's, freed with the request). */
	spreg_status st;
	err e;
	ProtobufCMessage *out;
	const ProtobufCMessageDescriptor *out_desc;
	http_done_fn done;
	void *hw;		/* the worker of a write in progress */
};

/*
 * Runs the RPC method ("spreg.v1.Registry/ListChanges") with in as its
 * request and r's bearer token, through rpc_handle_begin, and sets r->st,
 * r->e and r->out. A read completes before the call returns and done
 * (may be NULL) runs at once; a write is queued to the RPC writer and
 * done runs on its thread once the write is durable or failed.
 */
void http_call(http_req *r, const char *method, const ProtobufCMessage *in,
    http_done_fn done);

/* Sends the response and ends r (freed: do not touch it after).
 * headers: name, value, ..., NULL; or NULL. */
void http_respond(http_req *r, uint16_t status, const char *content_type,
    const void *body, size_t len, const char *const *headers);
/* True for GET and HEAD; otherwise answers 405 (Allow: GET, HEAD), as
 * the page and the feeds do, and returns false. */
bool http_get_only(http_req *r);
/* r->st and r->e as a JSON error, with the HTTP status for the code. */
void http_respond_error(http_req *r);
/* st and a formatted message as a JSON error. */
void http_fail(http_req *r, spreg_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A JSON value as the response body (takes the reference; NULL: out
 * of memory, answered 500); headers as for http_respond. */
void http_respond_json(http_req *r, uint16_t status, json_t *body,
    const char *const *headers);

/* request.c: splits r->target into r->segs and r->params (decoded,
 * checked: INVALID_ARGUMENT, or RESOURCE_EXHAUSTED past the limits). */
spreg_status http_parse_target(http_req *r, err *e);

/* The query parameter name, or NULL. */
const char *http_param_get(const http_req *r, const char *name);
/* The request header name (any case), or NULL. Valid until r is
 * answered; from the thread that runs the route only. */
const char *http_header(const http_req *r, const char *name);
/* The request body (at most HTTP_BODY_MAX bytes; len 0: none). */
void http_body(const http_req *r, const void **data, size_t *len);

/*
 * Builds a request message of type desc from the query parameters (each
 * names a field; the value parsed as the field's type) and, when not
 * NULL, from base (a JSON object: a POST's body), plus the path fields
 * (name, value, ..., NULL). A field given twice, unknown, or whose value
 * does not parse fails INVALID_ARGUMENT naming it. Caller frees *out
 * with protobuf_c_message_free_unpacked(*out, NULL).
 */
spreg_status http_request_message(http_req *r,
    const ProtobufCMessageDescriptor *desc, json_t *base,
    const char *const *path_fields, ProtobufCMessage **out, err *e);

/* The name of the country with ISO code code (the reference data's),
 * or code itself when it has none. */
const char *http_country_name(const http_req *r, const char *code);

/* The HTTP status Google's API conventions give a gRPC code. */
uint16_t http_status_of(spreg_status st);

/* The public subprocessor list, every page of ExportSubprocessors as
 * the caller (page.c); the page and the feeds read it. */
#define HTTP_LISTING_PAGES_MAX 1000	/* bounds the paging loop */
typedef struct http_listing {
	ProtobufCMessage *pages[HTTP_LISTING_PAGES_MAX];
	size_t npages;
	Spreg__V1__PublicSubprocessor **sps;	/* into pages */
	size_t nsps;
	const Spreg__V1__ExportMetadata *meta;	/* the first page's */
	ProtobufCMessage *announcements;	/* ListAnnouncementsResponse */
} http_listing;
/* As of as_of (NULL: today). False with r->st and r->e set; free l
 * (zeroed before) either way. */
bool http_listing_fetch(http_req *r, const char *as_of, http_listing *l);
void http_listing_free(http_listing *l);

/* text.c: a growable text buffer for the page and the feeds. Zeroed
 * before use; buf (NUL-terminated) is the caller's to free. */
typedef struct http_text {
	char *buf;
	size_t len, cap;
	bool failed;		/* out of memory: appends are dropped */
} http_text;
void http_text_put(http_text *t, const char *s, size_t n);
void http_text_puts(http_text *t, const char *s);
/* Text from the registry or the request, for HTML and XML alike (text
 * and attribute values): always through here. */
void http_text_esc(http_text *t, const char *s);

/* api.c: the JSON API under /v1/; true when the path is one of its. */
bool http_api_route(http_req *r);
/* page.c: the subprocessor page (/) and its stylesheet; the same. */
bool http_page_route(http_req *r);
/* feed.c: the Atom feed of changes (/changes.atom); the same. */
bool http_feed_route(http_req *r);

#endif
