/*
 * Unit tests for server/scheduler: outputs reach the right requests, batches
 * form (and only) the way Triton's dynamic batcher forms them, the queue
 * delay, preserve_ordering, queue limits, draining on free, backend errors,
 * instance placement, and throughput that scales with instances as
 * docs/sim-backend.md predicts. Timing bounds are generous: the assertions
 * are about structure, the sim backend sleeps so results hold on 2 cores.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend/backend.h"
#include "model/config.h"
#include "server/infer.h"
#include "server/scheduler.h"
#include "server/stats.h"
#include "util/error.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

#define MS 1000000ULL
#define MAX_DONE 512

/* ---- harness ---------------------------------------------------------------- */

/* Completed requests in completion order; optionally a closed loop. */
struct collector {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct infer_request *done[MAX_DONE];
	uint64_t done_ns[MAX_DONE];
	size_t n_done;
	/* Closed loop: each completion issues a new request while any are left. */
	struct scheduler *sched;
	const struct model_config *cfg;
	size_t issue_left;
	int reissue_failures;
	/* Enqueue from inside on_complete (drain test). */
	bool try_enqueue;
	int enqueue_rc;
};

struct fixture {
	struct model_config *cfg;
	const struct backend_ops *ops;
	void *model;
	struct model_stats *stats;
	struct scheduler *sched;
	struct collector col;
};

static uint64_t now_ns(void)
{
	return infer_now_ns();
}

static struct model_config *parse(const char *text)
{
	struct it_error err = { 0 };
	struct model_config *cfg = model_config_parse(text, strlen(text),
						      "t.pbtxt", &err);

	if (!cfg)
		fail_msg("config does not parse: %s\n%s", err.message, text);
	return cfg;
}

static void on_done(struct infer_request *req, void *arg);

/*
 * A request with one INT32 input [batch, width] (or [width] without
 * batching) holding seed * 1000 + i.
 */
static struct infer_request *make_request(const struct model_config *cfg,
					  int64_t batch, int64_t width,
					  int32_t seed, struct collector *col)
{
	struct infer_request *req = infer_request_new(cfg);
	struct tensor *t = &req->inputs[0];
	size_t n = (size_t)(batch * width);
	int32_t *data = xmalloc(n * sizeof(*data));

	for (size_t i = 0; i < n; i++)
		data[i] = seed * 1000 + (int32_t)i;
	infer_request_own(req, data);
	t->datatype = DATATYPE_INT32;
	if (cfg->max_batch_size > 0) {
		t->n_dims = 2;
		t->shape[0] = batch;
		t->shape[1] = width;
		req->batch_size = batch;
	} else {
		t->n_dims = 1;
		t->shape[0] = width;
		req->batch_size = 1;
	}
	t->data = data;
	t->byte_size = n * sizeof(*data);
	for (size_t j = 0; j < cfg->n_outputs; j++)
		req->output_requested[j] = true;
	req->on_complete = on_done;
	req->on_complete_arg = col;
	return req;
}

static void on_done(struct infer_request *req, void *arg)
{
	struct collector *c = arg;
	bool reissue = false;

	pthread_mutex_lock(&c->mu);
	if (c->n_done < MAX_DONE) {
		c->done[c->n_done] = req;
		c->done_ns[c->n_done] = now_ns();
	}
	c->n_done++;
	if (c->issue_left) {
		c->issue_left--;
		reissue = true;
	}
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);

	if (reissue) {
		struct infer_request *next = make_request(c->cfg, 1, 4, 0, c);

		if (scheduler_enqueue(c->sched, next, NULL)) {
			infer_request_free(next);
			pthread_mutex_lock(&c->mu);
			c->reissue_failures++;
			pthread_mutex_unlock(&c->mu);
		}
	}
	if (c->try_enqueue) {
		struct infer_request *late = make_request(c->cfg, 1, 4, 0, c);
		struct it_error err = { 0 };
		int rc = scheduler_enqueue(c->sched, late, &err);

		if (rc)
			infer_request_free(late);
		pthread_mutex_lock(&c->mu);
		c->enqueue_rc = rc;
		pthread_mutex_unlock(&c->mu);
	}
}

/* Waits for n completions; fails the test after 10 s. */
static void collector_wait(struct collector *c, size_t n)
{
	struct timespec deadline;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 10;
	pthread_mutex_lock(&c->mu);
	while (c->n_done < n) {
		if (pthread_cond_timedwait(&c->cv, &c->mu, &deadline)) {
			size_t got = c->n_done;

			pthread_mutex_unlock(&c->mu);
			fail_msg("only %zu of %zu requests completed", got, n);
		}
	}
	pthread_mutex_unlock(&c->mu);
}

