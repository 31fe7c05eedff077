/*
 * The backend interface: what the server's scheduler calls to load a model
 * version, create its instances and execute a batch. Each backend is one
 * const struct backend_ops; backend_registry[] lists them (curl's vtls
 * shape). Depends on model/ and util/; never on server/.
 */
#ifndef INFERTUNE_BACKEND_BACKEND_H
#define INFERTUNE_BACKEND_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/config.h"
#include "model/datatype.h"

struct it_error;

#define TENSOR_MAX_DIMS 16

/**
 * A dense tensor: full shape (batch dimension first when the model batches),
 * row-major little-endian data with no padding. A BYTES tensor holds its
 * elements as <uint32 little-endian length><bytes>, back to back, exactly as
 * the binary tensor extension carries them. Plain value struct; who owns
 * `data` is stated where a tensor is passed.
 */
struct tensor {
	const char *name;
	enum datatype datatype;
	int64_t shape[TENSOR_MAX_DIMS];
	size_t n_dims;
	void *data;
	size_t byte_size;
};

/** Elements in a shape (product of dims); -1 if it overflows int64 or a dim is negative. */
int64_t tensor_element_count(const int64_t *shape, size_t n_dims);

/** Where one instance runs. */
struct backend_instance_info {
	const char *name;        /* "<group name>_<index>", Triton style */
	int index;               /* 0-based over all instances of the model version */
	enum instance_kind kind; /* KIND_CPU or KIND_GPU after KIND_AUTO is resolved */
	int device_id;           /* GPU id for KIND_GPU, -1 otherwise */
};

/**
 * A backend. All functions are called from server threads:
 * model_load/model_unload from the model manager, instance_new/free and
 * execute from each instance's own worker thread (one execute at a time per
 * instance; different instances of one model run concurrently).
 */
struct backend_ops {
	const char *name;      /* config `backend`, e.g. "identity", "pytorch" */
	const char *platform;  /* config `platform` that also selects it, or NULL */

	/**
	 * Loads one version of a model. version_dir is <model>/<version>.
	 * On success *model_state is the backend's (freed by model_unload).
	 * Errors (bad parameters, a missing or unreadable model file) leave the
	 * model UNAVAILABLE with err's message.
	 */
	int (*model_load)(const struct model_config *cfg, const char *version_dir,
			  void **model_state, struct it_error *err);
	void (*model_unload)(void *model_state);

	int (*instance_new)(void *model_state,
			    const struct backend_instance_info *info,
			    void **instance_state, struct it_error *err);
	void (*instance_free)(void *instance_state);

	/**
	 * Executes one batch. inputs[i] corresponds to cfg->inputs[i] (an
	 * optional input that was not sent has data NULL and n_dims 0); their
	 * data belongs to the caller. The backend fills outputs[j] for every
	 * cfg->outputs[j]: name, datatype, shape (batch dimension first when the
	 * model batches) and data allocated with xmalloc() that the caller frees.
	 * On error no output data is left allocated.
	 */
	int (*execute)(void *instance_state, const struct tensor *inputs,
		       size_t n_inputs, struct tensor *outputs, size_t n_outputs,
		       struct it_error *err);
};

/** Every backend built in, NULL-terminated. Optional ones are under #ifdef. */
extern const struct backend_ops *const backend_registry[];

/**
 * The backend a config selects: by `backend`, else by `platform`. NULL (and
 * IT_ERR_NOT_FOUND in err, naming what was asked and what exists) if none.
 */
const struct backend_ops *backend_find(const struct model_config *cfg,
				       struct it_error *err);

#endif
