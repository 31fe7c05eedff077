/*
 * Unit tests for analyze/capacity: the question from the objectives and
 * rates; a target several configurations serve (the cheapest answers,
 * equal cost goes to the higher rate); nothing within the budget (the
 * closest is named); a target above every configuration (servers); a
 * request-rate level that did not deliver its rate is left out; client
 * batches above 1 answer in infer/s; no budget, no answer; the rate
 * formatting; the predicted rates beside the measured ones (labelled,
 * "beyond the levels measured", none, nothing to fit from) and the
 * predicted servers for a target.
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

#include "analyze/capacity.h"
#include "analyze/objective.h"
#include "util/strbuf.h"

#define MAX_LEVELS 8

/* A configuration under test: its levels and their figures. */
struct cfg {
	struct capacity_level levels[MAX_LEVELS];
	struct figures figs[MAX_LEVELS];
	size_t n;
};

static void level(struct cfg *c, enum load_kind kind, double load, int64_t batch, double tp,
		  double p99)
{
	size_t i = c->n++;

	memset(&c->figs[i], 0, sizeof(c->figs[i]));
	figures_set(&c->figs[i], FIG_THROUGHPUT, tp);
	figures_set(&c->figs[i], FIG_LATENCY_P99, p99);
	c->levels[i] = (struct capacity_level){ kind, load, batch, &c->figs[i], true };
}

static struct capacity_config config(const char *name, const struct cfg *c, double resources,
				     int32_t mbs, bool top)
{
	struct capacity_config cc;

	memset(&cc, 0, sizeof(cc));
	cc.name = name;
	cc.levels = c->levels;
	cc.n_levels = c->n;
	cc.cost.resources = resources;
	cc.cost.max_batch_size = mbs;
	cc.top = top;
	return cc;
}

/* Answers q for c alone, as m_config_0 (1 instance, max batch mbs, top); cs gets it. */
static void answer_one(const struct capacity_question *q, const struct cfg *c, int32_t mbs,
		       struct capacity_config *cs, struct capacity_answer *a)
{
	*cs = config("m_config_0", c, 1, mbs, true);
	capacity_answer(q, cs, 1, a);
}

/* The sentences of an answer; caller frees. */
static char *sentences(const struct capacity_answer *a, const struct capacity_config *cs)
{
	struct strbuf sb;

	strbuf_init(&sb, 0);
	capacity_sentences(a, cs, &sb);
	print_message("%s", sb.buf);
	return strbuf_detach(&sb, NULL);
}

static void test_question_of(void **state)
{
	struct objective_set o;
	struct capacity_question q;
	const double rates[] = { 100, 400, 200 };

	(void)state;
	memset(&o, 0, sizeof(o));
	objective_set_finish(&o);
	assert_false(capacity_question_of(&o, rates, 3, &q));
	assert_true(q.target_rate == 400);
	assert_int_equal(constraint_set_add(&o, "perf_latency_p99", false, 0, true, 50, NULL), 0);
	assert_true(capacity_question_of(&o, NULL, 0, &q));
	assert_true(q.budget_ms == 50 && q.target_rate == 0);
	assert_true(capacity_question_of(&o, rates, 3, &q));
	assert_true(q.target_rate == 400);
	assert_int_equal(capacity_top_count(1), CAPACITY_TOP);
	assert_int_equal(capacity_top_count(5), 5);
}

