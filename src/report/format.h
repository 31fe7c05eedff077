/*
 * The wording and number formatting that report.c, html.c and pdf.c share
 * (report/format.c, a leaf: it calls none of them). Private to src/report/.
 */
#ifndef INFERTUNE_REPORT_FORMAT_H
#define INFERTUNE_REPORT_FORMAT_H

#include <stdbool.h>
#include <stddef.h>

#include "report/model.h"

struct strbuf;

/** A figure of a level formatted for tables ("-" when absent), by figure kind. */
/**
 * The 95% interval of figure fig of l, for beside its value: throughput
 * "±0.6" (half-width) when both bounds are known, otherwise "[540.12, ?]"
 * with "?" for a bound the data could not give; "" when none is known.
 */
void report_fmt_interval(const struct report_level *l, int fig, char *buf, size_t size);

/**
 * Whether the load generator competed with the model at level l: the
 * machine was shared (meta cpu_pinning starts with "none") and the client
 * took >= 10% of the online CPUs.
 */
bool report_level_interference(const struct report_data *d, const struct report_level *l);

void report_fmt_figure(const struct report_level *l, int fig, char *buf,
		       size_t size);

/** The memory figure the report uses for m (GPU memory, server RSS, RAM); -1 none. */
int report_memory_figure(const struct report_model *m);

/** The power figure (GPU power, CPU package power); -1 none. */
int report_power_figure(const struct report_model *m);

/** "2 x KIND_CPU, max batch 8, dynamic batching" for a configuration. */
void report_config_desc(const struct report_config *c, char *buf, size_t size);

/** "concurrency" or "request rate". */
const char *report_load_name(const struct report_model *m);

/** The summary sentence ("In N measurements across M configurations, ..."). */
void report_summary_sentence(const struct report_model *m, struct strbuf *sb);

#endif
