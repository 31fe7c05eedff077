/*
 * Interleaved re-measurement: pick the leaders (the sweep's tier and the
 * configurations within the precision target of its best), load
 * them together, alternate one window of each per round until every one
 * reaches its precision (at least the floor, at most the cap), store the
 * merged windows as PHASE_INTERLEAVED measurements filled by the sweep's
 * own functions, then unload them. Nothing is stored when interrupted.
 */
#include "analyze/interleave.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/analyzer_internal.h"
#include "analyze/objective.h"
#include "analyze/preflight.h"
#include "analyze/server_client.h"
#include "analyze/sweep.h"
#include "analyze/tier.h"
#include "analyze/variant.h"
#include "loadgen/profiler.h"
#include "store/store.h"
#include "util/error.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define INTERLEAVE_WARMUP_REQUESTS 10

/* One leader: its variant, its best sweep level and, while measured, its profiler. */
struct leader {
	struct store_variant v;         /* owned */
	int64_t batch;
	enum load_kind kind;
	double value;
	struct figures sweep_fig;       /* its best sweep level's (memory figures) */
	bool reused;                    /* results.db has its interleaved measurement */
	bool active;                    /* loaded, profiler ready, no failure yet */
	struct profile_options po;
	struct profiler *p;
	struct profile_accum *acc;
};

static void leaders_free(struct leader *ls, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		profiler_free(ls[i].p);
		profile_accum_free(ls[i].acc);
		store_variant_release(&ls[i].v);
	}
	free(ls);
}

/* Whether ms[0..n) holds a valid interleaved measurement of the leader's level. */
static bool has_interleaved(const struct leader *l, const struct store_measurement *ms, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (ms[i].phase == PHASE_INTERLEAVED && measurement_valid(&ms[i]) &&
		    ms[i].batch_size == l->batch && ms[i].load_kind == l->kind &&
		    ms[i].load_value == l->value)
			return true;
	return false;
}

/*
 * Whether ranked entry e is a leader: in the sweep's tier, or (passing the
 * constraints as the best does) within the precision target of the best by
 * the objectives. The sweep's tier is blind to drift between measurements
 * taken minutes apart, and its intervals are narrow on a quiet model: a
 * configuration that lost by less than the precision asked for gets its
 * side-by-side chance.
 */
static bool is_leader(const struct model_ctx *mc, const struct rank_entry *rk, size_t i,
		      size_t n_tier, struct store_measurement **ms)
{
	const struct store_measurement *best;

	if (i < n_tier)
		return true;
	if (rk[0].best < 0 || rk[i].best < 0 || rk[i].passes != rk[0].passes)
		return false;
	best = &ms[rk[0].input][rk[0].best];
	return objective_score(&mc->obj, &best->fig, &ms[rk[i].input][rk[i].best].fig) >=
	       -mc->ps.precision_pct / 100;
}

/* The leaders ranked on the sweep's measurements (vs and ms: the model's). */
static size_t leaders_of(struct analyzer *a, const struct model_ctx *mc,
			 struct store_variant *vs, struct store_measurement **ms,
			 const size_t *n_ms, size_t n, struct leader **out)
{
	struct tier_variant *tv = xcalloc(n ? n : 1, sizeof(*tv));
	struct rank_entry *rk = xcalloc(n ? n : 1, sizeof(*rk));
	struct leader *ls = xcalloc(INTERLEAVE_LEADERS, sizeof(*ls));
	enum tier_reason why;
	size_t n_tier, k = 0;
	bool gpu;

	for (size_t i = 0; i < n; i++) {
		tv[i].variant_id = vs[i].id;
		tv[i].ms = ms[i];
		tv[i].n = n_ms[i];
		tv[i].config_pbtxt = vs[i].config_pbtxt;
	}
	n_tier = tier_rank(&mc->obj, tv, n, false, (unsigned)a->n_gpus, rk, &why, &gpu);
	for (size_t i = 0; i < n && k < INTERLEAVE_LEADERS && is_leader(mc, rk, i, n_tier, ms);
	     i++) {
		const struct store_measurement *best = &ms[rk[i].input][rk[i].best];
		struct leader *l = &ls[k++];

		l->v = vs[rk[i].input];
		memset(&vs[rk[i].input], 0, sizeof(vs[rk[i].input]));  /* moved */
		l->batch = best->batch_size;
		l->kind = best->load_kind;
		l->value = best->load_value;
		l->sweep_fig = best->fig;
		l->reused = has_interleaved(l, ms[rk[i].input], n_ms[rk[i].input]);
	}
	free(tv);
	free(rk);
	*out = ls;
	return k;
}

