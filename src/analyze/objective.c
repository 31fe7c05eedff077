/*
 * Model Analyzer's comparison rules (model_config_measurement.py,
 * run_config_measurement.py, constraint_manager.py), reimplemented over the
 * figure table. Every function is deterministic in its inputs: a resumed
 * search that is fed the stored figures takes exactly the same decisions.
 */
#include "analyze/objective.h"

#include <math.h>
#include <string.h>

#include "store/store.h"
#include "util/error.h"
#include "util/banned.h"

int objective_set_add(struct objective_set *o, const char *tag, double weight,
		      struct it_error *err)
{
	int f = figure_by_tag(tag);

	if (f < 0)
		return it_error_set(err, IT_ERR_INVALID,
				    "unknown objective '%s' (e.g. perf_throughput, perf_latency_p99, gpu_used_memory, cpu_used_ram)",
				    tag);
	if (!(weight > 0) || !isfinite(weight))
		return it_error_set(err, IT_ERR_INVALID,
				    "objective '%s': the weight must be a number > 0", tag);
	for (size_t i = 0; i < o->n_obj; i++) {
		if (o->obj[i].fig == (enum figure)f) {
			o->obj[i].weight = weight;
			return 0;
		}
	}
	o->obj[o->n_obj].fig = (enum figure)f;
	o->obj[o->n_obj].weight = weight;
	o->n_obj++;
	return 0;
}

int constraint_set_add(struct objective_set *o, const char *tag, bool has_min,
		       double min, bool has_max, double max,
		       struct it_error *err)
{
	int f = figure_by_tag(tag);
	struct constraint *c = NULL;

	if (f < 0)
		return it_error_set(err, IT_ERR_INVALID,
				    "unknown constraint '%s' (e.g. perf_throughput, perf_latency_p99, gpu_used_memory)",
				    tag);
	if ((has_min && !isfinite(min)) || (has_max && !isfinite(max)))
		return it_error_set(err, IT_ERR_INVALID,
				    "constraint '%s': bounds must be numbers", tag);
	for (size_t i = 0; i < o->n_con; i++) {
		if (o->con[i].fig == (enum figure)f)
			c = &o->con[i];
	}
	if (!c) {
		c = &o->con[o->n_con++];
		memset(c, 0, sizeof(*c));
		c->fig = (enum figure)f;
	}
	if (has_min && (!c->has_min || min > c->min)) {
		c->has_min = true;
		c->min = min;
	}
	if (has_max && (!c->has_max || max < c->max)) {
		c->has_max = true;
		c->max = max;
	}
	return 0;
}

void objective_set_finish(struct objective_set *o)
{
	double sum = 0;

	if (!o->n_obj) {
		o->obj[0].fig = FIG_THROUGHPUT;
		o->obj[0].weight = 1;
		o->n_obj = 1;
	}
	for (size_t i = 0; i < o->n_obj; i++)
		sum += o->obj[i].weight;
	for (size_t i = 0; i < o->n_obj; i++)
		o->obj[i].weight /= sum;
}

double objective_score(const struct objective_set *o, const struct figures *a,
		       const struct figures *b)
{
	double score = 0;

	for (size_t i = 0; i < o->n_obj; i++) {
		enum figure f = o->obj[i].fig;
		bool ha = figures_has(a, f), hb = figures_has(b, f);
		double mean, diff;

		/* MA: a GPU figure asked of a CPU-only measurement; the one that has it wins. */
		if (ha != hb)
			return hb ? 1 : -1;
		if (!ha)
			continue;
		mean = (a->v[f] + b->v[f]) / 2;
		if (mean == 0)
			continue;
		diff = (b->v[f] - a->v[f]) * figure_table[f].direction;
		score += o->obj[i].weight * diff / mean;
	}
	return score;
}

double objective_violation(const struct objective_set *o,
			   const struct figures *m)
{
	double total = 0;

	for (size_t i = 0; i < o->n_con; i++) {
		const struct constraint *c = &o->con[i];
		double v;

		if (!figures_has(m, c->fig))
			continue;
		v = m->v[c->fig];
		if (c->has_max && v > c->max)
			total += c->max != 0 ? (v - c->max) / fabs(c->max) * 100 : 100;
		if (c->has_min && v < c->min)
			total += c->min != 0 ? (c->min - v) / fabs(c->min) * 100 : 100;
	}
	return total;
}

