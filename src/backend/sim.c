/*
 * `sim`: a simulated accelerator for deterministic scheduling tests and
 * search benchmarks (docs/sim-backend.md). An execution of batch b holds one
 * of its device's slots for sim_base_us + sim_per_item_us * b microseconds,
 * sleeping, not spinning, so the figures hold on a loaded two-core machine.
 * Depends on backend/backend.h, model/ and util/ only.
 */
#include "backend/backend.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/error.h"
#include "util/xalloc.h"
#include "util/banned.h"

/* Caps that keep a typo from hanging a test for hours or eating memory. */
#define SIM_MAX_US 60000000ULL        /* one minute per execution term */
#define SIM_MAX_SLOTS 1024ULL
#define SIM_MAX_OUTPUT_BYTES ((size_t)1 << 30)
#define SIM_MAX_MEMORY_MB (1ULL << 30)   /* a petabyte */

/*
 * Simulated memory: every instance of a model with sim_memory_mb holds that
 * much of one pool shared by all sim models of the process while it is
 * loaded; an instance that would take the pool past its model's
 * sim_memory_capacity_mb fails to load with "out of memory", as a model
 * that does not fit beside the others on a GPU does.
 */
static pthread_mutex_t sim_memory_mu = PTHREAD_MUTEX_INITIALIZER;
static uint64_t sim_memory_used_mb;

/*
 * One simulated device. Every instance of the model placed on it shares its
 * slots. Admission is first come, first served through tickets: ticket t may
 * run once fewer than `slots` earlier tickets are still running, i.e. when
 * t < released + slots. A condvar alone would let a waiter be overtaken and
 * make queueing for the device unfair, which skews latency figures.
 */
struct sim_device {
	int id;                 /* GPU id; -1 is the host ("cpu") */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	uint64_t next_ticket;
	uint64_t released;
	struct sim_device *next;
};

struct sim_model {
	const struct model_config *cfg;
	uint64_t base_us;
	uint64_t per_item_us;
	uint64_t slots;
	uint64_t memory_mb;     /* held by each instance while loaded */
	uint64_t capacity_mb;   /* the pool's size as this model sees it (0 = unlimited) */
	uint64_t abort_after;   /* test-only: abort() at this execution (0 = never) */
	uint64_t fail_every;    /* test-only: every Nth execution fails (0 = never) */
	uint64_t executions;    /* guarded by mu; counted when abort_after or fail_every is set */
	pthread_mutex_t mu;     /* guards `devices` (instance_new runs on many threads) */
	struct sim_device *devices;
};

struct sim_instance {
	struct sim_model *model;
	struct sim_device *device;
};

/*
 * sim_crash_on_load and sim_abort_after are TEST-ONLY fault injection for
 * `infertune analyze` (tests/integration/analyze/): a variant that kills the
 * server while loading, or while being measured, must be recorded as failed
 * and the search must go on. They call abort(), taking the whole server
 * process down, exactly as a crashing backend would. sim_fail_every is the
 * server's own test (tests/integration/serve/): every Nth execution returns
 * an error, as a backend does that fails one batch; only that batch's
 * requests may get it. Never set them outside tests.
 */
static const char *const sim_params[] = {
	"sim_base_us", "sim_per_item_us", "sim_device_slots",
	"sim_memory_mb", "sim_memory_capacity_mb", "sim_crash_on_load", "sim_abort_after",
	"sim_fail_every",
};

/* A plain decimal integer <= max: digits only, no sign, space or suffix. */
static bool parse_decimal(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (!*s)
		return false;
	for (const char *p = s; *p; p++) {
		uint64_t digit = (uint64_t)(*p - '0');

		if (*p < '0' || *p > '9' || v > (max - digit) / 10)
			return false;
		v = v * 10 + digit;
	}
	*out = v;
	return true;
}

