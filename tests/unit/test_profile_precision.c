/*
 * Tests of the profiler's intervals, precision mode, racing hook and
 * interleaved accumulation (loadgen/profiler.c) against an embedded
 * `infertune serve` on sim models of known service time: at concurrency 1
 * a model of sim_base_us B answers 1e6/B requests a second. As in
 * tests/integration/profile/test_closed_loop.py, B is the time the server
 * really delivered (its statistics: on a loaded machine the simulator's
 * sleeps overshoot, the server's inaccuracy, not the load generator's),
 * checked within 10% of the nominal; OVERHEAD allows for the loopback's
 * round trip, which the analytic value leaves out.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "loadgen/profiler.h"
#include "server/server.h"
#include "util/error.h"

/*
 * The round trip's share of a request on a shared two-core machine, under
 * AddressSanitizer too (client and server both instrumented: 7% measured).
 */
#define OVERHEAD 0.10

static struct server *server;
static char repo[64] = "/tmp/test_profile_precision.XXXXXX";
static char url[64];

static void write_model(const char *name, int base_us)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", repo, name);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/%s/1", repo, name);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/%s/config.pbtxt", repo, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "name: \"%s\"\nbackend: \"sim\"\nmax_batch_size: 8\n"
		"input [ { name: \"INPUT0\" data_type: TYPE_FP32 dims: [ 4 ] } ]\n"
		"output [ { name: \"OUTPUT0\" data_type: TYPE_FP32 dims: [ 4 ] } ]\n"
		"instance_group [ { kind: KIND_CPU, count: 1 } ]\n"
		"parameters { key: \"sim_base_us\" value: { string_value: \"%d\" } }\n",
		name, base_us);
	fclose(f);
}

static int setup(void **state)
{
	const char *repos[1] = { repo };
	struct server_options so;
	int port = 0, mport = 0;

	(void)state;
	if (!mkdtemp(repo))
		return -1;
	write_model("sim20", 20000);
	write_model("sim10", 10000);
	memset(&so, 0, sizeof(so));
	so.repositories = repos;
	so.n_repositories = 1;
	so.control_mode = MODEL_CONTROL_NONE;
	if (server_new(&so, &server, NULL) || server_load_models(server) ||
	    server_start(server, NULL))
		return -1;
	server_ports(server, &port, &mport);
	snprintf(url, sizeof(url), "127.0.0.1:%d", port);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	server_free(server);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", repo);
	return system(cmd) ? -1 : 0;
}

static void options(struct profile_options *o, const char *model, uint64_t window_ms)
{
	profile_options_init(o);
	o->model_name = model;
	o->url = url;
	o->measurement_interval_ms = window_ms;
}

/* The interval, widened by the overhead the analytic value ignores, holds v. */
static void assert_holds(const struct stats_interval *iv, double v)
{
	assert_true(stats_interval_known(iv));
	if (!(iv->lo <= v * (1 + OVERHEAD) && iv->hi >= v * (1 - OVERHEAD)))
		fail_msg("interval [%g, %g] misses %g", iv->lo, iv->hi, v);
}

/*
 * The analytic throughput at concurrency 1 from the service time the
 * server delivered (within 15% of nominal_us: a sanitized server's sleeps
 * overshoot by 10%).
 */
static double analytic_rate(const struct profile_level *L, double nominal_us)
{
	double t_ns;

	assert_true(L->has_server && L->server.success_count > 0);
	t_ns = (double)L->server.success_ns / (double)L->server.success_count;
	if (fabs(t_ns / 1000 - nominal_us) > 0.15 * nominal_us)
		fail_msg("the server delivered %g usec, not %g", t_ns / 1000, nominal_us);
	return 1e9 / t_ns;
}

/*
 * The executions per batch size agree with the level's other server
 * deltas (both from the same snapshots): at concurrency 1 and -b 1 every
 * execution is one request of batch 1, about one per request merged
 * (the snapshots straddle a request at each window's boundary).
 */
