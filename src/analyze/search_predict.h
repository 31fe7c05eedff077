/*
 * The predictive search's model of a served model, replayed outside a
 * search: the same observations (every valid concurrency sweep measurement),
 * the same fit and the same space as search_predict.c's, so that a
 * benchmark can ask what the search's final fit predicts for every point of
 * its space, measured or not (bench/search-quality). Depends on
 * analyze/search, predict/fit and store/ only.
 */
#ifndef INFERTUNE_ANALYZE_SEARCH_PREDICT_H
#define INFERTUNE_ANALYZE_SEARCH_PREDICT_H

#include <stddef.h>

#include "analyze/search.h"
#include "store/figures.h"

struct it_error;
struct model_config;
struct store_measurement;

/** A replayed fit over the predictive search's space (opaque). */
struct predictive_replay;

/**
 * The predictive search's space over `space` (borrowed for the replay's
 * lifetime), with no observation yet. IT_ERR_INVALID for an empty space or
 * manual combinations, as the search refuses them. Caller frees with
 * predictive_replay_free().
 */
int predictive_replay_new(const struct search_space *space, struct predictive_replay **out,
			  struct it_error *err);

/**
 * Adds the measurements ms[0..n) of configuration cfg (both borrowed for
 * the call) as the search adds an outcome's: valid concurrency sweep
 * measurements with a throughput, each measurement id once. Feed them in
 * the order the search saw them (measurement id order for a fresh
 * analysis) to get its fit.
 */
void predictive_replay_observe(struct predictive_replay *r, const struct model_config *cfg,
			       const struct store_measurement *ms, size_t n);

/** Points of the space: configurations x concurrencies. */
size_t predictive_replay_points(const struct predictive_replay *r);

/** Configurations of the space (points / concurrencies). */
size_t predictive_replay_configs(const struct predictive_replay *r);

/**
 * Point i (0 .. points - 1, configuration-major) into *pt, without a
 * prediction. IT_ERR_INVALID outside the space.
 */
int predictive_replay_point(const struct predictive_replay *r, size_t i, struct search_point *pt,
			    struct it_error *err);

/**
 * Point i (0 .. points - 1, configuration-major) and its prediction by the
 * fit to everything observed so far (refitted when observations came in):
 * *pt its configuration and concurrency, *fig the predicted figures,
 * *rel_uncertainty the fit's relative uncertainty. IT_ERR_INVALID when
 * nothing can be fitted (no observation with batch statistics) or the
 * simulation refuses the point, with the reason.
 */
int predictive_replay_predict(struct predictive_replay *r, size_t i, struct search_point *pt,
			      struct figures *fig, double *rel_uncertainty, struct it_error *err);

/** One line on the current fit into buf ("" before a fit). */
void predictive_replay_describe(const struct predictive_replay *r, char *buf, size_t size);

/** Frees r; NULL is a no-op. */
void predictive_replay_free(struct predictive_replay *r);

#endif
