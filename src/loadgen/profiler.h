/*
 * The measurement driver, perf_analyzer's method with its flags and
 * defaults: read the model's metadata, build the requests, then for each
 * load level (a concurrency or a request rate) measure windows (time or
 * count) until the last three agree within the stability percentage on
 * throughput and latency, at most --max-trials windows (or, with
 * --precision, until the 95% intervals are narrow enough), and merge the
 * windows: throughput, exact latency percentiles with their intervals,
 * client send/receive, the
 * server's queue/compute breakdown from statistics deltas, Prometheus
 * metrics, the client's own CPU use, and (--early-stop) LoadGen's
 * conservative percentile estimate. A library API: it never prints; the
 * caller gets results and, optionally, progress callbacks.
 * Depends on loadgen/ (engine, requests, target, scrape), stats/, metrics/,
 * util/.
 */
#ifndef INFERTUNE_LOADGEN_PROFILER_H
#define INFERTUNE_LOADGEN_PROFILER_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loadgen/loadgen.h"
#include "loadgen/options.h"
#include "loadgen/requests.h"
#include "loadgen/scrape.h"
#include "loadgen/target.h"
#include "stats/early_stop.h"
#include "stats/interval.h"
#include "stats/latency.h"

struct it_error;
struct strbuf;

enum profile_load {
	PROFILE_LOAD_CONCURRENCY = 0,   /* --concurrency-range (closed loop) */
	PROFILE_LOAD_RATE,              /* --request-rate-range (open loop) */
	PROFILE_LOAD_INTERVALS,         /* --request-intervals FILE (open loop) */
};

struct profile_level;
struct profile_window;

/**
 * Everything a run needs; profile_options_init() sets perf_analyzer's
 * defaults (the option table's, loadgen/options.h). The profiler borrows
 * strings and arrays for its lifetime; what the table put in o->settings
 * (shapes, input_data_file) is freed with perf_settings_release().
 */
struct profile_options {
	const char *model_name;                 /* -m (required) */
	const char *model_version;              /* -x; NULL/"" = the server's choice */
	const char *url;                        /* -u, default "localhost:8000" */
	int64_t batch_size;                     /* -b, default 1 */
	enum profile_load load;
	uint64_t concurrency_start, concurrency_end, concurrency_step; /* 1:1:1; end 0 = no limit */
	double rate_start, rate_end, rate_step; /* end 0 = no limit */
	const char *request_intervals_file;
	bool collect_metrics;                   /* --collect-metrics */
	const char *metrics_url;                /* NULL = host of -u, port 8002, /metrics */
	double early_stop_confidence;           /* --early-stop, 0 = off */
	long request_timeout_ms;                /* 0 = none */
	long control_timeout_ms;                /* metadata/stats GETs, default 10000 */

	/* The measurement settings (loadgen/options.h): o->percentile or o->settings. */
	union {
		struct {
			PERF_SETTINGS_FIELDS
		};
		struct perf_settings settings;
	};

	/* Progress, called on the profiling thread; may be NULL. */
	void (*on_level_start)(void *ctx, const struct profile_level *level);
	void (*on_window)(void *ctx, const struct profile_level *level,
			  const struct profile_window *window);
	void (*on_level_done)(void *ctx, const struct profile_level *level);
	void *callback_ctx;

	/*
	 * Racing (precision mode only; may be NULL): called on the profiling
	 * thread after each window once the level holds --min-windows valid
	 * windows and has not reached its precision yet, with the level's
	 * merged figures and intervals of all its valid windows so far. True
	 * ends the level at once as measured: PROFILE_OK with stopped_early
	 * set (it cannot win, so more windows would be wasted). Not called
	 * by profiler_measure_into().
	 */
	bool (*stop_level_early)(void *ctx, const struct profile_level *level);

	/*
	 * Cancellation (may be NULL), for callers that stop on a signal:
	 * *cancel >= 1 ends the level after the window in progress, >= 2 at
	 * once (polled every 100 ms). The level is then PROFILE_FAILED with
	 * the message "interrupted" and profiler_run() returns IT_ERR_STATE.
	 */
	const volatile sig_atomic_t *cancel;
};

/** Sets every field to perf_analyzer's default (model_name stays NULL). */
void profile_options_init(struct profile_options *o);

