/*
 * Chart layout and drawing. Everything is laid out in a fixed logical box
 * (CHART_WIDTH x CHART_HEIGHT points) and scaled to the output, so a PNG, an
 * SVG and a PDF page show the same picture. Ticks are "nice" numbers (1, 2,
 * 2.5, 5 x 10^k); a concurrency axis can tick at the measured levels. No
 * randomness, no clock: the same chart always gives the same bytes.
 */
#include "report/chart.h"

#include <cairo-svg.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"
#include "util/strbuf.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define FONT "DejaVu Sans"

/* Okabe-Ito's colour-blind-safe palette, plus black and olive. */
static const double palette[8][3] = {
	{ 0.000, 0.447, 0.698 },        /* blue */
	{ 0.835, 0.369, 0.000 },        /* vermillion */
	{ 0.000, 0.620, 0.451 },        /* bluish green */
	{ 0.800, 0.475, 0.655 },        /* reddish purple */
	{ 0.902, 0.624, 0.000 },        /* orange */
	{ 0.337, 0.706, 0.914 },        /* sky blue */
	{ 0.000, 0.000, 0.000 },        /* black */
	{ 0.600, 0.600, 0.200 },        /* olive */
};

/* Stack segments: four clearly different greys when printed without colour. */
static const double bar_palette[4][3] = {
	{ 0.106, 0.231, 0.451 },        /* dark navy */
	{ 0.902, 0.624, 0.000 },        /* orange (hatched) */
	{ 0.337, 0.706, 0.914 },        /* sky blue */
	{ 0.835, 0.369, 0.000 },        /* vermillion (hatched) */
};

#define N_DASHES 5
#define N_MARKERS 8

/* Layout box of one chart. */
struct frame {
	double x0, y0, x1, y1;          /* plot area */
	double xmin, xmax, ymin, ymax;  /* data range */
	double y2min, y2max;
	double xstep, ystep, y2step;
};

void chart_init(struct chart *c, enum chart_kind kind, const char *title,
		const char *x_label, const char *y_label)
{
	memset(c, 0, sizeof(*c));
	c->kind = kind;
	c->title = xstrdup(title ? title : "");
	c->x_label = xstrdup(x_label ? x_label : "");
	c->y_label = xstrdup(y_label ? y_label : "");
	c->y_from_zero = true;
}

void chart_release(struct chart *c)
{
	for (size_t i = 0; i < c->n_series; i++) {
		free(c->series[i].name);
		free(c->series[i].x);
		free(c->series[i].y);
		free(c->series[i].lo);
		free(c->series[i].hi);
	}
	free(c->series);
	for (size_t i = 0; i < c->n_refs; i++)
		free(c->refs[i].label);
	free(c->refs);
	for (size_t i = 0; i < c->n_categories; i++)
		free(c->categories[i]);
	free(c->categories);
	free(c->title);
	free(c->x_label);
	free(c->y_label);
	free(c->y2_label);
	memset(c, 0, sizeof(*c));
}

struct chart_series *chart_add_series(struct chart *c, const char *name,
				      int style)
{
	struct chart_series *s;

	XGROW(c->series, c->alloc_series, c->n_series + 1);
	s = &c->series[c->n_series++];
	memset(s, 0, sizeof(*s));
	s->name = xstrdup(name ? name : "");
	s->style = style < 0 ? 0 : style;
	return s;
}

void chart_series_add_interval(struct chart_series *s, double x, double y,
			       double lo, double hi)
{
	if (s->n == s->alloc) {
		s->alloc = s->alloc ? s->alloc * 2 : 8;
		s->x = xreallocarray(s->x, s->alloc, sizeof(double));
		s->y = xreallocarray(s->y, s->alloc, sizeof(double));
		s->lo = xreallocarray(s->lo, s->alloc, sizeof(double));
		s->hi = xreallocarray(s->hi, s->alloc, sizeof(double));
	}
	s->x[s->n] = x;
	s->y[s->n] = y;
	s->lo[s->n] = lo;
	s->hi[s->n] = hi;
	s->n++;
}

void chart_series_add(struct chart_series *s, double x, double y)
{
	chart_series_add_interval(s, x, y, NAN, NAN);
}

