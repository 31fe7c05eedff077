/*
 * Unit tests for the search strategies, driven by synthetic models whose
 * best configuration is known: brute's order and Model Analyzer's plateau
 * rule, manual's cross product, quick's hill climbing (it reaches the
 * optimum with fewer points than brute, honours constraints, sweeps the
 * best configurations at the end) and determinism (the same outcomes give
 * the same points, which is what --resume relies on), and the predictive
 * search's paths that need no fit (nothing to fit from, a space of one point).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/objective.h"
#include "analyze/search.h"
#include "analyze/search_predict.h"
#include "server/batch_policy.h"
#include "util/error.h"

/*
 * The sim model of tests/integration/analyze: two device slots, a batch of
 * b takes 10 + 2b ms, instances beyond the slots cost 15% each. Best:
 * max_batch_size 8, 2 instances.
 */
static double model_tput(int32_t mbs, int32_t inst)
{
	double k = inst < 2 ? inst : 2, b = mbs ? mbs : 1;
	double x = k * b / (10 + 2 * b) * 1000;

	if (inst > 2)
		x *= 1 - 0.15 * (inst - 2);
	return x;
}

/* Latency grows with the batch: 10 + 2b ms, times the clients queued. */
static double model_p99(int32_t mbs, int32_t inst)
{
	(void)inst;
	return 10 + 2.0 * (mbs ? mbs : 1) * 3;
}

struct trace {
	struct search_point pts[256];
	size_t n;
};

typedef bool (*fails_fn)(const struct search_point *p);

/* Runs a search to its end, answering every point from the model. */
static void drive(const struct search_ops *ops, const struct search_space *sp,
		  const struct objective_set *o, struct trace *t, fails_fn fails)
{
	struct search *s = NULL;
	struct search_point p;

	t->n = 0;
	assert_int_equal(search_new(ops, sp, o, &s, NULL), 0);
	while (search_next(s, &p)) {
		struct search_outcome out;
		struct figures f;
		int32_t mbs = p.is_default ? sp->default_mbs : p.max_batch_size;
		int32_t inst = p.is_default ? sp->default_instances : p.instance_count;

		assert_true(t->n < 256);
		t->pts[t->n++] = p;
		memset(&f, 0, sizeof(f));
		figures_set(&f, FIG_THROUGHPUT, p.is_default ? 80 : model_tput(mbs, inst));
		figures_set(&f, FIG_LATENCY_P99, model_p99(mbs, inst));
		memset(&out, 0, sizeof(out));
		out.measured = !(fails && fails(&p));
		out.max_throughput = out.measured ? f.v[FIG_THROUGHPUT] : 0;
		out.best = out.measured ? &f : NULL;
		search_feed(s, &out);
	}
	/* Over means over. */
	assert_false(search_next(s, &p));
	assert_int_equal(search_remaining(s), 0);
	search_free(s);
}

static struct search_space space(void)
{
	struct search_space sp;

	memset(&sp, 0, sizeof(sp));
	sp.batching = true;
	sp.min_mbs = 1;
	sp.max_mbs = 8;
	sp.user_mbs_max = true;
	sp.min_instances = 1;
	sp.max_instances = 3;
	sp.user_instances_max = true;
	sp.min_concurrency = 1;
	sp.max_concurrency = 16;
	sp.user_concurrency_max = true;
	sp.top_n = 3;
	sp.default_mbs = 8;
	sp.default_instances = 1;
	return sp;
}

static struct objective_set objectives(void)
{
	struct objective_set o;

	memset(&o, 0, sizeof(o));
	objective_set_finish(&o);
	return o;
}

static void test_brute_order(void **state)
{
	struct search_space sp = space();
	struct objective_set o = objectives();
	static struct trace t;

	(void)state;
	drive(&search_brute, &sp, &o, &t, NULL);
	/* default + 3 instance counts x max_batch_size 1, 2, 4, 8 (throughput keeps rising). */
	assert_int_equal(t.n, 13);
	assert_true(t.pts[0].is_default);
	assert_int_equal(t.pts[0].concurrency, 0);
	assert_int_equal(t.pts[1].instance_count, 1);
	assert_int_equal(t.pts[1].max_batch_size, 1);
	assert_int_equal(t.pts[4].max_batch_size, 8);
	assert_int_equal(t.pts[5].instance_count, 2);
	assert_int_equal(t.pts[5].max_batch_size, 1);
	assert_int_equal(t.pts[12].instance_count, 3);
	assert_int_equal(t.pts[12].max_batch_size, 8);
}

