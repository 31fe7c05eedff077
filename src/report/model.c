/*
 * results.db → report model, with read-only SQL (docs/results-db.md). The
 * ranking is the one `analyze` recorded for the latest run that ranked the
 * model; a database without one (an interrupted run) is ranked here with
 * the same rules (analyze/objective) and the objectives of the latest run.
 */
#include "report/model.h"

#include <jansson.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/machine.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/strbuf.h"
#include "util/xalloc.h"
#include "util/banned.h"

static char *col_dup(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	return t ? xstrdup((const char *)t) : NULL;
}

static int db_fail(sqlite3 *db, struct it_error *err, const char *what)
{
	return it_error_set(err, IT_ERR_IO, "results.db: %s: %s", what,
			    sqlite3_errmsg(db));
}

static int prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st,
		   struct it_error *err)
{
	if (sqlite3_prepare_v2(db, sql, -1, st, NULL) != SQLITE_OK)
		return db_fail(db, err, "query");
	return 0;
}

static enum measurement_status status_of(const char *s)
{
	if (!s)
		return MEAS_FAILED;
	if (!strcmp(s, "ok"))
		return MEAS_OK;
	if (!strcmp(s, "unstable"))
		return MEAS_UNSTABLE;
	if (!strcmp(s, "over_threshold"))
		return MEAS_OVER_THRESHOLD;
	return MEAS_FAILED;
}

static bool level_valid(const struct report_level *l)
{
	return l->status == MEAS_OK || l->status == MEAS_OVER_THRESHOLD;
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

static int meta_get(sqlite3 *db, const char *key, char **out)
{
	sqlite3_stmt *st = NULL;

	*out = NULL;
	if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = ?", -1, &st,
			       NULL) != SQLITE_OK)
		return 0;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		*out = col_dup(st, 0);
	sqlite3_finalize(st);
	return 0;
}

/* ---- loading ---- */

static int load_runs(sqlite3 *db, struct report_data *d, char **options_json,
		     struct it_error *err)
{
	sqlite3_stmt *st = NULL;
	char *gpus = NULL;
	int rc;

	rc = prepare(db, "SELECT count(*) FROM runs", &st, err);
	if (rc)
		goto out;
	if (sqlite3_step(st) == SQLITE_ROW)
		d->n_runs = (size_t)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	st = NULL;
	rc = prepare(db, "SELECT status, message, command_line, options_json, search_mode, "
		     "server_mode, gpus_json, infertune_version, "
		     "coalesce(finished_at, started_at) FROM runs ORDER BY id DESC LIMIT 1",
		     &st, err);
	if (rc)
		goto out;
	if (sqlite3_step(st) == SQLITE_ROW) {
		d->run_status = col_dup(st, 0);
		d->run_message = col_dup(st, 1);
		d->command_line = col_dup(st, 2);
		*options_json = col_dup(st, 3);
		d->search_mode = col_dup(st, 4);
		d->server_mode = col_dup(st, 5);
		gpus = col_dup(st, 6);
		d->version = col_dup(st, 7);
		if (!d->time_iso)
			d->time_iso = col_dup(st, 8);
	}
	/* The machine: meta rows when analyze recorded them, else this machine (older databases). */
	meta_get(db, "machine_cpu", &d->machine_cpu);
	meta_get(db, "machine_memory", &d->machine_memory);
	meta_get(db, "machine_gpus", &d->machine_gpus);
	d->machine_from_db = d->machine_cpu != NULL;
	if (!d->machine_from_db) {
		free(d->machine_memory);
		d->machine_memory = NULL;
		machine_local(d);
	}
	if (!d->machine_gpus) {
		json_t *j = gpus ? json_loads(gpus, 0, NULL) : NULL;
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
		d->machine_gpus = strbuf_detach(&sb, NULL);
	}
out:
	free(gpus);
	sqlite3_finalize(st);
	return rc;
}

static int load_levels(sqlite3 *db, int64_t variant_id, struct report_config *c,
		       struct it_error *err)
{
	struct strbuf sql;
	sqlite3_stmt *st = NULL;
	size_t alloc = 0;
	int rc, step;

	strbuf_init(&sql, 0);
	strbuf_adds(&sql, "SELECT batch_size, load_value, status, message");
	for (int i = 0; i < FIG_COUNT; i++)
		strbuf_addf(&sql, ", %s", figure_table[i].column);
	/* The latest run's measurement settings; a level measured twice keeps the latest. */
	strbuf_adds(&sql, " FROM measurements WHERE variant_id = ? AND profile_key = "
		    "(SELECT profile_key FROM runs ORDER BY id DESC LIMIT 1) "
		    "ORDER BY batch_size, load_kind, load_value, id");
	rc = prepare(db, sql.buf, &st, err);
	if (rc)
		goto out;
	sqlite3_bind_int64(st, 1, variant_id);
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		struct report_level *l;

