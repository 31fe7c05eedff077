/*
 * Protocol-buffer text format: a small tokenizer, a recursive-descent parser
 * with an explicit depth counter (so hostile input cannot overflow the stack),
 * the node tree helpers and the canonical printer. Syntax only; depends on
 * util/ only.
 */
#include "pbtxt/pbtxt.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"
#include "util/strbuf.h"
#include "util/parse.h"
#include "util/xalloc.h"
#include "util/banned.h"

/*
 * Longest identifier or number token. Real field names and numbers are tens
 * of bytes; the cap keeps a pathological token from being copied into nodes
 * and error messages. Strings are bounded only by the input size.
 */
#define PBTXT_MAX_TOKEN_BYTES 4096
/* Bytes of a token's text quoted in an error message before "..." */
#define SHOW_TOKEN_BYTES 32
/* Bytes of a field name quoted in an error message. */
#define SHOW_NAME_BYTES 64

/* ---------------------------------------------------------------- nodes */

/*
 * Recursion in free/clone/equal/print follows the tree's depth. Trees from
 * pbtxt_parse() are at most PBTXT_MAX_DEPTH deep; trees built in code are as
 * deep as their builder made them, which is the builder's business.
 */

static struct pbtxt_node *node_new(const char *name, size_t name_len,
				   enum pbtxt_kind kind)
{
	struct pbtxt_node *node = xcalloc(1, sizeof(*node));

	node->name = name ? xmemdup(name, name_len) : NULL;
	node->kind = kind;
	return node;
}

void pbtxt_node_free(struct pbtxt_node *node)
{
	size_t i;

	if (!node)
		return;
	for (i = 0; i < node->n_children; i++)
		pbtxt_node_free(node->children[i]);
	free(node->children);
	free(node->value);
	free(node->name);
	free(node);
}

struct pbtxt_node *pbtxt_node_new_message(const char *name)
{
	return node_new(name, name ? strlen(name) : 0, PBTXT_MESSAGE);
}

struct pbtxt_node *pbtxt_node_new_scalar(const char *name, enum pbtxt_kind kind,
					 const char *value, size_t len)
{
	struct pbtxt_node *node = node_new(name, name ? strlen(name) : 0, kind);

	node->value = xmemdup(value ? value : "", value ? len : 0);
	node->value_len = value ? len : 0;
	return node;
}

struct pbtxt_node *pbtxt_node_clone(const struct pbtxt_node *node)
{
	struct pbtxt_node *copy;
	size_t i;

	if (!node)
		return NULL;
	copy = node_new(node->name, node->name ? strlen(node->name) : 0,
			node->kind);
	if (node->value) {
		copy->value = xmemdup(node->value, node->value_len);
		copy->value_len = node->value_len;
	}
	copy->line = node->line;
	copy->col = node->col;
	copy->value_line = node->value_line;
	copy->value_col = node->value_col;
	copy->list_line = node->list_line;
	copy->list_col = node->list_col;
	if (node->n_children) {
		copy->children = xcalloc(node->n_children, sizeof(*copy->children));
		copy->alloc_children = node->n_children;
		for (i = 0; i < node->n_children; i++)
			copy->children[i] = pbtxt_node_clone(node->children[i]);
		copy->n_children = node->n_children;
	}
	return copy;
}

void pbtxt_node_append(struct pbtxt_node *parent, struct pbtxt_node *child)
{
	pbtxt_node_insert(parent, parent ? parent->n_children : 0, child);
}

void pbtxt_node_insert(struct pbtxt_node *parent, size_t index,
		       struct pbtxt_node *child)
{
	if (!parent || !child)
		return;
	/* An index past the end is a caller bug; appending loses nothing. */
	if (index > parent->n_children)
		index = parent->n_children;
	XGROW(parent->children, parent->alloc_children, parent->n_children + 1);
	memmove(parent->children + index + 1, parent->children + index,
		(parent->n_children - index) * sizeof(*parent->children));
	parent->children[index] = child;
	parent->n_children++;
}

void pbtxt_node_remove(struct pbtxt_node *parent, size_t index)
{
	if (!parent || index >= parent->n_children)
		return;
	pbtxt_node_free(parent->children[index]);
	memmove(parent->children + index, parent->children + index + 1,
		(parent->n_children - index - 1) * sizeof(*parent->children));
	parent->n_children--;
}

static bool name_is(const struct pbtxt_node *node, const char *name)
{
	return node->name && name && strcmp(node->name, name) == 0;
}

size_t pbtxt_node_remove_all(struct pbtxt_node *parent, const char *name)
{
	size_t i, kept = 0, removed = 0;

	if (!parent)
		return 0;
	for (i = 0; i < parent->n_children; i++) {
		struct pbtxt_node *child = parent->children[i];

		if (name_is(child, name)) {
			pbtxt_node_free(child);
			removed++;
		} else {
			parent->children[kept++] = child;
		}
	}
	parent->n_children = kept;
	return removed;
}

struct pbtxt_node *pbtxt_node_find(const struct pbtxt_node *parent,
				   const char *name)
{
	size_t i;

	if (!parent)
		return NULL;
	for (i = 0; i < parent->n_children; i++) {
		if (parent->children[i]->kind != PBTXT_EMPTY_LIST &&
		    name_is(parent->children[i], name))
			return parent->children[i];
	}
	return NULL;
}

