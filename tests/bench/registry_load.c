/*
 * Load generation: p->clients threads, each with its own connection,
 * calling in a loop (echo, Get, a category page, or a durable Put);
 * calls completed in the measurement window count, with their
 * latencies and the CPU time of both processes.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>

#include "registry.h"

typedef struct load_thread {
	phase *p;
	size_t index;
	pthread_t thread;
	uint64_t *lat;		/* ns per completed call in the window */
	size_t nlat, cap;
} load_thread;

static void
phase_fail(phase *p, const char *fmt, const char *what, const char *why)
{
	pthread_mutex_lock(&p->mu);
	if (p->error[0] == '\0') {
		snprintf(p->error, sizeof(p->error), fmt, what, why);
	}
	pthread_mutex_unlock(&p->mu);
	atomic_fetch_add(&p->failures, 1);
}

static bool
lat_push(load_thread *lt, uint64_t ns)
{
	if (lt->nlat == lt->cap) {
		size_t cap = lt->cap ? lt->cap * 2 : 4096;
		uint64_t *lat = realloc(lt->lat, cap * sizeof(*lat));
		if (lat == NULL) {
			return false;
		}
		lt->lat = lat;
		lt->cap = cap;
	}
	lt->lat[lt->nlat++] = ns;
	return true;
}

/* One call of the phase's kind; false on failure (recorded in p). */
typedef struct call_state {
	spreg_client *client;
	/* Reads decode into an arena reset per call: what a client that
	 * pages through large lists would do (spreg_call_arena). */
	spreg_arena *arena;
	nng_socket sock;
	uint64_t rng;
	uint32_t put_count;
	synth s;
} call_state;

static bool
call_once(load_thread *lt, call_state *cs)
{
	phase *p = lt->p;
	spreg_status st;

	switch (p->kind) {
	case LOAD_ECHO: {
		nng_msg *msg;
		int rv;
		if ((rv = nng_msg_alloc(&msg, p->echo_request_size)) != 0) {
			phase_fail(p, "%s: %s", "echo", nng_strerror(rv));
			return false;
		}
		memset(nng_msg_body(msg), 0x61, p->echo_request_size);
		if ((rv = nng_sendmsg(cs->sock, msg, 0)) != 0) {
			nng_msg_free(msg);
			phase_fail(p, "%s: send: %s", "echo", nng_strerror(rv));
			return false;
		}
		if ((rv = nng_recvmsg(cs->sock, &msg, 0)) != 0) {
			phase_fail(p, "%s: receive: %s", "echo",
			    nng_strerror(rv));
			return false;
		}
		bool ok = nng_msg_len(msg) == p->echo_reply_size;
		nng_msg_free(msg);
		if (!ok) {
			phase_fail(p, "%s: %s", "echo", "wrong reply size");
		}
		return ok;
	}
	case LOAD_GET: {
		Spreg__V1__GetSubprocessorRequest req =
		    SPREG__V1__GET_SUBPROCESSOR_REQUEST__INIT;
		Spreg__V1__GetSubprocessorResponse *resp = NULL;
		char id[32];
		snprintf(id, sizeof(id), "vendor-%06" PRIu32,
		    bench_rng_below(&cs->rng, p->vendors));
		req.id = id;
		spreg_arena_reset(cs->arena);
		st = spreg_call_arena(cs->client, "GetSubprocessor", &req.base,
		    &spreg__v1__get_subprocessor_response__descriptor, cs->arena,
		    (ProtobufCMessage **) &resp);
		if (st == SPREG_OK && (resp->subprocessor == NULL ||
		                          strcmp(resp->subprocessor->id, id) != 0)) {
			st = SPREG_INTERNAL;
		}
		break;
	}
	case LOAD_LIST: {
		Spreg__V1__ListSubprocessorsRequest req =
		    SPREG__V1__LIST_SUBPROCESSORS_REQUEST__INIT;
		Spreg__V1__ListSubprocessorsResponse *resp = NULL;
		req.data_category = LIST_CATEGORY;
		req.page_size = PAGE_SIZE;
		spreg_arena_reset(cs->arena);
		st = spreg_call_arena(cs->client, "ListSubprocessors", &req.base,
		    &spreg__v1__list_subprocessors_response__descriptor,
		    cs->arena, (ProtobufCMessage **) &resp);
		if (st == SPREG_OK && resp->n_subprocessors != PAGE_SIZE) {
			st = SPREG_INTERNAL;
		}
		break;
	}
	case LOAD_PUT: {
		Spreg__V1__PutSubprocessorRequest req =
		    SPREG__V1__PUT_SUBPROCESSOR_REQUEST__INIT;
		Spreg__V1__PutSubprocessorResponse *resp = NULL;
		char id[VALIDATE_ID_MAX + 1];
		uint32_t n = cs->put_count++;
		snprintf(id, sizeof(id), "bench-w%u-%02zu-%07" PRIu32,
		    p->put_series, lt->index, n);
		synth_make(&cs->s, (uint32_t) (lt->index * 1000003u + n), id);
		req.subprocessor = &cs->s.sp;
		st = spreg_call(cs->client, "PutSubprocessor", &req.base,
		    &spreg__v1__put_subprocessor_response__descriptor,
		    (ProtobufCMessage **) &resp);
		if (st == SPREG_OK && (resp->change == NULL ||
		                          resp->subprocessor == NULL ||
		                          resp->subprocessor->revision != 1)) {
			st = SPREG_INTERNAL;
		}
		spreg_message_free(resp ? &resp->base : NULL);
		break;
	}
	case LOAD_BATCH: {
		Spreg__V1__GetSubprocessorsRequest req =
		    SPREG__V1__GET_SUBPROCESSORS_REQUEST__INIT;
		Spreg__V1__GetSubprocessorsResponse *resp = NULL;
		char ids[BATCH_IDS][32];
		char *ptrs[BATCH_IDS];
		for (size_t i = 0; i < BATCH_IDS; i++) {
			snprintf(ids[i], sizeof(ids[i]), "vendor-%06" PRIu32,
			    bench_rng_below(&cs->rng, p->vendors));
			ptrs[i] = ids[i];
		}
		req.ids = ptrs;
		req.n_ids = BATCH_IDS;
		spreg_arena_reset(cs->arena);
		st = spreg_call_arena(cs->client, "GetSubprocessors", &req.base,
		    &spreg__v1__get_subprocessors_response__descriptor,
		    cs->arena, (ProtobufCMessage **) &resp);
		if (st == SPREG_OK && resp->n_subprocessors != BATCH_IDS) {
			st = SPREG_INTERNAL;
		}
		break;
	}
	default:
		return false;
	}
	if (st != SPREG_OK) {
		phase_fail(p, "%s: %s", spreg_status_name(st),
		    st == SPREG_INTERNAL && spreg_client_error(cs->client)[0] ==
		            '\0' ?
		        "unexpected reply content" :
		        spreg_client_error(cs->client));
		return false;
	}
	return true;
}

