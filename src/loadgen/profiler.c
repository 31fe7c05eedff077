/*
 * perf_analyzer's measurement loop on top of the load engine.
 *
 * Window semantics (perf_analyzer's): a request belongs to the window in
 * which it *ends*; requests that end after the window closes are carried to
 * the next one; the server statistics of a window are the difference of two
 * snapshots taken at its boundaries (so they include a few requests of the
 * neighbouring windows, as in perf_analyzer). The load never stops between
 * windows or between levels.
 */
#include "loadgen/profiler.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "loadgen/fetch.h"
#include "loadgen/loadgen.h"
#include "loadgen/schedule.h"
#include "stats/stability.h"
#include "util/error.h"
#include "util/strbuf.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define NS_PER_MS 1000000ULL
#define NS_PER_S 1000000000ULL
#define POLL_NS (100 * NS_PER_MS)
#define COUNT_WINDOW_MIN_NS NS_PER_S
#define STALL_MIN_NS (30 * NS_PER_S)
#define SATURATED_BUSY 0.90
#define MAX_STAT_VERSIONS 64
#define CONTROL_MAX_BYTES ((size_t)64 << 20)
#define OPEN_LOOP_LEAD_NS (5 * NS_PER_MS)

/* Per-window data the public struct does not carry. */
struct window_data {
	struct latency_samples latencies;       /* sorted */
	uint64_t sum_send_ns, sum_recv_ns, sum_request_ns;
	uint64_t max_lateness_ns;
	bool has_server;
	struct remote_stats server;
	struct remote_batch_stats batches;      /* the server's, per batch size */
	bool has_metrics;
	struct scrape_summary metrics;
	uint64_t cpu_ns;
	char first_error[512];
};

struct profiler {
	struct profile_options o;
	char *base_url;
	char *model_url;
	char *infer_url;
	char *stats_url;
	char *metrics_url;
	struct fetcher *fetcher;
	struct target_model *model;
	struct request_set *requests;
	struct loadgen *lg;
	struct scraper *scraper;
	bool include_server_stats;
	uint64_t *intervals_ns;
	size_t n_intervals;
	struct schedule *sched;         /* the open-loop schedule the workers read */
	unsigned n_workers;
	char version_used[32];
	struct loadgen_harvest harvest;
	struct loadgen_record *carry;
	size_t n_carry, alloc_carry;
	uint64_t rate_anchor_ns;        /* the last successful completion before the window; 0 none */
	struct strbuf body;
};

void profile_options_init(struct profile_options *o)
{
	memset(o, 0, sizeof(*o));
	perf_settings_init(&o->settings);
	profile_option_defaults(o);
	o->load = PROFILE_LOAD_CONCURRENCY;
	o->concurrency_start = o->concurrency_end = o->concurrency_step = 1;
	o->rate_start = o->rate_end = o->rate_step = 1.0;
	o->control_timeout_ms = 10000;
}

const char *profile_status_name(enum profile_status s)
{
	switch (s) {
	case PROFILE_OK:
		return "stable";
	case PROFILE_UNSTABLE:
		return "unstable";
	case PROFILE_OVER_THRESHOLD:
		return "over the latency threshold";
	case PROFILE_EARLY_STOP_SHORT:
		return "too few queries for early stopping";
	case PROFILE_FAILED:
		break;
	}
	return "failed";
}

void profile_level_release(struct profile_level *L)
{
	free(L->windows);
	L->windows = NULL;
	L->n_windows = 0;
	remote_batch_stats_release(&L->server_batches);
}

void profile_results_free(struct profile_results *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n_levels; i++)
		profile_level_release(&r->levels[i]);
	free(r->levels);
	free(r);
}

void profiler_free(struct profiler *p)
{
	if (!p)
		return;
	/* The engine first: its workers read the schedule and the bodies. */
	loadgen_free(p->lg);
	scraper_free(p->scraper);
	if (p->sched)
		schedule_release(p->sched);
	free(p->sched);
	request_set_free(p->requests);
	target_model_free(p->model);
	fetcher_free(p->fetcher);
	loadgen_harvest_release(&p->harvest);
	free(p->carry);
	free(p->intervals_ns);
	strbuf_release(&p->body);
	free(p->base_url);
	free(p->model_url);
	free(p->infer_url);
	free(p->stats_url);
	free(p->metrics_url);
	free(p);
}

const struct target_model *profiler_model(const struct profiler *p)
{
	return p->model;
}

const struct request_set *profiler_requests(const struct profiler *p)
{
	return p->requests;
}

const char *profiler_http_client(const struct profiler *p)
{
	return loadgen_http_client(p->lg);
}

static int check_options(const struct profile_options *o, struct it_error *err)
{
	if (!o->model_name || !*o->model_name)
		return it_error_set(err, IT_ERR_INVALID,
				    "no model given (-m NAME)");
	if (o->batch_size < 1)
		return it_error_set(err, IT_ERR_INVALID, "-b (batch size) must be > 0");
	if (o->url) {
		int rc = loadgen_http_client_check(o->url, o->http_client, err);

		if (rc)
			return rc;
	}
	if (o->measurement_interval_ms < 1)
		return it_error_set(err, IT_ERR_INVALID,
				    "--measurement-interval (-p) must be > 0 msec");
	if (o->measurement_request_count < 1)
		return it_error_set(err, IT_ERR_INVALID,
				    "--measurement-request-count must be > 0");
	if (!(o->stability_percentage >= 0) || !isfinite(o->stability_percentage))
		return it_error_set(err, IT_ERR_INVALID,
				    "--stability-percentage (-s) must be >= 0");
	if (o->max_trials < STABILITY_WINDOWS)
		return it_error_set(err, IT_ERR_INVALID,
				    "--max-trials (-r) must be at least %d: stability is judged over the last %d windows",
				    STABILITY_WINDOWS, STABILITY_WINDOWS);
	if (!(o->precision_pct >= 0 && o->precision_pct <= 100))
		return it_error_set(err, IT_ERR_INVALID,
				    "--precision must be a percentage above 0 and at most 100");
	if (o->min_windows < 2)
		return it_error_set(err, IT_ERR_INVALID,
				    "--min-windows must be at least 2: an interval needs two windows");
	if (perf_settings_check(&o->settings, err))
		return IT_ERR_INVALID;
	if (o->percentile != 0 && (o->percentile < 1 || o->percentile > 99))
		return it_error_set(err, IT_ERR_INVALID,
				    "--percentile must be in 1..99");
	if (o->load == PROFILE_LOAD_CONCURRENCY) {
		if (o->concurrency_start < 1 || o->concurrency_step < 1)
			return it_error_set(err, IT_ERR_INVALID,
					    "--concurrency-range: start and step must be > 0");
		if (o->concurrency_end == 0 && o->latency_threshold_ms == 0)
			return it_error_set(err, IT_ERR_INVALID,
					    "--concurrency-range with end 0 sweeps until the latency threshold, so -l/--latency-threshold must be set");
	} else if (o->load == PROFILE_LOAD_RATE) {
		if (!(o->rate_start > 0) || !(o->rate_step > 0))
			return it_error_set(err, IT_ERR_INVALID,
					    "--request-rate-range: start and step must be > 0");
		if (o->rate_end == 0 && o->latency_threshold_ms == 0)
			return it_error_set(err, IT_ERR_INVALID,
					    "--request-rate-range with end 0 sweeps until the latency threshold, so -l/--latency-threshold must be set");
	} else if (!o->request_intervals_file) {
		return it_error_set(err, IT_ERR_INVALID, "no --request-intervals file");
	}
	if (o->early_stop_confidence != 0 &&
	    !(o->early_stop_confidence > 0 && o->early_stop_confidence < 1))
		return it_error_set(err, IT_ERR_INVALID,
				    "--early-stop confidence must be between 0 and 1 (or 0 and 100 %%)");
	if (!(o->max_error_percentage >= 0 && o->max_error_percentage <= 100))
		return it_error_set(err, IT_ERR_INVALID,
				    "--max-error-percentage must be in 0..100");
	if (o->collect_metrics && o->metrics_interval_ms < 1)
		return it_error_set(err, IT_ERR_INVALID,
				    "--metrics-interval must be > 0 msec");
	return 0;
}

