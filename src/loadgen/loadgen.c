/*
 * The load engine's workers: one epoll loop per worker thread, which also
 * drives the worker's libcurl multi handle through its socket interface
 * (curl_multi_socket_action), so each wake-up touches only the connections
 * that are ready. The requests themselves travel through a transport
 * (loadgen/transport.h): libcurl's own HTTP, or the HTTP/1.1 fast path.
 *
 * Concurrency invariants: everything in struct worker above the mailbox
 * belongs to the worker thread alone. The controller talks to a worker only
 * through the mailbox (mutex + condvar, woken by an eventfd the worker polls
 * with its sockets), and reads the three published counters, which the
 * worker alone writes (relaxed atomics, single writer).
 */
#include "loadgen/loadgen.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "loadgen/fetch.h"
#include "loadgen/requests.h"
#include "loadgen/schedule.h"
#include "loadgen/transport.h"
#include "util/error.h"
#include "util/thread.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define MAX_EVENTS 256
#define MAILBOX_TIMEOUT_MS 10000
#define CONNECT_TIMEOUT_MS 10000L

uint64_t loadgen_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

void loadgen_harvest_init(struct loadgen_harvest *h)
{
	memset(h, 0, sizeof(*h));
}

void loadgen_harvest_release(struct loadgen_harvest *h)
{
	free(h->records);
	loadgen_harvest_init(h);
}

void loadgen_harvest_clear(struct loadgen_harvest *h)
{
	h->n_records = 0;
	h->sent = h->failed = h->late = h->max_lateness_ns = 0;
	h->first_error[0] = '\0';
}

void lg_worker_fatal(struct worker *w, const char *what, int e)
{
	if (w->fatal)
		return;
	w->fatal = true;
	snprintf(w->fatal_msg, sizeof(w->fatal_msg), "load worker %u: %s: %s",
		 w->index, what, e ? strerror(e) : "failed");
}

/* --- descriptors and libcurl callbacks (worker thread) --- */

/*
 * epoll registrations. libcurl says REMOVE when a transfer ends and its
 * connection goes idle, and asks for the same socket again when the next
 * transfer reuses it: two epoll_ctl calls per request for nothing. For the
 * sockets we open ourselves (CURLOPT_OPENSOCKETFUNCTION, so their close
 * comes through CURLOPT_CLOSESOCKETFUNCTION and we know when the kernel
 * forgets them) a REMOVE only marks the socket unwanted; it stays in epoll
 * until it is wanted again (no call when the events match), it fires while
 * unwanted (then it is removed for real), or it is closed. Other sockets
 * (libcurl's resolver) are added and removed as libcurl says. A socket a
 * transport adopted (FD_ADOPTED) is no longer libcurl's: its events go to
 * the transport.
 */
uint8_t *lg_fd_state(struct worker *w, int fd)
{
	if (fd < 0)
		return NULL;
	if ((size_t)fd >= w->n_fds) {
		size_t n = w->n_fds ? w->n_fds : 64;

		while (n <= (size_t)fd)
			n *= 2;
		w->fds = xrealloc(w->fds, n);
		memset(w->fds + w->n_fds, 0, n - w->n_fds);
		w->n_fds = n;
	}
	return &w->fds[fd];
}

static void fd_unregister(struct worker *w, int fd, uint8_t *st)
{
	if (*st & FD_REGISTERED)
		epoll_ctl(w->epfd, EPOLL_CTL_DEL, fd, NULL);
	*st &= (uint8_t)~(FD_REGISTERED | FD_WANTED | FD_IN | FD_OUT);
}

/* Sets fd's epoll interest to `want` (FD_IN | FD_OUT); no call when unchanged. */
static int fd_set_interest(struct worker *w, int fd, uint8_t *st, uint8_t want)
{
	struct epoll_event ev;
	int rc;

	if ((*st & FD_REGISTERED) && (*st & (FD_IN | FD_OUT)) == want)
		return 0;
	memset(&ev, 0, sizeof(ev));
	ev.data.fd = fd;
	ev.events = ((want & FD_IN) ? EPOLLIN : 0) | ((want & FD_OUT) ? EPOLLOUT : 0);
	if (*st & FD_REGISTERED) {
		rc = epoll_ctl(w->epfd, EPOLL_CTL_MOD, fd, &ev);
		if (rc && errno == ENOENT)
			rc = epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev);
	} else {
		rc = epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev);
		if (rc && errno == EEXIST)
			rc = epoll_ctl(w->epfd, EPOLL_CTL_MOD, fd, &ev);
	}
	if (rc)
		return -1;
	*st = (uint8_t)((*st & ~(FD_IN | FD_OUT)) | want | FD_REGISTERED);
	return 0;
}

