/*
 * spregd: the registry server.
 * spregd_configure (the command line, config.c) -> start (catalog,
 * db_open, net_pub_start, rpc_server_create, sample, net_server_start,
 * http_start) ->
 * tick_loop (scheduled jobs, wait for a signal) -> shutdown in reverse.
 */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "assess/rules.h"
#include "core/catalog.h"
#include "core/date.h"
#include "core/log.h"
#include "core/validate.h"
#include "db/db.h"
#include "deliver/deliver.h"
#include "deliver/mail.h"
#include "follow/fetch.h"
#include "follow/poller.h"
#include "http/http.h"
#include "net/pub.h"
#include "net/server.h"
#include "rpc/auth.h"
#include "rpc/import.h"
#include "rpc/local.h"
#include "rpc/rpc.h"
#include "config.h"
#include "spreg_config.h"

#define EXIT_FORCED 2	/* the shutdown bound passed, or a second signal */

static const char *
reference_default(char *buf, size_t len)
{
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0) {
		return SPREG_DATADIR;
	}
	exe[n] = '\0';
	char *slash = strrchr(exe, '/');
	if (slash == NULL) {
		return SPREG_DATADIR;
	}
	*slash = '\0';
	int w = snprintf(buf, len, "%s/%s", exe, SPREG_DATADIR_REL);
	if (w < 0 || (size_t) w >= len || access(buf, R_OK | X_OK) != 0) {
		return SPREG_DATADIR;
	}
	/* For the log: /usr/share/spreg rather than /usr/sbin/../share. */
	if (strlen(exe) < len && realpath(buf, exe) != NULL) {
		memcpy(buf, exe, strlen(exe) + 1);
	}
	return buf;
}

/*
 * systemd sets JOURNAL_STREAM to "DEV:INODE" of the journal stream it
 * gave us; stderr is still that stream unless redirected since.
 */
static bool
stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	if (js == NULL || sscanf(js, "%llu:%llu", &dev, &ino) != 2 ||
	    fstat(STDERR_FILENO, &st) != 0) {
		return false;
	}
	return (unsigned long long) st.st_dev == dev &&
	    (unsigned long long) st.st_ino == ino;
}

static char sigbus_line[4096 + 256];
static size_t sigbus_len;

/*
 * LMDB reads the store through a memory map: a data file truncated under
 * the running server (the size check at start catches it before) faults
 * on the next read of a page past its end. Say so, and stop.
 */
static void
on_sigbus(int sig)
{
	(void) sig;
	if (write(STDERR_FILENO, sigbus_line, sigbus_len) < 0) {
		_exit(1);
	}
	_exit(1);
}

static void
sigbus_install(const char *data_dir)
{
	struct sigaction sa;

	int n = snprintf(sigbus_line, sizeof(sigbus_line), "spregd: fatal: "
	    "SIGBUS reading %s/data.mdb: the file is shorter than the store "
	    "in it (truncated while spregd ran, or its disk failed); "
	    "stopping without serving from it\n", data_dir);
	sigbus_len = n > 0 && (size_t) n < sizeof(sigbus_line) ? (size_t) n :
	    sizeof(sigbus_line) - 1;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigbus;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, NULL);
}

/* Replaces path by a file holding text: readers never see half a file. */
static int
replace_file(const char *path, const char *text)
{
	char tmp[4096];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	if (f == NULL) {
		return -1;
	}
	fputs(text, f);
	if (fclose(f) != 0) {
		return -1;
	}
	return rename(tmp, path);
}

/* RPC URLs, then "pub URL" and "http URL" lines. */
static int
write_ready(const char *path, const net_server *ns, const net_pub *np,
    const http_server *hs)
{
	char *text = NULL;
	size_t len;
	FILE *f = open_memstream(&text, &len);
	if (f == NULL) {
		return -1;
	}
	for (size_t i = 0; i < net_server_nurls(ns); i++) {
		fprintf(f, "%s\n", net_server_url(ns, i));
	}
	for (size_t i = 0; i < net_pub_nurls(np); i++) {
		fprintf(f, "pub %s\n", net_pub_url(np, i));
	}
	for (size_t i = 0; i < http_nurls(hs); i++) {
		fprintf(f, "http %s\n", http_url(hs, i));
	}
	int rc = fclose(f) != 0 ? -1 : replace_file(path, text);
	free(text);
	return rc;
}

