/* SPDX-License-Identifier: MIT */
/*
 * pvio-simd - the simulated hypervisor: domains, grant tables, event channels and a
 * xenstored, on a plain Linux machine.
 *
 *   pvio-simd --rundir DIR [--foreground]
 *
 * Domain N is reached through DIR/domN/socket (xenstore, for libxenstore and
 * xenstore-utils: XENSTORED_RUNDIR=DIR/domN) and DIR/domN/hypercall (pvio's sim platform).
 * Domain 0 exists from the start and is privileged.  Without --foreground the daemon
 * detaches once its sockets are ready, writing its pid to DIR/pvio-simd.pid.
 * SIGTERM or SIGINT stops it cleanly, removing its sockets.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "pv_daemon.h"
#include "pv_sim_proto.h"
#include "pv_loop.h"
#include "pv_xsd.h"
#include "sim_hv.h"

_Static_assert(PV_SIM_SUN_PATH_MAX == sizeof(((struct sockaddr_un *)0)->sun_path),
	       "PV_SIM_SUN_PATH_MAX is this system's unix socket path size");

static void on_signal(struct pv_loop *loop, int fd, uint32_t events, void *opaque)
{
	struct signalfd_siginfo si;

	(void)events;
	(void)opaque;
	if (read(fd, &si, sizeof(si)) == sizeof(si))
		pv_loop_stop(loop);
}

/* Another daemon already serving this rundir would lose its sockets to us: refuse. */
static int rundir_in_use(const char *rundir)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, used;

	if ((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/dom0/hypercall", rundir) >=
	    sizeof(sa.sun_path))
		return 0;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	used = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return used;
}

/*
 * Every domain's connections, event channels and registrations cost the daemon fds: take
 * all the kernel allows (the per-domain budgets are fractions of it).
 */
static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static void usage(FILE *f)
{
	fprintf(f, "usage: pvio-simd --rundir DIR [--foreground]\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "rundir", required_argument, NULL, 'r' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *rundir = NULL;
	int foreground = 0, opt, sfd, ready = -1, rc = 1;
	struct pv_loop *loop = NULL;
	struct pv_xsd *xsd = NULL;
	struct pv_xsd_limits lim = { 0 };
	struct sim_hv *hv = NULL;
	char *pidfile = NULL;

	while ((opt = getopt_long(argc, argv, "r:fh", opts, NULL)) != -1) {
		switch (opt) {
		case 'r': rundir = optarg; break;
		case 'f': foreground = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!rundir || optind != argc) {
		usage(stderr);
		return 2;
	}
	if (strlen(rundir) > PV_SIM_RUNDIR_MAX) {
		fprintf(stderr, "pvio-simd: rundir %s is too long (%zu bytes): its sockets "
			"(e.g. %s" PV_SIM_LONGEST_SOCKET ") must fit a unix socket path of %d "
			"bytes, so at most %zu bytes\n", rundir, strlen(rundir), rundir,
			PV_SIM_SUN_PATH_MAX, (size_t)PV_SIM_RUNDIR_MAX);
		return 1;
	}
	if (mkdir(rundir, 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "pvio-simd: cannot create %s: %s\n", rundir, strerror(errno));
		return 1;
	}
	if (rundir_in_use(rundir)) {
		fprintf(stderr, "pvio-simd: another pvio-simd is serving %s\n", rundir);
		return 1;
	}

	if (!foreground && pv_daemon_detach(&ready) < 0) {
		perror("pvio-simd: fork");
		return 1;
	}
	sfd = pv_daemon_signalfd();

	raise_nofile();
	lim.max_conns = sim_hv_domu_fd_budget();
	if (lim.max_conns > 64)
		lim.max_conns = 64;
	loop = pv_loop_new();
	xsd = loop ? pv_xsd_new(loop, &lim) : NULL;
	hv = xsd ? sim_hv_new(loop, xsd, rundir) : NULL;
	if (sfd < 0 || !hv || pv_loop_add(loop, sfd, EPOLLIN, on_signal, NULL) < 0) {
		fprintf(stderr, "pvio-simd: cannot start in %s: %s\n", rundir, strerror(errno));
		goto out;
	}
	if (asprintf(&pidfile, "%s/pvio-simd.pid", rundir) >= 0) {
		FILE *f = fopen(pidfile, "w");

		if (f) {
			fprintf(f, "%d\n", (int)getpid());
			fclose(f);
		}
	}
	if (!foreground) {
		pv_daemon_ready(&ready);
	} else {
		fprintf(stderr, "pvio-simd: serving %s (dom0: %s/dom0/socket)\n", rundir, rundir);
	}
	rc = pv_loop_run(loop, -1, NULL, NULL) < 0;
out:
	sim_hv_free(hv);
	pv_xsd_free(xsd);
	pv_loop_free(loop);
	if (sfd >= 0)
		close(sfd);
	if (pidfile) {
		unlink(pidfile);
		free(pidfile);
	}
	if (ready >= 0)
		close(ready); /* never served: the waiting parent exits 1 */
	return rc;
}