/* Three configurations serve 400 req/s: the fewest resources answers; equal cost, the higher rate. */
static void test_cheapest_of_several(void **state)
{
	struct cfg big = { 0 }, small = { 0 }, twin = { 0 }, slow = { 0 };
	struct capacity_config cs[4];
	struct capacity_question q = { 50, 400 };
	struct capacity_answer a;
	char *text;

	(void)state;
	level(&big, LOAD_REQUEST_RATE, 200, 1, 200, 10);
	level(&big, LOAD_REQUEST_RATE, 400, 1, 399, 12);
	level(&big, LOAD_CONCURRENCY, 16, 1, 900, 45);
	level(&small, LOAD_REQUEST_RATE, 400, 1, 398, 30);
	level(&small, LOAD_CONCURRENCY, 8, 1, 452.1, 31.2);
	level(&twin, LOAD_REQUEST_RATE, 400, 1, 396, 35);
	level(&slow, LOAD_REQUEST_RATE, 200, 1, 199, 20);
	level(&slow, LOAD_REQUEST_RATE, 400, 1, 300, 49);   /* saturated: not delivered */
	cs[0] = config("m_config_4", &big, 4, 8, true);
	cs[1] = config("m_config_1", &small, 2, 8, true);
	cs[2] = config("m_config_2", &twin, 2, 8, true);
	cs[3] = config("m_config_default", &slow, 1, 8, false);
	figures_set_interval(&small.figs[1], FIG_THROUGHPUT, 440.5, 463.7);
	capacity_answer(&q, cs, 4, &a);
	assert_true(a.asked && a.has_target);
	assert_int_equal(a.batch, 1);
	assert_string_equal(capacity_unit(&a), "req/s");
	assert_int_equal(a.cheapest, 1);
	assert_int_equal(a.scale, -1);
	assert_int_equal(a.closest, -1);
	assert_true(a.rows[0].meets_target && a.rows[0].rate == 900);
	assert_true(a.rows[0].load_kind == LOAD_CONCURRENCY && a.rows[0].load_value == 16);
	assert_true(a.rows[1].rate == 452.1 && a.rows[1].has_ci && a.rows[1].ci_lo == 440.5);
	assert_true(a.rows[2].meets_target && a.rows[2].servers == 1);
	/* The default's rate 400 delivered 300: only its rate 200 counts. */
	assert_true(a.rows[3].sustains && a.rows[3].rate == 199);
	assert_false(a.rows[3].meets_target);
	assert_int_equal(a.rows[3].servers, 2);
	text = sentences(&a, cs);
	assert_non_null(strstr(text, "400 req/s at p99 <= 50 ms: m_config_1 is the cheapest of the "
				     "3 configurations that serve it (instances × threads 2, "
				     "max_batch_size 8), sustaining 452.1 req/s (95% interval "
				     "440.5 to 463.7) at concurrency 8, p99 31.20 ms.\n"));
	assert_non_null(strstr(text, "Highest rate within p99 <= 50 ms, as measured: m_config_4 "
				     "900 req/s at concurrency 16, p99 45.00 ms; m_config_1 452.1 "
				     "req/s at concurrency 8, p99 31.20 ms; m_config_2 396 req/s "
				     "at request rate 400, p99 35.00 ms.\n"));
	assert_null(strstr(text, "m_config_default"));
	free(text);
	capacity_answer_release(&a);
}

/* No level within the budget: say so, and name the lowest p99 at each one's lowest load. */
static void test_nothing_meets(void **state)
{
	struct cfg x = { 0 }, y = { 0 };
	struct capacity_config cs[2];
	struct capacity_question q = { 20, 100 };
	struct capacity_answer a;
	char *text;

	(void)state;
	level(&x, LOAD_CONCURRENCY, 2, 1, 90, 25);
	level(&x, LOAD_CONCURRENCY, 1, 1, 50, 24);
	level(&y, LOAD_CONCURRENCY, 1, 1, 60, 22.5);
	level(&y, LOAD_CONCURRENCY, 4, 1, 120, 21);  /* lower, but not at its lowest load */
	cs[0] = config("m_config_0", &x, 1, 1, true);
	cs[1] = config("m_config_1", &y, 2, 1, true);
	capacity_answer(&q, cs, 2, &a);
	assert_int_equal(a.cheapest, -1);
	assert_int_equal(a.scale, -1);
	assert_int_equal(a.closest, 1);
	assert_false(a.rows[0].sustains || a.rows[1].sustains);
	assert_int_equal(a.rows[1].servers, 0);
	text = sentences(&a, cs);
	assert_string_equal(text, "100 req/s at p99 <= 20 ms: no configuration stays within the "
			    "budget at any measured level; the closest is m_config_1, p99 22.50 ms "
			    "at concurrency 1.\n");
	free(text);
	capacity_answer_release(&a);
	q.target_rate = 0;
	capacity_answer(&q, cs, 2, &a);
	text = sentences(&a, cs);
	assert_string_equal(text, "No configuration keeps p99 <= 20 ms at any measured level; the "
			    "closest is m_config_1, p99 22.50 ms at concurrency 1.\n");
	free(text);
	capacity_answer_release(&a);
}

