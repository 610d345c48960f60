#!/bin/bash
# net-bench.sh - pvio's guest-to-guest net path against a veth pair, in the same run (issue 10;
# what `make bench-net` runs).  docs/benchmarking.md shows a result and how to read it.
#
# pvio: two sim guests, each with pvio-tap's eth0 (netfront) in a network namespace of its
# own, both vifs on bridge br0 in a host namespace where pvio-backd (netback) runs: the path
# of `make demo`'s network part (scripts/netenv.sh).  veth: two namespaces joined by a veth
# pair, the kernel's own shortest path between namespaces.  Guest 1 (namespace 1) is the
# client, guest 2 the server, on both.  For each:
#
#   tcp      iperf3 TCP, 5 s, offloads as they come (TSO/GSO on)
#   tcp1500  the same with `ethtool -K eth0 tso off gso off` at both ends (1500-byte frames)
#   udp64    iperf3 UDP, 64-byte payloads, unlimited rate, 5 s: packets the server received/s
#   rtt      ping -i 0.01 -c 500: p50 and p99 of the per-packet round-trip times
#
# Rounds alternate the order (pvio first, then veth first, ...) and the medians over the
# rounds are printed with the ratio pvio/veth.  Nothing of the machine's own network is touched
# and nothing is left behind.  Exit 77 (skipped, with the reason) where the machine cannot
# run guests in namespaces.
#
#   bench/net-bench.sh [BIN_DIR]      (default build/bin)
#   PVIO_BENCH_ROUNDS=N               rounds (default 3)
#   PVIO_BENCH_PROFILE=FILE           also perf record -a -g during an extra tcp1500 run of
#                                     pvio and write perf report's summary to FILE
set -euo pipefail

B=$(cd "${1:-build/bin}" && pwd)
ROUNDS=${PVIO_BENCH_ROUNDS:-3}
R=$(mktemp -d /tmp/pvio-netbench-XXXXXX)
# shellcheck source=scripts/netenv.sh
. "$(dirname "$0")/../scripts/netenv.sh"
NE_B=$B NE_R=$R/sim NE_TAG=pvnb$$ NE_NET=10.77.0
VNET=10.78.0

cleanup() {
	set +e
	ne_down
	rm -rf "$R"
}
trap cleanup EXIT
die() { echo "net-bench: $*" >&2; exit 1; }

if ! WHY=$(ne_why_not); then
	echo "net-bench: SKIPPED: $WHY"
	exit 77
fi
for t in iperf3 ping ethtool jq; do
	command -v $t >/dev/null || die "needs $t (scripts/deps.sh bench)"
done

ne_host_up || die "pvio-simd, the host namespace or pvio-backd did not come up"
for g in 1 2; do ne_guest_up "$g" || die "guest $g's vif did not come up"; done
ne_veth_up "$VNET" || die "the veth pair"

# client namespace, server namespace, server address, per path
declare -A CNS=([pvio]=$(ne_gns 1) [veth]=$NE_TAG-v1)
declare -A SNS=([pvio]=$(ne_gns 2) [veth]=$NE_TAG-v2)
declare -A SIP=([pvio]=$NE_NET.2 [veth]=$VNET.2)

for p in pvio veth; do
	ip netns exec "${SNS[$p]}" iperf3 -s -D -p 5201 -I "$R/iperf-$p.pid" || die "iperf3 -s in ${SNS[$p]}"
done
sleep 0.5

# offloads on|off at both ends of path $1
offload() {
	ip netns exec "${CNS[$1]}" ethtool -K eth0 tso "$2" gso "$2" >/dev/null 2>&1 &&
		ip netns exec "${SNS[$1]}" ethtool -K eth0 tso "$2" gso "$2" >/dev/null 2>&1
}

# iperf3 client on path $1 with options $2...; its JSON on stdout.  One retry: a run that
# races the previous one's teardown on the server is refused with "the server is busy".
iperf() {
	local p=$1 out
	shift
	for _ in 1 2; do
		out=$(ip netns exec "${CNS[$p]}" iperf3 -c "${SIP[$p]}" -p 5201 -J "$@" 2>/dev/null) &&
			{ printf '%s\n' "$out"; return 0; }
		sleep 1
	done
	return 1
}