/* Throughput that plateaus at max_batch_size 2 for two instances. */
static bool fail_two_instances_mbs4(const struct search_point *p)
{
	return p->instance_count == 1 && p->max_batch_size == 2;
}

static void test_brute_stops_at_failure(void **state)
{
	struct search_space sp = space();
	struct objective_set o = objectives();
	static struct trace t;

	(void)state;
	drive(&search_brute, &sp, &o, &t, fail_two_instances_mbs4);
	/* instances=1 stops after the failed max_batch_size 2 (MA: no measurement ends the loop). */
	assert_int_equal(t.pts[2].max_batch_size, 2);
	assert_int_equal(t.pts[3].instance_count, 2);
	assert_int_equal(t.pts[3].max_batch_size, 1);
	assert_int_equal(t.n, 1 + 2 + 4 + 4);
}

static void test_brute_plateau(void **state)
{
	struct search_space sp = space();
	struct objective_set o = objectives();
	struct search *s = NULL;
	struct search_point p;
	double tp[] = { 0, 100, 200, 200, 300 };  /* default, mbs 1, 2, 4 (no gain), 8 */
	size_t n = 0;

	(void)state;
	sp.max_instances = 1;
	assert_int_equal(search_new(&search_brute, &sp, &o, &s, NULL), 0);
	while (search_next(s, &p)) {
		struct search_outcome out = { .measured = true, .max_throughput = tp[n < 5 ? n : 4] };

		n++;
		search_feed(s, &out);
	}
	/* 200 is not strictly above every earlier value: max_batch_size 8 is never tried. */
	assert_int_equal(n, 4);
	search_free(s);
}

static void test_brute_without_batching_and_threads(void **state)
{
	struct search_space sp = space();
	struct objective_set o = objectives();
	int32_t threads[] = { 1, 2 };
	static struct trace t;

	(void)state;
	sp.batching = false;
	sp.threads = threads;
	sp.n_threads = 2;
	drive(&search_brute, &sp, &o, &t, NULL);
	/* default + 3 instance counts x 2 thread counts, max_batch_size untouched. */
	assert_int_equal(t.n, 7);
	assert_int_equal(t.pts[1].instance_count, 1);
	assert_int_equal(t.pts[1].threads, 1);
	assert_int_equal(t.pts[2].threads, 2);
	assert_int_equal(t.pts[3].instance_count, 2);
	for (size_t i = 0; i < t.n; i++)
		assert_int_equal(t.pts[i].max_batch_size, 0);
}

static void test_brute_skips_oversubscribed(void **state)
{
	struct search_space sp = space();
	struct objective_set o = objectives();
	int32_t threads[] = { 1, 2 };
	static struct trace t;

	(void)state;
	sp.batching = false;
	sp.threads = threads;
	sp.n_threads = 2;
	sp.max_cpu_threads = 2;
	drive(&search_brute, &sp, &o, &t, NULL);
	/*
	 * Two cores: the default, (1 instance, 1 thread), (1, 2), (2, 1); never
	 * (2, 2), nor 3 instances of any thread count.
	 */
	assert_int_equal(t.n, 4);
	for (size_t i = 1; i < t.n; i++)
		assert_true(t.pts[i].instance_count * t.pts[i].threads <= 2);
	assert_int_equal(t.pts[3].instance_count, 2);
	assert_int_equal(t.pts[3].threads, 1);

	/* With batching, a skipped group costs no max_batch_size step either. */
	sp = space();
	sp.threads = threads;
	sp.n_threads = 2;
	sp.max_cpu_threads = 2;
	sp.max_instances = 2;
	drive(&search_brute, &sp, &o, &t, NULL);
	for (size_t i = 1; i < t.n; i++)
		assert_false(t.pts[i].instance_count == 2 && t.pts[i].threads == 2);
	assert_int_equal(t.pts[t.n - 1].instance_count, 2);
	assert_int_equal(t.pts[t.n - 1].threads, 1);
}

