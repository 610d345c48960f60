#!/bin/bash
# demo.sh - the main job of pvio on the sim platform (what `make demo` runs).
#
# Starts pvio-simd and pvio-backd, creates a guest domain, attaches a disk image to it with
# `pvio-ctl block-attach`, and in the guest (pvio-fuse: blkfront behind a FUSE file) makes
# an ext4 filesystem holding a few files, checks it with e2fsck and the files' checksums,
# detaches, re-attaches and checks again.
#
# Then the network (scripts/netenv.sh): pvio-backd in a "host" network namespace with bridge
# br0, two guest domains whose vifs `pvio-ctl network-attach` puts on br0, each guest's
# netfront (pvio-tap) giving it eth0 in a namespace of its own; ping in all six directions,
# iperf3 guest-guest and host-guest, network-list/-stats, network-detach of both.  The
# machine's own network is not touched.  Skipped, with the reason, only where the machine
# cannot do it (not root, no /dev/net/tun, no usable network namespaces).
#
# Prints a short report; exits non-zero on any failure.  Leaves nothing running.
#
#   scripts/demo.sh [BIN_DIR]   (default build/bin)
set -euo pipefail

B=$(cd "${1:-build/bin}" && pwd)
R=$(mktemp -d /tmp/pvio-demo-XXXXXX)
MNT=$R/mnt
BACKD_PID='' FUSE_PID=''
# shellcheck source=scripts/netenv.sh
. "$(dirname "$0")/netenv.sh"
NE_B=$B NE_R=$R/net NE_TAG=pvdemo$$ NE_NET=10.77.0

say() { printf '%s\n' "$*"; }
step() { printf '  %-44s' "$*"; }
ok() { printf 'ok%s\n' "${1:+ ($1)}"; }

cleanup() {
	set +e
	ne_down
	if mountpoint -q "$MNT" 2>/dev/null; then fusermount3 -u "$MNT"; fi
	[ -n "$FUSE_PID" ] && wait "$FUSE_PID" 2>/dev/null
	[ -n "$BACKD_PID" ] && kill "$BACKD_PID" 2>/dev/null && wait "$BACKD_PID" 2>/dev/null
	[ -f "$R/pvio-simd.pid" ] && kill "$(cat "$R/pvio-simd.pid")" 2>/dev/null
	sleep 0.2
	rm -rf "$R"
}
trap cleanup EXIT
fail() {
	printf 'FAILED\n'
	say "demo: $*" >&2
	for f in "$R/backd.log" "$NE_R/backd.log" "$NE_R"/tap*.log; do
		[ -s "$f" ] && tail -20 "$f" >&2
	done
	exit 1
}

ctl() { "$B/pvio-ctl" --platform "sim:$R:0" "$@"; }

# Starts pvio-fuse as the guest and waits until the disk file appears.
fuse_up() {
	mkdir -p "$MNT"
	"$B/pvio-fuse" --platform "sim:$R:$DOM" --vdev xvdb -f "$MNT" 2>>"$R/fuse.log" &
	FUSE_PID=$!
	for _ in $(seq 200); do [ -f "$MNT/disk" ] && return 0; sleep 0.05; done
	return 1
}
# A mount namespace made elsewhere while the disk is mounted keeps a copy of the mount, and
# with it the FUSE connection: pvio-fuse then never hears of the unmount.  SIGTERM ends it
# the same way (flush, then Closing -> Closed).
fuse_down() {
	fusermount3 -u "$MNT" || return 1
	for _ in $(seq 100); do kill -0 "$FUSE_PID" 2>/dev/null || break; sleep 0.1; done
	kill -0 "$FUSE_PID" 2>/dev/null && kill -TERM "$FUSE_PID"
	wait "$FUSE_PID"
	FUSE_PID=
}

# The files inside the filesystem, read back with debugfs (no mount needed), as checksums.
fs_sums() {
	for f in $FILES; do
		debugfs -R "dump /$f $R/out.$f" "$MNT/disk" 2>/dev/null
		md5sum <"$R/out.$f" | cut -d' ' -f1
	done
}

