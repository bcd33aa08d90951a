#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/vocab.h"
#include "export/format.h"

#define LIST_SEP "; "

void
export_buf_init(export_buf *b)
{
	memset(b, 0, sizeof(*b));
}

void
export_buf_fini(export_buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

void
export_buf_reset(export_buf *b)
{
	b->len = 0;
	b->failed = false;
	if (b->data != NULL) {
		b->data[0] = '\0';
	}
}

void
export_buf_add(export_buf *b, const void *p, size_t n)
{
	if (b->failed) {
		return;
	}
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n + 1) {
			cap *= 2;
		}
		char *grown = realloc(b->data, cap);
		if (grown == NULL) {
			b->failed = true;
			return;
		}
		b->data = grown;
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void
export_buf_adds(export_buf *b, const char *s)
{
	export_buf_add(b, s, strlen(s));
}

/* ---- tables ---- */

const char *const export_transfer_columns[EXPORT_TRANSFER_NCOLS] = {
	"subprocessor_id", "subprocessor_name", "legal_entity", "purpose",
	"services", "country", "country_name", "location_role",
	"data_category", "data_category_name", "special_category", "regime",
	"mechanism", "mechanism_name", "signed_on", "expires_on",
	"document_ref", "tia_ref", "verdict", "reason", "as_of",
};

const char *const export_public_columns[EXPORT_PUBLIC_NCOLS] = {
	"subprocessor_id", "name", "legal_entity", "purpose", "website",
	"countries", "country_names", "data_categories",
	"data_category_names", "safeguards", "as_of", "kind", "data_uses",
	"fourth_parties",
};

const char *const export_change_columns[EXPORT_CHANGE_NCOLS] = {
	"seq", "time", "kind", "subprocessor_id", "customer_id",
	"old_revision", "new_revision", "actor", "effective_at", "reason",
	"services",
};

static export_cell
text(const char *s)
{
	return (export_cell) {.kind = EXPORT_TEXT, .text = s ? s : ""};
}

static export_cell
list(char *const *items, size_t n)
{
	return (export_cell) {.kind = EXPORT_LIST, .items = items, .nitems = n};
}

static export_cell
flag(bool v)
{
	return (export_cell) {.kind = EXPORT_BOOL, .flag = v};
}

static export_cell
number(uint64_t v)
{
	return (export_cell) {.kind = EXPORT_UINT, .number = v};
}

const char *
export_verdict_name(Spreg__V1__Verdict v)
{
	const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(
	    &spreg__v1__verdict__descriptor, (int) v);
	static const char prefix[] = "VERDICT_";

	if (ev == NULL || v == SPREG__V1__VERDICT__VERDICT_UNSPECIFIED) {
		return "UNSPECIFIED";
	}
	return strncmp(ev->name, prefix, sizeof(prefix) - 1) == 0 ?
	    ev->name + sizeof(prefix) - 1 : ev->name;
}

void
export_transfer_cells(const Spreg__V1__TransferRecord *r, export_cell *c)
{
	c[0] = text(r->subprocessor_id);
	c[1] = text(r->subprocessor_name);
	c[2] = text(r->legal_entity);
	c[3] = text(r->purpose);
	c[4] = list(r->services, r->n_services);
	c[5] = text(r->country);
	c[6] = text(r->country_name);
	c[7] = text(r->location_role);
	c[8] = text(r->data_category);
	c[9] = text(r->data_category_name);
	c[10] = flag(r->special_category);
	c[11] = text(r->regime);
	c[12] = text(r->mechanism);
	c[13] = text(r->mechanism_name);
	c[14] = text(r->signed_on);
	c[15] = text(r->expires_on);
	c[16] = text(r->document_ref);
	c[17] = text(r->tia_ref);
	c[18] = text(export_verdict_name(r->verdict));
	c[19] = text(r->reason);
	c[20] = text(r->as_of);
}

void
export_public_cells(const Spreg__V1__PublicSubprocessor *p, export_cell *c)
{
	c[0] = text(p->subprocessor_id);
	c[1] = text(p->name);
	c[2] = text(p->legal_entity);
	c[3] = text(p->purpose);
	c[4] = text(p->website);
	c[5] = list(p->countries, p->n_countries);
	c[6] = list(p->country_names, p->n_country_names);
	c[7] = list(p->data_categories, p->n_data_categories);
	c[8] = list(p->data_category_names, p->n_data_category_names);
	c[9] = list(p->safeguards, p->n_safeguards);
	c[10] = text(p->as_of);
	c[11] = text(p->kind);
	c[12] = list(p->data_uses, p->n_data_uses);
	c[13] = list(p->fourth_parties, p->n_fourth_parties);
}

void
export_change_cells(const Spreg__V1__Change *ch, export_cell *c)
{
	c[0] = number(ch->seq);
	c[1] = text(ch->time);
	const char *kind = vocab_change_kind_name(ch->kind);
	c[2] = text(kind != NULL ? kind : "unspecified");
	c[3] = text(ch->subprocessor_id);
	c[4] = text(ch->customer_id);
	c[5] = number(ch->old_revision);
	c[6] = number(ch->new_revision);
	c[7] = text(ch->actor);
	c[8] = text(ch->effective_at);
	c[9] = text(ch->reason);
	c[10] = list(ch->services, ch->n_services);
}

/* ---- CSV ---- */

void
export_buf_add_doubled(export_buf *b, const char *s)
{
	for (const char *q; (q = strchr(s, '"')) != NULL; s = q + 1) {
		export_buf_add(b, s, (size_t) (q - s) + 1);
		export_buf_add(b, "\"", 1);
	}
	export_buf_adds(b, s);
}

bool
export_csv_needs_guard(const char *s)
{
	return s[0] != '\0' && strchr("=+-@\t\r'", s[0]) != NULL;
}

void
export_csv_field(export_buf *b, const char *s)
{
	export_buf_add(b, "\"", 1);
	if (export_csv_needs_guard(s)) {
		export_buf_add(b, "'", 1);
	}
	export_buf_add_doubled(b, s);
	export_buf_add(b, "\"", 1);
}

void
export_csv_header(export_buf *b, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (i > 0) {
			export_buf_add(b, ",", 1);
		}
		export_csv_field(b, names[i]);
	}
	export_buf_add(b, "\r\n", 2);
}

