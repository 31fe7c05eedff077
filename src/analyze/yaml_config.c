/*
 * Model Analyzer's YAML config file (docs/config.md of model_analyzer), read
 * with libyaml's document loader so that every node keeps its position:
 * an unknown key, a value of the wrong type or out of range, or a
 * model_config_parameters field that ModelConfig does not have is reported
 * as file:line:col of that node. model_config_parameters is expanded here
 * into its cross product (Model Analyzer's GeneratorUtils rules, typed by
 * the ModelConfig descriptors: a list where one value is expected is a
 * sweep; a list of lists sweeps a repeated field), so a bad sweep fails
 * before anything is measured.
 */
#include "analyze/options.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "model/schema.h"
#include "store/figures.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/strbuf.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define YAML_MAX_BYTES ((size_t)4 << 20)

struct yctx {
	yaml_document_t *doc;
	const char *file;
	struct analyze_options *o;
	struct it_error *err;
	const char *text;               /* the file's bytes: where node marks are placed */
	size_t len;
};

static void mark_position(const char *text, size_t len, const yaml_mark_t *m,
			  int *line, int *col);

/* Node n's 1-based line and column in the file (mark_position()). */
static void node_position(const struct yctx *y, const yaml_node_t *n, int *line, int *col)
{
	mark_position(y->text, y->len, &n->start_mark, line, col);
}

/* Model Analyzer keys that do not apply to infertune: accepted with a warning. */
static const char *const ignored_keys[] = {
	"checkpoint_directory", "monitoring_interval", "client_max_retries",
	"client_protocol", "perf_analyzer_path", "perf_analyzer_timeout",
	"perf_analyzer_cpu_util", "perf_output", "perf_output_path",
	"reload_model_disable", "triton_docker_image", "triton_grpc_endpoint",
	"triton_server_path", "triton_output_path", "triton_docker_mounts",
	"triton_docker_shm_size", "triton_docker_labels", "triton_install_path",
	"triton_server_flags", "triton_server_environment", "gpus",
	"skip_detailed_reports", "num_top_model_configs",
	"inference_output_fields", "gpu_output_fields", "server_output_fields",
	"collect_cpu_metrics", "run_config_profile_models_concurrently_enable",
	"run_config_search_max_binary_search_steps", "request_rate_search_enable",
	"concurrency_sweep_disable", "use_concurrency_formula", "plots",
	"always_report_gpu_metrics", "model_type", "bls_composing_models",
	"cpu_only_composing_models", "optuna_min_trials", "optuna_max_trials",
	"optuna_min_percentage_of_search_space", "optuna_max_percentage_of_search_space",
	"optuna_early_exit_threshold", "run_config_search_min_request_rate",
	"run_config_search_max_request_rate",
};

/* Keys whose value is a scalar handed to analyze_options_set(). */
static const char *const scalar_keys[] = {
	"model_repository", "output_model_repository_path", "export_path",
	"override_output_model_repository", "run_config_search_mode",
	"run_config_search_disable", "run_config_search_min_concurrency",
	"run_config_search_max_concurrency", "run_config_search_min_instance_count",
	"run_config_search_max_instance_count", "run_config_search_min_model_batch_size",
	"run_config_search_max_model_batch_size", "latency_budget", "min_throughput",
	"triton_launch_mode", "server", "triton_http_endpoint", "url",
	"triton_metrics_url", "metrics_url", "early_exit_enable",
	"num_configs_per_model", "duration_seconds", "perf_analyzer_max_auto_adjusts",
	"filename_model_inference", "filename_model_gpu", "filename_server_only",
	"resume", "skip_summary_reports", "precision", "min_windows",
	"server_cpus", "client_cpus",
};

static bool in_list(const char *s, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(s, list[i]))
			return true;
	}
	return false;
}

static yaml_node_t *node(struct yctx *y, int index)
{
	return yaml_document_get_node(y->doc, index);
}