static void fixture_start_ops(struct fixture *f, const char *text,
			      const struct backend_ops *ops)
{
	struct it_error err = { 0 };

	memset(f, 0, sizeof(*f));
	pthread_mutex_init(&f->col.mu, NULL);
	pthread_cond_init(&f->col.cv, NULL);
	f->cfg = parse(text);
	f->ops = ops ? ops : backend_find(f->cfg, &err);
	if (!f->ops)
		fail_msg("backend_find: %s", err.message);
	if (f->ops->model_load(f->cfg, "/nonexistent/1", &f->model, &err))
		fail_msg("model_load: %s", err.message);
	f->stats = stats_new();
	f->sched = scheduler_new(f->cfg, f->ops, f->model, f->stats, &err);
	if (!f->sched)
		fail_msg("scheduler_new: %s", err.message);
	f->col.sched = f->sched;
	f->col.cfg = f->cfg;
}

static void fixture_start(struct fixture *f, const char *text)
{
	fixture_start_ops(f, text, NULL);
}

/* Frees everything; scheduler_free first so that no callback is running. */
static void fixture_stop(struct fixture *f)
{
	scheduler_free(f->sched);
	f->ops->model_unload(f->model);
	for (size_t i = 0; i < f->col.n_done && i < MAX_DONE; i++)
		infer_request_free(f->col.done[i]);
	stats_free(f->stats);
	model_config_free(f->cfg);
	pthread_cond_destroy(&f->col.cv);
	pthread_mutex_destroy(&f->col.mu);
}

static void enqueue_ok(struct fixture *f, struct infer_request *req)
{
	struct it_error err = { 0 };

	if (scheduler_enqueue(f->sched, req, &err))
		fail_msg("scheduler_enqueue: %s", err.message);
}

/* Executed batch sizes from the statistics (caller frees .batches). */
static void stats_of(struct fixture *f, struct model_stats_snapshot *s)
{
	stats_snapshot(f->stats, s);
}

/* The identity output of req equals its input. */
static void check_identity(const struct infer_request *req)
{
	const struct tensor *in = &req->inputs[0];
	const struct tensor *out = &req->outputs[0];

	if (req->status)
		fail_msg("request failed: %s", req->error.message);
	assert_int_equal(req->n_outputs, 1);
	assert_string_equal(out->name, "OUT");
	assert_int_equal(out->n_dims, in->n_dims);
	assert_memory_equal(out->shape, in->shape, in->n_dims * sizeof(in->shape[0]));
	assert_int_equal(out->byte_size, in->byte_size);
	assert_memory_equal(out->data, in->data, in->byte_size);
}

static char *config_text(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static char *config_text(const char *fmt, ...)
{
	struct strbuf sb;
	va_list ap;

	strbuf_init(&sb, 0);
	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	return strbuf_detach(&sb, NULL);
}

#define IDENTITY_HEAD \
	"name: \"ident\"\nbackend: \"identity\"\nmax_batch_size: 8\n" \
	"input [{ name: \"IN\" data_type: TYPE_INT32 dims: [ -1 ] }]\n" \
	"output [{ name: \"OUT\" data_type: TYPE_INT32 dims: [ -1 ] }]\n"

/* A sim model with an INT32 [-1] input and an FP32 [4] output. */
static char *sim_text(unsigned base_us, unsigned per_item_us, unsigned slots,
		      unsigned instances, int max_batch_size,
		      const char *dynamic_batching)
{
	return config_text(
		"name: \"sim\"\nbackend: \"sim\"\nmax_batch_size: %d\n"
		"input [{ name: \"IN\" data_type: TYPE_INT32 dims: [ -1 ] }]\n"
		"output [{ name: \"OUT\" data_type: TYPE_FP32 dims: [ 4 ] }]\n"
		"instance_group [{ count: %u kind: KIND_CPU }]\n"
		"%s\n"
		"parameters { key: \"sim_base_us\" value { string_value: \"%u\" } }\n"
		"parameters { key: \"sim_per_item_us\" value { string_value: \"%u\" } }\n"
		"parameters { key: \"sim_device_slots\" value { string_value: \"%u\" } }\n",
		max_batch_size, instances, dynamic_batching ? dynamic_batching : "",
		base_us, per_item_us, slots);
}

/* ---- tests -------------------------------------------------------------------- */

static void test_outputs_without_batching(void **state)
{
	char *text = config_text(IDENTITY_HEAD
				 "instance_group [{ count: 2 kind: KIND_CPU }]\n");
	struct model_stats_snapshot s;
	struct fixture f;

	(void)state;
	fixture_start(&f, text);
	for (int k = 0; k < 30; k++)
		enqueue_ok(&f, make_request(f.cfg, k % 3 + 1, 5, k, &f.col));
	collector_wait(&f.col, 30);
	for (size_t i = 0; i < 30; i++) {
		const struct infer_request *r = f.col.done[i];

		check_identity(r);
		/* Triton's timestamps, in order. */
		assert_true(r->received_ns <= r->queue_start_ns);
		assert_true(r->queue_start_ns <= r->compute_start_ns);
		assert_true(r->compute_start_ns <= r->compute_input_end_ns);
		assert_true(r->compute_input_end_ns <= r->compute_infer_end_ns);
		assert_true(r->compute_infer_end_ns <= r->compute_end_ns);
	}
	/* Without dynamic batching every request runs alone. */
	stats_of(&f, &s);
	assert_int_equal(s.execution_count, 30);
	assert_int_equal(s.inference_count, 60);
	assert_int_equal(s.success.count, 30);
	assert_int_equal(s.queue.count, 30);
	assert_int_equal(s.compute_infer.count, 30);
	assert_int_equal(s.pending_count, 0);
	assert_int_equal(s.n_batches, 3);
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(s.batches[i].batch_size, i + 1);
		assert_int_equal(s.batches[i].compute_infer.count, 10);
	}
	free(s.batches);
	fixture_stop(&f);
	free(text);
}

