#!/bin/sh
# smoke.sh - pvio-bench still runs end to end (make check): a null disk and a small file
# disk, one second each, own pvio-simd and pvio-backd.  It asserts that I/Os were counted,
# that the JSON parses and the CSV has its row, never how fast anything was.
#
#   tests/bench/smoke.sh [BIN_DIR]
set -eu

B=${1:-build/bin}
T=$(mktemp -d /tmp/pvio-bench-smoke-XXXXXX)
trap 'rm -rf "$T"' EXIT INT TERM
fail() { echo "bench smoke: $*" >&2; exit 1; }

# Null disk, reads at QD1 (where the eventfd ratio applies), JSON: the numbers are there.
"$B/pvio-bench" --runtime 1 --ramp 0.2 --iodepth 1 --baselines eventfd --json --quiet \
	>"$T/null.json" 2>"$T/err" || { cat "$T/err" >&2; fail "null run failed"; }
jq -e '.jobs | length == 1' "$T/null.json" >/dev/null || fail "null: not one job in the JSON"
jq -e '.jobs[0].pvio.ios > 0 and .jobs[0].pvio.iops > 0' "$T/null.json" >/dev/null ||
	fail "null: no I/O counted"
jq -e '.jobs[0].pvio.lat_ns.percentile["50.000000"] > 0 and
       .jobs[0].pvio.lat_ns.max >= .jobs[0].pvio.lat_ns.percentile["99.000000"]' \
	"$T/null.json" >/dev/null || fail "null: latency percentiles out of order"
jq -e '.jobs[0].per_io.front_kicks > 0 and .jobs[0].per_io.back_wakeups > 0 and
       .jobs[0].negotiated.queues == 1 and
       .baselines.eventfd_rtt.ios > 0 and (.jobs[0].ratios.p50_vs_eventfd_rtt | type) == "number"' \
	"$T/null.json" >/dev/null || fail "null: counters, negotiation or eventfd ratio missing"

# A file disk with writes, two queues, CSV: the writes reach the file.
head -c 4194304 /dev/zero >"$T/disk.img"
"$B/pvio-bench" --disk "$T/disk.img" --rw randrw --bs 8k --iodepth 2 --queues 2 --runtime 1 \
	--ramp 0 --baselines io_uring --csv --quiet >"$T/file.csv" 2>"$T/err" ||
	{ cat "$T/err" >&2; fail "file run failed"; }
[ "$(wc -l <"$T/file.csv")" -eq 2 ] || fail "file: CSV is not a header and one row"
awk -F, 'NR == 2 && $1 == "file" && $2 == "randrw" && $11 > 0 && $24 > 0 { ok = 1 }
	 END { exit !ok }' "$T/file.csv" || fail "file: no IOPS for pvio or io_uring in the CSV"
# pvio-bench fills its write buffers with 0xa5: some reached the file through pvio-backd.
[ "$(tr -d '\000' <"$T/disk.img" | head -c 1 | od -An -tx1 | tr -d ' ')" = a5 ] ||
	fail "file: no write reached the disk image"

# Page cache and O_DIRECT in one run: two rows, the second attached direct-io-safe (served
# with O_DIRECT, or through the page cache where this file system refuses it), with the
# back end's wake-ups counted.
"$B/pvio-bench" --disk "$T/disk.img" --iodepth 4 --direct 0,1 --runtime 1 --ramp 0 \
	--baselines io_uring --csv --quiet >"$T/direct.csv" 2>"$T/err" ||
	{ cat "$T/err" >&2; fail "direct run failed"; }
[ "$(wc -l <"$T/direct.csv")" -eq 3 ] || fail "direct: CSV is not a header and two rows"
awk -F, 'NR == 1 && $31 == "back_wakeups_per_io" && $32 == "cache" { h = 1 }
	 NR == 2 && $32 == "page" && $11 > 0 && $24 > 0 && $31 > 0 { a = 1 }
	 NR == 3 && ($32 == "direct" || $32 == "page-fallback") && $11 > 0 && $24 > 0 { b = 1 }
	 END { exit !(h && a && b) }' "$T/direct.csv" ||
	fail "direct: rows, cache column, wake-ups or IOPS not as expected"

