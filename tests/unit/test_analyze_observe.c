/*
 * Unit tests for analyze/observe's read-back of a finished analysis
 * (observation_set_read(), _fit(), _find()): a results.db written with the
 * store API gives every valid sweep level of each configuration, in
 * variant and measurement id order, with the configuration as the
 * predictor sees it (largest preferred size, intra-op threads when some
 * configuration sets them, Poisson arrivals from the measurement
 * settings); failed and interleaved levels are left out; the errors name
 * the model (unknown, ambiguous, no batch statistics, no valid level) or
 * the file (not a results.db); a real schema-1 file reads, and says it
 * predates batch statistics. And analyze/capacity_predict, the reader's
 * other user: the predicted capacity of a stored analysis's top
 * configurations.
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

#include "analyze/capacity_predict.h"
#include "analyze/observe.h"
#include "predict/fit.h"
#include "store/store.h"
#include "util/error.h"

#define KEY "mode=time_windows;interval_ms=200;strlen=128;distribution=constant;errors=0"
#define KEY_POISSON "mode=time_windows;interval_ms=200;strlen=128;distribution=poisson;errors=0"

/* The model's default: batches up to 4, two preferred sizes, a delay. */
static const char base_pbtxt[] =
	"name: \"m\"\nbackend: \"sim\"\nmax_batch_size: 4\n"
	"input [{ name: \"IN\", data_type: TYPE_FP32, dims: [ 4 ] }]\n"
	"output [{ name: \"OUT\", data_type: TYPE_FP32, dims: [ 4 ] }]\n"
	"instance_group [{ count: 1, kind: KIND_CPU }]\n"
	"dynamic_batching { preferred_batch_size: [ 2, 4 ] max_queue_delay_microseconds: 100 }\n";

/* A searched configuration: 2 instances, max_batch_size 8, 2 intra-op threads. */
static const char wide_pbtxt[] =
	"name: \"m_config_0\"\nbackend: \"sim\"\nmax_batch_size: 8\n"
	"input [{ name: \"IN\", data_type: TYPE_FP32, dims: [ 4 ] }]\n"
	"output [{ name: \"OUT\", data_type: TYPE_FP32, dims: [ 4 ] }]\n"
	"instance_group [{ count: 2, kind: KIND_CPU }]\n"
	"dynamic_batching { }\n"
	"parameters { key: \"INTRA_OP_THREAD_COUNT\" value { string_value: \"2\" } }\n";

struct db {
	char dir[64];
	char path[128];
	struct store *s;
	int64_t run;
};

static void db_open(struct db *d)
{
	snprintf(d->dir, sizeof(d->dir), "/tmp/infertune-observe-XXXXXX");
	assert_non_null(mkdtemp(d->dir));
	snprintf(d->path, sizeof(d->path), "%s/results.db", d->dir);
	assert_int_equal(store_open(d->path, &d->s, NULL), 0);
	{
		struct store_run run = { "infertune analyze", "{}", "brute", "embedded", NULL, KEY,
					 "[]", "0.1.0" };

		assert_int_equal(store_run_begin(d->s, &run, &d->run, NULL), 0);
	}
}

/* Closes the store and removes the file, its WAL and the folder. */
static void db_remove(struct db *d)
{
	const char *suffix[] = { "", "-wal", "-shm" };

	store_close(d->s);
	d->s = NULL;
	for (size_t i = 0; i < 3; i++) {
		char p[160];

		snprintf(p, sizeof(p), "%s%s", d->path, suffix[i]);
		unlink(p);
	}
	rmdir(d->dir);
}

static int64_t add_model(struct db *d, const char *name, const char *pbtxt)
{
	int64_t id = 0;

	assert_int_equal(store_model_get_or_add(d->s, name, "", "sim", pbtxt, "{}", "/repo",
						 d->run, &id, NULL), 0);
	return id;
}

static int64_t add_variant(struct db *d, int64_t model, const char *name, const char *pbtxt,
			   int32_t mbs, int32_t instances)
{
	struct store_variant v;
	int64_t id;

	memset(&v, 0, sizeof(v));
	v.model_id = model;
	snprintf(v.name, sizeof(v.name), "%s", name);
	v.is_default = strstr(name, "default") != NULL;
	v.variant_index = v.is_default ? -1 : 0;
	v.config_key = strdup(name);
	v.config_pbtxt = strdup(pbtxt);
	v.config_json = strdup("{}");
	v.max_batch_size = mbs;
	v.instance_count = instances;
	snprintf(v.instance_kind, sizeof(v.instance_kind), "KIND_CPU");
	v.label = strdup(name);
	v.created_run_id = d->run;
	assert_int_equal(store_variant_add(d->s, &v, NULL), 0);
	id = v.id;
	store_variant_release(&v);
	return id;
}

