/*
 * The files an analysis leaves in its export folder, all written from
 * results.db (so a resumed or interrupted run writes them the same way):
 * Model Analyzer's results/metrics-model-inference.csv,
 * metrics-model-gpu.csv (when GPUs were measured) and
 * metrics-server-only.csv with its exact headers and row order;
 * results/measurements.csv with every figure of every measurement; and the
 * winning configuration of each model as best/<model>/config.pbtxt under
 * the model's own name, deployable on Triton as is; with a latency budget,
 * results/metrics-capacity.csv (analyze/capacity). The ranking is also
 * recorded in results.db. Depends on analyze/objective, analyze/tier,
 * analyze/capacity (and capacity_predict: the predicted rates beside the
 * measured ones), store/, model/, util/.
 */
#ifndef INFERTUNE_ANALYZE_OUTPUTS_H
#define INFERTUNE_ANALYZE_OUTPUTS_H

#include <stddef.h>
#include <stdint.h>

struct it_error;
struct objective_set;
struct store;
struct analyze_model_result;

/** Model Analyzer's CSV headers, byte for byte (result_table_manager.py). */
#define OUTPUTS_HEADER_INFERENCE \
	"Model,Batch,Concurrency,Model Config Path,Instance Group,Max Batch Size," \
	"Satisfies Constraints,Throughput (infer/sec),p99 Latency (ms)"
#define OUTPUTS_HEADER_INFERENCE_RATE \
	"Model,Batch,Request Rate,Model Config Path,Instance Group,Max Batch Size," \
	"Satisfies Constraints,Throughput (infer/sec),p99 Latency (ms)"
#define OUTPUTS_HEADER_GPU \
	"Model,GPU UUID,Batch,Concurrency,Model Config Path,Instance Group," \
	"Satisfies Constraints,GPU Memory Usage (MB),GPU Utilization (%)," \
	"GPU Power Usage (W)"
#define OUTPUTS_HEADER_SERVER_ONLY \
	"Model,GPU UUID,GPU Memory Usage (MB),GPU Utilization (%),GPU Power Usage (W)"

/** The rich CSV's file name under results/. */
#define OUTPUTS_MEASUREMENTS_CSV "measurements.csv"

/** The capacity answers' CSV under results/ (analyze/capacity.h), and its header. */
#define OUTPUTS_CAPACITY_CSV "metrics-capacity.csv"
#define OUTPUTS_HEADER_CAPACITY \
	"Model,Batch,Model Config Path,Instance Group,Max Batch Size,Latency Budget (ms)," \
	"Sustained Rate (infer/sec),Sustained Rate 95% CI Low (infer/sec)," \
	"Sustained Rate 95% CI High (infer/sec),At Load,p99 Latency (ms)," \
	"Target Rate (infer/sec),Meets Target,Servers For Target," \
	"Predicted Sustained Rate (infer/sec),Predicted Uncertainty %"

/** One model to write. */
struct outputs_model {
	const char *name;
	int64_t model_id;               /* 0: not in results.db (skipped) */
	const char *profile_key;        /* the measurements of these settings */
	const struct objective_set *objectives;
	const double *rates;            /* its request rates (the capacity target); borrowed */
	size_t n_rates;
};

/** What to write where. */
struct outputs_config {
	struct store *store;
	int64_t run_id;                 /* the ranking is recorded for this run */
	const struct outputs_model *models;
	size_t n_models;
	const char *results_dir;        /* <export>/results */
	const char *export_path;        /* best/<model>/ goes under it */
	const char *best_dir;           /* NULL: <export>/best */
	const char *filename_inference;
	const char *filename_gpu;
	const char *filename_server_only;
};

/**
 * Ranks every model's variants, records the ranking, writes the files
 * (atomically) and fills results[0..n_models). The capacity CSV is
 * written when a model has a latency budget, and a stale one removed
 * otherwise. IT_ERR_IO when a file or results.db cannot be written.
 */
int outputs_write(const struct outputs_config *oc,
		  struct analyze_model_result *results, struct it_error *err);

/**
 * Model Analyzer's instance group text of a configuration: "<count>:<KIND>"
 * per kind, joined with " + " ("2:CPU", "1:GPU + 1:CPU"); a KIND_GPU group
 * without `gpus` counts once per GPU (gpu_count, at least 1).
 */
void outputs_instance_group(const char *config_pbtxt, unsigned gpu_count,
			    char *buf, size_t size);

#endif
