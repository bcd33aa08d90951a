/*
 * Co-located reads (file:// clients, rpc/local.h) against a real spregd
 * on the same data folder: every read method answers the same through
 * the store opened read-only in this process as through the server
 * (field by field), writes are refused naming the server, the reader
 * survives the server growing the map and restarting, and a reader
 * killed inside a read leaves no slot after the server's next check.
 * Nothing here is timed: waits are bounded, never verdicts.
 */
#include <check.h>
#include <pthread.h>
#include <lmdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rpc/rpc.h"
#include "spreg/client.h"
#include "spreg/v1/admin.pb-c.h"
#include "spreg/v1/assess.pb-c.h"
#include "spreg/v1/delivery.pb-c.h"
#include "spreg/v1/export.pb-c.h"
#include "spreg/v1/follow.pb-c.h"
#include "spreg/v1/registry.pb-c.h"
#include "support/spawn.h"
#include "test_token.h"

#define WAIT_BOUND_MS 60000	/* a bound on waiting, never a verdict */

static char dir[64];
static char file_url[SPAWN_PATH + 8];
static spawn server;

static void
start(const char *const *args)
{
	char log[128];
	spawn_opts o = {.dir = dir, .log = log, .log_level = "info",
	    .args = args};

	snprintf(log, sizeof(log), "%s/server.log", dir);
	ck_assert_msg(spawn_start(&server, &o), "spregd did not start");
	snprintf(file_url, sizeof(file_url), "file://%s", server.data);
}

static void
setup(void)
{
	ck_assert(spawn_mkdtemp(dir, sizeof(dir), "spreg-local"));
	memset(&server, 0, sizeof(server));
}

static void
teardown(void)
{
	if (server.pid > 0) {
		spawn_stop(&server, SIGTERM);
	}
	spawn_rmrf(dir);
}

static spreg_client *
open_client(const char *url, const char *token)
{
	spreg_client *c;

	ck_assert_int_eq(spreg_client_open(url, false, &c), SPREG_OK);
	spreg_client_set_token(c, token);
	spreg_client_set_timeout(c, 60000);
	return c;
}

/* Fields that describe the process answering, not the data (a file://
 * reader needs no token: WhoAmI's insecure_local is true there). */
static bool
process_field(const char *name)
{
	static const char *const names[] = {"uptime_seconds", "started_at",
	    "epoch", "map_size", "generated_at", "max_message_bytes",
	    "max_inflight", "max_connections", "max_connections_per_peer",
	    "max_queued_replies", "max_queued_bytes", "idle_timeout_ms",
	    "send_timeout_ms", "insecure_local",
	    /* the PUB sockets are the serving process's */
	    "publish_urls", "heartbeat_ms", NULL};

	for (size_t i = 0; names[i] != NULL; i++) {
		if (strcmp(names[i], name) == 0) {
			return true;
		}
	}
	return false;
}

static size_t
elem_size(ProtobufCType t)
{
	switch (t) {
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
	case PROTOBUF_C_TYPE_DOUBLE:
		return 8;
	case PROTOBUF_C_TYPE_STRING:
	case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(void *);
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	default:
		return 4;
	}
}

static void compare(const ProtobufCMessage *a, const ProtobufCMessage *b,
    const char *path);

/* One value of field f at pa and pb. */
static void
compare_value(const ProtobufCFieldDescriptor *f, const void *pa,
    const void *pb, const char *path)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_STRING: {
		const char *sa = *(char *const *) pa, *sb = *(char *const *) pb;
		ck_assert_msg(strcmp(sa ? sa : "", sb ? sb : "") == 0,
		    "%s: '%s' here, '%s' there", path, sa, sb);
		break;
	}
	case PROTOBUF_C_TYPE_BYTES: {
		const ProtobufCBinaryData *ba = pa, *bb = pb;
		ck_assert_msg(ba->len == bb->len && (ba->len == 0 ||
		    memcmp(ba->data, bb->data, ba->len) == 0),
		    "%s: bytes differ", path);
		break;
	}
	case PROTOBUF_C_TYPE_MESSAGE: {
		const ProtobufCMessage *ma = *(ProtobufCMessage *const *) pa;
		const ProtobufCMessage *mb = *(ProtobufCMessage *const *) pb;
		ck_assert_msg((ma == NULL) == (mb == NULL), "%s: present in "
		    "one answer only", path);
		if (ma != NULL) {
			compare(ma, mb, path);
		}
		break;
	}
	default:
		ck_assert_msg(memcmp(pa, pb, elem_size(f->type)) == 0,
		    "%s: values differ", path);
	}
}

