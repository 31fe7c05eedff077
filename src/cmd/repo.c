/*
 * `infertune repo list DIR...`: what Triton would load from these model
 * repositories, one line per model, or the error that keeps it from loading.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "model/config.h"
#include "model/repository.h"
#include "util/error.h"
#include "util/strbuf.h"
#include "util/banned.h"

static const char usage_text[] =
	"usage: infertune repo list DIR...\n"
	"\n"
	"Scans Triton model repositories (<DIR>/<model>/config.pbtxt and numeric\n"
	"version folders) and prints one line per model: name, platform/backend,\n"
	"served versions, max batch size, instance groups and dynamic batching, or\n"
	"the error that keeps the model from loading. Exits 0 when every model\n"
	"loads, 1 when some do not, 2 when a DIR cannot be read.\n";

static void describe_versions(const struct repo_model *m, struct strbuf *sb)
{
	for (size_t i = 0; i < m->n_served; i++)
		strbuf_addf(sb, "%s%" PRId64, i ? "," : "", m->served[i]);
}

static void describe_groups(const struct model_config *c, struct strbuf *sb)
{
	if (!c->n_instance_groups) {
		strbuf_adds(sb, "default");
		return;
	}
	for (size_t i = 0; i < c->n_instance_groups; i++) {
		const struct model_instance_group *g = &c->instance_groups[i];

		strbuf_addf(sb, "%s%dx%s", i ? "+" : "", (int)g->count,
			    instance_kind_name(g->kind));
		if (g->n_gpus) {
			strbuf_adds(sb, "[gpus ");
			for (size_t j = 0; j < g->n_gpus; j++)
				strbuf_addf(sb, "%s%d", j ? "," : "", (int)g->gpus[j]);
			strbuf_adds(sb, "]");
		}
	}
}

static void describe_batching(const struct model_config *c, struct strbuf *sb)
{
	const struct model_dynamic_batching *db = &c->dynamic_batching;

	if (!c->has_dynamic_batching) {
		strbuf_adds(sb, c->has_sequence_batching ? "sequence" : "off");
		return;
	}
	strbuf_adds(sb, "on");
	if (db->n_preferred_batch_size) {
		strbuf_adds(sb, " preferred=");
		for (size_t i = 0; i < db->n_preferred_batch_size; i++)
			strbuf_addf(sb, "%s%d", i ? "," : "",
				    (int)db->preferred_batch_size[i]);
	}
	strbuf_addf(sb, " delay=%" PRIu64 "us", db->max_queue_delay_us);
}

static int repo_list(int argc, char **argv)
{
	struct it_error err = { 0 };
	struct repository *repo = NULL;
	int status = EXIT_OK;
	size_t width = 5;

	if (argc < 1) {
		fprintf(stderr, "infertune repo list: no DIR given\n\n%s", usage_text);
		return EXIT_USAGE;
	}
	if (repository_scan((const char *const *)argv, (size_t)argc, &repo, &err)) {
		cmd_print_error(&err);
		return EXIT_USAGE;
	}
	for (size_t i = 0; i < repo->n_models; i++)
		if (strlen(repo->models[i].name) > width)
			width = strlen(repo->models[i].name);
	printf("%-*s  %-20s %-9s %-5s %-16s %s\n", (int)width, "MODEL",
	       "PLATFORM/BACKEND", "VERSIONS", "BATCH", "INSTANCES",
	       "DYNAMIC_BATCHING");
	for (size_t i = 0; i < repo->n_models; i++) {
		const struct repo_model *m = &repo->models[i];
		const struct model_config *c = m->config;
		char buf[IT_ERROR_FILE_MAX + IT_ERROR_MESSAGE_MAX + 64];
		struct strbuf kind, versions, groups, batching;

		if (!c) {
			printf("%-*s  ERROR %s\n", (int)width, m->name,
			       it_error_format(&m->error, buf, sizeof(buf)));
			status = EXIT_FAILURE_RUN;
			continue;
		}
		strbuf_init(&kind, 0);
		strbuf_init(&versions, 0);
		strbuf_init(&groups, 0);
		strbuf_init(&batching, 0);
		strbuf_addf(&kind, "%s%s%s", c->platform,
			    c->platform[0] && c->backend[0] ? "/" : "",
			    c->backend);
		describe_versions(m, &versions);
		describe_groups(c, &groups);
		describe_batching(c, &batching);
		printf("%-*s  %-20s %-9s %-5d %-16s %s", (int)width, m->name,
		       kind.buf, versions.buf, (int)c->max_batch_size,
		       groups.buf, batching.buf);
		if (model_config_unsupported(c))
			printf("  (infertune cannot serve %s yet)",
			       model_config_unsupported(c));
		printf("\n");
		strbuf_release(&kind);
		strbuf_release(&versions);
		strbuf_release(&groups);
		strbuf_release(&batching);
	}
	repository_free(repo);
	return status;
}

int cmd_repo(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		fputs(usage_text, argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	if (!strcmp(argv[1], "list"))
		return repo_list(argc - 2, argv + 2);
	fprintf(stderr, "infertune repo: unknown action '%s'\n\n%s", argv[1], usage_text);
	return EXIT_USAGE;
}
