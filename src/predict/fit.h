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

/** A prediction: the simulation's figures and the model's relative uncertainty. */
struct predict_result {
	struct des_result des;
	double rel_uncertainty; /* fraction: twice the fit's RMS miss on its observations (>= 0.03) */
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
