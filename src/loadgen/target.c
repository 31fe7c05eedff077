/*
 * Model metadata, configuration and statistics as a KServe v2 / Triton
 * server sends them.
 */
#include "loadgen/target.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "util/error.h"
#include "util/xalloc.h"
#include "util/banned.h"

static void tensor_release(struct target_tensor *t)
{
	free(t->name);
	free(t->shape);
}

void target_model_free(struct target_model *m)
{
	if (!m)
		return;
	free(m->name);
	free(m->platform);
	for (size_t i = 0; i < m->n_versions; i++)
		free(m->versions[i]);
	free(m->versions);
	for (size_t i = 0; i < m->n_inputs; i++)
		tensor_release(&m->inputs[i]);
	free(m->inputs);
	for (size_t i = 0; i < m->n_outputs; i++)
		tensor_release(&m->outputs[i]);
	free(m->outputs);
	free(m);
}

static int load_json(const char *text, size_t len, const char *what,
		     json_t **out, struct it_error *err)
{
	json_error_t jerr;
	json_t *root = json_loadb(text, len, 0, &jerr);

	if (!root)
		return it_error_set(err, IT_ERR_PARSE,
				    "%s is not JSON (line %d: %s)", what,
				    jerr.line, jerr.text);
	if (!json_is_object(root)) {
		json_decref(root);
		return it_error_set(err, IT_ERR_INVALID,
				    "%s is not a JSON object", what);
	}
	*out = root;
	return 0;
}

/* Parses one {"name","datatype","shape"} object of the metadata. */
static int parse_tensor(json_t *obj, const char *kind, size_t index,
			struct target_tensor *t, struct it_error *err)
{
	json_t *name = json_object_get(obj, "name");
	json_t *dt = json_object_get(obj, "datatype");
	json_t *shape = json_object_get(obj, "shape");
	size_t i;
	json_t *v;

	if (!json_is_string(name))
		return it_error_set(err, IT_ERR_INVALID,
				    "model metadata: %s %zu has no name", kind, index);
	t->name = xstrdup(json_string_value(name));
	if (!json_is_string(dt) ||
	    !datatype_from_protocol_name(json_string_value(dt), &t->datatype))
		return it_error_set(err, IT_ERR_INVALID,
				    "model metadata: %s '%s' has %s datatype '%s'",
				    kind, t->name,
				    json_is_string(dt) ? "an unknown" : "no",
				    json_is_string(dt) ? json_string_value(dt) : "");
	if (!json_is_array(shape))
		return it_error_set(err, IT_ERR_INVALID,
				    "model metadata: %s '%s' has no shape", kind,
				    t->name);
	t->n_shape = json_array_size(shape);
	t->shape = xcalloc(t->n_shape ? t->n_shape : 1, sizeof(*t->shape));
	json_array_foreach(shape, i, v) {
		if (!json_is_integer(v) || json_integer_value(v) < -1)
			return it_error_set(err, IT_ERR_INVALID,
					    "model metadata: %s '%s' has a shape entry that is not -1 or a size",
					    kind, t->name);
		t->shape[i] = json_integer_value(v);
	}
	return 0;
}

static int parse_tensors(json_t *root, const char *key, const char *kind,
			 struct target_tensor **out, size_t *n,
			 struct it_error *err)
{
	json_t *arr = json_object_get(root, key);
	size_t i;
	json_t *v;

	if (!json_is_array(arr))
		return it_error_set(err, IT_ERR_INVALID,
				    "model metadata has no '%s' list", key);
	*n = json_array_size(arr);
	*out = xcalloc(*n ? *n : 1, sizeof(**out));
	json_array_foreach(arr, i, v) {
		int rc;

		if (!json_is_object(v))
			return it_error_set(err, IT_ERR_INVALID,
					    "model metadata: %s %zu is not an object",
					    kind, i);
		rc = parse_tensor(v, kind, i, &(*out)[i], err);
		if (rc)
			return rc;
	}
	return 0;
}

