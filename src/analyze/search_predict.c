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
 * (space.queue_delays_us) and, with a delay and a max_batch_size of 4 or
 * more, a preferred batch size of half max_batch_size. Not a preferred
 * size of max_batch_size: Triton gives every dynamic batcher without
 * preferred sizes exactly that one (model_config_utils.cc normalizes it,
 * server/batch_policy does the same), so it would be the same
 * configuration twice. The phases:
 *  1. the default configuration over the run's concurrencies;
 *  2. probes: one instance at the largest max_batch_size (batch sizes to
 *     fit execution times to), the most instances at max_batch_size 1 (how
 *     they share the device), and one instance of each other thread count;
 *     each at one concurrency;
 *  3. guided: the predicted best point, one at a time, until the stop rule
 *     or the budget (a twentieth of the space, the default's levels and
 *     the probes included; at least 4 guided points).
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
#include "analyze/observe.h"
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
#define PRED_SCREEN_REQUESTS 1000       /* ... when screening the whole space */
#define PRED_SHORTLIST 16               /* points simulated again at full length */
#define PRED_MAX_PROBES 8

static const uint32_t default_delays_us[] = { 0, 1000, 10000 };

/* One configuration of the space. */
struct pconf {
	int32_t instances, threads, mbs, preferred;
	uint32_t delay_us;
};

enum phase { PH_DEFAULT, PH_PROBE, PH_GUIDED, PH_FALLBACK, PH_DONE };

struct pred {
	const struct search_space *sp;
	const struct objective_set *obj;
	struct pconf *confs;
	size_t n_confs;
	double *loads;                  /* clients, or requests/s with rates */
	size_t n_loads;
	bool rates;                     /* the run's loads are request rates */
	unsigned char *measured;        /* [conf * n_loads + load] */
	struct observation *obs;
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
	bool has_pick;                  /* a prediction for the point proposed last (probe or guided) */
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
					if (delay && mbs >= 4)
						conf_add(p, inst, th, (int32_t)mbs, delay,
							 (int32_t)(mbs / 2));
				}
			}
		}
	}
	if (sp->n_request_rates) {
		p->rates = true;
		p->loads = xcalloc(sp->n_request_rates, sizeof(*p->loads));
		memcpy(p->loads, sp->request_rates, sp->n_request_rates * sizeof(*p->loads));
		p->n_loads = sp->n_request_rates;
	} else if (sp->n_concurrencies) {
		p->loads = xcalloc(sp->n_concurrencies, sizeof(*p->loads));
		for (size_t i = 0; i < sp->n_concurrencies; i++)
			p->loads[i] = (double)sp->concurrencies[i];
		p->n_loads = sp->n_concurrencies;
	} else {
		for (uint64_t c = sp->min_concurrency; c && c <= sp->max_concurrency; c *= 2) {
			p->loads = xreallocarray(p->loads, p->n_loads + 1, sizeof(*p->loads));
			p->loads[p->n_loads++] = (double)c;
		}
	}
	p->measured = xcalloc(p->n_confs * p->n_loads + 1, 1);
	p->max_batch = sp->batching ? sp->max_mbs : 1;
}

/*
 * The guided points: what is left of a twentieth of the space after the
 * default's sweep and the probes (they count: every level measured is a
 * point), at least PRED_MIN_BUDGET.
 */
static void budget_plan(struct pred *p)
{
	size_t share = p->n_confs * p->n_loads / PRED_SPACE_SHARE;
	size_t fixed = p->n_loads + p->n_probes;

	p->budget = share > fixed + PRED_MIN_BUDGET ? share - fixed : PRED_MIN_BUDGET;
}

/* Configuration c measured at one load (0: the run's sweep). */
static void point_of(const struct pred *p, const struct pconf *c, double load,
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
	if (p->rates)
		out->request_rate = load;
	else
		out->concurrency = (uint64_t)load;
}

/*
 * The load of a probe that wants c clients busy: c clamped to the run's
 * concurrencies; with request rates, the highest rate (the one that keeps
 * the most requests in the server).
 */
static double probe_load(const struct pred *p, uint64_t c)
{
	double lo = p->loads[0], hi = p->loads[0];

	for (size_t i = 1; i < p->n_loads; i++) {
		lo = p->loads[i] < lo ? p->loads[i] : lo;
		hi = p->loads[i] > hi ? p->loads[i] : hi;
	}
	if (p->rates)
		return hi;
	return (double)c < lo ? lo : (double)c > hi ? hi : (double)c;
}

