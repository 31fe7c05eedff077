/*
 * The top tier and the cost order (docs/statistics.md, "Ranking: the top
 * tier and the cost order"): after Model Analyzer's ranking, the
 * configurations whose objective figures are statistically
 * indistinguishable from the best one's form the top tier, and the
 * cheapest member is recommended. Also the interval of the gain over the
 * default, the constraints whose interval straddles the limit
 * ("borderline"), and the sentence that says all of it. Pure functions
 * over store/ measurements and windows: no I/O. Depends on
 * analyze/objective, stats/interval, store/, util/.
 */
#ifndef INFERTUNE_ANALYZE_TIER_H
#define INFERTUNE_ANALYZE_TIER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "analyze/objective.h"

struct store_measurement;
struct strbuf;

/*
 * Differences smaller than this fraction of the best's figure are never
 * called, however narrow the intervals: windows that split completions
 * exactly measure a sim model to 0.1%, where a real 0.5% difference (a
 * scheduler path, a cache) decides nothing a user deploys on, and the same
 * configuration measured minutes apart on a shared machine moves by more.
 */
#define TIER_MARGIN 0.01

/**
 * True when measurement m is significantly worse than `best` (at
 * STATS_CONFIDENCE) by more than TIER_MARGIN in at least one objective
 * figure. Per figure: throughput and average latency by Welch's interval
 * of the difference of the merged windows (wholly beyond the margin);
 * percentile latencies by intervals apart by more than the margin
 * (figures_interval) when the bounds that matter are known, else by
 * Welch's interval on the windows' stabilizing latency when the
 * measurements stabilized on that percentile, else (and for every other
 * figure, or with fewer than two merged windows on a side) when the value
 * is worse by more than the margin. A figure present in only one of the
 * two: the one without it is worse.
 */
bool tier_worse(const struct objective_set *o, const struct store_measurement *best,
		const struct store_measurement *m);

/** What a configuration costs, the order within the tier (cheapest first). */
struct tier_cost {
	double resources;       /* Σ instances × intra-op threads; KIND_GPU: × GPUs */
	int32_t max_batch_size;
	bool has_memory;
	double memory_mb;       /* of its best measurement (GPU memory, else server RSS / RAM) */
	bool gpu;               /* a KIND_GPU configuration (wording only) */
};

/**
 * The cost of a variant: its config.pbtxt (instance groups; threads from
 * the INTRA_OP_THREAD_COUNT / NUM_THREADS parameter, 1 when absent; a
 * KIND_GPU group without `gpus` counts gpu_count GPUs, at least 1) and
 * the memory of its best measurement (NULL: none): GPU memory when
 * measured, else the server's RSS, else the used RAM figure.
 */
void tier_cost_of(const char *config_pbtxt, const struct store_measurement *best,
		  unsigned gpu_count, struct tier_cost *out);

/** Why the recommended member of the tier is the cheapest. */
enum tier_reason {
	TIER_ALONE = 0,         /* a tier of one */
	TIER_FEWER_RESOURCES,
	TIER_SMALLER_BATCH,
	TIER_LESS_MEMORY,
	TIER_EQUAL_COST,        /* equal cost: the best measured */
};

/**
 * Memory figures closer than this fraction of the larger count as equal
 * (a server's RSS moves by a few percent from run to run).
 */
#define TIER_MEMORY_TOLERANCE 0.05

/**
 * Compares costs: negative when a is cheaper, positive when b is, 0 when
 * equal. *why (may be NULL) gets the criterion that decided.
 */
int tier_cost_compare(const struct tier_cost *a, const struct tier_cost *b,
		      enum tier_reason *why);

/**
 * Forms the top tier of rk[0..n) (as objective_rank() left it) and puts it
 * first, in cost order (cost[] is indexed by input), the others after it in
 * their order. Only passing configurations join the tier of a passing
 * best; a failing best is a tier of one. Sets rk[i].in_tier and
 * rk[i].measured_rank; *why gets the reason for the new rk[0]. Returns
 * the tier's size (0 when nothing has a valid measurement).
 */
