/*
 * perf_analyzer's options, once: one table row per flag (name, value kind,
 * bounds, default, help, target field, which doors take it) that
 * `infertune profile`'s argv, analyze's --perf-analyzer-flag KEY=VALUE and
 * the YAML perf_analyzer_flags all read, and struct perf_settings, the
 * measurement settings those doors share. Depends on loadgen/ (requests,
 * loadgen; the .c also on profiler.h for struct profile_options), stats/
 * (the 3-window stability rule) and util/.
 *
 * To add a perf_analyzer option: add its field (to PERF_SETTINGS_FIELDS if
 * analyze may set it too, else to struct profile_options) and one row in
 * profile_option_table (loadgen/options.c). Every door, the help and the
 * tests (tests/unit/test_profile_options.c) pick it up from there.
 */
#ifndef INFERTUNE_LOADGEN_OPTIONS_H
#define INFERTUNE_LOADGEN_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loadgen/loadgen.h"
#include "loadgen/requests.h"

struct it_error;
struct profile_options;
struct strbuf;

/** --measurement-mode: windows of a fixed length or of a request count. */
enum profile_window_mode {
	PROFILE_TIME_WINDOWS = 0,
	PROFILE_COUNT_WINDOWS,
};

/** --request-distribution: the open loop's gaps between sends. */
enum profile_distribution {
	PROFILE_CONSTANT = 0,
	PROFILE_POISSON,
};

/*
 * The measurement settings every door sets, listed once and expanded twice:
 * as struct perf_settings (what analyze holds per model) and inside struct
 * profile_options (loadgen/profiler.h), where each reads both as a field of
 * its own (o->percentile) and as one struct (o->settings), the way Linux's
 * struct_group() does it. shapes and input_data_file are owned by whoever
 * filled the settings through the table: perf_settings_release().
 */
#define PERF_SETTINGS_FIELDS \
	enum profile_window_mode window_mode;   /* --measurement-mode, time_windows */ \
	uint64_t measurement_interval_ms;       /* -p, 5000 */ \
	uint64_t measurement_request_count;     /* 50 */ \
	double stability_percentage;            /* -s, 10 */ \
	uint64_t max_trials;                    /* -r, 10 */ \
	int percentile;                         /* --percentile, 0 = none (average) */ \
	uint64_t latency_threshold_ms;          /* -l, 0 = none */ \
	struct input_shape *shapes;             /* --shape, repeatable */ \
	size_t n_shapes; \
	enum input_data_kind input_data;        /* random */ \
	char *input_data_file;                  /* --input-data FILE */ \
	size_t string_length;                   /* 128 */ \
	uint64_t warmup_request_count;          /* 0 */ \
	bool warmup_given;                      /* --warmup-request-count was given */ \
	unsigned max_threads;                   /* 0 = default (16 closed, 4 open), capped by CPUs */ \
	uint64_t seed;                          /* random data and Poisson schedule */ \
	double max_error_percentage;            /* failed requests a window tolerates, 0 = none */ \
	enum profile_distribution distribution; /* constant */ \
	bool input_json;                        /* --input-tensor-format json */ \
	bool output_json;                       /* --output-tensor-format json */ \
	uint64_t metrics_interval_ms;           /* 1000 (analyze: 0 = from the window) */ \
	enum loadgen_http_client http_client;   /* --http-client, default auto */ \
	double precision_pct;                   /* --precision, 0 = off: the 3-window stability rule */ \
	uint64_t min_windows;                   /* --min-windows, 3: precision mode's floor */

/**
 * perf_analyzer's measurement settings (the table's rows marked
 * PROFILE_DOOR_ANALYZE write here). Embedded value struct:
 * perf_settings_init(), perf_settings_release().
 */
struct perf_settings {
	PERF_SETTINGS_FIELDS
};

/** Sets every field to the table's default (perf_analyzer's). */
void perf_settings_init(struct perf_settings *ps);

/**
 * Whether the settings are consistent as a whole (each value was checked
 * by its row): the --max-trials cap is not below the --min-windows floor.
 * IT_ERR_INVALID naming both values otherwise. Every door calls it once
 * all its values are read (profiler_new(), analyze's settings).
 */
int perf_settings_check(const struct perf_settings *ps, struct it_error *err);

/** Frees the shapes and the data file name ps owns; ps is then zeroed. */
void perf_settings_release(struct perf_settings *ps);

