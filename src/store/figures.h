/*
 * The figures one measurement yields (throughput, latencies, the server's
 * queue/compute breakdown, client send/receive, GPU, CPU, memory, power and
 * energy), each with its Model Analyzer record tag, results.db column, CSV
 * header, unit and direction (more or less is better). One table drives the
 * store's columns, the objectives and constraints, and every CSV, so a
 * figure is named the same way everywhere. A figure that was not measured is
 * absent, never 0. Depends on nothing but libc.
 */
#ifndef INFERTUNE_STORE_FIGURES_H
#define INFERTUNE_STORE_FIGURES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Every figure, in column order. Keep FIG_COUNT <= 64 (presence is a bit mask). */
enum figure {
	FIG_THROUGHPUT = 0,             /* perf_throughput, inferences/s */
	FIG_LATENCY_AVG,                /* client latency, ms */
	FIG_LATENCY_P50,
	FIG_LATENCY_P90,
	FIG_LATENCY_P95,
	FIG_LATENCY_P99,
	FIG_LATENCY_STD,                /* standard deviation, ms */
	FIG_CLIENT_SEND,                /* time to send a request, ms */
	FIG_CLIENT_RECV,                /* time to receive a response, ms */
	FIG_CLIENT_SEND_RECV,           /* send + receive, ms (MA perf_client_send_recv) */
	FIG_CLIENT_RESPONSE_WAIT,       /* request time - send - receive, ms */
	FIG_SERVER_QUEUE,               /* server statistics deltas, ms per request */
	FIG_SERVER_COMPUTE_INPUT,
	FIG_SERVER_COMPUTE_INFER,
	FIG_SERVER_COMPUTE_OUTPUT,
	FIG_SERVER_REQUEST,             /* server's end-to-end request time, ms */
	FIG_SERVER_AVG_BATCH,           /* inferences per execution */
	FIG_GPU_UTILIZATION,            /* %, average over the GPUs and windows */
	FIG_GPU_USED_MEMORY,            /* MB (1e6 bytes), sum over GPUs, window maximum */
	FIG_GPU_FREE_MEMORY,            /* MB, total - used */
	FIG_GPU_TOTAL_MEMORY,           /* MB */
	FIG_GPU_POWER,                  /* W, sum over GPUs, window average */
	FIG_CPU_UTILIZATION,            /* host CPU busy %, all cores (nv_cpu_utilization) */
	FIG_CPU_USED_RAM,               /* MB: the server process RSS when known, else host used */
	FIG_CPU_FREE_RAM,               /* MB: host available memory */
	FIG_SERVER_CPU_UTILIZATION,     /* server process CPU, % of one core (200 = two cores) */
	FIG_SERVER_RSS,                 /* server process resident memory, MB, window maximum */
	FIG_HOST_USED_RAM,              /* host used memory, MB */
	FIG_CPU_POWER,                  /* RAPL package power, W */
	FIG_ENERGY_PER_INFERENCE,       /* J per inference: (CPU + GPU) energy / inferences */
	FIG_CLIENT_CPU,                 /* the load generator's CPU use, cores */
	FIG_COUNT
};

/** Describes one figure. */
struct figure_info {
	enum figure id;
	const char *tag;        /* Model Analyzer's record tag ("perf_throughput") */
	const char *column;     /* results.db column ("throughput") */
	const char *header;     /* CSV header ("Throughput (infer/sec)") */
	const char *unit;       /* "infer/s", "ms", "%", "MB", "W", "J", "cores", "" */
	int direction;          /* +1: more is better; -1: less is better */
};

/** figure_table[i].id == i for every figure. */
extern const struct figure_info figure_table[FIG_COUNT];

/** The figure whose Model Analyzer tag is `tag`, or -1. */
int figure_by_tag(const char *tag);

/**
 * The figures of one measurement. Plain value struct: zero it (nothing
 * measured), then figures_set() what was measured.
 */
struct figures {
	double v[FIG_COUNT];
	uint64_t present;       /* bit i: figure i was measured */
	/*
	 * The 95% confidence interval of the figures that have one
	 * (figure_has_interval(); docs/statistics.md): each bound is known
	 * on its own (a p99 of few requests has a lower bound only).
	 */
	double lo[FIG_COUNT], hi[FIG_COUNT];
	uint64_t lo_present, hi_present;
};

/** Sets figure f to value (which must be finite; NaN/inf are left absent). */
void figures_set(struct figures *fs, enum figure f, double value);

/** True when figure f was measured. */
bool figures_has(const struct figures *fs, enum figure f);

/** The value of figure f, or `absent` when it was not measured. */
double figures_get(const struct figures *fs, enum figure f, double absent);

/**
 * True for the figures measured with a confidence interval: throughput,
 * average latency and the p50/p90/p95/p99 latencies.
 */
bool figure_has_interval(enum figure f);

/**
 * Sets the interval of figure f; a bound that is not finite (NAN: the data
 * could not give it) is left absent. Ignored for a figure without
 * intervals.
 */
void figures_set_interval(struct figures *fs, enum figure f, double lo, double hi);

/**
 * The interval of figure f: *lo and *hi get the known bounds and NAN for
 * the others. Returns true when both are known.
 */
bool figures_interval(const struct figures *fs, enum figure f, double *lo, double *hi);

#endif
