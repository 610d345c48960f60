/* SPDX-License-Identifier: MIT */
/*
 * The block path end to end on the sim: pvio-simd, pvio-backd, `pvio-ctl block-attach`,
 * and blkfront in this process acting as domain 1.
 *
 * For every feature combination (1- and 16-page rings, persistent grants on and off,
 * indirect descriptors on and off, 1 and 4 queues, and the back end's map and copy
 * modes): attach, write a pattern at random offsets and sizes across queue depths, read
 * it back verified, flush, detach, re-attach, verify again.  A shadow copy of the disk
 * in memory is the reference, and the backing file itself is checked after each flush.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pv_test.h"
#include "pv_simtest.h"
#include "pv_platform.h"
#include "pv_blkfront.h"

#define DISK_BYTES (8u << 20)
#define VDEV       "xvdb"
#define DEVID      51728u

static struct pv_simtest T;
static char disk[sizeof(T.rundir) + 16];
static pid_t backd = -1;
static int copy_mode;
static uint8_t *shadow;
static uint64_t rng = 0x2545F4914F6CDD1Dull;

static uint64_t rnd(uint64_t bound)
{
	return pv_simtest_rand(&rng, bound);
}

static int ctl(const char *args)
{
	return pv_simtest_sh("%s --platform sim:%s:0 %s >&2", pv_simtest_bin("pvio-ctl"), T.rundir,
			     args);
}

/* Extra option of the next daemons (e.g. "--test-reorder=SEED"), or NULL. */
static const char *backd_extra;

static int start_backd(void)
{
	/* Four queues even on a 2-CPU machine: the test is about the protocol. */
	const char *extra[5] = { "--max-queues", "4" };
	unsigned int a = 2;

	if (copy_mode)
		extra[a++] = "--grant-copy";
	if (backd_extra)
		extra[a++] = backd_extra;
	backd = pv_simtest_backd_start(&T, extra);
	return backd > 0 ? 0 : -1;
}

static int suite_init_mode(int copy)
{
	int fd;

	copy_mode = copy;
	if (pv_simtest_start(&T, "pvio-test-blk", 1) < 0)
		return -1;
	snprintf(disk, sizeof(disk), "%s/disk.img", T.rundir);
	fd = open(disk, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || ftruncate(fd, DISK_BYTES) < 0)
		return -1;
	close(fd);
	shadow = calloc(1, DISK_BYTES);
	if (!shadow)
		return -1;
	return start_backd();
}

static int init_map(void)
{
	return suite_init_mode(0);
}

static int init_copy(void)
{
	return suite_init_mode(1);
}

static int suite_clean(void)
{
	/* pvio-backd exits 0 after a clean shutdown (under ASan: with no leak). */
	int ok = pv_simtest_backd_stop(&backd) == 0;

	if (pv_simtest_stop(&T) < 0)
		ok = 0;
	free(shadow);
	shadow = NULL;
	return ok ? 0 : -1;
}

/* ---- one attach / verify / detach cycle ----------------------------------------------- */

static int open_front(const struct pv_blkfront_opts *o, struct pv_platform **p,
		      struct pv_blkfront **bf)
{
	int rc = pv_simtest_open(&T, 1, p);

	if (rc < 0)
		return rc;
	rc = pv_blkfront_open(*p, DEVID, o, bf);
	if (rc < 0) {
		pv_platform_close(*p);
		*p = NULL;
	}
	return rc;
}

struct slot {
	struct pv_blkfront_io io;
	uint8_t *buf;
	int busy, status;
	int calls; /* completions seen: exactly one each */
};

static void io_done(struct pv_blkfront_io *io, int status)
{
	struct slot *s = io->opaque;

	s->status = status;
	s->busy = 0;
	s->calls++;
}

/*
 * Writes random extents (512 B .. 192 KiB, sector aligned) with qd in flight, updating
 * the shadow as each write completes.  Returns 0 or the first error.
 */
static int write_random(struct pv_blkfront *bf, unsigned int qd, unsigned int count)
{
	struct slot *slots = calloc(qd, sizeof(*slots));
	unsigned int issued = 0, done = 0, i;
	int rc = 0;

	if (!slots)
		return -ENOMEM;
	for (i = 0; i < qd; i++)
		if (!(slots[i].buf = malloc(192 << 10)))
			rc = -ENOMEM;
	while (!rc && done < count) {
		for (i = 0; i < qd && issued < count; i++) {
			struct slot *s = &slots[i];
			size_t len;
			uint64_t off;

			if (s->busy)
				continue;
			len = (1 + rnd(384)) * 512;
			off = rnd((DISK_BYTES - len) / 512 + 1) * 512;
			for (size_t b = 0; b < len; b++)
				s->buf[b] = (uint8_t)(rnd(256));
			s->io = (struct pv_blkfront_io){ .op = PV_BLKFRONT_WRITE, .offset = off, .len = len,
							 .buf = s->buf, .done = io_done, .opaque = s };
			/* Overlapping writes in flight would make the shadow order-dependent. */
			for (unsigned int j = 0; j < qd; j++)
				if (j != i && slots[j].busy && off < slots[j].io.offset + slots[j].io.len &&
				    slots[j].io.offset < off + len)
					goto skip;
			rc = pv_blkfront_submit(bf, &s->io);
			if (rc == -EAGAIN) {
				rc = 0;
				break;
			}
			if (rc < 0)
				break;
			s->busy = 1;
			memcpy(shadow + off, s->buf, len);
			issued++;
skip:;
		}
		if (rc)
			break;
		pv_blkfront_kick(bf);
		int n = pv_blkfront_poll(bf, 5000);

		if (n < 0) {
			rc = n;
			break;
		}
		if (n == 0) {
			rc = -ETIMEDOUT;
			break;
		}
		done += (unsigned int)n;
		for (i = 0; i < qd; i++)
			if (!slots[i].busy && slots[i].status) {
				rc = slots[i].status;
				break;
			}
	}
	while (rc && pv_blkfront_poll(bf, 100) > 0)
		;
	for (i = 0; i < qd; i++)
		free(slots[i].buf);
	free(slots);
	return rc;
}

