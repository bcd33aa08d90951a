/*
 * Dialing a server, with TLS when the URL asks, and dialing it again
 * when nng's own dialer has given up (dial.h says when).
 */
#include <nng/nng.h>
#include <nng/supplemental/tls/tls.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/dial.h"
#include "core/date.h"

struct client_link {
	pthread_mutex_t mu;	/* a redial at a time */
	nng_socket sock;
	char *url;
	nng_tls_config *tls;	/* held for redials; NULL without TLS */
	nng_dialer dialer;	/* under mu */
	int64_t dialed_ms;	/* under mu */
	int quiet_ms;		/* under mu */
	atomic_int pipes;	/* connections now */
	atomic_llong changed_ms;	/* a connection added or lost */
	atomic_llong added_ms;
	atomic_uint redials;
};

/* A PEM file as a string, or NULL; caller frees. */
static char *
read_pem(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long len;

	if (f == NULL) {
		return NULL;
	}
	if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 ||
	    len > (1L << 20) || fseek(f, 0, SEEK_SET) != 0 ||
	    (buf = malloc((size_t) len + 1)) == NULL) {
		fclose(f);
		return NULL;
	}
	if (fread(buf, 1, (size_t) len, f) != (size_t) len) {
		free(buf);
		fclose(f);
		return NULL;
	}
	fclose(f);
	buf[len] = '\0';
	return buf;
}

/* The client's TLS configuration for tls+tcp:// url; NNG_E* on error. */
static int
tls_config(const char *url, const spreg_tls_options *tls,
    nng_tls_config **out)
{
	nng_tls_config *cfg;
	nng_url *u = NULL;
	int rv;

	if ((rv = nng_tls_config_alloc(&cfg, NNG_TLS_MODE_CLIENT)) != 0) {
		return rv;
	}
	/* The default verifies the server: with no CA, none is trusted. */
	if (tls != NULL && tls->ca_file != NULL &&
	    (rv = nng_tls_config_ca_file(cfg, tls->ca_file)) != 0) {
		goto fail;
	}
	if (tls != NULL && tls->cert_file != NULL) {
		/* nng 1.5 reads a cert and key from one file only. */
		char *cert = read_pem(tls->cert_file);
		char *key = read_pem(tls->key_file != NULL ? tls->key_file :
		                                             tls->cert_file);
		rv = cert == NULL || key == NULL ?
		    NNG_EINVAL :
		    nng_tls_config_own_cert(cfg, cert, key, NULL);
		free(cert);
		free(key);
		if (rv != 0) {
			goto fail;
		}
	}
	if (tls != NULL && tls->server_name != NULL) {
		rv = nng_tls_config_server_name(cfg, tls->server_name);
	} else if ((rv = nng_url_parse(&u, url)) == 0) {
		rv = nng_tls_config_server_name(cfg, u->u_hostname);
		nng_url_free(u);
	}
	if (rv != 0) {
		goto fail;
	}
	*out = cfg;
	return 0;
fail:
	nng_tls_config_free(cfg);
	return rv;
}

static void
on_pipe(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	client_link *l = arg;
	int64_t now = time_mono_ms();
	(void) p;

	/* REM_POST comes for every pipe that had ADD_PRE, and only then. */
	if (ev == NNG_PIPE_EV_ADD_PRE) {
		atomic_fetch_add(&l->pipes, 1);
		atomic_store(&l->added_ms, now);
	} else {
		atomic_fetch_sub(&l->pipes, 1);
	}
	atomic_store(&l->changed_ms, now);
}

/* A new dialer for l, started with flags; NNG_E* on error. */
static int
dial_start(client_link *l, int flags)
{
	nng_dialer d;
	int rv;

	/* nng_dial takes no configuration: create, set, start. */
	if ((rv = nng_dialer_create(&d, l->sock, l->url)) != 0) {
		return rv;
	}
	if (l->tls != NULL &&
	    (rv = nng_dialer_set_ptr(d, NNG_OPT_TLS_CONFIG, l->tls)) != 0) {
		nng_dialer_close(d);
		return rv;
	}
	if ((rv = nng_dialer_start(d, flags)) != 0) {
		nng_dialer_close(d);
		return rv;
	}
	l->dialer = d;
	return 0;
}

