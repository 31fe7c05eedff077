/*
 * The sweep: what happens to one search point once its variant exists
 * (load levels, measure_level, early exit, unstable windows, the
 * store_measurement of each level), and the idle-server measurement. Every
 * decision is taken from the figures of results.db, fresh or reused, so a
 * resumed run walks the same levels.
 */
#include "analyze/sweep.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <time.h>
#include <unistd.h>

#include "analyze/analyzer_internal.h"
#include "analyze/objective.h"
#include "analyze/options.h"
#include "analyze/preflight.h"
#include "analyze/sampler.h"
#include "analyze/search.h"
#include "analyze/server_proc.h"
#include "analyze/variant.h"
#include "loadgen/profiler.h"
#include "model/config.h"
#include "util/error.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define WARMUP_REQUESTS 10
#define EARLY_EXIT_POINTS 4      /* THROUGHPUT_MINIMUM_CONSECUTIVE_*_TRIES */
#define EARLY_EXIT_GAIN 0.05     /* THROUGHPUT_MINIMUM_GAIN */

/* ---- one level ----------------------------------------------------------------- */

struct level_ctx {
	struct analyzer *a;
	const struct model_ctx *mc;
	uint64_t *ends;                 /* CLOCK_MONOTONIC time each window was seen to end */
	size_t n_ends, alloc_ends;
};

static void on_window(void *ctx, const struct profile_level *L,
		      const struct profile_window *w)
{
	struct level_ctx *lc = ctx;
	struct analyze_event ev;
	char msg[256];

	(void)L;
	XGROW(lc->ends, lc->alloc_ends, lc->n_ends + 1);
	lc->ends[lc->n_ends++] = sampler_now_ns();
	lc->a->prog.window = w->index + 1;
	snprintf(msg, sizeof(msg), "window %zu: %.1f infer/s, avg latency %.2f ms%s",
		 w->index + 1, w->throughput, (double)w->avg_latency_ns / 1e6,
		 w->valid ? "" : " (invalid)");
	memset(&ev, 0, sizeof(ev));
	ev.kind = AEV_WINDOW;
	ev.level = 2;
	ev.message = msg;
	analyzer_emit_event(lc->a, &ev);
}

static double ns_ms(uint64_t ns)
{
	return (double)ns / 1e6;
}

/* ---- racing (docs/statistics.md, "Racing") -------------------------------------- */

/*
 * The figure a model races on: its objective's when there is exactly one
 * and it has an interval (throughput, average latency, p50/p90/p95/p99);
 * else -1 (several weighted figures: no racing, as no single interval says
 * a level cannot win).
 */
static int race_figure(const struct objective_set *o)
{
	if (o->n_obj != 1 || !figure_has_interval(o->obj[0].fig))
		return -1;
	return (int)o->obj[0].fig;
}

/* The interval of figure f of a level being measured, in the figure's unit. */
static struct stats_interval level_interval(const struct profile_level *L, enum figure f)
{
	struct stats_interval iv;

	if (f == FIG_THROUGHPUT)
		return L->infer_per_sec_ci;
	iv = f == FIG_LATENCY_AVG ? L->avg_latency_ci_ns : L->latency_ci_ns[f - FIG_LATENCY_P50];
	iv.lo /= 1e6;   /* NAN stays NAN */
	iv.hi /= 1e6;
	return iv;
}

/*
 * The profiler's stop_level_early hook: true when the level cannot win,
 * its bound on the better side wholly on the worse side of the
 * incumbent's other bound (throughput: upper < the incumbent's lower;
 * latency: lower > the incumbent's upper). An unknown bound never stops.
 */
static bool race_stop(void *ctx, const struct profile_level *L)
{
	const struct level_ctx *lc = ctx;
	const struct race_incumbent *inc = &lc->mc->race;
	int f = race_figure(&lc->mc->obj);
	struct stats_interval iv;
	double lo, hi;

	if (f < 0 || !inc->has)
		return false;
	iv = level_interval(L, (enum figure)f);
	figures_interval(&inc->fig, (enum figure)f, &lo, &hi);
	if (figure_table[f].direction > 0)
		return !isnan(iv.hi) && !isnan(lo) && iv.hi < lo;
	return !isnan(iv.lo) && !isnan(hi) && iv.lo > hi;
}

/*
 * A measurement stored or reused: the new incumbent when it meets the
 * constraints and beats the current one. A level racing stopped, or an
 * interleaved re-measurement, never is.
 */
static void race_update(struct model_ctx *mc, const struct store_variant *v,
			const struct store_measurement *m)
{
	struct race_incumbent *inc = &mc->race;

	if (!measurement_valid(m) || m->stopped_early || m->phase != PHASE_SWEEP ||
	    !objective_passes(&mc->obj, &m->fig))
		return;
	if (inc->has && !objective_better(&mc->obj, &inc->fig, &m->fig))
		return;
	inc->has = true;
	inc->fig = m->fig;
	snprintf(inc->variant, sizeof(inc->variant), "%s", v->name);
}

/* The detail line of a level racing stopped, with the windows it saved. */
static void race_log(struct analyzer *a, const struct model_ctx *mc,
		     const struct profile_level *L, uint64_t cap)
{
	int f = race_figure(&mc->obj);
	struct stats_interval iv = level_interval(L, (enum figure)f);
	size_t saved = cap > L->merged_count ? (size_t)cap - L->merged_count : 0;

	a->race_windows_saved += saved;
	analyzer_emit(a, AEV_LOG, 2,
		      "racing: stopped after %zu windows, %zu windows saved: %s [%.4g, %.4g] "
		      "cannot beat %s's %.4g [%.4g, %.4g]",
		      L->merged_count, saved, figure_table[f].tag, iv.lo, iv.hi,
		      mc->race.variant, mc->race.fig.v[f], mc->race.fig.lo[f],
		      mc->race.fig.hi[f]);
}

