/*
 * Unit tests for loadgen/schedule: seeded determinism, the Poisson
 * schedule's mean rate and exponential gaps, constant spacing, repetition
 * past the pre-generated list, --request-intervals files.
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
#include <unistd.h>

#include "loadgen/schedule.h"
#include "util/error.h"

static void test_rng_seeded(void **state)
{
	struct lg_rng a, b, c;
	double sum = 0;

	(void)state;
	lg_rng_seed(&a, 42);
	lg_rng_seed(&b, 42);
	lg_rng_seed(&c, 43);
	for (int i = 0; i < 1000; i++) {
		uint64_t x = lg_rng_next(&a);

		assert_true(x == lg_rng_next(&b));
		(void)lg_rng_next(&c);
	}
	lg_rng_seed(&a, 42);
	lg_rng_seed(&c, 43);
	assert_true(lg_rng_next(&a) != lg_rng_next(&c));
	/* Seed 0 works too (splitmix64 keeps the state non-zero). */
	lg_rng_seed(&a, 0);
	for (int i = 0; i < 100000; i++) {
		double u = lg_rng_uniform(&a);

		assert_true(u >= 0 && u < 1);
		sum += u;
	}
	assert_true(fabs(sum / 100000 - 0.5) < 0.01);
}

static void test_constant(void **state)
{
	struct schedule s;
	struct it_error err = { 0 };

	(void)state;
	assert_int_equal(schedule_constant(250, 100, &s, &err), 0);
	assert_int_equal(s.n, 100);
	assert_int_equal(s.at_ns[0], 0);
	for (size_t i = 1; i < s.n; i++)
		assert_int_equal(s.at_ns[i] - s.at_ns[i - 1], 4000000);
	assert_int_equal(s.period_ns, 400000000);
	/* Past the list it repeats with its period: send 250 is at 1 s. */
	assert_int_equal(schedule_time(&s, 250), 1000000000);
	assert_int_equal(schedule_time(&s, 101), 404000000);
	assert_true(fabs(schedule_rate(&s) - 250) < 1e-9);
	schedule_release(&s);
	assert_null(s.at_ns);
	/* 3 per second: gaps of 333333333.3 ns accumulate without drift. */
	assert_int_equal(schedule_constant(3, 3, &s, &err), 0);
	assert_int_equal(s.at_ns[1], 333333333);
	assert_int_equal(s.at_ns[2], 666666667);
	assert_int_equal(s.period_ns, 1000000000);
	schedule_release(&s);

	assert_int_equal(schedule_constant(0, 10, &s, &err), IT_ERR_INVALID);
	assert_int_equal(schedule_constant(-5, 10, &s, &err), IT_ERR_INVALID);
	assert_int_equal(schedule_constant(NAN, 10, &s, &err), IT_ERR_INVALID);
	assert_int_equal(schedule_constant(10, 0, &s, &err), IT_ERR_INVALID);
	assert_int_equal(schedule_constant(1e-5, 10, &s, &err), IT_ERR_INVALID);
}

static void test_poisson(void **state)
{
	struct schedule a, b, c;
	struct it_error err = { 0 };
	const size_t n = 200000;
	const double rate = 500;
	double mean, var = 0, mean_gap;
	size_t below_mean = 0;

	(void)state;
	assert_int_equal(schedule_poisson(rate, 7, n, &a, &err), 0);
	assert_int_equal(schedule_poisson(rate, 7, n, &b, &err), 0);
	assert_int_equal(schedule_poisson(rate, 8, n, &c, &err), 0);
	/* Same seed, same timeline; another seed, another one. */
	assert_memory_equal(a.at_ns, b.at_ns, n * sizeof(*a.at_ns));
	assert_true(memcmp(a.at_ns, c.at_ns, n * sizeof(*a.at_ns)) != 0);
	/* Mean rate within 1% (sd of the mean gap is 1/sqrt(n) = 0.2%). */
	assert_true(fabs(schedule_rate(&a) - rate) / rate < 0.01);
	mean_gap = (double)a.period_ns / (double)n;
	mean = 1e9 / rate;
	assert_true(fabs(mean_gap - mean) / mean < 0.01);
	/* Exponential gaps: variance = mean^2, P(gap < mean) = 1 - 1/e. */
	for (size_t i = 1; i < n; i++) {
		double g = (double)(a.at_ns[i] - a.at_ns[i - 1]);

		var += (g - mean) * (g - mean);
		below_mean += g < mean;
	}
	var /= (double)(n - 1);
	assert_true(fabs(sqrt(var) / mean - 1) < 0.02);
	assert_true(fabs((double)below_mean / (double)(n - 1) - (1 - exp(-1))) < 0.01);
	for (size_t i = 1; i < n; i++)
		assert_true(a.at_ns[i] >= a.at_ns[i - 1]);
	schedule_release(&a);
	schedule_release(&b);
	schedule_release(&c);
}

static void test_intervals(void **state)
{
	char path[] = "/tmp/test_loadgen_schedule.XXXXXX";
	const char *text = "# gaps in microseconds\n1000\n\n  2000  \n500 # trailing\n";
	uint64_t *iv = NULL;
	size_t n = 0;
	struct schedule s;
	struct it_error err = { 0 };
	int fd;
	FILE *f;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fputs(text, f);
	fclose(f);
	assert_int_equal(schedule_read_intervals(path, &iv, &n, &err), 0);
	assert_int_equal(n, 3);
	assert_int_equal(iv[0], 1000000);
	assert_int_equal(iv[1], 2000000);
	assert_int_equal(iv[2], 500000);
	assert_int_equal(schedule_from_intervals(iv, n, &s, &err), 0);
	assert_int_equal(s.at_ns[0], 0);
	assert_int_equal(s.at_ns[1], 1000000);
	assert_int_equal(s.at_ns[2], 3000000);
	assert_int_equal(s.period_ns, 3500000);
	assert_int_equal(schedule_time(&s, 3), 3500000);
	assert_int_equal(schedule_time(&s, 5), 6500000);
	assert_true(fabs(schedule_rate(&s) - 3 / 3.5e-3) < 1e-6);
	schedule_release(&s);
	free(iv);

	f = fopen(path, "w");
	fputs("100\nfast\n", f);
	fclose(f);
	assert_int_equal(schedule_read_intervals(path, &iv, &n, &err), IT_ERR_PARSE);
	assert_int_equal(err.line, 2);
	assert_non_null(strstr(err.message, "microseconds"));
	f = fopen(path, "w");
	fputs("-5\n", f);
	fclose(f);
	assert_int_equal(schedule_read_intervals(path, &iv, &n, &err), IT_ERR_PARSE);
	f = fopen(path, "w");
	fputs("# nothing\n\n", f);
	fclose(f);
	assert_int_equal(schedule_read_intervals(path, &iv, &n, &err), IT_ERR_INVALID);
	unlink(path);
	assert_int_equal(schedule_read_intervals(path, &iv, &n, &err), IT_ERR_NOT_FOUND);
	{
		uint64_t zeros[2] = { 0, 0 };

		assert_int_equal(schedule_from_intervals(zeros, 2, &s, &err), IT_ERR_INVALID);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rng_seeded),
		cmocka_unit_test(test_constant),
		cmocka_unit_test(test_poisson),
		cmocka_unit_test(test_intervals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
