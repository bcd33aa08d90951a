/*
 * spreg_watch: the change log first, the live stream as a shortcut.
 *
 * Two positions are kept apart:
 *   delivered  the seq of the last change returned;
 *   log_pos    the log is known through here: every change up to it
 *              that matches the filter has been queued or returned.
 * Unfiltered, a live change of seq log_pos + 1 extends the known log
 * by itself. Filtered, the stream is sparse: a live change that is not
 * log_pos + 1 may follow a dropped one, so it only prompts a log read
 * (which returns it too). A heartbeat whose last_seq is beyond log_pos
 * means something was missed: the log is read again.
 *
 * A server with access control rings only the public list's changes on
 * its PUB socket (any subscriber may read every topic there): a watch
 * with a token reads the log once a heartbeat period, on a heartbeat,
 * for the changes only its token may see, until the stream shows it
 * carries changes themselves (--insecure-local).
 *
 * One SUB socket per publisher URL serves every watch of the process,
 * each watch with its own nng_ctx (own subscriptions, own queue). The
 * socket is never closed: nng 1.5.2 can hang closing a SUB socket while
 * notifications arrive (its reaper waits for a receive that never runs,
 * nng issue #1543), whereas closing a context is safe.
 */
#include <errno.h>
#include <nng/nng.h>
#include <pthread.h>
#include <nng/protocol/pubsub0/sub.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client/dial.h"
#include "spreg/watch.h"

#define WATCH_ERR_MAX 1024
#define ID_MAX 72
#define TOPIC_MAX 96
#define TOPIC_HEARTBEAT "hb/"
#define LOG_PAGE 1000		/* the server's default largest page */
#define CALL_TIMEOUT_MS 5000
#define RETRY_MS 100		/* between log reads that failed */
#define SUB_RECVBUF 1024	/* notifications queued before nng drops */
#define RECONNECT_MIN_MS 50
#define RECONNECT_MAX_MS 500
#define SEEN_MAX 1024		/* (seq, hash) of the last changes queued */
#define HASH_LEN 32
#define URL_MAX 600
#define PATH_MAX_ 4096
#define HEARTBEAT_MS_DEFAULT 1000	/* a server that does not say */
#define STALL_BEATS 3		/* heartbeats missed before polling */

/* A process-wide SUB socket for one publisher URL. */
typedef struct shared_sub {
	struct shared_sub *next;
	char *url;
	nng_socket sock;
	client_link *link;	/* redialed should nng give up (dial.h) */
	atomic_uint connects;	/* pipes added, ever */
} shared_sub;

static pthread_mutex_t shared_mu = PTHREAD_MUTEX_INITIALIZER;
static shared_sub *shared_list;	/* never freed: see above */

struct spreg_watch {
	spreg_client *client;
	shared_sub *shared;	/* NULL until subscribed */
	nng_ctx ctx;
	bool ctx_open;
	nng_aio *aio;
	char subprocessor_id[ID_MAX];
	char customer_id[ID_MAX];
	bool filtered;
	char topic[TOPIC_MAX];
	size_t topic_len;
	char rpc_url[URL_MAX];

	/* The live stream: the PUB URL given, or the one ServerInfo names
	 * (find_pub), subscribed once known. The TLS options are copied
	 * for that later dial. */
	char pub_url[URL_MAX];
	bool find_pub;
	bool need_info;		/* ServerInfo not asked yet */
	spreg_tls_options tls;
	bool has_tls;
	char tls_strs[4][PATH_MAX_];
	/* Heartbeats of the store followed prove the stream alive; after
	 * STALL_BEATS periods without one the log is polled each period. */
	uint32_t heartbeat_ms;
	int64_t last_beat_ms;
	int64_t next_poll_ms;
	/* With a token, the private changes the stream does not ring are
	 * read on a heartbeat at most once a period; not once the stream
	 * has carried a change itself. */
	bool poll_beats;
	int64_t last_beat_poll_ms;
	bool polling;
	uint64_t stalls;
	uint64_t foreign;	/* notifications of another store dropped */

	uint64_t since;		/* at open */
	uint64_t delivered;
	uint64_t log_pos;
	uint32_t log_page;	/* LOG_PAGE, or a smaller --max-page */
	uint64_t epoch;		/* 0: none seen yet */
	bool catch_up;		/* read the log before trusting the stream */
	bool verify;		/* the next log read checks the store first */
	bool check_id;		/* ... and its identity (new epoch, reconnect) */
	unsigned connects;	/* shared->connects when last looked at */

