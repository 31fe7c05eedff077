/*
 * Unit tests for the per-batch-size statistics of loadgen/target
 * (protocol.md §3.2 batch_stats): parsing (absent lists, unsorted and
 * repeated sizes, malformed entries), the delta of two cumulative
 * snapshots (new sizes, counters that went back) and the merge of windows.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "loadgen/target.h"
#include "util/error.h"

/* A statistics answer of model "m" version "1" whose batch_stats are `batches`. */
static int parse(const char *batches, struct remote_batch_stats *out)
{
	char json[4096];
	struct it_error err = { 0 };

	snprintf(json, sizeof(json),
		 "{\"model_stats\":[{\"name\":\"other\",\"version\":\"1\",\"batch_stats\":"
		 "[{\"batch_size\":99,\"compute_infer\":{\"count\":1,\"ns\":1}}]},"
		 "{\"name\":\"m\",\"version\":\"1\",\"inference_count\":0%s%s}]}",
		 batches ? ",\"batch_stats\":" : "", batches ? batches : "");
	return remote_batch_stats_parse(json, strlen(json), "m", "1", out, &err);
}

/* One entry as the server writes it: the three durations, count `n`. */
#define ENTRY(b, n, in, inf, outp) \
	"{\"batch_size\":" #b ",\"compute_input\":{\"count\":" #n ",\"ns\":" #in "}," \
	"\"compute_infer\":{\"count\":" #n ",\"ns\":" #inf "}," \
	"\"compute_output\":{\"count\":" #n ",\"ns\":" #outp "}}"

static void assert_stat(const struct remote_batch_stat *s, uint64_t b, uint64_t n,
			uint64_t in, uint64_t inf, uint64_t outp)
{
	assert_int_equal(s->batch_size, b);
	assert_int_equal(s->execution_count, n);
	assert_int_equal(s->compute_input_ns, in);
	assert_int_equal(s->compute_infer_ns, inf);
	assert_int_equal(s->compute_output_ns, outp);
}

static void test_parse_sorted_by_size(void **state)
{
	struct remote_batch_stats b;

	(void)state;
	remote_batch_stats_init(&b);
	/* Unsorted input, only this model's version. */
	assert_int_equal(parse("[" ENTRY(32, 2, 1, 2, 3) "," ENTRY(1, 5, 10, 20, 30) ","
			       ENTRY(8, 1, 4, 5, 6) "]", &b), 0);
	assert_int_equal(b.n, 3);
	assert_stat(&b.items[0], 1, 5, 10, 20, 30);
	assert_stat(&b.items[1], 8, 1, 4, 5, 6);
	assert_stat(&b.items[2], 32, 2, 1, 2, 3);
	/* Parsing again replaces the list; a size listed twice is summed. */
	assert_int_equal(parse("[" ENTRY(4, 1, 1, 1, 1) "," ENTRY(4, 2, 2, 2, 2) "]", &b), 0);
	assert_int_equal(b.n, 1);
	assert_stat(&b.items[0], 4, 3, 3, 3, 3);
	remote_batch_stats_release(&b);
	assert_null(b.items);
	assert_int_equal(b.n, 0);
	remote_batch_stats_release(NULL);
}

static void test_parse_absent_and_malformed(void **state)
{
	struct remote_batch_stats b;
	struct it_error err = { 0 };

	(void)state;
	remote_batch_stats_init(&b);
	/* No batch_stats (an older Triton, another server): empty, no error. */
	assert_int_equal(parse(NULL, &b), 0);
	assert_int_equal(b.n, 0);
	assert_int_equal(parse("[]", &b), 0);
	assert_int_equal(b.n, 0);
	assert_int_equal(parse("{}", &b), 0);
	assert_int_equal(b.n, 0);
	/* A version that is not listed: empty. */
	assert_int_equal(remote_batch_stats_parse("{\"model_stats\":[]}",
						  strlen("{\"model_stats\":[]}"), "m", "1", &b,
						  &err), 0);
	assert_int_equal(b.n, 0);
	/*
	 * Entries without a usable batch_size are skipped; a size sent as a
	 * string is read as the other 64-bit fields are; missing counters
	 * read as 0; the count is the largest of the three.
	 */
	assert_int_equal(parse("[{\"batch_size\":-1,\"compute_infer\":{\"count\":1,\"ns\":1}},"
			       "{\"batch_size\":0},{\"batch_size\":2.5},{\"batch_size\":\"x\"},"
			       "{\"compute_infer\":{\"count\":1,\"ns\":1}},7,"
			       "{\"batch_size\":\"6\",\"compute_infer\":{\"count\":3,\"ns\":30}},"
			       "{\"batch_size\":2,\"compute_input\":{\"count\":4,\"ns\":8}}]", &b), 0);
	assert_int_equal(b.n, 2);
	assert_stat(&b.items[0], 2, 4, 8, 0, 0);
	assert_stat(&b.items[1], 6, 3, 0, 30, 0);
	/* The answer itself must be a statistics answer, as for remote_stats_parse(). */
	assert_int_equal(remote_batch_stats_parse("{}", 2, "m", "1", &b, &err), IT_ERR_INVALID);
	assert_int_equal(b.n, 0);
	assert_int_equal(remote_batch_stats_parse("[", 1, "m", "1", &b, &err), IT_ERR_PARSE);
	remote_batch_stats_release(&b);
}

