/*
 * Unit tests for server/http's router (Triton's path regexes, protocol.md
 * §1.1) and server/metrics' number formatting (plain decimals only).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "server/http.h"
#include "server/http_deadline.h"
#include "server/metrics.h"
#include "util/strbuf.h"

static struct http_route route(const char *method, const char *path)
{
	struct http_route r;

	http_route_parse(method, path, &r);
	return r;
}

static void test_route_top_level(void **state)
{
	struct http_route r;

	(void)state;
	r = route("GET", "/v2");
	assert_int_equal(r.endpoint, HTTP_EP_SERVER_METADATA);
	assert_true(r.method_ok);
	r = route("POST", "/v2");
	assert_int_equal(r.endpoint, HTTP_EP_SERVER_METADATA);
	assert_false(r.method_ok);
	assert_int_equal(route("GET", "/v2/health/live").endpoint, HTTP_EP_HEALTH_LIVE);
	assert_int_equal(route("GET", "/v2/health/ready").endpoint, HTTP_EP_HEALTH_READY);
	assert_false(route("HEAD", "/v2/health/ready").method_ok);
	/* Whole-path matches only. */
	assert_int_equal(route("GET", "/v2/").endpoint, HTTP_EP_NOT_FOUND);
	assert_int_equal(route("GET", "//v2").endpoint, HTTP_EP_NOT_FOUND);
	assert_int_equal(route("GET", "/v2/health").endpoint, HTTP_EP_NOT_FOUND);
	assert_int_equal(route("GET", "/v2/health/dead").endpoint, HTTP_EP_NOT_FOUND);
	assert_true(route("POST", "/v2/health/dead").method_ok); /* 404, not 405 */
	assert_int_equal(route("GET", "/v3").endpoint, HTTP_EP_NOT_FOUND);
	assert_int_equal(route("GET", "").endpoint, HTTP_EP_NOT_FOUND);
	assert_int_equal(route("GET", "v2").endpoint, HTTP_EP_NOT_FOUND);
	/* A 404 route accepts any method: 404 comes before 405. */
	assert_true(route("DELETE", "/nothing").method_ok);
}

static void test_route_models(void **state)
{
	struct http_route r;

	(void)state;
	r = route("GET", "/v2/models/add_sub");
	assert_int_equal(r.endpoint, HTTP_EP_MODEL_METADATA);
	assert_string_equal(r.model, "add_sub");
	assert_true(r.version == -1);
	r = route("GET", "/v2/models/add_sub/versions/12");
	assert_int_equal(r.endpoint, HTTP_EP_MODEL_METADATA);
	assert_true(r.version == 12);
	r = route("POST", "/v2/models/m/versions/3/infer");
	assert_int_equal(r.endpoint, HTTP_EP_MODEL_INFER);
	assert_true(r.method_ok && r.version == 3);
	assert_false(route("GET", "/v2/models/m/infer").method_ok);
	assert_int_equal(route("GET", "/v2/models/m/ready").endpoint, HTTP_EP_MODEL_READY);
	assert_int_equal(route("GET", "/v2/models/m/config").endpoint, HTTP_EP_MODEL_CONFIG);
	assert_int_equal(route("GET", "/v2/models/m/versions/1/stats").endpoint, HTTP_EP_MODEL_STATS);
	/* /v2/models/stats is special-cased before the model regex. */
	assert_int_equal(route("GET", "/v2/models/stats").endpoint, HTTP_EP_STATS_ALL);
	/* A model may be called "versions" or "ready". */
	r = route("GET", "/v2/models/versions/ready");
	assert_int_equal(r.endpoint, HTTP_EP_MODEL_READY);
	assert_string_equal(r.model, "versions");
	/* Versions are digits only; anything else matches nothing. */
	assert_int_equal(route("GET", "/v2/models/m/versions/x/ready").endpoint, HTTP_EP_NOT_FOUND);
	assert_int_equal(route("GET", "/v2/models/m/versions/-1").endpoint, HTTP_EP_NOT_FOUND);
	assert_int_equal(route("GET", "/v2/models/m/versions/").endpoint, HTTP_EP_NOT_FOUND);
	r = route("GET", "/v2/models/m/versions/99999999999999999999/ready");
	assert_int_equal(r.endpoint, HTTP_EP_MODEL_READY);
	assert_true(r.bad_version);
	assert_int_equal(route("GET", "/v2/models/m/readyx").endpoint, HTTP_EP_NOT_FOUND);
	assert_int_equal(route("GET", "/v2/models/m/ready/").endpoint, HTTP_EP_NOT_FOUND);
	assert_int_equal(route("GET", "/v2/models//ready").endpoint, HTTP_EP_NOT_FOUND);
	assert_int_equal(route("GET", "/v2/models").endpoint, HTTP_EP_NOT_FOUND);
	/* Names are only split on '/'; what they hold is checked later. */
	r = route("GET", "/v2/models/../config");
	assert_int_equal(r.endpoint, HTTP_EP_MODEL_CONFIG);
	assert_string_equal(r.model, "..");
	r = route("GET", "/v2/models/../../etc/passwd");
	assert_int_equal(r.endpoint, HTTP_EP_NOT_FOUND);
	{
		char path[600];

		memset(path, 'a', sizeof(path));
		memcpy(path, "/v2/models/", 11);
		path[sizeof(path) - 1] = '\0';
		r = route("GET", path);
		assert_int_equal(r.endpoint, HTTP_EP_MODEL_METADATA);
		assert_true(r.model_too_long);
	}
	r = route("POST", "/v2/models/m/generate");
	assert_int_equal(r.endpoint, HTTP_EP_UNSUPPORTED);
	assert_non_null(r.what);
	assert_int_equal(route("GET", "/v2/models/m/trace/setting").endpoint, HTTP_EP_UNSUPPORTED);
}

