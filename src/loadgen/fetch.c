/*
 * Control-plane GETs through libcurl's easy interface.
 */
#include "loadgen/fetch.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "util/error.h"
#include "util/strbuf.h"
#include "util/xalloc.h"
#include "util/banned.h"

struct fetcher {
	CURL *easy;
	long timeout_ms;
	struct strbuf *sink;
	bool too_large;
	char errbuf[CURL_ERROR_SIZE];
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
	/* Not thread-safe in libcurl 7.x, hence the once. Failure is OOM. */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "infertune: libcurl failed to initialise\n");
		abort();
	}
}

void lg_curl_global_init(void)
{
	pthread_once(&curl_once, curl_init_once);
}

char *lg_base_url(const char *url)
{
	struct strbuf sb;
	size_t len;

	strbuf_init(&sb, 0);
	if (!strstr(url, "://"))
		strbuf_adds(&sb, "http://");
	strbuf_adds(&sb, url);
	len = sb.len;
	while (len && sb.buf[len - 1] == '/')
		len--;
	strbuf_setlen(&sb, len);
	return strbuf_detach(&sb, NULL);
}

/* Percent-encodes everything but unreserved characters. */
static void add_escaped(struct strbuf *sb, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' ||
		    *p == '.' || *p == '~')
			strbuf_addch(sb, *p);
		else
			strbuf_addf(sb, "%%%02X", *p);
	}
}

char *lg_model_url(const char *base, const char *model, const char *version)
{
	struct strbuf sb;

	strbuf_init(&sb, 0);
	strbuf_adds(&sb, base);
	strbuf_adds(&sb, "/v2/models/");
	add_escaped(&sb, model);
	if (version && *version) {
		strbuf_adds(&sb, "/versions/");
		add_escaped(&sb, version);
	}
	return strbuf_detach(&sb, NULL);
}

static size_t on_data(char *data, size_t size, size_t n, void *userp)
{
	struct fetcher *f = userp;

	if (strbuf_add(f->sink, data, size * n)) {
		f->too_large = true;
		return 0;       /* aborts the transfer */
	}
	return size * n;
}

struct fetcher *fetcher_new(long timeout_ms)
{
	struct fetcher *f = xcalloc(1, sizeof(*f));

	lg_curl_global_init();
	f->easy = curl_easy_init();
	if (!f->easy) {
		fprintf(stderr, "infertune: libcurl cannot create a handle\n");
		abort();
	}
	f->timeout_ms = timeout_ms;
	curl_easy_setopt(f->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(f->easy, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(f->easy, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
	curl_easy_setopt(f->easy, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(f->easy, CURLOPT_WRITEDATA, f);
	curl_easy_setopt(f->easy, CURLOPT_ERRORBUFFER, f->errbuf);
	curl_easy_setopt(f->easy, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(f->easy, CURLOPT_TCP_NODELAY, 1L);
	return f;
}

int fetcher_get(struct fetcher *f, const char *url, size_t max_bytes,
		struct strbuf *body, long *status, struct it_error *err)
{
	CURLcode rc;
	size_t cap = body->cap_bytes;

	strbuf_setlen(body, 0);
	body->cap_bytes = max_bytes;
	f->sink = body;
	f->too_large = false;
	f->errbuf[0] = '\0';
	curl_easy_setopt(f->easy, CURLOPT_URL, url);
	curl_easy_setopt(f->easy, CURLOPT_HTTPGET, 1L);
	rc = curl_easy_perform(f->easy);
	body->cap_bytes = cap;
	f->sink = NULL;
	if (f->too_large)
		return it_error_set(err, IT_ERR_LIMIT,
				    "GET %s: the answer is larger than %zu bytes",
				    url, max_bytes);
	if (rc != CURLE_OK) {
		if (rc == CURLE_OPERATION_TIMEDOUT)
			return it_error_set(err, IT_ERR_IO,
					    "GET %s: no answer within %ld ms",
					    url, f->timeout_ms);
		return it_error_set(err, IT_ERR_IO, "GET %s: %s", url,
				    f->errbuf[0] ? f->errbuf : curl_easy_strerror(rc));
	}
	curl_easy_getinfo(f->easy, CURLINFO_RESPONSE_CODE, status);
	return 0;
}

void fetcher_free(struct fetcher *f)
{
	if (!f)
		return;
	curl_easy_cleanup(f->easy);
	free(f);
}

const char *lg_error_message(const char *body, size_t len, char *buf,
			     size_t size)
{
	json_t *root = json_loadb(body, len, 0, NULL);
	const char *msg = json_string_value(json_object_get(root, "error"));
	size_t n;

	if (msg) {
		snprintf(buf, size, "%s", msg);
		json_decref(root);
		return buf;
	}
	json_decref(root);
	while (len && (body[len - 1] == '\n' || body[len - 1] == '\r' ||
		       body[len - 1] == ' '))
		len--;
	n = len < 200 ? len : 200;
	if (!n) {
		snprintf(buf, size, "(empty body)");
		return buf;
	}
	snprintf(buf, size, "%.*s%s", (int)n, body, len > n ? "..." : "");
	for (char *p = buf; *p; p++) {
		if (*p == '\n' || *p == '\r' || *p == '\t')
			*p = ' ';
	}
	return buf;
}

const char *lg_response_garbage(const char *head, size_t head_len, char *buf,
				size_t size)
{
	char m[320];
	size_t i = 0;

	while (i < head_len && (head[i] == ' ' || head[i] == '\t' || head[i] == '\r' ||
				head[i] == '\n'))
		i++;
	if (i < head_len && head[i] == '{')
		return NULL;
	snprintf(buf, size, "HTTP 200 but not a KServe inference response: %s",
		 lg_error_message(head, head_len, m, sizeof(m)));
	return buf;
}
