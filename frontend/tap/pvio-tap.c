/* SPDX-License-Identifier: MIT */
/*
 * pvio-tap - a sim (or Xen) guest's vif as a TAP device, so that ip, ping, ss, iperf3 and
 * any TCP application run unchanged over netfront:
 *
 *     pvio-tap --platform sim:<rundir>[:<domid>] [--dom DOMID] [--vif DEVID] [--name eth0]
 *              [--no-gso] [--no-csum] [--max-queues N] [--timeout S] [--daemon] [--pidfile FILE]
 *
 * The TAP device (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR) is made in the network namespace
 * pvio-tap starts in, gets the vif's mac, and is brought up.  Frames move both ways with
 * their offloads: virtio_net_hdr's NEEDS_CSUM / DATA_VALID / GSO_TCPV4 / GSO_TCPV6 map to
 * netif's csum_blank / data_validated / GSO extra info.  The kernel is told (TUNSETOFFLOAD)
 * to hand us only what the back end takes.
 *
 * One thread, one poll loop.  SIGTERM or SIGINT: the vif goes Closing -> Closed and the
 * TAP device disappears with its fd.  Exit status 0 after a clean close, 1 when the back
 * end went away or broke the protocol, 2 for a usage or setup error.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <net/if_arp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "pv_netfront.h"

#define VHDR sizeof(struct virtio_net_hdr)
#define MAX_IOV 19 /* the header and XEN_NETIF_NR_SLOTS_MIN pieces */
#define BATCH 64 /* frames read from the TAP per loop turn: one kick for all */

static struct {
	char spec[8192];
	unsigned int devid, max_queues, timeout_s;
	const char *name, *pidfile;
	int daemon, no_gso, no_csum, verbose, pid_written;
	struct pv_platform *p;
	struct pv_netfront *nf;
	struct pv_netfront_info info;
	int tap, sfd;
	/* a frame read from the TAP that netfront had no room for yet */
	uint8_t buf[VHDR + 65536 + 256];
	ssize_t pending;
	uint64_t tap_dropped, rx_dropped;
} g = { .name = "eth0", .tap = -1, .sfd = -1 };

static void usage(FILE *f)
{
	fprintf(f, "usage: pvio-tap --platform sim:<rundir>[:<domid>] [--dom DOMID] [--vif DEVID]\n"
		   "                [--name IFNAME] [--no-gso] [--no-csum] [--max-queues N]\n"
		   "                [--timeout S] [--daemon] [--pidfile FILE] [-v]\n");
}

static int parse_uint(const char *s, unsigned int *v)
{
	char *end;
	unsigned long x;

	errno = 0;
	x = strtoul(s, &end, 10);
	if (!*s || *end || errno || x > 0xFFFFFFFFul)
		return -1;
	*v = (unsigned int)x;
	return 0;
}

/* "sim:<dir>" or "sim:<dir>:<id>" with dir made absolute (a daemon runs in "/"), or "xen". */
static int make_spec(const char *platform, int have_dom, unsigned int dom)
{
	char dir[4096];
	const char *rest;
	char *colon;
	unsigned int id;

	if (strncmp(platform, "sim:", 4) != 0) {
		snprintf(g.spec, sizeof(g.spec), "%s", platform);
		return 0;
	}
	rest = platform + 4;
	snprintf(dir, sizeof(dir), "%s", rest);
	colon = strrchr(dir, ':');
	if (colon && parse_uint(colon + 1, &id) == 0) {
		*colon = '\0';
		if (have_dom && id != dom)
			return -1;
		dom = id;
		have_dom = 1;
	}
	if (!have_dom)
		return -1;
	if (dir[0] != '/') {
		char cwd[2048];

		if (!getcwd(cwd, sizeof(cwd)))
			return -1;
		if ((size_t)snprintf(g.spec, sizeof(g.spec), "sim:%s/%s:%u", cwd, dir, dom) >= sizeof(g.spec))
			return -1;
	} else {
		snprintf(g.spec, sizeof(g.spec), "sim:%s:%u", dir, dom);
	}
	return 0;
}

/* ---- the TAP device -------------------------------------------------------------------- */

