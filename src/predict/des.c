/*
 * The discrete-event simulation behind the predictor: one event heap, the
 * batcher's queue, the instances and the device, advanced from event to
 * event; batches are decided by server/batch_policy, as in the server.
 * Depends on server/batch_policy, loadgen/schedule, stats/latency, util/.
 */
#include "predict/des.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "loadgen/schedule.h"
#include "server/batch_policy.h"
#include "stats/latency.h"
#include "util/error.h"
#include "util/xalloc.h"
#include "util/banned.h"

/*
 * Decisions, and why:
 *  - Time is a double in ns from the start of the load. The batch policy
 *    reads integer ns (the server's CLOCK_MONOTONIC); times are rounded to
 *    the nearest ns for it, and the wake-up it returns is an integer, so the
 *    simulated wake-up falls exactly on the head request's deadline.
 *  - Events at the same time run in the order they were scheduled, so a
 *    run is reproducible bit for bit.
 *  - A free instance asks the policy whenever the queue or the set of free
 *    instances changes, and at the head's deadline. Asking more often than
 *    the server does changes nothing: the answer can only turn from "wait"
 *    to "take" at a state change or at the deadline. All instances share one
 *    device, so which free instance takes a batch does not matter.
 *  - The queue is FIFO and a batch is a prefix of it (the policy never skips
 *    a request), so a request is just the time it entered the queue.
 *  - Closed loop: a client's next request reaches the queue overhead_ns
 *    after the previous one's execution ended. With no overhead it is
 *    queued before the freed instance looks at the queue, as in the server,
 *    where the completion callback runs before the worker takes its next
 *    batch.
 *  - Open loop: the send times are loadgen/schedule's, the same timeline
 *    `infertune profile` uses for the same rate and seed.
 */

/*
 * Each decision of the batch policy reads the queue from its head, up to
 * max_batch_size requests, and an instance that waits for its queue delay
 * asks again at every arrival: a long queue of large batches costs reads
 * per request. A run may read this many queued requests per request it
 * simulates (plus a floor) before it fails, so no input runs for minutes.
 */
#define DES_READS_PER_REQUEST 1024
#define DES_READS_FLOOR 10000000ULL

enum ev_kind {
	EV_ARRIVE,      /* a request reaches the queue */
	EV_WAKE,        /* the head request's max_queue_delay is over */
	EV_END,         /* DES_SLOTS: the execution of instance `arg` ends */
	EV_DEVICE,      /* DES_SHARED: the next execution ends, if `arg` is still the device's generation */
};

/* ---- a binary min-heap ordered by (key, insertion) ---------------------- */

struct heap_item {
	double key;     /* an event's time, or a shared execution's finish in work done */
	uint64_t seq;   /* insertion order: equal keys come out first in, first out */
	int kind;
	size_t arg;
};

struct heap {
	struct heap_item *items;
	size_t n, alloc;
	uint64_t next_seq;
};

static bool item_before(const struct heap_item *a, const struct heap_item *b)
{
	return a->key < b->key || (a->key == b->key && a->seq < b->seq);
}

static void heap_push(struct heap *h, double key, int kind, size_t arg)
{
	struct heap_item it = { key, h->next_seq++, kind, arg };
	size_t i;

	XGROW(h->items, h->alloc, h->n + 1);
	for (i = h->n++; i > 0; i = (i - 1) / 2) {
		if (!item_before(&it, &h->items[(i - 1) / 2]))
			break;
		h->items[i] = h->items[(i - 1) / 2];
	}
	h->items[i] = it;
}

/* Removes and returns the first item; h->n must be > 0. */
static struct heap_item heap_pop(struct heap *h)
{
	struct heap_item top = h->items[0], last = h->items[--h->n];
	size_t i = 0, c;

	while ((c = 2 * i + 1) < h->n) {
		if (c + 1 < h->n && item_before(&h->items[c + 1], &h->items[c]))
			c++;
		if (!item_before(&h->items[c], &last))
			break;
		h->items[i] = h->items[c];
		i = c;
	}
	if (h->n)
		h->items[i] = last;
	return top;
}

/* ---- the simulation --------------------------------------------------------- */

struct des_instance {
	double taken_ns;        /* when it took its batch */
	int64_t items;          /* the batch's size */
	double *arrivals;       /* queue entry time of each request of the batch */
	size_t n, alloc;
};

