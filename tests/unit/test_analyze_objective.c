/*
 * Unit tests for analyze/objective: Model Analyzer's weighted relative
 * score, constraint violation percentages, the passing-first comparison,
 * the percentage gain over the default, and the ranking of variants and of
 * measurements (deterministic for equal inputs).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "analyze/objective.h"
#include "store/store.h"
#include "util/error.h"

static struct figures fig(double tput, double p99)
{
	struct figures f;

	memset(&f, 0, sizeof(f));
	figures_set(&f, FIG_THROUGHPUT, tput);
	figures_set(&f, FIG_LATENCY_P99, p99);
	return f;
}

static struct objective_set throughput_only(void)
{
	struct objective_set o;

	memset(&o, 0, sizeof(o));
	objective_set_finish(&o);
	return o;
}

static void test_default_objective_is_throughput(void **state)
{
	struct objective_set o = throughput_only();
	struct figures a = fig(100, 10), b = fig(150, 50);

	(void)state;
	assert_int_equal(o.n_obj, 1);
	assert_int_equal(o.obj[0].fig, FIG_THROUGHPUT);
	/* (150 - 100) / mean(100, 150) = 0.4: b is better. */
	assert_true(fabs(objective_score(&o, &a, &b) - 0.4) < 1e-12);
	assert_true(fabs(objective_score(&o, &b, &a) + 0.4) < 1e-12);
	assert_true(objective_better(&o, &a, &b));
	assert_false(objective_better(&o, &b, &a));
	assert_false(objective_better(&o, &a, &a));
}

static void test_weights_and_directions(void **state)
{
	struct objective_set o;
	struct figures a = fig(100, 10), b = fig(110, 20);
	struct it_error err = { 0 };
	double expect;

	(void)state;
	memset(&o, 0, sizeof(o));
	assert_int_equal(objective_set_add(&o, "perf_latency_p99", 2, &err), 0);
	assert_int_equal(objective_set_add(&o, "perf_throughput", 3, &err), 0);
	objective_set_finish(&o);
	assert_true(fabs(o.obj[0].weight - 0.4) < 1e-12);
	assert_true(fabs(o.obj[1].weight - 0.6) < 1e-12);
	/* Latency: less is better, so b loses 10/15 there and gains 10/105 on throughput. */
	expect = 0.4 * (-10.0 / 15) + 0.6 * (10.0 / 105);
	assert_true(fabs(objective_score(&o, &a, &b) - expect) < 1e-12);
	assert_false(objective_better(&o, &a, &b));
	assert_int_equal(objective_set_add(&o, "no_such_metric", 1, &err), IT_ERR_INVALID);
	assert_int_equal(objective_set_add(&o, "perf_throughput", 0, &err), IT_ERR_INVALID);
}

static void test_missing_figure_decides(void **state)
{
	struct objective_set o;
	struct figures cpu = fig(100, 10), gpu = fig(100, 10);

	(void)state;
	memset(&o, 0, sizeof(o));
	objective_set_add(&o, "gpu_used_memory", 1, NULL);
	objective_set_finish(&o);
	figures_set(&gpu, FIG_GPU_USED_MEMORY, 500);
	/* Model Analyzer: the one that has the figure wins outright. */
	assert_true(objective_score(&o, &cpu, &gpu) == 1);
	assert_true(objective_score(&o, &gpu, &cpu) == -1);
	/* Absent in both: the figure is skipped. */
	assert_true(objective_score(&o, &cpu, &cpu) == 0);
}

