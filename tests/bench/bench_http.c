/*
 * meson test --benchmark http: requests/s of the subprocessor page (GET /)
 * and the Atom feed (GET /changes.atom), plain and with If-None-Match
 * (answered 304), at 1 and 32 clients on keep-alive HTTP/1.1
 * connections, next to GetSubprocessor over nng (tcp) measured in the
 * same run against the same spregd (the sample registry). The figures
 * are printed; nothing here passes or fails on them.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench/bench.h"
#include "spreg/client.h"
#include "spreg/v1/registry.pb-c.h"
#include "support/spawn.h"

#define MEASURE_MS 2000
#define MANY 32
#define RESPONSE_MAX (4 << 20)

typedef enum kind {
	K_GET_NNG,
	K_PAGE,
	K_FEED,
	K_FEED_304,
} kind;

static const char *const kind_names[] = {
	"GetSubprocessor over nng (tcp)",
	"GET / (the page)",
	"GET /changes.atom",
	"GET /changes.atom, If-None-Match (304)",
};

typedef struct job {
	kind k;
	const char *rpc_url;
	const char *host;
	int port;
	const char *etag;
	atomic_bool *stop;
	uint64_t done;
	bool failed;
	char why[160];
} job;

/* ---- a minimal keep-alive HTTP/1.1 client ------------------------------- */

typedef struct conn {
	int fd;
	char *buf;
	size_t len;
} conn;

static bool
conn_open(conn *c, const char *host, int port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET,
	    .sin_port = htons((uint16_t) port)};
	int one = 1;

	c->len = 0;
	if ((c->buf = malloc(RESPONSE_MAX)) == NULL ||
	    inet_pton(AF_INET, host, &sa.sin_addr) != 1 ||
	    (c->fd = socket(AF_INET, SOCK_STREAM, 0)) < 0) {
		return false;
	}
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return connect(c->fd, (struct sockaddr *) &sa, sizeof(sa)) == 0;
}

static void
conn_close(conn *c)
{
	if (c->fd >= 0) {
		close(c->fd);
	}
	free(c->buf);
}

/* Sends one request and reads its whole response; its status, or -1. */
static int
http_get(conn *c, const char *path, const char *etag)
{
	char req[512];
	int n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: bench\r\n"
	    "%s%s%s\r\n", path, etag ? "If-None-Match: " : "", etag ? etag : "",
	    etag ? "\r\n" : "");

	if (write(c->fd, req, (size_t) n) != n) {
		return -1;
	}
	c->len = 0;
	char *end = NULL;
	while (end == NULL) {
		ssize_t got = read(c->fd, c->buf + c->len, RESPONSE_MAX - 1 -
		    c->len);
		if (got <= 0) {
			return -1;
		}
		c->len += (size_t) got;
		c->buf[c->len] = '\0';
		end = strstr(c->buf, "\r\n\r\n");
	}
	int status = atoi(c->buf + 9);
	const char *cl = strstr(c->buf, "Content-Length: ");
	size_t body = cl != NULL && cl < end ? strtoul(cl + 16, NULL, 10) : 0;
	size_t want = (size_t) (end + 4 - c->buf) + body;
	if (want >= RESPONSE_MAX) {
		return -1;
	}
	while (c->len < want) {
		ssize_t got = read(c->fd, c->buf + c->len, want - c->len);
		if (got <= 0) {
			return -1;
		}
		c->len += (size_t) got;
	}
	return status;
}

/* ---- the load --------------------------------------------------------------- */

static void *
run(void *arg)
{
	job *j = arg;
	spreg_client *cl = NULL;
	conn c = {.fd = -1};

	if (j->k == K_GET_NNG) {
		if (spreg_client_open(j->rpc_url, false, &cl) != SPREG_OK) {
			snprintf(j->why, sizeof(j->why), "nng client");
			j->failed = true;
			return NULL;
		}
		spreg_client_set_token(cl, test_token);
	} else if (!conn_open(&c, j->host, j->port)) {
		snprintf(j->why, sizeof(j->why), "connect: %s", strerror(errno));
		j->failed = true;
		conn_close(&c);
		return NULL;
	}
	while (!atomic_load(j->stop)) {
		if (j->k == K_GET_NNG) {
			Spreg__V1__GetSubprocessorRequest in =
			    SPREG__V1__GET_SUBPROCESSOR_REQUEST__INIT;
			ProtobufCMessage *out;
			in.id = "stripe";
			if (spreg_call(cl, "spreg.v1.Registry/GetSubprocessor",
			        &in.base,
			        &spreg__v1__get_subprocessor_response__descriptor,
			        &out) != SPREG_OK) {
				snprintf(j->why, sizeof(j->why), "GetSubprocessor");
				j->failed = true;
				break;
			}
			spreg_message_free(out);
		} else {
			int want = j->k == K_FEED_304 ? 304 : 200;
			int got = http_get(&c, j->k == K_PAGE ? "/" :
			    "/changes.atom", j->k == K_FEED_304 ? j->etag : NULL);
			if (got != want) {
				snprintf(j->why, sizeof(j->why), "status %d, not "
				    "%d", got, want);
				j->failed = true;
				break;
			}
		}
		j->done++;
	}
	spreg_client_close(cl);
	conn_close(&c);
	return NULL;
}

