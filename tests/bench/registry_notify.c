/*
 * Notifications: commit-to-receipt latency with 1 and NOTIFY_MANY SUB
 * subscribers (each its own connection), and the cost of catching up
 * CATCHUP_CHANGES changes from the log through spreg_watch.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/protocol/pubsub0/sub.h>

#include "registry.h"
#include "spreg/watch.h"

/*
 * Raw SUB sockets on "all/" and "hb/", one thread each, recording when
 * each seq arrived: as a change (an --insecure-local server), or as the
 * seq alone (access control on: a watcher then reads the change with
 * ListChanges, one more round trip). They are closed only after spregd stopped: nng 1.5.2 can hang
 * closing a SUB socket while messages arrive (see src/client/watch.c).
 */
typedef struct notify_sub {
	nng_socket sock;
	bool open;
	pthread_t thread;
	bool started;
	uint64_t first_seq;
	int64_t *recv_ns;	/* by seq - first_seq; 0: not seen */
	size_t n;
	atomic_bool stop;
} notify_sub;

static notify_sub notify_subs[NOTIFY_MANY];

static void *
notify_sub_main(void *arg)
{
	notify_sub *ns = arg;

	while (!atomic_load(&ns->stop)) {
		nng_msg *m;
		if (nng_recvmsg(ns->sock, &m, 0) != 0) {
			continue;	/* the receive timeout: look at stop */
		}
		int64_t t = bench_now_ns();
		size_t len = nng_msg_len(m);
		const uint8_t *body = nng_msg_body(m);
		const uint8_t *slash = memchr(body, '/', len);
		size_t tlen = slash != NULL ? (size_t) (slash - body) + 1 : len;
		if (len > tlen) {
			Spreg__V1__Notification *n =
			    spreg__v1__notification__unpack(NULL, len - tlen,
			        body + tlen);
			uint64_t seq = n == NULL ? 0 :
			    n->change != NULL ? n->change->seq : n->last_seq;
			if (seq >= ns->first_seq && seq - ns->first_seq < ns->n &&
			    ns->recv_ns[seq - ns->first_seq] == 0) {
				ns->recv_ns[seq - ns->first_seq] = t;
			}
			if (n != NULL) {
				spreg__v1__notification__free_unpacked(n, NULL);
			}
		}
		nng_msg_free(m);
	}
	return NULL;
}

static bool
server_last_seq(spreg_client *c, uint64_t *last)
{
	Spreg__V1__ServerInfoRequest req = SPREG__V1__SERVER_INFO_REQUEST__INIT;
	Spreg__V1__ServerInfoResponse *info = NULL;
	spreg_status st = spreg_call(c, "ServerInfo", &req.base,
	    &spreg__v1__server_info_response__descriptor,
	    (ProtobufCMessage **) &info);

	if (st != SPREG_OK) {
		fprintf(stderr, "bench: ServerInfo: %s\n",
		    spreg_client_error(c));
		return false;
	}
	*last = info->last_seq;
	spreg_message_free(&info->base);
	return true;
}

/*
 * NOTIFY_WRITES sequential puts while nsubs subscribers listen. Latency
 * is from the writer's call to the subscriber's receipt (the commit, and
 * its fsync, lie between); the put round trip of the same writes is the
 * baseline next to it.
 */
