#include <curl/curl.h>
#include <inttypes.h>
#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/date.h"
#include "core/log.h"
#include "db/outbox.h"
#include "deliver/deliver.h"
#include "deliver/mail.h"

#define TICK_MS 500
#define PAGE 100		/* customers per read */
#define CHANGES_MAX 50		/* changes per message */
#define SCAN_MAX 100000		/* log entries examined per look */
#define JOBS_MAX 32		/* messages per round */
#define KEY_MAX 400
#define POS_PREFIX "mail_pos/"

/* One (customer, contact) pair's retry state; its position is stored. */
typedef struct pair {
	char key[KEY_MAX];	/* POS_PREFIX customer "/" contact */
	int64_t retry_at;	/* monotonic */
	unsigned failures;
	int64_t last_sent;	/* monotonic; 0: never (digests) */
	bool seen;
} pair;

/* A message to send, made in a read transaction, sent after it. */
typedef struct job {
	pair *p;
	char contact[256];
	uint64_t pos_to;	/* the position once it is accepted */
	char *text;		/* the whole message, CRLF lines */
	size_t len, sent;
} job;

/* Positions to store: a message accepted, or a look that found nothing
 * to tell up to there. */
typedef struct advance {
	char key[KEY_MAX];
	uint64_t pos;
} advance;

struct mail_sender {
	db *d;
	db_session *session;
	mail_options o;
	pthread_t thread;
	bool started;
	atomic_bool stopping;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pair **pairs;
	size_t npairs, cappairs;
	arena arena;
	uint64_t msg_counter;
};

/* ---- text ------------------------------------------------------------------ */

typedef struct buf {
	char *s;
	size_t len, cap;
	bool failed;
} buf;

static void
buf_add(buf *b, const char *fmt, ...)
{
	va_list ap;

	for (;;) {
		size_t room = b->cap - b->len;
		va_start(ap, fmt);
		int n = vsnprintf(b->s ? b->s + b->len : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->failed = true;
			return;
		}
		if ((size_t) n < room) {
			b->len += (size_t) n;
			return;
		}
		size_t cap = (b->cap + (size_t) n + 1) * 2;
		char *grown = realloc(b->s, cap);
		if (grown == NULL) {
			b->failed = true;
			return;
		}
		b->s = grown;
		b->cap = cap;
	}
}

static bool
ascii(const char *s)
{
	for (; *s != '\0'; s++) {
		if ((unsigned char) *s >= 0x80 || (unsigned char) *s < 0x20) {
			return false;
		}
	}
	return true;
}

/* RFC 2047: s as encoded words of UTF-8 base64, at most 45 bytes of s
 * each (never splitting a character), folded. ASCII stays as it is. */
static void
buf_add_encoded(buf *b, const char *s)
{
	if (ascii(s)) {
		buf_add(b, "%s", s);
		return;
	}
	size_t len = strlen(s), at = 0;
	while (at < len) {
		size_t n = len - at > 45 ? 45 : len - at;
		while (at + n < len && ((unsigned char) s[at + n] & 0xc0) == 0x80) {
			n--;	/* a continuation byte: end before its lead */
		}
		char enc[80];
		sodium_bin2base64(enc, sizeof(enc), (const unsigned char *) s + at,
		    n, sodium_base64_VARIANT_ORIGINAL);
		buf_add(b, "%s=?UTF-8?B?%s?=", at > 0 ? "\r\n " : "", enc);
		at += n;
	}
}

/* A display name as a quoted string, or encoded words. */
static void
buf_add_name(buf *b, const char *name)
{
	if (!ascii(name)) {
		buf_add_encoded(b, name);
		return;
	}
	buf_add(b, "\"");
	for (const char *p = name; *p != '\0'; p++) {
		buf_add(b, "%s%c", *p == '"' || *p == '\\' ? "\\" : "", *p);
	}
	buf_add(b, "\"");
}

/* ---- what a notice says ----------------------------------------------------- */

static bool
worth_mail(const Spreg__V1__Change *c)
{
	switch (c->kind) {
	case CHANGE_ANNOUNCED:
	case CHANGE_WITHDRAWN:
	case CHANGE_TOOK_EFFECT:
	case CHANGE_RETIRED:
	case CHANGE_OBJECTION:
	case CHANGE_ASSESSMENT_CHANGED:
		return true;
	default:
		return false;
	}
}

