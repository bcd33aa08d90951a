/*
 * Follows (service spreg.v1.Follows): spregd keeps a vendor's fourth
 * parties as another spregd's public list (GET /subprocessors.json)
 * says, fetching it itself on each follow's interval. vendor follow,
 * vendor unfollow, vendor follows; `spreg get` shows a vendor's follows
 * (vendor_print_follows).
 */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "core/publist.h"
#include "spreg/v1/follow.pb-c.h"

/* The server's fetch may take its whole bound before the write. */
#define FOLLOW_CALL_MS ((int) PUBLIST_TIMEOUT_S * 1000 + 15000)

static const char *
outcome_name(Spreg__V1__FollowOutcome o, char *buf, size_t len)
{
	if (o == SPREG__V1__FOLLOW_OUTCOME__FOLLOW_OUTCOME_UNSPECIFIED) {
		return "never fetched";
	}
	return cli_enum_name(&spreg__v1__follow_outcome__descriptor, (int) o,
	    true, buf, len);
}

int
cmd_vendor_follow(cli *c)
{
	static const cli_option options[] = {
		{"every", CLI_NUMBER, "SECONDS",
		    "seconds between fetches (default 300)", 1, 86400},
		{"once", CLI_FLAG, NULL,
		    "fetch and apply once, keeping no follow", 0, 0},
		{NULL, CLI_FLAG, NULL, NULL, 0, 0},
	};
	static const cli_spec spec = {options, 2, 2,
	    "URL is another spregd's public list, GET /subprocessors.json\n"
	    "(http or https). spregd fetches it now and then every --every\n"
	    "seconds, by itself, until `spreg vendor unfollow`: its vendors\n"
	    "become VENDOR's fourth parties here, each with source URL and\n"
	    "confirmed_on the day read; VENDOR's other fourth parties are\n"
	    "kept. A list that differs is written as PutSubprocessor writes\n"
	    "(in the change log, the topics, feeds and webhooks); following\n"
	    "and unfollowing are logged too. Needs an editor or admin token.\n"
	    "\nThe first fetch must succeed: a URL that does not answer,\n"
	    "answers other than 2xx, more than 4 MiB or not the list is\n"
	    "refused naming url, and nothing is stored. Later failures are\n"
	    "recorded on the follow (`spreg vendor follows`) and the last\n"
	    "list is kept. --once: the server fetches and applies the list\n"
	    "this once and keeps no follow.\n"};
	Spreg__V1__FollowVendorRequest req =
	    SPREG__V1__FOLLOW_VENDOR_REQUEST__INIT;
	ProtobufCMessage *msg;
	int rc;

	if ((rc = cli_parse(c, &spec)) != CLI_CONTINUE) {
		return rc;
	}
	req.subprocessor_id = (char *) cli_arg(c, 0);
	req.url = (char *) cli_arg(c, 1);
	req.interval_seconds = (uint32_t) cli_opt_u64(c, "every", 0);
	req.once = cli_flag(c, "once");
	cli_timeout_at_least(c, FOLLOW_CALL_MS);
	if ((rc = cli_call(c, "spreg.v1.Follows/FollowVendor", &req.base,
	         &spreg__v1__follow_vendor_response__descriptor, &msg)) != 0) {
		return rc;
	}
	const Spreg__V1__FollowVendorResponse *resp = (const void *) msg;
	if (cli_json(c)) {
		rc = cli_print_json(msg, false);
	} else {
		if (resp->follow != NULL) {
			printf("%s follows %s every %u s\n", req.subprocessor_id,
			    req.url, resp->follow->interval_seconds);
		}
		if (resp->change != NULL) {
			vendor_print_write(req.subprocessor_id,
			    resp->change->new_revision, resp->change);
		} else {
			printf("%s's fourth parties already match the list\n",
			    req.subprocessor_id);
		}
	}
	spreg_message_free(msg);
	return rc;
}

