/*
 * Unit tests for store/: results.db's schema and version, runs, models,
 * variants found by configuration, measurements committed one by one and
 * found again for a resume (windows, GPUs and absent figures included),
 * the refusal to store a point twice, server-only rows and rankings, meta
 * rows set and replaced, the read-only queries the report makes
 * (store/query.h) on empty, full and incomplete files, the server's batch
 * statistics of a measurement, and older files (schemas 1 and 2, and the
 * real schema-1 file of tests/data/golden-outputs) read and migrated.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store/query.h"
#include "store/store.h"
#include "util/error.h"

static char *temp_path(const char *name)
{
	static char buf[512];
	char tmpl[] = "/tmp/infertune-store-XXXXXX";
	char *dir = mkdtemp(tmpl);

	assert_non_null(dir);
	snprintf(buf, sizeof(buf), "%s/%s", dir, name);
	return strdup(buf);
}

/* Removes the database, its WAL files and the folder temp_path() made. */
static void cleanup(char *path)
{
	char buf[600];
	char *slash;

	unlink(path);
	snprintf(buf, sizeof(buf), "%s-wal", path);
	unlink(buf);
	snprintf(buf, sizeof(buf), "%s-shm", path);
	unlink(buf);
	slash = strrchr(path, '/');
	*slash = '\0';
	rmdir(path);
	free(path);
}

static struct store *open_new(char **path)
{
	struct store *s = NULL;
	struct it_error err = { 0 };

	*path = temp_path("results.db");
	assert_int_equal(store_open(*path, &s, &err), 0);
	return s;
}

static int64_t add_run(struct store *s)
{
	struct store_run run = { "infertune analyze", "{}", "brute", "embedded", NULL,
				 "mode=time_windows", "[]", "0.1.0" };
	int64_t id = 0;

	assert_int_equal(store_run_begin(s, &run, &id, NULL), 0);
	assert_true(id > 0);
	return id;
}

static int64_t add_model(struct store *s, int64_t run)
{
	int64_t id = 0;

	assert_int_equal(store_model_get_or_add(s, "m", "", "sim", "name: \"m\"\n", "{}",
						 "/repo", run, &id, NULL), 0);
	return id;
}

static int64_t add_variant(struct store *s, int64_t model, int64_t run, const char *name,
			   const char *key)
{
	struct store_variant v;

	memset(&v, 0, sizeof(v));
	v.model_id = model;
	snprintf(v.name, sizeof(v.name), "%s", name);
	v.variant_index = strstr(name, "default") ? -1 : 0;
	v.is_default = v.variant_index < 0;
	v.config_key = strdup(key);
	v.config_pbtxt = strdup("name: \"x\"\n");
	v.config_json = strdup("{}");
	v.max_batch_size = 8;
	v.instance_count = 2;
	snprintf(v.instance_kind, sizeof(v.instance_kind), "KIND_CPU");
	v.dynamic_batching = true;
	v.label = strdup("instances=2 max_batch_size=8");
	v.created_run_id = run;
	assert_int_equal(store_variant_add(s, &v, NULL), 0);
	assert_true(v.id > 0);
	{
		int64_t id = v.id;

		store_variant_release(&v);
		return id;
	}
}

static void fill_measurement(struct store_measurement *m, int64_t run, int64_t variant,
			     double load)
{
	memset(m, 0, sizeof(*m));
	m->run_id = run;
	m->variant_id = variant;
	snprintf(m->profile_key, sizeof(m->profile_key), "mode=time_windows");
	m->batch_size = 1;
	m->load_kind = LOAD_CONCURRENCY;
	m->load_value = load;
	m->status = MEAS_OK;
	figures_set(&m->fig, FIG_THROUGHPUT, 123.456789012345);
	figures_set(&m->fig, FIG_LATENCY_P99, 9.75);
	m->request_count = 100;
	m->window_count = 3;
	m->merged_first = 0;
	m->merged_count = 3;
	snprintf(m->window_mode, sizeof(m->window_mode), "time_windows");
	m->window_ms = 300;
	m->stability_pct = 10;
	m->started_at = 1700000000.25;
	m->finished_at = 1700000001.5;
	m->windows = calloc(3, sizeof(*m->windows));
	m->n_windows = 3;
	for (uint32_t i = 0; i < 3; i++) {
		m->windows[i].index = i;
		m->windows[i].duration_ms = 300;
		m->windows[i].request_count = 33;
		m->windows[i].throughput = 110 + i;
		m->windows[i].latency_avg_ms = 9;
		m->windows[i].stabilizing_latency_ms = 9;
		m->windows[i].valid = true;
		m->windows[i].merged = true;
	}
	m->gpus = calloc(1, sizeof(*m->gpus));
	m->n_gpus = 1;
	snprintf(m->gpus[0].uuid, sizeof(m->gpus[0].uuid), "GPU-1");
	m->gpus[0].has_utilization = true;
	m->gpus[0].utilization_pct = 55;
	m->gpus[0].has_power = false;
	/* Given out of order: read back by batch size. */
	m->batch_stats = calloc(2, sizeof(*m->batch_stats));
	m->n_batch_stats = 2;
	m->batch_stats[0] = (struct store_batch_stat){ 8, 12, 1000, 5000000000000ULL, 3000 };
	m->batch_stats[1] = (struct store_batch_stat){ 1, 40, 200, 4000000, 600 };
}

/* fill_measurement()'s batch statistics, read back in order. */
static void assert_batch_stats(const struct store_measurement *m)
{
	assert_int_equal(m->n_batch_stats, 2);
	assert_int_equal(m->batch_stats[0].batch_size, 1);
	assert_int_equal(m->batch_stats[0].execution_count, 40);
	assert_int_equal(m->batch_stats[0].compute_input_ns, 200);
	assert_int_equal(m->batch_stats[0].compute_infer_ns, 4000000);
	assert_int_equal(m->batch_stats[0].compute_output_ns, 600);
	assert_int_equal(m->batch_stats[1].batch_size, 8);
	assert_int_equal(m->batch_stats[1].execution_count, 12);
	assert_true(m->batch_stats[1].compute_infer_ns == 5000000000000ULL);
}

