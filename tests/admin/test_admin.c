/* SPDX-License-Identifier: MIT */
/*
 * What a dom0 administrator meets first (issue 13): pvio-ctl, pvio-backd and pvio-simd as
 * run from a shell, on a real pvio-simd with a real pvio-backd.  Each test is one behaviour
 * the administrator relies on: state names in block-stats, no image written by two guests
 * unless asked, a destroyed domain's devices torn down (and leftovers found and removed),
 * messages that name the cause, and daemons that let go of the terminal and tell systemd
 * when they serve.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pv_test.h"
#include "pv_simtest.h"
#include "pv_blkfront.h"
#include "pv_platform.h"
#include "sim/pv_sim.h"

#define DISK_BYTES (4u << 20)

static struct pv_simtest T;
static pid_t backd = -1;

/* Runs a shell command; its exit status (-1: did not run), stdout and stderr in out. */
static int run(char *out, size_t outsz, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int run(char *out, size_t outsz, const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	size_t n;
	FILE *f;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	f = popen(cmd, "r");
	if (!f)
		return -1;
	n = fread(out, 1, outsz - 1, f);
	out[n] = '\0';
	st = pclose(f);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* pvio-ctl as dom0's toolstack, stderr with stdout. */
#define CTL(out, fmt, ...) \
	run(out, sizeof(out), "%s --platform sim:%s:0 " fmt " 2>&1", pv_simtest_bin("pvio-ctl"), \
	    T.rundir, ##__VA_ARGS__)

static int make_image(const char *name, char *path, size_t len)
{
	int fd;

	snprintf(path, len, "%s/%s", T.rundir, name);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || ftruncate(fd, DISK_BYTES) < 0)
		return -1;
	close(fd);
	return 0;
}

static int xs_has(const char *path)
{
	char *v = NULL;
	int rc = pv_xs_read(T.dom0, 0, path, &v, NULL);

	free(v);
	return rc == 0;
}

static int xs_is(const char *path, const char *want)
{
	char *v = NULL;
	int ok = pv_xs_read(T.dom0, 0, path, &v, NULL) == 0 && !strcmp(v, want);

	free(v);
	return ok;
}

/* 1 if pvio-backd has file path open (one of its /proc/PID/fd links names it). */
static int backd_holds(const char *path)
{
	char dir[64], link[PATH_MAX + 64], target[PATH_MAX];
	int fd, found = 0;
	ssize_t n;

	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)backd);
	for (fd = 0; fd < 4096 && !found; fd++) {
		snprintf(link, sizeof(link), "%s/%d", dir, fd);
		n = readlink(link, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		found = !strcmp(target, path);
	}
	return found;
}

/* Waits up to 5 s for pvio-backd to hold path (want 1) or to have let go of it (want 0). */
static int backd_holds_wait(const char *path, int want)
{
	for (int i = 0; i < 500; i++) {
		if (backd_holds(path) == want)
			return 1;
		usleep(10000);
	}
	return 0;
}

static int suite_init(void)
{
	if (pv_simtest_start(&T, "pvio-test-admin", 2) < 0)
		return -1;
	return (backd = pv_simtest_backd_start(&T, NULL)) > 0 ? 0 : -1;
}

static int suite_clean(void)
{
	int rc = pv_simtest_backd_stop(&backd);

	return pv_simtest_stop(&T) < 0 ? -1 : rc;
}

/* ---- item 9: block-stats names the state ---------------------------------------------- */

static void test_stats_state_names(void)
{
	char img[700], out[16384];

	CU_ASSERT_EQUAL_FATAL(make_image("stats.img", img, sizeof(img)), 0);
	/* No front end: pvio-backd waits in InitWait (2). */
	CU_ASSERT_EQUAL_FATAL(CTL(out, "block-attach 1 vdev=xvdb,target=%s", img), 0);
	CU_ASSERT_EQUAL(CTL(out, "block-stats 1 xvdb"), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\nstate                InitWait (2)\n"));
	CU_ASSERT_PTR_NULL(strstr(out, "state_name")); /* said once, in the state line */
	CU_ASSERT_EQUAL(CTL(out, "block-stats 1 xvdb --json"), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"state\":2,\"state_name\":\"InitWait\","));
	CU_ASSERT_EQUAL(CTL(out, "block-detach 1 xvdb"), 0);
}

/* ---- item 3: an image written by one guest is nobody else's ---------------------------- */

static void test_rw_exclusive(void)
{
	char img[700], lnk[720], ro[700], out[8192];

	CU_ASSERT_EQUAL_FATAL(make_image("shared.img", img, sizeof(img)), 0);
	CU_ASSERT_EQUAL_FATAL(make_image("ro.img", ro, sizeof(ro)), 0);
	/* Another name for the same inode: the check is by inode, not by path. */
	snprintf(lnk, sizeof(lnk), "%s/shared-link.img", T.rundir);
	CU_ASSERT_EQUAL_FATAL(link(img, lnk) == 0 || errno == EEXIST, 1);

	CU_ASSERT_EQUAL_FATAL(CTL(out, "block-attach 1 vdev=xvdb,target=%s", img), 0);
	/* read-write to a second guest: refused, nothing written */
	CU_ASSERT_EQUAL(CTL(out, "block-attach 2 vdev=xvdb,target=%s", lnk), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "already attached read-write to domain 1"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "access=w!"));
	CU_ASSERT(!xs_has("/local/domain/0/backend/vbd/2/51728"));
	/* twice to the same guest */
	CU_ASSERT_EQUAL(CTL(out, "block-attach 1 vdev=xvdc,target=%s", img), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "already attached read-write"));
	/* read-only while another writes it */
	CU_ASSERT_EQUAL(CTL(out, "block-attach 2 vdev=xvdb,access=ro,target=%s", lnk), 1);
	/* asked for explicitly: shared, and listed as such */
	CU_ASSERT_EQUAL(CTL(out, "block-attach 2 vdev=xvdb,access=w!,target=%s", lnk), 0);
	CU_ASSERT_EQUAL(CTL(out, "block-list 2 --json"), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"mode\":\"w!\""));
	/* read-only sharing stays allowed */
	CU_ASSERT_EQUAL(CTL(out, "block-attach 1 vdev=xvdd,access=ro,target=%s", ro), 0);
	CU_ASSERT_EQUAL(CTL(out, "block-attach 2 vdev=xvdd,access=ro,target=%s", ro), 0);
	/* once detached, the image is free again */
	CU_ASSERT_EQUAL(CTL(out, "block-detach 2 xvdb"), 0);
	CU_ASSERT_EQUAL(CTL(out, "block-detach 1 xvdb"), 0);
	CU_ASSERT_EQUAL(CTL(out, "block-attach 2 vdev=xvdb,target=%s", lnk), 0);
	CU_ASSERT_EQUAL(CTL(out, "block-detach 2 xvdb"), 0);
	CU_ASSERT_EQUAL(CTL(out, "block-detach 1 xvdd"), 0);
	CU_ASSERT_EQUAL(CTL(out, "block-detach 2 xvdd"), 0);
}

