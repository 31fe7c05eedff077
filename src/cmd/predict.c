/*
 * `infertune predict`: what a configuration would do under a load, asked of
 * the model fitted to a finished analysis (analyze/observe reads results.db
 * back, predict/fit fits and simulates) without measuring anything. This
 * file parses the flags (configuration fields named after config.pbtxt,
 * loads named after perf_analyzer), builds the configuration from the
 * model's default, and prints every figure as a prediction with the fit's
 * uncertainty, beside the measurement when results.db has one; with a p99
 * budget, the highest rate within it (analyze/capacity_predict) and, for a
 * target rate, how many such servers it needs.
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "analyze/capacity.h"
#include "analyze/capacity_predict.h"
#include "analyze/observe.h"
#include "cmd/cmd.h"
#include "loadgen/options.h"
#include "loadgen/profiler.h"
#include "model/config.h"
#include "predict/des.h"
#include "predict/fit.h"
#include "store/store.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/parse.h"
#include "util/strbuf.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define PREDICT_MAX_LEVELS 1000         /* loads one call predicts */
#define PREDICT_MAX_PREFERRED 64
#define PREDICT_MAX_THREADS 1024

static const char usage_text[] =
	"usage: infertune predict [-e DIR | --results FILE] [-m MODEL] [configuration]\n"
	"                         [load] [--latency-budget MS [--target-rate R]]\n"
	"                         [--format text|csv|json]\n"
	"\n"
	"Predicts, without measuring, the throughput and latency of a configuration\n"
	"under a load, from the model that the predictive search fits (docs/predictor.md)\n"
	"to the measurements of a finished analysis. Every figure printed is a\n"
	"PREDICTION with the fit's uncertainty; when results.db holds a measurement\n"
	"of that configuration at that load, the measured figures are shown beside it.\n"
	"\n"
	"  -e, --export-path DIR         the analysis's export folder: DIR/results.db\n"
	"                                (default .)\n"
	"  --results FILE                a results.db elsewhere\n"
	"  -m, --model-name MODEL        the model (default: the only one in results.db)\n"
	"\n"
	"Configuration: config.pbtxt fields, each from the model's default in\n"
	"results.db unless given:\n"
	"  --instance-count N            instance_group: one group of N instances (the\n"
	"                                default's first group's kind and GPUs)\n"
	"  --max-batch-size N            max_batch_size (the model must batch)\n"
	"  --dynamic-batching            dynamic_batching { } (the search's batching\n"
	"                                configurations have it)\n"
	"  --max-queue-delay-us US       dynamic_batching max_queue_delay_microseconds\n"
	"                                (implies dynamic batching)\n"
	"  --preferred-batch-size N[,N]  dynamic_batching preferred_batch_size\n"
	"                                (repeatable; implies dynamic batching); the\n"
	"                                simulator batches to the largest\n"
	"  --no-dynamic-batching         no dynamic_batching: an instance takes one\n"
	"                                request at a time\n"
	"  --threads N                   parameters INTRA_OP_THREAD_COUNT (intra-op\n"
	"                                threads; only when the analysis searched them)\n"
	"\n"
	"Load, perf_analyzer's flags (default: concurrency 1):\n"
	"  --concurrency-range S[:E[:T]] closed loop: N clients for N = S, S+T, ... E\n"
	"  --request-rate-range S[:E[:T]] open loop: requests per second\n"
	"  --request-distribution D      constant (default) or poisson (seed 0)\n"
	"  -b N                          batch size of each request (default 1)\n"
	"\n"
	"Capacity (instead of the default load; beside the loads given):\n"
	"  --latency-budget MS           the highest request rate (constant intervals)\n"
	"                                whose predicted p99 latency is <= MS, or none\n"
	"  --target-rate R               requests/s: how many such servers R needs\n"
	"                                (with --latency-budget)\n"
	"\n"
	"  --format F                    text (default), csv (perf_analyzer's column\n"
	"                                names, latencies in usec, plus Prediction and\n"
	"                                Uncertainty %; with --latency-budget the\n"
	"                                capacity row instead) or json\n"
	"\n"
	"Exit status: 0 predicted; 1 the simulation failed; 2 bad flags or input (no\n"
	"results.db, unknown model, no batch statistics, a value out of range).\n";

enum {
	OPT_RESULTS = 256, OPT_INSTANCES, OPT_MBS, OPT_DYNAMIC, OPT_DELAY, OPT_PREFERRED,
	OPT_NO_DYNAMIC, OPT_THREADS, OPT_CONCURRENCY, OPT_RATE, OPT_DISTRIBUTION, OPT_FORMAT,
	OPT_BUDGET, OPT_TARGET,
};

