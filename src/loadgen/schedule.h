/*
 * Open-loop send schedules, generated before the load starts as MLPerf
 * LoadGen does: constant spacing, Poisson arrivals (exponential gaps from a
 * seeded generator, so one seed always gives the same timeline) or the
 * intervals of a --request-intervals file. A schedule is a list of send
 * times relative to the start of the load level; past its end it repeats
 * with its own period. Also the seeded generator used for random input data.
 * Depends on util/ only.
 */
#ifndef INFERTUNE_LOADGEN_SCHEDULE_H
#define INFERTUNE_LOADGEN_SCHEDULE_H

#include <stddef.h>
#include <stdint.h>

struct it_error;

/**
 * xoshiro256** seeded through splitmix64: fast, 2^256 - 1 period, and the
 * same sequence for the same seed on every machine. Plain value struct.
 */
struct lg_rng {
	uint64_t s[4];
};

/** Seeds the generator (any seed, 0 included). */
void lg_rng_seed(struct lg_rng *rng, uint64_t seed);
/** The next 64 random bits. */
uint64_t lg_rng_next(struct lg_rng *rng);
/** A uniform double in [0, 1) with 53 random bits. */
double lg_rng_uniform(struct lg_rng *rng);

/**
 * Send times: send i of the first pass is at at_ns[i] (at_ns[0] == 0,
 * non-decreasing), and the list repeats every period_ns, so send k is at
 * at_ns[k % n] + (k / n) * period_ns. Embedded value struct: zero it or
 * fill it with a schedule_* constructor, release with schedule_release().
 * Read-only once built: the worker threads share it.
 */
struct schedule {
	uint64_t *at_ns;
	size_t n;
	uint64_t period_ns;
};

/** Largest number of pre-generated sends (the list then repeats). */
#define SCHEDULE_MAX_SENDS ((size_t)1 << 22)

/**
 * `n` sends at exactly `rate` per second (n >= 1, rate > 0). IT_ERR_INVALID
 * for a rate whose period does not fit in nanoseconds.
 */
int schedule_constant(double rate, size_t n, struct schedule *out,
		      struct it_error *err);

/**
 * `n` Poisson arrivals at `rate` per second: exponential gaps with mean
 * 1 / rate drawn from lg_rng seeded with `seed`.
 */
int schedule_poisson(double rate, uint64_t seed, size_t n,
		     struct schedule *out, struct it_error *err);

/**
 * A schedule from gaps: send i + 1 comes intervals_ns[i] after send i, and
 * the last gap leads back to the first send of the next pass. n >= 1 and the
 * gaps must not all be 0.
 */
int schedule_from_intervals(const uint64_t *intervals_ns, size_t n,
			    struct schedule *out, struct it_error *err);

/**
 * Reads a --request-intervals file: one interval in microseconds per line
 * (blank lines and '#' comments skipped), as perf_analyzer reads it. On
 * success *intervals_ns (caller frees) holds *n > 0 gaps in nanoseconds.
 * Errors name the file and line.
 */
int schedule_read_intervals(const char *path, uint64_t **intervals_ns,
			    size_t *n, struct it_error *err);

/** The send time of send k (any k). */
uint64_t schedule_time(const struct schedule *s, uint64_t k);

/** The mean rate of the schedule in sends per second. */
double schedule_rate(const struct schedule *s);

/** Frees the list and zeroes the struct. */
void schedule_release(struct schedule *s);

#endif
