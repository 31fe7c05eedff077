/*
 * Schema-driven checks and rewrites of pbtxt trees: normalisation of the text
 * form into one canonical tree, and conversion between that tree and
 * protobuf's JSON mapping. Knows descriptors, not ModelConfig semantics.
 */
#include "model/schema.h"

#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pbtxt/pbtxt.h"
#include "util/base64.h"
#include "util/error.h"
#include "util/strbuf.h"
#include "util/utf8.h"
#include "util/xalloc.h"
#include "util/banned.h"

/* Same cap as the parser's, so that any tree pbtxt_parse() accepts passes. */
#define SCHEMA_MAX_DEPTH PBTXT_MAX_DEPTH
/* Bytes of a value quoted in an error message before it is cut with "...". */
#define QUOTE_MAX_BYTES 40
/* Room for any canonical number: "-18446744073709551615", "-1.2345678901234567e-308". */
#define NUM_BUF 48

/* ---------------------------------------------------------------------- */
/* Descriptor look-ups                                                     */
/* ---------------------------------------------------------------------- */

const struct pb_field *pb_message_field(const struct pb_message *m,
					const char *name, bool json)
{
	if (!m || !name)
		return NULL;
	for (size_t i = 0; i < m->n_fields; i++) {
		const struct pb_field *f = &m->fields[i];

		if (!strcmp(json ? f->json_name : f->name, name))
			return f;
	}
	return NULL;
}

const struct pb_enum_value *pb_enum_by_name(const struct pb_enum *e,
					    const char *name, bool icase)
{
	if (!e || !name)
		return NULL;
	for (size_t i = 0; i < e->n_values; i++) {
		const struct pb_enum_value *v = &e->values[i];

		if (icase ? !strcasecmp(v->name, name) : !strcmp(v->name, name))
			return v;
	}
	return NULL;
}

const struct pb_enum_value *pb_enum_by_number(const struct pb_enum *e, int n)
{
	if (!e)
		return NULL;
	for (size_t i = 0; i < e->n_values; i++)
		if (e->values[i].number == n)
			return &e->values[i];
	return NULL;
}

/* ---------------------------------------------------------------------- */
/* Scalar syntax shared by the text and JSON paths                         */
/* ---------------------------------------------------------------------- */

enum num_rc {
	NUM_OK = 0,
	NUM_SYNTAX = -1,
	NUM_RANGE = -2,
};

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_hex_digit(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/*
 * Text-format integer: optional '-', then decimal, 0x hex or leading-0 octal
 * (as protobuf's tokenizer reads them). The magnitude is returned apart from
 * the sign so that -2^63 and 2^64-1 both fit.
 */
static int int_text_parse(const char *s, bool *neg, uint64_t *mag)
{
	const char *p = s;
	const char *digits;
	char *end = NULL;
	unsigned long long v;
	int base = 10;

	*neg = false;
	if (*p == '-') {
		*neg = true;
		p++;
	}
	if (!is_digit(*p))
		return NUM_SYNTAX;
	digits = p;
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		base = 16;
		digits = p + 2;
		if (!*digits)
			return NUM_SYNTAX;
		for (const char *q = digits; *q; q++)
			if (!is_hex_digit(*q))
				return NUM_SYNTAX;
	} else if (p[0] == '0' && p[1]) {
		base = 8;
		for (const char *q = p; *q; q++)
			if (*q < '0' || *q > '7')
				return NUM_SYNTAX;
	} else {
		for (const char *q = p; *q; q++)
			if (!is_digit(*q))
				return NUM_SYNTAX;
	}
	errno = 0;
	v = strtoull(digits, &end, base);
	if (end == digits || *end)
		return NUM_SYNTAX;
	if (errno == ERANGE)
		return NUM_RANGE;
	*mag = v;
	return NUM_OK;
}

/* JSON-string integer: optional '-', decimal digits only. */
static int int_decimal_parse(const char *s, bool *neg, uint64_t *mag)
{
	const char *p = s;
	char *end = NULL;
	unsigned long long v;

	*neg = false;
	if (*p == '-') {
		*neg = true;
		p++;
	}
	if (!*p)
		return NUM_SYNTAX;
	for (const char *q = p; *q; q++)
		if (!is_digit(*q))
			return NUM_SYNTAX;
	errno = 0;
	v = strtoull(p, &end, 10);
	if (*end)
		return NUM_SYNTAX;
	if (errno == ERANGE)
		return NUM_RANGE;
	*mag = v;
	return NUM_OK;
}

static bool int_fits(enum pb_type t, bool neg, uint64_t mag)
{
	switch (t) {
	case PB_INT32:
	case PB_ENUM:
		return neg ? mag <= (uint64_t)INT32_MAX + 1 : mag <= INT32_MAX;
	case PB_INT64:
		return neg ? mag <= (uint64_t)INT64_MAX + 1 : mag <= INT64_MAX;
	case PB_UINT32:
		return !neg && mag <= UINT32_MAX;
	case PB_UINT64:
		return !neg;
	default:
		return false;
	}
}

static int64_t int_signed(bool neg, uint64_t mag)
{
	if (!neg)
		return (int64_t)mag;
	if (mag == (uint64_t)INT64_MAX + 1)
		return INT64_MIN;
	return -(int64_t)mag;
}

static void int_format(char *buf, size_t size, bool neg, uint64_t mag)
{
	snprintf(buf, size, "%s%" PRIu64, neg && mag ? "-" : "", mag);
}

/* digits [. digits] [e [+-] digits] [f|F], at least one mantissa digit. */
static bool decimal_float_syntax(const char *p, bool allow_suffix)
{
	size_t n_digits = 0;

	while (is_digit(*p)) {
		p++;
		n_digits++;
	}
	if (*p == '.') {
		p++;
		while (is_digit(*p)) {
			p++;
			n_digits++;
		}
	}
	if (!n_digits)
		return false;
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (!is_digit(*p))
			return false;
		while (is_digit(*p))
			p++;
	}
	if (allow_suffix && (*p == 'f' || *p == 'F'))
		p++;
	return *p == '\0';
}

/* inf, infinity, nan in any case (the sign is handled by the caller). */
static bool special_float(const char *p, double *out)
{
	if (!strcasecmp(p, "inf") || !strcasecmp(p, "infinity")) {
		*out = INFINITY;
		return true;
	}
	if (!strcasecmp(p, "nan")) {
		*out = NAN;
		return true;
	}
	return false;
}

/*
 * Text-format float: an integer in any base (protobuf accepts integer tokens
 * for float fields), a decimal float with optional f suffix, or inf/nan.
 * Literals beyond the type's range become infinities, as protobuf's parsers do.
 */
static int float_text_parse(const char *s, double *out)
{
	const char *p = s;
	bool neg = false;
	bool int_neg;
	uint64_t mag;
	double d;
	char *end = NULL;
	char *copy;
	size_t len;
	int rc;

	if (*p == '-') {
		neg = true;
		p++;
	}
	if (special_float(p, &d)) {
		*out = neg ? -d : d;
		return NUM_OK;
	}
	/* Pure integer tokens (incl. hex and octal) are integers, as in protobuf. */
	rc = int_text_parse(s, &int_neg, &mag);
	if (rc == NUM_OK) {
		d = (double)mag;
		*out = int_neg ? -d : d;
		return NUM_OK;
	}
	/* a huge hex or octal integer; a huge decimal one strtod() reads below */
	if (rc == NUM_RANGE && p[0] == '0')
		return NUM_RANGE;
	if (!decimal_float_syntax(p, true))
		return NUM_SYNTAX;
	len = strlen(p);
	copy = xstrndup(p, len);
	if (copy[len - 1] == 'f' || copy[len - 1] == 'F')
		copy[len - 1] = '\0';
	d = strtod(copy, &end); /* ERANGE is fine: overflow is inf, underflow 0 */
	rc = *end ? NUM_SYNTAX : NUM_OK;
	free(copy);
	if (rc == NUM_OK)
		*out = neg ? -d : d;
	return rc;
}

