/*
 * Host collectors from the kernel's text files: CPU utilisation from
 * /proc/stat deltas and host memory from /proc/meminfo (exactly the figures
 * Triton's nv_cpu_* series report), and CPU package energy from RAPL
 * (/sys/class/powercap/intel-rapl:N/energy_uj), which most kernels make
 * readable by root only: then RAPL is "not available".
 */
#include "metrics/collector.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"
#include "util/fs.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define PROC_STAT "/proc/stat"
#define PROC_MEMINFO "/proc/meminfo"
#define POWERCAP_DIR "/sys/class/powercap"
/* /proc/stat holds one line per CPU; this is room for thousands of them. */
#define PROC_FILE_MAX_BYTES ((size_t)8 << 20)
#define RAPL_MAX_ZONES 16

/* Reads an unsigned decimal at *p, skipping leading blanks; advances *p. */
static bool scan_u64(const char **p, uint64_t *out)
{
	const char *s = *p;
	uint64_t v = 0;

	while (*s == ' ' || *s == '\t')
		s++;
	if (*s < '0' || *s > '9')
		return false;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*p = s;
	*out = v;
	return true;
}

int procfs_parse_stat(const char *text, struct procfs_cpu_times *out,
		      struct it_error *err)
{
	uint64_t v[8] = { 0 };
	const char *p = text;
	size_t n = 0;

	/* The aggregate line comes first: "cpu  user nice system idle iowait irq softirq steal guest guest_nice". */
	if (strncmp(p, "cpu ", 4) != 0)
		return it_error_set(err, IT_ERR_PARSE,
				    "/proc/stat: first line is not the aggregate 'cpu' line");
	p += 4;
	while (n < 8 && scan_u64(&p, &v[n]))
		n++;
	if (n < 4)
		return it_error_set(err, IT_ERR_PARSE,
				    "/proc/stat: aggregate 'cpu' line has %zu columns, expected at least 4",
				    n);
	out->user = v[0];
	out->nice = v[1];
	out->system = v[2];
	out->idle = v[3];
	out->iowait = v[4];
	out->irq = v[5];
	out->softirq = v[6];
	out->steal = v[7];
	return 0;
}

