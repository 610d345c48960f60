/* SPDX-License-Identifier: MIT */
/*
 * pvio-ctl's network commands against a real pvio-simd (the ctl-sim suite's, domains 1 and
 * 2).  Forked children play the peers where one is needed: a netback in dom0 and a netfront
 * in dom1 that does, or does not, close when asked, writing states as the real ones do.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctl_tests.h"
#include "pv_platform.h"

#define BE0 "/local/domain/0/backend/vif/1/0"
#define FE0 "/local/domain/1/device/vif/0"

/* Nothing of any vif of domain 1 is left, under any backend domain. */
static int no_vif_nodes(void)
{
	static const char *const dirs[] = {
		"/local/domain/1/device/vif", "/local/domain/0/backend/vif/1",
		"/local/domain/2/backend/vif/1",
	};
	char **names = NULL;
	unsigned int n = 0, i;
	int rc;

	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		rc = pv_xs_directory(ctl_dom0(), 0, dirs[i], &names, &n);
		free(names);
		names = NULL;
		if (rc == 0 && n) {
			fprintf(stderr, "\n  %s has %u children\n", dirs[i], n);
			return 0;
		}
	}
	return 1;
}

static char *get(struct pv_platform *p, const char *path)
{
	char *v = NULL;

	return pv_xs_read(p, 0, path, &v, NULL) < 0 ? NULL : v;
}

/* Waits up to 5 s for dom0 to read want at path. */
static int wait_for(const char *path, const char *want)
{
	int i;

	for (i = 0; i < 1000; i++) {
		char *v = get(ctl_dom0(), path);
		int ok = v && !strcmp(v, want);

		free(v);
		if (ok)
			return 1;
		usleep(5000);
	}
	return ctl_xs_is(path, want);
}

/* No byte of s is a control character other than '\n' (nor DEL, nor beyond ASCII). */
static int clean_text(const char *s)
{
	for (; *s; s++)
		if ((*s < 0x20 && *s != '\n') || *s == 0x7f || (unsigned char)*s >= 0x80)
			return 0;
	return 1;
}

/* ---- fake peers ---------------------------------------------------------------------- */

static int state_of(struct pv_platform *p, const char *path)
{
	char *v = get(p, path);
	int s = v ? atoi(v) : -1;

	free(v);
	return s;
}

/*
 * dom0's netback for vif 1/0: Initialising -> InitWait; the front end Connected ->
 * Connected; asked to close (state 5 from the toolstack) -> Closed once the front end is
 * Closed or never came.  Exits 0 once its directory is removed, 1 on its own time-out.
 */
/*
 * Writes dir/node = val only while dir exists, in one transaction, as Linux's xenbus does
 * for a state switch: a fake that looked before pvio-ctl --force removed the device must
 * not write its nodes back afterwards.
 */
static void write_if_there(struct pv_platform *p, const char *dir, const char *node,
			   const char *val)
{
	char path[160], *s = NULL;
	pv_xs_txn_t t;

	if (pv_xs_txn_start(p, &t) < 0)
		return;
	snprintf(path, sizeof(path), "%s/%s", dir, node);
	if (pv_xs_read(p, t, dir, &s, NULL) == 0)
		pv_xs_printf(p, t, path, "%s", val);
	free(s);
	pv_xs_txn_end(p, t, 0); /* a conflict: the next look writes again, or finds it gone */
}

static pid_t fake_netback(void)
{
	struct pv_platform *p;
	pid_t pid = fork();
	int seen = 0, i, be, fe;

	if (pid != 0)
		return pid;
	if (ctl_open_dom(0, &p) < 0)
		_exit(2);
	for (i = 0; i < 3000; i++) {
		be = state_of(p, BE0 "/state");
		fe = state_of(p, FE0 "/state");
		if (be < 0 && seen)
			_exit(0);
		if (be >= 0)
			seen = 1;
		if (be == 1) {
			write_if_there(p, BE0, "feature-rx-copy", "1");
			write_if_there(p, BE0, "state", "2");
		} else if (be == 2 && fe == 4) {
			write_if_there(p, BE0, "state", "4");
		} else if (be == 5 && (fe == 6 || fe == 1 || fe < 0)) {
			write_if_there(p, BE0, "state", "6");
		}
		usleep(5000);
	}
	_exit(1);
}

