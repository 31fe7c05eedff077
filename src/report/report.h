/*
 * The report of an analysis, written from results.db alone: for each model
 * <export>/reports/<model>/report.html (one self-contained file, charts
 * inlined as PNG, no network), report.pdf (cairo's PDF surface: summary,
 * tables, charts, one page per configuration) and charts/<name>.png|svg.
 * The same database gives the same bytes: the report's date comes from the
 * options, INFERTUNE_REPORT_TIME, or else the latest run recorded. Library
 * code: prints nothing. Depends on report/ (model, format, chart, html,
 * pdf), store/ (results.db through store/query.h), analyze/objective,
 * util/, cairo; no SQL.
 */
#ifndef INFERTUNE_REPORT_REPORT_H
#define INFERTUNE_REPORT_REPORT_H

#include <stdbool.h>
#include <stddef.h>

struct it_error;

/** Options of report_write(). Zero it for the defaults. */
struct report_options {
	const char *time_iso;   /* the report's date; NULL: INFERTUNE_REPORT_TIME, else results.db's */
	int png_width_px;       /* width of the PNG charts; 0: 1080 */
	bool skip_pdf;          /* HTML and charts only */
	/* Called after each model's report is written (NULL: not called). */
	void (*on_written)(void *ctx, const char *model, const char *html_path);
	void *ctx;
};

/**
 * Writes the reports of the given models (n_models 0: every model in
 * results.db) of the analysis in export_path, each file atomically.
 * IT_ERR_NOT_FOUND when results.db or a named model is missing, IT_ERR_IO
 * when a file cannot be written. opts may be NULL. Ends with
 * report_global_cleanup(): not to be called while another thread draws
 * with cairo.
 */
int report_write(const char *export_path, const char *const *models,
		 size_t n_models, const struct report_options *opts,
		 struct it_error *err);

/**
 * Frees the process-wide caches cairo and fontconfig keep after drawing
 * (fonts, glyphs), so a leak checker at exit sees nothing. report_write()
 * calls it; call it yourself after drawing charts directly, when no cairo
 * object is alive and no other thread uses cairo.
 */
void report_global_cleanup(void);

/**
 * The path of a model's HTML report: <export>/reports/<model>/report.html.
 * Caller frees.
 */
char *report_html_path(const char *export_path, const char *model);

#endif
