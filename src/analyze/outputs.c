/*
 * CSV and best-config writers. Model Analyzer's files keep its headers,
 * its "%.1f" rounding and its row order: configurations best first, and
 * within one configuration the measurements that meet the constraints
 * first (result_table_manager.py).
 */
#include "analyze/outputs.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "analyze/analyzer.h"
#include "analyze/capacity.h"
#include "analyze/capacity_predict.h"
#include "analyze/objective.h"
#include "analyze/tier.h"
#include "model/config.h"
#include "store/store.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/strbuf.h"
#include "util/xalloc.h"
#include "util/banned.h"

/* One variant with its measurements. */
struct vdata {
	struct store_variant v;
	struct store_measurement *ms;
	size_t n;
};

void outputs_instance_group(const char *config_pbtxt, unsigned gpu_count,
			    char *buf, size_t size)
{
	struct model_config *cfg = model_config_parse(config_pbtxt, strlen(config_pbtxt),
						      "variant", NULL);
	/* Triton has four instance kinds (AUTO, GPU, CPU, MODEL): 8 never fills. */
	const char *kinds[8];
	long counts[8];
	size_t nk = 0, used = 0;

	buf[0] = '\0';
	if (!cfg || !cfg->n_instance_groups) {
		snprintf(buf, size, "1:CPU");
		model_config_free(cfg);
		return;
	}
	for (size_t i = 0; i < cfg->n_instance_groups; i++) {
		const struct model_instance_group *g = &cfg->instance_groups[i];
		const char *kind = instance_kind_name(g->kind);
		long count = g->count ? g->count : 1;
		size_t k;

		kind = strchr(kind, '_') ? strchr(kind, '_') + 1 : kind;
		if (g->kind == INSTANCE_KIND_GPU)
			count *= g->n_gpus ? (long)g->n_gpus : (gpu_count ? (long)gpu_count : 1);
		for (k = 0; k < nk && strcmp(kinds[k], kind); k++)
			;
		if (k == nk) {
			if (nk == 8)
				continue;
			kinds[nk] = kind;
			counts[nk++] = 0;
		}
		counts[k] += count;
	}
	for (size_t k = 0; k < nk && used < size; k++)
		used += (size_t)snprintf(buf + used, size - used, "%s%ld:%s", k ? " + " : "",
					 counts[k], kinds[k]);
	model_config_free(cfg);
}

/* Appends a CSV field, quoted when it must be. */
static void csv_field(struct strbuf *sb, const char *s, bool first)
{
	if (!first)
		strbuf_addch(sb, ',');
	if (!strpbrk(s, ",\"\n\r")) {
		strbuf_adds(sb, s);
		return;
	}
	strbuf_addch(sb, '"');
	for (; *s; s++) {
		if (*s == '"')
			strbuf_addch(sb, '"');
		strbuf_addch(sb, *s);
	}
	strbuf_addch(sb, '"');
}

/* A number with `decimals` decimals (Model Analyzer rounds to 1). */
static void csv_fixed(struct strbuf *sb, double v, int decimals)
{
	char buf[64];

	snprintf(buf, sizeof(buf), "%.*f", decimals, v);
	csv_field(sb, buf, false);
}

/* A number with up to `digits` significant digits. */
static void csv_general(struct strbuf *sb, double v, int digits)
{
	char buf[64];

	snprintf(buf, sizeof(buf), "%.*g", digits, v);
	csv_field(sb, buf, false);
}

static void load_text(const struct store_measurement *m, char *buf, size_t size)
{
	if (m->load_kind == LOAD_CONCURRENCY)
		snprintf(buf, size, "%lld", (long long)m->load_value);
	else
		snprintf(buf, size, "%g", m->load_value);
}

static void vdata_release(struct vdata *vd, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		store_variant_release(&vd[i].v);
		for (size_t k = 0; k < vd[i].n; k++)
			store_measurement_release(&vd[i].ms[k]);
		free(vd[i].ms);
	}
	free(vd);
}

static int write_best(const struct outputs_config *oc, const char *model,
		      const struct store_variant *v, char *path_out, size_t path_size,
		      struct it_error *err)
{
	struct model_config *cfg = NULL;
	struct strbuf dir;
	char *path = NULL;
	int rc = 0;

	strbuf_init(&dir, 0);
	if (oc->best_dir)
		strbuf_addf(&dir, "%s/%s", oc->best_dir, model);
	else
		strbuf_addf(&dir, "%s/best/%s", oc->export_path, model);
	rc = fs_mkdir_p(dir.buf, err);
	if (rc)
		goto out;
	cfg = model_config_parse(v->config_pbtxt, strlen(v->config_pbtxt), v->name, err);
	if (!cfg) {
		rc = IT_ERR_INTERNAL;
		goto out;
	}
	/* The model's own name: the folder it is deployed in. */
	rc = model_config_set_name(cfg, model, err);
	if (rc)
		goto out;
	path = fs_join(dir.buf, "config.pbtxt");
	rc = model_config_write_file(cfg, path, err);
	if (!rc)
		snprintf(path_out, path_size, "%s", path);
out:
	free(path);
	model_config_free(cfg);
	strbuf_release(&dir);
	return rc;
}