say "pvio demo on the sim platform (rundir $R)"
step "start pvio-simd"
"$B/pvio-simd" --rundir "$R" || fail "pvio-simd did not start"
ok
step "start pvio-backd (dom0)"
"$B/pvio-backd" --platform "sim:$R:0" --foreground --log-level warn 2>"$R/backd.log" &
BACKD_PID=$!
for _ in $(seq 100); do [ -S "$R/pvio-backd.sock" ] && break; sleep 0.05; done
[ -S "$R/pvio-backd.sock" ] || fail "pvio-backd did not start"
ok
step "create a guest domain"
DOM=$(ctl domain-create) || fail "domain-create"
ok "domain $DOM"

step "attach a 256 MiB disk image as xvdb"
truncate -s 256M "$R/disk.img"
ctl block-attach "$DOM" "format=raw,vdev=xvdb,access=rw,target=$R/disk.img" || fail "block-attach"
ok
step "guest: blkfront connects (pvio-fuse)"
fuse_up || fail "pvio-fuse did not expose the disk"
ok "$(stat -c %s "$MNT/disk") bytes"

# Files to put in the filesystem: a few sizes, random content.
mkdir -p "$R/files"
FILES="small medium large"
head -c 1000 /dev/urandom >"$R/files/small"
head -c 1500000 /dev/urandom >"$R/files/medium"
head -c 20000000 /dev/urandom >"$R/files/large"
WANT=$(for f in $FILES; do md5sum <"$R/files/$f" | cut -d' ' -f1; done)

step "guest: mkfs.ext4 with 3 files (21 MB)"
mkfs.ext4 -q -F -d "$R/files" "$MNT/disk" || fail "mkfs.ext4"
sync "$MNT/disk"
ok
step "guest: e2fsck -fn"
e2fsck -fn "$MNT/disk" >"$R/fsck.log" 2>&1 || { cat "$R/fsck.log" >&2; fail "e2fsck"; }
ok "clean"
step "guest: checksums of the files"
[ "$(fs_sums)" = "$WANT" ] || fail "checksums differ"
ok "3 of 3 match"

step "detach xvdb"
STATS=$(ctl block-stats "$DOM" xvdb 2>/dev/null || true)
fuse_down || fail "pvio-fuse did not stop"
ctl block-detach "$DOM" xvdb || fail "block-detach"
ok
step "re-attach; guest reconnects"
ctl block-attach "$DOM" "format=raw,vdev=xvdb,access=rw,target=$R/disk.img" || fail "re-attach"
fuse_up || fail "pvio-fuse did not come back"
ok
step "guest: e2fsck -fn and checksums again"
e2fsck -fn "$MNT/disk" >"$R/fsck.log" 2>&1 || { cat "$R/fsck.log" >&2; fail "e2fsck after re-attach"; }
[ "$(fs_sums)" = "$WANT" ] || fail "checksums differ after re-attach"
ok "clean, 3 of 3 match"
fuse_down
ctl block-detach "$DOM" xvdb || fail "final detach"
ctl domain-destroy "$DOM" || fail "domain-destroy"

say ""
say "back end counters for the first attach, while connected (pvio-ctl block-stats):"
printf '%s\n' "${STATS:-  (not available)}" | sed 's/^/  /'

# ---- the network --------------------------------------------------------------------------
say ""
HOSTNS=$(ne_host) G1=$(ne_gns 1) G2=$(ne_gns 2)
if ! WHY=$(ne_why_not); then
	say "network part: SKIPPED: $WHY"
	say "demo: PASS (block part; network part skipped)"
	exit 0
fi
say "network: two guests on bridge br0 in netns $HOSTNS, served by pvio-backd's netback"
step "host netns: br0 $NE_NET.254/24, pvio-backd"
ne_host_up || fail "pvio-simd, the host namespace or pvio-backd did not come up"
ok
for g in 1 2; do
	step "guest $g: network-attach, pvio-tap in netns"
	ne_guest_up "$g" || fail "guest $g's vif did not come up"
	ok "domain ${NE_DOM[$g]}, eth0 $NE_NET.$g, vif${NE_DOM[$g]}.0 on br0"
done

