/*
 * Unit tests for model/schema: the ModelConfig descriptor tables checked
 * against model_config.proto, text normalisation with its error positions,
 * and the JSON mapping in Triton's and Model Analyzer's styles.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "model/schema.h"
#include "pbtxt/pbtxt.h"
#include "util/error.h"
#include "util/strbuf.h"

/* ------------------------------------------------------------ helpers */

static struct pbtxt_node *parse_ok(const char *text)
{
	struct it_error err = { 0 };
	struct pbtxt_node *root = pbtxt_parse(text, strlen(text), "config.pbtxt", &err);

	if (!root)
		print_message("parse failed: %d:%d: %s\n", err.line, err.col,
			      err.message);
	assert_non_null(root);
	return root;
}

/* Parsed and normalised tree; the test fails if either step does. */
static struct pbtxt_node *norm_ok(const char *text)
{
	struct it_error err = { 0 };
	struct pbtxt_node *root = parse_ok(text);
	int rc = schema_normalize(root, &pb_ModelConfig, "config.pbtxt", &err);

	if (rc)
		print_message("normalize failed: %d:%d: %s\n", err.line, err.col,
			      err.message);
	assert_int_equal(rc, 0);
	return root;
}

static char *print_tree(const struct pbtxt_node *root)
{
	struct strbuf sb;

	strbuf_init(&sb, 0);
	assert_int_equal(pbtxt_print(root, &sb), 0);
	return strbuf_detach(&sb, NULL);
}

/* Asserts that text normalises to exactly `expected` (canonical print). */
static void assert_canonical(const char *text, const char *expected)
{
	struct pbtxt_node *root = norm_ok(text);
	char *got = print_tree(root);

	assert_string_equal(got, expected);
	free(got);
	pbtxt_node_free(root);
}

/* Asserts that normalising text fails with code at line:col, message containing substr. */
static void assert_norm_error(const char *text, int code, int line, int col,
			      const char *substr)
{
	struct it_error err = { 0 };
	struct pbtxt_node *root = parse_ok(text);
	int rc = schema_normalize(root, &pb_ModelConfig, "config.pbtxt", &err);

	if (rc != code || err.line != line || err.col != col ||
	    !strstr(err.message, substr))
		print_message("got rc=%d at %d:%d: %s\nwant %d at %d:%d: ...%s...\n",
			      rc, err.line, err.col, err.message, code, line, col,
			      substr);
	assert_int_equal(rc, code);
	assert_int_equal(err.code, code);
	assert_string_equal(err.file, "config.pbtxt");
	assert_int_equal(err.line, line);
	assert_int_equal(err.col, col);
	assert_non_null(strstr(err.message, substr));
	pbtxt_node_free(root);
}

static json_t *load_json(const char *text)
{
	json_error_t jerr;
	json_t *j = json_loads(text, 0, &jerr);

	if (!j)
		print_message("bad JSON in test: %s\n", jerr.text);
	assert_non_null(j);
	return j;
}

/* Asserts that from_json of text fails with code and the exact message. */
static void assert_json_error(const char *text, int code, const char *message)
{
	struct it_error err = { 0 };
	json_t *j = load_json(text);
	struct pbtxt_node *t = schema_from_json(j, &pb_ModelConfig, "config", &err);

	if (t || strcmp(err.message, message))
		print_message("got %s: %s\nwant: %s\n", t ? "a tree" : "error",
			      err.message, message);
	assert_null(t);
	assert_int_equal(err.code, code);
	assert_string_equal(err.message, message);
	assert_int_equal(err.line, 0);
	json_decref(j);
}

static struct pbtxt_node *from_json_ok(const char *text)
{
	struct it_error err = { 0 };
	json_t *j = load_json(text);
	struct pbtxt_node *t = schema_from_json(j, &pb_ModelConfig, "config", &err);

	if (!t)
		print_message("from_json failed: %s\n", err.message);
	assert_non_null(t);
	json_decref(j);
	return t;
}

static void assert_trees_equal(const struct pbtxt_node *a,
			       const struct pbtxt_node *b)
{
	if (!pbtxt_node_equal(a, b)) {
		char *pa = print_tree(a);
		char *pb = print_tree(b);

		print_message("trees differ:\n--- a\n%s--- b\n%s", pa, pb);
		free(pa);
		free(pb);
	}
	assert_true(pbtxt_node_equal(a, b));
}

/* ---------------------------------------------------- descriptor tables */

#define MAX_DESCS 128

struct desc_walk {
	const struct pb_message *msgs[MAX_DESCS];
	size_t n_msgs;
	const struct pb_enum *enums[MAX_DESCS];
	size_t n_enums;
};

static void walk(struct desc_walk *w, const struct pb_message *m)
{
	for (size_t i = 0; i < w->n_msgs; i++)
		if (w->msgs[i] == m)
			return;
	assert_true(w->n_msgs < MAX_DESCS);
	w->msgs[w->n_msgs++] = m;
	for (size_t i = 0; i < m->n_fields; i++) {
		const struct pb_field *f = &m->fields[i];
		bool seen = false;

		if (f->type == PB_MESSAGE)
			walk(w, f->message);
		if (f->type != PB_ENUM)
			continue;
		for (size_t k = 0; k < w->n_enums; k++)
			seen = seen || w->enums[k] == f->enum_type;
		if (!seen)
			w->enums[w->n_enums++] = f->enum_type;
	}
}

/* protoc's ToJsonName: drop '_' and upper-case the letter after it. */
static void camel(const char *name, char *out, size_t size)
{
	size_t k = 0;
	bool up = false;

	for (const char *p = name; *p && k + 1 < size; p++) {
		if (*p == '_') {
			up = true;
			continue;
		}
		out[k++] = up ? (char)toupper((unsigned char)*p) : *p;
		up = false;
	}
	out[k] = '\0';
}

static void test_descriptor_tables_are_consistent(void **state)
{
	struct desc_walk w = { 0 };

	(void)state;
	walk(&w, &pb_ModelConfig);
	/* 46 messages + 11 synthesised map entries; 9 enums (model_config.proto). */
	assert_int_equal(w.n_msgs, 57);
	assert_int_equal(w.n_enums, 9);

	for (size_t i = 0; i < w.n_msgs; i++) {
		const struct pb_message *m = w.msgs[i];
		size_t oneof_members[8] = { 0 };

		assert_non_null(m->name);
		assert_true(!strncmp(m->name, "inference.", 10));
		assert_true(m->n_oneofs < 8);
		for (size_t k = 0; k < m->n_fields; k++) {
			const struct pb_field *f = &m->fields[k];
			char json[128];

			if (k > 0)
				assert_true(m->fields[k - 1].number < f->number);
			for (size_t j = 0; j < k; j++) {
				assert_string_not_equal(m->fields[j].name, f->name);
				assert_string_not_equal(m->fields[j].json_name, f->json_name);
			}
			assert_true(f->number > 0);
			camel(f->name, json, sizeof(json));
			assert_string_equal(f->json_name, json);
			assert_true((f->type == PB_MESSAGE) == (f->message != NULL));
			assert_true((f->type == PB_ENUM) == (f->enum_type != NULL));
			assert_true(f->oneof >= 0 && (size_t)f->oneof <= m->n_oneofs);
			if (f->oneof) {
				oneof_members[f->oneof]++;
				/* oneof members are never repeated */
				assert_int_equal(f->flags & PB_REPEATED, 0);
			}
			if (f->flags & PB_MAP) {
				const struct pb_message *e = f->message;

				assert_true(f->flags & PB_REPEATED);
				assert_int_equal(f->type, PB_MESSAGE);
				assert_int_equal(e->n_fields, 2);
				assert_string_equal(e->fields[0].name, "key");
				assert_int_equal(e->fields[0].number, 1);
				assert_string_equal(e->fields[1].name, "value");
				assert_int_equal(e->fields[1].number, 2);
				assert_true(e->fields[0].type == PB_STRING ||
					    e->fields[0].type == PB_UINT64);
				assert_int_equal(e->fields[0].flags, 0);
				assert_int_equal(e->fields[1].flags, 0);
			}
		}
		for (size_t o = 1; o <= m->n_oneofs; o++)
			assert_true(oneof_members[o] > 0);
	}
	for (size_t i = 0; i < w.n_enums; i++) {
		const struct pb_enum *e = w.enums[i];

		/* proto3: the first value is the zero default */
		assert_true(e->n_values > 0);
		assert_int_equal(e->values[0].number, 0);
		for (size_t k = 1; k < e->n_values; k++)
			for (size_t j = 0; j < k; j++) {
				assert_string_not_equal(e->values[j].name, e->values[k].name);
				assert_int_not_equal(e->values[j].number, e->values[k].number);
			}
	}
}

static const struct pb_field *field_of(const struct pb_message *m, const char *name)
{
	const struct pb_field *f = pb_message_field(m, name, false);

	if (!f)
		print_message("no field %s in %s\n", name, m->name);
	assert_non_null(f);
	return f;
}

static void assert_field(const struct pb_message *m, const char *name,
			 int number, enum pb_type type, unsigned flags)
{
	const struct pb_field *f = field_of(m, name);

	assert_int_equal(f->number, number);
	assert_int_equal(f->type, type);
	assert_int_equal(f->flags, flags);
}

