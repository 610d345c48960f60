/* SPDX-License-Identifier: MIT */
/*
 * pvio-bench - fio-like block benchmark of pvio through libpvio-front's public API, with
 * baselines measured in the same run on the same machine (docs/benchmarking.md).
 *
 *   pvio-bench [--disk null|null:SECTORS|PATH] [--rw read|write|randread|randwrite|randrw]
 *              [--rwmixread PCT] [--bs SIZE[,SIZE..]] [--iodepth N[,N..]] [--queues N[,N..]]
 *              [--numjobs N] [--runtime S | --size BYTES] [--ramp S] [--ring-pages N]
 *              [--no-persistent] [--indirect N] [--grant-copy] [--notify event|poll|hybrid[,..]]
 *              [--poll-us N] [--backend-poll-us N] [--direct 0|1[,..]]
 *              [--baselines LIST|all|none] [--json|--csv] [--save PREFIX] [--quiet]
 *              [--rundir DIR [--domid N [--vdev VDEV]]] [--bin DIR]
 *   pvio-bench --platform xen --vdev VDEV [workload and front-end options]
 *   pvio-bench plot CSV PNG
 *
 * On the sim platform the run starts its own pvio-simd and pvio-backd in a temporary
 * rundir, creates a guest domain and attaches one disk per job with pvio-ctl; --rundir
 * uses the daemons already running there (and --domid that guest, --vdev that disk).
 *
 * --platform xen runs in a Xen guest against a disk dom0 attached to it (vdev): pvio's
 * front end with the real libraries, whatever serves the disk (pvio-backd, Linux's
 * xen-blkback, QEMU's qdisk).  The back end is in dom0, out of reach: its columns are "-",
 * and the file baselines (io_uring, NBD) do not apply; eventfd and shm still run.
 * Every combination of the comma lists (rw, bs, iodepth, queues, notify) is one result line; each
 * attaches fresh disks, so that the negotiated knobs (queues, ring pages, persistent
 * grants, indirect segments) are those of the line.
 *
 * Jobs are forked processes, each a guest domain of its own with one blkfront handle (the
 * library is one thread per handle, the sim one grant table, so one process, per domain);
 * they report through a shared mapping.  Latency goes into a log-bucketed
 * histogram (16 buckets per power of two, about 6 % wide) with no allocation per I/O.
 * Only completions inside the measured window (after --ramp) count.
 *
 * --direct 1 attaches the file disk with xl's direct-io-safe, so that pvio-backd (--cache
 * auto) serves it with O_DIRECT, and runs the io_uring baseline with O_DIRECT too;
 * --direct 0,1 puts both in one run, page cache against O_DIRECT.
 *
 * Baselines (each line shows pvio's figure and its ratio to each that applies):
 *   io_uring  the same workload with liburing on the same file, one process (files only)
 *   nbd       nbdkit serving the same file (or its null plugin) on a unix socket, libnbd
 *             client at the same depth and block size (skipped, with why, when missing)
 *   eventfd   raw eventfd ping-pong between two processes (QD1 latency floor of event mode)
 *   shm       raw shared-memory spin ping-pong between two processes (polling's floor)
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <liburing.h>
#ifdef HAVE_LIBNBD
#include <libnbd.h>
#endif

#include "pv_blkfront.h"
#include "pv_platform.h"

#define MAX_JOBS   16
#define MAX_CPUS   16 /* --placement spread: queue i on the i-th allowed CPU (mod this) */
#define MAX_LIST   16
#define MAX_DEPTH  1024
#define HIST_SUB   16   /* buckets per power of two */
#define HIST_N     (64 * HIST_SUB)

/* ---- small helpers ------------------------------------------------------------------------ */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void sleep_until(uint64_t t)
{
	struct timespec ts = { .tv_sec = (time_t)(t / 1000000000u), .tv_nsec = (long)(t % 1000000000u) };

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static volatile sig_atomic_t interrupted;
static pid_t main_pid; /* cleanup() is the parent's: a job or baseline child never runs it */
static volatile int *jobs_stop; /* the running line's stop flag: set when the parent gives up */
static void cleanup(void);

static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "pvio-bench: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	cleanup();
	exit(1);
}

/* xorshift64*: cheap, no shared state between jobs. */
static uint64_t rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1Dull;
}

/* CPU seconds (user + system) of a process so far, from /proc/PID/stat; -1 if unknown. */
static double proc_cpu(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long ut, st;
	ssize_t n;
	int fd;

	if (pid <= 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	p = strrchr(buf, ')'); /* comm may hold spaces */
	/* after ")": state(3) ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime(14) stime(15) */
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* ---- the latency histogram ---------------------------------------------------------------- */

struct hist {
	uint64_t n, max, sum;
	uint64_t b[HIST_N];
};

static unsigned int hist_bucket(uint64_t v)
{
	unsigned int msb;

	if (v < HIST_SUB)
		return (unsigned int)v;
	msb = 63u - (unsigned int)__builtin_clzll(v);
	return (msb - 3) * HIST_SUB + (unsigned int)((v >> (msb - 4)) & (HIST_SUB - 1));
}

static uint64_t hist_lo(unsigned int b)
{
	unsigned int m;

	if (b < HIST_SUB)
		return b;
	m = b / HIST_SUB + 3;
	return (uint64_t)(HIST_SUB + b % HIST_SUB) << (m - 4);
}

static void hist_add(struct hist *h, uint64_t v)
{
	h->b[hist_bucket(v)]++;
	h->n++;
	h->sum += v;
	if (v > h->max)
		h->max = v;
}

static void hist_merge(struct hist *to, const struct hist *from)
{
	unsigned int i;

	for (i = 0; i < HIST_N; i++)
		to->b[i] += from->b[i];
	to->n += from->n;
	to->sum += from->sum;
	if (from->max > to->max)
		to->max = from->max;
}

/* The value at quantile q: the middle of its bucket, never above the maximum seen. */
static double hist_q(const struct hist *h, double q)
{
	uint64_t want, seen = 0;
	unsigned int i;

	if (!h->n)
		return 0;
	want = (uint64_t)ceil(q * (double)h->n);
	if (want < 1)
		want = 1;
	for (i = 0; i < HIST_N; i++) {
		seen += h->b[i];
		if (seen >= want) {
			double mid = ((double)hist_lo(i) + (double)hist_lo(i + 1)) / 2;

			return mid > (double)h->max ? (double)h->max : mid;
		}
	}
	return (double)h->max;
}

/* ---- options -------------------------------------------------------------------------------- */

enum rw { RW_READ, RW_WRITE, RW_RANDREAD, RW_RANDWRITE, RW_RANDRW };
static const char *const rw_names[] = { "read", "write", "randread", "randwrite", "randrw" };

static struct {
	const char *disk;
	unsigned int rw[MAX_LIST], nrw;
	unsigned int bs[MAX_LIST], nbs;
	unsigned int qd[MAX_LIST], nqd;
	unsigned int queues[MAX_LIST], nqueues;
	unsigned int mixread, numjobs;
	double runtime, ramp;
	uint64_t size;
	unsigned int ring_pages, indirect;
	int no_persistent, no_indirect, grant_copy;
	unsigned int notify[3], nnotify;  /* enum pv_blkfront_notify */
	unsigned int direct[2], ndirect;  /* 1: attach with direct-io-safe (O_DIRECT) */
	unsigned int poll_us;             /* front end's spin budget; 0: the library's default */
	int backend_poll_us;              /* pvio-backd --poll-us; -1: by notify mode */
	int backend_threads;              /* pvio-backd --threads; -1: its default */
	const char *baselines;
	int json, csv, quiet;
	const char *rundir, *bindir, *vdev, *save;
	int domid;
	int xen;                          /* --platform xen: a guest's vbd, the back end in dom0 */
	unsigned int placement;           /* enum placement */
	int cpu[MAX_CPUS], ncpu;          /* CPUs allowed: [0] the guest side's, [1] dom0's */
	int qthreads;                     /* --queue-threads */
} o = {
	.disk = "null", .mixread = 50, .numjobs = 1, .runtime = 5, .ramp = 1,
	.baselines = "all", .domid = -1, .backend_poll_us = -1, .backend_threads = -1,
};

static const char *const notify_names[] = { "event", "hybrid", "poll" };

/*
 * --placement: where the two sides run.  The guest side is pvio-bench, its jobs (the front
 * ends) and the baselines' clients (the eventfd and shm pinger, the io_uring and NBD
 * processes); dom0's is pvio-simd, pvio-backd, nbdkit and the baselines' echoing process.
 * ANY leaves it to the scheduler; SAME pins everything to one CPU; SPLIT pins each side to
 * a CPU of its own; SPREAD is SAME, except that queue i's two threads (the front end's,
 * with --queue-threads, and pvio-backd's) go to the i-th CPU: both sides of a queue on one
 * CPU, as SAME, and the queues side by side.  A wake-up across CPUs can cost far more than the work it wakes for
 * (a halted vCPU is woken by the host), and the scheduler places the baselines' two
 * processes and pvio's two sides differently: a ratio compares like with like only when
 * both were placed alike.
 */
enum placement { PLACE_ANY, PLACE_SAME, PLACE_SPLIT, PLACE_SPREAD };
static const char *const placement_names[] = { "any", "same", "split", "spread" };

static void pin(pid_t tid, int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(tid, sizeof(set), &set) < 0)
		fprintf(stderr, "pvio-bench: sched_setaffinity(CPU %d): %s\n", cpu, strerror(errno));
}

/* Pins the calling process (and what it forks from now on) to its side's CPU. */
static void place(int dom0_side)
{
	int cpu;

	if (o.placement == PLACE_ANY)
		return;
	cpu = o.cpu[o.placement == PLACE_SPLIT && dom0_side];
	pin(0, cpu);
}

/* --placement spread: queue i's threads (pid: a thread id, 0 the caller) on its CPU. */
static void place_queue(pid_t tid, unsigned int queue)
{
	if (o.placement == PLACE_SPREAD)
		pin(tid, o.cpu[queue % (unsigned int)o.ncpu]);
}

static int want_baseline(const char *name);

/*
 * pvio-backd --poll-us for a notify mode: none for event (the daemon sleeps between
 * requests), the front end's budget for hybrid, and a long one for poll (the time a
 * ring stays polled after its last request: requests keep coming during a run).
 */
static unsigned int backend_poll_us(unsigned int mode)
{
	if (o.backend_poll_us >= 0 && mode != PV_BLKFRONT_NOTIFY_EVENT)
		return (unsigned int)o.backend_poll_us;
	switch (mode) {
	case PV_BLKFRONT_NOTIFY_HYBRID: return o.poll_us ? o.poll_us : PV_BLKFRONT_HYBRID_US;
	case PV_BLKFRONT_NOTIFY_POLL: return 100000;
	default: return 0;
	}
}

static uint64_t parse_size(const char *s, const char *what)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || v < 0)
		die("bad %s '%s'", what, s);
	switch (*end) {
	case 'k': case 'K': v *= 1024; end++; break;
	case 'm': case 'M': v *= 1024 * 1024; end++; break;
	case 'g': case 'G': v *= 1024.0 * 1024 * 1024; end++; break;
	default: break;
	}
	if (*end == 'i' || *end == 'B')
		end++;
	if (*end == 'B')
		end++;
	if (*end || v > 1e18)
		die("bad %s '%s'", what, s);
	return (uint64_t)v;
}

/* Seconds: a finite number, nothing after it. */
static double parse_secs(const char *s, const char *what)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v < 0 || v > 86400)
		die("bad %s '%s'", what, s);
	return v;
}

