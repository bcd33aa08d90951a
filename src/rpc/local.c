#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assess/rules.h"
#include "core/catalog.h"
#include "rpc/local.h"
#include "rpc/rpc.h"
#include "spreg_config.h"

#define LOCAL_URL_MAX 512

struct rpc_local {
	db *d;
	catalog *cat;
	assess_rules *rules;
	rpc_server *srv;
	char server_url[LOCAL_URL_MAX];	/* "" when spregd named none */
	pthread_mutex_t mu;
	pthread_cond_t freed;
	rpc_worker *free[RPC_LOCAL_WORKERS];
	size_t nfree;
	size_t made;
};

/* dst = src, unless too long for it. */
static void
copy(char *dst, size_t len, const char *src)
{
	size_t n = strlen(src);

	if (n < len) {
		memcpy(dst, src, n + 1);
	}
}

/* What spregd wrote into dir/spregd.info; the fields it lacks keep the
 * values they had. */
static void
read_info(const char *dir, char *ref, size_t ref_len, char *url,
    size_t url_len, uint32_t *page_max)
{
	char path[PATH_MAX], line[PATH_MAX + 32];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, RPC_LOCAL_INFO);
	if ((f = fopen(path, "r")) == NULL) {
		return;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if (strncmp(line, "reference ", 10) == 0) {
			copy(ref, ref_len, line + 10);
		} else if (strncmp(line, "url ", 4) == 0 && url[0] == '\0') {
			copy(url, url_len, line + 4);
		} else if (strncmp(line, "page_max ", 9) == 0) {
			unsigned long n = strtoul(line + 9, NULL, 10);
			if (n > 0 && n <= UINT32_MAX) {
				*page_max = (uint32_t) n;
			}
		}
	}
	fclose(f);
}

spreg_status
rpc_local_open(const char *dir, rpc_local **out, err *e)
{
	char ref[PATH_MAX] = SPREG_DATADIR;
	rpc_limits lim = {.page_max = RPC_PAGE_MAX_DEFAULT};
	spreg_status st;

	rpc_local *l = calloc(1, sizeof(*l));
	if (l == NULL) {
		return err_oom(e, NULL);
	}
	pthread_mutex_init(&l->mu, NULL);
	pthread_cond_init(&l->freed, NULL);
	read_info(dir, ref, sizeof(ref), l->server_url,
	    sizeof(l->server_url), &lim.page_max);
	if ((st = db_open(&(db_options) {.dir = dir, .reader = true}, &l->d,
	         e)) != SPREG_OK ||
	    (st = catalog_load(ref, &l->cat, e)) != SPREG_OK ||
	    (st = assess_rules_load(ref, l->cat, &l->rules, e)) != SPREG_OK ||
	    (st = rpc_server_create(l->d, l->cat, NULL, NULL, &l->srv, e)) !=
	        SPREG_OK) {
		rpc_local_close(l);
		return st;
	}
	rpc_server_set_rules(l->srv, l->rules);
	rpc_server_set_limits(l->srv, &lim);
	/* No token: an admin that can only read (see local.h). */
	rpc_server_set_insecure_local(l->srv, true);
	*out = l;
	return SPREG_OK;
}

void
rpc_local_close(rpc_local *l)
{
	if (l == NULL) {
		return;
	}
	for (size_t i = 0; i < l->nfree; i++) {
		rpc_worker_destroy(l->free[i]);
	}
	rpc_server_destroy(l->srv);
	db_close(l->d);
	assess_rules_destroy(l->rules);
	catalog_destroy(l->cat);
	pthread_cond_destroy(&l->freed);
	pthread_mutex_destroy(&l->mu);
	free(l);
}

spreg_status
rpc_local_take(rpc_local *l, rpc_worker **out)
{
	spreg_status st = SPREG_OK;

	pthread_mutex_lock(&l->mu);
	while (l->nfree == 0 && l->made == RPC_LOCAL_WORKERS) {
		pthread_cond_wait(&l->freed, &l->mu);
	}
	if (l->nfree > 0) {
		*out = l->free[--l->nfree];
	} else if ((st = rpc_worker_create(l->srv, out)) == SPREG_OK) {
		l->made++;
	}
	pthread_mutex_unlock(&l->mu);
	return st;
}

void
rpc_local_give(rpc_local *l, rpc_worker *w)
{
	/* The caller has decoded the reply: a pooled worker keeps one
	 * small block, not the last page it answered. */
	rpc_worker_release(w);
	pthread_mutex_lock(&l->mu);
	l->free[l->nfree++] = w;
	pthread_cond_signal(&l->freed);
	pthread_mutex_unlock(&l->mu);
}

void
rpc_local_handle(rpc_local *l, rpc_worker *w, const Spreg__V1__Request *env,
    Spreg__V1__Reply *reply)
{
	char msg[LOCAL_URL_MAX + 200];

	if (!rpc_handle_begin_env(w, env, reply)) {
		return;	/* a read, answered; or refused */
	}
	/* A write, decoded and checked but not run: refused from its
	 * bytes, as spregd refuses one (rare: packed only here). */
	size_t len = spreg__v1__request__get_packed_size(env);
	uint8_t *req = malloc(len + 1);
	if (req != NULL) {
		spreg__v1__request__pack(env, req);
	}
	snprintf(msg, sizeof(msg), "this method writes, and a file:// "
	    "client only reads: send writes to spregd%s%s",
	    l->server_url[0] != '\0' ? " at " : "", l->server_url);
	rpc_handle_refuse(w, req != NULL ? req : (const uint8_t *) "",
	    req != NULL ? len : 0, SPREG_FAILED_PRECONDITION, msg, reply);
	free(req);
}
