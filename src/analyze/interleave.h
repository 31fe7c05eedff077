/*
 * Interleaved re-measurement of a model's leaders (docs/statistics.md,
 * "Interleaved re-measurement"): after the search, the top tier's first
 * configurations are loaded on the embedded server at once and measured
 * at their best level with windows alternating between them, so that the
 * drift of a noisy machine falls on all of them alike; the ranking then
 * uses these measurements. Private to the run driver.
 */
#ifndef INFERTUNE_ANALYZE_INTERLEAVE_H
#define INFERTUNE_ANALYZE_INTERLEAVE_H

struct analyzer;
struct model_ctx;
struct it_error;

/** The recommended configuration and up to this many others of its tier. */
#define INTERLEAVE_LEADERS 4

/**
 * Re-measures mc's leaders, interleaved, and stores each as a
 * PHASE_INTERLEAVED measurement; reuses them when results.db has them.
 * Skipped (returns 0) outside precision mode, with a remote server (one
 * model name holds one configuration at a time), when interrupted, when
 * the tier has one member, or when fewer than two leaders load (a leader
 * that fails to load is recorded on its variant, as in the sweep).
 * Returns < 0 when results.db failed or the analysis cannot go on.
 */
int interleave_model(struct analyzer *a, struct model_ctx *mc, struct it_error *err);

#endif
