/*
 * The feeds of changes: Atom (GET /changes.atom, RFC 4287) and JSON Feed
 * 1.1 (GET /changes.json), the same entries in each: the public
 * changes of the newest FEED_SCAN log entries, newest first, each with a
 * stable id from its seq. Read as the caller through ListChanges (which
 * gives the public only the changes to the public list, without who
 * made them), ExportSubprocessors and ListAnnouncements (for names, and
 * the log head the ETag is made of). ETag and Last-Modified answer
 * If-None-Match and If-Modified-Since with 304, and Cache-Control lets
 * an HTTP cache or CDN in front carry the fan-out to many readers.
 */
#define _XOPEN_SOURCE 700	/* strptime */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/date.h"
#include "core/pbjson.h"
#include "http/internal.h"

#define FEED_SCAN 100	/* log entries the feed looks back over */
#define FEED_CALLS 100	/* ListChanges pages, at most */
#define FEED_SUBTITLE \
	"Subprocessors announced, taking effect, withdrawn, changed and retired"

/* ---- names and times ---------------------------------------------------- */

/* A vendor's name: from the list, else from an announcement, else its
 * id. */
static const char *
name_of(const http_listing *l, const char *id)
{
	const Spreg__V1__ListAnnouncementsResponse *a =
	    (const void *) l->announcements;

	for (size_t i = 0; i < l->nsps; i++) {
		if (strcmp(l->sps[i]->subprocessor_id, id) == 0 &&
		    l->sps[i]->name[0] != '\0') {
			return l->sps[i]->name;
		}
	}
	for (size_t i = 0; a != NULL && i < a->n_announcements; i++) {
		const Spreg__V1__Subprocessor *sp = a->announcements[i]->subprocessor;
		if (sp != NULL && strcmp(sp->id, id) == 0 && sp->name[0] != '\0') {
			return sp->name;
		}
	}
	return id;
}

/* RFC 3339 (as the store writes it) to an HTTP-date; false when it does
 * not parse. */
static bool
http_date(const char *rfc3339, char out[40], time_t *secs)
{
	int64_t ms;
	struct tm tm;

	if (!time_parse(rfc3339, &ms)) {
		return false;
	}
	*secs = (time_t) (ms / 1000);
	if (gmtime_r(secs, &tm) == NULL) {
		return false;
	}
	return strftime(out, 40, "%a, %d %b %Y %H:%M:%S GMT", &tm) > 0;
}

static bool
parse_http_date(const char *text, time_t *out)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	const char *end = strptime(text, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	if (end == NULL || *end != '\0') {
		return false;
	}
	*out = timegm(&tm);
	return true;
}

/* ---- entries ------------------------------------------------------------ */

