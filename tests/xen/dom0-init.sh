#!/bin/sh
# /init of dom0 (initramfs root) for tests/xen/run.sh: brings up the Xen toolstack, mounts the
# host's 9p share at /mnt/host, then runs the scenarios named by pvio.scenarios=a,b on the kernel
# command line.  Every result is a "PVIO-XEN ..." line on hvc0 (-> Xen console -> QEMU serial);
# the domU consoles are copied there too.  Powers off at the end.
export PATH=/usr/lib/xen-4.17/bin:/usr/sbin:/usr/bin:/sbin:/bin
KVER=$(uname -r)
mount -t proc proc /proc; mount -t sysfs sysfs /sys; mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts; mount -t devpts devpts /dev/pts; mount -t tmpfs tmpfs /tmp; mount -t tmpfs tmpfs /run
mkdir -p /var; ln -sfn /run /var/run
ln -sfn /proc/self/fd /dev/fd; ln -sfn fd/0 /dev/stdin; ln -sfn fd/1 /dev/stdout; ln -sfn fd/2 /dev/stderr
arg() { sed -n "s/.*$1=\([^ ]*\).*/\1/p" /proc/cmdline; }
mark() { echo "PVIO-XEN $*"; }
finish() { mark all-done; sync; poweroff -f; sleep 30; }

mark dom0-init
for m in xen-evtchn xen-gntdev xen-gntalloc xen-privcmd xenfs xen-blkback loop \
         virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci 9pnet 9pnet_virtio netfs fscache 9p; do
  insmod /lib/modules/$KVER/$m.ko || echo "insmod $m failed"
done
mount -t xenfs xenfs /proc/xen
mkdir -p /run/xenstored /run/xen /var/lib/xen /var/lib/xenstored /var/log/xen/console /var/lib/xen/dump
xenstored --pid-file=/run/xenstored.pid
xen-init-dom0
xenconsoled --pid-file=/run/xenconsoled.pid --log=guest --log-dir=/var/log/xen/console
if ! xl list >/dev/null 2>&1; then mark fail boot "xl list failed: toolstack not up"; finish; fi
mark dom0-ready
mkdir -p /mnt/host
if ! mount -t 9p -o trans=virtio,version=9p2000.L host0 /mnt/host; then
  mark fail boot "cannot mount the 9p host share"; finish
fi
mark share-mounted "$(ls /mnt/host/bin | tr '\n' ' ')"

# $1 = name, $2 = xl config, $3 = seconds allowed for the domU; a dom0-side program, if any,
# is started by the caller through $DOM0_SIDE (gets the domid as its last argument)
run_domu() {
  name=$1; cfg=$2; limit=$3
  dname=$(sed -n 's/^name *= *"\(.*\)"/\1/p' $cfg)
  if ! xl create $cfg > /tmp/xl-create-$name.out 2>&1; then
    mark fail $name "xl create failed"; cat /tmp/xl-create-$name.out
    tail -20 /var/log/xen/pvio-block.log /var/log/xen/xl-$dname.log 2>/dev/null
    return 1
  fi
  domid=$(xl domid $dname)
  mark created $name domid=$domid
  LOG=/var/log/xen/console/guest-$dname.log
  i=0; while [ ! -e $LOG ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
  tail -n +1 -f $LOG 2>/dev/null & tailpid=$!
  side=
  if [ -n "$DOM0_SIDE" ]; then $DOM0_SIDE $domid & side=$!; fi
  i=0; while xl domid $dname >/dev/null 2>&1 && [ $i -lt $((limit * 5)) ]; do sleep 0.2; i=$((i+1)); done
  if xl domid $dname >/dev/null 2>&1; then
    mark fail $name "domU still running after ${limit}s; destroying it"; xl destroy $dname
  fi
  if [ -n "$side" ]; then
    i=0; while kill -0 $side 2>/dev/null && [ $i -lt 50 ]; do sleep 0.2; i=$((i+1)); done
    kill $side 2>/dev/null; wait $side 2>/dev/null
  fi
  sleep 0.5; kill $tailpid 2>/dev/null
}

scen_linux_blk() {
  dd if=/dev/zero of=/tmp/disk.img bs=1M count=32 2>/dev/null
  DOM0_SIDE= run_domu linux-blk /etc/xen/domu-blk.cfg 120
  cat /var/log/xen/pvio-block.log 2>/dev/null; rm -f /var/log/xen/pvio-block.log
  losetup -a
  rm -f /tmp/disk.img
}

scen_pvio_platform() {
  DOM0_SIDE="/mnt/host/bin/xenplat_check dom0" run_domu pvio-platform /etc/xen/domu-plat.cfg 120
}

SCENS=$(arg pvio.scenarios); [ -n "$SCENS" ] || SCENS=linux-blk,pvio-platform
for s in $(echo $SCENS | tr ',' ' '); do
  mark begin $s
  case $s in
    linux-blk)     scen_linux_blk ;;
    pvio-platform) scen_pvio_platform ;;
    *)             mark fail $s "unknown scenario" ;;
  esac
  mark end $s
done
finish
