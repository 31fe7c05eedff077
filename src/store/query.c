/*
 * The read-only queries behind store/query.h: what the report shows of an
 * analysis, read with the statement helpers of store.c. Nothing here
 * writes; every function works on a store opened either way.
 */
#include "store/query.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "store/internal.h"
#include "util/error.h"
#include "util/strbuf.h"
#include "util/xalloc.h"
#include "util/banned.h"

int store_run_latest(struct store *s, struct store_run_info *out, bool *found,
		     struct it_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc, step;

	memset(out, 0, sizeof(*out));
	*found = false;
	rc = store_prepare(s, "SELECT status, message, command_line, options_json, search_mode, "
			   "server_mode, gpus_json, infertune_version, "
			   "coalesce(finished_at, started_at) FROM runs ORDER BY id DESC LIMIT 1",
			   &st, err);
	if (rc)
		goto out;
	step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		out->status = store_column_strdup(st, 0);
		out->message = store_column_strdup(st, 1);
		out->command_line = store_column_strdup(st, 2);
		out->options_json = store_column_strdup(st, 3);
		out->search_mode = store_column_strdup(st, 4);
		out->server_mode = store_column_strdup(st, 5);
		out->gpus_json = store_column_strdup(st, 6);
		out->version = store_column_strdup(st, 7);
		out->ended_at = store_column_strdup(st, 8);
		*found = true;
	} else if (step != SQLITE_DONE) {
		rc = store_db_error(s, err, "reading the latest run");
	}
out:
	sqlite3_finalize(st);
	return rc;
}

void store_run_info_release(struct store_run_info *r)
{
	if (!r)
		return;
	free(r->status);
	free(r->message);
	free(r->command_line);
	free(r->options_json);
	free(r->search_mode);
	free(r->server_mode);
	free(r->gpus_json);
	free(r->version);
	free(r->ended_at);
	memset(r, 0, sizeof(*r));
}

int store_meta_get(struct store *s, const char *key, char **value,
		   struct it_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc = 0, step;

	*value = NULL;
	/* No meta table (err left alone): the file simply records no such row. */
	if (store_prepare(s, "SELECT value FROM meta WHERE key = ?", &st, NULL))
		goto out;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	step = sqlite3_step(st);
	if (step == SQLITE_ROW)
		*value = store_column_strdup(st, 0);
	else if (step != SQLITE_DONE)
		rc = store_db_error(s, err, "reading meta");
out:
	sqlite3_finalize(st);
	return rc;
}

int store_models_list(struct store *s, struct store_model **out, size_t *n,
		      struct it_error *err)
{
	sqlite3_stmt *st = NULL;
	struct store_model *ms = NULL;
	size_t count = 0, alloc = 0;
	int rc, step;

	rc = store_prepare(s, "SELECT id, name, platform, backend, repository, config_pbtxt "
			   "FROM models "
			   "ORDER BY id", &st, err);
	if (rc)
		goto out;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_model *m;

		XGROW(ms, alloc, count + 1);
		m = &ms[count++];
		m->id = sqlite3_column_int64(st, 0);
		m->name = store_column_strdup(st, 1);
		m->platform = store_column_strdup(st, 2);
		m->backend = store_column_strdup(st, 3);
		m->repository = store_column_strdup(st, 4);
		m->config_pbtxt = store_column_strdup(st, 5);
	}
	if (step != SQLITE_DONE)
		rc = store_db_error(s, err, "reading models");
out:
	sqlite3_finalize(st);
	if (rc) {
		for (size_t i = 0; i < count; i++)
			store_model_release(&ms[i]);
		free(ms);
		return rc;
	}
	*out = ms;
	*n = count;
	return 0;
}

void store_model_release(struct store_model *m)
{
	if (!m)
		return;
	free(m->name);
	free(m->platform);
	free(m->backend);
	free(m->repository);
	free(m->config_pbtxt);
	memset(m, 0, sizeof(*m));
}

static void read_level(sqlite3_stmt *st, struct store_level *l)
{
	memset(l, 0, sizeof(*l));
	l->id = sqlite3_column_int64(st, 0);
	l->batch_size = sqlite3_column_int64(st, 1);
	l->load_kind = store_load_kind_parse((const char *)sqlite3_column_text(st, 2));
	l->load_value = sqlite3_column_double(st, 3);
	l->status = store_measurement_status_parse((const char *)sqlite3_column_text(st, 4));
	struct store_measurement m = { 0 };

	l->message = store_column_strdup(st, 5);
	store_read_figures(st, 6, &l->fig);
	store_read_meas_v2(st, 6 + FIG_COUNT, &l->fig, &m);
	l->phase = m.phase;
	l->client_cpu_share = m.client_cpu_share;
}

int store_levels_current(struct store *s, int64_t variant_id,
			 struct store_level **out, size_t *n,
			 struct it_error *err)
{
	sqlite3_stmt *st = NULL;
	struct store_level *ls = NULL;
	size_t count = 0, alloc = 0;
	struct strbuf sql;
	int rc, step;