/* Rounds a double to float precision; overflow gives infinity (IEEE semantics). */
static double to_float_precision(double d)
{
	/* FLT_MAX plus half an ulp: from here on the nearest float is infinity. */
	const double limit = 0x1.ffffffp127;

	if (isnan(d) || isinf(d))
		return d;
	if (d >= limit)
		return INFINITY;
	if (d <= -limit)
		return -INFINITY;
	return (double)(float)d;
}

/*
 * Shortest decimal that reads back to the same value at the field's precision,
 * laid out the way Python's repr() does (protobuf's Python text_format, which
 * Model Analyzer uses, prints floats that way): "2.0", "0.5", "1e-05",
 * "1e+16", "inf", "-inf", "nan".
 */
static void real_format(char *buf, size_t size, double d, bool is_float)
{
	char tmp[NUM_BUF];
	char digits[NUM_BUF];
	size_t n_digits = 0;
	int max_precision = is_float ? 9 : 17;
	int exp10;
	int decpt;
	const char *p;
	struct strbuf sb;

	if (isnan(d)) {
		snprintf(buf, size, "nan");
		return;
	}
	if (isinf(d)) {
		snprintf(buf, size, "%s", d < 0 ? "-inf" : "inf");
		return;
	}
	for (int prec = 1; prec <= max_precision; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, d);
		if (is_float ? strtof(tmp, NULL) == (float)d : strtod(tmp, NULL) == d)
			break;
	}
	/* tmp is "[-]D[.DDD]e[+-]XX" */
	p = tmp;
	if (*p == '-')
		p++;
	for (; *p && *p != 'e'; p++)
		if (is_digit(*p))
			digits[n_digits++] = *p;
	while (n_digits > 1 && digits[n_digits - 1] == '0')
		n_digits--;
	digits[n_digits] = '\0';
	exp10 = (int)strtol(p + 1, NULL, 10);
	decpt = exp10 + 1;

	strbuf_init(&sb, 0);
	if (signbit(d))
		strbuf_addch(&sb, '-');
	if (decpt <= -4 || decpt > 16) {
		strbuf_addch(&sb, digits[0]);
		if (n_digits > 1) {
			strbuf_addch(&sb, '.');
			strbuf_add(&sb, digits + 1, n_digits - 1);
		}
		strbuf_addf(&sb, "e%c%02d", exp10 < 0 ? '-' : '+', abs(exp10));
	} else if (decpt <= 0) {
		strbuf_adds(&sb, "0.");
		for (int i = 0; i < -decpt; i++)
			strbuf_addch(&sb, '0');
		strbuf_add(&sb, digits, n_digits);
	} else if ((size_t)decpt >= n_digits) {
		strbuf_add(&sb, digits, n_digits);
		for (size_t i = n_digits; i < (size_t)decpt; i++)
			strbuf_addch(&sb, '0');
		strbuf_adds(&sb, ".0");
	} else {
		strbuf_add(&sb, digits, (size_t)decpt);
		strbuf_addch(&sb, '.');
		strbuf_add(&sb, digits + decpt, n_digits - (size_t)decpt);
	}
	snprintf(buf, size, "%s", sb.buf);
	strbuf_release(&sb);
}

/* Canonical node kind for a float's text, matching what pbtxt_parse() yields. */
static enum pbtxt_kind real_kind(const char *text)
{
	return (!strcmp(text, "inf") || !strcmp(text, "nan")) ? PBTXT_IDENT
							       : PBTXT_NUMBER;
}

/* Appends value as a short double-quoted literal for error messages. */
static void quote_short(struct strbuf *sb, const char *s, size_t n)
{
	size_t shown = n > QUOTE_MAX_BYTES ? QUOTE_MAX_BYTES : n;

	strbuf_addch(sb, '"');
	for (size_t i = 0; i < shown; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			strbuf_addf(sb, "\\%c", c);
		else if (c == '\n')
			strbuf_adds(sb, "\\n");
		else if (c < 0x20 || c >= 0x7f)
			strbuf_addf(sb, "\\%03o", c);
		else
			strbuf_addch(sb, (char)c);
	}
	strbuf_addch(sb, '"');
	if (shown < n)
		strbuf_adds(sb, "...");
}

static const char *type_name(enum pb_type t)
{
	static const char *const names[] = {
		[PB_DOUBLE] = "double", [PB_FLOAT] = "float",
		[PB_INT32] = "int32",   [PB_INT64] = "int64",
		[PB_UINT32] = "uint32", [PB_UINT64] = "uint64",
		[PB_BOOL] = "bool",     [PB_STRING] = "string",
		[PB_BYTES] = "bytes",   [PB_ENUM] = "enum",
		[PB_MESSAGE] = "message",
	};

	return (size_t)t < sizeof(names) / sizeof(names[0]) ? names[t] : "?";
}

/* ---------------------------------------------------------------------- */
/* Normalisation                                                           */
/* ---------------------------------------------------------------------- */

struct norm {
	const char *filename;
	struct it_error *err;
};

__attribute__((format(printf, 5, 6)))
static int norm_error(const struct norm *c, int code, int line, int col,
		      const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	code = it_error_atv(c->err, code, c->filename, line, col, fmt, ap);
	va_end(ap);
	return code;
}

/* Position of a node's value, or of its name when it has none (messages, JSON). */
static void value_pos(const struct pbtxt_node *n, int *line, int *col)
{
	if (n->value_line > 0) {
		*line = n->value_line;
		*col = n->value_col;
	} else {
		*line = n->line;
		*col = n->col;
	}
}

/* "string \"x\"", "number 16", "identifier foo", "a message" */
static void describe_node(struct strbuf *sb, const struct pbtxt_node *n)
{
	switch (n->kind) {
	case PBTXT_STRING:
		strbuf_adds(sb, "string ");
		quote_short(sb, n->value, n->value_len);
		break;
	case PBTXT_NUMBER:
		strbuf_adds(sb, "number ");
		strbuf_add(sb, n->value, n->value_len > QUOTE_MAX_BYTES ?
					 QUOTE_MAX_BYTES : n->value_len);
		break;
	case PBTXT_IDENT:
		strbuf_adds(sb, "identifier ");
		strbuf_add(sb, n->value, n->value_len > QUOTE_MAX_BYTES ?
					 QUOTE_MAX_BYTES : n->value_len);
		break;
	case PBTXT_MESSAGE:
		strbuf_adds(sb, "a message");
		break;
	case PBTXT_EMPTY_LIST:
		strbuf_adds(sb, "an empty list");
		break;
	}
}

static int expect_error(const struct norm *c, const struct pbtxt_node *n,
			const struct pb_field *f, const struct pb_message *m,
			const char *expected)
{
	struct strbuf found;
	int line, col;
	int rc;

	strbuf_init(&found, 0);
	describe_node(&found, n);
	value_pos(n, &line, &col);
	rc = norm_error(c, IT_ERR_INVALID, line, col,
			"field '%s' of %s expects %s, found %s", f->name,
			m->name, expected, found.buf);
	strbuf_release(&found);
	return rc;
}

