/*
 * What every fuzz target shares: the libFuzzer entry point's prototype and
 * the property checks whose failure abort()s, so that libFuzzer (or the
 * replay driver in the normal test suite) reports the input. Targets call
 * the library only through its public headers.
 */
#ifndef INFERTUNE_FUZZ_H
#define INFERTUNE_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct it_error;
struct model_config;

/** libFuzzer's entry point; each target defines it once. Returns 0. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/**
 * Aborts with "property violated: <what>" on stderr when cond is false. A
 * property that does not hold is a bug as surely as a crash is.
 */
#define FUZZ_CHECK(cond, what)                                                \
	do {                                                                  \
		if (!(cond))                                                  \
			fuzz_fail(__FILE__, __LINE__, (what), #cond);         \
	} while (0)

/** Prints the violated property and aborts. */
void fuzz_fail(const char *file, int line, const char *what, const char *cond)
	__attribute__((noreturn));

/**
 * A parser's error carries its place: a negative code, a message, `file`
 * as given, and a line and column inside text[0..len) (the line at most
 * one past the last, the column at most one past that line's end).
 */
void fuzz_check_error_at(const struct it_error *err, const char *file,
			 const char *text, size_t len);

/** fuzz_check_error_at() with YAML's line breaks (LF, CR, CRLF, NEL, LS, PS). */
void fuzz_check_yaml_error_at(const struct it_error *err, const char *file,
			      const char *text, size_t len);

/**
 * The round trips a valid config must survive: canonical text parses back
 * to an equal config whose text is the same bytes (a fixpoint), and both
 * JSON forms (every field; defaults dropped with 64-bit integers as strings) convert back to an
 * equal config.
 */
void fuzz_check_config_roundtrip(const struct model_config *cfg);

#endif
