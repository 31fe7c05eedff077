/*
 * Brute-force search, automatic and manual (Model Analyzer's brute run
 * config generator with its automatic and manual model config generators):
 * the default first; then automatic walks instance count (outer), the
 * intra-op thread count where it is a dimension, and max_batch_size
 * 1, 2, 4 .. (inner, dynamic batching on), while manual walks the cross
 * product of model_config_parameters with its max_batch_size list as the
 * inner loop. The inner loop stops at Model Analyzer's plateau: when the
 * newest configuration's best throughput is not strictly above every
 * earlier one of the loop, or when it has no measurement at all.
 */
#include "analyze/search.h"

#include <stdlib.h>
#include <string.h>

#include "util/error.h"
#include "util/xalloc.h"
#include "util/banned.h"

/* The max_batch_size loop's memory: best throughputs seen so far. */
struct plateau {
	double *tp;
	size_t n, alloc;
};

/*
 * Records an outcome; returns true when the inner loop must stop
 * (base_model_config_generator.py _last_results_erroneous /
 * _last_results_increased_throughput).
 */
static bool plateau_feed(struct plateau *p, const struct search_outcome *o)
{
	double last;

	if (!o->measured)
		return true;
	XGROW(p->tp, p->alloc, p->n + 1);
	p->tp[p->n++] = o->max_throughput;
	if (p->n < 2)
		return false;
	last = p->tp[p->n - 1];
	for (size_t i = 0; i + 1 < p->n; i++) {
		if (!(last > p->tp[i]))
			return true;
	}
	return false;
}

static void plateau_reset(struct plateau *p)
{
	p->n = 0;
}

/* ---- automatic ------------------------------------------------------------ */

struct brute {
	const struct search_space *sp;
	bool default_done;
	bool done;
	int32_t inst;           /* current instance count */
	size_t ti;              /* current thread index (0 when not a dimension) */
	int32_t mbs;            /* current max_batch_size */
	struct plateau pl;
};

static int brute_start(const struct search_space *space,
		       const struct objective_set *objectives, void **state,
		       struct it_error *err)
{
	struct brute *b = xcalloc(1, sizeof(*b));

	(void)objectives;
	(void)err;
	b->sp = space;
	b->inst = space->min_instances;
	b->mbs = space->min_mbs;
	*state = b;
	return 0;
}

static bool brute_next(void *state, struct search_point *out)
{
	struct brute *b = state;

	if (!b->default_done) {
		out->is_default = true;
		return true;
	}
	if (b->done)
		return false;
	out->instance_count = b->inst;
	if (b->sp->n_threads)
		out->threads = b->sp->threads[b->ti];
	if (b->sp->batching)
		out->max_batch_size = b->mbs;
	return true;
}

/* Moves to the next (instances, threads) pair, or ends the search. */
static void brute_next_group(struct brute *b)
{
	plateau_reset(&b->pl);
	b->mbs = b->sp->min_mbs;
	if (b->sp->n_threads && b->ti + 1 < b->sp->n_threads) {
		b->ti++;
		return;
	}
	b->ti = 0;
	if (b->inst >= b->sp->max_instances)
		b->done = true;
	else
		b->inst++;
}

static void brute_feed(void *state, const struct search_outcome *o)
{
	struct brute *b = state;
	bool stop;

	if (!b->default_done) {
		b->default_done = true;
		return;
	}
	if (!b->sp->batching) {
		brute_next_group(b);
		return;
	}
	stop = plateau_feed(&b->pl, o);
	if (!stop && (int64_t)b->mbs * 2 > b->sp->max_mbs)
		stop = true;
	if (stop)
		brute_next_group(b);
	else
		b->mbs *= 2;
}

static size_t count_doublings(int32_t from, int32_t to)
{
	size_t n = 0;

	for (int64_t v = from; v <= to; v *= 2)
		n++;
	return n;
}

