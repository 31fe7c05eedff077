/*
 * `infertune analyze`: Model Analyzer's `profile` command line and YAML
 * file on top of the analyzer library (src/analyze/analyzer.h). This file
 * parses the flags, handles Ctrl-C (the first stops after the current
 * window, the second at once), prints the progress (a live line on a
 * terminal, one line per measurement otherwise) and the summary, and maps
 * the outcome to the exit status.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "analyze/analyzer.h"
#include "analyze/options.h"
#include "analyze/outputs.h"
#include "cmd/cmd.h"
#include "loadgen/options.h"
#include "report/report.h"
#include "store/figures.h"
#include "util/error.h"
#include "util/strbuf.h"
#include "util/xalloc.h"
#include "util/parse.h"
#include "util/banned.h"

#define EXIT_INTERRUPTED 130

static const char usage_text[] =
	"usage: infertune analyze --model-repository DIR --profile-models M1[,M2] [options]\n"
	"\n"
	"Searches the serving configurations of models (instance count, max batch size,\n"
	"dynamic batching, threads, or any config field you list) on the embedded server\n"
	"or a running one, measures each under load, and recommends the best, the way\n"
	"Model Analyzer's `profile` does (same flags, YAML keys, variant names and CSVs).\n"
	"Every measurement is kept in <export>/results.db as it completes; re-running\n"
	"with the same export path resumes where it stopped.\n"
	"\n"
	"Models and outputs:\n"
	"  -m, --model-repository DIR          the model repository\n"
	"  --profile-models M1[,M2]            models to analyze\n"
	"  -f, --config-file FILE              Model Analyzer YAML config (the flags win)\n"
	"  -e, --export-path DIR               results.db, results/, best/ (default .)\n"
	"  --output-model-repository-path DIR  where variants are written\n"
	"                                      (default <export>/output_model_repository)\n"
	"  --override-output-model-repository  replace an existing output repository\n"
	"  --resume                            continue the analysis in <export>/results.db\n"
	"                                      (also done when it exists)\n"
	"\n"
	"Search:\n"
	"  --run-config-search-mode brute|quick|predictive (default brute)\n"
	"  --run-config-search-max-concurrency N         (default 1024; also -min-)\n"
	"  --run-config-search-max-instance-count N      (default 5; also -min-)\n"
	"  --run-config-search-max-model-batch-size N    (default 128; also -min-)\n"
	"  --run-config-search-disable                   measure the default config only\n"
	"  --early-exit-enable                           plateau/5%% rules for given lists too\n"
	"  --num-configs-per-model N                     quick: configs swept after the climb (3)\n"
	"\n"
	"Load and measurement:\n"
	"  -c, --concurrency LIST              e.g. 1,2,4,6,8 or 1:16:2 (default: doubling,\n"
	"                                      stopping when 4 steps gain under 5%%)\n"
	"  --request-rate LIST                 open-loop rates instead of concurrency\n"
	"  -b, --batch-sizes LIST              client batch sizes (default 1)\n"
	"  --perf-analyzer-flag KEY=VALUE      perf_analyzer setting, repeatable, e.g.\n"
	"                                      measurement-interval=2000,\n"
	"                                      measurement-mode=count_windows,\n"
	"                                      stability-percentage=10, shape=IN:3,224,224\n"
	"  --perf-analyzer-max-auto-adjusts N  longer windows when unstable (default 3)\n"
	"  --precision PCT                     measure each level until the 95%% intervals of\n"
	"                                      throughput and latency are within +-PCT%%\n"
	"                                      (default 5; perf_analyzer's stability rule when\n"
	"                                      stability-percentage, max-trials or\n"
	"                                      measurement-request-count is given)\n"
	"  --min-windows N                     precision mode: windows at least (default 3)\n"
	"  --duration-seconds S                idle-server metrics first (default 3)\n"
	"\n"
	"Ranking:\n"
	"  --objectives LIST                   e.g. perf_throughput or\n"
	"                                      perf_latency_p99=2,perf_throughput=3\n"
	"  --latency-budget MS                 constraint: p99 latency <= MS\n"
	"  --min-throughput N                  constraint: throughput >= N infer/s\n"
	"\n"
	"Server:\n"
	"  --server embedded|remote            embedded (default): infertune serve as a\n"
	"                                      child process on free ports; remote: a running\n"
	"                                      Triton or infertune serve in explicit mode\n"
	"  --url HOST:PORT                     the remote server's HTTP endpoint\n"
	"  --metrics-url URL                   its metrics page (default port 8002)\n"
	"  --server-cpus auto|none|LIST        CPUs of the embedded server (auto: all but\n"
	"                                      the client's when there are 4 or more CPUs)\n"
	"  --client-cpus auto|none|LIST        CPUs of the load generator (auto: the last\n"
	"                                      quarter, at least one, with 4 or more CPUs)\n"
	"\n"
	"Output:\n"
	"  --skip-summary-reports              no HTML/PDF report (infertune report) at the end\n"
	"  -q, --quiet                         only warnings, errors and the summary\n"
	"  -v, --verbose                       every window and every step\n"
	"\n"
	"Ctrl-C stops after the current measurement window, a second Ctrl-C at once;\n"
	"either way results.db stays consistent and a re-run resumes.\n"
	"\n"
	"Exit status: 0 done; 1 the analysis could not go on (server gone, disk full);\n"
	"2 bad flags, config file, repository or models (nothing was measured);\n"
	"130 interrupted (resume with the same export path).\n";

static volatile sig_atomic_t interrupt_level;

static void on_signal(int sig)
{
	static const char first[] =
		"\ninfertune analyze: stopping after the current window (Ctrl-C again to stop at once)\n";
	static const char second[] = "\ninfertune analyze: stopping now\n";
	ssize_t w;

	if (sig == SIGTERM || interrupt_level >= 1) {
		interrupt_level = 2;
		w = write(2, second, sizeof(second) - 1);
	} else {
		interrupt_level = 1;
		w = write(2, first, sizeof(first) - 1);
	}
	(void)w;
}

static void install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	/*
	 * A file size limit (ulimit -f) reached while writing results.db must
	 * be an error the store reports (SQLite's "disk is full"), with every
	 * committed measurement kept, not a signal that kills the analysis.
	 */
	signal(SIGXFSZ, SIG_IGN);
}

