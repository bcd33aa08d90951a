#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "core/date.h"
#include "core/log.h"
#include "core/validate.h"
#include "db/record.h"
#include "rpc/auth.h"
#include "rpc/handlers.h"
#include "rpc/reassess.h"
#include "rpc/rpc.h"

struct rpc_server {
	db *d;
	const catalog *cat;
	rpc_publish_fn publish;
	void *publish_arg;
	uint64_t epoch;
	int64_t started_ms;
	char started_at[TIME_BUF];
	unsigned char secret[32];
	const assess_rules *rules;	/* not owned; NULL until set */
	bool insecure_local;
	rpc_limits limits;
	int64_t started_mono;
	/*
	 * Time as writes see it. Store time (for the request-id window)
	 * resumes at the newest saved reply's and runs on the monotonic
	 * clock, so no wall-clock step shortens the window; time the server
	 * is down does not count, which only lengthens it. Change times
	 * come from the wall clock but never go below the last one handed
	 * out (or the log's last, at start).
	 */
	pthread_mutex_t clock_mu;
	int64_t store_base_ms;
	int64_t last_stamp_ms;
	bool clock_behind;	/* warned of the step back in progress */
};

typedef struct exec exec;

struct rpc_worker {
	rpc_server *srv;
	db_session *session;
	arena arena;
	exec *x;		/* the call in progress */
	const char *method;	/* for the log */
	int64_t start_ms;
};

/* State of one call, shared with the write callback. */
struct exec {
	rpc_worker *w;
	rpc_call call;
	const rpc_method *m;
	const ProtobufCMethodDescriptor *md;
	const ProtobufCMessage *in;
	ProtobufCMessage *out;
	const char *bearer;	/* the request's token, checked again in the
				 * write transaction */
	unsigned char digest[DB_DIGEST_LEN];
	Spreg__V1__Reply *reply;
	bool replayed;		/* answered from the saved reply */
	rpc_event *events;	/* changes logged by the write */
	size_t nevents, capevents;
	bool events_failed;	/* out of memory: subscribers catch up */
	size_t *applied;	/* rpc_apply_due: announcements applied */
	Spreg__V1__Change **due;	/* rpc_reassess_day: to append */
	size_t ndue;
	bool day_done;		/* rpc_reassess_day: already recorded */
	int64_t received_mono;	/* when the request arrived */
	int64_t deadline_mono;	/* received + timeout_ms; 0: none */
};

const rpc_service *const rpc_services[] = {
	&rpc_registry_service,
	&rpc_assessment_service,
	&rpc_export_service,
	&rpc_admin_service,
	NULL,
};

bool
rpc_services_check(err *e)
{
	for (size_t s = 0; rpc_services[s] != NULL; s++) {
		const rpc_service *svc = rpc_services[s];
		if (svc->nmethods != svc->desc->n_methods) {
			err_set(e, SPREG_INTERNAL, "%s: %zu handlers for %u "
			    "methods", svc->desc->name, svc->nmethods,
			    svc->desc->n_methods);
			return false;
		}
		for (size_t i = 0; i < svc->nmethods; i++) {
			const rpc_method *m = &svc->methods[i];
			if (m->name == NULL || m->fn == NULL ||
			    strcmp(m->name, svc->desc->methods[i].name) != 0 ||
			    (m->flags & (RPC_READ | RPC_WRITE)) == 0) {
				err_set(e, SPREG_INTERNAL,
				    "%s: handler %zu is not for method %s",
				    svc->desc->name, i,
				    svc->desc->methods[i].name);
				return false;
			}
			if ((m->flags & RPC_WRITE) &&
			    !(m->flags & (RPC_EDITOR | RPC_ADMIN))) {
				err_set(e, SPREG_INTERNAL, "%s/%s: a write open "
				    "to readers", svc->desc->name, m->name);
				return false;
			}
			const ProtobufCFieldDescriptor *fd = m->customer_field ?
			    protobuf_c_message_descriptor_get_field_by_name(
			        svc->desc->methods[i].input,
			        m->customer_field) : NULL;
			if (m->customer_field != NULL && (fd == NULL ||
			    fd->type != PROTOBUF_C_TYPE_STRING ||
			    fd->label != PROTOBUF_C_LABEL_NONE ||
			    !(m->flags & RPC_CUSTOMER))) {
				err_set(e, SPREG_INTERNAL, "%s/%s: customer "
				    "field '%s' is not a string field of its "
				    "request", svc->desc->name, m->name,
				    m->customer_field);
				return false;
			}
		}
	}
	return true;
}

