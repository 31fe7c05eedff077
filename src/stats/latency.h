/*
 * Latency samples and their exact summary: every sample of a measurement
 * window is kept (nanoseconds), windows are merged by concatenation, and the
 * percentiles are read from the sorted merge, never estimated from buckets.
 * The percentile rule and the standard deviation are perf_analyzer's, so the
 * figures match it sample for sample. Depends on util/ only.
 */
#ifndef INFERTUNE_STATS_LATENCY_H
#define INFERTUNE_STATS_LATENCY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/**
 * A growable array of latencies in nanoseconds. Embedded value struct:
 * latency_samples_init() before use, latency_samples_release() after.
 * Not thread-safe: one owner at a time (a worker, then the merger).
 */
struct latency_samples {
	uint64_t *ns;
	size_t n;
	size_t alloc;
};

/** Initialises an empty set (allocates nothing). */
void latency_samples_init(struct latency_samples *s);
/** Frees the storage and leaves s empty. */
void latency_samples_release(struct latency_samples *s);
/** Empties s, keeping its storage for reuse. */
void latency_samples_clear(struct latency_samples *s);
/** Makes room for `n` more samples without reallocating on each add. */
void latency_samples_reserve(struct latency_samples *s, size_t n);
/** Appends one sample. */
void latency_samples_add(struct latency_samples *s, uint64_t ns);
/** Appends every sample of src to dst (src unchanged). */
void latency_samples_append(struct latency_samples *dst,
			    const struct latency_samples *src);
/** Sorts in increasing order. */
void latency_samples_sort(struct latency_samples *s);

/**
 * perf_analyzer's nearest-rank percentile of `sorted[0..n)`:
 * sorted[(size_t)(p / 100 * (n - 1) + 0.5)]. p in [0, 100]; n > 0.
 */
uint64_t latency_percentile(const uint64_t *sorted, size_t n, double p);

/** The percentiles every summary reports, in column order. */
#define LATENCY_N_STD_PERCENTILES 4
extern const int latency_std_percentiles[LATENCY_N_STD_PERCENTILES];

/**
 * Summary of a set of latencies. Plain value struct. `extra_percentile` is
 * the user's --percentile (0 when none) and `extra_ns` its value; when it is
 * one of 50/90/95/99 it repeats that column.
 */
struct latency_summary {
	size_t count;
	uint64_t avg_ns;        /* integer mean, as perf_analyzer truncates */
	uint64_t std_us;        /* sample standard deviation in µs; UINT64_MAX for one sample */
	uint64_t min_ns;
	uint64_t max_ns;
	uint64_t p_ns[LATENCY_N_STD_PERCENTILES]; /* p50, p90, p95, p99 */
	int extra_percentile;
	uint64_t extra_ns;
};

/**
 * Summarises `sorted[0..n)` (must be sorted). extra_percentile is 0 or in
 * [1, 99]. Returns false (and zeroes *out) when n is 0.
 */
bool latency_summarize(const uint64_t *sorted, size_t n, int extra_percentile,
		       struct latency_summary *out);

#endif
