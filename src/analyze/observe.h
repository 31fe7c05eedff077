/*
 * Observations for the predictor (predict/fit) from stored measurements:
 * one per valid sweep level of a configuration, with the server's
 * batch_stats. Shared by the predictive search (which feeds them as they
 * are measured) and `infertune predict` (which reads a finished analysis
 * back from results.db), so both fit the same model to the same levels.
 * Depends on analyze/objective, analyze/variant, model/, predict/, store/.
 */
#ifndef INFERTUNE_ANALYZE_OBSERVE_H
#define INFERTUNE_ANALYZE_OBSERVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "predict/fit.h"

struct model_config;
struct store_measurement;

/** One observation with the arrays it owns (free with observation_release()). */
struct observation {
	struct predict_obs o;           /* o.config.preferred / o.batches point below on view */
	int32_t preferred;              /* the largest preferred batch size (0: none) */
	struct predict_batch *batches;
	int64_t measurement_id;
};

/**
 * Fills *out from measurement m of configuration cfg; threads_dim: the
 * intra-op thread count is a dimension of the space (else o.threads is 0).
 * False (nothing allocated) when m is not a valid sweep level with a
 * throughput: failed, a re-measurement of another phase.
 */
bool observation_from(const struct model_config *cfg, bool threads_dim,
		      const struct store_measurement *m, struct observation *out);

/** Frees what *ob owns. */
void observation_release(struct observation *ob);

/**
 * The observations as predict_fit_new() reads them: an array of n (at
 * least one element allocated) whose borrowed pointers point into obs.
 * Caller frees the array (not what it points to).
 */
struct predict_obs *observations_view(const struct observation *obs, size_t n);

#endif
