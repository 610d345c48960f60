#!/bin/bash
# tests/xen/sabotage.sh [block|net] - shows that make xen-check can fail: builds a pvio-backd
# that answers every block request with BLKIF_RSP_ERROR (block, the default) or whose netback
# drops every frame a guest sends (net), in a scratch copy of the committed tree (the checkout
# is not touched), and runs the scenarios that use pvio-backd against it.  Succeeds only if
# every one of them FAILs.  Not part of .ci/run (it costs a QEMU boot); run it by hand after
# changing the harness:  tests/xen/sabotage.sh; tests/xen/sabotage.sh net
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
TMP=$(mktemp -d /tmp/pvio-sabotage.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

MODE=${1:-block}
git -C "$ROOT" archive HEAD | tar -x -C "$TMP"
case $MODE in
block)
  # the one place where a response's status is written
  f=$TMP/backend/pv_blkback_ring.c
  grep -q '\.operation = op, \.status = status }' "$f" ||
    { echo "sabotage: respond() no longer looks as expected; update this script" >&2; exit 2; }
  sed -i 's/\.operation = op, \.status = status }/.operation = op, .status = BLKIF_RSP_ERROR + 0 * status }/' "$f"
  scen=pvio-back-linux,pvio-pvio what="answers every request with an error" ;;
net)
  # the two places where frames from the guest go to the vif's TAP device (one frame, and a
  # run of TCP segments merged into one GSO frame): dropped instead (counted as TAP errors),
  # so nothing the guest sends arrives
  f=$TMP/backend/pv_netback_ring.c
  { grep -q 'if (writev(q->tap_fd, iov, 2) < 0) {' "$f" &&
    grep -q 'if (writev(q->tap_fd, iov, (int)n + 1) < 0) {' "$f"; } ||
    { echo "sabotage: the netback's TAP writes no longer look as expected; update this script" >&2; exit 2; }
  sed -i -e 's/if (writev(q->tap_fd, iov, 2) < 0) {/if (1 || writev(q->tap_fd, iov, 2) < 0) {/' \
         -e 's/if (writev(q->tap_fd, iov, (int)n + 1) < 0) {/if (1 || writev(q->tap_fd, iov, (int)n + 1) < 0) {/' "$f"
  scen=pvio-netback-linux,pvio-net-pvio what="drops every frame the guest sends" ;;
*) echo "usage: sabotage.sh [block|net]" >&2; exit 2 ;;
esac
make -C "$TMP" -j2 >/dev/null

set +e
PVIO_BUILD=$TMP/build PVIO_XEN_WORK=/tmp/pvio-xen-sabotage PVIO_XEN_SCENARIOS=$scen \
  bash "$TMP/tests/xen/run.sh" | tee "$TMP/out" | grep -E '^XEN-SCENARIO|^  [a-z-]+: |passed, '
rc=${PIPESTATUS[0]}
set -e
fails=$(grep -c '^XEN-SCENARIO .*: FAIL' "$TMP/out" || true)
if [ "$rc" -ne 0 ] && [ "$fails" -eq 2 ]; then
  echo "sabotage: OK: a pvio-backd that $what fails both scenarios ($scen)"
  exit 0
fi
echo "sabotage: NOT CAUGHT: run.sh exited $rc with $fails of 2 scenarios failing" >&2
exit 1
