/*
 * The capacity answers and their sentences. Why from the measurements
 * only: a rate a configuration was not measured at is a prediction, and
 * predict/ gives those (analyze/capacity_predict puts them into the
 * answer), worded here as predictions beside the measured rates. Why the
 * smallest client batch: the capacity of a server is asked in the
 * requests a client sends, and levels of different batches do not add up
 * to one rate.
 */
#include "analyze/capacity.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/objective.h"
#include "util/strbuf.h"
#include "util/xalloc.h"
#include "util/banned.h"

bool capacity_question_of(const struct objective_set *o, const double *rates, size_t n_rates,
			  struct capacity_question *q)
{
	memset(q, 0, sizeof(*q));
	for (size_t i = 0; i < o->n_con; i++)
		if (o->con[i].fig == FIG_LATENCY_P99 && o->con[i].has_max)
			q->budget_ms = o->con[i].max;
	for (size_t i = 0; i < n_rates; i++)
		if (rates[i] > q->target_rate)
			q->target_rate = rates[i];
	return q->budget_ms > 0;
}

size_t capacity_top_count(size_t n_tier)
{
	return n_tier > CAPACITY_TOP ? n_tier : CAPACITY_TOP;
}

/* The smallest client batch of a valid level; 1 when none. */
static int64_t smallest_batch(const struct capacity_config *cs, size_t n)
{
	int64_t b = 0;

	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < cs[i].n_levels; k++) {
			const struct capacity_level *l = &cs[i].levels[k];

			if (l->valid && l->batch_size >= 1 && (!b || l->batch_size < b))
				b = l->batch_size;
		}
	return b ? b : 1;
}

/* A level within the budget: its p99, and for a request rate, what it was offered. */
static bool within(const struct capacity_level *l, double budget_ms)
{
	double tp = figures_get(l->fig, FIG_THROUGHPUT, NAN);

	if (!figures_has(l->fig, FIG_LATENCY_P99) || l->fig->v[FIG_LATENCY_P99] > budget_ms ||
	    !(tp > 0))
		return false;
	return l->load_kind != LOAD_REQUEST_RATE ||
	       tp >= CAPACITY_DELIVERED * l->load_value * (double)l->batch_size;
}

static void row_of(const struct capacity_answer *a, const struct capacity_config *c,
		   struct capacity_row *r)
{
	for (size_t k = 0; k < c->n_levels; k++) {
		const struct capacity_level *l = &c->levels[k];
		double tp;

		if (!l->valid || l->batch_size != a->batch || !figures_has(l->fig, FIG_LATENCY_P99))
			continue;
		tp = figures_get(l->fig, FIG_THROUGHPUT, 0);
		r->measured_max = fmax(r->measured_max, tp);
		if (l->load_kind == LOAD_REQUEST_RATE)
			r->measured_max = fmax(r->measured_max,
					       l->load_value * (double)l->batch_size);
		if (!r->has_lightest || l->load_value < r->lightest_load) {
			r->has_lightest = true;
			r->lightest_kind = l->load_kind;
			r->lightest_load = l->load_value;
			r->lightest_p99_ms = l->fig->v[FIG_LATENCY_P99];
		}
		if (!within(l, a->budget_ms) || (r->sustains && tp <= r->rate))
			continue;
		r->sustains = true;
		r->rate = tp;
		r->has_ci = figures_interval(l->fig, FIG_THROUGHPUT, &r->ci_lo, &r->ci_hi);
		r->load_kind = l->load_kind;
		r->load_value = l->load_value;
		r->p99_ms = l->fig->v[FIG_LATENCY_P99];
	}
	if (!a->has_target || !r->sustains)
		return;
	/*
	 * The tolerance by which a request-rate level is said to deliver its
	 * rate: 79.9 req/s measured at a rate of 80 serves 80, and two such
	 * servers serve 160.
	 */
	r->meets_target = r->rate >= CAPACITY_DELIVERED * a->target;
	r->servers = r->meets_target ? 1 : capacity_servers(CAPACITY_DELIVERED * a->target, r->rate);
}

