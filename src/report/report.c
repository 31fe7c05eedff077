/*
 * report_write(): results.db → the report model → charts → HTML, PDF, PNG
 * and SVG files under <export>/reports/<model>/. Which charts a model gets,
 * and the note that replaces a chart whose figure this machine could not
 * measure, are decided here.
 */
#include "report/report.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cairo.h>
#include <fontconfig/fontconfig.h>

#include "report/format.h"
#include "report/internal.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/strbuf.h"
#include "util/xalloc.h"
#include "util/banned.h"

/* Series per chart against load; more would drown the legend. */
#define MAX_LINES 12
/* Best configurations in Model Analyzer's summary charts and breakdowns. */
#define TOP_N 3

static const char *memory_title(int f)
{
	switch (f) {
	case FIG_GPU_USED_MEMORY: return "GPU memory used (MB)";
	case FIG_SERVER_RSS: return "Server process memory, RSS (MB)";
	default: return "RAM used (MB)";
	}
}

/* ---- charts ---- */

static struct report_chart *add_chart(struct report_charts *cs, const char *id,
				      enum chart_kind kind, const char *title,
				      const char *xl, const char *yl)
{
	struct report_chart *rc;

	XGROW(cs->items, cs->alloc, cs->n + 1);
	rc = &cs->items[cs->n++];
	memset(rc, 0, sizeof(*rc));
	rc->id = xstrdup(id);
	chart_init(&rc->chart, kind, title, xl, yl);
	return rc;
}

static void set_text(char **dst, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void set_text(char **dst, const char *fmt, ...)
{
	struct strbuf sb;
	va_list ap;

	strbuf_init(&sb, 0);
	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	free(*dst);
	*dst = strbuf_detach(&sb, NULL);
}

/* "m_config_4: inst=1 threads=2 batch=4": the name and the search point, compact. */
static void legend_name(const struct report_config *c, char *buf, size_t size)
{
	static const struct { const char *from, *to; } short_words[] = {
		{ "instances=", "inst=" },
		{ "max_batch_size=", "batch=" },
	};
	struct strbuf sb;
	const char *p = c->label;

	strbuf_init(&sb, 0);
	strbuf_addf(&sb, "%s: ", c->name);
	if (c->is_default || !*p) {
		strbuf_addf(&sb, "inst=%d batch=%d", c->instance_count, c->max_batch_size);
		p = "";
	}
	while (*p) {
		size_t k;

		for (k = 0; k < sizeof(short_words) / sizeof(short_words[0]); k++)
			if (!strncmp(p, short_words[k].from, strlen(short_words[k].from)))
				break;
		if (k < sizeof(short_words) / sizeof(short_words[0])) {
			strbuf_adds(&sb, short_words[k].to);
			p += strlen(short_words[k].from);
		} else {
			strbuf_addch(&sb, *p++);
		}
	}
	snprintf(buf, size, "%s", sb.buf);
	strbuf_release(&sb);
}

/* Configurations drawn against load: those with a valid level, best first. */
static size_t line_configs(const struct report_model *m, size_t *idx, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < m->n_configs && n < max; i++) {
		const struct report_config *c = &m->configs[i];

		for (size_t j = 0; j < c->n_levels; j++) {
			if (report_level_charted(&c->levels[j]) && c->levels[j].batch_size == m->chart_batch) {
				idx[n++] = i;
				break;
			}
		}
	}
	return n;
}

static size_t count_line_configs(const struct report_model *m)
{
	size_t *idx = xcalloc(m->n_configs + 1, sizeof(size_t));
	size_t n = line_configs(m, idx, m->n_configs);

	free(idx);
	return n;
}

/*
 * Adds level l's figure f at x to s, with its 95% interval when known (an
 * invalid level is a gap). Returns whether a bound was added.
 */
