/*
 * Unit tests for server/kserve: KServe v2 request parsing against a model
 * config (JSON and Triton's binary tensor extension, every data type, every
 * bad input the issue lists), response writing, error bodies, status codes,
 * and a deterministic mutation loop over a valid binary request.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "backend/backend.h"
#include "model/config.h"
#include "model/datatype.h"
#include "server/infer.h"
#include "server/kserve.h"
#include "util/error.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

/* ------------------------------------------------------------------------ */
/* Helpers                                                                  */
/* ------------------------------------------------------------------------ */

static struct model_config *config(const char *text)
{
	struct it_error err = { 0 };
	struct model_config *cfg =
		model_config_parse(text, strlen(text), "t.pbtxt", &err);

	if (!cfg)
		fail_msg("config does not parse: %s", err.message);
	return cfg;
}

/* Protocol names of every data type, in enum order. */
static const char *const type_names[] = {
	"BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16",
	"INT32", "INT64", "FP16", "FP32", "FP64", "BYTES", "BF16",
};
#define N_TYPES (sizeof(type_names) / sizeof(type_names[0]))

/*
 * "types": no batching, one optional input I_<T> and one output O_<T> of
 * dims [-1] per data type, in the same order, so output j mirrors input j.
 */
static struct model_config *types_config(void)
{
	struct strbuf sb;
	struct model_config *cfg;

	strbuf_init(&sb, 0);
	strbuf_adds(&sb, "name: \"types\"\nmax_batch_size: 0\n");
	for (int pass = 0; pass < 2; pass++) {
		strbuf_adds(&sb, pass ? "output [\n" : "input [\n");
		for (size_t i = 0; i < N_TYPES; i++) {
			enum datatype dt;

			assert_true(datatype_from_protocol_name(type_names[i], &dt));
			strbuf_addf(&sb, "%s{ name: \"%s_%s\" data_type: %s dims: [ -1 ]%s }\n",
				    i ? "," : "", pass ? "O" : "I", type_names[i],
				    datatype_config_name(dt),
				    pass ? "" : " optional: true");
		}
		strbuf_adds(&sb, "]\n");
	}
	cfg = config(sb.buf);
	strbuf_release(&sb);
	return cfg;
}

static const char add_sub_text[] =
	"name: \"add_sub\"\n"
	"max_batch_size: 8\n"
	"input [ { name: \"INPUT0\" data_type: TYPE_FP32 dims: [ 4 ] },\n"
	"        { name: \"INPUT1\" data_type: TYPE_FP32 dims: [ 4 ] } ]\n"
	"output [ { name: \"OUTPUT0\" data_type: TYPE_FP32 dims: [ 4 ] },\n"
	"         { name: \"OUTPUT1\" data_type: TYPE_FP32 dims: [ 4 ] },\n"
	"         { name: \"OUTPUT2\" data_type: TYPE_FP32 dims: [ 4 ] } ]\n";

static const char plain_text[] =
	"name: \"plain\"\n"
	"max_batch_size: 0\n"
	"input [ { name: \"X\" data_type: TYPE_INT32 dims: [ 2, -1 ] },\n"
	"        { name: \"S\" data_type: TYPE_STRING dims: [ -1 ] optional: true },\n"
	"        { name: \"H\" data_type: TYPE_FP16 dims: [ -1 ] optional: true },\n"
	"        { name: \"U8\" data_type: TYPE_UINT8 dims: [ -1 ] optional: true },\n"
	"        { name: \"I8\" data_type: TYPE_INT8 dims: [ -1 ] optional: true },\n"
	"        { name: \"U32\" data_type: TYPE_UINT32 dims: [ -1 ] optional: true },\n"
	"        { name: \"F\" data_type: TYPE_FP32 dims: [ -1 ] optional: true },\n"
	"        { name: \"B\" data_type: TYPE_BOOL dims: [ -1 ] optional: true },\n"
	"        { name: \"BIG\" data_type: TYPE_FP32 dims: [ -1, -1 ] optional: true } ]\n"
	"output [ { name: \"Y\" data_type: TYPE_INT32 dims: [ 2, -1 ] } ]\n";

/* A malloc'd body: JSON header then blobs; *header_len = JSON length. */
struct body {
	struct strbuf sb;
	long long header_len;
};

static void body_init(struct body *b, const char *json)
{
	strbuf_init(&b->sb, 0);
	strbuf_adds(&b->sb, json);
	b->header_len = (long long)b->sb.len;
}

static void body_blob(struct body *b, const void *data, size_t n)
{
	strbuf_add(&b->sb, data, n);
}

/* Appends a BYTES element <u32 LE len><bytes>. */
static void body_bytes_elem(struct strbuf *sb, const void *data, uint32_t n)
{
	unsigned char p[4] = { (unsigned char)n, (unsigned char)(n >> 8),
			       (unsigned char)(n >> 16), (unsigned char)(n >> 24) };

	strbuf_add(sb, p, 4);
	strbuf_add(sb, data, n);
}

static void *body_take(struct body *b, size_t *len)
{
	return strbuf_detach(&b->sb, len);
}

static struct infer_request *parse_body(const struct model_config *cfg,
					struct body *b, struct it_error *err)
{
	long long hl = b->header_len;
	size_t len;
	void *p = body_take(b, &len);

	return kserve_parse_infer(cfg, p, len, hl, err);
}

static struct infer_request *parse_json(const struct model_config *cfg,
					const char *json, struct it_error *err)
{
	size_t n = strlen(json);

	return kserve_parse_infer(cfg, xmemdup(json, n), n, -1, err);
}

static struct infer_request *json_ok(const struct model_config *cfg,
				     const char *json)
{
	struct it_error err = { 0 };
	struct infer_request *req = parse_json(cfg, json, &err);

	if (!req)
		fail_msg("request refused: %s\n%s", err.message, json);
	return req;
}

static struct infer_request *body_ok(const struct model_config *cfg,
				     struct body *b)
{
	struct it_error err = { 0 };
	struct infer_request *req = parse_body(cfg, b, &err);

	if (!req)
		fail_msg("request refused: %s", err.message);
	return req;
}

static void check_error(struct infer_request *req, const struct it_error *err,
			int code, const char *needle)
{
	if (req)
		fail_msg("request accepted, expected \"%s\"", needle);
	if (err->code != code || !strstr(err->message, needle))
		fail_msg("expected code %d with \"%s\", got code %d: %s", code,
			 needle, err->code, err->message);
}

static void json_bad(const struct model_config *cfg, const char *json,
		     int code, const char *needle)
{
	struct it_error err = { 0 };
	struct infer_request *req = parse_json(cfg, json, &err);

	check_error(req, &err, code, needle);
}

static void body_bad(const struct model_config *cfg, struct body *b,
		     int code, const char *needle)
{
	struct it_error err = { 0 };
	struct infer_request *req = parse_body(cfg, b, &err);

	check_error(req, &err, code, needle);
}

static int input_index(const struct model_config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->n_inputs; i++)
		if (!strcmp(cfg->inputs[i].name, name))
			return (int)i;
	fail_msg("no input %s", name);
	return -1;
}

/* The identity backend in miniature: output j = copy of input j. */
static void mirror_outputs(struct infer_request *req)
{
	for (size_t j = 0; j < req->n_outputs && j < req->n_inputs; j++) {
		const struct tensor *in = &req->inputs[j];
		struct tensor *out = &req->outputs[j];

		out->datatype = in->datatype;
		memcpy(out->shape, in->shape, sizeof(out->shape));
		out->n_dims = in->n_dims;
		out->byte_size = in->byte_size;
		out->data = in->data ? xmemdup(in->data, in->byte_size) : NULL;
	}
}

struct response {
	struct strbuf sb;
	size_t json_len;
	bool binary;
	json_t *json;
};

static void respond(const struct infer_request *req, struct response *r)
{
	struct it_error err = { 0 };
	json_error_t jerr;
	int rc;

	strbuf_init(&r->sb, 0);
	r->json_len = 0;
	r->binary = false;
	rc = kserve_write_response(req, "m", "1", &r->sb, &r->json_len,
				   &r->binary, &err);
	if (rc)
		fail_msg("write_response: %s", err.message);
	r->json = json_loadb(r->sb.buf, r->json_len, JSON_ALLOW_NUL, &jerr);
	if (!r->json)
		fail_msg("response JSON does not parse: %s\n%.*s", jerr.text,
			 (int)r->json_len, r->sb.buf);
}

static void response_release(struct response *r)
{
	json_decref(r->json);
	strbuf_release(&r->sb);
}

/* The response's output object named `name`, or NULL. */
static json_t *response_output(const struct response *r, const char *name)
{
	json_t *outs = json_object_get(r->json, "outputs");
	size_t i;
	json_t *o;

	json_array_foreach(outs, i, o) {
		if (!strcmp(json_string_value(json_object_get(o, "name")), name))
			return o;
	}
	return NULL;
}

/* Deterministic PRNG (xorshift64*). */
static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;

static uint64_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1DULL;
}

/* ------------------------------------------------------------------------ */
/* JSON round trips                                                         */
/* ------------------------------------------------------------------------ */

struct json_case {
	const char *type;
	const char *data;            /* request "data", nested or flat */
	int64_t elements;
	const unsigned char *bytes;  /* expected tensor bytes */
	size_t n_bytes;
	const char *out;             /* expected response "data" text */
};

