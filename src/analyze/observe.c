/* Observations for the predictor from stored measurements (observe.h). */
#include "analyze/observe.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/objective.h"
#include "analyze/variant.h"
#include "model/config.h"
#include "store/query.h"
#include "store/store.h"
#include "util/error.h"
#include "util/strbuf.h"
#include "util/xalloc.h"
#include "util/banned.h"

/* The server's time per request: queue plus the three compute phases, µs; NAN unknown. */
static double server_us(const struct figures *f)
{
	if (!figures_has(f, FIG_SERVER_QUEUE) || !figures_has(f, FIG_SERVER_COMPUTE_INFER))
		return NAN;
	return (f->v[FIG_SERVER_QUEUE] + f->v[FIG_SERVER_COMPUTE_INPUT] +
		f->v[FIG_SERVER_COMPUTE_INFER] + f->v[FIG_SERVER_COMPUTE_OUTPUT]) * 1e3;
}

void observation_config(const struct model_config *cfg, bool threads_dim,
			struct observation *out)
{
	const struct model_dynamic_batching *db = &cfg->dynamic_batching;

	out->o.config = (struct des_config){ 0 };
	out->o.config.instances = variant_instance_count(cfg);
	out->o.config.max_batch_size = cfg->max_batch_size > 0 ? cfg->max_batch_size : 0;
	out->o.config.dynamic_batching = cfg->has_dynamic_batching && cfg->max_batch_size > 0;
	out->o.config.max_queue_delay_us = db->max_queue_delay_us;
	/* The simulator is given the largest preferred size; the searched space has one at most. */
	out->preferred = 0;
	for (size_t k = 0; k < db->n_preferred_batch_size; k++)
		if (db->preferred_batch_size[k] > out->preferred)
			out->preferred = db->preferred_batch_size[k];
	out->o.config.n_preferred = out->preferred ? 1 : 0;
	out->o.threads = threads_dim ? model_config_intra_op_threads(cfg) : 0;
}

/*
 * Whether a request-rate level was measured with Poisson arrivals: the
 * measurement settings say it (analyze/options.c writes
 * "...;distribution=poisson;..." into the profile key).
 */
static bool measured_poisson(const struct store_measurement *m)
{
	return m->load_kind == LOAD_REQUEST_RATE &&
	       strstr(m->profile_key, ";distribution=poisson;") != NULL;
}

bool observation_from(const struct model_config *cfg, bool threads_dim,
		      const struct store_measurement *m, struct observation *out)
{
	const struct figures *f = &m->fig;

	if (!measurement_valid(m) || m->phase != PHASE_SWEEP || !figures_has(f, FIG_THROUGHPUT))
		return false;
	memset(out, 0, sizeof(*out));
	out->measurement_id = m->id;
	observation_config(cfg, threads_dim, out);
	out->o.load = (struct des_load){
		m->load_kind == LOAD_REQUEST_RATE ? DES_REQUEST_RATE : DES_CONCURRENCY,
		m->load_value, measured_poisson(m), m->batch_size
	};
	out->o.throughput = f->v[FIG_THROUGHPUT];
	out->o.latency_avg_us = figures_has(f, FIG_LATENCY_AVG) ? f->v[FIG_LATENCY_AVG] * 1e3 : NAN;
	out->o.server_us = server_us(f);
	out->batches = xcalloc(m->n_batch_stats + 1, sizeof(*out->batches));
	for (size_t k = 0; k < m->n_batch_stats; k++) {
		const struct store_batch_stat *b = &m->batch_stats[k];

		out->batches[k] = (struct predict_batch){
			b->batch_size, b->execution_count,
			(double)(b->compute_input_ns + b->compute_infer_ns + b->compute_output_ns)
		};
	}
	out->o.n_batches = m->n_batch_stats;
	return true;
}

void observation_release(struct observation *ob)
{
	free(ob->batches);
	ob->batches = NULL;
}

struct predict_obs *observations_view(const struct observation *obs, size_t n)
{
	struct predict_obs *v = xcalloc(n + 1, sizeof(*v));

	for (size_t i = 0; i < n; i++) {
		v[i] = obs[i].o;
		v[i].config.preferred = obs[i].preferred ? &obs[i].preferred : NULL;
		v[i].batches = obs[i].batches;
	}
	return v;
}

/* ---- a finished analysis, read back -------------------------------------------- */

/* "a, b, c": the models' names, for messages. Caller frees. */
static char *model_names(const struct store_model *ms, size_t n)
{
	struct strbuf sb;

	strbuf_init(&sb, 0);
	for (size_t i = 0; i < n; i++)
		strbuf_addf(&sb, "%s%s", i ? ", " : "", ms[i].name);
	return strbuf_detach(&sb, NULL);
}

