/*
 * Unit tests for model/config: the typed view, Triton's semantic checks with
 * positions, JSON in both directions, and the edits the search makes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model/config.h"
#include "model/schema.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/strbuf.h"

static const char resnet[] =
	"# ResNet50 served through libtorch\n"
	"name: \"resnet50\"\n"
	"platform: \"pytorch_libtorch\"\n"
	"max_batch_size: 8\n"
	"input [\n"
	"  {\n"
	"    name: \"INPUT__0\"\n"
	"    data_type: TYPE_FP32\n"
	"    format: FORMAT_NCHW\n"
	"    dims: [ 3, 224, 224 ]\n"
	"  }\n"
	"]\n"
	"output [ { name: \"OUTPUT__0\", data_type: TYPE_FP32, dims: [ 1000 ] } ]\n"
	"instance_group [ { count: 2, kind: KIND_CPU } ]\n"
	"dynamic_batching {\n"
	"  preferred_batch_size: [ 4, 8 ]\n"
	"  max_queue_delay_microseconds: 100\n"
	"  default_queue_policy { timeout_action: DELAY default_timeout_microseconds: 5000 max_queue_size: 16 }\n"
	"  priority_levels: 2\n"
	"  priority_queue_policy { key: 2 value { max_queue_size: 4 } }\n"
	"}\n"
	"parameters { key: \"INTRA_OP_THREAD_COUNT\" value { string_value: \"2\" } }\n"
	"parameters: { key: \"DISABLE_OPTIMIZED_EXECUTION\" value: { string_value: \"true\" } }\n"
	"optimization { cuda { graphs: true } }\n"
	"model_warmup [ { name: \"w\" batch_size: 1 inputs { key: \"INPUT__0\" value { data_type: TYPE_FP32 dims: [3, 224, 224] zero_data: true } } } ]\n";

static struct model_config *parse(const char *text, struct it_error *err)
{
	return model_config_parse(text, strlen(text), "t.pbtxt", err);
}

/* Parses text that must fail; checks line:col and a message substring. */
static void expect_error(const char *text, int line, int col, const char *needle)
{
	struct it_error err = { 0 };
	struct model_config *cfg = parse(text, &err);

	if (cfg) {
		model_config_free(cfg);
		fail_msg("accepted: %s", text);
	}
	if (!strstr(err.message, needle))
		fail_msg("message '%s' lacks '%s'", err.message, needle);
	assert_int_equal(err.line, line);
	assert_int_equal(err.col, col);
	assert_string_equal(err.file, "t.pbtxt");
}

