/*
 * Capacity answers (docs/cli/analyze.md, "Capacity answers"): with a p99
 * latency budget, and a target rate when request rates were swept, the
 * cheapest configuration that serves the target within the budget, the
 * highest rate each top configuration sustains within it, and how many
 * servers a rate above every configuration's needs. From the measurements
 * only: a configuration sustains the largest throughput it was measured
 * to deliver with its p99 within the budget. Pure functions, no I/O, so
 * analyze's summary and CSV and the report (from results.db alone) give
 * the same answers. Beside a top configuration's measured rate, the
 * answer can hold the predictor's (struct capacity_predicted, filled by
 * analyze/capacity_predict), always worded as a prediction. Depends on
 * analyze/tier (the cost order), analyze/objective, store/ (figures, load
 * kinds), util/.
 */
#ifndef INFERTUNE_ANALYZE_CAPACITY_H
#define INFERTUNE_ANALYZE_CAPACITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "analyze/tier.h"
#include "store/figures.h"
#include "store/store.h"

struct objective_set;
struct strbuf;

/*
 * A request-rate level counts only when its throughput is at least this
 * fraction of what it was offered (rate × client batch): below it the
 * server fell behind (saturated), and its p99 says nothing of that rate.
 */
#define CAPACITY_DELIVERED 0.97

/* The top configurations answered for: the ranking's first this many, or the whole tier. */
#define CAPACITY_TOP 3

/** One measured level, as the capacity question reads it. Plain value struct. */
struct capacity_level {
	enum load_kind load_kind;
	double load_value;              /* concurrency or requests/s */
	int64_t batch_size;             /* the client batch (perf_analyzer -b) */
	const struct figures *fig;      /* borrowed */
	bool valid;                     /* a valid measurement of the sweep (not interleaved) */
};

/** One configuration. Plain value struct; name and levels are borrowed. */
struct capacity_config {
	const char *name;
	const struct capacity_level *levels;
	size_t n_levels;
	struct tier_cost cost;          /* tier_cost_of() of its ranked measurement */
	bool top;                       /* among the ranking's top (capacity_top_count()) */
};

/** The question: a budget, and a target when rates were swept. Plain value struct. */
struct capacity_question {
	double budget_ms;               /* p99 budget; <= 0: no question */
	double target_rate;             /* requests/s, the largest swept rate; 0: none */
};

/**
 * The predictor's highest rate within the budget for one configuration
 * (predict_max_rate(), docs/predictor.md; analyze/capacity_predict.h
 * fills it), shown beside the measured answer and labelled as a
 * prediction. Plain value struct.
 */
struct capacity_predicted {
	bool has;                       /* a prediction was made */
	double rate;                    /* infer/s within the budget; 0: none, even the lightest
					   rate tried misses it */
	double p99_ms;                  /* the predicted p99 at rate (when none: at the lightest) */
	double lightest;                /* when none: the lightest rate tried, infer/s */
	double rel_uncertainty;         /* fraction (predict_result.rel_uncertainty) */
};

/** The answer for one configuration. */
struct capacity_row {
	bool sustains;                  /* a level within the budget */
	double rate;                    /* infer/s: the largest throughput within the budget */
	bool has_ci;
	double ci_lo, ci_hi;            /* rate's 95% interval when stored */
	enum load_kind load_kind;       /* the level that gave it */
	double load_value;
	double p99_ms;                  /* its p99 */
	bool meets_target;              /* rate >= CAPACITY_DELIVERED × the target */
	uint64_t servers;               /* ceil(CAPACITY_DELIVERED × target / rate): 1 when it
					   meets the target; 0 without target or rate */
	bool has_lightest;              /* a valid level at the batch, with a p99 */
	enum load_kind lightest_kind;   /* its lowest load and the p99 there */
	double lightest_load, lightest_p99_ms;
	/*
	 * infer/s: the most that a valid level at the batch loaded it with (its
	 * throughput; for a request rate also the rate offered × the batch).
	 * A predicted rate above it is beyond the levels measured.
	 */
	double measured_max;
	struct capacity_predicted predicted; /* top configurations only; not set by
						capacity_answer() */
};

