/*
 * Unit tests for backend/: the registry, `identity` on every data type,
 * `add_sub` arithmetic, the config checks both do at load, and the `sim`
 * accelerator's timing and slot sharing (docs/sim-backend.md).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend/backend.h"
#include "model/config.h"
#include "util/error.h"
#include "util/strbuf.h"

static struct model_config *parse(const char *text)
{
	struct it_error err = { 0 };
	struct model_config *cfg = model_config_parse(text, strlen(text),
						      "t.pbtxt", &err);

	if (!cfg)
		fail_msg("config does not parse: %s\n%s", err.message, text);
	return cfg;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* A loaded model with one instance of each listed kind. */
struct loaded {
	struct model_config *cfg;
	const struct backend_ops *ops;
	void *model;
	void *inst[4];
	size_t n_inst;
};

static void load(struct loaded *l, const char *text)
{
	struct it_error err = { 0 };

	memset(l, 0, sizeof(*l));
	l->cfg = parse(text);
	l->ops = backend_find(l->cfg, &err);
	if (!l->ops)
		fail_msg("backend_find: %s", err.message);
	if (l->ops->model_load(l->cfg, "/nonexistent/1", &l->model, &err))
		fail_msg("model_load: %s", err.message);
}

static void add_instance(struct loaded *l, enum instance_kind kind,
			 int device_id)
{
	struct backend_instance_info info = {
		.name = "t_0_0", .index = (int)l->n_inst, .kind = kind,
		.device_id = device_id,
	};
	struct it_error err = { 0 };

	if (l->ops->instance_new(l->model, &info, &l->inst[l->n_inst], &err))
		fail_msg("instance_new: %s", err.message);
	l->n_inst++;
}

static void unload(struct loaded *l)
{
	for (size_t i = 0; i < l->n_inst; i++)
		l->ops->instance_free(l->inst[i]);
	l->ops->model_unload(l->model);
	model_config_free(l->cfg);
}

static void outputs_free(struct tensor *outs, size_t n)
{
	for (size_t j = 0; j < n; j++)
		free(outs[j].data);
}

/* model_load must fail with a message holding `needle`. */
static void expect_load_error(const char *text, const char *needle)
{
	struct model_config *cfg = parse(text);
	struct it_error err = { 0 };
	const struct backend_ops *ops = backend_find(cfg, &err);
	void *model = NULL;

	assert_non_null(ops);
	if (!ops->model_load(cfg, "/x/1", &model, &err)) {
		ops->model_unload(model);
		model_config_free(cfg);
		fail_msg("loaded: %s", text);
	}
	if (!strstr(err.message, needle))
		fail_msg("message '%s' lacks '%s'", err.message, needle);
	assert_int_not_equal(err.code, 0);
	model_config_free(cfg);
}

/* ---- registry ------------------------------------------------------------ */

static void test_element_count(void **state)
{
	int64_t a[] = { 2, 3, 4 };
	int64_t zero[] = { 5, 0, INT64_MAX };
	int64_t neg[] = { 2, -1 };
	int64_t big[] = { INT64_MAX / 2, 3 };

	(void)state;
	assert_int_equal(tensor_element_count(a, 3), 24);
	assert_int_equal(tensor_element_count(a, 0), 1);
	assert_int_equal(tensor_element_count(zero, 3), 0);
	assert_int_equal(tensor_element_count(neg, 2), -1);
	assert_int_equal(tensor_element_count(big, 2), -1);
}

