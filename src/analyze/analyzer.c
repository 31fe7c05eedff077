/*
 * The run driver. Invariants that make --resume exact:
 *  - a variant is identified by its configuration (the canonical JSON
 *    without the name), so the same point always maps to the same variant
 *    and name;
 *  - a measurement is identified by (variant, measurement settings, client
 *    batch, load kind, load value); before measuring, the store is asked,
 *    and a stored measurement is used exactly as a fresh one would be;
 *  - every decision (the search's, the sweep's early exit, a failure that
 *    ends a sweep) is taken from those figures only.
 * A measurement is committed before the next one starts; an interrupted
 * one is never stored.
 */
#include "analyze/analyzer.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "analyze/client.h"
#include "analyze/objective.h"
#include "analyze/options.h"
#include "analyze/outputs.h"
#include "analyze/sampler.h"
#include "analyze/search.h"
#include "analyze/server_proc.h"
#include "loadgen/profiler.h"
#include "metrics/collector.h"
#include "metrics/machine.h"
#include "metrics/prometheus.h"
#include "model/config.h"
#include "model/repository.h"
#include "model/schema.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/strbuf.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define WARMUP_REQUESTS 10
#define CONTROL_TIMEOUT_MS 15000
#define LOAD_TIMEOUT_MS (30L * 60 * 1000)
#define SAMPLE_INTERVAL_MS 50
#define EARLY_EXIT_POINTS 4      /* THROUGHPUT_MINIMUM_CONSECUTIVE_*_TRIES */
#define EARLY_EXIT_GAIN 0.05     /* THROUGHPUT_MINIMUM_GAIN */
#define READY_WAIT_S 30.0

/* Everything known about one model of the run. */
struct model_ctx {
	const struct model_spec *spec;
	const char *name;
	struct model_config *base;      /* the default configuration (its own name) */
	char *base_pbtxt;
	char *base_json;
	char *source_dir;               /* <repository>/<name>; NULL when remote without files */
	char *repository;
	int64_t model_id;
	struct objective_set obj;
	struct perf_settings ps;
	char profile_key[512];
	struct search_space space;
	int32_t threads[16];
	size_t n_threads;
	enum instance_kind kind;
	bool list_given;                /* concurrency or rate list given: no early exit by default */
	struct u64_list concurrency;    /* borrowed */
	struct f64_list rates;          /* borrowed */
	struct u64_list batches;        /* borrowed */
};

struct analyzer {
	const struct analyzer_config *cfg;
	const struct analyze_options *o;
	char *export_path;
	char *results_dir;
	char *db_path;
	char *out_repo;
	char *log_path;
	char *port_file;
	struct store *store;
	bool resumed;
	int64_t run_id;
	struct repository *repo;
	struct model_ctx *models;
	size_t n_models;
	struct server_proc *proc;
	struct server_client *client;
	char *server_url;
	char *metrics_url;
	bool collect_metrics;
	struct sampler *sampler;
	char **gpus;
	size_t n_gpus;
	bool server_dirty;              /* embedded: a variant was loaded since the start */
	bool remote_loaded;
	struct analyze_summary summary;
	struct analyze_progress prog;
	double t_start;
	double fresh_s;                 /* time spent in fresh measurements */
	size_t fresh_n;
	size_t levels_done;             /* levels (fresh or reused) of finished points */
	size_t points_done;
	int lock_fd;                    /* flock on <export>/.analyze.lock */
	const struct search *search;    /* the search in progress (for the estimate) */
	bool fatal;                     /* the server cannot be reached any more */
	char fatal_msg[IT_ERROR_MESSAGE_MAX];
};

/* ---- small helpers ------------------------------------------------------------ */

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool interrupted(const struct analyzer *a)
{
	return a->cfg->interrupt && *a->cfg->interrupt;
}

static void update_clock(struct analyzer *a)
{
	a->prog.elapsed_s = mono_s() - a->t_start;
	a->prog.measured = a->summary.measured;
	a->prog.reused = a->summary.reused;
}

static void emit(struct analyzer *a, enum analyze_event_kind kind, int level,
		 const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void emit(struct analyzer *a, enum analyze_event_kind kind, int level,
		 const char *fmt, ...)
{
	struct analyze_event ev;
	char msg[2048];
	va_list ap;

	if (!a->cfg->on_event)
		return;
	msg[0] = '\0';
	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
	}
	update_clock(a);
	memset(&ev, 0, sizeof(ev));
	ev.kind = kind;
	ev.level = level;
	ev.message = msg;
	ev.progress = &a->prog;
	a->cfg->on_event(a->cfg->ctx, &ev);
}

static double eta(struct analyzer *a, const struct search *s);

static void emit_event(struct analyzer *a, struct analyze_event *ev)
{
	if (!a->cfg->on_event)
		return;
	update_clock(a);
	if (a->search && (ev->kind == AEV_MEASUREMENT || ev->kind == AEV_VARIANT_START))
		a->prog.eta_s = eta(a, a->search);
	ev->progress = &a->prog;
	if (!ev->message)
		ev->message = "";
	a->cfg->on_event(a->cfg->ctx, ev);
}

static char *absolute(const char *path)
{
	char *real = realpath(path, NULL);
	char cwd[4096];

	if (real)
		return real;
	if (path[0] == '/' || !getcwd(cwd, sizeof(cwd)))
		return xstrdup(path);
	return fs_join(cwd, path);
}

/* ---- the server ------------------------------------------------------------- */

static void server_close(struct analyzer *a, bool at_once)
{
	server_client_free(a->client);
	a->client = NULL;
	if (a->proc) {
		if (at_once)
			server_proc_kill_now(a->proc);
		server_proc_stop(a->proc);
		a->proc = NULL;
	}
	free(a->server_url);
	free(a->metrics_url);
	a->server_url = NULL;
	a->metrics_url = NULL;
	a->server_dirty = false;
}

/* Starts a fresh embedded server (nothing loaded). */
static int server_start(struct analyzer *a, struct it_error *err)
{
	struct server_proc_options po;
	int rc;

	server_close(a, false);
	memset(&po, 0, sizeof(po));
	po.exe = a->cfg->exe;
	po.model_repository = a->out_repo;
	po.log_path = a->log_path;
	po.port_file = a->port_file;
	po.start_timeout_s = 60;
	po.stop_timeout_s = 10;
	rc = server_proc_start(&po, &a->proc, err);
	if (rc)
		return rc;
	a->server_url = xstrdup(server_proc_url(a->proc));
	a->metrics_url = xstrdup(server_proc_metrics_url(a->proc));
	a->client = server_client_new(a->server_url, CONTROL_TIMEOUT_MS, LOAD_TIMEOUT_MS);
	server_client_set_cancel(a->client, a->cfg->interrupt);
	if (a->sampler)
		sampler_set_pid(a->sampler, server_proc_pid(a->proc));
	rc = server_client_live(a->client, err);
	if (rc)
		it_error_prefix(err, "the embedded server started but does not answer");
	return rc;
}

/*
 * True when the server can still be reached; fills *how when it died. A
 * crashing child takes a moment to exit after its sockets reset, so the
 * embedded check waits up to a second for the exit to show.
 */
static bool server_alive(struct analyzer *a, char *how, size_t size)
{
	if (a->proc) {
		double deadline = mono_s() + 1.0;

		while (server_proc_alive(a->proc, how, size)) {
			struct timespec ts = { 0, 10000000 };

			if (!server_client_live(a->client, NULL) || mono_s() > deadline)
				return true;
			nanosleep(&ts, NULL);
		}
		return false;
	}
	if (server_client_live(a->client, NULL)) {
		snprintf(how, size, "does not answer at %s", a->server_url);
		return false;
	}
	return true;
}

/* GPU UUIDs from a Prometheus page (nv_gpu_* series carry gpu_uuid). */
static void gpus_from_page(struct analyzer *a, const char *text, size_t len)
{
	struct prom_page *page = NULL;

	if (prometheus_parse(text, len, "metrics", &page, NULL))
		return;
	for (size_t i = 0; i < page->n_samples; i++) {
		const struct prom_sample *s = &page->samples[i];
		const char *uuid = prometheus_label(s, "gpu_uuid");
		bool known = false;

		if (!uuid || strncmp(s->name, "nv_gpu_", 7))
			continue;
		for (size_t g = 0; g < a->n_gpus; g++)
			known = known || !strcmp(a->gpus[g], uuid);
		if (!known) {
			a->gpus = xreallocarray(a->gpus, a->n_gpus + 1, sizeof(*a->gpus));
			a->gpus[a->n_gpus++] = xstrdup(uuid);
		}
	}
	prometheus_page_free(page);
}