static int range_error(const struct norm *c, const struct pbtxt_node *n,
		       const struct pb_field *f)
{
	int shown = (int)(n->value_len > QUOTE_MAX_BYTES ? QUOTE_MAX_BYTES
							 : n->value_len);
	int line, col;

	value_pos(n, &line, &col);
	return norm_error(c, IT_ERR_INVALID, line, col,
			  "value %.*s out of range for %s field '%s'", shown,
			  n->value, type_name(f->type), f->name);
}

static void set_text(struct pbtxt_node *n, enum pbtxt_kind kind, const char *s)
{
	pbtxt_node_set_value(n, kind, s, strlen(s));
}

/* Enum: a name (exact case, as protobuf's text parser) or a known number. */
static int normalize_enum(const struct norm *c, struct pbtxt_node *n,
			  const struct pb_field *f, const struct pb_message *m,
			  bool *is_default)
{
	const struct pb_enum_value *v = NULL;
	struct strbuf want;
	bool neg = false;
	uint64_t mag = 0;
	int line, col;
	int rc = NUM_SYNTAX;

	value_pos(n, &line, &col);
	if (n->kind == PBTXT_IDENT) {
		v = pb_enum_by_name(f->enum_type, n->value, false);
		if (!v)
			return norm_error(c, IT_ERR_INVALID, line, col,
					  "unknown value '%.*s' for enum %s in field '%s'",
					  QUOTE_MAX_BYTES, n->value,
					  f->enum_type->name, f->name);
	} else {
		if (n->kind == PBTXT_NUMBER)
			rc = int_text_parse(n->value, &neg, &mag);
		if (rc == NUM_SYNTAX) {
			strbuf_init(&want, 0);
			strbuf_addf(&want, "a value of enum %s", f->enum_type->name);
			rc = expect_error(c, n, f, m, want.buf);
			strbuf_release(&want);
			return rc;
		}
		if (rc == NUM_OK && int_fits(PB_ENUM, neg, mag))
			v = pb_enum_by_number(f->enum_type, (int)int_signed(neg, mag));
		if (!v)
			return norm_error(c, IT_ERR_INVALID, line, col,
					  "unknown value %.*s for enum %s in field '%s'",
					  QUOTE_MAX_BYTES, n->value,
					  f->enum_type->name, f->name);
	}
	set_text(n, PBTXT_IDENT, v->name);
	*is_default = v->number == 0;
	return 0;
}

/*
 * Rewrites one scalar node into canonical text and tells whether it holds
 * the proto3 default of its type.
 */
static int normalize_scalar(const struct norm *c, struct pbtxt_node *n,
			    const struct pb_field *f, const struct pb_message *m,
			    bool *is_default)
{
	char buf[NUM_BUF];
	bool neg = false;
	uint64_t mag = 0;
	double d;
	int rc;

	switch (f->type) {
	case PB_INT32:
	case PB_INT64:
	case PB_UINT32:
	case PB_UINT64:
		if (n->kind != PBTXT_NUMBER)
			return expect_error(c, n, f, m, "an integer");
		rc = int_text_parse(n->value, &neg, &mag);
		if (rc == NUM_SYNTAX)
			return expect_error(c, n, f, m, "an integer");
		if (rc == NUM_RANGE || !int_fits(f->type, neg, mag))
			return range_error(c, n, f);
		int_format(buf, sizeof(buf), neg, mag);
		set_text(n, PBTXT_NUMBER, buf);
		*is_default = mag == 0;
		return 0;
	case PB_FLOAT:
	case PB_DOUBLE:
		if (n->kind != PBTXT_NUMBER && n->kind != PBTXT_IDENT)
			return expect_error(c, n, f, m, "a number");
		rc = float_text_parse(n->value, &d);
		if (rc == NUM_RANGE)
			return range_error(c, n, f);
		if (rc != NUM_OK)
			return expect_error(c, n, f, m, "a number");
		if (f->type == PB_FLOAT)
			d = to_float_precision(d);
		real_format(buf, sizeof(buf), d, f->type == PB_FLOAT);
		set_text(n, real_kind(buf), buf);
		/* -0.0 is not the default: protobuf compares the bits. */
		*is_default = d == 0.0 && !signbit(d);
		return 0;
	case PB_BOOL: {
		static const char *const truths[] = { "true", "True", "t", "1" };
		static const char *const lies[] = { "false", "False", "f", "0" };
		int v = -1;

		if (n->kind != PBTXT_NUMBER && n->kind != PBTXT_IDENT)
			return expect_error(c, n, f, m, "a boolean (true or false)");
		for (size_t i = 0; i < 4; i++) {
			if (!strcmp(n->value, truths[i]))
				v = 1;
			if (!strcmp(n->value, lies[i]))
				v = 0;
		}
		if (v < 0)
			return expect_error(c, n, f, m, "a boolean (true or false)");
		set_text(n, PBTXT_IDENT, v ? "true" : "false");
		*is_default = v == 0;
		return 0;
	}
	case PB_STRING:
	case PB_BYTES:
		if (n->kind != PBTXT_STRING)
			return expect_error(c, n, f, m, "a quoted string");
		if (f->type == PB_STRING && !utf8_valid(n->value, n->value_len, NULL)) {
			int line, col;

			value_pos(n, &line, &col);
			return norm_error(c, IT_ERR_INVALID, line, col,
					  "string field '%s' of %s holds invalid UTF-8",
					  f->name, m->name);
		}
		*is_default = n->value_len == 0;
		return 0;
	case PB_ENUM:
		return normalize_enum(c, n, f, m, is_default);
	case PB_MESSAGE:
		break;
	}
	return it_error_set(c->err, IT_ERR_INTERNAL, "field '%s': not a scalar type",
			    f->name);
}

/* A map key in comparable form. */
struct map_key {
	enum pb_type type;
	bool neg;
	uint64_t mag;
	const char *s;
	size_t len;
};

/* One child of a message being normalised. */
struct slot {
	struct pbtxt_node *node;
	const struct pb_field *field;
	size_t field_index;
	size_t order;       /* input position, for stability */
	bool drop;          /* default-valued singular scalar */
	bool has_key;       /* map entry */
	struct map_key key;
};

static int key_compare(const struct map_key *a, const struct map_key *b)
{
	int r;

	switch (a->type) {
	case PB_STRING:
	case PB_BYTES:
		r = memcmp(a->s, b->s, a->len < b->len ? a->len : b->len);
		if (r)
			return r;
		return (a->len > b->len) - (a->len < b->len);
	default:
		if (a->neg != b->neg)
			return a->neg ? -1 : 1;
		if (a->mag == b->mag)
			return 0;
		/* for negatives a larger magnitude is smaller */
		return ((a->mag < b->mag) != a->neg) ? -1 : 1;
	}
}

static int slot_compare(const void *pa, const void *pb)
{
	const struct slot *a = pa;
	const struct slot *b = pb;
	int r;

	if (a->field_index != b->field_index)
		return a->field_index < b->field_index ? -1 : 1;
	/*
	 * Keyless slots of a map field (`parameters: []`, dropped below) go
	 * first: comparing them by input order with entries compared by key
	 * would not be an order at all, and qsort would leave the map unsorted.
	 */
	if (a->has_key != b->has_key)
		return a->has_key ? 1 : -1;
	if (a->has_key && b->has_key) {
		r = key_compare(&a->key, &b->key);
		if (r)
			return r;
	}
	return (a->order > b->order) - (a->order < b->order);
}

