/*
 * Request bodies: shapes, data, and the two encodings (binary tensor
 * extension, plain JSON). Everything here runs once, before the load, so it
 * favours clear messages over speed.
 */
#include "loadgen/requests.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "loadgen/schedule.h"
#include "loadgen/target.h"
#include "model/datatype.h"
#include "util/base64.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/strbuf.h"
#include "util/xalloc.h"
#include "util/banned.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the binary tensor extension is little-endian; this build assumes a little-endian host"
#endif

#define DATA_FILE_MAX_BYTES ((size_t)1 << 31)
#define MAX_BODIES 65536
#define MAX_TOTAL_BODY_BYTES ((size_t)2 << 30)
#define DEFAULT_STRING_LENGTH 128

/* One input's data for one batch element of one step. */
struct tensor_data {
	bool present;
	unsigned char *bytes;   /* BYTES: 4-byte length + bytes per element */
	size_t len;
	int64_t dims[INPUT_SHAPE_MAX_DIMS];
	size_t n_dims;
};

struct builder {
	const struct target_model *m;
	const struct request_options *o;
	struct it_error *err;
	int64_t batch;
	bool batching;                  /* max_batch_size > 0 */
	/* per input: dims without the batch dimension, -1 = unresolved */
	int64_t (*dims)[INPUT_SHAPE_MAX_DIMS];
	size_t *n_dims;
	/* steps[s * n_inputs + i] */
	struct tensor_data *steps;
	size_t n_steps;
};

int input_shape_parse(const char *arg, struct input_shape *out,
		      struct it_error *err)
{
	const char *colon = strrchr(arg, ':');
	const char *p;
	size_t name_len;

	memset(out, 0, sizeof(*out));
	if (!colon || colon == arg || !colon[1])
		return it_error_set(err, IT_ERR_INVALID,
				    "--shape '%s': expected NAME:D1,D2,...", arg);
	name_len = (size_t)(colon - arg);
	if (name_len >= sizeof(out->name))
		return it_error_set(err, IT_ERR_INVALID,
				    "--shape '%s': the input name is too long", arg);
	memcpy(out->name, arg, name_len);
	out->name[name_len] = '\0';
	p = colon + 1;
	for (;;) {
		char *end;
		long long v;

		if (out->n_dims == INPUT_SHAPE_MAX_DIMS)
			return it_error_set(err, IT_ERR_INVALID,
					    "--shape '%s': more than %d dimensions",
					    arg, INPUT_SHAPE_MAX_DIMS);
		errno = 0;
		if (*p < '0' || *p > '9')
			return it_error_set(err, IT_ERR_INVALID,
					    "--shape '%s': dimensions must be whole numbers > 0",
					    arg);
		v = strtoll(p, &end, 10);
		if (errno || v <= 0 || (*end && *end != ','))
			return it_error_set(err, IT_ERR_INVALID,
					    "--shape '%s': dimensions must be whole numbers > 0",
					    arg);
		out->dims[out->n_dims++] = v;
		if (!*end)
			break;
		p = end + 1;
	}
	return 0;
}

static void format_dims(struct strbuf *sb, const int64_t *dims, size_t n)
{
	strbuf_addch(sb, '[');
	for (size_t i = 0; i < n; i++)
		strbuf_addf(sb, "%s%lld", i ? "," : "", (long long)dims[i]);
	strbuf_addch(sb, ']');
}

static size_t element_count(const int64_t *dims, size_t n)
{
	size_t c = 1;

	for (size_t i = 0; i < n; i++) {
		if (dims[i] < 0 || (dims[i] && c > SIZE_MAX / (size_t)dims[i]))
			return SIZE_MAX;
		c *= (size_t)dims[i];
	}
	return c;
}

/* IEEE half from a float (round to nearest even; no NaN inputs here). */
static uint16_t float_to_half(float f)
{
	uint32_t x;
	uint32_t sign, exp, mant;

	memcpy(&x, &f, 4);
	sign = (x >> 16) & 0x8000;
	exp = (x >> 23) & 0xff;
	mant = x & 0x7fffff;
	if (exp == 0xff)
		return (uint16_t)(sign | 0x7c00 | (mant ? 0x200 : 0));
	if (exp > 142)
		return (uint16_t)(sign | 0x7c00);
	if (exp < 113) {
		if (exp < 103)
			return (uint16_t)sign;
		mant |= 0x800000;
		{
			uint32_t shift = 126 - exp;
			uint32_t h = mant >> shift;
			uint32_t rem = mant & ((1u << shift) - 1);
			uint32_t half = 1u << (shift - 1);

			if (rem > half || (rem == half && (h & 1)))
				h++;
			return (uint16_t)(sign | h);
		}
	}
	{
		uint32_t h = ((exp - 112) << 10) | (mant >> 13);
		uint32_t rem = mant & 0x1fff;

		if (rem > 0x1000 || (rem == 0x1000 && (h & 1)))
			h++;
		return (uint16_t)(sign | h);
	}
}

