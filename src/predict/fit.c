/*
 * Fitting the simulator's model to measured levels (docs/predictor.md).
 *
 * Decisions, and why:
 *  - Observations are grouped by intra-op thread count: a thread count
 *    changes how long an execution takes and how many fit on the cores,
 *    so each count has its own execution table and device.
 *  - Execution times come from the server's batch_stats of levels with one
 *    instance, where an execution never shares the device; levels with
 *    more instances are used only when a thread count has no such level.
 *    Between measured batch sizes the table interpolates; beyond them it
 *    follows the least-squares line of the measured sizes (never below
 *    the largest measured time), or, with one size measured, grows in
 *    proportion to the batch (no batching gain is assumed unmeasured).
 *  - The device (slots or processor sharing, and how many) is not a
 *    measured quantity: it is the candidate whose simulation of every
 *    observed level of the thread count misses least (throughput and
 *    average latency, relative squared errors). Without a level of more
 *    than one instance there is nothing to choose from: one slot.
 *  - The overhead is the median of (client latency - server time) over the
 *    observations: what the load generator and the network add.
 *  - The uncertainty is twice the root mean square relative throughput
 *    error of the fitted model on its own observations (about a 95% bound
 *    when the errors are normal), at least 3%: a fit that matches what it
 *    saw is still a model. Not the worst error: one noisy level would make
 *    every prediction look unsettled.
 */
#include "predict/fit.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define FIT_MIN_UNCERTAINTY 0.03
#define FIT_REQUESTS 4000               /* per simulated observation while fitting */
#define FIT_SHARED_STEP 0.25            /* processor-sharing candidates: P in steps of this */
#define FIT_FRACTION_GAIN 0.25          /* a fractional P must miss this share less to win */
#define FIT_SERIAL_GAIN 0.25            /* a front-end cost must miss this share less than none */

/* The model of one thread count. */
struct fit_class {
	int32_t threads;
	double *exec_ns;        /* [max_batch] */
	struct des_device device;
	bool measured;          /* it had observations of its own */
	int max_instances;      /* the most instances of its observations */
	int64_t max_exec_batch; /* the largest batch its observations executed */
};

struct predict_fit {
	int64_t max_batch;
	double overhead_ns;
	double serial_ns;       /* the front end's cost per response (des_model.serial_ns) */
	struct fit_class *cls;
	size_t n_cls;
	double uncertainty;
};

/* ---- execution tables --------------------------------------------------- */

struct exec_point {
	int64_t b;
	double ns;              /* mean of one execution */
	double weight;          /* executions */
};

static int point_cmp(const void *a, const void *b)
{
	const struct exec_point *x = a, *y = b;

	return (x->b > y->b) - (x->b < y->b);
}

/* The mean execution time per batch size of obs of `threads`; one_instance: those only. */
static size_t exec_points(const struct predict_obs *obs, size_t n, int32_t threads,
			  bool one_instance, struct exec_point **out)
{
	struct exec_point *p = NULL;
	size_t np = 0;

	for (size_t i = 0; i < n; i++) {
		if (obs[i].threads != threads || (one_instance && obs[i].config.instances != 1))
			continue;
		for (size_t k = 0; k < obs[i].n_batches; k++) {
			const struct predict_batch *b = &obs[i].batches[k];
			size_t j;

			if (b->batch_size < 1 || b->batch_size > PREDICT_MAX_BATCH ||
			    !b->executions || !isfinite(b->compute_ns) || b->compute_ns < 0)
				continue;
			for (j = 0; j < np && p[j].b != b->batch_size; j++)
				;
			if (j == np) {
				p = xreallocarray(p, np + 1, sizeof(*p));
				p[np++] = (struct exec_point){ b->batch_size, 0, 0 };
			}
			p[j].ns += b->compute_ns;
			p[j].weight += (double)b->executions;
		}
	}
	for (size_t j = 0; j < np; j++)
		p[j].ns /= p[j].weight;
	if (np)
		qsort(p, np, sizeof(*p), point_cmp);
	*out = p;
	return np;
}

