/*
 * Observations for the predictor (predict/fit) from stored measurements:
 * one per valid sweep level of a configuration, with the server's
 * batch_stats. Shared by the predictive search (which feeds them as they
 * are measured) and `infertune predict` (which reads a finished analysis
 * back from results.db with observation_set_read()), so both fit the same
 * model to the same levels. Depends on analyze/objective, analyze/variant,
 * model/, predict/, store/.
 */
#ifndef INFERTUNE_ANALYZE_OBSERVE_H
#define INFERTUNE_ANALYZE_OBSERVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "predict/fit.h"

#include "store/figures.h"

struct it_error;
struct model_config;
struct store;
struct store_measurement;

/** One observation with the arrays it owns (free with observation_release()). */
struct observation {
	struct predict_obs o;           /* o.config.preferred / o.batches point below on view */
	int32_t preferred;              /* the largest preferred batch size (0: none) */
	struct predict_batch *batches;
	int64_t measurement_id;
};

/**
 * The configuration as the predictor sees it, into out->o.config (its
 * preferred pointer left NULL: observations_view() points it at
 * out->preferred), out->preferred and out->o.threads: the instances
 * summed over the groups, max_batch_size, dynamic batching (only with
 * max_batch_size > 0), its queue delay, the largest preferred size (the
 * simulator is given that one) and, when threads_dim, the intra-op
 * threads. The rest of *out is left alone.
 */
void observation_config(const struct model_config *cfg, bool threads_dim,
			struct observation *out);

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

/** A configuration of one model in results.db. */
struct observed_config {
	int64_t variant_id;
	char name[256];                 /* <model>_config_<N>, <model>_config_default */
	struct model_config *config;    /* owned; its name cleared */
};

/**
 * Every observation of one model of results.db (observation_set_read()).
 * Embedded value struct; owns what it points to:
 * observation_set_release().
 */
struct observation_set {
	char model[256];
	struct model_config *base;      /* the model's default configuration (name cleared) */
	struct observed_config *configs; /* every variant, by id */
	size_t n_configs;
	struct observation *obs;        /* by variant id, then measurement id */
	struct figures *fig;            /* fig[i]: what obs[i]'s level measured */
	size_t *config_of;              /* config_of[i]: obs[i]'s index in configs */
	size_t n_obs;
	size_t n_measured_configs;      /* configurations with at least one observation */
	bool threads_dim;               /* some configuration sets intra-op threads */
	int32_t max_batch_size;         /* the largest of the configurations' */
	bool before_batch_stats;        /* the file predates schema 3 (no batch_stats table) */
};

/**
 * Reads back every observation of model `name` (NULL: the only model the
 * file holds) from s (open either way): each variant's configuration
 * (its stored config_pbtxt), and every valid sweep level of each with its
 * batch_stats and figures, in the order of variant and measurement ids,
 * so the same file always gives the same fit. A level of any measurement
 * settings counts. Errors (*out left zeroed): IT_ERR_INVALID when s is
 * not an infertune results.db (or NULL name with several models: the
 * message lists them), IT_ERR_UNSUPPORTED for a schema newer than this
 * build's, IT_ERR_NOT_FOUND for a model it does not hold (the message
 * lists those it does), IT_ERR_PARSE for a stored configuration that no
 * longer parses. Caller releases *out with observation_set_release().
 */
int observation_set_read(struct store *s, const char *name, struct observation_set *out,
			 struct it_error *err);

/**
 * Fits the predictor to every observation of set for configurations
 * batching up to the largest max_batch_size among set's configurations
 * and asked_max_batch_size (at least 1). IT_ERR_NOT_FOUND when the model
 * has no valid level or none with batch statistics ("results.db has no
 * batch statistics for model 'X' (...): nothing to predict from"), else
 * predict_fit_new()'s errors. Caller frees *out with predict_fit_free().
 */
int observation_set_fit(const struct observation_set *set, int64_t asked_max_batch_size,
			struct predict_fit **out, struct it_error *err);

/**
 * The index in set->obs of the latest level measured on configuration c
 * (as observation_config() gives it) under load l (kind, value, request
 * batch, and for a request rate the distribution), or -1 when there is
 * none.
 */
ptrdiff_t observation_set_find(const struct observation_set *set, const struct observation *c,
			       const struct des_load *l);

/** Frees what set owns and zeroes it. */
void observation_set_release(struct observation_set *set);

#endif