	/* The store followed: its identity, and the seqs and hashes of the
	 * last changes queued, ascending (a ring). */
	char store_id[64];
	struct seen {
		uint64_t seq;
		uint8_t hash[HASH_LEN];
	} seen[SEEN_MAX];
	size_t seen_start, seen_len;
	bool restored;		/* to report before the next change */
	char restored_msg[WATCH_ERR_MAX];

	Spreg__V1__Change **queue;	/* ascending seqs, from qhead */
	size_t qhead;
	size_t qlen;
	size_t qcap;

	spreg_watch_stats stats;
	char error[WATCH_ERR_MAX];
};

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
sleep_ms(int64_t ms)
{
	struct timespec ts = {ms / 1000, (long) (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
	}
}

static spreg_status
fail(spreg_watch *w, spreg_status st, const char *fmt, const char *what)
{
	snprintf(w->error, sizeof(w->error), fmt, what);
	return st;
}

/* ---- the queue of changes to return ------------------------------------ */

/* Takes c. */
static bool
queue_push(spreg_watch *w, Spreg__V1__Change *c)
{
	if (w->qhead + w->qlen == w->qcap) {
		if (w->qhead > 0) {
			memmove(w->queue, w->queue + w->qhead,
			    w->qlen * sizeof(*w->queue));
			w->qhead = 0;
		} else {
			size_t cap = w->qcap ? w->qcap * 2 : 1024;
			Spreg__V1__Change **grown = realloc(w->queue,
			    cap * sizeof(*grown));
			if (grown == NULL) {
				spreg_message_free(&c->base);
				return false;
			}
			w->queue = grown;
			w->qcap = cap;
		}
	}
	w->queue[w->qhead + w->qlen++] = c;
	struct seen *sn = &w->seen[(w->seen_start + w->seen_len) % SEEN_MAX];
	if (w->seen_len < SEEN_MAX) {
		w->seen_len++;
	} else {
		w->seen_start = (w->seen_start + 1) % SEEN_MAX;
	}
	sn->seq = c->seq;
	memset(sn->hash, 0, HASH_LEN);
	if (c->hash.len == HASH_LEN) {
		memcpy(sn->hash, c->hash.data, HASH_LEN);
	}
	return true;
}

static struct seen *
seen_at(spreg_watch *w, size_t i)
{
	return &w->seen[(w->seen_start + i) % SEEN_MAX];
}

static Spreg__V1__Change *
queue_pop(spreg_watch *w)
{
	Spreg__V1__Change *c = w->queue[w->qhead++];

	if (--w->qlen == 0) {
		w->qhead = 0;
	}
	return c;
}

/* ---- the log ------------------------------------------------------------- */

static void
start_catch_up(spreg_watch *w)
{
	if (!w->catch_up) {
		w->catch_up = true;
		w->stats.gaps++;
	}
	w->verify = true;
}

/* ---- a store restored or replaced ---------------------------------------- */

/*
 * Is c, the first change the log returns from sn->seq on, sn itself?
 * What concerns a customer follows its services, which change: in a
 * customer's watch a change may drop out of the filter, so only another
 * change at the same seq counts against the store there.
 */
static bool
same_change(const spreg_watch *w, const Spreg__V1__Change *c,
    const struct seen *sn)
{
	if (c == NULL || c->seq != sn->seq) {
		return w->customer_id[0] != '\0' && c != NULL &&
		    c->seq > sn->seq;
	}
	return c->hash.len == HASH_LEN &&
	    memcmp(c->hash.data, sn->hash, HASH_LEN) == 0;
}

/* Does the server's log still hold sn (same seq, same hash)? *same is
 * set on OK; other statuses: ask again later. */
static spreg_status
probe(spreg_watch *w, const struct seen *sn, bool *same)
{
	Spreg__V1__ListChangesRequest req =
	    SPREG__V1__LIST_CHANGES_REQUEST__INIT;
	ProtobufCMessage *msg = NULL;

	req.since_seq = sn->seq - 1;
	req.limit = 1;
	req.subprocessor_id = w->subprocessor_id;
	req.customer_id = w->customer_id;
	spreg_status st = spreg_call(w->client, "ListChanges", &req.base,
	    &spreg__v1__list_changes_response__descriptor, &msg);
	w->stats.log_reads++;
	if (st == SPREG_OUT_OF_RANGE) {
		*same = false;	/* the log ends before it */
		return SPREG_OK;
	}
	if (st != SPREG_OK) {
		return fail(w, st, "ListChanges: %s",
		    spreg_client_error(w->client));
	}
	Spreg__V1__ListChangesResponse *resp = (void *) msg;
	*same = same_change(w, resp->n_changes > 0 ? resp->changes[0] : NULL,
	    sn);
	spreg_message_free(msg);
	return SPREG_OK;
}

/*
 * The store is not the one followed: finds the last change queued that
 * the server still has (the hash chain makes "still has" hold for every
 * change before it too, so a binary search does), forgets what came
 * after, and goes on from there; the caller is told once (ABORTED).
 */
static spreg_status
diverged(spreg_watch *w, const char *why)
{
	size_t lo = 0, hi = w->seen_len;	/* first entry not held */
	spreg_status st;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		bool same;
		if ((st = probe(w, seen_at(w, mid), &same)) != SPREG_OK) {
			return st;
		}
		if (same) {
			lo = mid + 1;
		} else {
			hi = mid;
		}
	}
	uint64_t from = lo > 0 ? seen_at(w, lo - 1)->seq :
	    w->seen_len > 0 ? seen_at(w, 0)->seq - 1 : w->since;
	if (from > w->log_pos) {
		from = w->log_pos;
	}
	w->seen_len = lo;
	while (w->qlen > 0 && w->queue[w->qhead + w->qlen - 1]->seq > from) {
		spreg_message_free(&w->queue[w->qhead + w->qlen - 1]->base);
		w->qlen--;
	}
	if (w->qlen == 0) {
		w->qhead = 0;
	}
	uint64_t was = w->log_pos;
	w->log_pos = from;
	if (w->delivered > from) {
		w->delivered = from;
	}
	w->stats.restores++;
	w->restored = true;
	snprintf(w->restored_msg, sizeof(w->restored_msg), "the server's "
	    "store was restored from an older copy or replaced (%s): "
	    "following it from seq %llu on, where it still agrees with what "
	    "was read (up to seq %llu)%s; changes after that are delivered "
	    "again, their seqs reused", why, (unsigned long long) from,
	    (unsigned long long) was, lo == 0 && w->seen_len == 0 &&
	    from > 0 ? ", not checked before it" : "");
	w->catch_up = true;
	w->verify = false;
	return SPREG_OK;
}

