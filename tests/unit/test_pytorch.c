/*
 * Unit tests for the pytorch backend (backend/pytorch.c over
 * backend/torch_shim.cc), calling it directly as the scheduler does: the
 * reference models' outputs against the references scripts/export-models
 * stored, a batch against the same requests one by one, every data type,
 * the forward() naming conventions, parameters, per-instance thread counts
 * and the errors (not TorchScript, wrong arity, wrong shape, KIND_GPU on a
 * CPU-only libtorch). The models come from the torch_models CTest fixture
 * ($INFERTUNE_TORCH_MODELS); without it every test is skipped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "backend/pytorch.h"
#include "model/config.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/strbuf.h"

#define MAX_TENSORS 4

/* The shim the backend loaded (model_load loads it first). */
static const struct torch_shim_api *api(void)
{
	struct it_error err = { 0 };
	const struct torch_shim_api *a = pytorch_shim(&err);

	if (!a)
		fail_msg("%s", err.message);
	return a;
}

static const char *models_dir(void)
{
	const char *d = getenv("INFERTUNE_TORCH_MODELS");

	if (!d || !*d)
		skip();
	return d;
}

static char *path_of(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *path_of(const char *fmt, ...)
{
	struct strbuf sb;
	va_list ap;

	strbuf_init(&sb, 0);
	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	return strbuf_detach(&sb, NULL);
}

/* ---- a loaded model ---------------------------------------------------------- */

struct loaded {
	struct model_config *cfg;
	const struct backend_ops *ops;
	void *model;
	void *inst;
};

/* Parses text and loads it on version_dir; returns model_load's rc. */
static int try_load(struct loaded *l, const char *text, const char *version_dir,
		    struct it_error *err)
{
	struct it_error perr = { 0 };

	memset(l, 0, sizeof(*l));
	l->cfg = model_config_parse(text, strlen(text), "t.pbtxt", &perr);
	if (!l->cfg)
		fail_msg("config does not parse: %s\n%s", perr.message, text);
	l->ops = backend_find(l->cfg, &perr);
	if (!l->ops)
		fail_msg("backend_find: %s", perr.message);
	assert_string_equal(l->ops->name, "pytorch");
	return l->ops->model_load(l->cfg, version_dir, &l->model, err);
}

static int try_instance(struct loaded *l, enum instance_kind kind,
			int device_id, struct it_error *err)
{
	struct backend_instance_info info = {
		.name = "t_0", .index = 0, .kind = kind, .device_id = device_id,
	};

	return l->ops->instance_new(l->model, &info, &l->inst, err);
}

static void load(struct loaded *l, const char *text, const char *version_dir)
{
	struct it_error err = { 0 };

	if (try_load(l, text, version_dir, &err))
		fail_msg("model_load: %s", err.message);
	if (try_instance(l, INSTANCE_KIND_CPU, -1, &err))
		fail_msg("instance_new: %s", err.message);
}

static void unload(struct loaded *l)
{
	if (l->inst)
		l->ops->instance_free(l->inst);
	if (l->model)
		l->ops->model_unload(l->model);
	model_config_free(l->cfg);
	memset(l, 0, sizeof(*l));
}

static void outputs_free(struct tensor *outs, size_t n)
{
	for (size_t j = 0; j < n; j++) {
		free(outs[j].data);
		outs[j].data = NULL;
	}
}

static struct tensor make_tensor(const char *name, enum datatype dt,
				 const int64_t *shape, size_t n_dims,
				 void *data, size_t byte_size)
{
	struct tensor t = { .name = name, .datatype = dt, .n_dims = n_dims,
			    .data = data, .byte_size = byte_size };

	memcpy(t.shape, shape, n_dims * sizeof(int64_t));
	return t;
}

/* ---- reference cases (scripts/export-models) ---------------------------------- */

struct ref_tensor {
	char name[64];
	enum datatype dt;
	int64_t shape[TENSOR_MAX_DIMS];
	size_t n_dims;
	char *data;
	size_t size;
};

struct ref_case {
	int64_t batch;
	struct ref_tensor in[MAX_TENSORS], out[MAX_TENSORS];
	size_t n_in, n_out;
	double atol, rtol;
};

static void ref_tensor_read(const char *dir, json_t *j, struct ref_tensor *t)
{
	struct it_error err = { 0 };
	json_t *shape = json_object_get(j, "shape");
	char *file;
	size_t i;
	json_t *v;

	snprintf(t->name, sizeof(t->name), "%s",
		 json_string_value(json_object_get(j, "name")));
	assert_true(datatype_from_protocol_name(
		json_string_value(json_object_get(j, "datatype")), &t->dt));
	t->n_dims = json_array_size(shape);
	json_array_foreach(shape, i, v)
		t->shape[i] = json_integer_value(v);
	file = path_of("%s/%s", dir,
		       json_string_value(json_object_get(j, "file")));
	if (fs_read_file(file, (size_t)1 << 30, &t->data, &t->size, &err))
		fail_msg("%s", err.message);
	free(file);
}

/* Reads case `index` of <models>/<model>/reference/reference.json. */
static void ref_case_read(const char *model, size_t index, struct ref_case *c)
{
	char *dir = path_of("%s/%s/reference", models_dir(), model);
	char *path = path_of("%s/reference.json", dir);
	json_error_t jerr;
	json_t *root = json_load_file(path, 0, &jerr);
	json_t *jc, *v;
	size_t i;

	if (!root)
		fail_msg("%s: %s", path, jerr.text);
	memset(c, 0, sizeof(*c));
	c->atol = json_number_value(json_object_get(root, "atol"));
	c->rtol = json_number_value(json_object_get(root, "rtol"));
	jc = json_array_get(json_object_get(root, "cases"), index);
	assert_non_null(jc);
	c->batch = json_integer_value(json_object_get(jc, "batch_size"));
	json_array_foreach(json_object_get(jc, "inputs"), i, v)
		ref_tensor_read(dir, v, &c->in[c->n_in++]);
	json_array_foreach(json_object_get(jc, "outputs"), i, v)
		ref_tensor_read(dir, v, &c->out[c->n_out++]);
	json_decref(root);
	free(path);
	free(dir);
}

static void ref_case_release(struct ref_case *c)
{
	for (size_t i = 0; i < c->n_in; i++)
		free(c->in[i].data);
	for (size_t i = 0; i < c->n_out; i++)
		free(c->out[i].data);
}

/* FP32 values within atol + rtol * |want| (numpy.allclose's rule). */
static void assert_close(const void *got, const void *want, size_t bytes,
			 double atol, double rtol, const char *what)
{
	for (size_t i = 0; i < bytes / 4; i++) {
		float g, w;

		memcpy(&g, (const char *)got + 4 * i, 4);
		memcpy(&w, (const char *)want + 4 * i, 4);
		if (!(fabs((double)g - (double)w) <= atol + rtol * fabs((double)w)))
			fail_msg("%s: element %zu is %.7g, reference %.7g", what,
				 i, (double)g, (double)w);
	}
}

/* The config export-models wrote for `model`. */
static char *model_config_text(const char *model)
{
	struct it_error err = { 0 };
	char *path = path_of("%s/%s/config.pbtxt", models_dir(), model);
	char *text;
	size_t len;

	if (fs_read_file(path, 1 << 20, &text, &len, &err))
		fail_msg("%s", err.message);
	free(path);
	return text;
}

/* Runs the reference case's inputs (in config order) and checks the outputs. */
static void run_case(struct loaded *l, const struct ref_case *c,
		     const char *what)
{
	struct tensor in[MAX_TENSORS], out[MAX_TENSORS] = { 0 };
	struct it_error err = { 0 };

	assert_int_equal(c->n_in, l->cfg->n_inputs);
	for (size_t i = 0; i < c->n_in; i++) {
		const struct ref_tensor *r = NULL;

		/* References list inputs by name; the config may reorder them. */
		for (size_t k = 0; k < c->n_in; k++) {
			if (!strcmp(c->in[k].name, l->cfg->inputs[i].name))
				r = &c->in[k];
		}
		if (!r)
			r = &c->in[i];
		in[i] = make_tensor(l->cfg->inputs[i].name, r->dt, r->shape,
				    r->n_dims, r->data, r->size);
	}
	if (l->ops->execute(l->inst, in, c->n_in, out, l->cfg->n_outputs, &err))
		fail_msg("%s: execute: %s", what, err.message);
	for (size_t j = 0; j < c->n_out; j++) {
		assert_int_equal(out[j].datatype, c->out[j].dt);
		assert_int_equal(out[j].n_dims, c->out[j].n_dims);
		assert_memory_equal(out[j].shape, c->out[j].shape,
				    c->out[j].n_dims * sizeof(int64_t));
		assert_int_equal(out[j].byte_size, c->out[j].size);
		assert_close(out[j].data, c->out[j].data, c->out[j].size,
			     c->atol, c->rtol, what);
	}
	outputs_free(out, l->cfg->n_outputs);
}

static void reference_outputs(const char *model)
{
	char *vdir = path_of("%s/%s/1", models_dir(), model);
	char *text = model_config_text(model);
	struct loaded l;

	load(&l, text, vdir);
	for (size_t k = 0; k < 2; k++) {
		struct ref_case c;

		ref_case_read(model, k, &c);
		run_case(&l, &c, model);
		/* A second run goes through libtorch's optimised plan. */
		run_case(&l, &c, model);
		ref_case_release(&c);
	}
	unload(&l);
	free(text);
	free(vdir);
}

static void test_reference_resnet(void **state)
{
	(void)state;
	reference_outputs("resnet-tiny");
}

static void test_reference_bert(void **state)
{
	(void)state;
	reference_outputs("bert-tiny");
}

/* The batch-3 case's rows sent one at a time equal the batch's rows. */
static void batch_equals_singles(const char *model)
{
	char *vdir = path_of("%s/%s/1", models_dir(), model);
	char *text = model_config_text(model);
	struct ref_case c;
	struct loaded l;

	load(&l, text, vdir);
	ref_case_read(model, 1, &c);
	assert_int_equal(c.batch, 3);
	for (int64_t b = 0; b < c.batch; b++) {
		struct tensor in[MAX_TENSORS], out[MAX_TENSORS] = { 0 };
		struct it_error err = { 0 };

		for (size_t i = 0; i < c.n_in; i++) {
			size_t row = c.in[i].size / (size_t)c.batch;
			int64_t shape[TENSOR_MAX_DIMS];

			memcpy(shape, c.in[i].shape, sizeof(shape));
			shape[0] = 1;
			in[i] = make_tensor(c.in[i].name, c.in[i].dt, shape,
					    c.in[i].n_dims,
					    c.in[i].data + row * (size_t)b, row);
		}
		if (l.ops->execute(l.inst, in, c.n_in, out, c.n_out, &err))
			fail_msg("execute: %s", err.message);
		for (size_t j = 0; j < c.n_out; j++) {
			size_t row = c.out[j].size / (size_t)c.batch;

			assert_int_equal(out[j].shape[0], 1);
			assert_int_equal(out[j].byte_size, row);
			assert_close(out[j].data,
				     c.out[j].data + row * (size_t)b, row,
				     c.atol, c.rtol, "one by one vs batch");
		}
		outputs_free(out, c.n_out);
	}
	ref_case_release(&c);
	unload(&l);
	free(text);
	free(vdir);
}

static void test_batch_equals_singles_resnet(void **state)
{
	(void)state;
	batch_equals_singles("resnet-tiny");
}

static void test_batch_equals_singles_bert(void **state)
{
	(void)state;
	batch_equals_singles("bert-tiny");
}

/* ---- naming conventions ---------------------------------------------------------- */

static const char bert_io[] =
	"output [ { name: \"OUTPUT__0\" data_type: TYPE_FP32 dims: [ 128 ] } ]\n";

/* bert-tiny with its inputs named and ordered as given. */
static char *bert_config(const char *in0, const char *in1, const char *extra)
{
	return path_of("name: \"b\" platform: \"pytorch_libtorch\" max_batch_size: 8\n"
		       "input [ { name: \"%s\" data_type: TYPE_INT64 dims: [ 16 ] },\n"
		       "        { name: \"%s\" data_type: TYPE_INT64 dims: [ 16 ] } ]\n"
		       "%s%s",
		       in0, in1, bert_io, extra ? extra : "");
}

/* Runs bert-tiny's batch-1 reference case with the inputs under new names. */
static void bert_renamed(const char *in0, const char *in1, bool swapped)
{
	char *vdir = path_of("%s/bert-tiny/1", models_dir());
	char *text = bert_config(in0, in1, NULL);
	struct ref_case c;
	struct loaded l;

	load(&l, text, vdir);
	ref_case_read("bert-tiny", 0, &c);
	/* run_case matches by name; rename the reference inputs to match. */
	snprintf(c.in[0].name, sizeof(c.in[0].name), "%s", swapped ? in1 : in0);
	snprintf(c.in[1].name, sizeof(c.in[1].name), "%s", swapped ? in0 : in1);
	run_case(&l, &c, "renamed inputs");
	ref_case_release(&c);
	unload(&l);
	free(text);
	free(vdir);
}

static void test_naming_conventions(void **state)
{
	(void)state;
	/* forward() argument names, in the other order. */
	bert_renamed("attention_mask", "input_ids", true);
	/* <name>__<index>, listed out of order. */
	bert_renamed("MASK__1", "IDS__0", true);
	/* Neither: strict config order (with a warning). */
	bert_renamed("ids", "mask", false);
}

static void test_tuple_outputs_by_index(void **state)
{
	char *vdir = path_of("%s/test/add_sub/1", models_dir());
	/* OUTPUT__1 listed first: the index, not the order, picks the output. */
	const char *text =
		"name: \"as\" platform: \"pytorch_libtorch\" max_batch_size: 0\n"
		"input [ { name: \"INPUT0\" data_type: TYPE_INT32 dims: [ 4 ] },\n"
		"        { name: \"INPUT1\" data_type: TYPE_INT32 dims: [ 4 ] } ]\n"
		"output [ { name: \"DIFF__1\" data_type: TYPE_INT32 dims: [ 4 ] },\n"
		"         { name: \"SUM__0\" data_type: TYPE_INT32 dims: [ 4 ] } ]\n";
	int32_t a[4] = { 1, 2, 3, 4 }, b[4] = { 10, 20, 30, 40 };
	int32_t sum[4] = { 11, 22, 33, 44 }, diff[4] = { -9, -18, -27, -36 };
	int64_t shape[1] = { 4 };
	struct tensor in[2], out[2] = { 0 };
	struct it_error err = { 0 };
	struct loaded l;

	(void)state;
	load(&l, text, vdir);
	in[0] = make_tensor("INPUT0", DATATYPE_INT32, shape, 1, a, sizeof(a));
	in[1] = make_tensor("INPUT1", DATATYPE_INT32, shape, 1, b, sizeof(b));
	if (l.ops->execute(l.inst, in, 2, out, 2, &err))
		fail_msg("execute: %s", err.message);
	assert_string_equal(out[0].name, "DIFF__1");
	assert_memory_equal(out[0].data, diff, sizeof(diff));
	assert_memory_equal(out[1].data, sum, sizeof(sum));
	assert_int_equal(out[0].n_dims, 1);
	assert_int_equal(out[0].shape[0], 4);
	outputs_free(out, 2);
	unload(&l);
	free(vdir);
}

static void test_dict_input_list_output(void **state)
{
	char *dict_dir = path_of("%s/test/dict_input/1", models_dir());
	char *list_dir = path_of("%s/test/list_output/1", models_dir());
	const char *dict_text =
		"name: \"d\" platform: \"pytorch_libtorch\" max_batch_size: 4\n"
		"input [ { name: \"b\" data_type: TYPE_FP32 dims: [ 2 ] },\n"
		"        { name: \"a\" data_type: TYPE_FP32 dims: [ 2 ] } ]\n"
		"output [ { name: \"OUTPUT__0\" data_type: TYPE_FP32 dims: [ 2 ] } ]\n";
	const char *list_text =
		"name: \"l\" platform: \"pytorch_libtorch\" max_batch_size: 4\n"
		"input [ { name: \"x\" data_type: TYPE_FP32 dims: [ 2 ] } ]\n"
		"output [ { name: \"OUTPUT__1\" data_type: TYPE_FP32 dims: [ 2 ] },\n"
		"         { name: \"OUTPUT__0\" data_type: TYPE_FP32 dims: [ 2 ] } ]\n";
	float a[2] = { 1, 2 }, b[2] = { 10, 20 }, want[2] = { 12, 24 };
	float twice[2] = { 2, 4 };
	int64_t shape[2] = { 1, 2 };
	struct tensor in[2], out[2] = { 0 };
	struct it_error err = { 0 };
	struct loaded l;

	(void)state;
	load(&l, dict_text, dict_dir);
	in[0] = make_tensor("b", DATATYPE_FP32, shape, 2, b, sizeof(b));
	in[1] = make_tensor("a", DATATYPE_FP32, shape, 2, a, sizeof(a));
	if (l.ops->execute(l.inst, in, 2, out, 1, &err))
		fail_msg("execute: %s", err.message);
	assert_memory_equal(out[0].data, want, sizeof(want));
	outputs_free(out, 1);
	unload(&l);

	load(&l, list_text, list_dir);
	in[0] = make_tensor("x", DATATYPE_FP32, shape, 2, a, sizeof(a));
	if (l.ops->execute(l.inst, in, 1, out, 2, &err))
		fail_msg("execute: %s", err.message);
	assert_memory_equal(out[0].data, twice, sizeof(twice));
	assert_memory_equal(out[1].data, a, sizeof(a));
	outputs_free(out, 2);
	unload(&l);
	free(dict_dir);
	free(list_dir);
}

/* ---- data types ------------------------------------------------------------------ */

static void test_every_datatype(void **state)
{
	static const enum datatype types[] = {
		DATATYPE_BOOL, DATATYPE_UINT8, DATATYPE_INT8, DATATYPE_INT16,
		DATATYPE_INT32, DATATYPE_INT64, DATATYPE_FP16, DATATYPE_BF16,
		DATATYPE_FP32, DATATYPE_FP64,
	};
	char *vdir = path_of("%s/test/identity/1", models_dir());
	unsigned char data[1 + 3 * 5 * 8];
	int64_t shape[3] = { 3, 5, 1 };

	(void)state;
	for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
		const char *cname = datatype_config_name(types[t]);
		size_t size = datatype_size_bytes(types[t]) * 15;
		char *text = path_of(
			"name: \"id\" platform: \"pytorch_libtorch\" max_batch_size: 4\n"
			"input [ { name: \"INPUT__0\" data_type: %s dims: [ 5, 1 ] } ]\n"
			"output [ { name: \"OUTPUT__0\" data_type: %s dims: [ 5, 1 ] } ]\n",
			cname, cname);
		struct tensor in, out = { 0 };
		struct it_error err = { 0 };
		struct loaded l;

		for (size_t i = 0; i < sizeof(data); i++)
			data[i] = types[t] == DATATYPE_BOOL ? (unsigned char)(i & 1) :
				  (unsigned char)(i * 37 + 11);
		load(&l, text, vdir);
		/* data + 1: a tensor packed at an odd offset, as in a request body. */
		in = make_tensor("INPUT__0", types[t], shape, 3,
				 types[t] == DATATYPE_BOOL ||
				 types[t] == DATATYPE_UINT8 ||
				 types[t] == DATATYPE_INT8 ? data : data + 1,
				 size);
		if (l.ops->execute(l.inst, &in, 1, &out, 1, &err))
			fail_msg("%s: execute: %s", cname, err.message);
		assert_int_equal(out.datatype, types[t]);
		assert_int_equal(out.byte_size, size);
		assert_int_equal(out.n_dims, 3);
		assert_int_equal(out.shape[0], 3);
		assert_memory_equal(out.data, in.data, size);
		outputs_free(&out, 1);
		unload(&l);
		free(text);
	}
	free(vdir);
}

