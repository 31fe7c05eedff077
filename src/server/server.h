/*
 * The whole inference server as one object: the model manager over the
 * repositories, the metric collectors, the inference API listener and the
 * metrics listener, with Triton's start-up and shutdown order. What
 * `infertune serve` runs, and what tests or the load generator can embed.
 * Depends on server/ (http, models, metrics), metrics/, model/, util/.
 */
#ifndef INFERTUNE_SERVER_SERVER_H
#define INFERTUNE_SERVER_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include "server/models.h"

struct it_error;

/** tritonserver's defaults (protocol.md §7), except the bind address. */
#define SERVER_DEFAULT_HTTP_PORT 8000
#define SERVER_DEFAULT_METRICS_PORT 8002
#define SERVER_DEFAULT_ADDRESS "127.0.0.1"
#define SERVER_DEFAULT_MAX_INPUT_BYTES ((size_t)64 << 20)
#define SERVER_DEFAULT_EXIT_TIMEOUT_S 30
#define SERVER_DEFAULT_HTTP_IDLE_TIMEOUT_S 60
#define SERVER_DEFAULT_HTTP_HEADER_TIMEOUT_S 60

struct server_options {
	const char *const *repositories;  /* at least one */
	size_t n_repositories;
	enum model_control_mode control_mode;
	const char *const *load_models;   /* explicit mode only */
	size_t n_load_models;
	const char *http_address;         /* NULL = SERVER_DEFAULT_ADDRESS; also the metrics address */
	int http_port;                    /* 0 = pick a free port */
	bool allow_metrics;
	int metrics_port;                 /* 0 = pick a free port */
	size_t http_max_input_bytes;      /* 0 = SERVER_DEFAULT_MAX_INPUT_BYTES */
	unsigned http_thread_count;       /* 0 = one per CPU (at most 16) */
	unsigned http_idle_timeout_s;     /* close connections silent this long; 0 = default */
	unsigned http_header_timeout_s;   /* a request's headers within this (http.h); 0 = default */
	unsigned exit_timeout_s;          /* how long server_stop() waits for answers; 0 = default */
};

/** The server (opaque). */
struct server;

/**
 * Scans the repositories and opens the metric collectors; loads nothing and
 * listens nowhere yet. Errors: a repository folder that cannot be read,
 * invalid options. Caller frees with server_free().
 */
int server_new(const struct server_options *opts, struct server **out,
	       struct it_error *err);

/** Loads the start-up models (models_load_startup()); returns how many failed. */
size_t server_load_models(struct server *s);

/** The model manager, e.g. for models_foreach_state() logging. */
struct models *server_models(struct server *s);

/**
 * Starts listening: the API, then (when allowed) the metrics port. Fails
 * with IT_ERR_IO when a port cannot be bound.
 */
int server_start(struct server *s, struct it_error *err);

/** The bound ports; *metrics_port is 0 when metrics are off. */
void server_ports(const struct server *s, int *http_port, int *metrics_port);

/**
 * Graceful stop: stop accepting connections, refuse new requests, let every
 * queued and executing request complete and its answer be sent (at most the
 * exit timeout), unload every model, close the listeners. Idempotent.
 * Call from one thread (not from a request).
 */
void server_stop(struct server *s);

/** Stops (if needed) and frees; NULL is a no-op. */
void server_free(struct server *s);

#endif