/* The time of the log's last change; 0 for an empty log. */
static spreg_status
last_change_time(db_txn *t, int64_t *out, err *e)
{
	Spreg__V1__Change **changes;
	size_t n;
	uint64_t last, next;
	arena a;
	spreg_status st;

	*out = 0;
	if ((st = db_change_last_seq(t, &last, e)) != SPREG_OK || last == 0) {
		return st;
	}
	arena_init(&a, 1 << 20);
	st = db_change_list(t, last - 1, 1, NULL, 1, &a, &changes, &n, &next,
	    e);
	if (st == SPREG_OK && n == 1 && !time_parse(changes[0]->time, out)) {
		*out = 0;	/* unreadable: nothing to hold times above */
	}
	arena_fini(&a);
	return st;
}

/* Store time now (see struct rpc_server). */
static int64_t
store_now(rpc_server *srv)
{
	return srv->store_base_ms + (time_mono_ms() - srv->started_mono);
}

/*
 * The time a write records: wall_ms, or the last time handed out when
 * the clock stepped back below it, so change times never decrease. The
 * first write of each step back logs one warning.
 */
static int64_t
stamp(rpc_server *srv, int64_t wall_ms)
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

/* DEADLINE_EXCEEDED once the request's timeout_ms has passed. */
static spreg_status
check_deadline(const exec *x, err *e)
{
	if (x->deadline_mono != 0 && time_mono_ms() > x->deadline_mono) {
		return err_set(e, SPREG_DEADLINE_EXCEEDED,
		    "timeout_ms: %lld ms passed before the request was run",
		    (long long) (x->deadline_mono - x->received_mono));
	}
	return SPREG_OK;
}

spreg_status
rpc_server_create(db *d, const catalog *cat, rpc_server **out, err *e)
{
	db_session *s;
	db_txn t;
	spreg_status st;

	if (sodium_init() < 0) {
		return err_set(e, SPREG_INTERNAL, "libsodium did not start");
	}
	if (!rpc_services_check(e)) {
		return SPREG_INTERNAL;
	}
	rpc_server *srv = calloc(1, sizeof(*srv));
	if (srv == NULL) {
		return err_oom(e, NULL);
	}
	srv->d = d;
	srv->cat = cat;
	srv->started_ms = time_now_ms();
	time_format(srv->started_ms, srv->started_at);
	randombytes_buf(&srv->epoch, sizeof(srv->epoch));
	srv->epoch |= 1;	/* never 0, which means "none" on the wire */
	srv->limits = (rpc_limits) {.page_max = RPC_PAGE_MAX_DEFAULT};
	if ((st = db_session_create(d, &s)) != SPREG_OK) {
		free(srv);
		return err_set(e, st, "out of memory");
	}
	if ((st = db_read_begin(s, &t, e)) == SPREG_OK) {
		if ((st = db_secret(&t, srv->secret, e)) == SPREG_OK &&
		    (st = db_request_newest(&t, &srv->store_base_ms, e)) ==
		        SPREG_OK) {
			st = last_change_time(&t, &srv->last_stamp_ms, e);
		}
		db_read_end(s);
	}
	db_session_destroy(s);
	srv->started_mono = time_mono_ms();
	pthread_mutex_init(&srv->clock_mu, NULL);
	if (st != SPREG_OK) {
		pthread_mutex_destroy(&srv->clock_mu);
		free(srv);
		return st;
	}
	*out = srv;
	return SPREG_OK;
}

void
rpc_server_destroy(rpc_server *srv)
{
	if (srv != NULL) {
		pthread_mutex_destroy(&srv->clock_mu);
		sodium_memzero(srv->secret, sizeof(srv->secret));
		free(srv);
	}
}