m_tcp() { # Gbit/s the server received
	offload "$1" on || return 1
	iperf "$1" -t 5 | jq -e '.end.sum_received.bits_per_second / 1e9 | . * 100 | round / 100'
}
m_tcp1500() {
	offload "$1" off || return 1
	local v
	v=$(iperf "$1" -t 5 | jq -e '.end.sum_received.bits_per_second / 1e9 | . * 100 | round / 100') || return 1
	offload "$1" on
	echo "$v"
}
m_udp64() { # thousands of packets per second the server received
	offload "$1" on || return 1
	iperf "$1" -u -l 64 -b 0 -t 5 |
		jq -e '.end.sum | (.packets - .lost_packets) / .seconds / 1000 | round'
}
m_rtt() { # "p50 p99" in microseconds
	ip netns exec "${CNS[$1]}" ping -i 0.01 -c 500 -W 2 "${SIP[$1]}" |
		sed -n 's/.* time=\([0-9.]*\) ms$/\1/p' | sort -n |
		awk '{ v[NR] = $1 } END { if (NR < 450) exit 1;
		       printf "%d %d\n", v[int(NR * 0.5 + 0.5)] * 1000, v[int(NR * 0.99 + 0.5)] * 1000 }'
}

METRICS="tcp tcp1500 udp64 rtt"
echo "net-bench: pvio (pvio-tap <-> netback <-> br0 <-> netback <-> pvio-tap) against veth, $ROUNDS rounds"
echo "           ($(nproc) CPUs; load average $(cut -d' ' -f1-3 /proc/loadavg))"
for r in $(seq "$ROUNDS"); do
	if [ $((r % 2)) = 1 ]; then order="pvio veth"; else order="veth pvio"; fi
	for p in $order; do
		line=""
		for m in $METRICS; do
			v=$("m_$m" "$p") || die "round $r, $p, $m failed"
			if [ "$m" = rtt ]; then
				echo "${v% *}" >>"$R/$p.rtt50"
				echo "${v#* }" >>"$R/$p.rtt99"
			else
				echo "$v" >>"$R/$p.$m"
			fi
			line="$line $m=$v"
		done
		printf '  round %d %-4s%s\n' "$r" "$p" "$line"
	done
done

if [ -n "${PVIO_BENCH_PROFILE:-}" ]; then
	command -v perf >/dev/null || die "PVIO_BENCH_PROFILE: no perf"
	offload pvio off
	ip netns exec "${CNS[pvio]}" iperf3 -c "${SIP[pvio]}" -p 5201 -t 6 >/dev/null &
	ipid=$!
	sleep 1
	perf record -q -a -g -o "$R/perf.data" -- sleep 4 >/dev/null 2>&1 || die "perf record"
	wait "$ipid" || true
	offload pvio on
	{
		echo "# perf record -a -g, 4 s of iperf3 TCP with tso/gso off, pvio path"
		echo "# by command:"
		perf report -i "$R/perf.data" --stdio --no-children --sort comm --percent-limit 1 2>/dev/null | grep -v '^$'
		echo "# by command and symbol (self time):"
		perf report -i "$R/perf.data" --stdio --no-children --sort comm,sym -g none --percent-limit 0.7 \
			2>/dev/null | grep -v '^$'
	} >"$PVIO_BENCH_PROFILE"
	echo "net-bench: profile in $PVIO_BENCH_PROFILE"
fi

median() { sort -n "$1" | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
row() { # label, metric file suffix
	local a b
	a=$(median "$R/pvio.$2") b=$(median "$R/veth.$2")
	printf '| %-34s | %9s | %9s | %9s |\n' "$1" "$a" "$b" \
		"$(awk -v a="$a" -v b="$b" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')"
}
echo ""
echo "medians of $ROUNDS rounds ($(date -u +%F), $(nproc) CPUs):"
printf '| %-34s | %9s | %9s | %9s |\n' metric pvio veth pvio/veth
echo "|------------------------------------|-----------|-----------|-----------|"
row "TCP, TSO/GSO on (Gbit/s)" tcp
row "TCP, 1500 B, TSO/GSO off (Gbit/s)" tcp1500
row "UDP 64 B received (kpps)" udp64
row "RTT p50 (us)" rtt50
row "RTT p99 (us)" rtt99
