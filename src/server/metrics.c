/*
 * Prometheus text rendering. Formats are chosen for the two known
 * consumers: perf_analyzer matches "\n<name>{gpu_uuid=\"...\"} (\d+\.?\d*)"
 * (so one space, plain decimals, GPU series with exactly one label) and
 * Model Analyzer parses the page with prometheus_client (so every family has
 * HELP and TYPE lines and label values are escaped).
 */
#include "server/metrics.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/collector.h"
#include "server/models.h"
#include "server/stats.h"
#include "util/strbuf.h"
#include "util/banned.h"

void metrics_format_double(struct strbuf *out, double v, int decimals)
{
	char buf[400];
	size_t n;

	if (isnan(v)) {
		strbuf_adds(out, "NaN");
		return;
	}
	if (isinf(v)) {
		strbuf_adds(out, v > 0 ? "+Inf" : "-Inf");
		return;
	}
	/* %f never uses an exponent; DBL_MAX needs 309 digits, buf holds them. */
	snprintf(buf, sizeof(buf), "%.*f", decimals, v);
	n = strlen(buf);
	if (memchr(buf, '.', n)) {
		while (n > 1 && buf[n - 1] == '0')
			n--;
		if (buf[n - 1] == '.')
			n--;
	}
	buf[n] = '\0';
	/* "-0.0000001" rounds to "-0": print the zero plainly. */
	strbuf_adds(out, strcmp(buf, "-0") ? buf : "0");
}

/* Label values escape backslash, double quote and newline (exposition format 0.0.4). */
static void add_label_value(struct strbuf *out, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\')
			strbuf_adds(out, "\\\\");
		else if (*v == '"')
			strbuf_adds(out, "\\\"");
		else if (*v == '\n')
			strbuf_adds(out, "\\n");
		else
			strbuf_addch(out, *v);
	}
}