static void assert_batches(const struct profile_level *L)
{
	const struct remote_batch_stats *b = &L->server_batches;

	assert_true(L->has_server);
	assert_int_equal(b->n, 1);
	assert_int_equal(b->items[0].batch_size, 1);
	/* execution_count and batch_stats move together in the server. */
	assert_int_equal(b->items[0].execution_count, L->server.execution_count);
	assert_true(b->items[0].execution_count + L->merged_count + 1 >= L->request_count &&
		    b->items[0].execution_count <= L->request_count + L->merged_count + 1);
	assert_true(b->items[0].compute_infer_ns > 0);
}

static struct profile_results *run(struct profile_options *o)
{
	struct profiler *p = NULL;
	struct profile_results *r = NULL;
	struct it_error err = { 0 };

	if (profiler_new(o, &p, &err))
		fail_msg("profiler_new: %s", err.message);
	if (profiler_run(p, &r, &err))
		fail_msg("profiler_run: %s", err.message);
	profiler_free(p);
	assert_int_equal(r->n_levels, 1);
	return r;
}

/* perf_analyzer's rule: the merged windows get intervals that hold 50/s and 20 ms. */
static void test_intervals_stability_rule(void **state)
{
	struct profile_options o;
	struct profile_results *r;
	const struct profile_level *L;

	(void)state;
	options(&o, "sim20", 400);
	r = run(&o);
	L = &r->levels[0];
	assert_int_equal(L->status, PROFILE_OK);
	assert_holds(&L->infer_per_sec_ci, analytic_rate(L, 20000) * (1 - OVERHEAD / 2));
	assert_holds(&L->avg_latency_ci_ns, 1e9 / analytic_rate(L, 20000) * (1 + OVERHEAD / 2));
	assert_holds(&L->latency_ci_ns[0], 1e9 / analytic_rate(L, 20000) * (1 + OVERHEAD / 2));
	assert_true(L->latency_ci_ns[0].lo <= (double)L->latency.p_ns[0] &&
		    (double)L->latency.p_ns[0] <= L->latency_ci_ns[0].hi);
	/* p99 of ~60 requests: the upper order statistic does not exist. */
	assert_true(isnan(L->latency_ci_ns[3].hi));
	assert_true(isnan(L->extra_latency_ci_ns.lo) && isnan(L->extra_latency_ci_ns.hi));
	assert_batches(L);
	profile_results_free(r);
}

/* A steady model meets ±10% before the cap; the first window is the warm-up. */
static void test_precision_met_early(void **state)
{
	struct profile_options o;
	struct profile_results *r;
	const struct profile_level *L;

	(void)state;
	options(&o, "sim20", 500);
	o.precision_pct = 10;
	o.percentile = 95;
	r = run(&o);
	L = &r->levels[0];
	assert_int_equal(L->status, PROFILE_OK);
	assert_true(L->precision_met);
	assert_false(L->stopped_early);
	assert_true(L->windows[0].warmup);
	assert_int_equal(L->merged_first, 1);
	assert_true(L->merged_count >= 3 && L->merged_count < 10);
	assert_holds(&L->infer_per_sec_ci, analytic_rate(L, 20000) * (1 - OVERHEAD / 2));
	assert_true(stats_interval_known(&L->extra_latency_ci_ns));
	assert_string_equal(L->message, "");
	profile_results_free(r);
}

/* A target no window count reaches: kept at the cap, with its honest interval. */
static void test_precision_cap(void **state)
{
	struct profile_options o;
	struct profile_results *r;
	const struct profile_level *L;

	(void)state;
	options(&o, "sim10", 150);
	o.precision_pct = 0.001;
	o.max_trials = 4;
	o.warmup_request_count = 3;     /* a request warm-up: no warm-up window */
	r = run(&o);
	L = &r->levels[0];
	assert_int_equal(L->status, PROFILE_OK);
	assert_false(L->precision_met);
	assert_int_equal(L->n_windows, 4);
	assert_false(L->windows[0].warmup);
	assert_int_equal(L->merged_count, 4);
	assert_non_null(strstr(L->message, "precision ±0.001% not reached in 4 windows (±"));
	assert_holds(&L->infer_per_sec_ci, analytic_rate(L, 10000) * (1 - OVERHEAD / 2));
	profile_results_free(r);
}

