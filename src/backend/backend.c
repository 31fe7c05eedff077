/*
 * The backend registry: every backend built into infertune, and the lookup
 * a model's config.pbtxt selects one with (`backend`, else `platform`).
 * Depends on model/ and util/ only.
 */
#include "backend/backend.h"

#include <string.h>

#include "util/error.h"
#include "util/strbuf.h"
#include "util/banned.h"

extern const struct backend_ops backend_identity;
extern const struct backend_ops backend_add_sub;
extern const struct backend_ops backend_sim;
#ifdef INFERTUNE_WITH_TORCH
extern const struct backend_ops backend_pytorch;
#endif

const struct backend_ops *const backend_registry[] = {
	&backend_identity,
	&backend_add_sub,
	&backend_sim,
#ifdef INFERTUNE_WITH_TORCH
	/* TorchScript through libtorch, built only when libtorch was found. */
	&backend_pytorch,
#endif
	NULL,
};

int64_t tensor_element_count(const int64_t *shape, size_t n_dims)
{
	int64_t count = 1;

	for (size_t i = 0; i < n_dims; i++) {
		if (shape[i] < 0)
			return -1;
		/* A zero dimension makes the product 0 whatever follows. */
		if (shape[i] && count > INT64_MAX / shape[i])
			return -1;
		count *= shape[i];
	}
	return count;
}

/* "identity", "add_sub", "sim" for the not-found message. */
static void list_backends(struct strbuf *sb)
{
	for (size_t i = 0; backend_registry[i]; i++) {
		const struct backend_ops *b = backend_registry[i];

		strbuf_addf(sb, "%s'%s'", i ? ", " : "", b->name);
		if (b->platform)
			strbuf_addf(sb, " (platform '%s')", b->platform);
	}
}

const struct backend_ops *backend_find(const struct model_config *cfg,
				       struct it_error *err)
{
	const char *backend = cfg->backend ? cfg->backend : "";
	const char *platform = cfg->platform ? cfg->platform : "";
	const struct backend_ops *found = NULL;
	struct strbuf known;

	/* `backend` wins over `platform`, as in Triton's model loader. */
	for (size_t i = 0; backend_registry[i] && !found; i++) {
		if (backend[0] && !strcmp(backend_registry[i]->name, backend))
			found = backend_registry[i];
	}
	for (size_t i = 0; backend_registry[i] && !found && !backend[0]; i++) {
		const char *p = backend_registry[i]->platform;

		if (platform[0] && p && !strcmp(p, platform))
			found = backend_registry[i];
	}
	if (found)
		return found;

	strbuf_init(&known, 0);
	list_backends(&known);
	if (backend[0])
		it_error_set(err, IT_ERR_NOT_FOUND,
			     "unknown backend '%s'; infertune has %s", backend,
			     known.buf);
	else if (platform[0])
		it_error_set(err, IT_ERR_NOT_FOUND,
			     "no backend for platform '%s'; infertune has %s",
			     platform, known.buf);
	else
		it_error_set(err, IT_ERR_NOT_FOUND,
			     "config sets neither 'backend' nor 'platform'; infertune has %s",
			     known.buf);
	strbuf_release(&known);
	return NULL;
}
