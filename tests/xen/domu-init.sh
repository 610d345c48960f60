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

# $1 = interface: wait for it, 10.0.0.2/24, up, and dom0 (10.0.0.1) answering
net_up() {
  i=0; while [ ! -e /sys/class/net/$1 ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done
  [ -e /sys/class/net/$1 ] || return 1
  ip addr add 10.0.0.2/24 dev $1; ip link set $1 up
  i=0; while ! ping -c 1 -W 2 10.0.0.1 >/dev/null 2>&1; do i=$((i+1)); [ $i -ge 30 ] && return 2; done
}
# The domU's CPU: busy (user nice system irq softirq) and all ticks, from /proc/stat
cpu_busy() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 }' /proc/stat; }
cpu_all() { awk '/^cpu / { print $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat; }
# The vif's interrupts so far (xen-netfront's tx and rx event channels), as name=count
vif_irqs() { awk '/vif[0-9]*-q[0-9]*-(tx|rx)/ { print "irq_" $NF "=" $2 }' /proc/interrupts | tr '\n' ' '; }
# $1 = scenario, $2 = interface, $3 = tag: ping, then 16 MiB up and the dom0 file down, each
# sha256 compared (dom0 compares the upload against the "up-<tag>" line; the domU the download
# against what dom0 published in data/pvio-down-sha)
net_xfer() {
  ping -c 5 -i 0.2 10.0.0.1 > /tmp/ping.out 2>&1 || { cat /tmp/ping.out; mark fail $1 "ping ($3)"; return 1; }
  mark ok $1 ping-$3 "$(tail -1 /tmp/ping.out)"
  dd if=/dev/urandom of=/tmp/up.bin bs=1M count=16 2>/dev/null
  sum=$(sha256sum < /tmp/up.bin | cut -d' ' -f1)
  c0=$(cpu_busy); t0=$(cpu_all)
  r=$(xennet_xfer put 10.0.0.1 5001 /tmp/up.bin up-$3.bin) || { mark fail $1 "upload ($3) failed"; return 1; }
  c1=$(cpu_busy); t1=$(cpu_all)
  mark info $1 up-$3 $sum $r domu_busy=$(( (c1 - c0) * 100 / (t1 - t0 + 1) ))%
  rm -f /tmp/down.bin
  r=$(xennet_xfer get 10.0.0.1 5001 down.bin /tmp/down.bin) || { mark fail $1 "download ($3) failed"; return 1; }
  got=$(sha256sum < /tmp/down.bin | cut -d' ' -f1); want=$(xenstore-read data/pvio-down-sha)
  if [ -n "$want" ] && [ "$got" = "$want" ]; then mark ok $1 down-$3 $r
  else mark fail $1 "download ($3): sha256 $got, dom0 sent $want"; return 1; fi
}

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
    mark step bench start $be
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
pvio-netback-linux|pvio-netfront-netback|pvio-net-pvio)
  # Scenarios N1-N3: one vif, 10.0.0.2/24 here, dom0's xenbr0 at 10.0.0.1; ping and 16 MiB
  # each way (xennet_xfer; sha256 at both ends) with the offloads on, then off.  The front
  # end is the kernel's xen-netfront (N1) or pvio-tap (N2, N3: xen-netfront not loaded).
  S=$SCEN
  fail() { mark fail $S "$*"; mark domu-done $S; poweroff -f; }
  insmod /lib/modules/tun.ko 2>/dev/null
  if [ $S = pvio-netback-linux ]; then
    # and a disk from the xl config (script=pvio-noop), served by the same pvio-backd
    insmod /lib/modules/xen-blkfront.ko
    i=0; while [ ! -b /dev/xvdc ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done
    [ -b /dev/xvdc ] || fail "/dev/xvdc (the xl config's disk, script=pvio-noop) did not appear"
    dd if=/dev/urandom of=/tmp/pat bs=1M count=4 2>/dev/null
    W=$(md5sum < /tmp/pat | cut -d' ' -f1)
    dd if=/tmp/pat of=/dev/xvdc bs=1M seek=1 conv=fsync 2>/dev/null
    blockdev --flushbufs /dev/xvdc; echo 3 > /proc/sys/vm/drop_caches
    R=$(dd if=/dev/xvdc bs=1M count=4 skip=1 2>/dev/null | md5sum | cut -d' ' -f1)
    [ "$W" = "$R" ] || fail "xvdc: wrote md5 $W, read back $R"
    mark ok $S xl-disk md5=$W
    insmod /lib/modules/xen-netfront.ko
  else
    # pvio-ctl attaches the vif of N3 after the domU started: wait for it
    i=0; while ! xenstore-read device/vif/0/backend >/dev/null 2>&1 && [ $i -lt 1200 ]; do sleep 0.1; i=$((i+1)); done
    # --timeout: under TCG its connect took 11 s once, past netfront's default 10 (it gave up
    # and ended its grants as pvio-backd mapped them)
    pvio-tap --platform xen --vif 0 --max-queues 2 --timeout 60 --daemon --pidfile /tmp/tap.pid -v 2>/tmp/tap.err ||
      { cat /tmp/tap.err; fail "pvio-tap did not start"; }
    cat /tmp/tap.err
  fi
  net_up eth0; case $? in 1) fail "eth0 did not appear" ;; 2) fail "eth0 is up, but dom0 (10.0.0.1) did not answer ping within 60 s" ;; esac
  mark info $S "eth0: $(ls -d /sys/class/net/eth0/queues/tx-* | wc -l) tx queues, $(cat /sys/class/net/eth0/address)"
  net_xfer $S eth0 on || fail "transfers with the offloads on"
  ethtool -K eth0 tso off gso off sg off tx off 2>&1 | head -3
  mark info $S "offloads off: $(ethtool -k eth0 2>/dev/null | grep -E '^(tx-checksumming|scatter-gather|tcp-segmentation-offload|generic-segmentation-offload):' | tr '\n' ' ')"
  net_xfer $S eth0 off || fail "transfers with the offloads off"
  mark step $S stats-me
  i=0; while [ -z "$(xenstore-read data/pvio-stats-done 2>/dev/null)" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done
  if [ -s /tmp/tap.pid ]; then
    p=$(cat /tmp/tap.pid); kill $p; i=0; while kill -0 $p 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
  fi
  ;;
net-bench)
  # the same measurements against each back end dom0 attaches in turn (it names the back end
  # in data/pvio-bench): ping RTT, iperf3 TCP each way, 64-byte UDP
  insmod /lib/modules/xen-netfront.ko
  mark step net-bench ready
  while :; do
    i=0
    while ! ls /sys/class/net | grep -q '^eth' && [ "$(xenstore-read data/pvio-bench 2>/dev/null)" != end ] && [ $i -lt 1800 ]; do
      sleep 0.1; i=$((i+1))
    done
    IF=$(ls /sys/class/net | grep '^eth' | head -1)
    [ -n "$IF" ] || break
    be=$(xenstore-read data/pvio-bench)
    # PVIO_XEN_PERF or PVIO_XEN_TXOFF: dom0 asks for the offloads-off run alone
    legs=$(xenstore-read data/pvio-bench-legs 2>/dev/null)
    up=0 res=; net_up $IF && up=1
    if [ $up = 1 ] && [ "$legs" != txoff ]; then
      ping -c 20 -i 0.2 10.0.0.1 > /tmp/ping.out 2>&1
      rtt=$(sed -n 's#.*= [0-9.]*/\([0-9.]*\)/.*#\1#p' /tmp/ping.out)
      res="rtt_ms=${rtt:-0}"
      for d in tx rx; do
        r=; [ $d = rx ] && r=-R
        iperf3 -c 10.0.0.1 -t 8 -O 1 $r -f m > /tmp/ip.out 2>&1 || cat /tmp/ip.out
        m=$(awk '/receiver/ { for (i = 1; i < NF; i++) if ($(i+1) == "Mbits/sec") print $i }' /tmp/ip.out | tail -1)
        b=$(awk '/receiver/ { for (i = 1; i < NF; i++) if ($(i+1) ~ /Bytes$/) { v = $i; u = $(i+1) } }
                 END { if (u == "GBytes") v *= 1024; if (u == "KBytes") v /= 1024; printf "%.1f", v }' /tmp/ip.out)
        res="$res tcp_${d}_mbps=${m:-0} tcp_${d}_mib=${b:-0}"
      done
      iperf3 -c 10.0.0.1 -u -l 64 -b 0 -t 5 -f m > /tmp/ip.out 2>&1 || cat /tmp/ip.out
      grep -E "sender|receiver" /tmp/ip.out
      pps=$(awk '/receiver/ { for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+\/[0-9]+$/) { split($i, a, "/"); n = a[2] - a[1] }
                              for (i = 1; i < NF; i++) if ($(i+1) == "sec" && $i ~ /-/) { split($i, t, "-"); s = t[2] } }
                 END { if (s > 0) printf "%d", n / s; else print 0 }' /tmp/ip.out)
      res="$res udp64_pps=${pps:-0}"
    fi
    if [ $up = 1 ]; then
      # domU -> dom0 with the offloads off: 1448-byte frames, where the two back ends differed
      # most (docs/xen.md); the domU's own CPU over that run says whether it was the limit
      ethtool -K $IF tso off gso off sg off tx off >/dev/null 2>&1
      mark info net-bench "$be before txoff: $(vif_irqs)"
      c0=$(cpu_busy); t0=$(cpu_all)
      iperf3 -c 10.0.0.1 -t 8 -O 1 -f m > /tmp/ip.out 2>&1 || cat /tmp/ip.out
      c1=$(cpu_busy); t1=$(cpu_all)
      mark info net-bench "$be after txoff: $(vif_irqs)"
      m=$(awk '/receiver/ { for (i = 1; i < NF; i++) if ($(i+1) == "Mbits/sec") print $i }' /tmp/ip.out | tail -1)
      res="$res tcp_txoff_mbps=${m:-0} domu_busy_txoff=$(( (c1 - c0) * 100 / (t1 - t0 + 1) ))%"
      mark bench-net $be $res
    else
      mark fail net-bench "$IF did not come up against $be"
    fi
    mark step net-bench done $be
    i=0; while [ -e /sys/class/net/$IF ] && [ $i -lt 1200 ]; do sleep 0.1; i=$((i+1)); done
    ip addr flush dev $IF 2>/dev/null
  done
  ;;
pvio-front-blkback|pvio-pvio)
  # pvio's userspace blkfront: the kernel's xen-blkfront is not loaded.  First pvio-bench
  # on the same disk (random reads: the check below still finds what it wrote), so that
  # run.py sets pvio-backd against Linux's xen-blkback as seen by pvio's front end.
  # The last: two queues, each driven by a thread of its own on a xenevtchn handle of its
  # own (--queue-threads), against whatever number of queues the back end offers.
  bench_ok=1
  for job in 1 16 16-qthreads; do
    qd=${job%%-*}; more=""
    [ "$job" = 16-qthreads ] && more="--queues 2 --queue-threads"
    # shellcheck disable=SC2086
    if pvio-bench --platform xen --vdev xvdb --iodepth $qd --runtime 3 --ramp 1 $more \
         --baselines none --csv --quiet > /tmp/pb.csv 2> /tmp/pb.err; then
      res=$(awk -F, 'NR == 2 && $11 > 0 { printf "iops=%d p50_us=%s p99_us=%s cpu_front_us=%s queues=%s", $11, $13, $14, $21, $NF }' /tmp/pb.csv)
      if [ -n "$res" ]; then mark bench-front $SCEN randread-qd$job $res
      else bench_ok=0; cat /tmp/pb.csv; mark fail $SCEN "pvio-bench --platform xen qd$job: no I/O"; fi
    else
      bench_ok=0; cat /tmp/pb.err; mark fail $SCEN "pvio-bench --platform xen qd$job failed"
    fi
  done
  [ $bench_ok = 1 ] && mark ok $SCEN pvio-bench
  xenblk_check front $SCEN 51728 16 && xenblk_check wait-gone $SCEN 51728 120
  ;;
*)
  mark fail "$SCEN" "unknown scenario in the domU"
  ;;
esac
mark domu-done $SCEN
poweroff -f
