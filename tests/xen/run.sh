#!/bin/bash
# tests/xen/run.sh - pvio's Xen-in-QEMU harness.
#
# Boots Xen 4.17 + a Debian Linux dom0 under QEMU (TCG: no KVM on CI machines), creates PV
# domUs with xl and runs the scenarios (docs/xen.md has the table):
#   linux-blk           Linux xen-blkfront (domU) <-> Linux xen-blkback (dom0): dd + md5sum
#   pvio-platform       xenplat_check in the domU and dom0: grants, event channels, xenstore
#   pvio-back-linux     Linux xen-blkfront <-> pvio-backd (pvio-ctl attach; map, then copy)
#   pvio-front-blkback  pvio blkfront (xenblk_check) <-> Linux xen-blkback (xl block-attach)
#   pvio-pvio           pvio blkfront <-> pvio-backd
#   pvio-kill           Linux xen-blkfront <-> pvio-backd killed (SIGKILL) under fio verify, restarted
#   bench               the same fio jobs against qdisk, pvio-backd (map, copy), xen-blkback
#   pvio-netback-linux  Linux xen-netfront (2 queues) <-> pvio-backd's netback (vif in the xl
#                       config): ping, 16 MiB each way with sha256, offloads on and off
#   pvio-netfront-netback pvio-tap (pvio netfront) <-> Linux xen-netback: the same
#   pvio-net-pvio       pvio-tap <-> pvio-backd (pvio-ctl network-attach): the same
#   net-bench           ping, iperf3 TCP each way, UDP 64 B: pvio-backd vs xen-netback
# Prints "XEN-SCENARIO <name>: PASS|FAIL (<s> s)" per scenario and "xen-check: N passed, N failed".
#
# Environment:
#   PVIO_BUILD      pvio build dir (default: build, relative to the repo root)
#   PVIO_XEN_CACHE  downloaded/extracted Debian packages, reused (default /var/tmp/pvio-xen-cache)
#   PVIO_XEN_WORK   scratch dir for images, share and logs (default /tmp/pvio-xen)
#   PVIO_XEN_TIMEOUT whole-run limit in seconds for QEMU (default 1500)
#   PVIO_XEN_SCENARIOS comma-separated subset of the scenarios (default: all, in run.py's order)
#   PVIO_XEN_VERBOSE=1 echo the serial console while it runs
#   PVIO_XEN_PERF=1 net-bench and bench print perf profiles of dom0 for each back end (the host's perf,
#                   which must match the Debian kernel's version, is copied into dom0)
#   PVIO_XEN_TXOFF=1 net-bench runs only TCP domU->dom0 with the offloads off (a diagnosis:
#                   with PVIO_XEN_PERF=1, `perf trace -s` of pvio-backd instead of profiles)
#   PVIO_XEN_BENCH_AB=1|2 bench also runs pvio-map with pvio-backd --threads 1 (column
#                   pvio-thread): a worker thread against dom0's default (one vCPU: none)
#                   in one boot; 1 runs it after pvio-map, 2 before (to see an order effect)
# Nothing is written into the repository and nothing is installed into the host's /boot.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD=${PVIO_BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
CACHE=${PVIO_XEN_CACHE:-/var/tmp/pvio-xen-cache}
WORK=${PVIO_XEN_WORK:-/tmp/pvio-xen}
XENBIN=/usr/lib/xen-4.17/bin
T0=$(date +%s)
say() { echo "xen-check: $*"; }
die() { echo "xen-check: ERROR: $*" >&2; echo "xen-check: 0 passed, 2 failed"; exit 1; }
# The machine cannot provide what the harness needs (packages, QEMU): nothing about pvio was
# tested, so say "skipped" with exit 77 (liburing's convention) rather than pass or fail.
skip() { echo "xen-check: SKIPPED: $*" >&2; exit 77; }

