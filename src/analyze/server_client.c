/*
 * Control requests through one keep-alive libcurl easy handle. Loads get
 * their own, longer timeout: Triton's load call returns only once the
 * model is loaded, and a large model on a slow disk takes minutes.
 */
#include "analyze/server_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "loadgen/fetch.h"
#include "util/error.h"
#include "util/strbuf.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define CLIENT_MAX_BODY ((size_t)64 << 20)

struct server_client {
	CURL *easy;
	char *base;
	long timeout_ms;
	long load_timeout_ms;
	struct strbuf body;
	const volatile sig_atomic_t *cancel;
	char errbuf[CURL_ERROR_SIZE];
};

void server_client_set_cancel(struct server_client *c,
			      const volatile sig_atomic_t *cancel)
{
	c->cancel = cancel;
}

/* libcurl's progress callback: non-zero aborts the transfer. */
static int on_progress(void *ctx, curl_off_t dltotal, curl_off_t dlnow,
		       curl_off_t ultotal, curl_off_t ulnow)
{
	const struct server_client *c = ctx;

	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	return c->cancel && *c->cancel >= 2;
}

static size_t on_data(char *data, size_t size, size_t n, void *ctx)
{
	struct strbuf *sb = ctx;

	if (strbuf_add(sb, data, size * n))
		return 0;       /* over the cap: abort the transfer */
	return size * n;
}

struct server_client *server_client_new(const char *url, long timeout_ms,
					long load_timeout_ms)
{
	struct server_client *c = xcalloc(1, sizeof(*c));

	lg_curl_global_init();
	c->base = lg_base_url(url);
	c->timeout_ms = timeout_ms;
	c->load_timeout_ms = load_timeout_ms;
	strbuf_init(&c->body, CLIENT_MAX_BODY);
	c->easy = curl_easy_init();
	if (!c->easy) {
		fprintf(stderr, "infertune: libcurl: out of memory\n");
		abort();
	}
	return c;
}

void server_client_free(struct server_client *c)
{
	if (!c)
		return;
	curl_easy_cleanup(c->easy);
	strbuf_release(&c->body);
	free(c->base);
	free(c);
}

const char *server_client_url(const struct server_client *c)
{
	return c->base;
}

