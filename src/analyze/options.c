/*
 * Option values: parsing and checking of every key an analysis takes from
 * the command line or the YAML file (the YAML structure itself is read in
 * analyze/yaml_config.c), perf_analyzer's measurement flags, and the
 * per-model resolution of objectives and measurement settings.
 */
#include "analyze/options.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/objective.h"
#include "loadgen/options.h"
#include "loadgen/range.h"
#include "util/cpuset.h"
#include "util/error.h"
#include "util/strbuf.h"
#include "util/xalloc.h"
#include "util/parse.h"
#include "util/banned.h"

#define LIST_MAX 4096

void analyze_options_init(struct analyze_options *o)
{
	memset(o, 0, sizeof(*o));
	o->export_path = xstrdup(".");
	o->search_mode = xstrdup("brute");
	o->min_concurrency = ANALYZE_DEFAULT_MIN_CONCURRENCY;
	o->max_concurrency = ANALYZE_DEFAULT_MAX_CONCURRENCY;
	o->min_instances = ANALYZE_DEFAULT_MIN_INSTANCES;
	o->max_instances = ANALYZE_DEFAULT_MAX_INSTANCES;
	o->min_mbs = ANALYZE_DEFAULT_MIN_MBS;
	o->max_mbs = ANALYZE_DEFAULT_MAX_MBS;
	o->num_configs_per_model = ANALYZE_DEFAULT_TOP_N;
	o->duration_seconds = ANALYZE_DEFAULT_SERVER_ONLY_S;
	o->max_auto_adjusts = ANALYZE_DEFAULT_MAX_AUTO_ADJUSTS;
	o->filename_model_inference = xstrdup("metrics-model-inference.csv");
	o->filename_model_gpu = xstrdup("metrics-model-gpu.csv");
	o->filename_server_only = xstrdup("metrics-server-only.csv");
}

static void free_strings(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void free_objectives(struct objective_spec *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].tag);
	free(v);
}

static void free_constraints(struct constraint_spec *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].tag);
	free(v);
}

static void model_spec_release(struct model_spec *m)
{
	free(m->name);
	free(m->concurrency.v);
	free(m->batch_sizes.v);
	free(m->request_rate.v);
	free_objectives(m->objectives, m->n_objectives);
	free_constraints(m->constraints, m->n_constraints);
	free_strings(m->perf_flags, m->n_perf_flags);
	for (size_t i = 0; i < m->manual.n_overlays; i++)
		json_decref(m->manual.overlays[i]);
	free(m->manual.overlays);
	free(m->manual.mbs);
	memset(m, 0, sizeof(*m));
}

void analyze_options_release(struct analyze_options *o)
{
	free(o->config_file);
	free(o->model_repository);
	for (size_t i = 0; i < o->n_models; i++)
		model_spec_release(&o->models[i]);
	free(o->models);
	free(o->output_model_repository);
	free(o->export_path);
	free(o->search_mode);
	free(o->concurrency.v);
	free(o->batch_sizes.v);
	free(o->request_rate.v);
	free_objectives(o->objectives, o->n_objectives);
	free_constraints(o->constraints, o->n_constraints);
	free(o->url);
	free(o->metrics_url);
	free(o->server_cpus);
	free(o->client_cpus);
	free_strings(o->perf_flags, o->n_perf_flags);
	free_strings(o->own_settings, o->n_own_settings);
	free(o->filename_model_inference);
	free(o->filename_model_gpu);
	free(o->filename_server_only);
	free_strings(o->warnings, o->n_warnings);
	memset(o, 0, sizeof(*o));
}

struct model_spec *analyze_options_model(struct analyze_options *o,
					 const char *name)
{
	struct model_spec *m;

	for (size_t i = 0; i < o->n_models; i++) {
		if (!strcmp(o->models[i].name, name))
			return &o->models[i];
	}
	o->models = xreallocarray(o->models, o->n_models + 1, sizeof(*o->models));
	m = &o->models[o->n_models++];
	memset(m, 0, sizeof(*m));
	m->name = xstrdup(name);
	m->weighting = 1;
	return m;
}

/* ---- value parsers -------------------------------------------------------- */

/* Appends the comma-separated items of s (numbers or start:stop[:step] ranges). */
static int parse_u64_list(const char *key, const char *s, uint64_t max,
			  struct u64_list *out, struct it_error *err)
{
	char *copy = xstrdup(s), *item = copy, *next;
	struct u64_list l = { NULL, 0 };
	int rc = 0;

