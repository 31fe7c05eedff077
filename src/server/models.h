/*
 * The model manager: which model versions of the --model-repository folders
 * are loaded, in what state (Triton's UNKNOWN/READY/UNAVAILABLE/LOADING/
 * UNLOADING with a reason), and the live objects behind each ready version
 * (backend state, statistics, scheduler). It loads everything at start
 * (control mode none) or what it is told (explicit: --load-model and the
 * load/unload API, with Triton's `config` JSON override), and hands out
 * reference-counted handles so that a request that found a version keeps it
 * alive until the request completes, even while the version is unloaded or
 * replaced. Depends on backend/, server/scheduler, server/stats, model/,
 * util/ and jansson.
 */
#ifndef INFERTUNE_SERVER_MODELS_H
#define INFERTUNE_SERVER_MODELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "server/stats.h"

struct infer_request;
struct model_config;
struct it_error;

/** Triton's ModelReadyState, in Triton's spelling (model_state_name()). */
enum model_state {
	MODEL_STATE_UNKNOWN,
	MODEL_STATE_READY,
	MODEL_STATE_UNAVAILABLE,
	MODEL_STATE_LOADING,
	MODEL_STATE_UNLOADING,
};

/** "UNKNOWN", "READY", ... */
const char *model_state_name(enum model_state state);

/** --model-control-mode. Triton's `poll` is not offered. */
enum model_control_mode {
	MODEL_CONTROL_NONE,     /* load every model at start; no load/unload API */
	MODEL_CONTROL_EXPLICIT, /* load --load-model at start; load/unload API */
};

struct models_options {
	const char *const *repositories; /* --model-repository folders */
	size_t n_repositories;
	enum model_control_mode control_mode;
	const char *const *load_models;  /* explicit mode: names, or one "*" = all */
	size_t n_load_models;
};

/** The manager (opaque). */
struct models;

/**
 * A loaded model version as a request sees it (opaque). Obtained from
 * models_acquire(), given back with served_model_release(); while held, its
 * config, stats and scheduler stay valid.
 */
struct served_model;

/**
 * Creates the manager and scans the repositories (nothing is loaded yet).
 * Fails only when a repository folder cannot be read or a --load-model name
 * is invalid. Copies what it keeps from opts. Caller frees with
 * models_free().
 */
int models_new(const struct models_options *opts, struct models **out,
	       struct it_error *err);

/**
 * Loads the start-up set: every model (mode none) or the --load-model ones
 * (explicit). A model that fails is left UNAVAILABLE with its reason and the
 * others load anyway. Returns the number of models that failed.
 */
size_t models_load_startup(struct models *m);

/**
 * Calls fn once per model version known to the manager (and once with
 * version NULL for a model whose failure is not tied to a version), in name
 * then version order, for start-up logging. `reason` may be "".
 */
void models_foreach_state(struct models *m,
			  void (*fn)(void *arg, const char *name,
				     const char *version,
				     enum model_state state,
				     const char *reason),
			  void *arg);

/**
 * Loads (or reloads) model `name` from the repositories, rescanning them so
 * that folders created since start are found. config_override, when not
 * NULL, is the JSON ModelConfig of a load request's `config` parameter: it
 * replaces config.pbtxt (its name must be empty or `name`). Synchronous: on
 * return every served version is READY, or the call failed. A reload keeps
 * the old versions serving until the new ones are ready, then retires them.
 * Errors: IT_ERR_STATE with Triton's "polling is enabled" message outside
 * explicit mode, IT_ERR_INVALID for an unknown name or a bad config, the
 * backend's code and message when a version fails to load (the model is
 * left UNAVAILABLE with that reason). Thread-safe; loads and unloads of one
 * model are serialised.
 */
int models_load(struct models *m, const char *name,
		const json_t *config_override, struct it_error *err);

