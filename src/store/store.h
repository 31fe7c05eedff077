/*
 * results.db: the SQLite store of an analysis (docs/results-db.md). Every
 * measurement is committed in its own transaction the moment it completes
 * (WAL mode, synchronous=FULL), so a kill -9 loses at most the measurement
 * in progress; the schema is versioned (PRAGMA user_version). Lookups by
 * variant configuration and load level let a resumed analysis reuse what was
 * measured instead of measuring it again; the report's reads are in
 * store/query.h. Depends on store/figures, util/ and SQLite only: it knows
 * nothing of servers, searches or reports.
 */
#ifndef INFERTUNE_STORE_STORE_H
#define INFERTUNE_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/figures.h"

struct it_error;

/** The schema this build reads and writes (PRAGMA user_version). */
#define STORE_SCHEMA_VERSION 3

/** The previous schemas: store_open() migrates them, store_open_readonly() reads them. */
#define STORE_SCHEMA_VERSION_V1 1
#define STORE_SCHEMA_VERSION_V2 2

/** The store (opaque). One per thread; not thread-safe. */
struct store;

enum load_kind {
	LOAD_CONCURRENCY = 0,
	LOAD_REQUEST_RATE,
};

/** "concurrency" / "request_rate". */
const char *load_kind_name(enum load_kind k);

enum measurement_status {
	MEAS_OK = 0,            /* stable: every figure valid */
	MEAS_UNSTABLE,          /* no three agreeing windows (figures absent) */
	MEAS_FAILED,            /* errors, server gone (message says) */
	MEAS_OVER_THRESHOLD,    /* stable, but over the latency threshold */
};

/**
 * Which part of an analysis took a measurement: the sweep of a search
 * point, or the interleaved re-measurement of the top tier's leaders
 * (windows alternating between variants all loaded at once).
 */
enum measurement_phase {
	PHASE_SWEEP = 0,
	PHASE_INTERLEAVED,
};

/** "sweep", "interleaved". */
const char *measurement_phase_name(enum measurement_phase p);

/** "ok", "unstable", "failed", "over_threshold". */
const char *measurement_status_name(enum measurement_status s);

enum variant_status {
	VARIANT_PENDING = 0,    /* created, not loaded yet */
	VARIANT_LOADING,        /* being loaded (a resume retries it) */
	VARIANT_MEASURING,      /* loaded; measurements being taken (a resume continues) */
	VARIANT_MEASURED,       /* done, at least one valid measurement */
	VARIANT_LOAD_FAILED,    /* the server refused or failed to load it */
	VARIANT_SERVER_CRASHED, /* the server died while loading or serving it */
	VARIANT_OUT_OF_MEMORY,  /* out of memory (load error or the OOM killer) */
	VARIANT_UNSTABLE,       /* no load level could stabilise */
	VARIANT_FAILED,         /* measurement errors */
	VARIANT_STATUS_COUNT
};

/** "pending", "loading", ..., "failed". */
const char *variant_status_name(enum variant_status s);

/** True for the statuses that end a variant for good (a resume skips it). */
bool variant_status_final(enum variant_status s);

/** One measurement window (stability data). */
struct store_window {
	uint32_t index;
	double duration_ms;
	uint64_t request_count;
	uint64_t failed_count;
	double throughput;              /* inferences/s */
	double latency_avg_ms;
	double stabilizing_latency_ms;  /* average, or the --percentile latency */
	bool valid;
	bool merged;                    /* one of the stable windows the figures merge */
	double completion_rate;         /* inferences/s over its own completions; 0 or NAN unknown
					 * (loadgen/profiler.h, docs/statistics.md) */
};

/** One GPU's figures; each is valid when its has_ flag is set. */
struct store_gpu {
	char uuid[96];
	bool has_utilization, has_used_memory, has_total_memory, has_power;
	double utilization_pct;
	double used_memory_mb;
	double total_memory_mb;
	double power_w;
};

/**
 * The server's executions at one batch size over a measurement's merged
 * windows: the deltas of the statistics extension's batch_stats (the batch
 * the server executed, not the client's batch_size).
 */
