/*
 * The subprocessor page (GET /): what a SaaS company publishes, built
 * from the same RPCs a client calls — ExportSubprocessors (the public
 * list, paged) and ListAnnouncements (the upcoming changes) — run as the
 * caller: without a token as the public (when spregd publishes), with a
 * customer's token as that customer (its own vendors). Plain HTML, every
 * text from the registry escaped; one small stylesheet of our own
 * (/spreg.css); no script, no external asset.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/date.h"
#include "http/internal.h"

/* No script, no frame, nothing from elsewhere: the browser enforces
 * what the markup already promises. */
#define PAGE_CSP "default-src 'none'; style-src 'self'; img-src 'self'; " \
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

static const char stylesheet[] =
    ":root{color-scheme:light dark;--line:#8884}\n"
    "body{font:16px/1.45 system-ui,sans-serif;margin:0 auto;"
    "max-width:72rem;padding:1rem}\n"
    "h1{font-size:1.6rem;margin:.2rem 0}h2{font-size:1.2rem;"
    "margin:1.6rem 0 .4rem}\n"
    ".meta{color:#666}\n"
    ".scroll{overflow-x:auto}\n"
    "table{border-collapse:collapse;width:100%}\n"
    "th,td{text-align:left;vertical-align:top;padding:.35rem .5rem;"
    "border-bottom:1px solid var(--line)}\n"
    "th{font-size:.85rem;text-transform:uppercase;letter-spacing:.03em}\n"
    ".emergency{font-weight:bold}\n"
    /* A phone: each row a card, each cell labelled by its column. */
    "@media (max-width:40rem){thead{display:none}"
    "table,tbody,tr,td{display:block;width:auto}"
    "tr{border-bottom:1px solid var(--line);padding:.4rem 0}"
    "td{border:0;padding:.1rem 0}"
    "td::before{content:attr(data-label);display:block;"
    "font-size:.75rem;text-transform:uppercase;color:#666}}\n"
    "@media print{body{max-width:none;font-size:10pt}"
    "a{color:inherit;text-decoration:none}.scroll{overflow:visible}"
    "footer{display:none}tr{break-inside:avoid}}\n";

/* ---- HTML ------------------------------------------------------------------ */

static void
esc_list(http_text *h, char *const *items, size_t n, const char *sep)
{
	for (size_t i = 0; i < n; i++) {
		if (i > 0) {
			http_text_puts(h, sep);
		}
		http_text_esc(h, items[i]);
	}
}

static void
head(http_text *h, const char *title)
{
	http_text_puts(h, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
	    "<meta charset=\"utf-8\">\n"
	    "<meta name=\"viewport\" content=\"width=device-width, "
	    "initial-scale=1\">\n<title>");
	http_text_esc(h, title);
	http_text_puts(h,
	    "</title>\n<link rel=\"stylesheet\" href=\"/spreg.css\">\n"
	    "<link rel=\"alternate\" type=\"application/atom+xml\" "
	    "title=\"Subprocessor changes\" href=\"/changes.atom\">\n"
	    "<link rel=\"alternate\" type=\"application/feed+json\" "
	    "title=\"Subprocessor changes\" href=\"/changes.json\">\n"
	    "</head>\n<body>\n");
}

static void
send_page(http_req *r, uint16_t status, http_text *h, bool shared)
{
	const char *headers[] = {
	    "Content-Security-Policy", PAGE_CSP,
	    /* A token's view is that caller's: no shared cache keeps it. */
	    "Cache-Control", shared ? "public, max-age=60" : "private, no-store",
	    "Referrer-Policy", "no-referrer",
	    NULL};

	if (h->failed) {
		free(h->buf);
		http_fail(r, SPREG_RESOURCE_EXHAUSTED, "page: out of memory");
		return;
	}
	http_respond(r, status, "text/html; charset=utf-8", h->buf, h->len,
	    headers);
	free(h->buf);
}

/* r->st and r->e as an HTML page. */
static void
error_page(http_req *r)
{
	http_text h = {0};
	char title[64];
	uint16_t status = http_status_of(r->st);

	snprintf(title, sizeof(title), "%u %s", (unsigned) status,
	    spreg_status_name(r->st));
	head(&h, title);
	http_text_puts(&h, "<main>\n<h1>");
	http_text_esc(&h, title);
	http_text_puts(&h, "</h1>\n<p>");
	http_text_esc(&h, r->st == SPREG_UNAUTHENTICATED ?
	    "token: missing, not recognised or revoked" : r->e.msg);
	http_text_puts(&h,
	    "</p>\n<p><a href=\"/\">The subprocessor list</a></p>\n"
	    "</main>\n</body>\n</html>\n");
	if (r->st == SPREG_UNAUTHENTICATED && !h.failed) {
		const char *headers[] = {"WWW-Authenticate",
		    "Bearer realm=\"spreg\"", "Content-Security-Policy",
		    PAGE_CSP, "Cache-Control", "no-store", NULL};
		http_respond(r, status, "text/html; charset=utf-8", h.buf, h.len,
		    headers);
		free(h.buf);
		return;
	}
	send_page(r, status, &h, false);
}