/** One measurement window. Plain value struct. */
struct profile_window {
	size_t index;                   /* 0-based within its level */
	uint64_t duration_ns;
	uint64_t request_count;         /* successful requests that ended in it */
	uint64_t failed_count;
	uint64_t delayed_count;
	uint64_t sent_count;
	double throughput;              /* inferences per second (batch counted) */
	/*
	 * Inferences per second over the window's own completions: its
	 * requests over the time from the last completion before it to its
	 * last one. Consecutive windows split the completions exactly, so this
	 * has none of the +-1 request that a window's edges add to throughput
	 * (docs/statistics.md); the intervals use it. NAN without a completion
	 * before the window.
	 */
	double completion_rate;
	uint64_t avg_latency_ns;
	uint64_t stabilizing_latency_ns; /* average, or the --percentile latency */
	uint64_t std_us;
	double client_cpu_cores;        /* process CPU time / wall time */
	double max_worker_busy;         /* busiest worker thread's CPU share */
	bool valid;                     /* had completed requests and no error beyond tolerance */
	bool warmup;                    /* precision mode: the first window after a load start
					   without --warmup-request-count; never merged, not counted */
};

enum profile_status {
	PROFILE_OK = 0,                 /* stable, merged */
	PROFILE_UNSTABLE,               /* no 3 agreeing windows within max_trials */
	PROFILE_OVER_THRESHOLD,         /* latency reached -l: the sweep ends here (not a failure) */
	PROFILE_EARLY_STOP_SHORT,       /* stable, but too few queries for --early-stop */
	PROFILE_FAILED,                 /* errors, server gone, ... (message says) */
};

/**
 * One load level and, when stable, its merged figures. In precision mode
 * (--precision) "stable" means measured: the merged windows are all the
 * valid windows but a warm-up one, and the status is PROFILE_OK whether or
 * not the precision was reached (precision_met says, message tells).
 */
struct profile_level {
	size_t index;
	uint64_t concurrency;           /* closed loop */
	double request_rate;            /* open loop: target (intervals: their mean) */
	enum profile_status status;
	char message[1024];             /* why it is not PROFILE_OK; with OK, a note (precision) */
	bool precision_met;             /* precision mode: both intervals within --precision */
	bool stopped_early;             /* precision mode: ended by stop_level_early */
	struct profile_window *windows;
	size_t n_windows;
	size_t merged_first, merged_count; /* windows[merged_first..+count) */

	/* merged over the stable windows (valid when status is OK or EARLY_STOP_SHORT) */
	uint64_t duration_ns;
	uint64_t request_count;
	uint64_t failed_count;
	uint64_t delayed_count;
	uint64_t sent_count;
	double infer_per_sec;
	double send_rate;               /* requests sent per second */
	struct latency_summary latency;
	uint64_t stabilizing_latency_ns;
	uint64_t avg_request_ns;        /* actual send start to response end */
	uint64_t avg_send_ns;
	uint64_t avg_recv_ns;
	uint64_t max_lateness_ns;       /* open loop: worst send delay */
	bool has_server;
	struct remote_stats server;     /* deltas summed over the merged windows */
	/*
	 * The server's executions per batch size (count and compute
	 * input/infer/output ns), deltas summed over the merged windows like
	 * `server`; empty without has_server or when the server sends no
	 * batch_stats. Owned by the level: profile_level_release().
	 */
	struct remote_batch_stats server_batches;
	bool has_metrics;
	struct scrape_summary metrics;
	double client_cpu_cores;
	double client_cpu_ns_per_request;
	double max_worker_busy;
	bool client_saturated;          /* a worker thread was busy >= 90% of a window */
	/*
	 * 95% confidence intervals of the merged figures (stats/interval.h,
	 * docs/statistics.md); a bound the data cannot give is NAN.
	 * Throughput and average latency: Student's t over the merged
	 * windows' values. Percentiles: order statistics of the pooled
	 * request latencies (distribution-free).
	 */
	struct stats_interval infer_per_sec_ci;
	struct stats_interval avg_latency_ci_ns;
	struct stats_interval latency_ci_ns[LATENCY_N_STD_PERCENTILES]; /* p50, p90, p95, p99 */
	struct stats_interval extra_latency_ci_ns;      /* --percentile's, when given */
	bool has_early_stop;
	struct early_stop_result early_stop;
	int early_stop_percentile;
	char first_error[512];
};

/** A whole run. Heap object; free with profile_results_free(). */
struct profile_results {
	struct profile_level *levels;
	size_t n_levels;
	enum profile_load load;
	int64_t batch_size;
	int percentile;                 /* 0 = none */
	bool include_server_stats;      /* the server has the statistics extension */
	bool cache_enabled;             /* the model's response cache is on */
	bool decoupled;
	bool collect_metrics;
	unsigned n_workers;
	char model_name[256];
	char model_version[32];         /* the version measured ("" if unknown) */
	char input_shapes[512];         /* "INPUT0 [1,4], ..." */
};

void profile_results_free(struct profile_results *r);