/* 12,000 req/s above every configuration: the fewest servers, then the cheapest. */
static void test_servers_for_target(void **state)
{
	struct cfg a1 = { 0 }, a2 = { 0 }, a3 = { 0 };
	struct capacity_config cs[3];
	struct capacity_question q = { 50, 12000 };
	struct capacity_answer a;
	char *text;

	(void)state;
	level(&a1, LOAD_REQUEST_RATE, 1000, 1, 998, 20);
	level(&a2, LOAD_CONCURRENCY, 32, 1, 1714.3, 48);
	level(&a2, LOAD_CONCURRENCY, 64, 1, 1900, 95);
	level(&a3, LOAD_CONCURRENCY, 32, 1, 1750, 49);   /* also 7 servers, but dearer */
	cs[0] = config("m_config_1", &a1, 1, 1, true);
	cs[1] = config("m_config_3", &a2, 2, 4, true);
	cs[2] = config("m_config_5", &a3, 4, 4, true);
	capacity_answer(&q, cs, 3, &a);
	assert_int_equal(a.cheapest, -1);
	assert_int_equal(a.scale, 1);
	assert_int_equal(a.servers, 7);
	assert_int_equal(a.rows[0].servers, 12);
	assert_int_equal(a.rows[2].servers, 7);
	text = sentences(&a, cs);
	assert_non_null(strstr(text, "12,000 req/s at p99 <= 50 ms: 7 servers like m_config_3 "
				     "(1,714 req/s each within budget).\n"));
	free(text);
	capacity_answer_release(&a);
}

/*
 * A request-rate level counts only when it delivered 97% of its offer:
 * rate 300 measured 280 (93%) with a p99 within the budget is left out.
 */
static void test_saturated_rate_excluded(void **state)
{
	struct cfg c = { 0 };
	struct capacity_config cs;
	struct capacity_question q = { 100, 300 };
	struct capacity_answer a;

	(void)state;
	level(&c, LOAD_REQUEST_RATE, 100, 1, 100, 10);
	level(&c, LOAD_REQUEST_RATE, 200, 1, 195, 12);  /* 97.5%: delivered */
	level(&c, LOAD_REQUEST_RATE, 300, 1, 280, 90);
	answer_one(&q, &c, 1, &cs, &a);
	assert_true(a.rows[0].sustains);
	assert_true(a.rows[0].rate == 195 && a.rows[0].load_value == 200);
	assert_false(a.rows[0].meets_target);
	assert_int_equal(a.scale, 0);
	assert_int_equal(a.servers, 2);
	capacity_answer_release(&a);
	/* An invalid level (unstable, interleaved) never counts either. */
	c.levels[1].valid = false;
	answer_one(&q, &c, 1, &cs, &a);
	assert_true(a.rows[0].rate == 100);
	capacity_answer_release(&a);
}

/* Client batch 4: the smallest batch measured, infer/s, the target is rate x batch. */
static void test_batch_in_infer_per_s(void **state)
{
	struct cfg c = { 0 };
	struct capacity_config cs;
	struct capacity_question q = { 50, 100 };
	struct capacity_answer a;
	char *text;

	(void)state;
	level(&c, LOAD_REQUEST_RATE, 100, 4, 399, 20);
	level(&c, LOAD_REQUEST_RATE, 100, 8, 800, 30);  /* another batch: not this answer */
	answer_one(&q, &c, 8, &cs, &a);
	assert_int_equal(a.batch, 4);
	assert_true(a.target == 400);
	assert_string_equal(capacity_unit(&a), "infer/s");
	assert_true(a.rows[0].rate == 399 && a.rows[0].meets_target);
	text = sentences(&a, &cs);
	assert_non_null(strstr(text, "400 infer/s (request rate 100 x batch 4) at p99 <= 50 ms: "
				     "m_config_0 is the only configuration that serves it"));
	free(text);
	capacity_answer_release(&a);
}