/* Stores number v as one element of datatype dt at p. */
static void store_number(enum datatype dt, double v, unsigned char *p)
{
	switch (dt) {
	case DATATYPE_BOOL: { uint8_t x = v != 0; memcpy(p, &x, 1); break; }
	case DATATYPE_UINT8: { uint8_t x = (uint8_t)v; memcpy(p, &x, 1); break; }
	case DATATYPE_UINT16: { uint16_t x = (uint16_t)v; memcpy(p, &x, 2); break; }
	case DATATYPE_UINT32: { uint32_t x = (uint32_t)v; memcpy(p, &x, 4); break; }
	case DATATYPE_UINT64: { uint64_t x = (uint64_t)v; memcpy(p, &x, 8); break; }
	case DATATYPE_INT8: { int8_t x = (int8_t)v; memcpy(p, &x, 1); break; }
	case DATATYPE_INT16: { int16_t x = (int16_t)v; memcpy(p, &x, 2); break; }
	case DATATYPE_INT32: { int32_t x = (int32_t)v; memcpy(p, &x, 4); break; }
	case DATATYPE_INT64: { int64_t x = (int64_t)v; memcpy(p, &x, 8); break; }
	case DATATYPE_FP16: { uint16_t x = float_to_half((float)v); memcpy(p, &x, 2); break; }
	case DATATYPE_BF16: {
		float f = (float)v;
		uint32_t b;
		uint16_t x;

		memcpy(&b, &f, 4);
		x = (uint16_t)(b >> 16);
		memcpy(p, &x, 2);
		break;
	}
	case DATATYPE_FP32: { float x = (float)v; memcpy(p, &x, 4); break; }
	case DATATYPE_FP64: memcpy(p, &v, 8); break;
	default: break;
	}
}

/* Generated data for one batch element: zeros or seeded random values. */
static void generate(struct builder *b, size_t input, struct lg_rng *rng,
		     struct tensor_data *t)
{
	const struct target_tensor *in = &b->m->inputs[input];
	size_t count = element_count(t->dims, t->n_dims);
	size_t slen = b->o->string_length ? b->o->string_length : DEFAULT_STRING_LENGTH;
	static const char alnum[] =
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

	if (in->datatype == DATATYPE_STRING) {
		unsigned char *p;
		uint32_t l = (uint32_t)slen;

		t->len = count * (4 + slen);
		t->bytes = xmalloc(t->len);
		p = t->bytes;
		for (size_t i = 0; i < count; i++) {
			memcpy(p, &l, 4);
			p += 4;
			for (size_t k = 0; k < slen; k++)
				*p++ = b->o->data == INPUT_DATA_ZERO ? '0' :
				       (unsigned char)alnum[lg_rng_next(rng) % (sizeof(alnum) - 1)];
		}
		return;
	}
	t->len = count * datatype_size_bytes(in->datatype);
	t->bytes = xcalloc(t->len ? t->len : 1, 1);
	if (b->o->data == INPUT_DATA_ZERO)
		return;
	/*
	 * Values a model can take whatever it does with them: floats in
	 * [0, 1), integers in [0, 100), booleans 0/1. Raw random bytes would
	 * give NaNs, infinities and out-of-range indices.
	 */
	for (size_t i = 0; i < count; i++) {
		size_t es = datatype_size_bytes(in->datatype);
		double v;

		switch (in->datatype) {
		case DATATYPE_FP16:
		case DATATYPE_BF16:
		case DATATYPE_FP32:
		case DATATYPE_FP64:
			v = lg_rng_uniform(rng);
			break;
		case DATATYPE_BOOL:
			v = (double)(lg_rng_next(rng) & 1);
			break;
		default:
			v = (double)(lg_rng_next(rng) % 100);
			break;
		}
		store_number(in->datatype, v, t->bytes + i * es);
	}
}