/* Reads the whole disk in random-sized pieces and compares with the shadow. */
static int verify_all(struct pv_blkfront *bf)
{
	uint8_t *buf = malloc(1 << 20);
	uint64_t off = 0;
	int rc = 0;

	if (!buf)
		return -ENOMEM;
	while (off < DISK_BYTES && !rc) {
		size_t len = (1 + rnd(2048)) * 512;
		ssize_t n;

		if (len > DISK_BYTES - off)
			len = DISK_BYTES - off;
		n = pv_blkfront_pread(bf, buf, len, off);
		if (n != (ssize_t)len)
			rc = n < 0 ? (int)n : -EIO;
		else if (memcmp(buf, shadow + off, len))
			rc = -EILSEQ;
		off += len;
	}
	free(buf);
	return rc;
}

/* What the back end wrote to the file after a flush equals the shadow. */
static int verify_path(const char *path)
{
	uint8_t *buf = malloc(DISK_BYTES);
	int fd = open(path, O_RDONLY), rc = 0;

	if (!buf || fd < 0 || pread(fd, buf, DISK_BYTES, 0) != (ssize_t)DISK_BYTES)
		rc = -EIO;
	else if (memcmp(buf, shadow, DISK_BYTES))
		rc = -EILSEQ;
	if (fd >= 0)
		close(fd);
	free(buf);
	return rc;
}

static int verify_file(void)
{
	return verify_path(disk);
}

static void cycle(const char *what, const struct pv_blkfront_opts *o, int want_persistent,
		  int want_indirect, unsigned int want_queues, unsigned int want_pages)
{
	static const unsigned int qds[] = { 1, 8, 32 };
	struct pv_platform *p = NULL;
	struct pv_blkfront *bf = NULL;
	struct pv_blkfront_info info;
	char args[700];
	int rc, pass;

	snprintf(args, sizeof(args), "block-attach 1 format=raw,vdev=%s,access=rw,target=%s", VDEV,
		 disk);
	CU_ASSERT_EQUAL_FATAL(ctl(args), 0);
	for (pass = 0; pass < 2; pass++) {
		rc = open_front(o, &p, &bf);
		if (rc < 0)
			fprintf(stderr, "%s: pass %d: open: %s\n", what, pass, strerror(-rc));
		CU_ASSERT_EQUAL_FATAL(rc, 0);
		CU_ASSERT_EQUAL(pv_blkfront_info(bf, &info), 0);
		CU_ASSERT_EQUAL(info.sectors, DISK_BYTES / 512);
		CU_ASSERT_EQUAL(info.persistent, want_persistent);
		CU_ASSERT_EQUAL(info.indirect_segments != 0, want_indirect);
		CU_ASSERT_EQUAL(info.queues, want_queues);
		CU_ASSERT_EQUAL(info.ring_pages, want_pages);
		if (pass == 0) {
			for (unsigned int q = 0; q < 3; q++) {
				rc = write_random(bf, qds[q], 150);
				if (rc < 0)
					fprintf(stderr, "%s: write qd %u: %s\n", what, qds[q], strerror(-rc));
				CU_ASSERT_EQUAL(rc, 0);
			}
			CU_ASSERT_EQUAL(pv_blkfront_flush(bf), 0);
			CU_ASSERT_EQUAL(verify_file(), 0);
		}
		rc = verify_all(bf);
		if (rc < 0)
			fprintf(stderr, "%s: pass %d: verify: %s\n", what, pass, strerror(-rc));
		CU_ASSERT_EQUAL(rc, 0);
		pv_blkfront_close(bf);
		pv_platform_close(p);
		bf = NULL;
		p = NULL;
		/* Detach, and attach again for the second pass: the data must still be there. */
		snprintf(args, sizeof(args), "block-detach 1 %s", VDEV);
		CU_ASSERT_EQUAL_FATAL(ctl(args), 0);
		if (pass == 0) {
			snprintf(args, sizeof(args),
				 "block-attach 1 format=raw,vdev=%s,access=rw,target=%s", VDEV, disk);
			CU_ASSERT_EQUAL_FATAL(ctl(args), 0);
		}
	}
}

static void test_matrix(void)
{
	unsigned int order, pers, ind, queues;
	char what[128];

	for (order = 0; order <= 4; order += 4)
		for (pers = 0; pers < 2; pers++)
			for (ind = 0; ind < 2; ind++)
				for (queues = 1; queues <= 4; queues += 3) {
					struct pv_blkfront_opts o = {
						.max_queues = queues,
						.max_ring_page_order = order,
						.no_ring_order = order == 0,
						.no_persistent = !pers,
						.no_indirect = !ind,
					};

					snprintf(what, sizeof(what), "%s ring %u pages, persistent %u, "
						 "indirect %u, %u queues", copy_mode ? "copy" : "map",
						 1u << order, pers, ind, queues);
					cycle(what, &o, (int)pers, (int)ind, queues, 1u << order);
				}
}

/*
 * A guest with few grantable pages: Linux's gntalloc lets a domU's userspace grant 1024
 * pages in all, and pvio's blkfront hit that on real Xen (-ENOSPC at connect) with its
 * per-queue pools.  The sim guest here has 4 MiB = 1024 pages, less than 4 rings of 16
 * pages plus full pools: the front end must shrink its pools, connect and do verified I/O.
 */
