/*
 * The peers a service would read vendor data from instead, measured in
 * the same run as spreg: Redis GET (redis-benchmark against a
 * redis-server this program starts on a free loopback port) and
 * PostgreSQL pgbench -S (a throwaway cluster); a row is skipped, with a
 * line saying why, when the server is not installed. Then spreg's own
 * ways to be cheaper: co-located reads (file://), one client shared by
 * many threads, and a batch of ids.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "registry.h"

#define PEER_READY_MS 10000
#define REDIS_KEYS 100000

/* A TCP port free on 127.0.0.1 now; 0 when none. */
static int
free_port(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	int port = 0;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && bind(fd, (struct sockaddr *) &sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *) &sa, &len) == 0) {
		port = ntohs(sa.sin_port);
	}
	if (fd >= 0) {
		close(fd);
	}
	return port;
}

/* Is something listening on 127.0.0.1:port? */
static bool
port_open(int port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET,
	    .sin_port = htons((uint16_t) port)};
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bool ok = fd >= 0 &&
	    connect(fd, (struct sockaddr *) &sa, sizeof(sa)) == 0;
	if (fd >= 0) {
		close(fd);
	}
	return ok;
}

static bool
in_path(const char *prog)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", prog);
	return system(cmd) == 0;
}

/* The first number after needle in the output of cmd; < 0 if none. */
static double
run_number(const char *cmd, const char *needle)
{
	char line[512];
	double v = -1;
	FILE *f = popen(cmd, "r");

	if (f == NULL) {
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		char *p = strstr(line, needle);
		if (p != NULL && v < 0) {
			p += strlen(needle);
			while (*p != '\0' && (*p < '0' || *p > '9')) {
				p++;
			}
			v = strtod(p, NULL);
		}
	}
	return pclose(f) == 0 ? v : -1;
}

