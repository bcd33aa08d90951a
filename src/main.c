/*
 * spregd: the registry server.
 * configure (command line) -> start (catalog, db_open, sample,
 * net_pub_start, net_server_start, http_start) -> tick_loop (scheduled jobs, wait
 * for a signal) -> shutdown in reverse.
 */
#include <errno.h>
#include <getopt.h>
#include <nng/nng.h>
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
#include "http/http.h"
#include "net/pub.h"
#include "net/server.h"
#include "rpc/auth.h"
#include "rpc/import.h"
#include "rpc/local.h"
#include "rpc/rpc.h"
#include "spreg_config.h"

#define DEFAULT_LISTEN "tcp://127.0.0.1:7450"
#define MAX_LISTEN 16
#define SHUTDOWN_TIMEOUT_DEFAULT 30	/* seconds */
#define EXIT_FORCED 2	/* the shutdown bound passed, or a second signal */

enum {
	OPT_WEBHOOK_CA = 0x100,
	OPT_SMTP,
	OPT_SMTP_CREDENTIALS,
	OPT_SMTP_FROM,
	OPT_HTTP,
	OPT_HTTP_PUBLIC,
	OPT_LIMIT,	/* OPT_LIMIT + i: limit_opts[i] */
};

static void
usage(FILE *out)
{
	fprintf(out,
	    "usage: spregd [options]\n"
	    "\n"
	    "  --listen URL       nng URL to serve RPC on (repeatable;\n"
	    "                     default " DEFAULT_LISTEN ")\n"
	    "  --data DIR         LMDB data folder (default ./var)\n"
	    "  --reference DIR    reference data: countries, mechanisms,\n"
	    "                     taxonomy, rules, sample (default\n"
	    "                     " SPREG_DATADIR_REL " from the folder of\n"
	    "                     spregd if there, else " SPREG_DATADIR ")\n"
	    "  --no-sample        start empty instead of loading the sample\n"
	    "                     registry into an empty store\n"
	    "  --workers N        REP contexts answering at once (default 64)\n"
	    "  --max-message N    largest request in bytes; larger ones are\n"
	    "                     dropped unanswered (default 1048576)\n"
	    "  --max-inflight N   requests one connection may have in flight;\n"
	    "                     more are refused with RESOURCE_EXHAUSTED\n"
	    "                     (default 32)\n"
	    "  --max-page N       largest page_size or limit of a list call\n"
	    "                     (default 1000)\n"
	    "  --max-string N     longest free text in bytes: purpose,\n"
	    "                     references, reasons; names take the\n"
	    "                     smaller of N and 200 (default 1000)\n"
	    "  --max-list N       most entries in any repeated field\n"
	    "                     (default 256)\n"
	    "  --max-connections N  connections open at once; more are\n"
	    "                     closed at once (default 256)\n"
	    "  --max-connections-per-peer N  connections open at once from\n"
	    "                     one IP address (default 32; ipc:// peers\n"
	    "                     count only in the total)\n"
	    "  --max-queued N     replies one connection may leave unread\n"
	    "                     beyond --max-inflight: in flight and\n"
	    "                     unread together past both closes it\n"
	    "                     (default 8)\n"
	    "  --max-queued-bytes N  bytes of unread replies, all\n"
	    "                     connections together; the connection that\n"
	    "                     would pass it is closed (default 67108864)\n"
	    "  --idle-timeout S   close a connection with nothing in flight\n"
	    "                     and no complete request for S seconds\n"
	    "                     (half-open, or a message never finished;\n"
	    "                     default 60)\n"
	    "  --send-timeout S   close a connection that leaves a reply\n"
	    "                     unread for S seconds (default 5)\n"
	    "  --shutdown-timeout S  on SIGTERM or SIGINT, requests in\n"
	    "                     flight finish (at most the send timeout\n"
	    "                     + 5 s); if stopping takes longer than S\n"
	    "                     seconds, or a second signal comes, spregd\n"
	    "                     logs it and exits with status 2 (default\n"
	    "                     30). SIGHUP is logged and runs the\n"
	    "                     minute's checks at once (due changes,\n"
	    "                     stale reader slots); logs go to standard\n"
	    "                     error, there is no file to reopen\n"
	    "  --map-size N       initial LMDB map size in bytes; it grows\n"
	    "                     when full (default 67108864)\n"
	    "  --publish URL      nng URL to publish change notifications on\n"
	    "                     (repeatable; default " NET_PUB_DEFAULT_URL ")\n");
	/* Three strings: C11 promises no longer literal than 4095 bytes. */
	fprintf(out,
	    "  --http URL         serve the JSON API over HTTP on URL, http://\n"
	    "                     or https:// (repeatable; default\n"
	    "                     " HTTP_DEFAULT_URL "; 'none': no HTTP)\n"
	    "  --http-public on|off  serve the subprocessor page (/), the\n"
	    "                     feeds and /subprocessors.json to anyone,\n"
	    "                     without a token (default on); off: they\n"
	    "                     need a token like the API\n"
	    "  --http-max-connections N  HTTP connections open at once, all\n"
	    "                     --http URLs together; more are closed at\n"
	    "                     once (default 256)\n"
	    "  --http-max-connections-per-peer N  HTTP connections open at\n"
	    "                     once from one IP address (default 16)\n"
	    "  --http-header-timeout S  close an HTTP connection whose request\n"
	    "                     line and headers are not all in S seconds\n"
	    "                     after it opened or its last response (also\n"
	    "                     the keep-alive; default 10)\n"
	    "  --http-body-timeout S  close one whose request body is not all\n"
	    "                     in S seconds after its headers (default 30)\n"
	    "  --http-send-timeout S  close one that has not taken its\n"
	    "                     response S seconds after it was ready\n"
	    "                     (default 60)\n"
	    "  --tls-cert FILE    PEM certificate (chain) for tls+tcp:// and\n"
	    "                     https:// URLs\n"
	    "  --tls-key FILE     PEM private key of --tls-cert\n"
	    "  --tls-ca FILE      PEM CA: tls+tcp:// and https:// clients must\n"
	    "                     present a certificate it signed\n");
	fprintf(out,
	    "  --webhook-timeout S  one webhook request's limit, connecting\n"
	    "                     included (default 10)\n"
	    "  --webhook-retry-max S  a failing webhook is retried after\n"
	    "                     0.5 s, then twice as long each time, up to\n"
	    "                     S seconds (default 300)\n"
	    "  --webhook-pause-after S  a webhook failing for S seconds is\n"
	    "                     paused until resumed (default 86400; 0:\n"
	    "                     never)\n"
	    "  --webhook-ca FILE  PEM CA bundle for https:// webhooks (default:\n"
	    "                     the system's)\n"
	    "  --smtp URL         e-mail each customer's contacts a notice of\n"
	    "                     its changes through this relay\n"
	    "                     (smtp://host:port or smtps://host:port)\n"
	    "  --smtp-credentials FILE  'user:password' on FILE's first line\n"
	    "  --smtp-from ADDR   sender address (default spregd@localhost)\n"
	    "  --mail-digest N    at most one message per contact per N\n"
	    "                     minutes, listing every change since the\n"
	    "                     last (default 0: one per change)\n"
	    "  --ready-file PATH  write the bound URLs here once serving: RPC\n"
	    "                     URLs first, then 'pub URL' and 'http URL'\n"
	    "                     lines\n"
	    "  --insecure-local   serve requests without a token as an admin\n"
	    "                     (a local demo; only ipc:// and loopback\n"
	    "                     URLs are allowed)\n"
	    "  --log-level L      debug, info, warn or error (default info)\n"
	    "  --version          print the version\n"
	    "  -h, --help         this help\n");
}

