/*
 * The HTTP/1.1 fast path: libcurl opens each connection (URL, name
 * resolution, connect timeout; CURLOPT_CONNECT_ONLY on the worker's multi
 * handle, so connecting never blocks the loop) and then lets go of the
 * socket; from there each request is one send() of bytes built once and
 * recv()s framed by loadgen/h1, as wrk does. libcurl's own HTTP costs about
 * 8 us of CPU a request on top of that (URL re-parse, header building and
 * parsing, connection-cache checks), which on a small machine shared with
 * the server is the difference between measuring the server and measuring
 * the client.
 *
 * Handing the socket over: a CONNECT_ONLY connection stays in the multi
 * handle's connection cache, where libcurl's dead-connection sweep (run
 * whenever it opens another one) would close it the moment a response is
 * waiting on it ("input pending" reads as dead). So once connected, the
 * transfer is removed from the multi handle; libcurl then closes the
 * connection through CURLOPT_CLOSESOCKETFUNCTION, which keeps the socket
 * for us instead (FD_KEEP), and libcurl forgets it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <curl/curl.h>

#include "loadgen/fetch.h"
#include "loadgen/h1.h"
#include "loadgen/requests.h"
#include "loadgen/transport.h"
#include "util/error.h"
#include "util/strbuf.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define RECV_BUFFER_BYTES 65536

enum conn_state {
	CONN_CLOSED = 0,        /* no socket: in the spare list */
	CONN_CONNECTING,        /* libcurl is connecting it (a request waits) */
	CONN_IDLE,              /* connected, kept alive, in the idle list */
	CONN_BUSY,              /* a request is being sent or answered */
};

struct conn {
	CURL *easy;             /* connects it; owns no connection afterwards */
	int fd;
	enum conn_state state;
	bool reused;            /* the request is not the connection's first */
	bool retried;           /* the request was already resent once */
	struct lg_request rq;
	size_t body;
	size_t out_off;         /* bytes of the request written */
	uint64_t deadline_ns;   /* request timeout; 0 = none */
	struct h1_parser parser;
	char errbuf[CURL_ERROR_SIZE];
	struct conn *next;      /* idle or spare list */
	struct conn *q_prev, *q_next;   /* busy queue, oldest first */
};

struct h1_worker {
	struct conn **all;
	size_t n_all, alloc_all;
	struct conn *idle;
	struct conn *spare;
	struct conn **by_fd;
	size_t n_by_fd;
	struct conn queue;      /* sentinel: busy and connecting, by start time */
	char *rbuf;
};

/* The request bytes, one buffer per request body. */
struct h1_engine {
	char **req;
	size_t *req_len;
	size_t n;
};

static int h1_engine_init(struct loadgen *lg, struct it_error *err)
{
	const struct request_set *rs = lg->opts.requests;
	struct h1_engine *he = xcalloc(1, sizeof(*he));
	CURLU *u = curl_url();
	char *host = NULL, *port = NULL, *path = NULL, *query = NULL;
	struct strbuf host_port, target;
	char lines[2][LG_HEADER_LINE_MAX];
	const char *headers[2] = { lines[0], lines[1] };
	int rc = 0;

	lg->tp_engine = he;
	strbuf_init(&host_port, 0);
	strbuf_init(&target, 0);
	if (!u || curl_url_set(u, CURLUPART_URL, lg->opts.infer_url, 0) ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) ||
	    curl_url_get(u, CURLUPART_PATH, &path, 0)) {
		rc = it_error_set(err, IT_ERR_INVALID, "cannot parse the URL '%s'",
				  lg->opts.infer_url);
		goto out;
	}
	curl_url_get(u, CURLUPART_QUERY, &query, 0);
	/* Host carries the port only when it is not the default (RFC 9110 7.2). */
	if (strbuf_addf(&host_port, "%s%s%s", host, strcmp(port, "80") ? ":" : "",
			strcmp(port, "80") ? port : "") ||
	    strbuf_addf(&target, "%s%s%s", path, query ? "?" : "",
			query ? query : "")) {
		rc = it_error_set(err, IT_ERR_LIMIT, "the URL '%.200s...' is too long",
				  lg->opts.infer_url);
		goto out;
	}
	he->n = rs->n_bodies;
	he->req = xcalloc(he->n, sizeof(*he->req));
	he->req_len = xcalloc(he->n, sizeof(*he->req_len));
	for (size_t b = 0; b < he->n; b++) {
		lg_request_header_lines(lg, b, lines);
		he->req[b] = h1_request_build(host_port.buf, target.buf, headers, 2,
					      rs->bodies[b].data,
					      rs->bodies[b].len, &he->req_len[b]);
	}