static const struct option long_options[] = {
	{ "export-path", required_argument, NULL, 'e' },
	{ "results", required_argument, NULL, OPT_RESULTS },
	{ "model-name", required_argument, NULL, 'm' },
	{ "instance-count", required_argument, NULL, OPT_INSTANCES },
	{ "max-batch-size", required_argument, NULL, OPT_MBS },
	{ "dynamic-batching", no_argument, NULL, OPT_DYNAMIC },
	{ "max-queue-delay-us", required_argument, NULL, OPT_DELAY },
	{ "preferred-batch-size", required_argument, NULL, OPT_PREFERRED },
	{ "no-dynamic-batching", no_argument, NULL, OPT_NO_DYNAMIC },
	{ "threads", required_argument, NULL, OPT_THREADS },
	{ "concurrency-range", required_argument, NULL, OPT_CONCURRENCY },
	{ "request-rate-range", required_argument, NULL, OPT_RATE },
	{ "request-distribution", required_argument, NULL, OPT_DISTRIBUTION },
	{ "latency-budget", required_argument, NULL, OPT_BUDGET },
	{ "target-rate", required_argument, NULL, OPT_TARGET },
	{ "format", required_argument, NULL, OPT_FORMAT },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

enum format { FORMAT_TEXT, FORMAT_CSV, FORMAT_JSON };

/* What the command line asks; a value of 0 / false: not given. */
struct ask {
	const char *export_path, *results, *model;
	int32_t instances, mbs, threads;
	bool mbs_given, dynamic, no_dynamic, delay_given;
	uint64_t delay_us;
	int32_t preferred[PREDICT_MAX_PREFERRED];
	size_t n_preferred;
	struct profile_options load;    /* the load flags, read through perf_analyzer's rows */
	bool concurrency_given, rate_given;
	double budget_ms;               /* --latency-budget: p99 ms; 0: not given */
	double target_rate;             /* --target-rate: requests/s; 0: not given */
	enum format format;
};

/* One predicted load and what was measured there. */
struct level {
	struct des_load load;
	struct predict_result r;
	ptrdiff_t measured;             /* index in the set's observations, or -1 */
};

/* ---- the command line ------------------------------------------------------- */

/* A whole number in [min, max] for `flag`; false after printing the error. */
static bool read_int(const char *flag, const char *value, uint64_t min, uint64_t max,
		     uint64_t *out)
{
	uint64_t v;

	if (parse_u64(value, max, &v) && v >= min) {
		if (out)
			*out = v;
		return true;
	}
	cmd_usage_error("predict", "%s '%s': expected a whole number from %llu to %llu", flag,
			value, (unsigned long long)min, (unsigned long long)max);
	return false;
}

/* A number > 0 for `flag` (a rate, a budget); false after printing the error. */
static bool read_positive(const char *flag, const char *value, const char *unit, double *out)
{
	double v;

	if (parse_double(value, &v) && v > 0) {
		*out = v;
		return true;
	}
	cmd_usage_error("predict", "%s '%s': expected a number > 0 (%s)", flag, value, unit);
	return false;
}

/* "4,8" appended to a->preferred. */
static bool read_preferred(struct ask *a, const char *value)
{
	const char *s = value;

	if (!*s)
		return read_int("--preferred-batch-size", s, 1, INT32_MAX, NULL);
	while (*s) {
		size_t len = strcspn(s, ",");
		char *part = xstrndup(s, len);
		uint64_t v;
		bool ok = read_int("--preferred-batch-size", part, 1, INT32_MAX, &v);

		free(part);
		if (!ok)
			return false;
		if (a->n_preferred == PREDICT_MAX_PREFERRED) {
			cmd_usage_error("predict", "--preferred-batch-size: at most %d sizes",
					PREDICT_MAX_PREFERRED);
			return false;
		}
		a->preferred[a->n_preferred++] = (int32_t)v;
		s += len;
		if (*s == ',')
			s++;
	}
	return true;
}

/* A load flag read through perf_analyzer's row (its bounds and messages). */
static bool read_load_flag(struct ask *a, const char *row, const char *value)
{
	const struct profile_option *opt = strlen(row) == 1 ? profile_option_find_short(row[0]) :
					   profile_option_find(row);
	struct it_error err = { 0 };

	if (profile_option_set(opt, &a->load, value, &err)) {
		cmd_usage_error("predict", "%s", err.message);
		return false;
	}
	return true;
}

/* One flag c with its value; false after printing the error. */
static bool read_flag(struct ask *a, int c, const char *v)
{
	uint64_t n;

	switch (c) {
	case 'e':
		a->export_path = v;
		return true;
	case OPT_RESULTS:
		a->results = v;
		return true;
	case 'm':
		a->model = v;
		return true;
	case OPT_INSTANCES:
		if (!read_int("--instance-count", v, 1, DES_MAX_INSTANCES, &n))
			return false;
		a->instances = (int32_t)n;
		return true;
	case OPT_MBS:
		if (!read_int("--max-batch-size", v, 1, PREDICT_MAX_BATCH, &n))
			return false;
		a->mbs = (int32_t)n;
		a->mbs_given = true;
		return true;
	case OPT_DYNAMIC:
		a->dynamic = true;
		return true;
	case OPT_NO_DYNAMIC:
		a->no_dynamic = true;
		return true;
	case OPT_DELAY:
		a->delay_given = true;
		return read_int("--max-queue-delay-us", v, 0, DES_MAX_QUEUE_DELAY_US, &a->delay_us);
	case OPT_PREFERRED:
		return read_preferred(a, v);
	case OPT_THREADS:
		if (!read_int("--threads", v, 1, PREDICT_MAX_THREADS, &n))
			return false;
		a->threads = (int32_t)n;
		return true;
	case OPT_CONCURRENCY:
		a->concurrency_given = true;
		return read_load_flag(a, "concurrency-range", v);
	case OPT_RATE:
		a->rate_given = true;
		return read_load_flag(a, "request-rate-range", v);
	case OPT_DISTRIBUTION:
		return read_load_flag(a, "request-distribution", v);
	case 'b':
		return read_load_flag(a, "b", v);
	case OPT_BUDGET:
		return read_positive("--latency-budget", v, "p99 milliseconds", &a->budget_ms);
	case OPT_TARGET:
		return read_positive("--target-rate", v, "requests/s", &a->target_rate);
	case OPT_FORMAT:
		if (!strcmp(v, "text") || !strcmp(v, "csv") || !strcmp(v, "json")) {
			a->format = v[0] == 't' ? FORMAT_TEXT : v[0] == 'c' ? FORMAT_CSV : FORMAT_JSON;
			return true;
		}
		cmd_usage_error("predict", "--format '%s': choose text, csv or json", v);
		return false;
	}
	return false;
}

/* The rules between flags that need no results.db. */
static int check_flags(const struct ask *a)
{
	if (a->export_path && a->results)
		return cmd_usage_error("predict", "give --export-path or --results, not both");
	if (a->no_dynamic && (a->dynamic || a->delay_given || a->n_preferred))
		return cmd_usage_error("predict", "--no-dynamic-batching conflicts with %s",
				       a->dynamic ? "--dynamic-batching" : a->delay_given ?
				       "--max-queue-delay-us" : "--preferred-batch-size");
	if (a->concurrency_given && a->rate_given)
		return cmd_usage_error("predict", "give only one of --concurrency-range and "
				       "--request-rate-range");
	if (a->load.distribution == PROFILE_POISSON && !a->rate_given)
		return cmd_usage_error("predict", "--request-distribution applies to "
				       "--request-rate-range only");
	if (a->concurrency_given && !a->load.concurrency_end)
		return cmd_usage_error("predict", "--concurrency-range: an end of 0 sweeps until a "
				       "latency threshold, which predict does not take; give the end");
	if (a->rate_given && !a->load.rate_end)
		return cmd_usage_error("predict", "--request-rate-range: an end of 0 sweeps until a "
				       "latency threshold, which predict does not take; give the end");
	if (a->target_rate > 0 && !(a->budget_ms > 0))
		return cmd_usage_error("predict", "--target-rate needs --latency-budget: a target "
				       "is served within a p99 budget");
	/* predict_max_rate() bisects at constant intervals, perf_analyzer's default. */
	if (a->budget_ms > 0 && a->load.distribution == PROFILE_POISSON)
		return cmd_usage_error("predict", "--latency-budget: the highest rate is predicted "
				       "at constant intervals only; --request-distribution "
				       "poisson cannot be combined with it");
	if (a->budget_ms > 0 && a->format == FORMAT_CSV && (a->concurrency_given || a->rate_given))
		return cmd_usage_error("predict", "--format csv takes one table: give "
				       "--latency-budget or a load, not both (text and json "
				       "show both)");
	return EXIT_OK;
}

/* Reads argv into *a; returns -1 for --help (printed), else an exit status. */
static int parse_args(int argc, char **argv, struct ask *a)
{
	int c;

	memset(a, 0, sizeof(*a));
	profile_options_init(&a->load);
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":e:m:b:h", long_options, NULL)) != -1) {
		if (c == 'h') {
			fputs(usage_text, stdout);
			return -1;
		}
		if (c == ':')
			return cmd_usage_error("predict", "%s needs a value", argv[optind - 1]);
		if (c == '?')
			return cmd_usage_error("predict", "unknown option '%s'", argv[optind - 1]);
		if (!read_flag(a, c, optarg))
			return EXIT_USAGE;
	}
	if (optind < argc)
		return cmd_usage_error("predict", "unexpected argument '%s'", argv[optind]);
	return check_flags(a);
}

