/*
 * Unit tests of src/net/conns.c, the table behind spregd's connection
 * limits: connections in all and per peer, requests in flight and
 * replies queued per connection, queued bytes over all, idle
 * connections, and the table staying exact while entries come and go
 * in colliding probe runs.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/conns.h"

static const net_peer local = {0, {0}};

static net_peer
ipv4(uint8_t last)
{
	net_peer p = {4, {127, 0, 0, last}};
	return p;
}

static net_conns *
table(size_t connections, size_t per_peer, size_t inflight, size_t queued,
    size_t queued_bytes)
{
	net_conns *t;
	net_conns_limits l = {connections, per_peer, inflight, queued,
	    queued_bytes};

	ck_assert_int_eq(net_conns_create(&l, &t), SPREG_OK);
	return t;
}

START_TEST(limit_per_connection)
{
	net_conns *t = table(64, 64, 2, 8, 1000);

	ck_assert_int_eq(net_conns_add(t, 7, &local, 0), NET_CONNS_OK);
	ck_assert_int_eq(net_conns_add(t, 8, &local, 0), NET_CONNS_OK);
	ck_assert_int_eq(net_conns_enter(t, 7, 1), NET_CONNS_OK);
	ck_assert_int_eq(net_conns_enter(t, 7, 1), NET_CONNS_OK);
	/* a third: refused */
	ck_assert_int_eq(net_conns_enter(t, 7, 1), NET_CONNS_BUSY);
	ck_assert_uint_eq(net_conns_inflight(t, 7), 2);
	ck_assert_int_eq(net_conns_enter(t, 8, 1), NET_CONNS_OK);
	net_conns_leave(t, 7);
	ck_assert_int_eq(net_conns_enter(t, 7, 1), NET_CONNS_OK);
	net_conns_leave(t, 7);
	net_conns_leave(t, 7);
	net_conns_leave(t, 8);
	ck_assert_uint_eq(net_conns_inflight(t, 7), 0);
	ck_assert_uint_eq(net_conns_inflight(t, 8), 0);
	/* A connection not in the table counts nothing. */
	ck_assert_int_eq(net_conns_enter(t, 9, 1), NET_CONNS_GONE);
	net_conns_destroy(t);
}
END_TEST

START_TEST(limit_connections)
{
	net_conns *t = table(4, 2, 8, 8, 1000);
	net_peer a = ipv4(1), b = ipv4(2);
	net_conns_stats st;

	ck_assert_int_eq(net_conns_add(t, 1, &a, 0), NET_CONNS_OK);
	ck_assert_int_eq(net_conns_add(t, 2, &a, 0), NET_CONNS_OK);
	ck_assert_int_eq(net_conns_add(t, 3, &a, 0), NET_CONNS_PEER_FULL);
	ck_assert_int_eq(net_conns_add(t, 3, &b, 0), NET_CONNS_OK);
	/* ipc peers have no address: only the total counts them */
	ck_assert_int_eq(net_conns_add(t, 4, &local, 0), NET_CONNS_OK);
	ck_assert_int_eq(net_conns_add(t, 5, &local, 0), NET_CONNS_FULL);
	net_conns_remove(t, 5);	/* refused: not there, ignored */
	net_conns_remove(t, 1);
	ck_assert_int_eq(net_conns_add(t, 6, &a, 0), NET_CONNS_OK);
	net_conns_stats_get(t, &st);
	ck_assert_uint_eq(st.connections, 4);
	ck_assert_uint_eq(st.refused, 2);
	net_conns_destroy(t);
}
END_TEST

START_TEST(limit_queued)
{
	net_conns *t = table(8, 8, 1, 1, 100);
	net_conns_stats st;

	ck_assert_int_eq(net_conns_add(t, 1, &local, 0), NET_CONNS_OK);
	ck_assert_int_eq(net_conns_add(t, 2, &local, 0), NET_CONNS_OK);
	/* inflight + queued replies: one request in flight leaves room
	 * for one queued reply only */
	ck_assert_int_eq(net_conns_enter(t, 1, 0), NET_CONNS_OK);
	ck_assert_int_eq(net_conns_queue(t, 1, 10), NET_CONNS_OK);
	net_conns_leave(t, 1);
	ck_assert_int_eq(net_conns_queue(t, 1, 10), NET_CONNS_OK);
	/* a third reply unread on one connection: muted */
	ck_assert_int_eq(net_conns_queue(t, 1, 10), NET_CONNS_OVER);
	ck_assert_uint_eq(net_conns_queued(t, 1), 2);
	ck_assert_int_eq(net_conns_enter(t, 1, 0), NET_CONNS_MUTED);
	/* the bytes of all connections together */
	ck_assert_int_eq(net_conns_queue(t, 2, 80), NET_CONNS_OK);
	ck_assert_int_eq(net_conns_queue(t, 3, 11), NET_CONNS_GONE);
	ck_assert_int_eq(net_conns_add(t, 3, &local, 0), NET_CONNS_OK);
	ck_assert_int_eq(net_conns_queue(t, 3, 1), NET_CONNS_OVER);
	net_conns_sent(t, 1, 10, 5);
	ck_assert_int_eq(net_conns_queue(t, 2, 10), NET_CONNS_OK);
	net_conns_stats_get(t, &st);
	ck_assert_uint_eq(st.queued_bytes, 100);
	/* A closed connection's replies no longer count; its late send
	 * completions are ignored. */
	net_conns_remove(t, 2);
	net_conns_sent(t, 2, 80, 5);
	net_conns_stats_get(t, &st);
	ck_assert_uint_eq(st.queued_bytes, 10);
	ck_assert_int_eq(net_conns_queue(t, 2, 1), NET_CONNS_GONE);
	net_conns_destroy(t);
}
END_TEST

