/*
 * The checks `infertune analyze` makes before it measures anything, and
 * the server they reach: the export folder, its lock and results.db, the
 * output model repository, the model repository, the server (embedded
 * child or remote), its GPUs and metrics page, every model with its
 * measurement settings, objectives and search space, and the machine
 * record. Each check fails fast with a message naming what is wrong.
 * Private to the run driver (analyzer.c, variant.c, sweep.c).
 */
#ifndef INFERTUNE_ANALYZE_PREFLIGHT_H
#define INFERTUNE_ANALYZE_PREFLIGHT_H

#include <stdbool.h>
#include <stddef.h>

struct analyzer;
struct model_ctx;
struct it_error;

/**
 * Creates the export folder, takes its lock (one analysis per folder),
 * opens results.db (reopened to resume; runs left open are closed as
 * stale) and creates <export>/results. Fills a's paths, store, lock_fd
 * and resumed; analyzer_free() releases them on failure too.
 */
int preflight_export(struct analyzer *a, struct it_error *err);

/**
 * Creates the output model repository; an existing non-empty one is an
 * error unless --override-output-model-repository (then it is emptied) or
 * the run resumes. Fills a->out_repo.
 */
int preflight_output_repository(struct analyzer *a, struct it_error *err);

/** Scans --model-repository when given; fills a->repo. */
int preflight_model_repository(struct analyzer *a, struct it_error *err);

/**
 * Reaches the server: starts the embedded one, or checks that the remote
 * one answers (and derives its metrics URL). Finds the GPUs, checks the
 * metrics page (a warning event when it does not answer) and starts the
 * sampler.
 */
int preflight_server(struct analyzer *a, struct it_error *err);

/**
 * Prepares every model of the options into a->models: its default
 * configuration, measurement settings, objectives, load lists and search
 * space; checks variable input shapes and that every manual combination
 * builds. The error names the model.
 */
int preflight_models(struct analyzer *a, struct it_error *err);

/** Frees what preflight_models() put in *m (not m itself). */
void model_ctx_release(struct model_ctx *m);

/**
 * Records the machine that measured in results.db's meta table
 * (machine_cpu, machine_memory); a remote server's rows say "not known".
 */
int preflight_record_machine(struct analyzer *a, struct it_error *err);

/**
 * Starts a fresh embedded server (nothing loaded), closing the previous
 * one, and connects the client to it. Used at start and for every restart.
 */
int analyzer_server_start(struct analyzer *a, struct it_error *err);

/**
 * Drops the client and stops the embedded server (at once: SIGKILL first).
 * Safe to call with no server.
 */
void analyzer_server_close(struct analyzer *a, bool at_once);

/**
 * True when the server can still be reached; otherwise false with what
 * happened to it written to how[size] ("exited with status 1", "does not
 * answer at URL").
 */
bool analyzer_server_alive(struct analyzer *a, char *how, size_t size);

#endif