	for (; item; item = next) {
		struct range_u64 r;

		next = strchr(item, ',');
		if (next)
			*next++ = '\0';
		while (*item == ' ' || *item == '[')
			item++;
		for (size_t n = strlen(item); n && (item[n - 1] == ' ' || item[n - 1] == ']'); n--)
			item[n - 1] = '\0';
		if (strchr(item, ':')) {
			if (range_parse_u64(item, key, &r, err) || r.end == 0) {
				rc = it_error_set(err, IT_ERR_INVALID,
						  "%s: '%s' is not a range start:stop[:step] of whole numbers > 0",
						  key, item);
				goto out;
			}
		} else {
			uint64_t v;

			if (!parse_u64(item, max, &v) || v == 0) {
				rc = it_error_set(err, IT_ERR_INVALID,
						  "%s: '%s' is not a whole number from 1 to %llu",
						  key, item, (unsigned long long)max);
				goto out;
			}
			r.start = r.end = v;
			r.step = 1;
		}
		for (uint64_t v = r.start; v <= r.end; v += r.step) {
			if (v > max || l.n >= LIST_MAX) {
				rc = it_error_set(err, IT_ERR_INVALID,
						  "%s: '%s' gives values above %llu or more than %d of them",
						  key, item, (unsigned long long)max, LIST_MAX);
				goto out;
			}
			l.v = xreallocarray(l.v, l.n + 1, sizeof(*l.v));
			l.v[l.n++] = v;
			if (r.end - v < r.step)
				break;
		}
	}
	free(out->v);
	*out = l;
	l.v = NULL;
out:
	free(l.v);
	free(copy);
	return rc;
}

static int parse_f64_list(const char *key, const char *s, struct f64_list *out,
			  struct it_error *err)
{
	char *copy = xstrdup(s), *item = copy, *next;
	struct f64_list l = { NULL, 0 };
	int rc = 0;

	for (; item; item = next) {
		double v;

		next = strchr(item, ',');
		if (next)
			*next++ = '\0';
		while (*item == '[')
			item++;
		for (size_t n = strlen(item); n && (item[n - 1] == ' ' || item[n - 1] == ']'); n--)
			item[n - 1] = '\0';
		if (!parse_double(item, &v) || !(v > 0) || l.n >= LIST_MAX) {
			rc = it_error_set(err, IT_ERR_INVALID,
					  "%s: '%s' is not a number > 0", key, item);
			goto out;
		}
		l.v = xreallocarray(l.v, l.n + 1, sizeof(*l.v));
		l.v[l.n++] = v;
	}
	free(out->v);
	*out = l;
	l.v = NULL;
out:
	free(l.v);
	free(copy);
	return rc;
}

static int objective_check(const char *key, const char *tag, struct it_error *err)
{
	if (figure_by_tag(tag) < 0)
		return it_error_set(err, IT_ERR_INVALID,
				    "%s: unknown metric '%s' (e.g. perf_throughput, perf_latency_p99, perf_latency_avg, gpu_used_memory, gpu_utilization, cpu_used_ram, energy_per_inference)",
				    key, tag);
	return 0;
}

/* "perf_throughput,perf_latency_p99=2" or "...:2"; replaces the list. */
static int parse_objectives(const char *key, const char *s,
			    struct objective_spec **out, size_t *n_out,
			    struct it_error *err)
{
	char *copy = xstrdup(s), *item = copy, *next;
	struct objective_spec *v = NULL;
	size_t n = 0;
	int rc = 0;

	for (; item; item = next) {
		char *eq;
		double w = 10;  /* Model Analyzer's weight for a listed objective */

		next = strchr(item, ',');
		if (next)
			*next++ = '\0';
		while (*item == ' ')
			item++;
		eq = strpbrk(item, "=:");
		if (eq) {
			*eq = '\0';
			if (!parse_double(eq + 1, &w) || !(w > 0)) {
				rc = it_error_set(err, IT_ERR_INVALID,
						  "%s: the weight of '%s' must be a number > 0",
						  key, item);
				goto out;
			}
		}
		for (size_t k = strlen(item); k && item[k - 1] == ' '; k--)
			item[k - 1] = '\0';
		rc = objective_check(key, item, err);
		if (rc)
			goto out;
		v = xreallocarray(v, n + 1, sizeof(*v));
		v[n].tag = xstrdup(item);
		v[n].weight = w;
		n++;
	}
	free_objectives(*out, *n_out);
	*out = v;
	*n_out = n;
	v = NULL;
	n = 0;
out:
	free_objectives(v, n);
	free(copy);
	return rc;
}