/* Flags from the config's input/output lists, matched by name. */
static void apply_config_tensors(json_t *list, struct target_tensor *ts,
				 size_t n)
{
	size_t i;
	json_t *v;

	if (!json_is_array(list))
		return;
	json_array_foreach(list, i, v) {
		const char *name = json_string_value(json_object_get(v, "name"));

		if (!name)
			continue;
		for (size_t j = 0; j < n; j++) {
			if (strcmp(ts[j].name, name))
				continue;
			ts[j].optional = json_is_true(json_object_get(v, "optional"));
			ts[j].is_shape_tensor =
				json_is_true(json_object_get(v, "is_shape_tensor"));
		}
	}
}

/* A 64-bit field that Triton sends as a number and Model Analyzer as a string. */
static int64_t json_int64(json_t *v)
{
	if (json_is_integer(v))
		return json_integer_value(v);
	if (json_is_string(v))
		return strtoll(json_string_value(v), NULL, 10);
	return 0;
}

int target_model_parse(const char *metadata_json, size_t metadata_len,
		       const char *config_json, size_t config_len,
		       struct target_model **out, struct it_error *err)
{
	struct target_model *m = xcalloc(1, sizeof(*m));
	json_t *meta = NULL, *cfg = NULL, *v;
	size_t i;
	int rc;

	rc = load_json(metadata_json, metadata_len, "the model metadata", &meta,
		       err);
	if (rc)
		goto out;
	if (!json_is_string(json_object_get(meta, "name"))) {
		rc = it_error_set(err, IT_ERR_INVALID,
				  "the model metadata has no name");
		goto out;
	}
	m->name = xstrdup(json_string_value(json_object_get(meta, "name")));
	m->platform = xstrdup(json_is_string(json_object_get(meta, "platform")) ?
			      json_string_value(json_object_get(meta, "platform")) : "");
	v = json_object_get(meta, "versions");
	if (json_is_array(v)) {
		json_t *e;

		m->versions = xcalloc(json_array_size(v) + 1, sizeof(*m->versions));
		json_array_foreach(v, i, e) {
			if (json_is_string(e))
				m->versions[m->n_versions++] =
					xstrdup(json_string_value(e));
		}
	}
	rc = parse_tensors(meta, "inputs", "input", &m->inputs, &m->n_inputs, err);
	if (rc)
		goto out;
	rc = parse_tensors(meta, "outputs", "output", &m->outputs, &m->n_outputs,
			   err);
	if (rc)
		goto out;
	if (config_json) {
		json_t *policy, *cache;

		rc = load_json(config_json, config_len, "the model configuration",
			       &cfg, err);
		if (rc)
			goto out;
		m->has_config = true;
		m->max_batch_size = json_int64(json_object_get(cfg, "max_batch_size"));
		if (m->max_batch_size < 0)
			m->max_batch_size = 0;
		policy = json_object_get(cfg, "model_transaction_policy");
		m->decoupled = json_is_true(json_object_get(policy, "decoupled"));
		cache = json_object_get(cfg, "response_cache");
		m->cache_enabled = json_is_true(json_object_get(cache, "enable"));
		apply_config_tensors(json_object_get(cfg, "input"), m->inputs,
				     m->n_inputs);
		apply_config_tensors(json_object_get(cfg, "output"), m->outputs,
				     m->n_outputs);
	}
	*out = m;
	m = NULL;
out:
	json_decref(cfg);
	json_decref(meta);
	target_model_free(m);
	return rc;
}

const struct target_tensor *target_model_input(const struct target_model *m,
					       const char *name)
{
	for (size_t i = 0; i < m->n_inputs; i++) {
		if (!strcmp(m->inputs[i].name, name))
			return &m->inputs[i];
	}
	return NULL;
}

/* {"count": N, "ns": N} */
static void duration_stat(json_t *stats, const char *key, uint64_t *count,
			  uint64_t *ns)
{
	json_t *o = json_object_get(stats, key);

	*count = (uint64_t)json_int64(json_object_get(o, "count"));
	*ns = (uint64_t)json_int64(json_object_get(o, "ns"));
}

/*
 * Loads a statistics answer into *root (the caller's to json_decref, also
 * on failure) and finds its 'model_stats' list.
 */
static int load_model_stats(const char *json, size_t len, json_t **root,
			    json_t **list, struct it_error *err)
{
	int rc = load_json(json, len, "the statistics answer", root, err);

	if (rc)
		return rc;
	*list = json_object_get(*root, "model_stats");
	if (!json_is_array(*list))
		return it_error_set(err, IT_ERR_INVALID,
				    "the statistics answer has no 'model_stats' list");
	return 0;
}

