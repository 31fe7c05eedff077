/*
 * The embedded server: `infertune serve` run as a child process in
 * explicit model-control mode on free ports (--http-port 0 --metrics-port 0
 * --port-file), never in-process, so a variant that crashes the server
 * crashes only the child. The child is in its own process group (a Ctrl-C
 * at the terminal reaches the analysis, which decides when to stop it) and
 * dies with the analysis (PR_SET_PDEATHSIG), so even a kill -9 of the
 * analysis leaves no orphan. Its output goes to a log file. Depends on
 * util/ and POSIX.
 */
#ifndef INFERTUNE_ANALYZE_SERVER_PROC_H
#define INFERTUNE_ANALYZE_SERVER_PROC_H

#include <stdbool.h>
#include <sys/types.h>

struct it_error;

/** How to start the child. Strings are borrowed for the call. */
struct cpuset;

struct server_proc_options {
	const char *exe;                /* the infertune binary (/proc/self/exe) */
	const char *model_repository;   /* served in explicit mode, nothing loaded */
	const char *log_path;           /* stdout and stderr, appended */
	const char *port_file;          /* where the child writes its ports */
	double start_timeout_s;         /* ready within (default 30) */
	double stop_timeout_s;          /* SIGTERM, then SIGKILL after (default 10) */
	const struct cpuset *cpus;      /* the child runs on these CPUs; NULL: inherited */
};

/** A running child (opaque). */
struct server_proc;

/**
 * Starts the child and waits until it wrote its ports. Fails with the
 * child's exit status and the tail of its log when it died or did not get
 * ready in time. Caller stops and frees it with server_proc_stop().
 * Must be called from the thread that stays alive for the whole analysis
 * (the death signal follows the thread that forked).
 */
int server_proc_start(const struct server_proc_options *o,
		      struct server_proc **out, struct it_error *err);

/** The child's pid. */
pid_t server_proc_pid(const struct server_proc *p);

/** "http://127.0.0.1:PORT" of the API, and the Prometheus page URL. */
const char *server_proc_url(const struct server_proc *p);
const char *server_proc_metrics_url(const struct server_proc *p);

/**
 * True while the child runs. Once it has ended, *how (when not NULL, at
 * least 160 bytes) describes the end: "exited with status 1", "killed by
 * signal 6 (Aborted)", and signal 9 adds "(out of memory?)".
 */
bool server_proc_alive(struct server_proc *p, char *how, size_t how_size);

/** True when the child ended by SIGKILL (the kernel's OOM killer, usually). */
bool server_proc_killed(const struct server_proc *p);

/**
 * Stops the child (SIGTERM, SIGKILL after stop_timeout_s), reaps it and
 * frees p; NULL is a no-op.
 */
void server_proc_stop(struct server_proc *p);

/** Kills the child at once (SIGKILL, async-signal-safe; for a second Ctrl-C). */
void server_proc_kill_now(const struct server_proc *p);

#endif
