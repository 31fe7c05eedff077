/*
 * The HTTP front of the server (libmicrohttpd): the KServe v2 / Triton REST
 * endpoints of protocol.md §1 and §3.1-§3.3 on one listener, and the
 * Prometheus page (§4) on another. Infer requests are parsed here, handed to
 * the model's scheduler, and their connection is suspended until the
 * scheduler's completion callback resumes it: a waiting request holds no
 * server thread. Depends on server/models, server/kserve, server/metrics,
 * metrics/, model/ and util/.
 */
#ifndef INFERTUNE_SERVER_HTTP_H
#define INFERTUNE_SERVER_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/repository.h"

struct models;
struct collectors;
struct it_error;

/** The endpoints of protocol.md §1.1, as Triton's path regexes match them. */
enum http_endpoint {
	HTTP_EP_NOT_FOUND,       /* no regex matches: 404 {"error":"Not Found"} */
	HTTP_EP_SERVER_METADATA, /* GET /v2 */
	HTTP_EP_HEALTH_LIVE,     /* GET /v2/health/live */
	HTTP_EP_HEALTH_READY,    /* GET /v2/health/ready */
	HTTP_EP_MODEL_METADATA,  /* GET /v2/models/M[/versions/V] */
	HTTP_EP_MODEL_READY,     /* GET .../ready */
	HTTP_EP_MODEL_CONFIG,    /* GET .../config */
	HTTP_EP_MODEL_STATS,     /* GET .../stats */
	HTTP_EP_MODEL_INFER,     /* POST .../infer */
	HTTP_EP_STATS_ALL,       /* GET /v2/models/stats */
	HTTP_EP_REPO_INDEX,      /* POST /v2/repository[/R]/index */
	HTTP_EP_REPO_LOAD,       /* POST /v2/repository[/R]/models/M/load */
	HTTP_EP_REPO_UNLOAD,     /* POST /v2/repository[/R]/models/M/unload */
	HTTP_EP_UNSUPPORTED,     /* a Triton endpoint infertune does not offer: 501 */
};

/** A routed request path. Plain value struct. */
struct http_route {
	enum http_endpoint endpoint;
	bool method_ok;          /* false: 405 {"error":"Method Not Allowed"} */
	char model[REPOSITORY_NAME_MAX + 2]; /* "" when none; may be invalid (check it) */
	bool model_too_long;     /* the path segment did not fit in `model` */
	int64_t version;         /* -1 when the path has no /versions/V */
	bool bad_version;        /* all digits but out of int64 range */
	bool repository_named;   /* /v2/repository/R/...: Triton answers 501 */
	const char *what;        /* HTTP_EP_UNSUPPORTED: which feature */
};

/**
 * Routes a request exactly as Triton's regexes do (protocol.md §1.1): only
 * the path (no query string; MHD has already split it off and percent-
 * decoded it), whole-path matches, version all digits. Pure function.
 */
void http_route_parse(const char *method, const char *path,
		      struct http_route *out);

/**
 * Reads a Content-Length value (what decides, before any byte of the body
 * arrives, whether a body is refused as too large and how much is
 * allocated for it): decimal digits only. false, *out unchanged, when it is
 * empty, not a number or too large to be a length. Pure function.
 */
bool http_parse_content_length(const char *value, uint64_t *out);

struct http_server_options {
	const char *address;     /* numeric IPv4/IPv6 address or host name to bind */
	int port;                /* 0 picks a free port */
	size_t max_input_bytes;  /* request bodies above this are refused with 400 */
	unsigned thread_count;   /* MHD polling threads; 0 = one per CPU, at most 16 */
	unsigned connection_limit; /* open connections at most; 0 = 65536 */
	unsigned idle_timeout_s; /* close a connection silent this long; 0 = never */
	/*
	 * A request's line and headers must arrive within this many seconds
	 * (of the connection's opening or of the previous answer), its body
	 * within as long again plus 1 s per HTTP_BODY_MIN_RATE bytes; 0 = no
	 * deadline (http_deadline.h).
	 */
	unsigned header_timeout_s;
};

/** A running listener (opaque). */
struct http_server;

/**
 * Starts the inference API listener over `models` (which must outlive it).
 * Fails with IT_ERR_IO naming the address when it cannot bind. Caller stops
 * and frees it with http_server_free().
 */
int http_server_start(const struct http_server_options *opts,
		      struct models *models, struct http_server **out,
		      struct it_error *err);

/**
 * Starts the metrics listener: GET /metrics, Prometheus text from models and
 * collectors (collectors may be NULL). Only address and port of opts are used.
 */
int http_metrics_start(const struct http_server_options *opts,
		       struct models *models, struct collectors *collectors,
		       struct http_server **out, struct it_error *err);

/** The port the listener is bound to (the real one when 0 was asked for). */
int http_server_port(const struct http_server *h);

/**
 * Stops accepting connections (the listening socket is closed); open
 * connections keep being served. Health answers "not ready" from now on.
 */
void http_server_quiesce(struct http_server *h);

/**
 * Waits until every suspended infer request has been answered, at most
 * timeout_ms. Returns true when none is left. Call after the models were
 * unloaded (which completes every queued request).
 */
bool http_server_drain(struct http_server *h, unsigned timeout_ms);

/** Stops the listener and closes its connections; NULL is a no-op. */
void http_server_free(struct http_server *h);

#endif
