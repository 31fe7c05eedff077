/*
 * HTTP/1.1 on the load engine's fast path: the bytes of a request, built
 * once, and an incremental parser of the responses, fed whatever recv()
 * returned, split anywhere. Depends on util/ and libc only.
 */
#include "loadgen/h1.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/parse.h"
#include "util/xalloc.h"
#include "util/banned.h"

enum {
	ST_HEAD = 0,    /* status line and header fields */
	ST_BODY,        /* Content-Length: `remaining` bytes to come */
	ST_BODY_CLOSE,  /* no length: the body ends when the connection does */
	ST_CHUNK_SIZE,  /* chunk-size [ ; extensions ] line */
	ST_CHUNK_DATA,  /* `remaining` bytes of the current chunk */
	ST_CHUNK_END,   /* the CRLF after a chunk's data */
	ST_TRAILER,     /* trailer fields after the last chunk, up to a blank line */
	ST_DONE,
	ST_ERROR,
};

/* Where the line at the start of a slice stands (it may have begun earlier). */
enum line_state {
	LINE_START,     /* nothing of it yet */
	LINE_CR,        /* only a CR: an LF next makes it the blank line */
	LINE_TEXT,      /* some text: not blank */
};

/* A chunk-size line with its extensions may take this much. */
#define CHUNK_LINE_MAX 4096
/* Characters of an offending line quoted in a message, escapes included. */
#define QUOTE_MAX 40
#define QUOTE_BUF (QUOTE_MAX + 8)

/*
 * Writes s[0..n) into out (QUOTE_BUF bytes) as a quoted string for a
 * message: control bytes escaped, cut at QUOTE_MAX characters with "...",
 * so that the message around it fits in parser.error.
 */
static void quote(char *out, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 1, i;

	out[0] = '"';
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[4];
		size_t k = 0;

		if (c == '\r' || c == '\n' || c == '\t') {
			esc[k++] = '\\';
			esc[k++] = c == '\r' ? 'r' : c == '\n' ? 'n' : 't';
		} else if (c == '"' || c == '\\') {
			esc[k++] = '\\';
			esc[k++] = (char)c;
		} else if (c < 0x20 || c >= 0x7f) {
			esc[k++] = '\\';
			esc[k++] = 'x';
			esc[k++] = hex[c >> 4];
			esc[k++] = hex[c & 15];
		} else {
			esc[k++] = (char)c;
		}
		if (o - 1 + k > QUOTE_MAX)
			break;
		memcpy(out + o, esc, k);
		o += k;
	}
	if (i < n) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o++] = '"';
	out[o] = '\0';
}

static int fail(struct h1_parser *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Records the error; every later call answers H1_ERROR. Returns -1. */
static int fail(struct h1_parser *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p->error, sizeof(p->error), fmt, ap);
	va_end(ap);
	p->state = ST_ERROR;
	return -1;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* RFC 9110 tchar: what a header name is made of. */
static bool is_tchar(unsigned char c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z'))
		return true;
	return c && strchr("!#$%&'*+-.^_`|~", c);
}

/* s[0..n) equals `lower` ignoring ASCII case (names and tokens are). */
static bool token_is(const char *s, size_t n, const char *lower)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		if (!lower[i] || c != (unsigned char)lower[i])
			return false;
	}
	return !lower[n];
}

static void trim(const char **s, size_t *n)
{
	while (*n && (**s == ' ' || **s == '\t')) {
		(*s)++;
		(*n)--;
	}
	while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
		(*n)--;
}

/*
 * The next element of the comma-separated list v[*pos..n), trimmed; empty
 * elements ("a, ,b") are skipped, as RFC 9110 5.6.1 asks of recipients.
 */