/* "Throughput (infer/sec)" -> "Throughput 95% CI Low (infer/sec)". */
static void interval_header(struct strbuf *sb, const char *header, const char *bound)
{
	const char *unit = strrchr(header, '(');
	struct strbuf h;

	strbuf_init(&h, 0);
	if (unit && unit > header)
		strbuf_addf(&h, "%.*s 95%% CI %s %s", (int)(unit - header - 1), header, bound, unit);
	else
		strbuf_addf(&h, "%s 95%% CI %s", header, bound);
	csv_field(sb, h.buf, false);
	strbuf_release(&h);
}

/* Columns of a figure in measurements.csv: its value, then its interval when it has one. */
static int rich_figure_columns(void)
{
	int n = 0;

	for (int f = 0; f < FIG_COUNT; f++)
		n += figure_has_interval((enum figure)f) ? 3 : 1;
	return n;
}

static void rich_header(struct strbuf *sb)
{
	static const char *const pre[] = {
		"Model", "Model Config Path", "Default", "Search Point", "Instance Group",
		"Max Batch Size", "Dynamic Batching", "Variant Status", "Failure Reason",
		"Rank", "Batch", "Load Kind", "Load Value", "Status",
		"Satisfies Constraints",
	};
	static const char *const post[] = {
		"Request Count", "Failed Count", "Windows", "Merged Windows", "Window Mode",
		"Window (ms)", "Window Requests", "Stability (%)", "Client Saturated",
		"Phase", "Precision Met", "Stopped Early", "Client CPU Share (%)",
		"Started At", "Duration (s)", "Message",
	};

	for (size_t i = 0; i < sizeof(pre) / sizeof(pre[0]); i++)
		csv_field(sb, pre[i], i == 0);
	for (int f = 0; f < FIG_COUNT; f++) {
		csv_field(sb, figure_table[f].header, false);
		if (figure_has_interval((enum figure)f)) {
			interval_header(sb, figure_table[f].header, "Low");
			interval_header(sb, figure_table[f].header, "High");
		}
	}
	for (size_t i = 0; i < sizeof(post) / sizeof(post[0]); i++)
		csv_field(sb, post[i], false);
	strbuf_addch(sb, '\n');
}

/* A number, or an empty field when it is not finite (unknown). */
static void csv_general_or_empty(struct strbuf *sb, double v, int digits)
{
	if (isfinite(v))
		csv_general(sb, v, digits);
	else
		csv_field(sb, "", false);
}

/* The figures, each followed by its interval bounds when it has one (empty: unknown). */
static void rich_figures(struct strbuf *sb, const struct figures *fs)
{
	for (int f = 0; f < FIG_COUNT; f++) {
		double lo, hi;

		csv_general_or_empty(sb, figures_get(fs, (enum figure)f, NAN), 9);
		if (!figure_has_interval((enum figure)f))
			continue;
		figures_interval(fs, (enum figure)f, &lo, &hi);
		csv_general_or_empty(sb, lo, 9);
		csv_general_or_empty(sb, hi, 9);
	}
}

/* Phase, Precision Met, Stopped Early, Client CPU Share (%). */
static void rich_trust(struct strbuf *sb, const struct store_measurement *m)
{
	csv_field(sb, measurement_phase_name(m->phase), false);
	csv_field(sb, m->precision_known ? (m->precision_met ? "Yes" : "No") : "", false);
	csv_field(sb, m->stopped_early ? "Yes" : "No", false);
	csv_general_or_empty(sb, m->client_cpu_share * 100, 6);
}

