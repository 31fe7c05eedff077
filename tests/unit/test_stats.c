/*
 * Unit tests for server/stats: Triton's counters (protocol.md §3.2), batch
 * statistics for any batch size in ascending order, the exact JSON shape
 * perf_analyzer reads, and exact counts under concurrent writers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server/stats.h"

static void test_counters(void **state)
{
	struct model_stats *st = stats_new();
	struct model_stats_snapshot s;
	uint64_t before_ms = (uint64_t)time(NULL) * 1000;

	(void)state;
	stats_snapshot(st, &s);
	assert_int_equal(s.last_inference_ms, 0);
	assert_int_equal(s.inference_count, 0);
	assert_int_equal(s.n_batches, 0);
	free(s.batches);

	for (int i = 0; i < 3; i++)
		stats_request_start(st);
	/* Two requests of batch 4 and 2 executed together, one failure. */
	stats_request_end(st, true, 4, 1000, 100, 10, 500, 20);
	stats_request_end(st, true, 2, 2000, 200, 10, 500, 20);
	stats_execution(st, 6, 10, 500, 20);
	stats_request_end(st, false, 1, 300, 0, 0, 0, 0);

	stats_snapshot(st, &s);
	assert_int_equal(s.pending_count, 0);
	assert_int_equal(s.inference_count, 6);
	assert_int_equal(s.execution_count, 1);
	assert_int_equal(s.success.count, 2);
	assert_int_equal(s.success.ns, 3000);
	assert_int_equal(s.fail.count, 1);
	assert_int_equal(s.fail.ns, 300);
	assert_int_equal(s.queue.count, 2);
	assert_int_equal(s.queue.ns, 300);
	assert_int_equal(s.compute_input.count, 2);
	assert_int_equal(s.compute_input.ns, 20);
	assert_int_equal(s.compute_infer.ns, 1000);
	assert_int_equal(s.compute_output.ns, 40);
	assert_int_equal(s.cache_hit.count, 0);
	assert_int_equal(s.cache_miss.count, 0);
	assert_true(s.last_inference_ms >= before_ms);
	assert_true(s.last_inference_ms < before_ms + 60000);
	assert_int_equal(s.n_batches, 1);
	assert_int_equal(s.batches[0].batch_size, 6);
	assert_int_equal(s.batches[0].compute_infer.count, 1);
	assert_int_equal(s.batches[0].compute_infer.ns, 500);
	free(s.batches);

	/* The pending gauge never wraps below zero. */
	stats_request_end(st, false, 1, 1, 0, 0, 0, 0);
	stats_snapshot(st, &s);
	assert_int_equal(s.pending_count, 0);
	free(s.batches);
	stats_free(st);
	stats_free(NULL);
}

static void test_batch_stats_sorted(void **state)
{
	static const uint64_t sizes[] = { 5, 1, 300, 3, 1, 64, 5, 2, 1000000 };
	static const uint64_t want[] = { 1, 2, 3, 5, 64, 300, 1000000 };
	static const uint64_t want_count[] = { 2, 1, 1, 2, 1, 1, 1 };
	struct model_stats *st = stats_new();
	struct model_stats_snapshot s;

	(void)state;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		stats_execution(st, sizes[i], 1, 2, 3);
	stats_snapshot(st, &s);
	assert_int_equal(s.execution_count, 9);
	assert_int_equal(s.n_batches, 7);
	for (size_t i = 0; i < 7; i++) {
		assert_int_equal(s.batches[i].batch_size, want[i]);
		assert_int_equal(s.batches[i].compute_input.count, want_count[i]);
		assert_int_equal(s.batches[i].compute_input.ns, want_count[i]);
		assert_int_equal(s.batches[i].compute_output.ns, 3 * want_count[i]);
	}
	free(s.batches);
	stats_free(st);
}

/* {"count": uint, "ns": uint} and nothing else. */
static void check_duration(const json_t *d, uint64_t count, uint64_t ns)
{
	assert_true(json_is_object(d));
	assert_int_equal(json_object_size(d), 2);
	assert_true(json_is_integer(json_object_get(d, "count")));
	assert_true(json_is_integer(json_object_get(d, "ns")));
	assert_int_equal(json_integer_value(json_object_get(d, "count")), count);
	assert_int_equal(json_integer_value(json_object_get(d, "ns")), ns);
}

