/*
 * The PDF report, on cairo's PDF surface: A4 pages with a fixed structure so
 * that its page count follows from the database (tests check it):
 *   1 summary page,
 *   max(1, ceil(configurations / REPORT_PDF_TABLE_ROWS)) pages of the table,
 *   ceil(charts drawn / 2) chart pages,
 *   per configuration max(1, ceil(levels / REPORT_PDF_DETAIL_ROWS)) pages.
 * The creation date is the report's date, not the clock, so the bytes are
 * stable for the same database.
 */
#include <cairo-pdf.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/format.h"
#include "report/internal.h"
#include "util/error.h"
#include "util/strbuf.h"
#include "util/banned.h"

#define PAGE_W 595.276
#define PAGE_H 841.890
#define MARGIN 42.0
#define FONT "DejaVu Sans"

struct pdf {
	cairo_t *cr;
	double y;
	int page;
	const char *model;
};

static void font(struct pdf *p, double size, bool bold)
{
	cairo_select_font_face(p->cr, FONT, CAIRO_FONT_SLANT_NORMAL,
			       bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
	cairo_set_font_size(p->cr, size);
}

static double width_of(struct pdf *p, const char *s)
{
	cairo_text_extents_t te;

	cairo_text_extents(p->cr, s, &te);
	return te.x_advance;
}

static void show(struct pdf *p, double x, double y, const char *s)
{
	cairo_move_to(p->cr, x, y);
	cairo_show_text(p->cr, s);
}

/* Shows s in a cell of width w (right-aligned unless left), shortened to fit. */
static void cell(struct pdf *p, double x, double y, double w, const char *s, bool left)
{
	char buf[256];
	size_t n;

	snprintf(buf, sizeof(buf), "%s", s);
	n = strlen(buf);
	while (n > 1 && width_of(p, buf) > w - 4) {
		n--;
		snprintf(buf, sizeof(buf), "%.*s...", (int)n, s);
	}
	show(p, left ? x + 2 : x + w - 2 - width_of(p, buf), y, buf);
}

static void footer(struct pdf *p)
{
	char buf[300];

	font(p, 8, false);
	cairo_set_source_rgb(p->cr, 0.4, 0.4, 0.4);
	snprintf(buf, sizeof(buf), "infertune report: %s - page %d", p->model, p->page);
	show(p, MARGIN, PAGE_H - 24, buf);
	cairo_set_source_rgb(p->cr, 0, 0, 0);
}

static void new_page(struct pdf *p)
{
	if (p->page > 0) {
		footer(p);
		cairo_show_page(p->cr);
	}
	p->page++;
	p->y = MARGIN;
	cairo_set_source_rgb(p->cr, 0, 0, 0);
}

/* A paragraph wrapped at word boundaries to the text width. */
static void para(struct pdf *p, const char *text, double size, bool bold, double indent)
{
	double maxw = PAGE_W - 2 * MARGIN - indent;
	struct strbuf line;
	const char *s = text;

	strbuf_init(&line, 0);
	font(p, size, bold);
	while (*s) {
		const char *e = s;
		size_t keep = line.len;

		while (*e == ' ')
			e++;
		while (*e && *e != ' ')
			e++;
		strbuf_add(&line, s, (size_t)(e - s));
		if (keep && width_of(p, line.buf) > maxw) {
			strbuf_setlen(&line, keep);
			p->y += size * 1.35;
			if (p->y < PAGE_H - MARGIN - 20)
				show(p, MARGIN + indent, p->y, line.buf);
			strbuf_setlen(&line, 0);
			while (*s == ' ')
				s++;
			continue;
		}
		s = e;
	}
	if (line.len) {
		p->y += size * 1.35;
		if (p->y < PAGE_H - MARGIN - 20)
			show(p, MARGIN + indent, p->y, line.buf);
	}
	strbuf_release(&line);
}

static void heading(struct pdf *p, const char *text)
{
	p->y += 10;
	para(p, text, 12.5, true, 0);
	p->y += 3;
}

static void kv(struct pdf *p, const char *k, const char *v)
{
	struct strbuf sb;

	strbuf_init(&sb, 0);
	strbuf_addf(&sb, "%s: %s", k, v ? v : "?");
	para(p, sb.buf, 9.5, false, 0);
	strbuf_release(&sb);
}

/* The capacity answers, one paragraph each (the HTML report also has their table). */
static void capacity_paras(struct pdf *p, const struct report_model *m)
{
	if (!m->capacity.asked)
		return;
	heading(p, "Capacity");
	for (size_t i = 0; i < m->n_capacity_lines; i++)
		para(p, m->capacity_lines[i], 10, false, 0);
}

static void summary_page(struct pdf *p, const struct report_data *d,
			 const struct report_model *m, const struct report_charts *cs)
{
	const struct report_config *best = report_model_best(m);
	struct strbuf sb;
	char buf[256];

	strbuf_init(&sb, 0);
	new_page(p);
	strbuf_addf(&sb, "infertune report: %s", m->name);
	p->y += 6;
	para(p, sb.buf, 18, true, 0);
	strbuf_setlen(&sb, 0);
	strbuf_addf(&sb, "Results as of %s from %s (%zu run%s; the latest %s), measured by "
		    "infertune %s.", d->time_iso, d->db_path, d->n_runs, d->n_runs == 1 ? "" : "s",
		    d->run_status ? d->run_status : "unknown", d->version ? d->version : "?");
	para(p, sb.buf, 8.5, false, 0);
	heading(p, "Summary");
	strbuf_setlen(&sb, 0);
	report_summary_sentence(m, &sb);
	para(p, sb.buf, 10.5, false, 0);
	if (best) {
		const struct report_level *b = &best->levels[best->best];
		char tp[64], lat[64];

		heading(p, "Recommended configuration");
		report_config_desc(best, buf, sizeof(buf));
		strbuf_setlen(&sb, 0);
		strbuf_addf(&sb, "%s: %s (search point: %s).", best->name, buf, best->label);
		para(p, sb.buf, 10, true, 0);
		report_fmt_figure(b, FIG_THROUGHPUT, tp, sizeof(tp));
		report_fmt_figure(b, FIG_LATENCY_P99, lat, sizeof(lat));
		strbuf_setlen(&sb, 0);
		strbuf_addf(&sb, "Best at %s %g, client batch %lld: %s infer/s, p99 latency %s ms; "
			    "%s the constraints.", report_load_name(m), b->load,
			    (long long)b->batch_size, tp, lat, best->passes ? "meets" : "does NOT meet");
		para(p, sb.buf, 10, false, 0);
		strbuf_setlen(&sb, 0);
		if (m->best_config_path)
			strbuf_addf(&sb, "Deploy: %s", m->best_config_path);
		else
			strbuf_addf(&sb, "Deploy: %s/output_model_repository/%s/config.pbtxt",
				    d->export_path, best->name);
		para(p, sb.buf, 10, false, 0);
	}
	capacity_paras(p, m);
	heading(p, "Machine, model and goals");
	kv(p, "CPU", d->machine_cpu);
	kv(p, "Memory", d->machine_memory);
	kv(p, "GPUs", d->machine_gpus);
	if (!d->machine_from_db)
		para(p, "(results.db does not record the machine; CPU and memory describe the "
		     "machine that wrote this report.)", 8.5, false, 0);
	strbuf_setlen(&sb, 0);
	strbuf_addf(&sb, "%s (%s) from %s", m->name,
		    m->backend ? m->backend : m->platform ? m->platform : "?",
		    m->repository ? m->repository : "?");
	kv(p, "Model", sb.buf);
	kv(p, "Objectives", m->objectives_text);
	kv(p, "Constraints", m->constraints_text);
	strbuf_setlen(&sb, 0);
	strbuf_addf(&sb, "%s, %s server", d->search_mode ? d->search_mode : "?",
		    d->server_mode ? d->server_mode : "?");
	kv(p, "Search", sb.buf);
	kv(p, "Command", d->command_line);
	if (d->run_status && strcmp(d->run_status, "completed")) {
		strbuf_setlen(&sb, 0);
		strbuf_addf(&sb, "The latest analysis did not complete (%s%s%s); this report shows "
			    "what was measured.", d->run_status, d->run_message ? ": " : "",
			    d->run_message ? d->run_message : "");
		heading(p, "Note");
		para(p, sb.buf, 9.5, false, 0);
	}
	for (size_t i = 0; i < cs->n; i++) {
		if (cs->items[i].drawn)
			continue;
		if (i == 0 || cs->items[i - 1].drawn)
			heading(p, "Charts not drawn");
		para(p, cs->items[i].note, 9, false, 0);
	}
	strbuf_release(&sb);
}

static void rule(struct pdf *p, double y)
{
	cairo_set_source_rgb(p->cr, 0.75, 0.75, 0.75);
	cairo_set_line_width(p->cr, 0.5);
	cairo_move_to(p->cr, MARGIN, y);
	cairo_line_to(p->cr, PAGE_W - MARGIN, y);
	cairo_stroke(p->cr);
	cairo_set_source_rgb(p->cr, 0, 0, 0);
}

static void table_pages(struct pdf *p, const struct report_model *m)
{
	static const double w[] = { 24, 112, 38, 30, 28, 52, 32, 30, 48, 42, 42, 34 };
	static const char *const head[] = { "Rank", "Configuration", "Inst.", "Max b.", "Dyn.",
		"Status", "Meets", "Load", "Thr./s", "p99 ms", "Mem. MB", "Gain %" };
	int mem = report_memory_figure(m);
	size_t n = m->n_configs, pages = n ? (n + REPORT_PDF_TABLE_ROWS - 1) / REPORT_PDF_TABLE_ROWS : 1;
	char buf[64];

	for (size_t pg = 0; pg < pages; pg++) {
		double x = MARGIN;

		new_page(p);
		heading(p, pages > 1 ? "All configurations (continued)" : "All configurations");
		p->y += 14;
		font(p, 7.5, true);
		for (size_t k = 0; k < sizeof(w) / sizeof(w[0]); k++) {
			cell(p, x, p->y, w[k], head[k], k == 1 || k == 5);
			x += w[k];
		}
		rule(p, p->y + 4);
		font(p, 7.5, false);
		for (size_t r = pg * REPORT_PDF_TABLE_ROWS; r < n && r < (pg + 1) * REPORT_PDF_TABLE_ROWS; r++) {
			const struct report_config *c = &m->configs[r];
			const struct report_level *b = c->best >= 0 ? &c->levels[c->best] : NULL;
			const char *kind = strncmp(c->instance_kind, "KIND_", 5) ? c->instance_kind :
				c->instance_kind + 5;
			char v[12][64];

			p->y += 13;
			snprintf(v[0], 64, c->rank ? "%zu" : "-", c->rank);
			snprintf(v[1], 64, "%s", c->name);
			snprintf(v[2], 64, "%d x %s", c->instance_count, kind);
			snprintf(v[3], 64, "%d", c->max_batch_size);
			snprintf(v[4], 64, "%s", c->dynamic_batching ? "yes" : "no");
			snprintf(v[5], 64, "%s", c->status);
			snprintf(v[6], 64, "%s", !b ? "-" : c->passes ? "yes" : "no");
			if (b)
				snprintf(v[7], 64, "%g", b->load);
			else
				snprintf(v[7], 64, "-");
			report_fmt_figure(b ? b : &(struct report_level){ 0 }, b ? FIG_THROUGHPUT : -1,
					  v[8], 64);
			report_fmt_figure(b ? b : &(struct report_level){ 0 }, b ? FIG_LATENCY_P99 : -1,
					  v[9], 64);
			report_fmt_figure(b ? b : &(struct report_level){ 0 }, b ? mem : -1, v[10], 64);
			if (c->has_gain)
				snprintf(v[11], 64, "%.1f", c->gain_pct);
			else
				snprintf(v[11], 64, "-");
			font(p, 7.5, c->rank == 1);
			x = MARGIN;
			for (size_t k = 0; k < 12; k++) {
				cell(p, x, p->y, w[k], v[k], k == 1 || k == 5);
				x += w[k];
			}
		}
		p->y += 14;
		if (pg + 1 == pages && mem >= 0) {
			snprintf(buf, sizeof(buf), "Memory: %s.", figure_table[mem].header);
			para(p, buf, 7.5, false, 0);
		}
	}
}

static void chart_pages(struct pdf *p, const struct report_charts *cs)
{
	double cw = PAGE_W - 2 * MARGIN, ch = cw * CHART_HEIGHT / CHART_WIDTH;
	size_t k = 0;

	for (size_t i = 0; i < cs->n; i++) {
		const struct report_chart *c = &cs->items[i];

		if (!c->drawn)
			continue;
		if (k % 2 == 0)
			new_page(p);
		p->y = MARGIN + (double)(k % 2) * (ch + 70);
		cairo_save(p->cr);
		cairo_translate(p->cr, MARGIN, p->y);
		chart_draw(&c->chart, p->cr, cw, ch);
		cairo_restore(p->cr);
		p->y += ch;
		para(p, c->caption, 8, false, 0);
		k++;
	}
}

static void detail_pages(struct pdf *p, const struct report_model *m,
			 const struct report_config *c)
{
	static const double w[] = { 26, 32, 50, 46, 40, 40, 40, 40, 36, 40, 38, 42, 40 };
	static const char *const head[] = { "Batch", "Load", "Status", "Thr./s", "p99 ms",
		"Avg ms", "Wait ms", "Queue ms", "In ms", "Infer ms", "Out ms", "Mem. MB", "CPU %" };
	const int figs[] = { FIG_THROUGHPUT, FIG_LATENCY_P99, FIG_LATENCY_AVG,
		FIG_CLIENT_RESPONSE_WAIT, FIG_SERVER_QUEUE, FIG_SERVER_COMPUTE_INPUT,
		FIG_SERVER_COMPUTE_INFER, FIG_SERVER_COMPUTE_OUTPUT, report_memory_figure(m),
		FIG_SERVER_CPU_UTILIZATION };
	size_t n = c->n_levels, pages = n ? (n + REPORT_PDF_DETAIL_ROWS - 1) / REPORT_PDF_DETAIL_ROWS : 1;
	char buf[512], desc[256];

	report_config_desc(c, desc, sizeof(desc));
	for (size_t pg = 0; pg < pages; pg++) {
		double x = MARGIN;
		size_t notes = 0;

		new_page(p);
		snprintf(buf, sizeof(buf), "%s%s", c->name, pg ? " (continued)" : "");
		heading(p, buf);
		if (c->rank)
			snprintf(buf, sizeof(buf), "%s; search point %s; status %s, rank %zu.", desc,
				 c->label, c->status, c->rank);
		else
			snprintf(buf, sizeof(buf), "%s; search point %s; status %s, not ranked.", desc,
				 c->label, c->status);
		para(p, buf, 9, false, 0);
		if (c->failure_reason) {
			snprintf(buf, sizeof(buf), "Failed: %s", c->failure_reason);
			para(p, buf, 9, true, 0);
		}
		if (!n) {
			para(p, "No measurement.", 9, false, 0);
			continue;
		}
		p->y += 14;
		font(p, 7, true);
		for (size_t k = 0; k < sizeof(w) / sizeof(w[0]); k++) {
			cell(p, x, p->y, w[k], head[k], k == 2);
			x += w[k];
		}
		rule(p, p->y + 4);
		for (size_t j = pg * REPORT_PDF_DETAIL_ROWS; j < n && j < (pg + 1) * REPORT_PDF_DETAIL_ROWS; j++) {
			const struct report_level *l = &c->levels[j];

			p->y += 12.5;
			font(p, 7, (long)j == c->best);
			x = MARGIN;
			snprintf(buf, sizeof(buf), "%lld", (long long)l->batch_size);
			cell(p, x, p->y, w[0], buf, false);
			x += w[0];
			snprintf(buf, sizeof(buf), "%g", l->load);
			cell(p, x, p->y, w[1], buf, false);
			x += w[1];
			cell(p, x, p->y, w[2], measurement_status_name(l->status), true);
			x += w[2];
			for (size_t k = 0; k < sizeof(figs) / sizeof(figs[0]); k++) {
				report_fmt_figure(l, figs[k], buf, sizeof(buf));
				cell(p, x, p->y, w[3 + k], buf, false);
				x += w[3 + k];
			}
		}
		p->y += 10;
		for (size_t j = pg * REPORT_PDF_DETAIL_ROWS; j < n && j < (pg + 1) * REPORT_PDF_DETAIL_ROWS &&
		     notes < 6; j++) {
			const struct report_level *l = &c->levels[j];

			if (!l->message || !*l->message)
				continue;
			snprintf(buf, sizeof(buf), "%s %g: %s", report_load_name(m), l->load, l->message);
			para(p, buf, 7.5, false, 0);
			notes++;
		}
	}
}

static cairo_status_t write_strbuf(void *closure, const unsigned char *data,
				   unsigned int length)
{
	return strbuf_add(closure, data, length) ? CAIRO_STATUS_WRITE_ERROR :
		CAIRO_STATUS_SUCCESS;
}

int report_pdf(const struct report_data *d, const struct report_model *m,
	       const struct report_charts *cs, struct strbuf *out,
	       struct it_error *err)
{
	cairo_surface_t *surf;
	struct pdf p;
	cairo_status_t st;
	char date[32], title[300];

	surf = cairo_pdf_surface_create_for_stream(write_strbuf, out, PAGE_W, PAGE_H);
	/*
	 * cairo stamps the clock into /CreationDate unless told otherwise; the
	 * report's date keeps the file byte-stable. "YYYY-MM-DDTHH:MM:SS" is
	 * the part of an ISO time cairo takes.
	 */
	if (strlen(d->time_iso) >= 19 && d->time_iso[4] == '-')
		snprintf(date, sizeof(date), "%.19s", d->time_iso);
	else
		snprintf(date, sizeof(date), "1970-01-01T00:00:00");
	cairo_pdf_surface_set_metadata(surf, CAIRO_PDF_METADATA_CREATE_DATE, date);
	cairo_pdf_surface_set_metadata(surf, CAIRO_PDF_METADATA_MOD_DATE, date);
	snprintf(title, sizeof(title), "infertune report: %s", m->name);
	cairo_pdf_surface_set_metadata(surf, CAIRO_PDF_METADATA_TITLE, title);
	cairo_pdf_surface_set_metadata(surf, CAIRO_PDF_METADATA_CREATOR, "infertune");
	memset(&p, 0, sizeof(p));
	p.cr = cairo_create(surf);
	p.model = m->name;
	summary_page(&p, d, m, cs);
	table_pages(&p, m);
	chart_pages(&p, cs);
	for (size_t i = 0; i < m->n_configs; i++)
		detail_pages(&p, m, &m->configs[i]);
	footer(&p);
	cairo_show_page(p.cr);
	st = cairo_status(p.cr);
	cairo_destroy(p.cr);
	cairo_surface_finish(surf);
	if (st == CAIRO_STATUS_SUCCESS)
		st = cairo_surface_status(surf);
	cairo_surface_destroy(surf);
	if (st != CAIRO_STATUS_SUCCESS)
		return it_error_set(err, IT_ERR_IO, "PDF: %s", cairo_status_to_string(st));
	return 0;
}