static void set_string(char **dst, const char *value)
{
	free(*dst);
	*dst = xstrdup(value);
}

static void add_string(char ***v, size_t *n, const char *s)
{
	*v = xreallocarray(*v, *n + 1, sizeof(**v));
	(*v)[(*n)++] = xstrdup(s);
}

static int set_i32(const char *key, const char *value, int32_t *dst, bool *user,
		   struct it_error *err)
{
	uint64_t v;

	if (!parse_u64(value, INT32_MAX, &v) || v == 0)
		return it_error_set(err, IT_ERR_INVALID,
				    "%s: '%s' is not a whole number > 0", key, value);
	*dst = (int32_t)v;
	if (user)
		*user = true;
	return 0;
}

/* ---- analyze_options_set -------------------------------------------------- */

/*
 * The option table's row for analyze's own measurement setting `key`
 * ("min_windows" -> the row "min-windows"), or NULL when it is none.
 */
static const struct profile_option *own_setting_row(const char *key)
{
	const struct profile_option *opt;
	char kebab[64];
	size_t i;

	for (i = 0; key[i] && i + 1 < sizeof(kebab); i++)
		kebab[i] = key[i] == '_' ? '-' : key[i];
	kebab[i] = '\0';
	opt = profile_option_find(kebab);
	return opt && opt->name && (opt->doors & PROFILE_DOOR_ANALYZE_OWN) ? opt : NULL;
}

/* --precision 5: checked by the table's row, kept as "precision=5". */
static int set_own_setting(struct analyze_options *o, const struct profile_option *opt,
			   const char *value, struct it_error *err)
{
	struct perf_settings ps;
	struct strbuf pair;
	int rc;

	perf_settings_init(&ps);
	rc = profile_option_set_setting(opt, &ps, value, err);
	perf_settings_release(&ps);
	if (rc)
		return rc;
	strbuf_init(&pair, 0);
	strbuf_addf(&pair, "%s=%s", opt->name, value);
	add_string(&o->own_settings, &o->n_own_settings, pair.buf);
	strbuf_release(&pair);
	return 0;
}