/* A change's title and text, plain: each format escapes them its way. */
static void
entry_text(http_text *title, http_text *text, const http_listing *l,
    const Spreg__V1__Change *c)
{
	char seq[24], ref[24], deadline[DATE_BUF] = "";
	const char *name = c->subprocessor_id[0] != '\0' ?
	    name_of(l, c->subprocessor_id) : "";
	int32_t day;

	snprintf(seq, sizeof(seq), "%" PRIu64, c->seq);
	snprintf(ref, sizeof(ref), "%" PRIu64, c->ref_seq);
	if (date_parse(c->effective_at, &day)) {
		date_format(day - 1, deadline);
	}
	switch (c->kind) {
	case SPREG__V1__CHANGE_KIND__CHANGE_KIND_CREATED:
		http_text_puts(title, "Added: ");
		http_text_puts(title, name);
		break;
	case SPREG__V1__CHANGE_KIND__CHANGE_KIND_UPDATED:
		http_text_puts(title, "Changed: ");
		http_text_puts(title, name);
		break;
	case SPREG__V1__CHANGE_KIND__CHANGE_KIND_RETIRED:
		http_text_puts(title, "Retired: ");
		http_text_puts(title, name);
		break;
	case SPREG__V1__CHANGE_KIND__CHANGE_KIND_ANNOUNCED:
		http_text_puts(title, "Announced: ");
		http_text_puts(title, name);
		http_text_puts(title, ", effective ");
		http_text_puts(title, c->effective_at);
		break;
	case SPREG__V1__CHANGE_KIND__CHANGE_KIND_TOOK_EFFECT:
		http_text_puts(title, "Took effect: ");
		http_text_puts(title, name);
		break;
	case SPREG__V1__CHANGE_KIND__CHANGE_KIND_WITHDRAWN:
		http_text_puts(title, "Withdrawn: the announcement of ");
		http_text_puts(title, name);
		break;
	case SPREG__V1__CHANGE_KIND__CHANGE_KIND_OBJECTION:
		http_text_puts(title, "Objection to change ");
		http_text_puts(title, ref);
		break;
	case SPREG__V1__CHANGE_KIND__CHANGE_KIND_ASSESSMENT_CHANGED:
		http_text_puts(title, "Transfers no longer lawful: ");
		http_text_puts(title, name);
		break;
	case SPREG__V1__CHANGE_KIND__CHANGE_KIND_FOLLOWED:
		http_text_puts(title, "Fourth parties followed: ");
		http_text_puts(title, name);
		break;
	case SPREG__V1__CHANGE_KIND__CHANGE_KIND_UNFOLLOWED:
		http_text_puts(title, "Fourth parties no longer followed: ");
		http_text_puts(title, name);
		break;
	default:
		http_text_puts(title, "Customer record changed");
		break;
	}
	http_text_puts(text, "Change ");
	http_text_puts(text, seq);
	if (c->subprocessor_id[0] != '\0') {
		http_text_puts(text, " to subprocessor ");
		http_text_puts(text, c->subprocessor_id);
	}
	http_text_puts(text, ".");
	if (c->effective_at[0] != '\0') {
		http_text_puts(text, " Effective ");
		http_text_puts(text, c->effective_at);
		http_text_puts(text, ".");
	}
	if (c->kind == SPREG__V1__CHANGE_KIND__CHANGE_KIND_ANNOUNCED &&
	    deadline[0] != '\0') {
		http_text_puts(text, " Customers may object until ");
		http_text_puts(text, deadline);
		http_text_puts(text, ": POST /v1/changes/");
		http_text_puts(text, seq);
		http_text_puts(text, "/objections with their token.");
	}
	if (c->ref_seq != 0) {
		http_text_puts(text, " Refers to change ");
		http_text_puts(text, ref);
		http_text_puts(text, ".");
	}
	if (c->reason[0] != '\0') {
		http_text_puts(text, " Reason: ");
		http_text_puts(text, c->reason);
	}
}

static const char *
kind_name(const Spreg__V1__Change *c)
{
	const ProtobufCEnumValue *kind = protobuf_c_enum_descriptor_get_value(
	    &spreg__v1__change_kind__descriptor, (int) c->kind);

	return kind != NULL ? kind->name : "";
}

static void
atom_entry(http_text *x, const Spreg__V1__Change *c, const char *id,
    const char *title, const char *text)
{
	http_text_puts(x, "<entry>\n<id>");
	http_text_puts(x, id);
	http_text_puts(x, "</id>\n<title>");
	http_text_esc(x, title);
	http_text_puts(x, "</title>\n<updated>");
	http_text_esc(x, c->time);
	http_text_puts(x, "</updated>\n<published>");
	http_text_esc(x, c->time);
	http_text_puts(x,
	    "</published>\n<link rel=\"alternate\" type=\"text/html\" "
	    "href=\"/\"/>\n<category term=\"");
	http_text_esc(x, kind_name(c));
	http_text_puts(x, "\"/>\n<content type=\"text\">");
	http_text_esc(x, text);
	http_text_puts(x, "</content>\n</entry>\n");
}

/* A JSON Feed 1.1 item; NULL when out of memory. */
static json_t *
json_item(const Spreg__V1__Change *c, const char *id, const char *title,
    const char *text)
{
	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:[s]}", "id", id, "title",
	    title, "content_text", text, "date_published", c->time,
	    "date_modified", c->time, "tags", kind_name(c));
}

/* The newest FEED_SCAN entries of the log, as the caller may see them;
 * *out grows, the caller frees each message in msgs. */
