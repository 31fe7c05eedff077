/*
 * `infertune profile`: perf_analyzer's command line and console report on
 * top of the profiler library (src/loadgen/profiler.h). This file parses
 * the flags, prints the progress and the summary, writes the -f CSV and maps
 * the outcome to the exit status.
 */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "cmd/cmd.h"
#include "loadgen/profiler.h"
#include "loadgen/range.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/strbuf.h"
#include "util/xalloc.h"
#include "util/parse.h"
#include "util/banned.h"

/* The options themselves are listed from the table (loadgen/options.c). */
static const char usage_head[] =
	"usage: infertune profile -m MODEL [options]\n"
	"\n"
	"Measures a served model's throughput and latency under load, the way\n"
	"perf_analyzer does (same flags, defaults, windows, stability rule and CSV),\n"
	"over HTTP against infertune serve or Triton.\n";

static const char usage_tail[] =
	"\n"
	"Ctrl-C ends the level after the current window (twice: at once); the results\n"
	"so far are still printed and written.\n"
	"\n"
	"Exit status: 0 every level measured is stable; 1 a level could not stabilise\n"
	"or the run failed (errors, server gone, interrupted); 2 bad flags or input\n"
	"(unknown model, wrong shape, unreadable data).\n";

static void print_usage(void)
{
	struct strbuf sb;

	strbuf_init(&sb, 0);
	strbuf_adds(&sb, usage_head);
	profile_option_help(&sb);
	strbuf_adds(&sb, usage_tail);
	fputs(sb.buf, stdout);
	strbuf_release(&sb);
}

struct cli {
	struct profile_options o;       /* its settings are ours: perf_settings_release() */
	const char *csv_file;
	bool verbose_csv;
	bool verbose;
	bool concurrency_given, rate_given;
	bool help;
};

/*
 * Called for every flag read: notes which load was given, and reads the
 * flags that are the front end's (-f, -v, --verbose-csv, -h). Stops at -h.
 */
static bool on_option(void *ctx, const struct profile_option *opt, const char *value)
{
	struct cli *a = ctx;

	a->concurrency_given |= opt->kind == PROFILE_OPT_RANGE_U64;
	a->rate_given |= opt->kind == PROFILE_OPT_RANGE_F64;
	if (opt->kind != PROFILE_OPT_FRONT_END)
		return true;
	switch (opt->short_flag) {
	case 'f':
		a->csv_file = value;
		break;
	case 'v':
		a->verbose = true;
		break;
	case 'h':
		a->help = true;
		break;
	default:
		a->verbose_csv = true;  /* --verbose-csv */
		break;
	}
	return !a->help;
}

/* The rules between flags, once all are read. */
static int check_args(struct cli *a)
{
	if (!a->o.model_name)
		return cmd_usage_error("profile", "-m MODEL is required");
	if ((a->concurrency_given + a->rate_given +
	     (a->o.request_intervals_file != NULL)) > 1)
		return cmd_usage_error("profile", "give only one of --concurrency-range, --request-rate-range and --request-intervals");
	if (a->rate_given)
		a->o.load = PROFILE_LOAD_RATE;
	else if (a->o.request_intervals_file)
		a->o.load = PROFILE_LOAD_INTERVALS;
	if (a->o.distribution == PROFILE_POISSON && a->o.load != PROFILE_LOAD_RATE)
		return cmd_usage_error("profile", "--request-distribution applies to --request-rate-range only");
	if (a->o.load == PROFILE_LOAD_CONCURRENCY && a->o.concurrency_end == 0 &&
	    a->o.latency_threshold_ms == 0)
		return cmd_usage_error("profile", "--concurrency-range end 0 sweeps until the latency threshold: set -l/--latency-threshold too");
	if (a->o.load == PROFILE_LOAD_RATE && a->o.rate_end == 0 &&
	    a->o.latency_threshold_ms == 0)
		return cmd_usage_error("profile", "--request-rate-range end 0 sweeps until the latency threshold: set -l/--latency-threshold too");
	return EXIT_OK;
}

static int parse_args(int argc, char **argv, struct cli *a)
{
	struct it_error err = { 0 };

	profile_options_init(&a->o);
	if (profile_option_parse_argv(argc, argv, &a->o, on_option, a, &err))
		return cmd_usage_error("profile", "%s", err.message);
	if (a->help)
		return EXIT_OK;
	return check_args(a);
}

/* --- console report, perf_analyzer's shape --- */

