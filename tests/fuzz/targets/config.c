/*
 * Fuzz target: config.pbtxt through the whole configuration layer (pbtxt/,
 * model/schema, model/config: syntax, schema, Triton's rules). A valid
 * config survives text -> typed config -> canonical text -> config as a
 * fixpoint and both JSON forms; an invalid one fails with a message at a
 * line and column inside the input.
 */
#include "fuzz.h"

#include "model/config.h"
#include "util/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct it_error err = { 0 };
	struct model_config *cfg;

	cfg = model_config_parse(text, size, "config.pbtxt", &err);
	if (!cfg) {
		fuzz_check_error_at(&err, "config.pbtxt", text, size);
		return 0;
	}
	FUZZ_CHECK(cfg->max_batch_size >= 0, "max_batch_size is not negative");
	for (size_t i = 0; i < cfg->n_instance_groups; i++)
		FUZZ_CHECK(cfg->instance_groups[i].count >= 1, "an instance group has a count");
	fuzz_check_config_roundtrip(cfg);
	model_config_free(cfg);
	return 0;
}
