/*
 * Unit tests for the analysis options: Model Analyzer's YAML keys (scalars,
 * lists, ranges, per-model sections, objectives as list or weights,
 * constraints, perf_analyzer_flags), the expansion of
 * model_config_parameters into its cross product, and errors that point at
 * the right file:line:col. Also the command-line value parser.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "analyze/objective.h"
#include "analyze/options.h"
#include "util/error.h"

static int parse(struct analyze_options *o, const char *text, struct it_error *err)
{
	analyze_options_init(o);
	return analyze_options_parse_yaml(o, text, strlen(text), "cfg.yaml", err);
}

/* Expects a failure at line:col whose message contains `what`. */
static void expect_error(const char *text, int line, int col, const char *what)
{
	struct analyze_options o;
	struct it_error err = { 0 };
	int rc = parse(&o, text, &err);

	if (rc == 0 || err.line != line || err.col != col || !strstr(err.message, what))
		print_error("for:\n%s\ngot rc %d at %d:%d: %s\n", text, rc, err.line, err.col,
			    err.message);
	assert_int_not_equal(rc, 0);
	assert_string_equal(err.file, "cfg.yaml");
	assert_int_equal(err.line, line);
	assert_int_equal(err.col, col);
	assert_non_null(strstr(err.message, what));
	analyze_options_release(&o);
}

static void test_full_config(void **state)
{
	static const char text[] =
		"model_repository: /models\n"
		"export_path: out\n"
		"run_config_search_mode: quick\n"
		"run_config_search_max_concurrency: 64\n"
		"run_config_search_max_instance_count: 3\n"
		"run_config_search_max_model_batch_size: 16\n"
		"override_output_model_repository: true\n"
		"latency_budget: 50\n"
		"triton_launch_mode: remote\n"
		"triton_http_endpoint: host:8000\n"
		"checkpoint_directory: ./ckpt\n"
		"concurrency: [1, 2, 4, 6, 8]\n"
		"objectives:\n"
		"  perf_latency_p99: 2\n"
		"  perf_throughput: 3\n"
		"constraints:\n"
		"  perf_throughput:\n"
		"    min: 10\n"
		"perf_analyzer_flags:\n"
		"  measurement-interval: 2000\n"
		"  shape:\n"
		"    - IN:3,224,224\n"
		"profile_models:\n"
		"  resnet:\n"
		"    cpu_only: true\n"
		"    parameters:\n"
		"      batch_sizes: 1,2\n"
		"      concurrency:\n"
		"        start: 2\n"
		"        stop: 10\n"
		"        step: 4\n"
		"    perf_analyzer_flags:\n"
		"      percentile: 95\n"
		"  bert: {}\n";
	struct analyze_options o;
	struct it_error err = { 0 };
	struct objective_set obj;
	struct perf_settings ps;
	const struct model_spec *m;

	(void)state;
	assert_int_equal(parse(&o, text, &err), 0);
	assert_string_equal(o.model_repository, "/models");
	assert_string_equal(o.search_mode, "quick");
	assert_int_equal(o.max_concurrency, 64);
	assert_true(o.user_max_concurrency);
	assert_false(o.user_min_concurrency);
	assert_int_equal(o.max_instances, 3);
	assert_int_equal(o.max_mbs, 16);
	assert_true(o.override_output_repository);
	assert_int_equal(o.server_mode, ANALYZE_SERVER_REMOTE);
	assert_string_equal(o.url, "host:8000");
	assert_int_equal(o.concurrency.n, 5);
	assert_int_equal(o.concurrency.v[3], 6);
	/* checkpoint_directory is Model Analyzer's and does not apply: a warning. */
	assert_int_equal(o.n_warnings, 1);
	assert_non_null(strstr(o.warnings[0], "cfg.yaml:11:1: checkpoint_directory"));
	assert_int_equal(o.n_models, 2);
	m = &o.models[0];
	assert_string_equal(m->name, "resnet");
	assert_true(m->cpu_only);
	assert_int_equal(m->batch_sizes.n, 2);
	assert_int_equal(m->concurrency.n, 3);
	assert_int_equal(m->concurrency.v[2], 10);
	assert_string_equal(o.models[1].name, "bert");
	/* Objectives, constraints and the latency budget shorthand. */
	assert_int_equal(analyze_objectives(&o, m, &obj, &err), 0);
	assert_int_equal(obj.n_obj, 2);
	assert_int_equal(obj.n_con, 2);
	/* Perf flags: global then the model's. */
	assert_int_equal(analyze_perf_settings(&o, m, &ps, &err), 0);
	assert_int_equal(ps.measurement_interval_ms, 2000);
	assert_int_equal(ps.percentile, 95);
	assert_int_equal(ps.n_shapes, 1);
	assert_int_equal(ps.shapes[0].dims[2], 224);
	perf_settings_release(&ps);
	analyze_options_release(&o);
}