/* Weighted least squares ns = a + c * b over p[0..n), c >= 0. */
static void line_fit(const struct exec_point *p, size_t n, double *a, double *c)
{
	double sw = 0, sb = 0, st = 0, sbb = 0, sbt = 0, den;

	for (size_t i = 0; i < n; i++) {
		double w = p[i].weight, b = (double)p[i].b;

		sw += w;
		sb += w * b;
		st += w * p[i].ns;
		sbb += w * b * b;
		sbt += w * b * p[i].ns;
	}
	den = sw * sbb - sb * sb;
	*c = den > 0 ? (sw * sbt - sb * st) / den : 0;
	if (*c < 0)
		*c = 0;
	*a = (st - *c * sb) / sw;
}

/* exec[b - 1] for b = 1..max_batch from the measured points (np >= 1). */
static void exec_table(const struct exec_point *p, size_t np, int64_t max_batch, double *exec)
{
	double a, c;

	line_fit(p, np, &a, &c);
	for (int64_t b = 1; b <= max_batch; b++) {
		double t;
		size_t j = 0;

		while (j < np && p[j].b < b)
			j++;
		if (j < np && p[j].b == b) {
			t = p[j].ns;
		} else if (np == 1) {
			t = p[0].ns * (double)b / (double)p[0].b;
		} else if (j == 0) {
			t = fmin(p[0].ns, fmax(a + c * (double)b, 0));
		} else if (j == np) {
			t = fmax(p[np - 1].ns, a + c * (double)b);
		} else {
			double f = (double)(b - p[j - 1].b) / (double)(p[j].b - p[j - 1].b);

			t = p[j - 1].ns + f * (p[j].ns - p[j - 1].ns);
		}
		exec[b - 1] = t;
	}
}

/* ---- simulating observations --------------------------------------------- */

static int simulate(const struct predict_fit *f, const struct fit_class *fc,
		    const struct des_config *c, const struct des_load *l, size_t requests,
		    struct des_result *out, struct it_error *err)
{
	struct des_model m = {
		.exec_ns = fc->exec_ns, .n_exec = (size_t)f->max_batch,
		.device = fc->device, .overhead_ns = f->overhead_ns,
		.serial_ns = f->serial_ns,
	};
	struct des_options o;

	des_options_init(&o);
	if (requests) {
		o.requests = requests;
		o.warmup = requests / 10;
	}
	return des_run(&m, c, l, &o, out, err);
}

static double rel_err(double pred, double meas)
{
	return meas > 0 && isfinite(meas) ? (pred - meas) / meas : 0;
}

/* Σ relative squared errors of fc over the observations of its thread count. */
static double class_miss(const struct predict_fit *f, const struct fit_class *fc,
			 const struct predict_obs *obs, size_t n)
{
	double sum = 0;

	for (size_t i = 0; i < n; i++) {
		struct des_result r;
		double e;

		if (obs[i].threads != fc->threads)
			continue;
		if (simulate(f, fc, &obs[i].config, &obs[i].load, FIT_REQUESTS, &r, NULL))
			return INFINITY;
		e = rel_err(r.throughput, obs[i].throughput);
		sum += e * e;
		if (isfinite(obs[i].latency_avg_us)) {
			e = rel_err(r.latency_avg_us, obs[i].latency_avg_us);
			sum += 0.5 * e * e;
		}
	}
	return sum;
}

/*
 * The device that misses fc's observations least; one slot without a
 * multi-instance level. Whole-number parallelism (slots or processor
 * sharing) is tried first; a fractional sharing replaces the best of those
 * only when it misses by FIT_FRACTION_GAIN less: on a few noisy levels a
 * finer candidate otherwise wins by fitting the noise (1.75 shared
 * against the 2 slots a sim device has).
 */
static void fit_device(const struct predict_fit *f, struct fit_class *fc,
		       const struct predict_obs *obs, size_t n)
{
	int max_inst = 1;
	double best = INFINITY, best_fraction = INFINITY;
	struct des_device keep = { DES_SLOTS, 1 }, fraction = keep;

	for (size_t i = 0; i < n; i++)
		if (obs[i].threads == fc->threads && obs[i].config.instances > max_inst)
			max_inst = obs[i].config.instances;
	fc->device = keep;
	if (max_inst == 1)
		return;
	for (int kind = 0; kind < 2; kind++) {
		double step = kind == 0 ? 1 : FIT_SHARED_STEP;

		for (double p = 1; p <= max_inst + 1e-9; p += step) {
			bool whole = p == floor(p);
			double miss;

			fc->device = (struct des_device){ kind == 0 ? DES_SLOTS : DES_SHARED, p };
			miss = class_miss(f, fc, obs, n);
			if (whole && miss < best * (1 - 1e-9)) {
				best = miss;
				keep = fc->device;
			} else if (!whole && miss < best_fraction * (1 - 1e-9)) {
				best_fraction = miss;
				fraction = fc->device;
			}
		}
	}
	fc->device = best_fraction < best * (1 - FIT_FRACTION_GAIN) ? fraction : keep;
}

