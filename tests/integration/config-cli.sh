#!/usr/bin/env bash
# Integration test of `infertune config check|print`: several files at once,
# the "cannot serve yet" note, Triton's /config JSON form (output and input,
# Model Analyzer style), standard input, and error reporting. Run as
#   config-cli.sh /path/to/infertune /path/to/tests/data
# Prints one line per check and ends with "N passed, M failed"; exits 1 on
# any failure, 2 on bad usage. Needs python3 for the JSON checks.
set -u

if [ $# -ne 2 ]; then
	echo "usage: $0 /path/to/infertune /path/to/tests/data" >&2
	exit 2
fi
BIN=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
DATA=$(cd "$2" && pwd) || exit 2
[ -x "$BIN" ] || { echo "$0: $BIN is not an executable" >&2; exit 2; }
cd "$DATA/configs" || exit 2

TMP=$(mktemp -d "${TMPDIR:-/tmp}/infertune-config-cli.XXXXXX") || exit 2
trap 'rm -rf "$TMP"' EXIT

passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok   $1"; }
bad() { failed=$((failed + 1)); echo "FAIL $1"; }

# run ARGS...: runs infertune with stdin from $TMP/in (empty unless a check
# wrote it); sets $rc and fills $TMP/out and $TMP/err.
: >"$TMP/in"
run() {
	timeout 20 "$BIN" "$@" <"$TMP/in" >"$TMP/out" 2>"$TMP/err"
	rc=$?
}
first_err() { sed -n 1p "$TMP/err"; }

if command -v python3 >/dev/null 2>&1; then
	ok "python3 is available for the JSON checks"
else
	bad "python3 is needed for the JSON checks"
fi

# jcheck DESCRIPTION PYTHON_EXPR...: each expression is evaluated with `j`
# bound to the JSON document in $TMP/out; all must be true.
jcheck() {
	local what=$1
	shift
	local why
	if why=$(python3 - "$TMP/out" "$@" <<'EOF' 2>&1
import json, sys
with open(sys.argv[1]) as f:
    j = json.load(f)
for expr in sys.argv[2:]:
    try:
        good = eval(expr, {"j": j, "isint": lambda v: type(v) is int})
    except Exception as e:
        good = False
        expr += "  (%s: %s)" % (type(e).__name__, e)
    if not good:
        print("false: " + expr)
        sys.exit(1)
EOF
	); then
		ok "$what"
	else
		bad "$what: $why"
	fi
}

# ---------------------------------------------------------------- check, many files

run config check valid/simple.pbtxt valid/densenet_onnx.pbtxt valid/ma_resnet50_config_0.pbtxt
if [ $rc -eq 0 ] && [ ! -s "$TMP/err" ] && [ ! -s "$TMP/out" ]; then
	ok "config check of three valid files exits 0 and prints nothing"
else
	bad "config check of three valid files: exit $rc, stderr: $(first_err)"
fi

run config check valid/simple.pbtxt invalid/sem_dims_zero.pbtxt valid/densenet_onnx.pbtxt \
	invalid/syntax_nul_byte.pbtxt invalid/schema_unknown_field.pbtxt
cat invalid/sem_dims_zero.err invalid/syntax_nul_byte.err invalid/schema_unknown_field.err >"$TMP/want"
if [ $rc -eq 2 ]; then
	ok "config check of mixed valid and invalid files exits 2"
else
	bad "config check of mixed valid and invalid files exits $rc, expected 2"
fi
if cmp -s "$TMP/want" "$TMP/err"; then
	ok "config check prints the error of every invalid file, in order, and nothing else"
else
	bad "config check of mixed files: stderr differs: $(diff "$TMP/want" "$TMP/err" | tr '\n' ' ')"
fi

run config check missing-config.pbtxt valid/simple.pbtxt invalid/sem_dims_missing.pbtxt
if [ $rc -eq 2 ] && [ "$(sed -n 1p "$TMP/err")" = "missing-config.pbtxt: cannot open: No such file or directory" ] &&
	[ "$(sed -n 2p "$TMP/err")" = "$(cat invalid/sem_dims_missing.err)" ] &&
	[ "$(wc -l <"$TMP/err")" -eq 2 ]; then
	ok "a missing file is reported by name and the other files are still checked"
else
	bad "config check with a missing file: exit $rc, stderr: $(tr '\n' '|' <"$TMP/err")"
fi

run config print no/such/config.pbtxt
if [ $rc -eq 2 ] && grep -q '^no/such/config.pbtxt: .*No such file or directory' "$TMP/err" && [ ! -s "$TMP/out" ]; then
	ok "config print of a missing file exits 2 naming the file"
else
	bad "config print of a missing file: exit $rc, stderr: $(first_err)"
fi

run config check valid
if [ $rc -eq 2 ] && grep -q '^valid: ' "$TMP/err"; then
	ok "config check of a directory exits 2 naming it"
else
	bad "config check of a directory: exit $rc, stderr: $(first_err)"
fi

# ---------------------------------------------------------------- "cannot serve yet" notes

for pair in sequence_batching_oldest:sequence_batching ensemble:ensemble_scheduling \
	python_decoupled:model_transaction_policy.decoupled; do
	f=valid/${pair%%:*}.pbtxt
	feature=${pair#*:}
	run config check "$f"
	if [ $rc -eq 0 ] && grep -q "^$f: note: .*cannot serve '$feature'" "$TMP/err"; then
		ok "config check $f exits 0 with a note that '$feature' cannot be served yet"
	else
		bad "config check $f: exit $rc, stderr: $(first_err)"
	fi
done
run config check valid/bert_onnx.pbtxt
if [ $rc -eq 0 ] && ! grep -q "note:" "$TMP/err"; then
	ok "config check of a servable config prints no note"
else
	bad "config check valid/bert_onnx.pbtxt: exit $rc, stderr: $(first_err)"
fi

# ---------------------------------------------------------------- --json output

run config print valid/bert_onnx.pbtxt --json
[ $rc -eq 0 ] || bad "config print --json valid/bert_onnx.pbtxt exits $rc: $(first_err)"
jcheck "JSON: dims are JSON numbers, -1 included" \
	'j["input"][0]["dims"] == [-1] and isint(j["input"][0]["dims"][0])'
jcheck "JSON: max_batch_size is a number" 'isint(j["max_batch_size"]) and j["max_batch_size"] == 16'
jcheck "JSON: enums are names" \
	'j["input"][0]["data_type"] == "TYPE_INT64"' \
	'j["output"][0]["data_type"] == "TYPE_FP32"' \
	'j["instance_group"][0]["kind"] == "KIND_GPU"'
jcheck "JSON: unset enums and bools are printed with their defaults" \
	'j["input"][0]["format"] == "FORMAT_NONE"' \
	'j["input"][0]["optional"] is False' \
	'j["input"][2]["allow_ragged_batch"] is False' \
	'j["output"][0]["label_filename"] == ""'
jcheck "JSON: unset strings, lists and maps are printed empty" \
	'j["platform"] == ""' 'j["default_model_filename"] == ""' 'j["runtime"] == ""' \
	'j["parameters"] == {}' 'j["cc_model_filenames"] == {}' 'j["metric_tags"] == {}' \
	'j["model_warmup"] == []' 'j["batch_input"] == []' 'j["backend"] == "onnxruntime"'
jcheck "JSON: unset messages are left out" \
	'"reshape" not in j["input"][0]' '"sequence_batching" not in j' \
	'"version_policy" not in j' '"response_cache" not in j'
jcheck "JSON: uint64 max_queue_delay_microseconds is a number" \
	'j["dynamic_batching"]["max_queue_delay_microseconds"] == 500 and isint(j["dynamic_batching"]["max_queue_delay_microseconds"])' \
	'j["dynamic_batching"]["preferred_batch_size"] == [4, 8, 16]'
jcheck "JSON: a string map is an object" \
	'j["optimization"]["execution_accelerators"]["gpu_execution_accelerator"][0]["parameters"] == {"precision_mode": "FP16", "max_workspace_size_bytes": "1073741824"}'
jcheck "JSON: keys are snake_case proto names" \
	'"max_batch_size" in j and "maxBatchSize" not in j and "data_type" in j["input"][0]'

run config print --json valid/densenet_onnx.pbtxt
jcheck "JSON: max_batch_size is present when 0" 'j["max_batch_size"] == 0 and isint(j["max_batch_size"])'
jcheck "JSON: reshape shape is a list of numbers" \
	'j["input"][0]["reshape"]["shape"] == [1, 3, 224, 224]' 'j["input"][0]["format"] == "FORMAT_NCHW"'

run config print --json valid/dynamic_batching_full.pbtxt
jcheck "JSON: priority_queue_policy is an object keyed by strings" \
	'sorted(j["dynamic_batching"]["priority_queue_policy"].keys()) == ["1", "10", "2"]' \
	'j["dynamic_batching"]["priority_queue_policy"]["2"]["timeout_action"] == "DELAY"' \
	'j["dynamic_batching"]["priority_queue_policy"]["10"]["timeout_action"] == "REJECT"'
jcheck "JSON: other uint64 fields are numbers" \
	'j["dynamic_batching"]["priority_levels"] == 10 and isint(j["dynamic_batching"]["priority_levels"])' \
	'j["dynamic_batching"]["default_priority_level"] == 5' \
	'j["dynamic_batching"]["default_queue_policy"]["default_timeout_microseconds"] == 100000' \
	'j["dynamic_batching"]["default_queue_policy"]["max_queue_size"] == 512'

run config print --json valid/version_policy_specific.pbtxt
jcheck "JSON: a oneof is its member key; int64 versions are numbers" \
	'j["version_policy"] == {"specific": {"versions": [1, 3, 7]}}'
run config print --json valid/version_policy_all.pbtxt
jcheck "JSON: version_policy all is an empty object" 'j["version_policy"] == {"all": {}}'

run config print --json valid/ensemble.pbtxt
jcheck "JSON: ensemble step model_version is a number" \
	'[s["model_version"] for s in j["ensemble_scheduling"]["step"]] == [-1, 3]' \
	'j["ensemble_scheduling"]["step"][0]["input_map"] == {"INPUT_0": "RAW_IMAGE"}'

run config print --json valid/sequence_batching_oldest.pbtxt
jcheck "JSON: sequence batching timeouts are numbers" \
	'j["sequence_batching"]["max_sequence_idle_microseconds"] == 5000000' \
	'j["sequence_batching"]["oldest"]["max_queue_delay_microseconds"] == 100' \
	'"direct" not in j["sequence_batching"]'

# The largest int64 still fits a JSON number as jansson writes it. (Values
# above it, up to the uint64 maximum, come out as strings: jansson's integers
# are int64. Triton writes numbers there; see the test report.)
printf '{"max_batch_size": 1, "dynamic_batching": {"max_queue_delay_microseconds": "9223372036854775807"}}' >"$TMP/in"
run config print --json -
jcheck "JSON: the largest int64 value of a uint64 field is a number" \
	'j["dynamic_batching"]["max_queue_delay_microseconds"] == 9223372036854775807'
: >"$TMP/in"

run config print --json valid/model_warmup.pbtxt
jcheck "JSON: a oneof bool set to false is kept" \
	'j["model_warmup"][0]["inputs"]["scale"]["zero_data"] is False' \
	'"random_data" not in j["model_warmup"][0]["inputs"]["scale"]'

# JSON printing is stable: the JSON of the JSON equals the JSON.
run config print --json valid/kitchen_sink_reversed.pbtxt
cp "$TMP/out" "$TMP/in"
cp "$TMP/out" "$TMP/json1"
run config print --json -
if [ $rc -eq 0 ] && cmp -s "$TMP/json1" "$TMP/out"; then
	ok "config print --json of its own JSON output gives the same JSON"
else
	bad "config print --json is not stable: exit $rc, $(diff "$TMP/json1" "$TMP/out" | head -5 | tr '\n' ' ')"
fi

# ---------------------------------------------------------------- JSON input

# Model Analyzer sends int64 fields as strings; lowerCamelCase keys and
# lower-case enum names are accepted too (protocol.md 5.4).
cat >"$TMP/ma.json" <<'EOF'
{"name": "resnet50_config_3", "platform": "pytorch_libtorch", "maxBatchSize": 8,
 "input": [{"name": "INPUT__0", "dataType": "type_fp32", "format": "FORMAT_NCHW",
            "dims": ["3", "224", "224"]}],
 "output": [{"name": "OUTPUT__0", "data_type": "TYPE_FP32", "dims": ["1000"],
             "label_filename": "labels.txt"}],
 "instance_group": [{"count": 2, "kind": "KIND_GPU", "gpus": [0]}],
 "dynamic_batching": {"preferred_batch_size": [4, 8], "max_queue_delay_microseconds": "100",
   "priority_levels": "2", "default_priority_level": "1",
   "priority_queue_policy": {"2": {"timeout_action": "DELAY",
                                   "default_timeout_microseconds": "5000"}}},
 "version_policy": {"specific": {"versions": ["1", 2]}},
 "parameters": {"INFERENCE_MODE": {"string_value": "true"}}}
EOF
cat >"$TMP/ma.want" <<'EOF'
name: "resnet50_config_3"
platform: "pytorch_libtorch"
version_policy {
  specific {
    versions: 1
    versions: 2
  }
}
max_batch_size: 8
input {
  name: "INPUT__0"
  data_type: TYPE_FP32
  format: FORMAT_NCHW
  dims: 3
  dims: 224
  dims: 224
}
output {
  name: "OUTPUT__0"
  data_type: TYPE_FP32
  dims: 1000
  label_filename: "labels.txt"
}
instance_group {
  count: 2
  gpus: 0
  kind: KIND_GPU
}
dynamic_batching {
  preferred_batch_size: 4
  preferred_batch_size: 8
  max_queue_delay_microseconds: 100
  priority_levels: 2
  default_priority_level: 1
  priority_queue_policy {
    key: 2
    value {
      timeout_action: DELAY
      default_timeout_microseconds: 5000
    }
  }
}
parameters {
  key: "INFERENCE_MODE"
  value {
    string_value: "true"
  }
}
EOF
run config check "$TMP/ma.json"
if [ $rc -eq 0 ] && [ ! -s "$TMP/err" ]; then
	ok "config check accepts Model Analyzer JSON (int64 as strings, camelCase, lower-case enums)"
else
	bad "config check of Model Analyzer JSON: exit $rc, stderr: $(first_err)"
fi
run config print "$TMP/ma.json"
if [ $rc -eq 0 ] && cmp -s "$TMP/ma.want" "$TMP/out"; then
	ok "config print of Model Analyzer JSON gives the expected canonical text"
else
	bad "config print of Model Analyzer JSON: exit $rc, $(diff "$TMP/ma.want" "$TMP/out" | head -6 | tr '\n' ' ')"
fi
cp "$TMP/ma.json" "$TMP/in"
run config print -
if [ $rc -eq 0 ] && cmp -s "$TMP/ma.want" "$TMP/out"; then
	ok "config print - reads JSON from standard input"
else
	bad "config print - of JSON: exit $rc, stderr: $(first_err)"
fi

# JSON with leading white space is still JSON.
printf '\n  \t{"name": "ws", "backend": "python", "input": [{"name": "a", "data_type": 11, "dims": [2]}]}\n' >"$TMP/in"
run config print -
if [ $rc -eq 0 ] && grep -qx 'name: "ws"' "$TMP/out" && grep -qx '  data_type: TYPE_FP32' "$TMP/out"; then
	ok "JSON after leading white space is read as JSON; enum numbers are accepted"
else
	bad "JSON with leading white space: exit $rc, stderr: $(first_err)"
fi

# JSON errors name the document and the JSON path of the bad value.
printf '{"name": "x", "input": [{"name": "a", "data_type": "TYPE_FP32", "dims": [4, "many"]}]}' >"$TMP/in"
run config check -
if [ $rc -eq 2 ] && [ "$(first_err)" = '<stdin>.input[0].dims[1]: expected an integer, found string "many"' ]; then
	ok "a JSON value of the wrong type is reported with its path"
else
	bad "JSON wrong type: exit $rc, stderr: $(first_err)"
fi
printf '{"name": "x", "input": [{"name": "a", "data_type": "TYPE_FP32", "dimz": [4]}]}' >"$TMP/in"
run config check -
if [ $rc -eq 2 ] && first_err | grep -Eq "^<stdin>\.input\[0\](\.dimz)?: unknown field 'dimz'$"; then
	ok "an unknown JSON key is reported with the path of the object that holds it"
else
	bad "unknown JSON key after another key: exit $rc, stderr: $(first_err) (the path must not name another field)"
fi
printf '{"name": "x", "dynamic_batching": {"max_queue_delay_microseconds": -1}}' >"$TMP/in"
run config check -
if [ $rc -eq 2 ] && first_err | grep -q '^<stdin>\.dynamic_batching\.max_queue_delay_microseconds: .*-1'; then
	ok "a negative JSON value for a uint64 field is refused with its path"
else
	bad "negative uint64 in JSON: exit $rc, stderr: $(first_err)"
fi
printf '{"name": "x", "max_batch_size": 4,\n "input": [{"name": "a", "data_type": "TYPE_FP32", "dims": [0]}]}' >"$TMP/in"
run config check -
if [ $rc -eq 2 ] && [ "$(first_err)" = "<stdin>: input 'a': dims must be integers >= 1, or -1 for a variable-size dimension (found 0)" ]; then
	ok "semantic errors are found in JSON input too (without a line number)"
else
	bad "semantic error in JSON: exit $rc, stderr: $(first_err)"
fi
printf '{"name": "x",\n  "max_batch_size": 8,\n' >"$TMP/in"
run config check -
if [ $rc -eq 2 ] && first_err | grep -q '^<stdin>:[0-9]*\(:[0-9]*\)\?: invalid JSON'; then
	ok "malformed JSON is reported as invalid JSON with a position"
else
	bad "malformed JSON: exit $rc, stderr: $(first_err)"
fi

# ---------------------------------------------------------------- standard input

cp valid/syntax_strings.pbtxt "$TMP/in"
run config print -
if [ $rc -eq 0 ] && cmp -s valid/syntax_strings.canonical.pbtxt "$TMP/out"; then
	ok "config print - reads config.pbtxt from standard input"
else
	bad "config print - of pbtxt: exit $rc, stderr: $(first_err)"
fi
cp invalid/sem_max_batch_size_negative.pbtxt "$TMP/in"
run config check -
if [ $rc -eq 2 ] && [ "$(first_err)" = "$(sed 's|^invalid/sem_max_batch_size_negative.pbtxt|<stdin>|' invalid/sem_max_batch_size_negative.err)" ]; then
	ok "errors in standard input are reported as <stdin>:line:col"
else
	bad "config check - of an invalid config: exit $rc, stderr: $(first_err)"
fi
: >"$TMP/in"
run config print -
if [ $rc -eq 0 ] && [ ! -s "$TMP/out" ]; then
	ok "empty standard input is an empty (valid) config"
else
	bad "empty standard input: exit $rc, stderr: $(first_err)"
fi

# ---------------------------------------------------------------- usage errors

run config print valid/simple.pbtxt valid/densenet_onnx.pbtxt
if [ $rc -eq 2 ] && [ ! -s "$TMP/out" ] && [ -s "$TMP/err" ]; then
	ok "config print of two files exits 2"
else
	bad "config print of two files: exit $rc"
fi
run config print --yaml valid/simple.pbtxt
if [ $rc -eq 2 ] && grep -q -- "--yaml" "$TMP/err"; then
	ok "config print with an unknown option exits 2 naming it"
else
	bad "config print --yaml: exit $rc, stderr: $(first_err)"
fi
for action in check print; do
	run config "$action"
	if [ $rc -eq 2 ] && grep -q "no FILE" "$TMP/err"; then
		ok "config $action without a file exits 2"
	else
		bad "config $action without a file: exit $rc, stderr: $(first_err)"
	fi
done
run config print --json valid/simple.pbtxt
cp "$TMP/out" "$TMP/json1"
run config print valid/simple.pbtxt --json
if [ $rc -eq 0 ] && cmp -s "$TMP/json1" "$TMP/out"; then
	ok "--json may come before or after the file"
else
	bad "config print FILE --json differs from config print --json FILE"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
