/*
 * torch_inproc: the in-process half of bench/torch-latency. Loads one model
 * of a Triton repository with the pytorch backend exactly as `infertune
 * serve` does (same config, so the same INTRA_OP_THREAD_COUNT and other
 * parameters; instance_new and execute on one thread, as a scheduler worker
 * runs them) and times back-to-back execute() calls: no HTTP, no queue, no
 * copies but the backend's own. The driver sends one command per line on
 * stdin, "BATCH WARMUP ITERATIONS", and gets one JSON line per command on
 * stdout, so one process serves a whole run without reloading the model.
 *
 * Usage: torch_inproc MODEL_DIR   (MODEL_DIR = <repository>/<model>)
 *
 * Inputs are filled by the rule bench/torch-latency's client uses too:
 * floating point element i = ((i * 2654435761) mod 2001 - 1000) / 1000,
 * integer inputs whose name contains "mask" = 1, other integers =
 * (i * 7919) mod 20000 + 1000 (valid BERT token ids).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend/backend.h"
#include "model/config.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define MAX_ITERATIONS 100000

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Fills one input of `count` elements by the rule in the header comment. */
static void fill(void *data, enum datatype dt, const char *name, size_t count)
{
	bool mask = strstr(name, "mask") != NULL;

	for (size_t i = 0; i < count; i++) {
		double f = ((double)((i * 2654435761ULL) % 2001) - 1000.0) / 1000.0;
		int64_t v = mask ? 1 : (int64_t)((i * 7919) % 20000 + 1000);

		switch (dt) {
		case DATATYPE_FP32: ((float *)data)[i] = (float)f; break;
		case DATATYPE_FP64: ((double *)data)[i] = f; break;
		case DATATYPE_INT64: ((int64_t *)data)[i] = v; break;
		case DATATYPE_INT32: ((int32_t *)data)[i] = (int32_t)v; break;
		default: memset((char *)data + i * datatype_size_bytes(dt), 0,
				datatype_size_bytes(dt));
		}
	}
}

/* Runs one command; prints its JSON line. Returns 0 or an IT_ERR_* code. */
static int run(const struct model_config *cfg, const struct backend_ops *ops,
	       void *inst, int64_t batch, long warmup, long iterations,
	       struct it_error *err)
{
	struct tensor *in = xcalloc(cfg->n_inputs, sizeof(*in));
	struct tensor *out = xcalloc(cfg->n_outputs, sizeof(*out));
	uint64_t *lat = xcalloc((size_t)iterations, sizeof(*lat));
	uint64_t total = 0, t0;
	int rc = 0;

	for (size_t i = 0; i < cfg->n_inputs; i++) {
		const struct model_tensor *ct = &cfg->inputs[i];
		size_t count = (size_t)batch;

		in[i].name = ct->name;
		in[i].datatype = ct->data_type;
		in[i].shape[0] = batch;
		for (size_t d = 0; d < ct->n_dims; d++) {
			in[i].shape[d + 1] = ct->dims[d];
			count *= (size_t)ct->dims[d];
		}
		in[i].n_dims = ct->n_dims + 1;
		in[i].byte_size = count * datatype_size_bytes(ct->data_type);
		in[i].data = xmalloc(in[i].byte_size);
		fill(in[i].data, ct->data_type, ct->name, count);
	}
	for (long k = 0; k < warmup + iterations && !rc; k++) {
		t0 = now_ns();
		rc = ops->execute(inst, in, cfg->n_inputs, out, cfg->n_outputs, err);
		if (k >= warmup)
			lat[k - warmup] = now_ns() - t0;
		for (size_t j = 0; j < cfg->n_outputs; j++) {
			free(out[j].data);
			out[j].data = NULL;
		}
	}
	if (!rc) {
		for (long k = 0; k < iterations; k++)
			total += lat[k];
		qsort(lat, (size_t)iterations, sizeof(*lat), cmp_u64);
		printf("{\"batch\": %" PRId64 ", \"iterations\": %ld, "
		       "\"mean_ms\": %.3f, \"p50_ms\": %.3f, \"min_ms\": %.3f, "
		       "\"max_ms\": %.3f, \"infer_per_s\": %.3f}\n",
		       batch, iterations, total / 1e6 / (double)iterations,
		       lat[iterations / 2] / 1e6, lat[0] / 1e6,
		       lat[iterations - 1] / 1e6,
		       (double)batch * (double)iterations / (total / 1e9));
		fflush(stdout);
	}
	for (size_t i = 0; i < cfg->n_inputs; i++)
		free(in[i].data);
	free(in);
	free(out);
	free(lat);
	return rc;
}

int main(int argc, char **argv)
{
	struct it_error err = { 0 };
	struct model_config *cfg = NULL;
	const struct backend_ops *ops = NULL;
	void *model = NULL, *inst = NULL;
	struct backend_instance_info info = {
		.name = "inproc_0", .index = 0, .kind = INSTANCE_KIND_CPU,
		.device_id = -1,
	};
	char *cfg_path = NULL, *vdir = NULL;
	char line[256];
	int rc = 1;

	if (argc != 2) {
		fprintf(stderr, "usage: %s MODEL_DIR\n", argv[0]);
		return 2;
	}
	cfg_path = fs_join(argv[1], "config.pbtxt");
	vdir = fs_join(argv[1], "1");
	cfg = model_config_load_file(cfg_path, &err);
	if (!cfg)
		goto out;
	if (cfg->max_batch_size <= 0) {
		it_error_set(&err, IT_ERR_INVALID, "%s: the benchmark needs a batching model",
			     cfg_path);
		goto out;
	}
	ops = backend_find(cfg, &err);
	if (!ops)
		goto out;
	if (ops->model_load(cfg, vdir, &model, &err))
		goto out;
	if (ops->instance_new(model, &info, &inst, &err))
		goto out;
	printf("{\"ready\": true}\n");
	fflush(stdout);

	while (fgets(line, sizeof(line), stdin)) {
		long long batch;
		long warmup, iterations;

		if (sscanf(line, "%lld %ld %ld", &batch, &warmup, &iterations) != 3 ||
		    batch < 1 || batch > cfg->max_batch_size || warmup < 0 ||
		    iterations < 1 || iterations > MAX_ITERATIONS) {
			fprintf(stderr, "torch_inproc: bad command '%s'\n", line);
			goto out;
		}
		if (run(cfg, ops, inst, (int64_t)batch, warmup, iterations, &err))
			goto out;
	}
	rc = 0;
out:
	if (rc && err.code)
		fprintf(stderr, "torch_inproc: %s\n", err.message);
	if (inst)
		ops->instance_free(inst);
	if (model)
		ops->model_unload(model);
	model_config_free(cfg);
	free(cfg_path);
	free(vdir);
	return rc;
}
