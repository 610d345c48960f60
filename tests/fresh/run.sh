#!/bin/bash
# tests/fresh/run.sh - the README's commands on a freshly bootstrapped Debian 12 (issue 14).
#
# The README opens with an indented block: what must exist before the first command (any line
# that is not a `make` command, e.g. installing make itself), then the commands (`make demo`,
# `make check`).  For each command, in its own fresh copy of a minimal Debian 12
# (`debootstrap --variant=minbase bookworm`), this runs the block's other lines, copies the
# committed checkout in (git archive: never build/ or untracked files), and runs the command
# exactly as the README writes it, as root, in a chroot, from the checkout's folder.  Prints
#   fresh-check: PASS|FAIL <command> (<s> s)
# per command, then "fresh-check: N passed, N failed (<s> s)".  Exits 0 when all pass, 1 when
# one fails, 77 when this machine cannot bootstrap (not root, no debootstrap and cannot install
# it, no route to the mirror, no /dev/fuse): then nothing about pvio was tested.
#
# Environment:
#   PVIO_FRESH_CACHE   pristine tarball and apt download cache (default /var/tmp/pvio-fresh-cache)
#   PVIO_FRESH_MIRROR  Debian mirror (default: the one this machine's apt uses for bookworm)
#   PVIO_FRESH_REV     what to copy in (default HEAD; e.g. a `git stash create` commit)
#   PVIO_FRESH_ONLY    run only the README commands containing this string (e.g. demo)
#   PVIO_FRESH_TIMEOUT limit per command in seconds (default 2400)
#   PVIO_FRESH_LOGS    where each command's output is kept (default /tmp/pvio-fresh-logs)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CACHE=${PVIO_FRESH_CACHE:-/var/tmp/pvio-fresh-cache}
REV=${PVIO_FRESH_REV:-HEAD}
TMO=${PVIO_FRESH_TIMEOUT:-2400}
LOGS=${PVIO_FRESH_LOGS:-/tmp/pvio-fresh-logs}
SUITE=bookworm
PRISTINE=$CACHE/$SUITE-minbase.tar
# A base older than this is rebuilt: the commands install today's packages on top of it, and a
# base far behind the archive is not what a new user bootstraps.
MAX_AGE_DAYS=30

say() { echo "fresh-check: $*"; }
skip() { echo "fresh-check: SKIPPED: $*" >&2; exit 77; }

[ "$(id -u)" = 0 ] || skip "needs root (debootstrap, chroot, mounts)"
[ -c /dev/fuse ] || skip "no /dev/fuse on this machine: pvio-fuse (make demo, test-blk) cannot run"
{ command -v unshare && command -v chroot; } >/dev/null || skip "no unshare or chroot"

# ---- the README's block -------------------------------------------------------------------------
# The first indented block of the README (as committed in $REV): `make ...` lines are the
# commands, the others the prerequisites, each run with bash exactly as written (a trailing #
# comment is bash's too).
git -C "$ROOT" rev-parse -q --verify "$REV^{commit}" >/dev/null ||
	{ say "ERROR: $REV is not a commit of $ROOT"; exit 1; }
mapfile -t BLOCK < <(git -C "$ROOT" show "$REV:README.md" |
	awk '/^    [^ ]/ { sub(/^    /, ""); print; seen = 1; next } seen { exit }')
PREREQ=() CMDS=()
for l in "${BLOCK[@]}"; do
	case $l in
	make\ *) [ -z "${PVIO_FRESH_ONLY:-}" ] || [[ $l == *"$PVIO_FRESH_ONLY"* ]] && CMDS+=("$l") ;;
	*) PREREQ+=("$l") ;;
	esac
