/*
 * `pytorch` (platform pytorch_libtorch): TorchScript models through libtorch,
 * served the way Triton's PyTorch backend serves them: config inputs mapped
 * onto forward()'s arguments by name, by <name>__<index> or by config order
 * (protocol.md §6), outputs by <name>__<index> or order, Triton's backend
 * parameters per instance, batches along dimension 0. All libtorch calls go
 * through backend/torch_shim.h's function table, which this file dlopen()s
 * from libinfertune_torch.so when the first pytorch model loads; this file
 * is C. Built only with INFERTUNE_WITH_TORCH. Depends on backend/backend.h,
 * model/ and util/.
 */
#include "backend/pytorch.h"

#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "backend/backend.h"
#include "backend/torch_shim.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/strbuf.h"
#include "util/xalloc.h"
#include "util/log.h"
#include "util/banned.h"

/* More threads than this is a typo, not a tuning choice. */
#define PT_MAX_THREADS 1024

/* Triton's delimiter between a tensor name and its index: "INPUT__0". */
#define PT_INDEX_DELIMITER "__"

/* Triton's PyTorch backend parameters (config `parameters`), as read here. */
struct pt_params {
	int intra_op_threads;     /* 0: libtorch's default */
	int inter_op_threads;     /* 0: libtorch's default */
	bool optimized_execution; /* !DISABLE_OPTIMIZED_EXECUTION */
	bool inference_mode;      /* INFERENCE_MODE, default true as in Triton */
	bool cudnn;               /* !DISABLE_CUDNN */
	bool weight_sharing;      /* ENABLE_WEIGHT_SHARING */
};

struct pt_model {
	const struct model_config *cfg; /* outlives the model (backend contract) */
	const char *name;
	char *path;                     /* <version_dir>/model.pt */
	struct pt_params params;
	bool dict_input;                /* forward(self, Dict[str, Tensor]) */
	size_t *input_arg;              /* cfg->inputs[i] -> forward() argument */
	size_t *output_index;           /* cfg->outputs[j] -> forward() output */
	/*
	 * The module model_load read to check the signature. The first CPU
	 * instance takes it instead of loading the file again; with
	 * ENABLE_WEIGHT_SHARING every CPU instance uses it and it stays here.
	 */
	pthread_mutex_t mu;
	struct torch_module *spare;
};

struct pt_instance {
	struct pt_model *model;
	char *name;
	struct torch_module *module;
	bool owns_module;
	int intra_op_threads;         /* what this instance's thread runs with */
	struct torch_input *args;     /* scratch, forward() order */
	int64_t (*arg_shapes)[TENSOR_MAX_DIMS];
};

/* ---- the shim library --------------------------------------------------------- */

/* The build tree's copy; CMake defines it. */
#ifndef INFERTUNE_TORCH_SHIM_PATH
#define INFERTUNE_TORCH_SHIM_PATH "/nonexistent/libinfertune_torch.so"
#endif
#define PT_SHIM_FILE "libinfertune_torch.so"

/* Set once by shim_load_once(); read-only afterwards. */
static const struct torch_shim_api *shim;
static char shim_error[IT_ERROR_MESSAGE_MAX];
static pthread_once_t shim_once = PTHREAD_ONCE_INIT;

/* <directory of the running executable>/libinfertune_torch.so, or NULL. */
static char *shim_next_to_exe(void)
{
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;

	if (n <= 0)
		return NULL;
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (!slash)
		return NULL;
	*slash = '\0';
	return fs_join(exe, PT_SHIM_FILE);
}

/*
 * libtorch's matrix multiplications go to whichever BLAS the system's
 * libblas.so.3 is. Two choices quietly spoil what the pytorch parameters
 * mean, so say so once in the log: the reference BLAS (about 20 times slower)
 * and OpenBLAS built with pthreads, whose own thread pool always uses every
 * core whatever INTRA_OP_THREAD_COUNT says, and spins against libtorch's
 * OpenMP threads (BERT-base ran 3.6 times slower at INTRA_OP_THREAD_COUNT 2
 * on two cores). OpenBLAS built with OpenMP follows the instance's count.
 */
