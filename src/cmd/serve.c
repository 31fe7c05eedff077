/*
 * `infertune serve`: tritonserver's command line over infertune's embedded
 * server. Parses the flags (both `--flag value` and `--flag=value`), raises
 * the descriptor limit, loads the models, listens, writes the port file,
 * then waits for SIGINT/SIGTERM and stops gracefully.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "util/log.h"
#include "server/models.h"
#include "server/server.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/strbuf.h"
#include "util/xalloc.h"
#include "util/parse.h"
#include "util/banned.h"

static const char usage_text[] =
	"usage: infertune serve --model-repository DIR [--model-repository DIR ...]\n"
	"                       [--http-address ADDR] [--http-port PORT]\n"
	"                       [--metrics-port PORT] [--allow-metrics BOOL]\n"
	"                       [--model-control-mode none|explicit] [--load-model NAME|*]...\n"
	"                       [--http-max-input-size BYTES] [--http-thread-count N]\n"
	"                       [--http-idle-timeout-secs N] [--http-header-timeout-secs N]\n"
	"                       [--exit-on-error BOOL] [--exit-timeout-secs N]\n"
	"                       [--log-verbose N] [--port-file FILE]\n"
	"\n"
	"Serves Triton model repositories over Triton's HTTP/REST protocol (KServe v2\n"
	"with the binary tensor, model repository, model configuration and statistics\n"
	"extensions) and Prometheus metrics, so that Triton clients, perf_analyzer and\n"
	"Model Analyzer can talk to it unchanged. Flags and defaults follow tritonserver;\n"
	"both --flag value and --flag=value are accepted.\n"
	"\n"
	"  --model-repository DIR   a model repository (repeatable; alias --model-store)\n"
	"  --http-address ADDR      address to bind (default 127.0.0.1; tritonserver: 0.0.0.0)\n"
	"  --http-port PORT         inference API port (default 8000; 0 picks a free port)\n"
	"  --metrics-port PORT      Prometheus port, GET /metrics (default 8002; 0 = free port)\n"
	"  --allow-metrics BOOL     serve metrics (default true)\n"
	"  --model-control-mode M   none: load every model at start (default);\n"
	"                           explicit: load --load-model models, then the load/unload API\n"
	"  --load-model NAME        explicit mode: load NAME at start (repeatable; * = all)\n"
	"  --http-max-input-size N  largest request body in bytes (default 67108864)\n"
	"  --http-thread-count N    HTTP threads (default: one per CPU, at most 16)\n"
	"  --http-idle-timeout-secs N  close a connection that sends and receives\n"
	"                           nothing for N seconds (default 60; a request waiting\n"
	"                           for its model is not idle)\n"
	"  --http-header-timeout-secs N  a request's line and headers must arrive within\n"
	"                           N seconds, its body within N more plus 1 s per KiB\n"
	"                           (default 60): a client that trickles is cut\n"
	"  --exit-on-error BOOL     exit at start if a model fails to load (default true)\n"
	"  --exit-timeout-secs N    on SIGINT/SIGTERM, wait this long for answers (default 30)\n"
	"  --log-verbose N          verbose log level (default 0)\n"
	"  --port-file FILE         once ready, write \"http=PORT\" and \"metrics=PORT\" lines\n"
	"                           to FILE (atomically; removed at exit)\n"
	"\n"
	"Accepted and ignored for tritonserver compatibility (with a warning): --grpc-port,\n"
	"--allow-grpc, --metrics-interval-ms, --strict-model-config,\n"
	"--disable-auto-complete-config.\n"
	"\n"
	"Logs go to stderr: one line per model with its state, then a line saying the\n"
	"server is ready with its ports. SIGINT/SIGTERM stop accepting connections,\n"
	"finish the requests in flight, unload the models and exit 0. Exits 1 when a\n"
	"model fails to load (with --exit-on-error true) or a port cannot be bound,\n"
	"2 on bad flags or an unreadable repository.\n";

struct serve_args {
	const char **repos;
	size_t n_repos;
	const char **load;
	size_t n_load;
	struct server_options opts;
	bool exit_on_error;
	int log_verbose;
	const char *port_file;
};

static const char *const ignored_flags[] = {
	"--grpc-port", "--allow-grpc", "--metrics-interval-ms",
	"--strict-model-config", "--disable-auto-complete-config",
};

static const char *const known_flags[] = {
	"--model-repository", "--model-store", "--load-model", "--http-address",
	"--http-port", "--metrics-port", "--allow-metrics", "--exit-on-error",
	"--model-control-mode", "--http-max-input-size", "--http-thread-count",
	"--http-idle-timeout-secs", "--http-header-timeout-secs", "--exit-timeout-secs",
	"--log-verbose", "--port-file",
};

static bool flag_in(const char *flag, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(flag, list[i]))
			return true;
	return false;
}

static int parse_args(int argc, char **argv, struct serve_args *a)
{
	a->opts.http_port = SERVER_DEFAULT_HTTP_PORT;
	a->opts.metrics_port = SERVER_DEFAULT_METRICS_PORT;
	a->opts.allow_metrics = true;
	a->opts.control_mode = MODEL_CONTROL_NONE;
	a->exit_on_error = true;
	for (int i = 1; i < argc; i++) {
		char flag[64];
		const char *arg = argv[i], *value, *eq;
		uint64_t n;
		size_t len;
		bool ignored;

		if (strncmp(arg, "--", 2))
			return cmd_usage_error("serve", "unexpected argument '%s'", arg);
		eq = strchr(arg, '=');
		len = eq ? (size_t)(eq - arg) : strlen(arg);
		if (len >= sizeof(flag))
			return cmd_usage_error("serve", "unknown option '%s'", arg);
		memcpy(flag, arg, len);
		flag[len] = '\0';
		ignored = flag_in(flag, ignored_flags,
				  sizeof(ignored_flags) / sizeof(ignored_flags[0]));
		if (!ignored && !flag_in(flag, known_flags,
					 sizeof(known_flags) / sizeof(known_flags[0])))
			return cmd_usage_error("serve", "unknown option '%s'", flag);
		if (eq) {
			value = eq + 1;
		} else {
			if (i + 1 >= argc)
				return cmd_usage_error("serve", "option '%s' needs a value", flag);
			value = argv[++i];
		}
		if (ignored) {
			fprintf(stderr, "infertune serve: warning: ignoring %s=%s (not used by infertune)\n",
				flag, value);
		} else if (!strcmp(flag, "--model-repository") ||
			   !strcmp(flag, "--model-store")) {
			a->repos = xreallocarray(a->repos, a->n_repos + 1, sizeof(*a->repos));
			a->repos[a->n_repos++] = value;
		} else if (!strcmp(flag, "--load-model")) {
			a->load = xreallocarray(a->load, a->n_load + 1, sizeof(*a->load));
			a->load[a->n_load++] = value;
		} else if (!strcmp(flag, "--http-address")) {
			a->opts.http_address = value;
		} else if (!strcmp(flag, "--http-port") || !strcmp(flag, "--metrics-port")) {
			if (!parse_u64(value, 65535, &n))
				return cmd_usage_error("serve", "%s: '%s' is not a port number (0-65535)",
						   flag, value);
			if (!strcmp(flag, "--http-port"))
				a->opts.http_port = (int)n;
			else
				a->opts.metrics_port = (int)n;
		} else if (!strcmp(flag, "--allow-metrics")) {
			if (!parse_bool(value, &a->opts.allow_metrics))
				return cmd_usage_error("serve", "%s: '%s' is not true or false", flag, value);
		} else if (!strcmp(flag, "--exit-on-error")) {
			if (!parse_bool(value, &a->exit_on_error))
				return cmd_usage_error("serve", "%s: '%s' is not true or false", flag, value);
		} else if (!strcmp(flag, "--model-control-mode")) {
			if (!strcmp(value, "none"))
				a->opts.control_mode = MODEL_CONTROL_NONE;
			else if (!strcmp(value, "explicit"))
				a->opts.control_mode = MODEL_CONTROL_EXPLICIT;
			else if (!strcmp(value, "poll"))
				return cmd_usage_error("serve", "%s: '%s' is not supported (use none or explicit)",
						   flag, value);
			else
				return cmd_usage_error("serve", "%s: '%s' is not none or explicit", flag, value);
		} else if (!strcmp(flag, "--http-max-input-size")) {
			if (!parse_u64(value, SIZE_MAX, &n) || !n)
				return cmd_usage_error("serve", "%s: '%s' is not a positive number of bytes",
						   flag, value);
			a->opts.http_max_input_bytes = (size_t)n;
		} else if (!strcmp(flag, "--http-thread-count")) {
			if (!parse_u64(value, 1024, &n) || !n)
				return cmd_usage_error("serve", "%s: '%s' is not a thread count (1-1024)",
						   flag, value);
			a->opts.http_thread_count = (unsigned)n;
		} else if (!strcmp(flag, "--http-idle-timeout-secs")) {
			if (!parse_u64(value, 86400, &n) || !n)
				return cmd_usage_error("serve", "%s: '%s' is not a number of seconds (1-86400)",
						   flag, value);
			a->opts.http_idle_timeout_s = (unsigned)n;
		} else if (!strcmp(flag, "--http-header-timeout-secs")) {
			if (!parse_u64(value, 86400, &n) || !n)
				return cmd_usage_error("serve", "%s: '%s' is not a number of seconds (1-86400)",
						   flag, value);
			a->opts.http_header_timeout_s = (unsigned)n;
		} else if (!strcmp(flag, "--exit-timeout-secs")) {
			if (!parse_u64(value, 86400, &n))
				return cmd_usage_error("serve", "%s: '%s' is not a number of seconds",
						   flag, value);
			/* 0 means "do not wait"; the server treats 0 as its default. */
			a->opts.exit_timeout_s = n ? (unsigned)n : 1;
		} else if (!strcmp(flag, "--log-verbose")) {
			if (!parse_u64(value, INT_MAX, &n))
				return cmd_usage_error("serve", "%s: '%s' is not a number", flag, value);
			a->log_verbose = (int)n;
		} else if (!strcmp(flag, "--port-file")) {
			a->port_file = value;
		} else {
			return cmd_usage_error("serve", "unknown option '%s'", flag);
		}
	}
	if (!a->n_repos)
		return cmd_usage_error("serve", "--model-repository is required");
	if (a->n_load && a->opts.control_mode != MODEL_CONTROL_EXPLICIT)
		return cmd_usage_error("serve", "--load-model needs --model-control-mode=explicit");
	for (size_t i = 0; i < a->n_load; i++)
		if (!strcmp(a->load[i], "*") && a->n_load > 1)
			return cmd_usage_error("serve", "--load-model=* must be used alone");
	a->opts.repositories = a->repos;
	a->opts.n_repositories = a->n_repos;
	a->opts.load_models = a->load;
	a->opts.n_load_models = a->n_load;
	return EXIT_OK;
}

