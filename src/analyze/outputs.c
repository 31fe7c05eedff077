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

#include "analyze/analyzer.h"
#include "analyze/objective.h"
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
		"Started At", "Duration (s)", "Message",
	};

	for (size_t i = 0; i < sizeof(pre) / sizeof(pre[0]); i++)
		csv_field(sb, pre[i], i == 0);
	for (int f = 0; f < FIG_COUNT; f++)
		csv_field(sb, figure_table[f].header, false);
	for (size_t i = 0; i < sizeof(post) / sizeof(post[0]); i++)
		csv_field(sb, post[i], false);
	strbuf_addch(sb, '\n');
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
		for (int i = 0; i < 5 + FIG_COUNT + 12; i++)
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
	for (int f = 0; f < FIG_COUNT; f++) {
		if (figures_has(&m->fig, (enum figure)f))
			csv_general(sb, m->fig.v[f], 9);
		else
			csv_field(sb, "", false);
	}
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
			const struct vdata *vd, size_t n, const struct rank_entry *rk,
			const struct objective_set *obj)
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
		if (def)
			r->gain_pct = objective_gain_pct(obj, &def->fig, &m->fig, &r->has_gain);
	}
}

int outputs_write(const struct outputs_config *oc,
		  struct analyze_model_result *results, struct it_error *err)
{
	struct strbuf inf, gpu, srv, rich;
	bool any_rate = false, any_gpu = false;
	unsigned gpu_count = 0;
	struct store_server_only so;
	bool have_so = false;
	int rc = 0;

