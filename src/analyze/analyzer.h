/*
 * The run driver of `infertune analyze`: checks everything first (export
 * folder, results.db, output model repository, the models and their
 * configurations, the sweeps, the server), then measures the idle server,
 * then for each model walks a search strategy: every point becomes a
 * variant <model>_config_<N> (written to the output model repository,
 * loaded through the repository API), swept over load levels through the
 * profile library, each measurement committed to results.db as it
 * completes. A point already in results.db is reused, never measured again,
 * so --resume takes the same decisions as the run it continues. Failures of
 * a variant (load, crash, out of memory, no stable level) are recorded and
 * the search goes on; the embedded server is restarted when it dies. At the
 * end the variants are ranked and Model Analyzer's CSVs, a CSV of every
 * figure and the winning config.pbtxt are written. Library code: it prints
 * nothing; progress comes through the event callback.
 * Depends on analyze/ (options, search, objective, client, server_proc,
 * sampler), store/, loadgen/ (profiler), model/, metrics/, util/.
 */
#ifndef INFERTUNE_ANALYZE_ANALYZER_H
#define INFERTUNE_ANALYZE_ANALYZER_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/figures.h"
#include "store/store.h"
#include "util/error.h"

struct it_error;
struct analyze_options;

enum analyze_event_kind {
	AEV_LOG,                /* a message */
	AEV_VARIANT_START,      /* a variant is about to be measured (or reused) */
	AEV_LEVEL_START,        /* a load level starts measuring */
	AEV_WINDOW,             /* a measurement window closed */
	AEV_MEASUREMENT,        /* a measurement was stored, or reused from results.db */
	AEV_VARIANT_DONE,       /* a variant is done (its status says how) */
};

/** Where the analysis stands; every event carries it. */
struct analyze_progress {
	const char *model;
	size_t model_index, n_models;   /* 1-based */
	const char *variant;            /* its name, NULL before the first */
	const char *label;              /* the search point */
	size_t variant_index;           /* 1-based, points of this model so far */
	size_t variant_total;           /* estimate: so far + still to come */
	enum load_kind load_kind;
	double load_value;
	int64_t batch_size;
	size_t window;                  /* windows of the level so far */
	double elapsed_s;
	double eta_s;                   /* estimate of the time left; < 0 unknown */
	size_t measured;                /* measurements taken in this run */
	size_t reused;                  /* measurements reused from results.db */
};

/** One event. Pointers are valid during the callback only. */
struct analyze_event {
	enum analyze_event_kind kind;
	int level;                      /* AEV_LOG: 0 info, 1 warning, 2 detail (--verbose) */
	const char *message;
	const struct analyze_progress *progress;
	const struct store_measurement *measurement; /* AEV_MEASUREMENT */
	bool reused;                    /* AEV_MEASUREMENT / AEV_VARIANT_START: from results.db */
	enum variant_status status;     /* AEV_VARIANT_DONE */
};

/** How to run. Borrowed for the analyzer's lifetime. */
struct analyzer_config {
	const struct analyze_options *options;
	const char *exe;                /* the infertune binary (embedded server) */
	const char *command_line;       /* recorded in results.db */
	void (*on_event)(void *ctx, const struct analyze_event *ev);
	void *ctx;
	/* Set by the caller's SIGINT handler: 1 stops after the current window, 2 at once. */
	const volatile sig_atomic_t *interrupt;
};

/** One model's outcome. */
struct analyze_model_result {
	char model[256];
	bool has_best;
	char best_variant[256];
	char best_label[256];
	bool best_passes;               /* meets the constraints */
	struct figures best;            /* its best measurement */
	int64_t best_batch;
	enum load_kind best_load_kind;
	double best_load;
	bool has_default;
	struct figures default_best;
	bool has_gain;
	double gain_pct;                /* Model Analyzer's weighted gain over the default */
	bool has_gain_ci;
	double gain_lo_pct, gain_hi_pct; /* its 95% interval (analyze/tier.h) */
	bool gain_significant;          /* the interval is above 0 */
	bool gain_side_by_side;         /* from both interleaved re-measurements */
	size_t n_tier;                  /* configurations equal to the best within noise */
	char borderline[1024];          /* "config_4 (perf_latency_p99)", "" none */
	char recommendation[2048];      /* the tier sentence (tier_sentence()) */
	char capacity[8192];            /* capacity_sentences(), '\n'-ended; "" without a budget */
	size_t n_variants;              /* configurations tried */
	size_t n_failed;                /* of which failed */
	size_t n_measurements;          /* valid measurements the ranking rests on */
	char best_config_path[1024];    /* <export>/best/<model>/config.pbtxt */
};

/** The outcome of a run. */
struct analyze_summary {
	struct analyze_model_result *models;
	size_t n_models;
	size_t measured;                /* taken in this run */
	size_t reused;                  /* reused from results.db */
	double wall_s;                  /* the whole run */
	double measuring_s;             /* inside the profile library (warm-up and windows) */
	double windows_s;               /* inside measurement windows proper */
	bool interrupted;
	bool resumed;                   /* results.db existed */
	/* The CSVs and best configs could not be written: why ("" when they were). */
	char outputs_error[IT_ERROR_MESSAGE_MAX];
	char export_path[1024];
	char db_path[1024];
	char results_dir[1024];
};

/** The analyzer (opaque). */
struct analyzer;

/**
 * Checks everything before any measurement and starts (or reaches) the
 * server: the export folder and results.db (created, or reopened to
 * resume), the output model repository, every model and its configuration
 * variants, perf flags, objectives, and the server. Fails fast with a
 * message naming what is wrong. Caller frees with analyzer_free().
 */
int analyzer_new(const struct analyzer_config *cfg, struct analyzer **out,
		 struct it_error *err);

/**
 * Runs the analysis. 0 when it completed; IT_ERR_STATE when it was
 * interrupted (results.db and the outputs are consistent, --resume
 * continues); another code when it could not go on (the remote server
 * went away, results.db failed). The summary is filled in every case.
 */
int analyzer_run(struct analyzer *a, struct it_error *err);

/** The summary of the last analyzer_run(). */
const struct analyze_summary *analyzer_summary(const struct analyzer *a);

/** Stops the server (when embedded), closes results.db and frees a; NULL is a no-op. */
void analyzer_free(struct analyzer *a);

/**
 * Writes the outputs of a results.db for the given options (what
 * analyzer_run does at its end): the CSVs under <export>/results and the
 * best configs under <export>/best. Used by `infertune analyze` and tests.
 */
int analyzer_write_outputs(struct analyzer *a, struct it_error *err);

#endif