static void test_descriptor_spot_checks(void **state)
{
	const struct pb_message *mc = &pb_ModelConfig;
	const struct pb_message *input, *group, *db, *sb, *vp, *warmup, *pq, *opt;
	const struct pb_field *f;

	(void)state;
	assert_string_equal(mc->name, "inference.ModelConfig");
	assert_field(mc, "name", 1, PB_STRING, 0);
	assert_field(mc, "version_policy", 3, PB_MESSAGE, 0);
	assert_field(mc, "max_batch_size", 4, PB_INT32, 0);
	assert_field(mc, "input", 5, PB_MESSAGE, PB_REPEATED);
	assert_field(mc, "instance_group", 7, PB_MESSAGE, PB_REPEATED);
	assert_field(mc, "cc_model_filenames", 9, PB_MESSAGE, PB_REPEATED | PB_MAP);
	assert_field(mc, "dynamic_batching", 11, PB_MESSAGE, 0);
	assert_field(mc, "optimization", 12, PB_MESSAGE, 0);
	assert_field(mc, "sequence_batching", 13, PB_MESSAGE, 0);
	assert_field(mc, "parameters", 14, PB_MESSAGE, PB_REPEATED | PB_MAP);
	assert_field(mc, "ensemble_scheduling", 15, PB_MESSAGE, 0);
	assert_field(mc, "model_warmup", 16, PB_MESSAGE, PB_REPEATED);
	assert_field(mc, "backend", 17, PB_STRING, 0);
	assert_field(mc, "batch_input", 20, PB_MESSAGE, PB_REPEATED);
	assert_field(mc, "model_repository_agents", 23, PB_MESSAGE, 0);
	assert_field(mc, "response_cache", 24, PB_MESSAGE, 0);
	assert_field(mc, "runtime", 25, PB_STRING, 0);
	assert_field(mc, "model_metrics", 26, PB_MESSAGE, 0);
	assert_int_equal(mc->n_fields, 25);

	/* parameters: map<string, ModelParameter> */
	f = field_of(mc, "parameters");
	assert_int_equal(f->message->fields[0].type, PB_STRING);
	assert_string_equal(f->message->fields[1].message->name,
			    "inference.ModelParameter");
	assert_field(f->message->fields[1].message, "string_value", 1, PB_STRING, 0);

	/* scheduling_choice */
	assert_int_equal(mc->n_oneofs, 1);
	assert_string_equal(mc->oneofs[0], "scheduling_choice");
	assert_int_equal(field_of(mc, "dynamic_batching")->oneof, 1);
	assert_int_equal(field_of(mc, "sequence_batching")->oneof, 1);
	assert_int_equal(field_of(mc, "ensemble_scheduling")->oneof, 1);
	assert_int_equal(field_of(mc, "optimization")->oneof, 0);

	input = field_of(mc, "input")->message;
	assert_string_equal(input->name, "inference.ModelInput");
	assert_field(input, "dims", 4, PB_INT64, PB_REPEATED);
	assert_field(input, "data_type", 2, PB_ENUM, 0);
	assert_ptr_equal(field_of(input, "data_type")->enum_type, &pb_DataType);
	assert_field(input, "format", 3, PB_ENUM, 0);
	assert_field(input, "is_non_linear_format_io", 9, PB_BOOL, 0);
	assert_field(field_of(mc, "output")->message, "label_filename", 4, PB_STRING, 0);
	assert_field(field_of(mc, "output")->message, "dims", 3, PB_INT64, PB_REPEATED);

	group = field_of(mc, "instance_group")->message;
	assert_field(group, "kind", 4, PB_ENUM, 0);
	assert_field(group, "count", 2, PB_INT32, 0);
	assert_field(group, "gpus", 3, PB_INT32, PB_REPEATED);
	assert_field(group, "secondary_devices", 8, PB_MESSAGE, PB_REPEATED);
	assert_field(field_of(group, "secondary_devices")->message, "device_id", 2,
		     PB_INT64, 0);
	assert_string_equal(pb_enum_by_number(field_of(group, "kind")->enum_type, 3)->name,
			    "KIND_MODEL");

	db = field_of(mc, "dynamic_batching")->message;
	assert_field(db, "max_queue_delay_microseconds", 2, PB_UINT64, 0);
	assert_field(db, "priority_queue_policy", 7, PB_MESSAGE, PB_REPEATED | PB_MAP);
	pq = field_of(db, "priority_queue_policy")->message;
	assert_int_equal(pq->fields[0].type, PB_UINT64);
	assert_string_equal(pq->fields[1].message->name, "inference.ModelQueuePolicy");
	assert_field(pq->fields[1].message, "max_queue_size", 4, PB_UINT32, 0);

	sb = field_of(mc, "sequence_batching")->message;
	assert_string_equal(sb->oneofs[0], "strategy_choice");
	assert_int_equal(field_of(sb, "direct")->number, 3);
	assert_int_equal(field_of(sb, "oldest")->oneof, 1);
	assert_field(field_of(sb, "direct")->message, "minimum_slot_utilization", 2,
		     PB_FLOAT, 0);
	assert_field(field_of(sb, "control_input")->message->fields[1].message,
		     "fp32_false_true", 3, PB_FLOAT, PB_REPEATED);
	assert_field(field_of(sb, "state")->message, "use_growable_memory", 7, PB_BOOL, 0);
	assert_string_equal(field_of(field_of(sb, "state")->message, "initial_state")
				    ->message->oneofs[0],
			    "state_data");

	vp = field_of(mc, "version_policy")->message;
	assert_string_equal(vp->oneofs[0], "policy_choice");
	assert_int_equal(field_of(vp, "latest")->oneof, 1);
	assert_int_equal(field_of(vp, "all")->number, 2);
	assert_int_equal(field_of(vp, "all")->message->n_fields, 0);
	assert_field(field_of(vp, "specific")->message, "versions", 1, PB_INT64,
		     PB_REPEATED);
	assert_field(field_of(vp, "latest")->message, "num_versions", 1, PB_UINT32, 0);

	warmup = field_of(mc, "model_warmup")->message;
	assert_field(warmup, "inputs", 3, PB_MESSAGE, PB_REPEATED | PB_MAP);
	f = &field_of(warmup, "inputs")->message->fields[1];
	assert_string_equal(f->message->oneofs[0], "input_data_type");
	assert_int_equal(field_of(f->message, "random_data")->oneof, 1);

	opt = field_of(mc, "optimization")->message;
	assert_field(opt, "priority", 2, PB_ENUM, 0);
	assert_field(opt, "gather_kernel_buffer_threshold", 7, PB_UINT32, 0);
	assert_field(field_of(opt, "cuda")->message, "graph_spec", 3, PB_MESSAGE,
		     PB_REPEATED);
	assert_field(field_of(field_of(mc, "model_metrics")->message, "metric_control")
			     ->message,
		     "histogram_options", 2, PB_MESSAGE, 0);

	assert_int_equal(pb_DataType.n_values, 15);
	assert_int_equal(pb_enum_by_name(&pb_DataType, "TYPE_BF16", false)->number, 14);
	assert_int_equal(pb_enum_by_name(&pb_DataType, "TYPE_STRING", false)->number, 13);
}

static void test_lookup_functions(void **state)
{
	(void)state;
	assert_ptr_equal(pb_message_field(&pb_ModelConfig, "max_batch_size", false),
			 pb_message_field(&pb_ModelConfig, "maxBatchSize", true));
	assert_null(pb_message_field(&pb_ModelConfig, "maxBatchSize", false));
	assert_null(pb_message_field(&pb_ModelConfig, "max_batch_size", true));
	assert_null(pb_message_field(&pb_ModelConfig, "nope", false));
	assert_null(pb_message_field(NULL, "name", false));
	assert_int_equal(pb_enum_by_name(&pb_DataType, "TYPE_FP32", false)->number, 11);
	assert_null(pb_enum_by_name(&pb_DataType, "type_fp32", false));
	assert_int_equal(pb_enum_by_name(&pb_DataType, "type_fp32", true)->number, 11);
	assert_string_equal(pb_enum_by_number(&pb_DataType, 9)->name, "TYPE_INT64");
	assert_null(pb_enum_by_number(&pb_DataType, 15));
	assert_null(pb_enum_by_number(&pb_DataType, -1));
}

/* -------------------------------------------------------- normalisation */

static void test_normalize_reorders_and_drops_defaults(void **state)
{
	(void)state;
	assert_canonical(
		"instance_group [ { kind: KIND_GPU count: 2 name: \"\" } ]\n"
		"dynamic_batching { }\n"
		"input [ { dims: [ 3, -1 ] name: \"in\" data_type: TYPE_FP32 "
		"optional: false format: FORMAT_NONE } ]\n"
		"max_batch_size: 8\n"
		"backend: \"onnxruntime\"\n"
		"name: \"m\"\n"
		"platform: \"\"\n"
		"optimization { priority: PRIORITY_DEFAULT }\n",
		"name: \"m\"\n"
		"max_batch_size: 8\n"
		"input {\n"
		"  name: \"in\"\n"
		"  data_type: TYPE_FP32\n"
		"  dims: 3\n"
		"  dims: -1\n"
		"}\n"
		"instance_group {\n"
		"  count: 2\n"
		"  kind: KIND_GPU\n"
		"}\n"
		"dynamic_batching {\n"
		"}\n"
		"optimization {\n"
		"}\n"
		"backend: \"onnxruntime\"\n");
	/* max_batch_size: 0 and friends vanish entirely */
	assert_canonical("max_batch_size: 0 name: \"\" runtime: \"\"\n", "");
}