bool objective_passes(const struct objective_set *o, const struct figures *m)
{
	return objective_violation(o, m) == 0;
}

bool objective_better(const struct objective_set *o, const struct figures *a,
		      const struct figures *b)
{
	bool pa, pb;

	if (!b)
		return false;
	if (!a)
		return true;
	pa = objective_passes(o, a);
	pb = objective_passes(o, b);
	if (pa != pb)
		return pb;
	if (!pa) {
		double va = objective_violation(o, a), vb = objective_violation(o, b);

		if (va != vb)
			return vb < va;
	}
	return objective_score(o, a, b) > 0;
}

double objective_gain_pct(const struct objective_set *o,
			  const struct figures *base, const struct figures *m,
			  bool *has)
{
	double total = 0;

	*has = false;
	for (size_t i = 0; i < o->n_obj; i++) {
		enum figure f = o->obj[i].fig;
		double b, v, pct;

		if (!figures_has(base, f) || !figures_has(m, f))
			continue;
		b = base->v[f];
		v = m->v[f];
		if (b == 0)
			continue;
		pct = figure_table[f].direction > 0 ? (v - b) / b * 100 : (b - v) / b * 100;
		total += o->obj[i].weight * pct;
		*has = true;
	}
	return total;
}

bool measurement_valid(const struct store_measurement *m)
{
	return m->status == MEAS_OK || m->status == MEAS_OVER_THRESHOLD;
}

/* The best valid measurement of one variant (first of equals wins), or -1. */
static long best_of(const struct objective_set *o, const struct store_measurement *ms,
		    size_t n)
{
	long best = -1;

	for (size_t i = 0; i < n; i++) {
		if (!measurement_valid(&ms[i]))
			continue;
		if (best < 0 || objective_better(o, &ms[best].fig, &ms[i].fig))
			best = (long)i;
	}
	return best;
}

/* Class of a ranked entry: 0 passing, 1 valid but failing, 2 nothing valid. */
static int entry_class(const struct rank_entry *e)
{
	if (e->best < 0)
		return 2;
	return e->passes ? 0 : 1;
}

/* True when entry b must come before entry a. */
static bool entry_before(const struct objective_set *o, const struct rank_input *in,
			 const struct rank_entry *a, const struct rank_entry *b)
{
	int ca = entry_class(a), cb = entry_class(b);

	if (ca != cb)
		return cb < ca;
	if (ca == 2)
		return false;
	return objective_better(o, &in[a->input].ms[a->best].fig,
			       &in[b->input].ms[b->best].fig);
}

void objective_rank(const struct objective_set *o, const struct rank_input *in,
		    size_t n, struct rank_entry *out)
{
	for (size_t i = 0; i < n; i++) {
		struct rank_entry e;
		size_t j;

		e.input = i;
		e.best = best_of(o, in[i].ms, in[i].n);
		e.passes = e.best >= 0 && objective_passes(o, &in[i].ms[e.best].fig);
		e.in_tier = false;
		e.measured_rank = 0;
		/* Insertion sort: stable, and deterministic for a non-transitive score. */
		j = i;
		while (j > 0 && entry_before(o, in, &out[j - 1], &e)) {
			out[j] = out[j - 1];
			j--;
		}
		out[j] = e;
	}
	for (size_t i = 0; i < n; i++)
		out[i].measured_rank = i + 1;
}

static int meas_class(const struct objective_set *o, const struct store_measurement *m)
{
	if (!measurement_valid(m))
		return 2;
	return objective_passes(o, &m->fig) ? 0 : 1;
}

void objective_sort_measurements(const struct objective_set *o,
				 const struct store_measurement *ms, size_t n,
				 size_t *order)
{
	for (size_t i = 0; i < n; i++) {
		size_t j = i;
		int ci = meas_class(o, &ms[i]);

		while (j > 0) {
			const struct store_measurement *prev = &ms[order[j - 1]];
			int cp = meas_class(o, prev);
			bool before = ci < cp ||
				      (ci == cp && ci < 2 &&
				       objective_better(o, &prev->fig, &ms[i].fig));

			if (!before)
				break;
			order[j] = order[j - 1];
			j--;
		}
		order[j] = i;
	}
}
