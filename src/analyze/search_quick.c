/*
 * Quick search: Model Analyzer's hill climbing (quick_run_config_generator.py,
 * neighborhood.py; reference-analyzers.md §1.3) over integer coordinates:
 * max_batch_size as 2^i (when the model batches), instance count as i + 1,
 * and the intra-op thread count (an index into its list) where it is a
 * dimension. Each point is measured at one concurrency, 2 x max_batch_size
 * x instances. From the all-minimum start the climb measures neighbours
 * within radius 3 until three are known, steps along the weighted direction
 * of improvement (quantised to 1, 2 or 3), falls back to adjacent neighbours
 * ("slow mode") where passing and failing points meet, steps back towards
 * the best point after stepping into a failure, and stops on a repeated or
 * unchanged home. Then the best `top_n` configurations and the default are
 * swept over the run's concurrencies, as Model Analyzer's concurrency
 * sweeper does.
 */
#include "analyze/search.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/objective.h"
#include "util/error.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define QUICK_MAX_DIMS 3
#define QUICK_RADIUS 3
#define QUICK_MIN_INITIALIZED 3
/* Safety bounds where the user gave none (Model Analyzer's are unbounded). */
#define QUICK_MAX_MBS_IDX 10            /* max_batch_size 1024 */
#define QUICK_MAX_INSTANCES 16

static const double translation[] = { 0.09, 0.3, 1.0 };

enum dim_kind { DIM_MBS, DIM_INSTANCES, DIM_THREADS };

struct coord {
	int v[QUICK_MAX_DIMS];
};

struct coord_data {
	struct coord c;
	bool measured;          /* an outcome was fed (possibly without measurement) */
	bool valid;             /* it had a valid measurement */
	struct figures fig;     /* that measurement */
	unsigned visits;
};

enum phase { PH_DEFAULT, PH_CLIMB, PH_SWEEP, PH_DONE };

struct quick {
	const struct search_space *sp;
	const struct objective_set *obj;
	int nd;
	enum dim_kind kind[QUICK_MAX_DIMS];
	int min_idx[QUICK_MAX_DIMS], max_idx[QUICK_MAX_DIMS];
	enum phase phase;

	struct coord_data *data;
	size_t n_data, alloc_data;

	struct coord home, to_measure, best;
	bool has_best;
	struct figures best_fig;
	bool home_has_passed;
	bool force_slow;
	bool climb_done;

	struct coord *hood;     /* the neighbourhood of home (home included) */
	size_t n_hood, alloc_hood;

	/* sweep phase: configurations to sweep (coordinates), then the default */
	struct coord *sweep;
	size_t n_sweep, sweep_i;
	bool sweep_default_done;
};

static bool coord_eq(const struct quick *q, const struct coord *a, const struct coord *b)
{
	for (int d = 0; d < q->nd; d++) {
		if (a->v[d] != b->v[d])
			return false;
	}
	return true;
}

static double coord_dist(const struct quick *q, const struct coord *a,
			 const struct coord *b)
{
	double s = 0;

	for (int d = 0; d < q->nd; d++)
		s += (double)(a->v[d] - b->v[d]) * (a->v[d] - b->v[d]);
	return sqrt(s);
}

static struct coord_data *find_data(struct quick *q, const struct coord *c)
{
	for (size_t i = 0; i < q->n_data; i++) {
		if (coord_eq(q, &q->data[i].c, c))
			return &q->data[i];
	}
	return NULL;
}

static struct coord_data *get_data(struct quick *q, const struct coord *c)
{
	struct coord_data *cd = find_data(q, c);

	if (cd)
		return cd;
	XGROW(q->data, q->alloc_data, q->n_data + 1);
	cd = &q->data[q->n_data++];
	memset(cd, 0, sizeof(*cd));
	cd->c = *c;
	return cd;
}

static bool is_measured(struct quick *q, const struct coord *c)
{
	struct coord_data *cd = find_data(q, c);

	return cd && cd->measured;
}

static const struct figures *valid_fig(struct quick *q, const struct coord *c)
{
	struct coord_data *cd = find_data(q, c);

	return cd && cd->valid ? &cd->fig : NULL;
}

static bool in_bounds(const struct quick *q, const struct coord *c)
{
	for (int d = 0; d < q->nd; d++) {
		if (c->v[d] < q->min_idx[d] || c->v[d] > q->max_idx[d])
			return false;
	}
	return true;
}

