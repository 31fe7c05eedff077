/*
 * A deterministic discrete-event simulation of one served model under load:
 * clients (a closed loop of C clients or an open loop at a request rate),
 * the dynamic batcher, the instances and the device they share. Batches are
 * formed by server/batch_policy, the code the real scheduler runs, so the
 * prediction batches as the server does (docs/predictor.md). Depends on
 * server/batch_policy, loadgen/schedule (the open-loop timeline), stats/
 * and util/; never on a running server.
 */
#ifndef INFERTUNE_PREDICT_DES_H
#define INFERTUNE_PREDICT_DES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct it_error;

/* Bounds that keep a typo from eating memory or hours. */
#define DES_MAX_INSTANCES 1024          /* as the scheduler's */
#define DES_MAX_PARALLELISM 1048576.0
#define DES_MAX_REQUESTS ((size_t)1000000)
#define DES_MAX_CONCURRENCY 1000000.0
#define DES_MIN_RATE (1.0 / 3600)       /* requests/s: one an hour */
#define DES_MAX_RATE 1e9                /* requests/s */
#define DES_MAX_TIME_NS 3.6e12          /* one hour: any execution or overhead */
#define DES_MAX_QUEUE_DELAY_US 3600000000ULL /* one hour */

/* What des_options_init() fills in. */
#define DES_DEFAULT_REQUESTS ((size_t)20000)

enum des_device_kind {
	/*
	 * `parallelism` slots (a whole number): an execution waits for a free
	 * slot, first come first served (ticket order), holds it for its time
	 * and gives it back, as the sim backend does (docs/sim-backend.md).
	 */
	DES_SLOTS,
	/*
	 * Processor sharing: an execution starts at once; while k run, each
	 * progresses at rate min(1, parallelism / k).
	 */
	DES_SHARED,
};

/** How concurrent executions share the hardware. Plain value struct. */
struct des_device {
	enum des_device_kind kind;
	double parallelism;         /* > 0; a whole number for DES_SLOTS */
};

/**
 * The model on its hardware, as measured. Plain value struct; exec_ns is
 * borrowed.
 */
struct des_model {
	/*
	 * exec_ns[b - 1]: one execution of batch b alone on the device, ns
	 * (finite, >= 0). For b > n_exec: linear extrapolation from the last
	 * two entries (never below 0), or exec_ns[0] when n_exec is 1.
	 */
	const double *exec_ns;
	size_t n_exec;              /* >= 1 */
	struct des_device device;
	/*
	 * Time a request spends outside the server per round trip (client,
	 * network), ns: half before it reaches the queue, half after its
	 * execution ends.
	 */
	double overhead_ns;
	/*
	 * The serving front end's cost per response, ns: the responses of a
	 * batch leave one after another (encoding, the HTTP write, the
	 * client's read), each this long, so a batch's clients come back
	 * staggered, not at once. 0: every response leaves at the execution's
	 * end.
	 */
	double serial_ns;
};

/**
 * One serving configuration. Plain value struct; preferred is borrowed.
 * Zero-initialised fields are: 0 instances (invalid: set it), no batching.
 */
struct des_config {
	int instances;              /* 1 .. DES_MAX_INSTANCES, all on the one device */
	int64_t max_batch_size;     /* 0: the model does not batch */
	bool dynamic_batching;      /* false: each instance takes one request at a time */
	const int32_t *preferred;   /* preferred_batch_size, each in 1..max_batch_size */
	size_t n_preferred;
	uint64_t max_queue_delay_us; /* <= DES_MAX_QUEUE_DELAY_US */
};

enum des_load_kind {
	DES_CONCURRENCY,            /* a closed loop of `value` clients */
	DES_REQUEST_RATE,           /* an open loop of `value` requests/s */
};

/** The load, as perf_analyzer applies it. Plain value struct. */
struct des_load {
	enum des_load_kind kind;
	/*
	 * Concurrency: clients (a whole number); each sends a request, waits
	 * for its response and sends the next at once. Request rate: requests
	 * per second, independent of completions (loadgen/schedule's timeline).
	 */
	double value;
	bool poisson;               /* request rate: seeded Poisson arrivals, else constant intervals */
	int64_t request_batch;      /* batch size of each request (perf_analyzer -b); 0 means 1 */
};

/** How long to simulate. Plain value struct; des_options_init() gives the defaults. */
struct des_options {
	size_t requests;            /* measured requests, 1 .. DES_MAX_REQUESTS */
	size_t warmup;              /* requests completed before the measurement starts */
	uint64_t seed;              /* the Poisson schedule's seed (perf_analyzer's --seed) */
};

/**
 * What the simulation predicts, over the measurement window: from the
 * completion of the warm-up's last request to the completion that makes
 * `requests` (requests completing at that same instant count too). Plain
 * value struct.
 */
struct des_result {
	double throughput;          /* infer/s: completed x request_batch / window */
	/* As the client sees it: overhead + queue + compute, µs. */
	double latency_avg_us, p50_us, p90_us, p95_us, p99_us;
	double queue_avg_us;        /* server side, per request: queue entry to being taken */
	double compute_avg_us;      /* being taken to execution end, device wait included */
	double avg_batch;           /* mean executed batch size (items, not requests) */
	int64_t max_batch;          /* the largest batch executed in the window (items) */
	uint64_t completed;         /* requests measured (>= requests) */
	uint64_t executions;        /* batches that ended in the window */
	double window_s;            /* simulated length of the window */
	/*
	 * Request rate: the offered rate is above capacity; the requests in the
	 * system grew by more than 3% of the window's completions (plus what
	 * the instances hold at once) or the arrivals ran out before the
	 * window ended. Always false for a closed loop.
	 */
	bool saturated;
};

/** Fills *o with the defaults: DES_DEFAULT_REQUESTS, a tenth of that as warm-up, seed 0. */
void des_options_init(struct des_options *o);

/**
 * Simulates `l` on configuration `c` of model `m` and writes the
 * prediction to *out. o NULL: des_options_init()'s defaults. Deterministic:
 * the same inputs give the same result, bit for bit. Returns 0, or
 * IT_ERR_INVALID naming the field that is out of bounds (err says which),
 * IT_ERR_STATE when the simulated clock cannot advance (executions and
 * overhead of 0 ns), or IT_ERR_LIMIT when the batcher would read more than
 * about 1024 queued requests per simulated request (thousands of clients
 * waiting for batches of tens of thousands). *out is written only on
 * success. Allocates only for
 * the call; thread-safe (no global state).
 */
int des_run(const struct des_model *m, const struct des_config *c,
	    const struct des_load *l, const struct des_options *o,
	    struct des_result *out, struct it_error *err);

#endif