/* Which GPUs the server has: NVML here (embedded) or its metrics page (remote). */
static void find_gpus(struct analyzer *a)
{
	struct strbuf page;

	if (a->o->server_mode == ANALYZE_SERVER_EMBEDDED) {
		struct collectors *c = collectors_open();
		struct metrics_reading r;

		collectors_read(c, &r);
		for (size_t g = 0; g < r.n_gpus; g++) {
			a->gpus = xreallocarray(a->gpus, a->n_gpus + 1, sizeof(*a->gpus));
			a->gpus[a->n_gpus++] = xstrdup(r.gpus[g].uuid);
		}
		collectors_free(c);
		return;
	}
	strbuf_init(&page, 0);
	if (!server_client_get_url(a->client, a->metrics_url, &page, NULL))
		gpus_from_page(a, page.buf, page.len);
	strbuf_release(&page);
}

/* ---- preflight -------------------------------------------------------------- */

static void model_ctx_release(struct model_ctx *m)
{
	model_config_free(m->base);
	free(m->base_pbtxt);
	free(m->base_json);
	free(m->source_dir);
	free(m->repository);
	perf_settings_release(&m->ps);
}

static char *config_text(const struct model_config *cfg)
{
	struct strbuf sb;

	strbuf_init(&sb, 0);
	model_config_print(cfg, &sb);
	return strbuf_detach(&sb, NULL);
}

static char *config_json_text(const struct model_config *cfg, unsigned flags)
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
	key = config_json_text(c, 0);
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

static int32_t total_instances(const struct model_config *cfg)
{
	int32_t n = 0;

	for (size_t i = 0; i < cfg->n_instance_groups; i++)
		n += cfg->instance_groups[i].count;
	return n ? n : 1;
}

/*
 * Builds the configuration of a search point: the default with the point's
 * edits (manual overlay, instance group, max_batch_size with dynamic
 * batching, intra-op threads). Caller frees *out.
 */
static int build_config(const struct model_ctx *mc, const struct search_point *pt,
			struct model_config **out, struct it_error *err)
{
	struct model_config *cfg = model_config_clone(mc->base);
	int rc = 0;

	if (pt->is_default)
		goto done;
	if (pt->manual >= 0 && (size_t)pt->manual < mc->spec->manual.n_overlays) {
		json_t *j = model_config_to_json(cfg, 0);
		struct model_config *merged;

		json_merge(j, mc->spec->manual.overlays[pt->manual]);
		merged = model_config_from_json(j, "model_config_parameters", err);
		json_decref(j);
		if (!merged) {
			rc = IT_ERR_INVALID;
			goto out;
		}
		model_config_free(cfg);
		cfg = merged;
	}
	if (pt->instance_count) {
		rc = model_config_set_instance_group(cfg, mc->kind, pt->instance_count, NULL,
						     0, err);
		if (rc)
			goto out;
	}
	if (pt->max_batch_size) {
		/*
		 * Automatic and quick search set `dynamic_batching {}` (Model
		 * Analyzer's param combo): no preferred sizes, no delay, so no
		 * preferred size can exceed the new max_batch_size. Manual sets
		 * only max_batch_size.
		 */
		if (pt->manual < 0) {
			rc = model_config_set_dynamic_batching(cfg, NULL, 0, 0, err);
			if (rc)
				goto out;
		}
		rc = model_config_set_max_batch_size(cfg, pt->max_batch_size, err);
		if (rc)
			goto out;
	}
	if (pt->threads) {
		char v[16];

		snprintf(v, sizeof(v), "%d", pt->threads);
		rc = model_config_set_parameter(cfg, "INTRA_OP_THREAD_COUNT", v, err);
		if (rc)
			goto out;
	}
done:
	*out = cfg;
	cfg = NULL;
out:
	model_config_free(cfg);
	return rc;
}

static bool is_pytorch(const struct model_config *cfg)
{
	return (cfg->platform && (!strcmp(cfg->platform, "pytorch_libtorch") ||
				  !strcmp(cfg->platform, "libtorch"))) ||
	       (cfg->backend && !strcmp(cfg->backend, "pytorch"));
}

/* The default configuration of a remote model, read from the server. */
static int remote_default_config(struct analyzer *a, const char *name,
				 struct model_config **out, struct it_error *err)
{
	struct strbuf body;
	int rc;

	rc = server_client_load(a->client, name, NULL, err);
	if (rc) {
		it_error_prefix(err, "model '%s' on %s", name, a->server_url);
		return rc;
	}
	strbuf_init(&body, 0);
	rc = server_client_config(a->client, name, &body, err);
	if (!rc) {
		*out = model_config_from_json_text(body.buf, body.len, name, err);
		if (!*out)
			rc = err ? err->code : IT_ERR_INVALID;
	}
	strbuf_release(&body);
	server_client_unload(a->client, name, NULL);
	return rc;
}

static int prepare_model(struct analyzer *a, struct model_ctx *mc,
			 const struct model_spec *spec, struct it_error *err)
{
	const struct analyze_options *o = a->o;
	const struct repo_model *rm = a->repo ? repository_find(a->repo, spec->name) : NULL;
	const char *unsupported;
	int rc;

	mc->spec = spec;
	mc->name = spec->name;
	if (rm) {
		if (!rm->config)
			return it_error_set(err, rm->error.code ? rm->error.code : IT_ERR_INVALID,
					    "model '%s' cannot be loaded: %s", spec->name,
					    rm->error.message);
		mc->base = model_config_clone(rm->config);
		mc->source_dir = absolute(rm->path);
		mc->repository = absolute(rm->repository);
	} else if (o->server_mode == ANALYZE_SERVER_REMOTE) {
		rc = remote_default_config(a, spec->name, &mc->base, err);
		if (rc)
			return rc;
	} else {
		return it_error_set(err, IT_ERR_NOT_FOUND,
				    "model '%s' is not in the model repository %s",
				    spec->name, o->model_repository);
	}
	if (!mc->base->name[0])
		model_config_set_name(mc->base, spec->name, NULL);
	unsupported = model_config_unsupported(mc->base);
	if (unsupported)
		return it_error_set(err, IT_ERR_UNSUPPORTED,
				    "model '%s' uses %s, which infertune cannot serve or search yet",
				    spec->name, unsupported);
	if (mc->base->decoupled)
		return it_error_set(err, IT_ERR_UNSUPPORTED,
				    "model '%s' is decoupled; its streamed responses need gRPC streaming, which infertune does not speak",
				    spec->name);
	mc->base_pbtxt = config_text(mc->base);
	mc->base_json = config_json_text(mc->base, SCHEMA_JSON_INT64_STRING);
	mc->kind = (spec->cpu_only || a->n_gpus == 0) ? INSTANCE_KIND_CPU : INSTANCE_KIND_GPU;

	rc = analyze_perf_settings(o, spec, &mc->ps, err);
	if (rc) {
		it_error_prefix(err, "model '%s'", spec->name);
		return rc;
	}
	perf_settings_key(&mc->ps, mc->profile_key, sizeof(mc->profile_key));
	/*
	 * A variable dimension needs a --shape, or every measurement of every
	 * variant would fail (Model Analyzer issue server#6976): check it now.
	 */
	for (size_t i = 0; i < mc->base->n_inputs && mc->ps.input_data != INPUT_DATA_FILE; i++) {
		const struct model_tensor *t = &mc->base->inputs[i];
		bool variable = false, given = false;

		for (size_t d = 0; d < t->n_dims; d++)
			variable = variable || t->dims[d] < 0;
		for (size_t k = 0; k < mc->ps.n_shapes; k++)
			given = given || !strcmp(mc->ps.shapes[k].name, t->name);
		if (variable && !given && !t->optional)
			return it_error_set(err, IT_ERR_INVALID,
					    "model '%s': input '%s' has a variable dimension; give its shape with --perf-analyzer-flag shape=%s:D1,D2,... (or perf_analyzer_flags: shape in the config file)",
					    spec->name, t->name, t->name);
	}
	rc = analyze_objectives(o, spec, &mc->obj, err);
	if (rc) {
		it_error_prefix(err, "model '%s'", spec->name);
		return rc;
	}

	mc->concurrency = spec->concurrency.n ? spec->concurrency : o->concurrency;
	mc->rates = spec->request_rate.n ? spec->request_rate : o->request_rate;
	mc->batches = spec->batch_sizes.n ? spec->batch_sizes : o->batch_sizes;
	mc->list_given = mc->concurrency.n || mc->rates.n;

	/* The space. */
	memset(&mc->space, 0, sizeof(mc->space));
	mc->space.batching = mc->base->max_batch_size > 0;
	mc->space.min_mbs = o->min_mbs;
	mc->space.max_mbs = o->max_mbs;
	mc->space.user_mbs_min = o->user_min_mbs;
	mc->space.user_mbs_max = o->user_max_mbs;
	mc->space.min_instances = o->min_instances;
	mc->space.max_instances = o->max_instances;
	mc->space.user_instances_min = o->user_min_instances;
	mc->space.user_instances_max = o->user_max_instances;
	mc->space.min_concurrency = o->min_concurrency;
	mc->space.max_concurrency = o->max_concurrency;
	mc->space.user_concurrency_min = o->user_min_concurrency;
	mc->space.user_concurrency_max = o->user_max_concurrency;
	mc->space.top_n = o->num_configs_per_model;
	mc->space.default_mbs = mc->base->max_batch_size;
	mc->space.default_instances = total_instances(mc->base);
	mc->space.n_manual = spec->manual.n_overlays;
	mc->space.manual_mbs = spec->manual.mbs;
	mc->space.n_manual_mbs = spec->manual.n_mbs;
	mc->space.early_exit = o->early_exit_enable;
	if (is_pytorch(mc->base) && mc->kind == INSTANCE_KIND_CPU && !spec->manual.given) {
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);

		if (cpus < 1)
			cpus = 1;
		for (long t = 1; t <= cpus && mc->n_threads < 15; t *= 2)
			mc->threads[mc->n_threads++] = (int32_t)t;
		if (mc->threads[mc->n_threads - 1] != cpus)
			mc->threads[mc->n_threads++] = (int32_t)cpus;
		mc->space.threads = mc->threads;
		mc->space.n_threads = mc->n_threads;
		mc->space.max_cpu_threads = (int32_t)cpus;
	}

	/* Every manual combination must build into a valid configuration. */
	for (size_t i = 0; i < spec->manual.n_overlays; i++) {
		for (size_t k = 0; k < (spec->manual.n_mbs ? spec->manual.n_mbs : 1); k++) {
			struct search_point pt;
			struct model_config *cfg = NULL;

			memset(&pt, 0, sizeof(pt));
			pt.manual = (long)i;
			pt.max_batch_size = spec->manual.n_mbs ? spec->manual.mbs[k] : 0;
			rc = build_config(mc, &pt, &cfg, err);
			model_config_free(cfg);
			if (rc) {
				it_error_prefix(err, "model '%s': model_config_parameters combination %zu",
						spec->name, i + 1);
				return rc;
			}
		}
	}
	return 0;
}

