/*
 * Access control through the real dispatch (rpc_handle), with tokens made
 * by CreateToken:
 *
 *   - every role against every method of every service: allowed (the
 *     call succeeds) or the error it gets, from a table written out by
 *     hand here, not derived from the server's flags;
 *   - what a customer token sees: its vendors, its changes, its
 *     objections, nothing of another customer's, and a vendor it may not
 *     see answered exactly as one that does not exist;
 *   - a revoked token refused from the next request on, writes naming
 *     their token, and no secret in the store's file.
 */
#define _GNU_SOURCE	/* memmem */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "assess/rules.h"
#include "core/catalog.h"
#include "core/date.h"
#include "db/db.h"
#include "rpc/auth.h"
#include "rpc/import.h"
#include "rpc/rpc.h"
#include "support/store.h"
#include "spreg/v1/admin.pb-c.h"
#include "spreg/v1/delivery.pb-c.h"
#include "spreg/v1/assess.pb-c.h"
#include "spreg/v1/export.pb-c.h"
#include "spreg/v1/follow.pb-c.h"
#include "spreg/v1/registry.pb-c.h"

#define REG "spreg.v1.Registry/"
#define ADM "spreg.v1.Admin/"
#define DLV "spreg.v1.Delivery/"
#define FLW "spreg.v1.Follows/"

static char dir[64];
static catalog *cat;
static assess_rules *rules;
static db *d;
static rpc_server *srv;
static rpc_worker *w;

/* The callers of the matrix, in its column order. */
enum {
	C_NONE,		/* no token */
	C_BOGUS,	/* well formed, unknown */
	C_READER,
	C_EDITOR,
	C_ADMIN,
	C_CUSTOMER,	/* customer:acme */
	C_REVOKED,	/* a reader token, revoked */
	NCALLERS
};
static const char *const caller_names[NCALLERS] = {"none", "bogus",
    "reader", "editor", "admin", "customer", "revoked"};
static char tokens[NCALLERS][160];
static char last_message[1024];

/* ---- calls --------------------------------------------------------------- */

static uint64_t next_request_id;	/* 0: calls carry none */

static spreg_status
call_as(const char *token, const char *method, const ProtobufCMessage *in,
    const ProtobufCMessageDescriptor *od, ProtobufCMessage **out)
{
	Spreg__V1__Request env = SPREG__V1__REQUEST__INIT;

	env.method = (char *) method;
	env.actor = "tester";
	env.token = (char *) token;
	env.request_id = next_request_id;
	return store_fixture_call(w, &env, in, od, out, last_message,
	    sizeof(last_message));
}

/* A call whose answer must be OK; returns the response. */
static ProtobufCMessage *
must(const char *token, const char *method, const ProtobufCMessage *in,
    const ProtobufCMessageDescriptor *od)
{
	ProtobufCMessage *out;
	spreg_status st = call_as(token, method, in, od, &out);

	ck_assert_msg(st == SPREG_OK, "%s: %s: %s", method,
	    spreg_status_name(st), last_message);
	return out;
}

static char *
create_token(const char *as, const char *name, Spreg__V1__Role role,
    const char *customer_id)
{
	Spreg__V1__CreateTokenRequest in = SPREG__V1__CREATE_TOKEN_REQUEST__INIT;

	in.name = (char *) name;
	in.role = role;
	in.customer_id = (char *) (customer_id ? customer_id : "");
	Spreg__V1__CreateTokenResponse *out = (void *) must(as,
	    ADM "CreateToken", &in.base,
	    &spreg__v1__create_token_response__descriptor);
	char *secret = strdup(out->secret);
	protobuf_c_message_free_unpacked(&out->base, NULL);
	return secret;
}

static void
put_customer(const char *as, const char *id, char *service)
{
	Spreg__V1__Customer c = SPREG__V1__CUSTOMER__INIT;
	Spreg__V1__PutCustomerRequest in = SPREG__V1__PUT_CUSTOMER_REQUEST__INIT;
	char *services[] = {service};

	c.id = (char *) id;
	c.name = (char *) id;
	c.regime = "EU";
	c.services = services;
	c.n_services = 1;
	in.customer = &c;
	protobuf_c_message_free_unpacked(must(as, REG "PutCustomer", &in.base,
	    &spreg__v1__put_customer_response__descriptor), NULL);
}

/* A minimal valid vendor serving service (NULL: none). */
typedef struct vendor {
	Spreg__V1__Subprocessor sp;
	Spreg__V1__Location loc;
	Spreg__V1__Location *locs[1];
	char *cats[1];
	char *services[1];
	char id[64];
} vendor;

static Spreg__V1__Subprocessor *
vendor_init(vendor *v, const char *id, char *service)
{
	spreg__v1__subprocessor__init(&v->sp);
	spreg__v1__location__init(&v->loc);
	snprintf(v->id, sizeof(v->id), "%s", id);
	v->sp.id = v->id;
	v->sp.name = v->id;
	v->cats[0] = "user.contact.email";
	v->sp.data_categories = v->cats;
	v->sp.n_data_categories = 1;
	v->loc.country = "DE";
	v->loc.role = "hosting";
	v->locs[0] = &v->loc;
	v->sp.locations = v->locs;
	v->sp.n_locations = 1;
	v->sp.effective_from = "2026-01-01";
	if (service != NULL) {
		v->services[0] = service;
		v->sp.services = v->services;
		v->sp.n_services = 1;
	}
	return &v->sp;
}

static void
put_vendor(const char *as, const char *id, char *service)
{
	vendor v;
	Spreg__V1__PutSubprocessorRequest in =
	    SPREG__V1__PUT_SUBPROCESSOR_REQUEST__INIT;

	in.subprocessor = vendor_init(&v, id, service);
	protobuf_c_message_free_unpacked(must(as, REG "PutSubprocessor",
	    &in.base, &spreg__v1__put_subprocessor_response__descriptor), NULL);
}

/* YYYY-MM-DD, days from today. */
static void
day_from_now(int days, char out[DATE_BUF])
{
	date_format(date_from_ms(time_now_ms()) + days, out);
}

/* Announces a new vendor serving service, a year and more ahead (past
 * anyone's notice); returns the ANNOUNCED change's seq. */
static uint64_t
announce(const char *as, const char *id, char *service)
{
	vendor v;
	char when[DATE_BUF];
	Spreg__V1__AnnounceChangeRequest in =
	    SPREG__V1__ANNOUNCE_CHANGE_REQUEST__INIT;

	day_from_now(400, when);
	in.subprocessor = vendor_init(&v, id, service);
	in.effective_at = when;
	Spreg__V1__AnnounceChangeResponse *out = (void *) must(as,
	    REG "AnnounceChange", &in.base,
	    &spreg__v1__announce_change_response__descriptor);
	uint64_t seq = out->change->seq;
	protobuf_c_message_free_unpacked(&out->base, NULL);
	return seq;
}