void chart_add_refline(struct chart *c, bool vertical, double value,
		       const char *label)
{
	struct chart_refline *r;

	XGROW(c->refs, c->alloc_refs, c->n_refs + 1);
	r = &c->refs[c->n_refs++];
	r->vertical = vertical;
	r->value = value;
	r->label = xstrdup(label ? label : "");
}

void chart_set_categories(struct chart *c, const char *const *labels,
			  size_t n)
{
	for (size_t i = 0; i < c->n_categories; i++)
		free(c->categories[i]);
	free(c->categories);
	c->categories = n ? xcalloc(n, sizeof(char *)) : NULL;
	for (size_t i = 0; i < n; i++)
		c->categories[i] = xstrdup(labels[i]);
	c->n_categories = n;
}

void chart_set_y2_label(struct chart *c, const char *label)
{
	free(c->y2_label);
	c->y2_label = label ? xstrdup(label) : NULL;
}

bool chart_has_data(const struct chart *c)
{
	for (size_t i = 0; i < c->n_series; i++)
		for (size_t j = 0; j < c->series[i].n; j++)
			if (isfinite(c->series[i].y[j]) && isfinite(c->series[i].x[j]))
				return true;
	return false;
}

/* ---- scales ---- */

/* A step of 1, 2, 2.5 or 5 x 10^k that cuts `range` into about `target` parts. */
static double nice_step(double range, int target)
{
	double raw, mag, f;

	if (!(range > 0))
		return 1;
	raw = range / target;
	mag = pow(10, floor(log10(raw)));
	f = raw / mag;
	if (f <= 1)
		f = 1;
	else if (f <= 2)
		f = 2;
	else if (f <= 2.5)
		f = 2.5;
	else if (f <= 5)
		f = 5;
	else
		f = 10;
	return f * mag;
}

/* Widens [*lo, *hi] to whole steps; returns the step. */
static double nice_range(double *lo, double *hi, int target)
{
	double step;

	if (!(*hi > *lo)) {
		double pad = fabs(*hi) > 0 ? fabs(*hi) * 0.1 : 1;

		*lo -= *lo == 0 ? 0 : pad;
		*hi += pad;
	}
	step = nice_step(*hi - *lo, target);
	*lo = floor(*lo / step + 1e-9) * step;
	*hi = ceil(*hi / step - 1e-9) * step;
	if (*hi <= *lo)
		*hi = *lo + step;
	return step;
}

/* Prints a tick value with as many decimals as the step needs; "-0" never. */
static void fmt_tick(char *buf, size_t size, double v, double step)
{
	int dec = 0;
	double s = step;

	while (dec < 6 && fabs(s - round(s)) > 1e-9 * fabs(step) + 1e-12) {
		s *= 10;
		dec++;
	}
	if (fabs(v) < step * 1e-6)
		v = 0;
	snprintf(buf, size, "%.*f", dec, v);
}

/* ---- primitives ---- */

