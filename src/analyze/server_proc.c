/*
 * fork/exec of `infertune serve`. Between fork and exec the child calls
 * only async-signal-safe functions (the analysis has threads: libcurl,
 * samplers), so the argument vector is built before fork.
 */
#include "analyze/server_proc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/cpuset.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/strbuf.h"
#include "util/xalloc.h"
#include "util/banned.h"

struct server_proc {
	pid_t pid;
	bool reaped;
	int status;
	double stop_timeout_s;
	char *url;
	char *metrics_url;
	char *port_file;
	char *log_path;
};

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

pid_t server_proc_pid(const struct server_proc *p)
{
	return p->pid;
}

const char *server_proc_url(const struct server_proc *p)
{
	return p->url;
}

const char *server_proc_metrics_url(const struct server_proc *p)
{
	return p->metrics_url;
}

static void describe(int status, char *how, size_t size)
{
	if (!how)
		return;
	if (WIFEXITED(status)) {
		snprintf(how, size, "exited with status %d", WEXITSTATUS(status));
	} else if (WIFSIGNALED(status)) {
		int sig = WTERMSIG(status);

		snprintf(how, size, "killed by signal %d (%s)%s", sig, strsignal(sig),
			 sig == SIGKILL ? " (out of memory?)" : "");
	} else {
		snprintf(how, size, "ended (status 0x%x)", (unsigned)status);
	}
}

bool server_proc_alive(struct server_proc *p, char *how, size_t how_size)
{
	int status;
	pid_t r;

	if (!p->reaped) {
		do
			r = waitpid(p->pid, &status, WNOHANG);
		while (r < 0 && errno == EINTR);
		if (r == p->pid) {
			p->reaped = true;
			p->status = status;
		} else if (r < 0) {
			/* Not our child any more (cannot happen): treat as gone. */
			p->reaped = true;
			p->status = 0;
		}
	}
	if (!p->reaped)
		return true;
	describe(p->status, how, how_size);
	return false;
}

bool server_proc_killed(const struct server_proc *p)
{
	return p->reaped && WIFSIGNALED(p->status) && WTERMSIG(p->status) == SIGKILL;
}

/* The last lines of the log, for a start-up failure. */
static void log_tail(const char *path, struct strbuf *out)
{
	char *text = NULL;
	size_t len = 0;
	const char *start;

	if (fs_read_file(path, (size_t)16 << 20, &text, &len, NULL))
		return;
	start = len > 800 ? text + len - 800 : text;
	strbuf_adds(out, start);
	free(text);
	while (out->len && (out->buf[out->len - 1] == '\n'))
		strbuf_setlen(out, out->len - 1);
}

/* Reads "http=P" and "metrics=Q" from the port file; false until both are there. */
static bool read_ports(const char *path, int *http, int *metrics)
{
	char *text = NULL;
	size_t len = 0;
	const char *h, *m;

	if (fs_read_file(path, 4096, &text, &len, NULL))
		return false;
	h = strstr(text, "http=");
	m = strstr(text, "metrics=");
	*http = h ? (int)strtol(h + 5, NULL, 10) : 0;
	*metrics = m ? (int)strtol(m + 8, NULL, 10) : 0;
	free(text);
	return *http > 0 && *metrics > 0;
}

int server_proc_start(const struct server_proc_options *o,
		      struct server_proc **out, struct it_error *err)
{
	struct server_proc *p = xcalloc(1, sizeof(*p));
	const char *argv[16];
	int argc = 0, log_fd = -1, http = 0, metrics = 0, rc = 0;
	pid_t parent = getpid();
	double deadline, timeout = o->start_timeout_s > 0 ? o->start_timeout_s : 30;
	char how[200];
	struct strbuf sb;

