/*
 * Sets of CPUs: CPU lists as Linux writes them ("0-3,6", taskset -c,
 * /sys/devices/system/cpu/online) to and from a plain bit set, and the
 * affinity of the calling thread (sched_setaffinity), so callers need no
 * _GNU_SOURCE. Depends on util/error only.
 */
#ifndef INFERTUNE_UTIL_CPUSET_H
#define INFERTUNE_UTIL_CPUSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct it_error;

/** CPUs 0 .. CPUSET_MAX-1 (the kernel's CPU_SETSIZE). */
#define CPUSET_MAX 1024

/** A set of CPUs. Plain value struct; all zero is the empty set. */
struct cpuset {
	uint64_t bits[CPUSET_MAX / 64];
};

void cpuset_add(struct cpuset *s, unsigned cpu);
bool cpuset_has(const struct cpuset *s, unsigned cpu);
/** How many CPUs s holds. */
unsigned cpuset_count(const struct cpuset *s);
/** True when a and b share a CPU. */
bool cpuset_intersects(const struct cpuset *a, const struct cpuset *b);
/** True when every CPU of a is in b. */
bool cpuset_subset(const struct cpuset *a, const struct cpuset *b);

/**
 * Parses a CPU list: comma-separated CPU numbers and inclusive ranges A-B,
 * each below CPUSET_MAX. IT_ERR_INVALID names the item at fault (empty
 * list, a range backwards, a number too large, stray characters). *out is
 * written only on success.
 */
int cpuset_parse(const char *text, struct cpuset *out, struct it_error *err);

/** Writes s as a CPU list ("0-3,6"; "" when empty) into buf, NUL-terminated. */
void cpuset_format(const struct cpuset *s, char *buf, size_t size);

/** The CPUs the calling thread may run on (sched_getaffinity); IT_ERR_IO. */
int cpuset_get_allowed(struct cpuset *out, struct it_error *err);

/**
 * Restricts the calling thread, and the threads and processes it creates
 * afterwards, to s. Async-signal-safe (a child between fork and exec may
 * call it). Returns 0 or -errno.
 */
int cpuset_apply_self(const struct cpuset *s);

#endif
