#!/bin/sh
# deps.sh - make sure the Debian packages pvio needs are installed.
#
#   scripts/deps.sh build    what `make` needs (compiler, libraries, headers)
#   scripts/deps.sh test     what `make check` needs beyond that
#   scripts/deps.sh demo     what `make demo` needs beyond `build`
#   scripts/deps.sh bench    what `make bench`, `make bench-net` and bench/fuse-bench.sh need beyond `build`
#   scripts/deps.sh all      both
#
# As root it installs what is missing with apt-get; otherwise it prints the exact
# apt-get line to run and fails.  Set PVIO_NO_APT=1 to only check.
set -eu

# libsystemd-dev: pvio-backd's sd_notify readiness (the systemd unit is Type=notify).
# nbdkit-plugin-dev: frontend/nbdkit's plugin.
build_pkgs="gcc make pkg-config libc6-dev libcunit1-dev libxen-dev liburing-dev libfuse3-dev libsystemd-dev nbdkit-plugin-dev"
# clang and its compiler-rt (libFuzzer, sanitizers) build the fuzzers of tests/fuzz/.
# iproute2: tests/net makes a bridge and reads a TAP's master and flags with ip; with
# iperf3, ethtool and iputils-ping: tests/netpath (guests in network namespaces).  jq:
# tests/bench/smoke.sh reads pvio-bench's JSON.  fio (libaio and nbd engines), fuse3 and
# nbdkit: tests/fuseqd and tests/nbd (queue depth through pvio-fuse and the nbdkit plugin).
test_pkgs="xenstore-utils fuse3 fio nbdkit e2fsprogs clang libclang-rt-dev iproute2 iperf3 ethtool iputils-ping jq"
# scripts/demo.sh: pvio-fuse (fusermount3), mkfs.ext4/e2fsck/debugfs; its network part runs
# guests in network namespaces (ip), pings them and runs iperf3 between them.
demo_pkgs="fuse3 e2fsprogs iproute2 iperf3 iputils-ping"
# bench/net-bench.sh: as the demo's network, plus ethtool (offloads off) and jq (iperf3 -J).
# bench/run-bench.sh (pvio-bench): nbdkit and libnbd-dev for the NBD baseline (pvio-bench
# builds without libnbd and then skips it, saying why), gnuplot-nox for its plot.
# bench/fuse-bench.sh: fio, fuse3 and nbdkit.
bench_pkgs="iproute2 iperf3 iputils-ping ethtool jq nbdkit libnbd-dev gnuplot-nox fio fuse3"

case "${1:-all}" in
build) want="$build_pkgs" ;;
test)  want="$test_pkgs" ;;
demo)  want="$demo_pkgs" ;;
bench) want="$bench_pkgs" ;;
all)   want="$build_pkgs $test_pkgs $demo_pkgs $bench_pkgs" ;;
*) echo "usage: $0 build|test|demo|bench|all" >&2; exit 2 ;;
esac

missing=""
for p in $want; do
	s=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$s" = installed ] || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

line="apt-get install -y --no-install-recommends$missing"
if [ "$(id -u)" -ne 0 ] || [ "${PVIO_NO_APT:-0}" = 1 ]; then
	echo "pvio needs Debian packages that are not installed. Run as root:" >&2
	echo "  apt-get update && $line" >&2
	exit 1
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
# An old or empty package list is the usual reason an install fails on a fresh machine.
apt-get update -qq || true
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