static void test_model_without_batch_dimension(void **state)
{
	struct model_stats_snapshot s;
	struct fixture f;

	(void)state;
	fixture_start(&f, "name: \"nb\"\nbackend: \"identity\"\n"
			  "input [{ name: \"IN\" data_type: TYPE_INT32 dims: [ 3 ] }]\n"
			  "output [{ name: \"OUT\" data_type: TYPE_INT32 dims: [ 3 ] }]\n");
	for (int k = 0; k < 4; k++)
		enqueue_ok(&f, make_request(f.cfg, 1, 3, k, &f.col));
	collector_wait(&f.col, 4);
	for (size_t i = 0; i < 4; i++)
		check_identity(f.col.done[i]);
	stats_of(&f, &s);
	assert_int_equal(s.execution_count, 4);
	assert_int_equal(s.batches[0].batch_size, 1);
	free(s.batches);
	fixture_stop(&f);
}

/* Concurrent single requests on a batching sim model form batches <= max. */
static void test_dynamic_batching_forms_batches(void **state)
{
	char *text = sim_text(3000, 200, 1, 1, 8,
			      "dynamic_batching { max_queue_delay_microseconds: 1000 }");
	struct model_stats_snapshot s;
	struct fixture f;
	uint64_t biggest = 0;

	(void)state;
	fixture_start(&f, text);
	for (int k = 0; k < 40; k++)
		enqueue_ok(&f, make_request(f.cfg, 1, 4, k, &f.col));
	collector_wait(&f.col, 40);
	for (size_t i = 0; i < 40; i++) {
		const struct infer_request *r = f.col.done[i];

		assert_int_equal(r->status, 0);
		assert_int_equal(r->outputs[0].n_dims, 2);
		assert_int_equal(r->outputs[0].shape[0], 1);
		assert_int_equal(r->outputs[0].shape[1], 4);
		assert_int_equal(r->outputs[0].byte_size, 16);
	}
	stats_of(&f, &s);
	assert_int_equal(s.inference_count, 40);
	assert_true(s.execution_count < 40);
	for (size_t i = 0; i < s.n_batches; i++) {
		assert_true(s.batches[i].batch_size <= 8);
		biggest = s.batches[i].batch_size;
	}
	print_message("dynamic batching: 40 requests in %llu executions, largest batch %llu\n",
		      (unsigned long long)s.execution_count,
		      (unsigned long long)biggest);
	assert_true(biggest > 1);
	free(s.batches);
	fixture_stop(&f);
	free(text);

	/* Requests of batch 3: a fourth would overflow 8, so batches are 3 or 6. */
	text = sim_text(3000, 200, 1, 1, 8,
			"dynamic_batching { max_queue_delay_microseconds: 1000 }");
	fixture_start(&f, text);
	for (int k = 0; k < 20; k++)
		enqueue_ok(&f, make_request(f.cfg, 3, 4, k, &f.col));
	collector_wait(&f.col, 20);
	for (size_t i = 0; i < 20; i++)
		assert_int_equal(f.col.done[i]->outputs[0].shape[0], 3);
	stats_of(&f, &s);
	assert_int_equal(s.inference_count, 60);
	for (size_t i = 0; i < s.n_batches; i++)
		assert_true(s.batches[i].batch_size == 3 ||
			    s.batches[i].batch_size == 6);
	assert_int_equal(s.batches[s.n_batches - 1].batch_size, 6);
	free(s.batches);
	fixture_stop(&f);
	free(text);
}

/*
 * With enough queued, the largest preferred size reachable goes at once,
 * well before the delay: every batch is 3 or 6, never 4 or 5, and nothing
 * waits the 300 ms. (Triton also sends a batch that cannot grow past the
 * largest preferred size, so the smaller preferred size is what this checks.)
 */
