/*
 * Unit tests for util/cpuset (CPU lists both ways, affinity of the calling
 * thread) and analyze/pinning (how --server-cpus and --client-cpus resolve
 * on machines of 2 and 8 CPUs, and the bad inputs refused).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "analyze/options.h"
#include "analyze/pinning.h"
#include "util/cpuset.h"
#include "util/error.h"

static struct cpuset set_of(const char *list)
{
	struct cpuset s;

	assert_int_equal(cpuset_parse(list, &s, NULL), 0);
	return s;
}

static void test_cpuset_lists(void **state)
{
	struct it_error err = { 0 };
	struct cpuset s;
	char buf[64];

	(void)state;
	s = set_of("0-3,6,8-9,1");
	assert_int_equal(cpuset_count(&s), 7);
	assert_true(cpuset_has(&s, 6));
	assert_false(cpuset_has(&s, 5));
	cpuset_format(&s, buf, sizeof(buf));
	assert_string_equal(buf, "0-3,6,8-9");
	s = set_of("1023");
	cpuset_format(&s, buf, sizeof(buf));
	assert_string_equal(buf, "1023");
	for (const char *const *bad = (const char *const[]){ "", "a", "1,", "3-1", "1-",
							     "1024", "0 1", "-1", NULL };
	     *bad; bad++) {
		assert_int_equal(cpuset_parse(*bad, &s, &err), IT_ERR_INVALID);
		assert_non_null(strstr(err.message, "is not a CPU list"));
	}
	assert_true(cpuset_subset(&(struct cpuset){ { 0x3 } }, &(struct cpuset){ { 0x7 } }));
	assert_false(cpuset_subset(&(struct cpuset){ { 0x9 } }, &(struct cpuset){ { 0x7 } }));
	assert_true(cpuset_intersects(&(struct cpuset){ { 0x3 } }, &(struct cpuset){ { 0x6 } }));
}

/* A child pins itself to one allowed CPU; the kernel reports just that one. */
static void test_cpuset_apply(void **state)
{
	struct cpuset allowed, one;
	int status = 0;
	pid_t pid;

	(void)state;
	assert_int_equal(cpuset_get_allowed(&allowed, NULL), 0);
	assert_true(cpuset_count(&allowed) >= 1);
	memset(&one, 0, sizeof(one));
	for (unsigned c = 0; c < CPUSET_MAX; c++) {
		if (cpuset_has(&allowed, c)) {
			cpuset_add(&one, c);
			break;
		}
	}
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct cpuset now;

		if (cpuset_apply_self(&one) || cpuset_get_allowed(&now, NULL))
			_exit(2);
		_exit(memcmp(&now, &one, sizeof(now)) ? 1 : 0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void resolve(const char *server, const char *client, bool remote, const char *allowed,
		    struct cpu_pinning *p, int want_rc, struct it_error *err)
{
	struct analyze_options o;
	struct cpuset a = set_of(allowed);

	memset(&o, 0, sizeof(o));
	o.server_mode = remote ? ANALYZE_SERVER_REMOTE : ANALYZE_SERVER_EMBEDDED;
	o.server_cpus = (char *)server;
	o.client_cpus = (char *)client;
	assert_int_equal(pinning_resolve(&o, &a, p, err), want_rc);
}

static void test_pinning_resolve(void **state)
{
	struct it_error err = { 0 };
	struct cpu_pinning p;
	char s[64], c[64];

	(void)state;
	/* Two CPUs: nothing to spare, both share (and the reason is said). */
	resolve(NULL, NULL, false, "0-1", &p, 0, &err);
	assert_false(p.server_pinned || p.client_pinned);
	assert_non_null(strstr(p.description, "share CPUs 0-1 (too few to split)"));
	/* Eight CPUs: the client gets the last quarter. */
	resolve("auto", NULL, false, "0-7", &p, 0, &err);
	assert_true(p.server_pinned && p.client_pinned);
	cpuset_format(&p.server, s, sizeof(s));
	cpuset_format(&p.client, c, sizeof(c));
	assert_string_equal(s, "0-5");
	assert_string_equal(c, "6-7");
	assert_string_equal(p.description, "server on CPUs 0-5, load generator on CPUs 6-7");
	/* Four CPUs with holes: one for the client, the highest. */
	resolve(NULL, NULL, false, "0,2,4,6", &p, 0, &err);
	cpuset_format(&p.client, c, sizeof(c));
	assert_string_equal(c, "6");
	/* One side given: the other gets what is left. */
	resolve(NULL, "0", false, "0-1", &p, 0, &err);
	cpuset_format(&p.server, s, sizeof(s));
	assert_string_equal(s, "1");
	assert_true(p.client_pinned && p.server_pinned);
	/* none turns auto off. */
	resolve("none", NULL, false, "0-7", &p, 0, &err);
	assert_false(p.server_pinned || p.client_pinned);
	/* A remote server: only the client can be pinned. */
	resolve(NULL, NULL, true, "0-7", &p, 0, &err);
	assert_false(p.server_pinned || p.client_pinned);
	assert_string_equal(p.description, "none (remote server)");
	resolve(NULL, "3", true, "0-7", &p, 0, &err);
	assert_true(p.client_pinned && !p.server_pinned);
	/* Bad input, named. */
	resolve("0-2", "2-3", false, "0-7", &p, IT_ERR_INVALID, &err);
	assert_non_null(strstr(err.message, "overlap"));
	resolve("0-9", NULL, false, "0-7", &p, IT_ERR_INVALID, &err);
	assert_non_null(strstr(err.message, "may only use CPUs 0-7"));
	resolve("0", NULL, true, "0-7", &p, IT_ERR_INVALID, &err);
	assert_non_null(strstr(err.message, "only the embedded server can be pinned"));
	resolve("x", NULL, false, "0-7", &p, IT_ERR_INVALID, &err);
	assert_non_null(strstr(err.message, "--server-cpus"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cpuset_lists),
		cmocka_unit_test(test_cpuset_apply),
		cmocka_unit_test(test_pinning_resolve),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