static void test_typed_view(void **state)
{
	struct it_error err = { 0 };
	struct model_config *cfg = parse(resnet, &err);
	const struct model_dynamic_batching *db;

	(void)state;
	assert_non_null(cfg);
	assert_string_equal(cfg->name, "resnet50");
	assert_string_equal(cfg->platform, "pytorch_libtorch");
	assert_string_equal(cfg->backend, "");
	assert_int_equal(cfg->max_batch_size, 8);
	assert_int_equal(cfg->n_inputs, 1);
	assert_string_equal(cfg->inputs[0].name, "INPUT__0");
	assert_int_equal(cfg->inputs[0].data_type, DATATYPE_FP32);
	assert_int_equal(cfg->inputs[0].format, TENSOR_FORMAT_NCHW);
	assert_int_equal(cfg->inputs[0].n_dims, 3);
	assert_int_equal(cfg->inputs[0].dims[0], 3);
	assert_int_equal(cfg->inputs[0].dims[2], 224);
	/* A list element is located at its own brace, not the shared field name. */
	assert_int_equal(cfg->inputs[0].line, 6);
	assert_int_equal(cfg->inputs[0].col, 3);
	assert_int_equal(cfg->n_outputs, 1);
	assert_int_equal(cfg->outputs[0].dims[0], 1000);
	assert_int_equal(cfg->n_instance_groups, 1);
	assert_int_equal(cfg->instance_groups[0].count, 2);
	assert_int_equal(cfg->instance_groups[0].kind, INSTANCE_KIND_CPU);
	assert_true(cfg->has_dynamic_batching);
	db = &cfg->dynamic_batching;
	assert_int_equal(db->n_preferred_batch_size, 2);
	assert_int_equal(db->preferred_batch_size[1], 8);
	assert_int_equal(db->max_queue_delay_us, 100);
	assert_true(db->has_default_queue_policy);
	assert_int_equal(db->default_queue_policy.timeout_action, 1);
	assert_int_equal(db->default_queue_policy.default_timeout_us, 5000);
	assert_int_equal(db->default_queue_policy.max_queue_size, 16);
	assert_int_equal(db->priority_levels, 2);
	assert_int_equal(db->n_priority_queue_policy, 1);
	assert_int_equal(db->priority_queue_policy[0].priority_level, 2);
	assert_int_equal(db->priority_queue_policy[0].policy.max_queue_size, 4);
	/* Parameters come sorted by key (protobuf prints maps sorted). */
	assert_int_equal(cfg->n_parameters, 2);
	assert_string_equal(cfg->parameters[0].key, "DISABLE_OPTIMIZED_EXECUTION");
	assert_string_equal(model_config_parameter(cfg, "INTRA_OP_THREAD_COUNT"), "2");
	assert_null(model_config_parameter(cfg, "NUM_THREADS"));
	assert_int_equal(cfg->version_policy.kind, VERSION_POLICY_LATEST);
	assert_int_equal(cfg->version_policy.latest_num_versions, 1);
	assert_null(model_config_unsupported(cfg));
	model_config_free(cfg);
}

static void test_defaults(void **state)
{
	struct it_error err = { 0 };
	struct model_config *cfg = parse(
		"backend: \"identity\"\n"
		"input { name: \"x\" data_type: TYPE_INT8 dims: -1 }\n"
		"instance_group { kind: KIND_GPU gpus: [0, 1] }\n"
		"version_policy { all {} }\n", &err);

	(void)state;
	assert_non_null(cfg);
	assert_string_equal(cfg->name, "");
	assert_int_equal(cfg->max_batch_size, 0);
	assert_false(cfg->has_dynamic_batching);
	assert_int_equal(cfg->inputs[0].dims[0], -1);
	/* An unset count is 1, as in Triton. */
	assert_int_equal(cfg->instance_groups[0].count, 1);
	assert_int_equal(cfg->instance_groups[0].n_gpus, 2);
	assert_int_equal(cfg->instance_groups[0].gpus[1], 1);
	assert_int_equal(cfg->version_policy.kind, VERSION_POLICY_ALL);
	model_config_free(cfg);
}

static void test_semantic_errors(void **state)
{
	(void)state;
	expect_error("max_batch_size: -1\n", 1, 17, "max_batch_size must be >= 0");
	expect_error("input { name: \"a\" data_type: TYPE_FP32 dims: [ 3, 0 ] }\n",
		     1, 51, "dims must be integers >= 1, or -1");
	expect_error("input { name: \"a\" data_type: TYPE_FP32 }\n", 1, 1,
		     "input 'a' must specify 'dims'");
	expect_error("output { name: \"a\" dims: 1 }\n", 1, 1,
		     "output 'a' must specify 'data_type'");
	expect_error("input { data_type: TYPE_FP32 dims: 1 }\n", 1, 1,
		     "input must specify 'name'");
	expect_error("input { name: \"a\" data_type: TYPE_FP32 dims: 1 }\n"
		     "input { name: \"a\" data_type: TYPE_FP32 dims: 1 }\n",
		     2, 1, "input name 'a' is used twice (first at 1:1)");
	expect_error("dynamic_batching { }\n", 1, 1,
		     "dynamic_batching needs max_batch_size > 0");
	expect_error("max_batch_size: 4\n"
		     "dynamic_batching { preferred_batch_size: [ 2, 8 ] }\n",
		     2, 47, "preferred_batch_size 8 must be between 1 and max_batch_size (4)");
	expect_error("max_batch_size: 4\n"
		     "dynamic_batching { preferred_batch_size: 0 }\n",
		     2, 42, "preferred_batch_size 0");
	expect_error("instance_group { count: -2 }\n", 1, 25,
		     "count must be >= 1 (found -2)");
	expect_error("instance_group { kind: KIND_CPU gpus: 0 }\n", 1, 1,
		     "has kind KIND_CPU but lists GPUs");
	expect_error("input { name: \"a\" data_type: TYPE_FP32 dims: [2, 3]\n"
		     "  reshape { shape: [ 5 ] } }\n", 2, 3,
		     "6 elements in 'dims' but 5 in 'reshape'");
	expect_error("input { name: \"a\" data_type: TYPE_FP32 dims: 1 reshape { } }\n",
		     1, 48, "empty reshape in a non-batching model");
	/* Backends join it to the version folder: a path would leave the repository. */
	expect_error("default_model_filename: \"../../x/model.pt\"\n", 1, 25,
		     "default_model_filename '../../x/model.pt' contains a path separator");
	expect_error("default_model_filename: \"..\"\n", 1, 25, "is not allowed");
}

