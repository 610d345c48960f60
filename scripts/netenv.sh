#!/bin/bash
# netenv.sh - the guest network of the sim platform, for scripts/demo.sh and bench/net-bench.sh
# (sourced, not run).
#
# Everything lives in network namespaces made here, so the machine's own network is never
# touched: pvio-backd (dom0, netback) runs in a "host" namespace that holds bridge br0 with
# $NE_NET.254/24; each guest is a sim domain whose vif is attached with
# `pvio-ctl network-attach DOM bridge=br0,mac=...` and whose netfront is pvio-tap, run as a
# daemon in the guest's own namespace, where it makes eth0 ($NE_NET.<guest>/24).
# As tests/netpath does, with the toolstack's command instead of raw xenstore writes.
#
# The caller sets NE_B (the bin directory), NE_R (a fresh run directory), NE_TAG (a prefix
# unique to the run: namespaces are $NE_TAG-host, $NE_TAG-g1, ...) and NE_NET (a /24 such as
# 10.77.0), then calls ne_why_not, ne_host_up, ne_guest_up 1, ne_guest_up 2, ..., and
# ne_down at the end (also from its EXIT trap: ne_down is safe to call twice).
# ne_veth_up gives bench/net-bench.sh the baseline: two namespaces joined by a veth pair.

NE_SIMD_UP='' NE_BACKD_PID='' NE_NS=()
# shellcheck disable=SC2034 # read by the callers
declare -A NE_DOM=()

ne_ctl() { "$NE_B/pvio-ctl" --platform "sim:$NE_R:0" "$@"; }
ne_host() { printf '%s-host' "$NE_TAG"; }
ne_gns() { printf '%s-g%s' "$NE_TAG" "$1"; }

# Prints why this machine cannot run guests in network namespaces and returns 1; returns 0
# when it can.  Missing tools are not a reason: scripts/deps.sh installs them.
ne_why_not() {
	local probe="$NE_TAG-probe"

	if [ "$(id -u)" -ne 0 ]; then
		echo "needs root (network namespaces, TAP devices)"
		return 1
	fi
	if ! [ -c /dev/net/tun ] || ! (: <>/dev/net/tun) 2>/dev/null; then
		echo "needs /dev/net/tun"
		return 1
	fi
	if ! command -v ip >/dev/null; then
		echo "needs ip (iproute2; scripts/deps.sh installs it)"
		return 1
	fi
	if ! ip netns add "$probe" 2>/dev/null; then
		echo "ip netns add fails here (no network namespaces for this user or container)"
		return 1
	fi
	if ! ip netns exec "$probe" ip link set lo up 2>/dev/null; then
		ip netns del "$probe" 2>/dev/null
		echo "ip netns exec fails here (cannot enter a network namespace)"
		return 1
	fi
	ip netns del "$probe"
	return 0
}

# Makes a namespace and remembers it for ne_down.
ne_ns_add() {
	ip netns add "$1" || return 1
	NE_NS+=("$1")
	ip -n "$1" link set lo up
}

# pvio-simd, the host namespace with br0, and pvio-backd (dom0) in it.
ne_host_up() {
	local h
	h=$(ne_host)
	mkdir -p "$NE_R"
	"$NE_B/pvio-simd" --rundir "$NE_R" || return 1
	NE_SIMD_UP=1
	ne_ns_add "$h" || return 1
	ip -n "$h" link add br0 type bridge &&
		ip -n "$h" link set br0 up &&
		ip -n "$h" addr add "$NE_NET.254/24" dev br0 || return 1
	# ip netns exec execs the daemon: $! is pvio-backd itself
	ip netns exec "$h" "$NE_B/pvio-backd" --platform "sim:$NE_R:0" --foreground --log-level warn \
		2>>"$NE_R/backd.log" &
	NE_BACKD_PID=$!
	for _ in $(seq 100); do [ -S "$NE_R/pvio-backd.sock" ] && return 0; sleep 0.05; done
	return 1
}

# Guest number $1 (1..9): a sim domain, its vif on br0 with mac 00:16:3e:77:00:0$1, its
# namespace with pvio-tap's eth0 at $NE_NET.$1/24.  NE_DOM[$1] is the domain id.
ne_guest_up() {
	local g=$1 dom ns
	ns=$(ne_gns "$g")
	dom=$(ne_ctl domain-create) || return 1
	# shellcheck disable=SC2034 # read by the callers
	NE_DOM[$g]=$dom
	ne_ctl network-attach "$dom" "bridge=br0,mac=00:16:3e:77:00:0$g" || return 1
	ne_ns_add "$ns" || return 1
	ip netns exec "$ns" "$NE_B/pvio-tap" --platform "sim:$NE_R:$dom" --vif 0 --daemon \
		--pidfile "$NE_R/tap$g.pid" 2>>"$NE_R/tap$g.log" || return 1
	ip -n "$ns" addr add "$NE_NET.$g/24" dev eth0 || return 1
	# netback enslaves the host end (vif<dom>.0) to br0 once the vif is connected
	for _ in $(seq 100); do
		ip -n "$(ne_host)" link show master br0 2>/dev/null | grep -q " vif$dom\.0[:@]" && return 0
		sleep 0.05
	done
	return 1
}

# The baseline: namespaces $NE_TAG-v1 and $NE_TAG-v2 joined by a veth pair (eth0 at each
# end, $1.1/24 and $1.2/24).
ne_veth_up() {
	local a="$NE_TAG-v1" b="$NE_TAG-v2"
	ne_ns_add "$a" && ne_ns_add "$b" || return 1
	ip -n "$a" link add eth0 type veth peer name eth0 netns "$b" &&
		ip -n "$a" addr add "$1.1/24" dev eth0 && ip -n "$a" link set eth0 up &&
		ip -n "$b" addr add "$1.2/24" dev eth0 && ip -n "$b" link set eth0 up
}

# Waits up to 5 s for process $1 to be gone.
ne_wait_gone() {
	for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.05; done
	return 1
}

# Stops everything ne_* started (pvio-tap, iperf3 servers or anything else in the
# namespaces, pvio-backd, pvio-simd) and removes the namespaces; returns 1 if something
# would not go.  Safe to call twice.
ne_down() {
	local rc=0 f pid ns

	for f in "$NE_R"/tap*.pid; do
		[ -f "$f" ] || continue
		pid=$(cat "$f" 2>/dev/null) || continue
		[ -n "$pid" ] && kill "$pid" 2>/dev/null && { ne_wait_gone "$pid" || rc=1; }
	done
	for ns in "${NE_NS[@]}"; do
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			[ "$pid" = "$NE_BACKD_PID" ] || kill "$pid" 2>/dev/null
		done
	done
	if [ -n "$NE_BACKD_PID" ]; then
		kill "$NE_BACKD_PID" 2>/dev/null
		wait "$NE_BACKD_PID" 2>/dev/null
		NE_BACKD_PID=
	fi
	if [ -n "$NE_SIMD_UP" ] && [ -f "$NE_R/pvio-simd.pid" ]; then
		pid=$(cat "$NE_R/pvio-simd.pid")
		kill "$pid" 2>/dev/null && { ne_wait_gone "$pid" || rc=1; }
	fi
	NE_SIMD_UP=
	for ns in "${NE_NS[@]}"; do
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			ne_wait_gone "$pid" || { kill -9 "$pid" 2>/dev/null; rc=1; }
		done
		ip netns del "$ns" 2>/dev/null || rc=1
	done
	NE_NS=()
	return $rc
}