/* ---- item 2: a destroyed domain's devices ---------------------------------------------- */

static void test_destroy_teardown(void)
{
	char img[700], out[8192];
	domid_t id;

	CU_ASSERT_EQUAL_FATAL(make_image("dom3.img", img, sizeof(img)), 0);
	CU_ASSERT_EQUAL_FATAL(CTL(out, "domain-create 3"), 0);
	CU_ASSERT_EQUAL_FATAL(CTL(out, "block-attach 3 vdev=xvdb,target=%s", img), 0);
	CU_ASSERT(backd_holds_wait(img, 1));
	/* Destroy: the device goes with the domain, and pvio-backd lets go of the image. */
	CU_ASSERT_EQUAL(CTL(out, "domain-destroy 3"), 0);
	CU_ASSERT(!xs_has("/local/domain/0/backend/vbd/3/51728"));
	CU_ASSERT(backd_holds_wait(img, 0));
	/* The id reused with the same vdev. */
	CU_ASSERT_EQUAL_FATAL(CTL(out, "domain-create 3"), 0);
	CU_ASSERT_EQUAL(CTL(out, "block-attach 3 vdev=xvdb,target=%s", img), 0);
	CU_ASSERT(backd_holds_wait(img, 1));

	/* A domain destroyed behind the toolstack's back leaves its device behind ... */
	CU_ASSERT_EQUAL_FATAL(pv_sim_domain_destroy(T.dom0, 3), 0);
	CU_ASSERT(xs_has("/local/domain/0/backend/vbd/3/51728"));
	/* ... which is listed, marked ... */
	CU_ASSERT_EQUAL(CTL(out, "block-list 3"), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "domain 3 does not exist: 1 leftover device"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "[leftover: domain gone]"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, img));
	CU_ASSERT_EQUAL(CTL(out, "block-list 3 --json 2>/dev/null"), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"domain_gone\":true"));
	/* ... and removable, which frees the image. */
	CU_ASSERT_EQUAL(CTL(out, "block-detach 3 xvdb --force"), 0);
	CU_ASSERT(!xs_has("/local/domain/0/backend/vbd/3/51728"));
	CU_ASSERT(backd_holds_wait(img, 0));
	CU_ASSERT_EQUAL(CTL(out, "block-list 3"), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "domain 3 does not exist"));
	/* The same for a vif: destroy removes it; a leftover is listed and removable. */
	CU_ASSERT_EQUAL(pv_sim_domain_create(T.dom0, 3, &id), 0);
	CU_ASSERT_EQUAL(CTL(out, "network-attach 3 --no-wait"), 0);
	CU_ASSERT(xs_has("/local/domain/0/backend/vif/3/0"));
	CU_ASSERT_EQUAL(CTL(out, "domain-destroy 3"), 0);
	CU_ASSERT(!xs_has("/local/domain/0/backend/vif/3/0"));
	CU_ASSERT_EQUAL(pv_sim_domain_create(T.dom0, 3, &id), 0);
	CU_ASSERT_EQUAL(CTL(out, "network-attach 3 --no-wait"), 0);
	CU_ASSERT_EQUAL_FATAL(pv_sim_domain_destroy(T.dom0, 3), 0);
	CU_ASSERT_EQUAL(CTL(out, "network-list 3"), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "[leftover: domain gone]"));
	CU_ASSERT_EQUAL(CTL(out, "network-detach 3 0 --force"), 0);
	CU_ASSERT(!xs_has("/local/domain/0/backend/vif/3/0"));
	CU_ASSERT_EQUAL(CTL(out, "network-list 3"), 1);

	/* And the id again, once more. */
	CU_ASSERT_EQUAL(pv_sim_domain_create(T.dom0, 3, &id), 0);
	CU_ASSERT_EQUAL(CTL(out, "block-attach 3 vdev=xvdb,target=%s", img), 0);
	CU_ASSERT_EQUAL(CTL(out, "domain-destroy 3"), 0);
	CU_ASSERT(backd_holds_wait(img, 0));
}