static void test_normalize_repeated_order_kept(void **state)
{
	(void)state;
	/* repeated fields keep their relative order across interleaving */
	assert_canonical("input { name: \"b\" } output { name: \"o\" } input { name: \"a\" }\n"
			 "input { name: \"c\" dims: 0 dims: 0 }\n",
			 "input {\n  name: \"b\"\n}\n"
			 "input {\n  name: \"a\"\n}\n"
			 "input {\n  name: \"c\"\n  dims: 0\n  dims: 0\n}\n"
			 "output {\n  name: \"o\"\n}\n");
}

static void test_normalize_integers(void **state)
{
	(void)state;
	assert_canonical("max_batch_size: 0x10\n", "max_batch_size: 16\n");
	assert_canonical("max_batch_size: 017\n", "max_batch_size: 15\n");
	assert_canonical("max_batch_size: -0x7fffffff\n", "max_batch_size: -2147483647\n");
	assert_canonical("max_batch_size: -2147483648\n", "max_batch_size: -2147483648\n");
	assert_canonical("max_batch_size: 00\n", "");
	assert_canonical("input { dims: [ 0x1F, -017, -1, 9223372036854775807, "
			 "-9223372036854775808 ] }\n",
			 "input {\n  dims: 31\n  dims: -15\n  dims: -1\n"
			 "  dims: 9223372036854775807\n  dims: -9223372036854775808\n}\n");
	assert_canonical("dynamic_batching { max_queue_delay_microseconds: "
			 "18446744073709551615 }\n",
			 "dynamic_batching {\n"
			 "  max_queue_delay_microseconds: 18446744073709551615\n}\n");
	assert_canonical("version_policy { latest { num_versions: 0xFFFFFFFF } }\n",
			 "version_policy {\n  latest {\n    num_versions: 4294967295\n  }\n}\n");
}

static void test_normalize_enums_and_bools(void **state)
{
	(void)state;
	assert_canonical("input { data_type: 11 format: 2 }\n"
			 "instance_group { kind: 0x2 }\n",
			 "input {\n  data_type: TYPE_FP32\n  format: FORMAT_NCHW\n}\n"
			 "instance_group {\n  kind: KIND_CPU\n}\n");
	/* the zero value given as a number is still the default */
	assert_canonical("input { data_type: 0 }\n", "input {\n}\n");
	assert_canonical("input { is_shape_tensor: True optional: t "
			 "allow_ragged_batch: 1 is_non_linear_format_io: False }\n"
			 "model_transaction_policy { decoupled: f }\n"
			 "response_cache { enable: true }\n",
			 "input {\n  is_shape_tensor: true\n  allow_ragged_batch: true\n"
			 "  optional: true\n}\n"
			 "model_transaction_policy {\n}\n"
			 "response_cache {\n  enable: true\n}\n");
	/* repeated bools keep false */
	assert_canonical("sequence_batching { control_input { control { "
			 "bool_false_true: [ 0, True ] } } }\n",
			 "sequence_batching {\n  control_input {\n    control {\n"
			 "      bool_false_true: false\n      bool_false_true: true\n"
			 "    }\n  }\n}\n");
}

static void assert_direct_slot(const char *value, const char *canonical)
{
	char in[256];
	char want[256];

	snprintf(in, sizeof(in),
		 "sequence_batching { direct { minimum_slot_utilization: %s } }\n", value);
	if (canonical)
		snprintf(want, sizeof(want),
			 "sequence_batching {\n  direct {\n"
			 "    minimum_slot_utilization: %s\n  }\n}\n",
			 canonical);
	else
		snprintf(want, sizeof(want), "sequence_batching {\n  direct {\n  }\n}\n");
	assert_canonical(in, want);
}

static void assert_bucket(const char *value, const char *canonical)
{
	char in[256];
	char want[256];

	snprintf(in, sizeof(in),
		 "model_metrics { metric_control { histogram_options { buckets: %s } } }\n",
		 value);
	snprintf(want, sizeof(want),
		 "model_metrics {\n  metric_control {\n    histogram_options {\n"
		 "      buckets: %s\n    }\n  }\n}\n",
		 canonical);
	assert_canonical(in, want);
}

static void test_normalize_floats(void **state)
{
	struct pbtxt_node *t;

	(void)state;
	/* float field: shortest text at float precision, Python repr layout */
	assert_direct_slot("0.5", "0.5");
	assert_direct_slot("2", "2.0");
	assert_direct_slot("1.5f", "1.5");
	assert_direct_slot("0.1", "0.1");
	assert_direct_slot("0.1F", "0.1");
	assert_direct_slot(".25", "0.25");
	assert_direct_slot("1e-5", "1e-05");
	assert_direct_slot("0.0001", "0.0001");
	assert_direct_slot("1e20", "1e+20");
	assert_direct_slot("1234567", "1234567.0");
	assert_direct_slot("16777217", "16777216.0");
	assert_direct_slot("0x10", "16.0");
	assert_direct_slot("3.4028235e38", "3.4028235e+38");
	assert_direct_slot("1e39", "inf"); /* beyond float: infinity, as protobuf */
	assert_direct_slot("inf", "inf");
	assert_direct_slot("-Infinity", "-inf");
	assert_direct_slot("NaN", "nan");
	assert_direct_slot("-nan", "nan");
	assert_direct_slot("-0.5", "-0.5");
	assert_direct_slot("0.0", NULL); /* default */
	assert_direct_slot("0", NULL);
	assert_direct_slot("-0.0", "-0.0"); /* not the default: bits differ */
	/* double field: double precision */
	assert_bucket("0.1", "0.1");
	assert_bucket("1e16", "1e+16");
	assert_bucket("123456789012345678", "1.2345678901234568e+17");
	assert_bucket("1000000000000000", "1000000000000000.0");
	assert_bucket("0.30000000000000004", "0.30000000000000004");
	assert_bucket("5e-324", "5e-324");
	assert_bucket("0", "0.0"); /* repeated: defaults kept */

	/* inf/nan are identifiers, -inf a number, as pbtxt_parse() reads them */
	t = norm_ok("model_metrics { metric_control { histogram_options { "
		    "buckets: [ inf, -inf, nan, 1 ] } } }\n");
	{
		const struct pbtxt_node *h =
			t->children[0]->children[0]->children[0];

		assert_int_equal(h->n_children, 4);
		assert_int_equal(h->children[0]->kind, PBTXT_IDENT);
		assert_int_equal(h->children[1]->kind, PBTXT_NUMBER);
		assert_int_equal(h->children[2]->kind, PBTXT_IDENT);
		assert_int_equal(h->children[3]->kind, PBTXT_NUMBER);
		assert_string_equal(h->children[3]->value, "1.0");
	}
	pbtxt_node_free(t);
}

static void test_normalize_maps(void **state)
{
	(void)state;
	/* entries sorted by key, key before value, missing parts completed */
	assert_canonical(
		"parameters { value { string_value: \"z\" } key: \"b\" }\n"
		"parameters { key: \"a\" }\n"
		"parameters { value { string_value: \"\" } }\n"
		"parameters [ { key: \"B\" value: { string_value: \"1\" } } ]\n",
		"parameters {\n  key: \"\"\n  value {\n  }\n}\n"
		"parameters {\n  key: \"B\"\n  value {\n    string_value: \"1\"\n  }\n}\n"
		"parameters {\n  key: \"a\"\n  value {\n  }\n}\n"
		"parameters {\n  key: \"b\"\n  value {\n    string_value: \"z\"\n  }\n}\n");
	/* integer keys sort numerically; scalar values keep their defaults */
	assert_canonical(
		"dynamic_batching {\n"
		"  priority_queue_policy { key: 10 value { max_queue_size: 5 } }\n"
		"  priority_queue_policy { key: 0x2 value { timeout_action: DELAY } }\n"
		"  priority_queue_policy { value { } }\n"
		"  max_queue_delay_microseconds: 100\n"
		"}\n"
		"metric_tags { key: \"k\" }\n",
		"metric_tags {\n  key: \"k\"\n  value: \"\"\n}\n"
		"dynamic_batching {\n"
		"  max_queue_delay_microseconds: 100\n"
		"  priority_queue_policy {\n    key: 0\n    value {\n    }\n  }\n"
		"  priority_queue_policy {\n    key: 2\n    value {\n"
		"      timeout_action: DELAY\n    }\n  }\n"
		"  priority_queue_policy {\n    key: 10\n    value {\n"
		"      max_queue_size: 5\n    }\n  }\n"
		"}\n");
}

static void test_normalize_oneof_presence(void **state)
{
	(void)state;
	/* oneof members keep default values: being set is what matters */
	assert_canonical(
		"model_warmup { name: \"w\" batch_size: 1 inputs { key: \"x\" value { "
		"dims: 4 data_type: TYPE_FP32 zero_data: false } } }\n"
		"version_policy { all { } }\n",
		"version_policy {\n  all {\n  }\n}\n"
		"model_warmup {\n  name: \"w\"\n  batch_size: 1\n  inputs {\n"
		"    key: \"x\"\n    value {\n      data_type: TYPE_FP32\n"
		"      dims: 4\n      zero_data: false\n    }\n  }\n}\n");
	assert_canonical("sequence_batching { state { initial_state { data_file: \"\" } } }\n",
			 "sequence_batching {\n  state {\n    initial_state {\n"
			 "      data_file: \"\"\n    }\n  }\n}\n");
}

