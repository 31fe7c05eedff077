/*
 * Unit tests for server/models: start-up loading with per-model failures,
 * version selection, Triton's lookup errors, the control-mode rule, and the
 * reference-count invariant: an unload waits for the handles in use and a
 * held handle stays valid until it is released.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "model/config.h"
#include "server/models.h"
#include "util/error.h"

static char root[64];

static void put(const char *rel, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void dir(const char *rel)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	mkdir(path, 0755);
}

#define IDENTITY(name, extra) \
	"name: \"" name "\"\nbackend: \"identity\"\nmax_batch_size: 0\n" \
	"input [ { name: \"IN\" data_type: TYPE_FP32 dims: [ 4 ] } ]\n" \
	"output [ { name: \"OUT\" data_type: TYPE_FP32 dims: [ 4 ] } ]\n" extra

static int setup(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "/tmp/infertune-models-XXXXXX");
	if (!mkdtemp(root))
		return -1;
	dir("a");
	dir("a/1");
	dir("a/2");
	put("a/config.pbtxt", IDENTITY("a", "version_policy: { all { } }\n"));
	dir("b");
	dir("b/1");
	put("b/config.pbtxt", IDENTITY("b", ""));
	dir("broken");
	dir("broken/1");
	put("broken/config.pbtxt",
	    "name: \"broken\"\nbackend: \"identity\"\n"
	    "input [ { name: \"IN\" data_type: TYPE_NOPE dims: [ 4 ] } ]\n");
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd) == 0 ? 0 : -1;
}

static struct models *open_models(enum model_control_mode mode,
				  const char **load, size_t n_load)
{
	const char *repos[] = { root };
	struct models_options o = { repos, 1, mode, load, n_load };
	struct models *m = NULL;
	struct it_error err = { 0 };

	assert_int_equal(models_new(&o, &m, &err), 0);
	return m;
}

static void test_startup_and_lookup(void **state)
{
	struct models *m = open_models(MODEL_CONTROL_NONE, NULL, 0);
	struct served_model *sm = NULL;
	struct it_error err = { 0 };
	json_t *idx;

	(void)state;
	assert_int_equal(models_load_startup(m), 1); /* "broken" */
	assert_false(models_all_ready(m));
	idx = models_index_json(m, false);
	assert_int_equal(json_array_size(idx), 4); /* a/1, a/2, b/1, broken */
	assert_string_equal(json_string_value(json_object_get(json_array_get(idx, 3), "state")),
			    "UNAVAILABLE");
	assert_non_null(strstr(json_string_value(json_object_get(json_array_get(idx, 3), "reason")),
			       "TYPE_NOPE"));
	json_decref(idx);

	/* No version: the highest READY one. */
	assert_int_equal(models_acquire(m, "a", -1, &sm, &err), 0);
	assert_string_equal(served_model_version(sm), "2");
	assert_string_equal(served_model_name(sm), "a");
	assert_string_equal(served_model_config(sm)->name, "a");
	served_model_release(sm);
	assert_int_equal(models_acquire(m, "a", 1, &sm, &err), 0);
	assert_string_equal(served_model_version(sm), "1");
	served_model_release(sm);

	assert_int_equal(models_acquire(m, "zzz", -1, &sm, &err), IT_ERR_INVALID);
	assert_string_equal(err.message, "Request for unknown model: 'zzz' is not found");
	assert_int_equal(models_acquire(m, "a", 7, &sm, &err), IT_ERR_NOT_FOUND);
	assert_string_equal(err.message, "Request for unknown model: 'a' version 7 is not found");
	assert_int_equal(models_acquire(m, "broken", -1, &sm, &err), IT_ERR_NOT_FOUND);
	assert_true(models_is_ready(m, "b", -1));
	assert_false(models_is_ready(m, "broken", -1));

	/* Control mode none: no load/unload API (Model Analyzer matches the words). */
	assert_int_equal(models_load(m, "b", NULL, &err), IT_ERR_STATE);
	assert_non_null(strstr(err.message, "polling is enabled"));
	assert_int_equal(models_unload(m, "b", &err), IT_ERR_STATE);
	models_free(m);
}

struct unload_arg {
	struct models *m;
	atomic_bool done;
	int rc;
};

static void *unload_thread(void *p)
{
	struct unload_arg *a = p;

	a->rc = models_unload(a->m, "b", NULL);
	atomic_store(&a->done, true);
	return NULL;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { 0, ms * 1000000L };

	nanosleep(&ts, NULL);
}

