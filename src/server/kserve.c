/*
 * The KServe v2 inference body with Triton's binary tensor extension
 * (protocol.md §1.4-§1.7, §2): request bodies are checked against the model
 * config and turned into a struct infer_request; finished requests are
 * written back as a JSON header plus binary blobs. Pure functions over
 * buffers; depends on server/infer, backend/ (struct tensor), model/, util/
 * and jansson, never on the HTTP layer or the scheduler.
 *
 * Where Triton's behaviour is a quirk rather than a rule, the comment at the
 * spot says which way this file goes and why. Decisions in one place:
 * - Duplicate object keys are refused (JSON_REJECT_DUPLICATES). Triton's
 *   rapidjson keeps them and reads the first; silently picking one of two
 *   "shape"s is worse than a 400, and no official client sends duplicates.
 * - The header must be valid UTF-8 (jansson checks; rapidjson does not).
 *   Raw bytes belong in the binary extension.
 * - Integers in the header must fit int64 (jansson's json_int_t), so UINT64
 *   elements above INT64_MAX can only be sent as binary data; the parse
 *   error says so.
 * - Out-of-range JSON integers (300 for INT8, -1 for UINT*) are refused
 *   with the element index; Triton silently truncates them (its FIXME).
 * - JSON data is checked by total element count only (Triton); 0 elements
 *   need an empty "data" (Triton skips "data" entirely then).
 * - Binary tensors point into the body unless their offset is misaligned
 *   for the element type; those few are copied so that backends can read
 *   float/int64 arrays directly (UBSan-clean). BYTES data needs no copy.
 * - Request tensors keep the shape sent on the wire (batch dimension first);
 *   a config `reshape` is not applied here.
 * - JSON output floats are the shortest text that parses back to the same
 *   value (FP32: %.6g..%.9g; FP64: %.15g..%.17g); NaN and infinities are
 *   written NaN, Infinity, -Infinity as Python's json module does (JSON has
 *   no spelling for them; Python clients, the JSON users, read these).
 * - BYTES output as JSON: valid UTF-8 sequences pass through; any other
 *   byte b becomes the escape of U+00bb (its Latin-1 reading), so the body
 *   is always valid JSON. Triton writes the raw bytes, which JSON readers
 *   reject.
 */
#include "server/kserve.h"

#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "backend/backend.h"
#include "model/config.h"
#include "model/datatype.h"
#include "server/infer.h"
#include "util/error.h"
#include "util/strbuf.h"
#include "util/utf8.h"
#include "util/xalloc.h"
#include "util/banned.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "kserve.c copies tensor elements in host order: little-endian hosts only"
#endif

/*
 * Triton's HTTP_MAX_JSON_NESTING_DEPTH (server:src/common.h), applied to the
 * whole header document with the top-level object at depth 1. Checked by a
 * byte pre-scan before jansson sees the text, so a hostile "[[[[..." can
 * neither exhaust the stack nor make jansson build a deep tree.
 */
#define KSERVE_MAX_JSON_DEPTH 100

/*
 * Not a Triton limit: jansson spends about 45 bytes and 200 ns per value, so
 * a 64 MiB body of "0," would become 1.5 GB of tree and seconds of CPU. 4 Mi
 * values (a 16 MiB FP32 tensor in JSON, ~180 MB of tree at worst) is far
 * beyond what anyone sends as JSON; large tensors use the binary extension.
 */
#define KSERVE_MAX_JSON_VALUES ((size_t)4 << 20)

/* ------------------------------------------------------------------------ */
/* Small helpers                                                            */
/* ------------------------------------------------------------------------ */

/*
 * One pass over the header bytes, outside strings: the deepest [ or {
 * nesting, and an upper bound on the number of JSON values (commas plus
 * containers plus one). Stops early once either exceeds its limit.
 */
static void json_prescan(const unsigned char *s, size_t n, size_t max_depth,
			 size_t max_values, size_t *depth_out,
			 size_t *values_out)
{
	size_t depth = 0, max = 0, values = 1;
	bool in_string = false;

	for (size_t i = 0; i < n && max <= max_depth && values <= max_values;
	     i++) {
		unsigned char c = s[i];

		if (in_string) {
			if (c == '\\')
				i++; /* the escaped byte cannot end the string */
			else if (c == '"')
				in_string = false;
			continue;
		}
		if (c == '"') {
			in_string = true;
		} else if (c == '[' || c == '{') {
			values++;
			depth++;
			if (depth > max)
				max = depth;
		} else if (c == ',') {
			values++;
		} else if ((c == ']' || c == '}') && depth > 0) {
			depth--;
		}
	}
	*depth_out = max;
	*values_out = values;
}

/* The string value of j when it is a string without NUL bytes, else NULL. */
static const char *json_cstr(const json_t *j)
{
	const char *s;

	if (!json_is_string(j))
		return NULL;
	s = json_string_value(j);
	if (strlen(s) != json_string_length(j))
		return NULL;
	return s;
}

/* "a string", "null"...: what a value is, for messages. */
static const char *json_kind(const json_t *j)
{
	switch (json_typeof(j)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
		return "an integer";
	case JSON_REAL:
		return "a number with a fraction or exponent";
	case JSON_TRUE:
		return "true";
	case JSON_FALSE:
		return "false";
	case JSON_NULL:
		return "null";
	}
	return "an unknown value";
}

/* Writes "[2,-1,3]" (Triton's DimsListToString) into buf. */
static const char *dims_string(char *buf, size_t size, bool batch_wildcard,
			       const int64_t *dims, size_t n)
{
	size_t len = 0;
	int w;

	buf[0] = '\0';
	w = snprintf(buf, size, "[%s", batch_wildcard ? (n ? "-1," : "-1") : "");
	if (w < 0 || (size_t)w >= size)
		return buf;
	len = (size_t)w;
	for (size_t i = 0; i < n; i++) {
		w = snprintf(buf + len, size - len, "%s%" PRId64, i ? "," : "",
			     dims[i]);
		if (w < 0 || (size_t)w >= size - len)
			return buf;
		len += (size_t)w;
	}
	snprintf(buf + len, size - len, "]");
	return buf;
}

/* ------------------------------------------------------------------------ */
/* Request parsing                                                          */
/* ------------------------------------------------------------------------ */

struct parse_ctx {
	const struct model_config *cfg;
	struct infer_request *req;
	const unsigned char *body;
	size_t body_len;
	size_t cursor;          /* next unread binary byte */
	bool batch_seen;
	bool *seen;             /* parallel to cfg->inputs */
	struct it_error *err;
};

static const char *ctx_model(const struct parse_ctx *pc)
{
	return pc->cfg->name;
}

