/*
 * Descriptor tables for Triton's model_config.proto (package inference):
 * every message, nested message, map entry, enum and oneof reachable from
 * inference.ModelConfig, written by hand from the .proto. Pure data; only
 * pb_ModelConfig and pb_DataType are exported.
 */
#include "model/schema.h"

#include "util/banned.h"

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

/*
 * One initialiser shape per kind of field, so that each table row reads like
 * the .proto line it comes from.
 */
#define FIELD(n, j, num, t, fl, m, e, o)                                     \
	{ .name = (n), .json_name = (j), .number = (num), .type = (t),       \
	  .flags = (fl), .message = (m), .enum_type = (e), .oneof = (o) }
#define SCALAR(n, j, num, t) FIELD(n, j, num, t, 0, NULL, NULL, 0)
#define REP_SCALAR(n, j, num, t) FIELD(n, j, num, t, PB_REPEATED, NULL, NULL, 0)
#define ENUM(n, j, num, e) FIELD(n, j, num, PB_ENUM, 0, NULL, e, 0)
#define MSG(n, j, num, m) FIELD(n, j, num, PB_MESSAGE, 0, m, NULL, 0)
#define REP_MSG(n, j, num, m) FIELD(n, j, num, PB_MESSAGE, PB_REPEATED, m, NULL, 0)
#define MAP(n, j, num, entry)                                                \
	FIELD(n, j, num, PB_MESSAGE, PB_REPEATED | PB_MAP, entry, NULL, 0)
#define ONEOF_SCALAR(n, j, num, t, o) FIELD(n, j, num, t, 0, NULL, NULL, o)
#define ONEOF_MSG(n, j, num, m, o) FIELD(n, j, num, PB_MESSAGE, 0, m, NULL, o)

#define MESSAGE(n, fs)                                                       \
	{ .name = (n), .fields = (fs), .n_fields = COUNT_OF(fs),             \
	  .oneofs = NULL, .n_oneofs = 0 }
#define MESSAGE_ONEOFS(n, fs, os)                                            \
	{ .name = (n), .fields = (fs), .n_fields = COUNT_OF(fs),             \
	  .oneofs = (os), .n_oneofs = COUNT_OF(os) }
#define ENUM_TYPE(n, vs)                                                     \
	{ .name = (n), .values = (vs), .n_values = COUNT_OF(vs) }