static bool add_level_point(struct chart_series *s, const struct report_level *l, double x,
			    int f)
{
	double lo = NAN, hi = NAN, y = NAN;

	if (report_level_charted(l)) {
		y = figures_get(&l->fig, (enum figure)f, NAN);
		figures_interval(&l->fig, (enum figure)f, &lo, &hi);
	}
	chart_series_add_interval(s, x, y, lo, hi);
	return !isnan(y) && (!isnan(lo) || !isnan(hi));
}

/* A chart of figure f against load, one line per configuration. */
static void chart_vs_load(const struct report_model *m, struct report_charts *cs,
			  const char *id, int f, const char *title, const char *yl,
			  const char *absent_note)
{
	const char *xl = m->load_kind == LOAD_REQUEST_RATE ? "Request rate (requests/s)" :
		"Concurrency (clients)";
	struct report_chart *rc = add_chart(cs, id, CHART_LINES, title, xl, yl);
	size_t idx[MAX_LINES], n, total;
	char name[256];
	bool bars = false;

	rc->chart.x_ticks_at_data = true;
	n = line_configs(m, idx, MAX_LINES);
	total = count_line_configs(m);
	for (size_t k = 0; f >= 0 && k < n; k++) {
		const struct report_config *c = &m->configs[idx[k]];
		struct chart_series *s;

		legend_name(c, name, sizeof(name));
		s = chart_add_series(&rc->chart, name, (int)idx[k]);
		for (size_t j = 0; j < c->n_levels; j++) {
			const struct report_level *l = &c->levels[j];

			if (l->batch_size != m->chart_batch || l->phase != PHASE_SWEEP)
				continue;
			bars |= add_level_point(s, l, l->load, f);
		}
	}
	rc->drawn = f >= 0 && chart_has_data(&rc->chart);
	if (!rc->drawn) {
		set_text(&rc->note, "%s", absent_note);
		return;
	}
	set_text(&rc->caption, "%s against %s, client batch size %lld, one line per "
		 "configuration%s%s.", title, report_load_name(m), (long long)m->chart_batch,
		 total > n ? " (the best ones; every configuration is in the tables)" : "",
		 bars ? "; error bars are 95% confidence intervals" : "");
}

/* Model Analyzer's summary charts: figure f against p99 latency for the best and the default. */
static void chart_vs_latency(const struct report_model *m, struct report_charts *cs,
			     const char *id, int f, const char *title, const char *yl,
			     const char *absent_note, bool constraints)
{
	struct report_chart *rc = add_chart(cs, id, CHART_LINES, title, "p99 latency (ms)", yl);
	size_t shown = 0;
	char name[256];
	bool bars = false;

	for (size_t i = 0; f >= 0 && i < m->n_configs; i++) {
		const struct report_config *c = &m->configs[i];
		struct chart_series *s;
		double last = -INFINITY;

		if (!((c->rank >= 1 && c->rank <= TOP_N) || c->is_default) || c->best < 0)
			continue;
		legend_name(c, name, sizeof(name));
		if (c->is_default && c->rank > TOP_N)
			snprintf(name + strlen(name), sizeof(name) - strlen(name), " (default)");
		s = chart_add_series(&rc->chart, name, (int)i);
		for (size_t j = 0; j < c->n_levels; j++) {
			const struct report_level *l = &c->levels[j];
			double v;

			if (l->batch_size != m->chart_batch || !report_level_charted(l) ||
			    !figures_has(&l->fig, FIG_LATENCY_P99) ||
			    !figures_has(&l->fig, (enum figure)f))
				continue;
			v = l->fig.v[f];
			/* Model Analyzer's monotonic filter: keep the points where throughput grows. */
			if (f == FIG_THROUGHPUT) {
				if (v <= last)
					continue;
				last = v;
			}
			bars |= add_level_point(s, l, l->fig.v[FIG_LATENCY_P99], f);
		}
		shown++;
	}
	for (size_t i = 0; constraints && i < m->objectives.n_con; i++) {
		const struct constraint *c = &m->objectives.con[i];
		char label[96];

		if (c->fig == FIG_LATENCY_P99 && c->has_max) {
			snprintf(label, sizeof(label), "Target p99 latency %g ms", c->max);
			chart_add_refline(&rc->chart, true, c->max, label);
		} else if (c->fig == (enum figure)f && c->has_min) {
			snprintf(label, sizeof(label), "Target %g %s", c->min, figure_table[f].unit);
			chart_add_refline(&rc->chart, false, c->min, label);
		} else if (c->fig == (enum figure)f && c->has_max) {
			snprintf(label, sizeof(label), "Target %g %s", c->max, figure_table[f].unit);
			chart_add_refline(&rc->chart, false, c->max, label);
		}
	}
	rc->drawn = f >= 0 && chart_has_data(&rc->chart);
	if (!rc->drawn) {
		set_text(&rc->note, "%s", absent_note);
		return;
	}
	set_text(&rc->caption, "%s for the %zu best configuration%s and the default, one point "
		 "per %s level%s%s%s.", title, shown, shown == 1 ? "" : "s", report_load_name(m),
		 f == FIG_THROUGHPUT ? " (points where throughput does not grow are left out, "
		 "as Model Analyzer does)" : "",
		 rc->chart.n_refs ? "; dashed lines are the constraint targets" : "",
		 bars ? "; error bars are 95% confidence intervals of the y value" : "");
}