#define B(...) (const unsigned char[]){ __VA_ARGS__ }, sizeof((const unsigned char[]){ __VA_ARGS__ })

static const struct json_case json_cases[] = {
	{ "BOOL", "[true,[false,true]]", 3, B(1, 0, 1), "[true,false,true]" },
	{ "UINT8", "[0,255,[7]]", 3, B(0, 255, 7), "[0,255,7]" },
	{ "UINT16", "[[0],[65535]]", 2, B(0, 0, 0xff, 0xff), "[0,65535]" },
	{ "UINT32", "[[4294967295],[1]]", 2,
	  B(0xff, 0xff, 0xff, 0xff, 1, 0, 0, 0), "[4294967295,1]" },
	{ "UINT64", "[9223372036854775807,0]", 2,
	  B(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0, 0, 0, 0, 0),
	  "[9223372036854775807,0]" },
	{ "INT8", "[[-128,0],[127,-1]]", 4, B(0x80, 0, 0x7f, 0xff),
	  "[-128,0,127,-1]" },
	{ "INT16", "[-32768,32767]", 2, B(0, 0x80, 0xff, 0x7f),
	  "[-32768,32767]" },
	{ "INT32", "[-2147483648,[[2147483647]]]", 2,
	  B(0, 0, 0, 0x80, 0xff, 0xff, 0xff, 0x7f),
	  "[-2147483648,2147483647]" },
	{ "INT64", "[-9223372036854775808,[9223372036854775807]]", 2,
	  B(0, 0, 0, 0, 0, 0, 0, 0x80, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f),
	  "[-9223372036854775808,9223372036854775807]" },
	/* 0.1f, -2.5f, 1 (an integer is a number too), -0.0f */
	{ "FP32", "[0.1,[-2.5],1,-0.0]", 4,
	  B(0xcd, 0xcc, 0xcc, 0x3d, 0, 0, 0x20, 0xc0, 0, 0, 0x80, 0x3f, 0, 0, 0, 0x80),
	  "[0.1,-2.5,1,-0]" },
	{ "FP64", "[0.1,[[2]]]", 2,
	  B(0x9a, 0x99, 0x99, 0x99, 0x99, 0x99, 0xb9, 0x3f, 0, 0, 0, 0, 0, 0, 0, 0x40),
	  "[0.1,2]" },
	{ "BYTES", "[\"\",\"hello\",[\"a\\u0000b\"],\"\\u00e9\\\"\"]", 4,
	  B(0, 0, 0, 0, 5, 0, 0, 0, 'h', 'e', 'l', 'l', 'o', 3, 0, 0, 0, 'a', 0,
	    'b', 3, 0, 0, 0, 0xc3, 0xa9, '"'),
	  "[\"\",\"hello\",\"a\\u0000b\",\"\xc3\xa9\\\"\"]" },
};

static void test_json_round_trip_every_type(void **state)
{
	struct model_config *cfg = types_config();

	(void)state;
	for (size_t c = 0; c < sizeof(json_cases) / sizeof(json_cases[0]); c++) {
		const struct json_case *jc = &json_cases[c];
		char json[1024], out[512], name[32];
		struct infer_request *req;
		struct response r;
		const struct tensor *t;
		int k;

		snprintf(name, sizeof(name), "I_%s", jc->type);
		snprintf(json, sizeof(json),
			 "{\"id\":\"c%zu\",\"inputs\":[{\"name\":\"%s\",\"shape\":[%" PRId64 "],\"datatype\":\"%s\",\"data\":%s}],"
			 "\"outputs\":[{\"name\":\"O_%s\"}]}",
			 c, name, jc->elements, jc->type, jc->data, jc->type);
		req = json_ok(cfg, json);
		k = input_index(cfg, name);
		t = &req->inputs[k];
		assert_int_equal(t->n_dims, 1);
		assert_int_equal(t->shape[0], jc->elements);
		assert_int_equal(t->byte_size, jc->n_bytes);
		assert_memory_equal(t->data, jc->bytes, jc->n_bytes);
		/* Inputs not sent are optional here: data NULL, rank 0. */
		for (size_t i = 0; i < cfg->n_inputs; i++)
			if ((int)i != k)
				assert_true(req->inputs[i].data == NULL &&
					    req->inputs[i].n_dims == 0);
		assert_true(req->output_requested[k]);
		assert_false(req->output_binary[k]);

		mirror_outputs(req);
		respond(req, &r);
		assert_false(r.binary);
		assert_int_equal(r.json_len, r.sb.len);
		snprintf(out, sizeof(out), "\"data\":%s}", jc->out);
		if (!strstr(r.sb.buf, out))
			fail_msg("%s: expected %s in %s", jc->type, out, r.sb.buf);
		assert_null(strstr(r.sb.buf, "parameters"));
		assert_int_equal(json_array_size(json_object_get(r.json, "outputs")), 1);
		response_release(&r);
		infer_request_free(req);
	}
	model_config_free(cfg);
}

/* Every finite float goes to JSON text and back bit-exact; text is short. */
static void test_fp_json_output_round_trips(void **state)
{
	struct model_config *cfg = types_config();
	int kf = input_index(cfg, "I_FP32"), kd = input_index(cfg, "I_FP64");
	enum { N = 4000 };
	float *f = xmalloc(N * sizeof(*f));
	double *d = xmalloc(N * sizeof(*d));
	struct infer_request *req;
	struct response r;
	json_t *data;

	(void)state;
	for (int i = 0; i < N; i++) {
		uint64_t x = rng();
		uint32_t fb = (uint32_t)x;

		do {
			memcpy(&f[i], &fb, 4);
			fb = (uint32_t)rng();
		} while (!isfinite(f[i]));
		do {
			memcpy(&d[i], &x, 8);
			x = rng();
		} while (!isfinite(d[i]));
	}
	f[0] = 0.1f;
	f[1] = 3.4028235e38f;
	f[2] = 1e-45f;
	d[0] = 5e-324;
	req = json_ok(cfg, "{\"inputs\":[]}");
	req->outputs[kf].datatype = DATATYPE_FP32;
	req->outputs[kf].shape[0] = N;
	req->outputs[kf].n_dims = 1;
	req->outputs[kf].data = xmemdup(f, N * sizeof(*f));
	req->outputs[kf].byte_size = N * sizeof(*f);
	req->outputs[kd].datatype = DATATYPE_FP64;
	req->outputs[kd].shape[0] = N;
	req->outputs[kd].n_dims = 1;
	req->outputs[kd].data = xmemdup(d, N * sizeof(*d));
	req->outputs[kd].byte_size = N * sizeof(*d);
	for (size_t j = 0; j < cfg->n_outputs; j++)
		req->output_requested[j] = (int)j == kf || (int)j == kd;
	respond(req, &r);
	assert_non_null(strstr(r.sb.buf, "[0.1,3.4028235e+38,1.4013e-45,"));
	assert_non_null(strstr(r.sb.buf, "[4.94065645841247e-324,"));

	/* Re-read each FP32 token with strtof, not through a double. */
	{
		const char *p = strstr(r.sb.buf, "\"O_FP32\"");

		assert_non_null(p);
		p = strstr(p, "\"data\":[") + 8;
		for (int i = 0; i < N; i++) {
			char *end;
			float v = strtof(p, &end);

			if (memcmp(&v, &f[i], 4))
				fail_msg("FP32 %d: %.9g came back as %.9g", i,
					 (double)f[i], (double)v);
			/* At most 9 digits: "-1.23456789e-38" is 15 bytes. */
			assert_true(end - p <= 15);
			p = end + 1;
		}
	}
	data = json_object_get(response_output(&r, "O_FP64"), "data");
	assert_int_equal(json_array_size(data), N);
	for (int i = 0; i < N; i++) {
		double v = json_number_value(json_array_get(data, (size_t)i));

		if (memcmp(&v, &d[i], 8))
			fail_msg("FP64 %d: %.17g came back as %.17g", i, d[i], v);
	}
	response_release(&r);
	infer_request_free(req);
	free(f);
	free(d);
	model_config_free(cfg);
}

/* Non-finite floats use Python json's spelling; UINT64 full range. */
static void test_json_output_special_values(void **state)
{
	struct model_config *cfg = types_config();
	int kf = input_index(cfg, "I_FP32"), ku = input_index(cfg, "I_UINT64");
	float f[3] = { NAN, INFINITY, -INFINITY };
	uint64_t u[2] = { UINT64_MAX, 1 };
	struct infer_request *req = json_ok(cfg, "{\"inputs\":[]}");
	struct strbuf sb;
	struct it_error err = { 0 };
	size_t json_len;
	bool binary;

	(void)state;
	req->outputs[kf] = (struct tensor){ .datatype = DATATYPE_FP32,
		.shape = { 3 }, .n_dims = 1, .data = xmemdup(f, sizeof(f)),
		.byte_size = sizeof(f) };
	req->outputs[ku] = (struct tensor){ .datatype = DATATYPE_UINT64,
		.shape = { 2 }, .n_dims = 1, .data = xmemdup(u, sizeof(u)),
		.byte_size = sizeof(u) };
	for (size_t j = 0; j < cfg->n_outputs; j++)
		req->output_requested[j] = (int)j == kf || (int)j == ku;
	strbuf_init(&sb, 0);
	assert_int_equal(kserve_write_response(req, "types", "1", &sb,
					       &json_len, &binary, &err), 0);
	assert_non_null(strstr(sb.buf, "\"data\":[NaN,Infinity,-Infinity]"));
	assert_non_null(strstr(sb.buf, "\"data\":[18446744073709551615,1]"));
	strbuf_release(&sb);
	infer_request_free(req);
	model_config_free(cfg);
}

