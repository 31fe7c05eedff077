/*
 * Unit tests for util/'s text codecs: base64 (RFC 4648 vectors, the strict
 * and the lax padding rules, bad input), UTF-8 validation (RFC 3629 edges)
 * and XML escaping.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "util/base64.h"
#include "util/error.h"
#include "util/strbuf.h"
#include "util/utf8.h"

/* RFC 4648 §10. */
static const struct {
	const char *plain, *encoded;
} rfc4648[] = {
	{ "", "" },
	{ "f", "Zg==" },
	{ "fo", "Zm8=" },
	{ "foo", "Zm9v" },
	{ "foob", "Zm9vYg==" },
	{ "fooba", "Zm9vYmE=" },
	{ "foobar", "Zm9vYmFy" },
};

/* Decodes s with flags; returns the code and leaves the bytes in sb. */
static int decode(struct strbuf *sb, const char *s, unsigned flags)
{
	strbuf_setlen(sb, 0);
	return base64_decode(sb, s, strlen(s), flags);
}

static void test_base64_encode(void **state)
{
	struct strbuf sb;

	(void)state;
	strbuf_init(&sb, 0);
	for (size_t i = 0; i < sizeof(rfc4648) / sizeof(rfc4648[0]); i++) {
		strbuf_setlen(&sb, 0);
		assert_int_equal(base64_encode(&sb, rfc4648[i].plain,
					       strlen(rfc4648[i].plain)), 0);
		assert_string_equal(sb.buf, rfc4648[i].encoded);
	}
	/* Appends; every byte value; the standard alphabet's 62 and 63. */
	strbuf_setlen(&sb, 0);
	strbuf_adds(&sb, "x:");
	assert_int_equal(base64_encode(&sb, "\x00\xff\x61\xfb\xff", 5), 0);
	assert_string_equal(sb.buf, "x:AP9h+/8=");
	strbuf_release(&sb);

	/* Over the cap: IT_ERR_LIMIT and the buffer as it was. */
	strbuf_init(&sb, 6);
	strbuf_adds(&sb, "ab");
	assert_int_equal(base64_encode(&sb, "foobar", 6), IT_ERR_LIMIT);
	assert_string_equal(sb.buf, "ab");
	assert_int_equal(sb.len, 2);
	strbuf_release(&sb);
}

