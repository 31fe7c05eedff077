/*
 * Inside the load engine: what its worker loop (loadgen.c) shares with the
 * transports that carry the requests. Only loadgen.c, transport_curl.c and
 * transport_h1.c include this file.
 *
 * A worker owns one epoll set, one libcurl multi handle wired to it (socket
 * and timer callbacks), a table of its descriptors, and its records. A
 * transport starts requests and reports each one finished through
 * lg_request_finish(). Two exist:
 *  - lg_transport_curl: libcurl's multi interface does all of HTTP, for
 *    any URL libcurl takes (https, proxies);
 *  - lg_transport_h1: libcurl connects (URL, name resolution, connect
 *    timeout), then hands the socket over, and the transport writes the
 *    prebuilt request bytes and frames the HTTP/1.1 response itself
 *    (loadgen/h1.h): one send() and one recv() a request, wrk's cost.
 *    Plain http:// only.
 */
#ifndef INFERTUNE_LOADGEN_TRANSPORT_H
#define INFERTUNE_LOADGEN_TRANSPORT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <curl/curl.h>

#include "loadgen/loadgen.h"

struct it_error;
struct worker;

/** One request's times, CLOCK_MONOTONIC ns; 0 = did not happen. */
struct lg_request {
	uint64_t sched_ns;      /* scheduled start (= start_ns in a closed loop) */
	uint64_t start_ns;      /* handed to the transport */
	uint64_t sent_ns;       /* last request byte written */
	uint64_t first_ns;      /* first response byte read */
	bool delayed;           /* open loop: started more than 1 ms late */
};

/**
 * A transport: a const table of functions (style: pluggable parts). Every
 * function runs on the worker thread of w, except engine_init and
 * engine_release, which run on the controller before the workers start and
 * after they stopped.
 */
struct lg_transport {
	const char *name;
	/** Engine-wide preparation (request bytes, header lists). */
	int (*engine_init)(struct loadgen *lg, struct it_error *err);
	void (*engine_release)(struct loadgen *lg);
	int (*worker_init)(struct worker *w, struct it_error *err);
	/** Abandons requests in flight and frees what the worker holds. */
	void (*worker_release)(struct worker *w);
	/**
	 * Starts one request with body `body`. false = fatal (w->fatal set);
	 * true = the request is in flight and will be finished exactly once.
	 */
	bool (*start)(struct worker *w, size_t body, const struct lg_request *rq);
	/** A libcurl transfer of this transport ended (CURLMSG_DONE). */
	void (*curl_done)(struct worker *w, CURLMsg *msg);
	/** Readiness of a descriptor the transport adopted (FD_ADOPTED). */
	void (*on_event)(struct worker *w, int fd, uint32_t events);
	/** Earliest deadline of the transport's own (ns), 0 = none. */
	uint64_t (*deadline_ns)(struct worker *w);
	/** Called when that deadline has passed. */
	void (*on_deadline)(struct worker *w, uint64_t now_ns);
};

extern const struct lg_transport lg_transport_curl;
extern const struct lg_transport lg_transport_h1;

/* Descriptor flags, w->fds[fd]. */
enum {
	FD_OURS = 1,            /* opened by lg_open_socket: its close reaches us */
	FD_REGISTERED = 2,      /* in the epoll set */
	FD_WANTED = 4,          /* libcurl is waiting on it */
	FD_IN = 8,
	FD_OUT = 16,
	FD_ADOPTED = 32,        /* a transport reads and writes it, not libcurl */
	FD_KEEP = 64,           /* libcurl's next close of it must not close it */
};

enum load_state {
	LOAD_IDLE = 0,
	LOAD_CLOSED,
	LOAD_OPEN,
};

enum cmd {
	CMD_NONE = 0,
	CMD_CLOSED,
	CMD_OPEN,
	CMD_PAUSE,
	CMD_HARVEST,
	CMD_STOP,
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
	uint8_t *fds;                   /* FD_* flags by descriptor */
	size_t n_fds;
	void *tp;                       /* the transport's per-worker state */
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
	const struct lg_transport *tp;
	void *tp_engine;                /* the transport's engine-wide state */
	struct worker *workers;
	unsigned n_workers;
};

/**
 * Records request rq as finished at end_ns: error NULL means success,
 * otherwise the request failed and error says why (the first one of a
 * window is kept for the report). The transport calls it exactly once per
 * started request.
 */
void lg_request_finish(struct worker *w, const struct lg_request *rq,
		       uint64_t end_ns, const char *error);

/** Marks the worker failed for good (first call wins); e is an errno or 0. */
void lg_worker_fatal(struct worker *w, const char *what, int e);

/** The flags of descriptor fd (the table grows on demand); NULL when fd < 0. */
uint8_t *lg_fd_state(struct worker *w, int fd);

/** Sets the epoll interest of an adopted fd: EPOLLIN, plus EPOLLOUT if out. */
int lg_fd_watch(struct worker *w, int fd, bool out);

/** libcurl callbacks every easy handle of a worker uses (data: the worker). */
curl_socket_t lg_open_socket(void *clientp, curlsocktype purpose,
			     struct curl_sockaddr *addr);
int lg_close_socket(void *clientp, curl_socket_t fd);

/** The header lines of request body b that both transports send, without CRLF. */
#define LG_HEADER_LINE_MAX 96
void lg_request_header_lines(const struct loadgen *lg, size_t b,
			     char lines[2][LG_HEADER_LINE_MAX]);

/** Options every easy handle of the engine shares (timeouts, no proxy, sockets). */
void lg_easy_common(struct worker *w, CURL *easy);

#endif