static const char *
kind_text(Spreg__V1__ChangeKind k)
{
	switch (k) {
	case CHANGE_ANNOUNCED:
		return "announced change";
	case CHANGE_WITHDRAWN:
		return "announcement withdrawn";
	case CHANGE_TOOK_EFFECT:
		return "change in effect";
	case CHANGE_RETIRED:
		return "subprocessor retired";
	case CHANGE_OBJECTION:
		return "objection received";
	case CHANGE_ASSESSMENT_CHANGED:
		return "transfer assessment now failing";
	default:
		return "change";
	}
}

/* The vendor a change is about: as announced, else as it is now. */
static const Spreg__V1__Subprocessor *
vendor_of(db_txn *t, const Spreg__V1__Change *c, arena *a)
{
	Spreg__V1__Announcement *an;
	Spreg__V1__Subprocessor *sp;
	err e;

	if (c->kind == CHANGE_ANNOUNCED &&
	    db_announcement_get(t, c->seq, a, &an, &e) == SPREG_OK &&
	    an->subprocessor != NULL) {
		return an->subprocessor;
	}
	if (c->subprocessor_id[0] != '\0' &&
	    db_sp_get(t, c->subprocessor_id, 0, a, &sp, &e) == SPREG_OK) {
		return sp;
	}
	return NULL;
}

static void
body_change(buf *b, db_txn *t, const Spreg__V1__Customer *cu,
    const Spreg__V1__Change *c, arena *a)
{
	const Spreg__V1__Subprocessor *sp = vendor_of(t, c, a);

	buf_add(b, "Change %" PRIu64 " (%s), %s\r\n", c->seq,
	    kind_text(c->kind), c->time);
	if (sp != NULL) {
		buf_add(b, "Subprocessor: %s (%s)%s%s\r\n", sp->name, sp->id,
		    sp->legal_entity[0] != '\0' ? ", " : "", sp->legal_entity);
		if (sp->purpose[0] != '\0') {
			buf_add(b, "Purpose: %s\r\n", sp->purpose);
		}
		buf_add(b, "Countries:");
		for (size_t i = 0; i < sp->n_locations; i++) {
			buf_add(b, "%s %s (%s)", i > 0 ? "," : "",
			    sp->locations[i]->country, sp->locations[i]->role);
		}
		buf_add(b, "\r\nData categories:");
		for (size_t i = 0; i < sp->n_data_categories; i++) {
			buf_add(b, "%s %s", i > 0 ? "," : "",
			    sp->data_categories[i]);
		}
		buf_add(b, "\r\n");
	} else if (c->subprocessor_id[0] != '\0') {
		buf_add(b, "Subprocessor: %s\r\n", c->subprocessor_id);
	}
	if (c->effective_at[0] != '\0') {
		buf_add(b, "Effective: %s\r\n", c->effective_at);
	}
	if (c->reason[0] != '\0') {
		buf_add(b, "Reason: %s\r\n", c->reason);
	}
	if (c->kind == CHANGE_ANNOUNCED && c->effective_at[0] != '\0') {
		buf_add(b, "To object: before %s, reply to this message or run\r\n"
		    "  spreg object %" PRIu64 " --customer %s --reason TEXT\r\n",
		    c->effective_at, c->seq, cu->id);
	}
	buf_add(b, "\r\n");
}

