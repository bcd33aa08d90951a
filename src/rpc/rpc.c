#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/date.h"
#include "core/log.h"
#include "core/validate.h"
#include "db/record.h"
#include "rpc/auth.h"
#include "rpc/handlers.h"
#include "rpc/internal.h"
#include "rpc/rpc.h"

const rpc_service *const rpc_services[] = {
	&rpc_registry_service,
	&rpc_assessment_service,
	&rpc_export_service,
	&rpc_admin_service,
	&rpc_delivery_service,
	&rpc_follows_service,
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
			if ((m->flags & RPC_PUBLIC) && (m->flags & (RPC_WRITE |
			        RPC_EDITOR | RPC_ADMIN))) {
				err_set(e, SPREG_INTERNAL, "%s/%s: public but "
				    "not a reader's read", svc->desc->name,
				    m->name);
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

/* DEADLINE_EXCEEDED once the request's timeout_ms has passed. */
spreg_status
rpc_check_deadline(const exec *x, err *e)
{
	if (x->deadline_mono != 0 && time_mono_ms() > x->deadline_mono) {
		return err_set(e, SPREG_DEADLINE_EXCEEDED,
		    "timeout_ms: %lld ms passed before the request was run",
		    (long long) (x->deadline_mono - x->received_mono));
	}
	return SPREG_OK;
}

/* The publisher, with copies of the URLs ServerInfo reports. */
static void
keep_publisher(rpc_server *srv, const rpc_publisher *pub)
{
	srv->pub = *pub;
	srv->pub.urls = NULL;
	srv->pub.nurls = 0;
	for (size_t i = 0; i < pub->nurls && srv->npub_urls < RPC_PUB_URLS;
	     i++) {
		if (strlen(pub->urls[i]) < RPC_URL_MAX) {
			snprintf(srv->pub_urls[srv->npub_urls++], RPC_URL_MAX,
			    "%s", pub->urls[i]);
		}
	}
	srv->heartbeat_ms = pub->heartbeat_ms;
}

spreg_status
rpc_server_create(db *d, const catalog *cat, const rpc_publisher *pub,
    rpc_fetch_fn fetch, rpc_server **out, err *e)
{
	db_session *s;
	db_txn t;
	uint64_t last_seq = 0;
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
	srv->fetch = fetch;
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
		        SPREG_OK &&
		    (st = db_change_last_seq(&t, &last_seq, e)) == SPREG_OK) {
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
	if (pub != NULL) {
		keep_publisher(srv, pub);
		if (pub->open != NULL) {
			pub->open(pub->arg, srv->epoch, db_store_identity(d),
			    last_seq);
		}
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

spreg_status
rpc_worker_create_public(rpc_server *srv, rpc_worker **out)
{
	spreg_status st = rpc_worker_create(srv, out);

	if (st == SPREG_OK) {
		(*out)->public_ok = true;
	}
	return st;
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

void
rpc_worker_release(rpc_worker *w)
{
	arena_reset(&w->arena);
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


spreg_status
rpc_exec_new_output(exec *x, err *e)
{
	const ProtobufCMessageDescriptor *od = x->md->output;

	x->out = arena_alloc(&x->w->arena, od->sizeof_message);
	if (x->out == NULL) {
		return err_oom(e, NULL);
	}
	protobuf_c_message_init(od, x->out);
	return SPREG_OK;
}

spreg_status
rpc_exec_pack_output(exec *x, err *e)
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

/* In the read transaction prepare ran in. */
static spreg_status
run_read(exec *x, err *e)
{
	spreg_status st;

	if ((st = rpc_exec_new_output(x, e)) == SPREG_OK &&
	    (st = x->m->fn(&x->call, x->in, x->out, e)) == SPREG_OK) {
		st = rpc_exec_pack_output(x, e);
	}
	return st;
}

/* A customer token's requests name its customer, or are refused. */
static spreg_status
scope_customer(exec *x, err *e)
{
	const char *own = x->call.customer_id;
	const char *field = x->m->customer_field;

	if (x->call.anonymous && field != NULL) {
		const ProtobufCFieldDescriptor *fd =
		    protobuf_c_message_descriptor_get_field_by_name(
		        x->md->input, field);
		const char *named = *(char **) ((char *) x->in + fd->offset);
		if (named != NULL && named[0] != '\0') {
			return err_set(e, SPREG_UNAUTHENTICATED, "%s: a "
			    "customer's view needs its token", field);
		}
	}
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
prepare(rpc_worker *w, const void *req, size_t len,
    const Spreg__V1__Request *env, Spreg__V1__Reply *reply, db_txn *t,
    err *e)
{
	spreg_status st;
	exec *x = w->x;
	size_t index;

	if (env == NULL &&
	    (env = spreg__v1__request__unpack(&w->arena.pb, len, req)) ==
	        NULL) {
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
	if (env->token[0] == '\0' && w->public_ok &&
	    !rpc_server_insecure_local(w->srv)) {
		x->call.token = RPC_AUTH_PUBLIC_NAME;
		x->call.anonymous = true;
	} else if ((st = rpc_auth_check(&x->call, t, env->token, e)) !=
	    SPREG_OK) {
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
	if ((st = rpc_check_deadline(x, e)) != SPREG_OK) {
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
void
rpc_exec_finish(rpc_worker *w, spreg_status st, err *e)
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

/* rpc_handle_begin of the envelope's bytes, or of env itself. */
static bool
handle_begin(rpc_worker *w, const void *req, size_t len,
    const Spreg__V1__Request *env, Spreg__V1__Reply *reply)
{
	spreg_status st;
	db_txn t;
	err e;

	reset(w, reply);
	e.msg[0] = '\0';
	if ((st = db_read_begin(w->session, &t, &e)) == SPREG_OK) {
		bool write = false;
		if ((st = prepare(w, req, len, env, reply, &t, &e)) ==
		    SPREG_OK) {
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
	rpc_exec_finish(w, st, &e);
	return false;
}

bool
rpc_write_needs_fetch(const rpc_worker *w)
{
	return w->x->m != NULL && (w->x->m->flags & RPC_FETCH) != 0;
}

void
rpc_write_fetch(rpc_worker *w, const atomic_bool *stop)
{
	rpc_follow_fetch(w->x, stop);
}

bool
rpc_handle_begin(rpc_worker *w, const void *req, size_t len,
    Spreg__V1__Reply *reply)
{
	return handle_begin(w, req, len, NULL, reply);
}

bool
rpc_handle_begin_env(rpc_worker *w, const Spreg__V1__Request *env,
    Spreg__V1__Reply *reply)
{
	return handle_begin(w, NULL, 0, env, reply);
}

/* A write already applied under this request id and caller: its saved
 * reply. A client whose connection was closed resends what it had in
 * flight; one the server applied must not come back as refused. */
static bool
saved_reply(rpc_worker *w, const void *req, size_t len,
    Spreg__V1__Reply *reply)
{
	exec *x = w->x;
	db_txn t;
	err e;
	bool found = false;

	if (db_read_begin(w->session, &t, &e) != SPREG_OK) {
		return false;
	}
	if (prepare(w, req, len, NULL, reply, &t, &e) == SPREG_OK &&
	    (x->m->flags & RPC_WRITE) && !(x->m->flags & RPC_NO_SAVE) &&
	    x->call.request_id != 0) {
		void *saved;
		size_t n;
		if (db_request_find(&t, x->call.request_id, x->digest,
		        &w->arena, &saved, &n, &e) == SPREG_OK) {
			reply->payload.data = saved;
			reply->payload.len = n;
			found = true;
		}
	}
	db_read_end(w->session);
	return found;
}

void
rpc_handle_refuse(rpc_worker *w, const void *req, size_t len,
    spreg_status st, const char *message, Spreg__V1__Reply *reply)
{
	err e;

	reset(w, reply);
	if (saved_reply(w, req, len, reply)) {
		rpc_exec_finish(w, SPREG_OK, &e);
		return;
	}
	reset(w, reply);
	/* Decoded only for the request id the reply echoes. */
	Spreg__V1__Request *env = spreg__v1__request__unpack(&w->arena.pb,
	    len, req);
	if (env != NULL) {
		reply->request_id = env->request_id;
		w->method = env->method;
	}
	err_set(&e, st, "%s", message);
	rpc_exec_finish(w, st, &e);
}
