#!/bin/sh
# /init of the PV domU for tests/xen/run.sh: runs the scenario named by pvio.scenario= on the
# kernel command line, prints "PVIO-XEN ..." results on hvc0 (dom0 copies them to the serial
# console), then powers off.
export PATH=/usr/local/bin:/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc; mount -t sysfs sysfs /sys; mount -t devtmpfs devtmpfs /dev; mount -t tmpfs tmpfs /tmp
mark() { echo "PVIO-XEN $*"; }
SCEN=$(sed -n 's/.*pvio\.scenario=\([^ ]*\).*/\1/p' /proc/cmdline)
mark domu-init $SCEN
for m in xen-evtchn xen-gntalloc xen-gntdev xen-privcmd xenfs; do insmod /lib/modules/$m.ko; done
mkdir -p /proc/xen; mount -t xenfs xenfs /proc/xen

case $SCEN in
linux-blk)
  insmod /lib/modules/xen-blkfront.ko
  i=0; while [ ! -b /dev/xvda ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done
  if [ ! -b /dev/xvda ]; then
    mark fail linux-blk "/dev/xvda did not appear within 30s"; ls /sys/bus/xen/devices/
  else
    mark info linux-blk "xvda size $(blockdev --getsize64 /dev/xvda) bytes"
    dd if=/dev/urandom of=/tmp/pat bs=1M count=4 2>/dev/null
    W=$(md5sum < /tmp/pat | cut -d' ' -f1)
    dd if=/tmp/pat of=/dev/xvda bs=1M count=4 seek=1 conv=fsync 2>/dev/null
    sync; blockdev --flushbufs /dev/xvda; echo 3 > /proc/sys/vm/drop_caches
    R=$(dd if=/dev/xvda bs=1M count=4 skip=1 2>/dev/null | md5sum | cut -d' ' -f1)
    if [ "$W" = "$R" ]; then mark ok linux-blk domu-rw md5=$W
    else mark fail linux-blk "md5 mismatch: wrote $W read $R"; fi
  fi
  ;;
pvio-platform)
  xenplat_check domu
  ;;
*)
  mark fail "$SCEN" "unknown scenario in the domU"
  ;;
esac
mark domu-done $SCEN
poweroff -f
