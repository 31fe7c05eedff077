/*
 * `infertune version`: the version and the optional parts built in.
 */
#include <jansson.h>
#include <stdio.h>

#include "cmd/cmd.h"
#include "util/banned.h"

int cmd_version(int argc, char **argv)
{
	if (cmd_wants_help(argc, argv)) {
		printf("usage: infertune version\n\nPrints infertune's version and the versions of its libraries.\n");
		return EXIT_OK;
	}
	if (argc > 1) {
		fprintf(stderr, "infertune version: unexpected argument '%s'\n", argv[1]);
		return EXIT_USAGE;
	}
	printf("infertune %s\n", INFERTUNE_VERSION);
	printf("jansson %s\n", JANSSON_VERSION);
	return EXIT_OK;
}
