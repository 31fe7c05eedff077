/*
 * Variants: from a search point to a loaded model. A variant's identity is
 * its configuration's canonical JSON without the name, so the same point
 * maps to the same name on every run and --resume finds it again; its
 * folder links the model's version folders, as Model Analyzer does.
 */
#include "analyze/variant.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "analyze/analyzer_internal.h"
#include "analyze/server_client.h"
#include "analyze/preflight.h"
#include "analyze/search.h"
#include "analyze/server_proc.h"
#include "model/config.h"
#include "model/schema.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/strbuf.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define READY_WAIT_S 30.0

/* ---- configurations ------------------------------------------------------------ */

char *variant_config_text(const struct model_config *cfg)
{
	struct strbuf sb;

	strbuf_init(&sb, 0);
	model_config_print(cfg, &sb);
	return strbuf_detach(&sb, NULL);
}

char *variant_config_json(const struct model_config *cfg, unsigned flags)
{
	json_t *j = model_config_to_json(cfg, flags);
	char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);

	json_decref(j);
	return s;
}

/* The variant identity: the canonical JSON of the config with its name cleared. */
static char *config_key(const struct model_config *cfg)
{
	struct model_config *c = model_config_clone(cfg);
	char *key;

	model_config_set_name(c, "", NULL);
	key = variant_config_json(c, 0);
	model_config_free(c);
	return key;
}

/* dst := dst deep-merged with src (objects merge, everything else replaces). */
static void json_merge(json_t *dst, json_t *src)
{
	const char *k;
	json_t *v;

	json_object_foreach(src, k, v) {
		json_t *d = json_object_get(dst, k);

		if (d && json_is_object(d) && json_is_object(v))
			json_merge(d, v);
		else
			json_object_set_new(dst, k, json_deep_copy(v));
	}
}

int32_t variant_instance_count(const struct model_config *cfg)
{
	int32_t n = 0;

	for (size_t i = 0; i < cfg->n_instance_groups; i++)
		n += cfg->instance_groups[i].count;
	return n ? n : 1;
}

/* The point's edits on *cfg (the manual overlay replaces *cfg with the merge). */
static int apply_point(const struct model_ctx *mc, const struct search_point *pt,
		       struct model_config **cfg, struct it_error *err)
{
	int rc;

	if (pt->manual >= 0 && (size_t)pt->manual < mc->spec->manual.n_overlays) {
		json_t *j = model_config_to_json(*cfg, 0);
		struct model_config *merged;

		json_merge(j, mc->spec->manual.overlays[pt->manual]);
		merged = model_config_from_json(j, "model_config_parameters", err);
		json_decref(j);
		if (!merged)
			return IT_ERR_INVALID;
		model_config_free(*cfg);
		*cfg = merged;
	}
	if (pt->instance_count) {
		rc = model_config_set_instance_group(*cfg, mc->kind, pt->instance_count, NULL,
						     0, err);
		if (rc)
			return rc;
	}
	if (pt->max_batch_size) {
		/*
		 * Automatic and quick search set `dynamic_batching {}` (Model
		 * Analyzer's param combo): no preferred sizes, no delay, so no
		 * preferred size can exceed the new max_batch_size. The
		 * predictive search also sets a delay and one preferred size,
		 * once max_batch_size allows it. Manual sets only
		 * max_batch_size.
		 */
		if (pt->manual < 0) {
			rc = model_config_set_dynamic_batching(*cfg, NULL, 0, pt->queue_delay_us,
							       err);
			if (rc)
				return rc;
		}
		rc = model_config_set_max_batch_size(*cfg, pt->max_batch_size, err);
		if (rc)
			return rc;
		if (pt->manual < 0 && pt->preferred_batch_size) {
			int32_t pref = pt->preferred_batch_size;

			rc = model_config_set_dynamic_batching(*cfg, &pref, 1, pt->queue_delay_us,
							       err);
			if (rc)
				return rc;
		}
	}
	if (pt->threads) {
		char v[16];

		snprintf(v, sizeof(v), "%d", pt->threads);
		return model_config_set_parameter(*cfg, "INTRA_OP_THREAD_COUNT", v, err);
	}
	return 0;
}

