/*
 * The C face of libtorch: load a TorchScript module, read its forward()
 * signature, run forward() on raw buffers and copy the results out. This is
 * the only interface to infertune's one C++ file (torch_shim.cc), which is
 * built into its own shared library, libinfertune_torch.so, linked against
 * libtorch. backend/pytorch.c dlopen()s it when the first pytorch model loads,
 * so that an infertune process that serves no pytorch model never loads
 * libtorch (whose start-up costs about half a second) and a binary built with
 * libtorch still runs where it is missing. The library exports one symbol,
 * TORCH_SHIM_SYMBOL, a function returning a const table of function pointers:
 * C types and opaque handles only, and no C++ exception ever crosses it;
 * every libtorch error comes back as an IT_ERR_* code with libtorch's message.
 * Depends on model/datatype and util/error only.
 */
#ifndef INFERTUNE_BACKEND_TORCH_SHIM_H
#define INFERTUNE_BACKEND_TORCH_SHIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Inside the extern "C" block: datatype.h is a C header without one. */
#include "model/datatype.h"

struct it_error;

/** A loaded TorchScript module on one device. */
struct torch_module;
/** The outputs of one forward() call, on the host. */
struct torch_result;

/** What a forward() argument (after `self`) is. */
enum torch_arg_kind {
	TORCH_ARG_TENSOR,      /* Tensor */
	TORCH_ARG_TENSOR_DICT, /* Dict[str, Tensor]: config inputs are its keys */
	TORCH_ARG_OTHER,       /* anything else (List[str], int, ...) */
};

/** One forward() argument: a dense row-major tensor in caller memory. */
struct torch_input {
	const char *name;        /* the key when forward() takes a Dict[str, Tensor] */
	enum datatype datatype;
	const int64_t *shape;
	size_t n_dims;
	void *data;              /* not copied on the CPU when suitably aligned */
	size_t byte_size;
};

/** How one forward() runs (Triton's INFERENCE_MODE, DISABLE_OPTIMIZED_EXECUTION). */
struct torch_run_options {
	bool inference_mode;      /* c10::InferenceMode, else torch::NoGradGuard */
	bool optimized_execution; /* TorchScript graph executor optimisation */
};

/** Bumped whenever struct torch_shim_api changes. */
#define TORCH_SHIM_ABI_VERSION 1

/** The name of the library's one exported function (see torch_shim_api_fn). */
#define TORCH_SHIM_SYMBOL "infertune_torch_shim_api"

/**
 * Everything the shim does. Every function is thread-safe unless it says
 * otherwise.
 */
struct torch_shim_api {
	int abi_version;         /* TORCH_SHIM_ABI_VERSION */

	/** libtorch's version, e.g. "1.13.0". Static string. */
	const char *(*version)(void);

	/** True when this libtorch was built with CUDA (whether or not a GPU is visible). */
	bool (*has_cuda)(void);

	/** CUDA devices libtorch can see; 0 on a CPU-only libtorch. */
	int (*cuda_device_count)(void);

	/**
	 * Loads a TorchScript file onto the CPU (device_id < 0) or CUDA device
	 * device_id, under inference mode when `inference_mode` (Triton loads
	 * that way so the weights are inference tensors). A file that is not
	 * TorchScript gives IT_ERR_INVALID "<path> is not a TorchScript module:
	 * <libtorch's message>". Caller frees *out with module_free().
	 */
	int (*module_load)(const char *path, int device_id, bool inference_mode,
			   struct torch_module **out, struct it_error *err);

	/** Frees m; NULL is a no-op. */
	void (*module_free)(struct torch_module *m);

	/** Number of forward() arguments, not counting `self`. */
	size_t (*module_arg_count)(const struct torch_module *m);
	/** Name of argument i (< module_arg_count); valid while m lives. */
	const char *(*module_arg_name)(const struct torch_module *m, size_t i);
	/** Kind of argument i. */
	enum torch_arg_kind (*module_arg_kind)(const struct torch_module *m,
					       size_t i);
	/** TorchScript type of argument i, e.g. "Tensor", "List[str]", for messages. */
	const char *(*module_arg_type)(const struct torch_module *m, size_t i);

	/**
	 * The intra-op thread count libtorch gives a thread that sets none (its
	 * detected number of physical cores, or OMP_NUM_THREADS). Read once,
	 * before anything in infertune changes it.
	 */
	int (*default_intra_op_threads)(void);

	/**
	 * Sets the calling thread's intra-op thread count (at::set_num_threads;
	 * with OpenMP the count is per thread, so each instance's worker keeps
	 * its own). n must be >= 1. Returns 0 or IT_ERR_INVALID.
	 */
	int (*set_intra_op_threads)(int n, struct it_error *err);

	/** The calling thread's intra-op thread count (at::get_num_threads()). */
	int (*intra_op_threads)(void);

	/**
	 * Sizes libtorch's inter-op pool. libtorch allows that once per process
	 * and only before the pool starts, so the first call wins: later calls
	 * change nothing. Returns the size in effect after the call.
	 */
	int (*set_inter_op_threads)(int n);

	/** The inter-op pool size (at::get_num_interop_threads()). */
	int (*inter_op_threads)(void);

	/** Turns cuDNN off for the whole process (Triton's DISABLE_CUDNN). */
	void (*set_cudnn)(bool enabled);

	/**
	 * Runs m's forward() with `inputs` in forward() order (one input per
	 * argument), or, when forward() takes one Dict[str, Tensor], with
	 * every input as an entry keyed by its name. The input buffers must
	 * stay valid for the call. On success *out holds the outputs
	 * flattened from a Tensor or a tuple/list of Tensors; caller frees it
	 * with result_free(). Errors: IT_ERR_INTERNAL for out of memory and
	 * what libtorch cannot explain, IT_ERR_INVALID for everything else it
	 * raises (a shape, a data type, a check inside the model); the message
	 * is libtorch's, reduced to its relevant lines. One call at a time
	 * per module unless the caller shares it knowingly (libtorch allows
	 * concurrent forward() on one module).
	 */
	int (*module_forward)(struct torch_module *m,
			      const struct torch_input *inputs,
			      size_t n_inputs,
			      const struct torch_run_options *opts,
			      struct torch_result **out, struct it_error *err);

	/** Number of outputs. */
	size_t (*result_count)(const struct torch_result *r);

	/**
	 * Output i's data type (DATATYPE_INVALID when libtorch's has no
	 * Triton equivalent; result_type_name() names it), shape and size. At
	 * most max_dims dimensions are written; *n_dims is the true count.
	 */
	void (*result_info)(const struct torch_result *r, size_t i,
			    enum datatype *datatype, int64_t *shape,
			    size_t max_dims, size_t *n_dims, size_t *byte_size);

	/** libtorch's name of output i's scalar type, e.g. "Float", "ComplexFloat". */
	const char *(*result_type_name)(const struct torch_result *r, size_t i);

	/**
	 * Copies output i, row-major and contiguous, into dst (exactly its
	 * byte_size bytes). Returns 0 or IT_ERR_INTERNAL.
	 */
	int (*result_copy)(const struct torch_result *r, size_t i, void *dst,
			   struct it_error *err);

	/** Frees r; NULL is a no-op. */
	void (*result_free)(struct torch_result *r);
};

/** Type of TORCH_SHIM_SYMBOL: returns the library's table (static, never NULL). */
typedef const struct torch_shim_api *(*torch_shim_api_fn)(void);

#ifdef __cplusplus
}
#endif

#endif