struct store_batch_stat {
	int64_t batch_size;
	uint64_t execution_count;
	uint64_t compute_input_ns;
	uint64_t compute_infer_ns;
	uint64_t compute_output_ns;
};

/**
 * One measurement: a variant at one load level and client batch size.
 * Embedded value struct: zero it, fill it; arrays it holds are owned by it
 * (xmalloc'd) and freed by store_measurement_release().
 */
struct store_measurement {
	int64_t id;                     /* set by store_measurement_add / _find */
	int64_t run_id;
	int64_t variant_id;
	char profile_key[512];          /* the measurement settings (see docs/results-db.md) */
	int64_t batch_size;             /* client batch size (perf_analyzer -b) */
	enum load_kind load_kind;
	double load_value;              /* concurrency or requests/s */
	enum measurement_status status;
	char message[1024];             /* why it is not MEAS_OK ("" otherwise) */
	struct figures fig;
	uint64_t request_count;         /* over the merged windows */
	uint64_t failed_count;
	uint32_t window_count;          /* windows measured */
	uint32_t merged_first, merged_count;
	char window_mode[16];           /* "time_windows" / "count_windows" */
	double window_ms;               /* configured window (time mode) */
	uint64_t window_requests;       /* configured requests per window (count mode) */
	double stability_pct;
	bool client_saturated;
	enum measurement_phase phase;
	bool precision_known;           /* measured under the precision rule */
	bool precision_met;             /* ... and the interval reached --precision */
	bool stopped_early;             /* racing ended the level: it could not win */
	double client_cpu_share;        /* load generator CPU / online CPUs, NAN unknown */
	double started_at;              /* Unix time, s */
	double finished_at;
	struct store_window *windows;
	size_t n_windows;
	struct store_gpu *gpus;
	size_t n_gpus;
	/*
	 * The server's executions per batch size, by increasing batch size
	 * (schema 3). None for a measurement without merged windows or
	 * server statistics, for a server that sends no batch_stats, and in
	 * an older file. Stored and read with the measurement, like windows.
	 */
	struct store_batch_stat *batch_stats;
	size_t n_batch_stats;
};

/** Frees the arrays of m and zeroes them (m itself is the caller's). */
void store_measurement_release(struct store_measurement *m);

/** A configuration variant. Strings are owned; free with store_variant_release(). */
struct store_variant {
	int64_t id;
	int64_t model_id;
	char name[256];                 /* <model>_config_<N> or <model>_config_default */
	int64_t variant_index;          /* N; -1 for the default */
	bool is_default;
	char *config_key;               /* canonical JSON of the config without its name */
	char *config_pbtxt;             /* the variant's config.pbtxt, as written */
	char *config_json;              /* its Triton JSON form */
	int32_t max_batch_size;
	int32_t instance_count;         /* total over the groups */
	char instance_kind[16];         /* "KIND_CPU", "KIND_GPU", ... (first group) */
	bool dynamic_batching;
	char *label;                    /* the search point, e.g. "instances=2 max_batch_size=8" */
	enum variant_status status;
	char *failure_reason;           /* NULL unless failed */
	int64_t created_run_id;
};

/** Frees the strings of v and zeroes it. */
void store_variant_release(struct store_variant *v);

/** A run of `infertune analyze` (a resume is a new run on the same store). */
struct store_run {
	const char *command_line;
	const char *options_json;       /* every option, as resolved */
	const char *search_mode;        /* "brute", "quick", "manual" */
	const char *server_mode;        /* "embedded", "remote" */
	const char *server_url;         /* NULL for embedded */
	const char *profile_key;
	const char *gpus_json;          /* JSON array of GPU UUIDs ("[]" for none) */
	const char *version;
};

/** Server-only figures (the idle server before any model is loaded). */
struct store_server_only {
	int64_t id;
	int64_t run_id;
	double started_at;
	double duration_s;
	struct figures fig;
	struct store_gpu *gpus;         /* owned, as in store_measurement */
	size_t n_gpus;
};

/** Frees the arrays of s. */
void store_server_only_release(struct store_server_only *s);