static void family(struct strbuf *out, const char *name, const char *type,
		   const char *help)
{
	strbuf_addf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* One per-model sample: name{model="m",version="v"} value (labels in sorted key order). */
static void model_sample(struct strbuf *out, const char *name,
			 const struct models_version_stats *v,
			 const char *reason, uint64_t value)
{
	strbuf_addf(out, "%s{model=\"", name);
	add_label_value(out, v->name);
	if (reason)
		strbuf_addf(out, "\",reason=\"%s", reason);
	strbuf_adds(out, "\",version=\"");
	add_label_value(out, v->version);
	strbuf_addf(out, "\"} %" PRIu64 "\n", value);
}

enum model_field {
	F_SUCCESS,
	F_INFER_COUNT,
	F_EXEC_COUNT,
	F_PENDING,
	F_REQUEST_US,
	F_QUEUE_US,
	F_INPUT_US,
	F_INFER_US,
	F_OUTPUT_US,
};

static uint64_t field_value(const struct models_version_stats *v,
			    enum model_field f)
{
	const struct model_stats_snapshot *s = &v->snap;

	switch (f) {
	case F_SUCCESS:
		return s->success.count;
	case F_INFER_COUNT:
		return s->inference_count;
	case F_EXEC_COUNT:
		return s->execution_count;
	case F_PENDING:
		return v->queue_length;
	/*
	 * Triton's request duration covers failed requests too; the statistics
	 * keep success and fail apart, so add them. Durations are cumulative
	 * nanoseconds; the page shows whole microseconds.
	 */
	case F_REQUEST_US:
		return (s->success.ns + s->fail.ns) / 1000;
	case F_QUEUE_US:
		return s->queue.ns / 1000;
	case F_INPUT_US:
		return s->compute_input.ns / 1000;
	case F_INFER_US:
		return s->compute_infer.ns / 1000;
	case F_OUTPUT_US:
		return s->compute_output.ns / 1000;
	}
	return 0;
}

static void model_family(struct strbuf *out,
			 const struct models_version_stats *v, size_t n,
			 const char *name, const char *type, const char *help,
			 enum model_field f)
{
	family(out, name, type, help);
	for (size_t i = 0; i < n; i++)
		model_sample(out, name, &v[i], NULL, field_value(&v[i], f));
}

static void render_models(struct models *models, struct strbuf *out)
{
	/* Triton creates every reason at 0; infertune's failures are the backend's. */
	static const char *const reasons[] = { "BACKEND", "CANCELED", "OTHER", "REJECTED" };
	struct models_version_stats *v = NULL;
	size_t n = 0;

	models_stats_snapshots(models, &v, &n);
	model_family(out, v, n, "nv_inference_request_success", "counter",
		     "Number of successful inference requests, all batch sizes",
		     F_SUCCESS);
	family(out, "nv_inference_request_failure", "counter",
	       "Number of failed inference requests, all batch sizes");
	for (size_t i = 0; i < n; i++)
		for (size_t r = 0; r < sizeof(reasons) / sizeof(reasons[0]); r++)
			model_sample(out, "nv_inference_request_failure", &v[i],
				     reasons[r], r == 0 ? v[i].snap.fail.count : 0);
	model_family(out, v, n, "nv_inference_count", "counter",
		     "Number of inferences performed (does not include cached requests)",
		     F_INFER_COUNT);
	model_family(out, v, n, "nv_inference_exec_count", "counter",
		     "Number of model executions performed (does not include cached requests)",
		     F_EXEC_COUNT);
	model_family(out, v, n, "nv_inference_pending_request_count", "gauge",
		     "Instantaneous number of pending requests awaiting execution per-model.",
		     F_PENDING);
	model_family(out, v, n, "nv_inference_request_duration_us", "counter",
		     "Cumulative inference request duration in microseconds (includes cached requests)",
		     F_REQUEST_US);
	model_family(out, v, n, "nv_inference_queue_duration_us", "counter",
		     "Cumulative inference queuing duration in microseconds (includes cached requests)",
		     F_QUEUE_US);
	model_family(out, v, n, "nv_inference_compute_input_duration_us", "counter",
		     "Cumulative compute input duration in microseconds (does not include cached requests)",
		     F_INPUT_US);
	model_family(out, v, n, "nv_inference_compute_infer_duration_us", "counter",
		     "Cumulative compute inference duration in microseconds (does not include cached requests)",
		     F_INFER_US);
	model_family(out, v, n, "nv_inference_compute_output_duration_us", "counter",
		     "Cumulative inference compute output duration in microseconds (does not include cached requests)",
		     F_OUTPUT_US);
	models_version_stats_free(v, n);
}

enum gpu_field { G_UTIL, G_MEM_TOTAL, G_MEM_USED, G_POWER, G_LIMIT, G_ENERGY };

static void gpu_family(struct strbuf *out, const struct metrics_reading *r,
		       const char *name, const char *type, const char *help,
		       enum gpu_field f)
{
	family(out, name, type, help);
	for (size_t i = 0; i < r->n_gpus; i++) {
		const struct gpu_reading *g = &r->gpus[i];
		bool has = false;
		double value = 0;

		switch (f) {
		case G_UTIL:
			has = g->has_utilization;
			value = g->utilization;
			break;
		case G_MEM_TOTAL:
			has = g->has_memory;
			value = (double)g->memory_total_bytes;
			break;
		case G_MEM_USED:
			has = g->has_memory;
			value = (double)g->memory_used_bytes;
			break;
		case G_POWER:
			has = g->has_power;
			value = g->power_w;
			break;
		case G_LIMIT:
			has = g->has_power_limit;
			value = g->power_limit_w;
			break;
		case G_ENERGY:
			has = g->has_energy;
			value = g->energy_j;
			break;
		}
		if (!has)
			continue;
		/* Exactly one label: perf_analyzer's regex allows no other. */
		strbuf_addf(out, "%s{gpu_uuid=\"", name);
		add_label_value(out, g->uuid);
		strbuf_adds(out, "\"} ");
		metrics_format_double(out, value, 6);
		strbuf_addch(out, '\n');
	}
}

static void render_host(struct collectors *collectors, struct strbuf *out)
{
	struct metrics_reading r;

	collectors_read(collectors, &r);
	if (r.n_gpus) {
		gpu_family(out, &r, "nv_gpu_utilization", "gauge",
			   "GPU utilization rate [0.0 - 1.0)", G_UTIL);
		gpu_family(out, &r, "nv_gpu_memory_total_bytes", "gauge",
			   "GPU total memory, in bytes", G_MEM_TOTAL);
		gpu_family(out, &r, "nv_gpu_memory_used_bytes", "gauge",
			   "GPU used memory, in bytes", G_MEM_USED);
		gpu_family(out, &r, "nv_gpu_power_usage", "gauge",
			   "GPU power usage in watts", G_POWER);
		gpu_family(out, &r, "nv_gpu_power_limit", "gauge",
			   "GPU power management limit in watts", G_LIMIT);
		gpu_family(out, &r, "nv_energy_consumption", "counter",
			   "GPU energy consumption in joules since the Triton Server started",
			   G_ENERGY);
	}
	if (r.has_cpu_utilization) {
		family(out, "nv_cpu_utilization", "gauge",
		       "CPU utilization rate [0.0 - 1.0]");
		strbuf_adds(out, "nv_cpu_utilization ");
		metrics_format_double(out, r.cpu_utilization, 6);
		strbuf_addch(out, '\n');
	}
	if (r.has_memory) {
		family(out, "nv_cpu_memory_total_bytes", "gauge",
		       "CPU total memory (RAM), in bytes");
		strbuf_addf(out, "nv_cpu_memory_total_bytes %" PRIu64 "\n",
			    r.memory_total_bytes);
		family(out, "nv_cpu_memory_used_bytes", "gauge",
		       "CPU used memory (RAM), in bytes");
		strbuf_addf(out, "nv_cpu_memory_used_bytes %" PRIu64 "\n",
			    r.memory_used_bytes);
	}
}

void metrics_render(struct models *models, struct collectors *collectors,
		    struct strbuf *out)
{
	if (models)
		render_models(models, out);
	if (collectors)
		render_host(collectors, out);
}
