/*
 * Unit tests of src/net/inflight.c, the per-connection count behind
 * spregd --max-inflight: the limit, and the table staying exact while
 * entries come and go in colliding probe runs.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>

#include "net/inflight.h"

START_TEST(limit_per_connection)
{
	net_inflight *t;

	ck_assert_int_eq(net_inflight_create(64, 2, &t), SPREG_OK);
	ck_assert(net_inflight_enter(t, 7));
	ck_assert(net_inflight_enter(t, 7));
	ck_assert(!net_inflight_enter(t, 7));	/* a third: refused */
	ck_assert_uint_eq(net_inflight_count(t, 7), 2);
	ck_assert(net_inflight_enter(t, 8));	/* another connection */
	net_inflight_leave(t, 7);
	ck_assert(net_inflight_enter(t, 7));	/* room again */
	net_inflight_leave(t, 7);
	net_inflight_leave(t, 7);
	net_inflight_leave(t, 8);
	ck_assert_uint_eq(net_inflight_count(t, 7), 0);
	ck_assert_uint_eq(net_inflight_count(t, 8), 0);
	net_inflight_destroy(t);
}
END_TEST

/* Random enters and leaves on a small table (many collisions), checked
 * against a plain array after every step. */
START_TEST(counts_stay_exact)
{
	enum { SLOTS = 8, IDS = 40, MAX = 3, STEPS = 10000 };
	size_t model[IDS + 1] = {0}, busy = 0;
	uint64_t rng = 0x9e3779b97f4a7c15u;
	net_inflight *t;

	ck_assert_int_eq(net_inflight_create(SLOTS, MAX, &t), SPREG_OK);
	for (int step = 0; step < STEPS; step++) {
		rng ^= rng << 13;
		rng ^= rng >> 7;
		rng ^= rng << 17;
		uint32_t id = 1 + (uint32_t) (rng % IDS);
		bool enter = (rng >> 32) & 1;
		if (enter && busy < SLOTS) {	/* never more than contexts */
			bool ok = net_inflight_enter(t, id);
			ck_assert(ok == (model[id] < MAX));
			if (ok) {
				model[id]++;
				busy++;
			}
		} else if (model[id] > 0) {
			net_inflight_leave(t, id);
			model[id]--;
			busy--;
		}
		for (uint32_t i = 1; i <= IDS; i++) {
			ck_assert_uint_eq(net_inflight_count(t, i), model[i]);
		}
	}
	net_inflight_destroy(t);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("net");
	TCase *tc = tcase_create("inflight");
	tcase_add_test(tc, limit_per_connection);
	tcase_add_test(tc, counts_stay_exact);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
