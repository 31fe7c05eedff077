/*
 * The HTML report: one self-contained file (inline CSS, charts as base64
 * PNG data URIs, no script, nothing fetched), readable in any browser and
 * printable. Inline SVG is not used: cairo names its glyph symbols the same
 * way in every SVG it writes, so two inlined charts would share ids.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/format.h"
#include "report/internal.h"
#include "util/base64.h"
#include "util/xalloc.h"
#include "util/strbuf.h"
#include "util/banned.h"

static const char css[] =
	"body{font-family:'DejaVu Sans',Arial,sans-serif;max-width:1180px;margin:1.5em auto;"
	"padding:0 1em;color:#1a1a1a;line-height:1.45}"
	"h1{font-size:1.6em;margin-bottom:.2em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;"
	"margin-top:1.8em}h3{margin-top:1.4em}"
	"table{border-collapse:collapse;font-size:.86em;margin:.6em 0;display:block;overflow-x:auto;max-width:100%}"
	"th,td{border:1px solid #c8c8c8;padding:3px 7px;text-align:right}"
	"th{background:#eef1f5}td.l,th.l{text-align:left}"
	"tr.best td{background:#e8f4ea;font-weight:bold}tr.default td{font-style:italic}"
	"figure{margin:1em 0}figure img{max-width:100%;height:auto;border:1px solid #ddd}"
	"figcaption{font-size:.9em;color:#444}"
	".note{background:#fff8e1;border-left:4px solid #e6a700;padding:.4em .8em}"
	".summary{background:#f3f6fa;border-left:4px solid #0072b2;padding:.6em 1em}"
	"pre{background:#f6f6f6;padding:.6em;overflow-x:auto;font-size:.85em}"
	"dl.kv{display:grid;grid-template-columns:max-content auto;gap:.15em 1em}"
	"dl.kv dt{font-weight:bold}dl.kv dd{margin:0}"
	"span.ci{font-size:.85em;color:#555;white-space:nowrap}td.interference{background:#fde8e8}"
	"#configurations{font-size:.8em}#configurations th{white-space:normal;min-width:3em}";

/* The columns of the per-configuration detail tables. */
static const struct { int fig; const char *head; } detail_cols[] = {
	{ FIG_THROUGHPUT, "Throughput (infer/s)" },
	{ FIG_LATENCY_P99, "p99 latency (ms)" },
	{ FIG_LATENCY_AVG, "Avg latency (ms)" },
	{ FIG_CLIENT_RESPONSE_WAIT, "Response wait (ms)" },
	{ FIG_SERVER_QUEUE, "Server queue (ms)" },
	{ FIG_SERVER_COMPUTE_INPUT, "Compute input (ms)" },
	{ FIG_SERVER_COMPUTE_INFER, "Compute infer (ms)" },
	{ FIG_SERVER_COMPUTE_OUTPUT, "Compute output (ms)" },
	{ FIG_SERVER_AVG_BATCH, "Avg batch" },
	{ FIG_SERVER_CPU_UTILIZATION, "Server CPU (% of a core)" },
};

static void td(struct strbuf *sb, const char *cls, const char *text)
{
	strbuf_adds(sb, cls ? "<td class=\"l\">" : "<td>");
	strbuf_add_xml_escaped(sb, text);
	strbuf_adds(sb, "</td>");
}

static void td_fig(struct strbuf *sb, const struct report_level *l, int fig)
{
	char buf[64];

	report_fmt_figure(l, fig, buf, sizeof(buf));
	if (!strcmp(buf, "-"))
		strbuf_adds(sb, "<td title=\"not measured\">&ndash;</td>");
	else
		td(sb, NULL, buf);
}

