#!/usr/bin/env python3
"""Drive Xen + dom0 under QEMU (TCG) for tests/xen/run.sh and judge the scenarios.

Reads the serial console (Xen's com1, which also carries dom0's hvc0 and, through dom0, the
domU consoles), timestamps each line into <logdir>/serial-<time>.log and follows the
"PVIO-XEN ..." markers printed by dom0-init.sh, domu-init.sh and xenplat_check:

  PVIO-XEN dom0-ready | share-mounted | begin <s> | end <s> | all-done
  PVIO-XEN ok <s> <check>            one required check of scenario <s> passed
  PVIO-XEN fail <s> <reason>         scenario <s> (or "boot") failed

Each phase has its own time limit, so a hang anywhere fails in bounded time.  Only the QEMU
process started here is ever killed (by its pid).
"""
import argparse, os, re, select, signal, subprocess, sys, time

# what each scenario must report to pass
REQUIRED = {
    "linux-blk": ["domu-rw"],
    "pvio-platform": ["domu", "dom0"],
    # 1: Linux's xen-blkfront in the domU, pvio-backd in dom0 (grant map, then grant copy)
    "pvio-back-linux": ["attach-map", "domu-write", "stats-map", "dom0-fsck-map", "dom0-files-map",
                        "attach-copy", "domu-reverify", "domu-copy", "stats-copy",
                        "dom0-fsck-copy", "dom0-files-copy", "backd-exit"],
    # 2: pvio's blkfront in the domU, Linux's xen-blkback in dom0
    "pvio-front-blkback": ["pvio-bench", "front-io", "front-close", "dom0-image"],
    # 3: pvio's blkfront in the domU, pvio-backd in dom0
    "pvio-pvio": ["pvio-bench", "front-io", "front-close", "stats", "dom0-image", "backd-exit"],
    # 4: Linux's xen-blkfront under fio with verify; pvio-backd killed (SIGKILL) mid-I/O and
    # restarted: the I/O continues and verifies (the restart journal)
    "pvio-kill": ["attach", "killed", "restarted", "domu-fio", "stats", "backd-exit"],
    # side-by-side fio timing in one domU (qdisk too when qemu-system-xen runs in dom0)
    "bench": ["pvio-map", "pvio-copy", "blkback"],
    # N1: Linux's xen-netfront in the domU (2 vCPUs, 2 queues), pvio-backd's netback in dom0
    # (and a disk in its xl config, script=pvio-noop, served by pvio-backd)
    "pvio-netback-linux": ["xl-disk", "ping-on", "down-on", "dom0-up-on", "ping-off", "down-off",
                           "dom0-up-off", "stats", "dom0-xl-disk", "backd-exit"],
    # N2: pvio-tap (pvio's netfront) in the domU, Linux's xen-netback in dom0
    "pvio-netfront-netback": ["ping-on", "down-on", "dom0-up-on", "ping-off", "down-off",
                              "dom0-up-off", "linux-vif"],
    # N3: pvio-tap against pvio-backd, attached and detached by pvio-ctl
    "pvio-net-pvio": ["attach", "ping-on", "down-on", "dom0-up-on", "ping-off", "down-off",
                      "dom0-up-off", "stats", "detach", "backd-exit"],
    # side-by-side net timing in one domU
    "net-bench": ["pvio", "linux"],
}
ALL = ",".join(REQUIRED)
# begin -> end of a scenario, seconds (TCG); the default for the others is --scenario-timeout
LIMIT = {"pvio-netback-linux": 480, "pvio-netfront-netback": 480, "pvio-net-pvio": 480,
         "net-bench": 660, "pvio-kill": 420, "pvio-back-linux": 540, "pvio-front-blkback": 330, "pvio-pvio": 330, "bench": 660}

ap = argparse.ArgumentParser()
ap.add_argument("--out", required=True, help="dir with xen.elf, vmlinuz, dom0.cpio.gz")
ap.add_argument("--share", required=True, help="host dir exported to dom0 over 9p (/mnt/host)")
ap.add_argument("--logdir", required=True)
ap.add_argument("--scenarios", default=ALL)
ap.add_argument("--timeout", type=float, default=1500, help="whole run, seconds")
ap.add_argument("--boot-timeout", type=float, default=180, help="QEMU start -> dom0-ready")
ap.add_argument("--scenario-timeout", type=float, default=200, help="begin -> end of one scenario")
ap.add_argument("--verbose", action="store_true", help="echo the serial console")
ap.add_argument("--perf", action="store_true", help="perf profiles of dom0 in net-bench and bench")
ap.add_argument("--txoff", action="store_true",
                help="net-bench runs only TCP domU->dom0 with the offloads off "
                     "(a diagnosis; with --perf: perf trace -s of pvio-backd)")