void
rpc_server_set_publish(rpc_server *srv, rpc_publish_fn fn, void *arg)
{
	srv->publish = fn;
	srv->publish_arg = arg;
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

spreg_status
rpc_worker_create(rpc_server *srv, rpc_worker **out)
{
	rpc_worker *w = calloc(1, sizeof(*w));
	spreg_status st;

	if (w == NULL) {
		return SPREG_RESOURCE_EXHAUSTED;
	}
	w->srv = srv;
	arena_init(&w->arena, RPC_ARENA_BUDGET);
	if ((w->x = calloc(1, sizeof(*w->x))) == NULL) {
		free(w);
		return SPREG_RESOURCE_EXHAUSTED;
	}
	if ((st = db_session_create(srv->d, &w->session)) != SPREG_OK) {
		free(w->x);
		free(w);
		return st;
	}
	*out = w;
	return SPREG_OK;
}

void
rpc_worker_destroy(rpc_worker *w)
{
	if (w != NULL) {
		db_session_destroy(w->session);
		arena_fini(&w->arena);
		free(w->x);
		free(w);
	}
}

/* Finds "spreg.v1.Registry/GetSubprocessor" (a leading '/' is allowed,
 * as in gRPC paths). */
static const rpc_service *
find_method(const char *full, size_t *index)
{
	if (full[0] == '/') {
		full++;
	}
	const char *slash = strchr(full, '/');
	if (slash == NULL) {
		return NULL;
	}
	size_t svc_len = (size_t) (slash - full);
	for (size_t s = 0; rpc_services[s] != NULL; s++) {
		const rpc_service *svc = rpc_services[s];
		if (strlen(svc->desc->name) != svc_len ||
		    memcmp(svc->desc->name, full, svc_len) != 0) {
			continue;
		}
		const ProtobufCMethodDescriptor *md =
		    protobuf_c_service_descriptor_get_method_by_name(svc->desc,
		        slash + 1);
		if (md == NULL) {
			return NULL;
		}
		*index = (size_t) (md - svc->desc->methods);
		return svc;
	}
	return NULL;
}


static void
collect(void *arg, const void *change)
{
	exec *x = arg;

	if (x->nevents == x->capevents) {
		size_t cap = x->capevents ? x->capevents * 2 : 8;
		rpc_event *ev = arena_alloc(&x->w->arena, cap * sizeof(*ev));
		if (ev == NULL) {
			x->events_failed = true;
			return;
		}
		if (x->nevents > 0) {
			memcpy(ev, x->events, x->nevents * sizeof(*ev));
		}
		x->events = ev;
		x->capevents = cap;
	}
	x->events[x->nevents++] = (rpc_event) {change, NULL, 0};
}

static spreg_status
new_output(exec *x, err *e)
{
	const ProtobufCMessageDescriptor *od = x->md->output;

	x->out = arena_alloc(&x->w->arena, od->sizeof_message);
	if (x->out == NULL) {
		return err_oom(e, NULL);
	}
	protobuf_c_message_init(od, x->out);
	return SPREG_OK;
}

static spreg_status
pack_output(exec *x, err *e)
{
	if (x->call.packed_reply.data != NULL) {
		x->reply->payload = x->call.packed_reply;
		return SPREG_OK;
	}
	size_t n = protobuf_c_message_get_packed_size(x->out);
	uint8_t *buf = arena_alloc(&x->w->arena, n + 1);

	if (buf == NULL) {
		return err_set(e, SPREG_RESOURCE_EXHAUSTED,
		    "reply larger than the server's budget");
	}
	protobuf_c_message_pack(x->out, buf);
	x->reply->payload.data = buf;
	x->reply->payload.len = n;
	return SPREG_OK;
}

/* Fills in each event's customers, then hands the events over. */
static void
rpc_publish_events(rpc_worker *w, rpc_event *events, size_t n)
{
	rpc_server *srv = w->srv;
	db_txn t;
	err e;

	if (db_read_begin(w->session, &t, &e) == SPREG_OK) {
		for (size_t i = 0; i < n; i++) {
			const char **ids;
			size_t nids;
			if (db_customers_concerned(&t, events[i].change,
			        &w->arena, &ids, &nids, &e) == SPREG_OK) {
				events[i].customers = ids;
				events[i].ncustomers = nids;
			}
		}
		db_read_end(w->session);
	}
	srv->publish(srv->publish_arg, events, n);
}

/*
 * The one place a write's effect on transfer verdicts is judged: the
 * changes it logged so far (a snapshot, as appending grows the list).
 */
static spreg_status
reassess_write(exec *x, db_txn *t, err *e)
{
	size_t n = x->nevents;

	if (n == 0 || x->w->srv->rules == NULL) {
		return SPREG_OK;
	}
	const Spreg__V1__Change **changes = arena_alloc(&x->w->arena,
	    n * sizeof(*changes));
	if (changes == NULL) {
		return err_oom(e, NULL);
	}
	for (size_t i = 0; i < n; i++) {
		changes[i] = x->events[i].change;
	}
	return rpc_reassess_changes(x->w->srv, t, &x->w->arena, changes, n,
	    x->call.now_ms, x->call.request_id, e);
}

static spreg_status
write_cb(db_txn *t, void *arg, err *e)
{
	exec *x = arg;
	spreg_status st;

	x->call.txn = t;
	x->replayed = false;
	x->nevents = 0;	/* a retried transaction starts over */
	t->on_append = collect;
	t->on_append_arg = x;
	/* It may have waited behind other writes: the caller gave up. */
	if ((st = check_deadline(x, e)) != SPREG_OK) {
		return st;
	}
	x->call.now_ms = stamp(x->w->srv, time_now_ms());
	/* Again, in the transaction that writes: a token revoked since the
	 * request was read writes nothing. */
	if ((st = rpc_auth_check(&x->call, t, x->bearer, e)) != SPREG_OK) {
		return st;
	}
	bool save = x->call.request_id != 0 && !(x->m->flags & RPC_NO_SAVE);
	if (save) {
		void *saved;
		size_t len;
		st = db_request_find(t, x->call.request_id, x->digest,
		    &x->w->arena, &saved, &len, e);
		if (st == SPREG_OK) {
			x->reply->payload.data = saved;
			x->reply->payload.len = len;
			x->replayed = true;
			return SPREG_OK;
		}
		if (st != SPREG_NOT_FOUND) {
			return st;
		}
	}
	if ((st = new_output(x, e)) != SPREG_OK ||
	    (st = x->m->fn(&x->call, x->in, x->out, e)) != SPREG_OK ||
	    (st = reassess_write(x, t, e)) != SPREG_OK ||
	    (st = pack_output(x, e)) != SPREG_OK) {
		return st;
	}
	if (save) {
		st = db_request_save(t, x->call.request_id, x->digest,
		    x->reply->payload.data, x->reply->payload.len,
		    store_now(x->w->srv), e);
	}
	return st;
}

static spreg_status
due_cb(db_txn *t, void *arg, err *e)
{
	exec *x = arg;
	spreg_status st;

	x->call.now_ms = stamp(x->w->srv, x->call.now_ms);
	db_actor who = {"spregd (announced change took effect)", 0,
	    x->call.now_ms, NULL};

	x->nevents = 0;
	t->on_append = collect;
	t->on_append_arg = x;
	db_actor dated = {"spregd (date reached)", 0, x->call.now_ms, NULL};
	int32_t today = date_from_ms(x->call.now_ms);
	size_t by_date;
	if ((st = db_apply_due(t, today, &who, &x->w->arena, x->applied,
	         e)) != SPREG_OK ||
	    (st = db_apply_dates(t, today, &dated, &x->w->arena, &by_date,
	         e)) != SPREG_OK) {
		return st;
	}
	*x->applied += by_date;
	return reassess_write(x, t, e);
}

spreg_status
rpc_apply_due(rpc_server *srv, int64_t now_ms, size_t *applied_out, err *e)
{
	rpc_worker *w;
	exec x;
	spreg_status st;

	if ((st = rpc_worker_create(srv, &w)) != SPREG_OK) {
		return err_set(e, st, "out of memory");
	}
	memset(&x, 0, sizeof(x));
	x.w = w;
	x.call.now_ms = now_ms;
	x.applied = applied_out;
	*applied_out = 0;
	st = db_write(w->session, due_cb, &x, e);
	if (st == SPREG_OK && x.nevents > 0 && srv->publish != NULL) {
		rpc_publish_events(w, x.events, x.nevents);
	}
	rpc_worker_destroy(w);
	return st;
}

/* Appends the day's findings and records the day, unless another call
 * recorded it first. */
static spreg_status
day_cb(db_txn *t, void *arg, err *e)
{
	exec *x = arg;
	int32_t today = date_from_ms(x->call.now_ms);
	uint64_t last;
	spreg_status st;

	x->nevents = 0;
	x->day_done = false;
	t->on_append = collect;
	t->on_append_arg = x;
	st = db_meta_get_u64(t, RPC_REASSESS_META, &last, e);
	if (st == SPREG_OK && last == (uint64_t) (int64_t) today) {
		x->day_done = true;
		return SPREG_OK;
	}
	if (st != SPREG_OK && st != SPREG_NOT_FOUND) {
		return st;
	}
	for (size_t i = 0; i < x->ndue; i++) {
		if ((st = db_change_append(t, x->due[i], &x->w->arena, e)) !=
		    SPREG_OK) {
			return st;
		}
	}
	return db_meta_put_u64(t, RPC_REASSESS_META,
	    (uint64_t) (int64_t) today, e);
}

spreg_status
rpc_reassess_day(rpc_server *srv, int64_t now_ms, size_t *changed_out,
    err *e)
{
	int32_t today = date_from_ms(now_ms);
	rpc_worker *w;
	arena keep;
	db_txn t;
	uint64_t last = 0;
	bool known = false;
	exec x;
	spreg_status st;

	*changed_out = 0;
	if ((st = rpc_worker_create(srv, &w)) != SPREG_OK) {
		return err_set(e, st, "out of memory");
	}
	arena_init(&keep, RPC_ARENA_BUDGET);
	memset(&x, 0, sizeof(x));
	x.w = w;
	x.call.now_ms = now_ms;
	/* Cheap when the day is the one recorded: one meta read. */
	if ((st = db_read_begin(w->session, &t, e)) != SPREG_OK) {
		goto out;
	}
	st = db_meta_get_u64(&t, RPC_REASSESS_META, &last, e);
	db_read_end(w->session);
	if (st == SPREG_OK) {
		known = true;
	} else if (st != SPREG_NOT_FOUND) {
		goto out;
	}
	st = SPREG_OK;
	if (known && last == (uint64_t) (int64_t) today) {
		goto out;
	}
	/* A first run only records the day: nothing to compare with. */
	if (known && srv->rules != NULL && (int64_t) last < today &&
	    (st = rpc_reassess_scan(srv, w->session, (int32_t) (int64_t) last,
	         today, stamp(srv, now_ms), &w->arena, &keep, &x.due, &x.ndue,
	         e)) !=
	        SPREG_OK) {
		goto out;
	}
	arena_reset(&w->arena);
	if ((st = db_write(w->session, day_cb, &x, e)) != SPREG_OK) {
		goto out;
	}
	if (!x.day_done) {
		*changed_out = x.ndue;
		if (x.nevents > 0 && srv->publish != NULL) {
			rpc_publish_events(w, x.events, x.nevents);
		}
	}
out:
	arena_fini(&keep);
	rpc_worker_destroy(w);
	return st;
}

/* In the read transaction prepare ran in. */
static spreg_status
run_read(exec *x, err *e)
{
	spreg_status st;

	if ((st = new_output(x, e)) == SPREG_OK &&
	    (st = x->m->fn(&x->call, x->in, x->out, e)) == SPREG_OK) {
		st = pack_output(x, e);
	}
	return st;
}

/* A customer token's requests name its customer, or are refused. */
static spreg_status
scope_customer(exec *x, err *e)
{
	const char *own = x->call.customer_id;
	const char *field = x->m->customer_field;

	if (own == NULL || field == NULL) {
		return SPREG_OK;
	}
	/* Checked at start: a string field of this request. */
	const ProtobufCFieldDescriptor *fd =
	    protobuf_c_message_descriptor_get_field_by_name(x->md->input,
	        field);
	char **p = (char **) ((char *) x->in + fd->offset);
	if (*p == NULL || (*p)[0] == '\0') {
		*p = (char *) own;
	} else if (strcmp(*p, own) != 0) {
		return err_set(e, SPREG_PERMISSION_DENIED,
		    "%s: this token acts for customer '%s' only", field, own);
	}
	return SPREG_OK;
}

/*
 * Decodes the envelope, checks the token (in t, the worker's read
 * transaction), finds the method, checks the role, decodes the payload.
 * Who is asking comes first: an unknown caller learns nothing more.
 */
static spreg_status
prepare(rpc_worker *w, const void *req, size_t len, Spreg__V1__Reply *reply,
    db_txn *t, err *e)
{
	spreg_status st;
	Spreg__V1__Request *env;
	exec *x = w->x;
	size_t index;

	env = spreg__v1__request__unpack(&w->arena.pb, len, req);
	if (env == NULL) {
		return w->arena.exhausted ?
		    err_set(e, SPREG_RESOURCE_EXHAUSTED,
		        "request: too large to decode") :
		    err_set(e, SPREG_INVALID_ARGUMENT,
		        "request: not a spreg.v1.Request envelope");
	}
	reply->request_id = env->request_id;
	w->method = env->method;
	memset(x, 0, sizeof(*x));
	x->w = w;
	x->reply = reply;
	x->call.srv = w->srv;
	x->call.txn = t;
	x->call.arena = &w->arena;
	x->call.request_id = env->request_id;
	x->call.now_ms = time_now_ms();
	/* The timeout counts from arrival on this server's own clock. */
	x->received_mono = time_mono_ms();
	x->deadline_mono = env->timeout_ms != 0 ?
	    x->received_mono + (int64_t) env->timeout_ms : 0;
	x->call.actor = env->actor[0] != '\0' ? env->actor : "anonymous";
	if (strlen(x->call.actor) > 200) {
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "actor: longer than 200 bytes");
	}
	x->bearer = env->token;
	if ((st = rpc_auth_check(&x->call, t, env->token, e)) != SPREG_OK) {
		return st;
	}
	if (env->actor[0] == '\0') {
		x->call.actor = x->call.token;
	}
	/* Recorded on every write and shown next to names: text, one line,
	 * no bidi controls. */
	if ((st = validate_text_field("actor", x->call.actor, false, e)) !=
	    SPREG_OK) {
		return st;
	}
	const rpc_service *svc = find_method(env->method, &index);
	if (svc == NULL) {
		return err_set(e, SPREG_UNIMPLEMENTED,
		    "method: '%.100s' is not a method of this server",
		    env->method);
	}
	/* deadline_unix_ms (deprecated) is ignored: honouring it compared
	 * the client's clock with ours, and refused every call of a client
	 * whose clock ran behind. */
	if ((st = check_deadline(x, e)) != SPREG_OK) {
		return st;
	}
	x->m = &svc->methods[index];
	x->md = &svc->desc->methods[index];
	if ((st = rpc_auth_allow(&x->call, x->m, e)) != SPREG_OK) {
		return st;
	}
	x->in = protobuf_c_message_unpack(x->md->input, &w->arena.pb,
	    env->payload.len, env->payload.data);
	if (x->in == NULL) {
		return w->arena.exhausted ?
		    err_set(e, SPREG_RESOURCE_EXHAUSTED,
		        "payload: too large to decode") :
		    err_set(e, SPREG_INVALID_ARGUMENT,
		        "payload: not a %s message", x->md->input->name);
	}
	if ((st = scope_customer(x, e)) != SPREG_OK) {
		return st;
	}
	if (x->m->flags & RPC_WRITE) {
		/* The digest ties a request id to one request by one
		 * caller: another token reusing the id gets no saved reply
		 * of someone else's. */
		crypto_generichash_state h;
		crypto_generichash_init(&h, NULL, 0, DB_DIGEST_LEN);
		crypto_generichash_update(&h, (const unsigned char *)
		    x->call.token, strlen(x->call.token) + 1);
		crypto_generichash_update(&h, (const unsigned char *)
		    env->method, strlen(env->method) + 1);
		crypto_generichash_update(&h, env->payload.data,
		    env->payload.len);
		crypto_generichash_final(&h, x->digest, DB_DIGEST_LEN);
	}
	return SPREG_OK;
}

