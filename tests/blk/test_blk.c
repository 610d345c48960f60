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
#include <errno.h>
#include <stdarg.h>
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
static int verify_file(void)
{
	uint8_t *buf = malloc(DISK_BYTES);
	int fd = open(disk, O_RDONLY), rc = 0;

	if (!buf || fd < 0 || pread(fd, buf, DISK_BYTES, 0) != (ssize_t)DISK_BYTES)
		rc = -EIO;
	else if (memcmp(buf, shadow, DISK_BYTES))
		rc = -EILSEQ;
	if (fd >= 0)
		close(fd);
	free(buf);
	return rc;
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
	CU_SUITE_INFO_NULL,
};

int main(void)
{
	return pv_test_main(suites);
}