static void test_constraints(void **state)
{
	struct objective_set o = throughput_only();
	struct figures ok = fig(200, 40), slow = fig(300, 75), slower = fig(310, 100);

	(void)state;
	constraint_set_add(&o, "perf_latency_p99", false, 0, true, 50, NULL);
	constraint_set_add(&o, "perf_throughput", true, 150, false, 0, NULL);
	assert_true(objective_passes(&o, &ok));
	assert_false(objective_passes(&o, &slow));
	assert_true(fabs(objective_violation(&o, &slow) - 50) < 1e-9);
	assert_true(fabs(objective_violation(&o, &slower) - 100) < 1e-9);
	/* Passing beats failing whatever the throughput. */
	assert_true(objective_better(&o, &slow, &ok));
	assert_false(objective_better(&o, &ok, &slow));
	/* Two failing: less violation is better. */
	assert_true(objective_better(&o, &slower, &slow));
	/* Tightening keeps the stricter bound. */
	constraint_set_add(&o, "perf_latency_p99", false, 0, true, 30, NULL);
	assert_false(objective_passes(&o, &ok));
	assert_int_equal(constraint_set_add(&o, "bogus", true, 1, false, 0, NULL),
			 IT_ERR_INVALID);
}

static void test_gain(void **state)
{
	struct objective_set o = throughput_only();
	struct figures base = fig(100, 10), m = fig(250, 10);
	bool has = false;

	(void)state;
	assert_true(fabs(objective_gain_pct(&o, &base, &m, &has) - 150) < 1e-9);
	assert_true(has);
	memset(&o, 0, sizeof(o));
	objective_set_add(&o, "perf_latency_p99", 1, NULL);
	objective_set_finish(&o);
	m = fig(100, 5);
	assert_true(fabs(objective_gain_pct(&o, &base, &m, &has) - 50) < 1e-9);
}

static struct store_measurement meas(double tput, double p99, enum measurement_status st)
{
	struct store_measurement m;

	memset(&m, 0, sizeof(m));
	m.status = st;
	if (st == MEAS_OK)
		m.fig = fig(tput, p99);
	return m;
}

static void test_rank_variants(void **state)
{
	struct objective_set o = throughput_only();
	struct store_measurement a[] = { meas(100, 10, MEAS_OK), meas(180, 60, MEAS_OK) };
	struct store_measurement b[] = { meas(150, 20, MEAS_OK) };
	struct store_measurement c[] = { meas(0, 0, MEAS_UNSTABLE) };
	struct store_measurement d[] = { meas(400, 200, MEAS_OK) };
	struct rank_input in[] = { { 1, a, 2 }, { 2, b, 1 }, { 3, c, 1 }, { 4, d, 1 } };
	struct rank_entry out[4], again[4];

	(void)state;
	constraint_set_add(&o, "perf_latency_p99", false, 0, true, 50, NULL);
	objective_rank(&o, in, 4, out);
	/* b passes with 150; a's best passing is 100 (180 breaks the budget); d fails; c has nothing. */
	assert_int_equal(out[0].input, 1);
	assert_true(out[0].passes);
	assert_int_equal(out[1].input, 0);
	assert_int_equal(out[1].best, 0);
	assert_int_equal(out[2].input, 3);
	assert_false(out[2].passes);
	assert_int_equal(out[3].input, 2);
	assert_int_equal(out[3].best, -1);
	objective_rank(&o, in, 4, again);
	assert_memory_equal(out, again, sizeof(out));
}

static void test_sort_measurements(void **state)
{
	struct objective_set o = throughput_only();
	struct store_measurement ms[] = {
		meas(100, 10, MEAS_OK), meas(0, 0, MEAS_FAILED), meas(300, 90, MEAS_OK),
		meas(200, 20, MEAS_OK),
	};
	size_t order[4];

	(void)state;
	constraint_set_add(&o, "perf_latency_p99", false, 0, true, 50, NULL);
	objective_sort_measurements(&o, ms, 4, order);
	/* Passing first, best first; then failing; then invalid. */
	assert_int_equal(order[0], 3);
	assert_int_equal(order[1], 0);
	assert_int_equal(order[2], 2);
	assert_int_equal(order[3], 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_objective_is_throughput),
		cmocka_unit_test(test_weights_and_directions),
		cmocka_unit_test(test_missing_figure_decides),
		cmocka_unit_test(test_constraints),
		cmocka_unit_test(test_gain),
		cmocka_unit_test(test_rank_variants),
		cmocka_unit_test(test_sort_measurements),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