static unsigned int parse_list(const char *s, unsigned int *out, const char *what, int sizes,
			       unsigned int lo, unsigned int hi)
{
	char *dup = strdup(s), *save = NULL, *tok;
	unsigned int n = 0;

	if (!dup)
		die("out of memory");
	for (tok = strtok_r(dup, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		uint64_t v = parse_size(tok, what);

		/* Counts are whole numbers: "1.5" or "2e1" is a typo, not a depth. */
		if (!sizes && tok[strspn(tok, "0123456789")])
			die("bad %s '%s'", what, tok);
		if (n == MAX_LIST)
			die("%s: at most %d values", what, MAX_LIST);
		if (v < lo || v > hi)
			die("%s %s: out of range %u..%u", what, tok, lo, hi);
		out[n++] = (unsigned int)v;
	}
	free(dup);
	if (!n)
		die("%s: no value", what);
	return n;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: pvio-bench [options]         a benchmark run (sim platform)\n"
		"       pvio-bench --platform xen --vdev VDEV [options]   in a Xen guest, on a disk\n"
		"                                    dom0 attached to it (front-end knobs only)\n"
		"       pvio-bench plot CSV PNG      IOPS and p50 against queue depth (gnuplot)\n"
		"workload:\n"
		"  --disk null|null:SECTORS|PATH     what to attach (default null: 1 GiB null driver)\n"
		"  --rw read|write|randread|randwrite|randrw[,..]   (default randread)\n"
		"  --rwmixread PCT    reads in randrw (default 50)\n"
		"  --bs SIZE[,..]     block size, 512 multiples (default 4k)\n"
		"  --iodepth N[,..]   I/Os in flight per job (default 1)\n"
		"  --queues N[,..]    ring queues per disk, 1..4 (default 1)\n"
		"  --queue-threads    a front-end thread per queue (pv_blkfront_queue_*), the\n"
		"                     job's --iodepth split over them; default: one per job\n"
		"  --numjobs N        guests: a domain, a process and a disk each (default 1)\n"
		"  --runtime S | --size BYTES        per line (default 5 s); --size: per job\n"
		"  --ramp S           not measured at the start (default 1 s)\n"
		"knobs (protocol):\n"
		"  --ring-pages N     ring pages per queue, 1 2 4 8 16 (default: the most offered)\n"
		"  --no-persistent    no persistent grants (a grant per page per request)\n"
		"  --indirect N | --no-indirect      indirect segments per request\n"
		"  --grant-copy       the back end copies (GNTTABOP_copy) instead of mapping\n"
		"  --direct 0|1[,..]  1: the file disk attached with direct-io-safe, so pvio-backd\n"
		"                     uses O_DIRECT, and the io_uring baseline too; 0,1: both\n"
		"                     (page cache vs O_DIRECT in one run; default 0)\n"
		"  --notify MODE[,..] event (sleep on the event channel, default), hybrid (spin on\n"
		"                     the ring for --poll-us, then sleep) or poll (spin while I/O is\n"
		"                     in flight); both ends: own daemons get pvio-backd --poll-us\n"
		"  --poll-us N        front end's spin budget (default: 50 hybrid, 100000 poll)\n"
		"  --backend-poll-us N   pvio-backd --poll-us in hybrid and poll lines (default:\n"
		"                     hybrid as --poll-us, poll 100000; event lines: 0)\n"
		"  --backend-threads N   pvio-backd --threads (default: its own, a thread per CPU;\n"
		"                     a disk per thread, so --numjobs spreads over them)\n"
		"measure and output:\n"
		"  --baselines LIST   io_uring,nbd,eventfd,shm, all (default) or none\n"
		"  --json | --csv     machine-readable output on stdout (default: a table)\n"
		"  --quiet            no progress on stderr\n"
		"  --save PREFIX      also write PREFIX.txt, PREFIX.json and PREFIX.csv\n"
		"environment:\n"
		"  --rundir DIR       use the pvio-simd/pvio-backd running there\n"
		"  --domid N          ... and that guest domain (default: create one)\n"
		"  --vdev VDEV        ... and that attached disk, xvd<letter> or a devid (one job)\n"
		"  --bin DIR          where pvio-simd, pvio-backd, pvio-ctl are (default: beside us)\n"
		"  --placement any|same|split|spread   where the guest side (front ends, baseline\n"
		"                     clients) and dom0's (pvio-simd, pvio-backd, nbdkit, baseline\n"
		"                     echoes) run: as the scheduler likes (default), all on one\n"
		"                     CPU, a CPU each, or as same but queue i's front-end thread\n"
		"                     (--queue-threads) and pvio-backd thread on CPU i\n"
		"  --platform sim|xen sim (default) or xen: this guest's vbd VDEV through Xen's\n"
		"                     libraries; the back end is dom0's (its columns \"-\"), the\n"
		"                     io_uring and nbd baselines do not apply\n");
}

static void parse_opts(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "disk", required_argument, NULL, 'd' }, { "rw", required_argument, NULL, 'w' },
		{ "rwmixread", required_argument, NULL, 'M' }, { "bs", required_argument, NULL, 'b' },
		{ "iodepth", required_argument, NULL, 'q' }, { "queues", required_argument, NULL, 'Q' },
		{ "numjobs", required_argument, NULL, 'j' }, { "runtime", required_argument, NULL, 't' },
		{ "size", required_argument, NULL, 's' }, { "ramp", required_argument, NULL, 'r' },
		{ "ring-pages", required_argument, NULL, 'R' },
		{ "no-persistent", no_argument, NULL, 'P' },
		{ "indirect", required_argument, NULL, 'I' }, { "no-indirect", no_argument, NULL, 'N' },
		{ "grant-copy", no_argument, NULL, 'C' }, { "notify", required_argument, NULL, 'n' },
		{ "poll-us", required_argument, NULL, 'u' },
		{ "backend-poll-us", required_argument, NULL, 'U' },
		{ "backend-threads", required_argument, NULL, 'T' },
		{ "direct", required_argument, NULL, 'X' },
		{ "baselines", required_argument, NULL, 'B' }, { "json", no_argument, NULL, 'J' },
		{ "csv", no_argument, NULL, 'V' }, { "quiet", no_argument, NULL, 'z' },
		{ "rundir", required_argument, NULL, 'D' }, { "domid", required_argument, NULL, 'i' },
		{ "vdev", required_argument, NULL, 'v' }, { "bin", required_argument, NULL, 'x' },
		{ "save", required_argument, NULL, 'S' },
		{ "platform", required_argument, NULL, 'F' },
		{ "placement", required_argument, NULL, 'L' },
		{ "queue-threads", no_argument, NULL, 'E' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	unsigned int v[MAX_LIST];
	int c, i;

	o.rw[0] = RW_RANDREAD, o.nrw = 1;
	o.bs[0] = 4096, o.nbs = 1;
	o.qd[0] = 1, o.nqd = 1;
	o.queues[0] = 1, o.nqueues = 1;
	o.notify[0] = PV_BLKFRONT_NOTIFY_EVENT, o.nnotify = 1;
	o.direct[0] = 0, o.ndirect = 1;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'd': o.disk = optarg; break;
		case 'w': {
			char *dup = strdup(optarg), *save = NULL, *tok;

			o.nrw = 0;
			for (tok = strtok_r(dup, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
				for (i = 0; i < 5 && strcmp(tok, rw_names[i]); i++)
					;
				if (i == 5 || o.nrw == MAX_LIST)
					die("bad --rw '%s'", tok);
				o.rw[o.nrw++] = (unsigned int)i;
			}
			free(dup);
			if (!o.nrw)
				die("--rw: no value");
			break;
		}
		case 'M': parse_list(optarg, v, "--rwmixread", 0, 0, 100); o.mixread = v[0]; break;
		case 'b': o.nbs = parse_list(optarg, o.bs, "--bs", 1, 512, 4u << 20); break;
		case 'q': o.nqd = parse_list(optarg, o.qd, "--iodepth", 0, 1, MAX_DEPTH); break;
		case 'Q': o.nqueues = parse_list(optarg, o.queues, "--queues", 0, 1, 4); break;
		case 'j': parse_list(optarg, v, "--numjobs", 0, 1, MAX_JOBS); o.numjobs = v[0]; break;
		case 't': o.runtime = parse_secs(optarg, "--runtime"); if (o.runtime <= 0) die("bad --runtime"); break;
		case 's': o.size = parse_size(optarg, "--size"); if (!o.size) die("bad --size"); break;
		case 'r': o.ramp = parse_secs(optarg, "--ramp"); break;
		case 'R': parse_list(optarg, v, "--ring-pages", 0, 1, 16);
			if (v[0] & (v[0] - 1))
				die("--ring-pages: 1, 2, 4, 8 or 16");
			o.ring_pages = v[0];
			break;
		case 'P': o.no_persistent = 1; break;
		case 'E': o.qthreads = 1; break;
		case 'I': parse_list(optarg, v, "--indirect", 0, 0, 256); o.indirect = v[0];
			o.no_indirect = v[0] == 0;
			break;
		case 'N': o.no_indirect = 1; break;
		case 'C': o.grant_copy = 1; break;
		case 'n': {
			char *dup = strdup(optarg), *save = NULL, *tok;

			o.nnotify = 0;
			for (tok = strtok_r(dup, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
				for (i = 0; i < 3 && strcmp(tok, notify_names[i]); i++)
					;
				if (i == 3 || o.nnotify == 3)
					die("bad --notify '%s' (event, hybrid, poll)", tok);
				o.notify[o.nnotify++] = (unsigned int)i;
			}
			free(dup);
			if (!o.nnotify)
				die("--notify: no value");
			break;
		}
		case 'u': parse_list(optarg, v, "--poll-us", 0, 1, PV_BLKFRONT_SPIN_MAX_US);
			o.poll_us = v[0];
			break;
		case 'U': parse_list(optarg, v, "--backend-poll-us", 0, 0, 1000000);
			o.backend_poll_us = (int)v[0];
			break;
		case 'T':
			parse_list(optarg, v, "--backend-threads", 0, 0, 64);
			o.backend_threads = (int)v[0];
			break;
		case 'X': o.ndirect = parse_list(optarg, v, "--direct", 0, 0, 1);
			if (o.ndirect > 2 || (o.ndirect == 2 && v[0] == v[1]))
				die("--direct: 0, 1, or 0,1");
			o.direct[0] = v[0];
			o.direct[1] = o.ndirect > 1 ? v[1] : 0;
			break;
		case 'B': o.baselines = optarg; break;
		case 'J': o.json = 1; break;
		case 'V': o.csv = 1; break;
		case 'z': o.quiet = 1; break;
		case 'D': o.rundir = optarg; break;
		case 'i': parse_list(optarg, v, "--domid", 0, 1, 0x7FEF); o.domid = (int)v[0]; break;
		case 'v': o.vdev = optarg; break;
		case 'x': o.bindir = optarg; break;
		case 'S': o.save = optarg; break;
		case 'F':
			if (strcmp(optarg, "sim") && strcmp(optarg, "xen"))
				die("--platform: sim or xen");
			o.xen = !strcmp(optarg, "xen");
			break;
		case 'L':
			for (i = 0; i < 4 && strcmp(optarg, placement_names[i]); i++)
				;
			if (i == 4)
				die("--placement: any, same, split or spread");
			o.placement = (unsigned int)i;
			break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); exit(2);
		}
	}
	if (optind != argc)
		die("unexpected argument '%s'", argv[optind]);
	if (o.placement != PLACE_ANY) {
		cpu_set_t set;
		int n = 0;

		if (o.xen || o.rundir)
			die("--placement: only for the daemons pvio-bench starts itself (not --rundir, "
			    "not --platform xen)");
		if (sched_getaffinity(0, sizeof(set), &set) < 0)
			die("sched_getaffinity: %s", strerror(errno));
		for (i = 0; i < CPU_SETSIZE && n < MAX_CPUS; i++)
			if (CPU_ISSET(i, &set))
				o.cpu[n++] = i;
		o.ncpu = n;
		if (n < (o.placement == PLACE_SPLIT ? 2 : 1))
			die("--placement split: needs two CPUs to run on (%d allowed)", n);
		if (n == 1)
			o.cpu[1] = o.cpu[0];
	}
	if (o.json && o.csv)
		die("--json or --csv, not both");
	for (i = 0; i < (int)o.nbs; i++)
		if (o.bs[i] % 512)
			die("--bs %u: not a multiple of 512", o.bs[i]);
	if (o.xen) {
		/* The disk, its back end and its knobs are dom0's; only the front end's are ours. */
		if (!o.vdev)
			die("--platform xen needs --vdev (the disk dom0 attached to this guest)");
		if (o.rundir || o.domid >= 0 || o.numjobs != 1 || o.nqueues != 1 || o.grant_copy ||
		    o.direct[0] || o.direct[1] || o.backend_poll_us >= 0 || o.backend_threads >= 0 ||
		    strcmp(o.disk, "null"))
			die("--platform xen: one job and one --queues value on --vdev; --rundir, "
			    "--domid, --disk, --grant-copy, --direct and --backend-* are dom0's");
		if (want_baseline("io_uring") || want_baseline("nbd"))
			die("--platform xen: the io_uring and nbd baselines need the disk's file (dom0's)");
		return;
	}
	if ((o.domid >= 0 || o.vdev) && !o.rundir)
		die("--domid and --vdev need --rundir");
	if (o.domid >= 0 && o.numjobs != 1)
		die("--domid: one job (a domain has one grant table, so one process)");
	if (o.vdev && (o.domid < 0 || o.numjobs != 1 || o.nqueues != 1))
		die("--vdev needs --domid, one job and one --queues value (the disk is attached already)");
	if ((o.direct[0] || o.direct[1]) && (o.vdev || !strncmp(o.disk, "null", 4)))
		die("--direct 1: a file or block-device disk that pvio-bench attaches (not null, "
		    "not --vdev)");
	if (o.grant_copy && o.rundir)
		fprintf(stderr, "pvio-bench: note: --grant-copy is pvio-backd's option; the running "
				"back end's mode is reported as it is\n");
}

static int want_baseline(const char *name)
{
	const char *p = o.baselines;
	size_t n = strlen(name);

	if (!strcmp(p, "all"))
		return !o.xen || (strcmp(name, "io_uring") && strcmp(name, "nbd"));
	while (*p) {
		size_t len = strcspn(p, ",");

		if (len == n && !strncmp(p, name, n))
			return 1;
		p += len + (p[len] == ',');
	}
	return 0;
}

