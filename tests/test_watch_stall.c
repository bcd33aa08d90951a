/*
 * `spreg watch` cannot stall (issue 14):
 *
 *   - with no --pub, against a server publishing on a port of its own
 *     choosing (tcp://127.0.0.1:0), it finds the stream through
 *     ServerInfo and prints every one of 300 changes;
 *   - with --pub naming another server's PUB socket, it drops that
 *     server's notifications and heartbeats (another store), says on
 *     stderr that it polls the log, and still prints every change of its
 *     own server, and none of the other's.
 *
 * Both servers run --insecure-local, so their notifications carry whole
 * changes: a watch that took the other server's for its own would print
 * them. The watcher is the real spreg command; the test waits for it to
 * exit after --count changes (bounded, only to end a stalled run).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "spreg/client.h"
#include "support/check.h"
#include "support/outbox.h"
#include "support/spawn.h"

#define CHANGES 300
#define WATCH_BOUND_MS 120000	/* ends a stalled watch; never a pass */

static char dir[256];	/* room for spawn.h's paths below it */
static char spreg_bin[SPAWN_PATH];

/* spreg --server URL watch --since N --count C [--pub P], its stdout
 * and stderr in files of dir named after tag. */
static pid_t
watch_start(const char *tag, const char *url, uint64_t since,
    const char *pub)
{
	char since_s[32], count_s[32], out[SPAWN_PATH + 32],
	    errf[SPAWN_PATH + 32];

	snprintf(since_s, sizeof(since_s), "%llu", (unsigned long long) since);
	snprintf(count_s, sizeof(count_s), "%d", CHANGES);
	snprintf(out, sizeof(out), "%s/%s.out", dir, tag);
	snprintf(errf, sizeof(errf), "%s/%s.err", dir, tag);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		FILE *o = freopen(out, "w", stdout);
		FILE *e = freopen(errf, "w", stderr);
		if (o == NULL || e == NULL) {
			_exit(126);
		}
		unsetenv("SPREG_PUB");
		unsetenv("SPREG_TOKEN_FILE");
		unsetenv("SPREG_TOKEN");
		if (pub != NULL) {
			execl(spreg_bin, spreg_bin, "--server", url, "watch",
			    "--since", since_s, "--count", count_s, "--pub",
			    pub, (char *) NULL);
		} else {
			execl(spreg_bin, spreg_bin, "--server", url, "watch",
			    "--since", since_s, "--count", count_s,
			    (char *) NULL);
		}
		_exit(127);
	}
	return pid;
}

/* Waits for the watch to exit; its exit status, or -1 when it had to be
 * killed (it stalled). */