static void blas_check(void)
{
	FILE *maps = fopen("/proc/self/maps", "r");
	char line[1024];
	const char *found = NULL;

	if (!maps)
		return;
	while (!found && fgets(line, sizeof(line), maps)) {
		if (strstr(line, "/openblas-pthread/"))
			found = "OpenBLAS built with pthreads: its thread pool uses every core whatever INTRA_OP_THREAD_COUNT says";
		else if (strstr(line, "/blas/libblas.so"))
			found = "the reference BLAS: matrix multiplications run about 20 times slower than with OpenBLAS";
	}
	fclose(maps);
	if (found)
		log_warning("pytorch: libtorch uses %s; install libopenblas0-openmp and select it (update-alternatives --config libblas.so.3-x86_64-linux-gnu)",
		       found);
}

/*
 * Where the shim may be: $INFERTUNE_TORCH_SHIM (a path) when set, and then
 * only there; else next to the executable (an installed infertune), then the
 * build tree's copy (unit tests and benchmarks run from other folders).
 * libtorch's own libraries are found by the shim's run path.
 */
static void shim_load_once(void)
{
	const char *env = getenv("INFERTUNE_TORCH_SHIM");
	char *beside = shim_next_to_exe();
	const char *paths[3];
	size_t n = 0;
	struct strbuf why;

	strbuf_init(&why, 0);
	if (env && *env) {
		paths[n++] = env;
	} else {
		if (beside)
			paths[n++] = beside;
		paths[n++] = INFERTUNE_TORCH_SHIM_PATH;
	}
	for (size_t i = 0; i < n && !shim; i++) {
		void *lib;
		torch_shim_api_fn fn;
		const struct torch_shim_api *api;

		if (!fs_is_file(paths[i])) {
			strbuf_addf(&why, "%s%s: no such file", why.len ? "; " : "",
				    paths[i]);
			continue;
		}
		lib = dlopen(paths[i], RTLD_NOW | RTLD_LOCAL);
		if (!lib) {
			strbuf_addf(&why, "%s%s", why.len ? "; " : "", dlerror());
			continue;
		}
		/* dlsym returns void *; POSIX guarantees the conversion works. */
		*(void **)&fn = dlsym(lib, TORCH_SHIM_SYMBOL);
		api = fn ? fn() : NULL;
		if (!api || api->abi_version != TORCH_SHIM_ABI_VERSION) {
			strbuf_addf(&why, "%s%s: not infertune's torch shim of ABI version %d",
				    why.len ? "; " : "", paths[i],
				    TORCH_SHIM_ABI_VERSION);
			dlclose(lib);
			continue;
		}
		/* Never closed: libtorch cannot be unloaded safely. */
		shim = api;
		blas_check();
	}
	if (!shim)
		snprintf(shim_error, sizeof(shim_error),
			 "the pytorch backend cannot load its libtorch library: %s",
			 why.len ? why.buf : "not found");
	strbuf_release(&why);
	free(beside);
}

const struct torch_shim_api *pytorch_shim(struct it_error *err)
{
	pthread_once(&shim_once, shim_load_once);
	if (!shim)
		it_error_set(err, IT_ERR_UNSUPPORTED, "%s", shim_error);
	return shim;
}

/* ---- parameters ----------------------------------------------------------- */

/* Triton's boolean spellings (backend_common's ParseBoolValue). */
static int parse_bool(const struct model_config *cfg, const char *key,
		      bool *value, bool *present, struct it_error *err)
{
	const char *s = model_config_parameter(cfg, key);

	*present = s != NULL;
	if (!s)
		return 0;
	if (!strcasecmp(s, "true") || !strcasecmp(s, "on") || !strcmp(s, "1")) {
		*value = true;
		return 0;
	}
	if (!strcasecmp(s, "false") || !strcasecmp(s, "off") || !strcmp(s, "0")) {
		*value = false;
		return 0;
	}
	return it_error_set(err, IT_ERR_INVALID,
			    "backend 'pytorch': parameter %s is '%s'; it must be true or false",
			    key, s);
}

/* A thread count: a decimal in 0..PT_MAX_THREADS (0 = libtorch's default). */
static int parse_threads(const struct model_config *cfg, const char *key,
			 int *value, bool *present, struct it_error *err)
{
	const char *s = model_config_parameter(cfg, key);
	long v;
	char *end;

	*present = s != NULL;
	if (!s)
		return 0;
	errno = 0;
	v = strtol(s, &end, 10);
	if (!*s || *end || errno || v < 0 || v > PT_MAX_THREADS)
		return it_error_set(err, IT_ERR_INVALID,
				    "backend 'pytorch': parameter %s is '%s'; it must be a whole number from 0 (libtorch's default) to %d",
				    key, s, PT_MAX_THREADS);
	*value = (int)v;
	return 0;
}

