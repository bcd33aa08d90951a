#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/transport/tcp/tcp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "net/server.h"

#define URL_MAX 512

typedef struct worker {
	net_server *srv;
	rpc_worker *rpc;
	nng_ctx ctx;
	nng_aio *aio;
	pthread_t thread;
	bool started;
	pthread_mutex_t mu;
	bool receiving;		/* in nng_ctx_recv: safe to cancel */
} worker;

struct net_server {
	nng_socket sock;
	worker *workers;
	size_t nworkers;
	char (*urls)[URL_MAX];
	size_t nurls;
	pthread_mutex_t mu;
	bool stopping;
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

static bool
stopping(worker *w)
{
	pthread_mutex_lock(&w->srv->mu);
	bool s = w->srv->stopping;
	pthread_mutex_unlock(&w->srv->mu);
	return s;
}

/* Replies into the request's own message: the REP header (the route
 * back) stays, the body is replaced. */
static void
reply(worker *w, nng_msg *msg)
{
	Spreg__V1__Reply r;
	size_t n;

	rpc_handle(w->rpc, nng_msg_body(msg), nng_msg_len(msg), &r);
	n = spreg__v1__reply__get_packed_size(&r);
	nng_msg_clear(msg);
	if (nng_msg_realloc(msg, n) != 0) {
		log_error("out of memory for a %zu-byte reply", n);
		nng_msg_free(msg);
		return;
	}
	spreg__v1__reply__pack(&r, nng_msg_body(msg));
	nng_aio_set_msg(w->aio, msg);
	nng_ctx_send(w->ctx, w->aio);
	nng_aio_wait(w->aio);
	if (nng_aio_result(w->aio) != 0) {
		nng_msg_free(msg);	/* a failed send leaves it with us */
	}
}

static void *
worker_main(void *arg)
{
	worker *w = arg;

	for (;;) {
		pthread_mutex_lock(&w->mu);
		if (stopping(w)) {
			pthread_mutex_unlock(&w->mu);
			break;
		}
		w->receiving = true;
		nng_ctx_recv(w->ctx, w->aio);
		pthread_mutex_unlock(&w->mu);
		nng_aio_wait(w->aio);
		pthread_mutex_lock(&w->mu);
		w->receiving = false;
		pthread_mutex_unlock(&w->mu);

		int rv = nng_aio_result(w->aio);
		if (rv == NNG_ECLOSED || rv == NNG_ECANCELED) {
			break;
		}
		if (rv != 0) {
			log_warn("receive: %s", nng_strerror(rv));
			continue;
		}
		reply(w, nng_aio_get_msg(w->aio));
	}
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
		nng_listener l;
		int rv, port;
		if ((rv = nng_listen(s->sock, o->listen[i], &l, 0)) != 0) {
			return err_from_nng(e, rv, o->listen[i]);
		}
		snprintf(s->urls[i], URL_MAX, "%s", o->listen[i]);
		/* tcp://host:0 picks a port: report the one it got. */
		if (strncmp(o->listen[i], "tcp://", 6) == 0 &&
		    nng_listener_get_int(l, NNG_OPT_TCP_BOUND_PORT, &port) ==
		        0) {
			const char *colon = strrchr(o->listen[i], ':');
			snprintf(s->urls[i], URL_MAX, "%.*s:%d",
			    (int) (colon - o->listen[i]), o->listen[i], port);
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
	s->nworkers = o->workers ? o->workers : 16;
	if ((rv = nng_rep0_open(&s->sock)) != 0) {
		free(s);
		return err_from_nng(e, rv, "rep socket");
	}
	/* Refuse oversize messages in nng, before any decoding. */
	if ((rv = nng_socket_set_size(s->sock, NNG_OPT_RECVMAXSZ,
	         o->recv_max ? o->recv_max : (size_t) 1 << 20)) != 0) {
		st = err_from_nng(e, rv, "recv max size");
		goto fail;
	}
	if ((s->workers = calloc(s->nworkers, sizeof(*s->workers))) == NULL) {
		st = err_set(e, SPREG_RESOURCE_EXHAUSTED, "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < s->nworkers; i++) {
		worker *w = &s->workers[i];
		w->srv = s;
		pthread_mutex_init(&w->mu, NULL);
		if ((rv = nng_ctx_open(&w->ctx, s->sock)) != 0 ||
		    (rv = nng_aio_alloc(&w->aio, NULL, NULL)) != 0) {
			st = err_from_nng(e, rv, "worker");
			goto fail;
		}
		if ((st = rpc_worker_create(rpc, &w->rpc)) != SPREG_OK) {
			err_set(e, st, "worker: out of memory");
			goto fail;
		}
	}
	if ((st = listen_all(s, o, e)) != SPREG_OK) {
		goto fail;
	}
	for (size_t i = 0; i < s->nworkers; i++) {
		worker *w = &s->workers[i];
		if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
			st = err_set(e, SPREG_RESOURCE_EXHAUSTED,
			    "cannot start worker thread");
			goto fail;
		}
		w->started = true;
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
	pthread_mutex_lock(&s->mu);
	s->stopping = true;
	pthread_mutex_unlock(&s->mu);
	/* Cancel only receives: a worker running a request finishes it and
	 * sends its reply before it sees the flag. */
	for (size_t i = 0; s->workers != NULL && i < s->nworkers; i++) {
		worker *w = &s->workers[i];
		pthread_mutex_lock(&w->mu);
		if (w->receiving && w->aio != NULL) {
			nng_aio_cancel(w->aio);
		}
		pthread_mutex_unlock(&w->mu);
	}
	/* nng 1.5.2 blocks closing a socket with open contexts: stop aios,
	 * join workers, close contexts, free aios, then the socket. */
	for (size_t i = 0; s->workers != NULL && i < s->nworkers; i++) {
		worker *w = &s->workers[i];
		if (w->started) {
			pthread_join(w->thread, NULL);
		}
		if (w->aio != NULL) {
			nng_aio_stop(w->aio);
		}
		if (nng_ctx_id(w->ctx) > 0) {
			nng_ctx_close(w->ctx);
		}
		nng_aio_free(w->aio);
		rpc_worker_destroy(w->rpc);
		pthread_mutex_destroy(&w->mu);
	}
	nng_close(s->sock);
	pthread_mutex_destroy(&s->mu);
	free(s->workers);
	free(s->urls);
	free(s);
}