struct report {
	const struct cli *a;
	bool printed_any;
};

static void print_settings(const struct cli *a, const struct profiler *p)
{
	const struct profile_options *o = &a->o;
	const struct request_set *rs = profiler_requests(p);

	printf("*** Measurement Settings ***\n");
	printf("  Batch size: %lld\n", (long long)o->batch_size);
	printf("  Service Kind: Triton (KServe v2 HTTP, %s tensors, %s client)\n",
	       rs->binary ? "binary" : "JSON", profiler_http_client(p));
	if (o->warmup_request_count)
		printf("  Sending %llu warmup request%s\n",
		       (unsigned long long)o->warmup_request_count,
		       o->warmup_request_count > 1 ? "s" : "");
	printf("  Using \"%s\" mode for stabilization\n",
	       o->window_mode == PROFILE_COUNT_WINDOWS ? "count_windows" : "time_windows");
	if (o->percentile)
		printf("  Stabilizing using p%d latency and throughput\n", o->percentile);
	else
		printf("  Stabilizing using average latency and throughput\n");
	if (o->precision_pct > 0)
		printf("  Precision mode: windows until the 95%% intervals are within +-%g%% (%llu to %llu windows per level)\n",
		       o->precision_pct, (unsigned long long)o->min_windows,
		       (unsigned long long)o->max_trials);
	if (o->window_mode == PROFILE_TIME_WINDOWS)
		printf("  Measurement window: %llu msec\n",
		       (unsigned long long)o->measurement_interval_ms);
	else
		printf("  Minimum number of samples in each window: %llu\n",
		       (unsigned long long)o->measurement_request_count);
	if (o->load == PROFILE_LOAD_CONCURRENCY && o->concurrency_end != o->concurrency_start) {
		printf("  Latency limit: %llu msec\n",
		       (unsigned long long)o->latency_threshold_ms);
		if (o->concurrency_end)
			printf("  Concurrency limit: %llu concurrent requests\n",
			       (unsigned long long)o->concurrency_end);
	}
	if (o->load == PROFILE_LOAD_RATE && o->rate_end != o->rate_start) {
		printf("  Latency limit: %llu msec\n",
		       (unsigned long long)o->latency_threshold_ms);
		if (o->rate_end)
			printf("  Request Rate limit: %g requests per seconds\n", o->rate_end);
	}
	if (o->load == PROFILE_LOAD_RATE)
		printf("  Using %s distribution on request generation (seed %llu)\n",
		       o->distribution == PROFILE_POISSON ? "poisson" : "uniform",
		       (unsigned long long)o->seed);
	if (o->load != PROFILE_LOAD_CONCURRENCY)
		printf("  Latency measured from the scheduled send time\n");
	printf("  Using asynchronous calls for inference\n");
	printf("  Input shapes: %s\n", rs->shapes_text ? rs->shapes_text : "");
	printf("\n");
	fflush(stdout);
}

static void on_level_start(void *ctx, const struct profile_level *L)
{
	struct report *r = ctx;

	if (r->a->o.load == PROFILE_LOAD_CONCURRENCY)
		printf("Request concurrency: %llu\n", (unsigned long long)L->concurrency);
	else if (r->a->o.load == PROFILE_LOAD_RATE)
		printf("Request Rate: %g inference requests per second\n", L->request_rate);
	else
		printf("Request intervals from %s\n", r->a->o.request_intervals_file);
	fflush(stdout);
}

static void print_window(const struct cli *a, const struct profile_window *w)
{
	printf("  Pass [%zu] throughput: %g infer/sec. ", w->index + 1, w->throughput);
	if (a->o.percentile)
		printf("p%d latency: %llu usec", a->o.percentile,
		       (unsigned long long)(w->stabilizing_latency_ns / 1000));
	else
		printf("Avg latency: %llu usec (std %llu usec)",
		       (unsigned long long)(w->avg_latency_ns / 1000),
		       (unsigned long long)(w->std_us == UINT64_MAX ? 0 : w->std_us));
	if (w->failed_count)
		printf(", %llu failed", (unsigned long long)w->failed_count);
	printf(". \n");
}

static void on_window(void *ctx, const struct profile_level *L,
		      const struct profile_window *w)
{
	struct report *r = ctx;

	(void)L;
	if (r->a->verbose) {
		print_window(r->a, w);
		fflush(stdout);
	}
}