static void few_grants(const char *mem_mb, unsigned int want_indirect)
{
	struct pv_blkfront_opts o = { .max_queues = 4, .max_ring_page_order = 4 };
	struct pv_platform *p = NULL;
	struct pv_blkfront *bf = NULL;
	struct pv_blkfront_info info;
	char args[700];
	int rc;

	snprintf(args, sizeof(args), "block-attach 1 format=raw,vdev=%s,access=rw,target=%s", VDEV,
		 disk);
	CU_ASSERT_EQUAL_FATAL(ctl(args), 0);
	setenv("PVIO_SIM_MEM_MB", mem_mb, 1);
	rc = open_front(&o, &p, &bf);
	unsetenv("PVIO_SIM_MEM_MB");
	if (rc < 0)
		fprintf(stderr, "few grants (%s MiB): open: %s\n", mem_mb, strerror(-rc));
	CU_ASSERT_EQUAL(rc, 0);
	if (rc == 0) {
		CU_ASSERT_EQUAL(pv_blkfront_info(bf, &info), 0);
		CU_ASSERT_EQUAL(info.queues, 4);
		CU_ASSERT_EQUAL(info.ring_pages, 16);
		CU_ASSERT_EQUAL(info.persistent, 1);
		if (info.indirect_segments != want_indirect)
			fprintf(stderr, "few grants (%s MiB): %u indirect segments, want %u\n", mem_mb,
				info.indirect_segments, want_indirect);
		CU_ASSERT_EQUAL(info.indirect_segments, want_indirect);
		CU_ASSERT_EQUAL(write_random(bf, 32, 300), 0);
		CU_ASSERT_EQUAL(pv_blkfront_flush(bf), 0);
		CU_ASSERT_EQUAL(verify_all(bf), 0);
		pv_blkfront_close(bf);
		pv_platform_close(p);
	}
	snprintf(args, sizeof(args), "block-detach 1 %s", VDEV);
	CU_ASSERT_EQUAL(ctl(args), 0);
}

static void test_few_grants(void)
{
	/*
	 * 1024 pages, 64 of them rings: four pools of 240, 128-segment requests (as in any
	 * guest: the device budget is 1024).  256 pages: pools of 240, 120 and 60 do not fit,
	 * four of 30 do, with 16-segment requests.
	 */
	few_grants("4", 128);
	few_grants("1", 16);
}

/* ---- standard tools through pvio-fuse ------------------------------------------------- */

static void test_fio_mkfs_e2fsck(void)
{
	char args[700], mnt[600], file[640];
	pid_t fuse;
	int st;

	snprintf(args, sizeof(args), "block-attach 1 format=raw,vdev=%s,access=rw,target=%s", VDEV,
		 disk);
	CU_ASSERT_EQUAL_FATAL(ctl(args), 0);
	snprintf(mnt, sizeof(mnt), "%s/mnt", T.rundir);
	snprintf(file, sizeof(file), "%s/disk", mnt);
	CU_ASSERT_EQUAL_FATAL(mkdir(mnt, 0755), 0);
	fuse = fork();
	if (fuse == 0) {
		char spec[600];

		snprintf(spec, sizeof(spec), "sim:%s:1", T.rundir);
		execl(pv_simtest_bin("pvio-fuse"), "pvio-fuse", "--platform", spec, "--vdev", VDEV, "-f", mnt,
		      (char *)NULL);
		_exit(127);
	}
	CU_ASSERT_EQUAL_FATAL(pv_simtest_wait_path(file, 5000), 0);
	/* fio writes and verifies with crc32c, two engines, several queue depths. */
	CU_ASSERT_EQUAL(pv_simtest_sh("fio --name=v --filename=%s --size=6M --bs=4k --rw=randwrite "
			   "--ioengine=psync --verify=crc32c --do_verify=1 --verify_fatal=1 --verify_state_save=0 "
			   "--output=/dev/null", file), 0);
	CU_ASSERT_EQUAL(pv_simtest_sh("fio --name=v --filename=%s --size=6M --bsrange=512-64k --rw=randrw "
			   "--ioengine=libaio --iodepth=16 --direct=0 --verify=crc32c --do_verify=1 "
			   "--verify_fatal=1 --verify_state_save=0 --output=/dev/null", file), 0);
	CU_ASSERT_EQUAL(pv_simtest_sh("mkfs.ext4 -q -F %s >&2", file), 0);
	CU_ASSERT_EQUAL(pv_simtest_sh("e2fsck -fn %s >/dev/null 2>&1", file), 0);
	CU_ASSERT_EQUAL(pv_simtest_sh("fusermount3 -u %s", mnt), 0);
	waitpid(fuse, &st, 0);
	CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	/* The filesystem is in the backing file itself. */
	CU_ASSERT_EQUAL(pv_simtest_sh("e2fsck -fn %s >/dev/null 2>&1", disk), 0);
	snprintf(args, sizeof(args), "block-detach 1 %s", VDEV);
	CU_ASSERT_EQUAL(ctl(args), 0);
	rmdir(mnt);
	/* The shadow no longer describes the disk: zero both for later tests. */
	memset(shadow, 0, DISK_BYTES);
	CU_ASSERT_EQUAL(pv_simtest_sh("truncate -s 0 %s && truncate -s %u %s", disk, DISK_BYTES, disk), 0);
}

/* ---- detach with I/O in flight ---------------------------------------------------------- */

