#include <curl/curl.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/date.h"
#include "core/log.h"
#include "core/pbjson.h"
#include "db/outbox.h"
#include "deliver/deliver.h"
#include "spreg_config.h"

#define TICK_MS 100		/* looks for new rows and webhooks */
/* Finished requests are recorded together, once none is running, or
 * once the first of them has waited ACK_WAIT_MS, or ACK_BATCH of them
 * are waiting: with many webhooks, one commit (one fsync, one turn of
 * the store's write lock) records a wave of deliveries instead of a few
 * each, and the server's own writes keep their pace. A webhook whose
 * delivery succeeded goes on with its next row meanwhile; one that
 * failed waits for the record (its backoff is computed there). */
#define ACK_WAIT_MS 50
#define ACK_BATCH 512
#define KEY_MAX 64
#define ERROR_MAX 300
#define SECRET_PREFIX "whsec_"

/* One webhook as the sender knows it, and its request in flight. */
typedef struct dest {
	uint64_t number;
	char id[32];
	char *url;
	unsigned char key[KEY_MAX];
	size_t key_len;
	bool active;		/* not paused */
	bool seen;		/* in the last scan */
	int64_t retry_at;	/* monotonic ms; 0: now */
	unsigned failures_in_row;
	int64_t failing_since_ms;	/* wall clock; 0: not failing */

	CURL *easy;		/* NULL: nothing in flight */
	unsigned unrecorded;	/* outcomes awaiting the commit */
	bool held;		/* one of them failed, or was seq 0 */
	uint64_t ahead_seq;	/* the last delivered, not yet recorded */
	struct curl_slist *headers;
	char *body;
	uint64_t seq;
	size_t received;
	bool body_cut;
	char curl_error[CURL_ERROR_SIZE];
} dest;

/* What one finished request did, recorded in the round's commit. */
typedef struct outcome {
	dest *d;
	uint64_t seq;
	bool ok;
	long status;
	char error[ERROR_MAX];
	bool paused;		/* set by the commit */
} outcome;

struct deliver {
	db *d;
	db_session *session;
	deliver_options o;
	CURLM *multi;
	pthread_t thread;
	bool started;
	atomic_bool stopping;
	dest **dests;
	size_t ndests, capdests;
	outcome *done;		/* finished, not yet recorded */
	size_t ndone, capdone;
	int64_t first_done_ms;	/* monotonic: when done[0] finished */
	arena arena;		/* one round's decoding */
};

/* ---- a request ------------------------------------------------------------ */

static size_t
on_body(char *data, size_t size, size_t n, void *arg)
{
	dest *d = arg;

	(void) data;
	d->received += size * n;
	if (d->received > DELIVER_BODY_MAX) {
		d->body_cut = true;
		return 0;	/* enough: the status is what counts */
	}
	return size * n;
}

static void
request_free(deliver *dl, dest *d)
{
	if (d->easy != NULL) {
		curl_multi_remove_handle(dl->multi, d->easy);
		curl_easy_cleanup(d->easy);
		d->easy = NULL;
	}
	curl_slist_free_all(d->headers);
	d->headers = NULL;
	free(d->body);
	d->body = NULL;
}

/* "v1,<base64 HMAC-SHA256(key, id.timestamp.body)>" */
static void
sign(const dest *d, const char *msg_id, const char *ts, const char *body,
    char *out, size_t len)
{
	crypto_auth_hmacsha256_state st;
	unsigned char mac[crypto_auth_hmacsha256_BYTES];

	crypto_auth_hmacsha256_init(&st, d->key, d->key_len);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *) msg_id,
	    strlen(msg_id));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *) ".", 1);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *) ts,
	    strlen(ts));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *) ".", 1);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *) body,
	    strlen(body));
	crypto_auth_hmacsha256_final(&st, mac);
	snprintf(out, len, "v1,");
	sodium_bin2base64(out + 3, len - 3, mac, sizeof(mac),
	    sodium_base64_VARIANT_ORIGINAL);
}

/* The body of the delivery at seq: the change in proto3 JSON; seq 0 is
 * a test. NULL when it cannot be had (logged). */
static char *
body_of(deliver *dl, db_txn *t, dest *d, uint64_t seq, const char *customer)
{
	Spreg__V1__Change test = SPREG__V1__CHANGE__INIT;
	Spreg__V1__Change *c = &test;
	char now[TIME_BUF];
	err e;

	if (seq == 0) {
		time_format(time_now_ms(), now);
		test.time = now;
		test.actor = (char *) "spregd";
		test.customer_id = (char *) customer;
		test.reason = (char *) "webhook test";
	} else if (db_change_get(t, seq, &dl->arena, &c, &e) != SPREG_OK) {
		log_error("webhook %s: change seq %" PRIu64 ": %s", d->id, seq,
		    e.msg);
		return NULL;
	}
	/* The proto3 JSON mapping, as the HTTP API answers: receivers in
	 * any language read it with their protobuf library. */
	json_t *j = pbjson_from_message_flags(&c->base, PBJSON_PROTO3);
	char *s = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	return s;
}