static void chart_breakdown(const struct report_model *m, struct report_charts *cs,
			    const struct report_config *c, size_t style_base)
{
	static const struct { enum figure f; const char *name; } parts[] = {
		{ FIG_SERVER_QUEUE, "Queue" },
		{ FIG_SERVER_COMPUTE_INPUT, "Compute input" },
		{ FIG_SERVER_COMPUTE_INFER, "Compute infer" },
		{ FIG_SERVER_COMPUTE_OUTPUT, "Compute output" },
	};
	char id[300], title[300], lab[32];
	const char *labels[64];
	char labbuf[64][24];
	size_t n = 0;
	struct report_chart *rc;
	struct chart_series *tp;
	bool any = false;

	snprintf(id, sizeof(id), "latency_breakdown_%s", c->name);
	snprintf(title, sizeof(title), "Latency breakdown: %s", c->name);
	rc = add_chart(cs, id, CHART_STACKED_BARS, title,
		       m->load_kind == LOAD_REQUEST_RATE ? "Request rate (requests/s)" :
		       "Concurrency (clients)", "Server time per request (ms)");
	chart_set_y2_label(&rc->chart, "Throughput (infer/s)");
	for (size_t j = 0; j < c->n_levels && n < 64; j++) {
		const struct report_level *l = &c->levels[j];

		if (l->batch_size != m->chart_batch || !report_level_charted(l))
			continue;
		snprintf(labbuf[n], sizeof(labbuf[n]), "%g", l->load);
		labels[n] = labbuf[n];
		n++;
	}
	chart_set_categories(&rc->chart, labels, n);
	for (size_t p = 0; p < sizeof(parts) / sizeof(parts[0]); p++) {
		struct chart_series *s = chart_add_series(&rc->chart, parts[p].name, (int)p);
		size_t k = 0;

		s->bar = true;
		for (size_t j = 0; j < c->n_levels; j++) {
			const struct report_level *l = &c->levels[j];

			if (l->batch_size != m->chart_batch || !report_level_charted(l) || k >= n)
				continue;
			if (figures_has(&l->fig, parts[p].f))
				any = true;
			chart_series_add(s, (double)k++, figures_get(&l->fig, parts[p].f, NAN));
		}
	}
	tp = chart_add_series(&rc->chart, "Throughput (right axis)", 0);
	for (size_t j = 0, k = 0; j < c->n_levels; j++) {
		const struct report_level *l = &c->levels[j];

		if (l->batch_size != m->chart_batch || !report_level_charted(l) || k >= n)
			continue;
		chart_series_add(tp, (double)k++, figures_get(&l->fig, FIG_THROUGHPUT, NAN));
	}
	(void)style_base;
	(void)lab;
	rc->drawn = any;
	if (!any) {
		set_text(&rc->note, "The latency breakdown of %s is not drawn: the server's "
			 "queue and compute times were not measured (the server exposes no "
			 "statistics).", c->name);
		return;
	}
	set_text(&rc->caption, "Where a request's server time goes for %s (%s), per %s level: "
		 "queue, compute input, compute infer and compute output stacked; throughput "
		 "on the right axis.", c->name, c->label, report_load_name(m));
}