int analyze_options_set(struct analyze_options *o, const char *key,
			const char *value, struct it_error *err)
{
	uint64_t u;
	double d;
	bool b;

	if (!strcmp(key, "model_repository")) {
		set_string(&o->model_repository, value);
	} else if (!strcmp(key, "profile_models")) {
		char *copy = xstrdup(value), *item = copy, *next;

		for (; item; item = next) {
			next = strchr(item, ',');
			if (next)
				*next++ = '\0';
			while (*item == ' ')
				item++;
			for (size_t k = strlen(item); k && item[k - 1] == ' '; k--)
				item[k - 1] = '\0';
			if (!*item) {
				free(copy);
				return it_error_set(err, IT_ERR_INVALID,
						    "profile_models: empty model name in '%s'", value);
			}
			analyze_options_model(o, item);
		}
		free(copy);
	} else if (!strcmp(key, "output_model_repository_path")) {
		set_string(&o->output_model_repository, value);
	} else if (!strcmp(key, "export_path")) {
		set_string(&o->export_path, value);
	} else if (!strcmp(key, "override_output_model_repository") ||
		   !strcmp(key, "run_config_search_disable") ||
		   !strcmp(key, "resume") || !strcmp(key, "early_exit_enable") ||
		   !strcmp(key, "skip_summary_reports")) {
		if (!parse_bool(value, &b))
			return it_error_set(err, IT_ERR_INVALID,
					    "%s: '%s' is not true or false", key, value);
		if (!strcmp(key, "override_output_model_repository"))
			o->override_output_repository = b;
		else if (!strcmp(key, "run_config_search_disable"))
			o->search_disable = b;
		else if (!strcmp(key, "resume"))
			o->resume = b;
		else if (!strcmp(key, "skip_summary_reports"))
			o->skip_reports = b;
		else
			o->early_exit_enable = b;
	} else if (!strcmp(key, "run_config_search_mode")) {
		if (strcmp(value, "brute") && strcmp(value, "quick") && strcmp(value, "predictive"))
			return it_error_set(err, IT_ERR_INVALID,
					    "run_config_search_mode: '%s': choose brute, quick or predictive%s",
					    value, !strcmp(value, "optuna") ?
					    " (optuna is not offered)" : "");
		set_string(&o->search_mode, value);
	} else if (!strcmp(key, "run_config_search_min_concurrency") ||
		   !strcmp(key, "run_config_search_max_concurrency")) {
		if (!parse_u64(value, 1u << 20, &u) || u == 0)
			return it_error_set(err, IT_ERR_INVALID,
					    "%s: '%s' is not a whole number from 1 to %u",
					    key, value, 1u << 20);
		if (strstr(key, "_min_")) {
			o->min_concurrency = u;
			o->user_min_concurrency = true;
		} else {
			o->max_concurrency = u;
			o->user_max_concurrency = true;
		}
	} else if (!strcmp(key, "run_config_search_min_instance_count")) {
		return set_i32(key, value, &o->min_instances, &o->user_min_instances, err);
	} else if (!strcmp(key, "run_config_search_max_instance_count")) {
		return set_i32(key, value, &o->max_instances, &o->user_max_instances, err);
	} else if (!strcmp(key, "run_config_search_min_model_batch_size")) {
		return set_i32(key, value, &o->min_mbs, &o->user_min_mbs, err);
	} else if (!strcmp(key, "run_config_search_max_model_batch_size")) {
		return set_i32(key, value, &o->max_mbs, &o->user_max_mbs, err);
	} else if (!strcmp(key, "concurrency")) {
		return parse_u64_list(key, value, 1u << 20, &o->concurrency, err);
	} else if (!strcmp(key, "batch_sizes")) {
		return parse_u64_list(key, value, INT32_MAX, &o->batch_sizes, err);
	} else if (!strcmp(key, "request_rate")) {
		return parse_f64_list(key, value, &o->request_rate, err);
	} else if (!strcmp(key, "objectives")) {
		return parse_objectives(key, value, &o->objectives, &o->n_objectives, err);
	} else if (!strcmp(key, "latency_budget") || !strcmp(key, "min_throughput")) {
		if (!parse_double(value, &d) || !(d > 0))
			return it_error_set(err, IT_ERR_INVALID,
					    "%s: '%s' is not a number > 0", key, value);
		if (!strcmp(key, "latency_budget"))
			o->latency_budget_ms = d;
		else
			o->min_throughput = d;
	} else if (!strcmp(key, "server") || !strcmp(key, "triton_launch_mode")) {
		if (!strcmp(value, "embedded") || !strcmp(value, "local") ||
		    !strcmp(value, "c_api") || !strcmp(value, "docker"))
			o->server_mode = ANALYZE_SERVER_EMBEDDED;
		else if (!strcmp(value, "remote"))
			o->server_mode = ANALYZE_SERVER_REMOTE;
		else
			return it_error_set(err, IT_ERR_INVALID,
					    "%s: '%s': choose embedded or remote", key, value);
	} else if (!strcmp(key, "url") || !strcmp(key, "triton_http_endpoint")) {
		set_string(&o->url, value);
	} else if (!strcmp(key, "metrics_url") || !strcmp(key, "triton_metrics_url")) {
		set_string(&o->metrics_url, value);
	} else if (!strcmp(key, "server_cpus") || !strcmp(key, "client_cpus")) {
		struct cpuset set;

		if (strcmp(value, "auto") && strcmp(value, "none") &&
		    cpuset_parse(value, &set, err)) {
			it_error_prefix(err, "%s (auto, none or a CPU list)", key);
			return IT_ERR_INVALID;
		}
		set_string(key[0] == 's' ? &o->server_cpus : &o->client_cpus, value);
	} else if (!strcmp(key, "num_configs_per_model")) {
		if (!parse_u64(value, 1000, &u))
			return it_error_set(err, IT_ERR_INVALID,
					    "%s: '%s' is not a whole number from 0 to 1000", key, value);
		o->num_configs_per_model = (size_t)u;
	} else if (!strcmp(key, "duration_seconds")) {
		if (!parse_double(value, &d) || d < 0 || d > 3600)
			return it_error_set(err, IT_ERR_INVALID,
					    "%s: '%s' is not a number of seconds from 0 to 3600", key, value);
		o->duration_seconds = d;
	} else if (!strcmp(key, "perf_analyzer_max_auto_adjusts")) {
		if (!parse_u64(value, 100, &u))
			return it_error_set(err, IT_ERR_INVALID,
					    "%s: '%s' is not a whole number from 0 to 100", key, value);
		o->max_auto_adjusts = (unsigned)u;
	} else if (!strcmp(key, "perf_analyzer_flag")) {
		struct perf_settings ps;
		int rc;

		perf_settings_init(&ps);
		rc = perf_settings_apply_pair(&ps, value, err);
		perf_settings_release(&ps);
		if (rc)
			return rc;
		add_string(&o->perf_flags, &o->n_perf_flags, value);
	} else if (!strcmp(key, "filename_model_inference") ||
		   !strcmp(key, "filename_model_gpu") ||
		   !strcmp(key, "filename_server_only")) {
		if (!*value || strchr(value, '/'))
			return it_error_set(err, IT_ERR_INVALID,
					    "%s: '%s' must be a plain file name", key, value);
		if (!strcmp(key, "filename_model_inference"))
			set_string(&o->filename_model_inference, value);
		else if (!strcmp(key, "filename_model_gpu"))
			set_string(&o->filename_model_gpu, value);
		else
			set_string(&o->filename_server_only, value);
	} else if (!strcmp(key, "config_file")) {
		set_string(&o->config_file, value);
	} else if (own_setting_row(key)) {
		return set_own_setting(o, own_setting_row(key), value, err);
	} else {
		return it_error_set(err, IT_ERR_NOT_FOUND, "unknown option '%s'", key);
	}
	return 0;
}