/* ServerInfo; the caller frees *out with spreg_message_free. */
static spreg_status
server_info(spreg_watch *w, Spreg__V1__ServerInfoResponse **out)
{
	Spreg__V1__ServerInfoRequest req = SPREG__V1__SERVER_INFO_REQUEST__INIT;
	ProtobufCMessage *msg = NULL;
	spreg_status st = spreg_call(w->client, "ServerInfo", &req.base,
	    &spreg__v1__server_info_response__descriptor, &msg);

	if (st != SPREG_OK) {
		return fail(w, st, "ServerInfo: %s",
		    spreg_client_error(w->client));
	}
	*out = (Spreg__V1__ServerInfoResponse *) msg;
	return SPREG_OK;
}

/* On a new epoch or a reconnect: has the store's identity changed? */
static spreg_status
check_identity(spreg_watch *w, bool *changed, char *why, size_t len)
{
	Spreg__V1__ServerInfoResponse *msg;
	spreg_status st = server_info(w, &msg);

	*changed = false;
	if (st != SPREG_OK) {
		return st;
	}
	const char *id = msg->store_id;
	if (w->store_id[0] != '\0' && id[0] != '\0' &&
	    strcmp(w->store_id, id) != 0) {
		*changed = true;
		snprintf(why, len, "store id %s, now %s", w->store_id, id);
	}
	snprintf(w->store_id, sizeof(w->store_id), "%s", id);
	spreg_message_free(&msg->base);
	return SPREG_OK;
}

/* A server run with a smaller --max-page refuses our page: takes its
 * limit from ServerInfo. True when the page got smaller. */
static bool
shrink_page(spreg_watch *w)
{
	Spreg__V1__ServerInfoRequest req = SPREG__V1__SERVER_INFO_REQUEST__INIT;
	ProtobufCMessage *msg = NULL;
	bool smaller = false;

	if (spreg_call(w->client, "ServerInfo", &req.base,
	        &spreg__v1__server_info_response__descriptor, &msg) ==
	    SPREG_OK) {
		uint32_t max =
		    ((Spreg__V1__ServerInfoResponse *) msg)->max_page_size;
		if (max > 0 && max < w->log_page) {
			w->log_page = max;
			smaller = true;
		}
		spreg_message_free(msg);
	}
	return smaller;
}