static void set_font(cairo_t *cr, double size, bool bold)
{
	cairo_select_font_face(cr, FONT, CAIRO_FONT_SLANT_NORMAL,
			       bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
	cairo_set_font_size(cr, size);
}

static double text_width(cairo_t *cr, const char *s)
{
	cairo_text_extents_t te;

	cairo_text_extents(cr, s, &te);
	return te.x_advance;
}

/* Draws s with its anchor at (x, y): ax 0 left, 0.5 centre, 1 right; y is the baseline. */
static void text_at(cairo_t *cr, double x, double y, double ax, const char *s)
{
	cairo_move_to(cr, x - ax * text_width(cr, s), y);
	cairo_show_text(cr, s);
}

/* Copies s into buf, shortened with "..." to fit max_w. */
static void fit_text(cairo_t *cr, const char *s, double max_w, char *buf,
		     size_t size)
{
	size_t n;

	snprintf(buf, size, "%s", s);
	if (text_width(cr, buf) <= max_w)
		return;
	n = strlen(buf);
	while (n > 1) {
		n--;
		snprintf(buf, size, "%.*s...", (int)n, s);
		if (text_width(cr, buf) <= max_w)
			return;
	}
}

static void set_rgb(cairo_t *cr, const double rgb[3])
{
	cairo_set_source_rgb(cr, rgb[0], rgb[1], rgb[2]);
}

static void set_dash(cairo_t *cr, int style)
{
	static const double dashed[] = { 6, 3 };
	static const double dotted[] = { 1.5, 2.5 };
	static const double dashdot[] = { 8, 3, 1.5, 3 };
	static const double longdash[] = { 13, 4 };

	switch (style % N_DASHES) {
	case 1: cairo_set_dash(cr, dashed, 2, 0); break;
	case 2: cairo_set_dash(cr, dotted, 2, 0); break;
	case 3: cairo_set_dash(cr, dashdot, 4, 0); break;
	case 4: cairo_set_dash(cr, longdash, 2, 0); break;
	default: cairo_set_dash(cr, NULL, 0, 0); break;
	}
}

/* Marker `style` at (x, y): shapes 0-7; the last four are hollow. */
static void draw_marker(cairo_t *cr, int style, double x, double y,
			const double rgb[3])
{
	const double r = 3.6;
	int m = style % N_MARKERS;
	bool hollow = m >= 4;

	cairo_save(cr);
	cairo_set_dash(cr, NULL, 0, 0);
	cairo_new_path(cr);
	switch (m % 4) {
	case 0:
		cairo_arc(cr, x, y, r, 0, 2 * M_PI);
		break;
	case 1:
		cairo_rectangle(cr, x - r * 0.9, y - r * 0.9, r * 1.8, r * 1.8);
		break;
	case 2:
		if (hollow) {   /* triangle pointing down */
			cairo_move_to(cr, x, y + r * 1.1);
			cairo_line_to(cr, x - r * 1.1, y - r * 0.8);
			cairo_line_to(cr, x + r * 1.1, y - r * 0.8);
		} else {
			cairo_move_to(cr, x, y - r * 1.1);
			cairo_line_to(cr, x - r * 1.1, y + r * 0.8);
			cairo_line_to(cr, x + r * 1.1, y + r * 0.8);
		}
		cairo_close_path(cr);
		break;
	default:
		cairo_move_to(cr, x, y - r * 1.25);
		cairo_line_to(cr, x + r * 1.1, y);
		cairo_line_to(cr, x, y + r * 1.25);
		cairo_line_to(cr, x - r * 1.1, y);
		cairo_close_path(cr);
		break;
	}
	if (hollow)
		cairo_set_source_rgb(cr, 1, 1, 1);
	else
		set_rgb(cr, rgb);
	cairo_fill_preserve(cr);
	set_rgb(cr, rgb);
	cairo_set_line_width(cr, 1.3);
	cairo_stroke(cr);
	cairo_restore(cr);
}

/* Diagonal white hatching over the rectangle, for the odd stack segments. */
static void hatch(cairo_t *cr, double x, double y, double w, double h)
{
	cairo_save(cr);
	cairo_rectangle(cr, x, y, w, h);
	cairo_clip(cr);
	cairo_set_source_rgba(cr, 1, 1, 1, 0.75);
	cairo_set_line_width(cr, 1.2);
	for (double d = -h; d < w; d += 5) {
		cairo_move_to(cr, x + d, y + h);
		cairo_line_to(cr, x + d + h, y);
	}
	cairo_stroke(cr);
	cairo_restore(cr);
}

/* ---- layout ---- */

static double px(const struct frame *f, double x)
{
	return f->x0 + (x - f->xmin) / (f->xmax - f->xmin) * (f->x1 - f->x0);
}

static double py(const struct frame *f, double y)
{
	return f->y1 - (y - f->ymin) / (f->ymax - f->ymin) * (f->y1 - f->y0);
}

static double py2(const struct frame *f, double y)
{
	return f->y1 - (y - f->y2min) / (f->y2max - f->y2min) * (f->y1 - f->y0);
}

/* Data ranges: x and y of line series (or stack sums), y2 of bar charts' lines. */
static void data_ranges(const struct chart *c, struct frame *f)
{
	double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
	double y2max = -INFINITY;

	if (c->kind == CHART_STACKED_BARS) {
		for (size_t k = 0; k < c->n_categories; k++) {
			double sum = 0;

			for (size_t i = 0; i < c->n_series; i++) {
				const struct chart_series *s = &c->series[i];

				for (size_t j = 0; j < s->n; j++) {
					if ((size_t)s->x[j] != k || !isfinite(s->y[j]))
						continue;
					if (s->bar)
						sum += s->y[j];
					else if (s->y[j] > y2max)
						y2max = s->y[j];
				}
			}
			if (sum > ymax)
				ymax = sum;
		}
		f->xmin = -0.5;
		f->xmax = c->n_categories ? (double)c->n_categories - 0.5 : 0.5;
		f->ymin = 0;
		f->ymax = isfinite(ymax) && ymax > 0 ? ymax : 1;
		f->y2min = 0;
		f->y2max = isfinite(y2max) && y2max > 0 ? y2max : 1;
		return;
	}
	for (size_t i = 0; i < c->n_series; i++) {
		const struct chart_series *s = &c->series[i];

		for (size_t j = 0; j < s->n; j++) {
			if (!isfinite(s->x[j]) || !isfinite(s->y[j]))
				continue;
			xmin = fmin(xmin, s->x[j]);
			xmax = fmax(xmax, s->x[j]);
			ymin = fmin(ymin, s->y[j]);
			ymax = fmax(ymax, s->y[j]);
			/* The error bars fit too (fmin/fmax ignore a NaN bound). */
			ymin = fmin(ymin, s->lo[j]);
			ymax = fmax(ymax, s->hi[j]);
		}
	}
	for (size_t i = 0; i < c->n_refs; i++) {
		if (c->refs[i].vertical) {
			xmin = fmin(xmin, c->refs[i].value);
			xmax = fmax(xmax, c->refs[i].value);
		} else {
			ymin = fmin(ymin, c->refs[i].value);
			ymax = fmax(ymax, c->refs[i].value);
		}
	}
	if (!isfinite(xmin)) {
		xmin = 0;
		xmax = 1;
	}
	if (!isfinite(ymin)) {
		ymin = 0;
		ymax = 1;
	}
	if (c->y_from_zero && ymin > 0)
		ymin = 0;
	if (!c->x_ticks_at_data && xmin > 0)
		xmin = 0;
	f->xmin = xmin;
	f->xmax = xmax;
	f->ymin = ymin;
	f->ymax = ymax;
}

/* Distinct x values of the line series, sorted; returns how many (at most max). */
static size_t data_xs(const struct chart *c, double *xs, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < c->n_series; i++) {
		const struct chart_series *s = &c->series[i];

		for (size_t j = 0; j < s->n; j++) {
			size_t k = 0;

			if (!isfinite(s->x[j]))
				continue;
			while (k < n && xs[k] < s->x[j])
				k++;
			if (k < n && xs[k] == s->x[j])
				continue;
			if (n == max)
				return max + 1;
			memmove(xs + k + 1, xs + k, (n - k) * sizeof(double));
			xs[k] = s->x[j];
			n++;
		}
	}
	return n;
}

