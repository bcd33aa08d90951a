/*
 * The text buffer the page (page.c) and the feeds (feed.c) are written
 * into, and the one escape for what they quote.
 */
#include <stdlib.h>
#include <string.h>

#include "http/internal.h"

void
http_text_put(http_text *t, const char *s, size_t n)
{
	if (t->failed) {
		return;
	}
	if (t->len + n + 1 > t->cap) {
		size_t cap = t->cap > 0 ? t->cap : 8192;
		while (cap < t->len + n + 1) {
			cap *= 2;
		}
		char *grown = realloc(t->buf, cap);
		if (grown == NULL) {
			t->failed = true;
			return;
		}
		t->buf = grown;
		t->cap = cap;
	}
	memcpy(t->buf + t->len, s, n);
	t->len += n;
	t->buf[t->len] = '\0';
}

void
http_text_puts(http_text *t, const char *s)
{
	http_text_put(t, s, strlen(s));
}

void
http_text_esc(http_text *t, const char *s)
{
	for (; s != NULL && *s != '\0'; s++) {
		switch (*s) {
		case '&':
			http_text_puts(t, "&amp;");
			break;
		case '<':
			http_text_puts(t, "&lt;");
			break;
		case '>':
			http_text_puts(t, "&gt;");
			break;
		case '"':
			http_text_puts(t, "&quot;");
			break;
		case '\'':
			http_text_puts(t, "&#39;");
			break;
		default:
			http_text_put(t, s, 1);
			break;
		}
	}
}
