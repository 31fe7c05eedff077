/*
 * Charts drawn with cairo: line charts (one line per series, a gap where a
 * point was not measured), line charts with dashed reference lines, and
 * stacked bar charts with a line on a second axis. A chart is a plain
 * description filled by the caller; chart_draw() renders it on any cairo
 * context (a PNG or SVG surface, or a page of the PDF report), so every
 * output looks the same. Series styles combine a colour, a dash pattern and
 * a marker, so lines stay distinct in grey. Points of line charts may
 * carry a confidence interval, drawn as an error bar. Text uses cairo's toy API with
 * DejaVu Sans (Debian's fonts-dejavu-core). Depends on util/ and cairo only.
 */
#ifndef INFERTUNE_REPORT_CHART_H
#define INFERTUNE_REPORT_CHART_H

#include <stdbool.h>
#include <stddef.h>

#include <cairo.h>

struct it_error;
struct strbuf;

/** The logical size every chart is laid out in (points); outputs scale it. */
#define CHART_WIDTH 720.0
#define CHART_HEIGHT 420.0

enum chart_kind {
	CHART_LINES = 0,        /* x/y series as lines with markers */
	CHART_STACKED_BARS,     /* categories; bar series stack; line series on the second axis */
};

/** One series: owned points; y NaN = not measured (a gap in the line). */
struct chart_series {
	char *name;
	double *x, *y;
	double *lo, *hi;        /* a point's 95% interval (error bar); NaN: bound unknown */
	size_t n, alloc;
	bool bar;               /* CHART_STACKED_BARS: a stack segment (else a line on y2) */
	int style;              /* index into the style cycle (colour, dash, marker) */
};

/** A dashed reference line (a constraint target). */
struct chart_refline {
	bool vertical;          /* x = value (else y = value) */
	double value;
	char *label;
};

/**
 * A chart. Embedded value struct: chart_init(), add series and points,
 * draw or write, chart_release(). Strings and arrays are owned.
 */
struct chart {
	enum chart_kind kind;
	char *title;
	char *x_label, *y_label, *y2_label;
	struct chart_series *series;
	size_t n_series, alloc_series;
	struct chart_refline *refs;
	size_t n_refs, alloc_refs;
	/* CHART_STACKED_BARS: category labels along x (series x = index). */
	char **categories;
	size_t n_categories;
	/* CHART_LINES: when set, x ticks sit on these values (e.g. concurrency 1,2,4,8). */
	bool x_ticks_at_data;
	bool y_from_zero;       /* include 0 on the y axis (default true) */
};

/** Initialises an empty chart of the given kind and title (copied). */
void chart_init(struct chart *c, enum chart_kind kind, const char *title,
		const char *x_label, const char *y_label);

/** Frees everything the chart owns and zeroes it. */
void chart_release(struct chart *c);

/** Adds a series named `name` (copied) with style index `style`; returns it. */
struct chart_series *chart_add_series(struct chart *c, const char *name,
				      int style);

/** Appends a point to s (y NaN: not measured), without an interval. */
void chart_series_add(struct chart_series *s, double x, double y);

/**
 * Appends a point with its interval [lo, hi], drawn as an error bar on
 * line charts; a NaN bound is unknown: the bar stops at the point on that
 * side and has no cap there.
 */
void chart_series_add_interval(struct chart_series *s, double x, double y,
			       double lo, double hi);

/** Adds a dashed reference line with a label (copied). */
void chart_add_refline(struct chart *c, bool vertical, double value,
		       const char *label);

/** Sets the category labels of a bar chart (copied). */
void chart_set_categories(struct chart *c, const char *const *labels,
			  size_t n);

/** Sets the label of the second y axis (copied). */
void chart_set_y2_label(struct chart *c, const char *label);

/** True when at least one series has at least one measured point. */
bool chart_has_data(const struct chart *c);

/**
 * Draws c into the rectangle (0,0)-(width,height) of cr (in cr's user
 * units); the layout is CHART_WIDTH x CHART_HEIGHT scaled to fit. Leaves
 * cr's state as it found it.
 */
void chart_draw(const struct chart *c, cairo_t *cr, double width,
		double height);

/** Renders c as a PNG of width_px pixels (height in proportion) into out. */
int chart_png(const struct chart *c, int width_px, struct strbuf *out,
	      struct it_error *err);

/**
 * Renders c as SVG into out. The <svg> element carries a <title> (the
 * chart's title) and a <desc> naming every series, since cairo draws text
 * as glyph outlines that neither search nor screen readers can read.
 */
int chart_svg(const struct chart *c, struct strbuf *out, struct it_error *err);

#endif
