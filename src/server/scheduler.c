/*
 * Triton's default and dynamic-batch schedulers for one model version: a
 * FIFO of requests under one mutex, and one worker thread per model instance
 * that takes the next batch from the head of the queue, runs it on its
 * backend instance and completes every request in it. Which requests form a
 * batch is server/batch_policy's decision. Depends on backend/,
 * server/batch_policy, server/infer and server/stats.
 */
#include "server/scheduler.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server/batch_policy.h"
#include "server/infer.h"
#include "server/stats.h"
#include "util/error.h"
#include "util/strbuf.h"
#include "util/thread.h"
#include "util/xalloc.h"
#include "util/banned.h"

/*
 * Invariants:
 *  - A batch is always a prefix of the queue, so requests leave the queue in
 *    arrival order (Triton's dynamic batcher stops at the first request that
 *    does not fit; it never skips over one). Sequence numbers given at
 *    dequeue are therefore arrival order, which preserve_ordering relies on.
 *  - Only workers with nothing to execute wait, on `work_cv`; a queued
 *    request holds no thread. Waits for max_queue_delay are timed waits on
 *    CLOCK_MONOTONIC, never polling.
 *  - Lock order: order_mu, then mu (a completion callback may enqueue), and
 *    the statistics' own mutex innermost. No lock is held while a backend
 *    executes.
 */

/* More threads than this is a config mistake, not a configuration to try. */
#define SCHED_MAX_INSTANCES 1024

struct sched_instance {
	struct scheduler *sched;
	struct backend_instance_info info;
	char *name;
	void *state;            /* the backend's, valid while the worker runs */
	pthread_t thread;
	bool started;
	int init_rc;            /* instance_new's result, set by the worker */
	struct it_error init_err;
};

/* Completed requests waiting for earlier ones (preserve_ordering). */
struct held_batch {
	uint64_t first_seq;
	struct infer_request **reqs;
	size_t n;
	struct held_batch *next;
};

struct scheduler {
	const struct model_config *config;
	const struct backend_ops *ops;
	void *model_state;
	struct model_stats *stats;
	char *model_name;

	/* Policy, fixed at creation. */
	struct batch_policy policy; /* what a free worker takes (server/batch_policy) */
	uint32_t max_queue_size;    /* 0: unbounded */
	bool preserve_ordering;

	pthread_mutex_t mu;         /* guards the queue, stopping, n_init_done, next_seq */
	pthread_cond_t work_cv;     /* CLOCK_MONOTONIC: new work, delay expiry, stop */
	pthread_cond_t init_cv;     /* a worker finished instance_new */
	struct infer_request **queue; /* ring buffer */
	size_t q_head, q_len, q_alloc;
	bool stopping;
	size_t n_init_done;
	uint64_t next_seq;

	pthread_mutex_t order_mu;   /* guards held, next_complete */
	struct held_batch *held;    /* ascending first_seq */
	uint64_t next_complete;

	struct sched_instance *instances;
	size_t n_instances;
};

/* ---- queue (called with mu held) ------------------------------------------ */

static struct infer_request *queue_at(const struct scheduler *s, size_t k)
{
	return s->queue[(s->q_head + k) % s->q_alloc];
}

static void queue_push(struct scheduler *s, struct infer_request *req)
{
	if (s->q_len == s->q_alloc) {
		size_t alloc = s->q_alloc ? 2 * s->q_alloc : 16;
		struct infer_request **q = xcalloc(alloc, sizeof(*q));

		for (size_t k = 0; k < s->q_len; k++)
			q[k] = queue_at(s, k);
		free(s->queue);
		s->queue = q;
		s->q_alloc = alloc;
		s->q_head = 0;
	}
	s->queue[(s->q_head + s->q_len) % s->q_alloc] = req;
	s->q_len++;
}

static struct infer_request *queue_pop(struct scheduler *s)
{
	struct infer_request *req = s->queue[s->q_head];

	s->q_head = (s->q_head + 1) % s->q_alloc;
	s->q_len--;
	return req;
}

static int64_t request_batch(const struct infer_request *req)
{
	return req->batch_size < 1 ? 1 : req->batch_size;
}

