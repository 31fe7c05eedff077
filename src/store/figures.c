/*
 * The figure table: names, units and directions of every measured figure.
 * The tags and headers that Model Analyzer also has are its own, byte for
 * byte (model_analyzer/record/types/), so CSV headers built from them
 * match its files.
 */
#include "store/figures.h"

#include <math.h>
#include <string.h>

#include "util/banned.h"

const struct figure_info figure_table[FIG_COUNT] = {
	{ FIG_THROUGHPUT, "perf_throughput", "throughput", "Throughput (infer/sec)", "infer/s", +1 },
	{ FIG_LATENCY_AVG, "perf_latency_avg", "latency_avg_ms", "Avg Latency (ms)", "ms", -1 },
	{ FIG_LATENCY_P50, "perf_latency_p50", "latency_p50_ms", "p50 Latency (ms)", "ms", -1 },
	{ FIG_LATENCY_P90, "perf_latency_p90", "latency_p90_ms", "p90 Latency (ms)", "ms", -1 },
	{ FIG_LATENCY_P95, "perf_latency_p95", "latency_p95_ms", "p95 Latency (ms)", "ms", -1 },
	{ FIG_LATENCY_P99, "perf_latency_p99", "latency_p99_ms", "p99 Latency (ms)", "ms", -1 },
	{ FIG_LATENCY_STD, "perf_latency_std", "latency_std_ms", "Latency Std Dev (ms)", "ms", -1 },
	{ FIG_CLIENT_SEND, "perf_client_send", "client_send_ms", "Client Send (ms)", "ms", -1 },
	{ FIG_CLIENT_RECV, "perf_client_recv", "client_recv_ms", "Client Recv (ms)", "ms", -1 },
	{ FIG_CLIENT_SEND_RECV, "perf_client_send_recv", "client_send_recv_ms", "Client Send/Recv (ms)", "ms", -1 },
	{ FIG_CLIENT_RESPONSE_WAIT, "perf_client_response_wait", "client_response_wait_ms", "Response Wait Time (ms)", "ms", -1 },
	{ FIG_SERVER_QUEUE, "perf_server_queue", "server_queue_ms", "Server Queue time (ms)", "ms", -1 },
	{ FIG_SERVER_COMPUTE_INPUT, "perf_server_compute_input", "server_compute_input_ms", "Server Compute Input time (ms)", "ms", -1 },
	{ FIG_SERVER_COMPUTE_INFER, "perf_server_compute_infer", "server_compute_infer_ms", "Server Compute Infer time (ms)", "ms", -1 },
	{ FIG_SERVER_COMPUTE_OUTPUT, "perf_server_compute_output", "server_compute_output_ms", "Server Compute Output time (ms)", "ms", -1 },
	{ FIG_SERVER_REQUEST, "perf_server_request", "server_request_ms", "Server Request time (ms)", "ms", -1 },
	{ FIG_SERVER_AVG_BATCH, "perf_server_avg_batch", "server_avg_batch", "Server Avg Batch Size", "", +1 },
	{ FIG_GPU_UTILIZATION, "gpu_utilization", "gpu_utilization_pct", "GPU Utilization (%)", "%", +1 },
	{ FIG_GPU_USED_MEMORY, "gpu_used_memory", "gpu_used_memory_mb", "GPU Memory Usage (MB)", "MB", -1 },
	{ FIG_GPU_FREE_MEMORY, "gpu_free_memory", "gpu_free_memory_mb", "GPU Free Memory (MB)", "MB", +1 },
	{ FIG_GPU_TOTAL_MEMORY, "gpu_total_memory", "gpu_total_memory_mb", "GPU Total Memory (MB)", "MB", +1 },
	{ FIG_GPU_POWER, "gpu_power_usage", "gpu_power_w", "GPU Power Usage (W)", "W", -1 },
	{ FIG_CPU_UTILIZATION, "cpu_utilization", "cpu_utilization_pct", "CPU Utilization (%)", "%", -1 },
	{ FIG_CPU_USED_RAM, "cpu_used_ram", "cpu_used_ram_mb", "RAM Usage (MB)", "MB", -1 },
	{ FIG_CPU_FREE_RAM, "cpu_free_ram", "cpu_free_ram_mb", "RAM Available (MB)", "MB", +1 },
	{ FIG_SERVER_CPU_UTILIZATION, "server_cpu_utilization", "server_cpu_pct", "Server CPU (% of a core)", "%", -1 },
	{ FIG_SERVER_RSS, "server_rss", "server_rss_mb", "Server RSS (MB)", "MB", -1 },
	{ FIG_HOST_USED_RAM, "host_used_ram", "host_used_ram_mb", "Host RAM Used (MB)", "MB", -1 },
	{ FIG_CPU_POWER, "cpu_power_usage", "cpu_power_w", "CPU Package Power (W)", "W", -1 },
	{ FIG_ENERGY_PER_INFERENCE, "energy_per_inference", "energy_per_inference_j", "Energy per Inference (J)", "J", -1 },
	{ FIG_CLIENT_CPU, "client_cpu", "client_cpu_cores", "Client CPU (cores)", "cores", -1 },
};

int figure_by_tag(const char *tag)
{
	for (int i = 0; i < FIG_COUNT; i++) {
		if (!strcmp(figure_table[i].tag, tag))
			return i;
	}
	return -1;
}

void figures_set(struct figures *fs, enum figure f, double value)
{
	if (f >= FIG_COUNT || !isfinite(value))
		return;
	fs->v[f] = value;
	fs->present |= (uint64_t)1 << f;
}

bool figures_has(const struct figures *fs, enum figure f)
{
	return f < FIG_COUNT && (fs->present >> f) & 1;
}

double figures_get(const struct figures *fs, enum figure f, double absent)
{
	return figures_has(fs, f) ? fs->v[f] : absent;
}

bool figure_has_interval(enum figure f)
{
	switch (f) {
	case FIG_THROUGHPUT:
	case FIG_LATENCY_AVG:
	case FIG_LATENCY_P50:
	case FIG_LATENCY_P90:
	case FIG_LATENCY_P95:
	case FIG_LATENCY_P99:
		return true;
	default:
		return false;
	}
}

void figures_set_interval(struct figures *fs, enum figure f, double lo, double hi)
{
	if (f >= FIG_COUNT || !figure_has_interval(f))
		return;
	if (isfinite(lo)) {
		fs->lo[f] = lo;
		fs->lo_present |= (uint64_t)1 << f;
	}
	if (isfinite(hi)) {
		fs->hi[f] = hi;
		fs->hi_present |= (uint64_t)1 << f;
	}
}

bool figures_interval(const struct figures *fs, enum figure f, double *lo, double *hi)
{
	bool has_lo = f < FIG_COUNT && (fs->lo_present >> f) & 1;
	bool has_hi = f < FIG_COUNT && (fs->hi_present >> f) & 1;

	*lo = has_lo ? fs->lo[f] : NAN;
	*hi = has_hi ? fs->hi[f] : NAN;
	return has_lo && has_hi;
}
