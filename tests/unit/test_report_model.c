/*
 * Unit tests for report/model and report_write(): a results.db written
 * through the store's own API is read back (configurations, load levels,
 * absent figures kept absent, failures), ranked by the report when the
 * analysis recorded no ranking and taken from results.db when it did, the
 * machine from results.db's meta rows or else this machine; the capacity
 * answers from the recorded budget; and report_write() writes every file,
 * twice byte for byte the same, with the note in place of the power chart
 * this "machine" did not measure.
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

#include "report/model.h"
#include "report/report.h"
#include "store/store.h"
#include "util/error.h"
#include "util/fs.h"

static char dir[64];
/* The options make_db() records: a p99 budget of 50 ms unless this says otherwise. */
static const char *options_json = "{\"objectives\":{},\"constraints\":{},\"latency_budget\":50.0}";

static int64_t add_variant(struct store *s, int64_t model, int64_t run, const char *name,
			   int instances, int mbs, const char *reason)
{
	struct store_variant v;
	char key[64], label[64];
	int64_t id;

	memset(&v, 0, sizeof(v));
	v.model_id = model;
	snprintf(v.name, sizeof(v.name), "%s", name);
	v.variant_index = strstr(name, "default") ? -1 : instances * 100 + mbs;
	v.is_default = v.variant_index < 0;
	snprintf(key, sizeof(key), "{\"i\":%d,\"b\":%d}", instances, mbs);
	snprintf(label, sizeof(label), "instances=%d max_batch_size=%d", instances, mbs);
	v.config_key = strdup(key);
	v.config_pbtxt = strdup("name: \"m\"\n");
	v.config_json = strdup("{}");
	v.max_batch_size = mbs;
	v.instance_count = instances;
	snprintf(v.instance_kind, sizeof(v.instance_kind), "KIND_CPU");
	v.label = strdup(v.is_default ? "default" : label);
	v.created_run_id = run;
	assert_int_equal(store_variant_add(s, &v, NULL), 0);
	id = v.id;
	if (reason)
		assert_int_equal(store_variant_set_status(s, id, VARIANT_LOAD_FAILED, reason, NULL), 0);
	else
		assert_int_equal(store_variant_set_status(s, id, VARIANT_MEASURED, NULL, NULL), 0);
	store_variant_release(&v);
	return id;
}

static int64_t add_level(struct store *s, int64_t run, int64_t variant, double load,
			 double tp, double p99)
{
	struct store_measurement m;
	int64_t id;

	memset(&m, 0, sizeof(m));
	m.run_id = run;
	m.variant_id = variant;
	snprintf(m.profile_key, sizeof(m.profile_key), "key");
	m.batch_size = 1;
	m.load_kind = LOAD_CONCURRENCY;
	m.load_value = load;
	m.status = MEAS_OK;
	figures_set(&m.fig, FIG_THROUGHPUT, tp);
	figures_set(&m.fig, FIG_LATENCY_P99, p99);
	figures_set(&m.fig, FIG_LATENCY_AVG, p99 * 0.8);
	figures_set(&m.fig, FIG_SERVER_QUEUE, p99 * 0.2);
	figures_set(&m.fig, FIG_SERVER_COMPUTE_INFER, p99 * 0.5);
	figures_set(&m.fig, FIG_SERVER_RSS, 10 + load);
	/* no GPU, no power: absent */
	snprintf(m.window_mode, sizeof(m.window_mode), "time_windows");
	m.started_at = m.finished_at = 1700000000;
	assert_int_equal(store_measurement_add(s, &m, NULL), 0);
	id = m.id;
	store_measurement_release(&m);
	return id;
}

