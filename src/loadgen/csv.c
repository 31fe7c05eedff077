/*
 * perf_analyzer's -f CSV (report_writer.cc), column for column: same
 * header text, same units (µs, integer-divided as perf_analyzer does), same
 * number formatting (C++ ostream's default, which is printf's %g), rows
 * sorted by increasing throughput.
 */
#include "loadgen/profiler.h"

#include <stdlib.h>
#include <string.h>

#include "util/strbuf.h"
#include "util/xalloc.h"
#include "util/banned.h"

/* The percentile columns: 50, 90, 95, 99 and --percentile, sorted, unique. */
static size_t percentile_columns(int extra, int *cols)
{
	size_t n = 0;
	bool placed = extra == 0;

	for (int i = 0; i < LATENCY_N_STD_PERCENTILES; i++) {
		int p = latency_std_percentiles[i];

		if (!placed && extra <= p) {
			if (extra != p)
				cols[n++] = extra;
			placed = true;
		}
		cols[n++] = p;
	}
	if (!placed)
		cols[n++] = extra;
	return n;
}

static uint64_t percentile_value(const struct latency_summary *s, int p)
{
	for (int i = 0; i < LATENCY_N_STD_PERCENTILES; i++) {
		if (latency_std_percentiles[i] == p)
			return s->p_ns[i];
	}
	return s->extra_ns;
}

static uint64_t avg_ns(uint64_t total, uint64_t count)
{
	return count ? total / count : 0;
}

static int cmp_throughput(const void *a, const void *b)
{
	const struct profile_level *x = *(const struct profile_level *const *)a;
	const struct profile_level *y = *(const struct profile_level *const *)b;

	if (x->infer_per_sec < y->infer_per_sec)
		return -1;
	if (x->infer_per_sec > y->infer_per_sec)
		return 1;
	/* Ties keep the measured order (perf_analyzer's std::sort leaves it open). */
	return (x->index > y->index) - (x->index < y->index);
}

static void write_row(const struct profile_results *r, const struct profile_level *L,
		      bool verbose_csv, const int *cols, size_t n_cols,
		      struct strbuf *out)
{
	const struct remote_stats *s = &L->server;
	uint64_t send_us = L->avg_send_ns / 1000, recv_us = L->avg_recv_ns / 1000;