static void test_unsupported_datatypes(void **state)
{
	static const char *const types[] = {
		"TYPE_UINT16", "TYPE_UINT32", "TYPE_UINT64", "TYPE_STRING",
	};
	char *vdir = path_of("%s/test/identity/1", models_dir());

	(void)state;
	for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
		char *text = path_of(
			"name: \"id\" platform: \"pytorch_libtorch\"\n"
			"input [ { name: \"INPUT__0\" data_type: %s dims: [ 4 ] } ]\n"
			"output [ { name: \"OUTPUT__0\" data_type: TYPE_FP32 dims: [ 4 ] } ]\n",
			types[t]);
		struct it_error err = { 0 };
		struct loaded l;

		assert_int_equal(try_load(&l, text, vdir, &err), IT_ERR_UNSUPPORTED);
		assert_non_null(strstr(err.message, "INPUT__0"));
		assert_non_null(strstr(err.message, t < 3 ? types[t] : "BYTES"));
		unload(&l);
		free(text);
	}
	free(vdir);
}

/* ---- errors at load ------------------------------------------------------------- */

static const char identity_fp32[] =
	"name: \"id\" platform: \"pytorch_libtorch\" max_batch_size: 4\n"
	"input [ { name: \"INPUT__0\" data_type: TYPE_FP32 dims: [ 4 ] } ]\n"
	"output [ { name: \"OUTPUT__0\" data_type: TYPE_FP32 dims: [ 4 ] } ]\n";