/* A figure with its 95% interval under it ("14.3" / "±0.6"; "556.87" / "[540.12, ?]"). */
static void td_fig_ci(struct strbuf *sb, const struct report_level *l, int fig)
{
	char buf[64], ci[96];

	report_fmt_figure(l, fig, buf, sizeof(buf));
	report_fmt_interval(l, fig, ci, sizeof(ci));
	if (!strcmp(buf, "-") || !ci[0]) {
		td_fig(sb, l, fig);
		return;
	}
	strbuf_adds(sb, "<td>");
	strbuf_add_xml_escaped(sb, buf);
	strbuf_adds(sb, "<br><span class=\"ci\" title=\"95% confidence interval\">");
	strbuf_add_xml_escaped(sb, ci);
	strbuf_adds(sb, "</span></td>");
}

/* The instances and max batch cells of a configuration ("2 x CPU", "8"). */
static void td_instances(struct strbuf *sb, const struct report_config *c)
{
	char buf[64];

	snprintf(buf, sizeof(buf), "%d x %s", c->instance_count,
		 strncmp(c->instance_kind, "KIND_", 5) ? c->instance_kind : c->instance_kind + 5);
	td(sb, NULL, buf);
	snprintf(buf, sizeof(buf), "%d", c->max_batch_size);
	td(sb, NULL, buf);
}

/* Whether any level of the model knows the client's CPU share (files of schema 2). */
static bool model_has_client_share(const struct report_model *m)
{
	for (size_t i = 0; i < m->n_configs; i++) {
		for (size_t j = 0; j < m->configs[i].n_levels; j++) {
			if (isfinite(m->configs[i].levels[j].client_cpu_share))
				return true;
		}
	}
	return false;
}

/* The client's CPU share of one level, flagged when it competed with the model. */
static void td_client_share(struct strbuf *sb, const struct report_data *d,
			    const struct report_level *l)
{
	if (!isfinite(l->client_cpu_share)) {
		strbuf_adds(sb, "<td title=\"not measured\">&ndash;</td>");
		return;
	}
	if (report_level_interference(d, l))
		strbuf_addf(sb, "<td class=\"interference\" title=\"the load generator shared the "
			    "machine with the model: figures may be low\">%.1f &#9888;</td>",
			    l->client_cpu_share * 100);
	else
		strbuf_addf(sb, "<td>%.1f</td>", l->client_cpu_share * 100);
}

static void config_table(const struct report_model *m, struct strbuf *sb)
{
	int mem = report_memory_figure(m), pw = report_power_figure(m);
	char buf[256];

	strbuf_addf(sb, "<table id=\"configurations\"><tr><th>Rank</th><th class=\"l\">"
		    "Configuration</th><th class=\"l\">Search point</th><th>Instances</th>"
		    "<th>Max batch</th><th>Dynamic batching</th><th class=\"l\">Status</th>"
		    "<th>Meets constraints</th><th>Best %s</th><th>Throughput (infer/s)</th>"
		    "<th>p99 latency (ms)</th>", report_load_name(m));
	if (mem >= 0)
		strbuf_addf(sb, "<th>%s</th>", figure_table[mem].header);
	if (pw >= 0)
		strbuf_addf(sb, "<th>%s</th>", figure_table[pw].header);
	strbuf_adds(sb, "<th>Gain vs. default (%)</th></tr>\n");
	for (size_t i = 0; i < m->n_configs; i++) {
		const struct report_config *c = &m->configs[i];
		const struct report_level *b = c->best >= 0 ? &c->levels[c->best] : NULL;

		strbuf_addf(sb, "<tr%s>", c->rank == 1 ? " class=\"best\"" :
			    c->is_default ? " class=\"default\"" : "");
		if (c->rank)
			snprintf(buf, sizeof(buf), "%zu", c->rank);
		else
			snprintf(buf, sizeof(buf), "-");
		td(sb, NULL, buf);
		td(sb, "l", c->name);
		td(sb, "l", c->label);
		td_instances(sb, c);
		td(sb, NULL, c->dynamic_batching ? "yes" : "no");
		td(sb, "l", c->status);
		td(sb, NULL, !b ? "-" : c->passes ? "yes" : "no");
		if (b)
			snprintf(buf, sizeof(buf), "%g", b->load);
		td(sb, NULL, b ? buf : "-");
		if (b) {
			td_fig_ci(sb, b, FIG_THROUGHPUT);
			td_fig_ci(sb, b, FIG_LATENCY_P99);
			if (mem >= 0)
				td_fig(sb, b, mem);
			if (pw >= 0)
				td_fig(sb, b, pw);
		} else {
			for (int k = 0; k < 2 + (mem >= 0) + (pw >= 0); k++)
				td(sb, NULL, "-");
		}
		if (c->has_gain)
			snprintf(buf, sizeof(buf), "%.1f", c->gain_pct);
		td(sb, NULL, c->has_gain ? buf : "-");
		strbuf_adds(sb, "</tr>\n");
	}
	strbuf_adds(sb, "</table>\n");
}

