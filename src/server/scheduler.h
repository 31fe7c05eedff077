/*
 * The scheduler of one loaded model version, faithful to Triton: one worker
 * thread per instance (instance_group count per group), a queue, and when the
 * config has dynamic_batching a batcher that gathers requests until a
 * preferred batch size (or max_batch_size) is reached or the oldest request
 * has waited max_queue_delay_microseconds; the batch is concatenated along
 * dimension 0, executed once and split back. Without dynamic_batching each
 * request runs alone with its own batch dimension. A queued request holds no
 * thread. Depends on backend/, server/infer, server/stats.
 */
#ifndef INFERTUNE_SERVER_SCHEDULER_H
#define INFERTUNE_SERVER_SCHEDULER_H

#include <stddef.h>

#include "backend/backend.h"

struct infer_request;
struct model_stats;
struct it_error;

struct scheduler;

/**
 * Creates the instances (backend instance_new on each worker thread) and
 * starts the workers. config, ops, model_state and stats must outlive the
 * scheduler. Fails (IT_ERR_* with the backend's message) if any instance
 * fails to initialise; nothing is left running then. Caller frees with
 * scheduler_free().
 */
struct scheduler *scheduler_new(const struct model_config *config,
				const struct backend_ops *ops, void *model_state,
				struct model_stats *stats, struct it_error *err);

/**
 * Queues a request (takes ownership until its on_complete runs). Returns 0,
 * or IT_ERR_STATE (Triton's UNAVAILABLE, HTTP 503) if the scheduler is
 * shutting down or dynamic_batching.default_queue_policy.max_queue_size
 * requests are already queued ("exceeds maximum queue size"), or
 * IT_ERR_INVALID when the batch size is outside 1..max_batch_size; ownership
 * stays with the caller on any error. The scheduler does the statistics of
 * every request given to it (stats_request_start on enqueue,
 * stats_request_end when done; a queue-size rejection counts as a
 * failure); the caller must not. Thread-safe, callable from on_complete.
 * Never blocks on execution.
 */
int scheduler_enqueue(struct scheduler *sched, struct infer_request *req,
		      struct it_error *err);

/** Requests queued and not yet executing. */
size_t scheduler_queue_length(struct scheduler *sched);

/**
 * Stops accepting, finishes every queued and in-flight request (their
 * on_complete runs; queued ones no longer wait for max_queue_delay), joins
 * the workers and frees the instances. Must not be called from on_complete.
 * NULL is a no-op.
 */
void scheduler_free(struct scheduler *sched);

#endif
