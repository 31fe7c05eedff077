/*
 * Data type names and sizes, one table.
 */
#include "model/datatype.h"

#include <string.h>

#include "util/banned.h"

static const struct {
	const char *config;
	const char *protocol;
	size_t size;
} types[DATATYPE_COUNT] = {
	[DATATYPE_INVALID] = { "TYPE_INVALID", "INVALID", 0 },
	[DATATYPE_BOOL] = { "TYPE_BOOL", "BOOL", 1 },
	[DATATYPE_UINT8] = { "TYPE_UINT8", "UINT8", 1 },
	[DATATYPE_UINT16] = { "TYPE_UINT16", "UINT16", 2 },
	[DATATYPE_UINT32] = { "TYPE_UINT32", "UINT32", 4 },
	[DATATYPE_UINT64] = { "TYPE_UINT64", "UINT64", 8 },
	[DATATYPE_INT8] = { "TYPE_INT8", "INT8", 1 },
	[DATATYPE_INT16] = { "TYPE_INT16", "INT16", 2 },
	[DATATYPE_INT32] = { "TYPE_INT32", "INT32", 4 },
	[DATATYPE_INT64] = { "TYPE_INT64", "INT64", 8 },
	[DATATYPE_FP16] = { "TYPE_FP16", "FP16", 2 },
	[DATATYPE_FP32] = { "TYPE_FP32", "FP32", 4 },
	[DATATYPE_FP64] = { "TYPE_FP64", "FP64", 8 },
	[DATATYPE_STRING] = { "TYPE_STRING", "BYTES", 0 },
	[DATATYPE_BF16] = { "TYPE_BF16", "BF16", 2 },
};

static bool valid(enum datatype dt)
{
	return (int)dt >= 0 && (int)dt < DATATYPE_COUNT;
}

const char *datatype_config_name(enum datatype dt)
{
	return valid(dt) ? types[dt].config : types[0].config;
}

const char *datatype_protocol_name(enum datatype dt)
{
	return valid(dt) ? types[dt].protocol : types[0].protocol;
}

bool datatype_from_config_name(const char *name, enum datatype *out)
{
	for (int i = 1; i < DATATYPE_COUNT; i++) {
		if (!strcmp(name, types[i].config)) {
			*out = (enum datatype)i;
			return true;
		}
	}
	return false;
}

bool datatype_from_protocol_name(const char *name, enum datatype *out)
{
	for (int i = 1; i < DATATYPE_COUNT; i++) {
		if (!strcmp(name, types[i].protocol)) {
			*out = (enum datatype)i;
			return true;
		}
	}
	return false;
}

size_t datatype_size_bytes(enum datatype dt)
{
	return valid(dt) ? types[dt].size : 0;
}