/* Shapes: metadata dims without the batch dimension, then --shape. */
static int resolve_shapes(struct builder *b)
{
	const struct target_model *m = b->m;

	for (size_t s = 0; s < b->o->n_shapes; s++) {
		if (!target_model_input(m, b->o->shapes[s].name)) {
			struct strbuf names;

			strbuf_init(&names, 0);
			for (size_t i = 0; i < m->n_inputs; i++)
				strbuf_addf(&names, "%s'%s'", i ? ", " : "",
					    m->inputs[i].name);
			it_error_set(b->err, IT_ERR_INVALID,
				     "--shape names input '%s', but model '%s' has no such input (its inputs: %s)",
				     b->o->shapes[s].name, m->name, names.buf);
			strbuf_release(&names);
			return IT_ERR_INVALID;
		}
	}
	for (size_t i = 0; i < m->n_inputs; i++) {
		const struct target_tensor *in = &m->inputs[i];
		size_t skip = b->batching && !in->is_shape_tensor ? 1 : 0;
		const struct input_shape *given = NULL;

		if (in->n_shape < skip)
			return it_error_set(b->err, IT_ERR_INVALID,
					    "input '%s': the model batches (max_batch_size %lld) but the metadata shape has no batch dimension",
					    in->name, (long long)m->max_batch_size);
		if (in->n_shape - skip > INPUT_SHAPE_MAX_DIMS)
			return it_error_set(b->err, IT_ERR_LIMIT,
					    "input '%s' has more than %d dimensions",
					    in->name, INPUT_SHAPE_MAX_DIMS);
		b->n_dims[i] = in->n_shape - skip;
		memcpy(b->dims[i], in->shape + skip, b->n_dims[i] * sizeof(int64_t));
		for (size_t s = 0; s < b->o->n_shapes; s++) {
			if (!strcmp(b->o->shapes[s].name, in->name))
				given = &b->o->shapes[s];
		}
		if (!given)
			continue;
		if (given->n_dims != b->n_dims[i]) {
			struct strbuf want;

			strbuf_init(&want, 0);
			format_dims(&want, b->dims[i], b->n_dims[i]);
			it_error_set(b->err, IT_ERR_INVALID,
				     "--shape %s: input '%s' has %zu dimension(s) %s (without the batch dimension), not %zu",
				     in->name, in->name, b->n_dims[i], want.buf,
				     given->n_dims);
			strbuf_release(&want);
			return IT_ERR_INVALID;
		}
		for (size_t d = 0; d < given->n_dims; d++) {
			if (b->dims[i][d] >= 0 && b->dims[i][d] != given->dims[d])
				return it_error_set(b->err, IT_ERR_INVALID,
						    "--shape %s: dimension %zu of input '%s' is fixed at %lld, not %lld",
						    in->name, d, in->name,
						    (long long)b->dims[i][d],
						    (long long)given->dims[d]);
			b->dims[i][d] = given->dims[d];
		}
	}
	return 0;
}

static int require_resolved(struct builder *b, size_t i, const int64_t *dims,
			    size_t n)
{
	for (size_t d = 0; d < n; d++) {
		if (dims[d] < 0) {
			struct strbuf sb;

			strbuf_init(&sb, 0);
			format_dims(&sb, dims, n);
			it_error_set(b->err, IT_ERR_INVALID,
				     "input '%s' has variable dimensions %s; give its shape with --shape %s:D1,D2,... (without the batch dimension)",
				     b->m->inputs[i].name, sb.buf,
				     b->m->inputs[i].name);
			strbuf_release(&sb);
			return IT_ERR_INVALID;
		}
	}
	return 0;
}

static int generated_steps(struct builder *b)
{
	struct lg_rng rng;
	int rc;

	lg_rng_seed(&rng, b->o->seed);
	b->n_steps = 1;
	b->steps = xcalloc(b->m->n_inputs ? b->m->n_inputs : 1, sizeof(*b->steps));
	for (size_t i = 0; i < b->m->n_inputs; i++) {
		struct tensor_data *t = &b->steps[i];

		if (b->m->inputs[i].optional)
			continue;
		rc = require_resolved(b, i, b->dims[i], b->n_dims[i]);
		if (rc)
			return rc;
		t->present = true;
		t->n_dims = b->n_dims[i];
		memcpy(t->dims, b->dims[i], t->n_dims * sizeof(int64_t));
		if (element_count(t->dims, t->n_dims) == SIZE_MAX)
			return it_error_set(b->err, IT_ERR_LIMIT,
					    "input '%s' is too large", b->m->inputs[i].name);
		generate(b, i, &rng, t);
	}
	return 0;
}