/* Sets the reply's status and message, and logs the call. */
static void
finish(rpc_worker *w, spreg_status st, err *e)
{
	Spreg__V1__Reply *reply = w->x->reply;

	reply->code = (Spreg__V1__Code) st;
	if (st != SPREG_OK) {
		reply->payload.data = NULL;
		reply->payload.len = 0;
		/* The message must itself be valid UTF-8 for any client:
		 * it may quote bytes a client sent. */
		if (!validate_text(e->msg, true)) {
			for (char *p = e->msg; *p; p++) {
				if ((unsigned char) *p < 0x20 ||
				    (unsigned char) *p >= 0x80) {
					*p = '?';
				}
			}
		}
		char *msg = arena_strdup(&w->arena, e->msg);
		reply->message = msg != NULL ? msg : "";
		if (st == SPREG_INTERNAL || st == SPREG_DATA_LOSS) {
			log_error("%.100s: %s: %s", w->method,
			    spreg_status_name(st), e->msg);
		}
	}
	log_debug("%.100s id=%llu %s %lldms%s%s", w->method,
	    (unsigned long long) reply->request_id, spreg_status_name(st),
	    (long long) (time_now_ms() - w->start_ms), st ? " " : "",
	    st ? e->msg : "");
}

/* The worker, ready for a request to be answered in *reply. */
static void
reset(rpc_worker *w, Spreg__V1__Reply *reply)
{
	arena_reset(&w->arena);
	spreg__v1__reply__init(reply);
	w->x->reply = reply;
	w->method = "?";
	w->start_ms = log_enabled(LOG_DEBUG) ? time_now_ms() : 0;
}