/* ---- item 4: block-detach while the guest uses the disk ------------------------------- */

/* Starts pvio-ctl with args in the background, its output to file out; returns its pid. */
static pid_t ctl_bg(const char *out, const char *args)
{
	pid_t pid = fork();

	if (pid == 0) {
		char cmd[2048];

		snprintf(cmd, sizeof(cmd), "%s --platform sim:%s:0 %s >%s 2>&1",
			 pv_simtest_bin("pvio-ctl"), T.rundir, args, out);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	return pid;
}

/* 1 once child pid has exited (its status in *st), 0 while it runs. */
static int exited(pid_t pid, int *st)
{
	return waitpid(pid, st, WNOHANG) == pid;
}

static void slurp(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(buf, 1, len - 1, f) : 0;

	buf[n] = '\0';
	if (f)
		fclose(f);
}

/*
 * xl's semantics: detach asks the guest to let go and waits; a guest that holds the disk
 * makes it fail "busy" (exit 1, nothing removed) and its I/O goes on, during and after;
 * a guest that lets go while detach waits lets it finish; --force pulls it out at once.
 */
static void test_detach_busy(void)
{
	struct pv_blkfront_opts o = { .timeout_ms = 10000 };
	struct pv_platform *p = NULL;
	struct pv_blkfront *bf = NULL;
	struct pv_blkfront_stats bst;
	char img[700], out[8192], outf[700];
	uint8_t buf[4096], back[4096];
	unsigned int ios = 0, bad = 0;
	int st = -1, done;
	pid_t pid;

	CU_ASSERT_EQUAL_FATAL(make_image("busy.img", img, sizeof(img)), 0);
	snprintf(outf, sizeof(outf), "%s/detach.out", T.rundir);
	CU_ASSERT_EQUAL_FATAL(CTL(out, "block-attach 1 vdev=xvdb,target=%s", img), 0);
	CU_ASSERT_EQUAL_FATAL(pv_simtest_open(&T, 1, &p), 0);
	CU_ASSERT_EQUAL_FATAL(pv_blkfront_open(p, 51728, &o, &bf), 0);

	/* The guest writes and reads back all along while detach waits, then refuses. */
	pid = ctl_bg(outf, "block-detach 1 xvdb --timeout 1");
	do {
		done = exited(pid, &st);
		memset(buf, (int)(ios & 0xff), sizeof(buf));
		if (pv_blkfront_pwrite(bf, buf, sizeof(buf), (ios % 64) * 4096) != sizeof(buf) ||
		    pv_blkfront_pread(bf, back, sizeof(back), (ios % 64) * 4096) != sizeof(back) ||
		    memcmp(buf, back, sizeof(buf)))
			bad++;
		ios++;
	} while (!done && bad < 10);
	if (!done)
		waitpid(pid, &st, 0);
	CU_ASSERT(ios > 1);
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 1);
	slurp(outf, out, sizeof(out));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "busy: domain 1 still uses vbd 51728"));
	CU_ASSERT(xs_has("/local/domain/0/backend/vbd/1/51728"));
	/* still the guest's, after the refusal too */
	CU_ASSERT_EQUAL(pv_blkfront_pwrite(bf, buf, sizeof(buf), 0), (ssize_t)sizeof(buf));
	CU_ASSERT_EQUAL(pv_blkfront_flush(bf), 0);
	pv_blkfront_get_stats(bf, &bst);
	CU_ASSERT(bst.detach_requests >= 1);

	/* Asked again, the guest lets go while detach waits: detach finishes, exit 0. */
	pid = ctl_bg(outf, "block-detach 1 xvdb --timeout 20");
	/* once it has asked (online 0 again after the refusal's), give it time to misbehave */
	for (int i = 0; i < 500 && !xs_is("/local/domain/0/backend/vbd/1/51728/online", "0"); i++)
		usleep(10000);
	usleep(300000);
	CU_ASSERT(!exited(pid, &st)); /* still waiting for the guest */
	pv_blkfront_close(bf);
	bf = NULL;
	waitpid(pid, &st, 0);
	CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	slurp(outf, out, sizeof(out));
	CU_ASSERT_STRING_EQUAL(out, "");
	CU_ASSERT(!xs_has("/local/domain/0/backend/vbd/1/51728"));
	CU_ASSERT(backd_holds_wait(img, 0));

	/* --force: removed at once, under the guest, whose I/O then fails. */
	CU_ASSERT_EQUAL_FATAL(CTL(out, "block-attach 1 vdev=xvdb,target=%s", img), 0);
	CU_ASSERT_EQUAL_FATAL(pv_blkfront_open(p, 51728, &o, &bf), 0);
	CU_ASSERT_EQUAL(CTL(out, "block-detach 1 xvdb --force"), 0);
	CU_ASSERT(!xs_has("/local/domain/0/backend/vbd/1/51728"));
	for (int i = 0; i < 100 && pv_blkfront_pread(bf, back, sizeof(back), 0) >= 0; i++)
		usleep(10000);
	CU_ASSERT(pv_blkfront_pread(bf, back, sizeof(back), 0) < 0);
	pv_blkfront_close(bf);
	bf = NULL;
	CU_ASSERT(backd_holds_wait(img, 0));

	/* Refused, then the guest closes on its own: the next detach removes it. */
	CU_ASSERT_EQUAL_FATAL(CTL(out, "block-attach 1 vdev=xvdb,target=%s", img), 0);
	CU_ASSERT_EQUAL_FATAL(pv_blkfront_open(p, 51728, &o, &bf), 0);
	CU_ASSERT_EQUAL(CTL(out, "block-detach 1 xvdb --timeout 0.5"), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "busy:"));
	pv_blkfront_close(bf);
	CU_ASSERT_EQUAL(CTL(out, "block-detach 1 xvdb --timeout 5"), 0);
	CU_ASSERT(!xs_has("/local/domain/0/backend/vbd/1/51728"));
	pv_platform_close(p);
	CU_ASSERT(backd_holds_wait(img, 0));
}

