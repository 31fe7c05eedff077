/*
 * Fuzz target: the server's request routing (server/http): the method and
 * path routed as Triton's regexes route them, and the header values that
 * decide what happens to a body before it arrives (Content-Length,
 * Inference-Header-Content-Length). The input is "METHOD PATH" on the first
 * line, then "Name: value" header lines. A route names a model only as a
 * whole path segment, keeps a version only from /versions/V, and the
 * canonical path rebuilt from a route routes the same way; a length is
 * accepted only when it is a decimal number, and then has its value.
 */
#include "fuzz.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "server/http.h"
#include "server/kserve.h"
#include "util/error.h"
#include "util/xalloc.h"

static bool same_route(const struct http_route *a, const struct http_route *b)
{
	return a->endpoint == b->endpoint && a->method_ok == b->method_ok &&
	       !strcmp(a->model, b->model) && a->model_too_long == b->model_too_long &&
	       a->version == b->version && a->bad_version == b->bad_version &&
	       a->repository_named == b->repository_named;
}

/* The suffix of a model endpoint's path, or NULL when the endpoint has none. */
static const char *model_suffix(enum http_endpoint ep)
{
	switch (ep) {
	case HTTP_EP_MODEL_METADATA:
		return "";
	case HTTP_EP_MODEL_READY:
		return "/ready";
	case HTTP_EP_MODEL_CONFIG:
		return "/config";
	case HTTP_EP_MODEL_STATS:
		return "/stats";
	case HTTP_EP_MODEL_INFER:
		return "/infer";
	default:
		return NULL;
	}
}

/* The path Triton's client would send for route r, routed again, is r. */
static void check_rebuilt(const char *method, const struct http_route *r)
{
	const char *suffix = model_suffix(r->endpoint);
	struct http_route again;
	char path[2 * REPOSITORY_NAME_MAX + 128], version[32] = "";

	if (r->model_too_long || r->bad_version)
		return;
	if (r->version >= 0)
		snprintf(version, sizeof(version), "/versions/%" PRId64, r->version);
	if (suffix)
		snprintf(path, sizeof(path), "/v2/models/%s%s%s", r->model, version, suffix);
	else if (r->endpoint == HTTP_EP_REPO_LOAD || r->endpoint == HTTP_EP_REPO_UNLOAD)
		snprintf(path, sizeof(path), "/v2/repository%s/models/%s/%s",
			 r->repository_named ? "/R" : "", r->model,
			 r->endpoint == HTTP_EP_REPO_LOAD ? "load" : "unload");
	else
		return;
	http_route_parse(method, path, &again);
	FUZZ_CHECK(same_route(r, &again), "the rebuilt path routes the same way");
}

/* path has "/<name>" as a whole segment, or with `whole` false as a segment's start. */
static bool has_segment(const char *path, const char *name, bool whole)
{
	size_t n = strlen(name);

	for (const char *p = strchr(path, '/'); p; p = strchr(p + 1, '/'))
		if (!strncmp(p + 1, name, n) && (!whole || p[n + 1] == '/' || !p[n + 1]))
			return true;
	return false;
}

static void check_route(const char *method, const char *path)
{
	struct http_route r, again;
	size_t model_len;

	http_route_parse(method, path, &r);
	http_route_parse(method, path, &again);
	FUZZ_CHECK(same_route(&r, &again), "routing is a function of method and path");
	if (r.endpoint == HTTP_EP_NOT_FOUND) {
		FUZZ_CHECK(r.method_ok, "404 comes before 405");
		return;
	}
	FUZZ_CHECK(!strncmp(path, "/v2", 3) && !strstr(path, "//") &&
		   path[strlen(path) - 1] != '/', "only whole, clean paths route");
	if (r.endpoint == HTTP_EP_UNSUPPORTED)
		FUZZ_CHECK(r.what && r.what[0], "an unsupported endpoint says which feature");
	model_len = strlen(r.model);
	FUZZ_CHECK(model_len < sizeof(r.model), "the model name fits");
	if (model_len) {
		FUZZ_CHECK(!strchr(r.model, '/'), "a model name is one segment");
		FUZZ_CHECK(has_segment(path, r.model, !r.model_too_long),
			   "a model name is a segment of the path");
	}
	if (r.version >= 0)
		FUZZ_CHECK(strstr(path, "/versions/") != NULL, "a version comes from /versions/V");
	FUZZ_CHECK(r.version >= -1, "a version is -1 or a number");
	check_rebuilt(method, &r);
}

/* value is [-]digits whose magnitude is at most max_digits long after leading zeros. */
static bool is_number(const char *value, bool sign, size_t max_digits, const char **digits)
{
	const char *d = sign && *value == '-' ? value + 1 : value;
	size_t n;

	if (!*d || strspn(d, "0123456789") != strlen(d))
		return false;
	while (*d == '0' && d[1])
		d++;
	n = strlen(d);
	*digits = d;
	return n <= max_digits;
}

static void check_header(const char *name, const char *value)
{
	struct it_error err = { 0 };
	const char *digits = NULL;
	char buf[32];

	if (!strcasecmp(name, "Content-Length")) {
		uint64_t n = 12345;
		bool ok = http_parse_content_length(value, &n);

		if (is_number(value, false, 18, &digits)) {
			FUZZ_CHECK(ok, "a decimal Content-Length is accepted");
			snprintf(buf, sizeof(buf), "%" PRIu64, n);
			FUZZ_CHECK(!strcmp(buf, digits), "Content-Length has its value");
		} else if (!is_number(value, false, 20, &digits)) {
			FUZZ_CHECK(!ok && n == 12345, "a Content-Length that is not a number is refused");
		}
	} else if (!strcasecmp(name, "Inference-Header-Content-Length")) {
		long long n = 12345;
		int rc = kserve_parse_header_length(value, &n, &err);

		if (is_number(value, true, 17, &digits)) {
			FUZZ_CHECK(rc == 0, "a decimal header length is accepted");
			snprintf(buf, sizeof(buf), "%lld", n < 0 ? -n : n);
			FUZZ_CHECK(!strcmp(buf, digits), "the header length has its value");
		} else if (!is_number(value, true, 19, &digits)) {
			FUZZ_CHECK(rc == IT_ERR_INVALID && n == 12345 && strstr(err.message, "got: "),
				   "a header length that is not a number is refused, naming it");
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = xmalloc(size + 1), *line, *next, *sp;

	/* MHD hands over NUL-terminated strings: the input ends at its first NUL. */
	memcpy(text, data, size);
	text[size] = '\0';
	next = strchr(text, '\n');
	if (next)
		*next++ = '\0';
	sp = strchr(text, ' ');
	if (sp) {
		*sp = '\0';
		check_route(text, sp + 1);
	}
	for (line = next; line; line = next) {
		char *colon;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		colon = strstr(line, ": ");
		if (colon) {
			*colon = '\0';
			check_header(line, colon + 2);
		}
	}
	free(text);
	return 0;
}