/* Model "m": default (1x8), a (1x1), b (2x4, the best), c (failed to load). */
static void make_db(bool ranked)
{
	char tmpl[] = "/tmp/infertune-report-XXXXXX", path[128];
	struct store *s = NULL;
	struct store_run run;
	int64_t run_id, model, def, a, b, bbest = 0, dbest = 0;

	assert_non_null(mkdtemp(tmpl));
	snprintf(dir, sizeof(dir), "%s", tmpl);
	snprintf(path, sizeof(path), "%s/results.db", dir);
	assert_int_equal(store_open(path, &s, NULL), 0);
	memset(&run, 0, sizeof(run));
	run.command_line = "infertune analyze --latency-budget 50";
	run.options_json = options_json;
	run.search_mode = "brute";
	run.server_mode = "embedded";
	run.profile_key = "key";
	run.gpus_json = "[]";
	run.version = "0.1.0";
	assert_int_equal(store_run_begin(s, &run, &run_id, NULL), 0);
	assert_int_equal(store_model_get_or_add(s, "m", NULL, "sim", "name: \"m\"\n", "{}",
						"/repo", run_id, &model, NULL), 0);
	def = add_variant(s, model, run_id, "m_config_default", 1, 8, NULL);
	a = add_variant(s, model, run_id, "m_config_0", 1, 1, NULL);
	b = add_variant(s, model, run_id, "m_config_1", 2, 4, NULL);
	add_variant(s, model, run_id, "m_config_2", 3, 4, "out of memory while loading");
	for (int c = 1; c <= 4; c *= 2) {
		if (c == 1)
			dbest = add_level(s, run_id, def, c, 100, 10.0 * c);
		else
			add_level(s, run_id, def, c, 100, 10.0 * c);
		add_level(s, run_id, a, c, 80 + c, 12.0 * c);
		bbest = add_level(s, run_id, b, c, 150.0 * c, 11.0 * c);
	}
	if (ranked) {
		/* What analyze records; b's best is concurrency 4 (p99 44 <= 50). */
		struct store_rank r[3] = {
			{ .variant_id = b, .best_measurement_id = bbest,
			  .satisfies_constraints = true, .has_gain = true, .gain_vs_default_pct = 500.0 },
			{ .variant_id = def, .best_measurement_id = dbest,
			  .satisfies_constraints = true, .has_gain = true, .gain_vs_default_pct = 0.0 },
			{ .variant_id = a, .satisfies_constraints = true, .has_gain = true,
			  .gain_vs_default_pct = -10.0 },
		};

		assert_int_equal(store_ranking_set(s, run_id, model, r, 3, NULL), 0);
	}
	assert_int_equal(store_run_finish(s, run_id, "completed", NULL, NULL), 0);
	store_close(s);
}

/* The meta rows analyze writes when a run starts. */
static void set_machine(const char *cpu, const char *memory)
{
	char path[128];
	struct store *s = NULL;

	snprintf(path, sizeof(path), "%s/results.db", dir);
	assert_int_equal(store_open(path, &s, NULL), 0);
	assert_int_equal(store_meta_set(s, "machine_cpu", cpu, NULL), 0);
	assert_int_equal(store_meta_set(s, "machine_memory", memory, NULL), 0);
	store_close(s);
}