/* ---- drawing ---- */

static void draw_legend(const struct chart *c, cairo_t *cr, double x,
			double y, double w)
{
	char buf[256];

	set_font(cr, 10, false);
	for (size_t i = 0; i < c->n_series; i++) {
		const struct chart_series *s = &c->series[i];
		double ly = y + (double)i * 16;

		if (c->kind == CHART_STACKED_BARS && s->bar) {
			const double *rgb = bar_palette[s->style % 4];

			set_rgb(cr, rgb);
			cairo_rectangle(cr, x + 4, ly - 9, 20, 10);
			cairo_fill(cr);
			if (s->style % 2)
				hatch(cr, x + 4, ly - 9, 20, 10);
		} else {
			const double *rgb = c->kind == CHART_STACKED_BARS ?
				palette[6] : palette[s->style % 8];

			cairo_save(cr);
			set_rgb(cr, rgb);
			set_dash(cr, c->kind == CHART_STACKED_BARS ? 0 : s->style);
			cairo_set_line_width(cr, 1.8);
			cairo_move_to(cr, x, ly - 4);
			cairo_line_to(cr, x + 28, ly - 4);
			cairo_stroke(cr);
			cairo_restore(cr);
			draw_marker(cr, c->kind == CHART_STACKED_BARS ? 0 : s->style,
				    x + 14, ly - 4, rgb);
		}
		cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
		fit_text(cr, s->name, w - 36, buf, sizeof(buf));
		text_at(cr, x + 34, ly, 0, buf);
	}
}