static void test_create_and_version(void **state)
{
	char *path;
	struct store *s = open_new(&path);
	sqlite3 *db;
	sqlite3_stmt *st;
	struct it_error err = { 0 };

	(void)state;
	store_close(s);
	/* The schema version is recorded. */
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), STORE_SCHEMA_VERSION);
	sqlite3_finalize(st);
	/* A future version is refused. */
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(store_open(path, &s, &err), IT_ERR_UNSUPPORTED);
	assert_non_null(strstr(err.message, "schema version 99"));
	cleanup(path);
}

static void test_foreign_database_refused(void **state)
{
	char *path = temp_path("other.db");
	sqlite3 *db;
	struct store *s = NULL;
	struct it_error err = { 0 };

	(void)state;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "CREATE TABLE t (x)", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(store_open(path, &s, &err), IT_ERR_UNSUPPORTED);
	assert_null(s);
	cleanup(path);
}

static void test_variants_by_key(void **state)
{
	char *path;
	struct store *s = open_new(&path);
	int64_t run = add_run(s), model = add_model(s, run), next = -1, again = 0;
	struct store_variant v;
	bool found = false;

	(void)state;
	/* A model added twice is the same model. */
	assert_int_equal(store_model_get_or_add(s, "m", NULL, NULL, "x", "{}", NULL, run,
						 &again, NULL), 0);
	assert_int_equal(again, model);
	assert_int_equal(store_variant_next_index(s, model, &next, NULL), 0);
	assert_int_equal(next, 0);
	add_variant(s, model, run, "m_config_default", "{\"a\":1}");
	add_variant(s, model, run, "m_config_0", "{\"a\":2}");
	assert_int_equal(store_variant_next_index(s, model, &next, NULL), 0);
	assert_int_equal(next, 1);
	assert_int_equal(store_variant_find(s, model, "{\"a\":2}", &v, &found, NULL), 0);
	assert_true(found);
	assert_string_equal(v.name, "m_config_0");
	assert_int_equal(v.status, VARIANT_PENDING);
	assert_int_equal(v.max_batch_size, 8);
	assert_true(v.dynamic_batching);
	store_variant_release(&v);
	assert_int_equal(store_variant_find(s, model, "{\"a\":3}", &v, &found, NULL), 0);
	assert_false(found);
	/* Status and reason. */
	assert_int_equal(store_variant_set_status(s, 2, VARIANT_SERVER_CRASHED, "boom", NULL), 0);
	assert_int_equal(store_variant_get(s, 2, &v, NULL), 0);
	assert_int_equal(v.status, VARIANT_SERVER_CRASHED);
	assert_string_equal(v.failure_reason, "boom");
	assert_true(variant_status_final(v.status));
	store_variant_release(&v);
	assert_false(variant_status_final(VARIANT_MEASURING));
	store_close(s);
	cleanup(path);
}

static void test_measurement_round_trip(void **state)
{
	char *path;
	struct store *s = open_new(&path);
	int64_t run = add_run(s), model = add_model(s, run);
	int64_t var = add_variant(s, model, run, "m_config_0", "k");
	struct store_measurement m, back;
	struct it_error err = { 0 };
	bool found = false;
	int64_t n = 0;

	(void)state;
	fill_measurement(&m, run, var, 4);
	assert_int_equal(store_measurement_add(s, &m, &err), 0);
	assert_true(m.id > 0);
	/* The same point again is refused: nothing is ever measured twice. */
	assert_int_equal(store_measurement_add(s, &m, &err), IT_ERR_STATE);
	store_measurement_release(&m);
	assert_int_equal(store_measurement_count(s, &n, NULL), 0);
	assert_int_equal(n, 1);

	/* Reopen: the commit survived. */
	store_close(s);
	assert_int_equal(store_open(path, &s, NULL), 0);
	assert_int_equal(store_measurement_find(s, var, "mode=time_windows", 1,
						LOAD_CONCURRENCY, 4, &back, &found, NULL), 0);
	assert_true(found);
	assert_int_equal(back.status, MEAS_OK);
	/* Figures come back bit for bit (decisions replay exactly). */
	assert_true(figures_has(&back.fig, FIG_THROUGHPUT));
	assert_true(back.fig.v[FIG_THROUGHPUT] == 123.456789012345);
	assert_true(back.fig.v[FIG_LATENCY_P99] == 9.75);
	/* Absent figures stay absent (NULL), never 0. */
	assert_false(figures_has(&back.fig, FIG_GPU_POWER));
	assert_false(figures_has(&back.fig, FIG_ENERGY_PER_INFERENCE));
	assert_int_equal(back.n_windows, 3);
	assert_true(back.windows[2].throughput == 112);
	assert_true(back.windows[1].merged);
	assert_int_equal(back.n_gpus, 1);
	assert_string_equal(back.gpus[0].uuid, "GPU-1");
	assert_true(back.gpus[0].has_utilization);
	assert_false(back.gpus[0].has_power);
	assert_batch_stats(&back);
	assert_true(fabs(back.started_at - 1700000000.25) < 0.002);
	store_measurement_release(&back);
	assert_null(back.batch_stats);
	assert_int_equal(back.n_batch_stats, 0);
	/*
	 * The batch statistics are written in the measurement's transaction:
	 * when they fail (a batch size twice), the measurement is not stored.
	 */
	fill_measurement(&m, run, var, 5);
	m.batch_stats[1].batch_size = 8;
	assert_int_equal(store_measurement_add(s, &m, &err), IT_ERR_STATE);
	assert_int_equal(m.id, 0);
	store_measurement_release(&m);
	assert_int_equal(store_measurement_count(s, &n, NULL), 0);
	assert_int_equal(n, 1);
	assert_int_equal(store_measurement_find(s, var, "mode=time_windows", 1,
						LOAD_CONCURRENCY, 5, &back, &found, NULL), 0);
	assert_false(found);
	/* Another profile key, batch or load is another point. */
	assert_int_equal(store_measurement_find(s, var, "mode=count_windows", 1,
						LOAD_CONCURRENCY, 4, &back, &found, NULL), 0);
	assert_false(found);
	assert_int_equal(store_measurement_find(s, var, "mode=time_windows", 1,
						LOAD_REQUEST_RATE, 4, &back, &found, NULL), 0);
	assert_false(found);
	store_close(s);
	cleanup(path);
}