static bool
request_start(deliver *dl, dest *d, uint64_t seq, char *body)
{
	char msg_id[64], ts[32], sig[128], h[192];

	snprintf(msg_id, sizeof(msg_id), "%s_%" PRIu64, d->id, seq);
	snprintf(ts, sizeof(ts), "%" PRId64, time_now_ms() / 1000);
	sign(d, msg_id, ts, body, sig, sizeof(sig));
	d->body = body;
	d->seq = seq;
	d->received = 0;
	d->body_cut = false;
	d->curl_error[0] = '\0';
	struct curl_slist *l = NULL, *next;
	const char *fixed[] = {"Content-Type: application/json", "Expect:"};
	for (size_t i = 0; i < 2; i++) {
		if ((next = curl_slist_append(l, fixed[i])) == NULL) {
			goto fail;
		}
		l = next;
	}
	const char *names[] = {"webhook-id", "webhook-timestamp",
	    "webhook-signature"};
	const char *values[] = {msg_id, ts, sig};
	for (size_t i = 0; i < 3; i++) {
		snprintf(h, sizeof(h), "%s: %s", names[i], values[i]);
		if ((next = curl_slist_append(l, h)) == NULL) {
			goto fail;
		}
		l = next;
	}
	d->headers = l;
	if ((d->easy = curl_easy_init()) == NULL) {
		goto fail;
	}
	CURL *c = d->easy;
	curl_easy_setopt(c, CURLOPT_URL, d->url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_POST, 1L);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, d->body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long) strlen(d->body));
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, d->headers);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long) dl->o.timeout_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
	    (long) dl->o.timeout_ms);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, d);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, d->curl_error);
	curl_easy_setopt(c, CURLOPT_PRIVATE, d);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "spregd/" SPREG_VERSION);
	if (dl->o.ca_file != NULL) {
		curl_easy_setopt(c, CURLOPT_CAINFO, dl->o.ca_file);
	}
	if (curl_multi_add_handle(dl->multi, c) != CURLM_OK) {
		goto fail;
	}
	return true;
fail:
	d->headers = l;
	request_free(dl, d);
	return false;
}

/* ---- the webhooks --------------------------------------------------------- */

static dest *
dest_find(deliver *dl, uint64_t number)
{
	for (size_t i = 0; i < dl->ndests; i++) {
		if (dl->dests[i]->number == number) {
			return dl->dests[i];
		}
	}
	return NULL;
}

static void
dest_free(deliver *dl, dest *d)
{
	request_free(dl, d);
	sodium_memzero(d->key, sizeof(d->key));
	free(d->url);
	free(d);
}

/* Takes the stored webhook's url, key and state. */
static void
dest_update(dest *d, const Spreg__V1__Webhook *h)
{
	size_t plen = strlen(SECRET_PREFIX);
	bool active = h->state == SPREG__V1__WEBHOOK_STATE__WEBHOOK_STATE_ACTIVE;

	if (d->url == NULL || strcmp(d->url, h->url) != 0) {
		char *url = strdup(h->url);
		if (url != NULL) {
			free(d->url);
			d->url = url;
		}
	}
	if (strncmp(h->secret, SECRET_PREFIX, plen) != 0 ||
	    sodium_base642bin(d->key, sizeof(d->key), h->secret + plen,
	        strlen(h->secret + plen), NULL, &d->key_len, NULL,
	        sodium_base64_VARIANT_ORIGINAL) != 0) {
		d->key_len = 0;	/* AddWebhook checked it: never expected */
	}
	if (active && !d->active) {
		/* Resumed: a fresh start, its backlog at once. */
		d->failures_in_row = 0;
		d->retry_at = 0;
		d->failing_since_ms = 0;
	}
	d->active = active;
}