static void rich_row(struct strbuf *sb, const char *model, const struct vdata *vd,
		     const char *group, size_t rank, const struct store_measurement *m,
		     const struct objective_set *obj)
{
	char buf[128];

	csv_field(sb, model, true);
	csv_field(sb, vd->v.name, false);
	csv_field(sb, vd->v.is_default ? "Yes" : "No", false);
	csv_field(sb, vd->v.label ? vd->v.label : "", false);
	csv_field(sb, group, false);
	snprintf(buf, sizeof(buf), "%d", vd->v.max_batch_size);
	csv_field(sb, buf, false);
	csv_field(sb, vd->v.dynamic_batching ? "Enabled" : "Disabled", false);
	csv_field(sb, variant_status_name(vd->v.status), false);
	csv_field(sb, vd->v.failure_reason ? vd->v.failure_reason : "", false);
	snprintf(buf, sizeof(buf), "%zu", rank);
	csv_field(sb, buf, false);
	if (!m) {
		for (int i = 0; i < 5 + rich_figure_columns() + 16; i++)
			csv_field(sb, "", false);
		strbuf_addch(sb, '\n');
		return;
	}
	snprintf(buf, sizeof(buf), "%lld", (long long)m->batch_size);
	csv_field(sb, buf, false);
	csv_field(sb, load_kind_name(m->load_kind), false);
	load_text(m, buf, sizeof(buf));
	csv_field(sb, buf, false);
	csv_field(sb, measurement_status_name(m->status), false);
	csv_field(sb, measurement_valid(m) ? (objective_passes(obj, &m->fig) ? "Yes" : "No") : "",
		  false);
	rich_figures(sb, &m->fig);
	if (measurement_valid(m)) {
		snprintf(buf, sizeof(buf), "%llu", (unsigned long long)m->request_count);
		csv_field(sb, buf, false);
		snprintf(buf, sizeof(buf), "%llu", (unsigned long long)m->failed_count);
		csv_field(sb, buf, false);
	} else {
		csv_field(sb, "", false);
		csv_field(sb, "", false);
	}
	snprintf(buf, sizeof(buf), "%u", m->window_count);
	csv_field(sb, buf, false);
	snprintf(buf, sizeof(buf), "%u", m->merged_count);
	csv_field(sb, buf, false);
	csv_field(sb, m->window_mode, false);
	if (m->window_ms > 0)
		csv_general(sb, m->window_ms, 6);
	else
		csv_field(sb, "", false);
	if (m->window_requests) {
		snprintf(buf, sizeof(buf), "%llu", (unsigned long long)m->window_requests);
		csv_field(sb, buf, false);
	} else {
		csv_field(sb, "", false);
	}
	csv_general(sb, m->stability_pct, 6);
	csv_field(sb, m->client_saturated ? "Yes" : "No", false);
	rich_trust(sb, m);
	store_time_iso(m->started_at, buf, sizeof(buf));
	csv_field(sb, buf, false);
	csv_fixed(sb, m->finished_at - m->started_at, 3);
	csv_field(sb, m->message, false);
	strbuf_addch(sb, '\n');
}

static int write_file(const char *dir, const char *name, const struct strbuf *sb,
		      struct it_error *err)
{
	char *path = fs_join(dir, name);
	int rc = fs_write_file_atomic(path, sb->buf, sb->len, err);

	free(path);
	return rc;
}

static void fill_result(struct analyze_model_result *r, const char *model,
			const struct vdata *vd, size_t n, const struct rank_entry *rk)
{
	const struct store_measurement *def = NULL;

	memset(r, 0, sizeof(*r));
	snprintf(r->model, sizeof(r->model), "%s", model);
	r->n_variants = n;
	for (size_t i = 0; i < n; i++) {
		if (vd[i].v.status >= VARIANT_LOAD_FAILED)
			r->n_failed++;
		for (size_t k = 0; k < vd[i].n; k++)
			r->n_measurements += measurement_valid(&vd[i].ms[k]);
	}
	for (size_t i = 0; i < n; i++) {
		const struct rank_entry *e = &rk[i];

		if (vd[e->input].v.is_default && e->best >= 0)
			def = &vd[e->input].ms[e->best];
	}
	if (def) {
		r->has_default = true;
		r->default_best = def->fig;
	}
	if (n && rk[0].best >= 0) {
		const struct vdata *b = &vd[rk[0].input];
		const struct store_measurement *m = &b->ms[rk[0].best];

		r->has_best = true;
		snprintf(r->best_variant, sizeof(r->best_variant), "%s", b->v.name);
		snprintf(r->best_label, sizeof(r->best_label), "%s", b->v.label ? b->v.label : "");
		r->best_passes = rk[0].passes;
		r->best = m->fig;
		r->best_batch = m->batch_size;
		r->best_load_kind = m->load_kind;
		r->best_load = m->load_value;
	}
}

/* The files, built in memory and written at the end. */
struct csv_files {
	struct strbuf inf;              /* Model Analyzer's inference CSV, without header */
	struct strbuf gpu;              /* its GPU CSV, without header */
	struct strbuf srv;              /* its server-only CSV */
	struct strbuf rich;             /* measurements.csv */
	struct strbuf cap;              /* metrics-capacity.csv, without header */
	bool any_capacity;              /* a model with a latency budget: the capacity CSV */
	bool any_rate;                  /* a request-rate measurement: the rate header */
	bool any_gpu;                   /* GPU rows: the GPU CSV is written */
	unsigned gpu_count;             /* GPUs of the idle server (instance group text) */
};

/* A model's variants with their measurements of the model's settings. */
static int model_load(const struct outputs_config *oc, const struct outputs_model *om,
		      struct vdata **out, size_t *n_out, struct it_error *err)
{
	struct store_variant *vs = NULL;
	struct vdata *vd;
	size_t n = 0;
	int rc;