/* The whole RFC 5322 message; NULL when out of memory. */
static char *
compose(mail_sender *m, db_txn *t, const Spreg__V1__Customer *cu,
    const char *contact, Spreg__V1__Change **changes, size_t n,
    size_t *len_out)
{
	buf b = {0}, body = {0};
	char date[64];
	time_t now = time(NULL);
	struct tm tm;
	static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu",
	    "Fri", "Sat"};
	static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May",
	    "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

	gmtime_r(&now, &tm);
	snprintf(date, sizeof(date), "%s, %02d %s %04d %02d:%02d:%02d +0000",
	    days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900,
	    tm.tm_hour, tm.tm_min, tm.tm_sec);
	buf_add(&body, "To %s,\r\n\r\n", cu->name);
	buf_add(&body, "%s concerning your services:\r\n\r\n", n == 1 ?
	    "A change to our subprocessors" : "Changes to our subprocessors");
	for (size_t i = 0; i < n; i++) {
		body_change(&body, t, cu, changes[i], &m->arena);
	}
	buf_add(&body, "-- \r\nspregd, the subprocessor registry\r\n");

	buf_add(&b, "From: spregd <%s>\r\nTo: ", m->o.from);
	buf_add_name(&b, cu->name);
	buf_add(&b, " <%s>\r\nSubject: ", contact);
	char subject[512];
	if (n == 1) {
		const Spreg__V1__Subprocessor *sp = vendor_of(t, changes[0],
		    &m->arena);
		snprintf(subject, sizeof(subject), "[spreg] %s: %s%s%s",
		    kind_text(changes[0]->kind), sp != NULL ? sp->name :
		    changes[0]->subprocessor_id, changes[0]->effective_at[0] ?
		    ", effective " : "", changes[0]->effective_at);
	} else {
		snprintf(subject, sizeof(subject), "[spreg] %zu changes to your "
		    "subprocessors", n);
	}
	buf_add_encoded(&b, subject);
	buf_add(&b, "\r\nDate: %s\r\nMessage-ID: <spreg-%" PRIu64 "-%" PRIu64
	    "-%" PRIu64 "@spregd>\r\nMIME-Version: 1.0\r\nContent-Type: "
	    "text/plain; charset=utf-8\r\nContent-Transfer-Encoding: "
	    "base64\r\n\r\n", date, changes[n - 1]->seq, (uint64_t) now,
	    ++m->msg_counter);
	/* The body in base64, 76 columns. */
	for (size_t at = 0; !body.failed && at < body.len; at += 57) {
		size_t k = body.len - at > 57 ? 57 : body.len - at;
		char line[80];
		sodium_bin2base64(line, sizeof(line),
		    (const unsigned char *) body.s + at, k,
		    sodium_base64_VARIANT_ORIGINAL);
		buf_add(&b, "%s\r\n", line);
	}
	bool failed = body.failed || b.failed;
	free(body.s);
	if (failed) {
		free(b.s);
		return NULL;
	}
	*len_out = b.len;
	return b.s;
}

/* ---- sending ---------------------------------------------------------------- */

static size_t
on_read(char *out, size_t size, size_t n, void *arg)
{
	job *j = arg;
	size_t left = j->len - j->sent, want = size * n;

	if (want > left) {
		want = left;
	}
	memcpy(out, j->text + j->sent, want);
	j->sent += want;
	return want;
}

static bool
send_one(mail_sender *m, job *j, char *error, size_t len)
{
	char errbuf[CURL_ERROR_SIZE] = "", from[300], rcpt[300];
	CURL *c = curl_easy_init();
	struct curl_slist *to = NULL;

	if (c == NULL) {
		snprintf(error, len, "libcurl: out of memory");
		return false;
	}
	snprintf(from, sizeof(from), "<%s>", m->o.from);
	snprintf(rcpt, sizeof(rcpt), "<%s>", j->contact);
	to = curl_slist_append(NULL, rcpt);
	j->sent = 0;
	curl_easy_setopt(c, CURLOPT_URL, m->o.url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	curl_easy_setopt(c, CURLOPT_MAIL_FROM, from);
	curl_easy_setopt(c, CURLOPT_MAIL_RCPT, to);
	curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
	curl_easy_setopt(c, CURLOPT_READDATA, j);
	curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long) m->o.timeout_ms);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	if (m->o.user != NULL) {
		curl_easy_setopt(c, CURLOPT_USERNAME, m->o.user);
		curl_easy_setopt(c, CURLOPT_PASSWORD, m->o.password);
		curl_easy_setopt(c, CURLOPT_USE_SSL, (long) CURLUSESSL_TRY);
	}
	CURLcode rc = to != NULL ? curl_easy_perform(c) : CURLE_OUT_OF_MEMORY;
	long code = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	if (rc != CURLE_OK) {
		snprintf(error, len, "%s (SMTP %ld)", errbuf[0] ? errbuf :
		    curl_easy_strerror(rc), code);
	}
	curl_slist_free_all(to);
	curl_easy_cleanup(c);
	return rc == CURLE_OK;
}

/* ---- the round -------------------------------------------------------------- */

static pair *
pair_get(mail_sender *m, const char *key)
{
	for (size_t i = 0; i < m->npairs; i++) {
		if (strcmp(m->pairs[i]->key, key) == 0) {
			return m->pairs[i];
		}
	}
	if (m->npairs == m->cappairs) {
		size_t cap = m->cappairs ? m->cappairs * 2 : 16;
		pair **grown = realloc(m->pairs, cap * sizeof(*grown));
		if (grown == NULL) {
			return NULL;
		}
		m->pairs = grown;
		m->cappairs = cap;
	}
	pair *p = calloc(1, sizeof(*p));
	if (p != NULL) {
		snprintf(p->key, sizeof(p->key), "%s", key);
		m->pairs[m->npairs++] = p;
	}
	return p;
}