static void *
load_main(void *arg)
{
	load_thread *lt = arg;
	phase *p = lt->p;
	call_state *cs = calloc(1, sizeof(*cs));
	bool open = false;
	int rv;

	if (cs == NULL || spreg_arena_create(&cs->arena) != SPREG_OK) {
		phase_fail(p, "%s: %s", "client", "out of memory");
	} else if (p->kind == LOAD_ECHO) {
		if ((rv = nng_req0_open(&cs->sock)) != 0 ||
		    (rv = nng_socket_set_ms(cs->sock, NNG_OPT_RECVTIMEO,
		         10000)) != 0 ||
		    (rv = nng_socket_set_size(cs->sock, NNG_OPT_RECVMAXSZ,
		         (size_t) 1 << 20)) != 0 ||
		    (rv = nng_dial(cs->sock, p->url, NULL, 0)) != 0) {
			phase_fail(p, "%s: %s", p->url, nng_strerror(rv));
			nng_close(cs->sock);
		} else {
			open = true;
		}
	} else if (p->shared != NULL) {
		cs->client = p->shared;
		open = true;
	} else {
		spreg_status st = server_client_open(p->url, false,
		    &cs->client);
		if (st != SPREG_OK) {
			phase_fail(p, "%s: %s", p->url, spreg_status_name(st));
		} else {
			spreg_client_set_actor(cs->client, "bench");
			open = true;
		}
	}
	if (cs != NULL) {
		cs->rng = SEED ^ (0xc0ffee + lt->index * 7919 +
		    (uint64_t) p->kind * 104729 + (uint64_t) bench_now_ns());
	}
	pthread_barrier_wait(&p->opened);
	pthread_barrier_wait(&p->go);	/* t0 and t1 are set */
	while (open && atomic_load(&p->failures) == 0) {
		int64_t start = bench_now_ns();
		if (start >= p->t1) {
			break;
		}
		if (!call_once(lt, cs)) {
			break;
		}
		int64_t end = bench_now_ns();
		if (end >= p->t0 && end < p->t1 &&
		    !lat_push(lt, (uint64_t) (end - start))) {
			phase_fail(p, "%s: %s", "latency", "out of memory");
			break;
		}
	}
	if (open) {
		if (p->kind == LOAD_ECHO) {
			nng_close(cs->sock);
		} else if (p->shared == NULL) {
			spreg_client_close(cs->client);
		}
	}
	if (cs != NULL) {
		spreg_arena_destroy(cs->arena);
	}
	free(cs);
	return NULL;
}

