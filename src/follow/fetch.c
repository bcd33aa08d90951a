/*
 * One fetch of a followed list (follow/fetch.h). Moved from the spreg
 * command's client-side follow: spregd now fetches.
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "follow/fetch.h"

spreg_status
follow_fetch_init(err *e)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		return err_set(e, SPREG_INTERNAL, "follows: libcurl did not "
		    "start");
	}
	return SPREG_OK;
}

void
follow_fetch_fini(void)
{
	curl_global_cleanup();
}

typedef struct fetch {
	publist_fetched *out;
	bool too_big;
	const atomic_bool *stop;
} fetch;

static size_t
on_body(char *data, size_t size, size_t n, void *arg)
{
	fetch *f = arg;
	publist_fetched *o = f->out;
	size_t add = size * n;

	if (o->len + add > PUBLIST_BODY_MAX) {
		f->too_big = true;
		return 0;	/* aborts the transfer */
	}
	char *grown = realloc(o->body, o->len + add + 1);
	if (grown == NULL) {
		return 0;
	}
	memcpy(grown + o->len, data, add);
	o->body = grown;
	o->len += add;
	o->body[o->len] = '\0';
	return add;
}

static size_t
on_header(char *data, size_t size, size_t n, void *arg)
{
	fetch *f = arg;
	size_t len = size * n;

	if (len > 5 && strncasecmp(data, "ETag:", 5) == 0) {
		size_t i = 5;
		while (i < len && (data[i] == ' ' || data[i] == '\t')) {
			i++;
		}
		size_t end = len;
		while (end > i && (data[end - 1] == '\r' ||
		    data[end - 1] == '\n' || data[end - 1] == ' ')) {
			end--;
		}
		if (end - i < sizeof(f->out->etag)) {
			memcpy(f->out->etag, data + i, end - i);
			f->out->etag[end - i] = '\0';
		}
	}
	return len;
}

/* Non-zero aborts: the server is stopping. */
static int
on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut,
    curl_off_t un)
{
	fetch *f = arg;

	(void) dt, (void) dn, (void) ut, (void) un;
	return f->stop != NULL && atomic_load(f->stop) ? 1 : 0;
}

void
follow_fetch(const char *url, const char *etag, const atomic_bool *stop,
    publist_fetched *out)
{
	fetch f = {out, false, stop};
	struct curl_slist *hdrs = NULL;
	char inm[PUBLIST_ETAG_MAX + 32];
	long code = 0;

	publist_fetched_fini(out);
	out->st = SPREG_OK;
	out->msg[0] = '\0';
	out->not_modified = false;
	out->stopped = false;
	out->etag[0] = '\0';
	CURL *h = curl_easy_init();
	if (h == NULL) {
		out->st = SPREG_RESOURCE_EXHAUSTED;
		snprintf(out->msg, sizeof(out->msg), "url: out of memory");
		return;
	}
	if (etag != NULL && etag[0] != '\0') {
		snprintf(inm, sizeof(inm), "If-None-Match: %s", etag);
		hdrs = curl_slist_append(hdrs, inm);
	}
	hdrs = curl_slist_append(hdrs, "Accept: application/json");
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, PUBLIST_TIMEOUT_S);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &f);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, &f);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(h, CURLOPT_XFERINFODATA, &f);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	CURLcode rc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	if (f.too_big) {
		out->st = SPREG_INVALID_ARGUMENT;
		snprintf(out->msg, sizeof(out->msg), "url: %s: the answer is "
		    "larger than %u bytes", url, PUBLIST_BODY_MAX);
	} else if (rc == CURLE_ABORTED_BY_CALLBACK) {
		out->st = SPREG_UNAVAILABLE;
		out->stopped = true;
		snprintf(out->msg, sizeof(out->msg), "url: %s: not fetched: "
		    "the server is stopping", url);
	} else if (rc != CURLE_OK) {
		out->st = SPREG_UNAVAILABLE;
		snprintf(out->msg, sizeof(out->msg), "url: %s: %s", url,
		    curl_easy_strerror(rc));
	} else if (code == 304 && etag != NULL && etag[0] != '\0') {
		out->not_modified = true;
	} else if (code < 200 || code > 299) {
		out->st = SPREG_UNAVAILABLE;
		snprintf(out->msg, sizeof(out->msg), "url: %s answered HTTP "
		    "%ld", url, code);
	}
	if (out->st != SPREG_OK) {
		publist_fetched_fini(out);
	}
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(h);
}