/* ---- options ---------------------------------------------------------------- */

enum { OPT_QUIET = 'q', OPT_VERBOSE = 'v', OPT_HELP = 'h', OPT_LONG = 1000 };

/* Flags that take no value; everything else in the table takes one. */
static const char *const bool_flags[] = {
	"override-output-model-repository", "run-config-search-disable", "resume",
	"early-exit-enable", "skip-summary-reports",
};

static const char *const value_flags[] = {
	"model-repository", "profile-models", "config-file", "output-model-repository-path",
	"export-path", "run-config-search-mode", "run-config-search-min-concurrency",
	"run-config-search-max-concurrency", "run-config-search-min-instance-count",
	"run-config-search-max-instance-count", "run-config-search-min-model-batch-size",
	"run-config-search-max-model-batch-size", "concurrency", "request-rate",
	"batch-sizes", "objectives", "latency-budget", "min-throughput", "server",
	"triton-launch-mode", "url", "triton-http-endpoint", "metrics-url",
	"triton-metrics-url", "server-cpus", "client-cpus", "num-configs-per-model", "duration-seconds",
	"perf-analyzer-max-auto-adjusts", "perf-analyzer-flag", "filename-model-inference",
	"filename-model-gpu", "filename-server-only",
};

#define N_BOOL (sizeof(bool_flags) / sizeof(bool_flags[0]))
#define N_VALUE (sizeof(value_flags) / sizeof(value_flags[0]))
#define N_OWN_MAX 8     /* the option table's PROFILE_DOOR_ANALYZE_OWN rows, at most */

struct cli {
	struct analyze_options o;
	int verbosity;          /* -1 quiet, 0 normal, 1 verbose */
	bool help;
};

static void build_long_options(struct option *opts)
{
	size_t n = 0;

	for (size_t i = 0; i < N_BOOL; i++) {
		opts[n].name = bool_flags[i];
		opts[n].has_arg = no_argument;
		opts[n].flag = NULL;
		opts[n].val = OPT_LONG + (int)n;
		n++;
	}
	for (size_t i = 0; i < N_VALUE; i++) {
		opts[n].name = value_flags[i];
		opts[n].has_arg = required_argument;
		opts[n].flag = NULL;
		opts[n].val = OPT_LONG + (int)n;
		n++;
	}
	/* analyze's own measurement settings come from the option table. */
	for (const struct profile_option *r = profile_option_table; r->doors; r++) {
		if (!(r->doors & PROFILE_DOOR_ANALYZE_OWN) || n >= N_BOOL + N_VALUE + N_OWN_MAX)
			continue;
		opts[n].name = r->name;
		opts[n].has_arg = required_argument;
		opts[n].flag = NULL;
		opts[n].val = OPT_LONG + (int)n;
		n++;
	}
	opts[n++] = (struct option){ "quiet", no_argument, NULL, OPT_QUIET };
	opts[n++] = (struct option){ "verbose", no_argument, NULL, OPT_VERBOSE };
	opts[n++] = (struct option){ "help", no_argument, NULL, OPT_HELP };
	opts[n] = (struct option){ NULL, 0, NULL, 0 };
}

