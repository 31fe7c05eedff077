/*
 * results.db → report model, read through store/query.h (docs/results-db.md).
 * The ranking is the one `analyze` recorded for the latest run that ranked
 * the model; a database without one (an interrupted run) is ranked here with
 * the same rules (analyze/objective) and the objectives of the latest run.
 */
#include "report/model.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/capacity_predict.h"
#include "metrics/machine.h"
#include "store/query.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/strbuf.h"
#include "util/xalloc.h"
#include "util/banned.h"

bool report_level_valid(const struct report_level *l)
{
	return l->status == MEAS_OK || l->status == MEAS_OVER_THRESHOLD;
}

bool report_level_charted(const struct report_level *l)
{
	return report_level_valid(l) && l->phase == PHASE_SWEEP;
}

/* ---- objectives from the run's options_json ---- */

static void add_constraints(struct objective_set *o, json_t *cons)
{
	const char *tag;
	json_t *v;

	json_object_foreach(cons, tag, v) {
		json_t *mn = json_object_get(v, "min"), *mx = json_object_get(v, "max");

		constraint_set_add(o, tag, json_is_number(mn), json_number_value(mn),
				   json_is_number(mx), json_number_value(mx), NULL);
	}
}

static void add_objectives(struct objective_set *o, json_t *objs)
{
	const char *tag;
	json_t *v;

	json_object_foreach(objs, tag, v) {
		if (json_is_number(v))
			objective_set_add(o, tag, json_number_value(v), NULL);
	}
}

/* The model's objectives: its own when set, else the run's, else throughput. */
static void objectives_from_options(const char *options_json, const char *model,
				    struct objective_set *o)
{
	json_t *j = options_json ? json_loads(options_json, 0, NULL) : NULL;
	json_t *pm, *lb, *mt;

	memset(o, 0, sizeof(*o));
	if (j) {
		pm = json_object_get(json_object_get(j, "profile_models"), model);
		if (json_object_size(json_object_get(pm, "objectives")))
			add_objectives(o, json_object_get(pm, "objectives"));
		else
			add_objectives(o, json_object_get(j, "objectives"));
		add_constraints(o, json_object_get(j, "constraints"));
		add_constraints(o, json_object_get(pm, "constraints"));
		lb = json_object_get(j, "latency_budget");
		if (json_is_number(lb))
			constraint_set_add(o, "perf_latency_p99", false, 0, true,
					   json_number_value(lb), NULL);
		mt = json_object_get(j, "min_throughput");
		if (json_is_number(mt))
			constraint_set_add(o, "perf_throughput", true, json_number_value(mt),
					   false, 0, NULL);
	}
	json_decref(j);
	objective_set_finish(o);
}

/* "throughput", "p99 latency", "GPU memory usage": a figure's header without its unit, in lower case but for acronyms. */
static void figure_words(enum figure f, struct strbuf *sb)
{
	const char *h = figure_table[f].header;
	const char *paren = strstr(h, " (");
	size_t n = paren ? (size_t)(paren - h) : strlen(h);

	for (size_t i = 0; i < n; i++) {
		bool word_start = i == 0 || h[i - 1] == ' ';
		bool acronym = word_start && i + 1 < n && h[i + 1] >= 'A' && h[i + 1] <= 'Z';

		if (word_start && !acronym && h[i] >= 'A' && h[i] <= 'Z')
			strbuf_addch(sb, h[i] - 'A' + 'a');
		else
			strbuf_addch(sb, h[i]);
	}
}

static char *objectives_text(const struct objective_set *o)
{
	struct strbuf sb;

	strbuf_init(&sb, 0);
	for (size_t i = 0; i < o->n_obj; i++) {
		enum figure f = o->obj[i].fig;

		if (i)
			strbuf_adds(&sb, i + 1 == o->n_obj ? " and " : ", ");
		strbuf_adds(&sb, figure_table[f].direction > 0 ? "maximizing " : "minimizing ");
		figure_words(f, &sb);
		if (o->n_obj > 1)
			strbuf_addf(&sb, " (weight %.2g)", o->obj[i].weight);
	}
	return strbuf_detach(&sb, NULL);
}