static void rm_rf(void)
{
	char cmd[160];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static const struct report_config *find(const struct report_model *m, const char *name)
{
	for (size_t i = 0; i < m->n_configs; i++)
		if (!strcmp(m->configs[i].name, name))
			return &m->configs[i];
	fail_msg("no configuration %s", name);
	return NULL;
}

static void test_load_ranked_here(void **state)
{
	struct report_data d;
	struct it_error err = { 0 };
	const struct report_model *m;
	const struct report_config *b, *c2;

	(void)state;
	make_db(false);
	assert_int_equal(report_data_load(dir, NULL, 0, "2030-01-02T03:04:05Z", &d, &err), 0);
	assert_string_equal(d.time_iso, "2030-01-02T03:04:05Z");
	assert_string_equal(d.run_status, "completed");
	/* No meta rows (an older analyze): this machine, and the report says so. */
	assert_false(d.machine_from_db);
	assert_non_null(strstr(d.machine_cpu, " cores"));
	assert_true(d.machine_memory[0] != '\0');
	assert_string_equal(d.machine_gpus, "none (CPU only)");
	assert_int_equal(d.n_models, 1);
	m = &d.models[0];
	assert_string_equal(m->name, "m");
	assert_int_equal(m->n_configs, 4);
	assert_int_equal(m->n_measurements, 9);
	assert_int_equal(m->n_failed, 1);
	assert_false(m->ranking_from_db);
	assert_string_equal(m->constraints_text, "p99 latency <= 50 ms");
	assert_string_equal(m->objectives_text, "maximizing throughput");
	/* b at concurrency 4: 600 infer/s, p99 44 ms, within the budget. */
	b = report_model_best(m);
	assert_non_null(b);
	assert_string_equal(b->name, "m_config_1");
	assert_int_equal(b->n_levels, 3);
	assert_true(b->levels[b->best].load == 4);
	assert_true(b->passes);
	assert_true(b->has_gain);
	assert_true(fabs(b->gain_pct - 500.0) < 1e-6);
	assert_true(figures_has(&b->levels[0].fig, FIG_SERVER_RSS));
	assert_false(figures_has(&b->levels[0].fig, FIG_GPU_POWER));
	assert_false(figures_has(&b->levels[0].fig, FIG_CPU_POWER));
	c2 = find(m, "m_config_2");
	assert_int_equal(c2->rank, 0);
	assert_int_equal(c2->n_levels, 0);
	assert_string_equal(c2->failure_reason, "out of memory while loading");
	/* The unranked configuration comes last. */
	assert_ptr_equal(c2, &m->configs[m->n_configs - 1]);
	report_data_release(&d);
	rm_rf();
}

static void test_load_ranking_from_db(void **state)
{
	struct report_data d;
	struct it_error err = { 0 };
	const char *names[] = { "m" }, *missing[] = { "nope" };

	(void)state;
	make_db(true);
	set_machine("Measuring CPU, 64 cores", "512.0 GB");
	assert_int_equal(report_data_load(dir, names, 1, NULL, &d, &err), 0);
	assert_true(d.machine_from_db);
	assert_string_equal(d.machine_cpu, "Measuring CPU, 64 cores");
	assert_string_equal(d.machine_memory, "512.0 GB");
	assert_true(d.models[0].ranking_from_db);
	assert_string_equal(d.models[0].configs[0].name, "m_config_1");
	assert_int_equal(d.models[0].configs[0].rank, 1);
	assert_true(d.models[0].configs[0].levels[d.models[0].configs[0].best].load == 4);
	assert_string_equal(d.models[0].configs[1].name, "m_config_default");
	/* No --time: the latest run's end dates the report. */
	assert_int_equal(strlen(d.time_iso), 24);
	report_data_release(&d);
	assert_int_equal(report_data_load(dir, missing, 1, NULL, &d, &err), IT_ERR_NOT_FOUND);
	assert_non_null(strstr(err.message, "nope"));
	rm_rf();
	assert_int_equal(report_data_load(dir, NULL, 0, NULL, &d, &err), IT_ERR_NOT_FOUND);
}

/*
 * The capacity answers from results.db alone: the budget the run recorded,
 * no target without request rates. m_config_1 keeps p99 within 50 ms up to
 * concurrency 4 (600 infer/s, p99 44 ms); the default's 100 infer/s first
 * came at concurrency 1. Without batch statistics, no predicted rate and
 * one line that says so. Without a budget there is no question.
 */
static void test_capacity_from_db(void **state)
{
	struct report_data d;
	struct it_error err = { 0 };
	const struct report_model *m;
	size_t c0;

	(void)state;
	make_db(true);
	assert_int_equal(report_data_load(dir, NULL, 0, NULL, &d, &err), 0);
	m = &d.models[0];
	assert_true(m->capacity.asked);
	assert_false(m->capacity.has_target);
	assert_true(m->capacity.budget_ms == 50);
	assert_int_equal(m->capacity.n_rows, m->n_configs);
	assert_string_equal(m->configs[0].name, "m_config_1");
	assert_true(m->capacity.rows[0].sustains && m->capacity.rows[0].rate == 600);
	assert_true(m->capacity.rows[0].load_value == 4 && m->capacity.rows[0].p99_ms == 44);
	assert_int_equal(m->n_capacity_lines, 2);
	assert_string_equal(m->capacity_lines[0],
			    "Highest rate within p99 <= 50 ms, as measured: m_config_1 600 req/s "
			    "at concurrency 4, p99 44.00 ms; m_config_default 100 req/s at "
			    "concurrency 1, p99 10.00 ms.");
	/* Its levels have no batch statistics: one line says the predictor had nothing. */
	assert_string_equal(m->capacity_lines[1],
			    "No predicted rate: results.db has no batch statistics for model 'm' "
			    "(its server did not send batch_stats): nothing to predict from.");
	assert_false(m->capacity.rows[0].predicted.has);
	/* m_config_0's recorded row names no measurement: not among the top, still a row. */
	c0 = (size_t)(find(m, "m_config_0") - m->configs);
	assert_true(m->capacity.rows[c0].sustains && m->capacity.rows[c0].rate == 84);
	report_data_release(&d);
	rm_rf();
	options_json = "{\"objectives\":{},\"constraints\":{}}";
	make_db(true);
	assert_int_equal(report_data_load(dir, NULL, 0, NULL, &d, &err), 0);
	assert_false(d.models[0].capacity.asked);
	assert_int_equal(d.models[0].n_capacity_lines, 0);
	report_data_release(&d);
	rm_rf();
	options_json = "{\"objectives\":{},\"constraints\":{},\"latency_budget\":50.0}";
}

static char *slurp(const char *rel, size_t *len)
{
	char path[256], *data = NULL;

	snprintf(path, sizeof(path), "%s/reports/m/%s", dir, rel);
	assert_int_equal(fs_read_file(path, (size_t)64 << 20, &data, len, NULL), 0);
	return data;
}

static void test_write_stable(void **state)
{
	struct report_options o;
	struct it_error err = { 0 };
	char *html1, *html2, *pdf1, *pdf2, *png;
	size_t n1, n2, p1, p2, np;

	(void)state;
	make_db(true);
	set_machine("Measuring CPU, 64 cores", "512.0 GB");
	memset(&o, 0, sizeof(o));
	o.time_iso = "2030-01-02T03:04:05Z";
	assert_int_equal(report_write(dir, NULL, 0, &o, &err), 0);
	html1 = slurp("report.html", &n1);
	pdf1 = slurp("report.pdf", &p1);
	png = slurp("charts/throughput.png", &np);
	assert_memory_equal(png, "\x89PNG", 4);
	assert_memory_equal(pdf1, "%PDF", 4);
	assert_non_null(strstr(html1, "In 9 measurements across 4 configurations, m_config_1 is "
				      "500.0% better than the default configuration"));
	assert_non_null(strstr(html1, "<h2 id=\"capacity\">Capacity</h2>\n<p class=\"summary\">"
				      "Highest rate within p99 &lt;= 50 ms, as measured: m_config_1 "
				      "600 req/s at concurrency 4"));
	assert_non_null(strstr(html1, "id=\"capacity-table\""));
	assert_non_null(strstr(html1, "id=\"note-power\""));
	assert_null(strstr(html1, "id=\"chart-power\""));
	assert_non_null(strstr(html1, "id=\"chart-throughput\""));
	assert_non_null(strstr(html1, "out of memory while loading"));
	/* The machine that measured, as results.db records it: no fallback note. */
	assert_non_null(strstr(html1, "Measuring CPU, 64 cores"));
	assert_non_null(strstr(html1, "512.0 GB"));
	assert_null(strstr(html1, "does not record the machine"));
	assert_null(strstr(html1, "http://"));
	assert_null(strstr(html1, "https://"));
	assert_int_equal(report_write(dir, NULL, 0, &o, &err), 0);
	html2 = slurp("report.html", &n2);
	pdf2 = slurp("report.pdf", &p2);
	assert_int_equal(n1, n2);
	assert_memory_equal(html1, html2, n1);
	assert_int_equal(p1, p2);
	assert_memory_equal(pdf1, pdf2, p1);
	free(html1);
	free(html2);
	free(pdf1);
	free(pdf2);
	free(png);
	rm_rf();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load_ranked_here),
		cmocka_unit_test(test_load_ranking_from_db),
		cmocka_unit_test(test_capacity_from_db),
		cmocka_unit_test(test_write_stable),
	};

	int rc = cmocka_run_group_tests(tests, NULL, NULL);

	report_global_cleanup();
	return rc;
}