static void test_not_torchscript(void **state)
{
	char *vdir = path_of("%s/test/not_torchscript/1", models_dir());
	struct it_error err = { 0 };
	struct loaded l;

	(void)state;
	assert_int_equal(try_load(&l, identity_fp32, vdir, &err), IT_ERR_INVALID);
	print_message("    %s\n", err.message);
	assert_non_null(strstr(err.message, "/model.pt is not a TorchScript module: "));
	/* libtorch's own reason follows. */
	assert_non_null(strstr(err.message, "zip"));
	unload(&l);
	free(vdir);
}

static void test_missing_file(void **state)
{
	char *vdir = path_of("%s/test/identity/7", models_dir());
	struct it_error err = { 0 };
	struct loaded l;

	(void)state;
	assert_int_equal(try_load(&l, identity_fp32, vdir, &err),
			 IT_ERR_NOT_FOUND);
	assert_non_null(strstr(err.message, "identity/7/model.pt"));
	unload(&l);
	free(vdir);
}

static void test_default_model_filename(void **state)
{
	char *vdir = path_of("%s/test/identity/1", models_dir());
	char *text = path_of("%sdefault_model_filename: \"other.pt\"\n",
			     identity_fp32);
	struct it_error err = { 0 };
	struct loaded l;

	(void)state;
	assert_int_equal(try_load(&l, text, vdir, &err), IT_ERR_NOT_FOUND);
	assert_non_null(strstr(err.message, "identity/1/other.pt"));
	unload(&l);
	free(text);
	free(vdir);
}

