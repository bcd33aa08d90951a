/*
 * Unit tests of follows on the store (rpc/follow.c, core/publist.c):
 * FollowVendor with its fetch answered here, and what the poller's
 * rpc_follow_record makes of each kind of fetch. The network side is
 * tests/follow_test.sh's.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/date.h"
#include "rpc/rpc.h"
#include "spreg/v1/admin.pb-c.h"
#include "spreg/v1/follow.pb-c.h"
#include "support/store.h"

static char dir[64];
static catalog *cat;
static db *d;
static rpc_server *srv;
static rpc_worker *w;

static void fake_fetch(const char *url, const char *etag,
    const atomic_bool *stop, publist_fetched *out);

static store_fixture fx = {.name = "follow", .map_size = 1 << 21,
    .insecure_local = true, .fetch = fake_fetch, .dir = &dir, .cat = &cat,
    .d = &d, .srv = &srv, .w = &w};

#define FLW "spreg.v1.Follows/"
#define URL "http://upstream.example/subprocessors.json"
#define ONE "{\"subprocessors\": [{\"subprocessor_id\": \"upco\", " \
	"\"name\": \"UpCo\", \"legal_entity\": \"UpCo AB\", " \
	"\"countries\": [\"SE\"]}]}"
#define TWO "{\"subprocessors\": [{\"subprocessor_id\": \"upco\", " \
	"\"name\": \"UpCo\", \"legal_entity\": \"UpCo AB\", " \
	"\"countries\": [\"SE\"]}, {\"subprocessor_id\": \"newco\", " \
	"\"name\": \"NewCo\", \"countries\": [\"FI\"]}]}"

/* What the next FollowVendor fetch brings: a body, or a failure. */
static const char *next_body;
static spreg_status next_st;
static int fetches;

static void
fake_fetch(const char *url, const char *etag, const atomic_bool *stop,
    publist_fetched *out)
{
	(void) etag, (void) stop;
	fetches++;
	memset(out, 0, sizeof(*out));
	out->st = next_st;
	if (next_st != SPREG_OK) {
		snprintf(out->msg, sizeof(out->msg), "url: %s: Couldn't "
		    "connect to server", url);
		return;
	}
	out->body = strdup(next_body);
	out->len = strlen(next_body);
	snprintf(out->etag, sizeof(out->etag), "\"v1\"");
}

static void
setup(void)
{
	store_fixture_setup(&fx);
	next_body = ONE;
	next_st = SPREG_OK;
	fetches = 0;
}

static void
teardown(void)
{
	store_fixture_teardown(&fx);
}

static spreg_status
call(const char *method, const ProtobufCMessage *in,
    const ProtobufCMessageDescriptor *od, ProtobufCMessage **out, char *msg,
    size_t msglen)
{
	Spreg__V1__Request env = SPREG__V1__REQUEST__INIT;

	env.method = (char *) method;
	env.actor = "tester";
	return store_fixture_call(w, &env, in, od, out, msg, msglen);
}

static uint64_t
last_seq(void)
{
	uint64_t seq;
	err e;

	ck_assert_int_eq(rpc_server_last_seq(srv, &seq, &e), SPREG_OK);
	return seq;
}

static spreg_status
follow(const char *vendor, const char *url, uint32_t interval, bool once,
    char *msg, size_t msglen)
{
	Spreg__V1__FollowVendorRequest in =
	    SPREG__V1__FOLLOW_VENDOR_REQUEST__INIT;

	in.subprocessor_id = (char *) vendor;
	in.url = (char *) url;
	in.interval_seconds = interval;
	in.once = once;
	return call(FLW "FollowVendor", &in.base, NULL, NULL, msg, msglen);
}

/* The vendor's follows (caller frees). */
static Spreg__V1__ListFollowsResponse *
follows(const char *vendor)
{
	Spreg__V1__ListFollowsRequest in = SPREG__V1__LIST_FOLLOWS_REQUEST__INIT;
	ProtobufCMessage *out;

	in.subprocessor_id = (char *) vendor;
	ck_assert_int_eq(call(FLW "ListFollows", &in.base,
	    &spreg__v1__list_follows_response__descriptor, &out, NULL, 0),
	    SPREG_OK);
	return (Spreg__V1__ListFollowsResponse *) out;
}