static void test_reshape_rules(void **state)
{
	struct it_error err = { 0 };
	struct model_config *cfg;

	(void)state;
	/* Empty reshape of a one-element tensor in a batching model: allowed. */
	cfg = parse("max_batch_size: 8\n"
		    "input { name: \"a\" data_type: TYPE_FP32 dims: 1 reshape { } }\n", &err);
	assert_non_null(cfg);
	assert_true(cfg->inputs[0].has_reshape);
	assert_int_equal(cfg->inputs[0].n_reshape, 0);
	model_config_free(cfg);
	/* Variable dimensions are not counted. */
	cfg = parse("input { name: \"a\" data_type: TYPE_FP32 dims: [-1, 4] reshape { shape: [2, 2, -1] } }\n", &err);
	assert_non_null(cfg);
	model_config_free(cfg);
}

static void test_unsupported_is_not_an_error(void **state)
{
	struct it_error err = { 0 };
	struct model_config *cfg;

	(void)state;
	cfg = parse("max_batch_size: 4\n"
		    "sequence_batching { max_sequence_idle_microseconds: 5000000 }\n", &err);
	assert_non_null(cfg);
	assert_string_equal(model_config_unsupported(cfg), "sequence_batching");
	model_config_free(cfg);
	cfg = parse("platform: \"ensemble\"\n"
		    "ensemble_scheduling { step { model_name: \"a\" model_version: -1 } }\n", &err);
	assert_non_null(cfg);
	assert_string_equal(model_config_unsupported(cfg), "ensemble_scheduling");
	model_config_free(cfg);
}

static void test_print_round_trip(void **state)
{
	struct it_error err = { 0 };
	struct model_config *cfg = parse(resnet, &err);
	struct model_config *again;
	struct strbuf a, b;

	(void)state;
	assert_non_null(cfg);
	strbuf_init(&a, 0);
	strbuf_init(&b, 0);
	assert_int_equal(model_config_print(cfg, &a), 0);
	/* Canonical form: proto field order, repeated-line style. */
	assert_non_null(strstr(a.buf, "name: \"resnet50\"\nplatform: \"pytorch_libtorch\"\nmax_batch_size: 8\ninput {\n"));
	assert_non_null(strstr(a.buf, "  dims: 3\n  dims: 224\n  dims: 224\n"));
	again = model_config_parse(a.buf, a.len, "again", &err);
	assert_non_null(again);
	assert_true(model_config_equal(cfg, again));
	assert_int_equal(model_config_print(again, &b), 0);
	assert_string_equal(a.buf, b.buf);
	strbuf_release(&a);
	strbuf_release(&b);
	model_config_free(again);
	model_config_free(cfg);
}

