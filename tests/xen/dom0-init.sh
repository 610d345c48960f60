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
for m in xen-evtchn xen-gntdev xen-gntalloc xen-privcmd xenfs loop \
         virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci 9pnet 9pnet_virtio netfs fscache 9p; do
  insmod /lib/modules/$KVER/$m.ko || echo "insmod $m failed"
done
mount -t xenfs xenfs /proc/xen
# the guests' network: bridge xenbr0 with dom0 at 10.0.0.1; vifs join it (Linux's through the
# pvio-vif hotplug script, pvio-backd's by itself from the backend's bridge node)
for m in llc stp bridge tun; do insmod /lib/modules/$KVER/$m.ko || echo "insmod $m failed"; done
brctl addbr xenbr0 && ip addr add 10.0.0.1/24 dev xenbr0 && ip link set xenbr0 up && ip link set lo up
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

# ---- helpers ----------------------------------------------------------------------------------
B=/mnt/host/bin
PVIO_PLATFORM=xen; export PVIO_PLATFORM

# $1 = domU name, $2 = scenario, $3 = vcpus, $4 = MiB, $5.. = extra xl config lines
mkcfg() {
  name=$1 scen=$2 vcpus=$3 mem=$4; shift 4
  { echo "name = \"$name\""; echo 'type = "pv"'
    echo 'kernel = "/mnt/host/domu/vmlinuz"'; echo 'ramdisk = "/mnt/host/domu/initrd"'
    echo "extra = \"console=hvc0 loglevel=4 pvio.scenario=$scen\""
    echo "memory = $mem"; echo "vcpus = $vcpus"
    echo 'on_poweroff = "destroy"'; echo 'on_crash = "destroy"'
    for l in "$@"; do echo "$l"; done; } > /tmp/$name.cfg
  echo /tmp/$name.cfg
}

# Linux's xen-blkback serves every backend/vbd it sees, so it is loaded only for the
# scenarios that use it: pvio-backd serves backend/vbd the rest of the time.
blkback() {
  case $1 in
  on)  grep -q '^xen_blkback ' /proc/modules || insmod /lib/modules/$KVER/xen-blkback.ko ;;
  off) ! grep -q '^xen_blkback ' /proc/modules || rmmod xen_blkback ;;
  esac
}

# Linux's xen-netback, likewise, binds every backend/vif of dom0: loaded only when it is the
# back end under test
netback() {
  case $1 in
  on)  grep -q '^xen_netback ' /proc/modules || insmod /lib/modules/$KVER/xen-netback.ko ;;
  off) ! grep -q '^xen_netback ' /proc/modules || rmmod xen_netback ;;
  esac
}