static void test_base64_decode(void **state)
{
	struct strbuf sb;

	(void)state;
	strbuf_init(&sb, 0);
	for (size_t i = 0; i < sizeof(rfc4648) / sizeof(rfc4648[0]); i++) {
		assert_int_equal(decode(&sb, rfc4648[i].encoded, 0), 0);
		assert_string_equal(sb.buf, rfc4648[i].plain);
		assert_int_equal(decode(&sb, rfc4648[i].encoded, BASE64_LAX_PADDING), 0);
		assert_string_equal(sb.buf, rfc4648[i].plain);
	}
	assert_int_equal(decode(&sb, "aGVsbG8=", 0), 0);
	assert_int_equal(sb.len, 5);
	assert_memory_equal(sb.buf, "hello", 5);
	/* Unpadded is fine in both modes. */
	assert_int_equal(decode(&sb, "aGVsbG8", 0), 0);
	assert_string_equal(sb.buf, "hello");
	assert_int_equal(decode(&sb, "Zm9vYg", 0), 0);
	assert_string_equal(sb.buf, "foob");
	/* Binary bytes, NUL included. */
	assert_int_equal(decode(&sb, "AP9h+/8=", 0), 0);
	assert_int_equal(sb.len, 5);
	assert_memory_equal(sb.buf, "\x00\xff\x61\xfb\xff", 5);
	/* Leftover bits in the last character are ignored. */
	assert_int_equal(decode(&sb, "Zh==", 0), 0);
	assert_string_equal(sb.buf, "f");

	/* Bad characters: whitespace, '*', '=' inside, URL-safe by default. */
	assert_int_equal(decode(&sb, "aGV sbG8=", 0), IT_ERR_PARSE);
	assert_int_equal(decode(&sb, "Zm9v\nYmFy", 0), IT_ERR_PARSE);
	assert_int_equal(decode(&sb, "A*==", 0), IT_ERR_PARSE);
	assert_int_equal(decode(&sb, "A*==", BASE64_URL_SAFE | BASE64_LAX_PADDING),
			 IT_ERR_PARSE);
	assert_int_equal(decode(&sb, "Zg==Zg==", 0), IT_ERR_PARSE);
	assert_int_equal(decode(&sb, "AP9h_-8", 0), IT_ERR_PARSE);
	/* Truncated: one character cannot hold a byte. */
	assert_int_equal(decode(&sb, "a", 0), IT_ERR_PARSE);
	assert_int_equal(decode(&sb, "Zm9vY", 0), IT_ERR_PARSE);
	assert_int_equal(decode(&sb, "Zm9vY", BASE64_LAX_PADDING), IT_ERR_PARSE);
	assert_int_equal(decode(&sb, "Z===", BASE64_LAX_PADDING), IT_ERR_PARSE);
	/* Bad padding (strict): a padded length not a multiple of 4, three '='. */
	assert_int_equal(decode(&sb, "Zg=", 0), IT_ERR_PARSE);
	assert_int_equal(decode(&sb, "Zm8==", 0), IT_ERR_PARSE);
	assert_int_equal(decode(&sb, "Zg===", 0), IT_ERR_PARSE);
	assert_int_equal(decode(&sb, "=", 0), IT_ERR_PARSE);
	assert_int_equal(decode(&sb, "====", 0), IT_ERR_PARSE);
	/* ... which the lax rule (protobuf's JSON) accepts. */
	assert_int_equal(decode(&sb, "Zg=", BASE64_LAX_PADDING), 0);
	assert_string_equal(sb.buf, "f");
	assert_int_equal(decode(&sb, "Zg===", BASE64_LAX_PADDING), 0);
	assert_string_equal(sb.buf, "f");
	assert_int_equal(decode(&sb, "====", BASE64_LAX_PADDING), 0);
	assert_int_equal(sb.len, 0);

	/* URL-safe alphabet on request. */
	assert_int_equal(decode(&sb, "AP9h_-8", BASE64_URL_SAFE), 0);
	assert_int_equal(sb.len, 5);
	assert_memory_equal(sb.buf, "\x00\xff\x61\xff\xef", 5);

	/* A failure leaves what was already in the buffer. */
	strbuf_setlen(&sb, 0);
	strbuf_adds(&sb, "keep");
	assert_int_equal(base64_decode(&sb, "Zm9vYmF*", 8, 0), IT_ERR_PARSE);
	assert_string_equal(sb.buf, "keep");
	strbuf_release(&sb);

	/* Over the cap: IT_ERR_LIMIT, buffer unchanged. */
	strbuf_init(&sb, 4);
	assert_int_equal(base64_decode(&sb, "Zm9vYmFy", 8, 0), IT_ERR_LIMIT);
	assert_int_equal(sb.len, 0);
	strbuf_release(&sb);
}

static void test_utf8_seq_len(void **state)
{
	(void)state;
	assert_int_equal(utf8_seq_len("a", 1), 1);
	assert_int_equal(utf8_seq_len("", 1), 1); /* NUL is ASCII */
	assert_int_equal(utf8_seq_len("a", 0), 0);
	assert_int_equal(utf8_seq_len("\xc2\x80", 2), 2);       /* U+0080 */
	assert_int_equal(utf8_seq_len("\xdf\xbf", 2), 2);       /* U+07FF */
	assert_int_equal(utf8_seq_len("\xe0\xa0\x80", 3), 3);   /* U+0800 */
	assert_int_equal(utf8_seq_len("\xe2\x82\xac", 3), 3);   /* euro sign */
	assert_int_equal(utf8_seq_len("\xed\x9f\xbf", 3), 3);   /* U+D7FF */
	assert_int_equal(utf8_seq_len("\xee\x80\x80", 3), 3);   /* U+E000 */
	assert_int_equal(utf8_seq_len("\xef\xbf\xbf", 3), 3);   /* U+FFFF */
	assert_int_equal(utf8_seq_len("\xf0\x90\x80\x80", 4), 4); /* U+10000 */
	assert_int_equal(utf8_seq_len("\xf4\x8f\xbf\xbf", 4), 4); /* U+10FFFF */
	assert_int_equal(utf8_seq_len("\xe2\x82\xac" "abc", 6), 3);

	/* Overlong forms. */
	assert_int_equal(utf8_seq_len("\xc0\x80", 2), 0);
	assert_int_equal(utf8_seq_len("\xc1\xbf", 2), 0);
	assert_int_equal(utf8_seq_len("\xe0\x9f\xbf", 3), 0);
	assert_int_equal(utf8_seq_len("\xf0\x8f\xbf\xbf", 4), 0);
	/* Surrogates. */
	assert_int_equal(utf8_seq_len("\xed\xa0\x80", 3), 0);
	assert_int_equal(utf8_seq_len("\xed\xbf\xbf", 3), 0);
	/* Above U+10FFFF. */
	assert_int_equal(utf8_seq_len("\xf4\x90\x80\x80", 4), 0);
	assert_int_equal(utf8_seq_len("\xf5\x80\x80\x80", 4), 0);
	assert_int_equal(utf8_seq_len("\xff", 1), 0);
	/* Truncated, by the length or by a byte that does not continue. */
	assert_int_equal(utf8_seq_len("\xe2\x82\xac", 2), 0);
	assert_int_equal(utf8_seq_len("\xf0\x90\x80\x80", 3), 0);
	assert_int_equal(utf8_seq_len("\xc2" "a", 2), 0);
	assert_int_equal(utf8_seq_len("\xe2\x82" "a", 3), 0);
	/* A lone continuation byte. */
	assert_int_equal(utf8_seq_len("\x80", 1), 0);
	assert_int_equal(utf8_seq_len("\xbf", 1), 0);
}