static void test_registry(void **state)
{
	static const char *names[] = { "identity", "add_sub", "sim" };
	struct it_error err = { 0 };
	struct model_config *cfg;
	size_t n = 0;

	(void)state;
	while (backend_registry[n])
		n++;
	assert_true(n >= 3);
	for (size_t i = 0; i < 3; i++) {
		char text[256];

		snprintf(text, sizeof(text),
			 "backend: \"%s\"\ninput [{ name: \"INPUT0\" data_type: TYPE_INT32 dims: [16] }]\n",
			 names[i]);
		cfg = parse(text);
		assert_non_null(backend_find(cfg, &err));
		assert_string_equal(backend_find(cfg, &err)->name, names[i]);
		model_config_free(cfg);
	}

	cfg = parse("backend: \"tensorrt\"\n");
	assert_null(backend_find(cfg, &err));
	assert_int_equal(err.code, IT_ERR_NOT_FOUND);
	assert_non_null(strstr(err.message, "'tensorrt'"));
	assert_non_null(strstr(err.message, "'identity'"));
	assert_non_null(strstr(err.message, "'sim'"));
	model_config_free(cfg);

	cfg = parse("platform: \"tensorrt_plan\"\n");
	memset(&err, 0, sizeof(err));
	assert_null(backend_find(cfg, &err));
	assert_int_equal(err.code, IT_ERR_NOT_FOUND);
	assert_non_null(strstr(err.message, "platform 'tensorrt_plan'"));
	model_config_free(cfg);

	cfg = parse("name: \"x\"\n");
	memset(&err, 0, sizeof(err));
	assert_null(backend_find(cfg, &err));
	assert_non_null(strstr(err.message, "neither 'backend' nor 'platform'"));
	model_config_free(cfg);
}

/* ---- identity -------------------------------------------------------------- */

/* Every config data type: one input and one output each. */
static const enum datatype all_types[] = {
	DATATYPE_BOOL, DATATYPE_UINT8, DATATYPE_UINT16, DATATYPE_UINT32,
	DATATYPE_UINT64, DATATYPE_INT8, DATATYPE_INT16, DATATYPE_INT32,
	DATATYPE_INT64, DATATYPE_FP16, DATATYPE_FP32, DATATYPE_FP64,
	DATATYPE_STRING, DATATYPE_BF16,
};
#define N_TYPES (sizeof(all_types) / sizeof(all_types[0]))

static char *identity_all_types_config(void)
{
	struct strbuf sb;

	strbuf_init(&sb, 0);
	strbuf_adds(&sb, "name: \"ident\"\nbackend: \"identity\"\nmax_batch_size: 8\n");
	for (size_t i = 0; i < N_TYPES; i++)
		strbuf_addf(&sb, "input { name: \"IN%zu\" data_type: %s dims: [ -1 ] }\n",
			    i, datatype_config_name(all_types[i]));
	for (size_t i = 0; i < N_TYPES; i++)
		strbuf_addf(&sb, "output { name: \"OUT%zu\" data_type: %s dims: [ -1 ] }\n",
			    i, datatype_config_name(all_types[i]));
	return strbuf_detach(&sb, NULL);
}

