/*
 * Prometheus sampling for --collect-metrics.
 */
#include "loadgen/scrape.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "loadgen/fetch.h"
#include "loadgen/loadgen.h"
#include "metrics/prometheus.h"
#include "util/error.h"
#include "util/strbuf.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define SCRAPE_MAX_BYTES ((size_t)16 << 20)
#define SCRAPE_MIN_TIMEOUT_MS 2000L

struct scraper {
	char *url;
	uint64_t interval_ms;
	struct fetcher *fetcher;        /* used by the thread only (after start) */
	pthread_t thread;
	bool started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stop;                      /* under mu */
	struct scrape_summary *samples; /* under mu */
	size_t n_samples, alloc_samples;
	bool failed;                    /* under mu */
	struct it_error error;          /* under mu */
};

static struct scrape_gpu *gpu_slot(struct scrape_summary *out, const char *uuid)
{
	size_t i, n = strlen(uuid);

	if (n >= SCRAPE_UUID_MAX)
		n = SCRAPE_UUID_MAX - 1;
	for (i = 0; i < out->n_gpus; i++) {
		int c = strncmp(out->gpus[i].uuid, uuid, n);

		if (c == 0 && out->gpus[i].uuid[n] == '\0')
			return &out->gpus[i];
		if (c > 0 || (c == 0 && out->gpus[i].uuid[n] != '\0'))
			break;
	}
	if (out->n_gpus == SCRAPE_MAX_GPUS)
		return NULL;
	/* Insert at i to keep the list sorted by uuid, as perf_analyzer's std::map. */
	memmove(&out->gpus[i + 1], &out->gpus[i],
		(out->n_gpus - i) * sizeof(out->gpus[0]));
	memset(&out->gpus[i], 0, sizeof(out->gpus[i]));
	memcpy(out->gpus[i].uuid, uuid, n);
	out->gpus[i].uuid[n] = '\0';
	out->n_gpus++;
	return &out->gpus[i];
}

void scrape_extract(const struct prom_page *page, uint64_t at_ns,
		    struct scrape_summary *out)
{
	static const char *const names[] = {
		"nv_gpu_utilization", "nv_gpu_power_usage",
		"nv_gpu_memory_used_bytes", "nv_gpu_memory_total_bytes",
	};
	const struct prom_sample *s;
	size_t pos;

	memset(out, 0, sizeof(*out));
	out->at_ns = at_ns;
	out->n_scrapes = 1;
	for (int k = 0; k < 4; k++) {
		pos = 0;
		while ((s = prometheus_next(page, names[k], &pos)) != NULL) {
			const char *uuid = prometheus_label(s, "gpu_uuid");
			struct scrape_gpu *g;

			if (!uuid || !isfinite(s->value))
				continue;
			g = gpu_slot(out, uuid);
			if (!g)
				continue;
			switch (k) {
			case 0:
				g->has_utilization = true;
				g->utilization = s->value;
				break;
			case 1:
				g->has_power = true;
				g->power_w = s->value;
				break;
			case 2:
				g->has_memory_used = true;
				g->memory_used_bytes = s->value > 0 ? (uint64_t)s->value : 0;
				break;
			default:
				g->has_memory_total = true;
				g->memory_total_bytes = s->value > 0 ? (uint64_t)s->value : 0;
				break;
			}
		}
	}
	pos = 0;
	s = prometheus_next(page, "nv_cpu_utilization", &pos);
	if (s && isfinite(s->value)) {
		out->has_cpu_utilization = true;
		out->cpu_utilization = s->value;
	}
	pos = 0;
	s = prometheus_next(page, "nv_cpu_memory_used_bytes", &pos);
	if (s && isfinite(s->value) && s->value >= 0) {
		out->has_cpu_memory = true;
		out->cpu_memory_used_bytes = (uint64_t)s->value;
		pos = 0;
		s = prometheus_next(page, "nv_cpu_memory_total_bytes", &pos);
		if (s && isfinite(s->value) && s->value >= 0)
			out->cpu_memory_total_bytes = (uint64_t)s->value;
	}
}

