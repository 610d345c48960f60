#!/bin/sh
# run-bench.sh - `make bench`: pvio-bench's standard small matrix on the sim platform.
#
#   bench/run-bench.sh [BIN_DIR] [OUT_DIR]     (default build/bin, bench/results/<UTC time>)
#
# Three pvio-bench runs, each with its own baselines measured in the same run:
#   null    4 KiB randread, iodepth 1 and 32, queues 1 and 2 (eventfd, shm, NBD null plugin)
#   file    4 KiB randread, iodepth 1 and 32, on a 256 MiB file in /dev/shm (io_uring, NBD)
#   seq     1 MiB sequential read, iodepth 4, on the same file (io_uring, NBD)
#   jobs2, jobs2-1thread   two guests with a null disk each, iodepth 32: pvio-backd's
#           default threads (a disk per thread) against --threads 1
#   notify-null, notify-file   4 KiB randread, iodepth 1 and 32, --notify event,hybrid,poll
#           (busy-polling on both ends: a spinning front end and back end take both CPUs)
#   same, split   null and file 4 KiB randread, iodepth 1 and 32, with --placement same
#           (everything on one CPU) and split (guest side and dom0's on a CPU each): the
#           baselines placed as pvio is (docs/benchmarking.md, "Placement")
#   spread-queues   null 4 KiB randread, iodepth 32 and 64, queues 1 and 2, a front-end
#           thread per queue, queue i's two sides on CPU i (docs/benchmarking.md, "A
#           front-end thread per queue")
# Each run leaves <name>.txt (the table), .json and .csv in OUT_DIR; all.csv joins the CSVs
# and plot.png draws them (when gnuplot is installed).  About five minutes on 2 cores.
set -eu

B=$(cd "${1:-build/bin}" && pwd)
OUT=${2:-bench/results/$(date -u +%Y%m%dT%H%M%SZ)}
RUNTIME=${PVIO_BENCH_RUNTIME:-3}
mkdir -p "$OUT"
IMG=/dev/shm/pvio-bench-$$.img
trap 'rm -f "$IMG"' EXIT INT TERM
# Allocated, not sparse: reads of holes would not touch the page cache the way data does.
fallocate -l 256M "$IMG"

run() {
	name=$1
	shift
	echo "== $name: pvio-bench $*" | sed "s|$IMG|/dev/shm/pvio-bench.img|"
	"$B/pvio-bench" --runtime "$RUNTIME" --ramp 1 --save "$OUT/$name" "$@" >/dev/null
	cat "$OUT/$name.txt"
	echo
}

{
	echo "pvio make bench, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, $(uname -r)"
	echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo
	run null --disk null --rw randread --bs 4k --iodepth 1,32 --queues 1,2 \
		--baselines eventfd,shm,nbd
	run file --disk "$IMG" --rw randread --bs 4k --iodepth 1,32 --baselines io_uring,nbd
	# Two guests, a disk each: pvio-backd's data threads (a disk per thread) against one.
	run jobs2 --disk null --rw randread --bs 4k --iodepth 32 --numjobs 2 --baselines none
	run jobs2-1thread --disk null --rw randread --bs 4k --iodepth 32 --numjobs 2 \
		--backend-threads 1 --baselines none
	run seq --disk "$IMG" --rw read --bs 1M --iodepth 4 --baselines io_uring,nbd
	run notify-null --disk null --rw randread --bs 4k --iodepth 1,32 \
		--notify event,hybrid,poll --baselines eventfd,shm,nbd
	run notify-file --disk "$IMG" --rw randread --bs 4k --iodepth 1,32 \
		--notify event,hybrid,poll --baselines io_uring,nbd
	if [ "$(nproc)" -ge 2 ]; then
		for p in same split; do
			run "$p-null" --disk null --rw randread --bs 4k --iodepth 1,32 \
				--placement "$p" --baselines eventfd,nbd
			run "$p-file" --disk "$IMG" --rw randread --bs 4k --iodepth 1,32 \
				--placement "$p" --baselines io_uring,nbd
		done
		run spread-queues --disk null --rw randread --bs 4k --iodepth 32,64 --queues 1,2 \
			--queue-threads --placement spread --baselines none
	fi
	echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$OUT/summary.txt"

head -n 1 "$OUT/null.csv" >"$OUT/all.csv"
for n in null file seq notify-null notify-file; do tail -n +2 "$OUT/$n.csv" >>"$OUT/all.csv"; done
if command -v gnuplot >/dev/null 2>&1; then
	"$B/pvio-bench" plot "$OUT/all.csv" "$OUT/plot.png" && echo "plot: $OUT/plot.png"
else
	echo "plot: skipped (gnuplot is not installed; Debian: gnuplot-nox)"
fi
echo "results: $OUT"