static void test_preferred_batch_size(void **state)
{
	char *text = sim_text(10000, 0, 1, 1, 8,
			      "dynamic_batching { preferred_batch_size: [ 3, 6 ] max_queue_delay_microseconds: 300000 }");
	struct model_stats_snapshot s;
	struct fixture f;
	uint64_t t0, dt;

	(void)state;
	fixture_start(&f, text);
	t0 = now_ns();
	for (int k = 0; k < 9; k++)
		enqueue_ok(&f, make_request(f.cfg, 1, 4, k, &f.col));
	collector_wait(&f.col, 9);
	dt = now_ns() - t0;
	stats_of(&f, &s);
	assert_int_equal(s.inference_count, 9);
	for (size_t i = 0; i < s.n_batches; i++)
		assert_true(s.batches[i].batch_size == 3 ||
			    s.batches[i].batch_size == 6);
	/* Two or three 10 ms executions, no 300 ms wait. */
	assert_true(dt >= 20 * MS);
	assert_true(dt < 250 * MS);
	free(s.batches);
	fixture_stop(&f);
	free(text);
}

/* A lone request waits max_queue_delay for company, then runs alone. */
static void test_queue_delay(void **state)
{
	char *text = sim_text(1000, 0, 1, 1, 8,
			      "dynamic_batching { preferred_batch_size: [ 4 ] max_queue_delay_microseconds: 100000 }");
	struct model_stats_snapshot s;
	struct fixture f;
	uint64_t latency;

	(void)state;
	fixture_start(&f, text);
	enqueue_ok(&f, make_request(f.cfg, 1, 4, 0, &f.col));
	collector_wait(&f.col, 1);
	latency = f.col.done_ns[0] - f.col.done[0]->queue_start_ns;
	print_message("lone request with a 100 ms delay: %.1f ms\n",
		      (double)latency / 1e6);
	assert_true(latency >= 101 * MS);
	assert_true(latency < 400 * MS);
	assert_true(f.col.done[0]->compute_start_ns -
		    f.col.done[0]->queue_start_ns >= 100 * MS);

	/* Two requests (preferred 4 not reached): one batch of 2 after the delay. */
	enqueue_ok(&f, make_request(f.cfg, 1, 4, 1, &f.col));
	enqueue_ok(&f, make_request(f.cfg, 1, 4, 2, &f.col));
	collector_wait(&f.col, 3);
	stats_of(&f, &s);
	assert_int_equal(s.execution_count, 2);
	assert_int_equal(s.n_batches, 2);
	assert_int_equal(s.batches[1].batch_size, 2);
	assert_true(s.queue.ns >= 3 * 100 * MS);
	free(s.batches);
	fixture_stop(&f);
	free(text);

	/* Delay 0: whatever is queued runs at once. */
	text = sim_text(1000, 0, 1, 1, 8, "dynamic_batching { }");
	fixture_start(&f, text);
	enqueue_ok(&f, make_request(f.cfg, 1, 4, 0, &f.col));
	collector_wait(&f.col, 1);
	latency = f.col.done_ns[0] - f.col.done[0]->queue_start_ns;
	assert_true(latency >= 1 * MS);
	assert_true(latency < 80 * MS);
	fixture_stop(&f);
	free(text);
}

/* Requests whose variable dims differ never share a batch. */
static void test_unbatchable_shapes(void **state)
{
	static const int64_t widths[] = { 2, 2, 2, 3, 3, 3, 2, 2 };
	char *text = config_text(IDENTITY_HEAD
				 "dynamic_batching { max_queue_delay_microseconds: 100000 }\n");
	struct model_stats_snapshot s;
	struct fixture f;

	(void)state;
	fixture_start(&f, text);
	for (int k = 0; k < 8; k++)
		enqueue_ok(&f, make_request(f.cfg, 1, widths[k], k, &f.col));
	collector_wait(&f.col, 8);
	for (size_t i = 0; i < 8; i++)
		check_identity(f.col.done[i]);
	stats_of(&f, &s);
	/* [2 2 2] [3 3 3] [2 2]: mixing would have made a batch above 3. */
	assert_true(s.execution_count >= 3);
	for (size_t i = 0; i < s.n_batches; i++)
		assert_true(s.batches[i].batch_size <= 3);
	free(s.batches);
	fixture_stop(&f);
	free(text);
}

/* A BYTES request of `batch` rows of two strings whose lengths vary with seed. */
static struct infer_request *make_bytes_request(const struct model_config *cfg,
						int64_t batch, int seed,
						struct collector *col)
{
	struct infer_request *req = infer_request_new(cfg);
	struct tensor *t = &req->inputs[0];
	struct strbuf sb;
	size_t len;