static void fill_server(struct store_measurement *m, const struct remote_stats *s)
{
	uint64_t cnt = s->success_count;

	if (!cnt)
		return;
	if (s->queue_count)
		figures_set(&m->fig, FIG_SERVER_QUEUE, ns_ms(s->queue_ns) / (double)s->queue_count);
	if (s->compute_input_count)
		figures_set(&m->fig, FIG_SERVER_COMPUTE_INPUT,
			    ns_ms(s->compute_input_ns) / (double)s->compute_input_count);
	if (s->compute_infer_count)
		figures_set(&m->fig, FIG_SERVER_COMPUTE_INFER,
			    ns_ms(s->compute_infer_ns) / (double)s->compute_infer_count);
	if (s->compute_output_count)
		figures_set(&m->fig, FIG_SERVER_COMPUTE_OUTPUT,
			    ns_ms(s->compute_output_ns) / (double)s->compute_output_count);
	figures_set(&m->fig, FIG_SERVER_REQUEST, ns_ms(s->success_ns) / (double)cnt);
	if (s->execution_count)
		figures_set(&m->fig, FIG_SERVER_AVG_BATCH,
			    (double)s->inference_count / (double)s->execution_count);
}

/* The server's executions per batch size over the merged windows. */
static void fill_batch_stats(struct store_measurement *m, const struct remote_batch_stats *b)
{
	if (!b->n)
		return;
	m->batch_stats = xcalloc(b->n, sizeof(*m->batch_stats));
	m->n_batch_stats = b->n;
	for (size_t i = 0; i < b->n; i++) {
		const struct remote_batch_stat *in = &b->items[i];
		struct store_batch_stat *o = &m->batch_stats[i];

		o->batch_size = (int64_t)in->batch_size;
		o->execution_count = in->execution_count;
		o->compute_input_ns = in->compute_input_ns;
		o->compute_infer_ns = in->compute_infer_ns;
		o->compute_output_ns = in->compute_output_ns;
	}
}

static void fill_metrics(struct store_measurement *m, const struct scrape_summary *s)
{
	double util = 0, used = 0, total = 0, power = 0;
	size_t n_util = 0, n_used = 0, n_total = 0, n_power = 0;

	if (s->n_gpus) {
		m->gpus = xcalloc(s->n_gpus, sizeof(*m->gpus));
		m->n_gpus = s->n_gpus;
	}
	for (size_t g = 0; g < s->n_gpus; g++) {
		const struct scrape_gpu *sg = &s->gpus[g];
		struct store_gpu *o = &m->gpus[g];

		snprintf(o->uuid, sizeof(o->uuid), "%s", sg->uuid);
		if (sg->has_utilization) {
			o->has_utilization = true;
			o->utilization_pct = sg->utilization * 100;
			util += o->utilization_pct;
			n_util++;
		}
		if (sg->has_memory_used) {
			o->has_used_memory = true;
			o->used_memory_mb = (double)sg->memory_used_bytes / 1e6;
			used += o->used_memory_mb;
			n_used++;
		}
		if (sg->has_memory_total) {
			o->has_total_memory = true;
			o->total_memory_mb = (double)sg->memory_total_bytes / 1e6;
			total += o->total_memory_mb;
			n_total++;
		}
		if (sg->has_power) {
			o->has_power = true;
			o->power_w = sg->power_w;
			power += sg->power_w;
			n_power++;
		}
	}
	if (n_util)
		figures_set(&m->fig, FIG_GPU_UTILIZATION, util / (double)n_util);
	if (n_used)
		figures_set(&m->fig, FIG_GPU_USED_MEMORY, used);
	if (n_total)
		figures_set(&m->fig, FIG_GPU_TOTAL_MEMORY, total);
	if (n_used && n_total)
		figures_set(&m->fig, FIG_GPU_FREE_MEMORY, total - used);
	if (n_power)
		figures_set(&m->fig, FIG_GPU_POWER, power);
	if (s->has_cpu_utilization)
		figures_set(&m->fig, FIG_CPU_UTILIZATION, s->cpu_utilization * 100);
	if (s->has_cpu_memory) {
		figures_set(&m->fig, FIG_HOST_USED_RAM, (double)s->cpu_memory_used_bytes / 1e6);
		if (s->cpu_memory_total_bytes >= s->cpu_memory_used_bytes)
			figures_set(&m->fig, FIG_CPU_FREE_RAM,
				    (double)(s->cpu_memory_total_bytes - s->cpu_memory_used_bytes) / 1e6);
	}
}

static bool level_merged(const struct profile_level *L)
{
	return L->status == PROFILE_OK || L->status == PROFILE_OVER_THRESHOLD ||
	       L->status == PROFILE_EARLY_STOP_SHORT;
}