static void test_detach_inflight(void)
{
	struct pv_platform *p = NULL;
	struct pv_blkfront *bf = NULL;
	struct pv_blkfront_opts o = { .timeout_ms = 10000 };
	struct slot slots[64];
	char args[700];
	unsigned int i, submitted = 0, completed = 0;
	int n, rc;

	snprintf(args, sizeof(args), "block-attach 1 format=raw,vdev=%s,access=rw,target=%s", VDEV,
		 disk);
	CU_ASSERT_EQUAL_FATAL(ctl(args), 0);
	CU_ASSERT_EQUAL_FATAL(open_front(&o, &p, &bf), 0);
	memset(slots, 0, sizeof(slots));
	for (i = 0; i < 64; i++) {
		slots[i].buf = malloc(64 << 10);
		memset(slots[i].buf, (int)i, 64 << 10);
		slots[i].io = (struct pv_blkfront_io){ .op = PV_BLKFRONT_WRITE,
						       .offset = (uint64_t)i * (64 << 10),
						       .len = 64 << 10, .buf = slots[i].buf,
						       .done = io_done, .opaque = &slots[i] };
		rc = pv_blkfront_submit(bf, &slots[i].io);
		if (rc == 0) {
			slots[i].busy = 1;
			submitted++;
		}
	}
	pv_blkfront_kick(bf);
	/* The toolstack detaches while those are in flight (--force: do not wait). */
	snprintf(args, sizeof(args), "block-detach 1 %s --force", VDEV);
	CU_ASSERT_EQUAL(ctl(args), 0);
	/* Every request completes, successfully or not; none is lost. */
	for (int tries = 0; tries < 100 && completed < submitted; tries++) {
		n = pv_blkfront_poll(bf, 100);
		if (n > 0)
			completed += (unsigned int)n;
		else if (n < 0)
			break;
	}
	pv_blkfront_close(bf);
	pv_platform_close(p);
	/* By the time close() returns, every done() has run. */
	CU_ASSERT(submitted > 0);
	for (i = 0; i < 64; i++) {
		CU_ASSERT_EQUAL(slots[i].busy, 0);
		free(slots[i].buf);
	}
	/* The back end is still healthy: attach and use the disk again. */
	snprintf(args, sizeof(args), "block-attach 1 format=raw,vdev=%s,access=rw,target=%s", VDEV,
		 disk);
	CU_ASSERT_EQUAL_FATAL(ctl(args), 0);
	CU_ASSERT_EQUAL_FATAL(open_front(&o, &p, &bf), 0);
	CU_ASSERT_EQUAL(pv_blkfront_flush(bf), 0);
	pv_blkfront_close(bf);
	pv_platform_close(p);
	snprintf(args, sizeof(args), "block-detach 1 %s", VDEV);
	CU_ASSERT_EQUAL(ctl(args), 0);
}

/* ---- the back end killed under write load ----------------------------------------------- */

/*
 * Writes acknowledged and flushed before pvio-backd is killed with SIGKILL are in the
 * backing file; a restarted daemon takes the device back and the guest goes on using it.
 * The writes in flight at the kill go to the second half of the disk, so the first half
 * must equal the shadow exactly.
 */
static void test_backend_killed(void)
{
	struct pv_platform *p = NULL;
	struct pv_blkfront *bf = NULL;
	struct pv_blkfront_opts o = { .timeout_ms = 10000 };
	struct slot slots[32];
	int submitted[32] = { 0 };
	char args[700];
	uint8_t *buf;
	unsigned int i, nsub = 0;
	int st, fd, n;

	/*
	 * A daemon that answers out of order (held back, shuffled: a test-only switch), so
	 * that the kill finds some requests answered and others not, in no particular order.
	 */
	kill(backd, SIGTERM);
	waitpid(backd, &st, 0);
	backd_extra = "--test-reorder=77";
	CU_ASSERT_EQUAL_FATAL(start_backd(), 0);
	snprintf(args, sizeof(args), "block-attach 1 format=raw,vdev=%s,access=rw,target=%s", VDEV,
		 disk);
	CU_ASSERT_EQUAL_FATAL(ctl(args), 0);
	CU_ASSERT_EQUAL_FATAL(open_front(&o, &p, &bf), 0);
	/* Acknowledged and flushed: the first half of the disk. */
	buf = malloc(DISK_BYTES / 2);
	CU_ASSERT_FATAL(buf != NULL);
	for (i = 0; i < DISK_BYTES / 2; i++)
		buf[i] = (uint8_t)rnd(256);
	CU_ASSERT_EQUAL(pv_blkfront_pwrite(bf, buf, DISK_BYTES / 2, 0), (ssize_t)(DISK_BYTES / 2));
	CU_ASSERT_EQUAL(pv_blkfront_flush(bf), 0);
	memcpy(shadow, buf, DISK_BYTES / 2);
	/* In flight when the back end dies: the second half. */
	memset(slots, 0, sizeof(slots));
	for (i = 0; i < 32; i++) {
		slots[i].buf = malloc(64 << 10);
		memset(slots[i].buf, 0x5A, 64 << 10);
		slots[i].io = (struct pv_blkfront_io){ .op = PV_BLKFRONT_WRITE,
						       .offset = DISK_BYTES / 2 + (uint64_t)i * (64 << 10),
						       .len = 64 << 10, .buf = slots[i].buf,
						       .done = io_done, .opaque = &slots[i] };
		if (pv_blkfront_submit(bf, &slots[i].io) == 0)
			slots[i].busy = submitted[i] = 1;
		nsub += submitted[i];
	}
	CU_ASSERT(nsub >= 8);
	pv_blkfront_kick(bf);
	/* Killed once the first answers are in: the rest are taken, held or on their way. */
	for (int tries = 0; tries < 200; tries++) {
		unsigned int done = 0;

		for (i = 0; i < 32; i++)
			done += submitted[i] && !slots[i].busy;
		if (done >= 2)
			break;
		pv_blkfront_poll(bf, 5);
	}
	kill(backd, SIGKILL);
	waitpid(backd, &st, 0);
	backd = -1;
	fd = open(disk, O_RDONLY);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(pread(fd, buf, DISK_BYTES / 2, 0), (ssize_t)(DISK_BYTES / 2));
	close(fd);
	CU_ASSERT_EQUAL(memcmp(buf, shadow, DISK_BYTES / 2), 0);
	free(buf);

	/* A new daemon takes the device back; every request in flight gets an answer. */
	CU_ASSERT_EQUAL_FATAL(start_backd(), 0);
	for (int tries = 0; tries < 100; tries++) {
		int busy = 0;

		for (i = 0; i < 32; i++)
			busy += slots[i].busy;
		if (!busy)
			break;
		n = pv_blkfront_poll(bf, 100);
		if (n < 0)
			break;
	}
	/*
	 * The daemon's restart journal makes this exact: every write in flight is answered,
	 * once, with success, and its data is on disk (the backing file, read behind the
	 * daemon's back, and through a new attachment below).
	 */
	pv_blkfront_poll(bf, 200); /* a duplicate answer would arrive now */
	for (i = 0; i < 32; i++) {
		if (!submitted[i])
			continue; /* the ring was full: never sent */
		CU_ASSERT_EQUAL(slots[i].busy, 0);
		CU_ASSERT_EQUAL(slots[i].calls, 1);
		CU_ASSERT_EQUAL(slots[i].status, 0);
		memset(shadow + DISK_BYTES / 2 + (size_t)i * (64 << 10), 0x5A, 64 << 10);
	}
	buf = malloc(DISK_BYTES);
	fd = open(disk, O_RDONLY);
	CU_ASSERT_FATAL(buf != NULL && fd >= 0);
	CU_ASSERT_EQUAL(pread(fd, buf, DISK_BYTES, 0), (ssize_t)DISK_BYTES);
	CU_ASSERT_EQUAL(memcmp(buf, shadow, DISK_BYTES), 0);
	close(fd);
	free(buf);
	/* The guest can close and use the disk again. */
	pv_blkfront_close(bf);
	pv_platform_close(p);
	snprintf(args, sizeof(args), "block-detach 1 %s", VDEV);
	CU_ASSERT_EQUAL(ctl(args), 0);
	snprintf(args, sizeof(args), "block-attach 1 format=raw,vdev=%s,access=rw,target=%s", VDEV,
		 disk);
	CU_ASSERT_EQUAL_FATAL(ctl(args), 0);
	CU_ASSERT_EQUAL_FATAL(open_front(&o, &p, &bf), 0);
	buf = malloc(DISK_BYTES / 2);
	CU_ASSERT_EQUAL(pv_blkfront_pread(bf, buf, DISK_BYTES / 2, 0), (ssize_t)(DISK_BYTES / 2));
	CU_ASSERT_EQUAL(memcmp(buf, shadow, DISK_BYTES / 2), 0);
	free(buf);
	pv_blkfront_close(bf);
	pv_platform_close(p);
	snprintf(args, sizeof(args), "block-detach 1 %s", VDEV);
	CU_ASSERT_EQUAL(ctl(args), 0);
	for (i = 0; i < 32; i++)
		free(slots[i].buf);
	backd_extra = NULL;
}