	strbuf_init(&sb, 0);
	for (int64_t e = 0; e < batch * 2; e++) {
		uint32_t n = (uint32_t)((seed * 3 + e) % 5);
		unsigned char prefix[4] = { (unsigned char)n, 0, 0, 0 };

		strbuf_add(&sb, prefix, 4);
		for (uint32_t c = 0; c < n; c++)
			strbuf_addch(&sb, 'a' + seed);
	}
	t->data = strbuf_detach(&sb, &len);
	infer_request_own(req, t->data);
	t->datatype = DATATYPE_STRING;
	t->n_dims = 2;
	t->shape[0] = batch;
	t->shape[1] = 2;
	t->byte_size = len;
	req->batch_size = batch;
	req->on_complete = on_done;
	req->on_complete_arg = col;
	return req;
}

/* BYTES tensors are concatenated and split back by walking length prefixes. */
static void test_bytes_batch_split(void **state)
{
	struct model_stats_snapshot s;
	struct fixture f;

	(void)state;
	fixture_start(&f, "name: \"strings\"\nbackend: \"identity\"\nmax_batch_size: 8\n"
			  "input [{ name: \"IN\" data_type: TYPE_STRING dims: [ 2 ] }]\n"
			  "output [{ name: \"OUT\" data_type: TYPE_STRING dims: [ 2 ] }]\n"
			  "dynamic_batching { preferred_batch_size: [ 6 ] max_queue_delay_microseconds: 500000 }\n");
	enqueue_ok(&f, make_bytes_request(f.cfg, 1, 1, &f.col));
	enqueue_ok(&f, make_bytes_request(f.cfg, 3, 2, &f.col));
	enqueue_ok(&f, make_bytes_request(f.cfg, 2, 3, &f.col));
	collector_wait(&f.col, 3);
	for (size_t i = 0; i < 3; i++)
		check_identity(f.col.done[i]);
	stats_of(&f, &s);
	assert_int_equal(s.execution_count, 1);
	assert_int_equal(s.batches[0].batch_size, 6);
	free(s.batches);
	fixture_stop(&f);
}

/*
 * A long request (batch 5: 50 ms) then a short one (batch 1: 10 ms) of
 * another shape, on two instances and two slots: the short one finishes
 * first unless preserve_ordering holds it back.
 */
static void ordering_case(bool preserve, size_t *first_done_batch)
{
	char *text = sim_text(0, 10000, 2, 2, 8,
			      preserve ? "dynamic_batching { preserve_ordering: true }"
				       : "dynamic_batching { }");
	struct fixture f;

	fixture_start(&f, text);
	enqueue_ok(&f, make_request(f.cfg, 5, 2, 1, &f.col));
	enqueue_ok(&f, make_request(f.cfg, 1, 3, 2, &f.col));
	collector_wait(&f.col, 2);
	*first_done_batch = (size_t)f.col.done[0]->batch_size;
	if (preserve)
		assert_true(f.col.done_ns[1] >= f.col.done[0]->compute_end_ns);
	fixture_stop(&f);
	free(text);
}

static void test_preserve_ordering(void **state)
{
	size_t first;

	(void)state;
	ordering_case(false, &first);
	assert_int_equal(first, 1); /* the short one overtook: the test can fail */
	ordering_case(true, &first);
	assert_int_equal(first, 5);
}

/* Closed loop: `clients` requests in flight until `total` are done. */
static uint64_t closed_loop_ns(unsigned instances, unsigned slots,
			       unsigned base_us, size_t clients, size_t total)
{
	char *text = sim_text(base_us, 0, slots, instances, 8, NULL);
	struct fixture f;
	uint64_t t0, dt;

	fixture_start(&f, text);
	pthread_mutex_lock(&f.col.mu);
	f.col.issue_left = total - clients;
	pthread_mutex_unlock(&f.col.mu);
	t0 = now_ns();
	for (size_t k = 0; k < clients; k++)
		enqueue_ok(&f, make_request(f.cfg, 1, 4, 0, &f.col));
	collector_wait(&f.col, total);
	dt = now_ns() - t0;
	assert_int_equal(f.col.reissue_failures, 0);
	fixture_stop(&f);
	free(text);
	return dt;
}

/*
 * docs/sim-backend.md: C concurrent single requests, I instances, S slots,
 * no batching: throughput = min(C, I, S) / (base + per_item).
 */