/* Map entries with a string key and a string value, as protoc synthesises them. */
#define STRING_MAP_ENTRY(var, n)                                             \
	static const struct pb_field var##_fields[] = {                      \
		SCALAR("key", "key", 1, PB_STRING),                          \
		SCALAR("value", "value", 2, PB_STRING),                      \
	};                                                                   \
	static const struct pb_message var = MESSAGE(n, var##_fields)

/* ---- enums ---- */

static const struct pb_enum_value DataType_values[] = {
	{ "TYPE_INVALID", 0 },
	{ "TYPE_BOOL", 1 },
	{ "TYPE_UINT8", 2 },
	{ "TYPE_UINT16", 3 },
	{ "TYPE_UINT32", 4 },
	{ "TYPE_UINT64", 5 },
	{ "TYPE_INT8", 6 },
	{ "TYPE_INT16", 7 },
	{ "TYPE_INT32", 8 },
	{ "TYPE_INT64", 9 },
	{ "TYPE_FP16", 10 },
	{ "TYPE_FP32", 11 },
	{ "TYPE_FP64", 12 },
	{ "TYPE_STRING", 13 },
	{ "TYPE_BF16", 14 },
};
const struct pb_enum pb_DataType = ENUM_TYPE("inference.DataType", DataType_values);

static const struct pb_enum_value InstanceGroupKind_values[] = {
	{ "KIND_AUTO", 0 },
	{ "KIND_GPU", 1 },
	{ "KIND_CPU", 2 },
	{ "KIND_MODEL", 3 },
};
static const struct pb_enum InstanceGroupKind =
	ENUM_TYPE("inference.ModelInstanceGroup.Kind", InstanceGroupKind_values);

static const struct pb_enum_value SecondaryDeviceKind_values[] = {
	{ "KIND_NVDLA", 0 },
};
static const struct pb_enum SecondaryDeviceKind =
	ENUM_TYPE("inference.ModelInstanceGroup.SecondaryDevice.SecondaryDeviceKind",
		  SecondaryDeviceKind_values);

static const struct pb_enum_value InputFormat_values[] = {
	{ "FORMAT_NONE", 0 },
	{ "FORMAT_NHWC", 1 },
	{ "FORMAT_NCHW", 2 },
};
static const struct pb_enum InputFormat =
	ENUM_TYPE("inference.ModelInput.Format", InputFormat_values);

static const struct pb_enum_value BatchInputKind_values[] = {
	{ "BATCH_ELEMENT_COUNT", 0 },
	{ "BATCH_ACCUMULATED_ELEMENT_COUNT", 1 },
	{ "BATCH_ACCUMULATED_ELEMENT_COUNT_WITH_ZERO", 2 },
	{ "BATCH_MAX_ELEMENT_COUNT_AS_SHAPE", 3 },
	{ "BATCH_ITEM_SHAPE", 4 },
	{ "BATCH_ITEM_SHAPE_FLATTEN", 5 },
};
static const struct pb_enum BatchInputKind =
	ENUM_TYPE("inference.BatchInput.Kind", BatchInputKind_values);

static const struct pb_enum_value BatchOutputKind_values[] = {
	{ "BATCH_SCATTER_WITH_INPUT_SHAPE", 0 },
};
static const struct pb_enum BatchOutputKind =
	ENUM_TYPE("inference.BatchOutput.Kind", BatchOutputKind_values);

static const struct pb_enum_value ModelPriority_values[] = {
	{ "PRIORITY_DEFAULT", 0 },
	{ "PRIORITY_MAX", 1 },
	{ "PRIORITY_MIN", 2 },
};
static const struct pb_enum ModelPriority =
	ENUM_TYPE("inference.ModelOptimizationPolicy.ModelPriority",
		  ModelPriority_values);

static const struct pb_enum_value TimeoutAction_values[] = {
	{ "REJECT", 0 },
	{ "DELAY", 1 },
};
static const struct pb_enum TimeoutAction =
	ENUM_TYPE("inference.ModelQueuePolicy.TimeoutAction", TimeoutAction_values);

static const struct pb_enum_value ControlKind_values[] = {
	{ "CONTROL_SEQUENCE_START", 0 },
	{ "CONTROL_SEQUENCE_READY", 1 },
	{ "CONTROL_SEQUENCE_END", 2 },
	{ "CONTROL_SEQUENCE_CORRID", 3 },
};
static const struct pb_enum ControlKind =
	ENUM_TYPE("inference.ModelSequenceBatching.Control.Kind", ControlKind_values);

/* ---- ModelRateLimiter, ModelInstanceGroup ---- */

static const struct pb_field Resource_fields[] = {
	SCALAR("name", "name", 1, PB_STRING),
	SCALAR("global", "global", 2, PB_BOOL),
	SCALAR("count", "count", 3, PB_UINT32),
};
static const struct pb_message Resource =
	MESSAGE("inference.ModelRateLimiter.Resource", Resource_fields);

static const struct pb_field ModelRateLimiter_fields[] = {
	REP_MSG("resources", "resources", 1, &Resource),
	SCALAR("priority", "priority", 2, PB_UINT32),
};
static const struct pb_message ModelRateLimiter =
	MESSAGE("inference.ModelRateLimiter", ModelRateLimiter_fields);

static const struct pb_field SecondaryDevice_fields[] = {
	ENUM("kind", "kind", 1, &SecondaryDeviceKind),
	SCALAR("device_id", "deviceId", 2, PB_INT64),
};
static const struct pb_message SecondaryDevice =
	MESSAGE("inference.ModelInstanceGroup.SecondaryDevice", SecondaryDevice_fields);

static const struct pb_field ModelInstanceGroup_fields[] = {
	SCALAR("name", "name", 1, PB_STRING),
	SCALAR("count", "count", 2, PB_INT32),
	REP_SCALAR("gpus", "gpus", 3, PB_INT32),
	ENUM("kind", "kind", 4, &InstanceGroupKind),
	REP_SCALAR("profile", "profile", 5, PB_STRING),
	MSG("rate_limiter", "rateLimiter", 6, &ModelRateLimiter),
	SCALAR("passive", "passive", 7, PB_BOOL),
	REP_MSG("secondary_devices", "secondaryDevices", 8, &SecondaryDevice),
	SCALAR("host_policy", "hostPolicy", 9, PB_STRING),
};
static const struct pb_message ModelInstanceGroup =
	MESSAGE("inference.ModelInstanceGroup", ModelInstanceGroup_fields);

/* ---- tensors ---- */

static const struct pb_field ModelTensorReshape_fields[] = {
	REP_SCALAR("shape", "shape", 1, PB_INT64),
};
static const struct pb_message ModelTensorReshape =
	MESSAGE("inference.ModelTensorReshape", ModelTensorReshape_fields);

static const struct pb_field ModelInput_fields[] = {
	SCALAR("name", "name", 1, PB_STRING),
	ENUM("data_type", "dataType", 2, &pb_DataType),
	ENUM("format", "format", 3, &InputFormat),
	REP_SCALAR("dims", "dims", 4, PB_INT64),
	MSG("reshape", "reshape", 5, &ModelTensorReshape),
	SCALAR("is_shape_tensor", "isShapeTensor", 6, PB_BOOL),
	SCALAR("allow_ragged_batch", "allowRaggedBatch", 7, PB_BOOL),
	SCALAR("optional", "optional", 8, PB_BOOL),
	SCALAR("is_non_linear_format_io", "isNonLinearFormatIo", 9, PB_BOOL),
};
static const struct pb_message ModelInput =
	MESSAGE("inference.ModelInput", ModelInput_fields);

static const struct pb_field ModelOutput_fields[] = {
	SCALAR("name", "name", 1, PB_STRING),
	ENUM("data_type", "dataType", 2, &pb_DataType),
	REP_SCALAR("dims", "dims", 3, PB_INT64),
	SCALAR("label_filename", "labelFilename", 4, PB_STRING),
	MSG("reshape", "reshape", 5, &ModelTensorReshape),
	SCALAR("is_shape_tensor", "isShapeTensor", 6, PB_BOOL),
	SCALAR("is_non_linear_format_io", "isNonLinearFormatIo", 7, PB_BOOL),
};
static const struct pb_message ModelOutput =
	MESSAGE("inference.ModelOutput", ModelOutput_fields);

static const struct pb_field BatchInput_fields[] = {
	ENUM("kind", "kind", 1, &BatchInputKind),
	REP_SCALAR("target_name", "targetName", 2, PB_STRING),
	ENUM("data_type", "dataType", 3, &pb_DataType),
	REP_SCALAR("source_input", "sourceInput", 4, PB_STRING),
};
static const struct pb_message BatchInput =
	MESSAGE("inference.BatchInput", BatchInput_fields);

static const struct pb_field BatchOutput_fields[] = {
	REP_SCALAR("target_name", "targetName", 1, PB_STRING),
	ENUM("kind", "kind", 2, &BatchOutputKind),
	REP_SCALAR("source_input", "sourceInput", 3, PB_STRING),
};
static const struct pb_message BatchOutput =
	MESSAGE("inference.BatchOutput", BatchOutput_fields);

/* ---- ModelVersionPolicy ---- */

static const struct pb_field VersionLatest_fields[] = {
	SCALAR("num_versions", "numVersions", 1, PB_UINT32),
};
static const struct pb_message VersionLatest =
	MESSAGE("inference.ModelVersionPolicy.Latest", VersionLatest_fields);

static const struct pb_message VersionAll = {
	.name = "inference.ModelVersionPolicy.All",
	.fields = NULL,
	.n_fields = 0,
	.oneofs = NULL,
	.n_oneofs = 0,
};

static const struct pb_field VersionSpecific_fields[] = {
	REP_SCALAR("versions", "versions", 1, PB_INT64),
};
static const struct pb_message VersionSpecific =
	MESSAGE("inference.ModelVersionPolicy.Specific", VersionSpecific_fields);

static const char *const ModelVersionPolicy_oneofs[] = { "policy_choice" };
static const struct pb_field ModelVersionPolicy_fields[] = {
	ONEOF_MSG("latest", "latest", 1, &VersionLatest, 1),
	ONEOF_MSG("all", "all", 2, &VersionAll, 1),
	ONEOF_MSG("specific", "specific", 3, &VersionSpecific, 1),
};
static const struct pb_message ModelVersionPolicy =
	MESSAGE_ONEOFS("inference.ModelVersionPolicy", ModelVersionPolicy_fields,
		       ModelVersionPolicy_oneofs);

/* ---- ModelOptimizationPolicy ---- */

static const struct pb_field OptGraph_fields[] = {
	SCALAR("level", "level", 1, PB_INT32),
};
static const struct pb_message OptGraph =
	MESSAGE("inference.ModelOptimizationPolicy.Graph", OptGraph_fields);

static const struct pb_field GraphSpecShape_fields[] = {
	REP_SCALAR("dim", "dim", 1, PB_INT64),
};
static const struct pb_message GraphSpecShape =
	MESSAGE("inference.ModelOptimizationPolicy.Cuda.GraphSpec.Shape",
		GraphSpecShape_fields);

static const struct pb_field GraphSpecInputEntry_fields[] = {
	SCALAR("key", "key", 1, PB_STRING),
	MSG("value", "value", 2, &GraphSpecShape),
};
static const struct pb_message GraphSpecInputEntry =
	MESSAGE("inference.ModelOptimizationPolicy.Cuda.GraphSpec.InputEntry",
		GraphSpecInputEntry_fields);

static const struct pb_field LowerBoundInputEntry_fields[] = {
	SCALAR("key", "key", 1, PB_STRING),
	MSG("value", "value", 2, &GraphSpecShape),
};
static const struct pb_message LowerBoundInputEntry =
	MESSAGE("inference.ModelOptimizationPolicy.Cuda.GraphSpec.LowerBound.InputEntry",
		LowerBoundInputEntry_fields);

static const struct pb_field GraphSpecLowerBound_fields[] = {
	SCALAR("batch_size", "batchSize", 1, PB_INT32),
	MAP("input", "input", 2, &LowerBoundInputEntry),
};
static const struct pb_message GraphSpecLowerBound =
	MESSAGE("inference.ModelOptimizationPolicy.Cuda.GraphSpec.LowerBound",
		GraphSpecLowerBound_fields);

static const struct pb_field GraphSpec_fields[] = {
	SCALAR("batch_size", "batchSize", 1, PB_INT32),
	MAP("input", "input", 2, &GraphSpecInputEntry),
	MSG("graph_lower_bound", "graphLowerBound", 3, &GraphSpecLowerBound),
};
static const struct pb_message GraphSpec =
	MESSAGE("inference.ModelOptimizationPolicy.Cuda.GraphSpec", GraphSpec_fields);

static const struct pb_field OptCuda_fields[] = {
	SCALAR("graphs", "graphs", 1, PB_BOOL),
	SCALAR("busy_wait_events", "busyWaitEvents", 2, PB_BOOL),
	REP_MSG("graph_spec", "graphSpec", 3, &GraphSpec),
	SCALAR("output_copy_stream", "outputCopyStream", 4, PB_BOOL),
};
static const struct pb_message OptCuda =
	MESSAGE("inference.ModelOptimizationPolicy.Cuda", OptCuda_fields);

STRING_MAP_ENTRY(AcceleratorParametersEntry,
		 "inference.ModelOptimizationPolicy.ExecutionAccelerators.Accelerator.ParametersEntry");

static const struct pb_field Accelerator_fields[] = {
	SCALAR("name", "name", 1, PB_STRING),
	MAP("parameters", "parameters", 2, &AcceleratorParametersEntry),
};
static const struct pb_message Accelerator =
	MESSAGE("inference.ModelOptimizationPolicy.ExecutionAccelerators.Accelerator",
		Accelerator_fields);

static const struct pb_field ExecutionAccelerators_fields[] = {
	REP_MSG("gpu_execution_accelerator", "gpuExecutionAccelerator", 1, &Accelerator),
	REP_MSG("cpu_execution_accelerator", "cpuExecutionAccelerator", 2, &Accelerator),
};
static const struct pb_message ExecutionAccelerators =
	MESSAGE("inference.ModelOptimizationPolicy.ExecutionAccelerators",
		ExecutionAccelerators_fields);

static const struct pb_field PinnedMemoryBuffer_fields[] = {
	SCALAR("enable", "enable", 1, PB_BOOL),
};
static const struct pb_message PinnedMemoryBuffer =
	MESSAGE("inference.ModelOptimizationPolicy.PinnedMemoryBuffer",
		PinnedMemoryBuffer_fields);

static const struct pb_field ModelOptimizationPolicy_fields[] = {
	MSG("graph", "graph", 1, &OptGraph),
	ENUM("priority", "priority", 2, &ModelPriority),
	MSG("cuda", "cuda", 3, &OptCuda),
	MSG("execution_accelerators", "executionAccelerators", 4, &ExecutionAccelerators),
	MSG("input_pinned_memory", "inputPinnedMemory", 5, &PinnedMemoryBuffer),
	MSG("output_pinned_memory", "outputPinnedMemory", 6, &PinnedMemoryBuffer),
	SCALAR("gather_kernel_buffer_threshold", "gatherKernelBufferThreshold", 7,
	       PB_UINT32),
	SCALAR("eager_batching", "eagerBatching", 8, PB_BOOL),
};
static const struct pb_message ModelOptimizationPolicy =
	MESSAGE("inference.ModelOptimizationPolicy", ModelOptimizationPolicy_fields);

/* ---- ModelQueuePolicy, ModelDynamicBatching ---- */

static const struct pb_field ModelQueuePolicy_fields[] = {
	ENUM("timeout_action", "timeoutAction", 1, &TimeoutAction),
	SCALAR("default_timeout_microseconds", "defaultTimeoutMicroseconds", 2,
	       PB_UINT64),
	SCALAR("allow_timeout_override", "allowTimeoutOverride", 3, PB_BOOL),
	SCALAR("max_queue_size", "maxQueueSize", 4, PB_UINT32),
};
static const struct pb_message ModelQueuePolicy =
	MESSAGE("inference.ModelQueuePolicy", ModelQueuePolicy_fields);

static const struct pb_field PriorityQueuePolicyEntry_fields[] = {
	SCALAR("key", "key", 1, PB_UINT64),
	MSG("value", "value", 2, &ModelQueuePolicy),
};
static const struct pb_message PriorityQueuePolicyEntry =
	MESSAGE("inference.ModelDynamicBatching.PriorityQueuePolicyEntry",
		PriorityQueuePolicyEntry_fields);

static const struct pb_field ModelDynamicBatching_fields[] = {
	REP_SCALAR("preferred_batch_size", "preferredBatchSize", 1, PB_INT32),
	SCALAR("max_queue_delay_microseconds", "maxQueueDelayMicroseconds", 2,
	       PB_UINT64),
	SCALAR("preserve_ordering", "preserveOrdering", 3, PB_BOOL),
	SCALAR("priority_levels", "priorityLevels", 4, PB_UINT64),
	SCALAR("default_priority_level", "defaultPriorityLevel", 5, PB_UINT64),
	MSG("default_queue_policy", "defaultQueuePolicy", 6, &ModelQueuePolicy),
	MAP("priority_queue_policy", "priorityQueuePolicy", 7, &PriorityQueuePolicyEntry),
};
static const struct pb_message ModelDynamicBatching =
	MESSAGE("inference.ModelDynamicBatching", ModelDynamicBatching_fields);

/* ---- ModelSequenceBatching ---- */

static const struct pb_field SeqControl_fields[] = {
	ENUM("kind", "kind", 1, &ControlKind),
	REP_SCALAR("int32_false_true", "int32FalseTrue", 2, PB_INT32),
	REP_SCALAR("fp32_false_true", "fp32FalseTrue", 3, PB_FLOAT),
	ENUM("data_type", "dataType", 4, &pb_DataType),
	REP_SCALAR("bool_false_true", "boolFalseTrue", 5, PB_BOOL),
};
static const struct pb_message SeqControl =
	MESSAGE("inference.ModelSequenceBatching.Control", SeqControl_fields);

static const struct pb_field SeqControlInput_fields[] = {
	SCALAR("name", "name", 1, PB_STRING),
	REP_MSG("control", "control", 2, &SeqControl),
};
static const struct pb_message SeqControlInput =
	MESSAGE("inference.ModelSequenceBatching.ControlInput", SeqControlInput_fields);

static const char *const SeqInitialState_oneofs[] = { "state_data" };
static const struct pb_field SeqInitialState_fields[] = {
	ENUM("data_type", "dataType", 1, &pb_DataType),
	REP_SCALAR("dims", "dims", 2, PB_INT64),
	ONEOF_SCALAR("zero_data", "zeroData", 3, PB_BOOL, 1),
	ONEOF_SCALAR("data_file", "dataFile", 4, PB_STRING, 1),
	SCALAR("name", "name", 5, PB_STRING),
};
static const struct pb_message SeqInitialState =
	MESSAGE_ONEOFS("inference.ModelSequenceBatching.InitialState",
		       SeqInitialState_fields, SeqInitialState_oneofs);

static const struct pb_field SeqState_fields[] = {
	SCALAR("input_name", "inputName", 1, PB_STRING),
	SCALAR("output_name", "outputName", 2, PB_STRING),
	ENUM("data_type", "dataType", 3, &pb_DataType),
	REP_SCALAR("dims", "dims", 4, PB_INT64),
	REP_MSG("initial_state", "initialState", 5, &SeqInitialState),
	SCALAR("use_same_buffer_for_input_output", "useSameBufferForInputOutput", 6,
	       PB_BOOL),
	SCALAR("use_growable_memory", "useGrowableMemory", 7, PB_BOOL),
};
static const struct pb_message SeqState =
	MESSAGE("inference.ModelSequenceBatching.State", SeqState_fields);

static const struct pb_field StrategyDirect_fields[] = {
	SCALAR("max_queue_delay_microseconds", "maxQueueDelayMicroseconds", 1,
	       PB_UINT64),
	SCALAR("minimum_slot_utilization", "minimumSlotUtilization", 2, PB_FLOAT),
};
static const struct pb_message StrategyDirect =
	MESSAGE("inference.ModelSequenceBatching.StrategyDirect",
		StrategyDirect_fields);

static const struct pb_field StrategyOldest_fields[] = {
	SCALAR("max_candidate_sequences", "maxCandidateSequences", 1, PB_INT32),
	REP_SCALAR("preferred_batch_size", "preferredBatchSize", 2, PB_INT32),
	SCALAR("max_queue_delay_microseconds", "maxQueueDelayMicroseconds", 3,
	       PB_UINT64),
	SCALAR("preserve_ordering", "preserveOrdering", 4, PB_BOOL),
};
static const struct pb_message StrategyOldest =
	MESSAGE("inference.ModelSequenceBatching.StrategyOldest",
		StrategyOldest_fields);

static const char *const ModelSequenceBatching_oneofs[] = { "strategy_choice" };
static const struct pb_field ModelSequenceBatching_fields[] = {
	SCALAR("max_sequence_idle_microseconds", "maxSequenceIdleMicroseconds", 1,
	       PB_UINT64),
	REP_MSG("control_input", "controlInput", 2, &SeqControlInput),
	ONEOF_MSG("direct", "direct", 3, &StrategyDirect, 1),
	ONEOF_MSG("oldest", "oldest", 4, &StrategyOldest, 1),
	REP_MSG("state", "state", 5, &SeqState),
	SCALAR("iterative_sequence", "iterativeSequence", 6, PB_BOOL),
};
static const struct pb_message ModelSequenceBatching =
	MESSAGE_ONEOFS("inference.ModelSequenceBatching",
		       ModelSequenceBatching_fields, ModelSequenceBatching_oneofs);

/* ---- ModelEnsembling ---- */

STRING_MAP_ENTRY(StepInputMapEntry, "inference.ModelEnsembling.Step.InputMapEntry");
STRING_MAP_ENTRY(StepOutputMapEntry, "inference.ModelEnsembling.Step.OutputMapEntry");

static const struct pb_field EnsembleStep_fields[] = {
	SCALAR("model_name", "modelName", 1, PB_STRING),
	SCALAR("model_version", "modelVersion", 2, PB_INT64),
	MAP("input_map", "inputMap", 3, &StepInputMapEntry),
	MAP("output_map", "outputMap", 4, &StepOutputMapEntry),
	SCALAR("model_namespace", "modelNamespace", 5, PB_STRING),
};
static const struct pb_message EnsembleStep =
	MESSAGE("inference.ModelEnsembling.Step", EnsembleStep_fields);

static const struct pb_field ModelEnsembling_fields[] = {
	REP_MSG("step", "step", 1, &EnsembleStep),
	SCALAR("max_inflight_responses", "maxInflightResponses", 2, PB_UINT32),
};
static const struct pb_message ModelEnsembling =
	MESSAGE("inference.ModelEnsembling", ModelEnsembling_fields);

/* ---- ModelParameter, ModelWarmup ---- */

static const struct pb_field ModelParameter_fields[] = {
	SCALAR("string_value", "stringValue", 1, PB_STRING),
};
static const struct pb_message ModelParameter =
	MESSAGE("inference.ModelParameter", ModelParameter_fields);

static const char *const WarmupInput_oneofs[] = { "input_data_type" };
static const struct pb_field WarmupInput_fields[] = {
	ENUM("data_type", "dataType", 1, &pb_DataType),
	REP_SCALAR("dims", "dims", 2, PB_INT64),
	ONEOF_SCALAR("zero_data", "zeroData", 3, PB_BOOL, 1),
	ONEOF_SCALAR("random_data", "randomData", 4, PB_BOOL, 1),
	ONEOF_SCALAR("input_data_file", "inputDataFile", 5, PB_STRING, 1),
};
static const struct pb_message WarmupInput =
	MESSAGE_ONEOFS("inference.ModelWarmup.Input", WarmupInput_fields,
		       WarmupInput_oneofs);

static const struct pb_field WarmupInputsEntry_fields[] = {
	SCALAR("key", "key", 1, PB_STRING),
	MSG("value", "value", 2, &WarmupInput),
};
static const struct pb_message WarmupInputsEntry =
	MESSAGE("inference.ModelWarmup.InputsEntry", WarmupInputsEntry_fields);

static const struct pb_field ModelWarmup_fields[] = {
	SCALAR("name", "name", 1, PB_STRING),
	SCALAR("batch_size", "batchSize", 2, PB_UINT32),
	MAP("inputs", "inputs", 3, &WarmupInputsEntry),
	SCALAR("count", "count", 4, PB_UINT32),
};
static const struct pb_message ModelWarmup =
	MESSAGE("inference.ModelWarmup", ModelWarmup_fields);

/* ---- small policy messages ---- */

static const struct pb_field ModelOperations_fields[] = {
	REP_SCALAR("op_library_filename", "opLibraryFilename", 1, PB_STRING),
};
static const struct pb_message ModelOperations =
	MESSAGE("inference.ModelOperations", ModelOperations_fields);

static const struct pb_field ModelTransactionPolicy_fields[] = {
	SCALAR("decoupled", "decoupled", 1, PB_BOOL),
};
static const struct pb_message ModelTransactionPolicy =
	MESSAGE("inference.ModelTransactionPolicy", ModelTransactionPolicy_fields);

STRING_MAP_ENTRY(AgentParametersEntry,
		 "inference.ModelRepositoryAgents.Agent.ParametersEntry");

static const struct pb_field Agent_fields[] = {
	SCALAR("name", "name", 1, PB_STRING),
	MAP("parameters", "parameters", 2, &AgentParametersEntry),
};
static const struct pb_message Agent =
	MESSAGE("inference.ModelRepositoryAgents.Agent", Agent_fields);

static const struct pb_field ModelRepositoryAgents_fields[] = {
	REP_MSG("agents", "agents", 1, &Agent),
};
static const struct pb_message ModelRepositoryAgents =
	MESSAGE("inference.ModelRepositoryAgents", ModelRepositoryAgents_fields);

static const struct pb_field ModelResponseCache_fields[] = {
	SCALAR("enable", "enable", 1, PB_BOOL),
};
static const struct pb_message ModelResponseCache =
	MESSAGE("inference.ModelResponseCache", ModelResponseCache_fields);

/* ---- ModelMetrics ---- */

static const struct pb_field MetricIdentifier_fields[] = {
	SCALAR("family", "family", 1, PB_STRING),
};
static const struct pb_message MetricIdentifier =
	MESSAGE("inference.ModelMetrics.MetricControl.MetricIdentifier",
		MetricIdentifier_fields);

static const struct pb_field HistogramOptions_fields[] = {
	REP_SCALAR("buckets", "buckets", 1, PB_DOUBLE),
};
static const struct pb_message HistogramOptions =
	MESSAGE("inference.ModelMetrics.MetricControl.HistogramOptions",
		HistogramOptions_fields);

static const char *const MetricControl_oneofs[] = { "metric_options" };
static const struct pb_field MetricControl_fields[] = {
	MSG("metric_identifier", "metricIdentifier", 1, &MetricIdentifier),
	ONEOF_MSG("histogram_options", "histogramOptions", 2, &HistogramOptions, 1),
};
static const struct pb_message MetricControl =
	MESSAGE_ONEOFS("inference.ModelMetrics.MetricControl", MetricControl_fields,
		       MetricControl_oneofs);

static const struct pb_field ModelMetrics_fields[] = {
	REP_MSG("metric_control", "metricControl", 1, &MetricControl),
};
static const struct pb_message ModelMetrics =
	MESSAGE("inference.ModelMetrics", ModelMetrics_fields);

/* ---- ModelConfig ---- */

STRING_MAP_ENTRY(CcModelFilenamesEntry, "inference.ModelConfig.CcModelFilenamesEntry");
STRING_MAP_ENTRY(MetricTagsEntry, "inference.ModelConfig.MetricTagsEntry");

static const struct pb_field ParametersEntry_fields[] = {
	SCALAR("key", "key", 1, PB_STRING),
	MSG("value", "value", 2, &ModelParameter),
};
static const struct pb_message ParametersEntry =
	MESSAGE("inference.ModelConfig.ParametersEntry", ParametersEntry_fields);

static const char *const ModelConfig_oneofs[] = { "scheduling_choice" };
static const struct pb_field ModelConfig_fields[] = {
	SCALAR("name", "name", 1, PB_STRING),
	SCALAR("platform", "platform", 2, PB_STRING),
	MSG("version_policy", "versionPolicy", 3, &ModelVersionPolicy),
	SCALAR("max_batch_size", "maxBatchSize", 4, PB_INT32),
	REP_MSG("input", "input", 5, &ModelInput),
	REP_MSG("output", "output", 6, &ModelOutput),
	REP_MSG("instance_group", "instanceGroup", 7, &ModelInstanceGroup),
	SCALAR("default_model_filename", "defaultModelFilename", 8, PB_STRING),
	MAP("cc_model_filenames", "ccModelFilenames", 9, &CcModelFilenamesEntry),
	MAP("metric_tags", "metricTags", 10, &MetricTagsEntry),
	ONEOF_MSG("dynamic_batching", "dynamicBatching", 11, &ModelDynamicBatching, 1),
	MSG("optimization", "optimization", 12, &ModelOptimizationPolicy),
	ONEOF_MSG("sequence_batching", "sequenceBatching", 13, &ModelSequenceBatching, 1),
	MAP("parameters", "parameters", 14, &ParametersEntry),
	ONEOF_MSG("ensemble_scheduling", "ensembleScheduling", 15, &ModelEnsembling, 1),
	REP_MSG("model_warmup", "modelWarmup", 16, &ModelWarmup),
	SCALAR("backend", "backend", 17, PB_STRING),
	MSG("model_operations", "modelOperations", 18, &ModelOperations),
	MSG("model_transaction_policy", "modelTransactionPolicy", 19,
	    &ModelTransactionPolicy),
	REP_MSG("batch_input", "batchInput", 20, &BatchInput),
	REP_MSG("batch_output", "batchOutput", 21, &BatchOutput),
	MSG("model_repository_agents", "modelRepositoryAgents", 23,
	    &ModelRepositoryAgents),
	MSG("response_cache", "responseCache", 24, &ModelResponseCache),
	SCALAR("runtime", "runtime", 25, PB_STRING),
	MSG("model_metrics", "modelMetrics", 26, &ModelMetrics),
};
const struct pb_message pb_ModelConfig =
	MESSAGE_ONEOFS("inference.ModelConfig", ModelConfig_fields, ModelConfig_oneofs);