	strbuf_init(&inf, 0);
	strbuf_init(&gpu, 0);
	strbuf_init(&srv, 0);
	strbuf_init(&rich, 0);
	rc = store_server_only_latest(oc->store, &so, &have_so, err);
	if (rc)
		goto out;
	if (have_so)
		gpu_count = (unsigned)so.n_gpus;
	rich_header(&rich);
	for (size_t mi = 0; mi < oc->n_models && !rc; mi++) {
		const struct outputs_model *om = &oc->models[mi];
		struct vdata *vd = NULL;
		struct store_variant *vs = NULL;
		struct rank_input *in = NULL;
		struct rank_entry *rk = NULL;
		struct store_rank *ranks = NULL;
		size_t n = 0;

		memset(&results[mi], 0, sizeof(results[mi]));
		snprintf(results[mi].model, sizeof(results[mi].model), "%s", om->name);
		if (!om->model_id)
			continue;
		rc = store_variants_of_model(oc->store, om->model_id, &vs, &n, err);
		if (rc)
			break;
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
			break;
		}
		in = xcalloc(n ? n : 1, sizeof(*in));
		rk = xcalloc(n ? n : 1, sizeof(*rk));
		ranks = xcalloc(n ? n : 1, sizeof(*ranks));
		for (size_t i = 0; i < n; i++) {
			in[i].variant_id = vd[i].v.id;
			in[i].ms = vd[i].ms;
			in[i].n = vd[i].n;
		}
		objective_rank(om->objectives, in, n, rk);
		for (size_t i = 0; i < n; i++) {
			const struct vdata *v = &vd[rk[i].input];

			ranks[i].variant_id = v->v.id;
			ranks[i].best_measurement_id = rk[i].best >= 0 ? v->ms[rk[i].best].id : 0;
			ranks[i].satisfies_constraints = rk[i].passes;
		}
		fill_result(&results[mi], om->name, vd, n, rk, om->objectives);
		for (size_t i = 0; i < n; i++) {
			const struct vdata *v = &vd[rk[i].input];

			if (rk[i].best >= 0 && results[mi].has_default) {
				bool has;
				double g = objective_gain_pct(om->objectives,
							      &results[mi].default_best,
							      &v->ms[rk[i].best].fig, &has);

				ranks[i].has_gain = has;
				ranks[i].gain_vs_default_pct = g;
			}
		}
		if (oc->run_id)
			rc = store_ranking_set(oc->store, oc->run_id, om->model_id, ranks, n, err);
		if (!rc && results[mi].has_best)
			rc = write_best(oc, om->name, &vd[rk[0].input].v,
					results[mi].best_config_path,
					sizeof(results[mi].best_config_path), err);
		for (size_t i = 0; i < n && !rc; i++) {
			const struct vdata *v = &vd[rk[i].input];
			size_t *order = xcalloc(v->n ? v->n : 1, sizeof(*order));
			char group[128], mbs[32], batch[32], load[64];

			outputs_instance_group(v->v.config_pbtxt, gpu_count, group, sizeof(group));
			snprintf(mbs, sizeof(mbs), "%d", v->v.max_batch_size);
			objective_sort_measurements(om->objectives, v->ms, v->n, order);
			if (!v->n)
				rich_row(&rich, om->name, v, group, i + 1, NULL, om->objectives);
			for (size_t k = 0; k < v->n; k++) {
				const struct store_measurement *m = &v->ms[order[k]];
				const char *yes = objective_passes(om->objectives, &m->fig) ? "Yes" : "No";

				rich_row(&rich, om->name, v, group, i + 1, m, om->objectives);
				if (!measurement_valid(m))
					continue;
				any_rate = any_rate || m->load_kind == LOAD_REQUEST_RATE;
				snprintf(batch, sizeof(batch), "%lld", (long long)m->batch_size);
				load_text(m, load, sizeof(load));
				csv_field(&inf, om->name, true);
				csv_field(&inf, batch, false);
				csv_field(&inf, load, false);
				csv_field(&inf, v->v.name, false);
				csv_field(&inf, group, false);
				csv_field(&inf, mbs, false);
				csv_field(&inf, yes, false);
				csv_fixed(&inf, figures_get(&m->fig, FIG_THROUGHPUT, 0), 1);
				if (figures_has(&m->fig, FIG_LATENCY_P99))
					csv_fixed(&inf, m->fig.v[FIG_LATENCY_P99], 1);
				else
					csv_field(&inf, "", false);
				strbuf_addch(&inf, '\n');
				for (size_t g = 0; g < m->n_gpus; g++) {
					const struct store_gpu *sg = &m->gpus[g];

					any_gpu = true;
					csv_field(&gpu, om->name, true);
					csv_field(&gpu, sg->uuid, false);
					csv_field(&gpu, batch, false);
					csv_field(&gpu, load, false);
					csv_field(&gpu, v->v.name, false);
					csv_field(&gpu, group, false);
					csv_field(&gpu, yes, false);
					if (sg->has_used_memory)
						csv_fixed(&gpu, sg->used_memory_mb, 1);
					else
						csv_field(&gpu, "", false);
					if (sg->has_utilization)
						csv_fixed(&gpu, sg->utilization_pct, 1);
					else
						csv_field(&gpu, "", false);
					if (sg->has_power)
						csv_fixed(&gpu, sg->power_w, 1);
					else
						csv_field(&gpu, "", false);
					strbuf_addch(&gpu, '\n');
				}
			}
			free(order);
		}
		free(in);
		free(rk);
		free(ranks);
		vdata_release(vd, n);
	}
	if (rc)
		goto out;
	{
		struct strbuf file;

		strbuf_init(&file, 0);
		strbuf_addf(&file, "%s\n%s", any_rate ? OUTPUTS_HEADER_INFERENCE_RATE :
			    OUTPUTS_HEADER_INFERENCE, inf.buf);
		rc = write_file(oc->results_dir, oc->filename_inference, &file, err);
		strbuf_release(&file);
		if (!rc && any_gpu) {
			strbuf_init(&file, 0);
			strbuf_addf(&file, "%s\n%s", OUTPUTS_HEADER_GPU, gpu.buf);
			rc = write_file(oc->results_dir, oc->filename_gpu, &file, err);
			strbuf_release(&file);
		}
		if (!rc) {
			strbuf_addf(&srv, "%s\n", OUTPUTS_HEADER_SERVER_ONLY);
			for (size_t g = 0; have_so && g < so.n_gpus; g++) {
				const struct store_gpu *sg = &so.gpus[g];

				csv_field(&srv, "triton-server", true);
				csv_field(&srv, sg->uuid, false);
				if (sg->has_used_memory)
					csv_fixed(&srv, sg->used_memory_mb, 1);
				else
					csv_field(&srv, "", false);
				if (sg->has_utilization)
					csv_fixed(&srv, sg->utilization_pct, 1);
				else
					csv_field(&srv, "", false);
				if (sg->has_power)
					csv_fixed(&srv, sg->power_w, 1);
				else
					csv_field(&srv, "", false);
				strbuf_addch(&srv, '\n');
			}
			rc = write_file(oc->results_dir, oc->filename_server_only, &srv, err);
		}
		if (!rc)
			rc = write_file(oc->results_dir, OUTPUTS_MEASUREMENTS_CSV, &rich, err);
	}
out:
	if (have_so)
		store_server_only_release(&so);
	strbuf_release(&inf);
	strbuf_release(&gpu);
	strbuf_release(&srv);
	strbuf_release(&rich);
	return rc;
}
