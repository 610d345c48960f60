/* SPDX-License-Identifier: MIT */
/*
 * pvio-backd - the block back end daemon of the backend domain (see pvio-backd(8)).
 *
 *   pvio-backd [--platform SPEC] [--foreground] [--log-level LEVEL] [--types LIST]
 *              [--grant-copy] [--ctl PATH] [--max-queues N] [--max-persistent PAGES]
 *              [--max-bounce MIB] [--poll-us N] [--threads N]
 *              [--cache auto|none|writeback]
 *
 * The main thread's pv_loop holds the xenstore watch fd, the control socket, a signalfd,
 * netback, and every vbd's state machine; the rings and I/O of the vbds are served by
 * --threads worker threads, each with a loop of its own (pv_backd_worker.c).
 * SIGTERM/SIGINT: stop taking requests, finish and answer those in flight, unmap and
 * unbind, and leave xenstore as it is so that the next daemon picks the devices up.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "pv_blkback.h"
#include "pv_netback.h"
#include "pv_backd_ctl.h"
#include "pv_daemon.h"

#define COMP "main"
#define STOP_TIMEOUT_NS (10ull * 1000000000ull) /* in-flight I/O gets this long on SIGTERM */

static void after_events(struct pv_backd *d)
{
	pv_blkback_process_dirty(d);
	pv_netback_process_dirty(d);
}

static void on_watch(struct pv_loop *loop, int fd, uint32_t events, void *opaque)
{
	struct pv_backd *d = opaque;
	char *path, *token;

	(void)loop;
	(void)fd;
	(void)events;
	/* Take every queued event first, then act once per device on the latest state. */
	while (pv_xs_watch_next(d->plat, &path, &token) == 0) {
		if (!pv_netback_watch_event(d, path, token))
			pv_blkback_watch_event(d, path, token);
		free(path);
		free(token);
	}
	after_events(d);
}

static void on_evtchn(struct pv_loop *loop, int fd, uint32_t events, void *opaque)
{
	struct pv_backd *d = opaque;

	(void)loop;
	(void)fd;
	(void)events;
	pv_blkback_evtchn_ready(d);
	after_events(d);
}

static void on_wake(struct pv_loop *loop, int fd, uint32_t events, void *opaque)
{
	(void)loop;
	(void)fd;
	(void)events;
	pv_blkback_async_apply(opaque);
	after_events(opaque);
}

static void on_signal(struct pv_loop *loop, int fd, uint32_t events, void *opaque)
{
	struct pv_backd *d = opaque;
	struct signalfd_siginfo si;

	(void)events;
	if (read(fd, &si, sizeof(si)) != sizeof(si))
		return;
	if (!d->stopping) {
		pv_backd_log(PV_LOG_INFO, COMP, "signal %u: draining and detaching", si.ssi_signo);
		d->stopping = 1;
		d->stop_deadline_ns = pv_backd_now_ns() + STOP_TIMEOUT_NS;
		pv_netback_shutdown(d);
	}
	if (pv_blkback_shutdown_step(d))
		pv_loop_stop(loop);
}

static void tick(struct pv_loop *loop, void *opaque)
{
	struct pv_backd *d = opaque;
	uint64_t now;

	/* Completions run the state machine too: a drain may have finished. */
	after_events(d);
	if (d->stopping) {
		if (pv_blkback_shutdown_step(d))
			pv_loop_stop(loop);
		else if (pv_backd_now_ns() > d->stop_deadline_ns) {
			pv_backd_log(PV_LOG_WARN, COMP, "I/O still in flight after %llu s: leaving",
				     STOP_TIMEOUT_NS / 1000000000ull);
			pv_loop_stop(loop);
		}
		return;
	}
	now = pv_backd_now_ns();
	if (now - d->last_tick_ns >= 1000000000ull) {
		d->last_tick_ns = now;
		pv_blkback_tick(d);
		pv_netback_tick(d);
	}
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: pvio-backd [--platform SPEC] [--foreground] [--log-level error|warn|info|debug]\n"
		"                  [--types phy,file,pvio,null] [--grant-copy] [--ctl PATH]\n"
		"                  [--max-queues N] [--max-persistent PAGES] [--max-bounce MIB]\n"
		"                  [--log-file PATH] [--poll-us N] [--threads N]\n"
		"                  [--cache auto|none|writeback]\n"
		"Detached (no --foreground) it logs to syslog (LOG_DAEMON), or to --log-file PATH\n"
		"(lines with time and pid; also on stderr while it has one).\n"
		"Under systemd (Type=notify) it reports READY=1 once it serves.\n"
		"--poll-us N: an idle ring is polled for N microseconds before it is re-armed.\n"
		"--threads N: threads serving the disks' rings, each queue given to the one with\n"
		"the fewest (default: one per CPU, at most %u, none on one CPU; 0: the main thread\n"
		"serves them too).\n"
		"--cache: auto (default): O_DIRECT for disks whose backend node direct-io-safe is 1\n"
		"(xl's direct-io-safe), dom0's page cache for the others; none: O_DIRECT for every\n"
		"file and block device; writeback: the page cache for all.  Where O_DIRECT is\n"
		"refused the disk falls back to the page cache with a warning (\"direct\":0 in\n"
		"pvio-ctl block-stats).\n", PV_BACKD_MAX_THREADS);
}

