/*
 * Unit tests for metrics/: the /proc parsers on fixture text, the procfs
 * collector and the machine description on this machine's real files, and
 * NVML and RAPL as "not available" states on machines without them (never
 * a crash).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "metrics/collector.h"
#include "metrics/machine.h"
#include "util/error.h"

static const char stat_fixture[] =
	"cpu  10132153 290696 3084719 46828483 16683 0 25195 0 175628 0\n"
	"cpu0 1393280 32966 572056 13343292 6130 0 17875 0 23933 0\n"
	"cpu1 1335597 38039 480000 13360000 5000 0 3000 0 20000 0\n"
	"intr 199292370 0 0\n"
	"ctxt 1990473\n";

static const char meminfo_fixture[] =
	"MemTotal:       16303428 kB\n"
	"MemFree:         9031184 kB\n"
	"MemAvailable:   12617788 kB\n"
	"Buffers:          185828 kB\n"
	"Cached:          3553292 kB\n";

static void test_parse_stat(void **state)
{
	struct procfs_cpu_times t;
	struct it_error err = { 0 };

	(void)state;
	assert_int_equal(procfs_parse_stat(stat_fixture, &t, &err), 0);
	assert_true(t.user == 10132153);
	assert_true(t.nice == 290696);
	assert_true(t.system == 3084719);
	assert_true(t.idle == 46828483);
	assert_true(t.iowait == 16683);
	assert_true(t.irq == 0);
	assert_true(t.softirq == 25195);
	assert_true(t.steal == 0);
}

static void test_parse_stat_short_and_bad(void **state)
{
	struct procfs_cpu_times t;
	struct it_error err = { 0 };

	(void)state;
	/* Very old kernels print only four columns: the rest read as zero. */
	assert_int_equal(procfs_parse_stat("cpu  1 2 3 4\n", &t, &err), 0);
	assert_true(t.idle == 4 && t.iowait == 0 && t.steal == 0);
	assert_int_equal(procfs_parse_stat("cpu0 1 2 3 4\n", &t, &err), IT_ERR_PARSE);
	assert_non_null(strstr(err.message, "aggregate"));
	assert_int_equal(procfs_parse_stat("cpu  1 2\n", &t, &err), IT_ERR_PARSE);
	assert_int_equal(procfs_parse_stat("", &t, &err), IT_ERR_PARSE);
	assert_int_equal(procfs_parse_stat("cpu  99999999999999999999999 1 1 1\n",
					   &t, &err), IT_ERR_PARSE);
}

static void test_parse_meminfo(void **state)
{
	uint64_t total = 0, avail = 0;
	struct it_error err = { 0 };

	(void)state;
	assert_int_equal(procfs_parse_meminfo(meminfo_fixture, &total, &avail, &err), 0);
	assert_true(total == 16303428ull * 1024);
	assert_true(avail == 12617788ull * 1024);
	assert_int_equal(procfs_parse_meminfo("MemTotal: 10 kB\n", &total, &avail, &err),
			 IT_ERR_PARSE);
	assert_non_null(strstr(err.message, "MemAvailable"));
	assert_int_equal(procfs_parse_meminfo("MemTotal: 10 kB\nMemAvailable: 11 kB\n",
					      &total, &avail, &err), IT_ERR_PARSE);
	/* "MemTotalX:" is another key, not MemTotal. */
	assert_int_equal(procfs_parse_meminfo("MemTotalX: 10 kB\nMemAvailable: 1 kB\n",
					      &total, &avail, &err), IT_ERR_PARSE);
}

static void test_utilization_formula(void **state)
{
	struct procfs_cpu_times a = { 100, 0, 100, 700, 100, 0, 0, 0 };
	struct procfs_cpu_times b = a;

	(void)state;
	/* 300 busy ticks (user+nice+system+irq+softirq+steal) out of 400. */
	b.user += 200;
	b.system += 50;
	b.softirq += 25;
	b.steal += 25;
	b.idle += 80;
	b.iowait += 20;
	assert_true(procfs_cpu_utilization(&a, &b) > 0.7499 &&
		    procfs_cpu_utilization(&a, &b) < 0.7501);
	assert_true(procfs_cpu_utilization(&a, &a) < 0);  /* no time passed */
	assert_true(procfs_cpu_utilization(&b, &a) < 0);  /* went back */
}

/* Burns CPU for about ms milliseconds so that the next delta is not empty. */
static void spin_ms(int ms)
{
	volatile uint64_t x = 0;
	struct timespec t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		for (int i = 0; i < 100000; i++)
			x += (uint64_t)i;
		clock_gettime(CLOCK_MONOTONIC, &t1);
	} while ((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000 < ms);
}

static void test_procfs_collector_live(void **state)
{
	struct collectors *c = collectors_open();
	struct metrics_reading r;
	bool seen_procfs = false;
	const char *name, *why;
	bool available;

	(void)state;
	assert_non_null(c);
	for (size_t i = 0; collectors_status(c, i, &name, &available, &why); i++) {
		if (!strcmp(name, "procfs")) {
			seen_procfs = true;
			assert_true(available);
		} else if (!available) {
			/* "Not available" always says why. */
			assert_non_null(why);
			assert_true(why[0] != '\0');
		}
	}
	assert_true(seen_procfs);
	spin_ms(50);
	assert_int_equal(collectors_read(c, &r), 0);
	assert_true(r.has_cpu_utilization);
	assert_true(r.cpu_utilization >= 0.0 && r.cpu_utilization <= 1.0);
	assert_true(r.cpu_utilization > 0.0); /* we just burned 50 ms of CPU */
	assert_true(r.has_memory);
	assert_true(r.memory_total_bytes > 0);
	assert_true(r.memory_used_bytes > 0);
	assert_true(r.memory_used_bytes <= r.memory_total_bytes);
	/* An immediate second read stays in range (no 0/0). */
	assert_int_equal(collectors_read(c, &r), 0);
	assert_true(r.cpu_utilization >= 0.0 && r.cpu_utilization <= 1.0);
	collectors_free(c);
	collectors_free(NULL);
}