# pvio-backd's pid and exit status live in files: the dom0 side of a scenario runs in a
# subshell, and a daemon it started must be stopped by the scenario even when the side
# gave up early.
backd_start() {  # $@ = extra pvio-backd options
  rm -f /run/pvio/pvio-backd.sock /run/pvio-backd.rc
  ( sh -c 'echo $$ > /run/pvio-backd.pid; exec "$0" "$@"' $B/pvio-backd --platform xen \
      --foreground --log-level info "$@" >> /var/log/pvio-backd.log 2>&1
    echo $? > /run/pvio-backd.rc ) &
  i=0; while [ ! -S /run/pvio/pvio-backd.sock ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
  [ -S /run/pvio/pvio-backd.sock ]
}
backd_running() { [ -s /run/pvio-backd.pid ] && kill -0 $(cat /run/pvio-backd.pid) 2>/dev/null; }
backd_stop() {  # SIGTERM: drains and exits 0; returns its exit status (0 if none ran)
  [ -s /run/pvio-backd.pid ] || return 0
  pid=$(cat /run/pvio-backd.pid); rm -f /run/pvio-backd.pid
  kill -TERM $pid 2>/dev/null
  i=0; while [ ! -s /run/pvio-backd.rc ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
  [ -s /run/pvio-backd.rc ] || { kill -KILL $pid 2>/dev/null; return 1; }
  return $(cat /run/pvio-backd.rc)
}

# waits for a line matching $1 in the current domU's console ($LOG), at most $2 s; fails at
# once if the domU reported a failure
# once a second, and the domU's liveness every 4 s: perf in net-bench showed this loop (at
# 5 Hz, with a dynamically linked xenstore-read each time) taking a third of dom0's CPU
wait_console() {
  i=0 gone=0
  while ! grep -q "$1" $LOG 2>/dev/null; do
    grep -q "PVIO-XEN fail" $LOG 2>/dev/null && return 1
    if [ $((i % 4)) = 3 ]; then
      if ! xenstore-read /local/domain/$domid/domid >/dev/null 2>/tmp/wc.err; then
        gone=$((gone + 1))   # three misses in a row: it is gone
        [ $gone -ge 3 ] && { echo "dom0: the domU ended before '$1' ($(cat /tmp/wc.err))"; return 1; }
      else
        gone=0
      fi
    fi
    [ $i -ge $2 ] && { echo "dom0: no '$1' from the domU within $2 s"; return 1; }
    sleep 1; i=$((i+1))
  done
}

# one field of pvio-ctl block-stats --json output ($STATS)
js() { echo "$STATS" | sed -n "s/.*\"$1\":\"\{0,1\}\([^,\"}]*\).*/\1/p"; }
# $1 = scenario, $2 = check name, then "field op value" triples: all must hold
check_stats() {
  scen=$1 what=$2; shift 2
  bad=
  while [ $# -ge 3 ]; do
    v=$(js $1)
    case $2 in
      eq) [ "$v" = "$3" ] || bad="$bad $1=$v(want $3)" ;;
      ge) [ -n "$v" ] && [ "$v" -ge "$3" ] 2>/dev/null || bad="$bad $1=$v(want>=$3)" ;;
    esac
    shift 3
  done
  if [ -n "$bad" ]; then mark fail $scen "$what:$bad"; return 1; fi
  mark ok $scen $what
}

# $1 = name, $2 = xl config, $3 = seconds allowed for the domU; a dom0-side function or
# program, if any, is given in $DOM0_SIDE (called with the domid; the domU's console log is
# $LOG) and has $SIDE_LIMIT s after the domU ends to finish
run_domu() {
  name=$1; cfg=$2; limit=$3
  dname=$(sed -n 's/^name *= *"\(.*\)"/\1/p' $cfg)
  if ! xl create $cfg > /tmp/xl-create-$name.out 2>&1; then
    mark fail $name "xl create failed"; cat /tmp/xl-create-$name.out
    tail -20 /var/log/xen/pvio-block.log /var/log/xen/xl-$dname.log /var/log/xen/qemu-dm-$dname.log 2>/dev/null
    return 1
  fi
  domid=$(xl domid $dname)
  mark created $name domid=$domid
  LOG=/var/log/xen/console/guest-$dname.log
  i=0; while [ ! -e $LOG ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
  tail -n +1 -f $LOG 2>/dev/null & tailpid=$!
  side=
  if [ -n "$DOM0_SIDE" ]; then $DOM0_SIDE $domid & side=$!; fi
  i=0; while xenstore-read /local/domain/$domid/domid >/dev/null 2>&1; do
    if [ $i -ge $limit ]; then
      mark fail $name "domU still running after ${limit}s; destroying it"; xl destroy $dname; break
    fi
    sleep 1; i=$((i+1))
  done
  if [ -n "$side" ]; then
    i=0; while kill -0 $side 2>/dev/null && [ $i -lt $((${SIDE_LIMIT:-10} * 5)) ]; do sleep 0.2; i=$((i+1)); done
    kill -0 $side 2>/dev/null && mark fail $name "dom0 side still running; killed"
    kill $side 2>/dev/null; wait $side 2>/dev/null
  fi
  sleep 0.5; kill $tailpid 2>/dev/null
}

# ---- scenarios ----------------------------------------------------------------------------------
scen_linux_blk() {
  blkback on
  dd if=/dev/zero of=/tmp/disk.img bs=1M count=32 2>/dev/null
  cfg=$(mkcfg pvio-blk linux-blk 1 512 \
    "disk = [ 'format=raw, vdev=xvda, access=rw, backendtype=phy, script=/etc/xen/scripts/pvio-block, target=/tmp/disk.img' ]")
  DOM0_SIDE= run_domu linux-blk $cfg 120
  cat /var/log/xen/pvio-block.log 2>/dev/null; rm -f /var/log/xen/pvio-block.log
  losetup -a
  rm -f /tmp/disk.img
}

scen_pvio_platform() {
  DOM0_SIDE="$B/xenplat_check dom0" run_domu pvio-platform $(mkcfg pvio-plat pvio-platform 1 512) 120
}

# Scenario 1: the domU's own xen-blkfront against pvio-backd, attached by pvio-ctl; first with
# grant maps, then (after a detach, a pvio-backd restart and a re-attach) with grant copy.
S1=pvio-back-linux S1IMG=/tmp/s1.img
s1_files_ok() {  # the files the domU listed, read out of the image by debugfs, md5 compared
  n=0
  for f in $(sed -n "s/.*PVIO-XEN info $S1 sum \([0-9a-f]*\) \(.*\)$/\1:\2/p" $LOG | tr -d '\r'); do
    sum=${f%%:*} path=${f#*:}
    debugfs -R "dump $path /tmp/s1-file" $S1IMG >/dev/null 2>&1
    got=$(md5sum < /tmp/s1-file | cut -d' ' -f1); rm -f /tmp/s1-file
    [ "$got" = "$sum" ] || { mark fail $S1 "$1: $path is $got in the image, the domU wrote $sum"; return 1; }
    n=$((n+1))
  done
  [ $n -gt 0 ] || { mark fail $S1 "$1: no file sums from the domU"; return 1; }
  mark ok $S1 $1 files=$n
}
s1_fsck() {
  if e2fsck -fn $S1IMG > /tmp/s1-fsck 2>&1; then mark ok $S1 $1
  else mark fail $S1 "$1: e2fsck -fn of the backing file in dom0 failed"; cat /tmp/s1-fsck; fi
}
s1_side() {
  domid=$1
  truncate -s 256M $S1IMG
  # A worker thread serves the rings (dom0 has one vCPU, where the default is none).
  backd_start --max-queues 4 --threads 1 || { mark fail $S1 "pvio-backd did not start"; return; }
  $B/pvio-ctl block-attach $domid "format=raw, vdev=xvdb, access=rw, target=$S1IMG" ||
    { mark fail $S1 "pvio-ctl block-attach failed"; return; }
  mark ok $S1 attach-map
  wait_console "PVIO-XEN step $S1 detach-me" 300 || return
  STATS=$($B/pvio-ctl block-stats --json $domid xvdb); echo "$STATS"
  check_stats $S1 stats-map grant_mode eq map state eq 4 queues eq 2 ring_pages eq 4 \
    persistent eq 1 indirect_segments ge 1 indirect ge 1 flushes ge 1 discards ge 1 \
    persistent_hits ge 1 grant_maps ge 1 grant_copies eq 0 writes ge 1 reads ge 1 errors eq 0 bad_requests eq 0 \
    thread eq 1
  $B/pvio-ctl block-detach $domid xvdb || { mark fail $S1 "pvio-ctl block-detach failed"; return; }
  s1_fsck dom0-fsck-map
  s1_files_ok dom0-files-map
  backd_stop || mark fail $S1 "pvio-backd did not stop cleanly after SIGTERM"
  backd_start --max-queues 4 --grant-copy || { mark fail $S1 "pvio-backd --grant-copy did not start"; return; }
  $B/pvio-ctl block-attach $domid "format=raw, vdev=xvdb, access=rw, target=$S1IMG" ||
    { mark fail $S1 "second pvio-ctl block-attach failed"; return; }
  mark ok $S1 attach-copy
  wait_console "PVIO-XEN step $S1 detach-again" 300 || return
  STATS=$($B/pvio-ctl block-stats --json $domid xvdb); echo "$STATS"
  # in copy mode only the rings (2 queues x 4 pages) are mapped: every data page is copied
  check_stats $S1 stats-copy grant_mode eq copy state eq 4 grant_copies ge 1 grant_maps eq 8 \
    writes ge 1 reads ge 1 flushes ge 1 errors eq 0 bad_requests eq 0
  $B/pvio-ctl block-detach $domid xvdb || { mark fail $S1 "second block-detach failed"; return; }
  s1_fsck dom0-fsck-copy
  s1_files_ok dom0-files-copy
  backd_stop && mark ok $S1 backd-exit || mark fail $S1 "pvio-backd did not stop cleanly after SIGTERM"
}
scen_pvio_back_linux() {
  blkback off || { mark fail $S1 "cannot unload xen-blkback"; return; }
  DOM0_SIDE=s1_side SIDE_LIMIT=60 run_domu $S1 $(mkcfg pvio-s1 $S1 2 640) 420
  backd_stop; rm -f $S1IMG
  tail -20 /var/log/pvio-backd.log
}

# Scenarios 2 and 3: pvio's userspace blkfront (xenblk_check) in the domU, against dom0's
# kernel xen-blkback (attached by xl) or against pvio-backd (attached by pvio-ctl).  dom0
# hashes the backing file after the detach and compares with what the domU wrote.
front_side() {  # $1 = scenario, $2 = attach command, $3 = detach command, $4 = image; $5 = domid
  scen=$1 img=$4 domid=$5
  truncate -s 64M $img
  $2 $domid || { mark fail $scen "attach failed"; return; }
  wait_console "PVIO-XEN ok $scen front-close" 240 || return
  if backd_running; then
    STATS=$($B/pvio-ctl block-stats --json $domid xvdb); echo "$STATS"
    check_stats $scen stats requests ge 100 indirect ge 1 persistent_hits ge 1 discards ge 1 \
      flushes ge 1 errors eq 0 bad_requests eq 0
  fi
  $3 $domid || { mark fail $scen "detach failed"; return; }
  want=$(sed -n "s/.*PVIO-XEN ok $scen front-io hash=\([0-9a-f]*\).*/\1/p" $LOG | tr -d '\r')
  got=$($B/xenblk_check hash $img 16)
  if [ -n "$want" ] && [ "$want" = "$got" ]; then mark ok $scen dom0-image hash=$got
  else mark fail $scen "backing file hash $got, the domU wrote $want"; fi
}
xl_attach() { xl block-attach $1 "format=raw, vdev=xvdb, access=rw, backendtype=phy, script=/etc/xen/scripts/pvio-block, target=/tmp/s2.img"; }
xl_detach() { xl block-detach $1 xvdb; }
s2_side() { front_side pvio-front-blkback xl_attach xl_detach /tmp/s2.img $1; }
scen_pvio_front_blkback() {
  blkback on || { mark fail pvio-front-blkback "cannot load xen-blkback"; return; }
  DOM0_SIDE=s2_side SIDE_LIMIT=30 run_domu pvio-front-blkback $(mkcfg pvio-s2 pvio-front-blkback 1 512) 300
  cat /var/log/xen/pvio-block.log 2>/dev/null; rm -f /var/log/xen/pvio-block.log /tmp/s2.img
}
ctl_attach() { $B/pvio-ctl block-attach $1 "format=raw, vdev=xvdb, access=rw, target=/tmp/s3.img"; }
ctl_detach() { $B/pvio-ctl block-detach $1 xvdb; }
s3_side() { front_side pvio-pvio ctl_attach ctl_detach /tmp/s3.img $1; }
scen_pvio_pvio() {
  blkback off || { mark fail pvio-pvio "cannot unload xen-blkback"; return; }
  backd_start --max-queues 4 || { mark fail pvio-pvio "pvio-backd did not start"; return; }
  DOM0_SIDE=s3_side SIDE_LIMIT=30 run_domu pvio-pvio $(mkcfg pvio-s3 pvio-pvio 2 512) 300
  backd_stop && mark ok pvio-pvio backd-exit || mark fail pvio-pvio "pvio-backd did not stop cleanly after SIGTERM"
  rm -f /tmp/s3.img
  tail -40 /var/log/pvio-backd.log
}

# Side-by-side timing: the same fio jobs in one domU against QEMU's qdisk (when Debian's
# qemu-system-xen is in the image), pvio-backd (grant map, grant copy) and Linux's blkback,
# all on files in dom0's tmpfs.  TCG distorts absolute numbers: compare the ratios.
BIMG=/tmp/bench.img
bench_attach() {  # $1 = back end, $2 = domid
  case $1 in
  pvio-map)  blkback off && backd_start --max-queues 4 && $B/pvio-ctl block-attach $2 "format=raw, vdev=xvdb, access=rw, target=$BIMG" ;;
  # PVIO_XEN_BENCH_AB: a worker thread in the same boot, against the default (on dom0's
  # one vCPU: no worker, the main loop serves the ring)
  pvio-thread) blkback off && backd_start --max-queues 4 --threads 1 && $B/pvio-ctl block-attach $2 "format=raw, vdev=xvdb, access=rw, target=$BIMG" ;;
  pvio-copy) blkback off && backd_start --max-queues 4 --grant-copy && $B/pvio-ctl block-attach $2 "format=raw, vdev=xvdb, access=rw, target=$BIMG" ;;
  blkback)   blkback on && xl block-attach $2 "format=raw, vdev=xvdb, access=rw, backendtype=phy, script=/etc/xen/scripts/pvio-block, target=$BIMG" ;;
  esac
}
bench_detach() {
  case $1 in
  # What pvio-backd did for those jobs: persistent hits against maps, evictions, wake-ups
  pvio-*)  $B/pvio-ctl block-stats $2 xvdb | grep -E '^(queues|queue_threads|requests|reads|writes|indirect|persistent_hits|persistent_evictions|grant_maps|grant_map_calls|grant_unmaps|grant_copies|notifications_in|notifications_out|loop_wakeups|sync_ios) ' | tr -s ' ' | tr '\n' ' '; echo
           $B/pvio-ctl block-detach $2 xvdb && backd_stop ;;
  blkback) xl block-detach $2 xvdb ;;
  esac
}
bench_side() {
  domid=$1
  wait_console "PVIO-XEN step bench ready" 240 || { mark fail bench "the domU never got ready"; return; }
  grep -q "PVIO-XEN bench qdisk" $LOG && mark ok bench qdisk
  bes="pvio-map pvio-copy blkback"
  [ "$(arg pvio.bench_ab)" = 1 ] && bes="pvio-map pvio-thread pvio-copy blkback"
  [ "$(arg pvio.bench_ab)" = 2 ] && bes="pvio-thread pvio-map pvio-copy blkback"
  for be in $bes; do
    xenstore-write /local/domain/$domid/data/pvio-bench $be
    bench_attach $be $domid || { mark fail bench "attaching $be failed"; continue; }
    # dom0's busy ticks while the domU runs this back end's jobs (not the attach: xl's
    # hotplug scripts are dom0 work too, but not the back end's per I/O)
    wait_console "PVIO-XEN step bench start $be" 120 || mark fail bench "$be: the jobs never started"
    c0=$(cpu_busy)
    perf_begin $be
    wait_console "PVIO-XEN step bench done $be" 180 && mark ok bench $be
    mark bench-cpu $be dom0_ticks=$(($(cpu_busy) - c0)) hz=100
    perf_end $be
    bench_detach $be $domid || mark fail bench "detaching $be failed"
  done
  xenstore-write /local/domain/$domid/data/pvio-bench end
}
scen_bench() {
  dd if=/dev/urandom of=$BIMG bs=1M count=128 2>/dev/null
  # The back ends copy the tmpfs file's bytes differently: pvio-backd's preadv into the
  # guest's mapped pages is a copy_to_user, blkback's loop device copies in the kernel.
  # What each costs on this (TCG, PV dom0) machine, outside any guest:
  # (busybox's losetup: -f names the next free device, then it is set up by name)
  lo=$(losetup -f) && losetup $lo $BIMG &&
    mark info bench "copy probe, 128 MiB: $($B/copy_probe $BIMG $lo 2>&1)" && losetup -d $lo
  disk=
  if [ -x /usr/libexec/xen-qemu-system-i386 ]; then
    cp $BIMG /tmp/bench-q.img
    disk="disk = [ 'format=raw, vdev=xvdc, access=rw, backendtype=qdisk, target=/tmp/bench-q.img' ]"
  fi
  DOM0_SIDE=bench_side SIDE_LIMIT=30 run_domu bench $(mkcfg pvio-bench bench 2 640 "$disk") 600
  backd_stop; rm -f $BIMG /tmp/bench-q.img
}

