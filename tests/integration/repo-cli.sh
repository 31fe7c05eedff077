#!/usr/bin/env bash
# Integration test of `infertune repo list` on the model repositories in
# tests/data/repos (main, second, all_good). Run as
#   repo-cli.sh /path/to/infertune /path/to/tests/data
# Prints one line per check and ends with "N passed, M failed"; exits 1 on
# any failure, 2 on bad usage.
#
# The repositories are copied to a temporary folder first, where a `.git`
# folder holding a config.pbtxt is added to "main" (git cannot track one).
set -u

if [ $# -ne 2 ]; then
	echo "usage: $0 /path/to/infertune /path/to/tests/data" >&2
	exit 2
fi
BIN=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
DATA=$(cd "$2" && pwd) || exit 2
[ -x "$BIN" ] || { echo "$0: $BIN is not an executable" >&2; exit 2; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/infertune-repo-cli.XXXXXX") || exit 2
trap 'rm -rf "$TMP"' EXIT
cp -R "$DATA/repos" "$TMP/repos" || exit 2
mkdir -p "$TMP/repos/main/.git/1" "$TMP/out.d"
printf 'name: ".git"\nplatform: "onnxruntime_onnx"\n' >"$TMP/repos/main/.git/config.pbtxt"
printf 'x\n' >"$TMP/repos/main/.git/1/model.onnx"
cd "$TMP/repos" || exit 2

passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok   $1"; }
bad() { failed=$((failed + 1)); echo "FAIL $1"; }

run() {
	timeout 20 "$BIN" "$@" </dev/null >"$TMP/out" 2>"$TMP/err"
	rc=$?
}
first_err() { sed -n 1p "$TMP/err"; }

# line MODEL: the listing lines of MODEL (first column), header excluded.
line() { awk -v m="$1" 'NR > 1 && $1 == m' "$TMP/out"; }

# expect_loaded MODEL PLATFORM VERSIONS BATCH INSTANCES BATCHING
# The columns of a model that loads; INSTANCES and BATCHING are compared with
# runs of blanks squeezed to one.
expect_loaded() {
	local m=$1 platform=$2 versions=$3 batch=$4 groups=$5 batching=$6
	local l got want
	l=$(line "$m")
	got=$(printf '%s\n' "$l" | awk '{ printf "%s|%s|%s|%s|", $1, $2, $3, $4; for (i = 5; i <= NF; i++) printf "%s%s", $i, (i < NF ? " " : ""); print "" }')
	want="$m|$platform|$versions|$batch|$groups $batching"
	if [ "$(printf '%s\n' "$l" | wc -l)" -eq 1 ] && [ "$got" = "$want" ]; then
		ok "$m: $platform, versions $versions, batch $batch, $groups, $batching"
	else
		bad "$m: expected '$want', got '$got'"
	fi
}

# expect_error MODEL TEXT: one line for MODEL, an ERROR containing TEXT.
expect_error() {
	local m=$1 text=$2 l
	l=$(line "$m")
	if [ "$(printf '%s\n' "$l" | wc -l)" -eq 1 ] && [ "$(printf '%s\n' "$l" | awk '{ print $2 }')" = ERROR ] &&
		printf '%s\n' "$l" | grep -qF -- "$text"; then
		ok "$m: ERROR $text"
	else
		bad "$m: expected an ERROR containing '$text', got '$l'"
	fi
}

# ---------------------------------------------------------------- main + second

run repo list main second
if [ $rc -eq 1 ]; then
	ok "repo list exits 1 when some models cannot load"
else
	bad "repo list main second exits $rc, expected 1 (stderr: $(first_err))"
fi
if [ "$(sed -n 1p "$TMP/out" | awk '{ print $1, $2, $3, $4, $5, $6 }')" = "MODEL PLATFORM/BACKEND VERSIONS BATCH INSTANCES DYNAMIC_BATCHING" ]; then
	ok "the listing starts with its header"
else
	bad "header line: '$(sed -n 1p "$TMP/out")'"
fi
if [ ! -s "$TMP/err" ]; then
	ok "model errors go to stdout, in the listing, not to stderr"
else
	bad "repo list wrote to stderr: $(first_err)"
fi

expect_loaded good_latest onnxruntime_onnx 3 8 "2xKIND_GPU[gpus 0,1]" "on preferred=4,8 delay=100us"
expect_loaded all_versions pytorch_libtorch 1,2,5 4 3xKIND_CPU off
expect_loaded specific_versions tensorrt_plan 1,3 16 default off
expect_loaded latest_two onnxruntime 2,10 0 default off
expect_loaded odd_version_dirs python 2 0 1xKIND_CPU off
expect_loaded unnamed onnxruntime_onnx 4 2 default off
expect_loaded only_in_second python 1 0 default off
expect_loaded stateful onnxruntime 1 4 default "sequence (infertune cannot serve sequence_batching yet)"

expect_error no_config "main/no_config/config.pbtxt: model 'no_config' has no config.pbtxt"
expect_error syntax_error "main/syntax_error/config.pbtxt:5:1: expected ',' or ']' in list 'input' opened at 4:7, found identifier 'output'"
expect_error semantic_error "main/semantic_error/config.pbtxt:6:1: dynamic_batching needs max_batch_size > 0 (found 0)"
expect_error name_mismatch "main/name_mismatch/config.pbtxt:1:7: model name 'some_other_name' in config.pbtxt does not match its folder 'name_mismatch'"
expect_error no_versions "main/no_versions: model 'no_versions' has no version folder"
expect_error no_versions "found 0 version folder(s)"
expect_error specific_missing "main/specific_missing: model 'specific_missing' has no version folder that its version policy (specific"
expect_error no_backend "model 'no_backend' must specify 'backend' or 'platform'"

dups=$(line dup_model)
if [ "$(printf '%s\n' "$dups" | grep -c 'ERROR')" -eq 2 ] &&
	printf '%s\n' "$dups" | grep -qF "ERROR main/dup_model: model 'dup_model' exists in more than one model repository" &&
	printf '%s\n' "$dups" | grep -qF "ERROR second/dup_model: model 'dup_model' exists in more than one model repository"; then
	ok "a model in two repositories is reported twice, as a duplicate, with both paths"
else
	bad "dup_model lines: $(printf '%s' "$dups" | tr '\n' '|')"
fi

for hidden in .git .ipynb_checkpoints README.md; do
	if grep -qF -- "$hidden" "$TMP/out"; then
		bad "$hidden appears in the listing"
	else
		ok "$hidden is not a model"
	fi
done

n=$(awk 'NR > 1' "$TMP/out" | wc -l)
if [ "$n" -eq 17 ]; then
	ok "17 model lines (15 folders in main, 2 in second)"
else
	bad "$n model lines, expected 17"
fi
awk 'NR > 1 { print $1 }' "$TMP/out" >"$TMP/names"
if LC_ALL=C sort -c "$TMP/names" 2>/dev/null; then
	ok "models are listed in name order"
else
	bad "models are not in name order: $(tr '\n' ' ' <"$TMP/names")"
fi

# The same model loads when its repository is listed alone.
run repo list main
if [ $rc -eq 1 ] && [ "$(line dup_model | awk '{ print $2, $3 }')" = "onnxruntime_onnx 1" ]; then
	ok "dup_model loads when only one repository holds it"
else
	bad "repo list main: exit $rc, dup_model: '$(line dup_model)'"
fi

# ---------------------------------------------------------------- all loadable

run repo list all_good
if [ $rc -eq 0 ] && [ ! -s "$TMP/err" ]; then
	ok "repo list exits 0 when every model loads"
else
	bad "repo list all_good exits $rc, expected 0 (stderr: $(first_err))"
fi
expect_loaded densenet_onnx onnxruntime_onnx 1 0 default off
expect_loaded simple tensorflow_graphdef 2 8 default off
expect_loaded resnet50_config_0 pytorch_libtorch 1 8 2xKIND_CPU "on delay=100us"
if ! grep -q ERROR "$TMP/out" && [ "$(awk 'NR > 1' "$TMP/out" | wc -l)" -eq 3 ]; then
	ok "all_good lists 3 models and no error"
else
	bad "all_good listing: $(tr '\n' '|' <"$TMP/out")"
fi

# A model that breaks later makes the same repository fail.
cp -R all_good "$TMP/broken"
printf 'max_batch_size: -4\n' >>"$TMP/broken/simple/config.pbtxt"
run repo list "$TMP/broken"
if [ $rc -eq 1 ] && line simple | grep -qF "ERROR $TMP/broken/simple/config.pbtxt:"; then
	ok "one bad config turns the exit status to 1 and names its file"
else
	bad "broken repository: exit $rc, simple: '$(line simple)'"
fi

# ---------------------------------------------------------------- unreadable repositories

run repo list no_such_repository
if [ $rc -eq 2 ] && first_err | grep -q '^no_such_repository: .*No such file or directory'; then
	ok "a missing repository exits 2 naming it"
else
	bad "missing repository: exit $rc, stderr: $(first_err)"
fi
run repo list all_good no_such_repository
if [ $rc -eq 2 ] && grep -q 'no_such_repository' "$TMP/err"; then
	ok "a missing repository among good ones still exits 2"
else
	bad "good + missing repository: exit $rc, stderr: $(first_err)"
fi
run repo list main/README.md
if [ $rc -eq 2 ] && grep -q 'README.md' "$TMP/err"; then
	ok "a file given as a repository exits 2 naming it"
else
	bad "file as repository: exit $rc, stderr: $(first_err)"
fi
mkdir "$TMP/empty"
run repo list "$TMP/empty"
if [ $rc -eq 0 ] && [ "$(wc -l <"$TMP/out")" -eq 1 ]; then
	ok "an empty repository lists no models and exits 0"
else
	bad "empty repository: exit $rc, $(wc -l <"$TMP/out") lines"
fi
run repo list
if [ $rc -eq 2 ] && grep -q 'no DIR' "$TMP/err"; then
	ok "repo list without a directory exits 2"
else
	bad "repo list without a directory: exit $rc, stderr: $(first_err)"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
