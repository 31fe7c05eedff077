/*
 * What the report's writers share: the charts of one model (drawn, or the
 * note that says why not), the writers themselves and the PDF page sizes.
 * Wording and number formatting are in report/format.h. Private to
 * src/report/.
 */
#ifndef INFERTUNE_REPORT_INTERNAL_H
#define INFERTUNE_REPORT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "report/chart.h"
#include "report/model.h"

struct it_error;
struct strbuf;

/** One chart of a model's report. */
struct report_chart {
	char *id;               /* file stem under charts/ ("throughput") */
	char *caption;          /* a sentence under the chart */
	bool drawn;             /* false: `note` says why it is not drawn */
	char *note;
	struct chart chart;
	struct strbuf *png;     /* the PNG bytes (drawn only) */
};

/** The charts of one model. */
struct report_charts {
	struct report_chart *items;
	size_t n, alloc;
};

/** Builds every chart of m (drawn or with its note). Release with report_charts_release(). */
void report_charts_build(const struct report_model *m, struct report_charts *out);

/** Frees the charts. */
void report_charts_release(struct report_charts *cs);

/** Number of charts drawn. */
size_t report_charts_drawn(const struct report_charts *cs);

/** Detail rows per PDF page and all-configuration rows per PDF page. */
#define REPORT_PDF_DETAIL_ROWS 30
#define REPORT_PDF_TABLE_ROWS 40

/** Writes the self-contained HTML report into out. */
void report_html(const struct report_data *d, const struct report_model *m,
		 const struct report_charts *cs, struct strbuf *out);

/** Writes the PDF report into out. */
int report_pdf(const struct report_data *d, const struct report_model *m,
	       const struct report_charts *cs, struct strbuf *out,
	       struct it_error *err);

#endif