/* ---- the configuration asked ------------------------------------------------ */

/* The checks against the model's default; an exit status. */
static int check_config(const struct ask *a, const struct model_config *base, int32_t mbs)
{
	const char *pref_flag = a->n_preferred ? "--preferred-batch-size" :
				"the default's preferred_batch_size";

	if (base->max_batch_size <= 0 &&
	    (a->mbs_given || a->dynamic || a->delay_given || a->n_preferred))
		return cmd_usage_error("predict", "%s: the model's default has max_batch_size 0 "
				       "(it does not batch), so no batching can be predicted for it",
				       a->mbs_given ? "--max-batch-size" : a->dynamic ?
				       "--dynamic-batching" : a->delay_given ?
				       "--max-queue-delay-us" : "--preferred-batch-size");
	for (size_t i = 0; i < a->n_preferred; i++)
		if (a->preferred[i] > mbs)
			return cmd_usage_error("predict", "%s %d is above max_batch_size %d%s",
					       pref_flag, a->preferred[i], mbs,
					       a->mbs_given ? "" : " (the model's default)");
	if (!a->n_preferred && !a->no_dynamic && base->has_dynamic_batching)
		for (size_t i = 0; i < base->dynamic_batching.n_preferred_batch_size; i++)
			if (base->dynamic_batching.preferred_batch_size[i] > mbs)
				return cmd_usage_error("predict", "--max-batch-size %d is below %s %d; "
						       "give --preferred-batch-size too", mbs, pref_flag,
						       base->dynamic_batching.preferred_batch_size[i]);
	if (a->load.batch_size > (mbs > 0 ? mbs : 1))
		return cmd_usage_error("predict", "-b %lld is above max_batch_size %d%s",
				       (long long)a->load.batch_size, mbs, mbs > 0 ? "" :
				       " (the model does not batch: -b 1 only)");
	return EXIT_OK;
}

