/*
 * Metric collectors: host CPU and memory from /proc, CPU package energy from
 * RAPL, GPU utilisation, memory, power and energy from NVML. Each collector
 * is one const struct collector_ops listed in collector_registry[] (curl's
 * vtls shape); struct collectors is the opened set that the server's
 * /metrics page and the load generator read. Hardware that is missing is a
 * state ("not available", with the reason), never an error. Layer just above
 * util/: depends on util/ and libc (dlopen) only.
 */
#ifndef INFERTUNE_METRICS_COLLECTOR_H
#define INFERTUNE_METRICS_COLLECTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct it_error;

/** GPUs reported at most (more are ignored). */
#define COLLECTOR_MAX_GPUS 16
/** Room for an NVML UUID ("GPU-" + 36 characters) and its NUL. */
#define COLLECTOR_UUID_MAX 96

/** One GPU as NVML sees it; each figure is valid when its has_ flag is set. */
struct gpu_reading {
	char uuid[COLLECTOR_UUID_MAX];  /* "GPU-…", the gpu_uuid label */
	unsigned index;                 /* NVML device index */
	bool has_utilization;
	double utilization;             /* 0.0-1.0 over NVML's last sample period */
	bool has_memory;
	uint64_t memory_total_bytes;
	uint64_t memory_used_bytes;
	bool has_power;
	double power_w;
	bool has_power_limit;
	double power_limit_w;
	bool has_energy;
	double energy_j;                /* since the collector was opened */
};

/**
 * What the collectors measured at one read. Plain value struct: zero it
 * (collectors_read() does), then each collector fills what it provides.
 */
struct metrics_reading {
	bool has_cpu_utilization;
	double cpu_utilization;         /* 0.0-1.0, all cores, since the previous read */
	bool has_memory;
	uint64_t memory_total_bytes;    /* MemTotal */
	uint64_t memory_used_bytes;     /* MemTotal - MemAvailable */
	bool has_cpu_energy;
	double cpu_energy_j;            /* RAPL packages, since the collector was opened */
	struct gpu_reading gpus[COLLECTOR_MAX_GPUS];
	size_t n_gpus;
};

/**
 * A collector. open() returns 0, or IT_ERR_UNSUPPORTED when the source is
 * not available on this machine (err says why: no library, not readable);
 * that is a state, not a failure. read() adds its figures to *out and is
 * called with the owning struct collectors' lock held, so a collector's state
 * needs no lock of its own. close(NULL) is a no-op.
 */
struct collector_ops {
	const char *name;
	int (*open)(void **state, struct it_error *err);
	int (*read)(void *state, struct metrics_reading *out,
		    struct it_error *err);
	void (*close)(void *state);
};

extern const struct collector_ops collector_procfs;
extern const struct collector_ops collector_rapl;
extern const struct collector_ops collector_nvml;

/** Every collector built in, NULL-terminated, in reading order. */
extern const struct collector_ops *const collector_registry[];

/** The opened set of collectors (opaque). */
struct collectors;

/**
 * Opens every registered collector. Never fails: a collector that cannot
 * open is kept as "not available" with its reason (collectors_status()).
 * The first CPU utilisation is measured against the moment of opening.
 * Caller frees with collectors_free().
 */
struct collectors *collectors_open(void);

/**
 * Describes collector i (0-based, registry order): *name, whether it is
 * available, and if not, *why (owned by c). Returns false past the end.
 */
bool collectors_status(const struct collectors *c, size_t i,
		       const char **name, bool *available, const char **why);

/**
 * Reads every available collector into *out (zeroed first). A collector that
 * fails to read leaves its figures out (has_ flags false) and the others are
 * still read. Thread-safe (one internal lock). Returns 0.
 */
int collectors_read(struct collectors *c, struct metrics_reading *out);

/** Closes every collector and frees c; NULL is a no-op. */
void collectors_free(struct collectors *c);

/* Parsers behind the procfs collector, pure so that tests feed them fixture text. */

/** Cumulative CPU time counters of the aggregate "cpu " line of /proc/stat (USER_HZ ticks). */
struct procfs_cpu_times {
	uint64_t user, nice, system, idle, iowait, irq, softirq, steal;
};

/**
 * Parses the aggregate "cpu" line of /proc/stat text (NUL-terminated).
 * Older kernels with fewer columns give zeros for the missing ones.
 * IT_ERR_PARSE when the first line is not an aggregate cpu line.
 */
int procfs_parse_stat(const char *text, struct procfs_cpu_times *out,
		      struct it_error *err);

/**
 * Parses MemTotal and MemAvailable (kB in the file) from /proc/meminfo text
 * into bytes. IT_ERR_PARSE when either is missing or available > total.
 */
int procfs_parse_meminfo(const char *text, uint64_t *total_bytes,
			 uint64_t *available_bytes, struct it_error *err);

/**
 * Busy fraction between two readings, as Triton computes it:
 * (user+nice+system+irq+softirq+steal) / (that + idle + iowait), each as a
 * difference. Returns -1 when no time passed or the counters went back.
 */
double procfs_cpu_utilization(const struct procfs_cpu_times *prev,
			      const struct procfs_cpu_times *cur);

#endif