bool
notify_latency(const char *rpc_url, const char *pub_url, size_t nsubs,
    unsigned series)
{
	int64_t start_ns[NOTIFY_WRITES], ack_ns[NOTIFY_WRITES];
	uint64_t seqs[NOTIFY_WRITES];
	spreg_client *c = NULL;
	uint64_t last;
	bool ok = false;
	synth s;
	int rv;

	if (server_client_open(rpc_url, false, &c) != SPREG_OK ||
	    !server_last_seq(c, &last)) {
		fprintf(stderr, "bench: notify: no server\n");
		spreg_client_close(c);
		return false;
	}
	for (size_t i = 0; i < nsubs; i++) {
		notify_sub *ns = &notify_subs[i];
		if (!ns->open) {
			if ((rv = nng_sub0_open(&ns->sock)) != 0 ||
			    (rv = nng_socket_set(ns->sock, NNG_OPT_SUB_SUBSCRIBE,
			         "all/", 4)) != 0 ||
			    (rv = nng_socket_set(ns->sock, NNG_OPT_SUB_SUBSCRIBE,
			         "hb/", 3)) != 0 ||
			    (rv = nng_socket_set_int(ns->sock, NNG_OPT_RECVBUF,
			         1024)) != 0 ||
			    (rv = nng_socket_set_ms(ns->sock, NNG_OPT_RECVTIMEO,
			         100)) != 0 ||
			    (rv = nng_dial(ns->sock, pub_url, NULL, 0)) != 0) {
				fprintf(stderr, "bench: SUB %s: %s\n", pub_url,
				    nng_strerror(rv));
				goto out;
			}
			ns->open = true;
		}
		free(ns->recv_ns);
		ns->first_seq = last + 1;
		ns->n = NOTIFY_WRITES;
		ns->recv_ns = calloc(NOTIFY_WRITES, sizeof(*ns->recv_ns));
		atomic_store(&ns->stop, false);
		if (ns->recv_ns == NULL || pthread_create(&ns->thread, NULL,
		                               notify_sub_main, ns) != 0) {
			fprintf(stderr, "bench: notify: out of resources\n");
			goto out;
		}
		ns->started = true;
	}
	bench_sleep_ms(300);	/* let the publisher see every pipe */
	for (size_t i = 0; i < NOTIFY_WRITES; i++) {
		Spreg__V1__PutSubprocessorRequest req =
		    SPREG__V1__PUT_SUBPROCESSOR_REQUEST__INIT;
		Spreg__V1__PutSubprocessorResponse *resp = NULL;
		char id[VALIDATE_ID_MAX + 1];
		snprintf(id, sizeof(id), "bench-n%u-%04zu", series, i);
		synth_make(&s, (uint32_t) (7000000u + series * 1000u + i), id);
		req.subprocessor = &s.sp;
		start_ns[i] = bench_now_ns();
		spreg_status st = spreg_call(c, "PutSubprocessor", &req.base,
		    &spreg__v1__put_subprocessor_response__descriptor,
		    (ProtobufCMessage **) &resp);
		ack_ns[i] = bench_now_ns();
		if (st != SPREG_OK || resp->change == NULL) {
			fprintf(stderr, "bench: notify put: %s\n",
			    spreg_client_error(c));
			spreg_message_free(resp ? &resp->base : NULL);
			goto out;
		}
		seqs[i] = resp->change->seq;
		spreg_message_free(&resp->base);
	}
	/* Wait (bounded) for the last write's notification everywhere. */
	int64_t deadline = bench_now_ns() + (int64_t) NOTIFY_WAIT_MS * 1000000;
	for (size_t i = 0; i < nsubs && bench_now_ns() < deadline; i++) {
		uint64_t k = seqs[NOTIFY_WRITES - 1] - notify_subs[i].first_seq;
		while (k < NOTIFY_WRITES && notify_subs[i].recv_ns[k] == 0 &&
		    bench_now_ns() < deadline) {
			bench_sleep_ms(5);
		}
	}
	for (size_t i = 0; i < nsubs; i++) {
		atomic_store(&notify_subs[i].stop, true);
	}
	for (size_t i = 0; i < nsubs; i++) {
		if (notify_subs[i].started) {
			pthread_join(notify_subs[i].thread, NULL);
			notify_subs[i].started = false;
		}
	}
	uint64_t *lat = calloc(nsubs * NOTIFY_WRITES, sizeof(*lat));
	uint64_t rtt[NOTIFY_WRITES];
	size_t nlat = 0;
	if (lat == NULL) {
		goto out;
	}
	for (size_t w = 0; w < NOTIFY_WRITES; w++) {
		rtt[w] = (uint64_t) (ack_ns[w] - start_ns[w]);
		for (size_t i = 0; i < nsubs; i++) {
			uint64_t k = seqs[w] - notify_subs[i].first_seq;
			int64_t t = k < NOTIFY_WRITES ?
			    notify_subs[i].recv_ns[k] : 0;
			if (t != 0) {
				lat[nlat++] = (uint64_t) (t - start_ns[w]);
			}
		}
	}
	qsort(lat, nlat, sizeof(*lat), cmp_u64);
	qsort(rtt, NOTIFY_WRITES, sizeof(*rtt), cmp_u64);
	measure *m = measure_add("% live", "notify write->receipt %zu sub%s",
	    nsubs, nsubs > 1 ? "s" : "");
	m->value = 100.0 * (double) nlat / (double) (nsubs * NOTIFY_WRITES);
	if (nlat > 0) {
		m->p50_us = percentile_us(lat, nlat, 0.50);
		m->p99_us = percentile_us(lat, nlat, 0.99);
	}
	m = measure_add("us", "Put round trip (%zu sub%s listening)", nsubs,
	    nsubs > 1 ? "s" : "");
	m->p50_us = percentile_us(rtt, NOTIFY_WRITES, 0.50);
	m->p99_us = percentile_us(rtt, NOTIFY_WRITES, 0.99);
	m->value = m->p50_us;
	free(lat);
	ok = true;
out:
	for (size_t i = 0; i < nsubs; i++) {
		atomic_store(&notify_subs[i].stop, true);
		if (notify_subs[i].started) {
			pthread_join(notify_subs[i].thread, NULL);
			notify_subs[i].started = false;
		}
	}
	spreg_client_close(c);
	return ok;
}