struct des_sim {
	const struct des_model *m;
	const struct des_config *c;
	const struct des_load *l;
	struct batch_policy policy;
	int64_t request_batch;
	double now;
	struct heap events;
	double wake_at;         /* the latest EV_WAKE scheduled */
	uint64_t reads, max_reads; /* queued requests the policy read, and the bound */

	/* The batcher's queue: entry times, oldest at q_head. */
	double *queue;
	size_t q_head, q_len, q_alloc;

	struct des_instance *inst;
	size_t *free_ids;       /* a stack of free instances */
	size_t n_free;

	/* DES_SLOTS: running executions and the FIFO of those waiting for a slot. */
	size_t slots, running;
	size_t *waiting;        /* a ring of instance ids, `instances` long */
	size_t w_head, w_len;

	/* DES_SHARED: executions by finish in work done; work done per execution so far. */
	struct heap jobs;
	double work;
	double work_at;
	uint64_t generation;

	/* The load. */
	struct schedule timeline;       /* open loop */
	uint64_t issued, issue_cap;     /* requests sent, and the most that may be */
	bool ran_out;                   /* open loop: the arrivals hit issue_cap */
	uint64_t in_system;             /* in the queue or executing */
	double front_free;              /* when the front end has sent every response so far */

	/* The measurement window. */
	size_t warmup, requests;
	uint64_t warm_done;
	bool measuring;
	double t0;
	uint64_t in_system_t0;
	bool stopping;
	double stop_at;
	struct latency_samples latencies;
	double sum_latency, sum_queue, sum_compute;
	uint64_t completed, executions, items;
	int64_t max_items;      /* the largest batch measured */
};

/* Nearest ns, as the batch policy reads times. */
static uint64_t policy_ns(double t)
{
	return (uint64_t)(t + 0.5);
}

static double exec_time(const struct des_model *m, int64_t b)
{
	size_t n = m->n_exec;
	double last = m->exec_ns[n - 1], t;

	if ((uint64_t)b <= n)
		return m->exec_ns[b - 1];
	if (n == 1)
		return last;
	t = last + (last - m->exec_ns[n - 2]) * (double)((uint64_t)b - n);
	return t > 0 ? t : 0;
}

/*
 * The queue is an array with a moving head: entries before q_head are
 * gone. It is compacted once the dead part is at least as long as the live
 * one, so each entry moves O(1) times on average.
 */
static void queue_push(struct des_sim *s, double t)
{
	if (s->q_head && s->q_head >= s->q_len) {
		memmove(s->queue, s->queue + s->q_head,
			s->q_len * sizeof(*s->queue));
		s->q_head = 0;
	}
	XGROW(s->queue, s->q_alloc, s->q_head + s->q_len + 1);
	s->queue[s->q_head + s->q_len++] = t;
}

static double queue_pop(struct des_sim *s)
{
	s->q_len--;
	return s->queue[s->q_head++];
}

/* Every simulated request has the load's batch size and the same shape. */
static int64_t view_batch_size(void *ctx, size_t k)
{
	struct des_sim *s = ctx;

	(void)k;
	s->reads++;
	return s->request_batch;
}

/* ---- the device ----------------------------------------------------------- */

/* Rate at which each of k shared executions progresses. */
static double shared_rate(const struct des_sim *s, size_t k)
{
	double r = s->m->device.parallelism / (double)k;

	return r < 1 ? r : 1;
}

/* Brings the shared executions' work done up to now. */
static void shared_advance(struct des_sim *s)
{
	if (s->jobs.n)
		s->work += (s->now - s->work_at) * shared_rate(s, s->jobs.n);
	s->work_at = s->now;
}

/* Schedules the next shared completion; older EV_DEVICE events go stale. */
static void shared_reschedule(struct des_sim *s)
{
	double left;

	s->generation++;
	if (!s->jobs.n)
		return;
	left = s->jobs.items[0].key - s->work;
	heap_push(&s->events,
		  s->now + (left > 0 ? left / shared_rate(s, s->jobs.n) : 0),
		  EV_DEVICE, s->generation);
}

static void slot_start(struct des_sim *s, size_t id)
{
	s->running++;
	heap_push(&s->events, s->now + exec_time(s->m, s->inst[id].items),
		  EV_END, id);
}

/* Instance id's batch asks the device to run it. */
static void device_submit(struct des_sim *s, size_t id)
{
	if (s->m->device.kind == DES_SHARED) {
		shared_advance(s);
		heap_push(&s->jobs, s->work + exec_time(s->m, s->inst[id].items),
			  0, id);
		shared_reschedule(s);
	} else if (s->running < s->slots) {
		slot_start(s, id);
	} else {
		s->waiting[(s->w_head + s->w_len) % (size_t)s->c->instances] = id;
		s->w_len++;
	}
}

