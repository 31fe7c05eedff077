/*
 * Unit tests for metrics/prometheus (the text exposition format parser) and
 * for the --collect-metrics extraction and merge (loadgen/scrape): Triton's
 * page as perf_analyzer reads it, the format's corners (comments, label
 * order and escapes, NaN/Inf, timestamps, CRLF), and malformed pages refused
 * with their line and column.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "loadgen/scrape.h"
#include "metrics/prometheus.h"
#include "util/error.h"

static const char triton_page[] =
	"# HELP nv_inference_request_success Number of successful inference requests, all batch sizes\n"
	"# TYPE nv_inference_request_success counter\n"
	"nv_inference_request_success{model=\"simple\",version=\"1\"} 161\n"
	"# HELP nv_gpu_utilization GPU utilization rate [0.0 - 1.0)\n"
	"# TYPE nv_gpu_utilization gauge\n"
	"nv_gpu_utilization{gpu_uuid=\"GPU-b2\"} 0.5\n"
	"nv_gpu_utilization{gpu_uuid=\"GPU-a1\"} 0.25\n"
	"# TYPE nv_gpu_power_usage gauge\n"
	"nv_gpu_power_usage{gpu_uuid=\"GPU-a1\"} 55.5\n"
	"# TYPE nv_gpu_memory_used_bytes gauge\n"
	"nv_gpu_memory_used_bytes{gpu_uuid=\"GPU-a1\"} 1048576\n"
	"nv_gpu_memory_total_bytes{gpu_uuid=\"GPU-a1\"} 16000000000\n"
	"# HELP nv_cpu_utilization CPU utilization rate [0.0 - 1.0]\n"
	"# TYPE nv_cpu_utilization gauge\n"
	"nv_cpu_utilization 0.125\n"
	"nv_cpu_memory_total_bytes 8000000000\n"
	"nv_cpu_memory_used_bytes 2000000000\n";

static struct prom_page *parse_ok(const char *text)
{
	struct prom_page *p = NULL;
	struct it_error err = { 0 };

	if (prometheus_parse(text, strlen(text), "test", &p, &err))
		fail_msg("parse failed: %d:%d: %s", err.line, err.col, err.message);
	return p;
}

static void test_triton_page(void **state)
{
	struct prom_page *p = parse_ok(triton_page);
	const struct prom_sample *s;
	const struct prom_family *f;
	size_t pos = 0;

	(void)state;
	assert_int_equal(p->n_samples, 9);
	s = prometheus_next(p, "nv_inference_request_success", &pos);
	assert_non_null(s);
	assert_true(s->value == 161);
	assert_string_equal(prometheus_label(s, "model"), "simple");
	assert_string_equal(prometheus_label(s, "version"), "1");
	assert_null(prometheus_label(s, "gpu_uuid"));
	assert_int_equal(s->line, 3);
	assert_null(prometheus_next(p, "nv_inference_request_success", &pos));
	f = prometheus_family(p, "nv_gpu_utilization");
	assert_non_null(f);
	assert_int_equal(f->type, PROM_GAUGE);
	assert_string_equal(f->help, "GPU utilization rate [0.0 - 1.0)");
	assert_string_equal(prometheus_type_name(prometheus_family(p,
		"nv_inference_request_success")->type), "counter");
	pos = 0;
	s = prometheus_next(p, "nv_gpu_memory_total_bytes", &pos);
	assert_true(s->value == 16e9);
	prometheus_page_free(p);
}

static void test_format_corners(void **state)
{
	const char *text =
		"# a plain comment\n"
		"\n"
		"#no space comment\n"
		"   # indented comment\n"
		"m1{ b = \"x\\\\y\" , a=\"q\\\"u\\nz\", } 1.5e3 1700000000000\r\n"
		"m2 NaN\n"
		"m3 +Inf\n"
		"m4{} -Inf\n"
		"m5\t-0.25\n"
		"# HELP m6 with \\\\ and \\n escapes\n"
		"m6 Nan\n"
		"name_with:colon 7";
	struct prom_page *p = parse_ok(text);
	const struct prom_sample *s;
	size_t pos = 0;

	(void)state;
	assert_int_equal(p->n_samples, 7);
	s = prometheus_next(p, "m1", &pos);
	assert_true(s->value == 1500);
	assert_true(s->has_timestamp);
	assert_true(s->timestamp_ms == 1700000000000LL);
	assert_int_equal(s->n_labels, 2);
	assert_string_equal(prometheus_label(s, "b"), "x\\y");
	assert_string_equal(prometheus_label(s, "a"), "q\"u\nz");
	assert_true(isnan(p->samples[1].value));
	assert_true(isinf(p->samples[2].value) && p->samples[2].value > 0);
	assert_true(isinf(p->samples[3].value) && p->samples[3].value < 0);
	assert_int_equal(p->samples[3].n_labels, 0);
	assert_true(p->samples[4].value == -0.25);
	assert_string_equal(prometheus_family(p, "m6")->help, "with \\ and \n escapes");
	assert_true(isnan(p->samples[5].value));
	assert_string_equal(p->samples[6].name, "name_with:colon");
	assert_true(p->samples[6].value == 7);
	prometheus_page_free(p);

	/* An empty page is a valid page with nothing on it. */
	p = parse_ok("");
	assert_int_equal(p->n_samples, 0);
	prometheus_page_free(p);
	prometheus_page_free(NULL);
}