bool
rpc_handle_begin(rpc_worker *w, const void *req, size_t len,
    Spreg__V1__Reply *reply)
{
	spreg_status st;
	db_txn t;
	err e;

	reset(w, reply);
	e.msg[0] = '\0';
	if ((st = db_read_begin(w->session, &t, &e)) == SPREG_OK) {
		bool write = false;
		if ((st = prepare(w, req, len, reply, &t, &e)) == SPREG_OK) {
			write = (w->x->m->flags & RPC_WRITE) != 0;
			if (!write) {
				st = run_read(w->x, &e);
			}
		}
		db_read_end(w->session);
		if (st == SPREG_OK && write) {
			return true;
		}
	}
	finish(w, st, &e);
	return false;
}

void
rpc_write_batch(db_session *writer, rpc_worker *const *ws, size_t n)
{
	db_batch_item items[RPC_BATCH_MAX];

	if (n > RPC_BATCH_MAX) {
		n = RPC_BATCH_MAX;	/* callers never pass more */
	}
	time_test_write_delay();
	for (size_t i = 0; i < n; i++) {
		items[i] = (db_batch_item) {write_cb, ws[i]->x, SPREG_OK, {""}};
	}
	db_write_batch(writer, items, n);
	for (size_t i = 0; i < n; i++) {
		rpc_worker *w = ws[i];
		exec *x = w->x;
		finish(w, items[i].st, &items[i].e);
		if (items[i].st == SPREG_OK && !x->replayed && x->nevents > 0 &&
		    w->srv->publish != NULL) {
			rpc_publish_events(w, x->events, x->nevents);
		}
	}
}

void
rpc_handle_refuse(rpc_worker *w, const void *req, size_t len,
    spreg_status st, const char *message, Spreg__V1__Reply *reply)
{
	err e;

	reset(w, reply);
	/* Decoded only for the request id the reply echoes. */
	Spreg__V1__Request *env = spreg__v1__request__unpack(&w->arena.pb,
	    len, req);
	if (env != NULL) {
		reply->request_id = env->request_id;
		w->method = env->method;
	}
	err_set(&e, st, "%s", message);
	finish(w, st, &e);
}

db_session *
rpc_worker_session(rpc_worker *w)
{
	return w->session;
}

void
rpc_handle(rpc_worker *w, const void *req, size_t len,
    Spreg__V1__Reply *reply)
{
	if (rpc_handle_begin(w, req, len, reply)) {
		rpc_write_batch(w->session, &w, 1);
	}
}