/* The dynamic_batching edits: preferred sizes cleared first, so max_batch_size can move. */
static int apply_batching(const struct ask *a, struct model_config *c, struct it_error *err)
{
	bool had = c->has_dynamic_batching;
	bool on = !a->no_dynamic && (had || a->dynamic || a->delay_given || a->n_preferred);
	uint64_t delay = a->delay_given ? a->delay_us : c->dynamic_batching.max_queue_delay_us;
	int32_t pref[PREDICT_MAX_PREFERRED];
	size_t n_pref = a->n_preferred;
	int rc = 0;

	/* The default's sizes are copied before the edits below replace them. */
	if (n_pref) {
		memcpy(pref, a->preferred, n_pref * sizeof(*pref));
	} else if (had) {
		for (; n_pref < c->dynamic_batching.n_preferred_batch_size &&
		       n_pref < PREDICT_MAX_PREFERRED; n_pref++)
			pref[n_pref] = c->dynamic_batching.preferred_batch_size[n_pref];
	}
	if (had && !on)
		rc = model_config_clear_dynamic_batching(c, err);
	else if (on)
		rc = model_config_set_dynamic_batching(c, NULL, 0, delay, err);
	if (!rc && a->mbs_given)
		rc = model_config_set_max_batch_size(c, a->mbs, err);
	if (!rc && on)
		rc = model_config_set_dynamic_batching(c, pref, n_pref, delay, err);
	return rc;
}

/* One instance group of a->instances, of the first group's kind and GPUs. */
static int apply_instances(const struct ask *a, struct model_config *c, struct it_error *err)
{
	enum instance_kind kind = INSTANCE_KIND_AUTO;
	int32_t gpus[64];
	size_t n_gpus = 0;

	if (c->n_instance_groups) {
		kind = c->instance_groups[0].kind;
		for (; n_gpus < c->instance_groups[0].n_gpus && n_gpus < 64; n_gpus++)
			gpus[n_gpus] = c->instance_groups[0].gpus[n_gpus];
	}
	return model_config_set_instance_group(c, kind, a->instances, gpus, n_gpus, err);
}

/* The asked configuration: the model's default with the flags' edits. */
static int build_config(const struct ask *a, const struct observation_set *set,
			struct model_config **out)
{
	struct model_config *c = NULL;
	struct it_error err = { 0 };
	int32_t mbs = a->mbs_given ? a->mbs : set->base->max_batch_size;
	int status = check_config(a, set->base, mbs);
	int rc = 0;

	if (status)
		return status;
	if (a->threads && !set->threads_dim)
		return cmd_usage_error("predict", "--threads: no configuration of '%s' in results.db "
				       "sets intra-op threads, so the fit knows only its default",
				       set->model);
	c = model_config_clone(set->base);
	rc = apply_batching(a, c, &err);
	if (!rc && a->instances)
		rc = apply_instances(a, c, &err);
	if (!rc && a->threads) {
		char v[16];

		snprintf(v, sizeof(v), "%d", a->threads);
		rc = model_config_set_parameter(c, "INTRA_OP_THREAD_COUNT", v, &err);
	}
	if (rc) {
		model_config_free(c);
		return cmd_usage_error("predict", "the configuration asked: %s", err.message);
	}
	*out = c;
	return EXIT_OK;
}

/* ---- predicting ------------------------------------------------------------ */

/* The loads of the flags; an exit status. *out is the caller's to free. */
static int build_loads(const struct ask *a, struct level **out, size_t *n)
{
	const struct profile_options *o = &a->load;
	bool rate = a->rate_given;
	double start = rate ? o->rate_start : (double)o->concurrency_start;
	double end = rate ? o->rate_end : (double)o->concurrency_end;
	double step = rate ? o->rate_step : (double)o->concurrency_step;
	const char *flag = rate ? "--request-rate-range" : "--concurrency-range";
	double levels = floor((end - start) / step + 1e-9) + 1;
	struct level *ls;

	if (!rate && end > DES_MAX_CONCURRENCY)
		return cmd_usage_error("predict", "%s: at most %.0f clients", flag,
				       DES_MAX_CONCURRENCY);
	if (rate && (start < 1 / 3600.0 || end > DES_MAX_RATE))
		return cmd_usage_error("predict", "%s: a rate from one per hour to %g/s", flag,
				       DES_MAX_RATE);
	if (levels > PREDICT_MAX_LEVELS)
		return cmd_usage_error("predict", "%s gives %.0f loads; predict takes at most %d "
				       "(a larger step)", flag, levels, PREDICT_MAX_LEVELS);
	ls = xcalloc((size_t)levels, sizeof(*ls));
	for (size_t i = 0; i < (size_t)levels; i++) {
		ls[i].load.kind = rate ? DES_REQUEST_RATE : DES_CONCURRENCY;
		ls[i].load.value = start + (double)i * step;
		ls[i].load.poisson = o->distribution == PROFILE_POISSON;
		ls[i].load.request_batch = o->batch_size;
		ls[i].measured = -1;
	}
	*out = ls;
	*n = (size_t)levels;
	return EXIT_OK;
}