/* The probes of phase 2 (docs/search.md). */
static void probes_plan(struct pred *p)
{
	const struct search_space *sp = p->sp;
	int32_t th0 = sp->n_threads ? sp->threads[0] : 0;
	struct pconf c;

	if (sp->batching && sp->max_mbs > 1) {
		c = (struct pconf){ 1, th0, sp->max_mbs, 0, 0 };
		point_of(p, &c, probe_load(p, (uint64_t)sp->max_mbs), &p->probes[p->n_probes++]);
	}
	if (sp->max_instances > 1) {
		int32_t inst = sp->max_instances;

		if (sp->max_cpu_threads && th0 && (int64_t)inst * th0 > sp->max_cpu_threads)
			inst = sp->max_cpu_threads / th0 > 1 ? sp->max_cpu_threads / th0 : 1;
		c = (struct pconf){ inst, th0, sp->batching ? sp->min_mbs : 0, 0, 0 };
		if (inst > 1)
			point_of(p, &c, probe_load(p, (uint64_t)inst * 2), &p->probes[p->n_probes++]);
	}
	for (size_t t = 1; t < sp->n_threads && p->n_probes < PRED_MAX_PROBES; t++) {
		c = (struct pconf){ 1, sp->threads[t], sp->batching ? sp->min_mbs : 0, 0, 0 };
		point_of(p, &c, probe_load(p, 1), &p->probes[p->n_probes++]);
	}
}

/* ---- observations ------------------------------------------------------------- */

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
	if (!o->config)
		return;
	for (size_t i = 0; i < o->n_ms; i++) {
		struct observation ob;

		if (obs_known(p, o->ms[i].id) ||
		    !observation_from(o->config, p->sp->n_threads > 0, &o->ms[i], &ob))
			continue;
		p->obs = xreallocarray(p->obs, p->n_obs + 1, sizeof(*p->obs));
		p->obs[p->n_obs++] = ob;
		p->fit_stale = true;
	}
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
						 pc->preferred != p->obs[i].preferred)))
				continue;
			for (size_t l = 0; l < p->n_loads; l++)
				if (ob->load.kind == (p->rates ? DES_REQUEST_RATE : DES_CONCURRENCY) &&
				    p->loads[l] == ob->load.value)
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

/*
 * The prediction for configuration pc under `load` (clients, or requests/s
 * with rates), from `requests` simulated requests.
 */
static bool predict_conf(const struct pred *p, const struct pconf *pc, double load,
			 size_t requests, struct figures *f)
{
	int32_t pref = pc->preferred;
	struct des_config dc = {
		.instances = pc->instances,
		.max_batch_size = p->sp->batching ? pc->mbs : 0,
		.dynamic_batching = p->sp->batching,
		.preferred = pref ? &pref : NULL,
		.n_preferred = pref ? 1 : 0,
		.max_queue_delay_us = pc->delay_us,
	};
	struct des_load dl = { p->rates ? DES_REQUEST_RATE : DES_CONCURRENCY, load, false, 1 };
	struct predict_result r;

	if (predict_run(p->fit, &dc, pc->threads, &dl, requests, &r, NULL))
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
	v = observations_view(p->obs, p->n_obs);
	predict_fit_free(p->fit);
	p->fit = NULL;
	rc = predict_fit_new(v, p->n_obs, p->max_batch, &p->fit, err);
	free(v);
	p->fit_stale = false;
	return rc;
}

/*
 * refit_or_error() for the search: false when nothing can be fitted, with
 * a note for the user unless quiet.
 */
static bool refit(struct pred *p, bool quiet)
{
	struct it_error err = { 0 };

	if (!refit_or_error(p, &err))
		return true;
	if (!quiet)
		snprintf(p->note, sizeof(p->note), "predictive search: %s; measuring brute "
			 "search's configurations instead", err.message);
	return false;
}

/* A point of the space and its prediction (pick_next's shortlist). */
struct candidate {
	size_t conf, load;
	struct figures fig;
};

/* Keeps the PRED_SHORTLIST best of the candidates offered, best first. */
static void shortlist_offer(const struct pred *p, struct candidate *list, size_t *n,
			    const struct candidate *c)
{
	size_t at = *n;

	while (at > 0 && objective_better(p->obj, &list[at - 1].fig, &c->fig))
		at--;
	if (at >= PRED_SHORTLIST)
		return;
	if (*n < PRED_SHORTLIST)
		(*n)++;
	memmove(&list[at + 1], &list[at], (*n - 1 - at) * sizeof(*list));
	list[at] = *c;
}

