/*
 * Unit tests for stats/interval: the t-interval against tabulated values,
 * the exact order-statistic bounds of a percentile for small n (worked out
 * by hand from the binomial distribution), their coverage measured on
 * simulated data, and Welch's test on samples that are equal or differ.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>

#include "stats/interval.h"

static void test_mean_interval_known_values(void **state)
{
	/* 10, 12, 14: mean 12, s = 2, t(0.975, 2) = 4.302653 → ±4.9683. */
	const double x[] = { 10, 12, 14 };
	struct stats_interval iv;
	double mean;

	(void)state;
	assert_true(stats_mean_interval(x, 3, 0.95, &mean, &iv));
	assert_float_equal(mean, 12, 1e-12);
	assert_float_equal(iv.lo, 12 - 4.302653 * 2 / sqrt(3), 1e-5);
	assert_float_equal(iv.hi, 12 + 4.302653 * 2 / sqrt(3), 1e-5);
	assert_float_equal(stats_interval_rel_halfwidth(&iv, mean),
			   4.302653 * 2 / sqrt(3) / 12, 1e-6);
	/* One value: a mean, no interval. */
	assert_false(stats_mean_interval(x, 1, 0.95, &mean, &iv));
	assert_float_equal(mean, 10, 0);
	assert_true(isnan(iv.lo) && isnan(iv.hi));
	assert_true(isinf(stats_interval_rel_halfwidth(&iv, mean)));
	/* No spread: a zero-width interval. */
	{
		const double same[] = { 5, 5, 5, 5 };

		assert_true(stats_mean_interval(same, 4, 0.95, &mean, &iv));
		assert_float_equal(iv.lo, 5, 0);
		assert_float_equal(iv.hi, 5, 0);
	}
}