/* ---- the environment: daemons, domain, disks (through pvio-ctl) ------------------------ */

static struct {
	char bin[PATH_MAX];
	char rundir[PATH_MAX];
	char spec0[PATH_MAX + 16];   /* sim:<rundir>:0 */
	int own_rundir, own_domain;
	pid_t backd, simd, nbdkit;
	unsigned int backd_poll_us;     /* our pvio-backd's --poll-us */
	int domid[MAX_JOBS];         /* one guest domain per job: one grant table each */
	unsigned int ndom;
	char nbd_dir[64];
} env;

static int null_disk(void)
{
	return !strncmp(o.disk, "null", 4) && (o.disk[4] == '\0' || o.disk[4] == ':');
}

/*
 * Runs argv, its stdout into out (NUL-terminated, may be NULL), stderr into ours unless
 * quiet.  Returns the exit status, or -1.
 */
static int run(char *out, size_t outlen, int quiet_err, char *const argv[])
{
	int pfd[2], st;
	size_t got = 0;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		dup2(pfd[1], 1);
		if (quiet_err) {
			int nul = open("/dev/null", O_WRONLY);

			if (nul >= 0)
				dup2(nul, 2);
		}
		execv(argv[0], argv);
		_exit(127);
	}
	close(pfd[1]);
	for (;;) {
		char sink[512];
		ssize_t n;

		if (out && got + 1 < outlen)
			n = read(pfd[0], out + got, outlen - 1 - got);
		else
			n = read(pfd[0], sink, sizeof(sink));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (out && got + 1 < outlen)
			got += (size_t)n;
	}
	close(pfd[0]);
	if (out)
		out[got] = '\0';
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int ctl(char *out, size_t outlen, int quiet_err, ...)
{
	char *argv[16], path[PATH_MAX + 16];
	unsigned int n = 0;
	va_list ap;

	snprintf(path, sizeof(path), "%s/pvio-ctl", env.bin);
	argv[n++] = path;
	argv[n++] = "--platform";
	argv[n++] = env.spec0;
	va_start(ap, quiet_err);
	while (n < 15 && (argv[n] = va_arg(ap, char *)) != NULL)
		n++;
	va_end(ap);
	argv[n] = NULL;
	return run(out, outlen, quiet_err, argv);
}

static void kill_wait(pid_t *pid)
{
	if (*pid > 0) {
		kill(*pid, SIGTERM);
		waitpid(*pid, NULL, 0);
		*pid = 0;
	}
}

static void rm_rf(const char *dir)
{
	char *argv[] = { "/bin/rm", "-rf", (char *)dir, NULL };

	run(NULL, 0, 1, argv);
}

static void cleanup(void)
{
	char buf[32];

	if (getpid() != main_pid)
		return;
	if (jobs_stop)
		*jobs_stop = 1;
	kill_wait(&env.nbdkit);
	if (env.nbd_dir[0]) {
		rm_rf(env.nbd_dir);
		env.nbd_dir[0] = '\0';
	}
	while (env.own_domain && env.ndom) {
		snprintf(buf, sizeof(buf), "%d", env.domid[--env.ndom]);
		ctl(NULL, 0, 1, "domain-destroy", buf, NULL);
	}
	kill_wait(&env.backd);
	if (env.own_rundir) {
		char path[PATH_MAX + 32];
		FILE *f;
		int pid;

		snprintf(path, sizeof(path), "%s/pvio-simd.pid", env.rundir);
		f = fopen(path, "r");
		if (f && fscanf(f, "%d", &pid) == 1 && pid > 0)
			kill(pid, SIGTERM);
		if (f)
			fclose(f);
		usleep(100000);
		rm_rf(env.rundir);
		env.own_rundir = 0;
	}
}

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

/* Who serves the control socket: pvio-backd's pid, for its CPU time. */
static pid_t backd_pid_of(const char *rundir)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	struct ucred cr;
	socklen_t len = sizeof(cr);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	pid_t pid = 0;

	if (fd < 0)
		return 0;
	if (snprintf(a.sun_path, sizeof(a.sun_path), "%s/pvio-backd.sock", rundir) >=
	    (int)sizeof(a.sun_path)) {
		close(fd);
		return 0;
	}
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) == 0)
		pid = cr.pid;
	close(fd);
	return pid;
}

/*
 * Our own pvio-backd, busy-polling idle rings for poll_us (0: not).  A line of another
 * notify mode restarts it: a daemon takes over the devices of the one before.
 */
static void start_backd(unsigned int poll_us)
{
	char path[PATH_MAX + 32], log[PATH_MAX + 32], pollarg[16], thrarg[16];
	pid_t pid;
	int i;

	snprintf(pollarg, sizeof(pollarg), "%u", poll_us);
	snprintf(thrarg, sizeof(thrarg), "%d", o.backend_threads);
	snprintf(path, sizeof(path), "%s/pvio-backd", env.bin);
	snprintf(log, sizeof(log), "%s/backd.log", env.rundir);
	pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		char *argv[14] = { path, "--platform", env.spec0, "--foreground", "--log-level",
				   "warn", "--max-queues", "4", "--poll-us", pollarg };
		int n = 10;

		if (o.backend_threads >= 0) {
			argv[n++] = "--threads";
			argv[n++] = thrarg;
		}
		if (o.grant_copy)
			argv[n++] = "--grant-copy";
		argv[n] = NULL;
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);

		if (fd >= 0)
			dup2(fd, 2);
		/* Its own process group: a ^C to pvio-bench must not stop it mid-run. */
		setpgid(0, 0);
		place(1);
		/* But it goes when we go, even on SIGKILL (it survives exec). */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		execv(path, argv);
		_exit(127);
	}
	env.backd = pid;
	env.backd_poll_us = poll_us;
	snprintf(path, sizeof(path), "%s/pvio-backd.sock", env.rundir);
	/* The socket of the daemon before goes with it (SIGTERM). */
	for (i = 0; i < 200 && access(path, F_OK) < 0; i++)
		usleep(25000);
	if (access(path, F_OK) < 0)
		die("pvio-backd did not start (see %s)", log);
}

static void env_start(void)
{
	char path[PATH_MAX + 32], out[64];
	int i;

	if (o.xen)
		return; /* no daemon, domain or disk of ours */
	if (!o.bindir) {
		ssize_t n = readlink("/proc/self/exe", env.bin, sizeof(env.bin) - 1);

		if (n <= 0)
			die("cannot find my own directory; give --bin");
		env.bin[n] = '\0';
		*strrchr(env.bin, '/') = '\0';
	} else {
		snprintf(env.bin, sizeof(env.bin), "%s", o.bindir);
	}
	if (o.rundir) {
		snprintf(env.rundir, sizeof(env.rundir), "%s", o.rundir);
	} else {
		char *simd_argv[] = { path, "--rundir", env.rundir, NULL };

		snprintf(env.rundir, sizeof(env.rundir), "/tmp/pvio-bench-XXXXXX");
		if (!mkdtemp(env.rundir))
			die("mkdtemp: %s", strerror(errno));
		env.own_rundir = 1;
		snprintf(path, sizeof(path), "%s/pvio-simd", env.bin);
		place(1); /* inherited by the daemon it becomes */
		if (run(NULL, 0, 0, simd_argv) != 0)
			die("%s did not start", path);
		place(0);
	}
	snprintf(env.spec0, sizeof(env.spec0), "sim:%s:0", env.rundir);
	if (!o.rundir)
		start_backd(backend_poll_us(o.notify[0]));
	if (o.domid >= 0) {
		env.domid[0] = o.domid;
		env.ndom = 1;
	} else {
		env.own_domain = 1;
		for (i = 0; i < (int)o.numjobs; i++) {
			if (ctl(out, sizeof(out), 0, "domain-create", NULL) != 0)
				die("pvio-ctl domain-create failed");
			env.domid[env.ndom++] = atoi(out);
		}
	}
	snprintf(path, sizeof(path), "%s/pvio-simd.pid", env.rundir);
	{
		FILE *f = fopen(path, "r");
		int pid = 0;

		if (f && fscanf(f, "%d", &pid) == 1)
			env.simd = pid;
		if (f)
			fclose(f);
	}
}

static pid_t backd_pid(void)
{
	if (o.xen)
		return 0;
	return env.backd > 0 ? env.backd : backd_pid_of(env.rundir);
}

/* vdev names xvdb, xvdc, ... xvdz, xvdaa, ...: each line's disks are fresh. */
/* The id of pvio-backd's worker thread idx ("pvio-backd/idx", block-stats' queue_threads). */
static pid_t backd_thread(unsigned int idx)
{
	char path[64], want[32], comm[32];
	pid_t tid = -1, pid = backd_pid();
	struct dirent *de;
	DIR *d;

	if (idx == 0)
		return pid; /* the main thread serves the queue (no workers: --threads 0, one CPU) */
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	snprintf(want, sizeof(want), "pvio-backd/%u\n", idx);
	d = opendir(path);
	while (d && tid < 0 && (de = readdir(d))) {
		FILE *f;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%.16s/comm", (int)pid, de->d_name);
		f = fopen(path, "r");
		if (f && fgets(comm, sizeof(comm), f) && !strcmp(comm, want))
			tid = atoi(de->d_name);
		if (f)
			fclose(f);
	}
	if (d)
		closedir(d);
	return tid;
}

static void vdev_name(char *buf, size_t len, unsigned int i)
{
	i += 1; /* xvda is left to the guest's root disk, by habit */
	if (i < 26)
		snprintf(buf, len, "xvd%c", 'a' + i);
	else
		snprintf(buf, len, "xvd%c%c", 'a' + (i / 26 - 1), 'a' + i % 26);
}

static unsigned int devid_of(const char *vdev)
{
	/* xvd<one letter>: 202 << 8 | disk << 4; longer names: the extended form */
	size_t n = strlen(vdev);

	if (n == 4)
		return (202u << 8) | ((unsigned int)(vdev[3] - 'a') << 4);
	return (1u << 28) | ((unsigned int)((vdev[3] - 'a' + 1) * 26 + (vdev[4] - 'a')) << 8);
}

static void attach(unsigned int job, const char *vdev, int readonly, int direct)
{
	char spec[PATH_MAX + 64], dom[16];
	const char *target = o.disk;

	if (!strcmp(o.disk, "null"))
		target = "null:";
	snprintf(spec, sizeof(spec), "vdev=%s,access=%s,%starget=%s", vdev, readonly ? "ro" : "rw",
		 direct ? "direct-io-safe," : "", target);
	snprintf(dom, sizeof(dom), "%d", env.domid[job]);
	if (ctl(NULL, 0, 0, "block-attach", dom, spec, NULL) != 0)
		die("pvio-ctl block-attach %s '%s' failed", dom, spec);
}

static void detach(unsigned int job, const char *vdev)
{
	char dom[16];

	snprintf(dom, sizeof(dom), "%d", env.domid[job]);
	ctl(NULL, 0, 1, "block-detach", dom, vdev, "--timeout", "5", NULL);
}

/* The back end's counters, from pvio-ctl block-stats --json. */
#define BACK_MAX_QUEUES 16 /* pvio-backd's PV_BLKBACK_MAX_QUEUES: its per-queue arrays */
struct back_stats {
	uint64_t requests, notif_in, notif_out, grant_maps, grant_unmaps, grant_copies;
	uint64_t spurious, storm_masks;
	/*
	 * Wake-ups of the loops of the pvio-backd threads serving the disk's queues
	 * (block-stats "queue_threads", "queue_thread_wakeups"): every queue a thread serves
	 * reports the same counter, so a sum over queues and jobs counts each thread once
	 * (threads_seen).
	 */
	uint64_t wakeups;
	unsigned int nthr, thr[BACK_MAX_QUEUES];
	uint64_t thr_wakeups[BACK_MAX_QUEUES];
	uint64_t threads_seen[2]; /* bit t: thread t's wake-ups are in (0..PV_BACKD_MAX_THREADS) */
	uint64_t fallbacks; /* requests an O_DIRECT disk did through the page cache */
	unsigned int ring_pages, persistent, indirect, queues, direct;
	char grant_mode[8];
	int ok;
};

static uint64_t json_u64(const char *js, const char *key)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = strstr(js, pat);
	return p ? strtoull(p + strlen(pat), NULL, 10) : 0;
}

/* A JSON array of numbers: into u64[] or u32[] (one of them), at most max; the count. */
static unsigned int json_u64s(const char *js, const char *key, uint64_t *u64, unsigned int *u32,
			      unsigned int max)
{
	char pat[64];
	const char *p;
	char *end;
	unsigned int n = 0;

	snprintf(pat, sizeof(pat), "\"%s\":[", key);
	p = strstr(js, pat);
	if (!p)
		return 0;
	for (p += strlen(pat); n < max && *p >= '0' && *p <= '9'; p = end + (*end == ',')) {
		uint64_t v = strtoull(p, &end, 10);

		if (u64)
			u64[n] = v;
		if (u32)
			u32[n] = (unsigned int)v;
		n++;
	}
	return n;
}