# Scenario 4: the domU's xen-blkfront runs fio with verify on xvdb; pvio-backd is killed
# with SIGKILL in the middle of the writes and started again.  The restarted daemon
# resumes each ring from its journal in /run/pvio: every request in flight is answered
# once, and fio's verify must pass.
S4=pvio-kill S4IMG=/tmp/s4.img
s4_side() {
  domid=$1
  truncate -s 256M $S4IMG
  backd_start --max-queues 4 --threads 1 || { mark fail $S4 "pvio-backd did not start"; return; }
  $B/pvio-ctl block-attach $domid "format=raw, vdev=xvdb, access=rw, target=$S4IMG" ||
    { mark fail $S4 "pvio-ctl block-attach failed"; return; }
  mark ok $S4 attach
  wait_console "PVIO-XEN step $S4 kill-me" 300 || return
  sleep 3   # fio is writing: kill it with requests in flight
  pid=$(cat /run/pvio-backd.pid); rm -f /run/pvio-backd.pid
  mark info $S4 "journals: $(ls /run/pvio/*.journal 2>/dev/null | tr '\n' ' ')"
  kill -KILL $pid && mark ok $S4 killed pid=$pid
  i=0; while kill -0 $pid 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
  sleep 2   # the guest notices nothing but silence
  backd_start --max-queues 4 --threads 1 || { mark fail $S4 "pvio-backd did not start again"; return; }
  mark ok $S4 restarted
  wait_console "PVIO-XEN step $S4 detach-me" 300 || return
  STATS=$($B/pvio-ctl block-stats --json $domid xvdb); echo "$STATS"
  check_stats $S4 stats state eq 4 journal_lost eq 0 errors eq 0 writes ge 1
  $B/pvio-ctl block-detach $domid xvdb || { mark fail $S4 "pvio-ctl block-detach failed"; return; }
  [ -z "$(ls /run/pvio/*.journal 2>/dev/null)" ] || mark fail $S4 "journal left after the detach"
  backd_stop && mark ok $S4 backd-exit || mark fail $S4 "pvio-backd did not stop cleanly after SIGTERM"
}
scen_pvio_kill() {
  blkback off || { mark fail $S4 "cannot unload xen-blkback"; return; }
  DOM0_SIDE=s4_side SIDE_LIMIT=60 run_domu $S4 $(mkcfg pvio-s4 $S4 2 512) 360
  backd_stop; rm -f $S4IMG
  grep -E "journal|killed|waiting" /var/log/pvio-backd.log | tail -20
}

