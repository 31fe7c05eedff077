/*
 * Base64 (RFC 4648) both ways, into a capped strbuf: the bytes fields of
 * model configs in JSON, "b64" request data, PNG data URIs in the HTML
 * report. Depends on util/strbuf only.
 */
#ifndef INFERTUNE_UTIL_BASE64_H
#define INFERTUNE_UTIL_BASE64_H

#include <stddef.h>

struct strbuf;

/** Flags for base64_decode(); 0 is the strict default. */
enum base64_flags {
	/* Also accept the URL-safe alphabet's '-' and '_' (RFC 4648 §5). */
	BASE64_URL_SAFE = 1 << 0,
	/*
	 * Any number of trailing '=', with no rule on the padded length (as
	 * protobuf's JSON parser). Without it at most two '=' are allowed, and
	 * padded text must be a multiple of 4 characters long.
	 */
	BASE64_LAX_PADDING = 1 << 1,
};

/**
 * Appends the standard-alphabet base64 of n bytes of data, padded with '='.
 * Returns 0, or IT_ERR_LIMIT (out's cap) with out unchanged.
 */
int base64_encode(struct strbuf *out, const void *data, size_t n);

/**
 * Appends the bytes that len characters of text encode. Padding is optional;
 * whitespace and characters outside the alphabet are invalid, and so is one
 * character left over after the last whole byte (4k+1 characters of data).
 * Bits left over in the last character are ignored. `flags` is an OR of
 * enum base64_flags. Returns 0, IT_ERR_PARSE (not base64) or IT_ERR_LIMIT
 * (out's cap); on failure out is left as it was. The caller states its own
 * error message.
 */
int base64_decode(struct strbuf *out, const char *text, size_t len,
		  unsigned flags);

#endif