static const char *search_mode_of(const struct analyzer *a)
{
	const struct analyze_options *o = a->o;

	/* Model Analyzer: manual when the search is disabled or any model lists parameters. */
	for (size_t i = 0; i < o->n_models; i++) {
		if (o->models[i].manual.given)
			return "manual";
	}
	if (o->search_disable)
		return "manual";
	return o->search_mode;
}

int analyzer_new(const struct analyzer_config *cfg, struct analyzer **out,
		 struct it_error *err)
{
	const struct analyze_options *o = cfg->options;
	struct analyzer *a = xcalloc(1, sizeof(*a));
	bool db_existed;
	int rc;

	a->lock_fd = -1;
	a->cfg = cfg;
	a->o = o;
	a->t_start = mono_s();
	rc = analyze_options_check(o, err);
	if (rc)
		goto fail;

	/* The export folder and results.db. */
	rc = fs_mkdir_p(o->export_path ? o->export_path : ".", err);
	if (rc)
		goto fail;
	a->export_path = absolute(o->export_path ? o->export_path : ".");
	a->results_dir = fs_join(a->export_path, "results");
	a->db_path = fs_join(a->export_path, "results.db");
	a->log_path = fs_join(a->export_path, "server.log");
	a->port_file = fs_join(a->export_path, ".server-ports");
	{
		/* One analysis per export folder: a second one would interleave runs. */
		char *lock = fs_join(a->export_path, ".analyze.lock");

		a->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
		if (a->lock_fd < 0)
			rc = it_error_set(err, IT_ERR_IO, "%s: %s", lock, strerror(errno));
		else if (flock(a->lock_fd, LOCK_EX | LOCK_NB))
			rc = it_error_set(err, IT_ERR_STATE,
					  "another infertune analyze is running with the export path %s",
					  a->export_path);
		free(lock);
		if (rc)
			goto fail;
	}
	db_existed = fs_is_file(a->db_path);
	if (o->resume && !db_existed) {
		rc = it_error_set(err, IT_ERR_NOT_FOUND,
				  "--resume: there is no %s to resume from", a->db_path);
		goto fail;
	}
	rc = store_open(a->db_path, &a->store, err);
	if (rc)
		goto fail;
	if (db_existed) {
		int64_t n = 0, stale = 0;

		store_run_count(a->store, &n, NULL);
		a->resumed = n > 0;
		rc = store_run_close_stale(a->store, &stale, err);
		if (rc)
			goto fail;
	}
	rc = fs_mkdir_p(a->results_dir, err);
	if (rc)
		goto fail;

	/* The output model repository (Model Analyzer refuses an existing one). */
	a->out_repo = o->output_model_repository ? absolute(o->output_model_repository) :
		      fs_join(a->export_path, "output_model_repository");
	if (fs_is_dir(a->out_repo) && !fs_dir_is_empty(a->out_repo) && !a->resumed) {
		if (!o->override_output_repository) {
			rc = it_error_set(err, IT_ERR_INVALID,
					  "the output model repository %s already exists; remove it, give --override-output-model-repository, or another --output-model-repository-path",
					  a->out_repo);
			goto fail;
		}
		rc = fs_rm_rf(a->out_repo, err);
		if (rc)
			goto fail;
	}
	rc = fs_mkdir_p(a->out_repo, err);
	if (rc)
		goto fail;

	/* The models (local repository). */
	if (o->model_repository) {
		const char *dirs[1] = { o->model_repository };

		rc = repository_scan(dirs, 1, &a->repo, err);
		if (rc)
			goto fail;
	}

	/* The server. */
	if (o->server_mode == ANALYZE_SERVER_EMBEDDED) {
		find_gpus(a);
		rc = server_start(a, err);
		if (rc)
			goto fail;
	} else {
		a->server_url = xstrdup(o->url);
		a->client = server_client_new(o->url, CONTROL_TIMEOUT_MS, LOAD_TIMEOUT_MS);
		server_client_set_cancel(a->client, cfg->interrupt);
		free(a->server_url);
		a->server_url = xstrdup(server_client_url(a->client));
		rc = server_client_live(a->client, err);
		if (rc) {
			it_error_prefix(err, "the server at %s is not reachable", a->server_url);
			goto fail;
		}
		if (o->metrics_url) {
			a->metrics_url = xstrdup(o->metrics_url);
		} else {
			/* Triton's default: the metrics port 8002 on the same host. */
			struct strbuf sb;
			const char *host = strstr(a->server_url, "://");
			const char *colon;

			host = host ? host + 3 : a->server_url;
			colon = strrchr(host, ':');
			strbuf_init(&sb, 0);
			strbuf_addf(&sb, "http://%.*s:8002/metrics",
				    (int)(colon ? (size_t)(colon - host) : strlen(host)), host);
			a->metrics_url = strbuf_detach(&sb, NULL);
		}
		find_gpus(a);
	}
	{
		struct strbuf page;

		strbuf_init(&page, 0);
		a->collect_metrics = !server_client_get_url(a->client, a->metrics_url, &page, NULL);
		strbuf_release(&page);
		if (!a->collect_metrics)
			emit(a, AEV_LOG, 1,
			     "the server's metrics page %s does not answer: GPU and server CPU series will be absent",
			     a->metrics_url);
	}
	rc = sampler_start(a->proc ? server_proc_pid(a->proc) : 0, SAMPLE_INTERVAL_MS,
			   &a->sampler, err);
	if (rc)
		goto fail;

	a->models = xcalloc(o->n_models, sizeof(*a->models));
	a->n_models = o->n_models;
	for (size_t i = 0; i < o->n_models; i++) {
		rc = prepare_model(a, &a->models[i], &o->models[i], err);
		if (rc)
			goto fail;
	}
	snprintf(a->summary.export_path, sizeof(a->summary.export_path), "%s", a->export_path);
	snprintf(a->summary.db_path, sizeof(a->summary.db_path), "%s", a->db_path);
	snprintf(a->summary.results_dir, sizeof(a->summary.results_dir), "%s", a->results_dir);
	a->summary.resumed = a->resumed;
	*out = a;
	return 0;
fail:
	analyzer_free(a);
	return rc;
}