/*
 * A thread count under its Triton name or its alias (NUM_THREADS and
 * NUM_INTEROP_THREADS, the names protocol.md §6 also lists). Both may be
 * given only with the same value.
 */
static int parse_thread_param(const struct model_config *cfg,
			      const char *key, const char *alias, int *value,
			      struct it_error *err)
{
	int a = 0, b = 0;
	bool has_a, has_b;
	int rc;

	rc = parse_threads(cfg, key, &a, &has_a, err);
	if (rc)
		return rc;
	rc = parse_threads(cfg, alias, &b, &has_b, err);
	if (rc)
		return rc;
	if (has_a && has_b && a != b)
		return it_error_set(err, IT_ERR_INVALID,
				    "backend 'pytorch': parameters %s (%d) and %s (%d) name the same setting with different values",
				    key, a, alias, b);
	*value = has_a ? a : b;
	return 0;
}

/* Triton parameters this backend accepts but does nothing with. */
static const char *const pt_ignored_params[] = {
	"ENABLE_CACHE_CLEANING", "ENABLE_JIT_EXECUTOR", "ENABLE_JIT_PROFILING",
	"ENABLE_TENSOR_FUSER",
};

static int params_parse(const struct model_config *cfg, struct pt_params *p,
			struct it_error *err)
{
	bool flag, present;
	int rc;

	memset(p, 0, sizeof(*p));
	p->optimized_execution = true;
	p->inference_mode = true;
	p->cudnn = true;

	rc = parse_thread_param(cfg, "INTRA_OP_THREAD_COUNT", "NUM_THREADS",
				&p->intra_op_threads, err);
	if (rc)
		return rc;
	rc = parse_thread_param(cfg, "INTER_OP_THREAD_COUNT",
				"NUM_INTEROP_THREADS", &p->inter_op_threads,
				err);
	if (rc)
		return rc;
	rc = parse_bool(cfg, "DISABLE_OPTIMIZED_EXECUTION", &flag, &present, err);
	if (rc)
		return rc;
	if (present)
		p->optimized_execution = !flag;
	rc = parse_bool(cfg, "INFERENCE_MODE", &flag, &present, err);
	if (rc)
		return rc;
	if (present)
		p->inference_mode = flag;
	rc = parse_bool(cfg, "DISABLE_CUDNN", &flag, &present, err);
	if (rc)
		return rc;
	if (present)
		p->cudnn = !flag;
	rc = parse_bool(cfg, "ENABLE_WEIGHT_SHARING", &flag, &present, err);
	if (rc)
		return rc;
	if (present)
		p->weight_sharing = flag;
	for (size_t i = 0; i < sizeof(pt_ignored_params) / sizeof(pt_ignored_params[0]); i++) {
		if (model_config_parameter(cfg, pt_ignored_params[i]))
			log_warning("pytorch: model '%s': parameter %s is not implemented by infertune's pytorch backend; ignored",
			       cfg->name, pt_ignored_params[i]);
	}
	return 0;
}

/* ---- configuration checks ------------------------------------------------- */

/* Data types libtorch has tensors for; the others are refused at load. */
static int check_datatype(const struct model_config *cfg,
			  const struct model_tensor *t, const char *what,
			  struct it_error *err)
{
	switch (t->data_type) {
	case DATATYPE_BOOL:
	case DATATYPE_UINT8:
	case DATATYPE_INT8:
	case DATATYPE_INT16:
	case DATATYPE_INT32:
	case DATATYPE_INT64:
	case DATATYPE_FP16:
	case DATATYPE_BF16:
	case DATATYPE_FP32:
	case DATATYPE_FP64:
		return 0;
	case DATATYPE_STRING:
		return it_error_at(err, IT_ERR_UNSUPPORTED, cfg->source, t->line,
				   t->col,
				   "backend 'pytorch': %s '%s' is TYPE_STRING (BYTES); infertune's pytorch backend serves numeric tensors only",
				   what, t->name);
	default:
		return it_error_at(err, IT_ERR_UNSUPPORTED, cfg->source, t->line,
				   t->col,
				   "backend 'pytorch': %s '%s' is %s, which libtorch %s has no tensor type for",
				   what, t->name,
				   datatype_config_name(t->data_type),
				   shim->version());
	}
}