static void detail_table(const struct report_data *d, const struct report_model *m,
			 const struct report_config *c, struct strbuf *sb)
{
	int mem = report_memory_figure(m), pw = report_power_figure(m);
	bool share = model_has_client_share(m);
	char buf[64];

	strbuf_addf(sb, "<table class=\"detail\" id=\"detail-%s\"><tr><th>Batch</th><th>%s</th>"
		    "<th class=\"l\">Status</th>", c->name,
		    m->load_kind == LOAD_REQUEST_RATE ? "Request rate" : "Concurrency");
	for (size_t k = 0; k < sizeof(detail_cols) / sizeof(detail_cols[0]); k++)
		strbuf_addf(sb, "<th>%s</th>", detail_cols[k].head);
	if (mem >= 0)
		strbuf_addf(sb, "<th>%s</th>", figure_table[mem].header);
	if (pw >= 0)
		strbuf_addf(sb, "<th>%s</th>", figure_table[pw].header);
	if (share)
		strbuf_adds(sb, "<th>Client CPU share (%)</th>");
	strbuf_adds(sb, "</tr>\n");
	for (size_t j = 0; j < c->n_levels; j++) {
		const struct report_level *l = &c->levels[j];

		strbuf_addf(sb, "<tr%s>", (long)j == c->best ? " class=\"best\"" : "");
		snprintf(buf, sizeof(buf), "%lld", (long long)l->batch_size);
		td(sb, NULL, buf);
		snprintf(buf, sizeof(buf), "%g", l->load);
		td(sb, NULL, buf);
		strbuf_adds(sb, "<td class=\"l\">");
		strbuf_add_xml_escaped(sb, measurement_status_name(l->status));
		if (l->phase == PHASE_INTERLEAVED)
			strbuf_adds(sb, " (interleaved)");
		if (l->message && *l->message) {
			strbuf_adds(sb, ": ");
			strbuf_add_xml_escaped(sb, l->message);
		}
		strbuf_adds(sb, "</td>");
		for (size_t k = 0; k < sizeof(detail_cols) / sizeof(detail_cols[0]); k++)
			td_fig_ci(sb, l, detail_cols[k].fig);
		if (mem >= 0)
			td_fig(sb, l, mem);
		if (pw >= 0)
			td_fig(sb, l, pw);
		if (share)
			td_client_share(sb, d, l);
		strbuf_adds(sb, "</tr>\n");
	}
	strbuf_adds(sb, "</table>\n");
}

/* One sentence when the load generator competed with the model at some level. */
static void interference_note(const struct report_data *d, const struct report_model *m,
			      struct strbuf *sb)
{
	const struct report_config *worst_c = NULL;
	const struct report_level *worst = NULL;