void analyzer_free(struct analyzer *a)
{
	if (!a)
		return;
	sampler_free(a->sampler);
	server_close(a, interrupted(a) && *a->cfg->interrupt >= 2);
	for (size_t i = 0; i < a->n_models; i++)
		model_ctx_release(&a->models[i]);
	free(a->models);
	for (size_t i = 0; i < a->n_gpus; i++)
		free(a->gpus[i]);
	free(a->gpus);
	repository_free(a->repo);
	store_close(a->store);
	if (a->lock_fd >= 0)
		close(a->lock_fd);
	free(a->summary.models);
	free(a->export_path);
	free(a->results_dir);
	free(a->db_path);
	free(a->out_repo);
	free(a->log_path);
	free(a->port_file);
	free(a);
}

const struct analyze_summary *analyzer_summary(const struct analyzer *a)
{
	return &a->summary;
}

/* ---- variants ----------------------------------------------------------------- */

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

/* The stored variant of a configuration, added (and written out) when new. */
static int get_variant(struct analyzer *a, struct model_ctx *mc,
		       const struct search_point *pt, const struct model_config *cfg,
		       struct store_variant *v, struct it_error *err)
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
	v->config_pbtxt = config_text(named);
	v->config_json = config_json_text(named, SCHEMA_JSON_INT64_STRING);
	v->max_batch_size = named->max_batch_size;
	v->instance_count = total_instances(named);
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

/* ---- loading ------------------------------------------------------------------ */

static bool mentions_memory(const char *msg)
{
	return strstr(msg, "out of memory") || strstr(msg, "Out of memory") ||
	       strstr(msg, "OutOfMemory") || strstr(msg, "bad_alloc") ||
	       strstr(msg, "Cannot allocate memory");
}

/*
 * Loads variant v on the server. On failure *status is why (load failed,
 * crashed, out of memory) and reason says it; a dead embedded server is
 * restarted. Returns 0 when loaded, 1 when the variant failed, 2 when the
 * load was interrupted (Ctrl-C), < 0 when the analysis cannot go on.
 */
static int load_variant(struct analyzer *a, const struct model_ctx *mc,
			const struct store_variant *v, enum variant_status *status,
			char *reason, size_t reason_size, struct it_error *err)
{
	struct it_error lerr = { 0 };
	char how[200];
	int rc;

	if (a->proc) {
		/* A fresh server for every variant: clean memory figures (as Model Analyzer). */
		if (a->server_dirty || !server_proc_alive(a->proc, NULL, 0)) {
			rc = server_start(a, err);
			if (rc)
				return rc;
		}
		a->server_dirty = true;
		rc = server_client_load(a->client, v->name, NULL, &lerr);
	} else {
		struct model_config *cfg = model_config_parse(v->config_pbtxt,
							      strlen(v->config_pbtxt),
							      v->name, &lerr);
		char *json;

		if (!cfg)
			return it_error_set(err, IT_ERR_INTERNAL, "stored variant %s: %s",
					    v->name, lerr.message);
		/* Remote: the original model, its configuration replaced (no file access). */
		model_config_set_name(cfg, mc->name, NULL);
		json = config_json_text(cfg, SCHEMA_JSON_INT64_STRING);
		model_config_free(cfg);
		if (a->remote_loaded)
			server_client_unload(a->client, mc->name, NULL);
		a->remote_loaded = true;
		rc = server_client_load(a->client, mc->name, json, &lerr);
		free(json);
	}
	if (rc == IT_ERR_UNSUPPORTED) {
		*err = lerr;
		return rc;
	}
	if (rc && interrupted(a))
		return 2;       /* not the variant's fault: a resume loads it again */
	if (rc) {
		if (!server_alive(a, how, sizeof(how))) {
			if (!a->proc) {
				a->fatal = true;
				snprintf(a->fatal_msg, sizeof(a->fatal_msg),
					 "the remote server %s while loading %s", how, v->name);
				return it_error_set(err, IT_ERR_IO, "%s", a->fatal_msg);
			}
			*status = server_proc_killed(a->proc) ? VARIANT_OUT_OF_MEMORY :
				  VARIANT_SERVER_CRASHED;
			snprintf(reason, reason_size, "the server %s while loading the model",
				 how);
			a->server_dirty = true;
			return 1;
		}
		*status = mentions_memory(lerr.message) ? VARIANT_OUT_OF_MEMORY :
			  VARIANT_LOAD_FAILED;
		snprintf(reason, reason_size, "load failed: %.900s", lerr.message);
		return 1;
	}
	{
		const char *served = a->proc ? v->name : mc->name;
		double deadline = mono_s() + READY_WAIT_S;
		bool ready = false;

		while (!ready) {
			rc = server_client_ready(a->client, served, &ready, &lerr);
			if (rc || (!ready && mono_s() > deadline)) {
				*status = VARIANT_LOAD_FAILED;
				snprintf(reason, reason_size, "loaded but not ready%s%.900s",
					 rc ? ": " : "", rc ? lerr.message : "");
				return 1;
			}
			if (!ready) {
				struct timespec ts = { 0, 20000000 };

				nanosleep(&ts, NULL);
			}
		}
	}
	return 0;
}

/* ---- measuring ------------------------------------------------------------------ */

struct level_ctx {
	struct analyzer *a;
	uint64_t *ends;                 /* CLOCK_MONOTONIC time each window was seen to end */
	size_t n_ends, alloc_ends;
};

static void on_window(void *ctx, const struct profile_level *L,
		      const struct profile_window *w)
{
	struct level_ctx *lc = ctx;
	struct analyze_event ev;
	char msg[256];

	(void)L;
	XGROW(lc->ends, lc->alloc_ends, lc->n_ends + 1);
	lc->ends[lc->n_ends++] = sampler_now_ns();
	lc->a->prog.window = w->index + 1;
	snprintf(msg, sizeof(msg), "window %zu: %.1f infer/s, avg latency %.2f ms%s",
		 w->index + 1, w->throughput, (double)w->avg_latency_ns / 1e6,
		 w->valid ? "" : " (invalid)");
	memset(&ev, 0, sizeof(ev));
	ev.kind = AEV_WINDOW;
	ev.level = 2;
	ev.message = msg;
	emit_event(lc->a, &ev);
}

static double ns_ms(uint64_t ns)
{
	return (double)ns / 1e6;
}

static void fill_server(struct store_measurement *m, const struct remote_stats *s)
{
	uint64_t cnt = s->success_count;

	if (!cnt)
		return;
	if (s->queue_count)
		figures_set(&m->fig, FIG_SERVER_QUEUE, ns_ms(s->queue_ns) / (double)s->queue_count);
	if (s->compute_input_count)
		figures_set(&m->fig, FIG_SERVER_COMPUTE_INPUT,
			    ns_ms(s->compute_input_ns) / (double)s->compute_input_count);
	if (s->compute_infer_count)
		figures_set(&m->fig, FIG_SERVER_COMPUTE_INFER,
			    ns_ms(s->compute_infer_ns) / (double)s->compute_infer_count);
	if (s->compute_output_count)
		figures_set(&m->fig, FIG_SERVER_COMPUTE_OUTPUT,
			    ns_ms(s->compute_output_ns) / (double)s->compute_output_count);
	figures_set(&m->fig, FIG_SERVER_REQUEST, ns_ms(s->success_ns) / (double)cnt);
	if (s->execution_count)
		figures_set(&m->fig, FIG_SERVER_AVG_BATCH,
			    (double)s->inference_count / (double)s->execution_count);
}