/* DATA/spregd.info for co-located readers (rpc/local.h): the reference
 * data's folder, the RPC URLs and the page limit. */
static int
write_info(const char *data_dir, const char *ref_dir, const net_server *ns,
    size_t page_max)
{
	char path[4096], ref[4096];
	char *text = NULL;
	size_t len;

	snprintf(path, sizeof(path), "%s/%s", data_dir, RPC_LOCAL_INFO);
	FILE *f = open_memstream(&text, &len);
	if (f == NULL) {
		return -1;
	}
	fprintf(f, "reference %s\n", realpath(ref_dir, ref) != NULL ? ref :
	    ref_dir);
	for (size_t i = 0; i < net_server_nurls(ns); i++) {
		fprintf(f, "url %s\n", net_server_url(ns, i));
	}
	fprintf(f, "page_max %zu\n", page_max);
	int rc = fclose(f) != 0 ? -1 : replace_file(path, text);
	free(text);
	return rc;
}

typedef struct watchdog {
	sigset_t sigs;
	size_t seconds;
} watchdog;

/* The bound on stopping: whatever hangs (a close in nng, a frozen disk),
 * the process exits by the deadline, or at once on a second SIGTERM or
 * SIGINT, with a log line. Acknowledged writes are durable already. */
static void *
watchdog_main(void *arg)
{
	watchdog *wd = arg;
	int64_t deadline = time_mono_ms() / 1000 + (int64_t) wd->seconds;
	int sig;

	for (;;) {
		int64_t left = deadline - time_mono_ms() / 1000;
		struct timespec ts = {left > 0 ? left : 0, 0};
		sig = sigtimedwait(&wd->sigs, NULL, &ts);
		if (sig == SIGHUP) {
			log_info("SIGHUP ignored while stopping");
			continue;
		}
		if (sig > 0 || time_mono_ms() / 1000 >= deadline) {
			break;
		}
	}
	if (sig > 0) {
		log_error("%s while stopping: exiting now, without waiting "
		    "for requests in flight", strsignal(sig));
	} else {
		log_error("stopping took more than %zu s (--shutdown-timeout): "
		    "exiting without closing the network cleanly",
		    wd->seconds);
	}
	_exit(EXIT_FORCED);
}

static void
watchdog_start(const sigset_t *sigs, size_t seconds)
{
	static watchdog wd;
	pthread_t t;

	wd.sigs = *sigs;
	wd.seconds = seconds;
	if (pthread_create(&t, NULL, watchdog_main, &wd) != 0) {
		log_warn("cannot start the shutdown watchdog: stopping "
		    "without a time bound");
		return;
	}
	pthread_detach(t);
}

/* What start makes and main's shutdown takes down, in reverse. */
typedef struct spregd {
	catalog *cat;
	assess_rules *rules;
	db *d;
	rpc_server *rpc;
	net_server *ns;
	net_pub *np;
	deliver *dl;
	mail_sender *mail;
	follow_poller *follows;
	http_server *hs;
} spregd;

/* E-mail: the relay's credentials from their file, then the sender.
 * An unreadable file stops the start, naming it. */
