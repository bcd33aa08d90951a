#include <errno.h>
#include <nng/nng.h>
#include <nng/protocol/pubsub0/pub.h>
#include <nng/transport/tcp/tcp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "net/close.h"
#include "net/nngerr.h"
#include "net/pub.h"

#define URL_MAX 512
#define TOPIC_MAX 96		/* "customer/" + a 64-byte slug + "/" */
#define TOPIC_ALL "all/"
#define TOPIC_HEARTBEAT "hb/"
/* Messages queued per subscriber before nng drops the oldest (nng's
 * default is 16; 8192 is its largest). Messages are shared between
 * subscribers, so this bounds memory at about that many messages. */
#define SENDBUF 4096
/* How long a seq is waited for while later ones are held back. */
#define REORDER_WAIT_MS 1000
/* The heartbeat thread's tick: it also flushes a gap that timed out. */
#define TICK_MS 100

/* One change's messages, ready to send, held until its turn. */
typedef struct held {
	uint64_t seq;
	bool public;		/* a change the public may see */
	nng_msg **msgs;
	size_t nmsgs;
} held;

struct net_pub {
	nng_socket sock;
	bool sock_open;
	char (*urls)[URL_MAX];
	const char **url_list;	/* the same, for rpc_publisher */
	size_t nurls;
	int heartbeat_ms;
	bool doorbell;		/* seqs only: the contents need a token */

	pthread_mutex_t mu;
	pthread_cond_t cv;	/* CLOCK_MONOTONIC */
	bool stopping;
	/* Set by stream_open, before any change is published. */
	bool opened;
	uint64_t epoch;
	const char *store_id;	/* the store's; outlives us */
	uint64_t next_seq;	/* the next seq to send */
	uint64_t public_seq;	/* doorbell: the last public seq sent */
	held *held;		/* seqs above next_seq, ascending */
	size_t nheld;
	size_t capheld;
	int64_t gap_since_ms;	/* when the head of held started waiting */
	uint64_t dropped;	/* messages nng would not take at once */
	uint64_t skipped;	/* seqs given up on after REORDER_WAIT_MS */

	pthread_t thread;
	bool thread_started;
};

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- building messages (no lock held) ---------------------------------- */

/* topic + packed n, in a new message; NULL when out of memory. */
static nng_msg *
message_new(const char *topic, const uint8_t *packed, size_t len)
{
	size_t tlen = strlen(topic);
	nng_msg *m;

	if (nng_msg_alloc(&m, tlen + len) != 0) {
		return NULL;
	}
	memcpy(nng_msg_body(m), topic, tlen);
	memcpy((uint8_t *) nng_msg_body(m) + tlen, packed, len);
	return m;
}

/*
 * One change's messages: on "all/", on its subprocessor's topic and on
 * each concerned customer's. Out of memory leaves fewer (or none):
 * subscribers repair that from the log like any other loss.
 *
 * With access control on, the PUB socket (which checks no token, and
 * whose every topic any subscriber may take) says only what the public
 * may know: that a change to the public list has seq, on "hb/". Another
 * change (a customer's own vendor, a customer record, an objection)
 * rings nothing: not even its seq, which would tell every subscriber
 * how active the other customers are. A watcher reads the changes with
 * ListChanges and its own token, which shows it what its role may see,
 * and reads the log each heartbeat for those the socket does not ring.
 */
