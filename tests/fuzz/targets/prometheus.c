/*
 * Fuzz target: the Prometheus text parser (metrics/prometheus), fed any
 * page a scraped server might publish. A refused page names the line and
 * column of its first fault; an accepted one holds only well-formed names,
 * no repeated label, lines inside the page, and printed back in the
 * exposition format it parses to the same families and samples.
 */
#include "fuzz.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "metrics/prometheus.h"
#include "util/error.h"
#include "util/strbuf.h"

static bool is_name(const char *s, bool colon)
{
	const char *first = colon ? "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_:" :
				    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_";

	if (!*s || !strchr(first, *s))
		return false;
	for (s++; *s; s++)
		if (!strchr(first, *s) && !(*s >= '0' && *s <= '9'))
			return false;
	return true;
}

/* Appends s with the escapes of a label value (quote) or a HELP text. */
static void add_escaped(struct strbuf *sb, const char *s, bool quote)
{
	for (; *s; s++) {
		if (*s == '\\')
			strbuf_adds(sb, "\\\\");
		else if (*s == '\n')
			strbuf_adds(sb, "\\n");
		else if (*s == '"' && quote)
			strbuf_adds(sb, "\\\"");
		else
			strbuf_addch(sb, *s);
	}
}

/* The page in the exposition format: every family's HELP and TYPE, then the samples. */
static void print_page(const struct prom_page *p, struct strbuf *sb)
{
	for (size_t i = 0; i < p->n_families; i++) {
		const struct prom_family *f = &p->families[i];

		size_t n = strlen(f->help);

		strbuf_addf(sb, "# HELP %s ", f->name);
		add_escaped(sb, f->help, false);
		/*
		 * The format has no escape for CR, and the parser takes CRLF
		 * as a line end: a help text ending in CR needs one more.
		 */
		strbuf_adds(sb, n && f->help[n - 1] == '\r' ? "\r\n" : "\n");
		strbuf_addf(sb, "# TYPE %s %s\n", f->name, prometheus_type_name(f->type));
	}
	for (size_t i = 0; i < p->n_samples; i++) {
		const struct prom_sample *s = &p->samples[i];

		strbuf_adds(sb, s->name);
		for (size_t k = 0; k < s->n_labels; k++) {
			strbuf_addf(sb, "%s%s=\"", k ? "," : "{", s->labels[k].name);
			add_escaped(sb, s->labels[k].value, true);
			strbuf_addch(sb, '"');
		}
		if (s->n_labels)
			strbuf_addch(sb, '}');
		if (isnan(s->value))
			strbuf_adds(sb, " NaN");
		else if (isinf(s->value))
			strbuf_adds(sb, s->value > 0 ? " +Inf" : " -Inf");
		else
			strbuf_addf(sb, " %.17g", s->value);
		if (s->has_timestamp)
			strbuf_addf(sb, " %" PRId64, s->timestamp_ms);
		strbuf_addch(sb, '\n');
	}
}

static bool same_value(double a, double b)
{
	return (isnan(a) && isnan(b)) || !memcmp(&a, &b, sizeof(a));
}

static void check_same(const struct prom_page *a, const struct prom_page *b)
{
	FUZZ_CHECK(a->n_families == b->n_families, "the families print back");
	for (size_t i = 0; i < a->n_families; i++)
		FUZZ_CHECK(!strcmp(a->families[i].name, b->families[i].name) &&
			   !strcmp(a->families[i].help, b->families[i].help) &&
			   a->families[i].type == b->families[i].type,
			   "a family prints back with its help and type");
	FUZZ_CHECK(a->n_samples == b->n_samples, "the samples print back");
	for (size_t i = 0; i < a->n_samples; i++) {
		const struct prom_sample *s = &a->samples[i], *t = &b->samples[i];

		FUZZ_CHECK(!strcmp(s->name, t->name) && s->n_labels == t->n_labels &&
			   same_value(s->value, t->value) &&
			   s->has_timestamp == t->has_timestamp &&
			   (!s->has_timestamp || s->timestamp_ms == t->timestamp_ms),
			   "a sample prints back with its name, value and timestamp");
		for (size_t k = 0; k < s->n_labels; k++)
			FUZZ_CHECK(!strcmp(s->labels[k].name, t->labels[k].name) &&
				   !strcmp(s->labels[k].value, t->labels[k].value),
				   "a label prints back");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct it_error err = { 0 };
	struct prom_page *page = NULL, *again = NULL;
	struct strbuf sb;
	int lines = 1;

	if (prometheus_parse(text, size, "fuzz.prom", &page, &err)) {
		fuzz_check_error_at(&err, "fuzz.prom", text, size);
		return 0;
	}
	for (size_t i = 0; i < size; i++)
		lines += text[i] == '\n';
	for (size_t i = 0; i < page->n_families; i++)
		FUZZ_CHECK(is_name(page->families[i].name, true), "a family has a metric name");
	for (size_t i = 0; i < page->n_samples; i++) {
		const struct prom_sample *s = &page->samples[i];

		FUZZ_CHECK(is_name(s->name, true), "a sample has a metric name");
		FUZZ_CHECK(s->line >= 1 && s->line <= lines, "a sample's line is in the page");
		for (size_t k = 0; k < s->n_labels; k++) {
			FUZZ_CHECK(is_name(s->labels[k].name, false), "a label has a label name");
			for (size_t m = 0; m < k; m++)
				FUZZ_CHECK(strcmp(s->labels[k].name, s->labels[m].name),
					   "no label is repeated");
		}
	}
	strbuf_init(&sb, 0);
	print_page(page, &sb);
	if (prometheus_parse(sb.buf, sb.len, "printed.prom", &again, &err))
		fuzz_fail(__FILE__, __LINE__, err.message, "the printed page parses");
	check_same(page, again);
	prometheus_page_free(again);
	prometheus_page_free(page);
	strbuf_release(&sb);
	return 0;
}