/* Is id among the vendor's fourth parties (with source url)? */
static bool
has_party(const char *vendor, const char *id, const char *url)
{
	Spreg__V1__GetSubprocessorRequest in =
	    SPREG__V1__GET_SUBPROCESSOR_REQUEST__INIT;
	ProtobufCMessage *out;
	bool found = false;

	in.id = (char *) vendor;
	ck_assert_int_eq(call("spreg.v1.Registry/GetSubprocessor", &in.base,
	    &spreg__v1__get_subprocessor_response__descriptor, &out, NULL, 0),
	    SPREG_OK);
	const Spreg__V1__Subprocessor *sp =
	    ((Spreg__V1__GetSubprocessorResponse *) out)->subprocessor;
	for (size_t i = 0; i < sp->n_fourth_parties; i++) {
		found = found || (strcmp(sp->fourth_parties[i]->id, id) == 0 &&
		    (url == NULL ||
		     strcmp(sp->fourth_parties[i]->source, url) == 0));
	}
	protobuf_c_message_free_unpacked(out, NULL);
	return found;
}

/* Bad follows: the field named, nothing stored, nothing logged. */
START_TEST(bad_follows_change_nothing)
{
	static const struct {
		const char *vendor, *url, *body;
		uint32_t interval;
		spreg_status fetch_st, want;
		const char *prefix;
	} cases[] = {
		{"nobody", URL, ONE, 0, SPREG_OK, SPREG_NOT_FOUND,
		    "subprocessor_id: "},
		{"Bad Id", URL, ONE, 0, SPREG_OK, SPREG_INVALID_ARGUMENT,
		    "subprocessor_id: "},
		{"aws", "ftp://upstream.example/x", ONE, 0, SPREG_OK,
		    SPREG_INVALID_ARGUMENT, "url: "},
		{"aws", "http://", ONE, 0, SPREG_OK, SPREG_INVALID_ARGUMENT,
		    "url: "},
		{"aws", URL, ONE, 86401, SPREG_OK, SPREG_INVALID_ARGUMENT,
		    "interval_seconds: "},
		{"aws", URL, ONE, 0, SPREG_UNAVAILABLE,
		    SPREG_FAILED_PRECONDITION, "url: " URL ": "},
		{"aws", URL, "<html>", 0, SPREG_OK, SPREG_INVALID_ARGUMENT,
		    "url: " URL ": not JSON"},
		{"aws", URL, "{\"changes\": []}", 0, SPREG_OK,
		    SPREG_INVALID_ARGUMENT, "url: " URL ": not a spreg public "
		    "list"},
		{"aws", URL, "{\"subprocessors\": [{\"name\": \"x\"}]}", 0,
		    SPREG_OK, SPREG_INVALID_ARGUMENT,
		    "url: " URL ": subprocessors[0]: "},
		/* Read, but refused as a record would be. */
		{"aws", URL, "{\"subprocessors\": [{\"subprocessor_id\": "
		    "\"x\", \"name\": \"X\", \"countries\": [\"XX\"]}]}", 0,
		    SPREG_OK, SPREG_INVALID_ARGUMENT, "fourth_parties["},
	};
	uint64_t seq = last_seq();

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char msg[600];
		next_body = cases[i].body;
		next_st = cases[i].fetch_st;
		spreg_status st = follow(cases[i].vendor, cases[i].url,
		    cases[i].interval, false, msg, sizeof(msg));
		ck_assert_msg(st == cases[i].want, "case %zu: %s: %s", i,
		    spreg_status_name(st), msg);
		ck_assert_msg(strncmp(msg, cases[i].prefix,
		    strlen(cases[i].prefix)) == 0, "case %zu: %s", i, msg);
	}
	ck_assert_uint_eq(last_seq(), seq);
	Spreg__V1__ListFollowsResponse *l = follows("");
	ck_assert_uint_eq(l->n_follows, 0);
	protobuf_c_message_free_unpacked(&l->base, NULL);
	/* Nothing is fetched for a URL that is not ours to fetch. */
	fetches = 0;
	follow("aws", "file:///etc/passwd", 0, false, NULL, 0);
	ck_assert_int_eq(fetches, 0);
}
END_TEST

