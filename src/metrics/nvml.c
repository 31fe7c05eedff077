/*
 * GPU collector over NVML, loaded with dlopen("libnvidia-ml.so.1") at run
 * time so that infertune builds and runs on machines without the NVIDIA
 * driver: there the collector is simply "not available". The few NVML types
 * and entry points used are declared here (no NVML header is needed); their
 * layout is NVML's stable C ABI (nvml.h, versioned entry points *_v2).
 */
#include "metrics/collector.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define NVML_LIBRARY "libnvidia-ml.so.1"
#define NVML_SUCCESS 0

/* nvml.h: nvmlUtilization_t and nvmlMemory_t, field for field. */
struct nvml_utilization {
	unsigned int gpu;    /* percent of time a kernel ran */
	unsigned int memory; /* percent of time memory was read or written */
};

struct nvml_memory {
	unsigned long long total;
	unsigned long long free;
	unsigned long long used;
};

struct nvml_device; /* behind nvmlDevice_t, an opaque pointer */

struct nvml_api {
	int (*init)(void);
	int (*shutdown)(void);
	const char *(*error_string)(int);
	int (*device_count)(unsigned int *);
	int (*device_by_index)(unsigned int, struct nvml_device **);
	int (*device_uuid)(struct nvml_device *, char *, unsigned int);
	int (*device_utilization)(struct nvml_device *, struct nvml_utilization *);
	int (*device_power)(struct nvml_device *, unsigned int *);       /* mW */
	int (*device_power_limit)(struct nvml_device *, unsigned int *); /* mW */
	int (*device_memory)(struct nvml_device *, struct nvml_memory *);
	int (*device_energy)(struct nvml_device *, unsigned long long *); /* mJ since driver load */
};

struct nvml_gpu {
	struct nvml_device *dev;
	char uuid[COLLECTOR_UUID_MAX];
	bool has_energy;
	unsigned long long energy_start_mj;
};

struct nvml_state {
	void *lib;
	struct nvml_api api;
	bool initialised;
	struct nvml_gpu gpus[COLLECTOR_MAX_GPUS];
	unsigned n_gpus;
};

/*
 * dlsym() returns a data pointer; POSIX guarantees it converts to a function
 * pointer, and copying the bytes says so without a cast ISO C frowns on.
 */
static bool resolve(void *lib, const char *name, void *fn, size_t fn_size,
		    bool required, struct it_error *err)
{
	void *sym = dlsym(lib, name);

	if (!sym) {
		if (required)
			it_error_set(err, IT_ERR_UNSUPPORTED,
				     "%s: no symbol %s", NVML_LIBRARY, name);
		return !required;
	}
	memcpy(fn, &sym, fn_size);
	return true;
}

#define RESOLVE(lib, name, field, required, err) \
	resolve((lib), (name), &(field), sizeof(field), (required), (err))

static const char *nvml_strerror(const struct nvml_state *s, int rc)
{
	if (s->api.error_string)
		return s->api.error_string(rc);
	return "NVML error";
}

static void nvml_close(void *state)
{
	struct nvml_state *s = state;

	if (!s)
		return;
	if (s->initialised && s->api.shutdown)
		s->api.shutdown();
	if (s->lib)
		dlclose(s->lib);
	free(s);
}