/* The model called name (NULL: the only one) among ms[0..n); IT_ERR_* naming the choice. */
static int model_pick(const struct store_model *ms, size_t n, const char *name,
		      const struct store_model **out, struct it_error *err)
{
	char *names;
	int rc;

	for (size_t i = 0; i < n; i++) {
		if ((!name && n == 1) || (name && !strcmp(ms[i].name, name))) {
			*out = &ms[i];
			return 0;
		}
	}
	if (!n)
		return it_error_set(err, IT_ERR_NOT_FOUND, "results.db holds no model");
	names = model_names(ms, n);
	if (!name)
		rc = it_error_set(err, IT_ERR_INVALID, "results.db holds %zu models (%s): name one",
				  n, names);
	else
		rc = it_error_set(err, IT_ERR_NOT_FOUND, "results.db has no model '%s' (it holds: %s)",
				  name, names);
	free(names);
	return rc;
}

/* A stored configuration, parsed, its name cleared (equal configurations compare equal). */
static int config_parse(const char *text, const char *what, struct model_config **out,
			struct it_error *err)
{
	struct model_config *c = model_config_parse(text ? text : "", text ? strlen(text) : 0,
						     what, err);

	if (!c)
		return err ? err->code : IT_ERR_PARSE;
	model_config_set_name(c, "", NULL);
	*out = c;
	return 0;
}

/* The schema of the file: newer than this build's is refused; older may lack batch_stats. */
static int schema_check(struct store *s, struct observation_set *set, struct it_error *err)
{
	char *v = NULL;
	long version;
	int rc = store_meta_get(s, "schema_version", &v, err);

	if (rc || !v)
		return rc;      /* no meta row: the models query says what the file is */
	version = strtol(v, NULL, 10);
	free(v);
	if (version > STORE_SCHEMA_VERSION)
		return it_error_set(err, IT_ERR_UNSUPPORTED, "results.db is of schema %ld; this "
				    "infertune reads schemas up to %d", version, STORE_SCHEMA_VERSION);
	set->before_batch_stats = version < STORE_SCHEMA_VERSION;
	return 0;
}

/* Every variant of the model, parsed. */
static int configs_read(struct store *s, int64_t model_id, struct observation_set *set,
			struct it_error *err)
{
	struct store_variant *vs = NULL;
	size_t n = 0;
	int rc = store_variants_of_model(s, model_id, &vs, &n, err);

	if (rc)
		return rc;
	set->configs = xcalloc(n + 1, sizeof(*set->configs));
	for (size_t i = 0; i < n && !rc; i++) {
		struct observed_config *c = &set->configs[i];

		c->variant_id = vs[i].id;
		snprintf(c->name, sizeof(c->name), "%s", vs[i].name);
		rc = config_parse(vs[i].config_pbtxt, vs[i].name, &c->config, err);
		if (rc)
			break;
		set->n_configs++;
		if (model_config_intra_op_threads(c->config))
			set->threads_dim = true;
		if (c->config->max_batch_size > set->max_batch_size)
			set->max_batch_size = c->config->max_batch_size;
	}
	for (size_t i = 0; i < n; i++)
		store_variant_release(&vs[i]);
	free(vs);
	return rc;
}

/* The valid sweep levels of configuration k, in measurement id order. */
static int levels_read(struct store *s, struct observation_set *set, size_t k,
		       struct it_error *err)
{
	const struct observed_config *c = &set->configs[k];
	struct store_measurement *ms = NULL;
	size_t n = 0, first = set->n_obs;
	int rc = store_measurements_of_variant(s, c->variant_id, NULL, &ms, &n, err);

	if (rc)
		return rc;
	for (size_t i = 0; i < n; i++) {
		struct observation ob;
		size_t j;

		if (!observation_from(c->config, set->threads_dim, &ms[i], &ob))
			continue;
		set->obs = xreallocarray(set->obs, set->n_obs + 1, sizeof(*set->obs));
		set->fig = xreallocarray(set->fig, set->n_obs + 1, sizeof(*set->fig));
		set->config_of = xreallocarray(set->config_of, set->n_obs + 1,
					       sizeof(*set->config_of));
		/* Measurement id order (the store orders by level): insertion sort. */
		for (j = set->n_obs; j > first && set->obs[j - 1].measurement_id > ob.measurement_id;
		     j--) {
			set->obs[j] = set->obs[j - 1];
			set->fig[j] = set->fig[j - 1];
		}
		set->obs[j] = ob;
		set->fig[j] = ms[i].fig;
		set->config_of[set->n_obs++] = k;
	}
	set->n_measured_configs += set->n_obs > first;
	for (size_t i = 0; i < n; i++)
		store_measurement_release(&ms[i]);
	free(ms);
	return 0;
}

