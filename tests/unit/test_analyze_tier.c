/*
 * Unit tests for analyze/tier: the top tier from merged windows (equal
 * windows tie, a 5% difference with tight windows separates, the issue's
 * noisy windows tie), the cost order (instances × threads, then batch,
 * then memory), borderline constraints, the gain interval and "no
 * significant gain", and the sentence.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "analyze/tier.h"
#include "store/store.h"
#include "util/strbuf.h"

/* A measurement whose throughput is the merged windows' mean. */
static struct store_measurement meas(const double *tput, size_t n, double p99)
{
	struct store_measurement m;
	static struct store_window w[4][8];
	static int slot;
	struct store_window *ws = w[slot++ % 4];
	double sum = 0;

	memset(&m, 0, sizeof(m));
	for (size_t i = 0; i < n; i++) {
		memset(&ws[i], 0, sizeof(ws[i]));
		ws[i].throughput = tput[i];
		ws[i].latency_avg_ms = 1000 / tput[i];
		ws[i].valid = ws[i].merged = true;
		sum += tput[i];
	}
	m.status = MEAS_OK;
	m.windows = ws;
	m.n_windows = n;
	figures_set(&m.fig, FIG_THROUGHPUT, sum / (double)n);
	figures_set(&m.fig, FIG_LATENCY_P99, p99);
	return m;
}

static struct objective_set throughput_only(void)
{
	struct objective_set o;

	memset(&o, 0, sizeof(o));
	objective_set_finish(&o);
	return o;
}

static void test_equal_windows_tie(void **state)
{
	const double a[] = { 100, 101, 99 };
	struct objective_set o = throughput_only();
	struct store_measurement x = meas(a, 3, 10), y = meas(a, 3, 10);

	(void)state;
	assert_false(tier_worse(&o, &x, &y));
	assert_false(tier_worse(&o, &y, &x));
}

static void test_five_percent_tight_windows_separate(void **state)
{
	const double a[] = { 100.0, 100.1, 99.9 }, b[] = { 95.0, 95.1, 94.9 };
	struct objective_set o = throughput_only();
	struct store_measurement x = meas(a, 3, 10), y = meas(b, 3, 10);

	(void)state;
	assert_true(tier_worse(&o, &x, &y));
	assert_false(tier_worse(&o, &y, &x));
}

/* The issue's example: config_4 16.0 18.0 15.9, config_5 14.9 15.0 15.0, config_3 15.0 15.0 12.9. */
static void test_issue_windows_tie(void **state)
{
	const double c4[] = { 16.0, 18.0, 15.9 }, c5[] = { 14.9, 15.0, 15.0 },
		     c3[] = { 15.0, 15.0, 12.9 };
	struct objective_set o = throughput_only();
	struct store_measurement m4 = meas(c4, 3, 70), m5 = meas(c5, 3, 70), m3 = meas(c3, 3, 70);

	(void)state;
	assert_false(tier_worse(&o, &m4, &m5));
	assert_false(tier_worse(&o, &m4, &m3));
}

/* One window each: nothing to test, a value worse by more than the margin is worse. */
static void test_one_window_compares_values(void **state)
{
	const double a[] = { 100 }, b[] = { 98 }, c[] = { 99.5 };
	struct objective_set o = throughput_only();
	struct store_measurement x = meas(a, 1, 10), y = meas(b, 1, 10), z = meas(c, 1, 10);

	(void)state;
	assert_true(tier_worse(&o, &x, &y));
	assert_false(tier_worse(&o, &x, &z));
}

/*
 * Tight windows: 0.5% apart is significant at 95% but within TIER_MARGIN,
 * so they tie; 3% apart is worse.
 */
static void test_margin(void **state)
{
	const double a[] = { 100.0, 100.1, 99.9, 100.0 };
	const double b[] = { 99.5, 99.6, 99.4, 99.5 };
	const double c[] = { 97.0, 97.1, 96.9, 97.0 };
	struct objective_set o = throughput_only();
	struct store_measurement x = meas(a, 4, 10), y = meas(b, 4, 10), z = meas(c, 4, 10);

	(void)state;
	assert_false(tier_worse(&o, &x, &y));
	assert_true(tier_worse(&o, &x, &z));
}

