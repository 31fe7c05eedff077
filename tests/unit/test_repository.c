/*
 * Unit tests for model/repository: version folders and policies, per-model
 * errors that never hide other models, names that cannot escape the folder.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model/config.h"
#include "model/repository.h"
#include "util/error.h"
#include "util/fs.h"

static char root[64];

static void mkdirs(const char *rel)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	for (char *p = path + strlen(root) + 1; *p; p++) {
		if (*p == '/') {
			*p = '\0';
			mkdir(path, 0755);
			*p = '/';
		}
	}
	mkdir(path, 0755);
}

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

static int setup(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "/tmp/infertune-repo-XXXXXX");
	if (!mkdtemp(root))
		return -1;
	mkdirs("a/good/1");
	mkdirs("a/good/2");
	mkdirs("a/good/10");
	mkdirs("a/good/01");
	mkdirs("a/good/0");
	mkdirs("a/good/abc");
	put("a/good/config.pbtxt",
	    "platform: \"pytorch_libtorch\"\nmax_batch_size: 4\n"
	    "input { name: \"INPUT__0\" data_type: TYPE_FP32 dims: [3] }\n");
	mkdirs("a/all/1");
	mkdirs("a/all/3");
	put("a/all/config.pbtxt", "name: \"all\"\nbackend: \"identity\"\nversion_policy { all { } }\n");
	mkdirs("a/specific/1");
	mkdirs("a/specific/2");
	mkdirs("a/specific/3");
	put("a/specific/config.pbtxt",
	    "backend: \"onnxruntime\"\nversion_policy { specific { versions: [1, 3, 7] } }\n");
	mkdirs("a/latest2/4");
	mkdirs("a/latest2/5");
	mkdirs("a/latest2/6");
	put("a/latest2/config.pbtxt",
	    "backend: \"identity\"\nversion_policy: { latest: { num_versions: 2 } }\n");
	mkdirs("a/noconfig/1");
	mkdirs("a/broken/1");
	put("a/broken/config.pbtxt", "name: \"broken\"\nmax_batch_size 4\n");
	mkdirs("a/misnamed/1");
	put("a/misnamed/config.pbtxt", "name: \"other\"\nbackend: \"identity\"\n");
	mkdirs("a/noversions");
	put("a/noversions/config.pbtxt", "backend: \"identity\"\n");
	mkdirs("a/nobackend/1");
	put("a/nobackend/config.pbtxt", "max_batch_size: 1\n");
	mkdirs("a/.hidden/1");
	put("a/.hidden/config.pbtxt", "backend: \"identity\"\n");
	put("a/README", "not a model\n");
	mkdirs("b/dup/1");
	put("b/dup/config.pbtxt", "backend: \"identity\"\n");
	mkdirs("a/dup/1");
	put("a/dup/config.pbtxt", "backend: \"identity\"\n");
	mkdirs("b/custom/1");
	put("b/custom/config.pbtxt",
	    "backend: \"pytorch\"\ndefault_model_filename: \"traced.pt\"\n");
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd) == 0 ? 0 : -1;
}

static struct repository *scan_both(void)
{
	struct it_error err = { 0 };
	struct repository *repo = NULL;
	char a[128], b[128];
	const char *dirs[2] = { a, b };

	snprintf(a, sizeof(a), "%s/a", root);
	snprintf(b, sizeof(b), "%s/b", root);
	assert_int_equal(repository_scan(dirs, 2, &repo, &err), 0);
	return repo;
}

static void test_versions_and_policies(void **state)
{
	struct repository *repo = scan_both();
	const struct repo_model *m;
	char *file;

	(void)state;
	m = repository_find(repo, "good");
	assert_non_null(m);
	assert_non_null(m->config);
	assert_int_equal(m->error.code, 0);
	/* 01, 0 and abc are not version folders. */
	assert_int_equal(m->n_versions, 3);
	assert_int_equal(m->versions[0], 1);
	assert_int_equal(m->versions[2], 10);
	/* Default policy: latest 1. */
	assert_int_equal(m->n_served, 1);
	assert_int_equal(m->served[0], 10);
	/* The name defaults to the folder name. */
	assert_string_equal(m->config->name, "good");
	assert_string_equal(m->model_filename, "model.pt");
	file = repository_model_file(m, 10);
	assert_non_null(strstr(file, "/a/good/10/model.pt"));
	free(file);
	assert_null(repository_model_file(m, 7));

	m = repository_find(repo, "all");
	assert_int_equal(m->n_served, 2);
	assert_null(m->model_filename);
	m = repository_find(repo, "specific");
	assert_int_equal(m->n_served, 2);
	assert_int_equal(m->served[0], 1);
	assert_int_equal(m->served[1], 3);
	assert_string_equal(m->model_filename, "model.onnx");
	m = repository_find(repo, "latest2");
	assert_int_equal(m->n_served, 2);
	assert_int_equal(m->served[0], 5);
	assert_int_equal(m->served[1], 6);
	m = repository_find(repo, "custom");
	assert_non_null(m->config);
	assert_string_equal(m->model_filename, "traced.pt");
	repository_free(repo);
}

