/*
 * The RPC listener. Each REP context has an aio whose callback answers
 * reads on the spot (an LMDB read does not block), so a read costs no
 * thread hand-off. Writes would block the callback on fsync: the callback
 * queues them to one writer thread, which commits everything queued in
 * one transaction (group commit) and then sends each reply.
 *
 * One peer must not take the service from the others (net/conns.h
 * counts what each connection holds):
 * - connections are bounded in all and per peer address: a pipe over
 *   either limit is closed in its NNG_PIPE_EV_ADD_PRE notification, before
 *   anything is read from it;
 * - one connection may have inflight_max requests being answered; more
 *   are refused RESOURCE_EXHAUSTED at once;
 * - a reply is queued in nng (rep0 keeps it in the context, holding the
 *   context) while the connection's previous reply is still being
 *   written; a connection with queued_max replies queued, or one whose
 *   reply would take the queued bytes of all connections over
 *   queued_bytes_max, is not reading its replies; so is one whose reply
 *   waits past the send timeout (the context is freed then). Such a
 *   connection is muted: its replies and requests are dropped, costing
 *   no context, until it is quiet for MUTED_QUIET_MS and is closed;
 * - a connection with nothing in flight that has not completed a request
 *   within the idle timeout (a half-open peer, or one that never finishes
 *   a message) is closed by the reaper thread.
 * So a connection holds at most inflight_max + queued_max contexts, and
 * buffered bytes are bounded by connections x max message plus
 * queued_bytes_max (README, "Hostile peers").
 *
 * Why mute rather than close at once: nng 1.5.2 loses the receive of a
 * TCP pipe closed just as a read on it completes (tcptran re-arms its
 * read on the closed stream, which returns without a callback), and
 * nng's single reaper thread then waits for that receive forever: no
 * pipe is ever torn down again, and nng_close hangs. A peer that keeps
 * sending is exactly where that race is likely; a quiet one has no read
 * completing. For the same reason the socket is closed with a bounded
 * wait (net/close.h).
 */
#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/transport/tcp/tcp.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/date.h"
#include "core/log.h"
#include "net/nngerr.h"
#include "net/close.h"
#include "net/conns.h"
#include "net/server.h"
#include "net/tls.h"

#define URL_MAX 512

#define IDLE_BATCH 64	/* idle connections closed per reaper pass */
#define MUTED_QUIET_MS 1000	/* a muted connection quiet this long closes */

typedef enum ctx_state {
	CTX_IDLE,	/* not armed: stopped */
	CTX_RECV,
	CTX_WORK,	/* a request received, being answered */
	CTX_WRITE,	/* queued for the writer */
	CTX_SEND,
} ctx_state;

/* What the server logs at most once a second, with a count of the rest. */
typedef enum warn_kind {
	WARN_REFUSED,
	WARN_UNREAD,
	WARN_SEND_TIMEOUT,
	WARN_NKINDS,
} warn_kind;

typedef struct worker worker;
struct worker {
	net_server *srv;
	rpc_worker *rpc;
	nng_ctx ctx;
	nng_aio *aio;
	nng_msg *msg;		/* the request being answered */
	nng_pipe pipe;		/* its connection */
	bool inflight;		/* counted in flight on pipe */
	size_t queued;		/* bytes of the reply counted queued; or 0 */
	Spreg__V1__Reply reply;
	ctx_state state;	/* guarded by srv->mu */
	net_write write;	/* its place in the writer's queue */
};