static int nvml_open(void **state, struct it_error *err)
{
	struct nvml_state *s = xcalloc(1, sizeof(*s));
	struct nvml_api *a = &s->api;
	unsigned int count = 0;
	int rc = 0;
	int nrc;

	s->lib = dlopen(NVML_LIBRARY, RTLD_NOW | RTLD_LOCAL);
	if (!s->lib) {
		const char *why = dlerror();

		rc = it_error_set(err, IT_ERR_UNSUPPORTED, "%s",
				  why ? why : "cannot load " NVML_LIBRARY);
		goto out;
	}
	if (!RESOLVE(s->lib, "nvmlInit_v2", a->init, true, err) ||
	    !RESOLVE(s->lib, "nvmlShutdown", a->shutdown, true, err) ||
	    !RESOLVE(s->lib, "nvmlErrorString", a->error_string, false, err) ||
	    !RESOLVE(s->lib, "nvmlDeviceGetCount_v2", a->device_count, true, err) ||
	    !RESOLVE(s->lib, "nvmlDeviceGetHandleByIndex_v2", a->device_by_index, true, err) ||
	    !RESOLVE(s->lib, "nvmlDeviceGetUUID", a->device_uuid, true, err) ||
	    !RESOLVE(s->lib, "nvmlDeviceGetUtilizationRates", a->device_utilization, false, err) ||
	    !RESOLVE(s->lib, "nvmlDeviceGetPowerUsage", a->device_power, false, err) ||
	    !RESOLVE(s->lib, "nvmlDeviceGetPowerManagementLimit", a->device_power_limit, false, err) ||
	    !RESOLVE(s->lib, "nvmlDeviceGetMemoryInfo", a->device_memory, false, err) ||
	    !RESOLVE(s->lib, "nvmlDeviceGetTotalEnergyConsumption", a->device_energy, false, err)) {
		rc = IT_ERR_UNSUPPORTED;
		goto out;
	}
	nrc = a->init();
	if (nrc != NVML_SUCCESS) {
		/* A driver without a GPU, or a GPU-less container with the library. */
		rc = it_error_set(err, IT_ERR_UNSUPPORTED, "nvmlInit: %s",
				  nvml_strerror(s, nrc));
		goto out;
	}
	s->initialised = true;
	nrc = a->device_count(&count);
	if (nrc != NVML_SUCCESS || count == 0) {
		rc = it_error_set(err, IT_ERR_UNSUPPORTED, "NVML sees no GPU%s%s",
				  nrc != NVML_SUCCESS ? ": " : "",
				  nrc != NVML_SUCCESS ? nvml_strerror(s, nrc) : "");
		goto out;
	}
	for (unsigned int i = 0; i < count && s->n_gpus < COLLECTOR_MAX_GPUS; i++) {
		struct nvml_gpu *g = &s->gpus[s->n_gpus];

		if (a->device_by_index(i, &g->dev) != NVML_SUCCESS)
			continue;
		if (a->device_uuid(g->dev, g->uuid, sizeof(g->uuid)) != NVML_SUCCESS)
			snprintf(g->uuid, sizeof(g->uuid), "GPU-%u", i);
		/* Energy is cumulative since the driver loaded; report it since open. */
		if (a->device_energy &&
		    a->device_energy(g->dev, &g->energy_start_mj) == NVML_SUCCESS)
			g->has_energy = true;
		s->n_gpus++;
	}
	if (!s->n_gpus)
		rc = it_error_set(err, IT_ERR_UNSUPPORTED,
				  "NVML could not open any GPU");
out:
	if (rc) {
		nvml_close(s);
		return rc;
	}
	*state = s;
	return 0;
}

static int nvml_read(void *state, struct metrics_reading *out,
		     struct it_error *err)
{
	struct nvml_state *s = state;
	const struct nvml_api *a = &s->api;

	(void)err;
	out->n_gpus = 0;
	for (unsigned i = 0; i < s->n_gpus; i++) {
		const struct nvml_gpu *g = &s->gpus[i];
		struct gpu_reading *r = &out->gpus[out->n_gpus++];
		struct nvml_utilization util;
		struct nvml_memory mem;
		unsigned long long mj;
		unsigned int mw;

		memset(r, 0, sizeof(*r));
		memcpy(r->uuid, g->uuid, sizeof(r->uuid));
		r->index = i;
		if (a->device_utilization &&
		    a->device_utilization(g->dev, &util) == NVML_SUCCESS) {
			r->has_utilization = true;
			r->utilization = util.gpu / 100.0;
		}
		if (a->device_memory && a->device_memory(g->dev, &mem) == NVML_SUCCESS) {
			r->has_memory = true;
			r->memory_total_bytes = mem.total;
			r->memory_used_bytes = mem.used;
		}
		if (a->device_power && a->device_power(g->dev, &mw) == NVML_SUCCESS) {
			r->has_power = true;
			r->power_w = mw / 1000.0;
		}
		if (a->device_power_limit &&
		    a->device_power_limit(g->dev, &mw) == NVML_SUCCESS) {
			r->has_power_limit = true;
			r->power_limit_w = mw / 1000.0;
		}
		if (g->has_energy && a->device_energy(g->dev, &mj) == NVML_SUCCESS &&
		    mj >= g->energy_start_mj) {
			r->has_energy = true;
			r->energy_j = (double)(mj - g->energy_start_mj) / 1000.0;
		}
	}
	return 0;
}

const struct collector_ops collector_nvml = {
	.name = "nvml",
	.open = nvml_open,
	.read = nvml_read,
	.close = nvml_close,
};