static void test_profile_models_forms(void **state)
{
	struct analyze_options o;

	(void)state;
	assert_int_equal(parse(&o, "profile_models: a, b\n", NULL), 0);
	assert_int_equal(o.n_models, 2);
	assert_string_equal(o.models[1].name, "b");
	analyze_options_release(&o);
	assert_int_equal(parse(&o, "profile_models:\n  - a\n  - b: {cpu_only: true}\n", NULL), 0);
	assert_int_equal(o.n_models, 2);
	assert_true(o.models[1].cpu_only);
	analyze_options_release(&o);
	assert_int_equal(parse(&o, "objectives: [perf_throughput, perf_latency_p99]\n", NULL), 0);
	assert_int_equal(o.n_objectives, 2);
	analyze_options_release(&o);
	/* An empty file is an empty config. */
	assert_int_equal(parse(&o, "", NULL), 0);
	analyze_options_release(&o);
}

static void test_model_config_parameters(void **state)
{
	/* Model Analyzer's docs example: 2 max_batch_size x 2 delays x 2 counts = 8. */
	static const char text[] =
		"profile_models:\n"
		"  m:\n"
		"    model_config_parameters:\n"
		"      max_batch_size: [6, 8]\n"
		"      dynamic_batching:\n"
		"        max_queue_delay_microseconds: [200, 300]\n"
		"      instance_group:\n"
		"        - kind: KIND_GPU\n"
		"          count: [1, 2]\n";
	struct analyze_options o;
	struct it_error err = { 0 };
	const struct manual_space *ms;
	char *s;

	(void)state;
	assert_int_equal(parse(&o, text, &err), 0);
	ms = &o.models[0].manual;
	assert_true(ms->given);
	assert_int_equal(ms->n_mbs, 2);
	assert_int_equal(ms->mbs[1], 8);
	assert_int_equal(ms->n_overlays, 4);
	s = json_dumps(ms->overlays[3], JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(s, "{\"dynamic_batching\":{\"max_queue_delay_microseconds\":300},"
			       "\"instance_group\":[{\"count\":2,\"kind\":\"KIND_GPU\"}]}");
	free(s);
	analyze_options_release(&o);
}

static void test_sweep_forms(void **state)
{
	/* A list of lists sweeps a repeated field; parameters take a shorthand. */
	static const char text[] =
		"profile_models:\n"
		"  m:\n"
		"    model_config_parameters:\n"
		"      instance_group:\n"
		"        - - kind: KIND_GPU\n"
		"            count: 1\n"
		"        - - kind: KIND_CPU\n"
		"            count: 1\n"
		"      dynamic_batching:\n"
		"        preferred_batch_size: [[4, 8], [8]]\n"
		"      parameters:\n"
		"        INTRA_OP_THREAD_COUNT: [\"1\", \"2\"]\n"
		"        sim_base_us:\n"
		"          string_value: \"100\"\n";
	struct analyze_options o;
	struct it_error err = { 0 };
	const struct manual_space *ms;
	char *s;

	(void)state;
	assert_int_equal(parse(&o, text, &err), 0);
	ms = &o.models[0].manual;
	assert_int_equal(ms->n_mbs, 0);
	assert_int_equal(ms->n_overlays, 8);
	s = json_dumps(ms->overlays[0], JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(s, "{\"dynamic_batching\":{\"preferred_batch_size\":[4,8]},"
			       "\"instance_group\":[{\"count\":1,\"kind\":\"KIND_GPU\"}],"
			       "\"parameters\":{\"INTRA_OP_THREAD_COUNT\":{\"string_value\":\"1\"},"
			       "\"sim_base_us\":{\"string_value\":\"100\"}}}");
	free(s);
	analyze_options_release(&o);
}

static void test_errors_point_at_the_node(void **state)
{
	(void)state;
	expect_error("model_repository: /m\nbogus_key: 1\n", 2, 1, "unknown option 'bogus_key'");
	/* A fault at the end of a file without a final newline: on its last line (fuzzing). */
	expect_error("model_repository: /m\nexport", 2, 7, "could not find expected ':'");
	expect_error("model_repository: /m\rexport", 2, 7, "could not find expected ':'");
	/* ... also when the fault is a node's: an empty value at the end (fuzzing). */
	expect_error("  ? constraints", 1, 16, "constraints: expected a mapping");
	/* UTF-8 only: a UTF-16 byte-order mark is refused at its first byte. */
	expect_error("\xff\xfe""a", 1, 1, "YAML");
	expect_error("run_config_search_max_concurrency: many\n", 1, 36,
		     "run_config_search_max_concurrency");
	expect_error("run_config_search_mode: optuna\n", 1, 25, "optuna is not offered");
	expect_error("concurrency: [1, two]\n", 1, 14, "two");
	expect_error("objectives:\n  perf_thruput: 1\n", 2, 3, "unknown metric 'perf_thruput'");
	expect_error("constraints:\n  perf_latency_p99:\n    maximum: 5\n", 3, 5,
		     "unknown bound 'maximum'");
	expect_error("perf_analyzer_flags:\n  measurement-interval: soon\n", 2, 25,
		     "measurement-interval");
	expect_error("perf_analyzer_flags:\n  concurrency-range: 1:4\n", 2, 3,
		     "not one an analysis sets");
	expect_error("profile_models:\n  m:\n    paramters: {}\n", 3, 5, "unknown key 'paramters'");
	expect_error("profile_models:\n  m:\n    model_config_parameters:\n      max_batch_sise: [1]\n",
		     4, 7, "no field 'max_batch_sise'");
	expect_error("profile_models:\n  m:\n    model_config_parameters:\n"
		     "      instance_group:\n        - count: [1, x]\n", 5, 22, "not an integer");
	expect_error("profile_models:\n  m:\n    model_config_parameters:\n"
		     "      instance_group:\n        - kind: KIND_TPU\n", 5, 17, "KIND_TPU");
	expect_error("model_config_parameters: {}\n", 1, 1, "per model");
	/* YAML syntax errors: libyaml's position. */
	expect_error("model_repository: [unclosed\n", 2, 1, "YAML");
	expect_error("export_path: a\n---\nexport_path: b\n", 3, 1, "only one document");
}

static void test_command_line_values(void **state)
{
	struct analyze_options o;
	struct it_error err = { 0 };

	(void)state;
	analyze_options_init(&o);
	assert_int_equal(analyze_options_set(&o, "concurrency", "1,2,4:16:4", &err), 0);
	assert_int_equal(o.concurrency.n, 6);
	assert_int_equal(o.concurrency.v[5], 16);
	assert_int_equal(analyze_options_set(&o, "objectives", "perf_throughput=3,perf_latency_p99:1",
					     &err), 0);
	assert_int_equal(o.n_objectives, 2);
	assert_true(o.objectives[1].weight == 1);
	assert_int_equal(analyze_options_set(&o, "perf_analyzer_flag", "stability-percentage=5",
					     &err), 0);
	assert_int_equal(analyze_options_set(&o, "perf_analyzer_flag", "nonsense", &err),
			 IT_ERR_INVALID);
	assert_int_equal(analyze_options_set(&o, "run_config_search_max_instance_count", "0", &err),
			 IT_ERR_INVALID);
	assert_int_equal(analyze_options_set(&o, "server", "docker", &err), 0);
	assert_int_equal(o.server_mode, ANALYZE_SERVER_EMBEDDED);
	assert_int_equal(analyze_options_set(&o, "no_such_option", "1", &err), IT_ERR_NOT_FOUND);
	assert_int_equal(analyze_options_set(&o, "profile_models", "a,b", &err), 0);
	assert_int_equal(analyze_options_check(&o, &err), IT_ERR_INVALID);  /* no repository */
	assert_int_equal(analyze_options_set(&o, "model_repository", "/m", &err), 0);
	assert_int_equal(analyze_options_check(&o, &err), 0);
	analyze_options_release(&o);
}

static void test_perf_settings_key(void **state)
{
	struct perf_settings a, b;
	char ka[512], kb[512];

	(void)state;
	perf_settings_init(&a);
	perf_settings_init(&b);
	perf_settings_key(&a, ka, sizeof(ka));
	perf_settings_key(&b, kb, sizeof(kb));
	assert_string_equal(ka, kb);
	/* A setting that changes the figures changes the key (no stale reuse on resume). */
	assert_int_equal(perf_settings_apply(&b, "measurement-interval", "1000", NULL), 0);
	perf_settings_key(&b, kb, sizeof(kb));
	assert_string_not_equal(ka, kb);
	/* The warm-up does not. */
	assert_int_equal(perf_settings_apply(&a, "warmup-request-count", "5", NULL), 0);
	perf_settings_key(&a, kb, sizeof(kb));
	assert_string_equal(ka, kb);
	perf_settings_release(&a);
	perf_settings_release(&b);
}

static void test_perf_settings_http_client(void **state)
{
	struct perf_settings ps;
	struct profile_options po;
	struct it_error err = { 0 };

	(void)state;
	perf_settings_init(&ps);
	assert_int_equal(ps.http_client, LOADGEN_HTTP_AUTO);
	assert_int_equal(perf_settings_apply(&ps, "http-client", "libcurl", NULL), 0);
	memset(&po, 0, sizeof(po));
	perf_settings_to_profile(&ps, &po);
	assert_int_equal(po.http_client, LOADGEN_HTTP_LIBCURL);
	assert_int_equal(perf_settings_apply(&ps, "http-client", "h1", NULL), 0);
	assert_int_equal(ps.http_client, LOADGEN_HTTP_H1);
	assert_int_not_equal(perf_settings_apply(&ps, "http-client", "h2", &err), 0);
	assert_non_null(strstr(err.message, "choose auto, h1 or libcurl"));
	assert_int_equal(ps.http_client, LOADGEN_HTTP_H1);
	perf_settings_release(&ps);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_config),
		cmocka_unit_test(test_profile_models_forms),
		cmocka_unit_test(test_model_config_parameters),
		cmocka_unit_test(test_sweep_forms),
		cmocka_unit_test(test_errors_point_at_the_node),
		cmocka_unit_test(test_command_line_values),
		cmocka_unit_test(test_perf_settings_key),
		cmocka_unit_test(test_perf_settings_http_client),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
