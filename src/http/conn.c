/*
 * Connections and their deadlines: each connection counted against the
 * limits when libmicrohttpd reports it (net_conns, as on the RPC port),
 * the phase it is in and that phase's whole deadline, and the reaper
 * that shuts down a connection past it (see http.c for the design).
 */
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "core/date.h"
#include "http/server.h"

void
http_limits_defaults(http_limits *l)
{
	if (l->connections_max == 0) {
		l->connections_max = HTTP_CONNECTIONS_DEFAULT;
	}
	if (l->per_peer_max == 0) {
		l->per_peer_max = HTTP_PER_PEER_DEFAULT;
	}
	if (l->header_timeout_ms == 0) {
		l->header_timeout_ms = HTTP_HEADER_TIMEOUT_MS_DEFAULT;
	}
	if (l->body_timeout_ms == 0) {
		l->body_timeout_ms = HTTP_BODY_TIMEOUT_MS_DEFAULT;
	}
	if (l->send_timeout_ms == 0) {
		l->send_timeout_ms = HTTP_SEND_TIMEOUT_MS_DEFAULT;
	}
}

static void
peer_of(const struct sockaddr *sa, net_peer *peer, char *who, size_t len)
{
	memset(peer, 0, sizeof(*peer));
	snprintf(who, len, "?");
	if (sa != NULL && sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *) sa;
		peer->family = 4;
		memcpy(peer->addr, &in->sin_addr, 4);
		inet_ntop(AF_INET, &in->sin_addr, who, (socklen_t) len);
	} else if (sa != NULL && sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *) sa;
		peer->family = 6;
		memcpy(peer->addr, &in6->sin6_addr, 16);
		inet_ntop(AF_INET6, &in6->sin6_addr, who, (socklen_t) len);
	}
}

/* A warning about a peer, at most once a second per kind: a hostile
 * peer must not flood the log either. */
