/*
 * Subcommands that are planned but not built yet. Each says so and exits 2,
 * so scripts never mistake a missing feature for a result. Move a command out
 * of this file into its own src/cmd/NAME.c when it is built.
 */
#include <stdio.h>

#include "cmd/cmd.h"
#include "util/banned.h"

static int not_built(int argc, char **argv, const char *what, const char *issue)
{
	if (cmd_wants_help(argc, argv)) {
		printf("usage: infertune %s [options]\n\n%s\n\n"
		       "This command is not built yet (tracked in issue %s).\n",
		       argv[0], what, issue);
		return EXIT_OK;
	}
	fprintf(stderr, "infertune %s: not built yet (tracked in issue %s)\n",
		argv[0], issue);
	return EXIT_USAGE;
}

int cmd_analyze(int argc, char **argv)
{
	return not_built(argc, argv,
			 "Searches serving configurations and recommends the best one.",
			 "#6");
}

int cmd_report(int argc, char **argv)
{
	return not_built(argc, argv,
			 "Writes CSVs, charts and the HTML/PDF report of an analysis.",
			 "#7");
}
