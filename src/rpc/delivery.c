/*
 * The Delivery service (delivery.proto): webhooks of customers. The
 * rows they are owed are written by the change log itself
 * (db/outbox.h); src/deliver/ sends them.
 */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "core/date.h"
#include "core/validate.h"
#include "db/outbox.h"
#include "rpc/handlers.h"

#define URL_MAX 2048
#define SECRET_PREFIX "whsec_"
#define SECRET_MIN 24		/* bytes of key */
#define SECRET_MAX 64
#define SECRET_NEW 32

/* "whsec_" and the base64 of SECRET_MIN to SECRET_MAX bytes. */
static spreg_status
check_secret(const char *secret, err *e)
{
	unsigned char key[SECRET_MAX + 1];
	size_t plen = strlen(SECRET_PREFIX), len;

	if (strncmp(secret, SECRET_PREFIX, plen) != 0 ||
	    sodium_base642bin(key, sizeof(key), secret + plen,
	        strlen(secret + plen), NULL, &len, NULL,
	        sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    len < SECRET_MIN || len > SECRET_MAX) {
		return err_set(e, SPREG_INVALID_ARGUMENT, "secret: must be "
		    "\"" SECRET_PREFIX "\" and the base64 of %d to %d bytes",
		    SECRET_MIN, SECRET_MAX);
	}
	sodium_memzero(key, sizeof(key));
	return SPREG_OK;
}

static char *
new_secret(arena *a)
{
	unsigned char key[SECRET_NEW];
	size_t len = strlen(SECRET_PREFIX) +
	    sodium_base64_ENCODED_LEN(SECRET_NEW,
	        sodium_base64_VARIANT_ORIGINAL);
	char *s = arena_alloc(a, len);

	if (s != NULL) {
		randombytes_buf(key, sizeof(key));
		memcpy(s, SECRET_PREFIX, strlen(SECRET_PREFIX));
		sodium_bin2base64(s + strlen(SECRET_PREFIX),
		    len - strlen(SECRET_PREFIX), key, sizeof(key),
		    sodium_base64_VARIANT_ORIGINAL);
		sodium_memzero(key, sizeof(key));
	}
	return s;
}

/* What a listing shows: the sender's figures, never the secret. */
static spreg_status
describe(rpc_call *call, Spreg__V1__Webhook *h, err *e)
{
	uint64_t last;
	spreg_status st;

	h->secret = (char *) "";
	if ((st = db_outbox_count(call->txn, h->number, &h->pending, e)) !=
	        SPREG_OK ||
	    (st = db_change_last_seq(call->txn, &last, e)) != SPREG_OK) {
		return st;
	}
	h->lag = last > h->delivered_seq ? last - h->delivered_seq : 0;
	return SPREG_OK;
}

static spreg_status
find(rpc_call *call, const char *id, Spreg__V1__Webhook **out, err *e)
{
	uint64_t number;

	if (id[0] == '\0') {
		return err_set(e, SPREG_INVALID_ARGUMENT, "id: required");
	}
	if (!db_hook_number(id, &number)) {
		return err_set(e, SPREG_NOT_FOUND, "id: no webhook '%.64s'",
		    id);
	}
	return db_hook_get(call->txn, number, call->arena, out, e);
}

static spreg_status
add_webhook(rpc_call *call, const ProtobufCMessage *in_,
    ProtobufCMessage *out_, err *e)
{
	const Spreg__V1__AddWebhookRequest *in = (const void *) in_;
	Spreg__V1__AddWebhookResponse *out = (void *) out_;
	Spreg__V1__Customer *customer;
	char created[TIME_BUF];
	spreg_status st;

	if (in->customer_id[0] == '\0') {
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "customer_id: required");
	}
	if ((st = rpc_check_url("url", in->url, URL_MAX, e)) != SPREG_OK) {
		return st;
	}
	if (in->secret[0] != '\0' &&
	    (st = check_secret(in->secret, e)) != SPREG_OK) {
		return st;
	}
	if ((st = db_customer_get(call->txn, in->customer_id, call->arena,
	         &customer, e)) != SPREG_OK) {
		return st == SPREG_NOT_FOUND ?
		    err_set(e, SPREG_NOT_FOUND, "customer_id: no customer "
		        "'%.64s'", in->customer_id) :
		    st;
	}
	Spreg__V1__Webhook *h = arena_alloc(call->arena, sizeof(*h));
	if (h == NULL) {
		return err_oom(e, NULL);
	}
	spreg__v1__webhook__init(h);
	h->customer_id = customer->id;
	h->url = in->url;
	h->secret = in->secret[0] != '\0' ? in->secret :
	                                    new_secret(call->arena);
	time_format(call->now_ms, created);
	h->created_at = arena_strdup(call->arena, created);
	if (h->secret == NULL || h->created_at == NULL) {
		return err_oom(e, NULL);
	}
	h->state = SPREG__V1__WEBHOOK_STATE__WEBHOOK_STATE_ACTIVE;
	/* Deliveries start with the changes after this one. */
	if ((st = db_change_last_seq(call->txn, &h->delivered_seq, e)) !=
	        SPREG_OK ||
	    (st = db_hook_add(call->txn, h, call->arena, e)) != SPREG_OK) {
		return st;
	}
	out->webhook = h;	/* the secret, this once */
	return SPREG_OK;
}

