/*
 * spreg vendor follow: a vendor's own subprocessor list, read from
 * another spregd's public list (GET /subprocessors.json), kept as that
 * vendor's fourth parties in our registry. Each round fetches the list
 * (a conditional GET, bounded in size and time), and when it differs
 * from the vendor's fourth parties whose source is that URL, writes the
 * vendor through PutSubprocessor like any other edit: logged, published
 * and delivered as every change is. The follow lives as long as this
 * command runs (run it as a service); spregd stores nothing of it.
 */
#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/commands.h"
#include "core/validate.h"
#include "spreg/client.h"

#define FOLLOW_BODY_MAX (4u << 20)	/* bytes of the upstream list */
#define FOLLOW_TIMEOUT_S 30L		/* one fetch, connection included */
#define FOLLOW_ITEMS_MAX 1000		/* upstream vendors taken */

typedef struct fetch {
	char *body;
	size_t len;
	bool too_big;
	char etag[256];		/* the last answer's ETag; sent back */
} fetch;

static size_t
on_body(char *data, size_t size, size_t n, void *arg)
{
	fetch *f = arg;
	size_t add = size * n;

	if (f->len + add > FOLLOW_BODY_MAX) {
		f->too_big = true;
		return 0;	/* aborts the transfer */
	}
	char *grown = realloc(f->body, f->len + add + 1);
	if (grown == NULL) {
		return 0;
	}
	memcpy(grown + f->len, data, add);
	f->body = grown;
	f->len += add;
	f->body[f->len] = '\0';
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
		if (end - i < sizeof(f->etag)) {
			memcpy(f->etag, data + i, end - i);
			f->etag[end - i] = '\0';
		}
	}
	return len;
}

/* GETs url into f (body replaced). *unchanged: the server answered 304
 * to our ETag. Non-zero status with msg set on failure. */
static spreg_status
get(const char *url, fetch *f, bool *unchanged, char *msg, size_t msg_size)
{
	CURL *h = curl_easy_init();
	struct curl_slist *hdrs = NULL;
	char inm[300];
	long code = 0;
	spreg_status st = SPREG_OK;

	*unchanged = false;
	free(f->body);
	f->body = NULL;
	f->len = 0;
	f->too_big = false;
	if (h == NULL) {
		snprintf(msg, msg_size, "url: out of memory");
		return SPREG_RESOURCE_EXHAUSTED;
	}
	if (f->etag[0] != '\0') {
		snprintf(inm, sizeof(inm), "If-None-Match: %s", f->etag);
		hdrs = curl_slist_append(hdrs, inm);
	}
	hdrs = curl_slist_append(hdrs, "Accept: application/json");
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, FOLLOW_TIMEOUT_S);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, f);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, f);
	CURLcode rc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	if (f->too_big) {
		snprintf(msg, msg_size, "url: %s: the answer is larger than "
		    "%u bytes", url, FOLLOW_BODY_MAX);
		st = SPREG_INVALID_ARGUMENT;
	} else if (rc != CURLE_OK) {
		snprintf(msg, msg_size, "url: %s: %s", url,
		    curl_easy_strerror(rc));
		st = SPREG_UNAVAILABLE;
	} else if (code == 304 && f->etag[0] != '\0') {
		*unchanged = true;
	} else if (code < 200 || code > 299) {
		snprintf(msg, msg_size, "url: %s answered HTTP %ld", url, code);
		st = SPREG_UNAVAILABLE;
	}
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(h);
	return st;
}

/* A string member of o, "" when absent; false when present and not a
 * string. */
static bool
member_text(json_t *o, const char *name, char **out)
{
	json_t *v = json_object_get(o, name);

	if (v == NULL) {
		*out = (char *) "";
		return true;
	}
	if (!json_is_string(v)) {
		return false;
	}
	*out = (char *) json_string_value(v);
	return true;
}

/*
 * The fourth parties the list in body names, into fps[0..*n) (their
 * strings point into *doc, which the caller frees), source url and
 * confirmed_on today. Fails INVALID_ARGUMENT naming url and the place.
 */