static bool next_element(const char *v, size_t n, size_t *pos,
			 const char **elem, size_t *elem_len)
{
	while (*pos < n) {
		const char *comma = memchr(v + *pos, ',', n - *pos);
		size_t end = comma ? (size_t)(comma - v) : n;

		*elem = v + *pos;
		*elem_len = end - *pos;
		*pos = comma ? end + 1 : n;
		trim(elem, elem_len);
		if (*elem_len)
			return true;
	}
	return false;
}

/*
 * Looks in buf[0..len) for the blank line that ends a head, the line at
 * buf[0] standing at `ls`. Bare LF ends a line as CRLF does (curl accepts
 * both). Jumps from LF to LF with memchr, so a call costs one pass over the
 * new bytes. Returns the offset just past the blank line, or 0 when it is
 * not there yet; *line gets the start of the last line begun in buf (left
 * alone when buf holds no LF).
 */
static size_t find_head_end(const char *buf, size_t len, enum line_state ls,
			    size_t *line)
{
	size_t i = 0;

	while (i < len) {
		const char *lf;

		if (ls == LINE_START) {
			if (buf[i] == '\n')
				return i + 1;
			if (buf[i] == '\r') {
				ls = LINE_CR;
				i++;
				continue;
			}
		} else if (ls == LINE_CR) {
			if (buf[i] == '\n')
				return i + 1;
		}
		lf = memchr(buf + i, '\n', len - i);
		if (!lf)
			break;
		i = (size_t)(lf - buf) + 1;
		*line = i;
		ls = LINE_START;
	}
	return 0;
}

/* How the unfinished line at the end of p->head stands. */
static enum line_state head_line_state(const struct h1_parser *p)
{
	size_t n = p->head_len - p->head_scan;

	if (!n)
		return LINE_START;
	if (n == 1 && p->head[p->head_scan] == '\r')
		return LINE_CR;
	return LINE_TEXT;
}

static void head_append(struct h1_parser *p, const char *src, size_t n)
{
	size_t need = p->head_len + n;

	/* feed_head never lets need pass H1_HEAD_MAX, so neither does alloc */
	if (need > p->head_alloc) {
		size_t alloc = p->head_alloc ? p->head_alloc : 1024;

		while (alloc < need)
			alloc *= 2;
		if (alloc > H1_HEAD_MAX)
			alloc = H1_HEAD_MAX;
		p->head = xrealloc(p->head, alloc);
		p->head_alloc = alloc;
	}
	memcpy(p->head + p->head_len, src, n);
	p->head_len = need;
}

/* Appends body bytes: counted, and the first H1_BODY_KEEP kept. */
static void body_take(struct h1_parser *p, const char *src, size_t n)
{
	size_t room = H1_BODY_KEEP - p->body_keep_len;

	if (room) {
		size_t k = n < room ? n : room;

		memcpy(p->body_keep + p->body_keep_len, src, k);
		p->body_keep_len += k;
	}
	p->body_bytes += n;
}

/* s[0..n): the status line without its line ending. */
static int parse_status_line(struct h1_parser *p, const char *s, size_t n)
{
	char q[QUOTE_BUF];
	int code;

	if (n < 8 || memcmp(s, "HTTP/1.", 7) || !is_digit(s[7])) {
		quote(q, s, n);
		return fail(p, "status line does not begin with HTTP/1.x: %s", q);
	}
	/* "HTTP/1.1 200", "HTTP/1.1 200 " and "HTTP/1.1 200 OK" are all fine */
	if (n < 12 || s[8] != ' ' || !is_digit(s[9]) || !is_digit(s[10]) ||
	    !is_digit(s[11]) || (n > 12 && s[12] != ' ')) {
		quote(q, s, n);
		return fail(p, "status line without a three-digit status code: %s",
			    q);
	}
	code = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
	if (code < 100 || code > 599) {
		quote(q, s, n);
		return fail(p, "status code %d is not in 100-599: %s", code, q);
	}
	p->status = code;
	p->http10 = s[7] == '0';
	return 0;
}

