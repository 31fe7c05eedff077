/*
 * The perf_analyzer option table and the one reader behind every door
 * (`profile`'s argv, analyze's --perf-analyzer-flag and YAML), so a flag has
 * one name, one bound and one error message wherever it is given.
 */
#include "loadgen/options.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loadgen/profiler.h"
#include "loadgen/range.h"
#include "stats/stability.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/parse.h"
#include "util/strbuf.h"
#include "util/xalloc.h"
#include "util/banned.h"

/* A row's identity: long name (or NULL), short flag (or 0), doors, kind. */
#define OPT(long_name, short_flag_, doors_, kind_) .name = long_name, \
	.short_flag = short_flag_, .doors = doors_, .kind = kind_

/* Target fields: SET(f) in struct perf_settings, RUN(f) in struct profile_options. */
#define FIELD_SIZE(type, f) sizeof(((struct type *)0)->f)
#define SET(f) .in_settings = true, .at = offsetof(struct perf_settings, f), \
	.size = FIELD_SIZE(perf_settings, f)
#define RUN(f) .at = offsetof(struct profile_options, f), \
	.size = FIELD_SIZE(profile_options, f)
#define GIVEN(f) .given_at = 1 + offsetof(struct perf_settings, f)
#define BOTH (PROFILE_DOOR_ARGV | PROFILE_DOOR_ANALYZE)

static const struct profile_option_choice http_choices[] = {
	{ "http", 0 }, { "HTTP", 0 }, { NULL, 0 },
};
static const struct profile_option_choice service_kinds[] = {
	{ "triton", 0 }, { NULL, 0 },
};
static const struct profile_option_choice distributions[] = {
	{ "constant", PROFILE_CONSTANT }, { "poisson", PROFILE_POISSON }, { NULL, 0 },
};
static const struct profile_option_choice http_clients[] = {
	{ "auto", LOADGEN_HTTP_AUTO }, { "h1", LOADGEN_HTTP_H1 },
	{ "libcurl", LOADGEN_HTTP_LIBCURL }, { NULL, 0 },
};
static const struct profile_option_choice window_modes[] = {
	{ "time_windows", PROFILE_TIME_WINDOWS },
	{ "count_windows", PROFILE_COUNT_WINDOWS }, { NULL, 0 },
};
static const struct profile_option_choice tensor_formats[] = {
	{ "binary", 0 }, { "json", 1 }, { NULL, 0 },
};

/*
 * Bounds are perf_analyzer's where it checks them, and where it does not,
 * the ones that keep a value meaningful (a window of 0 ms, 0 threads).
 */