size_t tier_apply(const struct objective_set *o, const struct rank_input *in, size_t n,
		  const struct tier_cost *cost, struct rank_entry *rk,
		  enum tier_reason *why);

/**
 * The measurements variant ms[0..n) is ranked by (docs/statistics.md,
 * "Interleaved re-measurement"): with use_interleaved, its valid
 * interleaved re-measurement when it has one; otherwise, or without one,
 * every measurement of its sweep (phase PHASE_SWEEP). Writes their
 * indexes in ms to idx[] (room for n) and returns how many. The one place
 * that makes this choice.
 */
size_t tier_rank_choice(const struct store_measurement *ms, size_t n, bool use_interleaved,
			size_t *idx);

/** A configuration to rank: its measurements and its config.pbtxt (borrowed). */
struct tier_variant {
	int64_t variant_id;
	const struct store_measurement *ms;
	size_t n;
	const char *config_pbtxt;
};

/**
 * Model Analyzer's ranking of tv[0..n) on the measurements
 * tier_rank_choice() picks, then the top tier in cost order (tier_apply):
 * rk[0..n) best first, rk[i].best an index into tv[rk[i].input].ms.
 * *why gets the reason for rk[0], *gpu whether rk[0] is a KIND_GPU
 * configuration. Returns the tier's size.
 */
size_t tier_rank(const struct objective_set *o, const struct tier_variant *tv, size_t n,
		 bool use_interleaved, unsigned gpu_count, struct rank_entry *rk,
		 enum tier_reason *why, bool *gpu);

/** The weighted gain of a measurement over the default, with its interval. */
struct tier_gain {
	bool has;               /* an objective figure measured in both */
	double pct;             /* objective_gain_pct() */
	bool has_ci;            /* every objective figure has an interval */
	double lo_pct, hi_pct;  /* Σ w × the figure's gain interval */
	bool significant;       /* lo_pct > TIER_MARGIN; without interval: not in the default's tier */
	bool side_by_side;      /* from both configurations' interleaved re-measurements */
};

/**
 * The gain of m over base and its 95% interval. Throughput and average
 * latency: Welch's interval of the difference of the window means divided
 * by base's window mean (the denominator taken as exact); percentiles: the
 * difference of the intervals' far bounds ([m.lo − base.hi, m.hi −
 * base.lo]) over base's value; other figures have none. `tied`: whether m
 * and base are equal within noise (decides significance without interval).
 */
void tier_gain(const struct objective_set *o, const struct store_measurement *base,
	       const struct store_measurement *m, bool tied, struct tier_gain *out);

/**
 * Writes into buf the Model Analyzer tags of the constraints m's
 * interval straddles ("perf_latency_p99, perf_throughput"), "" for none.
 * The interval: figures_interval() (one known bound: the other side is
 * unbounded), else for throughput and average latency the t-interval of
 * the merged windows; a figure with neither is never borderline.
 */
void tier_borderline(const struct objective_set *o, const struct store_measurement *m,
		     char *buf, size_t size);

/** What the recommendation sentence says. */
struct tier_summary {
	const char *const *names;       /* the tier in cost order; names[0] is recommended */
	size_t n_tier;
	size_t n_ranked;                /* configurations with a valid measurement */
	bool passes;                    /* the recommended one meets the constraints */
	bool recommended_is_default;
	bool has_default;               /* the default has a valid measurement */
	enum tier_reason reason;
	bool gpu;                       /* the recommended one is a KIND_GPU configuration */
	struct tier_gain gain;          /* of the recommended over the default */
	const char *borderline;         /* "config_4 (perf_latency_p99)" list; "" none */
};

/**
 * Appends the recommendation: the tier sentence, the gain over the
 * default with its interval, and the borderline configurations
 * (docs/cli/analyze.md shows each form).
 */
void tier_sentence(const struct tier_summary *s, struct strbuf *sb);

#endif
