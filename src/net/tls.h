/*
 * TLS for the listeners: a tls+tcp:// URL gets an nng_tls_config made
 * from the server's certificate and key, and, when a CA is given,
 * requires client certificates signed by it.
 */
#ifndef NET_TLS_H
#define NET_TLS_H

#include <nng/nng.h>
#include <nng/supplemental/tls/tls.h>
#include <stdbool.h>

#include "core/err.h"

typedef struct net_tls_options {
	const char *cert_file;	/* PEM certificate (chain); NULL: no TLS */
	const char *key_file;	/* PEM private key */
	const char *ca_file;	/* PEM CA: require client certs; or NULL */
} net_tls_options;

/* A server-side configuration from o's files (the HTTP server's
 * https:// too); caller frees *out with nng_tls_config_free. */
spreg_status net_tls_server_config(const net_tls_options *o,
    nng_tls_config **out, err *e);

/* The whole of the PEM file at path (at most 1 MiB) as a string; errors
 * name option and path. Caller frees *out. */
spreg_status net_tls_read_pem(const char *option, const char *path,
    char **out, err *e);

/* True for a URL that needs a TLS configuration (tls+tcp://...). */
bool net_tls_url(const char *url);

/*
 * Starts a listener on url for sock: a tls+tcp:// URL is configured
 * from tls (NULL or no cert: INVALID_ARGUMENT), any other URL is
 * listened on as is. *url_out (len bytes) is the URL bound, with the
 * port a tcp://...:0 or tls+tcp://...:0 got.
 */
spreg_status net_listen(nng_socket sock, const char *url,
    const net_tls_options *tls, char *url_out, size_t len, err *e);

#endif