/* Every window of the level, with whether it is one of the merged ones. */
static void fill_windows(struct store_measurement *m, const struct profile_level *L)
{
	m->window_count = (uint32_t)L->n_windows;
	if (L->n_windows) {
		m->windows = xcalloc(L->n_windows, sizeof(*m->windows));
		m->n_windows = L->n_windows;
	}
	for (size_t i = 0; i < L->n_windows; i++) {
		const struct profile_window *w = &L->windows[i];
		struct store_window *o = &m->windows[i];

		o->index = (uint32_t)w->index;
		o->duration_ms = ns_ms(w->duration_ns);
		o->request_count = w->request_count;
		o->failed_count = w->failed_count;
		o->throughput = w->throughput;
		o->latency_avg_ms = ns_ms(w->avg_latency_ns);
		o->stabilizing_latency_ms = ns_ms(w->stabilizing_latency_ns);
		o->completion_rate = w->completion_rate;
		o->valid = w->valid;
		o->merged = level_merged(L) &&
			    i >= L->merged_first && i < L->merged_first + L->merged_count;
	}
}

/* The client's figures of the merged windows: throughput, latency, send/receive. */
static void fill_client(struct store_measurement *m, const struct profile_level *L)
{
	const struct latency_summary *s = &L->latency;

	m->merged_first = (uint32_t)L->merged_first;
	m->merged_count = (uint32_t)L->merged_count;
	m->request_count = L->request_count;
	m->failed_count = L->failed_count;
	m->client_saturated = L->client_saturated;
	figures_set(&m->fig, FIG_THROUGHPUT, L->infer_per_sec);
	if (s->count) {
		figures_set(&m->fig, FIG_LATENCY_AVG, ns_ms(s->avg_ns));
		figures_set(&m->fig, FIG_LATENCY_P50, ns_ms(s->p_ns[0]));
		figures_set(&m->fig, FIG_LATENCY_P90, ns_ms(s->p_ns[1]));
		figures_set(&m->fig, FIG_LATENCY_P95, ns_ms(s->p_ns[2]));
		figures_set(&m->fig, FIG_LATENCY_P99, ns_ms(s->p_ns[3]));
		if (s->std_us != UINT64_MAX)
			figures_set(&m->fig, FIG_LATENCY_STD, (double)s->std_us / 1000);
	}
	if (L->request_count) {
		uint64_t send = L->avg_send_ns, recv = L->avg_recv_ns, req = L->avg_request_ns;

		figures_set(&m->fig, FIG_CLIENT_SEND, ns_ms(send));
		figures_set(&m->fig, FIG_CLIENT_RECV, ns_ms(recv));
		figures_set(&m->fig, FIG_CLIENT_SEND_RECV, ns_ms(send + recv));
		figures_set(&m->fig, FIG_CLIENT_RESPONSE_WAIT,
			    req > send + recv ? ns_ms(req - send - recv) : 0);
	}
	figures_set(&m->fig, FIG_CLIENT_CPU, L->client_cpu_cores);
	for (int f = FIG_THROUGHPUT; f <= FIG_LATENCY_P99; f++) {
		struct stats_interval iv = level_interval(L, (enum figure)f);

		figures_set_interval(&m->fig, (enum figure)f, iv.lo, iv.hi);
	}
}

/* What the rule that ended the level says of it, and the client's share of the CPUs. */
static void fill_rule(struct store_measurement *m, const struct profile_level *L,
		      double precision_pct)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	m->precision_known = precision_pct > 0;
	m->precision_met = L->precision_met;
	m->stopped_early = L->stopped_early;
	m->client_cpu_share = cpus > 0 ? L->client_cpu_cores / (double)cpus : NAN;
}

/* Local samples (/proc, RAPL) over the merged windows. */
static void fill_samples(struct analyzer *a, struct store_measurement *m,
			 const struct profile_level *L, const struct level_ctx *lc,
			 int64_t batch)
{
	uint64_t to = lc->ends[L->merged_first + L->merged_count - 1], span = 0;
	struct sampler_summary ss;

	for (size_t i = L->merged_first; i < L->merged_first + L->merged_count; i++)
		span += L->windows[i].duration_ns;
	sampler_window(a->sampler, to > span ? to - span : 0, to, &ss);
	if (ss.has_server_cpu)
		figures_set(&m->fig, FIG_SERVER_CPU_UTILIZATION, ss.server_cpu_pct);
	if (ss.has_server_rss)
		figures_set(&m->fig, FIG_SERVER_RSS, ss.server_rss_mb);
	if (!figures_has(&m->fig, FIG_CPU_UTILIZATION) && ss.has_host_cpu &&
	    a->proc)
		figures_set(&m->fig, FIG_CPU_UTILIZATION, ss.host_cpu_pct);
	if (!figures_has(&m->fig, FIG_HOST_USED_RAM) && ss.has_host_memory && a->proc) {
		figures_set(&m->fig, FIG_HOST_USED_RAM, ss.host_used_mb);
		figures_set(&m->fig, FIG_CPU_FREE_RAM, ss.host_available_mb);
	}
	/*
	 * Energy is this machine's: it means something only for the embedded
	 * server. GPU energy alone would understate (CPU energy unknown), so
	 * without CPU energy there is no energy figure.
	 */
	if (a->proc && ss.has_energy) {
		double inferences = (double)L->request_count * (double)batch;
		double joules = ss.cpu_energy_j + (ss.has_gpu_energy ? ss.gpu_energy_j : 0);

		figures_set(&m->fig, FIG_CPU_POWER, ss.cpu_power_w);
		if (inferences > 0)
			figures_set(&m->fig, FIG_ENERGY_PER_INFERENCE, joules / inferences);
	}
}

