/*
 * UTF-8 validation (RFC 3629 §4): the one place the well-formed byte ranges
 * are written down.
 */
#include "util/utf8.h"

#include "util/banned.h"

size_t utf8_seq_len(const void *s, size_t n)
{
	const unsigned char *p = s;
	unsigned char lo = 0x80, hi = 0xBF;
	size_t len;

	if (!n)
		return 0;
	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xC2 && p[0] <= 0xDF)
		len = 2;
	else if (p[0] >= 0xE0 && p[0] <= 0xEF)
		len = 3;
	else if (p[0] >= 0xF0 && p[0] <= 0xF4)
		len = 4;
	else
		return 0; /* a continuation byte, C0/C1 (overlong) or F5..FF */
	if (n < len)
		return 0;
	/* Second-byte limits exclude overlongs, surrogates and > U+10FFFF. */
	if (p[0] == 0xE0)
		lo = 0xA0;
	else if (p[0] == 0xED)
		hi = 0x9F;
	else if (p[0] == 0xF0)
		lo = 0x90;
	else if (p[0] == 0xF4)
		hi = 0x8F;
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (p[i] < 0x80 || p[i] > 0xBF)
			return 0;
	return len;
}

bool utf8_valid(const void *s, size_t n, size_t *bad_offset)
{
	const unsigned char *p = s;
	size_t i = 0;

	while (i < n) {
		size_t k = utf8_seq_len(p + i, n - i);

		if (!k) {
			if (bad_offset)
				*bad_offset = i;
			return false;
		}
		i += k;
	}
	return true;
}