/*
 * The front end's cost per response that misses every observation least,
 * given the devices: a batch's responses leave one after another, so its
 * clients come back staggered and the next batch forms from part of them
 * (a closed loop of 64 clients on one instance alternating batches of 32
 * where the simulation with no such cost predicts batches of 64). Fitted
 * only when some level batched dynamically, with batches of several
 * requests (without, the cost cannot be told from the overhead); a
 * candidate must miss FIT_SERIAL_GAIN less than no cost at all to be
 * kept. True when one was kept (the devices are then fitted again).
 */
static bool fit_serial(struct predict_fit *f, const struct predict_obs *obs, size_t n)
{
	static const double candidates_us[] = { 10, 25, 50, 100, 200, 400 };
	double none = 0, best;
	bool batched = false;

	/* Only batches of several requests show the stagger; without, it is the overhead's. */
	for (size_t i = 0; i < n && !batched; i++)
		for (size_t k = 0; k < obs[i].n_batches && obs[i].config.dynamic_batching &&
		     !batched; k++)
			batched = obs[i].batches[k].batch_size > 1 && obs[i].batches[k].executions;
	if (!batched)
		return false;

	for (size_t i = 0; i < f->n_cls; i++)
		if (f->cls[i].measured)
			none += class_miss(f, &f->cls[i], obs, n);
	best = none;
	for (size_t k = 0; k < sizeof(candidates_us) / sizeof(candidates_us[0]); k++) {
		double miss = 0, keep = f->serial_ns;

		f->serial_ns = candidates_us[k] * 1e3;
		for (size_t i = 0; i < f->n_cls; i++)
			if (f->cls[i].measured)
				miss += class_miss(f, &f->cls[i], obs, n);
		if (!(miss < best * (1 - 1e-9) && miss < none * (1 - FIT_SERIAL_GAIN)))
			f->serial_ns = keep;
		else
			best = miss;
	}
	return f->serial_ns > 0;
}

/* ---- the fit ------------------------------------------------------------- */

static int obs_check(const struct predict_obs *o, size_t i, struct it_error *err)
{
	if (o->config.instances < 1 || !isfinite(o->throughput) || o->throughput <= 0)
		return it_error_set(err, IT_ERR_INVALID,
				    "observation %zu: %s", i, o->config.instances < 1 ?
				    "no instance" : "no throughput");
	return 0;
}

static int double_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), double_cmp);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static double fit_overhead(const struct predict_obs *obs, size_t n)
{
	double *v = xcalloc(n ? n : 1, sizeof(*v));
	size_t k = 0;
	double m;

	for (size_t i = 0; i < n; i++)
		if (isfinite(obs[i].latency_avg_us) && isfinite(obs[i].server_us) &&
		    obs[i].latency_avg_us >= obs[i].server_us)
			v[k++] = (obs[i].latency_avg_us - obs[i].server_us) * 1e3;
	m = k ? median(v, k) : 0;
	free(v);
	return m;
}

static struct fit_class *class_get(const struct predict_fit *f, int32_t threads)
{
	for (size_t i = 0; i < f->n_cls; i++)
		if (f->cls[i].threads == threads)
			return &f->cls[i];
	return NULL;
}

/* A class's table from its own levels (one-instance ones first); false when it has none. */
static bool class_table(struct predict_fit *f, struct fit_class *fc,
			const struct predict_obs *obs, size_t n)
{
	struct exec_point *p = NULL;
	size_t np = exec_points(obs, n, fc->threads, true, &p);

	if (!np) {
		free(p);
		np = exec_points(obs, n, fc->threads, false, &p);
	}
	if (np) {
		exec_table(p, np, f->max_batch, fc->exec_ns);
		fc->max_exec_batch = p[np - 1].b;
	}
	free(p);
	for (size_t i = 0; i < n; i++)
		if (obs[i].threads == fc->threads && obs[i].config.instances > fc->max_instances)
			fc->max_instances = obs[i].config.instances;
	return np > 0;
}