typedef struct round {
	job jobs[JOBS_MAX];
	size_t njobs;
	advance adv[JOBS_MAX * 4];
	size_t nadv;
} round;

static void
advance_add(round *r, const char *key, uint64_t pos)
{
	if (r->nadv < sizeof(r->adv) / sizeof(r->adv[0])) {
		snprintf(r->adv[r->nadv].key, KEY_MAX, "%s", key);
		r->adv[r->nadv++].pos = pos;
	}
}

/* One contact of one customer: a message to send, a position to move
 * past changes that call for none, or nothing. */
static void
look(mail_sender *m, db_txn *t, round *r, const Spreg__V1__Customer *cu,
    const char *contact, uint64_t last, int64_t now)
{
	char key[KEY_MAX];
	uint64_t pos;
	err e;

	if (snprintf(key, sizeof(key), POS_PREFIX "%s/%s", cu->id, contact) >=
	    (int) sizeof(key)) {
		return;
	}
	pair *p = pair_get(m, key);
	if (p == NULL) {
		return;
	}
	p->seen = true;
	spreg_status st = db_meta_get_u64(t, key, &pos, &e);
	if (st == SPREG_NOT_FOUND) {
		log_info("mail: notices to %s for customer %s start after seq "
		    "%" PRIu64, contact, cu->id, last);
		advance_add(r, key, last);	/* from now on */
		return;
	}
	if (st != SPREG_OK || pos >= last || now < p->retry_at ||
	    (m->o.digest_minutes > 0 && p->last_sent > 0 &&
	        now - p->last_sent < (int64_t) m->o.digest_minutes * 60000)) {
		return;
	}
	db_change_filter f = {NULL, cu->id, cu->services, cu->n_services};
	Spreg__V1__Change **changes;
	size_t n;
	uint64_t next;
	if (db_change_list(t, pos, CHANGES_MAX, &f, SCAN_MAX, &m->arena,
	        &changes, &n, &next, &e) != SPREG_OK) {
		log_error("mail: %s: %s", key, e.msg);
		return;
	}
	Spreg__V1__Change *tell[CHANGES_MAX];
	size_t ntell = 0;
	uint64_t to = next > pos ? next : pos;
	for (size_t i = 0; i < n; i++) {
		if (worth_mail(changes[i])) {
			tell[ntell++] = changes[i];
		}
		if (m->o.digest_minutes == 0 && ntell == 1) {
			to = changes[i]->seq;	/* one change a message */
			break;
		}
	}
	if (ntell == 0) {
		if (to > pos) {
			advance_add(r, key, to);
		}
		return;
	}
	if (r->njobs == JOBS_MAX) {
		return;
	}
	job *j = &r->jobs[r->njobs];
	memset(j, 0, sizeof(*j));
	snprintf(j->contact, sizeof(j->contact), "%s", contact);
	j->p = p;
	j->pos_to = to;
	if ((j->text = compose(m, t, cu, contact, tell, ntell, &j->len)) !=
	    NULL) {
		r->njobs++;
	}
}

static spreg_status
store_round(round *r, db_txn *t, err *e)
{
	spreg_status st;

	for (size_t i = 0; i < r->nadv; i++) {
		if ((st = db_meta_put_u64(t, r->adv[i].key, r->adv[i].pos,
		         e)) != SPREG_OK) {
			return st;
		}
	}
	return SPREG_OK;
}

