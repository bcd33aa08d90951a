/*
 * Webhooks from the durable outbox (issue 14).
 *
 * A receiver (tests/support/webhook_receiver.py, checking Standard
 * Webhooks signatures) takes the changes of customer acme while 1,000
 * changes are written, 900 of them acme's: the receiver is down (killed)
 * for part of the burst, and spregd is killed with -9 twice during it.
 * Afterwards the receiver holds every change of acme, each id at least
 * once, first deliveries in seq order, every duplicate the same body,
 * every signature good (webhook_receiver.py check).
 *
 * Beside it, webhooks of the same customer point at a receiver that
 * answers 500, one that never answers, one that redirects to itself and
 * one that answers with 16 MiB: each is reported on `spreg webhook list`
 * and none holds up the good one. The one answering 500 is paused after
 * --webhook-pause-after. Bad input to `spreg webhook add` (a URL that is
 * not http(s), a secret file that cannot be read, a bad secret, an
 * unknown customer) is refused naming it, and adds nothing.
 *
 * Waits are bounded, only to end a run that went wrong.
 */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support/check.h"
#include "support/outbox.h"
#include "support/spawn.h"

#define CHANGES 1000
#define WAIT_MS 120000
/* The receiver answers this long after logging a delivery: a kill
 * meanwhile leaves one to send again. */
#define DELAY_MS 20

static char dir[256];	/* room for spawn.h's paths below it */
static char spreg_bin[SPAWN_PATH];
static char script[SPAWN_PATH];
static spawn sv;
static spawn_opts so;
static outbox_receiver rcv;


/* ---- the spreg command ----------------------------------------------- */

/* spreg --server URL ARGS, its stdout in DIR/out and stderr in DIR/err;
 * the exit status. */
static int
spreg(const char *fmt, ...)
{
	char args[2048], cmd[8192];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof(cmd), "'%s' --server '%s' %s >'%s/out' "
	    "2>'%s/err'", spreg_bin, sv.url, args, dir, dir);
	int status = system(cmd);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static bool
file_has(const char *name, const char *text)
{
	char path[SPAWN_PATH + 16], line[8192];
	bool found = false;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "r");
	while (f != NULL && !found && fgets(line, sizeof(line), f) != NULL) {
		found = strstr(line, text) != NULL;
	}
	if (f != NULL) {
		fclose(f);
	}
	return found;
}

/* The JSON line of webhook id in the last `webhook list --json`. */
static bool
hook_line(const char *id, char *line, size_t len)
{
	char path[SPAWN_PATH + 16], want[64];

	snprintf(path, sizeof(path), "%s/out", dir);
	snprintf(want, sizeof(want), "\"id\":\"%s\"", id);
	FILE *f = fopen(path, "r");
	bool found = false;
	while (f != NULL && !found && fgets(line, (int) len, f) != NULL) {
		found = strstr(line, want) != NULL;
	}
	if (f != NULL) {
		fclose(f);
	}
	return found;
}

static bool
hook_has(const char *id, const char *text)
{
	char line[8192];

	spreg("webhook list --json");
	return hook_line(id, line, sizeof(line)) && strstr(line, text) != NULL;
}

/* ---- writes ---------------------------------------------------------- */

/* The seqs acme is owed after since: ListChanges for the customer,
 * written one a line to DIR/expect. */
static size_t
expect_write(spreg_client *c, uint64_t since)
{
	char path[SPAWN_PATH + 16];
	size_t n = 0;

	snprintf(path, sizeof(path), "%s/expect", dir);
	FILE *f = fopen(path, "w");
	for (;;) {
		Spreg__V1__ListChangesRequest req =
		    SPREG__V1__LIST_CHANGES_REQUEST__INIT;
		ProtobufCMessage *out = NULL;
		char customer[] = "acme";
		req.since_seq = since;
		req.limit = 500;
		req.customer_id = customer;
		if (spreg_call(c, "ListChanges", &req.base,
		        &spreg__v1__list_changes_response__descriptor, &out) !=
		    SPREG_OK) {
			printf("# ListChanges: %s\n", spreg_client_error(c));
			break;
		}
		const Spreg__V1__ListChangesResponse *r = (const void *) out;
		for (size_t i = 0; i < r->n_changes; i++) {
			fprintf(f, "%llu\n",
			    (unsigned long long) r->changes[i]->seq);
			n++;
		}
		bool more = r->next_since_seq > since &&
		    r->next_since_seq < r->last_seq;
		since = r->next_since_seq;
		spreg_message_free(out);
		if (!more) {
			break;
		}
	}
	fclose(f);
	return n;
}