void scrape_merge(const struct scrape_summary *scrapes, size_t n,
		  struct scrape_summary *out)
{
	size_t n_util[SCRAPE_MAX_GPUS] = { 0 }, n_power[SCRAPE_MAX_GPUS] = { 0 };
	size_t n_cpu = 0;

	memset(out, 0, sizeof(*out));
	out->n_scrapes = n;
	for (size_t i = 0; i < n; i++) {
		const struct scrape_summary *s = &scrapes[i];

		if (!out->at_ns)
			out->at_ns = s->at_ns;
		for (size_t j = 0; j < s->n_gpus; j++) {
			const struct scrape_gpu *g = &s->gpus[j];
			/* Insertion keeps the list sorted; sums move with their slot. */
			struct scrape_gpu *m = gpu_slot(out, g->uuid);

			if (!m)
				continue;
			if (g->has_utilization) {
				m->has_utilization = true;
				m->utilization += g->utilization;
			}
			if (g->has_power) {
				m->has_power = true;
				m->power_w += g->power_w;
			}
			if (g->has_memory_used) {
				if (!m->has_memory_used || g->memory_used_bytes > m->memory_used_bytes)
					m->memory_used_bytes = g->memory_used_bytes;
				m->has_memory_used = true;
			}
			if (g->has_memory_total && !m->has_memory_total) {
				m->has_memory_total = true;
				m->memory_total_bytes = g->memory_total_bytes;
			}
		}
		if (s->has_cpu_utilization) {
			out->has_cpu_utilization = true;
			out->cpu_utilization += s->cpu_utilization;
			n_cpu++;
		}
		if (s->has_cpu_memory) {
			if (!out->has_cpu_memory ||
			    s->cpu_memory_used_bytes > out->cpu_memory_used_bytes)
				out->cpu_memory_used_bytes = s->cpu_memory_used_bytes;
			if (!out->has_cpu_memory)
				out->cpu_memory_total_bytes = s->cpu_memory_total_bytes;
			out->has_cpu_memory = true;
		}
	}
	/* Averages: count, per GPU, the scrapes that reported each series. */
	for (size_t j = 0; j < out->n_gpus; j++) {
		for (size_t i = 0; i < n; i++) {
			for (size_t k = 0; k < scrapes[i].n_gpus; k++) {
				const struct scrape_gpu *g = &scrapes[i].gpus[k];

				if (strcmp(g->uuid, out->gpus[j].uuid))
					continue;
				n_util[j] += g->has_utilization;
				n_power[j] += g->has_power;
			}
		}
		if (n_util[j])
			out->gpus[j].utilization /= (double)n_util[j];
		if (n_power[j])
			out->gpus[j].power_w /= (double)n_power[j];
	}
	if (n_cpu)
		out->cpu_utilization /= (double)n_cpu;
}

/* One scrape into *out; the caller records it or the error. */
static int scrape_once(struct scraper *s, struct scrape_summary *out,
		       struct it_error *err)
{
	struct strbuf body;
	struct prom_page *page = NULL;
	long status = 0;
	uint64_t at;
	int rc;

	strbuf_init(&body, 0);
	at = loadgen_now_ns();
	rc = fetcher_get(s->fetcher, s->url, SCRAPE_MAX_BYTES, &body, &status, err);
	if (rc) {
		it_error_prefix(err, "metrics");
		goto out;
	}
	if (status != 200) {
		char m[256];

		rc = it_error_set(err, IT_ERR_IO, "metrics: GET %s: HTTP %ld: %s",
				  s->url, status,
				  lg_error_message(body.buf, body.len, m, sizeof(m)));
		goto out;
	}
	rc = prometheus_parse(body.buf, body.len, s->url, &page, err);
	if (rc) {
		it_error_prefix(err, "malformed metrics page");
		goto out;
	}
	scrape_extract(page, at, out);
out:
	prometheus_page_free(page);
	strbuf_release(&body);
	return rc;
}