enum fe_mode { FE_CLOSES, FE_STUCK };

/*
 * dom1's netfront for vif 0: on InitWait writes its rings and channel and Connected; on the
 * back end's Closing, FE_CLOSES goes Closing then Closed, FE_STUCK ignores it (a guest
 * that does not let go).  Exits 0 once the directories are gone.
 */
static pid_t fake_netfront(enum fe_mode mode)
{
	struct pv_platform *p;
	pid_t pid = fork();
	int seen = 0, i, be, fe;

	if (pid != 0)
		return pid;
	if (ctl_open_dom(1, &p) < 0)
		_exit(2);
	for (i = 0; i < 3000; i++) {
		be = state_of(p, BE0 "/state");
		fe = state_of(p, FE0 "/state");
		if (fe < 0 && seen)
			_exit(0);
		if (fe >= 0)
			seen = 1;
		if (be == 2 && fe == 1) {
			write_if_there(p, FE0, "tx-ring-ref", "8");
			write_if_there(p, FE0, "rx-ring-ref", "9");
			write_if_there(p, FE0, "event-channel", "11");
			write_if_there(p, FE0, "request-rx-copy", "1");
			write_if_there(p, FE0, "state", "4");
		} else if (be == 5 && fe == 4 && mode == FE_CLOSES) {
			write_if_there(p, FE0, "state", "5");
			usleep(20000);
			write_if_there(p, FE0, "state", "6");
		}
		usleep(5000);
	}
	_exit(1);
}

/* ---- tests --------------------------------------------------------------------------- */

static void check_nodes(const char *dir, const char *const (*nodes)[2], size_t n)
{
	char path[256];
	size_t i;

	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, nodes[i][0]);
		CU_ASSERT(ctl_xs_is(path, nodes[i][1]));
	}
}