/* Reads the (already canonical) key of a map entry. */
static void entry_key(const struct pbtxt_node *entry,
		      const struct pb_message *entry_desc, struct map_key *key)
{
	const struct pb_field *kf = &entry_desc->fields[0];
	const struct pbtxt_node *k = pbtxt_node_find(entry, kf->name);

	memset(key, 0, sizeof(*key));
	key->type = kf->type;
	key->s = "";
	if (!k)
		return;
	if (kf->type == PB_STRING || kf->type == PB_BYTES) {
		key->s = k->value;
		key->len = k->value_len;
	} else if (kf->type == PB_BOOL) {
		key->mag = !strcmp(k->value, "true");
	} else if (int_text_parse(k->value, &key->neg, &key->mag) != NUM_OK) {
		key->mag = 0;
	}
}

static void key_describe(struct strbuf *sb, const struct map_key *k)
{
	char buf[NUM_BUF];

	if (k->type == PB_STRING || k->type == PB_BYTES) {
		quote_short(sb, k->s, k->len);
	} else if (k->type == PB_BOOL) {
		strbuf_adds(sb, k->mag ? "true" : "false");
	} else {
		int_format(buf, sizeof(buf), k->neg, k->mag);
		strbuf_adds(sb, buf);
	}
}

/* Node holding the proto3 default of a scalar or message field. */
static struct pbtxt_node *default_node(const struct pb_field *f, int line, int col)
{
	struct pbtxt_node *n;
	const struct pb_enum_value *v;

	switch (f->type) {
	case PB_MESSAGE:
		n = pbtxt_node_new_message(f->name);
		break;
	case PB_STRING:
	case PB_BYTES:
		n = pbtxt_node_new_scalar(f->name, PBTXT_STRING, "", 0);
		break;
	case PB_BOOL:
		n = pbtxt_node_new_scalar(f->name, PBTXT_IDENT, "false", 5);
		break;
	case PB_FLOAT:
	case PB_DOUBLE:
		n = pbtxt_node_new_scalar(f->name, PBTXT_NUMBER, "0.0", 3);
		break;
	case PB_ENUM:
		v = pb_enum_by_number(f->enum_type, 0);
		n = v ? pbtxt_node_new_scalar(f->name, PBTXT_IDENT, v->name,
					      strlen(v->name))
		      : pbtxt_node_new_scalar(f->name, PBTXT_NUMBER, "0", 1);
		break;
	default:
		n = pbtxt_node_new_scalar(f->name, PBTXT_NUMBER, "0", 1);
		break;
	}
	n->line = line;
	n->col = col;
	return n;
}

static int normalize_message(const struct norm *c, struct pbtxt_node *msg,
			     const struct pb_message *desc, int depth,
			     bool map_entry);

/* Checks one child against its field and normalises it (recursing into messages). */
static int normalize_child(const struct norm *c, struct slot *s,
			   const struct pb_message *desc, int depth,
			   bool map_entry)
{
	const struct pb_field *f = s->field;
	struct pbtxt_node *n = s->node;
	bool is_default = false;
	int line, col;
	int rc;

	if (f->type == PB_MESSAGE) {
		if (n->kind != PBTXT_MESSAGE) {
			struct strbuf found;

			strbuf_init(&found, 0);
			describe_node(&found, n);
			value_pos(n, &line, &col);
			rc = norm_error(c, IT_ERR_INVALID, line, col,
					"field '%s' is a message; expected '{', found %s",
					f->name, found.buf);
			strbuf_release(&found);
			return rc;
		}
		rc = normalize_message(c, n, f->message, depth + 1,
				       (f->flags & PB_MAP) != 0);
		if (rc)
			return rc;
		if (f->flags & PB_MAP) {
			entry_key(n, f->message, &s->key);
			s->has_key = true;
		}
		return 0;
	}
	if (n->kind == PBTXT_MESSAGE) {
		/* at the '{', where the scalar value was expected */
		value_pos(n, &line, &col);
		return norm_error(c, IT_ERR_INVALID, line, col,
				  "field '%s' is a scalar (%s); it cannot be a message",
				  f->name, f->type == PB_ENUM ? f->enum_type->name
							      : type_name(f->type));
	}
	rc = normalize_scalar(c, n, f, desc, &is_default);
	if (rc)
		return rc;
	s->drop = is_default && !(f->flags & PB_REPEATED) && !f->oneof && !map_entry;
	return 0;
}

/* Map entries: a missing key or value is written out with its default. */
static void complete_entry(struct pbtxt_node *entry, const struct pb_message *desc,
			   struct slot **slots, size_t *n_slots,
			   const struct pbtxt_node **first)
{
	for (size_t i = 0; i < desc->n_fields && i < 2; i++) {
		struct slot *s;

		if (first[i])
			continue;
		*slots = xreallocarray(*slots, *n_slots + 1, sizeof(**slots));
		s = &(*slots)[(*n_slots)++];
		memset(s, 0, sizeof(*s));
		s->node = default_node(&desc->fields[i], entry->line, entry->col);
		s->field = &desc->fields[i];
		s->field_index = i;
		s->order = *n_slots;
	}
}

/*
 * Runs on sorted slots, where equal keys sit together in input order. Of all
 * repeated keys, reports the one whose second occurrence comes first in the
 * input, naming the position of its first occurrence.
 */
static int check_duplicate_keys(const struct norm *c, const struct slot *slots,
				size_t n, const struct pb_message *desc)
{
	const struct slot *dup = NULL;
	const struct slot *orig = NULL;
	struct strbuf key;
	int rc;

	for (size_t i = 1; i < n; i++) {
		const struct slot *a = &slots[i - 1];
		const struct slot *b = &slots[i];

		if (!a->has_key || !b->has_key || a->field_index != b->field_index ||
		    key_compare(&a->key, &b->key))
			continue;
		if (!dup || b->order < dup->order) {
			dup = b;
			orig = a;
			/* walk back to the earliest entry with this key */
			for (size_t j = i - 1; j > 0; j--) {
				const struct slot *p = &slots[j - 1];

				if (!p->has_key || p->field_index != b->field_index ||
				    key_compare(&p->key, &b->key))
					break;
				orig = p;
			}
		}
	}
	if (!dup)
		return 0;
	strbuf_init(&key, 0);
	key_describe(&key, &dup->key);
	rc = norm_error(c, IT_ERR_INVALID, dup->node->line, dup->node->col,
			"duplicate key %s in map field '%s' of %s (first at %d:%d)",
			key.buf, dup->field->name, desc->name, orig->node->line,
			orig->node->col);
	strbuf_release(&key);
	return rc;
}