void report_charts_build(const struct report_model *m, struct report_charts *out)
{
	int mem = report_memory_figure(m), pw = report_power_figure(m);
	char yl[96];

	memset(out, 0, sizeof(*out));
	chart_vs_load(m, out, "throughput", FIG_THROUGHPUT, "Throughput", "Throughput (infer/s)",
		      "Throughput is not drawn: no configuration has a valid measurement.");
	chart_vs_load(m, out, "latency_p99", FIG_LATENCY_P99, "p99 latency", "p99 latency (ms)",
		      "p99 latency is not drawn: no configuration has a valid measurement.");
	chart_vs_load(m, out, "latency_avg", FIG_LATENCY_AVG, "Average latency",
		      "Average latency (ms)",
		      "Average latency is not drawn: no configuration has a valid measurement.");
	chart_vs_load(m, out, "memory", mem, mem == FIG_GPU_USED_MEMORY ? "GPU memory" :
		      mem == FIG_SERVER_RSS ? "Server process memory (no GPU measured)" :
		      "RAM used (no GPU measured)", memory_title(mem),
		      "Memory is not drawn: neither GPU memory (NVML) nor the server "
		      "process's memory was measured on this machine.");
	snprintf(yl, sizeof(yl), "%s", pw == FIG_GPU_POWER ? "GPU power (W)" :
		 "CPU package power, RAPL (W)");
	chart_vs_load(m, out, "power", pw, pw == FIG_GPU_POWER ? "GPU power" :
		      "CPU package power (RAPL; no GPU measured)", yl,
		      "Power is not drawn: it was not measured on this machine (no NVIDIA GPU "
		      "through NVML, and no readable RAPL energy counters under "
		      "/sys/class/powercap).");
	chart_vs_latency(m, out, "throughput_v_latency", FIG_THROUGHPUT,
			 "Throughput vs. p99 latency", "Throughput (infer/s)",
			 "Throughput vs. p99 latency is not drawn: no configuration has a valid "
			 "measurement.", true);
	chart_vs_latency(m, out, "memory_v_latency", mem,
			 mem == FIG_GPU_USED_MEMORY ? "GPU memory vs. p99 latency" :
			 "Server memory vs. p99 latency", memory_title(mem),
			 "Memory vs. p99 latency is not drawn: memory was not measured on this "
			 "machine.", true);
	for (size_t i = 0; i < m->n_configs; i++)
		if (m->configs[i].rank >= 1 && m->configs[i].rank <= TOP_N)
			chart_breakdown(m, out, &m->configs[i], i);
}

void report_charts_release(struct report_charts *cs)
{
	for (size_t i = 0; i < cs->n; i++) {
		struct report_chart *rc = &cs->items[i];

		free(rc->id);
		free(rc->caption);
		free(rc->note);
		chart_release(&rc->chart);
		if (rc->png) {
			strbuf_release(rc->png);
			free(rc->png);
		}
	}
	free(cs->items);
	memset(cs, 0, sizeof(*cs));
}

size_t report_charts_drawn(const struct report_charts *cs)
{
	size_t n = 0;

	for (size_t i = 0; i < cs->n; i++)
		n += cs->items[i].drawn;
	return n;
}