/* libxl's nodes (libxl__set_xenstore_nic and libxl__device_generic_add), its permissions. */
static void test_net_attach_nodes(void)
{
	static const char *const be_nodes[][2] = {
		{ "frontend", FE0 }, { "frontend-id", "1" }, { "online", "1" }, { "state", "1" },
		{ "script", "/etc/xen/scripts/vif-bridge" }, { "vifname", "vif-g1" },
		{ "mac", "00:16:3e:0a:0b:0c" }, { "ip", "192.0.2.7 2001:db8::7" },
		{ "rate", "25000,20000" }, { "bridge", "br-test" }, { "handle", "0" },
		{ "type", "vif" },
	};
	static const char *const fe_nodes[][2] = {
		{ "backend", BE0 }, { "backend-id", "0" }, { "state", "1" }, { "handle", "0" },
		{ "mac", "00:16:3e:0a:0b:0c" },
	};
	struct pv_platform *guest, *other;
	char out[4096], *v;
	unsigned int m3;

	CU_ASSERT_EQUAL(ctl_cmd(out, sizeof(out), "network-attach 1 mac=00:16:3E:0a:0b:0c,"
				"bridge=br-test 'ip=192.0.2.7 2001:db8::7' rate=10Mb/s@20ms "
				"script=vif-bridge vifname=vif-g1 type=vif --no-wait"), 0);
	/* silent but for the note that the script is not run */
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "note: script=/etc/xen/scripts/vif-bridge is written "
					   "but not run"));
	CU_ASSERT(ctl_one_line(out));
	check_nodes(BE0, be_nodes, sizeof(be_nodes) / sizeof(be_nodes[0]));
	check_nodes(FE0, fe_nodes, sizeof(fe_nodes) / sizeof(fe_nodes[0]));
	/* exactly those nodes, with libxl's permissions */
	CU_ASSERT(ctl_perms_are(BE0, "n0,r1", 12));
	CU_ASSERT(ctl_perms_are(FE0, "n1,r0", 5));

	/* The guest reads both, writes its own, cannot touch the backend's. */
	CU_ASSERT_EQUAL_FATAL(ctl_open_dom(1, &guest), 0);
	v = get(guest, BE0 "/mac");
	CU_ASSERT(v && !strcmp(v, "00:16:3e:0a:0b:0c"));
	free(v);
	CU_ASSERT_EQUAL(pv_xs_printf(guest, 0, FE0 "/tx-ring-ref", "8"), 0);
	CU_ASSERT_EQUAL(pv_xs_printf(guest, 0, BE0 "/bridge", "br-evil"), -EACCES);
	CU_ASSERT_EQUAL(pv_xs_printf(guest, 0, BE0 "/rate", "999999999,1"), -EACCES);
	CU_ASSERT_EQUAL(pv_xs_rm(guest, 0, BE0), -EACCES);
	pv_platform_close(guest);
	CU_ASSERT_EQUAL_FATAL(ctl_open_dom(2, &other), 0);
	CU_ASSERT_EQUAL(pv_xs_read(other, 0, BE0 "/mac", &v, NULL), -EACCES);
	CU_ASSERT_EQUAL(pv_xs_read(other, 0, FE0 "/mac", &v, NULL), -EACCES);
	pv_platform_close(other);
	CU_ASSERT_EQUAL(ctl_cmd(out, sizeof(out), "network-detach 1 0 --force"), 0);
	CU_ASSERT(no_vif_nodes());
	CU_ASSERT(!ctl_xs_has("/local/domain/0/backend/vif/1")); /* no empty parent left */

	/* Defaults: libxl's random MAC in Xen's OUI, and only the nodes always written. */
	CU_ASSERT_EQUAL(ctl_cmd(out, sizeof(out), "network-attach 1 --no-wait"), 0);
	CU_ASSERT_STRING_EQUAL(out, "");
	v = get(ctl_dom0(), BE0 "/mac");
	CU_ASSERT_FATAL(v != NULL);
	CU_ASSERT_EQUAL(strncmp(v, "00:16:3e:", 9), 0);
	CU_ASSERT(sscanf(v + 9, "%2x", &m3) == 1 && m3 < 0x80);
	CU_ASSERT(ctl_xs_is(FE0 "/mac", v));
	free(v);
	CU_ASSERT(ctl_perms_are(BE0, "n0,r1", 7));
	CU_ASSERT(!ctl_xs_has(BE0 "/bridge") && !ctl_xs_has(BE0 "/rate"));
	/* model= and accel= are accepted as xl does, with a note; backend= picks the domain */
	CU_ASSERT_EQUAL(ctl_cmd(out, sizeof(out), "network-attach 1 model=e1000,accel=x,backend=2 "
				"--no-wait -v"), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "note: model= is ignored"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "note: the accel parameter for vifs is not supported"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\n1\n")); /* -v: the devid */
	CU_ASSERT(ctl_perms_are("/local/domain/2/backend/vif/1/1", "n2,r1", 7));
	CU_ASSERT(ctl_perms_are("/local/domain/1/device/vif/1", "n1,r2", 5));
	CU_ASSERT(ctl_xs_is("/local/domain/1/device/vif/1/backend-id", "2"));
	CU_ASSERT_EQUAL(ctl_cmd(out, sizeof(out), "network-detach 1 0 --force"), 0);
	CU_ASSERT_EQUAL(ctl_cmd(out, sizeof(out), "network-detach 1 1 --force"), 0);
	CU_ASSERT(no_vif_nodes());
}

static int attach_devid(const char *args)
{
	char out[4096];
	int rc = ctl_cmd(out, sizeof(out), "-v network-attach 1 %s --no-wait", args);

	if (rc != 0) {
		fprintf(stderr, "\n  attach '%s': %d '%s'\n", args, rc, out);
		return -1;
	}
	return atoi(out);
}

