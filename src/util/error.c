/*
 * struct it_error helpers. Messages are truncated, never overflowed.
 */
#include "util/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util/banned.h"

static void set_file(struct it_error *err, const char *file)
{
	size_t n = 0;

	if (file) {
		n = strlen(file);
		if (n >= sizeof(err->file))
			n = sizeof(err->file) - 1;
		memcpy(err->file, file, n);
	}
	err->file[n] = '\0';
}

int it_error_setv(struct it_error *err, int code, const char *fmt, va_list ap)
{
	return it_error_atv(err, code, NULL, 0, 0, fmt, ap);
}

int it_error_atv(struct it_error *err, int code, const char *file, int line,
		 int col, const char *fmt, va_list ap)
{
	if (!err)
		return code;
	err->code = code;
	set_file(err, file);
	err->line = line;
	err->col = col;
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	return code;
}

int it_error_set(struct it_error *err, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	code = it_error_setv(err, code, fmt, ap);
	va_end(ap);
	return code;
}

int it_error_at(struct it_error *err, int code, const char *file, int line,
		int col, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	code = it_error_atv(err, code, file, line, col, fmt, ap);
	va_end(ap);
	return code;
}

void it_error_prefix(struct it_error *err, const char *fmt, ...)
{
	char old[IT_ERROR_MESSAGE_MAX];
	size_t n;
	va_list ap;
	int len;

	if (!err)
		return;
	memcpy(old, err->message, sizeof(old));
	va_start(ap, fmt);
	len = vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	n = len < 0 ? 0 : (size_t)len;
	if (n > sizeof(err->message) - 1)
		n = sizeof(err->message) - 1;
	/* Append ": " and the old message, truncating at the buffer's end. */
	for (const char *p = ": "; *p && n < sizeof(err->message) - 1; p++)
		err->message[n++] = *p;
	for (const char *p = old; *p && n < sizeof(err->message) - 1; p++)
		err->message[n++] = *p;
	err->message[n] = '\0';
}

const char *it_error_format(const struct it_error *err, char *buf, size_t size)
{
	if (!size)
		return buf;
	if (!err) {
		snprintf(buf, size, "unknown error");
	} else if (err->file[0] && err->line > 0 && err->col > 0) {
		snprintf(buf, size, "%s:%d:%d: %s", err->file, err->line,
			 err->col, err->message);
	} else if (err->file[0] && err->line > 0) {
		snprintf(buf, size, "%s:%d: %s", err->file, err->line,
			 err->message);
	} else if (err->file[0]) {
		snprintf(buf, size, "%s: %s", err->file, err->message);
	} else {
		snprintf(buf, size, "%s", err->message);
	}
	return buf;
}

const char *it_strerror(int code)
{
	switch (code) {
	case IT_OK: return "success";
	case IT_ERR_INVALID: return "invalid input";
	case IT_ERR_PARSE: return "parse error";
	case IT_ERR_IO: return "I/O error";
	case IT_ERR_NOT_FOUND: return "not found";
	case IT_ERR_UNSUPPORTED: return "not supported";
	case IT_ERR_LIMIT: return "limit exceeded";
	case IT_ERR_STATE: return "invalid state";
	case IT_ERR_INTERNAL: return "internal error";
	}
	return "unknown error";
}
