/* Observations for the predictor from stored measurements (observe.h). */
#include "analyze/observe.h"

#include <math.h>
#include <string.h>

#include "analyze/objective.h"
#include "analyze/variant.h"
#include "model/config.h"
#include "store/store.h"
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

bool observation_from(const struct model_config *cfg, bool threads_dim,
		      const struct store_measurement *m, struct observation *out)
{
	const struct figures *f = &m->fig;
	const struct model_dynamic_batching *db = &cfg->dynamic_batching;

	if (!measurement_valid(m) || m->phase != PHASE_SWEEP || !figures_has(f, FIG_THROUGHPUT))
		return false;
	memset(out, 0, sizeof(*out));
	out->measurement_id = m->id;
	out->o.config.instances = variant_instance_count(cfg);
	out->o.config.max_batch_size = cfg->max_batch_size > 0 ? cfg->max_batch_size : 0;
	out->o.config.dynamic_batching = cfg->has_dynamic_batching && cfg->max_batch_size > 0;
	out->o.config.max_queue_delay_us = db->max_queue_delay_us;
	/* The simulator is given the largest preferred size; the searched space has one at most. */
	for (size_t k = 0; k < db->n_preferred_batch_size; k++)
		if (db->preferred_batch_size[k] > out->preferred)
			out->preferred = db->preferred_batch_size[k];
	out->o.config.n_preferred = out->preferred ? 1 : 0;
	out->o.threads = threads_dim ? model_config_intra_op_threads(cfg) : 0;
	out->o.load = (struct des_load){
		m->load_kind == LOAD_REQUEST_RATE ? DES_REQUEST_RATE : DES_CONCURRENCY,
		m->load_value, false, m->batch_size
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