/* Flattens nested arrays of `v` into `flat` (a JSON array). */
static int flatten(json_t *v, json_t *flat, int depth)
{
	size_t i;
	json_t *e;

	if (depth > 100)
		return -1;
	if (!json_is_array(v)) {
		json_array_append(flat, v);
		return 0;
	}
	json_array_foreach(v, i, e) {
		if (flatten(e, flat, depth + 1))
			return -1;
	}
	return 0;
}

/* Converts one JSON element to datatype dt at p; false if it does not fit. */
static bool json_to_element(json_t *e, enum datatype dt, unsigned char *p)
{
	double v;

	if (dt == DATATYPE_BOOL) {
		if (json_is_boolean(e))
			v = json_is_true(e);
		else if (json_is_integer(e) && (json_integer_value(e) == 0 ||
						json_integer_value(e) == 1))
			v = (double)json_integer_value(e);
		else
			return false;
	} else if (dt == DATATYPE_FP16 || dt == DATATYPE_BF16 ||
		   dt == DATATYPE_FP32 || dt == DATATYPE_FP64) {
		if (!json_is_number(e))
			return false;
		v = json_number_value(e);
	} else {
		json_int_t x;

		if (!json_is_integer(e))
			return false;
		x = json_integer_value(e);
		switch (dt) {
		case DATATYPE_UINT8: if (x < 0 || x > UINT8_MAX) return false; break;
		case DATATYPE_UINT16: if (x < 0 || x > UINT16_MAX) return false; break;
		case DATATYPE_UINT32: if (x < 0 || x > (json_int_t)UINT32_MAX) return false; break;
		case DATATYPE_UINT64: if (x < 0) return false; break;
		case DATATYPE_INT8: if (x < INT8_MIN || x > INT8_MAX) return false; break;
		case DATATYPE_INT16: if (x < INT16_MIN || x > INT16_MAX) return false; break;
		case DATATYPE_INT32: if (x < INT32_MIN || x > INT32_MAX) return false; break;
		default: break;
		}
		/* 64-bit integers go through memcpy to keep every bit. */
		if (dt == DATATYPE_INT64 || dt == DATATYPE_UINT64) {
			int64_t y = (int64_t)x;

			memcpy(p, &y, 8);
			return true;
		}
		v = (double)x;
	}
	store_number(dt, v, p);
	return true;
}

/* One input value of one step of the data file. */
static int file_tensor(struct builder *b, size_t step, size_t i, json_t *val,
		       struct tensor_data *t)
{
	const struct target_tensor *in = &b->m->inputs[i];
	json_t *content = val, *shape = NULL, *b64 = NULL, *flat = NULL;
	size_t count, es;
	int rc = 0;