/* The control socket's default: beside pvio-simd's sockets, or in /run on Xen. */
static char *default_ctl(const char *spec)
{
	char *path = NULL;

	if (spec && strncmp(spec, "sim:", 4) == 0) {
		const char *end = strrchr(spec, ':');

		if (end > spec + 4 &&
		    asprintf(&path, "%.*s/%s", (int)(end - spec - 4), spec + 4,
			     PV_BACKD_CTL_SIM_NAME) < 0)
			path = NULL;
		return path;
	}
	mkdir("/run/pvio", 0755);
	return strdup(PV_BACKD_CTL_XEN_PATH);
}

/* Is the pvio-backd whose pid the lock file names still running?  Unknown: yes. */
static int holder_alive(int fd)
{
	char buf[16], path[40], comm[32];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	long pid;
	char *end;
	FILE *f;
	int alive;

	if (n <= 0)
		return 1;
	buf[n] = 0;
	pid = strtol(buf, &end, 10);
	if (end == buf || (*end && *end != '\n') || pid <= 0 || pid == (long)getpid())
		return 1;
	if (kill((pid_t)pid, 0) < 0 && errno != EPERM)
		return 0;
	/* The pid may have been reused since: only a pvio-backd counts. */
	snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
	f = fopen(path, "re");
	if (!f)
		return 1;
	alive = !fgets(comm, sizeof(comm), f) || strncmp(comm, "pvio-backd", 10) == 0;
	fclose(f);
	return alive;
}

/* The lock file names its holder, so that a successor can tell dead from busy. */
static void lock_note_pid(int fd)
{
	char buf[16];
	int n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());

	if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, (size_t)n, 0) != n)
		pv_backd_log(PV_LOG_WARN, COMP, "cannot record the pid in the lock file: %s",
			     strerror(errno));
}

/*
 * One pvio-backd per backend domain: two would both serve every vbd, race to bind the same
 * event channels and put devices into Closing (seen when a stopped daemon lingered in
 * tests/xen).  An flock beside the default control socket, held for the process's life
 * (it passes to the detached child).
 *
 * The lock also orders a restart after the old daemon's I/O: every io_uring registers the
 * lock's file (pv_blkback_io_start), so after kill -9 the open file, and with it the lock,
 * lives until the kernel has finished the dead daemon's last request.  A write stuck on a
 * frozen file system that completed after our restart could otherwise overwrite newer
 * data with an old request's.  So: held by a live daemon (its pid, recorded in the file,
 * exists): refused; held by a dead one: wait for its I/O, saying so.  Returns the fd or
 * -errno.
 */
static int take_lock(const char *spec, char **path_out)
{
	char *path = default_ctl(spec);
	size_t n;
	int fd;

	*path_out = NULL;
	if (!path)
		return -EINVAL; /* a sim spec without a rundir */
	n = strlen(path);
	if (n > 5 && strcmp(path + n - 5, ".sock") == 0)
		strcpy(path + n - 5, ".lock");
	*path_out = path;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY, 0644);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;

		if (e == EWOULDBLOCK && !holder_alive(fd)) {
			pv_backd_log(PV_LOG_WARN, COMP, "%s: waiting for the I/O of a killed "
				     "pvio-backd to finish", path);
			if (flock(fd, LOCK_EX) == 0)
				return fd;
			e = errno;
		}
		close(fd);
		return e == EWOULDBLOCK ? -EBUSY : -e;
	}
	return fd;
}

/*
 * On the sim, the lock and the control socket live in pvio-simd's rundir: with no such
 * directory, the failure would be a missing lock file.  Say what is missing instead.
 * Returns 1 (and has said why) when the rundir is not there.
 */
