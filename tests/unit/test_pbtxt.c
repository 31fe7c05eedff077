/*
 * Unit tests for pbtxt/: every syntax form of the protobuf text format that
 * config.pbtxt files use, node positions, the canonical printer, the tree
 * helpers, error messages with their positions, limits, and a mutation loop
 * that must never crash.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pbtxt/pbtxt.h"
#include "util/error.h"
#include "util/strbuf.h"
#include "util/banned.h"

/* ---------------------------------------------------------------- helpers */

static struct pbtxt_node *parse_ok(const char *text)
{
	struct it_error err = { 0 };
	struct pbtxt_node *root = pbtxt_parse(text, strlen(text), "t.pbtxt", &err);

	if (!root)
		print_error("unexpected failure on <<%s>>: %d:%d: %s\n", text,
			    err.line, err.col, err.message);
	assert_non_null(root);
	assert_int_equal(root->kind, PBTXT_MESSAGE);
	assert_null(root->name);
	return root;
}

/* Prints a tree; caller frees. */
static char *print_text(const struct pbtxt_node *root)
{
	struct strbuf sb;

	strbuf_init(&sb, 0);
	assert_int_equal(pbtxt_print(root, &sb), 0);
	return strbuf_detach(&sb, NULL);
}

static const struct pbtxt_node *child(const struct pbtxt_node *n, size_t i)
{
	assert_true(i < n->n_children);
	return n->children[i];
}

static void assert_scalar(const struct pbtxt_node *n, const char *name,
			  enum pbtxt_kind kind, const char *value)
{
	assert_non_null(n->name);
	assert_string_equal(n->name, name);
	assert_int_equal(n->kind, kind);
	assert_non_null(n->value);
	assert_int_equal(n->value_len, strlen(value));
	assert_string_equal(n->value, value);
	assert_int_equal(n->n_children, 0);
}

/* Parses `text` as `a: <text>` and checks the single value. */
static void assert_value(const char *text, enum pbtxt_kind kind,
			 const char *value, size_t value_len)
{
	char buf[512];
	struct pbtxt_node *root;
	const struct pbtxt_node *n;

	snprintf(buf, sizeof(buf), "a: %s", text);
	root = parse_ok(buf);
	assert_int_equal(root->n_children, 1);
	n = child(root, 0);
	assert_string_equal(n->name, "a");
	if (n->kind != kind || n->value_len != value_len ||
	    memcmp(n->value, value, value_len) != 0)
		print_error("value mismatch for <<%s>>: got kind %d <<%s>>\n",
			    text, n->kind, n->value);
	assert_int_equal(n->kind, kind);
	assert_int_equal(n->value_len, value_len);
	assert_memory_equal(n->value, value, value_len);
	assert_int_equal(n->value[value_len], '\0');
	pbtxt_node_free(root);
}

struct err_case {
	const char *text;
	size_t len; /* 0: strlen(text) */
	int code;
	int line;
	int col;
	const char *message; /* substring, or the whole message when exact */
	int exact;
};

static void check_error(const struct err_case *c)
{
	struct it_error err = { 0 };
	size_t len = c->len ? c->len : strlen(c->text);
	struct pbtxt_node *root = pbtxt_parse(c->text, len, "e.pbtxt", &err);
	int ok;

	if (root)
		print_error("<<%s>> parsed but should fail\n", c->text);
	assert_null(root);
	ok = err.code == c->code && err.line == c->line && err.col == c->col &&
	     strcmp(err.file, "e.pbtxt") == 0 &&
	     (c->exact ? strcmp(err.message, c->message) == 0 :
			 strstr(err.message, c->message) != NULL);
	if (!ok)
		print_error("<<%s>>: got %d %d:%d \"%s\", want %d %d:%d \"%s\"\n",
			    c->text, err.code, err.line, err.col, err.message,
			    c->code, c->line, c->col, c->message);
	assert_true(ok);
}

/* ---------------------------------------------------------------- syntax */

static void test_empty_and_comments(void **state)
{
	struct pbtxt_node *root;

	(void)state;
	root = parse_ok("");
	assert_int_equal(root->n_children, 0);
	assert_int_equal(root->line, 1);
	assert_int_equal(root->col, 1);
	pbtxt_node_free(root);

	root = parse_ok("# licence header\n#\n\n   # indented comment");
	assert_int_equal(root->n_children, 0);
	pbtxt_node_free(root);

	/* Comments wherever whitespace may go, all whitespace kinds. */
	root = parse_ok("a # c1\n : # c2\n 1 # c3\n\t\r\f\vb#x\n{#y\nc#z\n:2#w\n}#v");
	assert_int_equal(root->n_children, 2);
	assert_scalar(child(root, 0), "a", PBTXT_NUMBER, "1");
	assert_string_equal(child(root, 1)->name, "b");
	assert_scalar(child(child(root, 1), 0), "c", PBTXT_NUMBER, "2");
	pbtxt_node_free(root);

	/* The empty-input root still prints as nothing. */
	root = parse_ok("  \n");
	{
		char *s = print_text(root);

		assert_string_equal(s, "");
		free(s);
	}
	pbtxt_node_free(root);
}

static void test_scalar_forms(void **state)
{
	struct pbtxt_node *root;

	(void)state;
	root = parse_ok("name: \"simple\"\nplatform:'onnxruntime_onnx'\n"
			"max_batch_size : 0\ndata_type: TYPE_FP32\n"
			"optional: true");
	assert_int_equal(root->n_children, 5);
	assert_scalar(child(root, 0), "name", PBTXT_STRING, "simple");
	assert_scalar(child(root, 1), "platform", PBTXT_STRING, "onnxruntime_onnx");
	assert_scalar(child(root, 2), "max_batch_size", PBTXT_NUMBER, "0");
	assert_scalar(child(root, 3), "data_type", PBTXT_IDENT, "TYPE_FP32");
	assert_scalar(child(root, 4), "optional", PBTXT_IDENT, "true");
	pbtxt_node_free(root);

	/* Fields with no whitespace at all between them. */
	root = parse_ok("a:1 b:\"x\"c:y d{e:2}f:3");
	assert_int_equal(root->n_children, 5);
	assert_scalar(child(root, 1), "b", PBTXT_STRING, "x");
	assert_scalar(child(root, 2), "c", PBTXT_IDENT, "y");
	assert_scalar(child(root, 4), "f", PBTXT_NUMBER, "3");
	pbtxt_node_free(root);
}