/**
 * Unloads every version of `name`: new requests are refused at once
 * (UNLOADING), then it waits for the requests in flight to complete, frees
 * the versions and leaves them UNAVAILABLE "unloaded". Explicit mode only
 * (IT_ERR_STATE otherwise); IT_ERR_INVALID for a name in no repository.
 * Thread-safe.
 */
int models_unload(struct models *m, const char *name, struct it_error *err);

/**
 * Unloads everything (shutdown): refuses new requests, waits for those in
 * flight, frees every version. Works in any control mode. Thread-safe.
 */
void models_unload_all(struct models *m);

/** Frees the manager after unloading everything; NULL is a no-op. */
void models_free(struct models *m);

/**
 * Finds the version a request should use and takes a reference to it:
 * `version` as given, or the highest READY one when version is -1. Errors
 * carry Triton's messages: IT_ERR_INVALID "Request for unknown model: 'M'
 * is not found", IT_ERR_NOT_FOUND "... has no available versions" / "...
 * version V is not found", IT_ERR_STATE (HTTP 503) for a version that is
 * loading or unloading ("... is not at ready state"). Thread-safe.
 */
int models_acquire(struct models *m, const char *name, int64_t version,
		   struct served_model **out, struct it_error *err);

/** Gives back a reference from models_acquire(). Thread-safe; never blocks on execution. */
void served_model_release(struct served_model *sm);

/** The version's config (valid while the handle is held). */
const struct model_config *served_model_config(const struct served_model *sm);
/** The model name. */
const char *served_model_name(const struct served_model *sm);
/** The version as a decimal string, as the protocol sends it. */
const char *served_model_version(const struct served_model *sm);
/** The version's statistics. */
struct model_stats *served_model_stats(struct served_model *sm);

/**
 * Hands req to the version's scheduler (scheduler_enqueue). Returns 0 (req
 * belongs to the scheduler until its on_complete runs) or an error with req
 * still the caller's. The caller keeps its handle until on_complete.
 */
int served_model_enqueue(struct served_model *sm, struct infer_request *req,
			 struct it_error *err);

/** True when model `name` (version, or any version when -1) is READY. */
bool models_is_ready(struct models *m, const char *name, int64_t version);

/**
 * True when every model the server was asked to load is READY and nothing is
 * loading or unloading (Triton's strict readiness); false after shutdown
 * began.
 */
bool models_all_ready(struct models *m);

/**
 * Repository index (protocol.md §3.1): array sorted by name; one entry per
 * known version with "version", "state" and "reason" (left out when empty);
 * a model never loaded is {"name"} only. ready_only keeps READY versions.
 * Rescans the repositories for new folders. New reference.
 */
json_t *models_index_json(struct models *m, bool ready_only);

/**
 * Model metadata (protocol.md §1.3) of name/version (-1: every READY
 * version listed). Errors as models_acquire(). *out is a new reference.
 */
int models_metadata_json(struct models *m, const char *name, int64_t version,
			 json_t **out, struct it_error *err);

/**
 * Statistics endpoint body (protocol.md §3.2): {"model_stats":[...]} for
 * every READY version (name NULL), every READY version of `name` (version
 * -1), or one version. An unknown or not ready model is IT_ERR_INVALID
 * "requested model 'M' is not available". *out is a new reference.
 */
int models_stats_json(struct models *m, const char *name, int64_t version,
		      json_t **out, struct it_error *err);

/** One READY version's figures for the Prometheus page. */
struct models_version_stats {
	char *name;
	char *version;
	struct model_stats_snapshot snap; /* snap.batches owned */
	size_t queue_length;              /* queued, not executing */
};

/**
 * Snapshots every READY version, sorted by name then version. Caller frees
 * with models_version_stats_free(). Thread-safe.
 */
void models_stats_snapshots(struct models *m,
			    struct models_version_stats **out, size_t *n);
void models_version_stats_free(struct models_version_stats *v, size_t n);

#endif