/* ------------------------------------------------------------------------ */
/* Binary round trips                                                       */
/* ------------------------------------------------------------------------ */

static void test_binary_round_trip_every_type(void **state)
{
	struct model_config *cfg = types_config();

	(void)state;
	for (size_t c = 0; c < N_TYPES; c++) {
		const char *type = type_names[c];
		enum datatype dt;
		size_t size, n_blob;
		unsigned char *blob;
		struct strbuf bs;
		char json[512], name[32];
		struct body b;
		struct infer_request *req;
		struct response r;
		const struct tensor *t;
		json_t *o;
		int k;

		assert_true(datatype_from_protocol_name(type, &dt));
		size = datatype_size_bytes(dt);
		strbuf_init(&bs, 0);
		if (dt == DATATYPE_STRING) {
			body_bytes_elem(&bs, "", 0);
			body_bytes_elem(&bs, "\xff\x00\x80", 3);
			body_bytes_elem(&bs, "xyz", 3);
		} else {
			for (size_t i = 0; i < 3 * size; i++) {
				unsigned char v = dt == DATATYPE_BOOL ?
					(unsigned char)(i & 1) :
					(unsigned char)(rng() & 0x7f);

				strbuf_addch(&bs, v);
			}
		}
		blob = (unsigned char *)strbuf_detach(&bs, &n_blob);
		snprintf(name, sizeof(name), "I_%s", type);
		/* An odd-length header puts the blob at an odd offset. */
		snprintf(json, sizeof(json),
			 "{\"inputs\":[{\"name\":\"%s\",\"shape\":[3],\"datatype\":\"%s\",\"parameters\":{\"binary_data_size\":%zu}}],"
			 "\"outputs\":[{\"name\":\"O_%s\",\"parameters\":{\"binary_data\":true}}]}%s",
			 name, type, n_blob, type,
			 strlen(name) % 2 ? "" : " ");
		body_init(&b, json);
		body_blob(&b, blob, n_blob);
		req = body_ok(cfg, &b);
		k = input_index(cfg, name);
		t = &req->inputs[k];
		assert_int_equal(t->datatype, dt);
		assert_int_equal(t->shape[0], 3);
		assert_int_equal(t->byte_size, n_blob);
		assert_memory_equal(t->data, blob, n_blob);
		if (size > 1)
			assert_int_equal((uintptr_t)t->data % size, 0);
		assert_true(req->output_binary[k]);

		mirror_outputs(req);
		respond(req, &r);
		assert_true(r.binary);
		assert_int_equal(r.sb.len, r.json_len + n_blob);
		assert_memory_equal(r.sb.buf + r.json_len, blob, n_blob);
		assert_null(response_output(&r, name)); /* outputs only */
		name[0] = 'O';
		o = response_output(&r, name);
		assert_non_null(o);
		assert_string_equal(json_string_value(json_object_get(o, "datatype")), type);
		assert_null(json_object_get(o, "data"));
		assert_int_equal(json_integer_value(json_object_get(
			json_object_get(o, "parameters"), "binary_data_size")),
			n_blob);
		response_release(&r);

		/* The same output as JSON (not for FP16/BF16: an error). */
		req->output_binary[k] = false;
		if (dt == DATATYPE_FP16 || dt == DATATYPE_BF16) {
			struct strbuf sb;
			struct it_error err = { 0 };
			size_t jl = 0;
			bool bin = false;

			strbuf_init(&sb, 0);
			strbuf_adds(&sb, "keep");
			assert_int_equal(kserve_write_response(req, "m", "1", &sb,
							       &jl, &bin, &err),
					 IT_ERR_INVALID);
			assert_non_null(strstr(err.message, "via JSON is not supported"));
			assert_non_null(strstr(err.message, "output 'O_"));
			assert_string_equal(sb.buf, "keep");
			strbuf_release(&sb);
		} else {
			respond(req, &r);
			assert_false(r.binary);
			if (dt == DATATYPE_STRING)
				assert_non_null(strstr(r.sb.buf,
					"\"data\":[\"\",\"\\u00ff\\u0000\\u0080\",\"xyz\"]"));
			response_release(&r);
		}
		infer_request_free(req);
		free(blob);
	}
	model_config_free(cfg);
}

static void test_mixed_json_and_binary(void **state)
{
	struct model_config *cfg = types_config();
	int32_t i32[2] = { -7, 9 };
	uint16_t u16[3] = { 1, 2, 65535 };
	struct body b;
	struct infer_request *req;
	const struct tensor *t;

	(void)state;
	body_init(&b, "{\"inputs\":["
		  "{\"name\":\"I_INT32\",\"shape\":[2],\"datatype\":\"INT32\",\"parameters\":{\"binary_data_size\":8}},"
		  "{\"name\":\"I_FP64\",\"shape\":[1],\"datatype\":\"FP64\",\"data\":[1.5]},"
		  "{\"name\":\"I_BYTES\",\"shape\":[0],\"datatype\":\"BYTES\",\"parameters\":{\"binary_data_size\":0}},"
		  "{\"name\":\"I_UINT16\",\"shape\":[3],\"datatype\":\"UINT16\",\"parameters\":{\"binary_data_size\":6}}]}");
	body_blob(&b, i32, sizeof(i32));
	body_blob(&b, u16, sizeof(u16));
	req = body_ok(cfg, &b);
	t = &req->inputs[input_index(cfg, "I_INT32")];
	assert_memory_equal(t->data, i32, sizeof(i32));
	t = &req->inputs[input_index(cfg, "I_UINT16")];
	assert_memory_equal(t->data, u16, sizeof(u16));
	t = &req->inputs[input_index(cfg, "I_FP64")];
	assert_true(*(const double *)t->data == 1.5);
	t = &req->inputs[input_index(cfg, "I_BYTES")];
	assert_int_equal(t->byte_size, 0);
	assert_int_equal(t->n_dims, 1);
	assert_int_equal(t->shape[0], 0);
	assert_non_null(t->data); /* empty, but sent: not "missing" */
	/* No outputs listed and no binary_data_output: all outputs, JSON. */
	for (size_t j = 0; j < cfg->n_outputs; j++) {
		assert_true(req->output_requested[j]);
		assert_false(req->output_binary[j]);
	}
	infer_request_free(req);
	model_config_free(cfg);
}

/* ------------------------------------------------------------------------ */
/* id, outputs, batching                                                    */
/* ------------------------------------------------------------------------ */

static const char add_sub_inputs[] =
	"\"inputs\":[{\"name\":\"INPUT0\",\"shape\":[1,4],\"datatype\":\"FP32\",\"data\":[1,2,3,4]},"
	"{\"name\":\"INPUT1\",\"shape\":[1,4],\"datatype\":\"FP32\",\"data\":[[1,1,1,1]]}]";

static struct infer_request *add_sub_request(const struct model_config *cfg,
					     const char *prefix,
					     const char *suffix)
{
	char json[2048];

	snprintf(json, sizeof(json), "{%s%s%s}", prefix, add_sub_inputs, suffix);
	return json_ok(cfg, json);
}

/* Fills every output with [batch, 4] floats. */
static void fill_add_sub_outputs(struct infer_request *req)
{
	for (size_t j = 0; j < req->n_outputs; j++) {
		struct tensor *t = &req->outputs[j];
		float *f = xcalloc((size_t)req->batch_size * 4, sizeof(*f));

		for (int64_t i = 0; i < req->batch_size * 4; i++)
			f[i] = (float)(j * 100 + (size_t)i);
		t->datatype = DATATYPE_FP32;
		t->shape[0] = req->batch_size;
		t->shape[1] = 4;
		t->n_dims = 2;
		t->data = f;
		t->byte_size = (size_t)req->batch_size * 4 * sizeof(*f);
	}
}

static void test_id_echo(void **state)
{
	struct model_config *cfg = config(add_sub_text);
	struct infer_request *req;
	struct response r;

	(void)state;
	req = add_sub_request(cfg, "\"id\":\"my \\\"id\\\"\",", "");
	assert_string_equal(req->id, "my \"id\"");
	fill_add_sub_outputs(req);
	respond(req, &r);
	{
		static const char head[] = "{\"id\":\"my \\\"id\\\"\",\"model_name\":\"m\",\"model_version\":\"1\",\"outputs\":[{";

		assert_int_equal(strncmp(r.sb.buf, head, strlen(head)), 0);
	}
	response_release(&r);
	infer_request_free(req);

	/* The C++ client's "id":"" is not echoed; nor is a missing id. */
	req = add_sub_request(cfg, "\"id\":\"\",", "");
	assert_string_equal(req->id, "");
	fill_add_sub_outputs(req);
	respond(req, &r);
	assert_null(json_object_get(r.json, "id"));
	assert_int_equal(strncmp(r.sb.buf, "{\"model_name\":", 14), 0);
	response_release(&r);
	infer_request_free(req);

	req = add_sub_request(cfg, "", "");
	assert_string_equal(req->id, "");
	infer_request_free(req);

	json_bad(cfg, "{\"id\":5,\"inputs\":[]}", IT_ERR_INVALID,
		 "Unable to parse 'id'");
	model_config_free(cfg);
}