/* ---- online resize ------------------------------------------------------------------------ */

/* The backing file grows while the guest is connected: the guest sees the new size and uses it. */
static void test_online_resize(void)
{
	struct pv_platform *p = NULL;
	struct pv_blkfront *bf = NULL;
	struct pv_blkfront_opts o = { .timeout_ms = 10000 };
	struct pv_blkfront_info info = { 0 };
	char args[700], buf[4096], back[4096];
	int tries;

	snprintf(args, sizeof(args), "block-attach 1 format=raw,vdev=%s,access=rw,target=%s", VDEV,
		 disk);
	CU_ASSERT_EQUAL_FATAL(ctl(args), 0);
	CU_ASSERT_EQUAL_FATAL(open_front(&o, &p, &bf), 0);
	CU_ASSERT_EQUAL(pv_blkfront_info(bf, &info), 0);
	CU_ASSERT_EQUAL(info.sectors, DISK_BYTES / 512);
	/* Past the old end: refused. */
	CU_ASSERT(pv_blkfront_pread(bf, buf, sizeof(buf), DISK_BYTES) < 0);
	CU_ASSERT_EQUAL_FATAL(truncate(disk, 2 * DISK_BYTES), 0);
	/* The back end notices within about a second and rewrites "sectors"; the guest's
	 * watch picks it up when it next looks. */
	for (tries = 0; tries < 50; tries++) {
		/* Nothing is in flight, so poll returns at once: sleep between looks. */
		usleep(100000);
		CU_ASSERT(pv_blkfront_poll(bf, 0) >= 0);
		if (pv_blkfront_info(bf, &info) == 0 && info.sectors == 2 * DISK_BYTES / 512)
			break;
	}
	CU_ASSERT_EQUAL(info.sectors, 2 * DISK_BYTES / 512);
	memset(buf, 0x77, sizeof(buf));
	CU_ASSERT_EQUAL(pv_blkfront_pwrite(bf, buf, sizeof(buf), 2 * DISK_BYTES - sizeof(buf)),
			(ssize_t)sizeof(buf));
	CU_ASSERT_EQUAL(pv_blkfront_pread(bf, back, sizeof(back), 2 * DISK_BYTES - sizeof(back)),
			(ssize_t)sizeof(back));
	CU_ASSERT_EQUAL(memcmp(buf, back, sizeof(buf)), 0);
	pv_blkfront_close(bf);
	pv_platform_close(p);
	snprintf(args, sizeof(args), "block-detach 1 %s", VDEV);
	CU_ASSERT_EQUAL(ctl(args), 0);
	CU_ASSERT_EQUAL(truncate(disk, DISK_BYTES), 0);
}


/* ---- O_DIRECT: --cache and direct-io-safe ------------------------------------------------ */

/* The suite's own files: a disk on the rundir's file system, a ramfs mount, a loop device. */
static char ddisk[sizeof(T.rundir) + 16], ram[sizeof(T.rundir) + 16], loopdev[64];

static int init_direct(void)
{
	if (pv_simtest_start(&T, "pvio-test-blkdio", 1) < 0)
		return -1;
	snprintf(ddisk, sizeof(ddisk), "%s/direct.img", T.rundir);
	if (pv_simtest_sh("truncate -s %u %s", DISK_BYTES, ddisk) != 0)
		return -1;
	shadow = calloc(1, DISK_BYTES);
	if (!shadow)
		return -1;
	backd = pv_simtest_backd_start(&T, NULL);
	return backd > 0 ? 0 : -1;
}