/* Reads the model's variants and measurements, and picks the leaders. */
static int leaders_pick(struct analyzer *a, const struct model_ctx *mc, struct leader **out,
			size_t *n_out, struct it_error *err)
{
	struct store_variant *vs = NULL;
	struct store_measurement **ms;
	size_t n = 0, *n_ms;
	int rc;

	rc = store_variants_of_model(a->store, mc->model_id, &vs, &n, err);
	if (rc)
		return rc;
	ms = xcalloc(n ? n : 1, sizeof(*ms));
	n_ms = xcalloc(n ? n : 1, sizeof(*n_ms));
	for (size_t i = 0; i < n && !rc; i++)
		rc = store_measurements_of_variant(a->store, vs[i].id, mc->profile_key, &ms[i],
						   &n_ms[i], err);
	if (!rc)
		*n_out = leaders_of(a, mc, vs, ms, n_ms, n, out);
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < n_ms[i]; k++)
			store_measurement_release(&ms[i][k]);
		free(ms[i]);
		store_variant_release(&vs[i]);
	}
	free(ms);
	free(n_ms);
	free(vs);
	return rc;
}

/*
 * Loads leader l alongside those already loaded. A failure is recorded as
 * an event, not on the variant: its sweep measurements stand (it loaded
 * alone, it may not fit beside the others). *gone is set when the server
 * went with it.
 */
static int leader_load(struct analyzer *a, const struct model_ctx *mc, struct leader *l,
		       bool *gone, struct it_error *err)
{
	enum variant_load_result lr = VARIANT_NOT_LOADED;
	enum variant_status status = VARIANT_LOAD_FAILED;
	char reason[1024], how[200];
	int rc;

	analyzer_emit(a, AEV_LOG, 2, "interleaving: loading %s", l->v.name);
	rc = variant_load(a, mc, &l->v, &lr, &status, reason, sizeof(reason), err);
	a->load_alongside = true;       /* the first load started a fresh server */
	if (rc || lr == VARIANT_LOAD_INTERRUPTED)
		return rc;
	if (lr == VARIANT_LOADED) {
		l->active = true;
		return 0;
	}
	analyzer_emit(a, AEV_LOG, 0, "interleaving: %s did not load beside the others (%s); "
		      "its sweep measurements stand", l->v.name, reason);
	store_event_add(a->store, a->run_id, l->v.id, "interleave_load_failed", reason, NULL);
	*gone = status != VARIANT_LOAD_FAILED && !analyzer_server_alive(a, how, sizeof(how));
	return 0;
}

/* A profiler and an accumulator for an active leader; a failure deactivates it. */
static void leader_profiler(struct analyzer *a, const struct model_ctx *mc, struct leader *l)
{
	struct it_error perr = { 0 };

	sweep_profile_options(a, mc, &l->v, &mc->ps, l->batch, l->kind, l->value, &l->po);
	/*
	 * Every window starts the load again: warm up with requests, not a
	 * window. Two per client in a closed loop, so that the clients have
	 * spread out and batches form as they do in the steady state (16
	 * clients batching by 8 had not all sent once after 10 requests).
	 */
	if (!l->po.warmup_request_count) {
		uint64_t w = l->kind == LOAD_CONCURRENCY ? 2 * (uint64_t)l->value : 0;

		l->po.warmup_request_count = w > INTERLEAVE_WARMUP_REQUESTS ? w :
					     INTERLEAVE_WARMUP_REQUESTS;
	}
	if (profiler_new(&l->po, &l->p, &perr)) {
		analyzer_emit(a, AEV_LOG, 1, "interleaving: %s: %s", l->v.name, perr.message);
		l->active = false;
		return;
	}
	l->acc = profile_accum_new();
}

/* True when every active leader's accumulated windows reach the precision. */
static bool all_precise(struct leader *ls, size_t n)
{
	bool all = true;

	for (size_t i = 0; i < n && all; i++) {
		struct profile_level L;

		if (!ls[i].active)
			continue;
		memset(&L, 0, sizeof(L));
		profile_accum_finish(ls[i].acc, ls[i].p, &L);
		all = L.status == PROFILE_OK && L.precision_met;
		profile_level_release(&L);
	}
	return all;
}

/* How many leaders are still measured. */
static size_t active_count(const struct leader *ls, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		k += ls[i].active;
	return k;
}

/*
 * The rounds: one window of each active leader per round, at least the
 * floor of rounds, at most the cap, until every one is precise. A leader
 * whose window fails is dropped. Returns false when interrupted.
 */
static bool measure_rounds(struct analyzer *a, struct leader *ls, size_t n)
{
	uint64_t floor = ls[0].po.min_windows, cap = ls[0].po.max_trials;
	size_t rounds = 0;

	if (cap < floor)
		cap = floor;
	for (; rounds < cap && active_count(ls, n) >= 2; rounds++) {
		for (size_t i = 0; i < n; i++) {
			struct it_error perr = { 0 };

			if (!ls[i].active)
				continue;
			if (profiler_measure_into(ls[i].p, ls[i].value, 1, ls[i].acc, &perr)) {
				if (interrupted(a))
					return false;
				analyzer_emit(a, AEV_LOG, 1, "interleaving: %s: %s; dropped",
					      ls[i].v.name, perr.message);
				ls[i].active = false;
			}
		}
		if (rounds + 1 >= floor && all_precise(ls, n))
			break;
	}
	analyzer_emit(a, AEV_LOG, 0, "interleaving: %zu rounds of %zu configurations", rounds,
		      active_count(ls, n));
	return !interrupted(a);
}