/* The version of a model_stats entry as struct remote_stats keeps it (truncated). */
static void entry_version(json_t *e, char version[32])
{
	const char *v = json_string_value(json_object_get(e, "version"));
	size_t vlen = v ? strlen(v) : 0;

	if (vlen >= 32)
		vlen = 31;
	if (v)
		memcpy(version, v, vlen);
	version[vlen] = '\0';
}

int remote_stats_parse(const char *json, size_t len, const char *model,
		       struct remote_stats *out, size_t max, size_t *n,
		       struct it_error *err)
{
	json_t *root = NULL, *list, *e;
	size_t i;
	int rc;

	*n = 0;
	rc = load_model_stats(json, len, &root, &list, err);
	if (rc)
		goto out;
	json_array_foreach(list, i, e) {
		const char *name = json_string_value(json_object_get(e, "name"));
		json_t *is = json_object_get(e, "inference_stats");
		struct remote_stats *s;

		if (!name || strcmp(name, model) || *n == max)
			continue;
		s = &out[(*n)++];
		memset(s, 0, sizeof(*s));
		entry_version(e, s->version);
		s->inference_count = (uint64_t)json_int64(json_object_get(e, "inference_count"));
		s->execution_count = (uint64_t)json_int64(json_object_get(e, "execution_count"));
		duration_stat(is, "success", &s->success_count, &s->success_ns);
		duration_stat(is, "fail", &s->fail_count, &s->fail_ns);
		duration_stat(is, "queue", &s->queue_count, &s->queue_ns);
		duration_stat(is, "compute_input", &s->compute_input_count,
			      &s->compute_input_ns);
		duration_stat(is, "compute_infer", &s->compute_infer_count,
			      &s->compute_infer_ns);
		duration_stat(is, "compute_output", &s->compute_output_count,
			      &s->compute_output_ns);
		duration_stat(is, "cache_hit", &s->cache_hit_count,
			      &s->cache_hit_ns);
		duration_stat(is, "cache_miss", &s->cache_miss_count,
			      &s->cache_miss_ns);
	}
out:
	json_decref(root);
	return rc;
}

#define STAT_FIELDS(X) \
	X(inference_count) X(execution_count) \
	X(success_count) X(success_ns) X(fail_count) X(fail_ns) \
	X(queue_count) X(queue_ns) \
	X(compute_input_count) X(compute_input_ns) \
	X(compute_infer_count) X(compute_infer_ns) \
	X(compute_output_count) X(compute_output_ns) \
	X(cache_hit_count) X(cache_hit_ns) X(cache_miss_count) X(cache_miss_ns)

void remote_stats_delta(const struct remote_stats *start,
			const struct remote_stats *end,
			struct remote_stats *out)
{
	memcpy(out->version, end->version, sizeof(out->version));
#define DELTA(f) out->f = end->f >= start->f ? end->f - start->f : 0;
	STAT_FIELDS(DELTA)
#undef DELTA
}

void remote_stats_add(struct remote_stats *a, const struct remote_stats *b)
{
#define ADD(f) a->f += b->f;
	STAT_FIELDS(ADD)
#undef ADD
}

/* The fields of a remote_batch_stat that count (all but batch_size). */
#define BATCH_FIELDS(X) \
	X(execution_count) X(compute_input_ns) X(compute_infer_ns) X(compute_output_ns)

void remote_batch_stats_init(struct remote_batch_stats *b)
{
	memset(b, 0, sizeof(*b));
}

void remote_batch_stats_release(struct remote_batch_stats *b)
{
	if (!b)
		return;
	free(b->items);
	remote_batch_stats_init(b);
}

static void batch_stat_add(struct remote_batch_stat *a,
			   const struct remote_batch_stat *b)
{
#define ADD(f) a->f += b->f;
	BATCH_FIELDS(ADD)
#undef ADD
}

static int batch_stat_cmp(const void *a, const void *b)
{
	const struct remote_batch_stat *x = a, *y = b;

	return (x->batch_size > y->batch_size) - (x->batch_size < y->batch_size);
}