/* a and b field by field (and every element of repeated fields). */
static void
compare(const ProtobufCMessage *a, const ProtobufCMessage *b,
    const char *path)
{
	const ProtobufCMessageDescriptor *d = a->descriptor;
	char sub[512];

	ck_assert_ptr_eq(d, b->descriptor);
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		const char *pa = (const char *) a + f->offset;
		const char *pb = (const char *) b + f->offset;

		if (process_field(f->name)) {
			continue;
		}
		if (f->label != PROTOBUF_C_LABEL_REPEATED) {
			snprintf(sub, sizeof(sub), "%s.%s", path, f->name);
			compare_value(f, pa, pb, sub);
			continue;
		}
		size_t na = *(const size_t *) ((const char *) a +
		    f->quantifier_offset);
		size_t nb = *(const size_t *) ((const char *) b +
		    f->quantifier_offset);
		ck_assert_msg(na == nb, "%s.%s: %zu here, %zu there", path,
		    f->name, na, nb);
		for (size_t j = 0; j < na; j++) {
			size_t es = elem_size(f->type);
			snprintf(sub, sizeof(sub), "%s.%s[%zu]", path, f->name,
			    j);
			compare_value(f, *(char *const *) pa + j * es,
			    *(char *const *) pb + j * es, sub);
		}
	}
}

typedef struct read_case {
	const char *method;
	const ProtobufCMessage *req;
	const ProtobufCMessageDescriptor *resp;
} read_case;

/* The same call both ways: same status, same message, same answer. */
static void
same_answer(spreg_client *remote, spreg_client *local, const read_case *rc)
{
	ProtobufCMessage *ra = NULL, *la = NULL;
	char rerr[1024];

	spreg_status rs = spreg_call(remote, rc->method, rc->req, rc->resp,
	    &ra);
	snprintf(rerr, sizeof(rerr), "%s", spreg_client_error(remote));
	spreg_status ls = spreg_call(local, rc->method, rc->req, rc->resp,
	    &la);
	ck_assert_msg(rs == ls, "%s: %s over the socket (%s), %s in process "
	    "(%s)", rc->method, spreg_status_name(rs), rerr,
	    spreg_status_name(ls), spreg_client_error(local));
	if (rs != SPREG_OK) {
		ck_assert_str_eq(rerr, spreg_client_error(local));
		return;
	}
	compare(ra, la, rc->method);
	spreg_message_free(ra);
	spreg_message_free(la);
}

/* Is every read method of every service among the cases? */
static void
covers_every_read(const read_case *cases, size_t n)
{
	for (size_t s = 0; rpc_services[s] != NULL; s++) {
		const rpc_service *svc = rpc_services[s];
		for (size_t i = 0; i < svc->nmethods; i++) {
			char full[200];
			bool found = false;
			if (!(svc->methods[i].flags & RPC_READ)) {
				continue;
			}
			snprintf(full, sizeof(full), "%s/%s", svc->desc->name,
			    svc->methods[i].name);
			for (size_t k = 0; k < n && !found; k++) {
				found = strcmp(cases[k].method, full) == 0;
			}
			ck_assert_msg(found, "read method %s is not compared",
			    full);
		}
	}
}

