/*
 * Variants: the configuration a search point stands for, built from the
 * model's default; its name (<model>_config_<N> or _config_default), label
 * and row in results.db; its folder in the output model repository; and
 * loading it on the server (fresh embedded server, or the remote model's
 * configuration replaced) and unloading it. Private to the run driver.
 */
#ifndef INFERTUNE_ANALYZE_VARIANT_H
#define INFERTUNE_ANALYZE_VARIANT_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

struct analyzer;
struct model_config;
struct model_ctx;
struct search_point;
struct it_error;

/** How variant_load() went when it returned 0. */
enum variant_load_result {
	VARIANT_LOADED,                 /* loaded and ready to measure */
	VARIANT_NOT_LOADED,             /* the variant's fault: it failed to load, crashed
					   the embedded server or ran out of memory */
	VARIANT_LOAD_INTERRUPTED,       /* Ctrl-C during the load: a resume loads it again */
};

/** The configuration as text (Model Analyzer's repeated-line form). Caller frees. */
char *variant_config_text(const struct model_config *cfg);

/** The configuration as compact JSON with sorted keys. Caller frees. */
char *variant_config_json(const struct model_config *cfg, unsigned flags);

/** The total instance count of a configuration (1 without instance groups). */
int32_t variant_instance_count(const struct model_config *cfg);

/**
 * Builds the configuration of a search point: the default with the
 * point's edits (manual overlay, instance group, max_batch_size with
 * dynamic batching, intra-op threads). Caller frees *out with
 * model_config_free(); *out is written only on success.
 */
int variant_build_config(const struct model_ctx *mc, const struct search_point *pt,
			 struct model_config **out, struct it_error *err);

/**
 * The stored variant of configuration cfg (point pt), added to results.db
 * and written to the output model repository when new; a stored one whose
 * folder is gone has it written again. Caller releases *v with
 * store_variant_release() on success.
 */
int variant_get(struct analyzer *a, struct model_ctx *mc, const struct search_point *pt,
		const struct model_config *cfg, struct store_variant *v,
		struct it_error *err);

/**
 * Loads variant v on the server and waits until it is ready; an embedded
 * server is restarted first so that every variant starts on a fresh one.
 * Returns 0 with *result saying how it went: on VARIANT_NOT_LOADED,
 * *status is why (load failed, server crashed, out of memory) and
 * reason[reason_size] says it. Returns < 0 when the analysis cannot go on
 * (the remote server died, the embedded one cannot start).
 */
int variant_load(struct analyzer *a, const struct model_ctx *mc,
		 const struct store_variant *v, enum variant_load_result *result,
		 enum variant_status *status, char *reason, size_t reason_size,
		 struct it_error *err);

/** Unloads the remote model after its variant's sweep (no-op for the embedded server). */
void variant_unload(struct analyzer *a, const struct model_ctx *mc);

/**
 * Sets v's status in results.db (a failure to record is a warning event)
 * and in *v, with a copy of reason (may be NULL).
 */
void variant_set_status(struct analyzer *a, struct store_variant *v,
			enum variant_status st, const char *reason);

#endif