static void clamp(const struct quick *q, struct coord *c)
{
	for (int d = 0; d < q->nd; d++) {
		if (c->v[d] > q->max_idx[d])
			c->v[d] = q->max_idx[d];
		if (c->v[d] < q->min_idx[d])
			c->v[d] = q->min_idx[d];
	}
}

/* ---- neighbourhood -------------------------------------------------------- */

static void hood_add(struct quick *q, const struct coord *step)
{
	struct coord c;

	for (int d = 0; d < q->nd; d++)
		c.v[d] = q->home.v[d] + step->v[d];
	for (int d = q->nd; d < QUICK_MAX_DIMS; d++)
		c.v[d] = 0;
	if (!in_bounds(q, &c))
		return;
	XGROW(q->hood, q->alloc_hood, q->n_hood + 1);
	q->hood[q->n_hood++] = c;
}

/* Appends every sign combination of the non-negative step (neighborhood.py's order). */
static void add_signs(struct quick *q, struct coord *step, int index)
{
	if (index + 1 == q->nd) {
		hood_add(q, step);
		if (step->v[index]) {
			step->v[index] = -step->v[index];
			hood_add(q, step);
		}
		return;
	}
	add_signs(q, step, index + 1);
	if (step->v[index]) {
		step->v[index] = -step->v[index];
		add_signs(q, step, index + 1);
	}
}

/* Walks non-negative steps within the radius, dimension by dimension. */
static void permute_steps(struct quick *q, struct coord *step, int index)
{
	for (int i = 0; i <= QUICK_RADIUS; i++) {
		step->v[index] = i;
		if (index == q->nd - 1) {
			struct coord zero = { { 0 } };
			struct coord tmp = *step;

			if (coord_dist(q, &zero, step) > QUICK_RADIUS)
				return;
			add_signs(q, &tmp, 0);
		} else {
			permute_steps(q, step, index + 1);
		}
	}
}

static void make_hood(struct quick *q, bool force_slow)
{
	struct coord step = { { 0 } };

	q->n_hood = 0;
	permute_steps(q, &step, 0);
	q->force_slow = force_slow;
}

/* recreate_neighborhood(): a new home counts a visit. */
static void new_home(struct quick *q, const struct coord *c, bool force_slow)
{
	q->home = *c;
	q->to_measure = *c;
	make_hood(q, force_slow);
	get_data(q, &q->home)->visits++;
}

static bool home_passes(struct quick *q)
{
	const struct figures *f = valid_fig(q, &q->home);

	return f && objective_passes(q->obj, f);
}

/* Neighbours (home excluded) with a valid measurement, optionally passing only. */
static size_t valid_neighbours(struct quick *q, bool passing_only, size_t *idx)
{
	size_t n = 0;

	for (size_t i = 0; i < q->n_hood; i++) {
		const struct figures *f;

		if (coord_eq(q, &q->hood[i], &q->home))
			continue;
		f = valid_fig(q, &q->hood[i]);
		if (!f || (passing_only && !objective_passes(q->obj, f)))
			continue;
		if (idx)
			idx[n] = i;
		n++;
	}
	return n;
}

static bool is_slow_mode(struct quick *q)
{
	size_t all, passing;
	bool hp;

	if (q->force_slow)
		return true;
	if (!valid_fig(q, &q->home))
		return false;
	all = valid_neighbours(q, false, NULL);
	passing = valid_neighbours(q, true, NULL);
	hp = home_passes(q);
	return (hp && all != passing) || (!hp && passing != 0);
}

/* Adjacent neighbours (±1 in one dimension), in bounds: down then up per dimension. */
static size_t adjacent(struct quick *q, struct coord *out)
{
	size_t n = 0;

	for (int d = 0; d < q->nd; d++) {
		struct coord c = q->home;

		c.v[d] = q->home.v[d] - 1;
		if (c.v[d] >= q->min_idx[d])
			out[n++] = c;
		c.v[d] = q->home.v[d] + 1;
		if (c.v[d] <= q->max_idx[d])
			out[n++] = c;
	}
	return n;
}

static bool enough_initialized(struct quick *q)
{
	if (is_slow_mode(q)) {
		struct coord adj[2 * QUICK_MAX_DIMS];
		size_t n = adjacent(q, adj);

		for (size_t i = 0; i < n; i++) {
			if (!is_measured(q, &adj[i]))
				return false;
		}
		return true;
	}
	return valid_neighbours(q, false, NULL) >= QUICK_MIN_INITIALIZED;
}