/* Predicts every level; an exit status. */
static int predict_levels(const struct predict_fit *fit,
			  const struct observation_set *set, struct observation *asked,
			  struct level *ls, size_t n)
{
	struct des_config c = asked->o.config;

	c.preferred = asked->preferred ? &asked->preferred : NULL;
	for (size_t i = 0; i < n; i++) {
		struct it_error err = { 0 };
		int rc = predict_run(fit, &c, asked->o.threads, &ls[i].load, 0, &ls[i].r, &err);

		if (rc == IT_ERR_NOT_FOUND)
			return cmd_usage_error("predict", "--threads %d: %s", asked->o.threads,
					       err.message);
		if (rc) {
			fprintf(stderr, "infertune predict: %s %g: %s\n",
				ls[i].load.kind == DES_CONCURRENCY ? "concurrency" : "request rate",
				ls[i].load.value, err.message);
			return cmd_exit_code(rc);
		}
		ls[i].measured = observation_set_find(set, asked, &ls[i].load);
	}
	return EXIT_OK;
}

/* The highest rate within --latency-budget; an exit status. */
static int predict_capacity(const struct ask *a, const struct predict_fit *fit,
			    const struct observation *asked, struct capacity_predicted *out)
{
	struct des_config c = asked->o.config;
	struct it_error err = { 0 };
	int rc;

	c.preferred = asked->preferred ? &asked->preferred : NULL;
	rc = capacity_predicted_of(fit, &c, asked->o.threads, a->budget_ms, a->load.batch_size,
				   out, &err);
	if (rc == IT_ERR_NOT_FOUND)
		return cmd_usage_error("predict", "--threads %d: %s", asked->o.threads, err.message);
	if (rc) {
		fprintf(stderr, "infertune predict: --latency-budget %g: %s\n", a->budget_ms,
			err.message);
		return cmd_exit_code(rc);
	}
	return EXIT_OK;
}

/* ---- output ---------------------------------------------------------------------- */

/* "instance_count 2, max_batch_size 8, dynamic_batching { ... }, INTRA_OP_THREAD_COUNT 2". */
static void describe_config(const struct model_config *c, bool threads_dim, struct strbuf *sb)
{
	const struct model_dynamic_batching *db = &c->dynamic_batching;
	int32_t n = 0;

	for (size_t i = 0; i < c->n_instance_groups; i++)
		n += c->instance_groups[i].count;
	strbuf_addf(sb, "instance_count %d, max_batch_size %d, ", n ? n : 1, c->max_batch_size);
	if (!c->has_dynamic_batching || c->max_batch_size <= 0) {
		strbuf_adds(sb, "no dynamic_batching");
	} else {
		strbuf_adds(sb, "dynamic_batching {");
		if (db->n_preferred_batch_size) {
			strbuf_adds(sb, " preferred_batch_size [");
			for (size_t i = 0; i < db->n_preferred_batch_size; i++)
				strbuf_addf(sb, "%s%d", i ? ", " : "", db->preferred_batch_size[i]);
			strbuf_adds(sb, "]");
		}
		strbuf_addf(sb, " max_queue_delay_microseconds %llu }",
			    (unsigned long long)db->max_queue_delay_us);
	}
	if (threads_dim)
		strbuf_addf(sb, ", intra-op threads %d", model_config_intra_op_threads(c));
}

/* The measured server compute per request (the three phases), ms; NAN unknown. */
static double measured_compute_ms(const struct figures *f)
{
	if (!figures_has(f, FIG_SERVER_COMPUTE_INFER))
		return NAN;
	return figures_get(f, FIG_SERVER_COMPUTE_INPUT, 0) + f->v[FIG_SERVER_COMPUTE_INFER] +
	       figures_get(f, FIG_SERVER_COMPUTE_OUTPUT, 0);
}

/* The figures of a row, ms and infer/s: predicted (f NULL) or measured. */
struct row {
	double throughput, avg, p50, p90, p95, p99, queue, compute, batch;
};

static void row_predicted(const struct des_result *r, struct row *out)
{
	*out = (struct row){ r->throughput, r->latency_avg_us / 1e3, r->p50_us / 1e3,
			     r->p90_us / 1e3, r->p95_us / 1e3, r->p99_us / 1e3,
			     r->queue_avg_us / 1e3, r->compute_avg_us / 1e3, r->avg_batch };
}

static void row_measured(const struct figures *f, struct row *out)
{
	*out = (struct row){
		figures_get(f, FIG_THROUGHPUT, NAN), figures_get(f, FIG_LATENCY_AVG, NAN),
		figures_get(f, FIG_LATENCY_P50, NAN), figures_get(f, FIG_LATENCY_P90, NAN),
		figures_get(f, FIG_LATENCY_P95, NAN), figures_get(f, FIG_LATENCY_P99, NAN),
		figures_get(f, FIG_SERVER_QUEUE, NAN), measured_compute_ms(f),
		figures_get(f, FIG_SERVER_AVG_BATCH, NAN)
	};
}

/* "%8.2f" or a dash for an unknown figure. */
static void text_cell(double v, int width, int decimals)
{
	if (isfinite(v))
		printf(" %*.*f", width, decimals, v);
	else
		printf(" %*s", width, "-");
}