static void test_failed_measurement_has_no_figures(void **state)
{
	char *path;
	struct store *s = open_new(&path);
	int64_t run = add_run(s), model = add_model(s, run);
	int64_t var = add_variant(s, model, run, "m_config_0", "k");
	struct store_measurement m, *all = NULL;
	size_t n = 0;

	(void)state;
	memset(&m, 0, sizeof(m));
	m.run_id = run;
	m.variant_id = var;
	snprintf(m.profile_key, sizeof(m.profile_key), "p");
	m.batch_size = 1;
	m.load_value = 2;
	m.status = MEAS_UNSTABLE;
	snprintf(m.message, sizeof(m.message), "Failed to obtain stable measurement");
	m.window_count = 10;
	m.started_at = m.finished_at = 1700000000;
	assert_int_equal(store_measurement_add(s, &m, NULL), 0);
	fill_measurement(&m, run, var, 1);
	snprintf(m.profile_key, sizeof(m.profile_key), "p");
	assert_int_equal(store_measurement_add(s, &m, NULL), 0);
	store_measurement_release(&m);
	assert_int_equal(store_measurements_of_variant(s, var, "p", &all, &n, NULL), 0);
	assert_int_equal(n, 2);
	/* Ordered by load value. */
	assert_true(all[0].load_value == 1);
	assert_batch_stats(&all[0]);
	assert_int_equal(all[1].status, MEAS_UNSTABLE);
	assert_int_equal(all[1].fig.present, 0);
	assert_int_equal(all[1].n_batch_stats, 0);
	assert_string_equal(all[1].message, "Failed to obtain stable measurement");
	for (size_t i = 0; i < n; i++)
		store_measurement_release(&all[i]);
	free(all);
	store_close(s);
	cleanup(path);
}

static void test_runs_server_only_rankings(void **state)
{
	char *path;
	struct store *s = open_new(&path);
	int64_t run = add_run(s), model = add_model(s, run), stale = 0, n = 0;
	int64_t var = add_variant(s, model, run, "m_config_0", "k");
	struct store_server_only so, back;
	struct store_rank rk[1];
	bool found = false;

	(void)state;
	/* A run killed while running is closed as failed by the next one. */
	assert_int_equal(store_run_close_stale(s, &stale, NULL), 0);
	assert_int_equal(stale, 1);
	add_run(s);
	assert_int_equal(store_run_count(s, &n, NULL), 0);
	assert_int_equal(n, 2);
	assert_int_equal(store_run_finish(s, 2, "completed", NULL, NULL), 0);
	assert_int_equal(store_run_close_stale(s, &stale, NULL), 0);
	assert_int_equal(stale, 0);

	assert_int_equal(store_server_only_latest(s, &back, &found, NULL), 0);
	assert_false(found);
	memset(&so, 0, sizeof(so));
	so.run_id = run;
	so.started_at = 1700000000;
	so.duration_s = 3;
	figures_set(&so.fig, FIG_SERVER_RSS, 12.5);
	assert_int_equal(store_server_only_add(s, &so, NULL), 0);
	assert_int_equal(store_server_only_latest(s, &back, &found, NULL), 0);
	assert_true(found);
	assert_true(back.fig.v[FIG_SERVER_RSS] == 12.5);
	assert_false(figures_has(&back.fig, FIG_CPU_POWER));
	store_server_only_release(&back);

	memset(rk, 0, sizeof(rk));
	rk[0].variant_id = var;
	rk[0].satisfies_constraints = true;
	assert_int_equal(store_ranking_set(s, run, model, rk, 1, NULL), 0);
	/* Replacing is allowed (the outputs are rewritten at every end). */
	assert_int_equal(store_ranking_set(s, run, model, rk, 1, NULL), 0);
	assert_int_equal(store_event_add(s, run, var, "server_crashed", "signal 6", NULL), 0);
	store_close(s);
	cleanup(path);
}

static void test_meta_set(void **state)
{
	char *path;
	struct store *s = open_new(&path);
	struct it_error err = { 0 };
	sqlite3 *db;
	sqlite3_stmt *st;

	(void)state;
	assert_int_equal(store_meta_set(s, "machine_cpu", "first", NULL), 0);
	/* A second run replaces the row: one row per key, the latest value. */
	assert_int_equal(store_meta_set(s, "machine_cpu", "Some CPU, 2 cores", NULL), 0);
	assert_int_equal(store_meta_set(s, "schema_version", "2", &err), IT_ERR_INVALID);
	assert_non_null(strstr(err.message, "schema_version"));
	store_close(s);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*), max(value) FROM meta "
					    "WHERE key = 'machine_cpu'", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 1);
	assert_string_equal((const char *)sqlite3_column_text(st, 1), "Some CPU, 2 cores");
	sqlite3_finalize(st);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = 'schema_version'",
					    -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), STORE_SCHEMA_VERSION);
	sqlite3_finalize(st);
	sqlite3_close(db);
	cleanup(path);
}

/* Reopens path read-only, as the report does. */
static struct store *open_ro(const char *path)
{
	struct store *s = NULL;

	assert_int_equal(store_open_readonly(path, &s, NULL), 0);
	assert_non_null(s);
	return s;
}

