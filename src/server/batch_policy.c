/*
 * The dynamic batcher's decision (Triton's GetDynamicBatch) as a pure
 * function of a queue view and the time, shared by the scheduler and the
 * predictor. Depends on model/config only (for batch_policy_from_config).
 */
#include "server/batch_policy.h"

#include "model/config.h"
#include "util/banned.h"

void batch_policy_init(struct batch_policy *p, int64_t max_batch_size,
		       bool dynamic_batching, const int32_t *preferred,
		       size_t n_preferred, uint64_t max_queue_delay_us)
{
	*p = (struct batch_policy){ 0 };
	p->max_batch_size = max_batch_size > 0 ? max_batch_size : 0;
	/* Triton refuses dynamic_batching without max_batch_size; be safe. */
	p->dynamic = dynamic_batching && p->max_batch_size > 0;
	if (!p->dynamic)
		return;
	p->preferred = preferred;
	p->n_preferred = n_preferred;
	for (size_t i = 0; i < n_preferred; i++) {
		if (preferred[i] > p->max_preferred)
			p->max_preferred = preferred[i];
	}
	if (p->max_preferred == 0 || p->max_preferred > p->max_batch_size)
		p->max_preferred = p->max_batch_size;
	p->delay_ns = max_queue_delay_us > UINT64_MAX / 1000
		? UINT64_MAX / 2 : max_queue_delay_us * 1000;
}

void batch_policy_from_config(struct batch_policy *p,
			      const struct model_config *cfg)
{
	const struct model_dynamic_batching *db = &cfg->dynamic_batching;

	batch_policy_init(p, cfg->max_batch_size, cfg->has_dynamic_batching,
			  db->preferred_batch_size, db->n_preferred_batch_size,
			  db->max_queue_delay_us);
}

size_t batch_policy_max_requests(const struct batch_policy *p)
{
	return p->dynamic ? (size_t)p->max_batch_size : 1;
}

static bool is_preferred(const struct batch_policy *p, int64_t size)
{
	for (size_t i = 0; i < p->n_preferred; i++) {
		if (p->preferred[i] == size)
			return true;
	}
	return false;
}

/*
 * Triton's DynamicBatchScheduler::GetDynamicBatch for a worker that is free
 * now:
 *  - Gather in order while the batch stays within max_batch_size and shapes
 *    match; the first request that does not fit ends the gathering and the
 *    batch goes at once (it cannot grow any more). Never skipping a request
 *    keeps the queue FIFO, which preserve_ordering relies on.
 *  - Remember the largest preferred size reached; when the next request
 *    would pass the largest preferred size, what is gathered so far counts
 *    as the best batch too.
 *  - Best batch found and the oldest request not yet over its delay: run it.
 *  - Otherwise run everything gathered if it reached the largest preferred
 *    size, the oldest request has waited max_queue_delay, the delay is 0,
 *    or the scheduler is draining; else wait for the oldest's deadline.
 */
size_t batch_policy_next(const struct batch_policy *p,
			 const struct batch_queue_view *q, uint64_t now_ns,
			 bool draining, uint64_t *wake_ns)
{
	size_t n = 0, best = 0;
	int64_t pending = 0;
	bool send_now = false, delay_exceeded;

	if (q->len == 0) {
		*wake_ns = UINT64_MAX;
		return 0;
	}
	if (!p->dynamic)
		return 1;
	delay_exceeded = p->delay_ns && now_ns >= q->head_start_ns &&
			 now_ns - q->head_start_ns >= p->delay_ns;
	for (size_t k = 0; k < q->len; k++) {
		int64_t bs = q->batch_size(q->ctx, k);

		if (n > 0) {
			if (pending + bs > p->max_preferred && best == 0)
				best = n;
			if (pending + bs > p->max_batch_size ||
			    (q->batchable && !q->batchable(q->ctx, k))) {
				send_now = true;
				break;
			}
		}
		pending += bs;
		n++;
		if (is_preferred(p, pending))
			best = n;
		/*
		 * Past the largest preferred size the best batch can no longer
		 * change, and it is what goes unless the delay is over: the rest
		 * of the queue cannot change the answer, so stop reading it.
		 */
		if (best && !delay_exceeded && pending >= p->max_preferred)
			break;
	}
	if (best && !delay_exceeded)
		return best;
	if (send_now || pending >= p->max_preferred || delay_exceeded ||
	    p->delay_ns == 0 || draining)
		return n;
	*wake_ns = q->head_start_ns + p->delay_ns;
	return 0;
}
