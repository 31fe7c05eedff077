/*
 * The load engine: one epoll loop per worker thread driving a libcurl multi
 * handle through its socket interface (curl_multi_socket_action), so each
 * wake-up touches only the connections that are ready.
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
#include "util/error.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define MAX_EVENTS 256
#define MAILBOX_TIMEOUT_MS 10000
#define ERROR_BODY_MAX 256
#define CONNECT_TIMEOUT_MS 10000L

enum cmd {
	CMD_NONE = 0,
	CMD_CLOSED,
	CMD_OPEN,
	CMD_PAUSE,
	CMD_HARVEST,
	CMD_STOP,
};

enum load_state {
	LOAD_IDLE = 0,
	LOAD_CLOSED,
	LOAD_OPEN,
};

struct worker;

/* One easy handle and the request it is carrying. */
struct slot {
	CURL *easy;
	struct worker *w;
	uint64_t start_ns;      /* actual start */
	uint64_t sched_ns;      /* scheduled start (= start_ns when closed) */
	bool busy;
	bool delayed;
	size_t err_len;
	char err_body[ERROR_BODY_MAX];
	char errbuf[CURL_ERROR_SIZE];
	struct slot *next_free;
};

struct worker {
	struct loadgen *lg;
	unsigned index;
	pthread_t thread;
	bool inited;            /* worker_init ran: fds and locks exist */
	bool started;
	clockid_t cpu_clock;
	bool has_cpu_clock;

	/* --- owned by the worker thread --- */
	CURLM *multi;
	int epfd, evfd, tfd;
	bool curl_timer_armed;
	uint64_t curl_deadline_ns;
	struct slot **slots;
	size_t n_slots, alloc_slots;
	struct slot *free_list;
	uint8_t *fds;                   /* FD_* flags by descriptor */
	size_t n_fds;
	size_t inflight;
	size_t max_inflight;
	enum load_state state;
	uint64_t target;                /* closed: requests to keep in flight */
	const struct schedule *sched;   /* open */
	uint64_t sched_start_ns;
	uint64_t next_k;
	unsigned stride;
	size_t body_next;
	struct loadgen_record *recs;
	size_t n_recs, alloc_recs;
	uint64_t sent, failed, late, max_late;
	uint64_t completed_total, failed_total;
	char first_error[512];
	bool fatal;
	char fatal_msg[256];

	/* --- published, single writer (the worker) --- */
	_Atomic uint64_t pub_completed;
	_Atomic uint64_t pub_failed;
	_Atomic uint64_t pub_inflight;

	/* --- mailbox, under mu --- */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	enum cmd cmd;
	bool done;
	uint64_t arg_target;
	const struct schedule *arg_sched;
	uint64_t arg_start_ns;
	/* harvest exchange: in, an empty buffer; out, the records */
	struct loadgen_record *x_recs;
	size_t x_n, x_alloc;
	uint64_t x_sent, x_failed, x_late, x_max_late;
	char x_first_error[512];
	bool x_fatal;
	char x_fatal_msg[256];
};

struct loadgen {
	struct loadgen_options opts;
	struct curl_slist **headers;    /* one list per body */
	struct worker *workers;
	unsigned n_workers;
};

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

static void set_fatal(struct worker *w, const char *what, int e)
{
	if (w->fatal)
		return;
	w->fatal = true;
	snprintf(w->fatal_msg, sizeof(w->fatal_msg), "load worker %u: %s: %s",
		 w->index, what, e ? strerror(e) : "failed");
}

/* --- libcurl callbacks (worker thread) --- */

/*
 * epoll registrations. libcurl says REMOVE when a transfer ends and its
 * connection goes idle, and asks for the same socket again when the next
 * transfer reuses it: two epoll_ctl calls per request for nothing. For the
 * sockets we open ourselves (CURLOPT_OPENSOCKETFUNCTION, so their close
 * comes through CURLOPT_CLOSESOCKETFUNCTION and we know when the kernel
 * forgets them) a REMOVE only marks the socket unwanted; it stays in epoll
 * until it is wanted again (no call when the events match), it fires while
 * unwanted (then it is removed for real), or it is closed. Other sockets
 * (libcurl's resolver) are added and removed as libcurl says.
 */
