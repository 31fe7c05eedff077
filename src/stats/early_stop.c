/*
 * LoadGen's binomial early-stopping rule (loadgen/early_stopping.cc,
 * results.cc), computed with a continued fraction for the incomplete beta
 * function and binary searches over h and t.
 */
#include "stats/early_stop.h"

#include <math.h>
#include <string.h>

#include "util/banned.h"

#define BETA_MAX_ITER 200000
#define BETA_EPS 1e-15
#define BETA_TINY 1e-300

/*
 * The continued fraction of I_x(a, b) (modified Lentz); converges quickly
 * for x < (a + 1) / (a + b + 2), and the caller arranges that.
 */
static double beta_cf(double a, double b, double x)
{
	double qab = a + b, qap = a + 1, qam = a - 1;
	double c = 1, d = 1 - qab * x / qap, h;

	if (fabs(d) < BETA_TINY)
		d = BETA_TINY;
	d = 1 / d;
	h = d;
	for (int m = 1; m <= BETA_MAX_ITER; m++) {
		double m2 = 2.0 * m, aa, del;

		aa = m * (b - m) * x / ((qam + m2) * (a + m2));
		d = 1 + aa * d;
		if (fabs(d) < BETA_TINY)
			d = BETA_TINY;
		c = 1 + aa / c;
		if (fabs(c) < BETA_TINY)
			c = BETA_TINY;
		d = 1 / d;
		h *= d * c;
		aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
		d = 1 + aa * d;
		if (fabs(d) < BETA_TINY)
			d = BETA_TINY;
		c = 1 + aa / c;
		if (fabs(c) < BETA_TINY)
			c = BETA_TINY;
		d = 1 / d;
		del = d * c;
		h *= del;
		if (fabs(del - 1) < BETA_EPS)
			break;
	}
	return h;
}

double early_stop_beta_regularized(double x, double a, double b)
{
	double lfront;

	if (!(a > 0) || !(b > 0) || !(x >= 0) || !(x <= 1))
		return NAN;
	if (x == 0)
		return 0;
	if (x == 1)
		return 1;
	lfront = lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) +
		 b * log1p(-x);
	if (x < (a + 1) / (a + b + 2))
		return exp(lfront) * beta_cf(a, b, x) / a;
	return 1 - exp(lfront) * beta_cf(b, a, 1 - x) / b;
}

double early_stop_odds(int64_t h, int64_t t, double p)
{
	if (h < 1 || t < 0)
		return NAN;
	return early_stop_beta_regularized(p, (double)h, (double)t + 1);
}

int64_t early_stop_min_passing(int64_t t, double p, double confidence)
{
	double limit = 1 - confidence;
	int64_t lo = 0, hi = 1;

	if (!(p > 0 && p < 1) || !(confidence > 0 && confidence < 1) || t < 0)
		return -1;
	/* The odds fall as h grows: double hi until it passes, then bisect. */
	while (!(early_stop_odds(hi, t, p) < limit)) {
		lo = hi;
		if (hi > INT64_MAX / 4)
			return -1;
		hi *= 2;
	}
	/* Invariant: lo fails (or is 0), hi passes. */
	while (hi - lo > 1) {
		int64_t mid = lo + (hi - lo) / 2;

		if (early_stop_odds(mid, t, p) < limit)
			hi = mid;
		else
			lo = mid;
	}
	return hi;
}

bool early_stop_estimate(const uint64_t *sorted, size_t n, double percentile,
			 double confidence, struct early_stop_result *out)
{
	double p = percentile / 100;
	int64_t queries = (int64_t)n, h1, lo, hi;

	memset(out, 0, sizeof(*out));
	out->queries = queries;
	h1 = early_stop_min_passing(1, p, confidence);
	if (h1 < 0)
		return false;
	out->min_queries = h1 + 1;
	if (queries < h1 + 1)
		return true;
	/*
	 * h(t) + t grows with t, so the largest t with queries >= h(t) + t is
	 * found by bisection (LoadGen walks t upward one by one; same answer).
	 */
	lo = 1;
	hi = queries;
	while (hi - lo > 1) {
		int64_t mid = lo + (hi - lo) / 2;
		int64_t h = early_stop_min_passing(mid, p, confidence);

		if (h >= 0 && queries >= h + mid)
			lo = mid;
		else
			hi = mid;
	}
	if (hi != lo) {
		int64_t h = early_stop_min_passing(hi, p, confidence);

		if (h >= 0 && queries >= h + hi)
			lo = hi;
	}
	out->enough = true;
	out->overs = lo;
	out->discarded = lo - 1;
	out->estimate_ns = sorted[n - (size_t)lo];
	return true;
}
