/* SPDX-License-Identifier: MIT */
/*
 * pvio-fuse's command line (issue 13, item 1): every usage error, with --platform given or
 * not, ends with a non-zero exit status and a message on stderr, never a signal.  Before
 * the fix, main() freed the --platform argument (a pointer into argv) on the error paths
 * taken before the spec was copied: SIGSEGV or SIGABRT from free().
 *
 * A real pvio-simd and pvio-backd with one disk attached to domain 1, so that the errors
 * met after connecting (a device that is not there, a mount point that cannot be mounted)
 * are covered as well.  No FUSE mount is made: none of these may get that far (a regular
 * file or a FIFO would do as a mount point for libfuse, so none is tried).
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

static struct pv_simtest T;
static pid_t backd = -1;

static int suite_init(void)
{
	if (pv_simtest_disk_guest(&T, "pvio-test-fuse", 16, &backd) < 0)
		return -1;
	return pv_simtest_sh("mkdir %s/mnt", T.rundir) == 0 ? 0 : -1;
}

static int suite_clean(void)
{
	int rc = pv_simtest_backd_stop(&backd);

	return pv_simtest_stop(&T) < 0 ? -1 : rc;
}

/*
 * Runs pvio-fuse with args (a shell word list; @R@ stands for the rundir) and checks that
 * it exited by itself with a status other than 0, and that its stderr has want and no
 * sanitizer report.
 */
static void expect_usage_error(const char *args, const char *want)
{
	char cmd[2048], errf[128], out[4096] = "";
	const char *at;
	size_t n = 0;
	pid_t pid;
	int st = 0, fd;

	/* Substitute @R@. */
	for (at = args; *at && n < sizeof(cmd) - 128; at++) {
		if (strncmp(at, "@R@", 3) == 0) {
			n += (size_t)snprintf(cmd + n, sizeof(cmd) - n, "%s", T.rundir);
			at += 2;
		} else {
			cmd[n++] = *at;
		}
	}
	cmd[n] = '\0';
	snprintf(errf, sizeof(errf), "%s/fuse.err", T.rundir);
	pid = fork();
	if (pid == 0) {
		char line[2300];

		snprintf(line, sizeof(line), "exec %s %s 2>%s </dev/null", pv_simtest_bin("pvio-fuse"), cmd,
			 errf);
		execl("/bin/sh", "sh", "-c", line, (char *)NULL);
		_exit(127);
	}
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_FATAL(waitpid(pid, &st, 0) == pid);
	fd = open(errf, O_RDONLY);
	if (fd >= 0) {
		ssize_t r = read(fd, out, sizeof(out) - 1);

		out[r > 0 ? r : 0] = '\0';
		close(fd);
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st) == 0 || !strstr(out, want))
		fprintf(stderr, "\n    pvio-fuse %s: %s %d, stderr:\n%s\n", cmd,
			WIFSIGNALED(st) ? "signal" : "status",
			WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st), out);
	CU_ASSERT(WIFEXITED(st));
	CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) != 0 && WEXITSTATUS(st) != 127);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, want));
	CU_ASSERT_PTR_NULL(strstr(out, "Sanitizer"));
}

static void test_missing_vdev(void)
{
	expect_usage_error("--platform sim:@R@:1 @R@/mnt", "--vdev is required");
	expect_usage_error("--platform=sim:@R@:1 -f @R@/mnt", "--vdev is required");
	expect_usage_error("--platform sim:@R@:1 @R@/no-such-dir", "--vdev is required");
	expect_usage_error("--platform sim:@R@:1", "--vdev is required");
}

static void test_bad_args(void)
{
	expect_usage_error("--platform sim:@R@:1 --vdev xvd1 @R@/mnt", "bad --vdev");
	expect_usage_error("--platform sim:@R@:1 --vdev xvdb --threads 0 @R@/mnt", "bad --threads");
	expect_usage_error("--platform sim:@R@:1 --vdev xvdb --threads=many @R@/mnt", "bad --threads");
}

static void test_mountpoint(void)
{
	expect_usage_error("--platform sim:@R@:1 --vdev xvdb", "MOUNTPOINT is missing");
	expect_usage_error("--platform sim:@R@:1 --vdev xvdb -f", "MOUNTPOINT is missing");
	expect_usage_error("--platform sim:@R@:1 --vdev xvdb @R@/no-such-dir", "bad mount point");
	/* Relative and without --platform (PVIO_PLATFORM): the same paths. */
	expect_usage_error("--vdev xvdb no-such-dir-here", "bad mount point");
}

/* Errors met after parsing: the spec is then ours to free, and the device may be open. */
static void test_after_parse(void)
{
	expect_usage_error("--platform sim:@R@/no-such-rundir:1 --vdev xvdb @R@/mnt", "pvio-fuse: sim:");
	/* Attached to no one: blkfront finds no device/vbd/<devid>. */
	expect_usage_error("--platform sim:@R@:1 --vdev xvdc @R@/mnt", "cannot connect");
	/*
	 * Connected, then libfuse refuses an option it did not know (fuse_new()).  Twice: the
	 * device was closed properly, so connecting again works and fails only there.
	 */
	expect_usage_error("--platform sim:@R@:1 --vdev xvdb -o no_such_option @R@/mnt", "no_such_option");
	expect_usage_error("--platform sim:@R@:1 --vdev xvdb --threads 4 -o no_such_option @R@/mnt",
			   "no_such_option");
}

int main(void)
{
	static CU_TestInfo usage[] = {
		{ "missing --vdev with --platform", test_missing_vdev },
		{ "bad --vdev, --threads", test_bad_args },
		{ "missing or bad mount point", test_mountpoint },
		{ "errors after parsing (no such rundir, device, mount)", test_after_parse },
		CU_TEST_INFO_NULL,
	};
	static CU_SuiteInfo suites[] = {
		{ "pvio-fuse usage errors", suite_init, suite_clean, NULL, NULL, usage },
		CU_SUITE_INFO_NULL,
	};

	return pv_test_main(suites);
}
