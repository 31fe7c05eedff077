/*
 * The subcommands of the infertune command-line tool: the only code besides
 * src/main.c that may print to stdout, call exit() or depend on every module.
 *
 * How to add a subcommand:
 *  1. Create src/cmd/NAME.c defining `int cmd_NAME(int argc, char **argv)`;
 *     argv[0] is NAME. Parse options, call the library, print, and map errors
 *     to the exit codes below.
 *  2. Declare it here.
 *  3. Add a row to the `commands` table in src/main.c (name, function, summary).
 *  4. Add the file to the `infertune` target in CMakeLists.txt.
 *  5. Document it in docs/cli/NAME.md and add an integration test under
 *     tests/integration/.
 */
#ifndef INFERTUNE_CMD_CMD_H
#define INFERTUNE_CMD_CMD_H

struct it_error;

/* Exit codes shared by every subcommand. */
enum {
	EXIT_OK = 0,
	EXIT_FAILURE_RUN = 1, /* the command ran but the job failed (e.g. unstable measurement) */
	EXIT_USAGE = 2,       /* bad invocation or invalid input (config errors included) */
};

int cmd_version(int argc, char **argv);
int cmd_config(int argc, char **argv);
int cmd_repo(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_profile(int argc, char **argv);
int cmd_analyze(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_predict(int argc, char **argv);

/** Prints the formatted error ("file:line:col: message") and a newline to stderr. */
void cmd_print_error(const struct it_error *err);

/**
 * Exit status for a library error: EXIT_USAGE for bad input (invalid,
 * unparsable, not found, unsupported), EXIT_FAILURE_RUN otherwise.
 */
int cmd_exit_code(int code);

/**
 * Prints "infertune CMD: message" and "See 'infertune CMD --help'." to
 * stderr; returns EXIT_USAGE.
 */
int cmd_usage_error(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/** True when argv holds -h or --help before any "--". */
int cmd_wants_help(int argc, char **argv);

#endif