	if (json_is_object(val)) {
		content = json_object_get(val, "content");
		shape = json_object_get(val, "shape");
		b64 = json_object_get(val, "b64");
		if (!content && !b64) {
			rc = it_error_set(b->err, IT_ERR_INVALID,
					  "%s: step %zu, input '%s': an object needs \"content\" or \"b64\"",
					  b->o->data_file, step, in->name);
			goto out;
		}
	}
	t->n_dims = b->n_dims[i];
	memcpy(t->dims, b->dims[i], t->n_dims * sizeof(int64_t));
	if (shape) {
		size_t k;
		json_t *d;

		if (!json_is_array(shape) || json_array_size(shape) > INPUT_SHAPE_MAX_DIMS) {
			rc = it_error_set(b->err, IT_ERR_INVALID,
					  "%s: step %zu, input '%s': \"shape\" must be a list of sizes",
					  b->o->data_file, step, in->name);
			goto out;
		}
		t->n_dims = json_array_size(shape);
		json_array_foreach(shape, k, d) {
			if (!json_is_integer(d) || json_integer_value(d) < 0) {
				rc = it_error_set(b->err, IT_ERR_INVALID,
						  "%s: step %zu, input '%s': \"shape\" must be a list of sizes",
						  b->o->data_file, step, in->name);
				goto out;
			}
			t->dims[k] = json_integer_value(d);
		}
		if (t->n_dims != b->n_dims[i]) {
			rc = it_error_set(b->err, IT_ERR_INVALID,
					  "%s: step %zu, input '%s': \"shape\" has %zu dimensions, the input has %zu (without the batch dimension)",
					  b->o->data_file, step, in->name,
					  t->n_dims, b->n_dims[i]);
			goto out;
		}
		for (size_t d2 = 0; d2 < t->n_dims; d2++) {
			if (b->dims[i][d2] >= 0 && b->dims[i][d2] != t->dims[d2]) {
				rc = it_error_set(b->err, IT_ERR_INVALID,
						  "%s: step %zu, input '%s': dimension %zu is fixed at %lld, not %lld",
						  b->o->data_file, step, in->name, d2,
						  (long long)b->dims[i][d2],
						  (long long)t->dims[d2]);
				goto out;
			}
		}
	}
	rc = require_resolved(b, i, t->dims, t->n_dims);
	if (rc)
		goto out;
	count = element_count(t->dims, t->n_dims);
	if (count == SIZE_MAX) {
		rc = it_error_set(b->err, IT_ERR_LIMIT, "input '%s' is too large",
				  in->name);
		goto out;
	}
	if (b64) {
		struct strbuf raw;
		size_t text_len = json_is_string(b64) ? json_string_length(b64) : 0;

		/* Capped at the text's length, which the bytes never exceed. */
		strbuf_init(&raw, text_len + 1);
		if (!json_is_string(b64) ||
		    base64_decode(&raw, json_string_value(b64), text_len, 0)) {
			strbuf_release(&raw);
			rc = it_error_set(b->err, IT_ERR_INVALID,
					  "%s: step %zu, input '%s': \"b64\" is not base64",
					  b->o->data_file, step, in->name);
			goto out;
		}
		t->bytes = (unsigned char *)strbuf_detach(&raw, &t->len);
		es = datatype_size_bytes(in->datatype);
		if (in->datatype != DATATYPE_STRING && t->len != count * es) {
			rc = it_error_set(b->err, IT_ERR_INVALID,
					  "%s: step %zu, input '%s': \"b64\" holds %zu bytes; shape needs %zu",
					  b->o->data_file, step, in->name, t->len,
					  count * es);
			goto out;
		}
		goto out;
	}
	flat = json_array();
	if (flatten(content, flat, 0)) {
		rc = it_error_set(b->err, IT_ERR_INVALID,
				  "%s: step %zu, input '%s': nested deeper than 100 levels",
				  b->o->data_file, step, in->name);
		goto out;
	}
	if (json_array_size(flat) != count) {
		struct strbuf sb;

		strbuf_init(&sb, 0);
		format_dims(&sb, t->dims, t->n_dims);
		rc = it_error_set(b->err, IT_ERR_INVALID,
				  "%s: step %zu, input '%s': %zu values given, shape %s needs %zu",
				  b->o->data_file, step, in->name,
				  json_array_size(flat), sb.buf, count);
		strbuf_release(&sb);
		goto out;
	}
	if (in->datatype == DATATYPE_STRING) {
		struct strbuf bytes;
		size_t k;
		json_t *e;

		strbuf_init(&bytes, 0);
		json_array_foreach(flat, k, e) {
			uint32_t l;

			if (!json_is_string(e)) {
				strbuf_release(&bytes);
				rc = it_error_set(b->err, IT_ERR_INVALID,
						  "%s: step %zu, input '%s' is BYTES: value %zu must be a string",
						  b->o->data_file, step, in->name, k);
				goto out;
			}
			l = (uint32_t)json_string_length(e);
			strbuf_add(&bytes, &l, 4);
			strbuf_add(&bytes, json_string_value(e), l);
		}
		t->bytes = (unsigned char *)strbuf_detach(&bytes, &t->len);
		goto out;
	}
	es = datatype_size_bytes(in->datatype);
	t->len = count * es;
	t->bytes = xcalloc(t->len ? t->len : 1, 1);
	for (size_t k = 0; k < count; k++) {
		if (!json_to_element(json_array_get(flat, k), in->datatype,
				     t->bytes + k * es)) {
			rc = it_error_set(b->err, IT_ERR_INVALID,
					  "%s: step %zu, input '%s': value %zu does not fit %s",
					  b->o->data_file, step, in->name, k,
					  datatype_protocol_name(in->datatype));
			goto out;
		}
	}
out:
	json_decref(flat);
	if (!rc)
		t->present = true;
	return rc;
}

