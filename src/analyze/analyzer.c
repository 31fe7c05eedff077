/*
 * The run loop of `infertune analyze`: analyzer_new() runs the preflight
 * checks, analyzer_run() walks each model's search point by point (the
 * variant of a point from variant.c, its sweep from sweep.c), keeps the
 * progress and the time-left estimate, and sends the events. Invariants
 * that make --resume exact:
 *  - a variant is identified by its configuration (the canonical JSON
 *    without the name), so the same point always maps to the same variant
 *    and name;
 *  - a measurement is identified by (variant, measurement settings, client
 *    batch, load kind, load value); before measuring, the store is asked,
 *    and a stored measurement is used exactly as a fresh one would be;
 *  - every decision (the search's, the sweep's early exit, a failure that
 *    ends a sweep) is taken from those figures only.
 * A measurement is committed before the next one starts; an interrupted
 * one is never stored.
 */
#include "analyze/analyzer.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analyze/analyzer_internal.h"
#include "analyze/interleave.h"
#include "analyze/objective.h"
#include "analyze/options.h"
#include "analyze/outputs.h"
#include "analyze/preflight.h"
#include "analyze/sampler.h"
#include "analyze/search.h"
#include "analyze/server_proc.h"
#include "analyze/sweep.h"
#include "analyze/variant.h"
#include "model/config.h"
#include "model/repository.h"
#include "store/query.h"
#include "util/error.h"
#include "util/xalloc.h"
#include "util/banned.h"

/* ---- events ------------------------------------------------------------------- */

static void update_clock(struct analyzer *a)
{
	a->prog.elapsed_s = mono_s() - a->t_start;
	a->prog.measured = a->summary.measured;
	a->prog.reused = a->summary.reused;
}

/* Time left: points to come x levels per point x time per fresh level. */
static double eta(struct analyzer *a, const struct search *s)
{
	double per_level, levels_per_point;
	size_t remaining = search_remaining(s);

	if (!a->fresh_n)
		return -1;
	per_level = a->fresh_s / (double)a->fresh_n;
	levels_per_point = a->points_done ? (double)a->levels_done / (double)a->points_done : 4;
	return per_level * levels_per_point * (double)remaining *
	       (double)(a->n_models - a->prog.model_index + 1);
}

/*
 * The message is formatted here rather than with it_error_setv(): an event
 * message may be longer than an it_error's (2047 bytes against 1023).
 */
void analyzer_emit(struct analyzer *a, enum analyze_event_kind kind, int level,
		   const char *fmt, ...)
{
	struct analyze_event ev;
	char msg[2048];
	va_list ap;

	if (!a->cfg->on_event)
		return;
	msg[0] = '\0';
	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
	}
	update_clock(a);
	memset(&ev, 0, sizeof(ev));
	ev.kind = kind;
	ev.level = level;
	ev.message = msg;
	ev.progress = &a->prog;
	a->cfg->on_event(a->cfg->ctx, &ev);
}

void analyzer_emit_event(struct analyzer *a, struct analyze_event *ev)
{
	if (!a->cfg->on_event)
		return;
	update_clock(a);
	if (a->search && (ev->kind == AEV_MEASUREMENT || ev->kind == AEV_VARIANT_START))
		a->prog.eta_s = eta(a, a->search);
	ev->progress = &a->prog;
	if (!ev->message)
		ev->message = "";
	a->cfg->on_event(a->cfg->ctx, ev);
}

/* ---- the analyzer ------------------------------------------------------------- */

const char *analyzer_search_mode(const struct analyzer *a)
{
	const struct analyze_options *o = a->o;

	/* Model Analyzer: manual when the search is disabled or any model lists parameters. */
	for (size_t i = 0; i < o->n_models; i++) {
		if (o->models[i].manual.given)
			return "manual";
	}
	if (o->search_disable)
		return "manual";
	return o->search_mode;
}

int analyzer_new(const struct analyzer_config *cfg, struct analyzer **out,
		 struct it_error *err)
{
	const struct analyze_options *o = cfg->options;
	struct analyzer *a = xcalloc(1, sizeof(*a));
	int rc;

	a->lock_fd = -1;
	a->cfg = cfg;
	a->o = o;
	a->t_start = mono_s();
	rc = analyze_options_check(o, err);
	if (!rc)
		rc = preflight_export(a, err);
	if (!rc)
		rc = preflight_output_repository(a, err);
	if (!rc)
		rc = preflight_model_repository(a, err);
	if (!rc)
		rc = preflight_server(a, err);
	if (!rc)
		rc = preflight_models(a, err);
	if (rc)
		goto out;
	snprintf(a->summary.export_path, sizeof(a->summary.export_path), "%s", a->export_path);
	snprintf(a->summary.db_path, sizeof(a->summary.db_path), "%s", a->db_path);
	snprintf(a->summary.results_dir, sizeof(a->summary.results_dir), "%s", a->results_dir);
	a->summary.resumed = a->resumed;
	*out = a;
	a = NULL;
out:
	analyzer_free(a);
	return rc;
}

