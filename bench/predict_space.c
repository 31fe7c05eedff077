/*
 * predict_space: bench/search-quality's look at the predictive search's
 * final fit. Reads an analysis' results.db, replays what the predictive
 * search observed (its valid concurrency sweep measurements, in the order
 * they were stored) through the search's own fit (analyze/search_predict.h)
 * and prints its prediction for every point of the search's space, measured
 * or not, so the benchmark can check the predictor on every point it
 * measured exhaustively, not only on the guided points that the
 * `predictions` table holds.
 *
 * Usage: predict_space RESULTS_DB MODEL MAX_INSTANCES MAX_BATCH MAX_CONCURRENCY
 *
 * The space is the one `infertune analyze --run-config-search-mode
 * predictive` builds from those --run-config-search-max-* bounds (minimums
 * 1, the default queue delays, no thread dimension: a model that batches,
 * not a PyTorch model on CPU instances). Output, tab-separated: a first line
 * "# fit<TAB>..." (the fit, one line) and "# points<TAB>N<TAB>configurations<TAB>M",
 * then one line per point: instances, max_batch_size, queue delay (µs),
 * preferred batch size (0: none), concurrency, predicted throughput
 * (infer/s), predicted p99 (ms), relative uncertainty. Exit 1 on an error.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/search_predict.h"
#include "model/config.h"
#include "store/query.h"
#include "store/store.h"
#include "util/error.h"
#include "util/xalloc.h"
#include "util/banned.h"

/* One stored measurement and the configuration it measured (borrowed). */
struct seen {
	const struct store_measurement *m;
	const struct model_config *cfg;
};

static int cmp_seen(const void *a, const void *b)
{
	int64_t x = ((const struct seen *)a)->m->id, y = ((const struct seen *)b)->m->id;

	return x < y ? -1 : x > y;
}

static int parse_bound(const char *s, const char *what, int64_t *out)
{
	char *end;
	long long v = strtoll(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v < 1 || v > 1000000) {
		fprintf(stderr, "predict_space: %s must be a whole number from 1 to 1000000, not '%s'\n",
			what, s);
		return -1;
	}
	*out = v;
	return 0;
}

/* The id of model `name` in the store, 0 when absent. */
static int64_t model_id(struct store *s, const char *name, struct it_error *err)
{
	struct store_model *models = NULL;
	size_t n = 0;
	int64_t id = 0;

	if (store_models_list(s, &models, &n, err))
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (!id && models[i].name && !strcmp(models[i].name, name))
			id = models[i].id;
		store_model_release(&models[i]);
	}
	free(models);
	return id;
}

/* Prints every point of the replay's space with its prediction. */
static int print_points(struct predictive_replay *r, struct it_error *err)
{
	char fit[512];

	for (size_t i = 0; i < predictive_replay_points(r); i++) {
		struct search_point pt;
		struct figures f;
		double u;

		if (predictive_replay_predict(r, i, &pt, &f, &u, err))
			return -1;
		if (i == 0) {
			predictive_replay_describe(r, fit, sizeof(fit));
			printf("# fit\t%s\n# points\t%zu\tconfigurations\t%zu\n", fit,
			       predictive_replay_points(r), predictive_replay_configs(r));
		}
		printf("%" PRId32 "\t%" PRId32 "\t%" PRIu32 "\t%" PRId32 "\t%" PRIu64 "\t%.3f\t%.4f\t%.4f\n",
		       pt.instance_count, pt.max_batch_size, pt.queue_delay_us, pt.preferred_batch_size,
		       pt.concurrency, f.v[FIG_THROUGHPUT], f.v[FIG_LATENCY_P99], u);
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct it_error err = { 0 };
	struct store *s = NULL;
	struct store_variant *vs = NULL;
	struct model_config **cfgs = NULL;
	struct store_measurement **ms = NULL;
	size_t *n_ms = NULL, n_vs = 0, n_seen = 0;
	struct seen *seen = NULL;
	struct predictive_replay *r = NULL;
	struct search_space sp = { 0 };
	int64_t max_inst, max_batch, max_conc, mid;
	int rc = 1;

	if (argc != 6) {
		fprintf(stderr, "usage: predict_space RESULTS_DB MODEL MAX_INSTANCES MAX_BATCH "
			"MAX_CONCURRENCY\n");
		return 2;
	}
	if (parse_bound(argv[3], "MAX_INSTANCES", &max_inst) ||
	    parse_bound(argv[4], "MAX_BATCH", &max_batch) ||
	    parse_bound(argv[5], "MAX_CONCURRENCY", &max_conc))
		return 2;
	sp.batching = true;
	sp.min_mbs = 1;
	sp.max_mbs = (int32_t)max_batch;
	sp.min_instances = 1;
	sp.max_instances = (int32_t)max_inst;
	sp.min_concurrency = 1;
	sp.max_concurrency = (uint64_t)max_conc;
	if (store_open_readonly(argv[1], &s, &err))
		goto out;
	mid = model_id(s, argv[2], &err);
	if (mid < 0)
		goto out;
	if (mid == 0) {
		it_error_set(&err, IT_ERR_NOT_FOUND, "%s: no model '%s'", argv[1], argv[2]);
		goto out;
	}
	if (store_variants_of_model(s, mid, &vs, &n_vs, &err))
		goto out;
	cfgs = xcalloc(n_vs + 1, sizeof(*cfgs));
	ms = xcalloc(n_vs + 1, sizeof(*ms));
	n_ms = xcalloc(n_vs + 1, sizeof(*n_ms));
	for (size_t i = 0; i < n_vs; i++) {
		cfgs[i] = model_config_from_json_text(vs[i].config_json, strlen(vs[i].config_json),
						      vs[i].name, &err);
		if (!cfgs[i] ||
		    store_measurements_of_variant(s, vs[i].id, NULL, &ms[i], &n_ms[i], &err))
			goto out;
		seen = xreallocarray(seen, n_seen + n_ms[i] + 1, sizeof(*seen));
		for (size_t k = 0; k < n_ms[i]; k++)
			seen[n_seen++] = (struct seen){ &ms[i][k], cfgs[i] };
	}
	/* The search fed each measurement once, as it was stored: id order. */
	qsort(seen, n_seen, sizeof(*seen), cmp_seen);
	if (predictive_replay_new(&sp, &r, &err))
		goto out;
	for (size_t i = 0; i < n_seen; i++)
		predictive_replay_observe(r, seen[i].cfg, seen[i].m, 1);
	if (print_points(r, &err))
		goto out;
	rc = 0;
out:
	if (rc)
		fprintf(stderr, "predict_space: %s\n", err.message[0] ? err.message : "failed");
	predictive_replay_free(r);
	free(seen);
	for (size_t i = 0; i < n_vs; i++) {
		for (size_t k = 0; ms && k < n_ms[i]; k++)
			store_measurement_release(&ms[i][k]);
		if (ms)
			free(ms[i]);
		if (cfgs)
			model_config_free(cfgs[i]);
		store_variant_release(&vs[i]);
	}
	free(ms);
	free(n_ms);
	free(cfgs);
	free(vs);
	store_close(s);
	return rc;
}