/** Frees what a level owns (its windows, its batch statistics); the struct itself is the caller's. */
void profile_level_release(struct profile_level *L);

/** The profiler (opaque). */
struct profiler;

/**
 * Validates the options, reads the model's metadata and configuration from
 * the server and builds the requests; starts nothing yet. Errors: an
 * unreachable server, an unknown model or version, a wrong or missing
 * --shape, bad input data, option values out of range (IT_ERR_INVALID,
 * IT_ERR_IO, IT_ERR_NOT_FOUND; the message says which). Caller frees with
 * profiler_free(). Not thread-safe: one profiler per thread.
 */
int profiler_new(const struct profile_options *opts, struct profiler **out,
		 struct it_error *err);

/** The model as the server described it. */
const struct target_model *profiler_model(const struct profiler *p);

/** The prebuilt requests. */
const struct request_set *profiler_requests(const struct profiler *p);

/** The HTTP client carrying the requests: "h1" or "libcurl". */
const char *profiler_http_client(const struct profiler *p);

/**
 * Runs the sweep. *out is always set (caller frees), holding every level
 * measured, including a failing one with the windows it saw. Returns 0 when
 * every level measured is stable (a level over the latency threshold ends
 * the sweep and is not a failure), IT_ERR_STATE when a level could not
 * stabilise (or lacked queries for --early-stop), IT_ERR_IO (or another code)
 * when the run failed: errors beyond tolerance, the server stopped
 * answering, statistics or metrics could not be read. err says why.
 */
int profiler_run(struct profiler *p, struct profile_results **out,
		 struct it_error *err);

/** Frees p; NULL is a no-op. */
void profiler_free(struct profiler *p);

/**
 * Windows of one profiler gathered over several calls (interleaved
 * measurement: analyze alternates windows between variants loaded on the
 * server at once, so that the drift of a noisy machine falls on all of
 * them alike). Holds the windows, each window's pooled request latencies
 * and server-side deltas. Opaque heap object: profile_accum_new(),
 * profile_accum_free(); one accumulator belongs to one profiler.
 */
struct profile_accum;

/** An empty accumulator. Caller frees with profile_accum_free(). */
struct profile_accum *profile_accum_new(void);

/** Frees acc; NULL is a no-op. */
void profile_accum_free(struct profile_accum *acc);

/** Windows accumulated so far (warm-up windows not counted). */
size_t profile_accum_windows(const struct profile_accum *acc);

/**
 * Puts load `load_value` (a concurrency in closed loop, requests per second
 * in open loop; PROFILE_LOAD_INTERVALS replays the file and ignores it) on
 * the server with a level's start (warm-up requests, then a warm-up window
 * in precision mode when there were none), measures n_windows windows,
 * appends them to acc, and stops the load: when it returns no request of p
 * is being sent, and the requests still in flight are discarded by the next
 * start, so windows of other profilers measured in between never see p's
 * load (closed loop; in open loop the last sends may still be answered
 * during the next profiler's first window: give it --warmup-request-count).
 * Several profilers may be alive at once and used alternately from one
 * thread. Calls on_window for each window. Errors as a failing level
 * (IT_ERR_IO: errors beyond tolerance, no answer; IT_ERR_STATE:
 * interrupted); the windows measured before the failure are kept.
 */
int profiler_measure_into(struct profiler *p, double load_value, size_t n_windows,
			  struct profile_accum *acc, struct it_error *err);

/**
 * Merges every valid window accumulated into *out, exactly as a level's
 * (figures, server deltas, 95% intervals), with out->concurrency or
 * out->request_rate the last load measured. Status PROFILE_OK, with
 * precision_met judged against p's --precision when it is on (else false);
 * PROFILE_FAILED when no valid window was accumulated. *out owns a copy of
 * the windows: profile_level_release(). acc is unchanged (measure more,
 * finish again).
 */
void profile_accum_finish(const struct profile_accum *acc, const struct profiler *p,
			  struct profile_level *out);

/** "stable", "unstable", ... */
const char *profile_status_name(enum profile_status s);

/**
 * Writes perf_analyzer's -f CSV for the stable levels of r into out: the
 * header byte for byte as perf_analyzer writes it (Concurrency or Request
 * Rate first; the server columns only with server statistics; cache columns
 * only with the response cache on; p50/p90/p95/p99 plus --percentile;
 * --verbose-csv adds Avg latency (without --percentile), request/response,
 * response wait and, with --collect-metrics, the four GPU columns), all
 * times in µs, rows sorted by increasing throughput.
 */
void profile_csv_write(const struct profile_results *r, bool verbose_csv,
		       struct strbuf *out);

#endif