/* What the header fields of one response say about its framing. */
struct head_fields {
	bool has_length;
	uint64_t length;
	bool te;                /* Transfer-Encoding present */
	bool te_chunked;        /* ... and its final coding is chunked */
	bool conn_close;
	bool conn_keep_alive;
};

static int parse_length(struct h1_parser *p, const char *line, size_t n,
			const char *v, size_t vn, struct head_fields *f)
{
	char q[QUOTE_BUF];
	uint64_t value = 0;

	if (!vn) {
		quote(q, line, n);
		return fail(p, "empty Content-Length: %s", q);
	}
	for (size_t i = 0; i < vn; i++) {
		uint64_t d = (uint64_t)(v[i] - '0');

		/* digits only: no sign, no list, no space (smuggling hides there) */
		if (!is_digit(v[i])) {
			quote(q, line, n);
			return fail(p, "Content-Length is not a number: %s", q);
		}
		if (value > (UINT64_MAX - d) / 10) {
			quote(q, line, n);
			return fail(p, "Content-Length is too large: %s", q);
		}
		value = value * 10 + d;
	}
	if (f->has_length && f->length != value)
		return fail(p, "conflicting Content-Length values %llu and %llu",
			    (unsigned long long)f->length,
			    (unsigned long long)value);
	f->has_length = true;
	f->length = value;
	return 0;
}

/* One "Name: value" line, without its line ending. */
static int parse_field(struct h1_parser *p, const char *line, size_t n,
		       struct head_fields *f)
{
	char q[QUOTE_BUF];
	const char *colon, *v, *elem;
	size_t name_len, vn, pos, elem_len;

	if (line[0] == ' ' || line[0] == '\t') {
		quote(q, line, n);
		return fail(p, "obsolete line folding in the header is not supported: %s",
			    q);
	}
	colon = memchr(line, ':', n);
	if (!colon) {
		quote(q, line, n);
		return fail(p, "header line without a colon: %s", q);
	}
	name_len = (size_t)(colon - line);
	for (size_t i = 0; i < name_len; i++) {
		/* also refuses "Name :", which RFC 9112 5.1 says to reject */
		if (!is_tchar((unsigned char)line[i])) {
			quote(q, line, n);
			return fail(p, "invalid header name: %s", q);
		}
	}
	if (!name_len) {
		quote(q, line, n);
		return fail(p, "header line with an empty name: %s", q);
	}
	v = colon + 1;
	vn = n - name_len - 1;
	trim(&v, &vn);

	if (token_is(line, name_len, "content-length"))
		return parse_length(p, line, n, v, vn, f);
	if (token_is(line, name_len, "transfer-encoding")) {
		/* chunked counts only as the final coding of the last field */
		pos = 0;
		while (next_element(v, vn, &pos, &elem, &elem_len)) {
			const char *semi = memchr(elem, ';', elem_len);

			if (semi) {
				elem_len = (size_t)(semi - elem);
				trim(&elem, &elem_len);
			}
			f->te = true;
			f->te_chunked = token_is(elem, elem_len, "chunked");
		}
		return 0;
	}
	if (token_is(line, name_len, "connection")) {
		pos = 0;
		while (next_element(v, vn, &pos, &elem, &elem_len)) {
			if (token_is(elem, elem_len, "close"))
				f->conn_close = true;
			else if (token_is(elem, elem_len, "keep-alive"))
				f->conn_keep_alive = true;
		}
	}
	return 0;
}

/* Sets up the chunk-size line state: the next byte begins a new line. */
static void chunk_line_start(struct h1_parser *p)
{
	p->remaining = 0;
	p->chunk_digits = 0;
	p->chunk_ext = false;
	p->chunk_cr = false;
	p->line_bytes = 0;
}

/*
 * Parses a whole head, buf[0..n), which ends with its blank line, and
 * chooses how the body is delimited (RFC 9112 6.3).
 */
