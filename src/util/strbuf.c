/*
 * Growable capped byte buffer, and the XML escaping every writer of HTML or
 * SVG appends through.
 */
#include "util/strbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"
#include "util/xalloc.h"
#include "util/banned.h"

/*
 * An empty buffer points at this shared byte (alloc 0) so that init and
 * release never allocate: a released strbuf holds nothing to leak.
 */
static char strbuf_empty[1];

void strbuf_init(struct strbuf *sb, size_t cap_bytes)
{
	sb->alloc = 0;
	sb->buf = strbuf_empty;
	sb->len = 0;
	sb->cap_bytes = cap_bytes ? cap_bytes : STRBUF_DEFAULT_CAP_BYTES;
}

void strbuf_release(struct strbuf *sb)
{
	size_t cap = sb->cap_bytes;

	if (sb->alloc)
		free(sb->buf);
	strbuf_init(sb, cap);
}

char *strbuf_detach(struct strbuf *sb, size_t *len)
{
	char *s = sb->alloc ? sb->buf : xstrdup("");

	if (len)
		*len = sb->len;
	strbuf_init(sb, sb->cap_bytes);
	return s;
}

void strbuf_setlen(struct strbuf *sb, size_t len)
{
	if (len >= sb->len)
		return;
	sb->len = len;
	sb->buf[len] = '\0';
}

static int reserve(struct strbuf *sb, size_t extra)
{
	if (extra > sb->cap_bytes || sb->len > sb->cap_bytes - extra)
		return IT_ERR_LIMIT;
	if (!sb->alloc)
		sb->buf = NULL;
	XGROW(sb->buf, sb->alloc, sb->len + extra + 1);
	return 0;
}

int strbuf_add(struct strbuf *sb, const void *data, size_t n)
{
	int rc = reserve(sb, n);

	if (rc)
		return rc;
	if (n)
		memcpy(sb->buf + sb->len, data, n);
	sb->len += n;
	sb->buf[sb->len] = '\0';
	return 0;
}

int strbuf_adds(struct strbuf *sb, const char *s)
{
	return strbuf_add(sb, s, strlen(s));
}

int strbuf_addch(struct strbuf *sb, int c)
{
	char ch = (char)c;

	return strbuf_add(sb, &ch, 1);
}

int strbuf_vaddf(struct strbuf *sb, const char *fmt, va_list ap)
{
	va_list cp;
	int n;
	int rc;

	va_copy(cp, ap);
	n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0)
		return IT_ERR_INTERNAL;
	rc = reserve(sb, (size_t)n);
	if (rc)
		return rc;
	vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap);
	sb->len += (size_t)n;
	return 0;
}

int strbuf_addf(struct strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = strbuf_vaddf(sb, fmt, ap);
	va_end(ap);
	return rc;
}

int strbuf_add_xml_escaped(struct strbuf *sb, const char *s)
{
	size_t start = sb->len;
	int rc = 0;

	for (; s && *s && !rc; s++) {
		switch (*s) {
		case '<': rc = strbuf_adds(sb, "&lt;"); break;
		case '>': rc = strbuf_adds(sb, "&gt;"); break;
		case '&': rc = strbuf_adds(sb, "&amp;"); break;
		case '"': rc = strbuf_adds(sb, "&quot;"); break;
		default: rc = strbuf_addch(sb, *s); break;
		}
	}
	if (rc)
		strbuf_setlen(sb, start);
	return rc;
}
