/*
 * Unit tests for util/: error formatting, the capped strbuf, file helpers.
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

#include "util/error.h"
#include "util/fs.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

static void test_error_format_positions(void **state)
{
	struct it_error err = { 0 };
	char buf[256];

	(void)state;
	assert_int_equal(it_error_at(&err, IT_ERR_PARSE, "a/config.pbtxt", 3, 7,
				     "expected %s", "':'"),
			 IT_ERR_PARSE);
	assert_string_equal(it_error_format(&err, buf, sizeof(buf)),
			    "a/config.pbtxt:3:7: expected ':'");
	it_error_at(&err, IT_ERR_IO, "f", 0, 0, "gone");
	assert_string_equal(it_error_format(&err, buf, sizeof(buf)), "f: gone");
	it_error_set(&err, IT_ERR_INVALID, "plain %d", 5);
	assert_string_equal(it_error_format(&err, buf, sizeof(buf)), "plain 5");
	it_error_prefix(&err, "model '%s'", "m");
	assert_string_equal(err.message, "model 'm': plain 5");
	/* A NULL error is accepted and the code still comes back. */
	assert_int_equal(it_error_set(NULL, IT_ERR_LIMIT, "x"), IT_ERR_LIMIT);
	assert_string_equal(it_strerror(IT_ERR_NOT_FOUND), "not found");
}

static void test_error_truncates(void **state)
{
	struct it_error err = { 0 };
	char big[4096];
	char small[16];

	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	it_error_set(&err, IT_ERR_INVALID, "%s", big);
	assert_int_equal(strlen(err.message), IT_ERROR_MESSAGE_MAX - 1);
	it_error_prefix(&err, "%s", big);
	assert_int_equal(strlen(err.message), IT_ERROR_MESSAGE_MAX - 1);
	it_error_format(&err, small, sizeof(small));
	assert_int_equal(strlen(small), sizeof(small) - 1);
}

static void test_strbuf_grows_and_caps(void **state)
{
	struct strbuf sb;
	char *s;
	size_t len;

	(void)state;
	strbuf_init(&sb, 10);
	assert_int_equal(strbuf_adds(&sb, "hello"), 0);
	assert_int_equal(strbuf_addf(&sb, "%d", 1234), 0);
	assert_string_equal(sb.buf, "hello1234");
	/* Past the cap: refused, buffer unchanged. */
	assert_int_equal(strbuf_adds(&sb, "ab"), IT_ERR_LIMIT);
	assert_int_equal(strbuf_addf(&sb, "%s", "ab"), IT_ERR_LIMIT);
	assert_string_equal(sb.buf, "hello1234");
	assert_int_equal(strbuf_addch(&sb, '!'), 0);
	assert_int_equal(sb.len, 10);
	assert_int_equal(strbuf_addch(&sb, '?'), IT_ERR_LIMIT);
	strbuf_setlen(&sb, 5);
	assert_string_equal(sb.buf, "hello");
	s = strbuf_detach(&sb, &len);
	assert_int_equal(len, 5);
	assert_string_equal(s, "hello");
	assert_int_equal(sb.len, 0);
	free(s);
	strbuf_release(&sb);
}

static void test_strbuf_binary(void **state)
{
	struct strbuf sb;

	(void)state;
	strbuf_init(&sb, 0);
	for (int i = 0; i < 100000; i++)
		assert_int_equal(strbuf_add(&sb, "\0x", 2), 0);
	assert_int_equal(sb.len, 200000);
	assert_int_equal(sb.buf[0], '\0');
	assert_int_equal(sb.buf[199999], 'x');
	assert_int_equal(sb.buf[200000], '\0');
	strbuf_release(&sb);
}

static void test_fs_roundtrip_and_limits(void **state)
{
	struct it_error err = { 0 };
	char dir[] = "/tmp/infertune-test-XXXXXX";
	char *path;
	char *data = NULL;
	size_t len = 0;

	(void)state;
	assert_non_null(mkdtemp(dir));
	path = fs_join(dir, "f.txt");
	assert_int_equal(fs_write_file_atomic(path, "abc\0def", 7, &err), 0);
	assert_true(fs_is_file(path));
	assert_false(fs_is_dir(path));
	assert_true(fs_is_dir(dir));
	assert_int_equal(fs_read_file(path, 100, &data, &len, &err), 0);
	assert_int_equal(len, 7);
	assert_memory_equal(data, "abc\0def", 7);
	free(data);
	data = NULL;
	assert_int_equal(fs_read_file(path, 6, &data, &len, &err), IT_ERR_LIMIT);
	assert_null(data);
	assert_string_equal(err.file, path);
	assert_int_equal(fs_read_file(dir, 100, &data, &len, &err), IT_ERR_IO);
	unlink(path);
	assert_int_equal(fs_read_file(path, 100, &data, &len, &err),
			 IT_ERR_NOT_FOUND);
	assert_non_null(strstr(err.message, "cannot open"));
	/* Writing into a missing folder fails cleanly and leaves nothing. */
	free(path);
	path = fs_join(dir, "missing/f.txt");
	assert_int_equal(fs_write_file_atomic(path, "x", 1, &err), IT_ERR_IO);
	free(path);
	rmdir(dir);
}

