/*
 * Fuzz target: the YAML config reader of `infertune analyze`
 * (analyze/yaml_config). A refused file names the line and column of the
 * fault; an accepted one expands each model's model_config_parameters to
 * at most ANALYZE_MAX_COMBINATIONS JSON objects, keeps perf_analyzer flags
 * as key=value, places every warning in the file, and reads the same way
 * twice.
 */
#include "fuzz.h"

#include <string.h>

#include <jansson.h>

#include "analyze/options.h"
#include "util/error.h"

static void check_options(const struct analyze_options *o)
{
	for (size_t i = 0; i < o->n_models; i++) {
		const struct model_spec *m = &o->models[i];

		FUZZ_CHECK(m->name && m->name[0], "a model has a name");
		FUZZ_CHECK(m->manual.n_overlays <= ANALYZE_MAX_COMBINATIONS,
			   "model_config_parameters within ANALYZE_MAX_COMBINATIONS");
		for (size_t k = 0; k < m->manual.n_overlays; k++)
			FUZZ_CHECK(json_is_object(m->manual.overlays[k]),
				   "a combination is a ModelConfig JSON object");
		for (size_t k = 0; k < m->n_perf_flags; k++)
			FUZZ_CHECK(strchr(m->perf_flags[k], '='), "a perf flag is key=value");
	}
	for (size_t k = 0; k < o->n_perf_flags; k++)
		FUZZ_CHECK(strchr(o->perf_flags[k], '='), "a perf flag is key=value");
	for (size_t k = 0; k < o->n_warnings; k++)
		FUZZ_CHECK(!strncmp(o->warnings[k], "fuzz.yaml:", 10), "a warning has its place");
}

static void check_same(const struct analyze_options *a, const struct analyze_options *b)
{
	FUZZ_CHECK(a->n_models == b->n_models && a->n_perf_flags == b->n_perf_flags &&
		   a->n_objectives == b->n_objectives && a->n_constraints == b->n_constraints &&
		   a->n_warnings == b->n_warnings, "a file reads the same way twice");
	for (size_t i = 0; i < a->n_models; i++) {
		const struct manual_space *x = &a->models[i].manual, *y = &b->models[i].manual;

		FUZZ_CHECK(!strcmp(a->models[i].name, b->models[i].name) &&
			   x->n_overlays == y->n_overlays && x->n_mbs == y->n_mbs,
			   "a model reads the same way twice");
		for (size_t k = 0; k < x->n_overlays; k++)
			FUZZ_CHECK(json_equal(x->overlays[k], y->overlays[k]),
				   "a combination reads the same way twice");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct analyze_options o, again;
	struct it_error err = { 0 };

	analyze_options_init(&o);
	analyze_options_init(&again);
	if (analyze_options_parse_yaml(&o, text, size, "fuzz.yaml", &err)) {
		fuzz_check_yaml_error_at(&err, "fuzz.yaml", text, size);
		goto out;
	}
	check_options(&o);
	FUZZ_CHECK(analyze_options_parse_yaml(&again, text, size, "fuzz.yaml", &err) == 0,
		   "a file reads the same way twice");
	check_same(&o, &again);
out:
	analyze_options_release(&again);
	analyze_options_release(&o);
	return 0;
}