/* Reads the webhooks: new ones added, removed ones dropped. */
static void
scan(deliver *dl)
{
	Spreg__V1__Webhook **hooks;
	size_t n;
	db_txn t;
	err e;

	if (db_read_begin(dl->session, &t, &e) != SPREG_OK) {
		return;
	}
	if (db_hook_list(&t, NULL, &dl->arena, &hooks, &n, &e) != SPREG_OK) {
		db_read_end(dl->session);
		log_error("webhooks: %s", e.msg);
		return;
	}
	for (size_t i = 0; i < dl->ndests; i++) {
		dl->dests[i]->seen = false;
	}
	for (size_t i = 0; i < n; i++) {
		dest *d = dest_find(dl, hooks[i]->number);
		if (d == NULL) {
			if (dl->ndests == dl->capdests) {
				size_t cap = dl->capdests ? dl->capdests * 2 :
				                            16;
				dest **grown = realloc(dl->dests,
				    cap * sizeof(*grown));
				if (grown == NULL) {
					break;
				}
				dl->dests = grown;
				dl->capdests = cap;
			}
			if ((d = calloc(1, sizeof(*d))) == NULL) {
				break;
			}
			d->number = hooks[i]->number;
			snprintf(d->id, sizeof(d->id), "%s", hooks[i]->id);
			int64_t since;
			if (time_parse(hooks[i]->failing_since, &since)) {
				d->failing_since_ms = since;
			}
			d->active = hooks[i]->state ==
			    SPREG__V1__WEBHOOK_STATE__WEBHOOK_STATE_ACTIVE;
			dl->dests[dl->ndests++] = d;
		}
		dest_update(d, hooks[i]);
		d->seen = d->url != NULL;
	}
	db_read_end(dl->session);
	for (size_t i = 0; i < dl->ndests;) {
		/* Removed; one whose outcome awaits the commit goes after it
		 * (the outcome points to it). */
		if (!dl->dests[i]->seen && dl->dests[i]->unrecorded == 0) {
			dest_free(dl, dl->dests[i]);
			dl->dests[i] = dl->dests[--dl->ndests];
		} else {
			i++;
		}
	}
	arena_reset(&dl->arena);
}

/* Starts the next delivery of every idle webhook that is due. */
static void
start_due(deliver *dl, int64_t now)
{
	db_txn t;
	err e;
	bool open = false;

	for (size_t i = 0; i < dl->ndests; i++) {
		dest *d = dl->dests[i];
		uint64_t seq;
		size_t n;
		if (d->easy != NULL || d->held || !d->active ||
		    now < d->retry_at) {
			continue;
		}
		if (!open) {
			if (db_read_begin(dl->session, &t, &e) != SPREG_OK) {
				return;
			}
			open = true;
		}
		uint64_t after = d->unrecorded > 0 ? d->ahead_seq : 0;
		if (db_outbox_peek(&t, d->number, after, &seq, 1, &n, &e) !=
		        SPREG_OK ||
		    n == 0) {
			continue;
		}
		Spreg__V1__Webhook *h;
		const char *customer = "";
		if (seq == 0 && db_hook_get(&t, d->number, &dl->arena, &h,
		                    &e) == SPREG_OK) {
			customer = h->customer_id;
		}
		char *body = body_of(dl, &t, d, seq, customer);
		/* request_start takes body, started or not. */
		if (body == NULL || !request_start(dl, d, seq, body)) {
			d->retry_at = now + dl->o.retry_min_ms;
		}
	}
	if (open) {
		db_read_end(dl->session);
	}
	arena_reset(&dl->arena);
}

/* ---- outcomes ------------------------------------------------------------- */

static void
outcome_of(CURL *easy, CURLcode res, dest *d, outcome *out)
{
	long status = 0;

	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
	out->d = d;
	out->seq = d->seq;
	out->status = status;
	out->error[0] = '\0';
	bool answered = res == CURLE_OK ||
	    (res == CURLE_WRITE_ERROR && d->body_cut);
	out->ok = answered && status >= 200 && status <= 299;
	if (out->ok) {
		return;
	}
	if (!answered) {
		snprintf(out->error, sizeof(out->error), "%s",
		    d->curl_error[0] != '\0' ? d->curl_error :
		                               curl_easy_strerror(res));
	} else if (status >= 300 && status <= 399) {
		char *to = NULL;
		curl_easy_getinfo(easy, CURLINFO_REDIRECT_URL, &to);
		snprintf(out->error, sizeof(out->error), "HTTP %ld: a "
		    "redirect (to %.200s), not followed", status,
		    to != NULL ? to : "nowhere");
	} else {
		snprintf(out->error, sizeof(out->error), "HTTP %ld%s", status,
		    d->body_cut ? " (and a body over 64 KiB, not read)" : "");
	}
}

typedef struct round {
	deliver *dl;
	outcome *outs;
	size_t n;
	int64_t now_wall;
} round;

/* The round's commit: acknowledged rows go, and every webhook tried
 * gets its attempt written down. */