static bool
mail_begin(spregd_config *c, spregd *s)
{
	err e;

	if (c->smtp_credentials != NULL) {
		char line[600];
		FILE *f = fopen(c->smtp_credentials, "r");
		if (f == NULL || fgets(line, sizeof(line), f) == NULL) {
			log_error("--smtp-credentials %s: %s", c->smtp_credentials,
			    f == NULL ? strerror(errno) : "empty");
			if (f != NULL) {
				fclose(f);
			}
			return false;
		}
		fclose(f);
		line[strcspn(line, "\r\n")] = '\0';
		char *colon = strchr(line, ':');
		if (colon == NULL || colon == line ||
		    strlen(line) >= sizeof(c->smtp_user)) {
			log_error("--smtp-credentials %s: not 'user:password'",
			    c->smtp_credentials);
			return false;
		}
		*colon = '\0';
		snprintf(c->smtp_user, sizeof(c->smtp_user), "%s", line);
		snprintf(c->smtp_password, sizeof(c->smtp_password), "%s",
		    colon + 1);
		c->mail.user = c->smtp_user;
		c->mail.password = c->smtp_password;
	}
	c->mail.timeout_ms = c->webhooks.timeout_ms;
	c->mail.retry_min_ms = c->webhooks.retry_min_ms;
	c->mail.retry_max_ms = c->webhooks.retry_max_ms;
	if (mail_start(s->d, &c->mail, &s->mail, &e) != SPREG_OK) {
		log_error("%s", e.msg);
		return false;
	}
	log_info("e-mailing notices through %s", c->mail.url);
	return true;
}

/*
 * Loads the reference data and rules, opens the store, starts the
 * publisher and makes the rpc server with it (a first start: admin
 * token and sample, published), then starts the listeners and writes
 * the ready file. False after logging what failed; what was
 * made is in s for the caller to take down.
 */
