/*
 * The predicted capacity of the top configurations (capacity_predict.h).
 * Why only the top ones: each answer is a bisection of about ten
 * simulations, and the others are not answered for in the sentences
 * either. Why one fit per model: every configuration is predicted from
 * the same model of the server, as `infertune predict` does.
 */
#include "analyze/capacity_predict.h"

#include <stdio.h>
#include <string.h>

#include "analyze/observe.h"
#include "store/store.h"
#include "util/error.h"
#include "util/banned.h"

int capacity_predicted_of(const struct predict_fit *f, const struct des_config *c,
			  int32_t threads, double budget_ms, int64_t request_batch,
			  struct capacity_predicted *out, struct it_error *err)
{
	struct predict_result at;
	double rate = 0;
	int rc;

	if (request_batch < 1)
		request_batch = 1;
	rc = predict_max_rate(f, c, threads, budget_ms * 1e3, request_batch, &rate, &at, err);
	if (rc)
		return rc;
	*out = (struct capacity_predicted){
		.has = true,
		.rate = rate * (double)request_batch,
		.p99_ms = at.des.p99_us / 1e3,
		/* At the lightest rate tried no queue builds: what it delivers is what it was offered. */
		.lightest = rate > 0 ? 0 : at.des.throughput,
		.rel_uncertainty = at.rel_uncertainty,
	};
	return 0;
}

/* The index in set->configs of the variant called name, or -1. */
static ptrdiff_t config_named(const struct observation_set *set, const char *name)
{
	for (size_t k = 0; k < set->n_configs; k++)
		if (!strcmp(set->configs[k].name, name))
			return (ptrdiff_t)k;
	return -1;
}

/* One top configuration; the first that cannot be simulated leaves the note. */
static void predict_row(const struct observation_set *set, const struct predict_fit *fit,
			const char *name, struct capacity_answer *a, struct capacity_row *r)
{
	ptrdiff_t k = config_named(set, name);
	struct observation ob;
	struct des_config c;
	struct it_error err = { 0 };

	if (k < 0)
		return;         /* not among the stored variants: nothing to say of it */
	memset(&ob, 0, sizeof(ob));
	observation_config(set->configs[k].config, set->threads_dim, &ob);
	c = ob.o.config;
	c.preferred = ob.preferred ? &ob.preferred : NULL;
	if (!capacity_predicted_of(fit, &c, ob.o.threads, a->budget_ms, a->batch, &r->predicted,
				   &err) || a->predict_note[0])
		return;
	snprintf(a->predict_note, sizeof(a->predict_note), "the predictor could not simulate %s "
		 "(%s)", name, err.message);
}

void capacity_predict(struct store *s, const char *model, const struct capacity_config *cs,
		      struct capacity_answer *a)
{
	struct observation_set set;
	struct predict_fit *fit = NULL;
	struct it_error err = { 0 };
	bool any_top = false;

	memset(&set, 0, sizeof(set));
	for (size_t i = 0; i < a->n_rows; i++)
		any_top = any_top || cs[i].top;
	if (!a->asked || !any_top)
		return;
	if (observation_set_read(s, model, &set, &err) ||
	    observation_set_fit(&set, 0, &fit, &err)) {
		snprintf(a->predict_note, sizeof(a->predict_note), "%s", err.message);
		goto out;
	}
	for (size_t i = 0; i < a->n_rows; i++)
		if (cs[i].top)
			predict_row(&set, fit, cs[i].name, a, &a->rows[i]);
out:
	predict_fit_free(fit);
	observation_set_release(&set);
}