ap.add_argument("--bench-ab", default="",
                help="bench also runs pvio-backd --threads 1 (pvio-thread) in the same boot: "
                     "1 after pvio-map, 2 before it")
a = ap.parse_args()
scens = [s for s in a.scenarios.split(",") if s]

# Facts from XEN-IN-QEMU.md: TCG (no KVM), -cpu max (SVM+NPT), smap=0 or dom0 dies on its
# first exception bounce.
xen_cmdline = ("dom0_mem=1G,max:1G dom0_max_vcpus=1 console=com1 com1=115200,8n1 loglvl=all "
               "guest_loglvl=all noreboot console_timestamps=boot smap=0")
dom0_cmdline = f"console=hvc0 earlyprintk=xen loglevel=4 pvio.scenarios={','.join(scens)}"
if a.perf:
    dom0_cmdline += " pvio.perf=1"
if a.txoff:
    dom0_cmdline += " pvio.txoff=1"
if a.bench_ab in ("1", "2"):
    dom0_cmdline += f" pvio.bench_ab={a.bench_ab}"
# QEMU multiboot modules: "-initrd 'file args,file2'"; a comma inside args is written ",,"
initrd = f"{a.out}/vmlinuz {dom0_cmdline.replace(',', ',,')},{a.out}/dom0.cpio.gz"
# XSAVE off (so no AVX either), PCID/INVPCID off: with -cpu max alone, processes in dom0 and
# the domUs failed at random under load (segfaults, ld.so assertions in dl-version.c: string
# compares going wrong), as with vector registers corrupted across context switches; Xen
# then falls back to FXSAVE.  Turning off AVX alone or PCID alone did not stop it.
cmd = ["qemu-system-x86_64", "-accel", "tcg,thread=multi", "-cpu", "max,xsave=off,pcid=off,invpcid=off",
       "-m", "3G", "-smp", "2",
       "-nographic", "-no-reboot", "-kernel", f"{a.out}/xen.elf", "-append", xen_cmdline,
       "-initrd", initrd,
       "-virtfs", f"local,path={a.share},mount_tag=host0,security_model=none,id=host0"]

os.makedirs(a.logdir, exist_ok=True)
logpath = os.path.join(a.logdir, f"serial-{time.strftime('%Y%m%d-%H%M%S')}.log")
log = open(logpath, "w")
log.write("CMD: " + " ".join(repr(c) if " " in c else c for c in cmd) + "\n")
t0 = time.monotonic()
# A run.sh killed by a CI time-out or ^C must not leave QEMU behind: turn the signal into
# an exception so that the finally below kills it.
def _stop(sig, frame):
    raise KeyboardInterrupt(f"signal {sig}")
signal.signal(signal.SIGTERM, _stop)
signal.signal(signal.SIGHUP, _stop)
p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
print(f"xen-check: QEMU pid {p.pid}, serial log {logpath}", flush=True)

lines = []                 # (elapsed, text)
ev = {}                    # first time of dom0-ready, share-mounted, all-done
began, ended = {}, {}      # scenario -> elapsed
oks = {s: set() for s in scens}
fails = {}                 # scenario or "boot" -> [reasons]
bench = {}                 # (back end, job) -> {"iops": .., "mibs": .., ...}
bfront = {}                # (scenario, job) -> pvio-bench --platform xen in the domU
binfo = []                 # the bench scenario's notes (dom0's copy probe)
bcpu = {}                  # back end -> dom0's busy ticks while the domU ran its bench jobs
nbench = {}                # net back end -> {"rtt_ms": .., "tcp_tx_mbps": .., ...}
current = None
problem = None             # why the run stopped early
buf = b""

def deadline():
    """(limit in elapsed seconds, phase name) for whatever we are waiting for now."""
    lim, what = a.timeout, "whole run"
    if "dom0-ready" not in ev:
        if a.boot_timeout < lim:
            lim, what = a.boot_timeout, "boot (QEMU start -> dom0 toolstack up)"
    elif current is not None and current not in ended:
        t = began[current] + LIMIT.get(current, a.scenario_timeout)
        if t < lim:
            lim, what = t, f"scenario {current}"
    elif "all-done" in ev:
        lim, what = min(lim, ev["all-done"] + 15), "poweroff"
    return lim, what