static spreg_status
record_round(round *r, db_txn *t, err *e)
{
	char now[TIME_BUF];
	spreg_status st;

	time_format(r->now_wall, now);
	for (size_t i = 0; i < r->n; i++) {
		outcome *o = &r->outs[i];
		Spreg__V1__Webhook *h;
		o->paused = false;
		st = db_hook_get(t, o->d->number, &r->dl->arena, &h, e);
		if (st == SPREG_NOT_FOUND) {
			continue;	/* removed meanwhile */
		}
		if (st != SPREG_OK) {
			return st;
		}
		h->attempts++;
		h->last_status = (uint32_t) o->status;
		h->last_attempt_at = now;
		if (o->ok) {
			if ((st = db_outbox_ack(t, h->number, o->seq, e)) !=
			    SPREG_OK) {
				return st;
			}
			if (o->seq > h->delivered_seq) {
				h->delivered_seq = o->seq;
			}
			h->last_error = (char *) "";
			h->failing_since = (char *) "";
		} else {
			h->failures++;
			h->last_error = o->error;
			int64_t since = r->now_wall;
			if (h->failing_since[0] == '\0') {
				h->failing_since = now;
			} else {
				time_parse(h->failing_since, &since);
			}
			int64_t pause = r->dl->o.pause_after_ms;
			if (pause > 0 && r->now_wall - since >= pause &&
			    h->state ==
			        SPREG__V1__WEBHOOK_STATE__WEBHOOK_STATE_ACTIVE) {
				h->state =
				    SPREG__V1__WEBHOOK_STATE__WEBHOOK_STATE_PAUSED;
				h->paused_reason = arena_strdup(&r->dl->arena,
				    "failing for longer than "
				    "--webhook-pause-after");
				if (h->paused_reason == NULL) {
					return err_oom(e, NULL);
				}
				o->paused = true;
			}
		}
		if ((st = db_hook_put(t, h, e)) != SPREG_OK) {
			return st;
		}
	}
	return SPREG_OK;
}

int64_t
deliver_backoff_ms(int min_ms, int max_ms, unsigned failures)
{
	int64_t ms = min_ms;

	for (unsigned i = 1; i < failures && ms < max_ms; i++) {
		ms *= 2;
	}
	if (ms > max_ms) {
		ms = max_ms;
	}
	/* +-20%: destinations that failed together retry apart. */
	int64_t spread = ms / 5;
	if (spread > 0) {
		ms += (int64_t) randombytes_uniform((uint32_t) (2 * spread +
		    1)) - spread;
	}
	return ms;
}

/* Applies the round to the sender's memory, after its commit. */
static void
after_commit(deliver *dl, round *r, bool committed)
{
	int64_t now = time_mono_ms();

	for (size_t i = 0; i < r->n; i++) {
		outcome *o = &r->outs[i];
		dest *d = o->d;
		d->unrecorded = 0;
		d->held = false;
		if (!committed) {
			d->retry_at = now + dl->o.retry_min_ms;	/* resent */
			continue;
		}
		if (o->ok) {
			if (d->failures_in_row > 0) {
				log_info("webhook %s: delivering again after "
				    "%u failure(s)", d->id, d->failures_in_row);
			}
			d->failures_in_row = 0;
			d->failing_since_ms = 0;
			d->retry_at = 0;
			continue;
		}
		d->failures_in_row++;
		if (d->failing_since_ms == 0) {
			d->failing_since_ms = r->now_wall;
		}
		int64_t wait = deliver_backoff_ms(dl->o.retry_min_ms,
		    dl->o.retry_max_ms, d->failures_in_row);
		d->retry_at = now + wait;
		if (o->paused) {
			d->active = false;
			log_warn("webhook %s (%s): paused after failing since "
			    "%" PRId64 " s ago: %s; spreg webhook resume %s "
			    "sends what it missed", d->id, d->url,
			    (r->now_wall - d->failing_since_ms) / 1000,
			    o->error, d->id);
		} else if (d->failures_in_row == 1) {
			log_warn("webhook %s (%s): seq %" PRIu64 ": %s; "
			    "retrying with backoff", d->id, d->url, o->seq,
			    o->error);
		}
	}
}

/* Finished requests join dl->done, their webhooks held until recorded.
 * Out of memory, the request is dropped and sent again later. */
