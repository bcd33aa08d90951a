/* The follow poller (follow/poller.h). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/date.h"
#include "core/log.h"
#include "follow/fetch.h"
#include "follow/poller.h"

#define JOBS_MAX 16	/* follows taken per look */

struct follow_poller {
	rpc_server *rpc;
	rpc_worker *w;
	pthread_t thread;
	bool started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	atomic_bool stopping;
	rpc_follow_job jobs[JOBS_MAX];
};

/* One follow: fetched with no transaction held, then recorded. */
static void
poll_one(follow_poller *p, const rpc_follow_job *job)
{
	publist_fetched f = {0};
	uint64_t seq;
	err e;

	if (job->paused[0] != '\0') {
		/* Recorded as its last error; nothing fetched for it. */
		f.st = SPREG_FAILED_PRECONDITION;
		snprintf(f.msg, sizeof(f.msg), "%s", job->paused);
	} else {
		follow_fetch(job->url, job->etag, &p->stopping, &f);
	}
	if (atomic_load(&p->stopping)) {
		publist_fetched_fini(&f);
		return;	/* fetched again after a restart */
	}
	if (rpc_follow_record(p->w, job, &f, &seq, &e) != SPREG_OK) {
		log_error("follow of %s by %s: not recorded: %s", job->url,
		    job->vendor, e.msg);
	} else if (f.st != SPREG_OK) {
		log_warn("follow of %s by %s: %s (the last list is kept)",
		    job->url, job->vendor, f.msg);
	} else if (seq != 0) {
		log_info("follow of %s: %s's fourth parties written (change "
		    "seq %llu)", job->url, job->vendor,
		    (unsigned long long) seq);
	}
	publist_fetched_fini(&f);
}

static void *
poller_main(void *arg)
{
	follow_poller *p = arg;
	err e;

	while (!atomic_load(&p->stopping)) {
		size_t n = 0;
		int64_t next;
		if (rpc_follow_due(p->w, time_now_ms(), p->jobs, JOBS_MAX, &n,
		        &next, &e) != SPREG_OK) {
			log_error("follows: %s", e.msg);
			n = 0;
		}
		for (size_t i = 0; i < n && !atomic_load(&p->stopping); i++) {
			poll_one(p, &p->jobs[i]);
		}
		if (n == JOBS_MAX) {
			continue;	/* more may be due */
		}
		pthread_mutex_lock(&p->mu);
		if (!atomic_load(&p->stopping)) {
			struct timespec until =
			    time_realtime_after_ms(FOLLOW_TICK_MS);
			pthread_cond_timedwait(&p->cv, &p->mu, &until);
		}
		pthread_mutex_unlock(&p->mu);
	}
	return NULL;
}

spreg_status
follow_poller_start(rpc_server *rpc, follow_poller **out, err *e)
{
	spreg_status st;
	follow_poller *p = calloc(1, sizeof(*p));

	if (p == NULL) {
		return err_oom(e, NULL);
	}
	p->rpc = rpc;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	atomic_init(&p->stopping, false);
	if ((st = follow_fetch_init(e)) != SPREG_OK) {
		pthread_mutex_destroy(&p->mu);
		pthread_cond_destroy(&p->cv);
		free(p);
		return st;
	}
	if ((st = rpc_worker_create(rpc, &p->w)) != SPREG_OK) {
		err_set(e, st, "follows: no worker");
		goto fail;
	}
	if (pthread_create(&p->thread, NULL, poller_main, p) != 0) {
		st = err_set(e, SPREG_RESOURCE_EXHAUSTED, "cannot start the "
		    "follow poller");
		goto fail;
	}
	p->started = true;
	*out = p;
	return SPREG_OK;

fail:
	follow_poller_stop(p);
	return st;
}

void
follow_poller_stop(follow_poller *p)
{
	if (p == NULL) {
		return;
	}
	if (p->started) {
		pthread_mutex_lock(&p->mu);
		atomic_store(&p->stopping, true);
		pthread_cond_broadcast(&p->cv);
		pthread_mutex_unlock(&p->mu);
		pthread_join(p->thread, NULL);
	}
	rpc_worker_destroy(p->w);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	free(p);
	follow_fetch_fini();
}