/* ---- fixture ------------------------------------------------------------- */

static uint64_t acme_change;	/* announced, concerns acme and obj-* */
static uint64_t withdrawable[NCALLERS];	/* announced, one per writer */

static void fake_fetch(const char *url, const char *etag,
    const atomic_bool *stop, publist_fetched *out);

static store_fixture fx = {.name = "auth", .map_size = 1 << 22,
    .fetch = fake_fetch, .dir = &dir, .cat = &cat, .rules = &rules, .d = &d,
    .srv = &srv, .w = &w};

/* FollowVendor's fetch, answered here: a list of one vendor. */
static void
fake_fetch(const char *url, const char *etag, const atomic_bool *stop,
    publist_fetched *out)
{
	static const char list[] = "{\"subprocessors\": [{\"subprocessor_id\": "
	    "\"upco\", \"name\": \"UpCo\", \"countries\": [\"DE\"]}]}";

	(void) url, (void) etag, (void) stop;
	memset(out, 0, sizeof(*out));
	out->body = strdup(list);
	out->len = strlen(list);
}

static void
setup(void)
{
	err e;

	store_fixture_setup(&fx);

	/* The first admin token, as spregd makes it. */
	char path[128];
	bool made;
	snprintf(path, sizeof(path), "%s/admin.token", dir);
	ck_assert_int_eq(rpc_auth_bootstrap(srv, path, &made, &e), SPREG_OK);
	ck_assert(made);
	FILE *f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(fgets(tokens[C_ADMIN], sizeof(tokens[0]), f));
	fclose(f);
	tokens[C_ADMIN][strcspn(tokens[C_ADMIN], "\n")] = '\0';
	const char *admin = tokens[C_ADMIN];

	/* acme uses billing (stripe, fastspring); globex marketing. */
	put_customer(admin, "acme", "billing");
	put_customer(admin, "globex", "marketing");
	static const char *const roles[] = {"reader", "editor", "admin",
	    "customer"};
	char id[64];
	for (size_t i = 0; i < 4; i++) {
		snprintf(id, sizeof(id), "obj-%s", roles[i]);
		put_customer(admin, id, "billing");	/* concerned */
		snprintf(id, sizeof(id), "del-%s", roles[i]);
		put_customer(admin, id, "nothing");
		snprintf(id, sizeof(id), "retire-%s", roles[i]);
		put_vendor(admin, id, NULL);
	}
	acme_change = announce(admin, "newpay", "billing");
	announce(admin, "newads", "marketing");
	withdrawable[C_EDITOR] = announce(admin, "wd-editor", "other");
	withdrawable[C_ADMIN] = announce(admin, "wd-admin", "other");

	char *t;
	t = create_token(admin, "reader", SPREG__V1__ROLE__READER, NULL);
	snprintf(tokens[C_READER], sizeof(tokens[0]), "%s", t);
	free(t);
	t = create_token(admin, "editor", SPREG__V1__ROLE__EDITOR, NULL);
	snprintf(tokens[C_EDITOR], sizeof(tokens[0]), "%s", t);
	free(t);
	t = create_token(admin, "acme-portal", SPREG__V1__ROLE__CUSTOMER,
	    "acme");
	snprintf(tokens[C_CUSTOMER], sizeof(tokens[0]), "%s", t);
	free(t);
	t = create_token(admin, "old-reader", SPREG__V1__ROLE__READER, NULL);
	snprintf(tokens[C_REVOKED], sizeof(tokens[0]), "%s", t);
	free(t);
	for (size_t i = 0; i < 4; i++) {
		snprintf(id, sizeof(id), "victim-%s", roles[i]);
		free(create_token(admin, id, SPREG__V1__ROLE__READER, NULL));
	}
	Spreg__V1__RevokeTokenRequest rv = SPREG__V1__REVOKE_TOKEN_REQUEST__INIT;
	rv.name = "old-reader";
	protobuf_c_message_free_unpacked(must(admin, ADM "RevokeToken",
	    &rv.base, &spreg__v1__revoke_token_response__descriptor), NULL);
	/* Right shape, unknown id. */
	snprintf(tokens[C_BOGUS], sizeof(tokens[0]),
	    "spreg_0123456789abcdef.%s", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
	tokens[C_NONE][0] = '\0';
}

static void
teardown(void)
{
	store_fixture_teardown(&fx);
}

/* ---- the matrix ---------------------------------------------------------- */

/*
 * One request per method that succeeds for an allowed caller, built for
 * caller c (writes use ids of their own, so each cell stands alone).
 */
typedef struct cell {
	const char *method;
	/* Expected per caller, in enum order: O ok, U UNAUTHENTICATED,
	 * D PERMISSION_DENIED. */
	const char *expect;
	ProtobufCMessage *(*build)(int c, void *storage);
} cell;

typedef union storage {
	struct {
		vendor v;
		Spreg__V1__PutSubprocessorRequest put;
	} put;
	struct {
		vendor v;
		Spreg__V1__Subprocessor *items[1];
		Spreg__V1__ImportSubprocessorsRequest req;
	} import;
	struct {
		vendor v;
		Spreg__V1__AnnounceChangeRequest req;
		char when[DATE_BUF];
	} ann;
	struct {
		Spreg__V1__Customer c;
		Spreg__V1__PutCustomerRequest req;
		char *services[1];
	} cust;
	struct {
		Spreg__V1__DataCategory c;
		Spreg__V1__PutDataCategoryRequest req;
	} cat;
	Spreg__V1__GetSubprocessorRequest get;
	struct {
		Spreg__V1__GetSubprocessorsRequest req;
		char *ids[2];
	} many;
	Spreg__V1__ListSubprocessorsRequest list;
	Spreg__V1__RetireSubprocessorRequest retire;
	Spreg__V1__ListChangesRequest changes;
	Spreg__V1__ListDataCategoriesRequest cats;
	Spreg__V1__ServerInfoRequest info;
	Spreg__V1__GetCustomerRequest getc;
	Spreg__V1__ListCustomersRequest listc;
	Spreg__V1__DeleteCustomerRequest delc;
	Spreg__V1__ListAnnouncementsRequest anns;
	Spreg__V1__ObjectToChangeRequest obj;
	Spreg__V1__ListObjectionsRequest objs;
	Spreg__V1__VerifyLogRequest verify;
	Spreg__V1__WithdrawAnnouncementRequest withdraw;
	Spreg__V1__AssessTransfersRequest assess;
	Spreg__V1__GetRulesRequest rules;
	Spreg__V1__ExportTransfersRequest ext;
	Spreg__V1__ExportSubprocessorsRequest exs;
	Spreg__V1__CreateTokenRequest mk;
	Spreg__V1__ListTokensRequest lt;
	Spreg__V1__RevokeTokenRequest rt;
	Spreg__V1__WhoAmIRequest who;
	Spreg__V1__AddWebhookRequest awh;
	Spreg__V1__ListWebhooksRequest lwh;
	Spreg__V1__PauseWebhookRequest pwh;
	Spreg__V1__TestWebhookRequest twh;
	Spreg__V1__RemoveWebhookRequest rwh;
	Spreg__V1__GetFeedKeyRequest gfk;
	Spreg__V1__RotateFeedKeyRequest rfk;
	Spreg__V1__FollowVendorRequest fv;
	Spreg__V1__UnfollowVendorRequest uv;
	Spreg__V1__ListFollowsRequest lf;
} storage;

static char ids[NCALLERS][64];

static const char *
own_id(const char *prefix, int c)
{
	snprintf(ids[c], sizeof(ids[c]), "%s-%s", prefix, caller_names[c]);
	return ids[c];
}

static ProtobufCMessage *
b_put(int c, void *p)
{
	storage *s = p;
	spreg__v1__put_subprocessor_request__init(&s->put.put);
	s->put.put.subprocessor = vendor_init(&s->put.v, own_id("put", c),
	    NULL);
	return &s->put.put.base;
}

static ProtobufCMessage *
b_import(int c, void *p)
{
	storage *s = p;
	spreg__v1__import_subprocessors_request__init(&s->import.req);
	s->import.items[0] = vendor_init(&s->import.v, own_id("import", c),
	    NULL);
	s->import.req.subprocessors = s->import.items;
	s->import.req.n_subprocessors = 1;
	return &s->import.req.base;
}

static ProtobufCMessage *
b_get(int c, void *p)
{
	storage *s = p;
	(void) c;
	spreg__v1__get_subprocessor_request__init(&s->get);
	s->get.id = "stripe";	/* serves billing: acme's */
	return &s->get.base;
}

static ProtobufCMessage *
b_get_many(int c, void *p)
{
	storage *s = p;
	(void) c;
	spreg__v1__get_subprocessors_request__init(&s->many.req);
	s->many.ids[0] = "stripe";
	s->many.ids[1] = "aws";
	s->many.req.ids = s->many.ids;
	s->many.req.n_ids = 2;
	return &s->many.req.base;
}

static ProtobufCMessage *
b_list(int c, void *p)
{
	storage *s = p;
	(void) c;
	spreg__v1__list_subprocessors_request__init(&s->list);
	return &s->list.base;
}

static ProtobufCMessage *
b_retire(int c, void *p)
{
	storage *s = p;
	spreg__v1__retire_subprocessor_request__init(&s->retire);
	s->retire.id = (char *) own_id("retire", c);
	return &s->retire.base;
}

static ProtobufCMessage *
b_changes(int c, void *p)
{
	storage *s = p;
	(void) c;
	spreg__v1__list_changes_request__init(&s->changes);
	return &s->changes.base;
}

static ProtobufCMessage *
b_cats(int c, void *p)
{
	storage *s = p;
	(void) c;
	spreg__v1__list_data_categories_request__init(&s->cats);
	return &s->cats.base;
}

static ProtobufCMessage *
b_put_cat(int c, void *p)
{
	storage *s = p;
	static char key[NCALLERS][64];
	snprintf(key[c], sizeof(key[c]), "user.contact.auth_%s",
	    caller_names[c]);
	spreg__v1__put_data_category_request__init(&s->cat.req);
	spreg__v1__data_category__init(&s->cat.c);
	s->cat.c.key = key[c];
	s->cat.c.parent = "user.contact";
	s->cat.c.name = "Auth test";
	s->cat.req.category = &s->cat.c;
	return &s->cat.req.base;
}

static ProtobufCMessage *
b_info(int c, void *p)
{
	storage *s = p;
	(void) c;
	spreg__v1__server_info_request__init(&s->info);
	return &s->info.base;
}

static ProtobufCMessage *
b_put_customer(int c, void *p)
{
	storage *s = p;
	spreg__v1__put_customer_request__init(&s->cust.req);
	spreg__v1__customer__init(&s->cust.c);
	s->cust.c.id = (char *) own_id("new", c);
	s->cust.c.name = "New";
	s->cust.c.regime = "EU";
	s->cust.services[0] = "app";
	s->cust.c.services = s->cust.services;
	s->cust.c.n_services = 1;
	s->cust.req.customer = &s->cust.c;
	return &s->cust.req.base;
}

static ProtobufCMessage *
b_get_customer(int c, void *p)
{
	storage *s = p;
	(void) c;
	spreg__v1__get_customer_request__init(&s->getc);
	s->getc.id = "acme";
	return &s->getc.base;
}

static ProtobufCMessage *
b_list_customers(int c, void *p)
{
	storage *s = p;
	(void) c;
	spreg__v1__list_customers_request__init(&s->listc);
	return &s->listc.base;
}

static ProtobufCMessage *
b_delete_customer(int c, void *p)
{
	storage *s = p;
	spreg__v1__delete_customer_request__init(&s->delc);
	s->delc.id = (char *) own_id("del", c);
	return &s->delc.base;
}

static ProtobufCMessage *
b_announce(int c, void *p)
{
	storage *s = p;
	spreg__v1__announce_change_request__init(&s->ann.req);
	day_from_now(400, s->ann.when);
	s->ann.req.subprocessor = vendor_init(&s->ann.v, own_id("ann", c),
	    NULL);
	s->ann.req.effective_at = s->ann.when;
	return &s->ann.req.base;
}

static ProtobufCMessage *
b_list_announcements(int c, void *p)
{
	storage *s = p;
	(void) c;
	spreg__v1__list_announcements_request__init(&s->anns);
	return &s->anns.base;
}

/* Each caller objects for a customer of its own; the customer token
 * names none and gets acme. */
static ProtobufCMessage *
b_object(int c, void *p)
{
	storage *s = p;
	spreg__v1__object_to_change_request__init(&s->obj);
	s->obj.customer_id = c == C_CUSTOMER ? "" : (char *) own_id("obj", c);
	s->obj.change_seq = acme_change;
	return &s->obj.base;
}

static ProtobufCMessage *
b_objections(int c, void *p)
{
	storage *s = p;
	(void) c;
	spreg__v1__list_objections_request__init(&s->objs);
	s->objs.customer_id = "acme";
	return &s->objs.base;
}

static ProtobufCMessage *
b_verify(int c, void *p)
{
	storage *s = p;
	(void) c;
	spreg__v1__verify_log_request__init(&s->verify);
	return &s->verify.base;
}

/* Each writer withdraws an announcement of its own. */
static ProtobufCMessage *
b_withdraw(int c, void *p)
{
	storage *s = p;
	spreg__v1__withdraw_announcement_request__init(&s->withdraw);
	s->withdraw.change_seq = withdrawable[c] ? withdrawable[c] :
	                                          acme_change;
	s->withdraw.reason = "changed our mind";
	return &s->withdraw.base;
}

static ProtobufCMessage *
b_assess(int c, void *p)
{
	storage *s = p;
	(void) c;
	spreg__v1__assess_transfers_request__init(&s->assess);
	return &s->assess.base;
}

static ProtobufCMessage *
b_rules(int c, void *p)
{
	storage *s = p;
	(void) c;
	spreg__v1__get_rules_request__init(&s->rules);
	return &s->rules.base;
}

static ProtobufCMessage *
b_export_transfers(int c, void *p)
{
	storage *s = p;
	(void) c;
	spreg__v1__export_transfers_request__init(&s->ext);
	return &s->ext.base;
}

static ProtobufCMessage *
b_export_subprocessors(int c, void *p)
{
	storage *s = p;
	(void) c;
	spreg__v1__export_subprocessors_request__init(&s->exs);
	return &s->exs.base;
}

static ProtobufCMessage *
b_create_token(int c, void *p)
{
	storage *s = p;
	spreg__v1__create_token_request__init(&s->mk);
	s->mk.name = (char *) own_id("made-by", c);
	s->mk.role = SPREG__V1__ROLE__READER;
	return &s->mk.base;
}

static ProtobufCMessage *
b_list_tokens(int c, void *p)
{
	storage *s = p;
	(void) c;
	spreg__v1__list_tokens_request__init(&s->lt);
	return &s->lt.base;
}

static ProtobufCMessage *
b_revoke_token(int c, void *p)
{
	storage *s = p;
	spreg__v1__revoke_token_request__init(&s->rt);
	s->rt.name = (char *) own_id("victim", c);
	return &s->rt.base;
}

/* acme's key; the customer token names none and gets its own. */
static ProtobufCMessage *
b_get_feed_key(int c, void *p)
{
	storage *s = p;
	spreg__v1__get_feed_key_request__init(&s->gfk);
	s->gfk.customer_id = c == C_CUSTOMER ? "" : "acme";
	return &s->gfk.base;
}

static ProtobufCMessage *
b_rotate_feed_key(int c, void *p)
{
	storage *s = p;
	spreg__v1__rotate_feed_key_request__init(&s->rfk);
	s->rfk.customer_id = c == C_CUSTOMER ? "" : "acme";
	return &s->rfk.base;
}

static ProtobufCMessage *
b_who(int c, void *p)
{
	storage *s = p;
	(void) c;
	spreg__v1__who_am_irequest__init(&s->who);
	return &s->who.base;
}

/* Webhooks: only the admin's AddWebhook succeeds, making wh-1, which
 * the rows after it use (removed last). */
static ProtobufCMessage *
b_add_webhook(int c, void *p)
{
	storage *s = p;
	(void) c;
	spreg__v1__add_webhook_request__init(&s->awh);
	s->awh.customer_id = "acme";
	s->awh.url = "http://127.0.0.1:9/hook";
	return &s->awh.base;
}

static ProtobufCMessage *
b_list_webhooks(int c, void *p)
{
	storage *s = p;
	(void) c;
	spreg__v1__list_webhooks_request__init(&s->lwh);
	return &s->lwh.base;
}

static ProtobufCMessage *
b_pause_webhook(int c, void *p)
{
	storage *s = p;
	(void) c;
	spreg__v1__pause_webhook_request__init(&s->pwh);
	s->pwh.id = "wh-1";
	return &s->pwh.base;
}

static ProtobufCMessage *
b_test_webhook(int c, void *p)
{
	storage *s = p;
	(void) c;
	spreg__v1__test_webhook_request__init(&s->twh);
	s->twh.id = "wh-1";
	return &s->twh.base;
}

static ProtobufCMessage *
b_remove_webhook(int c, void *p)
{
	storage *s = p;
	(void) c;
	spreg__v1__remove_webhook_request__init(&s->rwh);
	s->rwh.id = "wh-1";
	return &s->rwh.base;
}

/* Each caller follows its own URL, then unfollows it. */
static ProtobufCMessage *
b_follow(int c, void *p)
{
	storage *s = p;
	static char url[NCALLERS][96];
	spreg__v1__follow_vendor_request__init(&s->fv);
	snprintf(url[c], sizeof(url[c]), "http://127.0.0.1:9/%s.json",
	    caller_names[c]);
	s->fv.subprocessor_id = "aws";
	s->fv.url = url[c];
	return &s->fv.base;
}

static ProtobufCMessage *
b_unfollow(int c, void *p)
{
	storage *s = p;
	static char url[NCALLERS][96];
	spreg__v1__unfollow_vendor_request__init(&s->uv);
	snprintf(url[c], sizeof(url[c]), "http://127.0.0.1:9/%s.json",
	    caller_names[c]);
	s->uv.subprocessor_id = "aws";
	s->uv.url = url[c];
	return &s->uv.base;
}

static ProtobufCMessage *
b_list_follows(int c, void *p)
{
	storage *s = p;
	(void) c;
	spreg__v1__list_follows_request__init(&s->lf);
	return &s->lf.base;
}

/*                                            none bogus reader editor admin
 *                                            customer revoked */
static const cell matrix[] = {
	{REG "PutSubprocessor",          "UUDOODU", b_put},
	{REG "GetSubprocessor",          "UUOOOOU", b_get},
	{REG "ListSubprocessors",        "UUOOOOU", b_list},
	{REG "RetireSubprocessor",       "UUDOODU", b_retire},
	{REG "ListChanges",              "UUOOOOU", b_changes},
	{REG "ListDataCategories",       "UUOOOOU", b_cats},
	{REG "PutDataCategory",          "UUDOODU", b_put_cat},
	{REG "ServerInfo",               "UUOOOOU", b_info},
	{REG "PutCustomer",              "UUDOODU", b_put_customer},
	{REG "GetCustomer",              "UUOOOOU", b_get_customer},
	{REG "ListCustomers",            "UUOOOOU", b_list_customers},
	{REG "DeleteCustomer",           "UUDOODU", b_delete_customer},
	{REG "AnnounceChange",           "UUDOODU", b_announce},
	{REG "ListAnnouncements",        "UUOOOOU", b_list_announcements},
	{REG "ObjectToChange",           "UUDOOOU", b_object},
	{REG "ListObjections",           "UUOOOOU", b_objections},
	{REG "VerifyLog",                "UUOOODU", b_verify},
	{REG "WithdrawAnnouncement",     "UUDOODU", b_withdraw},
	{REG "ImportSubprocessors",      "UUDOODU", b_import},
	{REG "GetSubprocessors",         "UUOOOOU", b_get_many},
	{REG "GetFeedKey",               "UUDOOOU", b_get_feed_key},
	{REG "RotateFeedKey",            "UUDOOOU", b_rotate_feed_key},
	{"spreg.v1.Assessment/AssessTransfers", "UUOOOOU", b_assess},
	{"spreg.v1.Assessment/GetRules", "UUOOOOU", b_rules},
	{"spreg.v1.Export/ExportTransfers", "UUOOODU", b_export_transfers},
	{"spreg.v1.Export/ExportSubprocessors", "UUOOOOU",
	    b_export_subprocessors},
	{ADM "CreateToken",              "UUDDODU", b_create_token},
	{ADM "ListTokens",               "UUDDODU", b_list_tokens},
	{ADM "RevokeToken",              "UUDDODU", b_revoke_token},
	{ADM "WhoAmI",                   "UUOOOOU", b_who},
	{DLV "AddWebhook",               "UUDDODU", b_add_webhook},
	{DLV "ListWebhooks",             "UUDOODU", b_list_webhooks},
	{DLV "PauseWebhook",             "UUDDODU", b_pause_webhook},
	{DLV "TestWebhook",              "UUDDODU", b_test_webhook},
	{DLV "RemoveWebhook",            "UUDDODU", b_remove_webhook},
	{FLW "FollowVendor",             "UUDOODU", b_follow},
	{FLW "UnfollowVendor",           "UUDOODU", b_unfollow},
	{FLW "ListFollows",              "UUOOODU", b_list_follows},
};

static size_t
method_count(void)
{
	size_t n = 0;
	for (size_t s = 0; rpc_services[s] != NULL; s++) {
		n += rpc_services[s]->desc->n_methods;
	}
	return n;
}

START_TEST(every_role_against_every_method)
{
	size_t ncells = sizeof(matrix) / sizeof(matrix[0]);
	int wrong = 0;

	/* Every method of every service is in the table. */
	ck_assert_uint_eq(ncells, method_count());
	for (size_t i = 0; i < ncells; i++) {
		const cell *m = &matrix[i];
		ck_assert_uint_eq(strlen(m->expect), NCALLERS);
		for (int c = 0; c < NCALLERS; c++) {
			storage s;
			ProtobufCMessage *in = m->build(c, &s);
			spreg_status st = call_as(tokens[c], m->method, in, NULL,
			    NULL);
			spreg_status want = m->expect[c] == 'O' ? SPREG_OK :
			    m->expect[c] == 'U' ? SPREG_UNAUTHENTICATED :
			                          SPREG_PERMISSION_DENIED;
			if (st != want) {
				printf("%s as %s: %s (%s), want %s\n",
				    m->method, caller_names[c],
				    spreg_status_name(st), last_message,
				    spreg_status_name(want));
				wrong++;
			}
		}
	}
	ck_assert_int_eq(wrong, 0);
}
END_TEST

/*
 * A public worker (the HTTP page's) serves a request without a token as
 * the public: the RPC_PUBLIC methods (the public list, the upcoming
 * changes, the log's public changes) and nothing else, naming no customer; a bad token is still
 * refused, not taken for the public.
 */
START_TEST(public_worker_serves_the_public_methods_only)
{
	size_t ncells = sizeof(matrix) / sizeof(matrix[0]);
	rpc_worker *rpc_side = w;
	int wrong = 0;

	ck_assert_int_eq(rpc_worker_create_public(srv, &w), SPREG_OK);
	for (size_t i = 0; i < ncells; i++) {
		const cell *m = &matrix[i];
		storage s;
		bool public = strcmp(m->method,
		    "spreg.v1.Export/ExportSubprocessors") == 0 ||
		    strcmp(m->method, REG "ListAnnouncements") == 0 ||
		    strcmp(m->method, REG "ListChanges") == 0;
		spreg_status st = call_as("", m->method, m->build(C_NONE, &s),
		    NULL, NULL);
		if (st != (public ? SPREG_OK : SPREG_UNAUTHENTICATED)) {
			printf("%s as the public: %s (%s)\n", m->method,
			    spreg_status_name(st), last_message);
			wrong++;
		}
		st = call_as(tokens[C_BOGUS], m->method, m->build(C_BOGUS, &s),
		    NULL, NULL);
		if (st != SPREG_UNAUTHENTICATED) {
			printf("%s with a bogus token on a public worker: %s\n",
			    m->method, spreg_status_name(st));
			wrong++;
		}
	}
	ck_assert_int_eq(wrong, 0);
	Spreg__V1__ExportSubprocessorsRequest ex =
	    SPREG__V1__EXPORT_SUBPROCESSORS_REQUEST__INIT;
	ex.customer = "acme";
	ck_assert_int_eq(call_as("", "spreg.v1.Export/ExportSubprocessors",
	    &ex.base, NULL, NULL), SPREG_UNAUTHENTICATED);
	ck_assert_ptr_nonnull(strstr(last_message, "customer"));
	/* The log as the public reads it: changes to vendors only, and
	 * not who made them. */
	Spreg__V1__ListChangesRequest lc = SPREG__V1__LIST_CHANGES_REQUEST__INIT;
	lc.limit = 1000;
	Spreg__V1__ListChangesResponse *pub = (void *) must("",
	    REG "ListChanges", &lc.base,
	    &spreg__v1__list_changes_response__descriptor);
	ck_assert_uint_gt(pub->n_changes, 0);
	for (size_t i = 0; i < pub->n_changes; i++) {
		const Spreg__V1__Change *c = pub->changes[i];
		ck_assert_int_ne(c->kind, CHANGE_OBJECTION);
		ck_assert_int_ne(c->kind, CHANGE_CUSTOMER_UPDATED);
		ck_assert_int_ne(c->kind, CHANGE_CUSTOMER_DELETED);
		ck_assert_int_ne(c->kind, CHANGE_ASSESSMENT_CHANGED);
		ck_assert_str_eq(c->actor, "");
		ck_assert_str_eq(c->token, "");
	}
	protobuf_c_message_free_unpacked(&pub->base, NULL);
	lc.customer_id = "acme";
	ck_assert_int_eq(call_as("", REG "ListChanges", &lc.base, NULL, NULL),
	    SPREG_UNAUTHENTICATED);
	rpc_worker_destroy(w);
	w = rpc_side;
}
END_TEST

/*
 * A customer's feed key, as a bearer "feed_<customer>.<key>", reads that
 * customer's feed (the public methods, as the customer) and nothing
 * else; another customer's path, a wrong key, or the key before a
 * rotation is refused.
 */
START_TEST(feed_key_reads_its_feed_only)
{
	Spreg__V1__GetFeedKeyRequest gk = SPREG__V1__GET_FEED_KEY_REQUEST__INIT;
	gk.customer_id = "acme";
	Spreg__V1__GetFeedKeyResponse *k = (void *) must(tokens[C_ADMIN],
	    REG "GetFeedKey", &gk.base,
	    &spreg__v1__get_feed_key_response__descriptor);
	char bearer[200], other[200], old[200];
	ck_assert_uint_eq(strlen(k->key), 32);
	snprintf(bearer, sizeof(bearer), "feed_acme.%s", k->key);
	snprintf(other, sizeof(other), "feed_globex.%s", k->key);
	ck_assert_ptr_nonnull(strstr(k->feed_path, k->key));
	protobuf_c_message_free_unpacked(&k->base, NULL);

	Spreg__V1__ListChangesRequest lc = SPREG__V1__LIST_CHANGES_REQUEST__INIT;
	lc.limit = 1000;
	Spreg__V1__ListChangesResponse *mine = (void *) must(bearer,
	    REG "ListChanges", &lc.base,
	    &spreg__v1__list_changes_response__descriptor);
	lc.customer_id = "acme";
	Spreg__V1__ListChangesResponse *all = (void *) must(tokens[C_ADMIN],
	    REG "ListChanges", &lc.base,
	    &spreg__v1__list_changes_response__descriptor);
	ck_assert_uint_eq(mine->n_changes, all->n_changes);
	ck_assert_uint_gt(mine->n_changes, 0);
	protobuf_c_message_free_unpacked(&mine->base, NULL);
	protobuf_c_message_free_unpacked(&all->base, NULL);
	lc.customer_id = "globex";
	ck_assert_int_eq(call_as(bearer, REG "ListChanges", &lc.base, NULL,
	    NULL), SPREG_PERMISSION_DENIED);
	Spreg__V1__GetSubprocessorRequest get =
	    SPREG__V1__GET_SUBPROCESSOR_REQUEST__INIT;
	get.id = "stripe";
	ck_assert_int_eq(call_as(bearer, REG "GetSubprocessor", &get.base,
	    NULL, NULL), SPREG_PERMISSION_DENIED);
	lc.customer_id = "";
	ck_assert_int_eq(call_as(other, REG "ListChanges", &lc.base, NULL,
	    NULL), SPREG_UNAUTHENTICATED);
	ck_assert_int_eq(call_as("feed_acme.00000000000000000000000000000000",
	    REG "ListChanges", &lc.base, NULL, NULL), SPREG_UNAUTHENTICATED);

	Spreg__V1__RotateFeedKeyRequest rk =
	    SPREG__V1__ROTATE_FEED_KEY_REQUEST__INIT;
	rk.customer_id = "acme";
	snprintf(old, sizeof(old), "%s", bearer);
	k = (void *) must(tokens[C_EDITOR], REG "RotateFeedKey", &rk.base,
	    &spreg__v1__get_feed_key_response__descriptor);
	snprintf(bearer, sizeof(bearer), "feed_acme.%s", k->key);
	protobuf_c_message_free_unpacked(&k->base, NULL);
	ck_assert_str_ne(bearer, old);
	ck_assert_int_eq(call_as(old, REG "ListChanges", &lc.base, NULL,
	    NULL), SPREG_UNAUTHENTICATED);
	ck_assert_int_eq(call_as(bearer, REG "ListChanges", &lc.base, NULL,
	    NULL), SPREG_OK);
}
END_TEST

/* ---- a customer's view ---------------------------------------------------- */

START_TEST(customer_sees_only_its_own)
{
	const char *me = tokens[C_CUSTOMER], *admin = tokens[C_ADMIN];
	char not_yours[1024], no_such[1024];

	/* A vendor of another customer's service reads as no vendor. */
	Spreg__V1__GetSubprocessorRequest get =
	    SPREG__V1__GET_SUBPROCESSOR_REQUEST__INIT;
	get.id = "mailchimp";	/* marketing: globex's */
	ck_assert_int_eq(call_as(me, REG "GetSubprocessor", &get.base, NULL,
	    NULL), SPREG_NOT_FOUND);
	snprintf(not_yours, sizeof(not_yours), "%s", last_message);
	get.id = "no-such-vendor";
	ck_assert_int_eq(call_as(me, REG "GetSubprocessor", &get.base, NULL,
	    NULL), SPREG_NOT_FOUND);
	snprintf(no_such, sizeof(no_such), "%s", last_message);
	ck_assert_str_eq(not_yours, "id: no subprocessor 'mailchimp'");
	ck_assert_str_eq(no_such, "id: no subprocessor 'no-such-vendor'");
	get.id = "mailchimp";
	get.as_of = "2020-01-01";
	ck_assert_int_eq(call_as(me, REG "GetSubprocessor", &get.base, NULL,
	    NULL), SPREG_NOT_FOUND);

	/* Its list is the admin's list for acme; naming globex is refused. */
	Spreg__V1__ListSubprocessorsRequest list =
	    SPREG__V1__LIST_SUBPROCESSORS_REQUEST__INIT;
	Spreg__V1__ListSubprocessorsResponse *mine = (void *) must(me,
	    REG "ListSubprocessors", &list.base,
	    &spreg__v1__list_subprocessors_response__descriptor);
	list.customer = "acme";
	Spreg__V1__ListSubprocessorsResponse *theirs = (void *) must(admin,
	    REG "ListSubprocessors", &list.base,
	    &spreg__v1__list_subprocessors_response__descriptor);
	ck_assert_uint_eq(mine->n_subprocessors, theirs->n_subprocessors);
	ck_assert_uint_ge(mine->n_subprocessors, 2);	/* stripe, fastspring */
	for (size_t i = 0; i < mine->n_subprocessors; i++) {
		ck_assert_str_eq(mine->subprocessors[i]->id,
		    theirs->subprocessors[i]->id);
		ck_assert_str_ne(mine->subprocessors[i]->id, "mailchimp");
	}
	protobuf_c_message_free_unpacked(&mine->base, NULL);
	protobuf_c_message_free_unpacked(&theirs->base, NULL);
	list.customer = "globex";
	ck_assert_int_eq(call_as(me, REG "ListSubprocessors", &list.base, NULL,
	    NULL), SPREG_PERMISSION_DENIED);
	ck_assert_ptr_nonnull(strstr(last_message, "customer"));

	/* Customers: itself only. */
	Spreg__V1__GetCustomerRequest gc = SPREG__V1__GET_CUSTOMER_REQUEST__INIT;
	gc.id = "globex";
	ck_assert_int_eq(call_as(me, REG "GetCustomer", &gc.base, NULL, NULL),
	    SPREG_PERMISSION_DENIED);
	gc.id = "no-such-customer";	/* the same answer: no probing */
	ck_assert_int_eq(call_as(me, REG "GetCustomer", &gc.base, NULL, NULL),
	    SPREG_PERMISSION_DENIED);
	Spreg__V1__ListCustomersRequest lc =
	    SPREG__V1__LIST_CUSTOMERS_REQUEST__INIT;
	Spreg__V1__ListCustomersResponse *cs = (void *) must(me,
	    REG "ListCustomers", &lc.base,
	    &spreg__v1__list_customers_response__descriptor);
	ck_assert_uint_eq(cs->n_customers, 1);
	ck_assert_str_eq(cs->customers[0]->id, "acme");
	protobuf_c_message_free_unpacked(&cs->base, NULL);

	/* Changes: those concerning acme, as the admin's filter gives. */
	Spreg__V1__ListChangesRequest ch = SPREG__V1__LIST_CHANGES_REQUEST__INIT;
	ch.limit = 1000;
	Spreg__V1__ListChangesResponse *mc = (void *) must(me,
	    REG "ListChanges", &ch.base,
	    &spreg__v1__list_changes_response__descriptor);
	ch.customer_id = "acme";
	Spreg__V1__ListChangesResponse *ac = (void *) must(admin,
	    REG "ListChanges", &ch.base,
	    &spreg__v1__list_changes_response__descriptor);
	ck_assert_uint_eq(mc->n_changes, ac->n_changes);
	ck_assert_uint_gt(mc->n_changes, 0);
	for (size_t i = 0; i < mc->n_changes; i++) {
		ck_assert_uint_eq(mc->changes[i]->seq, ac->changes[i]->seq);
		ck_assert_str_ne(mc->changes[i]->subprocessor_id, "mailchimp");
		ck_assert_str_ne(mc->changes[i]->customer_id, "globex");
	}
	protobuf_c_message_free_unpacked(&mc->base, NULL);
	protobuf_c_message_free_unpacked(&ac->base, NULL);
	ch.customer_id = "globex";
	ck_assert_int_eq(call_as(me, REG "ListChanges", &ch.base, NULL, NULL),
	    SPREG_PERMISSION_DENIED);

	/* Announcements: newpay (billing), not newads (marketing). */
	Spreg__V1__ListAnnouncementsRequest la =
	    SPREG__V1__LIST_ANNOUNCEMENTS_REQUEST__INIT;
	Spreg__V1__ListAnnouncementsResponse *an = (void *) must(me,
	    REG "ListAnnouncements", &la.base,
	    &spreg__v1__list_announcements_response__descriptor);
	ck_assert_uint_eq(an->n_announcements, 1);
	ck_assert_str_eq(an->announcements[0]->subprocessor->id, "newpay");
	protobuf_c_message_free_unpacked(&an->base, NULL);

	/* Objections: for itself only; another's are not listed. */
	Spreg__V1__ObjectToChangeRequest ob =
	    SPREG__V1__OBJECT_TO_CHANGE_REQUEST__INIT;
	ob.change_seq = acme_change;
	ob.customer_id = "obj-editor";
	ck_assert_int_eq(call_as(me, REG "ObjectToChange", &ob.base, NULL,
	    NULL), SPREG_PERMISSION_DENIED);
	ob.customer_id = "obj-admin";
	protobuf_c_message_free_unpacked(must(admin, REG "ObjectToChange",
	    &ob.base, &spreg__v1__object_to_change_response__descriptor), NULL);
	ob.customer_id = "";
	ob.reason = "we were not told";
	protobuf_c_message_free_unpacked(must(me, REG "ObjectToChange",
	    &ob.base, &spreg__v1__object_to_change_response__descriptor), NULL);
	Spreg__V1__ListObjectionsRequest lo =
	    SPREG__V1__LIST_OBJECTIONS_REQUEST__INIT;
	lo.change_seq = acme_change;
	Spreg__V1__ListObjectionsResponse *os = (void *) must(me,
	    REG "ListObjections", &lo.base,
	    &spreg__v1__list_objections_response__descriptor);
	ck_assert_uint_eq(os->n_objections, 1);
	ck_assert_str_eq(os->objections[0]->customer_id, "acme");
	protobuf_c_message_free_unpacked(&os->base, NULL);
	os = (void *) must(admin, REG "ListObjections", &lo.base,
	    &spreg__v1__list_objections_response__descriptor);
	ck_assert_uint_eq(os->n_objections, 2);	/* acme and obj-admin */
	protobuf_c_message_free_unpacked(&os->base, NULL);
	lo.customer_id = "obj-admin";
	ck_assert_int_eq(call_as(me, REG "ListObjections", &lo.base, NULL,
	    NULL), SPREG_PERMISSION_DENIED);

	/* Assessment: acme's vendors only; the registry's size is hidden. */
	Spreg__V1__AssessTransfersRequest at =
	    SPREG__V1__ASSESS_TRANSFERS_REQUEST__INIT;
	Spreg__V1__AssessTransfersResponse *ar = (void *) must(me,
	    "spreg.v1.Assessment/AssessTransfers", &at.base,
	    &spreg__v1__assess_transfers_response__descriptor);
	ck_assert_uint_gt(ar->n_assessments, 0);
	for (size_t i = 0; i < ar->n_assessments; i++) {
		const char *id = ar->assessments[i]->subprocessor_id;
		ck_assert_msg(strcmp(id, "stripe") == 0 ||
		    strcmp(id, "fastspring") == 0, "assessed %s", id);
	}
	protobuf_c_message_free_unpacked(&ar->base, NULL);
	Spreg__V1__ServerInfoRequest si = SPREG__V1__SERVER_INFO_REQUEST__INIT;
	Spreg__V1__ServerInfoResponse *info = (void *) must(me,
	    REG "ServerInfo", &si.base,
	    &spreg__v1__server_info_response__descriptor);
	ck_assert_uint_eq(info->subprocessors + info->customers, 0);
	protobuf_c_message_free_unpacked(&info->base, NULL);
}
END_TEST

/* ---- tokens ------------------------------------------------------------ */

START_TEST(revoked_at_once_and_writes_name_their_token)
{
	const char *admin = tokens[C_ADMIN];
	char *t = create_token(admin, "short-lived", SPREG__V1__ROLE__EDITOR,
	    NULL);
	vendor v;
	Spreg__V1__PutSubprocessorRequest put =
	    SPREG__V1__PUT_SUBPROCESSOR_REQUEST__INIT;

	put.subprocessor = vendor_init(&v, "by-short-lived", NULL);
	Spreg__V1__PutSubprocessorResponse *r = (void *) must(t,
	    REG "PutSubprocessor", &put.base,
	    &spreg__v1__put_subprocessor_response__descriptor);
	ck_assert_str_eq(r->change->token, "short-lived");
	ck_assert_str_eq(r->change->actor, "tester");
	protobuf_c_message_free_unpacked(&r->base, NULL);

	Spreg__V1__RevokeTokenRequest rv = SPREG__V1__REVOKE_TOKEN_REQUEST__INIT;
	rv.name = "short-lived";
	protobuf_c_message_free_unpacked(must(admin, ADM "RevokeToken",
	    &rv.base, &spreg__v1__revoke_token_response__descriptor), NULL);
	/* The very next request, read or write. */
	Spreg__V1__WhoAmIRequest who = SPREG__V1__WHO_AM_IREQUEST__INIT;
	ck_assert_int_eq(call_as(t, ADM "WhoAmI", &who.base, NULL, NULL),
	    SPREG_UNAUTHENTICATED);
	ck_assert_ptr_nonnull(strstr(last_message, "revoked"));
	put.subprocessor = vendor_init(&v, "after-revocation", NULL);
	ck_assert_int_eq(call_as(t, REG "PutSubprocessor", &put.base, NULL,
	    NULL), SPREG_UNAUTHENTICATED);
	Spreg__V1__GetSubprocessorRequest get =
	    SPREG__V1__GET_SUBPROCESSOR_REQUEST__INIT;
	get.id = "after-revocation";
	ck_assert_int_eq(call_as(admin, REG "GetSubprocessor", &get.base, NULL,
	    NULL), SPREG_NOT_FOUND);
	/* Twice is refused; so is the last admin. */
	ck_assert_int_eq(call_as(admin, ADM "RevokeToken", &rv.base, NULL,
	    NULL), SPREG_FAILED_PRECONDITION);
	rv.name = "admin";
	ck_assert_int_eq(call_as(admin, ADM "RevokeToken", &rv.base, NULL,
	    NULL), SPREG_FAILED_PRECONDITION);
	ck_assert_ptr_nonnull(strstr(last_message, "last admin"));

	/* A request id is one caller's: the admin reusing the editor's id
	 * for the same request gets no saved reply of the editor's. */
	put.subprocessor = vendor_init(&v, "replayed", NULL);
	next_request_id = 424242;
	ck_assert_int_eq(call_as(tokens[C_EDITOR], REG "PutSubprocessor",
	    &put.base, NULL, NULL), SPREG_OK);
	ck_assert_int_eq(call_as(tokens[C_EDITOR], REG "PutSubprocessor",
	    &put.base, NULL, NULL), SPREG_OK);	/* a resend: the saved reply */
	ck_assert_int_eq(call_as(admin, REG "PutSubprocessor", &put.base, NULL,
	    NULL), SPREG_INVALID_ARGUMENT);
	next_request_id = 0;

	/* The right id with a wrong secret is unknown, not revoked. */
	char forged[160];
	snprintf(forged, sizeof(forged), "%s", tokens[C_READER]);
	forged[strlen(forged) - 1] ^= 1;
	ck_assert_int_eq(call_as(forged, ADM "WhoAmI", &who.base, NULL, NULL),
	    SPREG_UNAUTHENTICATED);
	ck_assert_str_eq(last_message, "token: not recognised");

	/* Names are unique; bad roles and customers are refused. */
	Spreg__V1__CreateTokenRequest mk = SPREG__V1__CREATE_TOKEN_REQUEST__INIT;
	mk.name = "short-lived";
	mk.role = SPREG__V1__ROLE__READER;
	ck_assert_int_eq(call_as(admin, ADM "CreateToken", &mk.base, NULL,
	    NULL), SPREG_ALREADY_EXISTS);
	mk.name = "x";
	mk.role = SPREG__V1__ROLE__CUSTOMER;
	mk.customer_id = "no-such-customer";
	ck_assert_int_eq(call_as(admin, ADM "CreateToken", &mk.base, NULL,
	    NULL), SPREG_NOT_FOUND);
	mk.customer_id = "";
	ck_assert_int_eq(call_as(admin, ADM "CreateToken", &mk.base, NULL,
	    NULL), SPREG_INVALID_ARGUMENT);
	mk.role = 9;
	ck_assert_int_eq(call_as(admin, ADM "CreateToken", &mk.base, NULL,
	    NULL), SPREG_INVALID_ARGUMENT);
	mk.role = SPREG__V1__ROLE__READER;
	mk.customer_id = "";
	mk.name = "insecure-local";
	ck_assert_int_eq(call_as(admin, ADM "CreateToken", &mk.base, NULL,
	    NULL), SPREG_INVALID_ARGUMENT);
	mk.name = "0123456789abcdef";	/* would read as a token id */
	ck_assert_int_eq(call_as(admin, ADM "CreateToken", &mk.base, NULL,
	    NULL), SPREG_INVALID_ARGUMENT);

	/* ListTokens shows no hash or salt; the store's file holds no
	 * secret, not even in a saved reply. */
	Spreg__V1__ListTokensRequest lt = SPREG__V1__LIST_TOKENS_REQUEST__INIT;
	lt.include_revoked = true;
	Spreg__V1__ListTokensResponse *ts = (void *) must(admin,
	    ADM "ListTokens", &lt.base,
	    &spreg__v1__list_tokens_response__descriptor);
	ck_assert_uint_ge(ts->n_tokens, 10);
	for (size_t i = 0; i < ts->n_tokens; i++) {
		ck_assert_uint_eq(ts->tokens[i]->hash.len, 0);
		ck_assert_uint_eq(ts->tokens[i]->salt.len, 0);
	}
	protobuf_c_message_free_unpacked(&ts->base, NULL);
	char path[128];
	snprintf(path, sizeof(path), "%s/data.mdb", dir);
	FILE *f = fopen(path, "rb");
	ck_assert_ptr_nonnull(f);
	static char file[1 << 22];
	size_t n = fread(file, 1, sizeof(file), f);
	fclose(f);
	ck_assert_uint_gt(n, 0);
	const char *secret = strchr(t, '.') + 1;
	ck_assert_ptr_null(memmem(file, n, secret, strlen(secret)));
	secret = strchr(tokens[C_CUSTOMER], '.') + 1;
	ck_assert_ptr_null(memmem(file, n, secret, strlen(secret)));
	free(t);
}
END_TEST

static Suite *
auth_suite(void)
{
	Suite *s = suite_create("auth");
	TCase *tc = tcase_create("auth");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, every_role_against_every_method);
	tcase_add_test(tc, customer_sees_only_its_own);
	tcase_add_test(tc, public_worker_serves_the_public_methods_only);
	tcase_add_test(tc, feed_key_reads_its_feed_only);
	tcase_add_test(tc, revoked_at_once_and_writes_name_their_token);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(auth_suite());

	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