int lg_fd_watch(struct worker *w, int fd, bool out)
{
	uint8_t *st = lg_fd_state(w, fd);

	if (!st)
		return -1;
	return fd_set_interest(w, fd, st, (uint8_t)(FD_IN | (out ? FD_OUT : 0)));
}

static int on_socket(CURL *easy, curl_socket_t s, int what, void *userp,
		     void *socketp)
{
	struct worker *w = userp;
	uint8_t *st = lg_fd_state(w, s);
	uint8_t want;

	(void)easy;
	(void)socketp;
	if (!st || (*st & FD_ADOPTED))
		return 0;
	if (what == CURL_POLL_REMOVE) {
		if (*st & FD_OURS)
			*st &= (uint8_t)~FD_WANTED;
		else
			fd_unregister(w, s, st);
		return 0;
	}
	want = (uint8_t)(((what & CURL_POLL_IN) ? FD_IN : 0) |
			 ((what & CURL_POLL_OUT) ? FD_OUT : 0));
	*st |= FD_WANTED;
	fd_set_interest(w, s, st, want);
	return 0;
}

curl_socket_t lg_open_socket(void *clientp, curlsocktype purpose,
			     struct curl_sockaddr *addr)
{
	struct worker *w = clientp;
	int fd;
	uint8_t *st;

	(void)purpose;
	fd = socket(addr->family, addr->socktype | SOCK_CLOEXEC, addr->protocol);
	if (fd < 0)
		return CURL_SOCKET_BAD;
	st = lg_fd_state(w, fd);
	*st = FD_OURS;
	return fd;
}

int lg_close_socket(void *clientp, curl_socket_t fd)
{
	struct worker *w = clientp;
	uint8_t *st = lg_fd_state(w, fd);

	if (st && (*st & FD_KEEP)) {
		/* A transport took this socket over: libcurl lets go, we keep it. */
		*st &= (uint8_t)~(FD_KEEP | FD_WANTED);
		return 0;
	}
	/* The kernel drops a closed socket from the epoll set by itself. */
	if (st)
		*st = 0;
	return close(fd);
}

static int on_timer(CURLM *multi, long timeout_ms, void *userp)
{
	struct worker *w = userp;

	(void)multi;
	if (timeout_ms < 0) {
		w->curl_timer_armed = false;
	} else {
		w->curl_timer_armed = true;
		w->curl_deadline_ns = loadgen_now_ns() +
				      (uint64_t)timeout_ms * 1000000ULL;
	}
	return 0;
}

void lg_request_header_lines(const struct loadgen *lg, size_t b,
			     char lines[2][LG_HEADER_LINE_MAX])
{
	const struct request_set *rs = lg->opts.requests;

	snprintf(lines[0], LG_HEADER_LINE_MAX, "Content-Type: %s",
		 rs->binary ? "application/octet-stream" : "application/json");
	snprintf(lines[1], LG_HEADER_LINE_MAX, "Inference-Header-Content-Length: %zu",
		 rs->bodies[b].header_len);
}

void lg_easy_common(struct worker *w, CURL *e)
{
	curl_easy_setopt(e, CURLOPT_URL, w->lg->opts.infer_url);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(e, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, CONNECT_TIMEOUT_MS);
	curl_easy_setopt(e, CURLOPT_DNS_CACHE_TIMEOUT, -1L);
	/* No proxy: also spares the per-transfer getenv() of *_proxy variables. */
	curl_easy_setopt(e, CURLOPT_PROXY, "");
	curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, lg_open_socket);
	curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, w);
	curl_easy_setopt(e, CURLOPT_CLOSESOCKETFUNCTION, lg_close_socket);
	curl_easy_setopt(e, CURLOPT_CLOSESOCKETDATA, w);
}

/* --- requests (worker thread) --- */