static uint64_t avg_us(uint64_t ns, uint64_t count)
{
	return count ? ns / (count * 1000) : 0;
}

static void print_server(const struct profile_level *L)
{
	const struct remote_stats *s = &L->server;
	uint64_t cnt = s->success_count, cumm, queue, in, infer, out, compute, over;

	printf("  Server: \n");
	if (!cnt) {
		printf("    Request count: 0\n");
		return;
	}
	cumm = avg_us(s->success_ns, cnt);
	queue = avg_us(s->queue_ns, s->queue_count);
	in = avg_us(s->compute_input_ns, s->compute_input_count);
	infer = avg_us(s->compute_infer_ns, s->compute_infer_count);
	out = avg_us(s->compute_output_ns, s->compute_output_count);
	compute = avg_us(s->compute_input_ns + s->compute_infer_ns + s->compute_output_ns,
			 s->compute_input_count);
	over = cumm > queue + compute ? cumm - queue - compute : 0;
	printf("    Inference count: %llu\n", (unsigned long long)s->inference_count);
	printf("    Execution count: %llu\n", (unsigned long long)s->execution_count);
	printf("    Successful request count: %llu\n", (unsigned long long)cnt);
	printf("    Avg request latency: %llu usec (overhead %llu usec + queue %llu usec + compute input %llu usec + compute infer %llu usec + compute output %llu usec)\n",
	       (unsigned long long)cumm, (unsigned long long)over,
	       (unsigned long long)queue, (unsigned long long)in,
	       (unsigned long long)infer, (unsigned long long)out);
}

static void print_metrics(const struct scrape_summary *m)
{
	printf("  Server Prometheus Metrics: \n");
	printf("    Scrapes: %zu\n", m->n_scrapes);
	if (m->n_gpus) {
		printf("    Avg GPU Utilization:\n");
		for (size_t g = 0; g < m->n_gpus; g++)
			if (m->gpus[g].has_utilization)
				printf("      %s : %g%%\n", m->gpus[g].uuid,
				       m->gpus[g].utilization * 100);
		printf("    Avg GPU Power Usage:\n");
		for (size_t g = 0; g < m->n_gpus; g++)
			if (m->gpus[g].has_power)
				printf("      %s : %g watts\n", m->gpus[g].uuid,
				       m->gpus[g].power_w);
		printf("    Max GPU Memory Usage:\n");
		for (size_t g = 0; g < m->n_gpus; g++)
			if (m->gpus[g].has_memory_used)
				printf("      %s : %llu bytes\n", m->gpus[g].uuid,
				       (unsigned long long)m->gpus[g].memory_used_bytes);
		printf("    Total GPU Memory:\n");
		for (size_t g = 0; g < m->n_gpus; g++)
			if (m->gpus[g].has_memory_total)
				printf("      %s : %llu bytes\n", m->gpus[g].uuid,
				       (unsigned long long)m->gpus[g].memory_total_bytes);
	} else {
		printf("    GPU metrics: none on the page\n");
	}
	if (m->has_cpu_utilization)
		printf("    Avg CPU Utilization: %g%%\n", m->cpu_utilization * 100);
	if (m->has_cpu_memory)
		printf("    Max CPU Memory Usage: %llu bytes (of %llu)\n",
		       (unsigned long long)m->cpu_memory_used_bytes,
		       (unsigned long long)m->cpu_memory_total_bytes);
}

/* " ±1.4" (half the interval's width) when both bounds are known, else "". */
static const char *pm(const struct stats_interval *iv, double scale, char *buf,
		      size_t size)
{
	double hw = (iv->hi - iv->lo) / 2 / scale;

	buf[0] = '\0';
	if (stats_interval_known(iv))
		snprintf(buf, size, hw >= 10 ? " \u00b1%.0f" : " \u00b1%.2g", hw);
	return buf;
}

/* " (95% interval 600-640 usec)" for a percentile whose bounds are known, else "". */
static const char *span_us(const struct stats_interval *iv, char *buf, size_t size)
{
	buf[0] = '\0';
	if (stats_interval_known(iv))
		snprintf(buf, size, " (95%% interval %llu-%llu usec)",
			 (unsigned long long)(iv->lo / 1000), (unsigned long long)(iv->hi / 1000));
	return buf;
}