/*
 * Adds a level; with_stats: the server's executions (batches of 1 and 2 of
 * 4 and 5 ms). Returns its id.
 */
static int64_t add_level(struct db *d, int64_t variant, const char *key, enum load_kind kind,
			 double load, enum measurement_status status,
			 enum measurement_phase phase, bool with_stats)
{
	struct store_measurement m;
	int64_t id;

	memset(&m, 0, sizeof(m));
	m.run_id = d->run;
	m.variant_id = variant;
	snprintf(m.profile_key, sizeof(m.profile_key), "%s", key);
	m.batch_size = 1;
	m.load_kind = kind;
	m.load_value = load;
	m.status = status;
	m.phase = phase;
	if (status == MEAS_OK) {
		figures_set(&m.fig, FIG_THROUGHPUT, 100 * load);
		figures_set(&m.fig, FIG_LATENCY_AVG, 5.3);
		figures_set(&m.fig, FIG_LATENCY_P99, 9.5);
		figures_set(&m.fig, FIG_SERVER_QUEUE, 0.1);
		figures_set(&m.fig, FIG_SERVER_COMPUTE_INFER, 4.9);
	}
	snprintf(m.window_mode, sizeof(m.window_mode), "time_windows");
	if (with_stats) {
		m.batch_stats = calloc(2, sizeof(*m.batch_stats));
		m.n_batch_stats = 2;
		m.batch_stats[0] = (struct store_batch_stat){ 1, 10, 0, 40000000, 0 };
		m.batch_stats[1] = (struct store_batch_stat){ 2, 5, 0, 25000000, 0 };
	}
	assert_int_equal(store_measurement_add(d->s, &m, NULL), 0);
	id = m.id;
	store_measurement_release(&m);
	return id;
}

/* The analysis of model "m": the default and one searched configuration. */
static void fill(struct db *d, int64_t *ids)
{
	int64_t model = add_model(d, "m", base_pbtxt);
	int64_t def = add_variant(d, model, "m_config_default", base_pbtxt, 4, 1);
	int64_t wide = add_variant(d, model, "m_config_0", wide_pbtxt, 8, 2);

	/* Stored by level, read by id: concurrency 4 is measured before 1. */
	ids[0] = add_level(d, def, KEY, LOAD_CONCURRENCY, 4, MEAS_OK, PHASE_SWEEP, true);
	ids[1] = add_level(d, def, KEY, LOAD_CONCURRENCY, 1, MEAS_OK, PHASE_SWEEP, true);
	add_level(d, def, KEY, LOAD_CONCURRENCY, 8, MEAS_FAILED, PHASE_SWEEP, false);
	add_level(d, def, KEY, LOAD_CONCURRENCY, 4, MEAS_OK, PHASE_INTERLEAVED, true);
	ids[2] = add_level(d, wide, KEY_POISSON, LOAD_REQUEST_RATE, 150, MEAS_OK, PHASE_SWEEP,
			   false);
}