/*
 * Dimensions the model sees for one tensor (reshape when given, else dims),
 * without the batch dimension. A reshape with a variable dimension would
 * need inferring; Triton users rarely write one, so it is refused.
 */
static int check_reshape(const struct model_config *cfg,
			 const struct model_tensor *t, struct it_error *err)
{
	if (!t->has_reshape)
		return 0;
	for (size_t d = 0; d < t->n_reshape; d++) {
		if (t->reshape[d] < 0)
			return it_error_at(err, IT_ERR_UNSUPPORTED, cfg->source,
					   t->line, t->col,
					   "backend 'pytorch': '%s' has a reshape with a variable dimension; infertune's pytorch backend needs fixed reshape dims",
					   t->name);
	}
	for (size_t d = 0; d < t->n_dims; d++) {
		if (t->dims[d] < 0)
			return it_error_at(err, IT_ERR_UNSUPPORTED, cfg->source,
					   t->line, t->col,
					   "backend 'pytorch': '%s' has a reshape and variable dims; infertune's pytorch backend needs fixed dims with a reshape",
					   t->name);
	}
	return 0;
}

/*
 * The index in "<name>__<index>" (the part after the first "__", all
 * digits), or -1 when the name does not follow that convention.
 */
static long named_index(const char *name)
{
	const char *p = strstr(name, PT_INDEX_DELIMITER);
	long v = 0;

	if (!p)
		return -1;
	p += strlen(PT_INDEX_DELIMITER);
	if (!*p)
		return -1;
	for (; *p; p++) {
		if (*p < '0' || *p > '9' || v > 100000)
			return -1;
		v = v * 10 + (*p - '0');
	}
	return v;
}

/* Position of `name` among forward()'s argument names, or n. */
static size_t arg_position(const struct torch_module *mod, const char *name)
{
	size_t n = shim->module_arg_count(mod);
	size_t i = 0;

	while (i < n && strcmp(shim->module_arg_name(mod, i), name))
		i++;
	return i;
}

/* "x, y" for messages. */
static void list_args(const struct torch_module *mod, struct strbuf *sb)
{
	for (size_t i = 0; i < shim->module_arg_count(mod); i++)
		strbuf_addf(sb, "%s%s", i ? ", " : "",
			    shim->module_arg_name(mod, i));
}

/*
 * Maps each config input to a forward() argument (protocol.md §6): all by
 * argument name; else all by <name>__<index>; else by config order, with a
 * warning, as Triton does. A single Dict[str, Tensor] argument takes every
 * input by name instead.
 */
static int map_inputs(struct pt_model *m, const struct torch_module *mod,
		      struct it_error *err)
{
	const struct model_config *cfg = m->cfg;
	size_t n_args = shim->module_arg_count(mod);
	bool by_name = true, by_index = true;
	struct strbuf sb;
	int rc = 0;

	if (n_args == 1 && shim->module_arg_kind(mod, 0) == TORCH_ARG_TENSOR_DICT) {
		m->dict_input = true;
		for (size_t i = 0; i < cfg->n_inputs; i++)
			m->input_arg[i] = i;
		return 0;
	}
	for (size_t a = 0; a < n_args; a++) {
		if (shim->module_arg_kind(mod, a) != TORCH_ARG_TENSOR)
			return it_error_set(err, IT_ERR_INVALID,
					    "%s: forward() argument '%s' is %s; the pytorch backend passes Tensors (or one Dict[str, Tensor])",
					    m->path, shim->module_arg_name(mod, a),
					    shim->module_arg_type(mod, a));
	}
	if (n_args != cfg->n_inputs) {
		strbuf_init(&sb, 0);
		list_args(mod, &sb);
		rc = it_error_set(err, IT_ERR_INVALID,
				  "%s: model expects %zu inputs in forward() (%s), config lists %zu",
				  m->path, n_args, sb.buf, cfg->n_inputs);
		strbuf_release(&sb);
		return rc;
	}