static int clean_direct(void)
{
	if (loopdev[0])
		pv_simtest_sh("losetup -d %s", loopdev);
	loopdev[0] = 0;
	if (ram[0])
		umount2(ram, MNT_DETACH);
	ram[0] = 0;
	return suite_clean();
}

/* pvio-backd restarted with --cache mode ("auto": no option). */
static int restart_backd(const char *mode)
{
	static char opt[32];
	const char *extra[3] = { NULL };

	if (pv_simtest_backd_stop(&backd) < 0)
		return -1;
	if (strcmp(mode, "auto")) {
		snprintf(opt, sizeof(opt), "--cache=%s", mode);
		extra[0] = opt;
	}
	backd = pv_simtest_backd_start(&T, extra);
	return backd > 0 ? 0 : -1;
}

/* One line of a pvio-ctl command's stdout into buf; 0 or -1. */
static int ctl_out(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int ctl_out(char *buf, size_t len, const char *fmt, ...)
{
	char args[700], cmd[1400];
	va_list ap;
	FILE *f;
	size_t n;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof(cmd), "%s --platform sim:%s:0 %s", pv_simtest_bin("pvio-ctl"),
		 T.rundir, args);
	f = popen(cmd, "r");
	if (!f)
		return -1;
	n = fread(buf, 1, len - 1, f);
	buf[n] = 0;
	return pclose(f) == 0 && n > 0 ? 0 : -1;
}

/* A number from pvio-backd's JSON for vbd xvdb of domain 1; -1 when absent. */
static long long stat_of(const char *key)
{
	char js[8192], pat[64];
	const char *p;

	if (ctl_out(js, sizeof(js), "block-stats 1 %s --json", VDEV) < 0)
		return -1;
	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = strstr(js, pat);
	return p ? strtoll(p + strlen(pat), NULL, 10) : -1;
}

/* pvio-backd's descriptors of path: how many are open with O_DIRECT, how many without. */
static void backd_fds(const char *path, int *direct, int *buffered)
{
	char dir[64], link[400], target[PATH_MAX], info[400], line[128];
	struct dirent *e;
	DIR *dp;

	*direct = *buffered = 0;
	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)backd);
	dp = opendir(dir);
	if (!dp)
		return;
	while ((e = readdir(dp)) != NULL) {
		ssize_t n;
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(link, sizeof(link), "%s/%s", dir, e->d_name);
		n = readlink(link, target, sizeof(target) - 1);
		if (n < 0)
			continue;
		target[n] = 0;
		if (strcmp(target, path))
			continue;
		snprintf(info, sizeof(info), "/proc/%d/fdinfo/%s", (int)backd, e->d_name);
		f = fopen(info, "r");
		while (f && fgets(line, sizeof(line), f)) {
			unsigned long flags;

			if (sscanf(line, "flags: %lo", &flags) == 1) {
				if (flags & O_DIRECT)
					(*direct)++;
				else
					(*buffered)++;
			}
		}
		if (f)
			fclose(f);
	}
	closedir(dp);
}

/* Pages of path's first len bytes in the page cache (mincore). */
static long cached_pages(const char *path, size_t len)
{
	long pg = sysconf(_SC_PAGESIZE), n = 0;
	unsigned char *vec = malloc(len / (size_t)pg + 1);
	int fd = open(path, O_RDONLY);
	void *m = fd >= 0 ? mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0) : MAP_FAILED;

	if (m == MAP_FAILED || !vec || mincore(m, len, vec) < 0) {
		n = -1;
	} else {
		for (size_t i = 0; i < len / (size_t)pg; i++)
			n += vec[i] & 1;
	}
	if (m != MAP_FAILED)
		munmap(m, len);
	if (fd >= 0)
		close(fd);
	free(vec);
	return n;
}

/* Written back and dropped: the page cache holds none of path. */
static void drop_cache(const char *path)
{
	int fd = open(path, O_RDWR);

	if (fd >= 0) {
		fdatasync(fd);
		posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
		close(fd);
	}
}

/* Can this process open path with O_DIRECT at all?  (The file system decides.) */
static int fs_has_direct(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECT);

	if (fd < 0)
		return 0;
	close(fd);
	return 1;
}

static void attach_target(const char *target, int safe)
{
	char args[700];

	snprintf(args, sizeof(args), "block-attach 1 format=raw,vdev=%s,access=rw,%starget=%s",
		 VDEV, safe ? "direct-io-safe," : "", target);
	CU_ASSERT_EQUAL_FATAL(ctl(args), 0);
}

static void detach_vdev(void)
{
	char args[64];

	snprintf(args, sizeof(args), "block-detach 1 %s", VDEV);
	CU_ASSERT_EQUAL(ctl(args), 0);
}

/* Random writes at qd 1, 8, 32, flush, and everything read back through the guest. */
static void guest_io(const char *what)
{
	struct pv_blkfront_opts o = { .timeout_ms = 10000 };
	struct pv_platform *p = NULL;
	struct pv_blkfront *bf = NULL;
	static const unsigned int qds[] = { 1, 8, 32 };
	int rc;

	CU_ASSERT_EQUAL_FATAL(open_front(&o, &p, &bf), 0);
	for (unsigned int q = 0; q < 3; q++) {
		rc = write_random(bf, qds[q], 100);
		if (rc < 0)
			fprintf(stderr, "%s: write qd %u: %s\n", what, qds[q], strerror(-rc));
		CU_ASSERT_EQUAL(rc, 0);
	}
	CU_ASSERT_EQUAL(pv_blkfront_flush(bf), 0);
	rc = verify_all(bf);
	if (rc < 0)
		fprintf(stderr, "%s: verify: %s\n", what, strerror(-rc));
	CU_ASSERT_EQUAL(rc, 0);
	pv_blkfront_close(bf);
	pv_platform_close(p);
}