	if (r->load == PROFILE_LOAD_CONCURRENCY)
		strbuf_addf(out, "%llu,", (unsigned long long)L->concurrency);
	else
		strbuf_addf(out, "%g,", L->request_rate);
	strbuf_addf(out, "%g,", L->infer_per_sec);
	if (r->decoupled)       /* one response per request: the same rate */
		strbuf_addf(out, "%g,", L->infer_per_sec);
	strbuf_addf(out, "%llu,", (unsigned long long)send_us);
	if (r->include_server_stats) {
		uint64_t queue = avg_ns(s->queue_ns, s->queue_count);
		uint64_t in = avg_ns(s->compute_input_ns, s->compute_input_count);
		uint64_t infer = avg_ns(s->compute_infer_ns, s->compute_infer_count);
		uint64_t outp = avg_ns(s->compute_output_ns, s->compute_output_count);
		uint64_t compute = avg_ns(s->compute_input_ns + s->compute_infer_ns +
					  s->compute_output_ns,
					  s->compute_input_count);
		uint64_t hit = avg_ns(s->cache_hit_ns, s->cache_hit_count);
		uint64_t miss = avg_ns(s->cache_miss_ns, s->cache_miss_count);
		/*
		 * The client's wait for the server is the request time less
		 * the client's own send and receive; what the server does not
		 * account for is network and HTTP handling, floored at 0.
		 */
		uint64_t client = L->avg_send_ns + L->avg_recv_ns;
		uint64_t wait = L->avg_request_ns > client ? L->avg_request_ns - client : 0;
		uint64_t accounted = queue + compute + hit + miss;
		uint64_t network = wait > accounted ? wait - accounted : 0;

		strbuf_addf(out, "%llu,%llu,%llu,%llu,%llu,",
			    (unsigned long long)(network / 1000),
			    (unsigned long long)(queue / 1000),
			    (unsigned long long)(in / 1000),
			    (unsigned long long)(infer / 1000),
			    (unsigned long long)(outp / 1000));
		if (r->cache_enabled)
			strbuf_addf(out, "%llu,%llu,",
				    (unsigned long long)(hit / 1000),
				    (unsigned long long)(miss / 1000));
	}
	strbuf_addf(out, "%llu", (unsigned long long)recv_us);
	for (size_t i = 0; i < n_cols; i++)
		strbuf_addf(out, ",%llu",
			    (unsigned long long)(percentile_value(&L->latency, cols[i]) / 1000));
	if (verbose_csv) {
		uint64_t req_us = L->avg_request_ns / 1000;

		if (!r->percentile)
			strbuf_addf(out, ",%llu",
				    (unsigned long long)(L->latency.avg_ns / 1000));
		strbuf_addf(out, ",%llu,%llu", (unsigned long long)(send_us + recv_us),
			    (unsigned long long)(req_us > send_us + recv_us ?
						 req_us - send_us - recv_us : 0));
		if (r->collect_metrics) {
			const struct scrape_summary *m = &L->metrics;

			strbuf_addch(out, ',');
			for (size_t g = 0; g < m->n_gpus; g++)
				if (m->gpus[g].has_utilization)
					strbuf_addf(out, "%s:%g;", m->gpus[g].uuid,
						    m->gpus[g].utilization);
			strbuf_addch(out, ',');
			for (size_t g = 0; g < m->n_gpus; g++)
				if (m->gpus[g].has_power)
					strbuf_addf(out, "%s:%g;", m->gpus[g].uuid,
						    m->gpus[g].power_w);
			strbuf_addch(out, ',');
			for (size_t g = 0; g < m->n_gpus; g++)
				if (m->gpus[g].has_memory_used)
					strbuf_addf(out, "%s:%llu;", m->gpus[g].uuid,
						    (unsigned long long)m->gpus[g].memory_used_bytes);
			strbuf_addch(out, ',');
			for (size_t g = 0; g < m->n_gpus; g++)
				if (m->gpus[g].has_memory_total)
					strbuf_addf(out, "%s:%llu;", m->gpus[g].uuid,
						    (unsigned long long)m->gpus[g].memory_total_bytes);
		}
	}
	strbuf_addch(out, '\n');
}

void profile_csv_write(const struct profile_results *r, bool verbose_csv,
		       struct strbuf *out)
{
	int cols[LATENCY_N_STD_PERCENTILES + 1];
	size_t n_cols = percentile_columns(r->percentile, cols);
	const struct profile_level **rows;
	size_t n_rows = 0;

	strbuf_adds(out, r->load == PROFILE_LOAD_CONCURRENCY ? "Concurrency," :
		    "Request Rate,");
	strbuf_adds(out, "Inferences/Second,");
	if (r->decoupled)
		strbuf_adds(out, "Response Throughput,");
	strbuf_adds(out, "Client Send,");
	if (r->include_server_stats) {
		strbuf_adds(out, "Network+Server Send/Recv,Server Queue,"
			    "Server Compute Input,Server Compute Infer,"
			    "Server Compute Output,");
		if (r->cache_enabled)
			strbuf_adds(out, "Server Cache Hit,Server Cache Miss,");
	}
	strbuf_adds(out, "Client Recv");
	for (size_t i = 0; i < n_cols; i++)
		strbuf_addf(out, ",p%d latency", cols[i]);
	if (verbose_csv) {
		if (!r->percentile)
			strbuf_adds(out, ",Avg latency");
		strbuf_adds(out, ",request/response,response wait");
		if (r->collect_metrics)
			strbuf_adds(out, ",Avg GPU Utilization,Avg GPU Power Usage,"
				    "Max GPU Memory Usage,Total GPU Memory");
	}
	strbuf_addch(out, '\n');

	rows = xcalloc(r->n_levels ? r->n_levels : 1, sizeof(*rows));
	for (size_t i = 0; i < r->n_levels; i++) {
		if (r->levels[i].status == PROFILE_OK)
			rows[n_rows++] = &r->levels[i];
	}
	qsort(rows, n_rows, sizeof(*rows), cmp_throughput);
	for (size_t i = 0; i < n_rows; i++)
		write_row(r, rows[i], verbose_csv, cols, n_cols, out);
	free(rows);
}