/** One row of a model's final ranking. */
struct store_rank {
	int64_t variant_id;
	int64_t best_measurement_id;    /* 0 when the variant has no valid measurement */
	bool satisfies_constraints;
	bool has_gain;
	double gain_vs_default_pct;     /* Model Analyzer's weighted percentage gain */
	bool has_gain_ci;
	double gain_lo_pct, gain_hi_pct; /* its 95% interval (analyze/tier.h) */
	bool in_top_tier;               /* equal to the best within measurement noise */
	int64_t measured_rank;          /* rank before the cost order; 0 unknown (older file) */
	char borderline[256];           /* constraint tags whose interval straddles the limit */
	char recommendation[1024];      /* the first row only: the sentence; "" otherwise */
};

/**
 * Opens (creating when missing) the store at path: WAL journal, foreign
 * keys on, a busy timeout, the schema created or checked. A file of an
 * older schema (STORE_SCHEMA_VERSION_V1, _V2) is migrated in place; a
 * file of another schema version fails with IT_ERR_UNSUPPORTED; a file
 * that is not SQLite with IT_ERR_IO. Caller frees with store_close().
 */
int store_open(const char *path, struct store **out, struct it_error *err);

/**
 * Opens the store at path read-only: no pragma, no schema check, nothing
 * written, so files of every infertune build are read as they are and an
 * analysis writing the file is never blocked. A file that is not SQLite
 * fails at its first query, not here. Only the reads (store/query.h, the
 * lookups here) may be used on it. Caller frees with store_close().
 */
int store_open_readonly(const char *path, struct store **out,
			struct it_error *err);

/** Closes the store (a checkpoint folds the WAL in, unless read-only); NULL is a no-op. */
void store_close(struct store *s);

/**
 * Sets the meta row `key` to `value` (both non-NULL), replacing a row of
 * that key; committed at once. The keys are listed in docs/results-db.md.
 * `schema_version` is not writable (IT_ERR_INVALID): store_open() owns it.
 */
int store_meta_set(struct store *s, const char *key, const char *value,
		   struct it_error *err);

/** Starts a run (status "running"); *run_id is its id. */
int store_run_begin(struct store *s, const struct store_run *run,
		    int64_t *run_id, struct it_error *err);

/** Ends a run: status "completed", "interrupted" or "failed" and a message. */
int store_run_finish(struct store *s, int64_t run_id, const char *status,
		     const char *message, struct it_error *err);

/**
 * Marks runs still "running" as "failed" with the message "ended without
 * finishing (killed?)": call it while holding the export folder's lock, when
 * no other analysis can be running on this store. *n is how many.
 */
int store_run_close_stale(struct store *s, int64_t *n, struct it_error *err);

/** Number of runs recorded so far. */
int store_run_count(struct store *s, int64_t *n, struct it_error *err);

/**
 * The model named `name`, added with the given default configuration when
 * it is not there yet. An existing model keeps its first configuration.
 */
int store_model_get_or_add(struct store *s, const char *name,
			   const char *platform, const char *backend,
			   const char *config_pbtxt, const char *config_json,
			   const char *repository, int64_t run_id,
			   int64_t *model_id, struct it_error *err);

/** The variant of model_id whose config key is `key`; *found says whether. */
int store_variant_find(struct store *s, int64_t model_id, const char *key,
		       struct store_variant *out, bool *found,
		       struct it_error *err);

/** The variant with this id. IT_ERR_NOT_FOUND when none. */
int store_variant_get(struct store *s, int64_t id, struct store_variant *out,
		      struct it_error *err);

/** The next free N of <model>_config_<N> for model_id (0 for the first). */
int store_variant_next_index(struct store *s, int64_t model_id, int64_t *n,
			     struct it_error *err);

/**
 * Adds a variant (every field but id, which is set); the name and the
 * (model, config key) pair must be new. Committed at once.
 */
int store_variant_add(struct store *s, struct store_variant *v,
		      struct it_error *err);

/** Sets a variant's status and failure reason (NULL clears it). Committed at once. */
int store_variant_set_status(struct store *s, int64_t variant_id,
			     enum variant_status status, const char *reason,
			     struct it_error *err);