static void
held_build(net_pub *p, const rpc_event *ev, held *h)
{
	Spreg__V1__Notification n = SPREG__V1__NOTIFICATION__INIT;
	const Spreg__V1__Change *c = ev->change;
	char topic[TOPIC_MAX];

	h->seq = c->seq;
	h->public = rpc_change_public(c);
	h->nmsgs = 0;
	h->msgs = NULL;
	if (p->doorbell && !h->public) {
		return;
	}
	h->msgs = calloc(2 + ev->ncustomers, sizeof(*h->msgs));
	n.epoch = p->epoch;
	n.store_id = (char *) p->store_id;
	n.last_seq = c->seq;	/* sent in order: the newest one sent */
	n.change = p->doorbell ? NULL : (Spreg__V1__Change *) c;
	size_t len = spreg__v1__notification__get_packed_size(&n);
	uint8_t *packed = malloc(len + 1);
	if (h->msgs == NULL || packed == NULL) {
		free(packed);
		return;
	}
	spreg__v1__notification__pack(&n, packed);
	nng_msg *m;
	if (p->doorbell) {
		if ((m = message_new(TOPIC_HEARTBEAT, packed, len)) != NULL) {
			h->msgs[h->nmsgs++] = m;
		}
		free(packed);
		return;
	}
	m = message_new(TOPIC_ALL, packed, len);
	if (m != NULL) {
		h->msgs[h->nmsgs++] = m;
	}
	if (c->subprocessor_id[0] != '\0') {
		snprintf(topic, sizeof(topic), "sp/%s/", c->subprocessor_id);
		if ((m = message_new(topic, packed, len)) != NULL) {
			h->msgs[h->nmsgs++] = m;
		}
	}
	for (size_t i = 0; i < ev->ncustomers; i++) {
		snprintf(topic, sizeof(topic), "customer/%s/",
		    ev->customers[i]);
		if ((m = message_new(topic, packed, len)) != NULL) {
			h->msgs[h->nmsgs++] = m;
		}
	}
	free(packed);
}

static void
held_free(held *h)
{
	for (size_t i = 0; i < h->nmsgs; i++) {
		nng_msg_free(h->msgs[i]);
	}
	free(h->msgs);
	h->msgs = NULL;
	h->nmsgs = 0;
}

/* ---- sending in seq order (p->mu held) --------------------------------- */

/* Never blocks: a message nng will not take now is dropped. */
static void
send_locked(net_pub *p, nng_msg *m)
{
	int rv = nng_sendmsg(p->sock, m, NNG_FLAG_NONBLOCK);

	if (rv != 0) {
		nng_msg_free(m);	/* a failed send leaves it with us */
		if (p->dropped++ == 0) {
			log_warn("publish: %s; dropping (subscribers catch "
			         "up from the log)", nng_strerror(rv));
		}
	}
}

static void
held_send_locked(net_pub *p, held *h)
{
	if (h->public) {
		p->public_seq = h->seq;
	}
	for (size_t i = 0; i < h->nmsgs; i++) {
		send_locked(p, h->msgs[i]);
	}
	free(h->msgs);
	h->msgs = NULL;
	h->nmsgs = 0;
}

/* Takes h: holds it in seq order, or drops it when its turn is gone. */
static void
hold_locked(net_pub *p, held *h, int64_t now)
{
	if (h->seq < p->next_seq) {
		/* Given up on after a gap: sent late it would only make
		 * subscribers read the log again. */
		log_debug("publish: seq %llu came after its turn; dropped",
		    (unsigned long long) h->seq);
		held_free(h);
		return;
	}
	if (p->nheld == p->capheld) {
		size_t cap = p->capheld ? p->capheld * 2 : 32;
		held *grown = realloc(p->held, cap * sizeof(*grown));
		if (grown == NULL) {
			held_free(h);	/* a gap: flushed after the wait */
			return;
		}
		p->held = grown;
		p->capheld = cap;
	}
	size_t i = p->nheld;
	while (i > 0 && p->held[i - 1].seq > h->seq) {
		i--;
	}
	if (i > 0 && p->held[i - 1].seq == h->seq) {
		held_free(h);	/* never expected: one call per seq */
		return;
	}
	memmove(&p->held[i + 1], &p->held[i],
	    (p->nheld - i) * sizeof(*p->held));
	p->held[i] = *h;
	if (p->nheld++ == 0) {
		p->gap_since_ms = now;
	}
}

/* Sends every held change whose turn came; after REORDER_WAIT_MS
 * without the missing seq, skips to the next held one. */