size_t pbtxt_node_count(const struct pbtxt_node *parent, const char *name)
{
	size_t i, n = 0;

	if (!parent)
		return 0;
	for (i = 0; i < parent->n_children; i++) {
		if (parent->children[i]->kind != PBTXT_EMPTY_LIST &&
		    name_is(parent->children[i], name))
			n++;
	}
	return n;
}

void pbtxt_node_set_value(struct pbtxt_node *node, enum pbtxt_kind kind,
			  const char *value, size_t len)
{
	char *copy;

	if (!node)
		return;
	/* Copy first: value may point into node->value itself. */
	copy = xmemdup(value ? value : "", value ? len : 0);
	free(node->value);
	node->value = copy;
	node->value_len = value ? len : 0;
	node->kind = kind;
}

/* Index of the next child at or after i that is not an empty-list marker. */
static size_t next_real_child(const struct pbtxt_node *n, size_t i)
{
	while (i < n->n_children && n->children[i]->kind == PBTXT_EMPTY_LIST)
		i++;
	return i;
}

bool pbtxt_node_equal(const struct pbtxt_node *a, const struct pbtxt_node *b)
{
	size_t i, j;

	if (!a || !b)
		return a == b;
	if (a->kind != b->kind)
		return false;
	if (!a->name != !b->name || (a->name && strcmp(a->name, b->name) != 0))
		return false;
	if (!a->value != !b->value || a->value_len != b->value_len)
		return false;
	if (a->value && memcmp(a->value, b->value, a->value_len) != 0)
		return false;
	i = next_real_child(a, 0);
	j = next_real_child(b, 0);
	while (i < a->n_children && j < b->n_children) {
		if (!pbtxt_node_equal(a->children[i], b->children[j]))
			return false;
		i = next_real_child(a, i + 1);
		j = next_real_child(b, j + 1);
	}
	return i == a->n_children && j == b->n_children;
}

/* ---------------------------------------------------------------- lexer */

enum tok_type {
	TOK_EOF,
	TOK_PUNCT,  /* one of : { } < > [ ] , ; - */
	TOK_IDENT,
	TOK_NUMBER, /* unsigned; a leading '-' is its own TOK_PUNCT */
	TOK_STRING, /* one literal; decoded bytes in lexer.str */
};

struct token {
	enum tok_type type;
	const char *text; /* source bytes (strings: quotes included) */
	size_t len;
	int line;
	int col;
};

struct lexer {
	const char *pos;
	const char *end;
	int line;
	int col;
	const char *filename;
	struct it_error *err;
	struct token tok;   /* the peeked token, valid while have_tok */
	bool have_tok;
	struct strbuf str;  /* decoded value of tok when it is a string */
};

static bool is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
	       c == '\v';
}

static bool is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static bool is_octal(int c)
{
	return c >= '0' && c <= '7';
}