static void test_machine_describe(void **state)
{
	struct machine_desc m;
	struct collectors *c = collectors_open();
	struct metrics_reading r;
	char cores[32], *end;
	const char *dot;
	size_t n_cpu, n_cores;
	double gb;

	(void)state;
	memset(&m, 'x', sizeof(m));
	machine_describe(&m);
	/* "<model name>, N cores", or "N cores" alone, N the online cores. */
	snprintf(cores, sizeof(cores), "%ld cores", sysconf(_SC_NPROCESSORS_ONLN));
	n_cpu = strlen(m.cpu);
	n_cores = strlen(cores);
	assert_true(n_cpu >= n_cores);
	assert_string_equal(m.cpu + n_cpu - n_cores, cores);
	if (n_cpu > n_cores) {
		assert_true(n_cpu > n_cores + 2);
		assert_memory_equal(m.cpu + n_cpu - n_cores - 2, ", ", 2);
	}
	/* This machine has /proc/meminfo: "X.Y GB", MemTotal in 10^9 bytes. */
	gb = strtod(m.memory, &end);
	assert_string_equal(end, " GB");
	dot = strchr(m.memory, '.');
	assert_non_null(dot);
	assert_ptr_equal(dot + 2, end);
	assert_int_equal(collectors_read(c, &r), 0);
	assert_true(r.has_memory);
	assert_true(fabs(gb - (double)r.memory_total_bytes / 1e9) <= 0.05 + 1e-9);
	collectors_free(c);
}

static void test_nvml_state(void **state)
{
	struct it_error err = { 0 };
	struct metrics_reading r;
	void *lib = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
	void *s = NULL;
	int rc;

	(void)state;
	rc = collector_nvml.open(&s, &err);
	if (!lib) {
		/* This machine has no driver: a state with a reason, no crash. */
		assert_int_equal(rc, IT_ERR_UNSUPPORTED);
		assert_null(s);
		assert_non_null(strstr(err.message, "libnvidia-ml.so.1"));
		print_message("nvml: not available (%s)\n", err.message);
		return;
	}
	dlclose(lib);
	if (rc) {
		/* Library present but no usable GPU (container without devices). */
		assert_int_equal(rc, IT_ERR_UNSUPPORTED);
		print_message("nvml: not available (%s)\n", err.message);
		return;
	}
	memset(&r, 0, sizeof(r));
	assert_int_equal(collector_nvml.read(s, &r, &err), 0);
	assert_true(r.n_gpus >= 1);
	for (size_t i = 0; i < r.n_gpus; i++) {
		print_message("nvml: %s util=%.2f mem=%llu/%llu power=%.1fW limit=%.1fW\n",
			      r.gpus[i].uuid, r.gpus[i].utilization,
			      (unsigned long long)r.gpus[i].memory_used_bytes,
			      (unsigned long long)r.gpus[i].memory_total_bytes,
			      r.gpus[i].power_w, r.gpus[i].power_limit_w);
		assert_true(strncmp(r.gpus[i].uuid, "GPU-", 4) == 0);
		if (r.gpus[i].has_utilization)
			assert_true(r.gpus[i].utilization >= 0.0 &&
				    r.gpus[i].utilization <= 1.0);
		if (r.gpus[i].has_memory)
			assert_true(r.gpus[i].memory_total_bytes > 0 &&
				    r.gpus[i].memory_used_bytes <= r.gpus[i].memory_total_bytes);
		if (r.gpus[i].has_power_limit)
			assert_true(r.gpus[i].power_limit_w > 0.0);
	}
	collector_nvml.close(s);
}

static void test_rapl_state(void **state)
{
	struct it_error err = { 0 };
	struct metrics_reading r;
	void *s = NULL;
	int rc;

	(void)state;
	rc = collector_rapl.open(&s, &err);
	if (rc) {
		assert_int_equal(rc, IT_ERR_UNSUPPORTED);
		assert_true(err.message[0] != '\0');
		print_message("rapl: not available (%s)\n", err.message);
		return;
	}
	memset(&r, 0, sizeof(r));
	assert_int_equal(collector_rapl.read(s, &r, &err), 0);
	assert_true(r.has_cpu_energy && r.cpu_energy_j >= 0.0);
	collector_rapl.close(s);
}

static void test_registry(void **state)
{
	size_t n = 0;

	(void)state;
	while (collector_registry[n]) {
		assert_non_null(collector_registry[n]->name);
		assert_non_null(collector_registry[n]->open);
		assert_non_null(collector_registry[n]->read);
		assert_non_null(collector_registry[n]->close);
		n++;
	}
	assert_int_equal(n, 3);
	collector_nvml.close(NULL);
	collector_rapl.close(NULL);
	collector_procfs.close(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_stat),
		cmocka_unit_test(test_parse_stat_short_and_bad),
		cmocka_unit_test(test_parse_meminfo),
		cmocka_unit_test(test_utilization_formula),
		cmocka_unit_test(test_procfs_collector_live),
		cmocka_unit_test(test_machine_describe),
		cmocka_unit_test(test_nvml_state),
		cmocka_unit_test(test_rapl_state),
		cmocka_unit_test(test_registry),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