/*
 * One batch_stats entry: false when its batch_size is not a positive
 * integer (a number, or a string of one as for the other 64-bit fields).
 */
static bool parse_batch_stat(json_t *e, struct remote_batch_stat *out)
{
	json_t *size = json_object_get(e, "batch_size");
	uint64_t counts[3];

	if (!json_is_integer(size) && !json_is_string(size))
		return false;
	if (json_int64(size) < 1)
		return false;
	memset(out, 0, sizeof(*out));
	out->batch_size = (uint64_t)json_int64(size);
	duration_stat(e, "compute_input", &counts[0], &out->compute_input_ns);
	duration_stat(e, "compute_infer", &counts[1], &out->compute_infer_ns);
	duration_stat(e, "compute_output", &counts[2], &out->compute_output_ns);
	/* Equal in Triton; a server that sends only some of them: the largest. */
	out->execution_count = counts[1];
	for (int k = 0; k < 3; k++) {
		if (counts[k] > out->execution_count)
			out->execution_count = counts[k];
	}
	return true;
}

int remote_batch_stats_parse(const char *json, size_t len, const char *model,
			     const char *version, struct remote_batch_stats *out,
			     struct it_error *err)
{
	json_t *root = NULL, *list, *e, *entries = NULL;
	size_t i, k = 0;
	int rc;

	out->n = 0;
	rc = load_model_stats(json, len, &root, &list, err);
	if (rc)
		goto out;
	json_array_foreach(list, i, e) {
		const char *name = json_string_value(json_object_get(e, "name"));
		char v[32];

		entry_version(e, v);
		if (name && !strcmp(name, model) && !strcmp(v, version)) {
			entries = json_object_get(e, "batch_stats");
			break;
		}
	}
	/* Not an array (or absent): json_array_size() is 0, the list stays empty. */
	json_array_foreach(entries, i, e) {
		XGROW(out->items, out->alloc, out->n + 1);
		if (parse_batch_stat(e, &out->items[out->n]))
			out->n++;
	}
	if (out->n) {
		qsort(out->items, out->n, sizeof(*out->items), batch_stat_cmp);
		for (i = 1; i < out->n; i++) {
			if (out->items[i].batch_size == out->items[k].batch_size)
				batch_stat_add(&out->items[k], &out->items[i]);
			else
				out->items[++k] = out->items[i];
		}
		out->n = k + 1;
	}
out:
	json_decref(root);
	return rc;
}

void remote_batch_stats_delta(const struct remote_batch_stats *start,
			      const struct remote_batch_stats *end,
			      struct remote_batch_stats *out)
{
	static const struct remote_batch_stat zero;
	size_t j = 0;

	out->n = 0;
	for (size_t i = 0; i < end->n; i++) {
		const struct remote_batch_stat *e = &end->items[i], *s = &zero;
		struct remote_batch_stat d = { .batch_size = e->batch_size };
		bool any = false;

		/* Both sorted: one walk through start. */
		while (j < start->n && start->items[j].batch_size < e->batch_size)
			j++;
		if (j < start->n && start->items[j].batch_size == e->batch_size)
			s = &start->items[j];
#define DELTA(f) d.f = e->f >= s->f ? e->f - s->f : 0; any = any || d.f;
		BATCH_FIELDS(DELTA)
#undef DELTA
		if (!any)
			continue;
		XGROW(out->items, out->alloc, out->n + 1);
		out->items[out->n++] = d;
	}
}

void remote_batch_stats_add(struct remote_batch_stats *a,
			    const struct remote_batch_stats *b)
{
	struct remote_batch_stats m;
	size_t i = 0, j = 0;

	if (!b->n)
		return;
	remote_batch_stats_init(&m);
	XGROW(m.items, m.alloc, a->n + b->n);
	while (i < a->n || j < b->n) {
		struct remote_batch_stat *o = &m.items[m.n++];

		if (j == b->n || (i < a->n && a->items[i].batch_size < b->items[j].batch_size)) {
			*o = a->items[i++];
		} else if (i == a->n || b->items[j].batch_size < a->items[i].batch_size) {
			*o = b->items[j++];
		} else {
			*o = a->items[i++];
			batch_stat_add(o, &b->items[j++]);
		}
	}
	remote_batch_stats_release(a);
	*a = m;
}