static void test_normalize_errors(void **state)
{
	(void)state;
	assert_norm_error("name: \"m\"\nmax_batch: 4\n", IT_ERR_INVALID, 2, 1,
			  "unknown field 'max_batch' in inference.ModelConfig");
	assert_norm_error("input {\n  name: \"a\"\n  dims: [ 1, \"x\" ]\n}\n",
			  IT_ERR_INVALID, 3, 14,
			  "field 'dims' of inference.ModelInput expects an integer, "
			  "found string \"x\"");
	assert_norm_error("max_batch_size: 3000000000\n", IT_ERR_INVALID, 1, 17,
			  "value 3000000000 out of range for int32 field 'max_batch_size'");
	assert_norm_error("max_batch_size: -2147483649\n", IT_ERR_INVALID, 1, 17,
			  "out of range for int32 field 'max_batch_size'");
	assert_norm_error("input { dims: 9223372036854775808 }\n", IT_ERR_INVALID, 1, 15,
			  "value 9223372036854775808 out of range for int64 field 'dims'");
	assert_norm_error("input { dims: 0x10000000000000000 }\n", IT_ERR_INVALID, 1, 15,
			  "out of range for int64 field 'dims'");
	assert_norm_error("version_policy { latest { num_versions: -1 } }\n",
			  IT_ERR_INVALID, 1, 41,
			  "value -1 out of range for uint32 field 'num_versions'");
	assert_norm_error("dynamic_batching { max_queue_delay_microseconds: -5 }\n",
			  IT_ERR_INVALID, 1, 50,
			  "value -5 out of range for uint64 field 'max_queue_delay_microseconds'");
	assert_norm_error("max_batch_size: 1.5\n", IT_ERR_INVALID, 1, 17,
			  "field 'max_batch_size' of inference.ModelConfig expects an "
			  "integer, found number 1.5");
	assert_norm_error("max_batch_size: inf\n", IT_ERR_INVALID, 1, 17,
			  "expects an integer, found identifier inf");
	assert_norm_error("input { data_type: TYPE_FLOAT32 }\n", IT_ERR_INVALID, 1, 20,
			  "unknown value 'TYPE_FLOAT32' for enum inference.DataType in "
			  "field 'data_type'");
	assert_norm_error("input { data_type: type_fp32 }\n", IT_ERR_INVALID, 1, 20,
			  "unknown value 'type_fp32' for enum inference.DataType");
	assert_norm_error("input { data_type: 42 }\n", IT_ERR_INVALID, 1, 20,
			  "unknown value 42 for enum inference.DataType in field 'data_type'");
	assert_norm_error("input { data_type: \"TYPE_FP32\" }\n", IT_ERR_INVALID, 1, 20,
			  "field 'data_type' of inference.ModelInput expects a value of "
			  "enum inference.DataType, found string \"TYPE_FP32\"");
	assert_norm_error("input { optional: 2 }\n", IT_ERR_INVALID, 1, 19,
			  "field 'optional' of inference.ModelInput expects a boolean");
	assert_norm_error("input { optional: yes }\n", IT_ERR_INVALID, 1, 19,
			  "expects a boolean (true or false), found identifier yes");
	assert_norm_error("name: m\n", IT_ERR_INVALID, 1, 7,
			  "field 'name' of inference.ModelConfig expects a quoted string, "
			  "found identifier m");
	assert_norm_error("name: 5\n", IT_ERR_INVALID, 1, 7, "found number 5");
	assert_norm_error("sequence_batching { direct { minimum_slot_utilization: \"0.5\" } }\n",
			  IT_ERR_INVALID, 1, 56,
			  "field 'minimum_slot_utilization' of "
			  "inference.ModelSequenceBatching.StrategyDirect expects a number");
	assert_norm_error("sequence_batching { direct { minimum_slot_utilization: "
			  "0x1ffffffffffffffffff } }\n",
			  IT_ERR_INVALID, 1, 56,
			  "value 0x1ffffffffffffffffff out of range for float field "
			  "'minimum_slot_utilization'");
	assert_norm_error("sequence_batching { direct { minimum_slot_utilization: infinite } }\n",
			  IT_ERR_INVALID, 1, 56, "expects a number, found identifier infinite");
	assert_norm_error("name: \"m\"\n\n  max_batch_size: 1\nmax_batch_size: 2\n",
			  IT_ERR_INVALID, 4, 1,
			  "non-repeated field 'max_batch_size' is specified more than once "
			  "(first at 3:3)");
	assert_norm_error("optimization { }\noptimization { graph { level: 1 } }\n",
			  IT_ERR_INVALID, 2, 1,
			  "non-repeated field 'optimization' is specified more than once "
			  "(first at 1:1)");
	assert_norm_error("max_batch_size: 8\n\n\ndynamic_batching { }\n"
			  "sequence_batching { }\n",
			  IT_ERR_INVALID, 5, 1,
			  "'sequence_batching' and 'dynamic_batching' are both set, but "
			  "they are members of one oneof 'scheduling_choice' (first at 4:1)");
	assert_norm_error("version_policy { latest { } specific { versions: 1 } }\n",
			  IT_ERR_INVALID, 1, 29,
			  "'specific' and 'latest' are both set, but they are members of "
			  "one oneof 'policy_choice' (first at 1:18)");
	assert_norm_error("model_warmup { inputs { key: \"a\" value { zero_data: true "
			  "random_data: true } } }\n",
			  IT_ERR_INVALID, 1, 58,
			  "'random_data' and 'zero_data' are both set, but they are "
			  "members of one oneof 'input_data_type' (first at 1:42)");
	assert_norm_error("input: 5\n", IT_ERR_INVALID, 1, 8,
			  "field 'input' is a message; expected '{'");
	assert_norm_error("dynamic_batching: \"x\"\n", IT_ERR_INVALID, 1, 19,
			  "field 'dynamic_batching' is a message; expected '{', found string");
	assert_norm_error("\n  name { }\n", IT_ERR_INVALID, 2, 8,
			  "field 'name' is a scalar (string); it cannot be a message");
	assert_norm_error("input { data_type < > }\n", IT_ERR_INVALID, 1, 19,
			  "field 'data_type' is a scalar (inference.DataType); it cannot "
			  "be a message");
	assert_norm_error("name: \"\\377\"\n", IT_ERR_INVALID, 1, 7, "invalid UTF-8");
	assert_norm_error("parameters { key: \"a\" }\nparameters { key: \"b\" }\n"
			  "parameters {\n  key: \"a\"\n  value { string_value: \"2\" }\n}\n",
			  IT_ERR_INVALID, 3, 1,
			  "duplicate key \"a\" in map field 'parameters' of "
			  "inference.ModelConfig (first at 1:1)");
}

static void test_normalize_duplicate_key_message(void **state)
{
	(void)state;
	assert_norm_error("dynamic_batching {\n priority_queue_policy { key: 3 }\n"
			  " priority_queue_policy { key: 0x3 }\n}\n",
			  IT_ERR_INVALID, 3, 2,
			  "duplicate key 3 in map field 'priority_queue_policy' of "
			  "inference.ModelDynamicBatching (first at 2:2)");
	assert_norm_error("parameters { key: \"x\" key: \"y\" }\n", IT_ERR_INVALID, 1, 23,
			  "non-repeated field 'key' is specified more than once");
	assert_norm_error("parameters { key: \"x\" extra: 1 }\n", IT_ERR_INVALID, 1, 23,
			  "unknown field 'extra' in inference.ModelConfig.ParametersEntry");
}

/* ------------------------------------------- a recursive test descriptor */

static const struct pb_message t_node;

static const struct pb_field t_int_entry_fields[] = {
	{ "key", "key", 1, PB_INT32, 0, NULL, NULL, 0 },
	{ "value", "value", 2, PB_STRING, 0, NULL, NULL, 0 },
};
static const struct pb_message t_int_entry = {
	"test.Node.ByIntEntry", t_int_entry_fields, 2, NULL, 0,
};
static const struct pb_field t_bool_entry_fields[] = {
	{ "key", "key", 1, PB_BOOL, 0, NULL, NULL, 0 },
	{ "value", "value", 2, PB_INT64, 0, NULL, NULL, 0 },
};
static const struct pb_message t_bool_entry = {
	"test.Node.ByBoolEntry", t_bool_entry_fields, 2, NULL, 0,
};
static const struct pb_field t_node_fields[] = {
	{ "child", "child", 1, PB_MESSAGE, 0, &t_node, NULL, 0 },
	{ "d", "d", 2, PB_DOUBLE, 0, NULL, NULL, 0 },
	{ "raw", "raw", 3, PB_BYTES, 0, NULL, NULL, 0 },
	{ "by_int", "byInt", 4, PB_MESSAGE, PB_REPEATED | PB_MAP, &t_int_entry, NULL, 0 },
	{ "by_bool", "byBool", 5, PB_MESSAGE, PB_REPEATED | PB_MAP, &t_bool_entry, NULL, 0 },
	{ "big", "big", 6, PB_UINT64, PB_REPEATED, NULL, NULL, 0 },
};
static const struct pb_message t_node = {
	"test.Node", t_node_fields, 6, NULL, 0,
};