static void test_read_back(void **state)
{
	struct db d;
	struct observation_set set;
	int64_t ids[3];
	struct it_error err = { 0 };

	(void)state;
	db_open(&d);
	fill(&d, ids);
	assert_int_equal(observation_set_read(d.s, NULL, &set, &err), 0);
	assert_string_equal(set.model, "m");
	assert_int_equal(set.n_configs, 2);
	assert_string_equal(set.configs[0].name, "m_config_default");
	assert_string_equal(set.configs[1].name, "m_config_0");
	assert_true(set.threads_dim);
	assert_int_equal(set.max_batch_size, 8);
	assert_false(set.before_batch_stats);
	assert_int_equal(set.n_obs, 3);
	assert_int_equal(set.n_measured_configs, 2);
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(set.obs[i].measurement_id, ids[i]);
	assert_int_equal(set.config_of[0], 0);
	assert_int_equal(set.config_of[1], 0);
	assert_int_equal(set.config_of[2], 1);

	/* The default as the predictor sees it. */
	assert_int_equal(set.obs[0].o.config.instances, 1);
	assert_int_equal(set.obs[0].o.config.max_batch_size, 4);
	assert_true(set.obs[0].o.config.dynamic_batching);
	assert_int_equal(set.obs[0].o.config.max_queue_delay_us, 100);
	assert_int_equal(set.obs[0].preferred, 4);
	assert_int_equal(set.obs[0].o.threads, 0);
	assert_int_equal(set.obs[0].o.load.kind, DES_CONCURRENCY);
	assert_true(set.obs[0].o.load.value == 4);
	assert_int_equal(set.obs[0].o.n_batches, 2);
	assert_true(set.obs[0].batches[1].batch_size == 2 &&
		    set.obs[0].batches[1].executions == 5);
	assert_true(set.fig[0].v[FIG_THROUGHPUT] == 400);
	assert_true(fabs(set.obs[0].o.server_us - 5000) < 1e-6);
	assert_true(set.fig[1].v[FIG_THROUGHPUT] == 100);

	/* The searched one: threads, a rate measured with Poisson arrivals, no batch_stats. */
	assert_int_equal(set.obs[2].o.config.instances, 2);
	assert_int_equal(set.obs[2].o.config.max_batch_size, 8);
	assert_int_equal(set.obs[2].preferred, 0);
	assert_int_equal(set.obs[2].o.threads, 2);
	assert_int_equal(set.obs[2].o.load.kind, DES_REQUEST_RATE);
	assert_true(set.obs[2].o.load.poisson);
	assert_int_equal(set.obs[2].o.n_batches, 0);

	/* The same file read again by name gives the same observations. */
	{
		struct observation_set again;

		assert_int_equal(observation_set_read(d.s, "m", &again, NULL), 0);
		assert_int_equal(again.n_obs, 3);
		assert_int_equal(again.obs[2].measurement_id, ids[2]);
		observation_set_release(&again);
	}
	observation_set_release(&set);
	db_remove(&d);
}

static void test_find_and_fit(void **state)
{
	struct db d;
	struct observation_set set;
	struct observation c = { 0 };
	struct des_load l = { DES_CONCURRENCY, 1, false, 1 };
	struct predict_fit *fit = NULL;
	struct predict_result r;
	int64_t ids[3];

	(void)state;
	db_open(&d);
	fill(&d, ids);
	assert_int_equal(observation_set_read(d.s, "m", &set, NULL), 0);

	/* The default's configuration, as a caller builds it from set.base. */
	observation_config(set.base, set.threads_dim, &c);
	assert_int_equal(observation_set_find(&set, &c, &l), 1);
	l.value = 4;
	assert_int_equal(observation_set_find(&set, &c, &l), 0);
	l.value = 2;
	assert_int_equal(observation_set_find(&set, &c, &l), -1);
	l.value = 4;
	l.request_batch = 2;
	assert_int_equal(observation_set_find(&set, &c, &l), -1);

	/* The searched configuration at its rate: the distribution must match. */
	observation_config(set.configs[1].config, set.threads_dim, &c);
	l = (struct des_load){ DES_REQUEST_RATE, 150, false, 0 };
	assert_int_equal(observation_set_find(&set, &c, &l), -1);
	l.poisson = true;
	assert_int_equal(observation_set_find(&set, &c, &l), 2);

	/* A fit for a larger max_batch_size than any measured, and a prediction with it. */
	assert_int_equal(observation_set_fit(&set, 16, &fit, NULL), 0);
	observation_config(set.base, set.threads_dim, &c);
	c.o.config.max_batch_size = 16;
	c.o.config.n_preferred = 0;
	l = (struct des_load){ DES_CONCURRENCY, 8, false, 1 };
	assert_int_equal(predict_run(fit, &c.o.config, 0, &l, 2000, &r, NULL), 0);
	assert_true(r.des.throughput > 0 && r.rel_uncertainty >= 0.03);
	predict_fit_free(fit);
	observation_set_release(&set);
	db_remove(&d);
}