int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
	return x < y ? -1 : x > y;
}

double
percentile_us(const uint64_t *sorted, size_t n, double q)
{
	if (n == 0) {
		return 0;
	}
	size_t i = (size_t) (q * (double) (n - 1) + 0.5);
	return (double) sorted[i] / 1000.0;
}

bool
phase_run(phase *p, pid_t server, int measure_ms, load_result *out)
{
	load_thread *threads = calloc(p->clients, sizeof(*threads));
	bool ok = true;

	if (threads == NULL) {
		return false;
	}
	p->error[0] = '\0';
	atomic_store(&p->failures, 0);
	pthread_mutex_init(&p->mu, NULL);
	pthread_barrier_init(&p->opened, NULL, (unsigned) p->clients + 1);
	pthread_barrier_init(&p->go, NULL, (unsigned) p->clients + 1);
	size_t started = 0;
	for (; started < p->clients; started++) {
		threads[started].p = p;
		threads[started].index = started;
		if (pthread_create(&threads[started].thread, NULL, load_main,
		        &threads[started]) != 0) {
			break;
		}
	}
	if (started < p->clients) {
		/* Cannot happen in practice; the barriers would hang. */
		fprintf(stderr, "bench: cannot start client threads\n");
		abort();
	}
	pthread_barrier_wait(&p->opened);
	p->t0 = bench_now_ns() + (int64_t) WARMUP_MS * 1000000;
	p->t1 = p->t0 + (int64_t) measure_ms * 1000000;
	pthread_barrier_wait(&p->go);
	bench_sleep_until_ns(p->t0);
	double srv0 = bench_cpu_us(server), cli0 = bench_self_cpu_us();
	bench_sleep_until_ns(p->t1);
	double srv1 = bench_cpu_us(server), cli1 = bench_self_cpu_us();

	size_t total = 0;
	for (size_t i = 0; i < p->clients; i++) {
		pthread_join(threads[i].thread, NULL);
		total += threads[i].nlat;
	}
	uint64_t *all = malloc((total ? total : 1) * sizeof(*all));
	size_t n = 0;
	for (size_t i = 0; i < p->clients; i++) {
		if (all != NULL) {
			memcpy(all + n, threads[i].lat,
			    threads[i].nlat * sizeof(*all));
			n += threads[i].nlat;
		}
		free(threads[i].lat);
	}
	free(threads);
	pthread_barrier_destroy(&p->opened);
	pthread_barrier_destroy(&p->go);
	pthread_mutex_destroy(&p->mu);
	if (atomic_load(&p->failures) > 0 || all == NULL || total == 0) {
		fprintf(stderr, "bench: %s with %zu client(s) failed: %s\n",
		    p->url, p->clients,
		    p->error[0] ? p->error : "no call completed");
		ok = false;
	}
	qsort(all, n, sizeof(*all), cmp_u64);
	out->calls = n;
	out->per_s = (double) n * 1000.0 / measure_ms;
	out->p50_us = percentile_us(all, n, 0.50);
	out->p99_us = percentile_us(all, n, 0.99);
	out->server_cpu_us = srv0 >= 0 && srv1 >= 0 && n ?
	    (srv1 - srv0) / (double) n : 0;
	out->client_cpu_us = n ? (cli1 - cli0) / (double) n : 0;
	free(all);
	return ok;
}


static const size_t client_counts[] = {1, MANY_CLIENTS};

