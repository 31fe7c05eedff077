/*
 * Unit tests for the perf_analyzer option table (loadgen/options.c): every
 * row is fed through every door that takes it (`profile`'s argv by long and
 * short flag, analyze's --perf-analyzer-flag KEY=VALUE, the YAML
 * perf_analyzer_flags mapping) with good values and bad ones (out of
 * bounds, malformed, unknown names); the doors must agree on the settings
 * and on the message. Also the table's own consistency, the list analyze
 * prints for a flag it does not take, and results.db's profile keys.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/options.h"
#include "loadgen/options.h"
#include "loadgen/profiler.h"
#include "util/error.h"
#include "util/strbuf.h"

#define DATA_FILE "test_profile_options-data.json"

/* What one door made of one value. */
struct outcome {
	int rc;
	char message[IT_ERROR_MESSAGE_MAX];
	struct perf_settings ps;        /* valid when rc == 0; released by outcome_release */
	struct profile_options po;      /* argv door only */
};

static void outcome_release(struct outcome *out)
{
	perf_settings_release(&out->ps);
	perf_settings_release(&out->po.settings);
}

/* `profile FLAG VALUE`, FLAG the long name (or the short one when `use_short`). */
static void via_argv(const struct profile_option *opt, bool use_short,
		     const char *value, struct outcome *out)
{
	struct it_error err = { 0 };
	char arg0[] = "profile", flag[64], val[256];
	char *argv[4] = { arg0, flag, NULL, NULL };
	int argc = 2;

	if (use_short)
		snprintf(flag, sizeof(flag), "-%c", opt->short_flag);
	else
		profile_option_flag(opt, flag, sizeof(flag));
	if (value) {
		snprintf(val, sizeof(val), "%s", value);
		argv[argc++] = val;
	}
	memset(out, 0, sizeof(*out));
	profile_options_init(&out->po);
	out->rc = profile_option_parse_argv(argc, argv, &out->po, NULL, NULL, &err);
	snprintf(out->message, sizeof(out->message), "%s", err.message);
}

/*
 * analyze's doors, then the model's settings: `--perf-analyzer-flag
 * NAME=VALUE`, or (yaml) perf_analyzer_flags: {NAME: "VALUE"} in the file.
 */
static void via_analyze(const struct profile_option *opt, const char *value,
			bool yaml, struct outcome *out)
{
	struct analyze_options o;
	struct it_error err = { 0 };
	char text[400];

	memset(out, 0, sizeof(*out));
	analyze_options_init(&o);
	if (yaml) {
		snprintf(text, sizeof(text), "perf_analyzer_flags:\n  %s: \"%s\"\n",
			 opt->name, value);
		out->rc = analyze_options_parse_yaml(&o, text, strlen(text), "cfg.yaml", &err);
	} else {
		snprintf(text, sizeof(text), "%s=%s", opt->name, value);
		out->rc = analyze_options_set(&o, "perf_analyzer_flag", text, &err);
	}
	if (!out->rc)
		out->rc = analyze_perf_settings(&o, NULL, &out->ps, &err);
	snprintf(out->message, sizeof(out->message), "%s", err.message);
	analyze_options_release(&o);
}

/*
 * analyze's own door (--precision, --min-windows): `--NAME VALUE`, or (yaml)
 * NAME: "VALUE" at the top of the file, NAME in snake_case.
 */
static void via_analyze_own(const struct profile_option *opt, const char *value,
			    bool yaml, struct outcome *out)
{
	struct analyze_options o;
	struct it_error err = { 0 };
	char key[64], text[400];
	size_t i;

	for (i = 0; opt->name[i] && i + 1 < sizeof(key); i++)
		key[i] = opt->name[i] == '-' ? '_' : opt->name[i];
	key[i] = '\0';
	memset(out, 0, sizeof(*out));
	analyze_options_init(&o);
	if (yaml) {
		snprintf(text, sizeof(text), "%s: \"%s\"\n", key, value);
		out->rc = analyze_options_parse_yaml(&o, text, strlen(text), "cfg.yaml", &err);
	} else {
		out->rc = analyze_options_set(&o, key, value, &err);
	}
	snprintf(out->message, sizeof(out->message), "%s", err.message);
	analyze_options_release(&o);
}