/* p99 objective: overlapping intervals tie, separated ones do not; without intervals the values decide. */
static void test_percentile_intervals(void **state)
{
	const double a[] = { 100, 100, 100 };
	struct objective_set o;
	struct store_measurement x = meas(a, 3, 30), y = meas(a, 3, 33);

	(void)state;
	memset(&o, 0, sizeof(o));
	assert_int_equal(objective_set_add(&o, "perf_latency_p99", 1, NULL), 0);
	objective_set_finish(&o);
	assert_true(tier_worse(&o, &x, &y));            /* no intervals: 33 > 30 */
	figures_set_interval(&x.fig, FIG_LATENCY_P99, 28, 34);
	figures_set_interval(&y.fig, FIG_LATENCY_P99, 31, 36);
	assert_false(tier_worse(&o, &x, &y));
	figures_set_interval(&y.fig, FIG_LATENCY_P99, 34.5, 36);
	assert_true(tier_worse(&o, &x, &y));
}

static void test_cost_order(void **state)
{
	struct tier_cost one = { 1, 4, true, 100, false }, two = { 2, 1, true, 50, false };
	struct tier_cost b1 = { 1, 1, true, 200, false }, m1 = { 1, 1, true, 150, false };
	struct tier_cost m2 = { 1, 1, true, 196, false };
	enum tier_reason why;

	(void)state;
	assert_true(tier_cost_compare(&one, &two, &why) < 0);
	assert_int_equal(why, TIER_FEWER_RESOURCES);
	assert_true(tier_cost_compare(&one, &b1, &why) > 0);
	assert_int_equal(why, TIER_SMALLER_BATCH);
	assert_true(tier_cost_compare(&m1, &b1, &why) < 0);
	assert_int_equal(why, TIER_LESS_MEMORY);
	assert_int_equal(tier_cost_compare(&m2, &b1, &why), 0);  /* within 5% */
	assert_int_equal(why, TIER_EQUAL_COST);
}

static void test_cost_of_config(void **state)
{
	struct tier_cost c;
	const char *cfg = "name: \"m\"\nbackend: \"pytorch\"\nmax_batch_size: 8\n"
			  "instance_group [{ count: 2 kind: KIND_CPU }]\n"
			  "parameters { key: \"INTRA_OP_THREAD_COUNT\" value { string_value: \"2\" } }\n";

	(void)state;
	tier_cost_of(cfg, NULL, 0, &c);
	assert_true(c.resources == 4);
	assert_int_equal(c.max_batch_size, 8);
	assert_false(c.has_memory);
	assert_false(c.gpu);
}

/* The issue: the tier of three, cheapest (max_batch_size 1) recommended at rank 1. */
static void test_apply_recommends_cheapest(void **state)
{
	const double c4[] = { 16.0, 18.0, 15.9 }, c5[] = { 14.9, 15.0, 15.0 },
		     c3[] = { 15.0, 15.0, 12.9 }, slow[] = { 5.0, 5.1, 4.9 };
	struct store_measurement ms[4] = { meas(c3, 3, 70), meas(c4, 3, 70), meas(c5, 3, 70),
					   meas(slow, 3, 70) };
	struct tier_cost cost[4] = { { 1, 1, false, 0, false }, { 1, 2, false, 0, false },
				     { 1, 4, false, 0, false }, { 1, 1, false, 0, false } };
	struct rank_input in[4];
	struct rank_entry rk[4];
	struct objective_set o = throughput_only();
	enum tier_reason why;

	(void)state;
	for (size_t i = 0; i < 4; i++) {
		in[i].variant_id = (int64_t)i;
		in[i].ms = &ms[i];
		in[i].n = 1;
	}
	objective_rank(&o, in, 4, rk);
	assert_int_equal(rk[0].input, 1);               /* the noisy 16.6 */
	assert_int_equal(tier_apply(&o, in, 4, cost, rk, &why), 3);
	assert_int_equal(rk[0].input, 0);               /* max_batch_size 1 */
	assert_int_equal(rk[0].measured_rank, 3);
	assert_int_equal(rk[1].input, 1);
	assert_int_equal(rk[2].input, 2);
	assert_int_equal(rk[3].input, 3);
	assert_false(rk[3].in_tier);
	assert_int_equal(why, TIER_SMALLER_BATCH);
}