struct net_server {
	nng_socket sock;
	worker *workers;
	size_t nworkers;
	char (*urls)[URL_MAX];
	size_t nurls;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stopping;		/* no new receives */
	bool writer_exit;	/* the writer ends once its queue is empty */
	net_write *queue_head, *queue_tail;
	/* Writes that fetch first (rpc_write_needs_fetch): the fetcher
	 * thread fetches each, then queues it for the writer. */
	net_write *fetch_head, *fetch_tail;
	bool fetcher_exit;
	atomic_bool fetch_stop;	/* abandons the fetch in progress */
	pthread_t fetcher;
	bool fetcher_started;
	net_conns *conns;
	net_conns_limits lim;
	int send_timeout_ms;
	int idle_timeout_ms;
	pthread_t writer, reaper;
	bool writer_started, reaper_started;
	int64_t warned_ms[WARN_NKINDS];
	size_t unwarned[WARN_NKINDS];
	rpc_writer *rpc_writer;	/* the writer thread's */
	rpc_server *rpc;
};

/* A warning about a peer, at most once a second per kind: a hostile peer
 * must not flood the log either. */
static void
warn_limited(net_server *s, warn_kind kind, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	int64_t now = time_mono_ms();

	pthread_mutex_lock(&s->mu);
	if (s->warned_ms[kind] != 0 && now - s->warned_ms[kind] < 1000) {
		s->unwarned[kind]++;
		pthread_mutex_unlock(&s->mu);
		return;
	}
	size_t skipped = s->unwarned[kind];
	s->unwarned[kind] = 0;
	s->warned_ms[kind] = now;
	pthread_mutex_unlock(&s->mu);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (skipped > 0) {
		log_warn("%s (and %zu more like it in the last second)", msg,
		    skipped);
	} else {
		log_warn("%s", msg);
	}
}

/* The peer's address for limits and logs; family 0 for ipc and inproc. */
static void
peer_of(nng_pipe p, net_peer *peer, char *text, size_t len)
{
	nng_sockaddr sa;

	memset(peer, 0, sizeof(*peer));
	snprintf(text, len, "a local peer");
	if (nng_pipe_get_addr(p, NNG_OPT_REMADDR, &sa) != 0) {
		return;
	}
	if (sa.s_family == NNG_AF_INET) {
		peer->family = 4;
		memcpy(peer->addr, &sa.s_in.sa_addr, 4);
		inet_ntop(AF_INET, peer->addr, text, (socklen_t) len);
	} else if (sa.s_family == NNG_AF_INET6) {
		peer->family = 6;
		memcpy(peer->addr, sa.s_in6.sa_addr, 16);
		inet_ntop(AF_INET6, peer->addr, text, (socklen_t) len);
	}
}

/* Before a new connection is read from: over a limit, it is closed. */
static void
on_pipe_add(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	net_server *s = arg;
	net_peer peer;
	char who[INET6_ADDRSTRLEN + 16];
	(void) ev;

	peer_of(p, &peer, who, sizeof(who));
	switch (net_conns_add(s->conns, nng_pipe_id(p) > 0 ?
	            (uint32_t) nng_pipe_id(p) : 0, &peer, time_mono_ms())) {
	case NET_CONNS_OK:
		return;
	case NET_CONNS_PEER_FULL:
		warn_limited(s, WARN_REFUSED, "connection from %s refused: it "
		    "has %zu open (--max-connections-per-peer)", who,
		    s->lim.per_peer);
		break;
	default:
		warn_limited(s, WARN_REFUSED, "connection from %s refused: "
		    "%zu connections open (--max-connections)", who,
		    s->lim.connections);
		break;
	}
	nng_pipe_close(p);
}

static void
on_pipe_remove(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	net_server *s = arg;
	(void) ev;

	if (nng_pipe_id(p) > 0) {
		net_conns_remove(s->conns, (uint32_t) nng_pipe_id(p));
	}
}

/* Arms the next receive, unless the server is stopping. */
static void
rearm(worker *w)
{
	net_server *s = w->srv;

	pthread_mutex_lock(&s->mu);
	if (s->stopping) {
		w->state = CTX_IDLE;
		pthread_cond_broadcast(&s->cv);
		pthread_mutex_unlock(&s->mu);
		return;
	}
	w->state = CTX_RECV;
	pthread_mutex_unlock(&s->mu);
	/* One aio sends and receives: each operation sets its timeout
	 * (a context's NNG_OPT_SENDTIMEO never reaches an aio that has one). */
	nng_aio_set_timeout(w->aio, NNG_DURATION_INFINITE);
	nng_ctx_recv(w->ctx, w->aio);
}

