/* SPDX-License-Identifier: MIT */
/*
 * The guest's net path end to end, with real Linux networking on top: pvio-simd with two
 * guest domains, each running pvio-tap (netfront) in a network namespace of its own, so
 * that ping, iperf3 and a TCP transfer run unchanged between them.
 *
 * Suite "tap-fake-bridge": the back end is tests/netfront's fake in bridge mode (each vif's
 * tx goes to the other vif's rx, offloads passed through): it proves netfront and pvio-tap
 * against Linux's TCP stack independently of netback.
 *
 * Suite "tap-backd": the whole path: pvio-backd (netback) in a "host" namespace, its TAPs
 * vif1.0 and vif2.0 on bridge br0 there (bridge= of the vif), the host's address on br0;
 * ping between every pair, iperf3 guest-guest and host-guest, the 256 MiB transfers, and
 * pvio-backd must exit 0 on SIGTERM at the end.
 *
 * Everything runs in namespaces this test makes (unique names, removed at the end): the
 * machine's own network is never touched.  Needs root, /dev/net/tun, ip, ping, iperf3 and
 * ethtool; without them the program says why and exits 77.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pv_test.h"
#include "pv_simtest.h"
#include "pv_platform.h"
#include "fake_netback.h"

#define MB (1024u * 1024u)
#define XFER_BYTES (256u * MB)

static struct pv_simtest T;
static struct fnb fa, fb;
static char ns[2][40], hostns[40], dir[128];
static const char *net;  /* the suite's /24: guests .1 and .2, the host bridge .254 */
static int started, with_backd;
static pid_t backd = -1;

/* ---- setup --------------------------------------------------------------------------- */

static int have(const char *prog)
{
	return pv_simtest_sh("command -v %s >/dev/null 2>&1", prog) == 0;
}

static const char *cannot_run(void)
{
	if (geteuid() != 0)
		return "needs root (network namespaces, TAP devices)";
	if (access("/dev/net/tun", R_OK | W_OK) != 0)
		return "needs /dev/net/tun";
	if (!have("ip") || !have("ping") || !have("iperf3") || !have("ethtool") || !have("sha256sum"))
		return "needs ip, ping, iperf3, ethtool and sha256sum (scripts/deps.sh test)";
	/*
	 * `ip netns exec` remounts / as a slave and /sys for the namespace: in a chroot whose / is
	 * not a mount point that fails, and every suite would fail for the machine's sake.
	 */
	if (pv_simtest_sh("n=pvnf%ld-probe; ip netns add $n 2>/dev/null && ip netns exec $n true 2>/dev/null; "
			  "r=$?; ip netns del $n 2>/dev/null; exit $r", (long)getpid()) != 0)
		return "`ip netns add` and `ip netns exec` do not work here (a chroot whose / is not a mount point?)";
	return NULL;
}

/* The toolstack's nodes of vif 0 of domain dom (net contract), with mac 00:16:3e:00:00:<dom>. */
static int attach(unsigned int dom, const char *bridge)
{
	char be[200], fe[200], path[300];
	const struct pv_xs_perm be_perms[] = { { 0, PV_XS_PERM_NONE }, { (domid_t)dom, PV_XS_PERM_READ } };
	const struct pv_xs_perm fe_perms[] = { { (domid_t)dom, PV_XS_PERM_NONE }, { 0, PV_XS_PERM_READ } };
	int rc = 0;

	snprintf(be, sizeof(be), "/local/domain/0/backend/vif/%u/0", dom);
	snprintf(fe, sizeof(fe), "/local/domain/%u/device/vif/0", dom);
	if (pv_xs_mkdir(T.dom0, 0, be) < 0 || pv_xs_mkdir(T.dom0, 0, fe) < 0 ||
	    pv_xs_set_perms(T.dom0, 0, be, be_perms, 2) < 0 || pv_xs_set_perms(T.dom0, 0, fe, fe_perms, 2) < 0)
		return -EIO;
#define W(d, node, ...)								\
	do {									\
		snprintf(path, sizeof(path), "%s/%s", d, node);			\
		if (rc == 0)							\
			rc = pv_xs_printf(T.dom0, 0, path, __VA_ARGS__);		\
	} while (0)
	W(be, "frontend", "%s", fe);
	W(be, "frontend-id", "%u", dom);
	W(be, "online", "1");
	W(be, "handle", "0");
	W(be, "mac", "00:16:3e:00:00:%02x", dom);
	W(be, "type", "vif");
	if (bridge)
		W(be, "bridge", "%s", bridge);
	W(be, "state", "1");
	W(fe, "backend", "%s", be);
	W(fe, "backend-id", "0");
	W(fe, "handle", "0");
	W(fe, "mac", "00:16:3e:00:00:%02x", dom);
	W(fe, "state", "1");
#undef W
	return rc;
}