# ---- 0. host tools ---------------------------------------------------------------------------
need_pkgs=()
command -v qemu-system-x86_64 >/dev/null || need_pkgs+=(qemu-system-x86)
command -v python3 >/dev/null || need_pkgs+=(python3)     # run.py drives QEMU
dpkg -s libxen-dev >/dev/null 2>&1 || need_pkgs+=(libxen-dev)
if [ ${#need_pkgs[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || skip "missing ${need_pkgs[*]} and not root to apt-get install them"
  say "installing ${need_pkgs[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_pkgs[@]}" >/dev/null 2>&1 || {
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_pkgs[@]}"; } ||
    skip "cannot install ${need_pkgs[*]}"
fi
for l in libpvio-platform.a libpvio-front.a; do
  [ -f "$BUILD/lib/$l" ] || die "$BUILD/lib/$l missing: run make first"
done

# ---- 1. Debian packages: apt-get download + dpkg-deb -x, cached --------------------------------
KVER=${KVER:-$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/.*Depends: linux-image-\(.*-amd64\)$/\1/p' | head -1)}
[ -n "$KVER" ] || skip "cannot determine the Debian kernel ABI (apt-get update?)"
DEBS=$CACHE/debs
STAGE=$CACHE/stage-$KVER
mkdir -p "$DEBS"
# apt's download sandbox user must be able to write there (else a warning per package)
[ "$(id -u)" = 0 ] && id _apt >/dev/null 2>&1 && chown _apt "$DEBS" 2>/dev/null || true
if [ ! -e "$STAGE/.complete" ]; then
  say "downloading Xen 4.17 + linux-image-$KVER packages into $DEBS"
  (cd "$DEBS" && apt-get download -q \
      xen-hypervisor-4.17-amd64 xen-utils-4.17 xen-utils-common xenstore-utils \
      libxencall1 libxenevtchn1 libxenforeignmemory1 libxengnttab1 libxenmisc4.17 \
      libxenstore4 libxentoollog1 libxendevicemodel1 libxenhypfs1 libxentoolcore1 \
      libyajl2 "linux-image-$KVER" busybox-static >/dev/null) || skip "apt-get download failed"
  rm -rf "$STAGE"; mkdir -p "$STAGE"
  for d in "$DEBS"/*.deb; do dpkg-deb -x "$d" "$STAGE"; done
  touch "$STAGE/.complete"
fi

# QEMU's qdisk back end for the side-by-side timing: optional (the bench scenario says when
# it ran without it)
if [ ! -e "$STAGE/usr/libexec/xen-qemu-system-i386" ] && [ ! -e "$STAGE/.no-qemu-xen" ]; then
  (cd "$DEBS" && apt-get download -q qemu-system-xen >/dev/null 2>&1) &&
    dpkg-deb -x "$DEBS"/qemu-system-xen_*.deb "$STAGE" || touch "$STAGE/.no-qemu-xen"
fi

# ---- 2. images ---------------------------------------------------------------------------------
OUT=$WORK/out SHARE=$WORK/share
rm -rf "$WORK/rootfs-dom0" "$WORK/rootfs-domu" "$SHARE"
mkdir -p "$OUT" "$SHARE/bin" "$WORK/logs"
zcat "$STAGE/boot/xen-4.17-amd64.gz" > "$OUT/xen.elf"   # 32-bit multiboot ELF for QEMU -kernel
cp "$STAGE/boot/vmlinuz-$KVER" "$OUT/vmlinuz"
BB=$STAGE/bin/busybox
MODSRC=$STAGE/lib/modules/$KVER/kernel
LIBPATH=$STAGE/usr/lib/x86_64-linux-gnu:$STAGE/usr/lib/xen-4.17/lib/x86_64-linux-gnu

mkroot() {  # $1 = root: skeleton + busybox applets
  mkdir -p "$1"/{proc,sys,dev,tmp,run,root,etc,bin,sbin,usr/bin,usr/sbin,lib/modules}
  cp "$BB" "$1/bin/busybox"
  for a in $("$BB" --list-full); do [ -e "$1/$a" ] || ln -s /bin/busybox "$1/$a"; done
  echo "root:x:0:0:root:/root:/bin/sh" > "$1/etc/passwd"; echo "root:x:0:" > "$1/etc/group"
}
libs_of() {  # $1 = root, $2 = ELF: copy every shared library it needs (staged ones preferred)
  LD_LIBRARY_PATH=$LIBPATH ldd "$2" 2>/dev/null | grep -oE '/[^ ]+' | while read -r lib; do
    case $lib in "$STAGE"/*) t=${lib#"$STAGE"} ;; *) t=$lib ;; esac
    [ -e "$1/$t" ] && continue
    mkdir -p "$(dirname "$1/$t")"; cp -L "$lib" "$1/$t"
  done
}
put() {  # $1 = root, $2 = source ELF, $3 = path in root
  mkdir -p "$(dirname "$1/$3")"; rm -f "$1/$3"; cp -L "$2" "$1/$3"; libs_of "$1" "$2"
}
cpio_of() {  # $1 = root, $2 = output, $3 = gzip|cat
  (cd "$1" && find . | "$BB" cpio -o -H newc 2>/dev/null | $3 > "$2")
}

# the check programs, built against the freshly built libpvio-platform.a / libpvio-front.a
CC=${CC:-cc}
$CC -std=gnu11 -O2 -Wall -Wextra -Werror -o "$SHARE/bin/xennet_xfer" "$HERE/xennet_xfer.c" ||
  die "building xennet_xfer failed"
$CC -std=gnu11 -O2 -Wall -Wextra -Werror -o "$SHARE/bin/copy_probe" "$HERE/copy_probe.c" ||
  die "building copy_probe failed"
for t in xenplat_check xenblk_check; do
  $CC -std=gnu11 -O2 -g -Wall -Wextra -Werror -D_GNU_SOURCE -I"$ROOT/platform" -I"$ROOT/ring" \
      -I"$ROOT/common" -I"$ROOT/frontend" -o "$SHARE/bin/$t" "$HERE/$t.c" "$BUILD/lib/libpvio-front.a" \
      "$BUILD/lib/libpvio-platform.a" -lxenstore -lxengnttab -lxenevtchn -lxenctrl \
    || die "building $t failed"
done
# pvio's binaries go to the 9p share (mounted at /mnt/host in dom0)
for b in "$BUILD"/bin/*; do [ -x "$b" ] && cp "$b" "$SHARE/bin/"; done
for t in fio mke2fs e2fsck debugfs iperf3 ethtool; do
  command -v $t >/dev/null || PATH=$PATH:/sbin:/usr/sbin command -v $t >/dev/null ||
    skip "$t missing (scripts/deps.sh test installs fio, e2fsprogs, iperf3 and ethtool)"
done
host_bin() { PATH=$PATH:/sbin:/usr/sbin command -v "$1"; }

# domU: busybox, the kernel's block front end and ext4 (modules), the userspace grant/evtchn
# devices, e2fsprogs, fio, the pvio check programs.  It is read by xl from the 9p share, not
# carried inside dom0's image.  Written uncompressed: libxl keeps only the first archive of a
# gzip'd PV ramdisk.
DU=$WORK/rootfs-domu
mkroot "$DU"
for m in drivers/block/xen-blkfront.ko drivers/xen/xen-evtchn.ko drivers/xen/xen-gntalloc.ko \
         drivers/xen/xen-gntdev.ko drivers/xen/xen-privcmd.ko drivers/xen/xenfs/xenfs.ko \
         lib/crc16.ko fs/mbcache.ko fs/jbd2/jbd2.ko crypto/crc32c_generic.ko fs/ext4/ext4.ko \
         drivers/net/xen-netfront.ko drivers/net/tun.ko; do
  cp "$MODSRC/$m" "$DU/lib/modules/"
done
for t in xenplat_check xenblk_check xennet_xfer pvio-tap pvio-bench; do put "$DU" "$SHARE/bin/$t" /usr/local/bin/$t; done
put "$DU" "$(host_bin iperf3)" /usr/bin/iperf3
put "$DU" "$(host_bin ethtool)" /usr/sbin/ethtool
put "$DU" "$(host_bin mke2fs)" /sbin/mke2fs
ln -sfn mke2fs "$DU/sbin/mkfs.ext4"
put "$DU" "$(host_bin e2fsck)" /sbin/e2fsck
put "$DU" "$(host_bin fio)" /usr/bin/fio
put "$DU" "$STAGE/usr/bin/xenstore-read" /usr/bin/xenstore-read
[ -f /etc/mke2fs.conf ] && cp /etc/mke2fs.conf "$DU/etc/"
cp -L /lib/x86_64-linux-gnu/libgcc_s.so.1 "$DU/lib/x86_64-linux-gnu/" 2>/dev/null || true
install -m755 "$HERE/domu-init.sh" "$DU/init"
mkdir -p "$SHARE/domu"
cp "$OUT/vmlinuz" "$SHARE/domu/vmlinuz"
cpio_of "$DU" "$SHARE/domu/initrd" cat

# dom0: toolstack, kernel backends, 9p, the domU payload
D0=$WORK/rootfs-dom0
mkroot "$D0"
mkdir -p "$D0/lib/modules/$KVER"
for m in drivers/xen/xen-evtchn.ko drivers/xen/xen-gntdev.ko drivers/xen/xen-gntalloc.ko \
         drivers/xen/xen-privcmd.ko drivers/xen/xenfs/xenfs.ko \
         drivers/block/xen-blkback/xen-blkback.ko drivers/block/loop.ko \
         drivers/net/xen-netback/xen-netback.ko drivers/net/tun.ko net/llc/llc.ko net/802/stp.ko \
         net/bridge/bridge.ko \
         drivers/virtio/virtio_ring.ko drivers/virtio/virtio.ko drivers/virtio/virtio_pci_modern_dev.ko \
         drivers/virtio/virtio_pci_legacy_dev.ko drivers/virtio/virtio_pci.ko \
         net/9p/9pnet.ko net/9p/9pnet_virtio.ko fs/netfs/netfs.ko fs/fscache/fscache.ko fs/9p/9p.ko; do
  cp "$MODSRC/$m" "$D0/lib/modules/$KVER/"
done
for b in xl xenstored xenconsoled xen-init-dom0 libxl-save-helper; do
  put "$D0" "$STAGE$XENBIN/$b" "$XENBIN/$b"
done
for b in xenstore xenstore-read xenstore-write xenstore-ls xenstore-rm; do
  put "$D0" "$STAGE/usr/bin/$b" "/usr/bin/$b"
done
for b in "$SHARE"/bin/*; do libs_of "$D0" "$b"; done   # the binaries run from /mnt/host/bin
put "$D0" "$(host_bin e2fsck)" /sbin/e2fsck
put "$D0" "$(host_bin debugfs)" /sbin/debugfs
put "$D0" "$(host_bin iperf3)" /usr/bin/iperf3
if [ -n "${PVIO_XEN_PERF:-}" ]; then
  host_bin perf >/dev/null || die "PVIO_XEN_PERF is set but perf is missing (linux-perf)"
  put "$D0" "$(host_bin perf)" /usr/bin/perf
fi
if [ -e "$STAGE/usr/libexec/xen-qemu-system-i386" ]; then
  put "$D0" "$STAGE/usr/libexec/xen-qemu-system-i386" /usr/libexec/xen-qemu-system-i386
  # libxl starts it with "-vnc none -k en-us": without the keymap it exits at once
  mkdir -p "$D0/usr/share/qemu"
  cp -a /usr/share/qemu/keymaps "$D0/usr/share/qemu/" 2>/dev/null ||
    say "no /usr/share/qemu/keymaps: QEMU's qdisk will not start in dom0"
else
  say "no qemu-system-xen: the bench scenario runs without QEMU's qdisk"
fi
mkdir -p "$D0/lib/x86_64-linux-gnu"
cp -L /lib/x86_64-linux-gnu/libgcc_s.so.1 "$D0/lib/x86_64-linux-gnu/"   # xl's forked children need it
cp -a "$STAGE/etc/xen" "$D0/etc/"
install -m755 "$HERE/block-hotplug" "$D0/etc/xen/scripts/pvio-block"
# the hotplug scripts make install ships (docs/xen.md), as a real host would have them
install -m755 "$ROOT/dist/xen/pvio-vif" "$ROOT/dist/xen/pvio-noop" "$D0/etc/xen/scripts/"
install -m755 "$HERE/dom0-init.sh" "$D0/init"
cpio_of "$D0" "$OUT/dom0.cpio.gz" "gzip -1"
say "images built in $(( $(date +%s) - T0 )) s (work dir $WORK)"

# ---- 3. boot and run the scenarios ----------------------------------------------------------------
set +e
python3 "$HERE/run.py" --out "$OUT" --share "$SHARE" --logdir "$WORK/logs" \
  --timeout "${PVIO_XEN_TIMEOUT:-1500}" ${PVIO_XEN_SCENARIOS:+--scenarios "$PVIO_XEN_SCENARIOS"} \
  ${PVIO_XEN_VERBOSE:+--verbose} ${PVIO_XEN_PERF:+--perf} ${PVIO_XEN_TXOFF:+--txoff} ${PVIO_XEN_BENCH_AB:+--bench-ab "$PVIO_XEN_BENCH_AB"}
rc=$?
say "total run time $(( $(date +%s) - T0 )) s"
exit $rc