int variant_build_config(const struct model_ctx *mc, const struct search_point *pt,
			 struct model_config **out, struct it_error *err)
{
	struct model_config *cfg = model_config_clone(mc->base);
	int rc = 0;

	if (!pt->is_default)
		rc = apply_point(mc, pt, &cfg, err);
	if (!rc) {
		*out = cfg;
		cfg = NULL;
	}
	model_config_free(cfg);
	return rc;
}

/* ---- the stored variant and its folder --------------------------------------- */

/* Writes <out_repo>/<name>/config.pbtxt and links the model's files next to it. */
static int write_variant_dir(struct analyzer *a, const struct model_ctx *mc,
			     const char *name, const struct model_config *cfg,
			     struct it_error *err)
{
	char *dir = fs_join(a->out_repo, name);
	char *path = NULL;
	int rc;

	rc = fs_mkdir_p(dir, err);
	if (rc)
		goto out;
	path = fs_join(dir, "config.pbtxt");
	rc = model_config_write_file(cfg, path, err);
	if (rc || !mc->source_dir)
		goto out;
	{
		/* Version folders and other files: symbolic links, as Model Analyzer does. */
		DIR *d = opendir(mc->source_dir);
		struct dirent *e;

		if (!d) {
			rc = it_error_set(err, IT_ERR_IO, "%s: %s", mc->source_dir, strerror(errno));
			goto out;
		}
		while ((e = readdir(d))) {
			char *src, *dst;

			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") ||
			    !strcmp(e->d_name, "config.pbtxt"))
				continue;
			src = fs_join(mc->source_dir, e->d_name);
			dst = fs_join(dir, e->d_name);
			if (symlink(src, dst) && errno != EEXIST)
				rc = it_error_set(err, IT_ERR_IO, "cannot link %s: %s", dst,
						  strerror(errno));
			free(src);
			free(dst);
			if (rc)
				break;
		}
		closedir(d);
	}
out:
	free(path);
	free(dir);
	return rc;
}

static void describe_groups(const struct model_config *cfg, char *kind, size_t size)
{
	snprintf(kind, size, "%s", cfg->n_instance_groups ?
		 instance_kind_name(cfg->instance_groups[0].kind) : "KIND_AUTO");
}

/* "path.key=value" for every leaf of a manual overlay (string_value elided). */
static void flatten(struct strbuf *sb, const char *path, json_t *j)
{
	if (json_is_object(j)) {
		const char *k;
		json_t *v;

		json_object_foreach(j, k, v) {
			struct strbuf sub;

			strbuf_init(&sub, 0);
			if (!strcmp(k, "string_value") && path[0])
				strbuf_adds(&sub, path);
			else
				strbuf_addf(&sub, "%s%s%s", path, path[0] ? "." : "", k);
			flatten(sb, sub.buf, v);
			strbuf_release(&sub);
		}
		if (!json_object_size(j))
			strbuf_addf(sb, "%s%s={}", sb->len ? " " : "", path);
		return;
	}
	{
		char *text = json_is_string(j) ? xstrdup(json_string_value(j)) :
			     json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);

		strbuf_addf(sb, "%s%s=%s", sb->len ? " " : "", path, text ? text : "?");
		free(text);
	}
}

static char *point_label(const struct model_ctx *mc, const struct search_point *pt)
{
	struct search_point lp = *pt;
	char label[256];
	struct strbuf sb;

	lp.concurrency = 0;
	lp.request_rate = 0;
	if (pt->manual < 0 || (size_t)pt->manual >= mc->spec->manual.n_overlays) {
		lp.manual = -1;
		search_point_label(&lp, label, sizeof(label));
		return xstrdup(label);
	}
	strbuf_init(&sb, 0);
	flatten(&sb, "", mc->spec->manual.overlays[pt->manual]);
	if (pt->max_batch_size)
		strbuf_addf(&sb, "%smax_batch_size=%d", sb.len ? " " : "", pt->max_batch_size);
	return strbuf_detach(&sb, NULL);
}