	for (size_t i = 0; i < cfg->n_inputs; i++) {
		if (arg_position(mod, cfg->inputs[i].name) == n_args)
			by_name = false;
		if (named_index(cfg->inputs[i].name) < 0)
			by_index = false;
	}
	for (size_t i = 0; i < cfg->n_inputs && !by_name && by_index; i++) {
		long idx = named_index(cfg->inputs[i].name);

		if ((size_t)idx >= n_args)
			return it_error_set(err, IT_ERR_INVALID,
					    "%s: input '%s' names forward() argument %ld, but forward() has %zu",
					    m->path, cfg->inputs[i].name, idx,
					    n_args);
	}
	for (size_t i = 0; i < cfg->n_inputs; i++) {
		if (by_name)
			m->input_arg[i] = arg_position(mod, cfg->inputs[i].name);
		else if (by_index)
			m->input_arg[i] = (size_t)named_index(cfg->inputs[i].name);
		else
			m->input_arg[i] = i;
	}
	/* Two inputs on one argument ("INPUT__0" and "X__0"). */
	for (size_t i = 0; i < cfg->n_inputs; i++) {
		for (size_t k = 0; k < i; k++) {
			if (m->input_arg[i] == m->input_arg[k])
				return it_error_set(err, IT_ERR_INVALID,
						    "backend 'pytorch': inputs '%s' and '%s' both map to forward() argument %zu",
						    cfg->inputs[k].name,
						    cfg->inputs[i].name,
						    m->input_arg[i]);
		}
	}
	if (!by_name && !by_index) {
		strbuf_init(&sb, 0);
		list_args(mod, &sb);
		log_warning("pytorch: model '%s': the config's input names are neither forward()'s argument names (%s) nor <name>__<index>; mapping inputs by config order",
		       m->name, sb.buf);
		strbuf_release(&sb);
	}
	return 0;
}

/* Outputs: all <name>__<index>, else config order (with a warning). */
static int map_outputs(struct pt_model *m, struct it_error *err)
{
	const struct model_config *cfg = m->cfg;
	bool by_index = true;

	for (size_t j = 0; j < cfg->n_outputs; j++)
		by_index = by_index && named_index(cfg->outputs[j].name) >= 0;
	for (size_t j = 0; j < cfg->n_outputs; j++) {
		m->output_index[j] = by_index ?
			(size_t)named_index(cfg->outputs[j].name) : j;
		for (size_t k = 0; k < j; k++) {
			if (m->output_index[j] == m->output_index[k])
				return it_error_set(err, IT_ERR_INVALID,
						    "backend 'pytorch': outputs '%s' and '%s' both name forward() output %zu",
						    cfg->outputs[k].name,
						    cfg->outputs[j].name,
						    m->output_index[j]);
		}
	}
	if (!by_index)
		log_warning("pytorch: model '%s': output names do not all follow <name>__<index>; mapping outputs by config order",
		       m->name);
	return 0;
}

/* ---- model ---------------------------------------------------------------- */

static void pt_model_unload(void *model_state)
{
	struct pt_model *m = model_state;

	if (!m)
		return;
	if (m->spare)
		shim->module_free(m->spare);
	pthread_mutex_destroy(&m->mu);
	free(m->input_arg);
	free(m->output_index);
	free(m->path);
	free(m);
}

static int pt_model_load(const struct model_config *cfg,
			 const char *version_dir, void **model_state,
			 struct it_error *err)
{
	struct pt_model *m = NULL;
	struct torch_module *mod = NULL;
	const char *file;
	int rc;

	if (!pytorch_shim(err))
		return IT_ERR_UNSUPPORTED;
	m = xcalloc(1, sizeof(*m));
	pthread_mutex_init(&m->mu, NULL);
	m->cfg = cfg;
	m->name = cfg->name && cfg->name[0] ? cfg->name : "?";
	m->input_arg = xcalloc(cfg->n_inputs ? cfg->n_inputs : 1, sizeof(size_t));
	m->output_index = xcalloc(cfg->n_outputs ? cfg->n_outputs : 1,
				  sizeof(size_t));
	file = cfg->default_model_filename && cfg->default_model_filename[0] ?
		cfg->default_model_filename : "model.pt";
	m->path = fs_join(version_dir, file);

