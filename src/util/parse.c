/*
 * Strict value parsers (see parse.h).
 */
#include "util/parse.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

static const char *skip_spaces(const char *s)
{
	while (*s == ' ')
		s++;
	return s;
}

bool parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	s = skip_spaces(s);
	if (!*s)
		return false;
	for (; *s && *s != ' '; s++) {
		if (*s < '0' || *s > '9' || v > (max - (uint64_t)(*s - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if (*skip_spaces(s))
		return false;
	*out = v;
	return true;
}

bool parse_double(const char *s, double *out)
{
	char *end;
	double v;

	s = skip_spaces(s);
	if (!*s)
		return false;
	errno = 0;
	v = strtod(s, &end);
	if (*skip_spaces(end) || errno || !isfinite(v))
		return false;
	*out = v;
	return true;
}

int parse_hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

bool parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "true", "1", "yes", "on", "True", "TRUE" };
	static const char *const no[] = { "false", "0", "no", "off", "False", "FALSE" };

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (!strcmp(s, yes[i])) {
			*out = true;
			return true;
		}
		if (!strcmp(s, no[i])) {
			*out = false;
			return true;
		}
	}
	return false;
}
