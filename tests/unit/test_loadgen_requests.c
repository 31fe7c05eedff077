/*
 * Unit tests for loadgen/target and loadgen/requests: model metadata and
 * statistics parsing, --shape, the request bodies (binary tensor extension
 * and JSON), perf_analyzer's input-data JSON format, and the messages for
 * variable dimensions, wrong shapes and bad data files.
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

#include <jansson.h>

#include "loadgen/requests.h"
#include "loadgen/target.h"
#include "util/error.h"

static const char meta_fixed[] =
	"{\"name\":\"m\",\"versions\":[\"1\",\"3\"],\"platform\":\"sim\","
	"\"inputs\":[{\"name\":\"INPUT0\",\"datatype\":\"FP32\",\"shape\":[-1,4]},"
	"{\"name\":\"IDS\",\"datatype\":\"INT64\",\"shape\":[-1,2]}],"
	"\"outputs\":[{\"name\":\"OUT\",\"datatype\":\"FP32\",\"shape\":[-1,4]}]}";
static const char config_batch8[] =
	"{\"name\":\"m\",\"max_batch_size\":8,\"input\":[{\"name\":\"IDS\",\"optional\":false}]}";

static const char meta_var[] =
	"{\"name\":\"v\",\"versions\":[\"1\"],\"platform\":\"x\","
	"\"inputs\":[{\"name\":\"TEXT\",\"datatype\":\"BYTES\",\"shape\":[-1]},"
	"{\"name\":\"IMG\",\"datatype\":\"UINT8\",\"shape\":[3,-1,-1]}],"
	"\"outputs\":[{\"name\":\"Y\",\"datatype\":\"FP32\",\"shape\":[1]}]}";
static const char config_nobatch[] = "{\"name\":\"v\",\"max_batch_size\":0}";

static struct target_model *parse_model(const char *meta, const char *config)
{
	struct target_model *m = NULL;
	struct it_error err = { 0 };

	if (target_model_parse(meta, strlen(meta), config,
			       config ? strlen(config) : 0, &m, &err))
		fail_msg("parse: %s", err.message);
	return m;
}

/* Splits a body: the JSON header as a jansson object, the blobs after it. */
static json_t *body_header(const struct request_body *b)
{
	json_error_t jerr;
	json_t *h = json_loadb(b->data, b->header_len, 0, &jerr);

	if (!h)
		fail_msg("header is not JSON: %s", jerr.text);
	return h;
}

static void test_target_parse(void **state)
{
	struct target_model *m = parse_model(meta_fixed, config_batch8);
	struct target_model *bad = NULL;
	struct it_error err = { 0 };

	(void)state;
	assert_string_equal(m->name, "m");
	assert_int_equal(m->n_versions, 2);
	assert_string_equal(m->versions[1], "3");
	assert_int_equal(m->max_batch_size, 8);
	assert_int_equal(m->n_inputs, 2);
	assert_int_equal(m->inputs[1].datatype, DATATYPE_INT64);
	assert_int_equal(m->inputs[0].shape[0], -1);
	assert_non_null(target_model_input(m, "IDS"));
	assert_null(target_model_input(m, "NOPE"));
	target_model_free(m);

	assert_int_equal(target_model_parse("nope", 4, NULL, 0, &bad, &err), IT_ERR_PARSE);
	{
		const char *t = "{\"name\":\"a\",\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP99\",\"shape\":[1]}],\"outputs\":[]}";

		assert_int_equal(target_model_parse(t, strlen(t), NULL, 0, &bad, &err),
				 IT_ERR_INVALID);
	}
	assert_non_null(strstr(err.message, "unknown datatype 'FP99'"));
	assert_int_equal(target_model_parse("{\"name\":\"a\",\"outputs\":[]}", 25, NULL, 0,
					    &bad, &err), IT_ERR_INVALID);
	assert_non_null(strstr(err.message, "'inputs'"));
	assert_null(bad);
}