static void fill_metrics(struct store_measurement *m, const struct scrape_summary *s)
{
	double util = 0, used = 0, total = 0, power = 0;
	size_t n_util = 0, n_used = 0, n_total = 0, n_power = 0;

	if (s->n_gpus) {
		m->gpus = xcalloc(s->n_gpus, sizeof(*m->gpus));
		m->n_gpus = s->n_gpus;
	}
	for (size_t g = 0; g < s->n_gpus; g++) {
		const struct scrape_gpu *sg = &s->gpus[g];
		struct store_gpu *o = &m->gpus[g];

		snprintf(o->uuid, sizeof(o->uuid), "%s", sg->uuid);
		if (sg->has_utilization) {
			o->has_utilization = true;
			o->utilization_pct = sg->utilization * 100;
			util += o->utilization_pct;
			n_util++;
		}
		if (sg->has_memory_used) {
			o->has_used_memory = true;
			o->used_memory_mb = (double)sg->memory_used_bytes / 1e6;
			used += o->used_memory_mb;
			n_used++;
		}
		if (sg->has_memory_total) {
			o->has_total_memory = true;
			o->total_memory_mb = (double)sg->memory_total_bytes / 1e6;
			total += o->total_memory_mb;
			n_total++;
		}
		if (sg->has_power) {
			o->has_power = true;
			o->power_w = sg->power_w;
			power += sg->power_w;
			n_power++;
		}
	}
	if (n_util)
		figures_set(&m->fig, FIG_GPU_UTILIZATION, util / (double)n_util);
	if (n_used)
		figures_set(&m->fig, FIG_GPU_USED_MEMORY, used);
	if (n_total)
		figures_set(&m->fig, FIG_GPU_TOTAL_MEMORY, total);
	if (n_used && n_total)
		figures_set(&m->fig, FIG_GPU_FREE_MEMORY, total - used);
	if (n_power)
		figures_set(&m->fig, FIG_GPU_POWER, power);
	if (s->has_cpu_utilization)
		figures_set(&m->fig, FIG_CPU_UTILIZATION, s->cpu_utilization * 100);
	if (s->has_cpu_memory) {
		figures_set(&m->fig, FIG_HOST_USED_RAM, (double)s->cpu_memory_used_bytes / 1e6);
		if (s->cpu_memory_total_bytes >= s->cpu_memory_used_bytes)
			figures_set(&m->fig, FIG_CPU_FREE_RAM,
				    (double)(s->cpu_memory_total_bytes - s->cpu_memory_used_bytes) / 1e6);
	}
}

static void fill_level(struct analyzer *a, struct store_measurement *m,
		       const struct profile_level *L, const struct level_ctx *lc,
		       int64_t batch)
{
	const struct latency_summary *s = &L->latency;

	m->window_count = (uint32_t)L->n_windows;
	if (L->n_windows) {
		m->windows = xcalloc(L->n_windows, sizeof(*m->windows));
		m->n_windows = L->n_windows;
	}
	for (size_t i = 0; i < L->n_windows; i++) {
		const struct profile_window *w = &L->windows[i];
		struct store_window *o = &m->windows[i];

		o->index = (uint32_t)w->index;
		o->duration_ms = ns_ms(w->duration_ns);
		o->request_count = w->request_count;
		o->failed_count = w->failed_count;
		o->throughput = w->throughput;
		o->latency_avg_ms = ns_ms(w->avg_latency_ns);
		o->stabilizing_latency_ms = ns_ms(w->stabilizing_latency_ns);
		o->valid = w->valid;
		o->merged = (L->status == PROFILE_OK || L->status == PROFILE_OVER_THRESHOLD ||
			     L->status == PROFILE_EARLY_STOP_SHORT) &&
			    i >= L->merged_first && i < L->merged_first + L->merged_count;
	}
	if (!(L->status == PROFILE_OK || L->status == PROFILE_OVER_THRESHOLD ||
	      L->status == PROFILE_EARLY_STOP_SHORT) || !L->merged_count)
		return;
	m->merged_first = (uint32_t)L->merged_first;
	m->merged_count = (uint32_t)L->merged_count;
	m->request_count = L->request_count;
	m->failed_count = L->failed_count;
	m->client_saturated = L->client_saturated;
	figures_set(&m->fig, FIG_THROUGHPUT, L->infer_per_sec);
	if (s->count) {
		figures_set(&m->fig, FIG_LATENCY_AVG, ns_ms(s->avg_ns));
		figures_set(&m->fig, FIG_LATENCY_P50, ns_ms(s->p_ns[0]));
		figures_set(&m->fig, FIG_LATENCY_P90, ns_ms(s->p_ns[1]));
		figures_set(&m->fig, FIG_LATENCY_P95, ns_ms(s->p_ns[2]));
		figures_set(&m->fig, FIG_LATENCY_P99, ns_ms(s->p_ns[3]));
		if (s->std_us != UINT64_MAX)
			figures_set(&m->fig, FIG_LATENCY_STD, (double)s->std_us / 1000);
	}
	if (L->request_count) {
		uint64_t send = L->avg_send_ns, recv = L->avg_recv_ns, req = L->avg_request_ns;

		figures_set(&m->fig, FIG_CLIENT_SEND, ns_ms(send));
		figures_set(&m->fig, FIG_CLIENT_RECV, ns_ms(recv));
		figures_set(&m->fig, FIG_CLIENT_SEND_RECV, ns_ms(send + recv));
		figures_set(&m->fig, FIG_CLIENT_RESPONSE_WAIT,
			    req > send + recv ? ns_ms(req - send - recv) : 0);
	}
	figures_set(&m->fig, FIG_CLIENT_CPU, L->client_cpu_cores);
	if (L->has_server)
		fill_server(m, &L->server);
	if (L->has_metrics)
		fill_metrics(m, &L->metrics);

	/* Local samples over the merged windows. */
	if (lc->n_ends >= L->merged_first + L->merged_count) {
		uint64_t to = lc->ends[L->merged_first + L->merged_count - 1], span = 0;
		struct sampler_summary ss;

		for (size_t i = L->merged_first; i < L->merged_first + L->merged_count; i++)
			span += L->windows[i].duration_ns;
		sampler_window(a->sampler, to > span ? to - span : 0, to, &ss);
		if (ss.has_server_cpu)
			figures_set(&m->fig, FIG_SERVER_CPU_UTILIZATION, ss.server_cpu_pct);
		if (ss.has_server_rss)
			figures_set(&m->fig, FIG_SERVER_RSS, ss.server_rss_mb);
		if (!figures_has(&m->fig, FIG_CPU_UTILIZATION) && ss.has_host_cpu &&
		    a->proc)
			figures_set(&m->fig, FIG_CPU_UTILIZATION, ss.host_cpu_pct);
		if (!figures_has(&m->fig, FIG_HOST_USED_RAM) && ss.has_host_memory && a->proc) {
			figures_set(&m->fig, FIG_HOST_USED_RAM, ss.host_used_mb);
			figures_set(&m->fig, FIG_CPU_FREE_RAM, ss.host_available_mb);
		}
		/* Energy is this machine's: it means something only for the embedded server. */
		if (a->proc && ss.has_energy) {
			double inferences = (double)L->request_count * (double)batch;
			double joules = ss.cpu_energy_j + (ss.has_gpu_energy ? ss.gpu_energy_j : 0);

			figures_set(&m->fig, FIG_CPU_POWER, ss.cpu_power_w);
			if (inferences > 0)
				figures_set(&m->fig, FIG_ENERGY_PER_INFERENCE, joules / inferences);
		} else if (a->proc && ss.has_gpu_energy && !ss.has_energy) {
			/* GPU energy alone would understate: CPU energy unknown, so absent. */
		}
	}
	/* Model Analyzer's cpu_used_ram: the server's own memory when known. */
	if (figures_has(&m->fig, FIG_SERVER_RSS))
		figures_set(&m->fig, FIG_CPU_USED_RAM, m->fig.v[FIG_SERVER_RSS]);
	else if (figures_has(&m->fig, FIG_HOST_USED_RAM))
		figures_set(&m->fig, FIG_CPU_USED_RAM, m->fig.v[FIG_HOST_USED_RAM]);
}

enum level_result {
	LEVEL_STORED = 0,       /* measured (any status) and stored */
	LEVEL_INTERRUPTED,      /* interrupted: not stored */
	LEVEL_CRASHED,          /* the server died: stored as failed */
};

/*
 * Measures one level (with Model Analyzer's automatic window growth when
 * it does not stabilise) into *m. Returns a level_result, or < 0 when
 * results.db failed.
 */
static int measure_level(struct analyzer *a, const struct model_ctx *mc,
			 const struct store_variant *v, int64_t batch,
			 enum load_kind kind, double value, bool first,
			 struct store_measurement *m, char *crash, size_t crash_size,
			 struct it_error *err)
{
	struct perf_settings ps = mc->ps;
	int result = LEVEL_STORED;