static char *constraints_text(const struct objective_set *o)
{
	struct strbuf sb;

	strbuf_init(&sb, 0);
	for (size_t i = 0; i < o->n_con; i++) {
		const struct constraint *c = &o->con[i];
		const char *unit = figure_table[c->fig].unit;

		if (sb.len)
			strbuf_adds(&sb, ", ");
		figure_words(c->fig, &sb);
		if (c->has_min)
			strbuf_addf(&sb, " >= %g%s%s", c->min, *unit ? " " : "", unit);
		if (c->has_min && c->has_max)
			strbuf_adds(&sb, " and");
		if (c->has_max)
			strbuf_addf(&sb, " <= %g%s%s", c->max, *unit ? " " : "", unit);
	}
	if (!sb.len)
		strbuf_adds(&sb, "none");
	return strbuf_detach(&sb, NULL);
}

/* ---- machine ---- */

/* The machine writing the report: the fallback for a results.db of an analyze that did not record its own. */
static void machine_local(struct report_data *d)
{
	struct machine_desc m;

	machine_describe(&m);
	d->machine_cpu = xstrdup(m.cpu);
	d->machine_memory = xstrdup(m.memory);
}

/* "GPU-1, GPU-2" from the run's JSON array of UUIDs; "none (CPU only)" for none. */
static char *gpu_list(const char *gpus_json)
{
	json_t *j = gpus_json ? json_loads(gpus_json, 0, NULL) : NULL;
	struct strbuf sb;
	size_t i;
	json_t *v;

	strbuf_init(&sb, 0);
	json_array_foreach(j, i, v) {
		if (sb.len)
			strbuf_adds(&sb, ", ");
		strbuf_adds(&sb, json_string_value(v) ? json_string_value(v) : "?");
	}
	if (!sb.len)
		strbuf_adds(&sb, "none (CPU only)");
	json_decref(j);
	return strbuf_detach(&sb, NULL);
}

/* The number of GPUs in the run's JSON array of UUIDs. */
static unsigned gpu_count(const char *gpus_json)
{
	json_t *j = gpus_json ? json_loads(gpus_json, 0, NULL) : NULL;
	unsigned n = json_is_array(j) ? (unsigned)json_array_size(j) : 0;

	json_decref(j);
	return n;
}

/* The machine: meta rows when analyze recorded them, else this machine (older databases). */
static int load_machine(struct store *s, struct report_data *d, const char *gpus_json,
			struct it_error *err)
{
	int rc;

	rc = store_meta_get(s, "machine_cpu", &d->machine_cpu, err);
	if (!rc)
		rc = store_meta_get(s, "machine_memory", &d->machine_memory, err);
	if (!rc)
		rc = store_meta_get(s, "machine_gpus", &d->machine_gpus, err);
	if (!rc)
		rc = store_meta_get(s, "cpu_pinning", &d->cpu_pinning, err);
	if (rc)
		return rc;
	d->machine_from_db = d->machine_cpu != NULL;
	if (!d->machine_from_db) {
		free(d->machine_memory);
		d->machine_memory = NULL;
		machine_local(d);
	}
	if (!d->machine_gpus)
		d->machine_gpus = gpu_list(gpus_json);
	d->n_gpus = gpu_count(gpus_json);
	return 0;
}

/* ---- loading ---- */

/* The run count, the latest run (*options_json: its options, caller frees) and the machine. */
static int load_runs(struct store *s, struct report_data *d, char **options_json,
		     struct it_error *err)
{
	struct store_run_info run;
	int64_t n_runs = 0;
	bool found = false;
	int rc;

