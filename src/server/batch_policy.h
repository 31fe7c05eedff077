/*
 * The dynamic batcher's decision, Triton's DynamicBatchScheduler::
 * GetDynamicBatch, as a pure function: given a read-only view of a queue and
 * the time, how many requests a free instance takes from its head, or when
 * to look again. The scheduler calls it on its queue of requests, the
 * predictor (predict/des) on its simulated queue, so both batch alike.
 * Depends on nothing but libc (model/config for the constructor from a
 * config); no threads, no clock, no allocation.
 */
#ifndef INFERTUNE_SERVER_BATCH_POLICY_H
#define INFERTUNE_SERVER_BATCH_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct model_config;

/**
 * How one model version batches. Plain value struct, filled by
 * batch_policy_init() or batch_policy_from_config(); `preferred` is
 * borrowed and must outlive the policy.
 */
struct batch_policy {
	bool dynamic;               /* dynamic batching on (and max_batch_size > 0) */
	int64_t max_batch_size;     /* 0: the model does not batch */
	int64_t max_preferred;      /* largest preferred size, else max_batch_size */
	const int32_t *preferred;   /* preferred_batch_size, as configured */
	size_t n_preferred;
	uint64_t delay_ns;          /* max_queue_delay_microseconds in ns */
};

/**
 * Fills *p from plain settings: max_batch_size (<= 0: the model does not
 * batch), whether dynamic batching is configured, its preferred sizes
 * (borrowed) and max_queue_delay_us. Dynamic batching without a batch
 * dimension is off (Triton refuses that config; the policy stays safe).
 */
void batch_policy_init(struct batch_policy *p, int64_t max_batch_size,
		       bool dynamic_batching, const int32_t *preferred,
		       size_t n_preferred, uint64_t max_queue_delay_us);

/** batch_policy_init() from a model config (borrows its preferred sizes). */
void batch_policy_from_config(struct batch_policy *p,
			      const struct model_config *cfg);

/**
 * The most requests one batch can hold: max_batch_size with dynamic
 * batching (every request has batch size >= 1), else 1.
 */
size_t batch_policy_max_requests(const struct batch_policy *p);

/**
 * A read-only view of a FIFO queue, index 0 the head (the oldest request).
 * `ctx` is the caller's; the callbacks must not change the queue.
 */
struct batch_queue_view {
	size_t len;                 /* requests queued */
	uint64_t head_start_ns;     /* when the head entered the queue (same clock as now_ns) */
	void *ctx;
	/** The batch size (>= 1) of request k, k < len. */
	int64_t (*batch_size)(void *ctx, size_t k);
	/**
	 * Whether request k (1 <= k < len) can share a batch with the head
	 * (same inputs present, same shapes past the batch dimension). NULL:
	 * every request can.
	 */
	bool (*batchable)(void *ctx, size_t k);
};

/**
 * How many requests from the head of q a free instance takes now (a batch
 * is always a prefix of the queue), or 0: wait until *wake_ns (on the
 * queue's clock) or until the queue changes, whichever comes first, and ask
 * again. `draining`: the scheduler is stopping, so nothing waits for the
 * delay. Without dynamic batching every request runs alone (1). An empty
 * queue gives 0 and *wake_ns = UINT64_MAX. *wake_ns is written only when 0
 * is returned. Pure: the same view and time give the same answer. Cost:
 * reads requests from the head up to the first that does not fit, or until
 * the largest preferred size is reached, so at most max_batch_size + 1.
 */
size_t batch_policy_next(const struct batch_policy *p,
			 const struct batch_queue_view *q, uint64_t now_ns,
			 bool draining, uint64_t *wake_ns);

#endif