/* Adds one level of variant var with the given settings; returns its id. */
static int64_t add_level(struct store *s, int64_t run, int64_t var, const char *key,
			 enum load_kind kind, double load, enum measurement_status status)
{
	struct store_measurement m;
	int64_t id;

	fill_measurement(&m, run, var, load);
	snprintf(m.profile_key, sizeof(m.profile_key), "%s", key);
	m.load_kind = kind;
	m.status = status;
	if (status != MEAS_OK) {
		snprintf(m.message, sizeof(m.message), "no three windows agree");
		memset(&m.fig, 0, sizeof(m.fig));       /* stored as NULL */
	}
	assert_int_equal(store_measurement_add(s, &m, NULL), 0);
	id = m.id;
	store_measurement_release(&m);
	return id;
}

static void test_query_empty(void **state)
{
	char *path;
	struct store *s = open_new(&path);
	struct store_run_info run;
	struct store_model *models = NULL;
	struct store_level *levels = NULL;
	struct store_ranked *ranks = NULL;
	enum load_kind kind = LOAD_REQUEST_RATE;
	char *value = NULL;
	size_t n = 99;
	int64_t runs = -1, batch = -1;
	double load = -1;
	bool found = true;

	(void)state;
	store_close(s);
	s = open_ro(path);
	assert_int_equal(store_run_count(s, &runs, NULL), 0);
	assert_int_equal(runs, 0);
	assert_int_equal(store_run_latest(s, &run, &found, NULL), 0);
	assert_false(found);
	assert_null(run.status);
	store_run_info_release(&run);
	assert_int_equal(store_meta_get(s, "machine_cpu", &value, NULL), 0);
	assert_null(value);
	assert_int_equal(store_meta_get(s, "schema_version", &value, NULL), 0);
	assert_string_equal(value, "3");
	free(value);
	assert_int_equal(store_models_list(s, &models, &n, NULL), 0);
	assert_int_equal(n, 0);
	assert_null(models);
	assert_int_equal(store_levels_current(s, 1, &levels, &n, NULL), 0);
	assert_int_equal(n, 0);
	assert_null(levels);
	found = true;
	assert_int_equal(store_measurement_point(s, 1, &batch, &load, &found, NULL), 0);
	assert_false(found);
	assert_int_equal(batch, -1);
	assert_int_equal(store_model_load_kind(s, 1, &kind, NULL), 0);
	assert_int_equal(kind, LOAD_CONCURRENCY);
	assert_int_equal(store_ranking_latest(s, 1, &ranks, &n, NULL), 0);
	assert_int_equal(n, 0);
	assert_null(ranks);
	store_close(s);
	cleanup(path);
}

/* The ids fill_two_runs() made. */
struct two_runs {
	int64_t model, def, var, best;
};

/*
 * A file with two runs of different measurement settings and two rankings,
 * what the report reads; returned reopened read-only.
 */
static struct store *fill_two_runs(char **path, struct two_runs *ids)
{
	struct store *s = open_new(path);
	int64_t run = add_run(s);
	struct store_rank rk[2];

	ids->model = add_model(s, run);
	ids->def = add_variant(s, ids->model, run, "m_config_default", "d");
	ids->var = add_variant(s, ids->model, run, "m_config_0", "k");
	assert_int_equal(store_meta_set(s, "machine_cpu", "Some CPU, 2 cores", NULL), 0);
	/* The model's first measurement, with settings the latest run does not use. */
	add_level(s, run, ids->var, "mode=old", LOAD_REQUEST_RATE, 1, MEAS_OK);
	memset(rk, 0, sizeof(rk));
	rk[0].variant_id = ids->def;
	assert_int_equal(store_ranking_set(s, run, ids->model, rk, 1, NULL), 0);
	assert_int_equal(store_run_finish(s, run, "completed", NULL, NULL), 0);

	run = add_run(s);       /* profile key "mode=time_windows"; left running */
	ids->best = add_level(s, run, ids->var, "mode=time_windows", LOAD_CONCURRENCY, 4, MEAS_OK);
	add_level(s, run, ids->var, "mode=time_windows", LOAD_CONCURRENCY, 2, MEAS_UNSTABLE);
	add_level(s, run, ids->var, "mode=time_windows", LOAD_CONCURRENCY, 1, MEAS_OK);
	rk[0].variant_id = ids->var;
	rk[0].best_measurement_id = ids->best;
	rk[0].satisfies_constraints = true;
	rk[0].has_gain = true;
	rk[0].gain_vs_default_pct = 12.5;
	rk[1].variant_id = ids->def;
	assert_int_equal(store_ranking_set(s, run, ids->model, rk, 2, NULL), 0);
	store_close(s);
	return open_ro(*path);
}

static void test_query_run_meta_models(void **state)
{
	char *path;
	struct two_runs ids;
	struct store *s = fill_two_runs(&path, &ids);
	struct store_run_info run;
	struct store_model *models = NULL;
	int64_t runs = 0;
	char *value = NULL;
	size_t n = 0;
	bool found = false;

	(void)state;
	assert_int_equal(store_run_count(s, &runs, NULL), 0);
	assert_int_equal(runs, 2);
	assert_int_equal(store_run_latest(s, &run, &found, NULL), 0);
	assert_true(found);
	assert_string_equal(run.status, "running");
	assert_null(run.message);
	assert_string_equal(run.command_line, "infertune analyze");
	assert_string_equal(run.options_json, "{}");
	assert_string_equal(run.search_mode, "brute");
	assert_string_equal(run.server_mode, "embedded");
	assert_string_equal(run.gpus_json, "[]");
	assert_string_equal(run.version, "0.1.0");
	/* Not finished: its start. */
	assert_int_equal(strlen(run.ended_at), strlen("2026-01-01T00:00:00.000Z"));
	store_run_info_release(&run);
	assert_int_equal(store_meta_get(s, "machine_cpu", &value, NULL), 0);
	assert_string_equal(value, "Some CPU, 2 cores");
	free(value);
	assert_int_equal(store_meta_get(s, "machine_memory", &value, NULL), 0);
	assert_null(value);
	assert_int_equal(store_models_list(s, &models, &n, NULL), 0);
	assert_int_equal(n, 1);
	assert_int_equal(models[0].id, ids.model);
	assert_string_equal(models[0].name, "m");
	assert_string_equal(models[0].backend, "sim");
	assert_string_equal(models[0].repository, "/repo");
	store_model_release(&models[0]);
	free(models);
	store_close(s);
	cleanup(path);
}