out:
	strbuf_release(&host_port);
	strbuf_release(&target);
	curl_free(host);
	curl_free(port);
	curl_free(path);
	curl_free(query);
	curl_url_cleanup(u);
	return rc;
}

static void h1_engine_release(struct loadgen *lg)
{
	struct h1_engine *he = lg->tp_engine;

	if (!he)
		return;
	for (size_t b = 0; b < he->n; b++)
		free(he->req[b]);
	free(he->req);
	free(he->req_len);
	free(he);
	lg->tp_engine = NULL;
}

static int h1_worker_init(struct worker *w, struct it_error *err)
{
	struct h1_worker *hw = xcalloc(1, sizeof(*hw));

	(void)err;
	hw->queue.q_prev = hw->queue.q_next = &hw->queue;
	hw->rbuf = xmalloc(RECV_BUFFER_BYTES);
	w->tp = hw;
	return 0;
}

/* --- connections --- */

static void queue_add(struct h1_worker *hw, struct conn *c)
{
	c->q_prev = hw->queue.q_prev;
	c->q_next = &hw->queue;
	hw->queue.q_prev->q_next = c;
	hw->queue.q_prev = c;
}

static void queue_del(struct conn *c)
{
	if (!c->q_next)
		return;
	c->q_prev->q_next = c->q_next;
	c->q_next->q_prev = c->q_prev;
	c->q_prev = c->q_next = NULL;
}

static void set_fd(struct h1_worker *hw, int fd, struct conn *c)
{
	if ((size_t)fd >= hw->n_by_fd) {
		size_t n = hw->n_by_fd ? hw->n_by_fd : 64;

		while (n <= (size_t)fd)
			n *= 2;
		hw->by_fd = xrealloc(hw->by_fd, n * sizeof(*hw->by_fd));
		memset(hw->by_fd + hw->n_by_fd, 0,
		       (n - hw->n_by_fd) * sizeof(*hw->by_fd));
		hw->n_by_fd = n;
	}
	hw->by_fd[fd] = c;
}

/* Closes c's socket (or stops its connecting); the caller files c. */
static void conn_close(struct worker *w, struct conn *c)
{
	struct h1_worker *hw = w->tp;

	if (c->state == CONN_CONNECTING) {
		/* libcurl owns the socket until it is connected. */
		curl_multi_remove_handle(w->multi, c->easy);
	} else if (c->fd >= 0) {
		uint8_t *st = lg_fd_state(w, c->fd);

		set_fd(hw, c->fd, NULL);
		*st = 0;
		close(c->fd);
	}
	c->fd = -1;
	c->state = CONN_CLOSED;
	c->reused = false;
}

static void to_spare(struct h1_worker *hw, struct conn *c)
{
	c->next = hw->spare;
	hw->spare = c;
}

static struct conn *conn_new(struct worker *w)
{
	struct h1_worker *hw = w->tp;
	struct conn *c;
	CURL *e = curl_easy_init();

