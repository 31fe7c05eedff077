/*
 * A model of one served model, fitted to a few measured levels: the time of
 * one execution per batch size (from the server's batch_stats), how
 * concurrent executions share the device (chosen by replaying the measured
 * levels through the simulator), and the time a request spends outside
 * the server. Predictions run predict/des with the fitted model, so they
 * batch as the server does (docs/predictor.md). Depends on predict/des and
 * util/ only: the caller turns its measurements into predict_obs.
 */
#ifndef INFERTUNE_PREDICT_FIT_H
#define INFERTUNE_PREDICT_FIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "predict/des.h"

struct it_error;

/** The largest max_batch a fit takes (predict_fit_new()). */
#define PREDICT_MAX_BATCH ((int64_t)1 << 16)

/** Executions at one batch size over a measured level. Plain value struct. */
struct predict_batch {
	int64_t batch_size;
	uint64_t executions;
	double compute_ns;      /* total compute_input + compute_infer + compute_output */
};

/**
 * One measured level of one configuration. Plain value struct; the
 * config's preferred sizes and the batches are borrowed for the call.
 */
struct predict_obs {
	struct des_config config;
	int32_t threads;        /* intra-op threads of each instance; 0: not a dimension */
	struct des_load load;
	double throughput;      /* infer/s */
	double latency_avg_us;  /* the client's average, NAN unknown */
	double server_us;       /* the server's queue + compute per request, NAN unknown */
	const struct predict_batch *batches;
	size_t n_batches;
};

/** A fitted model (opaque). */
struct predict_fit;

/**
 * A prediction: the simulation's figures and the model's relative
 * uncertainty. The uncertainty holds within what the fit saw; beyond it
 * (more instances than any observation had, or batches larger than any
 * executed) the model extrapolates and `extrapolated` says how: a figure
 * nobody can bound from the measurements, to be read as a guess.
 */
struct predict_result {
	struct des_result des;
	double rel_uncertainty; /* fraction: twice the fit's RMS miss on its observations (>= 0.03) */
	char extrapolated[200]; /* "" within what was measured, else why not */
};

/**
 * Fits a model to obs[0..n) for configurations batching up to max_batch
 * (1..PREDICT_MAX_BATCH). Needs at least one observation with batch
 * statistics; more instance counts and batch sizes make it better
 * (docs/predictor.md says which). IT_ERR_INVALID when nothing can be fitted, with the reason.
 * Deterministic. Caller frees with predict_fit_free().
 */
int predict_fit_new(const struct predict_obs *obs, size_t n, int64_t max_batch,
		    struct predict_fit **out, struct it_error *err);

/**
 * Predicts configuration c (threads as in predict_obs) under load l, with
 * `requests` simulated requests (0: the simulator's default).
 */
int predict_run(const struct predict_fit *f, const struct des_config *c, int32_t threads,
		const struct des_load *l, size_t requests, struct predict_result *out,
		struct it_error *err);

/** predict_max_rate()'s relative precision: the answer is within 1% below the true highest rate. */
#define PREDICT_RATE_PRECISION 0.01

/**
 * The highest open-loop rate (requests/s, constant intervals as
 * perf_analyzer's default, each request of request_batch items; 0 means
 * 1) at which configuration c (threads as in predict_obs) keeps its
 * predicted p99 within p99_budget_us and its queue from growing
 * (des_result.saturated false). Bisection between 0 and the closed-loop
 * saturated throughput (twice the requests the instances can hold), to
 * PREDICT_RATE_PRECISION of the answer; assumes the p99 does not fall as
 * the rate rises, which holds except at the lightest loads with a queue
 * delay (a lone request waits for company). *rate gets the highest rate
 * found within the budget (never above the closed-loop throughput) and
 * *at the prediction there. "None" is an answer, not an error: when no
 * rate down to 1/1024 of the closed-loop throughput (and not below
 * DES_MIN_RATE) is within the budget, it returns 0 with *rate 0 and *at
 * the prediction at the lowest rate tried (its p99 says by how much the
 * budget is missed). IT_ERR_INVALID for a budget that is not a positive
 * finite number; otherwise predict_run()'s errors. Deterministic; about
 * 10 simulations of 20,000 requests.
 */
int predict_max_rate(const struct predict_fit *f, const struct des_config *c, int32_t threads,
		     double p99_budget_us, int64_t request_batch, double *rate,
		     struct predict_result *at, struct it_error *err);

/** The fit's relative uncertainty (see predict_result). */
double predict_fit_uncertainty(const struct predict_fit *f);

/**
 * One line on what was fitted: "exec 4.1 ms + 1.0 ms/item (1 thread),
 * device: 2 slots, overhead 0.31 ms, error <= 3%".
 */
void predict_fit_describe(const struct predict_fit *f, char *buf, size_t size);

/** Frees f; NULL is a no-op. */
void predict_fit_free(struct predict_fit *f);

#endif
