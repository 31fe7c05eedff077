/*
 * The sampling thread. Samples live in a growable array under one mutex;
 * the analysis trims it after every measurement, so it stays small.
 */
#include "analyze/sampler.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "metrics/collector.h"
#include "util/error.h"
#include "util/thread.h"
#include "util/xalloc.h"
#include "util/banned.h"

struct sample {
	uint64_t t_ns;
	bool has_proc;
	double proc_cpu_s;              /* utime + stime of the server */
	double rss_mb;
	bool has_host_cpu;
	double host_cpu;                /* 0-1, since the previous sample */
	bool has_mem;
	double used_mb, avail_mb;
	bool has_energy;
	double energy_j;                /* RAPL, cumulative */
	bool has_gpu_energy;
	double gpu_energy_j;            /* NVML, cumulative, every GPU */
};

struct sampler {
	pthread_t thread;
	bool started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stop;
	pid_t pid;
	uint64_t interval_ns;
	struct collectors *coll;
	bool has_energy;
	struct sample *s;
	size_t n, alloc;
	long ticks;                     /* sysconf(_SC_CLK_TCK) */
	long page_kb;
};

uint64_t sampler_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* utime + stime (s) and RSS (MB) of pid from /proc/PID/stat. */
static bool read_proc(pid_t pid, long ticks, long page_kb, double *cpu_s, double *rss_mb)
{
	char path[64], buf[2048];
	FILE *f;
	size_t n;
	const char *p;
	unsigned long utime, stime;
	long rss_pages;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return false;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* The command name may hold spaces and ')': fields start after the last ')'. */
	p = strrchr(buf, ')');
	if (!p)
		return false;
	/* state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime
	 * cutime cstime priority nice threads itrealvalue starttime vsize rss */
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu %*d %*d %*d %*d %*d %*d %*u %*u %ld",
		   &utime, &stime, &rss_pages) != 3)
		return false;
	*cpu_s = (double)(utime + stime) / (double)ticks;
	*rss_mb = (double)rss_pages * (double)page_kb * 1024 / 1e6;
	return true;
}

