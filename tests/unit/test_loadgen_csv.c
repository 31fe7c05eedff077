/*
 * Unit tests for the -f CSV (loadgen/csv.c): the headers byte for byte as
 * perf_analyzer's report_writer.cc writes them in every variant, the units
 * and number formats of a row, and the rows sorted by throughput.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loadgen/profiler.h"
#include "util/strbuf.h"

/* perf_analyzer's header for the usual run (-f, statistics extension). */
static const char pa_header[] =
	"Concurrency,Inferences/Second,Client Send,Network+Server Send/Recv,"
	"Server Queue,Server Compute Input,Server Compute Infer,Server Compute Output,"
	"Client Recv,p50 latency,p90 latency,p95 latency,p99 latency\n";
/* --verbose-csv --collect-metrics, as Model Analyzer runs it. */
static const char pa_header_ma[] =
	"Concurrency,Inferences/Second,Client Send,Network+Server Send/Recv,"
	"Server Queue,Server Compute Input,Server Compute Infer,Server Compute Output,"
	"Client Recv,p50 latency,p90 latency,p95 latency,p99 latency,Avg latency,"
	"request/response,response wait,Avg GPU Utilization,Avg GPU Power Usage,"
	"Max GPU Memory Usage,Total GPU Memory\n";

static struct profile_results *results(size_t n)
{
	struct profile_results *r = calloc(1, sizeof(*r));

	r->levels = calloc(n, sizeof(*r->levels));
	r->n_levels = n;
	r->load = PROFILE_LOAD_CONCURRENCY;
	r->batch_size = 1;
	r->include_server_stats = true;
	for (size_t i = 0; i < n; i++) {
		r->levels[i].index = i;
		r->levels[i].status = PROFILE_OK;
	}
	return r;
}

static char *csv(const struct profile_results *r, bool verbose)
{
	struct strbuf sb;

	strbuf_init(&sb, 0);
	profile_csv_write(r, verbose, &sb);
	return strbuf_detach(&sb, NULL);
}

static void assert_header(const char *text, const char *want)
{
	size_t n = strlen(want);

	if (strncmp(text, want, n))
		fail_msg("header\n%s\nwanted\n%s", text, want);
}

static void test_headers(void **state)
{
	struct profile_results *r = results(0);
	char *t;

	(void)state;
	t = csv(r, false);
	assert_string_equal(t, pa_header);
	free(t);

	r->collect_metrics = true;
	t = csv(r, true);
	assert_string_equal(t, pa_header_ma);
	free(t);

	/* Metrics columns only with --verbose-csv (perf_analyzer: should_output_metrics). */
	t = csv(r, false);
	assert_string_equal(t, pa_header);
	free(t);

	/* --percentile 75: a p75 column in order; no Avg latency in verbose mode. */
	r->collect_metrics = false;
	r->percentile = 75;
	t = csv(r, true);
	assert_string_equal(t,
		"Concurrency,Inferences/Second,Client Send,Network+Server Send/Recv,"
		"Server Queue,Server Compute Input,Server Compute Infer,Server Compute Output,"
		"Client Recv,p50 latency,p75 latency,p90 latency,p95 latency,p99 latency,"
		"request/response,response wait\n");
	free(t);
	/* --percentile 95 does not repeat p95. */
	r->percentile = 95;
	t = csv(r, false);
	assert_string_equal(t, pa_header);
	free(t);
	r->percentile = 0;

	/* Request rate, no statistics extension, response cache on (ignored without stats). */
	r->load = PROFILE_LOAD_RATE;
	r->include_server_stats = false;
	r->cache_enabled = true;
	t = csv(r, false);
	assert_string_equal(t,
		"Request Rate,Inferences/Second,Client Send,Client Recv,"
		"p50 latency,p90 latency,p95 latency,p99 latency\n");
	free(t);
	r->include_server_stats = true;
	t = csv(r, false);
	assert_string_equal(t,
		"Request Rate,Inferences/Second,Client Send,Network+Server Send/Recv,"
		"Server Queue,Server Compute Input,Server Compute Infer,Server Compute Output,"
		"Server Cache Hit,Server Cache Miss,"
		"Client Recv,p50 latency,p90 latency,p95 latency,p99 latency\n");
	free(t);
	profile_results_free(r);
}

