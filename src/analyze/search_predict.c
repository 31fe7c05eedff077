/*
 * Predictive search (docs/search.md): measure a few levels that show how
 * the model executes, fit the predictor to them (predict/fit: execution
 * time per batch size from the server's batch_stats, how instances share
 * the device, the client's overhead), predict every configuration x
 * concurrency of the space with the server's own batching decisions
 * (predict/des), measure the point predicted best, refit with what it
 * showed, and stop when no point yet unmeasured is predicted, even at the
 * optimistic end of the fit's uncertainty, to beat the best measured.
 *
 * The space is brute's (instances x intra-op threads x max_batch_size)
 * plus, for every max_batch_size above 1, dynamic batching's queue delay
 * (space.queue_delays_us) and, with a delay, a preferred batch size of
 * max_batch_size. The phases:
 *  1. the default configuration over the run's concurrencies;
 *  2. probes: one instance at the largest max_batch_size (batch sizes to
 *     fit execution times to), the most instances at max_batch_size 1 (how
 *     they share the device), and one instance of each other thread count;
 *     each at one concurrency;
 *  3. guided: the predicted best point, one at a time, until the stop rule
 *     or the budget (a twentieth of the space, at least 4).
 * Without batch statistics (a server that does not send them) nothing can
 * be fitted: the search says so and measures brute's configurations at
 * the run's concurrencies instead.
 */
#include "analyze/search_predict.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/objective.h"
#include "analyze/variant.h"
#include "model/config.h"
#include "predict/fit.h"
#include "store/store.h"
#include "util/error.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define PRED_MIN_BUDGET 4
#define PRED_SPACE_SHARE 20             /* guided points: at most 1/20 of the space */
#define PRED_REQUESTS 5000              /* simulated requests per predicted point */
#define PRED_MAX_PROBES 8

static const uint32_t default_delays_us[] = { 0, 1000, 10000 };

/* One configuration of the space. */
struct pconf {
	int32_t instances, threads, mbs, preferred;
	uint32_t delay_us;
};

/* An observation with the arrays it owns. */
struct pobs {
	struct predict_obs o;
	int32_t preferred[1];
	struct predict_batch *batches;
	int64_t measurement_id;
};

enum phase { PH_DEFAULT, PH_PROBE, PH_GUIDED, PH_FALLBACK, PH_DONE };

struct pred {
	const struct search_space *sp;
	const struct objective_set *obj;
	struct pconf *confs;
	size_t n_confs;
	uint64_t *loads;
	size_t n_loads;
	unsigned char *measured;        /* [conf * n_loads + load] */
	struct pobs *obs;
	size_t n_obs;
	int64_t max_batch;

	enum phase phase;
	struct search_point probes[PRED_MAX_PROBES];
	size_t n_probes, probe_i;
	size_t guided, budget;
	size_t fallback_i;

	bool has_best;
	struct figures best;

	struct predict_fit *fit;
	bool fit_stale;
	bool has_pick;                  /* the guided point proposed last and its prediction */
	size_t pick_conf, pick_load;
	struct search_prediction pick;
	char note[1200];
};

/* ---- the space -------------------------------------------------------------- */

static void conf_add(struct pred *p, int32_t inst, int32_t threads, int32_t mbs,
		     uint32_t delay, int32_t preferred)
{
	p->confs = xreallocarray(p->confs, p->n_confs + 1, sizeof(*p->confs));
	p->confs[p->n_confs++] = (struct pconf){ inst, threads, mbs, preferred, delay };
}