static bool input_present(const struct tensor *t)
{
	return t->data || t->n_dims;
}

/*
 * Two requests can share a batch when the same inputs are present and every
 * input has the same shape past the batch dimension (Triton enforces equal
 * shapes for variable-size inputs that do not allow ragged batches; fixed
 * ones are equal anyway). Ragged batching is not supported: it needs
 * batch_input tensors no built-in backend reads.
 */
static bool batchable(const struct infer_request *a,
		      const struct infer_request *b)
{
	if (a->n_inputs != b->n_inputs)
		return false;
	for (size_t i = 0; i < a->n_inputs; i++) {
		const struct tensor *x = &a->inputs[i];
		const struct tensor *y = &b->inputs[i];

		if (input_present(x) != input_present(y))
			return false;
		if (!input_present(x))
			continue;
		if (x->datatype != y->datatype || x->n_dims != y->n_dims ||
		    x->n_dims < 1)
			return false;
		if (memcmp(&x->shape[1], &y->shape[1],
			   (x->n_dims - 1) * sizeof(x->shape[0])))
			return false;
	}
	return true;
}

/* The queue as batch_policy_next() reads it (called with mu held). */
static int64_t view_batch_size(void *ctx, size_t k)
{
	return request_batch(queue_at(ctx, k));
}

static bool view_batchable(void *ctx, size_t k)
{
	return batchable(queue_at(ctx, 0), queue_at(ctx, k));
}

/*
 * How many requests a free worker takes now, or 0 and the CLOCK_MONOTONIC
 * time at which to look again (server/batch_policy.c holds Triton's rules).
 * Called with mu held and the queue non-empty.
 */
static size_t batch_form(struct scheduler *s, uint64_t now_ns,
			 uint64_t *wake_ns)
{
	struct batch_queue_view view = {
		.len = s->q_len,
		.head_start_ns = queue_at(s, 0)->queue_start_ns,
		.ctx = s,
		.batch_size = view_batch_size,
		.batchable = view_batchable,
	};

	return batch_policy_next(&s->policy, &view, now_ns, s->stopping,
				 wake_ns);
}

/* ---- execution ------------------------------------------------------------ */

/* Replaces req's outputs by `outs` (n of them; takes ownership). */
static void request_outputs_take(struct infer_request *req,
				 struct tensor *outs, size_t n)
{
	if (req->outputs) {
		for (size_t j = 0; j < req->n_outputs; j++)
			free(req->outputs[j].data);
	}
	free(req->outputs);
	req->outputs = outs;
	req->n_outputs = n;
}

/* Replaces req's outputs with a zeroed array of n. */
static void request_outputs_reset(struct infer_request *req, size_t n)
{
	request_outputs_take(req, xcalloc(n ? n : 1, sizeof(*req->outputs)),
			     n);
}

/*
 * One input of the batch: the requests' tensors concatenated along dim 0.
 * Shapes past dim 0 are equal (batchable), so the bytes simply follow each
 * other, BYTES elements included.
 */
static void input_concat(struct infer_request **reqs, size_t n, size_t i,
			 struct tensor *out)
{
	size_t bytes = 0, off = 0;

	*out = reqs[0]->inputs[i];
	if (!input_present(out))
		return;
	out->shape[0] = 0;
	for (size_t k = 0; k < n; k++) {
		out->shape[0] += reqs[k]->inputs[i].shape[0];
		bytes += reqs[k]->inputs[i].byte_size;
	}
	out->data = xmalloc(bytes);
	for (size_t k = 0; k < n; k++) {
		const struct tensor *t = &reqs[k]->inputs[i];

		if (t->byte_size)
			memcpy((char *)out->data + off, t->data, t->byte_size);
		off += t->byte_size;
	}
	out->byte_size = bytes;
}

/*
 * End of `elems` BYTES elements that start at `pos`, walking their length
 * prefixes; false when one runs past the buffer.
 */
static bool bytes_skip(const struct tensor *t, size_t pos, uint64_t elems,
		       size_t *end)
{
	for (uint64_t e = 0; e < elems; e++) {
		uint32_t len;

		if (t->byte_size - pos < 4)
			return false;
		memcpy(&len, (const char *)t->data + pos, 4);
		pos += 4;
		if (t->byte_size - pos < len)
			return false;
		pos += len;
	}
	*end = pos;
	return true;
}