const struct profile_option profile_option_table[] = {
	{ OPT(NULL, 'm', PROFILE_DOOR_ARGV, PROFILE_OPT_STRING),
	  RUN(model_name), .section = "Model and server", .metavar = "MODEL",
	  .help = "model name (required)" },
	{ OPT(NULL, 'x', PROFILE_DOOR_ARGV, PROFILE_OPT_STRING),
	  RUN(model_version), .metavar = "VERSION",
	  .help = "model version (default: the server's choice)" },
	{ OPT(NULL, 'u', PROFILE_DOOR_ARGV, PROFILE_OPT_STRING),
	  RUN(url), .def_str = "localhost:8000", .metavar = "URL",
	  .help = "server (default localhost:8000)" },
	{ OPT(NULL, 'i', PROFILE_DOOR_ARGV, PROFILE_OPT_CHOICE),
	  .choices = http_choices,
	  .refusal = "only the HTTP protocol is supported (gRPC is not)",
	  .metavar = "http", .help = "protocol; only http is supported" },
	{ OPT(NULL, 'b', PROFILE_DOOR_ARGV, PROFILE_OPT_U64),
	  RUN(batch_size), .min_u64 = 1, .max_u64 = INT32_MAX, .def_u64 = 1,
	  .metavar = "N", .help = "batch size (default 1)" },

	{ OPT("concurrency-range", 0, PROFILE_DOOR_ARGV, PROFILE_OPT_RANGE_U64),
	  RUN(concurrency_start), .section = "Load", .metavar = "S[:E[:T]]",
	  .help = "closed loop: exactly N requests in flight for\n"
		  "N = S, S+T, ... E (default 1:1:1; E 0 = until -l)" },
	{ OPT("request-rate-range", 0, PROFILE_DOOR_ARGV, PROFILE_OPT_RANGE_F64),
	  RUN(rate_start), .metavar = "S[:E[:T]]",
	  .help = "open loop: requests per second; latency counts\n"
		  "from the scheduled send time" },
	{ OPT("request-distribution", 0, BOTH, PROFILE_OPT_CHOICE), SET(distribution),
	  .choices = distributions, .def_u64 = PROFILE_CONSTANT, .metavar = "D",
	  .help = "constant (default) or poisson (seeded, pre-generated)" },
	{ OPT("request-intervals", 0, PROFILE_DOOR_ARGV, PROFILE_OPT_STRING),
	  RUN(request_intervals_file), .metavar = "FILE",
	  .help = "open loop on these gaps (microseconds, one per line)" },
	{ OPT("max-threads", 0, BOTH, PROFILE_OPT_U64), SET(max_threads),
	  .min_u64 = 1, .max_u64 = 1024, .metavar = "N",
	  .help = "load threads (default 16, 4 for rates; at most CPUs)" },
	{ OPT("seed", 0, BOTH, PROFILE_OPT_U64), SET(seed), .max_u64 = UINT64_MAX,
	  .metavar = "N",
	  .help = "seed of the Poisson schedule and random data (default 0)" },
	{ OPT("http-client", 0, BOTH, PROFILE_OPT_CHOICE), SET(http_client),
	  .choices = http_clients, .def_u64 = LOADGEN_HTTP_AUTO, .metavar = "C",
	  .help = "auto (default), h1 or libcurl: h1 writes each request\n"
		  "and reads its HTTP/1.1 response itself over a socket\n"
		  "libcurl connected (plain http); libcurl does all of\n"
		  "HTTP (https too) at about twice the client CPU" },

	{ OPT("measurement-interval", 'p', BOTH, PROFILE_OPT_U64),
	  SET(measurement_interval_ms), .min_u64 = 1, .max_u64 = UINT32_MAX,
	  .def_u64 = 5000, .unit = "msec", .section = "Measurement", .metavar = "MS",
	  .help = "time window length (default 5000)" },
	{ OPT("measurement-mode", 0, BOTH, PROFILE_OPT_CHOICE), SET(window_mode),
	  .choices = window_modes, .def_u64 = PROFILE_TIME_WINDOWS, .metavar = "M",
	  .help = "time_windows (default) or count_windows" },
	{ OPT("measurement-request-count", 0, BOTH, PROFILE_OPT_U64),
	  SET(measurement_request_count), .min_u64 = 1, .max_u64 = UINT32_MAX,
	  .def_u64 = 50, .metavar = "N",
	  .help = "requests per count window (default 50)" },
	{ OPT("stability-percentage", 's', BOTH, PROFILE_OPT_DOUBLE),
	  SET(stability_percentage), .def_f64 = 10, .metavar = "P",
	  .help = "last 3 windows within P% (default 10)" },
	/*
	 * perf_analyzer takes any -r, but it judges stability over the last 3
	 * windows (STABILITY_WINDOWS), so with -r 1 or 2 every level fails "not
	 * stable" after measuring for nothing; infertune has no --request-count
	 * mode that would skip the rule. Refused at the flag, in every door.
	 */
	{ OPT("max-trials", 'r', BOTH, PROFILE_OPT_U64), SET(max_trials),
	  .min_u64 = STABILITY_WINDOWS, .max_u64 = 1000000, .def_u64 = 10,
	  .metavar = "N", .help = "windows at most per level (default 10)" },
	/*
	 * Precision mode (docs/statistics.md, "Windows and precision"): not
	 * perf_analyzer's, so analyze takes them as its own --precision and
	 * --min-windows, not as --perf-analyzer-flag.
	 */
	{ OPT("precision", 0, PROFILE_DOOR_ARGV | PROFILE_DOOR_ANALYZE_OWN,
	      PROFILE_OPT_PERCENT),
	  SET(precision_pct), .metavar = "PCT",
	  .help = "precision mode: measure windows until the 95% intervals\n"
		  "of throughput and latency are within +-PCT% (at least\n"
		  "--min-windows, at most -r); default off: -s's rule" },
	{ OPT("min-windows", 0, PROFILE_DOOR_ARGV | PROFILE_DOOR_ANALYZE_OWN,
	      PROFILE_OPT_U64),
	  SET(min_windows), .min_u64 = 2, .max_u64 = 1000000, .def_u64 = 3,
	  .metavar = "N", .help = "precision mode: windows at least per level (default 3)" },
	{ OPT("percentile", 0, BOTH, PROFILE_OPT_U64), SET(percentile), .min_u64 = 1,
	  .max_u64 = 99, .metavar = "N",
	  .help = "also report pN and stabilise on it (1-99)" },
	{ OPT("latency-threshold", 'l', BOTH, PROFILE_OPT_U64), SET(latency_threshold_ms),
	  .max_u64 = UINT32_MAX, .unit = "msec", .metavar = "MS",
	  .help = "stop the sweep at this latency (default 0 = none)" },
	{ OPT("warmup-request-count", 0, BOTH, PROFILE_OPT_U64),
	  SET(warmup_request_count), GIVEN(warmup_given), .max_u64 = UINT32_MAX,
	  .metavar = "N", .help = "requests sent before measuring (default 0)" },
	{ OPT("early-stop", 0, PROFILE_DOOR_ARGV, PROFILE_OPT_CONFIDENCE),
	  RUN(early_stop_confidence), .metavar = "C",
	  .help = "LoadGen's early-stopping estimate of the percentile\n"
		  "(--percentile, default 99) at confidence C (0.99 or 99)" },
	{ OPT("max-error-percentage", 0, BOTH, PROFILE_OPT_DOUBLE),
	  SET(max_error_percentage), .max_f64 = 100, .metavar = "P",
	  .help = "failed requests a window may have (default 0:\n"
		  "any error fails the measurement)" },

	{ OPT("shape", 0, BOTH, PROFILE_OPT_SHAPE), SET(shapes),
	  .section = "Input data", .metavar = "NAME:D1,D2,...",
	  .help = "shape of an input with variable dimensions\n"
		  "(without the batch dimension; repeatable)" },
	{ OPT("input-data", 0, BOTH, PROFILE_OPT_INPUT_DATA), SET(input_data),
	  .def_u64 = INPUT_DATA_RANDOM, .metavar = "zero|random|FILE",
	  .help = "tensor data (default random); FILE in\n"
		  "perf_analyzer's JSON format" },
	{ OPT("string-length", 0, BOTH, PROFILE_OPT_U64), SET(string_length),
	  .min_u64 = 1, .max_u64 = 1 << 30, .def_u64 = 128, .metavar = "N",
	  .help = "length of generated BYTES elements (default 128)" },
	{ OPT("input-tensor-format", 0, BOTH, PROFILE_OPT_CHOICE), SET(input_json),
	  .choices = tensor_formats, .metavar = "F",
	  .help = "binary (default) or json" },
	{ OPT("output-tensor-format", 0, BOTH, PROFILE_OPT_CHOICE), SET(output_json),
	  .choices = tensor_formats, .metavar = "F",
	  .help = "binary (default) or json" },

	{ OPT(NULL, 'f', PROFILE_DOOR_ARGV, PROFILE_OPT_FRONT_END),
	  .section = "Output", .metavar = "FILE", .help = "write perf_analyzer's CSV" },
	{ OPT("verbose-csv", 0, PROFILE_DOOR_ARGV, PROFILE_OPT_FRONT_END),
	  .help = "add its verbose columns" },
	{ OPT("collect-metrics", 0, PROFILE_DOOR_ARGV, PROFILE_OPT_FLAG),
	  RUN(collect_metrics), .help = "sample the server's Prometheus page" },
	{ OPT("metrics-url", 0, PROFILE_DOOR_ARGV, PROFILE_OPT_STRING), RUN(metrics_url),
	  .metavar = "URL", .help = "(default: host of -u, port 8002, /metrics)" },
	{ OPT("metrics-interval", 0, BOTH, PROFILE_OPT_U64), SET(metrics_interval_ms),
	  .min_u64 = 1, .max_u64 = UINT32_MAX, .def_u64 = 1000, .unit = "msec",
	  .metavar = "MS", .help = "(default 1000)" },
	{ OPT(NULL, 'v', PROFILE_DOOR_ARGV, PROFILE_OPT_FRONT_END),
	  .help = "print every measurement window" },

	/* Accepted for perf_analyzer's scripts, not listed. */
	{ OPT("async", 'a', PROFILE_DOOR_ARGV, PROFILE_OPT_FLAG) },
	{ OPT("sync", 0, PROFILE_DOOR_ARGV, PROFILE_OPT_FLAG) },
	{ OPT("service-kind", 0, PROFILE_DOOR_ARGV, PROFILE_OPT_CHOICE),
	  .choices = service_kinds,
	  .refusal = "only 'triton' (KServe v2 HTTP) is supported" },
	{ OPT("help", 'h', PROFILE_DOOR_ARGV, PROFILE_OPT_FRONT_END) },
	{ .doors = 0 },
};