static void
collect(deliver *dl)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(dl->multi, &left)) != NULL) {
		if (m->msg != CURLMSG_DONE) {
			continue;
		}
		dest *d = NULL;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &d);
		if (d == NULL) {
			continue;
		}
		if (dl->ndone == dl->capdone) {
			size_t cap = dl->capdone ? dl->capdone * 2 : 64;
			outcome *grown = realloc(dl->done, cap * sizeof(*grown));
			if (grown == NULL) {
				request_free(dl, d);
				d->retry_at = time_mono_ms() + dl->o.retry_min_ms;
				return;
			}
			dl->done = grown;
			dl->capdone = cap;
		}
		if (dl->ndone == 0) {
			dl->first_done_ms = time_mono_ms();
		}
		outcome *o = &dl->done[dl->ndone++];
		outcome_of(m->easy_handle, m->data.result, d, o);
		d->unrecorded++;
		if (o->ok && o->seq > 0) {
			d->ahead_seq = o->seq;
		} else {
			d->held = true;
		}
		request_free(dl, d);
	}
}

/* The finished requests' outcomes, recorded in one commit. */
static void
record(deliver *dl)
{
	round r = {dl, dl->done, dl->ndone, time_now_ms()};
	spreg_status st;
	db_txn t;
	err e;

	do {
		if ((st = db_write_begin(dl->session, &t, NULL, &e)) !=
		    SPREG_OK) {
			break;
		}
		st = record_round(&r, &t, &e);
	} while (db_write_retry(&t, &st, &e));
	if (st != SPREG_OK) {
		log_error("webhooks: recording deliveries: %s (they will be "
		    "sent again)", e.msg);
	}
	after_commit(dl, &r, st == SPREG_OK);
	dl->ndone = 0;
	arena_reset(&dl->arena);
}

/* ---- the thread ------------------------------------------------------------ */

static void *
sender_main(void *arg)
{
	deliver *dl = arg;
	int64_t next_scan = 0;

	while (!atomic_load(&dl->stopping)) {
		int64_t now = time_mono_ms();
		if (now >= next_scan) {
			scan(dl);
			next_scan = now + TICK_MS;
		}
		start_due(dl, now);
		int running;
		curl_multi_perform(dl->multi, &running);
		collect(dl);
		if (dl->ndone > 0 && (running == 0 || dl->ndone >= ACK_BATCH ||
		        time_mono_ms() - dl->first_done_ms >= ACK_WAIT_MS)) {
			record(dl);
			continue;	/* the next deliveries at once */
		}
		curl_multi_poll(dl->multi, NULL, 0, dl->ndone > 0 ?
		    ACK_WAIT_MS : TICK_MS, NULL);
	}
	if (dl->ndone > 0) {
		record(dl);	/* what was delivered is not sent again */
	}
	return NULL;
}

spreg_status
deliver_start(db *d, const deliver_options *o, deliver **out, err *e)
{
	deliver *dl = calloc(1, sizeof(*dl));
	spreg_status st;

	if (dl == NULL) {
		return err_oom(e, NULL);
	}
	dl->d = d;
	dl->o = (deliver_options) {DELIVER_TIMEOUT_MS, DELIVER_RETRY_MIN_MS,
	    DELIVER_RETRY_MAX_MS, DELIVER_PAUSE_AFTER_MS, NULL};
	if (o != NULL) {
		dl->o = *o;
	}
	atomic_init(&dl->stopping, false);
	arena_init(&dl->arena, (size_t) 64 << 20);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
	    (dl->multi = curl_multi_init()) == NULL) {
		st = err_set(e, SPREG_INTERNAL, "webhooks: libcurl does not "
		    "start");
		goto fail;
	}
	if ((st = db_session_create(d, &dl->session)) != SPREG_OK) {
		err_set(e, st, "webhooks: no store session");
		goto fail;
	}
	if (pthread_create(&dl->thread, NULL, sender_main, dl) != 0) {
		st = err_set(e, SPREG_RESOURCE_EXHAUSTED, "webhooks: cannot "
		    "start the sender thread");
		goto fail;
	}
	dl->started = true;
	*out = dl;
	return SPREG_OK;
fail:
	deliver_stop(dl);
	return st;
}

void
deliver_stop(deliver *dl)
{
	if (dl == NULL) {
		return;
	}
	if (dl->started) {
		atomic_store(&dl->stopping, true);
		curl_multi_wakeup(dl->multi);
		pthread_join(dl->thread, NULL);
	}
	for (size_t i = 0; i < dl->ndests; i++) {
		dest_free(dl, dl->dests[i]);
	}
	free(dl->dests);
	free(dl->done);
	if (dl->multi != NULL) {
		curl_multi_cleanup(dl->multi);
	}
	db_session_destroy(dl->session);
	arena_fini(&dl->arena);
	free(dl);
	curl_global_cleanup();
}