static bool
changes(http_req *r, uint64_t at_seq, ProtobufCMessage **msgs, size_t *nmsgs)
{
	Spreg__V1__ListChangesRequest in = SPREG__V1__LIST_CHANGES_REQUEST__INIT;

	in.since_seq = at_seq > FEED_SCAN ? at_seq - FEED_SCAN : 0;
	while (*nmsgs < FEED_CALLS && in.since_seq < at_seq) {
		http_call(r, "spreg.v1.Registry/ListChanges", &in.base, NULL);
		if (r->st != SPREG_OK) {
			return false;
		}
		Spreg__V1__ListChangesResponse *page = (void *) r->out;
		r->out = NULL;
		msgs[(*nmsgs)++] = &page->base;
		if (page->next_since_seq <= in.since_seq) {
			break;
		}
		in.since_seq = page->next_since_seq;
	}
	return true;
}

typedef enum feed_format {
	FEED_ATOM,	/* changes.atom */
	FEED_JSON,	/* changes.json: JSON Feed 1.1 */
	FEED_LIST,	/* subprocessors.json: the public list itself */
} feed_format;

static void
send_feed(http_req *r, uint16_t status, http_text *x, feed_format fmt,
    const char *etag, const char *modified)
{
	/* A feed key is in the URL: a shared cache keys by it. A token in
	 * Authorization is the caller's alone. */
	bool shared = r->bearer[0] == '\0' || r->owned != NULL;
	const char *headers[] = {
	    "ETag", etag,
	    "Cache-Control", shared ? "public, max-age=60" :
	        "private, max-age=60",
	    "Last-Modified", modified[0] != '\0' ? modified : NULL,
	    NULL};

	if (x->failed) {
		free(x->buf);
		http_fail(r, SPREG_RESOURCE_EXHAUSTED, "feed: out of memory");
		return;
	}
	http_respond(r, status, status == 304 ? NULL : fmt == FEED_LIST ?
	    "application/json" : fmt == FEED_JSON ?
	    "application/feed+json" : "application/atom+xml; charset=utf-8",
	    x->buf, x->len, headers);
	free(x->buf);
}

/* The changes in msgs, newest first: Atom entries into x, or (items not
 * NULL) JSON Feed items into items. False when out of memory. */
static bool
render(http_text *x, json_t *items, const http_listing *l,
    ProtobufCMessage *const *msgs, size_t nmsgs)
{
	http_text title = {0}, text = {0};
	char id[48];
	bool ok = true;

	for (size_t i = nmsgs; ok && i-- > 0;) {
		const Spreg__V1__ListChangesResponse *page = (const void *) msgs[i];
		for (size_t j = page->n_changes; ok && j-- > 0;) {
			const Spreg__V1__Change *c = page->changes[j];
			title.len = text.len = 0;
			entry_text(&title, &text, l, c);
			snprintf(id, sizeof(id), "urn:spreg:change:%" PRIu64,
			    c->seq);
			if (title.failed || text.failed) {
				ok = false;
			} else if (items != NULL) {
				ok = json_array_append_new(items, json_item(c, id,
				    title.buf, text.buf)) == 0;
			} else {
				atom_entry(x, c, id, title.buf, text.buf);
			}
		}
	}
	free(title.buf);
	free(text.buf);
	return ok;
}

/* The Atom document, head and entries, into x. */
static void
atom(http_text *x, const http_listing *l, const char *customer,
    ProtobufCMessage *const *msgs, size_t nmsgs)
{
	const Spreg__V1__ExportMetadata *m = l->meta;

	http_text_puts(x, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
	    "<feed xmlns=\"http://www.w3.org/2005/Atom\">\n<id>");
	if (customer != NULL) {
		http_text_puts(x, "urn:spreg:feed:customer:");
		http_text_esc(x, customer);
		http_text_puts(x, "</id>\n<title>Subprocessor changes for ");
		http_text_esc(x, customer);
		http_text_puts(x, "</title>\n");
	} else {
		http_text_puts(x, "urn:spreg:feed:changes</id>\n"
		    "<title>Subprocessor changes</title>\n");
	}
	http_text_puts(x, "<subtitle>" FEED_SUBTITLE "</subtitle>\n<updated>");
	http_text_esc(x,
	    m != NULL && m->changed_at[0] != '\0' ? m->changed_at :
	    m != NULL ? m->generated_at : "1970-01-01T00:00:00Z");
	http_text_puts(x, "</updated>\n"
	    "<link rel=\"alternate\" type=\"text/html\" href=\"/\"/>\n"
	    "<author><name>spregd</name></author>\n"
	    "<generator>spregd</generator>\n");
	if (customer == NULL) {
		http_text_puts(x,
		    "<link rel=\"self\" type=\"application/atom+xml\" "
		    "href=\"/changes.atom\"/>\n");
	}
	if (!render(x, NULL, l, msgs, nmsgs)) {
		x->failed = true;
	}
	http_text_puts(x, "</feed>\n");
}