static void test_message_forms(void **state)
{
	struct pbtxt_node *root;
	const char *names[] = { "a", "b", "c", "d", "e" };
	size_t i;

	(void)state;
	root = parse_ok("a { x: 1 }\nb: { x: 2 }\nc < x: 3 >\nd: < x: 4 >\n"
			"e {}\n");
	assert_int_equal(root->n_children, 5);
	for (i = 0; i < 5; i++) {
		const struct pbtxt_node *m = child(root, i);

		assert_string_equal(m->name, names[i]);
		assert_int_equal(m->kind, PBTXT_MESSAGE);
		assert_null(m->value);
		if (i < 4) {
			char want[2] = { (char)('1' + i), '\0' };

			assert_int_equal(m->n_children, 1);
			assert_scalar(child(m, 0), "x", PBTXT_NUMBER, want);
		} else {
			assert_int_equal(m->n_children, 0);
		}
	}
	pbtxt_node_free(root);

	/* Nesting, and '<' inside '{' and the reverse. */
	root = parse_ok("a { b < c { d: 'x' } > }");
	assert_scalar(child(child(child(child(root, 0), 0), 0), 0), "d",
		      PBTXT_STRING, "x");
	pbtxt_node_free(root);

	/* A oneof-style empty message and a map entry. */
	root = parse_ok("version_policy: { all { } }\n"
			"parameters { key: \"K\" value: { string_value: \"v\" } }");
	assert_int_equal(child(child(root, 0), 0)->kind, PBTXT_MESSAGE);
	assert_int_equal(child(child(root, 0), 0)->n_children, 0);
	assert_scalar(child(child(child(root, 1), 1), 0), "string_value",
		      PBTXT_STRING, "v");
	pbtxt_node_free(root);
}

static void test_lists(void **state)
{
	struct pbtxt_node *root;
	const char *want[] = { "1", "2", "3", "4", "5" };
	size_t i;

	(void)state;
	/*
	 * Lists mixed with repeated lines keep input order; an empty list leaves
	 * a marker (for the schema's checks) that find/count/equal skip.
	 */
	root = parse_ok("dims: 1 dims: [2, 3] other: 9 dims: [] dims: [ 4 ,5 ]");
	assert_int_equal(root->n_children, 7);
	assert_int_equal(pbtxt_node_count(root, "dims"), 5);
	assert_int_equal(child(root, 4)->kind, PBTXT_EMPTY_LIST);
	assert_int_equal(child(root, 4)->list_line, 1);
	assert_int_equal(child(root, 4)->list_col, 37);
	for (i = 0; i < 7; i++) {
		if (i == 3) {
			assert_scalar(child(root, i), "other", PBTXT_NUMBER, "9");
			continue;
		}
		if (i == 4)
			continue;
		assert_scalar(child(root, i), "dims", PBTXT_NUMBER,
			      want[i < 3 ? i : i - 2]);
	}
	/* Elements of a list remember its '['; plain fields do not. */
	assert_int_equal(child(root, 0)->list_line, 0);
	assert_int_equal(child(root, 1)->list_col, 15);
	assert_int_equal(child(root, 6)->list_col, 46);
	pbtxt_node_free(root);

	/* Empty list, with or without colon: only a marker, printed as nothing. */
	root = parse_ok("shape: [ ]\nreshape { shape: [] }\nm []");
	assert_int_equal(root->n_children, 3);
	assert_int_equal(child(root, 0)->kind, PBTXT_EMPTY_LIST);
	assert_string_equal(child(root, 1)->name, "reshape");
	assert_int_equal(child(root, 1)->n_children, 1);
	assert_int_equal(pbtxt_node_count(child(root, 1), "shape"), 0);
	assert_null(pbtxt_node_find(root, "shape"));
	{
		struct strbuf sb;
		struct pbtxt_node *again;

		strbuf_init(&sb, 0);
		assert_int_equal(pbtxt_print(root, &sb), 0);
		assert_string_equal(sb.buf, "reshape {\n}\n");
		again = parse_ok(sb.buf);
		assert_true(pbtxt_node_equal(root, again));
		pbtxt_node_free(again);
		strbuf_release(&sb);
	}
	pbtxt_node_free(root);

	/* Lists of messages, colon optional, both delimiters. */
	root = parse_ok("input [ { name: \"a\" }, < name: 'b' > ]\n"
			"output: [{name: \"c\"}]\n"
			"input { name: \"d\" }");
	assert_int_equal(root->n_children, 4);
	assert_int_equal(pbtxt_node_count(root, "input"), 3);
	assert_scalar(child(child(root, 0), 0), "name", PBTXT_STRING, "a");
	assert_scalar(child(child(root, 1), 0), "name", PBTXT_STRING, "b");
	assert_string_equal(child(root, 2)->name, "output");
	assert_scalar(child(child(root, 3), 0), "name", PBTXT_STRING, "d");
	pbtxt_node_free(root);

	/* Lists of strings and identifiers, and concatenation inside a list. */
	root = parse_ok("s: ['a' \"b\", \"c\"] e: [KIND_GPU, -inf, -1]");
	assert_int_equal(root->n_children, 5);
	assert_scalar(child(root, 0), "s", PBTXT_STRING, "ab");
	assert_scalar(child(root, 1), "s", PBTXT_STRING, "c");
	assert_scalar(child(root, 2), "e", PBTXT_IDENT, "KIND_GPU");
	assert_scalar(child(root, 3), "e", PBTXT_NUMBER, "-inf");
	assert_scalar(child(root, 4), "e", PBTXT_NUMBER, "-1");
	pbtxt_node_free(root);
}

static void test_separators(void **state)
{
	struct pbtxt_node *root;

	(void)state;
	root = parse_ok("a: 1; b: 2, c { d: 3; e: 4, }, f: \"x\"; g [ {} ];"
			" h: [1];");
	assert_int_equal(root->n_children, 6);
	assert_scalar(child(root, 1), "b", PBTXT_NUMBER, "2");
	assert_int_equal(child(root, 2)->n_children, 2);
	assert_scalar(child(child(root, 2), 1), "e", PBTXT_NUMBER, "4");
	assert_scalar(child(root, 3), "f", PBTXT_STRING, "x");
	assert_string_equal(child(root, 4)->name, "g");
	assert_scalar(child(root, 5), "h", PBTXT_NUMBER, "1");
	pbtxt_node_free(root);
}