static int file_steps(struct builder *b)
{
	char *text = NULL;
	size_t len, n_in = b->m->n_inputs;
	json_t *root = NULL, *data, *step;
	json_error_t jerr;
	size_t s;
	int rc;

	rc = fs_read_file(b->o->data_file, DATA_FILE_MAX_BYTES, &text, &len,
			  b->err);
	if (rc)
		goto out;
	root = json_loadb(text, len, 0, &jerr);
	if (!root) {
		/* jansson's column 0 (the text ends at a line's start) is column 1 of that line. */
		rc = it_error_at(b->err, IT_ERR_PARSE, b->o->data_file, jerr.line,
				 jerr.column > 0 ? jerr.column : 1, "%s", jerr.text);
		goto out;
	}
	data = json_object_get(root, "data");
	if (!json_is_array(data) || !json_array_size(data)) {
		rc = it_error_set(b->err, IT_ERR_INVALID,
				  "%s: expected {\"data\": [ {\"INPUT\": [...]}, ... ]} with at least one step",
				  b->o->data_file);
		goto out;
	}
	b->n_steps = json_array_size(data);
	b->steps = xcalloc(b->n_steps * (n_in ? n_in : 1), sizeof(*b->steps));
	json_array_foreach(data, s, step) {
		const char *key;
		json_t *val;

		if (json_is_array(step)) {
			rc = it_error_set(b->err, IT_ERR_UNSUPPORTED,
					  "%s: step %zu is a list: sequence streams are not supported",
					  b->o->data_file, s);
			goto out;
		}
		if (!json_is_object(step)) {
			rc = it_error_set(b->err, IT_ERR_INVALID,
					  "%s: step %zu is not an object of inputs",
					  b->o->data_file, s);
			goto out;
		}
		json_object_foreach(step, key, val) {
			bool known = false;

			for (size_t i = 0; i < n_in; i++)
				known = known || !strcmp(b->m->inputs[i].name, key);
			if (!known) {
				rc = it_error_set(b->err, IT_ERR_INVALID,
						  "%s: step %zu gives input '%s', which model '%s' does not have",
						  b->o->data_file, s, key, b->m->name);
				goto out;
			}
		}
		for (size_t i = 0; i < n_in; i++) {
			json_t *v = json_object_get(step, b->m->inputs[i].name);

			if (!v) {
				if (b->m->inputs[i].optional)
					continue;
				rc = it_error_set(b->err, IT_ERR_INVALID,
						  "%s: step %zu has no data for input '%s'",
						  b->o->data_file, s, b->m->inputs[i].name);
				goto out;
			}
			rc = file_tensor(b, s, i, v, &b->steps[s * n_in + i]);
			if (rc)
				goto out;
		}
	}
out:
	json_decref(root);
	free(text);
	return rc;
}

static json_t *json_shape(const struct builder *b, const struct tensor_data *t,
			  bool batch_dim)
{
	json_t *shape = json_array();

	if (batch_dim)
		json_array_append_new(shape, json_integer(b->batch));
	for (size_t d = 0; d < t->n_dims; d++)
		json_array_append_new(shape, json_integer(t->dims[d]));
	return shape;
}

/* Appends the elements of raw tensor bytes as JSON values. */
static int append_json_data(struct builder *b, const struct target_tensor *in,
			    const unsigned char *p, size_t len, json_t *arr)
{
	size_t es = datatype_size_bytes(in->datatype);

	if (in->datatype == DATATYPE_FP16 || in->datatype == DATATYPE_BF16)
		return it_error_set(b->err, IT_ERR_INVALID,
				    "input '%s' is %s, which cannot travel as JSON; use the binary format (the default)",
				    in->name, datatype_protocol_name(in->datatype));
	if (in->datatype == DATATYPE_STRING) {
		size_t off = 0;

		while (off + 4 <= len) {
			uint32_t l;
			json_t *s;

			memcpy(&l, p + off, 4);
			off += 4;
			if (l > len - off)
				break;
			s = json_stringn((const char *)p + off, l);
			if (!s)
				return it_error_set(b->err, IT_ERR_INVALID,
						    "input '%s': a BYTES element is not UTF-8, so it cannot travel as JSON",
						    in->name);
			json_array_append_new(arr, s);
			off += l;
		}
		return 0;
	}
	for (size_t off = 0; off + es <= len; off += es) {
		const unsigned char *e = p + off;
		json_t *v;

		switch (in->datatype) {
		case DATATYPE_BOOL: v = json_boolean(*e != 0); break;
		case DATATYPE_UINT8: v = json_integer(*e); break;
		case DATATYPE_INT8: { int8_t x; memcpy(&x, e, 1); v = json_integer(x); break; }
		case DATATYPE_UINT16: { uint16_t x; memcpy(&x, e, 2); v = json_integer(x); break; }
		case DATATYPE_INT16: { int16_t x; memcpy(&x, e, 2); v = json_integer(x); break; }
		case DATATYPE_UINT32: { uint32_t x; memcpy(&x, e, 4); v = json_integer(x); break; }
		case DATATYPE_INT32: { int32_t x; memcpy(&x, e, 4); v = json_integer(x); break; }
		case DATATYPE_UINT64: { uint64_t x; memcpy(&x, e, 8); v = json_integer((json_int_t)x); break; }
		case DATATYPE_INT64: { int64_t x; memcpy(&x, e, 8); v = json_integer(x); break; }
		case DATATYPE_FP32: { float x; memcpy(&x, e, 4); v = json_real(x); break; }
		case DATATYPE_FP64: { double x; memcpy(&x, e, 8); v = json_real(x); break; }
		default: v = json_null(); break;
		}
		json_array_append_new(arr, v);
	}
	return 0;
}