	rc = store_variants_of_model(oc->store, om->model_id, &vs, &n, err);
	if (rc)
		return rc;
	vd = xcalloc(n ? n : 1, sizeof(*vd));
	for (size_t i = 0; i < n; i++) {
		vd[i].v = vs[i];
		if (!rc)
			rc = store_measurements_of_variant(oc->store, vs[i].id, om->profile_key,
							   &vd[i].ms, &vd[i].n, err);
	}
	free(vs);
	if (rc) {
		vdata_release(vd, n);
		return rc;
	}
	*out = vd;
	*n_out = n;
	return 0;
}

/* v's valid interleaved measurement (it was a leader), NULL when it has none. */
static const struct store_measurement *interleaved_of(const struct vdata *v)
{
	for (size_t k = 0; k < v->n; k++)
		if (v->ms[k].phase == PHASE_INTERLEAVED && measurement_valid(&v->ms[k]))
			return &v->ms[k];
	return NULL;
}

/* The default's best measurement in the ranking, or NULL; *il its interleaved one. */
static const struct store_measurement *default_best(const struct vdata *vd, size_t n,
						     const struct rank_entry *rk,
						     const struct store_measurement **il)
{
	*il = NULL;
	for (size_t i = 0; i < n; i++)
		if (vd[rk[i].input].v.is_default && rk[i].best >= 0) {
			*il = interleaved_of(&vd[rk[i].input]);
			return &vd[rk[i].input].ms[rk[i].best];
		}
	return NULL;
}

/*
 * One ranked row as recorded: tier, borderline constraints, gain over the
 * default with its interval. The gain compares the two configurations'
 * interleaved re-measurements when both have one (the same drift fell on
 * both, and the tier was decided on them), else their sweep measurements.
 */
static void rank_row(const struct objective_set *o, const struct vdata *v,
		     const struct rank_entry *e, const struct store_measurement *def,
		     const struct store_measurement *def_il, struct store_rank *row,
		     bool *significant, bool *side_by_side)
{
	const struct store_measurement *m = e->best >= 0 ? &v->ms[e->best] : NULL;
	const struct store_measurement *m_il = def_il ? interleaved_of(v) : NULL;
	struct tier_gain g;

	memset(row, 0, sizeof(*row));
	*significant = false;
	*side_by_side = false;
	row->variant_id = v->v.id;
	row->best_measurement_id = m ? m->id : 0;
	row->satisfies_constraints = e->passes;
	row->in_top_tier = e->in_tier;
	row->measured_rank = (int64_t)e->measured_rank;
	if (!m)
		return;
	tier_borderline(o, m, row->borderline, sizeof(row->borderline));
	if (m_il) {
		def = def_il;
		m = m_il;
	}
	if (!def)
		return;
	tier_gain(o, def, m, !tier_worse(o, m, def) && !tier_worse(o, def, m), &g);
	row->has_gain = g.has;
	row->gain_vs_default_pct = g.pct;
	row->has_gain_ci = g.has_ci;
	row->gain_lo_pct = g.lo_pct;
	row->gain_hi_pct = g.hi_pct;
	*significant = g.significant;
	*side_by_side = m_il != NULL;
}

/* "config_4 (perf_latency_p99), config_5 (perf_throughput)" of the rows with borderline constraints. */
static void borderline_list(const struct vdata *vd, const struct rank_entry *rk,
			    const struct store_rank *ranks, size_t n, char *buf, size_t size)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n && used < size; i++)
		if (ranks[i].borderline[0])
			used += (size_t)snprintf(buf + used, size - used, "%s%s (%s)",
						 used ? ", " : "", vd[rk[i].input].v.name,
						 ranks[i].borderline);
}

/* The recommendation of a ranking with its tier of n_tier first: into *r and ranks[0]. */
static void recommend(const struct vdata *vd, size_t n, const struct rank_entry *rk,
		      size_t n_tier, enum tier_reason why, bool gpu, struct store_rank *ranks,
		      struct analyze_model_result *r)
{
	const char **names = xcalloc(n_tier + 1, sizeof(*names));
	struct tier_summary ts;
	struct strbuf sb;

	memset(&ts, 0, sizeof(ts));
	for (size_t i = 0; i < n; i++)
		ts.n_ranked += rk[i].best >= 0;
	for (size_t i = 0; i < n_tier; i++)
		names[i] = vd[rk[i].input].v.name;
	borderline_list(vd, rk, ranks, n, r->borderline, sizeof(r->borderline));
	ts.names = names;
	ts.n_tier = n_tier;
	ts.passes = n && rk[0].passes;
	ts.recommended_is_default = n && vd[rk[0].input].v.is_default;
	ts.has_default = r->has_default;
	ts.reason = why;
	ts.gpu = gpu;
	ts.gain.has = ranks[0].has_gain;
	ts.gain.pct = ranks[0].gain_vs_default_pct;
	ts.gain.has_ci = ranks[0].has_gain_ci;
	ts.gain.lo_pct = ranks[0].gain_lo_pct;
	ts.gain.hi_pct = ranks[0].gain_hi_pct;
	ts.gain.significant = r->gain_significant;
	ts.gain.side_by_side = r->gain_side_by_side;
	ts.borderline = r->borderline;
	strbuf_init(&sb, 0);
	tier_sentence(&ts, &sb);
	snprintf(r->recommendation, sizeof(r->recommendation), "%s", sb.buf);
	snprintf(ranks[0].recommendation, sizeof(ranks[0].recommendation), "%s", sb.buf);
	strbuf_release(&sb);
	free(names);
}