static void test_string_escapes(void **state)
{
	(void)state;
	assert_value("\"\\n\\t\\r\\a\\b\\f\\v\\\\\\'\\\"\\?\"", PBTXT_STRING,
		     "\n\t\r\a\b\f\v\\'\"?", 11);
	assert_value("'\\'\"'", PBTXT_STRING, "'\"", 2);
	assert_value("\"it's\"", PBTXT_STRING, "it's", 4);
	/* Octal: 1 to 3 digits, a 4th digit is literal, \777 keeps 8 bits. */
	assert_value("\"\\0\\7\\12\\101\\1012\\777\"", PBTXT_STRING,
		     "\0\a\nAA2\xff", 7);
	/* Hex: 1 or 2 digits; the third is literal. */
	assert_value("\"\\x41\\x4g\\xfF\\x414\"", PBTXT_STRING,
		     "A\x04g\xff" "A4", 6);
	/* \u and \U to UTF-8, surrogate pairs joined. */
	assert_value("\"\\u00e9\\u20AC\\U0001F600\\ud83d\\ude00\\u0041\"",
		     PBTXT_STRING,
		     "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf0\x9f\x98\x80" "A",
		     14);
	/* A lone surrogate is encoded as is. */
	assert_value("\"\\ud800x\"", PBTXT_STRING, "\xed\xa0\x80x", 4);
	assert_value("\"\\U0010FFFF\"", PBTXT_STRING, "\xf4\x8f\xbf\xbf", 4);
	/* Raw bytes pass through: tab, CR, UTF-8, '#' is not a comment. */
	assert_value("\"a\tb\rc\xc3\xa9 # no\"", PBTXT_STRING,
		     "a\tb\rc\xc3\xa9 # no", 12);
	assert_value("\"\"", PBTXT_STRING, "", 0);
	assert_value("''", PBTXT_STRING, "", 0);
}

static void test_string_concat(void **state)
{
	struct pbtxt_node *root;
	const struct pbtxt_node *n;

	(void)state;
	assert_value("\"ab\" 'cd'", PBTXT_STRING, "abcd", 4);
	assert_value("\"a\"\"b\"'c'", PBTXT_STRING, "abc", 3);
	root = parse_ok("x: 1\na: \"ab\" # comment\n\n  'c\\0d' \"\" \"e\"\nb: 2");
	assert_int_equal(root->n_children, 3);
	n = child(root, 1);
	assert_int_equal(n->kind, PBTXT_STRING);
	assert_int_equal(n->value_len, 6);
	assert_memory_equal(n->value, "abc\0de", 6);
	/* The value position is that of the first literal. */
	assert_int_equal(n->value_line, 2);
	assert_int_equal(n->value_col, 4);
	assert_scalar(child(root, 2), "b", PBTXT_NUMBER, "2");
	pbtxt_node_free(root);
}

static void test_numbers(void **state)
{
	static const char *const plain[] = {
		"0", "16", "0x1F", "0X1f", "0xABCDEF0123", "017", "00", "1.5",
		".5", "1.", "1e-3", "1E+3", "2e10", "1.5f", "1.5F", "1f", "0f",
		"0.0", "1.e5", ".5e-2f", "18446744073709551616",
	};
	size_t i;
	char buf[64];

	(void)state;
	for (i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
		assert_value(plain[i], PBTXT_NUMBER, plain[i], strlen(plain[i]));
		snprintf(buf, sizeof(buf), "-%s", plain[i]);
		assert_value(buf, PBTXT_NUMBER, buf, strlen(buf));
	}
	/* '-' then whitespace or a comment: stored without them. */
	assert_value("- 1", PBTXT_NUMBER, "-1", 2);
	assert_value("-\t# c\n 0x10", PBTXT_NUMBER, "-0x10", 5);
	/* '-' before inf/infinity/nan in any case. */
	assert_value("-inf", PBTXT_NUMBER, "-inf", 4);
	assert_value("-Infinity", PBTXT_NUMBER, "-Infinity", 9);
	assert_value("-NaN", PBTXT_NUMBER, "-NaN", 4);
	assert_value("- inf", PBTXT_NUMBER, "-inf", 4);
}

static void test_idents(void **state)
{
	static const char *const idents[] = {
		"true", "false", "True", "t", "inf", "nan", "infinity",
		"TYPE_FP32", "KIND_GPU", "_x9", "a_B_1",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(idents) / sizeof(idents[0]); i++)
		assert_value(idents[i], PBTXT_IDENT, idents[i], strlen(idents[i]));
}

static void test_positions(void **state)
{
	struct pbtxt_node *root;
	const struct pbtxt_node *in, *n;

	(void)state;
	root = parse_ok("# header\n"
			"name: \"m\"\n"
			"input [\n"
			"  {\n"
			"\tdims: [ 3,\n"
			"    224 ]\n"
			"  }\n"
			"]\n"
			"  x\r\n"
			"  :\n"
			"  - 5\n");
	assert_int_equal(root->n_children, 3);
	n = child(root, 0);
	assert_int_equal(n->line, 2);
	assert_int_equal(n->col, 1);
	assert_int_equal(n->value_line, 2);
	assert_int_equal(n->value_col, 7);
	in = child(root, 1);
	assert_int_equal(in->line, 3);
	assert_int_equal(in->col, 1);
	/* A message's value position is its opening delimiter. */
	assert_int_equal(in->value_line, 4);
	assert_int_equal(in->value_col, 3);
	assert_int_equal(in->n_children, 2);
	n = child(in, 0);
	assert_int_equal(n->line, 5);
	assert_int_equal(n->col, 2); /* a tab is one column */
	assert_int_equal(n->value_line, 5);
	assert_int_equal(n->value_col, 10);
	n = child(in, 1);
	assert_int_equal(n->line, 5);
	assert_int_equal(n->col, 2);
	assert_int_equal(n->value_line, 6);
	assert_int_equal(n->value_col, 5);
	n = child(root, 2);
	assert_scalar(n, "x", PBTXT_NUMBER, "-5");
	assert_int_equal(n->line, 9);
	assert_int_equal(n->col, 3);
	/* A negative number is located at its '-'. */
	assert_int_equal(n->value_line, 11);
	assert_int_equal(n->value_col, 3);
	pbtxt_node_free(root);
}

/* ---------------------------------------------------------------- printer */

static const char triton_config[] =
	"# Copyright 2018-2023, NVIDIA CORPORATION & AFFILIATES.\n"
	"#\n"
	"name: \"simple\"\n"
	"platform: \"tensorflow_graphdef\"\n"
	"max_batch_size : 8\n"
	"version_policy: { specific { versions: [1, 3] } }\n"
	"input [\n"
	"  {\n"
	"    name: \"INPUT0\"\n"
	"    data_type: TYPE_INT32\n"
	"    dims: [ 16 ]\n"
	"  },\n"
	"  {\n"
	"    name: 'INPUT1'\n"
	"    data_type: TYPE_INT32\n"
	"    dims: [ 16 ]\n"
	"    reshape: { shape: [ ] }\n"
	"  }\n"
	"]\n"
	"output [\n"
	"  {\n"
	"    name: \"OUTPUT0\"\n"
	"    data_type: TYPE_FP32\n"
	"    dims: [ -1, 16 ]\n"
	"  }\n"
	"]\n"
	"instance_group [ { kind: KIND_GPU, count: 2, gpus: [0] } ]\n"
	"dynamic_batching {\n"
	"  preferred_batch_size: [ 4, 8 ]\n"
	"  max_queue_delay_microseconds: 100\n"
	"}\n"
	"optimization { execution_accelerators {\n"
	"  gpu_execution_accelerator : [ {\n"
	"    name : \"tensorrt\"\n"
	"    parameters { key: \"precision_mode\" value: \"FP16\" }\n"
	"  }]\n"
	"}}\n"
	"parameters: { key: \"INFERENCE_MODE\" value: { string_value: 'say \"hi\"\\n' } }\n"
	"model_warmup [ { batch_size: 1, inputs { key: \"INPUT0\" value: {"
	" data_type: TYPE_FP32 dims: 16 random_data: true } } } ]\n";