static void
round_run(mail_sender *m, round *r)
{
	db_txn t;
	err e;
	char after[80] = "";
	uint64_t last;
	int64_t now = time_mono_ms();
	bool more = true;

	r->njobs = r->nadv = 0;
	if (db_read_begin(m->session, &t, &e) != SPREG_OK) {
		return;
	}
	if (db_change_last_seq(&t, &last, &e) != SPREG_OK) {
		more = false;
	}
	while (more && r->njobs < JOBS_MAX) {
		Spreg__V1__Customer **cs;
		size_t n;
		if (db_customer_list(&t, after, PAGE,
		        &m->arena, &cs, &n, &more, &e) != SPREG_OK) {
			log_error("mail: customers: %s", e.msg);
			break;
		}
		for (size_t i = 0; i < n; i++) {
			for (size_t k = 0; k < cs[i]->n_contacts; k++) {
				look(m, &t, r, cs[i], cs[i]->contacts[k], last,
				    now);
			}
		}
		if (n == 0) {
			break;
		}
		snprintf(after, sizeof(after), "%s", cs[n - 1]->id);
	}
	db_read_end(m->session);
	arena_reset(&m->arena);

	/* No transaction is open while the relay is talked to. */
	for (size_t i = 0; i < r->njobs && !atomic_load(&m->stopping); i++) {
		job *j = &r->jobs[i];
		char error[CURL_ERROR_SIZE + 64];
		if (send_one(m, j, error, sizeof(error))) {
			if (j->p->failures > 0) {
				log_info("mail to %s: sent again after %u "
				    "failure(s)", j->contact, j->p->failures);
			}
			j->p->failures = 0;
			j->p->retry_at = 0;
			j->p->last_sent = time_mono_ms();
			advance_add(r, j->p->key, j->pos_to);
		} else {
			j->p->failures++;
			int64_t wait = deliver_backoff_ms(m->o.retry_min_ms,
			    m->o.retry_max_ms, j->p->failures);
			j->p->retry_at = time_mono_ms() + wait;
			log_warn("mail to %s (up to seq %" PRIu64 "): %s; "
			    "retrying in %" PRId64 " ms", j->contact, j->pos_to,
			    error, wait);
		}
		free(j->text);
		j->text = NULL;
	}
	if (r->nadv == 0) {
		return;
	}
	spreg_status st;
	do {
		if ((st = db_write_begin(m->session, &t, NULL, &e)) !=
		    SPREG_OK) {
			break;
		}
		st = store_round(r, &t, &e);
	} while (db_write_retry(&t, &st, &e));
	if (st != SPREG_OK) {
		log_error("mail: recording what was sent: %s (it will be sent "
		    "again)", e.msg);
	}
}

static void *
mail_main(void *arg)
{
	mail_sender *m = arg;
	round *r = calloc(1, sizeof(*r));

	if (r == NULL) {
		log_error("mail: out of memory; no e-mail is sent");
		return NULL;
	}
	pthread_mutex_lock(&m->mu);
	while (!atomic_load(&m->stopping)) {
		pthread_mutex_unlock(&m->mu);
		round_run(m, r);
		pthread_mutex_lock(&m->mu);
		if (atomic_load(&m->stopping)) {
			break;
		}
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += (long) TICK_MS * 1000000L;
		ts.tv_sec += ts.tv_nsec / 1000000000L;
		ts.tv_nsec %= 1000000000L;
		pthread_cond_timedwait(&m->cv, &m->mu, &ts);
	}
	pthread_mutex_unlock(&m->mu);
	free(r);
	return NULL;
}

spreg_status
mail_start(db *d, const mail_options *o, mail_sender **out, err *e)
{
	mail_sender *m = calloc(1, sizeof(*m));
	spreg_status st;

	if (m == NULL) {
		return err_oom(e, NULL);
	}
	m->d = d;
	m->o = *o;
	atomic_init(&m->stopping, false);
	pthread_mutex_init(&m->mu, NULL);
	pthread_cond_init(&m->cv, NULL);
	arena_init(&m->arena, (size_t) 64 << 20);
	if ((st = db_session_create(d, &m->session)) != SPREG_OK) {
		err_set(e, st, "mail: no store session");
		goto fail;
	}
	if (pthread_create(&m->thread, NULL, mail_main, m) != 0) {
		st = err_set(e, SPREG_RESOURCE_EXHAUSTED, "mail: cannot start "
		    "the sender thread");
		goto fail;
	}
	m->started = true;
	*out = m;
	return SPREG_OK;
fail:
	mail_stop(m);
	return st;
}

void
mail_stop(mail_sender *m)
{
	if (m == NULL) {
		return;
	}
	if (m->started) {
		pthread_mutex_lock(&m->mu);
		atomic_store(&m->stopping, true);
		pthread_cond_signal(&m->cv);
		pthread_mutex_unlock(&m->mu);
		pthread_join(m->thread, NULL);
	}
	for (size_t i = 0; i < m->npairs; i++) {
		free(m->pairs[i]);
	}
	free(m->pairs);
	db_session_destroy(m->session);
	arena_fini(&m->arena);
	pthread_cond_destroy(&m->cv);
	pthread_mutex_destroy(&m->mu);
	free(m);
}