/* ---- load, batching, completion ------------------------------------------ */

static void arrive(struct des_sim *s)
{
	queue_push(s, s->now);
	s->in_system++;
}

/* Open loop: the next send of the timeline, while any may be sent. */
static void open_next(struct des_sim *s)
{
	if (s->issued >= s->issue_cap) {
		s->ran_out = true;
		return;
	}
	heap_push(&s->events,
		  (double)schedule_time(&s->timeline, s->issued) +
		  s->m->overhead_ns / 2,
		  EV_ARRIVE, 0);
	s->issued++;
}

/* Closed loop: the client whose response the front end sends at `sent` sends again. */
static void closed_next(struct des_sim *s, double sent)
{
	if (s->issued >= s->issue_cap)
		return;
	s->issued++;
	if (s->m->overhead_ns > 0 || sent > s->now)
		heap_push(&s->events, sent + s->m->overhead_ns, EV_ARRIVE, 0);
	else
		arrive(s);
}

static void take(struct des_sim *s, size_t n)
{
	size_t id = s->free_ids[--s->n_free];
	struct des_instance *in = &s->inst[id];

	in->taken_ns = s->now;
	in->items = (int64_t)n * s->request_batch;
	XGROW(in->arrivals, in->alloc, n);
	for (size_t k = 0; k < n; k++)
		in->arrivals[k] = queue_pop(s);
	in->n = n;
	device_submit(s, id);
}

/* Free instances take what the batch policy gives them, or wait for its deadline. */
static void dispatch(struct des_sim *s)
{
	while (s->n_free && s->q_len) {
		struct batch_queue_view view = {
			.len = s->q_len,
			.head_start_ns = policy_ns(s->queue[s->q_head]),
			.ctx = s,
			.batch_size = view_batch_size,
		};
		uint64_t wake_ns = 0;
		size_t n = batch_policy_next(&s->policy, &view, policy_ns(s->now),
					     false, &wake_ns);

		if (n == 0) {
			if ((double)wake_ns > s->wake_at) {
				s->wake_at = (double)wake_ns;
				heap_push(&s->events, s->wake_at, EV_WAKE, 0);
			}
			return;
		}
		take(s, n);
	}
}

/*
 * One request of a batch that ends now, its response sent at `sent`:
 * warm-up, or a measured figure (counted now; in a steady state the
 * responses leave at the rate the batches end).
 */
static void request_done(struct des_sim *s, double arrived, double taken, double sent)
{
	double latency = s->m->overhead_ns + (sent - arrived);

	if (!s->measuring) {
		if (++s->warm_done >= s->warmup) {
			s->measuring = true;
			s->t0 = s->now;
			s->in_system_t0 = s->in_system;
		}
		return;
	}
	if (s->now <= s->t0)
		return;
	latency_samples_add(&s->latencies, policy_ns(latency));
	s->sum_latency += latency;
	s->sum_queue += taken - arrived;
	s->sum_compute += s->now - taken;
	if (++s->completed >= s->requests && !s->stopping) {
		s->stopping = true;
		s->stop_at = s->now;
	}
}

/* Instance id's execution ended now. */
static void finish(struct des_sim *s, size_t id)
{
	struct des_instance *in = &s->inst[id];

	s->in_system -= in->n;
	if (s->measuring && s->now > s->t0) {
		s->executions++;
		s->items += (uint64_t)in->items;
		if (in->items > s->max_items)
			s->max_items = in->items;
	}
	for (size_t k = 0; k < in->n; k++) {
		double sent = s->now;

		if (s->m->serial_ns > 0) {
			s->front_free = fmax(s->front_free, s->now) + s->m->serial_ns;
			sent = s->front_free;
		}
		request_done(s, in->arrivals[k], in->taken_ns, sent);
		if (s->l->kind == DES_CONCURRENCY)
			closed_next(s, sent);
	}
	in->n = 0;
	s->free_ids[s->n_free++] = id;
	dispatch(s);
}

static void slot_end(struct des_sim *s, size_t id)
{
	s->running--;
	if (s->w_len) {
		size_t next = s->waiting[s->w_head];

		s->w_head = (s->w_head + 1) % (size_t)s->c->instances;
		s->w_len--;
		slot_start(s, next);
	}
	finish(s, id);
}

