/*
 * `infertune config check|print`: Triton model configurations from the
 * command line. Input is config.pbtxt text, or Triton's JSON form when the
 * file's first non-blank character is '{' (a text-format file cannot start
 * with one).
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "model/config.h"
#include "model/schema.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/strbuf.h"
#include "util/banned.h"

#define CONFIG_INPUT_MAX_BYTES ((size_t)16 << 20)

static const char usage_text[] =
	"usage: infertune config check FILE...\n"
	"       infertune config print FILE [--json]\n"
	"\n"
	"check   Checks each Triton model configuration the way Triton does (syntax,\n"
	"        field names and types, semantic rules). Prints every error as\n"
	"        file:line:col: message on stderr; exits 0 when all files are valid,\n"
	"        2 otherwise. Features infertune cannot serve yet are noted, not refused.\n"
	"print   Prints the configuration in canonical config.pbtxt form (fields in\n"
	"        proto order, one per line, as Model Analyzer writes them), or with\n"
	"        --json in the JSON form of Triton's GET /v2/models/M/config.\n"
	"\n"
	"FILE is config.pbtxt text or Triton's JSON form (detected by a leading '{');\n"
	"'-' reads standard input.\n";

static int read_input(const char *path, char **text, size_t *len,
		      struct it_error *err)
{
	struct strbuf sb;
	char chunk[65536];
	size_t n;

	if (strcmp(path, "-"))
		return fs_read_file(path, CONFIG_INPUT_MAX_BYTES, text, len, err);
	strbuf_init(&sb, CONFIG_INPUT_MAX_BYTES);
	while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0) {
		if (strbuf_add(&sb, chunk, n)) {
			strbuf_release(&sb);
			return it_error_at(err, IT_ERR_LIMIT, "<stdin>", 0, 0,
					   "input is larger than %zu bytes",
					   CONFIG_INPUT_MAX_BYTES);
		}
	}
	*text = strbuf_detach(&sb, len);
	return 0;
}

static struct model_config *load(const char *path, struct it_error *err)
{
	const char *name = strcmp(path, "-") ? path : "<stdin>";
	struct model_config *cfg = NULL;
	char *text = NULL;
	size_t len = 0;
	size_t i = 0;

	if (read_input(path, &text, &len, err))
		goto out;
	while (i < len && strchr(" \t\r\n", text[i]))
		i++;
	/* A text-format file starts with a field name; JSON with '{' (or a wrong '['). */
	if (i < len && (text[i] == '{' || text[i] == '['))
		cfg = model_config_from_json_text(text, len, name, err);
	else
		cfg = model_config_parse(text, len, name, err);
out:
	free(text);
	return cfg;
}

static int config_check(int argc, char **argv)
{
	int status = EXIT_OK;

	if (argc < 1) {
		fprintf(stderr, "infertune config check: no FILE given\n\n%s", usage_text);
		return EXIT_USAGE;
	}
	for (int i = 0; i < argc; i++) {
		struct it_error err = { 0 };
		struct model_config *cfg = load(argv[i], &err);
		const char *unsupported;

		if (!cfg) {
			cmd_print_error(&err);
			status = EXIT_USAGE;
			continue;
		}
		unsupported = model_config_unsupported(cfg);
		if (unsupported)
			fprintf(stderr, "%s: note: valid for Triton, but infertune cannot serve '%s' yet\n",
				argv[i], unsupported);
		model_config_free(cfg);
	}
	return status;
}

static int config_print(int argc, char **argv)
{
	struct it_error err = { 0 };
	struct model_config *cfg = NULL;
	const char *file = NULL;
	bool json = false;
	struct strbuf sb;
	int status = EXIT_OK;

	strbuf_init(&sb, 0);
	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			json = true;
		} else if (argv[i][0] == '-' && argv[i][1]) {
			fprintf(stderr, "infertune config print: unknown option '%s'\n", argv[i]);
			status = EXIT_USAGE;
			goto out;
		} else if (file) {
			fprintf(stderr, "infertune config print: one FILE at a time\n");
			status = EXIT_USAGE;
			goto out;
		} else {
			file = argv[i];
		}
	}
	if (!file) {
		fprintf(stderr, "infertune config print: no FILE given\n\n%s", usage_text);
		status = EXIT_USAGE;
		goto out;
	}
	cfg = load(file, &err);
	if (!cfg) {
		cmd_print_error(&err);
		status = EXIT_USAGE;
		goto out;
	}
	if (json) {
		json_t *j = model_config_to_json(cfg, SCHEMA_JSON_ALL_FIELDS);
		char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

		printf("%s\n", s);
		free(s);
		json_decref(j);
	} else {
		model_config_print(cfg, &sb);
		fwrite(sb.buf, 1, sb.len, stdout);
	}
out:
	model_config_free(cfg);
	strbuf_release(&sb);
	return status;
}

int cmd_config(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		fputs(usage_text, argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	if (!strcmp(argv[1], "check"))
		return config_check(argc - 2, argv + 2);
	if (!strcmp(argv[1], "print"))
		return config_print(argc - 2, argv + 2);
	fprintf(stderr, "infertune config: unknown action '%s'\n\n%s", argv[1], usage_text);
	return EXIT_USAGE;
}
