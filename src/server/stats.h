/*
 * Per model-version inference statistics, kept as Triton defines them
 * (protocol.md §3.2): cumulative counts and nanoseconds for success, fail,
 * queue and compute input/infer/output per request, plus per executed batch
 * size. The scheduler records, the HTTP layer reads (statistics endpoint,
 * Prometheus metrics). Thread-safe. Depends on util/ and jansson.
 */
#ifndef INFERTUNE_SERVER_STATS_H
#define INFERTUNE_SERVER_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct stat_duration {
	uint64_t count;
	uint64_t ns;
};

struct batch_stat {
	uint64_t batch_size;
	struct stat_duration compute_input;
	struct stat_duration compute_infer;
	struct stat_duration compute_output;
};

/** A consistent copy of the counters. Caller frees `batches` with free(). */
struct model_stats_snapshot {
	uint64_t last_inference_ms; /* ms since the epoch; 0 = never */
	uint64_t inference_count;   /* batch elements of successful requests */
	uint64_t execution_count;   /* model executions */
	struct stat_duration success, fail, queue;
	struct stat_duration compute_input, compute_infer, compute_output;
	struct stat_duration cache_hit, cache_miss; /* always 0: no response cache */
	uint64_t pending_count;     /* requests received and not yet completed */
	struct batch_stat *batches; /* ascending batch_size */
	size_t n_batches;
};

struct model_stats;

/** New zeroed statistics. Caller frees with stats_free(). */
struct model_stats *stats_new(void);
void stats_free(struct model_stats *stats);

/** A request entered the server (pending + 1). */
void stats_request_start(struct model_stats *stats);

/**
 * A request finished: pending - 1; on success adds one to success/queue/
 * compute_* counts with the request's durations and `batch_size` inferences;
 * on failure adds to fail only. Durations in ns.
 */
void stats_request_end(struct model_stats *stats, bool success,
		       uint64_t batch_size, uint64_t total_ns,
		       uint64_t queue_ns, uint64_t input_ns,
		       uint64_t infer_ns, uint64_t output_ns);

/** One model execution of `batch_size` elements with its compute durations. */
void stats_execution(struct model_stats *stats, uint64_t batch_size,
		     uint64_t input_ns, uint64_t infer_ns,
		     uint64_t output_ns);

/** Copies the counters under the lock. */
void stats_snapshot(struct model_stats *stats,
		    struct model_stats_snapshot *out);

/**
 * One entry of the statistics endpoint's "model_stats" array with every field
 * perf_analyzer reads (protocol.md §3.2). New reference.
 */
json_t *stats_to_json(struct model_stats *stats, const char *name,
		      const char *version);

#endif
