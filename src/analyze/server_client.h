/*
 * The analysis' control connection to a server (infertune serve or Triton):
 * liveness, the model repository extension (load with the `config` JSON
 * override, unload; protocol.md §3.1), model readiness and configuration,
 * and the Prometheus page (to find GPUs on a remote host). Transport
 * failures (refused, reset, timeout) are IT_ERR_IO: the server is gone;
 * an HTTP error is IT_ERR_INVALID with the server's message: the server
 * answered no. Depends on loadgen/fetch (URL helpers), util/ and libcurl.
 */
#ifndef INFERTUNE_ANALYZE_SERVER_CLIENT_H
#define INFERTUNE_ANALYZE_SERVER_CLIENT_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

struct it_error;
struct strbuf;

/** A control client (opaque). Not thread-safe. */
struct server_client;

/**
 * A client for the server at `url` (HOST:PORT or http://HOST:PORT); every
 * call gives up after timeout_ms, except loads, which wait up to
 * load_timeout_ms (a load is synchronous and a big model takes long).
 * Caller frees with server_client_free().
 */
struct server_client *server_client_new(const char *url, long timeout_ms,
					long load_timeout_ms);

/** Frees c; NULL is a no-op. */
void server_client_free(struct server_client *c);

/**
 * Cancellation for long calls (loads): when *cancel >= 2 a request in
 * progress is abandoned with IT_ERR_STATE "interrupted". cancel may be NULL.
 */
void server_client_set_cancel(struct server_client *c,
			      const volatile sig_atomic_t *cancel);

/** The base URL ("http://host:port"). */
const char *server_client_url(const struct server_client *c);

/**
 * GET /v2/health/live: 0 when the server answers 200 within timeout_ms
 * (0: the client's control timeout).
 */
int server_client_live(struct server_client *c, long timeout_ms, struct it_error *err);

/**
 * POST /v2/repository/models/NAME/load, with {"parameters":{"config": TEXT}}
 * when config_json is not NULL. Returns once the load finished.
 * IT_ERR_INVALID with the server's message when it refused or failed the
 * load; "polling is enabled" in that message means the server is not in
 * explicit model-control mode (IT_ERR_UNSUPPORTED).
 */
int server_client_load(struct server_client *c, const char *name,
		       const char *config_json, struct it_error *err);

/** POST /v2/repository/models/NAME/unload. */
int server_client_unload(struct server_client *c, const char *name,
			 struct it_error *err);

/** GET /v2/models/NAME/ready: *ready is true on 200. */
int server_client_ready(struct server_client *c, const char *name, bool *ready,
			struct it_error *err);

/** GET /v2/models/NAME/config into *out (replaced). */
int server_client_config(struct server_client *c, const char *name,
			 struct strbuf *out, struct it_error *err);

/**
 * GET an absolute URL (the Prometheus page) into *out. IT_ERR_IO for
 * transport failures and HTTP errors.
 */
int server_client_get_url(struct server_client *c, const char *url,
			  struct strbuf *out, struct it_error *err);

#endif