static void text_row(const char *load, const char *what, const struct row *r, bool saturated,
		     const char *tail)
{
	printf("%12s  %-9s", load, what);
	text_cell(r->throughput, 10, 1);
	if (saturated) {
		printf("  %-62s", "saturated: above capacity, the queue grows without bound");
	} else {
		const double lat[] = { r->avg, r->p50, r->p90, r->p95, r->p99, r->queue, r->compute };

		for (size_t i = 0; i < sizeof(lat) / sizeof(lat[0]); i++)
			text_cell(lat[i], 8, 2);
	}
	text_cell(r->batch, 6, 2);
	printf("  %s\n", tail);
}

/*
 * The capacity lines: the highest rate within the budget (or none, and by
 * how much the lightest rate misses it), and the servers a target needs.
 */
static void text_capacity(const struct ask *a, const struct capacity_predicted *p)
{
	struct strbuf sb;

	strbuf_init(&sb, 0);
	capacity_predicted_phrase(p, a->load.batch_size, 0, &sb);
	printf("Highest rate within p99 <= %g ms at constant intervals, PREDICTED (not measured): "
	       "%s", a->budget_ms, sb.buf);
	if (p->rate > 0)
		printf("; p99 %.2f ms there.\n", p->p99_ms);
	else
		printf("; %.2f ms over the budget.\n", p->p99_ms - a->budget_ms);
	if (a->target_rate > 0) {
		strbuf_setlen(&sb, 0);
		capacity_predicted_target(p, a->budget_ms, a->target_rate, a->load.batch_size,
					  "this configuration", &sb);
		printf("%s", sb.buf);
	}
	strbuf_release(&sb);
}

static void print_text(const struct ask *a, const char *db_path,
		       const struct observation_set *set, const struct predict_fit *fit,
		       const struct model_config *asked, const struct observation *ob,
		       const struct level *ls, size_t n, const struct capacity_predicted *cap)
{
	struct strbuf sb;
	char model[512], pct[16];
	bool rate = n && ls[0].load.kind == DES_REQUEST_RATE, extrapolated = false;

	strbuf_init(&sb, 0);
	describe_config(asked, set->threads_dim, &sb);
	predict_fit_describe(fit, model, sizeof(model));
	snprintf(pct, sizeof(pct), "±%.0f%%", predict_fit_uncertainty(fit) * 100);
	printf("PREDICTION (not measured) for model %s, request batch %lld%s\n", set->model,
	       (long long)a->load.batch_size, rate ? a->load.distribution == PROFILE_POISSON ?
	       ", Poisson arrivals" : ", constant intervals" : "");
	printf("configuration: %s\n", sb.buf);
	printf("fitted to %zu measured level%s of %zu configuration%s in %s: %s\n", set->n_obs,
	       set->n_obs == 1 ? "" : "s", set->n_measured_configs,
	       set->n_measured_configs == 1 ? "" : "s", db_path, model);
	if (asked->dynamic_batching.n_preferred_batch_size > 1)
		printf("note: the simulator batches to the largest preferred_batch_size, %d\n",
		       ob->preferred);
	if (!n)
		goto out;
	printf("\n%12s  %-9s %10s %8s %8s %8s %8s %8s %8s %8s %6s  %s\n", rate ? "Request rate" :
	       "Concurrency", "", "infer/s", "avg ms", "p50 ms", "p90 ms", "p95 ms", "p99 ms",
	       "queue ms", "comp. ms", "batch", "note");
	for (size_t i = 0; i < n; i++) {
		char load[32], as[300];
		struct row r;

		snprintf(load, sizeof(load), "%g", ls[i].load.value);
		row_predicted(&ls[i].r.des, &r);
		if (ls[i].r.extrapolated[0]) {
			snprintf(as, sizeof(as), "EXTRAPOLATED: %s", ls[i].r.extrapolated);
			extrapolated = true;
		}
		text_row(load, "predicted", &r, ls[i].r.des.saturated,
			 ls[i].r.extrapolated[0] ? as : pct);
		if (ls[i].measured >= 0) {
			row_measured(&set->fig[ls[i].measured], &r);
			snprintf(as, sizeof(as), "as %s",
				 set->configs[set->config_of[ls[i].measured]].name);
			text_row("", "measured", &r, false, as);
		}
	}
	printf("\nEach predicted figure is %s: twice the fit's RMS throughput miss on the levels "
	       "it was fitted to.\n", pct);
	if (extrapolated)
		printf("EXTRAPOLATED rows lie beyond what was measured: the model's guess, which "
		       "that bound does not cover; measure such a configuration to know.\n");
out:
	if (cap->has) {
		printf("\n");
		text_capacity(a, cap);
	}
	strbuf_release(&sb);
}

/* A CSV cell: latencies in usec as perf_analyzer writes them; empty when unknown. */
static void csv_cell(double v, double scale, int decimals)
{
	putchar(',');
	if (isfinite(v))
		printf("%.*f", decimals, v * scale);
}

static void csv_row(double load, const struct row *r, const char *saturated,
		    const char *prediction, double u, const char *extrapolated)
{
	const double lat[] = { r->avg, r->p50, r->p90, r->p95, r->p99, r->queue, r->compute };

	printf("%g,%.2f", load, r->throughput);
	for (size_t i = 0; i < sizeof(lat) / sizeof(lat[0]); i++)
		csv_cell(lat[i], 1e3, 0);
	csv_cell(r->batch, 1, 3);
	printf(",%s,%s", saturated, prediction);
	csv_cell(u, 100, 1);
	/* The reasons hold commas, never quotes. */
	printf(extrapolated[0] ? ",\"%s\"\n" : ",%s\n", extrapolated);
}