	rc = params_parse(cfg, &m->params, err);
	if (rc)
		goto out;
	if (!cfg->n_inputs || !cfg->n_outputs) {
		rc = it_error_set(err, IT_ERR_INVALID,
				  "backend 'pytorch': the config must list the model's inputs and outputs (PyTorch models carry no I/O metadata)");
		goto out;
	}
	for (size_t i = 0; i < cfg->n_inputs && !rc; i++) {
		rc = check_datatype(cfg, &cfg->inputs[i], "input", err);
		if (!rc)
			rc = check_reshape(cfg, &cfg->inputs[i], err);
	}
	for (size_t j = 0; j < cfg->n_outputs && !rc; j++) {
		rc = check_datatype(cfg, &cfg->outputs[j], "output", err);
		if (!rc)
			rc = check_reshape(cfg, &cfg->outputs[j], err);
	}
	if (rc)
		goto out;
	if (!fs_is_file(m->path)) {
		rc = it_error_set(err, IT_ERR_NOT_FOUND,
				  "unable to find '%s' (the TorchScript file of model '%s')",
				  m->path, m->name);
		goto out;
	}
	rc = shim->module_load(m->path, -1, m->params.inference_mode, &mod, err);
	if (rc)
		goto out;
	rc = map_inputs(m, mod, err);
	if (rc)
		goto out;
	rc = map_outputs(m, err);
	if (rc)
		goto out;
	if (!m->params.cudnn)
		shim->set_cudnn(false);
	m->spare = mod;
	mod = NULL;
	log_info("pytorch: model '%s' loaded from %s (libtorch %s): inference mode %s, optimized execution %s%s",
	       m->name, m->path, shim->version(),
	       m->params.inference_mode ? "on" : "off",
	       m->params.optimized_execution ? "on" : "off",
	       m->params.weight_sharing ? ", weights shared by CPU instances" : "");
out:
	if (mod)
		shim->module_free(mod);
	if (rc) {
		pt_model_unload(m);
		return rc;
	}
	*model_state = m;
	return 0;
}

/* ---- instances ------------------------------------------------------------ */

static void pt_instance_free(void *instance_state)
{
	struct pt_instance *inst = instance_state;

	if (!inst)
		return;
	if (inst->owns_module && inst->module)
		shim->module_free(inst->module);
	free(inst->args);
	free(inst->arg_shapes);
	free(inst->name);
	free(inst);
}

/* The module for a CPU instance: the spare, the shared one, or a new load. */
static int cpu_module(struct pt_model *m, struct pt_instance *inst,
		      struct it_error *err)
{
	pthread_mutex_lock(&m->mu);
	if (m->params.weight_sharing) {
		inst->module = m->spare;
		inst->owns_module = false;
	} else if (m->spare) {
		inst->module = m->spare;
		inst->owns_module = true;
		m->spare = NULL;
	}
	pthread_mutex_unlock(&m->mu);
	if (inst->module)
		return 0;
	inst->owns_module = true;
	return shim->module_load(m->path, -1, m->params.inference_mode,
				 &inst->module, err);
}

static int pt_instance_new(void *model_state,
			   const struct backend_instance_info *info,
			   void **instance_state, struct it_error *err)
{
	struct pt_model *m = model_state;
	struct pt_instance *inst;
	const char *where = "CPU";
	char gpu[32];
	int rc, inter;

	inst = xcalloc(1, sizeof(*inst));
	inst->model = m;
	inst->name = xstrdup(info->name ? info->name : m->name);
	inst->args = xcalloc(m->cfg->n_inputs, sizeof(*inst->args));
	inst->arg_shapes = xcalloc(m->cfg->n_inputs, sizeof(*inst->arg_shapes));

	if (info->kind == INSTANCE_KIND_GPU) {
		int count = shim->cuda_device_count();

		if (!shim->has_cuda()) {
			rc = it_error_set(err, IT_ERR_UNSUPPORTED,
					  "instance group kind KIND_GPU needs libtorch with CUDA; this build is CPU-only");
			goto out;
		}
		if (info->device_id < 0 || info->device_id >= count) {
			rc = it_error_set(err, IT_ERR_INVALID,
					  "instance '%s' asks for GPU %d; libtorch sees %d CUDA device(s)",
					  inst->name, info->device_id, count);
			goto out;
		}
		inst->owns_module = true;
		rc = shim->module_load(m->path, info->device_id,
				       m->params.inference_mode, &inst->module,
				       err);
		snprintf(gpu, sizeof(gpu), "GPU %d", info->device_id);
		where = gpu;
	} else {
		/* KIND_CPU, and KIND_MODEL: the model runs where it was saved. */
		rc = cpu_module(m, inst, err);
	}
	if (rc)
		goto out;

	/*
	 * Threads: instance_new runs on the instance's own worker thread,
	 * where execute runs too, and with OpenMP libtorch's intra-op count
	 * belongs to the calling thread, so each instance keeps its own. An
	 * instance without INTRA_OP_THREAD_COUNT sets libtorch's default
	 * explicitly, so that another model's setting does not leak into it.
	 */
	inst->intra_op_threads = m->params.intra_op_threads ?
		m->params.intra_op_threads :
		shim->default_intra_op_threads();
	rc = shim->set_intra_op_threads(inst->intra_op_threads, err);
	if (rc)
		goto out;
	inter = m->params.inter_op_threads ?
		shim->set_inter_op_threads(m->params.inter_op_threads) :
		shim->inter_op_threads();
	if (m->params.inter_op_threads && inter != m->params.inter_op_threads)
		log_warning("pytorch: instance '%s': INTER_OP_THREAD_COUNT %d cannot take effect: libtorch sizes its inter-op pool once per process, and it has %d threads",
		       inst->name, m->params.inter_op_threads, inter);
	log_info("pytorch: instance '%s' of model '%s' on %s: intra-op threads %d%s, inter-op threads %d%s",
	       inst->name, m->name, where, shim->intra_op_threads(),
	       m->params.intra_op_threads ? "" : " (libtorch default)", inter,
	       m->params.inter_op_threads ? "" : " (libtorch default)");
out:
	if (rc) {
		pt_instance_free(inst);
		return rc;
	}
	*instance_state = inst;
	return 0;
}