static void test_identity_every_datatype(void **state)
{
	char *text = identity_all_types_config();
	struct tensor in[N_TYPES], out[N_TYPES];
	unsigned char *bufs[N_TYPES];
	struct it_error err = { 0 };
	struct loaded l;

	(void)state;
	load(&l, text);
	add_instance(&l, INSTANCE_KIND_CPU, -1);
	memset(in, 0, sizeof(in));
	memset(out, 0, sizeof(out));
	for (size_t i = 0; i < N_TYPES; i++) {
		size_t size = datatype_size_bytes(all_types[i]);

		in[i].name = l.cfg->inputs[i].name;
		in[i].datatype = all_types[i];
		in[i].n_dims = 2;
		in[i].shape[0] = 2;
		in[i].shape[1] = 3;
		if (all_types[i] == DATATYPE_STRING) {
			/* Six elements "", "a", "bb", ..., with length prefixes. */
			struct strbuf sb;

			strbuf_init(&sb, 0);
			for (uint32_t e = 0; e < 6; e++) {
				unsigned char len[4] = { (unsigned char)e, 0, 0, 0 };

				strbuf_add(&sb, len, 4);
				for (uint32_t c = 0; c < e; c++)
					strbuf_addch(&sb, 'a' + (int)e);
			}
			in[i].byte_size = sb.len;
			bufs[i] = (unsigned char *)strbuf_detach(&sb, NULL);
		} else {
			in[i].byte_size = 6 * size;
			bufs[i] = malloc(in[i].byte_size);
			for (size_t b = 0; b < in[i].byte_size; b++)
				bufs[i][b] = (unsigned char)(b * 7 + i);
			if (all_types[i] == DATATYPE_BOOL) {
				for (size_t b = 0; b < 6; b++)
					bufs[i][b] &= 1;
			}
		}
		in[i].data = bufs[i];
	}
	assert_int_equal(l.ops->execute(l.inst[0], in, N_TYPES, out, N_TYPES,
					&err), 0);
	for (size_t i = 0; i < N_TYPES; i++) {
		assert_string_equal(out[i].name, l.cfg->outputs[i].name);
		assert_int_equal(out[i].datatype, all_types[i]);
		assert_int_equal(out[i].n_dims, 2);
		assert_int_equal(out[i].shape[0], 2);
		assert_int_equal(out[i].shape[1], 3);
		assert_int_equal(out[i].byte_size, in[i].byte_size);
		assert_memory_equal(out[i].data, in[i].data, in[i].byte_size);
		/* A copy: the caller frees inputs and outputs separately. */
		assert_ptr_not_equal(out[i].data, in[i].data);
	}
	outputs_free(out, N_TYPES);
	for (size_t i = 0; i < N_TYPES; i++)
		free(bufs[i]);
	unload(&l);
	free(text);
}

static void test_identity_missing_optional_input(void **state)
{
	struct tensor in[1] = { { 0 } }, out[1] = { { 0 } };
	struct it_error err = { 0 };
	struct loaded l;

	(void)state;
	load(&l, "backend: \"identity\"\n"
		 "input [{ name: \"I\" data_type: TYPE_INT8 dims: [2] optional: true }]\n"
		 "output [{ name: \"O\" data_type: TYPE_INT8 dims: [2] }]\n");
	add_instance(&l, INSTANCE_KIND_CPU, -1);
	assert_int_not_equal(l.ops->execute(l.inst[0], in, 1, out, 1, &err), 0);
	assert_non_null(strstr(err.message, "'I' was not sent"));
	assert_null(out[0].data);
	unload(&l);
}

static void test_identity_config_errors(void **state)
{
	(void)state;
	expect_load_error("backend: \"identity\"\n"
			  "input [{ name: \"A\" data_type: TYPE_INT32 dims: [1] },"
			  "       { name: \"B\" data_type: TYPE_INT32 dims: [1] }]\n"
			  "output [{ name: \"O\" data_type: TYPE_INT32 dims: [1] }]\n",
			  "2 input(s) and 1 output(s)");
	expect_load_error("backend: \"identity\"\n"
			  "input [{ name: \"A\" data_type: TYPE_INT32 dims: [1] }]\n"
			  "output [{ name: \"O\" data_type: TYPE_FP32 dims: [1] }]\n",
			  "output 0 'O' is TYPE_FP32 but input 0 'A' is TYPE_INT32");
}

static void test_cpu_backends_refuse_gpu(void **state)
{
	static const char *texts[] = {
		"backend: \"identity\"\n"
		"input [{ name: \"A\" data_type: TYPE_INT32 dims: [1] }]\n"
		"output [{ name: \"O\" data_type: TYPE_INT32 dims: [1] }]\n",
		"backend: \"add_sub\"\n"
		"input [{ name: \"INPUT0\" data_type: TYPE_INT32 dims: [16] },"
		"       { name: \"INPUT1\" data_type: TYPE_INT32 dims: [16] }]\n"
		"output [{ name: \"OUTPUT0\" data_type: TYPE_INT32 dims: [16] },"
		"        { name: \"OUTPUT1\" data_type: TYPE_INT32 dims: [16] }]\n",
	};

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		struct backend_instance_info gpu = {
			.name = "m_0_0", .kind = INSTANCE_KIND_GPU, .device_id = 0,
		};
		struct it_error err = { 0 };
		struct loaded l;
		void *inst = NULL;
		char want[128];

		load(&l, texts[i]);
		assert_int_equal(l.ops->instance_new(l.model, &gpu, &inst, &err),
				 IT_ERR_UNSUPPORTED);
		snprintf(want, sizeof(want),
			 "backend '%s' runs on the CPU only; instance_group kind KIND_GPU needs a GPU backend",
			 l.ops->name);
		if (!strstr(err.message, want))
			fail_msg("message '%s' lacks '%s'", err.message, want);
		/* KIND_CPU and KIND_MODEL are fine. */
		add_instance(&l, INSTANCE_KIND_CPU, -1);
		add_instance(&l, INSTANCE_KIND_MODEL, -1);
		unload(&l);
	}
}