	for (size_t i = 0; i < m->n_configs; i++) {
		for (size_t j = 0; j < m->configs[i].n_levels; j++) {
			const struct report_level *l = &m->configs[i].levels[j];

			if (report_level_interference(d, l) &&
			    (!worst || l->client_cpu_share > worst->client_cpu_share)) {
				worst = l;
				worst_c = &m->configs[i];
			}
		}
	}
	if (!worst)
		return;
	strbuf_addf(sb, "<p class=\"note\" id=\"interference\">The load generator shared the "
		    "machine with the model (no CPU pinning) and took up to %.1f%% of its CPUs, "
		    "at %s %g, batch %lld of ", worst->client_cpu_share * 100,
		    m->load_kind == LOAD_REQUEST_RATE ? "request rate" : "concurrency",
		    worst->load, (long long)worst->batch_size);
	strbuf_add_xml_escaped(sb, worst_c->name);
	strbuf_adds(sb, ": the levels marked &#9888; may understate the model "
		    "(pin with --server-cpus and --client-cpus).</p>\n");
}

/* "12.3" or "–" for an absent figure. */
static void cell_fixed(struct strbuf *sb, double v, int dec)
{
	if (isfinite(v))
		strbuf_addf(sb, "<td>%.*f</td>", dec, v);
	else
		strbuf_adds(sb, "<td>&#8211;</td>");
}

/* "Guided points (...): missed by 4.1% (median) and 9.8% at worst over 5. " */
static void error_sentence(struct strbuf *sb, const char *what, const struct report_model *m,
			   bool probe)
{
	struct prediction_errors e;

	prediction_errors_of(m->predictions, m->n_predictions, probe, &e);
	if (e.n)
		strbuf_addf(sb, "%s: missed by %.1f%% (median) and %.1f%% at worst over %zu. ",
			    what, e.median_pct, e.worst_pct, e.n);
}

/* The predictive search's predictions against the measurements that checked them. */
static void predictions_section(const struct report_model *m, struct strbuf *sb)
{
	if (!m->n_predictions)
		return;
	strbuf_adds(sb, "<h2 id=\"predictions\">Predicted against measured</h2>\n"
		    "<table><tr><th>Configuration</th><th>Concurrency</th><th>Role</th>"
		    "<th>Predicted infer/s</th><th>Measured infer/s</th><th>Error</th>"
		    "<th>Predicted p99 (ms)</th><th>Measured p99 (ms)</th></tr>\n");
	for (size_t i = 0; i < m->n_predictions; i++) {
		const struct store_checked_prediction *p = &m->predictions[i];
		bool both = p->measured && isfinite(p->measured_throughput) &&
			    p->measured_throughput > 0 && isfinite(p->throughput);

		strbuf_adds(sb, "<tr><td>");
		strbuf_add_xml_escaped(sb, p->variant);
		strbuf_addf(sb, "</td><td>%g</td><td>%s</td><td>%.1f &#177;%.0f%%</td>",
			    p->load_value, p->probe ? "probe" : "guided", p->throughput,
			    p->rel_uncertainty * 100);
		cell_fixed(sb, p->measured ? p->measured_throughput : NAN, 1);
		if (both)
			strbuf_addf(sb, "<td>%+.1f%%</td>", (p->throughput - p->measured_throughput) /
				    p->measured_throughput * 100);
		else
			strbuf_adds(sb, "<td>not measured</td>");
		cell_fixed(sb, p->latency_p99_ms, 2);
		cell_fixed(sb, p->measured ? p->measured_p99_ms : NAN, 2);
		strbuf_adds(sb, "</tr>\n");
	}
	strbuf_adds(sb, "</table>\n<p class=\"note\">Throughput predictions. ");
	error_sentence(sb, "Guided points (measured because the prediction chose them)", m, false);
	error_sentence(sb, "Probes (measured to fit what earlier levels could not show: "
		       "batching, instances side by side, threads)", m, true);
	strbuf_adds(sb, "The default configuration's levels, measured before anything could "
		    "be fitted, have no prediction. The last model: ");
	strbuf_add_xml_escaped(sb, m->predictions[m->n_predictions - 1].model);
	strbuf_adds(sb, ".</p>\n");
}