/*
 * The leaders, re-measured interleaved, ranked again among themselves on
 * those measurements: rk's leader entries (rk[0..n_lead), the top of the
 * sweep's tier) are put in that order, with that tier membership. Each
 * entry keeps its sweep measurement as its figures: interleaved figures
 * are compared with interleaved figures only. Co-loaded models can
 * measure lower together than alone (on a small CPU machine, a CPU model's
 * idle threads), which would rank a leader below a configuration it beat
 * in the sweep if the phases were mixed.
 */
static void rerank_leaders(const struct objective_set *o, const struct tier_variant *tv,
			   unsigned gpu_count, struct rank_entry *rk, size_t n_lead,
			   enum tier_reason *why, bool *gpu)
{
	struct tier_variant *lt = xcalloc(n_lead, sizeof(*lt));
	struct rank_entry *lr = xcalloc(n_lead, sizeof(*lr));
	struct rank_entry *old = xcalloc(n_lead, sizeof(*old));

	memcpy(old, rk, n_lead * sizeof(*old));
	for (size_t j = 0; j < n_lead; j++)
		lt[j] = tv[old[j].input];
	tier_rank(o, lt, n_lead, true, gpu_count, lr, why, gpu);
	for (size_t j = 0; j < n_lead; j++) {
		rk[j] = old[lr[j].input];
		rk[j].in_tier = lr[j].in_tier;
	}
	free(old);
	free(lr);
	free(lt);
}

/*
 * The ranking: Model Analyzer's order and the top tier on the sweep's
 * measurements (tier_rank), then the interleaved leaders' own order.
 */
static size_t rank_with_tier(const struct objective_set *o, const struct vdata *vd, size_t n,
			     unsigned gpu_count, struct rank_entry *rk, enum tier_reason *why,
			     bool *gpu)
{
	struct tier_variant *tv = xcalloc(n ? n : 1, sizeof(*tv));
	size_t n_tier, n_lead = 0;

	for (size_t i = 0; i < n; i++) {
		tv[i].variant_id = vd[i].v.id;
		tv[i].ms = vd[i].ms;
		tv[i].n = vd[i].n;
		tv[i].config_pbtxt = vd[i].v.config_pbtxt;
	}
	n_tier = tier_rank(o, tv, n, false, gpu_count, rk, why, gpu);
	/*
	 * The leaders are the first ranked configurations with an interleaved
	 * measurement: the sweep's tier and those within the precision target
	 * of its best (analyze/interleave.c picks them by the same ranking).
	 */
	while (n_lead < n && interleaved_of(&vd[rk[n_lead].input]))
		n_lead++;
	if (n_lead >= 2) {
		enum tier_reason lwhy = TIER_ALONE;
		bool lgpu = false;
		size_t lead_tier = 0;

		rerank_leaders(o, tv, gpu_count, rk, n_lead, &lwhy, &lgpu);
		for (size_t j = 0; j < n_lead; j++)
			lead_tier += rk[j].in_tier;
		/*
		 * The tier is the leaders' own; a sweep tier larger than the
		 * leaders keeps its other members only when no leader fell out.
		 */
		if (lead_tier < n_lead || n_tier <= n_lead) {
			n_tier = lead_tier;
			for (size_t j = lead_tier; j < n; j++)
				rk[j].in_tier = false;
		}
		*why = lwhy;
		*gpu = lgpu;
	}
	free(tv);
	return n_tier;
}

/*
 * Ranks the variants into rk[0..n) (the recommended one first), fills *r
 * and records the ranking, with each variant's gain over the default, its
 * tier membership and borderline constraints, and the recommendation.
 */
static int model_rank(const struct outputs_config *oc, const struct outputs_model *om,
		      const struct vdata *vd, size_t n, unsigned gpu_count,
		      struct rank_entry *rk, struct analyze_model_result *r,
		      struct it_error *err)
{
	struct store_rank *ranks = xcalloc(n ? n : 1, sizeof(*ranks));
	const struct store_measurement *def, *def_il;
	enum tier_reason why = TIER_ALONE;
	bool gpu = false;
	size_t n_tier;
	int rc = 0;