static int
watch_wait(pid_t pid)
{
	int status;
	int64_t t0 = rawsp_now_ms();

	while (rawsp_now_ms() - t0 < WATCH_BOUND_MS) {
		if (waitpid(pid, &status, WNOHANG) == pid) {
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
		}
		spawn_sleep_ms(50);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return -1;
}

/* The watch printed exactly seqs since+1 .. since+CHANGES, in order,
 * each a vendor whose id starts with prefix. */
static void
check_output(const char *tag, uint64_t since, const char *prefix)
{
	char path[SPAWN_PATH + 32], line[1024];
	uint64_t want = since + 1;
	size_t lines = 0, wrong_seq = 0, wrong_id = 0;

	snprintf(path, sizeof(path), "%s/%s.out", dir, tag);
	FILE *f = fopen(path, "r");
	CHECK(f != NULL, "%s: no output file", tag);
	if (f == NULL) {
		return;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		unsigned long long seq;
		char time[64], kind[64], subject[128];
		lines++;
		if (sscanf(line, "%llu %63s %63s %127s", &seq, time, kind,
		        subject) != 4) {
			wrong_seq++;
			continue;
		}
		if (seq != want) {
			if (wrong_seq++ == 0) {
				printf("# %s: seq %llu where %llu was due\n",
				    tag, seq, (unsigned long long) want);
			}
		}
		want = seq + 1;
		if (strncmp(subject, prefix, strlen(prefix)) != 0 &&
		    wrong_id++ == 0) {
			printf("# %s: seq %llu is %s, not one of %s*\n", tag,
			    seq, subject, prefix);
		}
	}
	fclose(f);
	CHECK(lines == CHANGES, "%s: %zu changes printed, %d written", tag,
	    lines, CHANGES);
	CHECK(wrong_seq == 0, "%s: %zu lines out of seq order", tag,
	    wrong_seq);
	CHECK(wrong_id == 0, "%s: %zu changes of the other server", tag,
	    wrong_id);
}

static bool
file_has(const char *tag, const char *ext, const char *text)
{
	char path[SPAWN_PATH + 32], line[2048];
	bool found = false;

	snprintf(path, sizeof(path), "%s/%s.%s", dir, tag, ext);
	FILE *f = fopen(path, "r");
	while (f != NULL && !found && fgets(line, sizeof(line), f) != NULL) {
		found = strstr(line, text) != NULL;
	}
	if (f != NULL) {
		fclose(f);
	}
	return found;
}

static void
start(spawn *s, const char *name)
{
	static const char *const args[] = {"--no-sample", "--insecure-local",
	    NULL};
	spawn_opts o = {.dir = dir, .name = name, .tcp = true,
	    .args = args, .no_token = true};

	if (!spawn_start(s, &o)) {
		printf("# spregd %s did not start\n", name);
		exit(1);
	}
}

int
main(void)
{
	const char *build = getenv("SPREG_BUILD");
	spawn a = {0}, b = {0};
	spreg_client *ca = NULL, *cb = NULL;

	if (build == NULL) {
		printf("SPREG_BUILD is not set\n");
		return 1;
	}
	snprintf(spreg_bin, sizeof(spreg_bin), "%s/src/spreg", build);
	if (!spawn_mkdtemp(dir, sizeof(dir), "spreg-stall")) {
		printf("no temporary folder\n");
		return 1;
	}
	start(&a, "a");
	start(&b, "b");
	CHECK(strcmp(a.pub_url, "tcp://127.0.0.1:7451") != 0,
	    "the server publishes on a port of its own: %s", a.pub_url);
	if (spreg_client_open(a.url, true, &ca) != SPREG_OK ||
	    spreg_client_open(b.url, true, &cb) != SPREG_OK) {
		printf("cannot open clients\n");
		return 1;
	}
	spreg_client_set_timeout(ca, 30000);
	spreg_client_set_timeout(cb, 30000);

	/* 1. No --pub: ServerInfo names the stream. */
	uint64_t since = outbox_last_seq(ca);
	pid_t w = watch_start("nopub", a.url, since, NULL);
	for (int i = 0; i < CHANGES; i++) {
		CHECK(outbox_put(ca, "a-", i, true) == SPREG_OK, "put a-%d",
		    i);
	}
	int rc = watch_wait(w);
	CHECK(rc == 0, "watch without --pub exited %d (-1: stalled)", rc);
	check_output("nopub", since, "a-");

	/* 2. --pub of another server, which writes changes of the same
	 * seqs meanwhile. */
	since = outbox_last_seq(ca);
	w = watch_start("otherpub", a.url, since, b.pub_url);
	for (int i = 0; i < CHANGES; i++) {
		CHECK(outbox_put(cb, "b-", i, true) == SPREG_OK, "put b-%d",
		    i);
		CHECK(outbox_put(ca, "a2-", i, true) == SPREG_OK,
		    "put a2-%d", i);
	}
	rc = watch_wait(w);
	CHECK(rc == 0, "watch with another server's --pub exited %d "
	               "(-1: stalled)", rc);
	check_output("otherpub", since, "a2-");
	CHECK(file_has("otherpub", "err", "no heartbeat from the server's "
	                                  "store"),
	    "the watch says on stderr that the stream is silent");

	spreg_client_close(ca);
	spreg_client_close(cb);
	spawn_stop(&a, SIGTERM);
	spawn_stop(&b, SIGTERM);
	if (failed == 0) {
		spawn_rmrf(dir);
	} else {
		printf("# kept %s\n", dir);
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed == 0 ? 0 : 1;
}
