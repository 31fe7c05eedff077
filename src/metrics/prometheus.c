/*
 * Prometheus text format parser. The page is copied once; names, label
 * values and help texts are unescaped in place inside that copy (an escape
 * never gets longer when decoded), so a page is three allocations however
 * many samples it has.
 */
#include "metrics/prometheus.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"
#include "util/xalloc.h"
#include "util/banned.h"

/* Label storage grows as one array; samples keep an index until the end. */
struct parser {
	char *text;             /* our copy, NUL-terminated */
	char *p;                /* cursor */
	char *line_start;
	int line;
	const char *source;
	struct it_error *err;
	struct prom_sample *samples;
	size_t n_samples, alloc_samples;
	size_t *label_first;    /* per sample: index of its first label */
	size_t alloc_label_first;
	struct prom_label *labels;
	size_t n_labels, alloc_labels;
	struct prom_family *families;
	size_t n_families, alloc_families;
};

static int fail(struct parser *ps, const char *at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct parser *ps, const char *at, const char *fmt, ...)
{
	int col = (int)(at - ps->line_start) + 1;
	int rc;
	va_list ap;

	va_start(ap, fmt);
	rc = it_error_atv(ps->err, IT_ERR_PARSE, ps->source, ps->line, col,
			  fmt, ap);
	va_end(ap);
	return rc;
}

static bool is_name_start(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
	       c == ':';
}

static bool is_name_char(char c)
{
	return is_name_start(c) || (c >= '0' && c <= '9');
}