/* Parameter `key` as an integer in [min, max]; a missing one takes def. */
static int sim_param(const struct model_config *cfg, const char *key,
		     uint64_t def, uint64_t min, uint64_t max, uint64_t *out,
		     struct it_error *err)
{
	const char *s = model_config_parameter(cfg, key);
	uint64_t v;

	if (!s) {
		*out = def;
		return 0;
	}
	if (!parse_decimal(s, max, &v) || v < min)
		return it_error_set(err, IT_ERR_INVALID,
				    "backend 'sim': parameter %s is '%s'; it must be a whole number from %llu to %llu",
				    key, s, (unsigned long long)min,
				    (unsigned long long)max);
	*out = v;
	return 0;
}

static int sim_model_load(const struct model_config *cfg,
			  const char *version_dir, void **model_state,
			  struct it_error *err)
{
	struct sim_model *m = NULL;
	uint64_t base_us, per_item_us, slots, memory_mb, capacity_mb, crash_on_load, abort_after,
		 fail_every;
	int rc;

	(void)version_dir;
	/* A misspelt sim_ parameter would silently fall back to a default. */
	for (size_t i = 0; i < cfg->n_parameters; i++) {
		const char *key = cfg->parameters[i].key;
		bool known = false;

		if (strncmp(key, "sim_", 4))
			continue;
		for (size_t k = 0; k < sizeof(sim_params) / sizeof(sim_params[0]); k++)
			known = known || !strcmp(key, sim_params[k]);
		if (!known)
			return it_error_set(err, IT_ERR_INVALID,
					    "backend 'sim': unknown parameter '%s'; known: sim_base_us, sim_per_item_us, sim_device_slots, sim_memory_mb, sim_memory_capacity_mb, sim_crash_on_load, sim_abort_after, sim_fail_every",
					    key);
	}
	rc = sim_param(cfg, "sim_base_us", 0, 0, SIM_MAX_US, &base_us, err);
	if (rc)
		return rc;
	rc = sim_param(cfg, "sim_per_item_us", 0, 0, SIM_MAX_US, &per_item_us,
		       err);
	if (rc)
		return rc;
	rc = sim_param(cfg, "sim_device_slots", 1, 1, SIM_MAX_SLOTS, &slots,
		       err);
	if (rc)
		return rc;
	rc = sim_param(cfg, "sim_memory_mb", 0, 0, SIM_MAX_MEMORY_MB, &memory_mb, err);
	if (rc)
		return rc;
	rc = sim_param(cfg, "sim_memory_capacity_mb", 0, 0, SIM_MAX_MEMORY_MB, &capacity_mb,
		       err);
	if (rc)
		return rc;
	rc = sim_param(cfg, "sim_crash_on_load", 0, 0, 1, &crash_on_load, err);
	if (rc)
		return rc;
	rc = sim_param(cfg, "sim_abort_after", 0, 0, UINT32_MAX, &abort_after,
		       err);
	if (rc)
		return rc;
	rc = sim_param(cfg, "sim_fail_every", 0, 0, UINT32_MAX, &fail_every, err);
	if (rc)
		return rc;
	if (crash_on_load)
		abort(); /* test-only: a backend that takes the server down while loading */

	m = xcalloc(1, sizeof(*m));
	m->cfg = cfg;
	m->base_us = base_us;
	m->per_item_us = per_item_us;
	m->slots = slots;
	m->memory_mb = memory_mb;
	m->capacity_mb = capacity_mb;
	m->abort_after = abort_after;
	m->fail_every = fail_every;
	pthread_mutex_init(&m->mu, NULL);
	*model_state = m;
	return 0;
}

static void sim_model_unload(void *model_state)
{
	struct sim_model *m = model_state;
	struct sim_device *d, *next;

	if (!m)
		return;
	for (d = m->devices; d; d = next) {
		next = d->next;
		pthread_cond_destroy(&d->cv);
		pthread_mutex_destroy(&d->mu);
		free(d);
	}
	pthread_mutex_destroy(&m->mu);
	free(m);
}