static bool is_ident_start(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_ident_char(int c)
{
	return is_ident_start(c) || is_digit(c);
}

static void lex_init(struct lexer *lx, const char *text, size_t len,
		     const char *filename, struct it_error *err)
{
	memset(lx, 0, sizeof(*lx));
	lx->pos = text;
	lx->end = text + len;
	lx->line = 1;
	lx->col = 1;
	lx->filename = filename;
	lx->err = err;
	strbuf_init(&lx->str, 0);
}

static void lex_release(struct lexer *lx)
{
	strbuf_release(&lx->str);
}

/* The byte `off` bytes ahead, or -1 past the end (the input has no terminator). */
static int lex_byte(const struct lexer *lx, size_t off)
{
	if ((size_t)(lx->end - lx->pos) <= off)
		return -1;
	return (unsigned char)lx->pos[off];
}

/* Only '\n' starts a line (the CR of a CRLF is one more column); a tab is one column. */
static void lex_bump(struct lexer *lx, size_t n)
{
	while (n--) {
		if (*lx->pos == '\n') {
			lx->line++;
			lx->col = 1;
		} else {
			lx->col++;
		}
		lx->pos++;
	}
}

static int lex_fail(struct lexer *lx, int code, int line, int col,
		    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int lex_fail(struct lexer *lx, int code, int line, int col,
		    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	code = it_error_atv(lx->err, code, lx->filename, line, col, fmt, ap);
	va_end(ap);
	return code;
}

/*
 * Copies at most SHOW_TOKEN_BYTES of s into buf for an error message, with
 * control bytes as '?' so the message stays one line, without splitting a
 * UTF-8 sequence, and with "..." when cut.
 */
static const char *clip_text(char *buf, size_t size, const char *s, size_t len)
{
	size_t n = len, i;
	bool cut = false;
	int back = 0;

	if (n > SHOW_TOKEN_BYTES) {
		n = SHOW_TOKEN_BYTES;
		cut = true;
		/* s[n] is the first byte left out; it must start a character. */
		while (n > 0 && back < 3 && ((unsigned char)s[n] & 0xC0) == 0x80) {
			n--;
			back++;
		}
	}
	if (n + 4 > size)
		n = size > 4 ? size - 4 : 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		buf[i] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	if (cut) {
		memcpy(buf + n, "...", 3);
		n += 3;
	}
	buf[n] = '\0';
	return buf;
}

/* Describes a token for "found ..." in a message: '}', identifier 'x', ... */
static const char *tok_describe(const struct token *t, char *buf, size_t size)
{
	char clip[SHOW_TOKEN_BYTES + 8];

	switch (t->type) {
	case TOK_EOF:
		snprintf(buf, size, "end of input");
		break;
	case TOK_PUNCT:
		snprintf(buf, size, "'%c'", t->text[0]);
		break;
	case TOK_IDENT:
		snprintf(buf, size, "identifier '%s'",
			 clip_text(clip, sizeof(clip), t->text, t->len));
		break;
	case TOK_NUMBER:
		snprintf(buf, size, "number '%s'",
			 clip_text(clip, sizeof(clip), t->text, t->len));
		break;
	case TOK_STRING:
		/* The literal as written, between its quotes. */
		snprintf(buf, size, "string \"%s\"",
			 clip_text(clip, sizeof(clip), t->text + 1, t->len - 2));
		break;
	}
	return buf;
}

static int lex_nul(struct lexer *lx, int line, int col)
{
	/* A NUL means a binary file or a truncated buffer; no field can hold one raw. */
	return lex_fail(lx, IT_ERR_PARSE, line, col, "unexpected NUL byte");
}

/* Skips whitespace and '#' comments. */
static int lex_skip(struct lexer *lx)
{
	int c;

	for (;;) {
		c = lex_byte(lx, 0);
		if (c < 0)
			return 0;
		if (is_space(c)) {
			lex_bump(lx, 1);
			continue;
		}
		if (c != '#')
			return 0;
		for (;;) {
			c = lex_byte(lx, 0);
			if (c < 0 || c == '\n')
				break;
			if (c == '\0')
				return lex_nul(lx, lx->line, lx->col);
			lex_bump(lx, 1);
		}
	}
}

/*
 * Numbers follow protobuf's tokenizer (io/tokenizer.cc ConsumeNumber):
 * "0x" hex, leading-0 octal, or decimal with optional fraction, exponent and
 * an 'f'/'F' float suffix. A letter, digit, '_' or '.' straight after the
 * number is an error rather than a second token.
 */
static int lex_number(struct lexer *lx, struct token *t)
{
	const char *hint = NULL;
	char clip[SHOW_TOKEN_BYTES + 8];
	bool integer_only = false;
	size_t n = 0, exp_start;
	int c0 = lex_byte(lx, 0);
	int c1 = lex_byte(lx, 1);
	int c;

	if (c0 == '0' && (c1 == 'x' || c1 == 'X')) {
		n = 2;
		while (parse_hex_digit(lex_byte(lx, n)) >= 0)
			n++;
		if (n == 2)
			hint = "expected hex digits after '0x'";
		integer_only = true;
	} else if (c0 == '0' && is_digit(c1)) {
		n = 1;
		while (is_octal(lex_byte(lx, n)))
			n++;
		if (is_digit(lex_byte(lx, n)))
			hint = "a number with a leading 0 is octal and takes only digits 0-7";
		integer_only = true;
	} else {
		while (is_digit(lex_byte(lx, n)))
			n++;
		if (lex_byte(lx, n) == '.') {
			n++;
			while (is_digit(lex_byte(lx, n)))
				n++;
		}
		c = lex_byte(lx, n);
		if (c == 'e' || c == 'E') {
			n++;
			c = lex_byte(lx, n);
			if (c == '+' || c == '-')
				n++;
			exp_start = n;
			while (is_digit(lex_byte(lx, n)))
				n++;
			if (n == exp_start)
				hint = "the exponent has no digits";
		}
		c = lex_byte(lx, n);
		if (!hint && (c == 'f' || c == 'F'))
			n++;
	}
	c = lex_byte(lx, n);
	if (!hint && integer_only && c == '.')
		hint = "hex and octal numbers must be integers";
	if (hint || is_ident_char(c) || c == '.') {
		/* Show the whole word the user wrote, not just the valid prefix. */
		while (is_ident_char(lex_byte(lx, n)) || lex_byte(lx, n) == '.')
			n++;
		clip_text(clip, sizeof(clip), lx->pos, n);
		if (hint)
			return lex_fail(lx, IT_ERR_PARSE, lx->line, lx->col,
					"invalid number '%s': %s", clip, hint);
		return lex_fail(lx, IT_ERR_PARSE, lx->line, lx->col,
				"invalid number '%s'", clip);
	}
	if (n > PBTXT_MAX_TOKEN_BYTES)
		return lex_fail(lx, IT_ERR_LIMIT, lx->line, lx->col,
				"number is longer than %d bytes",
				PBTXT_MAX_TOKEN_BYTES);
	t->type = TOK_NUMBER;
	t->len = n;
	return 0;
}

static int lex_ident(struct lexer *lx, struct token *t)
{
	size_t n = 1;

	while (is_ident_char(lex_byte(lx, n)))
		n++;
	if (n > PBTXT_MAX_TOKEN_BYTES)
		return lex_fail(lx, IT_ERR_LIMIT, lx->line, lx->col,
				"identifier is longer than %d bytes",
				PBTXT_MAX_TOKEN_BYTES);
	t->type = TOK_IDENT;
	t->len = n;
	return 0;
}

/* Reads exactly `count` hex digits at offset off; false if any is missing. */
static bool lex_hex_digits(const struct lexer *lx, size_t off, size_t count,
			   uint32_t *value)
{
	uint32_t v = 0;
	size_t i;

	for (i = 0; i < count; i++) {
		int d = parse_hex_digit(lex_byte(lx, off + i));

		if (d < 0)
			return false;
		v = v * 16 + (uint32_t)d;
	}
	*value = v;
	return true;
}

/* Encodes cp (at most 0x10FFFF) as UTF-8 into b; returns the byte count. */
static size_t utf8_encode(uint32_t cp, char *b)
{
	if (cp < 0x80) {
		b[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		b[0] = (char)(0xC0 | (cp >> 6));
		b[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		b[0] = (char)(0xE0 | (cp >> 12));
		b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		b[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	b[0] = (char)(0xF0 | (cp >> 18));
	b[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	b[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	b[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

static char simple_escape(int e)
{
	switch (e) {
	case 'n': return '\n';
	case 't': return '\t';
	case 'r': return '\r';
	case 'a': return '\a';
	case 'b': return '\b';
	case 'f': return '\f';
	case 'v': return '\v';
	case '\\': return '\\';
	case '\'': return '\'';
	case '"': return '"';
	case '?': return '?';
	default: return 0;
	}
}

/*
 * Decodes the escape sequence whose backslash is at offset *off of a string
 * that opened at line:col (strings never span lines, so offset k is at column
 * col + k) into out[0..*out_len), at most 4 bytes. Advances *off past it.
 */
static int lex_escape(struct lexer *lx, size_t *off, int line, int col,
		      char *out, size_t *out_len)
{
	size_t n = *off, digits;
	int bs_col = col + (int)n;
	int e = lex_byte(lx, n + 1);
	uint32_t cp, lo;
	unsigned value;

	if (simple_escape(e)) {
		out[0] = simple_escape(e);
		*out_len = 1;
		*off = n + 2;
		return 0;
	}
	if (is_octal(e)) {
		/* Up to three digits; like protobuf, \400..\777 keep the low 8 bits. */
		value = 0;
		for (digits = 0; digits < 3; digits++) {
			int d = lex_byte(lx, n + 1 + digits);

			if (!is_octal(d))
				break;
			value = value * 8 + (unsigned)(d - '0');
		}
		out[0] = (char)(value & 0xFF);
		*out_len = 1;
		*off = n + 1 + digits;
		return 0;
	}
	if (e == 'x' || e == 'X') {
		value = 0;
		for (digits = 0; digits < 2; digits++) {
			int d = parse_hex_digit(lex_byte(lx, n + 2 + digits));

			if (d < 0)
				break;
			value = value * 16 + (unsigned)d;
		}
		if (!digits)
			return lex_fail(lx, IT_ERR_PARSE, line, bs_col,
					"'\\%c' escape needs one or two hex digits",
					e);
		out[0] = (char)value;
		*out_len = 1;
		*off = n + 2 + digits;
		return 0;
	}
	if (e == 'u') {
		if (!lex_hex_digits(lx, n + 2, 4, &cp))
			return lex_fail(lx, IT_ERR_PARSE, line, bs_col,
					"'\\u' escape needs exactly 4 hex digits");
		n += 6;
		/*
		 * A UTF-16 surrogate pair written as two \u escapes is one
		 * code point, as protobuf's tokenizer decodes it; a lone
		 * surrogate is encoded as is (invalid UTF-8 is not ours to judge).
		 */
		if (cp >= 0xD800 && cp <= 0xDBFF && lex_byte(lx, n) == '\\' &&
		    lex_byte(lx, n + 1) == 'u' &&
		    lex_hex_digits(lx, n + 2, 4, &lo) &&
		    lo >= 0xDC00 && lo <= 0xDFFF) {
			cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
			n += 6;
		}
		*out_len = utf8_encode(cp, out);
		*off = n;
		return 0;
	}
	if (e == 'U') {
		if (!lex_hex_digits(lx, n + 2, 8, &cp))
			return lex_fail(lx, IT_ERR_PARSE, line, bs_col,
					"'\\U' escape needs exactly 8 hex digits");
		if (cp > 0x10FFFF)
			return lex_fail(lx, IT_ERR_PARSE, line, bs_col,
					"'\\U' escape is beyond the last code point 0010FFFF");
		*out_len = utf8_encode(cp, out);
		*off = n + 10;
		return 0;
	}
	if (e < 0 || e == '\n')
		return lex_fail(lx, IT_ERR_PARSE, line, col,
				"unterminated string (a string cannot contain a raw line break)");
	if (e == '\0')
		return lex_nul(lx, line, bs_col + 1);
	if (e >= 0x20 && e < 0x7f)
		return lex_fail(lx, IT_ERR_PARSE, line, bs_col,
				"invalid escape sequence '\\%c' in string", e);
	return lex_fail(lx, IT_ERR_PARSE, line, bs_col,
			"invalid escape sequence in string: backslash before byte 0x%02x",
			(unsigned)e);
}

static int lex_string(struct lexer *lx, struct token *t)
{
	int quote = lex_byte(lx, 0);
	size_t n = 1, run = 0;
	char decoded[4];
	int rc, c;

	strbuf_setlen(&lx->str, 0);
	for (;;) {
		c = lex_byte(lx, n);
		if (c < 0)
			return lex_fail(lx, IT_ERR_PARSE, lx->line, lx->col,
					"unterminated string");
		if (c == '\n')
			return lex_fail(lx, IT_ERR_PARSE, lx->line, lx->col,
					"unterminated string (a string cannot contain a raw line break)");
		if (c == '\0')
			return lex_nul(lx, lx->line, lx->col + (int)n);
		if (c == quote)
			break;
		if (c == '\\') {
			rc = lex_escape(lx, &n, lx->line, lx->col, decoded, &run);
			if (rc)
				return rc;
			rc = strbuf_add(&lx->str, decoded, run);
		} else {
			/* Copy a run of plain bytes at once. */
			run = 0;
			for (;;) {
				c = lex_byte(lx, n + run);
				if (c <= 0 || c == '\n' || c == quote || c == '\\')
					break;
				run++;
			}
			rc = strbuf_add(&lx->str, lx->pos + n, run);
			n += run;
		}
		if (rc)
			return lex_fail(lx, rc, lx->line, lx->col,
					"string is too long");
	}
	t->type = TOK_STRING;
	t->len = n + 1;
	return 0;
}

/* Makes lx->tok the next token (if it is not already) and returns it in *out. */
static int lex_peek(struct lexer *lx, struct token *out)
{
	struct token *t = &lx->tok;
	int rc = 0;
	int c;

	if (lx->have_tok) {
		*out = *t;
		return 0;
	}
	rc = lex_skip(lx);
	if (rc)
		return rc;
	memset(t, 0, sizeof(*t));
	t->text = lx->pos;
	t->line = lx->line;
	t->col = lx->col;
	c = lex_byte(lx, 0);
	if (c < 0) {
		t->type = TOK_EOF;
	} else if (c == '\0') {
		return lex_nul(lx, lx->line, lx->col);
	} else if (is_ident_start(c)) {
		rc = lex_ident(lx, t);
	} else if (is_digit(c) || (c == '.' && is_digit(lex_byte(lx, 1)))) {
		rc = lex_number(lx, t);
	} else if (c == '"' || c == '\'') {
		rc = lex_string(lx, t);
	} else if (strchr(":{}<>[],;-", c)) {
		t->type = TOK_PUNCT;
		t->len = 1;
	} else if (c > 0x20 && c < 0x7f) {
		return lex_fail(lx, IT_ERR_PARSE, lx->line, lx->col,
				"unexpected character '%c'", c);
	} else {
		return lex_fail(lx, IT_ERR_PARSE, lx->line, lx->col,
				"unexpected byte 0x%02x%s", (unsigned)c,
				c >= 0x80 ? " (non-ASCII text belongs in a quoted string)" : "");
	}
	if (rc)
		return rc;
	lex_bump(lx, t->len);
	lx->have_tok = true;
	*out = *t;
	return 0;
}

/* Consumes the peeked token. */
static void lex_take(struct lexer *lx)
{
	lx->have_tok = false;
}

static bool tok_is(const struct token *t, char punct)
{
	return t->type == TOK_PUNCT && t->text[0] == punct;
}

/* ---------------------------------------------------------------- parser */

struct parser {
	struct lexer lx;
	struct strbuf val; /* the scalar being assembled (concatenated strings) */
};

/* Field names in messages are cut so a long one cannot crowd out the rest. */
static int show(size_t len)
{
	return (int)(len > SHOW_NAME_BYTES ? SHOW_NAME_BYTES : len);
}

static int parse_fail_at(struct parser *ps, int code, const struct token *t,
			 const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int parse_fail_at(struct parser *ps, int code, const struct token *t,
			 const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	code = it_error_atv(ps->lx.err, code, ps->lx.filename, t->line, t->col,
			    fmt, ap);
	va_end(ap);
	return code;
}

/* "expected <fmt...>, found <t>" at the position of t. */
static int parse_expected(struct parser *ps, const struct token *t,
			  const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int parse_expected(struct parser *ps, const struct token *t,
			  const char *fmt, ...)
{
	char expected[IT_ERROR_MESSAGE_MAX];
	char found[SHOW_TOKEN_BYTES + 64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(expected, sizeof(expected), fmt, ap);
	va_end(ap);
	return it_error_at(ps->lx.err, IT_ERR_PARSE, ps->lx.filename, t->line,
			   t->col, "expected %s, found %s", expected,
			   tok_describe(t, found, sizeof(found)));
}

static bool is_scalar_start(const struct token *t)
{
	return t->type == TOK_STRING || t->type == TOK_NUMBER ||
	       t->type == TOK_IDENT || tok_is(t, '-');
}

static bool is_message_open(const struct token *t)
{
	return tok_is(t, '{') || tok_is(t, '<');
}

/* The identifiers protobuf accepts after '-' for a float: inf, infinity, nan. */
static bool is_signed_word(const struct token *t)
{
	static const char *const words[] = { "inf", "infinity", "nan" };
	size_t i, j;

	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		if (strlen(words[i]) != t->len)
			continue;
		for (j = 0; j < t->len; j++) {
			if ((t->text[j] | 0x20) != words[i][j])
				break;
		}
		if (j == t->len)
			return true;
	}
	return false;
}

/*
 * Reads one scalar value (the first token is peeked, not taken) and appends
 * it to parent as a node named name. Adjacent string literals are joined;
 * '-' joins the number or inf/nan after it, with whitespace and comments
 * allowed in between as protobuf's C++ parser (and so Triton) allows.
 */
static int parse_scalar(struct parser *ps, struct pbtxt_node *parent,
			const char *name, size_t name_len, int name_line,
			int name_col)
{
	struct pbtxt_node *node;
	enum pbtxt_kind kind;
	struct token first, t;
	int rc;

	rc = lex_peek(&ps->lx, &first);
	if (rc)
		return rc;
	lex_take(&ps->lx);
	strbuf_setlen(&ps->val, 0);
	if (first.type == TOK_STRING) {
		kind = PBTXT_STRING;
		rc = strbuf_add(&ps->val, ps->lx.str.buf, ps->lx.str.len);
		for (;;) {
			if (rc)
				return parse_fail_at(ps, rc, &first,
						     "string is too long");
			rc = lex_peek(&ps->lx, &t);
			if (rc)
				return rc;
			if (t.type != TOK_STRING)
				break;
			lex_take(&ps->lx);
			rc = strbuf_add(&ps->val, ps->lx.str.buf, ps->lx.str.len);
		}
	} else if (first.type == TOK_PUNCT) {
		/* is_scalar_start() let only '-' through. */
		kind = PBTXT_NUMBER;
		rc = lex_peek(&ps->lx, &t);
		if (rc)
			return rc;
		if (t.type != TOK_NUMBER &&
		    !(t.type == TOK_IDENT && is_signed_word(&t)))
			return parse_expected(ps, &t, "number after '-'");
		lex_take(&ps->lx);
		/* Tokens are capped at PBTXT_MAX_TOKEN_BYTES: these cannot fail. */
		strbuf_addch(&ps->val, '-');
		strbuf_add(&ps->val, t.text, t.len);
	} else {
		kind = first.type == TOK_NUMBER ? PBTXT_NUMBER : PBTXT_IDENT;
		strbuf_add(&ps->val, first.text, first.len);
	}
	node = node_new(name, name_len, kind);
	node->value = xmemdup(ps->val.buf, ps->val.len);
	node->value_len = ps->val.len;
	node->line = name_line;
	node->col = name_col;
	node->value_line = first.line;
	node->value_col = first.col;
	pbtxt_node_append(parent, node);
	return 0;
}

static int parse_body(struct parser *ps, struct pbtxt_node *msg, char closer,
		      int open_line, int open_col, int depth);

/*
 * Reads `{ ... }` or `< ... >` (opener peeked, not taken) into a new node
 * appended to parent. The node is appended before its body is read so that
 * on error the caller frees everything from the root.
 */
static int parse_message(struct parser *ps, struct pbtxt_node *parent,
			 const char *name, size_t name_len, int name_line,
			 int name_col, int depth)
{
	struct pbtxt_node *node;
	struct token open;
	int rc;

	rc = lex_peek(&ps->lx, &open);
	if (rc)
		return rc;
	if (depth >= PBTXT_MAX_DEPTH)
		return parse_fail_at(ps, IT_ERR_LIMIT, &open,
				     "messages nested deeper than %d levels",
				     PBTXT_MAX_DEPTH);
	lex_take(&ps->lx);
	node = node_new(name, name_len, PBTXT_MESSAGE);
	node->line = name_line;
	node->col = name_col;
	/* For a message the "value token" is its opening delimiter. */
	node->value_line = open.line;
	node->value_col = open.col;
	pbtxt_node_append(parent, node);
	return parse_body(ps, node, open.text[0] == '{' ? '}' : '>', open.line,
			  open.col, depth + 1);
}

/*
 * Reads `[ v, v ]` (the '[' peeked, not taken): every element becomes a
 * sibling named `name`. Messages and scalars cannot share a list, and scalars
 * need the colon that is optional before messages.
 */
static int parse_list(struct parser *ps, struct pbtxt_node *parent,
		      const char *name, size_t name_len, int name_line,
		      int name_col, bool colon, int depth)
{
	enum { LIST_EMPTY, LIST_SCALARS, LIST_MESSAGES } kind = LIST_EMPTY;
	struct token open, t;
	int rc;

	rc = lex_peek(&ps->lx, &open);
	if (rc)
		return rc;
	lex_take(&ps->lx);
	rc = lex_peek(&ps->lx, &t);
	if (rc)
		return rc;
	/*
	 * `name []` without a colon is accepted: with no element we cannot tell
	 * a message list (colon optional) from a scalar one, and it adds nothing.
	 */
	if (tok_is(&t, ']')) {
		struct pbtxt_node *marker = node_new(name, name_len,
						     PBTXT_EMPTY_LIST);

		lex_take(&ps->lx);
		marker->line = name_line;
		marker->col = name_col;
		marker->list_line = open.line;
		marker->list_col = open.col;
		pbtxt_node_append(parent, marker);
		return 0;
	}
	for (;;) {
		rc = lex_peek(&ps->lx, &t);
		if (rc)
			return rc;
		if (is_message_open(&t)) {
			if (kind == LIST_SCALARS)
				return parse_expected(ps, &t,
					"a scalar value in list '%.*s' (a list cannot mix scalars and messages)",
					show(name_len), name);
			kind = LIST_MESSAGES;
			rc = parse_message(ps, parent, name, name_len,
					   name_line, name_col, depth);
		} else if (is_scalar_start(&t)) {
			if (kind == LIST_MESSAGES)
				return parse_expected(ps, &t,
					"'{' or '<' in list '%.*s' (a list cannot mix messages and scalars)",
					show(name_len), name);
			if (!colon)
				return parse_fail_at(ps, IT_ERR_PARSE, &open,
					"missing ':' after field name '%.*s' (a colon is required before a list of scalars)",
					show(name_len), name);
			kind = LIST_SCALARS;
			rc = parse_scalar(ps, parent, name, name_len,
					  name_line, name_col);
		} else {
			return parse_expected(ps, &t, "value");
		}
		if (rc)
			return rc;
		/* Remember the list so the schema can refuse one for a singular field. */
		parent->children[parent->n_children - 1]->list_line = open.line;
		parent->children[parent->n_children - 1]->list_col = open.col;
		rc = lex_peek(&ps->lx, &t);
		if (rc)
			return rc;
		if (tok_is(&t, ']')) {
			lex_take(&ps->lx);
			return 0;
		}
		if (!tok_is(&t, ','))
			return parse_expected(ps, &t,
				"',' or ']' in list '%.*s' opened at %d:%d",
				show(name_len), name, open.line, open.col);
		lex_take(&ps->lx);
	}
}

/* One field (its name peeked, not taken) and its optional ';' or ','. */
static int parse_field(struct parser *ps, struct pbtxt_node *msg, int depth)
{
	struct token name, t;
	bool colon = false;
	int rc;

	rc = lex_peek(&ps->lx, &name);
	if (rc)
		return rc;
	lex_take(&ps->lx);
	rc = lex_peek(&ps->lx, &t);
	if (rc)
		return rc;
	if (tok_is(&t, ':')) {
		colon = true;
		lex_take(&ps->lx);
		rc = lex_peek(&ps->lx, &t);
		if (rc)
			return rc;
	}
	if (is_message_open(&t)) {
		rc = parse_message(ps, msg, name.text, name.len, name.line,
				   name.col, depth);
	} else if (tok_is(&t, '[')) {
		rc = parse_list(ps, msg, name.text, name.len, name.line,
				name.col, colon, depth);
	} else if (colon && is_scalar_start(&t)) {
		rc = parse_scalar(ps, msg, name.text, name.len, name.line,
				  name.col);
	} else if (colon) {
		return parse_expected(ps, &t, "value for field '%.*s'",
				      show(name.len), name.text);
	} else {
		return parse_expected(ps, &t,
				      "':' or '{' after field name '%.*s'",
				      show(name.len), name.text);
	}
	if (rc)
		return rc;
	rc = lex_peek(&ps->lx, &t);
	if (rc)
		return rc;
	if (tok_is(&t, ';') || tok_is(&t, ','))
		lex_take(&ps->lx);
	return 0;
}

/*
 * Reads fields into msg until its closer ('}' or '>'), or until the end of
 * input for the root (closer 0). depth is msg's nesting level (root 0).
 */
static int parse_body(struct parser *ps, struct pbtxt_node *msg, char closer,
		      int open_line, int open_col, int depth)
{
	struct token t;
	int rc;

	for (;;) {
		rc = lex_peek(&ps->lx, &t);
		if (rc)
			return rc;
		if (t.type == TOK_EOF && !closer)
			return 0;
		if (closer && tok_is(&t, closer)) {
			lex_take(&ps->lx);
			return 0;
		}
		if (t.type == TOK_EOF || (closer && (tok_is(&t, '}') || tok_is(&t, '>'))))
			return parse_expected(ps, &t,
					      "'%c' to close '%.*s' opened at %d:%d",
					      closer, show(strlen(msg->name)),
					      msg->name, open_line, open_col);
		if (tok_is(&t, '['))
			return parse_fail_at(ps, IT_ERR_PARSE, &t,
					     "extension fields are not supported");
		if (t.type != TOK_IDENT) {
			if (closer)
				return parse_expected(ps, &t, "field name or '%c'",
						      closer);
			if (tok_is(&t, '}') || tok_is(&t, '>'))
				return parse_fail_at(ps, IT_ERR_PARSE, &t,
						     "expected field name, found '%c' with no message open",
						     t.text[0]);
			return parse_expected(ps, &t, "field name");
		}
		rc = parse_field(ps, msg, depth);
		if (rc)
			return rc;
	}
}

struct pbtxt_node *pbtxt_parse(const char *text, size_t len,
			       const char *filename, struct it_error *err)
{
	struct pbtxt_node *root = NULL;
	struct pbtxt_node *result = NULL;
	struct parser ps;
	int rc;

	if (len > PBTXT_MAX_INPUT_BYTES) {
		it_error_at(err, IT_ERR_LIMIT, filename, 0, 0,
			    "input is %zu bytes; the limit is %zu bytes", len,
			    PBTXT_MAX_INPUT_BYTES);
		return NULL;
	}
	if (!text && len) {
		it_error_at(err, IT_ERR_INTERNAL, filename, 0, 0,
			    "NULL text of %zu bytes", len);
		return NULL;
	}
	lex_init(&ps.lx, text ? text : "", len, filename, err);
	strbuf_init(&ps.val, 0);
	root = node_new(NULL, 0, PBTXT_MESSAGE);
	root->line = 1;
	root->col = 1;
	rc = parse_body(&ps, root, 0, 0, 0, 0);
	if (rc)
		goto out;
	result = root;
	root = NULL;
out:
	pbtxt_node_free(root);
	strbuf_release(&ps.val);
	lex_release(&ps.lx);
	return result;
}

/* ---------------------------------------------------------------- printer */

/*
 * Escapes as Python's text_format.CEscape(as_utf8=False) does, so output
 * matches what Model Analyzer writes byte for byte.
 */
int pbtxt_quote(struct strbuf *out, const char *value, size_t len)
{
	size_t start = out->len, i, run = 0;
	const char *esc;
	char oct[4];
	int rc;

	rc = strbuf_addch(out, '"');
	for (i = 0; !rc && i < len; i++) {
		unsigned char c = (unsigned char)value[i];

		switch (c) {
		case '\n': esc = "\\n"; break;
		case '\r': esc = "\\r"; break;
		case '\t': esc = "\\t"; break;
		case '"': esc = "\\\""; break;
		case '\'': esc = "\\'"; break;
		case '\\': esc = "\\\\"; break;
		default: esc = NULL; break;
		}
		if (!esc && c >= 0x20 && c < 0x7f) {
			run++;
			continue;
		}
		rc = strbuf_add(out, value + i - run, run);
		run = 0;
		if (rc)
			break;
		if (esc) {
			rc = strbuf_adds(out, esc);
		} else {
			oct[0] = '\\';
			oct[1] = (char)('0' + (c >> 6));
			oct[2] = (char)('0' + ((c >> 3) & 7));
			oct[3] = (char)('0' + (c & 7));
			rc = strbuf_add(out, oct, sizeof(oct));
		}
	}
	if (!rc)
		rc = strbuf_add(out, value + len - run, run);
	if (!rc)
		rc = strbuf_addch(out, '"');
	if (rc)
		strbuf_setlen(out, start);
	return rc;
}

static int print_children(const struct pbtxt_node *msg, struct strbuf *out,
			  size_t indent);

static int print_indent(struct strbuf *out, size_t indent)
{
	static const char spaces[] = "                                ";
	size_t n = indent * 2, step;
	int rc = 0;

	while (!rc && n) {
		step = n < sizeof(spaces) - 1 ? n : sizeof(spaces) - 1;
		rc = strbuf_add(out, spaces, step);
		n -= step;
	}
	return rc;
}

static int print_node(const struct pbtxt_node *node, struct strbuf *out,
		      size_t indent)
{
	int rc;

	rc = print_indent(out, indent);
	if (!rc)
		rc = strbuf_adds(out, node->name ? node->name : "");
	if (rc)
		return rc;
	if (node->kind == PBTXT_MESSAGE) {
		rc = strbuf_adds(out, " {\n");
		if (!rc)
			rc = print_children(node, out, indent + 1);
		if (!rc)
			rc = print_indent(out, indent);
		if (!rc)
			rc = strbuf_adds(out, "}\n");
		return rc;
	}
	rc = strbuf_adds(out, ": ");
	if (rc)
		return rc;
	if (node->kind == PBTXT_STRING)
		rc = pbtxt_quote(out, node->value ? node->value : "",
				 node->value ? node->value_len : 0);
	else if (node->value)
		rc = strbuf_add(out, node->value, node->value_len);
	if (!rc)
		rc = strbuf_addch(out, '\n');
	return rc;
}

static int print_children(const struct pbtxt_node *msg, struct strbuf *out,
			  size_t indent)
{
	size_t i;
	int rc = 0;

	for (i = 0; !rc && i < msg->n_children; i++)
		if (msg->children[i]->kind != PBTXT_EMPTY_LIST)
			rc = print_node(msg->children[i], out, indent);
	return rc;
}

int pbtxt_print(const struct pbtxt_node *root, struct strbuf *out)
{
	size_t start = out->len;
	int rc;

	if (!root)
		return 0;
	rc = print_children(root, out, 0);
	/* All or nothing: a capped buffer never ends with half a config. */
	if (rc)
		strbuf_setlen(out, start);
	return rc;
}