enum {
	FD_OURS = 1,            /* opened by on_open_socket: its close reaches us */
	FD_REGISTERED = 2,      /* in the epoll set */
	FD_WANTED = 4,          /* libcurl is waiting on it */
	FD_IN = 8,
	FD_OUT = 16,
};

static uint8_t *fd_state(struct worker *w, int fd)
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

static int on_socket(CURL *easy, curl_socket_t s, int what, void *userp,
		     void *socketp)
{
	struct worker *w = userp;
	uint8_t *st = fd_state(w, s);
	uint8_t want;
	struct epoll_event ev;

	(void)easy;
	(void)socketp;
	if (!st)
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
	if ((*st & FD_REGISTERED) && (*st & (FD_IN | FD_OUT)) == want)
		return 0;
	memset(&ev, 0, sizeof(ev));
	ev.data.fd = s;
	ev.events = ((want & FD_IN) ? EPOLLIN : 0) | ((want & FD_OUT) ? EPOLLOUT : 0);
	if (*st & FD_REGISTERED) {
		if (epoll_ctl(w->epfd, EPOLL_CTL_MOD, s, &ev) && errno == ENOENT)
			epoll_ctl(w->epfd, EPOLL_CTL_ADD, s, &ev);
	} else {
		if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, s, &ev) && errno == EEXIST)
			epoll_ctl(w->epfd, EPOLL_CTL_MOD, s, &ev);
	}
	*st = (uint8_t)((*st & ~(FD_IN | FD_OUT)) | want | FD_REGISTERED);
	return 0;
}

static curl_socket_t on_open_socket(void *clientp, curlsocktype purpose,
				    struct curl_sockaddr *addr)
{
	struct worker *w = clientp;
	int fd;
	uint8_t *st;

	(void)purpose;
	fd = socket(addr->family, addr->socktype | SOCK_CLOEXEC, addr->protocol);
	if (fd < 0)
		return CURL_SOCKET_BAD;
	st = fd_state(w, fd);
	*st = FD_OURS;
	return fd;
}

static int on_close_socket(void *clientp, curl_socket_t fd)
{
	struct worker *w = clientp;
	uint8_t *st = fd_state(w, fd);

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

/* The response body is not needed; its start is kept for error messages. */
static size_t on_body(char *data, size_t size, size_t n, void *userp)
{
	struct slot *s = userp;
	size_t len = size * n;

	if (s->err_len < ERROR_BODY_MAX) {
		size_t room = ERROR_BODY_MAX - s->err_len;
		size_t k = len < room ? len : room;

		memcpy(s->err_body + s->err_len, data, k);
		s->err_len += k;
	}
	return len;
}

/* --- requests (worker thread) --- */

static struct slot *slot_new(struct worker *w)
{
	const struct loadgen *lg = w->lg;
	const struct request_set *rs = lg->opts.requests;
	struct slot *s = xcalloc(1, sizeof(*s));
	CURL *e = curl_easy_init();

	if (!e) {
		free(s);
		return NULL;
	}
	s->easy = e;
	s->w = w;
	curl_easy_setopt(e, CURLOPT_URL, lg->opts.infer_url);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, rs->bodies[0].data);
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
			 (curl_off_t)rs->bodies[0].len);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, lg->headers[0]);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, s);
	curl_easy_setopt(e, CURLOPT_PRIVATE, s);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, s->errbuf);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(e, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, CONNECT_TIMEOUT_MS);
	curl_easy_setopt(e, CURLOPT_DNS_CACHE_TIMEOUT, -1L);
	/* No proxy: also spares the per-transfer getenv() of *_proxy variables. */
	curl_easy_setopt(e, CURLOPT_PROXY, "");
	curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, on_open_socket);
	curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, w);
	curl_easy_setopt(e, CURLOPT_CLOSESOCKETFUNCTION, on_close_socket);
	curl_easy_setopt(e, CURLOPT_CLOSESOCKETDATA, w);
	if (lg->opts.request_timeout_ms > 0)
		curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, lg->opts.request_timeout_ms);
	XGROW(w->slots, w->alloc_slots, w->n_slots + 1);
	w->slots[w->n_slots++] = s;
	return s;
}