/*
 * pvio-tap for guest dom in its namespace: guest 1 in the foreground, as our child (its exit
 * status is checked: under ASan, no leak), guest 2 as a daemon with a pid file.
 */
static pid_t tap_child = -1;

static int start_tap(unsigned int dom)
{
	char pidf[200], spec[200];

	snprintf(pidf, sizeof(pidf), "%s/tap%u.pid", dir, dom);
	if (dom == 1) {
		snprintf(spec, sizeof(spec), "sim:%s:%u", T.rundir, dom);
		fflush(NULL);
		tap_child = fork();
		if (tap_child == 0) {
			execlp("ip", "ip", "netns", "exec", ns[0], pv_simtest_bin("pvio-tap"), "--platform", spec,
			       "--vif", "0", "--pidfile", pidf, (char *)NULL);
			_exit(127);
		}
		if (tap_child < 0 || pv_simtest_wait_path(pidf, 10000) < 0)
			return -1;
	} else if (pv_simtest_sh("ip netns exec %s %s --platform sim:%s --dom %u --vif 0 --daemon --pidfile %s",
				 ns[dom - 1], pv_simtest_bin("pvio-tap"), T.rundir, dom, pidf) != 0) {
		return -1;
	}
	return pv_simtest_sh("ip -n %s link set lo up && ip -n %s addr add %s.%u/24 dev eth0",
			     ns[dom - 1], ns[dom - 1], net, dom);
}

static pid_t read_pid(unsigned int dom)
{
	char pidf[200];
	long pid = 0;
	FILE *f;

	snprintf(pidf, sizeof(pidf), "%s/tap%u.pid", dir, dom);
	f = fopen(pidf, "r");
	if (!f)
		return -1;
	if (fscanf(f, "%ld", &pid) != 1)
		pid = -1;
	fclose(f);
	return (pid_t)pid;
}

/* SIGTERM to pvio-tap and wait for it to go: 0 when it went (the foreground one: with status 0). */
static int stop_tap(unsigned int dom)
{
	pid_t pid = read_pid(dom);
	int i, st = -1;

	if (dom == 1 && tap_child > 0) {
		kill(tap_child, SIGTERM);
		waitpid(tap_child, &st, 0);
		tap_child = -1;
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			fprintf(stderr, "pvio-tap (guest 1) exited with status %d\n", st);
			return -1;
		}
		return 0;
	}
	if (pid <= 0)
		return -1;
	kill(pid, SIGTERM);
	for (i = 0; i < 500 && kill(pid, 0) == 0; i++)
		usleep(10000);
	return kill(pid, 0) == 0 ? -1 : 0;
}

