/*
 * Error reporting for every infertune module: functions return 0 or a negative
 * IT_ERR_* code and fill an optional caller-owned struct it_error with the detail.
 * Depends on nothing but libc.
 */
#ifndef INFERTUNE_UTIL_ERROR_H
#define INFERTUNE_UTIL_ERROR_H

#include <stdarg.h>
#include <stddef.h>

enum it_code {
	IT_OK = 0,
	IT_ERR_INVALID = -1,     /* input that breaks a rule (config field, request) */
	IT_ERR_PARSE = -2,       /* input that is not well-formed text/JSON */
	IT_ERR_IO = -3,          /* a system call failed */
	IT_ERR_NOT_FOUND = -4,   /* a file, model, version or field does not exist */
	IT_ERR_UNSUPPORTED = -5, /* recognised but not implemented */
	IT_ERR_LIMIT = -6,       /* a size or depth cap was exceeded */
	IT_ERR_STATE = -7,       /* the object is not in a state that allows the call */
	IT_ERR_INTERNAL = -8,    /* a bug: an invariant did not hold */
};

#define IT_ERROR_FILE_MAX 512
#define IT_ERROR_MESSAGE_MAX 1024

/**
 * Error detail. `file` is empty and `line`/`col` are 0 when the error has no
 * position. Plain value: zero-initialise it, pass its address, read it after a
 * failed call. A NULL `struct it_error *` is accepted everywhere and means
 * "the caller only wants the return code".
 */
struct it_error {
	int code;
	char file[IT_ERROR_FILE_MAX];
	int line; /* 1-based; 0 = none */
	int col;  /* 1-based; 0 = none */
	char message[IT_ERROR_MESSAGE_MAX];
};

/** Fills `err` (if not NULL) with a position-less message; returns `code`. */
int it_error_set(struct it_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/**
 * it_error_set() with a va_list, for modules that wrap it in a reporter of
 * their own (a parser that adds its position, a logger that also records).
 */
int it_error_setv(struct it_error *err, int code, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

/** it_error_at() with a va_list. */
int it_error_atv(struct it_error *err, int code, const char *file, int line,
		 int col, const char *fmt, va_list ap)
	__attribute__((format(printf, 6, 0)));

/**
 * Fills `err` (if not NULL) with a message at file:line:col; `file` may be
 * NULL. Returns `code`, so callers can write `return it_error_at(...)`.
 */
int it_error_at(struct it_error *err, int code, const char *file, int line,
		int col, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

/** Prefixes the existing message with "prefix: " (context added by a caller). */
void it_error_prefix(struct it_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/**
 * Writes "file:line:col: message" (or the parts that are known) into buf,
 * always NUL-terminated. Returns buf.
 */
const char *it_error_format(const struct it_error *err, char *buf, size_t size);

/** A short static description of an IT_ERR_* code. */
const char *it_strerror(int code);

#endif