START_TEST(identical_answers)
{
	start(NULL);
	spreg_client *remote = open_client(server.url, test_token);

	/* A customer, an announcement and an objection, so that every
	 * list has something in it. */
	char *services[] = {"app"};
	Spreg__V1__Customer cust = SPREG__V1__CUSTOMER__INIT;
	cust.id = "acme";
	cust.name = "Acme";
	cust.services = services;
	cust.n_services = 1;
	cust.regime = "EU";
	Spreg__V1__PutCustomerRequest pc = SPREG__V1__PUT_CUSTOMER_REQUEST__INIT;
	pc.customer = &cust;
	ck_assert_int_eq(spreg_call(remote, "PutCustomer", &pc.base,
	    &spreg__v1__put_customer_response__descriptor, NULL), SPREG_OK);
	Spreg__V1__GetSubprocessorRequest g =
	    SPREG__V1__GET_SUBPROCESSOR_REQUEST__INIT;
	Spreg__V1__GetSubprocessorResponse *aws;
	g.id = "aws";
	ck_assert_int_eq(spreg_call(remote, "GetSubprocessor", &g.base,
	    &spreg__v1__get_subprocessor_response__descriptor,
	    (ProtobufCMessage **) &aws), SPREG_OK);
	char *purpose = aws->subprocessor->purpose;
	aws->subprocessor->purpose = "Hosting, announced";
	Spreg__V1__AnnounceChangeRequest an =
	    SPREG__V1__ANNOUNCE_CHANGE_REQUEST__INIT;
	Spreg__V1__AnnounceChangeResponse *ar;
	an.subprocessor = aws->subprocessor;
	an.effective_at = "2099-01-01";
	ck_assert_msg(spreg_call(remote, "AnnounceChange", &an.base,
	    &spreg__v1__announce_change_response__descriptor,
	    (ProtobufCMessage **) &ar) == SPREG_OK, "announce: %s",
	    spreg_client_error(remote));
	Spreg__V1__ObjectToChangeRequest ob =
	    SPREG__V1__OBJECT_TO_CHANGE_REQUEST__INIT;
	ob.customer_id = "acme";
	ob.change_seq = ar->announcement->seq;
	ob.reason = "not that one";
	ck_assert_msg(spreg_call(remote, "ObjectToChange", &ob.base,
	    &spreg__v1__object_to_change_response__descriptor, NULL) ==
	    SPREG_OK, "object: %s", spreg_client_error(remote));
	spreg_message_free(&ar->base);
	aws->subprocessor->purpose = purpose;
	spreg_message_free(&aws->base);
	/* A customer token: its scope applies in process too. */
	Spreg__V1__CreateTokenRequest ct = SPREG__V1__CREATE_TOKEN_REQUEST__INIT;
	Spreg__V1__CreateTokenResponse *ctr;
	ct.name = "acme-reader";
	ct.role = SPREG__V1__ROLE__CUSTOMER;
	ct.customer_id = "acme";
	ck_assert_msg(spreg_call(remote, "spreg.v1.Admin/CreateToken",
	    &ct.base, &spreg__v1__create_token_response__descriptor,
	    (ProtobufCMessage **) &ctr) == SPREG_OK, "token: %s",
	    spreg_client_error(remote));

	Spreg__V1__GetSubprocessorRequest g_missing =
	    SPREG__V1__GET_SUBPROCESSOR_REQUEST__INIT;
	g_missing.id = "no-such-vendor";
	char *many_ids[] = {"aws", "no-such-vendor", "stripe", "aws"};
	Spreg__V1__GetSubprocessorsRequest many =
	    SPREG__V1__GET_SUBPROCESSORS_REQUEST__INIT;
	many.ids = many_ids;
	many.n_ids = 4;
	Spreg__V1__GetSubprocessorsRequest many_asof =
	    SPREG__V1__GET_SUBPROCESSORS_REQUEST__INIT;
	many_asof.ids = many_ids;
	many_asof.n_ids = 4;
	many_asof.as_of = "2099-06-01";
	Spreg__V1__ListSubprocessorsRequest ls =
	    SPREG__V1__LIST_SUBPROCESSORS_REQUEST__INIT;
	Spreg__V1__ListSubprocessorsRequest ls_us =
	    SPREG__V1__LIST_SUBPROCESSORS_REQUEST__INIT;
	ls_us.country = "US";
	ls_us.page_size = 3;
	Spreg__V1__ListSubprocessorsRequest ls_asof =
	    SPREG__V1__LIST_SUBPROCESSORS_REQUEST__INIT;
	ls_asof.as_of = "2099-06-01";
	Spreg__V1__ListChangesRequest lc = SPREG__V1__LIST_CHANGES_REQUEST__INIT;
	Spreg__V1__ListDataCategoriesRequest ldc =
	    SPREG__V1__LIST_DATA_CATEGORIES_REQUEST__INIT;
	Spreg__V1__ServerInfoRequest si = SPREG__V1__SERVER_INFO_REQUEST__INIT;
	Spreg__V1__ListWebhooksRequest lwh =
	    SPREG__V1__LIST_WEBHOOKS_REQUEST__INIT;
	Spreg__V1__ListFollowsRequest lf = SPREG__V1__LIST_FOLLOWS_REQUEST__INIT;
	Spreg__V1__GetCustomerRequest gc = SPREG__V1__GET_CUSTOMER_REQUEST__INIT;
	gc.id = "acme";
	Spreg__V1__ListCustomersRequest lcu =
	    SPREG__V1__LIST_CUSTOMERS_REQUEST__INIT;
	Spreg__V1__ListAnnouncementsRequest la =
	    SPREG__V1__LIST_ANNOUNCEMENTS_REQUEST__INIT;
	la.include_applied = true;
	Spreg__V1__ListObjectionsRequest lo =
	    SPREG__V1__LIST_OBJECTIONS_REQUEST__INIT;
	lo.customer_id = "acme";
	Spreg__V1__VerifyLogRequest vl = SPREG__V1__VERIFY_LOG_REQUEST__INIT;
	Spreg__V1__AssessTransfersRequest at =
	    SPREG__V1__ASSESS_TRANSFERS_REQUEST__INIT;
	Spreg__V1__AssessTransfersRequest at_uk =
	    SPREG__V1__ASSESS_TRANSFERS_REQUEST__INIT;
	at_uk.regime = "UK";
	at_uk.as_of = "2025-01-15";
	Spreg__V1__GetRulesRequest gr = SPREG__V1__GET_RULES_REQUEST__INIT;
	Spreg__V1__ExportTransfersRequest et =
	    SPREG__V1__EXPORT_TRANSFERS_REQUEST__INIT;
	Spreg__V1__ExportSubprocessorsRequest es =
	    SPREG__V1__EXPORT_SUBPROCESSORS_REQUEST__INIT;
	es.customer = "acme";
	Spreg__V1__ListTokensRequest lt = SPREG__V1__LIST_TOKENS_REQUEST__INIT;
	Spreg__V1__WhoAmIRequest wai = SPREG__V1__WHO_AM_IREQUEST__INIT;
	/* The same key both ways: it is derived from the store's secret. */
	Spreg__V1__GetFeedKeyRequest gfk = SPREG__V1__GET_FEED_KEY_REQUEST__INIT;
	gfk.customer_id = "acme";
	const read_case cases[] = {
	    {"spreg.v1.Registry/GetSubprocessor", &g.base,
	        &spreg__v1__get_subprocessor_response__descriptor},
	    {"spreg.v1.Registry/GetSubprocessor", &g_missing.base,
	        &spreg__v1__get_subprocessor_response__descriptor},
	    {"spreg.v1.Registry/GetSubprocessors", &many.base,
	        &spreg__v1__get_subprocessors_response__descriptor},
	    {"spreg.v1.Registry/GetSubprocessors", &many_asof.base,
	        &spreg__v1__get_subprocessors_response__descriptor},
	    {"spreg.v1.Registry/ListSubprocessors", &ls.base,
	        &spreg__v1__list_subprocessors_response__descriptor},
	    {"spreg.v1.Registry/ListSubprocessors", &ls_us.base,
	        &spreg__v1__list_subprocessors_response__descriptor},
	    {"spreg.v1.Registry/ListSubprocessors", &ls_asof.base,
	        &spreg__v1__list_subprocessors_response__descriptor},
	    {"spreg.v1.Registry/ListChanges", &lc.base,
	        &spreg__v1__list_changes_response__descriptor},
	    {"spreg.v1.Registry/ListDataCategories", &ldc.base,
	        &spreg__v1__list_data_categories_response__descriptor},
	    {"spreg.v1.Registry/ServerInfo", &si.base,
	        &spreg__v1__server_info_response__descriptor},
	    {"spreg.v1.Registry/GetCustomer", &gc.base,
	        &spreg__v1__get_customer_response__descriptor},
	    {"spreg.v1.Registry/ListCustomers", &lcu.base,
	        &spreg__v1__list_customers_response__descriptor},
	    {"spreg.v1.Registry/ListAnnouncements", &la.base,
	        &spreg__v1__list_announcements_response__descriptor},
	    {"spreg.v1.Registry/ListObjections", &lo.base,
	        &spreg__v1__list_objections_response__descriptor},
	    {"spreg.v1.Registry/VerifyLog", &vl.base,
	        &spreg__v1__verify_log_response__descriptor},
	    {"spreg.v1.Assessment/AssessTransfers", &at.base,
	        &spreg__v1__assess_transfers_response__descriptor},
	    {"spreg.v1.Assessment/AssessTransfers", &at_uk.base,
	        &spreg__v1__assess_transfers_response__descriptor},
	    {"spreg.v1.Assessment/GetRules", &gr.base,
	        &spreg__v1__get_rules_response__descriptor},
	    {"spreg.v1.Export/ExportTransfers", &et.base,
	        &spreg__v1__export_transfers_response__descriptor},
	    {"spreg.v1.Export/ExportSubprocessors", &es.base,
	        &spreg__v1__export_subprocessors_response__descriptor},
	    {"spreg.v1.Admin/ListTokens", &lt.base,
	        &spreg__v1__list_tokens_response__descriptor},
	    {"spreg.v1.Admin/WhoAmI", &wai.base,
	        &spreg__v1__who_am_iresponse__descriptor},
	    {"spreg.v1.Delivery/ListWebhooks", &lwh.base,
	        &spreg__v1__list_webhooks_response__descriptor},
	    {"spreg.v1.Follows/ListFollows", &lf.base,
	        &spreg__v1__list_follows_response__descriptor},
	    {"spreg.v1.Registry/GetFeedKey", &gfk.base,
	        &spreg__v1__get_feed_key_response__descriptor},
	};
	const size_t ncases = sizeof(cases) / sizeof(cases[0]);
	covers_every_read(cases, ncases);

	/* The admin token, then the customer's: the same both ways. */
	const char *tokens[] = {test_token, ctr->secret};
	for (size_t t = 0; t < 2; t++) {
		spreg_client *r = open_client(server.url, tokens[t]);
		spreg_client *l = open_client(file_url, tokens[t]);
		for (size_t i = 0; i < ncases; i++) {
			same_answer(r, l, &cases[i]);
		}
		spreg_client_close(r);
		spreg_client_close(l);
	}
	spreg_message_free(&ctr->base);

	/* A write through the file:// client: refused, naming the server;
	 * nothing written. */
	spreg_client *l = open_client(file_url, test_token);
	Spreg__V1__DeleteCustomerRequest dc =
	    SPREG__V1__DELETE_CUSTOMER_REQUEST__INIT;
	dc.id = "acme";
	ck_assert_int_eq(spreg_call(l, "DeleteCustomer", &dc.base,
	    &spreg__v1__delete_customer_response__descriptor, NULL),
	    SPREG_FAILED_PRECONDITION);
	ck_assert_msg(strstr(spreg_client_error(l), server.url) != NULL,
	    "the refusal names no server URL: %s", spreg_client_error(l));
	ck_assert_int_eq(spreg_call(remote, "GetCustomer", &gc.base,
	    &spreg__v1__get_customer_response__descriptor, NULL), SPREG_OK);
	/* Without a token: an admin that only reads. */
	spreg_client_set_token(l, "");
	ck_assert_int_eq(spreg_call(l, "spreg.v1.Admin/ListTokens", &lt.base,
	    &spreg__v1__list_tokens_response__descriptor, NULL), SPREG_OK);
	spreg_client_close(l);
	spreg_client_close(remote);
}
END_TEST

