/*
 * Objectives and constraints, ranked the way Model Analyzer ranks
 * (reference-analyzers.md §2): two measurements compare by the weighted sum
 * of their relative differences (each w.r.t. the pair's mean, sign-corrected
 * so that positive means better); a measurement passes when no constrained
 * figure is past its bound; failing measurements compare by their summed
 * violation percentage. A variant ranks by its best passing measurement,
 * and variants with a passing measurement come before those without.
 * Pure functions over store/figures: no I/O. Depends on store/ and util/.
 */
#ifndef INFERTUNE_ANALYZE_OBJECTIVE_H
#define INFERTUNE_ANALYZE_OBJECTIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/figures.h"

struct it_error;
struct store_measurement;

/** One objective: a figure and its weight (normalised to sum 1 by objective_set_finish). */
struct objective {
	enum figure fig;
	double weight;
};

/** One constraint on a figure. */
struct constraint {
	enum figure fig;
	bool has_min, has_max;
	double min, max;
};

/** Objectives plus constraints. Plain value struct; zero it, then add. */
struct objective_set {
	struct objective obj[FIG_COUNT];
	size_t n_obj;
	struct constraint con[FIG_COUNT];
	size_t n_con;
};

/**
 * Adds objective `tag` (a Model Analyzer record tag such as
 * "perf_throughput") with a weight > 0; the same tag twice replaces the
 * weight. IT_ERR_INVALID for an unknown tag or a bad weight.
 */
int objective_set_add(struct objective_set *o, const char *tag, double weight,
		      struct it_error *err);

/**
 * Adds (or tightens) a constraint: has_min/has_max with their bounds.
 * IT_ERR_INVALID for an unknown tag.
 */
int constraint_set_add(struct objective_set *o, const char *tag, bool has_min,
		       double min, bool has_max, double max,
		       struct it_error *err);

/** Normalises the weights (w / Σw); with no objective, perf_throughput alone. */
void objective_set_finish(struct objective_set *o);

/**
 * Model Analyzer's weighted score of b against a: positive when b is better,
 * negative when worse, 0 when equal. Per objective: w × dir × (b − a) /
 * mean(a, b). A figure measured in only one of the two decides outright
 * (the one that has it wins: ±1); one measured in neither is skipped.
 */
double objective_score(const struct objective_set *o, const struct figures *a,
		       const struct figures *b);

/** True when m meets every constraint (a constrained figure that is absent counts as met). */
bool objective_passes(const struct objective_set *o, const struct figures *m);

/**
 * The summed violation percentage of m: Σ (value − max)/max × 100 over
 * violated maxima plus (min − value)/min × 100 over violated minima; 0 when
 * m passes.
 */
double objective_violation(const struct objective_set *o,
			   const struct figures *m);

/**
 * Model Analyzer's "is b better than a" used by searches and ranking: a
 * passing measurement beats a failing one; two failing ones compare by
 * violation (less is better), then by score; two passing ones by score.
 * NULL is worse than anything.
 */
bool objective_better(const struct objective_set *o, const struct figures *a,
		      const struct figures *b);

/**
 * Model Analyzer's weighted percentage gain of m over base: Σ w × gain%,
 * gain% = (m − base)/base × 100 for more-is-better figures and
 * (base − m)/base × 100 for less-is-better ones. *has is false when no
 * objective figure is measured in both.
 */
double objective_gain_pct(const struct objective_set *o,
			  const struct figures *base, const struct figures *m,
			  bool *has);

/** A variant to rank and its measurements (status ok and over-threshold count). */
struct rank_input {
	int64_t variant_id;
	const struct store_measurement *ms;
	size_t n;
};

/** One ranked variant. */
struct rank_entry {
	size_t input;           /* index into the inputs */
	long best;              /* index into inputs[input].ms of its best measurement; -1 none */
	bool passes;            /* its best measurement meets the constraints */
	bool in_tier;           /* in the top tier (analyze/tier.h); false until tier_apply() */
	size_t measured_rank;   /* 1-based position by objective_rank(), before the cost order */
};

/**
 * Ranks inputs[0..n) into out[0..n), best first: variants with a passing
 * measurement by their best one, then those with valid but failing ones by
 * their least violation, then those without a valid measurement, ties kept
 * in input order. Deterministic: equal inputs give equal rankings.
 */
void objective_rank(const struct objective_set *o, const struct rank_input *in,
		    size_t n, struct rank_entry *out);

/**
 * Sorts indexes order[0..n) of ms[] best first: passing measurements by
 * objective, then the others by violation, then invalid ones (the row order
 * of Model Analyzer's CSVs).
 */
void objective_sort_measurements(const struct objective_set *o,
				 const struct store_measurement *ms, size_t n,
				 size_t *order);

/** True when the measurement's figures are valid (status ok or over threshold). */
bool measurement_valid(const struct store_measurement *m);

#endif
