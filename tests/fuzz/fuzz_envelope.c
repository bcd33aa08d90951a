/*
 * Fuzzes the RPC layer: envelope decoding, dispatch, request decoding,
 * validation and the handlers, over a real store holding the sample
 * registry (on tmpfs when there is one). Writes are allowed to land:
 * the store may change, but nothing may crash, leak or misbehave.
 *
 * Every input is first handed to rpc_handle as it is. Then its first
 * byte picks a structured mode (odd: on): the second byte picks one of
 * the known methods, the third the envelope's options, and the rest
 * becomes that method's payload inside a well-formed envelope, so the
 * fuzzer reaches each method's own decoding and checks.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assess/rules.h"
#include "core/catalog.h"
#include "rpc/import.h"
#include "rpc/rpc.h"
#include "spreg/v1/rpc.pb-c.h"

#include "fuzz.h"

#define MAX_METHODS 64

static catalog *cat;
static assess_rules *rules;
static db *store;
static rpc_server *srv;
static rpc_worker *worker;
static char method_names[MAX_METHODS][128];
static size_t nmethods;

static void
shutdown_store(void)
{
	rpc_worker_destroy(worker);
	rpc_server_destroy(srv);
	db_close(store);
	assess_rules_destroy(rules);
	catalog_destroy(cat);
}

static void
init_once(void)
{
	const char *dir = fuzz_scratch_dir("fuzz-envelope");
	/* Capped so a long run cannot fill the disk: a full store is an
	 * answer (RESOURCE_EXHAUSTED) like any other. */
	db_options o = {.dir = dir, .map_size = 1 << 20,
	    .map_max = (size_t) 256 << 20};
	size_t count;
	err e;

	if (catalog_load(SPREG_TEST_DATA, &cat, &e) != SPREG_OK ||
	    assess_rules_load(SPREG_TEST_DATA, cat, &rules, &e) != SPREG_OK ||
	    db_open(&o, &store, &e) != SPREG_OK ||
	    rpc_server_create(store, cat, NULL, NULL, &srv, &e) != SPREG_OK) {
		fprintf(stderr, "fuzz_envelope: %s\n", e.msg);
		abort();
	}
	/* An envelope without a token reaches the handlers; one with a
	 * token is still checked, so the token parser is fuzzed too. */
	rpc_server_set_insecure_local(srv, true);
	rpc_server_set_rules(srv, rules);
	if (rpc_import_sample(srv, SPREG_TEST_DATA, "fuzz", NULL, &count,
	        &e) != SPREG_OK) {
		fprintf(stderr, "fuzz_envelope: %s\n", e.msg);
		abort();
	}
	if (rpc_worker_create(srv, &worker) != SPREG_OK) {
		abort();
	}
	for (size_t s = 0; rpc_services[s] != NULL; s++) {
		const ProtobufCServiceDescriptor *d = rpc_services[s]->desc;
		for (unsigned i = 0; i < d->n_methods && nmethods < MAX_METHODS;
		     i++) {
			snprintf(method_names[nmethods++], sizeof(method_names[0]),
			    "%s/%s", d->name, d->methods[i].name);
		}
	}
	/* The fuzz scratch folder goes after the store is closed (atexit
	 * runs in reverse order of registration). */
	atexit(shutdown_store);
}

/* The reply must be one a client can take: a known code, and a message
 * and payload that pack. */
static void
check_reply(const Spreg__V1__Reply *r)
{
	if ((unsigned) r->code > SPREG__V1__CODE__UNAUTHENTICATED) {
		fprintf(stderr, "reply code %d is not a known code\n", r->code);
		abort();
	}
	if (r->code != SPREG__V1__CODE__OK && r->payload.len != 0) {
		fprintf(stderr, "error reply with a payload\n");
		abort();
	}
	size_t n = spreg__v1__reply__get_packed_size(r);
	uint8_t *buf = malloc(n + 1);
	if (buf == NULL) {
		abort();
	}
	if (spreg__v1__reply__pack(r, buf) != n) {
		abort();
	}
	Spreg__V1__Reply *back = spreg__v1__reply__unpack(NULL, n, buf);
	if (back == NULL) {
		fprintf(stderr, "reply does not decode\n");
		abort();
	}
	spreg__v1__reply__free_unpacked(back, NULL);
	free(buf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	Spreg__V1__Reply reply;

	if (!ready) {
		init_once();
		ready = true;
	}
	rpc_handle(worker, data, size, &reply);
	check_reply(&reply);

	if (size < 3 || (data[0] & 1) == 0) {
		return 0;
	}
	Spreg__V1__Request env = SPREG__V1__REQUEST__INIT;
	uint8_t options = data[2];
	env.method = method_names[data[1] % nmethods];
	/* Bit 0: a request id (repeats are answered from the saved reply),
	 * bit 1: an actor, bits 2 and 3: a timeout of 1 ms (bit 2 alone:
	 * the deprecated absolute deadline, long past, which is ignored). */
	env.request_id = options & 1 ? 0x5eed0000u + (data[0] >> 1) : 0;
	env.actor = options & 2 ? "fuzzer" : "";
	env.deadline_unix_ms = (options & 0x0c) == 0x04 ? 1 : 0;
	env.timeout_ms = (options & 0x0c) == 0x0c ? 1 : 0;
	env.payload.data = (uint8_t *) data + 3;
	env.payload.len = size - 3;
	size_t n = spreg__v1__request__get_packed_size(&env);
	uint8_t *buf = malloc(n);
	if (buf == NULL) {
		return 0;
	}
	spreg__v1__request__pack(&env, buf);
	rpc_handle(worker, buf, n, &reply);
	check_reply(&reply);
	free(buf);
	return 0;
}