static void test_quick_skips_oversubscribed(void **state)
{
	struct search_space sp = space();
	struct objective_set o = objectives();
	int32_t threads[] = { 1, 2, 4 };
	static struct trace t;

	(void)state;
	sp.threads = threads;
	sp.n_threads = 3;
	sp.max_cpu_threads = 4;
	drive(&search_quick, &sp, &o, &t, NULL);
	assert_true(t.n > 1);
	for (size_t i = 1; i < t.n; i++) {
		int32_t inst = t.pts[i].instance_count ? t.pts[i].instance_count : 1;

		assert_true(inst * t.pts[i].threads <= 4);
	}
}

static void test_manual_cross_product(void **state)
{
	struct search_space sp = space();
	struct objective_set o = objectives();
	int32_t mbs[] = { 6, 8 };
	static struct trace t;

	(void)state;
	sp.n_manual = 4;
	sp.manual_mbs = mbs;
	sp.n_manual_mbs = 2;
	drive(&search_manual, &sp, &o, &t, NULL);
	/* Model Analyzer's docs example: 2 x 4 combinations, plus the default. */
	assert_int_equal(t.n, 9);
	assert_int_equal(t.pts[1].manual, 0);
	assert_int_equal(t.pts[1].max_batch_size, 6);
	assert_int_equal(t.pts[2].manual, 0);
	assert_int_equal(t.pts[2].max_batch_size, 8);
	assert_int_equal(t.pts[8].manual, 3);
	/* No list at all: the default only. */
	memset(&sp.manual_mbs, 0, sizeof(sp.manual_mbs));
	sp.n_manual = 0;
	sp.n_manual_mbs = 0;
	drive(&search_manual, &sp, &o, &t, NULL);
	assert_int_equal(t.n, 1);
}

static size_t count_distinct_configs(const struct trace *t)
{
	size_t n = 0;

	for (size_t i = 0; i < t->n; i++) {
		bool seen = false;

		for (size_t k = 0; k < i && !seen; k++)
			seen = t->pts[k].is_default == t->pts[i].is_default &&
			       t->pts[k].max_batch_size == t->pts[i].max_batch_size &&
			       t->pts[k].instance_count == t->pts[i].instance_count;
		n += !seen;
	}
	return n;
}

static void test_quick_finds_the_optimum(void **state)
{
	struct search_space sp = space();
	struct objective_set o = objectives();
	static struct trace t, brute;
	size_t climb = 0, sweeps = 0;
	bool found = false;

	(void)state;
	drive(&search_quick, &sp, &o, &t, NULL);
	drive(&search_brute, &sp, &o, &brute, NULL);
	/* Default first, at 2 x max_batch_size x instances. */
	assert_true(t.pts[0].is_default);
	assert_int_equal(t.pts[0].concurrency, 16);
	/* All-minimum start at concurrency 2. */
	assert_int_equal(t.pts[1].max_batch_size, 1);
	assert_int_equal(t.pts[1].instance_count, 1);
	assert_int_equal(t.pts[1].concurrency, 2);
	for (size_t i = 1; i < t.n; i++) {
		if (t.pts[i].concurrency) {
			climb++;
			/* The formula, clamped to the user's maximum. */
			uint64_t c = 2ULL * (uint64_t)t.pts[i].max_batch_size *
				     (uint64_t)t.pts[i].instance_count;

			assert_int_equal(t.pts[i].concurrency, c > 16 ? 16 : c);
			found = found || (t.pts[i].max_batch_size == 8 &&
					  t.pts[i].instance_count == 2);
		} else {
			sweeps++;
		}
	}
	assert_true(found);
	/* The sweep at the end: the best configuration first, then top 3 + default. */
	assert_int_equal(sweeps, 4);
	assert_int_equal(t.pts[t.n - 4].max_batch_size, 8);
	assert_int_equal(t.pts[t.n - 4].instance_count, 2);
	assert_true(t.pts[t.n - 1].is_default);
	/* Fewer configurations than brute force. */
	print_message("quick: %zu points (%zu climbing, %zu configurations); brute: %zu\n",
		      t.n, climb, count_distinct_configs(&t), brute.n);
	assert_true(count_distinct_configs(&t) < brute.n);
}