/* Twice the root mean square relative throughput error on the observations (>= the floor). */
static void fit_uncertainty(struct predict_fit *f, const struct predict_obs *obs, size_t n)
{
	double sum = 0;
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		const struct fit_class *fc = class_get(f, obs[i].threads);
		struct des_result r;

		if (fc && !simulate(f, fc, &obs[i].config, &obs[i].load, FIT_REQUESTS, &r, NULL)) {
			double e = rel_err(r.throughput, obs[i].throughput);

			sum += e * e;
			k++;
		}
	}
	f->uncertainty = k ? fmax(FIT_MIN_UNCERTAINTY, 2 * sqrt(sum / (double)k)) :
			 FIT_MIN_UNCERTAINTY;
}

int predict_fit_new(const struct predict_obs *obs, size_t n, int64_t max_batch,
		    struct predict_fit **out, struct it_error *err)
{
	struct predict_fit *f;
	size_t fitted = 0;
	int rc;

	if (max_batch < 1 || max_batch > PREDICT_MAX_BATCH)
		return it_error_set(err, IT_ERR_INVALID, "max batch %lld is out of 1..%lld",
				    (long long)max_batch, (long long)PREDICT_MAX_BATCH);
	for (size_t i = 0; i < n; i++) {
		rc = obs_check(&obs[i], i, err);
		if (rc)
			return rc;
	}
	f = xcalloc(1, sizeof(*f));
	f->max_batch = max_batch;
	f->overhead_ns = fit_overhead(obs, n);
	for (size_t i = 0; i < n; i++) {
		struct fit_class *fc;

		if (class_get(f, obs[i].threads))
			continue;
		f->cls = xreallocarray(f->cls, f->n_cls + 1, sizeof(*f->cls));
		fc = &f->cls[f->n_cls++];
		memset(fc, 0, sizeof(*fc));
		fc->threads = obs[i].threads;
		fc->exec_ns = xcalloc((size_t)max_batch, sizeof(*fc->exec_ns));
		fc->measured = class_table(f, fc, obs, n);
		fitted += fc->measured;
	}
	if (!fitted) {
		predict_fit_free(f);
		return it_error_set(err, IT_ERR_INVALID,
				    "no level has the server's batch statistics (batch_stats) to fit "
				    "execution times to");
	}
	for (size_t i = 0; i < f->n_cls; i++)
		if (f->cls[i].measured)
			fit_device(f, &f->cls[i], obs, n);
	if (fit_serial(f, obs, n)) {
		for (size_t i = 0; i < f->n_cls; i++)
			if (f->cls[i].measured)
				fit_device(f, &f->cls[i], obs, n);
	}
	fit_uncertainty(f, obs, n);
	*out = f;
	return 0;
}

/*
 * Where a prediction leaves what the fit saw: more instances than measured
 * (how they share the device was never observed, least of all when one
 * instance was all it saw) or batches larger than any executed (their
 * time is the fitted line's, not a measurement). Writes "" when neither.
 */
static void extrapolation(const struct fit_class *fc, const struct des_config *c,
			  const struct des_result *r, char *buf, size_t size)
{
	int n = 0;

	buf[0] = '\0';
	if (c->instances > fc->max_instances)
		n = snprintf(buf, size, "%d instances, measured up to %d", c->instances,
			     fc->max_instances);
	if (r->max_batch > fc->max_exec_batch && n >= 0 && (size_t)n < size)
		snprintf(buf + n, size - (size_t)n, "%sbatches of %lld, executed up to %lld",
			 n ? "; " : "", (long long)r->max_batch, (long long)fc->max_exec_batch);
}

int predict_run(const struct predict_fit *f, const struct des_config *c, int32_t threads,
		const struct des_load *l, size_t requests, struct predict_result *out,
		struct it_error *err)
{
	const struct fit_class *fc = class_get(f, threads);
	int rc;

	if (!fc || !fc->measured)
		return it_error_set(err, IT_ERR_NOT_FOUND,
				    "nothing was measured with %d intra-op threads", threads);
	rc = simulate(f, fc, c, l, requests, &out->des, err);
	if (rc)
		return rc;
	out->rel_uncertainty = f->uncertainty;
	extrapolation(fc, c, &out->des, out->extrapolated, sizeof(out->extrapolated));
	return 0;
}

