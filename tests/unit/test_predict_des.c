/*
 * Unit tests for predict/des against the sim backend's exact behaviour
 * (docs/sim-backend.md: batch b holds one of S device slots for
 * T(b) = base + per_item * b): closed forms for closed and open loops,
 * batches as the shared batch policy forms them, the queue delay, a shared
 * device, saturation, determinism, the input checks, and one cross-check
 * against the real scheduler running the sim backend.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend/backend.h"
#include "model/config.h"
#include "predict/des.h"
#include "server/infer.h"
#include "server/scheduler.h"
#include "server/stats.h"
#include "util/error.h"
#include "util/xalloc.h"

#define US 1000.0
#define MS 1000000.0
#define MAX_B 64

/* ---- harness ---------------------------------------------------------------- */

/* A sim-backend model: exec_ns[b - 1] = base + per_item * b, for b up to MAX_B. */
struct sim_model {
	double exec_ns[MAX_B];
	struct des_model m;
};

static void sim_model_init(struct sim_model *s, double base_us,
			   double per_item_us, double slots, double overhead_us)
{
	for (size_t b = 1; b <= MAX_B; b++)
		s->exec_ns[b - 1] = (base_us + per_item_us * (double)b) * US;
	s->m = (struct des_model){
		.exec_ns = s->exec_ns,
		.n_exec = MAX_B,
		.device = { .kind = DES_SLOTS, .parallelism = slots },
		.overhead_ns = overhead_us * US,
	};
}

static struct des_load concurrency(double clients)
{
	return (struct des_load){ .kind = DES_CONCURRENCY, .value = clients };
}

static struct des_load rate(double per_s, bool poisson)
{
	return (struct des_load){ .kind = DES_REQUEST_RATE, .value = per_s,
				  .poisson = poisson };
}

static struct des_result run_ok(const struct des_model *m,
				const struct des_config *c,
				const struct des_load *l)
{
	struct it_error err = { 0 };
	struct des_result r;

	if (des_run(m, c, l, NULL, &r, &err))
		fail_msg("des_run: %s", err.message);
	return r;
}

/* |actual - expected| <= rel * |expected|, with both printed when not. */
static void near(const char *what, double actual, double expected, double rel)
{
	if (!(fabs(actual - expected) <= rel * fabs(expected)))
		fail_msg("%s: %.6g, expected %.6g (within %.2g%%)", what, actual,
			 expected, rel * 100);
}

/* ---- closed loop, no batching ---------------------------------------------- */

/*
 * k = min(I, S) executions run at once. A client's cycle is o + queue +
 * compute; with deterministic times the closed loop settles at
 * X = min(C / (o + T), k / T), and by Little's law the cycle is C / X.
 */
static void check_no_batching(int instances, double slots, double clients,
			      double base_us, double overhead_us)
{
	struct sim_model s;
	struct des_config c = { .instances = instances, .max_batch_size = 8 };
	struct des_load l = concurrency(clients);
	double t = base_us * US / 1e9, o = overhead_us * US / 1e9;
	double k = instances < slots ? instances : slots;
	double x = fmin(clients / (o + t), k / t);
	struct des_result r;

	sim_model_init(&s, base_us, 0, slots, overhead_us);
	r = run_ok(&s.m, &c, &l);
	print_message("I=%d S=%g C=%g o=%gus T=%gus: %.1f/s (closed form %.1f), latency %.0f us, queue %.0f us\n",
		      instances, slots, clients, overhead_us, base_us,
		      r.throughput, x, r.latency_avg_us, r.queue_avg_us);
	near("throughput", r.throughput, x, 0.01);
	near("latency", r.latency_avg_us, clients / x * 1e6, 0.01);
	near("latency = o + queue + compute", r.latency_avg_us,
	     overhead_us + r.queue_avg_us + r.compute_avg_us, 1e-9);
	assert_true(r.avg_batch == 1);
	assert_false(r.saturated);
}

static void test_closed_loop_no_batching(void **state)
{
	(void)state;
	check_no_batching(1, 1, 1, 1000, 100);   /* 1 / 1.1 ms */
	check_no_batching(2, 2, 4, 15000, 0);    /* the scheduler test's case: 2 / T */
	check_no_batching(3, 2, 4, 15000, 0);    /* a third instance has no slot */
	check_no_batching(4, 4, 2, 1000, 1000);  /* clients are the limit */
	check_no_batching(2, 2, 8, 2000, 5000);  /* C / (o + T) = 1143 > k / T = 1000 */
	check_no_batching(8, 3, 5, 3000, 1000);  /* C / (o + T) = 1250 > k / T = 1000 */
}