static void test_errors(void **state)
{
	struct db d;
	struct observation_set set;
	struct predict_fit *fit = NULL;
	struct it_error err = { 0 };
	int64_t model;

	(void)state;
	db_open(&d);
	assert_int_equal(observation_set_read(d.s, NULL, &set, &err), IT_ERR_NOT_FOUND);
	assert_non_null(strstr(err.message, "holds no model"));

	/* A model whose server sent no batch_stats. */
	model = add_model(&d, "nostats", base_pbtxt);
	add_level(&d, add_variant(&d, model, "nostats_config_default", base_pbtxt, 4, 1), KEY,
		  LOAD_CONCURRENCY, 1, MEAS_OK, PHASE_SWEEP, false);
	assert_int_equal(observation_set_read(d.s, NULL, &set, NULL), 0);
	assert_int_equal(set.n_obs, 1);
	assert_int_equal(observation_set_fit(&set, 0, &fit, &err), IT_ERR_NOT_FOUND);
	assert_null(fit);
	assert_string_equal(err.message, "results.db has no batch statistics for model 'nostats' "
			    "(its server did not send batch_stats): nothing to predict from");
	observation_set_release(&set);

	/* A model with no valid level. */
	model = add_model(&d, "failing", base_pbtxt);
	add_level(&d, add_variant(&d, model, "failing_config_default", base_pbtxt, 4, 1), KEY,
		  LOAD_CONCURRENCY, 1, MEAS_FAILED, PHASE_SWEEP, false);
	assert_int_equal(observation_set_read(d.s, "failing", &set, NULL), 0);
	assert_int_equal(observation_set_fit(&set, 0, &fit, &err), IT_ERR_NOT_FOUND);
	assert_non_null(strstr(err.message, "no valid measurement of model 'failing'"));
	observation_set_release(&set);

	/* Two models: the name is needed; an unknown one lists those there. */
	assert_int_equal(observation_set_read(d.s, NULL, &set, &err), IT_ERR_INVALID);
	assert_non_null(strstr(err.message, "2 models (nostats, failing)"));
	assert_int_equal(observation_set_read(d.s, "other", &set, &err), IT_ERR_NOT_FOUND);
	assert_string_equal(err.message,
			    "results.db has no model 'other' (it holds: nostats, failing)");
	assert_null(set.obs);
	db_remove(&d);
}

static void test_not_a_results_db(void **state)
{
	char dir[] = "/tmp/infertune-observe-XXXXXX", path[64];
	struct store *s = NULL;
	struct observation_set set;
	struct it_error err = { 0 };
	sqlite3 *db;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/notes.txt", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("not a database, just text that is long enough to be a page header\n", f);
	fclose(f);
	/* Not SQLite at all: the store's open says so. */
	assert_int_equal(store_open_readonly(path, &s, &err), IT_ERR_IO);
	assert_non_null(strstr(err.message, "not an infertune results.db"));
	unlink(path);
	/* SQLite, but another program's: the read-back says so. */
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "CREATE TABLE notes (t TEXT)", NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	memset(&err, 0, sizeof(err));
	assert_int_equal(store_open_readonly(path, &s, NULL), 0);
	assert_int_equal(observation_set_read(s, NULL, &set, &err), IT_ERR_INVALID);
	assert_non_null(strstr(err.message, "not an infertune results.db"));
	store_close(s);
	unlink(path);
	rmdir(dir);
}

/*
 * tests/data/golden-outputs/results.db: a real analysis of schema 1, read
 * from a copy (opening a WAL file, even read-only, leaves -shm and -wal
 * files next to it).
 */
static void test_schema_1_file(void **state)
{
	const char *data = getenv("INFERTUNE_TEST_DATA");
	char src[512], buf[4096];
	struct db d;
	struct store *s = NULL;
	struct observation_set set;
	struct predict_fit *fit = NULL;
	struct it_error err = { 0 };
	FILE *in, *out;
	size_t got;

	(void)state;
	assert_non_null(data);
	snprintf(src, sizeof(src), "%s/golden-outputs/results.db", data);
	snprintf(d.dir, sizeof(d.dir), "/tmp/infertune-observe-XXXXXX");
	assert_non_null(mkdtemp(d.dir));
	snprintf(d.path, sizeof(d.path), "%s/results.db", d.dir);
	in = fopen(src, "rb");
	out = fopen(d.path, "wb");
	assert_true(in && out);
	while ((got = fread(buf, 1, sizeof(buf), in)) > 0)
		assert_int_equal(fwrite(buf, 1, got, out), got);
	fclose(in);
	fclose(out);
	assert_int_equal(store_open_readonly(d.path, &s, NULL), 0);
	assert_int_equal(observation_set_read(s, "simfast", &set, &err), 0);
	assert_true(set.before_batch_stats);
	assert_true(set.n_obs > 0 && set.n_configs >= set.n_measured_configs);
	assert_int_equal(observation_set_fit(&set, 0, &fit, &err), IT_ERR_NOT_FOUND);
	assert_non_null(strstr(err.message, "no batch statistics for model 'simfast' (the file "
				"was written before schema 3"));
	observation_set_release(&set);
	d.s = s;
	db_remove(&d);
}