static void back_stats(unsigned int job, const char *vdev, struct back_stats *b)
{
	char js[8192], dom[16];
	const char *p;

	memset(b, 0, sizeof(*b));
	if (o.xen)
		return; /* dom0's */
	snprintf(dom, sizeof(dom), "%d", env.domid[job]);
	if (ctl(js, sizeof(js), 1, "block-stats", dom, vdev, "--json", NULL) != 0 || js[0] != '{')
		return;
	b->ok = 1;
	b->requests = json_u64(js, "requests");
	b->notif_in = json_u64(js, "notifications_in");
	b->notif_out = json_u64(js, "notifications_out");
	b->grant_maps = json_u64(js, "grant_maps");
	b->grant_unmaps = json_u64(js, "grant_unmaps");
	b->grant_copies = json_u64(js, "grant_copies");
	b->spurious = json_u64(js, "spurious_notifications");
	b->storm_masks = json_u64(js, "storm_masks");
	b->nthr = json_u64s(js, "queue_threads", NULL, b->thr, BACK_MAX_QUEUES);
	if (json_u64s(js, "queue_thread_wakeups", b->thr_wakeups, NULL, BACK_MAX_QUEUES) != b->nthr)
		b->nthr = 0;
	b->fallbacks = json_u64(js, "buffered_fallbacks");
	b->direct = (unsigned int)json_u64(js, "direct");
	b->ring_pages = (unsigned int)json_u64(js, "ring_pages");
	b->persistent = (unsigned int)json_u64(js, "persistent");
	b->indirect = (unsigned int)json_u64(js, "indirect_segments");
	b->queues = (unsigned int)json_u64(js, "queues");
	p = strstr(js, "\"grant_mode\":\"");
	if (p)
		snprintf(b->grant_mode, sizeof(b->grant_mode), "%.*s", (int)strcspn(p + 14, "\""),
			 p + 14);
}

/* ---- workload (shared by pvio jobs and the baselines) ------------------------------------ */

struct wl {
	enum rw rw;
	unsigned int bs, qd, mix;
	unsigned int notify;  /* enum pv_blkfront_notify */
	unsigned int direct;  /* io_uring baseline: O_DIRECT */
	uint64_t span;        /* bytes addressed: [0, span) */
	uint64_t seq, seed;
};

/* Next I/O: its offset and whether it writes. */
static uint64_t wl_next(struct wl *w, int *write)
{
	uint64_t blocks = w->span / w->bs, off;

	switch (w->rw) {
	case RW_READ:
	case RW_WRITE:
		off = w->seq;
		w->seq = (w->seq + w->bs) % (blocks * w->bs);
		*write = w->rw == RW_WRITE;
		return off;
	case RW_RANDREAD:
	case RW_RANDWRITE:
		*write = w->rw == RW_RANDWRITE;
		return (rnd(&w->seed) % blocks) * w->bs;
	default:
		*write = rnd(&w->seed) % 100 >= w->mix;
		return (rnd(&w->seed) % blocks) * w->bs;
	}
}

static int wl_writes(enum rw rw)
{
	return rw == RW_WRITE || rw == RW_RANDWRITE || rw == RW_RANDRW;
}

/* What a measured window saw: the same for pvio and every baseline. */
struct result {
	struct hist h;
	uint64_t ios, bytes;
	double secs;
	double cpu;           /* CPU seconds of the measuring process(es) in the window */
	int status;
	char why[160];        /* a baseline that did not run: why */
};

/* The measurement window, shared with forked jobs. */
struct window {
	uint64_t t0, t1;      /* measured completions: t0 <= done < t1 (t1 0: until --size) */
};

static void *shared_alloc(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	memset(p, 0, len);
	return p;
}

static void *bufs_alloc(unsigned int n, unsigned int bs)
{
	void *p;

	if (posix_memalign(&p, 4096, (size_t)n * bs))
		die("out of memory");
	memset(p, 0xa5, (size_t)n * bs);
	return p;
}

/* ---- pvio jobs ------------------------------------------------------------------------------ */

struct lane;

struct job {
	volatile int ready, done, release;
	int status;
	char why[160];
	struct result r;                    /* its lanes' together */
	/* Progress, for the parent: each lane's thread counts in its own (no locked add per I/O). */
	volatile uint64_t live_ios[PV_BLKFRONT_MAX_QUEUES];
	struct pv_blkfront_stats fs;        /* the window's, every lane's */
	double cpu0, cpu1;
	struct pv_blkfront_info info;
	struct lane *lanes;                 /* the job's own memory, not the parent's */
	unsigned int nlanes;
};

struct shm {
	volatile int go, stop;
	struct window win;
	struct job job[MAX_JOBS];
};

struct lane;

struct slot {
	struct pv_blkfront_io io;
	uint64_t t0;
	struct lane *lane;
	struct window *win;
	int busy;
};

/*
 * One front-end thread's share of a job: the whole blkfront handle, or one of its queues
 * (--queue-threads: pv_blkfront_queue_*, a thread each).  Nothing here is shared.
 */
struct lane {
	struct shm *sh;
	struct job *j;
	struct pv_blkfront *bf;
	int queue;                          /* -1: the whole handle */
	unsigned int idx;                   /* in j->lanes */
	struct wl w;                        /* its own seed and share of the queue depth */
	struct slot *slots;
	unsigned char *buf, *wbuf;
	struct result r;
	struct pv_blkfront_stats st0, st1;
	int status;
	char why[160];
	pthread_t thread;
};

static void pvio_done(struct pv_blkfront_io *io, int status)
{
	struct slot *s = io->opaque;
	struct lane *l = s->lane;
	uint64_t t = now_ns();

	s->busy = 0;
	if (status < 0) {
		l->status = status;
		return;
	}
	l->j->live_ios[l->idx]++;
	if (t >= s->win->t0 && (!s->win->t1 || t < s->win->t1) && s->t0 >= s->win->t0) {
		hist_add(&l->r.h, t - s->t0);
		l->r.ios++;
		l->r.bytes += io->len;
	}
}

static void lane_stats(struct lane *l, struct pv_blkfront_stats *st)
{
	if (l->queue < 0)
		pv_blkfront_get_stats(l->bf, st);
	else
		pv_blkfront_queue_get_stats(l->bf, (unsigned int)l->queue, st);
}

static int lane_submit(struct lane *l, struct pv_blkfront_io *io)
{
	return l->queue < 0 ? pv_blkfront_submit(l->bf, io) :
	       pv_blkfront_queue_submit(l->bf, (unsigned int)l->queue, io);
}

static int lane_kick_poll(struct lane *l, int ms)
{
	if (l->queue < 0) {
		pv_blkfront_kick(l->bf);
		return pv_blkfront_poll(l->bf, ms);
	}
	pv_blkfront_queue_kick(l->bf, (unsigned int)l->queue);
	return pv_blkfront_queue_poll(l->bf, (unsigned int)l->queue, ms);
}

/* The I/O loop of one lane, from go to the window's end; 0, or -errno and l->why. */
static int lane_run(struct lane *l)
{
	struct shm *sh = l->sh;
	struct job *j = l->j;
	struct wl *w = &l->w;
	uint64_t issued = 0, t;
	unsigned int i, inflight;
	int rc, in_window = 0, stopping = 0;

	if (l->queue >= 0)
		place_queue(0, (unsigned int)l->queue);
	for (;;) {
		t = now_ns();
		if (!in_window && t >= sh->win.t0) {
			in_window = 1;
			lane_stats(l, &l->st0);
			if (l == l->j->lanes)
				j->cpu0 = proc_cpu(getpid()); /* the process's: every lane's thread */
		}
		if (!stopping && (sh->stop || (sh->win.t1 && t >= sh->win.t1) ||
				  (o.size && issued >= o.size / j->nlanes))) {
			stopping = 1;
			lane_stats(l, &l->st1);
			if (l == l->j->lanes)
				j->cpu1 = proc_cpu(getpid());
			l->r.secs = (double)((sh->win.t1 && t > sh->win.t1 ? sh->win.t1 : t) -
					     sh->win.t0) / 1e9;
		}
		for (i = 0; !stopping && i < w->qd; i++) {
			struct slot *s = &l->slots[i];
			int wr;

			if (s->busy)
				continue;
			s->io.offset = wl_next(w, &wr);
			s->io.op = wr ? PV_BLKFRONT_WRITE : PV_BLKFRONT_READ;
			s->io.buf = (wr ? l->wbuf : l->buf) + (size_t)i * w->bs;
			s->t0 = now_ns();
			rc = lane_submit(l, &s->io);
			if (rc == -EAGAIN)
				break;
			if (rc < 0) {
				snprintf(l->why, sizeof(l->why), "submit: %s", strerror(-rc));
				return rc;
			}
			s->busy = 1;
			issued += w->bs;
		}
		rc = lane_kick_poll(l, 100);
		if (rc < 0) {
			snprintf(l->why, sizeof(l->why), "poll: %s", strerror(-rc));
			return rc;
		}
		if (l->status < 0) {
			snprintf(l->why, sizeof(l->why), "an I/O failed: %s", strerror(-l->status));
			return l->status;
		}
		for (inflight = 0, i = 0; i < w->qd; i++)
			inflight += l->slots[i].busy;
		if (stopping && !inflight)
			return 0;
	}
}

static void *lane_thread(void *arg)
{
	struct lane *l = arg;

	l->status = lane_run(l);
	return NULL;
}

static void lane_setup(struct lane *l, unsigned int qd, uint64_t seed)
{
	unsigned int i;

	l->w.qd = qd;
	l->w.seed = seed;
	l->slots = calloc(qd, sizeof(*l->slots));
	/* Writes from buffers that reads never overwrite: the disk gets the 0xa5 pattern. */
	l->buf = bufs_alloc(qd, l->w.bs);
	l->wbuf = bufs_alloc(qd, l->w.bs);
	if (!l->slots)
		die("out of memory");
	for (i = 0; i < qd; i++) {
		l->slots[i].io.buf = l->buf + (size_t)i * l->w.bs;
		l->slots[i].io.len = l->w.bs;
		l->slots[i].io.done = pvio_done;
		l->slots[i].io.opaque = &l->slots[i];
		l->slots[i].lane = l;
		l->slots[i].win = &l->sh->win;
	}
}

static void st_delta(struct pv_blkfront_stats *to, const struct lane *l)
{
	to->requests += l->st1.requests - l->st0.requests;
	to->kicks += l->st1.kicks - l->st0.kicks;
	to->wakeups += l->st1.wakeups - l->st0.wakeups;
	to->grants_shared += l->st1.grants_shared - l->st0.grants_shared;
}

/*
 * One job: its own platform handle and blkfront, on vdev's devid; with --queue-threads a
 * platform handle and a thread per queue too.
 */
static int pvio_job(struct shm *sh, unsigned int idx, unsigned int devid, struct wl w,
		    const struct pv_blkfront_opts *bo0)
{
	struct job *j = &sh->job[idx];
	struct pv_blkfront_opts bo = *bo0;
	struct pv_platform *p = NULL, *qp[PV_BLKFRONT_MAX_QUEUES] = { NULL };
	struct pv_blkfront *bf = NULL;
	struct lane *l;
	char spec[PATH_MAX + 32];
	const char *why = NULL;
	unsigned int i, n = 1;
	int rc;

	if (o.xen)
		snprintf(spec, sizeof(spec), "xen");
	else
		snprintf(spec, sizeof(spec), "sim:%s:%d", env.rundir, env.domid[idx]);
	rc = pv_platform_open(spec, &p, &why);
	for (i = 0; rc == 0 && o.qthreads && i < bo.max_queues && i < PV_BLKFRONT_MAX_QUEUES; i++) {
		rc = pv_platform_open(spec, &qp[i], &why);
		bo.queue_platform[i] = qp[i];
	}
	if (rc < 0) {
		snprintf(j->why, sizeof(j->why), "platform %.90s: %.50s", spec, why ? why : strerror(-rc));
		goto fail;
	}
	rc = pv_blkfront_open(p, devid, &bo, &bf);
	if (rc < 0) {
		snprintf(j->why, sizeof(j->why), "pv_blkfront_open(%u): %s", devid, strerror(-rc));
		goto fail;
	}
	rc = pv_blkfront_set_notify(bf, (enum pv_blkfront_notify)w.notify, o.poll_us);
	if (rc < 0) {
		snprintf(j->why, sizeof(j->why), "pv_blkfront_set_notify: %s", strerror(-rc));
		goto fail;
	}
	pv_blkfront_info(bf, &j->info);
	w.span = j->info.sectors * 512;
	if (w.span < w.bs) {
		snprintf(j->why, sizeof(j->why), "disk smaller than one block");
		rc = -EINVAL;
		goto fail;
	}
	if (o.qthreads)
		n = j->info.queues < w.qd ? j->info.queues : w.qd;
	j->nlanes = n;
	j->lanes = calloc(n, sizeof(*j->lanes));
	if (!j->lanes)
		die("out of memory");
	for (i = 0; i < n; i++) {
		l = &j->lanes[i];
		*l = (struct lane){ .sh = sh, .j = j, .bf = bf, .queue = o.qthreads ? (int)i : -1,
				    .idx = i, .w = w };
		lane_setup(l, w.qd / n + (i < w.qd % n), w.seed + 0x9E3779B97F4A7C15ull * i);
	}
	j->ready = 1;
	while (!sh->go && !sh->stop)
		usleep(1000);

	for (i = 1; i < n; i++)
		if ((rc = pthread_create(&j->lanes[i].thread, NULL, lane_thread, &j->lanes[i])) != 0)
			die("pthread_create: %s", strerror(rc));
	j->lanes[0].status = lane_run(&j->lanes[0]);
	for (i = 1; i < n; i++)
		pthread_join(j->lanes[i].thread, NULL);
	for (rc = 0, i = 0; i < n; i++) {
		l = &j->lanes[i];
		if (l->status < 0 && !rc) {
			rc = l->status;
			snprintf(j->why, sizeof(j->why), "queue %d: %.140s", l->queue, l->why);
		}
		hist_merge(&j->r.h, &l->r.h);
		j->r.ios += l->r.ios;
		j->r.bytes += l->r.bytes;
		if (l->r.secs > j->r.secs)
			j->r.secs = l->r.secs;
		st_delta(&j->fs, l);
	}
	if (rc < 0)
		goto fail;
	j->done = 1;
	/* The parent reads the back end's counters before we disconnect. */
	while (!j->release && !sh->stop)
		usleep(1000);
	goto out;
fail:
	rc = j->status = rc < 0 ? rc : -EIO;
	j->done = 1;
	j->ready = 1;
out:
	pv_blkfront_close(bf);
	if (p)
		pv_platform_close(p);
	for (i = 0; i < PV_BLKFRONT_MAX_QUEUES; i++)
		if (qp[i])
			pv_platform_close(qp[i]);
	return rc < 0;
}

