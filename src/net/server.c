/*
 * The RPC listener. Each REP context has an aio whose callback answers
 * reads on the spot (an LMDB read does not block), so a read costs no
 * thread hand-off. Writes would block the callback on fsync: the callback
 * queues them to one writer thread, which commits everything queued in
 * one transaction (group commit) and then sends each reply.
 *
 * One connection may hold at most inflight_max contexts: beyond that its
 * requests are answered RESOURCE_EXHAUSTED at once, so a client that
 * pipelines many requests (one REQ socket, many contexts) cannot take
 * every context from the others.
 */
#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/transport/tcp/tcp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "net/inflight.h"
#include "net/server.h"
#include "net/tls.h"

#define URL_MAX 512

typedef enum ctx_state {
	CTX_IDLE,	/* not armed: stopped */
	CTX_RECV,
	CTX_WRITE,	/* queued for the writer */
	CTX_SEND,
} ctx_state;

typedef struct worker worker;
struct worker {
	net_server *srv;
	rpc_worker *rpc;
	nng_ctx ctx;
	nng_aio *aio;
	nng_msg *msg;		/* the request being answered */
	uint32_t pipe;		/* its connection, counted in flight; or 0 */
	Spreg__V1__Reply reply;
	ctx_state state;	/* guarded by srv->mu */
	worker *next_write;	/* writer queue link */
};

struct net_server {
	nng_socket sock;
	worker *workers;
	size_t nworkers;
	char (*urls)[URL_MAX];
	size_t nurls;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stopping;
	size_t busy;		/* contexts not in CTX_RECV or CTX_IDLE */
	worker *queue_head, *queue_tail;
	net_inflight *inflight;
	size_t inflight_max;
	pthread_t writer;
	bool writer_started;
	db_session *writer_session;
	rpc_server *rpc;
};

static spreg_status
err_from_nng(err *e, int rv, const char *what)
{
	spreg_status st;

	switch (rv) {
	case NNG_ENOMEM:
		st = SPREG_RESOURCE_EXHAUSTED;
		break;
	case NNG_EADDRINUSE:
	case NNG_EADDRINVAL:
	case NNG_EINVAL:
	case NNG_ENOTSUP:
		st = SPREG_INVALID_ARGUMENT;
		break;
	default:
		st = SPREG_UNAVAILABLE;
	}
	return err_set(e, st, "%s: %s", what, nng_strerror(rv));
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
	nng_ctx_recv(w->ctx, w->aio);
}

/* Replies into the request's own message: the REP header (the route
 * back) stays, the body is replaced. */
