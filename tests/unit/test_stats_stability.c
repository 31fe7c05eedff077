/*
 * Unit tests for stats/stability: perf_analyzer's rule over the last three
 * windows (max/min <= 1 + threshold for throughput and latency; every
 * window valid with throughput > 0).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>

#include "stats/stability.h"

static struct stability_point pt(double tput, uint64_t lat)
{
	struct stability_point p = { true, tput, lat };

	return p;
}

static void test_needs_three(void **state)
{
	struct stability_point p[3] = { pt(100, 1000), pt(100, 1000), pt(100, 1000) };

	(void)state;
	assert_false(stability_check(p, 2, 3, 0.1, true));
	assert_true(stability_check(p, 3, 3, 0.1, true));
	/* Fewer than three points can never be judged stable. */
	assert_false(stability_check(p, 3, 2, 0.1, true));
}

static void test_threshold_is_max_over_min(void **state)
{
	/* 110/100 = 1.10: exactly at the 10% limit is stable; 110.1 is not. */
	struct stability_point a[3] = { pt(100, 1000), pt(105, 1000), pt(110, 1000) };
	struct stability_point b[3] = { pt(100, 1000), pt(105, 1000), pt(110.1, 1000) };
	struct stability_point c[3] = { pt(100, 1000), pt(100, 1101), pt(100, 1000) };
	struct stability_point d[3] = { pt(100, 1000), pt(100, 1100), pt(100, 1000) };
	double ts, ls;

	(void)state;
	assert_true(stability_check(a, 3, 3, 0.10, true));
	assert_false(stability_check(b, 3, 3, 0.10, true));
	assert_false(stability_check(c, 3, 3, 0.10, true));
	/* Latency ignored on request: throughput alone is stable. */
	assert_true(stability_check(c, 3, 3, 0.10, false));
	assert_true(stability_check(d, 3, 3, 0.10, true));
	assert_true(stability_spread(b, 3, 3, &ts, &ls));
	assert_true(fabs(ts - 0.101) < 1e-9);
	assert_true(ls == 0);
	/* -s 0: only identical windows are stable. */
	assert_false(stability_check(a, 3, 3, 0, true));
}

static void test_only_the_tail_counts(void **state)
{
	struct stability_point p[5] = {
		pt(10, 9000), pt(50, 3000), pt(100, 1000), pt(101, 1010), pt(99, 995),
	};

	(void)state;
	assert_true(stability_check(p, 5, 3, 0.05, true));
	assert_false(stability_check(p, 4, 3, 0.05, true));
	/* A longer tail (an early-stop extension) must agree as a whole. */
	assert_false(stability_check(p, 5, 4, 0.05, true));
}

static void test_invalid_or_zero_windows(void **state)
{
	struct stability_point p[3] = { pt(100, 1000), pt(100, 1000), pt(100, 1000) };
	double ts, ls;

	(void)state;
	p[1].valid = false;
	assert_false(stability_check(p, 3, 3, 0.5, true));
	assert_true(stability_spread(p, 3, 3, &ts, &ls));
	assert_true(isinf(ts) && isinf(ls));
	p[1].valid = true;
	p[1].throughput = 0;
	assert_false(stability_check(p, 3, 3, 10, true));
	assert_false(stability_spread(p, 2, 3, &ts, &ls));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_needs_three),
		cmocka_unit_test(test_threshold_is_max_over_min),
		cmocka_unit_test(test_only_the_tail_counts),
		cmocka_unit_test(test_invalid_or_zero_windows),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