static struct pbtxt_node *deep_tree(int levels)
{
	struct pbtxt_node *root = pbtxt_node_new_message(NULL);
	struct pbtxt_node *cur = root;

	for (int i = 0; i < levels; i++) {
		struct pbtxt_node *c = pbtxt_node_new_message("child");

		c->line = i + 2;
		c->col = 1;
		pbtxt_node_append(cur, c);
		cur = c;
	}
	return root;
}

static void test_depth_limits(void **state)
{
	struct it_error err = { 0 };
	struct pbtxt_node *t;
	struct strbuf sb;
	json_t *j;

	(void)state;
	t = deep_tree(64);
	assert_int_equal(schema_normalize(t, &t_node, "deep", &err), 0);
	pbtxt_node_free(t);

	t = deep_tree(65);
	assert_int_equal(schema_normalize(t, &t_node, "deep", &err), IT_ERR_LIMIT);
	assert_int_equal(err.line, 66);
	assert_non_null(strstr(err.message, "deeper than 64"));
	pbtxt_node_free(t);

	/* JSON from the network: 200 levels are refused, not recursed into */
	strbuf_init(&sb, 0);
	for (int i = 0; i < 200; i++)
		strbuf_adds(&sb, "{\"child\":");
	strbuf_adds(&sb, "{}");
	for (int i = 0; i < 200; i++)
		strbuf_addch(&sb, '}');
	j = load_json(sb.buf);
	t = schema_from_json(j, &t_node, "doc", &err);
	assert_null(t);
	assert_int_equal(err.code, IT_ERR_LIMIT);
	assert_true(!strncmp(err.message, "doc.child.child.", 16));
	json_decref(j);
	strbuf_release(&sb);

	/* against ModelConfig, deep junk is a type error at the first bad level */
	j = load_json("{\"input\":[{\"reshape\":{\"shape\":[[[[[[1]]]]]]}}]}");
	t = schema_from_json(j, &pb_ModelConfig, "config", &err);
	assert_null(t);
	assert_string_equal(err.message,
			    "config.input[0].reshape.shape[0]: expected an integer, "
			    "found an array");
	json_decref(j);
}

static void test_generic_types(void **state)
{
	struct it_error err = { 0 };
	struct pbtxt_node *t, *back;
	json_t *j;
	char *dump;

	(void)state;
	t = parse_ok("by_int { key: 10 value: \"ten\" }\nby_int { key: -2 value: \"m2\" }\n"
		     "by_int { key: 3 }\nby_bool { key: true value: 7 }\n"
		     "by_bool { key: false value: 0x8 }\n"
		     "raw: \"\\000\\377a\"\nd: 2\nbig: 18446744073709551615\nbig: 1\n");
	assert_int_equal(schema_normalize(t, &t_node, "t", &err), 0);
	{
		char *p = print_tree(t);

		assert_string_equal(p,
				    "d: 2.0\nraw: \"\\000\\377a\"\n"
				    "by_int {\n  key: -2\n  value: \"m2\"\n}\n"
				    "by_int {\n  key: 3\n  value: \"\"\n}\n"
				    "by_int {\n  key: 10\n  value: \"ten\"\n}\n"
				    "by_bool {\n  key: false\n  value: 8\n}\n"
				    "by_bool {\n  key: true\n  value: 7\n}\n"
				    "big: 18446744073709551615\nbig: 1\n");
		free(p);
	}
	j = schema_to_json(t, &t_node, 0);
	dump = json_dumps(j, JSON_COMPACT);
	/* bytes as base64; bool and int map keys as text; big uint64 as a string */
	assert_string_equal(dump,
			    "{\"d\":2.0,\"raw\":\"AP9h\","
			    "\"by_int\":{\"-2\":\"m2\",\"3\":\"\",\"10\":\"ten\"},"
			    "\"by_bool\":{\"false\":8,\"true\":7},"
			    "\"big\":[\"18446744073709551615\",1]}");
	free(dump);
	assert_string_equal(json_string_value(json_object_get(j, "raw")), "AP9h");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "by_bool"),
							    "false")),
			 8);
	assert_string_equal(json_string_value(json_array_get(json_object_get(j, "big"), 0)),
			    "18446744073709551615");
	assert_int_equal(json_integer_value(json_array_get(json_object_get(j, "big"), 1)), 1);
	back = schema_from_json(j, &t_node, "t", &err);
	assert_non_null(back);
	assert_trees_equal(t, back);
	pbtxt_node_free(back);
	json_decref(j);
	pbtxt_node_free(t);

	/* URL-safe base64 without padding; bad base64 is an error */
	j = load_json("{\"raw\":\"AP9h_-8\",\"byBool\":{\"true\":\"5\"}}");
	back = schema_from_json(j, &t_node, "t", &err);
	assert_non_null(back);
	assert_int_equal(back->children[0]->value_len, 5);
	assert_memory_equal(back->children[0]->value, "\x00\xff\x61\xff\xef", 5);
	pbtxt_node_free(back);
	json_decref(j);
	j = load_json("{\"raw\":\"A*==\"}");
	assert_null(schema_from_json(j, &t_node, "t", &err));
	assert_string_equal(err.message,
			    "t.raw: expected a base64 string, found string \"A*==\"");
	json_decref(j);
	j = load_json("{\"by_bool\":{\"yes\":\"5\"}}");
	assert_null(schema_from_json(j, &t_node, "t", &err));
	assert_string_equal(err.message,
			    "t.by_bool[\"yes\"]: map key 'yes' is not true or false");
	json_decref(j);
	j = load_json("{\"by_int\":{\"1\":\"a\",\"01\":\"b\"}}");
	assert_null(schema_from_json(j, &t_node, "t", &err));
	assert_string_equal(err.message,
			    "t.by_int[\"01\"]: duplicate map key (same as '1')");
	json_decref(j);
	j = load_json("{\"by_int\":{\"2147483648\":\"a\"}}");
	assert_null(schema_from_json(j, &t_node, "t", &err));
	assert_string_equal(err.message,
			    "t.by_int[\"2147483648\"]: map key 2147483648 out of range for int32");
	json_decref(j);
	j = load_json("{\"d\":\"1e999\"}");
	assert_null(schema_from_json(j, &t_node, "t", &err));
	assert_string_equal(err.message, "t.d: value 1e999 out of range for double");
	json_decref(j);
}

/* -------------------------------------------------------------- JSON */

static const char realistic_config[] =
	"# licence header\n"
	"name: \"resnet\"\n"
	"platform: \"onnxruntime_onnx\"\n"
	"max_batch_size: 8\n"
	"input [\n"
	"  {\n"
	"    name: \"input\"\n"
	"    data_type: TYPE_FP32\n"
	"    format: FORMAT_NCHW\n"
	"    dims: [ 3, 224, 224 ]\n"
	"  }\n"
	"]\n"
	"output [ { name: \"out\" data_type: TYPE_FP32 dims: [ 1000 ] "
	"label_filename: \"labels.txt\" } ]\n"
	"instance_group [ { count: 2 kind: KIND_GPU gpus: [ 0, 1 ] } ]\n"
	"dynamic_batching {\n"
	"  preferred_batch_size: [ 4, 8 ]\n"
	"  max_queue_delay_microseconds: 100\n"
	"  priority_levels: 2\n"
	"  default_priority_level: 1\n"
	"  priority_queue_policy { key: 2 value { timeout_action: DELAY "
	"default_timeout_microseconds: 5000 } }\n"
	"}\n"
	"parameters { key: \"INFERENCE_MODE\" value: { string_value: \"true\" } }\n"
	"version_policy: { specific: { versions: [ 1, 3 ] } }\n";

static json_t *obj_path(json_t *j, const char *a, const char *b)
{
	json_t *x = json_object_get(j, a);

	return b ? json_object_get(x, b) : x;
}

static void test_to_json_default_style(void **state)
{
	struct pbtxt_node *t;
	json_t *j, *in, *db;
	char *dump;

	(void)state;
	t = norm_ok(realistic_config);
	j = schema_to_json(t, &pb_ModelConfig, 0);
	dump = json_dumps(j, JSON_COMPACT);
	/* field-number order, defaults left out, 64-bit ints as numbers */
	assert_string_equal(dump,
		"{\"name\":\"resnet\",\"platform\":\"onnxruntime_onnx\","
		"\"version_policy\":{\"specific\":{\"versions\":[1,3]}},"
		"\"max_batch_size\":8,"
		"\"input\":[{\"name\":\"input\",\"data_type\":\"TYPE_FP32\","
		"\"format\":\"FORMAT_NCHW\",\"dims\":[3,224,224]}],"
		"\"output\":[{\"name\":\"out\",\"data_type\":\"TYPE_FP32\","
		"\"dims\":[1000],\"label_filename\":\"labels.txt\"}],"
		"\"instance_group\":[{\"count\":2,\"gpus\":[0,1],\"kind\":\"KIND_GPU\"}],"
		"\"dynamic_batching\":{\"preferred_batch_size\":[4,8],"
		"\"max_queue_delay_microseconds\":100,\"priority_levels\":2,"
		"\"default_priority_level\":1,\"priority_queue_policy\":{\"2\":"
		"{\"timeout_action\":\"DELAY\",\"default_timeout_microseconds\":5000}}},"
		"\"parameters\":{\"INFERENCE_MODE\":{\"string_value\":\"true\"}}}");
	free(dump);
	in = json_array_get(json_object_get(j, "input"), 0);
	assert_true(json_is_integer(json_array_get(json_object_get(in, "dims"), 1)));
	db = json_object_get(j, "dynamic_batching");
	assert_true(json_is_integer(json_object_get(db, "max_queue_delay_microseconds")));
	assert_null(json_object_get(db, "preserve_ordering"));
	assert_null(json_object_get(j, "optimization"));
	json_decref(j);
	pbtxt_node_free(t);
}

