/*
 * Preflight: everything `infertune analyze` checks before its first
 * measurement (export folder, results.db, output repository, models,
 * server), and the server's lifecycle (start, restart, alive, GPUs), which
 * the variants and sweeps reuse when the embedded server must be fresh or
 * has died.
 */
#include "analyze/preflight.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "analyze/analyzer_internal.h"
#include "analyze/server_client.h"
#include "analyze/sampler.h"
#include "analyze/server_proc.h"
#include "analyze/variant.h"
#include "metrics/collector.h"
#include "metrics/machine.h"
#include "metrics/prometheus.h"
#include "model/config.h"
#include "model/repository.h"
#include "model/schema.h"
#include "store/query.h"
#include "store/store.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/strbuf.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define CONTROL_TIMEOUT_MS 15000
#define LOAD_TIMEOUT_MS (30L * 60 * 1000)
/*
 * After a level failed: is the server still there? Liveness is the
 * cheapest route a server has and the load has stopped, so a server that
 * takes longer than this to answer it is not answering.
 */
#define LIVENESS_TIMEOUT_MS 3000
#define SAMPLE_INTERVAL_MS 50

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

void analyzer_server_close(struct analyzer *a, bool at_once)
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

int analyzer_server_start(struct analyzer *a, struct it_error *err)
{
	struct server_proc_options po;
	int rc;

	analyzer_server_close(a, false);
	memset(&po, 0, sizeof(po));
	po.exe = a->cfg->exe;
	po.model_repository = a->out_repo;
	po.log_path = a->log_path;
	po.port_file = a->port_file;
	po.start_timeout_s = 60;
	po.stop_timeout_s = 10;
	/* Pinned, or back to every CPU when only the analysis is pinned. */
	po.cpus = a->pinning.server_pinned ? &a->pinning.server : &a->allowed_cpus;
	rc = server_proc_start(&po, &a->proc, err);
	if (rc)
		return rc;
	a->server_url = xstrdup(server_proc_url(a->proc));
	a->metrics_url = xstrdup(server_proc_metrics_url(a->proc));
	a->client = server_client_new(a->server_url, CONTROL_TIMEOUT_MS, LOAD_TIMEOUT_MS);
	server_client_set_cancel(a->client, a->cfg->interrupt);
	if (a->sampler)
		sampler_set_pid(a->sampler, server_proc_pid(a->proc));
	rc = server_client_live(a->client, 0, err);
	if (rc)
		it_error_prefix(err, "the embedded server started but does not answer");
	return rc;
}

/*
 * A crashing child takes a moment to exit after its sockets reset, so the
 * embedded check waits up to a second for the exit to show.
 */
bool analyzer_server_alive(struct analyzer *a, char *how, size_t size)
{
	struct server_client *c = a->client;

	if (a->proc) {
		double deadline = mono_s() + 1.0;

		while (server_proc_alive(a->proc, how, size)) {
			struct timespec ts = { 0, 10000000 };

			if (!server_client_live(c, LIVENESS_TIMEOUT_MS, NULL) || mono_s() > deadline)
				return true;
			nanosleep(&ts, NULL);
		}
		return false;
	}
	if (server_client_live(c, LIVENESS_TIMEOUT_MS, NULL)) {
		snprintf(how, size, "does not answer at %s", a->server_url);
		return false;
	}
	return true;
}

static void gpu_add(struct analyzer *a, const char *uuid)
{
	a->gpus = xreallocarray(a->gpus, a->n_gpus + 1, sizeof(*a->gpus));
	a->gpus[a->n_gpus++] = xstrdup(uuid);
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
		if (!known)
			gpu_add(a, uuid);
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
		for (size_t g = 0; g < r.n_gpus; g++)
			gpu_add(a, r.gpus[g].uuid);
		collectors_free(c);
		return;
	}
	strbuf_init(&page, 0);
	if (!server_client_get_url(a->client, a->metrics_url, &page, NULL))
		gpus_from_page(a, page.buf, page.len);
	strbuf_release(&page);
}

