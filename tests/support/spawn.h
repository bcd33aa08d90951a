/*
 * A real spregd for integration tests and benchmarks: started on a
 * folder with the test's own flags, ready once it wrote its ready file
 * (the URL it serves on), its admin token loaded; stopped by a signal
 * and restarted on the same data. One copy of what each test used to
 * write for itself.
 *
 *   spawn sv = {0};
 *   spawn_opts o = {.dir = dir, .args = (const char *[]){"--no-sample",
 *       NULL}};
 *   if (!spawn_start(&sv, &o)) ...          // sv.url, test_token
 *   spawn_stop(&sv, SIGTERM);               // the wait status
 *   spawn_start(&sv, &o);                   // the same data again
 *
 * Nothing here asserts: Check tests and the plain ones both use it, and
 * a failure to start is reported on stderr with its cause.
 */
#ifndef TEST_SPAWN_H
#define TEST_SPAWN_H

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../test_token.h"
#include "rawsp.h"

#define SPAWN_PATH 512
#define SPAWN_ARGS 48
#define SPAWN_URLS 4

typedef struct spawn_opts {
	const char *dir;	/* the test's temporary folder */
	const char *name;	/* data in DIR/NAME, ready DIR/NAME.ready,
				 * ipc://DIR/NAME.ipc and NAME-pub.ipc;
				 * NULL: DIR/var, DIR/ready, s.ipc, p.ipc */
	const char *bin_env;	/* variable naming the binary: "SPREGD"
				 * when NULL, "SPREGD_TEST" for the build
				 * with clock hooks */
	bool tcp;		/* tcp://127.0.0.1:0 for both URLs */
	const char *listen;	/* the RPC URL instead (a restart on the
				 * port the last run was given); or NULL */
	bool http;		/* --http http://127.0.0.1:0; else none */
	bool no_publish;	/* no --publish at all */
	const char *log_level;	/* --log-level; "warn" when NULL */
	const char *log;	/* the child's stderr appended here */
	bool log_truncate;	/* ... or truncated first */
	const char *const *env;	/* NAME, VALUE, ...; NULL-terminated */
	const char *const *args; /* further flags; NULL-terminated */
	int wait_ms;		/* ready within; 30 s when 0 */
	bool no_token;		/* do not read DATA/admin.token */
} spawn_opts;

typedef struct spawn {
	pid_t pid;		/* 0 when not running */
	char data[SPAWN_PATH];
	char ready[SPAWN_PATH];
	char listen[SPAWN_PATH];
	char publish[SPAWN_PATH];
	char log[SPAWN_PATH];	/* its stderr, when opts.log named one */
	char url[600];		/* the ready file's first RPC URL */
	char urls[SPAWN_URLS][600]; /* all its RPC URLs (spawn_url) */
	size_t nurls;
	char pub_url[600];	/* its "pub URL" line, or "" */
	char http_url[600];	/* its first "http URL" line, or "" */
	int status;		/* wait status when it exited early */
} spawn;

static inline void
spawn_sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long) (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
	}
}

/* A fresh folder /tmp/PREFIX-XXXXXX (or under $TMPDIR) in dir. */
static inline bool
spawn_mkdtemp(char *dir, size_t size, const char *prefix)
{
	const char *tmp = getenv("TMPDIR");

	if (tmp == NULL || tmp[0] == '\0') {
		tmp = "/tmp";
	}
	if (snprintf(dir, size, "%s/%s-XXXXXX", tmp, prefix) >= (int) size) {
		return false;
	}
	return mkdtemp(dir) != NULL;
}

