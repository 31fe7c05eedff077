/*
 * Unit tests for stats/early_stop: the incomplete beta function against
 * direct binomial sums, LoadGen's minimum query counts (p99 with no overs:
 * 459; p90 with one: 64; p99 with one: 662, MultiStream's min_query_count),
 * and the conservative percentile estimate.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>

#include "stats/early_stop.h"

/* P(X <= t) for X ~ Binomial(h + t, 1 - p), summed term by term in logs. */
static double binomial_cdf(int64_t h, int64_t t, double p)
{
	int64_t n = h + t;
	double sum = 0;

	for (int64_t x = 0; x <= t; x++)
		sum += exp(lgamma((double)n + 1) - lgamma((double)x + 1) -
			   lgamma((double)(n - x) + 1) + (double)x * log(1 - p) +
			   (double)(n - x) * log(p));
	return sum;
}

static void test_beta_matches_binomial(void **state)
{
	static const double ps[] = { 0.5, 0.9, 0.95, 0.99, 0.999 };
	static const int64_t hs[] = { 1, 7, 64, 459, 2000 };
	static const int64_t ts[] = { 0, 1, 3, 20 };

	(void)state;
	for (size_t i = 0; i < sizeof(ps) / sizeof(ps[0]); i++)
		for (size_t j = 0; j < sizeof(hs) / sizeof(hs[0]); j++)
			for (size_t k = 0; k < sizeof(ts) / sizeof(ts[0]); k++) {
				double want = binomial_cdf(hs[j], ts[k], ps[i]);
				double got = early_stop_odds(hs[j], ts[k], ps[i]);

				assert_true(fabs(got - want) <= 1e-9 + 1e-7 * want);
			}
	assert_true(early_stop_beta_regularized(0, 2, 3) == 0);
	assert_true(early_stop_beta_regularized(1, 2, 3) == 1);
	assert_true(isnan(early_stop_beta_regularized(1.5, 2, 3)));
	assert_true(isnan(early_stop_odds(0, 1, 0.9)));
	/* I_x(a, 1) = x^a */
	assert_true(fabs(early_stop_beta_regularized(0.99, 459, 1) - pow(0.99, 459)) < 1e-12);
}

static void test_min_passing_known_values(void **state)
{
	(void)state;
	/* ceil(log(0.01) / log(0.99)) = 459: LoadGen's own starting point. */
	assert_int_equal(early_stop_min_passing(0, 0.99, 0.99), 459);
	/* reference-analyzers.md §5: p90, t=1 -> 64 queries; p99, t=1 -> 662. */
	assert_int_equal(early_stop_min_passing(1, 0.90, 0.99) + 1, 64);
	assert_int_equal(early_stop_min_passing(1, 0.99, 0.99) + 1, 662);
	/* Brute force (checked in Python): */
	assert_int_equal(early_stop_min_passing(5, 0.90, 0.95), 98);
	assert_int_equal(early_stop_min_passing(10, 0.99, 0.90), 1528);
	/* h(t) is the smallest passing h: one less must fail. */
	assert_false(early_stop_odds(early_stop_min_passing(7, 0.95, 0.99) - 1, 7, 0.95) < 0.01);
	assert_int_equal(early_stop_min_passing(1, 1.0, 0.99), -1);
	assert_int_equal(early_stop_min_passing(1, 0.9, 0), -1);
}

static void test_estimate(void **state)
{
	uint64_t *v = calloc(1000, sizeof(*v));
	struct early_stop_result r;

	(void)state;
	for (int i = 0; i < 1000; i++)
		v[i] = (uint64_t)(i + 1);
	/* 1000 queries at p90, 99 %: t = 78 (h(78) = 922, 922 + 78 = 1000). */
	assert_true(early_stop_estimate(v, 1000, 90, 0.99, &r));
	assert_true(r.enough);
	assert_int_equal(r.queries, 1000);
	assert_int_equal(r.min_queries, 64);
	assert_int_equal(r.overs, 78);
	assert_int_equal(r.discarded, 77);
	assert_int_equal(r.estimate_ns, v[1000 - 78]);
	/* The estimate is conservative: above the plain p90 (sorted[900]). */
	assert_true(r.estimate_ns > v[900]);

	/* 63 queries are one too few for p90; 64 give the maximum (t = 1). */
	assert_true(early_stop_estimate(v, 63, 90, 0.99, &r));
	assert_false(r.enough);
	assert_int_equal(r.min_queries, 64);
	assert_true(early_stop_estimate(v, 64, 90, 0.99, &r));
	assert_true(r.enough);
	assert_int_equal(r.overs, 1);
	assert_int_equal(r.estimate_ns, 64);

	assert_false(early_stop_estimate(v, 1000, 100, 0.99, &r));
	assert_false(early_stop_estimate(v, 1000, 90, 1.5, &r));
	free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_beta_matches_binomial),
		cmocka_unit_test(test_min_passing_known_values),
		cmocka_unit_test(test_estimate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