	strbuf_init(&sql, 0);
	/* The latest run's measurement settings; ties keep measurement order. */
	strbuf_addf(&sql, "SELECT id, batch_size, load_kind, load_value, status, message, %s, %s "
		    "FROM measurements WHERE variant_id = ? AND profile_key = "
		    "(SELECT profile_key FROM runs ORDER BY id DESC LIMIT 1) "
		    "ORDER BY batch_size, load_kind, load_value, id", s->figure_columns,
		    s->meas_v2_columns);
	rc = store_prepare(s, sql.buf, &st, err);
	if (rc)
		goto out;
	sqlite3_bind_int64(st, 1, variant_id);
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		XGROW(ls, alloc, count + 1);
		read_level(st, &ls[count++]);
	}
	if (step != SQLITE_DONE)
		rc = store_db_error(s, err, "reading measurements");
out:
	sqlite3_finalize(st);
	strbuf_release(&sql);
	if (rc) {
		for (size_t i = 0; i < count; i++)
			store_level_release(&ls[i]);
		free(ls);
		return rc;
	}
	*out = ls;
	*n = count;
	return 0;
}

void store_level_release(struct store_level *l)
{
	if (!l)
		return;
	free(l->message);
	memset(l, 0, sizeof(*l));
}

int store_measurement_point(struct store *s, int64_t measurement_id,
			    int64_t *batch_size, double *load_value,
			    bool *found, struct it_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc, step;

	*found = false;
	rc = store_prepare(s, "SELECT batch_size, load_value FROM measurements WHERE id = ?",
			   &st, err);
	if (rc)
		goto out;
	sqlite3_bind_int64(st, 1, measurement_id);
	step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		*batch_size = sqlite3_column_int64(st, 0);
		*load_value = sqlite3_column_double(st, 1);
		*found = true;
	} else if (step != SQLITE_DONE) {
		rc = store_db_error(s, err, "reading a measurement");
	}
out:
	sqlite3_finalize(st);
	return rc;
}

int store_model_load_kind(struct store *s, int64_t model_id,
			  enum load_kind *kind, struct it_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc, step;

	*kind = LOAD_CONCURRENCY;
	rc = store_prepare(s, "SELECT load_kind FROM measurements WHERE variant_id IN "
			   "(SELECT id FROM variants WHERE model_id = ?) ORDER BY id LIMIT 1",
			   &st, err);
	if (rc)
		goto out;
	sqlite3_bind_int64(st, 1, model_id);
	step = sqlite3_step(st);
	if (step == SQLITE_ROW)
		*kind = store_load_kind_parse((const char *)sqlite3_column_text(st, 0));
	else if (step != SQLITE_DONE)
		rc = store_db_error(s, err, "reading the load kind");
out:
	sqlite3_finalize(st);
	return rc;
}

/* The tier columns of a ranking row from column `first` on (NULL: absent). */
static void read_rank_tier(sqlite3_stmt *st, int first, struct store_rank *r)
{
	const unsigned char *t;

	r->has_gain_ci = sqlite3_column_type(st, first) != SQLITE_NULL &&
			 sqlite3_column_type(st, first + 1) != SQLITE_NULL;
	r->gain_lo_pct = sqlite3_column_double(st, first);
	r->gain_hi_pct = sqlite3_column_double(st, first + 1);
	r->in_top_tier = sqlite3_column_int(st, first + 2) != 0;
	r->measured_rank = sqlite3_column_int64(st, first + 3);
	t = sqlite3_column_text(st, first + 4);
	snprintf(r->borderline, sizeof(r->borderline), "%s", t ? (const char *)t : "");
	t = sqlite3_column_text(st, first + 5);
	snprintf(r->recommendation, sizeof(r->recommendation), "%s", t ? (const char *)t : "");
}

int store_ranking_latest(struct store *s, int64_t model_id,
			 struct store_ranked **out, size_t *n,
			 struct it_error *err)
{
	sqlite3_stmt *st = NULL;
	struct store_ranked *rs = NULL;
	size_t count = 0, alloc = 0;
	bool tier = false;
	int rc, step;

	/* A file written before the tier columns (read-only: never migrated) reads them as NULL. */
	rc = store_table_has_column(s, "rankings", "in_top_tier", &tier, err);
	if (rc)
		goto out;
	rc = store_prepare(s, tier ?
			   "SELECT rank, variant_id, best_measurement_id, "
			   "satisfies_constraints, gain_vs_default_pct, gain_lo_pct, gain_hi_pct, "
			   "in_top_tier, measured_rank, borderline, recommendation FROM rankings "
			   "WHERE model_id = ?1 AND run_id = "
			   "(SELECT max(run_id) FROM rankings WHERE model_id = ?1) ORDER BY rank" :
			   "SELECT rank, variant_id, best_measurement_id, "
			   "satisfies_constraints, gain_vs_default_pct, NULL, NULL, 0, NULL, NULL, "
			   "NULL FROM rankings WHERE model_id = ?1 AND run_id = "
			   "(SELECT max(run_id) FROM rankings WHERE model_id = ?1) ORDER BY rank",
			   &st, err);
	if (rc)
		goto out;
	sqlite3_bind_int64(st, 1, model_id);
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_rank *r;