static void test_arity_mismatch(void **state)
{
	char *vdir = path_of("%s/bert-tiny/1", models_dir());
	const char *text =
		"name: \"b\" platform: \"pytorch_libtorch\" max_batch_size: 8\n"
		"input [ { name: \"input_ids\" data_type: TYPE_INT64 dims: [ 16 ] } ]\n"
		"output [ { name: \"OUTPUT__0\" data_type: TYPE_FP32 dims: [ 128 ] } ]\n";
	struct it_error err = { 0 };
	struct loaded l;

	(void)state;
	assert_int_equal(try_load(&l, text, vdir, &err), IT_ERR_INVALID);
	print_message("    %s\n", err.message);
	assert_non_null(strstr(err.message,
			       "model expects 2 inputs in forward() (input_ids, attention_mask), config lists 1"));
	unload(&l);
	free(vdir);
}

static void test_bad_signatures(void **state)
{
	char *int_dir = path_of("%s/test/int_argument/1", models_dir());
	char *bert_dir = path_of("%s/bert-tiny/1", models_dir());
	char *text = path_of(
		"name: \"i\" platform: \"pytorch_libtorch\"\n"
		"input [ { name: \"x\" data_type: TYPE_FP32 dims: [ 4 ] },\n"
		"        { name: \"k\" data_type: TYPE_INT64 dims: [ 1 ] } ]\n"
		"output [ { name: \"OUTPUT__0\" data_type: TYPE_FP32 dims: [ 4 ] } ]\n");
	char *out_of_range = bert_config("IDS__0", "MASK__2", NULL);
	struct it_error err = { 0 };
	struct loaded l;

	(void)state;
	assert_int_equal(try_load(&l, text, int_dir, &err), IT_ERR_INVALID);
	assert_non_null(strstr(err.message, "forward() argument 'k' is int"));
	unload(&l);
	assert_int_equal(try_load(&l, out_of_range, bert_dir, &err), IT_ERR_INVALID);
	assert_non_null(strstr(err.message, "input 'MASK__2' names forward() argument 2"));
	unload(&l);
	free(out_of_range);
	free(text);
	free(bert_dir);
	free(int_dir);
}

