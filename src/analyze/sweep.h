/*
 * The sweep of one search point: its load levels (the point's concurrency,
 * the user's lists, or doubling) for every client batch size, each level
 * measured through the profile library (or reused from results.db) and
 * committed as it completes, with Model Analyzer's early exit, automatic
 * window growth and failure rules. Also the idle-server measurement that
 * precedes the sweeps. Private to the run driver.
 */
#ifndef INFERTUNE_ANALYZE_SWEEP_H
#define INFERTUNE_ANALYZE_SWEEP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/figures.h"
#include "store/store.h"

struct analyzer;
struct model_config;
struct model_ctx;
struct search_point;
struct it_error;
struct perf_settings;
struct profile_level;
struct profile_options;

/** What a point's sweep found, for the search. */
struct point_outcome {
	bool measured;
	double max_tp;
	struct figures best;
	bool has_best;
	bool stop_all;          /* interrupted, or the analysis cannot go on */
	size_t levels;          /* levels walked (fresh or reused) */
};

/**
 * Measures (or replays from results.db) the sweep of point pt on variant v
 * of configuration cfg, loading v before its first fresh level, and sets
 * v's final status. A variant that failed to load or crashed the server
 * before is not tried again: its stored measurements are replayed. Fills
 * *po. Returns < 0 when results.db failed or the analysis cannot go on.
 */
int sweep_point(struct analyzer *a, struct model_ctx *mc, struct store_variant *v,
		const struct search_point *pt, const struct model_config *cfg,
		struct point_outcome *po, struct it_error *err);

/**
 * The profile options of one level of variant v (settings ps, client
 * batch, one load value): what every measurement of analyze shares; the
 * caller adds warm-up, racing and callbacks. Borrows v, mc and a's
 * strings.
 */
void sweep_profile_options(struct analyzer *a, const struct model_ctx *mc,
			   const struct store_variant *v, const struct perf_settings *ps,
			   int64_t batch, enum load_kind kind, double value,
			   struct profile_options *po);

/** Zeroes *m and fills what identifies it and its settings (phase PHASE_SWEEP). */
void sweep_measurement_init(struct analyzer *a, const struct model_ctx *mc,
			    const struct store_variant *v, const struct perf_settings *ps,
			    int64_t batch, enum load_kind kind, double value,
			    struct store_measurement *m);

/**
 * Fills *m from a merged level L as the sweep does (windows, the rule,
 * client and server figures, metrics, the local samples of the merged
 * windows whose end times are ends[0..n_ends)), status MEAS_OK when L is
 * PROFILE_OK, else MEAS_FAILED with L's message.
 */
void sweep_fill_measurement(struct analyzer *a, const struct model_ctx *mc,
			    const struct profile_level *L, const uint64_t *ends,
			    size_t n_ends, struct store_measurement *m);

/**
 * Measures the idle server for --duration-seconds (server-only metrics)
 * unless results.db already has them; an embedded server that has had a
 * variant loaded is restarted first. Nothing is stored when interrupted.
 */
int sweep_idle_server(struct analyzer *a, struct it_error *err);

#endif