static void test_quantile_interval_exact_ranks(void **state)
{
	uint64_t v[1000];
	struct stats_interval iv;
	size_t l, u;

	(void)state;
	for (size_t i = 0; i < 1000; i++)
		v[i] = (i + 1) * 10;
	/*
	 * n = 10, median: P(B <= 1) = 0.0107 <= 0.025 < P(B <= 2) = 0.0547, so
	 * l = 2; P(B <= 7) = 0.9453 < 0.975 <= P(B <= 8) = 0.9893, so u = 9.
	 */
	assert_true(stats_quantile_interval(v, 10, 50, 0.95, &iv, &l, &u));
	assert_int_equal(l, 2);
	assert_int_equal(u, 9);
	assert_float_equal(iv.lo, 20, 0);
	assert_float_equal(iv.hi, 90, 0);
	/*
	 * n = 20, p90: P(B <= 14) = 0.0113 <= 0.025 < P(B <= 15) = 0.0432, so
	 * l = 15; the upper rank would be 21 > n: unknown, not invented.
	 */
	assert_false(stats_quantile_interval(v, 20, 90, 0.95, &iv, &l, &u));
	assert_int_equal(l, 15);
	assert_int_equal(u, 21);
	assert_float_equal(iv.lo, 150, 0);
	assert_true(isnan(iv.hi));
	/*
	 * p99 of 5 samples: P(B <= 3) = 0.00098 <= 0.025 < P(B <= 4) = 0.049, so
	 * the lower bound is x(4); no rank of 5 samples can bound it above.
	 */
	assert_false(stats_quantile_interval(v, 5, 99, 0.95, &iv, &l, &u));
	assert_int_equal(l, 4);
	assert_float_equal(iv.lo, 40, 0);
	assert_true(isnan(iv.hi));
	/* p1 of 5 samples: the mirror image, no lower bound. */
	assert_false(stats_quantile_interval(v, 5, 1, 0.95, &iv, &l, &u));
	assert_true(isnan(iv.lo));
	assert_int_equal(u, 2);
	assert_float_equal(iv.hi, 20, 0);
	/* Enough samples for p99: both bounds, around the estimate. */
	assert_true(stats_quantile_interval(v, 1000, 99, 0.95, &iv, &l, &u));
	assert_true(l < 990 && u > 990 && u <= 1000);
	assert_true(iv.lo < 9900 && iv.hi > 9900);
	/* No samples. */
	assert_false(stats_quantile_interval(v, 0, 50, 0.95, &iv, NULL, NULL));
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* Exponential samples with mean 1000 from a fixed-seed LCG (reproducible). */
static uint64_t draw_exponential(uint64_t *seed)
{
	double uni;

	*seed = *seed * 6364136223846793005ULL + 1442695040888963407ULL;
	uni = ((double)(*seed >> 11) + 0.5) / 9007199254740992.0;
	return (uint64_t)(-log(uni) * 1000 * 1000);
}

static void test_quantile_interval_coverage(void **state)
{
	/* True p90 of an exponential with mean 1000 (×1000 for integers). */
	const double true_p90 = -log(0.1) * 1000 * 1000;
	uint64_t sample[200], seed = 42;
	size_t covered = 0, trials = 2000;

	(void)state;
	for (size_t t = 0; t < trials; t++) {
		struct stats_interval iv;

		for (size_t i = 0; i < 200; i++)
			sample[i] = draw_exponential(&seed);
		qsort(sample, 200, sizeof(*sample), cmp_u64);
		assert_true(stats_quantile_interval(sample, 200, 90, 0.95, &iv, NULL, NULL));
		covered += iv.lo <= true_p90 && true_p90 <= iv.hi;
	}
	/* Conservative by construction: at least 95% (less 3 binomial sd). */
	assert_true(covered >= (size_t)(0.95 * trials - 3 * sqrt(trials * 0.05 * 0.95)));
	assert_true(covered <= trials - 20); /* and not a trivially wide interval */
}

static void test_welch(void **state)
{
	/* Identical distributions by construction: no difference. */
	const double a[] = { 16.0, 18.0, 15.9 };
	const double b[] = { 14.9, 15.0, 15.0 };
	const double c[] = { 15.0, 15.0, 12.9 };
	const double far[] = { 30.0, 30.5, 29.5, 30.2 };
	struct stats_two_sample r;

	(void)state;
	/* The three windows of issue #12's example are noise. */
	assert_true(stats_welch_test(a, 3, b, 3, 0.95, &r));
	assert_false(r.differ);
	assert_true(r.p_value > 0.05);
	assert_true(r.diff_ci.lo < 0 && r.diff_ci.hi > 0);
	assert_true(stats_welch_test(a, 3, c, 3, 0.95, &r));
	assert_false(r.differ);
	/* Twice the throughput with small spread: they differ. */
	assert_true(stats_welch_test(far, 4, b, 3, 0.95, &r));
	assert_true(r.differ);
	assert_true(r.p_value < 0.001);
	assert_float_equal(r.diff, (30.0 + 30.5 + 29.5 + 30.2) / 4 - (14.9 + 15.0 + 15.0) / 3, 1e-9);
	assert_true(r.diff_ci.lo > 0);
	/* A known value: t = -1/sqrt(1/3 + 1/3), df = 4: p = 0.2878641. */
	{
		const double x[] = { 1, 2, 3 }, y[] = { 2, 3, 4 };

		assert_true(stats_welch_test(x, 3, y, 3, 0.95, &r));
		assert_float_equal(r.p_value, 0.2878641, 1e-6);
	}
	/* Too few values: not computed, not different. */
	assert_false(stats_welch_test(a, 1, b, 3, 0.95, &r));
	assert_false(r.differ);
	assert_true(isnan(r.p_value));
	/* No spread: the means decide. */
	{
		const double s1[] = { 5, 5 }, s2[] = { 5, 5 }, s3[] = { 6, 6 };

		assert_true(stats_welch_test(s1, 2, s2, 2, 0.95, &r));
		assert_false(r.differ);
		assert_true(stats_welch_test(s1, 2, s3, 2, 0.95, &r));
		assert_true(r.differ);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mean_interval_known_values),
		cmocka_unit_test(test_quantile_interval_exact_ranks),
		cmocka_unit_test(test_quantile_interval_coverage),
		cmocka_unit_test(test_welch),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