static uint32_t
pipe_key(nng_pipe p)
{
	return nng_pipe_id(p) > 0 ? (uint32_t) nng_pipe_id(p) : 0;
}

/* The connection of the worker's request is not reading its replies. */
static void
mute(worker *w, warn_kind kind, const char *why)
{
	net_server *s = w->srv;
	net_peer peer;
	char who[INET6_ADDRSTRLEN + 16];

	net_conns_mute(s->conns, pipe_key(w->pipe));
	peer_of(w->pipe, &peer, who, sizeof(who));
	warn_limited(s, kind, "connection %u from %s: %s; its requests are "
	    "dropped until it is quiet and closed",
	    (unsigned) pipe_key(w->pipe), who, why);
}

/* Replies into the request's own message: the REP header (the route
 * back) stays, the body is replaced. */
static void
send_reply(worker *w)
{
	net_server *s = w->srv;
	size_t n = spreg__v1__reply__get_packed_size(&w->reply);

	/* The count ends here, not when the send completes: that callback
	 * may run after the client has its reply and has sent again. */
	if (w->inflight) {
		net_conns_leave(s->conns, pipe_key(w->pipe));
		w->inflight = false;
	}

	nng_msg_clear(w->msg);
	if (nng_msg_realloc(w->msg, n) != 0) {
		log_error("out of memory for a %zu-byte reply", n);
		nng_msg_free(w->msg);
		w->msg = NULL;
		rearm(w);
		return;
	}
	spreg__v1__reply__pack(&w->reply, nng_msg_body(w->msg));
	/* Sent from the message now: with 64 contexts taking requests in
	 * turn, each would otherwise keep its last page (an export page
	 * is a megabyte) until its next request. */
	rpc_worker_release(w->rpc);
	switch (net_conns_queue(s->conns, pipe_key(w->pipe), n)) {
	case NET_CONNS_OK:
		w->queued = n;
		break;
	case NET_CONNS_OVER: {
		char why[128];
		snprintf(why, sizeof(why), "it is not reading its replies "
		    "(--max-queued %zu, --max-queued-bytes %zu)",
		    s->lim.queued, s->lim.queued_bytes);
		mute(w, WARN_UNREAD, why);
	}
		/* fall through */
	default:
		/* Muted or closed: the reply is dropped. */
		nng_msg_free(w->msg);
		w->msg = NULL;
		rearm(w);
		return;
	}
	pthread_mutex_lock(&s->mu);
	w->state = CTX_SEND;
	pthread_mutex_unlock(&s->mu);
	nng_aio_set_msg(w->aio, w->msg);
	w->msg = NULL;
	nng_aio_set_timeout(w->aio, s->send_timeout_ms);
	nng_ctx_send(w->ctx, w->aio);
}

/* Under s->mu. */
static void
append(net_write **head, net_write **tail, net_write *wr)
{
	wr->next = NULL;
	if (*tail != NULL) {
		(*tail)->next = wr;
	} else {
		*head = wr;
	}
	*tail = wr;
}

/* Under s->mu: to the writer, or first to the fetcher. */
static void
enqueue(net_server *s, net_write *wr)
{
	if (rpc_write_needs_fetch(wr->rpc)) {
		append(&s->fetch_head, &s->fetch_tail, wr);
	} else {
		append(&s->queue_head, &s->queue_tail, wr);
	}
	pthread_cond_broadcast(&s->cv);
}

bool
net_server_write(net_server *s, net_write *wr)
{
	bool queued = false;

	pthread_mutex_lock(&s->mu);
	if (!s->writer_exit && !s->fetcher_exit) {
		enqueue(s, wr);
		queued = true;
	}
	pthread_mutex_unlock(&s->mu);
	return queued;
}