def handle(s, el):
    global current, problem
    if "Hardware Dom0 crashed" in s or "Kernel panic" in s:
        problem = problem or f"dom0 crash or kernel panic (dom0 or a domU): {s.strip()}"
    # dom0's console and the domU console it copies share the serial line, and two markers
    # can end up on one line ("...done pvio-copyPVIO-XEN ok bench pvio-copy"): each counts
    for seg in s.split("PVIO-XEN ")[1:]:
        marker(seg.rstrip(), el)

def marker(seg, el):
    global current
    m = re.match(r"(\S+)(?: (\S+))?(?: (.*))?$", seg)
    if not m:
        return
    kind, arg, rest = m.group(1), m.group(2), (m.group(3) or "")
    if kind in ("dom0-ready", "share-mounted", "all-done"):
        ev.setdefault(kind, el)
    elif kind == "begin" and arg:
        began.setdefault(arg, el); current = arg
    elif kind == "end" and arg:
        ended.setdefault(arg, el)
    elif kind == "ok" and arg in oks:
        oks[arg].add(rest.split(" ")[0])
    elif kind == "fail" and arg:
        fails.setdefault(arg, []).append(rest)
    elif kind == "bench-net" and arg:
        nbench.setdefault(arg, {}).update(kv.split("=", 1) for kv in rest.split() if "=" in kv)
    elif kind == "info" and arg == "bench":
        binfo.append(rest)
    elif kind == "bench-cpu" and arg:
        bcpu[arg] = dict(kv.split("=", 1) for kv in rest.split() if "=" in kv)
    elif kind == "bench-front" and arg:
        f = rest.split()
        if f:
            bfront[(arg, f[0])] = dict(kv.split("=", 1) for kv in f[1:] if "=" in kv)
    elif kind == "bench" and arg:
        f = rest.split()
        if f:
            bench[(arg, f[0])] = dict(kv.split("=", 1) for kv in f[1:] if "=" in kv)

try:
    while True:
        el = time.monotonic() - t0
        lim, what = deadline()
        if el > lim:
            if what != "poweroff":
                problem = problem or f"timeout in phase '{what}' after {el:.0f} s"
            break
        if problem:
            break
        r, _, _ = select.select([p.stdout], [], [], 1.0)
        if not r:
            if p.poll() is not None:
                break
            continue
        chunk = os.read(p.stdout.fileno(), 65536)
        if not chunk:
            break
        buf += chunk
        while b"\n" in buf:
            raw, buf = buf.split(b"\n", 1)
            el = time.monotonic() - t0
            s = raw.decode("utf-8", "replace").rstrip("\r")
            lines.append((el, s))
            log.write(f"[{el:8.2f}] {s}\n"); log.flush()
            if a.verbose:
                print(f"[{el:8.2f}] {s}", flush=True)
            handle(s, el)
finally:
    if p.poll() is None:
        os.kill(p.pid, signal.SIGTERM)
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            os.kill(p.pid, signal.SIGKILL); p.wait()
    log.close()

total = time.monotonic() - t0
if "dom0-ready" in ev:
    print(f"xen-check: dom0 toolstack up {ev['dom0-ready']:.1f} s after QEMU start (TCG)", flush=True)
if p.returncode not in (None, 0) and "all-done" not in ev and not problem:
    problem = f"QEMU exited with status {p.returncode} before the end"
if "boot" in fails:
    problem = problem or "boot: " + "; ".join(fails["boot"])
npass = nfail = 0
for s in scens:
    ok = (s in began and s in ended and s not in fails
          and all(c in oks[s] for c in REQUIRED.get(s, ["?"])))
    secs = (ended.get(s, total) - began[s]) if s in began else 0.0
    print(f"XEN-SCENARIO {s}: {'PASS' if ok else 'FAIL'} ({secs:.1f} s)", flush=True)
    if ok:
        npass += 1
    else:
        nfail += 1
        why = list(fails.get(s, []))
        if s not in began:
            why.append("never started")
        elif s not in ended:
            why.append("did not finish")
        missing = [c for c in REQUIRED.get(s, ["?"]) if c not in oks[s]]
        if missing:
            why.append("missing ok: " + ",".join(missing))
        print(f"  {s}: " + "; ".join(why), flush=True)