static spreg_status
parse_list(const char *body, size_t len, const char *url, char *today,
    json_t **doc, Spreg__V1__FourthParty *fps, size_t *n, char *msg,
    size_t msg_size)
{
	json_error_t jerr;
	json_t *list;

	*n = 0;
	*doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (*doc == NULL) {
		snprintf(msg, msg_size, "url: %s: not JSON (line %d column "
		    "%d: %s)", url, jerr.line, jerr.column, jerr.text);
		return SPREG_INVALID_ARGUMENT;
	}
	list = json_object_get(*doc, "subprocessors");
	if (!json_is_array(list)) {
		snprintf(msg, msg_size, "url: %s: not a spreg public list (no "
		    "\"subprocessors\" array; follow GET /subprocessors.json)",
		    url);
		return SPREG_INVALID_ARGUMENT;
	}
	if (json_array_size(list) > FOLLOW_ITEMS_MAX) {
		snprintf(msg, msg_size, "url: %s: more than %d subprocessors",
		    url, FOLLOW_ITEMS_MAX);
		return SPREG_INVALID_ARGUMENT;
	}
	for (size_t i = 0; i < json_array_size(list); i++) {
		json_t *o = json_array_get(list, i);
		json_t *countries = json_object_get(o, "countries");
		Spreg__V1__FourthParty *fp = &fps[i];

		spreg__v1__fourth_party__init(fp);
		if (!json_is_object(o) ||
		    !member_text(o, "subprocessor_id", &fp->id) ||
		    !validate_slug(fp->id) ||
		    !member_text(o, "name", &fp->name) || fp->name[0] == '\0' ||
		    !member_text(o, "legal_entity", &fp->legal_entity) ||
		    !member_text(o, "purpose", &fp->purpose) ||
		    (countries != NULL && !json_is_array(countries))) {
			snprintf(msg, msg_size, "url: %s: subprocessors[%zu]: "
			    "not a subprocessor (subprocessor_id, name, "
			    "legal_entity, purpose, countries)", url, i);
			return SPREG_INVALID_ARGUMENT;
		}
		fp->n_countries = json_array_size(countries);
		fp->countries = calloc(fp->n_countries + 1, sizeof(char *));
		if (fp->countries == NULL) {
			snprintf(msg, msg_size, "url: out of memory");
			return SPREG_RESOURCE_EXHAUSTED;
		}
		for (size_t k = 0; k < fp->n_countries; k++) {
			json_t *c = json_array_get(countries, k);
			if (!json_is_string(c)) {
				snprintf(msg, msg_size, "url: %s: subprocessors"
				    "[%zu].countries[%zu]: not a string", url,
				    i, k);
				(*n)++;	/* its countries freed by the caller */
				return SPREG_INVALID_ARGUMENT;
			}
			fp->countries[k] = (char *) json_string_value(c);
		}
		fp->source = (char *) url;
		fp->confirmed_on = today;
		(*n)++;
	}
	return SPREG_OK;
}

static bool
same_party(const Spreg__V1__FourthParty *a, const Spreg__V1__FourthParty *b)
{
	if (strcmp(a->id, b->id) != 0 || strcmp(a->name, b->name) != 0 ||
	    strcmp(a->legal_entity, b->legal_entity) != 0 ||
	    strcmp(a->purpose, b->purpose) != 0 ||
	    strcmp(a->confirmed_on, b->confirmed_on) != 0 ||
	    a->n_countries != b->n_countries) {
		return false;
	}
	for (size_t k = 0; k < a->n_countries; k++) {
		if (strcasecmp(a->countries[k], b->countries[k]) != 0) {
			return false;
		}
	}
	return true;
}

/*
 * One round: the vendor's fourth parties from url become those of the
 * list in f (others, and upstream ids it lists from another source,
 * kept: entered by hand, they win). Writes only when they differ.
 * Returns the exit code; *st_out is set (msg too) when the list is bad.
 */