/* ---- baselines -------------------------------------------------------------------------------- */

/*
 * Spinning on a shared word.  After 4096 pauses the spinner yields: on a machine with
 * more runnable threads than cores a pure spin waits out its peer's whole time slice, and
 * the figure would measure the scheduler instead of the round trip.
 */
static void spin_while(volatile uint64_t *w, uint64_t v)
{
	unsigned int n = 0;

	while (__atomic_load_n(w, __ATOMIC_ACQUIRE) == v)
		if (++n % 4096)
			__builtin_ia32_pause();
		else
			sched_yield();
}

static void spin_until(volatile uint64_t *w, uint64_t v)
{
	unsigned int n = 0;

	while (__atomic_load_n(w, __ATOMIC_ACQUIRE) != v)
		if (++n % 4096)
			__builtin_ia32_pause();
		else
			sched_yield();
}

/* Raw round trips between two processes: eventfd (blocking) and shared memory (spinning). */
static void rtt_baseline(int shm_spin, double secs, struct result *r)
{
	volatile uint64_t *cell = shared_alloc(4096);
	int a = eventfd(0, EFD_CLOEXEC), b = eventfd(0, EFD_CLOEXEC);
	uint64_t v, end, t;
	pid_t pid;

	memset(r, 0, sizeof(*r));
	if (a < 0 || b < 0)
		die("eventfd: %s", strerror(errno));
	pid = fork();
	if (pid == 0) {
		uint64_t seen = 0;

		place(1);
		for (;;) {
			if (shm_spin) {
				spin_while(&cell[0], seen);
				seen = __atomic_load_n(&cell[0], __ATOMIC_ACQUIRE);
				if (seen == UINT64_MAX)
					_exit(0);
				__atomic_store_n(&cell[8], seen, __ATOMIC_RELEASE);
			} else {
				if (read(a, &v, sizeof(v)) != sizeof(v) || v > 1)
					_exit(0);
				v = 1;
				if (write(b, &v, sizeof(v)) != sizeof(v))
					_exit(1);
			}
		}
	}
	end = now_ns() + (uint64_t)(secs * 1e9);
	for (uint64_t i = 1;; i++) {
		t = now_ns();
		if (t >= end)
			break;
		if (shm_spin) {
			__atomic_store_n(&cell[0], i, __ATOMIC_RELEASE);
			spin_until(&cell[8], i);
		} else {
			v = 1;
			if (write(a, &v, sizeof(v)) != sizeof(v) || read(b, &v, sizeof(v)) != sizeof(v))
				break;
		}
		hist_add(&r->h, now_ns() - t);
	}
	if (shm_spin) {
		__atomic_store_n(&cell[0], UINT64_MAX, __ATOMIC_RELEASE);
	} else {
		v = 2;
		if (write(a, &v, sizeof(v)) < 0)
			kill(pid, SIGKILL);
	}
	waitpid(pid, NULL, 0);
	close(a);
	close(b);
	munmap((void *)cell, 4096);
	r->ios = r->h.n;
	r->secs = secs;
}

/* The measuring loop of the in-process baselines: submit up to qd, reap, repeat. */
static void window_times(double *ramp, uint64_t *t0, uint64_t *t1)
{
	uint64_t now = now_ns();

	*t0 = now + (uint64_t)(*ramp * 1e9);
	*t1 = o.size ? 0 : *t0 + (uint64_t)(o.runtime * 1e9);
}

static void record(struct result *r, uint64_t t0w, uint64_t t1w, uint64_t start, uint64_t done,
		   unsigned int bs)
{
	if (done >= t0w && start >= t0w && (!t1w || done < t1w)) {
		hist_add(&r->h, done - start);
		r->ios++;
		r->bytes += bs;
	}
}

static void uring_baseline(const struct wl *w0, struct result *r)
{
	struct wl w = *w0;
	struct io_uring ring;
	uint64_t *start, t0w, t1w, issued = 0, t;
	double ramp = o.ramp, c0 = 0;
	unsigned char *buf, *wbuf;
	unsigned int i, inflight = 0, *freeq, nfree;
	int fd, rc, in_window = 0, stopping = 0;
	struct stat st;

	memset(r, 0, sizeof(*r));
	fd = open(o.disk, (wl_writes(w.rw) ? O_RDWR : O_RDONLY) | O_CLOEXEC |
		  (w.direct ? O_DIRECT : 0));
	if (fd < 0 || fstat(fd, &st) < 0) {
		snprintf(r->why, sizeof(r->why), "open %s%s: %s", o.disk,
			 w.direct ? " with O_DIRECT" : "", strerror(errno));
		r->status = -1;
		return;
	}
	if (S_ISBLK(st.st_mode)) {
		off_t end = lseek(fd, 0, SEEK_END);

		w.span = end > 0 ? (uint64_t)end : 0;
	} else {
		w.span = (uint64_t)st.st_size;
	}
	if (w.span < w.bs || (rc = io_uring_queue_init(w.qd, &ring, 0)) < 0) {
		snprintf(r->why, sizeof(r->why), "io_uring_queue_init: %s",
			 w.span < w.bs ? "file too small" : strerror(-rc));
		r->status = -1;
		close(fd);
		return;
	}
	/* As the pvio jobs: writes from buffers reads never overwrite. */
	buf = bufs_alloc(w.qd, w.bs);
	wbuf = bufs_alloc(w.qd, w.bs);
	start = calloc(w.qd, sizeof(*start));
	freeq = calloc(w.qd, sizeof(*freeq));
	if (!start || !freeq)
		die("out of memory");
	for (i = 0; i < w.qd; i++)
		freeq[i] = i;
	nfree = w.qd;
	window_times(&ramp, &t0w, &t1w);
	for (;;) {
		struct io_uring_cqe *cqe;
		unsigned int head, n = 0;

		t = now_ns();
		if (!in_window && t >= t0w) {
			in_window = 1;
			c0 = proc_cpu(getpid());
		}
		if (!stopping && (interrupted || (t1w && t >= t1w) || (o.size && issued >= o.size))) {
			stopping = 1;
			r->cpu = proc_cpu(getpid()) - c0;
			r->secs = (double)((t1w && t > t1w ? t1w : t) - t0w) / 1e9;
		}
		while (!stopping && nfree) {
			struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
			int wr;
			uint64_t off = wl_next(&w, &wr);

			if (!sqe)
				break;
			i = freeq[--nfree];
			if (wr)
				io_uring_prep_write(sqe, fd, wbuf + (size_t)i * w.bs, w.bs, off);
			else
				io_uring_prep_read(sqe, fd, buf + (size_t)i * w.bs, w.bs, off);
			io_uring_sqe_set_data64(sqe, i);
			start[i] = now_ns();
			inflight++;
			issued += w.bs;
		}
		if (!inflight)
			break;
		rc = io_uring_submit_and_wait(&ring, 1);
		if (rc < 0 && rc != -EINTR) {
			snprintf(r->why, sizeof(r->why), "io_uring_submit: %s", strerror(-rc));
			r->status = -1;
			break;
		}
		t = now_ns();
		io_uring_for_each_cqe(&ring, head, cqe) {
			i = (unsigned int)io_uring_cqe_get_data64(cqe);
			if (cqe->res != (int)w.bs && !r->status) {
				snprintf(r->why, sizeof(r->why), "io_uring I/O: %s",
					 cqe->res < 0 ? strerror(-cqe->res) : "short");
				r->status = -1;
			}
			record(r, t0w, t1w, start[i], t, w.bs);
			freeq[nfree++] = i;
			inflight--;
			n++;
		}
		io_uring_cq_advance(&ring, n);
	}
	io_uring_queue_exit(&ring);
	close(fd);
	free(buf);
	free(wbuf);
	free(start);
	free(freeq);
}

#ifdef HAVE_LIBNBD
struct nbd_slot {
	uint64_t start;
	unsigned int idx;
	unsigned int *freeq, *nfree;
	struct result *r;
	uint64_t t0w, t1w;
	unsigned int bs;
	int *err;
};

static int nbd_done(void *opaque, int *error)
{
	struct nbd_slot *s = opaque;

	if (*error)
		*s->err = *error;
	record(s->r, s->t0w, s->t1w, s->start, now_ns(), s->bs);
	s->freeq[(*s->nfree)++] = s->idx;
	return 1; /* retire the command */
}

/* nbdkit on a unix socket in a private directory: the file plugin, or null for null disks. */
static int nbdkit_start(uint64_t null_bytes, char *sock, size_t len, char *why, size_t whylen)
{
	char size_arg[64], pidpath[96];
	pid_t pid;
	int i;

	if (access("/usr/sbin/nbdkit", X_OK) < 0 && access("/usr/bin/nbdkit", X_OK) < 0) {
		snprintf(why, whylen, "nbdkit is not installed (Debian: nbdkit)");
		return -1;
	}
	snprintf(env.nbd_dir, sizeof(env.nbd_dir), "/tmp/pvio-bench-nbd-XXXXXX");
	if (!mkdtemp(env.nbd_dir)) {
		env.nbd_dir[0] = '\0';
		snprintf(why, whylen, "mkdtemp: %s", strerror(errno));
		return -1;
	}
	snprintf(sock, len, "%s/sock", env.nbd_dir);
	snprintf(pidpath, sizeof(pidpath), "%s/pid", env.nbd_dir);
	snprintf(size_arg, sizeof(size_arg), "size=%" PRIu64, null_bytes);
	pid = fork();
	if (pid == 0) {
		int nul = open("/dev/null", O_WRONLY);
		char file_arg[PATH_MAX + 8];

		if (nul >= 0)
			dup2(nul, 2);
		snprintf(file_arg, sizeof(file_arg), "file=%s", o.disk);
		place(1);
		if (null_bytes)
			execlp("nbdkit", "nbdkit", "-f", "-U", sock, "null", size_arg, (char *)NULL);
		else
			execlp("nbdkit", "nbdkit", "-f", "-U", sock, "file", file_arg, (char *)NULL);
		_exit(127);
	}
	env.nbdkit = pid;
	for (i = 0; i < 200 && access(sock, F_OK) < 0; i++)
		usleep(25000);
	if (access(sock, F_OK) < 0) {
		snprintf(why, whylen, "nbdkit did not start");
		kill_wait(&env.nbdkit);
		return -1;
	}
	return 0;
}