/* Without a budget there is no question: no answer, no sentence. */
static void test_no_budget(void **state)
{
	struct cfg c = { 0 };
	struct capacity_config cs;
	struct capacity_question q = { 0, 300 };
	struct capacity_answer a;
	char *text;

	(void)state;
	level(&c, LOAD_REQUEST_RATE, 100, 1, 100, 10);
	answer_one(&q, &c, 1, &cs, &a);
	assert_false(a.asked);
	assert_null(a.rows);
	text = sentences(&a, &cs);
	assert_string_equal(text, "");
	free(text);
	capacity_answer_release(&a);
}

/* A predicted figure of the given rate (infer/s; 0: none) and uncertainty. */
static struct capacity_predicted predicted(double rate, double p99_ms, double u)
{
	return (struct capacity_predicted){ true, rate, p99_ms, rate > 0 ? 0 : 0.39, u };
}

/*
 * The predicted rates beside the measured ones, top configurations only:
 * "beyond the levels measured" when above the most a level was loaded
 * with (a request rate's offer counts), none with the p99 at the lightest
 * rate, inside the parentheses of a configuration with no level within
 * the budget; the note when nothing could be fitted.
 */
static void test_predicted_beside(void **state)
{
	struct cfg conc = { 0 }, rate = { 0 }, over = { 0 }, other = { 0 };
	struct capacity_config cs[4];
	struct capacity_question q = { 50, 0 };
	struct capacity_answer a;
	char *text;

	(void)state;
	level(&conc, LOAD_CONCURRENCY, 1, 1, 90, 11);
	level(&conc, LOAD_CONCURRENCY, 2, 1, 159.9, 13.79);     /* the sweep stopped short */
	level(&rate, LOAD_REQUEST_RATE, 80, 1, 80, 13);
	level(&rate, LOAD_REQUEST_RATE, 240, 1, 101, 900);      /* offered 240: fell behind */
	level(&over, LOAD_CONCURRENCY, 1, 1, 50, 60);
	level(&other, LOAD_CONCURRENCY, 1, 1, 50, 10);
	cs[0] = config("m_config_0", &conc, 2, 0, true);
	cs[1] = config("m_config_default", &rate, 1, 0, true);
	cs[2] = config("m_config_1", &over, 1, 0, true);
	cs[3] = config("m_config_2", &other, 1, 0, false);
	capacity_answer(&q, cs, 4, &a);
	assert_true(a.rows[0].measured_max == 159.9);
	assert_true(a.rows[1].measured_max == 240);
	assert_false(a.rows[0].predicted.has);
	a.rows[0].predicted = predicted(197.3, 12.1, 0.05);
	a.rows[1].predicted = predicted(98.6, 11.2, 0.05);
	a.rows[2].predicted = predicted(0, 60.5, 0.04);
	text = sentences(&a, cs);
	assert_string_equal(text, "Highest rate within p99 <= 50 ms, as measured: m_config_0 "
			    "159.9 req/s at concurrency 2, p99 13.79 ms (predicted: 197.3 req/s "
			    "±5% within the budget, beyond the levels measured); m_config_default "
			    "80 req/s at request rate 80, p99 13.00 ms (predicted: 98.6 req/s ±5% "
			    "within the budget); m_config_1 none (p99 above the budget at every "
			    "level; predicted: none, p99 60.50 ms ±4% even at 0.39 req/s).\n");
	free(text);

	/* Nothing measured within the budget: the predictions in a sentence of their own. */
	capacity_answer_release(&a);
	cs[0] = config("m_config_1", &over, 1, 0, true);
	capacity_answer(&q, cs, 1, &a);
	a.rows[0].predicted = predicted(0, 60.5, 0.04);
	text = sentences(&a, cs);
	assert_string_equal(text, "No configuration keeps p99 <= 50 ms at any measured level; the "
			    "closest is m_config_1, p99 60.00 ms at concurrency 1.\nHighest rate "
			    "within p99 <= 50 ms, as predicted (not measured): m_config_1 none, "
			    "p99 60.50 ms ±4% even at 0.39 req/s.\n");
	free(text);

	/* Nothing to fit from: one line says so. */
	a.rows[0].predicted.has = false;
	snprintf(a.predict_note, sizeof(a.predict_note), "results.db has no batch statistics "
		 "for model 'm' (its server did not send batch_stats): nothing to predict from");
	text = sentences(&a, cs);
	assert_non_null(strstr(text, "at concurrency 1.\nNo predicted rate: results.db has no "
				     "batch statistics for model 'm' (its server did not send "
				     "batch_stats): nothing to predict from.\n"));
	assert_null(strstr(text, "as predicted"));
	free(text);
	capacity_answer_release(&a);
}