static int normalize_message(const struct norm *c, struct pbtxt_node *msg,
			     const struct pb_message *desc, int depth,
			     bool map_entry)
{
	struct slot *slots = NULL;
	const struct pbtxt_node **first = NULL;
	const struct pbtxt_node **oneof_first = NULL;
	size_t n_slots = msg->n_children;
	size_t k = 0;
	int rc = 0;

	if (depth > SCHEMA_MAX_DEPTH)
		return norm_error(c, IT_ERR_LIMIT, msg->line, msg->col,
				  "messages nested deeper than %d levels",
				  SCHEMA_MAX_DEPTH);
	if (msg->kind != PBTXT_MESSAGE)
		return norm_error(c, IT_ERR_INVALID, msg->line, msg->col,
				  "expected a message for %s", desc->name);

	slots = xcalloc(n_slots + 2, sizeof(*slots));
	first = xcalloc(desc->n_fields + 1, sizeof(*first));
	oneof_first = xcalloc(desc->n_oneofs + 1, sizeof(*oneof_first));

	for (size_t i = 0; i < msg->n_children; i++) {
		struct pbtxt_node *n = msg->children[i];
		const struct pb_field *f = pb_message_field(desc, n->name, false);
		struct slot *s = &slots[i];

		if (!f) {
			rc = norm_error(c, IT_ERR_INVALID, n->line, n->col,
					"unknown field '%s' in %s",
					n->name ? n->name : "", desc->name);
			goto out;
		}
		if ((n->kind == PBTXT_EMPTY_LIST || n->list_line) &&
		    !(f->flags & PB_REPEATED)) {
			rc = norm_error(c, IT_ERR_INVALID, n->list_line,
					n->list_col,
					"non-repeated field '%s' of %s cannot take a list",
					f->name, desc->name);
			goto out;
		}
		s->node = n;
		s->field = f;
		s->field_index = (size_t)(f - desc->fields);
		s->order = i;
		if (n->kind == PBTXT_EMPTY_LIST) {
			/* `dims: []` names a repeated field and adds nothing. */
			s->drop = true;
			continue;
		}
		if (!(f->flags & PB_REPEATED)) {
			const struct pbtxt_node *prev = first[s->field_index];

			if (prev) {
				rc = norm_error(c, IT_ERR_INVALID, n->line, n->col,
						"non-repeated field '%s' is specified more than once (first at %d:%d)",
						f->name, prev->line, prev->col);
				goto out;
			}
			first[s->field_index] = n;
		}
		if (f->oneof > 0 && (size_t)f->oneof <= desc->n_oneofs) {
			const struct pbtxt_node *prev = oneof_first[f->oneof];

			if (prev) {
				rc = norm_error(c, IT_ERR_INVALID, n->line, n->col,
						"'%s' and '%s' are both set, but they are members of one oneof '%s' (first at %d:%d)",
						n->name, prev->name,
						desc->oneofs[f->oneof - 1], prev->line,
						prev->col);
				goto out;
			}
			oneof_first[f->oneof] = n;
		}
		rc = normalize_child(c, s, desc, depth, map_entry);
		if (rc)
			goto out;
	}
	if (map_entry)
		complete_entry(msg, desc, &slots, &n_slots, first);

	qsort(slots, n_slots, sizeof(*slots), slot_compare);

	/* Write the children back in canonical order; free the defaults. */
	XGROW(msg->children, msg->alloc_children, n_slots);
	for (size_t i = 0; i < n_slots; i++) {
		if (slots[i].drop) {
			pbtxt_node_free(slots[i].node);
			continue;
		}
		slots[k] = slots[i];
		msg->children[k++] = slots[i].node;
	}
	msg->n_children = k;
	rc = check_duplicate_keys(c, slots, k, desc);
out:
	free(oneof_first);
	free(first);
	free(slots);
	return rc;
}

int schema_normalize(struct pbtxt_node *msg, const struct pb_message *desc,
		     const char *filename, struct it_error *err)
{
	struct norm c = { .filename = filename, .err = err };

	if (!msg || !desc)
		return it_error_set(err, IT_ERR_INTERNAL,
				    "schema_normalize: no tree or no descriptor");
	return normalize_message(&c, msg, desc, 0, false);
}

/* ---------------------------------------------------------------------- */
/* Tree -> JSON                                                            */
/* ---------------------------------------------------------------------- */

/* A JSON string from bytes that should be UTF-8; invalid bytes become U+FFFD. */
static json_t *json_text(const char *s, size_t n)
{
	struct strbuf sb;
	json_t *j;
	size_t i = 0;

	j = json_stringn(s, n);
	if (j)
		return j;
	strbuf_init(&sb, 0);
	while (i < n) {
		size_t k = utf8_seq_len(s + i, n - i);

		if (k) {
			strbuf_add(&sb, s + i, k);
			i += k;
		} else {
			strbuf_adds(&sb, "\xef\xbf\xbd");
			i++;
		}
	}
	j = json_stringn(sb.buf, sb.len);
	strbuf_release(&sb);
	return j;
}

static json_t *int_json(enum pb_type t, bool neg, uint64_t mag, unsigned flags)
{
	char buf[NUM_BUF];
	bool wide = t == PB_INT64 || t == PB_UINT64;

	/* jansson holds long long: a uint64 above INT64_MAX can only be a string */
	if ((wide && (flags & SCHEMA_JSON_INT64_STRING)) ||
	    (!neg && mag > INT64_MAX)) {
		int_format(buf, sizeof(buf), neg, mag);
		return json_string(buf);
	}
	return json_integer((json_int_t)int_signed(neg, mag));
}

static json_t *real_json(double d)
{
	if (isnan(d))
		return json_string("NaN");
	if (isinf(d))
		return json_string(d < 0 ? "-Infinity" : "Infinity");
	return json_real(d);
}

/* JSON for one scalar node; NULL when the node does not hold a valid value. */
static json_t *scalar_json(const struct pbtxt_node *n, const struct pb_field *f,
			   unsigned flags)
{
	bool neg;
	uint64_t mag;
	double d;

	if (n->kind == PBTXT_MESSAGE)
		return NULL;
	switch (f->type) {
	case PB_INT32:
	case PB_INT64:
	case PB_UINT32:
	case PB_UINT64:
		if (int_text_parse(n->value, &neg, &mag) != NUM_OK)
			return NULL;
		return int_json(f->type, neg, mag, flags);
	case PB_FLOAT:
	case PB_DOUBLE:
		if (float_text_parse(n->value, &d) != NUM_OK)
			return NULL;
		return real_json(d);
	case PB_BOOL:
		return json_boolean(!strcmp(n->value, "true") ||
				    !strcmp(n->value, "True") ||
				    !strcmp(n->value, "t") || !strcmp(n->value, "1"));
	case PB_STRING:
		return json_text(n->value, n->value_len);
	case PB_BYTES: {
		struct strbuf sb;
		json_t *j;

		strbuf_init(&sb, 0);
		base64_encode(&sb, n->value, n->value_len);
		j = json_stringn(sb.buf, sb.len);
		strbuf_release(&sb);
		return j;
	}
	case PB_ENUM: {
		const struct pb_enum_value *v =
			pb_enum_by_name(f->enum_type, n->value, false);

		if (v)
			return json_string(v->name);
		if (int_text_parse(n->value, &neg, &mag) == NUM_OK &&
		    int_fits(PB_ENUM, neg, mag))
			return json_integer((json_int_t)int_signed(neg, mag));
		return NULL;
	}
	case PB_MESSAGE:
		break;
	}
	return NULL;
}

static json_t *message_json(const struct pbtxt_node *msg,
			    const struct pb_message *desc, unsigned flags,
			    int depth);

static json_t *value_json(const struct pbtxt_node *n, const struct pb_field *f,
			  unsigned flags, int depth)
{
	if (f->type == PB_MESSAGE)
		return n->kind == PBTXT_MESSAGE ?
			       message_json(n, f->message, flags, depth + 1) : NULL;
	return scalar_json(n, f, flags);
}

