/*
 * Triton's model configuration (ModelConfig): read from config.pbtxt or from
 * the JSON that /config and the load API use, checked the way Triton checks
 * it, edited by the configuration search, and written back out. The schema
 * normalised pbtxt tree is the single source of truth, so every field, known
 * or not (optimization, model_warmup, ...), round-trips unchanged; the typed
 * fields are a view of it rebuilt after every change.
 * Depends on model/schema, model/datatype, pbtxt/, util/.
 */
#ifndef INFERTUNE_MODEL_CONFIG_H
#define INFERTUNE_MODEL_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "model/datatype.h"

struct it_error;
struct pbtxt_node;
struct strbuf;

/** ModelInput.Format. */
enum tensor_format {
	TENSOR_FORMAT_NONE = 0,
	TENSOR_FORMAT_NHWC = 1,
	TENSOR_FORMAT_NCHW = 2,
};

/** An input or output. Strings point into the config's tree. */
struct model_tensor {
	const char *name;
	enum datatype data_type;
	enum tensor_format format;  /* inputs only */
	const int64_t *dims;        /* -1 = variable */
	size_t n_dims;
	bool has_reshape;
	const int64_t *reshape;
	size_t n_reshape;
	bool optional;              /* inputs only */
	bool is_shape_tensor;
	bool allow_ragged_batch;    /* inputs only */
	int line, col;              /* position in the source (0 when from JSON) */
};

/** ModelInstanceGroup.Kind. */
enum instance_kind {
	INSTANCE_KIND_AUTO = 0,
	INSTANCE_KIND_GPU = 1,
	INSTANCE_KIND_CPU = 2,
	INSTANCE_KIND_MODEL = 3,
};

struct model_instance_group {
	const char *name;       /* "" when not given */
	enum instance_kind kind;
	int32_t count;          /* >= 1; Triton turns an unset (0) count into 1 */
	const int32_t *gpus;
	size_t n_gpus;
	int line, col;
};

/** ModelQueuePolicy. */
struct model_queue_policy {
	int timeout_action;     /* 0 REJECT, 1 DELAY */
	uint64_t default_timeout_us;
	bool allow_timeout_override;
	uint32_t max_queue_size; /* 0 = unbounded */
};

struct model_priority_queue_policy {
	uint64_t priority_level;
	struct model_queue_policy policy;
};

/** ModelDynamicBatching, all fields. */
struct model_dynamic_batching {
	const int32_t *preferred_batch_size;
	size_t n_preferred_batch_size;
	uint64_t max_queue_delay_us;
	bool preserve_ordering;
	uint64_t priority_levels;
	uint64_t default_priority_level;
	bool has_default_queue_policy;
	struct model_queue_policy default_queue_policy;
	const struct model_priority_queue_policy *priority_queue_policy;
	size_t n_priority_queue_policy;
};

enum version_policy_kind {
	VERSION_POLICY_LATEST,   /* the default, with num_versions 1 */
	VERSION_POLICY_ALL,
	VERSION_POLICY_SPECIFIC,
};

struct model_version_policy {
	enum version_policy_kind kind;
	uint32_t latest_num_versions;
	const int64_t *versions;
	size_t n_versions;
};

struct model_parameter {
	const char *key;
	const char *value; /* ModelParameter.string_value */
};

/**
 * A parsed, valid model configuration. Heap object: create with one of the
 * model_config_parse*() / _from_json() functions or model_config_clone(),
 * free with model_config_free(). The typed fields are read-only and stay
 * valid until the next model_config_set_*() call on the same config. Not
 * thread-safe for writes; concurrent reads are fine.
 */
struct model_config {
	struct pbtxt_node *tree; /* canonical ModelConfig: the source of truth */
	char *source;            /* file or document name used in messages */

	const char *name;        /* "" when not given */
	const char *platform;
	const char *backend;
	const char *runtime;
	const char *default_model_filename;
	int32_t max_batch_size;
	struct model_version_policy version_policy;
	struct model_tensor *inputs;
	size_t n_inputs;
	struct model_tensor *outputs;
	size_t n_outputs;
	struct model_instance_group *instance_groups;
	size_t n_instance_groups;
	bool has_dynamic_batching;
	struct model_dynamic_batching dynamic_batching;
	bool has_sequence_batching;
	bool has_ensemble_scheduling;
	bool decoupled;          /* model_transaction_policy.decoupled */
	struct model_parameter *parameters; /* sorted by key */
	size_t n_parameters;