const struct profile_option *profile_option_find(const char *name)
{
	for (const struct profile_option *o = profile_option_table; o->doors; o++) {
		if (o->name && !strcmp(o->name, name))
			return o;
		if (o->short_flag && name[0] == o->short_flag && !name[1])
			return o;
	}
	return NULL;
}

const struct profile_option *profile_option_find_short(int c)
{
	for (const struct profile_option *o = profile_option_table; o->doors; o++) {
		if (o->short_flag && o->short_flag == c)
			return o;
	}
	return NULL;
}

const char *profile_option_flag(const struct profile_option *opt, char *buf,
				size_t size)
{
	if (opt->name)
		snprintf(buf, size, "--%s", opt->name);
	else
		snprintf(buf, size, "-%c", opt->short_flag);
	return buf;
}

/* ---- reading one value ---------------------------------------------------- */

/* Stores v into a whole-number or enum field of `size` bytes. */
static void store_uint(void *field, size_t size, uint64_t v)
{
	if (size == sizeof(uint64_t)) {
		memcpy(field, &v, sizeof(v));
	} else if (size == sizeof(uint32_t)) {
		uint32_t u = (uint32_t)v;

		memcpy(field, &u, sizeof(u));
	} else if (size == sizeof(bool)) {
		bool b = v != 0;

		memcpy(field, &b, sizeof(b));
	}
}

