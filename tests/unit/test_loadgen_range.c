/*
 * Unit tests for loadgen/range: perf_analyzer's "start[:end[:step]]" for
 * concurrency (whole numbers) and request rates (decimals), and the
 * messages for every way a range string can be wrong.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "loadgen/range.h"
#include "util/error.h"

static void test_u64_valid(void **state)
{
	struct range_u64 r;

	(void)state;
	assert_int_equal(range_parse_u64("4", "--c", &r, NULL), 0);
	assert_true(r.start == 4 && r.end == 4 && r.step == 1);
	assert_int_equal(range_parse_u64("1:8", "--c", &r, NULL), 0);
	assert_true(r.start == 1 && r.end == 8 && r.step == 1);
	assert_int_equal(range_parse_u64("2:32:2", "--c", &r, NULL), 0);
	assert_true(r.start == 2 && r.end == 32 && r.step == 2);
	/* end 0: no limit (until the latency threshold) */
	assert_int_equal(range_parse_u64("1:0:4", "--c", &r, NULL), 0);
	assert_true(r.start == 1 && r.end == 0 && r.step == 4);
	assert_int_equal(range_parse_u64("7:7", "--c", &r, NULL), 0);
	assert_int_equal(range_parse_u64("18446744073709551615", "--c", &r, NULL), 0);
	assert_true(r.start == UINT64_MAX);
}

static void expect_u64_error(const char *text, const char *needle)
{
	struct it_error err = { 0 };
	struct range_u64 r = { 9, 9, 9 };

	assert_int_equal(range_parse_u64(text, "--concurrency-range", &r, &err),
			 IT_ERR_INVALID);
	if (!strstr(err.message, needle))
		fail_msg("'%s': message '%s' lacks '%s'", text, err.message, needle);
	assert_non_null(strstr(err.message, "--concurrency-range"));
	/* Nothing written on failure. */
	assert_true(r.start == 9 && r.end == 9 && r.step == 9);
}

static void test_u64_invalid(void **state)
{
	(void)state;
	expect_u64_error("", "empty part");
	expect_u64_error("1::2", "empty part");
	expect_u64_error("1:", "empty part");
	expect_u64_error(":4", "empty part");
	expect_u64_error("1:2:3:4", "more than three");
	expect_u64_error("a:4", "'a' is not a whole number");
	expect_u64_error("1.5", "not a whole number");
	expect_u64_error("-1:4", "not a whole number");
	expect_u64_error(" 1", "not a whole number");
	expect_u64_error("0:4", "start of the range must be > 0");
	expect_u64_error("1:4:0", "step must be > 0");
	expect_u64_error("8:4", "end (4) is below the start (8)");
	expect_u64_error("18446744073709551616", "too large");
}

static void test_f64(void **state)
{
	struct range_f64 r;
	struct it_error err = { 0 };

	(void)state;
	assert_int_equal(range_parse_f64("100", "--r", &r, &err), 0);
	assert_true(r.start == 100 && r.end == 100 && r.step == 1);
	assert_int_equal(range_parse_f64("0.5:2.5:0.5", "--r", &r, &err), 0);
	assert_true(r.start == 0.5 && r.end == 2.5 && r.step == 0.5);
	assert_int_equal(range_parse_f64("1e3:2e3:5e2", "--r", &r, &err), 0);
	assert_true(r.start == 1000 && r.end == 2000 && r.step == 500);
	assert_int_equal(range_parse_f64("10:0", "--r", &r, &err), 0);
	assert_true(r.end == 0);

	assert_int_equal(range_parse_f64("0", "--request-rate-range", &r, &err), IT_ERR_INVALID);
	assert_non_null(strstr(err.message, "must be > 0"));
	assert_int_equal(range_parse_f64("inf", "--r", &r, &err), IT_ERR_INVALID);
	assert_int_equal(range_parse_f64("nan", "--r", &r, &err), IT_ERR_INVALID);
	assert_int_equal(range_parse_f64("0x10", "--r", &r, &err), IT_ERR_INVALID);
	assert_int_equal(range_parse_f64("-5", "--r", &r, &err), IT_ERR_INVALID);
	assert_int_equal(range_parse_f64("1e999", "--r", &r, &err), IT_ERR_INVALID);
	assert_int_equal(range_parse_f64("5:1", "--r", &r, &err), IT_ERR_INVALID);
	assert_non_null(strstr(err.message, "below the start"));
	assert_int_equal(range_parse_f64("1:2:0", "--r", &r, &err), IT_ERR_INVALID);
	assert_int_equal(range_parse_f64("1:2:3:4", "--r", &r, &err), IT_ERR_INVALID);
	assert_int_equal(range_parse_f64("1:x", "--r", &r, &err), IT_ERR_INVALID);
	assert_non_null(strstr(err.message, "'x' is not a number"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_u64_valid),
		cmocka_unit_test(test_u64_invalid),
		cmocka_unit_test(test_f64),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