/* One request; *status is the HTTP status. Transport failures: IT_ERR_IO. */
static int request(struct server_client *c, const char *url, const char *post_body,
		   long timeout_ms, long *status, struct it_error *err)
{
	struct curl_slist *hdr = NULL;
	CURLcode cc;

	strbuf_setlen(&c->body, 0);
	c->errbuf[0] = '\0';
	curl_easy_reset(c->easy);
	curl_easy_setopt(c->easy, CURLOPT_URL, url);
	curl_easy_setopt(c->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c->easy, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(c->easy, CURLOPT_CONNECTTIMEOUT_MS,
			 c->timeout_ms < timeout_ms ? c->timeout_ms : timeout_ms);
	curl_easy_setopt(c->easy, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c->easy, CURLOPT_WRITEDATA, &c->body);
	curl_easy_setopt(c->easy, CURLOPT_ERRORBUFFER, c->errbuf);
	curl_easy_setopt(c->easy, CURLOPT_PROXY, "");
	curl_easy_setopt(c->easy, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c->easy, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(c->easy, CURLOPT_XFERINFODATA, c);
	if (post_body) {
		hdr = curl_slist_append(hdr, "Content-Type: application/json");
		curl_easy_setopt(c->easy, CURLOPT_HTTPHEADER, hdr);
		curl_easy_setopt(c->easy, CURLOPT_POST, 1L);
		curl_easy_setopt(c->easy, CURLOPT_POSTFIELDS, post_body);
		curl_easy_setopt(c->easy, CURLOPT_POSTFIELDSIZE, (long)strlen(post_body));
	}
	cc = curl_easy_perform(c->easy);
	curl_slist_free_all(hdr);
	if (cc == CURLE_ABORTED_BY_CALLBACK)
		return it_error_set(err, IT_ERR_STATE, "%s: interrupted", url);
	if (cc != CURLE_OK)
		return it_error_set(err, IT_ERR_IO, "%s: %s", url,
				    c->errbuf[0] ? c->errbuf : curl_easy_strerror(cc));
	curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, status);
	return 0;
}

/* The server's error message from the body of an error answer. */
static const char *error_message(struct server_client *c, char *buf, size_t size)
{
	return lg_error_message(c->body.buf, c->body.len, buf, size);
}

static char *model_path(const struct server_client *c, const char *prefix,
			const char *name, const char *suffix)
{
	struct strbuf sb;
	char *esc = curl_easy_escape(c->easy, name, 0);

	strbuf_init(&sb, 0);
	strbuf_addf(&sb, "%s%s%s%s", c->base, prefix, esc ? esc : name, suffix);
	curl_free(esc);
	return strbuf_detach(&sb, NULL);
}

int server_client_live(struct server_client *c, long timeout_ms, struct it_error *err)
{
	struct strbuf url;
	long status = 0;
	int rc;

	strbuf_init(&url, 0);
	strbuf_addf(&url, "%s/v2/health/live", c->base);
	rc = request(c, url.buf, NULL, timeout_ms > 0 ? timeout_ms : c->timeout_ms, &status, err);
	if (!rc && status != 200)
		rc = it_error_set(err, IT_ERR_IO, "%s: HTTP %ld: the server is not live",
				  url.buf, status);
	strbuf_release(&url);
	return rc;
}

int server_client_load(struct server_client *c, const char *name,
		       const char *config_json, struct it_error *err)
{
	char *url = model_path(c, "/v2/repository/models/", name, "/load");
	char *body = NULL;
	char msg[512];
	long status = 0;
	int rc;

	if (config_json) {
		json_t *req = json_pack("{s:{s:s}}", "parameters", "config", config_json);

		body = json_dumps(req, JSON_COMPACT);
		json_decref(req);
	}
	rc = request(c, url, body ? body : "", c->load_timeout_ms, &status, err);
	if (!rc && status != 200) {
		error_message(c, msg, sizeof(msg));
		if (strstr(msg, "polling is enabled"))
			rc = it_error_set(err, IT_ERR_UNSUPPORTED,
					  "the server at %s refuses to load models (%s): start it with --model-control-mode explicit",
					  c->base, msg);
		else
			rc = it_error_set(err, IT_ERR_INVALID, "%s", msg[0] ? msg : "load failed");
	}
	free(body);
	free(url);
	return rc;
}

int server_client_unload(struct server_client *c, const char *name,
			 struct it_error *err)
{
	char *url = model_path(c, "/v2/repository/models/", name, "/unload");
	char msg[512];
	long status = 0;
	int rc;

	rc = request(c, url, "", c->load_timeout_ms, &status, err);
	if (!rc && status != 200)
		rc = it_error_set(err, IT_ERR_INVALID, "unload of '%s': %s", name,
				  error_message(c, msg, sizeof(msg)));
	free(url);
	return rc;
}

int server_client_ready(struct server_client *c, const char *name, bool *ready,
			struct it_error *err)
{
	char *url = model_path(c, "/v2/models/", name, "/ready");
	long status = 0;
	int rc;

	rc = request(c, url, NULL, c->timeout_ms, &status, err);
	if (!rc)
		*ready = status == 200;
	free(url);
	return rc;
}

int server_client_config(struct server_client *c, const char *name,
			 struct strbuf *out, struct it_error *err)
{
	char *url = model_path(c, "/v2/models/", name, "/config");
	char msg[512];
	long status = 0;
	int rc;

	rc = request(c, url, NULL, c->timeout_ms, &status, err);
	if (!rc && status != 200)
		rc = it_error_set(err, IT_ERR_NOT_FOUND, "configuration of '%s': HTTP %ld: %s",
				  name, status, error_message(c, msg, sizeof(msg)));
	if (!rc) {
		strbuf_setlen(out, 0);
		strbuf_add(out, c->body.buf, c->body.len);
	}
	free(url);
	return rc;
}

int server_client_get_url(struct server_client *c, const char *url,
			  struct strbuf *out, struct it_error *err)
{
	long status = 0;
	int rc;

	rc = request(c, url, NULL, c->timeout_ms, &status, err);
	if (!rc && status != 200)
		rc = it_error_set(err, IT_ERR_IO, "%s: HTTP %ld", url, status);
	if (!rc) {
		strbuf_setlen(out, 0);
		strbuf_add(out, c->body.buf, c->body.len);
	}
	return rc;
}