/* Puts vendor id with a long purpose, through the server. */
static void
put_vendor(spreg_client *c, const char *id)
{
	static char purpose[901];
	char *countries[] = {"DE"};
	char *categories[] = {"user.contact.email"};
	char *services[] = {"app"};
	Spreg__V1__Location loc = SPREG__V1__LOCATION__INIT;
	Spreg__V1__Subprocessor sp = SPREG__V1__SUBPROCESSOR__INIT;
	Spreg__V1__PutSubprocessorRequest req =
	    SPREG__V1__PUT_SUBPROCESSOR_REQUEST__INIT;

	memset(purpose, 'p', sizeof(purpose) - 1);
	loc.country = countries[0];
	loc.role = "hosting";
	Spreg__V1__Location *locs[] = {&loc};
	sp.id = (char *) id;
	sp.name = (char *) id;
	sp.legal_entity = "Test GmbH";
	sp.purpose = purpose;
	sp.status = SPREG__V1__SUBPROCESSOR_STATUS__SUBPROCESSOR_STATUS_ACTIVE;
	sp.locations = locs;
	sp.n_locations = 1;
	sp.data_categories = categories;
	sp.n_data_categories = 1;
	sp.services = services;
	sp.n_services = 1;
	req.subprocessor = &sp;
	ck_assert_msg(spreg_call(c, "PutSubprocessor", &req.base,
	    &spreg__v1__put_subprocessor_response__descriptor, NULL) ==
	    SPREG_OK, "put %s: %s", id, spreg_client_error(c));
}