static int parse_head(struct h1_parser *p, const char *buf, size_t n)
{
	struct head_fields f = { 0 };
	const char *line = buf, *end = buf + n;
	bool first = true;

	for (;;) {
		/* find_head_end saw buf end in LF, so every line has one */
		const char *lf = memchr(line, '\n', (size_t)(end - line));
		size_t len = (size_t)(lf - line);

		if (len && line[len - 1] == '\r')
			len--;
		if (first) {
			if (parse_status_line(p, line, len))
				return -1;
			first = false;
		} else if (!len) {
			break;
		} else if (parse_field(p, line, len, &f)) {
			return -1;
		}
		line = lf + 1;
	}

	if (p->status < 200) {
		if (p->status == 101)
			return fail(p, "the server switched protocols (101 Switching Protocols)");
		/* 100 Continue, 103 Early Hints: the real response follows */
		p->interim_seen = true;
		p->state = ST_HEAD;
		return 0;
	}
	p->keep_alive = p->http10 ? f.conn_keep_alive && !f.conn_close
				  : !f.conn_close;
	if (p->status == 204 || p->status == 304) {
		p->state = ST_DONE;
	} else if (f.te && f.te_chunked) {
		/* chunked wins over Content-Length (RFC 9112 6.3 item 3) */
		p->chunked = true;
		chunk_line_start(p);
		p->state = ST_CHUNK_SIZE;
	} else if (f.has_length && !f.te) {
		p->remaining = f.length;
		p->state = f.length ? ST_BODY : ST_DONE;
	} else {
		/* no length, or a final coding other than chunked: the close ends it */
		p->until_close = true;
		p->keep_alive = false;
		p->state = ST_BODY_CLOSE;
	}
	return 0;
}

/*
 * The head: parsed in place when it arrives whole in one slice (the usual
 * case, no copy); otherwise gathered in p->head, searching only new bytes.
 */
static size_t feed_head(struct h1_parser *p, const char *data, size_t n)
{
	size_t room = H1_HEAD_MAX - p->head_len;
	size_t avail = n < room ? n : room;
	size_t old_len = p->head_len, line = SIZE_MAX, end;

	end = find_head_end(data, avail, head_line_state(p), &line);
	if (!end) {
		if (p->head_len + avail >= H1_HEAD_MAX) {
			fail(p, "response header larger than %d bytes", H1_HEAD_MAX);
			return 0;
		}
		head_append(p, data, avail);
		if (line != SIZE_MAX) {
			/*
			 * The status line just ended: judge it now, so a peer
			 * that does not speak HTTP fails at once, not at EOF.
			 */
			if (!p->head_scan) {
				const char *lf = memchr(p->head, '\n', p->head_len);
				size_t len = (size_t)(lf - p->head);

				if (len && p->head[len - 1] == '\r')
					len--;
				if (parse_status_line(p, p->head, len))
					return 0;
			}
			p->head_scan = old_len + line;
		}
		return avail;
	}
	if (old_len) {
		head_append(p, data, end);
		parse_head(p, p->head, p->head_len);
	} else {
		parse_head(p, data, end);
	}
	p->head_len = 0;
	p->head_scan = 0;
	return end;
}

static size_t feed_body(struct h1_parser *p, const char *data, size_t n)
{
	size_t take = p->remaining < n ? (size_t)p->remaining : n;

	body_take(p, data, take);
	p->remaining -= take;
	if (!p->remaining)
		p->state = ST_DONE;
	return take;
}