static void test_instances_scale_throughput(void **state)
{
	/* Long enough that a few ms of wake-up latency on a busy box stay noise. */
	const unsigned base_us = 15000;
	const size_t clients = 4, total = 24;
	uint64_t t1, t2, t3;
	double predicted1 = (double)total * base_us * 1000 / 1;
	double predicted2 = (double)total * base_us * 1000 / 2;

	(void)state;
	t1 = closed_loop_ns(1, 2, base_us, clients, total);
	t2 = closed_loop_ns(2, 2, base_us, clients, total);
	t3 = closed_loop_ns(3, 2, base_us, clients, total);
	print_message("sim throughput: 1 instance %.0f/s, 2 instances %.0f/s (x%.2f), 3 instances on 2 slots %.0f/s (x%.2f of 2)\n",
		      total / (t1 / 1e9), total / (t2 / 1e9),
		      (double)t1 / (double)t2, total / (t3 / 1e9),
		      (double)t2 / (double)t3);
	/* Sleeping makes the predictions hard lower bounds on time. */
	assert_true((double)t1 >= predicted1 * 0.99);
	assert_true((double)t2 >= predicted2 * 0.99);
	assert_true((double)t3 >= predicted2 * 0.99);
	assert_true((double)t1 < predicted1 * 2.5);
	assert_true((double)t2 < predicted2 * 2.5);
	/* 2 instances on 2 slots: about twice the throughput. */
	assert_true((double)t1 / (double)t2 >= 1.6);
	/* A third instance has no slot to run on: no gain. */
	assert_true((double)t2 / (double)t3 < 1.3);
}

static void test_max_queue_size(void **state)
{
	char *text = sim_text(30000, 0, 1, 1, 1,
			      "dynamic_batching { default_queue_policy { max_queue_size: 2 } }");
	struct model_stats_snapshot s;
	size_t accepted = 0, rejected = 0;
	struct fixture f;

	(void)state;
	fixture_start(&f, text);
	for (int k = 0; k < 6; k++) {
		struct infer_request *req = make_request(f.cfg, 1, 4, k, &f.col);
		struct it_error err = { 0 };
		int rc = scheduler_enqueue(f.sched, req, &err);

		if (rc == 0) {
			accepted++;
			continue;
		}
		assert_int_equal(rc, IT_ERR_STATE); /* UNAVAILABLE, 503 */
		assert_non_null(strstr(err.message, "exceeds maximum queue size"));
		infer_request_free(req);
		rejected++;
	}
	/* One may already be executing (30 ms); the queue holds two. */
	assert_true(accepted == 2 || accepted == 3);
	collector_wait(&f.col, accepted);
	stats_of(&f, &s);
	assert_int_equal(s.success.count, accepted);
	assert_int_equal(s.fail.count, rejected);
	assert_int_equal(s.pending_count, 0);
	free(s.batches);
	fixture_stop(&f);
	free(text);
}

/* scheduler_free runs what is queued at once (no 5 s delay) and completes all. */
static void test_free_drains(void **state)
{
	char *text = sim_text(2000, 0, 1, 1, 8,
			      "dynamic_batching { max_queue_delay_microseconds: 5000000 }");
	struct fixture f;
	uint64_t t0, dt;

	(void)state;
	fixture_start(&f, text);
	f.col.try_enqueue = true;
	for (int k = 0; k < 5; k++)
		enqueue_ok(&f, make_request(f.cfg, 1, 4, k, &f.col));
	assert_int_equal(scheduler_queue_length(f.sched), 5);
	t0 = now_ns();
	scheduler_free(f.sched);
	dt = now_ns() - t0;
	f.sched = NULL;
	assert_true(dt < 1000 * MS);
	assert_int_equal(f.col.n_done, 5);
	for (size_t i = 0; i < 5; i++)
		assert_int_equal(f.col.done[i]->status, 0);
	/* Enqueueing while draining is refused. */
	assert_int_equal(f.col.enqueue_rc, IT_ERR_STATE);
	fixture_stop(&f);
	free(text);
}

/* ---- test backends ------------------------------------------------------------ */

static struct {
	pthread_mutex_t mu;
	int64_t batches[16];
	size_t n_batches;
	struct backend_instance_info infos[16];
	pthread_t created_on[16];
	char names[16][64];
	size_t n_created;
	size_t n_freed;
	bool freed_on_creator[16];
	int fail_index;
} rec = { .mu = PTHREAD_MUTEX_INITIALIZER, .fail_index = -1 };

static void rec_reset(int fail_index)
{
	pthread_mutex_lock(&rec.mu);
	rec.n_batches = 0;
	rec.n_created = 0;
	rec.n_freed = 0;
	rec.fail_index = fail_index;
	memset(rec.freed_on_creator, 0, sizeof(rec.freed_on_creator));
	pthread_mutex_unlock(&rec.mu);
}

static int rec_model_load(const struct model_config *cfg, const char *dir,
			  void **state, struct it_error *err)
{
	(void)cfg;
	(void)dir;
	(void)err;
	*state = NULL;
	return 0;
}

static void rec_model_unload(void *state)
{
	(void)state;
}

static int rec_instance_new(void *model, const struct backend_instance_info *info,
			    void **state, struct it_error *err)
{
	size_t slot;

	(void)model;
	if (info->index == rec.fail_index)
		return it_error_set(err, IT_ERR_IO, "no memory on device");
	pthread_mutex_lock(&rec.mu);
	slot = (size_t)info->index;
	rec.infos[slot] = *info;
	snprintf(rec.names[slot], sizeof(rec.names[slot]), "%s", info->name);
	rec.infos[slot].name = rec.names[slot];
	rec.created_on[slot] = pthread_self();
	rec.n_created++;
	pthread_mutex_unlock(&rec.mu);
	*state = (void *)(uintptr_t)(slot + 1);
	return 0;
}