static int find_tensor(const struct model_tensor *ts, size_t n,
		       const json_t *name)
{
	const char *s = json_string_value(name);
	size_t len = json_string_length(name);

	for (size_t i = 0; i < n; i++)
		if (strlen(ts[i].name) == len && !memcmp(ts[i].name, s, len))
			return (int)i;
	return -1;
}

/* Every key of a "parameters" object must hold a string, number or bool. */
static int check_parameter_values(const json_t *params, const char *where,
				  struct it_error *err)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)params, key, v) {
		if (!json_is_string(v) && !json_is_number(v) &&
		    !json_is_boolean(v))
			return it_error_set(err, IT_ERR_INVALID,
					    "parameter '%s' of %s has invalid type (%s). It should be either 'int', 'bool', or 'string'.",
					    key, where, json_kind(v));
	}
	return 0;
}

/*
 * Request-level parameters (§1.6). Keys starting with triton_ are Triton's
 * own and refused as Triton refuses them; the reserved scheduling keys are
 * type-checked as Triton does but not acted on (no sequence batcher or
 * priority queues here yet); anything else is a custom parameter.
 */
static int parse_request_parameters(const json_t *root, bool *binary_default,
				    struct it_error *err)
{
	const json_t *params = json_object_get(root, "parameters");
	const char *key;
	json_t *v;

	*binary_default = false;
	if (!params)
		return 0;
	if (!json_is_object(params))
		return it_error_set(err, IT_ERR_INVALID,
				    "Unable to parse 'parameters': expected an object, got %s",
				    json_kind(params));
	json_object_foreach((json_t *)params, key, v) {
		if (!strncmp(key, "triton_", 7))
			return it_error_set(err, IT_ERR_INVALID,
					    "parameter keys starting with 'triton_' are reserved for Triton usage and should not be specified (got '%s').",
					    key);
		if (!strcmp(key, "binary_data_output")) {
			if (!json_is_boolean(v))
				return it_error_set(err, IT_ERR_INVALID,
						    "Unable to parse 'binary_data_output': expected a boolean, got %s",
						    json_kind(v));
			*binary_default = json_is_true(v);
		} else if (!strcmp(key, "sequence_start") ||
			   !strcmp(key, "sequence_end")) {
			if (!json_is_boolean(v))
				return it_error_set(err, IT_ERR_INVALID,
						    "Unable to parse '%s': expected a boolean, got %s",
						    key, json_kind(v));
		} else if (!strcmp(key, "priority") ||
			   !strcmp(key, "timeout")) {
			if (!json_is_integer(v) || json_integer_value(v) < 0)
				return it_error_set(err, IT_ERR_INVALID,
						    "Unable to parse '%s': expected a non-negative integer, got %s",
						    key, json_kind(v));
		} else if (!strcmp(key, "sequence_id")) {
			if (!json_is_string(v) &&
			    !(json_is_integer(v) && json_integer_value(v) >= 0))
				return it_error_set(err, IT_ERR_INVALID,
						    "Unable to parse 'sequence_id': expected a non-negative integer or a string, got %s",
						    json_kind(v));
		} else if (!json_is_string(v) && !json_is_number(v) &&
			   !json_is_boolean(v)) {
			return it_error_set(err, IT_ERR_INVALID,
					    "parameter '%s' has invalid type (%s). It should be either 'int', 'bool', or 'string'.",
					    key, json_kind(v));
		}
	}
	return 0;
}

/* Shape array → int64 dims; checks rank bound and non-negative integers. */
static int parse_shape(const json_t *shape, const char *input, int64_t *dims,
		       size_t *n_dims, struct it_error *err)
{
	size_t n;

	if (!json_is_array(shape))
		return it_error_set(err, IT_ERR_INVALID,
				    "Unable to parse 'shape' of input '%s': expected an array, got %s",
				    input, shape ? json_kind(shape) : "nothing");
	n = json_array_size(shape);
	if (n > TENSOR_MAX_DIMS)
		return it_error_set(err, IT_ERR_INVALID,
				    "shape of input '%s' has %zu dimensions; at most %d are supported",
				    input, n, TENSOR_MAX_DIMS);
	for (size_t i = 0; i < n; i++) {
		const json_t *d = json_array_get(shape, i);

		if (json_is_integer(d) && json_integer_value(d) < 0)
			return it_error_set(err, IT_ERR_INVALID,
					    "Unable to parse 'shape' of input '%s': dimension %zu must be a non-negative integer, got %" PRId64,
					    input, i, (int64_t)json_integer_value(d));
		if (!json_is_integer(d))
			return it_error_set(err, IT_ERR_INVALID,
					    "Unable to parse 'shape' of input '%s': dimension %zu must be a non-negative integer, got %s",
					    input, i, json_kind(d));
		dims[i] = (int64_t)json_integer_value(d);
	}
	*n_dims = n;
	return 0;
}

/*
 * Shape against the config (core: InferenceRequest::Normalize): rank is the
 * config rank plus the batch dimension when the model batches (shape tensors
 * carry none), every fixed dim matches, and the batch dimension is
 * 1..max_batch_size and equal across inputs. The shape is checked before
 * the batch size (Triton checks the batch first), so a forgotten batch
 * dimension is reported as a shape error with Triton's batching NOTE rather
 * than as "batch-size must be <= N".
 */
static int check_shape(struct parse_ctx *pc, const struct model_tensor *mt,
		       const int64_t *dims, size_t n_dims)
{
	const struct model_config *cfg = pc->cfg;
	bool batched = cfg->max_batch_size > 0 && !mt->is_shape_tensor;
	size_t off = batched ? 1 : 0;
	bool match = n_dims == mt->n_dims + off;
	char want[256], got[256];

	for (size_t i = 0; match && i < mt->n_dims; i++)
		if (mt->dims[i] != -1 && mt->dims[i] != dims[off + i])
			match = false;
	if (!match)
		return it_error_set(pc->err, IT_ERR_INVALID,
				    "unexpected shape for input '%s' for model '%s'. Expected %s, got %s.%s",
				    mt->name, ctx_model(pc),
				    dims_string(want, sizeof(want), batched,
						mt->dims, mt->n_dims),
				    dims_string(got, sizeof(got), false, dims,
						n_dims),
				    batched ? " NOTE: Setting a non-zero max_batch_size in the model config requires a batch dimension to be prepended to each input shape." : "");
	if (!batched)
		return 0;
	if (dims[0] < 1)
		return it_error_set(pc->err, IT_ERR_INVALID,
				    "input '%s' has batch size 0; the batch dimension must be at least 1 for '%s'",
				    mt->name, ctx_model(pc));
	if (dims[0] > cfg->max_batch_size)
		return it_error_set(pc->err, IT_ERR_INVALID,
				    "inference request batch-size must be <= %" PRId32 " for '%s' (input '%s' has %" PRId64 ")",
				    cfg->max_batch_size, ctx_model(pc),
				    mt->name, dims[0]);
	if (pc->batch_seen && dims[0] != pc->req->batch_size)
		return it_error_set(pc->err, IT_ERR_INVALID,
				    "input '%s' batch size does not match other inputs for '%s' (%" PRId64 " vs %" PRId64 ")",
				    mt->name, ctx_model(pc), dims[0],
				    pc->req->batch_size);
	pc->batch_seen = true;
	pc->req->batch_size = dims[0];
	return 0;
}