static void draw_axes(const struct chart *c, cairo_t *cr, const struct frame *f,
		      const double *xs, size_t nxs)
{
	char buf[64];

	/* Grid and y ticks. */
	set_font(cr, 10, false);
	cairo_set_line_width(cr, 0.6);
	for (double v = f->ymin; v <= f->ymax + f->ystep * 1e-6; v += f->ystep) {
		double y = py(f, v);

		cairo_set_source_rgb(cr, 0.88, 0.88, 0.88);
		cairo_move_to(cr, f->x0, y);
		cairo_line_to(cr, f->x1, y);
		cairo_stroke(cr);
		cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
		fmt_tick(buf, sizeof(buf), v, f->ystep);
		text_at(cr, f->x0 - 5, y + 3.5, 1, buf);
	}
	if (c->kind == CHART_STACKED_BARS && c->y2_label) {
		for (double v = f->y2min; v <= f->y2max + f->y2step * 1e-6; v += f->y2step) {
			fmt_tick(buf, sizeof(buf), v, f->y2step);
			text_at(cr, f->x1 + 5, py2(f, v) + 3.5, 0, buf);
		}
	}
	/* x ticks */
	if (c->kind == CHART_STACKED_BARS) {
		for (size_t k = 0; k < c->n_categories; k++)
			text_at(cr, px(f, (double)k), f->y1 + 15, 0.5, c->categories[k]);
	} else if (xs) {
		for (size_t k = 0; k < nxs; k++) {
			fmt_tick(buf, sizeof(buf), xs[k], 1);
			if (xs[k] != round(xs[k]))
				snprintf(buf, sizeof(buf), "%g", xs[k]);
			text_at(cr, px(f, xs[k]), f->y1 + 15, 0.5, buf);
			cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
			cairo_move_to(cr, px(f, xs[k]), f->y1);
			cairo_line_to(cr, px(f, xs[k]), f->y1 + 4);
			cairo_stroke(cr);
		}
	} else {
		for (double v = f->xmin; v <= f->xmax + f->xstep * 1e-6; v += f->xstep) {
			double x = px(f, v);

			cairo_set_source_rgb(cr, 0.88, 0.88, 0.88);
			cairo_move_to(cr, x, f->y0);
			cairo_line_to(cr, x, f->y1);
			cairo_stroke(cr);
			cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
			fmt_tick(buf, sizeof(buf), v, f->xstep);
			text_at(cr, x, f->y1 + 15, 0.5, buf);
		}
	}
	/* Frame. */
	cairo_set_source_rgb(cr, 0.25, 0.25, 0.25);
	cairo_set_line_width(cr, 1);
	cairo_rectangle(cr, f->x0, f->y0, f->x1 - f->x0, f->y1 - f->y0);
	cairo_stroke(cr);
	/* Axis labels. */
	set_font(cr, 11.5, false);
	cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
	text_at(cr, (f->x0 + f->x1) / 2, f->y1 + 34, 0.5, c->x_label);
	cairo_save(cr);
	cairo_translate(cr, 16, (f->y0 + f->y1) / 2);
	cairo_rotate(cr, -M_PI / 2);
	text_at(cr, 0, 0, 0.5, c->y_label);
	cairo_restore(cr);
	if (c->kind == CHART_STACKED_BARS && c->y2_label) {
		cairo_save(cr);
		cairo_translate(cr, f->x1 + 52, (f->y0 + f->y1) / 2);
		cairo_rotate(cr, M_PI / 2);
		text_at(cr, 0, 0, 0.5, c->y2_label);
		cairo_restore(cr);
	}
}

/*
 * The error bar of point j of s: a vertical line from its lower to its
 * upper bound with a cap at each known bound; an unknown bound ends the
 * bar at the point, without a cap, so a missing bound is never drawn.
 */
static void draw_error_bar(cairo_t *cr, const struct frame *f, const struct chart_series *s,
			   size_t j)
{
	double x = px(f, s->x[j]), y = py(f, s->y[j]);
	double ylo = isfinite(s->lo[j]) ? py(f, s->lo[j]) : y;
	double yhi = isfinite(s->hi[j]) ? py(f, s->hi[j]) : y;

	if (ylo == y && yhi == y)
		return;
	cairo_move_to(cr, x, ylo);
	cairo_line_to(cr, x, yhi);
	if (isfinite(s->lo[j])) {
		cairo_move_to(cr, x - 4, ylo);
		cairo_line_to(cr, x + 4, ylo);
	}
	if (isfinite(s->hi[j])) {
		cairo_move_to(cr, x - 4, yhi);
		cairo_line_to(cr, x + 4, yhi);
	}
}