/* Reads one page of the log from log_pos into the queue. */
static spreg_status
read_log(spreg_watch *w)
{
	Spreg__V1__ListChangesRequest req =
	    SPREG__V1__LIST_CHANGES_REQUEST__INIT;
	ProtobufCMessage *msg = NULL;
	char why[256];
	spreg_status st;

	if (w->check_id) {
		bool changed;
		if ((st = check_identity(w, &changed, why, sizeof(why))) !=
		    SPREG_OK) {
			return st;
		}
		w->check_id = false;
		if (changed) {
			return diverged(w, why);
		}
	}
	/* The first read of a catch-up starts at the last change queued,
	 * which must come back unchanged: else the store was restored. */
	struct seen *anchor = w->verify && w->seen_len > 0 ?
	    seen_at(w, w->seen_len - 1) : NULL;
	req.since_seq = anchor != NULL ? anchor->seq - 1 : w->log_pos;
	req.subprocessor_id = w->subprocessor_id;
	req.customer_id = w->customer_id;
	for (bool retried = false;; retried = true) {
		req.limit = w->log_page;
		w->stats.log_reads++;
		st = spreg_call(w->client, "ListChanges", &req.base,
		    &spreg__v1__list_changes_response__descriptor, &msg);
		if (st == SPREG_OK) {
			break;
		}
		fail(w, st, "ListChanges: %s", spreg_client_error(w->client));
		if (st == SPREG_OUT_OF_RANGE &&
		    (anchor != NULL || w->log_pos > w->since)) {
			snprintf(why, sizeof(why), "its log ends before seq "
			    "%llu", (unsigned long long) req.since_seq + 1);
			return diverged(w, why);
		}
		if (st != SPREG_INVALID_ARGUMENT || retried || !shrink_page(w)) {
			return st;
		}
	}
	Spreg__V1__ListChangesResponse *resp = (void *) msg;
	const char *bad = NULL;
	if (resp->last_seq < w->log_pos) {
		bad = "its log ends before the last seq read";
	} else if (anchor != NULL && !same_change(w, resp->n_changes > 0 ?
	               resp->changes[0] : NULL, anchor) &&
	    (resp->n_changes > 0 || w->customer_id[0] == '\0')) {
		bad = "the change at the last seq read differs";
	} else if (anchor != NULL && w->customer_id[0] == '\0' &&
	    resp->n_changes > 1 && resp->changes[1]->seq <= w->log_pos) {
		bad = "a change appeared where there was none";
	}
	if (bad != NULL) {
		snprintf(why, sizeof(why), "%s, seq %llu", bad,
		    (unsigned long long) (anchor ? anchor->seq : w->log_pos));
		spreg_message_free(msg);
		return diverged(w, why);
	}
	w->verify = false;
	uint64_t next = resp->next_since_seq;
	uint64_t queued_to = w->log_pos;
	bool ok = true;
	for (size_t i = 0; i < resp->n_changes; i++) {
		Spreg__V1__Change *c = resp->changes[i];
		if (!ok || c->seq <= queued_to) {
			spreg_message_free(&c->base);	/* never expected */
			continue;
		}
		/* Detached from the response: freed on its own. */
		if (!(ok = queue_push(w, c))) {
			continue;
		}
		queued_to = c->seq;
		w->stats.from_log++;
	}
	resp->n_changes = 0;	/* the changes are ours now */
	uint64_t last_seq = resp->last_seq;
	spreg_message_free(msg);
	if (!ok) {
		/* Out of memory part way: the rest is read again. */
		w->log_pos = queued_to;
		return fail(w, SPREG_RESOURCE_EXHAUSTED, "%s",
		    "out of memory");
	}
	if (next < queued_to) {
		next = queued_to;	/* a server without next_since_seq */
	}
	if (next > w->log_pos) {
		w->log_pos = next;
	} else if (w->log_pos < last_seq && req.since_seq == w->log_pos) {
		/* No progress although the log goes on: a server bug. Stop
		 * reading; the next heartbeat tries again. */
		w->catch_up = false;
		return SPREG_OK;
	}
	if (w->log_pos >= last_seq) {
		w->catch_up = false;
	}
	return SPREG_OK;
}

/* ---- the live stream ----------------------------------------------------- */

static void
on_pipe_added(nng_pipe pipe, nng_pipe_ev ev, void *arg)
{
	shared_sub *sh = arg;

	(void) pipe;
	(void) ev;
	atomic_fetch_add(&sh->connects, 1);
}

/* The process's SUB socket for url, opened and dialed on first use
 * (with tls for a tls+tcp:// URL: the first watch's options hold). */
