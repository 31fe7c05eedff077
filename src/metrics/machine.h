/*
 * The machine in a few words (CPU model and cores, memory size), as
 * `analyze` records it in results.db and the report prints it. Layer just
 * above util/: reads /proc and sysconf() only.
 */
#ifndef INFERTUNE_METRICS_MACHINE_H
#define INFERTUNE_METRICS_MACHINE_H

/** Room for one description and its NUL (longer CPU names are cut). */
#define MACHINE_TEXT_MAX 256

/** This machine described. Plain value struct, filled by machine_describe(). */
struct machine_desc {
	char cpu[MACHINE_TEXT_MAX];     /* "<model name>, N cores", or "N cores" without a model name */
	char memory[MACHINE_TEXT_MAX];  /* MemTotal as "X.Y GB" (10^9 bytes), or "unknown" */
};

/**
 * Describes the machine this process runs on from /proc/cpuinfo,
 * /proc/meminfo and the online core count. Never fails: what cannot be read
 * is described as above. Thread-safe.
 */
void machine_describe(struct machine_desc *out);

#endif