/* The shared device's next completion (and any that end at the same work). */
static void shared_end(struct des_sim *s, uint64_t generation)
{
	size_t ids[DES_MAX_INSTANCES], n = 0;

	if (generation != s->generation)
		return;
	shared_advance(s);
	if (s->jobs.items[0].key > s->work)
		s->work = s->jobs.items[0].key;
	while (s->jobs.n && s->jobs.items[0].key <= s->work)
		ids[n++] = heap_pop(&s->jobs).arg;
	shared_reschedule(s);
	for (size_t k = 0; k < n; k++)
		finish(s, ids[k]);
}

static void event_run(struct des_sim *s, const struct heap_item *ev)
{
	switch (ev->kind) {
	case EV_ARRIVE:
		arrive(s);
		if (s->l->kind == DES_REQUEST_RATE)
			open_next(s);
		dispatch(s);
		break;
	case EV_WAKE:
		dispatch(s);
		break;
	case EV_END:
		slot_end(s, ev->arg);
		break;
	case EV_DEVICE:
		shared_end(s, ev->arg);
		break;
	}
}

/* ---- checks --------------------------------------------------------------- */

static bool time_ok(double ns)
{
	return isfinite(ns) && ns >= 0 && ns <= DES_MAX_TIME_NS;
}

static bool whole(double v)
{
	return v == floor(v);
}

static int model_check(const struct des_model *m, struct it_error *err)
{
	double p = m->device.parallelism;

	if (!m->exec_ns || m->n_exec < 1)
		return it_error_set(err, IT_ERR_INVALID,
				    "des: model.exec_ns needs at least one execution time (batch 1)");
	for (size_t i = 0; i < m->n_exec; i++) {
		if (!time_ok(m->exec_ns[i]))
			return it_error_set(err, IT_ERR_INVALID,
					    "des: model.exec_ns[%zu] is %g; it must be a finite number of ns from 0 to %g",
					    i, m->exec_ns[i], DES_MAX_TIME_NS);
	}
	if (!time_ok(m->overhead_ns))
		return it_error_set(err, IT_ERR_INVALID,
				    "des: model.overhead_ns is %g; it must be a finite number of ns from 0 to %g",
				    m->overhead_ns, DES_MAX_TIME_NS);
	if (!time_ok(m->serial_ns))
		return it_error_set(err, IT_ERR_INVALID,
				    "des: model.serial_ns is %g; it must be a finite number of ns from 0 to %g",
				    m->serial_ns, DES_MAX_TIME_NS);
	if (m->device.kind != DES_SLOTS && m->device.kind != DES_SHARED)
		return it_error_set(err, IT_ERR_INVALID,
				    "des: model.device.kind %d is neither DES_SLOTS nor DES_SHARED",
				    (int)m->device.kind);
	if (!(p > 0) || !(p <= DES_MAX_PARALLELISM) ||
	    (m->device.kind == DES_SLOTS && (p < 1 || !whole(p))))
		return it_error_set(err, IT_ERR_INVALID,
				    "des: model.device.parallelism is %g; it must be %s up to %g",
				    p, m->device.kind == DES_SLOTS
				    ? "a whole number of slots from 1" : "above 0",
				    DES_MAX_PARALLELISM);
	return 0;
}

static int config_check(const struct des_config *c, struct it_error *err)
{
	if (c->instances < 1 || c->instances > DES_MAX_INSTANCES)
		return it_error_set(err, IT_ERR_INVALID,
				    "des: config.instances is %d; it must be from 1 to %d",
				    c->instances, DES_MAX_INSTANCES);
	if (c->max_batch_size < 0 || c->max_batch_size > INT32_MAX)
		return it_error_set(err, IT_ERR_INVALID,
				    "des: config.max_batch_size is %lld; it must be from 0 to %d",
				    (long long)c->max_batch_size, INT32_MAX);
	if (c->dynamic_batching && c->max_batch_size == 0)
		return it_error_set(err, IT_ERR_INVALID,
				    "des: config.dynamic_batching needs max_batch_size > 0");
	if (c->n_preferred && !c->preferred)
		return it_error_set(err, IT_ERR_INVALID,
				    "des: config.preferred is NULL with n_preferred %zu",
				    c->n_preferred);
	for (size_t i = 0; i < c->n_preferred; i++) {
		if (c->preferred[i] < 1 || c->preferred[i] > c->max_batch_size)
			return it_error_set(err, IT_ERR_INVALID,
					    "des: config.preferred[%zu] is %d; it must be from 1 to max_batch_size (%lld)",
					    i, (int)c->preferred[i],
					    (long long)c->max_batch_size);
	}
	if (c->max_queue_delay_us > DES_MAX_QUEUE_DELAY_US)
		return it_error_set(err, IT_ERR_INVALID,
				    "des: config.max_queue_delay_us is %llu; it must be at most %llu",
				    (unsigned long long)c->max_queue_delay_us,
				    (unsigned long long)DES_MAX_QUEUE_DELAY_US);
	return 0;
}

