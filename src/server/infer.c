/*
 * The life of one inference request object: created zeroed for a model's
 * config, filled by the protocol layer and the scheduler, freed with
 * everything it owns. Depends on backend/ (struct tensor) and util/.
 */
#include "server/infer.h"

#include <stdlib.h>
#include <time.h>

#include "util/xalloc.h"
#include "util/banned.h"

struct infer_request *infer_request_new(const struct model_config *config)
{
	struct infer_request *req = xcalloc(1, sizeof(*req));

	req->id = xstrdup("");
	req->config = config;
	req->batch_size = 1;
	/* The protocol layer overwrites this with the arrival time it saw. */
	req->received_ns = infer_now_ns();
	req->n_inputs = config->n_inputs;
	req->inputs = xcalloc(config->n_inputs ? config->n_inputs : 1,
			      sizeof(*req->inputs));
	/*
	 * Names and types come from the config so that an input the client
	 * left out (optional) still says what it is: data NULL, n_dims 0.
	 */
	for (size_t i = 0; i < config->n_inputs; i++) {
		req->inputs[i].name = config->inputs[i].name;
		req->inputs[i].datatype = config->inputs[i].data_type;
	}
	req->n_outputs = config->n_outputs;
	req->outputs = xcalloc(config->n_outputs ? config->n_outputs : 1,
			       sizeof(*req->outputs));
	for (size_t j = 0; j < config->n_outputs; j++) {
		req->outputs[j].name = config->outputs[j].name;
		req->outputs[j].datatype = config->outputs[j].data_type;
	}
	req->output_requested = xcalloc(config->n_outputs ? config->n_outputs : 1,
					sizeof(*req->output_requested));
	req->output_binary = xcalloc(config->n_outputs ? config->n_outputs : 1,
				     sizeof(*req->output_binary));
	return req;
}

void infer_request_free(struct infer_request *req)
{
	if (!req)
		return;
	free(req->id);
	free(req->inputs);
	free(req->output_requested);
	free(req->output_binary);
	free(req->body);
	for (size_t k = 0; k < req->n_owned; k++)
		free(req->owned[k]);
	free(req->owned);
	if (req->outputs) {
		for (size_t j = 0; j < req->n_outputs; j++)
			free(req->outputs[j].data);
	}
	free(req->outputs);
	free(req);
}

void infer_request_own(struct infer_request *req, void *buffer)
{
	/* At most one buffer per input, so growing one slot at a time is fine. */
	req->owned = xreallocarray(req->owned, req->n_owned + 1,
				   sizeof(*req->owned));
	req->owned[req->n_owned++] = buffer;
}

uint64_t infer_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}