static uint64_t
map_size(spreg_client *c)
{
	Spreg__V1__ServerInfoRequest req = SPREG__V1__SERVER_INFO_REQUEST__INIT;
	Spreg__V1__ServerInfoResponse *info;

	ck_assert_int_eq(spreg_call(c, "ServerInfo", &req.base,
	    &spreg__v1__server_info_response__descriptor,
	    (ProtobufCMessage **) &info), SPREG_OK);
	uint64_t n = info->map_size;
	spreg_message_free(&info->base);
	return n;
}

/* The reader answers GetSubprocessor(id) as the server does. */
static void
reads_same(spreg_client *remote, spreg_client *local, const char *id)
{
	Spreg__V1__GetSubprocessorRequest g =
	    SPREG__V1__GET_SUBPROCESSOR_REQUEST__INIT;
	read_case rc = {"spreg.v1.Registry/GetSubprocessor", &g.base,
	    &spreg__v1__get_subprocessor_response__descriptor};

	g.id = (char *) id;
	ck_assert_msg(spreg_call(local, "GetSubprocessor", &g.base,
	    rc.resp, NULL) == SPREG_OK, "reader: %s: %s", id,
	    spreg_client_error(local));
	same_answer(remote, local, &rc);
}

START_TEST(map_grows_and_server_restarts)
{
	const char *args[] = {"--no-sample", "--map-size", "65536", NULL};
	char id[32];

	start(args);
	spreg_client *remote = open_client(server.url, test_token);
	put_vendor(remote, "first");
	spreg_client *local = open_client(file_url, "");
	reads_same(remote, local, "first");
	uint64_t before = map_size(remote);

	/* Writes until the server's map is 4x what it was when the reader
	 * opened (bounded: each put adds a few KiB). */
	int n = 0;
	while (map_size(remote) < 4 * before && n < 4000) {
		snprintf(id, sizeof(id), "grow-%04d", n++);
		put_vendor(remote, id);
	}
	ck_assert_uint_ge(map_size(remote), 4 * before);
	reads_same(remote, local, id);	/* past the reader's first map */
	reads_same(remote, local, "first");

	/* A restart underneath: the reader stays open and reads on,
	 * including what the new server writes. */
	ck_assert_int_ne(spawn_stop(&server, SIGTERM), -1);
	Spreg__V1__GetSubprocessorRequest g =
	    SPREG__V1__GET_SUBPROCESSOR_REQUEST__INIT;
	g.id = id;
	ck_assert_int_eq(spreg_call(local, "GetSubprocessor", &g.base,
	    &spreg__v1__get_subprocessor_response__descriptor, NULL), SPREG_OK);
	start(args);
	spreg_client_close(remote);
	remote = open_client(server.url, test_token);
	for (int i = 0; i < 200; i++) {
		snprintf(id, sizeof(id), "after-%03d", i);
		put_vendor(remote, id);
	}
	reads_same(remote, local, id);
	reads_same(remote, local, "first");
	spreg_client_close(local);
	spreg_client_close(remote);
}
END_TEST

