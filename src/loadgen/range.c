/*
 * Range strings "start:end:step".
 */
#include "loadgen/range.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"
#include "util/banned.h"

#define RANGE_MAX_PARTS 3

/* Splits text at ':' into at most RANGE_MAX_PARTS parts (start, length). */
static int split(const char *text, const char *flag, const char **parts,
		 size_t *lens, size_t *n, struct it_error *err)
{
	const char *p = text;

	*n = 0;
	for (;;) {
		const char *colon = strchr(p, ':');
		size_t len = colon ? (size_t)(colon - p) : strlen(p);

		if (*n == RANGE_MAX_PARTS)
			return it_error_set(err, IT_ERR_INVALID,
					    "%s '%s': expected start[:end[:step]], found more than three parts",
					    flag, text);
		if (!len)
			return it_error_set(err, IT_ERR_INVALID,
					    "%s '%s': expected start[:end[:step]], found an empty part",
					    flag, text);
		parts[*n] = p;
		lens[*n] = len;
		(*n)++;
		if (!colon)
			break;
		p = colon + 1;
	}
	return 0;
}

static int parse_u64(const char *p, size_t len, const char *flag,
		     const char *text, uint64_t *out, struct it_error *err)
{
	uint64_t v = 0;

	for (size_t i = 0; i < len; i++) {
		uint64_t d = (uint64_t)(p[i] - '0');

		if (p[i] < '0' || p[i] > '9')
			return it_error_set(err, IT_ERR_INVALID,
					    "%s '%s': '%.*s' is not a whole number",
					    flag, text, (int)len, p);
		if (v > (UINT64_MAX - d) / 10)
			return it_error_set(err, IT_ERR_INVALID,
					    "%s '%s': '%.*s' is too large",
					    flag, text, (int)len, p);
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

static int parse_f64(const char *p, size_t len, const char *flag,
		     const char *text, double *out, struct it_error *err)
{
	char buf[64];
	char *end;
	double v;

	if (len >= sizeof(buf))
		return it_error_set(err, IT_ERR_INVALID,
				    "%s '%s': '%.*s' is not a number", flag,
				    text, (int)len, p);
	memcpy(buf, p, len);
	buf[len] = '\0';
	/* Plain decimals only: no sign, no hex, no inf/nan. */
	for (size_t i = 0; i < len; i++) {
		if (!((buf[i] >= '0' && buf[i] <= '9') || buf[i] == '.' ||
		      buf[i] == 'e' || buf[i] == 'E' ||
		      ((buf[i] == '-' || buf[i] == '+') && i &&
		       (buf[i - 1] == 'e' || buf[i - 1] == 'E'))))
			return it_error_set(err, IT_ERR_INVALID,
					    "%s '%s': '%s' is not a number",
					    flag, text, buf);
	}
	errno = 0;
	v = strtod(buf, &end);
	if (*end || errno || !isfinite(v))
		return it_error_set(err, IT_ERR_INVALID,
				    "%s '%s': '%s' is not a number", flag,
				    text, buf);
	*out = v;
	return 0;
}

int range_parse_u64(const char *text, const char *flag, struct range_u64 *out,
		    struct it_error *err)
{
	const char *parts[RANGE_MAX_PARTS];
	size_t lens[RANGE_MAX_PARTS], n;
	uint64_t v[RANGE_MAX_PARTS] = { 0, 0, 1 };
	int rc;

	rc = split(text, flag, parts, lens, &n, err);
	if (rc)
		return rc;
	for (size_t i = 0; i < n; i++) {
		rc = parse_u64(parts[i], lens[i], flag, text, &v[i], err);
		if (rc)
			return rc;
	}
	if (n < 2)
		v[1] = v[0];
	if (v[0] == 0)
		return it_error_set(err, IT_ERR_INVALID,
				    "%s '%s': the start of the range must be > 0",
				    flag, text);
	if (v[2] == 0)
		return it_error_set(err, IT_ERR_INVALID,
				    "%s '%s': the step must be > 0", flag, text);
	if (v[1] != 0 && v[1] < v[0])
		return it_error_set(err, IT_ERR_INVALID,
				    "%s '%s': the end (%llu) is below the start (%llu); use 0 for no limit",
				    flag, text, (unsigned long long)v[1],
				    (unsigned long long)v[0]);
	out->start = v[0];
	out->end = v[1];
	out->step = v[2];
	return 0;
}

int range_parse_f64(const char *text, const char *flag, struct range_f64 *out,
		    struct it_error *err)
{
	const char *parts[RANGE_MAX_PARTS];
	size_t lens[RANGE_MAX_PARTS], n;
	double v[RANGE_MAX_PARTS] = { 0, 0, 1 };
	int rc;

	rc = split(text, flag, parts, lens, &n, err);
	if (rc)
		return rc;
	for (size_t i = 0; i < n; i++) {
		rc = parse_f64(parts[i], lens[i], flag, text, &v[i], err);
		if (rc)
			return rc;
	}
	if (n < 2)
		v[1] = v[0];
	if (!(v[0] > 0))
		return it_error_set(err, IT_ERR_INVALID,
				    "%s '%s': the start of the range must be > 0",
				    flag, text);
	if (!(v[2] > 0))
		return it_error_set(err, IT_ERR_INVALID,
				    "%s '%s': the step must be > 0", flag, text);
	if (v[1] != 0 && v[1] < v[0])
		return it_error_set(err, IT_ERR_INVALID,
				    "%s '%s': the end (%g) is below the start (%g); use 0 for no limit",
				    flag, text, v[1], v[0]);
	out->start = v[0];
	out->end = v[1];
	out->step = v[2];
	return 0;
}