	n_tier = rank_with_tier(om->objectives, vd, n, gpu_count, rk, &why, &gpu);
	fill_result(r, om->name, vd, n, rk);
	r->n_tier = n_tier;
	def = default_best(vd, n, rk, &def_il);
	for (size_t i = 0; i < n; i++) {
		bool significant, side_by_side;

		rank_row(om->objectives, &vd[rk[i].input], &rk[i], def, def_il, &ranks[i],
			 &significant, &side_by_side);
		if (i == 0) {
			r->gain_significant = significant;
			r->gain_side_by_side = side_by_side;
		}
	}
	if (n && r->has_best) {
		r->has_gain = ranks[0].has_gain;
		r->gain_pct = ranks[0].gain_vs_default_pct;
		r->has_gain_ci = ranks[0].has_gain_ci;
		r->gain_lo_pct = ranks[0].gain_lo_pct;
		r->gain_hi_pct = ranks[0].gain_hi_pct;
		recommend(vd, n, rk, r->n_tier, why, gpu, ranks, r);
	}
	if (oc->run_id)
		rc = store_ranking_set(oc->store, oc->run_id, om->model_id, ranks, n, err);
	free(ranks);
	return rc;
}

/* "" for a figure that is absent, else "%.1f". */
static void csv_fixed_or_empty(struct strbuf *sb, bool has, double v)
{
	if (has)
		csv_fixed(sb, v, 1);
	else
		csv_field(sb, "", false);
}

/* One row of Model Analyzer's inference CSV. */
static void inference_row(struct csv_files *cf, const char *model, const struct vdata *v,
			  const struct store_measurement *m, const char *group,
			  const char *batch, const char *load, const char *yes)
{
	char mbs[32];

	snprintf(mbs, sizeof(mbs), "%d", v->v.max_batch_size);
	csv_field(&cf->inf, model, true);
	csv_field(&cf->inf, batch, false);
	csv_field(&cf->inf, load, false);
	csv_field(&cf->inf, v->v.name, false);
	csv_field(&cf->inf, group, false);
	csv_field(&cf->inf, mbs, false);
	csv_field(&cf->inf, yes, false);
	csv_fixed(&cf->inf, figures_get(&m->fig, FIG_THROUGHPUT, 0), 1);
	csv_fixed_or_empty(&cf->inf, figures_has(&m->fig, FIG_LATENCY_P99),
			   m->fig.v[FIG_LATENCY_P99]);
	strbuf_addch(&cf->inf, '\n');
}

/* The rows of Model Analyzer's GPU CSV: one per GPU of the measurement. */
static void gpu_rows(struct csv_files *cf, const char *model, const struct vdata *v,
		     const struct store_measurement *m, const char *group,
		     const char *batch, const char *load, const char *yes)
{
	for (size_t g = 0; g < m->n_gpus; g++) {
		const struct store_gpu *sg = &m->gpus[g];

		cf->any_gpu = true;
		csv_field(&cf->gpu, model, true);
		csv_field(&cf->gpu, sg->uuid, false);
		csv_field(&cf->gpu, batch, false);
		csv_field(&cf->gpu, load, false);
		csv_field(&cf->gpu, v->v.name, false);
		csv_field(&cf->gpu, group, false);
		csv_field(&cf->gpu, yes, false);
		csv_fixed_or_empty(&cf->gpu, sg->has_used_memory, sg->used_memory_mb);
		csv_fixed_or_empty(&cf->gpu, sg->has_utilization, sg->utilization_pct);
		csv_fixed_or_empty(&cf->gpu, sg->has_power, sg->power_w);
		strbuf_addch(&cf->gpu, '\n');
	}
}

/*
 * The rows of one variant (ranked `rank`), its measurements that meet the
 * constraints first: every one in measurements.csv (a row without a
 * measurement when it has none), the valid ones in Model Analyzer's CSVs.
 */
static void variant_rows(struct csv_files *cf, const struct outputs_model *om,
			 const struct vdata *v, size_t rank)
{
	size_t *order = xcalloc(v->n ? v->n : 1, sizeof(*order));
	char group[128], batch[32], load[64];

	outputs_instance_group(v->v.config_pbtxt, cf->gpu_count, group, sizeof(group));
	objective_sort_measurements(om->objectives, v->ms, v->n, order);
	if (!v->n)
		rich_row(&cf->rich, om->name, v, group, rank, NULL, om->objectives);
	for (size_t k = 0; k < v->n; k++) {
		const struct store_measurement *m = &v->ms[order[k]];
		const char *yes = objective_passes(om->objectives, &m->fig) ? "Yes" : "No";

		rich_row(&cf->rich, om->name, v, group, rank, m, om->objectives);
		if (!measurement_valid(m))
			continue;
		cf->any_rate = cf->any_rate || m->load_kind == LOAD_REQUEST_RATE;
		snprintf(batch, sizeof(batch), "%lld", (long long)m->batch_size);
		load_text(m, load, sizeof(load));
		inference_row(cf, om->name, v, m, group, batch, load, yes);
		gpu_rows(cf, om->name, v, m, group, batch, load, yes);
	}
	free(order);
}