/* Fills err at node n's position; returns IT_ERR_INVALID. */
static int fail_at(struct yctx *y, const yaml_node_t *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail_at(struct yctx *y, const yaml_node_t *n, const char *fmt, ...)
{
	va_list ap;
	int rc, line = 0, col = 0;

	if (n)
		node_position(y, n, &line, &col);
	va_start(ap, fmt);
	rc = it_error_atv(y->err, IT_ERR_INVALID, y->file, line, col, fmt, ap);
	va_end(ap);
	return rc;
}

/* Re-positions an error a value parser already filled (keeps its message). */
static int relocate(struct yctx *y, const yaml_node_t *n, int rc)
{
	char msg[IT_ERROR_MESSAGE_MAX];
	int line, col;

	if (!y->err)
		return rc;
	snprintf(msg, sizeof(msg), "%s", y->err->message);
	node_position(y, n, &line, &col);
	it_error_at(y->err, rc == IT_ERR_NOT_FOUND ? IT_ERR_INVALID : rc, y->file,
		    line, col, "%s", msg);
	return y->err->code;
}

static const char *scalar(const yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static bool is_null(const yaml_node_t *n)
{
	const char *s = scalar(n);

	return s && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	       (!*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
		!strcmp(s, "NULL"));
}

static const char *kind_name(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_SCALAR_NODE:
		return "a scalar";
	case YAML_SEQUENCE_NODE:
		return "a list";
	case YAML_MAPPING_NODE:
		return "a mapping";
	default:
		return "nothing";
	}
}

static size_t seq_len(const yaml_node_t *n)
{
	return (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
}

static yaml_node_t *seq_item(struct yctx *y, const yaml_node_t *n, size_t i)
{
	return node(y, n->data.sequence.items.start[i]);
}

static size_t map_len(const yaml_node_t *n)
{
	return (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
}

static yaml_node_t *map_key(struct yctx *y, const yaml_node_t *n, size_t i)
{
	return node(y, n->data.mapping.pairs.start[i].key);
}

static yaml_node_t *map_value(struct yctx *y, const yaml_node_t *n, size_t i)
{
	return node(y, n->data.mapping.pairs.start[i].value);
}

/* A mapping key must be a non-empty scalar. */
static int key_text(struct yctx *y, const yaml_node_t *k, const char **out)
{
	const char *s = scalar(k);

	if (!s || !*s)
		return fail_at(y, k, "a key must be a plain name, not %s", kind_name(k));
	*out = s;
	return 0;
}

/* A scalar, or a list of scalars joined with commas (for list-valued options). */
static int scalar_or_list(struct yctx *y, const yaml_node_t *n, struct strbuf *out)
{
	if (n->type == YAML_SCALAR_NODE) {
		strbuf_adds(out, scalar(n));
		return 0;
	}
	if (n->type != YAML_SEQUENCE_NODE)
		return fail_at(y, n, "expected a value or a list, not %s", kind_name(n));
	for (size_t i = 0; i < seq_len(n); i++) {
		yaml_node_t *it = seq_item(y, n, i);

		if (it->type != YAML_SCALAR_NODE)
			return fail_at(y, it, "expected a value, not %s", kind_name(it));
		if (i)
			strbuf_addch(out, ',');
		strbuf_adds(out, scalar(it));
	}
	return 0;
}

/* concurrency / batch_sizes / request_rate: a value, a list, "1,2,4" or {start, stop, step}. */
static int range_or_list(struct yctx *y, const char *key, const yaml_node_t *n,
			 struct strbuf *out)
{
	const char *start = NULL, *stop = NULL, *step = "1";

	if (n->type != YAML_MAPPING_NODE)
		return scalar_or_list(y, n, out);
	for (size_t i = 0; i < map_len(n); i++) {
		const char *k;
		yaml_node_t *v = map_value(y, n, i);
		int rc = key_text(y, map_key(y, n, i), &k);

		if (rc)
			return rc;
		if (!scalar(v))
			return fail_at(y, v, "%s.%s: expected a number, not %s", key, k,
				       kind_name(v));
		if (!strcmp(k, "start"))
			start = scalar(v);
		else if (!strcmp(k, "stop"))
			stop = scalar(v);
		else if (!strcmp(k, "step"))
			step = scalar(v);
		else
			return fail_at(y, map_key(y, n, i),
				       "%s: unknown key '%s' (a range has start, stop and step)",
				       key, k);
	}
	if (!start || !stop)
		return fail_at(y, n, "%s: a range needs start and stop", key);
	if (!strcmp(key, "request_rate")) {
		char *e1, *e2, *e3;
		double a = strtod(start, &e1), b = strtod(stop, &e2), s = strtod(step, &e3);

		if (*e1 || *e2 || *e3 || !(a > 0) || !(s > 0) || b < a || (b - a) / s > 4096)
			return fail_at(y, n, "%s: bad range %s..%s step %s", key, start, stop, step);
		for (double v = a; v <= b * (1 + 1e-9); v += s)
			strbuf_addf(out, "%s%.17g", out->len ? "," : "", v);
		return 0;
	}
	strbuf_addf(out, "%s:%s:%s", start, stop, step);
	return 0;
}

static int set_key(struct yctx *y, struct analyze_options *o, const char *key,
		   const char *value, const yaml_node_t *at)
{
	int rc = analyze_options_set(o, key, value, y->err);

	return rc ? relocate(y, at, rc) : 0;
}

/* ---- objectives, constraints, perf flags ------------------------------------ */

static int read_objectives(struct yctx *y, const yaml_node_t *n,
			   struct objective_spec **out, size_t *n_out)
{
	struct strbuf sb;
	int rc = 0;

	strbuf_init(&sb, 0);
	if (n->type == YAML_MAPPING_NODE) {
		for (size_t i = 0; i < map_len(n) && !rc; i++) {
			const char *k, *w;
			yaml_node_t *v = map_value(y, n, i);

			rc = key_text(y, map_key(y, n, i), &k);
			if (rc)
				break;
			if (figure_by_tag(k) < 0) {
				rc = fail_at(y, map_key(y, n, i), "objectives: unknown metric '%s'", k);
				break;
			}
			w = scalar(v);
			if (!w || !*w) {
				rc = fail_at(y, v, "objectives.%s: the weight must be a number > 0", k);
				break;
			}
			strbuf_addf(&sb, "%s%s=%s", i ? "," : "", k, w);
		}
	} else {
		rc = scalar_or_list(y, n, &sb);
	}
	if (!rc) {
		struct analyze_options tmp;

		memset(&tmp, 0, sizeof(tmp));
		rc = analyze_options_set(&tmp, "objectives", sb.buf, y->err);
		if (rc) {
			rc = relocate(y, n, rc);
		} else {
			for (size_t i = 0; i < *n_out; i++)
				free((*out)[i].tag);
			free(*out);
			*out = tmp.objectives;
			*n_out = tmp.n_objectives;
		}
	}
	strbuf_release(&sb);
	return rc;
}

static int read_number(struct yctx *y, const yaml_node_t *n, const char *what,
		       double *out)
{
	const char *s = scalar(n);
	char *end;

	if (!s || !*s)
		return fail_at(y, n, "%s: expected a number, not %s", what, kind_name(n));
	errno = 0;
	*out = strtod(s, &end);
	if (*end || errno || !isfinite(*out))
		return fail_at(y, n, "%s: '%s' is not a number", what, s);
	return 0;
}

static int read_constraints(struct yctx *y, const yaml_node_t *n,
			    struct constraint_spec **out, size_t *n_out)
{
	struct constraint_spec *v = NULL;
	size_t count = 0;
	int rc = 0;

	if (n->type != YAML_MAPPING_NODE)
		return fail_at(y, n, "constraints: expected a mapping metric: {min: X} / {max: X}");
	for (size_t i = 0; i < map_len(n) && !rc; i++) {
		const char *tag;
		yaml_node_t *c = map_value(y, n, i);
		struct constraint_spec cs;

		memset(&cs, 0, sizeof(cs));
		rc = key_text(y, map_key(y, n, i), &tag);
		if (rc)
			break;
		/* Model Analyzer's older name for the p99 latency constraint. */
		if (!strcmp(tag, "perf_latency"))
			tag = "perf_latency_p99";
		if (figure_by_tag(tag) < 0) {
			rc = fail_at(y, map_key(y, n, i), "constraints: unknown metric '%s'", tag);
			break;
		}
		if (c->type != YAML_MAPPING_NODE) {
			rc = fail_at(y, c, "constraints.%s: expected {min: X} or {max: X}", tag);
			break;
		}
		for (size_t k = 0; k < map_len(c) && !rc; k++) {
			const char *bk;
			yaml_node_t *bv = map_value(y, c, k);
			char what[160];

			rc = key_text(y, map_key(y, c, k), &bk);
			if (rc)
				break;
			snprintf(what, sizeof(what), "constraints.%s.%s", tag, bk);
			if (!strcmp(bk, "min")) {
				rc = read_number(y, bv, what, &cs.min);
				cs.has_min = true;
			} else if (!strcmp(bk, "max")) {
				rc = read_number(y, bv, what, &cs.max);
				cs.has_max = true;
			} else {
				rc = fail_at(y, map_key(y, c, k),
					     "constraints.%s: unknown bound '%s' (min or max)", tag, bk);
			}
		}
		if (rc)
			break;
		if (!cs.has_min && !cs.has_max) {
			rc = fail_at(y, c, "constraints.%s: give min or max", tag);
			break;
		}
		cs.tag = xstrdup(tag);
		v = xreallocarray(v, count + 1, sizeof(*v));
		v[count++] = cs;
	}
	if (rc) {
		for (size_t i = 0; i < count; i++)
			free(v[i].tag);
		free(v);
		return rc;
	}
	for (size_t i = 0; i < *n_out; i++)
		free((*out)[i].tag);
	free(*out);
	*out = v;
	*n_out = count;
	return 0;
}

static int read_perf_flags(struct yctx *y, const yaml_node_t *n, char ***flags,
			   size_t *n_flags)
{
	struct perf_settings ps;
	int rc = 0;

	if (n->type != YAML_MAPPING_NODE)
		return fail_at(y, n, "perf_analyzer_flags: expected a mapping flag: value");
	perf_settings_init(&ps);
	for (size_t i = 0; i < map_len(n) && !rc; i++) {
		const char *k;
		yaml_node_t *v = map_value(y, n, i);
		size_t count = v->type == YAML_SEQUENCE_NODE ? seq_len(v) : 1;

		rc = key_text(y, map_key(y, n, i), &k);
		if (rc)
			break;
		if (v->type == YAML_MAPPING_NODE) {
			rc = fail_at(y, v, "perf_analyzer_flags.%s: expected a value", k);
			break;
		}
		/* shape and input-data may be lists: one flag per item. */
		for (size_t j = 0; j < count && !rc; j++) {
			yaml_node_t *it = v->type == YAML_SEQUENCE_NODE ? seq_item(y, v, j) : v;
			struct strbuf pair;

			if (!scalar(it)) {
				rc = fail_at(y, it, "perf_analyzer_flags.%s: expected a value", k);
				break;
			}
			rc = perf_settings_apply(&ps, k, scalar(it), y->err);
			if (rc) {
				rc = relocate(y, rc == IT_ERR_NOT_FOUND ? map_key(y, n, i) : it, rc);
				break;
			}
			strbuf_init(&pair, 0);
			strbuf_addf(&pair, "%s=%s", k, scalar(it));
			*flags = xreallocarray(*flags, *n_flags + 1, sizeof(**flags));
			(*flags)[(*n_flags)++] = strbuf_detach(&pair, NULL);
		}
	}
	perf_settings_release(&ps);
	return rc;
}

/* ---- model_config_parameters ---------------------------------------------- */

/* A growable list of JSON alternatives (each a new reference). */
struct alts {
	json_t **v;
	size_t n;
};

static void alts_push(struct alts *a, json_t *j)
{
	a->v = xreallocarray(a->v, a->n + 1, sizeof(*a->v));
	a->v[a->n++] = j;
}

static void alts_clear(struct alts *a)
{
	for (size_t i = 0; i < a->n; i++)
		json_decref(a->v[i]);
	free(a->v);
	a->v = NULL;
	a->n = 0;
}

static int expand_field(struct yctx *y, const yaml_node_t *n,
			const struct pb_field *f, const char *path, struct alts *out);

/*
 * The cross product step shared by mappings and lists: *cur becomes every
 * copy of its alternatives extended by every alternative in *items (set as
 * field `key`, or appended to an array when key is NULL). items is consumed.
 */
static int alts_product(struct yctx *y, const yaml_node_t *n, const char *path,
			struct alts *cur, struct alts *items, const char *key)
{
	struct alts next = { NULL, 0 };

	if (cur->n * items->n > ANALYZE_MAX_COMBINATIONS) {
		alts_clear(items);
		return fail_at(y, n, "%s: more than %d combinations", path, ANALYZE_MAX_COMBINATIONS);
	}
	for (size_t a = 0; a < cur->n; a++) {
		for (size_t b = 0; b < items->n; b++) {
			json_t *copy = json_deep_copy(cur->v[a]);

			if (key)
				json_object_set(copy, key, items->v[b]);
			else
				json_array_append(copy, items->v[b]);
			alts_push(&next, copy);
		}
	}
	alts_clear(items);
	alts_clear(cur);
	*cur = next;
	return 0;
}

/* Moves every alternative of *cur to *out (rc == 0) or drops them; returns rc. */
static int alts_finish(struct alts *cur, struct alts *out, int rc)
{
	if (rc) {
		alts_clear(cur);
		return rc;
	}
	for (size_t i = 0; i < cur->n; i++)
		alts_push(out, cur->v[i]);
	free(cur->v);
	return 0;
}

/* One scalar of protobuf type t as JSON. */
static int scalar_json(struct yctx *y, const yaml_node_t *n, const struct pb_field *f,
		       const char *path, json_t **out)
{
	const char *s = scalar(n);
	char *end;

	if (!s)
		return fail_at(y, n, "%s: expected a value, not %s", path, kind_name(n));
	switch (f->type) {
	case PB_INT32:
	case PB_INT64:
	case PB_UINT32:
	case PB_UINT64: {
		long long v;

		errno = 0;
		v = strtoll(s, &end, 10);
		if (!*s || *end || errno ||
		    ((f->type == PB_UINT32 || f->type == PB_UINT64) && v < 0) ||
		    ((f->type == PB_INT32 || f->type == PB_UINT32) &&
		     (v > 4294967295LL || v < -2147483648LL)))
			return fail_at(y, n, "%s: '%s' is not an integer in range", path, s);
		*out = json_integer(v);
		return 0;
	}
	case PB_FLOAT:
	case PB_DOUBLE: {
		double v;

		errno = 0;
		v = strtod(s, &end);
		if (!*s || *end || errno)
			return fail_at(y, n, "%s: '%s' is not a number", path, s);
		*out = json_real(v);
		return 0;
	}
	case PB_BOOL: {
		bool b;

		if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE"))
			b = true;
		else if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE"))
			b = false;
		else
			return fail_at(y, n, "%s: '%s' is not true or false", path, s);
		*out = json_boolean(b);
		return 0;
	}
	case PB_ENUM: {
		const struct pb_enum_value *ev = pb_enum_by_name(f->enum_type, s, true);

		if (!ev)
			return fail_at(y, n, "%s: '%s' is not a value of %s", path, s,
				       f->enum_type->name);
		*out = json_string(ev->name);
		return 0;
	}
	case PB_STRING:
	case PB_BYTES:
		*out = json_string(s);
		return 0;
	case PB_MESSAGE:
		break;
	}
	return fail_at(y, n, "%s: expected a mapping, not a value", path);
}

/* Alternatives of a message given as a mapping: the product over its keys. */
static int expand_message(struct yctx *y, const yaml_node_t *n,
			  const struct pb_message *desc, const char *path,
			  struct alts *out)
{
	struct alts cur = { NULL, 0 };
	int rc = 0;

	if (is_null(n)) {
		alts_push(out, json_object());
		return 0;
	}
	if (n->type != YAML_MAPPING_NODE)
		return fail_at(y, n, "%s: expected a mapping, not %s", path, kind_name(n));
	alts_push(&cur, json_object());
	for (size_t i = 0; i < map_len(n) && !rc; i++) {
		const char *k;
		const struct pb_field *f;
		struct alts vals = { NULL, 0 };
		char sub[512];

		rc = key_text(y, map_key(y, n, i), &k);
		if (rc)
			break;
		f = pb_message_field(desc, k, false);
		if (!f)
			f = pb_message_field(desc, k, true);
		if (!f) {
			rc = fail_at(y, map_key(y, n, i), "%s: %s has no field '%s'", path,
				     desc->name, k);
			break;
		}
		snprintf(sub, sizeof(sub), "%s.%s", path, f->name);
		rc = expand_field(y, map_value(y, n, i), f, sub, &vals);
		if (rc) {
			alts_clear(&vals);
			break;
		}
		rc = alts_product(y, n, path, &cur, &vals, f->name);
	}
	return alts_finish(&cur, out, rc);
}

/* One value of a repeated message given as a list: the product over its items. */
static int expand_message_list(struct yctx *y, const yaml_node_t *n,
			       const struct pb_message *desc, const char *path,
			       struct alts *out)
{
	struct alts cur = { NULL, 0 };
	int rc = 0;

	alts_push(&cur, json_array());
	for (size_t i = 0; i < seq_len(n) && !rc; i++) {
		struct alts items = { NULL, 0 };
		char sub[512];

		snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
		rc = expand_message(y, seq_item(y, n, i), desc, sub, &items);
		if (rc) {
			alts_clear(&items);
			break;
		}
		rc = alts_product(y, n, path, &cur, &items, NULL);
	}
	return alts_finish(&cur, out, rc);
}

/* One value of a repeated scalar field given as a list. */
static int scalar_list_json(struct yctx *y, const yaml_node_t *n,
			    const struct pb_field *f, const char *path, json_t **out)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < seq_len(n); i++) {
		json_t *v;
		int rc = scalar_json(y, seq_item(y, n, i), f, path, &v);

		if (rc) {
			json_decref(arr);
			return rc;
		}
		json_array_append_new(arr, v);
	}
	*out = arr;
	return 0;
}

static bool all_sequences(struct yctx *y, const yaml_node_t *n)
{
	if (n->type != YAML_SEQUENCE_NODE || !seq_len(n))
		return false;
	for (size_t i = 0; i < seq_len(n); i++) {
		if (seq_item(y, n, i)->type != YAML_SEQUENCE_NODE)
			return false;
	}
	return true;
}

/* A map field (parameters): key -> value message, or key -> value shorthand. */
static int expand_map(struct yctx *y, const yaml_node_t *n, const struct pb_field *f,
		      const char *path, struct alts *out)
{
	const struct pb_field *vf = pb_message_field(f->message, "value", false);
	struct alts cur = { NULL, 0 };
	int rc = 0;

	if (n->type != YAML_MAPPING_NODE)
		return fail_at(y, n, "%s: expected a mapping key: value", path);
	alts_push(&cur, json_object());
	for (size_t i = 0; i < map_len(n) && !rc; i++) {
		const char *k;
		yaml_node_t *v = map_value(y, n, i);
		struct alts vals = { NULL, 0 }, next = { NULL, 0 };
		char sub[512];

		rc = key_text(y, map_key(y, n, i), &k);
		if (rc)
			break;
		snprintf(sub, sizeof(sub), "%s.%s", path, k);
		if (vf->type == PB_MESSAGE && v->type != YAML_MAPPING_NODE) {
			/* "KEY: value" or "KEY: [a, b]" for {string_value: ...}. */
			const struct pb_field *sf = &vf->message->fields[0];
			struct alts inner = { NULL, 0 };

			rc = expand_field(y, v, sf, sub, &inner);
			for (size_t a = 0; !rc && a < inner.n; a++) {
				json_t *o = json_object();

				json_object_set(o, sf->name, inner.v[a]);
				alts_push(&vals, o);
			}
			alts_clear(&inner);
		} else {
			rc = expand_field(y, v, vf, sub, &vals);
		}
		if (rc) {
			alts_clear(&vals);
			break;
		}
		if (cur.n * vals.n > ANALYZE_MAX_COMBINATIONS) {
			alts_clear(&vals);
			rc = fail_at(y, n, "%s: more than %d combinations", path, ANALYZE_MAX_COMBINATIONS);
			break;
		}
		for (size_t a = 0; a < cur.n; a++) {
			for (size_t b = 0; b < vals.n; b++) {
				json_t *o = json_deep_copy(cur.v[a]);

				json_object_set(o, k, vals.v[b]);
				alts_push(&next, o);
			}
		}
		alts_clear(&vals);
		alts_clear(&cur);
		cur = next;
	}
	if (rc) {
		alts_clear(&cur);
		return rc;
	}
	for (size_t i = 0; i < cur.n; i++)
		alts_push(out, cur.v[i]);
	free(cur.v);
	return 0;
}

/*
 * The alternatives of one field. Rules (Model Analyzer's, typed by the
 * descriptor): a singular field takes a value, or a list of values to sweep;
 * a repeated field takes a list (one value) or a list of lists (a sweep);
 * a message takes a mapping, whose own lists sweep.
 */
static int expand_field(struct yctx *y, const yaml_node_t *n,
			const struct pb_field *f, const char *path, struct alts *out)
{
	int rc;

	if (f->flags & PB_MAP)
		return expand_map(y, n, f, path, out);
	if (f->flags & PB_REPEATED) {
		if (f->type == PB_MESSAGE) {
			if (n->type == YAML_MAPPING_NODE) {
				struct alts items = { NULL, 0 };

				rc = expand_message(y, n, f->message, path, &items);
				for (size_t i = 0; !rc && i < items.n; i++) {
					json_t *arr = json_array();

					json_array_append(arr, items.v[i]);
					alts_push(out, arr);
				}
				alts_clear(&items);
				return rc;
			}
			if (n->type != YAML_SEQUENCE_NODE)
				return fail_at(y, n, "%s: expected a list of mappings", path);
			if (all_sequences(y, n)) {
				for (size_t i = 0; i < seq_len(n); i++) {
					rc = expand_message_list(y, seq_item(y, n, i), f->message,
								 path, out);
					if (rc)
						return rc;
				}
				return 0;
			}
			return expand_message_list(y, n, f->message, path, out);
		}
		if (n->type == YAML_SCALAR_NODE) {
			json_t *v, *arr;

			rc = scalar_json(y, n, f, path, &v);
			if (rc)
				return rc;
			arr = json_array();
			json_array_append_new(arr, v);
			alts_push(out, arr);
			return 0;
		}
		if (n->type != YAML_SEQUENCE_NODE)
			return fail_at(y, n, "%s: expected a list, not %s", path, kind_name(n));
		if (all_sequences(y, n)) {
			for (size_t i = 0; i < seq_len(n); i++) {
				json_t *arr;

				rc = scalar_list_json(y, seq_item(y, n, i), f, path, &arr);
				if (rc)
					return rc;
				alts_push(out, arr);
			}
			return 0;
		}
		{
			json_t *arr;

			rc = scalar_list_json(y, n, f, path, &arr);
			if (rc)
				return rc;
			alts_push(out, arr);
			return 0;
		}
	}
	if (f->type == PB_MESSAGE) {
		if (n->type == YAML_SEQUENCE_NODE) {
			for (size_t i = 0; i < seq_len(n); i++) {
				rc = expand_message(y, seq_item(y, n, i), f->message, path, out);
				if (rc)
					return rc;
			}
			return 0;
		}
		return expand_message(y, n, f->message, path, out);
	}
	if (n->type == YAML_SEQUENCE_NODE) {
		if (!seq_len(n))
			return fail_at(y, n, "%s: an empty list sweeps nothing", path);
		for (size_t i = 0; i < seq_len(n); i++) {
			json_t *v;

			rc = scalar_json(y, seq_item(y, n, i), f, path, &v);
			if (rc)
				return rc;
			alts_push(out, v);
		}
		return 0;
	}
	{
		json_t *v;

		rc = scalar_json(y, n, f, path, &v);
		if (rc)
			return rc;
		alts_push(out, v);
		return 0;
	}
}

static int read_model_config_parameters(struct yctx *y, const yaml_node_t *n,
					struct model_spec *m)
{
	struct alts mbs = { NULL, 0 }, combos = { NULL, 0 };
	yaml_document_t *doc = y->doc;
	int rc = 0;

	(void)doc;
	if (n->type != YAML_MAPPING_NODE)
		return fail_at(y, n, "model_config_parameters: expected a mapping of ModelConfig fields");
	/* max_batch_size is the inner loop (manual_model_config_generator.py). */
	for (size_t i = 0; i < map_len(n) && !rc; i++) {
		const char *k;

		rc = key_text(y, map_key(y, n, i), &k);
		if (!rc && !strcmp(k, "max_batch_size"))
			rc = expand_field(y, map_value(y, n, i),
					  pb_message_field(&pb_ModelConfig, "max_batch_size", false),
					  "model_config_parameters.max_batch_size", &mbs);
	}
	if (!rc) {
		/* Everything else: expand a copy of the mapping without max_batch_size. */
		struct alts cur = { NULL, 0 };

		alts_push(&cur, json_object());
		for (size_t i = 0; i < map_len(n) && !rc; i++) {
			const char *k;
			const struct pb_field *f;
			struct alts vals = { NULL, 0 }, next = { NULL, 0 };
			char sub[256];

			key_text(y, map_key(y, n, i), &k);
			if (!strcmp(k, "max_batch_size"))
				continue;
			f = pb_message_field(&pb_ModelConfig, k, false);
			if (!f)
				f = pb_message_field(&pb_ModelConfig, k, true);
			if (!f) {
				rc = fail_at(y, map_key(y, n, i),
					     "model_config_parameters: ModelConfig has no field '%s'", k);
				break;
			}
			if (!strcmp(f->name, "name")) {
				rc = fail_at(y, map_key(y, n, i),
					     "model_config_parameters: the name is set by the analysis");
				break;
			}
			snprintf(sub, sizeof(sub), "model_config_parameters.%s", f->name);
			rc = expand_field(y, map_value(y, n, i), f, sub, &vals);
			if (!rc && cur.n * vals.n > ANALYZE_MAX_COMBINATIONS)
				rc = fail_at(y, n, "model_config_parameters: more than %d combinations",
					     ANALYZE_MAX_COMBINATIONS);
			for (size_t a = 0; !rc && a < cur.n; a++) {
				for (size_t b = 0; b < vals.n; b++) {
					json_t *o = json_deep_copy(cur.v[a]);

					json_object_set(o, f->name, vals.v[b]);
					alts_push(&next, o);
				}
			}
			alts_clear(&vals);
			if (rc) {
				alts_clear(&next);
				break;
			}
			alts_clear(&cur);
			cur = next;
		}
		combos = cur;
	}
	if (rc) {
		alts_clear(&mbs);
		alts_clear(&combos);
		return rc;
	}
	for (size_t i = 0; i < m->manual.n_overlays; i++)
		json_decref(m->manual.overlays[i]);
	free(m->manual.overlays);
	free(m->manual.mbs);
	m->manual.given = true;
	m->manual.mbs = xcalloc(mbs.n ? mbs.n : 1, sizeof(*m->manual.mbs));
	m->manual.n_mbs = mbs.n;
	for (size_t i = 0; i < mbs.n; i++)
		m->manual.mbs[i] = (int32_t)json_integer_value(mbs.v[i]);
	alts_clear(&mbs);
	/* A lone empty combination (only max_batch_size given) sweeps nothing else. */
	if (combos.n == 1 && json_object_size(combos.v[0]) == 0)
		alts_clear(&combos);
	m->manual.overlays = combos.v;
	m->manual.n_overlays = combos.n;
	return 0;
}

/* ---- profile_models ----------------------------------------------------------- */

static int read_model_object(struct yctx *y, const char *name, const yaml_node_t *n)
{
	struct model_spec *m = analyze_options_model(y->o, name);
	int rc = 0;

	if (is_null(n))
		return 0;
	if (n->type != YAML_MAPPING_NODE)
		return fail_at(y, n, "profile_models.%s: expected a mapping of model settings", name);
	for (size_t i = 0; i < map_len(n) && !rc; i++) {
		const char *k;
		yaml_node_t *v = map_value(y, n, i);

		rc = key_text(y, map_key(y, n, i), &k);
		if (rc)
			break;
		if (!strcmp(k, "cpu_only")) {
			const char *s = scalar(v);

			if (!s || (strcmp(s, "true") && strcmp(s, "false") &&
				   strcmp(s, "True") && strcmp(s, "False")))
				rc = fail_at(y, v, "profile_models.%s.cpu_only: expected true or false", name);
			else
				m->cpu_only = s[0] == 't' || s[0] == 'T';
		} else if (!strcmp(k, "parameters")) {
			if (v->type != YAML_MAPPING_NODE) {
				rc = fail_at(y, v, "profile_models.%s.parameters: expected a mapping", name);
				break;
			}
			for (size_t j = 0; j < map_len(v) && !rc; j++) {
				const char *pk;
				yaml_node_t *pv = map_value(y, v, j);
				struct analyze_options tmp;
				struct strbuf sb;

				rc = key_text(y, map_key(y, v, j), &pk);
				if (rc)
					break;
				if (strcmp(pk, "concurrency") && strcmp(pk, "batch_sizes") &&
				    strcmp(pk, "request_rate")) {
					rc = fail_at(y, map_key(y, v, j),
						     "profile_models.%s.parameters: unknown key '%s' (concurrency, batch_sizes, request_rate)",
						     name, pk);
					break;
				}
				strbuf_init(&sb, 0);
				rc = range_or_list(y, pk, pv, &sb);
				memset(&tmp, 0, sizeof(tmp));
				if (!rc) {
					rc = analyze_options_set(&tmp, pk, sb.buf, y->err);
					if (rc)
						rc = relocate(y, pv, rc);
				}
				strbuf_release(&sb);
				if (rc)
					break;
				if (!strcmp(pk, "concurrency")) {
					free(m->concurrency.v);
					m->concurrency = tmp.concurrency;
				} else if (!strcmp(pk, "batch_sizes")) {
					free(m->batch_sizes.v);
					m->batch_sizes = tmp.batch_sizes;
				} else {
					free(m->request_rate.v);
					m->request_rate = tmp.request_rate;
				}
			}
		} else if (!strcmp(k, "objectives")) {
			rc = read_objectives(y, v, &m->objectives, &m->n_objectives);
		} else if (!strcmp(k, "constraints")) {
			rc = read_constraints(y, v, &m->constraints, &m->n_constraints);
			m->has_constraints = rc == 0;
		} else if (!strcmp(k, "model_config_parameters")) {
			rc = read_model_config_parameters(y, v, m);
		} else if (!strcmp(k, "perf_analyzer_flags")) {
			rc = read_perf_flags(y, v, &m->perf_flags, &m->n_perf_flags);
		} else if (!strcmp(k, "weighting")) {
			double w;

			rc = read_number(y, v, "weighting", &w);
			if (!rc && !(w > 0))
				rc = fail_at(y, v, "profile_models.%s.weighting: must be > 0", name);
			if (!rc)
				m->weighting = w;
		} else if (!strcmp(k, "triton_server_flags") ||
			   !strcmp(k, "triton_server_environment")) {
			struct strbuf sb;
			int line, col;

			node_position(y, map_key(y, n, i), &line, &col);
			strbuf_init(&sb, 0);
			strbuf_addf(&sb, "%s:%d:%d: profile_models.%s.%s does not apply to infertune; ignored",
				    y->file, line, col, name, k);
			y->o->warnings = xreallocarray(y->o->warnings, y->o->n_warnings + 1,
						       sizeof(*y->o->warnings));
			y->o->warnings[y->o->n_warnings++] = strbuf_detach(&sb, NULL);
		} else {
			rc = fail_at(y, map_key(y, n, i),
				     "profile_models.%s: unknown key '%s' (cpu_only, parameters, objectives, constraints, model_config_parameters, perf_analyzer_flags, weighting)",
				     name, k);
		}
	}
	return rc;
}

static int read_profile_models(struct yctx *y, const yaml_node_t *n)
{
	int rc = 0;

	if (n->type == YAML_SCALAR_NODE)
		return set_key(y, y->o, "profile_models", scalar(n), n);
	if (n->type == YAML_MAPPING_NODE) {
		for (size_t i = 0; i < map_len(n) && !rc; i++) {
			const char *name;

			rc = key_text(y, map_key(y, n, i), &name);
			if (!rc)
				rc = read_model_object(y, name, map_value(y, n, i));
		}
		return rc;
	}
	for (size_t i = 0; i < seq_len(n) && !rc; i++) {
		yaml_node_t *it = seq_item(y, n, i);

		if (it->type == YAML_SCALAR_NODE)
			rc = set_key(y, y->o, "profile_models", scalar(it), it);
		else if (it->type == YAML_MAPPING_NODE)
			rc = read_profile_models(y, it);
		else
			rc = fail_at(y, it, "profile_models: expected a model name or mapping");
	}
	return rc;
}

/* ---- the document ------------------------------------------------------------- */

static int read_root(struct yctx *y, const yaml_node_t *root)
{
	struct analyze_options *o = y->o;
	int rc = 0;

	if (!root || is_null(root))
		return 0;
	if (root->type != YAML_MAPPING_NODE)
		return fail_at(y, root, "the config file must be a mapping of option: value");
	for (size_t i = 0; i < map_len(root) && !rc; i++) {
		yaml_node_t *kn = map_key(y, root, i), *v = map_value(y, root, i);
		const char *k;

		rc = key_text(y, kn, &k);
		if (rc)
			break;
		if (!strcmp(k, "profile_models")) {
			rc = read_profile_models(y, v);
		} else if (!strcmp(k, "objectives")) {
			rc = read_objectives(y, v, &o->objectives, &o->n_objectives);
		} else if (!strcmp(k, "constraints")) {
			rc = read_constraints(y, v, &o->constraints, &o->n_constraints);
		} else if (!strcmp(k, "perf_analyzer_flags")) {
			rc = read_perf_flags(y, v, &o->perf_flags, &o->n_perf_flags);
		} else if (!strcmp(k, "concurrency") || !strcmp(k, "batch_sizes") ||
			   !strcmp(k, "request_rate")) {
			struct strbuf sb;

			strbuf_init(&sb, 0);
			rc = range_or_list(y, k, v, &sb);
			if (!rc)
				rc = set_key(y, o, k, sb.buf, v);
			strbuf_release(&sb);
		} else if (in_list(k, scalar_keys, sizeof(scalar_keys) / sizeof(scalar_keys[0]))) {
			if (!scalar(v) || (is_null(v) && strcmp(k, "export_path")))
				rc = fail_at(y, v, "%s: expected a value, not %s", k,
					     is_null(v) ? "nothing" : kind_name(v));
			else
				rc = set_key(y, o, k, scalar(v), v);
		} else if (!strcmp(k, "model_config_parameters") || !strcmp(k, "parameters") ||
			   !strcmp(k, "cpu_only") || !strcmp(k, "weighting")) {
			rc = fail_at(y, kn, "%s is set per model, under profile_models.<model>.%s",
				     k, k);
		} else if (in_list(k, ignored_keys, sizeof(ignored_keys) / sizeof(ignored_keys[0]))) {
			struct strbuf sb;
			int line, col;

			node_position(y, kn, &line, &col);
			strbuf_init(&sb, 0);
			strbuf_addf(&sb, "%s:%d:%d: %s does not apply to infertune; ignored",
				    y->file, line, col, k);
			o->warnings = xreallocarray(o->warnings, o->n_warnings + 1,
						    sizeof(*o->warnings));
			o->warnings[o->n_warnings++] = strbuf_detach(&sb, NULL);
		} else {
			rc = fail_at(y, kn, "unknown option '%s' (Model Analyzer's profile keys, in snake_case)",
				     k);
		}
	}
	return rc;
}

/* Bytes of the YAML line break at s[0..n) (LF, CR, CRLF, NEL, LS, PS), or 0. */
static size_t line_break_len(const unsigned char *s, size_t n)
{
	if (s[0] == '\n')
		return 1;
	if (s[0] == '\r')
		return n > 1 && s[1] == '\n' ? 2 : 1;
	if (n > 1 && s[0] == 0xC2 && s[1] == 0x85)
		return 2;
	if (n > 2 && s[0] == 0xE2 && s[1] == 0x80 && (s[2] == 0xA8 || s[2] == 0xA9))
		return 3;
	return 0;
}

/*
 * The 1-based line and column of a libyaml mark. At the end of a text
 * that does not end with a line break, libyaml moves its mark to the start
 * of a line after the last; such a fault is reported just past the end of
 * the last line instead. Lines and columns count as libyaml counts them:
 * YAML line breaks, characters.
 */
static void mark_position(const char *text, size_t len, const yaml_mark_t *m,
			  int *line, int *col)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t breaks = 0, chars = 0, last_chars = 0, i = 0;
	bool ends_with_break = false;

	while (i < len) {
		size_t b = line_break_len(s + i, len - i);

		ends_with_break = b > 0;
		if (b) {
			breaks++;
			chars += b == 2 && s[i] == '\r' ? 2 : 1; /* libyaml counts CRLF as two */
			last_chars = 0;
			i += b;
			continue;
		}
		if ((s[i] & 0xC0) != 0x80) {
			chars++;
			last_chars++;
		}
		i++;
	}
	*line = (int)m->line + 1;
	*col = (int)m->column + 1;
	if (m->index >= chars && !ends_with_break && m->line == breaks + 1 && m->column == 0) {
		*line = (int)breaks + 1;
		*col = (int)last_chars + 1;
	}
}