static spreg_status
shared_get(const char *url, const spreg_tls_options *tls, shared_sub **out)
{
	spreg_status st = SPREG_OK;
	int rv;

	pthread_mutex_lock(&shared_mu);
	shared_sub *sh = shared_list;
	while (sh != NULL && strcmp(sh->url, url) != 0) {
		sh = sh->next;
	}
	if (sh != NULL) {
		goto out;
	}
	if ((sh = calloc(1, sizeof(*sh))) == NULL ||
	    (sh->url = strdup(url)) == NULL) {
		st = SPREG_RESOURCE_EXHAUSTED;
		goto fail;
	}
	atomic_init(&sh->connects, 0);
	if ((rv = nng_sub0_open(&sh->sock)) != 0) {
		st = SPREG_RESOURCE_EXHAUSTED;
		goto fail;
	}
	nng_socket_set_ms(sh->sock, NNG_OPT_RECONNMINT, RECONNECT_MIN_MS);
	nng_socket_set_ms(sh->sock, NNG_OPT_RECONNMAXT, RECONNECT_MAX_MS);
	if ((rv = nng_pipe_notify(sh->sock, NNG_PIPE_EV_ADD_POST,
	         on_pipe_added, sh)) != 0 ||
	    client_link_open(sh->sock, url, tls, true, &st, &sh->link) != 0) {
		/* Nothing was received yet: closing is safe here. */
		nng_close(sh->sock);
		if (rv != 0) {
			st = SPREG_RESOURCE_EXHAUSTED;
		}
		goto fail;
	}
	sh->next = shared_list;
	shared_list = sh;
out:
	pthread_mutex_unlock(&shared_mu);
	*out = sh;
	return SPREG_OK;
fail:
	pthread_mutex_unlock(&shared_mu);
	if (sh != NULL) {
		free(sh->url);
		free(sh);
	}
	return st;
}

/* Listens on w->pub_url: the watch's own context on the shared socket,
 * subscribed to its topic and the heartbeats. */
static spreg_status
subscribe(spreg_watch *w)
{
	shared_sub *sh = NULL;
	spreg_status st = shared_get(w->pub_url, w->has_tls ? &w->tls : NULL,
	    &sh);

	if (st != SPREG_OK) {
		return st;
	}
	if (nng_ctx_open(&w->ctx, sh->sock) != 0) {
		return SPREG_RESOURCE_EXHAUSTED;
	}
	nng_ctx_set_int(w->ctx, NNG_OPT_RECVBUF, SUB_RECVBUF);
	if (nng_ctx_set(w->ctx, NNG_OPT_SUB_SUBSCRIBE, w->topic,
	        w->topic_len) != 0 ||
	    nng_ctx_set(w->ctx, NNG_OPT_SUB_SUBSCRIBE, TOPIC_HEARTBEAT,
	        sizeof(TOPIC_HEARTBEAT) - 1) != 0) {
		nng_ctx_close(w->ctx);
		return SPREG_RESOURCE_EXHAUSTED;
	}
	w->ctx_open = true;
	w->shared = sh;
	w->connects = atomic_load(&sh->connects);
	return SPREG_OK;
}

/* "scheme://host:port" split at the host; false for other shapes. */
static bool
url_host(const char *url, const char **host, size_t *host_len)
{
	const char *h = strstr(url, "://");

	if (h == NULL) {
		return false;
	}
	h += 3;
	const char *end = h[0] == '[' ? strchr(h, ']') : strrchr(h, ':');
	if (end == NULL) {
		return false;
	}
	if (h[0] == '[') {
		end++;
	}
	if (*end != ':') {
		return false;
	}
	*host = h;
	*host_len = (size_t) (end - h);
	return true;
}

/*
 * The PUB URL for a watch whose RPC goes to rpc_url: of the server's,
 * the first on the same transport (else the first), its wildcard host
 * (0.0.0.0, [::], *) replaced by the RPC URL's host.
 */
static void
pick_pub(spreg_watch *w, const char *rpc_url, char *const *urls, size_t n)
{
	const char *pick = urls[0];
	const char *rpc_end = strstr(rpc_url, "://");
	size_t scheme_len = rpc_end ? (size_t) (rpc_end - rpc_url) : 0;
	const char *host, *rpc_host;
	size_t host_len, rpc_host_len;

	for (size_t i = 0; i < n && scheme_len > 0; i++) {
		if (strncmp(urls[i], rpc_url, scheme_len + 3) == 0) {
			pick = urls[i];
			break;
		}
	}
	snprintf(w->pub_url, sizeof(w->pub_url), "%s", pick);
	if (!url_host(pick, &host, &host_len) ||
	    !url_host(rpc_url, &rpc_host, &rpc_host_len)) {
		return;
	}
	static const char *const wildcards[] = {"0.0.0.0", "[::]", "*", ""};
	for (size_t i = 0; i < sizeof(wildcards) / sizeof(*wildcards); i++) {
		if (host_len == strlen(wildcards[i]) &&
		    strncmp(host, wildcards[i], host_len) == 0) {
			snprintf(w->pub_url, sizeof(w->pub_url), "%.*s%.*s%s",
			    (int) (host - pick), pick, (int) rpc_host_len,
			    rpc_host, host + host_len);
			return;
		}
	}
}