static int load_check(const struct des_load *l, const struct des_config *c,
		      struct it_error *err)
{
	int64_t rb = l->request_batch ? l->request_batch : 1;
	int64_t max_rb = c->max_batch_size ? c->max_batch_size : 1;

	if (l->kind == DES_CONCURRENCY) {
		if (!(l->value >= 1) || !(l->value <= DES_MAX_CONCURRENCY) ||
		    !whole(l->value))
			return it_error_set(err, IT_ERR_INVALID,
					    "des: load.value (concurrency) is %g; it must be a whole number of clients from 1 to %g",
					    l->value, DES_MAX_CONCURRENCY);
	} else if (l->kind == DES_REQUEST_RATE) {
		if (!(l->value >= DES_MIN_RATE) || !(l->value <= DES_MAX_RATE))
			return it_error_set(err, IT_ERR_INVALID,
					    "des: load.value (request rate) is %g; it must be from one request per hour to %g per second",
					    l->value, DES_MAX_RATE);
	} else {
		return it_error_set(err, IT_ERR_INVALID,
				    "des: load.kind %d is neither DES_CONCURRENCY nor DES_REQUEST_RATE",
				    (int)l->kind);
	}
	if (rb < 1 || rb > max_rb)
		return it_error_set(err, IT_ERR_INVALID,
				    "des: load.request_batch is %lld; it must be from 1 to %lld (max_batch_size, or 1 for a model that does not batch)",
				    (long long)l->request_batch, (long long)max_rb);
	return 0;
}

static int options_check(const struct des_options *o, struct it_error *err)
{
	if (o->requests < 1 || o->requests > DES_MAX_REQUESTS)
		return it_error_set(err, IT_ERR_INVALID,
				    "des: options.requests is %zu; it must be from 1 to %zu",
				    o->requests, DES_MAX_REQUESTS);
	if (o->warmup > DES_MAX_REQUESTS)
		return it_error_set(err, IT_ERR_INVALID,
				    "des: options.warmup is %zu; it must be at most %zu",
				    o->warmup, DES_MAX_REQUESTS);
	return 0;
}

/* ---- the run -------------------------------------------------------------- */

static int sim_init(struct des_sim *s, const struct des_model *m,
		    const struct des_config *c, const struct des_load *l,
		    const struct des_options *o, struct it_error *err)
{
	size_t n = (size_t)c->instances, sends;
	int rc = 0;

	memset(s, 0, sizeof(*s));
	s->m = m;
	s->c = c;
	s->l = l;
	batch_policy_init(&s->policy, c->max_batch_size, c->dynamic_batching,
			  c->preferred, c->n_preferred, c->max_queue_delay_us);
	s->request_batch = l->request_batch ? l->request_batch : 1;
	s->wake_at = -1;
	s->inst = xcalloc(n, sizeof(*s->inst));
	s->free_ids = xcalloc(n, sizeof(*s->free_ids));
	s->waiting = xcalloc(n, sizeof(*s->waiting));
	for (size_t i = 0; i < n; i++)
		s->free_ids[s->n_free++] = n - 1 - i;
	s->slots = (size_t)m->device.parallelism;
	s->warmup = o->warmup;
	s->requests = o->requests;
	s->max_reads = DES_READS_PER_REQUEST *
		       ((uint64_t)o->warmup + o->requests +
			(l->kind == DES_CONCURRENCY ? (uint64_t)l->value : 0)) +
		       DES_READS_FLOOR;
	s->measuring = o->warmup == 0;
	latency_samples_init(&s->latencies);
	latency_samples_reserve(&s->latencies, o->requests);
	if (l->kind == DES_CONCURRENCY) {
		/* Enough for every client to stay busy until the window ends. */
		s->issue_cap = o->warmup + o->requests + (uint64_t)l->value;
		for (uint64_t k = 0; k < (uint64_t)l->value; k++) {
			s->issued++;
			heap_push(&s->events, m->overhead_ns / 2, EV_ARRIVE, 0);
		}
		return 0;
	}
	/*
	 * Twice what the window needs, plus what the instances hold at once:
	 * running out means the queue outgrew the window (saturated).
	 */
	s->issue_cap = 2 * ((uint64_t)o->warmup + o->requests) +
		       n * batch_policy_max_requests(&s->policy);
	/* Past its end the timeline repeats: one pass covers the window. */
	sends = o->warmup + o->requests + 1;
	if (sends > SCHEDULE_MAX_SENDS)
		sends = SCHEDULE_MAX_SENDS;
	rc = l->poisson
		? schedule_poisson(l->value, o->seed, sends, &s->timeline, err)
		: schedule_constant(l->value, sends, &s->timeline, err);
	if (rc) {
		it_error_prefix(err, "des: load");
		return rc;
	}
	open_next(s);
	return 0;
}