int analyze_options_parse_yaml(struct analyze_options *o, const char *text,
			       size_t len, const char *name,
			       struct it_error *err)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	struct yctx y = { &doc, name, o, err, text, len };
	bool have_doc = false;
	int rc = 0;

	if (!yaml_parser_initialize(&parser))
		return it_error_set(err, IT_ERR_INTERNAL, "libyaml: cannot initialise a parser");
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	/*
	 * UTF-8 only: libyaml would otherwise decode a UTF-16 file (after its
	 * BOM), whose positions mark_position() cannot place in the bytes.
	 */
	yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING);
	if (!yaml_parser_load(&parser, &doc)) {
		int line, col;

		mark_position(text, len, &parser.problem_mark, &line, &col);
		rc = it_error_at(err, IT_ERR_PARSE, name, line, col, "YAML: %s%s%s",
				 parser.problem ? parser.problem : "syntax error",
				 parser.context ? " " : "", parser.context ? parser.context : "");
		goto out;
	}
	have_doc = true;
	rc = read_root(&y, yaml_document_get_root_node(&doc));
	if (!rc) {
		yaml_document_t extra;

		/* A second document would be silently ignored: refuse it. */
		if (yaml_parser_load(&parser, &extra)) {
			yaml_node_t *r = yaml_document_get_root_node(&extra);
			int line, col;

			if (r) {
				node_position(&y, r, &line, &col);
				rc = it_error_at(err, IT_ERR_PARSE, name, line, col,
						 "YAML: only one document is allowed");
			}
			yaml_document_delete(&extra);
		}
	}
out:
	if (have_doc)
		yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	return rc;
}

int analyze_options_read_yaml(struct analyze_options *o, const char *path,
			      struct it_error *err)
{
	char *text = NULL;
	size_t len = 0;
	int rc;

	rc = fs_read_file(path, YAML_MAX_BYTES, &text, &len, err);
	if (rc)
		return rc;
	if (!o->config_file || strcmp(o->config_file, path)) {
		free(o->config_file);
		o->config_file = xstrdup(path);
	}
	rc = analyze_options_parse_yaml(o, text, len, path, err);
	free(text);
	return rc;
}