static int common_init(const char *tag)
{
	snprintf(ns[0], sizeof(ns[0]), "pvnf%ld%s-g1", (long)getpid(), tag);
	snprintf(ns[1], sizeof(ns[1]), "pvnf%ld%s-g2", (long)getpid(), tag);
	snprintf(hostns, sizeof(hostns), "pvnf%ld%s-h", (long)getpid(), tag);
	snprintf(dir, sizeof(dir), "/tmp/pvio-netpath-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	if (pv_simtest_start(&T, "pvio-test-netpath", 2) < 0)
		return -1;
	started = 1;
	return pv_simtest_sh("ip netns add %s && ip netns add %s", ns[0], ns[1]) == 0 ? 0 : -1;
}

/* The vifs joined by the fake back end in bridge mode. */
static int fake_init(void)
{
	struct fnb_cfg c = { .devid = 0, .sg = 1, .gso4 = 1, .gso6 = 1, .csum6 = 1, .split = 1,
			     .rxcopy = 1, .max_queues = 1 };
	struct fnb_cfg c1 = c, c2 = c;

	net = "10.99.0";
	with_backd = 0;
	if (common_init("f") < 0)
		return -1;
	if (attach(1, NULL) < 0 || attach(2, NULL) < 0)
		return -1;
	c1.fe_domid = 1;
	c2.fe_domid = 2;
	if (fnb_start_pair(&fa, &fb, T.rundir, &c1, &c2) < 0)
		return -1;
	if (start_tap(1) < 0 || start_tap(2) < 0)
		return -1;
	return 0;
}

/*
 * pvio-backd's netback in a "host" namespace of the test, both vifs on bridge br0 there
 * (bridge= of the vif spec), the bridge with the host's address.
 */
static int backd_init(void)
{
	char cmd[1024];

	net = "10.98.0";
	with_backd = 1;
	if (common_init("b") < 0)
		return -1;
	if (pv_simtest_sh("ip netns add %s && ip -n %s link set lo up && "
			  "ip -n %s link add br0 type bridge && ip -n %s link set br0 up && "
			  "ip -n %s addr add %s.254/24 dev br0", hostns, hostns, hostns, hostns, hostns, net) != 0)
		return -1;
	snprintf(cmd, sizeof(cmd), "exec ip netns exec %s %s --platform sim:%s:0 --foreground --log-level error",
		 hostns, pv_simtest_bin("pvio-backd"), T.rundir);
	fflush(NULL);
	backd = fork();
	if (backd == 0) {
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	if (backd < 0)
		return -1;
	if (attach(1, "br0") < 0 || attach(2, "br0") < 0)
		return -1;
	if (start_tap(1) < 0 || start_tap(2) < 0)
		return -1;
	/* the host ends are enslaved to br0 by pvio-backd once the vifs connect */
	return pv_simtest_sh("for i in $(seq 100); do ip -n %s link show master br0 | grep -q vif2.0 && "
			     "ip -n %s link show master br0 | grep -q vif1.0 && exit 0; sleep 0.1; done; exit 1",
			     hostns, hostns) == 0 ? 0 : -1;
}

static int suite_clean(void)
{
	int rc = 0;

	stop_tap(1);
	stop_tap(2);
	if (backd > 0) {
		int st = -1;

		kill(backd, SIGTERM);
		waitpid(backd, &st, 0);
		backd = -1;
		/* a clean shutdown (under ASan: no leak) */
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			fprintf(stderr, "pvio-backd exited with status %d\n", st);
			rc = -1;
		}
	}
	pv_simtest_sh("for n in %s %s %s; do ip netns del $n 2>/dev/null; done; true", ns[0], ns[1], hostns);
	if (fa.pid > 0 && fnb_stop(&fa) < 0)
		rc = -1;
	if (fb.pid > 0 && fnb_stop(&fb) < 0)
		rc = -1;
	fa.pid = fb.pid = -1;
	if (started && pv_simtest_stop(&T) < 0)
		rc = -1;
	started = 0;
	pv_simtest_sh("rm -rf %s", dir);
	return rc;
}

/* ---- a TCP transfer with checksums at both ends -------------------------------------- */

static int enter_ns(const char *name)
{
	char path[128];
	int fd, rc;

	snprintf(path, sizeof(path), "/var/run/netns/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	rc = setns(fd, CLONE_NEWNET);
	close(fd);
	return rc;
}

static void receiver(const char *name, unsigned short port, const char *sumfile, int ready)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	static char buf[1 << 16];
	char cmd[300];
	int s, c, one = 1;
	FILE *h;
	ssize_t n;

	alarm(300);
	if (enter_ns(name) < 0)
		_exit(10);
	s = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s, 1) < 0)
		_exit(11);
	if (write(ready, "r", 1) != 1)
		_exit(12);
	c = accept(s, NULL, NULL);
	if (c < 0)
		_exit(13);
	snprintf(cmd, sizeof(cmd), "sha256sum > %s", sumfile);
	h = popen(cmd, "w");
	if (!h)
		_exit(14);
	while ((n = read(c, buf, sizeof(buf))) > 0)
		if (fwrite(buf, 1, (size_t)n, h) != (size_t)n)
			_exit(15);
	_exit(n < 0 || pclose(h) != 0 ? 16 : 0);
}