# ping -c 5 from namespace $1 to $NE_NET.$2: prints the average rtt; fails unless 0% loss.
ping5() {
	local out
	out=$(ip netns exec "$1" ping -c 5 -i 0.2 -W 5 "$NE_NET.$2" 2>&1) || { say "$out" >&2; return 1; }
	grep -q ' 0% packet loss' <<<"$out" || { say "$out" >&2; return 1; }
	sed -n 's|^rtt [^=]*= [0-9.]*/\([0-9.]*\)/.*|\1|p' <<<"$out"
}
step "ping, 6 directions, 5 each"
RTTS=
for d in "$G1 2" "$G2 1" "$G1 254" "$G2 254" "$HOSTNS 1" "$HOSTNS 2"; do
	# shellcheck disable=SC2086
	RTT=$(ping5 $d) || fail "ping ${d% *} -> $NE_NET.${d#* } lost packets"
	RTTS="$RTTS $RTT"
done
ok "0% loss; avg rtt $(tr ' ' '\n' <<<"$RTTS" | sort -n | sed -n '2p;$p' | paste -sd- -) ms"

# iperf3 -t 3 from namespace $1 to $NE_NET.$2 (a server runs there): prints Gbit/s received.
iperf3s() {
	ip netns exec "$1" iperf3 -c "$NE_NET.$2" -t 3 -f g 2>&1 | awk '/receiver$/ { print $(NF - 2) }'
}
ip netns exec "$G2" iperf3 -s -D -p 5201 -I "$NE_R/iperf.pid" || fail "iperf3 -s"
for _ in $(seq 50); do [ -s "$NE_R/iperf.pid" ] && break; sleep 0.05; done
sleep 0.2
step "iperf3 TCP 3 s, guest 1 -> guest 2"
BW=$(iperf3s "$G1" 2)
[ -n "$BW" ] || fail "iperf3 guest 1 -> guest 2"
ok "$BW Gbit/s"
step "iperf3 TCP 3 s, host -> guest 2"
BW=$(iperf3s "$HOSTNS" 2)
[ -n "$BW" ] || fail "iperf3 host -> guest 2"
ok "$BW Gbit/s"
kill "$(cat "$NE_R/iperf.pid")" 2>/dev/null

say ""
say "pvio-ctl network-list ${NE_DOM[1]} ${NE_DOM[2]}:"
ne_ctl network-list "${NE_DOM[1]}" "${NE_DOM[2]}" | sed 's/^/  /' || fail "network-list"
say "pvio-ctl network-stats ${NE_DOM[1]} 0 (guest 1's vif, pvio-backd's counters):"
NSTATS=$(ne_ctl network-stats "${NE_DOM[1]}" 0) || fail "network-stats"
pr -3 -t -w 108 <<<"$NSTATS" | expand | sed 's/^/  /'
say ""

step "network-detach both; the guests' eth0 go"
for g in 1 2; do
	ne_ctl network-detach "${NE_DOM[$g]}" 0 || fail "network-detach guest $g"
done
for g in 1 2; do
	# netfront sees the back end close, closes, and pvio-tap exits removing its TAP
	for _ in $(seq 100); do [ -f "$NE_R/tap$g.pid" ] || break; sleep 0.05; done
	! ip -n "$(ne_gns "$g")" link show eth0 >/dev/null 2>&1 || fail "guest $g's eth0 is still there"
done
LEFT=$(ne_ctl network-list "${NE_DOM[1]}" "${NE_DOM[2]}" | tail -n +2)
[ -z "$LEFT" ] || fail "vifs left after detach: $LEFT"
for g in 1 2; do ne_ctl domain-destroy "${NE_DOM[$g]}" || fail "domain-destroy"; done
ok
step "stop pvio-backd; remove the namespaces"
ne_down || fail "something would not stop"
LEFT=$(ip netns list | grep "^$NE_TAG-" || true)
[ -z "$LEFT" ] || fail "namespaces left: $LEFT"
# (the pattern from a file: grep's own command line must not hold it)
LEFT=$(grep -lsF -f <(printf '%s\n' "$NE_R") /proc/[0-9]*/cmdline || true)
[ -z "$LEFT" ] || fail "processes left: $LEFT"
ok "no namespace, bridge or process left"

say "demo: PASS"