/* Everything a level measured into *m (the figures only when it has merged windows). */
static void fill_level(struct analyzer *a, struct store_measurement *m,
		       const struct profile_level *L, const struct level_ctx *lc,
		       int64_t batch)
{
	fill_windows(m, L);
	fill_rule(m, L, lc->mc->ps.precision_pct);
	if (!level_merged(L) || !L->merged_count)
		return;
	fill_client(m, L);
	if (L->has_server) {
		fill_server(m, &L->server);
		fill_batch_stats(m, &L->server_batches);
	}
	if (L->has_metrics)
		fill_metrics(m, &L->metrics);
	if (lc->n_ends >= L->merged_first + L->merged_count)
		fill_samples(a, m, L, lc, batch);
	/* Model Analyzer's cpu_used_ram: the server's own memory when known. */
	if (figures_has(&m->fig, FIG_SERVER_RSS))
		figures_set(&m->fig, FIG_CPU_USED_RAM, m->fig.v[FIG_SERVER_RSS]);
	else if (figures_has(&m->fig, FIG_HOST_USED_RAM))
		figures_set(&m->fig, FIG_CPU_USED_RAM, m->fig.v[FIG_HOST_USED_RAM]);
}

void sweep_fill_measurement(struct analyzer *a, const struct model_ctx *mc,
			    const struct profile_level *L, const uint64_t *ends,
			    size_t n_ends, struct store_measurement *m)
{
	struct level_ctx lc = { a, mc, (uint64_t *)ends, n_ends, 0 };

	m->finished_at = store_now();
	m->status = L->status == PROFILE_OK ? MEAS_OK : MEAS_FAILED;
	if (m->status != MEAS_OK)
		snprintf(m->message, sizeof(m->message), "%s",
			 L->message[0] ? L->message : "no valid window");
	fill_level(a, m, L, &lc, m->batch_size);
}

enum level_result {
	LEVEL_STORED = 0,       /* measured (any status) and stored */
	LEVEL_INTERRUPTED,      /* interrupted: not stored */
	LEVEL_CRASHED,          /* the server died: stored as failed */
};

/*
 * The measurement's status from the profiler's verdict: the level's own,
 * or a failure (a crash when the server is gone, the reason in crash).
 */
static enum level_result level_classify(struct analyzer *a, const struct profile_level *L,
					int rc, const struct it_error *perr,
					struct store_measurement *m, char *crash,
					size_t crash_size)
{
	char how[200];

	if (interrupted(a) && rc)
		return LEVEL_INTERRUPTED;
	if (L && (L->status == PROFILE_OK || L->status == PROFILE_EARLY_STOP_SHORT)) {
		m->status = MEAS_OK;
		return LEVEL_STORED;
	}
	if (L && L->status == PROFILE_OVER_THRESHOLD) {
		m->status = MEAS_OVER_THRESHOLD;
		snprintf(m->message, sizeof(m->message), "%s", L->message);
		return LEVEL_STORED;
	}
	if (L && L->status == PROFILE_UNSTABLE) {
		m->status = MEAS_UNSTABLE;
		snprintf(m->message, sizeof(m->message), "%s", L->message);
		return LEVEL_STORED;
	}
	m->status = MEAS_FAILED;
	snprintf(m->message, sizeof(m->message), "%s",
		 perr->message[0] ? perr->message : "the measurement failed");
	if (analyzer_server_alive(a, how, sizeof(how)))
		return LEVEL_STORED;
	snprintf(crash, crash_size, "the server %s while being measured", how);
	snprintf(m->message, sizeof(m->message), "%s", crash);
	return LEVEL_CRASHED;
}

/*
 * Runs the profile library once with options *po (started at monotonic
 * time m0) and fills *m with what it measured.
 */
static enum level_result level_profile(struct analyzer *a, const struct model_ctx *mc,
				       struct profile_options *po, double m0, int64_t batch,
				       struct store_measurement *m, char *crash, size_t crash_size)
{
	struct level_ctx lc = { a, mc, NULL, 0, 0 };
	struct profiler *p = NULL;
	struct profile_results *res = NULL;
	struct it_error perr = { 0 };
	const struct profile_level *L = NULL;
	enum level_result result;
	int rc;

	po->on_window = on_window;
	po->callback_ctx = &lc;
	rc = profiler_new(po, &p, &perr);
	if (!rc)
		rc = profiler_run(p, &res, &perr);
	a->summary.measuring_s += mono_s() - m0;
	m->finished_at = store_now();
	if (res && res->n_levels)
		L = &res->levels[0];
	for (size_t i = 0; L && i < L->n_windows; i++)
		a->summary.windows_s += (double)L->windows[i].duration_ns / 1e9;
	result = level_classify(a, L, rc, &perr, m, crash, crash_size);
	if (L && result != LEVEL_INTERRUPTED)
		fill_level(a, m, L, &lc, batch);
	if (L && L->stopped_early)
		race_log(a, mc, L, po->max_trials);
	free(lc.ends);
	profile_results_free(res);
	profiler_free(p);
	sampler_trim(a->sampler, sampler_now_ns() - 5000000000ULL);
	return result;
}

/* The load of one level: a single concurrency or request rate. */
static void level_load(struct profile_options *po, enum load_kind kind, double value)
{
	if (kind == LOAD_REQUEST_RATE) {
		po->load = PROFILE_LOAD_RATE;
		po->rate_start = po->rate_end = value;
		po->rate_step = 1;
	} else {
		po->load = PROFILE_LOAD_CONCURRENCY;
		po->concurrency_start = po->concurrency_end = (uint64_t)value;
		po->concurrency_step = 1;
	}
}