static void
send_reply(worker *w)
{
	size_t n = spreg__v1__reply__get_packed_size(&w->reply);

	/* The count ends here, not when the send completes: that callback
	 * may run after the client has its reply and has sent again. */
	if (w->pipe != 0) {
		net_inflight_leave(w->srv->inflight, w->pipe);
		w->pipe = 0;
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
	pthread_mutex_lock(&w->srv->mu);
	w->state = CTX_SEND;
	pthread_mutex_unlock(&w->srv->mu);
	nng_aio_set_msg(w->aio, w->msg);
	w->msg = NULL;
	nng_ctx_send(w->ctx, w->aio);
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
	w->msg = nng_aio_get_msg(w->aio);
	int pipe = nng_pipe_id(nng_msg_get_pipe(w->msg));
	if (pipe > 0 && !net_inflight_enter(s->inflight, (uint32_t) pipe)) {
		char why[96];
		snprintf(why, sizeof(why), "too many requests in flight on "
		    "this connection (max %zu)", s->inflight_max);
		rpc_handle_refuse(w->rpc, nng_msg_body(w->msg),
		    nng_msg_len(w->msg), SPREG_RESOURCE_EXHAUSTED, why,
		    &w->reply);
		send_reply(w);
		return;
	}
	w->pipe = pipe > 0 ? (uint32_t) pipe : 0;
	if (!rpc_handle_begin(w->rpc, nng_msg_body(w->msg),
	        nng_msg_len(w->msg), &w->reply)) {
		send_reply(w);
		return;
	}
	pthread_mutex_lock(&s->mu);
	w->state = CTX_WRITE;
	w->next_write = NULL;
	if (s->queue_tail != NULL) {
		s->queue_tail->next_write = w;
	} else {
		s->queue_head = w;
	}
	s->queue_tail = w;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
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
		if (nng_aio_result(w->aio) != 0) {
			/* A failed send leaves the message with us. */
			nng_msg_free(nng_aio_get_msg(w->aio));
		}
		rearm(w);
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
	worker *ws[RPC_BATCH_MAX];

	pthread_mutex_lock(&s->mu);
	for (;;) {
		while (s->queue_head == NULL && !s->stopping) {
			pthread_cond_wait(&s->cv, &s->mu);
		}
		if (s->queue_head == NULL) {
			break;	/* stopping, and nothing left to write */
		}
		size_t n = 0;
		while (s->queue_head != NULL && n < RPC_BATCH_MAX) {
			worker *w = s->queue_head;
			s->queue_head = w->next_write;
			ws[n] = w;
			batch[n++] = w->rpc;
		}
		if (s->queue_head == NULL) {
			s->queue_tail = NULL;
		}
		pthread_mutex_unlock(&s->mu);
		rpc_write_batch(s->writer_session, batch, n);
		for (size_t i = 0; i < n; i++) {
			send_reply(ws[i]);
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
		return err_set(e, SPREG_RESOURCE_EXHAUSTED, "out of memory");
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

spreg_status
net_server_start(rpc_server *rpc, const net_options *o, net_server **out,
    err *e)
{
	spreg_status st;
	int rv;

	net_server *s = calloc(1, sizeof(*s));
	if (s == NULL) {
		return err_set(e, SPREG_RESOURCE_EXHAUSTED, "out of memory");
	}
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	s->rpc = rpc;
	s->nworkers = o->workers ? o->workers : 64;
	s->inflight_max = o->inflight_max ? o->inflight_max :
	                                    NET_INFLIGHT_MAX_DEFAULT;
	if ((rv = nng_rep0_open(&s->sock)) != 0) {
		pthread_mutex_destroy(&s->mu);
		pthread_cond_destroy(&s->cv);
		free(s);
		return err_from_nng(e, rv, "rep socket");
	}
	/* Refuse oversize messages in nng, before any decoding. */
	if ((rv = nng_socket_set_size(s->sock, NNG_OPT_RECVMAXSZ,
	         o->recv_max ? o->recv_max : NET_RECV_MAX_DEFAULT)) != 0) {
		st = err_from_nng(e, rv, "recv max size");
		goto fail;
	}
	if ((st = db_session_create(rpc_server_db(rpc), &s->writer_session)) !=
	        SPREG_OK ||
	    (st = net_inflight_create(s->nworkers, s->inflight_max,
	         &s->inflight)) != SPREG_OK) {
		err_set(e, st, "out of memory");
		goto fail;
	}
	if ((s->workers = calloc(s->nworkers, sizeof(*s->workers))) == NULL) {
		st = err_set(e, SPREG_RESOURCE_EXHAUSTED, "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < s->nworkers; i++) {
		worker *w = &s->workers[i];
		w->srv = s;
		if ((rv = nng_ctx_open(&w->ctx, s->sock)) != 0 ||
		    (rv = nng_aio_alloc(&w->aio, worker_cb, w)) != 0) {
			st = err_from_nng(e, rv, "worker");
			goto fail;
		}
		if ((st = rpc_worker_create(rpc, &w->rpc)) != SPREG_OK) {
			err_set(e, st, "worker: out of memory");
			goto fail;
		}
	}
	if (pthread_create(&s->writer, NULL, writer_main, s) != 0) {
		st = err_set(e, SPREG_RESOURCE_EXHAUSTED,
		    "cannot start the writer thread");
		goto fail;
	}
	s->writer_started = true;
	if ((st = listen_all(s, o, e)) != SPREG_OK) {
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

void
net_server_stop(net_server *s)
{
	if (s == NULL) {
		return;
	}
	/* No new receives; cancel the waiting ones. Requests in flight
	 * (queued writes, replies being sent) complete and answer. */
	pthread_mutex_lock(&s->mu);
	s->stopping = true;
	pthread_cond_broadcast(&s->cv);
	for (size_t i = 0; s->workers != NULL && i < s->nworkers; i++) {
		if (s->workers[i].state == CTX_RECV &&
		    s->workers[i].aio != NULL) {
			nng_aio_cancel(s->workers[i].aio);
		}
	}
	pthread_mutex_unlock(&s->mu);
	if (s->writer_started) {
		pthread_join(s->writer, NULL);
	}
	/* Wait until every context is idle: its last reply went out. */
	pthread_mutex_lock(&s->mu);
	for (;;) {
		bool busy = false;
		for (size_t i = 0; s->workers != NULL && i < s->nworkers; i++) {
			busy = busy || (s->workers[i].state != CTX_IDLE &&
			                   s->workers[i].aio != NULL &&
			                   s->workers[i].state != CTX_RECV);
		}
		if (!busy) {
			break;
		}
		pthread_cond_wait(&s->cv, &s->mu);
	}
	pthread_mutex_unlock(&s->mu);
	/* nng 1.5.2 blocks closing a socket with open contexts: stop aios,
	 * close contexts, free aios, then the socket. */
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
	db_session_destroy(s->writer_session);
	net_inflight_destroy(s->inflight);
	nng_close(s->sock);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	free(s->workers);
	free(s->urls);
	free(s);
}