/* Whether a top configuration has a predicted rate (analyze/capacity_predict.h). */
static bool capacity_predicted(const struct capacity_answer *a)
{
	for (size_t i = 0; i < a->n_rows; i++)
		if (a->rows[i].predicted.has)
			return true;
	return false;
}

/* The predicted cell: "197.3 ±5%", "none ±5%" (no rate within the budget), "-" not predicted. */
static void td_predicted(struct strbuf *sb, const struct capacity_predicted *p)
{
	char buf[64];

	if (!p->has) {
		td(sb, NULL, "-");
		return;
	}
	if (p->rate > 0)
		capacity_fmt_rate(p->rate, buf, sizeof(buf));
	else
		snprintf(buf, sizeof(buf), "none");
	strbuf_addf(sb, "<td>%s <span class=\"ci\" title=\"the fit's uncertainty\">±%.0f%%</span>"
		    "</td>", buf, p->rel_uncertainty * 100);
}

/* The capacity table: every configuration in rank order (analyze/capacity.h). */
static void capacity_table(const struct report_model *m, struct strbuf *sb)
{
	const struct capacity_answer *a = &m->capacity;
	bool predicted = capacity_predicted(a);
	char buf[128], lo[64], hi[64];

	strbuf_addf(sb, "<table id=\"capacity-table\"><tr><th class=\"l\">Configuration</th>"
		    "<th>Instances</th><th>Max batch</th><th>Sustained (%s) within p99 &lt;= %g ms"
		    "</th><th class=\"l\">At load</th><th>p99 latency (ms)</th>",
		    capacity_unit(a), a->budget_ms);
	if (a->has_target) {
		capacity_fmt_rate(a->target, buf, sizeof(buf));
		strbuf_addf(sb, "<th>Serves %s %s</th><th>Servers for %s %s</th>", buf,
			    capacity_unit(a), buf, capacity_unit(a));
	}
	if (predicted)
		strbuf_addf(sb, "<th>Predicted (%s), not measured</th>", capacity_unit(a));
	strbuf_adds(sb, "</tr>\n");
	for (size_t i = 0; i < a->n_rows && i < m->n_configs; i++) {
		const struct report_config *c = &m->configs[i];
		const struct capacity_row *r = &a->rows[i];

		strbuf_addf(sb, "<tr%s>", i == (size_t)a->cheapest || i == (size_t)a->scale ?
			    " class=\"best\"" : "");
		td(sb, "l", c->name);
		td_instances(sb, c);
		if (r->sustains) {
			capacity_fmt_rate(r->rate, buf, sizeof(buf));
			strbuf_adds(sb, "<td>");
			strbuf_add_xml_escaped(sb, buf);
			if (r->has_ci) {
				capacity_fmt_rate(r->ci_lo, lo, sizeof(lo));
				capacity_fmt_rate(r->ci_hi, hi, sizeof(hi));
				strbuf_addf(sb, "<br><span class=\"ci\" title=\"95%% confidence "
					    "interval\">[%s, %s]</span>", lo, hi);
			}
			strbuf_adds(sb, "</td>");
			capacity_load_text(r->load_kind, r->load_value, buf, sizeof(buf));
			td(sb, "l", buf);
			snprintf(buf, sizeof(buf), "%.2f", r->p99_ms);
			td(sb, NULL, buf);
		} else {
			td(sb, NULL, "none");
			td(sb, "l", "-");
			td(sb, NULL, "-");
		}
		if (a->has_target) {
			td(sb, NULL, r->meets_target ? "yes" : "no");
			snprintf(buf, sizeof(buf), "%llu", (unsigned long long)r->servers);
			td(sb, NULL, r->servers ? buf : "-");
		}
		if (predicted)
			td_predicted(sb, &r->predicted);
		strbuf_adds(sb, "</tr>\n");
	}
	strbuf_adds(sb, "</table>\n");
}

