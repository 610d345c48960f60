/* SPDX-License-Identifier: MIT */
/*
 * pvio-fuse with queue depth (issue 13, item 8), on a real pvio-simd and pvio-backd:
 *
 *  - --threads 16 under fio (libaio, O_DIRECT, iodepth 32): random writes verified by
 *    fio's checksums through the mount and again straight from the back end's image, and
 *    pvio-fuse's --stats shows more than one request in flight at once;
 *  - 512 unaligned O_DIRECT writes submitted at once with Linux AIO (each a partial-sector
 *    read-modify-write in pvio-fuse), neighbours sharing sectors: no write undoes another;
 *  - without --threads pvio-fuse stays the single-threaded loop (one in flight).
 *
 * Needs /dev/fuse, fusermount3 and fio (with libaio): without them it says why and
 * exits 77.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/aio_abi.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pv_test.h"
#include "pv_simtest.h"

#define DISK_MB 64

static struct pv_simtest T;
static pid_t backd = -1, fuse_pid = -1;
static char mnt[128], errlog[128];

static int suite_init(void)
{
	if (pv_simtest_disk_guest(&T, "pvio-test-fuseqd", DISK_MB, &backd) < 0)
		return -1;
	snprintf(mnt, sizeof(mnt), "%s/mnt", T.rundir);
	snprintf(errlog, sizeof(errlog), "%s/fuse.log", T.rundir);
	return pv_simtest_sh("mkdir %s", mnt) == 0 ? 0 : -1;
}

static int fuse_down(void);

static int suite_clean(void)
{
	int rc;

	if (fuse_pid > 0)
		fuse_down();
	rc = pv_simtest_backd_stop(&backd);
	return pv_simtest_stop(&T) < 0 ? -1 : rc;
}

/* pvio-fuse as guest 1 in the foreground, --stats, threads (NULL: the default). */
static int fuse_up(const char *threads)
{
	char disk[160];

	unlink(errlog);
	fuse_pid = fork();
	if (fuse_pid == 0) {
		char spec[128];
		char *argv[] = { "pvio-fuse", "--platform", spec, "--vdev", "xvdb", "--stats", "-f", mnt,
				 NULL, NULL, NULL };
		int fd = open(errlog, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (threads) {
			argv[8] = "--threads";
			argv[9] = (char *)threads;
		}
		if (fd >= 0)
			dup2(fd, 2);
		snprintf(spec, sizeof(spec), "sim:%s:1", T.rundir);
		execv(pv_simtest_bin("pvio-fuse"), argv);
		_exit(127);
	}
	snprintf(disk, sizeof(disk), "%s/disk", mnt);
	return fuse_pid > 0 ? pv_simtest_wait_path(disk, 10000) : -1;
}

/* Unmounts, waits for pvio-fuse, and returns its "most in flight" (-1 on any failure). */
static int fuse_down(void)
{
	int st = 0, i;

	if (fuse_pid <= 0)
		return -1;
	pv_simtest_sh("fusermount3 -u %s", mnt);
	/*
	 * A process elsewhere on the machine that entered a new mount namespace while we were
	 * mounted keeps the FUSE connection alive after our unmount; SIGTERM then ends
	 * pvio-fuse just as cleanly (status 0).
	 */
	for (i = 0; i < 100 && waitpid(fuse_pid, &st, WNOHANG) == 0; i++)
		usleep(50000);
	if (i == 100) {
		kill(fuse_pid, SIGTERM);
		waitpid(fuse_pid, &st, 0);
	}
	fuse_pid = -1;
	return pv_simtest_peak_inflight(errlog, st, "pvio-fuse: threads");
}

#define FIO_JOB "fio --name=qd --rw=randwrite --bs=4k --direct=1 --ioengine=libaio " \
		"--iodepth=32 --size=%uM --randseed=1313 --verify=crc32c --verify_fatal=1 " \
		"--verify_state_save=0 --output=/dev/null"

static void test_threads_fio(void)
{
	int peak;

	CU_ASSERT_FATAL(fuse_up("16") == 0);
	/* Writes, then reads every block back and checks it, through the mount. */
	CU_ASSERT(pv_simtest_sh(FIO_JOB " --filename=%s/disk", DISK_MB / 2, mnt) == 0);
	peak = fuse_down();
	CU_ASSERT(peak > 1);
	/* The same blocks, read straight from the image the back end wrote. */
	CU_ASSERT(pv_simtest_sh(FIO_JOB " --verify_only --filename=%s/disk.img", DISK_MB / 2,
				T.rundir) == 0);
}

#define NREC    512u
#define REC     100u   /* bytes: never a whole sector, so each is a read-modify-write */
#define REC_OFF 7u

static void fill_rec(uint8_t *b, unsigned int j)
{
	unsigned int i;

	for (i = 0; i < REC; i++)
		b[i] = (uint8_t)(j * 7u + i + 1u);
}

static long io_setup_(unsigned int n, aio_context_t *ctx)
{
	return syscall(SYS_io_setup, n, ctx);
}

/*
 * All NREC records at once with Linux AIO on an O_DIRECT descriptor: the kernel takes the
 * inode lock only to queue each write, so they reach pvio-fuse's workers together (plain
 * pwrite()s from several processes would be serialized by that lock).  Record j and j + 1
 * share a sector.  Returns 0 when every write completed in full.
 */
static int write_recs_aio(const char *path)
{
	static uint8_t bufs[NREC][REC];
	static struct iocb cbs[NREC];
	static struct iocb *list[NREC];
	static struct io_event ev[NREC];
	aio_context_t ctx = 0;
	unsigned int j, done = 0, bad = 0;
	int fd = open(path, O_WRONLY | O_DIRECT);

	if (fd < 0 || io_setup_(NREC, &ctx) < 0)
		return -1;
	for (j = 0; j < NREC; j++) {
		fill_rec(bufs[j], j);
		memset(&cbs[j], 0, sizeof(cbs[j]));
		cbs[j].aio_fildes = (uint32_t)fd;
		cbs[j].aio_lio_opcode = IOCB_CMD_PWRITE;
		cbs[j].aio_buf = (uint64_t)(uintptr_t)bufs[j];
		cbs[j].aio_nbytes = REC;
		cbs[j].aio_offset = REC_OFF + (int64_t)j * REC;
		list[j] = &cbs[j];
	}
	for (j = 0; j < NREC;) {
		long n = syscall(SYS_io_submit, ctx, (long)(NREC - j), list + j);

		if (n <= 0)
			break;
		j += (unsigned int)n;
	}
	while (done < j) {
		long n = syscall(SYS_io_getevents, ctx, 1L, (long)NREC, ev, NULL);
		long i;

		if (n <= 0)
			break;
		for (i = 0; i < n; i++)
			bad += ev[i].res != REC;
		done += (unsigned int)n;
	}
	syscall(SYS_io_destroy, ctx);
	close(fd);
	return j == NREC && done == NREC && !bad ? 0 : -1;
}

/* Every record in path as written.  Returns the number that differ. */
static unsigned int check_recs(const char *path)
{
	uint8_t want[REC], got[REC];
	unsigned int j, bad = 0;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return NREC;
	for (j = 0; j < NREC; j++) {
		fill_rec(want, j);
		if (pread(fd, got, REC, REC_OFF + (off_t)j * REC) != REC || memcmp(got, want, REC) != 0)
			bad++;
	}
	close(fd);
	return bad;
}

static void test_unaligned_rmw(void)
{
	char disk[160], img[160];

	snprintf(disk, sizeof(disk), "%s/disk", mnt);
	snprintf(img, sizeof(img), "%s/disk.img", T.rundir);
	/* Not zeros: a lost write must show. */
	CU_ASSERT_FATAL(pv_simtest_sh("dd if=/dev/urandom of=%s bs=64k count=1 conv=notrunc 2>/dev/null",
				      img) == 0);
	CU_ASSERT_FATAL(fuse_up("16") == 0);
	CU_ASSERT(write_recs_aio(disk) == 0);
	CU_ASSERT_EQUAL(check_recs(disk), 0);
	/* (The lock makes these one at a time: how many were in flight says nothing here.) */
	CU_ASSERT(fuse_down() >= 1);
	CU_ASSERT_EQUAL(check_recs(img), 0);
}

static void test_default_single(void)
{
	CU_ASSERT_FATAL(fuse_up(NULL) == 0);
	CU_ASSERT(pv_simtest_sh(FIO_JOB " --filename=%s/disk", 8u, mnt) == 0);
	CU_ASSERT_EQUAL(fuse_down(), 1);
}

/*
 * Returns NULL when every tool this program needs is here, or which is not.  They are all
 * in scripts/deps.sh's test set, which `make check` installs: a missing one is a failure,
 * not a skip.
 */
static const char *missing(void)
{
	if (system("command -v fusermount3 >/dev/null 2>&1") != 0)
		return "fusermount3 is not installed (Debian: fuse3)";
	if (system("command -v fio >/dev/null 2>&1") != 0)
		return "fio is not installed (Debian: fio)";
	if (system("fio --enghelp=libaio >/dev/null 2>&1") != 0)
		return "fio has no libaio engine";
	return NULL;
}

int main(void)
{
	static CU_TestInfo tests[] = {
		{ "--threads 16: fio QD32 verified, requests in flight > 1", test_threads_fio },
		{ "--threads 16: concurrent unaligned AIO writes, none lost", test_unaligned_rmw },
		{ "default: single-threaded, one in flight", test_default_single },
		CU_TEST_INFO_NULL,
	};
	static CU_SuiteInfo suites[] = {
		{ "pvio-fuse queue depth", suite_init, suite_clean, NULL, NULL, tests },
		CU_SUITE_INFO_NULL,
	};
	const char *why;

	/* The machine's limit, not a package: a container without FUSE. */
	if (access("/dev/fuse", R_OK | W_OK) != 0) {
		printf("test-fuseqd: skipped: no usable /dev/fuse\n");
		return 77;
	}
	if ((why = missing())) {
		printf("test-fuseqd: FAILED: %s (scripts/deps.sh test installs it)\n", why);
		return 1;
	}
	return pv_test_main(suites);
}
