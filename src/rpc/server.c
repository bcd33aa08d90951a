/*
 * The server's state as handlers, jobs and the layers above see it: its
 * clock (store time, and change times that never go back), and the
 * accessors and setters of struct rpc_server (rpc/internal.h). Nothing
 * here calls the dispatcher (rpc.c), so auth.c and the handlers depend
 * on this file and not on it.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/date.h"
#include "core/log.h"
#include "db/record.h"
#include "rpc/internal.h"
#include "rpc/rpc.h"

/* Store time now (see struct rpc_server). */
int64_t
rpc_store_now(rpc_server *srv)
{
	return srv->store_base_ms + (time_mono_ms() - srv->started_mono);
}

/*
 * The time a write records: wall_ms, or the last time handed out when
 * the clock stepped back below it, so change times never decrease. The
 * first write of each step back logs one warning.
 */
int64_t
rpc_stamp(rpc_server *srv, int64_t wall_ms)
{
	int64_t now = wall_ms;

	pthread_mutex_lock(&srv->clock_mu);
	if (wall_ms < srv->last_stamp_ms) {
		now = srv->last_stamp_ms;
		if (!srv->clock_behind) {
			char held[TIME_BUF];
			time_format(now, held);
			log_warn("the clock stepped back by %lld ms: change "
			    "times stay at %s until it catches up",
			    (long long) (now - wall_ms), held);
			srv->clock_behind = true;
		}
	} else {
		srv->clock_behind = false;
	}
	srv->last_stamp_ms = now;
	pthread_mutex_unlock(&srv->clock_mu);
	return now;
}

const char *
rpc_server_pub_url(const rpc_server *srv, size_t i)
{
	return i < srv->npub_urls ? srv->pub_urls[i] : NULL;
}

uint32_t
rpc_server_heartbeat_ms(const rpc_server *srv)
{
	return srv->heartbeat_ms;
}

const char *
rpc_server_store_id(rpc_server *srv)
{
	return db_store_identity(srv->d);
}

uint64_t
rpc_server_epoch(rpc_server *srv)
{
	return srv->epoch;
}

spreg_status
rpc_server_last_seq(rpc_server *srv, uint64_t *seq, err *e)
{
	db_session *s;
	db_txn t;
	spreg_status st;

	if ((st = db_session_create(srv->d, &s)) != SPREG_OK) {
		return err_set(e, st, "out of memory");
	}
	if ((st = db_read_begin(s, &t, e)) == SPREG_OK) {
		st = db_change_last_seq(&t, seq, e);
		db_read_end(s);
	}
	db_session_destroy(s);
	return st;
}

db *
rpc_server_db(rpc_server *srv)
{
	return srv->d;
}

const catalog *
rpc_server_catalog(rpc_server *srv)
{
	return srv->cat;
}

uint64_t
rpc_server_uptime(rpc_server *srv)
{
	int64_t ms = time_mono_ms() - srv->started_mono;
	return ms > 0 ? (uint64_t) ms / 1000 : 0;
}

const char *
rpc_server_started_at(rpc_server *srv)
{
	return srv->started_at;
}

const unsigned char *
rpc_server_secret(rpc_server *srv)
{
	return srv->secret;
}

void
rpc_server_set_insecure_local(rpc_server *srv, bool on)
{
	srv->insecure_local = on;
}

bool
rpc_server_insecure_local(const rpc_server *srv)
{
	return srv->insecure_local;
}

void
rpc_server_set_rules(rpc_server *srv, const assess_rules *rules)
{
	srv->rules = rules;
}

const assess_rules *
rpc_server_rules(rpc_server *srv)
{
	return srv->rules;
}

void
rpc_server_set_limits(rpc_server *srv, const rpc_limits *l)
{
	srv->limits = *l;
}

const rpc_limits *
rpc_server_limits(rpc_server *srv)
{
	return &srv->limits;
}

spreg_status
rpc_page_size(const rpc_call *call, const char *field, uint32_t requested,
    size_t *size_out, err *e)
{
	uint32_t max = call->srv->limits.page_max;

	if (requested > max) {
		return err_set(e, SPREG_INVALID_ARGUMENT, "%s: at most %u",
		    field, (unsigned) max);
	}
	if (requested == 0) {
		requested = RPC_PAGE_DEFAULT < max ? RPC_PAGE_DEFAULT : max;
	}
	*size_out = requested;
	return SPREG_OK;
}