/* ---- add_sub ------------------------------------------------------------- */

static char *add_sub_config(const char *type, int max_batch_size)
{
	struct strbuf sb;

	strbuf_init(&sb, 0);
	strbuf_addf(&sb,
		    "name: \"add_sub\"\nbackend: \"add_sub\"\nmax_batch_size: %d\n"
		    "input [{ name: \"INPUT1\" data_type: %s dims: [16] },"
		    "       { name: \"INPUT0\" data_type: %s dims: [16] }]\n"
		    "output [{ name: \"OUTPUT0\" data_type: %s dims: [16] },"
		    "        { name: \"OUTPUT1\" data_type: %s dims: [16] }]\n",
		    max_batch_size, type, type, type, type);
	return strbuf_detach(&sb, NULL);
}

static void add_sub_case(bool fp32, int max_batch_size)
{
	char *text = add_sub_config(fp32 ? "TYPE_FP32" : "TYPE_INT32",
				    max_batch_size);
	int64_t rows = max_batch_size ? 3 : 1;
	size_t n = (size_t)rows * 16;
	int32_t a[48], b[48];
	float fa[48], fb[48];
	struct tensor in[2], out[2];
	struct it_error err = { 0 };
	struct loaded l;

	load(&l, text);
	add_instance(&l, INSTANCE_KIND_CPU, -1);
	memset(in, 0, sizeof(in));
	memset(out, 0, sizeof(out));
	for (size_t i = 0; i < n; i++) {
		a[i] = (int32_t)(i * 3) - 20;
		b[i] = 7 - (int32_t)i;
		fa[i] = (float)i * 0.5f;
		fb[i] = 1.25f - (float)i;
	}
	/* Config order is INPUT1, INPUT0: the backend maps by name. */
	for (int k = 0; k < 2; k++) {
		in[k].name = k ? "INPUT0" : "INPUT1";
		in[k].datatype = fp32 ? DATATYPE_FP32 : DATATYPE_INT32;
		in[k].n_dims = max_batch_size ? 2 : 1;
		in[k].shape[0] = max_batch_size ? rows : 16;
		in[k].shape[1] = 16;
		in[k].byte_size = n * 4;
	}
	in[1].data = fp32 ? (void *)fa : (void *)a; /* INPUT0 */
	in[0].data = fp32 ? (void *)fb : (void *)b; /* INPUT1 */
	assert_int_equal(l.ops->execute(l.inst[0], in, 2, out, 2, &err), 0);
	assert_string_equal(out[0].name, "OUTPUT0");
	assert_string_equal(out[1].name, "OUTPUT1");
	for (int k = 0; k < 2; k++) {
		assert_int_equal(out[k].n_dims, in[0].n_dims);
		assert_int_equal(out[k].shape[0], in[0].shape[0]);
		assert_int_equal(out[k].byte_size, n * 4);
	}
	for (size_t i = 0; i < n; i++) {
		if (fp32) {
			float s, d;

			memcpy(&s, (char *)out[0].data + 4 * i, 4);
			memcpy(&d, (char *)out[1].data + 4 * i, 4);
			assert_true(s == fa[i] + fb[i]);
			assert_true(d == fa[i] - fb[i]);
		} else {
			int32_t s, d;

			memcpy(&s, (char *)out[0].data + 4 * i, 4);
			memcpy(&d, (char *)out[1].data + 4 * i, 4);
			assert_int_equal(s, a[i] + b[i]);
			assert_int_equal(d, a[i] - b[i]);
		}
	}
	outputs_free(out, 2);
	unload(&l);
	free(text);
}

