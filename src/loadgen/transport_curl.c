/*
 * The libcurl transport: every request is one transfer on the worker's
 * multi handle, and libcurl does all of HTTP (any URL it takes: https,
 * HTTP/1.1 keep-alive, redirects off). Easy handles are kept and reused,
 * and with them libcurl's connection cache.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "loadgen/fetch.h"
#include "loadgen/requests.h"
#include "loadgen/transport.h"
#include "util/error.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define BODY_HEAD_MAX 256

/* One easy handle and the request it is carrying. */
struct slot {
	CURL *easy;
	struct lg_request rq;
	bool busy;
	size_t head_len;
	char body_head[BODY_HEAD_MAX];
	char errbuf[CURL_ERROR_SIZE];
	struct slot *next_free;
};

struct curl_worker {
	struct slot **slots;
	size_t n_slots, alloc_slots;
	struct slot *free_list;
};

/* One header list per request body (their Inference-Header-Content-Length differ). */
struct curl_engine {
	struct curl_slist **headers;
	size_t n;
};

static int curl_engine_init(struct loadgen *lg, struct it_error *err)
{
	const struct request_set *rs = lg->opts.requests;
	struct curl_engine *ce = xcalloc(1, sizeof(*ce));

	lg->tp_engine = ce;
	ce->headers = xcalloc(rs->n_bodies, sizeof(*ce->headers));
	ce->n = rs->n_bodies;
	for (size_t b = 0; b < rs->n_bodies; b++) {
		char lines[2][LG_HEADER_LINE_MAX];
		struct curl_slist *l = NULL;

		lg_request_header_lines(lg, b, lines);
		l = curl_slist_append(l, lines[0]);
		l = curl_slist_append(l, lines[1]);
		/* No 100-continue round trip, no Accept line to parse. */
		l = curl_slist_append(l, "Expect:");
		l = curl_slist_append(l, "Accept:");
		if (!l)
			return it_error_set(err, IT_ERR_IO, "cannot build request headers");
		ce->headers[b] = l;
	}
	return 0;
}

static void curl_engine_release(struct loadgen *lg)
{
	struct curl_engine *ce = lg->tp_engine;

	if (!ce)
		return;
	for (size_t b = 0; b < ce->n; b++)
		curl_slist_free_all(ce->headers[b]);
	free(ce->headers);
	free(ce);
	lg->tp_engine = NULL;
}

static int curl_worker_init(struct worker *w, struct it_error *err)
{
	(void)err;
	w->tp = xcalloc(1, sizeof(struct curl_worker));
	return 0;
}

static void curl_worker_release(struct worker *w)
{
	struct curl_worker *cw = w->tp;

	for (size_t i = 0; i < cw->n_slots; i++) {
		struct slot *s = cw->slots[i];

		if (s->busy)
			curl_multi_remove_handle(w->multi, s->easy);
		curl_easy_cleanup(s->easy);
		free(s);
	}
	free(cw->slots);
	free(cw);
	w->tp = NULL;
}

/* The response body is not needed; its start is kept to check it and for error messages. */
static size_t on_body(char *data, size_t size, size_t n, void *userp)
{
	struct slot *s = userp;
	size_t len = size * n;

	if (s->head_len < BODY_HEAD_MAX) {
		size_t room = BODY_HEAD_MAX - s->head_len;
		size_t k = len < room ? len : room;

		memcpy(s->body_head + s->head_len, data, k);
		s->head_len += k;
	}
	return len;
}

static struct slot *slot_new(struct worker *w)
{
	struct curl_worker *cw = w->tp;
	struct slot *s;
	CURL *e = curl_easy_init();

	if (!e)
		return NULL;
	s = xcalloc(1, sizeof(*s));
	s->easy = e;
	lg_easy_common(w, e);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, s);
	curl_easy_setopt(e, CURLOPT_PRIVATE, s);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, s->errbuf);
	if (w->lg->opts.request_timeout_ms > 0)
		curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, w->lg->opts.request_timeout_ms);
	XGROW(cw->slots, cw->alloc_slots, cw->n_slots + 1);
	cw->slots[cw->n_slots++] = s;
	return s;
}