void
client_link_free(client_link *l)
{
	if (l != NULL) {
		if (l->tls != NULL) {
			nng_tls_config_free(l->tls);
		}
		pthread_mutex_destroy(&l->mu);
		free(l->url);
		free(l);
	}
}

int
client_link_open(nng_socket sock, const char *url,
    const spreg_tls_options *tls, bool wait, spreg_status *st,
    client_link **out)
{
	client_link *l = calloc(1, sizeof(*l));
	int rv;

	*st = SPREG_RESOURCE_EXHAUSTED;
	if (l == NULL || (l->url = strdup(url)) == NULL) {
		free(l);
		return NNG_ENOMEM;
	}
	pthread_mutex_init(&l->mu, NULL);
	l->sock = sock;
	l->quiet_ms = CLIENT_LINK_QUIET_MS;
	l->dialed_ms = time_mono_ms();
	if ((rv = nng_pipe_notify(sock, NNG_PIPE_EV_ADD_PRE, on_pipe, l)) != 0 ||
	    (rv = nng_pipe_notify(sock, NNG_PIPE_EV_REM_POST, on_pipe, l)) !=
	        0) {
		goto fail;
	}
	*st = SPREG_INVALID_ARGUMENT;
	if (strncmp(url, "tls+", 4) == 0 &&
	    (rv = tls_config(url, tls, &l->tls)) != 0) {
		goto fail;	/* a bad URL or PEM file */
	}
	if ((rv = dial_start(l, wait ? NNG_FLAG_NONBLOCK : 0)) != 0) {
		*st = rv == NNG_EPEERAUTH || rv == NNG_ECRYPTO ?
		    SPREG_UNAUTHENTICATED :
		    rv == NNG_EADDRINVAL || rv == NNG_ENOTSUP ||
		        rv == NNG_EINVAL ?
		    SPREG_INVALID_ARGUMENT :
		    SPREG_UNAVAILABLE;
		goto fail;
	}
	*st = SPREG_OK;
	*out = l;
	return 0;
fail:
	/* The socket is the caller's to close; then no callback uses l. */
	nng_pipe_notify(sock, NNG_PIPE_EV_ADD_PRE, NULL, NULL);
	nng_pipe_notify(sock, NNG_PIPE_EV_REM_POST, NULL, NULL);
	client_link_free(l);
	return rv;
}

bool
client_link_connected(const client_link *l)
{
	return atomic_load(&l->pipes) > 0;
}

unsigned
client_link_redials(const client_link *l)
{
	return atomic_load(&l->redials);
}

void
client_link_check(client_link *l)
{
	if (atomic_load(&l->pipes) > 0) {
		return;
	}
	pthread_mutex_lock(&l->mu);
	int64_t now = time_mono_ms();
	if (atomic_load(&l->added_ms) > l->dialed_ms) {
		l->quiet_ms = CLIENT_LINK_QUIET_MS;	/* the last dial worked */
	}
	int64_t since = atomic_load(&l->changed_ms);
	if (since < l->dialed_ms) {
		since = l->dialed_ms;
	}
	if (atomic_load(&l->pipes) == 0 && now - since >= l->quiet_ms) {
		/* A failed start leaves no dialer: the next check tries
		 * again, as it would after one that found nothing. */
		nng_dialer_close(l->dialer);
		dial_start(l, NNG_FLAG_NONBLOCK);
		l->dialed_ms = now;
		l->quiet_ms = l->quiet_ms * 2 < CLIENT_LINK_QUIET_MAX_MS ?
		    l->quiet_ms * 2 :
		    CLIENT_LINK_QUIET_MAX_MS;
		atomic_fetch_add(&l->redials, 1);
	}
	pthread_mutex_unlock(&l->mu);
}