/* Fetches for the writes that need it (FollowVendor), one at a time:
 * a fetch takes up to 30 s, which neither a REP callback nor the
 * writer may spend. Once the server is stopping, fetches end at once
 * and their writes refuse. */
static void *
fetcher_main(void *arg)
{
	net_server *s = arg;

	pthread_mutex_lock(&s->mu);
	for (;;) {
		while (s->fetch_head == NULL && !s->fetcher_exit) {
			pthread_cond_wait(&s->cv, &s->mu);
		}
		net_write *wr = s->fetch_head;
		if (wr == NULL) {
			break;
		}
		if ((s->fetch_head = wr->next) == NULL) {
			s->fetch_tail = NULL;
		}
		pthread_mutex_unlock(&s->mu);
		rpc_write_fetch(wr->rpc, &s->fetch_stop);
		pthread_mutex_lock(&s->mu);
		append(&s->queue_head, &s->queue_tail, wr);
		pthread_cond_broadcast(&s->cv);
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

/* The writer committed the worker's write: its reply goes out. */
static void
written(net_write *wr)
{
	send_reply(wr->arg);
}

static void
on_recv(worker *w)
{
	net_server *s = w->srv;
	int rv = nng_aio_result(w->aio);

	if (rv != 0) {
		if (rv != NNG_ECLOSED && rv != NNG_ECANCELED) {
			log_warn("receive: %s", nng_strerror(rv));
			rearm(w);
			return;
		}
		pthread_mutex_lock(&s->mu);
		w->state = CTX_IDLE;
		pthread_cond_broadcast(&s->cv);
		pthread_mutex_unlock(&s->mu);
		return;
	}
	pthread_mutex_lock(&s->mu);
	w->state = CTX_WORK;
	pthread_mutex_unlock(&s->mu);
	w->msg = nng_aio_get_msg(w->aio);
	w->pipe = nng_msg_get_pipe(w->msg);
	switch (net_conns_enter(s->conns, pipe_key(w->pipe), time_mono_ms())) {
	case NET_CONNS_OK:
		w->inflight = true;
		break;
	case NET_CONNS_BUSY: {
		char why[96];
		snprintf(why, sizeof(why), "too many requests in flight on "
		    "this connection (max %zu)", s->lim.inflight);
		rpc_handle_refuse(w->rpc, nng_msg_body(w->msg),
		    nng_msg_len(w->msg), SPREG_RESOURCE_EXHAUSTED, why,
		    &w->reply);
		send_reply(w);
		return;
	}
	default:
		/* Muted, or closed after nng read this request: no one
		 * would take the reply. */
		nng_msg_free(w->msg);
		w->msg = NULL;
		rearm(w);
		return;
	}
	if (!rpc_handle_begin(w->rpc, nng_msg_body(w->msg),
	        nng_msg_len(w->msg), &w->reply)) {
		send_reply(w);
		return;
	}
	pthread_mutex_lock(&s->mu);
	w->state = CTX_WRITE;
	enqueue(s, &w->write);
	pthread_mutex_unlock(&s->mu);
}

static void
on_sent(worker *w)
{
	net_server *s = w->srv;
	int rv = nng_aio_result(w->aio);

	if (w->queued > 0) {
		net_conns_sent(s->conns, pipe_key(w->pipe), w->queued,
		    time_mono_ms());
		w->queued = 0;
	}
	if (rv != 0) {
		/* A failed send leaves the message with us. */
		nng_msg_free(nng_aio_get_msg(w->aio));
		nng_aio_set_msg(w->aio, NULL);
	}
	if (rv == NNG_ETIMEDOUT) {
		char why[96];
		snprintf(why, sizeof(why), "a reply waited %d ms for it to "
		    "read (--send-timeout)", s->send_timeout_ms);
		mute(w, WARN_SEND_TIMEOUT, why);
	}
	rearm(w);
}

static void
worker_cb(void *arg)
{
	worker *w = arg;

	switch (w->state) {
	case CTX_RECV:
		on_recv(w);
		break;
	case CTX_SEND:
		on_sent(w);
		break;
	default:
		break;
	}
}

/* Drains the queue in batches: one fsync answers every write in it. */
static void *
writer_main(void *arg)
{
	net_server *s = arg;
	rpc_worker *batch[RPC_BATCH_MAX];
	net_write *ws[RPC_BATCH_MAX];

	pthread_mutex_lock(&s->mu);
	for (;;) {
		while (s->queue_head == NULL && !s->writer_exit) {
			pthread_cond_wait(&s->cv, &s->mu);
		}
		if (s->queue_head == NULL) {
			break;	/* told to end, and nothing left to write */
		}
		size_t n = 0;
		while (s->queue_head != NULL && n < RPC_BATCH_MAX) {
			net_write *wr = s->queue_head;
			s->queue_head = wr->next;
			ws[n] = wr;
			batch[n++] = wr->rpc;
		}
		if (s->queue_head == NULL) {
			s->queue_tail = NULL;
		}
		pthread_mutex_unlock(&s->mu);
		rpc_write_batch(s->rpc_writer, batch, n);
		for (size_t i = 0; i < n; i++) {
			ws[i]->done(ws[i]);
		}
		pthread_mutex_lock(&s->mu);
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

/* Closes connections idle for the idle timeout, a few times per timeout. */
static void *
reaper_main(void *arg)
{
	net_server *s = arg;
	int tick_ms = s->idle_timeout_ms / 4 < MUTED_QUIET_MS / 4 ?
	    s->idle_timeout_ms / 4 : MUTED_QUIET_MS / 4;
	uint32_t ids[IDLE_BATCH];

	pthread_mutex_lock(&s->mu);
	while (!s->stopping) {
		struct timespec until = time_realtime_after_ms(tick_ms);
		pthread_cond_timedwait(&s->cv, &s->mu, &until);
		if (s->stopping) {
			break;
		}
		pthread_mutex_unlock(&s->mu);
		int64_t now = time_mono_ms();
		size_t n = net_conns_idle(s->conns, now - s->idle_timeout_ms,
		    now - MUTED_QUIET_MS, ids, IDLE_BATCH);
		for (size_t i = 0; i < n; i++) {
			nng_pipe p = {.id = ids[i]};
			nng_pipe_close(p);
		}
		if (n > 0) {
			log_debug("closed %zu idle or muted connection(s)", n);
		}
		pthread_mutex_lock(&s->mu);
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

static spreg_status
listen_all(net_server *s, const net_options *o, err *e)
{
	s->urls = calloc(o->nlisten ? o->nlisten : 1, sizeof(*s->urls));
	if (s->urls == NULL) {
		return err_oom(e, NULL);
	}
	for (size_t i = 0; i < o->nlisten; i++) {
		spreg_status st = net_listen(s->sock, o->listen[i], o->tls,
		    s->urls[i], URL_MAX, e);
		if (st != SPREG_OK) {
			return st;
		}
		s->nurls++;
	}
	return SPREG_OK;
}

#define OR_DEFAULT(v, d) ((v) != 0 ? (v) : (d))

void
net_options_defaults(net_options *o)
{
	o->workers = OR_DEFAULT(o->workers, NET_WORKERS_DEFAULT);
	o->recv_max = OR_DEFAULT(o->recv_max, NET_RECV_MAX_DEFAULT);
	o->inflight_max = OR_DEFAULT(o->inflight_max, NET_INFLIGHT_MAX_DEFAULT);
	o->connections_max = OR_DEFAULT(o->connections_max,
	    NET_CONNECTIONS_MAX_DEFAULT);
	o->per_peer_max = OR_DEFAULT(o->per_peer_max,
	    NET_PER_PEER_MAX_DEFAULT);
	o->queued_max = OR_DEFAULT(o->queued_max, NET_QUEUED_MAX_DEFAULT);
	o->queued_bytes_max = OR_DEFAULT(o->queued_bytes_max,
	    NET_QUEUED_BYTES_MAX_DEFAULT);
	o->idle_timeout_ms = OR_DEFAULT(o->idle_timeout_ms,
	    NET_IDLE_TIMEOUT_MS_DEFAULT);
	o->send_timeout_ms = OR_DEFAULT(o->send_timeout_ms,
	    NET_SEND_TIMEOUT_MS_DEFAULT);
}

spreg_status
net_server_start(rpc_server *rpc, const net_options *opts, net_server **out,
    err *e)
{
	spreg_status st;
	int rv;
	net_options o = *opts;

	net_options_defaults(&o);
	net_server *s = calloc(1, sizeof(*s));
	if (s == NULL) {
		return err_oom(e, NULL);
	}
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	s->rpc = rpc;
	s->nworkers = o.workers;
	s->lim = (net_conns_limits) {o.connections_max, o.per_peer_max,
	    o.inflight_max, o.queued_max, o.queued_bytes_max};
	s->send_timeout_ms = o.send_timeout_ms;
	s->idle_timeout_ms = o.idle_timeout_ms;
	if ((rv = nng_rep0_open(&s->sock)) != 0) {
		pthread_mutex_destroy(&s->mu);
		pthread_cond_destroy(&s->cv);
		free(s);
		return net_err_from_nng(e, rv, "rep socket");
	}
	/* Refuse oversize messages in nng, before any decoding. */
	if ((rv = nng_socket_set_size(s->sock, NNG_OPT_RECVMAXSZ,
	         o.recv_max)) != 0) {
		st = net_err_from_nng(e, rv, "recv max size");
		goto fail;
	}
	if ((st = rpc_writer_create(rpc, &s->rpc_writer, e)) != SPREG_OK) {
		goto fail;
	}
	if ((st = net_conns_create(&s->lim, &s->conns)) != SPREG_OK) {
		err_set(e, st, "out of memory");
		goto fail;
	}
	/* Before listening: every connection is counted from its start. */
	if ((rv = nng_pipe_notify(s->sock, NNG_PIPE_EV_ADD_PRE, on_pipe_add,
	         s)) != 0 ||
	    (rv = nng_pipe_notify(s->sock, NNG_PIPE_EV_REM_POST,
	         on_pipe_remove, s)) != 0) {
		st = net_err_from_nng(e, rv, "pipe notifications");
		goto fail;
	}
	if ((s->workers = calloc(s->nworkers, sizeof(*s->workers))) == NULL) {
		st = err_oom(e, NULL);
		goto fail;
	}
	for (size_t i = 0; i < s->nworkers; i++) {
		worker *w = &s->workers[i];
		w->srv = s;
		if ((rv = nng_ctx_open(&w->ctx, s->sock)) != 0 ||
		    (rv = nng_aio_alloc(&w->aio, worker_cb, w)) != 0) {
			st = net_err_from_nng(e, rv, "worker");
			goto fail;
		}
		if ((st = rpc_worker_create(rpc, &w->rpc)) != SPREG_OK) {
			err_set(e, st, "worker: out of memory");
			goto fail;
		}
		w->write = (net_write) {.rpc = w->rpc, .done = written,
		    .arg = w};
	}
	if (pthread_create(&s->writer, NULL, writer_main, s) != 0) {
		st = err_set(e, SPREG_RESOURCE_EXHAUSTED,
		    "cannot start the writer thread");
		goto fail;
	}
	s->writer_started = true;
	if (pthread_create(&s->fetcher, NULL, fetcher_main, s) != 0) {
		st = err_set(e, SPREG_RESOURCE_EXHAUSTED,
		    "cannot start the fetcher thread");
		goto fail;
	}
	s->fetcher_started = true;
	if (pthread_create(&s->reaper, NULL, reaper_main, s) != 0) {
		st = err_set(e, SPREG_RESOURCE_EXHAUSTED,
		    "cannot start the reaper thread");
		goto fail;
	}
	s->reaper_started = true;
	if ((st = listen_all(s, &o, e)) != SPREG_OK) {
		goto fail;
	}
	for (size_t i = 0; i < s->nworkers; i++) {
		rearm(&s->workers[i]);
	}
	*out = s;
	return SPREG_OK;

fail:
	net_server_stop(s);
	return st;
}

const char *
net_server_url(const net_server *s, size_t i)
{
	return i < s->nurls ? s->urls[i] : NULL;
}

size_t
net_server_nurls(const net_server *s)
{
	return s->nurls;
}

/* Waits until no context has a request: each ends idle once stopping.
 * A receive armed just as the stop began is cancelled on a later pass.
 * False if some are still busy at the deadline. */
static bool
drain(net_server *s, int64_t deadline_ms)
{
	bool drained = false;

	pthread_mutex_lock(&s->mu);
	for (;;) {
		size_t busy = 0;
		for (size_t i = 0; s->workers != NULL && i < s->nworkers; i++) {
			worker *w = &s->workers[i];
			if (w->aio == NULL || w->state == CTX_IDLE) {
				continue;
			}
			if (w->state == CTX_RECV) {
				nng_aio_cancel(w->aio);
			}
			busy++;
		}
		if (busy == 0) {
			drained = true;
			break;
		}
		int64_t left = deadline_ms - time_mono_ms();
		if (left <= 0) {
			log_warn("%zu request(s) still in flight after %d ms; "
			    "closing without them", busy,
			    s->send_timeout_ms + NET_DRAIN_SLACK_MS);
			break;
		}
		/* Timed: a cancelled receive may have been re-armed. */
		struct timespec until = time_realtime_after_ms(100);
		pthread_cond_timedwait(&s->cv, &s->mu, &until);
	}
	pthread_mutex_unlock(&s->mu);
	return drained;
}

void
net_server_stop(net_server *s)
{
	if (s == NULL) {
		return;
	}
	/* No new receives; requests in flight (queued writes, replies
	 * being sent) complete and answer, within the send timeout. */
	pthread_mutex_lock(&s->mu);
	s->stopping = true;
	/* A fetch in progress ends now: its write refuses (the server is
	 * stopping) and answers within the drain. */
	atomic_store(&s->fetch_stop, true);
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	drain(s, time_mono_ms() + s->send_timeout_ms + NET_DRAIN_SLACK_MS);
	/* The fetcher hands what it holds to the writer before the writer
	 * is told to end. */
	pthread_mutex_lock(&s->mu);
	s->fetcher_exit = true;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	if (s->fetcher_started) {
		pthread_join(s->fetcher, NULL);
	}
	pthread_mutex_lock(&s->mu);
	s->writer_exit = true;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	if (s->writer_started) {
		pthread_join(s->writer, NULL);
	}
	if (s->reaper_started) {
		pthread_join(s->reaper, NULL);
	}
	/* nng 1.5.2 blocks closing a socket with open contexts: stop aios
	 * (a send still queued is cancelled), close contexts, free aios,
	 * then the socket. */
	for (size_t i = 0; s->workers != NULL && i < s->nworkers; i++) {
		if (s->workers[i].aio != NULL) {
			nng_aio_stop(s->workers[i].aio);
		}
	}
	for (size_t i = 0; s->workers != NULL && i < s->nworkers; i++) {
		worker *w = &s->workers[i];
		if (nng_ctx_id(w->ctx) > 0) {
			nng_ctx_close(w->ctx);
		}
		nng_aio_free(w->aio);
		if (w->msg != NULL) {
			nng_msg_free(w->msg);
		}
		rpc_worker_destroy(w->rpc);
	}
	rpc_writer_destroy(s->rpc_writer);
	if (!net_close_bounded(s->sock, "RPC")) {
		return;	/* its pipe notifications may still use s */
	}
	/* After the socket: its last pipe notifications use the table. */
	net_conns_destroy(s->conns);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	free(s->workers);
	free(s->urls);
	free(s);
}