/*
 * The default reference folder: SPREG_DATADIR_REL from spregd's own
 * folder when it is there (an install staged with DESTDIR or moved, and
 * the build tree, which links it to data/), else the installed
 * SPREG_DATADIR.
 */
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

static bool
parse_size(const char *s, size_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || s[0] == '-') {
		return false;
	}
	*out = (size_t) v;
	return true;
}

/* ipc://, inproc://, abstract:// or a loopback host. */
static bool
url_is_local(const char *url)
{
	nng_url *u;
	bool local;

	if (nng_url_parse(&u, url) != 0) {
		return false;
	}
	if (strcmp(u->u_scheme, "ipc") == 0 ||
	    strcmp(u->u_scheme, "inproc") == 0 ||
	    strcmp(u->u_scheme, "abstract") == 0) {
		local = true;
	} else {
		const char *h = u->u_hostname;
		local = strncmp(h, "127.", 4) == 0 ||
		    strcmp(h, "localhost") == 0 || strcmp(h, "::1") == 0;
	}
	nng_url_free(u);
	return local;
}

/* A limit flag's value, within [min, max]; prints the range if not. */
static bool
parse_limit(const char *flag, const char *s, size_t min, size_t max,
    size_t *out)
{
	if (!parse_size(s, out) || *out < min || *out > max) {
		fprintf(stderr, "spregd: %s: %zu to %zu\n", flag, min, max);
		return false;
	}
	return true;
}