/* The predicted answer for a target: ceil(target / rate) servers, in analyze's words. */
static void test_predicted_target(void **state)
{
	struct capacity_predicted p = predicted(192.7, 11.06, 0.03), none = predicted(0, 11, 0.03);
	struct strbuf sb;

	(void)state;
	assert_int_equal(capacity_servers(500, 192.7), 3);
	assert_int_equal(capacity_servers(400, 200), 2);        /* exactly 2 rates: 2 */
	assert_int_equal(capacity_servers(150, 192.7), 1);
	assert_int_equal(capacity_servers(150, 0), 0);
	strbuf_init(&sb, 0);
	capacity_predicted_target(&p, 50, 500, 1, "this configuration", &sb);
	assert_string_equal(sb.buf, "500 req/s at p99 <= 50 ms, predicted: 3 servers like this "
			    "configuration (192.7 req/s each within budget, ±3%).\n");
	strbuf_setlen(&sb, 0);
	capacity_predicted_target(&p, 50, 150, 1, "this configuration", &sb);
	assert_string_equal(sb.buf, "150 req/s at p99 <= 50 ms, predicted: 1 server like this "
			    "configuration (192.7 req/s within budget, ±3%).\n");
	strbuf_setlen(&sb, 0);
	p.rate = 800;
	capacity_predicted_target(&p, 50, 400, 4, "x", &sb);
	assert_string_equal(sb.buf, "1,600 infer/s (request rate 400 x batch 4) at p99 <= 50 ms, "
			    "predicted: 2 servers like x (800 infer/s each within budget, ±3%).\n");
	strbuf_setlen(&sb, 0);
	capacity_predicted_target(&none, 5, 500, 1, "x", &sb);
	assert_string_equal(sb.buf, "500 req/s at p99 <= 5 ms, predicted: no number of servers "
			    "like x serves it (none of its rates is within the budget).\n");
	strbuf_setlen(&sb, 0);
	none.has = false;
	capacity_predicted_target(&none, 5, 500, 1, "x", &sb);
	assert_string_equal(sb.buf, "");
	strbuf_release(&sb);
}

static void test_fmt_rate(void **state)
{
	char buf[32];

	(void)state;
	capacity_fmt_rate(1714.28, buf, sizeof(buf));
	assert_string_equal(buf, "1,714");
	capacity_fmt_rate(12000, buf, sizeof(buf));
	assert_string_equal(buf, "12,000");
	capacity_fmt_rate(1234567.8, buf, sizeof(buf));
	assert_string_equal(buf, "1,234,568");
	capacity_fmt_rate(159.74, buf, sizeof(buf));
	assert_string_equal(buf, "159.7");
	capacity_fmt_rate(400, buf, sizeof(buf));
	assert_string_equal(buf, "400");
	capacity_fmt_rate(7.126, buf, sizeof(buf));
	assert_string_equal(buf, "7.13");
	capacity_fmt_rate(1234567.8, buf, 6);
	assert_string_equal(buf, "1,234");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_question_of),
		cmocka_unit_test(test_cheapest_of_several),
		cmocka_unit_test(test_nothing_meets),
		cmocka_unit_test(test_servers_for_target),
		cmocka_unit_test(test_saturated_rate_excluded),
		cmocka_unit_test(test_batch_in_infer_per_s),
		cmocka_unit_test(test_no_budget),
		cmocka_unit_test(test_predicted_beside),
		cmocka_unit_test(test_predicted_target),
		cmocka_unit_test(test_fmt_rate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
