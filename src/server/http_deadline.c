/*
 * Deadlines for reading a request (http_deadline.h).
 *
 * The watches form a list under one mutex. The handler's phase changes do
 * not take it: each stores since (and the body count) before the phase,
 * with release order, and the checker loads the phase first, with acquire
 * order, so it never pairs a new phase with an older since. It may pair an
 * old phase with a newer since, which only moves a deadline later, once.
 * The checker shuts a socket down while holding the mutex, and a watch is
 * unlinked under it before its socket is closed: the descriptor it shuts
 * down is always the connection's own.
 */
#include "server/http_deadline.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "util/error.h"
#include "util/log.h"
#include "util/thread.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define NS_PER_S 1000000000ULL

struct http_watch {
	int fd;
	_Atomic int phase;              /* enum http_watch_phase */
	_Atomic uint64_t since_ns;      /* when the phase began */
	_Atomic uint64_t body_bytes;    /* body bytes of the request being read */
	bool cut;                       /* shut down already (checker only) */
	struct http_watch *prev, *next;
};

struct http_deadlines {
	unsigned limit_s;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stop;
	struct http_watch *head;
	pthread_t thread;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

uint64_t http_deadline_ns(enum http_watch_phase phase, uint64_t since_ns,
			  uint64_t body_bytes, unsigned limit_s)
{
	uint64_t grace = (uint64_t)limit_s * NS_PER_S;

	switch (phase) {
	case HTTP_WATCH_HEAD:
		return since_ns + grace;
	case HTTP_WATCH_BODY:
		/* Whole seconds per HTTP_BODY_MIN_RATE bytes, then the remainder. */
		return since_ns + grace + body_bytes / HTTP_BODY_MIN_RATE * NS_PER_S +
		       body_bytes % HTTP_BODY_MIN_RATE * NS_PER_S / HTTP_BODY_MIN_RATE;
	case HTTP_WATCH_READ:
		break;
	}
	return UINT64_MAX;
}

static void enter(struct http_watch *w, enum http_watch_phase phase)
{
	atomic_store_explicit(&w->since_ns, now_ns(), memory_order_relaxed);
	atomic_store_explicit(&w->body_bytes, 0, memory_order_relaxed);
	atomic_store_explicit(&w->phase, (int)phase, memory_order_release);
}

/* Shuts down every connection past its deadline; called with d->mu held. */
static void check(struct http_deadlines *d)
{
	uint64_t now = now_ns();

	for (struct http_watch *w = d->head; w; w = w->next) {
		int phase = atomic_load_explicit(&w->phase, memory_order_acquire);
		uint64_t since = atomic_load_explicit(&w->since_ns, memory_order_relaxed);
		uint64_t body = atomic_load_explicit(&w->body_bytes, memory_order_relaxed);

		if (w->cut || now < http_deadline_ns(phase, since, body, d->limit_s))
			continue;
		w->cut = true;
		log_verbose(1, "HTTP: closing a connection whose request %s did not arrive in time "
			    "(%u s, then %d bytes/s for a body)",
			    phase == HTTP_WATCH_HEAD ? "line and headers" : "body",
			    d->limit_s, HTTP_BODY_MIN_RATE);
		shutdown(w->fd, SHUT_RDWR);
	}
}

static void *checker(void *arg)
{
	struct http_deadlines *d = arg;

	pthread_mutex_lock(&d->mu);
	while (!d->stop) {
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&d->cv, &d->mu, &ts);
		if (!d->stop)
			check(d);
	}
	pthread_mutex_unlock(&d->mu);
	return NULL;
}

int http_deadlines_start(unsigned limit_s, struct http_deadlines **out,
			 struct it_error *err)
{
	struct http_deadlines *d = xcalloc(1, sizeof(*d));
	int rc;

	d->limit_s = limit_s;
	pthread_mutex_init(&d->mu, NULL);
	cond_init_monotonic(&d->cv);
	rc = pthread_create(&d->thread, NULL, checker, d);
	if (rc) {
		pthread_cond_destroy(&d->cv);
		pthread_mutex_destroy(&d->mu);
		free(d);
		return it_error_set(err, IT_ERR_IO, "cannot start the HTTP deadline thread: %s",
				    strerror(rc));
	}
	*out = d;
	return 0;
}

void http_deadlines_free(struct http_deadlines *d)
{
	if (!d)
		return;
	pthread_mutex_lock(&d->mu);
	d->stop = true;
	pthread_cond_signal(&d->cv);
	pthread_mutex_unlock(&d->mu);
	pthread_join(d->thread, NULL);
	while (d->head) {
		struct http_watch *next = d->head->next;

		free(d->head);
		d->head = next;
	}
	pthread_cond_destroy(&d->cv);
	pthread_mutex_destroy(&d->mu);
	free(d);
}

struct http_watch *http_watch_open(struct http_deadlines *d, int fd)
{
	struct http_watch *w = xcalloc(1, sizeof(*w));

	w->fd = fd;
	enter(w, HTTP_WATCH_HEAD);
	pthread_mutex_lock(&d->mu);
	w->next = d->head;
	if (d->head)
		d->head->prev = w;
	d->head = w;
	pthread_mutex_unlock(&d->mu);
	return w;
}

void http_watch_close(struct http_deadlines *d, struct http_watch *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&d->mu);
	if (w->prev)
		w->prev->next = w->next;
	else
		d->head = w->next;
	if (w->next)
		w->next->prev = w->prev;
	pthread_mutex_unlock(&d->mu);
	free(w);
}

void http_watch_headers(struct http_watch *w)
{
	if (w)
		enter(w, HTTP_WATCH_BODY);
}

void http_watch_body(struct http_watch *w, size_t n)
{
	if (w)
		atomic_fetch_add_explicit(&w->body_bytes, n, memory_order_relaxed);
}

void http_watch_request_read(struct http_watch *w)
{
	if (w)
		enter(w, HTTP_WATCH_READ);
}

void http_watch_answered(struct http_watch *w)
{
	if (w)
		enter(w, HTTP_WATCH_HEAD);
}