static void test_net_devid_allocation(void)
{
	struct pv_platform *guest;
	char out[4096];

	CU_ASSERT_EQUAL(attach_devid(""), 0);
	CU_ASSERT_EQUAL(attach_devid(""), 1);
	CU_ASSERT_EQUAL(attach_devid(""), 2);
	/* As libxl: on from the highest, a detached number is not reused at once. */
	CU_ASSERT_EQUAL(ctl_cmd(out, sizeof(out), "network-detach 1 1 --force"), 0);
	CU_ASSERT_EQUAL(attach_devid(""), 3);
	/* devid= takes it explicitly; a number in use is refused and nothing changes. */
	CU_ASSERT_EQUAL(attach_devid("devid=1"), 1);
	CU_ASSERT_EQUAL(ctl_cmd(out, sizeof(out), "network-attach 1 devid=1,mac=00:16:3e:00:00:99 "
				"--no-wait"), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "devid 1 is already in use on domain 1"));
	{
		char *v = get(ctl_dom0(), "/local/domain/0/backend/vif/1/1/mac");

		CU_ASSERT(v && strcmp(v, "00:16:3e:00:00:99"));
		free(v);
	}
	/* A directory the guest made itself is skipped, not merged into. */
	CU_ASSERT_EQUAL_FATAL(ctl_open_dom(1, &guest), 0);
	CU_ASSERT_EQUAL(pv_xs_printf(guest, 0, "/local/domain/1/device/vif/4/state", "4"), 0);
	pv_platform_close(guest);
	CU_ASSERT_EQUAL(attach_devid(""), 5);
	/* Every backend domain's vifs count. */
	CU_ASSERT_EQUAL(attach_devid("backend=2"), 6);
	CU_ASSERT_EQUAL(attach_devid(""), 7);
	/* Past the top, the lowest free number. */
	CU_ASSERT_EQUAL(attach_devid("devid=2147483647"), 2147483647);
	CU_ASSERT_EQUAL(ctl_cmd(out, sizeof(out), "network-detach 1 0 --force"), 0);
	CU_ASSERT_EQUAL(attach_devid(""), 0);
	CU_ASSERT_EQUAL(attach_devid(""), 8);
	/* Remove all (the guest's own directory too: detach takes a frontend-only vif). */
	CU_ASSERT_EQUAL(ctl_cmd(out, sizeof(out), "network-list 1 --json"), 0);
	{
		static const char *const ids[] = { "0", "1", "2", "3", "4", "5", "6", "7", "8",
						   "2147483647" };
		size_t i;

		for (i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
			int rc = ctl_cmd(out, sizeof(out), "network-detach 1 %s --force", ids[i]);

			if (rc)
				fprintf(stderr, "\n  detach %s: %s\n", ids[i], out);
			CU_ASSERT_EQUAL(rc, 0);
		}
	}
	CU_ASSERT(no_vif_nodes());
}