static void print_level(const struct cli *a, const struct profile_level *L)
{
	const struct latency_summary *s = &L->latency;
	uint64_t send = L->avg_send_ns / 1000, recv = L->avg_recv_ns / 1000;
	uint64_t req = L->avg_request_ns / 1000;
	char b1[64];

	printf("  Client: \n");
	printf("    Request count: %llu\n", (unsigned long long)L->request_count);
	if (a->o.load != PROFILE_LOAD_CONCURRENCY && L->request_count) {
		double pct = 100.0 * (double)L->delayed_count / (double)L->request_count;

		printf("    Delayed requests: %llu (%.2f%%) sent more than 1 ms after their scheduled time; worst %llu usec\n",
		       (unsigned long long)L->delayed_count, pct,
		       (unsigned long long)(L->max_lateness_ns / 1000));
		if (pct > 1.0) {
			printf("    Avg send request rate: %.2f infer/sec\n", L->send_rate);
			printf("    [WARNING] infertune was not able to keep up with the desired request rate. %.2f%% of the requests were delayed. \n",
			       pct);
		}
	}
	printf("    Throughput: %g%s infer/sec\n", L->infer_per_sec,
	       pm(&L->infer_per_sec_ci, 1, b1, sizeof(b1)));
	if (!a->o.percentile)
		printf("    Avg latency: %llu%s usec (standard deviation %llu usec)\n",
		       (unsigned long long)(s->avg_ns / 1000),
		       pm(&L->avg_latency_ci_ns, 1000, b1, sizeof(b1)),
		       (unsigned long long)s->std_us);
	{
		int cols[5], n = 0;
		bool placed = a->o.percentile == 0;

		for (int i = 0; i < LATENCY_N_STD_PERCENTILES; i++) {
			if (!placed && a->o.percentile <= latency_std_percentiles[i]) {
				if (a->o.percentile != latency_std_percentiles[i])
					cols[n++] = -1;
				placed = true;
			}
			cols[n++] = i;
		}
		if (!placed)
			cols[n++] = -1;
		for (int i = 0; i < n; i++) {
			if (cols[i] < 0)
				printf("    p%d latency: %llu usec%s\n", a->o.percentile,
				       (unsigned long long)(s->extra_ns / 1000),
				       span_us(&L->extra_latency_ci_ns, b1, sizeof(b1)));
			else
				printf("    p%d latency: %llu usec%s\n",
				       latency_std_percentiles[cols[i]],
				       (unsigned long long)(s->p_ns[cols[i]] / 1000),
				       span_us(&L->latency_ci_ns[cols[i]], b1, sizeof(b1)));
		}
	}
	printf("    Avg HTTP time: %llu usec (send/recv %llu usec + response wait %llu usec)\n",
	       (unsigned long long)req, (unsigned long long)(send + recv),
	       (unsigned long long)(req > send + recv ? req - send - recv : 0));
	if (L->has_early_stop && L->early_stop.enough)
		printf("    Early stopping (%g%% confidence): p%d latency estimate %llu usec from %lld queries (the %lld highest set aside)\n",
		       a->o.early_stop_confidence * 100, L->early_stop_percentile,
		       (unsigned long long)(L->early_stop.estimate_ns / 1000),
		       (long long)L->early_stop.queries,
		       (long long)L->early_stop.discarded);
	printf("    Client CPU: %.2f cores, %.1f usec CPU per request (busiest load thread %.0f%% busy)\n",
	       L->client_cpu_cores, L->client_cpu_ns_per_request / 1000,
	       L->max_worker_busy * 100);
	if (L->has_server)
		print_server(L);
	if (L->has_metrics)
		print_metrics(&L->metrics);
	if (L->client_saturated)
		printf("[WARNING] infertune's load generator was saturated (a load thread was busy %.0f%% of a window): the results may be limited by the client, not the server. Raise --max-threads or use a bigger client machine.\n",
		       L->max_worker_busy * 100);
	printf("\n");
}

static void on_level_done(void *ctx, const struct profile_level *L)
{
	struct report *r = ctx;

	switch (L->status) {
	case PROFILE_OK:
		print_level(r->a, L);
		if (L->message[0])     /* precision mode's note */
			fprintf(stderr, "%s\n", L->message);
		break;
	case PROFILE_EARLY_STOP_SHORT:
		print_level(r->a, L);
		fprintf(stderr, "%s\n", L->message);
		break;
	case PROFILE_OVER_THRESHOLD:
		fprintf(stderr, "%s\n", L->message);
		break;
	case PROFILE_UNSTABLE:
	case PROFILE_FAILED:
		/* "says so with the numbers it saw" */
		if (!r->a->verbose) {
			for (size_t i = 0; i < L->n_windows; i++)
				print_window(r->a, &L->windows[i]);
		}
		fprintf(stderr, "%s\n", L->message);
		break;
	}
	fflush(stdout);
}

