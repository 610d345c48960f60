/* SPDX-License-Identifier: MIT */
/*
 * flood_latency - what a flooding domain costs everyone else on pvio-simd (a measurement,
 * not a test: run by tests/sim/flood/run.sh, never by make check).
 *
 * Starts a pvio-simd, creates domains 1 and 2, and measures the round trip of a xenstore
 * read by dom0 and by domain 2 (libxenstore, one connection each) with nothing else
 * running, then while domain 1 floods: it takes every hypercall and xenstore connection
 * and event channel the daemon lets it have, keeps knocking for more, and sends xenstore
 * requests on all its connections as fast as the daemon answers them.
 *
 *   flood_latency BUILD_DIR [samples]
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <xenstore.h>
#include <xen/io/xs_wire.h>

#include "pv_simraw.h"

#define MAX_CONNS 4096

static char rundir[64];

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* Domain 1 as a hostile guest: never returns. */
static void flood(void)
{
	static int hcs[MAX_CONNS], xss[MAX_CONNS];
	struct pv_sim_msg m;
	unsigned int nhc = 0, nxs = 0, nports = 0, i;
	char buf[65536];
	unsigned long rounds = 0;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	for (;;) {
		int fd = pv_simraw_connect(rundir, 1, "hypercall", SOCK_SEQPACKET);

		m = (struct pv_sim_msg){ .op = PV_SIM_OP_HELLO, .a = { PV_SIM_PROTO_VERSION } };
		if (fd < 0 || nhc == MAX_CONNS || pv_simraw_hc(fd, &m) < 0) {
			if (fd >= 0)
				close(fd);
			break;
		}
		hcs[nhc++] = fd;
	}
	for (; nhc && nports < 100000; nports++) {
		m = (struct pv_sim_msg){ .op = PV_SIM_OP_EVTCHN_ALLOC, .a = { 0 } };
		if (pv_simraw_hc(hcs[0], &m) < 0)
			break;
	}
	while (nxs < MAX_CONNS) {
		int fd = pv_simraw_connect(rundir, 1, "socket", SOCK_STREAM);
		struct pollfd p = { .fd = fd, .events = POLLIN };

		if (fd < 0 || pv_simraw_xs_read(fd, "domid") < 0 || poll(&p, 1, 1000) != 1 ||
		    recv(fd, buf, sizeof(buf), 0) <= 0) {
			if (fd >= 0)
				close(fd);
			break;
		}
		fcntl(fd, F_SETFL, O_NONBLOCK);
		xss[nxs++] = fd;
	}
	fprintf(stderr, "flooder: %u hypercall connections, %u event channels, %u xenstore "
			"connections before refusal\n", nhc, nports, nxs);
	for (;;) {
		/* Keep knocking: the daemon accepts and closes at once. */
		for (i = 0; i < 8; i++) {
			int fd = pv_simraw_connect(rundir, 1, i % 2 ? "socket" : "hypercall",
					    i % 2 ? SOCK_STREAM : SOCK_SEQPACKET);

			if (fd >= 0)
				close(fd);
		}
		/* And keep every connection's request pipeline full. */
		for (i = 0; i < nxs; i++) {
			while (recv(xss[i], buf, sizeof(buf), MSG_DONTWAIT) > 0)
				;
			for (int k = 0; k < 4; k++)
				pv_simraw_xs_read(xss[i], "domid");
		}
		if (++rounds % 1000 == 0)
			m = (struct pv_sim_msg){ .op = PV_SIM_OP_EVTCHN_ALLOC, .a = { 0 } },
			pv_simraw_hc(hcs[0], &m);
	}
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* n reads of path on a fresh libxenstore connection of dom: p50 and p99 in us. */
static int measure(unsigned int dom, const char *path, int n, double *p50, double *p99)
{
	char sock[128];
	struct xs_handle *h;
	double *t = calloc((size_t)n, sizeof(*t));
	int i;

	snprintf(sock, sizeof(sock), "%s/dom%u/socket", rundir, dom);
	setenv("XENSTORED_PATH", sock, 1);
	h = xs_open(0);
	if (!h || !t) {
		free(t);
		return -1;
	}
	for (i = 0; i < n; i++) {
		unsigned int len;
		double t0 = now_us();
		char *v = xs_read(h, XBT_NULL, path, &len);

		t[i] = now_us() - t0;
		if (!v) {
			fprintf(stderr, "dom%u: read %s failed: %s\n", dom, path, strerror(errno));
			break;
		}
		free(v);
	}
	xs_close(h);
	qsort(t, (size_t)i, sizeof(*t), cmp);
	*p50 = i ? t[i / 2] : 0;
	*p99 = i ? t[(size_t)i * 99 / 100] : 0;
	free(t);
	return i == n ? 0 : -1;
}

int main(int argc, char **argv)
{
	int n = argc > 2 ? atoi(argv[2]) : 5000, rc = 1;
	double d0[2][2], d2[2][2];
	char cmd[512], bin[256];
	pid_t simd, fl = -1;

	if (argc < 2 || n <= 0) {
		fprintf(stderr, "usage: flood_latency BUILD_DIR [samples]\n");
		return 2;
	}
	snprintf(rundir, sizeof(rundir), "/tmp/pvio-flood-XXXXXX");
	if (!mkdtemp(rundir))
		return 1;
	snprintf(bin, sizeof(bin), "%s/bin/pvio-simd", argv[1]);
	simd = fork();
	if (simd == 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		execl(bin, "pvio-simd", "--rundir", rundir, "--foreground", (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 500; i++) {
		int fd = pv_simraw_connect(rundir, 0, "hypercall", SOCK_SEQPACKET);

		if (fd >= 0) {
			close(fd);
			break;
		}
		usleep(10000);
	}
	snprintf(cmd, sizeof(cmd), "%s/bin/pvio-ctl --platform sim:%s:0 domain-create 1 >/dev/null && "
		 "%s/bin/pvio-ctl --platform sim:%s:0 domain-create 2 >/dev/null",
		 argv[1], rundir, argv[1], rundir);
	if (system(cmd) != 0)
		goto out;
	if (measure(0, "/local/domain/2/domid", n, &d0[0][0], &d0[0][1]) < 0 ||
	    measure(2, "domid", n, &d2[0][0], &d2[0][1]) < 0)
		goto out;
	fl = fork();
	if (fl == 0)
		flood();
	sleep(2); /* let it take everything it can */
	if (measure(0, "/local/domain/2/domid", n, &d0[1][0], &d0[1][1]) < 0 ||
	    measure(2, "domid", n, &d2[1][0], &d2[1][1]) < 0)
		goto out;
	printf("xenstore read round trip, %d samples each (us)\n", n);
	printf("%-22s %10s %10s %10s %10s\n", "", "idle p50", "idle p99", "flood p50", "flood p99");
	printf("%-22s %10.1f %10.1f %10.1f %10.1f\n", "dom0", d0[0][0], d0[0][1], d0[1][0], d0[1][1]);
	printf("%-22s %10.1f %10.1f %10.1f %10.1f\n", "domain 2 (other domU)", d2[0][0], d2[0][1],
	       d2[1][0], d2[1][1]);
	rc = 0;
out:
	if (fl > 0) {
		kill(fl, SIGKILL);
		waitpid(fl, NULL, 0);
	}
	kill(simd, SIGTERM);
	waitpid(simd, NULL, 0);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", rundir);
	if (system(cmd) != 0)
		rc = 1;
	return rc;
}