static void test_outputs_selection(void **state)
{
	struct model_config *cfg = config(add_sub_text);
	struct infer_request *req;
	struct response r;
	json_t *outs;

	(void)state;
	/* Listed: OUTPUT2 binary, OUTPUT0 without binary_data → JSON. */
	req = add_sub_request(cfg, "",
			      ",\"outputs\":[{\"name\":\"OUTPUT2\",\"parameters\":{\"binary_data\":true}},{\"name\":\"OUTPUT0\"}]");
	assert_true(req->output_requested[0]);
	assert_false(req->output_requested[1]);
	assert_true(req->output_requested[2]);
	assert_false(req->output_binary[0]);
	assert_true(req->output_binary[2]);
	fill_add_sub_outputs(req);
	respond(req, &r);
	assert_true(r.binary);
	outs = json_object_get(r.json, "outputs");
	assert_int_equal(json_array_size(outs), 2);
	/* Config order, not request order. */
	assert_string_equal(json_string_value(json_object_get(json_array_get(outs, 0), "name")), "OUTPUT0");
	assert_string_equal(json_string_value(json_object_get(json_array_get(outs, 1), "name")), "OUTPUT2");
	assert_null(json_object_get(json_array_get(outs, 0), "parameters"));
	assert_non_null(json_object_get(json_array_get(outs, 0), "data"));
	assert_int_equal(json_integer_value(json_object_get(json_array_get(outs, 0), "shape") ?
		json_array_get(json_object_get(json_array_get(outs, 0), "shape"), 1) : NULL), 4);
	assert_int_equal(r.sb.len, r.json_len + 16);
	{
		float f[4];

		memcpy(f, r.sb.buf + r.json_len, sizeof(f));
		assert_true(f[0] == 200.0f && f[3] == 203.0f);
	}
	response_release(&r);
	infer_request_free(req);

	/* binary_data_output: default for unlisted outputs only. */
	req = add_sub_request(cfg, "\"parameters\":{\"binary_data_output\":true},", "");
	for (size_t j = 0; j < 3; j++)
		assert_true(req->output_requested[j] && req->output_binary[j]);
	infer_request_free(req);
	req = add_sub_request(cfg, "\"parameters\":{\"binary_data_output\":true},",
			      ",\"outputs\":[{\"name\":\"OUTPUT1\"}]");
	assert_true(req->output_requested[1]);
	assert_false(req->output_binary[1]);
	assert_false(req->output_requested[0] || req->output_requested[2]);
	infer_request_free(req);
	/* An empty list means every output, in the default kind. */
	req = add_sub_request(cfg, "\"parameters\":{\"binary_data_output\":true,\"custom\":\"x\",\"n\":1.5},",
			      ",\"outputs\":[]");
	for (size_t j = 0; j < 3; j++)
		assert_true(req->output_requested[j] && req->output_binary[j]);
	infer_request_free(req);
	/* A name listed twice keeps its first entry. */
	req = add_sub_request(cfg, "",
			      ",\"outputs\":[{\"name\":\"OUTPUT1\",\"parameters\":{\"binary_data\":true}},{\"name\":\"OUTPUT1\",\"parameters\":{\"binary_data\":false}}]");
	assert_true(req->output_binary[1]);
	infer_request_free(req);
	/* An all-JSON response is not binary and has no trailing bytes. */
	req = add_sub_request(cfg, "", ",\"outputs\":[{\"name\":\"OUTPUT1\",\"parameters\":{\"binary_data\":false}}]");
	fill_add_sub_outputs(req);
	respond(req, &r);
	assert_false(r.binary);
	assert_int_equal(r.json_len, r.sb.len);
	assert_non_null(strstr(r.sb.buf, "\"data\":[100,101,102,103]"));
	response_release(&r);
	infer_request_free(req);

	{
		char json[1024];
		struct it_error err = { 0 };

		snprintf(json, sizeof(json), "{%s,\"outputs\":[{\"name\":\"NOPE\"}]}", add_sub_inputs);
		check_error(parse_json(cfg, json, &err), &err, IT_ERR_INVALID,
			    "unexpected inference output 'NOPE' for model 'add_sub'");
		snprintf(json, sizeof(json), "{%s,\"outputs\":[{\"name\":\"OUTPUT0\",\"parameters\":{\"binary_data\":1}}]}", add_sub_inputs);
		check_error(parse_json(cfg, json, &err), &err, IT_ERR_INVALID,
			    "Unable to parse 'binary_data' of output 'OUTPUT0'");
		snprintf(json, sizeof(json), "{%s,\"outputs\":[{\"name\":\"OUTPUT0\",\"parameters\":{\"classification\":3}}]}", add_sub_inputs);
		check_error(parse_json(cfg, json, &err), &err, IT_ERR_UNSUPPORTED,
			    "classification");
		snprintf(json, sizeof(json), "{%s,\"outputs\":[{\"name\":\"OUTPUT0\",\"parameters\":{\"shared_memory_region\":\"r\"}}]}", add_sub_inputs);
		check_error(parse_json(cfg, json, &err), &err, IT_ERR_INVALID,
			    "shared memory");
		snprintf(json, sizeof(json), "{%s,\"outputs\":{}}", add_sub_inputs);
		check_error(parse_json(cfg, json, &err), &err, IT_ERR_INVALID,
			    "Unable to parse 'outputs'");
		snprintf(json, sizeof(json), "{%s,\"outputs\":[{\"nam\":\"OUTPUT0\"}]}", add_sub_inputs);
		check_error(parse_json(cfg, json, &err), &err, IT_ERR_INVALID,
			    "Unable to parse 'name' of outputs[0]");
	}
	model_config_free(cfg);
}

static void test_client_side_batching(void **state)
{
	struct model_config *cfg = config(add_sub_text);
	struct model_config *plain = config(plain_text);
	struct infer_request *req;
	char json[2048], data[512];
	size_t n = 0;

	(void)state;
	n += (size_t)snprintf(data + n, sizeof(data) - n, "[");
	for (int i = 0; i < 16; i++)
		n += (size_t)snprintf(data + n, sizeof(data) - n, "%s%d", i ? "," : "", i);
	snprintf(data + n, sizeof(data) - n, "]");
	snprintf(json, sizeof(json),
		 "{\"inputs\":[{\"name\":\"INPUT0\",\"shape\":[4,4],\"datatype\":\"FP32\",\"data\":%s},"
		 "{\"name\":\"INPUT1\",\"shape\":[4,4],\"datatype\":\"FP32\",\"data\":%s}]}", data, data);
	req = json_ok(cfg, json);
	assert_int_equal(req->batch_size, 4);
	assert_int_equal(req->inputs[0].n_dims, 2);
	assert_int_equal(req->inputs[0].shape[0], 4);
	assert_int_equal(req->inputs[0].byte_size, 64);
	assert_true(((const float *)req->inputs[1].data)[15] == 15.0f);
	infer_request_free(req);

	json_bad(cfg, "{\"inputs\":[{\"name\":\"INPUT0\",\"shape\":[9,4],\"datatype\":\"FP32\",\"parameters\":{\"binary_data_size\":144}}]}",
		 IT_ERR_INVALID, "inference request batch-size must be <= 8 for 'add_sub'");
	json_bad(cfg, "{\"inputs\":[{\"name\":\"INPUT0\",\"shape\":[0,4],\"datatype\":\"FP32\",\"data\":[]}]}",
		 IT_ERR_INVALID, "batch size 0");
	json_bad(cfg, "{\"inputs\":[{\"name\":\"INPUT0\",\"shape\":[1,4],\"datatype\":\"FP32\",\"data\":[1,2,3,4]},"
		 "{\"name\":\"INPUT1\",\"shape\":[2,4],\"datatype\":\"FP32\",\"data\":[1,2,3,4,5,6,7,8]}]}",
		 IT_ERR_INVALID, "input 'INPUT1' batch size does not match other inputs for 'add_sub'");

	/* No batching: no batch dimension, batch_size 1. */
	req = json_ok(plain, "{\"inputs\":[{\"name\":\"X\",\"shape\":[2,3],\"datatype\":\"INT32\",\"data\":[[1,2,3],[4,5,6]]}]}");
	assert_int_equal(req->batch_size, 1);
	assert_int_equal(req->inputs[0].shape[1], 3);
	infer_request_free(req);
	model_config_free(cfg);
	model_config_free(plain);
}

/* ------------------------------------------------------------------------ */
/* Bad input                                                                */
/* ------------------------------------------------------------------------ */

static void test_bad_json(void **state)
{
	struct model_config *cfg = config(plain_text);

	(void)state;
	json_bad(cfg, "{\"inputs\":[", IT_ERR_PARSE, "failed to parse the request JSON");
	json_bad(cfg, "", IT_ERR_PARSE, "failed to parse the request JSON");
	json_bad(cfg, "{\"inputs\":[]} x", IT_ERR_PARSE, "failed to parse the request JSON");
	json_bad(cfg, "[1,2]", IT_ERR_INVALID, "must be an object, got an array");
	json_bad(cfg, "\"x\"", IT_ERR_PARSE, "failed to parse");
	json_bad(cfg, "{\"inputs\":[],\"inputs\":[]}", IT_ERR_PARSE, "duplicate");
	json_bad(cfg, "{\"id\":\"\xff\",\"inputs\":[]}", IT_ERR_PARSE, "failed to parse");
	json_bad(cfg, "{\"inputs\":[{\"name\":\"U32\",\"shape\":[1],\"datatype\":\"UINT32\",\"data\":[18446744073709551615]}]}",
		 IT_ERR_PARSE, "send larger UINT64 values as binary data");
	json_bad(cfg, "{}", IT_ERR_INVALID, "Unable to parse 'inputs'");
	json_bad(cfg, "{\"inputs\":{}}", IT_ERR_INVALID, "Unable to parse 'inputs': expected an array");
	json_bad(cfg, "{\"inputs\":[1]}", IT_ERR_INVALID, "element 0 must be an object");
	json_bad(cfg, "{\"inputs\":[{\"shape\":[2,1]}]}", IT_ERR_INVALID, "Unable to parse 'name' of inputs[0]");
	model_config_free(cfg);
}