/* The device of `id`, created on first use. Called with m->mu held. */
static struct sim_device *sim_device_get(struct sim_model *m, int id)
{
	struct sim_device *d;

	for (d = m->devices; d; d = d->next) {
		if (d->id == id)
			return d;
	}
	d = xcalloc(1, sizeof(*d));
	d->id = id;
	pthread_mutex_init(&d->mu, NULL);
	pthread_cond_init(&d->cv, NULL);
	d->next = m->devices;
	m->devices = d;
	return d;
}

static int sim_instance_new(void *model_state,
			    const struct backend_instance_info *info,
			    void **instance_state, struct it_error *err)
{
	struct sim_model *m = model_state;
	struct sim_instance *inst;
	int id = -1;

	/* KIND_CPU, KIND_MODEL (and KIND_AUTO resolved to CPU) share the host. */
	if (info->kind == INSTANCE_KIND_GPU)
		id = info->device_id < 0 ? 0 : info->device_id;
	pthread_mutex_lock(&sim_memory_mu);
	if (m->capacity_mb && sim_memory_used_mb + m->memory_mb > m->capacity_mb) {
		uint64_t used = sim_memory_used_mb;

		pthread_mutex_unlock(&sim_memory_mu);
		return it_error_set(err, IT_ERR_LIMIT,
				    "backend 'sim': out of memory: an instance needs %llu MB and loaded models hold %llu of %llu MB (sim_memory_capacity_mb)",
				    (unsigned long long)m->memory_mb, (unsigned long long)used,
				    (unsigned long long)m->capacity_mb);
	}
	sim_memory_used_mb += m->memory_mb;
	pthread_mutex_unlock(&sim_memory_mu);
	inst = xcalloc(1, sizeof(*inst));
	inst->model = m;
	pthread_mutex_lock(&m->mu);
	inst->device = sim_device_get(m, id);
	pthread_mutex_unlock(&m->mu);
	*instance_state = inst;
	return 0;
}

static void sim_instance_free(void *instance_state)
{
	struct sim_instance *inst = instance_state;

	if (!inst)
		return;
	pthread_mutex_lock(&sim_memory_mu);
	sim_memory_used_mb -= inst->model->memory_mb;
	pthread_mutex_unlock(&sim_memory_mu);
	free(inst);
}

/* Batch size of this execution: the first present input's dim 0, else 1. */
static int64_t sim_batch_size(const struct model_config *cfg,
			      const struct tensor *inputs, size_t n_inputs)
{
	if (cfg->max_batch_size <= 0)
		return 1;
	for (size_t i = 0; i < n_inputs; i++) {
		if (inputs[i].n_dims > 0)
			return inputs[i].shape[0];
	}
	return 1;
}

/* Frees outputs[0..n) data. */
static void sim_outputs_release(struct tensor *outputs, size_t n)
{
	for (size_t j = 0; j < n; j++) {
		free(outputs[j].data);
		outputs[j].data = NULL;
		outputs[j].byte_size = 0;
	}
}

/*
 * Zero-filled outputs shaped as the config declares, with the batch
 * dimension of this execution in front and variable (-1) dims taken as 1.
 * A BYTES element of zeros is the 4-byte length 0: an empty string.
 */
