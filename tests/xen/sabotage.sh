#!/bin/bash
# tests/xen/sabotage.sh - shows that make xen-check can fail: builds a pvio-backd that answers
# every request with BLKIF_RSP_ERROR (in a scratch copy of the committed tree; the checkout
# is not touched) and runs the scenarios that use pvio-backd against it.  Succeeds only if
# every one of them FAILs.  Not part of .ci/run (it costs a QEMU boot); run it by hand after
# changing the harness:  tests/xen/sabotage.sh
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
TMP=$(mktemp -d /tmp/pvio-sabotage.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

git -C "$ROOT" archive HEAD | tar -x -C "$TMP"
# the one place where a response's status is written
f=$TMP/backend/pv_blkback_ring.c
grep -q '\.operation = op, \.status = status }' "$f" ||
  { echo "sabotage: respond() no longer looks as expected; update this script" >&2; exit 2; }
sed -i 's/\.operation = op, \.status = status }/.operation = op, .status = BLKIF_RSP_ERROR + 0 * status }/' "$f"
make -C "$TMP" -j2 >/dev/null

scen=pvio-back-linux,pvio-pvio
set +e
PVIO_BUILD=$TMP/build PVIO_XEN_WORK=/tmp/pvio-xen-sabotage PVIO_XEN_SCENARIOS=$scen \
  bash "$TMP/tests/xen/run.sh" | tee "$TMP/out" | grep -E '^XEN-SCENARIO|^  [a-z-]+: |passed, '
rc=${PIPESTATUS[0]}
set -e
fails=$(grep -c '^XEN-SCENARIO .*: FAIL' "$TMP/out" || true)
if [ "$rc" -ne 0 ] && [ "$fails" -eq 2 ]; then
  echo "sabotage: OK: a pvio-backd that answers every request with an error fails both scenarios"
  exit 0
fi
echo "sabotage: NOT CAUGHT: run.sh exited $rc with $fails of 2 scenarios failing" >&2
exit 1