static bool start_request(struct worker *w, uint64_t sched_ns, bool open_loop)
{
	const struct request_set *rs = w->lg->opts.requests;
	struct slot *s = w->free_list;
	CURLMcode mc;
	uint64_t now;

	if (s) {
		w->free_list = s->next_free;
	} else {
		s = slot_new(w);
		if (!s) {
			set_fatal(w, "cannot create a libcurl handle", 0);
			return false;
		}
	}
	if (rs->n_bodies > 1) {
		size_t b = w->body_next % rs->n_bodies;

		w->body_next += w->lg->n_workers;
		curl_easy_setopt(s->easy, CURLOPT_POSTFIELDS, rs->bodies[b].data);
		curl_easy_setopt(s->easy, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)rs->bodies[b].len);
		curl_easy_setopt(s->easy, CURLOPT_HTTPHEADER, w->lg->headers[b]);
	}
	s->err_len = 0;
	s->errbuf[0] = '\0';
	now = loadgen_now_ns();
	s->start_ns = now;
	s->sched_ns = open_loop ? sched_ns : now;
	s->delayed = false;
	if (open_loop && now > sched_ns) {
		uint64_t lateness = now - sched_ns;

		if (lateness > LOADGEN_LATE_NS) {
			s->delayed = true;
			w->late++;
		}
		if (lateness > w->max_late)
			w->max_late = lateness;
	}
	mc = curl_multi_add_handle(w->multi, s->easy);
	if (mc != CURLM_OK) {
		s->next_free = w->free_list;
		w->free_list = s;
		set_fatal(w, curl_multi_strerror(mc), 0);
		return false;
	}
	s->busy = true;
	w->inflight++;
	w->sent++;
	return true;
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
		set_fatal(w, "timerfd_settime", errno);
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

static void complete(struct worker *w, CURLMsg *msg)
{
	struct slot *s = NULL;
	struct loadgen_record *r;
	uint64_t end = loadgen_now_ns();
	long status = 0;

	curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&s);
	if (w->n_recs == w->alloc_recs)
		XGROW(w->recs, w->alloc_recs, w->n_recs + 1);
	r = &w->recs[w->n_recs++];
	memset(r, 0, sizeof(*r));
	r->end_ns = end;
	if (msg->data.result == CURLE_OK)
		curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &status);
	if (msg->data.result != CURLE_OK || status != 200) {
		r->flags |= LOADGEN_RECORD_FAILED;
		w->failed++;
		w->failed_total++;
		if (!w->first_error[0]) {
			if (msg->data.result != CURLE_OK) {
				snprintf(w->first_error, sizeof(w->first_error),
					 "%s", s->errbuf[0] ? s->errbuf :
					 curl_easy_strerror(msg->data.result));
			} else {
				char m[320];

				snprintf(w->first_error, sizeof(w->first_error),
					 "HTTP %ld: %s", status,
					 lg_error_message(s->err_body, s->err_len,
							  m, sizeof(m)));
			}
		}
	} else {
		curl_off_t pre = 0, first = 0, total = 0;

		curl_easy_getinfo(s->easy, CURLINFO_PRETRANSFER_TIME_T, &pre);
		curl_easy_getinfo(s->easy, CURLINFO_STARTTRANSFER_TIME_T, &first);
		curl_easy_getinfo(s->easy, CURLINFO_TOTAL_TIME_T, &total);
		r->latency_ns = end - s->sched_ns;
		r->request_ns = end - s->start_ns;
		r->send_ns = (uint64_t)pre * 1000;
		r->recv_ns = total > first ? (uint64_t)(total - first) * 1000 : 0;
		if (s->delayed)
			r->flags |= LOADGEN_RECORD_DELAYED;
	}
	w->completed_total++;
	atomic_store_explicit(&w->pub_completed, w->completed_total,
			      memory_order_relaxed);
	atomic_store_explicit(&w->pub_failed, w->failed_total,
			      memory_order_relaxed);
	curl_multi_remove_handle(w->multi, s->easy);
	s->busy = false;
	s->next_free = w->free_list;
	w->free_list = s;
	w->inflight--;
}