/* ---- item 5: messages that name the cause ---------------------------------------------- */

static void test_messages(void)
{
	char out[8192], img[700], longdir[200];

	CU_ASSERT_EQUAL_FATAL(make_image("msg.img", img, sizeof(img)), 0);
	/* pvio-backd on a rundir where no pvio-simd runs */
	CU_ASSERT_EQUAL(run(out, sizeof(out), "%s --platform sim:%s/nosuch:0 --foreground 2>&1",
			    pv_simtest_bin("pvio-backd"), T.rundir), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "pvio-simd is not running in"));
	CU_ASSERT_PTR_NULL(strstr(out, ".lock"));
	/* no platform given, no Xen here: the sim is named */
	if (access("/dev/xen/evtchn", F_OK) < 0) {
		CU_ASSERT_EQUAL(run(out, sizeof(out), "env -u PVIO_PLATFORM %s block-list 1 2>&1",
				    pv_simtest_bin("pvio-ctl")), 1);
		CU_ASSERT_PTR_NOT_NULL(strstr(out, "/dev/xen/evtchn is missing"));
		CU_ASSERT_PTR_NOT_NULL(strstr(out, "--platform sim:RUNDIR:DOMID"));
	}
	/* qdisk: refused at once, pvio-backd not blamed */
	CU_ASSERT_EQUAL(CTL(out, "block-attach 1 vdev=xvde,backendtype=qdisk,target=%s "
			    "--timeout 30", img), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "backendtype=qdisk is QEMU's back end"));
	CU_ASSERT_PTR_NULL(strstr(out, "is pvio-backd running"));
	CU_ASSERT(!xs_has("/local/domain/0/backend/vbd/1/51776"));
	/* target before vdev: xl's rule said */
	CU_ASSERT_EQUAL(CTL(out, "block-attach 1 target=%s,vdev=xvde", img), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "vdev is missing: target= must come last"));
	/* a rundir too long for a socket path: the limit and the path */
	memset(longdir, 0, sizeof(longdir));
	snprintf(longdir, sizeof(longdir), "%s/", T.rundir);
	memset(longdir + strlen(longdir), 'x', 100 - strlen(longdir));
	CU_ASSERT_EQUAL(run(out, sizeof(out), "%s --rundir %s --foreground 2>&1",
			    pv_simtest_bin("pvio-simd"), longdir), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "is too long (100 bytes)"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "at most 88 bytes"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, longdir));
	CU_ASSERT_EQUAL(run(out, sizeof(out), "%s --platform sim:%s:0 block-list 1 2>&1",
			    pv_simtest_bin("pvio-ctl"), longdir), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "at most 88 bytes"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, longdir));
}