static void
drain_locked(net_pub *p, int64_t now)
{
	while (p->nheld > 0) {
		held *h = &p->held[0];
		if (h->seq != p->next_seq) {
			if (now - p->gap_since_ms < REORDER_WAIT_MS) {
				return;
			}
			p->skipped += h->seq - p->next_seq;
			log_warn("publish: seqs %llu to %llu never came; "
			         "going on (subscribers read them from the log)",
			    (unsigned long long) p->next_seq,
			    (unsigned long long) h->seq - 1);
			p->next_seq = h->seq;
		}
		held_send_locked(p, h);
		p->next_seq++;
		p->nheld--;
		memmove(&p->held[0], &p->held[1], p->nheld * sizeof(*p->held));
		p->gap_since_ms = now;
	}
}

/* rpc_publisher.open: where the stream starts. */
static void
stream_open(void *arg, uint64_t epoch, const char *store_id,
    uint64_t last_seq)
{
	net_pub *p = arg;

	pthread_mutex_lock(&p->mu);
	p->epoch = epoch;
	p->store_id = store_id;
	p->next_seq = last_seq + 1;
	p->opened = true;
	pthread_cond_signal(&p->cv);	/* a first heartbeat at once */
	pthread_mutex_unlock(&p->mu);
}

/* rpc_publisher.publish: runs in the worker that committed, after the
 * commit. */
static void
publish(void *arg, const rpc_event *events, size_t n)
{
	net_pub *p = arg;
	held one;
	held *hs = n == 1 ? &one : calloc(n, sizeof(*hs));

	if (hs == NULL) {
		return;	/* a gap: flushed after the wait */
	}
	for (size_t i = 0; i < n; i++) {
		held_build(p, &events[i], &hs[i]);
	}
	int64_t now = mono_ms();
	pthread_mutex_lock(&p->mu);
	for (size_t i = 0; i < n; i++) {
		hold_locked(p, &hs[i], now);
	}
	drain_locked(p, now);
	pthread_mutex_unlock(&p->mu);
	if (hs != &one) {
		free(hs);
	}
}

/* ---- heartbeat ----------------------------------------------------------- */

/*
 * The newest seq known committed, sent or held waiting for its turn; as
 * a doorbell, the newest public one (0 before the first of this epoch:
 * a new epoch sends watchers to the log anyway).
 */
static uint64_t
last_seq_locked(const net_pub *p)
{
	uint64_t last = p->doorbell ? p->public_seq : p->next_seq - 1;

	for (size_t i = p->nheld; i-- > 0;) {
		if (p->held[i].seq > last && (!p->doorbell || p->held[i].public)) {
			last = p->held[i].seq;
			break;
		}
	}
	return last;
}

static void
heartbeat_locked(net_pub *p)
{
	Spreg__V1__Notification n = SPREG__V1__NOTIFICATION__INIT;
	uint8_t packed[160];

	n.epoch = p->epoch;
	n.store_id = (char *) p->store_id;
	n.last_seq = last_seq_locked(p);
	size_t len = spreg__v1__notification__get_packed_size(&n);
	if (len > sizeof(packed)) {
		return;
	}
	spreg__v1__notification__pack(&n, packed);
	nng_msg *m = message_new(TOPIC_HEARTBEAT, packed, len);
	if (m != NULL) {
		send_locked(p, m);
	}
}