static void space_build(struct pred *p)
{
	const struct search_space *sp = p->sp;
	const uint32_t *delays = sp->n_queue_delays ? sp->queue_delays_us : default_delays_us;
	size_t n_delays = sp->n_queue_delays ? sp->n_queue_delays :
			  sizeof(default_delays_us) / sizeof(default_delays_us[0]);
	size_t n_threads = sp->n_threads ? sp->n_threads : 1;

	for (int32_t inst = sp->min_instances; inst <= sp->max_instances; inst++) {
		for (size_t t = 0; t < n_threads; t++) {
			int32_t th = sp->n_threads ? sp->threads[t] : 0;

			if (sp->max_cpu_threads && th && (int64_t)inst * th > sp->max_cpu_threads)
				continue;
			if (!sp->batching) {
				conf_add(p, inst, th, 0, 0, 0);
				continue;
			}
			for (int64_t mbs = sp->min_mbs; mbs <= sp->max_mbs; mbs *= 2) {
				for (size_t d = 0; d < (mbs > 1 ? n_delays : 1); d++) {
					uint32_t delay = mbs > 1 ? delays[d] : 0;

					conf_add(p, inst, th, (int32_t)mbs, delay, 0);
					if (delay)
						conf_add(p, inst, th, (int32_t)mbs, delay, (int32_t)mbs);
				}
			}
		}
	}
	if (sp->n_concurrencies) {
		p->loads = xcalloc(sp->n_concurrencies, sizeof(*p->loads));
		memcpy(p->loads, sp->concurrencies, sp->n_concurrencies * sizeof(*p->loads));
		p->n_loads = sp->n_concurrencies;
	} else {
		for (uint64_t c = sp->min_concurrency; c && c <= sp->max_concurrency; c *= 2) {
			p->loads = xreallocarray(p->loads, p->n_loads + 1, sizeof(*p->loads));
			p->loads[p->n_loads++] = c;
		}
	}
	p->measured = xcalloc(p->n_confs * p->n_loads + 1, 1);
	p->max_batch = sp->batching ? sp->max_mbs : 1;
	p->budget = p->n_confs * p->n_loads / PRED_SPACE_SHARE;
	if (p->budget < PRED_MIN_BUDGET)
		p->budget = PRED_MIN_BUDGET;
}

static void point_of(const struct pred *p, const struct pconf *c, uint64_t load,
		     struct search_point *out)
{
	memset(out, 0, sizeof(*out));
	out->manual = -1;
	out->instance_count = c->instances;
	out->threads = c->threads;
	if (p->sp->batching) {
		out->max_batch_size = c->mbs;
		out->queue_delay_us = c->delay_us;
		out->preferred_batch_size = c->preferred;
	}
	out->concurrency = load;
}

static uint64_t clamp_load(const struct pred *p, uint64_t c)
{
	uint64_t lo = p->loads[0], hi = p->loads[p->n_loads - 1];

	return c < lo ? lo : c > hi ? hi : c;
}

/* The probes of phase 2 (docs/search.md). */
static void probes_plan(struct pred *p)
{
	const struct search_space *sp = p->sp;
	int32_t th0 = sp->n_threads ? sp->threads[0] : 0;
	struct pconf c;

	if (sp->batching && sp->max_mbs > 1) {
		c = (struct pconf){ 1, th0, sp->max_mbs, 0, 0 };
		point_of(p, &c, clamp_load(p, (uint64_t)sp->max_mbs), &p->probes[p->n_probes++]);
	}
	if (sp->max_instances > 1) {
		int32_t inst = sp->max_instances;

		if (sp->max_cpu_threads && th0 && (int64_t)inst * th0 > sp->max_cpu_threads)
			inst = sp->max_cpu_threads / th0 > 1 ? sp->max_cpu_threads / th0 : 1;
		c = (struct pconf){ inst, th0, sp->batching ? sp->min_mbs : 0, 0, 0 };
		if (inst > 1)
			point_of(p, &c, clamp_load(p, (uint64_t)inst * 2), &p->probes[p->n_probes++]);
	}
	for (size_t t = 1; t < sp->n_threads && p->n_probes < PRED_MAX_PROBES; t++) {
		c = (struct pconf){ 1, sp->threads[t], sp->batching ? sp->min_mbs : 0, 0, 0 };
		point_of(p, &c, clamp_load(p, 1), &p->probes[p->n_probes++]);
	}
}

/* ---- observations ------------------------------------------------------------- */

static int32_t config_threads(const struct model_config *cfg)
{
	const char *v = model_config_parameter(cfg, "INTRA_OP_THREAD_COUNT");

	return v ? (int32_t)strtol(v, NULL, 10) : 0;
}