static void test_add_sub(void **state)
{
	(void)state;
	add_sub_case(false, 0);
	add_sub_case(false, 8);
	add_sub_case(true, 0);
	add_sub_case(true, 8);
}

static void test_add_sub_int32_wraps(void **state)
{
	char *text = add_sub_config("TYPE_INT32", 0);
	int32_t a[16], b[16], s, d;
	struct tensor in[2], out[2];
	struct it_error err = { 0 };
	struct loaded l;

	(void)state;
	load(&l, text);
	add_instance(&l, INSTANCE_KIND_CPU, -1);
	memset(in, 0, sizeof(in));
	memset(out, 0, sizeof(out));
	for (int i = 0; i < 16; i++) {
		a[i] = INT32_MAX;
		b[i] = INT32_MIN;
	}
	for (int k = 0; k < 2; k++) {
		in[k].datatype = DATATYPE_INT32;
		in[k].n_dims = 1;
		in[k].shape[0] = 16;
		in[k].byte_size = sizeof(a);
	}
	in[1].data = a;
	in[0].data = b;
	assert_int_equal(l.ops->execute(l.inst[0], in, 2, out, 2, &err), 0);
	memcpy(&s, out[0].data, 4);
	memcpy(&d, out[1].data, 4);
	assert_int_equal(s, -1);           /* MAX + MIN */
	assert_int_equal(d, -1);           /* MAX - MIN wraps */
	outputs_free(out, 2);
	unload(&l);
	free(text);
}

static void test_add_sub_config_errors(void **state)
{
	char *fp64 = add_sub_config("TYPE_FP64", 0);

	(void)state;
	expect_load_error(fp64, "must be TYPE_INT32 or TYPE_FP32");
	free(fp64);
	expect_load_error("backend: \"add_sub\"\n"
			  "input [{ name: \"INPUT0\" data_type: TYPE_INT32 dims: [16] },"
			  "       { name: \"IN1\" data_type: TYPE_INT32 dims: [16] }]\n"
			  "output [{ name: \"OUTPUT0\" data_type: TYPE_INT32 dims: [16] },"
			  "        { name: \"OUTPUT1\" data_type: TYPE_INT32 dims: [16] }]\n",
			  "needs an input named 'INPUT1'");
	expect_load_error("backend: \"add_sub\"\n"
			  "input [{ name: \"INPUT0\" data_type: TYPE_INT32 dims: [16] },"
			  "       { name: \"INPUT1\" data_type: TYPE_INT32 dims: [16] }]\n"
			  "output [{ name: \"OUTPUT0\" data_type: TYPE_INT32 dims: [16] },"
			  "        { name: \"OUT1\" data_type: TYPE_INT32 dims: [16] }]\n",
			  "needs an output named 'OUTPUT1'");
	expect_load_error("backend: \"add_sub\"\n"
			  "input [{ name: \"INPUT0\" data_type: TYPE_INT32 dims: [16] },"
			  "       { name: \"INPUT1\" data_type: TYPE_INT32 dims: [8] }]\n"
			  "output [{ name: \"OUTPUT0\" data_type: TYPE_INT32 dims: [16] },"
			  "        { name: \"OUTPUT1\" data_type: TYPE_INT32 dims: [16] }]\n",
			  "'INPUT1' must have dims [ 16 ]");
	expect_load_error("backend: \"add_sub\"\n"
			  "input [{ name: \"INPUT0\" data_type: TYPE_INT32 dims: [16] },"
			  "       { name: \"INPUT1\" data_type: TYPE_FP32 dims: [16] }]\n"
			  "output [{ name: \"OUTPUT0\" data_type: TYPE_INT32 dims: [16] },"
			  "        { name: \"OUTPUT1\" data_type: TYPE_INT32 dims: [16] }]\n",
			  "'INPUT1' is TYPE_FP32 but INPUT0 is TYPE_INT32");
	expect_load_error("backend: \"add_sub\"\n"
			  "input [{ name: \"INPUT0\" data_type: TYPE_INT32 dims: [16] }]\n"
			  "output [{ name: \"OUTPUT0\" data_type: TYPE_INT32 dims: [16] }]\n",
			  "1 input(s) and 1 output(s)");
}