/* rm -rf DIR; true when it went. */
static inline bool
spawn_rmrf(const char *dir)
{
	char cmd[SPAWN_PATH + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0;
}

static inline void
spawn_paths(spawn *s, const spawn_opts *o)
{
	const char *d = o->dir;
	const char *n = o->name;

	snprintf(s->data, sizeof(s->data), "%s/%s", d, n ? n : "var");
	snprintf(s->ready, sizeof(s->ready), "%s/%s%s", d, n ? n : "ready",
	    n ? ".ready" : "");
	if (o->tcp) {
		snprintf(s->listen, sizeof(s->listen), "tcp://127.0.0.1:0");
		snprintf(s->publish, sizeof(s->publish), "tcp://127.0.0.1:0");
	} else {
		snprintf(s->listen, sizeof(s->listen), "ipc://%s/%s.ipc", d,
		    n ? n : "s");
		snprintf(s->publish, sizeof(s->publish), "ipc://%s/%s%s.ipc",
		    d, n ? n : "p", n ? "-pub" : "");
	}
	if (o->listen != NULL) {
		snprintf(s->listen, sizeof(s->listen), "%s", o->listen);
	}
}

/* In the child: never returns. */
static inline void
spawn_exec(const spawn *s, const spawn_opts *o, const char *bin)
{
	const char *argv[SPAWN_ARGS];
	size_t n = 0;

	if (o->log != NULL) {
		int fd = open(o->log, O_WRONLY | O_CREAT |
		    (o->log_truncate ? O_TRUNC : O_APPEND), 0600);
		if (fd < 0 || dup2(fd, 2) < 0) {
			_exit(126);
		}
		close(fd);
	}
	for (size_t i = 0; o->env != NULL && o->env[i] != NULL &&
	     o->env[i + 1] != NULL; i += 2) {
		setenv(o->env[i], o->env[i + 1], 1);
	}
	argv[n++] = bin;
	argv[n++] = "--data";
	argv[n++] = s->data;
	argv[n++] = "--listen";
	argv[n++] = s->listen;
	if (!o->no_publish) {
		argv[n++] = "--publish";
		argv[n++] = s->publish;
	}
	argv[n++] = "--http";
	argv[n++] = o->http ? "http://127.0.0.1:0" : "none";
	argv[n++] = "--ready-file";
	argv[n++] = s->ready;
	argv[n++] = "--log-level";
	argv[n++] = o->log_level != NULL ? o->log_level : "warn";
	for (size_t i = 0; o->args != NULL && o->args[i] != NULL &&
	     n < SPAWN_ARGS - 1; i++) {
		argv[n++] = o->args[i];
	}
	argv[n] = NULL;
	execv(bin, (char *const *) argv);
	_exit(127);
}

/* The ready file (written whole, by rename): RPC URLs, one a line,
 * then "pub URL" and "http URL". True once it held an RPC URL. */
static inline bool
spawn_read_ready(spawn *s, FILE *f)
{
	char line[600];

	s->url[0] = '\0';
	s->pub_url[0] = '\0';
	s->nurls = 0;
	s->http_url[0] = '\0';
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		if (strncmp(line, "pub ", 4) == 0) {
			snprintf(s->pub_url, sizeof(s->pub_url), "%s",
			    line + 4);
		} else if (strncmp(line, "http ", 5) == 0) {
			if (s->http_url[0] == '\0') {
				snprintf(s->http_url, sizeof(s->http_url),
				    "%s", line + 5);
			}
		} else if (line[0] != '\0' && s->nurls < SPAWN_URLS) {
			snprintf(s->urls[s->nurls++], sizeof(s->urls[0]), "%s",
			    line);
		}
	}
	if (s->nurls > 0) {
		snprintf(s->url, sizeof(s->url), "%s", s->urls[0]);
	}
	return s->url[0] != '\0';
}

/* The first RPC URL of the ready file starting with scheme ("tcp://",
 * "ipc://"), or NULL. */
static inline const char *
spawn_url(const spawn *s, const char *scheme)
{
	for (size_t i = 0; i < s->nurls; i++) {
		if (strncmp(s->urls[i], scheme, strlen(scheme)) == 0) {
			return s->urls[i];
		}
	}
	return NULL;
}

/* Waits up to wait_ms for s->ready, which s->pid writes; then loads
 * DATA/admin.token unless no_token. False, with the cause on stderr
 * (what names the program), when it exited first or wrote nothing. */
static inline bool
spawn_wait_ready(spawn *s, const char *what, int wait_ms, bool no_token)
{
	int64_t t0 = rawsp_now_ms();

	while (rawsp_now_ms() - t0 < wait_ms) {
		FILE *f = fopen(s->ready, "r");
		if (f != NULL) {
			bool got = spawn_read_ready(s, f);
			fclose(f);
			if (got) {
				if (no_token || test_token_load(s->data)) {
					return true;
				}
				fprintf(stderr, "spawn: no %s/admin.token\n",
				    s->data);
				return false;
			}
		}
		if (waitpid(s->pid, &s->status, WNOHANG) == s->pid) {
			fprintf(stderr, "spawn: %s exited (status %d) before "
			    "it was ready\n", what, s->status);
			s->pid = 0;
			return false;
		}
		spawn_sleep_ms(20);
	}
	fprintf(stderr, "spawn: %s wrote no %s within %d ms\n", what,
	    s->ready, wait_ms);
	return false;
}

/* Forgets the last run's ready file and forks: 0 in the child, 1 in
 * the parent (s->pid set), -1 (said on stderr) when fork failed. */