void analyzer_free(struct analyzer *a)
{
	if (!a)
		return;
	sampler_free(a->sampler);
	analyzer_server_close(a, interrupted(a) && *a->cfg->interrupt >= 2);
	for (size_t i = 0; i < a->n_models; i++)
		model_ctx_release(&a->models[i]);
	free(a->models);
	for (size_t i = 0; i < a->n_gpus; i++)
		free(a->gpus[i]);
	free(a->gpus);
	repository_free(a->repo);
	store_close(a->store);
	if (a->lock_fd >= 0)
		close(a->lock_fd);
	free(a->summary.models);
	free(a->export_path);
	free(a->results_dir);
	free(a->db_path);
	free(a->out_repo);
	free(a->log_path);
	free(a->port_file);
	free(a);
}

const struct analyze_summary *analyzer_summary(const struct analyzer *a)
{
	return &a->summary;
}

/* ---- the run ------------------------------------------------------------------ */

/*
 * Stores what the search predicted for the point next to the measurement
 * that checked it (its one concurrency), and says how far off it was.
 */
static void prediction_record(struct analyzer *a, const struct store_variant *v,
			      const struct search_point *pt, const struct search_prediction *pred,
			      const struct store_measurement *ms, size_t n_ms)
{
	struct store_prediction sp;
	struct it_error e = { 0 };

	memset(&sp, 0, sizeof(sp));
	sp.run_id = a->run_id;
	sp.variant_id = v->id;
	sp.load_kind = pt->request_rate > 0 ? LOAD_REQUEST_RATE : LOAD_CONCURRENCY;
	sp.load_value = pt->request_rate > 0 ? pt->request_rate : (double)pt->concurrency;
	sp.fig = pred->fig;
	sp.rel_uncertainty = pred->rel_uncertainty;
	sp.probe = pred->probe;
	snprintf(sp.model, sizeof(sp.model), "%s", pred->model);
	for (size_t i = 0; i < n_ms; i++)
		if (ms[i].phase == PHASE_SWEEP && ms[i].load_kind == sp.load_kind &&
		    ms[i].load_value == sp.load_value && measurement_valid(&ms[i])) {
			double meas = ms[i].fig.v[FIG_THROUGHPUT];

			sp.measurement_id = ms[i].id;
			analyzer_emit(a, AEV_LOG, 0, "%s: measured %.1f infer/s, predicted %.1f (%+.1f%%)",
				      v->name, meas, pred->fig.v[FIG_THROUGHPUT],
				      (pred->fig.v[FIG_THROUGHPUT] - meas) / meas * 100);
		}
	if (store_prediction_add(a->store, &sp, &e))
		analyzer_emit(a, AEV_LOG, 1, "results.db: %s", e.message);
}

/*
 * One point of the search: its configuration, its variant, its sweep, and
 * what the search is told. *stop is set when the analysis must not go on
 * (interrupted, or the server cannot be reached any more).
 */
static int run_point(struct analyzer *a, struct model_ctx *mc, struct search *s,
		     const struct search_point *pt, bool *stop, struct it_error *err)
{
	struct model_config *cfg = NULL;
	struct store_variant v;
	struct point_outcome po;
	struct search_outcome so;
	struct search_prediction pred;
	struct store_measurement *ms = NULL;
	size_t n_ms = 0;
	struct analyze_event ev;
	char label[256];
	bool has_pred;
	int rc;

	search_point_label(pt, label, sizeof(label));
	has_pred = search_prediction(s, &pred);
	a->prog.variant_index = search_proposed(s);
	a->prog.variant_total = search_proposed(s) + search_remaining(s);
	rc = variant_build_config(mc, pt, &cfg, err);
	if (rc) {
		/* Model Analyzer skips illegal combinations; so does the search. */
		analyzer_emit(a, AEV_LOG, 1,
			      "model %s: point %s is not a valid configuration (%s); skipped",
			      mc->name, label, err ? err->message : "");
		memset(&so, 0, sizeof(so));
		search_feed(s, &so);
		return 0;
	}
	rc = variant_get(a, mc, pt, cfg, &v, err);
	if (rc) {
		model_config_free(cfg);
		return rc;
	}
	a->prog.variant = v.name;
	a->prog.label = v.label ? v.label : label;
	if (has_pred)
		analyzer_emit(a, AEV_LOG, 0, "%s: predicted %.1f infer/s, p99 %.2f ms (±%.0f%%; %s)",
			      v.name, pred.fig.v[FIG_THROUGHPUT], pred.fig.v[FIG_LATENCY_P99],
			      pred.rel_uncertainty * 100, pred.model);
	memset(&ev, 0, sizeof(ev));
	ev.kind = AEV_VARIANT_START;
	ev.message = label;
	analyzer_emit_event(a, &ev);
	rc = sweep_point(a, mc, &v, pt, cfg, &po, err);
	if (rc)
		goto out;
	a->points_done++;
	a->levels_done += po.levels;
	memset(&ev, 0, sizeof(ev));
	ev.kind = AEV_VARIANT_DONE;
	ev.status = v.status;
	ev.message = v.failure_reason ? v.failure_reason : "";
	analyzer_emit_event(a, &ev);
	*stop = po.stop_all;
	if (po.stop_all)
		goto out;
	rc = store_measurements_of_variant(a->store, v.id, mc->profile_key, &ms, &n_ms, err);
	if (rc)
		goto out;
	if (has_pred)
		prediction_record(a, &v, pt, &pred, ms, n_ms);
	memset(&so, 0, sizeof(so));
	so.measured = po.measured;
	so.max_throughput = po.max_tp;
	so.best = po.has_best ? &po.best : NULL;
	so.config = cfg;
	so.ms = ms;
	so.n_ms = n_ms;
	search_feed(s, &so);
out:
	for (size_t i = 0; i < n_ms; i++)
		store_measurement_release(&ms[i]);
	free(ms);
	model_config_free(cfg);
	store_variant_release(&v);
	return rc;
}

