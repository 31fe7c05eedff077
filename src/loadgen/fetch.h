/*
 * The load generator's control-plane HTTP: one keep-alive libcurl handle for
 * the few GETs around the load (server and model metadata, configuration,
 * statistics, the Prometheus page), each bounded by a timeout so that no
 * wait can hang. Also the URL helpers shared with the engine. Depends on
 * util/ and libcurl.
 */
#ifndef INFERTUNE_LOADGEN_FETCH_H
#define INFERTUNE_LOADGEN_FETCH_H

#include <stddef.h>

struct it_error;
struct strbuf;

/** Initialises libcurl once per process (thread-safe; idempotent). */
void lg_curl_global_init(void);

/**
 * "localhost:8000" -> "http://localhost:8000"; a URL with a scheme is kept.
 * Trailing slashes are dropped. Caller frees.
 */
char *lg_base_url(const char *url);

/**
 * The base URL of a model: BASE/v2/models/NAME[/versions/VERSION], with the
 * name and version percent-encoded. version may be NULL or "". Caller frees.
 */
char *lg_model_url(const char *base, const char *model, const char *version);

/** A keep-alive GET client (opaque). Not thread-safe: one per thread. */
struct fetcher;

/**
 * Creates a client whose every request gives up after timeout_ms (connect
 * included). Caller frees with fetcher_free().
 */
struct fetcher *fetcher_new(long timeout_ms);

/**
 * GETs url into *body (replaced; capped at max_bytes) and the HTTP status
 * into *status. Transport failures (refused, reset, timeout, too large)
 * return IT_ERR_IO with a message naming the URL; an HTTP error status is
 * not a failure here, the caller decides.
 */
int fetcher_get(struct fetcher *f, const char *url, size_t max_bytes,
		struct strbuf *body, long *status, struct it_error *err);

/** Frees f; NULL is a no-op. */
void fetcher_free(struct fetcher *f);

/**
 * The message of a KServe error body {"error": "..."}, or the body itself
 * (trimmed, at most ~200 bytes) when it is not one. Writes into buf.
 */
const char *lg_error_message(const char *body, size_t len, char *buf,
			     size_t size);

/**
 * Whether a 200 answer to an inference request can be a KServe response,
 * judged from the first bytes of its body (head, head_len of them): a JSON
 * object comes first, alone or before the binary outputs. Returns NULL when
 * it can; otherwise why not ("HTTP 200 but not a KServe inference response:
 * <the body's start>"), written into buf. As perf_analyzer, whose client
 * fails a request whose answer it cannot parse, the caller counts such an
 * answer as a failed request.
 */
const char *lg_response_garbage(const char *head, size_t head_len, char *buf,
				size_t size);

#endif
