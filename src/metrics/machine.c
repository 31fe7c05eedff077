/*
 * The machine description: /proc/cpuinfo's first "model name" and the
 * online core count, /proc/meminfo's MemTotal. The text is what the report
 * has always printed, so a results.db that records it and the report's own
 * fallback for older databases read the same.
 */
#include "metrics/machine.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "metrics/collector.h"
#include "util/fs.h"
#include "util/banned.h"

/* /proc/cpuinfo holds a paragraph per CPU; this is room for thousands of them. */
#define CPUINFO_MAX_BYTES ((size_t)8 << 20)
#define MEMINFO_MAX_BYTES ((size_t)1 << 20)

/* The first "model name" value of cpuinfo text; *len its length, 0 when absent. */
static const char *cpu_model_name(const char *text, size_t *len)
{
	const char *p = strstr(text, "model name");

	*len = 0;
	p = p ? strchr(p, ':') : NULL;
	if (!p)
		return NULL;
	/* "model name\t: Intel(R) ..." : the value starts after the blanks. */
	p++;
	p += strspn(p, " \t");
	*len = strcspn(p, "\n");
	return p;
}

void machine_describe(struct machine_desc *out)
{
	char *text = NULL;
	size_t len, n = 0;
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	const char *name = NULL;
	uint64_t total, available;

	if (!fs_read_file("/proc/cpuinfo", CPUINFO_MAX_BYTES, &text, &len, NULL))
		name = cpu_model_name(text, &n);
	/* ARM kernels and containers may print no model name: cores alone then. */
	if (name && n)
		snprintf(out->cpu, sizeof(out->cpu), "%.*s, %ld cores", (int)n, name, cores);
	else
		snprintf(out->cpu, sizeof(out->cpu), "%ld cores", cores);
	free(text);
	text = NULL;

	snprintf(out->memory, sizeof(out->memory), "unknown");
	if (!fs_read_file("/proc/meminfo", MEMINFO_MAX_BYTES, &text, &len, NULL) &&
	    !procfs_parse_meminfo(text, &total, &available, NULL))
		snprintf(out->memory, sizeof(out->memory), "%.1f GB", (double)total / 1e9);
	free(text);
}