/* A remote server: it must answer; its metrics URL defaults to Triton's. */
static int connect_remote(struct analyzer *a, struct it_error *err)
{
	const struct analyze_options *o = a->o;
	int rc;

	a->server_url = xstrdup(o->url);
	a->client = server_client_new(o->url, CONTROL_TIMEOUT_MS, LOAD_TIMEOUT_MS);
	server_client_set_cancel(a->client, a->cfg->interrupt);
	free(a->server_url);
	a->server_url = xstrdup(server_client_url(a->client));
	rc = server_client_live(a->client, 0, err);
	if (rc) {
		it_error_prefix(err, "the server at %s is not reachable", a->server_url);
		return rc;
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
	return 0;
}

/*
 * Resolves the CPU sets and pins this process (the load generator's
 * threads and the sampler are created after this, so they inherit it).
 */
static int pin_cpus(struct analyzer *a, struct it_error *err)
{
	int rc = cpuset_get_allowed(&a->allowed_cpus, err);

	if (!rc)
		rc = pinning_resolve(a->o, &a->allowed_cpus, &a->pinning, err);
	if (rc)
		return rc;
	if (a->pinning.client_pinned) {
		rc = cpuset_apply_self(&a->pinning.client);
		if (rc)
			return it_error_set(err, IT_ERR_IO, "cannot pin the load generator: %s",
					    strerror(-rc));
	}
	analyzer_emit(a, AEV_LOG, 0, "CPU pinning: %s", a->pinning.description);
	return 0;
}

int preflight_server(struct analyzer *a, struct it_error *err)
{
	struct strbuf page;
	int rc;

	rc = pin_cpus(a, err);
	if (rc)
		return rc;
	if (a->o->server_mode == ANALYZE_SERVER_EMBEDDED) {
		find_gpus(a);
		rc = analyzer_server_start(a, err);
	} else {
		rc = connect_remote(a, err);
	}
	if (rc)
		return rc;
	strbuf_init(&page, 0);
	a->collect_metrics = !server_client_get_url(a->client, a->metrics_url, &page, NULL);
	strbuf_release(&page);
	if (!a->collect_metrics)
		analyzer_emit(a, AEV_LOG, 1,
			      "the server's metrics page %s does not answer: GPU and server CPU series will be absent",
			      a->metrics_url);
	return sampler_start(a->proc ? server_proc_pid(a->proc) : 0, SAMPLE_INTERVAL_MS,
			     &a->sampler, err);
}

/* ---- the export folder and the repositories ----------------------------------- */

/* One analysis per export folder: a second one would interleave runs. */
static int lock_export(struct analyzer *a, struct it_error *err)
{
	char *lock = fs_join(a->export_path, ".analyze.lock");
	int rc = 0;

	a->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (a->lock_fd < 0)
		rc = it_error_set(err, IT_ERR_IO,
				  "cannot write in the export folder %s (--export-path): %s: %s",
				  a->export_path, lock, strerror(errno));
	else if (flock(a->lock_fd, LOCK_EX | LOCK_NB))
		rc = it_error_set(err, IT_ERR_STATE,
				  "another infertune analyze is running with the export path %s",
				  a->export_path);
	free(lock);
	return rc;
}

int preflight_export(struct analyzer *a, struct it_error *err)
{
	const struct analyze_options *o = a->o;
	bool db_existed;
	int rc;

	rc = fs_mkdir_p(o->export_path ? o->export_path : ".", err);
	if (rc)
		return rc;
	a->export_path = absolute(o->export_path ? o->export_path : ".");
	a->results_dir = fs_join(a->export_path, "results");
	a->db_path = fs_join(a->export_path, "results.db");
	a->log_path = fs_join(a->export_path, "server.log");
	a->port_file = fs_join(a->export_path, ".server-ports");
	rc = lock_export(a, err);
	if (rc)
		return rc;
	db_existed = fs_is_file(a->db_path);
	if (o->resume && !db_existed)
		return it_error_set(err, IT_ERR_NOT_FOUND,
				    "--resume: there is no %s to resume from", a->db_path);
	rc = store_open(a->db_path, &a->store, err);
	if (rc)
		return rc;
	if (db_existed) {
		int64_t n = 0, stale = 0;

		store_run_count(a->store, &n, NULL);
		a->resumed = n > 0;
		rc = store_run_close_stale(a->store, &stale, err);
		if (rc)
			return rc;
	}
	return fs_mkdir_p(a->results_dir, err);
}

int preflight_output_repository(struct analyzer *a, struct it_error *err)
{
	const struct analyze_options *o = a->o;
	int rc;

	/* Model Analyzer refuses an existing one. */
	a->out_repo = o->output_model_repository ? absolute(o->output_model_repository) :
		      fs_join(a->export_path, "output_model_repository");
	if (fs_is_dir(a->out_repo) && !fs_dir_is_empty(a->out_repo) && !a->resumed) {
		if (!o->override_output_repository)
			return it_error_set(err, IT_ERR_INVALID,
					    "the output model repository %s already exists; remove it, give --override-output-model-repository, or another --output-model-repository-path",
					    a->out_repo);
		rc = fs_rm_rf(a->out_repo, err);
		if (rc)
			return rc;
	}
	return fs_mkdir_p(a->out_repo, err);
}

int preflight_model_repository(struct analyzer *a, struct it_error *err)
{
	const char *dirs[1] = { a->o->model_repository };

	if (!a->o->model_repository)
		return 0;
	return repository_scan(dirs, 1, &a->repo, err);
}

/* ---- the models --------------------------------------------------------------- */

void model_ctx_release(struct model_ctx *m)
{
	model_config_free(m->base);
	free(m->base_pbtxt);
	free(m->base_json);
	free(m->source_dir);
	free(m->repository);
	free(m->threads);
	perf_settings_release(&m->ps);
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

/*
 * The model's default configuration (from the model repository, or from a
 * remote server), refused when infertune cannot serve or search it.
 */
static int model_base_config(struct analyzer *a, struct model_ctx *mc,
			     const struct model_spec *spec, struct it_error *err)
{
	const struct analyze_options *o = a->o;
	const struct repo_model *rm = a->repo ? repository_find(a->repo, spec->name) : NULL;
	const char *unsupported;
	int rc;

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
	return 0;
}

/*
 * A variable dimension needs a --shape, or every measurement of every
 * variant would fail (Model Analyzer issue server#6976): check it now.
 */
static int check_shapes(const struct model_ctx *mc, const struct model_spec *spec,
			struct it_error *err)
{
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
	return 0;
}

static void threads_add(struct model_ctx *mc, long t)
{
	XGROW(mc->threads, mc->alloc_threads, mc->n_threads + 1);
	mc->threads[mc->n_threads++] = (int32_t)t;
}

/*
 * Intra-op thread counts for a PyTorch model on CPU without manual
 * parameters: 1, 2, 4, ... up to the online CPUs, and their count.
 */
static void model_threads(struct model_ctx *mc)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	if (cpus < 1)
		cpus = 1;
	for (long t = 1; t <= cpus; t *= 2)
		threads_add(mc, t);
	if (mc->threads[mc->n_threads - 1] != cpus)
		threads_add(mc, cpus);
	mc->space.threads = mc->threads;
	mc->space.n_threads = mc->n_threads;
	mc->space.max_cpu_threads = (int32_t)cpus;
}

/* The search space of a model: the options' bounds and the default's values. */
static void model_space(const struct analyze_options *o, struct model_ctx *mc,
			const struct model_spec *spec)
{
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
	mc->space.concurrencies = mc->concurrency.v;
	mc->space.n_concurrencies = mc->concurrency.n;
	mc->space.request_rates = mc->rates.v;
	mc->space.n_request_rates = mc->rates.n;
	mc->space.top_n = o->num_configs_per_model;
	mc->space.default_mbs = mc->base->max_batch_size;
	mc->space.default_instances = variant_instance_count(mc->base);
	mc->space.n_manual = spec->manual.n_overlays;
	mc->space.manual_mbs = spec->manual.mbs;
	mc->space.n_manual_mbs = spec->manual.n_mbs;
	mc->space.early_exit = o->early_exit_enable;
	if (is_pytorch(mc->base) && mc->kind == INSTANCE_KIND_CPU && !spec->manual.given)
		model_threads(mc);
}

/* Every manual combination must build into a valid configuration. */
static int check_manual(const struct model_ctx *mc, const struct model_spec *spec,
			struct it_error *err)
{
	int rc;

	for (size_t i = 0; i < spec->manual.n_overlays; i++) {
		for (size_t k = 0; k < (spec->manual.n_mbs ? spec->manual.n_mbs : 1); k++) {
			struct search_point pt;
			struct model_config *cfg = NULL;

			memset(&pt, 0, sizeof(pt));
			pt.manual = (long)i;
			pt.max_batch_size = spec->manual.n_mbs ? spec->manual.mbs[k] : 0;
			rc = variant_build_config(mc, &pt, &cfg, err);
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

/*
 * A database measured before precision mode was analyze's default holds
 * measurements under the stability rule's key: a resumed run that only
 * got the new default keeps that rule, so that it reuses them and never
 * mixes measurements of the two rules (an explicit --precision wins).
 */
static int keep_resumed_rule(struct analyzer *a, struct model_ctx *mc,
			     struct it_error *err)
{
	char key[sizeof(mc->profile_key)];
	bool used_now = false, used_before = false;
	int rc;

	if (!a->resumed || !(mc->ps.precision_pct > 0) ||
	    analyze_precision_given(a->o))
		return 0;
	rc = store_profile_key_used(a->store, mc->profile_key, &used_now, err);
	if (rc || used_now)
		return rc;
	mc->ps.precision_pct = 0;
	perf_settings_key(&mc->ps, key, sizeof(key));
	rc = store_profile_key_used(a->store, key, &used_before, err);
	if (!rc && used_before)
		snprintf(mc->profile_key, sizeof(mc->profile_key), "%s", key);
	else
		mc->ps.precision_pct = ANALYZE_DEFAULT_PRECISION_PCT;
	return rc;
}

static int prepare_model(struct analyzer *a, struct model_ctx *mc,
			 const struct model_spec *spec, struct it_error *err)
{
	const struct analyze_options *o = a->o;
	int rc;

	mc->spec = spec;
	mc->name = spec->name;
	rc = model_base_config(a, mc, spec, err);
	if (rc)
		return rc;
	mc->base_pbtxt = variant_config_text(mc->base);
	mc->base_json = variant_config_json(mc->base, SCHEMA_JSON_INT64_STRING);
	mc->kind = (spec->cpu_only || a->n_gpus == 0) ? INSTANCE_KIND_CPU : INSTANCE_KIND_GPU;

	rc = analyze_perf_settings(o, spec, &mc->ps, err);
	if (rc) {
		it_error_prefix(err, "model '%s'", spec->name);
		return rc;
	}
	perf_settings_key(&mc->ps, mc->profile_key, sizeof(mc->profile_key));
	rc = keep_resumed_rule(a, mc, err);
	if (rc)
		return rc;
	rc = check_shapes(mc, spec, err);
	if (rc)
		return rc;
	rc = analyze_objectives(o, spec, &mc->obj, err);
	if (rc) {
		it_error_prefix(err, "model '%s'", spec->name);
		return rc;
	}

	mc->concurrency = spec->concurrency.n ? spec->concurrency : o->concurrency;
	mc->rates = spec->request_rate.n ? spec->request_rate : o->request_rate;
	mc->batches = spec->batch_sizes.n ? spec->batch_sizes : o->batch_sizes;
	mc->list_given = mc->concurrency.n || mc->rates.n;
	model_space(o, mc, spec);
	return check_manual(mc, spec, err);
}

/*
 * The strategy started once on the model's space and dropped, so that what
 * it refuses (model_config_parameters or request rates with the predictive
 * search) stops the analysis before anything is measured, not after the
 * models before it.
 */
static int check_strategy(struct analyzer *a, const struct model_ctx *mc, struct it_error *err)
{
	const struct search_ops *ops = search_find(analyzer_search_mode(a));
	struct search *s = NULL;
	int rc;

	if (!ops)
		return 0;
	rc = search_new(ops, &mc->space, &mc->obj, &s, err);
	search_free(s);
	if (rc)
		it_error_prefix(err, "model '%s'", mc->name);
	return rc;
}

int preflight_models(struct analyzer *a, struct it_error *err)
{
	const struct analyze_options *o = a->o;
	int rc;

	a->models = xcalloc(o->n_models, sizeof(*a->models));
	a->n_models = o->n_models;
	for (size_t i = 0; i < o->n_models; i++) {
		rc = prepare_model(a, &a->models[i], &o->models[i], err);
		if (!rc)
			rc = check_strategy(a, &a->models[i], err);
		if (rc)
			return rc;
	}
	return 0;
}

/*
 * A remote server's CPU and memory cannot be read from here (the KServe
 * API does not give them), so the rows say "not known" and name the
 * client that ran analyze rather than pass it off as the server. Rewritten
 * by every run: the rows describe the latest one, as the report does.
 */
int preflight_record_machine(struct analyzer *a, struct it_error *err)
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
	if (rc)
		goto out;
	rc = store_meta_set(a->store, "cpu_pinning", a->pinning.description, err);
out:
	strbuf_release(&cpu);
	strbuf_release(&memory);
	return rc;
}