done
[ ${#CMDS[@]} -gt 0 ] || { say "ERROR: no make command in the README's first indented block"; exit 1; }
if [ "$REV" = HEAD ] && ! git -C "$ROOT" diff --quiet HEAD; then
	say "note: testing HEAD; uncommitted changes to tracked files are not copied in"
fi

# ---- host tools and the mirror -----------------------------------------------------------------
if ! command -v debootstrap >/dev/null; then
	say "installing debootstrap"
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -qq debootstrap >/dev/null 2>&1 ||
		{ apt-get update -qq && apt-get install -y -qq debootstrap >/dev/null; } ||
		skip "debootstrap is missing and apt-get cannot install it"
fi

# The first apt source of this machine that carries $SUITE (one-line .list or deb822 .sources).
apt_mirror() {
	local f
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		awk -v s="$SUITE" '$1 == "deb" { i = 2
			if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
			if ($(i + 1) == s) { print $i; exit } }' "$f"
	done
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		awk -v s="$SUITE" 'BEGIN { RS = "" } {
			t = u = x = ""; on = "yes"; n = split($0, L, "\n")
			for (j = 1; j <= n; j++) { l = L[j]; if (l ~ /^#/) continue
				if (sub(/^Types:[ \t]*/, "", l)) t = l
				else if (sub(/^URIs:[ \t]*/, "", l)) u = l
				else if (sub(/^Suites:[ \t]*/, "", l)) x = l
				else if (sub(/^Enabled:[ \t]*/, "", l)) on = l }
			if (on != "no" && (" " t " ") ~ / deb / && (" " x " ") ~ (" " s " ")) {
				split(u, U, " "); print U[1]; exit } }' "$f"
	done
}
MIRROR=${PVIO_FRESH_MIRROR:-$(apt_mirror | head -1)}
MIRROR=${MIRROR:-http://deb.debian.org/debian}

# ---- the pristine tree, cached ------------------------------------------------------------------
mkdir -p "$CACHE" "$LOGS"
# One run at a time per cache: two would share the apt download cache, whose lock makes the
# second command's apt-get fail rather than wait.
exec 9>"$CACHE/.lock"
flock -n 9 || { say "waiting for another fresh-check to finish"; flock 9; }
if [ -f "$PRISTINE" ] && [ -n "$(find "$PRISTINE" -mtime +$MAX_AGE_DAYS)" ]; then
	say "$PRISTINE is older than $MAX_AGE_DAYS days: bootstrapping again"
	rm -f "$PRISTINE"
fi
if [ ! -f "$PRISTINE" ]; then
	wget -q -T 30 -t 2 -O /dev/null "$MIRROR/dists/$SUITE/Release" ||
		skip "cannot reach $MIRROR (dists/$SUITE/Release)"
	say "debootstrap --variant=minbase $SUITE from $MIRROR into $PRISTINE"
	B=$(mktemp -d "$CACHE/bootstrap.XXXXXX")
	t0=$(date +%s)
	if ! debootstrap --variant=minbase "$SUITE" "$B/tree" "$MIRROR" >"$LOGS/debootstrap.log" 2>&1; then
		tail -15 "$LOGS/debootstrap.log" >&2
		rm -rf --one-file-system "$B"
		skip "debootstrap failed (log: $LOGS/debootstrap.log)"
	fi
	tar --numeric-owner -C "$B/tree" -cf "$PRISTINE.tmp" .
	mv "$PRISTINE.tmp" "$PRISTINE"
	rm -rf --one-file-system "$B"
	say "bootstrapped in $(($(date +%s) - t0)) s"
fi
# Downloaded .debs are kept between runs (bind-mounted as the chroot's apt archive cache): the
# README's commands still do every apt-get update and install themselves, they only download less.
mkdir -p "$CACHE/apt-archives/partial"

# ---- one command in a fresh copy ----------------------------------------------------------------
# Runs in private mount and pid namespaces: the mounts exist only there and vanish with them, and
# whatever the command leaves running is killed when it ends (pid 1 of the namespace exits).  The
# trap unmounts as well, so a failure between the mounts leaves nothing behind either way.
# shellcheck disable=SC2016
INNER='set -eu
T=$1; LINE=$2; ARCHIVES=$3
cleanup() { umount -R -l "$T" 2>/dev/null || true; }
trap cleanup EXIT
# The tree as a machine has it: / a mount point (`ip netns exec` remounts / as a slave) and /sys.
mount --bind "$T" "$T"
mount -t proc proc "$T/proc"
mount -t sysfs sysfs "$T/sys"
mount --rbind /dev "$T/dev"                              # /dev/fuse, /dev/null, ...
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$T/dev/shm" # its own, not the host'"'"'s
mount --bind "$ARCHIVES" "$T/var/cache/apt/archives"
# A root login: only the environment a shell on the new machine would have.
chroot "$T" /usr/bin/env -i HOME=/root USER=root LOGNAME=root SHELL=/bin/bash TERM=dumb \
	PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	/bin/bash -c "cd /root/pvio && $LINE" </dev/null'

WORK=
RUNPID=
cleanup() {
	set +e
	[ -n "$RUNPID" ] && kill -KILL "$RUNPID" 2>/dev/null
	[ -n "$WORK" ] || return 0
	# Anything still running with its root in our scratch tree was started by this script.
	local p
	for p in /proc/[0-9]*; do
		[[ $(readlink "$p/root" 2>/dev/null) == "$WORK"/* ]] && kill -KILL "${p#/proc/}" 2>/dev/null
	done
	wait 2>/dev/null
	# Never rm -rf through a mount point (a bound /dev): unmount first, refuse if one is left.
	grep -o " $WORK/[^ ]*" /proc/self/mountinfo | sort -r | while read -r m; do umount -l "$m"; done
	if grep -q " $WORK/" /proc/self/mountinfo; then
		say "ERROR: still mounted under $WORK; not removing it"
	else
		rm -rf --one-file-system "$WORK"
	fi
	WORK=
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# in_tree TREE LOG LINE: run LINE as the README's reader would, in TREE; returns its status.
in_tree() {
	timeout -s KILL "$TMO" unshare --mount --pid --fork --kill-child --propagation private -- \
		bash -c "$INNER" inner "$1" "$3" "$CACHE/apt-archives" >>"$2" 2>&1 9>&- &
	RUNPID=$!
	local rc=0
	wait "$RUNPID" || rc=$?
	RUNPID=
	return "$rc"
}

failed=0
T_ALL=$(date +%s)
for cmd in "${CMDS[@]}"; do
	name=${cmd%%#*}
	name=${name%"${name##*[! ]}"} # without the trailing blanks
	log=$LOGS/$(echo "$name" | tr -c 'a-zA-Z0-9\n' '-' | cut -c1-40).log
	: >"$log"
	WORK=$(mktemp -d /var/tmp/pvio-fresh-XXXXXX)
	T=$WORK/tree
	mkdir "$T"
	tar --numeric-owner -C "$T" -xf "$PRISTINE"
	cp -L /etc/resolv.conf "$T/etc/resolv.conf"
	mkdir "$T/root/pvio"
	git -C "$ROOT" archive "$REV" | tar -C "$T/root/pvio" -xf -
	ok=1
	for p in ${PREREQ[@]+"${PREREQ[@]}"}; do
		echo "# $p" >>"$log"
		in_tree "$T" "$log" "$p" || { say "FAIL $name: prerequisite '$p' failed"; ok=0; break; }
	done
	if [ $ok = 1 ]; then
		echo "# $cmd" >>"$log"
		t0=$(date +%s)
		rc=0
		in_tree "$T" "$log" "$cmd" || rc=$?
		dt=$(($(date +%s) - t0))
		if [ $rc = 0 ]; then
			say "PASS $name ($dt s)"
		else
			say "FAIL $name ($dt s, exit $rc); the end of $log:"
			tail -25 "$log" | sed 's/^/    /'
			ok=0
		fi
	fi
	[ $ok = 1 ] || failed=$((failed + 1))
	cleanup
done
say "$((${#CMDS[@]} - failed)) passed, $failed failed ($(($(date +%s) - T_ALL)) s)"
[ "$failed" = 0 ]
