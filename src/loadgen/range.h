/*
 * perf_analyzer's load ranges, "start[:end[:step]]", for --concurrency-range
 * (whole numbers) and --request-rate-range (decimals). Depends on util/ only.
 */
#ifndef INFERTUNE_LOADGEN_RANGE_H
#define INFERTUNE_LOADGEN_RANGE_H

#include <stdint.h>

struct it_error;

/** A concurrency range. end 0 = no limit (sweep until the latency threshold). */
struct range_u64 {
	uint64_t start;
	uint64_t end;
	uint64_t step;
};

/** A request-rate range (per second). end 0 = no limit. */
struct range_f64 {
	double start;
	double end;
	double step;
};

/**
 * Parses "start[:end[:step]]". A missing end means end = start (one level),
 * a missing step means 1. Fails with IT_ERR_INVALID and a message that names
 * `flag` for: an empty or non-numeric part, more than three parts, a start
 * of 0, a step of 0, or an end below start (other than 0).
 */
int range_parse_u64(const char *text, const char *flag, struct range_u64 *out,
		    struct it_error *err);

/** As range_parse_u64 for positive finite decimals. */
int range_parse_f64(const char *text, const char *flag, struct range_f64 *out,
		    struct it_error *err);

#endif
