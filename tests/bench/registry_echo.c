/*
 * The transport baseline: this program re-executed as a child process
 * (--echo-server), so it has the same process topology as spregd:
 * clients in the benchmark, the server in another process, each with
 * its own nng threads. Writes DIR/echo-ready (its ipc and tcp URLs)
 * and runs until SIGTERM.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/transport/tcp/tcp.h>

#include "registry.h"

typedef struct echo_ctx {
	nng_ctx ctx;
	nng_aio *aio;
	bool sending;
} echo_ctx;

static size_t echo_reply_size;

static void
echo_cb(void *arg)
{
	echo_ctx *c = arg;
	int rv = nng_aio_result(c->aio);

	if (c->sending) {
		if (rv != 0) {
			nng_msg_free(nng_aio_get_msg(c->aio));
		}
		c->sending = false;
		nng_ctx_recv(c->ctx, c->aio);
		return;
	}
	if (rv == NNG_ECLOSED || rv == NNG_ECANCELED) {
		return;
	}
	if (rv != 0) {
		nng_ctx_recv(c->ctx, c->aio);
		return;
	}
	/* Like spregd: the reply replaces the request's body in the same
	 * message (the REP header, the route back, stays). */
	nng_msg *msg = nng_aio_get_msg(c->aio);
	nng_msg_clear(msg);
	if (nng_msg_realloc(msg, echo_reply_size) != 0) {
		nng_msg_free(msg);
		nng_ctx_recv(c->ctx, c->aio);
		return;
	}
	memset(nng_msg_body(msg), 0x5a, echo_reply_size);
	nng_aio_set_msg(c->aio, msg);
	c->sending = true;
	nng_ctx_send(c->ctx, c->aio);
}

int
echo_main(const char *dir, const char *size_arg)
{
	static echo_ctx ctxs[ECHO_CONTEXTS];
	char ipc_url[URL_LEN], tcp_url[URL_LEN], path[PATH_MAX_LEN];
	nng_socket sock;
	nng_listener l;
	int rv, port;
	sigset_t sigs;

	echo_reply_size = strtoul(size_arg, NULL, 10);
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	snprintf(ipc_url, sizeof(ipc_url), "ipc://%s/echo.ipc", dir);
	if ((rv = nng_rep0_open(&sock)) != 0 ||
	    (rv = nng_socket_set_size(sock, NNG_OPT_RECVMAXSZ,
	         (size_t) 1 << 20)) != 0) {
		fprintf(stderr, "echo: socket: %s\n", nng_strerror(rv));
		return 1;
	}
	for (size_t i = 0; i < ECHO_CONTEXTS; i++) {
		if ((rv = nng_ctx_open(&ctxs[i].ctx, sock)) != 0 ||
		    (rv = nng_aio_alloc(&ctxs[i].aio, echo_cb, &ctxs[i])) !=
		        0) {
			fprintf(stderr, "echo: context: %s\n", nng_strerror(rv));
			return 1;
		}
	}
	if ((rv = nng_listen(sock, ipc_url, NULL, 0)) != 0 ||
	    (rv = nng_listen(sock, "tcp://127.0.0.1:0", &l, 0)) != 0 ||
	    (rv = nng_listener_get_int(l, NNG_OPT_TCP_BOUND_PORT, &port)) !=
	        0) {
		fprintf(stderr, "echo: listen: %s\n", nng_strerror(rv));
		return 1;
	}
	snprintf(tcp_url, sizeof(tcp_url), "tcp://127.0.0.1:%d", port);
	for (size_t i = 0; i < ECHO_CONTEXTS; i++) {
		nng_ctx_recv(ctxs[i].ctx, ctxs[i].aio);
	}
	snprintf(path, sizeof(path), "%s/echo-ready.tmp", dir);
	FILE *f = fopen(path, "w");
	if (f == NULL) {
		return 1;
	}
	fprintf(f, "%s\n%s\n", ipc_url, tcp_url);
	fclose(f);
	char ready[PATH_MAX_LEN];
	snprintf(ready, sizeof(ready), "%s/echo-ready", dir);
	if (rename(path, ready) != 0) {
		return 1;
	}
	int sig;
	sigwait(&sigs, &sig);
	return 0;	/* exit closes everything */
}

