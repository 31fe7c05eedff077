/*
 * The model manager. Concurrency invariants:
 *
 *  - One mutex (`lock`) guards every model's version slots, states, reasons
 *    and the reference counts of the live versions. It is never held while
 *    calling a backend, a scheduler or the statistics, so the scheduler's
 *    completion callbacks (which release references) can never deadlock
 *    against it.
 *  - A live version (struct served_model) is handed out only while its slot
 *    is READY. To unload or replace it, its slot stops being READY (or
 *    points to the replacement) under the lock, then the unloader waits,
 *    lock released in pthread_cond_wait, until its reference count is zero:
 *    every request that acquired it has completed and released it. Only then
 *    is the scheduler freed (it has nothing left to drain) and the backend
 *    unloaded, so no request ever touches freed memory.
 *  - Loads and unloads of one model are serialised by its `busy` flag; they
 *    run without the lock, so other models keep serving and loading.
 */
#include "server/models.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "model/config.h"
#include "model/datatype.h"
#include "model/repository.h"
#include "server/infer.h"
#include "server/scheduler.h"
#include "server/stats.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/strbuf.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define VERSION_STR_MAX 24
#define UNLOADED_REASON "unloaded"
#define POLLING_MESSAGE "explicit model load / unload is not allowed if polling is enabled"

struct served_model {
	struct models *owner;
	char *name;
	int64_t version;
	char version_str[VERSION_STR_MAX];
	struct model_config *config;   /* owned: each loaded version has its own */
	const struct backend_ops *ops;
	void *backend_state;
	struct model_stats *stats;
	struct scheduler *sched;
	unsigned refs;                 /* handles out; guarded by owner->lock */
	bool retiring;                 /* someone waits for refs to reach 0 */
};

struct version_slot {
	int64_t version;
	char version_str[VERSION_STR_MAX];
	enum model_state state;
	char *reason;                  /* NULL when none */
	struct served_model *live;     /* set while READY or UNLOADING */
};

struct managed_model {
	char *name;
	struct version_slot *slots;    /* ascending version */
	size_t n_slots, alloc_slots;
	char *error;                   /* failure not tied to a version (bad config) */
	bool requested;                /* counts for strict readiness */
	bool busy;                     /* a load or unload is running */
};

struct models {
	pthread_mutex_t lock;
	pthread_cond_t cond;           /* refs reached 0, or a busy flag cleared */
	char **repos;
	size_t n_repos;
	enum model_control_mode mode;
	char **load_names;
	size_t n_load_names;
	struct managed_model **models; /* ascending name */
	size_t n_models, alloc_models;
	bool shutting_down;
};

const char *model_state_name(enum model_state state)
{
	switch (state) {
	case MODEL_STATE_READY:
		return "READY";
	case MODEL_STATE_UNAVAILABLE:
		return "UNAVAILABLE";
	case MODEL_STATE_LOADING:
		return "LOADING";
	case MODEL_STATE_UNLOADING:
		return "UNLOADING";
	case MODEL_STATE_UNKNOWN:
		break;
	}
	return "UNKNOWN";
}

/* ---- lookup helpers (called locked) ---- */