/* "run-config-search-mode" -> "run_config_search_mode". */
static void snake(const char *flag, char *buf, size_t size)
{
	size_t i;

	for (i = 0; flag[i] && i + 1 < size; i++)
		buf[i] = flag[i] == '-' ? '_' : flag[i];
	buf[i] = '\0';
}

static int apply(struct cli *a, const char *flag, const char *value)
{
	struct it_error err = { 0 };
	char key[96];

	snake(flag, key, sizeof(key));
	if (analyze_options_set(&a->o, key, value, &err)) {
		/* The option table's messages name the flag already. */
		if (!strncmp(err.message, "--", 2))
			fprintf(stderr, "infertune analyze: %s\n", err.message);
		else
			fprintf(stderr, "infertune analyze: --%s: %s\n", flag, err.message);
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

static int parse_args(int argc, char **argv, struct cli *a)
{
	struct option opts[N_BOOL + N_VALUE + N_OWN_MAX + 4];
	const char *config_file = NULL;
	int c, rc;

	build_long_options(opts);
	/* The YAML file first: the command line overrides it. */
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":m:f:e:c:b:qvh", opts, NULL)) != -1) {
		if (c == 'f')
			config_file = optarg;
		else if (c >= OPT_LONG && !strcmp(opts[c - OPT_LONG].name, "config-file"))
			config_file = optarg;
	}
	if (config_file) {
		struct it_error err = { 0 };

		if (analyze_options_read_yaml(&a->o, config_file, &err)) {
			cmd_print_error(&err);
			return EXIT_USAGE;
		}
	}
	optind = 1;
	while ((c = getopt_long(argc, argv, ":m:f:e:c:b:qvh", opts, NULL)) != -1) {
		switch (c) {
		case 'm':
			rc = apply(a, "model-repository", optarg);
			break;
		case 'f':
			rc = EXIT_OK;
			break;
		case 'e':
			rc = apply(a, "export-path", optarg);
			break;
		case 'c':
			rc = apply(a, "concurrency", optarg);
			break;
		case 'b':
			rc = apply(a, "batch-sizes", optarg);
			break;
		case OPT_QUIET:
			a->verbosity = -1;
			rc = EXIT_OK;
			break;
		case OPT_VERBOSE:
			a->verbosity = 1;
			rc = EXIT_OK;
			break;
		case OPT_HELP:
			a->help = true;
			return EXIT_OK;
		case ':':
			return cmd_usage_error("analyze", "option '%s' needs a value", argv[optind - 1]);
		case '?':
			if (optopt && optopt < 256)
				return cmd_usage_error("analyze", "unknown option '-%c'", optopt);
			return cmd_usage_error("analyze", "unknown option '%s'", argv[optind - 1]);
		default: {
			const char *name = opts[c - OPT_LONG].name;

			if (!strcmp(name, "config-file"))
				rc = EXIT_OK;
			else
				rc = apply(a, name, opts[c - OPT_LONG].has_arg ? optarg : "true");
			break;
		}
		}
		if (rc)
			return rc;
	}
	if (optind < argc)
		return cmd_usage_error("analyze", "unexpected argument '%s'", argv[optind]);
	return EXIT_OK;
}

/* ---- progress ---------------------------------------------------------------- */

struct view {
	int verbosity;
	bool tty;
	bool line_open;         /* a live line is on screen */
};

static void fmt_duration(double s, char *buf, size_t size)
{
	long t = (long)(s + 0.5);

	if (t >= 3600)
		snprintf(buf, size, "%ldh%02ldm", t / 3600, (t / 60) % 60);
	else if (t >= 60)
		snprintf(buf, size, "%ldm%02lds", t / 60, t % 60);
	else
		snprintf(buf, size, "%lds", t);
}

static void clear_line(struct view *v)
{
	if (v->line_open) {
		fputs("\r\033[K", stderr);
		v->line_open = false;
	}
}