/* Reader slots of pid in the store's lock table: LMDB's own list,
 * read without clearing anything (no mdb_reader_check here). */
typedef struct slots {
	char pid[32];
	int found;
} slots;

static int
count_slot(const char *line, void *arg)
{
	slots *s = arg;
	char pid[32];

	if (sscanf(line, " %31s", pid) == 1 && strcmp(pid, s->pid) == 0) {
		s->found++;
	}
	return 0;
}

static int
slots_of(const char *data, pid_t pid)
{
	MDB_env *env;
	slots s = {.found = 0};

	snprintf(s.pid, sizeof(s.pid), "%ld", (long) pid);
	ck_assert_int_eq(mdb_env_create(&env), 0);
	ck_assert_int_eq(mdb_env_set_maxdbs(env, 64), 0);
	ck_assert_int_eq(mdb_env_open(env, data, MDB_RDONLY | MDB_NOTLS,
	    0600), 0);
	ck_assert_int_ge(mdb_reader_list(env, count_slot, &s), 0);
	mdb_env_close(env);
	return s.found;
}

static bool
log_has(const char *needle)
{
	char path[128], line[1024];
	bool found = false;

	snprintf(path, sizeof(path), "%s/server.log", dir);
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		return false;
	}
	while (!found && fgets(line, sizeof(line), f) != NULL) {
		found = strstr(line, needle) != NULL;
	}
	fclose(f);
	return found;
}