/* What identifies a measurement in results.db. */
static void measurement_identify(struct analyzer *a, const struct model_ctx *mc,
				 const struct store_variant *v, int64_t batch,
				 enum load_kind kind, double value,
				 struct store_measurement *m)
{
	m->run_id = a->run_id;
	m->variant_id = v->id;
	snprintf(m->profile_key, sizeof(m->profile_key), "%s", mc->profile_key);
	m->batch_size = batch;
	m->load_kind = kind;
	m->load_value = value;
}

void sweep_profile_options(struct analyzer *a, const struct model_ctx *mc,
			   const struct store_variant *v, const struct perf_settings *ps,
			   int64_t batch, enum load_kind kind, double value,
			   struct profile_options *po)
{
	profile_options_init(po);
	perf_settings_to_profile(ps, po);
	po->model_name = a->proc ? v->name : mc->name;
	po->url = a->server_url;
	po->batch_size = batch;
	level_load(po, kind, value);
	po->collect_metrics = a->collect_metrics;
	po->metrics_url = a->metrics_url;
	po->metrics_interval_ms = ps->metrics_interval_ms;
	if (!po->metrics_interval_ms) {
		uint64_t w = ps->window_mode == PROFILE_TIME_WINDOWS ?
			     ps->measurement_interval_ms / 4 : 250;

		po->metrics_interval_ms = w < 50 ? 50 : w > 1000 ? 1000 : w;
	}
	po->cancel = a->cfg->interrupt;
}

void sweep_measurement_init(struct analyzer *a, const struct model_ctx *mc,
			    const struct store_variant *v, const struct perf_settings *ps,
			    int64_t batch, enum load_kind kind, double value,
			    struct store_measurement *m)
{
	memset(m, 0, sizeof(*m));
	measurement_identify(a, mc, v, batch, kind, value, m);
	snprintf(m->window_mode, sizeof(m->window_mode), "%s",
		 ps->window_mode == PROFILE_COUNT_WINDOWS ? "count_windows" : "time_windows");
	m->window_ms = ps->window_mode == PROFILE_TIME_WINDOWS ?
		       (double)ps->measurement_interval_ms : 0;
	m->window_requests = ps->window_mode == PROFILE_COUNT_WINDOWS ?
			     ps->measurement_request_count : 0;
	m->stability_pct = ps->stability_percentage;
	m->started_at = store_now();
}

/*
 * Measures one level (with Model Analyzer's automatic window growth when
 * it does not stabilise) into *m. Returns a level_result, or < 0 when
 * results.db failed.
 */
static int measure_level(struct analyzer *a, const struct model_ctx *mc,
			 const struct store_variant *v, int64_t batch,
			 enum load_kind kind, double value, bool first,
			 struct store_measurement *m, char *crash, size_t crash_size,
			 struct it_error *err)
{
	struct perf_settings ps = mc->ps;
	int result = LEVEL_STORED;

	for (unsigned adjust = 0;; adjust++) {
		struct profile_options po;
		double m0 = mono_s();

		store_measurement_release(m);
		sweep_profile_options(a, mc, v, &ps, batch, kind, value, &po);
		if (first && !ps.warmup_given)
			po.warmup_request_count = WARMUP_REQUESTS;
		/* Racing: only under the precision rule, with an incumbent to race. */
		if (ps.precision_pct > 0 && race_figure(&mc->obj) >= 0 && mc->race.has)
			po.stop_level_early = race_stop;
		sweep_measurement_init(a, mc, v, &ps, batch, kind, value, m);
		result = level_profile(a, mc, &po, m0, batch, m, crash, crash_size);
		/* A remote server that stopped answering: see sweep_unreachable(). */
		if (result == LEVEL_INTERRUPTED || (result == LEVEL_CRASHED && !a->proc))
			return result;
		/* Model Analyzer's auto-adjust: a longer window when it did not stabilise. */
		if (m->status == MEAS_UNSTABLE && adjust < a->o->max_auto_adjusts &&
		    !interrupted(a)) {
			if (ps.window_mode == PROFILE_COUNT_WINDOWS)
				ps.measurement_request_count += 50;
			else
				ps.measurement_interval_ms += 1000;
			analyzer_emit(a, AEV_LOG, 2,
				      "%s: not stable; measuring again with a longer window", v->name);
			continue;
		}
		break;
	}
	if (store_measurement_add(a->store, m, err))
		return -1;
	return result;
}

/* ---- the sweep of one point ---------------------------------------------------- */

/* Where a sweep stands, across its batch sizes and levels. */
struct sweep_state {
	bool early;             /* Model Analyzer's early exit applies */
	bool loaded;            /* the variant is loaded on the server */
	bool failed_variant;    /* it failed to load or crashed the server */
	bool any_unstable;
	bool warm;              /* a level was measured: no more warm-up */
	double *tps;            /* throughputs of this batch size's valid levels */
	size_t n_tps, alloc_tps;
	double batch_max;       /* the best of them */
};

/*
 * A stored measurement joins the point's outcome and the model's racing
 * incumbent. A level racing stopped counts like any other: its figures
 * are a valid estimate, only less precise (docs/statistics.md, "Racing").
 */
static void outcome_add(struct model_ctx *mc, const struct store_variant *v,
			struct point_outcome *po, const struct store_measurement *m)
{
	if (!measurement_valid(m))
		return;
	race_update(mc, v, m);
	po->measured = true;
	if (figures_get(&m->fig, FIG_THROUGHPUT, 0) > po->max_tp)
		po->max_tp = figures_get(&m->fig, FIG_THROUGHPUT, 0);
	if (!po->has_best || objective_better(&mc->obj, &po->best, &m->fig)) {
		po->best = m->fig;
		po->has_best = true;
	}
}

