/*
 * Confidence intervals and the two-sample test behind every figure infertune
 * reports (docs/statistics.md): a t-interval for a mean of window values,
 * the distribution-free interval of a percentile from the order statistics
 * of pooled samples (binomial bounds), and Welch's test of two means. The
 * distributions come from GSL (linked statically, cdf functions only).
 * Pure functions; depends on nothing else of infertune.
 */
#ifndef INFERTUNE_STATS_INTERVAL_H
#define INFERTUNE_STATS_INTERVAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** The confidence every figure of infertune is given with. */
#define STATS_CONFIDENCE 0.95

/**
 * A two-sided interval. A bound the data cannot give (too few samples for a
 * high percentile, one window for a mean) is NAN: missing, never invented.
 * Plain value struct.
 */
struct stats_interval {
	double lo;
	double hi;
};

/** Both bounds NAN. */
struct stats_interval stats_interval_unknown(void);

/** True when both bounds are known. */
bool stats_interval_known(const struct stats_interval *iv);

/**
 * Half the interval's width relative to `estimate` (0.05 = ±5%); infinity
 * when a bound is unknown or the estimate is 0.
 */
double stats_interval_rel_halfwidth(const struct stats_interval *iv, double estimate);

/**
 * Student's t-interval for the mean of x[0..n) at confidence conf
 * (0 < conf < 1): mean ± t(1 - (1-conf)/2, n-1) · s/√n. *mean is always
 * set (0 for n = 0); the interval is unknown for n < 2. Returns whether it
 * is known.
 */
bool stats_mean_interval(const double *x, size_t n, double conf, double *mean,
			 struct stats_interval *out);

/**
 * The distribution-free interval of the p-th percentile (0 < p < 100) of
 * the sorted samples sorted[0..n): [x(l), x(u)] (1-based order statistics)
 * with l the largest rank such that P(B <= l-1) <= (1-conf)/2 and u the
 * smallest such that P(B <= u-1) >= 1 - (1-conf)/2, B ~ Binomial(n, p/100),
 * so that the coverage P(l <= B < u) is at least conf, exactly, for any
 * continuous distribution. A bound whose rank falls outside 1..n is
 * unknown (NAN). Returns whether both bounds are known. The ranks are
 * written to *l and *u when not NULL (0 and n+1 for the unknown ones).
 */
bool stats_quantile_interval(const uint64_t *sorted, size_t n, double p, double conf,
			     struct stats_interval *out, size_t *l, size_t *u);

/** The result of a two-sample test of means. Plain value struct. */
struct stats_two_sample {
	double diff;                    /* mean(a) - mean(b) */
	struct stats_interval diff_ci;  /* Welch's interval of the difference at conf */
	double p_value;                 /* two-sided; NAN when it cannot be computed */
	bool differ;                    /* p_value < 1 - conf */
};

/**
 * Welch's two-sample t-test of the means of a[0..na) and b[0..nb) (unequal
 * variances, Welch-Satterthwaite degrees of freedom) at confidence conf.
 * Needs na, nb >= 2; otherwise (or when both samples have no variance and
 * equal means) the samples are reported as not differing, p_value NAN
 * (no variance, different means: they differ, p_value 0). Returns
 * whether the test could be computed from variances (na, nb >= 2).
 */
bool stats_welch_test(const double *a, size_t na, const double *b, size_t nb,
		      double conf, struct stats_two_sample *out);

#endif
