/*
 * The only C++ in infertune: libtorch behind the C function table of
 * torch_shim.h, built as libinfertune_torch.so (with its own copies of
 * util/error.c and model/datatype.c, all hidden but the one entry point).
 * Loads TorchScript, runs forward() on caller buffers and copies results out.
 * Every entry point catches everything libtorch throws and turns it into an
 * IT_ERR_* code with libtorch's message, so no C++ exception ever unwinds
 * into C. Depends on libtorch, model/datatype and util/error only.
 */
#include "backend/torch_shim.h"

#include <ATen/Parallel.h>
#include <torch/cuda.h>
#include <torch/csrc/jit/runtime/graph_executor.h>
#include <torch/script.h>
#include <torch/version.h>

#include <cstdint>
#include <cstring>
#include <exception>
#include <mutex>
#include <new>
#include <string>
#include <vector>

/* util/error.h is a C header without an extern "C" block of its own. */
extern "C" {
#include "util/error.h"
}

struct torch_module {
	torch::jit::Module module;
	torch::Device device;
	bool dict_input;
	std::vector<std::string> arg_names;
	std::vector<std::string> arg_types;
	std::vector<enum torch_arg_kind> arg_kinds;

	torch_module(torch::jit::Module mod, torch::Device dev)
		: module(std::move(mod)), device(dev), dict_input(false)
	{
	}
};

struct torch_result {
	std::vector<at::Tensor> outputs; /* on the CPU */
};

namespace {

/* Messages longer than this are cut: a response is not a log file. */
constexpr size_t message_max = 600;

/*
 * libtorch's messages carry more than a client needs: an error raised inside
 * a TorchScript model comes wrapped in "The following operation failed in
 * the TorchScript interpreter", the serialized-code traceback and then the
 * real error ("RuntimeError: ..."); plain c10::Errors may append a C++
 * backtrace or "Exception raised from ..." lines. Keep the real error: from
 * the last "...Error: " line of an interpreter traceback, else the first
 * lines up to a blank line or a backtrace.
 */
std::string summarize(const std::string &what)
{
	std::string msg = what;
	size_t pos;

	if (msg.find("TorchScript interpreter") != std::string::npos) {
		size_t best = std::string::npos;
		size_t line = 0;

		while (line < msg.size()) {
			size_t end = msg.find('\n', line);
			size_t colon = msg.find("Error: ", line);

			if (end == std::string::npos)
				end = msg.size();
			/* "RuntimeError: ", "IndexError: " at a line start. */
			if (colon != std::string::npos && colon < end &&
			    msg.find(' ', line) > colon)
				best = line;
			line = end + 1;
		}
		if (best != std::string::npos)
			msg = msg.substr(best);
	}
	pos = msg.find("\nException raised from");
	if (pos != std::string::npos)
		msg.erase(pos);
	pos = msg.find("\n\n");
	if (pos != std::string::npos)
		msg.erase(pos);
	while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' '))
		msg.pop_back();
	for (char &c : msg) {
		if (c == '\n' || c == '\t')
			c = ' ';
	}
	if (msg.size() > message_max)
		msg = msg.substr(0, message_max) + "...";
	return msg;
}

bool is_out_of_memory(const std::string &what)
{
	return what.find("out of memory") != std::string::npos ||
	       what.find("not enough memory") != std::string::npos;
}

/*
 * Maps the exception in flight to an error code and message: out of memory
 * is IT_ERR_INTERNAL, any other libtorch error `input_code` (an error raised
 * while running a loaded model is about the request's data: a shape, a data
 * type, a value the model checks), anything unknown IT_ERR_INTERNAL. Call
 * only from inside a catch block. `context`, when not NULL, prefixes the
 * message.
 */
