/*
 * The two built-in CPU backends: `identity` (every output equals its input)
 * and `add_sub` (Triton's classic example: sum and difference of two
 * 16-element vectors). Both check the config at model_load so that a wrong
 * config leaves the model UNAVAILABLE with a clear reason instead of failing
 * every request. Depends on backend/backend.h, model/ and util/ only.
 */
#include "backend/backend.h"

#include <stdlib.h>
#include <string.h>

#include "util/error.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define ADD_SUB_DIM 16

struct builtin_model {
	const char *backend;            /* for messages */
	const struct model_config *cfg; /* outlives the model (backend contract) */
	/* add_sub: positions of INPUT0/INPUT1 and OUTPUT0/OUTPUT1 in the config. */
	size_t in0, in1, out0, out1;
	enum datatype datatype;
};

/*
 * Both backends compute on the host. KIND_AUTO reaches us resolved (the
 * scheduler turns it into KIND_CPU unless GPUs are listed); KIND_MODEL lets
 * the backend choose, and these choose the CPU.
 */
static int builtin_instance_new(void *model_state,
				const struct backend_instance_info *info,
				void **instance_state, struct it_error *err)
{
	struct builtin_model *m = model_state;

	if (info->kind == INSTANCE_KIND_GPU)
		return it_error_set(err, IT_ERR_UNSUPPORTED,
				    "backend '%s' runs on the CPU only; instance_group kind KIND_GPU needs a GPU backend (instance '%s')",
				    m->backend, info->name);
	*instance_state = m;
	return 0;
}

static void builtin_instance_free(void *instance_state)
{
	(void)instance_state;
}

static void builtin_model_unload(void *model_state)
{
	free(model_state);
}

static void outputs_release(struct tensor *outputs, size_t n_outputs)
{
	for (size_t j = 0; j < n_outputs; j++) {
		free(outputs[j].data);
		outputs[j].data = NULL;
		outputs[j].byte_size = 0;
	}
}

/* ---- identity ----------------------------------------------------------- */

static int identity_model_load(const struct model_config *cfg,
			       const char *version_dir, void **model_state,
			       struct it_error *err)
{
	struct builtin_model *m;

	(void)version_dir;
	if (cfg->n_outputs != cfg->n_inputs)
		return it_error_set(err, IT_ERR_INVALID,
				    "backend 'identity' needs one output per input; the config has %zu input(s) and %zu output(s)",
				    cfg->n_inputs, cfg->n_outputs);
	for (size_t i = 0; i < cfg->n_inputs; i++) {
		const struct model_tensor *in = &cfg->inputs[i];
		const struct model_tensor *out = &cfg->outputs[i];

		if (in->data_type != out->data_type)
			return it_error_set(err, IT_ERR_INVALID,
					    "backend 'identity': output %zu '%s' is %s but input %zu '%s' is %s; output i must have the data type of input i",
					    i, out->name,
					    datatype_config_name(out->data_type),
					    i, in->name,
					    datatype_config_name(in->data_type));
	}
	m = xcalloc(1, sizeof(*m));
	m->backend = "identity";
	m->cfg = cfg;
	*model_state = m;
	return 0;
}

static int identity_execute(void *instance_state, const struct tensor *inputs,
			    size_t n_inputs, struct tensor *outputs,
			    size_t n_outputs, struct it_error *err)
{
	struct builtin_model *m = instance_state;
	const struct model_config *cfg = m->cfg;

	if (n_inputs != cfg->n_inputs || n_outputs != n_inputs)
		return it_error_set(err, IT_ERR_INTERNAL,
				    "identity: called with %zu inputs and %zu outputs, config has %zu",
				    n_inputs, n_outputs, cfg->n_inputs);
	for (size_t j = 0; j < n_outputs; j++) {
		const struct tensor *in = &inputs[j];
		struct tensor *out = &outputs[j];

		if (!in->data && in->n_dims == 0) {
			outputs_release(outputs, j);
			return it_error_set(err, IT_ERR_INVALID,
					    "identity: optional input '%s' was not sent, so output '%s' has no value",
					    cfg->inputs[j].name,
					    cfg->outputs[j].name);
		}
		out->name = cfg->outputs[j].name;
		out->datatype = in->datatype;
		out->n_dims = in->n_dims;
		memcpy(out->shape, in->shape, sizeof(out->shape));
		/* BYTES elements are copied with their length prefixes. */
		out->data = xmalloc(in->byte_size);
		if (in->byte_size)
			memcpy(out->data, in->data, in->byte_size);
		out->byte_size = in->byte_size;
	}
	return 0;
}