static bool curl_start(struct worker *w, size_t body, const struct lg_request *rq)
{
	const struct request_set *rs = w->lg->opts.requests;
	const struct curl_engine *ce = w->lg->tp_engine;
	struct curl_worker *cw = w->tp;
	struct slot *s = cw->free_list;
	CURLMcode mc;

	if (s) {
		cw->free_list = s->next_free;
	} else {
		s = slot_new(w);
		if (!s) {
			lg_worker_fatal(w, "cannot create a libcurl handle", 0);
			return false;
		}
	}
	/* Setting the body is two pointer stores in libcurl: no copy. */
	curl_easy_setopt(s->easy, CURLOPT_POSTFIELDS, rs->bodies[body].data);
	curl_easy_setopt(s->easy, CURLOPT_POSTFIELDSIZE_LARGE,
			 (curl_off_t)rs->bodies[body].len);
	curl_easy_setopt(s->easy, CURLOPT_HTTPHEADER, ce->headers[body]);
	s->head_len = 0;
	s->errbuf[0] = '\0';
	s->rq = *rq;
	mc = curl_multi_add_handle(w->multi, s->easy);
	if (mc != CURLM_OK) {
		s->next_free = cw->free_list;
		cw->free_list = s;
		lg_worker_fatal(w, curl_multi_strerror(mc), 0);
		return false;
	}
	s->busy = true;
	return true;
}

static void curl_done(struct worker *w, CURLMsg *msg)
{
	struct curl_worker *cw = w->tp;
	struct slot *s = NULL;
	uint64_t end = loadgen_now_ns();
	long status = 0;
	char error[512];

	curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&s);
	if (msg->data.result == CURLE_OK)
		curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &status);
	if (msg->data.result != CURLE_OK) {
		snprintf(error, sizeof(error), "%s", s->errbuf[0] ? s->errbuf :
			 curl_easy_strerror(msg->data.result));
	} else if (status != 200) {
		char m[320];

		snprintf(error, sizeof(error), "HTTP %ld: %s", status,
			 lg_error_message(s->body_head, s->head_len, m, sizeof(m)));
	} else if (!lg_response_garbage(s->body_head, s->head_len, error, sizeof(error))) {
		curl_off_t pre = 0, first = 0, total = 0;

		curl_easy_getinfo(s->easy, CURLINFO_PRETRANSFER_TIME_T, &pre);
		curl_easy_getinfo(s->easy, CURLINFO_STARTTRANSFER_TIME_T, &first);
		curl_easy_getinfo(s->easy, CURLINFO_TOTAL_TIME_T, &total);
		/* libcurl's clock starts when the transfer was added: start_ns. */
		s->rq.sent_ns = s->rq.start_ns + (uint64_t)pre * 1000;
		s->rq.first_ns = total > first ?
				 end - (uint64_t)(total - first) * 1000 : 0;
		error[0] = '\0';
	}
	curl_multi_remove_handle(w->multi, s->easy);
	s->busy = false;
	s->next_free = cw->free_list;
	cw->free_list = s;
	lg_request_finish(w, &s->rq, end, error[0] ? error : NULL);
}

static void curl_on_event(struct worker *w, int fd, uint32_t events)
{
	/* This transport adopts no descriptor. */
	(void)w;
	(void)fd;
	(void)events;
}

static uint64_t curl_deadline_ns(struct worker *w)
{
	/* Request timeouts are libcurl's (CURLOPT_TIMEOUT_MS). */
	(void)w;
	return 0;
}

static void curl_on_deadline(struct worker *w, uint64_t now_ns)
{
	(void)w;
	(void)now_ns;
}

const struct lg_transport lg_transport_curl = {
	.name = "libcurl",
	.engine_init = curl_engine_init,
	.engine_release = curl_engine_release,
	.worker_init = curl_worker_init,
	.worker_release = curl_worker_release,
	.start = curl_start,
	.curl_done = curl_done,
	.on_event = curl_on_event,
	.deadline_ns = curl_deadline_ns,
	.on_deadline = curl_on_deadline,
};