static void test_bad_inputs(void **state)
{
	struct model_config *cfg = config(plain_text);
	struct model_config *add_sub = config(add_sub_text);

	(void)state;
	/* Missing, unknown, duplicate. */
	json_bad(add_sub, "{\"inputs\":[{\"name\":\"INPUT1\",\"shape\":[1,4],\"datatype\":\"FP32\",\"data\":[1,2,3,4]}]}",
		 IT_ERR_INVALID,
		 "expected 2 inputs but got 1 inputs for model 'add_sub'. Got inputs ['INPUT1'], but missing required inputs ['INPUT0']");
	json_bad(cfg, "{\"inputs\":[]}", IT_ERR_INVALID,
		 "expected number of inputs between 1 and 9 but got 0 inputs for model 'plain'. Got inputs [], but missing required inputs ['X']");
	json_bad(cfg, "{\"inputs\":[{\"name\":\"Z\",\"shape\":[1],\"datatype\":\"INT32\",\"data\":[1]}]}",
		 IT_ERR_INVALID, "unexpected inference input 'Z' for model 'plain'");
	json_bad(cfg, "{\"inputs\":[{\"name\":\"X\",\"shape\":[2,1],\"datatype\":\"INT32\",\"data\":[1,2]},"
		 "{\"name\":\"X\",\"shape\":[2,1],\"datatype\":\"INT32\",\"data\":[1,2]}]}",
		 IT_ERR_INVALID, "input 'X' already exists in request");
	/* Datatype. */
	json_bad(cfg, "{\"inputs\":[{\"name\":\"X\",\"shape\":[2,1],\"datatype\":\"FP32\",\"data\":[1,2]}]}",
		 IT_ERR_INVALID, "inference input 'X' data-type is 'FP32', but model 'plain' expects 'INT32'");
	json_bad(cfg, "{\"inputs\":[{\"name\":\"X\",\"shape\":[2,1],\"datatype\":\"FLOAT\",\"data\":[1,2]}]}",
		 IT_ERR_INVALID, "invalid datatype 'FLOAT' for input 'X'");
	json_bad(cfg, "{\"inputs\":[{\"name\":\"X\",\"shape\":[2,1],\"data\":[1,2]}]}",
		 IT_ERR_INVALID, "Unable to parse 'datatype' of input 'X'");
	/* Shape: rank, fixed dim, not integers. */
	json_bad(cfg, "{\"inputs\":[{\"name\":\"X\",\"shape\":[2],\"datatype\":\"INT32\",\"data\":[1,2]}]}",
		 IT_ERR_INVALID, "unexpected shape for input 'X' for model 'plain'. Expected [2,-1], got [2].");
	json_bad(cfg, "{\"inputs\":[{\"name\":\"X\",\"shape\":[3,1],\"datatype\":\"INT32\",\"data\":[1,2,3]}]}",
		 IT_ERR_INVALID, "Expected [2,-1], got [3,1]");
	json_bad(add_sub, "{\"inputs\":[{\"name\":\"INPUT0\",\"shape\":[4],\"datatype\":\"FP32\",\"data\":[1,2,3,4]}]}",
		 IT_ERR_INVALID, "Expected [-1,4], got [4]. NOTE: Setting a non-zero max_batch_size");
	json_bad(cfg, "{\"inputs\":[{\"name\":\"X\",\"shape\":[2,-1],\"datatype\":\"INT32\",\"data\":[1,2]}]}",
		 IT_ERR_INVALID, "dimension 1 must be a non-negative integer, got -1");
	json_bad(cfg, "{\"inputs\":[{\"name\":\"X\",\"shape\":[2,1.0],\"datatype\":\"INT32\",\"data\":[1,2]}]}",
		 IT_ERR_INVALID, "Unable to parse 'shape' of input 'X'");
	json_bad(cfg, "{\"inputs\":[{\"name\":\"X\",\"shape\":\"2,1\",\"datatype\":\"INT32\",\"data\":[1,2]}]}",
		 IT_ERR_INVALID, "Unable to parse 'shape' of input 'X': expected an array");
	json_bad(cfg, "{\"inputs\":[{\"name\":\"X\",\"shape\":[2,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1],\"datatype\":\"INT32\",\"data\":[1,2]}]}",
		 IT_ERR_INVALID, "17 dimensions; at most 16");
	/* Element count. */
	json_bad(cfg, "{\"inputs\":[{\"name\":\"X\",\"shape\":[2,2],\"datatype\":\"INT32\",\"data\":[1,2,3]}]}",
		 IT_ERR_INVALID, "Unable to parse 'data' of input 'X': shape has 4 elements but 'data' holds 3");
	json_bad(cfg, "{\"inputs\":[{\"name\":\"X\",\"shape\":[2,1],\"datatype\":\"INT32\",\"data\":[[1],[2],[3]]}]}",
		 IT_ERR_INVALID, "shape has 2 elements but 'data' holds 3");
	json_bad(cfg, "{\"inputs\":[{\"name\":\"X\",\"shape\":[2,0],\"datatype\":\"INT32\",\"data\":[1]}]}",
		 IT_ERR_INVALID, "shape has 0 elements but 'data' holds 1");
	json_bad(cfg, "{\"inputs\":[{\"name\":\"X\",\"shape\":[2,1],\"datatype\":\"INT32\",\"data\":5}]}",
		 IT_ERR_INVALID, "Unable to parse 'data' of input 'X': expected an array, got an integer");
	/* FP32 from JSON: out-of-range doubles become infinities. */
	{
		struct infer_request *req = json_ok(cfg,
			"{\"inputs\":[{\"name\":\"X\",\"shape\":[2,1],\"datatype\":\"INT32\",\"data\":[1,2]},"
			"{\"name\":\"F\",\"shape\":[3],\"datatype\":\"FP32\",\"data\":[1e300,-1e39,3.4028235e38]}]}");
		const float *f = req->inputs[input_index(cfg, "F")].data;

		assert_true(isinf(f[0]) && f[0] > 0);
		assert_true(isinf(f[1]) && f[1] < 0);
		assert_true(f[2] == 3.4028235e38f);
		infer_request_free(req);
	}
	/* Types and ranges, with the element index. */
	json_bad(cfg, "{\"inputs\":[{\"name\":\"X\",\"shape\":[2,1],\"datatype\":\"INT32\",\"data\":[1,2147483648]}]}",
		 IT_ERR_INVALID, "element 1 is 2147483648, out of range for INT32");
	json_bad(cfg, "{\"inputs\":[{\"name\":\"X\",\"shape\":[2,1],\"datatype\":\"INT32\",\"data\":[1,2.5]}]}",
		 IT_ERR_INVALID, "element 1 must be an integer for INT32, got a number with a fraction or exponent");
	json_bad(cfg, "{\"inputs\":[{\"name\":\"X\",\"shape\":[2,1],\"datatype\":\"INT32\",\"data\":[1,2]},"
		 "{\"name\":\"I8\",\"shape\":[3],\"datatype\":\"INT8\",\"data\":[0,-128,128]}]}",
		 IT_ERR_INVALID, "input 'I8': element 2 is 128, out of range for INT8 [-128, 127]");
	json_bad(cfg, "{\"inputs\":[{\"name\":\"X\",\"shape\":[2,1],\"datatype\":\"INT32\",\"data\":[1,2]},"
		 "{\"name\":\"I8\",\"shape\":[1],\"datatype\":\"INT8\",\"data\":[-129]}]}",
		 IT_ERR_INVALID, "element 0 is -129, out of range for INT8");
	json_bad(cfg, "{\"inputs\":[{\"name\":\"X\",\"shape\":[2,1],\"datatype\":\"INT32\",\"data\":[1,2]},"
		 "{\"name\":\"U8\",\"shape\":[2],\"datatype\":\"UINT8\",\"data\":[255,256]}]}",
		 IT_ERR_INVALID, "input 'U8': element 1 is 256, out of range for UINT8 [0, 255]");
	json_bad(cfg, "{\"inputs\":[{\"name\":\"X\",\"shape\":[2,1],\"datatype\":\"INT32\",\"data\":[1,2]},"
		 "{\"name\":\"U32\",\"shape\":[2],\"datatype\":\"UINT32\",\"data\":[[0],[-1]]}]}",
		 IT_ERR_INVALID, "input 'U32': element 1 is -1, out of range for UINT32");
	json_bad(cfg, "{\"inputs\":[{\"name\":\"X\",\"shape\":[2,1],\"datatype\":\"INT32\",\"data\":[1,2]},"
		 "{\"name\":\"F\",\"shape\":[2],\"datatype\":\"FP32\",\"data\":[1.5,\"2\"]}]}",
		 IT_ERR_INVALID, "input 'F': element 1 must be a number for FP32, got a string");
	json_bad(cfg, "{\"inputs\":[{\"name\":\"X\",\"shape\":[2,1],\"datatype\":\"INT32\",\"data\":[1,2]},"
		 "{\"name\":\"B\",\"shape\":[2],\"datatype\":\"BOOL\",\"data\":[true,1]}]}",
		 IT_ERR_INVALID, "input 'B': element 1 must be true or false for BOOL, got an integer");
	json_bad(cfg, "{\"inputs\":[{\"name\":\"X\",\"shape\":[2,1],\"datatype\":\"INT32\",\"data\":[1,2]},"
		 "{\"name\":\"S\",\"shape\":[2],\"datatype\":\"BYTES\",\"data\":[\"a\",null]}]}",
		 IT_ERR_INVALID, "input 'S': element 1 must be a string for BYTES, got null");
	json_bad(cfg, "{\"inputs\":[{\"name\":\"X\",\"shape\":[2,1],\"datatype\":\"INT32\",\"data\":[1,2]},"
		 "{\"name\":\"H\",\"shape\":[1],\"datatype\":\"FP16\",\"data\":[1.0]}]}",
		 IT_ERR_INVALID, "receiving FP16 data via JSON is not supported. Please use the binary data format for input 'H'");
	/* Data sources. */
	json_bad(cfg, "{\"inputs\":[{\"name\":\"X\",\"shape\":[2,1],\"datatype\":\"INT32\"}]}",
		 IT_ERR_INVALID, "Input must set only one of the following fields: 'data', 'binary_data_size' in 'parameters', 'shared_memory_region' in 'parameters'. But no field is set");
	json_bad(cfg, "{\"inputs\":[{\"name\":\"X\",\"shape\":[2,1],\"datatype\":\"INT32\",\"data\":[1,2],\"parameters\":{\"binary_data_size\":8}}]}",
		 IT_ERR_INVALID, "But set 'data' 'binary_data_size'");
	json_bad(cfg, "{\"inputs\":[{\"name\":\"X\",\"shape\":[2,1],\"datatype\":\"INT32\",\"parameters\":{\"shared_memory_region\":\"r\",\"shared_memory_byte_size\":8}}]}",
		 IT_ERR_INVALID, "input 'X' names a shared memory region");
	json_bad(cfg, "{\"inputs\":[{\"name\":\"X\",\"shape\":[2,1],\"datatype\":\"INT32\",\"parameters\":[]}]}",
		 IT_ERR_INVALID, "Unable to parse 'parameters' of input 'X'");
	json_bad(cfg, "{\"inputs\":[{\"name\":\"X\",\"shape\":[2,1],\"datatype\":\"INT32\",\"parameters\":{\"binary_data_size\":-8}}]}",
		 IT_ERR_INVALID, "Unable to parse 'binary_data_size' of input 'X'");
	/* Request parameters. */
	json_bad(cfg, "{\"parameters\":{\"triton_enable_empty_final_response\":true},\"inputs\":[]}",
		 IT_ERR_INVALID, "parameter keys starting with 'triton_' are reserved for Triton usage");
	json_bad(cfg, "{\"parameters\":{\"binary_data_output\":\"yes\"},\"inputs\":[]}",
		 IT_ERR_INVALID, "Unable to parse 'binary_data_output'");
	json_bad(cfg, "{\"parameters\":{\"x\":[1]},\"inputs\":[]}",
		 IT_ERR_INVALID, "parameter 'x' has invalid type");
	json_bad(cfg, "{\"parameters\":{\"priority\":-1},\"inputs\":[]}",
		 IT_ERR_INVALID, "Unable to parse 'priority'");
	json_bad(cfg, "{\"parameters\":[],\"inputs\":[]}",
		 IT_ERR_INVALID, "Unable to parse 'parameters'");
	model_config_free(cfg);
	model_config_free(add_sub);
}