static int
apply(cli *c, const char *vendor, const char *url, const fetch *f,
    char *msg, size_t msg_size, spreg_status *st_out)
{
	static Spreg__V1__FourthParty fps[FOLLOW_ITEMS_MAX];
	Spreg__V1__GetSubprocessorRequest gr =
	    SPREG__V1__GET_SUBPROCESSOR_REQUEST__INIT;
	Spreg__V1__PutSubprocessorRequest pr =
	    SPREG__V1__PUT_SUBPROCESSOR_REQUEST__INIT;
	Spreg__V1__FourthParty **merged = NULL;
	ProtobufCMessage *got = NULL, *put = NULL;
	json_t *doc = NULL;
	char today[16];
	time_t now = time(NULL);
	struct tm tm;
	size_t n = 0, nmerged = 0, nold_url = 0;
	int rc = 0;

	*st_out = SPREG_OK;
	gmtime_r(&now, &tm);
	strftime(today, sizeof(today), "%Y-%m-%d", &tm);
	if ((*st_out = parse_list(f->body, f->len, url, today, &doc, fps, &n,
	         msg, msg_size)) != SPREG_OK) {
		rc = cli_exit_code(*st_out);
		goto done;
	}
	gr.id = (char *) vendor;
	if ((rc = cli_call(c, "GetSubprocessor", &gr.base,
	         &spreg__v1__get_subprocessor_response__descriptor, &got)) !=
	    0) {
		goto done;
	}
	Spreg__V1__Subprocessor *sp =
	    ((Spreg__V1__GetSubprocessorResponse *) got)->subprocessor;
	if (sp == NULL) {
		rc = CLI_EXIT_SERVER;
		goto done;
	}
	if ((merged = calloc(sp->n_fourth_parties + n + 1,
	         sizeof(*merged))) == NULL) {
		rc = cli_out_of_memory();
		goto done;
	}
	bool differs = false;
	for (size_t i = 0; i < sp->n_fourth_parties; i++) {
		Spreg__V1__FourthParty *old = sp->fourth_parties[i];
		if (strcmp(old->source, url) != 0) {
			merged[nmerged++] = old;
			continue;
		}
		nold_url++;
		bool found = false;
		for (size_t j = 0; j < n && !found; j++) {
			found = same_party(old, &fps[j]);
		}
		differs = differs || !found;
	}
	size_t kept = 0;
	for (size_t j = 0; j < n; j++) {
		bool taken = false;
		for (size_t i = 0; i < nmerged && !taken; i++) {
			taken = strcmp(merged[i]->id, fps[j].id) == 0 &&
			    strcmp(merged[i]->source, url) != 0;
		}
		if (!taken) {
			merged[nmerged++] = &fps[j];
			kept++;
		}
	}
	differs = differs || nold_url != kept;
	if (!differs) {
		goto done;
	}
	/* The reply's array stays its own: swapped back before it is
	 * freed. */
	Spreg__V1__FourthParty **own = sp->fourth_parties;
	size_t nown = sp->n_fourth_parties;
	sp->fourth_parties = merged;
	sp->n_fourth_parties = nmerged;
	pr.subprocessor = sp;
	pr.expected_revision = sp->revision;
	rc = cli_call(c, "PutSubprocessor", &pr.base,
	    &spreg__v1__put_subprocessor_response__descriptor, &put);
	sp->fourth_parties = own;
	sp->n_fourth_parties = nown;
	if (rc == 0) {
		const Spreg__V1__PutSubprocessorResponse *resp = (void *) put;
		vendor_print_write(vendor, resp->subprocessor != NULL ?
		    resp->subprocessor->revision : 0, resp->change);
		fflush(stdout);
	}

done:
	for (size_t j = 0; j < n; j++) {
		free(fps[j].countries);
		fps[j].countries = NULL;
	}
	free(merged);
	if (got != NULL) {
		spreg_message_free(got);
	}
	if (put != NULL) {
		spreg_message_free(put);
	}
	json_decref(doc);
	return rc;
}

int
cmd_vendor_follow(cli *c)
{
	static const cli_option options[] = {
		{"every", CLI_NUMBER, "SECONDS",
		    "seconds between fetches (default 300)", 1, 86400},
		{"once", CLI_FLAG, NULL,
		    "fetch and apply once, then exit", 0, 0},
		{NULL, CLI_FLAG, NULL, NULL, 0, 0},
	};
	static const cli_spec spec = {options, 2, 2,
	    "URL is another spregd's public list, GET /subprocessors.json\n"
	    "(http or https). Its vendors become VENDOR's fourth parties here,\n"
	    "each with source URL and confirmed_on the day it was read; VENDOR's\n"
	    "other fourth parties are kept. A change is written only when the\n"
	    "list differs (at most once a day otherwise, to confirm it), through\n"
	    "PutSubprocessor: in the change log like any edit.\n"
	    "\nThe first fetch must succeed: a URL that does not answer, answers\n"
	    "other than 2xx, more than 4 MiB or not the list fails naming url\n"
	    "and changes nothing. Later failures are warnings on stderr and the\n"
	    "last list is kept. Runs until stopped (--once: one round).\n"};
	fetch f = {0};
	char msg[512];
	bool unchanged;
	spreg_status st;
	int rc;

	if ((rc = cli_parse(c, &spec)) != CLI_CONTINUE) {
		return rc;
	}
	const char *vendor = cli_arg(c, 0);
	const char *url = cli_arg(c, 1);
	unsigned every = (unsigned) cli_opt_u64(c, "every", 300);
	if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) {
		fprintf(stderr, "spreg: INVALID_ARGUMENT: url: '%s' is not an "
		    "http or https URL\n", url);
		return CLI_EXIT_USAGE;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		return cli_out_of_memory();
	}
	for (bool first = true;; first = false) {
		st = get(url, &f, &unchanged, msg, sizeof(msg));
		rc = 0;
		if (st == SPREG_OK && !unchanged) {
			rc = apply(c, vendor, url, &f, msg, sizeof(msg), &st);
		}
		if (st != SPREG_OK) {
			/* A server error was printed by cli_call. */
			fprintf(stderr, "spreg: %s%s: %s\n", first ? "" :
			    "warning: ", spreg_status_name(st), msg);
			f.etag[0] = '\0';	/* fetch whole next time */
			rc = rc != 0 ? rc : cli_exit_code(st);
		} else if (rc != 0) {
			f.etag[0] = '\0';
		}
		if (rc != 0 && (first || cli_flag(c, "once"))) {
			break;
		}
		if (cli_flag(c, "once")) {
			break;
		}
		if (rc != 0) {
			fprintf(stderr, "spreg: warning: keeping the last list of "
			    "%s\n", vendor);
		}
		sleep(every);
	}
	free(f.body);
	curl_global_cleanup();
	return rc;
}