static void test_to_json_all_fields(void **state)
{
	struct pbtxt_node *t;
	json_t *j, *in, *db, *pq;

	(void)state;
	t = norm_ok(realistic_config);
	j = schema_to_json(t, &pb_ModelConfig, SCHEMA_JSON_ALL_FIELDS);
	/* Triton's GET /config: every scalar, [] and {} present ... */
	assert_string_equal(json_string_value(json_object_get(j, "backend")), "");
	assert_string_equal(json_string_value(json_object_get(j, "runtime")), "");
	assert_true(json_is_array(json_object_get(j, "batch_input")));
	assert_int_equal(json_array_size(json_object_get(j, "batch_input")), 0);
	assert_true(json_is_object(json_object_get(j, "metric_tags")));
	assert_int_equal(json_object_size(json_object_get(j, "cc_model_filenames")), 0);
	assert_int_equal(json_array_size(json_object_get(j, "model_warmup")), 0);
	in = json_array_get(json_object_get(j, "input"), 0);
	assert_true(json_is_false(json_object_get(in, "is_shape_tensor")));
	assert_true(json_is_false(json_object_get(in, "optional")));
	assert_string_equal(json_string_value(json_object_get(in, "format")), "FORMAT_NCHW");
	in = json_array_get(json_object_get(j, "output"), 0);
	assert_true(json_is_false(json_object_get(in, "is_non_linear_format_io")));
	db = json_object_get(j, "dynamic_batching");
	assert_true(json_is_false(json_object_get(db, "preserve_ordering")));
	pq = obj_path(json_object_get(db, "priority_queue_policy"), "2", NULL);
	assert_int_equal(json_integer_value(json_object_get(pq, "max_queue_size")), 0);
	assert_true(json_is_false(json_object_get(pq, "allow_timeout_override")));
	/* ... but unset sub-messages and unset oneof members stay absent */
	assert_null(json_object_get(j, "optimization"));
	assert_null(json_object_get(j, "sequence_batching"));
	assert_null(json_object_get(j, "ensemble_scheduling"));
	assert_null(json_object_get(in, "reshape"));
	assert_null(json_object_get(db, "default_queue_policy"));
	assert_null(obj_path(j, "version_policy", "latest"));
	json_decref(j);

	/* an empty config: only defaults, still no sub-messages */
	pbtxt_node_free(t);
	t = norm_ok("");
	j = schema_to_json(t, &pb_ModelConfig, SCHEMA_JSON_ALL_FIELDS);
	assert_int_equal(json_integer_value(json_object_get(j, "max_batch_size")), 0);
	assert_string_equal(json_string_value(json_object_get(j, "name")), "");
	assert_int_equal(json_array_size(json_object_get(j, "input")), 0);
	assert_int_equal(json_object_size(json_object_get(j, "parameters")), 0);
	assert_null(json_object_get(j, "version_policy"));
	assert_null(json_object_get(j, "dynamic_batching"));
	/* 6 singular scalars + 6 repeated + 3 maps */
	assert_int_equal(json_object_size(j), 15);
	json_decref(j);
	pbtxt_node_free(t);
}

static void test_to_json_int64_strings(void **state)
{
	struct pbtxt_node *t;
	json_t *j, *in, *db;

	(void)state;
	t = norm_ok(realistic_config);
	j = schema_to_json(t, &pb_ModelConfig, SCHEMA_JSON_INT64_STRING);
	in = json_array_get(json_object_get(j, "input"), 0);
	assert_string_equal(json_string_value(json_array_get(json_object_get(in, "dims"), 0)),
			    "3");
	db = json_object_get(j, "dynamic_batching");
	assert_string_equal(json_string_value(json_object_get(db, "max_queue_delay_microseconds")),
			    "100");
	assert_string_equal(json_string_value(json_object_get(db, "priority_levels")), "2");
	assert_string_equal(json_string_value(obj_path(obj_path(db, "priority_queue_policy", "2"),
						       "default_timeout_microseconds", NULL)),
			    "5000");
	/* 32-bit stays numeric */
	assert_int_equal(json_integer_value(json_object_get(j, "max_batch_size")), 8);
	assert_true(json_is_integer(json_array_get(json_object_get(db, "preferred_batch_size"), 0)));
	assert_string_equal(json_string_value(json_array_get(
				    obj_path(obj_path(j, "version_policy", "specific"),
					     "versions", NULL), 1)),
			    "3");
	json_decref(j);
	pbtxt_node_free(t);

	/* with ALL_FIELDS too, int64 defaults are "0" */
	t = norm_ok("dynamic_batching { }\n");
	j = schema_to_json(t, &pb_ModelConfig,
			   SCHEMA_JSON_INT64_STRING | SCHEMA_JSON_ALL_FIELDS);
	db = json_object_get(j, "dynamic_batching");
	assert_string_equal(json_string_value(json_object_get(db, "max_queue_delay_microseconds")),
			    "0");
	assert_int_equal(json_integer_value(json_object_get(j, "max_batch_size")), 0);
	json_decref(j);
	/* uint64 beyond INT64_MAX is a string whatever the style */
	pbtxt_node_free(t);
	t = norm_ok("dynamic_batching { max_queue_delay_microseconds: 18446744073709551615 }\n");
	j = schema_to_json(t, &pb_ModelConfig, 0);
	assert_string_equal(json_string_value(obj_path(j, "dynamic_batching",
						       "max_queue_delay_microseconds")),
			    "18446744073709551615");
	json_decref(j);
	pbtxt_node_free(t);
}

static void test_to_json_floats(void **state)
{
	struct pbtxt_node *t;
	json_t *j, *b;

	(void)state;
	t = norm_ok("sequence_batching { direct { minimum_slot_utilization: 0.1 } }\n"
		    "model_metrics { metric_control { histogram_options { "
		    "buckets: [ nan, inf, -inf, 2.5, 0 ] } } }\n");
	j = schema_to_json(t, &pb_ModelConfig, 0);
	/* the double nearest the canonical decimal, not the float's expansion */
	assert_true(json_real_value(obj_path(obj_path(j, "sequence_batching", "direct"),
					     "minimum_slot_utilization", NULL)) == 0.1);
	b = json_object_get(json_object_get(json_array_get(obj_path(j, "model_metrics",
								    "metric_control"), 0),
					    "histogram_options"),
			    "buckets");
	assert_string_equal(json_string_value(json_array_get(b, 0)), "NaN");
	assert_string_equal(json_string_value(json_array_get(b, 1)), "Infinity");
	assert_string_equal(json_string_value(json_array_get(b, 2)), "-Infinity");
	assert_true(json_real_value(json_array_get(b, 3)) == 2.5);
	assert_true(json_is_real(json_array_get(b, 4)));
	json_decref(j);
	pbtxt_node_free(t);
}

/* What Model Analyzer sends: MessageToDict(preserving_proto_field_name=True). */
static const char model_analyzer_json[] =
	"{\"name\": \"resnet\", \"platform\": \"onnxruntime_onnx\", \"max_batch_size\": 8,"
	" \"input\": [{\"name\": \"input\", \"data_type\": \"TYPE_FP32\","
	" \"format\": \"FORMAT_NCHW\", \"dims\": [\"3\", \"224\", \"224\"]}],"
	" \"output\": [{\"name\": \"out\", \"data_type\": \"TYPE_FP32\","
	" \"dims\": [\"1000\"], \"label_filename\": \"labels.txt\"}],"
	" \"instance_group\": [{\"count\": 2, \"kind\": \"KIND_GPU\", \"gpus\": [0, 1]}],"
	" \"dynamic_batching\": {\"preferred_batch_size\": [4, 8],"
	" \"max_queue_delay_microseconds\": \"100\", \"priority_levels\": \"2\","
	" \"default_priority_level\": \"1\", \"priority_queue_policy\": {\"2\":"
	" {\"timeout_action\": \"DELAY\", \"default_timeout_microseconds\": \"5000\"}}},"
	" \"parameters\": {\"INFERENCE_MODE\": {\"string_value\": \"true\"}},"
	" \"version_policy\": {\"specific\": {\"versions\": [\"1\", \"3\"]}}}";

static void test_from_json_model_analyzer(void **state)
{
	struct pbtxt_node *want, *got;

	(void)state;
	want = norm_ok(realistic_config);
	got = from_json_ok(model_analyzer_json);
	assert_trees_equal(want, got);
	/* nodes built from JSON carry no position */
	assert_int_equal(got->children[0]->line, 0);
	assert_int_equal(got->children[0]->col, 0);
	pbtxt_node_free(got);
	pbtxt_node_free(want);
}