/** How a row reads its value. */
enum profile_option_kind {
	PROFILE_OPT_U64,          /* whole number in [min, max] */
	PROFILE_OPT_DOUBLE,       /* finite number in [min, max] (max 0: no upper bound) */
	PROFILE_OPT_PERCENT,      /* a percentage in (0, 100]; the default may be 0 ("off") */
	PROFILE_OPT_CONFIDENCE,   /* --early-stop: in (0, 1), or (1, 100) as a percentage */
	PROFILE_OPT_CHOICE,       /* one of choices[]; its value is stored */
	PROFILE_OPT_STRING,       /* the value itself, borrowed (argv only) */
	PROFILE_OPT_FLAG,         /* no value: stores true (or nothing) */
	PROFILE_OPT_SHAPE,        /* NAME:D1,D2,... appended to shapes */
	PROFILE_OPT_INPUT_DATA,   /* zero, random or a JSON file */
	PROFILE_OPT_RANGE_U64,    /* S[:E[:T]] into three consecutive uint64_t */
	PROFILE_OPT_RANGE_F64,    /* S[:E[:T]] into three consecutive doubles */
	PROFILE_OPT_FRONT_END,    /* the front end handles it (-f, -v, --help) */
};

/** Which doors take a row (bit mask). */
enum profile_option_door {
	PROFILE_DOOR_ARGV = 1,      /* infertune profile's command line */
	PROFILE_DOOR_ANALYZE = 2,   /* --perf-analyzer-flag KEY=VALUE and YAML perf_analyzer_flags */
	PROFILE_DOOR_ANALYZE_OWN = 4, /* analyze's own --NAME and YAML NAME (snake_case): not perf_analyzer's */
};

/** A CHOICE value name and the value stored for it. */
struct profile_option_choice {
	const char *name;
	int value;
};

/** One perf_analyzer option. The table ends with a row whose doors are 0. */
struct profile_option {
	const char *name;               /* long name ("measurement-interval"), or NULL */
	char short_flag;                /* 'p', or 0 */
	unsigned doors;                 /* PROFILE_DOOR_* */
	enum profile_option_kind kind;
	bool in_settings;               /* `at` is into struct perf_settings, else into struct profile_options */
	size_t at, size;                /* the target field's offset and size (size 0: none, the value is only checked) */
	size_t given_at;                /* 1 + offset in the same struct of a bool set when given; 0: none */
	uint64_t min_u64, max_u64;      /* U64 bounds */
	double min_f64, max_f64;        /* DOUBLE bounds (max 0: none) */
	uint64_t def_u64;               /* default of U64 and CHOICE (the value) rows */
	double def_f64;                 /* default of DOUBLE rows */
	const char *def_str;            /* default of STRING rows */
	const struct profile_option_choice *choices; /* CHOICE: NULL-terminated */
	const char *refusal;            /* CHOICE: the reason given for another value, instead of "choose ..." */
	const char *unit;               /* "msec": appended to the bound in messages */
	const char *section;            /* help: the heading this row opens, or NULL */
	const char *metavar;            /* help: "MS" */
	const char *help;               /* help text, '\n' between lines; NULL: not listed */
};

/** Every option `infertune profile` knows, in --help order. */
extern const struct profile_option profile_option_table[];

/**
 * The row called `name`: a long name ("max-trials") or a one-letter short
 * flag ("r"), without dashes. NULL when there is none.
 */
const struct profile_option *profile_option_find(const char *name);

/** The row whose short flag is c; NULL when none. */
const struct profile_option *profile_option_find_short(int c);

/** "--max-trials" (or "-m" for a row without a long name) into buf; returns buf. */
const char *profile_option_flag(const struct profile_option *opt, char *buf,
				size_t size);

/**
 * Reads `value` through row opt into o (the argv door: every kind but
 * FRONT_END; STRING values are borrowed). IT_ERR_INVALID with the message
 * "--flag 'value': why", the same for every door.
 */
int profile_option_set(const struct profile_option *opt,
		       struct profile_options *o, const char *value,
		       struct it_error *err);

/**
 * Reads `value` through row opt into ps (the analyze door). Only rows with
 * in_settings; errors as profile_option_set(). On failure ps is unchanged.
 */
int profile_option_set_setting(const struct profile_option *opt,
			       struct perf_settings *ps, const char *value,
			       struct it_error *err);

/**
 * `infertune profile`'s command line: reads argv[1..] (getopt_long over
 * the argv door's rows) into o, which profile_options_init() prepared.
 * Calls on_option(ctx, row, value) after each flag read (FRONT_END rows
 * are read only by it; value is NULL for a flag without one); when it
 * returns false, parsing stops there and the call returns 0. Errors
 * (IT_ERR_INVALID): a bad value (as profile_option_set()), "unknown option
 * '--x'", "option -p needs a value", "unexpected argument 'x'". Uses
 * getopt's globals: not thread-safe.
 */
int profile_option_parse_argv(int argc, char **argv, struct profile_options *o,
			      bool (*on_option)(void *ctx,
						const struct profile_option *opt,
						const char *value),
			      void *ctx, struct it_error *err);

/** Sets o's non-settings fields that have a default in the table. */
void profile_option_defaults(struct profile_options *o);

/** Appends the long names of the rows a door takes, ", "-separated. */
void profile_option_names(unsigned door, struct strbuf *out);

/**
 * Appends the help of the argv door's listed rows: a heading per section,
 * "  -p, --measurement-interval MS  text", continuation lines indented.
 */
void profile_option_help(struct strbuf *out);

#endif