static void *scraper_main(void *arg)
{
	struct scraper *s = arg;
	struct timespec next;

	clock_gettime(CLOCK_MONOTONIC, &next);
	for (;;) {
		struct scrape_summary sample;
		struct it_error err = { 0 };
		int rc, wait = 0;

		next.tv_sec += (time_t)(s->interval_ms / 1000);
		next.tv_nsec += (long)(s->interval_ms % 1000) * 1000000L;
		if (next.tv_nsec >= 1000000000L) {
			next.tv_sec++;
			next.tv_nsec -= 1000000000L;
		}
		pthread_mutex_lock(&s->mu);
		while (!s->stop && wait != ETIMEDOUT)
			wait = pthread_cond_timedwait(&s->cv, &s->mu, &next);
		if (s->stop) {
			pthread_mutex_unlock(&s->mu);
			return NULL;
		}
		pthread_mutex_unlock(&s->mu);
		rc = scrape_once(s, &sample, &err);
		pthread_mutex_lock(&s->mu);
		if (rc) {
			if (!s->failed) {
				s->failed = true;
				s->error = err;
			}
		} else {
			XGROW(s->samples, s->alloc_samples, s->n_samples + 1);
			s->samples[s->n_samples++] = sample;
		}
		pthread_mutex_unlock(&s->mu);
		/* A slow scrape must not make the next ones pile up. */
		{
			struct timespec now;

			clock_gettime(CLOCK_MONOTONIC, &now);
			if (now.tv_sec > next.tv_sec ||
			    (now.tv_sec == next.tv_sec && now.tv_nsec > next.tv_nsec))
				next = now;
		}
	}
}

int scraper_start(const char *url, uint64_t interval_ms, struct scraper **out,
		  struct it_error *err)
{
	struct scraper *s = xcalloc(1, sizeof(*s));
	struct scrape_summary first;
	pthread_condattr_t ca;
	long timeout = (long)interval_ms;
	int rc, e;

	if (timeout < SCRAPE_MIN_TIMEOUT_MS)
		timeout = SCRAPE_MIN_TIMEOUT_MS;
	s->url = lg_base_url(url);
	s->interval_ms = interval_ms ? interval_ms : 1000;
	s->fetcher = fetcher_new(timeout);
	pthread_mutex_init(&s->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->cv, &ca);
	pthread_condattr_destroy(&ca);
	rc = scrape_once(s, &first, err);
	if (rc)
		goto out;
	XGROW(s->samples, s->alloc_samples, 1);
	s->samples[s->n_samples++] = first;
	e = pthread_create(&s->thread, NULL, scraper_main, s);
	if (e) {
		rc = it_error_set(err, IT_ERR_IO, "cannot start the metrics thread: %s",
				  strerror(e));
		goto out;
	}
	s->started = true;
	*out = s;
	s = NULL;
out:
	scraper_free(s);
	return rc;
}

int scraper_window(struct scraper *s, uint64_t from_ns, uint64_t to_ns,
		   struct scrape_summary *out, struct it_error *err)
{
	size_t first = 0, n = 0;
	int rc = 0;

	pthread_mutex_lock(&s->mu);
	if (s->failed) {
		if (err)
			*err = s->error;
		rc = s->error.code ? s->error.code : IT_ERR_IO;
		pthread_mutex_unlock(&s->mu);
		return rc;
	}
	while (first < s->n_samples && s->samples[first].at_ns < from_ns)
		first++;
	while (first + n < s->n_samples && s->samples[first + n].at_ns <= to_ns)
		n++;
	scrape_merge(s->samples + first, n, out);
	pthread_mutex_unlock(&s->mu);
	return 0;
}

void scraper_free(struct scraper *s)
{
	if (!s)
		return;
	if (s->started) {
		pthread_mutex_lock(&s->mu);
		s->stop = true;
		pthread_cond_broadcast(&s->cv);
		pthread_mutex_unlock(&s->mu);
		/* The thread waits on cv or is in a GET bounded by its timeout. */
		pthread_join(s->thread, NULL);
	}
	fetcher_free(s->fetcher);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
	free(s->samples);
	free(s->url);
	free(s);
}