static void test_delta(void **state)
{
	struct remote_batch_stats start, end, d;

	(void)state;
	remote_batch_stats_init(&start);
	remote_batch_stats_init(&end);
	remote_batch_stats_init(&d);
	assert_int_equal(parse("[" ENTRY(1, 5, 10, 20, 30) "," ENTRY(8, 1, 4, 5, 6) ","
			       ENTRY(16, 7, 7, 7, 7) "]", &start), 0);
	/*
	 * Size 1 moved, 4 is new (counts from 0), 8 did not move (left out),
	 * 16 went back (a reloaded model: 0, left out).
	 */
	assert_int_equal(parse("[" ENTRY(16, 2, 2, 2, 2) "," ENTRY(8, 1, 4, 5, 6) ","
			       ENTRY(4, 3, 3, 6, 9) "," ENTRY(1, 7, 11, 25, 36) "]", &end), 0);
	remote_batch_stats_delta(&start, &end, &d);
	assert_int_equal(d.n, 2);
	assert_stat(&d.items[0], 1, 2, 1, 5, 6);
	assert_stat(&d.items[1], 4, 3, 3, 6, 9);
	/* From nothing: every size that executed. */
	remote_batch_stats_release(&start);
	remote_batch_stats_delta(&start, &end, &d);
	assert_int_equal(d.n, 4);
	assert_stat(&d.items[3], 16, 2, 2, 2, 2);
	/* To nothing (no batch_stats at the end): empty. */
	remote_batch_stats_delta(&end, &start, &d);
	assert_int_equal(d.n, 0);
	remote_batch_stats_release(&end);
	remote_batch_stats_release(&d);
}

static void test_add(void **state)
{
	struct remote_batch_stats a, b;

	(void)state;
	remote_batch_stats_init(&a);
	remote_batch_stats_init(&b);
	/* Into an empty list, then merged size by size, new sizes in order. */
	assert_int_equal(parse("[" ENTRY(2, 1, 1, 1, 1) "," ENTRY(8, 2, 2, 2, 2) "]", &b), 0);
	remote_batch_stats_add(&a, &b);
	assert_int_equal(a.n, 2);
	assert_int_equal(parse("[" ENTRY(1, 1, 1, 1, 1) "," ENTRY(8, 3, 30, 300, 3000) ","
			       ENTRY(4, 1, 1, 1, 1) "," ENTRY(16, 1, 1, 1, 1) "]", &b), 0);
	remote_batch_stats_add(&a, &b);
	assert_int_equal(a.n, 5);
	assert_stat(&a.items[0], 1, 1, 1, 1, 1);
	assert_stat(&a.items[1], 2, 1, 1, 1, 1);
	assert_stat(&a.items[2], 4, 1, 1, 1, 1);
	assert_stat(&a.items[3], 8, 5, 32, 302, 3002);
	assert_stat(&a.items[4], 16, 1, 1, 1, 1);
	/* Adding nothing changes nothing. */
	remote_batch_stats_release(&b);
	remote_batch_stats_add(&a, &b);
	assert_int_equal(a.n, 5);
	remote_batch_stats_release(&a);
}

/* Many sizes (a max_batch_size in the thousands): no cap. */
static void test_many_sizes(void **state)
{
	static char json[1 << 20];
	struct remote_batch_stats b, d, none;
	struct it_error err = { 0 };
	size_t len;

	(void)state;
	remote_batch_stats_init(&b);
	remote_batch_stats_init(&d);
	remote_batch_stats_init(&none);
	len = (size_t)snprintf(json, sizeof(json),
			       "{\"model_stats\":[{\"name\":\"m\",\"version\":\"1\",\"batch_stats\":[");
	for (int i = 4096; i >= 1; i--)
		len += (size_t)snprintf(json + len, sizeof(json) - len,
					"%s{\"batch_size\":%d,\"compute_infer\":{\"count\":1,\"ns\":%d}}",
					i == 4096 ? "" : ",", i, i);
	len += (size_t)snprintf(json + len, sizeof(json) - len, "]}]}");
	assert_true(len < sizeof(json));
	assert_int_equal(remote_batch_stats_parse(json, len, "m", "1", &b, &err), 0);
	assert_int_equal(b.n, 4096);
	assert_stat(&b.items[4095], 4096, 1, 0, 4096, 0);
	remote_batch_stats_delta(&none, &b, &d);
	remote_batch_stats_add(&d, &b);
	assert_int_equal(d.n, 4096);
	assert_stat(&d.items[0], 1, 2, 0, 2, 0);
	remote_batch_stats_release(&b);
	remote_batch_stats_release(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_sorted_by_size),
		cmocka_unit_test(test_parse_absent_and_malformed),
		cmocka_unit_test(test_delta),
		cmocka_unit_test(test_add),
		cmocka_unit_test(test_many_sizes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