/* One instance, one client: no queue, compute = T, latency = o + T exactly. */
static void test_closed_loop_exact_figures(void **state)
{
	struct sim_model s;
	struct des_config c = { .instances = 1 };
	struct des_load l = concurrency(1);
	struct des_result r;

	(void)state;
	sim_model_init(&s, 1000, 0, 1, 100);
	r = run_ok(&s.m, &c, &l);
	near("queue", r.queue_avg_us + 1, 1, 1e-9);
	near("compute", r.compute_avg_us, 1000, 1e-9);
	near("p50", r.p50_us, 1100, 1e-9);
	near("p99", r.p99_us, 1100, 1e-9);
	assert_true(r.completed >= DES_DEFAULT_REQUESTS);
	assert_int_equal(r.executions, r.completed);
}

/* ---- batching -------------------------------------------------------------- */

/*
 * One instance, max_batch_size 8 > C = 4, no preferred sizes, a 10 ms
 * delay: the clients come back together, the head waits the whole delay
 * (4 < 8), and the four go as one batch: cycle = D + T(4) + o.
 */
static void test_batches_of_all_clients(void **state)
{
	struct sim_model s;
	struct des_config c = { .instances = 1, .max_batch_size = 8,
				.dynamic_batching = true,
				.max_queue_delay_us = 10000 };
	struct des_load l = concurrency(4);
	struct des_result r;
	double cycle_us = 10000 + (1000 + 250 * 4) + 200;

	(void)state;
	sim_model_init(&s, 1000, 250, 1, 200);
	r = run_ok(&s.m, &c, &l);
	near("batch", r.avg_batch, 4, 1e-12);
	near("throughput", r.throughput, 4 / (cycle_us / 1e6), 1e-6);
	near("queue", r.queue_avg_us, 10000, 1e-6);
	near("compute", r.compute_avg_us, 2000, 1e-6);
	near("latency", r.latency_avg_us, cycle_us, 1e-6);

	/* max_batch_size 4 = C: the batch is full, it goes without waiting. */
	c.max_batch_size = 4;
	r = run_ok(&s.m, &c, &l);
	near("full batch", r.avg_batch, 4, 1e-12);
	near("full batch throughput", r.throughput, 4 / (2200 / 1e6), 1e-6);
	near("full batch queue", r.queue_avg_us + 1, 1, 1e-6);
}

/*
 * Delay 0, preferred [4], C = 8, no overhead: the first request goes alone
 * (nothing else queued yet), after which 8 are queued whenever the
 * instance is free; the policy takes the preferred 4, not all 8, so every
 * batch is 4 and X = 4 / T(4). Without preferred sizes the same load runs
 * batches of 8: X = 8 / T(8).
 */
static void test_preferred_sizes(void **state)
{
	static const int32_t preferred[] = { 4 };
	struct sim_model s;
	struct des_config c = { .instances = 1, .max_batch_size = 8,
				.dynamic_batching = true,
				.preferred = preferred, .n_preferred = 1 };
	struct des_load l = concurrency(8);
	struct des_result r;

	(void)state;
	sim_model_init(&s, 2000, 500, 1, 0);
	r = run_ok(&s.m, &c, &l);
	near("preferred batch", r.avg_batch, 4, 1e-12);
	near("preferred throughput", r.throughput, 4 / 4000e-6, 1e-6);

	c.n_preferred = 0;
	r = run_ok(&s.m, &c, &l);
	near("max batch", r.avg_batch, 8, 1e-12);
	near("max throughput", r.throughput, 8 / 6000e-6, 1e-6);
}

/*
 * Concurrency 1 with a delay D: no other request can come, so the lone
 * request waits all of D (preferred size 4 or max_batch_size never
 * reached) and then runs alone: latency = o + D + T(1). With preferred
 * size 1 it is preferred at once and does not wait.
 */