void
notify_subs_close(void)
{
	for (size_t i = 0; i < NOTIFY_MANY; i++) {
		if (notify_subs[i].open) {
			nng_close(notify_subs[i].sock);
			notify_subs[i].open = false;
		}
		free(notify_subs[i].recv_ns);
		notify_subs[i].recv_ns = NULL;
	}
}

/* A watcher catching up CATCHUP_CHANGES changes from the log (pages of
 * 1000 through ListChanges), the median of rounds. */
bool
notify_catch_up(const char *rpc_url, const char *pub_url, int rounds)
{
	double ms[8];
	spreg_client *c = NULL;
	uint64_t last;

	if (server_client_open(rpc_url, false, &c) != SPREG_OK ||
	    !server_last_seq(c, &last)) {
		spreg_client_close(c);
		return false;
	}
	spreg_client_close(c);
	uint64_t want = last < CATCHUP_CHANGES ? last : CATCHUP_CHANGES;
	for (int r = 0; r < rounds; r++) {
		spreg_watch *w;
		int64_t t0 = bench_now_ns();
		if (server_watch_open(rpc_url, pub_url, NULL, last - want, &w) !=
		    SPREG_OK) {
			fprintf(stderr, "bench: spreg_watch_open failed\n");
			return false;
		}
		size_t got = 0;
		while (got < want) {
			Spreg__V1__Change *ch;
			spreg_status st = spreg_watch_next(w, 10000, &ch);
			if (st != SPREG_OK) {
				fprintf(stderr, "bench: catch-up: %s: %s\n",
				    spreg_status_name(st), spreg_watch_error(w));
				spreg_watch_close(w);
				return false;
			}
			spreg_message_free(&ch->base);
			got++;
		}
		ms[r] = (double) (bench_now_ns() - t0) / 1e6;
		spreg_watch_close(w);
	}
	measure *m = measure_add("ms", "catch-up %" PRIu64 " changes "
	    "(spreg_watch)", want);
	for (int r = 0; r < rounds; r++) {
		m->rounds[m->nrounds++] = ms[r];
	}
	m->value = median(ms, (size_t) rounds);
	printf("catch-up: %" PRIu64 " changes in %.0f ms (%.0f changes/s, "
	    "pages of 1000)\n", want, m->value,
	    (double) want / (m->value / 1000));
	return true;
}