		XGROW(c->levels, alloc, c->n_levels + 1);
		l = &c->levels[c->n_levels++];
		memset(l, 0, sizeof(*l));
		l->batch_size = sqlite3_column_int64(st, 0);
		l->load = sqlite3_column_double(st, 1);
		l->status = status_of((const char *)sqlite3_column_text(st, 2));
		l->message = col_dup(st, 3);
		for (int i = 0; i < FIG_COUNT; i++)
			if (sqlite3_column_type(st, 4 + i) != SQLITE_NULL)
				figures_set(&l->fig, (enum figure)i,
					    sqlite3_column_double(st, 4 + i));
	}
	if (step != SQLITE_DONE)
		rc = db_fail(db, err, "reading measurements");
out:
	sqlite3_finalize(st);
	strbuf_release(&sql);
	return rc;
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
			ms[i][j].status = c->levels[j].status;
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

static int load_model(sqlite3 *db, int64_t model_id, const char *options_json,
		      const char *export_path, struct report_model *m,
		      struct it_error *err)
{
	sqlite3_stmt *st = NULL;
	int64_t *ids = NULL, *best_ids = NULL;
	size_t alloc = 0;
	int rc, step;
	char *path;
	const struct report_config *def;

	rc = prepare(db, "SELECT id, name, coalesce(label, ''), is_default, max_batch_size, "
		     "instance_count, instance_kind, dynamic_batching, status, failure_reason, "
		     "config_pbtxt FROM variants WHERE model_id = ? ORDER BY id", &st, err);
	if (rc)
		goto out;
	sqlite3_bind_int64(st, 1, model_id);
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		struct report_config *c;
		size_t old = alloc;

		XGROW(m->configs, alloc, m->n_configs + 1);
		if (alloc != old) {
			ids = xreallocarray(ids, alloc, sizeof(*ids));
			best_ids = xreallocarray(best_ids, alloc, sizeof(*best_ids));
		}
		ids[m->n_configs] = sqlite3_column_int64(st, 0);
		best_ids[m->n_configs] = 0;
		c = &m->configs[m->n_configs++];
		memset(c, 0, sizeof(*c));
		c->best = -1;
		c->name = col_dup(st, 1);
		c->label = col_dup(st, 2);
		c->is_default = sqlite3_column_int(st, 3) != 0;
		c->max_batch_size = sqlite3_column_int(st, 4);
		c->instance_count = sqlite3_column_int(st, 5);
		snprintf(c->instance_kind, sizeof(c->instance_kind), "%s",
			 sqlite3_column_text(st, 6) ? (const char *)sqlite3_column_text(st, 6) : "");
		c->dynamic_batching = sqlite3_column_int(st, 7) != 0;
		c->status = col_dup(st, 8);
		c->failure_reason = col_dup(st, 9);
		c->config_pbtxt = col_dup(st, 10);
	}
	if (step != SQLITE_DONE) {
		rc = db_fail(db, err, "reading variants");
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	for (size_t i = 0; i < m->n_configs; i++) {
		struct report_config *c = &m->configs[i];

		rc = load_levels(db, ids[i], c, err);
		if (rc)
			goto out;
		for (size_t j = 0; j < c->n_levels; j++)
			m->n_measurements += level_valid(&c->levels[j]);
		if (c->failure_reason || (strcmp(c->status, "measured") &&
					  strcmp(c->status, "measuring") &&
					  strcmp(c->status, "pending") &&
					  strcmp(c->status, "loading")))
			m->n_failed++;
	}
	/* Load kind and the batch size the charts show: the first valid level's. */
	m->chart_batch = 1;
	for (size_t i = 0; i < m->n_configs; i++) {
		if (m->configs[i].n_levels) {
			m->chart_batch = m->configs[i].levels[0].batch_size;
			break;
		}
	}
	rc = prepare(db, "SELECT load_kind FROM measurements WHERE variant_id IN "
		     "(SELECT id FROM variants WHERE model_id = ?) ORDER BY id LIMIT 1", &st, err);
	if (rc)
		goto out;
	sqlite3_bind_int64(st, 1, model_id);
	m->load_kind = LOAD_CONCURRENCY;
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0) &&
	    !strcmp((const char *)sqlite3_column_text(st, 0), "request_rate"))
		m->load_kind = LOAD_REQUEST_RATE;
	sqlite3_finalize(st);
	st = NULL;

	/* The ranking analyze recorded (its latest run that ranked this model). */
	rc = prepare(db, "SELECT rank, variant_id, best_measurement_id, satisfies_constraints, "
		     "gain_vs_default_pct FROM rankings WHERE model_id = ?1 AND run_id = "
		     "(SELECT max(run_id) FROM rankings WHERE model_id = ?1) ORDER BY rank", &st, err);
	if (rc)
		goto out;
	sqlite3_bind_int64(st, 1, model_id);
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t vid = sqlite3_column_int64(st, 1);

		for (size_t i = 0; i < m->n_configs; i++) {
			struct report_config *c = &m->configs[i];

			if (ids[i] != vid)
				continue;
			c->rank = (size_t)sqlite3_column_int64(st, 0);
			best_ids[i] = sqlite3_column_int64(st, 2);
			c->passes = sqlite3_column_int(st, 3) != 0;
			c->has_gain = sqlite3_column_type(st, 4) != SQLITE_NULL;
			c->gain_pct = sqlite3_column_double(st, 4);
			m->ranking_from_db = true;
		}
	}
	sqlite3_finalize(st);
	st = NULL;
	if (m->ranking_from_db) {
		/* The best level: the ranked measurement, found by its (batch, load). */
		rc = prepare(db, "SELECT batch_size, load_value FROM measurements WHERE id = ?",
			     &st, err);
		if (rc)
			goto out;
		for (size_t i = 0; i < m->n_configs; i++) {
			struct report_config *c = &m->configs[i];

			if (!best_ids[i])
				continue;
			sqlite3_reset(st);
			sqlite3_bind_int64(st, 1, best_ids[i]);
			if (sqlite3_step(st) != SQLITE_ROW)
				continue;
			for (size_t j = 0; j < c->n_levels; j++)
				if (c->levels[j].batch_size == sqlite3_column_int64(st, 0) &&
				    c->levels[j].load == sqlite3_column_double(st, 1))
					c->best = (long)j;
		}
		sqlite3_finalize(st);
		st = NULL;
		for (size_t i = 0; i < m->n_configs; i++)
			if (m->configs[i].best < 0)
				m->configs[i].rank = 0;
	} else {
		rank_here(m);
	}
	def = report_model_default(m);
	for (size_t i = 0; i < m->n_configs; i++) {
		struct report_config *c = &m->configs[i];

		if (m->ranking_from_db || !def || def->best < 0 || c->best < 0)
			continue;
		c->gain_pct = objective_gain_pct(&m->objectives, &def->levels[def->best].fig,
						 &c->levels[c->best].fig, &c->has_gain);
	}
	qsort(m->configs, m->n_configs, sizeof(*m->configs), cmp_rank);
	m->objectives_text = objectives_text(&m->objectives);
	m->constraints_text = constraints_text(&m->objectives);
	path = xmalloc(strlen(export_path) + strlen(m->name) + 32);
	snprintf(path, strlen(export_path) + strlen(m->name) + 32, "%s/best/%s/config.pbtxt",
		 export_path, m->name);
	if (fs_is_file(path))
		m->best_config_path = path;
	else
		free(path);