# ---- net scenarios ----------------------------------------------------------------------------
# dom0 serves files to the domU's transfers (xennet_xfer serve) from /tmp/net: down.bin
# (16 MiB random; its sha256 goes into the domU's data/pvio-down-sha) and whatever it uploads
VIFCFG="vif = [ 'mac=00:16:3e:00:00:02, bridge=xenbr0, script=/etc/xen/scripts/pvio-vif' ]"
xfer_start() {
  rm -rf /tmp/net; mkdir -p /tmp/net
  dd if=/dev/urandom of=/tmp/net/down.bin bs=1M count=16 2>/dev/null
  ( sh -c 'echo $$ > /run/xfer.pid; exec "$0" "$@"' $B/xennet_xfer serve 5001 /tmp/net 2>>/var/log/xennet-xfer.log & )
}
xfer_stop() { [ -s /run/xfer.pid ] && kill $(cat /run/xfer.pid) 2>/dev/null; rm -f /run/xfer.pid; cat /var/log/xennet-xfer.log; rm -f /var/log/xennet-xfer.log; }
# dom0's CPU once a second on the console, between the domU's marks: busy (user nice system
# irq softirq), idle (with iowait) and steal, in % (shell builtins only: no fork but sleep)
cpu_sampler() {
  read -r _ u n s i w q sq st _ < /proc/stat; b0=$((u + n + s + q + sq)) i0=$((i + w)) s0=$st
  while sleep 1; do
    read -r _ u n s i w q sq st _ < /proc/stat; b1=$((u + n + s + q + sq)) i1=$((i + w))
    a=$((b1 - b0 + i1 - i0 + st - s0 + 1))
    echo "PVIO-XEN info dom0-cpu busy=$(( (b1 - b0) * 100 / a ))% idle=$(( (i1 - i0) * 100 / a ))% steal=$(( (st - s0) * 100 / a ))%"
    b0=$b1 i0=$i1 s0=$st
  done
}
# $1 = scenario, $2 = queues pvio-backd must have negotiated (0: Linux's netback, no stats),
# $3 = attach command or "-", $4 = domid
net_side() {
  scen=$1 nq=$2 attach=$3 domid=$4
  xenstore-write /local/domain/$domid/data/pvio-down-sha $(sha256sum < /tmp/net/down.bin | cut -d' ' -f1)
  if [ "$attach" != - ]; then $attach $domid && mark ok $scen attach || { mark fail $scen "attach failed"; return; }; fi
  cpu_sampler & cspid=$!
  wait_console "PVIO-XEN step $scen stats-me" 300; r=$?
  kill $cspid
  if [ $r != 0 ]; then
    xenstore-ls -f /local/domain/0/backend/vif/$domid; xenstore-ls -f /local/domain/$domid/device/vif
    return
  fi
  for tag in on off; do
    want=$(sed -n "s/.*PVIO-XEN info $scen up-$tag \([0-9a-f]*\) .*/\1/p" $LOG | tr -d '\r')
    got=$(sha256sum < /tmp/net/up-$tag.bin | cut -d' ' -f1)
    if [ -n "$want" ] && [ "$got" = "$want" ]; then mark ok $scen dom0-up-$tag sha256=$got
    else mark fail $scen "upload ($tag): dom0 received sha256 $got, the domU sent $want"; fi
  done
  if [ $nq -gt 0 ]; then
    STATS=$($B/pvio-ctl network-stats --json $domid 0); echo "$STATS"
    check_stats $scen stats state eq 4 queues eq $nq split_event_channels eq 1 sg eq 1 \
      gso_tcpv4 eq 1 csum eq 1 tx_bytes ge 33554432 rx_bytes ge 33554432 tx_gso ge 1 \
      protocol_errors eq 0 tx_bad_grant eq 0 rx_bad_grant eq 0 tx_bad_csum eq 0
  else  # Linux's vif: on the bridge (the pvio-vif script), and the 2 x 16 MiB each way went through it
    v=/sys/class/net/vif$domid.0
    tx=$(cat $v/statistics/tx_bytes 2>/dev/null) rx=$(cat $v/statistics/rx_bytes 2>/dev/null)
    if [ -e /sys/class/net/xenbr0/brif/vif$domid.0 ] && [ "${tx:-0}" -ge 33554432 ] && [ "${rx:-0}" -ge 33554432 ]; then
      mark ok $scen linux-vif tx_bytes=$tx rx_bytes=$rx
    else
      mark fail $scen "vif$domid.0: on xenbr0: $(ls /sys/class/net/xenbr0/brif | tr '\n' ' '), tx_bytes=$tx rx_bytes=$rx"
    fi
  fi
  xenstore-write /local/domain/$domid/data/pvio-stats-done 1
}
ctl_net_attach() { $B/pvio-ctl network-attach $1 "mac=00:16:3e:00:00:04,bridge=xenbr0"; }
ctl_net_detach() { $B/pvio-ctl network-detach $1 0; }