static void test_queue_delay(void **state)
{
	static const int32_t four[] = { 4 }, one[] = { 1 };
	struct sim_model s;
	struct des_config c = { .instances = 1, .max_batch_size = 8,
				.dynamic_batching = true,
				.max_queue_delay_us = 5000 };
	struct des_load l = concurrency(1);
	struct des_result r;

	(void)state;
	sim_model_init(&s, 1000, 100, 1, 300);
	r = run_ok(&s.m, &c, &l);
	near("queue", r.queue_avg_us, 5000, 1e-9);
	near("latency", r.latency_avg_us, 300 + 5000 + 1100, 1e-9);
	near("throughput", r.throughput, 1 / 6400e-6, 1e-9);

	c.preferred = four;
	c.n_preferred = 1;
	r = run_ok(&s.m, &c, &l);
	near("latency, preferred 4", r.latency_avg_us, 6400, 1e-9);

	c.preferred = one;
	r = run_ok(&s.m, &c, &l);
	near("latency, preferred 1", r.latency_avg_us, 1400, 1e-9);
}

/*
 * The front end's cost per response: a lone client waits for its
 * execution and then its response, T + S a round; 4 clients batched by 4
 * come back S apart, so the next batch forms of the first one alone and
 * the batches alternate (the server's behaviour that serial_ns models).
 */
static void test_serial_responses(void **state)
{
	static const double exec[] = { 10 * MS };
	struct des_model m = { .exec_ns = exec, .n_exec = 1,
			       .device = { DES_SLOTS, 1 }, .serial_ns = 2 * MS };
	struct des_config c = { .instances = 1 };
	struct des_load l = concurrency(1);
	struct des_result r;
	struct it_error err = { 0 };

	(void)state;
	r = run_ok(&m, &c, &l);
	near("one client: a round is T + S", r.throughput, 1 / 12e-3, 1e-9);
	near("one client: its latency", r.latency_avg_us, 12000, 1e-9);
	/* Batching: the responses of a batch of 4 leave 2 ms apart. */
	c.max_batch_size = 4;
	c.dynamic_batching = true;
	l = concurrency(4);
	r = run_ok(&m, &c, &l);
	assert_true(r.avg_batch < 4);
	m.serial_ns = 0;
	r = run_ok(&m, &c, &l);
	near("no front-end cost: batches of all 4", r.avg_batch, 4, 1e-12);
	m.serial_ns = -1;
	assert_int_equal(des_run(&m, &c, &l, NULL, &r, &err), IT_ERR_INVALID);
	assert_non_null(strstr(err.message, "serial_ns"));
}

/* Sizes past the table extend the last two linearly; request_batch adds up. */
static void test_extrapolation_and_request_batch(void **state)
{
	static const double exec[] = { 1 * MS, 1.5 * MS };
	struct des_model m = { .exec_ns = exec, .n_exec = 2,
			       .device = { DES_SLOTS, 1 } };
	struct des_config c = { .instances = 1, .max_batch_size = 8,
				.dynamic_batching = true };
	struct des_load l = concurrency(4);
	struct des_result r;

	(void)state;
	/* After the first lone request, batches of 4: T(4) = 1 + 3 * 0.5 ms. */
	c.max_batch_size = 4;
	r = run_ok(&m, &c, &l);
	near("batch", r.avg_batch, 4, 1e-12);
	near("extrapolated", r.throughput, 4 / 2.5e-3, 1e-6);

	/* Requests of batch 2 without dynamic batching: each runs alone, T(2). */
	c.dynamic_batching = false;
	c.max_batch_size = 8;
	l = concurrency(2);
	l.request_batch = 2;
	r = run_ok(&m, &c, &l);
	near("request batch", r.avg_batch, 2, 1e-12);
	near("infer/s", r.throughput, 2 / 1.5e-3, 1e-6);
}

/* ---- shared device --------------------------------------------------------- */

/*
 * Two instances on a processor-shared device, two clients: both
 * executions run together at rate min(1, P / 2).
 */
static void test_shared_device(void **state)
{
	struct sim_model s;
	struct des_config c = { .instances = 2 };
	struct des_load l = concurrency(2);
	struct des_result r;

	(void)state;
	sim_model_init(&s, 1000, 0, 1, 0);
	s.m.device.kind = DES_SHARED;
	r = run_ok(&s.m, &c, &l);
	near("P=1 compute", r.compute_avg_us, 2000, 1e-9);
	near("P=1 throughput", r.throughput, 1000, 1e-9);

	s.m.device.parallelism = 1.5;
	r = run_ok(&s.m, &c, &l);
	near("P=1.5 compute", r.compute_avg_us, 1000 / 0.75, 1e-9);

	s.m.device.parallelism = 2;
	r = run_ok(&s.m, &c, &l);
	near("P=2 compute", r.compute_avg_us, 1000, 1e-9);

	/* Three clients, two instances: one always queued, k stays 2. */
	s.m.device.parallelism = 1;
	l = concurrency(3);
	r = run_ok(&s.m, &c, &l);
	near("C=3 throughput", r.throughput, 1000, 1e-6);
	near("C=3 latency", r.latency_avg_us, 3000, 1e-6);
}