static void test_fs_mkdir_rm_tree(void **state)
{
	struct it_error err = { 0 };
	char dir[] = "/tmp/infertune-test-XXXXXX";
	char *deep, *file, *link_path, *outside;

	(void)state;
	assert_non_null(mkdtemp(dir));
	deep = fs_join(dir, "a/b//c/");
	file = fs_join(dir, "a/b/f.txt");
	link_path = fs_join(dir, "a/link");
	outside = fs_join(dir, "kept");
	assert_true(fs_dir_is_empty(dir));
	assert_int_equal(fs_mkdir_p(deep, &err), 0);
	assert_true(fs_is_dir(deep));
	/* Again: existing folders are fine. */
	assert_int_equal(fs_mkdir_p(deep, &err), 0);
	assert_false(fs_dir_is_empty(dir));
	assert_true(fs_dir_is_empty(deep));
	assert_int_equal(fs_write_file_atomic(file, "x", 1, &err), 0);
	/* A file in the way is named. */
	{
		char *below = fs_join(file, "d");

		assert_int_equal(fs_mkdir_p(below, &err), IT_ERR_IO);
		assert_non_null(strstr(err.message, file));
		free(below);
	}
	assert_int_equal(fs_mkdir_p(file, &err), IT_ERR_IO);
	assert_non_null(strstr(err.message, "not a folder"));
	assert_int_equal(fs_mkdir_p("", &err), IT_ERR_INVALID);
	/* rm -rf removes a link, not what it points to. */
	assert_int_equal(fs_mkdir_p(outside, &err), 0);
	assert_int_equal(symlink(outside, link_path), 0);
	{
		char *a = fs_join(dir, "a");

		assert_int_equal(fs_rm_rf(a, &err), 0);
		assert_false(fs_is_dir(a));
		assert_int_equal(fs_rm_rf(a, &err), 0); /* gone already */
		free(a);
	}
	assert_true(fs_is_dir(outside));
	assert_true(fs_dir_is_empty(deep)); /* does not exist any more */
	assert_int_equal(fs_rm_rf(dir, &err), 0);
	assert_false(fs_is_dir(dir));
	free(deep);
	free(file);
	free(link_path);
	free(outside);
}

static int setv_wrapper(struct it_error *err, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = it_error_setv(err, IT_ERR_PARSE, fmt, ap);
	va_end(ap);
	return rc;
}

static int atv_wrapper(struct it_error *err, int line, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = it_error_atv(err, IT_ERR_INVALID, "x.pbtxt", line, 2, fmt, ap);
	va_end(ap);
	return rc;
}

static void test_error_va_list_forms(void **state)
{
	struct it_error err = { 0 };
	char buf[128];

	(void)state;
	assert_int_equal(atv_wrapper(&err, 4, "bad %s", "field"), IT_ERR_INVALID);
	assert_string_equal(it_error_format(&err, buf, sizeof(buf)), "x.pbtxt:4:2: bad field");
	/* The position-less form clears the position a previous error left. */
	assert_int_equal(setv_wrapper(&err, "n=%d", 3), IT_ERR_PARSE);
	assert_int_equal(err.code, IT_ERR_PARSE);
	assert_int_equal(err.line, 0);
	assert_string_equal(err.file, "");
	assert_string_equal(it_error_format(&err, buf, sizeof(buf)), "n=3");
	assert_int_equal(setv_wrapper(NULL, "x"), IT_ERR_PARSE);
}

static void test_fs_join(void **state)
{
	char *s;

	(void)state;
	s = fs_join("a//", "b");
	assert_string_equal(s, "a/b");
	free(s);
	s = fs_join("/", "b");
	assert_string_equal(s, "/b");
	free(s);
}

static void test_xgrow(void **state)
{
	int *v = NULL;
	size_t alloc = 0;

	(void)state;
	for (size_t i = 0; i < 1000; i++) {
		XGROW(v, alloc, i + 1);
		v[i] = (int)i;
	}
	assert_true(alloc >= 1000);
	assert_int_equal(v[999], 999);
	free(v);
	assert_null(xstrdup(NULL));
	{
		char *s = xstrndup("abcdef", 3);

		assert_string_equal(s, "abc");
		free(s);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_error_format_positions),
		cmocka_unit_test(test_error_truncates),
		cmocka_unit_test(test_strbuf_grows_and_caps),
		cmocka_unit_test(test_strbuf_binary),
		cmocka_unit_test(test_fs_roundtrip_and_limits),
		cmocka_unit_test(test_fs_mkdir_rm_tree),
		cmocka_unit_test(test_error_va_list_forms),
		cmocka_unit_test(test_fs_join),
		cmocka_unit_test(test_xgrow),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