	memset(&run, 0, sizeof(run));
	rc = store_run_count(s, &n_runs, err);
	if (rc)
		goto out;
	d->n_runs = (size_t)n_runs;
	rc = store_run_latest(s, &run, &found, err);
	if (rc)
		goto out;
	d->run_status = run.status;
	d->run_message = run.message;
	d->command_line = run.command_line;
	*options_json = run.options_json;
	d->search_mode = run.search_mode;
	d->server_mode = run.server_mode;
	d->version = run.version;
	if (!d->time_iso) {
		d->time_iso = run.ended_at;
		run.ended_at = NULL;
	}
	run.status = run.message = run.command_line = run.options_json = NULL;
	run.search_mode = run.server_mode = run.version = NULL;
	rc = load_machine(s, d, run.gpus_json, err);
out:
	store_run_info_release(&run);
	return rc;
}

/* The load levels of one configuration, taken with the latest run's settings. */
static int load_levels(struct store *s, int64_t variant_id, struct report_config *c,
		       struct it_error *err)
{
	struct store_level *ls = NULL;
	size_t n = 0;
	int rc;

	rc = store_levels_current(s, variant_id, &ls, &n, err);
	if (rc)
		return rc;
	c->levels = n ? xcalloc(n, sizeof(*c->levels)) : NULL;
	c->n_levels = n;
	for (size_t i = 0; i < n; i++) {
		struct report_level *l = &c->levels[i];

		l->batch_size = ls[i].batch_size;
		l->load = ls[i].load_value;
		l->status = ls[i].status;
		l->message = ls[i].message;
		l->fig = ls[i].fig;
		l->phase = ls[i].phase;
		l->client_cpu_share = ls[i].client_cpu_share;
	}
	free(ls);
	return 0;
}

/* A report configuration from a stored variant; takes v's strings. */
static void config_from_variant(struct report_config *c, struct store_variant *v)
{
	memset(c, 0, sizeof(*c));
	c->best = -1;
	c->name = xstrdup(v->name);
	c->label = v->label ? v->label : xstrdup("");
	c->is_default = v->is_default;
	c->max_batch_size = v->max_batch_size;
	c->instance_count = v->instance_count;
	snprintf(c->instance_kind, sizeof(c->instance_kind), "%s", v->instance_kind);
	c->dynamic_batching = v->dynamic_batching;
	c->status = xstrdup(variant_status_name(v->status));
	c->failure_reason = v->failure_reason;
	c->config_pbtxt = v->config_pbtxt;
	v->label = v->failure_reason = v->config_pbtxt = NULL;
}

/* Every configuration of the model with its levels; *ids (caller frees): their variant ids. */
static int load_configs(struct store *s, int64_t model_id, struct report_model *m,
			int64_t **ids, struct it_error *err)
{
	struct store_variant *vs = NULL;
	size_t n = 0;
	int rc;

	rc = store_variants_of_model(s, model_id, &vs, &n, err);
	if (rc)
		return rc;
	m->configs = n ? xcalloc(n, sizeof(*m->configs)) : NULL;
	*ids = xcalloc(n + 1, sizeof(**ids));
	for (size_t i = 0; i < n; i++) {
		(*ids)[i] = vs[i].id;
		config_from_variant(&m->configs[i], &vs[i]);
		m->n_configs++;
	}
	for (size_t i = 0; i < n && !rc; i++)
		rc = load_levels(s, (*ids)[i], &m->configs[i], err);
	for (size_t i = 0; i < n; i++)
		store_variant_release(&vs[i]);
	free(vs);
	return rc;
}

/* Valid measurements, failed configurations and the client batch size the charts show. */
static void count_model(struct report_model *m)
{
	for (size_t i = 0; i < m->n_configs; i++) {
		const struct report_config *c = &m->configs[i];

		for (size_t j = 0; j < c->n_levels; j++)
			m->n_measurements += report_level_valid(&c->levels[j]);
		if (c->failure_reason || (strcmp(c->status, "measured") &&
					  strcmp(c->status, "measuring") &&
					  strcmp(c->status, "pending") &&
					  strcmp(c->status, "loading")))
			m->n_failed++;
	}
	/* The batch size the charts show: the first level's. */
	m->chart_batch = 1;
	for (size_t i = 0; i < m->n_configs; i++) {
		if (m->configs[i].n_levels) {
			m->chart_batch = m->configs[i].levels[0].batch_size;
			break;
		}
	}
}