START_TEST(killed_reader_leaves_no_slot)
{
	int ready[2];
	char byte;

	start(NULL);
	ck_assert_int_eq(pipe(ready), 0);
	pid_t child = fork();
	ck_assert_int_ne(child, -1);
	if (child == 0) {
		/* The reader: reads on until killed; says so after its
		 * first answer. */
		spreg_client *c;
		Spreg__V1__ExportTransfersRequest req =
		    SPREG__V1__EXPORT_TRANSFERS_REQUEST__INIT;
		close(ready[0]);
		if (spreg_client_open(file_url, false, &c) != SPREG_OK) {
			_exit(2);
		}
		for (bool told = false;;) {
			if (spreg_call(c, "spreg.v1.Export/ExportTransfers",
			        &req.base,
			        &spreg__v1__export_transfers_response__descriptor,
			        NULL) != SPREG_OK) {
				_exit(3);
			}
			if (!told && write(ready[1], "r", 1) == 1) {
				told = true;
			}
		}
	}
	close(ready[1]);
	ck_assert_int_eq(read(ready[0], &byte, 1), 1);
	close(ready[0]);
	ck_assert_int_eq(kill(child, SIGKILL), 0);
	int status;
	ck_assert_int_eq(waitpid(child, &status, 0), child);
	ck_assert(WIFSIGNALED(status));
	/* Its slot is there, unless the server's minute tick came first
	 * (a very slow machine): then that check cleared it. */
	ck_assert(slots_of(server.data, child) >= 1 ||
	    log_has("cleared 1 stale reader slot"));

	/* The server's next check (SIGHUP runs it at once) clears it. */
	ck_assert_int_eq(kill(server.pid, SIGHUP), 0);
	for (int i = 0; i < WAIT_BOUND_MS / 50 &&
	     !log_has("stale reader slot"); i++) {
		spawn_sleep_ms(50);
	}
	ck_assert_msg(log_has("cleared 1 stale reader slot"),
	    "the server reported no cleared slot");
	ck_assert_int_eq(slots_of(server.data, child), 0);
}
END_TEST

#define THREADS 32
#define CALLS_PER_THREAD 40

typedef struct worker_arg {
	spreg_client *c;	/* shared by every thread */
	char *const *ids;
	size_t nids;
	size_t first;		/* this thread's first id */
	int wrong;		/* answers for another id, or failures */
	char why[256];
} worker_arg;

/* Calls Get for its own ids, checking each answer is for that id. */
static void *
worker(void *p)
{
	worker_arg *a = p;

	for (size_t i = 0; i < CALLS_PER_THREAD; i++) {
		Spreg__V1__GetSubprocessorRequest g =
		    SPREG__V1__GET_SUBPROCESSOR_REQUEST__INIT;
		Spreg__V1__GetSubprocessorResponse *r;
		g.id = a->ids[(a->first + i) % a->nids];
		if (spreg_call(a->c, "GetSubprocessor", &g.base,
		        &spreg__v1__get_subprocessor_response__descriptor,
		        (ProtobufCMessage **) &r) != SPREG_OK) {
			snprintf(a->why, sizeof(a->why), "%s: %s", g.id,
			    spreg_client_error(a->c));
			a->wrong++;
			continue;
		}
		if (strcmp(r->subprocessor->id, g.id) != 0) {
			snprintf(a->why, sizeof(a->why), "asked %s, got %s",
			    g.id, r->subprocessor->id);
			a->wrong++;
		}
		spreg_message_free(&r->base);
	}
	return NULL;
}

/* The sample's ids, through c; caller frees with free_ids. */
static size_t
sample_ids(spreg_client *c, char ***out, Spreg__V1__ListSubprocessorsResponse
    **resp)
{
	Spreg__V1__ListSubprocessorsRequest req =
	    SPREG__V1__LIST_SUBPROCESSORS_REQUEST__INIT;

	ck_assert_int_eq(spreg_call(c, "ListSubprocessors", &req.base,
	    &spreg__v1__list_subprocessors_response__descriptor,
	    (ProtobufCMessage **) resp), SPREG_OK);
	size_t n = (*resp)->n_subprocessors;
	ck_assert_uint_gt(n, 10);
	*out = calloc(n, sizeof(char *));
	ck_assert_ptr_nonnull(*out);
	for (size_t i = 0; i < n; i++) {
		(*out)[i] = (*resp)->subprocessors[i]->id;
	}
	return n;
}

