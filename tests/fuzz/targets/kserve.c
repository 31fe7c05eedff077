/*
 * Fuzz target: the KServe v2 request decoder and the response encoder
 * (server/kserve), with the Inference-Header-Content-Length header. The
 * input is three parts: a first line naming the model ("batched", else the
 * "types" model), a second line holding the header's value (empty: no
 * header), then the body. An accepted request must be consistent (sizes
 * add up, BYTES elements walk exactly, batch within max_batch_size, data
 * aligned); answered by a mirror backend (each output a copy of its input),
 * its response must be well framed, and the response read back as a request
 * must give the same tensors.
 */
#include "fuzz.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "backend/backend.h"
#include "model/config.h"
#include "model/datatype.h"
#include "server/infer.h"
#include "server/kserve.h"
#include "util/error.h"
#include "util/strbuf.h"
#include "util/utf8.h"
#include "util/xalloc.h"

/* No batching; one optional input I_<T> and one output O_<T> per data type, dims [-1]. */
static const char types_text[] =
	"name: \"types\"\nmax_batch_size: 0\n"
	"input [ { name: \"I_BOOL\" data_type: TYPE_BOOL dims: [ -1 ] optional: true },\n"
	"  { name: \"I_UINT8\" data_type: TYPE_UINT8 dims: [ -1 ] optional: true },\n"
	"  { name: \"I_UINT16\" data_type: TYPE_UINT16 dims: [ -1 ] optional: true },\n"
	"  { name: \"I_UINT32\" data_type: TYPE_UINT32 dims: [ -1 ] optional: true },\n"
	"  { name: \"I_UINT64\" data_type: TYPE_UINT64 dims: [ -1 ] optional: true },\n"
	"  { name: \"I_INT8\" data_type: TYPE_INT8 dims: [ -1 ] optional: true },\n"
	"  { name: \"I_INT16\" data_type: TYPE_INT16 dims: [ -1 ] optional: true },\n"
	"  { name: \"I_INT32\" data_type: TYPE_INT32 dims: [ -1 ] optional: true },\n"
	"  { name: \"I_INT64\" data_type: TYPE_INT64 dims: [ -1 ] optional: true },\n"
	"  { name: \"I_FP16\" data_type: TYPE_FP16 dims: [ -1 ] optional: true },\n"
	"  { name: \"I_FP32\" data_type: TYPE_FP32 dims: [ -1 ] optional: true },\n"
	"  { name: \"I_FP64\" data_type: TYPE_FP64 dims: [ -1 ] optional: true },\n"
	"  { name: \"I_BYTES\" data_type: TYPE_STRING dims: [ -1 ] optional: true },\n"
	"  { name: \"I_BF16\" data_type: TYPE_BF16 dims: [ -1 ] optional: true } ]\n"
	"output [ { name: \"O_BOOL\" data_type: TYPE_BOOL dims: [ -1 ] },\n"
	"  { name: \"O_UINT8\" data_type: TYPE_UINT8 dims: [ -1 ] },\n"
	"  { name: \"O_UINT16\" data_type: TYPE_UINT16 dims: [ -1 ] },\n"
	"  { name: \"O_UINT32\" data_type: TYPE_UINT32 dims: [ -1 ] },\n"
	"  { name: \"O_UINT64\" data_type: TYPE_UINT64 dims: [ -1 ] },\n"
	"  { name: \"O_INT8\" data_type: TYPE_INT8 dims: [ -1 ] },\n"
	"  { name: \"O_INT16\" data_type: TYPE_INT16 dims: [ -1 ] },\n"
	"  { name: \"O_INT32\" data_type: TYPE_INT32 dims: [ -1 ] },\n"
	"  { name: \"O_INT64\" data_type: TYPE_INT64 dims: [ -1 ] },\n"
	"  { name: \"O_FP16\" data_type: TYPE_FP16 dims: [ -1 ] },\n"
	"  { name: \"O_FP32\" data_type: TYPE_FP32 dims: [ -1 ] },\n"
	"  { name: \"O_FP64\" data_type: TYPE_FP64 dims: [ -1 ] },\n"
	"  { name: \"O_BYTES\" data_type: TYPE_STRING dims: [ -1 ] },\n"
	"  { name: \"O_BF16\" data_type: TYPE_BF16 dims: [ -1 ] } ]\n";

/* Batching up to 4, a required input and optional ones of higher rank. */
static const char batched_text[] =
	"name: \"batched\"\nmax_batch_size: 4\n"
	"input [ { name: \"I_FP32\" data_type: TYPE_FP32 dims: [ 2 ] },\n"
	"  { name: \"I_BYTES\" data_type: TYPE_STRING dims: [ -1 ] optional: true },\n"
	"  { name: \"I_INT8\" data_type: TYPE_INT8 dims: [ -1, 3 ] optional: true } ]\n"
	"output [ { name: \"O_FP32\" data_type: TYPE_FP32 dims: [ 2 ] },\n"
	"  { name: \"O_BYTES\" data_type: TYPE_STRING dims: [ -1 ] },\n"
	"  { name: \"O_INT8\" data_type: TYPE_INT8 dims: [ -1, 3 ] } ]\n";