/*
 * Byte offsets in a batched output where each request's rows start
 * (offsets[n] is the end, which must be the buffer's end). Every BYTES
 * length prefix is checked against the buffer.
 */
static int output_offsets(const struct tensor *t, struct infer_request **reqs,
			  size_t n, size_t *offsets, struct it_error *err)
{
	int64_t row_elems = tensor_element_count(&t->shape[1], t->n_dims - 1);
	size_t elem = datatype_size_bytes(t->datatype);
	size_t pos = 0;
	bool ok = row_elems >= 0;

	for (size_t k = 0; k < n && ok; k++) {
		uint64_t elems = (uint64_t)request_batch(reqs[k]) *
				 (uint64_t)row_elems;

		offsets[k] = pos;
		if (t->datatype == DATATYPE_STRING) {
			ok = bytes_skip(t, pos, elems, &pos);
		} else {
			ok = elem && elems <= (t->byte_size - pos) / elem;
			pos += ok ? (size_t)elems * elem : 0;
		}
	}
	offsets[n] = pos;
	if (!ok || pos != t->byte_size)
		return it_error_set(err, IT_ERR_INTERNAL,
				    "backend returned output '%s' with %zu bytes, which do not match its shape",
				    t->name ? t->name : "?", t->byte_size);
	return 0;
}

/*
 * Gives each request its rows of the batch's outputs. On failure no request
 * keeps partial outputs.
 */
static int outputs_split(const struct scheduler *s, struct infer_request **reqs,
			 size_t n, int64_t total, const struct tensor *outs,
			 struct it_error *err)
{
	size_t n_outputs = s->config->n_outputs;
	size_t *offsets = xcalloc(n + 1, sizeof(*offsets));
	int rc = 0;

	for (size_t k = 0; k < n; k++)
		request_outputs_reset(reqs[k], n_outputs);
	for (size_t j = 0; j < n_outputs && !rc; j++) {
		const struct tensor *t = &outs[j];

		if (t->n_dims < 1 || t->shape[0] != total ||
		    (!t->data && t->byte_size)) {
			rc = it_error_set(err, IT_ERR_INTERNAL,
					  "backend returned output '%s' with batch dimension %lld for a batch of %lld",
					  t->name ? t->name : s->config->outputs[j].name,
					  t->n_dims ? (long long)t->shape[0] : -1LL,
					  (long long)total);
			break;
		}
		rc = output_offsets(t, reqs, n, offsets, err);
		for (size_t k = 0; k < n && !rc; k++) {
			struct tensor *o = &reqs[k]->outputs[j];
			size_t len = offsets[k + 1] - offsets[k];

			*o = *t;
			o->shape[0] = request_batch(reqs[k]);
			o->data = xmalloc(len);
			if (len)
				memcpy(o->data, (const char *)t->data + offsets[k],
				       len);
			o->byte_size = len;
		}
	}
	if (rc) {
		for (size_t k = 0; k < n; k++)
			request_outputs_reset(reqs[k], n_outputs);
	}
	free(offsets);
	return rc;
}

/*
 * Hands completed requests to their owners. With preserve_ordering a batch
 * waits (in `held`) until every request dequeued before it has completed;
 * completions are delivered under order_mu so that two workers cannot
 * interleave them out of order.
 */
static void batch_complete(struct scheduler *s, struct infer_request **reqs,
			   size_t n, uint64_t first_seq)
{
	struct held_batch *h, **pp;

	if (!s->preserve_ordering) {
		for (size_t k = 0; k < n; k++) {
			if (reqs[k]->on_complete)
				reqs[k]->on_complete(reqs[k],
						     reqs[k]->on_complete_arg);
		}
		return;
	}
	h = xcalloc(1, sizeof(*h));
	h->first_seq = first_seq;
	h->n = n;
	h->reqs = xcalloc(n, sizeof(*h->reqs));
	memcpy(h->reqs, reqs, n * sizeof(*reqs));

	pthread_mutex_lock(&s->order_mu);
	pp = &s->held;
	while (*pp && (*pp)->first_seq < first_seq)
		pp = &(*pp)->next;
	h->next = *pp;
	*pp = h;
	while (s->held && s->held->first_seq == s->next_complete) {
		h = s->held;
		s->held = h->next;
		s->next_complete += h->n;
		for (size_t k = 0; k < h->n; k++) {
			if (h->reqs[k]->on_complete)
				h->reqs[k]->on_complete(h->reqs[k],
							h->reqs[k]->on_complete_arg);
		}
		free(h->reqs);
		free(h);
	}
	pthread_mutex_unlock(&s->order_mu);
}