static const char triton_canonical[] =
	"name: \"simple\"\n"
	"platform: \"tensorflow_graphdef\"\n"
	"max_batch_size: 8\n"
	"version_policy {\n"
	"  specific {\n"
	"    versions: 1\n"
	"    versions: 3\n"
	"  }\n"
	"}\n"
	"input {\n"
	"  name: \"INPUT0\"\n"
	"  data_type: TYPE_INT32\n"
	"  dims: 16\n"
	"}\n"
	"input {\n"
	"  name: \"INPUT1\"\n"
	"  data_type: TYPE_INT32\n"
	"  dims: 16\n"
	"  reshape {\n"
	"  }\n"
	"}\n"
	"output {\n"
	"  name: \"OUTPUT0\"\n"
	"  data_type: TYPE_FP32\n"
	"  dims: -1\n"
	"  dims: 16\n"
	"}\n"
	"instance_group {\n"
	"  kind: KIND_GPU\n"
	"  count: 2\n"
	"  gpus: 0\n"
	"}\n"
	"dynamic_batching {\n"
	"  preferred_batch_size: 4\n"
	"  preferred_batch_size: 8\n"
	"  max_queue_delay_microseconds: 100\n"
	"}\n"
	"optimization {\n"
	"  execution_accelerators {\n"
	"    gpu_execution_accelerator {\n"
	"      name: \"tensorrt\"\n"
	"      parameters {\n"
	"        key: \"precision_mode\"\n"
	"        value: \"FP16\"\n"
	"      }\n"
	"    }\n"
	"  }\n"
	"}\n"
	"parameters {\n"
	"  key: \"INFERENCE_MODE\"\n"
	"  value {\n"
	"    string_value: \"say \\\"hi\\\"\\n\"\n"
	"  }\n"
	"}\n"
	"model_warmup {\n"
	"  batch_size: 1\n"
	"  inputs {\n"
	"    key: \"INPUT0\"\n"
	"    value {\n"
	"      data_type: TYPE_FP32\n"
	"      dims: 16\n"
	"      random_data: true\n"
	"    }\n"
	"  }\n"
	"}\n";

static void test_canonical_triton(void **state)
{
	struct pbtxt_node *root, *again;
	char *text, *text2;

	(void)state;
	root = parse_ok(triton_config);
	text = print_text(root);
	assert_string_equal(text, triton_canonical);
	/* The canonical form is a fixed point. */
	again = parse_ok(text);
	assert_true(pbtxt_node_equal(root, again));
	text2 = print_text(again);
	assert_string_equal(text, text2);
	free(text2);
	free(text);
	pbtxt_node_free(again);
	pbtxt_node_free(root);
}

static void test_quote(void **state)
{
	struct strbuf sb;
	const char in[] = "a\"b'c\\\n\r\t\x01\x7f\xc3\xa9\0z ?";

	(void)state;
	strbuf_init(&sb, 0);
	assert_int_equal(pbtxt_quote(&sb, in, sizeof(in) - 1), 0);
	assert_string_equal(sb.buf,
			    "\"a\\\"b\\'c\\\\\\n\\r\\t\\001\\177\\303\\251\\000z ?\"");
	strbuf_setlen(&sb, 0);
	assert_int_equal(pbtxt_quote(&sb, "", 0), 0);
	assert_string_equal(sb.buf, "\"\"");
	/* Appends: existing content stays. */
	assert_int_equal(pbtxt_quote(&sb, "x", 1), 0);
	assert_string_equal(sb.buf, "\"\"\"x\"");
	strbuf_release(&sb);
}

static void test_print_forms(void **state)
{
	struct pbtxt_node *root, *m, *deep;
	char *text;

	(void)state;
	root = pbtxt_node_new_message(NULL);
	m = pbtxt_node_new_message("empty");
	pbtxt_node_append(root, m);
	deep = pbtxt_node_new_message("a");
	pbtxt_node_append(deep, pbtxt_node_new_message("b"));
	pbtxt_node_append(deep->children[0],
			  pbtxt_node_new_scalar("c", PBTXT_IDENT, "nan", 3));
	pbtxt_node_append(deep->children[0],
			  pbtxt_node_new_scalar("s", PBTXT_STRING, "\xff", 1));
	pbtxt_node_append(root, deep);
	pbtxt_node_append(root, pbtxt_node_new_scalar("n", PBTXT_NUMBER, "-1.5e3f", 7));
	text = print_text(root);
	assert_string_equal(text,
			    "empty {\n}\n"
			    "a {\n  b {\n    c: nan\n    s: \"\\377\"\n  }\n}\n"
			    "n: -1.5e3f\n");
	free(text);
	pbtxt_node_free(root);
}

static void test_print_limit(void **state)
{
	struct pbtxt_node *root;
	struct strbuf sb;
	size_t full;
	char *text;

	(void)state;
	root = parse_ok(triton_config);
	text = print_text(root);
	full = strlen(text);
	free(text);

	/* Exactly enough room succeeds. */
	strbuf_init(&sb, full);
	assert_int_equal(pbtxt_print(root, &sb), 0);
	assert_int_equal(sb.len, full);
	strbuf_release(&sb);

	/* One byte short fails and leaves the buffer as it was. */
	strbuf_init(&sb, full + 1);
	assert_int_equal(strbuf_adds(&sb, "ab"), 0);
	assert_int_equal(pbtxt_print(root, &sb), IT_ERR_LIMIT);
	assert_int_equal(sb.len, 2);
	assert_string_equal(sb.buf, "ab");
	strbuf_release(&sb);

	/* pbtxt_quote likewise. */
	strbuf_init(&sb, 4);
	assert_int_equal(strbuf_adds(&sb, "x"), 0);
	assert_int_equal(pbtxt_quote(&sb, "\n", 1), IT_ERR_LIMIT);
	assert_string_equal(sb.buf, "x");
	assert_int_equal(pbtxt_quote(&sb, "a", 1), 0);
	assert_string_equal(sb.buf, "x\"a\"");
	strbuf_release(&sb);
	pbtxt_node_free(root);
}