/* ---- open loop ------------------------------------------------------------- */

static void test_request_rate(void **state)
{
	struct sim_model s;
	struct des_config c = { .instances = 1 };
	struct des_load l = rate(500, false);
	struct des_result r;
	/* M/D/1 at rho = 0.5, T = 1 ms: mean wait rho T / (2 (1 - rho)) = 0.5 ms. */
	double md1_us = 100 + 1000 + 500;

	(void)state;
	sim_model_init(&s, 1000, 0, 1, 100);
	/* Constant gaps of 2 ms > T: nobody waits. */
	r = run_ok(&s.m, &c, &l);
	near("constant throughput", r.throughput, 500, 1e-6);
	near("constant latency", r.p99_us, 1100, 1e-6);
	assert_false(r.saturated);

	l.poisson = true;
	r = run_ok(&s.m, &c, &l);
	print_message("poisson 500/s on T = 1 ms: %.1f/s, latency %.0f us (M/D/1 %.0f), p99 %.0f us\n",
		      r.throughput, r.latency_avg_us, md1_us, r.p99_us);
	near("poisson throughput", r.throughput, 500, 0.03);
	near("poisson latency (M/D/1)", r.latency_avg_us, md1_us, 0.05);
	assert_true(r.p99_us > r.p50_us);
	assert_false(r.saturated);

	/* 1500/s offered, 1000/s capacity: the queue grows, throughput is capacity. */
	l = rate(1500, false);
	r = run_ok(&s.m, &c, &l);
	near("saturated throughput", r.throughput, 1000, 0.01);
	assert_true(r.saturated);
	l.poisson = true;
	r = run_ok(&s.m, &c, &l);
	near("saturated poisson throughput", r.throughput, 1000, 0.01);
	assert_true(r.saturated);

	/* Dynamic batching lifts capacity past the offered rate: not saturated. */
	c = (struct des_config){ .instances = 1, .max_batch_size = 8,
				 .dynamic_batching = true };
	r = run_ok(&s.m, &c, &l);
	near("batched throughput", r.throughput, 1500, 0.03);
	assert_true(r.avg_batch > 1);
	assert_false(r.saturated);
}

/* ---- determinism, speed, checks -------------------------------------------- */