static int tap_open(const char **why)
{
	struct ifreq ifr;
	unsigned int off = 0;
	int hdr = (int)VHDR, s, rc;

	g.tap = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (g.tap < 0) {
		*why = "cannot open /dev/net/tun";
		return -errno;
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", g.name);
	if (ioctl(g.tap, TUNSETIFF, &ifr) < 0) {
		*why = "TUNSETIFF failed (name in use, or no CAP_NET_ADMIN?)";
		return -errno;
	}
	if (ioctl(g.tap, TUNSETVNETHDRSZ, &hdr) < 0) {
		*why = "TUNSETVNETHDRSZ failed";
		return -errno;
	}
	/* What the kernel may hand us: only what netfront can pass to the back end. */
	if (!g.no_csum) {
		off |= TUN_F_CSUM;
		if (g.info.gso_tcpv4)
			off |= TUN_F_TSO4;
		if (g.info.gso_tcpv6)
			off |= TUN_F_TSO6;
	}
	if (ioctl(g.tap, TUNSETOFFLOAD, off) < 0) {
		*why = "TUNSETOFFLOAD failed";
		return -errno;
	}
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0) {
		*why = "socket";
		return -errno;
	}
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", g.name);
	ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
	memcpy(ifr.ifr_hwaddr.sa_data, g.info.mac, 6);
	rc = ioctl(s, SIOCSIFHWADDR, &ifr);
	if (rc == 0) {
		memset(&ifr, 0, sizeof(ifr));
		snprintf(ifr.ifr_name, IFNAMSIZ, "%s", g.name);
		rc = ioctl(s, SIOCGIFFLAGS, &ifr);
		ifr.ifr_flags |= IFF_UP;
		if (rc == 0)
			rc = ioctl(s, SIOCSIFFLAGS, &ifr);
	}
	if (rc < 0) {
		rc = -errno;
		*why = "cannot set the mac or bring the device up";
	}
	close(s);
	return rc;
}

/* ---- frames, both ways ------------------------------------------------------------- */

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xFFFF) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Fills in a partial checksum ourselves (an IPv6 frame to a back end without ipv6 csum). */
static int csum_fill(uint8_t *f, size_t len, size_t start, size_t off)
{
	uint32_t sum = 0;
	size_t i;
	uint16_t c;

	if (start >= len || start + off + 2 > len)
		return -1;
	for (i = start; i + 1 < len; i += 2)
		sum += (uint32_t)f[i] << 8 | f[i + 1];
	if (i < len)
		sum += (uint32_t)f[i] << 8;
	c = csum_fold(sum);
	f[start + off] = (uint8_t)(c >> 8);
	f[start + off + 1] = (uint8_t)c;
	return 0;
}

/*
 * The tx queue of a frame: a hash of its addresses and TCP/UDP ports, so that a flow keeps
 * to one queue (its frames stay in order) and flows spread over the queues.
 */
static uint16_t flow_queue(const uint8_t *f, size_t len)
{
	uint32_t h = 2166136261u;
	size_t a = 0, alen = 0, l4 = 0, i;
	unsigned int proto = 0;

	if (g.info.queues < 2 || len < 14)
		return 0;
	if (f[12] == 0x08 && f[13] == 0x00 && len >= 34 && (f[14] >> 4) == 4) {
		a = 26;
		alen = 8;
		proto = f[23];
		/* only the first fragment has ports; hash every fragment by addresses alone */
		if (!(f[20] & 0x3F) && !f[21])
			l4 = 14 + (size_t)(f[14] & 0xF) * 4;
	} else if (f[12] == 0x86 && f[13] == 0xDD && len >= 54) {
		a = 22;
		alen = 32;
		proto = f[20];
		l4 = 54;
	}
	for (i = 0; i < alen; i++)
		h = (h ^ f[a + i]) * 16777619u;
	if (l4 && (proto == 6 || proto == 17) && len >= l4 + 4)
		for (i = 0; i < 4; i++)
			h = (h ^ f[l4 + i]) * 16777619u;
	return (uint16_t)(h % g.info.queues);
}

