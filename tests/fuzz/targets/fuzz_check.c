/*
 * The property checks that several fuzz targets share (tests/fuzz/targets/
 * fuzz.h). Test code: it aborts on a violated property by design.
 */
#include "fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "model/config.h"
#include "model/schema.h"
#include "util/error.h"
#include "util/strbuf.h"

void fuzz_fail(const char *file, int line, const char *what, const char *cond)
{
	fprintf(stderr, "%s:%d: property violated: %s (%s)\n", file, line, what,
		cond);
	abort();
}

/* Line breaks: "\n" only, or YAML's (longest first, so CRLF is one). */
static const char *const lf_breaks[] = { "\n", NULL };
static const char *const yaml_breaks[] = {
	"\r\n", "\n", "\r", "\xC2\x85" /* NEL */, "\xE2\x80\xA8" /* LS */,
	"\xE2\x80\xA9" /* PS */, NULL,
};

/* Bytes of the line break that starts s[0..n), or 0. */
static size_t break_len(const unsigned char *s, size_t n, bool yaml)
{
	for (const char *const *b = yaml ? yaml_breaks : lf_breaks; *b; b++)
		if (strlen(*b) <= n && !memcmp(s, *b, strlen(*b)))
			return strlen(*b);
	return 0;
}

static void check_error_at(const struct it_error *err, const char *file,
			   const char *text, size_t len, bool yaml)
{
	const unsigned char *s = (const unsigned char *)text;
	int line = 1;
	size_t i = 0, line_start = 0, line_len = 0, b;

	FUZZ_CHECK(err->code < 0, "an error has a negative code");
	FUZZ_CHECK(err->message[0] != '\0', "an error has a message");
	FUZZ_CHECK(!strcmp(err->file, file), "an error names the input");
	FUZZ_CHECK(err->line >= 1 && err->col >= 1, "an error has a line and column");
	while (i < len && line < err->line) {
		b = break_len(s + i, len - i, yaml);
		i += b ? b : 1;
		if (b) {
			line++;
			line_start = i;
		}
	}
	FUZZ_CHECK(line == err->line, "an error's line is inside the input");
	while (line_start + line_len < len &&
	       !break_len(s + line_start + line_len, len - line_start - line_len, yaml))
		line_len++;
	FUZZ_CHECK((size_t)err->col <= line_len + 1,
		   "an error's column is inside its line");
}

void fuzz_check_error_at(const struct it_error *err, const char *file,
			 const char *text, size_t len)
{
	check_error_at(err, file, text, len, false);
}

void fuzz_check_yaml_error_at(const struct it_error *err, const char *file,
			      const char *text, size_t len)
{
	check_error_at(err, file, text, len, true);
}

/* JSON form `flags` converts back to a config equal to cfg. */
static void check_json_roundtrip(const struct model_config *cfg, unsigned flags)
{
	struct it_error err = { 0 };
	json_t *json = model_config_to_json(cfg, flags);
	struct model_config *back;

	FUZZ_CHECK(json != NULL, "a valid config has a JSON form");
	back = model_config_from_json(json, "fuzz.json", &err);
	if (!back)
		fprintf(stderr, "JSON form refused: %s\n", err.message);
	FUZZ_CHECK(back != NULL, "a config's JSON form is a valid config");
	FUZZ_CHECK(model_config_equal(cfg, back), "JSON form round-trips");
	model_config_free(back);
	json_decref(json);
}

void fuzz_check_config_roundtrip(const struct model_config *cfg)
{
	struct it_error err = { 0 };
	struct strbuf t1, t2;
	struct model_config *again;

	strbuf_init(&t1, 0);
	strbuf_init(&t2, 0);
	FUZZ_CHECK(model_config_print(cfg, &t1) == 0, "a valid config prints");
	again = model_config_parse(t1.buf, t1.len, "canonical.pbtxt", &err);
	if (!again)
		fprintf(stderr, "canonical text refused: %s:%d:%d: %s\n", err.file,
			err.line, err.col, err.message);
	FUZZ_CHECK(again != NULL, "canonical text parses");
	FUZZ_CHECK(model_config_equal(cfg, again), "canonical text parses to an equal config");
	FUZZ_CHECK(model_config_print(again, &t2) == 0, "a valid config prints");
	FUZZ_CHECK(t1.len == t2.len && !memcmp(t1.buf, t2.buf, t1.len),
		   "canonical text is a fixpoint");
	check_json_roundtrip(cfg, SCHEMA_JSON_ALL_FIELDS);
	check_json_roundtrip(cfg, SCHEMA_JSON_INT64_STRING);
	model_config_free(again);
	strbuf_release(&t2);
	strbuf_release(&t1);
}