int analyze_options_check(const struct analyze_options *o, struct it_error *err)
{
	if (!o->n_models)
		return it_error_set(err, IT_ERR_INVALID,
				    "no model to profile: give --profile-models M1[,M2] (or profile_models in the config file)");
	if (o->server_mode == ANALYZE_SERVER_REMOTE && !o->url)
		return it_error_set(err, IT_ERR_INVALID,
				    "--server remote needs --url HOST:PORT of the running server");
	if (o->server_mode == ANALYZE_SERVER_EMBEDDED && !o->model_repository)
		return it_error_set(err, IT_ERR_INVALID,
				    "--model-repository DIR is required (the embedded server serves it)");
	if (o->min_concurrency > o->max_concurrency)
		return it_error_set(err, IT_ERR_INVALID,
				    "run_config_search_min_concurrency %llu is above the maximum %llu",
				    (unsigned long long)o->min_concurrency,
				    (unsigned long long)o->max_concurrency);
	if (o->min_instances > o->max_instances)
		return it_error_set(err, IT_ERR_INVALID,
				    "run_config_search_min_instance_count %d is above the maximum %d",
				    o->min_instances, o->max_instances);
	if (o->min_mbs > o->max_mbs)
		return it_error_set(err, IT_ERR_INVALID,
				    "run_config_search_min_model_batch_size %d is above the maximum %d",
				    o->min_mbs, o->max_mbs);
	{
		struct perf_settings ps;
		int rc = analyze_perf_settings(o, NULL, &ps, err);

		if (rc)
			return rc;
		perf_settings_release(&ps);
	}
	for (size_t i = 0; i < o->n_models; i++) {
		const struct model_spec *m = &o->models[i];

		if ((m->concurrency.n || o->concurrency.n) &&
		    (m->request_rate.n || o->request_rate.n))
			return it_error_set(err, IT_ERR_INVALID,
					    "model '%s': give concurrency or request_rate, not both",
					    m->name);
	}
	return 0;
}

/* ---- perf_analyzer flags ---------------------------------------------------- */

int perf_settings_apply(struct perf_settings *ps, const char *key,
			const char *value, struct it_error *err)
{
	const struct profile_option *opt = profile_option_find(key);
	struct strbuf known;

	if (opt && (opt->doors & PROFILE_DOOR_ANALYZE))
		return profile_option_set_setting(opt, ps, value, err);
	strbuf_init(&known, 0);
	profile_option_names(PROFILE_DOOR_ANALYZE, &known);
	it_error_set(err, IT_ERR_NOT_FOUND,
		     "perf_analyzer flag '%s' is not one an analysis sets; it takes: %s",
		     key, known.buf);
	strbuf_release(&known);
	return IT_ERR_NOT_FOUND;
}