static struct model_config *model(bool batched)
{
	static struct model_config *cfgs[2];
	const char *text = batched ? batched_text : types_text;
	struct it_error err = { 0 };

	if (!cfgs[batched]) {
		cfgs[batched] = model_config_parse(text, strlen(text), "fuzz.pbtxt", &err);
		FUZZ_CHECK(cfgs[batched] != NULL, "the target's model configs parse");
	}
	return cfgs[batched];
}

/* Cuts the next line off *p (at most *n bytes); returns it NUL-terminated (caller frees). */
static char *next_line(const char **p, size_t *n)
{
	const char *nl = memchr(*p, '\n', *n);
	size_t len = nl ? (size_t)(nl - *p) : *n;
	char *line = xmalloc(len + 1);

	memcpy(line, *p, len);
	line[len] = '\0';
	*p += nl ? len + 1 : len;
	*n -= nl ? len + 1 : len;
	return line;
}

/* An accepted request is consistent with itself and with its model. */
static void check_request(const struct infer_request *req)
{
	const struct model_config *cfg = req->config;

	FUZZ_CHECK(req->batch_size >= 1, "a batch has at least one request");
	if (cfg->max_batch_size > 0)
		FUZZ_CHECK(req->batch_size <= cfg->max_batch_size, "batch within max_batch_size");
	for (size_t i = 0; i < req->n_inputs; i++) {
		const struct tensor *t = &req->inputs[i];
		size_t size = datatype_size_bytes(t->datatype);
		int64_t n = tensor_element_count(t->shape, t->n_dims);
		const unsigned char *d = t->data;
		size_t at = 0;
		int64_t count = 0;

		if (!t->n_dims)
			continue; /* an optional input left out */
		FUZZ_CHECK(t->n_dims <= TENSOR_MAX_DIMS, "rank within TENSOR_MAX_DIMS");
		FUZZ_CHECK(n >= 0, "an accepted shape has an element count");
		FUZZ_CHECK(t->byte_size == 0 || t->data, "data behind a non-empty tensor");
		if (cfg->max_batch_size > 0)
			FUZZ_CHECK(t->shape[0] == req->batch_size, "every input has the batch size first");
		if (size) {
			FUZZ_CHECK(t->byte_size == (size_t)n * size, "byte size is elements times element size");
			FUZZ_CHECK(!t->byte_size || (uintptr_t)t->data % size == 0,
				   "tensor data is aligned to its element size");
			continue;
		}
		while (at < t->byte_size) {
			uint32_t len;

			FUZZ_CHECK(t->byte_size - at >= 4, "a BYTES element has its length prefix");
			memcpy(&len, d + at, 4);
			FUZZ_CHECK(t->byte_size - at - 4 >= len, "a BYTES element fits");
			at += 4 + (size_t)len;
			count++;
		}
		FUZZ_CHECK(count == n, "BYTES elements match the shape");
	}
}

/* The mirror backend: output j is a copy of input j; outputs without an input are not requested. */
static void mirror(struct infer_request *req)
{
	for (size_t j = 0; j < req->n_outputs; j++) {
		const struct tensor *in = &req->inputs[j];
		struct tensor *out = &req->outputs[j];

		if (!in->n_dims) {
			req->output_requested[j] = false;
			continue;
		}
		out->datatype = in->datatype;
		memcpy(out->shape, in->shape, sizeof(out->shape));
		out->n_dims = in->n_dims;
		out->byte_size = in->byte_size;
		out->data = in->byte_size ? xmemdup(in->data, in->byte_size) : NULL;
	}
}

/*
 * Output j sent as JSON reads back (jansson takes no NaN, Infinity or
 * integer above INT64_MAX) and, with `exact`, to the same bytes (-0 reads
 * back as 0; a BYTES element that is not UTF-8 is sent as the Latin-1
 * reading of its bytes).
 */
static bool json_roundtrips(const struct infer_request *req, size_t j, bool exact)
{
	const struct tensor *t = &req->outputs[j];
	const char *d = t->data;
	size_t n = t->byte_size;

	for (size_t at = 0; at < n;) {
		float f;
		double v = 0;
		uint64_t u;
		uint32_t len;

		switch (t->datatype) {
		case DATATYPE_FP32:
			memcpy(&f, d + at, 4);
			v = f;
			at += 4;
			break;
		case DATATYPE_FP64:
			memcpy(&v, d + at, 8);
			at += 8;
			break;
		case DATATYPE_UINT64:
			memcpy(&u, d + at, 8);
			if (u > INT64_MAX)
				return false;
			at += 8;
			continue;
		case DATATYPE_STRING:
			memcpy(&len, d + at, 4);
			if (exact && !utf8_valid(d + at + 4, len, NULL))
				return false;
			at += 4 + (size_t)len;
			continue;
		default:
			return true;
		}
		if (!isfinite(v) || (exact && v == 0 && signbit(v)))
			return false;
	}
	return true;
}

/*
 * The response read back as a request (its "outputs" renamed "inputs",
 * O_ names to I_) gives the tensors that were sent.
 */