static uint64_t elapsed(uint64_t from, uint64_t to)
{
	return to > from ? to - from : 0;
}

/*
 * Executes one batch on inst and completes its requests. Timestamps are
 * Triton's: queue = enqueue to compute start; compute_input = gathering the
 * inputs (free for a single request, which is passed through uncopied);
 * compute_infer = the backend's execute; compute_output = splitting the
 * outputs back. Every request of a batch is charged the batch's durations.
 */
static void batch_run(struct scheduler *s, struct sched_instance *inst,
		      struct infer_request **reqs, size_t n, uint64_t first_seq)
{
	const struct model_config *cfg = s->config;
	struct tensor *inputs = NULL, *outs = NULL;
	struct it_error err = { 0 };
	uint64_t t0, t1, t2, t3;
	int64_t total = 0;
	int rc;

	t0 = infer_now_ns();
	for (size_t k = 0; k < n; k++)
		total += request_batch(reqs[k]);
	if (n == 1) {
		inputs = reqs[0]->inputs;
	} else {
		inputs = xcalloc(cfg->n_inputs ? cfg->n_inputs : 1,
				 sizeof(*inputs));
		for (size_t i = 0; i < cfg->n_inputs; i++)
			input_concat(reqs, n, i, &inputs[i]);
	}
	outs = xcalloc(cfg->n_outputs ? cfg->n_outputs : 1, sizeof(*outs));
	t1 = infer_now_ns();

	rc = s->ops->execute(inst->state, inputs, cfg->n_inputs, outs,
			     cfg->n_outputs, &err);
	t2 = infer_now_ns();

	if (!rc && n == 1) {
		/* A single request takes the backend's buffers as they are. */
		request_outputs_take(reqs[0], outs, cfg->n_outputs);
		outs = NULL;
	} else if (!rc) {
		rc = outputs_split(s, reqs, n, total, outs, &err);
		/* The batch's buffers were copied out (or the split failed). */
		for (size_t j = 0; j < cfg->n_outputs; j++)
			free(outs[j].data);
	}
	/* After a failed execute the backend has left no output data. */
	free(outs);
	t3 = infer_now_ns();

	if (n > 1) {
		for (size_t i = 0; i < cfg->n_inputs; i++)
			free(inputs[i].data);
		free(inputs);
	}

	if (!rc)
		stats_execution(s->stats, (uint64_t)total, t1 - t0,
				t2 - t1, t3 - t2);
	for (size_t k = 0; k < n; k++) {
		struct infer_request *r = reqs[k];

		r->compute_start_ns = t0;
		r->compute_input_end_ns = t1;
		r->compute_infer_end_ns = t2;
		r->compute_end_ns = t3;
		r->status = rc;
		if (rc) {
			r->error = err;
			if (!r->error.code)
				r->error.code = rc;
		}
		stats_request_end(s->stats, !rc,
				  (uint64_t)request_batch(r),
				  elapsed(r->received_ns, t3),
				  elapsed(r->queue_start_ns, t0),
				  t1 - t0, t2 - t1, t3 - t2);
	}
	batch_complete(s, reqs, n, first_seq);
}

/* ---- workers -------------------------------------------------------------- */

static void timespec_from_ns(struct timespec *ts, uint64_t ns)
{
	ts->tv_sec = (time_t)(ns / 1000000000ULL);
	ts->tv_nsec = (long)(ns % 1000000000ULL);
}

