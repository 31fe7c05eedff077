/*
 * CPU sets of the server and the load generator (see pinning.h).
 */
#include "analyze/pinning.h"

#include <stdio.h>
#include <string.h>

#include "analyze/options.h"
#include "util/error.h"
#include "util/banned.h"

enum side_mode { SIDE_AUTO, SIDE_NONE, SIDE_LIST };

static int side_parse(const char *flag, const char *value, const struct cpuset *allowed,
		      struct cpuset *set, enum side_mode *mode, struct it_error *err)
{
	char buf[128];
	int rc;

	if (!value || !strcmp(value, "auto")) {
		*mode = SIDE_AUTO;
		return 0;
	}
	if (!strcmp(value, "none")) {
		*mode = SIDE_NONE;
		return 0;
	}
	*mode = SIDE_LIST;
	rc = cpuset_parse(value, set, err);
	if (rc) {
		it_error_prefix(err, "%s", flag);
		return rc;
	}
	if (!cpuset_subset(set, allowed)) {
		cpuset_format(allowed, buf, sizeof(buf));
		return it_error_set(err, IT_ERR_INVALID,
				    "%s %s: this process may only use CPUs %s", flag, value, buf);
	}
	return 0;
}

/* allowed less `minus`. */
static struct cpuset cpus_left(const struct cpuset *allowed, const struct cpuset *minus)
{
	struct cpuset r;

	for (size_t i = 0; i < CPUSET_MAX / 64; i++)
		r.bits[i] = allowed->bits[i] & ~minus->bits[i];
	return r;
}

/* The last quarter of allowed (at least one CPU) for the client. */
static void split_auto(const struct cpuset *allowed, struct cpuset *server,
		       struct cpuset *client)
{
	unsigned n = cpuset_count(allowed), want = n / 4 ? n / 4 : 1, got = 0;

	memset(client, 0, sizeof(*client));
	for (unsigned c = CPUSET_MAX; c-- > 0 && got < want;) {
		if (cpuset_has(allowed, c)) {
			cpuset_add(client, c);
			got++;
		}
	}
	*server = cpus_left(allowed, client);
}

static void describe(struct cpu_pinning *p, const struct cpuset *allowed, bool remote)
{
	char s[96], c[96], a[96];

	cpuset_format(&p->server, s, sizeof(s));
	cpuset_format(&p->client, c, sizeof(c));
	cpuset_format(allowed, a, sizeof(a));
	if (p->server_pinned && p->client_pinned)
		snprintf(p->description, sizeof(p->description),
			 "server on CPUs %s, load generator on CPUs %s", s, c);
	else if (p->client_pinned)
		snprintf(p->description, sizeof(p->description),
			 "load generator on CPUs %s%s", c,
			 remote ? " (remote server)" : "; the server is not pinned");
	else if (p->server_pinned)
		snprintf(p->description, sizeof(p->description),
			 "server on CPUs %s; the load generator is not pinned", s);
	else if (remote)
		snprintf(p->description, sizeof(p->description),
			 "none (remote server)");
	else
		snprintf(p->description, sizeof(p->description),
			 "none: the server and the load generator share CPUs %s%s", a,
			 cpuset_count(allowed) < PINNING_AUTO_MIN_CPUS ?
			 " (too few to split)" : "");
}

int pinning_resolve(const struct analyze_options *o, const struct cpuset *allowed,
		    struct cpu_pinning *out, struct it_error *err)
{
	bool remote = o->server_mode == ANALYZE_SERVER_REMOTE;
	struct cpu_pinning p;
	enum side_mode sm, cm;
	int rc;

	memset(&p, 0, sizeof(p));
	rc = side_parse("--server-cpus", o->server_cpus, allowed, &p.server, &sm, err);
	if (!rc)
		rc = side_parse("--client-cpus", o->client_cpus, allowed, &p.client, &cm, err);
	if (rc)
		return rc;
	if (remote && sm == SIDE_LIST)
		return it_error_set(err, IT_ERR_INVALID,
				    "--server-cpus %s: only the embedded server can be pinned; "
				    "pin a remote server where it runs", o->server_cpus);
	if (remote)
		sm = SIDE_NONE;
	if (sm == SIDE_LIST && cm == SIDE_LIST && cpuset_intersects(&p.server, &p.client))
		return it_error_set(err, IT_ERR_INVALID,
				    "--server-cpus %s and --client-cpus %s overlap: the server "
				    "and the load generator need disjoint CPUs", o->server_cpus,
				    o->client_cpus);
	if (sm == SIDE_AUTO && cm == SIDE_AUTO &&
	    cpuset_count(allowed) >= PINNING_AUTO_MIN_CPUS) {
		split_auto(allowed, &p.server, &p.client);
		sm = cm = SIDE_LIST;
	} else if (sm == SIDE_AUTO && cm == SIDE_LIST) {
		p.server = cpus_left(allowed, &p.client);
		sm = cpuset_count(&p.server) ? SIDE_LIST : SIDE_NONE;
	} else if (cm == SIDE_AUTO && sm == SIDE_LIST) {
		p.client = cpus_left(allowed, &p.server);
		cm = cpuset_count(&p.client) ? SIDE_LIST : SIDE_NONE;
	}
	p.server_pinned = sm == SIDE_LIST;
	p.client_pinned = cm == SIDE_LIST;
	describe(&p, allowed, remote);
	*out = p;
	return 0;
}
