/*
 * Base64 (RFC 4648): the one encoder and decoder every module uses, so the
 * alphabet and the padding rules are written once.
 */
#include "util/base64.h"

#include <stdint.h>

#include "util/error.h"
#include "util/strbuf.h"
#include "util/banned.h"

static const char alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int base64_encode(struct strbuf *out, const void *data, size_t n)
{
	const unsigned char *p = data;
	size_t start = out->len;
	int rc = 0;

	for (size_t i = 0; i < n && !rc; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;
		char quad[4];

		if (i + 1 < n)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		quad[0] = alphabet[(v >> 18) & 63];
		quad[1] = alphabet[(v >> 12) & 63];
		quad[2] = i + 1 < n ? alphabet[(v >> 6) & 63] : '=';
		quad[3] = i + 2 < n ? alphabet[v & 63] : '=';
		rc = strbuf_add(out, quad, sizeof(quad));
	}
	if (rc)
		strbuf_setlen(out, start);
	return rc;
}

/* The 6-bit value of c, or -1 when c is not in the alphabet. */
static int value_of(char c, unsigned flags)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || (c == '-' && (flags & BASE64_URL_SAFE)))
		return 62;
	if (c == '/' || (c == '_' && (flags & BASE64_URL_SAFE)))
		return 63;
	return -1;
}

int base64_decode(struct strbuf *out, const char *text, size_t len,
		  unsigned flags)
{
	size_t start = out->len, pad = 0;
	uint32_t acc = 0;
	int bits = 0;
	int rc = 0;

	while (len && text[len - 1] == '=' &&
	       (pad < 2 || (flags & BASE64_LAX_PADDING))) {
		len--;
		pad++;
	}
	if (pad && (len + pad) % 4 && !(flags & BASE64_LAX_PADDING)) {
		rc = IT_ERR_PARSE;
		goto out;
	}
	for (size_t i = 0; i < len; i++) {
		int v = value_of(text[i], flags);

		if (v < 0) {
			rc = IT_ERR_PARSE;
			goto out;
		}
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			rc = strbuf_addch(out, (int)((acc >> bits) & 0xff));
			if (rc)
				goto out;
		}
	}
	/* One character left over cannot encode a byte. */
	if (bits >= 6)
		rc = IT_ERR_PARSE;
out:
	if (rc)
		strbuf_setlen(out, start);
	return rc;
}
