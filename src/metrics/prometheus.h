/*
 * A parser for the Prometheus text exposition format (version 0.0.4), the
 * page that Triton and `infertune serve` publish on /metrics. It reads what
 * scrapers read (HELP and TYPE lines, other comments, labels in any order
 * with \\ \" \n escapes, NaN/+Inf/-Inf, optional timestamps) and refuses a
 * page that is not well formed with the line and column of the first fault.
 * Depends on util/ only.
 */
#ifndef INFERTUNE_METRICS_PROMETHEUS_H
#define INFERTUNE_METRICS_PROMETHEUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct it_error;

/** The metric types of a TYPE line; UNTYPED when a family has none. */
enum prom_type {
	PROM_UNTYPED = 0,
	PROM_COUNTER,
	PROM_GAUGE,
	PROM_HISTOGRAM,
	PROM_SUMMARY,
};

/** One label of a sample. Strings are owned by the page, unescaped. */
struct prom_label {
	const char *name;
	const char *value;
};

/** One sample line. Strings and labels are owned by the page. */
struct prom_sample {
	const char *name;
	const struct prom_label *labels;
	size_t n_labels;
	double value;
	bool has_timestamp;
	int64_t timestamp_ms;
	int line;
};

/** A family declared by HELP and/or TYPE lines. */
struct prom_family {
	const char *name;
	const char *help;       /* "" when there was no HELP line */
	enum prom_type type;
};

/** A parsed page (transparent, read-only; free with prometheus_page_free). */
struct prom_page {
	struct prom_sample *samples;
	size_t n_samples;
	struct prom_family *families;
	size_t n_families;
	/* private: the storage the strings point into */
	char *text_;
	struct prom_label *labels_;
};

/**
 * Parses `len` bytes of exposition text. `source` names the page in errors
 * (a URL or file name; may be NULL). On success *out is a new page the
 * caller frees with prometheus_page_free(). Fails with IT_ERR_PARSE and the
 * position (err->file = source, line, col) of the first fault: a bad metric
 * or label name, a missing '=', '"' or '}', an unterminated or badly escaped
 * label value, a repeated label, a value or timestamp that is not a number,
 * text after the timestamp, a NUL byte, or a TYPE line with an unknown type.
 * Thread-safe (no shared state).
 */
int prometheus_parse(const char *text, size_t len, const char *source,
		     struct prom_page **out, struct it_error *err);

/** Frees a page; NULL is a no-op. */
void prometheus_page_free(struct prom_page *page);

/** The value of label `name` of sample s, or NULL when it has none. */
const char *prometheus_label(const struct prom_sample *s, const char *name);

/**
 * Iterates over the samples named `name`: start with *pos = 0; returns the
 * next match and advances *pos, or NULL when there are no more.
 */
const struct prom_sample *prometheus_next(const struct prom_page *page,
					  const char *name, size_t *pos);

/** The family named `name`, or NULL. */
const struct prom_family *prometheus_family(const struct prom_page *page,
					    const char *name);

/** "counter", "gauge", ... for a type. */
const char *prometheus_type_name(enum prom_type type);

#endif