/* One row of metrics-capacity.csv per configuration, in ranking order. */
static void capacity_rows(struct csv_files *cf, const char *model, const struct vdata *vd,
			  const struct rank_entry *rk, const struct capacity_answer *a)
{
	char buf[128];

	cf->any_capacity = true;
	for (size_t i = 0; i < a->n_rows; i++) {
		const struct vdata *v = &vd[rk[i].input];
		const struct capacity_row *r = &a->rows[i];

		csv_field(&cf->cap, model, true);
		snprintf(buf, sizeof(buf), "%lld", (long long)a->batch);
		csv_field(&cf->cap, buf, false);
		csv_field(&cf->cap, v->v.name, false);
		outputs_instance_group(v->v.config_pbtxt, cf->gpu_count, buf, sizeof(buf));
		csv_field(&cf->cap, buf, false);
		snprintf(buf, sizeof(buf), "%d", v->v.max_batch_size);
		csv_field(&cf->cap, buf, false);
		csv_general(&cf->cap, a->budget_ms, 9);
		csv_fixed_or_empty(&cf->cap, r->sustains, r->rate);
		csv_fixed_or_empty(&cf->cap, r->sustains && r->has_ci, r->ci_lo);
		csv_fixed_or_empty(&cf->cap, r->sustains && r->has_ci, r->ci_hi);
		buf[0] = '\0';
		if (r->sustains)
			capacity_load_text(r->load_kind, r->load_value, buf, sizeof(buf));
		csv_field(&cf->cap, buf, false);
		if (r->sustains)
			csv_fixed(&cf->cap, r->p99_ms, 2);
		else
			csv_field(&cf->cap, "", false);
		csv_fixed_or_empty(&cf->cap, a->has_target, a->target);
		csv_field(&cf->cap, !a->has_target ? "No target" : r->meets_target ? "Yes" : "No",
			  false);
		buf[0] = '\0';
		if (r->servers)
			snprintf(buf, sizeof(buf), "%llu", (unsigned long long)r->servers);
		csv_field(&cf->cap, buf, false);
		csv_fixed_or_empty(&cf->cap, r->predicted.has && r->predicted.rate > 0,
				   r->predicted.rate);
		csv_fixed_or_empty(&cf->cap, r->predicted.has, r->predicted.rel_uncertainty * 100);
		strbuf_addch(&cf->cap, '\n');
	}
}

/*
 * The capacity answers of a ranked model (rk: the ranking, its tier of
 * r->n_tier first), when it has a latency budget, with the predicted
 * rates of the top configurations (fitted once, from s): the sentences
 * into r->capacity, the rows into the capacity CSV.
 */
static void model_capacity(struct store *s, const struct outputs_model *om,
			   const struct vdata *vd, size_t n, const struct rank_entry *rk,
			   struct csv_files *cf, struct analyze_model_result *r)
{
	struct capacity_config *cc;
	struct capacity_level **lv;
	struct capacity_question q;
	struct capacity_answer a;
	size_t top = capacity_top_count(r->n_tier);
	struct strbuf sb;

	if (!capacity_question_of(om->objectives, om->rates, om->n_rates, &q))
		return;
	cc = xcalloc(n + 1, sizeof(*cc));
	lv = xcalloc(n + 1, sizeof(*lv));
	for (size_t i = 0; i < n; i++) {
		const struct vdata *v = &vd[rk[i].input];

		lv[i] = xcalloc(v->n + 1, sizeof(**lv));
		for (size_t k = 0; k < v->n; k++) {
			const struct store_measurement *m = &v->ms[k];

			lv[i][k] = (struct capacity_level){
				.load_kind = m->load_kind, .load_value = m->load_value,
				.batch_size = m->batch_size, .fig = &m->fig,
				.valid = m->phase == PHASE_SWEEP && measurement_valid(m),
			};
		}
		cc[i].name = v->v.name;
		cc[i].levels = lv[i];
		cc[i].n_levels = v->n;
		tier_cost_of(v->v.config_pbtxt, rk[i].best >= 0 ? &v->ms[rk[i].best] : NULL,
			     cf->gpu_count, &cc[i].cost);
		cc[i].top = i < top && rk[i].best >= 0;
	}
	capacity_answer(&q, cc, n, &a);
	capacity_predict(s, om->name, cc, &a);
	strbuf_init(&sb, 0);
	capacity_sentences(&a, cc, &sb);
	snprintf(r->capacity, sizeof(r->capacity), "%s", sb.buf);
	capacity_rows(cf, om->name, vd, rk, &a);
	strbuf_release(&sb);
	capacity_answer_release(&a);
	for (size_t i = 0; i < n; i++)
		free(lv[i]);
	free(lv);
	free(cc);
}

/* One model: ranked, recorded, its best config written, its rows added. */
static int outputs_model(const struct outputs_config *oc, const struct outputs_model *om,
			 struct analyze_model_result *r, struct csv_files *cf,
			 struct it_error *err)
{
	struct vdata *vd = NULL;
	struct rank_entry *rk = NULL;
	size_t n = 0;
	int rc;

