/*
 * Model repository scanning. Folder names are taken only from readdir() and
 * re-checked with repository_check_name(), and version folders must be
 * canonical positive integers, so no path built here leaves the repository.
 */
#include "model/repository.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/config.h"
#include "pbtxt/pbtxt.h"
#include "util/fs.h"
#include "util/xalloc.h"
#include "util/banned.h"

int repository_check_name(const char *name, struct it_error *err)
{
	if (strlen(name) > REPOSITORY_NAME_MAX)
		return it_error_set(err, IT_ERR_INVALID,
				    "model name is longer than %d bytes",
				    REPOSITORY_NAME_MAX);
	return fs_check_component(name, "model name", err);
}

const char *repository_default_filename(const char *platform,
					const char *backend)
{
	static const struct {
		const char *platform;
		const char *backend;
		const char *file;
	} table[] = {
		{ "pytorch_libtorch", "pytorch", "model.pt" },
		{ "libtorch", NULL, "model.pt" },
		{ "torch_aoti", NULL, "model.pt2" },
		{ "onnxruntime_onnx", "onnxruntime", "model.onnx" },
		{ "tensorrt_plan", "tensorrt", "model.plan" },
		{ "tensorflow_savedmodel", NULL, "model.savedmodel" },
		{ "tensorflow_graphdef", NULL, "model.graphdef" },
		{ NULL, "openvino", "model.xml" },
		{ NULL, "python", "model.py" },
	};

	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		if (platform && platform[0] && table[i].platform &&
		    !strcmp(platform, table[i].platform))
			return table[i].file;
	}
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		if (backend && backend[0] && table[i].backend &&
		    !strcmp(backend, table[i].backend))
			return table[i].file;
	}
	return NULL;
}

/* A version folder name: digits only, no leading zero, fits int64. */
static bool parse_version(const char *s, int64_t *out)
{
	char *end;
	long long v;

	if (s[0] < '1' || s[0] > '9')
		return false;
	for (const char *p = s; *p; p++)
		if (*p < '0' || *p > '9')
			return false;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end)
		return false;
	*out = v;
	return true;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a;
	int64_t y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

static void scan_versions(struct repo_model *m)
{
	size_t alloc = 0;
	struct dirent *de;
	DIR *d = opendir(m->path);

	if (!d)
		return;
	while ((de = readdir(d)) != NULL) {
		char *sub;
		int64_t v;

		if (!parse_version(de->d_name, &v))
			continue;
		sub = fs_join(m->path, de->d_name);
		if (fs_is_dir(sub)) {
			XGROW(m->versions, alloc, m->n_versions + 1);
			m->versions[m->n_versions++] = v;
		}
		free(sub);
	}
	closedir(d);
	if (m->n_versions)
		qsort(m->versions, m->n_versions, sizeof(*m->versions), cmp_i64);
}

static bool has_version(const struct repo_model *m, int64_t v)
{
	for (size_t i = 0; i < m->n_versions; i++)
		if (m->versions[i] == v)
			return true;
	return false;
}

static void select_versions(struct repo_model *m)
{
	const struct model_version_policy *p = &m->config->version_policy;
	size_t first = 0;

	m->served = xcalloc(m->n_versions ? m->n_versions : 1, sizeof(int64_t));
	switch (p->kind) {
	case VERSION_POLICY_ALL:
		memcpy(m->served, m->versions, m->n_versions * sizeof(int64_t));
		m->n_served = m->n_versions;
		break;
	case VERSION_POLICY_SPECIFIC:
		for (size_t i = 0; i < m->n_versions; i++) {
			for (size_t j = 0; j < p->n_versions; j++) {
				if (p->versions[j] == m->versions[i]) {
					m->served[m->n_served++] = m->versions[i];
					break;
				}
			}
		}
		break;
	case VERSION_POLICY_LATEST:
		if (m->n_versions > p->latest_num_versions)
			first = m->n_versions - p->latest_num_versions;
		for (size_t i = first; i < m->n_versions; i++)
			m->served[m->n_served++] = m->versions[i];
		break;
	}
}

static const char *policy_text(const struct model_version_policy *p,
			       char *buf, size_t size)
{
	switch (p->kind) {
	case VERSION_POLICY_ALL:
		snprintf(buf, size, "all");
		break;
	case VERSION_POLICY_SPECIFIC:
		snprintf(buf, size, "specific (%zu listed)", p->n_versions);
		break;
	case VERSION_POLICY_LATEST:
		snprintf(buf, size, "latest %u", (unsigned)p->latest_num_versions);
		break;
	}
	return buf;
}

