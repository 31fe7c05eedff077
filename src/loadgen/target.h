/*
 * The model under test as the server describes it: its metadata
 * (GET /v2/models/M[/versions/V]: inputs, outputs, shapes with -1 for
 * variable dimensions) and the parts of its configuration that change how a
 * load generator talks to it (GET .../config: max_batch_size, decoupled,
 * response cache, optional inputs), and its statistics
 * (GET .../stats) as cumulative counters. Parsing only; the HTTP lives in
 * loadgen/fetch. Depends on model/datatype, util/ and jansson.
 */
#ifndef INFERTUNE_LOADGEN_TARGET_H
#define INFERTUNE_LOADGEN_TARGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/datatype.h"

struct it_error;

/** An input or output of the served model. */
struct target_tensor {
	char *name;
	enum datatype datatype;
	int64_t *shape;         /* metadata shape; -1 = variable (batch dim included) */
	size_t n_shape;
	bool optional;          /* from the config; inputs only */
	bool is_shape_tensor;   /* from the config */
};

/** The served model. Heap object from target_model_parse(). */
struct target_model {
	char *name;
	char *platform;
	char **versions;        /* as the metadata lists them */
	size_t n_versions;
	bool has_config;        /* false: the server gave no config */
	int64_t max_batch_size; /* 0 = no batching */
	bool decoupled;
	bool cache_enabled;
	struct target_tensor *inputs;
	size_t n_inputs;
	struct target_tensor *outputs;
	size_t n_outputs;
};

/**
 * Parses the metadata JSON and, when config_json is not NULL, the config
 * JSON. IT_ERR_PARSE for text that is not JSON, IT_ERR_INVALID for JSON that
 * is not model metadata (a missing name, inputs, datatype or shape, an
 * unknown datatype). On success *out is new; free it with
 * target_model_free().
 */
int target_model_parse(const char *metadata_json, size_t metadata_len,
		       const char *config_json, size_t config_len,
		       struct target_model **out, struct it_error *err);

/** Frees m; NULL is a no-op. */
void target_model_free(struct target_model *m);

/** The input named `name`, or NULL. */
const struct target_tensor *target_model_input(const struct target_model *m,
					       const char *name);

/**
 * Cumulative counters of one model version from the statistics extension
 * (protocol.md §3.2). Plain value struct; subtract two snapshots to get a
 * window (remote_stats_delta).
 */
struct remote_stats {
	char version[32];
	uint64_t inference_count;
	uint64_t execution_count;
	uint64_t success_count, success_ns;
	uint64_t fail_count, fail_ns;
	uint64_t queue_count, queue_ns;
	uint64_t compute_input_count, compute_input_ns;
	uint64_t compute_infer_count, compute_infer_ns;
	uint64_t compute_output_count, compute_output_ns;
	uint64_t cache_hit_count, cache_hit_ns;
	uint64_t cache_miss_count, cache_miss_ns;
};

/**
 * Parses a statistics answer and fills out[0..*n) with every version of the
 * model named `model` it lists (at most max). IT_ERR_PARSE / IT_ERR_INVALID
 * as target_model_parse; a counter that is missing reads as 0 (Triton always
 * sends them; other servers may not).
 */
int remote_stats_parse(const char *json, size_t len, const char *model,
		       struct remote_stats *out, size_t max, size_t *n,
		       struct it_error *err);

/** end - start, field by field (0 where a counter went backwards). */
void remote_stats_delta(const struct remote_stats *start,
			const struct remote_stats *end,
			struct remote_stats *out);

/** Adds b into a, field by field (merging windows). */
void remote_stats_add(struct remote_stats *a, const struct remote_stats *b);

#endif