static void test_unload_waits_for_handles(void **state)
{
	const char *load[] = { "b" };
	struct models *m = open_models(MODEL_CONTROL_EXPLICIT, load, 1);
	struct unload_arg a = { .m = m };
	struct served_model *sm = NULL, *other = NULL;
	struct it_error err = { 0 };
	pthread_t t;

	(void)state;
	assert_int_equal(models_load_startup(m), 0);
	assert_true(models_all_ready(m));
	assert_int_equal(models_acquire(m, "b", -1, &sm, &err), 0);
	atomic_init(&a.done, false);
	assert_int_equal(pthread_create(&t, NULL, unload_thread, &a), 0);
	sleep_ms(150);
	/* The unload is blocked on our handle, and refuses newcomers meanwhile. */
	assert_false(atomic_load(&a.done));
	assert_int_equal(models_acquire(m, "b", -1, &other, &err), IT_ERR_STATE);
	assert_non_null(strstr(err.message, "UNLOADING"));
	assert_false(models_all_ready(m));
	/* The handle still works: its config is alive. */
	assert_string_equal(served_model_config(sm)->inputs[0].name, "IN");
	served_model_release(sm);
	pthread_join(t, NULL);
	assert_true(atomic_load(&a.done));
	assert_int_equal(a.rc, 0);
	assert_int_equal(models_acquire(m, "b", -1, &other, &err), IT_ERR_NOT_FOUND);
	assert_true(models_all_ready(m)); /* an explicit unload is not "not ready" */
	models_free(m);
}

static void test_explicit_load_and_override(void **state)
{
	struct models *m = open_models(MODEL_CONTROL_EXPLICIT, NULL, 0);
	struct served_model *sm = NULL, *old = NULL;
	struct it_error err = { 0 };
	json_t *cfg;

	(void)state;
	assert_int_equal(models_load_startup(m), 0);
	assert_int_equal(models_acquire(m, "b", -1, &sm, &err), IT_ERR_INVALID);
	assert_int_equal(models_load(m, "b", NULL, &err), 0);
	assert_int_equal(models_acquire(m, "b", -1, &old, &err), 0);
	/* The override replaces config.pbtxt; 64-bit values as strings, as Model Analyzer sends them. */
	cfg = json_loads("{\"name\":\"b\",\"backend\":\"identity\","
			 "\"input\":[{\"name\":\"X\",\"data_type\":\"TYPE_INT32\",\"dims\":[\"2\"]}],"
			 "\"output\":[{\"name\":\"Y\",\"data_type\":\"TYPE_INT32\",\"dims\":[\"2\"]}],"
			 "\"instance_group\":[{\"count\":\"2\",\"kind\":\"KIND_CPU\"}]}", 0, NULL);
	assert_non_null(cfg);
	/*
	 * The reload would wait for `old` to be released before retiring it;
	 * release it first (a request completing), then reload.
	 */
	served_model_release(old);
	assert_int_equal(models_load(m, "b", cfg, &err), 0);
	assert_int_equal(models_acquire(m, "b", -1, &sm, &err), 0);
	assert_string_equal(served_model_config(sm)->inputs[0].name, "X");
	assert_int_equal(served_model_config(sm)->instance_groups[0].count, 2);
	served_model_release(sm);
	json_decref(cfg);

	/* A name that differs is refused and the loaded config keeps serving. */
	cfg = json_loads("{\"name\":\"c\",\"backend\":\"identity\"}", 0, NULL);
	assert_int_equal(models_load(m, "b", cfg, &err), IT_ERR_INVALID);
	assert_non_null(strstr(err.message, "does not match"));
	json_decref(cfg);
	assert_int_equal(models_acquire(m, "b", -1, &sm, &err), 0);
	assert_string_equal(served_model_config(sm)->inputs[0].name, "X");
	served_model_release(sm);

	assert_int_equal(models_load(m, "nothere", NULL, &err), IT_ERR_INVALID);
	assert_int_equal(models_load(m, "../b", NULL, &err), IT_ERR_INVALID);
	assert_int_equal(models_load(m, "broken", NULL, &err), IT_ERR_INVALID);
	assert_non_null(strstr(err.message, "config.pbtxt:"));
	assert_int_equal(models_unload(m, "ghost", &err), IT_ERR_INVALID);
	assert_int_equal(models_unload(m, "a", &err), 0); /* never loaded: nothing to do */
	models_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_startup_and_lookup),
		cmocka_unit_test(test_unload_waits_for_handles),
		cmocka_unit_test(test_explicit_load_and_override),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
