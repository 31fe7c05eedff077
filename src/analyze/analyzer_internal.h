/*
 * The fields of the run driver, shared by the files that make it up:
 * analyzer.c (the run loop and its events), preflight.c (the checks and the
 * server), variant.c (configurations of search points) and sweep.c (the
 * load levels of one point). Private to those four files; everything else
 * sees only the opaque `struct analyzer` of analyzer.h.
 */
#ifndef INFERTUNE_ANALYZE_ANALYZER_INTERNAL_H
#define INFERTUNE_ANALYZE_ANALYZER_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "analyze/analyzer.h"
#include "analyze/objective.h"
#include "analyze/options.h"
#include "analyze/pinning.h"
#include "analyze/search.h"
#include "model/config.h"
#include "store/figures.h"
#include "util/error.h"

struct repository;
struct sampler;
struct server_client;
struct server_proc;

/*
 * Racing (docs/statistics.md, "Racing"): the best level measured so far of
 * a model, over all its configurations and levels, among those that meet
 * the constraints; never a level that racing stopped. Updated by
 * sweep.c after every measurement stored or reused.
 */
struct race_incumbent {
	bool has;
	struct figures fig;             /* its figures and their intervals */
	char variant[256];              /* for the log */
};

/* Everything known about one model of the run (filled by preflight_models()). */
struct model_ctx {
	const struct model_spec *spec;
	const char *name;
	struct model_config *base;      /* the default configuration (its own name) */
	char *base_pbtxt;
	char *base_json;
	char *source_dir;               /* <repository>/<name>; NULL when remote without files */
	char *repository;
	int64_t model_id;
	struct objective_set obj;
	struct perf_settings ps;
	char profile_key[512];
	struct search_space space;
	int32_t *threads;               /* intra-op thread counts to search (PyTorch on CPU) */
	size_t n_threads, alloc_threads;
	enum instance_kind kind;
	bool list_given;                /* concurrency or rate list given: no early exit by default */
	struct u64_list concurrency;    /* borrowed */
	struct f64_list rates;          /* borrowed */
	struct u64_list batches;        /* borrowed */
	struct race_incumbent race;
};

/* The analyzer's state; every analyze/ driver file reads and writes it. */
struct analyzer {
	const struct analyzer_config *cfg;
	const struct analyze_options *o;
	char *export_path;
	char *results_dir;
	char *db_path;
	char *out_repo;
	char *log_path;
	char *port_file;
	struct store *store;
	struct cpuset allowed_cpus;     /* what this process could use at start */
	struct cpu_pinning pinning;     /* server and load generator CPUs */
	bool resumed;
	int64_t run_id;
	struct repository *repo;
	struct model_ctx *models;
	size_t n_models;
	struct server_proc *proc;
	struct server_client *client;
	char *server_url;
	char *metrics_url;
	bool collect_metrics;
	struct sampler *sampler;
	char **gpus;
	size_t n_gpus;
	bool server_dirty;              /* embedded: a variant was loaded since the start */
	bool load_alongside;            /* interleaving: variant_load() adds the variant to the
					   embedded server's models instead of a fresh server */
	bool remote_loaded;
	struct analyze_summary summary;
	struct analyze_progress prog;
	double t_start;
	double fresh_s;                 /* time spent in fresh measurements */
	size_t fresh_n;
	size_t levels_done;             /* levels (fresh or reused) of finished points */
	size_t points_done;
	size_t race_windows_saved;      /* windows racing did not measure */
	int lock_fd;                    /* flock on <export>/.analyze.lock */
	const struct search *search;    /* the search in progress (for the estimate) */
	bool fatal;                     /* the server cannot be reached any more */
	char fatal_msg[IT_ERROR_MESSAGE_MAX];
};

/** Seconds on CLOCK_MONOTONIC. */
static inline double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/** True once the caller's SIGINT handler asked to stop. */
static inline bool interrupted(const struct analyzer *a)
{
	return a->cfg->interrupt && *a->cfg->interrupt;
}

/**
 * The strategy the run uses: "manual" when the search is disabled or any
 * model lists model_config_parameters (as Model Analyzer), else the
 * options' mode. The string is static or the options'.
 */
const char *analyzer_search_mode(const struct analyzer *a);

/**
 * Sends an event of `kind` whose message is printf(fmt, ...) (at most 2047
 * bytes; fmt NULL: empty) to the caller's callback, with the progress
 * brought up to date. Does nothing without a callback.
 */
void analyzer_emit(struct analyzer *a, enum analyze_event_kind kind, int level,
		   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/**
 * Sends *ev (its progress and, when NULL, its message are filled in) to the
 * caller's callback; a measurement or a variant start also refreshes the
 * time-left estimate. The pointers in *ev are borrowed for the call.
 */
void analyzer_emit_event(struct analyzer *a, struct analyze_event *ev);

#endif
