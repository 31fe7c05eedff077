/*
 * Unit tests for server/batch_policy, Triton's GetDynamicBatch as a pure
 * function: preferred sizes, max_batch_size, shapes that do not match the
 * head, the queue delay, draining, no dynamic batching. The queue is an
 * array; no thread, no clock.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "server/batch_policy.h"

#define MS 1000000ULL

/* A queue of requests: batch sizes, and a shape id (same id: batchable). */
struct queue {
	const int64_t *sizes;
	const int *shapes;      /* NULL: all the same shape */
	size_t n;
	size_t reads;           /* batch sizes the policy asked for */
};

static int64_t q_size(void *ctx, size_t k)
{
	struct queue *q = ctx;

	q->reads++;
	return q->sizes[k];
}

static bool q_batchable(void *ctx, size_t k)
{
	const struct queue *q = ctx;

	return q->shapes[k] == q->shapes[0];
}

/* The policy's answer for q at `now`, head queued at 0; *wake set on 0. */
static size_t next(const struct batch_policy *p, struct queue *q,
		   uint64_t now, bool draining, uint64_t *wake)
{
	struct batch_queue_view v = {
		.len = q->n, .head_start_ns = 0, .ctx = q,
		.batch_size = q_size,
		.batchable = q->shapes ? q_batchable : NULL,
	};

	*wake = 0;
	return batch_policy_next(p, &v, now, draining, wake);
}

static void test_preferred_and_max(void **state)
{
	static const int32_t pref[] = { 3, 6 };
	static const int64_t ones[] = { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 };
	struct batch_policy p;
	struct queue q = { ones, NULL, 0, 0 };
	uint64_t wake;

	(void)state;
	batch_policy_init(&p, 8, true, pref, 2, 100000);
	assert_true(p.dynamic);
	assert_int_equal(p.max_preferred, 6);
	assert_int_equal(p.delay_ns, 100 * MS);
	assert_int_equal(batch_policy_max_requests(&p), 8);
	/* 2 queued: no preferred size, below 6: wait for the head's deadline. */
	q.n = 2;
	assert_int_equal(next(&p, &q, 1 * MS, false, &wake), 0);
	assert_int_equal(wake, 100 * MS);
	/* ...and at the deadline, everything. */
	assert_int_equal(next(&p, &q, 100 * MS, false, &wake), 2);
	/* Draining: nothing waits. */
	assert_int_equal(next(&p, &q, 1 * MS, true, &wake), 2);
	/* 4 and 5 queued: the preferred 3 goes at once. */
	q.n = 4;
	assert_int_equal(next(&p, &q, 1 * MS, false, &wake), 3);
	q.n = 5;
	assert_int_equal(next(&p, &q, 1 * MS, false, &wake), 3);
	/* 10 queued: 6 is the largest preferred size reached; nothing past it is read. */
	q.n = 10;
	q.reads = 0;
	assert_int_equal(next(&p, &q, 1 * MS, false, &wake), 6);
	assert_int_equal(q.reads, 6);
	/* Past the delay the preferred size no longer matters: as many as fit. */
	q.reads = 0;
	assert_int_equal(next(&p, &q, 200 * MS, false, &wake), 8);
	assert_int_equal(q.reads, 9);
}

static void test_sizes_and_shapes(void **state)
{
	static const int64_t threes[] = { 3, 3, 3, 3 };
	static const int64_t mixed[] = { 2, 2, 2, 2 };
	static const int shapes[] = { 0, 0, 1, 0 };
	struct batch_policy p;
	struct queue q = { threes, NULL, 4, 0 };
	uint64_t wake;

	(void)state;
	/* No preferred sizes, a delay: 3 + 3 = 6, a third would pass 8: go now. */
	batch_policy_init(&p, 8, true, NULL, 0, 100000);
	assert_int_equal(p.max_preferred, 8);
	assert_int_equal(next(&p, &q, 0, false, &wake), 2);
	/* A request of another shape ends the batch: the two before it go. */
	q = (struct queue){ mixed, shapes, 4, 0 };
	assert_int_equal(next(&p, &q, 0, false, &wake), 2);
	/* Delay 0: whatever is queued goes at once. */
	batch_policy_init(&p, 8, true, NULL, 0, 0);
	q = (struct queue){ threes, NULL, 1, 0 };
	assert_int_equal(next(&p, &q, 0, false, &wake), 1);
}

static void test_off_and_empty(void **state)
{
	static const int32_t pref[] = { 4 }, big[] = { 16 };
	static const int64_t ones[] = { 1, 1, 1 };
	struct batch_policy p;
	struct queue q = { ones, NULL, 3, 0 };
	uint64_t wake;

	(void)state;
	/* No dynamic batching: one request at a time. */
	batch_policy_init(&p, 8, false, pref, 1, 100000);
	assert_false(p.dynamic);
	assert_int_equal(batch_policy_max_requests(&p), 1);
	assert_int_equal(next(&p, &q, 0, false, &wake), 1);
	/* Dynamic batching without a batch dimension is off. */
	batch_policy_init(&p, 0, true, pref, 1, 100000);
	assert_false(p.dynamic);
	assert_int_equal(next(&p, &q, 0, false, &wake), 1);
	/* An empty queue: wait for an arrival, no deadline. */
	q.n = 0;
	assert_int_equal(next(&p, &q, 0, false, &wake), 0);
	assert_int_equal(wake, UINT64_MAX);
	/* A preferred size above max_batch_size: max_batch_size is the largest. */
	batch_policy_init(&p, 8, true, big, 1, 0);
	assert_int_equal(p.max_preferred, 8);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_preferred_and_max),
		cmocka_unit_test(test_sizes_and_shapes),
		cmocka_unit_test(test_off_and_empty),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