/* Loads one model folder's config and versions; problems go to m->error. */
static void load_model(struct repo_model *m)
{
	char *cfg_path = fs_join(m->path, "config.pbtxt");
	struct model_config *cfg = NULL;
	char buf[64];

	if (repository_check_name(m->name, &m->error)) {
		it_error_prefix(&m->error, "%s", m->path);
		goto out;
	}
	scan_versions(m);
	if (!fs_is_file(cfg_path)) {
		it_error_at(&m->error, IT_ERR_NOT_FOUND, cfg_path, 0, 0,
			    "model '%s' has no config.pbtxt", m->name);
		goto out;
	}
	cfg = model_config_load_file(cfg_path, &m->error);
	if (!cfg)
		goto out;
	if (!cfg->name[0]) {
		/* Triton: the name defaults to the folder name. */
		if (model_config_set_name(cfg, m->name, &m->error))
			goto out;
	} else if (strcmp(cfg->name, m->name)) {
		const struct pbtxt_node *n = pbtxt_node_find(cfg->tree, "name");

		it_error_at(&m->error, IT_ERR_INVALID, cfg_path, n->value_line,
			    n->value_col,
			    "model name '%s' in config.pbtxt does not match its folder '%s'",
			    cfg->name, m->name);
		goto out;
	}
	if (!cfg->platform[0] && !cfg->backend[0]) {
		it_error_at(&m->error, IT_ERR_INVALID, cfg_path, 0, 0,
			    "model '%s' must specify 'backend' or 'platform'",
			    m->name);
		goto out;
	}
	m->config = cfg;
	cfg = NULL;
	select_versions(m);
	if (!m->n_served) {
		it_error_at(&m->error, IT_ERR_NOT_FOUND, m->path, 0, 0,
			    "model '%s' has no version folder that its version policy (%s) selects; found %zu version folder(s)",
			    m->name,
			    policy_text(&m->config->version_policy, buf, sizeof(buf)),
			    m->n_versions);
		model_config_free(m->config);
		m->config = NULL;
		goto out;
	}
	m->model_filename = m->config->default_model_filename[0] ?
		m->config->default_model_filename :
		repository_default_filename(m->config->platform,
					    m->config->backend);
out:
	model_config_free(cfg);
	free(cfg_path);
}

static int cmp_model(const void *a, const void *b)
{
	const struct repo_model *x = a;
	const struct repo_model *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : strcmp(x->repository, y->repository);
}

static int scan_one(const char *dir, struct repository *repo, size_t *alloc,
		    struct it_error *err)
{
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d)
		return it_error_at(err, errno == ENOENT ? IT_ERR_NOT_FOUND : IT_ERR_IO,
				   dir, 0, 0, "cannot open model repository: %s",
				   strerror(errno));
	while ((de = readdir(d)) != NULL) {
		struct repo_model *m;
		char *path;

		/* Hidden entries (., .., .git, editor files) are not models. */
		if (de->d_name[0] == '.')
			continue;
		path = fs_join(dir, de->d_name);
		if (!fs_is_dir(path)) {
			free(path);
			continue;
		}
		XGROW(repo->models, *alloc, repo->n_models + 1);
		m = &repo->models[repo->n_models++];
		memset(m, 0, sizeof(*m));
		m->name = xstrdup(de->d_name);
		m->path = path;
		m->repository = xstrdup(dir);
	}
	closedir(d);
	return 0;
}

int repository_scan(const char *const *dirs, size_t n_dirs,
		    struct repository **out, struct it_error *err)
{
	struct repository *repo = xcalloc(1, sizeof(*repo));
	size_t alloc = 0;
	int rc = 0;

	for (size_t i = 0; i < n_dirs; i++) {
		rc = scan_one(dirs[i], repo, &alloc, err);
		if (rc)
			goto out;
	}
	if (repo->n_models)
		qsort(repo->models, repo->n_models, sizeof(*repo->models),
		      cmp_model);
	for (size_t i = 0; i < repo->n_models; i++) {
		struct repo_model *m = &repo->models[i];
		bool dup = (i > 0 && !strcmp(m[-1].name, m->name)) ||
			   (i + 1 < repo->n_models && !strcmp(m[1].name, m->name));

		if (dup) {
			it_error_at(&m->error, IT_ERR_INVALID, m->path, 0, 0,
				    "model '%s' exists in more than one model repository",
				    m->name);
			continue;
		}
		load_model(m);
	}
	*out = repo;
	repo = NULL;
out:
	repository_free(repo);
	return rc;
}

void repository_free(struct repository *repo)
{
	if (!repo)
		return;
	for (size_t i = 0; i < repo->n_models; i++) {
		struct repo_model *m = &repo->models[i];

		free(m->name);
		free(m->path);
		free(m->repository);
		model_config_free(m->config);
		free(m->versions);
		free(m->served);
	}
	free(repo->models);
	free(repo);
}

const struct repo_model *repository_find(const struct repository *repo,
					 const char *name)
{
	for (size_t i = 0; i < repo->n_models; i++)
		if (!strcmp(repo->models[i].name, name))
			return &repo->models[i];
	return NULL;
}

char *repository_model_file(const struct repo_model *model, int64_t version)
{
	char vbuf[32];
	char *vdir;
	char *path;

	if (!model->model_filename || !has_version(model, version))
		return NULL;
	snprintf(vbuf, sizeof(vbuf), "%" PRId64, version);
	vdir = fs_join(model->path, vbuf);
	path = fs_join(vdir, model->model_filename);
	free(vdir);
	return path;
}