static void test_bad_parameters(void **state)
{
	static const char *const params[][3] = {
		{ "INTRA_OP_THREAD_COUNT", "two", "INTRA_OP_THREAD_COUNT" },
		{ "INTER_OP_THREAD_COUNT", "-1", "INTER_OP_THREAD_COUNT" },
		{ "INFERENCE_MODE", "maybe", "true or false" },
		{ "DISABLE_OPTIMIZED_EXECUTION", "yes please", "true or false" },
	};
	char *vdir = path_of("%s/test/identity/1", models_dir());

	(void)state;
	for (size_t i = 0; i < sizeof(params) / sizeof(params[0]); i++) {
		char *text = path_of("%sparameters { key: \"%s\" value: { string_value: \"%s\" } }\n",
				     identity_fp32, params[i][0], params[i][1]);
		struct it_error err = { 0 };
		struct loaded l;

		assert_int_equal(try_load(&l, text, vdir, &err), IT_ERR_INVALID);
		assert_non_null(strstr(err.message, params[i][2]));
		unload(&l);
		free(text);
	}
	/* The alias must agree with the Triton name. */
	{
		char *text = path_of("%sparameters { key: \"INTRA_OP_THREAD_COUNT\" value: { string_value: \"2\" } }\n"
				     "parameters { key: \"NUM_THREADS\" value: { string_value: \"3\" } }\n",
				     identity_fp32);
		struct it_error err = { 0 };
		struct loaded l;

		assert_int_equal(try_load(&l, text, vdir, &err), IT_ERR_INVALID);
		assert_non_null(strstr(err.message, "NUM_THREADS"));
		unload(&l);
		free(text);
	}
	free(vdir);
}