/* How far the search's predictions missed, when it made any (the log's last word on them). */
static void predictions_summary(struct analyzer *a, const struct model_ctx *mc)
{
	struct store_checked_prediction *ps = NULL;
	struct prediction_errors guided, probe;
	struct it_error e = { 0 };
	size_t n = 0;

	if (store_predictions_of_model(a->store, mc->model_id, &ps, &n, &e)) {
		analyzer_emit(a, AEV_LOG, 1, "results.db: %s", e.message);
		return;
	}
	prediction_errors_of(ps, n, false, &guided);
	prediction_errors_of(ps, n, true, &probe);
	if (guided.n + probe.n)
		analyzer_emit(a, AEV_LOG, 0, "model %s: throughput predictions missed by "
			      "%.1f%% (median), %.1f%% at worst on %zu guided points; by %.1f%%, "
			      "%.1f%% on %zu probes", mc->name, guided.median_pct,
			      guided.worst_pct, guided.n, probe.median_pct, probe.worst_pct, probe.n);
	free(ps);
}

static int run_model(struct analyzer *a, struct model_ctx *mc, struct it_error *err)
{
	const struct search_ops *ops = search_find(analyzer_search_mode(a));
	struct search *s = NULL;
	struct search_point pt;
	bool stop = false;
	int rc;

	rc = search_new(ops, &mc->space, &mc->obj, &s, err);
	if (rc) {
		it_error_prefix(err, "model '%s'", mc->name);
		return rc;
	}
	a->search = s;
	a->prog.model = mc->name;
	a->prog.variant = NULL;
	a->prog.label = NULL;
	a->prog.variant_index = 0;
	analyzer_emit(a, AEV_LOG, 0, "model %s: %s search, %s instances, measurement settings %s",
		      mc->name, search_name(s), instance_kind_name(mc->kind), mc->profile_key);
	while (!rc && !stop && !interrupted(a) && !a->fatal && search_next(s, &pt)) {
		if (*search_note(s))
			analyzer_emit(a, AEV_LOG, 0, "model %s: %s", mc->name, search_note(s));
		rc = run_point(a, mc, s, &pt, &stop, err);
	}
	if (*search_note(s))
		analyzer_emit(a, AEV_LOG, 0, "model %s: %s", mc->name, search_note(s));
	a->search = NULL;
	search_free(s);
	predictions_summary(a, mc);
	if (mc->race.has && a->race_windows_saved)
		analyzer_emit(a, AEV_LOG, 0, "model %s: racing saved %zu windows", mc->name,
			      a->race_windows_saved);
	a->race_windows_saved = 0;
	if (!rc && !stop)
		rc = interleave_model(a, mc, err);
	return rc;
}

/* Records the run in results.db (its options, the server, the GPUs found). */
static int run_begin(struct analyzer *a, struct it_error *err)
{
	struct store_run run;
	json_t *opts;
	char *opts_text, *gpus_text;
	json_t *gpus;
	int rc;

	opts = analyze_options_to_json(a->o);
	opts_text = json_dumps(opts, JSON_COMPACT);
	json_decref(opts);
	gpus = json_array();
	for (size_t g = 0; g < a->n_gpus; g++)
		json_array_append_new(gpus, json_string(a->gpus[g]));
	gpus_text = json_dumps(gpus, JSON_COMPACT);
	json_decref(gpus);
	memset(&run, 0, sizeof(run));
	run.command_line = a->cfg->command_line;
	run.options_json = opts_text;
	run.search_mode = analyzer_search_mode(a);
	run.server_mode = a->o->server_mode == ANALYZE_SERVER_REMOTE ? "remote" : "embedded";
	run.server_url = a->o->server_mode == ANALYZE_SERVER_REMOTE ? a->server_url : NULL;
	run.profile_key = a->n_models ? a->models[0].profile_key : "";
	run.gpus_json = gpus_text;
	run.version = INFERTUNE_VERSION;
	rc = store_run_begin(a->store, &run, &a->run_id, err);
	free(opts_text);
	free(gpus_text);
	return rc;
}

