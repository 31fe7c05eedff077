/*
 * Tensor data types: Triton's config enum (TYPE_FP32), the KServe v2 protocol
 * names (FP32, BYTES) and element sizes. Depends on nothing.
 */
#ifndef INFERTUNE_MODEL_DATATYPE_H
#define INFERTUNE_MODEL_DATATYPE_H

#include <stdbool.h>
#include <stddef.h>

/** Values equal inference.DataType numbers in model_config.proto. */
enum datatype {
	DATATYPE_INVALID = 0,
	DATATYPE_BOOL = 1,
	DATATYPE_UINT8 = 2,
	DATATYPE_UINT16 = 3,
	DATATYPE_UINT32 = 4,
	DATATYPE_UINT64 = 5,
	DATATYPE_INT8 = 6,
	DATATYPE_INT16 = 7,
	DATATYPE_INT32 = 8,
	DATATYPE_INT64 = 9,
	DATATYPE_FP16 = 10,
	DATATYPE_FP32 = 11,
	DATATYPE_FP64 = 12,
	DATATYPE_STRING = 13, /* "BYTES" on the wire */
	DATATYPE_BF16 = 14,
};

#define DATATYPE_COUNT 15

/** "TYPE_FP32"; "TYPE_INVALID" for unknown values. */
const char *datatype_config_name(enum datatype dt);
/** Protocol name: "FP32", "BYTES" for TYPE_STRING; "INVALID" for unknown values. */
const char *datatype_protocol_name(enum datatype dt);
/** Parses "TYPE_FP32"; false when unknown. */
bool datatype_from_config_name(const char *name, enum datatype *out);
/** Parses "FP32" / "BYTES"; false when unknown. */
bool datatype_from_protocol_name(const char *name, enum datatype *out);
/** Bytes per element; 0 for BYTES (variable) and INVALID. */
size_t datatype_size_bytes(enum datatype dt);

#endif