static json_t *default_json(const struct pb_field *f, unsigned flags)
{
	const struct pb_enum_value *v;

	switch (f->type) {
	case PB_INT32:
	case PB_INT64:
	case PB_UINT32:
	case PB_UINT64:
		return int_json(f->type, false, 0, flags);
	case PB_FLOAT:
	case PB_DOUBLE:
		return json_real(0.0);
	case PB_BOOL:
		return json_false();
	case PB_STRING:
	case PB_BYTES:
		return json_string("");
	case PB_ENUM:
		v = pb_enum_by_number(f->enum_type, 0);
		return v ? json_string(v->name) : json_integer(0);
	case PB_MESSAGE:
		break;
	}
	return NULL;
}

/* JSON object key of a map entry: the key's text (ints in decimal). */
static void map_key_text(const struct pbtxt_node *entry, const struct pb_field *kf,
			 struct strbuf *out)
{
	const struct pbtxt_node *k = pbtxt_node_find(entry, kf->name);
	bool neg;
	uint64_t mag;
	char buf[NUM_BUF];

	if (!k) {
		if (kf->type == PB_BOOL)
			strbuf_adds(out, "false");
		else if (kf->type != PB_STRING && kf->type != PB_BYTES)
			strbuf_addch(out, '0');
		return;
	}
	if (kf->type == PB_STRING || kf->type == PB_BYTES) {
		strbuf_add(out, k->value, k->value_len);
	} else if (kf->type == PB_BOOL) {
		strbuf_adds(out, !strcmp(k->value, "true") ? "true" : "false");
	} else if (int_text_parse(k->value, &neg, &mag) == NUM_OK) {
		int_format(buf, sizeof(buf), neg, mag);
		strbuf_adds(out, buf);
	} else {
		strbuf_adds(out, k->value);
	}
}

static json_t *map_json(const struct pbtxt_node *msg, const struct pb_field *f,
			unsigned flags, int depth)
{
	const struct pb_message *entry_desc = f->message;
	const struct pb_field *vf = &entry_desc->fields[1];
	json_t *obj = json_object();
	struct strbuf key;

	strbuf_init(&key, 0);
	for (size_t i = 0; i < msg->n_children; i++) {
		const struct pbtxt_node *e = msg->children[i];
		const struct pbtxt_node *v;
		json_t *jv, *jk;

		if (strcmp(e->name, f->name) || e->kind != PBTXT_MESSAGE)
			continue;
		strbuf_setlen(&key, 0);
		map_key_text(e, &entry_desc->fields[0], &key);
		v = pbtxt_node_find(e, vf->name);
		if (v)
			jv = value_json(v, vf, flags, depth + 1);
		else if (vf->type == PB_MESSAGE)
			jv = json_object();
		else
			jv = default_json(vf, flags);
		if (!jv)
			continue;
		/* via json_text(): a key that is not UTF-8 is repaired, not lost */
		jk = json_text(key.buf, key.len);
		json_object_setn_new(obj, json_string_value(jk),
				     json_string_length(jk), jv);
		json_decref(jk);
	}
	strbuf_release(&key);
	return obj;
}

static json_t *message_json(const struct pbtxt_node *msg,
			    const struct pb_message *desc, unsigned flags,
			    int depth)
{
	json_t *obj = json_object();

	if (depth > SCHEMA_MAX_DEPTH)
		return obj;
	for (size_t fi = 0; fi < desc->n_fields; fi++) {
		const struct pb_field *f = &desc->fields[fi];
		json_t *jv = NULL;

		if (f->flags & PB_MAP) {
			jv = map_json(msg, f, flags, depth);
			if (!json_object_size(jv) && !(flags & SCHEMA_JSON_ALL_FIELDS)) {
				json_decref(jv);
				jv = NULL;
			}
		} else if (f->flags & PB_REPEATED) {
			jv = json_array();
			for (size_t i = 0; i < msg->n_children; i++) {
				const struct pbtxt_node *n = msg->children[i];
				json_t *e;

				if (strcmp(n->name, f->name))
					continue;
				e = value_json(n, f, flags, depth);
				if (e)
					json_array_append_new(jv, e);
			}
			if (!json_array_size(jv) && !(flags & SCHEMA_JSON_ALL_FIELDS)) {
				json_decref(jv);
				jv = NULL;
			}
		} else {
			const struct pbtxt_node *n = pbtxt_node_find(msg, f->name);

			if (n)
				jv = value_json(n, f, flags, depth);
			else if ((flags & SCHEMA_JSON_ALL_FIELDS) && !f->oneof)
				jv = default_json(f, flags);
		}
		if (jv)
			json_object_set_new(obj, f->name, jv);
	}
	return obj;
}

json_t *schema_to_json(const struct pbtxt_node *msg,
		       const struct pb_message *desc, unsigned flags)
{
	if (!msg || !desc || msg->kind != PBTXT_MESSAGE)
		return json_object();
	return message_json(msg, desc, flags, 0);
}

/* ---------------------------------------------------------------------- */
/* JSON -> tree                                                            */
/* ---------------------------------------------------------------------- */

struct jctx {
	struct strbuf path; /* "config.input[0].dims[1]" while descending */
	struct it_error *err;
};

__attribute__((format(printf, 3, 4)))
static int json_error(struct jctx *c, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	code = it_error_setv(c->err, code, fmt, ap);
	va_end(ap);
	/* "path: message", cut at the message buffer's end as one format would. */
	it_error_prefix(c->err, "%s", c->path.buf);
	return code;
}

/* "string \"abc\"", "number 1.5", "an object", "null", ... */
static void describe_json(struct strbuf *sb, const json_t *j)
{
	char num[NUM_BUF];

	switch (json_typeof(j)) {
	case JSON_OBJECT:
		strbuf_adds(sb, "an object");
		break;
	case JSON_ARRAY:
		strbuf_adds(sb, "an array");
		break;
	case JSON_STRING:
		strbuf_adds(sb, "string ");
		quote_short(sb, json_string_value(j), json_string_length(j));
		break;
	case JSON_INTEGER:
		strbuf_addf(sb, "number %" JSON_INTEGER_FORMAT, json_integer_value(j));
		break;
	case JSON_REAL:
		real_format(num, sizeof(num), json_real_value(j), false);
		strbuf_addf(sb, "number %s", num);
		break;
	case JSON_TRUE:
		strbuf_adds(sb, "true");
		break;
	case JSON_FALSE:
		strbuf_adds(sb, "false");
		break;
	case JSON_NULL:
		strbuf_adds(sb, "null");
		break;
	}
}

static int json_expect(struct jctx *c, const json_t *j, const char *expected)
{
	struct strbuf found;
	int rc;

	strbuf_init(&found, 0);
	describe_json(&found, j);
	rc = json_error(c, IT_ERR_INVALID, "expected %s, found %s", expected, found.buf);
	strbuf_release(&found);
	return rc;
}