static int sim_not_running(const char *spec)
{
	const char *end;
	char rundir[4096];
	struct stat st;

	if (!spec || strncmp(spec, "sim:", 4) || !(end = strrchr(spec, ':')) || end <= spec + 4 ||
	    (size_t)(end - spec - 4) >= sizeof(rundir))
		return 0;
	snprintf(rundir, sizeof(rundir), "%.*s", (int)(end - spec - 4), spec + 4);
	if (stat(rundir, &st) == 0)
		return 0;
	fprintf(stderr, "pvio-backd: pvio-simd is not running in %s (%s: %s): start it with "
		"pvio-simd --rundir %s\n", rundir, rundir, strerror(errno), rundir);
	return 1;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "platform", required_argument, NULL, 'p' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "types", required_argument, NULL, 't' },
		{ "grant-copy", no_argument, NULL, 'c' },
		{ "ctl", required_argument, NULL, 's' },
		{ "max-queues", required_argument, NULL, 'q' },
		{ "max-persistent", required_argument, NULL, 'P' },
		{ "test-reorder", required_argument, NULL, 'R' },
		{ "test-turn-ns", required_argument, NULL, 'T' },
		{ "max-bounce", required_argument, NULL, 'B' },
		{ "log-file", required_argument, NULL, 'L' },
		{ "poll-us", required_argument, NULL, 'U' },
		{ "threads", required_argument, NULL, 'N' },
		{ "cache", required_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *log_file = NULL;
	struct pv_backd d = { .ctl_fd = -1, .lock_fd = -1 };
	const char *spec = NULL, *ctl = NULL, *why = NULL;
	char *ctl_default = NULL, *end;
	int foreground = 0, opt, sfd = -1, rc = 1, ready = -1, lock_fd;
	char *lock_path = NULL;
	long ncpu;
	unsigned long v;
	unsigned int threads;
	int werr;

	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	d.max_queues = ncpu < 1 ? 1 : ncpu > 4 ? 4 : (unsigned int)ncpu;
	/*
	 * A thread per CPU; none on one CPU, where a worker cannot run beside anything: on
	 * Xen's one-vCPU dom0 (tests/xen bench, PVIO_XEN_BENCH_AB) a worker was 0.75-1.10x the
	 * main loop, job by job, in two boots.
	 */
	threads = ncpu <= 1 ? 0 : ncpu > PV_BACKD_MAX_THREADS ? PV_BACKD_MAX_THREADS :
		  (unsigned int)ncpu;
	d.types_mask = PV_BACKD_TYPE_PHY | PV_BACKD_TYPE_FILE | PV_BACKD_TYPE_PVIO;
	while ((opt = getopt_long(argc, argv, "p:fl:t:cs:q:P:B:U:N:C:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'p': spec = optarg; break;
		case 'f': foreground = 1; break;
		case 'l':
			if (pv_backd_log_parse(optarg, &pv_backd_log_level) < 0) {
				usage(stderr);
				return 2;
			}
			break;
		case 't':
			if (pv_backd_parse_types(optarg, &d.types_mask) < 0) {
				fprintf(stderr, "pvio-backd: --types: phy, file, pvio, null\n");
				return 2;
			}
			break;
		case 'c': d.grant_copy = 1; break;
		case 's': ctl = optarg; break;
		case 'q':
			errno = 0;
			v = strtoul(optarg, &end, 10);
			d.max_queues = (unsigned int)v;
			if (errno || *end || *optarg == '-' || v < 1 || v > PV_BLKBACK_MAX_QUEUES) {
				fprintf(stderr, "pvio-backd: --max-queues: 1..%u\n", PV_BLKBACK_MAX_QUEUES);
				return 2;
			}
			break;
		case 'P':
			errno = 0;
			v = strtoul(optarg, &end, 10);
			d.max_persistent = (unsigned int)v;
			if (errno || *end || *optarg == '-' || v < 1 || v > PV_BLKBACK_PERSISTENT_MAX) {
				fprintf(stderr, "pvio-backd: --max-persistent: 1..%u\n",
					PV_BLKBACK_PERSISTENT_MAX);
				return 2;
			}
			break;
		case 'R':
			/* Tests only (docs/architecture.md): answers in a shuffled order. */
			errno = 0;
			d.test_reorder = strtoull(optarg, &end, 10);
			if (errno || *end || *optarg == '-' || !d.test_reorder) {
				fprintf(stderr, "pvio-backd: --test-reorder: a seed > 0\n");
				return 2;
			}
			d.test_rng = d.test_reorder;
			break;
		case 'T':
			/* Tests only: a tiny time budget makes every turn and batch yield. */
			errno = 0;
			d.turn_ns = strtoull(optarg, &end, 10);
			if (errno || *end || *optarg == '-' || !d.turn_ns) {
				fprintf(stderr, "pvio-backd: --test-turn-ns: nanoseconds > 0\n");
				return 2;
			}
			break;
		case 'B':
			errno = 0;
			v = strtoul(optarg, &end, 10);
			if (errno || *end || *optarg == '-' || v < PV_BLKBACK_BOUNCE_MIN >> 20 ||
			    v > PV_BLKBACK_BOUNCE_MAX >> 20) {
				fprintf(stderr, "pvio-backd: --max-bounce: %zu..%zu (MiB)\n",
					PV_BLKBACK_BOUNCE_MIN >> 20, PV_BLKBACK_BOUNCE_MAX >> 20);
				return 2;
			}
			d.max_bounce = (size_t)v << 20;
			break;
		case 'L': log_file = optarg; break;
		case 'U':
			/* Busy-polling of idle rings (pv_blkback_sched.c); 0: off. */
			errno = 0;
			v = strtoul(optarg, &end, 10);
			if (errno || *end || *optarg == '-' || v > 1000000) {
				fprintf(stderr, "pvio-backd: --poll-us: 0..1000000 (microseconds)\n");
				return 2;
			}
			d.poll_ns = (uint64_t)v * 1000u;
			break;
		case 'N':
			errno = 0;
			v = strtoul(optarg, &end, 10);
			if (errno || *end || !*optarg || *optarg == '-' || v > PV_BACKD_MAX_THREADS) {
				fprintf(stderr, "pvio-backd: --threads: 0..%u\n", PV_BACKD_MAX_THREADS);
				return 2;
			}
			threads = (unsigned int)v;
			break;
		case 'C':
			if (!strcmp(optarg, "auto")) {
				d.cache = PV_BACKD_CACHE_AUTO;
			} else if (!strcmp(optarg, "none")) {
				d.cache = PV_BACKD_CACHE_NONE;
			} else if (!strcmp(optarg, "writeback")) {
				d.cache = PV_BACKD_CACHE_WRITEBACK;
			} else {
				fprintf(stderr, "pvio-backd: --cache: auto, none or writeback\n");
				return 2;
			}
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (!spec)
		spec = getenv("PVIO_PLATFORM");
	if (sim_not_running(spec))
		return 1;
	if (log_file && (rc = pv_backd_log_open(PV_LOG_TO_FILE, log_file, 1)) < 0) {
		fprintf(stderr, "pvio-backd: --log-file %s: %s\n", log_file, strerror(-rc));
		return 1;
	}
	lock_fd = take_lock(spec, &lock_path);
	if (lock_fd < 0) {
		if (!lock_path)
			fprintf(stderr, "pvio-backd: bad platform spec '%s'\n", spec ? spec : "");
		else
			fprintf(stderr, "pvio-backd: %s: %s\n", lock_path,
				lock_fd == -EBUSY ? "another pvio-backd serves this domain" :
				strerror(-lock_fd));
		free(lock_path);
		pv_backd_log_close();
		return 1;
	}

	if (!foreground && pv_daemon_detach(&ready) < 0) {
		perror("pvio-backd: fork");
		pv_backd_log_close();
		return 1;
	}
	/* Detached, nobody reads our stderr once we serve: syslog, unless --log-file. */
	if (!foreground && !log_file)
		pv_backd_log_open(PV_LOG_TO_SYSLOG, NULL, 1);
	lock_note_pid(lock_fd);
	d.lock_fd = lock_fd;
	/* Restart journals beside the lock: the rundir on sim, /run/pvio on Xen. */
	d.state_dir = strdup(lock_path);
	if (d.state_dir && strrchr(d.state_dir, '/')) {
		*strrchr(d.state_dir, '/') = 0;
	} else {
		free(d.state_dir);
		d.state_dir = NULL;
	}
	sfd = pv_daemon_signalfd();

	rc = pv_platform_open(spec, &d.plat, &why);
	if (rc < 0) {
		pv_backd_log(PV_LOG_ERROR, COMP, "cannot open platform %s: %s", spec ? spec : "xen",
			     why ? why : strerror(-rc));
		rc = 1;
		goto out;
	}
	rc = 1;
	d.spec = spec;
	d.self = pv_platform_domid(d.plat);
	snprintf(d.root, sizeof(d.root), "/local/domain/%u/backend/vbd", d.self);
	/*
	 * Journals of devices the toolstack removed while no daemon ran: nobody resumes them.
	 * Before the control socket exists, so that a client seeing it sees them gone.
	 */
	pv_blkback_journal_sweep(&d);
	d.loop = pv_loop_new();
	if (!d.loop || sfd < 0 || pv_loop_add(d.loop, sfd, EPOLLIN, on_signal, &d) < 0 ||
	    pv_loop_add(d.loop, pv_xs_watch_fd(d.plat), EPOLLIN, on_watch, &d) < 0 ||
	    pv_loop_add(d.loop, pv_evtchn_fd(d.plat), EPOLLIN, on_evtchn, &d) < 0) {
		pv_backd_log(PV_LOG_ERROR, COMP, "cannot set up the event loop: %s", strerror(errno));
		goto out;
	}
	if (d.poll_ns)
		pv_loop_set_idle(d.loop, pv_blkback_poll_idle, &d);
	/* After the signalfd: the workers inherit its blocked signals and leave them to it. */
	werr = pv_backd_workers_start(&d, threads);
	if (werr == 0 && d.wake_fd >= 0 &&
	    pv_loop_add(d.loop, d.wake_fd, EPOLLIN, on_wake, &d) < 0)
		werr = -errno;
	if (werr < 0) {
		pv_backd_log(PV_LOG_ERROR, COMP, "cannot start %u worker thread(s): %s", threads,
			     strerror(-werr));
		goto out;
	}
	if (!ctl)
		ctl = ctl_default = default_ctl(spec);
	if (ctl) {
		int e = pv_backd_ctl_open(&d, ctl);

		if (e == -ENAMETOOLONG) {
			pv_backd_log(PV_LOG_ERROR, COMP, "control socket %s is too long (%zu bytes): a "
				     "unix socket path holds at most %zu; use --ctl PATH", ctl,
				     strlen(ctl), sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
			goto out;
		}
		if (e < 0) {
			pv_backd_log(PV_LOG_ERROR, COMP, "control socket %s: %s", ctl, strerror(-e));
			goto out;
		}
	}
	/* The watch fires once at registration: that first event finds existing devices. */
	if (pv_xs_watch(d.plat, d.root, "vbd") < 0) {
		pv_backd_log(PV_LOG_ERROR, COMP, "cannot watch %s", d.root);
		goto out;
	}
	/* Netback: vifs need root's CAP_NET_ADMIN for their TAP; without it each vif fails
	 * with an `error` node, disks are served all the same. */
	if (pv_netback_init(&d) < 0) {
		pv_backd_log(PV_LOG_ERROR, COMP, "cannot watch the vif backend directory");
		goto out;
	}
	pv_backd_log(PV_LOG_INFO, COMP, "serving %s (%s, max %u queues, %u thread(s), control %s)",
		     d.root, d.grant_copy ? "grant copy" : "grant map", d.max_queues, d.nworkers,
		     ctl ? ctl : "none");
	if (!foreground) {
		pv_backd_log_stderr_off();
		pv_daemon_ready(&ready);
	}
	/* systemd's Type=notify: the devices are watched and the control socket answers. */
	sd_notifyf(0, "READY=1\nSTATUS=serving %s\nMAINPID=%lu", d.root, (unsigned long)getpid());
	d.last_tick_ns = pv_backd_now_ns();
	rc = pv_loop_run(d.loop, 1000, tick, &d) < 0;
	sd_notify(0, "STOPPING=1");
	pv_backd_log(PV_LOG_INFO, COMP, "stopped");
out:
	d.stopping = 1;
	pv_netback_free_all(&d);
	pv_blkback_free_all(&d);
	pv_backd_workers_stop(&d);
	pv_backd_ctl_close(&d);
	if (d.loop)
		pv_loop_free(d.loop);
	if (sfd >= 0)
		close(sfd);
	if (d.plat)
		pv_platform_close(d.plat);
	free(ctl_default);
	free(lock_path);
	free(d.state_dir);
	close(lock_fd);
	if (ready >= 0)
		close(ready); /* never served: the waiting parent exits 1 */
	pv_backd_log_close();
	return rc;
}
