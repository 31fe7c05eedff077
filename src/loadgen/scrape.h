/*
 * --collect-metrics: a thread that reads the server's Prometheus page every
 * --metrics-interval and keeps, per scrape, what perf_analyzer reports (GPU
 * utilisation, power, memory used and total, per gpu_uuid) and the host CPU
 * series (nv_cpu_utilization, nv_cpu_memory_*). A window's figures merge the
 * scrapes taken inside it the way perf_analyzer merges them: average
 * utilisation and power, maximum memory used, the first total memory.
 * Depends on loadgen/fetch, metrics/prometheus, util/.
 */
#ifndef INFERTUNE_LOADGEN_SCRAPE_H
#define INFERTUNE_LOADGEN_SCRAPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct it_error;
struct prom_page;

#define SCRAPE_MAX_GPUS 16
#define SCRAPE_UUID_MAX 96

/** One GPU in one scrape, or merged over a window. */
struct scrape_gpu {
	char uuid[SCRAPE_UUID_MAX];
	bool has_utilization;
	double utilization;             /* ratio 0-1 (window: average) */
	bool has_power;
	double power_w;                 /* window: average */
	bool has_memory_used;
	uint64_t memory_used_bytes;     /* window: maximum */
	bool has_memory_total;
	uint64_t memory_total_bytes;    /* window: first */
};

/** One scrape, or the merge of the scrapes of a window. Plain value struct. */
struct scrape_summary {
	uint64_t at_ns;                 /* scrape: CLOCK_MONOTONIC time */
	size_t n_scrapes;               /* merged: scrapes it rests on */
	size_t n_gpus;
	struct scrape_gpu gpus[SCRAPE_MAX_GPUS];   /* sorted by uuid */
	bool has_cpu_utilization;
	double cpu_utilization;         /* ratio 0-1 (window: average) */
	bool has_cpu_memory;
	uint64_t cpu_memory_used_bytes; /* window: maximum */
	uint64_t cpu_memory_total_bytes;
};

/**
 * Extracts one scrape from a parsed page. GPU series are keyed by their
 * gpu_uuid label (series without one are ignored); GPUs past
 * SCRAPE_MAX_GPUS are ignored.
 */
void scrape_extract(const struct prom_page *page, uint64_t at_ns,
		    struct scrape_summary *out);

/** Merges scrapes[0..n) into *out (n may be 0: nothing measured). */
void scrape_merge(const struct scrape_summary *scrapes, size_t n,
		  struct scrape_summary *out);

/** The sampling thread (opaque). */
struct scraper;

/**
 * Scrapes `url` once right away (so a wrong URL or a malformed page fails
 * here, with the message), then every interval_ms on a thread. Caller frees
 * with scraper_free().
 */
int scraper_start(const char *url, uint64_t interval_ms, struct scraper **out,
		  struct it_error *err);

/**
 * Merges the scrapes taken in [from_ns, to_ns] into *out. Fails with the
 * thread's error when a scrape failed since the start (unreachable page,
 * HTTP error, malformed text). Thread-safe with the sampling thread.
 */
int scraper_window(struct scraper *s, uint64_t from_ns, uint64_t to_ns,
		   struct scrape_summary *out, struct it_error *err);

/** Stops the thread (at once, not after a whole interval) and frees s. */
void scraper_free(struct scraper *s);

#endif