static void load_text(enum load_kind k, double value, char *buf, size_t size)
{
	if (k == LOAD_REQUEST_RATE)
		snprintf(buf, size, "rate %g/s", value);
	else
		snprintf(buf, size, "concurrency %lld", (long long)value);
}

static void live_line(struct view *v, const struct analyze_progress *p)
{
	char elapsed[32], left[48], load[48];

	fmt_duration(p->elapsed_s, elapsed, sizeof(elapsed));
	if (p->eta_s >= 0) {
		char d[32];

		fmt_duration(p->eta_s, d, sizeof(d));
		snprintf(left, sizeof(left), ", ~%s left", d);
	} else {
		left[0] = '\0';
	}
	load_text(p->load_kind, p->load_value, load, sizeof(load));
	fprintf(stderr, "\r\033[K[%s %zu/%zu] variant %zu of ~%zu %s, %s, window %zu | %zu measured, %zu reused | %s elapsed%s",
		p->model ? p->model : "", p->model_index, p->n_models, p->variant_index,
		p->variant_total, p->variant ? p->variant : "", load, p->window + 1,
		p->measured, p->reused, elapsed, left);
	fflush(stderr);
	v->line_open = true;
}

/* " [540.1, ?]": an interval's bounds, "?" for one the data could not give. */
static void fmt_bounds(double lo, double hi, int decimals, char *buf, size_t size)
{
	char l[32] = "?", h[32] = "?";

	if (isfinite(lo))
		snprintf(l, sizeof(l), "%.*f", decimals, lo);
	if (isfinite(hi))
		snprintf(h, sizeof(h), "%.*f", decimals, hi);
	snprintf(buf, size, " [%s, %s]", l, h);
}

/*
 * "14.3 infer/s ±0.6" or "556.87 ms [540.1, 571.9]": a throughput or a
 * latency with its 95% interval where known (a throughput with one bound
 * shows its bounds); a missing bound prints "?", never a guess.
 */
static void fmt_figure(const struct figures *fs, enum figure f, char *buf, size_t size)
{
	bool tp = f == FIG_THROUGHPUT;
	double lo, hi;
	char ci[80] = "";

	/* Two significant digits of the half-width, never rounded to ±0.0. */
	if (figures_interval(fs, f, &lo, &hi) && tp)
		snprintf(ci, sizeof(ci), " \xc2\xb1%.2g", (hi - lo) / 2);
	else if (isfinite(lo) || isfinite(hi))
		fmt_bounds(lo, hi, tp ? 1 : 2, ci, sizeof(ci));
	snprintf(buf, size, tp ? "%.1f infer/s%s" : "%.2f ms%s", figures_get(fs, f, 0), ci);
}

static void on_event(void *ctx, const struct analyze_event *ev)
{
	struct view *v = ctx;
	const struct analyze_progress *p = ev->progress;

	switch (ev->kind) {
	case AEV_LOG:
		if (ev->level == 1 || v->verbosity >= (ev->level == 2 ? 1 : 0)) {
			clear_line(v);
			fprintf(stderr, "%s%s\n", ev->level == 1 ? "warning: " : "", ev->message);
		}
		break;
	case AEV_VARIANT_START:
		if (v->verbosity >= 1) {
			clear_line(v);
			fprintf(stderr, "[%zu/~%zu] %s (%s)\n", p->variant_index, p->variant_total,
				p->variant, ev->message);
		}
		break;
	case AEV_LEVEL_START:
	case AEV_WINDOW:
		if (v->verbosity >= 1 && ev->kind == AEV_WINDOW) {
			clear_line(v);
			fprintf(stderr, "  %s\n", ev->message);
		}
		if (v->tty && v->verbosity >= 0)
			live_line(v, p);
		break;
	case AEV_MEASUREMENT: {
		const struct store_measurement *m = ev->measurement;
		char load[48], tp[96], p99[128];

		/* On a terminal the live line tells the story; the log lines are for --verbose. */
		if (v->verbosity < 0 || (v->tty && v->verbosity < 1)) {
			if (v->tty && v->verbosity >= 0)
				live_line(v, p);
			break;
		}
		clear_line(v);
		load_text(m->load_kind, m->load_value, load, sizeof(load));
		fmt_figure(&m->fig, FIG_THROUGHPUT, tp, sizeof(tp));
		fmt_figure(&m->fig, FIG_LATENCY_P99, p99, sizeof(p99));
		if (m->status == MEAS_OK || m->status == MEAS_OVER_THRESHOLD)
			fprintf(stderr, "%s %s [%s] batch %lld %s: %s, p99 %s%s\n",
				ev->reused ? "reused  " : "measured", p->variant,
				p->label ? p->label : "", (long long)m->batch_size, load, tp, p99,
				m->status == MEAS_OVER_THRESHOLD ? " (over the latency threshold)" : "");
		else
			fprintf(stderr, "%s %s [%s] batch %lld %s: %s: %s\n",
				ev->reused ? "reused  " : "measured", p->variant,
				p->label ? p->label : "", (long long)m->batch_size, load,
				measurement_status_name(m->status), m->message);
		break;
	}
	case AEV_VARIANT_DONE:
		if (ev->status >= VARIANT_LOAD_FAILED && v->verbosity >= 0) {
			clear_line(v);
			fprintf(stderr, "variant %s: %s: %s (the search goes on)\n", p->variant,
				variant_status_name(ev->status), ev->message);
		}
		break;
	}
}

