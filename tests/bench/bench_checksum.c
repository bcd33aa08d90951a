/*
 * What the value checksum (db/value.h) costs a point read: the time of
 * db_sp_get (LMDB get, checksum, decode) on a record the size of the
 * sample's largest, next to the checksum alone on the same bytes.
 * meson test -C build --benchmark checksum
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/date.h"
#include "db/store.h"
#include "db/record.h"
#include "db/value.h"
#include "../support/write.h"

#define ROUNDS 300000

static double
now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static spreg_status
put_cb(db_txn *t, void *arg, err *e)
{
	static arena a;
	Spreg__V1__Change *c;
	db_actor who = {"bench", 0, time_now_ms(), NULL};

	arena_init(&a, (size_t) 1 << 20);
	spreg_status st = db_sp_put(t, arg, 0, false, &who, &a, &c, e);
	arena_fini(&a);
	return st;
}

int
main(void)
{
	char dir[] = "/tmp/spreg-bench-XXXXXX";
	db_options o = {.dir = dir};
	db_session *s;
	db *d;
	err e;

	if (mkdtemp(dir) == NULL || db_open(&o, &d, &e) != SPREG_OK ||
	    db_session_create(d, &s) != SPREG_OK) {
		fprintf(stderr, "bench_checksum: cannot open a store\n");
		return 1;
	}
	/* About the size of stripe in the sample registry. */
	char *cats[] = {"user.name", "user.contact.email",
	    "user.contact.address", "user.financial.credit_card",
	    "user.financial.bank_account", "user.device.ip_address"};
	char *services[] = {"billing"};
	char purpose[400];
	memset(purpose, 'p', sizeof(purpose) - 1);
	purpose[sizeof(purpose) - 1] = '\0';
	Spreg__V1__Subprocessor sp = SPREG__V1__SUBPROCESSOR__INIT;
	sp.id = "stripe";
	sp.name = "Stripe";
	sp.legal_entity = "Stripe, Inc.";
	sp.purpose = purpose;
	sp.website = "https://stripe.com";
	sp.data_categories = cats;
	sp.n_data_categories = 6;
	sp.services = services;
	sp.n_services = 1;
	sp.status = SP_STATUS_ACTIVE;
	sp.effective_from = "2018-05-01";
	if (test_write(s, put_cb, &sp, &e) != SPREG_OK) {
		fprintf(stderr, "bench_checksum: %s\n", e.msg);
		return 1;
	}
	arena a;
	arena_init(&a, (size_t) 1 << 20);
	db_txn t;
	Spreg__V1__Subprocessor *got;
	double t0 = now_s();
	for (int i = 0; i < ROUNDS; i++) {
		db_read_begin(s, &t, &e);
		if (db_sp_get(&t, "stripe", 0, &a, &got, &e) != SPREG_OK) {
			fprintf(stderr, "bench_checksum: %s\n", e.msg);
			return 1;
		}
		db_read_end(s);
		arena_reset(&a);
	}
	double get_ns = (now_s() - t0) / ROUNDS * 1e9;

	size_t len = spreg__v1__subprocessor__get_packed_size(&sp);
	unsigned char *buf = malloc(len), hdr[DB_VALUE_HEADER];
	spreg__v1__subprocessor__pack(&sp, buf);
	MDB_val k = {6, "stripe"};
	unsigned sum = 0;
	t0 = now_s();
	for (int i = 0; i < ROUNDS; i++) {
		db_value_seal(DB_SP, &k, buf, len, hdr);
		sum += hdr[1];
	}
	double sum_ns = (now_s() - t0) / ROUNDS * 1e9;
	printf("record of %zu bytes: point read (db_sp_get) %.0f ns, of which "
	    "the checksum %.0f ns (%.1f%%)%s\n", len, get_ns, sum_ns,
	    100.0 * sum_ns / get_ns, sum == 0xffffffff ? "" : "");
	free(buf);
	arena_fini(&a);
	db_session_destroy(s);
	db_close(d);
	char cmd[64];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : 1;
}