static void take_sample(struct sampler *s)
{
	struct sample x;
	struct metrics_reading r;
	pid_t pid;

	memset(&x, 0, sizeof(x));
	pthread_mutex_lock(&s->mu);
	pid = s->pid;
	pthread_mutex_unlock(&s->mu);
	x.t_ns = sampler_now_ns();
	if (pid > 0)
		x.has_proc = read_proc(pid, s->ticks, s->page_kb, &x.proc_cpu_s, &x.rss_mb);
	collectors_read(s->coll, &r);
	if (r.has_cpu_utilization) {
		x.has_host_cpu = true;
		x.host_cpu = r.cpu_utilization;
	}
	if (r.has_memory) {
		x.has_mem = true;
		x.used_mb = (double)r.memory_used_bytes / 1e6;
		x.avail_mb = (double)(r.memory_total_bytes - r.memory_used_bytes) / 1e6;
	}
	if (r.has_cpu_energy) {
		x.has_energy = true;
		x.energy_j = r.cpu_energy_j;
	}
	for (size_t g = 0; g < r.n_gpus; g++) {
		if (r.gpus[g].has_energy) {
			x.has_gpu_energy = true;
			x.gpu_energy_j += r.gpus[g].energy_j;
		}
	}
	pthread_mutex_lock(&s->mu);
	if (pid == s->pid) {
		XGROW(s->s, s->alloc, s->n + 1);
		s->s[s->n++] = x;
	}
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

static void *sampler_main(void *arg)
{
	struct sampler *s = arg;

	for (;;) {
		struct timespec until;
		uint64_t next;

		take_sample(s);
		next = sampler_now_ns() + s->interval_ns;
		pthread_mutex_lock(&s->mu);
		until.tv_sec = (time_t)(next / 1000000000ULL);
		until.tv_nsec = (long)(next % 1000000000ULL);
		while (!s->stop && sampler_now_ns() < next)
			pthread_cond_timedwait(&s->cv, &s->mu, &until);
		if (s->stop) {
			pthread_mutex_unlock(&s->mu);
			break;
		}
		pthread_mutex_unlock(&s->mu);
	}
	return NULL;
}

int sampler_start(pid_t pid, uint64_t interval_ms, struct sampler **out,
		  struct it_error *err)
{
	struct sampler *s = xcalloc(1, sizeof(*s));
	int rc;

	s->pid = pid;
	s->interval_ns = (interval_ms < 10 ? 10 : interval_ms) * 1000000ULL;
	s->ticks = sysconf(_SC_CLK_TCK);
	if (s->ticks <= 0)
		s->ticks = 100;
	s->page_kb = sysconf(_SC_PAGESIZE) / 1024;
	if (s->page_kb <= 0)
		s->page_kb = 4;
	s->coll = collectors_open();
	for (size_t i = 0;; i++) {
		const char *name, *why;
		bool available;

		if (!collectors_status(s->coll, i, &name, &available, &why))
			break;
		if (!strcmp(name, "rapl"))
			s->has_energy = available;
	}
	pthread_mutex_init(&s->mu, NULL);
	cond_init_monotonic(&s->cv);
	rc = pthread_create(&s->thread, NULL, sampler_main, s);
	if (rc) {
		sampler_free(s);
		return it_error_set(err, IT_ERR_IO, "cannot start the sampling thread: %s",
				    strerror(rc));
	}
	s->started = true;
	*out = s;
	return 0;
}

void sampler_set_pid(struct sampler *s, pid_t pid)
{
	pthread_mutex_lock(&s->mu);
	s->pid = pid;
	s->n = 0;
	pthread_mutex_unlock(&s->mu);
}

bool sampler_has_energy(const struct sampler *s)
{
	return s->has_energy;
}

enum counter { COUNTER_PROC_CPU, COUNTER_ENERGY, COUNTER_GPU_ENERGY };

/* The value of a cumulative counter in one sample; false when it has none. */
static bool counter_value(const struct sample *x, enum counter c, double *v)
{
	switch (c) {
	case COUNTER_PROC_CPU:
		*v = x->proc_cpu_s;
		return x->has_proc;
	case COUNTER_ENERGY:
		*v = x->energy_j;
		return x->has_energy;
	case COUNTER_GPU_ENERGY:
		*v = x->gpu_energy_j;
		return x->has_gpu_energy;
	}
	return false;
}

/* A cumulative counter at time t, interpolated (clipped at the ends). */
static bool counter_at(const struct sample *v, size_t n, uint64_t t,
		       enum counter c, double *out)
{
	const struct sample *prev = NULL;
	double pv = 0;

	for (size_t i = 0; i < n; i++) {
		const struct sample *x = &v[i];
		double val;

		if (!counter_value(x, c, &val))
			continue;
		if (x->t_ns >= t) {
			if (!prev || x->t_ns == prev->t_ns)
				*out = val;
			else
				*out = pv + (val - pv) * (double)(t - prev->t_ns) /
				       (double)(x->t_ns - prev->t_ns);
			return true;
		}
		prev = x;
		pv = val;
	}
	if (!prev)
		return false;
	*out = pv;
	return true;
}

void sampler_window(struct sampler *s, uint64_t from_ns, uint64_t to_ns,
		    struct sampler_summary *out)
{
	uint64_t wait_until = to_ns + 2 * s->interval_ns;
	double a, b, host_sum = 0;
	size_t host_n = 0;
	struct timespec until;

	memset(out, 0, sizeof(*out));
	if (to_ns <= from_ns)
		return;
	until.tv_sec = (time_t)(wait_until / 1000000000ULL);
	until.tv_nsec = (long)(wait_until % 1000000000ULL);
	pthread_mutex_lock(&s->mu);
	/* Bracket the end with a sample (the thread takes one at least every interval). */
	while ((!s->n || s->s[s->n - 1].t_ns < to_ns) && sampler_now_ns() < wait_until &&
	       !s->stop)
		pthread_cond_timedwait(&s->cv, &s->mu, &until);
	if (counter_at(s->s, s->n, from_ns, COUNTER_PROC_CPU, &a) &&
	    counter_at(s->s, s->n, to_ns, COUNTER_PROC_CPU, &b)) {
		out->has_server_cpu = true;
		out->server_cpu_pct = (b - a) / ((double)(to_ns - from_ns) / 1e9) * 100;
	}
	if (counter_at(s->s, s->n, from_ns, COUNTER_ENERGY, &a) &&
	    counter_at(s->s, s->n, to_ns, COUNTER_ENERGY, &b) && b >= a) {
		out->has_energy = true;
		out->cpu_energy_j = b - a;
		out->cpu_power_w = (b - a) / ((double)(to_ns - from_ns) / 1e9);
	}
	if (counter_at(s->s, s->n, from_ns, COUNTER_GPU_ENERGY, &a) &&
	    counter_at(s->s, s->n, to_ns, COUNTER_GPU_ENERGY, &b) && b >= a) {
		out->has_gpu_energy = true;
		out->gpu_energy_j = b - a;
	}
	for (size_t i = 0; i < s->n; i++) {
		const struct sample *x = &s->s[i];

		/* Samples inside the window (host CPU covers the interval before it). */
		if (x->t_ns < from_ns || x->t_ns > to_ns + s->interval_ns)
			continue;
		if (x->has_proc && x->t_ns <= to_ns + s->interval_ns &&
		    (!out->has_server_rss || x->rss_mb > out->server_rss_mb)) {
			out->has_server_rss = true;
			out->server_rss_mb = x->rss_mb;
		}
		if (x->has_host_cpu && x->t_ns > from_ns) {
			host_sum += x->host_cpu;
			host_n++;
		}
		if (x->has_mem) {
			if (!out->has_host_memory || x->used_mb > out->host_used_mb)
				out->host_used_mb = x->used_mb;
			if (!out->has_host_memory || x->avail_mb < out->host_available_mb)
				out->host_available_mb = x->avail_mb;
			out->has_host_memory = true;
		}
	}
	if (host_n) {
		out->has_host_cpu = true;
		out->host_cpu_pct = host_sum / (double)host_n * 100;
	}
	pthread_mutex_unlock(&s->mu);
}

void sampler_trim(struct sampler *s, uint64_t before_ns)
{
	size_t keep = 0;

	pthread_mutex_lock(&s->mu);
	/* Keep one sample before the cut so the next window's start is bracketed. */
	while (keep + 1 < s->n && s->s[keep + 1].t_ns < before_ns)
		keep++;
	if (keep) {
		memmove(s->s, s->s + keep, (s->n - keep) * sizeof(*s->s));
		s->n -= keep;
	}
	pthread_mutex_unlock(&s->mu);
}

void sampler_free(struct sampler *s)
{
	if (!s)
		return;
	if (s->started) {
		pthread_mutex_lock(&s->mu);
		s->stop = true;
		pthread_cond_broadcast(&s->cv);
		pthread_mutex_unlock(&s->mu);
		pthread_join(s->thread, NULL);
	}
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
	collectors_free(s->coll);
	free(s->s);
	free(s);
}