	for (unsigned adjust = 0;; adjust++) {
		struct profile_options po;
		struct profiler *p = NULL;
		struct profile_results *res = NULL;
		struct level_ctx lc = { a, NULL, 0, 0 };
		struct it_error perr = { 0 };
		const struct profile_level *L = NULL;
		double t0 = store_now(), m0 = mono_s();
		int rc;

		store_measurement_release(m);
		memset(m, 0, sizeof(*m));
		profile_options_init(&po);
		perf_settings_to_profile(&ps, &po);
		po.model_name = a->proc ? v->name : mc->name;
		po.url = a->server_url;
		po.batch_size = batch;
		if (kind == LOAD_REQUEST_RATE) {
			po.load = PROFILE_LOAD_RATE;
			po.rate_start = po.rate_end = value;
			po.rate_step = 1;
		} else {
			po.load = PROFILE_LOAD_CONCURRENCY;
			po.concurrency_start = po.concurrency_end = (uint64_t)value;
			po.concurrency_step = 1;
		}
		if (first && !ps.warmup_given)
			po.warmup_request_count = WARMUP_REQUESTS;
		po.collect_metrics = a->collect_metrics;
		po.metrics_url = a->metrics_url;
		po.metrics_interval_ms = ps.metrics_interval_ms;
		if (!po.metrics_interval_ms) {
			uint64_t w = ps.window_mode == PROFILE_TIME_WINDOWS ?
				     ps.measurement_interval_ms / 4 : 250;

			po.metrics_interval_ms = w < 50 ? 50 : w > 1000 ? 1000 : w;
		}
		po.on_window = on_window;
		po.callback_ctx = &lc;
		po.cancel = a->cfg->interrupt;

		m->run_id = a->run_id;
		m->variant_id = v->id;
		snprintf(m->profile_key, sizeof(m->profile_key), "%s", mc->profile_key);
		m->batch_size = batch;
		m->load_kind = kind;
		m->load_value = value;
		snprintf(m->window_mode, sizeof(m->window_mode), "%s",
			 ps.window_mode == PROFILE_COUNT_WINDOWS ? "count_windows" : "time_windows");
		m->window_ms = ps.window_mode == PROFILE_TIME_WINDOWS ?
			       (double)ps.measurement_interval_ms : 0;
		m->window_requests = ps.window_mode == PROFILE_COUNT_WINDOWS ?
				     ps.measurement_request_count : 0;
		m->stability_pct = ps.stability_percentage;
		m->started_at = t0;

		rc = profiler_new(&po, &p, &perr);
		if (!rc)
			rc = profiler_run(p, &res, &perr);
		a->summary.measuring_s += mono_s() - m0;
		m->finished_at = store_now();
		if (res && res->n_levels)
			L = &res->levels[0];
		for (size_t i = 0; L && i < L->n_windows; i++)
			a->summary.windows_s += (double)L->windows[i].duration_ns / 1e9;
		if (interrupted(a) && rc) {
			result = LEVEL_INTERRUPTED;
		} else if (L && (L->status == PROFILE_OK || L->status == PROFILE_EARLY_STOP_SHORT)) {
			m->status = MEAS_OK;
		} else if (L && L->status == PROFILE_OVER_THRESHOLD) {
			m->status = MEAS_OVER_THRESHOLD;
			snprintf(m->message, sizeof(m->message), "%s", L->message);
		} else if (L && L->status == PROFILE_UNSTABLE) {
			m->status = MEAS_UNSTABLE;
			snprintf(m->message, sizeof(m->message), "%s", L->message);
		} else {
			char how[200];

			m->status = MEAS_FAILED;
			snprintf(m->message, sizeof(m->message), "%s",
				 perr.message[0] ? perr.message : "the measurement failed");
			if (!server_alive(a, how, sizeof(how))) {
				snprintf(crash, crash_size, "the server %s while being measured", how);
				snprintf(m->message, sizeof(m->message), "%s", crash);
				result = LEVEL_CRASHED;
			}
		}
		if (L && result != LEVEL_INTERRUPTED)
			fill_level(a, m, L, &lc, batch);
		free(lc.ends);
		profile_results_free(res);
		profiler_free(p);
		sampler_trim(a->sampler, sampler_now_ns() - 5000000000ULL);
		if (result == LEVEL_INTERRUPTED)
			return result;
		/* Model Analyzer's auto-adjust: a longer window when it did not stabilise. */
		if (m->status == MEAS_UNSTABLE && adjust < a->o->max_auto_adjusts &&
		    !interrupted(a)) {
			if (ps.window_mode == PROFILE_COUNT_WINDOWS)
				ps.measurement_request_count += 50;
			else
				ps.measurement_interval_ms += 1000;
			emit(a, AEV_LOG, 2, "%s: not stable; measuring again with a longer window",
			     v->name);
			continue;
		}
		break;
	}
	if (store_measurement_add(a->store, m, err))
		return -1;
	return result;
}

/* What a point's sweep found, for the search. */
struct point_outcome {
	bool measured;
	double max_tp;
	struct figures best;
	bool has_best;
	bool stop_all;          /* interrupted, or the analysis cannot go on */
	size_t levels;          /* levels walked (fresh or reused) */
};

static void outcome_add(const struct model_ctx *mc, struct point_outcome *po,
			const struct store_measurement *m)
{
	if (!measurement_valid(m))
		return;
	po->measured = true;
	if (figures_get(&m->fig, FIG_THROUGHPUT, 0) > po->max_tp)
		po->max_tp = figures_get(&m->fig, FIG_THROUGHPUT, 0);
	if (!po->has_best || objective_better(&mc->obj, &po->best, &m->fig)) {
		po->best = m->fig;
		po->has_best = true;
	}
}

/* Model Analyzer's early exit: with >= 4 values, the last 4 must gain > 5%. */
static bool gain_exhausted(const double *tp, size_t n)
{
	double first, best;

	if (n < EARLY_EXIT_POINTS)
		return false;
	first = tp[n - EARLY_EXIT_POINTS];
	best = first;
	for (size_t i = n - EARLY_EXIT_POINTS; i < n; i++)
		if (tp[i] > best)
			best = tp[i];
	if (first <= 0)
		return false;
	return (best - first) / first <= EARLY_EXIT_GAIN;
}

/* The load levels of a sweep: the point's one concurrency, the lists, or doubling. */
static size_t load_plan(const struct model_ctx *mc, const struct analyze_options *o,
			const struct search_point *pt, enum load_kind *kind, double *out,
			size_t max)
{
	size_t n = 0;

	*kind = LOAD_CONCURRENCY;
	if (pt->concurrency) {
		out[n++] = (double)pt->concurrency;
		return n;
	}
	if (mc->rates.n) {
		*kind = LOAD_REQUEST_RATE;
		for (size_t i = 0; i < mc->rates.n && n < max; i++)
			out[n++] = mc->rates.v[i];
		return n;
	}
	if (mc->concurrency.n) {
		for (size_t i = 0; i < mc->concurrency.n && n < max; i++)
			out[n++] = (double)mc->concurrency.v[i];
		return n;
	}
	for (uint64_t c = o->min_concurrency; c <= o->max_concurrency && n < max; c *= 2)
		out[n++] = (double)c;
	return n;
}

static void set_status(struct analyzer *a, struct store_variant *v,
		       enum variant_status st, const char *reason)
{
	struct it_error e = { 0 };

	if (store_variant_set_status(a->store, v->id, st, reason, &e))
		emit(a, AEV_LOG, 1, "results.db: %s", e.message);
	v->status = st;
	free(v->failure_reason);
	v->failure_reason = reason ? xstrdup(reason) : NULL;
}

/* Measures (or replays) the sweep of one point on variant v. */
static int sweep_point(struct analyzer *a, struct model_ctx *mc, struct store_variant *v,
		       const struct search_point *pt, const struct model_config *cfg,
		       struct point_outcome *po, struct it_error *err)
{
	uint64_t one = 1;
	const uint64_t *batches = pt->concurrency || !mc->batches.n ? &one : mc->batches.v;
	size_t n_batches = pt->concurrency || !mc->batches.n ? 1 : mc->batches.n;
	bool early = !mc->list_given || a->o->early_exit_enable;
	bool loaded = false, failed_variant = false, any_unstable = false, warm = false;
	double batch_tp[4096];
	size_t n_batch_tp = 0;
	struct analyze_event ev;
	int rc = 0;

