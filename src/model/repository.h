/*
 * A Triton model repository on disk: <repo>/<model>/config.pbtxt plus
 * numeric version folders (protocol.md §6), several repositories at once as
 * `tritonserver --model-repository A --model-repository B`. Each model either
 * loads (a valid config and at least one version the policy selects) or
 * carries the error that keeps it from loading; one bad model never hides
 * the others. Depends on model/config and util/.
 */
#ifndef INFERTUNE_MODEL_REPOSITORY_H
#define INFERTUNE_MODEL_REPOSITORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

struct model_config;

/** The longest model name accepted (bytes). */
#define REPOSITORY_NAME_MAX 255

/** One model folder. Owned by its struct repository. */
struct repo_model {
	char *name;          /* folder name = model name */
	char *path;          /* <repository>/<name> */
	char *repository;    /* the --model-repository it was found in */
	struct model_config *config; /* NULL when it cannot load */
	struct it_error error;       /* why it cannot load (error.code != 0) */
	int64_t *versions;   /* every numeric version folder, ascending */
	size_t n_versions;
	int64_t *served;     /* those the version policy selects, ascending */
	size_t n_served;
	const char *model_filename; /* default_model_filename or the platform default; NULL if none */
};

/** Heap object from repository_scan(), freed with repository_free(). */
struct repository {
	struct repo_model *models; /* sorted by name */
	size_t n_models;
};

/**
 * Scans the given repository folders. Fails only when a folder itself cannot
 * be read (IT_ERR_NOT_FOUND / IT_ERR_IO, naming it); per-model problems are
 * recorded in each repo_model. A name present in two repositories makes both
 * entries fail, as in Triton. Caller frees *out with repository_free().
 */
int repository_scan(const char *const *dirs, size_t n_dirs,
		    struct repository **out, struct it_error *err);

/** Frees repo; NULL is a no-op. */
void repository_free(struct repository *repo);

/** The model named `name`, or NULL. */
const struct repo_model *repository_find(const struct repository *repo,
					 const char *name);

/**
 * Checks a model name from a folder, a request path or an API call: not
 * empty, at most REPOSITORY_NAME_MAX bytes, no '/', '\\', control characters,
 * and not "." or "..". So a name can never reach outside the repository.
 * Returns 0 or IT_ERR_INVALID with a message.
 */
int repository_check_name(const char *name, struct it_error *err);

/**
 * Default model file for a platform/backend (protocol.md §6): "model.pt" for
 * pytorch_libtorch, "model.onnx", "model.plan", ...; NULL when the backend
 * has none (ensemble, infertune's builtin backends).
 */
const char *repository_default_filename(const char *platform,
					const char *backend);

/**
 * Path of the model file of one version: <path>/<version>/<model_filename>.
 * Caller frees. NULL when the model has no model file.
 */
char *repository_model_file(const struct repo_model *model, int64_t version);

#endif