static void *
heartbeat_main(void *arg)
{
	net_pub *p = arg;
	int64_t next_beat = mono_ms();

	pthread_mutex_lock(&p->mu);
	while (!p->stopping) {
		int64_t now = mono_ms();
		drain_locked(p, now);
		if (now >= next_beat && p->opened) {
			heartbeat_locked(p);
			next_beat = now + p->heartbeat_ms;
		}
		int64_t wake = now + TICK_MS;
		if (next_beat < wake) {
			wake = next_beat;
		}
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		int64_t ns = (int64_t) ts.tv_nsec + (wake - now) * 1000000;
		ts.tv_sec += ns / 1000000000;
		ts.tv_nsec = ns % 1000000000;
		pthread_cond_timedwait(&p->cv, &p->mu, &ts);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

/* ---- start and stop ------------------------------------------------------ */

static spreg_status
listen_all(net_pub *p, const char *const *urls, size_t n,
    const net_tls_options *tls, err *e)
{
	p->urls = calloc(n ? n : 1, sizeof(*p->urls));
	p->url_list = calloc(n ? n : 1, sizeof(*p->url_list));
	if (p->urls == NULL || p->url_list == NULL) {
		return err_oom(e, NULL);
	}
	for (size_t i = 0; i < n; i++) {
		spreg_status st = net_listen(p->sock, urls[i], tls, p->urls[i],
		    URL_MAX, e);
		if (st != SPREG_OK) {
			return st;
		}
		p->url_list[p->nurls++] = p->urls[i];
	}
	return SPREG_OK;
}

spreg_status
net_pub_start(const net_pub_options *o, net_pub **out, err *e)
{
	pthread_condattr_t ca;
	spreg_status st;
	int rv;

	net_pub *p = calloc(1, sizeof(*p));
	if (p == NULL) {
		return err_oom(e, NULL);
	}
	p->doorbell = !o->contents;
	p->heartbeat_ms = o->heartbeat_ms > 0 ? o->heartbeat_ms :
	                                        NET_PUB_HEARTBEAT_MS;
	pthread_mutex_init(&p->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->cv, &ca);
	pthread_condattr_destroy(&ca);
	if ((rv = nng_pub0_open(&p->sock)) != 0) {
		st = net_err_from_nng(e, rv, "pub socket");
		goto fail;
	}
	p->sock_open = true;
	if ((rv = nng_socket_set_int(p->sock, NNG_OPT_SENDBUF, SENDBUF)) !=
	    0) {
		st = net_err_from_nng(e, rv, "pub send buffer");
		goto fail;
	}
	if ((st = listen_all(p, o->urls, o->nurls, o->tls, e)) != SPREG_OK) {
		goto fail;
	}
	if (pthread_create(&p->thread, NULL, heartbeat_main, p) != 0) {
		st = err_set(e, SPREG_RESOURCE_EXHAUSTED,
		    "cannot start the heartbeat thread");
		goto fail;
	}
	p->thread_started = true;
	*out = p;
	return SPREG_OK;

fail:
	net_pub_stop(p);
	return st;
}

void
net_pub_publisher(net_pub *p, rpc_publisher *out)
{
	*out = (rpc_publisher) {.open = stream_open, .publish = publish,
	    .arg = p, .urls = p->url_list, .nurls = p->nurls,
	    .heartbeat_ms = (uint32_t) p->heartbeat_ms};
}

const char *
net_pub_url(const net_pub *p, size_t i)
{
	return i < p->nurls ? p->urls[i] : NULL;
}

size_t
net_pub_nurls(const net_pub *p)
{
	return p->nurls;
}

void
net_pub_stop(net_pub *p)
{
	if (p == NULL) {
		return;
	}
	if (p->thread_started) {
		pthread_mutex_lock(&p->mu);
		p->stopping = true;
		pthread_cond_signal(&p->cv);
		pthread_mutex_unlock(&p->mu);
		pthread_join(p->thread, NULL);
	}
	/* Whatever still waits for a missing seq is sent: it is durable,
	 * and a subscriber still connected may as well have it. */
	if (p->nheld > 0) {
		drain_locked(p, INT64_MAX / 2);
	}
	if (p->dropped > 0 || p->skipped > 0) {
		log_info("publisher: %llu messages dropped, %llu seqs skipped "
		         "(subscribers read them from the log)",
		    (unsigned long long) p->dropped,
		    (unsigned long long) p->skipped);
	}
	if (p->sock_open && !net_close_bounded(p->sock, "PUB")) {
		return;	/* its callbacks may still use p */
	}
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	free(p->held);
	free(p->url_list);
	free(p->urls);
	free(p);
}
