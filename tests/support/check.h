/*
 * Checks for the integration tests that are plain programs (not Check
 * suites): CHECK counts a pass or reports a failure without stopping;
 * the program prints "N passed, N failed" from the counters at the end.
 */
#ifndef TEST_CHECK_H
#define TEST_CHECK_H

#include <stdio.h>

static int passed, failed;

#define CHECK(cond, ...) \
	do { \
		if (cond) { \
			passed++; \
		} else { \
			failed++; \
			printf("FAIL %s:%d: ", __FILE__, __LINE__); \
			printf(__VA_ARGS__); \
			printf("\n"); \
		} \
	} while (0)

#endif