static void test_stats_parse(void **state)
{
	const char *json =
		"{\"model_stats\":[{\"name\":\"m\",\"version\":\"1\",\"inference_count\":64,"
		"\"execution_count\":2,\"inference_stats\":{\"success\":{\"count\":64,\"ns\":123},"
		"\"fail\":{\"count\":1,\"ns\":5},\"queue\":{\"count\":64,\"ns\":456},"
		"\"compute_input\":{\"count\":64,\"ns\":1},\"compute_infer\":{\"count\":64,\"ns\":2},"
		"\"compute_output\":{\"count\":64,\"ns\":3},\"cache_hit\":{\"count\":0,\"ns\":0},"
		"\"cache_miss\":{\"count\":0,\"ns\":0}}},"
		"{\"name\":\"other\",\"version\":\"1\"},"
		"{\"name\":\"m\",\"version\":\"2\",\"inference_count\":\"7\"}]}";
	struct remote_stats s[4], d;
	size_t n = 0;
	struct it_error err = { 0 };

	(void)state;
	assert_int_equal(remote_stats_parse(json, strlen(json), "m", s, 4, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_string_equal(s[0].version, "1");
	assert_int_equal(s[0].inference_count, 64);
	assert_int_equal(s[0].execution_count, 2);
	assert_int_equal(s[0].queue_ns, 456);
	assert_int_equal(s[0].compute_output_ns, 3);
	assert_int_equal(s[0].fail_count, 1);
	/* 64-bit counters as strings (Model Analyzer's style) are read too. */
	assert_int_equal(s[1].inference_count, 7);
	remote_stats_delta(&s[1], &s[0], &d);
	assert_int_equal(d.inference_count, 57);
	assert_int_equal(d.queue_ns, 456);
	remote_stats_delta(&s[0], &s[1], &d);   /* counters went back: 0 */
	assert_int_equal(d.inference_count, 0);
	remote_stats_add(&d, &s[0]);
	assert_int_equal(d.success_count, 64);
	assert_int_equal(remote_stats_parse("{}", 2, "m", s, 4, &n, &err), IT_ERR_INVALID);
	assert_int_equal(remote_stats_parse("[", 1, "m", s, 4, &n, &err), IT_ERR_PARSE);
}

static void test_shape_parse(void **state)
{
	struct input_shape s;
	struct it_error err = { 0 };

	(void)state;
	assert_int_equal(input_shape_parse("IMG:3,224,224", &s, &err), 0);
	assert_string_equal(s.name, "IMG");
	assert_int_equal(s.n_dims, 3);
	assert_int_equal(s.dims[2], 224);
	/* Names may hold ':'; the last one separates the dims. */
	assert_int_equal(input_shape_parse("ns:in:7", &s, &err), 0);
	assert_string_equal(s.name, "ns:in");
	assert_int_equal(s.dims[0], 7);
	assert_int_equal(input_shape_parse("IMG", &s, &err), IT_ERR_INVALID);
	assert_int_equal(input_shape_parse(":3", &s, &err), IT_ERR_INVALID);
	assert_int_equal(input_shape_parse("IMG:", &s, &err), IT_ERR_INVALID);
	assert_int_equal(input_shape_parse("IMG:3,0", &s, &err), IT_ERR_INVALID);
	assert_int_equal(input_shape_parse("IMG:3,-1", &s, &err), IT_ERR_INVALID);
	assert_int_equal(input_shape_parse("IMG:3,,4", &s, &err), IT_ERR_INVALID);
	assert_int_equal(input_shape_parse("IMG:3x4", &s, &err), IT_ERR_INVALID);
	assert_non_null(strstr(err.message, "IMG:3x4"));
}

static void test_binary_body(void **state)
{
	struct target_model *m = parse_model(meta_fixed, config_batch8);
	struct request_options o = { 0 };
	struct request_set *rs = NULL;
	struct it_error err = { 0 };
	json_t *h, *in0;

	(void)state;
	o.batch_size = 2;
	o.data = INPUT_DATA_ZERO;
	assert_int_equal(request_set_build(m, &o, &rs, &err), 0);
	assert_int_equal(rs->n_bodies, 1);
	assert_true(rs->binary);
	assert_string_equal(rs->shapes_text, "INPUT0 [2,4], IDS [2,2]");
	h = body_header(&rs->bodies[0]);
	in0 = json_array_get(json_object_get(h, "inputs"), 0);
	assert_string_equal(json_string_value(json_object_get(in0, "name")), "INPUT0");
	assert_string_equal(json_string_value(json_object_get(in0, "datatype")), "FP32");
	assert_int_equal(json_integer_value(json_array_get(json_object_get(in0, "shape"), 0)), 2);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(in0, "parameters"),
							   "binary_data_size")), 32);
	assert_true(json_is_true(json_object_get(json_object_get(
		json_array_get(json_object_get(h, "outputs"), 0), "parameters"), "binary_data")));
	/* header + 2*4*4 (FP32) + 2*2*8 (INT64) bytes of zeros */
	assert_int_equal(rs->bodies[0].len, rs->bodies[0].header_len + 32 + 32);
	for (size_t i = rs->bodies[0].header_len; i < rs->bodies[0].len; i++)
		assert_int_equal(rs->bodies[0].data[i], 0);
	json_decref(h);
	request_set_free(rs);

	/* Random data: the same seed builds the same bytes; floats in [0, 1). */
	{
		struct request_set *a = NULL, *b = NULL;
		size_t hl;

		o.data = INPUT_DATA_RANDOM;
		o.seed = 5;
		assert_int_equal(request_set_build(m, &o, &a, &err), 0);
		assert_int_equal(request_set_build(m, &o, &b, &err), 0);
		assert_int_equal(a->bodies[0].len, b->bodies[0].len);
		assert_memory_equal(a->bodies[0].data, b->bodies[0].data, a->bodies[0].len);
		hl = a->bodies[0].header_len;
		for (int i = 0; i < 8; i++) {
			float f;

			memcpy(&f, a->bodies[0].data + hl + 4 * i, 4);
			assert_true(f >= 0 && f < 1);
		}
		request_set_free(a);
		request_set_free(b);
	}
	target_model_free(m);
}