/* The line a SIGBUS prints: formatted before anything can fault, since
 * only write(2) and _exit(2) may run in the handler. */
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

/* What the command line asks for: filled by configure, read by start. */
typedef struct config {
	const char *listen[MAX_LISTEN];
	size_t nlisten;
	const char *publish[MAX_LISTEN];
	size_t npublish;
	const char *http[MAX_LISTEN];
	size_t nhttp;
	bool http_none;		/* --http none */
	bool http_public_off;	/* --http-public off */
	http_limits http_lim;
	size_t http_header_s, http_body_s, http_send_s;
	size_t heartbeat_ms;	/* 0: NET_PUB_HEARTBEAT_MS */
	const char *data_dir;
	char ref_buf[4000];	/* room for "/sample-registry.json" in 4096 */
	const char *ref_dir;	/* NULL: reference_default() */
	const char *ready_file;
	bool sample;
	bool insecure_local;
	db_options dbo;
	net_options no;
	size_t idle_s;
	size_t send_s;
	size_t shutdown_s;
	size_t page_max;
	validate_limits vlim;
	net_tls_options tls;
	deliver_options webhooks;
	size_t webhook_timeout_s;	/* NOT_GIVEN: the default */
	size_t webhook_retry_max_s;
	size_t webhook_pause_after_s;
	size_t mail_digest_min;
	mail_options mail;
	const char *smtp_credentials;
	char smtp_user[256];
	char smtp_password[256];
} config;

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
	http_server *hs;
} spregd;

#define NOT_GIVEN SIZE_MAX

/* The numeric options: a size_t of config within bounds. */
typedef struct limit_opt {
	const char *name;	/* the option without "--" */
	size_t min, max;
	size_t offset;		/* of the size_t in config */
} limit_opt;

static const limit_opt limit_opts[] = {
	{"max-inflight", 1, 1024, offsetof(config, no.inflight_max)},
	{"max-connections", 1, 65536, offsetof(config, no.connections_max)},
	{"max-connections-per-peer", 1, 65536,
	    offsetof(config, no.per_peer_max)},
	{"max-queued", 1, 1024, offsetof(config, no.queued_max)},
	{"max-queued-bytes", 65536, (size_t) 1 << 40,
	    offsetof(config, no.queued_bytes_max)},
	{"idle-timeout", 1, 86400, offsetof(config, idle_s)},
	{"send-timeout", 1, 3600, offsetof(config, send_s)},
	{"shutdown-timeout", 1, 3600, offsetof(config, shutdown_s)},
	{"max-page", 1, 10000, offsetof(config, page_max)},
	{"max-string", 16, 1 << 20, offsetof(config, vlim.text_max)},
	{"max-list", 1, 65536, offsetof(config, vlim.list_max)},
	{"webhook-timeout", 1, 600, offsetof(config, webhook_timeout_s)},
	{"webhook-retry-max", 1, 86400,
	    offsetof(config, webhook_retry_max_s)},
	{"webhook-pause-after", 0, 31536000,
	    offsetof(config, webhook_pause_after_s)},
	{"mail-digest", 0, 10080, offsetof(config, mail_digest_min)},
	{"http-max-connections", 1, 65536,
	    offsetof(config, http_lim.connections_max)},
	{"http-max-connections-per-peer", 1, 65536,
	    offsetof(config, http_lim.per_peer_max)},
	{"http-header-timeout", 1, 3600, offsetof(config, http_header_s)},
	{"http-body-timeout", 1, 3600, offsetof(config, http_body_s)},
	{"http-send-timeout", 1, 3600, offsetof(config, http_send_s)},
};
#define NLIMIT_OPTS (sizeof(limit_opts) / sizeof(limit_opts[0]))