static int bad(const struct profile_option *opt, const char *value,
	       struct it_error *err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* "--flag 'value': why": the one error shape of every door. */
static int bad(const struct profile_option *opt, const char *value,
	       struct it_error *err, const char *fmt, ...)
{
	char flag[64];
	va_list ap;

	va_start(ap, fmt);
	it_error_setv(err, IT_ERR_INVALID, fmt, ap);
	va_end(ap);
	it_error_prefix(err, "%s '%s'", profile_option_flag(opt, flag, sizeof(flag)),
			value);
	return IT_ERR_INVALID;
}

static int read_u64(const struct profile_option *opt, void *field,
		    struct perf_settings *ps, const char *value, struct it_error *err)
{
	const char *of = opt->unit ? " of " : "", *unit = opt->unit ? opt->unit : "";
	uint64_t v;

	(void)ps;
	if (!parse_u64(value, opt->max_u64, &v) || v < opt->min_u64) {
		if (opt->max_u64 == UINT64_MAX)
			return bad(opt, value, err, "must be a whole number%s%s >= %llu",
				   of, unit, (unsigned long long)opt->min_u64);
		return bad(opt, value, err, "must be a whole number%s%s from %llu to %llu",
			   of, unit, (unsigned long long)opt->min_u64,
			   (unsigned long long)opt->max_u64);
	}
	store_uint(field, opt->size, v);
	return 0;
}

static int read_double(const struct profile_option *opt, void *field,
		       struct perf_settings *ps, const char *value, struct it_error *err)
{
	double d;

	(void)ps;
	if (!parse_double(value, &d) || d < opt->min_f64 ||
	    (opt->max_f64 && d > opt->max_f64)) {
		if (!opt->max_f64)
			return bad(opt, value, err, "must be a number >= %g", opt->min_f64);
		return bad(opt, value, err, "must be a number from %g to %g",
			   opt->min_f64, opt->max_f64);
	}
	memcpy(field, &d, sizeof(d));
	return 0;
}

/* --precision: a percentage above 0 (0 is the default's "off", never a value). */
static int read_percent(const struct profile_option *opt, void *field,
			struct perf_settings *ps, const char *value, struct it_error *err)
{
	double d;

	(void)ps;
	if (!parse_double(value, &d) || !(d > 0 && d <= 100))
		return bad(opt, value, err, "must be a percentage above 0 and at most 100");
	memcpy(field, &d, sizeof(d));
	return 0;
}

/* --early-stop: 0.99 or 99 (percent). */
static int read_confidence(const struct profile_option *opt, void *field,
			   struct perf_settings *ps, const char *value,
			   struct it_error *err)
{
	double d;

	(void)ps;
	if (!parse_double(value, &d) || !(d > 0 && d < 100) || d == 1)
		return bad(opt, value, err,
			   "the confidence must be in (0, 1) or (1, 100) %%");
	d = d > 1 ? d / 100 : d;
	memcpy(field, &d, sizeof(d));
	return 0;
}

static int read_choice(const struct profile_option *opt, void *field,
		       struct perf_settings *ps, const char *value, struct it_error *err)
{
	struct strbuf names;
	const struct profile_option_choice *c;
	size_t n = 0;

	(void)ps;
	for (c = opt->choices; c->name; c++, n++) {
		if (!strcmp(c->name, value)) {
			if (field)
				store_uint(field, opt->size, (uint64_t)c->value);
			return 0;
		}
	}
	if (opt->refusal)
		return bad(opt, value, err, "%s", opt->refusal);
	strbuf_init(&names, 0);
	for (size_t i = 0; i < n; i++)
		strbuf_addf(&names, "%s%s", i == 0 ? "" : i + 1 < n ? ", " : " or ",
			    opt->choices[i].name);
	bad(opt, value, err, "choose %s", names.buf);
	strbuf_release(&names);
	return IT_ERR_INVALID;
}

static int read_shape(const struct profile_option *opt, void *field,
		      struct perf_settings *ps, const char *value, struct it_error *err)
{
	struct input_shape sh;

	(void)opt, (void)field;
	if (input_shape_parse(value, &sh, err))
		return IT_ERR_INVALID;
	ps->shapes = xreallocarray(ps->shapes, ps->n_shapes + 1, sizeof(*ps->shapes));
	ps->shapes[ps->n_shapes++] = sh;
	return 0;
}

static int read_input_data(const struct profile_option *opt, void *field,
			   struct perf_settings *ps, const char *value,
			   struct it_error *err)
{
	enum input_data_kind kind;

	(void)field;
	if (!strcmp(value, "zero"))
		kind = INPUT_DATA_ZERO;
	else if (!strcmp(value, "random"))
		kind = INPUT_DATA_RANDOM;
	else if (fs_is_file(value))
		kind = INPUT_DATA_FILE;
	else if (fs_is_dir(value))
		return bad(opt, value, err,
			   "data directories are not supported; give a JSON file");
	else
		return bad(opt, value, err, "not 'zero', 'random' or a readable JSON file");
	free(ps->input_data_file);
	ps->input_data_file = kind == INPUT_DATA_FILE ? xstrdup(value) : NULL;
	ps->input_data = kind;
	return 0;
}

static int read_range(const struct profile_option *opt, void *field,
		      struct perf_settings *ps, const char *value, struct it_error *err)
{
	char flag[64];

	(void)ps;
	profile_option_flag(opt, flag, sizeof(flag));
	if (opt->kind == PROFILE_OPT_RANGE_U64) {
		struct range_u64 r;

		if (range_parse_u64(value, flag, &r, err))
			return IT_ERR_INVALID;
		memcpy(field, (uint64_t[3]){ r.start, r.end, r.step }, 3 * sizeof(uint64_t));
	} else {
		struct range_f64 r;

		if (range_parse_f64(value, flag, &r, err))
			return IT_ERR_INVALID;
		memcpy(field, (double[3]){ r.start, r.end, r.step }, 3 * sizeof(double));
	}
	return 0;
}

static int read_string(const struct profile_option *opt, void *field,
		       struct perf_settings *ps, const char *value, struct it_error *err)
{
	(void)opt, (void)ps, (void)err;
	memcpy(field, &value, sizeof(value));
	return 0;
}

static int read_flag(const struct profile_option *opt, void *field,
		     struct perf_settings *ps, const char *value, struct it_error *err)
{
	(void)ps, (void)value, (void)err;
	if (field)
		store_uint(field, opt->size, 1);
	return 0;
}

static int read_front_end(const struct profile_option *opt, void *field,
			  struct perf_settings *ps, const char *value,
			  struct it_error *err)
{
	char flag[64];

	(void)field, (void)ps, (void)value;
	return it_error_set(err, IT_ERR_INTERNAL, "%s is the front end's to read",
			    profile_option_flag(opt, flag, sizeof(flag)));
}

/*
 * One reader per kind. `field` is the row's target (NULL for a row without
 * one); `ps` the settings, for the kinds that own memory there.
 */
static int (*const readers[])(const struct profile_option *opt, void *field,
			      struct perf_settings *ps, const char *value,
			      struct it_error *err) = {
	[PROFILE_OPT_U64] = read_u64,
	[PROFILE_OPT_DOUBLE] = read_double,
	[PROFILE_OPT_PERCENT] = read_percent,
	[PROFILE_OPT_CONFIDENCE] = read_confidence,
	[PROFILE_OPT_CHOICE] = read_choice,
	[PROFILE_OPT_STRING] = read_string,
	[PROFILE_OPT_FLAG] = read_flag,
	[PROFILE_OPT_SHAPE] = read_shape,
	[PROFILE_OPT_INPUT_DATA] = read_input_data,
	[PROFILE_OPT_RANGE_U64] = read_range,
	[PROFILE_OPT_RANGE_F64] = read_range,
	[PROFILE_OPT_FRONT_END] = read_front_end,
};

/* Reads value through opt into `base`, the struct opt->at is into. */
static int read_value(const struct profile_option *opt, void *base,
		      struct perf_settings *ps, const char *value,
		      struct it_error *err)
{
	void *field = opt->size ? (char *)base + opt->at : NULL;
	int rc = readers[opt->kind](opt, field, ps, value, err);

	if (!rc && opt->given_at)
		store_uint((char *)base + opt->given_at - 1, sizeof(bool), 1);
	return rc;
}

int profile_option_set(const struct profile_option *opt,
		       struct profile_options *o, const char *value,
		       struct it_error *err)
{
	return read_value(opt, opt->in_settings ? (void *)&o->settings : (void *)o,
			  &o->settings, value, err);
}

int profile_option_set_setting(const struct profile_option *opt,
			       struct perf_settings *ps, const char *value,
			       struct it_error *err)
{
	if (!opt->in_settings)
		return it_error_set(err, IT_ERR_INTERNAL,
				    "%s is not a measurement setting", opt->name);
	return read_value(opt, ps, ps, value, err);
}

/* ---- the command line ----------------------------------------------------- */

/*
 * getopt_long's tables, built from the option table: a row with a short
 * flag answers as that letter, one without as 256 + its index.
 */
#define ARGV_ROWS_MAX 64

struct getopt_tables {
	struct option longs[ARGV_ROWS_MAX + 1];
	char shorts[3 * ARGV_ROWS_MAX + 2];
};

static void build_getopt(struct getopt_tables *t)
{
	size_t nl = 0, ns = 0;

	memset(t, 0, sizeof(*t));
	t->shorts[ns++] = ':';          /* a missing value answers ':' */
	for (size_t i = 0; profile_option_table[i].doors && nl < ARGV_ROWS_MAX; i++) {
		const struct profile_option *o = &profile_option_table[i];
		int has_arg = o->kind == PROFILE_OPT_FLAG ||
			      (o->kind == PROFILE_OPT_FRONT_END && !o->metavar) ?
			      no_argument : required_argument;

		if (!(o->doors & PROFILE_DOOR_ARGV))
			continue;
		if (o->short_flag) {
			t->shorts[ns++] = o->short_flag;
			if (has_arg == required_argument)
				t->shorts[ns++] = ':';
		}
		if (o->name) {
			t->longs[nl].name = o->name;
			t->longs[nl].has_arg = has_arg;
			t->longs[nl].val = o->short_flag ? o->short_flag : 256 + (int)i;
			nl++;
		}
	}
}

int profile_option_parse_argv(int argc, char **argv, struct profile_options *o,
			      bool (*on_option)(void *ctx,
						const struct profile_option *opt,
						const char *value),
			      void *ctx, struct it_error *err)
{
	struct getopt_tables t;
	int c;

	build_getopt(&t);
	opterr = 0;
	optind = 0;     /* glibc: 0 also resets its state from an earlier, abandoned scan */
	while ((c = getopt_long(argc, argv, t.shorts, t.longs, NULL)) != -1) {
		const struct profile_option *opt = NULL;
		int rc;

		if (c == ':') {
			if (optopt && optopt < 256)
				return it_error_set(err, IT_ERR_INVALID,
						    "option -%c needs a value", optopt);
			return it_error_set(err, IT_ERR_INVALID, "option '%s' needs a value",
					    argv[optind - 1]);
		}
		if (c >= 256)
			opt = &profile_option_table[c - 256];
		else if (c != '?')
			opt = profile_option_find_short(c);
		if (!opt) {
			if (optopt && optopt < 256)
				return it_error_set(err, IT_ERR_INVALID,
						    "unknown option '-%c'", optopt);
			return it_error_set(err, IT_ERR_INVALID, "unknown option '%s'",
					    argv[optind - 1]);
		}
		if (opt->kind != PROFILE_OPT_FRONT_END) {
			rc = profile_option_set(opt, o, optarg, err);
			if (rc)
				return rc;
		}
		if (on_option && !on_option(ctx, opt, optarg))
			return 0;
	}
	if (optind < argc)
		return it_error_set(err, IT_ERR_INVALID, "unexpected argument '%s'",
				    argv[optind]);
	return 0;
}

/* ---- defaults, names, help ------------------------------------------------ */

static void set_default(const struct profile_option *opt, void *base)
{
	void *field = (char *)base + opt->at;

	if (!opt->size)
		return;
	if (opt->kind == PROFILE_OPT_U64 || opt->kind == PROFILE_OPT_CHOICE ||
	    opt->kind == PROFILE_OPT_INPUT_DATA)
		store_uint(field, opt->size, opt->def_u64);
	else if (opt->kind == PROFILE_OPT_DOUBLE || opt->kind == PROFILE_OPT_PERCENT)
		memcpy(field, &opt->def_f64, sizeof(opt->def_f64));
	else if (opt->kind == PROFILE_OPT_STRING)
		memcpy(field, &opt->def_str, sizeof(opt->def_str));
}

void perf_settings_init(struct perf_settings *ps)
{
	memset(ps, 0, sizeof(*ps));
	for (const struct profile_option *o = profile_option_table; o->doors; o++) {
		if (o->in_settings)
			set_default(o, ps);
	}
}

int perf_settings_check(const struct perf_settings *ps, struct it_error *err)
{
	if (ps->max_trials < ps->min_windows)
		return it_error_set(err, IT_ERR_INVALID,
				    "--max-trials %llu is below --min-windows %llu: the cap of windows per level cannot be under the floor",
				    (unsigned long long)ps->max_trials,
				    (unsigned long long)ps->min_windows);
	return 0;
}

void perf_settings_release(struct perf_settings *ps)
{
	free(ps->shapes);
	free(ps->input_data_file);
	memset(ps, 0, sizeof(*ps));
}

void profile_option_defaults(struct profile_options *o)
{
	for (const struct profile_option *r = profile_option_table; r->doors; r++) {
		if (!r->in_settings)
			set_default(r, o);
	}
}

void profile_option_names(unsigned door, struct strbuf *out)
{
	bool first = true;

	for (const struct profile_option *o = profile_option_table; o->doors; o++) {
		if (!(o->doors & door) || !o->name)
			continue;
		strbuf_addf(out, "%s%s", first ? "" : ", ", o->name);
		first = false;
	}
}

void profile_option_help(struct strbuf *out)
{
	for (const struct profile_option *o = profile_option_table; o->doors; o++) {
		char left[64];
		const char *line, *nl;

		if (!(o->doors & PROFILE_DOOR_ARGV) || !o->help)
			continue;
		if (o->section)
			strbuf_addf(out, "\n%s:\n", o->section);
		if (o->short_flag && o->name)
			snprintf(left, sizeof(left), "-%c, --%s%s%s", o->short_flag, o->name,
				 o->metavar ? " " : "", o->metavar ? o->metavar : "");
		else if (o->name)
			snprintf(left, sizeof(left), "--%s%s%s", o->name,
				 o->metavar ? " " : "", o->metavar ? o->metavar : "");
		else
			snprintf(left, sizeof(left), "-%c%s%s", o->short_flag,
				 o->metavar ? " " : "", o->metavar ? o->metavar : "");
		strbuf_addf(out, "  %-30s ", left);
		for (line = o->help; line; line = nl ? nl + 1 : NULL) {
			nl = strchr(line, '\n');
			if (line != o->help)
				strbuf_addf(out, "%33s", "");
			strbuf_add(out, line, nl ? (size_t)(nl - line) : strlen(line));
			strbuf_addch(out, '\n');
		}
	}
}