	memset(r, 0, sizeof(*r));
	snprintf(r->model, sizeof(r->model), "%s", om->name);
	if (!om->model_id)
		return 0;
	rc = model_load(oc, om, &vd, &n, err);
	if (rc)
		return rc;
	rk = xcalloc(n ? n : 1, sizeof(*rk));
	rc = model_rank(oc, om, vd, n, cf->gpu_count, rk, r, err);
	if (!rc)
		model_capacity(oc->store, om, vd, n, rk, cf, r);
	if (!rc && r->has_best)
		rc = write_best(oc, om->name, &vd[rk[0].input].v, r->best_config_path,
				sizeof(r->best_config_path), err);
	for (size_t i = 0; i < n && !rc; i++)
		variant_rows(cf, om, &vd[rk[i].input], i + 1);
	free(rk);
	vdata_release(vd, n);
	return rc;
}

/* Model Analyzer's server-only CSV: the idle server's GPUs. */
static void server_only_rows(struct strbuf *srv, const struct store_server_only *so)
{
	strbuf_addf(srv, "%s\n", OUTPUTS_HEADER_SERVER_ONLY);
	for (size_t g = 0; so && g < so->n_gpus; g++) {
		const struct store_gpu *sg = &so->gpus[g];

		csv_field(srv, "triton-server", true);
		csv_field(srv, sg->uuid, false);
		csv_fixed_or_empty(srv, sg->has_used_memory, sg->used_memory_mb);
		csv_fixed_or_empty(srv, sg->has_utilization, sg->utilization_pct);
		csv_fixed_or_empty(srv, sg->has_power, sg->power_w);
		strbuf_addch(srv, '\n');
	}
}

/* A body under its header line, written atomically as results/<name>. */
static int write_with_header(const char *dir, const char *name, const char *header,
			     const struct strbuf *body, struct it_error *err)
{
	struct strbuf file;
	int rc;

	strbuf_init(&file, 0);
	strbuf_addf(&file, "%s\n%s", header, body->buf);
	rc = write_file(dir, name, &file, err);
	strbuf_release(&file);
	return rc;
}

/* Removes a capacity CSV a run with a latency budget left: it would answer another question. */
static int remove_stale(const char *dir, const char *name, struct it_error *err)
{
	char *path = fs_join(dir, name);
	int rc = 0;

	if (unlink(path) && errno != ENOENT)
		rc = it_error_set(err, IT_ERR_IO, "%s: %s", path, strerror(errno));
	free(path);
	return rc;
}

/* The files (the GPU CSV only when GPUs were measured, the capacity CSV with a budget). */
static int write_files(const struct outputs_config *oc, struct csv_files *cf,
		       const struct store_server_only *so, struct it_error *err)
{
	int rc;

	rc = write_with_header(oc->results_dir, oc->filename_inference,
			       cf->any_rate ? OUTPUTS_HEADER_INFERENCE_RATE :
			       OUTPUTS_HEADER_INFERENCE, &cf->inf, err);
	if (!rc && cf->any_gpu)
		rc = write_with_header(oc->results_dir, oc->filename_gpu, OUTPUTS_HEADER_GPU,
				       &cf->gpu, err);
	if (!rc) {
		server_only_rows(&cf->srv, so);
		rc = write_file(oc->results_dir, oc->filename_server_only, &cf->srv, err);
	}
	if (!rc)
		rc = write_file(oc->results_dir, OUTPUTS_MEASUREMENTS_CSV, &cf->rich, err);
	if (!rc && cf->any_capacity)
		rc = write_with_header(oc->results_dir, OUTPUTS_CAPACITY_CSV,
				       OUTPUTS_HEADER_CAPACITY, &cf->cap, err);
	else if (!rc)
		rc = remove_stale(oc->results_dir, OUTPUTS_CAPACITY_CSV, err);
	return rc;
}

int outputs_write(const struct outputs_config *oc,
		  struct analyze_model_result *results, struct it_error *err)
{
	struct csv_files cf;
	struct store_server_only so;
	bool have_so = false;
	int rc = 0;

	memset(&cf, 0, sizeof(cf));
	strbuf_init(&cf.inf, 0);
	strbuf_init(&cf.gpu, 0);
	strbuf_init(&cf.srv, 0);
	strbuf_init(&cf.rich, 0);
	strbuf_init(&cf.cap, 0);
	rc = store_server_only_latest(oc->store, &so, &have_so, err);
	if (rc)
		goto out;
	if (have_so)
		cf.gpu_count = (unsigned)so.n_gpus;
	rich_header(&cf.rich);
	for (size_t mi = 0; mi < oc->n_models && !rc; mi++)
		rc = outputs_model(oc, &oc->models[mi], &results[mi], &cf, err);
	if (!rc)
		rc = write_files(oc, &cf, have_so ? &so : NULL, err);
out:
	if (have_so)
		store_server_only_release(&so);
	strbuf_release(&cf.inf);
	strbuf_release(&cf.gpu);
	strbuf_release(&cf.srv);
	strbuf_release(&cf.rich);
	strbuf_release(&cf.cap);
	return rc;
}