	if (!e)
		return NULL;
	c = xcalloc(1, sizeof(*c));
	c->easy = e;
	c->fd = -1;
	h1_parser_init(&c->parser);
	lg_easy_common(w, e);
	curl_easy_setopt(e, CURLOPT_CONNECT_ONLY, 1L);
	curl_easy_setopt(e, CURLOPT_PRIVATE, c);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, c->errbuf);
	XGROW(hw->all, hw->alloc_all, hw->n_all + 1);
	hw->all[hw->n_all++] = c;
	return c;
}

/*
 * Ends c's request (error NULL: answered with 200; otherwise why it failed)
 * and keeps the connection for the next one when the exchange ended cleanly
 * and the server keeps it alive: an answer with an error status is still a
 * whole answer. c is in the busy queue only.
 */
static void finish(struct worker *w, struct conn *c, uint64_t end_ns,
		   const char *error)
{
	struct h1_worker *hw = w->tp;
	struct lg_request rq = c->rq;

	queue_del(c);
	c->deadline_ns = 0;
	if (c->parser.keep_alive && c->state == CONN_BUSY) {
		c->state = CONN_IDLE;
		c->reused = true;
		c->next = hw->idle;
		hw->idle = c;
	} else {
		conn_close(w, c);
		to_spare(hw, c);
	}
	lg_request_finish(w, &rq, end_ns, error);
}

/* Fails c's request with "what: detail" (or what alone when detail is NULL). */
static void fail(struct worker *w, struct conn *c, const char *what,
		 const char *detail)
{
	char msg[512];

	snprintf(msg, sizeof(msg), "%s%s%s", what, detail ? ": " : "",
		 detail ? detail : "");
	/* A failed exchange leaves the connection in an unknown state. */
	c->parser.keep_alive = false;
	finish(w, c, loadgen_now_ns(), msg);
}

static void begin_connect(struct worker *w, struct conn *c);

/*
 * The server closed a kept-alive connection just as we reused it (its idle
 * timeout, a restart): nothing of the request was processed, so it is sent
 * again once on a new connection, as browsers and libcurl do.
 */
static bool retry_fresh(struct worker *w, struct conn *c)
{
	if (!c->reused || c->retried || c->parser.first_byte_seen)
		return false;
	c->retried = true;
	conn_close(w, c);
	begin_connect(w, c);
	return true;
}

static void try_send(struct worker *w, struct conn *c)
{
	const struct h1_engine *he = w->lg->tp_engine;
	const char *req = he->req[c->body];
	size_t len = he->req_len[c->body];

	while (c->out_off < len) {
		ssize_t n = send(c->fd, req + c->out_off, len - c->out_off,
				 MSG_NOSIGNAL);

		if (n < 0) {
			int e = errno;

			if (e == EINTR)
				continue;
			if (e == EAGAIN || e == EWOULDBLOCK) {
				if (lg_fd_watch(w, c->fd, true))
					lg_worker_fatal(w, "epoll_ctl", errno);
				return;
			}
			if (retry_fresh(w, c))
				return;
			fail(w, c, "cannot send the request", strerror(e));
			return;
		}
		c->out_off += (size_t)n;
	}
	c->rq.sent_ns = loadgen_now_ns();
	if (lg_fd_watch(w, c->fd, false))
		lg_worker_fatal(w, "epoll_ctl", errno);
}

static void begin_request(struct worker *w, struct conn *c)
{
	c->state = CONN_BUSY;
	c->out_off = 0;
	h1_parser_reset(&c->parser);
	try_send(w, c);
}

static void begin_connect(struct worker *w, struct conn *c)
{
	CURLMcode mc;

	c->errbuf[0] = '\0';
	c->state = CONN_CONNECTING;
	mc = curl_multi_add_handle(w->multi, c->easy);
	if (mc != CURLM_OK) {
		c->state = CONN_CLOSED;
		fail(w, c, "cannot start a connection", curl_multi_strerror(mc));
	}
}