static void process_done(struct worker *w)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(w->multi, &left)) != NULL) {
		if (msg->msg == CURLMSG_DONE)
			complete(w, msg);
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

		if (w->curl_timer_armed) {
			uint64_t now = loadgen_now_ns();

			if (now >= w->curl_deadline_ns) {
				w->curl_timer_armed = false;
				curl_multi_socket_action(w->multi, CURL_SOCKET_TIMEOUT,
							 0, &running);
				process_done(w);
				continue;
			}
			timeout_ms = (int)((w->curl_deadline_ns - now + 999999) / 1000000);
		}
		n = epoll_wait(w->epfd, ev, MAX_EVENTS, timeout_ms);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			set_fatal(w, "epoll_wait", errno);
			n = 0;
		}
		for (int i = 0; i < n; i++) {
			int fd = ev[i].data.fd;

			if (fd == w->evfd) {
				uint64_t v;

				if (read(w->evfd, &v, sizeof(v)) < 0 && errno != EAGAIN)
					set_fatal(w, "eventfd read", errno);
				if (handle_mailbox(w))
					return NULL;
				feed(w);
			} else if (fd == w->tfd) {
				uint64_t v;

				if (read(w->tfd, &v, sizeof(v)) < 0 && errno != EAGAIN)
					set_fatal(w, "timerfd read", errno);
				feed(w);
			} else {
				uint8_t *st = fd_state(w, fd);
				int flags = 0;

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
	for (size_t i = 0; i < w->n_slots; i++) {
		struct slot *s = w->slots[i];

		if (s->busy)
			curl_multi_remove_handle(w->multi, s->easy);
		curl_easy_cleanup(s->easy);
		free(s);
	}
	free(w->slots);
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
	pthread_condattr_t ca;

	w->lg = lg;
	w->index = index;
	w->epfd = w->evfd = w->tfd = -1;
	w->max_inflight = max_inflight;
	w->inited = true;
	pthread_mutex_init(&w->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cv, &ca);
	pthread_condattr_destroy(&ca);
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
	return 0;
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
	lg->headers = xcalloc(rs->n_bodies, sizeof(*lg->headers));
	for (size_t b = 0; b < rs->n_bodies; b++) {
		char line[96];
		struct curl_slist *l = NULL;

		l = curl_slist_append(l, rs->binary ?
				      "Content-Type: application/octet-stream" :
				      "Content-Type: application/json");
		snprintf(line, sizeof(line), "Inference-Header-Content-Length: %zu",
			 rs->bodies[b].header_len);
		l = curl_slist_append(l, line);
		/* No 100-continue round trip, no Accept line to parse. */
		l = curl_slist_append(l, "Expect:");
		l = curl_slist_append(l, "Accept:");
		if (!l) {
			rc = it_error_set(err, IT_ERR_IO, "cannot build request headers");
			goto out;
		}
		lg->headers[b] = l;
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
	if (lg->headers) {
		for (size_t b = 0; b < lg->opts.requests->n_bodies; b++)
			curl_slist_free_all(lg->headers[b]);
	}
	free(lg->headers);
	free(lg);
}