int perf_settings_apply_pair(struct perf_settings *ps, const char *pair,
			     struct it_error *err)
{
	const char *eq = strchr(pair, '=');
	char key[128];
	const char *k;

	if (!eq || eq == pair || (size_t)(eq - pair) >= sizeof(key))
		return it_error_set(err, IT_ERR_INVALID,
				    "--perf-analyzer-flag '%s': expected KEY=VALUE", pair);
	snprintf(key, sizeof(key), "%.*s", (int)(eq - pair), pair);
	k = key;
	while (*k == '-')
		k++;
	return perf_settings_apply(ps, k, eq + 1, err);
}

/* Whether "key=value" sets one of perf_analyzer's stability settings. */
static bool sets_stability(const char *pair)
{
	static const char *const rule[] = {
		"stability-percentage", "max-trials", "measurement-request-count",
	};
	const struct profile_option *opt;
	char key[128];
	const char *k = pair, *eq = strchr(pair, '=');

	while (*k == '-')
		k++;
	if (!eq || eq < k)
		return false;
	snprintf(key, sizeof(key), "%.*s", (int)(eq - k), k);
	opt = profile_option_find(key);
	for (size_t i = 0; opt && i < sizeof(rule) / sizeof(rule[0]); i++) {
		if (opt == profile_option_find(rule[i]))
			return true;
	}
	return false;
}

/*
 * Precision mode is analyze's default, but a user who set perf_analyzer's
 * stability settings asked for Model Analyzer's rule; an explicit
 * --precision wins over both.
 */
static int apply_precision(const struct analyze_options *o, const struct model_spec *m,
			   struct perf_settings *out, struct it_error *err)
{
	bool stability = false;
	int rc = 0;

	for (size_t i = 0; i < o->n_perf_flags; i++)
		stability = stability || sets_stability(o->perf_flags[i]);
	for (size_t i = 0; m && i < m->n_perf_flags; i++)
		stability = stability || sets_stability(m->perf_flags[i]);
	if (!stability)
		out->precision_pct = ANALYZE_DEFAULT_PRECISION_PCT;
	for (size_t i = 0; i < o->n_own_settings && !rc; i++) {
		const char *pair = o->own_settings[i], *eq = strchr(pair, '=');
		char key[64];

		snprintf(key, sizeof(key), "%.*s", (int)(eq - pair), pair);
		rc = profile_option_set_setting(profile_option_find(key), out, eq + 1, err);
	}
	return rc ? rc : perf_settings_check(out, err);
}

bool analyze_precision_given(const struct analyze_options *o)
{
	for (size_t i = 0; i < o->n_own_settings; i++) {
		if (!strncmp(o->own_settings[i], "precision=", 10))
			return true;
	}
	return false;
}

int analyze_perf_settings(const struct analyze_options *o,
			  const struct model_spec *m, struct perf_settings *out,
			  struct it_error *err)
{
	int rc = 0;

	perf_settings_init(out);
	/* Unless given, analyzer.c picks the scrape interval from the window length. */
	out->metrics_interval_ms = 0;
	for (size_t i = 0; i < o->n_perf_flags && !rc; i++)
		rc = perf_settings_apply_pair(out, o->perf_flags[i], err);
	for (size_t i = 0; m && i < m->n_perf_flags && !rc; i++)
		rc = perf_settings_apply_pair(out, m->perf_flags[i], err);
	if (!rc)
		rc = apply_precision(o, m, out, err);
	if (rc)
		perf_settings_release(out);
	return rc;
}