static void print_summary(const struct cli *a, const struct profile_results *res)
{
	bool any = false;
	char b1[64], b2[64];

	for (size_t i = 0; i < res->n_levels; i++)
		any = any || res->levels[i].status == PROFILE_OK;
	if (!any)
		return;
	printf("Inferences/Second vs. Client ");
	if (a->o.percentile)
		printf("p%d Batch Latency\n", a->o.percentile);
	else
		printf("Average Batch Latency\n");
	for (size_t i = 0; i < res->n_levels; i++) {
		const struct profile_level *L = &res->levels[i];

		if (L->status != PROFILE_OK)
			continue;
		if (a->o.load == PROFILE_LOAD_CONCURRENCY)
			printf("Concurrency: %llu, ", (unsigned long long)L->concurrency);
		else
			printf("Request Rate: %g, ", L->request_rate);
		printf("throughput: %g%s infer/sec, ", L->infer_per_sec,
		       pm(&L->infer_per_sec_ci, 1, b1, sizeof(b1)));
		if (a->o.percentile)
			printf("latency %llu usec%s\n",
			       (unsigned long long)(L->stabilizing_latency_ns / 1000),
			       span_us(&L->extra_latency_ci_ns, b2, sizeof(b2)));
		else
			printf("latency %llu%s usec\n",
			       (unsigned long long)(L->stabilizing_latency_ns / 1000),
			       pm(&L->avg_latency_ci_ns, 1000, b2, sizeof(b2)));
	}
}

/*
 * Ctrl-C as in perf_analyzer: the first ends the level after the window in
 * progress (the summary and the CSV still come out), the second at once.
 */
static volatile sig_atomic_t interrupted;

static void on_interrupt(int sig)
{
	(void)sig;
	if (interrupted < 2)
		interrupted++;
}

static void catch_interrupts(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_interrupt;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

/* Every connection is a descriptor: lift the soft limit to the hard one. */
static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int cmd_profile(int argc, char **argv)
{
	struct cli a;
	struct report rep;
	struct it_error err = { 0 };
	struct profiler *p = NULL;
	struct profile_results *res = NULL;
	int status, rc;

	memset(&a, 0, sizeof(a));
	if (cmd_wants_help(argc, argv)) {
		print_usage();
		return EXIT_OK;
	}
	status = parse_args(argc, argv, &a);
	if (status != EXIT_OK)
		goto out;
	if (a.help) {
		print_usage();
		goto out;
	}
	raise_fd_limit();
	memset(&rep, 0, sizeof(rep));
	rep.a = &a;
	a.o.on_level_start = on_level_start;
	a.o.on_window = on_window;
	a.o.on_level_done = on_level_done;
	a.o.callback_ctx = &rep;
	a.o.cancel = &interrupted;
	catch_interrupts();
	rc = profiler_new(&a.o, &p, &err);
	if (rc) {
		fprintf(stderr, "infertune profile: ");
		cmd_print_error(&err);
		status = cmd_exit_code(rc);
		goto out;
	}
	print_settings(&a, p);
	rc = profiler_run(p, &res, &err);
	print_summary(&a, res);
	if (a.csv_file) {
		struct strbuf csv;
		struct it_error werr = { 0 };

		strbuf_init(&csv, 0);
		profile_csv_write(res, a.verbose_csv, &csv);
		if (fs_write_file_atomic(a.csv_file, csv.buf, csv.len, &werr)) {
			fprintf(stderr, "infertune profile: ");
			cmd_print_error(&werr);
			if (!rc)
				rc = IT_ERR_IO;
		}
		strbuf_release(&csv);
	}
	if (rc) {
		bool unstable = rc == IT_ERR_STATE && !interrupted;

		fprintf(stderr, "infertune profile: %s\n",
			unstable ? "failed: no stable measurement" : "failed");
		if (!unstable) {
			fprintf(stderr, "infertune profile: ");
			cmd_print_error(&err);
		}
		status = EXIT_FAILURE_RUN;
		goto out;
	}
	status = EXIT_OK;
out:
	profile_results_free(res);
	profiler_free(p);
	perf_settings_release(&a.o.settings);
	return status;
}