uint64_t capacity_servers(double target, double rate)
{
	if (!(rate > 0) || !(target > 0))
		return 0;
	/* 1e-9: a target of exactly k rates needs k servers, whatever the rounding. */
	return (uint64_t)ceil(target / rate - 1e-9);
}

/* True when row i answers better than row j (-1: none yet); fewest servers first when by_servers. */
static bool better(const struct capacity_answer *a, const struct capacity_config *cs, long i,
		   long j, bool by_servers)
{
	int c;

	if (j < 0)
		return true;
	if (by_servers && a->rows[i].servers != a->rows[j].servers)
		return a->rows[i].servers < a->rows[j].servers;
	c = tier_cost_compare(&cs[i].cost, &cs[j].cost, NULL);
	return c < 0 || (c == 0 && a->rows[i].rate > a->rows[j].rate);
}

void capacity_answer(const struct capacity_question *q, const struct capacity_config *cs,
		     size_t n, struct capacity_answer *out)
{
	bool any = false;

	memset(out, 0, sizeof(*out));
	out->cheapest = out->scale = out->closest = -1;
	if (q->budget_ms <= 0)
		return;
	out->asked = true;
	out->budget_ms = q->budget_ms;
	out->batch = smallest_batch(cs, n);
	out->has_target = q->target_rate > 0;
	out->target_rate = q->target_rate;
	out->target = q->target_rate * (double)out->batch;
	out->rows = xcalloc(n + 1, sizeof(*out->rows));
	out->n_rows = n;
	for (size_t i = 0; i < n; i++) {
		row_of(out, &cs[i], &out->rows[i]);
		any = any || out->rows[i].sustains;
	}
	for (long i = 0; i < (long)n; i++)
		if (out->rows[i].meets_target && better(out, cs, i, out->cheapest, false))
			out->cheapest = i;
	for (long i = 0; out->has_target && out->cheapest < 0 && i < (long)n; i++)
		if (out->rows[i].sustains && better(out, cs, i, out->scale, true))
			out->scale = i;
	if (out->scale >= 0)
		out->servers = out->rows[out->scale].servers;
	for (long i = 0; !any && i < (long)n; i++)
		if (out->rows[i].has_lightest &&
		    (out->closest < 0 ||
		     out->rows[i].lightest_p99_ms < out->rows[out->closest].lightest_p99_ms))
			out->closest = i;
}

void capacity_answer_release(struct capacity_answer *a)
{
	free(a->rows);
	memset(a, 0, sizeof(*a));
	a->cheapest = a->scale = a->closest = -1;
}

void capacity_fmt_rate(double v, char *buf, size_t size)
{
	char digits[64];
	size_t n, used = 0;

	if (!isfinite(v) || (fabs(v) < 1000 && v != floor(v))) {
		snprintf(buf, size, fabs(v) < 10 ? "%.2f" : "%.1f", v);
		return;
	}
	snprintf(digits, sizeof(digits), "%.0f", fabs(v));
	n = strlen(digits);
	if (v < 0 && used + 1 < size)
		buf[used++] = '-';
	for (size_t i = 0; i < n && used + 1 < size; i++) {
		if (i && (n - i) % 3 == 0 && used + 2 < size)
			buf[used++] = ',';
		buf[used++] = digits[i];
	}
	if (size)
		buf[used < size ? used : size - 1] = '\0';
}

/* "req/s" for a client batch of 1, else "infer/s". */
static const char *unit_of(int64_t batch)
{
	return batch > 1 ? "infer/s" : "req/s";
}

const char *capacity_unit(const struct capacity_answer *a)
{
	return unit_of(a->batch);
}

