/*
 * The predictor's figure beside the measured capacity answers: the
 * highest rate a configuration sustains within the p99 budget as the
 * model fitted to the analysis's stored levels predicts it
 * (predict_max_rate(), docs/predictor.md). Kept out of analyze/capacity,
 * which stays pure: this module reads results.db (analyze/observe) and
 * simulates. analyze's summary and CSV (analyze/outputs) and the report
 * (report/model) call it on the same answer, so they print the same
 * figures. Depends on analyze/capacity, analyze/observe, predict/, store/,
 * util/.
 */
#ifndef INFERTUNE_ANALYZE_CAPACITY_PREDICT_H
#define INFERTUNE_ANALYZE_CAPACITY_PREDICT_H

#include <stddef.h>
#include <stdint.h>

#include "analyze/capacity.h"
#include "predict/fit.h"

struct it_error;
struct store;

/**
 * Configuration c (threads as in predict_obs) of fit f: the highest rate
 * at constant intervals of requests of request_batch items (0 means 1)
 * within a p99 of budget_ms, as *out (rates in infer/s: requests/s ×
 * request_batch). predict_max_rate()'s errors; *out is written only on
 * success.
 */
int capacity_predicted_of(const struct predict_fit *f, const struct des_config *c,
			  int32_t threads, double budget_ms, int64_t request_batch,
			  struct capacity_predicted *out, struct it_error *err);

/**
 * Fills a->rows[i].predicted for each top configuration cs[i] (cs is what
 * a was answered for; each found by name among model's variants in s),
 * from one fit of every stored level of the model (observation_set_read(),
 * observation_set_fit(): any search mode, any measurement settings),
 * within a's budget at a's client batch. Does nothing when a was not
 * asked. When nothing can be fitted (no batch statistics, no valid level,
 * a file it cannot read) or a configuration cannot be simulated,
 * a->predict_note says why, in one line. Never fails: the prediction is
 * an addition to the measured answer. Deterministic: the same file gives
 * the same figures. About ten simulations per top configuration.
 */
void capacity_predict(struct store *s, const char *model, const struct capacity_config *cs,
		      struct capacity_answer *a);

#endif