static void test_net_refused_writes_nothing(void)
{
	static const struct {
		const char *args;
		int rc;
		const char *msg;
	} cases[] = {
		{ "network-attach 9", 1, "domain 9 does not exist" },
		{ "network-attach 1 backend=77", 1, "backend domain 77 does not exist" },
		{ "network-attach 1 backend=1 --backend-domid 2", 1, "disagree" },
		{ "network-attach 1 type=ioemu", 1, "type=ioemu is an emulated NIC" },
		{ "network-attach 1 type=foo", 1, "invalid parameter `type'" },
		{ "network-attach 1 foo=bar", 1, "unrecognized argument `foo=bar'" },
		{ "network-attach 1 bridge=br0 frobnicate", 1, "unrecognized argument `frobnicate'" },
		{ "network-attach 1 mac=01:16:3e:00:00:01", 1, "multicast" },
		{ "network-attach 1 mac=00:16:3e:00:00", 1, "invalid parameter `mac'" },
		{ "network-attach 1 mac=00:16:3e:00:00:01 mac=00:16:3e:00:00:02", 1,
		  "`mac' given twice" },
		{ "network-attach 1 rate=10Mbit/s", 1, "invalid rate in `10Mbit/s'" },
		{ "network-attach 1 rate=1B/s", 1, "rate too low" },
		{ "network-attach 1 'ip=192.0.2.1;reboot'", 1, "invalid parameter `ip'" },
		{ "network-attach 1 'bridge=$(reboot)'", 1, "invalid parameter `bridge'" },
		{ "network-attach 1 \"$(printf 'vifname=a\\033[2Jb')\"", 1,
		  "invalid parameter `vifname': `a?[2Jb'" },
		{ "network-attach 1 backend=dom0", 1, "not a domain id" },
		{ "network-attach 1 mtu=9000", 1, "`mtu' is not supported" },
		{ "network-attach 1 devid=-3", 1, "invalid parameter `devid'" },
		{ "network-attach 1 ''", 1, "empty vif specification" },
		{ "network-attach 1 \"bridge=$(head -c 5000 /dev/zero | tr '\\0' b)\"", 1,
		  "too long" },
		{ "network-detach 1 7", 1, "unknown device 7: domain 1 has no such vif" },
		{ "network-detach 1 00:16:3e:00:00:01", 1, "no vif with that MAC" },
		{ "network-detach 1 eth0", 1, "bad device 'eth0'" },
		{ "network-detach 1 00:16:3e", 1, "bad device '00:16:3e'" },
		{ "network-stats 1 x1", 1, "bad device 'x1'" },
		/* usage errors: exit 2 */
		{ "network-attach", 2, "usage: pvio-ctl" },
		{ "network-attach x", 2, "bad domain id 'x'" },
		{ "network-attach 1 --timeout 0", 2, "bad timeout" },
		{ "network-attach 1 --bogus", 2, "usage: pvio-ctl" },
		{ "network-detach 1", 2, "usage: pvio-ctl" },
		{ "network-detach 1 0 --timeout -1", 2, "bad timeout" },
		{ "network-list", 2, "usage: pvio-ctl" },
		{ "network-list 1 x", 2, "bad domain id 'x'" },
		{ "network-stats 1", 2, "usage: pvio-ctl" },
		{ "network-stats 1 0 --ctl", 2, "usage: pvio-ctl" },
	};
	char out[8192];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = ctl_cmd(out, sizeof(out), "%s", cases[i].args);
		int ok = rc == cases[i].rc && strstr(out, cases[i].msg) && clean_text(out) &&
			 (cases[i].rc != 1 || ctl_one_line(out)) && strlen(out) < 1024;

		if (!ok)
			fprintf(stderr, "\n  '%s': %d '%s'\n", cases[i].args, rc, out);
		CU_ASSERT(ok);
		CU_ASSERT(no_vif_nodes());
	}
	/* --help names every network command. */
	CU_ASSERT_EQUAL(ctl_cmd(out, sizeof(out), "--help"), 0);
	CU_ASSERT(strstr(out, "network-attach") && strstr(out, "network-detach") &&
		  strstr(out, "network-list") && strstr(out, "network-stats"));
	CU_ASSERT_EQUAL(ctl_cmd(out, sizeof(out), "network-attach --help"), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "network-attach DOM [VIFSPEC...]"));
}

/* No pvio-backd, or one without netback: a clear message, and the attach rolled back. */
static void test_net_attach_no_netback(void)
{
	char out[4096], sock[700], want[800];
	pid_t pid;

	CU_ASSERT_EQUAL(ctl_cmd(out, sizeof(out), "network-attach 1 --timeout 0.3"), 1);
	snprintf(want, sizeof(want), "backend did not answer within 0.3 s: pvio-backd is not "
				     "running (no control socket at %s/pvio-backd.sock)", ctl_rundir());
	if (!strstr(out, want))
		fprintf(stderr, "\n  '%s'\n", out);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, want));
	CU_ASSERT(ctl_one_line(out));
	CU_ASSERT(no_vif_nodes());
	CU_ASSERT(!ctl_xs_has("/local/domain/0/backend/vif/1"));

	/* A pvio-backd that serves disks only answers "unknown command" to vif requests. */
	snprintf(sock, sizeof(sock), "%s/pvio-backd.sock", ctl_rundir());
	pid = ctl_fake_ctl(sock, "vif-list\n", "{\"error\":\"unknown command\"}\n");
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_EQUAL(ctl_cmd(out, sizeof(out), "network-attach 1 --timeout 0.3"), 1);
	snprintf(want, sizeof(want), "the pvio-backd at %s does not serve vifs (unknown command)",
		 sock);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, want));
	CU_ASSERT_EQUAL(ctl_reap(pid), 0);
	CU_ASSERT(no_vif_nodes());
	/* A back end in another domain: no socket to ask, so the question names it. */
	CU_ASSERT_EQUAL(ctl_cmd(out, sizeof(out), "network-attach 1 backend=2 --timeout 0.2"), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "is a netback running in domain 2?"));
	CU_ASSERT(no_vif_nodes());
	unlink(sock);
}