if bench:
    # one table, and each back end's ratio to Linux's blkback in the same boot
    bes = [b for b in ("qdisk", "pvio-map", "pvio-thread", "pvio-copy", "blkback")
           if any(k[0] == b for k in bench)]
    jobs = sorted({k[1] for k in bench}, key=lambda j: list(k[1] for k in bench).index(j))
    print("xen-check: fio in the domU, IOPS and ratio to xen-blkback (TCG: compare ratios only)")
    print("  %-18s" % "job" + "".join("%22s" % b for b in bes))
    for j in jobs:
        row = []
        for b in bes:
            r = bench.get((b, j))
            base = bench.get(("blkback", j))
            if not r:
                row.append("%22s" % "-")
                continue
            iops = float(r.get("iops", 0))
            cell = f"{iops:.0f} iops"
            if base and float(base.get("iops", 0)):
                cell += f" x{iops / float(base['iops']):.2f}"
            row.append("%22s" % cell)
        print("  %-18s" % j + "".join(row))
    # dom0 CPU per I/O over all of a back end's jobs: busy ticks in dom0 while they ran,
    # over their I/Os (IOPS x 5 s: the 1 s ramp is in dom0's window too); a blend of the
    # jobs' costs, dominated by the 4 KiB ones, and an estimate
    def us_per_io(b):
        c = bcpu.get(b)
        ios = sum(float(bench[k].get("iops", 0)) * 5 for k in bench if k[0] == b)
        if not c or not ios:
            return None
        return float(c["dom0_ticks"]) / float(c.get("hz", 100)) / ios * 1e6
    base = us_per_io("blkback")
    row = []
    for b in bes:
        v = us_per_io(b)
        cell = "-" if v is None else f"{v:.0f} us"
        if v is not None and base:
            cell += f" x{v / base:.2f}"
        row.append("%22s" % cell)
    print("  %-18s" % "dom0 CPU per I/O" + "".join(row), flush=True)
    for i in binfo:
        print("  dom0: " + i, flush=True)
if bfront:
    # pvio's own front end (pvio-bench --platform xen) on Linux's xen-blkback and on pvio-backd
    print("xen-check: pvio-bench --platform xen in the domU (pvio's front end), 3 s per job;"
          " pvio-backd / xen-blkback in the same boot")
    print("  %-24s%38s%38s%10s" % ("job", "xen-blkback (pvio-front-blkback)",
                                   "pvio-backd (pvio-pvio)", "ratio"))
    for j in sorted({k[1] for k in bfront}):
        lin, pv = bfront.get(("pvio-front-blkback", j)), bfront.get(("pvio-pvio", j))
        cell = lambda r: "%s iops p50 %s us %sq" % (r["iops"], r.get("p50_us", "?"),
                                                   r.get("queues", "?")) if r else "-"
        ratio = "-"
        if lin and pv and float(lin.get("iops", 0)):
            ratio = "x%.2f" % (float(pv["iops"]) / float(lin["iops"]))
        print("  %-24s%38s%38s%10s" % (j, cell(lin), cell(pv), ratio), flush=True)
if nbench:
    # pvio-backd's netback against Linux's xen-netback, same domU, same boot
    def num(be, k):
        try:
            return float(nbench.get(be, {}).get(k, "nan"))
        except ValueError:
            return float("nan")
    for be in nbench:  # dom0 CPU seconds per GiB moved by the two TCP runs
        gib = (num(be, "tcp_tx_mib") + num(be, "tcp_rx_mib")) / 1024
        if gib > 0:
            nbench[be]["cpu_s_per_gib"] = "%.1f" % (num(be, "dom0_ticks") / num(be, "hz") / gib)
    print("xen-check: net in the domU (xen-netfront), pvio-backd vs xen-netback (TCG: compare ratios only)")
    print("  %-22s%16s%16s%10s" % ("measure", "pvio-backd", "xen-netback", "ratio"))
    for k, label in (("tcp_tx_mbps", "TCP domU->dom0 Mbit/s"), ("tcp_rx_mbps", "TCP dom0->domU Mbit/s"),
                     ("tcp_txoff_mbps", "TCP up, offloads off"),
                     ("udp64_pps", "UDP 64 B pkt/s"), ("rtt_ms", "ping RTT ms"),
                     ("cpu_s_per_gib", "dom0 CPU s/GiB")):
        p_, l_ = num("pvio", k), num("linux", k)
        ratio = "%.2f" % (p_ / l_) if l_ == l_ and l_ > 0 and p_ == p_ else "-"
        print("  %-22s%16s%16s%10s" % (label, nbench.get("pvio", {}).get(k, "-"),
                                       nbench.get("linux", {}).get(k, "-"), ratio), flush=True)
if problem:
    print(f"xen-check: {problem}", flush=True)
if nfail or problem:
    print(f"---- last 80 serial lines ({logpath}) ----")
    for el, s in lines[-80:]:
        print(f"[{el:8.2f}] {s}")
    print("---- end of serial log ----", flush=True)
print(f"xen-check: QEMU ran {total:.1f} s", flush=True)
print(f"xen-check: {npass} passed, {nfail} failed", flush=True)
sys.exit(0 if nfail == 0 and not problem else 1)