/**
 * Every variant of model_id, in creation order. *out (n entries) is the
 * caller's: store_variant_release() each and free() the array.
 */
int store_variants_of_model(struct store *s, int64_t model_id,
			    struct store_variant **out, size_t *n,
			    struct it_error *err);

/**
 * Adds a measurement with its windows, GPUs and batch statistics in one transaction,
 * committed before returning; sets m->id. A second measurement with the same
 * (variant, profile key, batch size, load kind, load value) fails with
 * IT_ERR_STATE: measured points are never measured twice. The phase is part
 * of that identity (store_measurement_find_phase()).
 */
int store_measurement_add(struct store *s, struct store_measurement *m,
			  struct it_error *err);

/**
 * The stored measurement of (variant, profile key, batch size, load kind,
 * value), windows, GPUs and batch statistics included. *found says whether; when found *out is
 * filled and the caller releases it.
 */
int store_measurement_find(struct store *s, int64_t variant_id,
			   const char *profile_key, int64_t batch_size,
			   enum load_kind kind, double value,
			   struct store_measurement *out, bool *found,
			   struct it_error *err);

/**
 * store_measurement_find() in one phase: the phase is part of a
 * measurement's identity, so an interleaved re-measurement of a level never
 * replaces, nor is mistaken for, the sweep's. store_measurement_find()
 * looks in PHASE_SWEEP.
 */
int store_measurement_find_phase(struct store *s, enum measurement_phase phase,
				 int64_t variant_id, const char *profile_key,
				 int64_t batch_size, enum load_kind kind, double value,
				 struct store_measurement *out, bool *found,
				 struct it_error *err);

/**
 * Every measurement of a variant with the given profile key (NULL: any),
 * ordered by batch size, load kind and value, a level's sweep before its
 * interleaved re-measurement (check m->phase); windows, GPUs and batch
 * statistics included.
 * The caller releases each and frees the array.
 */
int store_measurements_of_variant(struct store *s, int64_t variant_id,
				  const char *profile_key,
				  struct store_measurement **out, size_t *n,
				  struct it_error *err);

/** Number of measurements in the store (every status). */
int store_measurement_count(struct store *s, int64_t *n,
			    struct it_error *err);

/** Adds server-only figures; sets so->id. */
int store_server_only_add(struct store *s, struct store_server_only *so,
			  struct it_error *err);

/** The latest server-only row; *found says whether there is one. */
int store_server_only_latest(struct store *s, struct store_server_only *out,
			     bool *found, struct it_error *err);

/** Replaces the ranking of (run, model) with ranks[0..n) (rank = index + 1). */
int store_ranking_set(struct store *s, int64_t run_id, int64_t model_id,
		      const struct store_rank *ranks, size_t n,
		      struct it_error *err);

/** A search's prediction for a point, and the measurement that checked it. */
struct store_prediction {
	int64_t run_id;
	int64_t variant_id;
	enum load_kind load_kind;
	double load_value;
	struct figures fig;             /* the predicted figures */
	double rel_uncertainty;         /* fraction */
	char model[256];                /* what it rested on */
	int64_t measurement_id;         /* 0: none (yet) */
	bool probe;                     /* role 'probe': made before the fit had seen what
					 * the point measures; else 'guided' (chose the point) */
};

/**
 * Adds a prediction (schema 3's predictions table), unless the point
 * (variant, load) already has one checked by the same measurement (or
 * by none, both): then nothing is added and the first one stays.
 */
int store_prediction_add(struct store *s, const struct store_prediction *p,
			 struct it_error *err);

/**
 * Records an event of a run (a server restart, a failure, an interruption).
 * variant_id 0 = none. kind is a short word ("server_restart", ...).
 */
int store_event_add(struct store *s, int64_t run_id, int64_t variant_id,
		    const char *kind, const char *message,
		    struct it_error *err);

/** Unix time now, in seconds with sub-second precision. */
double store_now(void);

/** Formats Unix time t as "YYYY-MM-DDTHH:MM:SS.mmmZ" into buf (>= 32 bytes). */
void store_time_iso(double t, char *buf, size_t size);

#endif