int variant_get(struct analyzer *a, struct model_ctx *mc, const struct search_point *pt,
		const struct model_config *cfg, struct store_variant *v,
		struct it_error *err)
{
	char *key = config_key(cfg);
	struct model_config *named = NULL;
	bool found = false;
	int rc;

	rc = store_variant_find(a->store, mc->model_id, key, v, &found, err);
	if (rc || found) {
		free(key);
		if (found && !rc) {
			/* Re-create the folder if the output repository was cleaned. */
			struct model_config *c = model_config_parse(v->config_pbtxt,
								    strlen(v->config_pbtxt),
								    v->name, NULL);
			char *p = fs_join(a->out_repo, v->name);

			if (c && !fs_is_dir(p))
				rc = write_variant_dir(a, mc, v->name, c, err);
			free(p);
			model_config_free(c);
		}
		return rc;
	}
	memset(v, 0, sizeof(*v));
	v->model_id = mc->model_id;
	v->is_default = pt->is_default;
	if (pt->is_default) {
		v->variant_index = -1;
		snprintf(v->name, sizeof(v->name), "%s_config_default", mc->name);
	} else {
		rc = store_variant_next_index(a->store, mc->model_id, &v->variant_index, err);
		if (rc)
			goto out;
		snprintf(v->name, sizeof(v->name), "%s_config_%lld", mc->name,
			 (long long)v->variant_index);
	}
	named = model_config_clone(cfg);
	rc = model_config_set_name(named, v->name, err);
	if (rc)
		goto out;
	v->config_key = key;
	key = NULL;
	v->config_pbtxt = variant_config_text(named);
	v->config_json = variant_config_json(named, SCHEMA_JSON_INT64_STRING);
	v->max_batch_size = named->max_batch_size;
	v->instance_count = variant_instance_count(named);
	describe_groups(named, v->instance_kind, sizeof(v->instance_kind));
	v->dynamic_batching = named->has_dynamic_batching;
	v->label = point_label(mc, pt);
	v->status = VARIANT_PENDING;
	v->created_run_id = a->run_id;
	rc = write_variant_dir(a, mc, v->name, named, err);
	if (rc)
		goto out;
	rc = store_variant_add(a->store, v, err);
out:
	if (rc)
		store_variant_release(v);
	model_config_free(named);
	free(key);
	return rc;
}

void variant_set_status(struct analyzer *a, struct store_variant *v,
			enum variant_status st, const char *reason)
{
	struct it_error e = { 0 };

	if (store_variant_set_status(a->store, v->id, st, reason, &e))
		analyzer_emit(a, AEV_LOG, 1, "results.db: %s", e.message);
	v->status = st;
	free(v->failure_reason);
	v->failure_reason = reason ? xstrdup(reason) : NULL;
}

/* ---- loading ------------------------------------------------------------------ */

static bool mentions_memory(const char *msg)
{
	return strstr(msg, "out of memory") || strstr(msg, "Out of memory") ||
	       strstr(msg, "OutOfMemory") || strstr(msg, "bad_alloc") ||
	       strstr(msg, "Cannot allocate memory");
}

/*
 * Asks the server to load v: *load_rc and *lerr are the load's own outcome.
 * Returns < 0 only when the analysis cannot go on.
 */
static int load_request(struct analyzer *a, const struct model_ctx *mc,
			const struct store_variant *v, int *load_rc,
			struct it_error *lerr, struct it_error *err)
{
	struct model_config *cfg;
	char *json;
	int rc;