static void rec_instance_free(void *state)
{
	size_t slot = (size_t)(uintptr_t)state - 1;

	pthread_mutex_lock(&rec.mu);
	rec.n_freed++;
	rec.freed_on_creator[slot] = pthread_equal(rec.created_on[slot],
						   pthread_self());
	pthread_mutex_unlock(&rec.mu);
}

static int rec_execute_fail(void *state, const struct tensor *inputs,
			    size_t n_inputs, struct tensor *outputs,
			    size_t n_outputs, struct it_error *err)
{
	(void)state;
	(void)n_inputs;
	(void)outputs;
	(void)n_outputs;
	pthread_mutex_lock(&rec.mu);
	if (rec.n_batches < 16)
		rec.batches[rec.n_batches++] = inputs[0].shape[0];
	pthread_mutex_unlock(&rec.mu);
	return it_error_set(err, IT_ERR_IO, "boom: device lost");
}

static const struct backend_ops rec_ops = {
	.name = "recorder",
	.model_load = rec_model_load,
	.model_unload = rec_model_unload,
	.instance_new = rec_instance_new,
	.instance_free = rec_instance_free,
	.execute = rec_execute_fail,
};

/* A backend error fails every request of the batch with its message. */
static void test_backend_error_fails_batch(void **state)
{
	char *text = config_text(IDENTITY_HEAD
				 "dynamic_batching { preferred_batch_size: [ 3 ] max_queue_delay_microseconds: 500000 }\n");
	struct model_stats_snapshot s;
	struct fixture f;

	(void)state;
	rec_reset(-1);
	fixture_start_ops(&f, text, &rec_ops);
	for (int k = 0; k < 3; k++)
		enqueue_ok(&f, make_request(f.cfg, 1, 2, k, &f.col));
	collector_wait(&f.col, 3);
	assert_int_equal(rec.n_batches, 1);
	assert_int_equal(rec.batches[0], 3);
	for (size_t i = 0; i < 3; i++) {
		const struct infer_request *r = f.col.done[i];

		assert_int_equal(r->status, IT_ERR_IO);
		assert_int_equal(r->error.code, IT_ERR_IO);
		assert_string_equal(r->error.message, "boom: device lost");
		assert_null(r->outputs[0].data);
	}
	stats_of(&f, &s);
	assert_int_equal(s.fail.count, 3);
	assert_int_equal(s.success.count, 0);
	assert_int_equal(s.execution_count, 0);
	assert_int_equal(s.inference_count, 0);
	free(s.batches);
	fixture_stop(&f);
	free(text);
}

static void test_instance_placement(void **state)
{
	static const struct {
		const char *name;
		enum instance_kind kind;
		int device;
	} want[] = {
		{ "g_0", INSTANCE_KIND_CPU, -1 },
		{ "g_1", INSTANCE_KIND_CPU, -1 },
		{ "m_1_0", INSTANCE_KIND_GPU, 0 },
		{ "m_1_1", INSTANCE_KIND_GPU, 1 },
		{ "m_2_0", INSTANCE_KIND_CPU, -1 },
		{ "m_3_0", INSTANCE_KIND_GPU, 0 },
		{ "m_3_1", INSTANCE_KIND_GPU, 0 },
		{ "m_4_0", INSTANCE_KIND_GPU, 3 },
	};
	struct fixture f;

	(void)state;
	rec_reset(-1);
	fixture_start_ops(&f, "name: \"m\"\nmax_batch_size: 4\n"
			      "input [{ name: \"IN\" data_type: TYPE_INT32 dims: [ -1 ] }]\n"
			      "output [{ name: \"OUT\" data_type: TYPE_INT32 dims: [ -1 ] }]\n"
			      "instance_group [\n"
			      "  { name: \"g\" count: 2 kind: KIND_CPU },\n"
			      "  { count: 1 kind: KIND_GPU gpus: [ 0, 1 ] },\n"
			      "  { count: 1 kind: KIND_AUTO },\n"
			      "  { count: 2 kind: KIND_GPU },\n"
			      "  { kind: KIND_AUTO gpus: [ 3 ] }\n"
			      "]\n", &rec_ops);
	assert_int_equal(rec.n_created, 8);
	for (size_t i = 0; i < 8; i++) {
		assert_string_equal(rec.infos[i].name, want[i].name);
		assert_int_equal(rec.infos[i].index, (int)i);
		assert_int_equal(rec.infos[i].kind, want[i].kind);
		assert_int_equal(rec.infos[i].device_id, want[i].device);
		/* Each instance is created on its own worker thread. */
		assert_false(pthread_equal(rec.created_on[i], pthread_self()));
		for (size_t k = 0; k < i; k++)
			assert_false(pthread_equal(rec.created_on[i],
						   rec.created_on[k]));
	}
	fixture_stop(&f);
	assert_int_equal(rec.n_freed, 8);
	for (size_t i = 0; i < 8; i++)
		assert_true(rec.freed_on_creator[i]);

	/* No instance_group: one CPU instance. */
	rec_reset(-1);
	fixture_start_ops(&f, "name: \"solo\"\n"
			      "input [{ name: \"IN\" data_type: TYPE_INT32 dims: [ 1 ] }]\n"
			      "output [{ name: \"OUT\" data_type: TYPE_INT32 dims: [ 1 ] }]\n",
			  &rec_ops);
	assert_int_equal(rec.n_created, 1);
	assert_string_equal(rec.infos[0].name, "solo_0_0");
	assert_int_equal(rec.infos[0].kind, INSTANCE_KIND_CPU);
	fixture_stop(&f);
}