static bool is_label_start(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_label_char(char c)
{
	return is_label_start(c) || (c >= '0' && c <= '9');
}

static void skip_blanks(struct parser *ps)
{
	while (*ps->p == ' ' || *ps->p == '\t')
		ps->p++;
}

/* True at the end of the line (newline, CR before newline, or end of text). */
static bool at_eol(const struct parser *ps)
{
	return *ps->p == '\n' || *ps->p == '\0' ||
	       (*ps->p == '\r' && (ps->p[1] == '\n' || ps->p[1] == '\0'));
}

/*
 * Reads a metric name at the cursor; NUL-terminates it only after the
 * caller is done with the following character, so it returns the end.
 */
static char *scan_name(struct parser *ps, bool metric)
{
	char *start = ps->p;

	if (metric ? !is_name_start(*ps->p) : !is_label_start(*ps->p))
		return NULL;
	while (metric ? is_name_char(*ps->p) : is_label_char(*ps->p))
		ps->p++;
	return start;
}

/* A short printable copy of the token at `at` for messages. */
static const char *token_at(const char *at, char *buf, size_t size)
{
	size_t n = 0;

	while (at[n] && at[n] != '\n' && at[n] != ' ' && at[n] != '\t' &&
	       n + 1 < size && n < 40)
		n++;
	if (!n) {
		if (!*at || *at == '\n')
			return "end of line";
		n = 1;
	}
	memcpy(buf, at, n);
	buf[n] = '\0';
	return buf;
}

/* Parses "value" of a label into place; the cursor is on the opening quote. */
static int scan_label_value(struct parser *ps, char **value)
{
	char *out, *start;

	ps->p++;                /* opening quote */
	start = out = ps->p;
	for (;;) {
		char c = *ps->p;

		if (c == '"')
			break;
		if (c == '\0' || c == '\n')
			return fail(ps, ps->p, "unterminated label value");
		if (c == '\\') {
			char e = ps->p[1];

			if (e == '\\' || e == '"')
				*out++ = e;
			else if (e == 'n')
				*out++ = '\n';
			else
				return fail(ps, ps->p,
					    "invalid escape in label value (only \\\\, \\\" and \\n are allowed)");
			ps->p += 2;
			continue;
		}
		*out++ = c;
		ps->p++;
	}
	ps->p++;                /* closing quote */
	/* The closing quote or an earlier byte is free to hold the NUL. */
	*out = '\0';
	*value = start;
	return 0;
}

static int add_family(struct parser *ps, char *name, char *help,
		      enum prom_type type, bool is_type)
{
	struct prom_family *f = NULL;

	for (size_t i = 0; i < ps->n_families; i++) {
		if (!strcmp(ps->families[i].name, name)) {
			f = &ps->families[i];
			break;
		}
	}
	if (!f) {
		XGROW(ps->families, ps->alloc_families, ps->n_families + 1);
		f = &ps->families[ps->n_families++];
		f->name = name;
		f->help = "";
		f->type = PROM_UNTYPED;
	}
	if (is_type)
		f->type = type;
	else
		f->help = help;
	return 0;
}

/* "# HELP name text" / "# TYPE name type"; other comments are skipped. */
static int parse_comment(struct parser *ps)
{
	static const char *const types[] = {
		"untyped", "counter", "gauge", "histogram", "summary",
	};
	char *keyword, *name, *name_end, *rest, *out;
	bool is_type;
	char tok[48];

	ps->p++;                /* '#' */
	skip_blanks(ps);
	keyword = ps->p;
	/* "# HELP" / "# TYPE" as whole words (also alone on the line, an error below). */
	if (!strncmp(keyword, "HELP", 4) &&
	    (keyword[4] == ' ' || keyword[4] == '\t' || keyword[4] == '\n' ||
	     keyword[4] == '\r' || keyword[4] == '\0'))
		is_type = false;
	else if (!strncmp(keyword, "TYPE", 4) &&
		 (keyword[4] == ' ' || keyword[4] == '\t' || keyword[4] == '\n' ||
		  keyword[4] == '\r' || keyword[4] == '\0'))
		is_type = true;
	else
		return 0;       /* a plain comment */
	ps->p += 4;
	skip_blanks(ps);
	name = scan_name(ps, true);
	if (!name)
		return fail(ps, ps->p, "expected a metric name after # %s",
			    is_type ? "TYPE" : "HELP");
	name_end = ps->p;
	if (!at_eol(ps) && *ps->p != ' ' && *ps->p != '\t')
		return fail(ps, ps->p, "invalid character in metric name '%s'",
			    token_at(name, tok, sizeof(tok)));
	skip_blanks(ps);
	rest = ps->p;
	while (!at_eol(ps))
		ps->p++;
	if (is_type) {
		size_t n = (size_t)(ps->p - rest);
		int type = -1;

		while (n && (rest[n - 1] == ' ' || rest[n - 1] == '\t'))
			n--;
		for (int i = 0; i < 5; i++) {
			if (strlen(types[i]) == n && !strncmp(rest, types[i], n))
				type = i;
		}
		if (type < 0)
			return fail(ps, rest,
				    "unknown metric type '%s' (expected counter, gauge, histogram, summary or untyped)",
				    token_at(rest, tok, sizeof(tok)));
		*name_end = '\0';
		return add_family(ps, name, NULL, (enum prom_type)type, true);
	}
	/* HELP text: unescape \\ and \n in place. */
	out = rest;
	for (char *q = rest; q < ps->p; q++) {
		if (*q == '\\' && q + 1 < ps->p && (q[1] == '\\' || q[1] == 'n')) {
			*out++ = q[1] == 'n' ? '\n' : '\\';
			q++;
		} else {
			*out++ = *q;
		}
	}
	/* The line end is overwritten only after the cursor has moved past it. */
	{
		char *eol = ps->p;

		if (*eol == '\r')
			ps->p++;
		if (*ps->p == '\n')
			ps->p++;
		*out = '\0';
		if (out != eol)
			*eol = '\0';
		*name_end = '\0';
		ps->line_start = ps->p;
		ps->line++;
		add_family(ps, name, rest, PROM_UNTYPED, false);
		return 1;       /* line already consumed */
	}
}

static int parse_number(struct parser *ps, double *value, const char *metric)
{
	char *start = ps->p, *end;
	char tok[48];
	double v;

	while (!at_eol(ps) && *ps->p != ' ' && *ps->p != '\t')
		ps->p++;
	if (ps->p == start)
		return fail(ps, start, "metric '%s' has no value", metric);
	/* Go's ParseFloat spellings that strtod does not share. */
	if ((size_t)(ps->p - start) == 3 && !strncmp(start, "Nan", 3)) {
		*value = NAN;
		return 0;
	}
	errno = 0;
	{
		char save = *ps->p;

		*ps->p = '\0';
		v = strtod(start, &end);
		*ps->p = save;
	}
	if (end != ps->p || (errno == ERANGE && v != 0 && !isinf(v)))
		return fail(ps, start, "invalid value '%s' for metric '%s'",
			    token_at(start, tok, sizeof(tok)), metric);
	*value = v;
	return 0;
}

static int parse_sample(struct parser *ps)
{
	char *name, *name_end;
	struct prom_sample s = { 0 };
	size_t first_label = ps->n_labels;
	char tok[48];
	int rc;

	name = scan_name(ps, true);
	if (!name)
		return fail(ps, ps->p, "expected a metric name, found '%s'",
			    token_at(ps->p, tok, sizeof(tok)));
	name_end = ps->p;
	if (*ps->p != '{' && *ps->p != ' ' && *ps->p != '\t') {
		if (at_eol(ps))
			return fail(ps, ps->p, "metric '%.*s' has no value",
				    (int)(name_end - name), name);
		return fail(ps, ps->p, "invalid character '%s' in or after the metric name",
			    token_at(ps->p, tok, sizeof(tok)));
	}
	if (*ps->p == '{') {
		*ps->p++ = '\0';
		for (;;) {
			char *lname, *lname_end, *lvalue = NULL;

			skip_blanks(ps);
			if (*ps->p == '}')
				break;
			lname = scan_name(ps, false);
			if (!lname)
				return fail(ps, ps->p,
					    "expected a label name or '}', found '%s'",
					    token_at(ps->p, tok, sizeof(tok)));
			lname_end = ps->p;
			skip_blanks(ps);
			if (*ps->p != '=')
				return fail(ps, ps->p,
					    "expected '=' after label name, found '%s'",
					    token_at(ps->p, tok, sizeof(tok)));
			ps->p++;
			skip_blanks(ps);
			if (*ps->p != '"')
				return fail(ps, ps->p,
					    "expected '\"' to start the label value, found '%s'",
					    token_at(ps->p, tok, sizeof(tok)));
			rc = scan_label_value(ps, &lvalue);
			if (rc)
				return rc;
			*lname_end = '\0';
			for (size_t i = first_label; i < ps->n_labels; i++) {
				if (!strcmp(ps->labels[i].name, lname))
					return fail(ps, lname,
						    "label '%s' appears twice",
						    lname);
			}
			XGROW(ps->labels, ps->alloc_labels, ps->n_labels + 1);
			ps->labels[ps->n_labels].name = lname;
			ps->labels[ps->n_labels].value = lvalue;
			ps->n_labels++;
			skip_blanks(ps);
			if (*ps->p == ',') {
				ps->p++;
				continue;
			}
			if (*ps->p != '}')
				return fail(ps, ps->p,
					    "expected ',' or '}' after a label, found '%s'",
					    token_at(ps->p, tok, sizeof(tok)));
		}
		ps->p++;        /* '}' */
	}
	if (*ps->p != ' ' && *ps->p != '\t') {
		*name_end = '\0';
		if (at_eol(ps))
			return fail(ps, ps->p, "metric '%s' has no value", name);
		return fail(ps, ps->p, "expected a space before the value of '%s', found '%s'",
			    name, token_at(ps->p, tok, sizeof(tok)));
	}
	skip_blanks(ps);
	/* The blank (or the '{', already replaced) after the name is behind the cursor. */
	*name_end = '\0';
	rc = parse_number(ps, &s.value, name);
	if (rc)
		return rc;
	skip_blanks(ps);
	if (!at_eol(ps)) {
		char *start = ps->p, *end;
		long long ts;

		while (!at_eol(ps) && *ps->p != ' ' && *ps->p != '\t')
			ps->p++;
		errno = 0;
		ts = strtoll(start, &end, 10);
		if (end != ps->p || errno)
			return fail(ps, start, "invalid timestamp '%s' (expected integer milliseconds)",
				    token_at(start, tok, sizeof(tok)));
		s.has_timestamp = true;
		s.timestamp_ms = ts;
		skip_blanks(ps);
		if (!at_eol(ps))
			return fail(ps, ps->p, "unexpected text '%s' after the sample",
				    token_at(ps->p, tok, sizeof(tok)));
	}
	s.name = name;
	s.line = ps->line;
	s.n_labels = ps->n_labels - first_label;
	XGROW(ps->samples, ps->alloc_samples, ps->n_samples + 1);
	XGROW(ps->label_first, ps->alloc_label_first, ps->n_samples + 1);
	ps->samples[ps->n_samples] = s;
	ps->label_first[ps->n_samples] = first_label;
	ps->n_samples++;
	return 0;
}

int prometheus_parse(const char *text, size_t len, const char *source,
		     struct prom_page **out, struct it_error *err)
{
	struct parser ps = { 0 };
	struct prom_page *page = NULL;
	int rc = 0;

	ps.text = xmemdup(text, len);
	ps.p = ps.line_start = ps.text;
	ps.line = 1;
	ps.source = source;
	ps.err = err;
	if (memchr(text, '\0', len)) {
		const char *nul = memchr(text, '\0', len);
		int line = 1;
		const char *ls = text;

		for (const char *q = text; q < nul; q++) {
			if (*q == '\n') {
				line++;
				ls = q + 1;
			}
		}
		rc = it_error_at(err, IT_ERR_PARSE, source, line,
				 (int)(nul - ls) + 1,
				 "NUL byte in the page; this is not Prometheus text");
		goto out;
	}
	while (*ps.p) {
		skip_blanks(&ps);
		if (at_eol(&ps)) {
			/* blank line */
		} else if (*ps.p == '#') {
			rc = parse_comment(&ps);
			if (rc < 0)
				goto out;
			if (rc == 1) {
				rc = 0;
				continue;
			}
			while (!at_eol(&ps))
				ps.p++;
		} else {
			rc = parse_sample(&ps);
			if (rc)
				goto out;
		}
		if (*ps.p == '\r')
			*ps.p++ = '\0';
		if (*ps.p == '\n')
			*ps.p++ = '\0';
		ps.line_start = ps.p;
		ps.line++;
	}
	page = xcalloc(1, sizeof(*page));
	page->text_ = ps.text;
	page->labels_ = ps.labels;
	page->samples = ps.samples;
	page->n_samples = ps.n_samples;
	page->families = ps.families;
	page->n_families = ps.n_families;
	/*
	 * Labels may have moved while the array grew: resolve them now. A page
	 * without a single label has no array (and NULL + 0 is undefined).
	 */
	for (size_t i = 0; i < ps.n_samples; i++)
		page->samples[i].labels = ps.labels ? ps.labels + ps.label_first[i] : NULL;
	ps.text = NULL;
	ps.labels = NULL;
	ps.samples = NULL;
	ps.families = NULL;
	*out = page;
out:
	free(ps.label_first);
	free(ps.text);
	free(ps.labels);
	free(ps.samples);
	free(ps.families);
	return rc;
}

void prometheus_page_free(struct prom_page *page)
{
	if (!page)
		return;
	free(page->text_);
	free(page->labels_);
	free(page->samples);
	free(page->families);
	free(page);
}

const char *prometheus_label(const struct prom_sample *s, const char *name)
{
	for (size_t i = 0; i < s->n_labels; i++) {
		if (!strcmp(s->labels[i].name, name))
			return s->labels[i].value;
	}
	return NULL;
}

const struct prom_sample *prometheus_next(const struct prom_page *page,
					  const char *name, size_t *pos)
{
	while (*pos < page->n_samples) {
		const struct prom_sample *s = &page->samples[(*pos)++];

		if (!strcmp(s->name, name))
			return s;
	}
	return NULL;
}

const struct prom_family *prometheus_family(const struct prom_page *page,
					    const char *name)
{
	for (size_t i = 0; i < page->n_families; i++) {
		if (!strcmp(page->families[i].name, name))
			return &page->families[i];
	}
	return NULL;
}

const char *prometheus_type_name(enum prom_type type)
{
	switch (type) {
	case PROM_COUNTER:
		return "counter";
	case PROM_GAUGE:
		return "gauge";
	case PROM_HISTOGRAM:
		return "histogram";
	case PROM_SUMMARY:
		return "summary";
	case PROM_UNTYPED:
		break;
	}
	return "untyped";
}
