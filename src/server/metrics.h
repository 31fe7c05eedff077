/*
 * The Prometheus page of the metrics port (protocol.md §4): Triton's metric
 * names, HELP texts, types and labels, rendered from the model manager's
 * statistics snapshots and the metric collectors. Depends on server/models,
 * metrics/ and util/.
 */
#ifndef INFERTUNE_SERVER_METRICS_H
#define INFERTUNE_SERVER_METRICS_H

struct models;
struct collectors;
struct strbuf;

/**
 * Appends the text exposition (format 0.0.4) of every READY model version
 * (nv_inference_*, labels {model,version}; failures also by reason), then the
 * GPU series (nv_gpu_*, nv_energy_consumption, labelled {gpu_uuid} only) when
 * NVML is available and the CPU series (nv_cpu_*) when /proc is. collectors
 * may be NULL (no host series). Every value is a plain decimal (never an
 * exponent) after one space, every sample on its own line, as perf_analyzer's
 * regex and prometheus_client's parser require. Thread-safe.
 */
void metrics_render(struct models *models, struct collectors *collectors,
		    struct strbuf *out);

/**
 * Appends v as a plain decimal with at most `decimals` fraction digits and no
 * trailing zeros ("0.25", "3", "1500000000"); NaN and infinities as
 * Prometheus spells them. Exposed for tests.
 */
void metrics_format_double(struct strbuf *out, double v, int decimals);

#endif