static bool start_request(struct worker *w, uint64_t sched_ns, bool open_loop)
{
	const struct request_set *rs = w->lg->opts.requests;
	struct lg_request rq;
	size_t body = 0;

	if (rs->n_bodies > 1) {
		body = w->body_next % rs->n_bodies;
		w->body_next += w->lg->n_workers;
	}
	memset(&rq, 0, sizeof(rq));
	rq.start_ns = loadgen_now_ns();
	rq.sched_ns = open_loop ? sched_ns : rq.start_ns;
	if (open_loop && rq.start_ns > sched_ns) {
		uint64_t lateness = rq.start_ns - sched_ns;

		if (lateness > LOADGEN_LATE_NS) {
			rq.delayed = true;
			w->late++;
		}
		if (lateness > w->max_late)
			w->max_late = lateness;
	}
	/* Counted before the transport runs: it may finish the request at once. */
	w->inflight++;
	w->sent++;
	if (!w->lg->tp->start(w, body, &rq)) {
		w->inflight--;
		w->sent--;
		return false;
	}
	return true;
}

void lg_request_finish(struct worker *w, const struct lg_request *rq,
		       uint64_t end_ns, const char *error)
{
	struct loadgen_record *r;

	if (w->n_recs == w->alloc_recs)
		XGROW(w->recs, w->alloc_recs, w->n_recs + 1);
	r = &w->recs[w->n_recs++];
	memset(r, 0, sizeof(*r));
	r->end_ns = end_ns;
	if (error) {
		r->flags |= LOADGEN_RECORD_FAILED;
		w->failed++;
		w->failed_total++;
		if (!w->first_error[0])
			snprintf(w->first_error, sizeof(w->first_error), "%s", error);
	} else {
		r->latency_ns = end_ns - rq->sched_ns;
		r->request_ns = end_ns - rq->start_ns;
		r->send_ns = rq->sent_ns > rq->start_ns ? rq->sent_ns - rq->start_ns : 0;
		r->recv_ns = rq->first_ns && end_ns > rq->first_ns ?
			     end_ns - rq->first_ns : 0;
		if (rq->delayed)
			r->flags |= LOADGEN_RECORD_DELAYED;
	}
	w->completed_total++;
	atomic_store_explicit(&w->pub_completed, w->completed_total,
			      memory_order_relaxed);
	atomic_store_explicit(&w->pub_failed, w->failed_total,
			      memory_order_relaxed);
	w->inflight--;
}

static void arm_schedule_timer(struct worker *w, uint64_t at_ns)
{
	struct itimerspec its;

	memset(&its, 0, sizeof(its));
	its.it_value.tv_sec = (time_t)(at_ns / 1000000000ULL);
	its.it_value.tv_nsec = (long)(at_ns % 1000000000ULL);
	if (!its.it_value.tv_sec && !its.it_value.tv_nsec)
		its.it_value.tv_nsec = 1;
	if (timerfd_settime(w->tfd, TFD_TIMER_ABSTIME, &its, NULL))
		lg_worker_fatal(w, "timerfd_settime", errno);
}

/* Sends whatever is due and keeps the pipeline full. */
static void feed(struct worker *w)
{
	if (w->fatal)
		return;
	if (w->state == LOAD_CLOSED) {
		while (w->inflight < w->target) {
			if (!start_request(w, 0, false))
				return;
		}
		return;
	}
	if (w->state == LOAD_OPEN) {
		uint64_t now = loadgen_now_ns();

		while (w->inflight < w->max_inflight) {
			uint64_t at = w->sched_start_ns +
				      schedule_time(w->sched, w->next_k);

			if (at > now) {
				now = loadgen_now_ns();
				if (at > now) {
					arm_schedule_timer(w, at);
					return;
				}
			}
			if (!start_request(w, at, true))
				return;
			w->next_k += w->stride;
		}
		/* At the cap: the next completion calls feed() again. */
	}
}

/* Hands finished libcurl transfers to the transport, then refills. */
static void process_done(struct worker *w)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(w->multi, &left)) != NULL) {
		if (msg->msg == CURLMSG_DONE)
			w->lg->tp->curl_done(w, msg);
	}
	feed(w);
	atomic_store_explicit(&w->pub_inflight, w->inflight,
			      memory_order_relaxed);
}