int observation_set_read(struct store *s, const char *name, struct observation_set *out,
			 struct it_error *err)
{
	struct observation_set set;
	struct store_model *ms = NULL;
	const struct store_model *m = NULL;
	size_t n = 0;
	struct it_error e = { 0 };
	int rc;

	memset(&set, 0, sizeof(set));
	memset(out, 0, sizeof(*out));
	rc = schema_check(s, &set, err);
	if (rc)
		goto out;
	rc = store_models_list(s, &ms, &n, &e);
	if (rc) {
		rc = it_error_set(err, IT_ERR_INVALID, "not an infertune results.db (%s)", e.message);
		goto out;
	}
	rc = model_pick(ms, n, name, &m, err);
	if (rc)
		goto out;
	snprintf(set.model, sizeof(set.model), "%s", m->name);
	rc = config_parse(m->config_pbtxt, m->name, &set.base, err);
	if (!rc)
		rc = configs_read(s, m->id, &set, err);
	if (rc)
		goto out;
	if (model_config_intra_op_threads(set.base))
		set.threads_dim = true;
	if (set.base->max_batch_size > set.max_batch_size)
		set.max_batch_size = set.base->max_batch_size;
	for (size_t k = 0; k < set.n_configs && !rc; k++)
		rc = levels_read(s, &set, k, err);
	if (rc)
		goto out;
	*out = set;
	memset(&set, 0, sizeof(set));
out:
	observation_set_release(&set);
	for (size_t i = 0; i < n; i++)
		store_model_release(&ms[i]);
	free(ms);
	return rc;
}

int observation_set_fit(const struct observation_set *set, int64_t asked_max_batch_size,
			struct predict_fit **out, struct it_error *err)
{
	int64_t max_batch = set->max_batch_size;
	struct predict_obs *v;
	bool batch_stats = false;
	int rc;

	for (size_t i = 0; i < set->n_obs && !batch_stats; i++)
		batch_stats = set->obs[i].o.n_batches > 0;
	if (!set->n_obs)
		return it_error_set(err, IT_ERR_NOT_FOUND, "results.db has no valid measurement of "
				    "model '%s': nothing to predict from", set->model);
	if (!batch_stats)
		return it_error_set(err, IT_ERR_NOT_FOUND, "results.db has no batch statistics for "
				    "model '%s' (%s): nothing to predict from", set->model,
				    set->before_batch_stats ?
				    "the file was written before schema 3 stored them" :
				    "its server did not send batch_stats");
	if (asked_max_batch_size > max_batch)
		max_batch = asked_max_batch_size;
	if (max_batch < 1)
		max_batch = 1;
	v = observations_view(set->obs, set->n_obs);
	rc = predict_fit_new(v, set->n_obs, max_batch, out, err);
	free(v);
	return rc;
}

ptrdiff_t observation_set_find(const struct observation_set *set, const struct observation *c,
			       const struct des_load *l)
{
	ptrdiff_t found = -1;

	for (size_t i = 0; i < set->n_obs; i++) {
		const struct observation *ob = &set->obs[i];
		const struct des_config *x = &ob->o.config, *y = &c->o.config;
		const struct des_load *ol = &ob->o.load;

		if (x->instances != y->instances || x->max_batch_size != y->max_batch_size ||
		    x->dynamic_batching != y->dynamic_batching ||
		    x->max_queue_delay_us != y->max_queue_delay_us ||
		    ob->preferred != c->preferred || ob->o.threads != c->o.threads)
			continue;
		if (ol->kind != l->kind || ol->value != l->value ||
		    (ol->request_batch ? ol->request_batch : 1) !=
		    (l->request_batch ? l->request_batch : 1) ||
		    (l->kind == DES_REQUEST_RATE && ol->poisson != l->poisson))
			continue;
		if (found < 0 || ob->measurement_id > set->obs[found].measurement_id)
			found = (ptrdiff_t)i;
	}
	return found;
}

void observation_set_release(struct observation_set *set)
{
	model_config_free(set->base);
	for (size_t i = 0; i < set->n_configs; i++)
		model_config_free(set->configs[i].config);
	free(set->configs);
	for (size_t i = 0; i < set->n_obs; i++)
		observation_release(&set->obs[i]);
	free(set->obs);
	free(set->fig);
	free(set->config_of);
	memset(set, 0, sizeof(*set));
}