static bool
start(spregd_config *c, spregd *s)
{
	err e;

	if (c->ref_dir == NULL) {
		c->ref_dir = reference_default(c->ref_buf, sizeof(c->ref_buf));
	}
	log_info("reference data from %s", c->ref_dir);
	if (catalog_load(c->ref_dir, &s->cat, &e) != SPREG_OK) {
		log_error("reference data: %s", e.msg);
		return false;
	}
	/* A bad rules file stops the server, naming the line and field. */
	if (assess_rules_load(c->ref_dir, s->cat, &s->rules, &e) != SPREG_OK) {
		log_error("transfer rules: %s", e.msg);
		return false;
	}
	if (db_open(&c->dbo, &s->d, &e) != SPREG_OK) {
		log_error("%s", e.msg);
		return false;
	}
	/* Notifications: the publisher is the rpc server's from its start,
	 * so every change committed, the sample's too, goes out in seq
	 * order; it stops after the last writer. */
	if (net_pub_start(&(net_pub_options) {.urls = c->publish,
	        .nurls = c->npublish, .tls = &c->tls,
	        .heartbeat_ms = (int) c->heartbeat_ms,
	        .contents = c->insecure_local}, &s->np, &e) != SPREG_OK) {
		log_error("publish: %s", e.msg);
		return false;
	}
	for (size_t i = 0; i < net_pub_nurls(s->np); i++) {
		log_info("publishing changes on %s", net_pub_url(s->np, i));
	}
	rpc_publisher pub;
	net_pub_publisher(s->np, &pub);
	if (rpc_server_create(s->d, s->cat, &pub, follow_fetch, &s->rpc,
	        &e) != SPREG_OK) {
		log_error("%s", e.msg);
		return false;
	}
	rpc_server_set_rules(s->rpc, s->rules);
	rpc_server_set_insecure_local(s->rpc, c->insecure_local);
	char token_path[4096];
	bool minted;
	snprintf(token_path, sizeof(token_path), "%s/admin.token", c->data_dir);
	if (rpc_auth_bootstrap(s->rpc, token_path, &minted, &e) != SPREG_OK) {
		log_error("admin token: %s", e.msg);
		return false;
	}
	if (minted) {
		log_info("first start: an admin token is in %s (readable by "
		    "this user only); use it with SPREG_TOKEN_FILE=%s spreg "
		    "...", token_path, token_path);
	}
	if (c->insecure_local) {
		log_warn("INSECURE: --insecure-local is on: any local process "
		    "may call any method without a token, as an admin");
		log_warn("INSECURE: notifications carry full changes to any "
		    "subscriber");
	}
	rpc_server_set_limits(s->rpc, &(rpc_limits) {
	    .message_max = c->no.recv_max,
	    .inflight_max = c->no.inflight_max,
	    .page_max = (uint32_t) c->page_max,
	    .connections_max = c->no.connections_max,
	    .per_peer_max = c->no.per_peer_max,
	    .queued_max = c->no.queued_max,
	    .queued_bytes_max = c->no.queued_bytes_max,
	    .idle_timeout_ms = (uint32_t) c->no.idle_timeout_ms,
	    .send_timeout_ms = (uint32_t) c->no.send_timeout_ms,
	    .http_body_max = c->nhttp > 0 ? HTTP_BODY_MAX : 0,
	    .http_requests_max = c->nhttp > 0 ? HTTP_WORKERS : 0,
	    .http_connections_max = c->nhttp > 0 ?
	        c->http_lim.connections_max : 0,
	    .http_per_peer_max = c->nhttp > 0 ? c->http_lim.per_peer_max : 0,
	    .http_header_timeout_ms = c->nhttp > 0 ?
	        (uint32_t) c->http_lim.header_timeout_ms : 0,
	    .http_body_timeout_ms = c->nhttp > 0 ?
	        (uint32_t) c->http_lim.body_timeout_ms : 0,
	    .http_send_timeout_ms = c->nhttp > 0 ?
	        (uint32_t) c->http_lim.send_timeout_ms : 0,
	});
	/* The sample goes only into a store this start created: never into
	 * an existing one, however empty. */
	if (db_created(s->d) && c->sample) {
		size_t ncustomers, count;
		if (rpc_import_sample(s->rpc, c->ref_dir,
		        "spregd (sample registry)", &ncustomers, &count, &e) !=
		    SPREG_OK) {
			log_error("sample registry: %s", e.msg);
			return false;
		}
		log_info("first start: loaded %zu subprocessor(s) and %zu "
		    "customer(s) of the sample registry in %s", count,
		    ncustomers, c->ref_dir);
	}
	if (db_created_done(s->d, &e) != SPREG_OK) {
		log_error("%s", e.msg);
		return false;
	}
	/* Webhooks: the sender reads the outbox the log fills. */
	if (deliver_start(s->d, &c->webhooks, &s->dl, &e) != SPREG_OK) {
		log_error("%s", e.msg);
		return false;
	}
	if (c->mail.url != NULL && !mail_begin(c, s)) {
		return false;
	}
	/* Follows: the poller fetches each on its interval. */
	if (follow_poller_start(s->rpc, &s->follows, &e) != SPREG_OK) {
		log_error("%s", e.msg);
		return false;
	}
	if (net_server_start(s->rpc, &c->no, &s->ns, &e) != SPREG_OK) {
		log_error("listen: %s", e.msg);
		return false;
	}
	for (size_t i = 0; i < net_server_nurls(s->ns); i++) {
		log_info("spregd %s serving on %s (data %s)", SPREG_VERSION,
		    net_server_url(s->ns, i), c->data_dir);
	}
	if (write_info(c->data_dir, c->ref_dir, s->ns, c->page_max) != 0) {
		log_warn("%s/%s: %s (co-located readers use the installed "
		    "reference data)", c->data_dir, RPC_LOCAL_INFO,
		    strerror(errno));
	}
	if (c->nhttp > 0 &&
	    http_start(s->rpc, s->ns, &(http_options) {c->http, c->nhttp,
	        &c->tls, c->http_public_off, c->http_lim}, &s->hs, &e) !=
	        SPREG_OK) {
		log_error("http: %s", e.msg);
		return false;
	}
	for (size_t i = 0; i < http_nurls(s->hs); i++) {
		log_info("serving HTTP on %s", http_url(s->hs, i));
	}
	if (c->ready_file != NULL &&
	    write_ready(c->ready_file, s->ns, s->np, s->hs) != 0) {
		log_error("--ready-file %s: %s", c->ready_file,
		    strerror(errno));
		return false;
	}
	return true;
}

