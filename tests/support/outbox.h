/*
 * For the webhook test and benchmark (and test_watch_stall's writes):
 * the receiver of
 * tests/support/webhook_receiver.py as a child process, a customer
 * "acme" using service "hosting", and vendor puts that concern it (or
 * not), retried through a server killed meanwhile.
 */
#ifndef TEST_OUTBOX_H
#define TEST_OUTBOX_H

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "spawn.h"

typedef struct outbox_receiver {
	pid_t pid;
	int port;
} outbox_receiver;

/* Serves on 127.0.0.1:want_port (0: any) with DIR/secret, logging to
 * DIR/received.jsonl and answering delay_ms after; false when it wrote
 * no port in 30 s. */
static inline bool
outbox_receiver_start(outbox_receiver *r, const char *dir, int want_port,
    int delay_ms)
{
	char script[SPAWN_PATH], port_file[SPAWN_PATH + 16],
	    log[SPAWN_PATH + 16], secret[SPAWN_PATH + 16], port_s[16],
	    delay_s[16];
	const char *source = getenv("SPREG_SOURCE");

	snprintf(script, sizeof(script),
	    "%s/tests/support/webhook_receiver.py", source ? source : ".");
	snprintf(port_file, sizeof(port_file), "%s/port", dir);
	snprintf(log, sizeof(log), "%s/received.jsonl", dir);
	snprintf(secret, sizeof(secret), "%s/secret", dir);
	snprintf(port_s, sizeof(port_s), "%d", want_port);
	snprintf(delay_s, sizeof(delay_s), "%d", delay_ms);
	unlink(port_file);
	fflush(stdout);
	if ((r->pid = fork()) == 0) {
		execl("/usr/bin/python3", "python3", script, "serve",
		    "--secret-file", secret, "--log", log, "--port-file",
		    port_file, "--port", port_s, "--delay-ms", delay_s,
		    (char *) NULL);
		_exit(127);
	}
	for (int i = 0; i < 600; i++) {
		FILE *f = fopen(port_file, "r");
		if (f != NULL) {
			int got = fscanf(f, "%d", &r->port);
			fclose(f);
			if (got == 1) {
				return true;
			}
		}
		spawn_sleep_ms(50);
	}
	return false;
}

static inline void
outbox_receiver_kill(outbox_receiver *r)
{
	if (r->pid > 0) {
		kill(r->pid, SIGKILL);
		waitpid(r->pid, NULL, 0);
		r->pid = 0;
	}
}

/* Writes a Standard Webhooks secret to DIR/secret. */
static inline bool
outbox_secret_write(const char *dir)
{
	char path[SPAWN_PATH + 16];

	snprintf(path, sizeof(path), "%s/secret", dir);
	FILE *f = fopen(path, "w");
	if (f == NULL) {
		return false;
	}
	fputs("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n", f);
	return fclose(f) == 0;
}

static inline spreg_status
outbox_call(spreg_client *c, const char *method, const ProtobufCMessage *req,
    const ProtobufCMessageDescriptor *desc)
{
	ProtobufCMessage *out = NULL;
	spreg_status st = spreg_call(c, method, req, desc, &out);

	spreg_message_free(out);
	return st;
}

/* Customer "acme", service "hosting". */
static inline spreg_status
outbox_customer_put(spreg_client *c)
{
	Spreg__V1__PutCustomerRequest req = SPREG__V1__PUT_CUSTOMER_REQUEST__INIT;
	Spreg__V1__Customer cu = SPREG__V1__CUSTOMER__INIT;
	char service[] = "hosting";
	char *services[1] = {service};
	char id[] = "acme", name[] = "Acme", regime[] = "EU";

	cu.id = id;
	cu.name = name;
	cu.regime = regime;
	cu.n_services = 1;
	cu.services = services;
	req.customer = &cu;
	return outbox_call(c, "PutCustomer", &req.base,
	    &spreg__v1__put_customer_response__descriptor);
}

/* A new vendor "<prefix><i>" of service "hosting" (acme's) or, with
 * other, "other"; retried while the server is away. */
static inline spreg_status
outbox_put(spreg_client *c, const char *prefix, int i, bool other)
{
	Spreg__V1__PutSubprocessorRequest req =
	    SPREG__V1__PUT_SUBPROCESSOR_REQUEST__INIT;
	Spreg__V1__Subprocessor sp = SPREG__V1__SUBPROCESSOR__INIT;
	Spreg__V1__Location loc = SPREG__V1__LOCATION__INIT;
	Spreg__V1__Location *locs[1] = {&loc};
	char hosting[] = "hosting", other_s[] = "other";
	char email[] = "user.contact.email", de[] = "DE";
	char processing[] = "processing", reason[] = "test burst";
	char *services[1] = {other ? other_s : hosting};
	char *categories[1] = {email};
	char id[32], name[64];
	spreg_status st = SPREG_UNAVAILABLE;

	snprintf(id, sizeof(id), "%.16s%d", prefix, i);
	snprintf(name, sizeof(name), "Vendor %d", i);
	loc.country = de;
	loc.role = processing;
	sp.id = id;
	sp.name = name;
	sp.n_services = 1;
	sp.services = services;
	sp.n_data_categories = 1;
	sp.data_categories = categories;
	sp.n_locations = 1;
	sp.locations = locs;
	sp.status = SPREG__V1__SUBPROCESSOR_STATUS__SUBPROCESSOR_STATUS_ACTIVE;
	req.subprocessor = &sp;
	req.emergency = true;	/* acme is owed notice otherwise */
	req.reason = reason;
	for (int tries = 0; tries < 60; tries++) {
		st = outbox_call(c, "PutSubprocessor", &req.base,
		    &spreg__v1__put_subprocessor_response__descriptor);
		if (st != SPREG_UNAVAILABLE && st != SPREG_DEADLINE_EXCEEDED) {
			break;
		}
	}
	if (st != SPREG_OK) {
		printf("# put %s: %s: %s\n", id, spreg_status_name(st),
		    spreg_client_error(c));
	}
	return st;
}

/* The newest seq of the log; 0 when ServerInfo fails. */
static inline uint64_t
outbox_last_seq(spreg_client *c)
{
	Spreg__V1__ServerInfoRequest req = SPREG__V1__SERVER_INFO_REQUEST__INIT;
	ProtobufCMessage *out = NULL;
	uint64_t last = 0;

	if (spreg_call(c, "ServerInfo", &req.base,
	        &spreg__v1__server_info_response__descriptor, &out) ==
	    SPREG_OK) {
		last = ((Spreg__V1__ServerInfoResponse *) out)->last_seq;
	}
	spreg_message_free(out);
	return last;
}

#endif