static void sender(const char *name, const char *ip, unsigned short port, size_t bytes,
		   const char *sumfile)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	static uint64_t buf[MB / 8];
	uint64_t st = 0x9E3779B97F4A7C15ull ^ bytes;
	char cmd[300];
	size_t done = 0, i;
	int s;
	FILE *h;

	alarm(300);
	if (enter_ns(name) < 0)
		_exit(20);
	inet_pton(AF_INET, ip, &a.sin_addr);
	s = socket(AF_INET, SOCK_STREAM, 0);
	if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof(a)) < 0)
		_exit(21);
	snprintf(cmd, sizeof(cmd), "sha256sum > %s", sumfile);
	h = popen(cmd, "w");
	if (!h)
		_exit(22);
	while (done < bytes) {
		for (i = 0; i < MB / 8; i++)
			buf[i] = pv_simtest_rand(&st, UINT64_MAX);
		if (fwrite(buf, 1, MB, h) != MB)
			_exit(23);
		for (i = 0; i < MB;) {
			ssize_t n = write(s, (char *)buf + i, MB - i);

			if (n <= 0)
				_exit(24);
			i += (size_t)n;
		}
		done += MB;
	}
	close(s);
	_exit(pclose(h) != 0 ? 25 : 0);
}

static int read_sum(const char *file, char out[65])
{
	FILE *f = fopen(file, "r");
	int ok;

	if (!f)
		return -1;
	ok = fscanf(f, "%64s", out) == 1;
	fclose(f);
	return ok && strlen(out) == 64 ? 0 : -1;
}

/* bytes from guest `from` to guest `to` over TCP; 0 when both ends hash the same. */
static int transfer(unsigned int from, unsigned int to, size_t bytes)
{
	char txf[200], rxf[200], ip[32], tx[65] = "", rx[65] = "", c;
	unsigned short port = (unsigned short)(20000 + getpid() % 20000);
	int p[2], st1 = -1, st2 = -1;
	pid_t r, s;

	snprintf(txf, sizeof(txf), "%s/tx.sum", dir);
	snprintf(rxf, sizeof(rxf), "%s/rx.sum", dir);
	snprintf(ip, sizeof(ip), "%s.%u", net, to);
	if (pipe(p) < 0)
		return -1;
	fflush(NULL);
	r = fork();
	if (r == 0)
		receiver(ns[to - 1], port, rxf, p[1]);
	close(p[1]);
	if (r < 0 || read(p[0], &c, 1) != 1) {
		close(p[0]);
		return -1;
	}
	close(p[0]);
	s = fork();
	if (s == 0)
		sender(ns[from - 1], ip, port, bytes, txf);
	if (s > 0)
		waitpid(s, &st1, 0);
	waitpid(r, &st2, 0);
	if (!WIFEXITED(st1) || WEXITSTATUS(st1) || !WIFEXITED(st2) || WEXITSTATUS(st2)) {
		fprintf(stderr, "transfer %u -> %u: sender status %d, receiver status %d\n", from, to, st1, st2);
		return -1;
	}
	if (read_sum(txf, tx) < 0 || read_sum(rxf, rx) < 0)
		return -1;
	if (strcmp(tx, rx) != 0) {
		fprintf(stderr, "transfer %u -> %u: sha256 %s sent, %s received\n", from, to, tx, rx);
		return -1;
	}
	return 0;
}