/* Once, before the first log read: the store's identity, the heartbeat
 * period and (without a PUB URL given) where the stream is; then
 * subscribes. A stream that cannot be had is left to polling. */
static spreg_status
learn_server(spreg_watch *w, const char *rpc_url)
{
	Spreg__V1__ServerInfoResponse *info;
	spreg_status st = server_info(w, &info);

	if (st != SPREG_OK) {
		return st;
	}
	w->heartbeat_ms = info->heartbeat_ms > 0 ? info->heartbeat_ms :
	                                           HEARTBEAT_MS_DEFAULT;
	if (w->store_id[0] == '\0') {
		snprintf(w->store_id, sizeof(w->store_id), "%s",
		    info->store_id);
	}
	if (w->find_pub && info->n_publish_urls > 0) {
		pick_pub(w, rpc_url, info->publish_urls,
		    info->n_publish_urls);
	}
	spreg_message_free(&info->base);
	w->need_info = false;
	w->last_beat_ms = mono_ms();	/* the stream gets its periods */
	if (w->shared == NULL && w->pub_url[0] != '\0' &&
	    subscribe(w) != SPREG_OK) {
		w->pub_url[0] = '\0';	/* polling it is */
	}
	return SPREG_OK;
}

/* No notification of the store for STALL_BEATS periods (nothing
 * queued either): the log is read each period until one comes. */
static void
check_stall(spreg_watch *w, int64_t now)
{
	if (!w->polling &&
	    now - w->last_beat_ms >= (int64_t) STALL_BEATS * w->heartbeat_ms) {
		w->polling = true;
		w->stalls++;
		w->next_poll_ms = now;
	}
	if (w->polling && w->shared != NULL) {
		client_link_check(w->shared->link);	/* silent for good? */
	}
	if (w->polling && now >= w->next_poll_ms) {
		w->next_poll_ms = now + w->heartbeat_ms;
		w->catch_up = true;
		w->check_id = true;	/* a replaced store stays silent too */
	}
}

/* Takes m. */
static void
handle_notification(spreg_watch *w, nng_msg *m)
{
	const uint8_t *body = nng_msg_body(m);
	size_t len = nng_msg_len(m);
	size_t tlen;

	if (len >= sizeof(TOPIC_HEARTBEAT) - 1 &&
	    memcmp(body, TOPIC_HEARTBEAT, sizeof(TOPIC_HEARTBEAT) - 1) == 0) {
		tlen = sizeof(TOPIC_HEARTBEAT) - 1;
	} else if (len >= w->topic_len &&
	    memcmp(body, w->topic, w->topic_len) == 0) {
		tlen = w->topic_len;
	} else {
		nng_msg_free(m);	/* not ours */
		return;
	}
	Spreg__V1__Notification *n = spreg__v1__notification__unpack(NULL,
	    len - tlen, body + tlen);
	nng_msg_free(m);
	if (n == NULL) {
		return;	/* not a Notification: ignored */
	}
	if (n->store_id[0] != '\0' && w->store_id[0] != '\0' &&
	    strcmp(n->store_id, w->store_id) != 0) {
		/* Another server's (a --pub pointed elsewhere), or ours
		 * after a restore: then check_identity adopts the new id. */
		w->foreign++;
		spreg__v1__notification__free_unpacked(n, NULL);
		return;
	}
	w->last_beat_ms = mono_ms();
	if (w->polling) {
		w->polling = false;	/* the stream is back */
		start_catch_up(w);
	}
	if (n->epoch != w->epoch) {
		/* The first one seen, or the server restarted: what was
		 * published before we listened is only in the log. */
		w->epoch = n->epoch;
		w->check_id = true;
		start_catch_up(w);
	}
	Spreg__V1__Change *c = n->change;
	int64_t now = w->last_beat_ms;
	if (c != NULL) {
		w->poll_beats = false;	/* the stream carries everything */
	}
	if (c == NULL) {
		if (n->last_seq > w->log_pos) {
			start_catch_up(w);	/* a heartbeat ahead of us */
		} else if (w->poll_beats &&
		    now - w->last_beat_poll_ms >= (int64_t) w->heartbeat_ms) {
			w->last_beat_poll_ms = now;
			w->catch_up = true;	/* what only the token sees */
		}
	} else if (c->seq <= w->log_pos) {
		w->stats.duplicates++;
	} else if (!w->catch_up && c->seq == w->log_pos + 1) {
		n->change = NULL;	/* detached: freed on its own */
		if (queue_push(w, c)) {
			w->log_pos = c->seq;
			w->stats.live++;
		}
	} else {
		start_catch_up(w);	/* a gap: the log has it all */
	}
	spreg__v1__notification__free_unpacked(n, NULL);
}