static void roundtrip(const char *text)
{
	struct pbtxt_node *a = parse_ok(text);
	char *printed = print_text(a);
	struct pbtxt_node *b = parse_ok(printed);
	char *printed2 = print_text(b);

	if (!pbtxt_node_equal(a, b))
		print_error("round trip differs for <<%s>>:\n%s", text, printed);
	assert_true(pbtxt_node_equal(a, b));
	assert_string_equal(printed, printed2);
	free(printed2);
	free(printed);
	pbtxt_node_free(b);
	pbtxt_node_free(a);
}

static void test_roundtrip(void **state)
{
	static const char *const inputs[] = {
		"",
		"a: 1",
		"a: \"\\000\\001\\'\\\"\\\\ \\t\\n\\r\\x7f\\xff\\u00e9\"",
		"a: 'x' \"y\" 'z'",
		"a { b { c { d: -inf e: [1, 2.5f, -0x1F, 017, .5, 1e-3] } } }",
		"m < > n: < o: [] > p [ {}, <> ]",
		"s: [\"#not a comment\", '\\'']; t: TYPE_STRING,",
		"u: \"\\U0001F600\"",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++)
		roundtrip(inputs[i]);
	roundtrip(triton_config);
}

static void test_roundtrip_all_bytes(void **state)
{
	struct pbtxt_node *root, *back;
	char bytes[256 * 3];
	struct strbuf sb;
	size_t i;
	int b;

	(void)state;
	/* Every byte value, alone and in runs, must survive print + parse. */
	for (i = 0; i < sizeof(bytes); i++)
		bytes[i] = (char)(i % 256);
	root = pbtxt_node_new_message(NULL);
	pbtxt_node_append(root, pbtxt_node_new_scalar("all", PBTXT_STRING,
						      bytes, sizeof(bytes)));
	for (b = 0; b < 256; b++) {
		char one = (char)b;

		pbtxt_node_append(root, pbtxt_node_new_scalar("one", PBTXT_STRING,
							      &one, 1));
	}
	strbuf_init(&sb, 0);
	assert_int_equal(pbtxt_print(root, &sb), 0);
	/* The printed text is plain printable ASCII plus newlines. */
	for (i = 0; i < sb.len; i++) {
		unsigned char c = (unsigned char)sb.buf[i];

		assert_true(c == '\n' || (c >= 0x20 && c < 0x7f));
	}
	back = pbtxt_parse(sb.buf, sb.len, "rt", NULL);
	assert_non_null(back);
	assert_true(pbtxt_node_equal(root, back));
	assert_int_equal(back->children[0]->value_len, sizeof(bytes));
	assert_memory_equal(back->children[0]->value, bytes, sizeof(bytes));
	strbuf_release(&sb);
	pbtxt_node_free(back);
	pbtxt_node_free(root);
}

/* ---------------------------------------------------------------- tree API */

static void test_node_api(void **state)
{
	struct pbtxt_node *root, *copy, *a, *b;
	const char twelve[] = "x\0y";

	(void)state;
	pbtxt_node_free(NULL);
	root = pbtxt_node_new_message(NULL);
	assert_null(root->name);
	assert_int_equal(root->kind, PBTXT_MESSAGE);
	pbtxt_node_append(root, pbtxt_node_new_scalar("a", PBTXT_NUMBER, "1", 1));
	pbtxt_node_append(root, pbtxt_node_new_scalar("b", PBTXT_IDENT, "X", 1));
	pbtxt_node_append(root, pbtxt_node_new_scalar("a", PBTXT_NUMBER, "2", 1));
	pbtxt_node_insert(root, 0, pbtxt_node_new_message("m"));
	pbtxt_node_insert(root, 2, pbtxt_node_new_scalar("c", PBTXT_STRING, twelve, 3));
	pbtxt_node_insert(root, root->n_children,
			  pbtxt_node_new_scalar("a", PBTXT_NUMBER, "3", 1));
	/* m a c b a a */
	assert_int_equal(root->n_children, 6);
	assert_string_equal(root->children[0]->name, "m");
	assert_string_equal(root->children[1]->name, "a");
	assert_string_equal(root->children[2]->name, "c");
	assert_int_equal(root->children[2]->value_len, 3);
	assert_memory_equal(root->children[2]->value, twelve, 3);
	assert_string_equal(root->children[5]->value, "3");
	assert_int_equal(pbtxt_node_count(root, "a"), 3);
	assert_int_equal(pbtxt_node_count(root, "zz"), 0);
	assert_ptr_equal(pbtxt_node_find(root, "a"), root->children[1]);
	assert_null(pbtxt_node_find(root, "zz"));
	assert_null(pbtxt_node_find(NULL, "a"));

	/* Clone is deep and keeps positions. */
	root->children[1]->line = 7;
	root->children[1]->value_col = 9;
	copy = pbtxt_node_clone(root);
	assert_true(pbtxt_node_equal(root, copy));
	assert_ptr_not_equal(copy->children[1], root->children[1]);
	assert_ptr_not_equal(copy->children[1]->value, root->children[1]->value);
	assert_int_equal(copy->children[1]->line, 7);
	assert_int_equal(copy->children[1]->value_col, 9);

	/* Positions do not matter for equality; everything else does. */
	copy->children[1]->line = 100;
	assert_true(pbtxt_node_equal(root, copy));
	pbtxt_node_set_value(copy->children[1], PBTXT_NUMBER, "10", 2);
	assert_false(pbtxt_node_equal(root, copy));
	pbtxt_node_set_value(copy->children[1], PBTXT_IDENT, "1", 1);
	assert_false(pbtxt_node_equal(root, copy));
	pbtxt_node_set_value(copy->children[1], PBTXT_NUMBER, "1", 1);
	assert_true(pbtxt_node_equal(root, copy));
	pbtxt_node_set_value(copy->children[2], PBTXT_STRING, "x\0z", 3);
	assert_false(pbtxt_node_equal(root, copy));
	pbtxt_node_set_value(copy->children[2], PBTXT_STRING, twelve, 3);
	assert_true(pbtxt_node_equal(root, copy));
	/* set_value may be given the node's own value. */
	pbtxt_node_set_value(copy->children[2], PBTXT_STRING,
			     copy->children[2]->value, 1);
	assert_int_equal(copy->children[2]->value_len, 1);
	assert_string_equal(copy->children[2]->value, "x");
	assert_false(pbtxt_node_equal(root, copy));
	pbtxt_node_free(copy);

	/* Name and order matter. */
	a = pbtxt_node_new_scalar("a", PBTXT_NUMBER, "1", 1);
	b = pbtxt_node_new_scalar("b", PBTXT_NUMBER, "1", 1);
	assert_false(pbtxt_node_equal(a, b));
	assert_false(pbtxt_node_equal(a, NULL));
	assert_true(pbtxt_node_equal(NULL, NULL));
	pbtxt_node_free(b);
	copy = pbtxt_node_clone(root);
	pbtxt_node_remove(copy, 1);
	pbtxt_node_insert(copy, 5, a);
	assert_false(pbtxt_node_equal(root, copy));
	assert_int_equal(copy->n_children, 6);
	pbtxt_node_free(copy);

	/* remove / remove_all */
	pbtxt_node_remove(root, 0);
	assert_int_equal(root->n_children, 5);
	assert_string_equal(root->children[0]->name, "a");
	pbtxt_node_remove(root, 99); /* out of range: no-op */
	assert_int_equal(root->n_children, 5);
	assert_int_equal(pbtxt_node_remove_all(root, "a"), 3);
	assert_int_equal(root->n_children, 2);
	assert_string_equal(root->children[0]->name, "c");
	assert_string_equal(root->children[1]->name, "b");
	assert_int_equal(pbtxt_node_remove_all(root, "a"), 0);
	/* A child with a message kind differs from an empty scalar. */
	a = pbtxt_node_new_message("b");
	b = pbtxt_node_new_scalar("b", PBTXT_STRING, "", 0);
	assert_false(pbtxt_node_equal(a, b));
	pbtxt_node_free(a);
	pbtxt_node_free(b);
	pbtxt_node_free(root);
}