/* A netback and a netfront that close when asked: attach, list, detach, all waited for. */
static void test_net_peers_close(void)
{
	char out[8192];
	pid_t be = fake_netback(), fe = fake_netfront(FE_CLOSES);

	CU_ASSERT_EQUAL(ctl_cmd(out, sizeof(out), "network-attach 1 mac=00:16:3e:11:22:33 "
				"--timeout 5"), 0);
	CU_ASSERT_STRING_EQUAL(out, "");
	CU_ASSERT(wait_for(BE0 "/state", "4"));
	CU_ASSERT_EQUAL(ctl_cmd(out, sizeof(out), "network-list 1"), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "Idx BE Mac Addr.         handle state"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "evt-ch   tx-/rx-ring-ref BE-path\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\n0   0  00:16:3e:11:22:33      0 4:Connected        11"
					   "     8/9           " BE0 "\n"));
	CU_ASSERT_EQUAL(ctl_cmd(out, sizeof(out), "network-list 1 --json"), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "[{\"domid\":1,\"devid\":0,\"backend_id\":0,"
					   "\"mac\":\"00:16:3e:11:22:33\",\"frontend_state\":4,"
					   "\"frontend_state_name\":\"Connected\",\"backend_state\":4,"
					   "\"backend_state_name\":\"Connected\",\"event_channel\":11,"
					   "\"tx_ring_ref\":8,\"rx_ring_ref\":9,\"queues\":null"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"backend\":\"" BE0 "\"}]\n"));
	/* detach by MAC: Closing, the front end closes, the back end follows, nodes go */
	CU_ASSERT_EQUAL(ctl_cmd(out, sizeof(out), "network-detach 1 00:16:3E:11:22:33 --timeout 5"),
			0);
	CU_ASSERT_STRING_EQUAL(out, "");
	CU_ASSERT(no_vif_nodes());
	CU_ASSERT_EQUAL(ctl_reap(fe), 0);
	CU_ASSERT_EQUAL(ctl_reap(be), 0);
	CU_ASSERT_EQUAL(ctl_cmd(out, sizeof(out), "network-list 1 --json"), 0);
	CU_ASSERT_STRING_EQUAL(out, "[]\n");
}

/* A netfront that does not let go: detach times out and keeps the vif; --force removes it. */
static void test_net_peer_stuck(void)
{
	char out[8192];
	pid_t be = fake_netback(), fe = fake_netfront(FE_STUCK);

	CU_ASSERT_EQUAL(ctl_cmd(out, sizeof(out), "network-attach 1 --timeout 5"), 0);
	CU_ASSERT(wait_for(BE0 "/state", "4"));
	CU_ASSERT_EQUAL(ctl_cmd(out, sizeof(out), "network-detach 1 0 --timeout 0.3"), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "did not close within 0.3 s"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "the guest's netfront (state 4) has not let go"));
	CU_ASSERT(ctl_one_line(out));
	CU_ASSERT(ctl_xs_is(BE0 "/online", "0"));
	CU_ASSERT(ctl_xs_is(BE0 "/state", "5"));
	CU_ASSERT(ctl_xs_is(FE0 "/state", "4"));
	CU_ASSERT_EQUAL(ctl_cmd(out, sizeof(out), "network-detach 1 0 --force"), 0);
	CU_ASSERT(no_vif_nodes());
	CU_ASSERT_EQUAL(ctl_reap(fe), 0);
	CU_ASSERT_EQUAL(ctl_reap(be), 0);

	/* No back end at all: the vif is kept too, and the message says whose move it is. */
	CU_ASSERT_EQUAL(ctl_cmd(out, sizeof(out), "network-attach 1 --no-wait"), 0);
	CU_ASSERT_EQUAL(ctl_cmd(out, sizeof(out), "network-detach 1 0 --timeout 0.2"), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "the back end did not finish closing"));
	CU_ASSERT_EQUAL(ctl_cmd(out, sizeof(out), "network-detach 1 0 --force"), 0);
	CU_ASSERT(no_vif_nodes());
}

/*
 * A guest writes what it likes under its own device/vif: list shows '?' or nothing for it,
 * never its bytes, and neither crashes nor lets it steer a detach by MAC.
 */