/* Whether row r's field is the same in a and b. */
static bool same_field(const struct profile_option *r, const struct perf_settings *a,
		       const struct perf_settings *b)
{
	if (r->given_at && memcmp((const char *)a + r->given_at - 1,
				  (const char *)b + r->given_at - 1, sizeof(bool)))
		return false;
	if (r->kind == PROFILE_OPT_SHAPE)
		return a->n_shapes == b->n_shapes &&
		       (!a->n_shapes ||
			!memcmp(a->shapes, b->shapes, a->n_shapes * sizeof(*a->shapes)));
	if (r->kind == PROFILE_OPT_INPUT_DATA)
		return a->input_data == b->input_data &&
		       !a->input_data_file == !b->input_data_file &&
		       (!a->input_data_file || !strcmp(a->input_data_file, b->input_data_file));
	return !memcmp((const char *)a + r->at, (const char *)b + r->at, r->size);
}

/* Every measurement setting of a and b agrees. */
static void assert_same_settings(const struct profile_option *opt, const char *value,
				 const struct perf_settings *a, const struct perf_settings *b)
{
	for (const struct profile_option *r = profile_option_table; r->doors; r++) {
		if (r->in_settings && !same_field(r, a, b))
			fail_msg("--%s %s: the doors disagree on %s", opt->name, value,
				 r->name);
	}
}

/* Feeds value to every door of row opt; all must accept it, or all refuse it alike. */
static void check_value(const struct profile_option *opt, const char *value, bool good)
{
	struct outcome argv_long, argv_short, pair, yaml;
	bool analyze = opt->doors & PROFILE_DOOR_ANALYZE;
	char flag[64];

	profile_option_flag(opt, flag, sizeof(flag));
	via_argv(opt, false, value, &argv_long);
	if (good && argv_long.rc)
		fail_msg("%s '%s' refused: %s", flag, value, argv_long.message);
	if (!good && !argv_long.rc)
		fail_msg("%s '%s' accepted by profile", flag, value);
	if (!good && !strstr(argv_long.message, flag))
		fail_msg("%s '%s': the message does not name the flag: %s", flag, value,
			 argv_long.message);
	if (opt->short_flag && opt->name) {
		via_argv(opt, true, value, &argv_short);
		assert_int_equal(argv_short.rc, argv_long.rc);
		assert_string_equal(argv_short.message, argv_long.message);
		if (good)
			assert_same_settings(opt, value, &argv_short.po.settings,
					     &argv_long.po.settings);
		outcome_release(&argv_short);
	}
	if (analyze) {
		via_analyze(opt, value, false, &pair);
		via_analyze(opt, value, true, &yaml);
		if (pair.rc != argv_long.rc || yaml.rc != argv_long.rc)
			fail_msg("%s '%s': profile %d, --perf-analyzer-flag %d (%s), YAML %d (%s)",
				 flag, value, argv_long.rc, pair.rc, pair.message, yaml.rc,
				 yaml.message);
		assert_string_equal(pair.message, argv_long.message);
		assert_string_equal(yaml.message, argv_long.message);
		if (good) {
			assert_same_settings(opt, value, &pair.ps, &yaml.ps);
			if (!same_field(opt, &pair.ps, &argv_long.po.settings))
				fail_msg("%s '%s': profile and analyze read different values",
					 flag, value);
		}
		outcome_release(&pair);
		outcome_release(&yaml);
	}
	if (opt->doors & PROFILE_DOOR_ANALYZE_OWN) {
		via_analyze_own(opt, value, false, &pair);
		via_analyze_own(opt, value, true, &yaml);
		if (pair.rc != argv_long.rc || yaml.rc != argv_long.rc)
			fail_msg("%s '%s': profile %d, analyze --%s %d (%s), YAML %d (%s)",
				 flag, value, argv_long.rc, opt->name, pair.rc, pair.message,
				 yaml.rc, yaml.message);
		assert_string_equal(pair.message, argv_long.message);
		assert_string_equal(yaml.message, argv_long.message);
	}
	outcome_release(&argv_long);
}