/* The capacity answers, one paragraph each, and the table; nothing without a latency budget. */
static void capacity_section(const struct report_model *m, struct strbuf *sb)
{
	if (!m->capacity.asked)
		return;
	strbuf_adds(sb, "<h2 id=\"capacity\">Capacity</h2>\n");
	for (size_t i = 0; i < m->n_capacity_lines; i++) {
		strbuf_adds(sb, "<p class=\"summary\">");
		strbuf_add_xml_escaped(sb, m->capacity_lines[i]);
		strbuf_adds(sb, "</p>\n");
	}
	capacity_table(m, sb);
	strbuf_addf(sb, "<p class=\"note\">From the measurements only: a configuration sustains "
		    "the largest throughput it was measured to deliver with its p99 latency "
		    "within the budget, at client batch %lld", (long long)m->capacity.batch);
	if (m->load_kind == LOAD_REQUEST_RATE)
		strbuf_addf(sb, "; a request-rate level that delivered less than %.0f%% of its "
			    "rate fell behind and does not count", CAPACITY_DELIVERED * 100);
	if (capacity_predicted(&m->capacity))
		strbuf_adds(sb, ". The predicted rates are not measured: the highest rate at "
			    "constant intervals that the simulator, fitted to every level of the "
			    "model, keeps within the budget, with the fit's uncertainty");
	strbuf_adds(sb, ".</p>\n");
}