static void test_net_list_hostile_values(void)
{
	static const char *const nodes[][2] = {
		{ FE0 "/state", "4\033[2J" },
		{ FE0 "/event-channel", "-1" },
		{ FE0 "/tx-ring-ref", "99999999999999999999" },
		{ FE0 "/rx-ring-ref", "12\n" },
		{ FE0 "/mac", "\007\007" },
		{ FE0 "/backend", "/local/domain/0/backend/vbd/1/51712\033]0;owned\007" },
		{ "/local/domain/1/device/vif/77/state", "\r\033[1A" },
		{ "/local/domain/1/device/vif/77/mac", "00:16:3e:11:22:33" },
		{ "/local/domain/1/device/vif/77/multi-queue-num-queues", "2" },
		{ "/local/domain/1/device/vif/77/queue-0/event-channel", "\033x" },
		{ "/local/domain/1/device/vif/77/queue-0/tx-ring-ref", "5" },
		{ "/local/domain/1/device/vif/abc\033/state", "1" },
		{ "/local/domain/1/device/vif/4294967296/state", "1" },
	};
	struct pv_platform *guest;
	char out[16384], *big;
	size_t i;

	CU_ASSERT_EQUAL(ctl_cmd(out, sizeof(out), "network-attach 1 mac=00:16:3e:aa:bb:cc "
				"--no-wait"), 0);
	CU_ASSERT_EQUAL_FATAL(ctl_open_dom(1, &guest), 0);
	for (i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++)
		pv_xs_printf(guest, 0, nodes[i][0], "%s", nodes[i][1]);
	/* a value as long as the guest's node-size quota (2048) takes */
	big = malloc(2048);
	CU_ASSERT_FATAL(big != NULL);
	memset(big, '\033', 2000);
	big[2000] = '\0';
	CU_ASSERT_EQUAL(pv_xs_write(guest, 0, "/local/domain/1/device/vif/78/state", big, 2000), 0);
	free(big);
	pv_platform_close(guest);

	CU_ASSERT_EQUAL(ctl_cmd(out, sizeof(out), "network-list 1"), 0);
	CU_ASSERT(clean_text(out));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\n0   0  00:16:3e:aa:bb:cc      0 ?                   ?"
					   "     ?/?           " BE0 "\n"));
	/* a guest-only vif: its own MAC is shown (parsed), the backend is "-" */
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\n77  -  00:16:3e:11:22:33     77 ?                   ?"
					   "     5/-           -\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\n78  -  -                     78 ?  "));
	CU_ASSERT_PTR_NULL(strstr(out, "abc"));
	CU_ASSERT_PTR_NULL(strstr(out, "4294967296"));
	CU_ASSERT_EQUAL(ctl_cmd(out, sizeof(out), "network-list 1 --json"), 0);
	CU_ASSERT(clean_text(out));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"frontend_state\":null,\"frontend_state_name\":null,"
					   "\"backend_state\":1"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"devid\":77,\"backend_id\":null,"
					   "\"mac\":\"00:16:3e:11:22:33\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"queues\":2"));

	/* The guest's vif 77 claims a MAC: detach by it finds nothing that has a backend. */
	CU_ASSERT_EQUAL(ctl_cmd(out, sizeof(out), "network-detach 1 00:16:3e:11:22:33 --force"), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "no vif with that MAC"));
	/* and the real one's MAC, copied into the guest's own directory, picks the real one */
	CU_ASSERT_EQUAL_FATAL(ctl_open_dom(1, &guest), 0);
	pv_xs_printf(guest, 0, "/local/domain/1/device/vif/77/mac", "00:16:3e:aa:bb:cc");
	pv_platform_close(guest);
	CU_ASSERT_EQUAL(ctl_cmd(out, sizeof(out), "network-detach 1 00:16:3e:aa:bb:cc --force"), 0);
	CU_ASSERT(!ctl_xs_has(BE0));
	CU_ASSERT(ctl_xs_has("/local/domain/1/device/vif/77/mac"));
	CU_ASSERT_EQUAL(ctl_cmd(out, sizeof(out), "network-detach 1 77 --force"), 0);
	CU_ASSERT_EQUAL(ctl_cmd(out, sizeof(out), "network-detach 1 78 --force"), 0);
	pv_xs_rm(ctl_dom0(), 0, "/local/domain/1/device/vif");
	CU_ASSERT(no_vif_nodes());
}

