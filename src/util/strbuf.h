/*
 * A growable byte buffer with a size cap (git's strbuf shape, curl's dynbuf
 * cap). The buffer is always NUL-terminated so it can be used as a C string.
 * XML/HTML escaping appends through it too. Depends on util/xalloc only.
 */
#ifndef INFERTUNE_UTIL_STRBUF_H
#define INFERTUNE_UTIL_STRBUF_H

#include <stdarg.h>
#include <stddef.h>

/** Default cap: large enough for any config or report, small enough to stop a runaway. */
#define STRBUF_DEFAULT_CAP_BYTES ((size_t)256 << 20)

/**
 * Embedded value struct: strbuf_init() before use, strbuf_release() after.
 * `buf` is never NULL after init. Appends that would make `len` exceed
 * `cap_bytes` fail with IT_ERR_LIMIT and leave the buffer unchanged.
 */
struct strbuf {
	char *buf;
	size_t len;
	size_t alloc;
	size_t cap_bytes;
};

/** Initialises an empty buffer; cap_bytes 0 means STRBUF_DEFAULT_CAP_BYTES. */
void strbuf_init(struct strbuf *sb, size_t cap_bytes);
/** Frees the storage and re-initialises to empty (same cap). */
void strbuf_release(struct strbuf *sb);
/** Returns the string and re-initialises sb; caller frees with free(). */
char *strbuf_detach(struct strbuf *sb, size_t *len);
/** Truncates to len bytes (len <= sb->len). */
void strbuf_setlen(struct strbuf *sb, size_t len);

/** Appends n bytes; 0 or IT_ERR_LIMIT. */
int strbuf_add(struct strbuf *sb, const void *data, size_t n);
/** Appends a C string; 0 or IT_ERR_LIMIT. */
int strbuf_adds(struct strbuf *sb, const char *s);
/** Appends one byte; 0 or IT_ERR_LIMIT. */
int strbuf_addch(struct strbuf *sb, int c);
/** Appends printf output; 0 or IT_ERR_LIMIT. */
int strbuf_addf(struct strbuf *sb, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/** va_list form of strbuf_addf. */
int strbuf_vaddf(struct strbuf *sb, const char *fmt, va_list ap);

/**
 * Appends the C string s escaped for XML/HTML text and attribute values
 * (double-quoted): & < > " become &amp; &lt; &gt; &quot;; every other byte,
 * the single quote included, is copied as it is. NULL appends nothing.
 * 0 or IT_ERR_LIMIT (then sb is unchanged).
 */
int strbuf_add_xml_escaped(struct strbuf *sb, const char *s);

#endif