static void test_quick_is_deterministic(void **state)
{
	struct search_space sp = space();
	struct objective_set o = objectives();
	static struct trace a, b;

	(void)state;
	drive(&search_quick, &sp, &o, &a, NULL);
	drive(&search_quick, &sp, &o, &b, NULL);
	assert_int_equal(a.n, b.n);
	assert_memory_equal(a.pts, b.pts, a.n * sizeof(a.pts[0]));
}

static void test_quick_honours_constraints(void **state)
{
	struct search_space sp = space();
	struct objective_set o = objectives();
	static struct trace t;

	(void)state;
	/* p99 = 10 + 6 x mbs: a budget of 40 ms allows max_batch_size 4 at most. */
	constraint_set_add(&o, "perf_latency_p99", false, 0, true, 40, NULL);
	drive(&search_quick, &sp, &o, &t, NULL);
	/* The first swept configuration is the best one that meets the budget: mbs 4, 2 instances. */
	for (size_t i = 0; i < t.n; i++) {
		if (!t.pts[i].concurrency && !t.pts[i].is_default) {
			assert_int_equal(t.pts[i].max_batch_size, 4);
			assert_int_equal(t.pts[i].instance_count, 2);
			break;
		}
	}
}

static void test_quick_unbounded_without_user_bounds(void **state)
{
	struct search_space sp = space();
	struct objective_set o = objectives();
	static struct trace t;
	int32_t max_mbs = 0;

	(void)state;
	/* Model Analyzer's quick search ignores the default bounds. */
	sp.user_mbs_max = false;
	sp.user_instances_max = false;
	sp.user_concurrency_max = false;
	drive(&search_quick, &sp, &o, &t, NULL);
	for (size_t i = 0; i < t.n; i++)
		if (t.pts[i].max_batch_size > max_mbs)
			max_mbs = t.pts[i].max_batch_size;
	assert_true(max_mbs > 8);
}

/*
 * The predictive search fed outcomes without batch statistics (here: no
 * configuration nor measurements at all, as a server that sends none
 * gives nothing to fit): after the default and the probes it says so and
 * measures brute's configurations, each over the run's sweep, never a
 * queue delay brute does not search.
 */
static void test_predictive_without_batch_stats(void **state)
{
	struct search_space sp = space();
	struct objective_set o = objectives();
	struct search *s = NULL;
	struct search_point p;
	struct search_outcome out;
	struct figures f;
	size_t n = 0, swept = 0;
	bool noted = false;

	(void)state;
	assert_int_equal(search_new(&search_predictive, &sp, &o, &s, NULL), 0);
	memset(&f, 0, sizeof(f));
	figures_set(&f, FIG_THROUGHPUT, 100);
	while (search_next(s, &p)) {
		assert_true(++n < 64);
		noted = noted || strstr(search_note(s), "measuring brute search's configurations");
		assert_false(search_prediction(s, &(struct search_prediction){ 0 }));
		if (noted) {
			assert_int_equal(p.queue_delay_us, 0);
			assert_int_equal(p.preferred_batch_size, 0);
			assert_int_equal(p.concurrency, 0);
			swept++;
		}
		memset(&out, 0, sizeof(out));
		out.measured = true;
		out.max_throughput = 100;
		out.best = &f;
		search_feed(s, &out);
	}
	assert_true(noted);
	/* Brute's space: 3 instance counts x max_batch_size 1, 2, 4, 8. */
	assert_int_equal(swept, 12);
	search_free(s);
}

/* A space of one point: the default, then that point, then the end. */
static void test_predictive_one_point(void **state)
{
	struct search_space sp = space();
	struct objective_set o = objectives();
	struct trace t;

	(void)state;
	sp.max_mbs = 1;
	sp.max_instances = 1;
	sp.min_concurrency = sp.max_concurrency = 1;
	drive(&search_predictive, &sp, &o, &t, NULL);
	assert_int_equal(t.n, 2);
	assert_true(t.pts[0].is_default);
	assert_int_equal(t.pts[1].instance_count, 1);
	assert_int_equal(t.pts[1].max_batch_size, 1);
}

static int64_t one_item(void *ctx, size_t k)
{
	(void)ctx;
	(void)k;
	return 1;
}

/*
 * Whether two batchers take the same batches from every queue of 1 ..
 * 2 x max_batch_size single-item requests, with the head fresh, halfway
 * through its delay and past it.
 */