	memset(po, 0, sizeof(*po));
	/* A variant that could not load, or crashed the server, is not tried again. */
	if (v->status == VARIANT_LOAD_FAILED || v->status == VARIANT_SERVER_CRASHED ||
	    v->status == VARIANT_OUT_OF_MEMORY) {
		struct store_measurement *ms = NULL;
		size_t n = 0;

		emit(a, AEV_LOG, 0, "%s: %s earlier (%s); not tried again", v->name,
		     variant_status_name(v->status), v->failure_reason ? v->failure_reason : "");
		if (!store_measurements_of_variant(a->store, v->id, mc->profile_key, &ms, &n, NULL)) {
			for (size_t i = 0; i < n; i++) {
				outcome_add(mc, po, &ms[i]);
				store_measurement_release(&ms[i]);
			}
			free(ms);
		}
		return 0;
	}
	for (size_t bi = 0; bi < n_batches && !po->stop_all && !failed_variant; bi++) {
		int64_t b = (int64_t)batches[bi];
		enum load_kind kind;
		double loads[64], tps[64], batch_max = 0;
		size_t n_loads, n_tps = 0;

		/* Model Analyzer's illegal combinations: a client batch the model cannot take. */
		if ((cfg->max_batch_size == 0 && b > 1) ||
		    (cfg->max_batch_size > 0 && b > cfg->max_batch_size))
			continue;
		n_loads = load_plan(mc, a->o, pt, &kind, loads, 64);
		for (size_t li = 0; li < n_loads; li++) {
			struct store_measurement m;
			bool found = false, stop_batch = false;
			char crash[512] = "";

			memset(&m, 0, sizeof(m));
			if (interrupted(a)) {
				po->stop_all = true;
				break;
			}
			a->prog.batch_size = b;
			a->prog.load_kind = kind;
			a->prog.load_value = loads[li];
			a->prog.window = 0;
			rc = store_measurement_find(a->store, v->id, mc->profile_key, b, kind,
						    loads[li], &m, &found, err);
			if (rc)
				return rc;
			if (found) {
				a->summary.reused++;
			} else {
				double t0 = mono_s();
				int lr;

				if (!loaded) {
					enum variant_status st = VARIANT_LOAD_FAILED;
					char reason[1024];

					set_status(a, v, VARIANT_LOADING, NULL);
					emit(a, AEV_LOG, 2, "%s: loading (%s)", v->name, v->label);
					lr = load_variant(a, mc, v, &st, reason, sizeof(reason), err);
					if (lr < 0)
						return lr;
					if (lr == 2) {
						po->stop_all = true;
						break;
					}
					if (lr > 0) {
						set_status(a, v, st, reason);
						store_event_add(a->store, a->run_id, v->id,
								variant_status_name(st), reason, NULL);
						failed_variant = true;
						break;
					}
					loaded = true;
					set_status(a, v, VARIANT_MEASURING, NULL);
				}
				memset(&ev, 0, sizeof(ev));
				ev.kind = AEV_LEVEL_START;
				ev.level = 2;
				emit_event(a, &ev);
				lr = measure_level(a, mc, v, b, kind, loads[li], !warm, &m,
						   crash, sizeof(crash), err);
				warm = true;
				if (lr < 0) {
					store_measurement_release(&m);
					return IT_ERR_IO;
				}
				if (lr == LEVEL_INTERRUPTED) {
					store_measurement_release(&m);
					po->stop_all = true;
					break;
				}
				a->summary.measured++;
				a->fresh_s += mono_s() - t0;
				a->fresh_n++;
				if (lr == LEVEL_CRASHED) {
					enum variant_status st = a->proc && server_proc_killed(a->proc) ?
						VARIANT_OUT_OF_MEMORY : VARIANT_SERVER_CRASHED;

					set_status(a, v, st, crash);
					store_event_add(a->store, a->run_id, v->id, "server_crashed",
							crash, NULL);
					failed_variant = true;
					if (!a->proc) {
						a->fatal = true;
						snprintf(a->fatal_msg, sizeof(a->fatal_msg), "%s", crash);
						po->stop_all = true;
					}
				}
			}
			po->levels++;
			memset(&ev, 0, sizeof(ev));
			ev.kind = AEV_MEASUREMENT;
			ev.measurement = &m;
			ev.reused = found;
			emit_event(a, &ev);
			if (m.status == MEAS_UNSTABLE)
				any_unstable = true;
			if (!measurement_valid(&m)) {
				/* Model Analyzer: a run without a measurement ends the sweep. */
				stop_batch = true;
			} else {
				outcome_add(mc, po, &m);
				if (n_tps < 64)
					tps[n_tps++] = m.fig.v[FIG_THROUGHPUT];
				if (m.fig.v[FIG_THROUGHPUT] > batch_max)
					batch_max = m.fig.v[FIG_THROUGHPUT];
				if (m.status == MEAS_OVER_THRESHOLD)
					stop_batch = true;
				if (early && gain_exhausted(tps, n_tps))
					stop_batch = true;
			}
			store_measurement_release(&m);
			if (stop_batch || failed_variant)
				break;
		}
		if (n_batch_tp < 4096)
			batch_tp[n_batch_tp++] = batch_max;
		if (early && gain_exhausted(batch_tp, n_batch_tp))
			break;
	}
	if (!failed_variant && !po->stop_all && v->status != VARIANT_MEASURED) {
		if (po->measured)
			set_status(a, v, VARIANT_MEASURED, NULL);
		else if (loaded || v->status == VARIANT_MEASURING || v->status == VARIANT_PENDING)
			set_status(a, v, any_unstable ? VARIANT_UNSTABLE : VARIANT_FAILED,
				   any_unstable ? "no load level stabilised" :
				   "no load level could be measured");
	}
	if (loaded && a->client && !a->proc && !a->fatal) {
		server_client_unload(a->client, mc->name, NULL);
		a->remote_loaded = false;
	}
	return 0;
}

/* ---- server-only metrics --------------------------------------------------------- */

static int server_only(struct analyzer *a, struct it_error *err)
{
	struct store_server_only so, prev;
	struct scraper *scr = NULL;
	struct scrape_summary ss;
	struct sampler_summary sm;
	uint64_t from, to;
	bool found = false;
	int rc;

	rc = store_server_only_latest(a->store, &prev, &found, err);
	if (rc)
		return rc;
	if (found) {
		store_server_only_release(&prev);
		emit(a, AEV_LOG, 2, "server-only metrics: already in results.db");
		return 0;
	}
	if (a->o->duration_seconds <= 0)
		return 0;
	if (a->proc && a->server_dirty) {
		rc = server_start(a, err);
		if (rc)
			return rc;
	}
	emit(a, AEV_LOG, 0, "measuring the idle server for %.1f s (server-only metrics)",
	     a->o->duration_seconds);
	memset(&so, 0, sizeof(so));
	so.run_id = a->run_id;
	so.started_at = store_now();
	if (a->collect_metrics)
		scraper_start(a->metrics_url, 250, &scr, NULL);
	from = sampler_now_ns();
	{
		double end = mono_s() + a->o->duration_seconds;

		while (mono_s() < end && !interrupted(a)) {
			struct timespec ts = { 0, 50000000 };

			nanosleep(&ts, NULL);
		}
	}
	to = sampler_now_ns();
	so.duration_s = (double)(to - from) / 1e9;
	if (scr && !scraper_window(scr, from, to, &ss, NULL) && ss.n_scrapes) {
		struct store_measurement tmp;

		memset(&tmp, 0, sizeof(tmp));
		fill_metrics(&tmp, &ss);
		so.fig = tmp.fig;
		so.gpus = tmp.gpus;
		so.n_gpus = tmp.n_gpus;
	}
	scraper_free(scr);
	sampler_window(a->sampler, from, to, &sm);
	if (sm.has_server_rss) {
		figures_set(&so.fig, FIG_SERVER_RSS, sm.server_rss_mb);
		figures_set(&so.fig, FIG_CPU_USED_RAM, sm.server_rss_mb);
	}
	if (sm.has_server_cpu)
		figures_set(&so.fig, FIG_SERVER_CPU_UTILIZATION, sm.server_cpu_pct);
	if (a->proc && sm.has_energy)
		figures_set(&so.fig, FIG_CPU_POWER, sm.cpu_power_w);
	if (!figures_has(&so.fig, FIG_CPU_UTILIZATION) && sm.has_host_cpu && a->proc)
		figures_set(&so.fig, FIG_CPU_UTILIZATION, sm.host_cpu_pct);
	if (!figures_has(&so.fig, FIG_HOST_USED_RAM) && sm.has_host_memory && a->proc) {
		figures_set(&so.fig, FIG_HOST_USED_RAM, sm.host_used_mb);
		figures_set(&so.fig, FIG_CPU_FREE_RAM, sm.host_available_mb);
	}
	if (interrupted(a)) {
		store_server_only_release(&so);
		return 0;
	}
	rc = store_server_only_add(a->store, &so, err);
	store_server_only_release(&so);
	return rc;
}

/* ---- the run ---------------------------------------------------------------------- */

/* Time left: points to come x levels per point x time per fresh level. */
static double eta(struct analyzer *a, const struct search *s)
{
	double per_level, levels_per_point;
	size_t remaining = search_remaining(s);

	if (!a->fresh_n)
		return -1;
	per_level = a->fresh_s / (double)a->fresh_n;
	levels_per_point = a->points_done ? (double)a->levels_done / (double)a->points_done : 4;
	return per_level * levels_per_point * (double)remaining *
	       (double)(a->n_models - a->prog.model_index + 1);
}