static void sim_release(struct des_sim *s)
{
	for (size_t i = 0; s->inst && i < (size_t)s->c->instances; i++)
		free(s->inst[i].arrivals);
	free(s->inst);
	free(s->free_ids);
	free(s->waiting);
	free(s->queue);
	free(s->events.items);
	free(s->jobs.items);
	schedule_release(&s->timeline);
	latency_samples_release(&s->latencies);
}

/* The figures of a finished window. */
static void sim_result(struct des_sim *s, struct des_result *out)
{
	struct latency_summary sum;
	double window_ns = s->stop_at - s->t0;
	double n = (double)s->completed;
	int64_t growth = (int64_t)s->in_system - (int64_t)s->in_system_t0;
	double slack = (double)s->c->instances *
		       (double)batch_policy_max_requests(&s->policy);

	latency_samples_sort(&s->latencies);
	latency_summarize(s->latencies.ns, s->latencies.n, 0, &sum);
	memset(out, 0, sizeof(*out));
	out->window_s = window_ns / 1e9;
	out->throughput = n * (double)s->request_batch / out->window_s;
	out->latency_avg_us = s->sum_latency / n / 1e3;
	out->p50_us = (double)sum.p_ns[0] / 1e3;
	out->p90_us = (double)sum.p_ns[1] / 1e3;
	out->p95_us = (double)sum.p_ns[2] / 1e3;
	out->p99_us = (double)sum.p_ns[3] / 1e3;
	out->queue_avg_us = s->sum_queue / n / 1e3;
	out->compute_avg_us = s->sum_compute / n / 1e3;
	out->avg_batch = s->executions
		? (double)s->items / (double)s->executions : 0;
	out->completed = s->completed;
	out->executions = s->executions;
	out->max_batch = s->max_items;
	out->saturated = s->l->kind == DES_REQUEST_RATE &&
			 (s->ran_out || (double)growth > 0.03 * n + slack);
}

void des_options_init(struct des_options *o)
{
	o->requests = DES_DEFAULT_REQUESTS;
	o->warmup = DES_DEFAULT_REQUESTS / 10;
	o->seed = 0;
}

int des_run(const struct des_model *m, const struct des_config *c,
	    const struct des_load *l, const struct des_options *o,
	    struct des_result *out, struct it_error *err)
{
	struct des_options defaults;
	struct des_sim s;
	int rc;

	if (!o) {
		des_options_init(&defaults);
		o = &defaults;
	}
	rc = model_check(m, err);
	if (!rc)
		rc = config_check(c, err);
	if (!rc)
		rc = load_check(l, c, err);
	if (!rc)
		rc = options_check(o, err);
	if (rc)
		return rc;
	rc = sim_init(&s, m, c, l, o, err);
	while (!rc && s.events.n) {
		struct heap_item ev = heap_pop(&s.events);

		if (s.stopping && ev.key > s.stop_at)
			break;
		s.now = ev.key;
		event_run(&s, &ev);
		if (s.reads > s.max_reads)
			rc = it_error_set(err, IT_ERR_LIMIT,
					  "des: the batcher read more than %llu queued requests (max_batch_size %lld with a queue this long); the simulation stops there",
					  (unsigned long long)s.max_reads,
					  (long long)c->max_batch_size);
	}
	if (!rc && (!s.stopping || !(s.stop_at > s.t0)))
		rc = it_error_set(err, IT_ERR_STATE,
				  "des: the simulated clock does not advance: executions and overhead of 0 ns");
	if (!rc)
		sim_result(&s, out);
	sim_release(&s);
	return rc;
}