static void check_u64(const struct profile_option *opt)
{
	char v[40];

	snprintf(v, sizeof(v), "%llu", (unsigned long long)opt->min_u64);
	check_value(opt, v, true);
	snprintf(v, sizeof(v), "%llu", (unsigned long long)opt->max_u64);
	check_value(opt, v, true);
	if (opt->min_u64 > 0) {
		snprintf(v, sizeof(v), "%llu", (unsigned long long)opt->min_u64 - 1);
		check_value(opt, v, false);
	}
	if (opt->max_u64 < UINT64_MAX) {
		snprintf(v, sizeof(v), "%llu", (unsigned long long)opt->max_u64 + 1);
		check_value(opt, v, false);
	}
	check_value(opt, "-1", false);
	check_value(opt, "2.5", false);
	check_value(opt, "ten", false);
	check_value(opt, "99999999999999999999999", false);
}

static void check_double(const struct profile_option *opt)
{
	char v[40];

	snprintf(v, sizeof(v), "%g", opt->min_f64);
	check_value(opt, v, true);
	snprintf(v, sizeof(v), "%g", opt->min_f64 + 0.5);
	check_value(opt, v, true);
	snprintf(v, sizeof(v), "%g", opt->min_f64 - 0.5);
	check_value(opt, v, false);
	if (opt->max_f64) {
		snprintf(v, sizeof(v), "%g", opt->max_f64);
		check_value(opt, v, true);
		snprintf(v, sizeof(v), "%g", opt->max_f64 + 0.5);
		check_value(opt, v, false);
	}
	check_value(opt, "lots", false);
	check_value(opt, "1e999", false);
}

static void check_choice(const struct profile_option *opt)
{
	for (const struct profile_option_choice *c = opt->choices; c->name; c++)
		check_value(opt, c->name, true);
	check_value(opt, "bogus", false);
	check_value(opt, "", false);
}

/* Good and bad values of the kinds whose values do not come from the row's bounds. */
struct kind_values {
	const char *good[4];
	const char *bad[6];
};

static const struct kind_values kind_values[] = {
	[PROFILE_OPT_CONFIDENCE] = { { "0.99", "99" }, { "1", "150", "0", "sure" } },
	[PROFILE_OPT_PERCENT] = { { "5", "0.5", "100" }, { "0", "101", "-1", "abc", "1e999" } },
	[PROFILE_OPT_SHAPE] = { { "IN:3,224,224", "a:b:2" }, { "IN", "IN:0", "IN:3,x" } },
	[PROFILE_OPT_INPUT_DATA] = { { "zero", "random", DATA_FILE },
				     { ".", "no-such-file.json" } },
	[PROFILE_OPT_RANGE_U64] = { { "1:16:2", "4" }, { "4:2", "1:x", "0" } },
	[PROFILE_OPT_RANGE_F64] = { { "10:40:5.5" }, { "0", "1:x" } },
	[PROFILE_OPT_STRING] = { { "some-text" }, { NULL } },
	[PROFILE_OPT_FRONT_END] = { { NULL }, { NULL } },   /* read by the front end */
};

static void check_row(const struct profile_option *opt)
{
	const struct kind_values *kv = &kind_values[opt->kind];

	if (opt->kind == PROFILE_OPT_U64)
		check_u64(opt);
	else if (opt->kind == PROFILE_OPT_DOUBLE)
		check_double(opt);
	else if (opt->kind == PROFILE_OPT_CHOICE)
		check_choice(opt);
	else if (opt->kind == PROFILE_OPT_FLAG)
		check_value(opt, NULL, true);
	for (size_t i = 0; i < 4 && kv->good[i]; i++)
		check_value(opt, kv->good[i], true);
	for (size_t i = 0; i < 6 && kv->bad[i]; i++)
		check_value(opt, kv->bad[i], false);
}

static void write_data_file(void)
{
	FILE *f = fopen(DATA_FILE, "w");

	assert_non_null(f);
	fputs("{\"data\": []}\n", f);
	fclose(f);
}

/* Every row through every door it belongs to. */
static void test_every_row_every_door(void **state)
{
	(void)state;
	write_data_file();
	for (const struct profile_option *opt = profile_option_table; opt->doors; opt++)
		check_row(opt);
	remove(DATA_FILE);
}