/* ---- what the page shows ------------------------------------------------ */

void
http_listing_free(http_listing *l)
{
	for (size_t i = 0; i < l->npages; i++) {
		protobuf_c_message_free_unpacked(l->pages[i], NULL);
	}
	if (l->announcements != NULL) {
		protobuf_c_message_free_unpacked(l->announcements, NULL);
	}
	free(l->sps);
}

bool
http_listing_fetch(http_req *r, const char *as_of, http_listing *l)
{
	Spreg__V1__ExportSubprocessorsRequest in =
	    SPREG__V1__EXPORT_SUBPROCESSORS_REQUEST__INIT;
	char *cursor = NULL;

	/* The cursor is bound to the query: as_of stays on every page. */
	in.as_of = (char *) (as_of != NULL ? as_of : "");
	do {
		in.cursor = cursor != NULL ? cursor : (char *) "";
		http_call(r, "spreg.v1.Export/ExportSubprocessors", &in.base,
		    NULL);
		if (r->st != SPREG_OK) {
			return false;
		}
		Spreg__V1__ExportSubprocessorsResponse *page = (void *) r->out;
		r->out = NULL;	/* ours now */
		l->pages[l->npages++] = &page->base;
		if (l->meta == NULL) {
			l->meta = page->metadata;
		}
		Spreg__V1__PublicSubprocessor **grown = realloc(l->sps,
		    (l->nsps + page->n_subprocessors + 1) * sizeof(*grown));
		if (grown == NULL) {
			r->st = err_oom(&r->e, NULL);
			return false;
		}
		l->sps = grown;
		for (size_t i = 0; i < page->n_subprocessors; i++) {
			l->sps[l->nsps++] = page->subprocessors[i];
		}
		cursor = page->next_cursor;
	} while (cursor != NULL && cursor[0] != '\0' &&
	    l->npages < HTTP_LISTING_PAGES_MAX);
	return true;
}

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/* The services the vendors use, sorted, each once; "" last for none. */
static char **
services_of(const http_listing *l, size_t *n_out)
{
	size_t cap = 1;
	for (size_t i = 0; i < l->nsps; i++) {
		cap += l->sps[i]->n_services;
	}
	char **all = malloc(cap * sizeof(*all));
	size_t n = 0;
	if (all == NULL) {
		return NULL;
	}
	bool none = false;
	for (size_t i = 0; i < l->nsps; i++) {
		none = none || l->sps[i]->n_services == 0;
		for (size_t j = 0; j < l->sps[i]->n_services; j++) {
			all[n++] = l->sps[i]->services[j];
		}
	}
	qsort(all, n, sizeof(*all), str_cmp);
	size_t kept = 0;
	for (size_t i = 0; i < n; i++) {
		if (kept == 0 || strcmp(all[kept - 1], all[i]) != 0) {
			all[kept++] = all[i];
		}
	}
	if (none) {
		all[kept++] = (char *) "";
	}
	*n_out = kept;
	return all;
}

static bool
uses(const Spreg__V1__PublicSubprocessor *p, const char *service)
{
	if (service[0] == '\0') {
		return p->n_services == 0;
	}
	for (size_t i = 0; i < p->n_services; i++) {
		if (strcmp(p->services[i], service) == 0) {
			return true;
		}
	}
	return false;
}

static void
vendor_row(http_text *h, const Spreg__V1__PublicSubprocessor *p)
{
	http_text_puts(h, "<tr><td data-label=\"Subprocessor\">");
	/* A link only to the web: never javascript: or data:. */
	bool link = strncmp(p->website, "https://", 8) == 0 ||
	    strncmp(p->website, "http://", 7) == 0;
	if (link) {
		http_text_puts(h, "<a href=\"");
		http_text_esc(h, p->website);
		http_text_puts(h, "\" rel=\"noopener noreferrer\">");
	}
	http_text_esc(h, p->name[0] != '\0' ? p->name : p->subprocessor_id);
	http_text_puts(h, link ? "</a>" : "");
	http_text_puts(h, "</td><td data-label=\"Entity\">");
	http_text_esc(h, p->legal_entity);
	http_text_puts(h, "</td><td data-label=\"Purpose\">");
	http_text_esc(h, p->purpose);
	http_text_puts(h, "</td><td data-label=\"Countries\">");
	esc_list(h, p->country_names, p->n_country_names, ", ");
	http_text_puts(h, "</td><td data-label=\"Safeguard\">");
	esc_list(h, p->safeguards, p->n_safeguards, "; ");
	if (p->dpf_certified_on[0] != '\0') {
		http_text_puts(h, p->n_safeguards > 0 ? "; " : "");
		http_text_puts(h, "EU-US Data Privacy Framework (certified ");
		http_text_esc(h, p->dpf_certified_on);
		http_text_puts(h, ")");
	}
	http_text_puts(h, "</td></tr>\n");
}

