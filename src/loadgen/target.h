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

/**
 * The executions of one model version at one batch size (protocol.md
 * §3.2 batch_stats), cumulative as the server sends them or over a span
 * after remote_batch_stats_delta().
 */
struct remote_batch_stat {
	uint64_t batch_size;            /* >= 1 */
	uint64_t execution_count;
	uint64_t compute_input_ns, compute_infer_ns, compute_output_ns;
};

/**
 * Every batch size a model version executed: a growable array sorted by
 * increasing batch_size, each size at most once. The server's counters
 * keep every size ever executed (up to max_batch_size, which may be in
 * the thousands), so there is no fixed cap. Embedded struct: zeroing it
 * is remote_batch_stats_init(); it owns its array, freed by
 * remote_batch_stats_release(). Not thread-safe.
 */
struct remote_batch_stats {
	struct remote_batch_stat *items;
	size_t n, alloc;
};

/** An empty list. */
void remote_batch_stats_init(struct remote_batch_stats *b);

/** Frees the array of b and leaves b empty (reusable); NULL is a no-op. */
void remote_batch_stats_release(struct remote_batch_stats *b);

/**
 * Replaces *out with the batch_stats of version `version` of model `model`
 * in a statistics answer (the one remote_stats_parse() reads). The
 * statistics' own rules: IT_ERR_PARSE for text that is not JSON,
 * IT_ERR_INVALID for an answer without a 'model_stats' list (out emptied);
 * everything else reads as far as it goes: a version that is not listed,
 * or lists no batch_stats (an older Triton, another server), gives an
 * empty list; an entry whose batch_size is not a positive integer is
 * skipped; a missing counter reads as 0, as in remote_stats_parse(). The
 * executions are compute_infer's count (the three duration counts are
 * equal in Triton; a server that sends only some of them: the largest).
 * Input order does not matter; a size listed twice is summed.
 */
int remote_batch_stats_parse(const char *json, size_t len, const char *model,
			     const char *version, struct remote_batch_stats *out,
			     struct it_error *err);

/**
 * Replaces *out (initialised, distinct from start and end) with end -
 * start, size by size: a size absent from start counts from 0, a counter
 * that went backwards gives 0 (as remote_stats_delta()), and sizes with
 * nothing in the span (every field 0) are left out.
 */
void remote_batch_stats_delta(const struct remote_batch_stats *start,
			      const struct remote_batch_stats *end,
			      struct remote_batch_stats *out);

/** Adds b into a, size by size, keeping a sorted (merging windows); a != b. */
void remote_batch_stats_add(struct remote_batch_stats *a,
			    const struct remote_batch_stats *b);

#endif