static int sim_outputs_fill(const struct model_config *cfg, int64_t batch,
			    struct tensor *outputs, size_t n_outputs,
			    struct it_error *err)
{
	for (size_t j = 0; j < n_outputs; j++) {
		const struct model_tensor *o = &cfg->outputs[j];
		struct tensor *t = &outputs[j];
		size_t elem = o->data_type == DATATYPE_STRING
			? 4 : datatype_size_bytes(o->data_type);
		int64_t count;

		t->name = o->name;
		t->datatype = o->data_type;
		t->n_dims = 0;
		if (cfg->max_batch_size > 0)
			t->shape[t->n_dims++] = batch;
		for (size_t d = 0; d < o->n_dims && t->n_dims < TENSOR_MAX_DIMS; d++)
			t->shape[t->n_dims++] = o->dims[d] < 0 ? 1 : o->dims[d];
		count = tensor_element_count(t->shape, t->n_dims);
		if (count < 0 || elem == 0 ||
		    (uint64_t)count > SIM_MAX_OUTPUT_BYTES / elem) {
			sim_outputs_release(outputs, j);
			return it_error_set(err, IT_ERR_LIMIT,
					    "sim: output '%s' would exceed %zu bytes",
					    o->name, SIM_MAX_OUTPUT_BYTES);
		}
		t->byte_size = (size_t)count * elem;
		t->data = xmalloc(t->byte_size);
		memset(t->data, 0, t->byte_size);
	}
	return 0;
}

/*
 * Sleeps until an absolute CLOCK_MONOTONIC deadline: an interrupted or late
 * wake-up never pushes the end later than the deadline plus one wake-up
 * latency, so oversleep does not accumulate across retries.
 */
static void sim_sleep_until(const struct timespec *deadline)
{
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, deadline,
			       NULL) == EINTR)
		;
}

static int sim_execute(void *instance_state, const struct tensor *inputs,
		       size_t n_inputs, struct tensor *outputs,
		       size_t n_outputs, struct it_error *err)
{
	struct sim_instance *inst = instance_state;
	struct sim_model *m = inst->model;
	struct sim_device *d = inst->device;
	int64_t batch = sim_batch_size(m->cfg, inputs, n_inputs);
	struct timespec deadline;
	uint64_t ticket, busy_ns;
	int rc;

	if (n_outputs != m->cfg->n_outputs)
		return it_error_set(err, IT_ERR_INTERNAL,
				    "sim: called with %zu outputs, config has %zu",
				    n_outputs, m->cfg->n_outputs);
	if (batch < 1)
		batch = 1;
	if (m->abort_after || m->fail_every) {
		uint64_t n;

		pthread_mutex_lock(&m->mu);
		n = ++m->executions;
		pthread_mutex_unlock(&m->mu);
		if (m->abort_after && n >= m->abort_after)
			abort(); /* test-only: a backend that crashes mid-measurement */
		if (m->fail_every && n % m->fail_every == 0)
			return it_error_set(err, IT_ERR_INTERNAL,
					    "sim: execution %llu of a batch of %lld failed "
					    "(sim_fail_every %llu: test-only fault injection)",
					    (unsigned long long)n, (long long)batch,
					    (unsigned long long)m->fail_every);
	}
	/* Outputs first, so the device time is the simulated time only. */
	rc = sim_outputs_fill(m->cfg, batch, outputs, n_outputs, err);
	if (rc)
		return rc;
	busy_ns = (m->base_us + m->per_item_us * (uint64_t)batch) * 1000;

	pthread_mutex_lock(&d->mu);
	ticket = d->next_ticket++;
	while (ticket >= d->released + m->slots)
		pthread_cond_wait(&d->cv, &d->mu);
	pthread_mutex_unlock(&d->mu);

	/* The slot is ours from now until the deadline. */
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += (time_t)(busy_ns / 1000000000ULL);
	deadline.tv_nsec += (long)(busy_ns % 1000000000ULL);
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	sim_sleep_until(&deadline);

	pthread_mutex_lock(&d->mu);
	d->released++;
	/* Broadcast: the waiter whose ticket is next may be any of them. */
	pthread_cond_broadcast(&d->cv);
	pthread_mutex_unlock(&d->mu);
	return 0;
}

const struct backend_ops backend_sim = {
	.name = "sim",
	.platform = NULL,
	.model_load = sim_model_load,
	.model_unload = sim_model_unload,
	.instance_new = sim_instance_new,
	.instance_free = sim_instance_free,
	.execute = sim_execute,
};