/* CPU time of this process's waited-for children, in microseconds. */
static double
children_cpu_us(void)
{
	struct rusage ru;

	getrusage(RUSAGE_CHILDREN, &ru);
	return (double) (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 +
	    (double) (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

/* Redis GET of value_size bytes at each client count, median of rounds,
 * and the CPU a GET cost redis-server and redis-benchmark in that
 * round (cpu_us[c][0], [1]): unlike calls/s, CPU per call does not
 * depend on what else runs on the machine. False when redis is not
 * installed or did not start. */
static bool
redis_get(const char *dir, size_t value_size, int rounds, double per_s[2],
    double cpu_us[2][2])
{
	static const size_t clients[2] = {1, MANY_CLIENTS};
	char cmd[512];
	int port;

	if (!in_path("redis-server") || !in_path("redis-benchmark")) {
		printf("Redis: skipped (redis-server or redis-benchmark not "
		    "installed)\n");
		return false;
	}
	if ((port = free_port()) == 0) {
		printf("Redis: skipped (no free port)\n");
		return false;
	}
	pid_t pid = fork();
	if (pid == 0) {
		char p[16];
		snprintf(p, sizeof(p), "%d", port);
		if (freopen("/dev/null", "w", stdout) == NULL) {
			_exit(127);
		}
		execlp("redis-server", "redis-server", "--port", p, "--bind",
		    "127.0.0.1", "--save", "", "--appendonly", "no", "--dir",
		    dir, (char *) NULL);
		_exit(127);
	}
	bool ok = pid > 0;
	for (int i = 0; ok && i < PEER_READY_MS / 20 && !port_open(port);
	     i++) {
		bench_sleep_ms(20);
	}
	ok = ok && port_open(port);
	/* Every key GET draws is there, with a value of the reply's size. */
	snprintf(cmd, sizeof(cmd), "redis-benchmark -h 127.0.0.1 -p %d -c "
	    "%d -n %d -r %d -d %zu -t set --csv 2>/dev/null", port,
	    MANY_CLIENTS, REDIS_KEYS * 4, REDIS_KEYS, value_size);
	ok = ok && run_number(cmd, "\"SET\"") > 0;
	for (size_t c = 0; ok && c < 2; c++) {
		double r[8], srv[8], cli[8];
		size_t n = clients[c] == 1 ? 20000 : 100000;
		for (int k = 0; ok && k < rounds; k++) {
			snprintf(cmd, sizeof(cmd), "redis-benchmark -h "
			    "127.0.0.1 -p %d -c %zu -n %zu -r %d -d %zu -t get "
			    "--csv 2>/dev/null", port, clients[c], n,
			    REDIS_KEYS, value_size);
			double s0 = bench_cpu_us(pid), c0 = children_cpu_us();
			ok = (r[k] = run_number(cmd, "\"GET\"")) > 0;
			srv[k] = (bench_cpu_us(pid) - s0) / (double) n;
			cli[k] = (children_cpu_us() - c0) / (double) n;
		}
		if (ok) {
			per_s[c] = median(r, (size_t) rounds);
			cpu_us[c][0] = median(srv, (size_t) rounds);
			cpu_us[c][1] = median(cli, (size_t) rounds);
		}
	}
	if (pid > 0) {
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
	}
	if (!ok) {
		printf("Redis: skipped (redis-server on port %d did not "
		    "answer redis-benchmark)\n", port);
	}
	return ok;
}

/* pgbench -S at each client count on a throwaway cluster, median of
 * rounds; false when PostgreSQL is not installed or did not start. As
 * root the cluster runs as the user postgres (initdb refuses root). */
static bool
postgres_select(int measure_ms, int rounds, double per_s[2])
{
	static const size_t clients[2] = {1, MANY_CLIENTS};
	const char *as = "";
	char dir[256], cmd[2048];
	int port;

	if (!in_path("initdb") || !in_path("pg_ctl") || !in_path("pgbench")) {
		printf("PostgreSQL: skipped (initdb, pg_ctl or pgbench not "
		    "installed)\n");
		return false;
	}
	if (!bench_mkdtemp(dir, sizeof(dir), "spreg-bench-pg") ||
	    (port = free_port()) == 0) {
		printf("PostgreSQL: skipped (no folder or port)\n");
		return false;
	}
	if (geteuid() == 0) {
		struct passwd *pw = getpwnam("postgres");
		if (pw == NULL || chown(dir, pw->pw_uid, pw->pw_gid) != 0) {
			printf("PostgreSQL: skipped (running as root, and no "
			    "user postgres to run it as)\n");
			bench_rmrf(dir);
			return false;
		}
		as = "runuser -u postgres -- ";
	}
	snprintf(cmd, sizeof(cmd), "%sinitdb -D %s/data -A trust -U postgres "
	    ">%s/initdb.log 2>&1 && %spg_ctl -D %s/data -l %s/pg.log -w -o "
	    "'-p %d -k %s -c listen_addresses=127.0.0.1' start >/dev/null "
	    "2>&1 && %spgbench -h 127.0.0.1 -p %d -U postgres -i -s 1 "
	    "postgres >/dev/null 2>&1", as, dir, dir, as, dir, dir, port, dir,
	    as, port);
	bool ok = system(cmd) == 0;
	for (size_t c = 0; ok && c < 2; c++) {
		double r[8];
		for (int k = 0; ok && k < rounds; k++) {
			snprintf(cmd, sizeof(cmd), "%spgbench -h 127.0.0.1 -p "
			    "%d -U postgres -S -n -c %zu -j %zu -T %d postgres "
			    "2>/dev/null", as, port, clients[c],
			    clients[c] > 2 ? (size_t) 2 : clients[c],
			    (measure_ms + 999) / 1000);
			ok = (r[k] = run_number(cmd, "tps = ")) > 0;
		}
		if (ok) {
			per_s[c] = median(r, (size_t) rounds);
		}
	}
	snprintf(cmd, sizeof(cmd), "%spg_ctl -D %s/data -m fast -w stop "
	    ">/dev/null 2>&1", as, dir);
	if (system(cmd) != 0) {
		printf("PostgreSQL: pg_ctl stop failed (cluster in %s)\n",
		    dir);
	}
	if (!ok) {
		printf("PostgreSQL: skipped (the cluster in %s did not start "
		    "or pgbench failed)\n", dir);
	} else {
		bench_rmrf(dir);
	}
	return ok;
}

/* The median calls/s of the measure named name; 0 when none. */
static double
measure_value(const char *name)
{
	for (size_t i = 0; i < nmeasures; i++) {
		if (strcmp(measures[i].name, name) == 0) {
			return measures[i].value;
		}
	}
	return 0;
}

/* rounds of phase p into a measure named name, against baseline. */
static measure *
run_rounds(phase *p, pid_t server, int measure_ms, int rounds,
    const char *unit, const char *name, const char *baseline_name,
    double baseline)
{
	load_result r[8];

	for (int k = 0; k < rounds; k++) {
		if (!phase_run(p, server, measure_ms, &r[k])) {
			return NULL;
		}
	}
	measure *m = rounds_measure(unit, r, (size_t) rounds, name);
	if (baseline > 0) {
		snprintf(m->baseline_name, sizeof(m->baseline_name), "%s",
		    baseline_name);
		m->baseline = baseline;
		m->ratio = m->value / baseline;
		m->ratio_kind = "of baseline";
	}
	return m;
}

bool
measure_peers(const targets *t, const char *store_dir,
    const store_figures *fig, int measure_ms, int rounds)
{
	double redis[2] = {0}, redis_cpu[2][2] = {{0}}, pg[2] = {0};
	char url[PATH_MAX_LEN + 8];
	spreg_client *shared;
	bool have_redis = redis_get(t->dir, t->wire->reply_size, rounds,
	    redis, redis_cpu);
	bool have_pg = postgres_select(measure_ms, rounds, pg);

	if (have_redis) {
		for (size_t c = 0; c < 2; c++) {
			measure *m = c == 0 ?
			    measure_add("calls/s", "Redis GET 1 client") :
			    measure_add("calls/s", "Redis GET %d clients",
			        MANY_CLIENTS);
			m->value = redis[c];
			m->server_cpu_us = redis_cpu[c][0];
			m->client_cpu_us = redis_cpu[c][1];
		}
	}
	if (have_pg) {
		measure_add("calls/s", "PostgreSQL pgbench -S 1 client")->value =
		    pg[0];
		measure_add("calls/s", "PostgreSQL pgbench -S %d clients",
		    MANY_CLIENTS)->value = pg[1];
	}

	/* Co-located: one file:// client, shared by the threads. */
	snprintf(url, sizeof(url), "file://%s", store_dir);
	if (server_client_open(url, false, &shared) != SPREG_OK) {
		fprintf(stderr, "bench: %s: %s\n", url,
		    spreg_client_error(NULL));
		return false;
	}
	for (size_t c = 0; c < 2; c++) {
		size_t threads = c == 0 ? 1 : MANY_CLIENTS;
		char name[64];
		phase p = {.kind = LOAD_GET, .clients = threads, .url = url,
		    .vendors = t->vendors, .shared = shared};
		snprintf(name, sizeof(name), "Get file:// %zu thread%s",
		    threads, threads > 1 ? "s" : "");
		measure *m = run_rounds(&p, t->spregd, measure_ms, rounds,
		    "calls/s", name, have_redis ? "Redis GET" : "LMDB read",
		    have_redis ? redis[c] : fig->raw_reads_per_s);
		if (m == NULL) {
			spreg_client_close(shared);
			return false;
		}
		if (c == 0 && have_redis) {
			m->target = m->ratio >= 10 ? 1 : -1;
			snprintf(m->target_text, sizeof(m->target_text),
			    ">= 10x Redis GET");
		}
		/* The same in CPU: calls per CPU second, all of it in
		 * this process, against both Redis processes together. */
		double redis_us = redis_cpu[c][0] + redis_cpu[c][1];
		if (have_redis && m->client_cpu_us > 0 && redis_us > 0) {
			measure *k = measure_add("calls/CPU-s", "%s, per CPU",
			    name);
			k->value = 1e6 / m->client_cpu_us;
			k->client_cpu_us = m->client_cpu_us;
			snprintf(k->baseline_name, sizeof(k->baseline_name),
			    "Redis GET");
			k->baseline = 1e6 / redis_us;
			k->ratio = k->value / k->baseline;
			k->ratio_kind = "of baseline";
		}
	}
	spreg_client_close(shared);

	/* Remote: 32 threads through one client, against 32 clients. */
	if (server_client_open(t->spreg_tcp, false, &shared) != SPREG_OK) {
		fprintf(stderr, "bench: %s: %s\n", t->spreg_tcp,
		    spreg_client_error(NULL));
		return false;
	}
	char name[64], base[64];
	phase ps = {.kind = LOAD_GET, .clients = MANY_CLIENTS,
	    .url = t->spreg_tcp, .vendors = t->vendors, .shared = shared};
	snprintf(name, sizeof(name), "Get tcp %d threads, 1 client",
	    MANY_CLIENTS);
	snprintf(base, sizeof(base), "Get tcp %d clients", MANY_CLIENTS);
	bool ok = run_rounds(&ps, t->spregd, measure_ms, rounds, "calls/s",
	    name, "32 clients", measure_value(base)) != NULL;
	spreg_client_close(shared);

	/* A batch of BATCH_IDS against as many Gets, in ids per second. */
	for (size_t c = 0; ok && c < 2; c++) {
		size_t clients = c == 0 ? 1 : MANY_CLIENTS;
		phase pb = {.kind = LOAD_BATCH, .clients = clients,
		    .url = t->spreg_tcp, .vendors = t->vendors};
		snprintf(name, sizeof(name), "GetSubprocessors x%d tcp %zu "
		    "client%s", BATCH_IDS, clients, clients > 1 ? "s" : "");
		snprintf(base, sizeof(base), "Get tcp %zu client%s", clients,
		    clients > 1 ? "s" : "");
		measure *m = run_rounds(&pb, t->spregd, measure_ms, rounds,
		    "batches/s", name, "Get", 0);
		if (m == NULL) {
			return false;
		}
		/* ids/s over Gets/s: how many Gets' worth a batch costs. */
		double get = measure_value(base);
		if (get > 0) {
			snprintf(m->baseline_name, sizeof(m->baseline_name),
			    "%d Gets", BATCH_IDS);
			m->baseline = get / BATCH_IDS;
			m->ratio = m->value / m->baseline;
			m->ratio_kind = "of baseline";
		}
	}
	return ok;
}