/* Body j: batch elements from steps (j * batch + k) % n_steps. */
static int build_body(struct builder *b, size_t j, struct request_body *body,
		      struct strbuf *shapes_text)
{
	const struct target_model *m = b->m;
	size_t n_in = m->n_inputs;
	json_t *hdr = json_object(), *inputs = json_array(), *outputs = json_array();
	struct strbuf blobs;
	char *text = NULL;
	int rc = 0;

	strbuf_init(&blobs, 0);
	json_object_set_new(hdr, "inputs", inputs);
	for (size_t i = 0; i < n_in; i++) {
		const struct target_tensor *in = &m->inputs[i];
		size_t first = (j * (size_t)b->batch) % b->n_steps;
		const struct tensor_data *t0 = &b->steps[first * n_in + i];
		/* Shape tensors carry one copy, not one per batch element. */
		size_t copies = in->is_shape_tensor ? 1 : (size_t)b->batch;
		json_t *obj, *data = NULL;
		size_t total = 0;

		if (!t0->present)
			continue;
		for (size_t k = 0; k < copies; k++) {
			size_t s = (j * (size_t)b->batch + k) % b->n_steps;
			const struct tensor_data *t = &b->steps[s * n_in + i];

			if (!t->present || t->n_dims != t0->n_dims ||
			    memcmp(t->dims, t0->dims, t->n_dims * sizeof(int64_t))) {
				rc = it_error_set(b->err, IT_ERR_INVALID,
						  "input '%s': steps %zu and %zu of the data file have different shapes (or one lacks the input), so they cannot share a batch of %lld",
						  in->name, first, s, (long long)b->batch);
				goto out;
			}
			total += t->len;
		}
		obj = json_object();
		json_object_set_new(obj, "name", json_string(in->name));
		json_object_set_new(obj, "shape",
				    json_shape(b, t0, b->batching && !in->is_shape_tensor));
		json_object_set_new(obj, "datatype",
				    json_string(datatype_protocol_name(in->datatype)));
		if (j == 0) {
			json_t *sh = json_object_get(obj, "shape");
			size_t d;
			json_t *v;

			strbuf_addf(shapes_text, "%s%s [", shapes_text->len ? ", " : "",
				    in->name);
			json_array_foreach(sh, d, v)
				strbuf_addf(shapes_text, "%s%lld", d ? "," : "",
					    (long long)json_integer_value(v));
			strbuf_addch(shapes_text, ']');
		}
		if (!b->o->input_json) {
			json_t *params = json_object();

			json_object_set_new(params, "binary_data_size",
					    json_integer((json_int_t)total));
			json_object_set_new(obj, "parameters", params);
		} else {
			data = json_array();
			json_object_set_new(obj, "data", data);
		}
		for (size_t k = 0; k < copies; k++) {
			size_t s = (j * (size_t)b->batch + k) % b->n_steps;
			const struct tensor_data *t = &b->steps[s * n_in + i];

			if (!b->o->input_json) {
				if (strbuf_add(&blobs, t->bytes, t->len)) {
					json_decref(obj);
					rc = it_error_set(b->err, IT_ERR_LIMIT,
							  "the request body would exceed %zu bytes",
							  blobs.cap_bytes);
					goto out;
				}
			} else {
				rc = append_json_data(b, in, t->bytes, t->len, data);
				if (rc) {
					json_decref(obj);
					goto out;
				}
			}
		}
		json_array_append_new(inputs, obj);
	}
	for (size_t o = 0; o < m->n_outputs; o++) {
		json_t *obj = json_object(), *params = json_object();

		json_object_set_new(obj, "name", json_string(m->outputs[o].name));
		json_object_set_new(params, "binary_data",
				    json_boolean(!b->o->output_json));
		json_object_set_new(obj, "parameters", params);
		json_array_append_new(outputs, obj);
	}
	json_object_set_new(hdr, "outputs", outputs);
	text = json_dumps(hdr, JSON_COMPACT | JSON_ENSURE_ASCII);
	if (!text) {
		rc = it_error_set(b->err, IT_ERR_INTERNAL, "cannot encode a request header");
		goto out;
	}
	body->header_len = strlen(text);
	body->len = body->header_len + blobs.len;
	body->data = xmalloc(body->len + 1);
	memcpy(body->data, text, body->header_len);
	memcpy(body->data + body->header_len, blobs.buf, blobs.len);
	body->data[body->len] = '\0';
out:
	free(text);
	strbuf_release(&blobs);
	json_decref(hdr);
	return rc;
}