const char *
export_cell_text(const export_cell *c, export_buf *scratch)
{
	char num[24];

	export_buf_reset(scratch);
	switch (c->kind) {
	case EXPORT_TEXT:
		export_buf_adds(scratch, c->text);
		break;
	case EXPORT_BOOL:
		export_buf_adds(scratch, c->flag ? "true" : "false");
		break;
	case EXPORT_UINT:
		snprintf(num, sizeof(num), "%" PRIu64, c->number);
		export_buf_adds(scratch, num);
		break;
	case EXPORT_LIST:
		for (size_t i = 0; i < c->nitems; i++) {
			if (i > 0) {
				export_buf_adds(scratch, LIST_SEP);
			}
			export_buf_adds(scratch, c->items[i]);
		}
		break;
	}
	export_buf_add(scratch, "", 0);	/* allocates the NUL when empty */
	return scratch->failed || scratch->data == NULL ? "" : scratch->data;
}

void
export_csv_row(export_buf *b, const export_cell *cells, size_t n,
    export_buf *scratch)
{
	for (size_t i = 0; i < n; i++) {
		if (i > 0) {
			export_buf_add(b, ",", 1);
		}
		export_csv_field(b, export_cell_text(&cells[i], scratch));
		if (scratch->failed) {
			b->failed = true;
		}
	}
	export_buf_add(b, "\r\n", 2);
}

/* ---- JSON Lines ---- */

void
export_json_string(export_buf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const char *run = s;

	export_buf_add(b, "\"", 1);
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char) *s;
		const char *esc = NULL;
		char u[7];
		if (ch == '"') {
			esc = "\\\"";
		} else if (ch == '\\') {
			esc = "\\\\";
		} else if (ch == '\n') {
			esc = "\\n";
		} else if (ch == '\r') {
			esc = "\\r";
		} else if (ch == '\t') {
			esc = "\\t";
		} else if (ch == '\b') {
			esc = "\\b";
		} else if (ch == '\f') {
			esc = "\\f";
		} else if (ch < 0x20) {
			memcpy(u, "\\u00", 4);
			u[4] = hex[ch >> 4];
			u[5] = hex[ch & 0xf];
			u[6] = '\0';
			esc = u;
		}
		if (esc != NULL) {
			export_buf_add(b, run, (size_t) (s - run));
			export_buf_adds(b, esc);
			run = s + 1;
		}
	}
	export_buf_add(b, run, (size_t) (s - run));
	export_buf_add(b, "\"", 1);
}

void
export_json_row(export_buf *b, const char *const *names,
    const export_cell *cells, size_t n)
{
	char num[24];

	export_buf_add(b, "{", 1);
	for (size_t i = 0; i < n; i++) {
		const export_cell *c = &cells[i];
		if (i > 0) {
			export_buf_add(b, ",", 1);
		}
		export_json_string(b, names[i]);
		export_buf_add(b, ":", 1);
		switch (c->kind) {
		case EXPORT_TEXT:
			export_json_string(b, c->text);
			break;
		case EXPORT_BOOL:
			export_buf_adds(b, c->flag ? "true" : "false");
			break;
		case EXPORT_UINT:
			snprintf(num, sizeof(num), "%" PRIu64, c->number);
			export_buf_adds(b, num);
			break;
		case EXPORT_LIST:
			export_buf_add(b, "[", 1);
			for (size_t j = 0; j < c->nitems; j++) {
				if (j > 0) {
					export_buf_add(b, ",", 1);
				}
				export_json_string(b, c->items[j]);
			}
			export_buf_add(b, "]", 1);
			break;
		}
	}
	export_buf_add(b, "}\n", 2);
}