static void test_json_round_trip(void **state)
{
	struct it_error err = { 0 };
	struct model_config *cfg = parse(resnet, &err);
	struct model_config *back;
	json_t *j, *dims;

	(void)state;
	assert_non_null(cfg);
	j = model_config_to_json(cfg, SCHEMA_JSON_ALL_FIELDS);
	assert_non_null(j);
	/* Triton's /config: int64 as numbers, defaults present, enums as names. */
	dims = json_object_get(json_array_get(json_object_get(j, "input"), 0), "dims");
	assert_true(json_is_integer(json_array_get(dims, 0)));
	assert_int_equal(json_integer_value(json_array_get(dims, 1)), 224);
	assert_string_equal(json_string_value(json_object_get(
		json_array_get(json_object_get(j, "input"), 0), "data_type")), "TYPE_FP32");
	assert_non_null(json_object_get(j, "backend"));
	assert_true(json_is_integer(json_object_get(json_object_get(j, "dynamic_batching"),
						    "max_queue_delay_microseconds")));
	back = model_config_from_json(j, "config", &err);
	assert_non_null(back);
	assert_true(model_config_equal(cfg, back));
	json_decref(j);
	model_config_free(back);

	/* What Model Analyzer sends: int64 as strings, defaults left out. */
	j = model_config_to_json(cfg, SCHEMA_JSON_INT64_STRING);
	dims = json_object_get(json_array_get(json_object_get(j, "input"), 0), "dims");
	assert_true(json_is_string(json_array_get(dims, 0)));
	assert_null(json_object_get(j, "backend"));
	back = model_config_from_json(j, "config", &err);
	assert_non_null(back);
	assert_true(model_config_equal(cfg, back));
	json_decref(j);
	model_config_free(back);
	model_config_free(cfg);
}

static void test_json_text_errors(void **state)
{
	struct it_error err = { 0 };
	struct model_config *cfg;
	const char *ma =
		"{\"name\": \"m\", \"max_batch_size\": 4, \"backend\": \"identity\","
		" \"input\": [{\"name\": \"x\", \"data_type\": \"TYPE_FP32\", \"dims\": [\"16\"]}],"
		" \"dynamic_batching\": {\"max_queue_delay_microseconds\": \"100\"}}";

	(void)state;
	cfg = model_config_from_json_text(ma, strlen(ma), "config", &err);
	assert_non_null(cfg);
	assert_int_equal(cfg->inputs[0].dims[0], 16);
	assert_int_equal(cfg->dynamic_batching.max_queue_delay_us, 100);
	model_config_free(cfg);

	cfg = model_config_from_json_text("{\"name\": ", 9, "config", &err);
	assert_null(cfg);
	assert_int_equal(err.code, IT_ERR_PARSE);
	assert_non_null(strstr(err.message, "invalid JSON"));
	/* An empty text fails at 1:1 (jansson says column 0; found by fuzzing). */
	cfg = model_config_from_json_text("", 0, "config", &err);
	assert_null(cfg);
	assert_int_equal(err.line, 1);
	assert_int_equal(err.col, 1);

	/* Semantic checks apply to JSON too. */
	{
		const char *bad = "{\"max_batch_size\": 2, \"dynamic_batching\": {\"preferred_batch_size\": [4]}}";

		cfg = model_config_from_json_text(bad, strlen(bad), "config", &err);
	}
	assert_null(cfg);
	assert_non_null(strstr(err.message, "preferred_batch_size 4"));
}