/* Model Analyzer's early exit: with >= 4 values, the last 4 must gain > 5%. */
static bool gain_exhausted(const double *tp, size_t n)
{
	double first, best;

	if (n < EARLY_EXIT_POINTS)
		return false;
	first = tp[n - EARLY_EXIT_POINTS];
	best = first;
	for (size_t i = n - EARLY_EXIT_POINTS; i < n; i++)
		if (tp[i] > best)
			best = tp[i];
	if (first <= 0)
		return false;
	return (best - first) / first <= EARLY_EXIT_GAIN;
}

static void values_add(double **v, size_t *n, size_t *alloc, double x)
{
	XGROW(*v, *alloc, *n + 1);
	(*v)[(*n)++] = x;
}

/*
 * The load levels of a sweep: the point's one concurrency or request rate,
 * the lists (up to the options' LIST_MAX values each), or doubling. Caller
 * frees *out.
 */
static size_t load_plan(const struct model_ctx *mc, const struct analyze_options *o,
			const struct search_point *pt, enum load_kind *kind, double **out)
{
	double *v = NULL;
	size_t n = 0, alloc = 0;

	*kind = LOAD_CONCURRENCY;
	if (pt->concurrency) {
		values_add(&v, &n, &alloc, (double)pt->concurrency);
	} else if (pt->request_rate > 0) {
		*kind = LOAD_REQUEST_RATE;
		values_add(&v, &n, &alloc, pt->request_rate);
	} else if (mc->rates.n) {
		*kind = LOAD_REQUEST_RATE;
		for (size_t i = 0; i < mc->rates.n; i++)
			values_add(&v, &n, &alloc, mc->rates.v[i]);
	} else if (mc->concurrency.n) {
		for (size_t i = 0; i < mc->concurrency.n; i++)
			values_add(&v, &n, &alloc, (double)mc->concurrency.v[i]);
	} else {
		/* min >= 1 and max <= 2^20 (options.c): no overflow, at most 21 levels. */
		for (uint64_t c = o->min_concurrency; c && c <= o->max_concurrency; c *= 2)
			values_add(&v, &n, &alloc, (double)c);
	}
	*out = v;
	return n;
}

static bool failed_before(const struct store_variant *v)
{
	return v->status == VARIANT_LOAD_FAILED || v->status == VARIANT_SERVER_CRASHED ||
	       v->status == VARIANT_OUT_OF_MEMORY;
}

/* A variant that could not load, or crashed the server, is not tried again. */
static void sweep_replay_failed(struct analyzer *a, struct model_ctx *mc,
				const struct store_variant *v, struct point_outcome *po)
{
	struct store_measurement *ms = NULL;
	size_t n = 0;

	analyzer_emit(a, AEV_LOG, 0, "%s: %s earlier (%s); not tried again", v->name,
		      variant_status_name(v->status), v->failure_reason ? v->failure_reason : "");
	if (store_measurements_of_variant(a->store, v->id, mc->profile_key, &ms, &n, NULL))
		return;
	for (size_t i = 0; i < n; i++) {
		outcome_add(mc, v, po, &ms[i]);
		store_measurement_release(&ms[i]);
	}
	free(ms);
}

/* Loads the variant before its first fresh level; a failure is recorded on it. */
static int sweep_load(struct analyzer *a, struct model_ctx *mc, struct store_variant *v,
		      struct sweep_state *st, struct point_outcome *po, struct it_error *err)
{
	enum variant_load_result lr = VARIANT_NOT_LOADED;
	enum variant_status status = VARIANT_LOAD_FAILED;
	char reason[1024];
	int rc;

	variant_set_status(a, v, VARIANT_LOADING, NULL);
	analyzer_emit(a, AEV_LOG, 2, "%s: loading (%s)", v->name, v->label);
	rc = variant_load(a, mc, v, &lr, &status, reason, sizeof(reason), err);
	if (rc)
		return rc;
	if (lr == VARIANT_LOAD_INTERRUPTED) {
		po->stop_all = true;
	} else if (lr == VARIANT_NOT_LOADED) {
		variant_set_status(a, v, status, reason);
		store_event_add(a->store, a->run_id, v->id, variant_status_name(status), reason,
				NULL);
		st->failed_variant = true;
	} else {
		st->loaded = true;
		variant_set_status(a, v, VARIANT_MEASURING, NULL);
	}
	return 0;
}

/* The embedded server died while a level was measured: the variant failed. */
static void sweep_crashed(struct analyzer *a, struct store_variant *v, struct sweep_state *st,
			  const char *crash)
{
	enum variant_status status = server_proc_killed(a->proc) ? VARIANT_OUT_OF_MEMORY :
				     VARIANT_SERVER_CRASHED;

	variant_set_status(a, v, status, crash);
	store_event_add(a->store, a->run_id, v->id, "server_crashed", crash, NULL);
	st->failed_variant = true;
}

/*
 * A remote server stopped answering while a level was measured: nothing
 * says the variant is at fault, and the analysis cannot go on. It ends
 * with everything measured before kept; the level in progress is not
 * recorded and the variant keeps its status, so a resume measures both
 * again, as after a kill of the analysis.
 */
static void sweep_unreachable(struct analyzer *a, struct store_variant *v,
			      struct point_outcome *po, const char *why)
{
	store_event_add(a->store, a->run_id, v->id, "server_unreachable", why, NULL);
	a->fatal = true;
	snprintf(a->fatal_msg, sizeof(a->fatal_msg), "%s; run the same command again to "
		 "resume once it answers", why);
	po->stop_all = true;
}