static void test_route_repository(void **state)
{
	struct http_route r;

	(void)state;
	r = route("POST", "/v2/repository/index");
	assert_int_equal(r.endpoint, HTTP_EP_REPO_INDEX);
	assert_true(r.method_ok);
	assert_false(r.repository_named);
	assert_false(route("GET", "/v2/repository/index").method_ok);
	r = route("POST", "/v2/repository/r1/index");
	assert_int_equal(r.endpoint, HTTP_EP_REPO_INDEX);
	assert_true(r.repository_named);
	r = route("POST", "/v2/repository/models/add_sub/load");
	assert_int_equal(r.endpoint, HTTP_EP_REPO_LOAD);
	assert_string_equal(r.model, "add_sub");
	r = route("POST", "/v2/repository/r1/models/add_sub/unload");
	assert_int_equal(r.endpoint, HTTP_EP_REPO_UNLOAD);
	assert_true(r.repository_named);
	assert_int_equal(route("POST", "/v2/repository/models/m/reload").endpoint, HTTP_EP_NOT_FOUND);
	assert_int_equal(route("POST", "/v2/repository/models/m").endpoint, HTTP_EP_NOT_FOUND);
	assert_int_equal(route("POST", "/v2/repository").endpoint, HTTP_EP_NOT_FOUND);
	assert_int_equal(route("POST", "/v2/repository/a/b/models/m/load").endpoint, HTTP_EP_NOT_FOUND);
	r = route("GET", "/v2/systemsharedmemory/status");
	assert_int_equal(r.endpoint, HTTP_EP_UNSUPPORTED);
	assert_true(r.method_ok);
	r = route("GET", "/v2/cudasharedmemory/region/x/register");
	assert_int_equal(r.endpoint, HTTP_EP_UNSUPPORTED);
	assert_false(r.method_ok);
	assert_int_equal(route("GET", "/v2/systemsharedmemory/region/x").endpoint, HTTP_EP_NOT_FOUND);
	assert_int_equal(route("GET", "/v2/logging").endpoint, HTTP_EP_UNSUPPORTED);
	assert_int_equal(route("GET", "/v2/trace/setting").endpoint, HTTP_EP_UNSUPPORTED);
}

static void expect_format(double v, int decimals, const char *want)
{
	struct strbuf sb;

	strbuf_init(&sb, 0);
	metrics_format_double(&sb, v, decimals);
	assert_string_equal(sb.buf, want);
	strbuf_release(&sb);
}

static void test_format_double(void **state)
{
	(void)state;
	expect_format(0.25, 6, "0.25");
	expect_format(1.0, 6, "1");
	expect_format(0.0, 6, "0");
	expect_format(-0.0000001, 6, "0");
	expect_format(300.5, 3, "300.5");
	expect_format(1.5e10, 6, "15000000000");
	expect_format(123456789012345678.0, 0, "123456789012345680");
	expect_format(1e-9, 6, "0");
	expect_format(2.0 / 3.0, 6, "0.666667");
	expect_format(-12.5, 2, "-12.5");
	{
		/* Huge values stay plain decimals: no exponent, ever. */
		struct strbuf sb;

		strbuf_init(&sb, 0);
		metrics_format_double(&sb, 1e300, 6);
		assert_null(strchr(sb.buf, 'e'));
		assert_int_equal(sb.len, 301);
		assert_true(sb.buf[0] == '1');
		strbuf_release(&sb);
	}
}

/* Request deadlines: headers within the grace time, a body at 1 KiB/s after it. */
static void test_deadline(void **state)
{
	const uint64_t s = 1000000000ULL;

	(void)state;
	assert_int_equal(http_deadline_ns(HTTP_WATCH_HEAD, 5 * s, 0, 60), 65 * s);
	/* Body bytes received before do not extend a head deadline. */
	assert_int_equal(http_deadline_ns(HTTP_WATCH_HEAD, 5 * s, 4096, 60), 65 * s);
	assert_int_equal(http_deadline_ns(HTTP_WATCH_BODY, 5 * s, 0, 60), 65 * s);
	assert_int_equal(http_deadline_ns(HTTP_WATCH_BODY, 5 * s, 10 * HTTP_BODY_MIN_RATE, 60),
			 75 * s);
	assert_int_equal(http_deadline_ns(HTTP_WATCH_BODY, 0, HTTP_BODY_MIN_RATE / 2, 1),
			 s + s / 2);
	/* 64 GiB at 1 KiB/s: 2^26 s, no overflow. */
	assert_int_equal(http_deadline_ns(HTTP_WATCH_BODY, 0, 1ULL << 36, 0), (1ULL << 26) * s);
	assert_true(http_deadline_ns(HTTP_WATCH_READ, 5 * s, 0, 60) == UINT64_MAX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_route_top_level),
		cmocka_unit_test(test_deadline),
		cmocka_unit_test(test_route_models),
		cmocka_unit_test(test_route_repository),
		cmocka_unit_test(test_format_double),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
