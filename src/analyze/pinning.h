/*
 * Which CPUs the embedded server and the load generator run on. On one
 * host they compete for the same cores; with cores to spare they are
 * pinned to disjoint sets so the client does not take the model's cycles
 * (docs/statistics.md, "Interference"). Depends on util/cpuset and
 * analyze/options.
 */
#ifndef INFERTUNE_ANALYZE_PINNING_H
#define INFERTUNE_ANALYZE_PINNING_H

#include <stdbool.h>

#include "util/cpuset.h"

struct analyze_options;
struct it_error;

/** Auto pins only from this many allowed CPUs on. */
#define PINNING_AUTO_MIN_CPUS 4

/** The resolved sets. Plain value struct. */
struct cpu_pinning {
	bool server_pinned;             /* the embedded server runs on `server` */
	bool client_pinned;             /* analyze and its load generator run on `client` */
	struct cpuset server, client;
	char description[256];          /* one sentence for results.db and the report */
};

/**
 * Resolves --server-cpus and --client-cpus ("auto" when unset, "none" or a
 * CPU list) against the CPUs this process may use. auto, with the embedded
 * server and at least PINNING_AUTO_MIN_CPUS CPUs: the load generator gets
 * the last quarter (at least one), the server the rest; an auto side next
 * to an explicit list gets the allowed CPUs the list leaves. Fewer CPUs,
 * or a remote server: no pinning, both share. IT_ERR_INVALID for a list
 * with CPUs this process may not use, overlapping lists, an empty side,
 * or --server-cpus LIST with a remote server.
 */
int pinning_resolve(const struct analyze_options *o, const struct cpuset *allowed,
		    struct cpu_pinning *out, struct it_error *err);

#endif
