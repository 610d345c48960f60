/* SPDX-License-Identifier: MIT */
/*
 * The nbdkit plugin (issue 13, item 8): a sim guest's disk over NBD with queue depth, on a
 * real pvio-simd and pvio-backd.
 *
 *  - fio's nbd engine at iodepth 32: random writes verified by fio's checksums through
 *    NBD, again straight from the back end's image, and the plugin's stats=1 shows more
 *    than one request in flight at once;
 *  - a wrong vdev is refused when nbdkit starts (it connects before serving), with the
 *    reason, and an unaligned write fails without touching the sector.
 *
 * Needs nbdkit and fio with its nbd engine: without them it says why and exits 77.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pv_test.h"
#include "pv_simtest.h"

#define DISK_MB 64

static struct pv_simtest T;
static pid_t backd = -1, nbdkit = -1;
static char sock[128], errlog[128], plugin[256];

static int suite_init(void)
{
	if (pv_simtest_disk_guest(&T, "pvio-test-nbd", DISK_MB, &backd) < 0)
		return -1;
	snprintf(sock, sizeof(sock), "%s/nbd.sock", T.rundir);
	snprintf(errlog, sizeof(errlog), "%s/nbdkit.log", T.rundir);
	return 0;
}

static int nbd_down(void);

static int suite_clean(void)
{
	int rc;

	if (nbdkit > 0)
		nbd_down();
	rc = pv_simtest_backd_stop(&backd);
	return pv_simtest_stop(&T) < 0 ? -1 : rc;
}

/* nbdkit in the foreground on a unix socket, the plugin as guest 1's vdev. */
static int nbd_up(const char *vdev)
{
	unlink(errlog);
	unlink(sock);
	nbdkit = fork();
	if (nbdkit == 0) {
		char spec[160], vd[64];
		char *argv[] = { "nbdkit", "--foreground", "--exit-with-parent", "--unix", sock,
				 plugin, spec, vd, "stats=1", NULL };
		int fd = open(errlog, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (fd >= 0)
			dup2(fd, 2);
		snprintf(spec, sizeof(spec), "platform=sim:%s:1", T.rundir);
		snprintf(vd, sizeof(vd), "vdev=%s", vdev);
		execvp("nbdkit", argv);
		_exit(127);
	}
	return nbdkit > 0 ? pv_simtest_wait_path(sock, 10000) : -1;
}

/* Stops nbdkit (SIGTERM) and returns the plugin's "most in flight" (-1 on any failure). */
static int nbd_down(void)
{
	int st = 0;

	if (nbdkit <= 0)
		return -1;
	kill(nbdkit, SIGTERM);
	waitpid(nbdkit, &st, 0);
	nbdkit = -1;
	return pv_simtest_peak_inflight(errlog, st, "nbdkit-pvio-plugin:");
}

#define FIO_JOB "fio --name=qd --ioengine=nbd --uri='nbd+unix:///?socket=%s' --rw=randwrite " \
		"--bs=4k --iodepth=32 --size=%uM --randseed=1313 --verify=crc32c --verify_fatal=1 " \
		"--verify_state_save=0 --output=/dev/null"

static void test_fio_qd32(void)
{
	CU_ASSERT_FATAL(nbd_up("xvdb") == 0);
	CU_ASSERT(pv_simtest_sh(FIO_JOB, sock, DISK_MB / 2) == 0);
	CU_ASSERT(nbd_down() > 1);
	/* The same blocks, straight from the image the back end wrote. */
	CU_ASSERT(pv_simtest_sh("fio --name=qd --filename=%s/disk.img --rw=randwrite --bs=4k "
				"--size=%uM --randseed=1313 --verify=crc32c --verify_fatal=1 "
				"--verify_only --verify_state_save=0 --output=/dev/null", T.rundir, DISK_MB / 2) == 0);
}

static void test_refusals(void)
{
	char buf[4096] = "";
	int fd;
	ssize_t n;

	/* Not attached: nbdkit must not start serving. */
	unlink(errlog);
	/* timeout: a plugin that wrongly served would hang the test, not fail it. */
	CU_ASSERT(pv_simtest_sh("timeout 20 nbdkit --foreground --unix %s/bad.sock %s "
				"platform=sim:%s:1 vdev=xvdq 2>%s", T.rundir, plugin, T.rundir, errlog) != 0);
	fd = open(errlog, O_RDONLY);
	if (fd >= 0) {
		n = read(fd, buf, sizeof(buf) - 1);
		buf[n > 0 ? n : 0] = '\0';
		close(fd);
	}
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "cannot connect"));
	CU_ASSERT(pv_simtest_sh("timeout 20 nbdkit --foreground --unix %s/bad.sock %s "
				"platform=sim:%s:1 2>/dev/null", T.rundir, plugin, T.rundir) != 0);

	/*
	 * An unaligned write fails (libnbd holds clients to the minimum block size the plugin
	 * advertises; one that did not would get EINVAL from the plugin) and leaves the
	 * sector as it was: no read-modify-write behind the client's back.
	 */
	CU_ASSERT(pv_simtest_sh("dd if=/dev/urandom of=%s/disk.img bs=512 count=1 conv=notrunc "
				"2>/dev/null && cp %s/disk.img %s/before.img", T.rundir, T.rundir,
				T.rundir) == 0);
	CU_ASSERT_FATAL(nbd_up("xvdb") == 0);
	/* The same client line, aligned, works: what fails below is the alignment alone. */
	CU_ASSERT(pv_simtest_sh("fio --name=a --ioengine=nbd --uri='nbd+unix:///?socket=%s' "
				"--rw=write --bs=512 --size=512 --offset=4096 --output=/dev/null "
				"2>/dev/null", sock) == 0);
	CU_ASSERT(pv_simtest_sh("fio --name=u --ioengine=nbd --uri='nbd+unix:///?socket=%s' "
				"--rw=write --bs=100 --size=100 --offset=7 --output=/dev/null "
				"2>/dev/null", sock) != 0);
	CU_ASSERT(nbd_down() >= 0);
	CU_ASSERT(pv_simtest_sh("cmp -n 512 %s/disk.img %s/before.img", T.rundir, T.rundir) == 0);
	/* ... and the aligned write did land (so cmp above compares what the server kept). */
	CU_ASSERT(pv_simtest_sh("cmp -s -i 4096 -n 512 %s/disk.img %s/before.img", T.rundir,
				T.rundir) != 0);
}