int error_from_exception(struct it_error *err, int input_code,
			 const char *context)
{
	const char *sep = context ? ": " : "";

	if (!context)
		context = "";
	try {
		throw;
	} catch (const c10::OutOfMemoryError &e) {
		return it_error_set(err, IT_ERR_INTERNAL, "%s%sout of memory: %s",
				    context, sep,
				    summarize(e.what_without_backtrace()).c_str());
	} catch (const c10::Error &e) {
		std::string what = e.what_without_backtrace();

		return it_error_set(err, is_out_of_memory(what) ?
				    IT_ERR_INTERNAL : input_code,
				    "%s%s%s", context, sep,
				    summarize(what).c_str());
	} catch (const std::bad_alloc &) {
		return it_error_set(err, IT_ERR_INTERNAL, "%s%sout of memory",
				    context, sep);
	} catch (const std::exception &e) {
		/*
		 * The TorchScript interpreter rethrows an operator's error as
		 * std::runtime_error with the traceback in front.
		 */
		std::string what = e.what();

		return it_error_set(err, is_out_of_memory(what) ?
				    IT_ERR_INTERNAL : input_code,
				    "%s%s%s", context, sep,
				    summarize(what).c_str());
	} catch (...) {
		return it_error_set(err, IT_ERR_INTERNAL,
				    "%s%sunknown C++ exception from libtorch",
				    context, sep);
	}
}

bool scalar_type_of(enum datatype dt, at::ScalarType *out)
{
	switch (dt) {
	case DATATYPE_BOOL: *out = at::kBool; return true;
	case DATATYPE_UINT8: *out = at::kByte; return true;
	case DATATYPE_INT8: *out = at::kChar; return true;
	case DATATYPE_INT16: *out = at::kShort; return true;
	case DATATYPE_INT32: *out = at::kInt; return true;
	case DATATYPE_INT64: *out = at::kLong; return true;
	case DATATYPE_FP16: *out = at::kHalf; return true;
	case DATATYPE_BF16: *out = at::kBFloat16; return true;
	case DATATYPE_FP32: *out = at::kFloat; return true;
	case DATATYPE_FP64: *out = at::kDouble; return true;
	default: return false;
	}
}

enum datatype datatype_of(at::ScalarType st)
{
	switch (st) {
	case at::kBool: return DATATYPE_BOOL;
	case at::kByte: return DATATYPE_UINT8;
	case at::kChar: return DATATYPE_INT8;
	case at::kShort: return DATATYPE_INT16;
	case at::kInt: return DATATYPE_INT32;
	case at::kLong: return DATATYPE_INT64;
	case at::kHalf: return DATATYPE_FP16;
	case at::kBFloat16: return DATATYPE_BF16;
	case at::kFloat: return DATATYPE_FP32;
	case at::kDouble: return DATATYPE_FP64;
	default: return DATATYPE_INVALID;
	}
}

/* Reads forward()'s schema: names and kinds of the arguments after self. */
void read_signature(struct torch_module *m)
{
	const c10::FunctionSchema &schema =
		m->module.get_method("forward").function().getSchema();
	const std::vector<c10::Argument> &args = schema.arguments();
	size_t start = 0;

	if (!args.empty() && args[0].type()->kind() == c10::TypeKind::ClassType)
		start = 1;
	for (size_t i = start; i < args.size(); i++) {
		const c10::TypePtr &type = args[i].type();
		enum torch_arg_kind kind = TORCH_ARG_OTHER;

		if (type->kind() == c10::TypeKind::TensorType) {
			kind = TORCH_ARG_TENSOR;
		} else if (type->kind() == c10::TypeKind::DictType) {
			const auto dict = type->expect<c10::DictType>();

			if (dict->getKeyType()->kind() == c10::TypeKind::StringType &&
			    dict->getValueType()->kind() == c10::TypeKind::TensorType)
				kind = TORCH_ARG_TENSOR_DICT;
		}
		m->arg_names.push_back(args[i].name());
		m->arg_types.push_back(type->annotation_str());
		m->arg_kinds.push_back(kind);
	}
	m->dict_input = m->arg_kinds.size() == 1 &&
			m->arg_kinds[0] == TORCH_ARG_TENSOR_DICT;
}