static void test_json_body(void **state)
{
	struct target_model *m = parse_model(meta_fixed, config_batch8);
	struct request_options o = { 0 };
	struct request_set *rs = NULL;
	struct it_error err = { 0 };
	json_t *h, *in1, *data;

	(void)state;
	o.batch_size = 1;
	o.data = INPUT_DATA_ZERO;
	o.input_json = true;
	o.output_json = true;
	assert_int_equal(request_set_build(m, &o, &rs, &err), 0);
	assert_false(rs->binary);
	/* Pure JSON: the header is the whole body. */
	assert_int_equal(rs->bodies[0].len, rs->bodies[0].header_len);
	h = body_header(&rs->bodies[0]);
	in1 = json_array_get(json_object_get(h, "inputs"), 1);
	data = json_object_get(in1, "data");
	assert_int_equal(json_array_size(data), 2);
	assert_true(json_is_integer(json_array_get(data, 0)));
	assert_null(json_object_get(in1, "parameters"));
	assert_true(json_is_false(json_object_get(json_object_get(
		json_array_get(json_object_get(h, "outputs"), 0), "parameters"), "binary_data")));
	json_decref(h);
	request_set_free(rs);
	target_model_free(m);
}

static void test_shape_errors(void **state)
{
	struct target_model *m = parse_model(meta_var, config_nobatch);
	struct request_options o = { 0 };
	struct request_set *rs = NULL;
	struct it_error err = { 0 };
	struct input_shape shapes[2];

	(void)state;
	o.batch_size = 1;
	/* Variable dims and no --shape: the message names the input and the fix. */
	assert_int_equal(request_set_build(m, &o, &rs, &err), IT_ERR_INVALID);
	assert_non_null(strstr(err.message, "input 'TEXT'"));
	assert_non_null(strstr(err.message, "--shape TEXT:"));
	input_shape_parse("TEXT:5", &shapes[0], NULL);
	o.shapes = shapes;
	o.n_shapes = 1;
	assert_int_equal(request_set_build(m, &o, &rs, &err), IT_ERR_INVALID);
	assert_non_null(strstr(err.message, "input 'IMG'"));
	assert_non_null(strstr(err.message, "[3,-1,-1]"));
	/* Wrong rank */
	input_shape_parse("IMG:224,224", &shapes[1], NULL);
	o.n_shapes = 2;
	assert_int_equal(request_set_build(m, &o, &rs, &err), IT_ERR_INVALID);
	assert_non_null(strstr(err.message, "'IMG' has 3 dimension(s)"));
	/* A fixed dim that disagrees */
	input_shape_parse("IMG:4,8,8", &shapes[1], NULL);
	assert_int_equal(request_set_build(m, &o, &rs, &err), IT_ERR_INVALID);
	assert_non_null(strstr(err.message, "fixed at 3, not 4"));
	/* Unknown input */
	input_shape_parse("IMAGE:3,8,8", &shapes[1], NULL);
	assert_int_equal(request_set_build(m, &o, &rs, &err), IT_ERR_INVALID);
	assert_non_null(strstr(err.message, "no such input"));
	assert_non_null(strstr(err.message, "'IMG'"));
	/* Right */
	input_shape_parse("IMG:3,8,8", &shapes[1], NULL);
	o.string_length = 10;
	assert_int_equal(request_set_build(m, &o, &rs, &err), 0);
	assert_string_equal(rs->shapes_text, "TEXT [5], IMG [3,8,8]");
	/* 5 strings of 4 + 10 bytes, 192 UINT8 */
	assert_int_equal(rs->bodies[0].len - rs->bodies[0].header_len, 5 * 14 + 192);
	request_set_free(rs);
	/* Batching a model that does not batch */
	o.batch_size = 4;
	assert_int_equal(request_set_build(m, &o, &rs, &err), IT_ERR_INVALID);
	assert_non_null(strstr(err.message, "does not batch"));
	target_model_free(m);

	m = parse_model(meta_fixed, config_batch8);
	o.shapes = NULL;
	o.n_shapes = 0;
	o.batch_size = 9;
	assert_int_equal(request_set_build(m, &o, &rs, &err), IT_ERR_INVALID);
	assert_non_null(strstr(err.message, "max_batch_size 8"));
	target_model_free(m);
}