static const char *missing(void)
{
	if (system("command -v nbdkit >/dev/null 2>&1") != 0)
		return "nbdkit is not installed (Debian: nbdkit)";
	if (system("command -v fio >/dev/null 2>&1") != 0)
		return "fio is not installed (Debian: fio)";
	if (system("fio --enghelp=nbd >/dev/null 2>&1") != 0)
		return "fio has no nbd engine";
	return NULL;
}

int main(void)
{
	static CU_TestInfo tests[] = {
		{ "fio nbd engine QD32 verified, requests in flight > 1", test_fio_qd32 },
		{ "wrong vdev refused at start, unaligned I/O refused", test_refusals },
		CU_TEST_INFO_NULL,
	};
	static CU_SuiteInfo suites[] = {
		{ "nbdkit-pvio-plugin", suite_init, suite_clean, NULL, NULL, tests },
		CU_SUITE_INFO_NULL,
	};
	const char *why;
	const char *build = getenv("PVIO_BUILD") ? getenv("PVIO_BUILD") : "build";
	char *abs;

	snprintf(plugin, sizeof(plugin), "%s/lib/nbdkit-pvio-plugin.so", build);
	abs = realpath(plugin, NULL);
	if (abs) {
		snprintf(plugin, sizeof(plugin), "%s", abs);
		free(abs);
	}
	/* A build choice, not a package: SANITIZE=1 does not build the plugin. */
	if (access(plugin, R_OK) != 0) {
		printf("test-nbd: skipped: the plugin was not built (SANITIZE=1 does not build it)\n");
		return 77;
	}
	/* In scripts/deps.sh's test set, which `make check` installs: missing is a failure. */
	if ((why = missing())) {
		printf("test-nbd: FAILED: %s (scripts/deps.sh test installs it)\n", why);
		return 1;
	}
	return pv_test_main(suites);
}