	p->stop_timeout_s = o->stop_timeout_s > 0 ? o->stop_timeout_s : 10;
	p->port_file = xstrdup(o->port_file);
	p->log_path = xstrdup(o->log_path);
	unlink(o->port_file);
	argv[argc++] = o->exe;
	argv[argc++] = "serve";
	argv[argc++] = "--model-repository";
	argv[argc++] = o->model_repository;
	argv[argc++] = "--model-control-mode";
	argv[argc++] = "explicit";
	argv[argc++] = "--http-address";
	argv[argc++] = "127.0.0.1";
	argv[argc++] = "--http-port";
	argv[argc++] = "0";
	argv[argc++] = "--metrics-port";
	argv[argc++] = "0";
	argv[argc++] = "--port-file";
	argv[argc++] = o->port_file;
	argv[argc] = NULL;

	log_fd = open(o->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (log_fd < 0) {
		rc = it_error_set(err, IT_ERR_IO, "%s: %s", o->log_path, strerror(errno));
		goto fail;
	}
	p->pid = fork();
	if (p->pid < 0) {
		rc = it_error_set(err, IT_ERR_IO, "fork: %s", strerror(errno));
		goto fail;
	}
	if (p->pid == 0) {
		/* Child: async-signal-safe calls only until exec. */
		int devnull = open("/dev/null", O_RDONLY);

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		/* The analysis may have died between fork and prctl. */
		if (getppid() != parent)
			_exit(127);
		/* Its own CPUs, not those of the analysis that forked it. */
		if (o->cpus && cpuset_apply_self(o->cpus))
			_exit(126);
		/* Own process group: a terminal Ctrl-C is the analysis' to handle. */
		setpgid(0, 0);
		if (devnull >= 0)
			dup2(devnull, 0);
		dup2(log_fd, 1);
		dup2(log_fd, 2);
		execv(o->exe, (char *const *)argv);
		_exit(127);
	}
	close(log_fd);
	log_fd = -1;

	deadline = now_s() + timeout;
	for (;;) {
		if (read_ports(o->port_file, &http, &metrics))
			break;
		if (!server_proc_alive(p, how, sizeof(how))) {
			strbuf_init(&sb, 0);
			log_tail(o->log_path, &sb);
			rc = it_error_set(err, IT_ERR_IO,
					  "the embedded server (%s serve) %s before getting ready; its log (%s) ends with:\n%s",
					  o->exe, how, o->log_path, sb.buf);
			strbuf_release(&sb);
			goto fail;
		}
		if (now_s() > deadline) {
			rc = it_error_set(err, IT_ERR_IO,
					  "the embedded server did not get ready within %.0f s (log: %s)",
					  timeout, o->log_path);
			goto fail;
		}
		sleep_ms(10);
	}
	strbuf_init(&sb, 0);
	strbuf_addf(&sb, "http://127.0.0.1:%d", http);
	p->url = strbuf_detach(&sb, NULL);
	strbuf_init(&sb, 0);
	strbuf_addf(&sb, "http://127.0.0.1:%d/metrics", metrics);
	p->metrics_url = strbuf_detach(&sb, NULL);
	*out = p;
	return 0;
fail:
	if (log_fd >= 0)
		close(log_fd);
	server_proc_stop(p);
	return rc;
}

void server_proc_kill_now(const struct server_proc *p)
{
	if (p && p->pid > 0 && !p->reaped)
		kill(p->pid, SIGKILL);
}

void server_proc_stop(struct server_proc *p)
{
	if (!p)
		return;
	if (p->pid > 0 && server_proc_alive(p, NULL, 0)) {
		double deadline = now_s() + p->stop_timeout_s;

		kill(p->pid, SIGTERM);
		/* A server frozen by SIGSTOP (a debugger, a test) takes the TERM once it runs. */
		kill(p->pid, SIGCONT);
		while (server_proc_alive(p, NULL, 0)) {
			if (now_s() > deadline) {
				kill(p->pid, SIGKILL);
				deadline = now_s() + 60;
			}
			sleep_ms(5);
		}
	}
	if (p->port_file)
		unlink(p->port_file);
	free(p->port_file);
	free(p->log_path);
	free(p->url);
	free(p->metrics_url);
	free(p);
}