void perf_settings_key(const struct perf_settings *ps, char *buf, size_t size)
{
	struct strbuf sb;

	strbuf_init(&sb, 0);
	strbuf_addf(&sb, "mode=%s;", ps->window_mode == PROFILE_COUNT_WINDOWS ?
		    "count_windows" : "time_windows");
	if (ps->window_mode == PROFILE_COUNT_WINDOWS)
		strbuf_addf(&sb, "requests=%llu;",
			    (unsigned long long)ps->measurement_request_count);
	else
		strbuf_addf(&sb, "interval_ms=%llu;",
			    (unsigned long long)ps->measurement_interval_ms);
	strbuf_addf(&sb, "stability=%g;trials=%llu;percentile=%d;threshold_ms=%llu;",
		    ps->stability_percentage, (unsigned long long)ps->max_trials,
		    ps->percentile, (unsigned long long)ps->latency_threshold_ms);
	strbuf_addf(&sb, "data=%s;", ps->input_data == INPUT_DATA_ZERO ? "zero" :
		    ps->input_data == INPUT_DATA_FILE ? ps->input_data_file : "random");
	for (size_t i = 0; i < ps->n_shapes; i++) {
		strbuf_addf(&sb, "shape=%s:", ps->shapes[i].name);
		for (size_t d = 0; d < ps->shapes[i].n_dims; d++)
			strbuf_addf(&sb, "%s%lld", d ? "," : "",
				    (long long)ps->shapes[i].dims[d]);
		strbuf_addch(&sb, ';');
	}
	strbuf_addf(&sb, "strlen=%zu;distribution=%s;errors=%g;tensors=%s/%s",
		    ps->string_length,
		    ps->distribution == PROFILE_POISSON ? "poisson" : "constant",
		    ps->max_error_percentage, ps->input_json ? "json" : "binary",
		    ps->output_json ? "json" : "binary");
	if (ps->precision_pct > 0)
		strbuf_addf(&sb, ";precision=%g;min_windows=%llu", ps->precision_pct,
			    (unsigned long long)ps->min_windows);
	snprintf(buf, size, "%s", sb.buf);
	strbuf_release(&sb);
}

void perf_settings_to_profile(const struct perf_settings *ps,
			      struct profile_options *po)
{
	po->settings = *ps;
}

/* ---- objectives ----------------------------------------------------------- */

int analyze_objectives(const struct analyze_options *o,
		       const struct model_spec *m, struct objective_set *out,
		       struct it_error *err)
{
	const struct objective_spec *obj = o->objectives;
	size_t n_obj = o->n_objectives;
	const struct constraint_spec *con = o->constraints;
	size_t n_con = o->n_constraints;
	int rc;

	memset(out, 0, sizeof(*out));
	if (m && m->n_objectives) {
		obj = m->objectives;
		n_obj = m->n_objectives;
	}
	if (m && m->has_constraints) {
		con = m->constraints;
		n_con = m->n_constraints;
	}
	for (size_t i = 0; i < n_obj; i++) {
		rc = objective_set_add(out, obj[i].tag, obj[i].weight, err);
		if (rc)
			return rc;
	}
	for (size_t i = 0; i < n_con; i++) {
		rc = constraint_set_add(out, con[i].tag, con[i].has_min, con[i].min,
					con[i].has_max, con[i].max, err);
		if (rc)
			return rc;
	}
	if (o->latency_budget_ms > 0) {
		rc = constraint_set_add(out, "perf_latency_p99", false, 0, true,
					o->latency_budget_ms, err);
		if (rc)
			return rc;
	}
	if (o->min_throughput > 0) {
		rc = constraint_set_add(out, "perf_throughput", true, o->min_throughput,
					false, 0, err);
		if (rc)
			return rc;
	}
	objective_set_finish(out);
	return 0;
}

/* ---- JSON ----------------------------------------------------------------- */

static json_t *u64_list_json(const struct u64_list *l)
{
	json_t *a = json_array();

	for (size_t i = 0; i < l->n; i++)
		json_array_append_new(a, json_integer((json_int_t)l->v[i]));
	return a;
}

static json_t *f64_list_json(const struct f64_list *l)
{
	json_t *a = json_array();

	for (size_t i = 0; i < l->n; i++)
		json_array_append_new(a, json_real(l->v[i]));
	return a;
}

static json_t *objectives_json(const struct objective_spec *v, size_t n)
{
	json_t *obj = json_object();

	for (size_t i = 0; i < n; i++)
		json_object_set_new(obj, v[i].tag, json_real(v[i].weight));
	return obj;
}

static json_t *constraints_json(const struct constraint_spec *v, size_t n)
{
	json_t *obj = json_object();

	for (size_t i = 0; i < n; i++) {
		json_t *c = json_object();

		if (v[i].has_min)
			json_object_set_new(c, "min", json_real(v[i].min));
		if (v[i].has_max)
			json_object_set_new(c, "max", json_real(v[i].max));
		json_object_set_new(obj, v[i].tag, c);
	}
	return obj;
}