/*
 * Measures a level that results.db does not have into *m (loading the
 * variant first if needed). *skip is set when there is no measurement to
 * record (the load failed or was interrupted, or the level was
 * interrupted): the caller's level loop ends.
 */
static int sweep_measure(struct analyzer *a, struct model_ctx *mc, struct store_variant *v,
			 struct sweep_state *st, int64_t b, enum load_kind kind, double load,
			 struct store_measurement *m, struct point_outcome *po, bool *skip,
			 struct it_error *err)
{
	double t0 = mono_s();
	char crash[512] = "";
	struct analyze_event ev;
	int lr;

	*skip = true;
	if (!st->loaded) {
		lr = sweep_load(a, mc, v, st, po, err);
		if (lr || !st->loaded)
			return lr;
	}
	memset(&ev, 0, sizeof(ev));
	ev.kind = AEV_LEVEL_START;
	ev.level = 2;
	analyzer_emit_event(a, &ev);
	lr = measure_level(a, mc, v, b, kind, load, !st->warm, m, crash, sizeof(crash), err);
	st->warm = true;
	if (lr < 0) {
		store_measurement_release(m);
		return IT_ERR_IO;
	}
	if (lr == LEVEL_INTERRUPTED) {
		store_measurement_release(m);
		po->stop_all = true;
		return 0;
	}
	if (lr == LEVEL_CRASHED && !a->proc) {
		store_measurement_release(m);
		sweep_unreachable(a, v, po, crash);
		return 0;
	}
	a->summary.measured++;
	a->fresh_s += mono_s() - t0;
	a->fresh_n++;
	if (lr == LEVEL_CRASHED)
		sweep_crashed(a, v, st, crash);
	*skip = false;
	return 0;
}

/*
 * One level of batch size b: reused from results.db or measured, then
 * told to the caller and the outcome. *stop ends this batch size's levels.
 */
static int sweep_level(struct analyzer *a, struct model_ctx *mc, struct store_variant *v,
		       struct sweep_state *st, int64_t b, enum load_kind kind, double load,
		       struct point_outcome *po, bool *stop, struct it_error *err)
{
	struct store_measurement m;
	struct analyze_event ev;
	bool found = false, skip = false, stop_batch = false;
	int rc;

	memset(&m, 0, sizeof(m));
	*stop = true;
	if (interrupted(a)) {
		po->stop_all = true;
		return 0;
	}
	a->prog.batch_size = b;
	a->prog.load_kind = kind;
	a->prog.load_value = load;
	a->prog.window = 0;
	rc = store_measurement_find(a->store, v->id, mc->profile_key, b, kind, load, &m,
				    &found, err);
	if (rc)
		return rc;
	if (found)
		a->summary.reused++;
	else
		rc = sweep_measure(a, mc, v, st, b, kind, load, &m, po, &skip, err);
	if (rc || skip)
		return rc;
	po->levels++;
	memset(&ev, 0, sizeof(ev));
	ev.kind = AEV_MEASUREMENT;
	ev.measurement = &m;
	ev.reused = found;
	analyzer_emit_event(a, &ev);
	if (m.status == MEAS_UNSTABLE)
		st->any_unstable = true;
	if (!measurement_valid(&m)) {
		/* Model Analyzer: a run without a measurement ends the sweep. */
		stop_batch = true;
	} else {
		outcome_add(mc, v, po, &m);
		values_add(&st->tps, &st->n_tps, &st->alloc_tps, m.fig.v[FIG_THROUGHPUT]);
		if (m.fig.v[FIG_THROUGHPUT] > st->batch_max)
			st->batch_max = m.fig.v[FIG_THROUGHPUT];
		if (m.status == MEAS_OVER_THRESHOLD)
			stop_batch = true;
		if (st->early && gain_exhausted(st->tps, st->n_tps))
			stop_batch = true;
	}
	store_measurement_release(&m);
	*stop = stop_batch || st->failed_variant;
	return 0;
}

/* The levels of one client batch size; st->batch_max is their best throughput. */
static int sweep_batch(struct analyzer *a, struct model_ctx *mc, struct store_variant *v,
		       const struct search_point *pt, struct sweep_state *st, int64_t b,
		       struct point_outcome *po, struct it_error *err)
{
	enum load_kind kind;
	double *loads = NULL;
	size_t n_loads;
	bool stop = false;
	int rc = 0;

	st->n_tps = 0;
	st->batch_max = 0;
	n_loads = load_plan(mc, a->o, pt, &kind, &loads);
	for (size_t li = 0; li < n_loads && !rc && !stop; li++)
		rc = sweep_level(a, mc, v, st, b, kind, loads[li], po, &stop, err);
	free(loads);
	return rc;
}

/* The variant's final status, and the remote model unloaded. */
static void sweep_finish(struct analyzer *a, const struct model_ctx *mc,
			 struct store_variant *v, const struct sweep_state *st,
			 const struct point_outcome *po)
{
	if (!st->failed_variant && !po->stop_all && v->status != VARIANT_MEASURED) {
		if (po->measured)
			variant_set_status(a, v, VARIANT_MEASURED, NULL);
		else if (st->loaded || v->status == VARIANT_MEASURING ||
			 v->status == VARIANT_PENDING)
			variant_set_status(a, v, st->any_unstable ? VARIANT_UNSTABLE : VARIANT_FAILED,
					   st->any_unstable ? "no load level stabilised" :
					   "no load level could be measured");
	}
	if (st->loaded)
		variant_unload(a, mc);
}