out:
	sqlite3_finalize(st);
	free(ids);
	free(best_ids);
	(void)options_json;
	return rc;
}

int report_data_load(const char *export_path, const char *const *models,
		     size_t n_models, const char *time_iso,
		     struct report_data *out, struct it_error *err)
{
	struct report_data d;
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	char *options_json = NULL;
	const char *env = getenv("INFERTUNE_REPORT_TIME");
	size_t alloc = 0;
	int rc, step;

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
	if (sqlite3_open_v2(d.db_path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		rc = it_error_set(err, IT_ERR_IO, "%s: cannot open: %s", d.db_path,
				  db ? sqlite3_errmsg(db) : "out of memory");
		goto out;
	}
	sqlite3_busy_timeout(db, 10000);
	rc = load_runs(db, &d, &options_json, err);
	if (rc) {
		it_error_prefix(err, "%s: not an infertune results database?", d.db_path);
		goto out;
	}
	if (!d.time_iso)
		d.time_iso = xstrdup("unknown");
	rc = prepare(db, "SELECT id, name, platform, backend, repository FROM models ORDER BY id",
		     &st, err);
	if (rc)
		goto out;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 1);
		struct report_model *m;
		bool want = n_models == 0;

		for (size_t i = 0; i < n_models && !want; i++)
			want = name && !strcmp(models[i], name);
		if (!want)
			continue;
		XGROW(d.models, alloc, d.n_models + 1);
		m = &d.models[d.n_models++];
		memset(m, 0, sizeof(*m));
		m->name = col_dup(st, 1);
		m->platform = col_dup(st, 2);
		m->backend = col_dup(st, 3);
		m->repository = col_dup(st, 4);
		objectives_from_options(options_json, m->name, &m->objectives);
		rc = load_model(db, sqlite3_column_int64(st, 0), options_json, export_path, m, err);
		if (rc)
			goto out;
	}
	if (step != SQLITE_DONE) {
		rc = db_fail(db, err, "reading models");
		goto out;
	}
	for (size_t i = 0; i < n_models; i++) {
		bool found = false;

		for (size_t j = 0; j < d.n_models && !found; j++)
			found = !strcmp(d.models[j].name, models[i]);
		if (!found) {
			rc = it_error_set(err, IT_ERR_NOT_FOUND, "%s: no model '%s'", d.db_path,
					  models[i]);
			goto out;
		}
	}
	*out = d;
	memset(&d, 0, sizeof(d));
out:
	sqlite3_finalize(st);
	sqlite3_close(db);
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
		}
		free(m->configs);
		free(m->name);
		free(m->platform);
		free(m->backend);
		free(m->repository);
		free(m->objectives_text);
		free(m->constraints_text);
		free(m->best_config_path);
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