/* webhook_receiver.py check; quiet unless report. */
static bool
receiver_check(bool report)
{
	char cmd[4 * SPAWN_PATH];

	snprintf(cmd, sizeof(cmd), "/usr/bin/python3 '%s' check --log "
	    "'%s/received.jsonl' --expect '%s/expect' --hook wh-1 %s", script,
	    dir, dir, report ? "" : ">/dev/null");
	fflush(stdout);
	int status = system(cmd);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* ---- the scenario ---------------------------------------------------- */

static void
bad_input(void)
{
	int rc = spreg("webhook add --customer acme ftp://127.0.0.1/x");
	CHECK(rc == 3 && file_has("err", "url: must start with https:// or "
	                                  "http://"),
	    "a URL that is not http(s) is refused naming url (exit %d)", rc);
	rc = spreg("webhook add --customer acme http://127.0.0.1:%d/ok "
	           "--secret-file '%s/no-such-secret'", rcv.port, dir);
	CHECK(rc == 1 && file_has("err", "no-such-secret"),
	    "an unreadable secret file is named, exit 1 (exit %d)", rc);
	char path[SPAWN_PATH + 16];
	snprintf(path, sizeof(path), "%s/bad-secret", dir);
	FILE *f = fopen(path, "w");
	fputs("hello\n", f);
	fclose(f);
	rc = spreg("webhook add --customer acme http://127.0.0.1:%d/ok "
	           "--secret-file '%s'", rcv.port, path);
	CHECK(rc == 3 && file_has("err", "secret: must be"),
	    "a secret not of the whsec_ form is refused (exit %d)", rc);
	rc = spreg("webhook add --customer nobody http://127.0.0.1:%d/ok",
	    rcv.port);
	CHECK(rc == 2 && file_has("err", "customer_id"),
	    "an unknown customer is NOT_FOUND naming customer_id (exit %d)",
	    rc);
	rc = spreg("webhook list --json");
	CHECK(rc == 0 && !file_has("out", "\"id\""),
	    "refused webhooks added nothing");
}

int
main(void)
{
	const char *build = getenv("SPREG_BUILD");
	const char *source = getenv("SPREG_SOURCE");
	static const char *const args[] = {"--no-sample", "--webhook-timeout",
	    "2", "--webhook-retry-max", "1", "--webhook-pause-after", "5",
	    NULL};
	spreg_client *c = NULL;
	char path[SPAWN_PATH + 32];

	if (build == NULL || source == NULL) {
		printf("SPREG_BUILD and SPREG_SOURCE must be set\n");
		return 1;
	}
	snprintf(spreg_bin, sizeof(spreg_bin), "%s/src/spreg", build);
	snprintf(script, sizeof(script),
	    "%s/tests/support/webhook_receiver.py", source);
	if (!spawn_mkdtemp(dir, sizeof(dir), "spreg-webhook")) {
		printf("no temporary folder\n");
		return 1;
	}
	if (!outbox_secret_write(dir)) {
		return 1;
	}
	snprintf(path, sizeof(path), "%s/spregd.log", dir);
	so = (spawn_opts) {.dir = dir, .args = args, .log = path,
	    .log_level = "warn"};
	if (!spawn_start(&sv, &so)) {
		return 1;
	}
	snprintf(path, sizeof(path), "%s/var/admin.token", dir);
	setenv("SPREG_TOKEN_FILE", path, 1);
	if (!outbox_receiver_start(&rcv, dir, 0, DELAY_MS)) {
		return 1;
	}
	if (spreg_client_open(sv.url, true, &c) != SPREG_OK) {
		return 1;
	}
	spreg_client_set_token(c, test_token);
	spreg_client_set_timeout(c, 5000);
	CHECK(outbox_customer_put(c) == SPREG_OK, "put customer: %s",
	    spreg_client_error(c));
	bad_input();

	/* The good receiver first (wh-1), then the bad ones. */
	int rc = spreg("webhook add --customer acme http://127.0.0.1:%d/ok "
	               "--secret-file '%s/secret'", rcv.port, dir);
	CHECK(rc == 0 && file_has("err", "added webhook wh-1"),
	    "webhook add (exit %d)", rc);
	const char *bad[] = {"500", "hang", "redirect", "huge"};
	for (size_t i = 0; i < 4; i++) {
		rc = spreg("webhook add --customer acme http://127.0.0.1:%d/%s",
		    rcv.port, bad[i]);
		CHECK(rc == 0 && file_has("out", "whsec_"),
		    "webhook add /%s prints the secret made (exit %d)", bad[i],
		    rc);
	}
	uint64_t since = outbox_last_seq(c);

	/* The burst: the receiver down from 150 to 450, spregd killed
	 * at 550 and 800, while it catches up. */
	int saved_port = rcv.port;
	for (int i = 0; i < CHANGES; i++) {
		if (i == 150) {
			outbox_receiver_kill(&rcv);
		}
		if (i == 450) {
			CHECK(outbox_receiver_start(&rcv, dir, saved_port,
			        DELAY_MS) &&
			        rcv.port == saved_port,
			    "receiver back on its port");
		}
		if (i == 550 || i == 800) {
			CHECK(spawn_stop(&sv, SIGKILL) != -1, "kill -9");
			if (!spawn_start(&sv, &so)) {
				return 1;
			}
		}
		CHECK(outbox_put(c, "v-", i, i % 10 == 0) == SPREG_OK, "put %d", i);
	}
	size_t owed = expect_write(c, since);
	CHECK(owed == CHANGES - CHANGES / 10, "%zu changes concern acme, "
	                                      "%d written for it", owed,
	    CHANGES - CHANGES / 10);

	/* Everything arrives; a webhook paused for failing meanwhile (the
	 * receiver was down) is resumed and catches up. */
	bool all = false;
	int resumed = 0;
	for (int64_t t0 = rawsp_now_ms(); !all &&
	     rawsp_now_ms() - t0 < WAIT_MS;) {
		all = receiver_check(false);
		if (!all && hook_has("wh-1", "\"state\":\"paused\"")) {
			spreg("webhook resume wh-1");
			resumed++;
		}
		if (!all) {
			spawn_sleep_ms(500);
		}
	}
	printf("# wh-1 resumed %d time(s) after pausing itself\n", resumed);
	CHECK(receiver_check(true), "the receiver has every change of acme "
	                            "in order, duplicates exact resends");
	CHECK(hook_has("wh-1", "\"delivered_seq\""),
	    "webhook list shows wh-1's delivered seq");

	/* Each bad receiver is reported on its webhook (one paused while
	 * the receiver was down, with that error, is resumed). */
	const char *want[] = {"HTTP 500", "timed out", "redirect", "64 KiB"};
	for (size_t i = 0; i < 4; i++) {
		char id[16];
		bool seen = false;
		snprintf(id, sizeof(id), "wh-%zu", i + 2);
		for (int64_t t0 = rawsp_now_ms(); !seen &&
		     rawsp_now_ms() - t0 < WAIT_MS;) {
			seen = hook_has(id, want[i]);
			if (!seen && hook_has(id, "\"state\":\"paused\"")) {
				spreg("webhook resume %s", id);
			}
			if (!seen) {
				spawn_sleep_ms(200);
			}
		}
		CHECK(seen, "%s (/%s): its last error says %s", id, bad[i],
		    want[i]);
	}
	/* Failing longer than --webhook-pause-after 5 s: paused. */
	bool paused = false;
	for (int64_t t0 = rawsp_now_ms(); !paused &&
	     rawsp_now_ms() - t0 < WAIT_MS;) {
		paused = hook_has("wh-2", "\"state\":\"paused\"");
		if (!paused) {
			spawn_sleep_ms(200);
		}
	}
	CHECK(paused, "wh-2 (500) was paused after failing");
	CHECK(spreg("webhook list") == 0 && file_has("out", "paused"),
	    "webhook list shows it paused");

	/* pause, resume, test, remove. */
	rc = spreg("webhook resume wh-2");
	CHECK(rc == 0 && file_has("out", "resumed webhook wh-2 (active"),
	    "webhook resume (exit %d)", rc);
	rc = spreg("webhook pause wh-2");
	CHECK(rc == 0 && file_has("out", "paused webhook wh-2 (paused"),
	    "webhook pause (exit %d)", rc);
	rc = spreg("webhook test wh-1");
	CHECK(rc == 0, "webhook test (exit %d)", rc);
	bool pinged = false;
	for (int64_t t0 = rawsp_now_ms(); !pinged &&
	     rawsp_now_ms() - t0 < WAIT_MS;) {
		pinged = file_has("received.jsonl", "\"id\": \"wh-1_0\"");
		if (!pinged) {
			spawn_sleep_ms(100);
		}
	}
	CHECK(pinged, "the test delivery arrived, signed");
	rc = spreg("webhook remove wh-3");
	CHECK(rc == 0 && file_has("out", "removed webhook wh-3"),
	    "webhook remove (exit %d)", rc);
	CHECK(!hook_has("wh-3", "\"id\""), "a removed webhook is not listed");
	rc = spreg("webhook remove wh-3");
	CHECK(rc == 2, "removing it again is NOT_FOUND (exit %d)", rc);
	CHECK(receiver_check(false), "the test delivery and the rest left "
	                             "the check holding");

	spreg_client_close(c);
	int status = spawn_stop(&sv, SIGTERM);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "spregd stops cleanly (status %d)", status);
	outbox_receiver_kill(&rcv);
	if (failed == 0) {
		spawn_rmrf(dir);
	} else {
		printf("# kept %s\n", dir);
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed == 0 ? 0 : 1;
}