static void test_json_shape(void **state)
{
	static const char *top_keys[] = {
		"name", "version", "last_inference", "inference_count",
		"execution_count", "inference_stats", "response_stats",
		"batch_stats", "memory_usage",
	};
	static const char *stat_keys[] = {
		"success", "fail", "queue", "compute_input", "compute_infer",
		"compute_output", "cache_hit", "cache_miss",
	};
	struct model_stats *st = stats_new();
	const json_t *is, *bs, *b;
	json_t *j;

	(void)state;
	stats_request_start(st);
	stats_request_end(st, true, 3, 900, 90, 9, 800, 1);
	stats_execution(st, 3, 9, 800, 1);
	stats_execution(st, 1, 1, 2, 3);
	j = stats_to_json(st, "resnet", "7");
	assert_non_null(j);

	assert_int_equal(json_object_size(j), 9);
	for (size_t i = 0; i < 9; i++)
		assert_non_null(json_object_get(j, top_keys[i]));
	assert_string_equal(json_string_value(json_object_get(j, "name")), "resnet");
	/* version is a string, not a number. */
	assert_true(json_is_string(json_object_get(j, "version")));
	assert_string_equal(json_string_value(json_object_get(j, "version")), "7");
	assert_true(json_is_integer(json_object_get(j, "last_inference")));
	assert_true(json_integer_value(json_object_get(j, "last_inference")) > 0);
	assert_int_equal(json_integer_value(json_object_get(j, "inference_count")), 3);
	assert_int_equal(json_integer_value(json_object_get(j, "execution_count")), 2);

	is = json_object_get(j, "inference_stats");
	assert_int_equal(json_object_size(is), 8);
	for (size_t i = 0; i < 8; i++)
		assert_non_null(json_object_get(is, stat_keys[i]));
	check_duration(json_object_get(is, "success"), 1, 900);
	check_duration(json_object_get(is, "fail"), 0, 0);
	check_duration(json_object_get(is, "queue"), 1, 90);
	check_duration(json_object_get(is, "compute_input"), 1, 9);
	check_duration(json_object_get(is, "compute_infer"), 1, 800);
	check_duration(json_object_get(is, "compute_output"), 1, 1);
	check_duration(json_object_get(is, "cache_hit"), 0, 0);
	check_duration(json_object_get(is, "cache_miss"), 0, 0);

	assert_true(json_is_object(json_object_get(j, "response_stats")));
	assert_int_equal(json_object_size(json_object_get(j, "response_stats")), 0);
	assert_true(json_is_array(json_object_get(j, "memory_usage")));
	assert_int_equal(json_array_size(json_object_get(j, "memory_usage")), 0);

	bs = json_object_get(j, "batch_stats");
	assert_true(json_is_array(bs));
	assert_int_equal(json_array_size(bs), 2);
	b = json_array_get(bs, 0);
	assert_int_equal(json_object_size(b), 4);
	assert_int_equal(json_integer_value(json_object_get(b, "batch_size")), 1);
	check_duration(json_object_get(b, "compute_input"), 1, 1);
	check_duration(json_object_get(b, "compute_infer"), 1, 2);
	check_duration(json_object_get(b, "compute_output"), 1, 3);
	b = json_array_get(bs, 1);
	assert_int_equal(json_integer_value(json_object_get(b, "batch_size")), 3);
	check_duration(json_object_get(b, "compute_infer"), 1, 800);
	json_decref(j);

	/* A model never called: last_inference 0, batch_stats empty. */
	stats_free(st);
	st = stats_new();
	j = stats_to_json(st, "m", "1");
	assert_int_equal(json_integer_value(json_object_get(j, "last_inference")), 0);
	assert_int_equal(json_array_size(json_object_get(j, "batch_stats")), 0);
	json_decref(j);
	stats_free(st);
}

#define WRITERS 4
#define ROUNDS 5000

static void *writer(void *arg)
{
	struct model_stats *st = arg;

	for (int i = 0; i < ROUNDS; i++) {
		stats_request_start(st);
		stats_execution(st, (uint64_t)(i % 7) + 1, 1, 1, 1);
		stats_request_end(st, i % 5 != 0, 2, 3, 1, 1, 1, 1);
	}
	return NULL;
}

static void test_concurrent_writers(void **state)
{
	struct model_stats *st = stats_new();
	struct model_stats_snapshot s;
	pthread_t th[WRITERS];
	uint64_t executions = 0;

	(void)state;
	for (int i = 0; i < WRITERS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, writer, st), 0);
	for (int i = 0; i < WRITERS; i++)
		pthread_join(th[i], NULL);
	stats_snapshot(st, &s);
	assert_int_equal(s.pending_count, 0);
	assert_int_equal(s.execution_count, WRITERS * ROUNDS);
	assert_int_equal(s.success.count + s.fail.count, WRITERS * ROUNDS);
	assert_int_equal(s.fail.count, WRITERS * ROUNDS / 5);
	assert_int_equal(s.inference_count, 2 * s.success.count);
	assert_int_equal(s.n_batches, 7);
	for (size_t i = 0; i < s.n_batches; i++)
		executions += s.batches[i].compute_infer.count;
	assert_int_equal(executions, WRITERS * ROUNDS);
	free(s.batches);
	stats_free(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counters),
		cmocka_unit_test(test_batch_stats_sorted),
		cmocka_unit_test(test_json_shape),
		cmocka_unit_test(test_concurrent_writers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