static char *write_temp(const char *text)
{
	char *path = strdup("/tmp/test_loadgen_requests.XXXXXX");
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w");

	fputs(text, f);
	fclose(f);
	return path;
}

static int build_from_file(const char *meta, const char *config, const char *text,
			   int64_t batch, struct request_set **rs, struct it_error *err)
{
	struct target_model *m = parse_model(meta, config);
	struct request_options o = { 0 };
	char *path = write_temp(text);
	int rc;

	o.batch_size = batch;
	o.data = INPUT_DATA_FILE;
	o.data_file = path;
	rc = request_set_build(m, &o, rs, err);
	unlink(path);
	free(path);
	target_model_free(m);
	return rc;
}

static void test_data_file(void **state)
{
	/* Three steps: nested arrays, content+shape, b64 (16 bytes = 4 FP32). */
	const char *text =
		"{\"data\":[{\"INPUT0\":[[1,2],[3,4]],\"IDS\":[5,6]},"
		"{\"INPUT0\":{\"content\":[5,6,7,8],\"shape\":[4]},\"IDS\":[7,8]},"
		"{\"INPUT0\":{\"b64\":\"AACAPwAAAEAAAEBAAACAQA==\"},\"IDS\":[9,10]}]}";
	struct request_set *rs = NULL;
	struct it_error err = { 0 };
	float f[4];
	int64_t ids[2];

	(void)state;
	assert_int_equal(build_from_file(meta_fixed, config_batch8, text, 1, &rs, &err), 0);
	assert_int_equal(rs->n_bodies, 3);
	memcpy(f, rs->bodies[1].data + rs->bodies[1].header_len, 16);
	assert_true(f[0] == 5 && f[3] == 8);
	memcpy(ids, rs->bodies[1].data + rs->bodies[1].header_len + 16, 16);
	assert_true(ids[0] == 7 && ids[1] == 8);
	memcpy(f, rs->bodies[2].data + rs->bodies[2].header_len, 16);
	assert_true(f[0] == 1 && f[1] == 2 && f[2] == 3 && f[3] == 4);
	request_set_free(rs);

	/* Batch 2 over 3 steps: bodies start at steps 0, 2, 1 (3 distinct). */
	assert_int_equal(build_from_file(meta_fixed, config_batch8, text, 2, &rs, &err), 0);
	assert_int_equal(rs->n_bodies, 3);
	memcpy(f, rs->bodies[1].data + rs->bodies[1].header_len, 16);
	assert_true(f[0] == 1);         /* step 2 (b64) first */
	memcpy(f, rs->bodies[1].data + rs->bodies[1].header_len + 16, 16);
	assert_true(f[0] == 1 && f[3] == 4);    /* then step 0 */
	request_set_free(rs);
}

static void expect_file_error(const char *meta, const char *config, const char *text,
			      int code, const char *needle)
{
	struct request_set *rs = NULL;
	struct it_error err = { 0 };

	assert_int_equal(build_from_file(meta, config, text, 1, &rs, &err), code);
	if (!strstr(err.message, needle))
		fail_msg("'%s': message '%s' lacks '%s'", text, err.message, needle);
	assert_null(rs);
}