static void test_query_levels_ranking(void **state)
{
	char *path;
	struct two_runs ids;
	struct store *s = fill_two_runs(&path, &ids);
	struct store_level *ls = NULL;
	struct store_ranked *rs = NULL;
	enum load_kind kind = LOAD_CONCURRENCY;
	int64_t batch = 0;
	double load = 0;
	size_t n = 0;
	bool found = false;

	(void)state;
	/* The latest run's settings only, by load; figures absent unless valid. */
	assert_int_equal(store_levels_current(s, ids.var, &ls, &n, NULL), 0);
	assert_int_equal(n, 3);
	assert_true(ls[0].load_value == 1 && ls[1].load_value == 2 && ls[2].load_value == 4);
	assert_int_equal(ls[2].id, ids.best);
	assert_int_equal(ls[0].batch_size, 1);
	assert_int_equal(ls[0].load_kind, LOAD_CONCURRENCY);
	assert_int_equal(ls[1].status, MEAS_UNSTABLE);
	assert_string_equal(ls[1].message, "no three windows agree");
	assert_false(figures_has(&ls[1].fig, FIG_THROUGHPUT));
	assert_int_equal(ls[0].status, MEAS_OK);
	assert_true(ls[0].fig.v[FIG_LATENCY_P99] == 9.75);
	assert_false(figures_has(&ls[0].fig, FIG_GPU_POWER));
	for (size_t i = 0; i < n; i++)
		store_level_release(&ls[i]);
	free(ls);
	assert_int_equal(store_levels_current(s, ids.def, &ls, &n, NULL), 0);
	assert_int_equal(n, 0);
	assert_int_equal(store_measurement_point(s, ids.best, &batch, &load, &found, NULL), 0);
	assert_true(found && batch == 1 && load == 4);
	/* The first measurement of the model decides the load kind. */
	assert_int_equal(store_model_load_kind(s, ids.model, &kind, NULL), 0);
	assert_int_equal(kind, LOAD_REQUEST_RATE);
	/* The ranking of the latest run that ranked the model. */
	assert_int_equal(store_ranking_latest(s, ids.model, &rs, &n, NULL), 0);
	assert_int_equal(n, 2);
	assert_int_equal(rs[0].rank, 1);
	assert_int_equal(rs[0].row.variant_id, ids.var);
	assert_int_equal(rs[0].row.best_measurement_id, ids.best);
	assert_true(rs[0].row.satisfies_constraints && rs[0].row.has_gain);
	assert_true(rs[0].row.gain_vs_default_pct == 12.5);
	assert_int_equal(rs[1].rank, 2);
	assert_int_equal(rs[1].row.best_measurement_id, 0);
	assert_false(rs[1].row.has_gain);
	free(rs);
	store_close(s);
	cleanup(path);
}

/* The columns of schema 2 come back, unknown bounds as unknown; the phase is part of the key. */
static void test_measurement_v2_round_trip(void **state)
{
	char *path;
	struct store *s = open_new(&path);
	int64_t run = add_run(s), model = add_model(s, run);
	int64_t var = add_variant(s, model, run, "m_config_0", "k");
	struct store_measurement m, back;
	struct store_level *ls = NULL;
	bool found = false;
	double lo, hi;
	size_t n = 0;

	(void)state;
	fill_measurement(&m, run, var, 4);
	figures_set_interval(&m.fig, FIG_THROUGHPUT, 120.5, 126.25);
	figures_set_interval(&m.fig, FIG_LATENCY_P99, 9.5, NAN);
	m.precision_known = true;
	m.precision_met = false;
	m.stopped_early = true;
	m.client_cpu_share = 0.125;
	assert_int_equal(store_measurement_add(s, &m, NULL), 0);
	/* The same point interleaved is another measurement. */
	m.phase = PHASE_INTERLEAVED;
	m.precision_known = false;
	m.stopped_early = false;
	m.client_cpu_share = NAN;
	m.fig.v[FIG_THROUGHPUT] = 99;
	assert_int_equal(store_measurement_add(s, &m, NULL), 0);
	store_measurement_release(&m);
	assert_int_equal(store_measurement_find(s, var, "mode=time_windows", 1,
						LOAD_CONCURRENCY, 4, &back, &found, NULL), 0);
	assert_true(found);
	assert_int_equal(back.phase, PHASE_SWEEP);
	assert_true(back.fig.v[FIG_THROUGHPUT] == 123.456789012345);
	assert_true(figures_interval(&back.fig, FIG_THROUGHPUT, &lo, &hi));
	assert_true(lo == 120.5 && hi == 126.25);
	assert_false(figures_interval(&back.fig, FIG_LATENCY_P99, &lo, &hi));
	assert_true(lo == 9.5 && isnan(hi));
	assert_false(figures_interval(&back.fig, FIG_LATENCY_AVG, &lo, &hi));
	assert_true(isnan(lo) && isnan(hi));
	assert_true(back.precision_known && !back.precision_met && back.stopped_early);
	assert_true(back.client_cpu_share == 0.125);
	store_measurement_release(&back);
	assert_int_equal(store_measurement_find_phase(s, PHASE_INTERLEAVED, var,
						      "mode=time_windows", 1, LOAD_CONCURRENCY,
						      4, &back, &found, NULL), 0);
	assert_true(found);
	assert_int_equal(back.phase, PHASE_INTERLEAVED);
	assert_true(back.fig.v[FIG_THROUGHPUT] == 99);
	assert_false(back.precision_known || back.stopped_early);
	assert_true(isnan(back.client_cpu_share));
	store_measurement_release(&back);
	store_close(s);
	/* The report's read: bounds, phase and share. */
	s = open_ro(path);
	assert_int_equal(store_levels_current(s, var, &ls, &n, NULL), 0);
	assert_int_equal(n, 2);
	assert_int_equal(ls[0].phase, PHASE_SWEEP);
	assert_true(ls[0].client_cpu_share == 0.125);
	assert_true(figures_interval(&ls[0].fig, FIG_THROUGHPUT, &lo, &hi) && hi == 126.25);
	assert_int_equal(ls[1].phase, PHASE_INTERLEAVED);
	for (size_t i = 0; i < n; i++)
		store_level_release(&ls[i]);
	free(ls);
	store_close(s);
	cleanup(path);
}