/* --- mailbox (worker side) --- */

/* Returns true when the worker must stop. */
static bool handle_mailbox(struct worker *w)
{
	bool stop = false;

	pthread_mutex_lock(&w->mu);
	switch (w->cmd) {
	case CMD_CLOSED:
		w->state = LOAD_CLOSED;
		w->target = w->arg_target;
		break;
	case CMD_OPEN:
		w->state = LOAD_OPEN;
		w->sched = w->arg_sched;
		w->sched_start_ns = w->arg_start_ns;
		w->next_k = w->index;
		w->stride = w->lg->n_workers;
		break;
	case CMD_PAUSE:
		w->state = LOAD_IDLE;
		w->target = 0;
		break;
	case CMD_HARVEST: {
		struct loadgen_record *r = w->recs;
		size_t a = w->alloc_recs;

		w->recs = w->x_recs;
		w->alloc_recs = w->x_alloc;
		w->x_recs = r;
		w->x_alloc = a;
		w->x_n = w->n_recs;
		w->n_recs = 0;
		w->x_sent = w->sent;
		w->x_failed = w->failed;
		w->x_late = w->late;
		w->x_max_late = w->max_late;
		memcpy(w->x_first_error, w->first_error, sizeof(w->first_error));
		w->x_fatal = w->fatal;
		memcpy(w->x_fatal_msg, w->fatal_msg, sizeof(w->fatal_msg));
		w->sent = w->failed = w->late = w->max_late = 0;
		w->first_error[0] = '\0';
		break;
	}
	case CMD_STOP:
		stop = true;
		break;
	case CMD_NONE:
		break;
	}
	if (w->cmd != CMD_NONE) {
		w->cmd = CMD_NONE;
		w->done = true;
		pthread_cond_broadcast(&w->cv);
	}
	pthread_mutex_unlock(&w->mu);
	return stop;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct epoll_event ev[MAX_EVENTS];
	int running = 0;

	for (;;) {
		int timeout_ms = -1, n;
		uint64_t now = loadgen_now_ns();
		uint64_t tp_deadline = w->lg->tp->deadline_ns(w);

		if (tp_deadline && now >= tp_deadline) {
			w->lg->tp->on_deadline(w, now);
			process_done(w);
			continue;
		}
		if (w->curl_timer_armed && now >= w->curl_deadline_ns) {
			w->curl_timer_armed = false;
			curl_multi_socket_action(w->multi, CURL_SOCKET_TIMEOUT, 0,
						 &running);
			process_done(w);
			continue;
		}
		if (w->curl_timer_armed)
			timeout_ms = (int)((w->curl_deadline_ns - now + 999999) / 1000000);
		if (tp_deadline) {
			int t = (int)((tp_deadline - now + 999999) / 1000000);

			if (timeout_ms < 0 || t < timeout_ms)
				timeout_ms = t;
		}
		n = epoll_wait(w->epfd, ev, MAX_EVENTS, timeout_ms);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			lg_worker_fatal(w, "epoll_wait", errno);
			n = 0;
		}
		for (int i = 0; i < n; i++) {
			int fd = ev[i].data.fd;

			if (fd == w->evfd) {
				uint64_t v;

				if (read(w->evfd, &v, sizeof(v)) < 0 && errno != EAGAIN)
					lg_worker_fatal(w, "eventfd read", errno);
				if (handle_mailbox(w))
					return NULL;
				feed(w);
			} else if (fd == w->tfd) {
				uint64_t v;

				if (read(w->tfd, &v, sizeof(v)) < 0 && errno != EAGAIN)
					lg_worker_fatal(w, "timerfd read", errno);
				feed(w);
			} else {
				uint8_t *st = lg_fd_state(w, fd);
				int flags = 0;

				if (st && (*st & FD_ADOPTED)) {
					w->lg->tp->on_event(w, fd, ev[i].events);
					continue;
				}
				if (st && !(*st & FD_WANTED)) {
					/* An idle kept-alive socket woke up (closed by the peer). */
					fd_unregister(w, fd, st);
					continue;
				}
				if (ev[i].events & EPOLLIN)
					flags |= CURL_CSELECT_IN;
				if (ev[i].events & EPOLLOUT)
					flags |= CURL_CSELECT_OUT;
				if (ev[i].events & (EPOLLERR | EPOLLHUP))
					flags |= CURL_CSELECT_ERR;
				curl_multi_socket_action(w->multi, fd, flags, &running);
			}
		}
		process_done(w);
		if (w->fatal) {
			/* Keep answering the mailbox; send nothing more. */
			w->state = LOAD_IDLE;
		}
	}
	return NULL;
}

