/*
 * Confidence intervals and Welch's test (see interval.h). The quantile
 * functions of Student's t and the binomial distribution are GSL's; what
 * is written here is only which ranks and which degrees of freedom.
 */
#include "stats/interval.h"

#include <math.h>

#include <gsl/gsl_cdf.h>

#include "util/banned.h"

struct stats_interval stats_interval_unknown(void)
{
	struct stats_interval iv = { NAN, NAN };

	return iv;
}

bool stats_interval_known(const struct stats_interval *iv)
{
	return !isnan(iv->lo) && !isnan(iv->hi);
}

double stats_interval_rel_halfwidth(const struct stats_interval *iv, double estimate)
{
	if (!stats_interval_known(iv) || estimate == 0)
		return INFINITY;
	return (iv->hi - iv->lo) / 2 / fabs(estimate);
}

/* Mean and sample variance in one pass (Welford: no cancellation). */
static void mean_var(const double *x, size_t n, double *mean, double *var)
{
	double m = 0, s = 0;

	for (size_t i = 0; i < n; i++) {
		double d = x[i] - m;

		m += d / (double)(i + 1);
		s += d * (x[i] - m);
	}
	*mean = m;
	*var = n > 1 ? s / (double)(n - 1) : 0;
}

bool stats_mean_interval(const double *x, size_t n, double conf, double *mean,
			 struct stats_interval *out)
{
	double var, half;

	mean_var(x, n, mean, &var);
	*out = stats_interval_unknown();
	if (n < 2)
		return false;
	half = gsl_cdf_tdist_Pinv(1 - (1 - conf) / 2, (double)(n - 1)) *
	       sqrt(var / (double)n);
	out->lo = *mean - half;
	out->hi = *mean + half;
	return true;
}

/*
 * The largest k in [-1, n] with P(B <= k) <= target, B ~ Binomial(n, q);
 * P(B <= -1) = 0. The CDF increases with k, so a binary search finds it.
 */
static long binomial_rank_below(size_t n, double q, double target)
{
	long lo = -1, hi = (long)n; /* P(B <= lo) <= target; P(B <= n) = 1 */

	if (target >= 1)
		return (long)n;
	while (hi - lo > 1) {
		long mid = lo + (hi - lo) / 2;

		if (gsl_cdf_binomial_P((unsigned)mid, q, (unsigned)n) <= target)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

bool stats_quantile_interval(const uint64_t *sorted, size_t n, double p, double conf,
			     struct stats_interval *out, size_t *l_out, size_t *u_out)
{
	double q = p / 100, alpha = 1 - conf;
	size_t l = 0, u = n + 1;

	*out = stats_interval_unknown();
	if (n > 0 && n <= UINT32_MAX && q > 0 && q < 1) {
		/* l - 1 = the largest k with P(B <= k) <= alpha/2. */
		l = (size_t)(binomial_rank_below(n, q, alpha / 2) + 1);
		/* u - 1 = the smallest k with P(B <= k) >= 1 - alpha/2. */
		long k = binomial_rank_below(n, q, 1 - alpha / 2);

		if (k < 0 || gsl_cdf_binomial_P((unsigned)k, q, (unsigned)n) < 1 - alpha / 2)
			k++;
		u = (size_t)k + 1;
	}
	if (l >= 1 && l <= n)
		out->lo = (double)sorted[l - 1];
	else
		l = 0;
	if (u >= 1 && u <= n)
		out->hi = (double)sorted[u - 1];
	else
		u = n + 1;
	if (l_out)
		*l_out = l;
	if (u_out)
		*u_out = u;
	return stats_interval_known(out);
}

bool stats_welch_test(const double *a, size_t na, const double *b, size_t nb,
		      double conf, struct stats_two_sample *out)
{
	double ma, va, mb, vb, se2, df, t, half;

	mean_var(a, na, &ma, &va);
	mean_var(b, nb, &mb, &vb);
	out->diff = ma - mb;
	out->diff_ci = stats_interval_unknown();
	out->p_value = NAN;
	out->differ = false;
	if (na < 2 || nb < 2)
		return false;
	se2 = va / (double)na + vb / (double)nb;
	if (se2 <= 0) {
		/* No spread at all: the means are the whole story. */
		out->diff_ci.lo = out->diff_ci.hi = out->diff;
		out->differ = out->diff != 0;
		out->p_value = out->differ ? 0 : NAN;
		return true;
	}
	df = se2 * se2 / ((va / (double)na) * (va / (double)na) / (double)(na - 1) +
			  (vb / (double)nb) * (vb / (double)nb) / (double)(nb - 1));
	t = out->diff / sqrt(se2);
	out->p_value = 2 * gsl_cdf_tdist_Q(fabs(t), df);
	out->differ = out->p_value < 1 - conf;
	half = gsl_cdf_tdist_Pinv(1 - (1 - conf) / 2, df) * sqrt(se2);
	out->diff_ci.lo = out->diff - half;
	out->diff_ci.hi = out->diff + half;
	return true;
}