static json_t *strings_json(char **v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

json_t *analyze_options_to_json(const struct analyze_options *o)
{
	json_t *j = json_object(), *models = json_object();

	json_object_set_new(j, "config_file", str_or_null(o->config_file));
	json_object_set_new(j, "model_repository", str_or_null(o->model_repository));
	json_object_set_new(j, "output_model_repository_path",
			    str_or_null(o->output_model_repository));
	json_object_set_new(j, "export_path", str_or_null(o->export_path));
	json_object_set_new(j, "override_output_model_repository",
			    json_boolean(o->override_output_repository));
	json_object_set_new(j, "run_config_search_mode", json_string(o->search_mode));
	json_object_set_new(j, "run_config_search_disable", json_boolean(o->search_disable));
	json_object_set_new(j, "run_config_search_min_concurrency",
			    json_integer((json_int_t)o->min_concurrency));
	json_object_set_new(j, "run_config_search_max_concurrency",
			    json_integer((json_int_t)o->max_concurrency));
	json_object_set_new(j, "run_config_search_min_instance_count",
			    json_integer(o->min_instances));
	json_object_set_new(j, "run_config_search_max_instance_count",
			    json_integer(o->max_instances));
	json_object_set_new(j, "run_config_search_min_model_batch_size",
			    json_integer(o->min_mbs));
	json_object_set_new(j, "run_config_search_max_model_batch_size",
			    json_integer(o->max_mbs));
	json_object_set_new(j, "concurrency", u64_list_json(&o->concurrency));
	json_object_set_new(j, "batch_sizes", u64_list_json(&o->batch_sizes));
	json_object_set_new(j, "request_rate", f64_list_json(&o->request_rate));
	json_object_set_new(j, "objectives", objectives_json(o->objectives, o->n_objectives));
	json_object_set_new(j, "constraints",
			    constraints_json(o->constraints, o->n_constraints));
	if (o->latency_budget_ms > 0)
		json_object_set_new(j, "latency_budget", json_real(o->latency_budget_ms));
	if (o->min_throughput > 0)
		json_object_set_new(j, "min_throughput", json_real(o->min_throughput));
	json_object_set_new(j, "server", json_string(o->server_mode == ANALYZE_SERVER_REMOTE ?
						     "remote" : "embedded"));
	json_object_set_new(j, "url", str_or_null(o->url));
	json_object_set_new(j, "metrics_url", str_or_null(o->metrics_url));
	json_object_set_new(j, "server_cpus", json_string(o->server_cpus ? o->server_cpus : "auto"));
	json_object_set_new(j, "client_cpus", json_string(o->client_cpus ? o->client_cpus : "auto"));
	json_object_set_new(j, "early_exit_enable", json_boolean(o->early_exit_enable));
	json_object_set_new(j, "num_configs_per_model",
			    json_integer((json_int_t)o->num_configs_per_model));
	json_object_set_new(j, "duration_seconds", json_real(o->duration_seconds));
	json_object_set_new(j, "perf_analyzer_max_auto_adjusts",
			    json_integer(o->max_auto_adjusts));
	json_object_set_new(j, "perf_analyzer_flags", strings_json(o->perf_flags, o->n_perf_flags));
	for (size_t i = 0; i < o->n_models; i++) {
		const struct model_spec *m = &o->models[i];
		json_t *mj = json_object(), *ov = json_array();

		json_object_set_new(mj, "cpu_only", json_boolean(m->cpu_only));
		json_object_set_new(mj, "concurrency", u64_list_json(&m->concurrency));
		json_object_set_new(mj, "batch_sizes", u64_list_json(&m->batch_sizes));
		json_object_set_new(mj, "request_rate", f64_list_json(&m->request_rate));
		json_object_set_new(mj, "objectives",
				    objectives_json(m->objectives, m->n_objectives));
		if (m->has_constraints)
			json_object_set_new(mj, "constraints",
					    constraints_json(m->constraints, m->n_constraints));
		json_object_set_new(mj, "perf_analyzer_flags",
				    strings_json(m->perf_flags, m->n_perf_flags));
		for (size_t k = 0; k < m->manual.n_overlays; k++)
			json_array_append(ov, m->manual.overlays[k]);
		json_object_set_new(mj, "model_config_parameters", ov);
		if (m->manual.n_mbs) {
			json_t *mb = json_array();

			for (size_t k = 0; k < m->manual.n_mbs; k++)
				json_array_append_new(mb, json_integer(m->manual.mbs[k]));
			json_object_set_new(mj, "max_batch_size", mb);
		}
		json_object_set_new(models, m->name, mj);
	}
	json_object_set_new(j, "profile_models", models);
	return j;
}