static bool obs_known(const struct pred *p, int64_t id)
{
	for (size_t i = 0; i < p->n_obs; i++)
		if (p->obs[i].measurement_id == id)
			return true;
	return false;
}

/* Every valid sweep measurement of the outcome becomes an observation. */
static void obs_add(struct pred *p, const struct search_outcome *o)
{
	const struct model_config *cfg = o->config;
	int32_t threads;

	if (!cfg)
		return;
	threads = p->sp->n_threads ? config_threads(cfg) : 0;
	for (size_t i = 0; i < o->n_ms; i++) {
		const struct store_measurement *m = &o->ms[i];
		const struct figures *f = &m->fig;
		struct pobs *po;

		if (!measurement_valid(m) || m->phase != PHASE_SWEEP ||
		    m->load_kind != LOAD_CONCURRENCY || obs_known(p, m->id) ||
		    !figures_has(f, FIG_THROUGHPUT))
			continue;
		p->obs = xreallocarray(p->obs, p->n_obs + 1, sizeof(*p->obs));
		po = &p->obs[p->n_obs++];
		memset(po, 0, sizeof(*po));
		po->measurement_id = m->id;
		po->o.config.instances = variant_instance_count(cfg);
		po->o.config.max_batch_size = cfg->max_batch_size > 0 ? cfg->max_batch_size : 0;
		po->o.config.dynamic_batching = cfg->has_dynamic_batching &&
						cfg->max_batch_size > 0;
		po->o.config.max_queue_delay_us = cfg->dynamic_batching.max_queue_delay_us;
		if (cfg->dynamic_batching.n_preferred_batch_size) {
			/* Fits use the largest preferred size; the space has one at most. */
			for (size_t k = 0; k < cfg->dynamic_batching.n_preferred_batch_size; k++)
				if (cfg->dynamic_batching.preferred_batch_size[k] > po->preferred[0])
					po->preferred[0] = cfg->dynamic_batching.preferred_batch_size[k];
			po->o.config.n_preferred = 1;
		}
		po->o.threads = threads;
		po->o.load = (struct des_load){ DES_CONCURRENCY, m->load_value, false,
						m->batch_size };
		po->o.throughput = f->v[FIG_THROUGHPUT];
		po->o.latency_avg_us = figures_has(f, FIG_LATENCY_AVG) ?
				       f->v[FIG_LATENCY_AVG] * 1e3 : NAN;
		po->o.server_us = figures_has(f, FIG_SERVER_QUEUE) &&
				  figures_has(f, FIG_SERVER_COMPUTE_INFER) ?
				  (f->v[FIG_SERVER_QUEUE] + f->v[FIG_SERVER_COMPUTE_INPUT] +
				   f->v[FIG_SERVER_COMPUTE_INFER] + f->v[FIG_SERVER_COMPUTE_OUTPUT]) * 1e3 :
				  NAN;
		po->batches = xcalloc(m->n_batch_stats + 1, sizeof(*po->batches));
		for (size_t k = 0; k < m->n_batch_stats; k++) {
			const struct store_batch_stat *b = &m->batch_stats[k];

			po->batches[k] = (struct predict_batch){
				b->batch_size, b->execution_count,
				(double)(b->compute_input_ns + b->compute_infer_ns + b->compute_output_ns)
			};
		}
		po->o.n_batches = m->n_batch_stats;
		p->fit_stale = true;
	}
}

/* The observations as the fit reads them (pointers into p->obs refreshed). */
static struct predict_obs *obs_view(struct pred *p)
{
	struct predict_obs *v = xcalloc(p->n_obs + 1, sizeof(*v));

	for (size_t i = 0; i < p->n_obs; i++) {
		v[i] = p->obs[i].o;
		v[i].config.preferred = p->obs[i].preferred;
		v[i].batches = p->obs[i].batches;
	}
	return v;
}