/* One frame read from the TAP to netfront.  -EAGAIN: keep it for later. */
static int tap_to_nf(uint8_t *b, size_t n)
{
	struct virtio_net_hdr h;
	struct pv_netfront_meta m = { 0 };
	struct iovec iov;
	uint8_t *f = b + VHDR;
	size_t len = n - VHDR;

	memcpy(&h, b, VHDR);
	if (h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		int v6 = len >= 14 && f[12] == 0x86 && f[13] == 0xDD;

		if (v6 && !g.info.ipv6_csum && (h.gso_type & ~VIRTIO_NET_HDR_GSO_ECN) == VIRTIO_NET_HDR_GSO_NONE) {
			if (csum_fill(f, len, h.csum_start, h.csum_offset) < 0)
				return -EINVAL;
		} else {
			m.flags |= PV_NETFRONT_CSUM_PARTIAL;
		}
	} else if (h.flags & VIRTIO_NET_HDR_F_DATA_VALID) {
		m.flags |= PV_NETFRONT_CSUM_VALID;
	}
	switch (h.gso_type & ~VIRTIO_NET_HDR_GSO_ECN) {
	case VIRTIO_NET_HDR_GSO_NONE:
		break;
	case VIRTIO_NET_HDR_GSO_TCPV4:
		m.gso_type = PV_NETFRONT_GSO_TCPV4;
		m.gso_size = h.gso_size;
		break;
	case VIRTIO_NET_HDR_GSO_TCPV6:
		m.gso_type = PV_NETFRONT_GSO_TCPV6;
		m.gso_size = h.gso_size;
		break;
	default:
		return -EOPNOTSUPP; /* UDP fragmentation: never offered to the kernel */
	}
	m.queue = flow_queue(f, len);
	iov = (struct iovec){ f, len };
	return pv_netfront_send(g.nf, &iov, 1, &m);
}

/* Reads frames from the TAP into netfront until it would block or a batch is done. */
static int pump_tap(void)
{
	unsigned int k;
	int rc;

	for (k = 0; k < BATCH; k++) {
		if (!g.pending) {
			ssize_t n = read(g.tap, g.buf, sizeof(g.buf));

			if (n < 0)
				return errno == EAGAIN || errno == EINTR ? 0 : -errno;
			if ((size_t)n <= VHDR)
				continue;
			g.pending = n;
		}
		rc = tap_to_nf(g.buf, (size_t)g.pending);
		if (rc == -EAGAIN)
			return 0; /* netfront is full: poll frees slots, then this frame goes */
		if (rc == -EPROTO || rc == -ENOTCONN)
			return rc;
		if (rc < 0)
			g.tap_dropped++;
		g.pending = 0;
	}
	return 0;
}

/* netfront to the TAP: virtio_net_hdr from the frame's offload metadata. */
static void nf_to_tap(void *opaque, const struct iovec *iov, int iovcnt, const struct pv_netfront_meta *m)
{
	struct iovec v[MAX_IOV];
	struct virtio_net_hdr h = { 0 };
	uint8_t head[256];
	size_t hl = 0;
	int i;

	(void)opaque;
	if (iovcnt > MAX_IOV - 1)
		return;
	if (m->flags & PV_NETFRONT_CSUM_PARTIAL) {
		uint16_t start, off, hdr_len;

		/* the headers, copied once: the back end may still write its pages */
		for (i = 0; i < iovcnt && hl < sizeof(head); i++) {
			size_t n = iov[i].iov_len < sizeof(head) - hl ? iov[i].iov_len : sizeof(head) - hl;

			memcpy(head + hl, iov[i].iov_base, n);
			hl += n;
		}
		if (pv_netfront_csum_offsets(head, hl, &start, &off, &hdr_len) < 0) {
			g.rx_dropped++;
			return;
		}
		h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
		h.csum_start = start;
		h.csum_offset = off;
		h.hdr_len = hdr_len;
	} else if (m->flags & PV_NETFRONT_CSUM_VALID) {
		h.flags = VIRTIO_NET_HDR_F_DATA_VALID;
	}
	if (m->gso_type) {
		if (!(h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)) {
			g.rx_dropped++; /* a GSO frame must have a partial checksum */
			return;
		}
		h.gso_type = m->gso_type == PV_NETFRONT_GSO_TCPV4 ? VIRTIO_NET_HDR_GSO_TCPV4
								  : VIRTIO_NET_HDR_GSO_TCPV6;
		h.gso_size = m->gso_size;
	}
	v[0] = (struct iovec){ &h, VHDR };
	for (i = 0; i < iovcnt; i++)
		v[i + 1] = iov[i];
	/* the TAP queue full or the frame refused: dropped, as a NIC drops */
	if (writev(g.tap, v, iovcnt + 1) < 0)
		g.rx_dropped++;
}