static void nbd_baseline(const struct wl *w0, uint64_t null_bytes, struct result *r)
{
	struct wl w = *w0;
	struct nbd_handle *h = NULL;
	struct nbd_slot *slots = NULL;
	char sock[128];
	unsigned int *freeq = NULL, nfree, i;
	uint64_t t0w, t1w, issued = 0, t;
	double ramp = o.ramp, c0 = 0, k0 = 0;
	unsigned char *buf = NULL, *wbuf = NULL;
	int err = 0, in_window = 0, stopping = 0;
	int64_t size;

	memset(r, 0, sizeof(*r));
	if (nbdkit_start(null_bytes, sock, sizeof(sock), r->why, sizeof(r->why)) < 0) {
		r->status = -1;
		return;
	}
	h = nbd_create();
	if (!h || nbd_connect_unix(h, sock) < 0 || (size = nbd_get_size(h)) < (int64_t)w.bs) {
		snprintf(r->why, sizeof(r->why), "libnbd: %s", nbd_get_error());
		r->status = -1;
		goto out;
	}
	w.span = (uint64_t)size;
	buf = bufs_alloc(w.qd, w.bs);
	wbuf = bufs_alloc(w.qd, w.bs);
	slots = calloc(w.qd, sizeof(*slots));
	freeq = calloc(w.qd, sizeof(*freeq));
	if (!slots || !freeq)
		die("out of memory");
	nfree = w.qd;
	window_times(&ramp, &t0w, &t1w);
	for (i = 0; i < w.qd; i++) {
		freeq[i] = i;
		slots[i] = (struct nbd_slot){ .idx = i, .freeq = freeq, .nfree = &nfree, .r = r,
					      .t0w = t0w, .t1w = t1w, .bs = w.bs, .err = &err };
	}
	for (;;) {
		t = now_ns();
		if (!in_window && t >= t0w) {
			in_window = 1;
			c0 = proc_cpu(getpid());
			k0 = proc_cpu(env.nbdkit);
		}
		if (!stopping && (interrupted || (t1w && t >= t1w) || (o.size && issued >= o.size))) {
			stopping = 1;
			r->cpu = proc_cpu(getpid()) - c0 + proc_cpu(env.nbdkit) - k0;
			r->secs = (double)((t1w && t > t1w ? t1w : t) - t0w) / 1e9;
		}
		while (!stopping && nfree) {
			int wr;
			uint64_t off = wl_next(&w, &wr);
			nbd_completion_callback cb;
			int64_t c;

			i = freeq[--nfree];
			slots[i].start = now_ns();
			cb = (nbd_completion_callback){ .callback = nbd_done, .user_data = &slots[i] };
			c = wr ? nbd_aio_pwrite(h, wbuf + (size_t)i * w.bs, w.bs, off, cb, 0)
			       : nbd_aio_pread(h, buf + (size_t)i * w.bs, w.bs, off, cb, 0);
			if (c < 0) {
				snprintf(r->why, sizeof(r->why), "libnbd: %s", nbd_get_error());
				r->status = -1;
				goto out;
			}
			issued += w.bs;
		}
		if (nbd_aio_in_flight(h) <= 0)
			break;
		if (nbd_poll(h, -1) < 0) {
			snprintf(r->why, sizeof(r->why), "nbd_poll: %s", nbd_get_error());
			r->status = -1;
			goto out;
		}
		if (err) {
			snprintf(r->why, sizeof(r->why), "an NBD I/O failed: %s", strerror(err));
			r->status = -1;
			goto out;
		}
	}
out:
	if (h) {
		nbd_shutdown(h, 0);
		nbd_close(h);
	}
	kill_wait(&env.nbdkit);
	rm_rf(env.nbd_dir);
	env.nbd_dir[0] = '\0';
	free(buf);
	free(wbuf);
	free(slots);
	free(freeq);
}
#endif

/* ---- one line of the matrix -------------------------------------------------------------------- */

struct line {
	enum rw rw;
	unsigned int bs, qd, queues, jobs;
	unsigned int notify;             /* enum pv_blkfront_notify */
	unsigned int direct;             /* attached with direct-io-safe */
	unsigned int backend_poll_us;    /* pvio-backd --poll-us (as started by us) */
	struct result r;                 /* merged over jobs */
	double cpu_front, cpu_back, cpu_sim;  /* seconds in the window */
	struct pv_blkfront_stats fs;     /* summed deltas */
	struct back_stats bs0, bs1;      /* summed */
	struct pv_blkfront_info info;    /* job 0's */
	char grant_mode[8];
	struct result uring, nbd;
	int have_uring, have_nbd;
};

#define MAX_LINES 256
static struct line lines[MAX_LINES];
static unsigned int nlines, next_vdev;
static struct result rtt_ev, rtt_shm;
static double load0, load1; /* 1-minute load average before and after: how shared the machine was */