/* A model that does not batch, one instance: add_level's executions of 1 take 4 ms. */
static const char nb_pbtxt[] =
	"name: \"nb\"\nbackend: \"sim\"\nmax_batch_size: 0\n"
	"input [{ name: \"IN\", data_type: TYPE_FP32, dims: [ 4 ] }]\n"
	"output [{ name: \"OUT\", data_type: TYPE_FP32, dims: [ 4 ] }]\n"
	"instance_group [{ count: 1, kind: KIND_CPU }]\n";

/*
 * analyze/capacity_predict on a stored analysis: the top configuration
 * gets the predictor's highest rate, the others nothing. The fit: 4 ms
 * executions, one slot, 0.3 ms of overhead (a client latency of 5.3 ms
 * over a server time of 5.0 ms). At constant intervals below 1/T no
 * request waits, so the rate is within PREDICT_RATE_PRECISION below
 * 250/s, at a p99 of 4.3 ms; a budget below that gives none. A model
 * without batch statistics gets the one-line note instead.
 */
static void test_capacity_predict(void **state)
{
	struct db d;
	struct capacity_config cs[2];
	struct capacity_question q = { 10, 0 };
	struct capacity_answer a;
	int64_t model;

	(void)state;
	db_open(&d);
	model = add_model(&d, "nb", nb_pbtxt);
	add_level(&d, add_variant(&d, model, "nb_config_default", nb_pbtxt, 0, 1), KEY,
		  LOAD_CONCURRENCY, 1, MEAS_OK, PHASE_SWEEP, true);
	add_variant(&d, model, "nb_config_0", nb_pbtxt, 0, 1);
	memset(cs, 0, sizeof(cs));
	cs[0].name = "nb_config_default";
	cs[0].top = true;
	cs[1].name = "nb_config_0";
	capacity_answer(&q, cs, 2, &a);
	capacity_predict(d.s, "nb", cs, &a);
	assert_string_equal(a.predict_note, "");
	assert_true(a.rows[0].predicted.has);
	assert_true(a.rows[0].predicted.rate >= 250 * (1 - PREDICT_RATE_PRECISION) &&
		    a.rows[0].predicted.rate <= 250);
	assert_true(fabs(a.rows[0].predicted.p99_ms - 4.3) < 1e-3);
	assert_true(a.rows[0].predicted.rel_uncertainty >= 0.03);
	assert_false(a.rows[1].predicted.has);
	capacity_answer_release(&a);

	q.budget_ms = 4;
	capacity_answer(&q, cs, 2, &a);
	capacity_predict(d.s, "nb", cs, &a);
	assert_true(a.rows[0].predicted.has && a.rows[0].predicted.rate == 0);
	assert_true(fabs(a.rows[0].predicted.p99_ms - 4.3) < 1e-3);
	assert_true(a.rows[0].predicted.lightest > 0 && a.rows[0].predicted.lightest < 1);
	capacity_answer_release(&a);

	/* No question, no prediction. */
	q.budget_ms = 0;
	capacity_answer(&q, cs, 2, &a);
	capacity_predict(d.s, "nb", cs, &a);
	assert_false(a.asked);
	assert_string_equal(a.predict_note, "");
	capacity_answer_release(&a);

	/* Nothing to fit from: the note, no row predicted. */
	model = add_model(&d, "bare", nb_pbtxt);
	add_level(&d, add_variant(&d, model, "bare_config_default", nb_pbtxt, 0, 1), KEY,
		  LOAD_CONCURRENCY, 1, MEAS_OK, PHASE_SWEEP, false);
	cs[0].name = "bare_config_default";
	q.budget_ms = 10;
	capacity_answer(&q, cs, 1, &a);
	capacity_predict(d.s, "bare", cs, &a);
	assert_false(a.rows[0].predicted.has);
	assert_string_equal(a.predict_note, "results.db has no batch statistics for model 'bare' "
			    "(its server did not send batch_stats): nothing to predict from");
	capacity_answer_release(&a);
	db_remove(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_back),
		cmocka_unit_test(test_find_and_fit),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_not_a_results_db),
		cmocka_unit_test(test_schema_1_file),
		cmocka_unit_test(test_capacity_predict),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
