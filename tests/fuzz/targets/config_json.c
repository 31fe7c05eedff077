/*
 * Fuzz target: the JSON form of a model config, as the repository API's
 * load request carries it in its `config` parameter (Model Analyzer's
 * override) and as GET .../config returns it. Valid JSON configs survive
 * the same round trips as config.pbtxt; a refusal names the document and
 * says why (JSON syntax errors with a line and column).
 */
#include "fuzz.h"

#include <string.h>

#include "model/config.h"
#include "util/error.h"

#define WHAT "config parameter of 'fuzz'"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct it_error err = { 0 };
	struct model_config *cfg;

	cfg = model_config_from_json_text(text, size, WHAT, &err);
	if (!cfg) {
		FUZZ_CHECK(err.code < 0 && err.message[0], "a refusal says why");
		if (err.code == IT_ERR_PARSE)
			fuzz_check_error_at(&err, WHAT, text, size);
		else
			FUZZ_CHECK(!strcmp(err.file, WHAT) || strstr(err.message, WHAT),
				   "a refusal names the document");
		return 0;
	}
	fuzz_check_config_roundtrip(cfg);
	model_config_free(cfg);
	return 0;
}