/*
 * The unmeasured point predicted best among those whose optimistic
 * prediction beats the best measured (passing the constraints as it
 * would); false when there is none. Every point is screened with a short
 * simulation (PRED_SCREEN_REQUESTS); the shortlist of the best is
 * simulated again at full length (PRED_REQUESTS) and decides, so a
 * step costs about what a few hundred full simulations cost, whatever
 * the space's size.
 */
static bool pick_next(struct pred *p)
{
	double u = predict_fit_uncertainty(p->fit);
	struct candidate list[PRED_SHORTLIST + 1];
	size_t n = 0;
	bool found = false;

	for (size_t c = 0; c < p->n_confs; c++) {
		for (size_t l = 0; l < p->n_loads; l++) {
			struct candidate cand = { .conf = c, .load = l };
			struct figures opt;

			if (p->measured[c * p->n_loads + l] ||
			    !predict_conf(p, &p->confs[c], p->loads[l], PRED_SCREEN_REQUESTS,
					  &cand.fig))
				continue;
			optimistic(&cand.fig, u, &opt);
			if (p->has_best && !objective_better(p->obj, &p->best, &opt))
				continue;
			shortlist_offer(p, list, &n, &cand);
		}
	}
	for (size_t i = 0; i < n; i++) {
		struct figures f, opt;

		if (!predict_conf(p, &p->confs[list[i].conf], p->loads[list[i].load],
				  PRED_REQUESTS, &f))
			continue;
		optimistic(&f, u, &opt);
		if (p->has_best && !objective_better(p->obj, &p->best, &opt))
			continue;
		if (found && !objective_better(p->obj, &p->pick.fig, &f))
			continue;
		found = true;
		p->pick.fig = f;
		p->pick_conf = list[i].conf;
		p->pick_load = list[i].load;
	}
	if (found) {
		p->pick.rel_uncertainty = u;
		p->pick.probe = false;
		predict_fit_describe(p->fit, p->pick.model, sizeof(p->pick.model));
	}
	return found;
}

/*
 * A probe's prediction from what was measured before it (the default's
 * levels, earlier probes), so that its error is known too; none before
 * anything can be fitted.
 */
static void probe_predict(struct pred *p, const struct search_point *pt)
{
	struct pconf c = { pt->instance_count, pt->threads, pt->max_batch_size,
			   pt->preferred_batch_size, pt->queue_delay_us };
	double load = p->rates ? pt->request_rate : (double)pt->concurrency;

	if (!p->n_obs || !refit(p, true) ||
	    !predict_conf(p, &c, load, PRED_REQUESTS, &p->pick.fig))
		return;
	p->pick.rel_uncertainty = predict_fit_uncertainty(p->fit);
	p->pick.probe = true;
	predict_fit_describe(p->fit, p->pick.model, sizeof(p->pick.model));
	p->has_pick = true;
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
	p = xcalloc(1, sizeof(*p));
	p->sp = space;
	p->obj = objectives;
	space_build(p);
	if (!p->n_loads || !p->n_confs) {
		const char *what = p->n_loads ? "configuration" : "concurrency or request rate";

		predictive_free(p);
		return it_error_set(err, IT_ERR_INVALID, "the predictive search has no %s to search",
				    what);
	}
	probes_plan(p);
	budget_plan(p);
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
			probe_predict(p, out);
			return true;
		}
		p->phase = PH_GUIDED;
		/* fall through */
	case PH_GUIDED:
		if (!refit(p, false)) {
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
		observation_release(&p->obs[i]);
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

int predictive_replay_point(const struct predictive_replay *r, size_t i, struct search_point *pt,
			    struct it_error *err)
{
	const struct pred *p = r->p;

	if (i >= p->n_confs * p->n_loads)
		return it_error_set(err, IT_ERR_INVALID, "point %zu is outside the space (%zu points)",
				    i, p->n_confs * p->n_loads);
	point_of(p, &p->confs[i / p->n_loads], p->loads[i % p->n_loads], pt);
	return 0;
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
	if (!predict_conf(p, &p->confs[c], p->loads[l], PRED_REQUESTS, fig))
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