# Two guests at QD1 on two back-end threads: each notification wakes the sleeping thread
# of its disk, so wake-ups match notifications when both threads are counted (one
# thread's counter alone gives about half).
"$B/pvio-bench" --numjobs 2 --backend-threads 2 --runtime 1 --ramp 0.2 --iodepth 1 \
	--baselines none --json --quiet >"$T/jobs2.json" 2>"$T/err" ||
	{ cat "$T/err" >&2; fail "two-job run failed"; }
jq -e '.jobs[0].pvio.ios > 0 and .jobs[0].per_io.back_notifications_in > 0 and
       .jobs[0].per_io.back_wakeups > 0.75 * .jobs[0].per_io.back_notifications_in' \
	"$T/jobs2.json" >/dev/null || fail "two jobs: the wake-ups of both threads not counted"

# Both polling modes run, on both ends (pvio-backd restarted with --poll-us between lines).
"$B/pvio-bench" --notify hybrid,poll --runtime 1 --ramp 0.2 --iodepth 1 --baselines none --json \
	--quiet >"$T/poll.json" 2>"$T/err" || { cat "$T/err" >&2; fail "poll run failed"; }
jq -e '.jobs | length == 2' "$T/poll.json" >/dev/null || fail "poll: not two lines in the JSON"
jq -e '([.jobs[] | .pvio.ios > 0 and .backend_poll_us > 0] | all) and
       .jobs[0].notify == "hybrid" and .jobs[1].notify == "poll"' "$T/poll.json" >/dev/null ||
	fail "poll: no I/O counted, or the modes or pvio-backd --poll-us not as asked"