static void test_rows(void **state)
{
	struct profile_results *r = results(3);
	struct profile_level *L;
	char *t, *line;

	(void)state;
	/* Level 0: 2 in flight, 150.5 infer/s */
	L = &r->levels[0];
	L->concurrency = 2;
	L->infer_per_sec = 150.5;
	L->avg_send_ns = 12999;         /* -> 12 us, truncated */
	L->avg_recv_ns = 3000;
	L->avg_request_ns = 1000000;
	L->latency.avg_ns = 1000400;
	L->latency.p_ns[0] = 900999;
	L->latency.p_ns[1] = 1100000;
	L->latency.p_ns[2] = 1200000;
	L->latency.p_ns[3] = 1500000;
	L->server.queue_count = 10;
	L->server.queue_ns = 1000000;   /* 100 us */
	L->server.compute_input_count = 10;
	L->server.compute_input_ns = 50000;   /* 5 us */
	L->server.compute_infer_count = 10;
	L->server.compute_infer_ns = 8000000; /* 800 us */
	L->server.compute_output_count = 10;
	L->server.compute_output_ns = 30000;  /* 3 us */
	/* wait = 1000000 - 15999 = 984001; accounted 908000; network 76001 -> 76 us */
	/* Level 1 is the fastest and level 2 the slowest: rows come out 2, 0, 1. */
	r->levels[1] = r->levels[0];
	r->levels[1].index = 1;
	r->levels[1].concurrency = 4;
	r->levels[1].infer_per_sec = 1234567.0;
	r->levels[2] = r->levels[0];
	r->levels[2].index = 2;
	r->levels[2].concurrency = 1;
	r->levels[2].infer_per_sec = 99.25;
	t = csv(r, true);
	assert_header(t, "Concurrency,");
	line = strchr(t, '\n') + 1;
	assert_int_equal(strncmp(line, "1,99.25,12,76,100,5,800,3,3,900,1100,1200,1500,1000,15,985\n",
				 strlen("1,99.25,12,76,100,5,800,3,3,900,1100,1200,1500,1000,15,985\n")), 0);
	line = strchr(line, '\n') + 1;
	assert_int_equal(strncmp(line, "2,150.5,", 8), 0);
	line = strchr(line, '\n') + 1;
	/* ostream's default formatting, i.e. %g: 1234567 -> 1.23457e+06 */
	assert_int_equal(strncmp(line, "4,1.23457e+06,", 14), 0);
	free(t);

	/* Unstable levels are not rows (perf_analyzer keeps only stable ones). */
	r->levels[1].status = PROFILE_UNSTABLE;
	r->levels[2].status = PROFILE_OVER_THRESHOLD;
	t = csv(r, false);
	line = strchr(t, '\n') + 1;
	assert_int_equal(strncmp(line, "2,150.5,", 8), 0);
	assert_null(strchr(strchr(line, '\n') + 1, '\n'));
	free(t);

	/* Metrics: uuid:value; per GPU, each column after a comma. */
	r->levels[1].status = PROFILE_OK;
	r->levels[2].status = PROFILE_UNSTABLE;
	r->collect_metrics = true;
	L = &r->levels[0];
	L->metrics.n_gpus = 2;
	snprintf(L->metrics.gpus[0].uuid, sizeof(L->metrics.gpus[0].uuid), "GPU-a");
	snprintf(L->metrics.gpus[1].uuid, sizeof(L->metrics.gpus[1].uuid), "GPU-b");
	L->metrics.gpus[0].has_utilization = L->metrics.gpus[1].has_utilization = true;
	L->metrics.gpus[0].utilization = 0.33;
	L->metrics.gpus[1].utilization = 0.5;
	L->metrics.gpus[0].has_power = true;
	L->metrics.gpus[0].power_w = 55.3;
	L->metrics.gpus[0].has_memory_used = true;
	L->metrics.gpus[0].memory_used_bytes = 10000;
	L->metrics.gpus[0].has_memory_total = true;
	L->metrics.gpus[0].memory_total_bytes = 50000;
	t = csv(r, true);
	assert_non_null(strstr(t, ",985,GPU-a:0.33;GPU-b:0.5;,GPU-a:55.3;,GPU-a:10000;,GPU-a:50000;\n"));
	free(t);

	/* Request rates print as %g. */
	r->load = PROFILE_LOAD_RATE;
	r->collect_metrics = false;
	r->levels[0].request_rate = 12.5;
	r->levels[1].request_rate = 100;
	t = csv(r, false);
	line = strchr(t, '\n') + 1;
	assert_int_equal(strncmp(line, "12.5,150.5,", 11), 0);
	line = strchr(line, '\n') + 1;
	assert_int_equal(strncmp(line, "100,1.23457e+06,", 16), 0);
	free(t);
	profile_results_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_headers),
		cmocka_unit_test(test_rows),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