/* Requests per second of kind k with n clients; < 0 on a failure. */
static double
measure(kind k, int n, const char *rpc_url, const char *host, int port,
    const char *etag)
{
	job jobs[MANY];
	pthread_t ts[MANY];
	atomic_bool stop = false;
	uint64_t total = 0;
	bool failed = false;

	for (int i = 0; i < n; i++) {
		jobs[i] = (job) {k, rpc_url, host, port, etag, &stop, 0, false,
		    ""};
		pthread_create(&ts[i], NULL, run, &jobs[i]);
	}
	int64_t t0 = bench_now_ns();
	bench_sleep_ms(MEASURE_MS);
	atomic_store(&stop, true);
	for (int i = 0; i < n; i++) {
		pthread_join(ts[i], NULL);
		total += jobs[i].done;
		if (jobs[i].failed && !failed) {
			fprintf(stderr, "bench_http: %s: %s\n", kind_names[k],
			    jobs[i].why);
			failed = true;
		}
	}
	double secs = (double) (bench_now_ns() - t0) / 1e9;
	return failed ? -1 : (double) total / secs;
}

int
main(void)
{
	char dir[256], host[64], etag[64] = "";
	spawn server = {0};
	int port = 0, status = 1;

	if (getenv("SPREGD") == NULL) {
		fprintf(stderr, "bench_http: set SPREGD\n");
		return 1;
	}
	if (!bench_mkdtemp(dir, sizeof(dir), "spreg-bench-http")) {
		return 1;
	}
	/* All 32 clients come from one address. */
	const char *args[] = {"--reference", SPREG_TEST_DATA,
	    "--http-max-connections-per-peer", "64", NULL};
	spawn_opts so = {.dir = dir, .name = "data", .args = args, .tcp = true,
	    .http = true};
	if (!spawn_start(&server, &so) ||
	    sscanf(server.http_url, "http://%63[^:]:%d", host, &port) != 2) {
		fprintf(stderr, "bench_http: spregd did not start with HTTP\n");
		goto out;
	}
	/* The feed's current ETag, for the conditional requests. */
	conn c = {.fd = -1};
	if (!conn_open(&c, host, port) || http_get(&c, "/changes.atom", NULL) !=
	    200) {
		conn_close(&c);
		fprintf(stderr, "bench_http: no feed\n");
		goto out;
	}
	const char *e = strstr(c.buf, "ETag: ");
	if (e != NULL) {
		sscanf(e + 6, "%63[^\r]", etag);
	}
	conn_close(&c);

	printf("spregd with the sample registry, %d s per figure; HTTP on "
	       "keep-alive connections, nng over tcp\n", MEASURE_MS / 1000);
	printf("%-42s %12s %12s %14s\n", "measure", "1 client", "32 clients",
	    "32: x the Get");
	double get[2] = {0, 0};
	for (kind k = K_GET_NNG; k <= K_FEED_304; k++) {
		double r1 = measure(k, 1, server.url, host, port, etag);
		double r32 = measure(k, MANY, server.url, host, port, etag);
		if (r1 < 0 || r32 < 0) {
			goto out;
		}
		if (k == K_GET_NNG) {
			get[0] = r1;
			get[1] = r32;
		}
		printf("%-42s %10.0f/s %10.0f/s %13.2fx\n", kind_names[k], r1,
		    r32, get[1] > 0 ? r32 / get[1] : 0);
	}
	status = 0;
out:
	spawn_stop(&server, SIGTERM);
	bench_rmrf(dir);
	return status;
}