static void worker_loop(struct scheduler *s, struct sched_instance *inst)
{
	size_t cap = batch_policy_max_requests(&s->policy);
	struct infer_request **batch = xcalloc(cap, sizeof(*batch));

	pthread_mutex_lock(&s->mu);
	for (;;) {
		uint64_t wake_ns = 0, first_seq;
		size_t n;

		if (s->q_len == 0) {
			if (s->stopping)
				break;
			pthread_cond_wait(&s->work_cv, &s->mu);
			continue;
		}
		n = batch_form(s, infer_now_ns(), &wake_ns);
		if (n == 0) {
			struct timespec ts;

			timespec_from_ns(&ts, wake_ns);
			pthread_cond_timedwait(&s->work_cv, &s->mu, &ts);
			continue;
		}
		for (size_t k = 0; k < n; k++)
			batch[k] = queue_pop(s);
		first_seq = s->next_seq;
		s->next_seq += n;
		/* What is left may be a batch for another idle worker. */
		if (s->q_len)
			pthread_cond_signal(&s->work_cv);
		pthread_mutex_unlock(&s->mu);

		batch_run(s, inst, batch, n, first_seq);

		pthread_mutex_lock(&s->mu);
	}
	pthread_mutex_unlock(&s->mu);
	free(batch);
}

/*
 * A worker creates its backend instance on its own thread (a GPU backend
 * binds a device context to the thread), reports the result to
 * scheduler_new, serves until the scheduler drains, and frees the instance
 * on the same thread.
 */
static void *worker_main(void *arg)
{
	struct sched_instance *inst = arg;
	struct scheduler *s = inst->sched;
	struct it_error err = { 0 };
	void *state = NULL;
	int rc;

	rc = s->ops->instance_new(s->model_state, &inst->info, &state, &err);
	pthread_mutex_lock(&s->mu);
	inst->init_rc = rc;
	inst->init_err = err;
	inst->state = state;
	s->n_init_done++;
	pthread_cond_broadcast(&s->init_cv);
	pthread_mutex_unlock(&s->mu);
	if (rc)
		return NULL;
	worker_loop(s, inst);
	if (s->ops->instance_free)
		s->ops->instance_free(state);
	return NULL;
}

/* ---- lifecycle ------------------------------------------------------------ */

/*
 * Triton's placement: `count` instances per group; a KIND_GPU group places
 * `count` on each listed GPU (device 0 when none is listed: infertune does
 * not enumerate GPUs here). KIND_AUTO becomes KIND_GPU when the group lists
 * GPUs and KIND_CPU otherwise. No instance_group: one KIND_CPU instance.
 * Names are "<group name>_<k>", the group name defaulting to
 * "<model>_<group index>".
 */
static int instances_plan(struct scheduler *s, struct it_error *err)
{
	const struct model_config *cfg = s->config;
	static const int32_t default_gpu = 0;
	struct model_instance_group fallback = {
		.name = "", .kind = INSTANCE_KIND_CPU, .count = 1,
	};
	const struct model_instance_group *groups = cfg->instance_groups;
	size_t n_groups = cfg->n_instance_groups;
	size_t total = 0, idx = 0;

	if (n_groups == 0) {
		groups = &fallback;
		n_groups = 1;
	}
	for (size_t g = 0; g < n_groups; g++) {
		const struct model_instance_group *grp = &groups[g];
		bool gpu = grp->kind == INSTANCE_KIND_GPU ||
			   (grp->kind == INSTANCE_KIND_AUTO && grp->n_gpus);
		size_t per = gpu && grp->n_gpus ? grp->n_gpus : 1;
		size_t count = grp->count < 1 ? 1 : (size_t)grp->count;

		if (count > SCHED_MAX_INSTANCES ||
		    total + count * per > SCHED_MAX_INSTANCES)
			return it_error_set(err, IT_ERR_LIMIT,
					    "model '%s' asks for more than %d instances",
					    s->model_name, SCHED_MAX_INSTANCES);
		total += count * per;
	}
	s->instances = xcalloc(total, sizeof(*s->instances));
	s->n_instances = total;
	for (size_t g = 0; g < n_groups; g++) {
		const struct model_instance_group *grp = &groups[g];
		bool gpu = grp->kind == INSTANCE_KIND_GPU ||
			   (grp->kind == INSTANCE_KIND_AUTO && grp->n_gpus);
		const int32_t *gpus = grp->n_gpus ? grp->gpus : &default_gpu;
		size_t per = gpu && grp->n_gpus ? grp->n_gpus : 1;
		size_t count = grp->count < 1 ? 1 : (size_t)grp->count;
		struct strbuf base;
		size_t k = 0;

		strbuf_init(&base, 0);
		if (grp->name && grp->name[0])
			strbuf_adds(&base, grp->name);
		else
			strbuf_addf(&base, "%s_%zu", s->model_name, g);
		for (size_t d = 0; d < per; d++) {
			for (size_t c = 0; c < count; c++, k++, idx++) {
				struct sched_instance *inst = &s->instances[idx];
				struct strbuf name;

				strbuf_init(&name, 0);
				strbuf_addf(&name, "%s_%zu", base.buf, k);
				inst->sched = s;
				inst->name = strbuf_detach(&name, NULL);
				inst->info.name = inst->name;
				inst->info.index = (int)idx;
				if (gpu) {
					inst->info.kind = INSTANCE_KIND_GPU;
					inst->info.device_id = gpus[d];
				} else {
					inst->info.kind =
						grp->kind == INSTANCE_KIND_MODEL
						? INSTANCE_KIND_MODEL
						: INSTANCE_KIND_CPU;
					inst->info.device_id = -1;
				}
			}
		}
		strbuf_release(&base);
	}
	return 0;
}