/* Integer from a JSON number (integral reals too) or a decimal string. */
static int json_int_value(struct jctx *c, const json_t *j, enum pb_type t,
			  bool *neg, uint64_t *mag)
{
	char num[NUM_BUF];
	struct strbuf text;
	int rc = 0;

	strbuf_init(&text, 0);
	if (json_is_integer(j)) {
		json_int_t v = json_integer_value(j);

		*neg = v < 0;
		*mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
		strbuf_addf(&text, "%" JSON_INTEGER_FORMAT, v);
	} else if (json_is_real(j)) {
		double d = json_real_value(j);

		if (!isfinite(d) || floor(d) != d) {
			rc = json_expect(c, j, "an integer");
			goto out;
		}
		real_format(num, sizeof(num), d, false);
		strbuf_adds(&text, num);
		if (d >= 18446744073709551616.0 || d < -9223372036854775808.0) {
			rc = json_error(c, IT_ERR_INVALID,
					"value %s out of range for %s", text.buf,
					type_name(t));
			goto out;
		}
		*neg = d < 0;
		*mag = d < 0 ? (uint64_t)(-d) : (uint64_t)d;
	} else if (json_is_string(j)) {
		const char *s = json_string_value(j);
		int r = int_decimal_parse(s, neg, mag);

		if (r == NUM_SYNTAX || strlen(s) != json_string_length(j)) {
			rc = json_expect(c, j, "an integer");
			goto out;
		}
		strbuf_adds(&text, s);
		if (r == NUM_RANGE) {
			rc = json_error(c, IT_ERR_INVALID,
					"value %.40s out of range for %s", text.buf,
					type_name(t));
			goto out;
		}
	} else {
		rc = json_expect(c, j, "an integer");
		goto out;
	}
	if (!int_fits(t, *neg, *mag))
		rc = json_error(c, IT_ERR_INVALID, "value %.40s out of range for %s",
				text.buf, type_name(t));
out:
	strbuf_release(&text);
	return rc;
}

static int json_real_value_of(struct jctx *c, const json_t *j, enum pb_type t,
			      double *out)
{
	char num[NUM_BUF];
	double d;

	if (json_is_number(j)) {
		d = json_number_value(j);
	} else if (json_is_string(j)) {
		const char *s = json_string_value(j);
		const char *p = s[0] == '-' ? s + 1 : s;

		if (!strcmp(s, "NaN")) {
			d = NAN;
		} else if (!strcmp(s, "Infinity")) {
			d = INFINITY;
		} else if (!strcmp(s, "-Infinity")) {
			d = -INFINITY;
		} else if (decimal_float_syntax(p, false) &&
			   strlen(s) == json_string_length(j)) {
			d = strtod(s, NULL);
			if (isinf(d))
				return json_error(c, IT_ERR_INVALID,
						  "value %.40s out of range for %s",
						  s, type_name(t));
		} else {
			return json_expect(c, j, "a number");
		}
	} else {
		return json_expect(c, j, "a number");
	}
	/* protobuf's JSON parser refuses finite values a float cannot hold */
	if (t == PB_FLOAT && isfinite(d) && fabs(d) > FLT_MAX) {
		real_format(num, sizeof(num), d, false);
		return json_error(c, IT_ERR_INVALID,
				  "value %s out of range for float", num);
	}
	*out = t == PB_FLOAT ? to_float_precision(d) : d;
	return 0;
}

static int json_message(struct jctx *c, const json_t *j,
			const struct pb_message *desc, struct pbtxt_node *out,
			int depth);

/* Builds the node for one value of field f (an element, for repeated fields). */
static int json_value(struct jctx *c, const json_t *j, const struct pb_field *f,
		      int depth, struct pbtxt_node **out)
{
	struct pbtxt_node *n = NULL;
	char buf[NUM_BUF];
	const char *s;
	bool neg = false;
	uint64_t mag = 0;
	double d = 0.0;
	int rc = 0;

	switch (f->type) {
	case PB_MESSAGE:
		n = pbtxt_node_new_message(f->name);
		rc = json_message(c, j, f->message, n, depth + 1);
		break;
	case PB_INT32:
	case PB_INT64:
	case PB_UINT32:
	case PB_UINT64:
		rc = json_int_value(c, j, f->type, &neg, &mag);
		if (rc)
			break;
		int_format(buf, sizeof(buf), neg, mag);
		n = pbtxt_node_new_scalar(f->name, PBTXT_NUMBER, buf, strlen(buf));
		break;
	case PB_FLOAT:
	case PB_DOUBLE:
		rc = json_real_value_of(c, j, f->type, &d);
		if (rc)
			break;
		real_format(buf, sizeof(buf), d, f->type == PB_FLOAT);
		n = pbtxt_node_new_scalar(f->name, real_kind(buf), buf, strlen(buf));
		break;
	case PB_BOOL:
		if (!json_is_boolean(j)) {
			rc = json_expect(c, j, "true or false");
			break;
		}
		s = json_is_true(j) ? "true" : "false";
		n = pbtxt_node_new_scalar(f->name, PBTXT_IDENT, s, strlen(s));
		break;
	case PB_STRING:
		if (!json_is_string(j)) {
			rc = json_expect(c, j, "a string");
			break;
		}
		n = pbtxt_node_new_scalar(f->name, PBTXT_STRING, json_string_value(j),
					  json_string_length(j));
		break;
	case PB_BYTES: {
		struct strbuf sb;

		if (!json_is_string(j)) {
			rc = json_expect(c, j, "a base64 string");
			break;
		}
		strbuf_init(&sb, 0);
		if (base64_decode(&sb, json_string_value(j), json_string_length(j),
				  BASE64_URL_SAFE | BASE64_LAX_PADDING))
			rc = json_expect(c, j, "a base64 string");
		else
			n = pbtxt_node_new_scalar(f->name, PBTXT_STRING, sb.buf, sb.len);
		strbuf_release(&sb);
		break;
	}
	case PB_ENUM: {
		const struct pb_enum_value *v = NULL;

		if (json_is_string(j)) {
			/* Triton parses with case_insensitive_enum_parsing */
			v = pb_enum_by_name(f->enum_type, json_string_value(j), true);
			if (!v) {
				rc = json_error(c, IT_ERR_INVALID,
						"unknown value '%.40s' for enum %s",
						json_string_value(j), f->enum_type->name);
				break;
			}
		} else if (json_is_integer(j)) {
			json_int_t x = json_integer_value(j);

			if (x >= INT32_MIN && x <= INT32_MAX)
				v = pb_enum_by_number(f->enum_type, (int)x);
			if (!v) {
				rc = json_error(c, IT_ERR_INVALID,
						"unknown value %" JSON_INTEGER_FORMAT " for enum %s",
						x, f->enum_type->name);
				break;
			}
		} else {
			struct strbuf want;

			strbuf_init(&want, 0);
			strbuf_addf(&want, "a value of enum %s", f->enum_type->name);
			rc = json_expect(c, j, want.buf);
			strbuf_release(&want);
			break;
		}
		n = pbtxt_node_new_scalar(f->name, PBTXT_IDENT, v->name, strlen(v->name));
		break;
	}
	}
	if (rc) {
		pbtxt_node_free(n);
		return rc;
	}
	*out = n;
	return 0;
}

/* Map key from its JSON object key text, converted to the key type. */
static int json_map_key(struct jctx *c, const char *key, size_t key_len,
			const struct pb_field *kf, struct pbtxt_node **out)
{
	char buf[NUM_BUF];
	bool neg;
	uint64_t mag;
	int r;

	if (kf->type == PB_STRING || kf->type == PB_BYTES) {
		*out = pbtxt_node_new_scalar(kf->name, PBTXT_STRING, key, key_len);
		return 0;
	}
	if (kf->type == PB_BOOL) {
		if (strcmp(key, "true") && strcmp(key, "false"))
			return json_error(c, IT_ERR_INVALID,
					  "map key '%.40s' is not true or false", key);
		*out = pbtxt_node_new_scalar(kf->name, PBTXT_IDENT, key, strlen(key));
		return 0;
	}
	r = int_decimal_parse(key, &neg, &mag);
	if (r == NUM_SYNTAX || strlen(key) != key_len)
		return json_error(c, IT_ERR_INVALID, "map key '%.40s' is not an integer",
				  key);
	if (r == NUM_RANGE || !int_fits(kf->type, neg, mag))
		return json_error(c, IT_ERR_INVALID,
				  "map key %.40s out of range for %s", key,
				  type_name(kf->type));
	int_format(buf, sizeof(buf), neg, mag);
	*out = pbtxt_node_new_scalar(kf->name, PBTXT_NUMBER, buf, strlen(buf));
	return 0;
}

