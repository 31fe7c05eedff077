/*
 * Unit tests for report/chart: PNG and SVG outputs are well formed and
 * byte-stable (cairo's process-wide surface counter does not leak into the
 * SVG), the SVG names every series in its <desc>, charts without a measured
 * point say so, and bar charts with a second axis render.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "report/chart.h"
#include "report/report.h"
#include "util/error.h"
#include "util/strbuf.h"

static void line_chart(struct chart *c)
{
	struct chart_series *a, *b;

	chart_init(c, CHART_LINES, "Throughput", "Concurrency (clients)", "Throughput (infer/s)");
	c->x_ticks_at_data = true;
	a = chart_add_series(c, "m_config_0: 1 inst, max batch 1", 0);
	b = chart_add_series(c, "m_config_default: 1 inst, max batch 8 & <x>", 1);
	for (int i = 1; i <= 8; i *= 2) {
		chart_series_add(a, i, 100.0 * i);
		chart_series_add(b, i, i == 4 ? NAN : 50.0 * i);
	}
	chart_add_refline(c, false, 300, "Target 300 infer/s");
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void test_png(void **state)
{
	struct chart c;
	struct strbuf a, b;
	struct it_error err = { 0 };
	const unsigned char *p;

	(void)state;
	line_chart(&c);
	strbuf_init(&a, 0);
	strbuf_init(&b, 0);
	assert_int_equal(chart_png(&c, 900, &a, &err), 0);
	assert_int_equal(chart_png(&c, 900, &b, &err), 0);
	p = (const unsigned char *)a.buf;
	assert_true(a.len > 1000);
	assert_memory_equal(p, "\x89PNG\r\n\x1a\n", 8);
	assert_memory_equal(p + 12, "IHDR", 4);
	assert_int_equal(be32(p + 16), 900);
	assert_int_equal(be32(p + 20), (uint32_t)lround(900 * CHART_HEIGHT / CHART_WIDTH));
	assert_int_equal(a.len, b.len);
	assert_memory_equal(a.buf, b.buf, a.len);
	strbuf_release(&a);
	strbuf_release(&b);
	chart_release(&c);
}

static void test_svg_stable_and_named(void **state)
{
	struct chart c, other;
	struct strbuf a, b, junk;
	struct it_error err = { 0 };

	(void)state;
	line_chart(&c);
	strbuf_init(&a, 0);
	strbuf_init(&b, 0);
	strbuf_init(&junk, 0);
	assert_int_equal(chart_svg(&c, &a, &err), 0);
	/* Another chart in between advances cairo's global surface counter. */
	line_chart(&other);
	assert_int_equal(chart_svg(&other, &junk, &err), 0);
	assert_int_equal(chart_svg(&c, &b, &err), 0);
	assert_int_equal(a.len, b.len);
	assert_memory_equal(a.buf, b.buf, a.len);
	assert_non_null(strstr(a.buf, "<svg"));
	assert_non_null(strstr(a.buf, "<title>Throughput</title>"));
	assert_non_null(strstr(a.buf, "<desc>m_config_0: 1 inst, max batch 1; "
				      "m_config_default: 1 inst, max batch 8 &amp; &lt;x&gt;</desc>"));
	assert_non_null(strstr(a.buf, "id=\"surface1\""));
	assert_non_null(strstr(a.buf, "</svg>"));
	strbuf_release(&a);
	strbuf_release(&b);
	strbuf_release(&junk);
	chart_release(&c);
	chart_release(&other);
}

static void test_has_data(void **state)
{
	struct chart c;
	struct chart_series *s;

	(void)state;
	chart_init(&c, CHART_LINES, "Power", "Concurrency", "W");
	assert_false(chart_has_data(&c));
	s = chart_add_series(&c, "a", 0);
	chart_series_add(s, 1, NAN);
	chart_series_add(s, 2, NAN);
	assert_false(chart_has_data(&c));
	chart_series_add(s, 4, 12.5);
	assert_true(chart_has_data(&c));
	chart_release(&c);
	chart_release(&c);      /* a released chart is empty: releasing again is harmless */
}

/* A one-series line chart whose point at x = 2 has the interval [lo, hi]; its PNG into out. */
static void interval_png(double lo, double hi, struct strbuf *out)
{
	struct chart c;
	struct chart_series *s;

	chart_init(&c, CHART_LINES, "Throughput", "Concurrency", "infer/s");
	s = chart_add_series(&c, "a", 0);
	chart_series_add(s, 1, 50);
	chart_series_add_interval(s, 2, 60, lo, hi);
	chart_series_add(s, 4, 70);
	assert_true(isnan(s->lo[0]) && isnan(s->hi[2]));
	assert_true(s->lo[1] == lo || (isnan(lo) && isnan(s->lo[1])));
	strbuf_init(out, 0);
	assert_int_equal(chart_png(&c, 400, out, NULL), 0);
	chart_release(&c);
}

static bool same_png(const struct strbuf *a, const struct strbuf *b)
{
	return a->len == b->len && !memcmp(a->buf, b->buf, a->len);
}

/* Error bars are drawn, each known bound with its own cap, a missing bound not at all. */
static void test_error_bars(void **state)
{
	struct strbuf none, both, lo_only, tall;

	(void)state;
	interval_png(NAN, NAN, &none);
	interval_png(55, 65, &both);
	interval_png(55, NAN, &lo_only);
	interval_png(55, 140, &tall);
	assert_false(same_png(&none, &both));
	assert_false(same_png(&none, &lo_only));
	assert_false(same_png(&both, &lo_only));
	assert_false(same_png(&both, &tall));
	strbuf_release(&none);
	strbuf_release(&both);
	strbuf_release(&lo_only);
	strbuf_release(&tall);
}

static void test_stacked_bars(void **state)
{
	static const char *const cats[] = { "1", "2", "4" };
	struct chart c;
	struct chart_series *q, *inf, *tp;
	struct strbuf png;
	struct it_error err = { 0 };

	(void)state;
	chart_init(&c, CHART_STACKED_BARS, "Latency breakdown", "Concurrency", "ms");
	chart_set_y2_label(&c, "Throughput (infer/s)");
	chart_set_categories(&c, cats, 3);
	q = chart_add_series(&c, "Queue", 0);
	inf = chart_add_series(&c, "Compute infer", 2);
	q->bar = inf->bar = true;
	tp = chart_add_series(&c, "Throughput", 0);
	for (int k = 0; k < 3; k++) {
		chart_series_add(q, k, k * 2.0);
		chart_series_add(inf, k, 10.0);
		chart_series_add(tp, k, 80.0 * (k + 1));
	}
	assert_true(chart_has_data(&c));
	strbuf_init(&png, 0);
	assert_int_equal(chart_png(&c, 600, &png, &err), 0);
	assert_true(png.len > 500);
	strbuf_release(&png);
	chart_release(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_png),
		cmocka_unit_test(test_svg_stable_and_named),
		cmocka_unit_test(test_has_data),
		cmocka_unit_test(test_stacked_bars),
		cmocka_unit_test(test_error_bars),
	};

	int rc = cmocka_run_group_tests(tests, NULL, NULL);

	report_global_cleanup();
	return rc;
}