/* Ranks with analyze's rules when results.db holds no ranking for the model. */
static void rank_here(struct report_model *m)
{
	struct rank_input *in = xcalloc(m->n_configs + 1, sizeof(*in));
	struct rank_entry *out = xcalloc(m->n_configs + 1, sizeof(*out));
	struct store_measurement **ms = xcalloc(m->n_configs + 1, sizeof(*ms));

	for (size_t i = 0; i < m->n_configs; i++) {
		const struct report_config *c = &m->configs[i];

		ms[i] = xcalloc(c->n_levels + 1, sizeof(struct store_measurement));
		for (size_t j = 0; j < c->n_levels; j++) {
			/* Only the sweep's levels compete (report_level_charted). */
			ms[i][j].status = c->levels[j].phase == PHASE_SWEEP ? c->levels[j].status
									   : MEAS_FAILED;
			ms[i][j].fig = c->levels[j].fig;
		}
		in[i].variant_id = (int64_t)i;
		in[i].ms = ms[i];
		in[i].n = c->n_levels;
	}
	objective_rank(&m->objectives, in, m->n_configs, out);
	for (size_t r = 0; r < m->n_configs; r++) {
		struct report_config *c = &m->configs[out[r].input];

		c->best = out[r].best;
		c->passes = out[r].passes;
		c->rank = c->best >= 0 ? r + 1 : 0;
	}
	for (size_t i = 0; i < m->n_configs; i++)
		free(ms[i]);
	free(ms);
	free(in);
	free(out);
}

static int cmp_rank(const void *a, const void *b)
{
	const struct report_config *x = a, *y = b;
	size_t rx = x->rank ? x->rank : (size_t)-1, ry = y->rank ? y->rank : (size_t)-1;

	return rx < ry ? -1 : rx > ry;
}

/* The best level of each ranked configuration: the ranked measurement, found by its (batch, load). */
static int find_best_levels(struct store *s, struct report_model *m, const int64_t *best_ids,
			    struct it_error *err)
{
	int rc = 0;

	for (size_t i = 0; i < m->n_configs && !rc; i++) {
		struct report_config *c = &m->configs[i];
		int64_t batch = 0;
		double load = 0;
		bool found = false;

		if (!best_ids[i])
			continue;
		rc = store_measurement_point(s, best_ids[i], &batch, &load, &found, err);
		for (size_t j = 0; found && j < c->n_levels; j++)
			if (c->levels[j].batch_size == batch && c->levels[j].load == load &&
			    c->levels[j].phase == PHASE_SWEEP)
				c->best = (long)j;
	}
	for (size_t i = 0; i < m->n_configs; i++)
		if (m->configs[i].best < 0)
			m->configs[i].rank = 0;
	return rc;
}

/* The tier columns of a recorded row (empty in files written before them). */
static void ranked_tier(const struct store_ranked *row, struct report_config *c,
			struct report_model *m)
{
	c->has_gain_ci = row->row.has_gain_ci;
	c->gain_lo_pct = row->row.gain_lo_pct;
	c->gain_hi_pct = row->row.gain_hi_pct;
	c->in_top_tier = row->row.in_top_tier;
	if (row->row.borderline[0])
		c->borderline = xstrdup(row->row.borderline);
	if (row->rank == 1 && row->row.recommendation[0] && !m->recommendation)
		m->recommendation = xstrdup(row->row.recommendation);
}

/* The ranking analyze recorded (its latest run that ranked this model), else one made here. */
static int load_ranking(struct store *s, int64_t model_id, const int64_t *ids,
			struct report_model *m, struct it_error *err)
{
	struct store_ranked *rs = NULL;
	int64_t *best_ids = xcalloc(m->n_configs + 1, sizeof(*best_ids));
	size_t n = 0;
	int rc;