/* Marks every point of the space that an observation measured. */
static void mark_measured(struct pred *p)
{
	for (size_t i = 0; i < p->n_obs; i++) {
		const struct predict_obs *ob = &p->obs[i].o;

		for (size_t c = 0; c < p->n_confs; c++) {
			const struct pconf *pc = &p->confs[c];

			if (pc->instances != ob->config.instances || pc->threads != ob->threads ||
			    (p->sp->batching && (pc->mbs != ob->config.max_batch_size ||
						 pc->delay_us != ob->config.max_queue_delay_us ||
						 pc->preferred != (ob->config.n_preferred ?
								   p->obs[i].preferred[0] : 0))))
				continue;
			for (size_t l = 0; l < p->n_loads; l++)
				if ((double)p->loads[l] == ob->load.value)
					p->measured[c * p->n_loads + l] = 1;
		}
	}
}

/* ---- predicting ----------------------------------------------------------------- */

static void figures_of(const struct des_result *r, struct figures *f)
{
	memset(f, 0, sizeof(*f));
	figures_set(f, FIG_THROUGHPUT, r->throughput);
	figures_set(f, FIG_LATENCY_AVG, r->latency_avg_us / 1e3);
	figures_set(f, FIG_LATENCY_P50, r->p50_us / 1e3);
	figures_set(f, FIG_LATENCY_P90, r->p90_us / 1e3);
	figures_set(f, FIG_LATENCY_P95, r->p95_us / 1e3);
	figures_set(f, FIG_LATENCY_P99, r->p99_us / 1e3);
	figures_set(f, FIG_SERVER_QUEUE, r->queue_avg_us / 1e3);
	figures_set(f, FIG_SERVER_COMPUTE_INFER, r->compute_avg_us / 1e3);
	figures_set(f, FIG_SERVER_AVG_BATCH, r->avg_batch);
}

/* f at the favourable end of a relative uncertainty u: more throughput, less latency. */
static void optimistic(const struct figures *f, double u, struct figures *out)
{
	*out = *f;
	for (int i = 0; i < FIG_COUNT; i++) {
		if (!figures_has(f, (enum figure)i))
			continue;
		if (i == FIG_THROUGHPUT)
			out->v[i] = f->v[i] * (1 + u);
		else if (i >= FIG_LATENCY_AVG && i <= FIG_LATENCY_P99)
			out->v[i] = f->v[i] * (1 - u);
	}
}

static bool predict_point(const struct pred *p, size_t c, size_t l, struct figures *f)
{
	const struct pconf *pc = &p->confs[c];
	int32_t pref = pc->preferred;
	struct des_config dc = {
		.instances = pc->instances,
		.max_batch_size = p->sp->batching ? pc->mbs : 0,
		.dynamic_batching = p->sp->batching,
		.preferred = pref ? &pref : NULL,
		.n_preferred = pref ? 1 : 0,
		.max_queue_delay_us = pc->delay_us,
	};
	struct des_load dl = { DES_CONCURRENCY, (double)p->loads[l], false, 1 };
	struct predict_result r;

	if (predict_run(p->fit, &dc, pc->threads, &dl, PRED_REQUESTS, &r, NULL))
		return false;
	figures_of(&r.des, f);
	return true;
}

/* Refits when observations came in; IT_ERR_INVALID when nothing can be fitted. */
static int refit_or_error(struct pred *p, struct it_error *err)
{
	struct predict_obs *v;
	int rc;

	if (p->fit && !p->fit_stale)
		return 0;
	v = obs_view(p);
	predict_fit_free(p->fit);
	p->fit = NULL;
	rc = predict_fit_new(v, p->n_obs, p->max_batch, &p->fit, err);
	free(v);
	p->fit_stale = false;
	return rc;
}

/* refit_or_error() for the search: false, with a note for the user, when nothing can be fitted. */
static bool refit(struct pred *p)
{
	struct it_error err = { 0 };

	if (!refit_or_error(p, &err))
		return true;
	snprintf(p->note, sizeof(p->note), "predictive search: %s; measuring brute "
		 "search's configurations instead", err.message);
	return false;
}

/*
 * The unmeasured point predicted best among those whose optimistic
 * prediction beats the best measured (passing the constraints as it
 * would); false when there is none.
 */