/* "http://host:8000" -> "http://host:8002/metrics" (perf_analyzer's default port). */
static char *default_metrics_url(const char *base)
{
	struct strbuf sb;
	const char *host = strstr(base, "://");
	const char *end;

	host = host ? host + 3 : base;
	strbuf_init(&sb, 0);
	strbuf_add(&sb, base, (size_t)(host - base));
	if (*host == '[') {             /* IPv6 literal */
		end = strchr(host, ']');
		end = end ? end + 1 : host + strlen(host);
	} else {
		end = host + strcspn(host, ":/");
	}
	strbuf_add(&sb, host, (size_t)(end - host));
	strbuf_adds(&sb, ":8002/metrics");
	return strbuf_detach(&sb, NULL);
}

/* GET url; HTTP errors become IT_ERR_NOT_FOUND/IT_ERR_IO with the server's message. */
static int get_ok(struct profiler *p, const char *url, const char *what,
		  struct it_error *err)
{
	long status = 0;
	char m[400];
	int rc;

	rc = fetcher_get(p->fetcher, url, CONTROL_MAX_BYTES, &p->body, &status,
			 err);
	if (rc)
		return rc;
	if (status == 200)
		return 0;
	lg_error_message(p->body.buf, p->body.len, m, sizeof(m));
	if (status == 400 || status == 404)
		return it_error_set(err, IT_ERR_NOT_FOUND, "%s: HTTP %ld: %s", what,
				    status, m);
	return it_error_set(err, IT_ERR_IO, "%s: HTTP %ld: %s", what, status, m);
}

static unsigned online_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n > 0 ? (unsigned)n : 1;
}

static uint64_t max_concurrency(const struct profile_options *o)
{
	if (o->load != PROFILE_LOAD_CONCURRENCY)
		return 0;
	return o->concurrency_end == 0 ? 0 :
	       (o->concurrency_end > o->concurrency_start ?
		o->concurrency_end : o->concurrency_start);
}

static unsigned pick_workers(const struct profile_options *o)
{
	unsigned n, cpus = online_cpus();
	uint64_t maxc = max_concurrency(o);

	if (o->max_threads) {
		n = o->max_threads;
	} else {
		/* perf_analyzer's defaults: 16 threads, 4 for request rates; never more than CPUs. */
		n = o->load == PROFILE_LOAD_CONCURRENCY ? 16 : 4;
		if (n > cpus)
			n = cpus;
	}
	if (maxc && n > maxc)
		n = (unsigned)maxc;
	return n ? n : 1;
}

static uint64_t fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur == RLIM_INFINITY)
		return UINT64_MAX;
	return (uint64_t)rl.rlim_cur;
}

/* The profiler with its URLs and control fetcher; nothing asked of the server yet. */
static struct profiler *profiler_alloc(const struct profile_options *opts)
{
	struct profiler *p = xcalloc(1, sizeof(*p));
	struct strbuf sb;

	p->o = *opts;
	if (!p->o.control_timeout_ms)
		p->o.control_timeout_ms = 10000;
	strbuf_init(&p->body, 0);
	loadgen_harvest_init(&p->harvest);
	p->base_url = lg_base_url(opts->url ? opts->url : "localhost:8000");
	p->model_url = lg_model_url(p->base_url, opts->model_name, opts->model_version);
	strbuf_init(&sb, 0);
	strbuf_addf(&sb, "%s/infer", p->model_url);
	p->infer_url = strbuf_detach(&sb, NULL);
	strbuf_init(&sb, 0);
	strbuf_addf(&sb, "%s/stats", p->model_url);
	p->stats_url = strbuf_detach(&sb, NULL);
	p->fetcher = fetcher_new(p->o.control_timeout_ms);
	return p;
}

/* GET the metadata; it says whether the server is there and the model is. */
static int fetch_metadata(struct profiler *p, char **meta, struct it_error *err)
{
	const struct profile_options *opts = &p->o;
	int rc = get_ok(p, p->model_url, "model metadata", err);

	if (rc == IT_ERR_NOT_FOUND) {
		char m[IT_ERROR_MESSAGE_MAX];

		snprintf(m, sizeof(m), "%s", err ? err->message : "");
		return it_error_set(err, IT_ERR_NOT_FOUND,
				    "model '%s'%s%s is not available on %s (%s)",
				    opts->model_name,
				    opts->model_version && *opts->model_version ? " version " : "",
				    opts->model_version ? opts->model_version : "",
				    p->base_url, m);
	}
	if (rc) {
		it_error_prefix(err, "cannot reach the server at %s", p->base_url);
		return rc;
	}
	*meta = strbuf_detach(&p->body, NULL);
	return 0;
}

/* Metadata and configuration into p->model; the version measured. */
static int read_model(struct profiler *p, struct it_error *err)
{
	const struct profile_options *opts = &p->o;
	char *meta = NULL, *config_json = NULL;
	size_t config_len;
	struct strbuf url;
	int rc;

	rc = fetch_metadata(p, &meta, err);
	if (rc)
		goto out;
	strbuf_init(&url, 0);
	strbuf_addf(&url, "%s/config", p->model_url);
	rc = get_ok(p, url.buf, "model configuration", err);
	strbuf_release(&url);
	if (rc) {
		it_error_prefix(err, "model '%s'", opts->model_name);
		goto out;
	}
	config_len = p->body.len;
	config_json = strbuf_detach(&p->body, NULL);
	rc = target_model_parse(meta, strlen(meta), config_json, config_len,
				&p->model, err);
	if (rc) {
		it_error_prefix(err, "model '%s'", opts->model_name);
		goto out;
	}
	if (p->model->decoupled) {
		rc = it_error_set(err, IT_ERR_UNSUPPORTED,
				  "model '%s' is decoupled; its streamed responses need gRPC streaming, which infertune profile does not speak",
				  opts->model_name);
		goto out;
	}
	if (opts->model_version && *opts->model_version)
		snprintf(p->version_used, sizeof(p->version_used), "%s",
			 opts->model_version);
	else if (p->model->n_versions)
		snprintf(p->version_used, sizeof(p->version_used), "%s",
			 p->model->versions[p->model->n_versions - 1]);
out:
	free(meta);
	free(config_json);
	return rc;
}

/* Statistics: optional, as for perf_analyzer (no extension, no server columns). */
static void probe_stats(struct profiler *p)
{
	long status = 0;
	struct remote_stats tmp[MAX_STAT_VERSIONS];
	size_t n = 0;

	if (!fetcher_get(p->fetcher, p->stats_url, CONTROL_MAX_BYTES,
			 &p->body, &status, NULL) && status == 200 &&
	    !remote_stats_parse(p->body.buf, p->body.len,
				p->model->name, tmp, MAX_STAT_VERSIONS,
				&n, NULL) && n > 0)
		p->include_server_stats = true;
}