/* A counter of pvio-backd's vif-stats for vif 0 of dom (its control socket); -1 if none. */
static long long backd_stat(unsigned int dom, const char *name)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	char cmd[64], out[4096], key[64], *p;
	size_t got = 0;
	ssize_t n;
	int fd;

	snprintf(a.sun_path, sizeof(a.sun_path), "%s/pvio-backd.sock", T.rundir);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	snprintf(cmd, sizeof(cmd), "vif-stats %u 0\n", dom);
	if (write(fd, cmd, strlen(cmd)) != (ssize_t)strlen(cmd)) {
		close(fd);
		return -1;
	}
	while (got < sizeof(out) - 1 && (n = read(fd, out + got, sizeof(out) - 1 - got)) > 0) {
		got += (size_t)n;
		if (out[got - 1] == '\n')
			break;
	}
	close(fd);
	out[got] = '\0';
	snprintf(key, sizeof(key), "\"%s\":", name);
	p = strstr(out, key);
	return p ? strtoll(p + strlen(key), NULL, 10) : -1;
}

/* GSO frames the back end took from the guest of dom. */
static long long gso_frames(unsigned int dom)
{
	if (with_backd)
		return backd_stat(dom, "tx_gso");
	return (long long)(dom == 1 ? fa.seen->gso_frames : fb.seen->gso_frames);
}

/* ---- tests --------------------------------------------------------------------------- */

static int ping(const char *from_ns, unsigned int to, const char *opts)
{
	return pv_simtest_sh("ip netns exec %s ping -c 5 -i 0.2 -W 5 %s %s.%u | grep -q ' 0%% packet loss'",
			     from_ns, opts, net, to);
}

static void test_ping(void)
{
	CU_ASSERT_EQUAL(ping(ns[0], 2, ""), 0);
	CU_ASSERT_EQUAL(ping(ns[1], 1, ""), 0);
	/* 8 KiB ICMP datagrams: IP fragments, both ways */
	CU_ASSERT_EQUAL(ping(ns[0], 2, "-s 8000"), 0);
	CU_ASSERT_EQUAL(ping(ns[1], 1, "-s 8000"), 0);
	if (!with_backd)
		return;
	{
		/* pvio-backd offers several queues: the guests use two (and spread flows over them) */
		char *v = NULL;

		CU_ASSERT_EQUAL(pv_xs_read(T.dom0, 0, "/local/domain/1/device/vif/0/multi-queue-num-queues",
					   &v, NULL), 0);
		CU_ASSERT(v && strcmp(v, "2") == 0);
		free(v);
	}
	/* and each guest with the host, both ways */
	CU_ASSERT_EQUAL(ping(ns[0], 254, ""), 0);
	CU_ASSERT_EQUAL(ping(ns[1], 254, ""), 0);
	CU_ASSERT_EQUAL(ping(hostns, 1, ""), 0);
	CU_ASSERT_EQUAL(ping(hostns, 2, ""), 0);
}

