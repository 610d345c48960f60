#!/bin/bash
# demo.sh - the main job of pvio on the sim platform (what `make demo` runs).
#
# Starts pvio-simd and pvio-backd, creates a guest domain, attaches a disk image to it with
# `pvio-ctl block-attach`, and in the guest (pvio-fuse: blkfront behind a FUSE file) makes
# an ext4 filesystem holding a few files, checks it with e2fsck and the files' checksums,
# detaches, re-attaches and checks again.  Prints a short report; exits non-zero on any
# failure.  Leaves nothing running.
#
#   scripts/demo.sh [BIN_DIR]   (default build/bin)
set -euo pipefail

B=$(cd "${1:-build/bin}" && pwd)
R=$(mktemp -d /tmp/pvio-demo-XXXXXX)
MNT=$R/mnt
SIMD_PID= BACKD_PID= FUSE_PID=

say() { printf '%s\n' "$*"; }
step() { printf '  %-44s' "$*"; }
ok() { printf 'ok%s\n' "${1:+ ($1)}"; }

cleanup() {
	set +e
	if mountpoint -q "$MNT" 2>/dev/null; then fusermount3 -u "$MNT"; fi
	[ -n "$FUSE_PID" ] && wait "$FUSE_PID" 2>/dev/null
	[ -n "$BACKD_PID" ] && kill "$BACKD_PID" 2>/dev/null && wait "$BACKD_PID" 2>/dev/null
	[ -f "$R/pvio-simd.pid" ] && kill "$(cat "$R/pvio-simd.pid")" 2>/dev/null
	sleep 0.2
	rm -rf "$R"
}
trap cleanup EXIT
fail() { printf 'FAILED\n'; say "demo: $*" >&2; [ -f "$R/backd.log" ] && tail -20 "$R/backd.log" >&2; exit 1; }

ctl() { "$B/pvio-ctl" --platform "sim:$R:0" "$@"; }

# Starts pvio-fuse as the guest and waits until the disk file appears.
fuse_up() {
	mkdir -p "$MNT"
	"$B/pvio-fuse" --platform "sim:$R:$DOM" --vdev xvdb -f "$MNT" 2>>"$R/fuse.log" &
	FUSE_PID=$!
	for _ in $(seq 200); do [ -f "$MNT/disk" ] && return 0; sleep 0.05; done
	return 1
}
fuse_down() {
	fusermount3 -u "$MNT" && wait "$FUSE_PID"
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
say "demo: PASS"