/* Product of dims, or -1 when it does not fit int64. */
static int64_t shape_elements(const int64_t *dims, size_t n)
{
	int64_t count = 1;

	for (size_t i = 0; i < n; i++) {
		if (dims[i] && count > INT64_MAX / dims[i])
			return -1;
		count *= dims[i];
	}
	return count;
}

static uint32_t load_u32le(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static void store_u32le(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

/*
 * Walks the <u32 LE length><bytes> elements of a BYTES tensor and checks
 * that they exactly fill size bytes and number `elements` (core:
 * ValidateBytesInputs wording). Used on requests and, defensively, on
 * backend outputs before they are sent.
 */
static int check_bytes_layout(const unsigned char *p, size_t size,
			      int64_t elements, const char *what,
			      const char *name, const char *model,
			      int code, struct it_error *err)
{
	size_t pos = 0;
	int64_t count = 0;

	while (pos < size) {
		uint32_t len;

		if (size - pos < 4)
			return it_error_set(err, code,
					    "element byte size indicator exceeds the end of the buffer: element %" PRId64 " of %s '%s' starts %zu bytes before the end of its %zu bytes of data",
					    count, what, name, size - pos, size);
		len = load_u32le(p + pos);
		pos += 4;
		if (len > size - pos)
			return it_error_set(err, code,
					    "element byte size indicator exceeds the end of the buffer: element %" PRId64 " of %s '%s' claims %" PRIu32 " bytes but only %zu remain",
					    count, what, name, len, size - pos);
		pos += len;
		count++;
		if (count > elements)
			return it_error_set(err, code,
					    "unexpected number of string elements %" PRId64 " for inference %s '%s' for model '%s', expecting %" PRId64,
					    count, what, name, model, elements);
	}
	if (count != elements)
		return it_error_set(err, code,
				    "expected %" PRId64 " string elements for inference %s '%s' for model '%s', got %" PRId64,
				    elements, what, name, model, count);
	return 0;
}

/*
 * Binary input (§2): binary_data_size bytes at the cursor. Fixed-size types
 * must match shape × element size exactly; BYTES are walked.
 */
static int read_binary_input(struct parse_ctx *pc,
			     const struct model_tensor *mt, const json_t *bds,
			     int64_t elements, struct tensor *t)
{
	size_t elem_size = datatype_size_bytes(mt->data_type);
	size_t remaining = pc->body_len - pc->cursor;
	const unsigned char *data = pc->body + pc->cursor;
	uint64_t size;
	int rc;

	if (!json_is_integer(bds) || json_integer_value(bds) < 0)
		return it_error_set(pc->err, IT_ERR_INVALID,
				    "Unable to parse 'binary_data_size' of input '%s': expected a non-negative integer, got %s",
				    mt->name, json_kind(bds));
	size = (uint64_t)json_integer_value(bds);
	if (size > remaining)
		return it_error_set(pc->err, IT_ERR_INVALID,
				    "unexpected size for input '%s', expecting %" PRIu64 " bytes but only %zu remain in the request body for model '%s'",
				    mt->name, size, remaining, ctx_model(pc));
	if (elem_size) {
		if ((uint64_t)elements > SIZE_MAX / elem_size ||
		    (uint64_t)elements * elem_size != size)
			return it_error_set(pc->err, IT_ERR_INVALID,
					    "input byte size mismatch for input '%s' for model '%s'. Expected %" PRId64 " elements of %zu bytes, got %" PRIu64 " bytes",
					    mt->name, ctx_model(pc), elements,
					    elem_size, size);
	} else {
		rc = check_bytes_layout(data, (size_t)size, elements, "input",
					mt->name, ctx_model(pc),
					IT_ERR_INVALID, pc->err);
		if (rc)
			return rc;
	}
	pc->cursor += (size_t)size;
	t->byte_size = (size_t)size;
	t->data = (void *)data;
	/*
	 * The JSON header has any length, so blobs land at any offset. Backends
	 * read float/int64 arrays in place: copy the rare misaligned one rather
	 * than make every backend use memcpy (malloc'd bodies are aligned).
	 */
	if (elem_size > 1 && (uintptr_t)data % elem_size) {
		void *copy = xmalloc((size_t)size);

		memcpy(copy, data, (size_t)size);
		infer_request_own(pc->req, copy);
		t->data = copy;
	}
	return 0;
}

/*
 * Counts the leaves of (possibly nested) JSON data, Triton's
 * ReadDataFromJsonHelper flattening. For BYTES also checks each leaf is a
 * string and sums the serialised size. Recursion is bounded by the depth
 * pre-scan.
 */
static int count_json_data(const json_t *j, const struct model_tensor *mt,
			   int64_t *count, size_t *bytes, struct it_error *err)
{
	if (json_is_array(j)) {
		size_t n = json_array_size(j);
		int rc;

		for (size_t i = 0; i < n; i++) {
			rc = count_json_data(json_array_get(j, i), mt, count,
					     bytes, err);
			if (rc)
				return rc;
		}
		return 0;
	}
	if (mt->data_type == DATATYPE_STRING) {
		size_t len;

		if (!json_is_string(j))
			return it_error_set(err, IT_ERR_INVALID,
					    "Unable to parse 'data' of input '%s': element %" PRId64 " must be a string for BYTES, got %s",
					    mt->name, *count, json_kind(j));
		len = json_string_length(j);
		if (len > UINT32_MAX)
			return it_error_set(err, IT_ERR_INVALID,
					    "Unable to parse 'data' of input '%s': element %" PRId64 " is longer than 4 GiB",
					    mt->name, *count);
		*bytes += 4 + len;
	}
	(*count)++;
	return 0;
}

/*
 * IEEE rounding takes doubles from FLT_MAX plus half an ulp upwards to
 * infinity; C leaves the out-of-range conversion undefined, so say it.
 */
static float double_to_float(double d)
{
	if (d >= 0x1.ffffffp127)
		return INFINITY;
	if (d <= -0x1.ffffffp127)
		return -INFINITY;
	return (float)d;
}

/* One JSON leaf into element `index` of buf; type and range checked. */
static int decode_json_element(const json_t *j, const struct model_tensor *mt,
			       int64_t index, unsigned char *buf,
			       size_t *offset, struct it_error *err)
{
	static const struct {
		int64_t min;
		uint64_t max;
	} ranges[DATATYPE_COUNT] = {
		[DATATYPE_UINT8] = { 0, UINT8_MAX },
		[DATATYPE_UINT16] = { 0, UINT16_MAX },
		[DATATYPE_UINT32] = { 0, UINT32_MAX },
		[DATATYPE_UINT64] = { 0, UINT64_MAX },
		[DATATYPE_INT8] = { INT8_MIN, INT8_MAX },
		[DATATYPE_INT16] = { INT16_MIN, INT16_MAX },
		[DATATYPE_INT32] = { INT32_MIN, INT32_MAX },
		[DATATYPE_INT64] = { INT64_MIN, INT64_MAX },
	};
	enum datatype dt = mt->data_type;
	const char *dt_name = datatype_protocol_name(dt);
	size_t size = datatype_size_bytes(dt);

	switch (dt) {
	case DATATYPE_BOOL:
		if (!json_is_boolean(j))
			return it_error_set(err, IT_ERR_INVALID,
					    "Unable to parse 'data' of input '%s': element %" PRId64 " must be true or false for BOOL, got %s",
					    mt->name, index, json_kind(j));
		buf[index] = json_is_true(j) ? 1 : 0;
		return 0;
	case DATATYPE_UINT8:
	case DATATYPE_UINT16:
	case DATATYPE_UINT32:
	case DATATYPE_UINT64:
	case DATATYPE_INT8:
	case DATATYPE_INT16:
	case DATATYPE_INT32:
	case DATATYPE_INT64: {
		json_int_t v;
		uint64_t u;
		int64_t s;

		if (!json_is_integer(j))
			return it_error_set(err, IT_ERR_INVALID,
					    "Unable to parse 'data' of input '%s': element %" PRId64 " must be an integer for %s, got %s",
					    mt->name, index, dt_name, json_kind(j));
		v = json_integer_value(j);
		if (v < ranges[dt].min ||
		    (v > 0 && (uint64_t)v > ranges[dt].max))
			return it_error_set(err, IT_ERR_INVALID,
					    "Unable to parse 'data' of input '%s': element %" PRId64 " is %" PRId64 ", out of range for %s [%" PRId64 ", %" PRIu64 "]",
					    mt->name, index, (int64_t)v, dt_name,
					    ranges[dt].min, ranges[dt].max);
		/* In range, so the low `size` bytes are the value (LE host). */
		s = (int64_t)v;
		u = (uint64_t)s;
		memcpy(buf + (size_t)index * size, &u, size);
		return 0;
	}
	case DATATYPE_FP32:
	case DATATYPE_FP64:
		if (!json_is_number(j))
			return it_error_set(err, IT_ERR_INVALID,
					    "Unable to parse 'data' of input '%s': element %" PRId64 " must be a number for %s, got %s",
					    mt->name, index, dt_name, json_kind(j));
		if (dt == DATATYPE_FP32) {
			float f = double_to_float(json_number_value(j));

			memcpy(buf + (size_t)index * 4, &f, 4);
		} else {
			double d = json_number_value(j);

			memcpy(buf + (size_t)index * 8, &d, 8);
		}
		return 0;
	case DATATYPE_STRING: {
		/* Checked to be a string by count_json_data. */
		size_t len = json_string_length(j);

		store_u32le(buf + *offset, (uint32_t)len);
		memcpy(buf + *offset + 4, json_string_value(j), len);
		*offset += 4 + len;
		return 0;
	}
	default:
		return it_error_set(err, IT_ERR_INTERNAL,
				    "input '%s': no JSON decoding for %s",
				    mt->name, dt_name);
	}
}

static int decode_json_data(const json_t *j, const struct model_tensor *mt,
			    int64_t *index, unsigned char *buf, size_t *offset,
			    struct it_error *err)
{
	int rc;

	if (json_is_array(j)) {
		size_t n = json_array_size(j);

		for (size_t i = 0; i < n; i++) {
			rc = decode_json_data(json_array_get(j, i), mt, index,
					      buf, offset, err);
			if (rc)
				return rc;
		}
		return 0;
	}
	rc = decode_json_element(j, mt, *index, buf, offset, err);
	if (rc)
		return rc;
	(*index)++;
	return 0;
}

/*
 * JSON input data: the element count must equal the shape's, which also
 * bounds the allocation by the body size (every element is at least one
 * byte of JSON text).
 */
static int read_json_input(struct parse_ctx *pc, const struct model_tensor *mt,
			   const json_t *data, int64_t elements,
			   struct tensor *t)
{
	size_t elem_size = datatype_size_bytes(mt->data_type);
	int64_t count = 0, index = 0;
	size_t bytes = 0, offset = 0;
	unsigned char *buf;
	int rc;

	if (mt->data_type == DATATYPE_FP16 || mt->data_type == DATATYPE_BF16)
		return it_error_set(pc->err, IT_ERR_INVALID,
				    "receiving %s data via JSON is not supported. Please use the binary data format for input '%s'",
				    datatype_protocol_name(mt->data_type),
				    mt->name);
	if (!json_is_array(data))
		return it_error_set(pc->err, IT_ERR_INVALID,
				    "Unable to parse 'data' of input '%s': expected an array, got %s",
				    mt->name, json_kind(data));
	rc = count_json_data(data, mt, &count, &bytes, pc->err);
	if (rc)
		return rc;
	if (count != elements)
		return it_error_set(pc->err, IT_ERR_INVALID,
				    "Unable to parse 'data' of input '%s': shape has %" PRId64 " elements but 'data' holds %" PRId64 " (Shape does not match true shape of 'data' field)",
				    mt->name, elements, count);
	if (elem_size)
		bytes = (size_t)count * elem_size;
	buf = xmalloc(bytes);
	infer_request_own(pc->req, buf);
	rc = decode_json_data(data, mt, &index, buf, &offset, pc->err);
	if (rc)
		return rc;
	t->data = buf;
	t->byte_size = bytes;
	return 0;
}

static int parse_input(struct parse_ctx *pc, size_t i, const json_t *in)
{
	const json_t *params, *data, *bds = NULL, *shm = NULL, *name, *dtj;
	const struct model_tensor *mt;
	const char *dts;
	enum datatype dt;
	int64_t dims[TENSOR_MAX_DIMS];
	size_t n_dims = 0;
	int64_t elements;
	struct tensor *t;
	int k, rc, n_set;

	if (!json_is_object(in))
		return it_error_set(pc->err, IT_ERR_INVALID,
				    "Unable to parse 'inputs': element %zu must be an object, got %s",
				    i, json_kind(in));
	name = json_object_get(in, "name");
	if (!json_is_string(name))
		return it_error_set(pc->err, IT_ERR_INVALID,
				    "Unable to parse 'name' of inputs[%zu]: expected a string, got %s",
				    i, name ? json_kind(name) : "nothing");
	k = find_tensor(pc->cfg->inputs, pc->cfg->n_inputs, name);
	if (k < 0)
		return it_error_set(pc->err, IT_ERR_INVALID,
				    "unexpected inference input '%s' for model '%s'",
				    json_string_value(name), ctx_model(pc));
	mt = &pc->cfg->inputs[k];
	if (pc->seen[k])
		return it_error_set(pc->err, IT_ERR_INVALID,
				    "input '%s' already exists in request",
				    mt->name);
	pc->seen[k] = true;

	/* ValidateInputContentType: exactly one source of data. */
	params = json_object_get(in, "parameters");
	if (params && !json_is_object(params))
		return it_error_set(pc->err, IT_ERR_INVALID,
				    "Unable to parse 'parameters' of input '%s': expected an object, got %s",
				    mt->name, json_kind(params));
	if (params) {
		bds = json_object_get(params, "binary_data_size");
		shm = json_object_get(params, "shared_memory_region");
	}
	data = json_object_get(in, "data");
	n_set = (data != NULL) + (bds != NULL) + (shm != NULL);
	if (n_set != 1)
		return it_error_set(pc->err, IT_ERR_INVALID,
				    "Input must set only one of the following fields: 'data', 'binary_data_size' in 'parameters', 'shared_memory_region' in 'parameters'. But %s%s%s%s (input '%s')",
				    n_set ? "set" : "no field is set",
				    data ? " 'data'" : "",
				    bds ? " 'binary_data_size'" : "",
				    shm ? " 'shared_memory_region'" : "",
				    mt->name);
	if (shm)
		return it_error_set(pc->err, IT_ERR_INVALID,
				    "input '%s' names a shared memory region, but this server offers no shared memory extension; send the data in the body",
				    mt->name);
	if (params) {
		rc = check_parameter_values(params, "an input", pc->err);
		if (rc)
			return rc;
	}

	dtj = json_object_get(in, "datatype");
	dts = json_cstr(dtj);
	if (!dts)
		return it_error_set(pc->err, IT_ERR_INVALID,
				    "Unable to parse 'datatype' of input '%s': expected a string, got %s",
				    mt->name, dtj ? json_kind(dtj) : "nothing");
	if (!datatype_from_protocol_name(dts, &dt))
		return it_error_set(pc->err, IT_ERR_INVALID,
				    "invalid datatype '%s' for input '%s'", dts,
				    mt->name);
	if (dt != mt->data_type)
		return it_error_set(pc->err, IT_ERR_INVALID,
				    "inference input '%s' data-type is '%s', but model '%s' expects '%s'",
				    mt->name, dts, ctx_model(pc),
				    datatype_protocol_name(mt->data_type));

	rc = parse_shape(json_object_get(in, "shape"), mt->name, dims, &n_dims,
			 pc->err);
	if (rc)
		return rc;
	rc = check_shape(pc, mt, dims, n_dims);
	if (rc)
		return rc;
	elements = shape_elements(dims, n_dims);
	if (elements < 0)
		return it_error_set(pc->err, IT_ERR_LIMIT,
				    "shape of input '%s' has more elements than fit in 64 bits",
				    mt->name);

	t = &pc->req->inputs[k];
	t->name = mt->name;
	t->datatype = dt;
	memcpy(t->shape, dims, n_dims * sizeof(dims[0]));
	t->n_dims = n_dims;
	if (bds)
		return read_binary_input(pc, mt, bds, elements, t);
	return read_json_input(pc, mt, data, elements, t);
}

/* Triton's message for missing inputs (core: InferenceRequest::Normalize). */
static int missing_inputs_error(struct parse_ctx *pc)
{
	const struct model_config *cfg = pc->cfg;
	struct strbuf got, missing;
	size_t n_got = 0, n_required = 0;
	int rc;

	strbuf_init(&got, 0);
	strbuf_init(&missing, 0);
	for (size_t i = 0; i < cfg->n_inputs; i++) {
		if (!cfg->inputs[i].optional)
			n_required++;
		if (pc->seen[i])
			strbuf_addf(&got, "%s'%s'", n_got++ ? "," : "",
				    cfg->inputs[i].name);
		else if (!cfg->inputs[i].optional)
			strbuf_addf(&missing, "%s'%s'",
				    missing.len ? "," : "",
				    cfg->inputs[i].name);
	}
	if (n_required == cfg->n_inputs)
		rc = it_error_set(pc->err, IT_ERR_INVALID,
				  "expected %zu inputs but got %zu inputs for model '%s'. Got inputs [%s], but missing required inputs [%s]. Please provide all required inputs.",
				  cfg->n_inputs, n_got, ctx_model(pc), got.buf,
				  missing.buf);
	else
		rc = it_error_set(pc->err, IT_ERR_INVALID,
				  "expected number of inputs between %zu and %zu but got %zu inputs for model '%s'. Got inputs [%s], but missing required inputs [%s]. Please provide all required inputs.",
				  n_required, cfg->n_inputs, n_got,
				  ctx_model(pc), got.buf, missing.buf);
	strbuf_release(&got);
	strbuf_release(&missing);
	return rc;
}

/*
 * "outputs" (§1.4, §2). Listed outputs are returned, binary only when their
 * binary_data is true: Triton's code, not its doc, gives a listed output
 * without binary_data JSON even under binary_data_output. No list, or an
 * empty one, returns every output in the default kind. A name listed twice
 * keeps its first entry, as Triton's output map does.
 */
static int parse_outputs(struct parse_ctx *pc, const json_t *root,
			 bool binary_default)
{
	const struct model_config *cfg = pc->cfg;
	const json_t *outputs = json_object_get(root, "outputs");
	bool *listed = NULL;
	size_t n;
	int rc = 0;

	if (outputs && !json_is_array(outputs))
		return it_error_set(pc->err, IT_ERR_INVALID,
				    "Unable to parse 'outputs': expected an array, got %s",
				    json_kind(outputs));
	n = outputs ? json_array_size(outputs) : 0;
	if (n == 0) {
		for (size_t j = 0; j < cfg->n_outputs; j++) {
			pc->req->output_requested[j] = true;
			pc->req->output_binary[j] = binary_default;
		}
		return 0;
	}
	listed = xcalloc(cfg->n_outputs ? cfg->n_outputs : 1, sizeof(*listed));
	for (size_t i = 0; i < n; i++) {
		const json_t *o = json_array_get(outputs, i);
		const json_t *name, *params, *bd = NULL;
		int k;

		if (!json_is_object(o)) {
			rc = it_error_set(pc->err, IT_ERR_INVALID,
					  "Unable to parse 'outputs': element %zu must be an object, got %s",
					  i, json_kind(o));
			goto out;
		}
		name = json_object_get(o, "name");
		if (!json_is_string(name)) {
			rc = it_error_set(pc->err, IT_ERR_INVALID,
					  "Unable to parse 'name' of outputs[%zu]: expected a string, got %s",
					  i, name ? json_kind(name) : "nothing");
			goto out;
		}
		k = find_tensor(cfg->outputs, cfg->n_outputs, name);
		if (k < 0) {
			rc = it_error_set(pc->err, IT_ERR_INVALID,
					  "unexpected inference output '%s' for model '%s'",
					  json_string_value(name),
					  ctx_model(pc));
			goto out;
		}
		params = json_object_get(o, "parameters");
		if (params && !json_is_object(params)) {
			rc = it_error_set(pc->err, IT_ERR_INVALID,
					  "Unable to parse 'parameters' of output '%s': expected an object, got %s",
					  cfg->outputs[k].name, json_kind(params));
			goto out;
		}
		if (params && json_object_get(params, "shared_memory_region")) {
			rc = it_error_set(pc->err, IT_ERR_INVALID,
					  "output '%s' names a shared memory region, but this server offers no shared memory extension",
					  cfg->outputs[k].name);
			goto out;
		}
		if (params && json_object_get(params, "classification")) {
			rc = it_error_set(pc->err, IT_ERR_UNSUPPORTED,
					  "the classification extension is not supported (output '%s')",
					  cfg->outputs[k].name);
			goto out;
		}
		if (params)
			bd = json_object_get(params, "binary_data");
		if (bd && !json_is_boolean(bd)) {
			rc = it_error_set(pc->err, IT_ERR_INVALID,
					  "Unable to parse 'binary_data' of output '%s': expected a boolean, got %s",
					  cfg->outputs[k].name, json_kind(bd));
			goto out;
		}
		if (params) {
			rc = check_parameter_values(params, "an output",
						    pc->err);
			if (rc)
				goto out;
		}
		if (listed[k])
			continue;
		listed[k] = true;
		pc->req->output_requested[k] = true;
		pc->req->output_binary[k] = bd && json_is_true(bd);
	}
out:
	free(listed);
	return rc;
}

/* Checks Inference-Header-Content-Length against the body (§2). */
static int check_header_len(long long header_len, size_t body_len,
			    size_t *json_len, struct it_error *err)
{
	if (header_len == -1) {
		*json_len = body_len;
		return 0;
	}
	if (header_len < 0)
		return it_error_set(err, IT_ERR_INVALID,
				    "Inference-Header-Content-Length %lld is negative",
				    header_len);
	if ((unsigned long long)header_len > body_len)
		return it_error_set(err, IT_ERR_INVALID,
				    "Inference-Header-Content-Length %lld is larger than the body (%zu bytes)",
				    header_len, body_len);
	/*
	 * 0 selects Triton's raw binary request (the whole body is the single
	 * input's data); optional in the extension and not offered here.
	 */
	if (header_len == 0)
		return it_error_set(err, IT_ERR_UNSUPPORTED,
				    "raw binary requests are not supported (Inference-Header-Content-Length 0); send a JSON header");
	*json_len = (size_t)header_len;
	return 0;
}

static json_t *load_header(const unsigned char *body, size_t json_len,
			   struct it_error *err)
{
	json_error_t jerr;
	json_t *root;
	size_t depth, values;

	json_prescan(body, json_len, KSERVE_MAX_JSON_DEPTH,
		     KSERVE_MAX_JSON_VALUES, &depth, &values);
	if (depth > KSERVE_MAX_JSON_DEPTH) {
		it_error_set(err, IT_ERR_LIMIT,
			     "the request JSON is nested deeper than %d levels",
			     KSERVE_MAX_JSON_DEPTH);
		return NULL;
	}
	if (values > KSERVE_MAX_JSON_VALUES) {
		it_error_set(err, IT_ERR_LIMIT,
			     "the request JSON holds more than %zu values; send large tensors with the binary data extension",
			     KSERVE_MAX_JSON_VALUES);
		return NULL;
	}
	root = json_loadb((const char *)body, json_len,
			  JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
	if (!root) {
		it_error_set(err, IT_ERR_PARSE,
			     "failed to parse the request JSON buffer: %s at line %d column %d%s",
			     jerr.text, jerr.line, jerr.column,
			     strstr(jerr.text, "too big integer") ?
			     " (integers must fit in 64-bit signed; send larger UINT64 values as binary data)" : "");
		return NULL;
	}
	if (!json_is_object(root)) {
		it_error_set(err, IT_ERR_INVALID,
			     "the request JSON must be an object, got %s",
			     json_kind(root));
		json_decref(root);
		return NULL;
	}
	return root;
}

int kserve_parse_header_length(const char *value, long long *out,
			       struct it_error *err)
{
	const char *p = *value == '-' ? value + 1 : value;
	long long n = 0;
	bool ok = *p != '\0';

	for (; ok && *p; p++) {
		ok = *p >= '0' && *p <= '9' && n <= (LLONG_MAX - 9) / 10;
		if (ok)
			n = n * 10 + (*p - '0');
	}
	if (!ok)
		return it_error_set(err, IT_ERR_INVALID,
				    "Unable to parse inference header size, got: %s", value);
	*out = *value == '-' ? -n : n;
	return 0;
}

struct infer_request *kserve_parse_infer(const struct model_config *cfg,
					 void *body, size_t body_len,
					 long long header_len,
					 struct it_error *err)
{
	struct parse_ctx pc = { 0 };
	struct infer_request *req = NULL, *result = NULL;
	json_t *root = NULL;
	const json_t *id, *inputs;
	bool binary_default = false;
	size_t json_len = 0;
	int rc;

	rc = check_header_len(header_len, body_len, &json_len, err);
	if (rc)
		goto out;
	root = load_header(body, json_len, err);
	if (!root)
		goto out;

	req = infer_request_new(cfg);
	req->body = body;
	body = NULL; /* freed with req from here on */
	pc.cfg = cfg;
	pc.req = req;
	pc.body = req->body;
	pc.body_len = body_len;
	pc.cursor = json_len;
	pc.err = err;
	pc.seen = xcalloc(cfg->n_inputs ? cfg->n_inputs : 1, sizeof(bool));
	req->batch_size = 1;

	id = json_object_get(root, "id");
	if (id && !json_is_string(id)) {
		it_error_set(err, IT_ERR_INVALID,
			     "Unable to parse 'id': expected a string, got %s",
			     json_kind(id));
		goto out;
	}
	if (id) {
		free(req->id);
		req->id = xstrdup(json_string_value(id));
	}
	rc = parse_request_parameters(root, &binary_default, err);
	if (rc)
		goto out;

	inputs = json_object_get(root, "inputs");
	if (!json_is_array(inputs)) {
		it_error_set(err, IT_ERR_INVALID,
			     "Unable to parse 'inputs': expected an array, got %s",
			     inputs ? json_kind(inputs) : "nothing");
		goto out;
	}
	for (size_t i = 0; i < json_array_size(inputs); i++) {
		rc = parse_input(&pc, i, json_array_get(inputs, i));
		if (rc)
			goto out;
	}
	if (pc.cursor != body_len) {
		it_error_set(err, IT_ERR_INVALID,
			     "unexpected additional input data for model '%s' (%zu bytes after the last binary input)",
			     cfg->name, body_len - pc.cursor);
		goto out;
	}
	for (size_t i = 0; i < cfg->n_inputs; i++) {
		if (!pc.seen[i] && !cfg->inputs[i].optional) {
			missing_inputs_error(&pc);
			goto out;
		}
	}
	rc = parse_outputs(&pc, root, binary_default);
	if (rc)
		goto out;
	result = req;
	req = NULL;
out:
	free(pc.seen);
	json_decref(root);
	infer_request_free(req);
	free(body);
	return result;
}

/* ------------------------------------------------------------------------ */
/* Response writing                                                         */
/* ------------------------------------------------------------------------ */

/* A strbuf writer whose first failed append sticks, checked once at the end. */
struct jw {
	struct strbuf *sb;
	int rc;
};

static void jw_add(struct jw *w, const void *data, size_t n)
{
	if (!w->rc)
		w->rc = strbuf_add(w->sb, data, n);
}

static void jw_adds(struct jw *w, const char *s)
{
	jw_add(w, s, strlen(s));
}

/* Appends a JSON string literal for n bytes of s (see file comment). */
static void jw_string(struct jw *w, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t run = 0, i = 0;
	char esc[8];

	jw_add(w, "\"", 1);
	while (i < n) {
		unsigned char c = p[i];
		size_t seq;

		if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
			i++;
			run++;
			continue;
		}
		seq = c >= 0x80 ? utf8_seq_len(p + i, n - i) : 0;
		if (seq) {
			i += seq;
			run += seq;
			continue;
		}
		jw_add(w, p + i - run, run);
		run = 0;
		switch (c) {
		case '"':
			jw_add(w, "\\\"", 2);
			break;
		case '\\':
			jw_add(w, "\\\\", 2);
			break;
		case '\n':
			jw_add(w, "\\n", 2);
			break;
		case '\r':
			jw_add(w, "\\r", 2);
			break;
		case '\t':
			jw_add(w, "\\t", 2);
			break;
		case '\b':
			jw_add(w, "\\b", 2);
			break;
		case '\f':
			jw_add(w, "\\f", 2);
			break;
		default:
			snprintf(esc, sizeof(esc), "\\u%04x", (unsigned)c);
			jw_add(w, esc, 6);
			break;
		}
		i++;
	}
	jw_add(w, p + i - run, run);
	jw_add(w, "\"", 1);
}

static void jw_strings(struct jw *w, const char *s)
{
	jw_string(w, s, strlen(s));
}

/* NaN and infinities in Python json's spelling (see file comment). */
static bool jw_nonfinite(struct jw *w, double v)
{
	if (isnan(v))
		jw_adds(w, "NaN");
	else if (isinf(v))
		jw_adds(w, v < 0 ? "-Infinity" : "Infinity");
	else
		return false;
	return true;
}

/*
 * Shortest %g text that reads back as the same float: 6 digits (FLT_DIG)
 * always survive the trip text→float, 9 (FLT_DECIMAL_DIG) always float→text.
 * Assumes the "C" numeric locale, as the whole library does.
 */
static void jw_fp32(struct jw *w, float v)
{
	char buf[32];

	if (jw_nonfinite(w, v))
		return;
	for (int p = 6; p <= 9; p++) {
		snprintf(buf, sizeof(buf), "%.*g", p, (double)v);
		if (strtof(buf, NULL) == v)
			break;
	}
	jw_adds(w, buf);
}

static void jw_fp64(struct jw *w, double v)
{
	char buf[40];

	if (jw_nonfinite(w, v))
		return;
	for (int p = 15; p <= 17; p++) {
		snprintf(buf, sizeof(buf), "%.*g", p, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	jw_adds(w, buf);
}

/* The flat JSON array of an output's elements (Triton's WriteDataToJson). */
static void jw_data(struct jw *w, const struct tensor *t, int64_t elements)
{
	const unsigned char *p = t->data;
	size_t size = datatype_size_bytes(t->datatype);
	size_t pos = 0;
	char buf[32];

	jw_add(w, "[", 1);
	for (int64_t e = 0; e < elements && !w->rc; e++) {
		const unsigned char *x = p + (size_t)e * size;

		if (e)
			jw_add(w, ",", 1);
		switch (t->datatype) {
		case DATATYPE_BOOL:
			jw_adds(w, x[0] ? "true" : "false");
			break;
		case DATATYPE_UINT8:
			snprintf(buf, sizeof(buf), "%u", (unsigned)x[0]);
			jw_adds(w, buf);
			break;
		case DATATYPE_UINT16: {
			uint16_t v;

			memcpy(&v, x, sizeof(v));
			snprintf(buf, sizeof(buf), "%u", (unsigned)v);
			jw_adds(w, buf);
			break;
		}
		case DATATYPE_UINT32: {
			uint32_t v;

			memcpy(&v, x, sizeof(v));
			snprintf(buf, sizeof(buf), "%" PRIu32, v);
			jw_adds(w, buf);
			break;
		}
		case DATATYPE_UINT64: {
			uint64_t v;

			memcpy(&v, x, sizeof(v));
			snprintf(buf, sizeof(buf), "%" PRIu64, v);
			jw_adds(w, buf);
			break;
		}
		case DATATYPE_INT8: {
			int8_t v;

			memcpy(&v, x, sizeof(v));
			snprintf(buf, sizeof(buf), "%d", (int)v);
			jw_adds(w, buf);
			break;
		}
		case DATATYPE_INT16: {
			int16_t v;

			memcpy(&v, x, sizeof(v));
			snprintf(buf, sizeof(buf), "%d", (int)v);
			jw_adds(w, buf);
			break;
		}
		case DATATYPE_INT32: {
			int32_t v;

			memcpy(&v, x, sizeof(v));
			snprintf(buf, sizeof(buf), "%" PRId32, v);
			jw_adds(w, buf);
			break;
		}
		case DATATYPE_INT64: {
			int64_t v;

			memcpy(&v, x, sizeof(v));
			snprintf(buf, sizeof(buf), "%" PRId64, v);
			jw_adds(w, buf);
			break;
		}
		case DATATYPE_FP32: {
			float v;

			memcpy(&v, x, sizeof(v));
			jw_fp32(w, v);
			break;
		}
		case DATATYPE_FP64: {
			double v;

			memcpy(&v, x, sizeof(v));
			jw_fp64(w, v);
			break;
		}
		case DATATYPE_STRING: {
			/* Layout already checked by check_output. */
			uint32_t len = load_u32le(p + pos);

			jw_string(w, (const char *)p + pos + 4, len);
			pos += 4 + (size_t)len;
			break;
		}
		default:
			break;
		}
	}
	jw_add(w, "]", 1);
}

/*
 * A backend output must be self-consistent before it is described to a
 * client: byte size equal to shape × element size, BYTES prefixes exactly
 * filling it. A mismatch is a backend bug (IT_ERR_INTERNAL, Triton's
 * "output tensor shape does not match size of output" wording).
 */
static int check_output(const struct infer_request *req, size_t j,
			int64_t *elements, struct it_error *err)
{
	const struct tensor *t = &req->outputs[j];
	const char *name = req->config->outputs[j].name;
	size_t size = datatype_size_bytes(t->datatype);
	int64_t n;

	if (t->n_dims > TENSOR_MAX_DIMS || t->datatype <= DATATYPE_INVALID ||
	    t->datatype >= DATATYPE_COUNT)
		return it_error_set(err, IT_ERR_INTERNAL,
				    "output '%s' has an invalid datatype or rank",
				    name);
	n = shape_elements(t->shape, t->n_dims);
	for (size_t d = 0; d < t->n_dims; d++)
		if (t->shape[d] < 0)
			n = -1;
	if (n < 0)
		return it_error_set(err, IT_ERR_INTERNAL,
				    "output '%s' has an invalid shape", name);
	if (t->byte_size && !t->data)
		return it_error_set(err, IT_ERR_INTERNAL,
				    "output '%s' has no data", name);
	if (size) {
		if ((uint64_t)n > SIZE_MAX / size ||
		    (size_t)n * size != t->byte_size)
			return it_error_set(err, IT_ERR_INTERNAL,
					    "output tensor shape does not match size of output for '%s'",
					    name);
	} else {
		int rc = check_bytes_layout(t->data, t->byte_size, n, "output",
					    name, req->config->name,
					    IT_ERR_INTERNAL, err);

		if (rc)
			return rc;
	}
	*elements = n;
	return 0;
}

int kserve_write_response(const struct infer_request *req,
			  const char *model_name, const char *model_version,
			  struct strbuf *out, size_t *json_len, bool *binary,
			  struct it_error *err)
{
	const struct model_config *cfg = req->config;
	struct jw w = { out, 0 };
	size_t start = out->len, json_bytes;
	bool any_binary = false, first = true;
	int rc = 0;

	if (!req->outputs || req->n_outputs != cfg->n_outputs) {
		rc = it_error_set(err, IT_ERR_INTERNAL,
				  "the request has %zu outputs but model '%s' declares %zu",
				  req->outputs ? req->n_outputs : 0, cfg->name,
				  cfg->n_outputs);
		goto out;
	}
	jw_add(&w, "{", 1);
	if (req->id && req->id[0]) {
		jw_adds(&w, "\"id\":");
		jw_strings(&w, req->id);
		jw_add(&w, ",", 1);
	}
	jw_adds(&w, "\"model_name\":");
	jw_strings(&w, model_name ? model_name : "");
	jw_adds(&w, ",\"model_version\":");
	jw_strings(&w, model_version ? model_version : "");
	jw_adds(&w, ",\"outputs\":[");
	for (size_t j = 0; j < cfg->n_outputs; j++) {
		const struct tensor *t = &req->outputs[j];
		int64_t elements = 0;
		char buf[64];

		if (!req->output_requested[j])
			continue;
		rc = check_output(req, j, &elements, err);
		if (rc)
			goto out;
		if (!req->output_binary[j] &&
		    (t->datatype == DATATYPE_FP16 ||
		     t->datatype == DATATYPE_BF16)) {
			rc = it_error_set(err, IT_ERR_INVALID,
					  "sending %s data via JSON is not supported. Please use the binary data format for output '%s'",
					  datatype_protocol_name(t->datatype),
					  cfg->outputs[j].name);
			goto out;
		}
		if (!first)
			jw_add(&w, ",", 1);
		first = false;
		jw_adds(&w, "{\"name\":");
		jw_strings(&w, cfg->outputs[j].name);
		jw_adds(&w, ",\"datatype\":");
		jw_strings(&w, datatype_protocol_name(t->datatype));
		jw_adds(&w, ",\"shape\":[");
		for (size_t d = 0; d < t->n_dims; d++) {
			snprintf(buf, sizeof(buf), "%s%" PRId64, d ? "," : "",
				 t->shape[d]);
			jw_adds(&w, buf);
		}
		jw_add(&w, "]", 1);
		if (req->output_binary[j]) {
			/* Clients require binary_data_size in any "parameters". */
			snprintf(buf, sizeof(buf),
				 ",\"parameters\":{\"binary_data_size\":%zu}}",
				 t->byte_size);
			jw_adds(&w, buf);
			any_binary = true;
		} else {
			jw_adds(&w, ",\"data\":");
			jw_data(&w, t, elements);
			jw_add(&w, "}", 1);
		}
	}
	jw_adds(&w, "]}");
	json_bytes = out->len - start;
	for (size_t j = 0; j < cfg->n_outputs; j++)
		if (req->output_requested[j] && req->output_binary[j])
			jw_add(&w, req->outputs[j].data,
			       req->outputs[j].byte_size);
	if (w.rc) {
		rc = it_error_set(err, IT_ERR_LIMIT,
				  "the response for model '%s' is larger than the %zu-byte cap",
				  cfg->name, out->cap_bytes);
		goto out;
	}
	*json_len = json_bytes;
	*binary = any_binary;
out:
	if (rc)
		strbuf_setlen(out, start);
	return rc;
}

int kserve_http_status(int code)
{
	switch (code) {
	case IT_OK:
		return 200;
	case IT_ERR_INVALID:
	case IT_ERR_PARSE:
	case IT_ERR_LIMIT:
		return 400;
	case IT_ERR_NOT_FOUND:
		return 404;
	case IT_ERR_UNSUPPORTED:
		return 501;
	case IT_ERR_STATE:
		return 503;
	case IT_ERR_INTERNAL:
	case IT_ERR_IO:
		return 500;
	default:
		return 400; /* Triton's default for UNKNOWN and friends */
	}
}

void kserve_write_error(struct strbuf *out, const char *message)
{
	struct jw w = { out, 0 };
	size_t start = out->len;

	jw_adds(&w, "{\"error\":");
	jw_strings(&w, message ? message : "");
	jw_add(&w, "}", 1);
	if (w.rc)
		strbuf_setlen(out, start);
}
