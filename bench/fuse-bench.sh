#!/bin/bash
# fuse-bench.sh - fio at queue depth 1 and 32 into a sim guest's disk: through pvio-fuse
# single-threaded (the default) and with --threads 32, and over NBD through nbdkit and
# nbdkit-pvio-plugin.so with fio's nbd engine (docs/benchmarking.md, "A guest's disk and
# queue depth").
#
#   bench/fuse-bench.sh [BIN_DIR] [ROUNDS]     (defaults: build/bin, 3)
#
# pvio-simd, pvio-backd, one guest with a 1 GiB raw image in /dev/shm (so that the numbers
# are pvio's, not the host disk's) as xvdb.  Each round runs, for each pvio-fuse mode, 4k random reads and writes at iodepth 1
# and 32 (libaio and O_DIRECT on the FUSE file; the nbd engine on NBD; 5 s each); the table
# gives the median IOPS of the rounds, and what pvio-fuse's --stats and the plugin's stats=1
# said (most requests in flight at once).  Needs fio, fuse3 and nbdkit (scripts/deps.sh
# bench) and the plugin (build/lib).  Leaves nothing running.
set -euo pipefail

B=$(cd "${1:-build/bin}" && pwd)
ROUNDS=${2:-3}
R=$(mktemp -d /tmp/pvio-fbench-XXXXXX)
MNT=$R/mnt
BACKD_PID='' FUSE_PID='' IMG='' NBD_PID=''
PLUGIN=$(cd "$B/../lib" && pwd)/nbdkit-pvio-plugin.so

cleanup() {
	set +e
	if mountpoint -q "$MNT" 2>/dev/null; then fusermount3 -u "$MNT"; fi
	[ -n "$FUSE_PID" ] && wait "$FUSE_PID" 2>/dev/null
	[ -n "$NBD_PID" ] && kill "$NBD_PID" 2>/dev/null && wait "$NBD_PID" 2>/dev/null
	[ -n "$BACKD_PID" ] && kill "$BACKD_PID" 2>/dev/null && wait "$BACKD_PID" 2>/dev/null
	[ -f "$R/pvio-simd.pid" ] && kill "$(cat "$R/pvio-simd.pid")" 2>/dev/null
	sleep 0.2
	rm -rf "$R" "${IMG:-}"
}
trap cleanup EXIT

[ -f "$PLUGIN" ] || { echo "fuse-bench: no $PLUGIN (make; not SANITIZE=1)" >&2; exit 1; }
for t in fio fusermount3 nbdkit; do
	command -v "$t" >/dev/null || { echo "fuse-bench: $t is missing (scripts/deps.sh bench)" >&2; exit 1; }
done
ctl() { "$B/pvio-ctl" --platform "sim:$R:0" "$@"; }

"$B/pvio-simd" --rundir "$R"
"$B/pvio-backd" --platform "sim:$R:0" --foreground --log-level warn 2>"$R/backd.log" &
BACKD_PID=$!
for _ in $(seq 100); do [ -S "$R/pvio-backd.sock" ] && break; sleep 0.05; done
DOM=$(ctl domain-create)
IMG=$(mktemp /dev/shm/pvio-fbench-XXXXXX.img)
truncate -s 1G "$IMG"
ctl block-attach "$DOM" "format=raw,vdev=xvdb,access=rw,target=$IMG"
mkdir -p "$MNT"

fuse_up() {
	"$B/pvio-fuse" --platform "sim:$R:$DOM" --vdev xvdb --stats "$@" -f "$MNT" 2>"$R/fuse.log" &
	FUSE_PID=$!
	for _ in $(seq 200); do [ -f "$MNT/disk" ] && return 0; sleep 0.05; done
	echo "fuse-bench: pvio-fuse did not start" >&2
	cat "$R/fuse.log" >&2
	exit 1
}
# A process that entered a new mount namespace while we were mounted keeps the FUSE
# connection alive after our unmount: then SIGTERM ends pvio-fuse (cleanly, status 0).
fuse_down() {
	fusermount3 -u "$MNT"
	for _ in $(seq 50); do kill -0 "$FUSE_PID" 2>/dev/null || break; sleep 0.1; done
	kill "$FUSE_PID" 2>/dev/null || true
	wait "$FUSE_PID"
	FUSE_PID=
}