/* With --latency-budget: one row, the capacity CSV's column names where it has the figure. */
static void print_csv_capacity(const struct ask *a, const struct capacity_predicted *p)
{
	int64_t batch = a->load.batch_size > 1 ? a->load.batch_size : 1;
	uint64_t servers = capacity_servers(a->target_rate * (double)batch, p->rate);

	printf("Batch,Latency Budget (ms),Predicted Sustained Rate (infer/sec),p99 Latency (ms),"
	       "At Rate (infer/sec),Target Rate (infer/sec),Servers For Target,Prediction,"
	       "Uncertainty %%\n");
	printf("%lld,%.9g,", (long long)batch, a->budget_ms);
	if (p->rate > 0)
		printf("%.2f", p->rate);
	printf(",%.2f,%.2f,", p->p99_ms, p->rate > 0 ? p->rate : p->lightest);
	if (a->target_rate > 0)
		printf("%.2f", a->target_rate * (double)batch);
	putchar(',');
	if (servers)
		printf("%llu", (unsigned long long)servers);
	printf(",Yes,%.1f\n", p->rel_uncertainty * 100);
}

static void print_csv(const struct observation_set *set, const struct predict_fit *fit,
		      const struct level *ls, size_t n)
{
	printf("%s,Inferences/Second,Avg latency,p50 latency,p90 latency,p95 latency,"
	       "p99 latency,Server Queue,Server Compute,Avg Batch,Saturated,Prediction,"
	       "Uncertainty %%,Extrapolated\n", ls[0].load.kind == DES_REQUEST_RATE ? "Request Rate" :
	       "Concurrency");
	for (size_t i = 0; i < n; i++) {
		struct row r;

		row_predicted(&ls[i].r.des, &r);
		if (ls[i].r.des.saturated)
			r.avg = r.p50 = r.p90 = r.p95 = r.p99 = r.queue = r.compute = NAN;
		csv_row(ls[i].load.value, &r, ls[i].r.des.saturated ? "Yes" : "No", "Yes",
			predict_fit_uncertainty(fit), ls[i].r.extrapolated);
		if (ls[i].measured >= 0) {
			row_measured(&set->fig[ls[i].measured], &r);
			csv_row(ls[i].load.value, &r, "", "No", NAN, "");
		}
	}
}

/* A JSON number, or null when unknown. */
static json_t *json_num(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

static json_t *json_row(const struct row *r)
{
	return json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}",
			 "throughput", json_num(r->throughput), "latency_avg_ms", json_num(r->avg),
			 "latency_p50_ms", json_num(r->p50), "latency_p90_ms", json_num(r->p90),
			 "latency_p95_ms", json_num(r->p95), "latency_p99_ms", json_num(r->p99),
			 "server_queue_ms", json_num(r->queue),
			 "server_compute_ms", json_num(r->compute),
			 "server_avg_batch", json_num(r->batch));
}

static json_t *json_config(const struct model_config *c, const struct observation *asked)
{
	json_t *pref = json_array();

	for (size_t i = 0; i < c->dynamic_batching.n_preferred_batch_size; i++)
		json_array_append_new(pref, json_integer(c->dynamic_batching.preferred_batch_size[i]));
	return json_pack("{s:i,s:i,s:b,s:I,s:o,s:i}",
			 "instance_count", asked->o.config.instances,
			 "max_batch_size", (int)asked->o.config.max_batch_size,
			 "dynamic_batching", asked->o.config.dynamic_batching,
			 "max_queue_delay_us", (json_int_t)asked->o.config.max_queue_delay_us,
			 "preferred_batch_size", pref, "threads", asked->o.threads);
}

/* The capacity object: rates in infer/s (requests/s × the request batch), null when none. */
static json_t *json_capacity(const struct ask *a, const struct capacity_predicted *p)
{
	int64_t batch = a->load.batch_size > 1 ? a->load.batch_size : 1;
	double target = a->target_rate * (double)batch;
	uint64_t servers = capacity_servers(target, p->rate);

	if (!p->has)
		return json_null();
	return json_pack("{s:f,s:s,s:o,s:b,s:f,s:f,s:f,s:o,s:o}",
			 "latency_budget_ms", a->budget_ms, "request_distribution", "constant",
			 "sustained_rate", json_num(p->rate > 0 ? p->rate : NAN),
			 "within_budget", p->rate > 0, "latency_p99_ms", p->p99_ms,
			 "at_rate", p->rate > 0 ? p->rate : p->lightest,
			 "rel_uncertainty", p->rel_uncertainty,
			 "target_rate", json_num(a->target_rate > 0 ? target : NAN),
			 "servers", a->target_rate > 0 && servers ?
			 json_integer((json_int_t)servers) : json_null());
}