/* The other options; limit_opts are added to them in configure. */
static const struct option other_opts[] = {
	{"listen", required_argument, NULL, 'l'},
	{"data", required_argument, NULL, 'd'},
	{"reference", required_argument, NULL, 'r'},
	{"no-sample", no_argument, NULL, 'n'},
	{"workers", required_argument, NULL, 'w'},
	{"max-message", required_argument, NULL, 'm'},
	{"map-size", required_argument, NULL, 'M'},
	{"ready-file", required_argument, NULL, 'R'},
	{"publish", required_argument, NULL, 'P'},
	{"http", required_argument, NULL, OPT_HTTP},
	{"http-public", required_argument, NULL, OPT_HTTP_PUBLIC},
	{"heartbeat-ms", required_argument, NULL, 'H'},
	{"log-level", required_argument, NULL, 'L'},
	{"tls-cert", required_argument, NULL, 'C'},
	{"tls-key", required_argument, NULL, 'K'},
	{"tls-ca", required_argument, NULL, 'A'},
	{"insecure-local", no_argument, NULL, 'I'},
	{"webhook-ca", required_argument, NULL, OPT_WEBHOOK_CA},
	{"smtp", required_argument, NULL, OPT_SMTP},
	{"smtp-credentials", required_argument, NULL, OPT_SMTP_CREDENTIALS},
	{"smtp-from", required_argument, NULL, OPT_SMTP_FROM},
	{"version", no_argument, NULL, 'V'},
	{"help", no_argument, NULL, 'h'},
};
#define NOTHER_OPTS (sizeof(other_opts) / sizeof(other_opts[0]))

/* Appends url to list (at most MAX_LISTEN); false after saying why. */
static bool
add_url(const char **list, size_t *n, const char *flag, const char *url)
{
	if (*n == MAX_LISTEN) {
		fprintf(stderr, "spregd: at most %d %s\n", MAX_LISTEN, flag);
		return false;
	}
	list[(*n)++] = url;
	return true;
}

static bool
set_log_level(const char *name)
{
	static const struct {
		const char *name;
		int level;
	} levels[] = {{"debug", LOG_DEBUG}, {"info", LOG_INFO},
	    {"warn", LOG_WARN}, {"error", LOG_ERROR}};

	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		if (strcmp(name, levels[i].name) == 0) {
			log_set_level(levels[i].level);
			return true;
		}
	}
	fprintf(stderr, "spregd: --log-level: debug, info, warn or error\n");
	return false;
}

/*
 * One option (opt, from getopt_long, with optarg) into c. Returns -1 to
 * go on, or the status to exit with (0 after --help or --version, 1 on
 * a bad value).
 */