/* One instance failing fails scheduler_new; the others are freed. */
static void test_instance_failure(void **state)
{
	struct model_config *cfg = parse(
		"name: \"m\"\n"
		"input [{ name: \"IN\" data_type: TYPE_INT32 dims: [ 1 ] }]\n"
		"output [{ name: \"OUT\" data_type: TYPE_INT32 dims: [ 1 ] }]\n"
		"instance_group [{ count: 4 kind: KIND_CPU }]\n");
	struct model_stats *stats = stats_new();
	struct it_error err = { 0 };
	const struct backend_ops *ops;
	void *model = NULL;

	(void)state;
	rec_reset(2);
	assert_null(scheduler_new(cfg, &rec_ops, NULL, stats, &err));
	assert_int_equal(err.code, IT_ERR_IO);
	assert_non_null(strstr(err.message, "instance 'm_0_2'"));
	assert_non_null(strstr(err.message, "no memory on device"));
	assert_int_equal(rec.n_created, 3);
	assert_int_equal(rec.n_freed, 3);
	model_config_free(cfg);

	/* identity refuses KIND_GPU: the model does not load. */
	cfg = parse("name: \"ig\"\nbackend: \"identity\"\n"
		    "input [{ name: \"IN\" data_type: TYPE_INT32 dims: [ 1 ] }]\n"
		    "output [{ name: \"OUT\" data_type: TYPE_INT32 dims: [ 1 ] }]\n"
		    "instance_group [{ count: 1 kind: KIND_CPU }, { count: 1 kind: KIND_GPU }]\n");
	ops = backend_find(cfg, &err);
	assert_non_null(ops);
	assert_int_equal(ops->model_load(cfg, "/x/1", &model, &err), 0);
	memset(&err, 0, sizeof(err));
	assert_null(scheduler_new(cfg, ops, model, stats, &err));
	assert_int_equal(err.code, IT_ERR_UNSUPPORTED);
	assert_non_null(strstr(err.message, "instance 'ig_1_0'"));
	assert_non_null(strstr(err.message, "runs on the CPU only"));
	ops->model_unload(model);
	model_config_free(cfg);
	stats_free(stats);
}

static void test_enqueue_checks(void **state)
{
	char *text = config_text(IDENTITY_HEAD);
	struct infer_request *req;
	struct it_error err = { 0 };
	struct fixture f;

	(void)state;
	fixture_start(&f, text);
	req = make_request(f.cfg, 9, 2, 0, &f.col);
	assert_int_equal(scheduler_enqueue(f.sched, req, &err), IT_ERR_INVALID);
	assert_non_null(strstr(err.message, "batch size 9"));
	infer_request_free(req);
	req = make_request(f.cfg, 2, 2, 0, &f.col);
	req->inputs[0].shape[0] = 3; /* disagrees with batch_size */
	assert_int_equal(scheduler_enqueue(f.sched, req, &err), IT_ERR_INVALID);
	infer_request_free(req);
	fixture_stop(&f);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_outputs_without_batching),
		cmocka_unit_test(test_model_without_batch_dimension),
		cmocka_unit_test(test_dynamic_batching_forms_batches),
		cmocka_unit_test(test_preferred_batch_size),
		cmocka_unit_test(test_queue_delay),
		cmocka_unit_test(test_unbatchable_shapes),
		cmocka_unit_test(test_bytes_batch_split),
		cmocka_unit_test(test_preserve_ordering),
		cmocka_unit_test(test_instances_scale_throughput),
		cmocka_unit_test(test_max_queue_size),
		cmocka_unit_test(test_free_drains),
		cmocka_unit_test(test_backend_error_fails_batch),
		cmocka_unit_test(test_instance_placement),
		cmocka_unit_test(test_instance_failure),
		cmocka_unit_test(test_enqueue_checks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
