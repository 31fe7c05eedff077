/*
 * Deadlines for reading a request: the bound on clients that trickle.
 *
 * libmicrohttpd's connection timeout is an inactivity timeout: every byte
 * resets it, so a client that sends one byte per second keeps its
 * connection for as long as it likes. This module adds what nginx's
 * client_header_timeout and Apache's mod_reqtimeout add: the request line
 * and headers must arrive within a time, and a body must keep arriving at
 * a minimum average rate. A connection past its deadline is shut down
 * (shutdown(2)); libmicrohttpd then sees the end of its stream and closes
 * it as after any client that went away.
 *
 * Per connection: a watch, opened and closed from libmicrohttpd's
 * connection notifications, and moved through the phases of each request
 * by the request handler. One thread checks the deadlines once a second.
 * Depends on util/ and libc only.
 */
#ifndef INFERTUNE_SERVER_HTTP_DEADLINE_H
#define INFERTUNE_SERVER_HTTP_DEADLINE_H

#include <stdint.h>
#include <stddef.h>

struct it_error;

/** A body must arrive at this many bytes per second on average, after the grace time. */
#define HTTP_BODY_MIN_RATE 1024

enum http_watch_phase {
	HTTP_WATCH_HEAD = 0,    /* waiting for the request line and headers */
	HTTP_WATCH_BODY,        /* headers in, body arriving */
	HTTP_WATCH_READ,        /* request read whole: being served, no deadline */
};

/**
 * When a connection in phase, since since_ns, having received body_bytes
 * of a body, is past its deadline (monotonic ns): head: since + limit_s;
 * body: since + limit_s + body_bytes / HTTP_BODY_MIN_RATE seconds; read:
 * never (UINT64_MAX).
 */
uint64_t http_deadline_ns(enum http_watch_phase phase, uint64_t since_ns,
			  uint64_t body_bytes, unsigned limit_s);

/** The deadlines of one listener (opaque). */
struct http_deadlines;
/** One connection's watch (opaque). */
struct http_watch;

/**
 * Starts the checking thread with a grace time of limit_s seconds (> 0).
 * IT_ERR_IO when the thread cannot start.
 */
int http_deadlines_start(unsigned limit_s, struct http_deadlines **out,
			 struct it_error *err);

/**
 * Stops the thread and frees d; NULL is a no-op. Call it after the
 * listener has stopped: every watch should have been closed by then, and
 * one that was not (a connection the listener never reported closed) is
 * freed here, so nothing may use a watch of d afterwards.
 */
void http_deadlines_free(struct http_deadlines *d);

/** A new connection on socket fd: its watch, in phase head. */
struct http_watch *http_watch_open(struct http_deadlines *d, int fd);

/**
 * The connection is closing: the watch is freed. Must come before the
 * socket is closed (libmicrohttpd's "closed" notification does), so the
 * checker never shuts down a descriptor that was reused.
 */
void http_watch_close(struct http_deadlines *d, struct http_watch *w);

/** The request's headers are in: its body phase starts. w may be NULL. */
void http_watch_headers(struct http_watch *w);

/** n more bytes of the body arrived. w may be NULL. */
void http_watch_body(struct http_watch *w, size_t n);

/** The request was read whole: no deadline until it is answered. w may be NULL. */
void http_watch_request_read(struct http_watch *w);

/** The request was answered: the next request's head phase starts. w may be NULL. */
void http_watch_answered(struct http_watch *w);

#endif