static void test_from_json_names_enums_nulls(void **state)
{
	struct pbtxt_node *want, *got;

	(void)state;
	want = norm_ok("max_batch_size: 8\n"
		       "input { name: \"x\" data_type: TYPE_FP32 dims: -1 is_shape_tensor: true }\n"
		       "instance_group { kind: KIND_GPU count: 1 }\n"
		       "dynamic_batching { max_queue_delay_microseconds: 100 "
		       "default_queue_policy { timeout_action: DELAY } }\n"
		       "model_transaction_policy { decoupled: true }\n");
	/* lowerCamel names, case-insensitive enums, enum numbers, ints as
	 * strings or integral reals, null as absent, defaults given explicitly */
	got = from_json_ok("{\"maxBatchSize\": 8.0, \"name\": null, \"platform\": \"\","
			   " \"input\": [{\"name\": \"x\", \"dataType\": \"type_fp32\","
			   " \"dims\": [\"-1\"], \"isShapeTensor\": true, \"optional\": false,"
			   " \"format\": \"FORMAT_NONE\", \"reshape\": null}],"
			   " \"instanceGroup\": [{\"kind\": 1, \"count\": \"1\"}],"
			   " \"dynamicBatching\": {\"maxQueueDelayMicroseconds\": 100,"
			   " \"defaultQueuePolicy\": {\"timeoutAction\": \"delay\"}},"
			   " \"sequence_batching\": null,"
			   " \"modelTransactionPolicy\": {\"decoupled\": true}}");
	assert_trees_equal(want, got);
	pbtxt_node_free(got);
	pbtxt_node_free(want);

	/* Infinity and NaN for floats, numbers for floats */
	want = norm_ok("sequence_batching { direct { minimum_slot_utilization: 0.25 } }\n"
		       "model_metrics { metric_control { histogram_options { "
		       "buckets: [ nan, inf, -inf, 1, 2.5 ] } } }\n");
	got = from_json_ok("{\"sequence_batching\": {\"direct\": {\"minimum_slot_utilization\": 0.25}},"
			   " \"model_metrics\": {\"metric_control\": [{\"histogram_options\":"
			   " {\"buckets\": [\"NaN\", \"Infinity\", \"-Infinity\", 1, \"2.5\"]}}]}}");
	assert_trees_equal(want, got);
	pbtxt_node_free(got);
	pbtxt_node_free(want);
}

static void test_from_json_errors(void **state)
{
	(void)state;
	assert_json_error("{\"input\": [{\"dims\": [\"1\", \"abc\"]}]}", IT_ERR_INVALID,
			  "config.input[0].dims[1]: expected an integer, found string \"abc\"");
	assert_json_error("{\"dynamic_batching\": {\"max_queue_delay\": 1}}", IT_ERR_INVALID,
			  "config.dynamic_batching: unknown field 'max_queue_delay'");
	assert_json_error("{\"inputs\": []}", IT_ERR_INVALID,
			  "config: unknown field 'inputs'");
	assert_json_error("{\"max_batch_size\": 3000000000}", IT_ERR_INVALID,
			  "config.max_batch_size: value 3000000000 out of range for int32");
	assert_json_error("{\"max_batch_size\": \"0x10\"}", IT_ERR_INVALID,
			  "config.max_batch_size: expected an integer, found string \"0x10\"");
	assert_json_error("{\"max_batch_size\": 1.5}", IT_ERR_INVALID,
			  "config.max_batch_size: expected an integer, found number 1.5");
	assert_json_error("{\"max_batch_size\": true}", IT_ERR_INVALID,
			  "config.max_batch_size: expected an integer, found true");
	assert_json_error("{\"input\": [{\"dims\": [\"99999999999999999999\"]}]}",
			  IT_ERR_INVALID,
			  "config.input[0].dims[0]: value 99999999999999999999 out of range for int64");
	assert_json_error("{\"input\": [{\"dims\": [1e19]}]}", IT_ERR_INVALID,
			  "config.input[0].dims[0]: value 1e+19 out of range for int64");
	assert_json_error("{\"max_batch_size\": 2.5e9}", IT_ERR_INVALID,
			  "config.max_batch_size: value 2500000000.0 out of range for int32");
	assert_json_error("{\"dynamic_batching\": {\"priority_levels\": -1}}", IT_ERR_INVALID,
			  "config.dynamic_batching.priority_levels: value -1 out of range for uint64");
	assert_json_error("{\"input\": [{\"data_type\": \"TYPE_FLOAT32\"}]}", IT_ERR_INVALID,
			  "config.input[0].data_type: unknown value 'TYPE_FLOAT32' for enum "
			  "inference.DataType");
	assert_json_error("{\"input\": [{\"data_type\": 99}]}", IT_ERR_INVALID,
			  "config.input[0].data_type: unknown value 99 for enum inference.DataType");
	assert_json_error("{\"input\": [{\"optional\": 1}]}", IT_ERR_INVALID,
			  "config.input[0].optional: expected true or false, found number 1");
	assert_json_error("{\"name\": 5}", IT_ERR_INVALID,
			  "config.name: expected a string, found number 5");
	assert_json_error("{\"input\": {\"name\": \"x\"}}", IT_ERR_INVALID,
			  "config.input: expected an array, found an object");
	assert_json_error("{\"input\": [null]}", IT_ERR_INVALID,
			  "config.input[0]: expected an object, found null");
	assert_json_error("{\"dynamic_batching\": []}", IT_ERR_INVALID,
			  "config.dynamic_batching: expected an object, found an array");
	assert_json_error("[]", IT_ERR_INVALID, "config: expected an object, found an array");
	assert_json_error("{\"parameters\": [1]}", IT_ERR_INVALID,
			  "config.parameters: expected an object, found an array");
	assert_json_error("{\"parameters\": {\"k\": {\"string_value\": 1}}}", IT_ERR_INVALID,
			  "config.parameters[\"k\"].string_value: expected a string, found number 1");
	assert_json_error("{\"dynamic_batching\": {\"priority_queue_policy\": {\"x\": {}}}}",
			  IT_ERR_INVALID,
			  "config.dynamic_batching.priority_queue_policy[\"x\"]: map key 'x' "
			  "is not an integer");
	assert_json_error("{\"max_batch_size\": 1, \"maxBatchSize\": 2}", IT_ERR_INVALID,
			  "config: field 'max_batch_size' is given twice (as 'max_batch_size' "
			  "and 'maxBatchSize')");
	assert_json_error("{\"name\": \"m\", \"bogus\": 1}", IT_ERR_INVALID,
			  "config: unknown field 'bogus'");
	assert_json_error("{\"dynamic_batching\": {}, \"sequence_batching\": {}}",
			  IT_ERR_INVALID,
			  "config: 'sequence_batching' and 'dynamic_batching' are both set, "
			  "but they are members of one oneof 'scheduling_choice'");
	assert_json_error("{\"sequence_batching\": {\"direct\": {\"minimum_slot_utilization\": 1e39}}}",
			  IT_ERR_INVALID,
			  "config.sequence_batching.direct.minimum_slot_utilization: value "
			  "1e+39 out of range for float");
	assert_json_error("{\"sequence_batching\": {\"direct\": {\"minimum_slot_utilization\": \"inf\"}}}",
			  IT_ERR_INVALID,
			  "config.sequence_batching.direct.minimum_slot_utilization: expected "
			  "a number, found string \"inf\"");
}

static void test_from_json_hostile(void **state)
{
	struct it_error err = { 0 };
	struct strbuf sb;
	json_t *j, *arr;
	struct pbtxt_node *t;

	(void)state;
	/* key with NUL, huge string, many entries: no crash, sensible results */
	j = json_object();
	json_object_setn_new(j, "name\0x", 6, json_string("x"));
	assert_null(schema_from_json(j, &pb_ModelConfig, "config", &err));
	assert_string_equal(err.message, "config: unknown field \"name\\000x\"");
	json_decref(j);

	strbuf_init(&sb, 0);
	for (int i = 0; i < 100000; i++)
		strbuf_addch(&sb, 'a');
	j = json_pack("{s:s}", "name", sb.buf);
	t = schema_from_json(j, &pb_ModelConfig, "config", &err);
	assert_non_null(t);
	assert_int_equal(t->children[0]->value_len, 100000);
	pbtxt_node_free(t);
	json_decref(j);
	strbuf_release(&sb);

	j = json_object();
	arr = json_array();
	for (int i = 0; i < 20000; i++)
		json_array_append_new(arr, json_integer(i));
	json_object_set_new(j, "input", json_pack("[{s:o}]", "dims", arr));
	t = schema_from_json(j, &pb_ModelConfig, "config", &err);
	assert_non_null(t);
	assert_int_equal(t->children[0]->n_children, 20000);
	pbtxt_node_free(t);
	json_decref(j);

	/* NUL inside a string value is data; inside an integer string it is junk */
	j = json_object();
	json_object_set_new(j, "max_batch_size", json_stringn("1\0002", 3));
	assert_null(schema_from_json(j, &pb_ModelConfig, "config", &err));
	assert_non_null(strstr(err.message, "config.max_batch_size: expected an integer"));
	json_decref(j);

	/* NULL inputs are refused, not dereferenced */
	assert_null(schema_from_json(NULL, &pb_ModelConfig, "config", &err));
	assert_int_equal(err.code, IT_ERR_INTERNAL);
}