/* ---- summary ------------------------------------------------------------------- */

/* The capacity answers (analyze/capacity.h), one indented line each. */
static void print_capacity(const char *text)
{
	while (*text) {
		const char *nl = strchr(text, '\n');
		int len = nl ? (int)(nl - text) : (int)strlen(text);

		printf("  Capacity: %.*s\n", len, text);
		text += len + (nl != NULL);
	}
}

static void print_summary(const struct analyze_summary *s, const struct analyze_options *o,
			  bool failed)
{
	char wall[32], inside[32];
	bool capacity = false;

	fmt_duration(s->wall_s, wall, sizeof(wall));
	fmt_duration(s->windows_s, inside, sizeof(inside));
	printf("%s: %zu measurement%s taken, %zu reused from results.db, in %s",
	       s->interrupted ? "Analysis interrupted" : failed ? "Analysis stopped by an error" :
	       "Analysis complete", s->measured,
	       s->measured == 1 ? "" : "s", s->reused, wall);
	if (s->measured && s->wall_s > 0)
		printf(" (%s in measurement windows, overhead %.1f%%)", inside,
		       (s->wall_s - s->windows_s) / s->wall_s * 100);
	printf("\n");
	for (size_t i = 0; i < s->n_models; i++) {
		const struct analyze_model_result *r = &s->models[i];
		char load[48], tp[96], p99[128];

		if (!r->has_best) {
			printf("Model %s: no configuration could be measured (%zu tried, %zu failed)\n",
			       r->model, r->n_variants, r->n_failed);
			continue;
		}
		load_text(r->best_load_kind, r->best_load, load, sizeof(load));
		printf("Model %s: best configuration %s (%s)%s\n", r->model, r->best_variant,
		       r->best_label, r->best_passes ? "" : " -- NO configuration met the constraints");
		fmt_figure(&r->best, FIG_THROUGHPUT, tp, sizeof(tp));
		fmt_figure(&r->best, FIG_LATENCY_P99, p99, sizeof(p99));
		printf("  %s, p99 latency %s at %s, batch %lld\n", tp, p99, load,
		       (long long)r->best_batch);
		/* The tier sentence: who ties, why this one, the gain over the default with its interval. */
		if (r->recommendation[0])
			printf("  %s\n", r->recommendation);
		fmt_figure(&r->default_best, FIG_THROUGHPUT, tp, sizeof(tp));
		fmt_figure(&r->default_best, FIG_LATENCY_P99, p99, sizeof(p99));
		if (r->has_default && strcmp(r->best_label, "default") && r->has_gain)
			printf("  The default configuration: %s, p99 %s.\n", tp, p99);
		printf("  In %zu measurement%s across %zu configuration%s (%zu failed).\n",
		       r->n_measurements, r->n_measurements == 1 ? "" : "s", r->n_variants,
		       r->n_variants == 1 ? "" : "s", r->n_failed);
		if (r->best_config_path[0])
			printf("  Deployable config: %s\n", r->best_config_path);
		else if (s->outputs_error[0])
			printf("  Deployable config: not written (below)\n");
		print_capacity(r->capacity);
		capacity = capacity || r->capacity[0];
	}
	if (s->outputs_error[0])
		printf("Results: %s; the CSVs and deployable configs were not written: %s. "
		       "Every measurement is in results.db: once the folder is writable, the "
		       "same command resumes and writes them (nothing is measured twice).\n",
		       s->db_path, s->outputs_error);
	else
		printf("Results: %s; CSVs in %s (%s, %s, %s, measurements.csv%s)\n", s->db_path,
		       s->results_dir, o->filename_model_inference, o->filename_model_gpu,
		       o->filename_server_only, capacity ? ", " OUTPUTS_CAPACITY_CSV : "");
	if (s->interrupted)
		printf("Resume with the same command (or --resume): measured points are kept.\n");
}