/* ---- item 6: daemons -------------------------------------------------------------------- */

/* Kills the daemon whose pid is the first line of file. */
static void kill_pidfile(const char *file)
{
	FILE *f = fopen(file, "r");
	int pid = 0;

	if (f && fscanf(f, "%d", &pid) == 1 && pid > 0)
		kill(pid, SIGTERM);
	if (f)
		fclose(f);
	for (int i = 0; i < 200 && pid > 0 && kill(pid, 0) == 0; i++)
		usleep(10000);
}

/*
 * Without --log-file, the detached pvio-backd's lines go to syslog, facility daemon, with
 * the level as priority.  To see them, it runs in a mount namespace of its own whose
 * /dev/log is our datagram socket (glibc's syslog() always writes to /dev/log).  Where
 * no such namespace can be made (not root, no unshare), this part is skipped, said so.
 */
static void backd_syslog(const char *dir, const char *lockf)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { 10, 0 };
	char buf[1024], out[4096];
	int fd, got = 0, rc;
	ssize_t n;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/devlog", T.rundir);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL_FATAL(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
#define NS_DEVLOG "unshare -m --propagation private sh -c 'mount -t tmpfs none /dev && " \
		  "mknod -m 666 /dev/null c 1 3 && touch /dev/log && mount --bind %s /dev/log"
	if (run(out, sizeof(out), NS_DEVLOG "' 2>&1", sa.sun_path) != 0) {
		fprintf(stderr, "\n  (syslog part skipped: no private mount namespace here: %s)\n",
			out);
		close(fd);
		return;
	}
	/* (into a file: a daemon that kept a pipe would hang us; the pipe is the test above) */
	rc = run(out, sizeof(out), "timeout 20 " NS_DEVLOG " && exec %s --platform sim:%s:0' "
		 ">%s/ns.out 2>&1; st=$?; cat %s/ns.out; exit $st", sa.sun_path,
		 pv_simtest_bin("pvio-backd"), dir, T.rundir, T.rundir);
	CU_ASSERT_EQUAL(rc, 0);
	if (rc)
		fprintf(stderr, "\n  pvio-backd said: %s\n", out);
	while (!got && (n = recv(fd, buf, sizeof(buf) - 1, 0)) > 0) {
		buf[n] = '\0';
		/* <30>: LOG_DAEMON (3 << 3) | LOG_INFO (6) */
		got = !strncmp(buf, "<30>", 4) && strstr(buf, "pvio-backd[") &&
		      strstr(buf, "main: info: serving");
	}
	CU_ASSERT(got);
	kill_pidfile(lockf);
	close(fd);
}

