/*
 * Unit tests for stats/latency: perf_analyzer's nearest-rank percentiles,
 * the mean and sample standard deviation, merging windows.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "stats/latency.h"

static void test_percentile_rule(void **state)
{
	uint64_t v[100];

	(void)state;
	for (int i = 0; i < 100; i++)
		v[i] = (uint64_t)(i + 1) * 1000;        /* 1000 .. 100000 */
	/* idx = p/100 * (n-1) + 0.5, truncated: p50 -> 50.0 -> v[50] */
	assert_int_equal(latency_percentile(v, 100, 50), 51000);
	assert_int_equal(latency_percentile(v, 100, 90), 90000);   /* 89.6 -> 89 */
	assert_int_equal(latency_percentile(v, 100, 95), 95000);   /* 94.55 -> 94 */
	assert_int_equal(latency_percentile(v, 100, 99), 99000);   /* 98.51 -> 98 */
	assert_int_equal(latency_percentile(v, 100, 0), 1000);
	assert_int_equal(latency_percentile(v, 100, 100), 100000);
	/* One sample: every percentile is that sample. */
	assert_int_equal(latency_percentile(v, 1, 99), 1000);
	/* Two samples: p50 rounds up (0.5 + 0.5 = 1). */
	assert_int_equal(latency_percentile(v, 2, 50), 2000);
	assert_int_equal(latency_percentile(v, 2, 49), 1000);
}

static void test_summary_exact(void **state)
{
	struct latency_samples s;
	struct latency_summary sum;
	/* 10 samples in ms: mean 5.5 ms, sample std = sqrt(82.5/9) ms = 3.0277 ms */
	uint64_t ms[10] = { 7, 1, 10, 3, 5, 9, 2, 8, 4, 6 };

	(void)state;
	latency_samples_init(&s);
	for (int i = 0; i < 10; i++)
		latency_samples_add(&s, ms[i] * 1000000);
	latency_samples_sort(&s);
	for (size_t i = 1; i < s.n; i++)
		assert_true(s.ns[i - 1] <= s.ns[i]);
	assert_true(latency_summarize(s.ns, s.n, 75, &sum));
	assert_int_equal(sum.count, 10);
	assert_int_equal(sum.avg_ns, 5500000);
	assert_int_equal(sum.std_us, 3027);
	assert_int_equal(sum.min_ns, 1000000);
	assert_int_equal(sum.max_ns, 10000000);
	/* p50: 4.5+0.5 -> idx 5 -> 6 ms; p90: 8.1+.5 -> 8 -> 9 ms; p95: 8.55+.5 -> 9 */
	assert_int_equal(sum.p_ns[0], 6000000);
	assert_int_equal(sum.p_ns[1], 9000000);
	assert_int_equal(sum.p_ns[2], 10000000);
	assert_int_equal(sum.p_ns[3], 10000000);
	assert_int_equal(sum.extra_percentile, 75);
	assert_int_equal(sum.extra_ns, 8000000);  /* 6.75+.5 -> 7 -> 8 ms */
	latency_samples_release(&s);
	assert_null(s.ns);
	assert_int_equal(s.n, 0);
}

static void test_summary_edges(void **state)
{
	struct latency_summary sum;
	uint64_t one = 42;

	(void)state;
	assert_false(latency_summarize(NULL, 0, 0, &sum));
	assert_int_equal(sum.count, 0);
	assert_true(latency_summarize(&one, 1, 0, &sum));
	assert_int_equal(sum.avg_ns, 42);
	/* perf_analyzer reports infinity (UINT64_MAX) for one sample. */
	assert_true(sum.std_us == UINT64_MAX);
	assert_int_equal(sum.p_ns[3], 42);
	assert_int_equal(sum.extra_ns, 0);
}

/* Merging windows = concatenating them: the merged percentiles are exact. */
static void test_merge_windows(void **state)
{
	struct latency_samples w[3], all;
	struct latency_summary sum;
	uint64_t x = 12345;

	(void)state;
	latency_samples_init(&all);
	for (int k = 0; k < 3; k++) {
		latency_samples_init(&w[k]);
		latency_samples_reserve(&w[k], 1000);
		for (int i = 0; i < 1000; i++) {
			x = x * 6364136223846793005ULL + 1442695040888963407ULL;
			latency_samples_add(&w[k], (x >> 40) % 1000000 + 1);
		}
	}
	for (int k = 0; k < 3; k++)
		latency_samples_append(&all, &w[k]);
	assert_int_equal(all.n, 3000);
	latency_samples_sort(&all);
	latency_summarize(all.ns, all.n, 0, &sum);
	/* Every sample below p99 is <= it, and exactly idx of them come first. */
	{
		size_t idx = (size_t)(0.99 * 2999 + 0.5);

		assert_int_equal(sum.p_ns[3], all.ns[idx]);
	}
	latency_samples_clear(&all);
	assert_int_equal(all.n, 0);
	latency_samples_append(&all, &w[0]);    /* storage reused */
	assert_int_equal(all.n, 1000);
	for (int k = 0; k < 3; k++)
		latency_samples_release(&w[k]);
	latency_samples_release(&all);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_percentile_rule),
		cmocka_unit_test(test_summary_exact),
		cmocka_unit_test(test_summary_edges),
		cmocka_unit_test(test_merge_windows),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