int sweep_point(struct analyzer *a, struct model_ctx *mc, struct store_variant *v,
		const struct search_point *pt, const struct model_config *cfg,
		struct point_outcome *po, struct it_error *err)
{
	uint64_t one = 1;
	bool one_load = pt->concurrency || pt->request_rate > 0;
	const uint64_t *batches = one_load || !mc->batches.n ? &one : mc->batches.v;
	size_t n_batches = one_load || !mc->batches.n ? 1 : mc->batches.n;
	struct sweep_state st;
	double *batch_tp = NULL;
	size_t n_batch_tp = 0, alloc_batch_tp = 0;
	int rc = 0;

	memset(po, 0, sizeof(*po));
	if (failed_before(v)) {
		sweep_replay_failed(a, mc, v, po);
		return 0;
	}
	memset(&st, 0, sizeof(st));
	st.early = !mc->list_given || a->o->early_exit_enable;
	for (size_t bi = 0; bi < n_batches && !po->stop_all && !st.failed_variant; bi++) {
		int64_t b = (int64_t)batches[bi];

		/* Model Analyzer's illegal combinations: a client batch the model cannot take. */
		if ((cfg->max_batch_size == 0 && b > 1) ||
		    (cfg->max_batch_size > 0 && b > cfg->max_batch_size))
			continue;
		rc = sweep_batch(a, mc, v, pt, &st, b, po, err);
		if (rc)
			goto out;
		values_add(&batch_tp, &n_batch_tp, &alloc_batch_tp, st.batch_max);
		if (st.early && gain_exhausted(batch_tp, n_batch_tp))
			break;
	}
	sweep_finish(a, mc, v, &st, po);
out:
	free(st.tps);
	free(batch_tp);
	return rc;
}

/* ---- the idle server ----------------------------------------------------------- */

/* Waits out the idle measurement (Ctrl-C ends it early). */
static void idle_wait(struct analyzer *a)
{
	double end = mono_s() + a->o->duration_seconds;

	while (mono_s() < end && !interrupted(a)) {
		struct timespec ts = { 0, 50000000 };

		nanosleep(&ts, NULL);
	}
}

/* The idle server's figures from its metrics page (scr, freed here) and the local samples. */
static void idle_fill(struct analyzer *a, struct store_server_only *so, struct scraper *scr,
		      uint64_t from, uint64_t to)
{
	struct scrape_summary ss;
	struct sampler_summary sm;

	if (scr && !scraper_window(scr, from, to, &ss, NULL) && ss.n_scrapes) {
		struct store_measurement tmp;

		memset(&tmp, 0, sizeof(tmp));
		fill_metrics(&tmp, &ss);
		so->fig = tmp.fig;
		so->gpus = tmp.gpus;
		so->n_gpus = tmp.n_gpus;
	}
	scraper_free(scr);
	sampler_window(a->sampler, from, to, &sm);
	if (sm.has_server_rss) {
		figures_set(&so->fig, FIG_SERVER_RSS, sm.server_rss_mb);
		figures_set(&so->fig, FIG_CPU_USED_RAM, sm.server_rss_mb);
	}
	if (sm.has_server_cpu)
		figures_set(&so->fig, FIG_SERVER_CPU_UTILIZATION, sm.server_cpu_pct);
	if (a->proc && sm.has_energy)
		figures_set(&so->fig, FIG_CPU_POWER, sm.cpu_power_w);
	if (!figures_has(&so->fig, FIG_CPU_UTILIZATION) && sm.has_host_cpu && a->proc)
		figures_set(&so->fig, FIG_CPU_UTILIZATION, sm.host_cpu_pct);
	if (!figures_has(&so->fig, FIG_HOST_USED_RAM) && sm.has_host_memory && a->proc) {
		figures_set(&so->fig, FIG_HOST_USED_RAM, sm.host_used_mb);
		figures_set(&so->fig, FIG_CPU_FREE_RAM, sm.host_available_mb);
	}
}

int sweep_idle_server(struct analyzer *a, struct it_error *err)
{
	struct store_server_only so, prev;
	struct scraper *scr = NULL;
	uint64_t from, to;
	bool found = false;
	int rc;

	rc = store_server_only_latest(a->store, &prev, &found, err);
	if (rc)
		return rc;
	if (found) {
		store_server_only_release(&prev);
		analyzer_emit(a, AEV_LOG, 2, "server-only metrics: already in results.db");
		return 0;
	}
	if (a->o->duration_seconds <= 0)
		return 0;
	if (a->proc && a->server_dirty) {
		rc = analyzer_server_start(a, err);
		if (rc)
			return rc;
	}
	analyzer_emit(a, AEV_LOG, 0, "measuring the idle server for %.1f s (server-only metrics)",
		      a->o->duration_seconds);
	memset(&so, 0, sizeof(so));
	so.run_id = a->run_id;
	so.started_at = store_now();
	if (a->collect_metrics)
		scraper_start(a->metrics_url, 250, &scr, NULL);
	from = sampler_now_ns();
	idle_wait(a);
	to = sampler_now_ns();
	so.duration_s = (double)(to - from) / 1e9;
	idle_fill(a, &so, scr, from, to);
	if (interrupted(a)) {
		store_server_only_release(&so);
		return 0;
	}
	rc = store_server_only_add(a->store, &so, err);
	store_server_only_release(&so);
	return rc;
}