/* ---------------------------------------------------------------- errors */

static void test_errors(void **state)
{
	static const struct err_case cases[] = {
		{ "max_batch_size 8", 0, IT_ERR_PARSE, 1, 16,
		  "expected ':' or '{' after field name 'max_batch_size', found number '8'", 1 },
		{ "name: \"m\"\n\ninput {\n  name: \"a\"\n", 0, IT_ERR_PARSE, 5, 1,
		  "expected '}' to close 'input' opened at 3:7, found end of input", 1 },
		{ "a: 1\nb: \"abc", 0, IT_ERR_PARSE, 2, 4, "unterminated string", 1 },
		{ "a: \"ab\ncd\"", 0, IT_ERR_PARSE, 1, 4, "unterminated string", 0 },
		{ "a: 'abc\"", 0, IT_ERR_PARSE, 1, 4, "unterminated string", 0 },
		{ "a: \"abc\\", 0, IT_ERR_PARSE, 1, 4, "unterminated string", 0 },
		{ "}", 0, IT_ERR_PARSE, 1, 1,
		  "expected field name, found '}' with no message open", 1 },
		{ "a: 1 >", 0, IT_ERR_PARSE, 1, 6, "found '>' with no message open", 0 },
		{ "a { b: 1 >", 0, IT_ERR_PARSE, 1, 10,
		  "expected '}' to close 'a' opened at 1:3, found '>'", 1 },
		{ "a < b: 1 }", 0, IT_ERR_PARSE, 1, 10,
		  "expected '>' to close 'a' opened at 1:3, found '}'", 1 },
		{ "dims: [1, 2,]", 0, IT_ERR_PARSE, 1, 13, "expected value, found ']'", 1 },
		{ "m [{},]", 0, IT_ERR_PARSE, 1, 7, "expected value, found ']'", 1 },
		{ "dims: [1 2]", 0, IT_ERR_PARSE, 1, 10,
		  "expected ',' or ']' in list 'dims' opened at 1:7, found number '2'", 1 },
		{ "dims: [1, 2", 0, IT_ERR_PARSE, 1, 12,
		  "opened at 1:7, found end of input", 0 },
		{ "a: [1, {}]", 0, IT_ERR_PARSE, 1, 8,
		  "a list cannot mix scalars and messages), found '{'", 0 },
		{ "a: [{}, 'x']", 0, IT_ERR_PARSE, 1, 9,
		  "a list cannot mix messages and scalars), found string \"x\"", 0 },
		{ "dims [1]", 0, IT_ERR_PARSE, 1, 6,
		  "missing ':' after field name 'dims'", 0 },
		{ "dims: [,]", 0, IT_ERR_PARSE, 1, 8, "expected value, found ','", 1 },
		{ "a: 12abc", 0, IT_ERR_PARSE, 1, 4, "invalid number '12abc'", 1 },
		{ "a: 0x", 0, IT_ERR_PARSE, 1, 4,
		  "invalid number '0x': expected hex digits after '0x'", 1 },
		{ "a: 0xg1", 0, IT_ERR_PARSE, 1, 4, "invalid number '0xg1'", 0 },
		{ "a: 1e", 0, IT_ERR_PARSE, 1, 4,
		  "invalid number '1e': the exponent has no digits", 1 },
		{ "a: 1e+;", 0, IT_ERR_PARSE, 1, 4, "invalid number '1e+'", 0 },
		{ "a:\n  08", 0, IT_ERR_PARSE, 2, 3,
		  "invalid number '08': a number with a leading 0 is octal", 0 },
		{ "a: 1.5.3", 0, IT_ERR_PARSE, 1, 4, "invalid number '1.5.3'", 1 },
		{ "a: 017.5", 0, IT_ERR_PARSE, 1, 4,
		  "hex and octal numbers must be integers", 0 },
		{ "a: 1.5ff", 0, IT_ERR_PARSE, 1, 4, "invalid number '1.5ff'", 1 },
		{ "a: \"ok\\q\"", 0, IT_ERR_PARSE, 1, 7,
		  "invalid escape sequence '\\q' in string", 1 },
		{ "a: \"\\x\"", 0, IT_ERR_PARSE, 1, 5,
		  "'\\x' escape needs one or two hex digits", 1 },
		{ "a: \"\\u12\"", 0, IT_ERR_PARSE, 1, 5,
		  "'\\u' escape needs exactly 4 hex digits", 1 },
		{ "a: \"\\U0010FFF\"", 0, IT_ERR_PARSE, 1, 5,
		  "'\\U' escape needs exactly 8 hex digits", 1 },
		{ "a: \"\\U00110000\"", 0, IT_ERR_PARSE, 1, 5,
		  "beyond the last code point", 0 },
		{ "x: 1\n[ext.field]: 1", 0, IT_ERR_PARSE, 2, 1,
		  "extension fields are not supported", 1 },
		{ "a: -foo", 0, IT_ERR_PARSE, 1, 5,
		  "expected number after '-', found identifier 'foo'", 1 },
		{ "a: --1", 0, IT_ERR_PARSE, 1, 5,
		  "expected number after '-', found '-'", 1 },
		{ "a: -\"1\"", 0, IT_ERR_PARSE, 1, 5,
		  "expected number after '-', found string \"1\"", 1 },
		{ "a: }", 0, IT_ERR_PARSE, 1, 4,
		  "expected value for field 'a', found '}'", 1 },
		{ "a:", 0, IT_ERR_PARSE, 1, 3,
		  "expected value for field 'a', found end of input", 1 },
		{ "a: @", 0, IT_ERR_PARSE, 1, 4, "unexpected character '@'", 1 },
		{ "a: 1 b", 0, IT_ERR_PARSE, 1, 7,
		  "expected ':' or '{' after field name 'b', found end of input", 1 },
		{ "a: \"x\" 5", 0, IT_ERR_PARSE, 1, 8,
		  "expected field name, found number '5'", 1 },
		{ "a {\n  b: 1\n  'c'\n}", 0, IT_ERR_PARSE, 3, 3,
		  "expected field name or '}', found string \"c\"", 1 },
		{ "a \"0123456789012345678901234567890123456789\"", 0,
		  IT_ERR_PARSE, 1, 3,
		  "found string \"01234567890123456789012345678901...\"", 0 },
		{ "\ta 1", 0, IT_ERR_PARSE, 1, 4, "found number '1'", 0 },
		{ "a: \xc3\xa9", 0, IT_ERR_PARSE, 1, 4, "unexpected byte 0xc3", 0 },
		{ "a: .", 0, IT_ERR_PARSE, 1, 4, "unexpected character '.'", 0 },
		{ "a: +1", 0, IT_ERR_PARSE, 1, 4, "unexpected character '+'", 0 },
		{ "a.b: 1", 0, IT_ERR_PARSE, 1, 2, "unexpected character '.'", 0 },
		{ "a: 1\r\nb 2", 0, IT_ERR_PARSE, 2, 3, "found number '2'", 0 },
		{ ": 1", 0, IT_ERR_PARSE, 1, 1, "expected field name, found ':'", 1 },
		{ "a: [1; 2]", 0, IT_ERR_PARSE, 1, 6, "found ';'", 0 },
		{ "a { b { }", 0, IT_ERR_PARSE, 1, 10,
		  "expected '}' to close 'a' opened at 1:3, found end of input", 1 },
		{ "a: [ {} ", 0, IT_ERR_PARSE, 1, 9,
		  "expected ',' or ']' in list 'a' opened at 1:4, found end of input", 1 },
		{ "a: \"x\\\n\"", 0, IT_ERR_PARSE, 1, 4, "unterminated string", 0 },
		{ "a: 1,, b: 2", 0, IT_ERR_PARSE, 1, 6, "expected field name, found ','", 1 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_error(&cases[i]);
}

static void test_error_format(void **state)
{
	struct it_error err = { 0 };
	char buf[256];

	(void)state;
	assert_null(pbtxt_parse("max_batch_size 8", 16, "models/m/config.pbtxt", &err));
	assert_int_equal(err.code, IT_ERR_PARSE);
	assert_string_equal(it_error_format(&err, buf, sizeof(buf)),
			    "models/m/config.pbtxt:1:16: expected ':' or '{' after "
			    "field name 'max_batch_size', found number '8'");
	/* A NULL err and a NULL filename are fine. */
	assert_null(pbtxt_parse("}", 1, NULL, NULL));
	assert_null(pbtxt_parse("}", 1, NULL, &err));
	assert_int_equal(err.line, 1);
	assert_string_equal(err.file, "");
	/* text need not be NUL-terminated: only len bytes are read. */
	{
		struct pbtxt_node *root = pbtxt_parse("a: 12}}}", 5, "x", &err);

		assert_non_null(root);
		assert_scalar(root->children[0], "a", PBTXT_NUMBER, "12");
		pbtxt_node_free(root);
	}
	/* NULL text with length 0 is an empty document. */
	{
		struct pbtxt_node *root = pbtxt_parse(NULL, 0, "x", &err);

		assert_non_null(root);
		assert_int_equal(root->n_children, 0);
		pbtxt_node_free(root);
	}
}

static void test_nul_byte(void **state)
{
	static const struct err_case cases[] = {
		{ "a: 1\n\0", 6, IT_ERR_PARSE, 2, 1, "unexpected NUL byte", 1 },
		{ "a: 1 # c\0mment\n", 15, IT_ERR_PARSE, 1, 9, "unexpected NUL byte", 1 },
		{ "a: \"x\0y\"", 8, IT_ERR_PARSE, 1, 6, "unexpected NUL byte", 1 },
		{ "a: \"x\\\0y\"", 9, IT_ERR_PARSE, 1, 7, "unexpected NUL byte", 1 },
		{ "a\0: 1", 5, IT_ERR_PARSE, 1, 2, "unexpected NUL byte", 1 },
		{ "a: 12\0", 6, IT_ERR_PARSE, 1, 6, "unexpected NUL byte", 1 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_error(&cases[i]);
}

/* Builds `n` nested messages "a {" ... "}" using opener o and closer c. */
static char *nested(int n, char o, char c)
{
	size_t len = (size_t)n * 5 + 16;
	char *s = malloc(len);
	size_t p = 0;
	int i;

	assert_non_null(s);
	for (i = 0; i < n; i++) {
		s[p++] = 'a';
		s[p++] = ' ';
		s[p++] = o;
		s[p++] = ' ';
	}
	memcpy(s + p, "x: 1 ", 5);
	p += 5;
	for (i = 0; i < n; i++)
		s[p++] = c;
	s[p] = '\0';
	return s;
}

static void test_depth_limit(void **state)
{
	struct it_error err = { 0 };
	struct pbtxt_node *root;
	const struct pbtxt_node *n;
	char *s;
	int i;

	(void)state;
	/* Exactly PBTXT_MAX_DEPTH levels parse and print. */
	s = nested(PBTXT_MAX_DEPTH, '{', '}');
	root = parse_ok(s);
	for (i = 0, n = root; i < PBTXT_MAX_DEPTH; i++) {
		assert_int_equal(n->n_children, 1);
		n = n->children[0];
		assert_int_equal(n->kind, PBTXT_MESSAGE);
	}
	assert_scalar(child(n, 0), "x", PBTXT_NUMBER, "1");
	free(s);
	s = print_text(root);
	pbtxt_node_free(root);
	root = parse_ok(s);
	pbtxt_node_free(root);
	free(s);

	/* One more is an IT_ERR_LIMIT at the offending opener. */
	s = nested(PBTXT_MAX_DEPTH + 1, '<', '>');
	assert_null(pbtxt_parse(s, strlen(s), "d", &err));
	assert_int_equal(err.code, IT_ERR_LIMIT);
	assert_int_equal(err.line, 1);
	assert_int_equal(err.col, PBTXT_MAX_DEPTH * 4 + 3);
	assert_string_equal(err.message, "messages nested deeper than 64 levels");
	free(s);

	/* Far deeper input fails the same way instead of blowing the stack. */
	s = nested(200000, '{', '}');
	memset(&err, 0, sizeof(err));
	assert_null(pbtxt_parse(s, strlen(s), "d", &err));
	assert_int_equal(err.code, IT_ERR_LIMIT);
	assert_int_equal(err.col, PBTXT_MAX_DEPTH * 4 + 3);
	free(s);

	/* Lists of messages count as nesting too. */
	{
		size_t cap = 80000, p = 0;
		char *t = malloc(cap);

		assert_non_null(t);
		for (i = 0; i < 10000; i++) {
			memcpy(t + p, "m[{", 3);
			p += 3;
		}
		t[p] = '\0';
		assert_null(pbtxt_parse(t, p, "d", &err));
		assert_int_equal(err.code, IT_ERR_LIMIT);
		assert_int_equal(err.col, PBTXT_MAX_DEPTH * 3 + 3);
		free(t);
	}
}

static void test_input_limits(void **state)
{
	struct it_error err = { 0 };
	struct pbtxt_node *root;
	size_t n = PBTXT_MAX_INPUT_BYTES + 1;
	char *big = malloc(n);
	char *tok;

	(void)state;
	assert_non_null(big);
	memset(big, ' ', n);
	assert_null(pbtxt_parse(big, n, "big", &err));
	assert_int_equal(err.code, IT_ERR_LIMIT);
	assert_non_null(strstr(err.message, "limit"));
	assert_string_equal(err.file, "big");
	/* Exactly the limit is accepted. */
	memcpy(big, "a: 1", 4);
	root = pbtxt_parse(big, n - 1, "big", &err);
	assert_non_null(root);
	assert_int_equal(root->n_children, 1);
	pbtxt_node_free(root);
	free(big);

	/* Identifiers and numbers are capped at 4096 bytes. */
	tok = malloc(4200);
	assert_non_null(tok);
	memcpy(tok, "a: ", 3);
	memset(tok + 3, '7', 4096);
	root = pbtxt_parse(tok, 3 + 4096, "t", &err);
	assert_non_null(root);
	assert_int_equal(root->children[0]->value_len, 4096);
	pbtxt_node_free(root);
	memset(tok + 3, '7', 4097);
	assert_null(pbtxt_parse(tok, 3 + 4097, "t", &err));
	assert_int_equal(err.code, IT_ERR_LIMIT);
	assert_int_equal(err.col, 4);
	assert_non_null(strstr(err.message, "number is longer than 4096 bytes"));
	memset(tok, 'n', 4097);
	memcpy(tok + 4097, ": 1", 3);
	assert_null(pbtxt_parse(tok, 4100, "t", &err));
	assert_int_equal(err.code, IT_ERR_LIMIT);
	assert_int_equal(err.col, 1);
	assert_non_null(strstr(err.message, "identifier is longer than 4096 bytes"));
	free(tok);
}

/* ---------------------------------------------------------------- fuzz */

static uint32_t rng_state;

static uint32_t rng(void)
{
	/* xorshift32: deterministic across platforms. */
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return rng_state;
}

static void test_mutation_fuzz(void **state)
{
	static const char special[] = "{}[]<>:;,\"'\\#-.0x1eEfu\n\t \0aZ_+";
	size_t base_len = sizeof(triton_config) - 1;
	size_t cap = base_len * 2 + 64;
	char *buf = malloc(cap);
	int ok = 0, failed = 0, iter, m;

	(void)state;
	assert_non_null(buf);
	rng_state = 0x12345678u;
	for (iter = 0; iter < 20000; iter++) {
		struct it_error err = { 0 };
		struct pbtxt_node *root;
		size_t len = base_len, pos, k;
		int n_mut = 1 + (int)(rng() % 4);

		memcpy(buf, triton_config, base_len);
		for (m = 0; m < n_mut; m++) {
			pos = len ? rng() % len : 0;
			switch (rng() % 6) {
			case 0: /* replace with a syntax-relevant byte */
				if (len)
					buf[pos] = special[rng() % (sizeof(special) - 1)];
				break;
			case 1: /* replace with any byte */
				if (len)
					buf[pos] = (char)(rng() & 0xFF);
				break;
			case 2: /* delete */
				if (len) {
					memmove(buf + pos, buf + pos + 1, len - pos - 1);
					len--;
				}
				break;
			case 3: /* insert */
				if (len < cap) {
					memmove(buf + pos + 1, buf + pos, len - pos);
					buf[pos] = special[rng() % (sizeof(special) - 1)];
					len++;
				}
				break;
			case 4: /* truncate */
				len = pos;
				break;
			default: /* duplicate a short span */
				k = 1 + rng() % 16;
				if (pos + k <= len && len + k <= cap) {
					memmove(buf + pos + k, buf + pos, len - pos);
					len += k;
				}
				break;
			}
		}
		root = pbtxt_parse(buf, len, "fuzz", &err);
		if (!root) {
			failed++;
			if (err.line < 1 || err.col < 1 || !err.message[0] ||
			    (err.code != IT_ERR_PARSE && err.code != IT_ERR_LIMIT))
				print_error("iteration %d: bad error %d %d:%d \"%s\"\n",
					    iter, err.code, err.line, err.col,
					    err.message);
			assert_true(err.line >= 1 && err.col >= 1);
			assert_true(err.message[0] != '\0');
			assert_true(err.code == IT_ERR_PARSE || err.code == IT_ERR_LIMIT);
			assert_true(err.line <= 200);
			assert_true((size_t)err.col <= len + 1);
			continue;
		}
		ok++;
		/* Whatever parses must survive the canonical round trip. */
		{
			char *text = print_text(root);
			struct pbtxt_node *again = pbtxt_parse(text, strlen(text),
							       "fuzz2", &err);

			if (!again)
				print_error("iteration %d: reparse failed: %s\n%s",
					    iter, err.message, text);
			assert_non_null(again);
			assert_true(pbtxt_node_equal(root, again));
			pbtxt_node_free(again);
			free(text);
		}
		pbtxt_node_free(root);
	}
	/* The loop must exercise both outcomes to mean anything. */
	assert_true(ok > 1000);
	assert_true(failed > 1000);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_and_comments),
		cmocka_unit_test(test_scalar_forms),
		cmocka_unit_test(test_message_forms),
		cmocka_unit_test(test_lists),
		cmocka_unit_test(test_separators),
		cmocka_unit_test(test_string_escapes),
		cmocka_unit_test(test_string_concat),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_idents),
		cmocka_unit_test(test_positions),
		cmocka_unit_test(test_canonical_triton),
		cmocka_unit_test(test_quote),
		cmocka_unit_test(test_print_forms),
		cmocka_unit_test(test_print_limit),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_roundtrip_all_bytes),
		cmocka_unit_test(test_node_api),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_error_format),
		cmocka_unit_test(test_nul_byte),
		cmocka_unit_test(test_depth_limit),
		cmocka_unit_test(test_input_limits),
		cmocka_unit_test(test_mutation_fuzz),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
