/*
 * Local samples taken while a measurement runs: the embedded server
 * process' CPU time and resident memory (/proc/PID), the host's CPU use and
 * memory, and CPU package energy from RAPL where /sys/class/powercap is
 * readable. A thread samples every interval; a window's figures come from
 * the samples around it (cumulative counters interpolated at the window's
 * edges, memory as the window maximum). What cannot be read on this machine
 * is reported as absent. Depends on metrics/collector, util/ and POSIX.
 */
#ifndef INFERTUNE_ANALYZE_SAMPLER_H
#define INFERTUNE_ANALYZE_SAMPLER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct it_error;

/** Figures over one interval; each valid when its has_ flag is set. */
struct sampler_summary {
	bool has_server_cpu;
	double server_cpu_pct;          /* % of one core (200 = two cores busy) */
	bool has_server_rss;
	double server_rss_mb;           /* maximum */
	bool has_host_cpu;
	double host_cpu_pct;            /* all cores, average */
	bool has_host_memory;
	double host_used_mb;            /* maximum */
	double host_available_mb;       /* minimum */
	bool has_energy;
	double cpu_energy_j;            /* RAPL packages */
	double cpu_power_w;
	bool has_gpu_energy;
	double gpu_energy_j;            /* NVML, every GPU */
};

/** The sampling thread (opaque). */
struct sampler;

/**
 * Starts sampling every interval_ms (>= 10). pid 0 samples the host only
 * (a remote server). Never fails for missing sources; they are absent.
 * Caller frees with sampler_free().
 */
int sampler_start(pid_t pid, uint64_t interval_ms, struct sampler **out,
		  struct it_error *err);

/** Follows another process (the server was restarted); drops old samples. */
void sampler_set_pid(struct sampler *s, pid_t pid);

/** CLOCK_MONOTONIC now, in ns (the clock windows are given in). */
uint64_t sampler_now_ns(void);

/**
 * The figures over [from_ns, to_ns]. Waits for the sample after to_ns (at
 * most two intervals) so that the end is bracketed. Thread-safe.
 */
void sampler_window(struct sampler *s, uint64_t from_ns, uint64_t to_ns,
		    struct sampler_summary *out);

/** Drops samples older than before_ns (bounded memory over a long run). */
void sampler_trim(struct sampler *s, uint64_t before_ns);

/** Whether RAPL energy is readable on this machine. */
bool sampler_has_energy(const struct sampler *s);

/** Stops the thread and frees s; NULL is a no-op. */
void sampler_free(struct sampler *s);

#endif