static int run_model(struct analyzer *a, struct model_ctx *mc, struct it_error *err)
{
	const struct search_ops *ops = search_find(search_mode_of(a));
	struct search *s = NULL;
	struct search_point pt;
	int rc;

	rc = search_new(ops, &mc->space, &mc->obj, &s, err);
	if (rc) {
		it_error_prefix(err, "model '%s'", mc->name);
		return rc;
	}
	a->search = s;
	a->prog.model = mc->name;
	a->prog.variant = NULL;
	a->prog.label = NULL;
	a->prog.variant_index = 0;
	emit(a, AEV_LOG, 0, "model %s: %s search, %s instances, measurement settings %s",
	     mc->name, search_name(s), instance_kind_name(mc->kind), mc->profile_key);
	while (!interrupted(a) && !a->fatal && search_next(s, &pt)) {
		struct model_config *cfg = NULL;
		struct store_variant v;
		struct point_outcome po;
		struct search_outcome so;
		struct analyze_event ev;
		char label[256];

		search_point_label(&pt, label, sizeof(label));
		a->prog.variant_index = search_proposed(s);
		a->prog.variant_total = search_proposed(s) + search_remaining(s);
		rc = build_config(mc, &pt, &cfg, err);
		if (rc) {
			/* Model Analyzer skips illegal combinations; so does the search. */
			emit(a, AEV_LOG, 1, "model %s: point %s is not a valid configuration (%s); skipped",
			     mc->name, label, err ? err->message : "");
			memset(&so, 0, sizeof(so));
			search_feed(s, &so);
			rc = 0;
			continue;
		}
		rc = get_variant(a, mc, &pt, cfg, &v, err);
		if (rc) {
			model_config_free(cfg);
			break;
		}
		a->prog.variant = v.name;
		a->prog.label = v.label ? v.label : label;
		memset(&ev, 0, sizeof(ev));
		ev.kind = AEV_VARIANT_START;
		ev.message = label;
		emit_event(a, &ev);
		rc = sweep_point(a, mc, &v, &pt, cfg, &po, err);
		model_config_free(cfg);
		if (rc) {
			store_variant_release(&v);
			break;
		}
		a->points_done++;
		a->levels_done += po.levels;
		memset(&ev, 0, sizeof(ev));
		ev.kind = AEV_VARIANT_DONE;
		ev.status = v.status;
		ev.message = v.failure_reason ? v.failure_reason : "";
		emit_event(a, &ev);
		store_variant_release(&v);
		if (po.stop_all)
			break;
		memset(&so, 0, sizeof(so));
		so.measured = po.measured;
		so.max_throughput = po.max_tp;
		so.best = po.has_best ? &po.best : NULL;
		search_feed(s, &so);
	}
	a->search = NULL;
	search_free(s);
	return rc;
}

/*
 * Records the machine that measured in results.db's meta table, for the
 * report. A remote server's CPU and memory cannot be read from here (the
 * KServe API does not give them), so the rows say "not known" and name the
 * client that ran analyze rather than pass it off as the server. Rewritten
 * by every run: the rows describe the latest one, as the report does.
 */
static int record_machine(struct analyzer *a, struct it_error *err)
{
	struct machine_desc m;
	struct strbuf cpu, memory;
	int rc;

	machine_describe(&m);
	strbuf_init(&cpu, 0);
	strbuf_init(&memory, 0);
	if (a->o->server_mode == ANALYZE_SERVER_REMOTE) {
		strbuf_addf(&cpu, "not known (remote server at %s); client running analyze: %s",
			    a->server_url, m.cpu);
		strbuf_addf(&memory, "not known (remote server); client running analyze: %s",
			    m.memory);
	} else {
		strbuf_adds(&cpu, m.cpu);
		strbuf_adds(&memory, m.memory);
	}
	rc = store_meta_set(a->store, "machine_cpu", cpu.buf, err);
	if (rc)
		goto out;
	rc = store_meta_set(a->store, "machine_memory", memory.buf, err);
out:
	strbuf_release(&cpu);
	strbuf_release(&memory);
	return rc;
}

int analyzer_run(struct analyzer *a, struct it_error *err)
{
	struct store_run run;
	json_t *opts;
	char *opts_text, *gpus_text;
	json_t *gpus;
	const char *status = "completed";
	char message[IT_ERROR_MESSAGE_MAX] = "";
	int rc;

	a->t_start = mono_s();
	a->summary.measured = a->summary.reused = 0;
	rc = record_machine(a, err);
	if (rc)
		return rc;
	opts = analyze_options_to_json(a->o);
	opts_text = json_dumps(opts, JSON_COMPACT);
	json_decref(opts);
	gpus = json_array();
	for (size_t g = 0; g < a->n_gpus; g++)
		json_array_append_new(gpus, json_string(a->gpus[g]));
	gpus_text = json_dumps(gpus, JSON_COMPACT);
	json_decref(gpus);
	memset(&run, 0, sizeof(run));
	run.command_line = a->cfg->command_line;
	run.options_json = opts_text;
	run.search_mode = search_mode_of(a);
	run.server_mode = a->o->server_mode == ANALYZE_SERVER_REMOTE ? "remote" : "embedded";
	run.server_url = a->o->server_mode == ANALYZE_SERVER_REMOTE ? a->server_url : NULL;
	run.profile_key = a->n_models ? a->models[0].profile_key : "";
	run.gpus_json = gpus_text;
	run.version = INFERTUNE_VERSION;
	rc = store_run_begin(a->store, &run, &a->run_id, err);
	free(opts_text);
	free(gpus_text);
	if (rc)
		return rc;
	rc = 0;
	if (a->resumed)
		emit(a, AEV_LOG, 0, "resuming from %s: measured points are reused", a->db_path);

	a->prog.n_models = a->n_models;
	for (size_t i = 0; !rc && i < a->n_models; i++) {
		struct model_ctx *mc = &a->models[i];

		rc = store_model_get_or_add(a->store, mc->name, mc->base->platform,
					    mc->base->backend, mc->base_pbtxt, mc->base_json,
					    mc->repository, a->run_id, &mc->model_id, err);
	}
	if (!rc)
		rc = server_only(a, err);
	for (size_t i = 0; !rc && i < a->n_models && !interrupted(a) && !a->fatal; i++) {
		a->prog.model_index = i + 1;
		rc = run_model(a, &a->models[i], err);
	}
	if (!rc && a->fatal)
		rc = it_error_set(err, IT_ERR_IO, "%s", a->fatal_msg);
	a->summary.interrupted = interrupted(a);
	if (a->proc && a->summary.interrupted && *a->cfg->interrupt >= 2)
		server_proc_kill_now(a->proc);
	{
		struct it_error oerr = { 0 };
		int orc = analyzer_write_outputs(a, &oerr);

		if (orc && !rc) {
			rc = orc;
			if (err)
				*err = oerr;
		}
	}
	if (rc) {
		status = "failed";
		snprintf(message, sizeof(message), "%s", err ? err->message : "failed");
	} else if (a->summary.interrupted) {
		status = "interrupted";
		snprintf(message, sizeof(message), "interrupted; --resume continues");
		rc = it_error_set(err, IT_ERR_STATE, "interrupted");
	}
	store_run_finish(a->store, a->run_id, status, message, NULL);
	a->summary.wall_s = mono_s() - a->t_start;
	return rc;
}

int analyzer_write_outputs(struct analyzer *a, struct it_error *err)
{
	struct outputs_model *om = xcalloc(a->n_models ? a->n_models : 1, sizeof(*om));
	struct outputs_config oc;
	int rc;

	for (size_t i = 0; i < a->n_models; i++) {
		om[i].name = a->models[i].name;
		om[i].model_id = a->models[i].model_id;
		om[i].profile_key = a->models[i].profile_key;
		om[i].objectives = &a->models[i].obj;
	}
	memset(&oc, 0, sizeof(oc));
	oc.store = a->store;
	oc.run_id = a->run_id;
	oc.models = om;
	oc.n_models = a->n_models;
	oc.results_dir = a->results_dir;
	oc.best_dir = NULL;
	oc.export_path = a->export_path;
	oc.filename_inference = a->o->filename_model_inference;
	oc.filename_gpu = a->o->filename_model_gpu;
	oc.filename_server_only = a->o->filename_server_only;
	free(a->summary.models);
	a->summary.models = xcalloc(a->n_models ? a->n_models : 1, sizeof(*a->summary.models));
	a->summary.n_models = a->n_models;
	rc = outputs_write(&oc, a->summary.models, err);
	free(om);
	return rc;
}