	rc = store_ranking_latest(s, model_id, &rs, &n, err);
	if (rc)
		goto out;
	for (size_t r = 0; r < n; r++) {
		for (size_t i = 0; i < m->n_configs; i++) {
			struct report_config *c = &m->configs[i];

			if (ids[i] != rs[r].row.variant_id)
				continue;
			c->rank = (size_t)rs[r].rank;
			best_ids[i] = rs[r].row.best_measurement_id;
			c->passes = rs[r].row.satisfies_constraints;
			c->has_gain = rs[r].row.has_gain;
			c->gain_pct = rs[r].row.gain_vs_default_pct;
			ranked_tier(&rs[r], c, m);
			m->ranking_from_db = true;
		}
	}
	if (m->ranking_from_db)
		rc = find_best_levels(s, m, best_ids, err);
	else
		rank_here(m);
out:
	free(rs);
	free(best_ids);
	return rc;
}

/* Gains over the default of a ranking made here (analyze records its own). */
static void gains_here(struct report_model *m)
{
	const struct report_config *def = report_model_default(m);

	for (size_t i = 0; i < m->n_configs; i++) {
		struct report_config *c = &m->configs[i];

		if (m->ranking_from_db || !def || def->best < 0 || c->best < 0)
			continue;
		c->gain_pct = objective_gain_pct(&m->objectives, &def->levels[def->best].fig,
						 &c->levels[c->best].fig, &c->has_gain);
	}
}

/* ---- capacity ---- */

/* The model's request rates as recorded: its own list, else the run's. Caller frees. */
static double *rates_from_options(const char *options_json, const char *model, size_t *n)
{
	json_t *j = options_json ? json_loads(options_json, 0, NULL) : NULL;
	json_t *pm = json_object_get(json_object_get(j, "profile_models"), model);
	json_t *list = json_object_get(pm, "request_rate"), *v;
	double *rates;
	size_t i;

	if (!json_array_size(list))
		list = json_object_get(j, "request_rate");
	rates = xcalloc(json_array_size(list) + 1, sizeof(*rates));
	*n = 0;
	json_array_foreach(list, i, v) {
		if (json_is_number(v))
			rates[(*n)++] = json_number_value(v);
	}
	json_decref(j);
	return rates;
}

/*
 * The capacity answers, as analyze gives them (analyze/outputs.c): the
 * charted levels of each configuration, its cost from its ranked level,
 * the top configurations the ranking's first capacity_top_count() of the
 * tier, with their predicted rates (fitted to db's levels of the model).
 * Called once configs[] is in rank order.
 */
static void model_capacity(struct store *db, struct report_model *m, const char *options_json,
			   unsigned n_gpus)
{
	struct capacity_config *cc = xcalloc(m->n_configs + 1, sizeof(*cc));
	struct capacity_level **lv = xcalloc(m->n_configs + 1, sizeof(*lv));
	struct store_measurement *best = xcalloc(1, sizeof(*best));
	struct capacity_question q;
	size_t n_rates = 0, n_tier = 0;
	double *rates = rates_from_options(options_json, m->name, &n_rates);
	struct strbuf sb;

	if (!capacity_question_of(&m->objectives, rates, n_rates, &q))
		goto out;
	for (size_t i = 0; i < m->n_configs; i++)
		n_tier += m->configs[i].in_top_tier;
	for (size_t i = 0; i < m->n_configs; i++) {
		const struct report_config *c = &m->configs[i];

		lv[i] = xcalloc(c->n_levels + 1, sizeof(**lv));
		for (size_t k = 0; k < c->n_levels; k++)
			lv[i][k] = (struct capacity_level){
				.load_kind = m->load_kind, .load_value = c->levels[k].load,
				.batch_size = c->levels[k].batch_size, .fig = &c->levels[k].fig,
				.valid = report_level_charted(&c->levels[k]),
			};
		cc[i].name = c->name;
		cc[i].levels = lv[i];
		cc[i].n_levels = c->n_levels;
		if (c->best >= 0)
			best->fig = c->levels[c->best].fig;
		tier_cost_of(c->config_pbtxt, c->best >= 0 ? best : NULL, n_gpus, &cc[i].cost);
		cc[i].top = c->rank && c->rank <= capacity_top_count(n_tier) && c->best >= 0;
	}
	capacity_answer(&q, cc, m->n_configs, &m->capacity);
	capacity_predict(db, m->name, cc, &m->capacity);
	strbuf_init(&sb, 0);
	capacity_sentences(&m->capacity, cc, &sb);
	for (char *s = sb.buf, *nl = strchr(s, '\n'); nl; s = nl + 1, nl = strchr(s, '\n')) {
		m->capacity_lines = xreallocarray(m->capacity_lines, m->n_capacity_lines + 1,
						  sizeof(*m->capacity_lines));
		m->capacity_lines[m->n_capacity_lines++] = xstrndup(s, (size_t)(nl - s));
	}
	strbuf_release(&sb);
out:
	for (size_t i = 0; i < m->n_configs; i++)
		free(lv[i]);
	free(lv);
	free(cc);
	free(best);
	free(rates);
}