/* --- controller side --- */

/* Posts cmd to worker w (arguments already set under mu by the caller). */
static void post(struct worker *w, enum cmd cmd)
{
	uint64_t one = 1;
	ssize_t rc;

	w->cmd = cmd;
	w->done = false;
	pthread_mutex_unlock(&w->mu);
	do {
		rc = write(w->evfd, &one, sizeof(one));
	} while (rc < 0 && errno == EINTR);
}

/* Waits for w to acknowledge; leaves mu locked on success. */
static int await(struct worker *w, struct it_error *err)
{
	struct timespec deadline;
	int rc = 0;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += MAILBOX_TIMEOUT_MS / 1000;
	pthread_mutex_lock(&w->mu);
	while (!w->done && rc == 0)
		rc = pthread_cond_timedwait(&w->cv, &w->mu, &deadline);
	if (!w->done)
		return it_error_set(err, IT_ERR_INTERNAL,
				    "load worker %u did not answer within %d ms",
				    w->index, MAILBOX_TIMEOUT_MS);
	return 0;
}

static int broadcast_cmd(struct loadgen *lg, enum cmd cmd,
			 const uint64_t *targets, const struct schedule *s,
			 uint64_t start_ns, struct it_error *err)
{
	int rc = 0;

	for (unsigned i = 0; i < lg->n_workers; i++) {
		struct worker *w = &lg->workers[i];

		pthread_mutex_lock(&w->mu);
		if (targets)
			w->arg_target = targets[i];
		w->arg_sched = s;
		w->arg_start_ns = start_ns;
		post(w, cmd);
	}
	for (unsigned i = 0; i < lg->n_workers; i++) {
		struct worker *w = &lg->workers[i];
		int r = await(w, err);

		if (r) {
			rc = r;
			pthread_mutex_unlock(&w->mu);
			continue;
		}
		pthread_mutex_unlock(&w->mu);
	}
	return rc;
}

int loadgen_set_concurrency(struct loadgen *lg, uint64_t concurrency,
			    struct it_error *err)
{
	uint64_t *targets;
	int rc;

	if (lg->opts.mode != LOADGEN_CLOSED)
		return it_error_set(err, IT_ERR_STATE,
				    "this load generator runs an open loop; it has no concurrency");
	targets = xcalloc(lg->n_workers, sizeof(*targets));
	for (unsigned i = 0; i < lg->n_workers; i++)
		targets[i] = concurrency / lg->n_workers +
			     (i < concurrency % lg->n_workers ? 1 : 0);
	rc = broadcast_cmd(lg, CMD_CLOSED, targets, NULL, 0, err);
	free(targets);
	return rc;
}

int loadgen_set_schedule(struct loadgen *lg, const struct schedule *s,
			 uint64_t start_ns, struct it_error *err)
{
	if (lg->opts.mode != LOADGEN_OPEN)
		return it_error_set(err, IT_ERR_STATE,
				    "this load generator runs a closed loop; it has no schedule");
	if (!s || !s->n)
		return it_error_set(err, IT_ERR_INVALID, "empty schedule");
	return broadcast_cmd(lg, CMD_OPEN, NULL, s, start_ns, err);
}

int loadgen_pause(struct loadgen *lg, struct it_error *err)
{
	return broadcast_cmd(lg, CMD_PAUSE, NULL, NULL, 0, err);
}

int loadgen_harvest(struct loadgen *lg, struct loadgen_harvest *h,
		    struct it_error *err)
{
	int rc = 0;