static void test_bad_binary_sizes(void **state)
{
	struct model_config *cfg = config(plain_text);
	int32_t x[2] = { 1, 2 };
	struct strbuf s;
	struct body b;
	char *bytes;
	size_t n_bytes;
	struct it_error err = { 0 };
	struct infer_request *req;

	(void)state;
	strbuf_init(&s, 0);
	body_bytes_elem(&s, "ab", 2);
	body_bytes_elem(&s, "", 0);
	bytes = strbuf_detach(&s, &n_bytes); /* 10 bytes, 2 elements */

	/* Short: the body ends before the binary_data_size bytes. */
	body_init(&b, "{\"inputs\":[{\"name\":\"X\",\"shape\":[2,1],\"datatype\":\"INT32\",\"parameters\":{\"binary_data_size\":8}}]}");
	body_blob(&b, x, 7);
	body_bad(cfg, &b, IT_ERR_INVALID, "unexpected size for input 'X', expecting 8 bytes but only 7 remain");
	/* binary_data_size disagreeing with the shape. */
	body_init(&b, "{\"inputs\":[{\"name\":\"X\",\"shape\":[2,1],\"datatype\":\"INT32\",\"parameters\":{\"binary_data_size\":4}}]}");
	body_blob(&b, x, 4);
	body_bad(cfg, &b, IT_ERR_INVALID, "input byte size mismatch for input 'X' for model 'plain'");
	/* Leftover. */
	body_init(&b, "{\"inputs\":[{\"name\":\"X\",\"shape\":[2,1],\"datatype\":\"INT32\",\"parameters\":{\"binary_data_size\":8}}]}");
	body_blob(&b, x, 8);
	body_blob(&b, "z", 1);
	body_bad(cfg, &b, IT_ERR_INVALID, "unexpected additional input data for model 'plain'");
	/* Leftover after a pure-JSON header (a header_len that is too small). */
	body_init(&b, "{\"inputs\":[{\"name\":\"X\",\"shape\":[2,1],\"datatype\":\"INT32\",\"data\":[1,2]}]}");
	body_blob(&b, "\n", 1);
	body_bad(cfg, &b, IT_ERR_INVALID, "unexpected additional input data");
	/* BYTES: a length prefix overrunning binary_data_size. */
	body_init(&b, "{\"inputs\":[{\"name\":\"X\",\"shape\":[2,1],\"datatype\":\"INT32\",\"data\":[1,2]},"
		  "{\"name\":\"S\",\"shape\":[2],\"datatype\":\"BYTES\",\"parameters\":{\"binary_data_size\":9}}]}");
	body_blob(&b, bytes, 9);
	body_bad(cfg, &b, IT_ERR_INVALID, "element byte size indicator exceeds the end of the buffer");
	body_init(&b, "{\"inputs\":[{\"name\":\"X\",\"shape\":[2,1],\"datatype\":\"INT32\",\"data\":[1,2]},"
		  "{\"name\":\"S\",\"shape\":[1],\"datatype\":\"BYTES\",\"parameters\":{\"binary_data_size\":5}}]}");
	body_blob(&b, "\x09\0\0\0a", 5);
	body_bad(cfg, &b, IT_ERR_INVALID, "claims 9 bytes but only 1 remain");
	/* BYTES: element count against the shape, both ways. */
	body_init(&b, "{\"inputs\":[{\"name\":\"X\",\"shape\":[2,1],\"datatype\":\"INT32\",\"data\":[1,2]},"
		  "{\"name\":\"S\",\"shape\":[3],\"datatype\":\"BYTES\",\"parameters\":{\"binary_data_size\":10}}]}");
	body_blob(&b, bytes, 10);
	body_bad(cfg, &b, IT_ERR_INVALID, "expected 3 string elements for inference input 'S' for model 'plain', got 2");
	body_init(&b, "{\"inputs\":[{\"name\":\"X\",\"shape\":[2,1],\"datatype\":\"INT32\",\"data\":[1,2]},"
		  "{\"name\":\"S\",\"shape\":[1],\"datatype\":\"BYTES\",\"parameters\":{\"binary_data_size\":10}}]}");
	body_blob(&b, bytes, 10);
	body_bad(cfg, &b, IT_ERR_INVALID, "unexpected number of string elements 2 for inference input 'S' for model 'plain', expecting 1");
	/* And the valid one, for contrast. */
	body_init(&b, "{\"inputs\":[{\"name\":\"X\",\"shape\":[2,1],\"datatype\":\"INT32\",\"data\":[1,2]},"
		  "{\"name\":\"S\",\"shape\":[2],\"datatype\":\"BYTES\",\"parameters\":{\"binary_data_size\":10}}]}");
	body_blob(&b, bytes, 10);
	req = body_ok(cfg, &b);
	assert_int_equal(req->inputs[input_index(cfg, "S")].byte_size, 10);
	infer_request_free(req);

	/* Inference-Header-Content-Length against the body. */
	body_init(&b, "{\"inputs\":[]}");
	b.header_len = 100;
	body_bad(cfg, &b, IT_ERR_INVALID, "Inference-Header-Content-Length 100 is larger than the body (13 bytes)");
	body_init(&b, "{\"inputs\":[]}");
	b.header_len = -5;
	body_bad(cfg, &b, IT_ERR_INVALID, "Inference-Header-Content-Length -5 is negative");
	body_init(&b, "{\"inputs\":[]}");
	b.header_len = 0;
	body_bad(cfg, &b, IT_ERR_UNSUPPORTED, "raw binary requests are not supported");
	/* A header_len cutting the JSON short is malformed JSON. */
	body_init(&b, "{\"inputs\":[]}");
	b.header_len = 5;
	body_bad(cfg, &b, IT_ERR_PARSE, "failed to parse the request JSON");

	/* Overflowing shapes are refused before any allocation. */
	json_bad(cfg, "{\"inputs\":[{\"name\":\"X\",\"shape\":[2,1],\"datatype\":\"INT32\",\"data\":[1,2]},"
		 "{\"name\":\"BIG\",\"shape\":[1099511627776,1099511627776],\"datatype\":\"FP32\",\"data\":[1]}]}",
		 IT_ERR_LIMIT, "shape of input 'BIG' has more elements than fit in 64 bits");
	json_bad(cfg, "{\"inputs\":[{\"name\":\"X\",\"shape\":[2,1],\"datatype\":\"INT32\",\"data\":[1,2]},"
		 "{\"name\":\"BIG\",\"shape\":[2147483648,2147483648],\"datatype\":\"FP32\",\"data\":[1]}]}",
		 IT_ERR_INVALID, "shape has 4611686018427387904 elements but 'data' holds 1");
	json_bad(cfg, "{\"inputs\":[{\"name\":\"X\",\"shape\":[2,1],\"datatype\":\"INT32\",\"data\":[1,2]},"
		 "{\"name\":\"BIG\",\"shape\":[2147483648,2147483648],\"datatype\":\"FP32\",\"parameters\":{\"binary_data_size\":0}}]}",
		 IT_ERR_INVALID, "input byte size mismatch for input 'BIG'");
	json_bad(cfg, "{\"inputs\":[{\"name\":\"X\",\"shape\":[2,1],\"datatype\":\"INT32\",\"data\":[1,2]},"
		 "{\"name\":\"BIG\",\"shape\":[2147483648,2147483648],\"datatype\":\"FP32\",\"parameters\":{\"binary_data_size\":9223372036854775807}}]}",
		 IT_ERR_INVALID, "unexpected size for input 'BIG', expecting 9223372036854775807 bytes but only 0 remain");

	/* Errors leave the caller's err filled even for the first check. */
	memset(&err, 0, sizeof(err));
	req = kserve_parse_infer(cfg, xmemdup("{}", 2), 2, 3, &err);
	assert_null(req);
	assert_int_equal(err.code, IT_ERR_INVALID);
	/* A NULL err is accepted. */
	assert_null(kserve_parse_infer(cfg, xmemdup("{}", 2), 2, -1, NULL));
	free(bytes);
	model_config_free(cfg);
}