/* <export>/best/<model>/config.pbtxt when analyze wrote it. */
static void find_best_config(struct report_model *m, const char *export_path)
{
	size_t size = strlen(export_path) + strlen(m->name) + 32;
	char *path = xmalloc(size);

	snprintf(path, size, "%s/best/%s/config.pbtxt", export_path, m->name);
	if (fs_is_file(path))
		m->best_config_path = path;
	else
		free(path);
}

static int load_model(struct store *s, int64_t model_id, const struct report_data *d,
		      const char *options_json, struct report_model *m, struct it_error *err)
{
	int64_t *ids = NULL;
	int rc;

	rc = load_configs(s, model_id, m, &ids, err);
	if (rc)
		goto out;
	count_model(m);
	rc = store_model_load_kind(s, model_id, &m->load_kind, err);
	if (rc)
		goto out;
	rc = load_ranking(s, model_id, ids, m, err);
	if (!rc)
		rc = store_predictions_of_model(s, model_id, &m->predictions, &m->n_predictions,
						err);
	if (rc)
		goto out;
	gains_here(m);
	qsort(m->configs, m->n_configs, sizeof(*m->configs), cmp_rank);
	m->objectives_text = objectives_text(&m->objectives);
	m->constraints_text = constraints_text(&m->objectives);
	model_capacity(s, m, options_json, d->n_gpus);
	find_best_config(m, d->export_path);
out:
	free(ids);
	return rc;
}

static bool model_wanted(const char *name, const char *const *models, size_t n_models)
{
	bool want = n_models == 0;

	for (size_t i = 0; i < n_models && !want; i++)
		want = name && !strcmp(models[i], name);
	return want;
}

/* The models picked (every one when n_models is 0), each loaded whole. */
static int load_models(struct store *s, const char *options_json, const char *const *models,
		       size_t n_models, struct report_data *d, struct it_error *err)
{
	struct store_model *ms = NULL;
	size_t n = 0;
	int rc;

	rc = store_models_list(s, &ms, &n, err);
	if (rc)
		return rc;
	d->models = xcalloc(n + 1, sizeof(*d->models));
	for (size_t i = 0; i < n && !rc; i++) {
		struct report_model *m;

		if (!model_wanted(ms[i].name, models, n_models))
			continue;
		m = &d->models[d->n_models++];
		m->name = ms[i].name;
		m->platform = ms[i].platform;
		m->backend = ms[i].backend;
		m->repository = ms[i].repository;
		ms[i].name = ms[i].platform = ms[i].backend = ms[i].repository = NULL;
		objectives_from_options(options_json, m->name, &m->objectives);
		rc = load_model(s, ms[i].id, d, options_json, m, err);
	}
	for (size_t i = 0; i < n; i++)
		store_model_release(&ms[i]);
	free(ms);
	return rc;
}