static void test_errors_per_model(void **state)
{
	struct repository *repo = scan_both();
	const struct repo_model *m;

	(void)state;
	/* Hidden folders and stray files are not models. */
	assert_null(repository_find(repo, ".hidden"));
	assert_null(repository_find(repo, "README"));
	m = repository_find(repo, "noconfig");
	assert_null(m->config);
	assert_int_equal(m->error.code, IT_ERR_NOT_FOUND);
	assert_non_null(strstr(m->error.message, "has no config.pbtxt"));
	m = repository_find(repo, "broken");
	assert_null(m->config);
	assert_int_equal(m->error.line, 2);
	assert_int_equal(m->error.col, 16);
	assert_non_null(strstr(m->error.file, "broken/config.pbtxt"));
	m = repository_find(repo, "misnamed");
	assert_null(m->config);
	assert_non_null(strstr(m->error.message, "'other' in config.pbtxt does not match its folder 'misnamed'"));
	m = repository_find(repo, "noversions");
	assert_null(m->config);
	assert_non_null(strstr(m->error.message, "no version folder"));
	m = repository_find(repo, "nobackend");
	assert_null(m->config);
	assert_non_null(strstr(m->error.message, "must specify 'backend' or 'platform'"));
	/* In two repositories: both copies refused. */
	{
		size_t dups = 0;

		for (size_t i = 0; i < repo->n_models; i++) {
			if (!strcmp(repo->models[i].name, "dup")) {
				dups++;
				assert_null(repo->models[i].config);
				assert_non_null(strstr(repo->models[i].error.message,
						       "more than one model repository"));
			}
		}
		assert_int_equal(dups, 2);
	}
	/* Sorted by name. */
	for (size_t i = 1; i < repo->n_models; i++)
		assert_true(strcmp(repo->models[i - 1].name, repo->models[i].name) <= 0);
	repository_free(repo);
}

static void test_missing_repository(void **state)
{
	struct it_error err = { 0 };
	struct repository *repo = NULL;
	const char *dirs[] = { "/nonexistent/infertune-repo" };

	(void)state;
	assert_int_equal(repository_scan(dirs, 1, &repo, &err), IT_ERR_NOT_FOUND);
	assert_null(repo);
	assert_string_equal(err.file, "/nonexistent/infertune-repo");
}

static void test_check_name(void **state)
{
	struct it_error err = { 0 };
	char long_name[300];

	(void)state;
	assert_int_equal(repository_check_name("resnet50", &err), 0);
	assert_int_equal(repository_check_name("bert-large.v2_x", &err), 0);
	assert_int_equal(repository_check_name("", &err), IT_ERR_INVALID);
	assert_int_equal(repository_check_name("..", &err), IT_ERR_INVALID);
	assert_int_equal(repository_check_name(".", &err), IT_ERR_INVALID);
	assert_int_equal(repository_check_name("../etc", &err), IT_ERR_INVALID);
	assert_non_null(strstr(err.message, "path separator"));
	assert_int_equal(repository_check_name("a\\b", &err), IT_ERR_INVALID);
	assert_int_equal(repository_check_name("a\nb", &err), IT_ERR_INVALID);
	assert_non_null(strstr(err.message, "control character 0x0a"));
	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	assert_int_equal(repository_check_name(long_name, &err), IT_ERR_INVALID);
}

static void test_default_filenames(void **state)
{
	(void)state;
	assert_string_equal(repository_default_filename("pytorch_libtorch", ""), "model.pt");
	assert_string_equal(repository_default_filename("", "pytorch"), "model.pt");
	assert_string_equal(repository_default_filename("tensorrt_plan", ""), "model.plan");
	assert_string_equal(repository_default_filename("", "python"), "model.py");
	assert_string_equal(repository_default_filename("torch_aoti", "pytorch"), "model.pt2");
	assert_null(repository_default_filename("ensemble", ""));
	assert_null(repository_default_filename("", "sim"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_versions_and_policies),
		cmocka_unit_test(test_errors_per_model),
		cmocka_unit_test(test_missing_repository),
		cmocka_unit_test(test_check_name),
		cmocka_unit_test(test_default_filenames),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
