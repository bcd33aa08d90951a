/*
 * Closing an nng socket at stop with a bound on the wait (net/close.h).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "core/date.h"
#include "core/log.h"
#include "net/close.h"

typedef struct closer {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	nng_socket sock;
	bool done;
	bool abandoned;	/* the waiter gave up: the closer frees this */
} closer;

static void *
closer_main(void *arg)
{
	closer *c = arg;

	nng_close(c->sock);
	pthread_mutex_lock(&c->mu);
	c->done = true;
	bool abandoned = c->abandoned;
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
	if (abandoned) {
		pthread_mutex_destroy(&c->mu);
		pthread_cond_destroy(&c->cv);
		free(c);
	}
	return NULL;
}

bool
net_close_bounded(nng_socket sock, const char *what)
{
	static atomic_bool stuck;	/* a close was abandoned: nng's reaper hangs */
	pthread_t t;

	if (atomic_load(&stuck)) {
		log_warn("not closing the %s socket: an earlier close did not "
		    "finish", what);
		return false;
	}
	closer *c = calloc(1, sizeof(*c));
	if (c == NULL) {
		nng_close(sock);
		return true;
	}
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	c->sock = sock;
	if (pthread_create(&t, NULL, closer_main, c) != 0) {
		nng_close(sock);
		c->done = true;
	} else {
		pthread_detach(t);
	}
	struct timespec until = time_realtime_after_ms(NET_CLOSE_WAIT_MS);
	pthread_mutex_lock(&c->mu);
	while (!c->done &&
	    pthread_cond_timedwait(&c->cv, &c->mu, &until) == 0) {
	}
	bool done = c->done;
	c->abandoned = !done;
	pthread_mutex_unlock(&c->mu);
	if (done) {
		pthread_mutex_destroy(&c->mu);
		pthread_cond_destroy(&c->cv);
		free(c);
	} else {
		atomic_store(&stuck, true);
		log_warn("closing the %s socket did not finish in %d ms (nng "
		    "1.5.2 can hang closing a connection that is sending); "
		    "stopping without it", what, NET_CLOSE_WAIT_MS);
	}
	return done;
}
