/*
 * Pre-generated open-loop schedules and the seeded generator behind them.
 */
#include "loadgen/schedule.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"
#include "util/fs.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define NS_PER_S 1e9
#define INTERVALS_MAX_FILE_BYTES ((size_t)256 << 20)

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void lg_rng_seed(struct lg_rng *rng, uint64_t seed)
{
	uint64_t x = seed;

	for (int i = 0; i < 4; i++)
		rng->s[i] = splitmix64(&x);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t lg_rng_next(struct lg_rng *rng)
{
	uint64_t *s = rng->s;
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

double lg_rng_uniform(struct lg_rng *rng)
{
	return (double)(lg_rng_next(rng) >> 11) * 0x1.0p-53;
}

/* Turns n gaps (ns, as doubles to keep sub-ns accumulation) into a schedule. */
static void from_gaps(const double *gaps, size_t n, struct schedule *out)
{
	double t = 0;

	out->at_ns = xcalloc(n, sizeof(*out->at_ns));
	out->n = n;
	for (size_t i = 0; i < n; i++) {
		out->at_ns[i] = (uint64_t)llround(t);
		t += gaps[i];
	}
	out->period_ns = (uint64_t)llround(t);
	if (out->period_ns <= out->at_ns[n - 1])
		out->period_ns = out->at_ns[n - 1] + 1;
}

static int check(double rate, size_t n, struct it_error *err)
{
	if (!(rate > 0) || !isfinite(rate))
		return it_error_set(err, IT_ERR_INVALID,
				    "request rate %g must be a positive number", rate);
	if (1 / rate > 3600)
		return it_error_set(err, IT_ERR_INVALID,
				    "request rate %g is below one request per hour", rate);
	if (n < 1 || n > SCHEDULE_MAX_SENDS)
		return it_error_set(err, IT_ERR_INVALID,
				    "a schedule holds 1 to %zu sends, not %zu",
				    SCHEDULE_MAX_SENDS, n);
	return 0;
}

int schedule_constant(double rate, size_t n, struct schedule *out,
		      struct it_error *err)
{
	double *gaps;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = check(rate, n, err);
	if (rc)
		return rc;
	gaps = xcalloc(n, sizeof(*gaps));
	for (size_t i = 0; i < n; i++)
		gaps[i] = NS_PER_S / rate;
	from_gaps(gaps, n, out);
	free(gaps);
	return 0;
}

int schedule_poisson(double rate, uint64_t seed, size_t n,
		     struct schedule *out, struct it_error *err)
{
	struct lg_rng rng;
	double *gaps;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = check(rate, n, err);
	if (rc)
		return rc;
	lg_rng_seed(&rng, seed);
	gaps = xcalloc(n, sizeof(*gaps));
	/* Inverse transform: -ln(1 - U) / rate, U in [0, 1) so 1 - U > 0. */
	for (size_t i = 0; i < n; i++)
		gaps[i] = -log1p(-lg_rng_uniform(&rng)) / rate * NS_PER_S;
	from_gaps(gaps, n, out);
	free(gaps);
	return 0;
}

int schedule_from_intervals(const uint64_t *intervals_ns, size_t n,
			    struct schedule *out, struct it_error *err)
{
	double *gaps;
	double total = 0;

	memset(out, 0, sizeof(*out));
	if (n < 1 || n > SCHEDULE_MAX_SENDS)
		return it_error_set(err, IT_ERR_INVALID,
				    "a schedule holds 1 to %zu sends, not %zu",
				    SCHEDULE_MAX_SENDS, n);
	gaps = xcalloc(n, sizeof(*gaps));
	for (size_t i = 0; i < n; i++) {
		gaps[i] = (double)intervals_ns[i];
		total += gaps[i];
	}
	if (total <= 0) {
		free(gaps);
		return it_error_set(err, IT_ERR_INVALID,
				    "the request intervals add up to 0: no rate to send at");
	}
	from_gaps(gaps, n, out);
	free(gaps);
	return 0;
}

int schedule_read_intervals(const char *path, uint64_t **intervals_ns,
			    size_t *n, struct it_error *err)
{
	char *text = NULL;
	size_t len, count = 0, alloc = 0;
	uint64_t *v = NULL;
	int rc, line = 0;
	char *p;

	rc = fs_read_file(path, INTERVALS_MAX_FILE_BYTES, &text, &len, err);
	if (rc)
		goto out;
	p = text;
	while (*p) {
		char *eol = strchr(p, '\n');
		char *end, *q;
		unsigned long long us;

		line++;
		if (eol)
			*eol = '\0';
		q = p;
		while (*q == ' ' || *q == '\t' || *q == '\r')
			q++;
		if (*q && *q != '#') {
			errno = 0;
			if (*q < '0' || *q > '9') {
				rc = it_error_at(err, IT_ERR_PARSE, path, line, (int)(q - p) + 1,
						 "expected an interval in microseconds (a whole number)");
				goto out;
			}
			us = strtoull(q, &end, 10);
			while (*end == ' ' || *end == '\t' || *end == '\r')
				end++;
			if (errno || (*end && *end != '#') ||
			    us > UINT64_MAX / 1000) {
				rc = it_error_at(err, IT_ERR_PARSE, path, line, (int)(q - p) + 1,
						 "expected an interval in microseconds (a whole number)");
				goto out;
			}
			if (count == SCHEDULE_MAX_SENDS) {
				rc = it_error_at(err, IT_ERR_LIMIT, path, line, 1,
						 "more than %zu intervals",
						 SCHEDULE_MAX_SENDS);
				goto out;
			}
			XGROW(v, alloc, count + 1);
			v[count++] = (uint64_t)us * 1000;
		}
		if (!eol)
			break;
		p = eol + 1;
	}
	if (!count) {
		rc = it_error_at(err, IT_ERR_INVALID, path, 0, 0,
				 "no intervals in the file");
		goto out;
	}
	*intervals_ns = v;
	*n = count;
	v = NULL;
out:
	free(v);
	free(text);
	return rc;
}

uint64_t schedule_time(const struct schedule *s, uint64_t k)
{
	return s->at_ns[k % s->n] + (k / s->n) * s->period_ns;
}

double schedule_rate(const struct schedule *s)
{
	return s->period_ns ? (double)s->n * NS_PER_S / (double)s->period_ns : 0;
}

void schedule_release(struct schedule *s)
{
	free(s->at_ns);
	memset(s, 0, sizeof(*s));
}