/* ---- files ---- */

char *report_html_path(const char *export_path, const char *model)
{
	struct strbuf sb;

	strbuf_init(&sb, 0);
	strbuf_addf(&sb, "%s/reports/%s/report.html", export_path, model);
	return strbuf_detach(&sb, NULL);
}

static int write_model(const struct report_data *d, const struct report_model *m,
		       const struct report_options *o, struct it_error *err)
{
	struct report_charts cs;
	struct strbuf path, buf;
	int width = o && o->png_width_px > 0 ? o->png_width_px : 1080;
	int rc;

	strbuf_init(&path, 0);
	strbuf_init(&buf, 0);
	report_charts_build(m, &cs);
	strbuf_addf(&path, "%s/reports/%s/charts", d->export_path, m->name);
	rc = fs_mkdir_p(path.buf, err);
	if (rc)
		goto out;
	for (size_t i = 0; i < cs.n; i++) {
		struct report_chart *c = &cs.items[i];
		size_t base = path.len;

		if (!c->drawn)
			continue;
		c->png = xmalloc(sizeof(*c->png));
		strbuf_init(c->png, 0);
		rc = chart_png(&c->chart, width, c->png, err);
		if (rc)
			goto out;
		strbuf_addf(&path, "/%s.png", c->id);
		rc = fs_write_file_atomic(path.buf, c->png->buf, c->png->len, err);
		strbuf_setlen(&path, base);
		if (rc)
			goto out;
		strbuf_setlen(&buf, 0);
		rc = chart_svg(&c->chart, &buf, err);
		if (rc)
			goto out;
		strbuf_addf(&path, "/%s.svg", c->id);
		rc = fs_write_file_atomic(path.buf, buf.buf, buf.len, err);
		strbuf_setlen(&path, base);
		if (rc)
			goto out;
	}
	strbuf_setlen(&path, path.len - strlen("/charts"));
	strbuf_setlen(&buf, 0);
	report_html(d, m, &cs, &buf);
	strbuf_adds(&path, "/report.html");
	rc = fs_write_file_atomic(path.buf, buf.buf, buf.len, err);
	if (rc)
		goto out;
	if (o && o->skip_pdf)
		goto out;
	strbuf_setlen(&path, path.len - strlen("/report.html"));
	strbuf_setlen(&buf, 0);
	rc = report_pdf(d, m, &cs, &buf, err);
	if (rc)
		goto out;
	strbuf_adds(&path, "/report.pdf");
	rc = fs_write_file_atomic(path.buf, buf.buf, buf.len, err);
out:
	report_charts_release(&cs);
	strbuf_release(&path);
	strbuf_release(&buf);
	return rc;
}

int report_write(const char *export_path, const char *const *models,
		 size_t n_models, const struct report_options *opts,
		 struct it_error *err)
{
	struct report_data d;
	int rc;

	rc = report_data_load(export_path, models, n_models, opts ? opts->time_iso : NULL,
			      &d, err);
	if (rc)
		return rc;
	for (size_t i = 0; i < d.n_models && !rc; i++) {
		rc = write_model(&d, &d.models[i], opts, err);
		if (rc) {
			it_error_prefix(err, "report of %s", d.models[i].name);
		} else if (opts && opts->on_written) {
			char *path = report_html_path(export_path, d.models[i].name);

			opts->on_written(opts->ctx, d.models[i].name, path);
			free(path);
		}
	}
	report_data_release(&d);
	/*
	 * Every cairo object is gone: drop cairo's and fontconfig's caches, so
	 * `analyze` and `report` end with nothing for a leak checker to find
	 * (the next call loads the fonts again, in a few milliseconds).
	 */
	report_global_cleanup();
	return rc;
}

void report_global_cleanup(void)
{
	cairo_debug_reset_static_data();
	FcFini();
}