		XGROW(rs, alloc, count + 1);
		memset(&rs[count], 0, sizeof(rs[count]));
		rs[count].rank = sqlite3_column_int64(st, 0);
		r = &rs[count++].row;
		r->variant_id = sqlite3_column_int64(st, 1);
		r->best_measurement_id = sqlite3_column_int64(st, 2);
		r->satisfies_constraints = sqlite3_column_int(st, 3) != 0;
		r->has_gain = sqlite3_column_type(st, 4) != SQLITE_NULL;
		r->gain_vs_default_pct = sqlite3_column_double(st, 4);
		read_rank_tier(st, 5, r);
	}
	if (step != SQLITE_DONE)
		rc = store_db_error(s, err, "reading the ranking");
out:
	sqlite3_finalize(st);
	if (rc) {
		free(rs);
		return rc;
	}
	*out = rs;
	*n = count;
	return 0;
}

int store_profile_key_used(struct store *s, const char *profile_key, bool *used,
			   struct it_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc, step;

	*used = false;
	rc = store_prepare(s, "SELECT 1 FROM measurements WHERE profile_key = ? LIMIT 1",
			   &st, err);
	if (rc)
		goto out;
	sqlite3_bind_text(st, 1, profile_key, -1, SQLITE_STATIC);
	step = sqlite3_step(st);
	if (step == SQLITE_ROW)
		*used = true;
	else if (step != SQLITE_DONE)
		rc = store_db_error(s, err, "reading measurements");
out:
	sqlite3_finalize(st);
	return rc;
}

static double column_or_nan(sqlite3_stmt *st, int i)
{
	return sqlite3_column_type(st, i) == SQLITE_NULL ? NAN : sqlite3_column_double(st, i);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

void prediction_errors_of(const struct store_checked_prediction *ps, size_t n, bool probe,
			  struct prediction_errors *out)
{
	double *e = xcalloc(n + 1, sizeof(*e));

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < n; i++) {
		const struct store_checked_prediction *p = &ps[i];

		if (p->probe == probe && p->measured && isfinite(p->throughput) &&
		    isfinite(p->measured_throughput) && p->measured_throughput > 0)
			e[out->n++] = fabs(p->throughput - p->measured_throughput) /
				      p->measured_throughput * 100;
	}
	if (out->n) {
		qsort(e, out->n, sizeof(*e), cmp_double);
		out->median_pct = e[out->n / 2];
		out->worst_pct = e[out->n - 1];
	}
	free(e);
}

int store_predictions_of_model(struct store *s, int64_t model_id,
			       struct store_checked_prediction **out, size_t *n,
			       struct it_error *err)
{
	sqlite3_stmt *st = NULL;
	struct store_checked_prediction *ps = NULL;
	size_t count = 0, alloc = 0;
	bool has = false, has_role = false;
	struct strbuf sql;
	int rc, step;

	*out = NULL;
	*n = 0;
	rc = store_table_has_column(s, "predictions", "rel_uncertainty", &has, err);
	if (rc || !has)
		return rc;
	/* A file written before the role column (read-only: never migrated) holds guided ones. */
	rc = store_table_has_column(s, "predictions", "role", &has_role, err);
	if (rc)
		return rc;
	strbuf_init(&sql, 0);
	strbuf_addf(&sql, "SELECT v.name, p.load_value, p.throughput, p.latency_p99_ms, "
		    "p.rel_uncertainty, p.measurement_id IS NOT NULL, m.throughput, "
		    "m.latency_p99_ms, p.model, %s FROM predictions p "
		    "JOIN variants v ON v.id = p.variant_id "
		    "LEFT JOIN measurements m ON m.id = p.measurement_id "
		    "WHERE v.model_id = ? AND p.id IN (SELECT max(id) FROM predictions "
		    "GROUP BY variant_id, load_kind, load_value) ORDER BY p.id",
		    has_role ? "p.role = 'probe'" : "0");
	rc = store_prepare(s, sql.buf, &st, err);
	strbuf_release(&sql);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, model_id);
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_checked_prediction *p;

		XGROW(ps, alloc, count + 1);
		p = &ps[count++];
		memset(p, 0, sizeof(*p));
		snprintf(p->variant, sizeof(p->variant), "%s", sqlite3_column_text(st, 0));
		p->load_value = sqlite3_column_double(st, 1);
		p->throughput = column_or_nan(st, 2);
		p->latency_p99_ms = column_or_nan(st, 3);
		p->rel_uncertainty = sqlite3_column_double(st, 4);
		p->measured = sqlite3_column_int(st, 5) != 0;
		p->measured_throughput = column_or_nan(st, 6);
		p->measured_p99_ms = column_or_nan(st, 7);
		snprintf(p->model, sizeof(p->model), "%s", sqlite3_column_text(st, 8));
		p->probe = sqlite3_column_int(st, 9) != 0;
	}
	if (step != SQLITE_DONE)
		rc = store_db_error(s, err, "reading the predictions");
	sqlite3_finalize(st);
	if (rc) {
		free(ps);
		return rc;
	}
	*out = ps;
	*n = count;
	return 0;
}