/* The measurements table of schema 1, which a test rebuilds to stand for an older file. */
static void v1_columns(char *cols, size_t size, bool with_types)
{
	static const char *const head[] = {
		"id INTEGER PRIMARY KEY", "run_id INTEGER NOT NULL", "variant_id INTEGER NOT NULL",
		"profile_key TEXT NOT NULL", "batch_size INTEGER NOT NULL", "load_kind TEXT NOT NULL",
		"load_value REAL NOT NULL", "status TEXT NOT NULL", "message TEXT",
	};
	static const char *const tail[] = {
		"request_count INTEGER", "failed_count INTEGER", "window_count INTEGER NOT NULL",
		"merged_first INTEGER", "merged_count INTEGER", "window_mode TEXT NOT NULL",
		"window_ms REAL", "window_requests INTEGER", "stability_pct REAL",
		"client_saturated INTEGER NOT NULL", "started_at TEXT NOT NULL",
		"finished_at TEXT NOT NULL", "duration_s REAL NOT NULL",
	};
	size_t len = 0;

	cols[0] = '\0';
#define V1_ADD(name) do { \
		int w = (int)(with_types ? strlen(name) : strcspn(name, " ")); \
		len += (size_t)snprintf(cols + len, size - len, "%s%.*s", len ? ", " : "", w, name); \
	} while (0)
	for (size_t i = 0; i < sizeof(head) / sizeof(head[0]); i++)
		V1_ADD(head[i]);
	for (int i = 0; i < FIG_COUNT; i++)
		V1_ADD(figure_table[i].column);
	for (size_t i = 0; i < sizeof(tail) / sizeof(tail[0]); i++)
		V1_ADD(tail[i]);
#undef V1_ADD
	assert_true(len < size);
}

