/*
 * meson test --benchmark webhook: the write rate with no webhooks and
 * with 100 of them registered (for the customer every change concerns),
 * and the rate at which the outbox is delivered to a local receiver
 * (tests/support/webhook_receiver.py: Python, checking each signature
 * and appending a line per request, so it bounds the rate it shows).
 * Writes are one client's sequential puts, each acknowledged after its
 * fsync.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../support/outbox.h"
#include "spreg/v1/delivery.pb-c.h"
#include "../support/spawn.h"

#define WRITES 500
#define HOOKS 100

static spreg_client *c;

static double
puts_per_s(int first, int n)
{
	int64_t t0 = rawsp_now_ms();

	for (int i = first; i < first + n; i++) {
		if (outbox_put(c, "v-", i, false) != SPREG_OK) {
			exit(1);
		}
	}
	int64_t ms = rawsp_now_ms() - t0;
	return ms > 0 ? n * 1000.0 / (double) ms : 0;
}

static bool
add_hook(int port)
{
	Spreg__V1__AddWebhookRequest req = SPREG__V1__ADD_WEBHOOK_REQUEST__INIT;
	char url[64], customer[] = "acme";
	char secret[] = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/ok", port);
	req.customer_id = customer;
	req.url = url;
	req.secret = secret;
	return outbox_call(c, "spreg.v1.Delivery/AddWebhook", &req.base,
	           &spreg__v1__add_webhook_response__descriptor) == SPREG_OK;
}

/* Deliveries still owed, in all. */
static uint64_t
pending(void)
{
	Spreg__V1__ListWebhooksRequest req =
	    SPREG__V1__LIST_WEBHOOKS_REQUEST__INIT;
	ProtobufCMessage *out = NULL;
	uint64_t n = UINT64_MAX;

	if (spreg_call(c, "spreg.v1.Delivery/ListWebhooks", &req.base,
	        &spreg__v1__list_webhooks_response__descriptor, &out) ==
	    SPREG_OK) {
		const Spreg__V1__ListWebhooksResponse *r = (const void *) out;
		n = 0;
		for (size_t i = 0; i < r->n_webhooks; i++) {
			n += r->webhooks[i]->pending;
		}
	}
	spreg_message_free(out);
	return n;
}

int
main(void)
{
	static const char *const args[] = {"--no-sample", NULL};
	char dir[256];
	spawn sv = {0};
	outbox_receiver rcv = {0};

	if (!spawn_mkdtemp(dir, sizeof(dir), "spreg-bench-webhook") ||
	    !outbox_secret_write(dir)) {
		return 1;
	}
	spawn_opts o = {.dir = dir, .args = args};
	if (!spawn_start(&sv, &o) || !outbox_receiver_start(&rcv, dir, 0, 0) ||
	    spreg_client_open(sv.url, true, &c) != SPREG_OK) {
		return 1;
	}
	spreg_client_set_token(c, test_token);
	spreg_client_set_timeout(c, 30000);
	if (outbox_customer_put(c) != SPREG_OK) {
		return 1;
	}
	double none = puts_per_s(0, WRITES);
	for (int i = 0; i < HOOKS; i++) {
		if (!add_hook(rcv.port)) {
			return 1;
		}
	}
	int64_t t0 = rawsp_now_ms();
	double hooked = puts_per_s(WRITES, WRITES);
	uint64_t left = 0;
	while ((left = pending()) > 0 && rawsp_now_ms() - t0 < 600000) {
		spawn_sleep_ms(100);
	}
	int64_t ms = rawsp_now_ms() - t0;
	double delivered = (double) HOOKS * WRITES - (double) left;
	printf("writes/s, no webhooks:            %8.1f  (%d puts)\n", none,
	    WRITES);
	printf("writes/s, %d webhooks:           %8.1f  (%d puts, %d "
	       "deliveries queued)\n", HOOKS, hooked, WRITES, HOOKS * WRITES);
	printf("deliveries/s to a local receiver: %8.1f  (%.0f in %.1f s, "
	       "%" PRIu64 " left)\n", ms > 0 ? delivered * 1000.0 / (double) ms : 0,
	    delivered, ms / 1000.0, left);
	spreg_client_close(c);
	spawn_stop(&sv, SIGTERM);
	outbox_receiver_kill(&rcv);
	spawn_rmrf(dir);
	return left == 0 ? 0 : 1;
}