static void check_readback(const struct infer_request *req, const struct strbuf *out,
			   size_t json_len, bool binary)
{
	json_error_t jerr;
	json_t *root, *outputs;
	char *header, *bytes;
	struct strbuf body;
	struct it_error err = { 0 };
	struct infer_request *back;
	size_t body_len;

	root = json_loadb(out->buf, json_len, JSON_ALLOW_NUL, &jerr);
	if (!root)
		fprintf(stderr, "response header: %s at %d:%d\n", jerr.text, jerr.line, jerr.column);
	FUZZ_CHECK(root != NULL, "the response header is JSON");
	outputs = json_object_get(root, "outputs");
	FUZZ_CHECK(json_is_array(outputs), "the response has outputs");
	for (size_t k = 0; k < json_array_size(outputs); k++) {
		json_t *o = json_array_get(outputs, k);
		char *name = xstrdup(json_string_value(json_object_get(o, "name")));

		name[0] = 'I';
		json_object_set_new(o, "name", json_string(name));
		free(name);
	}
	json_object_set(root, "inputs", outputs);
	json_object_del(root, "outputs");
	header = json_dumps(root, JSON_COMPACT | JSON_ENCODE_ANY);
	strbuf_init(&body, 0);
	strbuf_adds(&body, header);
	strbuf_add(&body, out->buf + json_len, out->len - json_len);
	bytes = strbuf_detach(&body, &body_len);
	back = kserve_parse_infer(req->config, bytes, body_len,
				  binary ? (long long)strlen(header) : -1, &err);
	if (!back)
		fprintf(stderr, "response read back as a request: %s\n", err.message);
	FUZZ_CHECK(back != NULL, "the response reads back as a request");
	FUZZ_CHECK(!strcmp(back->id, req->id), "the response echoes the id");
	for (size_t j = 0; j < req->n_outputs; j++) {
		const struct tensor *a = &req->outputs[j], *b = &back->inputs[j];

		if (!req->output_requested[j])
			continue;
		FUZZ_CHECK(b->n_dims == a->n_dims && b->datatype == a->datatype,
			   "an output reads back with its type and rank");
		FUZZ_CHECK(!memcmp(a->shape, b->shape, a->n_dims * sizeof(a->shape[0])),
			   "an output reads back with its shape");
		if (!req->output_binary[j] && !json_roundtrips(req, j, true))
			continue;
		FUZZ_CHECK(a->byte_size == b->byte_size &&
			   (!a->byte_size || !memcmp(a->data, b->data, a->byte_size)),
			   "an output reads back with its bytes");
	}
	infer_request_free(back);
	free(header);
	json_decref(root);
}

/* The response is framed as promised, and reads back when jansson can read it. */
static void check_response(struct infer_request *req)
{
	struct strbuf out;
	struct it_error err = { 0 };
	size_t json_len = 0, blobs = 0;
	bool binary = false, any_binary = false, strict = true, half_json = false;
	int rc;

	for (size_t j = 0; j < req->n_outputs; j++) {
		const struct tensor *t = &req->outputs[j];

		if (!req->output_requested[j])
			continue;
		if (req->output_binary[j]) {
			any_binary = true;
			blobs += t->byte_size;
		} else if (t->datatype == DATATYPE_FP16 || t->datatype == DATATYPE_BF16) {
			half_json = true;
		} else if (!json_roundtrips(req, j, false)) {
			strict = false;
		}
	}
	strbuf_init(&out, 0);
	rc = kserve_write_response(req, "fuzz", "1", &out, &json_len, &binary, &err);
	if (half_json) {
		FUZZ_CHECK(rc == IT_ERR_INVALID && out.len == 0,
			   "FP16/BF16 as JSON is refused, and nothing is written");
		goto out;
	}
	if (rc)
		fprintf(stderr, "response: %s\n", err.message);
	FUZZ_CHECK(rc == 0, "a mirrored request gets a response");
	FUZZ_CHECK(binary == any_binary, "binary is said when an output is binary");
	FUZZ_CHECK(json_len <= out.len && out.len - json_len == blobs,
		   "the binary part is exactly the binary outputs");
	if (strict)
		check_readback(req, &out, json_len, binary);
out:
	strbuf_release(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	size_t n = size;
	char *which = next_line(&p, &n), *header = next_line(&p, &n);
	struct model_config *cfg = model(!strcmp(which, "batched"));
	struct it_error err = { 0 };
	struct infer_request *req;
	long long header_len = -1;

	if (header[0] && kserve_parse_header_length(header, &header_len, &err)) {
		FUZZ_CHECK(err.code == IT_ERR_INVALID && err.message[0],
			   "a bad header length is refused with a message");
		goto out;
	}
	req = kserve_parse_infer(cfg, xmemdup(p, n), n, header_len, &err);
	if (!req) {
		FUZZ_CHECK(err.code < 0 && err.message[0], "a refused request says why");
		goto out;
	}
	check_request(req);
	mirror(req);
	check_response(req);
	infer_request_free(req);
out:
	free(header);
	free(which);
	return 0;
}