/* Picks the next neighbour to measure; false when there is none. */
static bool pick_to_initialize(struct quick *q, struct coord *out)
{
	if (is_slow_mode(q)) {
		struct coord adj[2 * QUICK_MAX_DIMS];
		size_t n = adjacent(q, adj);

		for (size_t i = 0; i < n; i++) {
			if (!is_measured(q, &adj[i])) {
				*out = adj[i];
				return true;
			}
		}
		return false;
	}
	{
		/* Fast mode: the unmeasured neighbour covering the most new per-dimension values. */
		size_t *idx = xcalloc(q->n_hood ? q->n_hood : 1, sizeof(*idx));
		size_t nv = valid_neighbours(q, false, idx);
		int best_uncovered = -1;
		bool found = false;

		for (size_t i = 0; i < q->n_hood; i++) {
			int uncovered = 0;

			if (is_measured(q, &q->hood[i]))
				continue;
			for (int d = 0; d < q->nd; d++) {
				bool covered = false;

				for (size_t k = 0; k < nv && !covered; k++)
					covered = q->hood[idx[k]].v[d] == q->hood[i].v[d];
				uncovered += !covered;
			}
			if (uncovered > best_uncovered) {
				best_uncovered = uncovered;
				*out = q->hood[i];
				found = true;
			}
		}
		free(idx);
		return found;
	}
}

static int translate(double v)
{
	int r = 0;

	for (int i = 0; i < 3; i++) {
		if (v > 0 && v > translation[i])
			r = i + 1;
		if (v < 0 && v < -translation[i])
			r = -(i + 1);
	}
	return r;
}

static struct coord determine_new_home(struct quick *q)
{
	const struct figures *home_f = valid_fig(q, &q->home);
	struct coord out = q->home;

	if (is_slow_mode(q)) {
		/* The best passing point among the neighbours and home. */
		size_t *idx = xcalloc(q->n_hood ? q->n_hood : 1, sizeof(*idx));
		size_t n = valid_neighbours(q, true, idx);
		const struct figures *best = NULL;

		if (n) {
			for (size_t k = 0; k < n; k++) {
				const struct figures *f = valid_fig(q, &q->hood[idx[k]]);

				if (!best || objective_score(q->obj, best, f) > 0) {
					best = f;
					out = q->hood[idx[k]];
				}
			}
			/* Home last, winning ties, as Model Analyzer's sorted(...)[-1] does. */
			if (home_f && objective_passes(q->obj, home_f) &&
			    objective_score(q->obj, best, home_f) >= 0)
				out = q->home;
		}
		free(idx);
		return out;
	}
	{
		double step[QUICK_MAX_DIMS] = { 0 }, sum[QUICK_MAX_DIMS] = { 0 };
		size_t *idx = xcalloc(q->n_hood ? q->n_hood : 1, sizeof(*idx));
		size_t n = valid_neighbours(q, false, idx);
		bool compare_constraints = !home_passes(q);

		for (size_t k = 0; k < n && home_f; k++) {
			const struct coord *c = &q->hood[idx[k]];
			const struct figures *f = valid_fig(q, c);
			double w;

			/* Positive when the neighbour is better than home. */
			if (compare_constraints)
				w = (objective_violation(q->obj, home_f) -
				     objective_violation(q->obj, f)) / 100;
			else
				w = objective_score(q->obj, home_f, f);
			for (int d = 0; d < q->nd; d++) {
				int v = c->v[d] - q->home.v[d];

				if (v > 0) {
					step[d] += w;
					sum[d] += v;
				} else if (v < 0) {
					step[d] -= w;
					sum[d] -= v;
				}
			}
		}
		free(idx);
		for (int d = 0; d < q->nd; d++) {
			if (sum[d] != 0)
				step[d] /= sum[d];
			out.v[d] = q->home.v[d] + translate(step[d]);
		}
		clamp(q, &out);
		return out;
	}
}

/* ---- the climb ------------------------------------------------------------ */

static void update_best(struct quick *q, const struct figures *f)
{
	if (!q->has_best || objective_better(q->obj, &q->best_fig, f)) {
		q->has_best = true;
		q->best = q->to_measure;
		q->best_fig = *f;
	}
}