/* The error bars of s, solid and thinner than its line. */
static void draw_error_bars(cairo_t *cr, const struct frame *f, const struct chart_series *s,
			    const double *rgb)
{
	cairo_save(cr);
	set_rgb(cr, rgb);
	cairo_set_line_width(cr, 1.1);
	for (size_t j = 0; j < s->n; j++)
		if (isfinite(s->y[j]) && isfinite(s->x[j]))
			draw_error_bar(cr, f, s, j);
	cairo_stroke(cr);
	cairo_restore(cr);
}

static void draw_lines(const struct chart *c, cairo_t *cr, const struct frame *f)
{
	cairo_save(cr);
	cairo_rectangle(cr, f->x0 - 5, f->y0 - 5, f->x1 - f->x0 + 10, f->y1 - f->y0 + 10);
	cairo_clip(cr);
	for (size_t i = 0; i < c->n_series; i++) {
		const struct chart_series *s = &c->series[i];
		const double *rgb = palette[s->style % 8];
		bool pen = false;

		cairo_save(cr);
		set_rgb(cr, rgb);
		set_dash(cr, s->style);
		cairo_set_line_width(cr, 1.8);
		cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
		for (size_t j = 0; j < s->n; j++) {
			if (!isfinite(s->y[j]) || !isfinite(s->x[j])) {
				pen = false;
				continue;
			}
			if (pen)
				cairo_line_to(cr, px(f, s->x[j]), py(f, s->y[j]));
			else
				cairo_move_to(cr, px(f, s->x[j]), py(f, s->y[j]));
			pen = true;
		}
		cairo_stroke(cr);
		cairo_restore(cr);
		draw_error_bars(cr, f, s, rgb);
		for (size_t j = 0; j < s->n; j++)
			if (isfinite(s->y[j]) && isfinite(s->x[j]))
				draw_marker(cr, s->style, px(f, s->x[j]), py(f, s->y[j]), rgb);
	}
	cairo_restore(cr);
}

static void draw_refs(const struct chart *c, cairo_t *cr, const struct frame *f)
{
	static const double dash[] = { 5, 4 };

	set_font(cr, 9.5, false);
	for (size_t i = 0; i < c->n_refs; i++) {
		const struct chart_refline *r = &c->refs[i];

		cairo_save(cr);
		cairo_set_source_rgb(cr, 0.35, 0.35, 0.35);
		cairo_set_dash(cr, dash, 2, 0);
		cairo_set_line_width(cr, 1.2);
		if (r->vertical) {
			double x = px(f, r->value);

			cairo_move_to(cr, x, f->y0);
			cairo_line_to(cr, x, f->y1);
			cairo_stroke(cr);
			cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
			if (x + 4 + text_width(cr, r->label) < f->x1)
				text_at(cr, x + 4, f->y0 + 12, 0, r->label);
			else
				text_at(cr, x - 4, f->y0 + 12, 1, r->label);
		} else {
			double y = py(f, r->value);

			cairo_move_to(cr, f->x0, y);
			cairo_line_to(cr, f->x1, y);
			cairo_stroke(cr);
			cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
			text_at(cr, f->x1 - 4, y - 4, 1, r->label);
		}
		cairo_restore(cr);
	}
}

static void draw_bars(const struct chart *c, cairo_t *cr, const struct frame *f)
{
	double slot = (f->x1 - f->x0) / (c->n_categories ? (double)c->n_categories : 1);
	double bw = fmin(slot * 0.6, 60);

	for (size_t k = 0; k < c->n_categories; k++) {
		double base = 0;

		for (size_t i = 0; i < c->n_series; i++) {
			const struct chart_series *s = &c->series[i];

			if (!s->bar)
				continue;
			for (size_t j = 0; j < s->n; j++) {
				double x, ytop, ybot;

				if ((size_t)s->x[j] != k || !isfinite(s->y[j]) || s->y[j] <= 0)
					continue;
				x = px(f, (double)k) - bw / 2;
				ybot = py(f, base);
				ytop = py(f, base + s->y[j]);
				set_rgb(cr, bar_palette[s->style % 4]);
				cairo_rectangle(cr, x, ytop, bw, ybot - ytop);
				cairo_fill(cr);
				if (s->style % 2)
					hatch(cr, x, ytop, bw, ybot - ytop);
				base += s->y[j];
			}
		}
	}
	/* Lines on the second axis. */
	for (size_t i = 0; i < c->n_series; i++) {
		const struct chart_series *s = &c->series[i];
		bool pen = false;

		if (s->bar)
			continue;
		cairo_save(cr);
		set_rgb(cr, palette[6]);
		cairo_set_line_width(cr, 1.8);
		for (size_t j = 0; j < s->n; j++) {
			if (!isfinite(s->y[j])) {
				pen = false;
				continue;
			}
			if (pen)
				cairo_line_to(cr, px(f, s->x[j]), py2(f, s->y[j]));
			else
				cairo_move_to(cr, px(f, s->x[j]), py2(f, s->y[j]));
			pen = true;
		}
		cairo_stroke(cr);
		cairo_restore(cr);
		for (size_t j = 0; j < s->n; j++)
			if (isfinite(s->y[j]))
				draw_marker(cr, 0, px(f, s->x[j]), py2(f, s->y[j]), palette[6]);
	}
}