/* ---- main -------------------------------------------------------------------------- */

static int run(void)
{
	int fds[2], nfd = pv_netfront_fds(g.nf, fds), rc = 0;

	for (;;) {
		struct pollfd pfd[4];
		int n = 0, i;

		pfd[n++] = (struct pollfd){ .fd = g.sfd, .events = POLLIN };
		pfd[n++] = (struct pollfd){ .fd = g.tap, .events = g.pending ? 0 : POLLIN };
		for (i = 0; i < nfd; i++)
			pfd[n++] = (struct pollfd){ .fd = fds[i], .events = POLLIN };
		if (poll(pfd, (nfds_t)n, pv_netfront_more(g.nf) ? 0 : g.pending ? 10 : -1) < 0 &&
		    errno != EINTR)
			return -errno;
		if (pfd[0].revents & POLLIN) {
			struct signalfd_siginfo si;

			if (read(g.sfd, &si, sizeof(si)) > 0 &&
			    (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT))
				return 0;
		}
		rc = pv_netfront_poll(g.nf, 0, nf_to_tap, NULL);
		if (rc < 0)
			return rc;
		rc = pump_tap();
		if (rc < 0)
			return rc;
		rc = pv_netfront_kick(g.nf);
		if (rc < 0)
			return rc;
	}
}

static int write_pidfile(void)
{
	FILE *f;

	if (!g.pidfile)
		return 0;
	f = fopen(g.pidfile, "w");
	if (!f)
		return -errno;
	fprintf(f, "%ld\n", (long)getpid());
	return fclose(f) == 0 ? 0 : -errno;
}