static bool should_step_back(struct quick *q)
{
	const struct figures *f;

	if (!coord_eq(q, &q->to_measure, &q->home))
		return false;
	f = valid_fig(q, &q->to_measure);
	if (!f)
		return true;
	return !objective_passes(q->obj, f) && q->home_has_passed;
}

static void take_step_back(struct quick *q)
{
	struct coord nearest = q->home;
	double min = INFINITY;

	for (size_t i = 0; i < q->n_hood; i++) {
		double d = coord_dist(q, &q->hood[i], &q->best);

		if (d < min) {
			min = d;
			nearest = q->hood[i];
		}
	}
	if (coord_eq(q, &nearest, &q->home))
		q->climb_done = true;
	new_home(q, &nearest, true);
}

static void take_step(struct quick *q)
{
	struct coord c = determine_new_home(q);
	struct coord_data *cd = find_data(q, &c);

	if (coord_eq(q, &c, &q->home))
		q->climb_done = true;
	if (cd && cd->visits >= 2)
		q->climb_done = true;
	new_home(q, &c, false);
}

static void climb_step(struct quick *q)
{
	struct coord c;

	if (should_step_back(q))
		take_step_back(q);
	else if (enough_initialized(q))
		take_step(q);
	else if (pick_to_initialize(q, &c))
		q->to_measure = c;
	else
		q->climb_done = true;
}

/* ---- points --------------------------------------------------------------- */

static uint64_t clamp_concurrency(const struct search_space *sp, uint64_t c)
{
	if (sp->user_concurrency_max && c > sp->max_concurrency)
		c = sp->max_concurrency;
	if (sp->user_concurrency_min && c < sp->min_concurrency)
		c = sp->min_concurrency;
	return c ? c : 1;
}

static void coord_point(const struct quick *q, const struct coord *c,
			struct search_point *out)
{
	int64_t mbs = 1, inst = 1;

	for (int d = 0; d < q->nd; d++) {
		switch (q->kind[d]) {
		case DIM_MBS:
			mbs = (int64_t)1 << c->v[d];
			if (q->sp->user_mbs_max && mbs > q->sp->max_mbs)
				mbs = q->sp->max_mbs;
			if (q->sp->user_mbs_min && mbs < q->sp->min_mbs)
				mbs = q->sp->min_mbs;
			out->max_batch_size = (int32_t)mbs;
			break;
		case DIM_INSTANCES:
			inst = c->v[d] + 1;
			out->instance_count = (int32_t)inst;
			break;
		case DIM_THREADS:
			out->threads = q->sp->threads[c->v[d]];
			break;
		}
	}
	out->concurrency = clamp_concurrency(q->sp, (uint64_t)(2 * mbs * inst));
}

static int log2_ceil(int32_t v)
{
	int i = 0;

	while (((int64_t)1 << i) < v)
		i++;
	return i;
}

static int log2_floor(int32_t v)
{
	int i = 0;

	while (((int64_t)1 << (i + 1)) <= v)
		i++;
	return i;
}

static int quick_start(const struct search_space *sp,
		       const struct objective_set *objectives, void **state,
		       struct it_error *err)
{
	struct quick *q = xcalloc(1, sizeof(*q));
	struct coord start = { { 0 } };

	(void)err;
	q->sp = sp;
	q->obj = objectives;
	if (sp->batching) {
		q->kind[q->nd] = DIM_MBS;
		q->min_idx[q->nd] = sp->user_mbs_min ? log2_ceil(sp->min_mbs) : 0;
		q->max_idx[q->nd] = sp->user_mbs_max ? log2_floor(sp->max_mbs) : QUICK_MAX_MBS_IDX;
		if (q->max_idx[q->nd] < q->min_idx[q->nd])
			q->max_idx[q->nd] = q->min_idx[q->nd];
		q->nd++;
	}
	q->kind[q->nd] = DIM_INSTANCES;
	q->min_idx[q->nd] = sp->user_instances_min ? sp->min_instances - 1 : 0;
	q->max_idx[q->nd] = sp->user_instances_max ? sp->max_instances - 1 :
			    QUICK_MAX_INSTANCES - 1;
	if (q->max_idx[q->nd] < q->min_idx[q->nd])
		q->max_idx[q->nd] = q->min_idx[q->nd];
	q->nd++;
	if (sp->n_threads) {
		q->kind[q->nd] = DIM_THREADS;
		q->min_idx[q->nd] = 0;
		q->max_idx[q->nd] = (int)sp->n_threads - 1;
		q->nd++;
	}
	for (int d = 0; d < q->nd; d++)
		start.v[d] = q->min_idx[d];
	q->home = start;
	q->to_measure = start;
	q->best = start;
	make_hood(q, false);
	q->phase = PH_DEFAULT;
	*state = q;
	return 0;
}