START_TEST(one_client_many_threads)
{
	start(NULL);
	spreg_client *clients[2] = {open_client(server.url, test_token),
	    open_client(file_url, test_token)};
	Spreg__V1__ListSubprocessorsResponse *list;
	char **ids;
	size_t nids = sample_ids(clients[0], &ids, &list);

	for (size_t k = 0; k < 2; k++) {
		pthread_t th[THREADS];
		worker_arg args[THREADS];
		for (size_t t = 0; t < THREADS; t++) {
			args[t] = (worker_arg) {.c = clients[k], .ids = ids,
			    .nids = nids, .first = t};
			ck_assert_int_eq(pthread_create(&th[t], NULL, worker,
			    &args[t]), 0);
		}
		for (size_t t = 0; t < THREADS; t++) {
			ck_assert_int_eq(pthread_join(th[t], NULL), 0);
		}
		for (size_t t = 0; t < THREADS; t++) {
			ck_assert_msg(args[t].wrong == 0, "%s client, thread "
			    "%zu: %d wrong answers (%s)", k ? "file://" :
			    "remote", t, args[t].wrong, args[t].why);
		}
	}
	free(ids);
	spreg_message_free(&list->base);
	spreg_client_close(clients[0]);
	spreg_client_close(clients[1]);
}
END_TEST

START_TEST(batch_is_many_gets)
{
	start(NULL);
	spreg_client *c = open_client(server.url, test_token);
	Spreg__V1__ListSubprocessorsResponse *list;
	char **sample;
	size_t nsample = sample_ids(c, &sample, &list);
	char *ids[100];
	Spreg__V1__GetSubprocessorsRequest req =
	    SPREG__V1__GET_SUBPROCESSORS_REQUEST__INIT;
	Spreg__V1__GetSubprocessorsResponse *many;

	for (size_t i = 0; i < 100; i++) {
		ids[i] = i % 10 == 9 ? "no-such-vendor" : sample[i % nsample];
	}
	req.ids = ids;
	req.n_ids = 100;
	ck_assert_int_eq(spreg_call(c, "GetSubprocessors", &req.base,
	    &spreg__v1__get_subprocessors_response__descriptor,
	    (ProtobufCMessage **) &many), SPREG_OK);
	ck_assert_uint_eq(many->n_subprocessors, 90);
	ck_assert_uint_eq(many->n_not_found, 10);
	size_t k = 0;
	for (size_t i = 0; i < 100; i++) {
		Spreg__V1__GetSubprocessorRequest g =
		    SPREG__V1__GET_SUBPROCESSOR_REQUEST__INIT;
		Spreg__V1__GetSubprocessorResponse *one;
		g.id = ids[i];
		spreg_status st = spreg_call(c, "GetSubprocessor", &g.base,
		    &spreg__v1__get_subprocessor_response__descriptor,
		    (ProtobufCMessage **) &one);
		if (i % 10 == 9) {
			ck_assert_int_eq(st, SPREG_NOT_FOUND);
			continue;
		}
		ck_assert_int_eq(st, SPREG_OK);
		compare(&one->subprocessor->base,
		    &many->subprocessors[k++]->base, ids[i]);
		spreg_message_free(&one->base);
	}
	spreg_message_free(&many->base);

	/* More ids than a page: refused, naming the field. */
	char **lots = calloc(1001, sizeof(char *));
	ck_assert_ptr_nonnull(lots);
	for (size_t i = 0; i < 1001; i++) {
		lots[i] = "aws";
	}
	req.ids = lots;
	req.n_ids = 1001;
	ck_assert_int_eq(spreg_call(c, "GetSubprocessors", &req.base,
	    &spreg__v1__get_subprocessors_response__descriptor, NULL),
	    SPREG_INVALID_ARGUMENT);
	ck_assert_ptr_nonnull(strstr(spreg_client_error(c), "ids"));
	free(lots);
	free(sample);
	spreg_message_free(&list->base);
	spreg_client_close(c);
}
END_TEST

Suite *
local_suite(void)
{
	Suite *s = suite_create("local");
	TCase *tc = tcase_create("local");

	tcase_set_timeout(tc, 240);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, identical_answers);
	tcase_add_test(tc, map_grows_and_server_restarts);
	tcase_add_test(tc, killed_reader_leaves_no_slot);
	tcase_add_test(tc, one_client_many_threads);
	tcase_add_test(tc, batch_is_many_gets);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(local_suite());

	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