static void print_json(const struct ask *a, const char *db_path,
		       const struct observation_set *set, const struct predict_fit *fit,
		       const struct model_config *asked_cfg, const struct observation *asked,
		       const struct level *ls, size_t n, const struct capacity_predicted *cap)
{
	char model[512];
	json_t *levels = json_array(), *root;
	char *text;

	predict_fit_describe(fit, model, sizeof(model));
	for (size_t i = 0; i < n; i++) {
		struct row r;
		json_t *measured = NULL, *lv;

		row_predicted(&ls[i].r.des, &r);
		if (ls[i].r.des.saturated)
			r.avg = r.p50 = r.p90 = r.p95 = r.p99 = r.queue = r.compute = NAN;
		if (ls[i].measured >= 0) {
			struct row m;

			row_measured(&set->fig[ls[i].measured], &m);
			measured = json_row(&m);
			json_object_set_new(measured, "variant", json_string(
				set->configs[set->config_of[ls[i].measured]].name));
			json_object_set_new(measured, "measurement_id", json_integer(
				set->obs[ls[i].measured].measurement_id));
		}
		lv = json_pack("{s:s,s:f,s:o,s:b,s:f,s:o,s:o}", "load_kind",
			       ls[i].load.kind == DES_CONCURRENCY ? "concurrency" : "request_rate",
			       "load_value", ls[i].load.value, "predicted", json_row(&r),
			       "saturated", ls[i].r.des.saturated, "rel_uncertainty",
			       ls[i].r.rel_uncertainty, "extrapolated", ls[i].r.extrapolated[0] ?
			       json_string(ls[i].r.extrapolated) : json_null(), "measured",
			       measured ? measured : json_null());
		json_array_append_new(levels, lv);
	}
	root = json_pack("{s:b,s:s,s:s,s:o,s:I,s:b,s:{s:I,s:I,s:f,s:s},s:o,s:o}",
			 "prediction", 1, "results", db_path, "model", set->model,
			 "configuration", json_config(asked_cfg, asked),
			 "batch_size", (json_int_t)a->load.batch_size,
			 "poisson", a->load.distribution == PROFILE_POISSON,
			 "fit", "measured_levels", (json_int_t)set->n_obs,
			 "configurations", (json_int_t)set->n_measured_configs,
			 "rel_uncertainty", predict_fit_uncertainty(fit), "model", model,
			 "levels", levels, "capacity", json_capacity(a, cap));
	text = json_dumps(root, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
	printf("%s\n", text);
	free(text);
	json_decref(root);
}

/* ---- the command ------------------------------------------------------------- */

/* DIR/results.db or FILE, opened; an exit status. */
static int open_results(const struct ask *a, char **path, struct store **s)
{
	struct it_error err = { 0 };
	const char *dir = a->export_path ? a->export_path : ".";

	*path = a->results ? xstrdup(a->results) : fs_join(dir, "results.db");
	if (!fs_is_file(*path)) {
		if (a->results)
			return cmd_usage_error("predict", "--results %s: no such file", *path);
		return cmd_usage_error("predict", "%s: no results.db (run `infertune analyze -e %s` "
				       "first, or give --results FILE)", *path, dir);
	}
	if (store_open_readonly(*path, s, &err))
		return cmd_usage_error("predict", "%s", err.message);
	return EXIT_OK;
}

int cmd_predict(int argc, char **argv)
{
	struct ask a;
	struct observation_set set;
	struct observation asked;
	struct model_config *cfg = NULL;
	struct predict_fit *fit = NULL;
	struct store *s = NULL;
	struct level *ls = NULL;
	struct capacity_predicted cap;
	struct it_error err = { 0 };
	size_t n = 0;
	char *path = NULL;
	int status;

	memset(&set, 0, sizeof(set));
	memset(&asked, 0, sizeof(asked));
	memset(&cap, 0, sizeof(cap));
	status = parse_args(argc, argv, &a);
	if (status)
		goto out;
	status = open_results(&a, &path, &s);
	if (status)
		goto out;
	if (observation_set_read(s, a.model, &set, &err)) {
		status = cmd_usage_error("predict", "%s", err.message);
		goto out;
	}
	status = build_config(&a, &set, &cfg);
	/* With a budget, the default load (concurrency 1) gives way to the capacity. */
	if (!status && (!(a.budget_ms > 0) || a.concurrency_given || a.rate_given))
		status = build_loads(&a, &ls, &n);
	if (status)
		goto out;
	observation_config(cfg, set.threads_dim, &asked);
	if (observation_set_fit(&set, asked.o.config.max_batch_size, &fit, &err)) {
		status = cmd_usage_error("predict", "%s", err.message);
		goto out;
	}
	status = predict_levels(fit, &set, &asked, ls, n);
	if (!status && a.budget_ms > 0)
		status = predict_capacity(&a, fit, &asked, &cap);
	if (status)
		goto out;
	if (a.format == FORMAT_CSV && cap.has)
		print_csv_capacity(&a, &cap);
	else if (a.format == FORMAT_CSV)
		print_csv(&set, fit, ls, n);
	else if (a.format == FORMAT_JSON)
		print_json(&a, path, &set, fit, cfg, &asked, ls, n, &cap);
	else
		print_text(&a, path, &set, fit, cfg, &asked, ls, n, &cap);
out:
	free(ls);
	predict_fit_free(fit);
	model_config_free(cfg);
	observation_set_release(&set);
	store_close(s);
	free(path);
	perf_settings_release(&a.load.settings);
	return status < 0 ? EXIT_OK : status;
}