/* ---- errors at execute ------------------------------------------------------------ */

static void test_wrong_shape_then_recovers(void **state)
{
	char *vdir = path_of("%s/resnet-tiny/1", models_dir());
	char *text = model_config_text("resnet-tiny");
	struct tensor in, out = { 0 };
	struct it_error err = { 0 };
	int64_t shape[3] = { 1, 3, 64 };
	float *data = calloc(3 * 64, sizeof(float));
	struct ref_case c;
	struct loaded l;
	int rc;

	(void)state;
	load(&l, text, vdir);
	/* [1, 3, 64] instead of [1, 3, 64, 64]: libtorch's conv2d refuses it. */
	in = make_tensor("INPUT__0", DATATYPE_FP32, shape, 3, data,
			 3 * 64 * sizeof(float));
	rc = l.ops->execute(l.inst, &in, 1, &out, 1, &err);
	print_message("    libtorch said: %s\n", err.message);
	assert_int_equal(rc, IT_ERR_INVALID);
	assert_non_null(strstr(err.message, "PyTorch execute failure"));
	assert_non_null(strstr(err.message, "[1, 3, 64]"));
	/* Only libtorch's error, not its interpreter traceback. */
	assert_null(strstr(err.message, "Traceback"));
	assert_null(out.data);
	/* The instance still serves. */
	ref_case_read("resnet-tiny", 0, &c);
	run_case(&l, &c, "after an error");
	ref_case_release(&c);
	unload(&l);
	free(data);
	free(text);
	free(vdir);
}

static void test_wrong_type_and_model_errors(void **state)
{
	char *vdir = path_of("%s/bert-tiny/1", models_dir());
	char *checked = path_of("%s/test/checked/1", models_dir());
	char *text = model_config_text("bert-tiny");
	const char *checked_text =
		"name: \"c\" platform: \"pytorch_libtorch\" max_batch_size: 4\n"
		"input [ { name: \"x\" data_type: TYPE_FP32 dims: [ 2 ] } ]\n"
		"output [ { name: \"OUTPUT__0\" data_type: TYPE_FP32 dims: [ 2 ] } ]\n";
	float ids[2 * 16] = { 0 }, x[2] = { 4, -1 };
	int64_t mask[2 * 16] = { 0 };
	int64_t shape[2] = { 2, 16 }, xshape[2] = { 1, 2 };
	struct tensor in[2], out = { 0 };
	struct it_error err = { 0 };
	struct loaded l;

	(void)state;
	load(&l, text, vdir);
	/* FP32 token ids: the embedding wants integer indices. */
	in[0] = make_tensor("input_ids", DATATYPE_FP32, shape, 2, ids, sizeof(ids));
	in[1] = make_tensor("attention_mask", DATATYPE_INT64, shape, 2, mask,
			    sizeof(mask));
	assert_int_equal(l.ops->execute(l.inst, in, 2, &out, 1, &err),
			 IT_ERR_INVALID);
	print_message("    libtorch said: %s\n", err.message);
	assert_non_null(strstr(err.message, "indices"));
	unload(&l);

	load(&l, checked_text, checked);
	in[0] = make_tensor("x", DATATYPE_FP32, xshape, 2, x, sizeof(x));
	assert_int_equal(l.ops->execute(l.inst, in, 1, &out, 1, &err),
			 IT_ERR_INVALID);
	print_message("    libtorch said: %s\n", err.message);
	assert_non_null(strstr(err.message, "x must not be negative"));
	unload(&l);
	free(text);
	free(checked);
	free(vdir);
}

