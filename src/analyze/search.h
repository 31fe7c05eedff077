/*
 * Configuration search strategies: what to measure next, given what was
 * measured. Each strategy is one const struct search_ops listed in
 * search_registry[] (brute, quick, manual); struct search is the opaque
 * handle the run driver uses. A strategy sees only the outcomes it is fed,
 * never the clock, the server or the store, so it is deterministic: fed the
 * same outcomes (fresh or read back from results.db on --resume), it
 * proposes the same points in the same order. docs/search.md explains each
 * strategy and its rules. Depends on analyze/objective, store/figures, util/.
 */
#ifndef INFERTUNE_ANALYZE_SEARCH_H
#define INFERTUNE_ANALYZE_SEARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/figures.h"

struct it_error;
struct model_config;
struct objective_set;
struct store_measurement;

/** One candidate configuration and how to load it. Plain value struct. */
struct search_point {
	bool is_default;        /* the model's own configuration, unchanged */
	int32_t max_batch_size; /* 0: keep the default's */
	int32_t instance_count; /* 0: keep the default's */
	int32_t threads;        /* intra-op threads (pytorch on CPU); 0: keep */
	/* With max_batch_size set outside manual search: dynamic batching's */
	uint32_t queue_delay_us;        /* max_queue_delay_microseconds (0: none) */
	int32_t preferred_batch_size;   /* its one preferred size (0: none) */
	long manual;            /* manual combination index; -1: none */
	uint64_t concurrency;   /* measure at this one concurrency (batch 1); 0: the run's sweep */
};

/** The space a strategy walks. Plain value struct, borrowed by the search. */
struct search_space {
	bool batching;                  /* the model batches (default max_batch_size > 0) */
	int32_t min_mbs, max_mbs;       /* max_batch_size bounds (automatic: 1, 2, 4 ..) */
	bool user_mbs_min, user_mbs_max; /* given by the user (quick clamps only to these) */
	int32_t min_instances, max_instances;
	bool user_instances_min, user_instances_max;
	const int32_t *threads;         /* intra-op thread counts; n_threads 0: not a dimension */
	size_t n_threads;
	int32_t max_cpu_threads;        /* points whose instances x threads exceed it are
					 * not proposed (oversubscribed cores); 0: no cap */
	size_t n_manual;                /* manual: combinations of model_config_parameters */
	const int32_t *manual_mbs;      /* manual: max_batch_size values (inner loop); may be 0 */
	size_t n_manual_mbs;
	bool early_exit;                /* manual: stop max_batch_size at the plateau */
	uint64_t min_concurrency, max_concurrency;
	bool user_concurrency_min, user_concurrency_max;
	const uint64_t *concurrencies;  /* the run's explicit list (-c); n 0: doubling min..max */
	size_t n_concurrencies;
	bool request_rates;             /* the run's loads are request rates (--request-rate) */
	const uint32_t *queue_delays_us; /* predictive: dynamic batching delays searched */
	size_t n_queue_delays;
	size_t top_n;                   /* quick: configurations swept after the climb */
	int32_t default_mbs;            /* the default config's max_batch_size */
	int32_t default_instances;      /* and total instance count */
};

/** What measuring a point gave. Everything is borrowed for the call only. */
struct search_outcome {
	bool measured;                  /* at least one valid measurement */
	double max_throughput;          /* over its valid measurements */
	const struct figures *best;     /* its best valid measurement by the objectives, or NULL */
	const struct model_config *config; /* the configuration measured; NULL when not built */
	const struct store_measurement *ms; /* every stored measurement of it (all levels) */
	size_t n_ms;
};

/** What a strategy predicted for the point it proposed last (search_ops.prediction). */
struct search_prediction {
	struct figures fig;             /* throughput, latencies, server queue and compute */
	double rel_uncertainty;         /* fraction */
	char model[256];                /* what the prediction rests on, one line */
};

/**
 * A strategy. start() builds the state; next() proposes the next point
 * (false: the search is over); feed() gives the outcome of the point next()
 * proposed last (called exactly once per proposed point, before the next
 * next()); remaining() is an estimate of the points still to come (an upper
 * bound where the strategy knows one); free() releases the state.
 */
struct search_ops {
	const char *name;
	const char *summary;
	int (*start)(const struct search_space *space,
		     const struct objective_set *objectives, void **state,
		     struct it_error *err);
	bool (*next)(void *state, struct search_point *out);
	void (*feed)(void *state, const struct search_outcome *outcome);
	size_t (*remaining)(const void *state);
	void (*free)(void *state);
	/* Optional: the prediction for the point next() proposed last; false: none. */
	bool (*prediction)(const void *state, struct search_prediction *out);
	/* Optional: a message the last feed() left for the user ("" none). */
	const char *(*note)(const void *state);
};

extern const struct search_ops search_brute;
extern const struct search_ops search_quick;
extern const struct search_ops search_manual;
extern const struct search_ops search_predictive;

/** Every strategy, NULL-terminated. */
extern const struct search_ops *const search_registry[];

/** The strategy named `name`, or NULL. */
const struct search_ops *search_find(const char *name);

/** A running search (opaque). */
struct search;

/**
 * Starts strategy `ops` over `space` (both borrowed for the search's
 * lifetime). IT_ERR_INVALID for an empty space. Caller frees with
 * search_free().
 */
int search_new(const struct search_ops *ops, const struct search_space *space,
	       const struct objective_set *objectives, struct search **out,
	       struct it_error *err);

/** The next point to measure; false when the search is over. */
bool search_next(struct search *s, struct search_point *out);

/** The outcome of the last point search_next() returned. */
void search_feed(struct search *s, const struct search_outcome *outcome);

/** Points proposed so far. */
size_t search_proposed(const struct search *s);

/** Estimate of the points still to come (not counting one awaiting its outcome). */
size_t search_remaining(const struct search *s);

/** The strategy's name. */
const char *search_name(const struct search *s);

/** The prediction for the point search_next() returned last; false: none. */
bool search_prediction(const struct search *s, struct search_prediction *out);

/** A message the strategy left after the last search_feed() ("" none). */
const char *search_note(const struct search *s);

/** Frees s; NULL is a no-op. */
void search_free(struct search *s);

/** "instances=2 max_batch_size=8", "default", ... into buf. */
void search_point_label(const struct search_point *p, char *buf, size_t size);

#endif