/* Collects the output tensors of forward()'s return value, moved to the host. */
int flatten_outputs(const c10::IValue &ret, std::vector<at::Tensor> *outs,
		    struct it_error *err)
{
	std::vector<c10::IValue> items;

	if (ret.isTensor()) {
		items.push_back(ret);
	} else if (ret.isTuple()) {
		for (const c10::IValue &v : ret.toTupleRef().elements())
			items.push_back(v);
	} else if (ret.isList()) {
		for (const c10::IValue &v : ret.toListRef())
			items.push_back(v);
	} else {
		return it_error_set(err, IT_ERR_INVALID,
				    "forward() returned %s; the pytorch backend serves a Tensor or a tuple or list of Tensors",
				    ret.tagKind().c_str());
	}
	for (size_t i = 0; i < items.size(); i++) {
		if (!items[i].isTensor())
			return it_error_set(err, IT_ERR_INVALID,
					    "forward() output %zu is %s; the pytorch backend serves Tensors only",
					    i, items[i].tagKind().c_str());
		at::Tensor t = items[i].toTensor();

		if (!t.device().is_cpu())
			t = t.to(at::kCPU);
		outs->push_back(t);
	}
	return 0;
}

std::once_flag default_threads_once;
int default_intra_op_threads = 1;

std::mutex interop_mu;
bool interop_set = false;

} /* namespace */

static const char *torch_shim_version(void)
{
	return TORCH_VERSION;
}

static int torch_shim_cuda_device_count(void)
{
	try {
		return (int)torch::cuda::device_count();
	} catch (...) {
		return 0;
	}
}

static bool torch_shim_has_cuda(void)
{
#ifdef INFERTUNE_TORCH_CUDA
	return true;
#else
	return torch_shim_cuda_device_count() > 0;
#endif
}

static int torch_module_load(const char *path, int device_id,
			     bool inference_mode,
			     struct torch_module **out, struct it_error *err)
{
	struct torch_module *m = nullptr;

	try {
		/*
		 * Triton loads under InferenceMode too: the weights become
		 * inference tensors, which forward() then uses without
		 * version-counter bookkeeping. Loading onto the CPU first keeps
		 * "not TorchScript" apart from device errors below.
		 */
		c10::InferenceMode guard(inference_mode);
		torch::jit::Module mod = torch::jit::load(path, torch::kCPU);

		mod.eval();
		m = new torch_module(std::move(mod), torch::Device(torch::kCPU));
		read_signature(m);
	} catch (...) {
		delete m;
		int rc = error_from_exception(err, IT_ERR_INVALID, "load");

		if (rc == IT_ERR_INVALID && err) {
			std::string msg = err->message;

			msg.erase(0, std::strlen("load: "));
			it_error_set(err, rc,
				     "%s is not a TorchScript module: %s", path,
				     msg.c_str());
		}
		return rc;
	}
	if (device_id >= 0) {
		try {
			c10::InferenceMode guard(inference_mode);

			m->device = torch::Device(torch::kCUDA,
						  (c10::DeviceIndex)device_id);
			m->module.to(m->device);
		} catch (...) {
			delete m;
			int rc = error_from_exception(err, IT_ERR_INTERNAL,
						      "moving the model to CUDA");

			it_error_prefix(err, "%s on GPU %d", path, device_id);
			return rc == IT_ERR_INVALID ? IT_ERR_INTERNAL : rc;
		}
	}
	*out = m;
	return 0;
}

static void torch_module_free(struct torch_module *m)
{
	try {
		delete m;
	} catch (...) {
		/* A destructor that throws has nowhere to report to. */
	}
}

static size_t torch_module_arg_count(const struct torch_module *m)
{
	return m->arg_names.size();
}

static const char *torch_module_arg_name(const struct torch_module *m,
					 size_t i)
{
	return m->arg_names[i].c_str();
}

static enum torch_arg_kind torch_module_arg_kind(const struct torch_module *m,
						 size_t i)
{
	return m->arg_kinds[i];
}