/* ---- execute -------------------------------------------------------------- */

/* "[ 2, 3 ]" for messages. */
static void shape_string(struct strbuf *sb, const int64_t *shape, size_t n)
{
	strbuf_adds(sb, "[");
	for (size_t d = 0; d < n; d++)
		strbuf_addf(sb, "%s%" PRId64, d ? ", " : " ", shape[d]);
	strbuf_adds(sb, n ? " ]" : "]");
}

/*
 * Checks one output against its config entry: data type, then shape
 * ([batch] + reshape-or-dims, -1 matching anything). Fills `out`'s name,
 * datatype and the shape clients see ([batch] + dims).
 */
static int check_output(const struct pt_model *m, size_t j,
			const struct torch_result *res, size_t index,
			int64_t batch, struct tensor *out, struct it_error *err)
{
	const struct model_tensor *ct = &m->cfg->outputs[j];
	const int64_t *want = ct->has_reshape ? ct->reshape : ct->dims;
	size_t n_want = ct->has_reshape ? ct->n_reshape : ct->n_dims;
	int64_t got[TENSOR_MAX_DIMS];
	size_t n_got, bytes, lead = m->cfg->max_batch_size > 0;
	enum datatype dt;
	bool ok;
	int rc;

	shim->result_info(res, index, &dt, got, TENSOR_MAX_DIMS, &n_got, &bytes);
	if (dt != ct->data_type)
		return it_error_set(err, IT_ERR_INVALID,
				    "output '%s': the model returned %s (libtorch %s) but the config says %s",
				    ct->name,
				    dt == DATATYPE_INVALID ? "a type Triton has no name for" :
				    datatype_config_name(dt),
				    shim->result_type_name(res, index),
				    datatype_config_name(ct->data_type));
	ok = n_got == n_want + lead && n_got <= TENSOR_MAX_DIMS &&
	     (!lead || got[0] == batch);
	for (size_t d = 0; ok && d < n_want; d++)
		ok = want[d] < 0 || want[d] == got[d + lead];
	if (!ok) {
		struct strbuf a, b;

		strbuf_init(&a, 0);
		strbuf_init(&b, 0);
		shape_string(&a, got, n_got < TENSOR_MAX_DIMS ? n_got : TENSOR_MAX_DIMS);
		if (lead)
			strbuf_addf(&b, "batch %" PRId64 " + ", batch);
		shape_string(&b, want, n_want);
		rc = it_error_set(err, IT_ERR_INVALID,
				  "output '%s': the model returned shape %s but the config expects %s",
				  ct->name, a.buf, b.buf);
		strbuf_release(&a);
		strbuf_release(&b);
		return rc;
	}
	out->name = ct->name;
	out->datatype = dt;
	out->n_dims = lead + ct->n_dims;
	if (lead)
		out->shape[0] = batch;
	if (ct->has_reshape)
		memcpy(out->shape + lead, ct->dims, ct->n_dims * sizeof(int64_t));
	else
		memcpy(out->shape + lead, got + lead, ct->n_dims * sizeof(int64_t));
	out->byte_size = bytes;
	return 0;
}

