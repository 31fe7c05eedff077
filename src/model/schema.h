/*
 * Protobuf message descriptors for Triton's ModelConfig (model_config.proto,
 * package inference) and the schema-driven operations on pbtxt trees:
 * validation with positions, normalisation to canonical form, and conversion
 * to and from protobuf's JSON mapping as Triton produces and accepts it.
 * Depends on pbtxt/ and util/ (and jansson).
 */
#ifndef INFERTUNE_MODEL_SCHEMA_H
#define INFERTUNE_MODEL_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

struct it_error;
struct pbtxt_node;

enum pb_type {
	PB_DOUBLE,
	PB_FLOAT,
	PB_INT32,
	PB_INT64,
	PB_UINT32,
	PB_UINT64,
	PB_BOOL,
	PB_STRING,
	PB_BYTES,
	PB_ENUM,
	PB_MESSAGE,
};

struct pb_enum_value {
	const char *name;
	int number;
};

struct pb_enum {
	const char *name; /* e.g. "inference.DataType" */
	const struct pb_enum_value *values;
	size_t n_values;
};

#define PB_REPEATED 0x1u /* `repeated` */
#define PB_MAP 0x2u      /* map<K,V>: repeated entry message with fields key(1), value(2) */

struct pb_message;

struct pb_field {
	const char *name;      /* proto name, snake_case */
	const char *json_name; /* lowerCamelCase, also accepted in JSON */
	int number;
	enum pb_type type;
	unsigned flags;        /* PB_REPEATED, PB_MAP */
	const struct pb_message *message; /* PB_MESSAGE (for maps: the entry) */
	const struct pb_enum *enum_type;  /* PB_ENUM */
	int oneof;             /* 0 = none, else 1-based index into message->oneofs */
};

struct pb_message {
	const char *name; /* e.g. "inference.ModelConfig" */
	const struct pb_field *fields; /* sorted by field number */
	size_t n_fields;
	const char *const *oneofs;      /* oneof names, 1-based use via pb_field.oneof */
	size_t n_oneofs;
};

/** The root descriptor: inference.ModelConfig. */
extern const struct pb_message pb_ModelConfig;
/** inference.DataType, for callers that map names. */
extern const struct pb_enum pb_DataType;

/** Field by proto name (or by json_name when `json` is true); NULL if unknown. */
const struct pb_field *pb_message_field(const struct pb_message *m,
					const char *name, bool json);
/** Enum value by name (case-sensitive unless `icase`); NULL if unknown. */
const struct pb_enum_value *pb_enum_by_name(const struct pb_enum *e,
					    const char *name, bool icase);
/** Enum value by number; NULL if unknown. */
const struct pb_enum_value *pb_enum_by_number(const struct pb_enum *e, int n);

/**
 * Checks a pbtxt tree against a message descriptor and rewrites it, in place,
 * into canonical form. Errors name file:line:col of the offending node:
 * unknown field, scalar given for a message or the reverse, value of the
 * wrong type or out of range, unknown enum name, non-repeated field given
 * twice, two members of one oneof, deeper than allowed. Canonical form:
 * children ordered by field number (repeated fields keep their order); ints
 * in decimal; enums as names; bools as true/false; floats in shortest
 * round-trip form; singular scalar fields that hold their proto3 default
 * (0, "", false, first enum value) outside a oneof removed, as protobuf's
 * printers omit them; map entries with a missing key or value completed.
 * Returns 0 or a negative IT_ERR_* code; on error the tree may be partly
 * rewritten and should be discarded.
 */
int schema_normalize(struct pbtxt_node *msg, const struct pb_message *desc,
		     const char *filename, struct it_error *err);

/** JSON output styles. */
#define SCHEMA_JSON_ALL_FIELDS 0x1u  /* print default-valued scalars, [] and {} (Triton /config) */
#define SCHEMA_JSON_INT64_STRING 0x2u /* 64-bit ints as strings (protobuf default, Model Analyzer) */

/**
 * Converts a normalised tree to protobuf's JSON mapping with proto field
 * names: enums as names, maps as objects, oneofs as their member key. Without
 * SCHEMA_JSON_INT64_STRING, 64-bit integers are JSON numbers, as Triton's
 * /config endpoint writes them. Returns a new reference (caller json_decref()s).
 */
json_t *schema_to_json(const struct pbtxt_node *msg,
		       const struct pb_message *desc, unsigned flags);

/**
 * Converts protobuf JSON (proto or lowerCamel names; 64-bit integers as
 * numbers or strings; enums as names, case-insensitive, or numbers; maps as
 * objects) into a normalised tree. Unknown keys and wrong types are errors
 * naming the JSON path, e.g. "config.input[0].dims[1]: expected an integer".
 * `what` names the document in messages ("config"). Caller frees the tree.
 */
struct pbtxt_node *schema_from_json(const json_t *json,
				    const struct pb_message *desc,
				    const char *what, struct it_error *err);

#endif