/*
 * direct-io-safe on a file system with O_DIRECT: pvio-backd holds the file open with
 * O_DIRECT (its fdinfo says so), the guest's data goes around dom0's page cache (aligned
 * writes and reads leave none of the file cached, where a page-cache disk leaves it all),
 * reads back right, and a flush puts it in the file.
 */
static void test_direct_file(void)
{
	struct pv_blkfront_opts o = { .timeout_ms = 10000 };
	struct pv_platform *p = NULL;
	struct pv_blkfront *bf = NULL;
	char js[8192];
	uint8_t *buf;
	int nd, nb, safe;
	long cached[2];

	if (!fs_has_direct(ddisk)) {
		fprintf(stderr, "SKIP: %s: this file system refuses O_DIRECT\n", ddisk);
		return;
	}
	buf = malloc(1 << 20);
	CU_ASSERT_FATAL(buf != NULL);
	/* Page cache (no direct-io-safe) first, then direct: the same aligned 1 MiB each. */
	for (safe = 0; safe < 2; safe++) {
		memset(shadow, 0, DISK_BYTES);
		CU_ASSERT_EQUAL(truncate(ddisk, 0), 0);
		CU_ASSERT_EQUAL(truncate(ddisk, DISK_BYTES), 0);
		drop_cache(ddisk);
		attach_target(ddisk, safe);
		backd_fds(ddisk, &nd, &nb);
		CU_ASSERT_EQUAL(nd, safe);
		CU_ASSERT_EQUAL(nb, 1); /* the page-cache descriptor stays: unaligned requests */
		CU_ASSERT_EQUAL(stat_of("direct"), safe);
		CU_ASSERT_EQUAL(stat_of("direct_io_safe"), safe);
		CU_ASSERT_EQUAL_FATAL(open_front(&o, &p, &bf), 0);
		for (size_t i = 0; i < 1 << 20; i++)
			buf[i] = (uint8_t)rnd(256);
		CU_ASSERT_EQUAL(pv_blkfront_pwrite(bf, buf, 1 << 20, 0), 1 << 20);
		CU_ASSERT_EQUAL(pv_blkfront_flush(bf), 0);
		CU_ASSERT_EQUAL(pv_blkfront_pread(bf, buf, 1 << 20, 0), 1 << 20);
		memcpy(shadow, buf, 1 << 20);
		cached[safe] = cached_pages(ddisk, 1 << 20);
		pv_blkfront_close(bf);
		pv_platform_close(p);
		CU_ASSERT_EQUAL(verify_path(ddisk), 0);
		if (safe) {
			/* Unaligned and aligned, at depth: read back right, flushed to the file. */
			guest_io("direct file");
			CU_ASSERT_EQUAL(verify_path(ddisk), 0);
			CU_ASSERT_EQUAL_FATAL(ctl_out(js, sizeof(js), "block-list 1 --json"), 0);
			CU_ASSERT_PTR_NOT_NULL(strstr(js, "\"direct_io_safe\":true,\"direct\":1"));
		}
		detach_vdev();
	}
	fprintf(stderr, "direct file: page cache after 1 MiB written and read: %ld pages "
		"(page cache disk), %ld pages (O_DIRECT)\n", cached[0], cached[1]);
	CU_ASSERT(cached[0] >= 128); /* the control: a page-cache disk keeps what it wrote */
	CU_ASSERT_EQUAL(cached[1], 0);
	free(buf);
}

/* --cache: writeback ignores direct-io-safe, none does without it, auto follows it. */
static void test_cache_modes(void)
{
	static const struct { const char *mode; int safe, direct; } cases[] = {
		{ "writeback", 1, 0 }, { "writeback", 0, 0 }, { "none", 0, 1 },
		{ "none", 1, 1 }, { "auto", 0, 0 }, { "auto", 1, 1 },
	};
	int nd, nb;

	if (!fs_has_direct(ddisk)) {
		fprintf(stderr, "SKIP: %s: this file system refuses O_DIRECT\n", ddisk);
		return;
	}
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (i == 0 || strcmp(cases[i].mode, cases[i - 1].mode))
			CU_ASSERT_EQUAL_FATAL(restart_backd(cases[i].mode), 0);
		attach_target(ddisk, cases[i].safe);
		backd_fds(ddisk, &nd, &nb);
		if (nd != cases[i].direct || stat_of("direct") != cases[i].direct)
			fprintf(stderr, "--cache %s, direct-io-safe %d: %d O_DIRECT fds, want %d\n",
				cases[i].mode, cases[i].safe, nd, cases[i].direct);
		CU_ASSERT_EQUAL(nd, cases[i].direct);
		CU_ASSERT_EQUAL(stat_of("direct"), cases[i].direct);
		detach_vdev();
	}
}

/*
 * A file system without O_DIRECT (ramfs; tmpfs has it since Linux 6.6): the disk is
 * served through the page cache, says "direct":0, and works.
 */