int main(int argc, char **argv)
{
	const char *platform = NULL, *why = "";
	struct pv_netfront_opts o = { 0 };
	unsigned int dom = 0;
	int have_dom = 0, i, rc, ready[2] = { -1, -1 };
	sigset_t ss;
	char ok = 1;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--platform") == 0 && v) {
			platform = v;
			i++;
		} else if (strcmp(a, "--dom") == 0 && v && parse_uint(v, &dom) == 0) {
			have_dom = 1;
			i++;
		} else if (strcmp(a, "--vif") == 0 && v && parse_uint(v, &g.devid) == 0) {
			i++;
		} else if (strcmp(a, "--name") == 0 && v && strlen(v) < IFNAMSIZ) {
			g.name = v;
			i++;
		} else if (strcmp(a, "--max-queues") == 0 && v && parse_uint(v, &g.max_queues) == 0) {
			i++;
		} else if (strcmp(a, "--timeout") == 0 && v && parse_uint(v, &g.timeout_s) == 0 &&
			   g.timeout_s > 0 && g.timeout_s <= 3600) {
			/* netfront's connect/close wait (10 s): an emulated guest can need longer */
			i++;
		} else if (strcmp(a, "--pidfile") == 0 && v) {
			g.pidfile = v;
			i++;
		} else if (strcmp(a, "--no-gso") == 0) {
			g.no_gso = 1;
		} else if (strcmp(a, "--no-csum") == 0) {
			g.no_csum = 1;
		} else if (strcmp(a, "--daemon") == 0) {
			g.daemon = 1;
		} else if (strcmp(a, "-v") == 0) {
			g.verbose = 1;
		} else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (!platform || make_spec(platform, have_dom, dom) < 0) {
		usage(stderr);
		return 2;
	}
	if (g.pidfile && g.pidfile[0] != '/') {
		fprintf(stderr, "pvio-tap: --pidfile needs an absolute path\n");
		return 2;
	}
	/*
	 * A daemon forks before it connects (the platform's sockets and event channels do not
	 * survive fork); the parent waits for the child's word so that its exit status says
	 * whether the device is up.
	 */
	if (g.daemon) {
		pid_t pid;

		if (pipe(ready) < 0)
			return 2;
		pid = fork();
		if (pid < 0)
			return 2;
		if (pid > 0) {
			close(ready[1]);
			return read(ready[0], &ok, 1) == 1 && ok == 0 ? 0 : 1;
		}
		close(ready[0]);
		setsid();
		if (chdir("/") < 0)
			return 2;
	}
	sigemptyset(&ss);
	sigaddset(&ss, SIGTERM);
	sigaddset(&ss, SIGINT);
	sigprocmask(SIG_BLOCK, &ss, NULL);
	signal(SIGPIPE, SIG_IGN);
	g.sfd = signalfd(-1, &ss, SFD_CLOEXEC | SFD_NONBLOCK);
	rc = pv_platform_open(g.spec, &g.p, &why);
	if (rc < 0) {
		fprintf(stderr, "pvio-tap: %s: %s (%s)\n", g.spec, strerror(-rc), why ? why : "");
		goto out;
	}
	o.no_gso = g.no_gso;
	o.no_csum_offload = g.no_csum;
	o.max_queues = g.max_queues;
	o.timeout_ms = g.timeout_s * 1000;
	rc = pv_netfront_open(g.p, g.devid, &o, &g.nf);
	if (rc < 0) {
		fprintf(stderr, "pvio-tap: vif %u: %s\n", g.devid, strerror(-rc));
		goto out;
	}
	pv_netfront_info(g.nf, &g.info);
	rc = tap_open(&why);
	if (rc < 0) {
		fprintf(stderr, "pvio-tap: %s: %s: %s\n", g.name, why, strerror(-rc));
		goto out;
	}
	rc = write_pidfile();
	g.pid_written = rc == 0 && g.pidfile;
	if (rc < 0) {
		fprintf(stderr, "pvio-tap: %s: %s\n", g.pidfile, strerror(-rc));
		goto out;
	}
	if (g.verbose)
		fprintf(stderr, "pvio-tap: %s up: vif %u, %u queue(s), sg %d, gso %d/%d\n", g.name, g.devid,
			g.info.queues, g.info.sg, g.info.gso_tcpv4, g.info.gso_tcpv6);
	if (g.daemon) {
		ok = 0;
		if (write(ready[1], &ok, 1) != 1)
			rc = -EIO;
		close(ready[1]);
		ready[1] = -1;
		int nul = open("/dev/null", O_RDWR);

		if (nul >= 0) {
			dup2(nul, 0);
			dup2(nul, 1);
			dup2(nul, 2);
			if (nul > 2)
				close(nul);
		}
	}
	rc = run();
	if (rc < 0)
		fprintf(stderr, "pvio-tap: %s: the back end %s\n", g.name,
			rc == -ENOTCONN ? "went away" : "broke the protocol");
out:
	if (g.nf) {
		struct pv_netfront_stats st;
		int drc = pv_netfront_disconnect(g.nf);

		pv_netfront_get_stats(g.nf, &st);
		if (g.verbose)
			fprintf(stderr, "pvio-tap: tx %llu rx %llu frames, dropped tap %llu rx %llu+%llu\n",
				(unsigned long long)st.tx_packets, (unsigned long long)st.rx_packets,
				(unsigned long long)g.tap_dropped, (unsigned long long)st.rx_dropped,
				(unsigned long long)g.rx_dropped);
		pv_netfront_close(g.nf);
		if (rc == 0 && drc < 0)
			rc = drc;
	}
	if (g.tap >= 0)
		close(g.tap);
	if (g.p)
		pv_platform_close(g.p);
	if (g.pid_written)
		unlink(g.pidfile);
	if (ready[1] >= 0) {
		ok = 1;
		if (write(ready[1], &ok, 1) < 0)
			rc = rc ? rc : -EIO;
	}
	return rc == 0 ? 0 : 1;
}
