#!/bin/sh
# run-tests.sh - run each test program with a time limit and add up the CUnit results.
#
# Every program prints CUnit's run summary; this script prints one closing line over all
# of them ("tests: N passed, N failed").  A program that exits non-zero without a
# failed test in its summary (a crash, a sanitizer report at exit, a time-out) counts
# as one more failure.  PV_TEST_TIMEOUT (seconds, default 300) bounds each program.
set -u

timeout_s=${PV_TEST_TIMEOUT:-300}
passed=0
failed=0
bad_progs=""
log=$(mktemp)
trap 'rm -f "$log" "$log.rc"' EXIT

for t in "$@"; do
	echo "==== $t"
	{ timeout --kill-after=10 "$timeout_s" "$t" 2>&1; echo $? >"$log.rc"; } | tee "$log"
	rc=$(cat "$log.rc")
	# 77: the program could not run here and said why (automake's convention)
	if [ "$rc" -eq 77 ]; then
		echo "---- $t skipped"
		continue
	fi
	# CUnit's summary row: "tests  <total> <ran> <passed> <failed> <inactive>"
	counts=$(awk '$1 == "tests" && NF >= 5 { ok = $4; ko = $5 } END { print ok + 0, ko + 0 }' "$log")
	ok=${counts% *}
	ko=${counts#* }
	passed=$((passed + ok))
	failed=$((failed + ko))
	if [ "$rc" -ne 0 ] && [ "$ko" -eq 0 ]; then
		echo "!!!! $t exited with status $rc and no failed test in its summary"
		failed=$((failed + 1))
	fi
	if [ "$rc" -ne 0 ] || [ "$ko" -ne 0 ]; then
		bad_progs="$bad_progs $t"
	fi
done

echo
[ -z "$bad_progs" ] || echo "failing:$bad_progs"
echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