/*
 * The tick loop: announced changes and dates due apply, and the day is
 * re-assessed, at start and then each minute (a timed sigwait), until a
 * signal other than SIGHUP comes. Returns that signal.
 */
static int
tick_loop(rpc_server *rpc, const sigset_t *sigs)
{
	err e;
	int dead;

	/* Announced changes and dates due while the server was down apply
	 * now, and the day is re-assessed; then both repeat each minute (a
	 * timed sigwait), and at once on SIGHUP. */
	int sig;
	for (;;) {
		/* A co-located reader killed inside a read leaves its slot
		 * and its snapshot behind: clear them (also on SIGHUP). */
		if (db_reader_check(rpc_server_db(rpc), &dead, &e) !=
		    SPREG_OK) {
			log_error("%s", e.msg);
		} else if (dead > 0) {
			log_warn("cleared %d stale reader slot(s)", dead);
		}
		size_t applied;
		if (rpc_apply_due(rpc, time_now_ms(), &applied, &e) != SPREG_OK) {
			log_error("applying announced changes: %s", e.msg);
		} else if (applied > 0) {
			log_info("%zu announced or dated change(s) took "
			    "effect", applied);
		}
		/* A new day may end a safeguard or a finding: re-assess
		 * once per day (the last day checked is in the store). */
		size_t reassessed;
		if (rpc_reassess_day(rpc, time_now_ms(), &reassessed, &e) !=
		    SPREG_OK) {
			log_error("re-assessing transfers: %s", e.msg);
		} else if (reassessed > 0) {
			log_info("%zu subprocessor(s) with transfers no longer "
			    "lawful today", reassessed);
		}
		struct timespec minute = {60, 0};
		if ((sig = sigtimedwait(sigs, NULL, &minute)) == SIGHUP) {
			log_info("SIGHUP ignored: logs go to standard error, "
			    "there is nothing to reopen");
		} else if (sig > 0) {
			break;
		}
	}
	return sig;
}

int
main(int argc, char **argv)
{
	spregd_config c;
	spregd s = {0};
	int status = 1;
	int rc;

	log_set_journal(stderr_is_journal());
	/* A page's reply buffers (arena blocks, nng messages, 64 KiB each)
	 * are freed after every reply, and glibc gave the free top of its
	 * heap back to the kernel past 128 KiB: each page then faulted its
	 * buffers in again, 15% of its CPU. Up to 32 MiB free now stays for
	 * the next request. Buffers of 128 KiB and more (export pages) are
	 * mapped and unmapped each time: glibc's threshold for that no
	 * longer grows, which keeps an export's memory flat. */
	mallopt(M_TRIM_THRESHOLD, 32 << 20);
	if ((rc = spregd_configure(&c, argc, argv)) != -1) {
		return rc;
	}
	sigbus_install(c.data_dir);
	/* Before the sample is imported: it is validated too. */
	validate_limits_set(&c.vlim);

	/* Signals are taken by sigwait in this thread only (and, once
	 * stopping, by the shutdown watchdog): block them before any thread
	 * starts. */
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (start(&c, &s)) {
		int sig = tick_loop(s.rpc, &sigs);
		log_info("%s: finishing requests in flight, then stopping "
		    "(at most %zu s)", strsignal(sig), c.shutdown_s);
		watchdog_start(&sigs, c.shutdown_s);
		status = 0;
	}
	http_stop(s.hs);
	net_server_stop(s.ns);
	follow_poller_stop(s.follows);
	mail_stop(s.mail);
	deliver_stop(s.dl);
	net_pub_stop(s.np);
	rpc_server_destroy(s.rpc);
	db_close(s.d);
	assess_rules_destroy(s.rules);
	catalog_destroy(s.cat);
	if (status == 0) {
		log_info("stopped cleanly");
	}
	return status;
}
