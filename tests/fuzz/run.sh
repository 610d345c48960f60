#!/bin/sh
# run.sh - run pvio's libFuzzer targets one after the other.
#
#   tests/fuzz/run.sh <seconds> <fuzz build dir> <name>...
#
# Each fuzzer starts from its committed corpus, tests/fuzz/corpus/<name>/ (seeds and the
# inputs of crashes found and fixed, which are thus replayed every time), and writes what it
# discovers to a scratch corpus that is thrown away.  seconds = 0 only replays the committed
# corpus.  A crash, leak, time-out (-timeout, 10 s per input) or sanitizer report fails the
# run; the input that did it is kept in $PVIO_FUZZ_ARTIFACTS (default: a fresh /tmp dir) and
# the log's tail is printed.  Prints one line per fuzzer: runs, coverage, features, corpus.
set -u

[ $# -ge 3 ] || { echo "usage: $0 <seconds> <fuzz build dir> <name>..." >&2; exit 2; }
secs=$1
dir=$2
shift 2
here=$(dirname "$0")
art=${PVIO_FUZZ_ARTIFACTS:-$(mktemp -d /tmp/pvio-fuzz-XXXXXX)}
mkdir -p "$art"
failed=""

for name in "$@"; do
	bin=$dir/bin/fuzz-$name
	seeds=$here/corpus/$name
	log=$art/$name.log
	[ -x "$bin" ] || { echo "fuzz: $bin is missing" >&2; exit 1; }
	[ -d "$seeds" ] || { echo "fuzz: $seeds is missing" >&2; exit 1; }
	if [ "$secs" -gt 0 ]; then
		work=$art/$name.corpus
		mkdir -p "$work"
		echo "  FUZZ    $name for ${secs}s"
		# PVIO_FUZZ_SEED (make check sets it): the same inputs in the same order on every
		# machine, so a CI failure can be replayed here by running longer with that seed.
		"$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
			${PVIO_FUZZ_SEED:+-seed="$PVIO_FUZZ_SEED"} \
			-artifact_prefix="$art/$name-" "$work" "$seeds" >"$log" 2>&1
	else
		echo "  FUZZ    $name: replaying $seeds"
		"$bin" -timeout=10 -rss_limit_mb=2048 -runs=0 -print_final_stats=1 \
			-artifact_prefix="$art/$name-" "$seeds" >"$log" 2>&1
	fi
	rc=$?
	# libFuzzer's final stats: stat::number_of_executed_units, and the last status line.
	runs=$(awk '/stat::number_of_executed_units/ { print $2 }' "$log")
	cov=$(grep -E '^#[0-9]+' "$log" | tail -n 1 | grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+' || true)
	echo "          runs ${runs:-?}, ${cov:-no coverage line}"
	if [ "$rc" -ne 0 ]; then
		echo "!!!! fuzz-$name failed (exit $rc); input and log in $art" >&2
		tail -n 40 "$log" >&2
		# The input, for a machine whose /tmp does not outlive the run (the fresh check's
		# chroot): base64 -d it into a file and give it to the fuzzer.
		for f in "$art/$name"-crash-* "$art/$name"-timeout-* "$art/$name"-leak-*; do
			[ -f "$f" ] || continue
			echo "---- $f (base64)" >&2
			base64 -w 100 "$f" >&2
		done
		failed="$failed $name"
	fi
done

if [ -n "$failed" ]; then
	echo "fuzz: failing:$failed" >&2
	exit 1
fi
[ -n "${PVIO_FUZZ_ARTIFACTS:-}" ] || rm -rf "$art"