static inline int
spawn_fork(spawn *s)
{
	unlink(s->ready);
	s->url[0] = '\0';
	s->nurls = 0;
	s->status = 0;
	fflush(stdout);	/* or the child writes it out a second time */
	fflush(stderr);
	s->pid = fork();
	if (s->pid < 0) {
		fprintf(stderr, "spawn: fork: %s\n", strerror(errno));
		s->pid = 0;
		return -1;
	}
	return s->pid == 0 ? 0 : 1;
}

/* Starts spregd (again, on the same data when s ran before) and waits
 * for its ready file; then s->url is where it serves and test_token its
 * admin token. False, with the cause on stderr, when it could not be
 * started, exited first (s->status) or wrote nothing in time. */
static inline bool
spawn_start(spawn *s, const spawn_opts *o)
{
	const char *env = o->bin_env != NULL ? o->bin_env : "SPREGD";
	const char *bin = getenv(env);

	if (bin == NULL || bin[0] == '\0') {
		fprintf(stderr, "spawn: %s is not set\n", env);
		return false;
	}
	spawn_paths(s, o);
	snprintf(s->log, sizeof(s->log), "%s", o->log ? o->log : "");
	int forked = spawn_fork(s);
	if (forked < 0) {
		return false;
	}
	if (forked == 0) {
		spawn_exec(s, o, bin);
	}
	return spawn_wait_ready(s, bin, o->wait_ms > 0 ? o->wait_ms : 30000,
	    o->no_token);
}

/*
 * Starts another program that writes a ready file (its URLs, one a
 * line, like spregd's): argv as given, ready the path it writes.
 * No token is read. The same stop functions end it.
 */
static inline bool
spawn_start_argv(spawn *s, char *const argv[], const char *ready,
    int wait_ms)
{
	snprintf(s->ready, sizeof(s->ready), "%s", ready);
	s->data[0] = '\0';
	s->log[0] = '\0';
	int forked = spawn_fork(s);
	if (forked < 0) {
		return false;
	}
	if (forked == 0) {
		execv(argv[0], argv);
		_exit(127);
	}
	return spawn_wait_ready(s, argv[0], wait_ms > 0 ? wait_ms : 30000,
	    true);
}

/* True while it runs; once it exited, false with s->status set. */
static inline bool
spawn_alive(spawn *s)
{
	if (s->pid <= 0) {
		return false;
	}
	if (waitpid(s->pid, &s->status, WNOHANG) == s->pid) {
		s->pid = 0;
		return false;
	}
	return true;
}

/* "exit status N", "killed by signal N": a wait status for a message. */
static inline const char *
spawn_describe(int status, char *buf, size_t len)
{
	if (WIFEXITED(status)) {
		snprintf(buf, len, "exit status %d", WEXITSTATUS(status));
	} else if (WIFSIGNALED(status)) {
		snprintf(buf, len, "killed by signal %d", WTERMSIG(status));
	} else {
		snprintf(buf, len, "wait status %#x", (unsigned) status);
	}
	return buf;
}

/* Sends sig (SIGTERM: a clean stop; SIGKILL: a crash) and waits for the
 * exit; the wait status, or -1 when it was not running. */
static inline int
spawn_stop(spawn *s, int sig)
{
	int status;
	pid_t got;

	if (s->pid <= 0) {
		return -1;
	}
	kill(s->pid, sig);
	while ((got = waitpid(s->pid, &status, 0)) < 0 && errno == EINTR) {
	}
	s->pid = 0;
	return got < 0 ? -1 : status;
}

/* Sends sig and waits up to bound_ms (took_ms: how long); then kills it
 * and returns -1, else the wait status. */
static inline int
spawn_stop_within(spawn *s, int sig, int bound_ms, int64_t *took_ms)
{
	int status;
	int64_t t0 = rawsp_now_ms();

	*took_ms = 0;
	if (s->pid <= 0) {
		return -1;
	}
	kill(s->pid, sig);
	while (rawsp_now_ms() - t0 < bound_ms) {
		if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
			*took_ms = rawsp_now_ms() - t0;
			s->pid = 0;
			return status;
		}
		spawn_sleep_ms(10);
	}
	kill(s->pid, SIGKILL);
	waitpid(s->pid, &status, 0);
	*took_ms = rawsp_now_ms() - t0;
	s->pid = 0;
	return -1;
}

/* Resident memory of the server in KiB, or -1. */
static inline long
spawn_rss_kb(const spawn *s)
{
	return rawsp_rss_kb(s->pid);
}

/* A "Key:   N kB" line of the server's /proc/PID/status (VmRSS,
 * RssAnon, VmHWM) in KiB, or -1. */
static inline long
spawn_status_kb(const spawn *s, const char *key)
{
	return rawsp_status_kb(s->pid, key);
}

#endif