/* Stops the workers (they drain the queue first) and joins them. */
static void workers_stop(struct scheduler *s)
{
	pthread_mutex_lock(&s->mu);
	s->stopping = true;
	pthread_cond_broadcast(&s->work_cv);
	pthread_mutex_unlock(&s->mu);
	for (size_t i = 0; i < s->n_instances; i++) {
		if (s->instances[i].started)
			pthread_join(s->instances[i].thread, NULL);
		s->instances[i].started = false;
	}
}

static void scheduler_destroy(struct scheduler *s)
{
	struct held_batch *h, *next;

	for (size_t i = 0; i < s->n_instances; i++)
		free(s->instances[i].name);
	free(s->instances);
	for (h = s->held; h; h = next) {
		next = h->next;
		free(h->reqs);
		free(h);
	}
	free(s->queue);
	pthread_cond_destroy(&s->init_cv);
	pthread_cond_destroy(&s->work_cv);
	pthread_mutex_destroy(&s->order_mu);
	pthread_mutex_destroy(&s->mu);
	free(s->model_name);
	free(s);
}

/* Queue limits and ordering; the batching rules are server/batch_policy's. */
static void policy_init(struct scheduler *s)
{
	const struct model_config *cfg = s->config;
	const struct model_dynamic_batching *db = &cfg->dynamic_batching;

	batch_policy_from_config(&s->policy, cfg);
	if (!s->policy.dynamic)
		return;
	s->preserve_ordering = db->preserve_ordering;
	if (db->has_default_queue_policy)
		s->max_queue_size = db->default_queue_policy.max_queue_size;
}

struct scheduler *scheduler_new(const struct model_config *config,
				const struct backend_ops *ops, void *model_state,
				struct model_stats *stats, struct it_error *err)
{
	struct scheduler *s = xcalloc(1, sizeof(*s));
	struct scheduler *result = NULL;
	const struct sched_instance *failed = NULL;
	int rc;

	s->config = config;
	s->ops = ops;
	s->model_state = model_state;
	s->stats = stats;
	s->model_name = xstrdup(config->name && config->name[0]
				? config->name : "model");
	policy_init(s);
	pthread_mutex_init(&s->mu, NULL);
	pthread_mutex_init(&s->order_mu, NULL);
	cond_init_monotonic(&s->work_cv);
	pthread_cond_init(&s->init_cv, NULL);

	rc = instances_plan(s, err);
	if (rc)
		goto out;
	for (size_t i = 0; i < s->n_instances; i++) {
		struct sched_instance *inst = &s->instances[i];

		rc = pthread_create(&inst->thread, NULL, worker_main, inst);
		if (rc) {
			it_error_set(err, IT_ERR_IO,
				     "model '%s': cannot start a thread for instance '%s': %s",
				     s->model_name, inst->name, strerror(rc));
			rc = IT_ERR_IO;
			break;
		}
		inst->started = true;
	}