static bool
listed(const http_listing *l, const char *id)
{
	for (size_t i = 0; i < l->nsps; i++) {
		if (strcmp(l->sps[i]->subprocessor_id, id) == 0) {
			return true;
		}
	}
	return false;
}

static void
upcoming(const http_req *r, http_text *h, const http_listing *l)
{
	const Spreg__V1__ListAnnouncementsResponse *a =
	    (const void *) l->announcements;
	size_t shown = 0;

	http_text_puts(h,
	    "<section id=\"upcoming\">\n<h2>Upcoming changes</h2>\n");
	for (size_t i = 0; a != NULL && i < a->n_announcements; i++) {
		const Spreg__V1__Announcement *an = a->announcements[i];
		const Spreg__V1__Subprocessor *sp = an->subprocessor;
		int32_t day;
		char deadline[DATE_BUF] = "";
		if (an->applied || an->withdrawn || sp == NULL) {
			continue;
		}
		if (shown++ == 0) {
			http_text_puts(h,
			    "<div class=\"scroll\"><table>\n<thead><tr>"
			    "<th>Effective</th><th>Change</th>"
			    "<th>Subprocessor</th><th>Purpose</th>"
			    "<th>Countries</th><th>Object by</th></tr></thead>"
			    "\n<tbody>\n");
		}
		/* Objections are taken while the notice runs: up to the
		 * day before the change takes effect. */
		if (date_parse(an->effective_at, &day)) {
			date_format(day - 1, deadline);
		}
		http_text_puts(h, "<tr><td data-label=\"Effective\"><time>");
		http_text_esc(h, an->effective_at);
		http_text_puts(h, "</time></td><td data-label=\"Change\">");
		http_text_puts(h, sp->status ==
		        SPREG__V1__SUBPROCESSOR_STATUS__SUBPROCESSOR_STATUS_RETIRED ?
		    "Retirement" : listed(l, sp->id) ? "Change" :
		    "New subprocessor");
		if (an->emergency) {
			http_text_puts(h,
			    " <span class=\"emergency\">(emergency: ");
			http_text_esc(h, an->reason);
			http_text_puts(h, ")</span>");
		}
		http_text_puts(h, "</td><td data-label=\"Subprocessor\">");
		http_text_esc(h, sp->name[0] != '\0' ? sp->name : sp->id);
		if (sp->legal_entity[0] != '\0') {
			http_text_puts(h, " (");
			http_text_esc(h, sp->legal_entity);
			http_text_puts(h, ")");
		}
		http_text_puts(h, "</td><td data-label=\"Purpose\">");
		http_text_esc(h, sp->purpose);
		http_text_puts(h, "</td><td data-label=\"Countries\">");
		for (size_t j = 0; j < sp->n_locations; j++) {
			http_text_puts(h, j > 0 ? ", " : "");
			http_text_esc(h, http_country_name(r,
			    sp->locations[j]->country));
		}
		char seq[32];
		snprintf(seq, sizeof(seq), "%llu", (unsigned long long) an->seq);
		http_text_puts(h, "</td><td data-label=\"Object by\"><time>");
		http_text_esc(h, deadline);
		http_text_puts(h, "</time>: <code>POST /v1/changes/");
		http_text_puts(h, seq);
		http_text_puts(h,
		    "/objections</code> with your customer token, or "
		    "<code>spreg object ");
		http_text_puts(h, seq);
		http_text_puts(h, " --reason TEXT</code></td></tr>\n");
	}
	http_text_puts(h, shown > 0 ? "</tbody></table></div>\n" :
	    "<p>No changes are announced.</p>\n");
	http_text_puts(h, "</section>\n");
}