# N1: the domU's own xen-netfront (2 vCPUs: 2 queues) against pvio-backd, the vif declared
# in the xl config with the pvio-vif hotplug script; and a disk declared there too, with the
# no-op pvio-noop script (docs/xen.md's recipe), served by the same pvio-backd
N1=pvio-netback-linux N1IMG=/tmp/n1disk.img
scen_netback_linux() {
  netback off || { mark fail $N1 "cannot unload xen-netback"; return; }
  blkback off || { mark fail $N1 "cannot unload xen-blkback"; return; }
  backd_start --max-queues 2 || { mark fail $N1 "pvio-backd did not start"; return; }
  xfer_start
  truncate -s 64M $N1IMG
  DOM0_SIDE="net_side $N1 2 -" SIDE_LIMIT=30 run_domu $N1 $(mkcfg pvio-n1 $N1 2 512 "$VIFCFG" \
    "disk = [ 'format=raw, vdev=xvdc, access=rw, backendtype=phy, script=/etc/xen/scripts/pvio-noop, target=$N1IMG' ]") 400
  xfer_stop
  want=$(sed -n "s/.*PVIO-XEN ok $N1 xl-disk md5=\([0-9a-f]*\).*/\1/p" $LOG | tr -d '\r')
  got=$(dd if=$N1IMG bs=1M skip=1 count=4 2>/dev/null | md5sum | cut -d' ' -f1)
  if [ -n "$want" ] && [ "$got" = "$want" ]; then mark ok $N1 dom0-xl-disk md5=$got
  else mark fail $N1 "the xl config's disk: the backing file has md5 $got, the domU wrote $want"; fi
  rm -f $N1IMG
  i=0; while xenstore-ls /local/domain/0/backend/vif 2>/dev/null | grep -q . && [ $i -lt 50 ]; do sleep 0.2; i=$((i+1)); done
  backd_stop && mark ok $N1 backd-exit || mark fail $N1 "pvio-backd did not stop cleanly after SIGTERM"
  tail -20 /var/log/pvio-backd.log; cat /var/log/xen/pvio-vif.log 2>/dev/null; rm -f /var/log/xen/pvio-vif.log
}
# N2: pvio-tap in the domU against Linux's xen-netback, the vif declared in the xl config
N2=pvio-netfront-netback
scen_netfront_netback() {
  netback on || { mark fail $N2 "cannot load xen-netback"; return; }
  xfer_start
  DOM0_SIDE="net_side $N2 0 -" SIDE_LIMIT=30 run_domu $N2 $(mkcfg pvio-n2 $N2 1 512 "$VIFCFG") 400
  xfer_stop
  cat /var/log/xen/pvio-vif.log 2>/dev/null; rm -f /var/log/xen/pvio-vif.log
  i=0; while xenstore-ls /local/domain/0/backend/vif 2>/dev/null | grep -q . && [ $i -lt 50 ]; do sleep 0.2; i=$((i+1)); done
  netback off
}
# N3: pvio-tap against pvio-backd, the vif attached by pvio-ctl once the domU runs and
# detached after it ended
N3=pvio-net-pvio
n3_side() {
  net_side $N3 2 ctl_net_attach $1
  i=0; while xenstore-read /local/domain/$1/domid >/dev/null 2>&1 && [ $i -lt 100 ]; do sleep 0.5; i=$((i+1)); done
  ctl_net_detach $1 && mark ok $N3 detach || mark fail $N3 "pvio-ctl network-detach failed"
}
scen_net_pvio() {
  netback off || { mark fail $N3 "cannot unload xen-netback"; return; }
  backd_start --max-queues 2 --log-level debug || { mark fail $N3 "pvio-backd did not start"; return; }
  xfer_start
  DOM0_SIDE=n3_side SIDE_LIMIT=60 run_domu $N3 $(mkcfg pvio-n3 $N3 2 512) 400
  xfer_stop
  backd_stop && mark ok $N3 backd-exit || mark fail $N3 "pvio-backd did not stop cleanly after SIGTERM"
  tail -20 /var/log/pvio-backd.log
}