static void expect_error(const char *text, int line, int col, const char *needle)
{
	struct prom_page *p = NULL;
	struct it_error err = { 0 };

	if (prometheus_parse(text, strlen(text), "http://h/metrics", &p, &err) != IT_ERR_PARSE)
		fail_msg("'%s' parsed", text);
	assert_null(p);
	if (err.line != line || err.col != col || !strstr(err.message, needle))
		fail_msg("'%s': got %d:%d '%s', wanted %d:%d '%s'", text, err.line,
			 err.col, err.message, line, col, needle);
	assert_string_equal(err.file, "http://h/metrics");
}

static void test_malformed(void **state)
{
	(void)state;
	expect_error("<html><body>Not Found</body></html>\n", 1, 1,
		     "expected a metric name, found '<html><body>Not'");
	expect_error("ok 1\n9lives 2\n", 2, 1, "expected a metric name");
	expect_error("m{a=\"1\"\n", 1, 8, "expected ',' or '}'");
	expect_error("m{a\"1\"} 1\n", 1, 4, "expected '=' after label name");
	expect_error("m{a=1} 1\n", 1, 5, "expected '\"'");
	expect_error("m{a=\"x} 1\n", 1, 10, "unterminated label value");
	expect_error("m{a=\"\\t\"} 1\n", 1, 6, "invalid escape");
	expect_error("m{a=\"1\",a=\"2\"} 1\n", 1, 9, "label 'a' appears twice");
	expect_error("m{1a=\"1\"} 1\n", 1, 3, "expected a label name");
	expect_error("m\n", 1, 2, "metric 'm' has no value");
	expect_error("m{a=\"1\"}\n", 1, 9, "metric 'm' has no value");
	expect_error("m one\n", 1, 3, "invalid value 'one' for metric 'm'");
	expect_error("m 1 2 3\n", 1, 7, "unexpected text '3'");
	expect_error("m 1 later\n", 1, 5, "invalid timestamp 'later'");
	expect_error("m{a=\"1\"}x 1\n", 1, 9, "expected a space before the value of 'm'");
	expect_error("m-x 1\n", 1, 2, "invalid character '-x'");
	expect_error("# TYPE m countr\n", 1, 10, "unknown metric type 'countr'");
	expect_error("# TYPE\n", 1, 7, "expected a metric name after # TYPE");
	expect_error("# HELP 9m text\n", 1, 8, "expected a metric name after # HELP");
	{
		const char text[] = "a 1\nb\0 2\n";
		struct prom_page *p = NULL;
		struct it_error err = { 0 };

		assert_int_equal(prometheus_parse(text, sizeof(text) - 1, "x", &p, &err),
				 IT_ERR_PARSE);
		assert_int_equal(err.line, 2);
		assert_int_equal(err.col, 2);
		assert_non_null(strstr(err.message, "NUL byte"));
	}
}

static void test_scrape_extract_merge(void **state)
{
	struct prom_page *p = parse_ok(triton_page);
	struct scrape_summary s[3], m;

	(void)state;
	scrape_extract(p, 100, &s[0]);
	assert_int_equal(s[0].n_gpus, 2);
	/* Sorted by uuid, as perf_analyzer's std::map. */
	assert_string_equal(s[0].gpus[0].uuid, "GPU-a1");
	assert_true(s[0].gpus[0].utilization == 0.25);
	assert_true(s[0].gpus[0].has_power && s[0].gpus[0].power_w == 55.5);
	assert_true(s[0].gpus[0].memory_used_bytes == 1048576);
	assert_true(s[0].gpus[0].memory_total_bytes == 16000000000ULL);
	assert_true(s[0].gpus[1].has_utilization && !s[0].gpus[1].has_power);
	assert_true(s[0].has_cpu_utilization && s[0].cpu_utilization == 0.125);
	assert_true(s[0].cpu_memory_used_bytes == 2000000000ULL);
	prometheus_page_free(p);

	s[1] = s[0];
	s[1].gpus[0].utilization = 0.75;
	s[1].gpus[0].power_w = 60.5;
	s[1].gpus[0].memory_used_bytes = 3000000;
	s[1].gpus[0].memory_total_bytes = 1;            /* the first total wins */
	s[1].cpu_utilization = 0.375;
	s[2] = s[0];
	s[2].n_gpus = 1;                                /* GPU-b2 missing here */
	s[2].gpus[0].utilization = 0.5;
	scrape_merge(s, 3, &m);
	assert_int_equal(m.n_scrapes, 3);
	assert_int_equal(m.n_gpus, 2);
	assert_true(fabs(m.gpus[0].utilization - 0.5) < 1e-12);   /* (0.25+0.75+0.5)/3 */
	assert_true(fabs(m.gpus[0].power_w - (55.5 * 2 + 60.5) / 3) < 1e-9);
	assert_true(m.gpus[0].memory_used_bytes == 3000000);     /* max */
	assert_true(m.gpus[0].memory_total_bytes == 16000000000ULL);
	assert_true(fabs(m.gpus[1].utilization - 0.5) < 1e-12);   /* over its 2 scrapes */
	assert_true(fabs(m.cpu_utilization - (0.125 * 2 + 0.375) / 3) < 1e-12);
	scrape_merge(s, 0, &m);
	assert_int_equal(m.n_scrapes, 0);
	assert_int_equal(m.n_gpus, 0);
	assert_false(m.has_cpu_utilization);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_triton_page),
		cmocka_unit_test(test_format_corners),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_scrape_extract_merge),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