static spreg_status
list_webhooks(rpc_call *call, const ProtobufCMessage *in_,
    ProtobufCMessage *out_, err *e)
{
	const Spreg__V1__ListWebhooksRequest *in = (const void *) in_;
	Spreg__V1__ListWebhooksResponse *out = (void *) out_;
	spreg_status st;

	if ((st = db_hook_list(call->txn, in->customer_id[0] != '\0' ?
	             in->customer_id : NULL, call->arena, &out->webhooks,
	         &out->n_webhooks, e)) != SPREG_OK) {
		return st;
	}
	for (size_t i = 0; i < out->n_webhooks; i++) {
		if ((st = describe(call, out->webhooks[i], e)) != SPREG_OK) {
			return st;
		}
	}
	return SPREG_OK;
}

static spreg_status
pause_webhook(rpc_call *call, const ProtobufCMessage *in_,
    ProtobufCMessage *out_, err *e)
{
	const Spreg__V1__PauseWebhookRequest *in = (const void *) in_;
	Spreg__V1__PauseWebhookResponse *out = (void *) out_;
	Spreg__V1__Webhook *h;
	spreg_status st;

	if ((st = find(call, in->id, &h, e)) != SPREG_OK) {
		return st;
	}
	if (in->resume) {
		h->state = SPREG__V1__WEBHOOK_STATE__WEBHOOK_STATE_ACTIVE;
		h->paused_reason = (char *) "";
		h->failing_since = (char *) "";
	} else {
		h->state = SPREG__V1__WEBHOOK_STATE__WEBHOOK_STATE_PAUSED;
		h->paused_reason = (char *) "paused by an operator";
	}
	if ((st = db_hook_put(call->txn, h, e)) != SPREG_OK) {
		return st;
	}
	out->webhook = h;
	return describe(call, h, e);
}

static spreg_status
remove_webhook(rpc_call *call, const ProtobufCMessage *in_,
    ProtobufCMessage *out_, err *e)
{
	const Spreg__V1__RemoveWebhookRequest *in = (const void *) in_;
	Spreg__V1__RemoveWebhookResponse *out = (void *) out_;
	Spreg__V1__Webhook *h;
	spreg_status st;

	if ((st = find(call, in->id, &h, e)) != SPREG_OK) {
		return st;
	}
	return db_hook_remove(call->txn, h->number, &out->dropped, e);
}

static spreg_status
test_webhook(rpc_call *call, const ProtobufCMessage *in_,
    ProtobufCMessage *out_, err *e)
{
	const Spreg__V1__TestWebhookRequest *in = (const void *) in_;
	Spreg__V1__TestWebhookResponse *out = (void *) out_;
	Spreg__V1__Webhook *h;
	spreg_status st;

	if ((st = find(call, in->id, &h, e)) != SPREG_OK ||
	    (st = db_outbox_put(call->txn, h->number, 0, e)) != SPREG_OK) {
		return st;
	}
	out->webhook = h;
	return describe(call, h, e);
}

/* Indexed like spreg__v1__delivery__descriptor.methods. The reply to
 * AddWebhook holds the secret: not saved for replays. */
static const rpc_method delivery_methods[] = {
	{"AddWebhook", RPC_WRITE | RPC_ADMIN | RPC_NO_SAVE, add_webhook, NULL},
	{"ListWebhooks", RPC_READ | RPC_EDITOR, list_webhooks, NULL},
	{"PauseWebhook", RPC_WRITE | RPC_ADMIN, pause_webhook, NULL},
	{"RemoveWebhook", RPC_WRITE | RPC_ADMIN, remove_webhook, NULL},
	{"TestWebhook", RPC_WRITE | RPC_ADMIN, test_webhook, NULL},
};

const rpc_service rpc_delivery_service = {
	&spreg__v1__delivery__descriptor,
	delivery_methods,
	sizeof(delivery_methods) / sizeof(delivery_methods[0]),
};