static void test_daemons_detach(void)
{
	char dir[128], out[8192], logf[200], pidf[200], lockf[200];

	snprintf(dir, sizeof(dir), "%s/second", T.rundir);
	snprintf(logf, sizeof(logf), "%s/backd.log", T.rundir);
	snprintf(pidf, sizeof(pidf), "%s/pvio-simd.pid", dir);
	snprintf(lockf, sizeof(lockf), "%s/pvio-backd.lock", dir);
	/*
	 * Detached, the daemons keep nothing of the pipe: the reader sees end of file once
	 * they serve (timeout's 124 if they kept it).
	 */
	CU_ASSERT_EQUAL(run(out, sizeof(out), "timeout 20 sh -c '%s --rundir %s 2>&1 | cat'",
			    pv_simtest_bin("pvio-simd"), dir), 0);
	CU_ASSERT_EQUAL(access(pidf, F_OK), 0);
	/* pvio-backd logs to syslog once detached, not to the pipe. */
	CU_ASSERT_EQUAL(run(out, sizeof(out), "timeout 20 sh -c '%s --platform sim:%s:0 2>&1 | cat'",
			    pv_simtest_bin("pvio-backd"), dir), 0);
	CU_ASSERT_EQUAL(access(lockf, F_OK), 0);
	kill_pidfile(lockf);
	/* Or to --log-file. */
	CU_ASSERT_EQUAL(run(out, sizeof(out), "timeout 20 sh -c '%s --platform sim:%s:0 "
			    "--log-file %s 2>&1 | cat'", pv_simtest_bin("pvio-backd"), dir, logf), 0);
	/* Its log went to the file, with the level. */
	CU_ASSERT_EQUAL(run(out, sizeof(out), "grep -c 'pvio-backd\\[[0-9]*\\]: main: info: serving' %s",
			    logf), 0);
	kill_pidfile(lockf);
	backd_syslog(dir, lockf);
	kill_pidfile(pidf);
}

/* Under systemd (Type=notify): READY=1 on $NOTIFY_SOCKET once the control socket answers. */
static void test_backd_sd_notify(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char buf[512], sock[600], spec[600];
	struct timeval tv = { 10, 0 };
	int fd, st, got = 0;
	pid_t pid;
	ssize_t n;

	/* The suite's daemon holds the lock: stop it for this test, restart after. */
	kill(backd, SIGTERM);
	waitpid(backd, &st, 0);
	backd = -1;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/notify", T.rundir);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL_FATAL(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	snprintf(sock, sizeof(sock), "%s/pvio-backd.sock", T.rundir);
	snprintf(spec, sizeof(spec), "sim:%s:0", T.rundir);
	pid = fork();
	if (pid == 0) {
		setenv("NOTIFY_SOCKET", sa.sun_path, 1);
		execl(pv_simtest_bin("pvio-backd"), "pvio-backd", "--platform", spec, "--foreground",
		      "--log-level", "warn", (char *)NULL);
		_exit(127);
	}
	while ((n = recv(fd, buf, sizeof(buf) - 1, 0)) > 0) {
		buf[n] = '\0';
		if (strstr(buf, "READY=1")) {
			got = 1;
			break;
		}
	}
	CU_ASSERT(got);
	/* Ready means serving: the control socket is there. */
	CU_ASSERT(got && access(sock, F_OK) == 0);
	kill(pid, SIGTERM);
	waitpid(pid, &st, 0);
	CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	close(fd);
	unlink(sa.sun_path);
	backd = pv_simtest_backd_start(&T, NULL);
	CU_ASSERT(backd > 0);
}

static CU_TestInfo admin_tests[] = {
	{ "block-stats names the XenBus state; --json keeps the number", test_stats_state_names },
	{ "an image written by one guest is refused to others (by inode) unless access=w!",
	  test_rw_exclusive },
	{ "domain-destroy removes its disks, pvio-backd closes them; leftovers listed, removed",
	  test_destroy_teardown },
	{ "block-detach under I/O: busy while the guest holds the disk, waits for it to let go, "
	  "--force at once", test_detach_busy },
	{ "messages name the cause: no pvio-simd, no Xen, qdisk, target first, long rundir",
	  test_messages },
	{ "detached pvio-simd and pvio-backd let go of stderr; --log-file", test_daemons_detach },
	{ "pvio-backd tells systemd READY=1 once it serves", test_backd_sd_notify },
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{ "admin", suite_init, suite_clean, NULL, NULL, admin_tests },
	CU_SUITE_INFO_NULL,
};

int main(void)
{
	return pv_test_main(suites);
}