	for (unsigned i = 0; i < lg->n_workers; i++) {
		struct worker *w = &lg->workers[i];

		pthread_mutex_lock(&w->mu);
		post(w, CMD_HARVEST);
	}
	for (unsigned i = 0; i < lg->n_workers; i++) {
		struct worker *w = &lg->workers[i];
		int r = await(w, err);

		if (r) {
			rc = r;
			pthread_mutex_unlock(&w->mu);
			continue;
		}
		if (w->x_n) {
			XGROW(h->records, h->alloc_records, h->n_records + w->x_n);
			memcpy(h->records + h->n_records, w->x_recs,
			       w->x_n * sizeof(*w->x_recs));
			h->n_records += w->x_n;
			w->x_n = 0;
		}
		h->sent += w->x_sent;
		h->failed += w->x_failed;
		h->late += w->x_late;
		if (w->x_max_late > h->max_lateness_ns)
			h->max_lateness_ns = w->x_max_late;
		if (!h->first_error[0] && w->x_first_error[0])
			memcpy(h->first_error, w->x_first_error,
			       sizeof(h->first_error));
		if (w->x_fatal && !rc)
			rc = it_error_set(err, IT_ERR_IO, "%s", w->x_fatal_msg);
		pthread_mutex_unlock(&w->mu);
	}
	return rc;
}

uint64_t loadgen_completed(const struct loadgen *lg, uint64_t *failed)
{
	uint64_t c = 0, f = 0;

	for (unsigned i = 0; i < lg->n_workers; i++) {
		c += atomic_load_explicit(&lg->workers[i].pub_completed,
					  memory_order_relaxed);
		f += atomic_load_explicit(&lg->workers[i].pub_failed,
					  memory_order_relaxed);
	}
	if (failed)
		*failed = f;
	return c;
}

uint64_t loadgen_inflight(const struct loadgen *lg)
{
	uint64_t n = 0;

	for (unsigned i = 0; i < lg->n_workers; i++)
		n += atomic_load_explicit(&lg->workers[i].pub_inflight,
					  memory_order_relaxed);
	return n;
}

const char *loadgen_http_client(const struct loadgen *lg)
{
	return lg->tp->name;
}

unsigned loadgen_workers(const struct loadgen *lg)
{
	return lg->n_workers;
}

uint64_t loadgen_worker_cpu_ns(const struct loadgen *lg, unsigned i)
{
	struct timespec ts;

	if (i >= lg->n_workers || !lg->workers[i].has_cpu_clock ||
	    clock_gettime(lg->workers[i].cpu_clock, &ts))
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void worker_release(struct worker *w)
{
	if (!w->inited)
		return;
	if (w->tp)
		w->lg->tp->worker_release(w);
	if (w->multi)
		curl_multi_cleanup(w->multi);
	free(w->fds);
	if (w->epfd >= 0)
		close(w->epfd);
	if (w->evfd >= 0)
		close(w->evfd);
	if (w->tfd >= 0)
		close(w->tfd);
	free(w->recs);
	free(w->x_recs);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
}

static int worker_init(struct loadgen *lg, unsigned index, size_t max_inflight,
		       struct it_error *err)
{
	struct worker *w = &lg->workers[index];
	struct epoll_event ev;

	w->lg = lg;
	w->index = index;
	w->epfd = w->evfd = w->tfd = -1;
	w->max_inflight = max_inflight;
	w->inited = true;
	pthread_mutex_init(&w->mu, NULL);
	cond_init_monotonic(&w->cv);
	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	w->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	w->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (w->epfd < 0 || w->evfd < 0 || w->tfd < 0)
		return it_error_set(err, IT_ERR_IO,
				    "load worker %u: cannot create epoll/eventfd/timerfd: %s",
				    index, strerror(errno));
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.fd = w->evfd;
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->evfd, &ev))
		return it_error_set(err, IT_ERR_IO, "epoll_ctl: %s", strerror(errno));
	ev.data.fd = w->tfd;
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->tfd, &ev))
		return it_error_set(err, IT_ERR_IO, "epoll_ctl: %s", strerror(errno));
	w->multi = curl_multi_init();
	if (!w->multi)
		return it_error_set(err, IT_ERR_IO, "cannot create a libcurl multi handle");
	curl_multi_setopt(w->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(w->multi, CURLMOPT_SOCKETDATA, w);
	curl_multi_setopt(w->multi, CURLMOPT_TIMERFUNCTION, on_timer);
	curl_multi_setopt(w->multi, CURLMOPT_TIMERDATA, w);
	/* Keep every idle keep-alive connection: closed loops reuse them all. */
	curl_multi_setopt(w->multi, CURLMOPT_MAXCONNECTS, 100000L);
	curl_multi_setopt(w->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_NOTHING);
	return lg->tp->worker_init(w, err);
}