/* doc (NULL: out of memory; its reference taken) as one line into x. */
static void
put_json(http_text *x, json_t *doc)
{
	char *text = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;

	if (text == NULL) {
		x->failed = true;
	} else {
		http_text_puts(x, text);
		http_text_puts(x, "\n");
	}
	free(text);
	json_decref(doc);
}

/* The JSON Feed 1.1 document into x. Its URLs are left out: JSON Feed
 * has no relative ones, and the Host a request names is the client's. */
static void
json_feed(http_text *x, const http_listing *l, const char *customer,
    ProtobufCMessage *const *msgs, size_t nmsgs)
{
	char title[256];
	json_t *items = json_array();
	json_t *doc = NULL;

	snprintf(title, sizeof(title), customer != NULL ?
	    "Subprocessor changes for %.200s" : "Subprocessor changes",
	    customer);
	if (items != NULL && render(NULL, items, l, msgs, nmsgs)) {
		doc = json_pack("{s:s,s:s,s:s,s:[{s:s}],s:O}", "version",
		    "https://jsonfeed.org/version/1.1", "title", title,
		    "description", FEED_SUBTITLE, "authors", "name", "spregd",
		    "items", items);
	}
	put_json(x, doc);
	json_decref(items);
}

/* The list as JSON into x: {"as_of", "at_seq", "subprocessors": [each
 * PublicSubprocessor in the proto3 JSON mapping]}, what another spregd
 * follows (spreg vendor follow). */
static void
list_json(http_text *x, const http_listing *l)
{
	json_t *sps = json_array();
	json_t *doc = NULL;
	bool ok = sps != NULL;

	for (size_t i = 0; ok && i < l->nsps; i++) {
		ok = json_array_append_new(sps, pbjson_from_message_flags(
		    &l->sps[i]->base, PBJSON_PROTO3)) == 0;
	}
	if (ok) {
		doc = json_pack("{s:s,s:I,s:O}", "as_of",
		    l->meta != NULL ? l->meta->as_of : "", "at_seq",
		    (json_int_t) (l->meta != NULL ? l->meta->at_seq : 0),
		    "subprocessors", sps);
	}
	put_json(x, doc);
	json_decref(sps);
}

/* customer: its own feed (the key checked by the rpc layer); NULL:
 * the public's, or the token's. */