/* The rows themselves: what the doors rely on. */
static void test_table_is_consistent(void **state)
{
	(void)state;
	for (const struct profile_option *o = profile_option_table; o->doors; o++) {
		char flag[64];

		profile_option_flag(o, flag, sizeof(flag));
		assert_true(o->name || o->short_flag);
		/* analyze takes only measurement settings, by long name; never a borrowed string */
		if (o->doors & PROFILE_DOOR_ANALYZE) {
			assert_true(o->in_settings);
			assert_non_null(o->name);
			assert_int_not_equal(o->kind, PROFILE_OPT_STRING);
		}
		if (o->in_settings)
			assert_true(o->at + o->size <= sizeof(struct perf_settings));
		else
			assert_true(o->at + o->size <= sizeof(struct profile_options));
		if (o->kind == PROFILE_OPT_U64) {
			assert_true(o->size == 4 || o->size == 8);
			assert_true(o->min_u64 <= o->max_u64);
			assert_true(o->size == 8 || o->max_u64 <= UINT32_MAX);
			assert_true(o->def_u64 == 0 || (o->def_u64 >= o->min_u64 &&
							o->def_u64 <= o->max_u64));
		}
		if (o->kind == PROFILE_OPT_CHOICE)
			assert_non_null(o->choices);
		/* Names are unique. */
		for (const struct profile_option *p = o + 1; p->doors; p++) {
			assert_false(o->name && p->name && !strcmp(o->name, p->name));
			assert_false(o->short_flag && o->short_flag == p->short_flag);
		}
		assert_ptr_equal(profile_option_find(o->name ? o->name : (char[]){ o->short_flag, 0 }), o);
		/* A default the help states is the default the table sets. */
		if (o->help && strstr(o->help, "(default ")) {
			const char *d = strstr(o->help, "(default ") + 9;
			char *end;
			double v = strtod(d, &end);

			if (end != d && *end == ')' && o->kind == PROFILE_OPT_U64)
				assert_true(v == (double)o->def_u64);
			if (end != d && *end == ')' && o->kind == PROFILE_OPT_DOUBLE)
				assert_true(v == o->def_f64);
		}
	}
}

/* analyze names the flags it takes, from the table; the list is today's. */
static void test_analyze_refuses_with_the_list(void **state)
{
	static const char *const takes[] = {
		"measurement-interval", "measurement-mode", "measurement-request-count",
		"stability-percentage", "max-trials", "percentile", "latency-threshold",
		"shape", "input-data", "string-length", "warmup-request-count",
		"max-threads", "seed", "request-distribution", "max-error-percentage",
		"input-tensor-format", "output-tensor-format", "metrics-interval",
		"http-client",
	};
	struct strbuf names;
	struct perf_settings ps;
	struct it_error err = { 0 };
	size_t n = 0;

	(void)state;
	strbuf_init(&names, 0);
	profile_option_names(PROFILE_DOOR_ANALYZE, &names);
	for (size_t i = 0; i < sizeof(takes) / sizeof(takes[0]); i++)
		assert_non_null(strstr(names.buf, takes[i]));
	for (const char *p = names.buf; p; p = strchr(p + 1, ','))
		n++;
	assert_int_equal(n, sizeof(takes) / sizeof(takes[0]));
	perf_settings_init(&ps);
	for (const struct profile_option *o = profile_option_table; o->doors; o++) {
		const char *key = o->name ? o->name : (char[]){ o->short_flag, 0 };

		if (o->doors & PROFILE_DOOR_ANALYZE)
			continue;
		assert_int_equal(perf_settings_apply(&ps, key, "1", &err), IT_ERR_NOT_FOUND);
		assert_non_null(strstr(err.message, "is not one an analysis sets; it takes: "));
		assert_non_null(strstr(err.message, names.buf));
	}
	assert_int_equal(perf_settings_apply(&ps, "concurrency-range", "1:4", &err),
			 IT_ERR_NOT_FOUND);
	perf_settings_release(&ps);
	strbuf_release(&names);
}

/* The drift that started issue #11: profile took -r 1 and 2, analyze did not. */
static void test_max_trials_needs_three_windows(void **state)
{
	const struct profile_option *r = profile_option_find("r");

	(void)state;
	assert_non_null(r);
	assert_string_equal(r->name, "max-trials");
	check_value(r, "2", false);
	check_value(r, "3", true);
}

static void key_of(const char *const *kv, char *buf, size_t size)
{
	struct perf_settings ps;

	perf_settings_init(&ps);
	for (; *kv; kv += 2)
		assert_int_equal(perf_settings_apply(&ps, kv[0], kv[1], NULL), 0);
	perf_settings_key(&ps, buf, size);
	perf_settings_release(&ps);
}