/* ---- sim ------------------------------------------------------------------- */

static char *sim_config(const char *base_us, const char *per_item_us,
			const char *slots)
{
	struct strbuf sb;

	strbuf_init(&sb, 0);
	strbuf_adds(&sb, "name: \"s\"\nbackend: \"sim\"\nmax_batch_size: 16\n"
		    "input [{ name: \"IN\" data_type: TYPE_FP32 dims: [ 4 ] }]\n"
		    "output [{ name: \"OUT\" data_type: TYPE_FP32 dims: [ -1, 3 ] },"
		    "        { name: \"STR\" data_type: TYPE_STRING dims: [ 2 ] }]\n");
	if (base_us)
		strbuf_addf(&sb, "parameters { key: \"sim_base_us\" value { string_value: \"%s\" } }\n",
			    base_us);
	if (per_item_us)
		strbuf_addf(&sb, "parameters { key: \"sim_per_item_us\" value { string_value: \"%s\" } }\n",
			    per_item_us);
	if (slots)
		strbuf_addf(&sb, "parameters { key: \"sim_device_slots\" value { string_value: \"%s\" } }\n",
			    slots);
	return strbuf_detach(&sb, NULL);
}

static void test_sim_parameter_errors(void **state)
{
	static const struct {
		const char *base, *per_item, *slots, *needle;
	} cases[] = {
		{ "abc", NULL, NULL, "parameter sim_base_us is 'abc'" },
		{ "-5", NULL, NULL, "parameter sim_base_us is '-5'" },
		{ " 5", NULL, NULL, "parameter sim_base_us is ' 5'" },
		{ NULL, "1.5", NULL, "parameter sim_per_item_us is '1.5'" },
		{ NULL, "", NULL, "parameter sim_per_item_us is ''" },
		{ NULL, "99999999999999999999999", NULL, "sim_per_item_us" },
		{ NULL, NULL, "0", "parameter sim_device_slots is '0'" },
		{ NULL, NULL, "2x", "parameter sim_device_slots is '2x'" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *text = sim_config(cases[i].base, cases[i].per_item,
					cases[i].slots);

		expect_load_error(text, cases[i].needle);
		free(text);
	}
	expect_load_error("backend: \"sim\"\n"
			  "parameters { key: \"sim_bse_us\" value { string_value: \"10\" } }\n",
			  "unknown parameter 'sim_bse_us'");
}

static void sim_input(struct tensor *in, float *buf, int64_t batch)
{
	memset(in, 0, sizeof(*in));
	in->name = "IN";
	in->datatype = DATATYPE_FP32;
	in->n_dims = 2;
	in->shape[0] = batch;
	in->shape[1] = 4;
	in->data = buf;
	in->byte_size = (size_t)batch * 4 * sizeof(float);
}

/* One execution of batch 4 takes base + 4 * per_item, and not wildly more. */
static void test_sim_timing_and_outputs(void **state)
{
	char *text = sim_config("4000", "1500", NULL);
	float buf[16 * 4] = { 0 };
	struct tensor in, out[2];
	struct it_error err = { 0 };
	struct loaded l;
	uint64_t t0, dt;

	(void)state;
	load(&l, text);
	add_instance(&l, INSTANCE_KIND_CPU, -1);
	sim_input(&in, buf, 4);
	memset(out, 0, sizeof(out));
	t0 = now_ns();
	assert_int_equal(l.ops->execute(l.inst[0], &in, 1, out, 2, &err), 0);
	dt = now_ns() - t0;
	assert_true(dt >= 10000000ULL);              /* 4000 + 4 * 1500 us */
	assert_true(dt < 10000000ULL + 40000000ULL); /* generous on a busy box */

	/* OUT: [batch, -1 -> 1, 3] zeros; STR: [batch, 2] empty strings. */
	assert_string_equal(out[0].name, "OUT");
	assert_int_equal(out[0].n_dims, 3);
	assert_int_equal(out[0].shape[0], 4);
	assert_int_equal(out[0].shape[1], 1);
	assert_int_equal(out[0].shape[2], 3);
	assert_int_equal(out[0].byte_size, 4 * 3 * 4);
	for (size_t b = 0; b < out[0].byte_size; b++)
		assert_int_equal(((unsigned char *)out[0].data)[b], 0);
	assert_int_equal(out[1].datatype, DATATYPE_STRING);
	assert_int_equal(out[1].n_dims, 2);
	assert_int_equal(out[1].byte_size, 4 * 2 * 4);
	for (size_t b = 0; b < out[1].byte_size; b++)
		assert_int_equal(((unsigned char *)out[1].data)[b], 0);
	outputs_free(out, 2);
	unload(&l);
	free(text);
}

struct sim_run {
	struct loaded *l;
	size_t inst;
	int rc;
};

static void *sim_thread(void *arg)
{
	struct sim_run *r = arg;
	float buf[4] = { 0 };
	struct tensor in, out[2];
	struct it_error err = { 0 };

	sim_input(&in, buf, 1);
	memset(out, 0, sizeof(out));
	r->rc = r->l->ops->execute(r->l->inst[r->inst], &in, 1, out, 2, &err);
	outputs_free(out, 2);
	return NULL;
}

/* Wall time of one concurrent execution on each instance of l. */
static uint64_t sim_concurrent_ns(struct loaded *l)
{
	pthread_t th[4];
	struct sim_run runs[4];
	uint64_t t0 = now_ns();

	for (size_t i = 0; i < l->n_inst; i++) {
		runs[i] = (struct sim_run){ .l = l, .inst = i, .rc = -1 };
		assert_int_equal(pthread_create(&th[i], NULL, sim_thread, &runs[i]), 0);
	}
	for (size_t i = 0; i < l->n_inst; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(runs[i].rc, 0);
	}
	return now_ns() - t0;
}

/*
 * Slots are per device and shared by the model's instances: two CPU
 * instances on one slot take twice one execution; on two slots, or on two
 * different GPUs, about one.
 */
static void test_sim_slots_shared(void **state)
{
	const uint64_t one = 40000000ULL; /* sim_base_us 40000 + 1 item * 0 */
	char *one_slot = sim_config("40000", "0", "1");
	char *two_slots = sim_config("40000", "0", "2");
	struct loaded l;
	uint64_t dt;

	(void)state;
	load(&l, one_slot);
	add_instance(&l, INSTANCE_KIND_CPU, -1);
	add_instance(&l, INSTANCE_KIND_CPU, -1);
	dt = sim_concurrent_ns(&l);
	print_message("sim: 2 instances, 1 slot: %.1f ms (one execution 40 ms)\n",
		      (double)dt / 1e6);
	assert_true(dt >= 2 * one);
	assert_true(dt < 3 * one);
	unload(&l);

	load(&l, two_slots);
	add_instance(&l, INSTANCE_KIND_CPU, -1);
	add_instance(&l, INSTANCE_KIND_AUTO, -1);
	dt = sim_concurrent_ns(&l);
	print_message("sim: 2 instances, 2 slots: %.1f ms\n", (double)dt / 1e6);
	assert_true(dt >= one);
	assert_true(dt < one * 19 / 10);
	unload(&l);

	/* Different GPUs are different devices, each with its own slot. */
	load(&l, one_slot);
	add_instance(&l, INSTANCE_KIND_GPU, 0);
	add_instance(&l, INSTANCE_KIND_GPU, 1);
	dt = sim_concurrent_ns(&l);
	print_message("sim: GPU 0 and GPU 1, 1 slot each: %.1f ms\n",
		      (double)dt / 1e6);
	assert_true(dt >= one);
	assert_true(dt < one * 19 / 10);
	unload(&l);

	free(one_slot);
	free(two_slots);
}

/*
 * Simulated memory: instances hold sim_memory_mb of one pool shared by all
 * sim models; an instance past sim_memory_capacity_mb fails with "out of
 * memory", and unloading gives the memory back.
 */
static void test_sim_memory(void **state)
{
	static const char text[] =
		"backend: \"sim\"\n"
		"parameters { key: \"sim_memory_mb\" value { string_value: \"600\" } }\n"
		"parameters { key: \"sim_memory_capacity_mb\" value { string_value: \"1000\" } }\n";
	struct backend_instance_info info = { .name = "t_0_1", .kind = INSTANCE_KIND_CPU,
					      .device_id = -1 };
	struct it_error err = { 0 };
	struct loaded a, b;
	void *inst = NULL;

	(void)state;
	load(&a, text);
	add_instance(&a, INSTANCE_KIND_CPU, -1);
	/* A second instance of the same model does not fit... */
	assert_int_not_equal(a.ops->instance_new(a.model, &info, &inst, &err), 0);
	assert_non_null(strstr(err.message, "out of memory"));
	assert_non_null(strstr(err.message, "600 of 1000 MB"));
	/* ...nor one of another model. */
	load(&b, text);
	memset(&err, 0, sizeof(err));
	assert_int_not_equal(b.ops->instance_new(b.model, &info, &inst, &err), 0);
	assert_non_null(strstr(err.message, "out of memory"));
	unload(&a);
	/* Unloading gave the memory back. */
	add_instance(&b, INSTANCE_KIND_CPU, -1);
	unload(&b);
	expect_load_error("backend: \"sim\"\n"
			  "parameters { key: \"sim_memory_mb\" value { string_value: \"1GB\" } }\n",
			  "parameter sim_memory_mb is '1GB'");
}

static void test_sim_no_batching(void **state)
{
	struct tensor in[1], out[1];
	struct it_error err = { 0 };
	int8_t data[6] = { 0 };
	struct loaded l;

	(void)state;
	load(&l, "backend: \"sim\"\n"
		 "input [{ name: \"I\" data_type: TYPE_INT8 dims: [ 2, 3 ] }]\n"
		 "output [{ name: \"O\" data_type: TYPE_INT64 dims: [ 5 ] }]\n");
	add_instance(&l, INSTANCE_KIND_CPU, -1);
	memset(in, 0, sizeof(in));
	memset(out, 0, sizeof(out));
	in[0].datatype = DATATYPE_INT8;
	in[0].n_dims = 2;
	in[0].shape[0] = 2;
	in[0].shape[1] = 3;
	in[0].data = data;
	in[0].byte_size = 6;
	assert_int_equal(l.ops->execute(l.inst[0], in, 1, out, 1, &err), 0);
	/* max_batch_size 0: no batch dimension is added. */
	assert_int_equal(out[0].n_dims, 1);
	assert_int_equal(out[0].shape[0], 5);
	assert_int_equal(out[0].byte_size, 40);
	outputs_free(out, 1);
	unload(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_element_count),
		cmocka_unit_test(test_registry),
		cmocka_unit_test(test_identity_every_datatype),
		cmocka_unit_test(test_identity_missing_optional_input),
		cmocka_unit_test(test_identity_config_errors),
		cmocka_unit_test(test_cpu_backends_refuse_gpu),
		cmocka_unit_test(test_add_sub),
		cmocka_unit_test(test_add_sub_int32_wraps),
		cmocka_unit_test(test_add_sub_config_errors),
		cmocka_unit_test(test_sim_parameter_errors),
		cmocka_unit_test(test_sim_timing_and_outputs),
		cmocka_unit_test(test_sim_slots_shared),
		cmocka_unit_test(test_sim_memory),
		cmocka_unit_test(test_sim_no_batching),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