void chart_draw(const struct chart *c, cairo_t *cr, double width, double height)
{
	struct frame f;
	double legend_w = 0, xs[16];
	size_t nxs = 0;
	bool use_xs = false;

	cairo_save(cr);
	cairo_scale(cr, width / CHART_WIDTH, height / CHART_HEIGHT);
	cairo_set_source_rgb(cr, 1, 1, 1);
	cairo_rectangle(cr, 0, 0, CHART_WIDTH, CHART_HEIGHT);
	cairo_fill(cr);

	/* Legend width: the longest name, within 40% of the chart. */
	set_font(cr, 10, false);
	for (size_t i = 0; i < c->n_series; i++)
		legend_w = fmax(legend_w, text_width(cr, c->series[i].name) + 44);
	legend_w = fmin(legend_w, CHART_WIDTH * 0.4);

	memset(&f, 0, sizeof(f));
	data_ranges(c, &f);
	f.x0 = 66;
	f.y0 = 38;
	f.x1 = CHART_WIDTH - 14 - legend_w;
	if (c->kind == CHART_STACKED_BARS && c->y2_label)
		f.x1 -= 56;
	f.y1 = CHART_HEIGHT - 50;
	f.ystep = nice_range(&f.ymin, &f.ymax, 6);
	if (c->kind == CHART_STACKED_BARS) {
		/* The second axis shares the grid: as many (nice) steps as the first. */
		double n = round((f.ymax - f.ymin) / f.ystep);

		if (n < 1)
			n = 1;
		f.y2step = nice_step(f.y2max, (int)n);
		f.y2max = f.y2step * n;
	} else {
		if (c->x_ticks_at_data) {
			nxs = data_xs(c, xs, sizeof(xs) / sizeof(xs[0]));
			use_xs = nxs >= 1 && nxs <= sizeof(xs) / sizeof(xs[0]);
		}
		if (use_xs) {
			double pad = (f.xmax - f.xmin) * 0.04;

			if (!(pad > 0))
				pad = 0.5;
			f.xmin -= pad;
			f.xmax += pad;
			f.xstep = 1;
		} else {
			f.xstep = nice_range(&f.xmin, &f.xmax, 7);
		}
	}
	/* Title. */
	cairo_set_source_rgb(cr, 0.05, 0.05, 0.05);
	set_font(cr, 14.5, true);
	text_at(cr, (f.x0 + f.x1) / 2, 24, 0.5, c->title);

	draw_axes(c, cr, &f, use_xs ? xs : NULL, nxs);
	if (c->kind == CHART_STACKED_BARS)
		draw_bars(c, cr, &f);
	else
		draw_lines(c, cr, &f);
	draw_refs(c, cr, &f);
	draw_legend(c, cr, CHART_WIDTH - legend_w - 4 + 8, f.y0 + 10, legend_w - 8);
	cairo_restore(cr);
}

/* ---- outputs ---- */

static cairo_status_t write_strbuf(void *closure, const unsigned char *data,
				   unsigned int length)
{
	struct strbuf *sb = closure;

	return strbuf_add(sb, data, length) ? CAIRO_STATUS_WRITE_ERROR :
		CAIRO_STATUS_SUCCESS;
}

int chart_png(const struct chart *c, int width_px, struct strbuf *out,
	      struct it_error *err)
{
	int h = (int)lround(width_px * CHART_HEIGHT / CHART_WIDTH);
	cairo_surface_t *surf;
	cairo_t *cr;
	cairo_status_t st;