static int
configure_option(config *c, int opt)
{
	if (opt >= OPT_LIMIT && (size_t) (opt - OPT_LIMIT) < NLIMIT_OPTS) {
		const limit_opt *l = &limit_opts[opt - OPT_LIMIT];
		char flag[64];
		snprintf(flag, sizeof(flag), "--%s", l->name);
		return parse_limit(flag, optarg, l->min, l->max,
		    (size_t *) (void *) ((char *) c + l->offset)) ? -1 : 1;
	}
	switch (opt) {
	case 'l':
		return add_url(c->listen, &c->nlisten, "--listen", optarg) ?
		    -1 : 1;
	case 'P':
		return add_url(c->publish, &c->npublish, "--publish",
		    optarg) ? -1 : 1;
	case 'd':
		c->data_dir = optarg;
		return -1;
	case 'r':
		c->ref_dir = optarg;
		return -1;
	case 'n':
		c->sample = false;
		return -1;
	case 'w':
		if (!parse_size(optarg, &c->no.workers) ||
		    c->no.workers == 0 || c->no.workers > 1024) {
			fprintf(stderr, "spregd: --workers: 1 to 1024\n");
			return 1;
		}
		return -1;
	case 'm':
		if (!parse_size(optarg, &c->no.recv_max) ||
		    c->no.recv_max < 1024) {
			fprintf(stderr, "spregd: --max-message: a byte count "
			    "of at least 1024\n");
			return 1;
		}
		return -1;
	case 'M':
		if (!parse_size(optarg, &c->dbo.map_size) ||
		    c->dbo.map_size < 65536) {
			fprintf(stderr, "spregd: --map-size: a byte count of "
			    "at least 65536\n");
			return 1;
		}
		return -1;
	case OPT_WEBHOOK_CA:
		c->webhooks.ca_file = optarg;
		return -1;
	case OPT_SMTP:
		if (strncmp(optarg, "smtp://", 7) != 0 &&
		    strncmp(optarg, "smtps://", 8) != 0) {
			fprintf(stderr, "spregd: --smtp: an smtp:// or "
			    "smtps:// URL\n");
			return 1;
		}
		c->mail.url = optarg;
		return -1;
	case OPT_SMTP_CREDENTIALS:
		c->smtp_credentials = optarg;
		return -1;
	case OPT_SMTP_FROM:
		c->mail.from = optarg;
		return -1;
	case 'C':
		c->tls.cert_file = optarg;
		return -1;
	case 'K':
		c->tls.key_file = optarg;
		return -1;
	case 'A':
		c->tls.ca_file = optarg;
		return -1;
	case 'R':
		c->ready_file = optarg;
		return -1;
	case OPT_HTTP:
		if (strcmp(optarg, "none") == 0) {
			c->http_none = true;
			return -1;
		}
		if (!http_url_ok(optarg)) {
			fprintf(stderr, "spregd: --http %s: an http:// or "
			    "https:// URL, or none\n", optarg);
			return 1;
		}
		return add_url(c->http, &c->nhttp, "--http", optarg) ? -1 : 1;
	case OPT_HTTP_PUBLIC:
		if (strcmp(optarg, "on") != 0 && strcmp(optarg, "off") != 0) {
			fprintf(stderr, "spregd: --http-public: on or off\n");
			return 1;
		}
		c->http_public_off = strcmp(optarg, "off") == 0;
		return -1;
	case 'H':	/* not in the usage: for tests */
		if (!parse_size(optarg, &c->heartbeat_ms) ||
		    c->heartbeat_ms == 0 || c->heartbeat_ms > 3600000) {
			fprintf(stderr, "spregd: --heartbeat-ms: 1 to "
			    "3600000\n");
			return 1;
		}
		return -1;
	case 'L':
		return set_log_level(optarg) ? -1 : 1;
	case 'I':
		c->insecure_local = true;
		return -1;
	case 'V':
		printf("spregd %s\n", SPREG_VERSION);
		return 0;
	case 'h':
		usage(stdout);
		return 0;
	default:
		usage(stderr);
		return 1;
	}
}

/* url needs --tls-cert, and --insecure-local takes only local ones;
 * false after saying why. */
static bool
check_url(const config *c, const char *url, bool tls)
{
	if (tls && c->tls.cert_file == NULL) {
		fprintf(stderr, "spregd: %s needs --tls-cert and --tls-key\n",
		    url);
		return false;
	}
	if (c->insecure_local && !url_is_local(url)) {
		fprintf(stderr, "spregd: --insecure-local serves only ipc:// "
		    "and loopback URLs, not %s\n", url);
		return false;
	}
	return true;
}