bool
measure_reads(const targets *t, int measure_ms, int rounds)
{
	static const char *const transports[] = {"ipc", "tcp"};
	load_result list_tcp[COUNT(client_counts)][8];
	double page_costs[COUNT(client_counts)][8];
	for (size_t ti = 0; ti < COUNT(transports); ti++) {
		bool tcp = ti == 1;
		for (size_t ci = 0; ci < COUNT(client_counts); ci++) {
			size_t clients = client_counts[ci];
			load_result echo_r[8], get_r[8];
			for (int r = 0; r < rounds; r++) {
				phase pe = {.kind = LOAD_ECHO, .clients = clients,
				    .url = tcp ? t->echo_tcp : t->echo_ipc,
				    .echo_request_size = t->wire->req_size,
				    .echo_reply_size = t->wire->reply_size};
				phase pg = {.kind = LOAD_GET, .clients = clients,
				    .url = tcp ? t->spreg_tcp : t->spreg_ipc,
				    .vendors = t->vendors};
				if (!phase_run(&pe, t->echo, measure_ms,
				        &echo_r[r]) ||
				    !phase_run(&pg, t->spregd, measure_ms,
				        &get_r[r])) {
					return false;
				}
				if (tcp) {
					phase pl = {.kind = LOAD_LIST,
					    .clients = clients, .url = t->spreg_tcp};
					if (!phase_run(&pl, t->spregd,
					        measure_ms, &list_tcp[ci][r])) {
						return false;
					}
				}
			}
			/* Ratios pair the echo and Get of the same round, so
			 * a disturbance that spans a round cancels out. */
			double ratios[8];
			for (int r = 0; r < rounds; r++) {
				ratios[r] = get_r[r].per_s / echo_r[r].per_s;
				if (tcp) {
					page_costs[ci][r] = get_r[r].per_s /
					    list_tcp[ci][r].per_s;
				}
			}
			char name[64];
			snprintf(name, sizeof(name), "echo %s %zu client%s",
			    transports[ti], clients, clients > 1 ? "s" : "");
			measure *me = rounds_measure("calls/s", echo_r,
			    (size_t) rounds, name);
			snprintf(name, sizeof(name), "Get %s %zu client%s",
			    transports[ti], clients, clients > 1 ? "s" : "");
			measure *mg = rounds_measure("calls/s", get_r,
			    (size_t) rounds, name);
			snprintf(mg->baseline_name, sizeof(mg->baseline_name),
			    "echo");
			mg->baseline = me->value;
			mg->ratio = median(ratios, (size_t) rounds);
			mg->ratio_kind = "of baseline";
			if (clients == MANY_CLIENTS) {
				mg->target = mg->ratio >= TARGET_GET_RATIO ? 1 : -1;
				snprintf(mg->target_text, sizeof(mg->target_text),
				    ">= %.0f%% of echo", TARGET_GET_RATIO * 100);
			}
		}
	}
	for (size_t ci = 0; ci < COUNT(client_counts); ci++) {
		size_t clients = client_counts[ci];
		char name[64];
		snprintf(name, sizeof(name), "List %s p%d tcp %zu client%s",
		    LIST_CATEGORY, PAGE_SIZE, clients, clients > 1 ? "s" : "");
		measure *ml = rounds_measure("pages/s", list_tcp[ci],
		    (size_t) rounds, name);
		/* Cost against the Get measured in the same rounds. */
		double get_median = 0;
		for (size_t i = 0; i < nmeasures; i++) {
			char gname[64];
			snprintf(gname, sizeof(gname), "Get tcp %zu client%s",
			    clients, clients > 1 ? "s" : "");
			if (strcmp(measures[i].name, gname) == 0) {
				get_median = measures[i].value;
			}
		}
		snprintf(ml->baseline_name, sizeof(ml->baseline_name), "Get");
		ml->baseline = get_median;
		/* cost = 1 / rate: a page costs Get/s / pages/s Gets. */
		ml->ratio = median(page_costs[ci], (size_t) rounds);
		ml->ratio_kind = "cost";
		ml->target = ml->ratio <= TARGET_PAGE_COST ? 1 : -1;
		snprintf(ml->target_text, sizeof(ml->target_text),
		    "page <= %.0fx a Get", TARGET_PAGE_COST);
	}

	return true;
}

bool
measure_writes(const targets *t, double raw_commit_per_s[3])
{
	for (size_t ci = 0; ci < COUNT(client_counts); ci++) {
		size_t writers = client_counts[ci];
		phase pw = {.kind = LOAD_PUT, .clients = writers,
		    .url = t->spreg_tcp, .put_series = (unsigned) ci};
		load_result wr;
		if (!raw_commits(t->dir, 1 + (int) ci, &raw_commit_per_s[1 + ci]) ||
		    !phase_run(&pw, t->spregd, WRITE_MEASURE_MS, &wr)) {
			return false;
		}
		char name[64];
		snprintf(name, sizeof(name), "Put tcp %zu writer%s", writers,
		    writers > 1 ? "s" : "");
		measure *mw = rounds_measure("writes/s", &wr, 1, name);
		snprintf(mw->baseline_name, sizeof(mw->baseline_name), "LMDB");
		mw->baseline = raw_commit_per_s[1 + ci];
		mw->ratio = mw->value / mw->baseline;
		mw->ratio_kind = "of baseline";
	}
	return true;
}