static bool h1_start(struct worker *w, size_t body, const struct lg_request *rq)
{
	struct h1_worker *hw = w->tp;
	struct conn *c = hw->idle;

	if (c) {
		hw->idle = c->next;
	} else if (hw->spare) {
		c = hw->spare;
		hw->spare = c->next;
	} else {
		c = conn_new(w);
		if (!c) {
			lg_worker_fatal(w, "cannot create a libcurl handle", 0);
			return false;
		}
	}
	c->next = NULL;
	c->rq = *rq;
	c->body = body;
	c->retried = false;
	c->deadline_ns = w->lg->opts.request_timeout_ms > 0 ?
			 rq->start_ns + (uint64_t)w->lg->opts.request_timeout_ms * 1000000ULL : 0;
	queue_add(hw, c);
	if (c->state == CONN_IDLE)
		begin_request(w, c);
	else
		begin_connect(w, c);
	return true;
}

/* libcurl finished connecting c (or failed to). */
static void h1_curl_done(struct worker *w, CURLMsg *msg)
{
	struct h1_worker *hw = w->tp;
	struct conn *c = NULL;
	curl_socket_t fd = CURL_SOCKET_BAD;
	uint8_t *st;

	curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&c);
	if (msg->data.result != CURLE_OK) {
		char why[CURL_ERROR_SIZE + 64];

		snprintf(why, sizeof(why), "%s", c->errbuf[0] ? c->errbuf :
			 curl_easy_strerror(msg->data.result));
		curl_multi_remove_handle(w->multi, c->easy);
		c->state = CONN_CLOSED;
		fail(w, c, "cannot connect", why);
		return;
	}
	if (curl_easy_getinfo(c->easy, CURLINFO_ACTIVESOCKET, &fd) != CURLE_OK ||
	    fd == CURL_SOCKET_BAD) {
		curl_multi_remove_handle(w->multi, c->easy);
		c->state = CONN_CLOSED;
		fail(w, c, "cannot connect", "libcurl gave no socket");
		return;
	}
	/* Take the socket: libcurl's close of it becomes a no-op (see top). */
	st = lg_fd_state(w, fd);
	*st |= FD_KEEP | FD_ADOPTED;
	curl_multi_remove_handle(w->multi, c->easy);
	st = lg_fd_state(w, fd);
	if (*st & FD_KEEP) {
		/*
		 * libcurl did not close it, so it still holds the connection and
		 * could close the socket under us later: refuse to go on.
		 */
		*st &= (uint8_t)~(FD_KEEP | FD_ADOPTED);
		c->state = CONN_CLOSED;
		fail(w, c, "cannot connect", "libcurl kept the connection");
		lg_worker_fatal(w, "libcurl kept a connection it was asked to release", 0);
		return;
	}
	c->fd = fd;
	set_fd(hw, fd, c);
	begin_request(w, c);
}

/* Reads what the socket has for the request on c. */
static void conn_read(struct worker *w, struct conn *c)
{
	struct h1_worker *hw = w->tp;

	for (;;) {
		ssize_t n = recv(c->fd, hw->rbuf, RECV_BUFFER_BYTES, 0);
		enum h1_status hs;
		size_t used = 0;

		if (n < 0) {
			int e = errno;

			if (e == EINTR)
				continue;
			if (e == EAGAIN || e == EWOULDBLOCK)
				return;
			if (retry_fresh(w, c))
				return;
			fail(w, c, "connection lost", strerror(e));
			return;
		}
		if (n == 0) {
			uint64_t end = loadgen_now_ns();

			hs = h1_parse_eof(&c->parser);
			if (hs == H1_DONE) {
				c->parser.keep_alive = false;
				finish(w, c, end, NULL);
				return;
			}
			if (retry_fresh(w, c))
				return;
			fail(w, c, c->parser.error, NULL);
			return;
		}
		if (!c->parser.first_byte_seen)
			c->rq.first_ns = loadgen_now_ns();
		hs = h1_parse(&c->parser, hw->rbuf, (size_t)n, &used);
		if (hs == H1_ERROR) {
			fail(w, c, "bad response", c->parser.error);
			return;
		}
		if (hs == H1_DONE) {
			uint64_t end = loadgen_now_ns();
			char why[512];

			/* We never pipeline: bytes past the response are a protocol error. */
			if (used < (size_t)n)
				c->parser.keep_alive = false;
			if (c->parser.status == 200) {
				finish(w, c, end, lg_response_garbage(c->parser.body_keep,
								      c->parser.body_keep_len,
								      why, sizeof(why)));
			} else {
				char m[320];

				snprintf(why, sizeof(why), "HTTP %d: %s",
					 c->parser.status,
					 lg_error_message(c->parser.body_keep,
							  c->parser.body_keep_len,
							  m, sizeof(m)));
				finish(w, c, end, why);
			}
			return;
		}
		if ((size_t)n < RECV_BUFFER_BYTES)
			return; /* drained: wait for the next readiness */
	}
}