/* Stores leader l's accumulated windows as its interleaved measurement. */
static int leader_store(struct analyzer *a, const struct model_ctx *mc, struct leader *l,
			struct it_error *err)
{
	static const enum figure memory[] = {
		FIG_GPU_USED_MEMORY, FIG_SERVER_RSS, FIG_CPU_USED_RAM, FIG_HOST_USED_RAM,
	};
	struct store_measurement m;
	struct profile_level L;
	struct it_error serr = { 0 };

	memset(&L, 0, sizeof(L));
	profile_accum_finish(l->acc, l->p, &L);
	sweep_measurement_init(a, mc, &l->v, &mc->ps, l->batch, l->kind, l->value, &m);
	m.phase = PHASE_INTERLEAVED;
	/* No local samples: the merged windows are spread between the others'. */
	sweep_fill_measurement(a, mc, &L, NULL, 0, &m);
	/* Memory is the variant's alone only in its sweep, on a server of its own. */
	for (size_t i = 0; i < sizeof(memory) / sizeof(memory[0]); i++)
		if (figures_has(&l->sweep_fig, memory[i]))
			figures_set(&m.fig, memory[i], l->sweep_fig.v[memory[i]]);
	profile_level_release(&L);
	if (store_measurement_add(a->store, &m, &serr)) {
		store_measurement_release(&m);
		/* IT_ERR_STATE: a results.db without the phase in its identity. */
		if (serr.code == IT_ERR_STATE) {
			analyzer_emit(a, AEV_LOG, 1, "interleaving: %s not stored: %s", l->v.name,
				      serr.message);
			return 0;
		}
		if (err)
			*err = serr;
		return serr.code ? serr.code : IT_ERR_IO;
	}
	analyzer_emit(a, AEV_LOG, 0, "interleaving: %s: %.1f infer/s over %u windows%s",
		      l->v.name, figures_get(&m.fig, FIG_THROUGHPUT, 0), m.merged_count,
		      m.precision_met ? "" : " (precision not reached)");
	store_measurement_release(&m);
	return 0;
}

/* Loads the leaders, measures and stores them, unloads them. */
static int interleave_leaders(struct analyzer *a, const struct model_ctx *mc,
			      struct leader *ls, size_t n, struct it_error *err)
{
	bool gone = false;
	int rc = 0;

	a->load_alongside = false;
	for (size_t i = 0; i < n && !rc && !gone && !interrupted(a); i++)
		rc = leader_load(a, mc, &ls[i], &gone, err);
	for (size_t i = 0; i < n && !rc && !gone; i++)
		if (ls[i].active)
			leader_profiler(a, mc, &ls[i]);
	if (!rc && !gone && active_count(ls, n) >= 2 && measure_rounds(a, ls, n)) {
		for (size_t i = 0; i < n && !rc; i++)
			if (ls[i].active)
				rc = leader_store(a, mc, &ls[i], err);
	} else if (!rc) {
		analyzer_emit(a, AEV_LOG, 0, "interleaving: skipped (%s)",
			      interrupted(a) ? "interrupted" : "fewer than two configurations loaded");
	}
	a->load_alongside = false;
	for (size_t i = 0; i < n && a->client && !gone && !a->fatal; i++)
		if (ls[i].active)
			server_client_unload(a->client, ls[i].v.name, NULL);
	a->server_dirty = true;
	return rc;
}

int interleave_model(struct analyzer *a, struct model_ctx *mc, struct it_error *err)
{
	struct leader *ls = NULL;
	size_t n = 0, reused = 0;
	int rc;

	if (mc->ps.precision_pct <= 0 || !a->proc || interrupted(a) || a->fatal)
		return 0;
	rc = leaders_pick(a, mc, &ls, &n, err);
	if (rc || n < 2) {
		leaders_free(ls, n);
		return rc;
	}
	for (size_t i = 0; i < n; i++)
		reused += ls[i].reused;
	if (reused == n) {
		analyzer_emit(a, AEV_LOG, 0, "model %s: interleaved measurements of %zu leaders "
			      "already in results.db", mc->name, n);
		leaders_free(ls, n);
		return 0;
	}
	analyzer_emit(a, AEV_LOG, 0, "model %s: re-measuring the %zu leaders interleaved",
		      mc->name, n);
	rc = interleave_leaders(a, mc, ls, n, err);
	leaders_free(ls, n);
	return rc;
}