/* The models in results.db, the idle server, then every model's search. */
static int run_models(struct analyzer *a, struct it_error *err)
{
	int rc = 0;

	a->prog.n_models = a->n_models;
	for (size_t i = 0; !rc && i < a->n_models; i++) {
		struct model_ctx *mc = &a->models[i];

		rc = store_model_get_or_add(a->store, mc->name, mc->base->platform,
					    mc->base->backend, mc->base_pbtxt, mc->base_json,
					    mc->repository, a->run_id, &mc->model_id, err);
	}
	if (!rc)
		rc = sweep_idle_server(a, err);
	for (size_t i = 0; !rc && i < a->n_models && !interrupted(a) && !a->fatal; i++) {
		a->prog.model_index = i + 1;
		rc = run_model(a, &a->models[i], err);
	}
	if (!rc && a->fatal)
		rc = it_error_set(err, IT_ERR_IO, "%s", a->fatal_msg);
	return rc;
}

/*
 * Writes the outputs (whatever rc is) and closes the run in results.db as
 * completed, interrupted or failed. Returns the run's final code.
 */
static int run_finish(struct analyzer *a, int rc, struct it_error *err)
{
	const char *status = "completed";
	char message[IT_ERROR_MESSAGE_MAX] = "";
	struct it_error oerr = { 0 };
	int orc;

	a->summary.interrupted = interrupted(a);
	if (a->proc && a->summary.interrupted && *a->cfg->interrupt >= 2)
		server_proc_kill_now(a->proc);
	orc = analyzer_write_outputs(a, &oerr);
	if (orc)
		snprintf(a->summary.outputs_error, sizeof(a->summary.outputs_error), "%s",
			 oerr.message);
	if (orc && !rc) {
		rc = orc;
		if (err)
			*err = oerr;
	}
	if (rc) {
		status = "failed";
		snprintf(message, sizeof(message), "%s", err ? err->message : "failed");
	} else if (a->summary.interrupted) {
		status = "interrupted";
		snprintf(message, sizeof(message), "interrupted; --resume continues");
		rc = it_error_set(err, IT_ERR_STATE, "interrupted");
	}
	store_run_finish(a->store, a->run_id, status, message, NULL);
	a->summary.wall_s = mono_s() - a->t_start;
	return rc;
}

int analyzer_run(struct analyzer *a, struct it_error *err)
{
	int rc;

	a->t_start = mono_s();
	a->summary.measured = a->summary.reused = 0;
	a->summary.outputs_error[0] = '\0';
	rc = preflight_record_machine(a, err);
	if (rc)
		return rc;
	rc = run_begin(a, err);
	if (rc)
		return rc;
	if (a->resumed)
		analyzer_emit(a, AEV_LOG, 0, "resuming from %s: measured points are reused",
			      a->db_path);
	rc = run_models(a, err);
	return run_finish(a, rc, err);
}

int analyzer_write_outputs(struct analyzer *a, struct it_error *err)
{
	struct outputs_model *om = xcalloc(a->n_models ? a->n_models : 1, sizeof(*om));
	struct outputs_config oc;
	int rc;

	for (size_t i = 0; i < a->n_models; i++) {
		om[i].name = a->models[i].name;
		om[i].model_id = a->models[i].model_id;
		om[i].profile_key = a->models[i].profile_key;
		om[i].objectives = &a->models[i].obj;
		om[i].rates = a->models[i].rates.v;
		om[i].n_rates = a->models[i].rates.n;
	}
	memset(&oc, 0, sizeof(oc));
	oc.store = a->store;
	oc.run_id = a->run_id;
	oc.models = om;
	oc.n_models = a->n_models;
	oc.results_dir = a->results_dir;
	oc.best_dir = NULL;
	oc.export_path = a->export_path;
	oc.filename_inference = a->o->filename_model_inference;
	oc.filename_gpu = a->o->filename_model_gpu;
	oc.filename_server_only = a->o->filename_server_only;
	free(a->summary.models);
	a->summary.models = xcalloc(a->n_models ? a->n_models : 1, sizeof(*a->summary.models));
	a->summary.n_models = a->n_models;
	rc = outputs_write(&oc, a->summary.models, err);
	free(om);
	return rc;
}
