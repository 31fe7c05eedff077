#!/usr/bin/env bash
# Integration test of infertune's command-line front end: help, unknown
# commands, the commands that are not built yet, and `version`. Run as
#   cli.sh /path/to/infertune /path/to/tests/data
# Prints one line per check and ends with "N passed, M failed"; exits 1 on
# any failure, 2 on bad usage.
set -u

if [ $# -ne 2 ]; then
	echo "usage: $0 /path/to/infertune /path/to/tests/data" >&2
	exit 2
fi
BIN=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
DATA=$(cd "$2" && pwd) || exit 2
ROOT=$(cd "$DATA/../.." && pwd)
[ -x "$BIN" ] || { echo "$0: $BIN is not an executable" >&2; exit 2; }

# Commands that exist in the table but are not built yet. When one is built,
# take it out of this list (and give it its own integration test).
UNBUILT=""
# Every command `infertune --help` must list.
COMMANDS="serve profile analyze report predict config repo version"
# Built commands whose --help must succeed.
BUILT="config repo version serve profile analyze report predict"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/infertune-cli.XXXXXX") || exit 2
trap 'rm -rf "$TMP"' EXIT

passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok   $1"; }
bad() { failed=$((failed + 1)); echo "FAIL $1"; }

# run ARGS...: runs infertune (10 s at most) with stdin closed; sets $rc and
# fills $TMP/out and $TMP/err.
run() {
	timeout 10 "$BIN" "$@" </dev/null >"$TMP/out" 2>"$TMP/err"
	rc=$?
}
first_err() { sed -n 1p "$TMP/err"; }

# ---------------------------------------------------------------- top-level help

for h in --help -h help; do
	run "$h"
	if [ $rc -eq 0 ] && grep -q '^usage: infertune <command>' "$TMP/out" && [ ! -s "$TMP/err" ]; then
		ok "infertune $h exits 0 and prints usage on stdout"
	else
		bad "infertune $h: exit $rc, stdout: $(sed -n 1p "$TMP/out"), stderr: $(first_err)"
	fi
done

run --help
for c in $COMMANDS; do
	if grep -Eq "^  $c +[a-z]" "$TMP/out"; then
		ok "infertune --help lists '$c' with a summary"
	else
		bad "infertune --help does not list '$c'"
	fi
done

run
if [ $rc -eq 2 ] && grep -q '^usage: infertune <command>' "$TMP/err" && [ ! -s "$TMP/out" ]; then
	ok "infertune without a command exits 2 with usage on stderr"
else
	bad "infertune without a command: exit $rc (expected 2 and usage on stderr)"
fi

# ---------------------------------------------------------------- per-command help

for c in $COMMANDS; do
	helps="--help -h"
	case " $UNBUILT " in
	*" $c "*) helps=--help ;;
	esac
	for h in $helps; do
		run "$c" "$h"
		if [ $rc -eq 0 ] && grep -q "^usage: infertune $c" "$TMP/out"; then
			ok "infertune $c $h exits 0 and prints its usage"
		else
			bad "infertune $c $h: exit $rc (expected 0), stdout: $(sed -n 1p "$TMP/out")"
		fi
	done
	run help "$c"
	if grep -q "^usage: infertune $c" "$TMP/out"; then
		ok "infertune help $c prints the usage of $c"
	else
		bad "infertune help $c: stdout: $(sed -n 1p "$TMP/out")"
	fi
done

for c in $BUILT; do
	run "$c" --help
	if [ -s "$TMP/err" ]; then
		bad "infertune $c --help writes to stderr: $(first_err)"
	else
		ok "infertune $c --help writes nothing to stderr"
	fi
done

# `infertune config` / `infertune repo` without an action: usage on stderr, 2.
for c in config repo; do
	run "$c"
	if [ $rc -eq 2 ] && grep -q "^usage: infertune $c" "$TMP/err"; then
		ok "infertune $c without an action exits 2 with usage on stderr"
	else
		bad "infertune $c without an action: exit $rc, stderr: $(first_err)"
	fi
	run "$c" frobnicate
	if [ $rc -eq 2 ] && grep -q "frobnicate" "$TMP/err"; then
		ok "infertune $c frobnicate exits 2 naming the unknown action"
	else
		bad "infertune $c frobnicate: exit $rc, stderr: $(first_err)"
	fi
done

# ---------------------------------------------------------------- unknown commands

for c in frobnicate serve-now Config --frobnicate; do
	run "$c"
	if [ $rc -eq 2 ] && grep -qF "'$c'" "$TMP/err" && [ ! -s "$TMP/out" ]; then
		ok "infertune $c exits 2 with a message naming '$c'"
	else
		bad "infertune $c: exit $rc, stderr: $(first_err)"
	fi
done

# ---------------------------------------------------------------- not built yet

for c in $UNBUILT; do
	# A repository that does not exist: should the command be built one day,
	# it fails at once instead of starting to serve on a default port.
	# (No run without arguments: a built command might serve on a default port.)
	for args in "--model-repository $TMP/no-such-repository" "--bogus-option"; do
		# shellcheck disable=SC2086
		run "$c" $args
		if [ $rc -eq 2 ] && grep -q "not built yet" "$TMP/err" && grep -q "infertune $c" "$TMP/err"; then
			ok "infertune $c $args exits 2 saying it is not built yet"
		else
			bad "infertune $c $args: exit $rc, stderr: $(first_err) (if '$c' is built now, take it out of UNBUILT)"
		fi
	done
	run "$c" --help
	if grep -q "not built yet" "$TMP/out"; then
		ok "infertune $c --help says it is not built yet"
	else
		bad "infertune $c --help does not say it is not built yet"
	fi
done

# ---------------------------------------------------------------- version

want=$(sed -n 's/^project(infertune VERSION \([0-9][0-9.]*\).*/\1/p' "$ROOT/CMakeLists.txt")
if [ -z "$want" ]; then
	bad "cannot read the project version from $ROOT/CMakeLists.txt"
fi
for v in version --version; do
	run "$v"
	line=$(sed -n 1p "$TMP/out")
	if [ $rc -eq 0 ] && [ -n "$want" ] && [ "$line" = "infertune $want" ]; then
		ok "infertune $v prints 'infertune $want' first"
	else
		bad "infertune $v: exit $rc, first line '$line' (expected 'infertune $want')"
	fi
done
run version
if grep -Eq '^jansson [0-9]+\.[0-9]+' "$TMP/out"; then
	ok "infertune version names the jansson version"
else
	bad "infertune version does not name the jansson version"
fi
run version extra
if [ $rc -eq 2 ] && grep -q "extra" "$TMP/err"; then
	ok "infertune version extra exits 2 naming the argument"
else
	bad "infertune version extra: exit $rc, stderr: $(first_err)"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