	/* Wait until every started worker has tried to create its instance. */
	pthread_mutex_lock(&s->mu);
	for (;;) {
		size_t started = 0;

		for (size_t i = 0; i < s->n_instances; i++)
			started += s->instances[i].started;
		if (s->n_init_done >= started)
			break;
		pthread_cond_wait(&s->init_cv, &s->mu);
	}
	for (size_t i = 0; i < s->n_instances && !failed; i++) {
		if (s->instances[i].started && s->instances[i].init_rc)
			failed = &s->instances[i];
	}
	pthread_mutex_unlock(&s->mu);
	if (failed && !rc) {
		rc = failed->init_rc;
		if (err) {
			*err = failed->init_err;
			if (!err->code)
				err->code = rc;
			if (!err->message[0])
				it_error_set(err, rc, "%s", it_strerror(rc));
			it_error_prefix(err, "model '%s' instance '%s'",
					s->model_name, failed->name);
		}
	}
	if (rc)
		goto out;
	result = s;
	s = NULL;
out:
	if (s) {
		workers_stop(s);
		scheduler_destroy(s);
	}
	return result;
}

int scheduler_enqueue(struct scheduler *sched, struct infer_request *req,
		      struct it_error *err)
{
	const struct model_config *cfg = sched->config;
	int64_t max_batch = sched->policy.max_batch_size;
	int rc = 0;

	/* The batcher's invariants; the protocol layer has checked these. */
	if (req->n_inputs != cfg->n_inputs ||
	    (max_batch > 0 &&
	     (req->batch_size < 1 || req->batch_size > max_batch)))
		return it_error_set(err, IT_ERR_INVALID,
				    "model '%s': request batch size %lld is outside 1..%lld or its inputs do not match the config",
				    sched->model_name, (long long)req->batch_size,
				    (long long)max_batch);
	for (size_t i = 0; i < req->n_inputs && max_batch > 0; i++) {
		const struct tensor *t = &req->inputs[i];

		if (input_present(t) &&
		    (t->n_dims < 1 || t->shape[0] != req->batch_size))
			return it_error_set(err, IT_ERR_INVALID,
					    "model '%s': input '%s' does not start with the batch dimension %lld",
					    sched->model_name, cfg->inputs[i].name,
					    (long long)req->batch_size);
	}

	pthread_mutex_lock(&sched->mu);
	if (sched->stopping) {
		rc = it_error_set(err, IT_ERR_STATE,
				  "model '%s' is unloading and accepts no new requests",
				  sched->model_name);
	} else if (sched->max_queue_size &&
		   sched->q_len >= sched->max_queue_size) {
		/*
		 * Triton answers UNAVAILABLE (HTTP 503), as for an unloading
		 * model; IT_ERR_STATE is the code that maps to 503.
		 */
		rc = it_error_set(err, IT_ERR_STATE,
				  "model '%s': exceeds maximum queue size (%u)",
				  sched->model_name, sched->max_queue_size);
		/* Triton counts a rejected request as a failed one (reason REJECTED). */
		stats_request_start(sched->stats);
		stats_request_end(sched->stats, false,
				  (uint64_t)request_batch(req),
				  elapsed(req->received_ns, infer_now_ns()),
				  0, 0, 0, 0);
	} else {
		req->queue_start_ns = infer_now_ns();
		req->status = 0;
		queue_push(sched, req);
		stats_request_start(sched->stats);
		pthread_cond_signal(&sched->work_cv);
	}
	pthread_mutex_unlock(&sched->mu);
	return rc;
}

size_t scheduler_queue_length(struct scheduler *sched)
{
	size_t n;

	pthread_mutex_lock(&sched->mu);
	n = sched->q_len;
	pthread_mutex_unlock(&sched->mu);
	return n;
}

void scheduler_free(struct scheduler *sched)
{
	if (!sched)
		return;
	workers_stop(sched);
	scheduler_destroy(sched);
}