static size_t feed_chunk_size(struct h1_parser *p, const char *data, size_t n)
{
	char q[QUOTE_BUF];

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)data[i];
		int h;

		if (++p->line_bytes > CHUNK_LINE_MAX) {
			fail(p, "chunk-size line longer than %d bytes", CHUNK_LINE_MAX);
			return i;
		}
		if (p->chunk_cr && c != '\n') {
			fail(p, "CR without LF in a chunk-size line");
			return i;
		}
		if (c == '\n') {
			if (!p->chunk_digits) {
				fail(p, "chunk-size line without a size");
				return i;
			}
			p->chunk_digits = 0;
			p->chunk_ext = false;
			p->chunk_cr = false;
			p->line_bytes = 0;
			p->state = p->remaining ? ST_CHUNK_DATA : ST_TRAILER;
			return i + 1;
		}
		if (c == '\r') {
			p->chunk_cr = true;
			continue;
		}
		if (p->chunk_ext)
			continue;       /* extensions mean nothing to us */
		h = parse_hex_digit(c);
		if (h >= 0) {
			if (p->remaining > (UINT64_MAX >> 4)) {
				fail(p, "chunk size does not fit in 64 bits");
				return i;
			}
			p->remaining = p->remaining << 4 | (uint64_t)h;
			p->chunk_digits++;
			continue;
		}
		/* ";ext", or the whitespace RFC 9112 7.1.1 allows before it */
		if (p->chunk_digits && (c == ';' || c == ' ' || c == '\t')) {
			p->chunk_ext = true;
			continue;
		}
		quote(q, data + i, 1);
		fail(p, "invalid character %s in a chunk size", q);
		return i;
	}
	return n;
}

static size_t feed_chunk_data(struct h1_parser *p, const char *data, size_t n)
{
	size_t take = p->remaining < n ? (size_t)p->remaining : n;

	body_take(p, data, take);
	p->remaining -= take;
	if (!p->remaining) {
		p->chunk_cr = false;
		p->state = ST_CHUNK_END;
	}
	return take;
}

/* The CRLF (or bare LF) that must follow every chunk's data. */
static size_t feed_chunk_end(struct h1_parser *p, const char *data)
{
	char q[QUOTE_BUF];

	if (data[0] == '\r' && !p->chunk_cr) {
		p->chunk_cr = true;
		return 1;
	}
	if (data[0] == '\n') {
		chunk_line_start(p);
		p->state = ST_CHUNK_SIZE;
		return 1;
	}
	quote(q, data, 1);
	fail(p, "missing CRLF after the data of a chunk (found %s after %llu body bytes)",
	     q, (unsigned long long)p->body_bytes);
	return 0;
}

/* Trailer fields: skipped, up to the blank line that ends the response. */
static size_t feed_trailer(struct h1_parser *p, const char *data, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char c = data[i];

		if (++p->trailer_bytes > H1_HEAD_MAX) {
			fail(p, "trailer section larger than %d bytes", H1_HEAD_MAX);
			return i;
		}
		if (c == '\n') {
			if (!p->line_bytes) {
				p->state = ST_DONE;
				return i + 1;
			}
			p->line_bytes = 0;
			p->chunk_cr = false;
		} else if (c == '\r' && !p->line_bytes && !p->chunk_cr) {
			p->chunk_cr = true;
		} else {
			p->line_bytes++;
		}
	}
	return n;
}

void h1_parser_init(struct h1_parser *p)
{
	memset(p, 0, sizeof(*p));
	h1_parser_reset(p);
}

void h1_parser_release(struct h1_parser *p)
{
	free(p->head);
	p->head = NULL;
	p->head_alloc = 0;
	h1_parser_reset(p);
}

void h1_parser_reset(struct h1_parser *p)
{
	char *head = p->head;
	size_t head_alloc = p->head_alloc;

	memset(p, 0, sizeof(*p));
	p->head = head;
	p->head_alloc = head_alloc;
	p->state = ST_HEAD;
}