/* Nests the value of "data" `levels` arrays deep. */
static char *nested_request(int levels, const char *id)
{
	struct strbuf sb;

	strbuf_init(&sb, 0);
	strbuf_addf(&sb, "{\"id\":\"%s\",\"inputs\":[{\"name\":\"X\",\"shape\":[2,1],\"datatype\":\"INT32\",\"data\":", id);
	for (int i = 0; i < levels - 1; i++)
		strbuf_addch(&sb, '[');
	strbuf_adds(&sb, "[1,2]");
	for (int i = 0; i < levels - 1; i++)
		strbuf_addch(&sb, ']');
	strbuf_adds(&sb, "}]}");
	return strbuf_detach(&sb, NULL);
}

static void test_nesting_depth(void **state)
{
	struct model_config *cfg = config(plain_text);
	struct infer_request *req;
	char *json, id[700];

	(void)state;
	/* Document depth = 3 ({, inputs [, input {) + data levels. */
	json = nested_request(97, "");
	req = json_ok(cfg, json);
	assert_int_equal(((const int32_t *)req->inputs[0].data)[1], 2);
	infer_request_free(req);
	free(json);
	json = nested_request(98, "");
	json_bad(cfg, json, IT_ERR_LIMIT, "nested deeper than 100 levels");
	free(json);
	json = nested_request(5000, "");
	json_bad(cfg, json, IT_ERR_LIMIT, "nested deeper than 100 levels");
	free(json);
	/* Brackets inside strings (escaped quotes too) do not count. */
	memset(id, '[', sizeof(id) - 1);
	id[sizeof(id) - 1] = '\0';
	id[10] = '\\';
	id[11] = '"';
	json = nested_request(97, id);
	req = json_ok(cfg, json);
	assert_int_equal(strlen(req->id), sizeof(id) - 2);
	infer_request_free(req);
	free(json);
	model_config_free(cfg);
}

/* A JSON "data" of n zeros for input F (FP32, dims [-1]). */
static char *wide_request(size_t n)
{
	struct strbuf sb;

	strbuf_init(&sb, 0);
	strbuf_addf(&sb, "{\"inputs\":[{\"name\":\"X\",\"shape\":[2,1],\"datatype\":\"INT32\",\"data\":[1,2]},"
		    "{\"name\":\"F\",\"shape\":[%zu],\"datatype\":\"FP32\",\"data\":[", n);
	for (size_t i = 0; i < n; i++)
		strbuf_add(&sb, i ? ",0" : "0", i ? 2 : 1);
	strbuf_adds(&sb, "]}]}");
	return strbuf_detach(&sb, NULL);
}

/* jansson's tree costs ~45 bytes a value: more than 4 Mi values is refused. */
static void test_json_value_cap(void **state)
{
	struct model_config *cfg = config(plain_text);
	struct infer_request *req;
	char *json;

	(void)state;
	json = wide_request(((size_t)4 << 20) - 100);
	req = json_ok(cfg, json);
	assert_int_equal(req->inputs[input_index(cfg, "F")].byte_size,
			 (((size_t)4 << 20) - 100) * 4);
	infer_request_free(req);
	free(json);
	json = wide_request(((size_t)4 << 20) + 1);
	json_bad(cfg, json, IT_ERR_LIMIT, "holds more than 4194304 values; send large tensors with the binary data extension");
	free(json);
	model_config_free(cfg);
}

/* ------------------------------------------------------------------------ */
/* Response writer edge cases, errors, statuses                             */
/* ------------------------------------------------------------------------ */

static void test_response_checks(void **state)
{
	struct model_config *cfg = config(add_sub_text);
	struct infer_request *req;
	struct strbuf sb;
	struct it_error err = { 0 };
	size_t json_len = 7;
	bool binary = true;

	(void)state;
	req = add_sub_request(cfg, "", "");
	fill_add_sub_outputs(req);
	req->outputs[1].byte_size -= 4; /* a backend bug */
	strbuf_init(&sb, 0);
	assert_int_equal(kserve_write_response(req, "m", "1", &sb, &json_len,
					       &binary, &err), IT_ERR_INTERNAL);
	assert_non_null(strstr(err.message, "output tensor shape does not match size of output for 'OUTPUT1'"));
	assert_int_equal(sb.len, 0);
	assert_int_equal(json_len, 7); /* out-parameters untouched */
	assert_true(binary);
	req->outputs[1].byte_size += 4;

	/* A capped buffer: IT_ERR_LIMIT and nothing appended. */
	strbuf_release(&sb);
	strbuf_init(&sb, 64);
	assert_int_equal(kserve_write_response(req, "m", "1", &sb, &json_len,
					       &binary, &err), IT_ERR_LIMIT);
	assert_int_equal(sb.len, 0);
	strbuf_release(&sb);

	/* Appends after what the buffer holds; json_len counts only JSON. */
	strbuf_init(&sb, 0);
	strbuf_adds(&sb, "prefix");
	req->output_binary[2] = true;
	assert_int_equal(kserve_write_response(req, "m", "1", &sb, &json_len,
					       &binary, &err), 0);
	assert_true(binary);
	assert_int_equal(sb.len, 6 + json_len + 16);
	assert_int_equal(sb.buf[6], '{');
	assert_int_equal(sb.buf[6 + json_len - 1], '}');
	strbuf_release(&sb);
	infer_request_free(req);
	model_config_free(cfg);
}

static void test_bytes_output_checked(void **state)
{
	struct model_config *cfg = types_config();
	int k = input_index(cfg, "I_BYTES");
	struct infer_request *req = json_ok(cfg, "{\"inputs\":[]}");
	struct strbuf sb;
	struct it_error err = { 0 };
	size_t json_len;
	bool binary;

	(void)state;
	req->outputs[k] = (struct tensor){ .datatype = DATATYPE_STRING,
		.shape = { 2 }, .n_dims = 1,
		.data = xmemdup("\x01\0\0\0a\x05\0\0\0b", 10), .byte_size = 10 };
	for (size_t j = 0; j < cfg->n_outputs; j++)
		req->output_requested[j] = (int)j == k;
	strbuf_init(&sb, 0);
	assert_int_equal(kserve_write_response(req, "m", "1", &sb, &json_len,
					       &binary, &err), IT_ERR_INTERNAL);
	assert_non_null(strstr(err.message, "exceeds the end of the buffer"));
	strbuf_release(&sb);
	infer_request_free(req);
	model_config_free(cfg);
}

