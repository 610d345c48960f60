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
pvio-back-linux)
  # the kernel's own xen-blkfront (4-page rings, 2 queues with 2 vCPUs, persistent grants and
  # 32-segment indirect requests by default) against pvio-backd; dom0 detaches and re-attaches
  # (pvio-backd restarted in grant-copy mode) when told by the "step" lines
  S=$SCEN
  fail() { mark fail $S "$*"; mark domu-done $S; poweroff -f; }
  step() { mark step $S "$@"; }
  wait_dev() {  # $1 = present|absent, $2 = seconds
    i=0
    while [ $i -lt $(($2 * 10)) ]; do
      if [ -b /dev/xvdb ]; then [ $1 = present ] && return 0; else [ $1 = absent ] && return 0; fi
      sleep 0.1; i=$((i+1))
    done
    return 1
  }
  FIO="--direct=1 --ioengine=libaio --iodepth=16 --rw=randwrite --bsrange=4k-256k --verify=crc32c --verify_fatal=1 --thread"
  for m in crc16 mbcache jbd2 crc32c_generic ext4; do insmod /lib/modules/$m.ko; done
  insmod /lib/modules/xen-blkfront.ko max_ring_page_order=2
  wait_dev present 120 || fail "/dev/xvdb did not appear"
  mark info $S "xvdb: $(blockdev --getsize64 /dev/xvdb) bytes, $(ls /sys/block/xvdb/mq | wc -l) queues, discard max $(cat /sys/block/xvdb/queue/discard_max_bytes)"
  mkfs.ext4 -q -F /dev/xvdb || fail "mkfs.ext4 failed"
  mkdir -p /mnt; mount -t ext4 /dev/xvdb /mnt || fail "mount failed"
  dd if=/dev/urandom of=/mnt/random.bin bs=1M count=16 2>/dev/null
  mkdir /mnt/mods; cp /lib/modules/*.ko /mnt/mods/
  fio --name=map --filename=/mnt/fio-map.dat --size=24M $FIO --output=/tmp/fio.out ||
    { cat /tmp/fio.out; fail "fio write+verify (grant map) failed"; }
  grep -E "WRITE:|READ:" /tmp/fio.out
  for f in /mnt/random.bin /mnt/mods/*.ko; do
    md5sum < $f | cut -d' ' -f1 > /tmp/sum.$(basename $f)
    mark info $S sum $(cat /tmp/sum.$(basename $f)) ${f#/mnt}
  done
  fstrim -v /mnt || fail "fstrim failed"
  sync; umount /mnt || fail "umount failed"
  e2fsck -fn /dev/xvdb > /tmp/fsck.out 2>&1 || { cat /tmp/fsck.out; fail "e2fsck -fn failed (grant map)"; }
  mark ok $S domu-write
  step detach-me
  wait_dev absent 120 || fail "/dev/xvdb still there 120 s after detach-me"
  wait_dev present 180 || fail "/dev/xvdb did not come back"
  mount -t ext4 /dev/xvdb /mnt || fail "mount after re-attach failed"
  bad=0
  for f in /mnt/random.bin /mnt/mods/*.ko; do
    [ "$(md5sum < $f | cut -d' ' -f1)" = "$(cat /tmp/sum.$(basename $f) 2>/dev/null)" ] || bad=$((bad+1))
  done
  [ $bad = 0 ] || fail "$bad files differ after the re-attach"
  fio --name=map --filename=/mnt/fio-map.dat --size=24M $FIO --verify_only --output=/tmp/fio.out ||
    { cat /tmp/fio.out; fail "fio verify_only of the grant-map data failed after re-attach"; }
  mark ok $S domu-reverify
  fio --name=copy --filename=/mnt/fio-copy.dat --size=24M $FIO --output=/tmp/fio.out ||
    { cat /tmp/fio.out; fail "fio write+verify (grant copy) failed"; }
  grep -E "WRITE:|READ:" /tmp/fio.out
  dd if=/dev/urandom of=/mnt/copy.bin bs=1M count=8 2>/dev/null
  mark info $S sum $(md5sum < /mnt/copy.bin | cut -d' ' -f1) /copy.bin
  sync; umount /mnt || fail "umount failed"
  e2fsck -fn /dev/xvdb > /tmp/fsck.out 2>&1 || { cat /tmp/fsck.out; fail "e2fsck -fn failed (grant copy)"; }
  mark ok $S domu-copy
  step detach-again
  wait_dev absent 120 || fail "/dev/xvdb still there 120 s after detach-again"
  ;;
bench)
  # the same fio jobs against each back end dom0 attaches in turn as xvdb (it names the
  # back end in data/pvio-bench), and first against QEMU's qdisk on xvdc when it is there
  insmod /lib/modules/xen-blkfront.ko max_ring_page_order=2
  # $1 = back end, $2 = device; one line per job: iops, MiB/s, mean latency, clat p50/p99 (us)
  run_jobs() {
    for job in "randread 4k 1" "randread 4k 32" "randwrite 4k 32" "read 1M 4" "write 1M 4"; do
      set -- $1 $2 $job
      fio --name=b --filename=$2 --direct=1 --ioengine=libaio --rw=$3 --bs=$4 --iodepth=$5 \
          --size=128M --time_based --runtime=4 --ramp_time=1 --thread \
          --output-format=terse --terse-version=3 > /tmp/b.out 2>/tmp/b.err ||
        { cat /tmp/b.err; mark fail bench "fio $3 $4 qd$5 on $1 failed"; continue; }
      case $3 in *read) o=0 ;; *) o=41 ;; esac
      awk -F';' -v o=$o -v be=$1 -v j="$3-$4-qd$5" '{
        p50=$(24+o); sub(/.*=/, "", p50); p99=$(30+o); sub(/.*=/, "", p99)
        printf "PVIO-XEN bench %s %s iops=%d mibs=%.1f lat_us=%.1f p50_us=%s p99_us=%s\n",
               be, j, $(8+o), $(7+o) / 1024, $(40+o), p50, p99 }' /tmp/b.out
      set -- $1 $2
    done
  }
  i=0; while [ ! -b /dev/xvdc ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
  [ -b /dev/xvdc ] && run_jobs qdisk /dev/xvdc
  mark step bench ready
  while :; do
    i=0
    while [ ! -b /dev/xvdb ] && [ "$(xenstore-read data/pvio-bench 2>/dev/null)" != end ] && [ $i -lt 1800 ]; do
      sleep 0.1; i=$((i+1))
    done
    [ -b /dev/xvdb ] || break
    be=$(xenstore-read data/pvio-bench)
    run_jobs $be /dev/xvdb
    mark step bench done $be
    i=0; while [ -b /dev/xvdb ] && [ $i -lt 1200 ]; do sleep 0.1; i=$((i+1)); done
  done
  ;;
pvio-kill)
  # fio with verify on the raw disk while dom0 kills pvio-backd (SIGKILL) and restarts it:
  # blkfront only sees a pause, and every block must read back as written
  S=$SCEN
  insmod /lib/modules/xen-blkfront.ko max_ring_page_order=2
  i=0; while [ ! -b /dev/xvdb ] && [ $i -lt 1200 ]; do sleep 0.1; i=$((i+1)); done
  if [ ! -b /dev/xvdb ]; then
    mark fail $S "/dev/xvdb did not appear"
  else
    fio --name=kill --filename=/dev/xvdb --size=160M --direct=1 --ioengine=libaio --iodepth=32 \
        --rw=randwrite --bsrange=4k-256k --verify=crc32c --verify_fatal=1 --thread \
        --output=/tmp/fio.out & fpid=$!
    mark step $S kill-me
    if wait $fpid; then
      grep -E "WRITE:|READ:" /tmp/fio.out
      mark ok $S domu-fio
    else
      cat /tmp/fio.out; mark fail $S "fio write+verify across the pvio-backd kill failed"
    fi
    dmesg | grep -iE "blkfront|blkif|xvdb|I/O error" | tail -20
    mark step $S detach-me
    i=0; while [ -b /dev/xvdb ] && [ $i -lt 1200 ]; do sleep 0.1; i=$((i+1)); done
  fi
  ;;
pvio-front-blkback|pvio-pvio)
  # pvio's userspace blkfront: the kernel's xen-blkfront is not loaded
  xenblk_check front $SCEN 51728 16 && xenblk_check wait-gone $SCEN 51728 120
  ;;
*)
  mark fail "$SCEN" "unknown scenario in the domU"
  ;;
esac
mark domu-done $SCEN
poweroff -f
