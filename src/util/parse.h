/*
 * Strict parsers for option and configuration values: the whole string must
 * be the value (surrounding spaces allowed), or the parse fails. Shared by the
 * command-line front ends and the analyzer's YAML options. libc only.
 */
#ifndef INFERTUNE_UTIL_PARSE_H
#define INFERTUNE_UTIL_PARSE_H

#include <stdbool.h>
#include <stdint.h>

/** Decimal digits only, value <= max. *out is written only on success. */
bool parse_u64(const char *s, uint64_t max, uint64_t *out);
/** A finite number as strtod reads it. *out is written only on success. */
bool parse_double(const char *s, double *out);
/** The value of hexadecimal digit c (either case), or -1 when c is not one. */
int parse_hex_digit(int c);
/** true/false as tritonserver reads them: true, 1, yes, on (and False...). */
bool parse_bool(const char *s, bool *out);

#endif