void capacity_predicted_phrase(const struct capacity_predicted *p, int64_t batch,
			       double measured_max, struct strbuf *sb)
{
	char rate[64];

	if (!p->has)
		return;
	if (!(p->rate > 0)) {
		capacity_fmt_rate(p->lightest, rate, sizeof(rate));
		strbuf_addf(sb, "none, p99 %.2f ms ±%.0f%% even at %s %s", p->p99_ms,
			    p->rel_uncertainty * 100, rate, unit_of(batch));
		return;
	}
	capacity_fmt_rate(p->rate, rate, sizeof(rate));
	strbuf_addf(sb, "%s %s ±%.0f%% within the budget", rate, unit_of(batch),
		    p->rel_uncertainty * 100);
	if (measured_max > 0 && p->rate > measured_max)
		strbuf_adds(sb, ", beyond the levels measured");
}

void capacity_load_text(enum load_kind kind, double value, char *buf, size_t size)
{
	snprintf(buf, size, "%s %g", kind == LOAD_REQUEST_RATE ? "request rate" : "concurrency",
		 value);
}

/* "400 req/s at p99 <= 50 ms" ("1,600 infer/s (request rate 400 x batch 4) at ..."). */
static void target_phrase(const struct capacity_answer *a, struct strbuf *sb)
{
	char t[64];

	capacity_fmt_rate(a->target, t, sizeof(t));
	strbuf_addf(sb, "%s %s", t, capacity_unit(a));
	if (a->batch > 1)
		strbuf_addf(sb, " (request rate %g x batch %lld)", a->target_rate,
			    (long long)a->batch);
	strbuf_addf(sb, " at p99 <= %g ms", a->budget_ms);
}

void capacity_predicted_target(const struct capacity_predicted *p, double budget_ms,
			       double target_rate, int64_t batch, const char *name,
			       struct strbuf *sb)
{
	struct capacity_answer a;
	uint64_t servers;
	char rate[64];

	if (!p->has)
		return;
	memset(&a, 0, sizeof(a));
	a.asked = a.has_target = true;
	a.budget_ms = budget_ms;
	a.batch = batch > 1 ? batch : 1;
	a.target_rate = target_rate;
	a.target = target_rate * (double)a.batch;
	servers = capacity_servers(a.target, p->rate);
	target_phrase(&a, sb);
	if (!servers) {
		strbuf_addf(sb, ", predicted: no number of servers like %s serves it (none of its "
			    "rates is within the budget).\n", name);
		return;
	}
	capacity_fmt_rate(p->rate, rate, sizeof(rate));
	strbuf_addf(sb, ", predicted: %llu server%s like %s (%s %s%s within budget, ±%.0f%%).\n",
		    (unsigned long long)servers, servers == 1 ? "" : "s", name, rate,
		    capacity_unit(&a), servers == 1 ? "" : " each", p->rel_uncertainty * 100);
}

/* "instances × threads 2, max_batch_size 4". */
static void cost_phrase(const struct tier_cost *c, struct strbuf *sb)
{
	strbuf_addf(sb, "%s %g, max_batch_size %d", c->gpu ? "GPU instances" : "instances × threads",
		    c->resources, c->max_batch_size);
}

/* "452 req/s (95% interval 448 to 456) at request rate 450, p99 31.20 ms". */
static void sustained_phrase(const struct capacity_answer *a, const struct capacity_row *r,
			     bool with_ci, struct strbuf *sb)
{
	char rate[64], lo[64], hi[64], load[64];

	capacity_fmt_rate(r->rate, rate, sizeof(rate));
	capacity_load_text(r->load_kind, r->load_value, load, sizeof(load));
	strbuf_addf(sb, "%s %s", rate, capacity_unit(a));
	if (with_ci && r->has_ci) {
		capacity_fmt_rate(r->ci_lo, lo, sizeof(lo));
		capacity_fmt_rate(r->ci_hi, hi, sizeof(hi));
		strbuf_addf(sb, " (95%% interval %s to %s)", lo, hi);
	}
	strbuf_addf(sb, " at %s, p99 %.2f ms", load, r->p99_ms);
}

/* The answer for the target: (a), (c), or that nothing is within the budget. */
static void target_sentence(const struct capacity_answer *a, const struct capacity_config *cs,
			    struct strbuf *sb)
{
	size_t meeting = 0;
	char rate[64];