const struct backend_ops backend_identity = {
	.name = "identity",
	.platform = NULL,
	.model_load = identity_model_load,
	.model_unload = builtin_model_unload,
	.instance_new = builtin_instance_new,
	.instance_free = builtin_instance_free,
	.execute = identity_execute,
};

/* ---- add_sub ------------------------------------------------------------- */

/* Position of the tensor called `name`, or n when absent. */
static size_t tensor_index(const struct model_tensor *ts, size_t n,
			   const char *name)
{
	size_t i = 0;

	while (i < n && strcmp(ts[i].name, name))
		i++;
	return i;
}

/* One add_sub tensor must be TYPE_INT32 or TYPE_FP32 with dims [16]. */
static int add_sub_check_tensor(const struct model_config *cfg,
				const struct model_tensor *t,
				struct it_error *err)
{
	if (t->data_type != DATATYPE_INT32 && t->data_type != DATATYPE_FP32)
		return it_error_at(err, IT_ERR_INVALID, cfg->source, t->line,
				   t->col,
				   "backend 'add_sub': '%s' is %s; it must be TYPE_INT32 or TYPE_FP32",
				   t->name, datatype_config_name(t->data_type));
	if (t->n_dims != 1 || t->dims[0] != ADD_SUB_DIM)
		return it_error_at(err, IT_ERR_INVALID, cfg->source, t->line,
				   t->col,
				   "backend 'add_sub': '%s' must have dims [ %d ]",
				   t->name, ADD_SUB_DIM);
	return 0;
}

static int add_sub_model_load(const struct model_config *cfg,
			      const char *version_dir, void **model_state,
			      struct it_error *err)
{
	const char *in_names[2] = { "INPUT0", "INPUT1" };
	const char *out_names[2] = { "OUTPUT0", "OUTPUT1" };
	size_t in[2], out[2];
	struct builtin_model *m;
	int rc;

	(void)version_dir;
	if (cfg->n_inputs != 2 || cfg->n_outputs != 2)
		return it_error_set(err, IT_ERR_INVALID,
				    "backend 'add_sub' needs inputs INPUT0, INPUT1 and outputs OUTPUT0, OUTPUT1; the config has %zu input(s) and %zu output(s)",
				    cfg->n_inputs, cfg->n_outputs);
	for (int k = 0; k < 2; k++) {
		in[k] = tensor_index(cfg->inputs, cfg->n_inputs, in_names[k]);
		out[k] = tensor_index(cfg->outputs, cfg->n_outputs,
				      out_names[k]);
		if (in[k] == cfg->n_inputs)
			return it_error_set(err, IT_ERR_INVALID,
					    "backend 'add_sub' needs an input named '%s'",
					    in_names[k]);
		if (out[k] == cfg->n_outputs)
			return it_error_set(err, IT_ERR_INVALID,
					    "backend 'add_sub' needs an output named '%s'",
					    out_names[k]);
	}
	for (int k = 0; k < 2; k++) {
		rc = add_sub_check_tensor(cfg, &cfg->inputs[in[k]], err);
		if (rc)
			return rc;
		rc = add_sub_check_tensor(cfg, &cfg->outputs[out[k]], err);
		if (rc)
			return rc;
	}
	for (int k = 0; k < 2; k++) {
		const struct model_tensor *t[2] = { &cfg->inputs[in[k]],
						    &cfg->outputs[out[k]] };

		for (int l = 0; l < 2; l++) {
			if (t[l]->data_type != cfg->inputs[in[0]].data_type)
				return it_error_at(err, IT_ERR_INVALID,
						   cfg->source, t[l]->line,
						   t[l]->col,
						   "backend 'add_sub': '%s' is %s but INPUT0 is %s; all four tensors must have one data type",
						   t[l]->name,
						   datatype_config_name(t[l]->data_type),
						   datatype_config_name(cfg->inputs[in[0]].data_type));
		}
	}

