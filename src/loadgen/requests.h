/*
 * Inference request bodies, built once before the load starts and reused for
 * every request: the shapes come from the model metadata and --shape, the
 * data is zeros, seeded random values, or the steps of a perf_analyzer input
 * JSON file; the encoding is the binary tensor extension (perf_analyzer's
 * default) or plain JSON. Depends on loadgen/target, loadgen/schedule (the
 * seeded generator), model/datatype, util/ and jansson.
 */
#ifndef INFERTUNE_LOADGEN_REQUESTS_H
#define INFERTUNE_LOADGEN_REQUESTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct it_error;
struct target_model;

/** Most dimensions a --shape may give. */
#define INPUT_SHAPE_MAX_DIMS 16

/** One --shape NAME:D1,D2,... (dimensions without the batch dimension). */
struct input_shape {
	char name[256];
	int64_t dims[INPUT_SHAPE_MAX_DIMS];
	size_t n_dims;
};

/**
 * Parses "NAME:D1,D2,...". The name is everything before the last ':' (input
 * names may contain ':'); each dimension is a whole number > 0. IT_ERR_INVALID
 * with a message naming the argument otherwise.
 */
int input_shape_parse(const char *arg, struct input_shape *out,
		      struct it_error *err);

/** Where the tensor data comes from (--input-data). */
enum input_data_kind {
	INPUT_DATA_RANDOM = 0,  /* perf_analyzer's default */
	INPUT_DATA_ZERO,
	INPUT_DATA_FILE,
};

/** How to build the requests. Plain value struct; zero means defaults. */
struct request_options {
	int64_t batch_size;             /* >= 1 */
	enum input_data_kind data;
	const char *data_file;          /* INPUT_DATA_FILE: perf_analyzer's JSON format */
	const struct input_shape *shapes;
	size_t n_shapes;
	size_t string_length;           /* BYTES elements of generated data; 0 = 128 */
	uint64_t seed;                  /* random data */
	bool input_json;                /* inputs as JSON "data" instead of binary */
	bool output_json;               /* ask for JSON outputs instead of binary */
};

/** One prebuilt body: JSON header then the binary blobs. */
struct request_body {
	char *data;
	size_t len;
	size_t header_len;      /* Inference-Header-Content-Length */
};

/**
 * The bodies the load cycles through (one for generated data; one per batch
 * of file steps). Read-only after request_set_build(); the worker threads
 * share it.
 */
struct request_set {
	struct request_body *bodies;
	size_t n_bodies;
	bool binary;            /* true: some input travels as a binary blob */
	size_t max_body_bytes;
	/* Shape of each input in the first body, for messages: "INPUT0 [1,4]". */
	char *shapes_text;
};

/**
 * Builds the bodies for model m. Fails with IT_ERR_INVALID and a message
 * naming the input for: a variable dimension without --shape (or a "shape"
 * in the data file), a --shape for an input the model does not have or whose
 * rank or fixed dimensions disagree with the model, a batch size the model
 * cannot take, FP16/BF16 data requested as JSON, or data-file content that
 * does not fit the input; IT_ERR_PARSE / IT_ERR_NOT_FOUND for a data file
 * that is not JSON or cannot be read. On success *out is new; free it with
 * request_set_free().
 */
int request_set_build(const struct target_model *m,
		      const struct request_options *opts,
		      struct request_set **out, struct it_error *err);

/** Frees s; NULL is a no-op. */
void request_set_free(struct request_set *s);

#endif