/* The options together: defaults for what was not given, and the
 * combinations refused. 1 after saying why, or -1 to go on. */
static int
configure_check(config *c)
{
	if (c->nlisten == 0) {
		c->listen[c->nlisten++] = DEFAULT_LISTEN;
	}
	if (c->npublish == 0) {
		c->publish[c->npublish++] = NET_PUB_DEFAULT_URL;
	}
	if (c->http_none && c->nhttp > 0) {
		fprintf(stderr, "spregd: --http none and --http URL exclude "
		    "each other\n");
		return 1;
	}
	if (!c->http_none && c->nhttp == 0) {
		c->http[c->nhttp++] = HTTP_DEFAULT_URL;
	}
	if ((c->tls.cert_file == NULL) != (c->tls.key_file == NULL)) {
		fprintf(stderr, "spregd: %s needs %s\n",
		    c->tls.cert_file ? "--tls-cert" : "--tls-key",
		    c->tls.cert_file ? "--tls-key" : "--tls-cert");
		return 1;
	}
	if (c->tls.ca_file != NULL && c->tls.cert_file == NULL) {
		fprintf(stderr, "spregd: --tls-ca needs --tls-cert and "
		    "--tls-key\n");
		return 1;
	}
	for (size_t i = 0; i < c->nhttp; i++) {
		if (!check_url(c, c->http[i],
		        strncmp(c->http[i], "https:", 6) == 0)) {
			return 1;
		}
	}
	for (size_t i = 0; i < c->nlisten + c->npublish; i++) {
		const char *u = i < c->nlisten ? c->listen[i] :
		    c->publish[i - c->nlisten];
		if (!check_url(c, u, net_tls_url(u))) {
			return 1;
		}
	}
	return -1;
}

/*
 * Reads the command line into c. Returns -1 to go on and start, or the
 * status to exit with (0 after --help or --version, 1 on a bad option).
 */
static int
configure(config *c, int argc, char **argv)
{
	struct option longopts[NOTHER_OPTS + NLIMIT_OPTS + 1];
	int opt, rc;

	memcpy(longopts, other_opts, sizeof(other_opts));
	for (size_t i = 0; i < NLIMIT_OPTS; i++) {
		longopts[NOTHER_OPTS + i] = (struct option) {
			limit_opts[i].name, required_argument, NULL,
			OPT_LIMIT + (int) i};
	}
	longopts[NOTHER_OPTS + NLIMIT_OPTS] = (struct option) {0};
	*c = (config) {
		.data_dir = "./var",
		.sample = true,
		.idle_s = NET_IDLE_TIMEOUT_MS_DEFAULT / 1000,
		.send_s = NET_SEND_TIMEOUT_MS_DEFAULT / 1000,
		.http_header_s = HTTP_HEADER_TIMEOUT_MS_DEFAULT / 1000,
		.http_body_s = HTTP_BODY_TIMEOUT_MS_DEFAULT / 1000,
		.http_send_s = HTTP_SEND_TIMEOUT_MS_DEFAULT / 1000,
		.shutdown_s = SHUTDOWN_TIMEOUT_DEFAULT,
		.page_max = RPC_PAGE_MAX_DEFAULT,
		.vlim = *validate_limits_get(),
		.webhooks = {DELIVER_TIMEOUT_MS, DELIVER_RETRY_MIN_MS,
		    DELIVER_RETRY_MAX_MS, DELIVER_PAUSE_AFTER_MS, NULL},
		.webhook_timeout_s = NOT_GIVEN,
		.webhook_retry_max_s = NOT_GIVEN,
		.webhook_pause_after_s = NOT_GIVEN,
		.mail = {.from = "spregd@localhost"},
	};
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if ((rc = configure_option(c, opt)) != -1) {
			return rc;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "spregd: unexpected argument '%s'\n",
		    argv[optind]);
		return 1;
	}
	if ((rc = configure_check(c)) != -1) {
		return rc;
	}
	if (c->webhook_timeout_s != NOT_GIVEN) {
		c->webhooks.timeout_ms = (int) c->webhook_timeout_s * 1000;
	}
	if (c->webhook_retry_max_s != NOT_GIVEN) {
		c->webhooks.retry_max_ms = (int) c->webhook_retry_max_s * 1000;
	}
	if (c->webhook_pause_after_s != NOT_GIVEN) {
		c->webhooks.pause_after_ms =
		    (int64_t) c->webhook_pause_after_s * 1000;
	}
	c->mail.digest_minutes = (int) c->mail_digest_min;
	c->no.listen = c->listen;
	c->no.nlisten = c->nlisten;
	c->no.tls = &c->tls;
	c->no.idle_timeout_ms = (int) c->idle_s * 1000;
	c->no.send_timeout_ms = (int) c->send_s * 1000;
	net_options_defaults(&c->no);
	c->http_lim.header_timeout_ms = (int) c->http_header_s * 1000;
	c->http_lim.body_timeout_ms = (int) c->http_body_s * 1000;
	c->http_lim.send_timeout_ms = (int) c->http_send_s * 1000;
	http_limits_defaults(&c->http_lim);
	c->dbo.dir = c->data_dir;
	/* A first start also writes admin.token and the sample: until both
	 * are done it is unfinished, and a cut-short one starts over. */
	static const char *const markers[] = {"admin.token", NULL};
	c->dbo.markers = markers;
	c->dbo.hold_new = true;
	return -1;
}

