/*
 * Integration tests call spregd as its admin: spregd writes the admin
 * token to DATA/admin.token on first start, and the clients made here
 * carry it. Load it once the server is ready.
 */
#ifndef TEST_TOKEN_H
#define TEST_TOKEN_H

#include <stdbool.h>
#include <stdio.h>

#include "spreg/client.h"
#include "spreg/watch.h"

static char test_token[SPREG_TOKEN_MAX];

/* False when DATA/admin.token cannot be read. */
static inline bool
test_token_load(const char *data_dir)
{
	char path[8192];

	if (snprintf(path, sizeof(path), "%s/admin.token", data_dir) >=
	    (int) sizeof(path)) {
		return false;
	}
	return spreg_token_resolve(path, test_token, sizeof(test_token)) ==
	    SPREG_OK;
}

static inline spreg_status
test_client_open(const char *url, bool wait, spreg_client **out)
{
	spreg_status st = spreg_client_open(url, wait, out);

	if (st == SPREG_OK) {
		spreg_client_set_token(*out, test_token);
	}
	return st;
}

static inline spreg_status
test_watch_open(const char *rpc_url, const char *pub_url,
    const spreg_watch_filter *f, uint64_t since_seq, spreg_watch **out)
{
	spreg_watch_options o = {NULL, test_token};

	return spreg_watch_open_with(rpc_url, pub_url, f, since_seq, &o, out);
}

#endif