START_TEST(idle_connections)
{
	net_conns *t = table(8, 8, 8, 8, 1000);
	uint32_t ids[8];

	ck_assert_int_eq(net_conns_add(t, 1, &local, 100), NET_CONNS_OK);
	ck_assert_int_eq(net_conns_add(t, 2, &local, 100), NET_CONNS_OK);
	ck_assert_int_eq(net_conns_add(t, 3, &local, 100), NET_CONNS_OK);
	ck_assert_uint_eq(net_conns_idle(t, 100, 100, ids, 8), 0);
	ck_assert_int_eq(net_conns_enter(t, 2, 200), NET_CONNS_OK);
	net_conns_leave(t, 2);
	ck_assert_int_eq(net_conns_enter(t, 3, 200), NET_CONNS_OK);
	/* 1 idle since 100; 2 active at 200; 3 has a request in flight */
	ck_assert_uint_eq(net_conns_idle(t, 150, 150, ids, 8), 1);
	ck_assert_uint_eq(ids[0], 1);
	net_conns_leave(t, 3);
	ck_assert_int_eq(net_conns_queue(t, 3, 10), NET_CONNS_OK);
	/* 3's reply is unread: the send timeout decides, not idleness */
	ck_assert_uint_eq(net_conns_idle(t, 300, 300, ids, 8), 2);
	net_conns_sent(t, 3, 10, 400);
	ck_assert_uint_eq(net_conns_idle(t, 300, 300, ids, 8), 2);
	ck_assert_uint_eq(net_conns_idle(t, 401, 401, ids, 1), 1);	/* max */
	/* a muted connection is closed once quiet for the shorter time */
	net_conns_mute(t, 3);
	ck_assert_int_eq(net_conns_enter(t, 3, 500), NET_CONNS_MUTED);
	ck_assert_uint_eq(net_conns_idle(t, 0, 501, ids, 8), 1);
	ck_assert_uint_eq(ids[0], 3);
	net_conns_destroy(t);
}
END_TEST

/* Random adds, removes, enters and leaves on a small table (many
 * collisions), checked against a plain array after every step. */
START_TEST(counts_stay_exact)
{
	enum { CONNS = 8, IDS = 40, MAX = 3, STEPS = 10000 };
	size_t model[IDS + 1] = {0};
	bool open[IDS + 1] = {false};
	size_t nopen = 0;
	uint64_t rng = 0x9e3779b97f4a7c15u;
	net_conns *t = table(CONNS, CONNS, MAX, 8, 1000);

	for (int step = 0; step < STEPS; step++) {
		rng ^= rng << 13;
		rng ^= rng >> 7;
		rng ^= rng << 17;
		uint32_t id = 1 + (uint32_t) (rng % IDS);
		switch ((rng >> 32) % 4) {
		case 0:
			if (open[id]) {
				break;	/* pipe ids are never reused */
			}
			ck_assert_int_eq(net_conns_add(t, id, &local, 0),
			    nopen < CONNS ? NET_CONNS_OK : NET_CONNS_FULL);
			if (nopen < CONNS) {
				open[id] = true;
				nopen++;
			}
			break;
		case 1:
			net_conns_remove(t, id);
			if (open[id]) {
				open[id] = false;
				model[id] = 0;
				nopen--;
			}
			break;
		case 2: {
			net_conns_verdict v = net_conns_enter(t, id, 0);
			ck_assert_int_eq(v, !open[id] ? NET_CONNS_GONE :
			    model[id] < MAX ? NET_CONNS_OK : NET_CONNS_BUSY);
			model[id] += v == NET_CONNS_OK;
			break;
		}
		default:
			if (model[id] > 0) {
				net_conns_leave(t, id);
				model[id]--;
			}
			break;
		}
		for (uint32_t i = 1; i <= IDS; i++) {
			ck_assert_uint_eq(net_conns_inflight(t, i), model[i]);
		}
	}
	net_conns_destroy(t);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("net");
	TCase *tc = tcase_create("conns");
	tcase_add_test(tc, limit_per_connection);
	tcase_add_test(tc, limit_connections);
	tcase_add_test(tc, limit_queued);
	tcase_add_test(tc, idle_connections);
	tcase_add_test(tc, counts_stay_exact);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