	void *view_storage;      /* private: arrays behind the typed view */
};

/**
 * Parses config.pbtxt text (len bytes). `filename` appears in messages.
 * Syntax, schema and semantic errors come back as IT_ERR_PARSE or
 * IT_ERR_INVALID with file:line:col in err. Caller frees the result.
 */
struct model_config *model_config_parse(const char *text, size_t len,
					const char *filename,
					struct it_error *err);

/** Reads and parses a config.pbtxt file (at most 16 MiB). Caller frees. */
struct model_config *model_config_load_file(const char *path,
					    struct it_error *err);

/**
 * Builds a config from Triton's JSON form (protocol.md §5.4: the body of GET
 * /config, or the `config` parameter of a load request as Model Analyzer
 * sends it, with 64-bit integers as numbers or strings). `what` names the
 * document in messages. Caller frees.
 */
struct model_config *model_config_from_json(const json_t *json,
					    const char *what,
					    struct it_error *err);

/** Parses JSON text and calls model_config_from_json(). Caller frees. */
struct model_config *model_config_from_json_text(const char *text, size_t len,
						 const char *what,
						 struct it_error *err);

/**
 * Triton's JSON form. flags as schema_to_json(): SCHEMA_JSON_ALL_FIELDS gives
 * exactly what GET /v2/models/M/config returns. New reference; caller
 * json_decref()s.
 */
json_t *model_config_to_json(const struct model_config *cfg, unsigned flags);

/** Appends the canonical config.pbtxt text. Returns 0 or IT_ERR_LIMIT. */
int model_config_print(const struct model_config *cfg, struct strbuf *out);

/** Writes the canonical text to path atomically (deployable on Triton as is). */
int model_config_write_file(const struct model_config *cfg, const char *path,
			    struct it_error *err);

/** Deep copy. Caller frees. */
struct model_config *model_config_clone(const struct model_config *cfg);

/** Frees cfg; NULL is a no-op. */
void model_config_free(struct model_config *cfg);

/** True when the two configs hold the same fields and values. */
bool model_config_equal(const struct model_config *a,
			const struct model_config *b);

/**
 * Names the first feature in cfg that infertune recognises but cannot serve
 * yet ("sequence_batching", "ensemble_scheduling"), or NULL. Such a config
 * is valid: it is reported, not refused as a parse error.
 */
const char *model_config_unsupported(const struct model_config *cfg);

/** Value of parameter `key`, or NULL. */
const char *model_config_parameter(const struct model_config *cfg,
				   const char *key);

/**
 * The intra-op threads of each instance as the PyTorch backend reads them:
 * parameter INTRA_OP_THREAD_COUNT, else NUM_THREADS; 0 when neither is a
 * positive decimal.
 */
int32_t model_config_intra_op_threads(const struct model_config *cfg);

/*
 * Edits for the configuration search. Each re-checks the whole config; on
 * failure (IT_ERR_INVALID with a message) cfg is left exactly as it was.
 */

/** Sets `name`. */
int model_config_set_name(struct model_config *cfg, const char *name,
			  struct it_error *err);
/** Sets `max_batch_size` (0 turns batching off). */
int model_config_set_max_batch_size(struct model_config *cfg, int32_t value,
				    struct it_error *err);
/**
 * Replaces every instance_group with one group of `count` instances of
 * `kind`; `gpus` (n_gpus may be 0) applies to KIND_GPU/KIND_AUTO only.
 */
int model_config_set_instance_group(struct model_config *cfg,
				    enum instance_kind kind, int32_t count,
				    const int32_t *gpus, size_t n_gpus,
				    struct it_error *err);
/**
 * Enables dynamic batching with the given preferred sizes and queue delay,
 * keeping its other fields (queue policies, ordering) if it was enabled.
 */
int model_config_set_dynamic_batching(struct model_config *cfg,
				      const int32_t *preferred,
				      size_t n_preferred,
				      uint64_t max_queue_delay_us,
				      struct it_error *err);
/** Removes dynamic_batching. */
int model_config_clear_dynamic_batching(struct model_config *cfg,
					struct it_error *err);
/** Sets parameters[key].string_value = value (value NULL removes it). */
int model_config_set_parameter(struct model_config *cfg, const char *key,
			       const char *value, struct it_error *err);

/** "KIND_GPU" etc. */
const char *instance_kind_name(enum instance_kind kind);

#endif