/* Rewrites a new store's file as schema 1 wrote it. */
static void downgrade_to_v1(const char *path)
{
	char typed[4096], names[4096], sql[16384];
	sqlite3 *db;

	v1_columns(typed, sizeof(typed), true);
	v1_columns(names, sizeof(names), false);
	snprintf(sql, sizeof(sql),
		 "PRAGMA foreign_keys=OFF; BEGIN; DROP TABLE batch_stats; DROP TABLE predictions;"
		 "ALTER TABLE measurement_windows DROP COLUMN completion_rate;"
		 "CREATE TABLE m1 (%s, UNIQUE (variant_id, profile_key, batch_size, load_kind, load_value));"
		 "INSERT INTO m1 (%s) SELECT %s FROM measurements;"
		 "DROP TABLE measurements; ALTER TABLE m1 RENAME TO measurements;"
		 "UPDATE meta SET value = '1' WHERE key = 'schema_version';"
		 "PRAGMA user_version = 1; COMMIT;", typed, names, names);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

/* Opens path to write, which migrates an older file: the version is this build's. */
static struct store *open_migrated(const char *path)
{
	struct store *s = NULL;
	char *value = NULL;

	assert_int_equal(store_open(path, &s, NULL), 0);
	assert_int_equal(store_meta_get(s, "schema_version", &value, NULL), 0);
	assert_string_equal(value, "3");
	free(value);
	return s;
}

/*
 * A new, closed store at *path holding one run, model and variant (their
 * ids in *run and *var) and fill_measurement()'s measurement at load 4,
 * with a throughput interval: what the migration tests downgrade.
 */
static void one_measurement_file(char **path, int64_t *run, int64_t *var)
{
	struct store *s = open_new(path);
	struct store_measurement m;

	*run = add_run(s);
	*var = add_variant(s, add_model(s, *run), *run, "m_config_0", "k");
	fill_measurement(&m, *run, *var, 4);
	figures_set_interval(&m.fig, FIG_THROUGHPUT, 120, 126);
	assert_int_equal(store_measurement_add(s, &m, NULL), 0);
	store_measurement_release(&m);
	store_close(s);
}

/* A file of schema 1 reads with the defaults, and a writer migrates it in place. */
static void test_schema_v1_migrated(void **state)
{
	char *path;
	struct store *s;
	int64_t run, var;
	struct store_measurement m, back;
	bool found = false;
	double lo, hi;

	(void)state;
	one_measurement_file(&path, &run, &var);
	downgrade_to_v1(path);
	/* Read-only: nothing written, the new fields read as their defaults. */
	s = open_ro(path);
	assert_int_equal(store_measurement_find(s, var, "mode=time_windows", 1,
						LOAD_CONCURRENCY, 4, &back, &found, NULL), 0);
	assert_true(found);
	assert_int_equal(back.phase, PHASE_SWEEP);
	assert_false(figures_interval(&back.fig, FIG_THROUGHPUT, &lo, &hi));
	assert_true(isnan(lo) && isnan(hi));
	assert_false(back.precision_known || back.stopped_early);
	assert_true(isnan(back.client_cpu_share));
	assert_true(back.fig.v[FIG_THROUGHPUT] == 123.456789012345);
	store_measurement_release(&back);
	assert_int_equal(store_measurement_find_phase(s, PHASE_INTERLEAVED, var,
						      "mode=time_windows", 1, LOAD_CONCURRENCY,
						      4, &back, &found, NULL), 0);
	assert_false(found);
	store_close(s);
	/* Read-write: migrated (1 -> 2 -> 3), rows kept (as sweeps), the phase joins the key. */
	s = open_migrated(path);
	assert_int_equal(store_measurement_find(s, var, "mode=time_windows", 1,
						LOAD_CONCURRENCY, 4, &back, &found, NULL), 0);
	assert_true(found);
	assert_int_equal(back.n_windows, 3);
	assert_int_equal(back.phase, PHASE_SWEEP);
	assert_int_equal(back.n_batch_stats, 0);
	store_measurement_release(&back);
	fill_measurement(&m, run, var, 4);
	m.phase = PHASE_INTERLEAVED;
	assert_int_equal(store_measurement_add(s, &m, NULL), 0);
	assert_int_equal(store_measurement_add(s, &m, NULL), IT_ERR_STATE);
	store_measurement_release(&m);
	/* The table of schema 3 came with the migration. */
	assert_int_equal(store_measurement_find_phase(s, PHASE_INTERLEAVED, var,
						      "mode=time_windows", 1, LOAD_CONCURRENCY,
						      4, &back, &found, NULL), 0);
	assert_true(found);
	assert_batch_stats(&back);
	store_measurement_release(&back);
	store_close(s);
	/* Opened again: already version 3, nothing to do. */
	assert_int_equal(store_open(path, &s, NULL), 0);
	store_close(s);
	cleanup(path);
}

/* A prediction of variant var at concurrency 4: throughput tp, checked by measurement mid. */
static void add_prediction(struct store *s, int64_t run, int64_t var, double tp, int64_t mid,
			   bool probe)
{
	struct store_prediction p;

	memset(&p, 0, sizeof(p));
	p.run_id = run;
	p.variant_id = var;
	p.load_kind = LOAD_CONCURRENCY;
	p.load_value = probe ? 8 : 4;
	figures_set(&p.fig, FIG_THROUGHPUT, tp);
	p.rel_uncertainty = 0.05;
	snprintf(p.model, sizeof(p.model), "exec 1 ms");
	p.measurement_id = mid;
	p.probe = probe;
	assert_int_equal(store_prediction_add(s, &p, NULL), 0);
}

/*
 * Predictions keep their role; one predicted again with the same
 * checking measurement is not stored twice; the errors are summed up per
 * role; a schema-3 file written before the role column reads its rows as
 * guided and gets the column when opened for writing.
 */
static void test_predictions_role(void **state)
{
	char *path;
	struct store *s;
	int64_t run, var;
	struct store_measurement *all = NULL;
	struct store_checked_prediction *ps = NULL;
	struct prediction_errors e;
	size_t n = 0, np = 0;
	sqlite3 *db;

	(void)state;
	one_measurement_file(&path, &run, &var);
	s = open_migrated(path);
	assert_int_equal(store_measurements_of_variant(s, var, NULL, &all, &n, NULL), 0);
	assert_int_equal(n, 1);
	add_prediction(s, run, var, all[0].fig.v[FIG_THROUGHPUT] * 1.1, all[0].id, false);
	add_prediction(s, run, var, all[0].fig.v[FIG_THROUGHPUT] * 0.5, all[0].id, true);
	/* Predicted again, checked by the same measurement (a resume): the first row stays. */
	add_prediction(s, run, var, all[0].fig.v[FIG_THROUGHPUT] * 2, all[0].id, false);
	assert_int_equal(store_predictions_of_model(s, 1, &ps, &np, NULL), 0);
	assert_int_equal(np, 2);
	assert_false(ps[0].probe);
	assert_true(ps[1].probe);
	prediction_errors_of(ps, np, false, &e);
	assert_int_equal(e.n, 1);
	assert_true(fabs(e.median_pct - 10) < 1e-6 && fabs(e.worst_pct - 10) < 1e-6);
	prediction_errors_of(ps, np, true, &e);
	assert_int_equal(e.n, 1);
	assert_true(fabs(e.worst_pct - 50) < 1e-6);
	free(ps);
	store_measurement_release(&all[0]);
	free(all);
	store_close(s);

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "ALTER TABLE predictions DROP COLUMN role", NULL, NULL,
				      NULL), SQLITE_OK);
	sqlite3_close(db);
	s = open_ro(path);
	assert_int_equal(store_predictions_of_model(s, 1, &ps, &np, NULL), 0);
	assert_int_equal(np, 2);
	assert_false(ps[0].probe || ps[1].probe);
	free(ps);
	store_close(s);
	s = open_migrated(path);
	add_prediction(s, run, var, 1, 0, true);
	add_prediction(s, run, var, 2, 0, true);        /* checked by none again: not added */
	assert_int_equal(store_predictions_of_model(s, 1, &ps, &np, NULL), 0);
	assert_int_equal(np, 2);        /* the latest of the point at concurrency 8 */
	assert_true(ps[1].probe && !ps[1].measured);
	assert_true(ps[1].throughput == 1);
	free(ps);
	store_close(s);
	cleanup(path);
}

/* Rewrites a new store's file as schema 2 wrote it: no batch_stats table. */
static void downgrade_to_v2(const char *path)
{
	sqlite3 *db;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "BEGIN; DROP TABLE batch_stats; DROP TABLE predictions; "
				      "ALTER TABLE measurement_windows DROP COLUMN completion_rate;"
				      "UPDATE meta SET value = '2' WHERE key = 'schema_version';"
				      "PRAGMA user_version = 2; COMMIT;", NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
}