/* Value in kB of the line "<key>: <n> kB", or false when absent. */
static bool meminfo_value(const char *text, const char *key, uint64_t *out)
{
	size_t klen = strlen(key);
	const char *line = text;

	while (line && *line) {
		if (!strncmp(line, key, klen) && line[klen] == ':') {
			const char *p = line + klen + 1;

			return scan_u64(&p, out);
		}
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	return false;
}

int procfs_parse_meminfo(const char *text, uint64_t *total_bytes,
			 uint64_t *available_bytes, struct it_error *err)
{
	uint64_t total_kb, avail_kb;

	if (!meminfo_value(text, "MemTotal", &total_kb) ||
	    !meminfo_value(text, "MemAvailable", &avail_kb))
		return it_error_set(err, IT_ERR_PARSE,
				    "/proc/meminfo: MemTotal or MemAvailable missing");
	if (avail_kb > total_kb)
		return it_error_set(err, IT_ERR_PARSE,
				    "/proc/meminfo: MemAvailable is larger than MemTotal");
	if (total_kb > UINT64_MAX / 1024)
		return it_error_set(err, IT_ERR_PARSE,
				    "/proc/meminfo: MemTotal out of range");
	*total_bytes = total_kb * 1024;
	*available_bytes = avail_kb * 1024;
	return 0;
}

double procfs_cpu_utilization(const struct procfs_cpu_times *prev,
			      const struct procfs_cpu_times *cur)
{
	uint64_t busy_prev = prev->user + prev->nice + prev->system +
			     prev->irq + prev->softirq + prev->steal;
	uint64_t busy_cur = cur->user + cur->nice + cur->system + cur->irq +
			    cur->softirq + cur->steal;
	uint64_t idle_prev = prev->idle + prev->iowait;
	uint64_t idle_cur = cur->idle + cur->iowait;
	uint64_t busy, total;

	/* Counters only grow; a step back (CPU hot-unplug) makes the delta meaningless. */
	if (busy_cur < busy_prev || idle_cur < idle_prev)
		return -1;
	busy = busy_cur - busy_prev;
	total = busy + (idle_cur - idle_prev);
	if (!total)
		return -1;
	return (double)busy / (double)total;
}

/* ---- procfs collector ---- */

struct procfs_state {
	struct procfs_cpu_times prev;
	double last_utilization; /* reported again when no tick passed since the last read */
};

static int read_cpu_times(struct procfs_cpu_times *out, struct it_error *err)
{
	char *text = NULL;
	size_t len;
	int rc;

	rc = fs_read_file(PROC_STAT, PROC_FILE_MAX_BYTES, &text, &len, err);
	if (rc)
		goto out;
	rc = procfs_parse_stat(text, out, err);
out:
	free(text);
	return rc;
}

static int procfs_open(void **state, struct it_error *err)
{
	struct procfs_state *s = xcalloc(1, sizeof(*s));
	int rc;

	rc = read_cpu_times(&s->prev, err);
	if (rc) {
		free(s);
		return it_error_set(err, IT_ERR_UNSUPPORTED, "%s unreadable",
				    PROC_STAT);
	}
	*state = s;
	return 0;
}

static int procfs_read(void *state, struct metrics_reading *out,
		       struct it_error *err)
{
	struct procfs_state *s = state;
	struct procfs_cpu_times cur;
	char *text = NULL;
	size_t len;
	uint64_t total, avail;
	int rc;

	rc = read_cpu_times(&cur, err);
	if (!rc) {
		double u = procfs_cpu_utilization(&s->prev, &cur);

		/*
		 * Two reads within one clock tick see no change; report the
		 * previous figure rather than 0/0.
		 */
		if (u >= 0) {
			s->last_utilization = u;
			s->prev = cur;
		}
		out->has_cpu_utilization = true;
		out->cpu_utilization = s->last_utilization;
	}
	rc = fs_read_file(PROC_MEMINFO, PROC_FILE_MAX_BYTES, &text, &len, err);
	if (!rc)
		rc = procfs_parse_meminfo(text, &total, &avail, err);
	if (!rc) {
		out->has_memory = true;
		out->memory_total_bytes = total;
		out->memory_used_bytes = total - avail;
	}
	free(text);
	return rc;
}

static void procfs_close(void *state)
{
	free(state);
}

const struct collector_ops collector_procfs = {
	.name = "procfs",
	.open = procfs_open,
	.read = procfs_read,
	.close = procfs_close,
};

/* ---- RAPL collector ---- */

struct rapl_zone {
	char *energy_path;
	uint64_t max_range_uj; /* the counter wraps at this value (0 = unknown) */
	uint64_t last_uj;
	uint64_t total_uj;     /* accumulated since open, wraps undone */
};

struct rapl_state {
	struct rapl_zone zones[RAPL_MAX_ZONES];
	size_t n_zones;
};

static int read_u64_file(const char *path, uint64_t *out, struct it_error *err)
{
	char *text = NULL;
	const char *p;
	size_t len;
	int rc;

	rc = fs_read_file(path, 4096, &text, &len, err);
	if (rc)
		goto out;
	p = text;
	if (!scan_u64(&p, out))
		rc = it_error_at(err, IT_ERR_PARSE, path, 0, 0,
				 "not an unsigned integer");
out:
	free(text);
	return rc;
}

/*
 * Top-level package zones only ("intel-rapl:0", not "intel-rapl:0:0"):
 * sub-zones (core, uncore, dram) are already inside their package's count.
 */
static bool is_package_zone(const char *name)
{
	const char *p;

	if (strncmp(name, "intel-rapl:", 11) != 0)
		return false;
	p = name + 11;
	if (!*p)
		return false;
	for (; *p; p++)
		if (*p < '0' || *p > '9')
			return false;
	return true;
}

static void rapl_close(void *state)
{
	struct rapl_state *s = state;

	if (!s)
		return;
	for (size_t i = 0; i < s->n_zones; i++)
		free(s->zones[i].energy_path);
	free(s);
}

static int rapl_open(void **state, struct it_error *err)
{
	struct rapl_state *s = xcalloc(1, sizeof(*s));
	struct dirent *de;
	DIR *d = NULL;
	int rc = 0;

	d = opendir(POWERCAP_DIR);
	if (!d) {
		rc = it_error_set(err, IT_ERR_UNSUPPORTED, "%s: %s",
				  POWERCAP_DIR, strerror(errno));
		goto out;
	}
	while ((de = readdir(d)) != NULL && s->n_zones < RAPL_MAX_ZONES) {
		struct rapl_zone *z = &s->zones[s->n_zones];
		char *dir, *range_path;

		if (!is_package_zone(de->d_name))
			continue;
		dir = fs_join(POWERCAP_DIR, de->d_name);
		z->energy_path = fs_join(dir, "energy_uj");
		range_path = fs_join(dir, "max_energy_range_uj");
		free(dir);
		if (read_u64_file(z->energy_path, &z->last_uj, NULL)) {
			/* Usually EACCES: energy_uj is root-only since Linux 5.10. */
			free(z->energy_path);
			z->energy_path = NULL;
			free(range_path);
			continue;
		}
		if (read_u64_file(range_path, &z->max_range_uj, NULL))
			z->max_range_uj = 0;
		free(range_path);
		s->n_zones++;
	}
	if (!s->n_zones)
		rc = it_error_set(err, IT_ERR_UNSUPPORTED,
				  "no readable %s/intel-rapl:*/energy_uj",
				  POWERCAP_DIR);
out:
	if (d)
		closedir(d);
	if (rc) {
		rapl_close(s);
		return rc;
	}
	*state = s;
	return 0;
}

static int rapl_read(void *state, struct metrics_reading *out,
		     struct it_error *err)
{
	struct rapl_state *s = state;
	uint64_t total = 0;

	for (size_t i = 0; i < s->n_zones; i++) {
		struct rapl_zone *z = &s->zones[i];
		uint64_t now;

		if (read_u64_file(z->energy_path, &now, err))
			return IT_ERR_IO;
		if (now >= z->last_uj)
			z->total_uj += now - z->last_uj;
		else if (z->max_range_uj >= z->last_uj)
			z->total_uj += z->max_range_uj - z->last_uj + now; /* wrapped */
		z->last_uj = now;
		total += z->total_uj;
	}
	out->has_cpu_energy = true;
	out->cpu_energy_j = (double)total / 1e6;
	return 0;
}

const struct collector_ops collector_rapl = {
	.name = "rapl",
	.open = rapl_open,
	.read = rapl_read,
	.close = rapl_close,
};