/* IT_ERR_NOT_FOUND naming the first model of `models` that results.db lacks. */
static int check_models_found(const struct report_data *d, const char *const *models,
			      size_t n_models, struct it_error *err)
{
	for (size_t i = 0; i < n_models; i++) {
		bool found = false;

		for (size_t j = 0; j < d->n_models && !found; j++)
			found = !strcmp(d->models[j].name, models[i]);
		if (!found)
			return it_error_set(err, IT_ERR_NOT_FOUND, "%s: no model '%s'", d->db_path,
					    models[i]);
	}
	return 0;
}

int report_data_load(const char *export_path, const char *const *models,
		     size_t n_models, const char *time_iso,
		     struct report_data *out, struct it_error *err)
{
	struct report_data d;
	struct store *s = NULL;
	char *options_json = NULL;
	const char *env = getenv("INFERTUNE_REPORT_TIME");
	int rc;

	memset(&d, 0, sizeof(d));
	d.export_path = xstrdup(export_path);
	d.db_path = fs_join(export_path, "results.db");
	if (time_iso && *time_iso)
		d.time_iso = xstrdup(time_iso);
	else if (env && *env)
		d.time_iso = xstrdup(env);
	if (!fs_is_file(d.db_path)) {
		rc = it_error_set(err, IT_ERR_NOT_FOUND,
				  "%s: no results.db (run `infertune analyze -e %s` first)",
				  d.db_path, export_path);
		goto out;
	}
	rc = store_open_readonly(d.db_path, &s, err);
	if (rc)
		goto out;
	rc = load_runs(s, &d, &options_json, err);
	if (rc) {
		it_error_prefix(err, "%s: not an infertune results database?", d.db_path);
		goto out;
	}
	if (!d.time_iso)
		d.time_iso = xstrdup("unknown");
	rc = load_models(s, options_json, models, n_models, &d, err);
	if (!rc)
		rc = check_models_found(&d, models, n_models, err);
	if (rc)
		goto out;
	*out = d;
	memset(&d, 0, sizeof(d));
out:
	store_close(s);
	free(options_json);
	report_data_release(&d);
	return rc;
}

void report_data_release(struct report_data *d)
{
	for (size_t i = 0; i < d->n_models; i++) {
		struct report_model *m = &d->models[i];

		for (size_t j = 0; j < m->n_configs; j++) {
			struct report_config *c = &m->configs[j];

			for (size_t k = 0; k < c->n_levels; k++)
				free(c->levels[k].message);
			free(c->levels);
			free(c->name);
			free(c->label);
			free(c->status);
			free(c->failure_reason);
			free(c->config_pbtxt);
			free(c->borderline);
		}
		free(m->configs);
		free(m->name);
		free(m->platform);
		free(m->backend);
		free(m->repository);
		free(m->objectives_text);
		free(m->constraints_text);
		free(m->best_config_path);
		free(m->recommendation);
		free(m->predictions);
		capacity_answer_release(&m->capacity);
		for (size_t j = 0; j < m->n_capacity_lines; j++)
			free(m->capacity_lines[j]);
		free(m->capacity_lines);
	}
	free(d->models);
	free(d->export_path);
	free(d->db_path);
	free(d->time_iso);
	free(d->version);
	free(d->run_status);
	free(d->run_message);
	free(d->command_line);
	free(d->search_mode);
	free(d->server_mode);
	free(d->machine_cpu);
	free(d->machine_memory);
	free(d->cpu_pinning);
	free(d->machine_gpus);
	memset(d, 0, sizeof(*d));
}

const struct report_config *report_model_best(const struct report_model *m)
{
	for (size_t i = 0; i < m->n_configs; i++)
		if (m->configs[i].rank == 1)
			return &m->configs[i];
	return NULL;
}

const struct report_config *report_model_default(const struct report_model *m)
{
	for (size_t i = 0; i < m->n_configs; i++)
		if (m->configs[i].is_default)
			return &m->configs[i];
	return NULL;
}