	surf = cairo_image_surface_create(CAIRO_FORMAT_RGB24, width_px, h);
	cr = cairo_create(surf);
	chart_draw(c, cr, width_px, h);
	st = cairo_status(cr);
	cairo_destroy(cr);
	cairo_surface_flush(surf);
	if (st == CAIRO_STATUS_SUCCESS)
		st = cairo_surface_write_to_png_stream(surf, write_strbuf, out);
	cairo_surface_destroy(surf);
	if (st != CAIRO_STATUS_SUCCESS)
		return it_error_set(err, IT_ERR_IO, "chart '%s': PNG: %s", c->title,
				    cairo_status_to_string(st));
	return 0;
}

/*
 * Copies SVG text, renumbering cairo's "surfaceN" ids by first appearance:
 * N comes from a counter global to the process, so without this the same
 * chart would get other ids depending on what was drawn before it.
 */
static void copy_renumbered(struct strbuf *out, const char *s, size_t n)
{
	static const char key[] = "surface";
	unsigned long seen[64];
	size_t n_seen = 0, i = 0;

	while (i < n) {
		/* s is NUL-terminated at or after n (it points into a strbuf). */
		const char *p = strstr(s + i, key);
		size_t at, j, k;
		unsigned long v = 0;

		if (!p || (size_t)(p - s) + sizeof(key) - 1 > n) {
			strbuf_add(out, s + i, n - i);
			break;
		}
		at = (size_t)(p - s) + sizeof(key) - 1;
		strbuf_add(out, s + i, at - i);
		for (j = at; j < n && s[j] >= '0' && s[j] <= '9'; j++)
			v = v * 10 + (unsigned long)(s[j] - '0');
		i = j;
		if (j == at)
			continue;
		for (k = 0; k < n_seen && seen[k] != v; k++)
			;
		if (k == n_seen && n_seen < sizeof(seen) / sizeof(seen[0]))
			seen[n_seen++] = v;
		strbuf_addf(out, "%zu", k + 1);
	}
}

int chart_svg(const struct chart *c, struct strbuf *out, struct it_error *err)
{
	struct strbuf raw, meta;
	cairo_surface_t *surf;
	cairo_t *cr;
	cairo_status_t st;
	const char *svg, *gt;
	int rc = 0;

	strbuf_init(&raw, 0);
	strbuf_init(&meta, 0);
	surf = cairo_svg_surface_create_for_stream(write_strbuf, &raw, CHART_WIDTH,
						   CHART_HEIGHT);
	cairo_svg_surface_restrict_to_version(surf, CAIRO_SVG_VERSION_1_1);
	cr = cairo_create(surf);
	chart_draw(c, cr, CHART_WIDTH, CHART_HEIGHT);
	st = cairo_status(cr);
	cairo_destroy(cr);
	cairo_surface_finish(surf);
	if (st == CAIRO_STATUS_SUCCESS)
		st = cairo_surface_status(surf);
	cairo_surface_destroy(surf);
	if (st != CAIRO_STATUS_SUCCESS) {
		rc = it_error_set(err, IT_ERR_IO, "chart '%s': SVG: %s", c->title,
				  cairo_status_to_string(st));
		goto out;
	}
	/* Insert <title> and <desc> right after the <svg ...> start tag. */
	svg = strstr(raw.buf, "<svg");
	gt = svg ? strchr(svg, '>') : NULL;
	if (!gt) {
		rc = it_error_set(err, IT_ERR_INTERNAL, "chart '%s': cairo wrote no <svg> element",
				  c->title);
		goto out;
	}
	strbuf_adds(&meta, "\n<title>");
	strbuf_add_xml_escaped(&meta, c->title);
	strbuf_adds(&meta, "</title>\n<desc>");
	for (size_t i = 0; i < c->n_series; i++) {
		if (i)
			strbuf_adds(&meta, "; ");
		strbuf_add_xml_escaped(&meta, c->series[i].name);
	}
	strbuf_adds(&meta, "</desc>");
	copy_renumbered(out, raw.buf, (size_t)(gt + 1 - raw.buf));
	strbuf_add(out, meta.buf, meta.len);
	copy_renumbered(out, gt + 1, strlen(gt + 1));
out:
	strbuf_release(&raw);
	strbuf_release(&meta);
	return rc;
}