/* A follow: stored with who made it, logged, the list applied; then
 * the poller's fetches, each recorded as it went. */
START_TEST(follow_then_poll)
{
	char msg[600];
	uint64_t seq0 = last_seq(), changed;
	err e;

	ck_assert_msg(follow("aws", URL, 5, false, msg, sizeof(msg)) ==
	    SPREG_OK, "%s", msg);
	ck_assert_uint_eq(last_seq(), seq0 + 2);	/* followed, updated */
	ck_assert(has_party("aws", "upco", URL));
	ck_assert_int_eq(follow("aws", URL, 5, false, msg, sizeof(msg)),
	    SPREG_ALREADY_EXISTS);
	Spreg__V1__ListFollowsResponse *l = follows("aws");
	ck_assert_uint_eq(l->n_follows, 1);
	const Spreg__V1__Follow *f = l->follows[0];
	ck_assert_str_eq(f->created_by, "tester");
	ck_assert_uint_eq(f->interval_seconds, 5);
	ck_assert_int_eq(f->last_outcome,
	    SPREG__V1__FOLLOW_OUTCOME__FOLLOW_OUTCOME_UPDATED);
	ck_assert_uint_eq(f->changes, 1);
	ck_assert_uint_eq(f->last_change_seq, seq0 + 2);
	ck_assert_str_eq(f->etag, "\"v1\"");
	int64_t created;
	ck_assert(time_parse(f->created_at, &created));
	protobuf_c_message_free_unpacked(&l->base, NULL);

	/* Due interval_seconds after its last fetch, not before. */
	rpc_follow_job jobs[4];
	size_t n;
	int64_t next;
	ck_assert_int_eq(rpc_follow_due(w, created + 4999, jobs, 4, &n, &next,
	    &e), SPREG_OK);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(next, created + 5000);
	ck_assert_int_eq(rpc_follow_due(w, created + 5000, jobs, 4, &n, &next,
	    &e), SPREG_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(jobs[0].vendor, "aws");
	ck_assert_str_eq(jobs[0].url, URL);
	ck_assert_str_eq(jobs[0].etag, "\"v1\"");

	/* 304: recorded, nothing written. */
	publist_fetched got = {.st = SPREG_OK, .not_modified = true};
	ck_assert_int_eq(rpc_follow_record(w, &jobs[0], &got, &changed, &e),
	    SPREG_OK);
	ck_assert_uint_eq(changed, 0);
	ck_assert_uint_eq(last_seq(), seq0 + 2);
	l = follows("aws");
	ck_assert_int_eq(l->follows[0]->last_outcome,
	    SPREG__V1__FOLLOW_OUTCOME__FOLLOW_OUTCOME_NOT_MODIFIED);
	ck_assert_uint_eq(l->follows[0]->fetches, 2);
	protobuf_c_message_free_unpacked(&l->base, NULL);

	/* A failure: its error kept, the list kept. */
	got = (publist_fetched) {.st = SPREG_UNAVAILABLE};
	snprintf(got.msg, sizeof(got.msg), "url: " URL ": Couldn't connect "
	    "to server");
	ck_assert_int_eq(rpc_follow_record(w, &jobs[0], &got, &changed, &e),
	    SPREG_OK);
	ck_assert_uint_eq(last_seq(), seq0 + 2);
	ck_assert(has_party("aws", "upco", URL));
	l = follows("aws");
	f = l->follows[0];
	ck_assert_int_eq(f->last_outcome,
	    SPREG__V1__FOLLOW_OUTCOME__FOLLOW_OUTCOME_FAILED);
	ck_assert_str_eq(f->last_error, got.msg);
	ck_assert_str_ne(f->failing_since, "");
	ck_assert_str_eq(f->etag, "\"v1\"");
	ck_assert_uint_eq(f->failures, 1);
	protobuf_c_message_free_unpacked(&l->base, NULL);

	/* Garbage: refused whole, the ETag dropped so the next fetch is
	 * whole. */
	char junk[] = "not json";
	got = (publist_fetched) {.st = SPREG_OK, .body = junk,
	    .len = strlen(junk)};
	ck_assert_int_eq(rpc_follow_record(w, &jobs[0], &got, &changed, &e),
	    SPREG_OK);
	l = follows("aws");
	ck_assert_int_eq(l->follows[0]->last_outcome,
	    SPREG__V1__FOLLOW_OUTCOME__FOLLOW_OUTCOME_FAILED);
	ck_assert(strstr(l->follows[0]->last_error, "not JSON") != NULL);
	ck_assert_str_eq(l->follows[0]->etag, "");
	protobuf_c_message_free_unpacked(&l->base, NULL);

	/* A new list: the vendor written by the server's follow. */
	char two[] = TWO;
	got = (publist_fetched) {.st = SPREG_OK, .body = two,
	    .len = strlen(two)};
	snprintf(got.etag, sizeof(got.etag), "\"v2\"");
	ck_assert_int_eq(rpc_follow_record(w, &jobs[0], &got, &changed, &e),
	    SPREG_OK);
	ck_assert_uint_eq(changed, seq0 + 3);
	ck_assert_uint_eq(last_seq(), seq0 + 3);
	ck_assert(has_party("aws", "newco", URL));
	l = follows("aws");
	f = l->follows[0];
	ck_assert_int_eq(f->last_outcome,
	    SPREG__V1__FOLLOW_OUTCOME__FOLLOW_OUTCOME_UPDATED);
	ck_assert_str_eq(f->last_error, "");
	ck_assert_str_eq(f->failing_since, "");
	ck_assert_str_eq(f->etag, "\"v2\"");
	ck_assert_uint_eq(f->changes, 2);
	ck_assert_uint_eq(f->last_change_seq, seq0 + 3);
	protobuf_c_message_free_unpacked(&l->base, NULL);

	/* The same list again: unchanged, nothing written. */
	ck_assert_int_eq(rpc_follow_record(w, &jobs[0], &got, &changed, &e),
	    SPREG_OK);
	ck_assert_uint_eq(changed, 0);
	ck_assert_uint_eq(last_seq(), seq0 + 3);

	/* Unfollowed while a fetch was out: the fetch is dropped. */
	Spreg__V1__UnfollowVendorRequest un =
	    SPREG__V1__UNFOLLOW_VENDOR_REQUEST__INIT;
	un.subprocessor_id = "aws";
	ck_assert_int_eq(call(FLW "UnfollowVendor", &un.base, NULL, NULL, msg,
	    sizeof(msg)), SPREG_OK);
	ck_assert_uint_eq(last_seq(), seq0 + 4);	/* unfollowed */
	char one[] = ONE;
	got = (publist_fetched) {.st = SPREG_OK, .body = one,
	    .len = strlen(one)};
	ck_assert_int_eq(rpc_follow_record(w, &jobs[0], &got, &changed, &e),
	    SPREG_OK);
	ck_assert_uint_eq(changed, 0);
	ck_assert_uint_eq(last_seq(), seq0 + 4);
	ck_assert(has_party("aws", "newco", URL));	/* as last read */
	ck_assert_int_eq(call(FLW "UnfollowVendor", &un.base, NULL, NULL, msg,
	    sizeof(msg)), SPREG_NOT_FOUND);
}
END_TEST

/* Fourth parties entered by hand win over an upstream one of the same
 * id and stay; --once keeps no follow and logs no follow. */
/* A follow writes on its maker's authority: once that token is revoked
 * it is paused, fetching nothing and writing nothing, and says why. */
START_TEST(revoked_token_pauses_the_follow)
{
	Spreg__V1__Request env = SPREG__V1__REQUEST__INIT;
	Spreg__V1__CreateTokenRequest mk = SPREG__V1__CREATE_TOKEN_REQUEST__INIT;
	Spreg__V1__FollowVendorRequest fv =
	    SPREG__V1__FOLLOW_VENDOR_REQUEST__INIT;
	Spreg__V1__RevokeTokenRequest rv = SPREG__V1__REVOKE_TOKEN_REQUEST__INIT;
	ProtobufCMessage *out;
	char msg[600];
	uint64_t changed;
	err e;

	mk.name = "ed";
	mk.role = SPREG__V1__ROLE__EDITOR;
	ck_assert_msg(call("spreg.v1.Admin/CreateToken", &mk.base,
	    &spreg__v1__create_token_response__descriptor, &out, msg,
	    sizeof(msg)) == SPREG_OK, "%s", msg);
	Spreg__V1__CreateTokenResponse *made = (void *) out;
	env.method = FLW "FollowVendor";
	env.actor = "editor";
	env.token = made->secret;
	fv.subprocessor_id = "aws";
	fv.url = URL;
	fv.interval_seconds = 5;
	ck_assert_msg(store_fixture_call(w, &env, &fv.base, NULL, NULL, msg,
	    sizeof(msg)) == SPREG_OK, "%s", msg);
	protobuf_c_message_free_unpacked(out, NULL);
	Spreg__V1__ListFollowsResponse *l = follows("aws");
	ck_assert_str_eq(l->follows[0]->created_token, "ed");
	protobuf_c_message_free_unpacked(&l->base, NULL);

	/* While the token is valid the follow is due as any other. */
	rpc_follow_job jobs[4];
	size_t n;
	int64_t next;
	ck_assert_int_eq(rpc_follow_due(w, INT64_MAX / 2, jobs, 4, &n, &next,
	    &e), SPREG_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(jobs[0].paused, "");

	/* Revoked while that fetch was out: its list is not written. */
	rv.name = "ed";
	ck_assert_msg(call("spreg.v1.Admin/RevokeToken", &rv.base, NULL, NULL,
	    msg, sizeof(msg)) == SPREG_OK, "%s", msg);
	uint64_t seq = last_seq();
	char two[] = TWO;
	publist_fetched got = {.st = SPREG_OK, .body = two,
	    .len = strlen(two)};
	ck_assert_int_eq(rpc_follow_record(w, &jobs[0], &got, &changed, &e),
	    SPREG_OK);
	ck_assert_uint_eq(changed, 0);
	ck_assert_uint_eq(last_seq(), seq);
	ck_assert(!has_party("aws", "newco", URL));
	l = follows("aws");
	const Spreg__V1__Follow *f = l->follows[0];
	ck_assert_int_eq(f->last_outcome,
	    SPREG__V1__FOLLOW_OUTCOME__FOLLOW_OUTCOME_FAILED);
	ck_assert_msg(strstr(f->last_error, "paused: token 'ed'") != NULL &&
	    strstr(f->last_error, "revoked") != NULL, "%s", f->last_error);
	ck_assert_uint_eq(f->fetches, 2);
	protobuf_c_message_free_unpacked(&l->base, NULL);

	/* And from then on the poller is told not to fetch it. */
	ck_assert_int_eq(rpc_follow_due(w, INT64_MAX / 2, jobs, 4, &n, &next,
	    &e), SPREG_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_msg(strstr(jobs[0].paused, "revoked") != NULL, "%s",
	    jobs[0].paused);
	got = (publist_fetched) {.st = SPREG_FAILED_PRECONDITION};
	snprintf(got.msg, sizeof(got.msg), "%s", jobs[0].paused);
	ck_assert_int_eq(rpc_follow_record(w, &jobs[0], &got, &changed, &e),
	    SPREG_OK);
	ck_assert_uint_eq(last_seq(), seq);
	l = follows("aws");
	ck_assert_uint_eq(l->follows[0]->fetches, 2);	/* not fetched */
	ck_assert_uint_eq(l->follows[0]->failures, 2);
	protobuf_c_message_free_unpacked(&l->base, NULL);
}
END_TEST

START_TEST(hand_made_parties_win_and_once_keeps_nothing)
{
	char msg[600];
	uint64_t seq0 = last_seq();

	/* intercom's sample fourth parties: aws, by hand. */
	ck_assert(has_party("intercom", "aws", NULL));
	next_body = "{\"subprocessors\": [{\"subprocessor_id\": \"aws\", "
	    "\"name\": \"Upstream AWS\", \"countries\": [\"US\"]}, "
	    "{\"subprocessor_id\": \"upco\", \"name\": \"UpCo\"}]}";
	ck_assert_msg(follow("intercom", URL, 0, true, msg, sizeof(msg)) ==
	    SPREG_OK, "%s", msg);
	ck_assert_uint_eq(last_seq(), seq0 + 1);	/* the update alone */
	ck_assert(has_party("intercom", "upco", URL));
	ck_assert(!has_party("intercom", "aws", URL));
	ck_assert(has_party("intercom", "aws", NULL));
	Spreg__V1__ListFollowsResponse *l = follows("intercom");
	ck_assert_uint_eq(l->n_follows, 0);
	protobuf_c_message_free_unpacked(&l->base, NULL);
}
END_TEST

static int64_t clock_ms;

static int64_t
fake_clock(void)
{
	return clock_ms;
}

/* The confirmed_on of the vendor's fourth party id. */
static void
confirmed_on(const char *vendor, const char *id, char out[DATE_BUF])
{
	Spreg__V1__GetSubprocessorRequest in =
	    SPREG__V1__GET_SUBPROCESSOR_REQUEST__INIT;
	ProtobufCMessage *got;

	in.id = (char *) vendor;
	ck_assert_int_eq(call("spreg.v1.Registry/GetSubprocessor", &in.base,
	    &spreg__v1__get_subprocessor_response__descriptor, &got, NULL, 0),
	    SPREG_OK);
	const Spreg__V1__Subprocessor *sp =
	    ((Spreg__V1__GetSubprocessorResponse *) got)->subprocessor;
	out[0] = '\0';
	for (size_t i = 0; i < sp->n_fourth_parties; i++) {
		if (strcmp(sp->fourth_parties[i]->id, id) == 0) {
			snprintf(out, DATE_BUF, "%s",
			    sp->fourth_parties[i]->confirmed_on);
		}
	}
	protobuf_c_message_free_unpacked(got, NULL);
}

/* A 304 confirms the list as last read: on a new day its fourth
 * parties' confirmed_on moves to that day, once. */
START_TEST(not_modified_confirms_once_a_day)
{
	rpc_follow_job job;
	uint64_t seq, changed;
	char day[DATE_BUF], msg[600];
	err e;

	ck_assert(time_parse("2031-03-04T10:00:00Z", &clock_ms));
	time_set_clock(fake_clock);
	ck_assert_msg(follow("aws", URL, 60, false, msg, sizeof(msg)) ==
	    SPREG_OK, "%s", msg);
	confirmed_on("aws", "upco", day);
	ck_assert_str_eq(day, "2031-03-04");
	snprintf(job.vendor, sizeof(job.vendor), "aws");
	snprintf(job.url, sizeof(job.url), URL);
	snprintf(job.etag, sizeof(job.etag), "\"v1\"");
	publist_fetched got = {.st = SPREG_OK, .not_modified = true};
	seq = last_seq();
	ck_assert_int_eq(rpc_follow_record(w, &job, &got, &changed, &e),
	    SPREG_OK);
	ck_assert_uint_eq(changed, 0);	/* the same day: nothing to move */
	clock_ms += 86400 * 1000;
	ck_assert_int_eq(rpc_follow_record(w, &job, &got, &changed, &e),
	    SPREG_OK);
	ck_assert_uint_eq(changed, seq + 1);
	confirmed_on("aws", "upco", day);
	ck_assert_str_eq(day, "2031-03-05");
	ck_assert_int_eq(rpc_follow_record(w, &job, &got, &changed, &e),
	    SPREG_OK);
	ck_assert_uint_eq(changed, 0);
	ck_assert_uint_eq(last_seq(), seq + 1);
	time_set_clock(NULL);
}
END_TEST

static Suite *
follow_suite(void)
{
	Suite *s = suite_create("follow");
	TCase *tc = tcase_create("follows");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, bad_follows_change_nothing);
	tcase_add_test(tc, follow_then_poll);
	tcase_add_test(tc, revoked_token_pauses_the_follow);
	tcase_add_test(tc, hand_made_parties_win_and_once_keeps_nothing);
	tcase_add_test(tc, not_modified_confirms_once_a_day);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(follow_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