static bool pick_next(struct pred *p)
{
	double u = predict_fit_uncertainty(p->fit);
	bool found = false;
	struct figures best_pred;

	for (size_t c = 0; c < p->n_confs; c++) {
		for (size_t l = 0; l < p->n_loads; l++) {
			struct figures f, opt;

			if (p->measured[c * p->n_loads + l] || !predict_point(p, c, l, &f))
				continue;
			optimistic(&f, u, &opt);
			if (p->has_best && !objective_better(p->obj, &p->best, &opt))
				continue;
			if (found && !objective_better(p->obj, &best_pred, &f))
				continue;
			found = true;
			best_pred = f;
			p->pick_conf = c;
			p->pick_load = l;
		}
	}
	if (found) {
		p->pick.fig = best_pred;
		p->pick.rel_uncertainty = u;
		predict_fit_describe(p->fit, p->pick.model, sizeof(p->pick.model));
	}
	return found;
}

/* ---- the strategy ----------------------------------------------------------------- */

static void predictive_free(void *state);

static int predictive_start(const struct search_space *space,
			    const struct objective_set *objectives, void **state,
			    struct it_error *err)
{
	struct pred *p;

	if (space->n_manual)
		return it_error_set(err, IT_ERR_INVALID,
				    "the predictive search does not take model_config_parameters; "
				    "use the manual (brute) search for them");
	/*
	 * Its fit reads closed-loop levels and it proposes concurrencies: with
	 * request rates it would answer another question than the one asked,
	 * and rank concurrency levels against rate levels.
	 */
	if (space->request_rates)
		return it_error_set(err, IT_ERR_INVALID,
				    "the predictive search measures concurrency levels and cannot "
				    "search request rates; use --concurrency, or brute search for "
				    "--request-rate");
	p = xcalloc(1, sizeof(*p));
	p->sp = space;
	p->obj = objectives;
	space_build(p);
	if (!p->n_loads || !p->n_confs) {
		const char *what = p->n_loads ? "configuration" : "concurrency";

		predictive_free(p);
		return it_error_set(err, IT_ERR_INVALID, "the predictive search has no %s to search",
				    what);
	}
	probes_plan(p);
	*state = p;
	return 0;
}

static bool fallback_next(struct pred *p, struct search_point *out)
{
	while (p->fallback_i < p->n_confs) {
		const struct pconf *c = &p->confs[p->fallback_i];

		if (!c->delay_us) {
			point_of(p, c, 0, out);
			return true;
		}
		p->fallback_i++;
	}
	p->phase = PH_DONE;
	return false;
}

static bool predictive_next(void *state, struct search_point *out)
{
	struct pred *p = state;

	p->has_pick = false;
	p->note[0] = '\0';
	switch (p->phase) {
	case PH_DEFAULT:
		memset(out, 0, sizeof(*out));
		out->is_default = true;
		out->manual = -1;
		return true;
	case PH_PROBE:
		if (p->probe_i < p->n_probes) {
			*out = p->probes[p->probe_i];
			return true;
		}
		p->phase = PH_GUIDED;
		/* fall through */
	case PH_GUIDED:
		if (!refit(p)) {
			p->phase = PH_FALLBACK;
			return fallback_next(p, out);
		}
		if (p->guided >= p->budget || !pick_next(p)) {
			p->phase = PH_DONE;
			return false;
		}
		p->has_pick = true;
		point_of(p, &p->confs[p->pick_conf], p->loads[p->pick_load], out);
		return true;
	case PH_FALLBACK:
		return fallback_next(p, out);
	case PH_DONE:
		break;
	}
	return false;
}

static void predictive_feed(void *state, const struct search_outcome *o)
{
	struct pred *p = state;

	obs_add(p, o);
	mark_measured(p);
	if (o->measured && o->best &&
	    (!p->has_best || objective_better(p->obj, &p->best, o->best))) {
		p->best = *o->best;
		p->has_best = true;
	}
	switch (p->phase) {
	case PH_DEFAULT:
		p->phase = PH_PROBE;
		break;
	case PH_PROBE:
		p->probe_i++;
		break;
	case PH_GUIDED:
		p->guided++;
		p->measured[p->pick_conf * p->n_loads + p->pick_load] = 1;
		break;
	case PH_FALLBACK:
		p->fallback_i++;
		break;
	case PH_DONE:
		break;
	}
}