static void test_output_mismatch(void **state)
{
	static const char *const outputs[][2] = {
		{ "output [ { name: \"OUTPUT__0\" data_type: TYPE_FP32 dims: [ 127 ] } ]\n",
		  "output 'OUTPUT__0': the model returned shape [ 1, 128 ]" },
		{ "output [ { name: \"OUTPUT__0\" data_type: TYPE_FP64 dims: [ 128 ] } ]\n",
		  "output 'OUTPUT__0': the model returned TYPE_FP32" },
		{ "output [ { name: \"OUTPUT__0\" data_type: TYPE_FP32 dims: [ 128 ] },\n"
		  "         { name: \"OUTPUT__1\" data_type: TYPE_FP32 dims: [ 128 ] } ]\n",
		  "output 'OUTPUT__1' refers to forward() output 1, but the model returned 1" },
	};
	char *vdir = path_of("%s/bert-tiny/1", models_dir());

	(void)state;
	for (size_t k = 0; k < sizeof(outputs) / sizeof(outputs[0]); k++) {
		char *text = path_of(
			"name: \"b\" platform: \"pytorch_libtorch\" max_batch_size: 8\n"
			"input [ { name: \"input_ids\" data_type: TYPE_INT64 dims: [ 16 ] },\n"
			"        { name: \"attention_mask\" data_type: TYPE_INT64 dims: [ 16 ] } ]\n%s",
			outputs[k][0]);
		struct tensor in[2], out[2] = { 0 };
		struct it_error err = { 0 };
		struct ref_case c;
		struct loaded l;

		load(&l, text, vdir);
		ref_case_read("bert-tiny", 0, &c);
		for (size_t i = 0; i < 2; i++)
			in[i] = make_tensor(c.in[i].name, c.in[i].dt, c.in[i].shape,
					    c.in[i].n_dims, c.in[i].data, c.in[i].size);
		assert_int_equal(l.ops->execute(l.inst, in, 2, out,
						l.cfg->n_outputs, &err),
				 IT_ERR_INVALID);
		if (!strstr(err.message, outputs[k][1]))
			fail_msg("got '%s', want '%s'", err.message, outputs[k][1]);
		assert_null(out[0].data);
		assert_null(out[1].data);
		ref_case_release(&c);
		unload(&l);
		free(text);
	}
	{
		char *dict_out = path_of("%s/test/dict_output/1", models_dir());
		float x[2] = { 1, 2 };
		int64_t shape[2] = { 1, 2 };
		const char *text =
			"name: \"d\" platform: \"pytorch_libtorch\" max_batch_size: 4\n"
			"input [ { name: \"x\" data_type: TYPE_FP32 dims: [ 2 ] } ]\n"
			"output [ { name: \"OUTPUT__0\" data_type: TYPE_FP32 dims: [ 2 ] } ]\n";
		struct tensor in, out = { 0 };
		struct it_error err = { 0 };
		struct loaded l;

		load(&l, text, dict_out);
		in = make_tensor("x", DATATYPE_FP32, shape, 2, x, sizeof(x));
		assert_int_equal(l.ops->execute(l.inst, &in, 1, &out, 1, &err),
				 IT_ERR_INVALID);
		assert_non_null(strstr(err.message, "forward() returned GenericDict"));
		unload(&l);
		free(dict_out);
	}
	free(vdir);
}

/* ---- parameters and instances ------------------------------------------------------ */

/* INFERENCE_MODE off and DISABLE_OPTIMIZED_EXECUTION on change no result. */
static void test_execution_parameters(void **state)
{
	char *vdir = path_of("%s/bert-tiny/1", models_dir());
	char *text = bert_config("input_ids", "attention_mask",
		"parameters { key: \"INFERENCE_MODE\" value: { string_value: \"false\" } }\n"
		"parameters { key: \"DISABLE_OPTIMIZED_EXECUTION\" value: { string_value: \"true\" } }\n"
		"parameters { key: \"ENABLE_WEIGHT_SHARING\" value: { string_value: \"true\" } }\n");
	struct ref_case c;
	struct loaded l;

	(void)state;
	load(&l, text, vdir);
	ref_case_read("bert-tiny", 1, &c);
	run_case(&l, &c, "inference mode off, no optimisation");
	run_case(&l, &c, "inference mode off, no optimisation, again");
	ref_case_release(&c);
	unload(&l);
	free(text);
	free(vdir);
}

struct thread_job {
	struct loaded *l;
	int threads_after_new;
	int threads_after_execute;
	int rc;
	char message[IT_ERROR_MESSAGE_MAX];
};

/* What a scheduler worker does: instance_new, then execute, on one thread. */
static void *instance_thread(void *arg)
{
	struct thread_job *job = arg;
	struct loaded *l = job->l;
	struct it_error err = { 0 };
	struct ref_case c;

	job->rc = try_instance(l, INSTANCE_KIND_CPU, -1, &err);
	job->threads_after_new = api()->intra_op_threads();
	if (!job->rc) {
		struct tensor in[MAX_TENSORS], out[MAX_TENSORS] = { 0 };

		ref_case_read("bert-tiny", 1, &c);
		for (size_t i = 0; i < c.n_in; i++)
			in[i] = make_tensor(c.in[i].name, c.in[i].dt, c.in[i].shape,
					    c.in[i].n_dims, c.in[i].data, c.in[i].size);
		for (int k = 0; k < 3 && !job->rc; k++) {
			job->rc = l->ops->execute(l->inst, in, c.n_in, out, 1, &err);
			outputs_free(out, 1);
		}
		ref_case_release(&c);
	}
	job->threads_after_execute = api()->intra_op_threads();
	snprintf(job->message, sizeof(job->message), "%s", err.message);
	return NULL;
}