/* Every request body, and the --request-intervals schedule. */
static int build_requests(struct profiler *p, struct it_error *err)
{
	const struct profile_options *opts = &p->o;
	struct request_options ro;
	int rc;

	memset(&ro, 0, sizeof(ro));
	ro.batch_size = opts->batch_size;
	ro.data = opts->input_data;
	ro.data_file = opts->input_data_file;
	ro.shapes = opts->shapes;
	ro.n_shapes = opts->n_shapes;
	ro.string_length = opts->string_length;
	ro.seed = opts->seed;
	ro.input_json = opts->input_json;
	ro.output_json = opts->output_json;
	rc = request_set_build(p->model, &ro, &p->requests, err);
	if (rc || opts->load != PROFILE_LOAD_INTERVALS)
		return rc;
	return schedule_read_intervals(opts->request_intervals_file,
				       &p->intervals_ns, &p->n_intervals, err);
}

/* The load engine (its workers start idle) and the metrics scraper. */
static int start_engine(struct profiler *p, struct it_error *err)
{
	const struct profile_options *opts = &p->o;
	struct loadgen_options lo;
	uint64_t maxc = max_concurrency(opts);
	int rc;

	if (maxc && maxc + 128 > fd_limit())
		return it_error_set(err, IT_ERR_LIMIT,
				    "concurrency %llu needs %llu connections, but the open-file limit (ulimit -n) is %llu",
				    (unsigned long long)maxc,
				    (unsigned long long)maxc,
				    (unsigned long long)fd_limit());
	p->n_workers = pick_workers(opts);
	memset(&lo, 0, sizeof(lo));
	lo.infer_url = p->infer_url;
	lo.requests = p->requests;
	lo.mode = opts->load == PROFILE_LOAD_CONCURRENCY ? LOADGEN_CLOSED : LOADGEN_OPEN;
	lo.n_workers = p->n_workers;
	lo.request_timeout_ms = opts->request_timeout_ms;
	lo.http_client = opts->http_client;
	rc = loadgen_new(&lo, &p->lg, err);
	if (rc || !opts->collect_metrics)
		return rc;
	p->metrics_url = opts->metrics_url && *opts->metrics_url ?
			 lg_base_url(opts->metrics_url) :
			 default_metrics_url(p->base_url);
	return scraper_start(p->metrics_url, opts->metrics_interval_ms,
			     &p->scraper, err);
}

int profiler_new(const struct profile_options *opts, struct profiler **out,
		 struct it_error *err)
{
	struct profiler *p = NULL;
	int rc;

	rc = check_options(opts, err);
	if (rc)
		return rc;
	lg_curl_global_init();
	p = profiler_alloc(opts);
	rc = read_model(p, err);
	if (rc)
		goto out;
	probe_stats(p);
	rc = build_requests(p, err);
	if (rc)
		goto out;
	rc = start_engine(p, err);
	if (rc)
		goto out;
	*out = p;
	p = NULL;
out:
	profiler_free(p);
	return rc;
}

/* --- measurement --- */

static uint64_t process_cpu_ns(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru))
		return 0;
	return ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) * NS_PER_S +
	       ((uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_usec) * 1000;
}