/* Requests in flight the open-file limit allows, all workers together. */
static size_t inflight_cap(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur == RLIM_INFINITY)
		return 60000;
	if (rl.rlim_cur < 256)
		return 64;
	/* One socket each, and headroom for curl, files and the controller. */
	return (size_t)(rl.rlim_cur - 128);
}

/* "host:port" without a scheme is http, as for -u. */
static bool plain_http(const char *url)
{
	return !strstr(url, "://") || !strncasecmp(url, "http://", 7);
}

int loadgen_http_client_check(const char *url, enum loadgen_http_client client,
			      struct it_error *err)
{
	if (client == LOADGEN_HTTP_H1 && !plain_http(url))
		return it_error_set(err, IT_ERR_INVALID,
				    "--http-client h1 speaks plain http:// only, not '%s'; use --http-client libcurl (or auto)",
				    url);
	return 0;
}

/*
 * The fast path frames HTTP/1.1 itself over plain TCP; anything else (https,
 * or a user who asks for it) goes through libcurl's own HTTP.
 */
static int pick_transport(const struct loadgen_options *opts,
			  const struct lg_transport **out, struct it_error *err)
{
	int rc = loadgen_http_client_check(opts->infer_url, opts->http_client, err);

	if (rc)
		return rc;
	if (opts->http_client == LOADGEN_HTTP_LIBCURL)
		*out = &lg_transport_curl;
	else if (opts->http_client == LOADGEN_HTTP_H1 || plain_http(opts->infer_url))
		*out = &lg_transport_h1;
	else
		*out = &lg_transport_curl;
	return 0;
}

int loadgen_new(const struct loadgen_options *opts, struct loadgen **out,
		struct it_error *err)
{
	struct loadgen *lg = NULL;
	const struct request_set *rs = opts->requests;
	size_t cap;
	int rc = 0;

	if (!opts->infer_url || !rs || !rs->n_bodies || opts->n_workers < 1)
		return it_error_set(err, IT_ERR_INVALID,
				    "loadgen_new: a URL, request bodies and at least one worker are needed");
	lg_curl_global_init();
	lg = xcalloc(1, sizeof(*lg));
	lg->opts = *opts;
	rc = pick_transport(opts, &lg->tp, err);
	if (rc)
		goto out;
	rc = lg->tp->engine_init(lg, err);
	if (rc) {
		lg->tp = NULL;
		goto out;
	}
	cap = opts->max_inflight ? opts->max_inflight : inflight_cap();
	lg->workers = xcalloc(opts->n_workers, sizeof(*lg->workers));
	lg->n_workers = opts->n_workers;
	for (unsigned i = 0; i < lg->n_workers; i++) {
		size_t per = cap / lg->n_workers;

		rc = worker_init(lg, i, per ? per : 1, err);
		if (rc)
			goto out;
	}
	for (unsigned i = 0; i < lg->n_workers; i++) {
		struct worker *w = &lg->workers[i];
		int e = pthread_create(&w->thread, NULL, worker_main, w);

		if (e) {
			rc = it_error_set(err, IT_ERR_IO,
					  "cannot start load worker %u: %s", i,
					  strerror(e));
			goto out;
		}
		w->started = true;
		w->has_cpu_clock = pthread_getcpuclockid(w->thread,
							 &w->cpu_clock) == 0;
	}
	*out = lg;
	lg = NULL;
out:
	loadgen_free(lg);
	return rc;
}

void loadgen_free(struct loadgen *lg)
{
	if (!lg)
		return;
	for (unsigned i = 0; i < lg->n_workers; i++) {
		struct worker *w = &lg->workers[i];

		if (!w->started)
			continue;
		pthread_mutex_lock(&w->mu);
		post(w, CMD_STOP);
		/*
		 * A worker only ever blocks in epoll_wait, and the eventfd wakes
		 * it, so the join cannot hang.
		 */
		pthread_join(w->thread, NULL);
	}
	for (unsigned i = 0; i < lg->n_workers; i++)
		worker_release(&lg->workers[i]);
	free(lg->workers);
	if (lg->tp)
		lg->tp->engine_release(lg);
	free(lg);
}