/*
 * results.db's profile keys, as the code before the option table computed
 * them: resume and old databases match measurements by these strings.
 */
static void test_profile_keys_are_stable(void **state)
{
	static const char *const defaults[] = { NULL };
	static const char *const counts[] = {
		"measurement-mode", "count_windows", "measurement-request-count", "100",
		"stability-percentage", "5.5", "max-trials", "20", "percentile", "95",
		"latency-threshold", "30", "warmup-request-count", "7", "seed", "9",
		"max-threads", "3", "metrics-interval", "500", "http-client", "h1", NULL,
	};
	static const char *const shapes[] = {
		"p", "2500", "shape", "IN:3,224,224", "shape", "MASK:1", "input-data", "zero",
		"string-length", "64", "request-distribution", "poisson",
		"max-error-percentage", "2.5", "input-tensor-format", "json", "s", "0.1",
		"r", "3", "l", "1", NULL,
	};
	static const char *const file[] = {
		"input-data", DATA_FILE, "output-tensor-format", "json", NULL,
	};
	char key[512];

	(void)state;
	write_data_file();
	key_of(defaults, key, sizeof(key));
	assert_string_equal(key, "mode=time_windows;interval_ms=5000;stability=10;trials=10;percentile=0;threshold_ms=0;data=random;strlen=128;distribution=constant;errors=0;tensors=binary/binary");
	key_of(counts, key, sizeof(key));
	assert_string_equal(key, "mode=count_windows;requests=100;stability=5.5;trials=20;percentile=95;threshold_ms=30;data=random;strlen=128;distribution=constant;errors=0;tensors=binary/binary");
	key_of(shapes, key, sizeof(key));
	assert_string_equal(key, "mode=time_windows;interval_ms=2500;stability=0.1;trials=3;percentile=0;threshold_ms=1;data=zero;shape=IN:3,224,224;shape=MASK:1;strlen=64;distribution=poisson;errors=2.5;tensors=json/binary");
	key_of(file, key, sizeof(key));
	assert_string_equal(key, "mode=time_windows;interval_ms=5000;stability=10;trials=10;percentile=0;threshold_ms=0;data=" DATA_FILE ";strlen=128;distribution=constant;errors=0;tensors=binary/json");
	remove(DATA_FILE);
}

