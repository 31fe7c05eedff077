/*
 * Sets of CPUs and the calling thread's affinity (see cpuset.h). The only
 * file that needs glibc's cpu_set_t, hence _GNU_SOURCE here.
 */
#define _GNU_SOURCE
#include "util/cpuset.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"
#include "util/banned.h"

void cpuset_add(struct cpuset *s, unsigned cpu)
{
	if (cpu < CPUSET_MAX)
		s->bits[cpu / 64] |= (uint64_t)1 << (cpu % 64);
}

bool cpuset_has(const struct cpuset *s, unsigned cpu)
{
	return cpu < CPUSET_MAX && (s->bits[cpu / 64] >> (cpu % 64)) & 1;
}

unsigned cpuset_count(const struct cpuset *s)
{
	unsigned n = 0;

	for (size_t i = 0; i < CPUSET_MAX / 64; i++)
		n += (unsigned)__builtin_popcountll(s->bits[i]);
	return n;
}

bool cpuset_intersects(const struct cpuset *a, const struct cpuset *b)
{
	for (size_t i = 0; i < CPUSET_MAX / 64; i++) {
		if (a->bits[i] & b->bits[i])
			return true;
	}
	return false;
}

bool cpuset_subset(const struct cpuset *a, const struct cpuset *b)
{
	for (size_t i = 0; i < CPUSET_MAX / 64; i++) {
		if (a->bits[i] & ~b->bits[i])
			return false;
	}
	return true;
}

/* A CPU number at *p, below CPUSET_MAX; advances *p past it. */
static int read_cpu(const char **p, long *out)
{
	char *end;
	long v;

	if (**p < '0' || **p > '9')
		return -1;
	v = strtol(*p, &end, 10);
	if (v >= CPUSET_MAX)
		return -1;
	*p = end;
	*out = v;
	return 0;
}

/* One item, "A" or "A-B", at *p into s; advances *p past it. */
static int read_item(const char **p, struct cpuset *s)
{
	long a, b;

	if (read_cpu(p, &a))
		return -1;
	b = a;
	if (**p == '-') {
		(*p)++;
		if (read_cpu(p, &b) || b < a)
			return -1;
	}
	for (long c = a; c <= b; c++)
		cpuset_add(s, (unsigned)c);
	return 0;
}

int cpuset_parse(const char *text, struct cpuset *out, struct it_error *err)
{
	struct cpuset s;
	const char *p = text;

	memset(&s, 0, sizeof(s));
	for (;;) {
		const char *item = p;

		if (read_item(&p, &s) || (*p != ',' && *p != '\0'))
			return it_error_set(err, IT_ERR_INVALID,
					    "'%s' is not a CPU list (such as 0-3,6): bad item at '%s'",
					    text, item);
		if (*p == '\0')
			break;
		p++;
	}
	*out = s;
	return 0;
}

void cpuset_format(const struct cpuset *s, char *buf, size_t size)
{
	size_t len = 0;

	if (size)
		buf[0] = '\0';
	for (unsigned c = 0; c < CPUSET_MAX; c++) {
		unsigned end = c;
		int n;

		if (!cpuset_has(s, c))
			continue;
		while (end + 1 < CPUSET_MAX && cpuset_has(s, end + 1))
			end++;
		if (end > c)
			n = snprintf(buf + len, size - len, "%s%u-%u", len ? "," : "", c, end);
		else
			n = snprintf(buf + len, size - len, "%s%u", len ? "," : "", c);
		if (n < 0 || (size_t)n >= size - len)
			return;
		len += (size_t)n;
		c = end;
	}
}

int cpuset_get_allowed(struct cpuset *out, struct it_error *err)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	if (sched_getaffinity(0, sizeof(set), &set))
		return it_error_set(err, IT_ERR_IO, "sched_getaffinity: %s", strerror(errno));
	memset(out, 0, sizeof(*out));
	for (unsigned c = 0; c < CPUSET_MAX && c < CPU_SETSIZE; c++) {
		if (CPU_ISSET(c, &set))
			cpuset_add(out, c);
	}
	return 0;
}

int cpuset_apply_self(const struct cpuset *s)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	for (unsigned c = 0; c < CPUSET_MAX && c < CPU_SETSIZE; c++) {
		if (cpuset_has(s, c))
			CPU_SET(c, &set);
	}
	return sched_setaffinity(0, sizeof(set), &set) ? -errno : 0;
}
