#include <nng/nng.h>
#include <nng/supplemental/tls/tls.h>
#include <nng/transport/tcp/tcp.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/nngerr.h"
#include "net/tls.h"

#define PEM_MAX ((long) 1 << 20)

spreg_status
net_tls_read_pem(const char *option, const char *path, char **out, err *e)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long len;

	if (f == NULL) {
		return err_set(e, SPREG_INVALID_ARGUMENT, "%s %s: %s", option,
		    path, strerror(errno));
	}
	if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 ||
	    len > PEM_MAX || fseek(f, 0, SEEK_SET) != 0) {
		fclose(f);
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "%s %s: not a readable file of at most 1 MiB", option,
		    path);
	}
	if ((buf = malloc((size_t) len + 1)) == NULL) {
		fclose(f);
		return err_oom(e, NULL);
	}
	if (fread(buf, 1, (size_t) len, f) != (size_t) len) {
		free(buf);
		fclose(f);
		return err_set(e, SPREG_INVALID_ARGUMENT, "%s %s: read error",
		    option, path);
	}
	fclose(f);
	buf[len] = '\0';
	*out = buf;
	return SPREG_OK;
}

spreg_status
net_tls_server_config(const net_tls_options *o, nng_tls_config **out,
    err *e)
{
	nng_tls_config *cfg = NULL;
	char *cert = NULL, *key = NULL;
	spreg_status st;
	int rv;

	if ((st = net_tls_read_pem("--tls-cert", o->cert_file, &cert, e)) !=
	        SPREG_OK ||
	    (st = net_tls_read_pem("--tls-key", o->key_file, &key, e)) != SPREG_OK) {
		goto out;
	}
	if ((rv = nng_tls_config_alloc(&cfg, NNG_TLS_MODE_SERVER)) != 0) {
		st = net_err_from_nng(e, rv, "TLS configuration");
		goto out;
	}
	if ((rv = nng_tls_config_own_cert(cfg, cert, key, NULL)) != 0) {
		st = err_set(e, SPREG_INVALID_ARGUMENT,
		    "--tls-cert %s / --tls-key %s: %s", o->cert_file,
		    o->key_file, nng_strerror(rv));
		goto out;
	}
	if (o->ca_file != NULL) {
		if ((rv = nng_tls_config_ca_file(cfg, o->ca_file)) != 0) {
			st = err_set(e, SPREG_INVALID_ARGUMENT,
			    "--tls-ca %s: %s", o->ca_file, nng_strerror(rv));
			goto out;
		}
		if ((rv = nng_tls_config_auth_mode(cfg,
		         NNG_TLS_AUTH_MODE_REQUIRED)) != 0) {
			st = net_err_from_nng(e, rv, "TLS client authentication");
			goto out;
		}
	} else if ((rv = nng_tls_config_auth_mode(cfg,
	                NNG_TLS_AUTH_MODE_NONE)) != 0) {
		st = net_err_from_nng(e, rv, "TLS client authentication");
		goto out;
	}
	*out = cfg;
	cfg = NULL;
out:
	if (cfg != NULL) {
		nng_tls_config_free(cfg);
	}
	free(key);
	free(cert);
	return st;
}

bool
net_tls_url(const char *url)
{
	return strncmp(url, "tls+", 4) == 0;
}

spreg_status
net_listen(nng_socket sock, const char *url, const net_tls_options *tls,
    char *url_out, size_t len, err *e)
{
	nng_listener l;
	nng_tls_config *cfg = NULL;
	spreg_status st;
	int rv, port;

	if (!net_tls_url(url)) {
		if ((rv = nng_listen(sock, url, &l, 0)) != 0) {
			return net_err_from_nng(e, rv, url);
		}
	} else {
		if (tls == NULL || tls->cert_file == NULL ||
		    tls->key_file == NULL) {
			return err_set(e, SPREG_INVALID_ARGUMENT,
			    "%s: a TLS URL needs --tls-cert and --tls-key",
			    url);
		}
		if ((st = net_tls_server_config(tls, &cfg, e)) != SPREG_OK) {
			return st;
		}
		/* nng_listen takes no configuration: create, set, start. */
		if ((rv = nng_listener_create(&l, sock, url)) != 0) {
			nng_tls_config_free(cfg);
			return net_err_from_nng(e, rv, url);
		}
		rv = nng_listener_set_ptr(l, NNG_OPT_TLS_CONFIG, cfg);
		nng_tls_config_free(cfg);	/* the listener holds it */
		if (rv != 0 || (rv = nng_listener_start(l, 0)) != 0) {
			nng_listener_close(l);
			return net_err_from_nng(e, rv, url);
		}
	}
	snprintf(url_out, len, "%s", url);
	/* tcp://host:0 picks a port: report the one it got. */
	if ((strncmp(url, "tcp://", 6) == 0 ||
	        strncmp(url, "tls+tcp://", 10) == 0) &&
	    nng_listener_get_int(l, NNG_OPT_TCP_BOUND_PORT, &port) == 0) {
		const char *colon = strrchr(url, ':');
		snprintf(url_out, len, "%.*s:%d", (int) (colon - url), url,
		    port);
	}
	return SPREG_OK;
}