static const char *torch_module_arg_type(const struct torch_module *m,
					 size_t i)
{
	return m->arg_types[i].c_str();
}

static int torch_shim_default_intra_op_threads(void)
{
	std::call_once(default_threads_once, [] {
		try {
			default_intra_op_threads = at::get_num_threads();
		} catch (...) {
			default_intra_op_threads = 1;
		}
	});
	return default_intra_op_threads;
}

static int torch_shim_set_intra_op_threads(int n, struct it_error *err)
{
	/* The default must be read before the first set changes it. */
	torch_shim_default_intra_op_threads();
	if (n < 1)
		return it_error_set(err, IT_ERR_INVALID,
				    "intra-op thread count %d: must be at least 1",
				    n);
	try {
		/*
		 * With OpenMP, at::set_num_threads() sets the calling thread's
		 * team size, but libtorch also initialises each thread lazily
		 * from the last count set anywhere. Initialise this thread
		 * first so that no later lazy initialisation overrides ours.
		 * Setting clears oneDNN's primitive cache, so only set when the
		 * count differs.
		 */
		if (at::get_num_threads() != n)
			at::set_num_threads(n);
	} catch (...) {
		return error_from_exception(err, IT_ERR_INVALID,
					    "at::set_num_threads");
	}
	return 0;
}

static int torch_shim_intra_op_threads(void)
{
	try {
		return at::get_num_threads();
	} catch (...) {
		return -1;
	}
}

static int torch_shim_inter_op_threads(void)
{
	try {
		return at::get_num_interop_threads();
	} catch (...) {
		return -1;
	}
}

static int torch_shim_set_inter_op_threads(int n)
{
	std::lock_guard<std::mutex> lock(interop_mu);

	if (!interop_set && n > 0) {
		interop_set = true;
		try {
			at::set_num_interop_threads(n);
		} catch (...) {
			/* The pool already started: the size stays as it is. */
		}
	}
	return torch_shim_inter_op_threads();
}

static void torch_shim_set_cudnn(bool enabled)
{
	try {
		at::globalContext().setUserEnabledCuDNN(enabled);
	} catch (...) {
		/* Only ever fails where there is no cuDNN to turn off. */
	}
}

static int torch_module_forward(struct torch_module *m,
				const struct torch_input *inputs,
				size_t n_inputs,
				const struct torch_run_options *opts,
				struct torch_result **out,
				struct it_error *err)
{
	struct torch_result *r = nullptr;
	int rc;

	try {
		std::vector<c10::IValue> args;
		c10::Dict<std::string, at::Tensor> dict;

		/* Thread-local in libtorch, so set on every call. */
		torch::jit::setGraphExecutorOptimize(opts->optimized_execution);
		c10::InferenceMode inference_guard(opts->inference_mode);
		torch::NoGradGuard no_grad;

		for (size_t i = 0; i < n_inputs; i++) {
			const struct torch_input *in = &inputs[i];
			std::vector<int64_t> shape(in->shape,
						   in->shape + in->n_dims);
			at::ScalarType st;
			at::Tensor t;

			if (!scalar_type_of(in->datatype, &st))
				return it_error_set(err, IT_ERR_INVALID,
						    "input '%s': data type %s is not supported by libtorch",
						    in->name,
						    datatype_protocol_name(in->datatype));
			int64_t numel = 1;

			for (int64_t d : shape)
				numel *= d;
			if ((size_t)numel * c10::elementSize(st) != in->byte_size)
				return it_error_set(err, IT_ERR_INVALID,
						    "input '%s': %zu bytes for %lld elements of %s",
						    in->name, in->byte_size,
						    (long long)numel,
						    datatype_protocol_name(in->datatype));
			if (in->byte_size == 0) {
				t = at::empty(shape, at::TensorOptions().dtype(st));
			} else {
				t = at::from_blob(in->data, shape,
						  at::TensorOptions().dtype(st));
				/*
				 * Tensors in a request body are packed back to
				 * back, so one may start at any byte; kernels
				 * expect element alignment.
				 */
				if ((uintptr_t)in->data % c10::elementSize(st))
					t = t.clone();
			}
			if (!m->device.is_cpu())
				t = t.to(m->device);
			if (m->dict_input)
				dict.insert(in->name, t);
			else
				args.push_back(t);
		}
		if (m->dict_input)
			args.push_back(dict);

		r = new torch_result();
		c10::IValue ret = m->module.forward(args);

		rc = flatten_outputs(ret, &r->outputs, err);
		if (rc) {
			delete r;
			return rc;
		}
	} catch (...) {
		delete r;
		return error_from_exception(err, IT_ERR_INVALID, nullptr);
	}
	*out = r;
	return 0;
}