static void h1_on_event(struct worker *w, int fd, uint32_t events)
{
	struct h1_worker *hw = w->tp;
	struct conn *c = (size_t)fd < hw->n_by_fd ? hw->by_fd[fd] : NULL;

	if (!c)
		return;
	if (c->state == CONN_IDLE) {
		/*
		 * An idle connection only wakes up when the server closes it
		 * (or sends what nobody asked for): either way it is done.
		 */
		struct conn **pp = &hw->idle;

		while (*pp && *pp != c)
			pp = &(*pp)->next;
		if (*pp)
			*pp = c->next;
		conn_close(w, c);
		to_spare(hw, c);
		return;
	}
	if (c->state != CONN_BUSY)
		return;
	if (events & EPOLLOUT) {
		const struct h1_engine *he = w->lg->tp_engine;

		if (c->out_off < he->req_len[c->body]) {
			try_send(w, c);
			if (c->state != CONN_BUSY || c->fd != fd)
				return;
		}
	}
	if (events & (EPOLLIN | EPOLLERR | EPOLLHUP))
		conn_read(w, c);
}

static uint64_t h1_deadline_ns(struct worker *w)
{
	struct h1_worker *hw = w->tp;

	/* The queue is in start order, so its head has the earliest deadline. */
	if (hw->queue.q_next == &hw->queue)
		return 0;
	return hw->queue.q_next->deadline_ns;
}

static void h1_on_deadline(struct worker *w, uint64_t now_ns)
{
	struct h1_worker *hw = w->tp;

	while (hw->queue.q_next != &hw->queue) {
		struct conn *c = hw->queue.q_next;
		char msg[96];

		if (!c->deadline_ns || c->deadline_ns > now_ns)
			break;
		snprintf(msg, sizeof(msg),
			 "no response within the request timeout (%ld ms)",
			 w->lg->opts.request_timeout_ms);
		fail(w, c, msg, NULL);
	}
}

static void h1_worker_release(struct worker *w)
{
	struct h1_worker *hw = w->tp;

	for (size_t i = 0; i < hw->n_all; i++) {
		struct conn *c = hw->all[i];

		conn_close(w, c);
		curl_easy_cleanup(c->easy);
		h1_parser_release(&c->parser);
		free(c);
	}
	free(hw->all);
	free(hw->by_fd);
	free(hw->rbuf);
	free(hw);
	w->tp = NULL;
}

const struct lg_transport lg_transport_h1 = {
	.name = "h1",
	.engine_init = h1_engine_init,
	.engine_release = h1_engine_release,
	.worker_init = h1_worker_init,
	.worker_release = h1_worker_release,
	.start = h1_start,
	.curl_done = h1_curl_done,
	.on_event = h1_on_event,
	.deadline_ns = h1_deadline_ns,
	.on_deadline = h1_on_deadline,
};