static void test_direct_refused(void)
{
	char img[sizeof(ram) + 16], js[8192];
	int nd, nb, rc;

	snprintf(ram, sizeof(ram), "%s/ram", T.rundir);
	CU_ASSERT_EQUAL_FATAL(mkdir(ram, 0755), 0);
	if (mount("pvio-test", ram, "ramfs", 0, NULL) < 0) {
		fprintf(stderr, "SKIP: mount ramfs: %s (needs root)\n", strerror(errno));
		ram[0] = 0;
		return;
	}
	snprintf(img, sizeof(img), "%s/disk.img", ram);
	CU_ASSERT_EQUAL_FATAL(pv_simtest_sh("truncate -s %u %s", DISK_BYTES, img), 0);
	CU_ASSERT_EQUAL(fs_has_direct(img), 0); /* what the test is about */
	memset(shadow, 0, DISK_BYTES);
	attach_target(img, 1);
	backd_fds(img, &nd, &nb);
	CU_ASSERT_EQUAL(nd, 0);
	CU_ASSERT_EQUAL(nb, 1);
	CU_ASSERT_EQUAL(stat_of("direct"), 0);
	CU_ASSERT_EQUAL(stat_of("direct_io_safe"), 1);
	CU_ASSERT_EQUAL_FATAL(ctl_out(js, sizeof(js), "block-list 1 --json"), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(js, "\"direct_io_safe\":true,\"direct\":0"));
	guest_io("ramfs");
	CU_ASSERT_EQUAL(verify_path(img), 0);
	detach_vdev();
	/*
	 * The kernel drops a closed io_uring's file references from a work queue, after the
	 * close: the mount can stay busy for a moment after pvio-backd let go of the disk.
	 */
	for (int i = 0; (rc = umount2(ram, 0) < 0 ? errno : 0) == EBUSY && i < 200; i++)
		usleep(10000);
	CU_ASSERT_EQUAL(rc, 0);
	if (rc)
		umount2(ram, MNT_DETACH); /* not left mounted for the next run */
	ram[0] = 0;
}

/*
 * A block device of 4 KiB logical sectors (a loop device): blkfront still sees sector-size
 * 512 (a guest's partition table reads the same in every cache mode) and
 * physical-sector-size 4096; requests with 512-byte segments go through the page cache,
 * aligned ones direct, and all read back right.
 */
static void test_direct_4k_blockdev(void)
{
	char img[sizeof(T.rundir) + 16], path[256], *v = NULL;
	struct pv_platform *p0 = NULL;
	long long before;
	int nd, nb;

	snprintf(img, sizeof(img), "%s/loop.img", T.rundir);
	CU_ASSERT_EQUAL_FATAL(pv_simtest_sh("truncate -s %u %s", DISK_BYTES, img), 0);
	{
		char cmd[400];
		FILE *f;

		snprintf(cmd, sizeof(cmd), "losetup --sector-size 4096 --direct-io=off -f --show %s "
			 "2>&1", img);
		f = popen(cmd, "r");
		if (!f || !fgets(loopdev, sizeof(loopdev), f) || strncmp(loopdev, "/dev/loop", 9)) {
			fprintf(stderr, "SKIP: losetup --sector-size 4096: %s", f ? loopdev : "popen\n");
			loopdev[0] = 0;
			if (f)
				pclose(f);
			return;
		}
		pclose(f);
		loopdev[strcspn(loopdev, "\n")] = 0;
	}
	memset(shadow, 0, DISK_BYTES);
	attach_target(loopdev, 1);
	backd_fds(loopdev, &nd, &nb);
	CU_ASSERT_EQUAL(nd, 1);
	CU_ASSERT_EQUAL(stat_of("direct"), 1);
	CU_ASSERT_EQUAL(stat_of("dio_align"), 4096);
	CU_ASSERT_EQUAL_FATAL(pv_simtest_open(&T, 0, &p0), 0);
	snprintf(path, sizeof(path), "/local/domain/0/backend/vbd/1/%u/sector-size", DEVID);
	CU_ASSERT_EQUAL(pv_xs_read(p0, 0, path, &v, NULL), 0);
	CU_ASSERT(v && !strcmp(v, "512"));
	free(v);
	v = NULL;
	snprintf(path, sizeof(path), "/local/domain/0/backend/vbd/1/%u/physical-sector-size", DEVID);
	CU_ASSERT_EQUAL(pv_xs_read(p0, 0, path, &v, NULL), 0);
	CU_ASSERT(v && !strcmp(v, "4096"));
	free(v);
	pv_platform_close(p0);
	before = stat_of("buffered_fallbacks");
	guest_io("4k-sector loop device");
	/* write_random's extents are 512-byte multiples at 512-byte offsets: most unaligned */
	CU_ASSERT(stat_of("buffered_fallbacks") > before);
	detach_vdev();
	CU_ASSERT_EQUAL(verify_path(img), 0);
	CU_ASSERT_EQUAL(pv_simtest_sh("losetup -d %s", loopdev), 0);
	loopdev[0] = 0;
}

static CU_TestInfo direct_tests[] = {
	{ "direct-io-safe: O_DIRECT fd, no page cache, data and flush right", test_direct_file },
	{ "--cache auto|none|writeback against direct-io-safe", test_cache_modes },
	{ "ramfs refuses O_DIRECT: page cache, \"direct\":0, works", test_direct_refused },
	{ "4 KiB-sector block device: 512 B segments fall back, all reads right",
	  test_direct_4k_blockdev },
	CU_TEST_INFO_NULL,
};

static CU_TestInfo tool_tests[] = {
	{ "a guest with only 1024 / 256 grantable pages connects 4 queues x 16 pages, persistent",
	  test_few_grants },
	{ "fio verify (psync, libaio), mkfs.ext4, e2fsck -fn through pvio-fuse", test_fio_mkfs_e2fsck },
	{ "detach with 64 writes in flight: every request completes, nothing leaks", test_detach_inflight },
	{ "online resize: the file grows, the connected guest sees and uses the new size",
	  test_online_resize },
	{ "pvio-backd killed (SIGKILL) under writes: flushed data kept, restart serves the guest",
	  test_backend_killed },
	CU_TEST_INFO_NULL,
};

static CU_TestInfo matrix_tests[] = {
	{ "attach, random I/O at qd 1/8/32, flush, verify, detach, re-attach, verify: every feature combination",
	  test_matrix },
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{ "blk-e2e-map", init_map, suite_clean, NULL, NULL, matrix_tests },
	{ "blk-e2e-copy", init_copy, suite_clean, NULL, NULL, matrix_tests },
	{ "blk-tools", init_map, suite_clean, NULL, NULL, tool_tests },
	{ "blk-direct", init_direct, clean_direct, NULL, NULL, direct_tests },
	CU_SUITE_INFO_NULL,
};

int main(void)
{
	return pv_test_main(suites);
}