# Net timing in one boot: the domU's xen-netfront (1 vCPU, so one queue with either back end)
# against pvio-backd (attached by pvio-ctl) and Linux's xen-netback (xl network-attach); dom0's
# CPU time over each back end's whole run goes with the bytes moved
cpu_busy() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 }' /proc/stat; }   # user nice system irq softirq, in ticks
# PVIO_XEN_PERF=1 (pvio.perf=1): where dom0's CPU goes during one back end's run.
# perf_begin NAME starts a system-wide profile (sets pp); perf_end NAME prints it.
perf_begin() {
  pp=
  if [ "$(arg pvio.perf)" = 1 ] && command -v perf >/dev/null; then
    perf record -q -e cpu-clock -F 250 -a -g -o /tmp/perf-$1.data >/dev/null 2>&1 & pp=$!
  fi
}
perf_end() {
  [ -n "$pp" ] || return 0
  kill -INT $pp; wait $pp
  echo "---- perf $1: dom0 samples by command and object ----"
  perf report -i /tmp/perf-$1.data --stdio --no-children --sort comm,dso --percent-limit 1 -g none 2>/dev/null | grep -v '^#' | grep -v '^$' | head -25
  echo "---- perf $1: by symbol ----"
  perf report -i /tmp/perf-$1.data --stdio --no-children --sort comm,sym --percent-limit 1 -g none 2>/dev/null | grep -v '^#' | grep -v '^$' | head -50
  echo "---- perf $1: callers, by symbol with children ----"
  perf report -i /tmp/perf-$1.data --stdio --children --sort sym --percent-limit 4 -g caller,0.5,callee --max-stack 12 2>/dev/null | grep -v '^#' | grep -v '^$' | head -150
  rm -f /tmp/perf-$1.data
}
nbench_side() {
  domid=$1
  # PVIO_XEN_PERF, PVIO_XEN_TXOFF: the domU runs the offloads-off TCP run alone (what is profiled)
  [ "$(arg pvio.perf)" = 1 ] || [ "$(arg pvio.txoff)" = 1 ] && xenstore-write /local/domain/$domid/data/pvio-bench-legs txoff
  wait_console "PVIO-XEN step net-bench ready" 240 || { mark fail net-bench "the domU never got ready"; return; }
  iperf3 -s -D -I /run/iperf3.pid --logfile /tmp/iperf3.log
  for be in pvio linux; do
    xenstore-write /local/domain/$domid/data/pvio-bench $be
    c0=$(cpu_busy)
    pp=
    [ "$(arg pvio.txoff)" != 1 ] && perf_begin $be
    case $be in
    pvio)  netback off && backd_start && ctl_net_attach $domid ;;
    linux) netback on && xl network-attach $domid mac=00:16:3e:00:00:06 bridge=xenbr0 script=/etc/xen/scripts/pvio-vif ;;
    esac || { mark fail net-bench "attaching $be failed"; continue; }
    # PVIO_XEN_TXOFF=1 with PVIO_XEN_PERF=1: pvio-backd's system calls, counted and timed
    tp=
    if [ $be = pvio ] && [ "$(arg pvio.txoff)" = 1 ] && command -v perf >/dev/null; then
      mountpoint -q /sys/kernel/tracing || mount -t tracefs tracefs /sys/kernel/tracing
      mountpoint -q /sys/kernel/debug || mount -t debugfs debugfs /sys/kernel/debug
      perf trace -s -p $(cat /run/pvio-backd.pid) -o /tmp/ptrace.txt >/dev/null 2>&1 & tp=$!
    fi
    wait_console "PVIO-XEN step net-bench done $be" 240 && mark ok net-bench $be
    if [ -n "$tp" ]; then
      kill -INT $tp; wait $tp
      echo "---- perf trace -s of pvio-backd ----"; grep -v '^$' /tmp/ptrace.txt | head -60
      dmesg | grep -i -E "clocksource|pvclock|vclock" | tail -5
    fi
    c1=$(cpu_busy)
    mark bench-net $be dom0_ticks=$((c1 - c0)) hz=100
    perf_end $be
    case $be in
    pvio)  $B/pvio-ctl network-stats $domid 0; ctl_net_detach $domid && backd_stop ;;
    linux) xl network-detach $domid 0 ;;
    esac || mark fail net-bench "detaching $be failed"
  done
  xenstore-write /local/domain/$domid/data/pvio-bench end
  [ -s /run/iperf3.pid ] && kill $(cat /run/iperf3.pid)
}
scen_net_bench() {
  DOM0_SIDE=nbench_side SIDE_LIMIT=30 run_domu net-bench $(mkcfg pvio-nb net-bench 1 512) 600
  backd_stop; netback off
}

SCENS=$(arg pvio.scenarios); [ -n "$SCENS" ] || SCENS=linux-blk,pvio-platform,pvio-back-linux,pvio-front-blkback,pvio-pvio
for s in $(echo $SCENS | tr ',' ' '); do
  mark begin $s
  case $s in
    linux-blk)     scen_linux_blk ;;
    pvio-platform) scen_pvio_platform ;;
    pvio-back-linux)    scen_pvio_back_linux ;;
    pvio-front-blkback) scen_pvio_front_blkback ;;
    pvio-pvio)          scen_pvio_pvio ;;
    pvio-kill)          scen_pvio_kill ;;
    bench)              scen_bench ;;
    pvio-netback-linux) scen_netback_linux ;;
    pvio-netfront-netback) scen_netfront_netback ;;
    pvio-net-pvio)      scen_net_pvio ;;
    net-bench)          scen_net_bench ;;
    *)             mark fail $s "unknown scenario" ;;
  esac
  mark end $s
done
finish