int
cmd_vendor_unfollow(cli *c)
{
	static const cli_spec spec = {NULL, 1, 2,
	    "Stops following URL for VENDOR (without URL: every list VENDOR\n"
	    "follows). Its fourth parties stay as last read; their\n"
	    "confirmed_on says when. Logged as an unfollowed change.\n"};
	Spreg__V1__UnfollowVendorRequest req =
	    SPREG__V1__UNFOLLOW_VENDOR_REQUEST__INIT;
	ProtobufCMessage *msg;
	int rc;

	if ((rc = cli_parse(c, &spec)) != CLI_CONTINUE) {
		return rc;
	}
	req.subprocessor_id = (char *) cli_arg(c, 0);
	req.url = cli_nargs(c) > 1 ? (char *) cli_arg(c, 1) : (char *) "";
	if ((rc = cli_call(c, "spreg.v1.Follows/UnfollowVendor", &req.base,
	         &spreg__v1__unfollow_vendor_response__descriptor, &msg)) !=
	    0) {
		return rc;
	}
	const Spreg__V1__UnfollowVendorResponse *resp = (const void *) msg;
	if (cli_json(c)) {
		rc = cli_print_json(msg, false);
	} else {
		for (size_t i = 0; i < resp->n_follows; i++) {
			printf("%s no longer follows %s\n",
			    resp->follows[i]->subprocessor_id,
			    resp->follows[i]->url);
		}
	}
	spreg_message_free(msg);
	return rc;
}

int
cmd_vendor_follows(cli *c)
{
	static const cli_spec spec = {NULL, 0, 1,
	    "The lists spregd follows (VENDOR: that vendor's), with the last\n"
	    "fetch and its outcome: updated, unchanged, not-modified (304),\n"
	    "or failed with the ERROR (the fourth parties stay as last read).\n"
	    "Columns: VENDOR, EVERY (seconds), LAST_FETCH, OUTCOME, CHANGES\n"
	    "(vendor changes written), FAILING_SINCE, ERROR, URL.\n"
	    "With --json: JSON Lines, one follow per line.\n"};
	static const char *const headers[] = {"VENDOR", "EVERY", "LAST_FETCH",
	    "OUTCOME", "CHANGES", "FAILING_SINCE", "ERROR", "URL"};
	Spreg__V1__ListFollowsRequest req =
	    SPREG__V1__LIST_FOLLOWS_REQUEST__INIT;
	ProtobufCMessage *msg;
	table *t = NULL;
	int rc;

	if ((rc = cli_parse(c, &spec)) != CLI_CONTINUE) {
		return rc;
	}
	req.subprocessor_id = cli_nargs(c) > 0 ? (char *) cli_arg(c, 0) :
	    (char *) "";
	if ((rc = cli_call(c, "spreg.v1.Follows/ListFollows", &req.base,
	         &spreg__v1__list_follows_response__descriptor, &msg)) != 0) {
		return rc;
	}
	const Spreg__V1__ListFollowsResponse *resp = (const void *) msg;
	rc = cli_rows_begin(c, 8, headers, &t);
	table_column_keep(t, 0);
	for (size_t i = 0; i < resp->n_follows && rc == 0; i++) {
		const Spreg__V1__Follow *f = resp->follows[i];
		char every[16], changes[24], outcome[32];
		snprintf(every, sizeof(every), "%u", f->interval_seconds);
		snprintf(changes, sizeof(changes), "%llu",
		    (unsigned long long) f->changes);
		const char *cells[] = {f->subprocessor_id, every,
		    f->last_fetch_at, outcome_name(f->last_outcome, outcome,
		    sizeof(outcome)), changes, f->failing_since, f->last_error,
		    f->url};
		rc = cli_rows_add(t, &f->base, cells);
	}
	spreg_message_free(msg);
	return cli_rows_end(c, t, rc);
}

void
vendor_print_follows(cli *c, const char *id)
{
	Spreg__V1__ListFollowsRequest req =
	    SPREG__V1__LIST_FOLLOWS_REQUEST__INIT;
	ProtobufCMessage *msg;

	req.subprocessor_id = (char *) id;
	/* A token that may not list follows (a customer's) sees none. */
	if (cli_call_quiet(c, "spreg.v1.Follows/ListFollows", &req.base,
	        &spreg__v1__list_follows_response__descriptor, &msg) !=
	    SPREG_OK) {
		return;
	}
	const Spreg__V1__ListFollowsResponse *resp = (const void *) msg;
	for (size_t i = 0; i < resp->n_follows; i++) {
		const Spreg__V1__Follow *f = resp->follows[i];
		char outcome[32];
		printf("follow: %s every %u s, last fetch %s: %s", f->url,
		    f->interval_seconds, f->last_fetch_at[0] != '\0' ?
		    f->last_fetch_at : "none", outcome_name(f->last_outcome,
		    outcome, sizeof(outcome)));
		if (f->last_error[0] != '\0') {
			printf(" (%s; failing since %s)", f->last_error,
			    f->failing_since);
		}
		printf("\n");
	}
	spreg_message_free(msg);
}