static void test_data_file_errors(void **state)
{
	struct request_set *none = NULL;
	struct it_error at = { 0 };

	(void)state;
	expect_file_error(meta_fixed, config_batch8, "{\"data\": [", IT_ERR_PARSE, "");
	/* The text ends at the start of line 2: jansson's column 0 is column 1 there. */
	assert_int_equal(build_from_file(meta_fixed, config_batch8, "{\"data\": [\n", 1, &none,
					 &at), IT_ERR_PARSE);
	assert_int_equal(at.line, 2);
	assert_int_equal(at.col, 1);
	expect_file_error(meta_fixed, config_batch8, "{\"steps\": []}", IT_ERR_INVALID,
			  "expected {\"data\"");
	expect_file_error(meta_fixed, config_batch8, "{\"data\": []}", IT_ERR_INVALID,
			  "at least one step");
	expect_file_error(meta_fixed, config_batch8,
			  "{\"data\":[{\"INPUT0\":[1,2,3],\"IDS\":[1,2]}]}", IT_ERR_INVALID,
			  "3 values given, shape [4] needs 4");
	expect_file_error(meta_fixed, config_batch8,
			  "{\"data\":[{\"INPUT0\":[1,2,3,4]}]}", IT_ERR_INVALID,
			  "no data for input 'IDS'");
	expect_file_error(meta_fixed, config_batch8,
			  "{\"data\":[{\"INPUT0\":[1,2,3,4],\"IDS\":[1,2],\"X\":[1]}]}",
			  IT_ERR_INVALID, "gives input 'X'");
	expect_file_error(meta_fixed, config_batch8,
			  "{\"data\":[{\"INPUT0\":[1,2,3,4],\"IDS\":[1.5,2]}]}",
			  IT_ERR_INVALID, "does not fit INT64");
	expect_file_error(meta_fixed, config_batch8,
			  "{\"data\":[{\"INPUT0\":[1,2,3,\"x\"],\"IDS\":[1,2]}]}",
			  IT_ERR_INVALID, "value 3 does not fit FP32");
	expect_file_error(meta_fixed, config_batch8,
			  "{\"data\":[{\"INPUT0\":{\"b64\":\"!!\"},\"IDS\":[1,2]}]}",
			  IT_ERR_INVALID, "not base64");
	expect_file_error(meta_fixed, config_batch8,
			  "{\"data\":[{\"INPUT0\":{\"b64\":\"AAAA\"},\"IDS\":[1,2]}]}",
			  IT_ERR_INVALID, "holds 3 bytes; shape needs 16");
	expect_file_error(meta_fixed, config_batch8,
			  "{\"data\":[[{\"INPUT0\":[1,2,3,4]}]]}", IT_ERR_UNSUPPORTED,
			  "sequence streams");
	expect_file_error(meta_fixed, config_batch8,
			  "{\"data\":[{\"INPUT0\":{\"shape\":[4]},\"IDS\":[1,2]}]}",
			  IT_ERR_INVALID, "needs \"content\" or \"b64\"");
	/* Variable dims come from the step's "shape"; without it, the usual message. */
	expect_file_error(meta_var, config_nobatch,
			  "{\"data\":[{\"TEXT\":[\"a\",\"b\"],\"IMG\":[1]}]}",
			  IT_ERR_INVALID, "input 'TEXT' has variable dimensions");
	expect_file_error(meta_var, config_nobatch,
			  "{\"data\":[{\"TEXT\":{\"content\":[\"a\",1],\"shape\":[2]},"
			  "\"IMG\":{\"content\":[1,2,3],\"shape\":[3,1,1]}}]}",
			  IT_ERR_INVALID, "must be a string");
	{
		struct request_set *rs = NULL;
		struct it_error err = { 0 };

		assert_int_equal(build_from_file(meta_var, config_nobatch,
						 "{\"data\":[{\"TEXT\":{\"content\":[\"ab\",\"c\"],\"shape\":[2]},"
						 "\"IMG\":{\"content\":[1,2,3],\"shape\":[3,1,1]}}]}",
						 1, &rs, &err), 0);
		/* 4+2 + 4+1 bytes of strings, then 3 UINT8 */
		assert_int_equal(rs->bodies[0].len - rs->bodies[0].header_len, 11 + 3);
		request_set_free(rs);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_target_parse),
		cmocka_unit_test(test_stats_parse),
		cmocka_unit_test(test_shape_parse),
		cmocka_unit_test(test_binary_body),
		cmocka_unit_test(test_json_body),
		cmocka_unit_test(test_shape_errors),
		cmocka_unit_test(test_data_file),
		cmocka_unit_test(test_data_file_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