enum h1_status h1_parse(struct h1_parser *p, const char *data, size_t len,
			size_t *used)
{
	size_t off = 0;

	*used = 0;
	if (p->state == ST_ERROR)
		return H1_ERROR;
	if (p->state == ST_DONE) {
		fail(p, "h1_parse() after H1_DONE without h1_parser_reset()");
		return H1_ERROR;
	}
	if (len)
		p->first_byte_seen = true;
	for (;;) {
		if (p->state == ST_DONE) {
			*used = off;
			return H1_DONE;
		}
		if (p->state == ST_ERROR) {
			*used = off;
			return H1_ERROR;
		}
		if (off == len) {
			*used = len;
			return H1_MORE;
		}
		switch (p->state) {
		case ST_HEAD:
			off += feed_head(p, data + off, len - off);
			break;
		case ST_BODY:
			off += feed_body(p, data + off, len - off);
			break;
		case ST_BODY_CLOSE:
			body_take(p, data + off, len - off);
			off = len;
			break;
		case ST_CHUNK_SIZE:
			off += feed_chunk_size(p, data + off, len - off);
			break;
		case ST_CHUNK_DATA:
			off += feed_chunk_data(p, data + off, len - off);
			break;
		case ST_CHUNK_END:
			off += feed_chunk_end(p, data + off);
			break;
		case ST_TRAILER:
			off += feed_trailer(p, data + off, len - off);
			break;
		default:
			fail(p, "h1 parser in an unknown state %d", p->state);
			break;
		}
	}
}

enum h1_status h1_parse_eof(struct h1_parser *p)
{
	switch (p->state) {
	case ST_DONE:
		return H1_DONE;
	case ST_ERROR:
		return H1_ERROR;
	case ST_BODY_CLOSE:
		p->keep_alive = false;
		p->state = ST_DONE;
		return H1_DONE;
	case ST_HEAD:
		if (!p->first_byte_seen)
			fail(p, "connection closed before the response began");
		else if (!p->head_len && p->interim_seen)
			fail(p, "connection closed after an interim %d response, before the final one",
			     p->status);
		else
			fail(p, "connection closed in the middle of the response header (%zu bytes received)",
			     p->head_len);
		return H1_ERROR;
	case ST_BODY:
		fail(p, "connection closed %llu bytes before the end of the body (%llu of %llu received)",
		     (unsigned long long)p->remaining,
		     (unsigned long long)p->body_bytes,
		     (unsigned long long)(p->body_bytes + p->remaining));
		return H1_ERROR;
	default:
		fail(p, "connection closed in a chunked body (after %llu bytes of data)",
		     (unsigned long long)p->body_bytes);
		return H1_ERROR;
	}
}

/* Appends n bytes at buf + *o. */
static void put(char *buf, size_t *o, const void *src, size_t n)
{
	if (n)
		memcpy(buf + *o, src, n);
	*o += n;
}

#define PUT_LIT(buf, o, lit) put((buf), (o), (lit), sizeof(lit) - 1)

char *h1_request_build(const char *host_port, const char *path,
		       const char *const *headers, size_t n_headers,
		       const void *body, size_t body_len, size_t *len)
{
	char length[24];
	size_t length_len, path_len = strlen(path), host_len = strlen(host_port);
	size_t total, o = 0;
	char *buf;

	length_len = (size_t)snprintf(length, sizeof(length), "%zu", body_len);
	total = sizeof("POST  HTTP/1.1\r\nHost: \r\n") - 1 + path_len + host_len;
	for (size_t i = 0; i < n_headers; i++)
		total += strlen(headers[i]) + 2;
	total += sizeof("Content-Length: \r\n\r\n") - 1 + length_len + body_len;

	buf = xmalloc(total + 1);
	PUT_LIT(buf, &o, "POST ");
	put(buf, &o, path, path_len);
	PUT_LIT(buf, &o, " HTTP/1.1\r\nHost: ");
	put(buf, &o, host_port, host_len);
	PUT_LIT(buf, &o, "\r\n");
	for (size_t i = 0; i < n_headers; i++) {
		put(buf, &o, headers[i], strlen(headers[i]));
		PUT_LIT(buf, &o, "\r\n");
	}
	PUT_LIT(buf, &o, "Content-Length: ");
	put(buf, &o, length, length_len);
	PUT_LIT(buf, &o, "\r\n\r\n");
	put(buf, &o, body, body_len);
	buf[o] = '\0';
	*len = o;
	return buf;
}
