/*
 * The wording and number formatting the HTML and PDF writers share: figures
 * in tables, a configuration in words, which memory and power figure a
 * model shows, and the summary sentence. A leaf of src/report/: it calls
 * nothing in report.c, html.c or pdf.c.
 */
#include "report/format.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "util/strbuf.h"
#include "util/banned.h"

const char *report_load_name(const struct report_model *m)
{
	return m->load_kind == LOAD_REQUEST_RATE ? "request rate" : "concurrency";
}

static bool model_has(const struct report_model *m, enum figure f)
{
	for (size_t i = 0; i < m->n_configs; i++)
		for (size_t j = 0; j < m->configs[i].n_levels; j++)
			if (report_level_valid(&m->configs[i].levels[j]) &&
			    figures_has(&m->configs[i].levels[j].fig, f))
				return true;
	return false;
}

int report_memory_figure(const struct report_model *m)
{
	if (model_has(m, FIG_GPU_USED_MEMORY))
		return FIG_GPU_USED_MEMORY;
	if (model_has(m, FIG_SERVER_RSS))
		return FIG_SERVER_RSS;
	if (model_has(m, FIG_CPU_USED_RAM))
		return FIG_CPU_USED_RAM;
	return -1;
}

int report_power_figure(const struct report_model *m)
{
	if (model_has(m, FIG_GPU_POWER))
		return FIG_GPU_POWER;
	if (model_has(m, FIG_CPU_POWER))
		return FIG_CPU_POWER;
	return -1;
}

void report_fmt_figure(const struct report_level *l, int fig, char *buf,
		       size_t size)
{
	const char *unit;

	if (fig < 0 || !figures_has(&l->fig, (enum figure)fig)) {
		snprintf(buf, size, "-");
		return;
	}
	unit = figure_table[fig].unit;
	if (!strcmp(unit, "ms"))
		snprintf(buf, size, "%.2f", l->fig.v[fig]);
	else if (!strcmp(unit, "J"))
		snprintf(buf, size, "%.4f", l->fig.v[fig]);
	else
		snprintf(buf, size, "%.1f", l->fig.v[fig]);
}

void report_fmt_interval(const struct report_level *l, int fig, char *buf, size_t size)
{
	int dec = fig == FIG_THROUGHPUT ? 1 : 2;
	char lo_s[32] = "?", hi_s[32] = "?";
	double lo, hi;

	buf[0] = '\0';
	if (fig < 0 || !figures_has(&l->fig, (enum figure)fig))
		return;
	if (figures_interval(&l->fig, (enum figure)fig, &lo, &hi) && fig == FIG_THROUGHPUT) {
		snprintf(buf, size, "\xc2\xb1%.1f", (hi - lo) / 2);
		return;
	}
	if (!isfinite(lo) && !isfinite(hi))
		return;
	if (isfinite(lo))
		snprintf(lo_s, sizeof(lo_s), "%.*f", dec, lo);
	if (isfinite(hi))
		snprintf(hi_s, sizeof(hi_s), "%.*f", dec, hi);
	snprintf(buf, size, "[%s, %s]", lo_s, hi_s);
}

bool report_level_interference(const struct report_data *d, const struct report_level *l)
{
	return d->cpu_pinning && !strncmp(d->cpu_pinning, "none", 4) &&
	       isfinite(l->client_cpu_share) && l->client_cpu_share >= 0.10;
}

void report_config_desc(const struct report_config *c, char *buf, size_t size)
{
	const char *kind = c->instance_kind;

	if (!strncmp(kind, "KIND_", 5))
		kind += 5;
	snprintf(buf, size, "%d x %s instance%s, max batch %d%s", c->instance_count,
		 *kind ? kind : "?", c->instance_count == 1 ? "" : "s", c->max_batch_size,
		 c->dynamic_batching ? ", dynamic batching" : "");
}

void report_summary_sentence(const struct report_model *m, struct strbuf *sb)
{
	const struct report_config *best = report_model_best(m), *def = report_model_default(m);

	/* analyze's tier sentence leads: who ties with the best, and why this one. */
	if (m->recommendation && best) {
		strbuf_addf(sb, "%s In %zu measurements across %zu configurations, %s", m->recommendation,
			    m->n_measurements, m->n_configs, m->objectives_text);
		if (strcmp(m->constraints_text, "none"))
			strbuf_addf(sb, ", under the constraints %s%s", m->constraints_text,
				    best->passes ? "" : " (which no configuration meets)");
		strbuf_adds(sb, ".");
		return;
	}
	strbuf_addf(sb, "In %zu measurements across %zu configurations, ", m->n_measurements,
		    m->n_configs);
	if (!best) {
		strbuf_adds(sb, "no configuration has a valid measurement yet.");
		return;
	}
	if (best->is_default) {
		strbuf_addf(sb, "the default configuration %s is the best at %s", best->name,
			    m->objectives_text);
	} else if (!def || !best->has_gain) {
		strbuf_addf(sb, "%s is the best at %s (the default configuration has no valid "
			    "measurement to compare with)", best->name, m->objectives_text);
	} else {
		strbuf_addf(sb, "%s is %.1f%% %s than the default configuration at %s",
			    best->name, fabs(best->gain_pct),
			    best->gain_pct >= 0 ? "better" : "worse", m->objectives_text);
	}
	if (strcmp(m->constraints_text, "none"))
		strbuf_addf(sb, ", under the constraints %s%s", m->constraints_text,
			    best->passes ? "" : " (which no configuration meets)");
	strbuf_adds(sb, ".");
}