static void path_key(struct strbuf *path, const char *key, size_t len)
{
	strbuf_addch(path, '[');
	quote_short(path, key, len);
	strbuf_addch(path, ']');
}

static int json_map(struct jctx *c, const json_t *j, const struct pb_field *f,
		    struct pbtxt_node *parent, int depth)
{
	const struct pb_message *entry_desc = f->message;
	const struct pb_field *kf = &entry_desc->fields[0];
	const struct pb_field *vf = &entry_desc->fields[1];
	json_t *seen = NULL;
	size_t base = c->path.len;
	const char *key;
	size_t key_len;
	json_t *v;
	int rc = 0;

	if (!json_is_object(j))
		return json_expect(c, j, "an object");
	if (depth + 1 > SCHEMA_MAX_DEPTH)
		return json_error(c, IT_ERR_LIMIT, "nested deeper than %d levels",
				  SCHEMA_MAX_DEPTH);
	/* canonical key text -> key as written, to catch "1" and "01" */
	seen = json_object();
	json_object_keylen_foreach((json_t *)j, key, key_len, v) {
		struct pbtxt_node *entry = NULL;
		struct pbtxt_node *kn = NULL;
		struct pbtxt_node *vn = NULL;
		json_t *prev;

		strbuf_setlen(&c->path, base);
		path_key(&c->path, key, key_len);
		rc = json_map_key(c, key, key_len, kf, &kn);
		if (rc)
			goto out;
		if (kf->type != PB_STRING && kf->type != PB_BYTES) {
			prev = json_object_get(seen, kn->value);
			if (prev) {
				rc = json_error(c, IT_ERR_INVALID,
						"duplicate map key (same as '%s')",
						json_string_value(prev));
				pbtxt_node_free(kn);
				goto out;
			}
			json_object_set_new(seen, kn->value, json_stringn(key, key_len));
		}
		if (json_is_null(v)) {
			pbtxt_node_free(kn);
			rc = json_expect(c, v, vf->type == PB_MESSAGE ? "an object"
								      : "a value");
			goto out;
		}
		rc = json_value(c, v, vf, depth + 1, &vn);
		if (rc) {
			pbtxt_node_free(kn);
			goto out;
		}
		entry = pbtxt_node_new_message(f->name);
		pbtxt_node_append(entry, kn);
		pbtxt_node_append(entry, vn);
		pbtxt_node_append(parent, entry);
	}
	strbuf_setlen(&c->path, base);
out:
	json_decref(seen);
	return rc;
}

static int json_message(struct jctx *c, const json_t *j,
			const struct pb_message *desc, struct pbtxt_node *out,
			int depth)
{
	const char **seen_as = NULL;
	const char **oneof_key = NULL;
	size_t base = c->path.len;
	const char *key;
	size_t key_len;
	json_t *v;
	int rc = 0;

	if (depth > SCHEMA_MAX_DEPTH)
		return json_error(c, IT_ERR_LIMIT, "nested deeper than %d levels",
				  SCHEMA_MAX_DEPTH);
	if (!json_is_object(j))
		return json_expect(c, j, "an object");

	seen_as = xcalloc(desc->n_fields + 1, sizeof(*seen_as));
	oneof_key = xcalloc(desc->n_oneofs + 1, sizeof(*oneof_key));
	json_object_keylen_foreach((json_t *)j, key, key_len, v) {
		const struct pb_field *f = NULL;
		size_t idx;

		strbuf_setlen(&c->path, base);
		/* a key with a NUL inside names no field */
		if (strlen(key) == key_len) {
			f = pb_message_field(desc, key, false);
			if (!f)
				f = pb_message_field(desc, key, true);
		}
		if (!f && strlen(key) != key_len) {
			struct strbuf shown;

			strbuf_init(&shown, 0);
			quote_short(&shown, key, key_len);
			rc = json_error(c, IT_ERR_INVALID, "unknown field %s", shown.buf);
			strbuf_release(&shown);
			goto out;
		}
		if (!f) {
			rc = json_error(c, IT_ERR_INVALID, "unknown field '%.60s'", key);
			goto out;
		}
		if (json_is_null(v))
			continue; /* null means absent */
		idx = (size_t)(f - desc->fields);
		if (seen_as[idx]) {
			rc = json_error(c, IT_ERR_INVALID,
					"field '%s' is given twice (as '%s' and '%s')",
					f->name, seen_as[idx], key);
			goto out;
		}
		seen_as[idx] = key;
		if (f->oneof > 0 && (size_t)f->oneof <= desc->n_oneofs) {
			if (oneof_key[f->oneof]) {
				rc = json_error(c, IT_ERR_INVALID,
						"'%s' and '%s' are both set, but they are members of one oneof '%s'",
						key, oneof_key[f->oneof],
						desc->oneofs[f->oneof - 1]);
				goto out;
			}
			oneof_key[f->oneof] = key;
		}

		strbuf_addf(&c->path, ".%s", key);
		if (f->flags & PB_MAP) {
			rc = json_map(c, v, f, out, depth);
		} else if (f->flags & PB_REPEATED) {
			size_t elem_base = c->path.len;
			size_t i;
			json_t *e;

			if (!json_is_array(v)) {
				rc = json_expect(c, v, "an array");
				goto out;
			}
			json_array_foreach(v, i, e) {
				struct pbtxt_node *n = NULL;

				strbuf_setlen(&c->path, elem_base);
				strbuf_addf(&c->path, "[%zu]", i);
				rc = json_value(c, e, f, depth, &n);
				if (rc)
					goto out;
				pbtxt_node_append(out, n);
			}
		} else {
			struct pbtxt_node *n = NULL;

			rc = json_value(c, v, f, depth, &n);
			if (!rc)
				pbtxt_node_append(out, n);
		}
		if (rc)
			goto out;
	}
	strbuf_setlen(&c->path, base);
out:
	free(oneof_key);
	free(seen_as);
	return rc;
}

struct pbtxt_node *schema_from_json(const json_t *json,
				    const struct pb_message *desc,
				    const char *what, struct it_error *err)
{
	struct jctx c = { .err = err };
	struct pbtxt_node *root = NULL;
	struct pbtxt_node *result = NULL;
	int rc;

	strbuf_init(&c.path, 0);
	strbuf_adds(&c.path, what ? what : "json");
	if (!json || !desc) {
		it_error_set(err, IT_ERR_INTERNAL, "%s: no JSON or no descriptor",
			     c.path.buf);
		goto out;
	}
	root = pbtxt_node_new_message(NULL);
	root->line = 0;
	root->col = 0;
	rc = json_message(&c, json, desc, root, 0);
	if (rc)
		goto out;
	rc = schema_normalize(root, desc, NULL, err);
	if (rc) {
		it_error_prefix(err, "%s", c.path.buf);
		goto out;
	}
	result = root;
	root = NULL;
out:
	pbtxt_node_free(root);
	strbuf_release(&c.path);
	return result;
}
