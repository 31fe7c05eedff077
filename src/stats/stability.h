/*
 * perf_analyzer's stability rule for measurement windows: the last three
 * windows must all have completed requests, and both their throughputs and
 * their stabilising latencies (average, or the --percentile latency) must lie
 * within a factor 1 + threshold of each other (max / min). Pure functions;
 * depends on nothing.
 */
#ifndef INFERTUNE_STATS_STABILITY_H
#define INFERTUNE_STATS_STABILITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** perf_analyzer's hard-coded stability window: the last 3 measurements. */
#define STABILITY_WINDOWS 3

/** What the rule looks at in one window. Plain value struct. */
struct stability_point {
	bool valid;             /* false: the window failed (no requests, errors) */
	double throughput;      /* inferences per second */
	uint64_t latency_ns;    /* the stabilising latency */
};

/**
 * True when `points[n - count .. n)` are stable: count is at least 3 (the
 * rule looks at the whole tail it is given, so pass 3 for perf_analyzer's
 * rule and more to check that later windows still agree), n >= count, every
 * point is valid with throughput > 0, and max/min <= 1 + threshold for the
 * throughput and, when check_latency, for the latency. threshold is a
 * fraction (--stability-percentage / 100).
 */
bool stability_check(const struct stability_point *points, size_t n,
		     size_t count, double threshold, bool check_latency);

/**
 * The spread (max / min - 1) of the throughput and latency over the last
 * `count` points, for messages; infinity when a point is invalid or zero.
 * Returns false when n < count.
 */
bool stability_spread(const struct stability_point *points, size_t n,
		      size_t count, double *throughput_spread,
		      double *latency_spread);

#endif