static void test_borderline(void **state)
{
	const double a[] = { 100, 100, 100 };
	struct store_measurement m = meas(a, 3, 38);
	struct objective_set o = throughput_only();
	char buf[128];

	(void)state;
	assert_int_equal(constraint_set_add(&o, "perf_latency_p99", false, 0, true, 40, NULL), 0);
	tier_borderline(&o, &m, buf, sizeof(buf));
	assert_string_equal(buf, "");                   /* no interval: not borderline */
	figures_set_interval(&m.fig, FIG_LATENCY_P99, 35, 42);
	tier_borderline(&o, &m, buf, sizeof(buf));
	assert_string_equal(buf, "perf_latency_p99");
	assert_true(objective_passes(&o, &m.fig));      /* still passes on the estimate */
	figures_set_interval(&m.fig, FIG_LATENCY_P99, 35, 39);
	tier_borderline(&o, &m, buf, sizeof(buf));
	assert_string_equal(buf, "");
}

static void test_gain_interval(void **state)
{
	const double base[] = { 100, 102, 98 }, big[] = { 150, 152, 148 }, same[] = { 101, 99, 103 };
	struct store_measurement d = meas(base, 3, 10), b = meas(big, 3, 10), s = meas(same, 3, 10);
	struct objective_set o = throughput_only();
	struct tier_gain g;

	(void)state;
	tier_gain(&o, &d, &b, false, &g);
	assert_true(g.has && g.has_ci && g.significant);
	assert_true(fabs(g.pct - 50) < 1e-9);
	assert_true(g.lo_pct > 40 && g.lo_pct < 50 && g.hi_pct > 50 && g.hi_pct < 60);
	tier_gain(&o, &d, &s, true, &g);
	assert_true(g.has_ci);
	assert_false(g.significant);                    /* +1%, interval across 0 */
	assert_true(g.lo_pct < 0 && g.hi_pct > 0);
}

static void test_sentence(void **state)
{
	const char *names[] = { "resnet50_config_3", "resnet50_config_4", "resnet50_config_5" };
	struct tier_summary s;
	struct strbuf sb;

	(void)state;
	memset(&s, 0, sizeof(s));
	s.names = names;
	s.n_tier = 3;
	s.n_ranked = 4;
	s.passes = true;
	s.reason = TIER_SMALLER_BATCH;
	s.has_default = true;
	s.gain.has = true;
	s.gain.pct = 3.0;
	s.gain.has_ci = true;
	s.gain.lo_pct = -2.0;
	s.gain.hi_pct = 8.0;
	strbuf_init(&sb, 0);
	tier_sentence(&s, &sb);
	assert_string_equal(sb.buf,
			    "resnet50_config_3, resnet50_config_4 and resnet50_config_5 are equal "
			    "within measurement noise; recommending resnet50_config_3: the smallest "
			    "batch and the same resources. No significant gain over the default "
			    "configuration: +3.0% (95% interval -2.0% to +8.0%).");
	strbuf_setlen(&sb, 0);
	s.n_tier = 2;
	s.recommended_is_default = true;
	s.reason = TIER_FEWER_RESOURCES;
	s.names = (const char *[]){ "m_config_default", "m_config_2" };
	s.borderline = "m_config_2 (perf_latency_p99)";
	tier_sentence(&s, &sb);
	assert_string_equal(sb.buf,
			    "m_config_default and m_config_2 are equal within measurement noise; "
			    "recommending m_config_default, the default configuration, as good as "
			    "anything measured: the fewest instances × threads. Borderline (the 95% "
			    "interval straddles a constraint's limit): m_config_2 (perf_latency_p99).");
	strbuf_setlen(&sb, 0);
	s.n_tier = 1;
	s.recommended_is_default = false;
	s.borderline = "";
	s.gain.significant = true;
	s.gain.pct = 50;
	s.gain.lo_pct = 41.5;
	s.gain.hi_pct = 58.5;
	tier_sentence(&s, &sb);
	assert_string_equal(sb.buf,
			    "Recommending m_config_default: better than every other configuration "
			    "beyond measurement noise. It is 50.0% better than the default "
			    "configuration (95% interval +41.5% to +58.5%).");
	strbuf_release(&sb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_equal_windows_tie),
		cmocka_unit_test(test_five_percent_tight_windows_separate),
		cmocka_unit_test(test_issue_windows_tie),
		cmocka_unit_test(test_one_window_compares_values),
		cmocka_unit_test(test_margin),
		cmocka_unit_test(test_percentile_intervals),
		cmocka_unit_test(test_cost_order),
		cmocka_unit_test(test_cost_of_config),
		cmocka_unit_test(test_apply_recommends_cheapest),
		cmocka_unit_test(test_borderline),
		cmocka_unit_test(test_gain_interval),
		cmocka_unit_test(test_sentence),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