static void test_utf8_valid(void **state)
{
	size_t at = 99;

	(void)state;
	assert_true(utf8_valid("", 0, NULL));
	assert_true(utf8_valid("plain text", 10, &at));
	assert_int_equal(at, 99); /* not written on success */
	assert_true(utf8_valid("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14, NULL));
	assert_true(utf8_valid("a\0b", 3, NULL));

	assert_false(utf8_valid("ab\xc0\x80", 4, &at)); /* overlong NUL */
	assert_int_equal(at, 2);
	assert_false(utf8_valid("x\xed\xa0\x80y", 5, &at)); /* surrogate */
	assert_int_equal(at, 1);
	assert_false(utf8_valid("\xf4\x90\x80\x80", 4, &at)); /* > U+10FFFF */
	assert_int_equal(at, 0);
	assert_false(utf8_valid("caf\xc3", 4, &at)); /* truncated at the end */
	assert_int_equal(at, 3);
	assert_false(utf8_valid("\xe2\x82\xac\x80", 4, &at)); /* stray continuation */
	assert_int_equal(at, 3);
	assert_false(utf8_valid("\xfe", 1, NULL));
}

static void test_xml_escape(void **state)
{
	struct strbuf sb;

	(void)state;
	strbuf_init(&sb, 0);
	assert_int_equal(strbuf_add_xml_escaped(&sb, "plain text 1.5 ms"), 0);
	assert_string_equal(sb.buf, "plain text 1.5 ms");
	strbuf_setlen(&sb, 0);
	assert_int_equal(strbuf_add_xml_escaped(&sb, "a & b < c > d \"e\" 'f'"), 0);
	/* The single quote is kept: every caller writes double-quoted attributes. */
	assert_string_equal(sb.buf, "a &amp; b &lt; c &gt; d &quot;e&quot; 'f'");
	strbuf_setlen(&sb, 0);
	assert_int_equal(strbuf_add_xml_escaped(&sb, "&amp;"), 0);
	assert_string_equal(sb.buf, "&amp;amp;");
	/* Appends; NULL and "" add nothing; UTF-8 passes through. */
	assert_int_equal(strbuf_add_xml_escaped(&sb, NULL), 0);
	assert_int_equal(strbuf_add_xml_escaped(&sb, ""), 0);
	assert_int_equal(strbuf_add_xml_escaped(&sb, "\xc3\xa9<"), 0);
	assert_string_equal(sb.buf, "&amp;amp;\xc3\xa9&lt;");
	strbuf_release(&sb);

	/* Over the cap: IT_ERR_LIMIT and nothing half-written. */
	strbuf_init(&sb, 8);
	strbuf_adds(&sb, "ab");
	assert_int_equal(strbuf_add_xml_escaped(&sb, "x<y<"), IT_ERR_LIMIT);
	assert_string_equal(sb.buf, "ab");
	strbuf_release(&sb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base64_encode),
		cmocka_unit_test(test_base64_decode),
		cmocka_unit_test(test_utf8_seq_len),
		cmocka_unit_test(test_utf8_valid),
		cmocka_unit_test(test_xml_escape),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