static void test_edits(void **state)
{
	struct it_error err = { 0 };
	struct model_config *cfg = parse(resnet, &err);
	struct model_config *copy;
	const int32_t pref[] = { 16, 32 };
	const int32_t gpus[] = { 0 };
	struct strbuf sb;

	(void)state;
	assert_non_null(cfg);
	copy = model_config_clone(cfg);
	assert_true(model_config_equal(cfg, copy));

	assert_int_equal(model_config_set_max_batch_size(copy, 32, &err), 0);
	assert_int_equal(copy->max_batch_size, 32);
	assert_int_equal(model_config_set_dynamic_batching(copy, pref, 2, 500, &err), 0);
	assert_int_equal(copy->dynamic_batching.n_preferred_batch_size, 2);
	assert_int_equal(copy->dynamic_batching.preferred_batch_size[0], 16);
	assert_int_equal(copy->dynamic_batching.max_queue_delay_us, 500);
	/* The other dynamic batching fields are kept. */
	assert_int_equal(copy->dynamic_batching.default_queue_policy.max_queue_size, 16);
	assert_int_equal(model_config_set_instance_group(copy, INSTANCE_KIND_GPU, 3,
							 gpus, 1, &err), 0);
	assert_int_equal(copy->n_instance_groups, 1);
	assert_int_equal(copy->instance_groups[0].count, 3);
	assert_int_equal(copy->instance_groups[0].kind, INSTANCE_KIND_GPU);
	assert_int_equal(model_config_set_parameter(copy, "INTRA_OP_THREAD_COUNT", "4", &err), 0);
	assert_string_equal(model_config_parameter(copy, "INTRA_OP_THREAD_COUNT"), "4");
	assert_int_equal(copy->n_parameters, 2);
	assert_int_equal(model_config_set_parameter(copy, "DISABLE_OPTIMIZED_EXECUTION", NULL, &err), 0);
	assert_int_equal(copy->n_parameters, 1);
	assert_int_equal(model_config_set_name(copy, "resnet50_config_1", &err), 0);
	assert_string_equal(copy->name, "resnet50_config_1");
	/* The original is untouched by edits of its copy. */
	assert_int_equal(cfg->max_batch_size, 8);
	assert_false(model_config_equal(cfg, copy));

	/* An edit that breaks a rule is refused and changes nothing. */
	strbuf_init(&sb, 0);
	model_config_print(copy, &sb);
	assert_int_equal(model_config_set_max_batch_size(copy, 8, &err), IT_ERR_INVALID);
	assert_non_null(strstr(err.message, "preferred_batch_size 16"));
	assert_int_equal(copy->max_batch_size, 32);
	{
		struct strbuf after;

		strbuf_init(&after, 0);
		model_config_print(copy, &after);
		assert_string_equal(sb.buf, after.buf);
		strbuf_release(&after);
	}
	assert_int_equal(model_config_set_instance_group(copy, INSTANCE_KIND_CPU, 0, NULL, 0, &err), 0);
	/* count 0 is the proto3 default: it prints as nothing and means 1. */
	assert_int_equal(copy->instance_groups[0].count, 1);
	assert_int_equal(model_config_set_instance_group(copy, INSTANCE_KIND_CPU, -1, NULL, 0, &err),
			 IT_ERR_INVALID);
	assert_int_equal(model_config_set_instance_group(copy, INSTANCE_KIND_CPU, 1, gpus, 1, &err),
			 IT_ERR_INVALID);
	assert_int_equal(model_config_clear_dynamic_batching(copy, &err), 0);
	assert_false(copy->has_dynamic_batching);
	assert_int_equal(model_config_set_max_batch_size(copy, 0, &err), 0);
	strbuf_release(&sb);
	model_config_free(copy);
	model_config_free(cfg);
}

static void test_write_and_load_file(void **state)
{
	struct it_error err = { 0 };
	char dir[] = "/tmp/infertune-cfg-XXXXXX";
	struct model_config *cfg = parse(resnet, &err);
	struct model_config *back;
	char *path;

	(void)state;
	assert_non_null(mkdtemp(dir));
	path = fs_join(dir, "config.pbtxt");
	assert_int_equal(model_config_write_file(cfg, path, &err), 0);
	back = model_config_load_file(path, &err);
	assert_non_null(back);
	assert_true(model_config_equal(cfg, back));
	model_config_free(back);
	unlink(path);
	back = model_config_load_file(path, &err);
	assert_null(back);
	assert_int_equal(err.code, IT_ERR_NOT_FOUND);
	assert_string_equal(err.file, path);
	free(path);
	rmdir(dir);
	model_config_free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_typed_view),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_semantic_errors),
		cmocka_unit_test(test_reshape_rules),
		cmocka_unit_test(test_unsupported_is_not_an_error),
		cmocka_unit_test(test_print_round_trip),
		cmocka_unit_test(test_json_round_trip),
		cmocka_unit_test(test_json_text_errors),
		cmocka_unit_test(test_edits),
		cmocka_unit_test(test_write_and_load_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