static void sleep_ns(uint64_t ns)
{
	struct timespec ts = { (time_t)(ns / NS_PER_S), (long)(ns % NS_PER_S) };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/*
 * Reads the statistics and picks the version measured: the one given with
 * -x, else (as perf_analyzer) the highest version whose queue count moved
 * since `prev`, else the highest. *batches gets that version's counters
 * per batch size, from the same answer.
 */
static int read_stats(struct profiler *p, const struct remote_stats *prev,
		      struct remote_stats *out, struct remote_batch_stats *batches,
		      struct it_error *err)
{
	struct remote_stats all[MAX_STAT_VERSIONS];
	size_t n = 0, pick = SIZE_MAX;
	long best = -1;
	int rc;

	rc = get_ok(p, p->stats_url, "statistics", err);
	if (!rc)
		rc = remote_stats_parse(p->body.buf, p->body.len, p->model->name,
					all, MAX_STAT_VERSIONS, &n, err);
	if (rc) {
		it_error_prefix(err, "cannot read the server statistics");
		return rc;
	}
	if (!n)
		return it_error_set(err, IT_ERR_NOT_FOUND,
				    "the server statistics do not list model '%s'",
				    p->model->name);
	for (int pass = 0; pass < 2 && pick == SIZE_MAX; pass++) {
		for (size_t i = 0; i < n; i++) {
			long v = strtol(all[i].version, NULL, 10);

			if (p->o.model_version && *p->o.model_version) {
				if (!strcmp(all[i].version, p->o.model_version))
					pick = i;
				continue;
			}
			if (pass == 0 && (!prev || strcmp(prev->version, all[i].version) ||
					  all[i].queue_count <= prev->queue_count))
				continue;
			if (v > best) {
				best = v;
				pick = i;
			}
		}
	}
	if (pick == SIZE_MAX)
		return it_error_set(err, IT_ERR_NOT_FOUND,
				    "the server statistics do not list version %s of model '%s'",
				    p->o.model_version, p->model->name);
	/* The answer again, for one version: no second request, windows stay aligned. */
	rc = remote_batch_stats_parse(p->body.buf, p->body.len, p->model->name,
				      all[pick].version, batches, err);
	if (rc) {
		it_error_prefix(err, "cannot read the server statistics");
		return rc;
	}
	*out = all[pick];
	return 0;
}

/* The latest successful completion among the harvested and carried records before `until`. */
static void rate_anchor_update(struct profiler *p, uint64_t until)
{
	const struct loadgen_record *srcs[2] = { p->carry, p->harvest.records };
	size_t counts[2] = { p->n_carry, p->harvest.n_records };

	for (int k = 0; k < 2; k++)
		for (size_t i = 0; i < counts[k]; i++) {
			const struct loadgen_record *r = &srcs[k][i];

			if (!(r->flags & LOADGEN_RECORD_FAILED) && r->end_ns < until &&
			    r->end_ns > p->rate_anchor_ns)
				p->rate_anchor_ns = r->end_ns;
		}
}

/* Moves harvested and carried records into the window or the carry. */
static void split_records(struct profiler *p, uint64_t wstart, uint64_t wend,
			  struct profile_window *w, struct window_data *d)
{
	struct loadgen_record *next = NULL;
	size_t n_next = 0, alloc_next = 0;
	const struct loadgen_record *srcs[2] = { p->carry, p->harvest.records };
	size_t counts[2] = { p->n_carry, p->harvest.n_records };
	uint64_t last_end = 0;

	rate_anchor_update(p, wstart);
	for (int k = 0; k < 2; k++) {
		for (size_t i = 0; i < counts[k]; i++) {
			const struct loadgen_record *r = &srcs[k][i];

			if (r->end_ns < wstart)
				continue;
			if (r->end_ns > wend) {
				XGROW(next, alloc_next, n_next + 1);
				next[n_next++] = *r;
				continue;
			}
			if (r->flags & LOADGEN_RECORD_FAILED) {
				w->failed_count++;
				continue;
			}
			w->request_count++;
			if (r->end_ns > last_end)
				last_end = r->end_ns;
			if (r->flags & LOADGEN_RECORD_DELAYED)
				w->delayed_count++;
			latency_samples_add(&d->latencies, r->latency_ns);
			d->sum_send_ns += r->send_ns;
			d->sum_recv_ns += r->recv_ns;
			d->sum_request_ns += r->request_ns;
		}
	}
	free(p->carry);
	p->carry = next;
	p->n_carry = n_next;
	p->alloc_carry = alloc_next;
	loadgen_harvest_clear(&p->harvest);
	w->completion_rate = NAN;
	if (p->rate_anchor_ns && last_end > p->rate_anchor_ns)
		w->completion_rate = (double)w->request_count * (double)p->o.batch_size * 1e9 /
				     (double)(last_end - p->rate_anchor_ns);
	if (last_end)
		p->rate_anchor_ns = last_end;
}

/*
 * Waits until the window should close: its time is up (time windows), or
 * enough requests finished and a second passed (count windows; perf_analyzer
 * polls once a second, we poll every 100 ms). Returns early when a request
 * failed and no failure is tolerated, or when nothing finished for the stall
 * timeout while requests are in flight.
 */
static uint64_t wait_window(struct profiler *p, uint64_t wstart)
{
	const struct profile_options *o = &p->o;
	uint64_t failed0, c0 = loadgen_completed(p->lg, &failed0);
	uint64_t last_c = c0, last_change = wstart;
	uint64_t interval_ns = o->measurement_interval_ms * NS_PER_MS;
	uint64_t stall_ns = 3 * interval_ns > STALL_MIN_NS ? 3 * interval_ns : STALL_MIN_NS;

	for (;;) {
		uint64_t now = loadgen_now_ns(), failed;
		uint64_t c = loadgen_completed(p->lg, &failed);
		uint64_t step = POLL_NS;

		if (o->window_mode == PROFILE_TIME_WINDOWS) {
			if (now >= wstart + interval_ns)
				return now;
			if (wstart + interval_ns - now < step)
				step = wstart + interval_ns - now;
		} else if (c - c0 >= o->measurement_request_count &&
			   now - wstart >= COUNT_WINDOW_MIN_NS) {
			return now;
		}
		if (failed > failed0 && o->max_error_percentage == 0)
			return now;
		if (o->cancel && *o->cancel >= 2)
			return now;
		if (c != last_c) {
			last_c = c;
			last_change = now;
		} else if (o->window_mode == PROFILE_COUNT_WINDOWS &&
			   now - last_change > stall_ns) {
			return now;
		}
		sleep_ns(step);
	}
}

/* Builds an open-loop schedule for rate r long enough for the level. */
static int make_schedule(struct profiler *p, double rate, size_t level,
			 struct schedule *s, struct it_error *err)
{
	const struct profile_options *o = &p->o;
	double horizon_s, n;

	if (o->load == PROFILE_LOAD_INTERVALS)
		return schedule_from_intervals(p->intervals_ns, p->n_intervals, s, err);
	if (o->window_mode == PROFILE_TIME_WINDOWS)
		horizon_s = (double)(o->max_trials + 2) * (double)o->measurement_interval_ms / 1000;
	else
		horizon_s = (double)(o->max_trials + 2) *
			    fmax(1.0, (double)o->measurement_request_count / rate);
	n = ceil(rate * horizon_s) + (double)o->warmup_request_count + 1;
	if (n > (double)SCHEDULE_MAX_SENDS)
		n = (double)SCHEDULE_MAX_SENDS;
	if (o->distribution == PROFILE_POISSON)
		return schedule_poisson(rate, o->seed + level, (size_t)n, s, err);
	return schedule_constant(rate, (size_t)n, s, err);
}

static int set_load(struct profiler *p, struct profile_level *L,
		    struct it_error *err)
{
	struct schedule *s;
	int rc;

	if (p->o.load == PROFILE_LOAD_CONCURRENCY)
		return loadgen_set_concurrency(p->lg, L->concurrency, err);
	/* On the heap: the workers keep reading it after this returns. */
	s = xcalloc(1, sizeof(*s));
	rc = make_schedule(p, L->request_rate, L->index, s, err);
	if (rc) {
		free(s);
		return rc;
	}
	if (p->o.load == PROFILE_LOAD_INTERVALS)
		L->request_rate = schedule_rate(s);
	rc = loadgen_set_schedule(p->lg, s, loadgen_now_ns() + OPEN_LOOP_LEAD_NS, err);
	if (rc) {
		/* A worker may have taken it before failing: keep it until the end. */
		if (p->sched) {
			schedule_release(p->sched);
			free(p->sched);
		}
		p->sched = s;
		return rc;
	}
	/* Every worker has moved to s (set_schedule waits), so the old one is free. */
	if (p->sched) {
		schedule_release(p->sched);
		free(p->sched);
	}
	p->sched = s;
	return 0;
}

static int warmup(struct profiler *p, struct it_error *err)
{
	uint64_t n = p->o.warmup_request_count, c0, failed0, start;
	uint64_t limit = 60 * NS_PER_S;

	if (!n)
		return 0;
	if (limit < 10 * p->o.measurement_interval_ms * NS_PER_MS)
		limit = 10 * p->o.measurement_interval_ms * NS_PER_MS;
	c0 = loadgen_completed(p->lg, &failed0);
	start = loadgen_now_ns();
	for (;;) {
		uint64_t failed, c = loadgen_completed(p->lg, &failed);

		if (failed > failed0 && p->o.max_error_percentage == 0) {
			loadgen_harvest(p->lg, &p->harvest, NULL);
			return it_error_set(err, IT_ERR_IO,
					    "a warm-up request failed: %s",
					    p->harvest.first_error[0] ?
					    p->harvest.first_error : "unknown error");
		}
		if (c - c0 >= n)
			return 0;
		if (p->o.cancel && *p->o.cancel)
			return it_error_set(err, IT_ERR_STATE, "interrupted");
		if (loadgen_now_ns() - start > limit)
			return it_error_set(err, IT_ERR_IO,
					    "the %llu warm-up requests did not finish within %llu s",
					    (unsigned long long)n,
					    (unsigned long long)(limit / NS_PER_S));
		sleep_ns(10 * NS_PER_MS);
	}
}

static void window_release(struct window_data *d)
{
	latency_samples_release(&d->latencies);
	remote_batch_stats_release(&d->batches);
}

/*
 * Metrics: the window merges are averages of their scrapes; re-merge them
 * as one set, weighting each window by its scrapes (merge of merges with
 * n_scrapes copies would be exact; windows hold similar scrape counts, so
 * a plain merge is what perf_analyzer's per-window averaging amounts to).
 */
static void merge_metrics(struct profile_level *L, const struct window_data *data,
			  size_t first, size_t count)
{
	struct scrape_summary *scr = NULL;
	size_t n_scr = 0, alloc_scr = 0, total = 0;

	for (size_t i = first; i < first + count; i++) {
		if (data[i].has_metrics) {
			XGROW(scr, alloc_scr, n_scr + 1);
			scr[n_scr++] = data[i].metrics;
		}
	}
	L->has_metrics = n_scr > 0;
	if (n_scr) {
		scrape_merge(scr, n_scr, &L->metrics);
		for (size_t i = 0; i < n_scr; i++)
			total += scr[i].n_scrapes;
		L->metrics.n_scrapes = total;
	}
	free(scr);
}

/* Every interval of L unknown: what a level holds until it is merged. */
static void level_intervals_unknown(struct profile_level *L)
{
	L->infer_per_sec_ci = stats_interval_unknown();
	L->avg_latency_ci_ns = stats_interval_unknown();
	for (int i = 0; i < LATENCY_N_STD_PERCENTILES; i++)
		L->latency_ci_ns[i] = stats_interval_unknown();
	L->extra_latency_ci_ns = stats_interval_unknown();
}

/*
 * The 95% intervals of L's merged figures: throughput and average latency
 * by Student's t over the merged windows' values (the windows are the
 * independent repetitions; the requests inside one are not), the
 * percentiles from the order statistics of the pooled latencies `all`.
 */
static void merge_intervals(const struct profiler *p, struct profile_level *L,
			    const struct latency_samples *all)
{
	double *tput = xcalloc(L->merged_count + 1, sizeof(*tput));
	double *lat = xcalloc(L->merged_count + 1, sizeof(*lat));
	double mean;

	level_intervals_unknown(L);
	for (size_t i = 0; i < L->merged_count; i++) {
		const struct profile_window *w = &L->windows[L->merged_first + i];

		tput[i] = w->completion_rate > 0 ? w->completion_rate : w->throughput;
		lat[i] = (double)w->avg_latency_ns;
	}
	stats_mean_interval(tput, L->merged_count, STATS_CONFIDENCE, &mean,
			    &L->infer_per_sec_ci);
	/*
	 * The rates give the spread; the interval is put around the figure
	 * reported (all merged completions over the merged time), which differs
	 * from their mean by at most the edges' one request.
	 */
	if (isfinite(L->infer_per_sec_ci.lo) && isfinite(L->infer_per_sec_ci.hi)) {
		double half = (L->infer_per_sec_ci.hi - L->infer_per_sec_ci.lo) / 2;

		L->infer_per_sec_ci.lo = L->infer_per_sec - half;
		L->infer_per_sec_ci.hi = L->infer_per_sec + half;
	}
	stats_mean_interval(lat, L->merged_count, STATS_CONFIDENCE, &mean,
			    &L->avg_latency_ci_ns);
	for (int i = 0; i < LATENCY_N_STD_PERCENTILES; i++)
		stats_quantile_interval(all->ns, all->n, latency_std_percentiles[i],
					STATS_CONFIDENCE, &L->latency_ci_ns[i], NULL, NULL);
	if (p->o.percentile)
		stats_quantile_interval(all->ns, all->n, p->o.percentile,
					STATS_CONFIDENCE, &L->extra_latency_ci_ns, NULL, NULL);
	free(tput);
	free(lat);
}

/* The interval of the latency a level stabilises on (average or --percentile). */
static const struct stats_interval *stabilizing_ci(const struct profiler *p,
						   const struct profile_level *L)
{
	return p->o.percentile ? &L->extra_latency_ci_ns : &L->avg_latency_ci_ns;
}

/* Fills the merged figures of L from windows[first..first+count). */
static void merge_windows(const struct profiler *p, struct profile_level *L,
			  const struct window_data *data, size_t first, size_t count)
{
	struct latency_samples all;
	uint64_t send = 0, recv = 0, req = 0, cpu = 0;

	latency_samples_init(&all);
	L->merged_first = first;
	L->merged_count = count;
	L->duration_ns = L->request_count = L->failed_count = 0;
	L->delayed_count = L->sent_count = 0;
	L->max_lateness_ns = 0;
	L->max_worker_busy = 0;
	L->has_server = p->include_server_stats;
	memset(&L->server, 0, sizeof(L->server));
	/* Merged again after each window: start from nothing. */
	remote_batch_stats_release(&L->server_batches);
	L->client_saturated = false;
	for (size_t i = first; i < first + count; i++) {
		const struct profile_window *w = &L->windows[i];
		const struct window_data *d = &data[i];

		L->duration_ns += w->duration_ns;
		L->request_count += w->request_count;
		L->failed_count += w->failed_count;
		L->delayed_count += w->delayed_count;
		L->sent_count += w->sent_count;
		latency_samples_append(&all, &d->latencies);
		send += d->sum_send_ns;
		recv += d->sum_recv_ns;
		req += d->sum_request_ns;
		cpu += d->cpu_ns;
		if (d->max_lateness_ns > L->max_lateness_ns)
			L->max_lateness_ns = d->max_lateness_ns;
		if (w->max_worker_busy > L->max_worker_busy)
			L->max_worker_busy = w->max_worker_busy;
		if (w->max_worker_busy >= SATURATED_BUSY)
			L->client_saturated = true;
		if (d->has_server) {
			memcpy(L->server.version, d->server.version, sizeof(L->server.version));
			remote_stats_add(&L->server, &d->server);
			remote_batch_stats_add(&L->server_batches, &d->batches);
		} else {
			L->has_server = false;
		}
	}
	latency_samples_sort(&all);
	latency_summarize(all.ns, all.n, p->o.percentile, &L->latency);
	L->stabilizing_latency_ns = p->o.percentile ? L->latency.extra_ns :
				    L->latency.avg_ns;
	L->infer_per_sec = L->duration_ns ?
		(double)L->request_count * (double)p->o.batch_size * 1e9 /
		(double)L->duration_ns : 0;
	L->send_rate = L->duration_ns ?
		(double)L->sent_count * 1e9 / (double)L->duration_ns : 0;
	if (L->request_count) {
		L->avg_send_ns = send / L->request_count;
		L->avg_recv_ns = recv / L->request_count;
		L->avg_request_ns = req / L->request_count;
		L->client_cpu_ns_per_request = (double)cpu / (double)L->request_count;
	}
	L->client_cpu_cores = L->duration_ns ? (double)cpu / (double)L->duration_ns : 0;
	merge_metrics(L, data, first, count);
	L->has_early_stop = false;
	if (p->o.early_stop_confidence > 0) {
		L->has_early_stop = true;
		L->early_stop_percentile = p->o.percentile ? p->o.percentile : 99;
		early_stop_estimate(all.ns, all.n, L->early_stop_percentile,
				    p->o.early_stop_confidence, &L->early_stop);
	}
	merge_intervals(p, L, &all);
	latency_samples_release(&all);
}

/* Appends a window to L (the array may move). */
static struct profile_window *add_window(struct profile_level *L,
					 struct window_data **data,
					 size_t *alloc, size_t *alloc_data)
{
	struct profile_window *w;

	XGROW(L->windows, *alloc, L->n_windows + 1);
	XGROW(*data, *alloc_data, L->n_windows + 1);
	memset(&(*data)[L->n_windows], 0, sizeof(**data));
	latency_samples_init(&(*data)[L->n_windows].latencies);
	w = &L->windows[L->n_windows];
	memset(w, 0, sizeof(*w));
	w->index = L->n_windows++;
	return w;
}

static void level_fail(struct profile_level *L, enum profile_status st,
		       const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void level_fail(struct profile_level *L, enum profile_status st,
		       const char *fmt, ...)
{
	va_list ap;

	L->status = st;
	va_start(ap, fmt);
	vsnprintf(L->message, sizeof(L->message), fmt, ap);
	va_end(ap);
}

static void describe_load(const struct profiler *p, const struct profile_level *L,
			  char *buf, size_t size)
{
	if (p->o.load == PROFILE_LOAD_CONCURRENCY)
		snprintf(buf, size, "concurrency %llu",
			 (unsigned long long)L->concurrency);
	else
		snprintf(buf, size, "request rate %g/s", L->request_rate);
}

/* One level while it is measured: its windows' data and the running counters. */
struct level_run {
	struct profile_level *L;
	struct window_data *data;       /* one per window of L */
	size_t alloc, alloc_data;
	struct stability_point *points; /* one per window of L */
	size_t alloc_points;
	struct remote_stats stats_start;
	struct remote_batch_stats batches_start; /* stats_start's, per batch size */
	uint64_t wstart, wend;          /* the window in progress */
	uint64_t cpu_start, *wcpu_start;
	unsigned nw;
	double threshold;               /* stability, as a fraction */
	size_t stable_first;            /* SIZE_MAX: not stable (yet) */
	size_t skip;                    /* precision mode: the warm-up window (0 or 1) */
	bool racing;                    /* call stop_level_early (a level of profiler_run) */
	char what[64];                  /* "concurrency 4" */
};

static void describe_load(const struct profiler *p, const struct profile_level *L,
			  char *buf, size_t size);

static void level_run_init(const struct profiler *p, struct level_run *lr,
			   struct profile_level *L)
{
	memset(lr, 0, sizeof(*lr));
	lr->L = L;
	lr->nw = loadgen_workers(p->lg);
	lr->threshold = p->o.stability_percentage / 100;
	lr->stable_first = SIZE_MAX;
	describe_load(p, L, lr->what, sizeof(lr->what));
}

/* Frees the run's data (the windows' latencies that were not moved out). */
static void level_run_release(struct level_run *lr)
{
	for (size_t i = 0; i < lr->L->n_windows; i++)
		window_release(&lr->data[i]);
	free(lr->data);
	free(lr->points);
	free(lr->wcpu_start);
	remote_batch_stats_release(&lr->batches_start);
}

/* Sets the load, warms up and opens the first window. */
static int level_start(struct profiler *p, struct level_run *lr, struct it_error *err)
{
	int rc;

	rc = set_load(p, lr->L, err);
	if (!rc)
		rc = warmup(p, err);
	/* Nothing before the first window counts, but its last completion anchors the rate. */
	if (!rc)
		rc = loadgen_harvest(p->lg, &p->harvest, err);
	lr->wstart = loadgen_now_ns();
	p->rate_anchor_ns = 0;
	rate_anchor_update(p, lr->wstart);
	loadgen_harvest_clear(&p->harvest);
	p->n_carry = 0;
	if (!rc && p->include_server_stats)
		rc = read_stats(p, NULL, &lr->stats_start, &lr->batches_start, err);
	if (rc)
		return rc;
	/*
	 * Precision mode merges every window, so a transient after the load
	 * change (connections ramping, queues filling) would bias it; without
	 * a request warm-up the first window is that warm-up (docs/statistics.md).
	 */
	lr->skip = p->o.precision_pct > 0 && !p->o.warmup_request_count ? 1 : 0;
	lr->cpu_start = process_cpu_ns();
	lr->wcpu_start = xcalloc(lr->nw, sizeof(*lr->wcpu_start));
	for (unsigned i = 0; i < lr->nw; i++)
		lr->wcpu_start[i] = loadgen_worker_cpu_ns(p->lg, i);
	return 0;
}

/* The client's CPU over the window: the process's and the busiest worker's share. */
static void window_cpu(struct profiler *p, struct level_run *lr,
		       struct profile_window *w, struct window_data *d)
{
	uint64_t cpu_end = process_cpu_ns();

	d->cpu_ns = cpu_end - lr->cpu_start;
	lr->cpu_start = cpu_end;
	w->client_cpu_cores = w->duration_ns ?
		(double)d->cpu_ns / (double)w->duration_ns : 0;
	for (unsigned i = 0; i < lr->nw; i++) {
		uint64_t c = loadgen_worker_cpu_ns(p->lg, i);
		double busy = w->duration_ns ?
			(double)(c - lr->wcpu_start[i]) / (double)w->duration_ns : 0;

		if (busy > w->max_worker_busy)
			w->max_worker_busy = busy;
		lr->wcpu_start[i] = c;
	}
}

/*
 * Waits out one window and reads what the client saw in it: requests,
 * latencies, CPU, throughput, validity (failed requests within
 * --max-error-percentage) and its stability point. *tolerated: the failed
 * requests the window may have.
 */
static int take_window(struct profiler *p, struct level_run *lr,
		       struct profile_window **wp, struct window_data **dp,
		       uint64_t *tolerated, struct it_error *err)
{
	const struct profile_options *o = &p->o;
	struct profile_level *L = lr->L;
	struct profile_window *w;
	struct window_data *d;
	int rc;

	lr->wend = wait_window(p, lr->wstart);
	rc = loadgen_harvest(p->lg, &p->harvest, err);
	if (rc)
		return rc;
	w = add_window(L, &lr->data, &lr->alloc, &lr->alloc_data);
	d = &lr->data[w->index];
	w->duration_ns = lr->wend - lr->wstart;
	w->sent_count = p->harvest.sent;
	d->max_lateness_ns = p->harvest.max_lateness_ns;
	snprintf(d->first_error, sizeof(d->first_error), "%s", p->harvest.first_error);
	if (!L->first_error[0] && p->harvest.first_error[0])
		snprintf(L->first_error, sizeof(L->first_error), "%s",
			 p->harvest.first_error);
	split_records(p, lr->wstart, lr->wend, w, d);
	latency_samples_sort(&d->latencies);
	window_cpu(p, lr, w, d);
	if (w->request_count) {
		struct latency_summary s;

		latency_summarize(d->latencies.ns, d->latencies.n, o->percentile, &s);
		w->avg_latency_ns = s.avg_ns;
		w->std_us = s.std_us;
		w->stabilizing_latency_ns = o->percentile ? s.extra_ns : s.avg_ns;
		w->throughput = (double)w->request_count * (double)o->batch_size *
				1e9 / (double)w->duration_ns;
	}
	*tolerated = (uint64_t)floor(o->max_error_percentage / 100 *
				     (double)(w->request_count + w->failed_count));
	w->valid = w->request_count > 0 && w->failed_count <= *tolerated;
	w->warmup = w->index < lr->skip;
	XGROW(lr->points, lr->alloc_points, L->n_windows);
	lr->points[w->index].valid = w->valid;
	lr->points[w->index].throughput = w->throughput;
	lr->points[w->index].latency_ns = w->stabilizing_latency_ns;
	*wp = w;
	*dp = d;
	return 0;
}

/*
 * The server's side of a good window (statistics deltas, Prometheus
 * metrics), then the on_window callback. Errors first: when the server is
 * gone, the failed requests say more than the statistics GET that would
 * fail next, so a window with errors skips the server.
 */
static int window_server_side(struct profiler *p, struct level_run *lr,
			      struct profile_window *w, struct window_data *d,
			      uint64_t tolerated, struct it_error *err)
{
	const struct profile_options *o = &p->o;
	struct remote_stats stats_end;
	struct remote_batch_stats batches_end;
	int rc;

	if (w->failed_count <= tolerated && w->request_count && p->include_server_stats) {
		remote_batch_stats_init(&batches_end);
		rc = read_stats(p, &lr->stats_start, &stats_end, &batches_end, err);
		if (rc) {
			remote_batch_stats_release(&batches_end);
			return rc;
		}
		d->has_server = true;
		remote_stats_delta(&lr->stats_start, &stats_end, &d->server);
		remote_batch_stats_delta(&lr->batches_start, &batches_end, &d->batches);
		lr->stats_start = stats_end;
		/* The end is the next window's start: the arrays trade places. */
		remote_batch_stats_release(&lr->batches_start);
		lr->batches_start = batches_end;
	}
	if (w->failed_count <= tolerated && w->request_count && p->scraper) {
		rc = scraper_window(p->scraper, lr->wstart, lr->wend, &d->metrics, err);
		if (rc)
			return rc;
		d->has_metrics = true;
	}
	if (o->on_window)
		o->on_window(o->callback_ctx, lr->L, w);
	return 0;
}

/*
 * -l: once three windows exist (after the warm-up one), any of the last
 * three over it ends the sweep.
 */
static bool over_threshold(const struct profile_options *o, const struct profile_level *L,
			   size_t skip)
{
	bool over = false;

	if (!o->latency_threshold_ms || L->n_windows < skip + STABILITY_WINDOWS)
		return false;
	for (size_t i = L->n_windows - STABILITY_WINDOWS; i < L->n_windows; i++)
		over = over || L->windows[i].stabilizing_latency_ns >=
			       o->latency_threshold_ms * NS_PER_MS;
	return over;
}

/* --early-stop lacks queries: the level says how many it needs. */
static void early_stop_short(const struct profile_options *o, struct profile_level *L)
{
	level_fail(L, PROFILE_EARLY_STOP_SHORT,
		   "early stopping at %g%% confidence needs at least %lld queries for a p%d estimate; the %zu stable windows hold %lld. Increase --measurement-interval (or --measurement-request-count) or --max-trials.",
		   o->early_stop_confidence * 100,
		   (long long)L->early_stop.min_queries,
		   L->early_stop_percentile, L->merged_count,
		   (long long)L->early_stop.queries);
}

/*
 * Whether the level is stable now; merges the stable windows when it is.
 * An early-stop extension keeps going while all windows since stable_first
 * agree. Returns true when the level is done.
 */
static bool check_stable(struct profiler *p, struct level_run *lr)
{
	const struct profile_options *o = &p->o;
	struct profile_level *L = lr->L;

	if (lr->stable_first != SIZE_MAX &&
	    !stability_check(lr->points, L->n_windows, L->n_windows - lr->stable_first,
			     lr->threshold, true))
		lr->stable_first = SIZE_MAX;
	if (lr->stable_first == SIZE_MAX &&
	    stability_check(lr->points, L->n_windows, STABILITY_WINDOWS, lr->threshold, true))
		lr->stable_first = L->n_windows - STABILITY_WINDOWS;
	if (lr->stable_first == SIZE_MAX)
		return false;
	merge_windows(p, L, lr->data, lr->stable_first, L->n_windows - lr->stable_first);
	L->status = PROFILE_OK;
	L->message[0] = '\0';
	if (!L->has_early_stop || L->early_stop.enough)
		return true;
	early_stop_short(o, L);
	return false;
}

/* The larger relative half-width of L's throughput and stabilizing-latency intervals. */
static double level_rel_halfwidth(const struct profiler *p, const struct profile_level *L)
{
	double t = stats_interval_rel_halfwidth(&L->infer_per_sec_ci, L->infer_per_sec);
	double l = stats_interval_rel_halfwidth(stabilizing_ci(p, L),
						(double)L->stabilizing_latency_ns);

	return t > l ? t : l;
}

/*
 * Precision mode's rule: once the level holds --min-windows windows after
 * the warm-up one, merge them all; done when the throughput interval and
 * the stabilizing latency's are both within ±--precision (and, with
 * --early-stop, the queries suffice), or when stop_level_early says the
 * level cannot win. Returns true when the level is done.
 */
static bool check_precision(struct profiler *p, struct level_run *lr)
{
	const struct profile_options *o = &p->o;
	struct profile_level *L = lr->L;
	size_t n = L->n_windows - lr->skip;

	if (L->n_windows < lr->skip || n < o->min_windows)
		return false;
	merge_windows(p, L, lr->data, lr->skip, n);
	L->status = PROFILE_OK;
	L->message[0] = '\0';
	L->precision_met = level_rel_halfwidth(p, L) <= o->precision_pct / 100;
	if (L->precision_met && L->has_early_stop && !L->early_stop.enough) {
		early_stop_short(o, L);
		return false;
	}
	if (L->precision_met)
		return true;
	if (lr->racing && o->stop_level_early &&
	    o->stop_level_early(o->callback_ctx, L)) {
		L->stopped_early = true;
		snprintf(L->message, sizeof(L->message),
			 "stopped after %zu windows: it cannot win (±%.1f%%)", n,
			 level_rel_halfwidth(p, L) * 100);
		return true;
	}
	return false;
}

static int window_step(struct profiler *p, struct level_run *lr, struct it_error *err);

/*
 * One window and what it decides: < 0 the level failed (interrupted,
 * errors beyond tolerance, no request completed), 1 the level is done
 * (stable, or over -l), 0 measure another.
 */
static int measure_window(struct profiler *p, struct level_run *lr, struct it_error *err)
{
	const struct profile_options *o = &p->o;
	int rc = window_step(p, lr, err);

	if (rc)
		return rc;
	if (over_threshold(o, lr->L, lr->skip)) {
		level_fail(lr->L, PROFILE_OVER_THRESHOLD,
			   "Measured latency went over the set limit of %llu msec.",
			   (unsigned long long)o->latency_threshold_ms);
		return 1;
	}
	if (o->precision_pct > 0)
		return check_precision(p, lr) ? 1 : 0;
	return check_stable(p, lr) ? 1 : 0;
}

/*
 * One window, client and server side: 0, or < 0 when the level failed
 * (interrupted, errors beyond tolerance, no request completed).
 */
static int window_step(struct profiler *p, struct level_run *lr, struct it_error *err)
{
	const struct profile_options *o = &p->o;
	struct profile_window *w;
	struct window_data *d;
	uint64_t tolerated;
	int rc;

	rc = take_window(p, lr, &w, &d, &tolerated, err);
	if (!rc)
		rc = window_server_side(p, lr, w, d, tolerated, err);
	if (rc)
		return rc;
	lr->wstart = lr->wend;
	if (o->cancel && *o->cancel)
		return it_error_set(err, IT_ERR_STATE, "%s: interrupted", lr->what);
	if (w->failed_count > tolerated)
		return it_error_set(err, IT_ERR_IO,
				    "%s: %llu of %llu requests failed in window %zu%s; first error: %s",
				    lr->what, (unsigned long long)w->failed_count,
				    (unsigned long long)(w->failed_count + w->request_count),
				    w->index + 1,
				    o->max_error_percentage > 0 ? " (more than --max-error-percentage)" : "",
				    d->first_error[0] ? d->first_error : lr->L->first_error);
	if (!w->request_count)
		return it_error_set(err, IT_ERR_IO,
				    "%s: no request completed in window %zu (%.0f ms, %llu in flight): the server is not answering",
				    lr->what, w->index + 1, (double)w->duration_ns / 1e6,
				    (unsigned long long)loadgen_inflight(p->lg));
	return 0;
}

/* "precision ±5% not reached in 10 windows (±7.3%)": a note, not a failure. */
static void precision_note(const struct profiler *p, struct profile_level *L)
{
	double rel = level_rel_halfwidth(p, L);

	if (isfinite(rel))
		snprintf(L->message, sizeof(L->message),
			 "precision ±%g%% not reached in %zu windows (±%.1f%%)",
			 p->o.precision_pct, L->merged_count, rel * 100);
	else
		snprintf(L->message, sizeof(L->message),
			 "precision ±%g%% not reached in %zu windows (interval unknown)",
			 p->o.precision_pct, L->merged_count);
}

/* The verdict of a level that ran its windows: over -l after all, or unstable. */
static void level_finish(const struct profiler *p, struct level_run *lr)
{
	const struct profile_options *o = &p->o;
	struct profile_level *L = lr->L;

	if (L->status == PROFILE_OK && o->latency_threshold_ms &&
	    L->stabilizing_latency_ns >= o->latency_threshold_ms * NS_PER_MS)
		level_fail(L, PROFILE_OVER_THRESHOLD,
			   "Measured latency went over the set limit of %llu msec.",
			   (unsigned long long)o->latency_threshold_ms);
	if (L->status == PROFILE_OK && o->precision_pct > 0 && !L->precision_met &&
	    !L->stopped_early)
		precision_note(p, L);
	if (L->status == PROFILE_UNSTABLE)
		level_fail(L, PROFILE_UNSTABLE,
			   "Failed to obtain stable measurement within %llu measurement windows for %s. Please try to increase the %s.",
			   (unsigned long long)o->max_trials, lr->what,
			   o->window_mode == PROFILE_TIME_WINDOWS ?
			   "--measurement-interval" : "--measurement-request-count");
}

/*
 * Measures one level. Returns 0 when the level ended normally (stable, over
 * threshold, unstable, or short of queries: L->status says) and a negative
 * code when it failed (L->status = PROFILE_FAILED, L->message and err say
 * why).
 */
static int measure_level(struct profiler *p, struct profile_level *L,
			 struct it_error *err)
{
	struct level_run lr;
	int rc;

	level_run_init(p, &lr, L);
	lr.racing = true;
	L->status = PROFILE_UNSTABLE;
	rc = level_start(p, &lr, err);
	/* The cap counts the windows that may be merged, not the warm-up one. */
	while (!rc && L->n_windows < p->o.max_trials + lr.skip)
		rc = measure_window(p, &lr, err);
	if (rc > 0)
		rc = 0;
	if (rc) {
		L->status = PROFILE_FAILED;
		snprintf(L->message, sizeof(L->message), "%s",
			 err ? err->message : "the measurement failed");
	} else {
		level_finish(p, &lr);
	}
	level_run_release(&lr);
	return rc;
}

static struct profile_level *new_level(struct profile_results *r,
				       size_t *alloc)
{
	struct profile_level *L;

	XGROW(r->levels, *alloc, r->n_levels + 1);
	L = &r->levels[r->n_levels];
	memset(L, 0, sizeof(*L));
	level_intervals_unknown(L);
	L->index = r->n_levels++;
	return L;
}

int profiler_run(struct profiler *p, struct profile_results **out,
		 struct it_error *err)
{
	const struct profile_options *o = &p->o;
	struct profile_results *r = xcalloc(1, sizeof(*r));
	size_t alloc = 0;
	int rc = 0;

	r->load = o->load;
	r->batch_size = o->batch_size;
	r->percentile = o->percentile;
	r->include_server_stats = p->include_server_stats;
	r->cache_enabled = p->model->cache_enabled;
	r->decoupled = p->model->decoupled;
	r->collect_metrics = o->collect_metrics;
	r->n_workers = p->n_workers;
	snprintf(r->model_name, sizeof(r->model_name), "%s", p->model->name);
	snprintf(r->model_version, sizeof(r->model_version), "%s", p->version_used);
	snprintf(r->input_shapes, sizeof(r->input_shapes), "%s",
		 p->requests->shapes_text ? p->requests->shapes_text : "");
	*out = r;

	for (uint64_t i = 0;; i++) {
		struct profile_level *L;

		if (o->load == PROFILE_LOAD_CONCURRENCY) {
			uint64_t c = o->concurrency_start + i * o->concurrency_step;

			if (o->concurrency_end && c > o->concurrency_end)
				break;
			if (c + 128 > fd_limit()) {
				rc = it_error_set(err, IT_ERR_LIMIT,
						  "concurrency %llu would exceed the open-file limit (ulimit -n %llu)",
						  (unsigned long long)c,
						  (unsigned long long)fd_limit());
				break;
			}
			L = new_level(r, &alloc);
			L->concurrency = c;
		} else if (o->load == PROFILE_LOAD_RATE) {
			double rate = o->rate_start + (double)i * o->rate_step;

			/* A little slack so that 0.1 steps land on the end. */
			if (o->rate_end && rate > o->rate_end * (1 + 1e-9))
				break;
			L = new_level(r, &alloc);
			L->request_rate = rate;
		} else {
			if (i)
				break;
			L = new_level(r, &alloc);
		}
		if (o->on_level_start)
			o->on_level_start(o->callback_ctx, L);
		rc = measure_level(p, L, err);
		if (o->on_level_done)
			o->on_level_done(o->callback_ctx, L);
		if (rc)
			break;
		if (L->status == PROFILE_OVER_THRESHOLD)
			break;
		if (L->status != PROFILE_OK) {
			rc = it_error_set(err, IT_ERR_STATE, "%s", L->message);
			break;
		}
	}
	{
		struct it_error perr = { 0 };

		loadgen_pause(p->lg, &perr);
	}
	return rc;
}

/* --- interleaved measurement: windows accumulated over several calls --- */

struct profile_accum {
	struct profile_level L;         /* the windows so far (no warm-up ones) */
	struct window_data *data;       /* one per window of L, owning the latencies */
	size_t alloc, alloc_data;
	size_t n_starts;                /* load starts, for the Poisson schedule's seed */
};

struct profile_accum *profile_accum_new(void)
{
	struct profile_accum *acc = xcalloc(1, sizeof(*acc));

	level_intervals_unknown(&acc->L);
	return acc;
}

void profile_accum_free(struct profile_accum *acc)
{
	if (!acc)
		return;
	for (size_t i = 0; i < acc->L.n_windows; i++)
		window_release(&acc->data[i]);
	free(acc->data);
	profile_level_release(&acc->L);
	free(acc);
}

size_t profile_accum_windows(const struct profile_accum *acc)
{
	return acc->L.n_windows;
}

/*
 * Stops p's load and waits (at most the drain limit) until the requests in
 * flight are answered, so that none lands in another profiler's window.
 */
static void stop_load(struct profiler *p)
{
	struct it_error perr = { 0 };
	uint64_t start = loadgen_now_ns();
	uint64_t limit = p->o.request_timeout_ms > 0 ?
			 (uint64_t)p->o.request_timeout_ms * NS_PER_MS : 10 * NS_PER_S;

	loadgen_pause(p->lg, &perr);
	while (loadgen_inflight(p->lg) && loadgen_now_ns() - start < limit)
		sleep_ns(NS_PER_MS);
}

/* Moves the valid, non-warm-up windows of lr (and their latencies) into acc. */
static void accum_take(struct profile_accum *acc, struct level_run *lr)
{
	struct profile_level *L = lr->L;

	for (size_t i = 0; i < L->n_windows; i++) {
		struct profile_window *w;

		if (L->windows[i].warmup || !L->windows[i].valid)
			continue;
		w = add_window(&acc->L, &acc->data, &acc->alloc, &acc->alloc_data);
		latency_samples_release(&acc->data[w->index].latencies);
		*w = L->windows[i];
		w->index = acc->L.n_windows - 1;
		acc->data[w->index] = lr->data[i];
		/* Moved: the run must not free these latencies and batch statistics. */
		latency_samples_init(&lr->data[i].latencies);
		remote_batch_stats_init(&lr->data[i].batches);
	}
	acc->L.concurrency = L->concurrency;
	acc->L.request_rate = L->request_rate;
}

int profiler_measure_into(struct profiler *p, double load_value, size_t n_windows,
			  struct profile_accum *acc, struct it_error *err)
{
	struct profile_level cur;
	struct level_run lr;
	int rc;

	memset(&cur, 0, sizeof(cur));
	level_intervals_unknown(&cur);
	cur.index = acc->n_starts++;
	if (p->o.load == PROFILE_LOAD_CONCURRENCY) {
		if (!(load_value >= 1))
			return it_error_set(err, IT_ERR_INVALID,
					    "concurrency %g: must be at least 1", load_value);
		cur.concurrency = (uint64_t)load_value;
	} else if (p->o.load == PROFILE_LOAD_RATE) {
		if (!(load_value > 0) || !isfinite(load_value))
			return it_error_set(err, IT_ERR_INVALID,
					    "request rate %g: must be above 0", load_value);
		cur.request_rate = load_value;
	}
	level_run_init(p, &lr, &cur);
	rc = level_start(p, &lr, err);
	while (!rc && cur.n_windows < n_windows + lr.skip)
		rc = window_step(p, &lr, err);
	stop_load(p);
	if (cur.n_windows)
		accum_take(acc, &lr);
	level_run_release(&lr);
	profile_level_release(&cur);
	return rc;
}

void profile_accum_finish(const struct profile_accum *acc, const struct profiler *p,
			  struct profile_level *out)
{
	size_t n = acc->L.n_windows;

	memset(out, 0, sizeof(*out));
	level_intervals_unknown(out);
	out->concurrency = acc->L.concurrency;
	out->request_rate = acc->L.request_rate;
	out->n_windows = n;
	if (n) {
		out->windows = xcalloc(n, sizeof(*out->windows));
		memcpy(out->windows, acc->L.windows, n * sizeof(*out->windows));
	}
	if (!n) {
		level_fail(out, PROFILE_FAILED, "no valid window was measured");
		return;
	}
	merge_windows(p, out, acc->data, 0, n);
	out->status = PROFILE_OK;
	if (p->o.precision_pct > 0) {
		out->precision_met = level_rel_halfwidth(p, out) <= p->o.precision_pct / 100;
		if (!out->precision_met)
			precision_note(p, out);
	}
}