/* Ranks the valid coordinates (best first) and keeps the top_n for the sweep. */
static void plan_sweep(struct quick *q)
{
	size_t n = 0;

	q->sweep = xcalloc(q->n_data ? q->n_data : 1, sizeof(*q->sweep));
	for (size_t i = 0; i < q->n_data; i++) {
		size_t j;

		if (!q->data[i].valid)
			continue;
		j = n++;
		while (j > 0 && objective_better(q->obj,
						 &find_data(q, &q->sweep[j - 1])->fig,
						 &q->data[i].fig)) {
			q->sweep[j] = q->sweep[j - 1];
			j--;
		}
		q->sweep[j] = q->data[i].c;
	}
	q->n_sweep = n < q->sp->top_n ? n : q->sp->top_n;
	q->sweep_i = 0;
}

static bool quick_next(void *state, struct search_point *out)
{
	struct quick *q = state;

	switch (q->phase) {
	case PH_DEFAULT:
		out->is_default = true;
		out->concurrency = clamp_concurrency(q->sp,
			(uint64_t)2 * (uint64_t)(q->sp->default_mbs > 0 ? q->sp->default_mbs : 1) *
			(uint64_t)(q->sp->default_instances > 0 ? q->sp->default_instances : 1));
		return true;
	case PH_CLIMB:
		if (!q->climb_done) {
			coord_point(q, &q->to_measure, out);
			return true;
		}
		plan_sweep(q);
		q->phase = PH_SWEEP;
		/* fall through */
	case PH_SWEEP:
		if (q->sweep_i < q->n_sweep) {
			coord_point(q, &q->sweep[q->sweep_i], out);
			out->concurrency = 0;
			return true;
		}
		if (!q->sweep_default_done) {
			out->is_default = true;
			out->concurrency = 0;
			return true;
		}
		q->phase = PH_DONE;
		return false;
	case PH_DONE:
		break;
	}
	return false;
}

static void quick_feed(void *state, const struct search_outcome *o)
{
	struct quick *q = state;
	struct coord_data *cd;

	switch (q->phase) {
	case PH_DEFAULT:
		q->phase = PH_CLIMB;
		return;
	case PH_CLIMB:
		cd = get_data(q, &q->to_measure);
		cd->measured = true;
		cd->valid = o->measured && o->best;
		if (cd->valid) {
			cd->fig = *o->best;
			update_best(q, &cd->fig);
			if (coord_eq(q, &q->to_measure, &q->home) &&
			    objective_passes(q->obj, &cd->fig))
				q->home_has_passed = true;
		}
		climb_step(q);
		return;
	case PH_SWEEP:
		if (q->sweep_i < q->n_sweep)
			q->sweep_i++;
		else
			q->sweep_default_done = true;
		return;
	case PH_DONE:
		return;
	}
}

static size_t quick_remaining(const void *state)
{
	const struct quick *q = state;
	size_t sweep = q->sp->top_n + 1;

	switch (q->phase) {
	case PH_DEFAULT:
		return 1 + 2 * QUICK_MIN_INITIALIZED + 2 + sweep;
	case PH_CLIMB:
		return (q->climb_done ? 0 : QUICK_MIN_INITIALIZED + 1) + sweep;
	case PH_SWEEP:
		return q->n_sweep - q->sweep_i + !q->sweep_default_done;
	case PH_DONE:
		break;
	}
	return 0;
}

static void quick_free(void *state)
{
	struct quick *q = state;

	if (!q)
		return;
	free(q->data);
	free(q->hood);
	free(q->sweep);
	free(q);
}

const struct search_ops search_quick = {
	.name = "quick",
	.summary = "hill climbing over max_batch_size x instance count, then a concurrency sweep of the best",
	.start = quick_start,
	.next = quick_next,
	.feed = quick_feed,
	.remaining = quick_remaining,
	.free = quick_free,
};
