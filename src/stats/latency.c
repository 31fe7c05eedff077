/*
 * Exact latency statistics over every recorded sample.
 */
#include "stats/latency.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"
#include "util/banned.h"

const int latency_std_percentiles[LATENCY_N_STD_PERCENTILES] = { 50, 90, 95, 99 };

void latency_samples_init(struct latency_samples *s)
{
	s->ns = NULL;
	s->n = 0;
	s->alloc = 0;
}

void latency_samples_release(struct latency_samples *s)
{
	free(s->ns);
	latency_samples_init(s);
}

void latency_samples_clear(struct latency_samples *s)
{
	s->n = 0;
}

void latency_samples_reserve(struct latency_samples *s, size_t n)
{
	XGROW(s->ns, s->alloc, s->n + n);
}

void latency_samples_add(struct latency_samples *s, uint64_t ns)
{
	if (s->n == s->alloc)
		XGROW(s->ns, s->alloc, s->n + 1);
	s->ns[s->n++] = ns;
}

void latency_samples_append(struct latency_samples *dst,
			    const struct latency_samples *src)
{
	if (!src->n)
		return;
	XGROW(dst->ns, dst->alloc, dst->n + src->n);
	memcpy(dst->ns + dst->n, src->ns, src->n * sizeof(*src->ns));
	dst->n += src->n;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a;
	uint64_t y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

void latency_samples_sort(struct latency_samples *s)
{
	if (s->n > 1)
		qsort(s->ns, s->n, sizeof(*s->ns), cmp_u64);
}

uint64_t latency_percentile(const uint64_t *sorted, size_t n, double p)
{
	/* perf_analyzer: size_t index = (p / 100.0) * (n - 1) + 0.5 */
	size_t idx = (size_t)(p / 100.0 * (double)(n - 1) + 0.5);

	if (idx >= n)
		idx = n - 1;
	return sorted[idx];
}

bool latency_summarize(const uint64_t *sorted, size_t n, int extra_percentile,
		       struct latency_summary *out)
{
	long double sum = 0, sq = 0, mean;
	uint64_t total = 0;

	memset(out, 0, sizeof(*out));
	out->extra_percentile = extra_percentile;
	if (!n)
		return false;
	for (size_t i = 0; i < n; i++) {
		total += sorted[i];
		sum += (long double)sorted[i];
	}
	out->count = n;
	/* The integer mean as perf_analyzer computes it (sum / n, truncated). */
	out->avg_ns = total / n;
	mean = sum / (long double)n;
	if (n > 1) {
		for (size_t i = 0; i < n; i++) {
			long double d = (long double)sorted[i] - mean;

			sq += d * d;
		}
		out->std_us = (uint64_t)(sqrtl(sq / (long double)(n - 1)) / 1000.0L);
	} else {
		out->std_us = UINT64_MAX;
	}
	out->min_ns = sorted[0];
	out->max_ns = sorted[n - 1];
	for (int i = 0; i < LATENCY_N_STD_PERCENTILES; i++)
		out->p_ns[i] = latency_percentile(sorted, n,
						  latency_std_percentiles[i]);
	if (extra_percentile > 0)
		out->extra_ns = latency_percentile(sorted, n, extra_percentile);
	return true;
}