static void test_deterministic(void **state)
{
	struct sim_model s;
	struct des_config c = { .instances = 2, .max_batch_size = 8,
				.dynamic_batching = true,
				.max_queue_delay_us = 300 };
	struct des_load l = rate(1200, true);
	struct des_options o;
	struct des_result a, b;
	struct it_error err = { 0 };

	(void)state;
	sim_model_init(&s, 1000, 200, 1, 50);
	des_options_init(&o);
	o.seed = 7;
	assert_int_equal(des_run(&s.m, &c, &l, &o, &a, &err), 0);
	assert_int_equal(des_run(&s.m, &c, &l, &o, &b, &err), 0);
	assert_memory_equal(&a, &b, sizeof(a));
	o.seed = 8;
	assert_int_equal(des_run(&s.m, &c, &l, &o, &b, &err), 0);
	assert_true(a.p99_us != b.p99_us || a.latency_avg_us != b.latency_avg_us);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* 20,000 requests with batching and a shared device: milliseconds, not more. */
static void test_speed(void **state)
{
	struct sim_model s;
	struct des_config c = { .instances = 4, .max_batch_size = 32,
				.dynamic_batching = true,
				.max_queue_delay_us = 100 };
	struct des_load l = concurrency(64);
	struct des_options o;
	struct des_result r;
	double t, best = 1e9;

	(void)state;
	sim_model_init(&s, 500, 50, 2, 100);
	s.m.device.kind = DES_SHARED;
	des_options_init(&o);
	o.warmup = 0;
	for (int k = 0; k < 5; k++) {
		t = now_s();
		assert_int_equal(des_run(&s.m, &c, &l, &o, &r, NULL), 0);
		t = now_s() - t;
		best = t < best ? t : best;
	}
	print_message("des_run, %zu requests: %.2f ms (best of 5)\n",
		      o.requests, best * 1e3);
	assert_true(r.completed >= o.requests);
	/* Generous for sanitizers and a busy machine; a few ms is normal. */
	assert_true(best < 0.25);
}

static void expect_invalid(const struct des_model *m, const struct des_config *c,
			   const struct des_load *l, const struct des_options *o,
			   int code, const char *field)
{
	struct it_error err = { 0 };
	struct des_result r;

	memset(&r, 0x5a, sizeof(r));
	assert_int_equal(des_run(m, c, l, o, &r, &err), code);
	if (!strstr(err.message, field))
		fail_msg("error '%s' does not name '%s'", err.message, field);
	/* Nothing is written on failure. */
	assert_int_equal(((unsigned char *)&r)[0], 0x5a);
}

static void test_input_checks(void **state)
{
	static const int32_t bad_pref[] = { 9 };
	static const double zero[] = { 0 };
	struct sim_model s, bad;
	struct des_config c = { .instances = 1, .max_batch_size = 8 }, bc;
	struct des_load l = concurrency(2), bl;
	struct des_options o;
	struct des_result r;

	(void)state;
	sim_model_init(&s, 1000, 0, 1, 0);
	des_options_init(&o);

	bc = c;
	bc.instances = 0;
	expect_invalid(&s.m, &bc, &l, NULL, IT_ERR_INVALID, "config.instances");
	bc.instances = DES_MAX_INSTANCES + 1;
	expect_invalid(&s.m, &bc, &l, NULL, IT_ERR_INVALID, "config.instances");
	bc = c;
	bc.dynamic_batching = true;
	bc.preferred = bad_pref;
	bc.n_preferred = 1;
	expect_invalid(&s.m, &bc, &l, NULL, IT_ERR_INVALID, "config.preferred[0]");
	bc = c;
	bc.max_batch_size = 0;
	bc.dynamic_batching = true;
	expect_invalid(&s.m, &bc, &l, NULL, IT_ERR_INVALID, "config.dynamic_batching");
	bc = c;
	bc.max_queue_delay_us = DES_MAX_QUEUE_DELAY_US + 1;
	expect_invalid(&s.m, &bc, &l, NULL, IT_ERR_INVALID, "config.max_queue_delay_us");

	bad = s;
	bad.m.device.parallelism = 0;
	expect_invalid(&bad.m, &c, &l, NULL, IT_ERR_INVALID, "model.device.parallelism");
	bad.m.device.parallelism = 1.5;
	expect_invalid(&bad.m, &c, &l, NULL, IT_ERR_INVALID, "model.device.parallelism");
	bad.m.device.kind = DES_SHARED;
	bad.m.device.parallelism = NAN;
	expect_invalid(&bad.m, &c, &l, NULL, IT_ERR_INVALID, "model.device.parallelism");
	bad = s;
	bad.m.exec_ns = bad.exec_ns;
	bad.exec_ns[3] = -1;
	expect_invalid(&bad.m, &c, &l, NULL, IT_ERR_INVALID, "model.exec_ns[3]");
	bad.exec_ns[3] = INFINITY;
	expect_invalid(&bad.m, &c, &l, NULL, IT_ERR_INVALID, "model.exec_ns[3]");
	bad.m.n_exec = 0;
	expect_invalid(&bad.m, &c, &l, NULL, IT_ERR_INVALID, "model.exec_ns");
	bad = s;
	bad.m.overhead_ns = NAN;
	expect_invalid(&bad.m, &c, &l, NULL, IT_ERR_INVALID, "model.overhead_ns");

	bl = l;
	bl.value = 0;
	expect_invalid(&s.m, &c, &bl, NULL, IT_ERR_INVALID, "load.value");
	bl.value = 2.5;
	expect_invalid(&s.m, &c, &bl, NULL, IT_ERR_INVALID, "load.value");
	bl = rate(0, false);
	expect_invalid(&s.m, &c, &bl, NULL, IT_ERR_INVALID, "load.value");
	bl = rate(NAN, true);
	expect_invalid(&s.m, &c, &bl, NULL, IT_ERR_INVALID, "load.value");
	bl = l;
	bl.request_batch = 9;
	expect_invalid(&s.m, &c, &bl, NULL, IT_ERR_INVALID, "load.request_batch");
	bc = c;
	bc.max_batch_size = 0;
	bl.request_batch = 2;
	expect_invalid(&s.m, &bc, &bl, NULL, IT_ERR_INVALID, "load.request_batch");

	o.requests = 0;
	expect_invalid(&s.m, &c, &l, &o, IT_ERR_INVALID, "options.requests");
	o.requests = DES_MAX_REQUESTS + 1;
	expect_invalid(&s.m, &c, &l, &o, IT_ERR_INVALID, "options.requests");

	/*
	 * 8000 clients arrive together and wait out a long delay for a batch of
	 * 65536: every arrival reads the whole queue again, past the bound.
	 */
	bc = c;
	bc.max_batch_size = 65536;
	bc.dynamic_batching = true;
	bc.max_queue_delay_us = 1000000;
	bl = concurrency(8000);
	o.requests = 100;
	o.warmup = 0;
	expect_invalid(&s.m, &bc, &bl, &o, IT_ERR_LIMIT, "batcher read more than");
	/* 2000 such clients are fine: 2000 * 2000 / 2 reads. */
	bl = concurrency(2000);
	assert_int_equal(des_run(&s.m, &bc, &bl, &o, &r, NULL), 0);
	near("one batch of all", r.avg_batch, 2000, 1e-12);

	/* Nothing takes time: the clock cannot advance. */
	bad = s;
	bad.m.exec_ns = zero;
	bad.m.n_exec = 1;
	expect_invalid(&bad.m, &c, &l, NULL, IT_ERR_STATE, "clock");
}

/* ---- against the real scheduler -------------------------------------------- */

/* A closed loop of in-process clients on the real scheduler. */
struct loop {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct scheduler *sched;
	const struct model_config *cfg;
	size_t done, left;
	size_t warm, total;     /* the window: from the warm-th completion to the total-th */
	double warm_s, end_s;
	int failures;
};

static struct infer_request *loop_request(struct loop *lp);

static void loop_done(struct infer_request *req, void *arg)
{
	struct loop *lp = arg;
	bool again;

	infer_request_free(req);
	pthread_mutex_lock(&lp->mu);
	lp->done++;
	if (lp->done == lp->warm)
		lp->warm_s = now_s();
	if (lp->done == lp->total)
		lp->end_s = now_s();
	again = lp->left > 0;
	lp->left -= again;
	pthread_cond_broadcast(&lp->cv);
	pthread_mutex_unlock(&lp->mu);
	if (again) {
		struct infer_request *next = loop_request(lp);

		if (scheduler_enqueue(lp->sched, next, NULL)) {
			infer_request_free(next);
			pthread_mutex_lock(&lp->mu);
			lp->failures++;
			pthread_mutex_unlock(&lp->mu);
		}
	}
}

/* One request of batch 1 with a single INT32 [1, 4] input. */
static struct infer_request *loop_request(struct loop *lp)
{
	struct infer_request *req = infer_request_new(lp->cfg);
	struct tensor *t = &req->inputs[0];
	int32_t *data = xcalloc(4, sizeof(*data));

	infer_request_own(req, data);
	t->datatype = DATATYPE_INT32;
	t->n_dims = 2;
	t->shape[0] = 1;
	t->shape[1] = 4;
	t->data = data;
	t->byte_size = 4 * sizeof(*data);
	req->batch_size = 1;
	for (size_t j = 0; j < lp->cfg->n_outputs; j++)
		req->output_requested[j] = true;
	req->on_complete = loop_done;
	req->on_complete_arg = lp;
	return req;
}

/*
 * Two instances of a batching sim model on one slot, 8 clients, preferred
 * size 4 within a long delay: an instance takes 4 as soon as 4 are queued
 * and waits for the slot while the other runs, so both the real scheduler
 * and the DES settle in the one steady state of batches of 4 and must agree
 * on throughput. (With delay 0 the system has two: batches of 4 and 4, or
 * of 1 and 7, and a late thread wake-up in the real server picks the
 * second, 1.39x the first's throughput, in one CI run.)
 * Executions of ~30 ms keep the real server's late wake-ups (up to a
 * millisecond per batch for a niced test on a busy 2-core machine) small.
 */
static void test_against_scheduler(void **state)
{
	static const char text[] =
		"name: \"sim\"\nbackend: \"sim\"\nmax_batch_size: 8\n"
		"input [{ name: \"IN\" data_type: TYPE_INT32 dims: [ 4 ] }]\n"
		"output [{ name: \"OUT\" data_type: TYPE_FP32 dims: [ 4 ] }]\n"
		"instance_group [{ count: 2 kind: KIND_CPU }]\n"
		"dynamic_batching { preferred_batch_size: [ 4 ] max_queue_delay_microseconds: 100000 }\n"
		"parameters { key: \"sim_base_us\" value { string_value: \"20000\" } }\n"
		"parameters { key: \"sim_per_item_us\" value { string_value: \"2500\" } }\n"
		"parameters { key: \"sim_device_slots\" value { string_value: \"1\" } }\n";
	const size_t clients = 8, warm = 24, total = 184;
	struct it_error err = { 0 };
	struct model_config *cfg = model_config_parse(text, strlen(text), "t.pbtxt", &err);
	const struct backend_ops *ops;
	struct model_stats *stats = stats_new();
	/* Every completion up to the total-th sends again: 8 in flight throughout. */
	struct loop lp = { .left = total, .warm = warm, .total = total };
	struct sim_model s;
	static const int32_t preferred[] = { 4 };
	struct des_config c = { .instances = 2, .max_batch_size = 8,
				.dynamic_batching = true, .preferred = preferred,
				.n_preferred = 1, .max_queue_delay_us = 100000 };
	struct des_load l = concurrency((double)clients);
	struct des_options o = { .requests = total - warm, .warmup = warm };
	struct des_result r;
	struct model_stats_snapshot snap;
	void *model = NULL;
	double real;

	(void)state;
	assert_non_null(cfg);
	ops = backend_find(cfg, &err);
	assert_non_null(ops);
	assert_int_equal(ops->model_load(cfg, "/nonexistent/1", &model, &err), 0);
	pthread_mutex_init(&lp.mu, NULL);
	pthread_cond_init(&lp.cv, NULL);
	lp.cfg = cfg;
	lp.sched = scheduler_new(cfg, ops, model, stats, &err);
	if (!lp.sched)
		fail_msg("scheduler_new: %s", err.message);

	for (size_t k = 0; k < clients; k++)
		assert_int_equal(scheduler_enqueue(lp.sched, loop_request(&lp), NULL), 0);
	/* All total + clients: the last resend has been queued and answered. */
	pthread_mutex_lock(&lp.mu);
	while (lp.done < total + clients)
		pthread_cond_wait(&lp.cv, &lp.mu);
	pthread_mutex_unlock(&lp.mu);
	real = (double)(total - warm) / (lp.end_s - lp.warm_s);
	scheduler_free(lp.sched);
	assert_int_equal(lp.failures, 0);
	stats_snapshot(stats, &snap);
	free(snap.batches);

	/* The same window in the DES: from the warm-th completion to the total-th. */
	sim_model_init(&s, 20000, 2500, 1, 0);
	assert_int_equal(des_run(&s.m, &c, &l, &o, &r, &err), 0);
	print_message("real scheduler %.1f/s (mean batch %.2f over the whole run); DES %.1f/s (x%.3f), mean batch %.2f\n",
		      real, (double)snap.inference_count / (double)snap.execution_count,
		      r.throughput, real / r.throughput, r.avg_batch);
	/* The real one can only lose time (late wake-ups, copies). */
	assert_true(real <= r.throughput * 1.03);
	assert_true(real >= r.throughput * 0.90);

	ops->model_unload(model);
	stats_free(stats);
	model_config_free(cfg);
	pthread_cond_destroy(&lp.cv);
	pthread_mutex_destroy(&lp.mu);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_closed_loop_no_batching),
		cmocka_unit_test(test_closed_loop_exact_figures),
		cmocka_unit_test(test_batches_of_all_clients),
		cmocka_unit_test(test_preferred_sizes),
		cmocka_unit_test(test_queue_delay),
		cmocka_unit_test(test_serial_responses),
		cmocka_unit_test(test_extrapolation_and_request_batch),
		cmocka_unit_test(test_shared_device),
		cmocka_unit_test(test_request_rate),
		cmocka_unit_test(test_deterministic),
		cmocka_unit_test(test_speed),
		cmocka_unit_test(test_input_checks),
		cmocka_unit_test(test_against_scheduler),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