static void
feed(http_req *r, const char *customer, feed_format fmt)
{
	http_listing *l = calloc(1, sizeof(*l));
	ProtobufCMessage *msgs[FEED_CALLS];
	size_t nmsgs = 0;
	http_text x = {0};
	char etag[40] = "\"empty\"", modified[40] = "";
	time_t mod_secs = 0;

	if (l == NULL) {
		http_fail(r, SPREG_RESOURCE_EXHAUSTED, "feed: out of memory");
		return;
	}
	for (size_t i = 0; i < r->nparams; i++) {
		if (customer == NULL || strcmp(r->params[i].name, "key") != 0) {
			r->st = err_set(&r->e, SPREG_INVALID_ARGUMENT, "%.64s: "
			    "not a parameter of this feed", r->params[i].name);
			goto fail;
		}
	}
	if (!http_listing_fetch(r, NULL, l)) {
		goto fail;
	}
	const Spreg__V1__ExportMetadata *m = l->meta;
	/* The log's head hash names its whole state: a new change, or a
	 * store restored from elsewhere, gives a new tag. */
	if (m != NULL && m->head_hash.len >= 16) {
		for (size_t i = 0; i < 16; i++) {
			snprintf(etag + 1 + 2 * i, 3, "%02x", m->head_hash.data[i]);
		}
		etag[33] = '"';
		etag[34] = '\0';
	}
	if (m != NULL && m->changed_at[0] != '\0') {
		http_date(m->changed_at, modified, &mod_secs);
	}
	const char *inm = http_header(r, "If-None-Match");
	const char *ims = http_header(r, "If-Modified-Since");
	time_t since;
	if ((inm != NULL && (strstr(inm, etag) != NULL ||
	        strcmp(inm, "*") == 0)) ||
	    (inm == NULL && ims != NULL && modified[0] != '\0' &&
	        parse_http_date(ims, &since) && mod_secs <= since)) {
		http_listing_free(l);
		free(l);
		send_feed(r, 304, &x, fmt, etag, modified);
		return;
	}
	if (fmt == FEED_LIST) {
		list_json(&x, l);
		http_listing_free(l);
		free(l);
		send_feed(r, 200, &x, fmt, etag, modified);
		return;
	}
	Spreg__V1__ListAnnouncementsRequest an =
	    SPREG__V1__LIST_ANNOUNCEMENTS_REQUEST__INIT;
	an.include_applied = true;
	http_call(r, "spreg.v1.Registry/ListAnnouncements", &an.base, NULL);
	if (r->st != SPREG_OK) {
		goto fail;
	}
	l->announcements = r->out;
	r->out = NULL;
	if (!changes(r, m != NULL ? m->at_seq : 0, msgs, &nmsgs)) {
		goto fail;
	}
	if (fmt == FEED_JSON) {
		json_feed(&x, l, customer, msgs, nmsgs);
	} else {
		atom(&x, l, customer, msgs, nmsgs);
	}
	for (size_t i = 0; i < nmsgs; i++) {
		protobuf_c_message_free_unpacked(msgs[i], NULL);
	}
	http_listing_free(l);
	free(l);
	send_feed(r, 200, &x, fmt, etag, modified);
	return;

fail:
	for (size_t i = 0; i < nmsgs; i++) {
		protobuf_c_message_free_unpacked(msgs[i], NULL);
	}
	http_listing_free(l);
	free(l);
	free(x.buf);
	http_respond_error(r);
}

/* A feed's file name: changes.atom, changes.json or subprocessors.json. */
static bool
feed_name(const char *seg, feed_format *fmt)
{
	if (strcmp(seg, "changes.atom") == 0) {
		*fmt = FEED_ATOM;
		return true;
	}
	if (strcmp(seg, "changes.json") == 0) {
		*fmt = FEED_JSON;
		return true;
	}
	if (strcmp(seg, "subprocessors.json") == 0) {
		*fmt = FEED_LIST;
		return true;
	}
	return false;
}

bool
http_feed_route(http_req *r)
{
	feed_format fmt = FEED_ATOM;
	bool public = r->nsegs == 1 && feed_name(r->segs[0], &fmt);
	bool own = r->nsegs == 3 && strcmp(r->segs[0], "customers") == 0 &&
	    r->segs[1][0] != '\0' && feed_name(r->segs[2], &fmt);

	if (!public && !own) {
		return false;
	}
	if (!http_get_only(r)) {
		return true;
	}
	if (own) {
		/* The key in the URL is the credential: the rpc layer checks
		 * it as a bearer "feed_<customer>.<key>" (rpc/auth.h). */
		const char *key = http_param_get(r, "key");
		if (key == NULL || key[0] == '\0') {
			http_fail(r, SPREG_UNAUTHENTICATED, "key: missing");
			return true;
		}
		size_t len = strlen(r->segs[1]) + strlen(key) + 8;
		if ((r->owned = malloc(len)) == NULL) {
			http_fail(r, SPREG_RESOURCE_EXHAUSTED, "out of memory");
			return true;
		}
		snprintf(r->owned, len, "feed_%s.%s", r->segs[1], key);
		r->bearer = r->owned;
	}
	feed(r, own ? r->segs[1] : NULL, fmt);
	return true;
}