/*
 * Two models with different INTRA_OP_THREAD_COUNT, each instance on its own
 * thread as the scheduler runs them, both alive at once: each thread runs
 * with its own count, and the setting of one does not change the other.
 */
static void test_threads_per_instance(void **state)
{
	char *vdir = path_of("%s/bert-tiny/1", models_dir());
	int counts[2] = { 3, 1 };
	struct loaded l[2];
	struct thread_job job[2];
	pthread_t tid[2];

	(void)state;
	for (int k = 0; k < 2; k++) {
		char extra[256];
		char *text;
		struct it_error err = { 0 };

		snprintf(extra, sizeof(extra),
			 "parameters { key: \"INTRA_OP_THREAD_COUNT\" value: { string_value: \"%d\" } }\n"
			 "parameters { key: \"INTER_OP_THREAD_COUNT\" value: { string_value: \"1\" } }\n",
			 counts[k]);
		text = bert_config("input_ids", "attention_mask", extra);
		if (try_load(&l[k], text, vdir, &err))
			fail_msg("model_load: %s", err.message);
		free(text);
		memset(&job[k], 0, sizeof(job[k]));
		job[k].l = &l[k];
	}
	for (int k = 0; k < 2; k++)
		assert_int_equal(pthread_create(&tid[k], NULL, instance_thread,
						&job[k]), 0);
	for (int k = 0; k < 2; k++)
		pthread_join(tid[k], NULL);
	for (int k = 0; k < 2; k++) {
		if (job[k].rc)
			fail_msg("instance %d: %s", k, job[k].message);
		assert_int_equal(job[k].threads_after_new, counts[k]);
		assert_int_equal(job[k].threads_after_execute, counts[k]);
	}
	assert_int_equal(api()->inter_op_threads(), 1);
	/* A thread that sets nothing still has libtorch's default. */
	assert_int_equal(api()->default_intra_op_threads() > 0, 1);
	for (int k = 0; k < 2; k++)
		unload(&l[k]);
	free(vdir);
}

static void test_kind_gpu(void **state)
{
	char *vdir = path_of("%s/test/identity/1", models_dir());
	struct it_error err = { 0 };
	struct loaded l;
	int rc;

	(void)state;
	if (try_load(&l, identity_fp32, vdir, &err))
		fail_msg("model_load: %s", err.message);
	rc = try_instance(&l, INSTANCE_KIND_GPU, 0, &err);
	if (api()->has_cuda() && api()->cuda_device_count() > 0) {
		/* A CUDA libtorch with a GPU: the instance runs there. */
		assert_int_equal(rc, 0);
	} else if (!api()->has_cuda()) {
		assert_int_equal(rc, IT_ERR_UNSUPPORTED);
		assert_non_null(strstr(err.message,
				       "instance group kind KIND_GPU needs libtorch with CUDA; this build is CPU-only"));
		assert_null(l.inst);
	}
	unload(&l);
	free(vdir);
}

static void test_registry(void **state)
{
	const char *text =
		"name: \"x\" backend: \"pytorch\"\n"
		"input [ { name: \"INPUT__0\" data_type: TYPE_FP32 dims: [ 4 ] } ]\n"
		"output [ { name: \"OUTPUT__0\" data_type: TYPE_FP32 dims: [ 4 ] } ]\n";
	struct it_error err = { 0 };
	struct model_config *cfg;
	const struct backend_ops *ops;

	(void)state;
	cfg = model_config_parse(text, strlen(text), "t.pbtxt", &err);
	assert_non_null(cfg);
	ops = backend_find(cfg, &err);
	assert_non_null(ops);
	assert_string_equal(ops->name, "pytorch");
	assert_string_equal(ops->platform, "pytorch_libtorch");
	model_config_free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_registry),
		cmocka_unit_test(test_reference_resnet),
		cmocka_unit_test(test_reference_bert),
		cmocka_unit_test(test_batch_equals_singles_resnet),
		cmocka_unit_test(test_batch_equals_singles_bert),
		cmocka_unit_test(test_naming_conventions),
		cmocka_unit_test(test_tuple_outputs_by_index),
		cmocka_unit_test(test_dict_input_list_output),
		cmocka_unit_test(test_every_datatype),
		cmocka_unit_test(test_unsupported_datatypes),
		cmocka_unit_test(test_not_torchscript),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_default_model_filename),
		cmocka_unit_test(test_arity_mismatch),
		cmocka_unit_test(test_bad_signatures),
		cmocka_unit_test(test_bad_parameters),
		cmocka_unit_test(test_wrong_shape_then_recovers),
		cmocka_unit_test(test_wrong_type_and_model_errors),
		cmocka_unit_test(test_output_mismatch),
		cmocka_unit_test(test_execution_parameters),
		cmocka_unit_test(test_threads_per_instance),
		cmocka_unit_test(test_kind_gpu),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
