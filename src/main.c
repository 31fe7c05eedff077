/*
 * infertune's entry point: the subcommand table (git's cmd_struct shape).
 * Everything a subcommand does lives in src/cmd/NAME.c and the library.
 */
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"
#include "util/banned.h"

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{ "serve", cmd_serve, "serve a model repository over Triton's HTTP protocol" },
	{ "profile", cmd_profile, "measure a served model under load (like perf_analyzer)" },
	{ "analyze", cmd_analyze, "search for the best serving configuration of a model" },
	{ "report", cmd_report, "write CSVs, charts and the HTML/PDF report of an analysis" },
	{ "predict", cmd_predict, "predict a configuration or load an analysis did not measure" },
	{ "config", cmd_config, "check or print a config.pbtxt (text or JSON form)" },
	{ "repo", cmd_repo, "list the models of one or more model repositories" },
	{ "version", cmd_version, "print the version" },
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: infertune <command> [options]\n"
		"\n"
		"Finds the best way to serve a deep-learning model on this machine.\n"
		"\n"
		"commands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-10s %s\n", commands[i].name,
			commands[i].summary);
	fprintf(out, "\n'infertune <command> --help' describes one command.\n");
}

int main(int argc, char **argv)
{
	const char *name;

	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	name = argv[1];
	if (!strcmp(name, "--help") || !strcmp(name, "-h") ||
	    !strcmp(name, "help")) {
		if (argc > 2 && strcmp(name, "help") == 0) {
			/* `infertune help CMD` = `infertune CMD --help` */
			char *args[] = { argv[2], (char *)"--help", NULL };

			for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
				if (!strcmp(argv[2], commands[i].name))
					return commands[i].fn(2, args);
		}
		usage(stdout);
		return EXIT_OK;
	}
	if (!strcmp(name, "--version"))
		name = "version";
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(name, commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "infertune: '%s' is not a command. See 'infertune --help'.\n",
		name);
	return EXIT_USAGE;
}
