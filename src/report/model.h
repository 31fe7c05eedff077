/*
 * The report model: what a report shows, read from results.db
 * (docs/results-db.md) through store/query.h, read-only, so an analysis
 * that is still running or was interrupted can be reported too. Models hold
 * configurations (variants), configurations hold load levels, levels hold
 * figures; a figure that was not measured is absent (struct figures'
 * presence bits), never 0. Depends on store/ (queries, figure table, names),
 * analyze/objective (ranking when results.db holds none), analyze/tier,
 * analyze/capacity (the capacity answers) and analyze/capacity_predict
 * (the predicted rates beside them), util/; it knows no SQL.
 */
#ifndef INFERTUNE_REPORT_MODEL_H
#define INFERTUNE_REPORT_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "analyze/capacity.h"
#include "analyze/objective.h"
#include "store/figures.h"
#include "store/query.h"
#include "store/store.h"

struct it_error;

/** One measurement of a configuration. */
struct report_level {
	int64_t batch_size;
	double load;                    /* concurrency or requests/s */
	enum measurement_status status;
	char *message;                  /* why not ok; NULL when ok */
	struct figures fig;             /* with their 95% intervals where known */
	enum measurement_phase phase;
	double client_cpu_share;        /* load generator CPU / online CPUs; NAN unknown */
};

/** One configuration (a variant). */
struct report_config {
	char *name;                     /* simA_config_3, simA_config_default */
	char *label;                    /* the search point ("instances=2 max_batch_size=8") */
	bool is_default;
	int32_t max_batch_size, instance_count;
	char instance_kind[16];
	bool dynamic_batching;
	char *status;                   /* variant status ("measured", "load_failed", ...) */
	char *failure_reason;           /* NULL unless failed */
	char *config_pbtxt;
	struct report_level *levels;    /* ordered by batch size, load */
	size_t n_levels;
	size_t rank;                    /* 1 = best; 0 = not ranked */
	long best;                      /* index of its best level; -1 none */
	bool passes;                    /* its best level meets the constraints */
	bool has_gain;
	double gain_pct;                /* weighted gain over the default, % */
	bool has_gain_ci;
	double gain_lo_pct, gain_hi_pct; /* its 95% interval */
	bool in_top_tier;               /* equal to the best within measurement noise */
	char *borderline;               /* constraint tags whose interval straddles the limit; NULL none */
};

/** One model. */
struct report_model {
	char *name, *platform, *backend, *repository;
	enum load_kind load_kind;       /* of its measurements */
	int64_t chart_batch;            /* the client batch size the charts show */
	struct report_config *configs;  /* ranked first (by rank), then the rest */
	size_t n_configs;
	size_t n_measurements;          /* valid measurements */
	size_t n_failed;                /* configurations that failed */
	struct objective_set objectives;
	char *objectives_text;          /* "maximizing throughput" */
	char *constraints_text;         /* "p99 latency <= 40 ms" or "none" */
	char *best_config_path;         /* <export>/best/<model>/config.pbtxt; NULL if absent */
	bool ranking_from_db;           /* else ranked by the report */
	char *recommendation;           /* analyze's tier sentence; NULL when not recorded */
	struct store_checked_prediction *predictions; /* the predictive search's, in order */
	size_t n_predictions;
	/*
	 * The capacity answers (analyze/capacity.h) with the budget and rates
	 * the run recorded: rows in configs[] order; asked is false without a
	 * latency budget.
	 */
	struct capacity_answer capacity;
	char **capacity_lines;          /* its sentences, one a line */
	size_t n_capacity_lines;
};

/** A whole results.db. */
struct report_data {
	char *export_path, *db_path;
	char *time_iso;                 /* the report's date (injectable) */
	char *version;                  /* infertune that measured */
	char *run_status;               /* latest run: completed, interrupted, ... */
	char *run_message;
	char *command_line;
	char *search_mode, *server_mode;
	size_t n_runs;
	char *machine_cpu, *machine_memory, *machine_gpus;
	bool machine_from_db;           /* else described from the machine writing the report */
	char *cpu_pinning;              /* meta cpu_pinning; NULL when not recorded */
	unsigned n_gpus;                /* the latest run's GPUs (what a KIND_GPU instance costs) */
	struct report_model *models;
	size_t n_models;
};

/**
 * Reads <export_path>/results.db into *out. models (n_models names) picks
 * models; n_models 0 takes every model. time_iso (NULL: the
 * INFERTUNE_REPORT_TIME environment variable, else the latest run's end
 * or start) dates the report, so the same database gives the same bytes.
 * IT_ERR_NOT_FOUND when results.db or a named model is missing. Caller
 * frees with report_data_release().
 */
int report_data_load(const char *export_path, const char *const *models,
		     size_t n_models, const char *time_iso,
		     struct report_data *out, struct it_error *err);

/** Frees everything *d owns and zeroes it. */
void report_data_release(struct report_data *d);

/** True when the level's figures count: stable (ok) or over the latency threshold. */
bool report_level_valid(const struct report_level *l);

/**
 * True when l is a valid level of the sweep: the points the charts draw
 * and the ones a configuration's best is chosen among. An interleaved
 * re-measurement (docs/statistics.md) is shown in the detail tables only:
 * its figures were taken with other configurations loaded.
 */
bool report_level_charted(const struct report_level *l);

/** The ranked configuration (rank 1), or NULL. */
const struct report_config *report_model_best(const struct report_model *m);

/** The default configuration, or NULL. */
const struct report_config *report_model_default(const struct report_model *m);

#endif