static void test_to_json_tolerates_odd_trees(void **state)
{
	struct pbtxt_node *t = pbtxt_node_new_message(NULL);
	struct pbtxt_node *in = pbtxt_node_new_message("input");
	json_t *j;
	char *dump;

	(void)state;
	/* not normalised: unknown names, a message for a scalar, junk numbers */
	pbtxt_node_append(t, pbtxt_node_new_scalar("bogus", PBTXT_NUMBER, "1", 1));
	pbtxt_node_append(t, pbtxt_node_new_message("name"));
	pbtxt_node_append(t, pbtxt_node_new_scalar("max_batch_size", PBTXT_NUMBER, "x", 1));
	pbtxt_node_append(in, pbtxt_node_new_scalar("dims", PBTXT_NUMBER, "0x10", 4));
	pbtxt_node_append(in, pbtxt_node_new_scalar("dims", PBTXT_IDENT, "abc", 3));
	pbtxt_node_append(t, in);
	pbtxt_node_append(t, pbtxt_node_new_scalar("output", PBTXT_NUMBER, "1", 1));
	j = schema_to_json(t, &pb_ModelConfig, 0);
	dump = json_dumps(j, JSON_COMPACT);
	assert_string_equal(dump, "{\"input\":[{\"dims\":[16]}]}");
	free(dump);
	json_decref(j);
	pbtxt_node_free(t);
	/* no tree: an empty object, not a crash */
	j = schema_to_json(NULL, &pb_ModelConfig, 0);
	assert_int_equal(json_object_size(j), 0);
	json_decref(j);
}

/* ---------------------------------------------------------- round trip */

static const char *const round_trip_configs[] = {
	realistic_config,
	"name: \"seq\"\nbackend: \"python\"\nmax_batch_size: 4\n"
	"sequence_batching {\n"
	"  max_sequence_idle_microseconds: 5000000\n"
	"  oldest { max_candidate_sequences: 4 preferred_batch_size: [ 2, 4 ] "
	"max_queue_delay_microseconds: 100 }\n"
	"  control_input [ { name: \"START\" control [ { kind: CONTROL_SEQUENCE_START "
	"fp32_false_true: [ 0, 1 ] } ] },\n"
	"    { name: \"CORRID\" control { kind: CONTROL_SEQUENCE_CORRID data_type: TYPE_UINT64 } } ]\n"
	"  state { input_name: \"in\" output_name: \"out\" data_type: TYPE_FP32 dims: [ -1 ]\n"
	"    initial_state { data_type: TYPE_FP32 dims: [ 1 ] zero_data: true name: \"z\" }\n"
	"    use_same_buffer_for_input_output: true }\n"
	"}\n"
	"instance_group { kind: KIND_CPU count: 3 }\n",
	"name: \"opt\"\nplatform: \"tensorrt_plan\"\n"
	"version_policy { latest { num_versions: 2 } }\n"
	"optimization {\n"
	"  graph { level: -1 }\n  priority: PRIORITY_MAX\n"
	"  cuda { graphs: true busy_wait_events: true output_copy_stream: true\n"
	"    graph_spec { batch_size: 8 input { key: \"x\" value { dim: [ 3, 224 ] } }\n"
	"      graph_lower_bound { batch_size: 1 input { key: \"x\" value { dim: [ 3, 1 ] } } } } }\n"
	"  execution_accelerators { gpu_execution_accelerator [ { name: \"tensorrt\" "
	"parameters { key: \"precision_mode\" value: \"FP16\" } "
	"parameters { key: \"max_workspace_size_bytes\" value: \"1073741824\" } } ]\n"
	"    cpu_execution_accelerator { name: \"openvino\" } }\n"
	"  input_pinned_memory { enable: false }\n  output_pinned_memory { enable: true }\n"
	"  gather_kernel_buffer_threshold: 4\n  eager_batching: true\n"
	"}\n"
	"cc_model_filenames { key: \"7.5\" value: \"a.plan\" }\n"
	"metric_tags [ { key: \"team\" value: \"x\" } ]\n"
	"model_warmup [ { name: \"w1\" batch_size: 8 count: 2\n"
	"  inputs { key: \"INPUT0\" value { data_type: TYPE_FP32 dims: [ 16 ] random_data: true } }\n"
	"  inputs { key: \"INPUT1\" value { data_type: TYPE_STRING dims: [ 1 ] "
	"input_data_file: \"raw\" } } } ]\n"
	"model_operations { op_library_filename: [ \"libcustom.so\" ] }\n"
	"model_repository_agents { agents [ { name: \"checksum\" parameters { key: \"MD5:x\" "
	"value: \"abc\" } } ] }\n"
	"response_cache { enable: true }\nruntime: \"model.py\"\n"
	"model_metrics { metric_control [ { metric_identifier { family: \"nv_inference_first_response_histogram_ms\" }\n"
	"  histogram_options { buckets: [ 0.5, 1, 10, 1e+300 ] } } ]\n}\n"
	"batch_input [ { kind: BATCH_ITEM_SHAPE_FLATTEN target_name: [ \"t\" ] "
	"data_type: TYPE_INT32 source_input: [ \"s\" ] } ]\n"
	"batch_output [ { target_name: [ \"o\" ] kind: BATCH_SCATTER_WITH_INPUT_SHAPE "
	"source_input: [ \"s\" ] } ]\n"
	"instance_group [ { name: \"g\" kind: KIND_GPU gpus: [ 0 ] profile: [ \"0\", \"1\" ]\n"
	"  rate_limiter { resources [ { name: \"R\" global: true count: 2 } ] priority: 2 }\n"
	"  secondary_devices [ { kind: KIND_NVDLA device_id: 1 } ]\n"
	"  passive: true host_policy: \"numa0\" } ]\n"
	"input [ { name: \"x\" data_type: TYPE_FP16 dims: [ 1 ] reshape: { shape: [ ] } "
	"allow_ragged_batch: true } ]\n"
	"output [ { name: \"y\" data_type: TYPE_BF16 dims: [ 2, 2 ] reshape { shape: [ 4 ] } "
	"is_shape_tensor: true } ]\n"
	"parameters { key: \"EXECUTION_ENV_PATH\" value { string_value: \"$$TRITON_MODEL_DIRECTORY/env.tar.gz\" } }\n"
	"parameters { key: \"\\303\\251t\\303\\251\" value { string_value: \"\\\"quoted\\\"\\n\" } }\n",
	"name: \"ens\"\nplatform: \"ensemble\"\nmax_batch_size: 1\n"
	"version_policy { all { } }\n"
	"ensemble_scheduling { step [ { model_name: \"a\" model_version: -1 "
	"input_map { key: \"IN\" value: \"x\" } output_map { key: \"OUT\" value: \"y\" } },\n"
	"  { model_name: \"b\" model_version: 3 input_map { key: \"IN\" value: \"y\" } } ] "
	"max_inflight_responses: 16 }\n",
	"",
};

static void test_round_trip(void **state)
{
	static const unsigned styles[] = {
		0,
		SCHEMA_JSON_ALL_FIELDS,
		SCHEMA_JSON_INT64_STRING,
		SCHEMA_JSON_ALL_FIELDS | SCHEMA_JSON_INT64_STRING,
	};

	(void)state;
	for (size_t i = 0; i < sizeof(round_trip_configs) / sizeof(round_trip_configs[0]); i++) {
		struct pbtxt_node *tree = norm_ok(round_trip_configs[i]);
		struct pbtxt_node *again;
		char *text = print_tree(tree);

		/* canonical text is a fixed point of parse + normalise */
		again = norm_ok(text);
		assert_trees_equal(tree, again);
		pbtxt_node_free(again);
		free(text);

		for (size_t s = 0; s < sizeof(styles) / sizeof(styles[0]); s++) {
			struct it_error err = { 0 };
			json_t *j = schema_to_json(tree, &pb_ModelConfig, styles[s]);
			char *dump = json_dumps(j, JSON_COMPACT);
			json_t *j2 = load_json(dump);
			struct pbtxt_node *back =
				schema_from_json(j2, &pb_ModelConfig, "config", &err);

			if (!back)
				print_message("config %zu style %u: %s\n%s\n", i, styles[s],
					      err.message, dump);
			assert_non_null(back);
			assert_trees_equal(tree, back);
			pbtxt_node_free(back);
			json_decref(j2);
			free(dump);
			json_decref(j);
		}
		pbtxt_node_free(tree);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_descriptor_tables_are_consistent),
		cmocka_unit_test(test_descriptor_spot_checks),
		cmocka_unit_test(test_lookup_functions),
		cmocka_unit_test(test_normalize_reorders_and_drops_defaults),
		cmocka_unit_test(test_normalize_repeated_order_kept),
		cmocka_unit_test(test_normalize_integers),
		cmocka_unit_test(test_normalize_enums_and_bools),
		cmocka_unit_test(test_normalize_floats),
		cmocka_unit_test(test_normalize_maps),
		cmocka_unit_test(test_normalize_oneof_presence),
		cmocka_unit_test(test_normalize_errors),
		cmocka_unit_test(test_normalize_duplicate_key_message),
		cmocka_unit_test(test_depth_limits),
		cmocka_unit_test(test_generic_types),
		cmocka_unit_test(test_to_json_default_style),
		cmocka_unit_test(test_to_json_all_fields),
		cmocka_unit_test(test_to_json_int64_strings),
		cmocka_unit_test(test_to_json_floats),
		cmocka_unit_test(test_to_json_tolerates_odd_trees),
		cmocka_unit_test(test_from_json_model_analyzer),
		cmocka_unit_test(test_from_json_names_enums_nulls),
		cmocka_unit_test(test_from_json_errors),
		cmocka_unit_test(test_from_json_hostile),
		cmocka_unit_test(test_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
