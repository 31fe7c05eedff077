/*
 * One inference request as it travels from the protocol layer (server/kserve)
 * through the scheduler to a backend instance and back. Depends on backend/
 * and model/.
 */
#ifndef INFERTUNE_SERVER_INFER_H
#define INFERTUNE_SERVER_INFER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backend/backend.h"
#include "util/error.h"

struct infer_request;

/** Called once per request when it is done (success or error), on a scheduler thread. */
typedef void (*infer_complete_fn)(struct infer_request *req, void *arg);

/**
 * Heap object created by the protocol layer (infer_request_new), handed to
 * scheduler_enqueue() and given back through `on_complete`; the completion
 * handler owns it again and frees it with infer_request_free().
 */
struct infer_request {
	/* Filled by the protocol layer. */
	char *id;                    /* "" when absent */
	const struct model_config *config;
	struct tensor *inputs;       /* parallel to config->inputs; data points into `body` or `owned` */
	size_t n_inputs;
	int64_t batch_size;          /* first dim when config->max_batch_size > 0, else 1 */
	bool *output_requested;      /* parallel to config->outputs */
	bool *output_binary;         /* parallel to config->outputs */
	void *body;                  /* the request body the inputs point into; freed with the request */
	void **owned;                /* buffers decoded from JSON, freed with the request */
	size_t n_owned;
	uint64_t received_ns;        /* CLOCK_MONOTONIC when the request arrived */

	/* Filled by the scheduler. */
	uint64_t queue_start_ns;
	uint64_t compute_start_ns;
	uint64_t compute_input_end_ns;
	uint64_t compute_infer_end_ns;
	uint64_t compute_end_ns;
	struct tensor *outputs;      /* parallel to config->outputs; data owned by the request */
	size_t n_outputs;
	int status;                  /* 0 or IT_ERR_* */
	struct it_error error;

	infer_complete_fn on_complete;
	void *on_complete_arg;
};

/** A zeroed request for config (arrays sized from it). Caller frees. */
struct infer_request *infer_request_new(const struct model_config *config);
/** Frees the request, its body, owned buffers and outputs; NULL is a no-op. */
void infer_request_free(struct infer_request *req);
/** Records a buffer to free with the request (takes ownership). */
void infer_request_own(struct infer_request *req, void *buffer);

/** CLOCK_MONOTONIC in nanoseconds. */
uint64_t infer_now_ns(void);

#endif