static void test_iperf(void)
{
	char pidf[200];
	unsigned int port = 30000u + (unsigned int)getpid() % 20000u;

	snprintf(pidf, sizeof(pidf), "%s/iperf.pid", dir);
	CU_ASSERT_EQUAL_FATAL(pv_simtest_sh("ip netns exec %s iperf3 -s -D -p %u -I %s", ns[1], port, pidf), 0);
	usleep(300000);
	/* short runs; nothing about the speed is asserted */
	CU_ASSERT_EQUAL(pv_simtest_sh("ip netns exec %s iperf3 -c %s.2 -p %u -t 2 >/dev/null", ns[0], net, port), 0);
	CU_ASSERT_EQUAL(pv_simtest_sh("ip netns exec %s iperf3 -c %s.2 -p %u -t 2 -R >/dev/null", ns[0], net, port), 0);
	if (with_backd) { /* the host with a guest */
		CU_ASSERT_EQUAL(pv_simtest_sh("ip netns exec %s iperf3 -c %s.2 -p %u -t 2 >/dev/null", hostns, net,
					      port), 0);
		CU_ASSERT_EQUAL(pv_simtest_sh("ip netns exec %s iperf3 -c %s.2 -p %u -t 2 -R >/dev/null", hostns,
					      net, port), 0);
	}
	pv_simtest_sh("kill $(cat %s) 2>/dev/null; true", pidf);
}

static void test_transfer_gso(void)
{
	long long gso0;

	CU_ASSERT_EQUAL(pv_simtest_sh("ip netns exec %s ethtool -K eth0 tso on gso on >/dev/null", ns[0]), 0);
	gso0 = gso_frames(1);
	CU_ASSERT(gso0 >= 0);
	CU_ASSERT_EQUAL(transfer(1, 2, XFER_BYTES), 0);
	/* the offload was really used: the back end took GSO frames from the sender */
	CU_ASSERT(gso_frames(1) > gso0);
}

static void test_transfer_no_gso(void)
{
	long long gso0;

	CU_ASSERT_EQUAL(pv_simtest_sh("ip netns exec %s ethtool -K eth0 tso off gso off >/dev/null", ns[1]), 0);
	gso0 = gso_frames(2);
	CU_ASSERT(gso0 >= 0);
	CU_ASSERT_EQUAL(transfer(2, 1, XFER_BYTES), 0);
	CU_ASSERT_EQUAL(gso_frames(2), gso0);
}

/* SIGTERM: the vif goes Closing -> Closed, the pid file and the TAP device go. */
static void test_shutdown(void)
{
	unsigned int dom;

	for (dom = 1; dom <= 2; dom++) {
		char path[200], *v = NULL;

		CU_ASSERT_EQUAL(stop_tap(dom), 0);
		snprintf(path, sizeof(path), "%s/tap%u.pid", dir, dom);
		CU_ASSERT_NOT_EQUAL(access(path, F_OK), 0);
		snprintf(path, sizeof(path), "/local/domain/%u/device/vif/0/state", dom);
		CU_ASSERT_EQUAL(pv_xs_read(T.dom0, 0, path, &v, NULL), 0);
		CU_ASSERT(v && strcmp(v, "6") == 0);
		free(v);
		CU_ASSERT_EQUAL(pv_simtest_sh("! ip -n %s link show eth0 >/dev/null 2>&1", ns[dom - 1]), 0);
	}
}

static CU_TestInfo tests[] = {
	{ "ping both ways, 0% loss", test_ping },
	{ "iperf3 TCP both ways", test_iperf },
	{ "256 MiB, GSO on, sha256 at both ends", test_transfer_gso },
	{ "256 MiB, GSO off, sha256 at both ends", test_transfer_no_gso },
	{ "SIGTERM closes each vif (foreground: exit 0; daemon)", test_shutdown },
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{ "tap-fake-bridge", fake_init, suite_clean, NULL, NULL, tests },
	{ "tap-backd", backd_init, suite_clean, NULL, NULL, tests },
	CU_SUITE_INFO_NULL,
};

int main(void)
{
	const char *why = cannot_run();

	if (why) {
		printf("test-netpath: skipped: %s\n", why);
		return 77;
	}
	return pv_test_main(suites);
}