/* ---- the API ------------------------------------------------------------- */

static bool
copy_id(char *dst, const char *src)
{
	if (src == NULL) {
		dst[0] = '\0';
		return true;
	}
	size_t len = strlen(src);
	if (len >= ID_MAX || strchr(src, '/') != NULL) {
		return false;
	}
	memcpy(dst, src, len + 1);
	return true;
}

spreg_status
spreg_watch_open(const char *rpc_url, const char *pub_url,
    const spreg_watch_filter *f, uint64_t since_seq, spreg_watch **out)
{
	return spreg_watch_open_with(rpc_url, pub_url, f, since_seq, NULL,
	    out);
}

spreg_status
spreg_watch_open_with(const char *rpc_url, const char *pub_url,
    const spreg_watch_filter *f, uint64_t since_seq,
    const spreg_watch_options *o, spreg_watch **out)
{
	const spreg_tls_options *tls = o != NULL ? o->tls : NULL;

	spreg_status st;
	int rv;

	spreg_watch *w = calloc(1, sizeof(*w));
	if (w == NULL) {
		return SPREG_RESOURCE_EXHAUSTED;
	}
	if (f != NULL && (!copy_id(w->subprocessor_id, f->subprocessor_id) ||
	                     !copy_id(w->customer_id, f->customer_id))) {
		free(w);
		return SPREG_INVALID_ARGUMENT;
	}
	if (w->subprocessor_id[0] != '\0' && w->customer_id[0] != '\0') {
		free(w);
		return SPREG_INVALID_ARGUMENT;
	}
	if (w->subprocessor_id[0] != '\0') {
		snprintf(w->topic, sizeof(w->topic), "sp/%s/",
		    w->subprocessor_id);
	} else if (w->customer_id[0] != '\0') {
		snprintf(w->topic, sizeof(w->topic), "customer/%s/",
		    w->customer_id);
	} else {
		snprintf(w->topic, sizeof(w->topic), "all/");
	}
	w->topic_len = strlen(w->topic);
	w->filtered = strcmp(w->topic, "all/") != 0;
	w->since = w->delivered = w->log_pos = since_seq;
	w->log_page = LOG_PAGE;
	w->catch_up = true;
	w->need_info = true;
	w->heartbeat_ms = HEARTBEAT_MS_DEFAULT;
	w->last_beat_ms = mono_ms();
	w->find_pub = pub_url == NULL || pub_url[0] == '\0';
	if (!w->find_pub) {
		if (strlen(pub_url) >= sizeof(w->pub_url)) {
			free(w);
			return SPREG_INVALID_ARGUMENT;
		}
		snprintf(w->pub_url, sizeof(w->pub_url), "%s", pub_url);
	}
	if (strlen(rpc_url) >= sizeof(w->rpc_url)) {
		free(w);
		return SPREG_INVALID_ARGUMENT;
	}
	snprintf(w->rpc_url, sizeof(w->rpc_url), "%s", rpc_url);
	if (tls != NULL) {
		const char *const src[4] = {tls->ca_file, tls->cert_file,
		    tls->key_file, tls->server_name};
		const char **dst[4] = {&w->tls.ca_file, &w->tls.cert_file,
		    &w->tls.key_file, &w->tls.server_name};
		for (size_t i = 0; i < 4; i++) {
			if (src[i] != NULL &&
			    strlen(src[i]) >= sizeof(w->tls_strs[i])) {
				free(w);
				return SPREG_INVALID_ARGUMENT;
			}
			if (src[i] != NULL) {
				memcpy(w->tls_strs[i], src[i],
				    strlen(src[i]) + 1);
				*dst[i] = w->tls_strs[i];
			}
		}
		w->has_tls = true;
	}

	if ((st = spreg_client_open_tls(rpc_url, tls, true, &w->client)) !=
	    SPREG_OK) {
		free(w);
		return st;
	}
	spreg_client_set_timeout(w->client, CALL_TIMEOUT_MS);
	if (o != NULL) {
		spreg_client_set_token(w->client, o->token);
		w->poll_beats = o->token != NULL && o->token[0] != '\0';
	}
	/* Subscribe before the first log read, so that nothing committed
	 * after that read can pass unseen (a loss shows as a gap); a URL
	 * to be found through ServerInfo is subscribed before it too. */
	if (!w->find_pub && (st = subscribe(w)) != SPREG_OK) {
		goto fail;
	}
	if ((rv = nng_aio_alloc(&w->aio, NULL, NULL)) != 0) {
		st = SPREG_RESOURCE_EXHAUSTED;
		goto fail;
	}
	*out = w;
	return SPREG_OK;

fail:
	spreg_watch_close(w);
	return st;
}