static struct managed_model *find_model(struct models *m, const char *name,
					size_t *pos)
{
	size_t lo = 0, hi = m->n_models;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(m->models[mid]->name, name);

		if (!c) {
			if (pos)
				*pos = mid;
			return m->models[mid];
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (pos)
		*pos = lo;
	return NULL;
}

static struct managed_model *find_or_add_model(struct models *m,
					       const char *name)
{
	struct managed_model *mm;
	size_t pos;

	mm = find_model(m, name, &pos);
	if (mm)
		return mm;
	mm = xcalloc(1, sizeof(*mm));
	mm->name = xstrdup(name);
	XGROW(m->models, m->alloc_models, m->n_models + 1);
	memmove(&m->models[pos + 1], &m->models[pos],
		(m->n_models - pos) * sizeof(m->models[0]));
	m->models[pos] = mm;
	m->n_models++;
	return mm;
}

static struct version_slot *find_slot(struct managed_model *mm, int64_t version)
{
	for (size_t i = 0; i < mm->n_slots; i++)
		if (mm->slots[i].version == version)
			return &mm->slots[i];
	return NULL;
}

static struct version_slot *find_or_add_slot(struct managed_model *mm,
					     int64_t version)
{
	struct version_slot *s = find_slot(mm, version);
	size_t pos = 0;

	if (s)
		return s;
	while (pos < mm->n_slots && mm->slots[pos].version < version)
		pos++;
	XGROW(mm->slots, mm->alloc_slots, mm->n_slots + 1);
	memmove(&mm->slots[pos + 1], &mm->slots[pos],
		(mm->n_slots - pos) * sizeof(mm->slots[0]));
	s = &mm->slots[pos];
	memset(s, 0, sizeof(*s));
	s->version = version;
	snprintf(s->version_str, sizeof(s->version_str), "%" PRId64, version);
	s->state = MODEL_STATE_UNKNOWN;
	mm->n_slots++;
	return s;
}

static void slot_set(struct version_slot *s, enum model_state state,
		     const char *reason)
{
	free(s->reason);
	s->reason = reason && reason[0] ? xstrdup(reason) : NULL;
	s->state = state;
}

static void set_model_error(struct managed_model *mm, const char *message)
{
	free(mm->error);
	mm->error = message ? xstrdup(message) : NULL;
}

/* ---- live versions ---- */

static void served_model_destroy(struct served_model *sm)
{
	if (!sm)
		return;
	/* refs are 0: the scheduler's queue is empty, this only joins its workers. */
	scheduler_free(sm->sched);
	if (sm->backend_state && sm->ops->model_unload)
		sm->ops->model_unload(sm->backend_state);
	stats_free(sm->stats);
	model_config_free(sm->config);
	free(sm->name);
	free(sm);
}

/*
 * Waits until no request holds sm, then frees it. sm must already be
 * unreachable for new requests (its slot not READY or pointing elsewhere).
 * Called without the lock.
 */
static void retire(struct models *m, struct served_model *sm)
{
	if (!sm)
		return;
	pthread_mutex_lock(&m->lock);
	sm->retiring = true;
	while (sm->refs)
		pthread_cond_wait(&m->cond, &m->lock);
	pthread_mutex_unlock(&m->lock);
	served_model_destroy(sm);
}

/* Loads one version: backend, statistics, scheduler. Called without the lock. */
static struct served_model *version_load(struct models *m, const char *name,
					 const char *model_path,
					 const struct model_config *cfg,
					 int64_t version, struct it_error *err)
{
	struct served_model *sm = xcalloc(1, sizeof(*sm));
	char vbuf[VERSION_STR_MAX];
	char *version_dir = NULL;
	int rc = 0;

	sm->owner = m;
	sm->name = xstrdup(name);
	sm->version = version;
	snprintf(sm->version_str, sizeof(sm->version_str), "%" PRId64, version);
	sm->config = model_config_clone(cfg);
	sm->ops = backend_find(sm->config, err);
	if (!sm->ops) {
		rc = err && err->code ? err->code : IT_ERR_NOT_FOUND;
		goto out;
	}
	snprintf(vbuf, sizeof(vbuf), "%" PRId64, version);
	version_dir = fs_join(model_path, vbuf);
	rc = sm->ops->model_load(sm->config, version_dir, &sm->backend_state, err);
	if (rc) {
		sm->backend_state = NULL;
		goto out;
	}
	sm->stats = stats_new();
	sm->sched = scheduler_new(sm->config, sm->ops, sm->backend_state,
				  sm->stats, err);
	if (!sm->sched) {
		rc = err && err->code ? err->code : IT_ERR_INTERNAL;
		goto out;
	}
out:
	free(version_dir);
	if (rc) {
		served_model_destroy(sm);
		return NULL;
	}
	return sm;
}

/* ---- per-model serialisation ---- */

/*
 * Marks model `name` busy, waiting for a change already running. A load
 * (for_load) is refused with NULL once shutdown began, so that
 * models_unload_all() never races with a model that appears behind it.
 */
static struct managed_model *begin_change(struct models *m, const char *name,
					  bool for_load)
{
	struct managed_model *mm = NULL;

	pthread_mutex_lock(&m->lock);
	if (for_load && m->shutting_down)
		goto out;
	mm = find_or_add_model(m, name);
	while (mm->busy)
		pthread_cond_wait(&m->cond, &m->lock);
	if (for_load && m->shutting_down) {
		mm = NULL;
		goto out;
	}
	mm->busy = true;
out:
	pthread_mutex_unlock(&m->lock);
	return mm;
}

static void end_change(struct models *m, struct managed_model *mm)
{
	pthread_mutex_lock(&m->lock);
	mm->busy = false;
	pthread_cond_broadcast(&m->cond);
	pthread_mutex_unlock(&m->lock);
}

/* ---- creation ---- */

int models_new(const struct models_options *opts, struct models **out,
	       struct it_error *err)
{
	struct repository *scan = NULL;
	struct models *m = NULL;
	int rc;

	if (opts->control_mode == MODEL_CONTROL_NONE && opts->n_load_models)
		return it_error_set(err, IT_ERR_INVALID,
				    "--load-model is only allowed with --model-control-mode=explicit");
	for (size_t i = 0; i < opts->n_load_models; i++) {
		if (!strcmp(opts->load_models[i], "*"))
			continue;
		rc = repository_check_name(opts->load_models[i], err);
		if (rc) {
			it_error_prefix(err, "--load-model");
			return rc;
		}
	}
	/* Fails when a folder cannot be read, as tritonserver refuses to start then. */
	rc = repository_scan(opts->repositories, opts->n_repositories, &scan, err);
	if (rc)
		return rc;
	m = xcalloc(1, sizeof(*m));
	pthread_mutex_init(&m->lock, NULL);
	pthread_cond_init(&m->cond, NULL);
	m->mode = opts->control_mode;
	m->n_repos = opts->n_repositories;
	m->repos = xcalloc(m->n_repos ? m->n_repos : 1, sizeof(*m->repos));
	for (size_t i = 0; i < m->n_repos; i++)
		m->repos[i] = xstrdup(opts->repositories[i]);
	m->n_load_names = opts->n_load_models;
	m->load_names = xcalloc(m->n_load_names ? m->n_load_names : 1,
				sizeof(*m->load_names));
	for (size_t i = 0; i < m->n_load_names; i++)
		m->load_names[i] = xstrdup(opts->load_models[i]);
	repository_free(scan);
	*out = m;
	return 0;
}

/* ---- loading ---- */

/* The versions a policy selects among the folders found, ascending. */
static size_t select_versions(const struct model_version_policy *p,
			      const int64_t *found, size_t n_found,
			      int64_t *out)
{
	size_t n = 0, first = 0;

	switch (p->kind) {
	case VERSION_POLICY_ALL:
		for (size_t i = 0; i < n_found; i++)
			out[n++] = found[i];
		break;
	case VERSION_POLICY_SPECIFIC:
		for (size_t i = 0; i < n_found; i++)
			for (size_t j = 0; j < p->n_versions; j++)
				if (p->versions[j] == found[i]) {
					out[n++] = found[i];
					break;
				}
		break;
	case VERSION_POLICY_LATEST:
		if (n_found > p->latest_num_versions)
			first = n_found - p->latest_num_versions;
		for (size_t i = first; i < n_found; i++)
			out[n++] = found[i];
		break;
	}
	return n;
}

/*
 * The config a load uses: the override (checked against the model name) or
 * the folder's config.pbtxt. NULL with err set when neither is usable.
 */
static struct model_config *load_config(const struct repo_model *rm,
					const char *name,
					const json_t *override,
					struct it_error *err)
{
	struct model_config *cfg = NULL;
	char buf[IT_ERROR_FILE_MAX + IT_ERROR_MESSAGE_MAX + 64];
	char what[REPOSITORY_NAME_MAX + 64];

	if (override) {
		snprintf(what, sizeof(what), "config parameter of '%s'", name);
		cfg = model_config_from_json(override, what, err);
		if (!cfg)
			return NULL;
		if (!cfg->name[0]) {
			if (model_config_set_name(cfg, name, err))
				goto fail;
		} else if (strcmp(cfg->name, name)) {
			it_error_set(err, IT_ERR_INVALID,
				     "config name '%s' does not match model name '%s'",
				     cfg->name, name);
			goto fail;
		}
		if (!cfg->platform[0] && !cfg->backend[0]) {
			it_error_set(err, IT_ERR_INVALID,
				     "model '%s' must specify 'backend' or 'platform'",
				     name);
			goto fail;
		}
		return cfg;
	}
	if (!rm->config) {
		/* Keep the position: "<repo>/m/config.pbtxt:3:5: message". */
		it_error_format(&rm->error, buf, sizeof(buf));
		it_error_set(err, rm->error.code ? rm->error.code : IT_ERR_INVALID,
			     "%s", buf);
		return NULL;
	}
	return model_config_clone(rm->config);
fail:
	model_config_free(cfg);
	return NULL;
}

/*
 * Classifies a failed load's code for the HTTP answer: everything about the
 * request's model or config is the client's problem (400), as in Triton;
 * "cannot serve this yet" stays 501; I/O and internal errors stay 5xx.
 */
static int load_error_code(int code)
{
	switch (code) {
	case IT_ERR_UNSUPPORTED:
	case IT_ERR_IO:
	case IT_ERR_INTERNAL:
		return code;
	default:
		return IT_ERR_INVALID;
	}
}

/*
 * The config and versions a load uses, all checked; NULL with err set
 * ("failed to load 'M': ...") when the load cannot start. *versions is
 * caller-freed.
 */
static struct model_config *prepare_load(const struct repo_model *rm,
					 const char *name,
					 const json_t *override,
					 int64_t **versions, size_t *n_versions,
					 struct it_error *err)
{
	struct model_config *cfg;
	struct it_error e = { 0 };
	const char *unsupported;

	cfg = load_config(rm, name, override, &e);
	if (!cfg) {
		it_error_set(err, load_error_code(e.code), "failed to load '%s': %s",
			     name, e.message);
		return NULL;
	}
	unsupported = model_config_unsupported(cfg);
	if (unsupported) {
		it_error_set(err, IT_ERR_UNSUPPORTED,
			     "failed to load '%s': infertune cannot serve %s yet",
			     name, unsupported);
		model_config_free(cfg);
		return NULL;
	}
	*versions = xcalloc(rm->n_versions ? rm->n_versions : 1, sizeof(**versions));
	*n_versions = select_versions(&cfg->version_policy, rm->versions,
				      rm->n_versions, *versions);
	if (!*n_versions) {
		it_error_set(err, IT_ERR_INVALID,
			     "failed to load '%s': at least one version must be available under the version policy of model '%s' (found %zu version folder(s))",
			     name, name, rm->n_versions);
		model_config_free(cfg);
		free(*versions);
		*versions = NULL;
		return NULL;
	}
	return cfg;
}

/*
 * A load that failed before any version: a model that serves keeps serving
 * (Triton keeps the old model when a reload fails); otherwise the failure is
 * the model's state until the next load.
 */
static void mark_model_failed(struct models *m, struct managed_model *mm,
			      const char *reason)
{
	bool serving = false;

	pthread_mutex_lock(&m->lock);
	for (size_t j = 0; j < mm->n_slots; j++)
		serving |= mm->slots[j].state == MODEL_STATE_READY;
	if (!serving) {
		mm->requested = true;
		set_model_error(mm, reason);
		for (size_t j = 0; j < mm->n_slots; j++)
			slot_set(&mm->slots[j], MODEL_STATE_UNAVAILABLE, mm->error);
	}
	pthread_mutex_unlock(&m->lock);
}

/*
 * Loads every selected version of mm (busy) and swaps them in; versions that
 * were serving are retired once their requests finish, as are versions the
 * policy no longer selects. Returns 0, or the first version's error.
 */
static int install_versions(struct models *m, struct managed_model *mm,
			    const char *model_path,
			    const struct model_config *cfg,
			    const int64_t *versions, size_t n_versions,
			    struct it_error *err)
{
	struct served_model **loaded = xcalloc(n_versions, sizeof(*loaded));
	struct it_error *errors = xcalloc(n_versions, sizeof(*errors));
	struct served_model **retired;
	size_t n_retired = 0, n_failed = 0;
	int rc = 0;

	/* Versions not yet serving show LOADING; serving ones keep serving. */
	pthread_mutex_lock(&m->lock);
	set_model_error(mm, NULL);
	mm->requested = true;
	for (size_t i = 0; i < n_versions; i++) {
		struct version_slot *s = find_or_add_slot(mm, versions[i]);

		if (s->state != MODEL_STATE_READY)
			slot_set(s, MODEL_STATE_LOADING, NULL);
	}
	pthread_mutex_unlock(&m->lock);

	for (size_t i = 0; i < n_versions; i++)
		loaded[i] = version_load(m, mm->name, model_path, cfg, versions[i],
					 &errors[i]);

	/* mm is busy: only this thread adds slots, so n_slots is stable here. */
	retired = xcalloc(n_versions + mm->n_slots + 1, sizeof(*retired));
	pthread_mutex_lock(&m->lock);
	for (size_t i = 0; i < n_versions; i++) {
		struct version_slot *s = find_or_add_slot(mm, versions[i]);

		if (loaded[i]) {
			/* Swap: requests that hold the old version finish on it. */
			if (s->live)
				retired[n_retired++] = s->live;
			s->live = loaded[i];
			slot_set(s, MODEL_STATE_READY, NULL);
			continue;
		}
		/* A failed reload leaves the old version serving. */
		if (s->state != MODEL_STATE_READY)
			slot_set(s, MODEL_STATE_UNAVAILABLE, errors[i].message);
		if (!n_failed++)
			rc = it_error_set(err, load_error_code(errors[i].code),
					  "failed to load '%s' version %" PRId64 ": %s",
					  mm->name, versions[i], errors[i].message);
	}
	/* Versions the (new) policy no longer selects are unloaded, as in Triton. */
	for (size_t j = 0; j < mm->n_slots; j++) {
		struct version_slot *s = &mm->slots[j];
		bool selected = false;

		for (size_t i = 0; i < n_versions; i++)
			selected |= versions[i] == s->version;
		if (selected || !s->live)
			continue;
		retired[n_retired++] = s->live;
		s->live = NULL;
		slot_set(s, MODEL_STATE_UNAVAILABLE, UNLOADED_REASON);
	}
	pthread_mutex_unlock(&m->lock);
	for (size_t k = 0; k < n_retired; k++)
		retire(m, retired[k]);
	free(retired);
	free(errors);
	free(loaded);
	return rc;
}

static int load_model(struct models *m, const char *name,
		      const json_t *override, struct it_error *err)
{
	struct repository *scan = NULL;
	const struct repo_model *rm;
	struct managed_model *mm;
	struct model_config *cfg = NULL;
	int64_t *versions = NULL;
	size_t n_versions = 0;
	struct it_error e = { 0 };
	struct it_error local = { 0 };
	int rc;

	/* The message is also the model's reason in the index: always keep one. */
	if (!err)
		err = &local;
	rc = repository_check_name(name, &e);
	if (rc) {
		rc = it_error_set(err, IT_ERR_INVALID, "failed to load '%s': %s",
				  name, e.message);
		goto out;
	}
	/* Rescan: Model Analyzer writes new model folders, then loads them. */
	rc = repository_scan((const char *const *)m->repos, m->n_repos, &scan, &e);
	if (rc) {
		rc = it_error_set(err, rc, "failed to load '%s': %s", name,
				  e.message);
		goto out;
	}
	rm = repository_find(scan, name);
	if (!rm) {
		rc = it_error_set(err, IT_ERR_INVALID,
				  "failed to load '%s': no model folder '%s' in the model repositories",
				  name, name);
		goto out;
	}
	mm = begin_change(m, name, true);
	if (!mm) {
		rc = it_error_set(err, IT_ERR_STATE,
				  "failed to load '%s': the server is shutting down",
				  name);
		goto out;
	}
	cfg = prepare_load(rm, name, override, &versions, &n_versions, err);
	if (cfg) {
		rc = install_versions(m, mm, rm->path, cfg, versions, n_versions,
				      err);
	} else {
		rc = err->code;
		mark_model_failed(m, mm, err->message);
	}
	end_change(m, mm);
out:
	free(versions);
	model_config_free(cfg);
	repository_free(scan);
	return rc;
}

size_t models_load_startup(struct models *m)
{
	struct repository *scan = NULL;
	size_t failed = 0;
	bool all = m->mode == MODEL_CONTROL_NONE;

	for (size_t i = 0; i < m->n_load_names; i++)
		all |= !strcmp(m->load_names[i], "*");
	if (all) {
		if (repository_scan((const char *const *)m->repos, m->n_repos,
				    &scan, NULL))
			return 1;
		for (size_t i = 0; i < scan->n_models; i++) {
			/* A name in two repositories appears twice: load it once. */
			if (i && !strcmp(scan->models[i].name, scan->models[i - 1].name))
				continue;
			failed += load_model(m, scan->models[i].name, NULL, NULL) != 0;
		}
		repository_free(scan);
		return failed;
	}
	for (size_t i = 0; i < m->n_load_names; i++) {
		struct it_error e = { 0 };

		if (load_model(m, m->load_names[i], NULL, &e)) {
			struct managed_model *mm;

			failed++;
			/* A name with no folder still needs a state to report. */
			pthread_mutex_lock(&m->lock);
			mm = find_or_add_model(m, m->load_names[i]);
			mm->requested = true;
			if (!mm->n_slots && !mm->error)
				set_model_error(mm, e.message);
			pthread_mutex_unlock(&m->lock);
		}
	}
	return failed;
}

int models_load(struct models *m, const char *name,
		const json_t *config_override, struct it_error *err)
{
	if (m->mode != MODEL_CONTROL_EXPLICIT)
		return it_error_set(err, IT_ERR_STATE, POLLING_MESSAGE);
	return load_model(m, name, config_override, err);
}

/* ---- unloading ---- */

/* Unloads every version of mm; caller has made mm busy. */
static void unload_model(struct models *m, struct managed_model *mm)
{
	struct served_model **retired;
	size_t n = 0;

	pthread_mutex_lock(&m->lock);
	retired = xcalloc(mm->n_slots + 1, sizeof(*retired));
	mm->requested = false;
	set_model_error(mm, NULL);
	for (size_t j = 0; j < mm->n_slots; j++) {
		struct version_slot *s = &mm->slots[j];

		if (s->live) {
			/* Refused from now on: acquire only hands out READY versions. */
			retired[n++] = s->live;
			slot_set(s, MODEL_STATE_UNLOADING, NULL);
		} else {
			slot_set(s, MODEL_STATE_UNAVAILABLE, UNLOADED_REASON);
		}
	}
	pthread_mutex_unlock(&m->lock);
	for (size_t k = 0; k < n; k++)
		retire(m, retired[k]);
	pthread_mutex_lock(&m->lock);
	for (size_t j = 0; j < mm->n_slots; j++) {
		struct version_slot *s = &mm->slots[j];

		if (s->live) {
			s->live = NULL;
			slot_set(s, MODEL_STATE_UNAVAILABLE, UNLOADED_REASON);
		}
	}
	pthread_mutex_unlock(&m->lock);
	free(retired);
}

int models_unload(struct models *m, const char *name, struct it_error *err)
{
	struct managed_model *mm;
	struct repository *scan = NULL;
	bool known;

	if (m->mode != MODEL_CONTROL_EXPLICIT)
		return it_error_set(err, IT_ERR_STATE, POLLING_MESSAGE);
	if (repository_check_name(name, NULL))
		return it_error_set(err, IT_ERR_INVALID,
				    "failed to unload '%s': invalid model name",
				    name);
	pthread_mutex_lock(&m->lock);
	known = find_model(m, name, NULL) != NULL;
	pthread_mutex_unlock(&m->lock);
	if (!known) {
		/* Never loaded: fine if the folder exists (nothing to do), else unknown. */
		if (!repository_scan((const char *const *)m->repos, m->n_repos,
				     &scan, NULL))
			known = repository_find(scan, name) != NULL;
		repository_free(scan);
		if (!known)
			return it_error_set(err, IT_ERR_INVALID,
					    "failed to unload '%s': no such model",
					    name);
		return 0;
	}
	mm = begin_change(m, name, false);
	unload_model(m, mm);
	end_change(m, mm);
	return 0;
}

void models_unload_all(struct models *m)
{
	size_t n;

	pthread_mutex_lock(&m->lock);
	m->shutting_down = true;
	n = m->n_models;
	pthread_mutex_unlock(&m->lock);
	/*
	 * Models are only ever added (never removed) and kept sorted, so index
	 * i may shift; walk by name instead of by index.
	 */
	for (size_t i = 0; i < n; i++) {
		struct managed_model *mm;
		char *name;

		pthread_mutex_lock(&m->lock);
		name = i < m->n_models ? xstrdup(m->models[i]->name) : NULL;
		pthread_mutex_unlock(&m->lock);
		if (!name)
			break;
		mm = begin_change(m, name, false);
		unload_model(m, mm);
		end_change(m, mm);
		free(name);
	}
}

void models_free(struct models *m)
{
	if (!m)
		return;
	models_unload_all(m);
	for (size_t i = 0; i < m->n_models; i++) {
		struct managed_model *mm = m->models[i];

		for (size_t j = 0; j < mm->n_slots; j++)
			free(mm->slots[j].reason);
		free(mm->slots);
		free(mm->error);
		free(mm->name);
		free(mm);
	}
	free(m->models);
	for (size_t i = 0; i < m->n_repos; i++)
		free(m->repos[i]);
	free(m->repos);
	for (size_t i = 0; i < m->n_load_names; i++)
		free(m->load_names[i]);
	free(m->load_names);
	pthread_cond_destroy(&m->cond);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

/* ---- requests ---- */

/* Locked. The slot a request for name/version would use, or an error. */
static int lookup_locked(struct models *m, const char *name, int64_t version,
			 struct version_slot **out, struct it_error *err)
{
	struct managed_model *mm = find_model(m, name, NULL);
	struct version_slot *busy = NULL;

	if (!mm || (!mm->n_slots && !mm->requested))
		return it_error_set(err, IT_ERR_INVALID,
				    "Request for unknown model: '%s' is not found",
				    name);
	if (version < 0) {
		for (size_t j = mm->n_slots; j-- > 0;) {
			struct version_slot *s = &mm->slots[j];

			if (s->state == MODEL_STATE_READY) {
				*out = s;
				return 0;
			}
			if (s->state == MODEL_STATE_LOADING ||
			    s->state == MODEL_STATE_UNLOADING)
				busy = s;
		}
		/* Triton answers NOT_FOUND here; say 503 while a change is under way. */
		if (busy)
			return it_error_set(err, IT_ERR_STATE,
					    "Request for unknown model: '%s' has no available versions (version %s is %s)",
					    name, busy->version_str,
					    model_state_name(busy->state));
		return it_error_set(err, IT_ERR_NOT_FOUND,
				    "Request for unknown model: '%s' has no available versions",
				    name);
	}
	*out = find_slot(mm, version);
	if (!*out)
		return it_error_set(err, IT_ERR_NOT_FOUND,
				    "Request for unknown model: '%s' version %" PRId64 " is not found",
				    name, version);
	if ((*out)->state != MODEL_STATE_READY)
		return it_error_set(err, IT_ERR_STATE,
				    "'%s' version %" PRId64 " is not at ready state (%s)",
				    name, version, model_state_name((*out)->state));
	return 0;
}

int models_acquire(struct models *m, const char *name, int64_t version,
		   struct served_model **out, struct it_error *err)
{
	struct version_slot *s = NULL;
	int rc;

	pthread_mutex_lock(&m->lock);
	rc = lookup_locked(m, name, version, &s, err);
	if (!rc) {
		s->live->refs++;
		*out = s->live;
	}
	pthread_mutex_unlock(&m->lock);
	return rc;
}

void served_model_release(struct served_model *sm)
{
	struct models *m;

	if (!sm)
		return;
	m = sm->owner;
	pthread_mutex_lock(&m->lock);
	sm->refs--;
	/* After the last release of a retiring version, sm may be freed at once. */
	if (!sm->refs && sm->retiring)
		pthread_cond_broadcast(&m->cond);
	pthread_mutex_unlock(&m->lock);
}

const struct model_config *served_model_config(const struct served_model *sm)
{
	return sm->config;
}

const char *served_model_name(const struct served_model *sm)
{
	return sm->name;
}

const char *served_model_version(const struct served_model *sm)
{
	return sm->version_str;
}

struct model_stats *served_model_stats(struct served_model *sm)
{
	return sm->stats;
}

int served_model_enqueue(struct served_model *sm, struct infer_request *req,
			 struct it_error *err)
{
	return scheduler_enqueue(sm->sched, req, err);
}

bool models_is_ready(struct models *m, const char *name, int64_t version)
{
	struct version_slot *s;
	bool ready;

	pthread_mutex_lock(&m->lock);
	ready = lookup_locked(m, name, version, &s, NULL) == 0;
	pthread_mutex_unlock(&m->lock);
	return ready;
}

bool models_all_ready(struct models *m)
{
	bool ready = true;

	pthread_mutex_lock(&m->lock);
	if (m->shutting_down)
		ready = false;
	for (size_t i = 0; ready && i < m->n_models; i++) {
		const struct managed_model *mm = m->models[i];

		/* A change under way (even an unload) is "not ready" until it ends. */
		for (size_t j = 0; ready && j < mm->n_slots; j++)
			ready = mm->slots[j].state != MODEL_STATE_LOADING &&
				mm->slots[j].state != MODEL_STATE_UNLOADING;
		if (!mm->requested)
			continue;
		if (mm->error)
			ready = false;
		for (size_t j = 0; ready && j < mm->n_slots; j++) {
			const struct version_slot *s = &mm->slots[j];

			if (s->state == MODEL_STATE_READY)
				continue;
			if (s->state == MODEL_STATE_UNAVAILABLE && s->reason &&
			    !strcmp(s->reason, UNLOADED_REASON))
				continue;
			ready = false;
		}
	}
	pthread_mutex_unlock(&m->lock);
	return ready;
}

void models_foreach_state(struct models *m,
			  void (*fn)(void *arg, const char *name,
				     const char *version,
				     enum model_state state,
				     const char *reason),
			  void *arg)
{
	/* Copy under the lock, call without it: fn may log slowly. */
	json_t *index = models_index_json(m, false);
	size_t i;
	json_t *e;

	json_array_foreach(index, i, e) {
		const char *version = json_string_value(json_object_get(e, "version"));
		const char *state = json_string_value(json_object_get(e, "state"));
		const char *reason = json_string_value(json_object_get(e, "reason"));
		enum model_state st = MODEL_STATE_UNKNOWN;

		if (!state)
			continue; /* never asked to load */
		for (int k = MODEL_STATE_UNKNOWN; k <= MODEL_STATE_UNLOADING; k++)
			if (!strcmp(state, model_state_name((enum model_state)k)))
				st = (enum model_state)k;
		fn(arg, json_string_value(json_object_get(e, "name")), version,
		   st, reason ? reason : "");
	}
	json_decref(index);
}

/* ---- JSON views ---- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

json_t *models_index_json(struct models *m, bool ready_only)
{
	struct repository *scan = NULL;
	json_t *arr = json_array();
	char **names = NULL;
	size_t n_names = 0, alloc = 0;

	/* Triton lists the repositories' folders at each call, plus what is loaded. */
	if (!repository_scan((const char *const *)m->repos, m->n_repos, &scan,
			     NULL)) {
		for (size_t i = 0; i < scan->n_models; i++) {
			XGROW(names, alloc, n_names + 1);
			names[n_names++] = xstrdup(scan->models[i].name);
		}
	}
	repository_free(scan);
	pthread_mutex_lock(&m->lock);
	for (size_t i = 0; i < m->n_models; i++) {
		XGROW(names, alloc, n_names + 1);
		names[n_names++] = xstrdup(m->models[i]->name);
	}
	if (n_names)
		qsort(names, n_names, sizeof(*names), cmp_str);
	for (size_t i = 0; i < n_names; i++) {
		const struct managed_model *mm;

		if (i && !strcmp(names[i], names[i - 1]))
			continue;
		mm = find_model(m, names[i], NULL);
		if (mm && mm->n_slots) {
			for (size_t j = 0; j < mm->n_slots; j++) {
				const struct version_slot *s = &mm->slots[j];
				json_t *e;

				if (ready_only && s->state != MODEL_STATE_READY)
					continue;
				e = json_pack("{s:s, s:s, s:s}", "name", mm->name,
					      "version", s->version_str, "state",
					      model_state_name(s->state));
				if (s->reason)
					json_object_set_new(e, "reason",
							    json_string(s->reason));
				json_array_append_new(arr, e);
			}
		} else if (mm && mm->error) {
			if (!ready_only)
				json_array_append_new(arr,
					json_pack("{s:s, s:s, s:s}", "name", mm->name,
						  "state", "UNAVAILABLE",
						  "reason", mm->error));
		} else if (!ready_only) {
			json_array_append_new(arr, json_pack("{s:s}", "name", names[i]));
		}
	}
	pthread_mutex_unlock(&m->lock);
	for (size_t i = 0; i < n_names; i++)
		free(names[i]);
	free(names);
	return arr;
}

static json_t *tensor_metadata(const struct model_tensor *t, bool batched)
{
	json_t *shape = json_array();

	/* The batch dimension is not in the config's dims (protocol.md §1.3). */
	if (batched)
		json_array_append_new(shape, json_integer(-1));
	for (size_t d = 0; d < t->n_dims; d++)
		json_array_append_new(shape, json_integer(t->dims[d]));
	return json_pack("{s:s, s:s, s:o}", "name", t->name, "datatype",
			 datatype_protocol_name(t->data_type), "shape", shape);
}

int models_metadata_json(struct models *m, const char *name, int64_t version,
			 json_t **out, struct it_error *err)
{
	struct served_model *sm = NULL;
	const struct model_config *cfg;
	json_t *versions, *inputs, *outputs;
	bool batched;
	int rc;

	rc = models_acquire(m, name, version, &sm, err);
	if (rc)
		return rc;
	versions = json_array();
	if (version >= 0) {
		json_array_append_new(versions, json_string(sm->version_str));
	} else {
		struct managed_model *mm;

		pthread_mutex_lock(&m->lock);
		mm = find_model(m, name, NULL);
		for (size_t j = 0; mm && j < mm->n_slots; j++)
			if (mm->slots[j].state == MODEL_STATE_READY)
				json_array_append_new(versions,
					json_string(mm->slots[j].version_str));
		pthread_mutex_unlock(&m->lock);
	}
	cfg = sm->config;
	batched = cfg->max_batch_size > 0;
	inputs = json_array();
	for (size_t i = 0; i < cfg->n_inputs; i++)
		json_array_append_new(inputs, tensor_metadata(&cfg->inputs[i], batched));
	outputs = json_array();
	for (size_t i = 0; i < cfg->n_outputs; i++)
		json_array_append_new(outputs, tensor_metadata(&cfg->outputs[i], batched));
	*out = json_pack("{s:s, s:o, s:s, s:o, s:o}", "name", sm->name,
			 "versions", versions, "platform",
			 cfg->platform[0] ? cfg->platform : cfg->backend,
			 "inputs", inputs, "outputs", outputs);
	served_model_release(sm);
	return 0;
}

/*
 * Takes a reference to every READY version matching name (NULL = all) and
 * version (-1 = all). Caller releases each and frees the array.
 */
static size_t collect_ready(struct models *m, const char *name,
			    int64_t version, struct served_model ***out)
{
	struct served_model **list = NULL;
	size_t n = 0, alloc = 0;

	pthread_mutex_lock(&m->lock);
	for (size_t i = 0; i < m->n_models; i++) {
		struct managed_model *mm = m->models[i];

		if (name && strcmp(mm->name, name))
			continue;
		for (size_t j = 0; j < mm->n_slots; j++) {
			struct version_slot *s = &mm->slots[j];

			if (s->state != MODEL_STATE_READY ||
			    (version >= 0 && s->version != version))
				continue;
			s->live->refs++;
			XGROW(list, alloc, n + 1);
			list[n++] = s->live;
		}
	}
	pthread_mutex_unlock(&m->lock);
	*out = list;
	return n;
}

int models_stats_json(struct models *m, const char *name, int64_t version,
		      json_t **out, struct it_error *err)
{
	struct served_model **list = NULL;
	json_t *arr;
	size_t n;

	n = collect_ready(m, name, version, &list);
	if (name && !n) {
		free(list);
		return it_error_set(err, IT_ERR_INVALID,
				    "requested model '%s' is not available", name);
	}
	arr = json_array();
	for (size_t i = 0; i < n; i++) {
		json_array_append_new(arr, stats_to_json(list[i]->stats,
							 list[i]->name,
							 list[i]->version_str));
		served_model_release(list[i]);
	}
	free(list);
	*out = json_pack("{s:o}", "model_stats", arr);
	return 0;
}

void models_stats_snapshots(struct models *m,
			    struct models_version_stats **out, size_t *n_out)
{
	struct served_model **list = NULL;
	struct models_version_stats *v;
	size_t n;

	n = collect_ready(m, NULL, -1, &list);
	v = xcalloc(n ? n : 1, sizeof(*v));
	for (size_t i = 0; i < n; i++) {
		v[i].name = xstrdup(list[i]->name);
		v[i].version = xstrdup(list[i]->version_str);
		stats_snapshot(list[i]->stats, &v[i].snap);
		v[i].queue_length = scheduler_queue_length(list[i]->sched);
		served_model_release(list[i]);
	}
	free(list);
	*out = v;
	*n_out = n;
}

void models_version_stats_free(struct models_version_stats *v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].version);
		free(v[i].snap.batches);
	}
	free(v);
}