static void outputs_release(struct tensor *outputs, size_t n)
{
	for (size_t j = 0; j < n; j++) {
		free(outputs[j].data);
		outputs[j].data = NULL;
		outputs[j].byte_size = 0;
	}
}

static int pt_execute(void *instance_state, const struct tensor *inputs,
		      size_t n_inputs, struct tensor *outputs, size_t n_outputs,
		      struct it_error *err)
{
	struct pt_instance *inst = instance_state;
	const struct pt_model *m = inst->model;
	const struct model_config *cfg = m->cfg;
	struct torch_run_options opts = {
		.inference_mode = m->params.inference_mode,
		.optimized_execution = m->params.optimized_execution,
	};
	struct torch_result *res = NULL;
	size_t lead = cfg->max_batch_size > 0;
	int64_t batch = 1;
	int rc = 0;

	for (size_t j = 0; j < n_outputs; j++)
		outputs[j].data = NULL;
	if (n_inputs != cfg->n_inputs || n_outputs != cfg->n_outputs)
		return it_error_set(err, IT_ERR_INTERNAL,
				    "pytorch: called with %zu inputs and %zu outputs, config has %zu and %zu",
				    n_inputs, n_outputs, cfg->n_inputs,
				    cfg->n_outputs);
	/* Cheap, and repairs a count some library call changed under us. */
	if (shim->intra_op_threads() != inst->intra_op_threads) {
		rc = shim->set_intra_op_threads(inst->intra_op_threads, err);
		if (rc)
			return rc;
	}
	for (size_t i = 0; i < n_inputs; i++) {
		const struct tensor *in = &inputs[i];
		const struct model_tensor *ct = &cfg->inputs[i];
		struct torch_input *arg = &inst->args[m->input_arg[i]];
		int64_t *shape = inst->arg_shapes[m->input_arg[i]];

		if (!in->data && in->n_dims == 0)
			return it_error_set(err, IT_ERR_INVALID,
					    "input '%s' was not sent; a TorchScript forward() needs every argument",
					    ct->name);
		if (lead && in->n_dims >= 1 && i == 0)
			batch = in->shape[0];
		arg->name = ct->name;
		arg->datatype = in->datatype;
		arg->data = in->data;
		arg->byte_size = in->byte_size;
		if (ct->has_reshape && in->n_dims >= lead &&
		    ct->n_reshape + lead <= TENSOR_MAX_DIMS) {
			if (lead)
				shape[0] = in->shape[0];
			memcpy(shape + lead, ct->reshape,
			       ct->n_reshape * sizeof(int64_t));
			arg->n_dims = lead + ct->n_reshape;
		} else {
			memcpy(shape, in->shape, in->n_dims * sizeof(int64_t));
			arg->n_dims = in->n_dims;
		}
		arg->shape = shape;
	}

	rc = shim->module_forward(inst->module, inst->args, n_inputs, &opts,
				  &res, err);
	if (rc) {
		it_error_prefix(err, "PyTorch execute failure");
		goto out;
	}
	for (size_t j = 0; j < n_outputs; j++) {
		size_t index = m->output_index[j];
		size_t count = shim->result_count(res);

		if (index >= count) {
			rc = it_error_set(err, IT_ERR_INVALID,
					  "output '%s' refers to forward() output %zu, but the model returned %zu output(s)",
					  cfg->outputs[j].name, index, count);
			goto out;
		}
		rc = check_output(m, j, res, index, batch, &outputs[j], err);
		if (rc)
			goto out;
		outputs[j].data = xmalloc(outputs[j].byte_size);
		rc = shim->result_copy(res, index, outputs[j].data, err);
		if (rc)
			goto out;
	}
out:
	if (res)
		shim->result_free(res);
	if (rc)
		outputs_release(outputs, n_outputs);
	return rc;
}

const struct backend_ops backend_pytorch = {
	.name = "pytorch",
	.platform = "pytorch_libtorch",
	.model_load = pt_model_load,
	.model_unload = pt_model_unload,
	.instance_new = pt_instance_new,
	.instance_free = pt_instance_free,
	.execute = pt_execute,
};