static void print_report_path(void *ctx, const char *model, const char *html_path)
{
	const int *verbosity = ctx;

	if (*verbosity >= 0)
		printf("Report of %s: %s\n", model, html_path);
}

/* The HTML/PDF report of the analysed models (src/report/, `infertune report`). */
static int write_report(const char *export_path, const struct analyze_options *o,
			int verbosity, struct it_error *err)
{
	const char **models = xcalloc(o->n_models, sizeof(*models));
	struct report_options ro;
	int rc;

	for (size_t i = 0; i < o->n_models; i++)
		models[i] = o->models[i].name;
	memset(&ro, 0, sizeof(ro));
	ro.on_written = print_report_path;
	ro.ctx = &verbosity;
	rc = report_write(export_path, models, o->n_models, &ro, err);
	free(models);
	return rc;
}

static char *join_args(int argc, char **argv)
{
	struct strbuf sb;

	strbuf_init(&sb, 0);
	strbuf_adds(&sb, "infertune");
	for (int i = 0; i < argc; i++) {
		strbuf_addch(&sb, ' ');
		strbuf_adds(&sb, argv[i]);
	}
	return strbuf_detach(&sb, NULL);
}

int cmd_analyze(int argc, char **argv)
{
	struct cli a;
	struct view view;
	struct analyzer_config cfg;
	struct analyzer *an = NULL;
	struct it_error err = { 0 };
	char exe[4096];
	char *cmdline = NULL;
	ssize_t n;
	int status, rc;

	memset(&a, 0, sizeof(a));
	analyze_options_init(&a.o);
	if (cmd_wants_help(argc, argv)) {
		fputs(usage_text, stdout);
		status = EXIT_OK;
		goto out;
	}
	status = parse_args(argc, argv, &a);
	if (status || a.help) {
		if (a.help)
			fputs(usage_text, stdout);
		goto out;
	}
	for (size_t i = 0; i < a.o.n_warnings; i++)
		fprintf(stderr, "warning: %s\n", a.o.warnings[i]);
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0) {
		fprintf(stderr, "infertune analyze: cannot find the infertune binary: %s\n",
			strerror(errno));
		status = EXIT_FAILURE_RUN;
		goto out;
	}
	exe[n] = '\0';
	{
		/* Every load connection is a descriptor: lift the soft limit. */
		struct rlimit rl;

		if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
			rl.rlim_cur = rl.rlim_max;
			setrlimit(RLIMIT_NOFILE, &rl);
		}
	}
	install_signals();
	cmdline = join_args(argc, argv);
	memset(&view, 0, sizeof(view));
	view.verbosity = a.verbosity;
	view.tty = isatty(2);
	memset(&cfg, 0, sizeof(cfg));
	cfg.options = &a.o;
	cfg.exe = exe;
	cfg.command_line = cmdline;
	cfg.on_event = on_event;
	cfg.ctx = &view;
	cfg.interrupt = &interrupt_level;

	rc = analyzer_new(&cfg, &an, &err);
	if (rc) {
		clear_line(&view);
		cmd_print_error(&err);
		status = cmd_exit_code(rc);
		goto out;
	}
	rc = analyzer_run(an, &err);
	clear_line(&view);
	print_summary(analyzer_summary(an), &a.o, rc != 0);
	if (rc == IT_ERR_STATE && analyzer_summary(an)->interrupted) {
		status = EXIT_INTERRUPTED;
	} else if (rc) {
		cmd_print_error(&err);
		status = EXIT_FAILURE_RUN;
	} else {
		status = EXIT_OK;
	}
	if (!a.o.skip_reports && interrupt_level < 2 &&
	    analyzer_summary(an)->n_models) {
		/* The report reads results.db alone: close it (and its lock) first. */
		char *export_path = xstrdup(analyzer_summary(an)->export_path);
		struct it_error rerr = { 0 };

		analyzer_free(an);
		an = NULL;
		if (write_report(export_path, &a.o, view.verbosity, &rerr)) {
			fprintf(stderr, "infertune analyze: the report could not be written: ");
			cmd_print_error(&rerr);
			if (status == EXIT_OK)
				status = EXIT_FAILURE_RUN;
		}
		free(export_path);
	}
out:
	analyzer_free(an);
	free(cmdline);
	analyze_options_release(&a.o);
	return status;
}