/** Every answer. Release with capacity_answer_release(). */
struct capacity_answer {
	bool asked;                     /* a budget was given */
	double budget_ms;
	bool has_target;
	double target_rate;             /* requests/s */
	double target;                  /* infer/s: target_rate × batch */
	int64_t batch;                  /* the client batch the answers are for (the smallest) */
	struct capacity_row *rows;      /* one per configuration, in input order */
	size_t n_rows;
	long cheapest;                  /* (a) meets the target at the least cost; -1 none */
	long scale;                     /* (c) target above every rate: fewest servers; -1 */
	uint64_t servers;               /* (c) how many */
	long closest;                   /* nothing within the budget: lowest p99 at its lowest load; -1 */
	char predict_note[1536];        /* why nothing was predicted; "" predicted or not tried */
};

/**
 * The question of a model: budget_ms from the perf_latency_p99 max
 * constraint of o (--latency-budget, YAML latency_budget or constraints),
 * target_rate the largest of rates[0..n_rates) (its --request-rate list).
 * Returns whether there is a question (a budget).
 */
bool capacity_question_of(const struct objective_set *o, const double *rates, size_t n_rates,
			  struct capacity_question *q);

/** The number of top configurations: max(CAPACITY_TOP, n_tier). */
size_t capacity_top_count(size_t n_tier);

/**
 * Answers q for cs[0..n) into *out (docs/cli/analyze.md says how): the
 * levels of the smallest client batch measured, a level within the
 * budget when its p99 is at most budget_ms (a request-rate level also
 * when it delivered CAPACITY_DELIVERED of its offer). Without a question,
 * out->asked is false and nothing else is set. Caller releases *out with
 * capacity_answer_release().
 */
void capacity_answer(const struct capacity_question *q, const struct capacity_config *cs,
		     size_t n, struct capacity_answer *out);

/** Frees the rows of a and zeroes it. */
void capacity_answer_release(struct capacity_answer *a);

/**
 * Appends the answers as sentences, each ending with '\n' (nothing when
 * not asked): the target's ("400 req/s at p99 <= 50 ms: ..."), then the
 * highest rates of the top configurations, each with its predicted rate
 * when it has one ("(predicted: 197.3 req/s ±5% within the budget)");
 * when no level is within the budget, the predicted rates in a sentence
 * of their own; last, a->predict_note ("No predicted rate: ..."). cs is
 * what a was answered for.
 */
void capacity_sentences(const struct capacity_answer *a, const struct capacity_config *cs,
			struct strbuf *sb);

/**
 * A rate for people: from 1000 up, and whole numbers, without decimals and
 * with thousands separators ("1,714", "400"); else one decimal from 10
 * ("159.7"), two below.
 */
void capacity_fmt_rate(double v, char *buf, size_t size);

/**
 * The predicted figure of p in words, for a client batch of `batch`:
 * "197.3 req/s ±5% within the budget", with ", beyond the levels
 * measured" when measured_max is below it (pass 0 to leave that out);
 * "none, p99 22.10 ms ±5% even at 0.39 req/s" when no rate is within the
 * budget. Nothing when p->has is false.
 */
void capacity_predicted_phrase(const struct capacity_predicted *p, int64_t batch,
			       double measured_max, struct strbuf *sb);

/**
 * The predicted answer for a target of target_rate requests/s of `batch`
 * items, in analyze's wording labelled as predicted: "500 req/s at p99 <=
 * 50 ms, predicted: 3 servers like NAME (198.0 req/s each within budget,
 * ±5%).\n" (capacity_servers() of the target and p->rate), or that no
 * number of servers serves it when p has no rate. Nothing when p->has is
 * false.
 */
void capacity_predicted_target(const struct capacity_predicted *p, double budget_ms,
			       double target_rate, int64_t batch, const char *name,
			       struct strbuf *sb);

/** ceil(target / rate): servers of `rate` that serve `target`; 0 when rate is not > 0. */
uint64_t capacity_servers(double target, double rate);

/** "req/s" for a client batch of 1, else "infer/s". */
const char *capacity_unit(const struct capacity_answer *a);

/** "request rate 450" / "concurrency 4". */
void capacity_load_text(enum load_kind kind, double value, char *buf, size_t size);

#endif