static double loadavg(void)
{
	FILE *f = fopen("/proc/loadavg", "r");
	double v = -1;

	if (f) {
		if (fscanf(f, "%lf", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}
static int have_ev, have_shm;

static void add_back(struct back_stats *to, const struct back_stats *b)
{
	unsigned int i;

	to->requests += b->requests;
	to->notif_in += b->notif_in;
	to->notif_out += b->notif_out;
	to->grant_maps += b->grant_maps;
	to->grant_unmaps += b->grant_unmaps;
	to->grant_copies += b->grant_copies;
	to->spurious += b->spurious;
	to->storm_masks += b->storm_masks;
	to->fallbacks += b->fallbacks;
	for (i = 0; i < b->nthr; i++) {
		unsigned int t = b->thr[i];

		if (t < 128 && !(to->threads_seen[t / 64] & (1ull << (t % 64)))) {
			to->threads_seen[t / 64] |= 1ull << (t % 64);
			to->wakeups += b->thr_wakeups[i];
		}
	}
	to->direct = b->direct;
	to->ok = b->ok;
	to->ring_pages = b->ring_pages;
	to->persistent = b->persistent;
	to->indirect = b->indirect;
	to->queues = b->queues;
	memcpy(to->grant_mode, b->grant_mode, sizeof(to->grant_mode));
}

static void progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void progress(const char *fmt, ...)
{
	va_list ap;

	static int tty = -1;
	char line[160];

	if (o.quiet)
		return;
	if (tty < 0)
		tty = isatty(2);
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* A terminal gets one line rewritten in place; a log gets whole lines. */
	if (tty)
		fprintf(stderr, "\r%*s\r%s", 72, "", line);
	else if (line[0])
		fprintf(stderr, "pvio-bench:%s\n", line);
}

static void run_line(struct line *L)
{
	struct shm *sh = shared_alloc(sizeof(struct shm));
	char vdevs[MAX_JOBS][16];
	pid_t pids[MAX_JOBS];
	struct pv_blkfront_opts bo = { .max_queues = L->queues };
	struct back_stats b;
	double bc0 = 0, sc0 = 0;
	uint64_t deadline, t, tick;
	unsigned int i;
	int readonly = !wl_writes(L->rw) && !null_disk();

	if (!o.rundir && !o.xen && backend_poll_us(L->notify) != env.backd_poll_us) {
		char sock[PATH_MAX + 32];

		kill_wait(&env.backd);
		snprintf(sock, sizeof(sock), "%s/pvio-backd.sock", env.rundir);
		unlink(sock);
		start_backd(backend_poll_us(L->notify));
	}
	L->backend_poll_us = o.rundir || o.xen ? 0 : env.backd_poll_us;

	if (o.ring_pages == 1)
		bo.no_ring_order = 1;
	else if (o.ring_pages)
		bo.max_ring_page_order = (unsigned int)__builtin_ctz(o.ring_pages);
	bo.no_persistent = o.no_persistent;
	bo.no_indirect = o.no_indirect;
	bo.max_indirect_segments = o.indirect;

	for (i = 0; i < L->jobs; i++) {
		if (o.vdev) {
			snprintf(vdevs[i], sizeof(vdevs[i]), "%s", o.vdev);
		} else {
			vdev_name(vdevs[i], sizeof(vdevs[i]), next_vdev);
			attach(i, vdevs[i], readonly, (int)L->direct);
		}
	}
	next_vdev++;
	jobs_stop = &sh->stop;
	for (i = 0; i < L->jobs; i++) {
		struct wl w = { .rw = L->rw, .bs = L->bs, .qd = L->qd, .mix = o.mixread,
				.notify = L->notify,
				.seed = 0x9E3779B97F4A7C15ull * (i + 1) + L->qd };
		unsigned int devid;

		if (o.vdev) {
			char buf[32];
			/* the running disk: its devid from pvio-ctl's parser is not linked in here */
			snprintf(buf, sizeof(buf), "%s", o.vdev);
			devid = (unsigned int)strtoul(buf, NULL, 0);
			if (!devid)
				devid = devid_of(o.vdev);
		} else {
			devid = devid_of(vdevs[i]);
		}
		pids[i] = fork();
		if (pids[i] < 0)
			die("fork: %s", strerror(errno));
		if (pids[i] == 0) {
			/* A job never outlives the run: not even when the parent dies. */
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (getppid() != main_pid)
				_exit(1);
			signal(SIGINT, SIG_IGN); /* the parent decides when to stop */
			_exit(pvio_job(sh, i, devid, w, &bo));
		}
	}
	deadline = now_ns() + 30000000000ull;
	for (i = 0; i < L->jobs; i++) {
		while (!sh->job[i].ready && now_ns() < deadline && !interrupted)
			usleep(2000);
		if (!sh->job[i].ready || sh->job[i].status < 0) {
			sh->stop = 1;
			die("job %u: %s", i, sh->job[i].ready ? sh->job[i].why : "did not connect in 30 s");
		}
	}
	if (o.placement == PLACE_SPREAD)
		for (i = 0; i < L->jobs; i++) {
			unsigned int k;
			pid_t tid;

			/* pvio-backd's thread of each queue (connected by now) next to the front end's */
			back_stats(i, vdevs[i], &b);
			for (k = 0; k < b.nthr; k++) {
				tid = backd_thread(b.thr[k]);
				if (tid <= 0)
					die("placement spread: pvio-backd has no thread pvio-backd/%u", b.thr[k]);
				place_queue(tid, k);
			}
		}
	sh->win.t0 = now_ns() + (uint64_t)(o.ramp * 1e9);
	sh->win.t1 = o.size ? 0 : sh->win.t0 + (uint64_t)(o.runtime * 1e9);
	__atomic_store_n(&sh->go, 1, __ATOMIC_RELEASE);
	sleep_until(sh->win.t0);
	memset(&L->bs0, 0, sizeof(L->bs0));
	for (i = 0; i < L->jobs; i++) {
		back_stats(i, vdevs[i], &b);
		add_back(&L->bs0, &b);
	}
	bc0 = proc_cpu(backd_pid());
	sc0 = proc_cpu(env.simd);
	/* Progress once a second; the window ends at t1 (or when every job did --size). */
	for (tick = sh->win.t0 + 1000000000ull;;) {
		int all_done = 1;

		for (i = 0; i < L->jobs; i++)
			all_done &= sh->job[i].done;
		t = now_ns();
		if ((sh->win.t1 && t >= sh->win.t1) || all_done || interrupted)
			break;
		if (t >= tick) {
			uint64_t n = 0;

			for (i = 0; i < L->jobs; i++)
				for (unsigned int k = 0; k < PV_BLKFRONT_MAX_QUEUES; k++)
					n += sh->job[i].live_ios[k];
			progress("  %s bs=%u qd=%u queues=%u: %.0f s, %" PRIu64 " I/Os   ",
				 rw_names[L->rw], L->bs, L->qd, L->queues, (double)(t - sh->win.t0) / 1e9, n);
			tick += 1000000000ull;
		}
		usleep(sh->win.t1 && sh->win.t1 - t < 20000000 ? (useconds_t)((sh->win.t1 - t) / 1000) + 1 : 20000);
	}
	L->cpu_back = proc_cpu(backd_pid()) - bc0;
	L->cpu_sim = proc_cpu(env.simd) - sc0;
	if (interrupted)
		sh->stop = 1;
	for (i = 0; i < L->jobs; i++) {
		while (!sh->job[i].done)
			usleep(1000);
		if (sh->job[i].status < 0) {
			sh->stop = 1;
			for (i = 0; i < L->jobs; i++)
				sh->job[i].release = 1;
			die("job: %s", sh->job[i].why);
		}
	}
	memset(&L->bs1, 0, sizeof(L->bs1));
	for (i = 0; i < L->jobs; i++) {
		back_stats(i, vdevs[i], &b);
		add_back(&L->bs1, &b);
	}
	for (i = 0; i < L->jobs; i++) {
		struct job *j = &sh->job[i];

		sh->job[i].release = 1;
		waitpid(pids[i], NULL, 0);
		hist_merge(&L->r.h, &j->r.h);
		L->r.ios += j->r.ios;
		L->r.bytes += j->r.bytes;
		if (j->r.secs > L->r.secs)
			L->r.secs = j->r.secs;
		L->cpu_front += j->cpu1 - j->cpu0;
		L->fs.requests += j->fs.requests;
		L->fs.kicks += j->fs.kicks;
		L->fs.wakeups += j->fs.wakeups;
		L->fs.grants_shared += j->fs.grants_shared;
		if (i == 0)
			L->info = j->info;
	}
	progress("%s", "");
	if (!o.vdev)
		for (i = 0; i < L->jobs; i++)
			detach(i, vdevs[i]);
	jobs_stop = NULL;
	memcpy(L->grant_mode, L->bs1.grant_mode, sizeof(L->grant_mode));
	L->r.cpu = L->cpu_front + L->cpu_back + L->cpu_sim; /* the whole pvio stack's */
	munmap(sh, sizeof(*sh));
}

static void run_baselines(struct line *L)
{
	struct wl w = { .rw = L->rw, .bs = L->bs, .qd = L->qd, .mix = o.mixread, .seed = 12345,
			.direct = L->direct };

	if (interrupted)
		return;
	if (want_baseline("io_uring")) {
		L->have_uring = 1;
		if (null_disk()) {
			L->uring.status = -1;
			snprintf(L->uring.why, sizeof(L->uring.why), "not applicable to a null disk");
		} else {
			progress("  baseline io_uring bs=%u qd=%u...", L->bs, L->qd);
			uring_baseline(&w, &L->uring);
		}
	}
	if (want_baseline("nbd")) {
		L->have_nbd = 1;
#ifdef HAVE_LIBNBD
		progress("  baseline nbd bs=%u qd=%u...", L->bs, L->qd);
		nbd_baseline(&w, null_disk() ? (o.disk[4] == ':' ? strtoull(o.disk + 5, NULL, 10) * 512
							       : (1ull << 30)) : 0, &L->nbd);
#else
		L->nbd.status = -1;
		snprintf(L->nbd.why, sizeof(L->nbd.why), "built without libnbd (Debian: libnbd-dev)");
#endif
	}
	progress("%s", "");
}

/* ---- output ---------------------------------------------------------------------------------- */

static double iops(const struct result *r)
{
	return r->secs > 0 ? (double)r->ios / r->secs : 0;
}

static double mbps(const struct result *r)
{
	return r->secs > 0 ? (double)r->bytes / r->secs / 1e6 : 0;
}

static double per_io(double v, const struct line *L)
{
	return L->r.ios ? v / (double)L->r.ios : 0;
}

static int ok_result(const struct result *r)
{
	return r->status == 0 && r->ios > 0;
}

/* What the lines are labelled with: a disk attached by someone else is just a vdev. */
static const char *disk_kind(void)
{
	return o.vdev ? "vdev" : null_disk() ? "null" : "file";
}

static const char *line_name(const struct line *L, char *buf, size_t len)
{
	snprintf(buf, len, "%s %s bs=%u qd=%u q=%u j=%u%s%s%s", disk_kind(),
		 rw_names[L->rw], L->bs, L->qd, L->queues, L->jobs,
		 L->notify != PV_BLKFRONT_NOTIFY_EVENT ? " " : "",
		 L->notify != PV_BLKFRONT_NOTIFY_EVENT ? notify_names[L->notify] : "",
		 L->direct ? " direct" : "");
	return buf;
}

/* A back-end figure for the table: "-" where the back end is out of reach (xen). */
static const char *back_col(char buf[16], double v)
{
	if (o.xen)
		return "-";
	snprintf(buf, 16, "%.2f", v);
	return buf;
}

static void print_table(void)
{
	char name[96];
	unsigned int i;

	char modes[32] = "";

	for (i = 0; i < o.nnotify; i++)
		snprintf(modes + strlen(modes), sizeof(modes) - strlen(modes), "%s%s", i ? "," : "",
			 notify_names[o.notify[i]]);
	printf("pvio-bench: %s platform, disk %s, ring pages %s, persistent %s, indirect %s, "
	       "notify %s, runtime %.3g s (ramp %.3g s), front end: %s\n", o.xen ? "xen" : "sim",
	       o.vdev ? o.vdev : o.disk, o.ring_pages ? "set" : "as offered", o.no_persistent ? "off" : "on",
	       o.no_indirect ? "off" : "on", modes, o.runtime, o.ramp,
	       o.qthreads ? "a thread per queue" : "a thread per job");
	for (i = 0; i < o.nnotify; i++)
		if (o.notify[i] != PV_BLKFRONT_NOTIFY_EVENT)
			break;
	if (i < o.nnotify)
		printf("polling: front end spins %u us (hybrid) / %u us (poll) before sleeping; "
		       "pvio-backd --poll-us %u (hybrid) / %u (poll)%s; a spinning front end and back "
		       "end take a CPU each\n", o.poll_us ? o.poll_us : PV_BLKFRONT_HYBRID_US,
		       o.poll_us ? o.poll_us : PV_BLKFRONT_POLL_US,
		       backend_poll_us(PV_BLKFRONT_NOTIFY_HYBRID), backend_poll_us(PV_BLKFRONT_NOTIFY_POLL),
		       o.rundir ? " (--rundir: the running daemon's own setting instead)" : "");
	printf("machine: %ld CPUs, load average %.2f before, %.2f after (other work shares the CPUs)\n",
	       sysconf(_SC_NPROCESSORS_ONLN), load0, load1);
	if (o.placement == PLACE_ANY && !o.xen && sysconf(_SC_NPROCESSORS_ONLN) > 1)
		printf("placement: any: the scheduler placed each process; the baselines' two "
		       "processes may share a CPU where pvio's sides do not (--placement same|split "
		       "pins both alike)\n");
	else if (o.placement == PLACE_SAME)
		printf("placement: same: both sides on CPU %d\n", o.cpu[0]);
	else if (o.placement == PLACE_SPLIT)
		printf("placement: split: guest side on CPU %d, dom0 side on CPU %d\n", o.cpu[0],
		       o.cpu[1]);
	else if (o.placement == PLACE_SPREAD)
		printf("placement: spread: both sides on CPU %d; queue i's front-end thread%s and "
		       "pvio-backd thread on CPU i mod %d\n", o.cpu[0],
		       o.qthreads ? "" : " (none: no --queue-threads)", o.ncpu);
	if (have_ev)
		printf("baseline eventfd round trip: p50 %.2f us, p99 %.2f us (%" PRIu64 " trips)\n",
		       hist_q(&rtt_ev.h, 0.5) / 1e3, hist_q(&rtt_ev.h, 0.99) / 1e3, rtt_ev.ios);
	if (have_shm)
		printf("baseline shared-memory spin round trip: p50 %.2f us, p99 %.2f us (%" PRIu64
		       " trips)\n", hist_q(&rtt_shm.h, 0.5) / 1e3, hist_q(&rtt_shm.h, 0.99) / 1e3,
		       rtt_shm.ios);
	printf("per I/O: fkick front notifications sent, fwake front wake-ups, bin back end's\n"
	       "notifications received, bout sent, bwake back end's wake-ups (the loops of the\n"
	       "threads serving the jobs' disks woken from a sleep), gnt grant operations\n");
	if (o.xen)
		printf("xen: the back end is dom0's (\"-\": not measured here); gnt and cpuF are the "
		       "front end's\n");
	printf("\n%-34s %10s %8s %8s %8s %8s %8s %6s %6s %6s %6s %6s %6s %7s %7s %7s\n", "job",
	       "IOPS", "MB/s", "p50us", "p99us", "p99.9us", "maxus", "fkick", "fwake", "bin",
	       "bout", "bwake", "gnt", "cpuF us", "cpuB us", "cpuS us");
	for (i = 0; i < nlines; i++) {
		const struct line *L = &lines[i];
		double gnt = (double)L->fs.grants_shared +
			     (double)(L->bs1.grant_maps - L->bs0.grant_maps) +
			     (double)(L->bs1.grant_unmaps - L->bs0.grant_unmaps) +
			     (double)(L->bs1.grant_copies - L->bs0.grant_copies);

		char bc[5][16];

		printf("%-34s %10.0f %8.1f %8.2f %8.2f %8.2f %8.1f %6.2f %6.2f %6s %6s %6s "
		       "%6.2f %7.2f %7s %7s\n", line_name(L, name, sizeof(name)), iops(&L->r),
		       mbps(&L->r), hist_q(&L->r.h, 0.5) / 1e3, hist_q(&L->r.h, 0.99) / 1e3,
		       hist_q(&L->r.h, 0.999) / 1e3, (double)L->r.h.max / 1e3,
		       per_io((double)L->fs.kicks, L), per_io((double)L->fs.wakeups, L),
		       back_col(bc[0], per_io((double)(L->bs1.notif_in - L->bs0.notif_in), L)),
		       back_col(bc[1], per_io((double)(L->bs1.notif_out - L->bs0.notif_out), L)),
		       back_col(bc[2], per_io((double)(L->bs1.wakeups - L->bs0.wakeups), L)),
		       per_io(gnt, L), per_io(L->cpu_front, L) * 1e6,
		       back_col(bc[3], per_io(L->cpu_back, L) * 1e6),
		       back_col(bc[4], per_io(L->cpu_sim, L) * 1e6));
		printf("    negotiated: %u queue(s), %u ring page(s), persistent %s, indirect %u, grant %s\n",
		       L->info.queues, L->info.ring_pages, L->info.persistent ? "on" : "off",
		       L->info.indirect_segments, L->grant_mode[0] ? L->grant_mode : "?");
		if (L->direct)
			printf("    cache: %s, %" PRIu64 " requests through the page cache (unaligned)\n",
			       L->bs1.direct ? "O_DIRECT" : "page cache (pvio-backd could not use "
			       "O_DIRECT: see its log)", L->bs1.fallbacks - L->bs0.fallbacks);
		if (L->bs1.storm_masks != L->bs0.storm_masks)
			printf("    back end: %" PRIu64 " spurious notifications, %" PRIu64 " event-storm "
			       "masks (the port masked 1..64 ms each)\n",
			       L->bs1.spurious - L->bs0.spurious, L->bs1.storm_masks - L->bs0.storm_masks);
		if (L->have_uring) {
			if (ok_result(&L->uring))
				printf("    vs io_uring: %10.0f IOPS p50 %7.2f us -> pvio IOPS %.2fx, p50 %.2fx\n",
				       iops(&L->uring), hist_q(&L->uring.h, 0.5) / 1e3,
				       iops(&L->r) / iops(&L->uring),
				       hist_q(&L->r.h, 0.5) / hist_q(&L->uring.h, 0.5));
			else
				printf("    vs io_uring: skipped (%s)\n", L->uring.why);
		}
		if (L->have_nbd) {
			if (ok_result(&L->nbd))
				printf("    vs NBD:      %10.0f IOPS p50 %7.2f us -> pvio IOPS %.2fx, p50 %.2fx\n",
				       iops(&L->nbd), hist_q(&L->nbd.h, 0.5) / 1e3,
				       iops(&L->r) / iops(&L->nbd),
				       hist_q(&L->r.h, 0.5) / hist_q(&L->nbd.h, 0.5));
			else
				printf("    vs NBD:      skipped (%s)\n", L->nbd.why);
		}
		if (L->qd == 1 && have_ev)
			printf("    vs eventfd round trip: p50 %.2fx\n",
			       hist_q(&L->r.h, 0.5) / hist_q(&rtt_ev.h, 0.5));
		if (L->qd == 1 && have_shm)
			printf("    vs shared-memory round trip: p50 %.2fx\n",
			       hist_q(&L->r.h, 0.5) / hist_q(&rtt_shm.h, 0.5));
	}
}

static void json_result(const char *name, const struct result *r, const char *sep)
{
	if (!ok_result(r)) {
		printf("\"%s\":{\"skipped\":\"%s\"}%s", name, r->why[0] ? r->why : "no I/O", sep);
		return;
	}
	printf("\"%s\":{\"ios\":%" PRIu64 ",\"iops\":%.1f,\"bw_bytes\":%.0f,\"runtime_s\":%.3f,"
	       "\"cpu_us_per_io\":%.3f,\"lat_ns\":{\"max\":%" PRIu64
	       ",\"mean\":%.1f,\"percentile\":{\"50.000000\":%.0f,\"99.000000\":%.0f,"
	       "\"99.900000\":%.0f}}}%s",
	       name, r->ios, iops(r), mbps(r) * 1e6, r->secs,
	       r->ios ? r->cpu / (double)r->ios * 1e6 : 0, r->h.max,
	       r->h.n ? (double)r->h.sum / (double)r->h.n : 0, hist_q(&r->h, 0.5),
	       hist_q(&r->h, 0.99), hist_q(&r->h, 0.999), sep);
}

static void print_ratio(const char *name, double num, double den, int *first)
{
	if (den <= 0)
		return;
	printf("%s\"%s\":%.3f", *first ? "" : ",", name, num / den);
	*first = 0;
}

static void print_json(void)
{
	char name[96];
	unsigned int i;

	printf("{\"pvio-bench\":1,\"platform\":\"%s\",\"back_end_measured\":%s,\"disk\":\"%s\",\"runtime_s\":%.3f,"
	       "\"ramp_s\":%.3f,\"cpus\":%ld,\"placement\":\"%s\",\"queue_threads\":%s,"
	       "\"loadavg_before\":%.2f,\"loadavg_after\":%.2f,\"baselines\":{", o.xen ? "xen" : "sim",
	       o.xen ? "false" : "true", o.vdev ? o.vdev : o.disk, o.runtime, o.ramp,
	       sysconf(_SC_NPROCESSORS_ONLN), placement_names[o.placement],
	       o.qthreads ? "true" : "false", load0, load1);
	if (have_ev)
		json_result("eventfd_rtt", &rtt_ev, have_shm ? "," : "");
	if (have_shm)
		json_result("shm_rtt", &rtt_shm, "");
	printf("},\"jobs\":[");
	for (i = 0; i < nlines; i++) {
		const struct line *L = &lines[i];
		double p50 = hist_q(&L->r.h, 0.5);
		int first = 1;

		printf("%s{\"jobname\":\"%s\",\"rw\":\"%s\",\"bs\":%u,\"iodepth\":%u,\"queues\":%u,"
		       "\"numjobs\":%u,\"notify\":\"%s\",\"backend_poll_us\":%u,"
		       "\"direct_io_safe\":%u,\"direct\":%u,", i ? "," : "",
		       line_name(L, name, sizeof(name)), rw_names[L->rw], L->bs, L->qd, L->queues,
		       L->jobs, notify_names[L->notify], L->backend_poll_us, L->direct,
		       L->bs1.direct);
		printf("\"negotiated\":{\"queues\":%u,\"ring_pages\":%u,\"persistent\":%d,"
		       "\"indirect_segments\":%u,\"grant_mode\":\"%s\"},",
		       L->info.queues, L->info.ring_pages, L->info.persistent,
		       L->info.indirect_segments, L->grant_mode);
		json_result("pvio", &L->r, ",");
		printf("\"per_io\":{\"front_kicks\":%.4f,\"front_wakeups\":%.4f,"
		       "\"back_notifications_in\":%.4f,\"back_notifications_out\":%.4f,"
		       "\"back_wakeups\":%.4f,\"back_buffered_fallbacks\":%.4f,"
		       "\"front_grant_ops\":%.4f,\"back_grant_maps\":%.4f,\"back_grant_unmaps\":%.4f,"
		       "\"back_grant_copies\":%.4f,\"cpu_front_us\":%.3f,\"cpu_back_us\":%.3f,"
		       "\"cpu_sim_us\":%.3f},\"back_spurious_notifications\":%" PRIu64 ","
		       "\"back_storm_masks\":%" PRIu64 ",",
		       per_io((double)L->fs.kicks, L), per_io((double)L->fs.wakeups, L),
		       per_io((double)(L->bs1.notif_in - L->bs0.notif_in), L),
		       per_io((double)(L->bs1.notif_out - L->bs0.notif_out), L),
		       per_io((double)(L->bs1.wakeups - L->bs0.wakeups), L),
		       per_io((double)(L->bs1.fallbacks - L->bs0.fallbacks), L),
		       per_io((double)L->fs.grants_shared, L),
		       per_io((double)(L->bs1.grant_maps - L->bs0.grant_maps), L),
		       per_io((double)(L->bs1.grant_unmaps - L->bs0.grant_unmaps), L),
		       per_io((double)(L->bs1.grant_copies - L->bs0.grant_copies), L),
		       per_io(L->cpu_front, L) * 1e6, per_io(L->cpu_back, L) * 1e6,
		       per_io(L->cpu_sim, L) * 1e6, L->bs1.spurious - L->bs0.spurious,
		       L->bs1.storm_masks - L->bs0.storm_masks);
		printf("\"baselines\":{");
		if (L->have_uring)
			json_result("io_uring", &L->uring, L->have_nbd ? "," : "");
		if (L->have_nbd)
			json_result("nbd", &L->nbd, "");
		printf("},\"ratios\":{");
		if (L->have_uring && ok_result(&L->uring)) {
			print_ratio("iops_vs_io_uring", iops(&L->r), iops(&L->uring), &first);
			print_ratio("p50_vs_io_uring", p50, hist_q(&L->uring.h, 0.5), &first);
		}
		if (L->have_nbd && ok_result(&L->nbd)) {
			print_ratio("iops_vs_nbd", iops(&L->r), iops(&L->nbd), &first);
			print_ratio("p50_vs_nbd", p50, hist_q(&L->nbd.h, 0.5), &first);
		}
		if (L->qd == 1 && have_ev)
			print_ratio("p50_vs_eventfd_rtt", p50, hist_q(&rtt_ev.h, 0.5), &first);
		if (L->qd == 1 && have_shm)
			print_ratio("p50_vs_shm_rtt", p50, hist_q(&rtt_shm.h, 0.5), &first);
		printf("}}");
	}
	printf("]}\n");
}

static void csv_ratio(int have, const struct result *b, double v, int lat, const struct line *L)
{
	if (!have || !ok_result(b))
		printf(",");
	else if (lat)
		printf(",%.3f", hist_q(&L->r.h, 0.5) / hist_q(&b->h, 0.5));
	else
		printf(",%.3f", v / iops(b));
}

static void print_csv(void)
{
	unsigned int i;

	printf("disk,rw,bs,iodepth,queues,numjobs,ring_pages,persistent,indirect,grant_mode,"
	       "iops,mbps,p50_us,p99_us,p999_us,max_us,front_kicks_per_io,front_wakeups_per_io,"
	       "back_notif_in_per_io,back_notif_out_per_io,cpu_front_us_per_io,cpu_back_us_per_io,"
	       "cpu_sim_us_per_io,io_uring_iops,nbd_iops,iops_vs_io_uring,iops_vs_nbd,"
	       "p50_vs_eventfd_rtt,p50_vs_shm_rtt,notify,back_wakeups_per_io,cache,platform,"
	       "placement,queue_threads,queues_negotiated\n");
	for (i = 0; i < nlines; i++) {
		const struct line *L = &lines[i];

		printf("%s,%s,%u,%u,%u,%u,%u,%d,%u,%s,%.0f,%.2f,%.3f,%.3f,%.3f,%.3f,%.4f,%.4f,%.4f,"
		       "%.4f,%.3f,%.3f,%.3f,", disk_kind(), rw_names[L->rw], L->bs,
		       L->qd, L->queues, L->jobs, L->info.ring_pages, L->info.persistent,
		       L->info.indirect_segments, L->grant_mode, iops(&L->r), mbps(&L->r),
		       hist_q(&L->r.h, 0.5) / 1e3, hist_q(&L->r.h, 0.99) / 1e3,
		       hist_q(&L->r.h, 0.999) / 1e3, (double)L->r.h.max / 1e3,
		       per_io((double)L->fs.kicks, L), per_io((double)L->fs.wakeups, L),
		       per_io((double)(L->bs1.notif_in - L->bs0.notif_in), L),
		       per_io((double)(L->bs1.notif_out - L->bs0.notif_out), L),
		       per_io(L->cpu_front, L) * 1e6, per_io(L->cpu_back, L) * 1e6,
		       per_io(L->cpu_sim, L) * 1e6);
		if (L->have_uring && ok_result(&L->uring))
			printf("%.0f", iops(&L->uring));
		printf(",");
		if (L->have_nbd && ok_result(&L->nbd))
			printf("%.0f", iops(&L->nbd));
		csv_ratio(L->have_uring, &L->uring, iops(&L->r), 0, L);
		csv_ratio(L->have_nbd, &L->nbd, iops(&L->r), 0, L);
		csv_ratio(L->qd == 1 && have_ev, &rtt_ev, 0, 1, L);
		csv_ratio(L->qd == 1 && have_shm, &rtt_shm, 0, 1, L);
		printf(",%s,%.4f,%s,%s,%s,%d,%u\n", notify_names[L->notify],
		       per_io((double)(L->bs1.wakeups - L->bs0.wakeups), L),
		       !L->direct ? "page" : L->bs1.direct ? "direct" : "page-fallback",
		       o.xen ? "xen" : "sim", placement_names[o.placement], o.qthreads,
		       L->info.queues);
	}
}

/* ---- plot ------------------------------------------------------------------------------------ */

/* IOPS and p50 against iodepth, one series per (disk, rw, bs, queues), with gnuplot. */
static int plot(const char *csv, const char *png)
{
	char script[PATH_MAX * 2 + 2048];
	FILE *f;
	int st;

	if (access(csv, R_OK) < 0)
		die("%s: %s", csv, strerror(errno));
	snprintf(script, sizeof(script),
		 "set terminal pngcairo size 1200,500 noenhanced\n"
		 "set output '%s'\n"
		 "set datafile separator ','\n"
		 "set key top left\n"
		 "set logscale x 2\n"
		 "set xlabel 'iodepth'\n"
		 "set multiplot layout 1,2\n"
		 "set ylabel 'IOPS'\n"
		 "set logscale y\n"
		 "stats '%s' using 0 nooutput\n"
		 "keys = system(\"awk -F, 'NR>1 {print $1\\\"_\\\"$2\\\"_\\\"$3\\\"_q\\\"$5\\\"_\\\"$30\\\"_\\\"$32}' '%s' | sort -u | tr '\\\\n' ' '\")\n"
		 "sel(k) = (strcol(1).'_'.strcol(2).'_'.strcol(3).'_q'.strcol(5).'_'.strcol(30).'_'.strcol(32)) eq k\n"
		 "plot for [k in keys] '%s' using (sel(k) ? $4 : NaN):(sel(k) ? $11 : NaN) "
		 "with linespoints title k\n"
		 "set ylabel 'p50 latency (us)'\n"
		 "set logscale y\n"
		 "plot for [k in keys] '%s' using (sel(k) ? $4 : NaN):(sel(k) ? $13 : NaN) "
		 "with linespoints title k\n"
		 "unset multiplot\n",
		 png, csv, csv, csv, csv);
	f = popen("gnuplot", "w");
	if (!f)
		die("gnuplot: %s", strerror(errno));
	fputs(script, f);
	st = pclose(f);
	if (st != 0) {
		fprintf(stderr, "pvio-bench: gnuplot failed (is it installed? Debian: gnuplot-nox)\n");
		return 1;
	}
	return 0;
}

/* ---- main ------------------------------------------------------------------------------------ */

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	unsigned int a, b, c, d, e, x, i;

	if (argc > 1 && !strcmp(argv[1], "plot")) {
		if (argc != 4) {
			usage(stderr);
			return 2;
		}
		return plot(argv[2], argv[3]);
	}
	main_pid = getpid();
	parse_opts(argc, argv);
	place(0);
	if (!null_disk() && o.disk[0] != '/')
		die("--disk: null, null:SECTORS or an absolute path");
	if (strpbrk(o.disk, "\"\\"))
		die("--disk: a path with a quote or a backslash is not supported (JSON output)");
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	load0 = loadavg();
	if (want_baseline("eventfd")) {
		progress("  baseline eventfd round trip...");
		rtt_baseline(0, 1.0, &rtt_ev);
		have_ev = 1;
	}
	if (want_baseline("shm")) {
		progress("  baseline shared-memory round trip...");
		rtt_baseline(1, 1.0, &rtt_shm);
		have_shm = 1;
	}
	env_start();
	for (a = 0; a < o.nrw; a++)
		for (b = 0; b < o.nbs; b++)
			for (c = 0; c < o.nqueues; c++)
				for (d = 0; d < o.nqd; d++)
				for (e = 0; e < o.nnotify && !interrupted; e++)
				for (x = 0; x < o.ndirect && !interrupted; x++) {
					struct line *L;

					if (nlines == MAX_LINES)
						die("more than %d lines in the matrix", MAX_LINES);
					L = &lines[nlines++];

					L->notify = o.notify[e];
					L->direct = o.direct[x];
					L->rw = o.rw[a];
					L->bs = o.bs[b];
					L->queues = o.queues[c];
					L->qd = o.qd[d];
					L->jobs = o.numjobs;
					run_line(L);
				}
	/* Baselines after the pvio lines: pvio's daemons are idle by then, nbdkit is not yet up. */
	for (i = 0; i < nlines; i++) {
		struct line *L = &lines[i];
		unsigned int k;

		/* Same workload as an earlier line (queues differ): measure once. */
		for (k = 0; k < i; k++)
			if (lines[k].rw == L->rw && lines[k].bs == L->bs && lines[k].qd == L->qd &&
			    lines[k].direct == L->direct)
				break;
		if (k < i) {
			L->uring = lines[k].uring, L->have_uring = lines[k].have_uring;
			L->nbd = lines[k].nbd, L->have_nbd = lines[k].have_nbd;
		} else {
			run_baselines(L);
		}
	}
	cleanup();
	load1 = loadavg();
	progress("%s", "");
	if (interrupted)
		fprintf(stderr, "pvio-bench: interrupted; results so far\n");
	if (o.save) {
		static const char *const ext[] = { "txt", "json", "csv" };
		void (*const fn[])(void) = { print_table, print_json, print_csv };
		int out = dup(1);

		fflush(stdout);
		for (i = 0; i < 3 && out >= 0; i++) {
			char path[PATH_MAX];
			int fd;

			snprintf(path, sizeof(path), "%s.%s", o.save, ext[i]);
			fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
			if (fd < 0)
				die("%s: %s", path, strerror(errno));
			dup2(fd, 1);
			close(fd);
			fn[i]();
			fflush(stdout);
			dup2(out, 1);
		}
		if (out >= 0)
			close(out);
	}
	if (o.json)
		print_json();
	else if (o.csv)
		print_csv();
	else
		print_table();
	return interrupted ? 130 : 0;
}
