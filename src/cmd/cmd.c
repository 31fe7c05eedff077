/*
 * Helpers shared by the subcommand front ends.
 */
#include "cmd/cmd.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util/error.h"
#include "util/banned.h"

void cmd_print_error(const struct it_error *err)
{
	char buf[IT_ERROR_FILE_MAX + IT_ERROR_MESSAGE_MAX + 64];

	fprintf(stderr, "%s\n", it_error_format(err, buf, sizeof(buf)));
}

int cmd_exit_code(int code)
{
	switch (code) {
	case IT_ERR_INVALID:
	case IT_ERR_PARSE:
	case IT_ERR_NOT_FOUND:
	case IT_ERR_UNSUPPORTED:
		return EXIT_USAGE;
	default:
		return EXIT_FAILURE_RUN;
	}
}

int cmd_wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			return 0;
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			return 1;
	}
	return 0;
}

int cmd_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "infertune %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nSee 'infertune %s --help'.\n", cmd);
	return EXIT_USAGE;
}
