/*
 * Per model-version inference statistics with Triton's meanings
 * (protocol.md §3.2): one mutex around plain counters, batch statistics in
 * an array kept sorted by batch size. Writers are the scheduler's workers;
 * readers are the statistics endpoint and the Prometheus page.
 */
#include "server/stats.h"

#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/xalloc.h"
#include "util/banned.h"

struct model_stats {
	pthread_mutex_t mu;
	struct model_stats_snapshot s; /* batches owned here */
	size_t alloc_batches;
};

struct model_stats *stats_new(void)
{
	struct model_stats *stats = xcalloc(1, sizeof(*stats));

	pthread_mutex_init(&stats->mu, NULL);
	return stats;
}

void stats_free(struct model_stats *stats)
{
	if (!stats)
		return;
	pthread_mutex_destroy(&stats->mu);
	free(stats->s.batches);
	free(stats);
}

static void duration_add(struct stat_duration *d, uint64_t ns)
{
	d->count++;
	d->ns += ns;
}

/* Wall-clock milliseconds since the epoch, as Triton's last_inference. */
static uint64_t now_epoch_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000ULL + (uint64_t)ts.tv_nsec / 1000000ULL;
}

void stats_request_start(struct model_stats *stats)
{
	pthread_mutex_lock(&stats->mu);
	stats->s.pending_count++;
	pthread_mutex_unlock(&stats->mu);
}

void stats_request_end(struct model_stats *stats, bool success,
		       uint64_t batch_size, uint64_t total_ns,
		       uint64_t queue_ns, uint64_t input_ns,
		       uint64_t infer_ns, uint64_t output_ns)
{
	uint64_t now_ms = now_epoch_ms();

	pthread_mutex_lock(&stats->mu);
	/* Saturate: a caller that skipped request_start must not wrap the gauge. */
	if (stats->s.pending_count)
		stats->s.pending_count--;
	/* Triton stamps last_inference for failed requests too. */
	if (now_ms > stats->s.last_inference_ms)
		stats->s.last_inference_ms = now_ms;
	if (success) {
		duration_add(&stats->s.success, total_ns);
		duration_add(&stats->s.queue, queue_ns);
		/* No response cache: compute counts = success - cache_hit = success. */
		duration_add(&stats->s.compute_input, input_ns);
		duration_add(&stats->s.compute_infer, infer_ns);
		duration_add(&stats->s.compute_output, output_ns);
		stats->s.inference_count += batch_size;
	} else {
		duration_add(&stats->s.fail, total_ns);
	}
	pthread_mutex_unlock(&stats->mu);
}

/* The entry for batch_size, inserted in order if new. Called locked. */
static struct batch_stat *batch_entry(struct model_stats *stats,
				      uint64_t batch_size)
{
	struct model_stats_snapshot *s = &stats->s;
	size_t lo = 0, hi = s->n_batches;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->batches[mid].batch_size < batch_size)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < s->n_batches && s->batches[lo].batch_size == batch_size)
		return &s->batches[lo];
	XGROW(s->batches, stats->alloc_batches, s->n_batches + 1);
	memmove(&s->batches[lo + 1], &s->batches[lo],
		(s->n_batches - lo) * sizeof(s->batches[0]));
	s->n_batches++;
	memset(&s->batches[lo], 0, sizeof(s->batches[lo]));
	s->batches[lo].batch_size = batch_size;
	return &s->batches[lo];
}

void stats_execution(struct model_stats *stats, uint64_t batch_size,
		     uint64_t input_ns, uint64_t infer_ns,
		     uint64_t output_ns)
{
	struct batch_stat *b;

	pthread_mutex_lock(&stats->mu);
	stats->s.execution_count++;
	b = batch_entry(stats, batch_size);
	duration_add(&b->compute_input, input_ns);
	duration_add(&b->compute_infer, infer_ns);
	duration_add(&b->compute_output, output_ns);
	pthread_mutex_unlock(&stats->mu);
}

void stats_snapshot(struct model_stats *stats,
		    struct model_stats_snapshot *out)
{
	struct batch_stat *copy;

	pthread_mutex_lock(&stats->mu);
	copy = xcalloc(stats->s.n_batches ? stats->s.n_batches : 1,
		       sizeof(*copy));
	if (stats->s.n_batches)
		memcpy(copy, stats->s.batches,
		       stats->s.n_batches * sizeof(*copy));
	*out = stats->s;
	out->batches = copy;
	pthread_mutex_unlock(&stats->mu);
}

/*
 * jansson integers are signed 64-bit; counters cannot reach 2^63 in practice,
 * but clamp rather than emit a negative number perf_analyzer would reject.
 */
static json_t *json_u64(uint64_t v)
{
	return json_integer(v > (uint64_t)LLONG_MAX ? LLONG_MAX : (json_int_t)v);
}

static json_t *duration_json(const struct stat_duration *d)
{
	return json_pack("{s:o, s:o}", "count", json_u64(d->count), "ns",
			 json_u64(d->ns));
}

json_t *stats_to_json(struct model_stats *stats, const char *name,
		      const char *version)
{
	struct model_stats_snapshot s;
	json_t *batches, *obj;

	stats_snapshot(stats, &s);
	batches = json_array();
	for (size_t i = 0; i < s.n_batches; i++) {
		const struct batch_stat *b = &s.batches[i];

		json_array_append_new(batches,
			json_pack("{s:o, s:o, s:o, s:o}",
				  "batch_size", json_u64(b->batch_size),
				  "compute_input", duration_json(&b->compute_input),
				  "compute_infer", duration_json(&b->compute_infer),
				  "compute_output", duration_json(&b->compute_output)));
	}
	/*
	 * Exactly TRITONSERVER_ServerModelStatistics' shape; perf_analyzer reads
	 * every inference_stats entry with GetUint64() and no presence check.
	 */
	obj = json_pack("{s:s, s:s, s:o, s:o, s:o, s:{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}, s:{}, s:o, s:[]}",
			"name", name,
			"version", version,
			"last_inference", json_u64(s.last_inference_ms),
			"inference_count", json_u64(s.inference_count),
			"execution_count", json_u64(s.execution_count),
			"inference_stats",
			"success", duration_json(&s.success),
			"fail", duration_json(&s.fail),
			"queue", duration_json(&s.queue),
			"compute_input", duration_json(&s.compute_input),
			"compute_infer", duration_json(&s.compute_infer),
			"compute_output", duration_json(&s.compute_output),
			"cache_hit", duration_json(&s.cache_hit),
			"cache_miss", duration_json(&s.cache_miss),
			"response_stats",
			"batch_stats", batches,
			"memory_usage");
	free(s.batches);
	return obj;
}