	if (a->proc) {
		/* A fresh server for every variant: clean memory figures (as Model Analyzer). */
		if ((a->server_dirty && !a->load_alongside) ||
		    !server_proc_alive(a->proc, NULL, 0)) {
			rc = analyzer_server_start(a, err);
			if (rc)
				return rc;
		}
		a->server_dirty = true;
		*load_rc = server_client_load(a->client, v->name, NULL, lerr);
		return 0;
	}
	cfg = model_config_parse(v->config_pbtxt, strlen(v->config_pbtxt), v->name, lerr);
	if (!cfg)
		return it_error_set(err, IT_ERR_INTERNAL, "stored variant %s: %s",
				    v->name, lerr->message);
	/* Remote: the original model, its configuration replaced (no file access). */
	model_config_set_name(cfg, mc->name, NULL);
	json = variant_config_json(cfg, SCHEMA_JSON_INT64_STRING);
	model_config_free(cfg);
	if (a->remote_loaded)
		server_client_unload(a->client, mc->name, NULL);
	a->remote_loaded = true;
	*load_rc = server_client_load(a->client, mc->name, json, lerr);
	free(json);
	return 0;
}

/* Why the load failed: the variant, Ctrl-C, or a server that is gone. */
static int load_failed(struct analyzer *a, const struct store_variant *v, int load_rc,
		       const struct it_error *lerr, enum variant_load_result *result,
		       enum variant_status *status, char *reason, size_t reason_size,
		       struct it_error *err)
{
	char how[200];

	if (load_rc == IT_ERR_UNSUPPORTED) {
		if (err)
			*err = *lerr;
		return load_rc;
	}
	if (interrupted(a)) {
		*result = VARIANT_LOAD_INTERRUPTED;  /* not the variant's fault */
		return 0;
	}
	*result = VARIANT_NOT_LOADED;
	if (!analyzer_server_alive(a, how, sizeof(how))) {
		if (!a->proc) {
			a->fatal = true;
			snprintf(a->fatal_msg, sizeof(a->fatal_msg),
				 "the remote server %s while loading %s", how, v->name);
			return it_error_set(err, IT_ERR_IO, "%s", a->fatal_msg);
		}
		*status = server_proc_killed(a->proc) ? VARIANT_OUT_OF_MEMORY :
			  VARIANT_SERVER_CRASHED;
		snprintf(reason, reason_size, "the server %s while loading the model", how);
		a->server_dirty = true;
		return 0;
	}
	*status = mentions_memory(lerr->message) ? VARIANT_OUT_OF_MEMORY : VARIANT_LOAD_FAILED;
	snprintf(reason, reason_size, "load failed: %.900s", lerr->message);
	return 0;
}

/* Waits up to READY_WAIT_S for the loaded model to say it is ready. */
static enum variant_load_result wait_ready(struct analyzer *a, const struct model_ctx *mc,
					   const struct store_variant *v,
					   enum variant_status *status, char *reason,
					   size_t reason_size)
{
	const char *served = a->proc ? v->name : mc->name;
	double deadline = mono_s() + READY_WAIT_S;
	struct it_error lerr = { 0 };
	bool ready = false;

	while (!ready) {
		int rc = server_client_ready(a->client, served, &ready, &lerr);

		if (rc || (!ready && mono_s() > deadline)) {
			*status = VARIANT_LOAD_FAILED;
			snprintf(reason, reason_size, "loaded but not ready%s%.900s",
				 rc ? ": " : "", rc ? lerr.message : "");
			return VARIANT_NOT_LOADED;
		}
		if (!ready) {
			struct timespec ts = { 0, 20000000 };

			nanosleep(&ts, NULL);
		}
	}
	return VARIANT_LOADED;
}

int variant_load(struct analyzer *a, const struct model_ctx *mc,
		 const struct store_variant *v, enum variant_load_result *result,
		 enum variant_status *status, char *reason, size_t reason_size,
		 struct it_error *err)
{
	struct it_error lerr = { 0 };
	int load_rc = 0, rc;

	rc = load_request(a, mc, v, &load_rc, &lerr, err);
	if (rc)
		return rc;
	if (load_rc)
		return load_failed(a, v, load_rc, &lerr, result, status, reason, reason_size,
				   err);
	*result = wait_ready(a, mc, v, status, reason, reason_size);
	return 0;
}

void variant_unload(struct analyzer *a, const struct model_ctx *mc)
{
	if (!a->client || a->proc || a->fatal)
		return;
	server_client_unload(a->client, mc->name, NULL);
	a->remote_loaded = false;
}