/* ---- the highest rate within a latency budget --------------------------- */

/* Below this fraction of the closed-loop throughput, no rate is within the budget. */
#define RATE_FLOOR (1.0 / 1024)

/*
 * The closed-loop saturated throughput, requests/s: twice the requests
 * the instances can hold at once keep every instance busy (a batch
 * forming while the last one runs), so no rate above it can be served.
 */
static int closed_loop_rate(const struct predict_fit *f, const struct des_config *c,
			    int32_t threads, int64_t request_batch, double *out,
			    struct it_error *err)
{
	double per_instance = c->max_batch_size > 0 && c->dynamic_batching ?
			      fmax(1, (double)(c->max_batch_size / request_batch)) : 1;
	struct des_load l = {
		.kind = DES_CONCURRENCY, .request_batch = request_batch,
		.value = fmin(DES_MAX_CONCURRENCY, 2 * (double)c->instances * per_instance),
	};
	struct predict_result r;
	int rc = predict_run(f, c, threads, &l, 0, &r, err);

	if (!rc)
		*out = r.des.throughput / (double)request_batch;
	return rc;
}

int predict_max_rate(const struct predict_fit *f, const struct des_config *c, int32_t threads,
		     double p99_budget_us, int64_t request_batch, double *rate,
		     struct predict_result *at, struct it_error *err)
{
	struct predict_result r, best;
	double lo = 0, hi = 0, top = 0;
	int rc;

	if (!isfinite(p99_budget_us) || p99_budget_us <= 0)
		return it_error_set(err, IT_ERR_INVALID,
				    "the p99 budget must be a positive number of microseconds");
	if (request_batch < 1)
		request_batch = 1;
	rc = closed_loop_rate(f, c, threads, request_batch, &top, err);
	if (rc)
		return rc;
	hi = top;
	memset(&best, 0, sizeof(best));
	/* lo: the highest rate within the budget so far (0: none yet); hi: above it. */
	while (lo > 0 ? hi - lo > PREDICT_RATE_PRECISION * lo :
	       hi >= fmax(RATE_FLOOR * top, 2 * DES_MIN_RATE)) {
		struct des_load l = {
			.kind = DES_REQUEST_RATE, .value = (lo + hi) / 2, .poisson = false,
			.request_batch = request_batch,
		};

		rc = predict_run(f, c, threads, &l, 0, &r, err);
		if (rc)
			return rc;
		if (!r.des.saturated && r.des.p99_us <= p99_budget_us) {
			lo = l.value;
			best = r;
		} else {
			hi = l.value;
			if (lo == 0)
				best = r;
		}
	}
	*rate = lo;
	*at = best;
	return 0;
}

double predict_fit_uncertainty(const struct predict_fit *f)
{
	return f->uncertainty;
}

void predict_fit_describe(const struct predict_fit *f, char *buf, size_t size)
{
	size_t used = 0;
	char serial[64] = "";

	buf[0] = '\0';
	if (f->serial_ns > 0)
		snprintf(serial, sizeof(serial), ", %.0f us per response", f->serial_ns / 1e3);
	for (size_t i = 0; i < f->n_cls && used < size; i++) {
		const struct fit_class *fc = &f->cls[i];
		const double *e = fc->exec_ns;

		if (!fc->measured)
			continue;
		used += (size_t)snprintf(buf + used, size - used, "%sexec %.2f ms at batch 1",
					 used ? "; " : "", e[0] / 1e6);
		if (f->max_batch > 1 && used < size)
			used += (size_t)snprintf(buf + used, size - used, ", %.2f ms at %lld",
						 e[f->max_batch - 1] / 1e6,
						 (long long)f->max_batch);
		if (fc->threads && used < size)
			used += (size_t)snprintf(buf + used, size - used, " (%d threads)",
						 fc->threads);
		if (used < size)
			used += (size_t)snprintf(buf + used, size - used, ", device %s %g",
						 fc->device.kind == DES_SLOTS ? "slots" : "shared",
						 fc->device.parallelism);
	}
	if (used < size)
		snprintf(buf + used, size - used, "; overhead %.2f ms%s; error <= %.0f%%",
			 f->overhead_ns / 1e6, serial, f->uncertainty * 100);
}

void predict_fit_free(struct predict_fit *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->n_cls; i++)
		free(f->cls[i].exec_ns);
	free(f->cls);
	free(f);
}
