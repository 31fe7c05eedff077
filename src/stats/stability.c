/*
 * The window stability rule (perf_analyzer's DetermineStability).
 */
#include "stats/stability.h"

#include <math.h>

#include "util/banned.h"

/* max / min of throughput and latency over the tail; infinity if a point is bad. */
static bool tail_ratios(const struct stability_point *points, size_t n,
			size_t count, double *tratio, double *lratio)
{
	double tmin = INFINITY, tmax = 0, lmin = INFINITY, lmax = 0;
	bool bad = false;

	if (count == 0 || n < count)
		return false;
	for (size_t i = n - count; i < n; i++) {
		const struct stability_point *p = &points[i];

		if (!p->valid || p->throughput <= 0 || p->latency_ns == 0) {
			bad = true;
			continue;
		}
		tmin = fmin(tmin, p->throughput);
		tmax = fmax(tmax, p->throughput);
		lmin = fmin(lmin, (double)p->latency_ns);
		lmax = fmax(lmax, (double)p->latency_ns);
	}
	*tratio = bad ? INFINITY : tmax / tmin;
	*lratio = bad ? INFINITY : lmax / lmin;
	return true;
}

bool stability_spread(const struct stability_point *points, size_t n,
		      size_t count, double *throughput_spread,
		      double *latency_spread)
{
	double tr, lr;

	if (!tail_ratios(points, n, count, &tr, &lr))
		return false;
	*throughput_spread = tr - 1;
	*latency_spread = lr - 1;
	return true;
}

bool stability_check(const struct stability_point *points, size_t n,
		     size_t count, double threshold, bool check_latency)
{
	double tr, lr;

	if (count < STABILITY_WINDOWS ||
	    !tail_ratios(points, n, count, &tr, &lr))
		return false;
	/* perf_analyzer's comparison, as written: max / min <= 1 + threshold. */
	if (!(tr <= 1 + threshold))
		return false;
	return !check_latency || lr <= 1 + threshold;
}
