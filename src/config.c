/*
 * spregd's command line (config.h): each option once, the numeric ones
 * in one table with their bounds, then the combinations refused.
 */
#include <errno.h>
#include <getopt.h>
#include <nng/nng.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "core/log.h"
#include "net/pub.h"
#include "rpc/rpc.h"
#include "spreg_config.h"

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
#define NOT_GIVEN SIZE_MAX

/* The numeric options: a size_t of config within bounds. */
typedef struct limit_opt {
	const char *name;	/* the option without "--" */
	size_t min, max;
	size_t offset;		/* of the size_t in config */
} limit_opt;

static const limit_opt limit_opts[] = {
	{"max-inflight", 1, 1024, offsetof(spregd_config, no.inflight_max)},
	{"max-connections", 1, 65536, offsetof(spregd_config, no.connections_max)},
	{"max-connections-per-peer", 1, 65536,
	    offsetof(spregd_config, no.per_peer_max)},
	{"max-queued", 1, 1024, offsetof(spregd_config, no.queued_max)},
	{"max-queued-bytes", 65536, (size_t) 1 << 40,
	    offsetof(spregd_config, no.queued_bytes_max)},
	{"idle-timeout", 1, 86400, offsetof(spregd_config, idle_s)},
	{"send-timeout", 1, 3600, offsetof(spregd_config, send_s)},
	{"shutdown-timeout", 1, 3600, offsetof(spregd_config, shutdown_s)},
	{"max-page", 1, 10000, offsetof(spregd_config, page_max)},
	{"max-string", 16, 1 << 20, offsetof(spregd_config, vlim.text_max)},
	{"max-list", 1, 65536, offsetof(spregd_config, vlim.list_max)},
	{"webhook-timeout", 1, 600, offsetof(spregd_config, webhook_timeout_s)},
	{"webhook-retry-max", 1, 86400,
	    offsetof(spregd_config, webhook_retry_max_s)},
	{"webhook-pause-after", 0, 31536000,
	    offsetof(spregd_config, webhook_pause_after_s)},
	{"mail-digest", 0, 10080, offsetof(spregd_config, mail_digest_min)},
	{"http-max-connections", 1, 65536,
	    offsetof(spregd_config, http_lim.connections_max)},
	{"http-max-connections-per-peer", 1, 65536,
	    offsetof(spregd_config, http_lim.per_peer_max)},
	{"http-header-timeout", 1, 3600, offsetof(spregd_config, http_header_s)},
	{"http-body-timeout", 1, 3600, offsetof(spregd_config, http_body_s)},
	{"http-send-timeout", 1, 3600, offsetof(spregd_config, http_send_s)},
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
configure_option(spregd_config *c, int opt)
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
check_url(const spregd_config *c, const char *url, bool tls)
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
configure_check(spregd_config *c)
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

int
spregd_configure(spregd_config *c, int argc, char **argv)
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
	*c = (spregd_config) {
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
