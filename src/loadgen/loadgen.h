/*
 * The load engine (wrk's shape): worker threads that each own a libcurl
 * multi handle, an epoll loop, their keep-alive connections, their counters
 * and every latency they record; nothing is shared on the hot path. The
 * controller (one thread: the profiler, the analyzer) changes the load and
 * harvests the records through a per-worker mailbox that the worker reads
 * only when woken, then merges after the window.
 *
 * Closed loop: exactly N requests in flight for concurrency N (a completion
 * sends the next request at once). Open loop: requests leave at the times of
 * a pre-generated schedule, spread round-robin over the workers; latency is
 * measured from the *scheduled* time, so a late client or a slow server
 * cannot hide queueing (no coordinated omission), and late sends are
 * counted. Depends on loadgen/requests, loadgen/schedule, loadgen/h1,
 * util/, libcurl.
 */
#ifndef INFERTUNE_LOADGEN_LOADGEN_H
#define INFERTUNE_LOADGEN_LOADGEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct it_error;
struct request_set;
struct schedule;

enum loadgen_mode {
	LOADGEN_CLOSED = 0,     /* concurrency */
	LOADGEN_OPEN,           /* request rate / schedule */
};

/** Which code carries the requests (loadgen/transport.h). */
enum loadgen_http_client {
	LOADGEN_HTTP_AUTO = 0,  /* h1 for http:// URLs, libcurl otherwise */
	LOADGEN_HTTP_LIBCURL,   /* libcurl's HTTP for everything */
	LOADGEN_HTTP_H1,        /* libcurl connects, infertune frames HTTP/1.1 */
};

/**
 * Whether `client` can carry requests to url ("host:port" without a scheme
 * counts as http://): h1 speaks plain http only. IT_ERR_INVALID with a
 * message naming the flag otherwise.
 */
int loadgen_http_client_check(const char *url, enum loadgen_http_client client,
			      struct it_error *err);

/** How the engine is built. Plain value struct. */
struct loadgen_options {
	const char *infer_url;          /* full URL of the infer endpoint */
	const struct request_set *requests; /* read-only; must outlive the engine */
	enum loadgen_mode mode;
	unsigned n_workers;             /* worker threads, >= 1 */
	size_t max_inflight;            /* open loop: cap on requests in flight, all
					 * workers together; 0 = from RLIMIT_NOFILE */
	long request_timeout_ms;        /* 0 = requests never time out */
	enum loadgen_http_client http_client;
};

/** A request sent more than this after its scheduled time is "delayed" (perf_analyzer: 1 ms). */
#define LOADGEN_LATE_NS 1000000ULL

/** Flags of a record. */
#define LOADGEN_RECORD_FAILED 1u        /* transport error or HTTP status != 200 */
#define LOADGEN_RECORD_DELAYED 2u       /* open loop: sent more than 1 ms late */

/**
 * One finished request. Times are CLOCK_MONOTONIC nanoseconds. For a failed
 * request only end_ns and the flags mean anything.
 */
struct loadgen_record {
	uint64_t end_ns;        /* when the response was complete */
	uint64_t latency_ns;    /* end - scheduled (open) or end - start (closed) */
	uint64_t request_ns;    /* end - actual start */
	uint64_t send_ns;       /* start until the request was written (connecting included) */
	uint64_t recv_ns;       /* first response byte until the last */
	uint32_t flags;
	uint32_t reserved;
};

/**
 * What a harvest collects from every worker since the previous harvest.
 * Embedded value struct: loadgen_harvest_init(), loadgen_harvest_release().
 * loadgen_harvest() appends records, adds counters and keeps the first error.
 */
struct loadgen_harvest {
	struct loadgen_record *records;
	size_t n_records;
	size_t alloc_records;
	uint64_t sent;                  /* requests started */
	uint64_t failed;                /* of the records, how many failed */
	uint64_t late;                  /* open loop: sent > 1 ms after schedule */
	uint64_t max_lateness_ns;
	char first_error[512];          /* "" when none */
};

void loadgen_harvest_init(struct loadgen_harvest *h);
void loadgen_harvest_release(struct loadgen_harvest *h);
/** Drops the records and zeroes the counters, keeping the storage. */
void loadgen_harvest_clear(struct loadgen_harvest *h);

/** The engine (opaque). */
struct loadgen;

/**
 * Starts the worker threads, idle (no load). Fails with IT_ERR_IO when a
 * thread, epoll or libcurl resource cannot be created. Caller frees with
 * loadgen_free(), which stops the load. The functions below must be called
 * from one controller thread at a time; each waits for the workers with a
 * timeout and fails with IT_ERR_INTERNAL rather than hang.
 */
int loadgen_new(const struct loadgen_options *opts, struct loadgen **out,
		struct it_error *err);

/** Closed loop: keep `concurrency` requests in flight, spread over the workers. */
int loadgen_set_concurrency(struct loadgen *lg, uint64_t concurrency,
			    struct it_error *err);

/**
 * Open loop: send on schedule s (read-only, must outlive the load; the caller
 * keeps it until the next call or loadgen_free), with send 0 at start_ns
 * (CLOCK_MONOTONIC; a time in the past is fine: late sends are counted).
 */
int loadgen_set_schedule(struct loadgen *lg, const struct schedule *s,
			 uint64_t start_ns, struct it_error *err);

/** Stops sending new requests (requests in flight still finish). */
int loadgen_pause(struct loadgen *lg, struct it_error *err);

/**
 * Moves every worker's records into h and adds their counters. IT_ERR_IO
 * when a worker hit a fatal error (its message in err).
 */
int loadgen_harvest(struct loadgen *lg, struct loadgen_harvest *h,
		    struct it_error *err);

/**
 * Requests completed (successfully or not) since the engine started, read
 * without stopping the workers; for count windows and early error checks.
 * *failed (may be NULL) gets the failed ones.
 */
uint64_t loadgen_completed(const struct loadgen *lg, uint64_t *failed);

/** Requests in flight right now (approximate; read without locks). */
uint64_t loadgen_inflight(const struct loadgen *lg);

/** The transport carrying the requests: "h1" or "libcurl". */
const char *loadgen_http_client(const struct loadgen *lg);

/** Number of worker threads. */
unsigned loadgen_workers(const struct loadgen *lg);

/** CPU time worker i has used so far, in ns (0 if unavailable). */
uint64_t loadgen_worker_cpu_ns(const struct loadgen *lg, unsigned i);

/** Stops the workers, abandons requests in flight, frees lg. NULL is a no-op. */
void loadgen_free(struct loadgen *lg);

/** CLOCK_MONOTONIC now, in ns. */
uint64_t loadgen_now_ns(void);

#endif