spreg_status
spreg_watch_next(spreg_watch *w, int timeout_ms, Spreg__V1__Change **out)
{
	int64_t deadline = timeout_ms < 0 ? INT64_MAX : mono_ms() + timeout_ms;
	spreg_status st;

	w->error[0] = '\0';
	for (;;) {
		if (w->restored) {
			w->restored = false;
			snprintf(w->error, sizeof(w->error), "%s",
			    w->restored_msg);
			return SPREG_ABORTED;
		}
		if (w->qlen > 0) {
			Spreg__V1__Change *c = queue_pop(w);
			w->delivered = c->seq;
			*out = c;
			return SPREG_OK;
		}
		if (w->shared != NULL) {
			unsigned connects = atomic_load(&w->shared->connects);
			if (connects != w->connects) {
				w->connects = connects;
				w->check_id = true;
				start_catch_up(w);	/* missed meanwhile */
			}
		}
		int64_t now = mono_ms();
		if (w->need_info || w->catch_up) {
			st = w->need_info ? learn_server(w, w->rpc_url) :
			                    read_log(w);
			if (st == SPREG_OK) {
				continue;
			}
			if (st != SPREG_UNAVAILABLE &&
			    st != SPREG_DEADLINE_EXCEEDED &&
			    st != SPREG_RESOURCE_EXHAUSTED) {
				return st;	/* the server's answer */
			}
			now = mono_ms();
			if (now >= deadline) {
				return st == SPREG_DEADLINE_EXCEEDED ?
				    SPREG_UNAVAILABLE : st;
			}
			sleep_ms(deadline - now < RETRY_MS ? deadline - now :
			                                     RETRY_MS);
			continue;
		}
		if (now >= deadline && timeout_ms != 0) {
			return fail(w, SPREG_DEADLINE_EXCEEDED, "%s",
			    "no change within the timeout");
		}
		/* Wait for a notification, or until the stream counts as
		 * silent, or the next poll. */
		int64_t wake = w->polling ? w->next_poll_ms :
		    w->last_beat_ms + (int64_t) STALL_BEATS * w->heartbeat_ms;
		int64_t until = wake < deadline ? wake : deadline;
		int64_t wait = until > now ? until - now : 0;
		int rv = NNG_ETIMEDOUT;
		if (w->shared == NULL) {
			sleep_ms(wait);
		} else {
			nng_aio_set_timeout(w->aio, (nng_duration) wait);
			nng_ctx_recv(w->ctx, w->aio);
			nng_aio_wait(w->aio);
			rv = nng_aio_result(w->aio);
		}
		if (rv == NNG_ETIMEDOUT) {
			/* Nothing queued: silence counts from here. */
			now = mono_ms();
			check_stall(w, now);
			if (now >= deadline || timeout_ms == 0) {
				return fail(w, SPREG_DEADLINE_EXCEEDED, "%s",
				    "no change within the timeout");
			}
			continue;
		}
		if (rv != 0) {
			return fail(w, SPREG_UNAVAILABLE, "subscriber: %s",
			    nng_strerror(rv));
		}
		handle_notification(w, nng_aio_get_msg(w->aio));
	}
}

uint64_t
spreg_watch_position(const spreg_watch *w)
{
	return w->delivered;
}

const char *
spreg_watch_error(const spreg_watch *w)
{
	return w->error;
}

void
spreg_watch_stats_get(const spreg_watch *w, spreg_watch_stats *out)
{
	*out = w->stats;
}

void
spreg_watch_stream_get(const spreg_watch *w, spreg_watch_stream *out)
{
	out->pub_url = w->pub_url;
	out->polling = w->polling;
	out->stalls = w->stalls;
	out->foreign = w->foreign;
	out->heartbeat_ms = w->heartbeat_ms;
}

void
spreg_watch_close(spreg_watch *w)
{
	if (w == NULL) {
		return;
	}
	if (w->aio != NULL) {
		nng_aio_stop(w->aio);
	}
	if (w->ctx_open) {
		nng_ctx_close(w->ctx);	/* the socket stays: see above */
	}
	nng_aio_free(w->aio);
	spreg_client_close(w->client);
	while (w->qlen > 0) {
		Spreg__V1__Change *c = queue_pop(w);
		spreg_message_free(&c->base);
	}
	free(w->queue);
	free(w);
}
