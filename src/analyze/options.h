/*
 * Everything an analysis is told: Model Analyzer's `profile` options under
 * its own names (snake_case keys in the YAML file, --kebab-case flags on the
 * command line; the command line wins), the per-model sections
 * (parameters, model_config_parameters, objectives, constraints,
 * perf_analyzer_flags) and perf_analyzer's measurement flags. Both readers,
 * the YAML file (analyze_options_read_yaml) and the command line (through
 * analyze_options_set), check every value as they read it, so a bad value
 * fails before anything is measured, with file:line:col for the YAML file.
 * Depends on analyze/objective, loadgen/ (profile options), util/, jansson
 * and libyaml.
 */
#ifndef INFERTUNE_ANALYZE_OPTIONS_H
#define INFERTUNE_ANALYZE_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "loadgen/profiler.h"

struct it_error;
struct objective_set;

/** Model Analyzer's defaults (config_defaults.py). */
#define ANALYZE_DEFAULT_MIN_CONCURRENCY 1
#define ANALYZE_DEFAULT_MAX_CONCURRENCY 1024
#define ANALYZE_DEFAULT_MIN_INSTANCES 1
#define ANALYZE_DEFAULT_MAX_INSTANCES 5
#define ANALYZE_DEFAULT_MIN_MBS 1
#define ANALYZE_DEFAULT_MAX_MBS 128
#define ANALYZE_DEFAULT_TOP_N 3
#define ANALYZE_DEFAULT_SERVER_ONLY_S 3.0
#define ANALYZE_DEFAULT_MAX_AUTO_ADJUSTS 3
/* Precision mode unless perf_analyzer's stability settings are given (docs/cli/analyze.md). */
#define ANALYZE_DEFAULT_PRECISION_PCT 5.0

/** The most configurations one model's model_config_parameters may expand to. */
#define ANALYZE_MAX_COMBINATIONS 10000

enum analyze_server_mode {
	ANALYZE_SERVER_EMBEDDED = 0,    /* infertune serve, a child process */
	ANALYZE_SERVER_REMOTE,          /* a running Triton or infertune serve (--url) */
};

/** A list of whole numbers (concurrency, batch sizes). */
struct u64_list {
	uint64_t *v;
	size_t n;
};

/** A list of decimals (request rates). */
struct f64_list {
	double *v;
	size_t n;
};

/** An objective as given: a record tag and its (unnormalised) weight. */
struct objective_spec {
	char *tag;
	double weight;
};

/** A constraint as given. */
struct constraint_spec {
	char *tag;
	bool has_min, has_max;
	double min, max;
};

/** The expanded model_config_parameters of one model. */
struct manual_space {
	bool given;
	json_t **overlays;              /* Triton JSON fragments, merged into the default config */
	size_t n_overlays;
	int32_t *mbs;                   /* max_batch_size values (the inner loop); may be none */
	size_t n_mbs;
};

/** One model to profile, with its per-model settings (absent: the global ones). */
struct model_spec {
	char *name;
	bool cpu_only;
	struct u64_list concurrency;
	struct u64_list batch_sizes;
	struct f64_list request_rate;
	struct objective_spec *objectives;
	size_t n_objectives;
	struct constraint_spec *constraints;
	size_t n_constraints;
	bool has_constraints;
	char **perf_flags;              /* "key=value", applied after the global ones */
	size_t n_perf_flags;
	struct manual_space manual;
	double weighting;
};

/** Every option. Embedded value struct: analyze_options_init(), analyze_options_release(). */
struct analyze_options {
	char *config_file;
	char *model_repository;
	struct model_spec *models;
	size_t n_models;
	char *output_model_repository;  /* NULL: <export>/output_model_repository */
	char *export_path;              /* "." by default */
	bool override_output_repository;
	char *search_mode;              /* "brute" or "quick" (manual is chosen automatically) */
	bool search_disable;
	uint64_t min_concurrency, max_concurrency;
	bool user_min_concurrency, user_max_concurrency;
	int32_t min_instances, max_instances;
	bool user_min_instances, user_max_instances;
	int32_t min_mbs, max_mbs;
	bool user_min_mbs, user_max_mbs;
	struct u64_list concurrency;
	struct u64_list batch_sizes;
	struct f64_list request_rate;
	struct objective_spec *objectives;
	size_t n_objectives;
	struct constraint_spec *constraints;
	size_t n_constraints;
	double latency_budget_ms;       /* 0: none */
	double min_throughput;          /* 0: none */
	enum analyze_server_mode server_mode;
	char *url;                      /* remote: HOST:PORT */
	char *metrics_url;              /* remote: the Prometheus page; NULL: port 8002 of --url */
	char *server_cpus;              /* --server-cpus: "auto" (NULL), "none" or a CPU list */
	char *client_cpus;              /* --client-cpus: likewise, for the load generator */
	bool resume;
	bool early_exit_enable;
	size_t num_configs_per_model;
	double duration_seconds;        /* server-only metrics */
	unsigned max_auto_adjusts;
	char **perf_flags;              /* global "key=value" */
	size_t n_perf_flags;
	char **own_settings;            /* --precision, --min-windows: "precision=5" (the
					   option table's PROFILE_DOOR_ANALYZE_OWN rows) */
	size_t n_own_settings;
	char *filename_model_inference;
	char *filename_model_gpu;
	char *filename_server_only;
	bool skip_reports;              /* skip_summary_reports: no HTML/PDF report at the end */
	char **warnings;                /* options accepted and ignored (printed by the caller) */
	size_t n_warnings;
};

