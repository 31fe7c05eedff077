/*
 * The reads of results.db that describe a finished (or interrupted)
 * analysis: the latest run, meta rows, models, the current load levels of a
 * variant and the recorded ranking. The report reads the database only
 * through these (and store.h), so the schema stays known to src/store/ alone.
 */
#ifndef INFERTUNE_STORE_QUERY_H
#define INFERTUNE_STORE_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/figures.h"
#include "store/store.h"

struct it_error;

/** The latest run (highest id). Strings are owned; free with store_run_info_release(). */
struct store_run_info {
	char *status;                   /* "running", "completed", ... */
	char *message;
	char *command_line;
	char *options_json;
	char *search_mode;
	char *server_mode;
	char *gpus_json;
	char *version;                  /* infertune_version */
	char *ended_at;                 /* finished_at, else started_at (UTC text) */
};

/**
 * The latest run. *found is false (and *out zeroed) when there is none;
 * otherwise the caller releases *out with store_run_info_release().
 */
int store_run_latest(struct store *s, struct store_run_info *out, bool *found,
		     struct it_error *err);

/** Frees the strings of r and zeroes it; NULL is a no-op. */
void store_run_info_release(struct store_run_info *r);

/**
 * The meta row `key`: *value is a string the caller frees, or NULL when the
 * row is absent. A database without a meta table (not written by this
 * schema) reads as one without the row. Errors only on a failing read.
 */
int store_meta_get(struct store *s, const char *key, char **value,
		   struct it_error *err);

/** A model as results.db records it. Strings are owned (NULL when not set). */
struct store_model {
	int64_t id;
	char *name;
	char *platform;
	char *backend;
	char *repository;
	char *config_pbtxt;             /* the model's own configuration as found at the first run */
};

/**
 * Every model, by id. *out (n entries, NULL when none) is the caller's:
 * store_model_release() each and free() the array.
 */
int store_models_list(struct store *s, struct store_model **out, size_t *n,
		      struct it_error *err);

/** Frees the strings of m and zeroes it; NULL is a no-op. */
void store_model_release(struct store_model *m);

/** One load level of a variant: the few columns a summary needs. */
struct store_level {
	int64_t id;                     /* the measurement's id */
	int64_t batch_size;
	enum load_kind load_kind;
	double load_value;
	enum measurement_status status;
	char *message;                  /* owned; NULL when none */
	struct figures fig;             /* with the 95% intervals known */
	enum measurement_phase phase;   /* PHASE_SWEEP in a file of schema 1 */
	double client_cpu_share;        /* load generator CPU / online CPUs; NAN unknown */
};

/**
 * The load levels of a variant measured with the latest run's settings
 * (its profile_key), ordered by batch size, load kind, load value and id,
 * so a level measured twice comes last. None when there is no run. *out
 * (n entries, NULL when none) is the caller's: store_level_release() each
 * and free() the array.
 */
int store_levels_current(struct store *s, int64_t variant_id,
			 struct store_level **out, size_t *n,
			 struct it_error *err);

/** Frees the message of l and zeroes it; NULL is a no-op. */
void store_level_release(struct store_level *l);

/**
 * The point of the measurement with this id: its client batch size and
 * load value. *found says whether there is one; the outputs are written
 * only when found.
 */
int store_measurement_point(struct store *s, int64_t measurement_id,
			    int64_t *batch_size, double *load_value,
			    bool *found, struct it_error *err);

/**
 * The load kind of the first measurement (by id) of any variant of
 * model_id; LOAD_CONCURRENCY when it has none.
 */
int store_model_load_kind(struct store *s, int64_t model_id,
			  enum load_kind *kind, struct it_error *err);

/** One row of a recorded ranking: the rank as stored and the row. */
struct store_ranked {
	int64_t rank;                   /* 1 = best */
	struct store_rank row;
};

/**
 * The ranking of model_id recorded by the latest run that ranked it, by
 * rank. *out (n entries, NULL when the model was never ranked) is the
 * caller's to free().
 */
int store_ranking_latest(struct store *s, int64_t model_id,
			 struct store_ranked **out, size_t *n,
			 struct it_error *err);

/** A stored prediction and what the measurement that checked it gave. */
struct store_checked_prediction {
	char variant[256];
	double load_value;
	double throughput, latency_p99_ms;      /* predicted; NAN absent */
	double rel_uncertainty;
	bool measured;                          /* a measurement checked it */
	double measured_throughput, measured_p99_ms; /* NAN absent */
	char model[256];
	bool probe;                             /* role 'probe' (see store_prediction) */
};

/**
 * The predictions of model_id's variants, in the order they were made; of
 * a point predicted again (a resumed analysis), the latest.
 * *out (n entries; NULL and 0 for a file without the predictions table) is
 * the caller's to free().
 */
int store_predictions_of_model(struct store *s, int64_t model_id,
			       struct store_checked_prediction **out, size_t *n,
			       struct it_error *err);

/** How far predictions of one role missed their measurements' throughput. */
struct prediction_errors {
	size_t n;                       /* predictions checked by a measurement */
	double median_pct, worst_pct;   /* |predicted - measured| / measured, percent */
};

/** The errors of ps[0..n)'s predictions with role probe (else guided). Pure. */
void prediction_errors_of(const struct store_checked_prediction *ps, size_t n, bool probe,
			  struct prediction_errors *out);

/**
 * Whether any measurement was taken with this profile_key (analyze's
 * resume keeps the rule a database was measured under). Errors only on a
 * failing read.
 */
int store_profile_key_used(struct store *s, const char *profile_key, bool *used,
			   struct it_error *err);

#endif