static size_t brute_remaining(const void *state)
{
	const struct brute *b = state;
	size_t per_group, groups, threads = b->sp->n_threads ? b->sp->n_threads : 1;
	size_t left_here;

	if (!b->default_done)
		return 1 + (size_t)(b->sp->max_instances - b->sp->min_instances + 1) * threads *
		       (b->sp->batching ? count_doublings(b->sp->min_mbs, b->sp->max_mbs) : 1);
	if (b->done)
		return 0;
	per_group = b->sp->batching ? count_doublings(b->sp->min_mbs, b->sp->max_mbs) : 1;
	left_here = b->sp->batching ? count_doublings(b->mbs, b->sp->max_mbs) : 1;
	groups = (size_t)(b->sp->max_instances - b->inst) * threads + (threads - 1 - b->ti);
	return left_here + groups * per_group;
}

static void brute_free(void *state)
{
	struct brute *b = state;

	if (!b)
		return;
	free(b->pl.tp);
	free(b);
}

const struct search_ops search_brute = {
	.name = "brute",
	.summary = "every instance count x max_batch_size (1, 2, 4 ..) until throughput plateaus",
	.start = brute_start,
	.next = brute_next,
	.feed = brute_feed,
	.remaining = brute_remaining,
	.free = brute_free,
};

/* ---- manual --------------------------------------------------------------- */

struct manual {
	const struct search_space *sp;
	bool default_done;
	bool done;
	size_t ci;              /* combination */
	size_t mi;              /* max_batch_size index */
	size_t n_combos;        /* at least 1 when there is a max_batch_size list */
	struct plateau pl;
};

static int manual_start(const struct search_space *space,
			const struct objective_set *objectives, void **state,
			struct it_error *err)
{
	struct manual *m = xcalloc(1, sizeof(*m));

	(void)objectives;
	(void)err;
	m->sp = space;
	m->n_combos = space->n_manual;
	if (!m->n_combos && space->n_manual_mbs)
		m->n_combos = 1;        /* only max_batch_size is swept */
	m->done = m->n_combos == 0;
	*state = m;
	return 0;
}

static bool manual_next(void *state, struct search_point *out)
{
	struct manual *m = state;

	if (!m->default_done) {
		out->is_default = true;
		return true;
	}
	if (m->done)
		return false;
	out->manual = m->sp->n_manual ? (long)m->ci : -1;
	if (m->sp->n_manual_mbs)
		out->max_batch_size = m->sp->manual_mbs[m->mi];
	return true;
}

static void manual_next_combo(struct manual *m)
{
	plateau_reset(&m->pl);
	m->mi = 0;
	if (++m->ci >= m->n_combos)
		m->done = true;
}

static void manual_feed(void *state, const struct search_outcome *o)
{
	struct manual *m = state;
	bool stop;

	if (!m->default_done) {
		m->default_done = true;
		return;
	}
	if (!m->sp->n_manual_mbs) {
		manual_next_combo(m);
		return;
	}
	/* Model Analyzer applies the plateau rule to manual lists only with --early-exit-enable. */
	stop = plateau_feed(&m->pl, o) && m->sp->early_exit;
	if (!stop && m->mi + 1 >= m->sp->n_manual_mbs)
		stop = true;
	if (stop)
		manual_next_combo(m);
	else
		m->mi++;
}

static size_t manual_remaining(const void *state)
{
	const struct manual *m = state;
	size_t per = m->sp->n_manual_mbs ? m->sp->n_manual_mbs : 1;

	if (!m->default_done)
		return 1 + m->n_combos * per;
	if (m->done)
		return 0;
	return (per - m->mi) + (m->n_combos - m->ci - 1) * per;
}

static void manual_free(void *state)
{
	struct manual *m = state;

	if (!m)
		return;
	free(m->pl.tp);
	free(m);
}

const struct search_ops search_manual = {
	.name = "manual",
	.summary = "the cross product of model_config_parameters",
	.start = manual_start,
	.next = manual_next,
	.feed = manual_feed,
	.remaining = manual_remaining,
	.free = manual_free,
};