static size_t torch_result_count(const struct torch_result *r)
{
	return r->outputs.size();
}

static void torch_result_info(const struct torch_result *r, size_t i,
			      enum datatype *datatype, int64_t *shape,
			      size_t max_dims, size_t *n_dims,
			      size_t *byte_size)
{
	const at::Tensor &t = r->outputs[i];
	at::IntArrayRef sizes = t.sizes();

	*datatype = datatype_of(t.scalar_type());
	for (size_t d = 0; d < sizes.size() && d < max_dims; d++)
		shape[d] = sizes[d];
	*n_dims = sizes.size();
	*byte_size = t.nbytes();
}

static const char *torch_result_type_name(const struct torch_result *r,
					  size_t i)
{
	return c10::toString(r->outputs[i].scalar_type());
}

static int torch_result_copy(const struct torch_result *r, size_t i,
			     void *dst, struct it_error *err)
{
	try {
		const at::Tensor &t = r->outputs[i];

		if (t.numel() == 0)
			return 0;
		if (t.is_contiguous()) {
			std::memcpy(dst, t.data_ptr(), t.nbytes());
		} else {
			/* One strided copy straight into the caller's buffer. */
			c10::InferenceMode guard;
			at::Tensor d = at::from_blob(dst, t.sizes(),
						     t.options());

			d.copy_(t);
		}
	} catch (...) {
		return error_from_exception(err, IT_ERR_INTERNAL, "output copy");
	}
	return 0;
}

static void torch_result_free(struct torch_result *r)
{
	delete r;
}

/*
 * The table is built by assignment, not aggregate initialisation, so that
 * the fields are matched by name (C++17 has no designated initialisers).
 */
static const struct torch_shim_api *build_api(void)
{
	static struct torch_shim_api api;

	api.abi_version = TORCH_SHIM_ABI_VERSION;
	api.version = torch_shim_version;
	api.has_cuda = torch_shim_has_cuda;
	api.cuda_device_count = torch_shim_cuda_device_count;
	api.module_load = torch_module_load;
	api.module_free = torch_module_free;
	api.module_arg_count = torch_module_arg_count;
	api.module_arg_name = torch_module_arg_name;
	api.module_arg_kind = torch_module_arg_kind;
	api.module_arg_type = torch_module_arg_type;
	api.default_intra_op_threads = torch_shim_default_intra_op_threads;
	api.set_intra_op_threads = torch_shim_set_intra_op_threads;
	api.intra_op_threads = torch_shim_intra_op_threads;
	api.set_inter_op_threads = torch_shim_set_inter_op_threads;
	api.inter_op_threads = torch_shim_inter_op_threads;
	api.set_cudnn = torch_shim_set_cudnn;
	api.module_forward = torch_module_forward;
	api.result_count = torch_result_count;
	api.result_info = torch_result_info;
	api.result_type_name = torch_result_type_name;
	api.result_copy = torch_result_copy;
	api.result_free = torch_result_free;
	return &api;
}

/* The library's one exported symbol (TORCH_SHIM_SYMBOL). */
extern "C" __attribute__((visibility("default")))
const struct torch_shim_api *infertune_torch_shim_api(void)
{
	/* A function-local static: initialised once, thread-safely. */
	static const struct torch_shim_api *api = build_api();

	return api;
}