static size_t gcd(size_t a, size_t b)
{
	while (b) {
		size_t t = a % b;

		a = b;
		b = t;
	}
	return a;
}

void request_set_free(struct request_set *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_bodies; i++)
		free(s->bodies[i].data);
	free(s->bodies);
	free(s->shapes_text);
	free(s);
}

int request_set_build(const struct target_model *m,
		      const struct request_options *opts,
		      struct request_set **out, struct it_error *err)
{
	struct builder b = { 0 };
	struct request_set *set = NULL;
	struct strbuf shapes_text;
	size_t n_bodies, total = 0;
	int rc;

	strbuf_init(&shapes_text, 0);
	b.m = m;
	b.o = opts;
	b.err = err;
	b.batch = opts->batch_size > 0 ? opts->batch_size : 1;
	b.batching = m->max_batch_size > 0;
	if (!b.batching && b.batch > 1) {
		rc = it_error_set(err, IT_ERR_INVALID,
				  "batch size %lld: model '%s' does not batch (max_batch_size 0), so -b must be 1",
				  (long long)b.batch, m->name);
		goto out;
	}
	if (b.batching && b.batch > m->max_batch_size) {
		rc = it_error_set(err, IT_ERR_INVALID,
				  "batch size %lld exceeds model '%s''s max_batch_size %lld",
				  (long long)b.batch, m->name,
				  (long long)m->max_batch_size);
		goto out;
	}
	if (opts->data == INPUT_DATA_FILE && !opts->data_file) {
		rc = it_error_set(err, IT_ERR_INVALID, "no input data file given");
		goto out;
	}
	b.dims = xcalloc(m->n_inputs ? m->n_inputs : 1, sizeof(*b.dims));
	b.n_dims = xcalloc(m->n_inputs ? m->n_inputs : 1, sizeof(*b.n_dims));
	rc = resolve_shapes(&b);
	if (rc)
		goto out;
	rc = opts->data == INPUT_DATA_FILE ? file_steps(&b) : generated_steps(&b);
	if (rc)
		goto out;
	n_bodies = b.n_steps / gcd(b.n_steps, (size_t)b.batch);
	if (n_bodies > MAX_BODIES) {
		rc = it_error_set(err, IT_ERR_LIMIT,
				  "the data file makes %zu distinct requests; at most %d are kept in memory",
				  n_bodies, MAX_BODIES);
		goto out;
	}
	set = xcalloc(1, sizeof(*set));
	set->bodies = xcalloc(n_bodies, sizeof(*set->bodies));
	set->binary = !opts->input_json;
	for (size_t j = 0; j < n_bodies; j++) {
		rc = build_body(&b, j, &set->bodies[j], &shapes_text);
		if (rc)
			goto out;
		set->n_bodies++;
		total += set->bodies[j].len;
		if (set->bodies[j].len > set->max_body_bytes)
			set->max_body_bytes = set->bodies[j].len;
		if (total > MAX_TOTAL_BODY_BYTES) {
			rc = it_error_set(err, IT_ERR_LIMIT,
					  "the request bodies would take more than %zu bytes",
					  MAX_TOTAL_BODY_BYTES);
			goto out;
		}
	}
	set->shapes_text = strbuf_detach(&shapes_text, NULL);
	*out = set;
	set = NULL;
out:
	request_set_free(set);
	strbuf_release(&shapes_text);
	if (b.steps) {
		for (size_t i = 0; i < b.n_steps * (m->n_inputs ? m->n_inputs : 1); i++)
			free(b.steps[i].bytes);
	}
	free(b.steps);
	free(b.dims);
	free(b.n_dims);
	return rc;
}