static void
warn_limited(log_limit *l, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void
warn_limited(log_limit *l, const char *fmt, ...)
{
	char msg[256];
	uint64_t held;
	va_list ap;

	if (!log_limit_pass(l, &held)) {
		return;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (held > 0) {
		log_warn("%s (and %" PRIu64 " more like it since)", msg, held);
	} else {
		log_warn("%s", msg);
	}
}

/* Counted against the limits when it opens; over one, shut down at once
 * (libmicrohttpd reads its end and closes it). */
void
http_conn_notified(void *cls, struct MHD_Connection *conn, void **socket_context,
    enum MHD_ConnectionNotificationCode code)
{
	http_server *s = cls;
	hconn *hc = *socket_context;

	if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
		if (hc == NULL) {
			return;
		}
		pthread_mutex_lock(&s->mu);
		if (hc->prev != NULL) {
			hc->prev->next = hc->next;
		} else {
			s->open = hc->next;
		}
		if (hc->next != NULL) {
			hc->next->prev = hc->prev;
		}
		if (hc->id != 0) {
			net_conns_remove(s->conns, hc->id);
		}
		pthread_mutex_unlock(&s->mu);
		free(hc);
		*socket_context = NULL;
		return;
	}
	const union MHD_ConnectionInfo *fd = MHD_get_connection_info(conn,
	    MHD_CONNECTION_INFO_CONNECTION_FD);
	const union MHD_ConnectionInfo *addr = MHD_get_connection_info(conn,
	    MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (fd == NULL) {
		return;
	}
	if ((hc = calloc(1, sizeof(*hc))) == NULL) {
		shutdown(fd->connect_fd, SHUT_RDWR);
		return;
	}
	net_peer peer;
	peer_of(addr != NULL ? addr->client_addr : NULL, &peer, hc->who,
	    sizeof(hc->who));
	hc->fd = fd->connect_fd;
	int64_t now = time_mono_ms();
	pthread_mutex_lock(&s->mu);
	if (++s->next_id == 0) {
		s->next_id = 1;
	}
	net_conns_verdict v = net_conns_add(s->conns, s->next_id, &peer, now);
	hc->id = v == NET_CONNS_OK ? s->next_id : 0;
	hc->shut = v != NET_CONNS_OK;
	hc->phase = PHASE_IDLE;
	hc->deadline_ms = now + s->lim.header_timeout_ms;
	hc->next = s->open;
	if (s->open != NULL) {
		s->open->prev = hc;
	}
	s->open = hc;
	pthread_mutex_unlock(&s->mu);
	*socket_context = hc;
	if (v == NET_CONNS_OK) {
		return;
	}
	shutdown(hc->fd, SHUT_RDWR);
	if (v == NET_CONNS_PEER_FULL) {
		warn_limited(&s->refused_log, "HTTP connection from %s refused: "
		    "it has %zu open (--http-max-connections-per-peer)",
		    hc->who, s->lim.per_peer_max);
	} else {
		warn_limited(&s->refused_log, "HTTP connection from %s refused: "
		    "%zu connections open (--http-max-connections)", hc->who,
		    s->lim.connections_max);
	}
}

/* hc enters phase, with a deadline timeout_ms from now (0: none). */
void
http_phase_set(http_server *s, hconn *hc, conn_phase phase, int timeout_ms)
{
	if (hc == NULL) {
		return;
	}
	pthread_mutex_lock(&s->mu);
	hc->phase = phase;
	hc->deadline_ms = timeout_ms > 0 ? time_mono_ms() + timeout_ms : 0;
	pthread_mutex_unlock(&s->mu);
}

/* A request line arrived: the exchange begins (libmicrohttpd's request
 * context); its headers are due by the same deadline. */
void *
http_uri_seen(void *cls, const char *uri, struct MHD_Connection *conn)
{
	http_server *s = cls;
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn,
	    MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	hconn *hc = ci != NULL ? ci->socket_context : NULL;
	http_exchange *ex = calloc(1, sizeof(*ex));

	if (hc != NULL) {
		pthread_mutex_lock(&s->mu);
		hc->phase = PHASE_HEADERS;
		pthread_mutex_unlock(&s->mu);
	}
	if (ex != NULL) {
		ex->srv = s;
		ex->conn = conn;
		ex->hc = hc;
		ex->uri = strdup(uri);	/* NULL: answered 429 */
	}
	return ex;	/* NULL: the connection is closed */
}

/* The exchange is over (answered, or the connection failed); the next
 * request is due within the header timeout. */
void
http_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
    enum MHD_RequestTerminationCode code)
{
	http_server *s = cls;
	http_exchange *ex = *con_cls;
	(void) conn;
	(void) code;

	if (ex == NULL) {
		return;
	}
	http_phase_set(s, ex->hc, PHASE_IDLE, s->lim.header_timeout_ms);
	if (ex->resp != NULL) {
		MHD_destroy_response(ex->resp);
	}
	free(ex->uri);
	free(ex->body);
	free(ex);
	*con_cls = NULL;
}

/* Under s->mu: hc passed its deadline and was shut down. */
static void
expired(http_server *s, const hconn *hc)
{
	static const char *const why[] = {
	    [PHASE_HEADERS] = "its request headers took longer than",
	    [PHASE_BODY] = "its request body took longer than",
	    [PHASE_SEND] = "it did not take its response within",
	};
	static const char *const flag[] = {
	    [PHASE_HEADERS] = "--http-header-timeout",
	    [PHASE_BODY] = "--http-body-timeout",
	    [PHASE_SEND] = "--http-send-timeout",
	};
	const http_limits *l = &s->lim;

	if (hc->phase == PHASE_IDLE) {
		/* Also a browser's idle keep-alive: not worth a warning. */
		log_debug("HTTP connection from %s closed: no request within "
		    "%d s (--http-header-timeout)", hc->who,
		    l->header_timeout_ms / 1000);
		return;
	}
	if (hc->phase == PHASE_HEADERS || hc->phase == PHASE_BODY ||
	    hc->phase == PHASE_SEND) {
		warn_limited(&s->timeout_log, "HTTP connection from %s closed: "
		    "%s %d s (%s)", hc->who, why[hc->phase],
		    (hc->phase == PHASE_BODY ? l->body_timeout_ms :
		     hc->phase == PHASE_SEND ? l->send_timeout_ms :
		     l->header_timeout_ms) / 1000, flag[hc->phase]);
	}
}

/* Shuts down the connections past their deadline, a few times per the
 * shortest timeout. libmicrohttpd closes a connection (and tells us)
 * before it closes its socket, so a descriptor here is never another's. */
void *
http_reaper_main(void *arg)
{
	http_server *s = arg;
	const http_limits *l = &s->lim;
	int tick_ms = l->header_timeout_ms;

	if (l->body_timeout_ms < tick_ms) {
		tick_ms = l->body_timeout_ms;
	}
	if (l->send_timeout_ms < tick_ms) {
		tick_ms = l->send_timeout_ms;
	}
	tick_ms = tick_ms / 4 > 1000 ? 1000 : tick_ms / 4;
	pthread_mutex_lock(&s->mu);
	while (!s->stopping) {
		struct timespec until = time_realtime_after_ms(tick_ms);
		pthread_cond_timedwait(&s->reaper_cv, &s->mu, &until);
		int64_t now = time_mono_ms();
		for (hconn *hc = s->open; hc != NULL; hc = hc->next) {
			if (!hc->shut && hc->deadline_ms != 0 &&
			    now >= hc->deadline_ms) {
				shutdown(hc->fd, SHUT_RDWR);
				hc->shut = true;
				expired(s, hc);
			}
		}
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

/* With --tls-ca: the client's certificate, which the TLS handshake asked
 * for, must be signed by it; checked once per connection. */
bool
http_client_verified(http_exchange *ex)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(ex->conn,
	    MHD_CONNECTION_INFO_GNUTLS_SESSION);
	gnutls_session_t ts = ci != NULL ? ci->tls_session : NULL;
	unsigned int status = 1;

	if (ex->hc != NULL && ex->hc->verified) {
		return true;
	}
	if (ts == NULL || gnutls_certificate_type_get(ts) != GNUTLS_CRT_X509 ||
	    gnutls_certificate_verify_peers2(ts, &status) != GNUTLS_E_SUCCESS ||
	    status != 0) {
		warn_limited(&ex->srv->refused_log, "HTTPS connection from %s "
		    "closed: no client certificate signed by --tls-ca",
		    ex->hc != NULL ? ex->hc->who : "?");
		return false;
	}
	if (ex->hc != NULL) {
		ex->hc->verified = true;	/* its thread's alone */
	}
	return true;
}
