/*
 * UTF-8 validation as RFC 3629 defines it: no overlong forms, no surrogates
 * (U+D800..U+DFFF), nothing above U+10FFFF. Used wherever text must be valid
 * UTF-8 (protobuf string fields, JSON the server writes). Depends on libc only.
 */
#ifndef INFERTUNE_UTIL_UTF8_H
#define INFERTUNE_UTIL_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/**
 * Length (1 to 4) of the valid UTF-8 sequence that starts at s, which holds
 * n bytes; 0 when the bytes there are not a valid sequence (a bad lead or
 * continuation byte, an overlong form, a surrogate, > U+10FFFF, or a
 * sequence cut by the end) or when n is 0. ASCII bytes, NUL included, are 1.
 */
size_t utf8_seq_len(const void *s, size_t n);

/**
 * True when all n bytes of s are valid UTF-8 (n 0 is valid). When false and
 * bad_offset is not NULL, *bad_offset is the offset of the first byte that
 * does not start a valid sequence; otherwise bad_offset is not written.
 */
bool utf8_valid(const void *s, size_t n, size_t *bad_offset);

#endif