static void
render(const http_req *r, http_text *h, const http_listing *l,
    const char *as_of)
{
	const Spreg__V1__ExportMetadata *m = l->meta;
	bool customer = m != NULL && m->customer[0] != '\0';
	size_t nservices = 0;
	char **services = services_of(l, &nservices);

	head(h, "Subprocessors");
	http_text_puts(h, "<header>\n<h1>Subprocessors");
	if (customer) {
		http_text_puts(h, " of ");
		http_text_esc(h, m->customer);
	}
	http_text_puts(h, "</h1>\n<p class=\"meta\">");
	http_text_puts(h,
	    customer ? "The subprocessors of the services this customer "
	    "uses" : "The subprocessors that process personal data for us");
	http_text_puts(h, ", as of <time>");
	http_text_esc(h, m != NULL ? m->as_of : "");
	http_text_puts(h, "</time>.");
	if (m != NULL && m->changed_at[0] != '\0') {
		http_text_puts(h, " Last changed <time datetime=\"");
		http_text_esc(h, m->changed_at);
		http_text_puts(h, "\">");
		http_text_put(h,
		    m->changed_at, strlen(m->changed_at) >= 10 ? 10 : 0);
		http_text_puts(h, "</time>.");
	}
	http_text_puts(h, "</p>\n</header>\n<main>\n");
	if (as_of == NULL) {
		upcoming(r, h, l);
	}
	if (l->nsps == 0) {
		http_text_puts(h, "<p>None.</p>\n");
	}
	for (size_t s = 0; services != NULL && s < nservices; s++) {
		http_text_puts(h, "<section class=\"service\">\n<h2>");
		http_text_esc(h,
		    services[s][0] != '\0' ? services[s] : "Other");
		http_text_puts(h,
		    "</h2>\n<div class=\"scroll\"><table>\n<thead><tr>"
		    "<th>Subprocessor</th><th>Entity</th><th>Purpose</th>"
		    "<th>Countries</th><th>Safeguard</th></tr></thead>\n"
		    "<tbody>\n");
		for (size_t i = 0; i < l->nsps; i++) {
			if (uses(l->sps[i], services[s])) {
				vendor_row(h, l->sps[i]);
			}
		}
		http_text_puts(h, "</tbody></table></div>\n</section>\n");
	}
	if (services == NULL && l->nsps > 0) {
		h->failed = true;
	}
	free(services);
	http_text_puts(h, "</main>\n<footer>\n<p>Follow the changes: <a "
	    "href=\"/changes.atom\">Atom feed</a>, <a "
	    "href=\"/changes.json\">JSON Feed</a>. Past lists: "
	    "<code>/?as_of=YYYY-MM-DD</code>. For programs: <a "
	    "href=\"/v1/subprocessors\">the JSON API</a>.</p>\n</footer>\n"
	    "</body>\n</html>\n");
}

static void
page(http_req *r)
{
	http_listing *l = calloc(1, sizeof(*l));
	http_text h = {0};
	const char *as_of = http_param_get(r, "as_of");

	if (l == NULL) {
		http_fail(r, SPREG_RESOURCE_EXHAUSTED, "page: out of memory");
		return;
	}
	for (size_t i = 0; i < r->nparams; i++) {
		if (strcmp(r->params[i].name, "as_of") != 0) {
			r->st = err_set(&r->e, SPREG_INVALID_ARGUMENT, "%.64s: "
			    "not a parameter of this page (as_of is)",
			    r->params[i].name);
			goto fail;
		}
	}
	if (as_of != NULL && as_of[0] == '\0') {
		as_of = NULL;
	}
	if (!http_listing_fetch(r, as_of, l)) {
		goto fail;
	}
	if (as_of == NULL) {
		Spreg__V1__ListAnnouncementsRequest in =
		    SPREG__V1__LIST_ANNOUNCEMENTS_REQUEST__INIT;
		http_call(r, "spreg.v1.Registry/ListAnnouncements", &in.base,
		    NULL);
		if (r->st != SPREG_OK) {
			goto fail;
		}
		l->announcements = r->out;
		r->out = NULL;
	}
	render(r, &h, l, as_of);
	http_listing_free(l);
	free(l);
	send_page(r, 200, &h, r->bearer[0] == '\0');
	return;

fail:
	http_listing_free(l);
	free(l);
	error_page(r);
}

bool
http_page_route(http_req *r)
{
	bool root = r->nsegs == 0 || (r->nsegs == 1 && r->segs[0][0] == '\0');
	bool css = r->nsegs == 1 && strcmp(r->segs[0], "spreg.css") == 0;

	if (!root && !css) {
		return false;
	}
	if (!http_get_only(r)) {
		return true;
	}
	if (css) {
		const char *headers[] = {"Cache-Control", "public, max-age=86400",
		    NULL};
		http_respond(r, 200, "text/css; charset=utf-8", stylesheet,
		    sizeof(stylesheet) - 1, headers);
		return true;
	}
	page(r);
	return true;
}