/* E-mail: the relay's credentials from their file, then the sender.
 * An unreadable file stops the start, naming it. */
static bool
mail_begin(config *c, spregd *s)
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
 * Loads the reference data and rules, opens the store (a first start:
 * admin token and sample), then starts the publisher and the listeners
 * and writes the ready file. False after logging what failed; what was
 * made is in s for the caller to take down.
 */
static bool
start(config *c, spregd *s)
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
	if (rpc_server_create(s->d, s->cat, &s->rpc, &e) != SPREG_OK) {
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
		char path[4096];
		size_t count;
		snprintf(path, sizeof(path), "%s/sample-registry.json",
		    c->ref_dir);
		if (rpc_import_file(s->rpc, path, "spregd (sample registry)",
		        &count, &e) != SPREG_OK) {
			log_error("sample registry: %s", e.msg);
			return false;
		}
		log_info("first start: loaded %zu subprocessors from %s", count,
		    path);
	}
	if (db_created_done(s->d, &e) != SPREG_OK) {
		log_error("%s", e.msg);
		return false;
	}
	/* Notifications: the publisher takes over the rpc publish hook
	 * before any worker can write, and stops after the workers. */
	if (net_pub_start(s->rpc, c->publish, c->npublish, &c->tls,
	        (int) c->heartbeat_ms, &s->np, &e) != SPREG_OK) {
		log_error("publish: %s", e.msg);
		return false;
	}
	const char *pub_urls[MAX_LISTEN];
	for (size_t i = 0; i < net_pub_nurls(s->np); i++) {
		log_info("publishing changes on %s", net_pub_url(s->np, i));
		pub_urls[i] = net_pub_url(s->np, i);
	}
	/* ServerInfo tells watchers where the stream is. */
	rpc_server_set_publish_info(s->rpc, pub_urls, net_pub_nurls(s->np),
	    c->heartbeat_ms > 0 ? (uint32_t) c->heartbeat_ms :
	                          NET_PUB_HEARTBEAT_MS);
	/* Webhooks: the sender reads the outbox the log fills. */
	if (deliver_start(s->d, &c->webhooks, &s->dl, &e) != SPREG_OK) {
		log_error("%s", e.msg);
		return false;
	}
	if (c->mail.url != NULL && !mail_begin(c, s)) {
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
	config c;
	spregd s = {0};
	int status = 1;
	int rc;

	log_set_journal(stderr_is_journal());
	if ((rc = configure(&c, argc, argv)) != -1) {
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