void report_html(const struct report_data *d, const struct report_model *m,
		 const struct report_charts *cs, struct strbuf *sb)
{
	const struct report_config *best = report_model_best(m);
	char buf[256];
	size_t n_failed = 0;

	strbuf_adds(sb, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
		    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
		    "<title>infertune report: ");
	strbuf_add_xml_escaped(sb, m->name);
	strbuf_addf(sb, "</title>\n<style>%s</style>\n</head>\n<body>\n<h1>infertune report: ", css);
	strbuf_add_xml_escaped(sb, m->name);
	strbuf_adds(sb, "</h1>\n<p>Results as of ");
	strbuf_add_xml_escaped(sb, d->time_iso);
	strbuf_adds(sb, " from <code>");
	strbuf_add_xml_escaped(sb, d->db_path);
	strbuf_addf(sb, "</code> (%zu run%s; the latest ", d->n_runs, d->n_runs == 1 ? "" : "s");
	strbuf_add_xml_escaped(sb, d->run_status ? d->run_status : "unknown");
	strbuf_adds(sb, "), measured by infertune ");
	strbuf_add_xml_escaped(sb, d->version ? d->version : "?");
	strbuf_adds(sb, ".</p>\n");
	if (d->run_status && strcmp(d->run_status, "completed")) {
		strbuf_adds(sb, "<p class=\"note\">The latest analysis did not complete (");
		strbuf_add_xml_escaped(sb, d->run_status);
		if (d->run_message && *d->run_message) {
			strbuf_adds(sb, ": ");
			strbuf_add_xml_escaped(sb, d->run_message);
		}
		strbuf_adds(sb, "). This report shows what was measured; re-running the same "
			    "<code>infertune analyze</code> resumes.</p>\n");
	}

	strbuf_adds(sb, "<h2 id=\"summary\">Summary</h2>\n<p class=\"summary\" id=\"sentence\">");
	{
		struct strbuf s;

		strbuf_init(&s, 0);
		report_summary_sentence(m, &s);
		strbuf_add_xml_escaped(sb, s.buf);
		strbuf_release(&s);
	}
	strbuf_adds(sb, "</p>\n");
	if (best) {
		const struct report_level *b = &best->levels[best->best];

		report_config_desc(best, buf, sizeof(buf));
		strbuf_adds(sb, "<h3 id=\"recommendation\">Recommended configuration: ");
		strbuf_add_xml_escaped(sb, best->name);
		strbuf_adds(sb, "</h3>\n<ul><li>");
		strbuf_add_xml_escaped(sb, buf);
		strbuf_adds(sb, " (search point: ");
		strbuf_add_xml_escaped(sb, best->label);
		strbuf_addf(sb, ")</li>\n<li>Best at %s %g, client batch %lld: ",
			    report_load_name(m), b->load, (long long)b->batch_size);
		report_fmt_figure(b, FIG_THROUGHPUT, buf, sizeof(buf));
		strbuf_addf(sb, "%s infer/s, p99 latency ", buf);
		report_fmt_figure(b, FIG_LATENCY_P99, buf, sizeof(buf));
		strbuf_addf(sb, "%s ms%s</li>\n", buf,
			    best->passes ? ", meets the constraints" : ", does NOT meet the constraints");
		strbuf_adds(sb, "<li>Deploy: <code>");
		if (m->best_config_path)
			strbuf_add_xml_escaped(sb, m->best_config_path);
		else
			strbuf_addf(sb, "%s/output_model_repository/%s/config.pbtxt", d->export_path,
				    best->name);
		strbuf_adds(sb, "</code> (the model's own name, ready for its model repository)</li>"
			    "</ul>\n<pre>");
		strbuf_add_xml_escaped(sb, best->config_pbtxt);
		strbuf_adds(sb, "</pre>\n");
	}

	capacity_section(m, sb);

	strbuf_adds(sb, "<h2 id=\"setup\">Machine, model and goals</h2>\n<dl class=\"kv\">\n<dt>CPU</dt><dd>");
	strbuf_add_xml_escaped(sb, d->machine_cpu);
	strbuf_adds(sb, "</dd>\n<dt>Memory</dt><dd>");
	strbuf_add_xml_escaped(sb, d->machine_memory);
	strbuf_adds(sb, "</dd>\n<dt>GPUs</dt><dd>");
	strbuf_add_xml_escaped(sb, d->machine_gpus);
	strbuf_adds(sb, "</dd>\n");
	if (d->cpu_pinning) {
		strbuf_adds(sb, "<dt>CPU pinning</dt><dd>");
		strbuf_add_xml_escaped(sb, d->cpu_pinning);
		strbuf_adds(sb, "</dd>\n");
	}
	if (!d->machine_from_db)
		strbuf_adds(sb, "<dt></dt><dd><em>results.db does not record the machine; CPU and "
			    "memory describe the machine that wrote this report.</em></dd>\n");
	strbuf_adds(sb, "<dt>Model</dt><dd>");
	strbuf_add_xml_escaped(sb, m->name);
	strbuf_adds(sb, " (");
	strbuf_add_xml_escaped(sb, m->backend ? m->backend : m->platform ? m->platform : "?");
	strbuf_adds(sb, ") from <code>");
	strbuf_add_xml_escaped(sb, m->repository ? m->repository : "?");
	strbuf_adds(sb, "</code></dd>\n");
	strbuf_adds(sb, "<dt>Objectives</dt><dd>");
	strbuf_add_xml_escaped(sb, m->objectives_text);
	strbuf_adds(sb, "</dd>\n<dt>Constraints</dt><dd>");
	strbuf_add_xml_escaped(sb, m->constraints_text);
	strbuf_adds(sb, "</dd>\n<dt>Search</dt><dd>");
	strbuf_add_xml_escaped(sb, d->search_mode ? d->search_mode : "?");
	strbuf_adds(sb, ", ");
	strbuf_add_xml_escaped(sb, d->server_mode ? d->server_mode : "?");
	strbuf_adds(sb, " server</dd>\n<dt>Command</dt><dd><code>");
	strbuf_add_xml_escaped(sb, d->command_line ? d->command_line : "?");
	strbuf_adds(sb, "</code></dd>\n</dl>\n");

	strbuf_adds(sb, "<h2 id=\"all\">All configurations</h2>\n");
	if (!m->ranking_from_db)
		strbuf_adds(sb, "<p class=\"note\">results.db holds no ranking for this model "
			    "(the analysis did not finish); the ranking below applies the same "
			    "rules to what was measured.</p>\n");
	config_table(m, sb);
	interference_note(d, m, sb);
	predictions_section(m, sb);

	strbuf_adds(sb, "<h2 id=\"charts\">Charts</h2>\n");
	for (size_t i = 0; i < cs->n; i++) {
		const struct report_chart *c = &cs->items[i];

		if (!c->drawn) {
			strbuf_addf(sb, "<p class=\"note\" id=\"note-%s\">", c->id);
			strbuf_add_xml_escaped(sb, c->note);
			strbuf_adds(sb, "</p>\n");
			continue;
		}
		strbuf_addf(sb, "<figure id=\"chart-%s\"><img alt=\"", c->id);
		strbuf_add_xml_escaped(sb, c->chart.title);
		strbuf_adds(sb, ": ");
		for (size_t k = 0; k < c->chart.n_series; k++) {
			if (k)
				strbuf_adds(sb, "; ");
			strbuf_add_xml_escaped(sb, c->chart.series[k].name);
		}
		strbuf_addf(sb, "\" width=\"%d\" height=\"%d\" src=\"data:image/png;base64,",
			    (int)(CHART_WIDTH * 4 / 3), (int)(CHART_HEIGHT * 4 / 3));
		base64_encode(sb, c->png->buf, c->png->len);
		strbuf_adds(sb, "\"><figcaption>");
		strbuf_add_xml_escaped(sb, c->caption);
		strbuf_addf(sb, " (<a href=\"charts/%s.svg\">SVG</a>, <a href=\"charts/%s.png\">PNG</a>)"
			    "</figcaption></figure>\n", c->id, c->id);
	}

	strbuf_adds(sb, "<h2 id=\"details\">Configuration details</h2>\n");
	for (size_t i = 0; i < m->n_configs; i++) {
		const struct report_config *c = &m->configs[i];

		strbuf_adds(sb, "<h3>");
		strbuf_add_xml_escaped(sb, c->name);
		report_config_desc(c, buf, sizeof(buf));
		strbuf_adds(sb, ": ");
		strbuf_add_xml_escaped(sb, buf);
		strbuf_adds(sb, "</h3>\n");
		if (c->failure_reason) {
			strbuf_adds(sb, "<p class=\"note\">Failed (");
			strbuf_add_xml_escaped(sb, c->status);
			strbuf_adds(sb, "): ");
			strbuf_add_xml_escaped(sb, c->failure_reason);
			strbuf_adds(sb, "</p>\n");
		}
		if (c->n_levels)
			detail_table(d, m, c, sb);
		else
			strbuf_adds(sb, "<p>No measurement.</p>\n");
	}

	strbuf_adds(sb, "<h2 id=\"failed\">Failed configurations</h2>\n");
	for (size_t i = 0; i < m->n_configs; i++)
		n_failed += m->configs[i].failure_reason != NULL;
	if (!n_failed) {
		strbuf_adds(sb, "<p>None: every configuration loaded and was measured.</p>\n");
	} else {
		strbuf_adds(sb, "<table id=\"failures\"><tr><th class=\"l\">Configuration</th>"
			    "<th class=\"l\">Status</th><th class=\"l\">Reason</th></tr>\n");
		for (size_t i = 0; i < m->n_configs; i++) {
			const struct report_config *c = &m->configs[i];

			if (!c->failure_reason)
				continue;
			strbuf_adds(sb, "<tr>");
			td(sb, "l", c->name);
			td(sb, "l", c->status);
			td(sb, "l", c->failure_reason);
			strbuf_adds(sb, "</tr>\n");
		}
		strbuf_adds(sb, "</table>\n");
	}
	strbuf_adds(sb, "</body>\n</html>\n");
}