static void test_net_stats(void)
{
	static const char stats[] = "{\"domid\":1,\"devid\":0,\"state\":4,\"mac\":\"00:16:3e:aa:bb:cc\","
				    "\"ifname\":\"vif1.0\",\"tx_packets\":5,\"rx_bytes\":1500}\n";
	char out[4096], sock[700], want[800];
	pid_t pid;

	/* no daemon */
	CU_ASSERT_EQUAL(ctl_cmd(out, sizeof(out), "network-stats 1 0"), 1);
	snprintf(want, sizeof(want), "pvio-backd is not running (no control socket at "
				     "%s/pvio-backd.sock)", ctl_rundir());
	CU_ASSERT_PTR_NOT_NULL(strstr(out, want));
	/* the request line, --json as it came, and the readable table */
	snprintf(sock, sizeof(sock), "%s/pvio-backd.sock", ctl_rundir());
	pid = ctl_fake_ctl(sock, "vif-stats 1 0\n", stats);
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_EQUAL(ctl_cmd(out, sizeof(out), "network-stats 1 0 --json"), 0);
	CU_ASSERT_STRING_EQUAL(out, stats);
	CU_ASSERT_EQUAL(ctl_reap(pid), 0);
	pid = ctl_fake_ctl(sock, "vif-stats 1 3\n", stats);
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_EQUAL(ctl_cmd(out, sizeof(out), "network-stats 1 3"), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "tx_packets           5\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "ifname               vif1.0\n"));
	CU_ASSERT_EQUAL(ctl_reap(pid), 0);
	/* by MAC: looked up in xenstore first */
	CU_ASSERT_EQUAL(ctl_cmd(out, sizeof(out), "network-attach 1 mac=00:16:3e:aa:bb:cc,devid=2 "
				"--no-wait"), 0);
	pid = ctl_fake_ctl(sock, "vif-stats 1 2\n", stats);
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_EQUAL(ctl_cmd(out, sizeof(out), "network-stats 1 00:16:3e:aa:bb:cc"), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "rx_bytes             1500\n"));
	CU_ASSERT_EQUAL(ctl_reap(pid), 0);
	CU_ASSERT_EQUAL(ctl_cmd(out, sizeof(out), "network-detach 1 2 --force"), 0);
	/* a daemon without netback, and the daemon's own error */
	pid = ctl_fake_ctl(sock, "vif-stats 1 0\n", "{\"error\":\"unknown command\"}\n");
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_EQUAL(ctl_cmd(out, sizeof(out), "network-stats 1 0"), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "does not serve vifs"));
	CU_ASSERT_EQUAL(ctl_reap(pid), 0);
	pid = ctl_fake_ctl(sock, "vif-stats 1 0\n", "{\"error\":\"no such device\"}\n");
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_EQUAL(ctl_cmd(out, sizeof(out), "network-stats 1 0"), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "pvio-backd: no such device"));
	CU_ASSERT_EQUAL(ctl_reap(pid), 0);
	unlink(sock);
	CU_ASSERT(no_vif_nodes());
}

CU_TestInfo ctl_net_tests[] = {
	{ "network-attach writes libxl's vif nodes with libxl's permissions; defaults",
	  test_net_attach_nodes },
	{ "network-attach: devids as libxl (max + 1), devid=, guest-made dirs skipped, wrap",
	  test_net_devid_allocation },
	{ "refused network commands: xl's messages, exit 1 or 2, nothing written",
	  test_net_refused_writes_nothing },
	{ "network-attach with no (net)back end: the reason, rolled back",
	  test_net_attach_no_netback },
	{ "fake netback + netfront that closes: attach, list, json, detach by MAC",
	  test_net_peers_close },
	{ "a netfront that does not close: detach times out and keeps it; --force",
	  test_net_peer_stuck },
	{ "network-list with hostile guest values: no control bytes, no crash, no steering",
	  test_net_list_hostile_values },
	{ "network-stats: no daemon, vif-stats request, json, table, by MAC, errors",
	  test_net_stats },
	CU_TEST_INFO_NULL,
};