nbd_up() {
	nbdkit --foreground --exit-with-parent --threads 32 --unix "$R/nbd.sock" "$PLUGIN" \
		"platform=sim:$R:$DOM" vdev=xvdb stats=1 2>"$R/nbd.log" &
	NBD_PID=$!
	for _ in $(seq 200); do [ -S "$R/nbd.sock" ] && return 0; sleep 0.05; done
	echo "fuse-bench: nbdkit did not start" >&2
	cat "$R/nbd.log" >&2
	exit 1
}
nbd_down() {
	kill "$NBD_PID" && wait "$NBD_PID"
	NBD_PID=
	rm -f "$R/nbd.sock"
}

# fio's IOPS of one job (the terse line, version 3: field 8 read IOPS, 49 write IOPS;
# the nbd engine prints a line of its own first).
job() {
	local rw=$1 qd=$2 how
	if [ "$MODE" = nbd ]; then
		how="--ioengine=nbd --uri=nbd+unix:///?socket=$R/nbd.sock"
	else
		how="--filename=$MNT/disk --direct=1 --ioengine=libaio"
	fi
	# shellcheck disable=SC2086
	fio --name=b $how --rw="$rw" --bs=4k \
		--iodepth="$qd" --runtime=5 --time_based --size=1G --randseed=42 \
		--output-format=terse --terse-version=3 |
		awk -F';' -v rw="$rw" '$1 == 3 { print (rw == "randread" ? $8 : $49) }'
}

# Lay the data down once, so that reads do not read holes.
fuse_up
dd if=/dev/zero of="$MNT/disk" bs=1M count=1024 oflag=direct status=none
fuse_down

MODES="1 32 nbd"
JOBS="randread:1 randread:32 randwrite:1 randwrite:32"
for r in $(seq "$ROUNDS"); do
	for m in $MODES; do
		MODE=$m
		if [ "$m" = nbd ]; then nbd_up; else fuse_up --threads "$m"; fi
		for j in $JOBS; do
			echo "$m ${j%:*} ${j#*:} $(job "${j%:*}" "${j#*:}")" >>"$R/results"
		done
		if [ "$m" = nbd ]; then
			nbd_down
			sed -n 's/.*most in flight \([0-9]*\).*/\1/p' "$R/nbd.log" >>"$R/peak.$m"
		else
			fuse_down
			sed -n 's/.*most in flight \([0-9]*\).*/\1/p' "$R/fuse.log" >>"$R/peak.$m"
		fi
	done
	echo "fuse-bench: round $r of $ROUNDS done" >&2
done

echo "a sim guest's disk: 4k random I/O, IOPS (median of $ROUNDS rounds; all rounds)"
printf '%-12s %-8s %-26s %-26s %-26s\n' job depth "pvio-fuse (1 thread)" "pvio-fuse --threads 32" "nbdkit plugin (NBD)"
for j in $JOBS; do
	line=$(printf '%-12s %-8s' "${j%:*}" "${j#*:}")
	for m in $MODES; do
		v=$(awk -v m="$m" -v rw="${j%:*}" -v qd="${j#*:}" '$1 == m && $2 == rw && $3 == qd { print int($4) }' "$R/results" | sort -n)
		med=$(echo "$v" | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
		line="$line $(printf '%-26s' "$med ($(echo $v | tr ' ' /))")"
	done
	echo "$line"
done
for m in $MODES; do
	echo "most in flight at once, $m: $(sort -n "$R/peak.$m" | tail -1)"
done
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