static size_t predictive_remaining(const void *state)
{
	const struct pred *p = state;

	switch (p->phase) {
	case PH_DEFAULT:
		return 1 + p->n_probes + p->budget;
	case PH_PROBE:
		return p->n_probes - p->probe_i + p->budget;
	case PH_GUIDED:
		return p->budget - p->guided;
	case PH_FALLBACK:
		return p->n_confs - p->fallback_i;
	case PH_DONE:
		break;
	}
	return 0;
}

static bool predictive_prediction(const void *state, struct search_prediction *out)
{
	const struct pred *p = state;

	if (!p->has_pick)
		return false;
	*out = p->pick;
	return true;
}

static const char *predictive_note(const void *state)
{
	const struct pred *p = state;

	return p->note;
}

static void predictive_free(void *state)
{
	struct pred *p = state;

	if (!p)
		return;
	for (size_t i = 0; i < p->n_obs; i++)
		free(p->obs[i].batches);
	free(p->obs);
	free(p->confs);
	free(p->loads);
	free(p->measured);
	predict_fit_free(p->fit);
	free(p);
}

const struct search_ops search_predictive = {
	.name = "predictive",
	.summary = "fit a model of the server to a few measurements, predict every configuration "
		   "(dynamic batching's delay and preferred size included) and measure only what "
		   "the prediction cannot settle",
	.start = predictive_start,
	.next = predictive_next,
	.feed = predictive_feed,
	.remaining = predictive_remaining,
	.free = predictive_free,
	.prediction = predictive_prediction,
	.note = predictive_note,
};

/* ---- the replay (search_predict.h) ------------------------------------------------ */

struct predictive_replay {
	struct pred *p;
};

int predictive_replay_new(const struct search_space *space, struct predictive_replay **out,
			  struct it_error *err)
{
	void *state = NULL;
	struct predictive_replay *r;
	int rc;

	/* The objectives only steer pick_next() and feed(), which a replay never calls. */
	rc = predictive_start(space, NULL, &state, err);
	if (rc)
		return rc;
	r = xcalloc(1, sizeof(*r));
	r->p = state;
	*out = r;
	return 0;
}

void predictive_replay_observe(struct predictive_replay *r, const struct model_config *cfg,
			       const struct store_measurement *ms, size_t n)
{
	struct search_outcome o = { .measured = true, .config = cfg, .ms = ms, .n_ms = n };

	obs_add(r->p, &o);
}

size_t predictive_replay_points(const struct predictive_replay *r)
{
	return r->p->n_confs * r->p->n_loads;
}

size_t predictive_replay_configs(const struct predictive_replay *r)
{
	return r->p->n_confs;
}

int predictive_replay_predict(struct predictive_replay *r, size_t i, struct search_point *pt,
			      struct figures *fig, double *rel_uncertainty, struct it_error *err)
{
	struct pred *p = r->p;
	size_t c, l;
	int rc;

	if (i >= p->n_confs * p->n_loads)
		return it_error_set(err, IT_ERR_INVALID, "point %zu is outside the space (%zu points)",
				    i, p->n_confs * p->n_loads);
	rc = refit_or_error(p, err);
	if (rc)
		return rc;
	c = i / p->n_loads;
	l = i % p->n_loads;
	if (!predict_point(p, c, l, fig))
		return it_error_set(err, IT_ERR_INVALID, "the simulation refused point %zu", i);
	point_of(p, &p->confs[c], p->loads[l], pt);
	*rel_uncertainty = predict_fit_uncertainty(p->fit);
	return 0;
}

void predictive_replay_describe(const struct predictive_replay *r, char *buf, size_t size)
{
	if (!size)
		return;
	buf[0] = '\0';
	if (r->p->fit)
		predict_fit_describe(r->p->fit, buf, size);
}

void predictive_replay_free(struct predictive_replay *r)
{
	if (!r)
		return;
	predictive_free(r->p);
	free(r);
}
