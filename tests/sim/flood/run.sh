#!/bin/sh
# Measures dom0's and another domU's xenstore latency on pvio-simd, unloaded and while
# domain 1 floods the daemon (connections, event channels, xenstore requests).
# Not part of make check (numbers, not assertions).  Usage: tests/sim/flood/run.sh [samples]
set -e
top=$(cd "$(dirname "$0")/../../.." && pwd)
build=${PVIO_BUILD:-$top/build}
[ -x "$build/bin/pvio-simd" ] && [ -x "$build/bin/pvio-ctl" ] || { echo "build first (make)" >&2; exit 1; }
${CC:-cc} -std=gnu11 -O2 -Wall -Wextra -Werror -I"$top/sim" -I"$top/ring" -I"$top/tests/lib" \
	-o "$build/flood-latency" "$top/tests/sim/flood/flood_latency.c" -lxenstore
exec "$build/flood-latency" "$build" "$@"