	for (size_t i = 0; i < a->n_rows; i++)
		meeting += a->rows[i].meets_target;
	if (a->cheapest >= 0) {
		const struct capacity_config *c = &cs[a->cheapest];

		target_phrase(a, sb);
		if (meeting == 1)
			strbuf_addf(sb, ": %s is the only configuration that serves it (", c->name);
		else
			strbuf_addf(sb, ": %s is the cheapest of the %zu configurations that serve it (",
				    c->name, meeting);
		cost_phrase(&c->cost, sb);
		strbuf_adds(sb, "), sustaining ");
		sustained_phrase(a, &a->rows[a->cheapest], true, sb);
		strbuf_adds(sb, ".\n");
	} else if (a->scale >= 0) {
		capacity_fmt_rate(a->rows[a->scale].rate, rate, sizeof(rate));
		target_phrase(a, sb);
		strbuf_addf(sb, ": %llu servers like %s (%s %s each within budget).\n",
			    (unsigned long long)a->servers, cs[a->scale].name, rate,
			    capacity_unit(a));
	}
}

/* Nothing within the budget: say so and name the closest. */
static void none_sentence(const struct capacity_answer *a, const struct capacity_config *cs,
			  struct strbuf *sb)
{
	char load[64];

	if (a->has_target) {
		target_phrase(a, sb);
		strbuf_adds(sb, ": no configuration stays within the budget at any measured level");
	} else {
		strbuf_addf(sb, "No configuration keeps p99 <= %g ms at any measured level",
			    a->budget_ms);
	}
	if (a->closest >= 0) {
		const struct capacity_row *r = &a->rows[a->closest];

		capacity_load_text(r->lightest_kind, r->lightest_load, load, sizeof(load));
		strbuf_addf(sb, "; the closest is %s, p99 %.2f ms at %s", cs[a->closest].name,
			    r->lightest_p99_ms, load);
	}
	strbuf_adds(sb, ".\n");
}

/*
 * (b): the highest rate within the budget of each top configuration, the
 * predicted one beside the measured; predicted_only: the predicted ones
 * alone (no level is within the budget).
 */
static void top_list(const struct capacity_answer *a, const struct capacity_config *cs,
		     bool predicted_only, struct strbuf *sb)
{
	bool first = true;

	for (size_t i = 0; i < a->n_rows; i++) {
		const struct capacity_row *r = &a->rows[i];

		if (!cs[i].top || (predicted_only && !r->predicted.has))
			continue;
		strbuf_addf(sb, "%s%s ", first ? "" : "; ", cs[i].name);
		first = false;
		if (predicted_only) {
			capacity_predicted_phrase(&r->predicted, a->batch, r->measured_max, sb);
			continue;
		}
		if (r->sustains)
			sustained_phrase(a, r, false, sb);
		else
			strbuf_adds(sb, r->has_lightest ?
				    "none (p99 above the budget at every level" :
				    "none (no valid level");
		if (r->predicted.has) {
			strbuf_adds(sb, r->sustains ? " (predicted: " : "; predicted: ");
			capacity_predicted_phrase(&r->predicted, a->batch, r->measured_max, sb);
		}
		if (r->predicted.has || !r->sustains)
			strbuf_addch(sb, ')');
	}
	if (!first)
		strbuf_adds(sb, ".\n");
}

void capacity_sentences(const struct capacity_answer *a, const struct capacity_config *cs,
			struct strbuf *sb)
{
	bool any = false;
	struct strbuf top;

	if (!a->asked)
		return;
	for (size_t i = 0; i < a->n_rows; i++)
		any = any || a->rows[i].sustains;
	if (!any)
		none_sentence(a, cs, sb);
	else if (a->has_target)
		target_sentence(a, cs, sb);
	strbuf_init(&top, 0);
	top_list(a, cs, !any, &top);
	if (top.len)
		strbuf_addf(sb, "Highest rate within p99 <= %g ms, as %s: %s", a->budget_ms,
			    any ? "measured" : "predicted (not measured)", top.buf);
	strbuf_release(&top);
	if (a->predict_note[0])
		strbuf_addf(sb, "No predicted rate: %s.\n", a->predict_note);
}