/* A file of schema 2 reads without batch statistics; a writer adds the table. */
static void test_schema_v2_migrated(void **state)
{
	char *path;
	struct store *s;
	int64_t run, var;
	struct store_measurement m, *all = NULL;
	size_t n = 0;

	(void)state;
	one_measurement_file(&path, &run, &var);
	downgrade_to_v2(path);
	/* Read-only: nothing written, no batch statistics, no error. */
	s = open_ro(path);
	assert_int_equal(store_measurements_of_variant(s, var, NULL, &all, &n, NULL), 0);
	assert_int_equal(n, 1);
	assert_int_equal(all[0].n_windows, 3);
	assert_int_equal(all[0].n_batch_stats, 0);
	store_measurement_release(&all[0]);
	free(all);
	store_close(s);
	/* Read-write: version 3, the old row kept without, a new one with. */
	s = open_migrated(path);
	fill_measurement(&m, run, var, 8);
	assert_int_equal(store_measurement_add(s, &m, NULL), 0);
	store_measurement_release(&m);
	store_close(s);
	s = open_ro(path);
	assert_int_equal(store_measurements_of_variant(s, var, NULL, &all, &n, NULL), 0);
	assert_int_equal(n, 2);
	assert_int_equal(all[0].n_batch_stats, 0);
	assert_batch_stats(&all[1]);
	for (size_t i = 0; i < n; i++)
		store_measurement_release(&all[i]);
	free(all);
	store_close(s);
	cleanup(path);
}

/* Copies src to dst (a results.db of tests/data). */
static void copy_file(const char *src, const char *dst)
{
	char buf[65536];
	FILE *in = fopen(src, "rb"), *out;
	size_t n;

	assert_non_null(in);
	out = fopen(dst, "wb");
	assert_non_null(out);
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		assert_int_equal(fwrite(buf, 1, n, out), n);
	fclose(in);
	assert_int_equal(fclose(out), 0);
}

/*
 * The schema-1 file a real analysis wrote (tests/data/golden-outputs, which
 * the golden test resumes): read as it is, then migrated to schema 3 with
 * every measurement kept and none given batch statistics.
 */
static void test_schema_real_v1_file(void **state)
{
	const char *data = getenv("INFERTUNE_TEST_DATA");
	char src[512], *path = temp_path("results.db"), *value = NULL;
	struct store *s;
	struct store_measurement *all = NULL;
	int64_t before = 0, after = -1;
	size_t n = 0;

	(void)state;
	assert_non_null(data);
	snprintf(src, sizeof(src), "%s/golden-outputs/results.db", data);
	copy_file(src, path);
	s = open_ro(path);
	assert_int_equal(store_meta_get(s, "schema_version", &value, NULL), 0);
	assert_string_equal(value, "1");
	free(value);
	assert_int_equal(store_measurement_count(s, &before, NULL), 0);
	assert_true(before > 0);
	store_close(s);
	s = open_migrated(path);
	assert_int_equal(store_measurement_count(s, &after, NULL), 0);
	assert_int_equal(after, before);
	assert_int_equal(store_measurements_of_variant(s, 1, NULL, &all, &n, NULL), 0);
	assert_true(n > 0);
	for (size_t i = 0; i < n; i++) {
		assert_true(all[i].n_windows > 0);
		assert_int_equal(all[i].n_batch_stats, 0);
		store_measurement_release(&all[i]);
	}
	free(all);
	store_close(s);
	cleanup(path);
}

/* Files without a table this build writes, and files that are not SQLite. */
static void test_query_missing_tables(void **state)
{
	char *path;
	struct store *s = open_new(&path);
	struct store_ranked *rs = NULL;
	struct it_error err = { 0 };
	sqlite3 *db;
	char *value = NULL;
	int64_t runs = 0;
	size_t n = 0;
	FILE *f;

	(void)state;
	add_run(s);
	store_close(s);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "DROP TABLE meta; DROP TABLE rankings", NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	s = open_ro(path);
	/* No meta table: the rows are absent, not an error. */
	assert_int_equal(store_meta_get(s, "machine_cpu", &value, &err), 0);
	assert_null(value);
	assert_int_equal(store_run_count(s, &runs, NULL), 0);
	assert_int_equal(runs, 1);
	/* No rankings table: an error that names it. */
	assert_int_equal(store_ranking_latest(s, 1, &rs, &n, &err), IT_ERR_IO);
	assert_non_null(strstr(err.message, "rankings"));
	store_close(s);

	f = fopen(path, "w");
	assert_non_null(f);
	fputs("not an SQLite file, whatever its name says\n", f);
	fclose(f);
	/* Opening checks the file and says what it is not. */
	s = NULL;
	assert_int_equal(store_open_readonly(path, &s, &err), IT_ERR_IO);
	assert_null(s);
	assert_non_null(strstr(err.message, "not a database"));
	assert_non_null(strstr(err.message, "not an infertune results.db"));
	cleanup(path);
	s = NULL;
	assert_int_equal(store_open_readonly("/nonexistent/results.db", &s, &err), IT_ERR_IO);
	assert_null(s);
	assert_non_null(strstr(err.message, "cannot open"));
}

static void test_time_format(void **state)
{
	char buf[40];

	(void)state;
	store_time_iso(0.5, buf, sizeof(buf));
	assert_string_equal(buf, "1970-01-01T00:00:00.500Z");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_and_version),
		cmocka_unit_test(test_foreign_database_refused),
		cmocka_unit_test(test_variants_by_key),
		cmocka_unit_test(test_measurement_round_trip),
		cmocka_unit_test(test_failed_measurement_has_no_figures),
		cmocka_unit_test(test_runs_server_only_rankings),
		cmocka_unit_test(test_meta_set),
		cmocka_unit_test(test_query_empty),
		cmocka_unit_test(test_query_run_meta_models),
		cmocka_unit_test(test_query_levels_ranking),
		cmocka_unit_test(test_query_missing_tables),
		cmocka_unit_test(test_time_format),
		cmocka_unit_test(test_measurement_v2_round_trip),
		cmocka_unit_test(test_schema_v1_migrated),
		cmocka_unit_test(test_schema_v2_migrated),
		cmocka_unit_test(test_predictions_role),
		cmocka_unit_test(test_schema_real_v1_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