static bool same_batcher(const struct search_point *a, const struct search_point *b)
{
	struct batch_policy pa, pb;
	int32_t pref_a = a->preferred_batch_size, pref_b = b->preferred_batch_size;
	uint64_t delay_ns = (uint64_t)a->queue_delay_us * 1000;

	batch_policy_init(&pa, a->max_batch_size, true, pref_a ? &pref_a : NULL, pref_a ? 1 : 0,
			  a->queue_delay_us);
	batch_policy_init(&pb, b->max_batch_size, true, pref_b ? &pref_b : NULL, pref_b ? 1 : 0,
			  b->queue_delay_us);
	for (size_t len = 1; len <= 2 * (size_t)a->max_batch_size; len++) {
		for (int age = 0; age < 3; age++) {
			struct batch_queue_view q = { .len = len, .head_start_ns = 1000000,
						      .batch_size = one_item };
			uint64_t now = q.head_start_ns + (uint64_t)age * delay_ns / 2;
			uint64_t wa = 0, wb = 0;

			if (batch_policy_next(&pa, &q, now, false, &wa) !=
			    batch_policy_next(&pb, &q, now, false, &wb) || wa != wb)
				return false;
		}
	}
	return true;
}

/*
 * The predictive space holds no configuration twice: two points at the same
 * instances, threads and load never batch alike (a preferred size of
 * max_batch_size is what Triton gives a batcher without one, so searching
 * it measured the same configuration twice). It does hold preferred sizes.
 */
static void test_predictive_space_has_no_twins(void **state)
{
	struct search_space sp = space();
	struct predictive_replay *r = NULL;
	struct search_point *pts;
	size_t n, preferred = 0;

	(void)state;
	sp.max_mbs = 16;
	assert_int_equal(predictive_replay_new(&sp, &r, NULL), 0);
	n = predictive_replay_points(r);
	pts = calloc(n, sizeof(*pts));
	assert_non_null(pts);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(predictive_replay_point(r, i, &pts[i], NULL), 0);
	assert_int_not_equal(predictive_replay_point(r, n, &pts[0], NULL), 0);
	for (size_t i = 0; i < n; i++) {
		preferred += pts[i].preferred_batch_size != 0;
		for (size_t k = i + 1; k < n; k++) {
			if (pts[i].instance_count != pts[k].instance_count ||
			    pts[i].threads != pts[k].threads ||
			    pts[i].concurrency != pts[k].concurrency ||
			    pts[i].max_batch_size != pts[k].max_batch_size)
				continue;
			if (same_batcher(&pts[i], &pts[k])) {
				char a[200], b[200];

				search_point_label(&pts[i], a, sizeof(a));
				search_point_label(&pts[k], b, sizeof(b));
				fail_msg("%s and %s batch alike", a, b);
			}
		}
	}
	assert_true(preferred > 0);
	free(pts);
	predictive_replay_free(r);
}

static void test_label(void **state)
{
	struct search_point p;
	char buf[128];

	(void)state;
	memset(&p, 0, sizeof(p));
	p.manual = -1;
	p.instance_count = 2;
	p.max_batch_size = 8;
	search_point_label(&p, buf, sizeof(buf));
	assert_string_equal(buf, "instances=2 max_batch_size=8");
	p.concurrency = 32;
	search_point_label(&p, buf, sizeof(buf));
	assert_string_equal(buf, "instances=2 max_batch_size=8 @concurrency=32");
	assert_non_null(search_find("quick"));
	assert_null(search_find("optuna"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_brute_order),
		cmocka_unit_test(test_predictive_without_batch_stats),
		cmocka_unit_test(test_predictive_one_point),
		cmocka_unit_test(test_predictive_space_has_no_twins),
		cmocka_unit_test(test_brute_stops_at_failure),
		cmocka_unit_test(test_brute_plateau),
		cmocka_unit_test(test_brute_without_batching_and_threads),
		cmocka_unit_test(test_brute_skips_oversubscribed),
		cmocka_unit_test(test_quick_skips_oversubscribed),
		cmocka_unit_test(test_manual_cross_product),
		cmocka_unit_test(test_quick_finds_the_optimum),
		cmocka_unit_test(test_quick_is_deterministic),
		cmocka_unit_test(test_quick_honours_constraints),
		cmocka_unit_test(test_quick_unbounded_without_user_bounds),
		cmocka_unit_test(test_label),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