struct race {
	size_t calls;
	size_t windows_seen;
};

static bool give_up(void *ctx, const struct profile_level *L)
{
	struct race *rc = ctx;

	rc->calls++;
	rc->windows_seen = L->merged_count;
	assert_true(stats_interval_known(&L->infer_per_sec_ci));
	return true;
}

/* The racing hook ends a level once the floor is reached. */
static void test_stop_level_early(void **state)
{
	struct profile_options o;
	struct profile_results *r;
	const struct profile_level *L;
	struct race race = { 0 };

	(void)state;
	options(&o, "sim10", 150);
	o.precision_pct = 0.001;
	o.min_windows = 2;
	o.stop_level_early = give_up;
	o.callback_ctx = &race;
	r = run(&o);
	L = &r->levels[0];
	assert_int_equal(race.calls, 1);
	assert_int_equal(race.windows_seen, 2);
	assert_int_equal(L->status, PROFILE_OK);
	assert_true(L->stopped_early);
	assert_int_equal(L->merged_count, 2);
	assert_int_equal(L->n_windows, 3);      /* the warm-up window and the floor */
	assert_non_null(strstr(L->message, "cannot win"));
	profile_results_free(r);
}

/* Two profilers alive at once, windows alternating: each result is its model's. */
static void test_interleaved_accumulation(void **state)
{
	struct profile_options o[2];
	struct profiler *p[2] = { NULL, NULL };
	struct profile_accum *acc[2];
	const char *names[2] = { "sim20", "sim10" };
	const double nominal_us[2] = { 20000, 10000 };
	struct it_error err = { 0 };

	(void)state;
	for (int k = 0; k < 2; k++) {
		options(&o[k], names[k], 400);
		o[k].warmup_request_count = 2;
		if (profiler_new(&o[k], &p[k], &err))
			fail_msg("profiler_new: %s", err.message);
		acc[k] = profile_accum_new();
	}
	for (int round = 0; round < 4; round++) {
		for (int k = 0; k < 2; k++) {
			if (profiler_measure_into(p[k], 1, 1, acc[k], &err))
				fail_msg("measure_into %s: %s", names[k], err.message);
		}
	}
	for (int k = 0; k < 2; k++) {
		struct profile_level L;
		double want;

		assert_int_equal(profile_accum_windows(acc[k]), 4);
		profile_accum_finish(acc[k], p[k], &L);
		assert_int_equal(L.status, PROFILE_OK);
		assert_int_equal(L.merged_count, 4);
		assert_int_equal(L.concurrency, 1);
		want = analytic_rate(&L, nominal_us[k]);
		if (fabs(L.infer_per_sec - want) > want * OVERHEAD)
			fail_msg("%s: %g infer/sec, expected %g", names[k], L.infer_per_sec,
				 want);
		assert_holds(&L.infer_per_sec_ci, want * (1 - OVERHEAD / 2));
		assert_true(L.has_server);
		/* Server deltas span the windows' boundaries: one request each, at most. */
		assert_true(L.server.success_count + 4 >= L.request_count &&
			    L.server.success_count <= L.request_count + 4);
		assert_batches(&L);
		profile_level_release(&L);
		profile_accum_free(acc[k]);
		profiler_free(p[k]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_intervals_stability_rule),
		cmocka_unit_test(test_precision_met_early),
		cmocka_unit_test(test_precision_cap),
		cmocka_unit_test(test_stop_level_early),
		cmocka_unit_test(test_interleaved_accumulation),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