# --placement: split pins dom0's side (pvio-backd here) to the second allowed CPU and says
# so; same and split are refused where pvio-bench does not start the daemons.
if [ "$(nproc)" -ge 2 ]; then
	"$B/pvio-bench" --placement split --runtime 2 --ramp 0 --iodepth 1 --baselines eventfd \
		--json --quiet >"$T/split.json" 2>"$T/err" &
	bp=$!
	cpus=""
	# pvio-bench's child pvio-backd, from /proc (no procps on a minimal Debian)
	for _ in $(seq 50); do
		for p in /proc/[0-9]*; do
			[ "$(cat "$p/comm" 2>/dev/null)" = pvio-backd ] &&
				[ "$(awk '{ print $4 }' "$p/stat" 2>/dev/null)" = "$bp" ] &&
				cpus=$(awk '/^Cpus_allowed_list/ { print $2 }' "$p/status") && break
		done
		[ -n "$cpus" ] && break
		sleep 0.1
	done
	wait "$bp" || { cat "$T/err" >&2; fail "placement split run failed"; }
	second=$(taskset -cp $$ | sed 's/.*: //' | tr ',' '\n' | while IFS=- read -r lo hi; do
		seq "$lo" "${hi:-$lo}"; done | sed -n 2p)
	[ "$cpus" = "$second" ] || fail "placement split: pvio-backd on CPUs '$cpus', not $second"
	jq -e '.placement == "split" and .jobs[0].pvio.ios > 0 and .baselines.eventfd_rtt.ios > 0' \
		"$T/split.json" >/dev/null || fail "placement split: JSON without placement or I/O"
	# --queue-threads with spread: a front-end thread per queue and each queue's pvio-backd
	# thread, queue i's on the i-th CPU: both CPUs hold one of each while it runs.
	"$B/pvio-bench" --placement spread --queue-threads --queues 2 --iodepth 8 --runtime 2 \
		--ramp 0 --baselines none --json --quiet >"$T/spread.json" 2>"$T/err" &
	bp=$!
	first=$(taskset -cp $$ | sed 's/.*: //' | tr ',' '\n' | while IFS=- read -r lo hi; do
		seq "$lo" "${hi:-$lo}"; done | sed -n 1p)
	front="" back=""
	for _ in $(seq 100); do
		front="" back=""
		for p in /proc/[0-9]*; do
			comm=$(cat "$p/comm" 2>/dev/null) || continue
			case "$comm" in
			pvio-backd) ;;
			pvio-bench) [ "$(awk '{ print $4 }' "$p/stat" 2>/dev/null)" = "$bp" ] || continue ;;
			*) continue ;;
			esac
			for t in "$p"/task/*; do
				c=$(awk '/^Cpus_allowed_list/ { print $2 }' "$t/status" 2>/dev/null)
				n=$(cat "$t/comm" 2>/dev/null)
				case "$n" in
				pvio-backd/*) back="$back $c" ;;
				pvio-bench) front="$front $c" ;;
				esac
			done
		done
		case "$front" in *" $first"*) case "$front" in *" $second"*)
			case "$back" in *" $first"*) case "$back" in *" $second"*) break ;; esac ;; esac
		;; esac ;; esac
		sleep 0.05
	done
	wait "$bp" || { cat "$T/err" >&2; fail "placement spread run failed"; }
	for cpu in "$first" "$second"; do
		case "$front" in *" $cpu"*) ;; *) fail "spread: no front-end thread on CPU $cpu ($front)" ;; esac
		case "$back" in *" $cpu"*) ;; *) fail "spread: no pvio-backd thread on CPU $cpu ($back)" ;; esac
	done
	jq -e '.placement == "spread" and .queue_threads and .jobs[0].pvio.ios > 0 and
	       .jobs[0].negotiated.queues == 2' "$T/spread.json" >/dev/null ||
		fail "placement spread: JSON without placement, queue threads, two queues or I/O"
	# ... and with no worker threads (pvio-backd's main thread serves both queues)
	"$B/pvio-bench" --placement spread --queue-threads --queues 2 --backend-threads 0 \
		--iodepth 4 --runtime 1 --ramp 0 --baselines none --json --quiet >"$T/spread0.json" \
		2>"$T/err" || { cat "$T/err" >&2; fail "placement spread, --backend-threads 0 failed"; }
	jq -e '.jobs[0].pvio.ios > 0' "$T/spread0.json" >/dev/null ||
		fail "placement spread, --backend-threads 0: no I/O"
fi
for bad in "--placement both" "--placement same --rundir /tmp"; do
	# shellcheck disable=SC2086
	if "$B/pvio-bench" $bad --runtime 1 >"$T/out" 2>"$T/err"; then
		fail "$bad: accepted"
	fi
	grep -q -- "--placement" "$T/err" || fail "$bad: no reason given"
done
# --platform xen: what belongs to dom0 is refused up front; without a hypervisor (this host)
# the job fails with the platform's reason, and nothing is started or left behind.
for bad in "" "--vdev xvdb --numjobs 2" "--vdev xvdb --disk /tmp/x" "--vdev xvdb --rundir /tmp" \
	   "--vdev xvdb --baselines io_uring" "--vdev xvdb --grant-copy"; do
	# shellcheck disable=SC2086
	if "$B/pvio-bench" --platform xen $bad --runtime 1 >"$T/out" 2>"$T/err"; then
		fail "--platform xen $bad: accepted"
	fi
	grep -q -- "--platform xen" "$T/err" || fail "--platform xen $bad: no reason given"
done
if [ ! -e /dev/xen/evtchn ]; then
	if timeout 30 "$B/pvio-bench" --platform xen --vdev xvdb --runtime 1 --ramp 0 \
		--baselines none --quiet >"$T/out" 2>"$T/err"; then
		fail "--platform xen without Xen: succeeded"
	fi
	grep -q "platform xen" "$T/err" || fail "--platform xen without Xen: $(cat "$T/err")"
fi
echo "bench smoke: ok"
