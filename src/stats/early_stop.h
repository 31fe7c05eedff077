/*
 * MLPerf LoadGen's early-stopping rule: a binomial test that turns N
 * measured queries into a conservative estimate of a latency percentile at a
 * given confidence, or says how many queries it would need. Pure functions;
 * depends on libm only.
 *
 * Model: each query exceeds the true p-th percentile latency with probability
 * 1 - p. If t queries out of h + t are "over", the odds of seeing at most t
 * over are BetaRegularized(p, h, t + 1). For a given t, h(t) is the smallest
 * h that brings those odds under 1 - confidence. With n queries, the largest
 * t such that n >= h(t) + t lets us discard t - 1 of the highest latencies
 * and report the next one, sorted[n - t], as the percentile estimate
 * (LoadGen's SingleStream rule; it needs at least h(1) + 1 queries).
 */
#ifndef INFERTUNE_STATS_EARLY_STOP_H
#define INFERTUNE_STATS_EARLY_STOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/**
 * Regularised incomplete beta function I_x(a, b) for x in [0, 1] and
 * a, b > 0 (continued fraction). Returns NAN for arguments out of range.
 */
double early_stop_beta_regularized(double x, double a, double b);

/**
 * Probability of at most t over-latency queries among h + t when each is
 * over with probability 1 - p: BetaRegularized(p, h, t + 1). h >= 1, t >= 0.
 */
double early_stop_odds(int64_t h, int64_t t, double p);

/**
 * The smallest h >= 1 with early_stop_odds(h, t, p) < 1 - confidence
 * (LoadGen's find_min_passing). p and confidence in (0, 1). Returns -1 when
 * the arguments are out of range.
 */
int64_t early_stop_min_passing(int64_t t, double p, double confidence);

/** Outcome of the rule on one set of latencies. Plain value struct. */
struct early_stop_result {
	bool enough;            /* false: too few queries for any estimate */
	int64_t queries;        /* n, the queries the estimate rests on */
	int64_t min_queries;    /* h(1) + 1: the fewest that give an estimate */
	int64_t overs;          /* t: the estimate is sorted[n - t] */
	int64_t discarded;      /* t - 1 highest latencies set aside */
	uint64_t estimate_ns;   /* the conservative percentile estimate */
};

/**
 * Applies the rule to `sorted[0..n)` (increasing) for percentile `percentile`
 * (in (0, 100)) at `confidence` (in (0, 1)). Returns false only for
 * arguments out of range; too few queries is reported by out->enough.
 */
bool early_stop_estimate(const uint64_t *sorted, size_t n, double percentile,
			 double confidence, struct early_stop_result *out);

#endif