/*
 * Every connection is a descriptor; the default soft limit (often 1024)
 * would cap concurrent clients well below what the server can hold.
 */
static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl))
			log_warning("cannot raise the open file limit: %s",
				    strerror(errno));
	}
}

static void log_model_state(void *arg, const char *name, const char *version,
			    enum model_state state, const char *reason)
{
	(void)arg;
	if (version)
		log_info("model '%s' version %s: %s%s%s", name, version,
			 model_state_name(state), reason[0] ? ": " : "", reason);
	else
		log_info("model '%s': %s%s%s", name, model_state_name(state),
			 reason[0] ? ": " : "", reason);
}

static int write_port_file(const char *path, int http_port, int metrics_port,
			   struct it_error *err)
{
	struct strbuf sb;
	int rc;

	strbuf_init(&sb, 0);
	strbuf_addf(&sb, "http=%d\n", http_port);
	if (metrics_port)
		strbuf_addf(&sb, "metrics=%d\n", metrics_port);
	/* Atomic: a test polling for the file never reads half of it. */
	rc = fs_write_file_atomic(path, sb.buf, sb.len, err);
	strbuf_release(&sb);
	return rc;
}

int cmd_serve(int argc, char **argv)
{
	struct serve_args a = { 0 };
	struct it_error err = { 0 };
	struct server *s = NULL;
	sigset_t stop_signals;
	int http_port, metrics_port, sig = 0;
	size_t failed;
	int status;

	if (cmd_wants_help(argc, argv)) {
		fputs(usage_text, stdout);
		return EXIT_OK;
	}
	status = parse_args(argc, argv, &a);
	if (status)
		goto out;
	log_set_verbose(a.log_verbose);
	raise_fd_limit();
	/*
	 * Block the stop signals before any thread exists, so that every
	 * thread inherits the mask and only sigwait() below receives them.
	 * A peer that closes early must not kill the process with SIGPIPE.
	 */
	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGINT);
	sigaddset(&stop_signals, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (server_new(&a.opts, &s, &err)) {
		cmd_print_error(&err);
		status = EXIT_USAGE;
		goto out;
	}
	failed = server_load_models(s);
	models_foreach_state(server_models(s), log_model_state, NULL);
	if (failed && a.exit_on_error) {
		log_error("%zu model(s) failed to load; exiting (--exit-on-error=true)",
			  failed);
		status = EXIT_FAILURE_RUN;
		goto out;
	}
	if (server_start(s, &err)) {
		log_error("%s", err.message);
		status = EXIT_FAILURE_RUN;
		goto out;
	}
	server_ports(s, &http_port, &metrics_port);
	if (a.port_file && write_port_file(a.port_file, http_port, metrics_port, &err)) {
		log_error("--port-file: %s: %s", err.file, err.message);
		status = EXIT_FAILURE_RUN;
		goto out;
	}
	if (metrics_port)
		log_info("infertune serve ready: http=%d metrics=%d", http_port,
			 metrics_port);
	else
		log_info("infertune serve ready: http=%d", http_port);

	while (sigwait(&stop_signals, &sig) == EINTR)
		;
	log_info("received %s: stopping (finishing requests in flight)",
		 sig == SIGINT ? "SIGINT" : "SIGTERM");
	server_stop(s);
	log_info("stopped");
	status = EXIT_OK;
out:
	server_free(s);
	if (a.port_file && status == EXIT_OK)
		unlink(a.port_file);
	free(a.repos);
	free(a.load);
	return status;
}