static void test_write_error(void **state)
{
	struct strbuf sb;
	json_t *j;

	(void)state;
	strbuf_init(&sb, 0);
	kserve_write_error(&sb, "bad \"x\"\\ \n\t\x01 \xc3\xa9 \xff");
	assert_string_equal(sb.buf, "{\"error\":\"bad \\\"x\\\"\\\\ \\n\\t\\u0001 \xc3\xa9 \\u00ff\"}");
	j = json_loadb(sb.buf, sb.len, 0, NULL);
	assert_non_null(j);
	json_decref(j);
	strbuf_release(&sb);
	/* Overlong, surrogate and truncated sequences are escaped bytewise. */
	strbuf_init(&sb, 0);
	kserve_write_error(&sb, "\xc0\xaf\xed\xa0\x80\xf4\x90\x80\x80\xe2\x82");
	assert_string_equal(sb.buf, "{\"error\":\"\\u00c0\\u00af\\u00ed\\u00a0\\u0080\\u00f4\\u0090\\u0080\\u0080\\u00e2\\u0082\"}");
	strbuf_release(&sb);
	strbuf_init(&sb, 0);
	kserve_write_error(&sb, "\xf0\x9f\x98\x80");
	assert_string_equal(sb.buf, "{\"error\":\"\xf0\x9f\x98\x80\"}");
	strbuf_release(&sb);
}

static void test_http_status(void **state)
{
	(void)state;
	assert_int_equal(kserve_http_status(0), 200);
	assert_int_equal(kserve_http_status(IT_ERR_INVALID), 400);
	assert_int_equal(kserve_http_status(IT_ERR_PARSE), 400);
	assert_int_equal(kserve_http_status(IT_ERR_LIMIT), 400);
	assert_int_equal(kserve_http_status(IT_ERR_NOT_FOUND), 404);
	assert_int_equal(kserve_http_status(IT_ERR_UNSUPPORTED), 501);
	assert_int_equal(kserve_http_status(IT_ERR_STATE), 503);
	assert_int_equal(kserve_http_status(IT_ERR_INTERNAL), 500);
	assert_int_equal(kserve_http_status(IT_ERR_IO), 500);
	assert_int_equal(kserve_http_status(-99), 400);
}

/* ------------------------------------------------------------------------ */
/* Mutation loop                                                            */
/* ------------------------------------------------------------------------ */

/* What every accepted request must satisfy. */
static void check_invariants(const struct model_config *cfg,
			     const struct infer_request *req,
			     const unsigned char *body, size_t body_len)
{
	for (size_t i = 0; i < cfg->n_inputs; i++) {
		const struct tensor *t = &req->inputs[i];
		size_t size = datatype_size_bytes(cfg->inputs[i].data_type);
		int64_t n = 1;
		bool in_body;

		if (!t->data) {
			assert_true(cfg->inputs[i].optional);
			continue;
		}
		for (size_t d = 0; d < t->n_dims; d++)
			n *= t->shape[d];
		if (size)
			assert_int_equal((size_t)n * size, t->byte_size);
		in_body = (const unsigned char *)t->data >= body &&
			  (const unsigned char *)t->data + t->byte_size <= body + body_len;
		if (!in_body) {
			bool owned = false;

			for (size_t k = 0; k < req->n_owned; k++)
				owned |= req->owned[k] == t->data;
			assert_true(owned);
		}
		/* Every byte readable: ASan stops the test if not. */
		if (t->byte_size) {
			volatile unsigned char sink = 0;

			for (size_t k = 0; k < t->byte_size; k++)
				sink ^= ((const unsigned char *)t->data)[k];
			(void)sink;
		}
	}
}

static void test_mutations(void **state)
{
	struct model_config *cfg = config(plain_text);
	int32_t x[4] = { 1, -2, 3, -4 };
	struct strbuf s;
	struct body b;
	unsigned char *valid;
	size_t valid_len, n_bytes, accepted = 0;
	long long valid_hl;
	char *bytes;
	static const char interesting[] = "[]{}\",:\\-0123456789eE.tfn ";

	(void)state;
	strbuf_init(&s, 0);
	body_bytes_elem(&s, "hello", 5);
	body_bytes_elem(&s, "", 0);
	body_bytes_elem(&s, "\xff", 1);
	bytes = strbuf_detach(&s, &n_bytes);
	body_init(&b, "{\"id\":\"m\",\"inputs\":["
		  "{\"name\":\"X\",\"shape\":[2,2],\"datatype\":\"INT32\",\"parameters\":{\"binary_data_size\":16}},"
		  "{\"name\":\"S\",\"shape\":[3],\"datatype\":\"BYTES\",\"parameters\":{\"binary_data_size\":18}},"
		  "{\"name\":\"H\",\"shape\":[1],\"datatype\":\"FP16\",\"parameters\":{\"binary_data_size\":2}},"
		  "{\"name\":\"F\",\"shape\":[2],\"datatype\":\"FP32\",\"data\":[[0.5],[-1]]},"
		  "{\"name\":\"U8\",\"shape\":[2],\"datatype\":\"UINT8\",\"data\":[1,2]}],"
		  "\"outputs\":[{\"name\":\"Y\",\"parameters\":{\"binary_data\":true}}]}");
	body_blob(&b, x, sizeof(x));
	body_blob(&b, bytes, n_bytes);
	body_blob(&b, "\x00\x3c", 2);
	valid_hl = b.header_len;
	valid = body_take(&b, &valid_len);

	/* The unmutated request is valid. */
	{
		struct it_error err = { 0 };
		struct infer_request *req = kserve_parse_infer(cfg, xmemdup(valid, valid_len),
							       valid_len, valid_hl, &err);

		if (!req)
			fail_msg("base request refused: %s", err.message);
		infer_request_free(req);
	}

	rng_state = 12345;
	for (int iter = 0; iter < 20000; iter++) {
		unsigned char *m = xmalloc(valid_len + 64);
		size_t len = valid_len;
		long long hl = valid_hl;
		int n_mut = 1 + (int)(rng() % 3);
		struct it_error err = { 0 };
		struct infer_request *req;

		memcpy(m, valid, valid_len);
		for (int k = 0; k < n_mut; k++) {
			size_t pos = len ? (size_t)(rng() % len) : 0;

			switch (rng() % 7) {
			case 0: /* any byte anywhere */
				if (len)
					m[pos] = (unsigned char)rng();
				break;
			case 1: /* a JSON-significant byte in the header */
				if (hl > 0)
					m[rng() % (uint64_t)hl] =
						(unsigned char)interesting[rng() % (sizeof(interesting) - 1)];
				break;
			case 2: /* truncate */
				len = pos;
				break;
			case 3: /* append */
				for (int a = (int)(rng() % 8); a > 0 && len < valid_len + 64; a--)
					m[len++] = (unsigned char)rng();
				break;
			case 4: /* header length off by a little */
				hl += (long long)(rng() % 7) - 3;
				break;
			case 5: { /* a digit in the header changed: sizes, shapes */
				size_t p = hl > 0 ? (size_t)(rng() % (uint64_t)hl) : 0;

				for (; (long long)p < hl && p < len; p++) {
					if (m[p] >= '0' && m[p] <= '9') {
						m[p] = (unsigned char)('0' + rng() % 10);
						break;
					}
				}
				break;
			}
			default: /* header length anything */
				hl = (long long)(rng() % (len + 3)) - 1;
				break;
			}
		}
		req = kserve_parse_infer(cfg, m, len, hl, &err);
		if (!req) {
			if (err.code >= 0 || !err.message[0])
				fail_msg("iteration %d: failure without a code or message", iter);
			continue;
		}
		accepted++;
		check_invariants(cfg, req, req->body, len);
		{
			struct response r;
			int64_t n = 1;
			size_t xi = (size_t)input_index(cfg, "X");

			/* Y mirrors X so that the writer runs on parsed shapes. */
			for (size_t d = 0; d < req->inputs[xi].n_dims; d++)
				n *= req->inputs[xi].shape[d];
			req->outputs[0].datatype = DATATYPE_INT32;
			memcpy(req->outputs[0].shape, req->inputs[xi].shape,
			       sizeof(req->outputs[0].shape));
			req->outputs[0].n_dims = req->inputs[xi].n_dims;
			req->outputs[0].byte_size = req->inputs[xi].byte_size;
			req->outputs[0].data = xmemdup(req->inputs[xi].data,
						       req->inputs[xi].byte_size);
			assert_int_equal((size_t)n * 4, req->outputs[0].byte_size);
			respond(req, &r);
			response_release(&r);
		}
		infer_request_free(req);
	}
	/* Some mutations (digits in ids, spaces) keep the request valid. */
	assert_true(accepted > 0);
	print_message("mutations: %zu of 20000 accepted\n", accepted);
	free(valid);
	free(bytes);
	model_config_free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_round_trip_every_type),
		cmocka_unit_test(test_fp_json_output_round_trips),
		cmocka_unit_test(test_json_output_special_values),
		cmocka_unit_test(test_binary_round_trip_every_type),
		cmocka_unit_test(test_mixed_json_and_binary),
		cmocka_unit_test(test_id_echo),
		cmocka_unit_test(test_outputs_selection),
		cmocka_unit_test(test_client_side_batching),
		cmocka_unit_test(test_bad_json),
		cmocka_unit_test(test_bad_inputs),
		cmocka_unit_test(test_bad_binary_sizes),
		cmocka_unit_test(test_nesting_depth),
		cmocka_unit_test(test_json_value_cap),
		cmocka_unit_test(test_response_checks),
		cmocka_unit_test(test_bytes_output_checked),
		cmocka_unit_test(test_write_error),
		cmocka_unit_test(test_http_status),
		cmocka_unit_test(test_mutations),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