/** Sets Model Analyzer's defaults. */
void analyze_options_init(struct analyze_options *o);

/** Frees everything o holds. */
void analyze_options_release(struct analyze_options *o);

/**
 * Sets option `key` (snake_case, as in the YAML file; the command line's
 * --kebab-case with '-' turned into '_') from its text value. Lists are
 * comma-separated ("1,2,4", ranges "start:stop:step" for concurrency and
 * batch sizes), booleans true/false, objectives "tag[=weight],...". For a
 * flag without a value (--resume) pass "true". IT_ERR_INVALID names the key
 * and the value; IT_ERR_NOT_FOUND for an unknown key.
 */
int analyze_options_set(struct analyze_options *o, const char *key,
			const char *value, struct it_error *err);

/**
 * Reads a Model Analyzer YAML config file into o (values already set in o
 * are replaced by the file's; call it before applying the command line).
 * Unknown keys, bad values, wrong types and model_config_parameters fields
 * that ModelConfig does not have fail with IT_ERR_INVALID (IT_ERR_PARSE for
 * YAML syntax) and err->file/line/col at the offending node. Keys of Model
 * Analyzer that do not apply (docker, checkpoints, ...) are accepted and
 * listed in o->warnings.
 */
int analyze_options_read_yaml(struct analyze_options *o, const char *path,
			      struct it_error *err);

/** Parses YAML text (for tests); `name` stands for the file in messages. */
int analyze_options_parse_yaml(struct analyze_options *o, const char *text,
			       size_t len, const char *name,
			       struct it_error *err);

/**
 * Checks the options as a whole once both readers ran: a model repository
 * (embedded) or a URL (remote), at least one model, ranges in order.
 */
int analyze_options_check(const struct analyze_options *o, struct it_error *err);

/**
 * Applies one perf_analyzer flag (its perf_analyzer name, e.g.
 * "measurement-interval", "stability-percentage", "shape", or its short
 * flag "p") to ps through the option table (loadgen/options.h), with the
 * bounds and messages of `infertune profile`. IT_ERR_INVALID for a bad
 * value; IT_ERR_NOT_FOUND for a flag an analysis does not take (the message
 * lists the ones it takes). struct perf_settings and perf_settings_init()/
 * perf_settings_release() are loadgen/options.h's.
 */
int perf_settings_apply(struct perf_settings *ps, const char *key,
			const char *value, struct it_error *err);

/** Applies "key=value" (as --perf-analyzer-flag takes it). */
int perf_settings_apply_pair(struct perf_settings *ps, const char *pair,
			     struct it_error *err);

/**
 * The measurement settings of one model: the defaults (metrics_interval_ms
 * 0: picked from the window unless given), then the global perf flags, then
 * the model's, then precision mode: analyze's default is --precision
 * ANALYZE_DEFAULT_PRECISION_PCT unless a perf flag sets perf_analyzer's
 * stability rule (stability-percentage, max-trials or
 * measurement-request-count: Model Analyzer's behaviour is kept), and
 * --precision/--min-windows given override. IT_ERR_INVALID when the
 * --max-trials cap is below the --min-windows floor. Caller releases *out
 * with perf_settings_release().
 */
int analyze_perf_settings(const struct analyze_options *o,
			  const struct model_spec *m, struct perf_settings *out,
			  struct it_error *err);

/** Whether --precision (or YAML precision) was given. */
bool analyze_precision_given(const struct analyze_options *o);

/**
 * The key that identifies measurements taken with these settings in
 * results.db: the settings that change the figures, in a fixed order.
 * Under the stability rule (precision_pct 0) the key is byte for byte the
 * one of earlier versions (old databases resume); precision mode appends
 * ";precision=P;min_windows=N", so a resumed run never mixes rules.
 */
void perf_settings_key(const struct perf_settings *ps, char *buf, size_t size);

/** Copies ps into po->settings (po borrows ps's strings and shapes). */
void perf_settings_to_profile(const struct perf_settings *ps,
			      struct profile_options *po);

/**
 * The objectives and constraints of model m: its own when given, else the
 * global ones; the --latency-budget / --min-throughput shorthands add
 * perf_latency_p99 max / perf_throughput min. Finished (normalised).
 */
int analyze_objectives(const struct analyze_options *o,
		       const struct model_spec *m, struct objective_set *out,
		       struct it_error *err);

/** The options as one JSON object (recorded in results.db). New reference. */
json_t *analyze_options_to_json(const struct analyze_options *o);

/** Adds a model spec named `name` (or returns the existing one). */
struct model_spec *analyze_options_model(struct analyze_options *o,
					 const char *name);

#endif