	m = xcalloc(1, sizeof(*m));
	m->backend = "add_sub";
	m->cfg = cfg;
	m->in0 = in[0];
	m->in1 = in[1];
	m->out0 = out[0];
	m->out1 = out[1];
	m->datatype = cfg->inputs[in[0]].data_type;
	*model_state = m;
	return 0;
}

/*
 * INT32 arithmetic wraps (two's complement) as it does in Triton's example
 * model, done in uint32_t because signed overflow is undefined in C.
 */
static void add_sub_int32(const void *a, const void *b, void *sum, void *diff,
			  size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint32_t x, y, s, d;

		memcpy(&x, (const char *)a + 4 * i, 4);
		memcpy(&y, (const char *)b + 4 * i, 4);
		s = x + y;
		d = x - y;
		memcpy((char *)sum + 4 * i, &s, 4);
		memcpy((char *)diff + 4 * i, &d, 4);
	}
}

static void add_sub_fp32(const void *a, const void *b, void *sum, void *diff,
			 size_t n)
{
	for (size_t i = 0; i < n; i++) {
		float x, y, s, d;

		memcpy(&x, (const char *)a + 4 * i, 4);
		memcpy(&y, (const char *)b + 4 * i, 4);
		s = x + y;
		d = x - y;
		memcpy((char *)sum + 4 * i, &s, 4);
		memcpy((char *)diff + 4 * i, &d, 4);
	}
}

static int add_sub_execute(void *instance_state, const struct tensor *inputs,
			   size_t n_inputs, struct tensor *outputs,
			   size_t n_outputs, struct it_error *err)
{
	struct builtin_model *m = instance_state;
	const struct tensor *a, *b;
	struct tensor *sum, *diff;
	int64_t count;
	size_t bytes;

	if (n_inputs != 2 || n_outputs != 2)
		return it_error_set(err, IT_ERR_INTERNAL,
				    "add_sub: called with %zu inputs and %zu outputs",
				    n_inputs, n_outputs);
	a = &inputs[m->in0];
	b = &inputs[m->in1];
	count = tensor_element_count(a->shape, a->n_dims);
	if (!a->data || !b->data || count < 0 || a->n_dims != b->n_dims ||
	    memcmp(a->shape, b->shape, a->n_dims * sizeof(a->shape[0])) ||
	    a->datatype != m->datatype || b->datatype != m->datatype ||
	    a->byte_size != (size_t)count * 4 || b->byte_size != a->byte_size)
		return it_error_set(err, IT_ERR_INVALID,
				    "add_sub: INPUT0 and INPUT1 must be present with the same shape and the model's data type");
	bytes = a->byte_size;
	sum = &outputs[m->out0];
	diff = &outputs[m->out1];
	sum->data = xmalloc(bytes);
	diff->data = xmalloc(bytes);
	if (m->datatype == DATATYPE_INT32)
		add_sub_int32(a->data, b->data, sum->data, diff->data,
			      (size_t)count);
	else
		add_sub_fp32(a->data, b->data, sum->data, diff->data,
			     (size_t)count);
	sum->name = m->cfg->outputs[m->out0].name;
	diff->name = m->cfg->outputs[m->out1].name;
	sum->datatype = diff->datatype = m->datatype;
	sum->n_dims = diff->n_dims = a->n_dims;
	memcpy(sum->shape, a->shape, sizeof(sum->shape));
	memcpy(diff->shape, a->shape, sizeof(diff->shape));
	sum->byte_size = diff->byte_size = bytes;
	return 0;
}

const struct backend_ops backend_add_sub = {
	.name = "add_sub",
	.platform = NULL,
	.model_load = add_sub_model_load,
	.model_unload = builtin_model_unload,
	.instance_new = builtin_instance_new,
	.instance_free = builtin_instance_free,
	.execute = add_sub_execute,
};