/* Errors of the command line itself, not of a value. */
static void test_argv_errors(void **state)
{
	static const struct {
		const char *args[3];
		const char *message;
	} cases[] = {
		{ { "--bogus" }, "unknown option '--bogus'" },
		{ { "-z" }, "unknown option '-z'" },
		{ { "--shape" }, "option '--shape' needs a value" },
		{ { "-p" }, "option -p needs a value" },
		{ { "-m", "m", "extra" }, "unexpected argument 'extra'" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct profile_options o;
		struct it_error err = { 0 };
		char buf[3][32], arg0[] = "profile";
		char *argv[5] = { arg0 };
		int argc = 1;

		for (size_t k = 0; k < 3 && cases[i].args[k]; k++) {
			snprintf(buf[k], sizeof(buf[k]), "%s", cases[i].args[k]);
			argv[argc++] = buf[k];
		}
		profile_options_init(&o);
		assert_int_equal(profile_option_parse_argv(argc, argv, &o, NULL, NULL, &err),
				 IT_ERR_INVALID);
		assert_string_equal(err.message, cases[i].message);
		perf_settings_release(&o.settings);
	}
}

/* profile_options_init's defaults are the table's (perf_analyzer's). */
static void test_profile_defaults(void **state)
{
	struct profile_options o;

	(void)state;
	profile_options_init(&o);
	assert_string_equal(o.url, "localhost:8000");
	assert_int_equal(o.batch_size, 1);
	assert_int_equal(o.measurement_interval_ms, 5000);
	assert_int_equal(o.settings.measurement_request_count, 50);
	assert_true(o.stability_percentage == 10);
	assert_int_equal(o.max_trials, 10);
	assert_int_equal(o.string_length, 128);
	assert_int_equal(o.metrics_interval_ms, 1000);
	assert_int_equal(o.window_mode, PROFILE_TIME_WINDOWS);
	assert_int_equal(o.http_client, LOADGEN_HTTP_AUTO);
	assert_int_equal(o.concurrency_start, 1);
	assert_int_equal(o.control_timeout_ms, 10000);
}

/* Precision mode's floor and cap: refused together through every door. */
static void test_cap_below_floor(void **state)
{
	const char *want = "--max-trials 4 is below --min-windows 5: the cap of windows per level cannot be under the floor";
	struct profile_options po;
	struct profiler *p = NULL;
	struct analyze_options o;
	struct perf_settings ps;
	struct it_error err = { 0 };
	static const char yaml[] = "profile_models: m\nprecision: 5\nmin_windows: 5\n"
				   "perf_analyzer_flags:\n  max-trials: \"4\"\n";

	(void)state;
	profile_options_init(&po);
	po.model_name = "m";
	po.url = "127.0.0.1:1";
	po.precision_pct = 5;
	po.min_windows = 5;
	po.max_trials = 4;
	assert_int_equal(profiler_new(&po, &p, &err), IT_ERR_INVALID);
	assert_string_equal(err.message, want);
	analyze_options_init(&o);
	assert_int_equal(analyze_options_set(&o, "min_windows", "5", &err), 0);
	assert_int_equal(analyze_options_set(&o, "perf_analyzer_flag", "max-trials=4", &err), 0);
	assert_int_equal(analyze_perf_settings(&o, NULL, &ps, &err), IT_ERR_INVALID);
	assert_string_equal(err.message, want);
	analyze_options_release(&o);
	analyze_options_init(&o);
	assert_int_equal(analyze_options_parse_yaml(&o, yaml, strlen(yaml), "c.yaml", &err), 0);
	assert_int_equal(analyze_perf_settings(&o, NULL, &ps, &err), IT_ERR_INVALID);
	assert_string_equal(err.message, want);
	analyze_options_release(&o);
}

/*
 * analyze's rule: precision 5% by default, perf_analyzer's stability rule
 * when its settings are given, --precision over both; the profile key
 * carries the precision settings only in precision mode.
 */
static void test_analyze_precision_default(void **state)
{
	static const char *const stability[] = {
		"stability-percentage=5", "max-trials=20", "-r=20", "s=3",
		"measurement-request-count=80",
	};
	struct analyze_options o;
	struct perf_settings ps;
	char key[512];

	(void)state;
	analyze_options_init(&o);
	assert_int_equal(analyze_perf_settings(&o, NULL, &ps, NULL), 0);
	assert_true(ps.precision_pct == 5 && ps.min_windows == 3 && ps.max_trials == 10);
	perf_settings_key(&ps, key, sizeof(key));
	assert_string_equal(key, "mode=time_windows;interval_ms=5000;stability=10;trials=10;percentile=0;threshold_ms=0;data=random;strlen=128;distribution=constant;errors=0;tensors=binary/binary;precision=5;min_windows=3");
	perf_settings_release(&ps);
	assert_int_equal(analyze_options_set(&o, "perf_analyzer_flag", "measurement-interval=800", NULL), 0);
	assert_int_equal(analyze_perf_settings(&o, NULL, &ps, NULL), 0);
	assert_true(ps.precision_pct == 5);
	perf_settings_release(&ps);
	analyze_options_release(&o);
	for (size_t i = 0; i < sizeof(stability) / sizeof(stability[0]); i++) {
		analyze_options_init(&o);
		assert_int_equal(analyze_options_set(&o, "perf_analyzer_flag", stability[i], NULL), 0);
		assert_int_equal(analyze_perf_settings(&o, NULL, &ps, NULL), 0);
		if (ps.precision_pct != 0)
			fail_msg("%s kept precision mode", stability[i]);
		perf_settings_release(&ps);
		assert_int_equal(analyze_options_set(&o, "precision", "2.5", NULL), 0);
		assert_int_equal(analyze_perf_settings(&o, NULL, &ps, NULL), 0);
		assert_true(ps.precision_pct == 2.5);
		perf_settings_release(&ps);
		analyze_options_release(&o);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_is_consistent),
		cmocka_unit_test(test_every_row_every_door),
		cmocka_unit_test(test_analyze_refuses_with_the_list),
		cmocka_unit_test(test_max_trials_needs_three_windows),
		cmocka_unit_test(test_profile_keys_are_stable),
		cmocka_unit_test(test_argv_errors),
		cmocka_unit_test(test_profile_defaults),
		cmocka_unit_test(test_cap_below_floor),
		cmocka_unit_test(test_analyze_precision_default),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
