/* SPDX-License-Identifier: MIT */
/*
 * pvio-backd end to end: a real pvio-simd and pvio-backd in a temp rundir; this process
 * is the toolstack (dom0 handle) and hand-written front ends (guest handles) that put
 * requests on the ring themselves, good and hostile, and check the answers, the disk
 * file (pread on the host side) and the daemon's counters (its control socket).
 *
 * Suites: "map" (default daemon), "copy" (--grant-copy), "pure" (the validation
 * functions in-process).  Each daemon must exit 0 on SIGTERM: under SANITIZE=1 that is
 * LeakSanitizer's verdict.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fair.h"
#include "harness.h"
#include "pv_backd.h"
#include "busypoll.h"
#include "pv_test.h"
#include "restart.h"

#define MiB (1u << 20)
#define XVDB 51728
#define DISK_BYTES MiB
#define DISK_SECTORS (DISK_BYTES / 512)

static int copy_mode;
/* Devices that live through a whole suite: rw on domain 1, ro on domain 1, rw on domain 2. */
static struct h_fe rw, ro, other;
static unsigned int next_devid = 51760;

static void fill(uint8_t *p, size_t len, unsigned int seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (uint8_t)(seed * 31 + i * 7 + (i >> 9));
}

static int check_disk(struct h_fe *f, uint64_t sector, const uint8_t *want, size_t len)
{
	uint8_t *buf = malloc(len);
	int ok;

	ok = buf && pread(f->diskfd, buf, len, (off_t)(sector * 512)) == (ssize_t)len &&
	     memcmp(buf, want, len) == 0;
	free(buf);
	return ok;
}

/* Attaches and connects one of the suite's devices; says which step failed. */
static int suite_dev(struct h_fe *f, unsigned int domid, unsigned int devid, const char *mode,
		     const struct h_conn *c)
{
	int rc = h_attach(f, domid, devid, DISK_BYTES, mode, NULL);

	if (rc < 0) {
		fprintf(stderr, "suite device %u/%u: attach: %d\n", domid, devid, rc);
		return rc;
	}
	rc = h_connect(f, c);
	if (rc < 0)
		fprintf(stderr, "suite device %u/%u: connect: %d, backend state %d\n", domid, devid,
			rc, h_be_state(f));
	return rc;
}

static int suite_start(const char *extra)
{
	struct h_conn c = { 0 };

	if (h_start(extra) < 0)
		return -1;
	if (suite_dev(&rw, 1, XVDB, "w", &c) < 0 || suite_dev(&ro, 1, XVDB + 16, "r", &c) < 0)
		return -1;
	c.persistent = 1;
	return suite_dev(&other, 2, XVDB, "w", &c) < 0 ? -1 : 0;
}

static int suite_init_map(void)
{
	copy_mode = 0;
	return suite_start(NULL);
}

static int suite_init_copy(void)
{
	copy_mode = 1;
	return suite_start("--grant-copy");
}

static int suite_clean(void)
{
	int st = h_stop();

	h_fe_free(&rw);
	h_fe_free(&ro);
	h_fe_free(&other);
	return st < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0 ? -1 : 0;
}

/* The device on domain 2 must keep working whatever domain 1 does. */
static void other_still_works(void)
{
	struct blkif_request r;

	fill(other.data, 4096, 99);
	h_rw(&other, &r, BLKIF_OP_WRITE, 16, 0, 8);
	CU_ASSERT_EQUAL(h_do(&other, 0, &r), BLKIF_RSP_OKAY);
	CU_ASSERT(check_disk(&other, 16, other.data, 4096));
}

/* ---- data ------------------------------------------------------------------------------- */

static void test_read_write(void)
{
	struct blkif_request r;
	uint8_t want[3 * 4096];

	/* A write of 3 segments (8 + 8 + 3 sectors) lands in the file ... */
	fill(rw.data, 3 * 4096, 1);
	memcpy(want, rw.data, sizeof(want));
	h_rw(&rw, &r, BLKIF_OP_WRITE, 100, 0, 19);
	CU_ASSERT_EQUAL(h_do(&rw, 0, &r), BLKIF_RSP_OKAY);
	CU_ASSERT(check_disk(&rw, 100, want, 19 * 512));
	/* ... and reads back into other pages, at a sector offset inside the page. */
	memset(rw.data + 8 * 4096, 0, 3 * 4096);
	h_rw(&rw, &r, BLKIF_OP_READ, 100, 8, 19);
	CU_ASSERT_EQUAL(h_do(&rw, 0, &r), BLKIF_RSP_OKAY);
	CU_ASSERT_EQUAL(memcmp(rw.data + 8 * 4096, want, 19 * 512), 0);
	/* Sub-page segment: sectors 2..5 of a page. */
	fill(rw.data + 20 * 4096, 4096, 2);
	h_rw(&rw, &r, BLKIF_OP_WRITE, 300, 20, 8);
	r.seg[0].first_sect = 2;
	r.seg[0].last_sect = 5;
	CU_ASSERT_EQUAL(h_do(&rw, 0, &r), BLKIF_RSP_OKAY);
	CU_ASSERT(check_disk(&rw, 300, rw.data + 20 * 4096 + 1024, 4 * 512));
	/* The host writes, the guest reads. */
	fill(want, 4096, 3);
	CU_ASSERT_EQUAL(pwrite(rw.diskfd, want, 4096, 512 * 512), 4096);
	h_rw(&rw, &r, BLKIF_OP_READ, 512, 30, 8);
	CU_ASSERT_EQUAL(h_do(&rw, 0, &r), BLKIF_RSP_OKAY);
	CU_ASSERT_EQUAL(memcmp(rw.data + 30 * 4096, want, 4096), 0);
	/* The last sector of the disk is reachable. */
	h_rw(&rw, &r, BLKIF_OP_READ, DISK_SECTORS - 1, 30, 1);
	CU_ASSERT_EQUAL(h_do(&rw, 0, &r), BLKIF_RSP_OKAY);
	/* Reads on the read-only disk work. */
	h_rw(&ro, &r, BLKIF_OP_READ, 0, 0, 8);
	CU_ASSERT_EQUAL(h_do(&ro, 0, &r), BLKIF_RSP_OKAY);
	CU_ASSERT(h_stat(&rw, "bytes_written") >= 19 * 512 + 4 * 512);
	CU_ASSERT(h_stat(&rw, "reads") >= 3);
}

static void test_flush_barrier(void)
{
	struct blkif_request r;

	memset(&r, 0, sizeof(r));
	r.operation = BLKIF_OP_FLUSH_DISKCACHE;
	r.id = 77;
	CU_ASSERT_EQUAL(h_do(&rw, 0, &r), BLKIF_RSP_OKAY);
	/* A barrier with data: written, then durable. */
	fill(rw.data, 4096, 4);
	h_rw(&rw, &r, BLKIF_OP_WRITE_BARRIER, 700, 0, 8);
	CU_ASSERT_EQUAL(h_do(&rw, 0, &r), BLKIF_RSP_OKAY);
	CU_ASSERT(check_disk(&rw, 700, rw.data, 4096));
	fill(rw.data, 4096, 5);
	h_rw(&rw, &r, BLKIF_OP_FLUSH_DISKCACHE, 708, 0, 8);
	CU_ASSERT_EQUAL(h_do(&rw, 0, &r), BLKIF_RSP_OKAY);
	CU_ASSERT(check_disk(&rw, 708, rw.data, 4096));
	CU_ASSERT(h_stat(&rw, "flushes") >= 2);
	CU_ASSERT(h_stat(&rw, "barriers") >= 1);
}

static void test_discard(void)
{
	struct blkif_request r;
	struct blkif_request_discard dr = { .operation = BLKIF_OP_DISCARD, .id = 5 };
	uint8_t zero[65536] = { 0 };
	char path[256], *s;
	struct stat before, after;

	snprintf(path, sizeof(path), "%s/feature-discard", rw.be);
	CU_ASSERT_EQUAL_FATAL(pv_xs_read(h_sim.dom0, 0, path, &s, NULL), 0);
	CU_ASSERT_STRING_EQUAL(s, "1");
	free(s);
	/* 64 KiB of data at 1024, then discarded: zeros, and a hole in the file. */
	for (unsigned int i = 0; i < 2; i++) {
		fill(rw.data, 8 * 4096, 6);
		h_rw(&rw, &r, BLKIF_OP_WRITE, 1024 + i * 64, 0, 64);
		CU_ASSERT_EQUAL(h_do(&rw, 0, &r), BLKIF_RSP_OKAY);
	}
	fsync(rw.diskfd);
	CU_ASSERT_EQUAL(fstat(rw.diskfd, &before), 0);
	dr.sector_number = 1024;
	dr.nr_sectors = 128;
	memcpy(&r, &dr, sizeof(dr));
	CU_ASSERT_EQUAL(h_do(&rw, 0, &r), BLKIF_RSP_OKAY);
	CU_ASSERT(check_disk(&rw, 1024, zero, sizeof(zero)));
	CU_ASSERT_EQUAL(fstat(rw.diskfd, &after), 0);
	CU_ASSERT(after.st_blocks < before.st_blocks);
	CU_ASSERT_EQUAL(lseek(rw.diskfd, 1024 * 512, SEEK_HOLE), 1024 * 512);
	CU_ASSERT(h_stat(&rw, "discards") >= 1);
}

/* An indirect request of n segments at sector, from data page 0 on; returns the status. */
static int indirect_rw(struct h_fe *f, uint8_t op, uint64_t sector, unsigned int n,
		       unsigned int ind_pg)
{
	struct blkif_request r;
	struct blkif_request_indirect ir = { .operation = BLKIF_OP_INDIRECT, .indirect_op = op };
	struct blkif_request_segment *d = (void *)(f->data + ind_pg * 4096);
	unsigned int i;

	for (i = 0; i < n; i++)
		d[i] = (struct blkif_request_segment){ .gref = f->data_refs[i % ind_pg],
						       .first_sect = 0, .last_sect = 7 };
	ir.nr_segments = (uint16_t)n;
	ir.id = 4242;
	ir.sector_number = sector;
	ir.indirect_grefs[0] = f->data_refs[ind_pg];
	memset(&r, 0, sizeof(r));
	memcpy(&r, &ir, sizeof(ir));
	return h_do(f, 0, &r);
}

/*
 * 40 segments over 32 distinct pages (some pages twice): 160 KiB in one indirect write at
 * sector, checked on the disk, then read back by one indirect read of 32 segments.
 */
static void indirect_round(struct h_fe *f, uint64_t sector, unsigned int seed)
{
	uint8_t want[32 * 4096];
	unsigned int i;

	fill(f->data, 32 * 4096, seed);
	CU_ASSERT_EQUAL(indirect_rw(f, BLKIF_OP_WRITE, sector, 40, 32), BLKIF_RSP_OKAY);
	for (i = 0; i < 40; i++)
		CU_ASSERT(check_disk(f, sector + i * 8, f->data + (i % 32) * 4096, 4096));
	memcpy(want, f->data, sizeof(want));
	memset(f->data, 0, 32 * 4096);
	CU_ASSERT_EQUAL(indirect_rw(f, BLKIF_OP_READ, sector, 32, 32), BLKIF_RSP_OKAY);
	CU_ASSERT_EQUAL(memcmp(f->data, want, sizeof(want)), 0);
}

static void test_indirect(void)
{
	uint64_t copies;

	indirect_round(&rw, 64, 7);
	CU_ASSERT(h_stat(&rw, "indirect") >= 2);
	/*
	 * With persistent grants (device "other") in map mode the indirect page is mapped once
	 * with the data pages and read from there: no grant copy per request.
	 */
	copies = h_stat(&other, "grant_copies");
	indirect_round(&other, 128, 9);
	CU_ASSERT(h_stat(&other, "indirect") >= 2);
	if (!copy_mode)
		CU_ASSERT_EQUAL(h_stat(&other, "grant_copies"), copies);
}

/* Ids belong to the guest: the same id twice gets two answers. */
static void test_same_id(void)
{
	struct blkif_request r;
	struct blkif_response a, b;

	h_rw(&rw, &r, BLKIF_OP_READ, 0, 0, 8);
	r.id = 1234;
	h_put(&rw, 0, &r);
	h_put(&rw, 0, &r);
	h_push(&rw, 0);
	CU_ASSERT_EQUAL(h_get(&rw, 0, &a, 5000), 0);
	CU_ASSERT_EQUAL(h_get(&rw, 0, &b, 5000), 0);
	CU_ASSERT(a.id == 1234 && b.id == 1234);
	CU_ASSERT(a.status == BLKIF_RSP_OKAY && b.status == BLKIF_RSP_OKAY);
}

/* A whole ring of requests at once, answered with few notifications. */
static void test_batch(void)
{
	struct blkif_request r;
	struct blkif_response rsp;
	unsigned int i, ok = 0, n = rw.q[0].ring.nr_ents;
	long long before = h_stat(&rw, "notifications_out");

	for (i = 0; i < n; i++) {
		h_rw(&rw, &r, i & 1 ? BLKIF_OP_READ : BLKIF_OP_WRITE, i * 8, i % 32, 8);
		h_put(&rw, 0, &r);
	}
	h_push(&rw, 0);
	for (i = 0; i < n; i++)
		ok += h_get(&rw, 0, &rsp, 5000) == 0 && rsp.status == BLKIF_RSP_OKAY;
	CU_ASSERT_EQUAL(ok, n);
	CU_ASSERT(h_stat(&rw, "notifications_out") - before <= n);
}

/*
 * Map mode maps the pages of the requests a pass takes in one call (sim: one round trip),
 * not one per request, and still queues their I/O in ring order: 15 writes, a flush, then
 * 16 reads in one push, all answered right, the writes on disk when the flush is answered.
 * A bad ref among 8 reads fails only its own request.
 */
static void test_map_batch(void)
{
	struct blkif_request r;
	struct blkif_response rsp;
	static uint8_t want[16][4096], page[4096];
	unsigned int i, ok = 0, bad = 0;
	long long calls0 = h_stat(&rw, "grant_map_calls"), bad0 = h_stat(&rw, "bad_requests");

	for (i = 0; i < 16; i++) {
		fill(want[i], 4096, 900 + i);
		CU_ASSERT_EQUAL_FATAL(pwrite(rw.diskfd, want[i], 4096, (off_t)(1280 + i * 8) * 512),
				      4096);
	}
	for (i = 0; i < 15; i++) {
		fill(rw.data + (size_t)i * 4096, 4096, 800 + i);
		h_rw(&rw, &r, BLKIF_OP_WRITE, 1024 + i * 8, i, 8);
		r.id = 100 + i;
		h_put(&rw, 0, &r);
	}
	memset(&r, 0, sizeof(r));
	r.operation = BLKIF_OP_FLUSH_DISKCACHE;
	r.id = 200;
	h_put(&rw, 0, &r);
	for (i = 0; i < 16; i++) {
		memset(rw.data + (size_t)(16 + i) * 4096, 0xee, 4096);
		h_rw(&rw, &r, BLKIF_OP_READ, 1280 + i * 8, 16 + i, 8);
		r.id = 300 + i;
		h_put(&rw, 0, &r);
	}
	h_push(&rw, 0);
	for (i = 0; i < 32; i++)
		ok += h_get(&rw, 0, &rsp, 5000) == 0 && rsp.status == BLKIF_RSP_OKAY;
	CU_ASSERT_EQUAL(ok, 32);
	for (i = 0; i < 15; i++) {
		fill(page, 4096, 800 + i);
		CU_ASSERT(check_disk(&rw, 1024 + i * 8, page, 4096));
	}
	for (i = 0; i < 16; i++)
		CU_ASSERT(memcmp(rw.data + (size_t)(16 + i) * 4096, want[i], 4096) == 0);
	if (!copy_mode) {
		long long calls = h_stat(&rw, "grant_map_calls") - calls0;

		printf("\n    31 requests with pages: %lld map calls\n", calls);
		CU_ASSERT(calls >= 2 && calls <= 8); /* one per request before */
	}

	/* The third of 8 reads names a ref past the grant table. */
	for (i = 0; i < 8; i++) {
		memset(rw.data + (size_t)(16 + i) * 4096, 0xee, 4096);
		h_rw(&rw, &r, BLKIF_OP_READ, 1280 + i * 8, 16 + i, 8);
		if (i == 2)
			r.seg[0].gref = 0x7ffffff0u;
		r.id = 400 + i;
		h_put(&rw, 0, &r);
	}
	h_push(&rw, 0);
	for (i = 0, ok = 0; i < 8; i++) {
		if (h_get(&rw, 0, &rsp, 5000) < 0)
			continue;
		if (rsp.id == 402)
			bad += rsp.status == BLKIF_RSP_ERROR;
		else if (rsp.status == BLKIF_RSP_OKAY &&
			 memcmp(rw.data + (size_t)(16 + rsp.id - 400) * 4096, want[rsp.id - 400],
				4096) == 0)
			ok++;
	}
	CU_ASSERT_EQUAL(ok, 7);
	CU_ASSERT_EQUAL(bad, 1);
	CU_ASSERT_EQUAL(h_stat(&rw, "bad_requests") - bad0, 1);
}

/* ---- configurations ------------------------------------------------------------------------ */

/* A fresh device with the given connection, some I/O on every queue, then a clean close. */
static void run_config(const struct h_conn *c, int check_persistent)
{
	struct h_fe f;
	struct blkif_request r;
	unsigned int qi, round;

	CU_ASSERT_EQUAL_FATAL(h_attach(&f, 1, next_devid++, DISK_BYTES, "w", NULL), 0);
	CU_ASSERT_EQUAL_FATAL(h_connect(&f, c), 0);
	CU_ASSERT_EQUAL(h_stat(&f, "queues"), f.nq);
	CU_ASSERT_EQUAL(h_stat(&f, "ring_pages"), 1 << f.order);
	CU_ASSERT_EQUAL(f.q[0].ring.nr_ents, 32u << f.order);
	for (round = 0; round < 3; round++) {
		for (qi = 0; qi < f.nq; qi++) {
			fill(f.data + qi * 4096, 4096, qi + round);
			h_rw(&f, &r, BLKIF_OP_WRITE, qi * 64, qi, 8);
			CU_ASSERT_EQUAL(h_do(&f, qi, &r), BLKIF_RSP_OKAY);
			CU_ASSERT(check_disk(&f, qi * 64, f.data + qi * 4096, 4096));
		}
	}
	if (check_persistent && !copy_mode) {
		/* The same pages again and again: mapped once each if persistent. */
		CU_ASSERT_EQUAL(h_stat(&f, "persistent"), c->persistent);
		if (c->persistent) {
			CU_ASSERT(h_stat(&f, "persistent_hits") >= 2 * f.nq);
		} else {
			CU_ASSERT_EQUAL(h_stat(&f, "persistent_hits"), 0);
		}
	}
	if (copy_mode)
		CU_ASSERT(h_stat(&f, "grant_copies") >= 3 * f.nq);
	CU_ASSERT_EQUAL(h_fe_close(&f), 0); /* also: nothing of ours is still mapped */
	CU_ASSERT_EQUAL(h_detach(&f), 0);
	h_fe_free(&f);
}

static void test_ring16_queues4(void)
{
	struct h_conn c = { .order = 4, .nq = 4 };

	run_config(&c, 0);
}

static void test_ring_orders(void)
{
	struct h_conn c = { .force_order = 1 };

	for (c.order = 0; c.order <= 4; c.order += 2)
		run_config(&c, 0);
}

static void test_persistent_on_off(void)
{
	struct h_conn c = { .persistent = 1, .protocol = "x86_64-abi" };

	run_config(&c, 1);
	c.persistent = 0;
	run_config(&c, 1);
	c.persistent = 1;
	c.nq = 2;
	run_config(&c, 1);
}

/* A write through f, checked on the disk, then close and detach. */
static void write_check_detach(struct h_fe *f, unsigned int seed)
{
	struct blkif_request r;

	fill(f->data, 4096, seed);
	h_rw(f, &r, BLKIF_OP_WRITE, 8, 0, 8);
	CU_ASSERT_EQUAL(h_do(f, 0, &r), BLKIF_RSP_OKAY);
	CU_ASSERT(check_disk(f, 8, f->data, 4096));
	CU_ASSERT_EQUAL(h_fe_close(f), 0);
	CU_ASSERT_EQUAL(h_detach(f), 0);
	h_fe_free(f);
}

/* Stops pvio-backd for sure, not just signalled: it then sees nothing until SIGCONT. */
static int backd_freeze(void)
{
	int st;

	kill(h_backd, SIGSTOP);
	return waitpid(h_backd, &st, WUNTRACED) == h_backd && WIFSTOPPED(st) ? 0 : -1;
}

/* A closed device reconnects when the front end starts over. */
static void test_reconnect(void)
{
	struct h_fe f;
	struct h_conn c = { 0 };
	char path[200];

	CU_ASSERT_EQUAL_FATAL(h_attach(&f, 1, next_devid++, DISK_BYTES, "w", NULL), 0);
	CU_ASSERT_EQUAL_FATAL(h_connect(&f, &c), 0);
	CU_ASSERT_EQUAL(h_fe_close(&f), 0);
	snprintf(path, sizeof(path), "%s/state", f.fe);
	pv_xs_write(h_dom[1], 0, path, "1", 1);
	CU_ASSERT_EQUAL_FATAL(h_connect(&f, &c), 0);
	write_check_detach(&f, 9);
}

/*
 * The toolstack detaches a device and attaches one under the same path before the daemon
 * has seen the removal (pvio-ctl block-detach + block-attach on a busy machine): the
 * daemon then sees the new directory, never the gap.  The new device is new: neither the
 * old one's detach request nor its Closed may leak into it.
 */
static void test_reattach_same_path(void)
{
	unsigned int devid = next_devid++;
	struct h_fe f;
	struct h_conn c = { 0 };
	char path[200];

	CU_ASSERT_EQUAL_FATAL(h_attach(&f, 1, devid, DISK_BYTES, "w", NULL), 0);
	CU_ASSERT_EQUAL_FATAL(h_connect(&f, &c), 0);
	CU_ASSERT_EQUAL(h_fe_close(&f), 0);
	/* h_detach's steps, with the daemon stopped between Closed and the removal. */
	snprintf(path, sizeof(path), "%s/online", f.be);
	pv_xs_write(h_sim.dom0, 0, path, "0", 1);
	snprintf(path, sizeof(path), "%s/state", f.be);
	pv_xs_write(h_sim.dom0, 0, path, "5", 1);
	CU_ASSERT_EQUAL_FATAL(h_wait_be_state(&f, 6, 5000), 0);
	CU_ASSERT_EQUAL_FATAL(backd_freeze(), 0);
	pv_xs_rm(h_sim.dom0, 0, f.be);
	pv_xs_rm(h_sim.dom0, 0, f.fe);
	h_fe_free(&f);
	CU_ASSERT_EQUAL(h_attach(&f, 1, devid, DISK_BYTES, "w", NULL), 0);
	kill(h_backd, SIGCONT);
	CU_ASSERT_EQUAL_FATAL(h_connect(&f, &c), 0);
	write_check_detach(&f, 21);
}

/*
 * The same while the old device is still connected (pvio-ctl block-detach --force, then
 * block-attach of another target): the old one is drained and dropped, and the new one
 * serves the new target, not the old one's open file.
 */
static void test_reattach_connected(void)
{
	unsigned int devid = next_devid++;
	struct h_fe f, g;
	struct h_conn c = { 0 };
	struct blkif_request r;
	char target[sizeof(h_sim.rundir) + 32];
	uint8_t buf[4096];
	int fd;

	snprintf(target, sizeof(target), "%s/other-%u.img", h_sim.rundir, devid);
	fd = open(target, O_RDWR | O_CREAT | O_TRUNC, 0600);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL_FATAL(ftruncate(fd, DISK_BYTES), 0);
	CU_ASSERT_EQUAL_FATAL(h_attach(&f, 1, devid, DISK_BYTES, "w", NULL), 0);
	CU_ASSERT_EQUAL_FATAL(h_connect(&f, &c), 0);
	CU_ASSERT_EQUAL_FATAL(backd_freeze(), 0);
	pv_xs_rm(h_sim.dom0, 0, f.be);
	pv_xs_rm(h_sim.dom0, 0, f.fe);
	CU_ASSERT_EQUAL(h_attach(&g, 1, devid, DISK_BYTES, "w", target), 0);
	kill(h_backd, SIGCONT);
	CU_ASSERT_EQUAL_FATAL(h_connect(&g, &c), 0);
	/* The old device let go of the old front end's pages. */
	CU_ASSERT_EQUAL(h_fe_release(&f), 0);
	fill(g.data, 4096, 33);
	h_rw(&g, &r, BLKIF_OP_WRITE, 8, 0, 8);
	CU_ASSERT_EQUAL(h_do(&g, 0, &r), BLKIF_RSP_OKAY);
	CU_ASSERT_EQUAL(pread(fd, buf, sizeof(buf), 8 * 512), (ssize_t)sizeof(buf));
	CU_ASSERT_EQUAL(memcmp(buf, g.data, sizeof(buf)), 0);
	CU_ASSERT_EQUAL(h_fe_close(&g), 0);
	CU_ASSERT_EQUAL(h_detach(&g), 0);
	h_fe_free(&f);
	h_fe_free(&g);
	close(fd);
}

/* The null driver: reads are zeros, everything completes. */
static void test_null(void)
{
	struct h_fe f;
	struct h_conn c = { 0 };
	struct blkif_request r;
	uint8_t zero[4096] = { 0 };

	CU_ASSERT_EQUAL_FATAL(h_attach(&f, 1, next_devid++, DISK_BYTES, "w", "null:"), 0);
	CU_ASSERT_EQUAL_FATAL(h_connect(&f, &c), 0);
	CU_ASSERT_EQUAL(h_stat(&f, "sectors"), 1 << 21);
	memset(f.data, 0xAB, 4096);
	h_rw(&f, &r, BLKIF_OP_READ, 8, 0, 8);
	CU_ASSERT_EQUAL(h_do(&f, 0, &r), BLKIF_RSP_OKAY);
	CU_ASSERT_EQUAL(memcmp(f.data, zero, 4096), 0);
	h_rw(&f, &r, BLKIF_OP_WRITE, 8, 0, 8);
	CU_ASSERT_EQUAL(h_do(&f, 0, &r), BLKIF_RSP_OKAY);
	CU_ASSERT_EQUAL(h_fe_close(&f), 0);
	CU_ASSERT_EQUAL(h_detach(&f), 0);
	h_fe_free(&f);
}

/* Online resize: the file grows, `sectors` follows while Connected. */
static void test_resize(void)
{
	char path[200];
	uint64_t v = 0;
	int i;

	CU_ASSERT_EQUAL(ftruncate(rw.diskfd, 2 * DISK_BYTES), 0);
	snprintf(path, sizeof(path), "%s/sectors", rw.be);
	for (i = 0; i < 300 && v != 2 * DISK_SECTORS; i++) {
		pv_xs_read_u64(h_sim.dom0, 0, path, &v);
		usleep(10000);
	}
	CU_ASSERT_EQUAL(v, 2 * DISK_SECTORS);
	CU_ASSERT_EQUAL(h_stat(&rw, "sectors"), 2 * DISK_SECTORS);
}

/* ---- hostile requests ----------------------------------------------------------------------- */

enum { G_OK, G_NONE, G_RO, G_OTHER, G_HUGE };

struct hcase {
	const char *name;
	int on_ro;              /* sent to the read-only disk */
	uint8_t op;
	unsigned int nseg;      /* nr_segments (indirect: its 16-bit count) */
	uint64_t sector;
	uint8_t first, last;    /* segment 0 */
	int gref;               /* segment 0's grant: G_* */
	uint8_t ind_op;
	int ind_gref;           /* the indirect page's grant: G_* */
	uint64_t nr_sectors;    /* discard */
	int eopnotsupp;         /* answered BLKIF_RSP_EOPNOTSUPP (else BLKIF_RSP_ERROR) */
};

#define MAX64 UINT64_MAX
static const struct hcase hostile[] = {
	/* Unknown operations: EOPNOTSUPP, as Linux's xen-blkback answers them. */
	{ "opcode 4 (reserved)", 0, 4, 1, .eopnotsupp = 1 },
	{ "opcode 7", 0, 7, 1, .eopnotsupp = 1 },
	{ "opcode 255", 0, 255, 1, .eopnotsupp = 1 },
	/* Writes of any kind to a read-only disk: ERROR (Linux: access denied). */
	{ "flush to a read-only disk", 1, BLKIF_OP_FLUSH_DISKCACHE, 0 },
	{ "barrier to a read-only disk", 1, BLKIF_OP_WRITE_BARRIER, 0 },
	{ "read, 0 segments", 0, BLKIF_OP_READ, 0 },
	{ "read, 12 segments", 0, BLKIF_OP_READ, 12 },
	{ "write, 255 segments", 0, BLKIF_OP_WRITE, 255 },
	{ "flush, 12 segments", 0, BLKIF_OP_FLUSH_DISKCACHE, 12 },
	{ "first_sect > last_sect", 0, BLKIF_OP_READ, 1, 0, 3, 2 },
	{ "first_sect 200 > last_sect 100", 0, BLKIF_OP_WRITE, 1, 0, 200, 100 },
	{ "last_sect 8", 0, BLKIF_OP_READ, 1, 0, 0, 8 },
	{ "last_sect 255", 0, BLKIF_OP_WRITE, 1, 0, 0, 255 },
	{ "barrier, last_sect 9", 0, BLKIF_OP_WRITE_BARRIER, 1, 0, 0, 9 },
	{ "range past the end", 0, BLKIF_OP_READ, 1, DISK_SECTORS - 1, 0, 1 },
	{ "range starting at the end", 0, BLKIF_OP_WRITE, 1, DISK_SECTORS, 0, 0 },
	{ "range wrapping 2^64", 0, BLKIF_OP_READ, 1, MAX64 - 3, 0, 7 },
	{ "sector_number UINT64_MAX", 0, BLKIF_OP_READ, 1, MAX64, 0, 0 },
	{ "write to a read-only disk", 1, BLKIF_OP_WRITE, 1, 0, 0, 7 },
	{ "indirect write to a read-only disk", 1, BLKIF_OP_INDIRECT, 1, 0, 0, 7, G_OK, BLKIF_OP_WRITE },
	{ "discard to a read-only disk", 1, BLKIF_OP_DISCARD, 0, 0, 0, 0, G_OK, 0, G_OK, 8 },
	{ "discard past the end", 0, BLKIF_OP_DISCARD, 0, DISK_SECTORS - 8, 0, 0, G_OK, 0, G_OK, 16 },
	{ "discard wrapping 2^64", 0, BLKIF_OP_DISCARD, 0, MAX64 - 1, 0, 0, G_OK, 0, G_OK, 4 },
	{ "discard at UINT64_MAX", 0, BLKIF_OP_DISCARD, 0, MAX64, 0, 0, G_OK, 0, G_OK, 1 },
	{ "indirect, 0 segments", 0, BLKIF_OP_INDIRECT, 0, 0, 0, 7, G_OK, BLKIF_OP_READ },
	{ "indirect, 257 segments", 0, BLKIF_OP_INDIRECT, 257, 0, 0, 7, G_OK, BLKIF_OP_READ },
	{ "indirect, 65535 segments", 0, BLKIF_OP_INDIRECT, 65535, 0, 0, 7, G_OK, BLKIF_OP_WRITE },
	{ "indirect, indirect_op 2", 0, BLKIF_OP_INDIRECT, 1, 0, 0, 7, G_OK, 2 },
	{ "indirect, indirect_op 6 (nested)", 0, BLKIF_OP_INDIRECT, 1, 0, 0, 7, G_OK, 6 },
	{ "indirect page not granted", 0, BLKIF_OP_INDIRECT, 1, 0, 0, 7, G_OK, BLKIF_OP_READ, G_NONE },
	{ "indirect page gref outside the table", 0, BLKIF_OP_INDIRECT, 1, 0, 0, 7, G_OK, BLKIF_OP_READ, G_HUGE },
	{ "indirect page granted to another domain", 0, BLKIF_OP_INDIRECT, 1, 0, 0, 7, G_OK, BLKIF_OP_WRITE, G_OTHER },
	{ "indirect, segment not granted", 0, BLKIF_OP_INDIRECT, 4, 0, 0, 7, G_NONE, BLKIF_OP_WRITE },
	{ "indirect, descriptor last_sect 8", 0, BLKIF_OP_INDIRECT, 3, 0, 0, 8, G_OK, BLKIF_OP_READ },
	{ "indirect, descriptor first > last", 0, BLKIF_OP_INDIRECT, 3, 0, 5, 4, G_OK, BLKIF_OP_WRITE },
	{ "indirect, range past the end", 0, BLKIF_OP_INDIRECT, 2, DISK_SECTORS - 8, 0, 7, G_OK, BLKIF_OP_READ },
	{ "indirect read into a read-only grant", 0, BLKIF_OP_INDIRECT, 1, 0, 0, 7, G_RO, BLKIF_OP_READ },
	{ "segment not granted", 0, BLKIF_OP_READ, 1, 0, 0, 7, G_NONE },
	{ "segment gref outside the table", 0, BLKIF_OP_WRITE, 1, 0, 0, 7, G_HUGE },
	{ "second of three segments not granted", 0, BLKIF_OP_READ, 3, 0, 0, 7, G_OK, 0, G_OK, 0 },
	{ "read into a read-only grant", 0, BLKIF_OP_READ, 1, 0, 0, 7, G_RO },
	{ "read into a grant for another domain", 0, BLKIF_OP_READ, 1, 0, 0, 7, G_OTHER },
	{ "write from a grant for another domain", 0, BLKIF_OP_WRITE, 1, 0, 0, 7, G_OTHER },
};

static grant_ref_t ro_ref, other_ref;
static void *ro_page, *other_page;

static grant_ref_t gref_of(struct h_fe *f, int g, unsigned int dflt)
{
	switch (g) {
	case G_NONE: return 6; /* reserved entry, never granted */
	case G_RO: return ro_ref;
	case G_OTHER: return other_ref;
	case G_HUGE: return 0x0FFFFFFF;
	default: return f->data_refs[dflt];
	}
}

static void build(const struct hcase *h, struct h_fe *f, struct blkif_request *r, uint64_t id)
{
	unsigned int i, n;

	memset(r, 0, sizeof(*r));
	if (h->op == BLKIF_OP_DISCARD) {
		struct blkif_request_discard d = { .operation = h->op, .id = id,
						   .sector_number = h->sector,
						   .nr_sectors = h->nr_sectors };

		memcpy(r, &d, sizeof(d));
	} else if (h->op == BLKIF_OP_INDIRECT) {
		struct blkif_request_indirect ir = { .operation = h->op, .indirect_op = h->ind_op,
						     .nr_segments = (uint16_t)h->nseg, .id = id,
						     .sector_number = h->sector };
		struct blkif_request_segment *d = (void *)(f->data + 40 * 4096);

		n = h->nseg < 512 ? h->nseg : 512;
		for (i = 0; i < n; i++)
			d[i] = (struct blkif_request_segment){ .gref = f->data_refs[2 + i % 8],
							       .first_sect = 0, .last_sect = 7 };
		d[0] = (struct blkif_request_segment){ .gref = gref_of(f, h->gref, 2),
						       .first_sect = h->first, .last_sect = h->last };
		ir.indirect_grefs[0] = gref_of(f, h->ind_gref, 40);
		memcpy(r, &ir, sizeof(ir));
	} else {
		r->operation = h->op;
		r->nr_segments = (uint8_t)h->nseg;
		r->id = id;
		r->sector_number = h->sector;
		n = h->nseg < 11 ? h->nseg : 11;
		for (i = 0; i < n; i++)
			r->seg[i] = (struct blkif_request_segment){ .gref = f->data_refs[2 + i],
								    .first_sect = 0, .last_sect = 7 };
		if (n) {
			r->seg[0].gref = gref_of(f, h->gref, 2);
			r->seg[0].first_sect = h->first;
			r->seg[0].last_sect = h->last;
		}
		if (strstr(h->name, "second of three"))
			r->seg[1].gref = 6;
	}
}

static void test_hostile_requests(void)
{
	struct pv_platform *p = h_dom[1];
	unsigned int i, failed = 0;

	CU_ASSERT_EQUAL_FATAL(pv_gnt_share(p, 0, 1, 0, &ro_ref, &ro_page), 0);
	CU_ASSERT_EQUAL_FATAL(pv_gnt_share(p, 3, 1, 1, &other_ref, &other_page), 0);
	CU_ASSERT(sizeof(hostile) / sizeof(hostile[0]) >= 30);
	for (i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
		const struct hcase *h = &hostile[i];
		struct h_fe *f = h->on_ro ? &ro : &rw;
		struct blkif_request r;
		long long before = h_stat(f, "bad_requests"), after;
		int st;

		build(h, f, &r, 1000 + i);
		st = h_do(f, 0, &r);
		after = h_stat(f, "bad_requests");
		if (st != (h->eopnotsupp ? BLKIF_RSP_EOPNOTSUPP : BLKIF_RSP_ERROR) ||
		    after != before + 1) {
			fprintf(stderr, "\n  hostile case \"%s\": status %d, bad_requests %lld -> %lld\n",
				h->name, st, before, after);
			failed++;
		}
		/* ... and the daemon still serves the next good request. */
		h_rw(f, &r, BLKIF_OP_READ, 8, 1, 8);
		if (h_do(f, 0, &r) != BLKIF_RSP_OKAY) {
			fprintf(stderr, "\n  hostile case \"%s\": next good request failed\n", h->name);
			failed++;
		}
	}
	CU_ASSERT_EQUAL(failed, 0);
	CU_ASSERT_EQUAL(h_stat(&rw, "inflight"), 0);
	CU_ASSERT_EQUAL(pv_gnt_unshare(p, ro_page, 1), 0); /* nothing left mapped */
	CU_ASSERT_EQUAL(pv_gnt_unshare(p, other_page, 1), 0);
	other_still_works();
}

/* ---- hostile rings and xenstore values -------------------------------------------------------- */

/* A device whose front end writes c: the backend must go Closing with an `error` node. */
static void ring_case(const char *name, const struct h_conn *c)
{
	struct h_fe f;
	int ok;

	CU_ASSERT_EQUAL_FATAL(h_attach(&f, 1, next_devid++, DISK_BYTES, "w", NULL), 0);
	CU_ASSERT_EQUAL_FATAL(h_wait_be_state(&f, 2, 5000), 0);
	CU_ASSERT_EQUAL_FATAL(h_connect_start(&f, c), 0);
	ok = h_wait_be_state(&f, 5, 5000) == 0 && h_be_has(&f, "error");
	if (!ok)
		fprintf(stderr, "\n  ring case \"%s\": backend state %d\n", name, h_be_state(&f));
	CU_ASSERT(ok);
	CU_ASSERT_EQUAL(kill(h_backd, 0), 0);
	CU_ASSERT_EQUAL(h_fe_close(&f), 0);
	CU_ASSERT_EQUAL(h_detach(&f), 0);
	h_fe_free(&f);
	other_still_works();
}

static void test_hostile_xenstore(void)
{
	static const char *const bad[] = {
		"ring-ref=6", "ring-ref=abc", "ring-ref=99999999999", "ring-ref=", "ring-ref=268435455",
		"ring-page-order=5", "ring-page-order=99", "ring-page-order=-1",
		"multi-queue-num-queues=0", "multi-queue-num-queues=1000", "multi-queue-num-queues=x",
		"event-channel=abc", "event-channel=99999", "event-channel=0", "event-channel=4095",
		"protocol=x86_32-abi", "protocol=garbage", "protocol=",
	};
	struct h_conn c = { 0 };
	unsigned int i;
	evtchn_port_t foreign;
	char node[64];

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		c.bad_node = bad[i];
		ring_case(bad[i], &c);
	}
	/* A port domain 1 allocated for domain 3, not for us. */
	CU_ASSERT_EQUAL_FATAL(pv_evtchn_alloc_unbound(h_dom[1], 3, &foreign), 0);
	snprintf(node, sizeof(node), "event-channel=%u", foreign);
	c.bad_node = node;
	ring_case(node, &c);
	pv_evtchn_unbind(h_dom[1], foreign);
	/* A ring-ref granted to another domain. */
	{
		grant_ref_t ref;
		void *pg;

		CU_ASSERT_EQUAL_FATAL(pv_gnt_share(h_dom[1], 3, 1, 1, &ref, &pg), 0);
		snprintf(node, sizeof(node), "ring-ref=%u", ref);
		ring_case(node, &c);
		pv_gnt_unshare(h_dom[1], pg, 1);
	}
	/* Multi-queue with one queue's ring-ref missing. */
	c.bad_node = "queue-1/ring-ref=";
	c.nq = 2;
	ring_case("queue-1/ring-ref empty", &c);
}

/* req_prod beyond the ring: halt, `error`, Closing; other devices unaffected. */
static void test_req_prod_overflow(void)
{
	struct h_fe f;
	struct h_conn c = { 0 };
	struct pv_sring *s;

	CU_ASSERT_EQUAL_FATAL(h_attach(&f, 1, next_devid++, DISK_BYTES, "w", NULL), 0);
	CU_ASSERT_EQUAL_FATAL(h_connect(&f, &c), 0);
	s = f.q[0].sring;
	__atomic_store_n(&s->req_prod, f.q[0].ring.nr_ents + 5, __ATOMIC_RELEASE);
	pv_evtchn_notify(h_dom[1], f.q[0].port);
	CU_ASSERT_EQUAL(h_wait_be_state(&f, 5, 5000), 0);
	CU_ASSERT(h_be_has(&f, "error"));
	CU_ASSERT_EQUAL(h_fe_close(&f), 0);
	CU_ASSERT_EQUAL(h_detach(&f), 0);
	h_fe_free(&f);
	other_still_works();
	/* And the rw disk on the same domain too. */
	{
		struct blkif_request r;

		h_rw(&rw, &r, BLKIF_OP_READ, 0, 1, 8);
		CU_ASSERT_EQUAL(h_do(&rw, 0, &r), BLKIF_RSP_OKAY);
	}
}

/*
 * The same on queue 1 of a two-queue disk, each queue on a data thread of its own: queue
 * 1's thread stops its queue, the main thread stops queue 0, and only then does the disk
 * reach Closing (it waits for every queue's drain).  A request on queue 0 afterwards is
 * not taken.
 */
static void test_req_prod_overflow_mq(void)
{
	struct h_fe f;
	struct h_conn c = { .nq = 2 };
	struct blkif_request r;
	struct blkif_response rsp;
	char cmd[64], out[4096];
	unsigned int t0 = 0, t1 = 0;
	struct pv_sring *s;

	CU_ASSERT_EQUAL_FATAL(h_attach(&f, 1, next_devid++, DISK_BYTES, "w", NULL), 0);
	CU_ASSERT_EQUAL_FATAL(h_connect(&f, &c), 0);
	CU_ASSERT_EQUAL_FATAL(f.nq, 2);
	snprintf(cmd, sizeof(cmd), "stats %u %u\n", f.domid, f.devid);
	CU_ASSERT_EQUAL(h_ctl(cmd, out, sizeof(out)), 0);
	if (strstr(out, "\"queue_threads\":["))
		sscanf(strstr(out, "\"queue_threads\":["), "\"queue_threads\":[%u,%u]", &t0, &t1);
	printf("\n    queues on threads %u and %u\n", t0, t1);
	s = f.q[1].sring;
	__atomic_store_n(&s->req_prod, f.q[1].ring.nr_ents + 5, __ATOMIC_RELEASE);
	pv_evtchn_notify(h_dom[1], f.q[1].port);
	CU_ASSERT_EQUAL(h_wait_be_state(&f, 5, 5000), 0);
	CU_ASSERT(h_be_has(&f, "error"));
	h_rw(&f, &r, BLKIF_OP_READ, 0, 0, 8);
	h_put(&f, 0, &r);
	h_push(&f, 0);
	pv_evtchn_notify(h_dom[1], f.q[0].port);
	CU_ASSERT_NOT_EQUAL(h_get(&f, 0, &rsp, 300), 0);
	CU_ASSERT_EQUAL(h_fe_close(&f), 0);
	CU_ASSERT_EQUAL(h_detach(&f), 0);
	h_fe_free(&f);
	other_still_works();
}

/* ---- detach and restart with I/O in flight -------------------------------------------------- */

#define BURST 32

static void put_burst(struct h_fe *f, int notify)
{
	struct blkif_request r;
	unsigned int i;

	for (i = 0; i < BURST; i++) {
		fill(f->data + i * 4096, 4096, 100 + i);
		h_rw(f, &r, BLKIF_OP_WRITE, i * 16, i, 8);
		r.id = i;
		h_put(f, 0, &r);
	}
	if (notify)
		h_push(f, 0);
	else
		pv_ring_push_requests(&f->q[0].ring); /* the kick still on its way, say */
}

/* Collects responses until all BURST came or ms passed; checks acknowledged data. */
static unsigned int collect(struct h_fe *f, int *seen, int ms, unsigned int *bad)
{
	struct blkif_response rsp;
	unsigned int n = 0;

	while (h_get(f, 0, &rsp, ms) == 0) {
		if (rsp.id >= BURST || seen[rsp.id]) {
			(*bad)++;
			continue;
		}
		seen[rsp.id] = 1 + (rsp.status == BLKIF_RSP_OKAY);
		if (rsp.status == BLKIF_RSP_OKAY &&
		    !check_disk(f, rsp.id * 16, f->data + rsp.id * 4096, 4096))
			(*bad)++;
		n++;
	}
	return n;
}

static void test_detach_inflight(void)
{
	struct h_fe f;
	struct h_conn c = { 0 };
	int seen[BURST] = { 0 };
	unsigned int got, bad = 0;

	CU_ASSERT_EQUAL_FATAL(h_attach(&f, 1, next_devid++, DISK_BYTES, "w", NULL), 0);
	CU_ASSERT_EQUAL_FATAL(h_connect(&f, &c), 0);
	/* Published, not yet kicked: the drain must still serve what was published. */
	put_burst(&f, 0);
	/*
	 * The toolstack detaches at once, without waiting for any answer, and the guest lets
	 * go at once too (the back end serves a connected front end until it does).
	 */
	{
		char path[200];

		snprintf(path, sizeof(path), "%s/online", f.be);
		pv_xs_write(h_sim.dom0, 0, path, "0", 1);
		snprintf(path, sizeof(path), "%s/state", f.be);
		pv_xs_write(h_sim.dom0, 0, path, "5", 1);
		snprintf(path, sizeof(path), "%s/state", f.fe);
		pv_xs_write(h_dom[1], 0, path, "5", 1);
	}
	CU_ASSERT_EQUAL(h_wait_be_state(&f, 6, 5000), 0);
	got = collect(&f, seen, 200, &bad);
	CU_ASSERT_EQUAL(got, BURST); /* every request completed or failed */
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_EQUAL(h_stat(&f, "inflight"), 0);
	CU_ASSERT_EQUAL(h_fe_close(&f), 0); /* nothing left mapped */
	pv_xs_rm(h_sim.dom0, 0, f.be);
	pv_xs_rm(h_sim.dom0, 0, f.fe);
	h_fe_free(&f);
	other_still_works();
}

static void test_sigterm_restart(void)
{
	struct h_fe f;
	struct h_conn c = { .order = 1 };
	unsigned int got, bad, round;
	struct blkif_request r;
	int st;

	CU_ASSERT_EQUAL_FATAL(h_attach(&f, 1, next_devid++, DISK_BYTES, "w", NULL), 0);
	CU_ASSERT_EQUAL_FATAL(h_connect(&f, &c), 0);
	/* Something answered already, so that rsp_prod is not 0. */
	h_rw(&f, &r, BLKIF_OP_READ, 0, 0, 8);
	CU_ASSERT_EQUAL(h_do(&f, 0, &r), BLKIF_RSP_OKAY);
	/*
	 * Round 0: a kicked burst, SIGTERM at once: what is in flight completes and is
	 * answered.  Round 1: a burst published without a kick when SIGTERM comes: the next
	 * daemon must find it between rsp_prod and req_prod and serve it, once.
	 */
	for (round = 0; round < 2; round++) {
		int seen[BURST] = { 0 };

		bad = 0;
		put_burst(&f, round == 0);
		st = h_backd_sigterm();
		CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
		got = collect(&f, seen, 50, &bad); /* what the old daemon acknowledged is on disk */
		CU_ASSERT_EQUAL(h_be_state(&f), 4);
		CU_ASSERT_EQUAL_FATAL(h_backd_start(copy_mode ? "--grant-copy" : NULL), 0);
		got += collect(&f, seen, 3000, &bad); /* the new daemon resumes the ring */
		CU_ASSERT_EQUAL(got, BURST);
		CU_ASSERT_EQUAL(bad, 0);
	}
	fill(f.data, 4096, 55);
	h_rw(&f, &r, BLKIF_OP_WRITE, 1000, 0, 8);
	CU_ASSERT_EQUAL(h_do(&f, 0, &r), BLKIF_RSP_OKAY);
	CU_ASSERT(check_disk(&f, 1000, f.data, 4096));
	CU_ASSERT_EQUAL(h_fe_close(&f), 0);
	CU_ASSERT_EQUAL(h_detach(&f), 0);
	h_fe_free(&f);
	/* The long-lived devices were re-attached too. */
	other_still_works();
	h_rw(&rw, &r, BLKIF_OP_READ, 0, 1, 8);
	CU_ASSERT_EQUAL(h_do(&rw, 0, &r), BLKIF_RSP_OKAY);
}

/* Removing the backend directory of a connected device tears it down completely. */
/*
 * The back end watches the front end's state node only: a guest writing other nodes in
 * its device directory a hundred times does not wake it (counted per device).
 */
static void test_fe_watch_state_only(void)
{
	struct h_fe f;
	struct h_conn c = { 0 };
	char path[200];
	long long before, after;
	unsigned int i;

	CU_ASSERT_EQUAL_FATAL(h_attach(&f, 1, next_devid++, DISK_BYTES, "w", NULL), 0);
	CU_ASSERT_EQUAL_FATAL(h_connect(&f, &c), 0);
	before = h_stat(&f, "fe_watch_events");
	CU_ASSERT(before >= 1);
	snprintf(path, sizeof(path), "%s/junk", f.fe);
	for (i = 0; i < 100; i++)
		CU_ASSERT_EQUAL(pv_xs_write(h_dom[1], 0, path, "x", 1), 0);
	/* The state change comes after the junk: once it is handled, so are they. */
	CU_ASSERT_EQUAL(h_fe_close(&f), 0);
	after = h_stat(&f, "fe_watch_events");
	CU_ASSERT(after > before && after - before < 10);
	CU_ASSERT_EQUAL(h_detach(&f), 0);
	h_fe_free(&f);
}

/*
 * A protocol value with a newline, an escape sequence and 1500 bytes (under xenstored's
 * 2048-byte node quota for a guest): the `error` node
 * (and the log) get one bounded printable line.
 */
static void test_hostile_string(void)
{
	static char val[3100];
	char node[3200], path[200], *err = NULL;
	struct h_conn c = { 0 };
	struct h_fe f;
	size_t i;

	snprintf(val, sizeof(val), "x86\n\x1b[31mEVIL\r\t");
	for (i = strlen(val); i < 1500; i++)
		val[i] = 'A';
	val[i] = 0;
	snprintf(node, sizeof(node), "protocol=%s", val);
	c.bad_node = node;
	CU_ASSERT_EQUAL_FATAL(h_attach(&f, 1, next_devid++, DISK_BYTES, "w", NULL), 0);
	CU_ASSERT_EQUAL_FATAL(h_wait_be_state(&f, 2, 5000), 0);
	CU_ASSERT_EQUAL_FATAL(h_connect_start(&f, &c), 0);
	CU_ASSERT_EQUAL(h_wait_be_state(&f, 5, 5000), 0);
	snprintf(path, sizeof(path), "%s/error", f.be);
	CU_ASSERT_EQUAL_FATAL(pv_xs_read(h_sim.dom0, 0, path, &err, NULL), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "protocol"));
	CU_ASSERT(strlen(err) < 200);
	for (i = 0; err[i]; i++)
		if ((unsigned char)err[i] < 0x20 || (unsigned char)err[i] >= 0x7f)
			break;
	CU_ASSERT_EQUAL(err[i], 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "x86\\x0a\\x1b[31mEVIL"));
	free(err);
	CU_ASSERT_EQUAL(h_fe_close(&f), 0);
	CU_ASSERT_EQUAL(h_detach(&f), 0);
	h_fe_free(&f);
}

static void test_remove_connected(void)
{
	struct h_fe f;
	struct h_conn c = { .persistent = 1 };
	struct blkif_request r;

	CU_ASSERT_EQUAL_FATAL(h_attach(&f, 1, next_devid++, DISK_BYTES, "w", NULL), 0);
	CU_ASSERT_EQUAL_FATAL(h_connect(&f, &c), 0);
	h_rw(&f, &r, BLKIF_OP_WRITE, 0, 0, 8);
	CU_ASSERT_EQUAL(h_do(&f, 0, &r), BLKIF_RSP_OKAY);
	pv_xs_rm(h_sim.dom0, 0, f.be);
	pv_xs_rm(h_sim.dom0, 0, f.fe);
	CU_ASSERT_EQUAL(h_fe_close(&f) == -EBUSY, 0); /* no mapping left behind */
	CU_ASSERT_EQUAL(h_stat(&f, "state"), -1);  /* forgotten */
	h_fe_free(&f);
}

/* The ctl socket: list, stats of an unknown device, garbage. */
static void test_ctl(void)
{
	char out[16384];

	CU_ASSERT_EQUAL(h_ctl("list\n", out, sizeof(out)), 0);
	CU_ASSERT(out[0] == '[' && strstr(out, "\"devid\":51728") && strstr(out, "\"grant_mode\""));
	CU_ASSERT_EQUAL(h_ctl("stats 9 9\n", out, sizeof(out)), 0);
	CU_ASSERT(strstr(out, "\"error\"") != NULL);
	CU_ASSERT_EQUAL(h_ctl("bogus\n", out, sizeof(out)), 0);
	CU_ASSERT(strstr(out, "\"error\"") != NULL);
	CU_ASSERT_EQUAL(h_ctl("stats 1 51728\n", out, sizeof(out)), 0);
	CU_ASSERT(strstr(out, copy_mode ? "\"grant_mode\":\"copy\"" : "\"grant_mode\":\"map\"") != NULL);
	CU_ASSERT(strstr(out, "\"mode\":\"w\"") != NULL);
}

/*
 * Targets that are not disks are refused with a reason (a char device: "Invalid
 * argument", not whatever errno an earlier call left); a 3000-byte params still shows in
 * the daemon's "list" (its JSON once did not fit and "list" retried forever).
 */
static void test_bad_targets(void)
{
	static char out[1 << 20];
	char longp[3001], want[3020];
	struct h_fe f, g;
	int i;

	CU_ASSERT_EQUAL_FATAL(h_attach(&f, 1, next_devid++, DISK_BYTES, "w", "/dev/null"), 0);
	for (i = 0; i < 500 && !h_be_has(&f, "error"); i++)
		usleep(10000);
	CU_ASSERT(h_be_has(&f, "error"));
	{
		char path[300], *v = NULL;

		snprintf(path, sizeof(path), "%s/error", f.be);
		CU_ASSERT_EQUAL(pv_xs_read(h_sim.dom0, 0, path, &v, NULL), 0);
		CU_ASSERT_PTR_NOT_NULL(v ? strstr(v, "Invalid argument") : NULL);
		free(v);
	}
	CU_ASSERT_EQUAL(h_ctl("list\n", out, sizeof(out)), 0);
	memset(longp, 'p', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = 0;
	CU_ASSERT_EQUAL_FATAL(h_attach(&g, 1, next_devid++, DISK_BYTES, "w", longp), 0);
	for (i = 0; i < 500 && !h_be_has(&g, "error"); i++)
		usleep(10000);
	CU_ASSERT(h_be_has(&g, "error"));
	CU_ASSERT_EQUAL(h_ctl("list\n", out, sizeof(out)), 0);
	snprintf(want, sizeof(want), "\"params\":\"%s\"", longp);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, want));
	CU_ASSERT_EQUAL(h_detach(&f), 0);
	CU_ASSERT_EQUAL(h_detach(&g), 0);
	h_fe_free(&f);
	h_fe_free(&g);
	other_still_works();
}

/*
 * A second pvio-backd for the same domain refuses to start (exit 1, one line), and the
 * first keeps serving: two would race for every vbd's event channels.
 */
static void test_second_daemon_refused(void)
{
	char cmd[1024];
	FILE *f;
	char line[256] = "";
	int st;

	/* its own control socket, so that only the lock can refuse it */
	snprintf(cmd, sizeof(cmd), "timeout 10 %s --platform sim:%s:0 --ctl %s/second.sock "
		 "--foreground 2>&1", pv_simtest_bin("pvio-backd"), h_sim.rundir, h_sim.rundir);
	f = popen(cmd, "r");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	if (!fgets(line, sizeof(line), f))
		line[0] = 0;
	st = pclose(f);
	CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(line, "another pvio-backd serves this domain"));
	other_still_works();
}

/* Bad command lines: exit 2 (usage) or 1 (a spec it cannot use), one line, nothing started. */
static void test_bad_arguments(void)
{
	static const struct { const char *args; int status; const char *says; } t[] = {
		{ "--max-persistent 0", 2, "--max-persistent: 1..16384" },
		{ "--max-persistent 16385", 2, "--max-persistent: 1..16384" },
		{ "--max-persistent 12x", 2, "--max-persistent: 1..16384" },
		{ "--max-queues 0", 2, "--max-queues: 1..16" },
		{ "--max-queues 4294967297", 2, "--max-queues: 1..16" },
		{ "--max-persistent -4294967295", 2, "--max-persistent: 1..16384" },
		{ "--types phy,floppy", 2, "--types" },
		{ "--max-bounce 0", 2, "--max-bounce: 1..1024 (MiB)" },
		{ "--max-bounce 1025", 2, "--max-bounce: 1..1024 (MiB)" },
		{ "--max-bounce 4x", 2, "--max-bounce: 1..1024 (MiB)" },
		{ "--poll-us 1000001", 2, "--poll-us: 0..1000000 (microseconds)" },
		{ "--poll-us -1", 2, "--poll-us: 0..1000000 (microseconds)" },
		{ "--poll-us 5ms", 2, "--poll-us: 0..1000000 (microseconds)" },
		{ "--cache direct", 2, "--cache: auto, none or writeback" },
		{ "--cache=", 2, "--cache: auto, none or writeback" },
		{ "--platform sim:", 1, "bad platform spec 'sim:'" },
	};
	char cmd[1024], line[256];
	unsigned int i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		FILE *f;
		int st;

		snprintf(cmd, sizeof(cmd), "timeout 10 %s --foreground %s 2>&1",
			 pv_simtest_bin("pvio-backd"), t[i].args);
		f = popen(cmd, "r");
		CU_ASSERT_PTR_NOT_NULL_FATAL(f);
		if (!fgets(line, sizeof(line), f))
			line[0] = 0;
		st = pclose(f);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != t[i].status || !strstr(line, t[i].says))
			fprintf(stderr, "pvio-backd %s: status %d, said: %s\n", t[i].args, st, line);
		CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == t[i].status);
		CU_ASSERT_PTR_NOT_NULL(strstr(line, t[i].says));
	}
}

/* Last: SIGTERM exits 0 (under SANITIZE=1, LeakSanitizer found nothing); then restart. */
static void test_sigterm_exit_clean(void)
{
	int st = h_backd_sigterm();

	CU_ASSERT(WIFEXITED(st));
	CU_ASSERT_EQUAL(WEXITSTATUS(st), 0);
	CU_ASSERT_EQUAL(h_backd_start(copy_mode ? "--grant-copy" : NULL), 0);
	other_still_works();
}

/* ---- pv_loop's wake-up counter (pvio-bench's bwake) ------------------------------------ */

struct wake_probe {
	int efd;
	unsigned int ticks, fired, busy_left;
	int write_at;          /* the tick after which efd is made readable (-1: never) */
};

static void wake_fd(struct pv_loop *l, int fd, uint32_t events, void *opaque)
{
	struct wake_probe *w = opaque;
	uint64_t v;

	(void)l;
	(void)events;
	if (read(fd, &v, sizeof(v)) == sizeof(v))
		w->fired++;
}

static void wake_tick(struct pv_loop *l, void *opaque)
{
	struct wake_probe *w = opaque;
	uint64_t one = 1;

	if ((int)w->ticks == w->write_at && write(w->efd, &one, sizeof(one)) < 0)
		w->write_at = -1;
	if (++w->ticks == 6)
		pv_loop_stop(l);
}

static int wake_idle(struct pv_loop *l, void *opaque)
{
	struct wake_probe *w = opaque;

	(void)l;
	return w->busy_left ? (int)w->busy_left-- : 0;
}

/*
 * A wait that times out is not a wake-up; one that returns an event is, once; a busy
 * pass (the idle hook asked not to sleep) that finds the event is not.
 */
static void test_loop_wakeups(void)
{
	struct wake_probe w = { .write_at = -1 };
	struct pv_loop *l = pv_loop_new();

	CU_ASSERT_PTR_NOT_NULL_FATAL(l);
	w.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	CU_ASSERT_FATAL(w.efd >= 0);
	CU_ASSERT_EQUAL_FATAL(pv_loop_add(l, w.efd, EPOLLIN, wake_fd, &w), 0);
	/* Six 1 ms time-outs, no event. */
	CU_ASSERT_EQUAL(pv_loop_run(l, 1, wake_tick, &w), 0);
	CU_ASSERT_EQUAL(w.fired, 0);
	CU_ASSERT_EQUAL(pv_loop_wakeups(l), 0);
	/* One event, made readable between two waits: one wake-up. */
	w.ticks = 0;
	w.write_at = 2;
	CU_ASSERT_EQUAL(pv_loop_run(l, 1, wake_tick, &w), 0);
	CU_ASSERT_EQUAL(w.fired, 1);
	CU_ASSERT_EQUAL(pv_loop_wakeups(l), 1);
	/* The same while busy-polling: found by a pass that did not sleep, so not counted. */
	w.ticks = 0;
	w.write_at = 2;
	w.busy_left = 100;
	pv_loop_set_idle(l, wake_idle, &w);
	CU_ASSERT_EQUAL(pv_loop_run(l, 1, wake_tick, &w), 0);
	CU_ASSERT_EQUAL(w.fired, 2);
	CU_ASSERT_EQUAL(pv_loop_wakeups(l), 1);
	pv_loop_del(l, w.efd);
	close(w.efd);
	pv_loop_free(l);
}

/* ---- pure validation -------------------------------------------------------------------------- */

static void test_check_pure(void)
{
	struct pv_blkback_limits l = { .sectors = 100, .flush = 1, .max_indirect = 256 };
	struct blkif_request r = { .operation = BLKIF_OP_READ, .nr_segments = 1 };
	struct blkif_request_segment s[2] = { { 8, 0, 7 }, { 9, 0, 7 } };
	struct pv_blkback_hdr h;
	uint64_t n;

	CU_ASSERT_EQUAL(pv_blkback_check_req(&l, &r, &h), 0);
	CU_ASSERT_EQUAL(h.nseg, 1);
	r.operation = BLKIF_OP_DISCARD;
	CU_ASSERT_EQUAL(pv_blkback_check_req(&l, &r, &h), -EOPNOTSUPP);
	r.operation = BLKIF_OP_FLUSH_DISKCACHE;
	r.nr_segments = 0;
	CU_ASSERT_EQUAL(pv_blkback_check_req(&l, &r, &h), 0);
	l.readonly = 1;
	CU_ASSERT_EQUAL(pv_blkback_check_req(&l, &r, &h), -EROFS);
	/* Read-only first, then whether the feature is offered (Linux's order). */
	r.operation = BLKIF_OP_DISCARD;
	CU_ASSERT_EQUAL(pv_blkback_check_req(&l, &r, &h), -EROFS);
	l.readonly = 0;
	CU_ASSERT_EQUAL(pv_blkback_check_req(&l, &r, &h), -EOPNOTSUPP);
	r.operation = 99;
	CU_ASSERT_EQUAL(pv_blkback_check_req(&l, &r, &h), -EOPNOTSUPP);
	r.operation = BLKIF_OP_INDIRECT;
	l.max_indirect = 0;
	CU_ASSERT_EQUAL(pv_blkback_check_req(&l, &r, &h), -EOPNOTSUPP);
	CU_ASSERT_EQUAL(pv_blkback_check_segs(&l, 84, s, 2, &n), 0);
	CU_ASSERT_EQUAL(n, 16);
	CU_ASSERT_EQUAL(pv_blkback_check_segs(&l, 85, s, 2, &n), -ERANGE);
	CU_ASSERT_EQUAL(pv_blkback_check_segs(&l, UINT64_MAX - 8, s, 2, &n), -ERANGE);
	s[1].last_sect = 8;
	CU_ASSERT_EQUAL(pv_blkback_check_segs(&l, 0, s, 2, &n), -EINVAL);
}

static void test_str_clean(void)
{
	char out[32], big[100];

	CU_ASSERT_EQUAL(pv_backd_str_clean(out, sizeof(out), "x86_64-abi", 32), 10);
	CU_ASSERT_STRING_EQUAL(out, "x86_64-abi");
	pv_backd_str_clean(out, sizeof(out), "a\nb\x1b[1m\\\xff", 32);
	CU_ASSERT_STRING_EQUAL(out, "a\\x0ab\\x1b[1m\\x5c\\xff");
	memset(big, 'A', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	CU_ASSERT_EQUAL(pv_backd_str_clean(out, sizeof(out), big, 1000), sizeof(out) - 1);
	CU_ASSERT_STRING_EQUAL(out + sizeof(out) - 4, "...");
	pv_backd_str_clean(out, sizeof(out), big, 5);
	CU_ASSERT_STRING_EQUAL(out, "AAAAA...");
	pv_backd_str_clean(out, 3, "\n\n", 32);
	CU_ASSERT_STRING_EQUAL(out, "");
	strcpy(big, "one\ntwo\x7f\x80");
	pv_backd_str_printable(big);
	CU_ASSERT_STRING_EQUAL(big, "one?two??");
}

static void test_types_parse(void)
{
	unsigned int m = 0;

	CU_ASSERT_EQUAL(pv_backd_parse_types("phy,file", &m), 0);
	CU_ASSERT_EQUAL(m, PV_BACKD_TYPE_PHY | PV_BACKD_TYPE_FILE);
	CU_ASSERT_EQUAL(pv_backd_parse_types("phy,nbd", &m), -EINVAL);
	CU_ASSERT_EQUAL(pv_backd_parse_types("", &m), -EINVAL);
}

/*
 * pvio-backd --max-persistent 16: a guest using more distinct pages than the persistent
 * cache holds.  Two cold chunks fill it; then a hot chunk alternates with new cold ones:
 * least recently used chunks are unmapped to make room, so the hot pages stay mapped and
 * every cold chunk but the last is evicted.  Exact map, unmap and hit counts; data right.
 */
static int suite_init_small_cache(void)
{
	copy_mode = 0;
	return h_start("--max-persistent 16") < 0 ? -1 : 0;
}

/* Writes the 8 pages from pg (seeded), then checks the file. */
static void write8(struct h_fe *f, unsigned int pg, unsigned int seed)
{
	struct blkif_request r;

	fill(f->data + (size_t)pg * 4096, 8 * 4096, seed);
	h_rw(f, &r, BLKIF_OP_WRITE, pg * 8, pg, 64);
	CU_ASSERT_EQUAL(h_do(f, 0, &r), BLKIF_RSP_OKAY);
	CU_ASSERT(check_disk(f, pg * 8, f->data + (size_t)pg * 4096, 8 * 4096));
}

static void test_cache_lru(void)
{
	struct h_conn c = { .persistent = 1 };
	uint8_t want[H_DATA_PAGES * 4096];
	struct blkif_request r;
	struct h_fe f;
	unsigned int pg, k;

	CU_ASSERT_EQUAL_FATAL(h_attach(&f, 1, next_devid++, DISK_BYTES, "w", NULL), 0);
	CU_ASSERT_EQUAL_FATAL(h_connect(&f, &c), 0);
	CU_ASSERT_EQUAL(h_stat(&f, "persistent"), 1);
	/* Cold chunks 1 and 2 (pages 8..23) fill the cache; hot is pages 0..7. */
	write8(&f, 8, 1);
	write8(&f, 16, 2);
	for (k = 3; k <= 7; k++) {
		write8(&f, 0, 100 + k);  /* hot: evicts the oldest cold chunk the first time */
		write8(&f, k * 8, k);    /* cold: evicts the previous cold chunk, not hot */
	}
	/* 8 chunks of 8 pages mapped once each; hot hit 4 times; 6 cold chunks evicted. */
	CU_ASSERT_EQUAL(h_stat(&f, "grant_maps") - h_stat(&f, "ring_pages") * f.nq, 8 * 8);
	CU_ASSERT_EQUAL(h_stat(&f, "persistent_hits"), 4 * 8);
	CU_ASSERT_EQUAL(h_stat(&f, "persistent_evictions"), 6 * 8);
	CU_ASSERT_EQUAL(h_stat(&f, "grant_unmaps"), 6 * 8);
	/* Everything reads back (the last cold chunk and hot from the cache, the rest anew). */
	memcpy(want, f.data, sizeof(want));
	memset(f.data, 0, sizeof(want));
	for (pg = 0; pg < H_DATA_PAGES; pg += 8) {
		h_rw(&f, &r, BLKIF_OP_READ, pg * 8, pg, 64);
		CU_ASSERT_EQUAL(h_do(&f, 0, &r), BLKIF_RSP_OKAY);
	}
	CU_ASSERT_EQUAL(memcmp(f.data, want, sizeof(want)), 0);
	CU_ASSERT_EQUAL(h_fe_close(&f), 0); /* also: nothing of ours is still mapped */
	CU_ASSERT_EQUAL(h_detach(&f), 0);
	h_fe_free(&f);
}

/*
 * pvio-backd --grant-copy --max-bounce 1: the device's bounce pool is 256 pages.  Four
 * indirect writes of 128 pages each, published at once: two fit, the others stay on the
 * ring until completions free pages; all are answered and on disk.  An idle pool is given
 * back to the kernel within two ticks.
 */
static int suite_init_bounce(void)
{
	copy_mode = 1;
	return h_start("--grant-copy --max-bounce 1") < 0 ? -1 : 0;
}

#define BNC_SEGS 128

/*
 * n indirect writes of BNC_SEGS pages on queue qi, all on the ring when the stopped daemon
 * looks; every one answered OKAY and on disk.
 */
static void bounce_writes(struct h_fe *f, unsigned int qi, unsigned int n)
{
	struct blkif_request r;
	struct blkif_response rsp;
	unsigned int k, i, got = 0;

	fill(f->data, 32 * 4096, 5);
	CU_ASSERT_EQUAL(h_backd_pause(), 0);
	for (k = 0; k < n; k++) {
		struct blkif_request_indirect ir = { .operation = BLKIF_OP_INDIRECT,
						     .indirect_op = BLKIF_OP_WRITE };
		struct blkif_request_segment *d = (void *)(f->data + (32 + k) * 4096);

		for (i = 0; i < BNC_SEGS; i++)
			d[i] = (struct blkif_request_segment){ .gref = f->data_refs[i % 32],
							       .first_sect = 0, .last_sect = 7 };
		ir.nr_segments = BNC_SEGS;
		ir.id = k;
		ir.sector_number = (uint64_t)k * BNC_SEGS * 8;
		ir.indirect_grefs[0] = f->data_refs[32 + k];
		memset(&r, 0, sizeof(r));
		memcpy(&r, &ir, sizeof(ir));
		h_put(f, qi, &r);
	}
	h_push(f, qi);
	kill(h_backd, SIGCONT);
	while (got < n && h_get(f, qi, &rsp, 5000) == 0) {
		CU_ASSERT(rsp.id < n);
		CU_ASSERT_EQUAL(rsp.status, BLKIF_RSP_OKAY);
		got++;
	}
	CU_ASSERT_EQUAL(got, n);
	for (k = 0; k < n; k++)
		for (i = 0; i < BNC_SEGS; i += 31)
			CU_ASSERT(check_disk(f, ((uint64_t)k * BNC_SEGS + i) * 8,
					     f->data + (i % 32) * 4096, 4096));
}

static void test_bounce_bound(void)
{
	struct h_conn c = { 0 };
	uint8_t want[32 * 4096];
	struct h_fe f;
	unsigned int ms;

	CU_ASSERT_EQUAL_FATAL(h_attach(&f, 1, next_devid++, 4 * BNC_SEGS * 4096, "w", NULL), 0);
	CU_ASSERT_EQUAL_FATAL(h_connect(&f, &c), 0);
	bounce_writes(&f, 0, 4);
	/* Two requests' pages at most; the other two waited on the ring. */
	CU_ASSERT_EQUAL(h_stat(&f, "bounce_peak"), 2 * BNC_SEGS);
	CU_ASSERT(h_stat(&f, "bounce_waits") >= 1);
	memcpy(want, f.data, sizeof(want));
	memset(f.data, 0, sizeof(want));
	CU_ASSERT_EQUAL(indirect_rw(&f, BLKIF_OP_READ, 0, 32, 32), BLKIF_RSP_OKAY);
	CU_ASSERT_EQUAL(memcmp(f.data, want, sizeof(want)), 0);
	/* Idle now: the pool goes back to the kernel at the second tick. */
	for (ms = 0; ms < 5000 && h_stat(&f, "bounce_releases") < 1; ms += 50)
		usleep(50000);
	CU_ASSERT(h_stat(&f, "bounce_releases") >= 1);
	CU_ASSERT_EQUAL(h_fe_close(&f), 0);
	CU_ASSERT_EQUAL(h_detach(&f), 0);
	h_fe_free(&f);
}

/*
 * pvio-backd --grant-copy --max-bounce 4, a two-queue disk: each queue's pool is half the
 * device's, 512 pages.  Six indirect writes of 128 pages on queue 0 at once: four fit,
 * two wait on the ring (one pool for the device would have taken all six).
 */
static int suite_init_bounce_mq(void)
{
	copy_mode = 1;
	return h_start("--grant-copy --max-bounce 4") < 0 ? -1 : 0;
}

static void test_bounce_split(void)
{
	struct h_conn c = { .nq = 2 };
	struct h_fe f;

	CU_ASSERT_EQUAL_FATAL(h_attach(&f, 1, next_devid++, 6 * BNC_SEGS * 4096, "w", NULL), 0);
	CU_ASSERT_EQUAL_FATAL(h_connect(&f, &c), 0);
	CU_ASSERT_EQUAL_FATAL(f.nq, 2);
	bounce_writes(&f, 0, 6);
	CU_ASSERT_EQUAL(h_stat(&f, "bounce_peak"), 4 * BNC_SEGS);
	CU_ASSERT(h_stat(&f, "bounce_waits") >= 1);
	/* Queue 1's pool is its own: a burst there is served the same way. */
	bounce_writes(&f, 1, 6);
	CU_ASSERT_EQUAL(h_stat(&f, "bounce_peak"), 4 * BNC_SEGS);
	CU_ASSERT_EQUAL(h_fe_close(&f), 0);
	CU_ASSERT_EQUAL(h_detach(&f), 0);
	h_fe_free(&f);
}

/*
 * pvio-backd --max-queues 16: one device with 16 queues of 512 slots, every slot a write
 * with a flush (two io_uring operations, two completions each), all published while the
 * daemon is stopped.  The completion queue must hold every completion that can be
 * outstanding (16384 here) and every submission must reach the kernel: all 8192 are
 * answered OKAY exactly once and on disk.  The disk is on /dev/shm: 8192 fdatasyncs.
 */
static int suite_init_deep(void)
{
	int rc;

	copy_mode = 0;
	/* The daemon's first three io_uring_submit calls fail (test_submit_retry). */
	setenv("PVIO_BACKD_TEST_SUBMIT_FAIL", "3", 1);
	/* A refused read-only map reads -EINVAL, as from gntdev on Xen (test_ro_einval). */
	setenv("PVIO_BACKD_TEST_MAP_EINVAL", "1", 1);
	rc = h_start("--max-queues 16");
	unsetenv("PVIO_BACKD_TEST_SUBMIT_FAIL");
	unsetenv("PVIO_BACKD_TEST_MAP_EINVAL");
	return rc < 0 ? -1 : 0;
}

/*
 * io_uring_submit refused (-EAGAIN, -EBUSY, -EAGAIN) and nothing else in flight: no
 * completion or notification will come, so only a retry gets the write to the kernel.
 */
static void test_submit_retry(void)
{
	struct h_conn c = { 0 };
	struct blkif_request r;
	struct h_fe f;

	CU_ASSERT_EQUAL_FATAL(h_attach(&f, 1, next_devid++, DISK_BYTES, "w", NULL), 0);
	CU_ASSERT_EQUAL_FATAL(h_connect(&f, &c), 0);
	fill(f.data, 4096, 77);
	h_rw(&f, &r, BLKIF_OP_WRITE, 40, 0, 8);
	CU_ASSERT_EQUAL(h_do(&f, 0, &r), BLKIF_RSP_OKAY);
	CU_ASSERT(check_disk(&f, 40, f.data, 4096));
	CU_ASSERT_EQUAL(h_stat(&f, "submit_retries"), 3);
	CU_ASSERT_EQUAL(h_stat(&f, "errors"), 0);
	CU_ASSERT_EQUAL(h_fe_close(&f), 0);
	CU_ASSERT_EQUAL(h_detach(&f), 0);
	h_fe_free(&f);
}

/*
 * Persistent grants on, a write from a page the guest granted read-only: the writable
 * persistent map is refused, with -EINVAL as Xen's gntdev says it, and the write still
 * goes through a read-only map of its own.
 */
static void test_ro_einval(void)
{
	struct h_conn c = { .persistent = 1 };
	struct blkif_request r;
	struct h_fe f;
	grant_ref_t ref;
	uint8_t *pg;

	CU_ASSERT_EQUAL_FATAL(h_attach(&f, 1, next_devid++, DISK_BYTES, "w", NULL), 0);
	CU_ASSERT_EQUAL_FATAL(h_connect(&f, &c), 0);
	CU_ASSERT_EQUAL_FATAL(pv_gnt_share(h_dom[1], 0, 1, 0, &ref, (void **)&pg), 0);
	fill(pg, 4096, 61);
	h_rw(&f, &r, BLKIF_OP_WRITE, 72, 0, 8);
	r.seg[0].gref = ref;
	CU_ASSERT_EQUAL(h_do(&f, 0, &r), BLKIF_RSP_OKAY);
	CU_ASSERT(check_disk(&f, 72, pg, 4096));
	CU_ASSERT_EQUAL(h_stat(&f, "bad_requests"), 0);
	CU_ASSERT_EQUAL(h_fe_close(&f), 0);
	CU_ASSERT_EQUAL(pv_gnt_unshare(h_dom[1], pg, 1), 0); /* not mapped any more */
	CU_ASSERT_EQUAL(h_detach(&f), 0);
	h_fe_free(&f);
}

static void test_deep_queues(void)
{
	struct h_conn c = { .order = 4, .nq = 16 };
	char path[64];
	struct h_fe f;
	unsigned int qi, i, nq = 16, per, ok = 0, bad = 0;
	unsigned char *seen;
	uint64_t bytes;
	int fd;

	snprintf(path, sizeof(path), "/dev/shm/pvio-test-deep-%d", (int)getpid());
	per = 32u << c.order;
	bytes = (uint64_t)nq * per * 4096;
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	CU_ASSERT_FATAL(fd >= 0 && ftruncate(fd, (off_t)bytes) == 0);
	unlink(path); /* the daemon opens it by name below, before we are done */
	{
		char byfd[64];

		snprintf(byfd, sizeof(byfd), "/proc/%d/fd/%d", (int)getpid(), fd);
		CU_ASSERT_EQUAL_FATAL(h_attach(&f, 1, next_devid++, 4096, "w", byfd), 0);
	}
	CU_ASSERT_EQUAL_FATAL(h_connect(&f, &c), 0);
	CU_ASSERT_EQUAL(f.q[0].ring.nr_ents, per);
	seen = calloc((size_t)nq * per, 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(seen);
	for (i = 0; i < H_DATA_PAGES; i++)
		fill(f.data + (size_t)i * 4096, 4096, 300 + i);
	CU_ASSERT_EQUAL(h_backd_pause(), 0);
	for (qi = 0; qi < nq; qi++) {
		for (i = 0; i < per; i++) {
			unsigned int k = qi * per + i;
			struct blkif_request r = { .operation = BLKIF_OP_FLUSH_DISKCACHE,
						   .nr_segments = 1, .id = k,
						   .sector_number = (uint64_t)k * 8 };

			r.seg[0] = (struct blkif_request_segment){ .gref = f.data_refs[k % H_DATA_PAGES],
								   .first_sect = 0, .last_sect = 7 };
			h_put(&f, qi, &r);
		}
		h_push(&f, qi);
	}
	kill(h_backd, SIGCONT);
	for (qi = 0; qi < nq; qi++) {
		struct blkif_response rsp;

		for (i = 0; i < per && h_get(&f, qi, &rsp, 10000) == 0; i++) {
			if (rsp.id >= (uint64_t)nq * per || seen[rsp.id] || rsp.status != BLKIF_RSP_OKAY) {
				bad++;
				continue;
			}
			seen[rsp.id] = 1;
			ok++;
		}
	}
	CU_ASSERT_EQUAL(ok, nq * per);
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_EQUAL(h_stat(&f, "errors"), 0);
	CU_ASSERT_EQUAL(h_stat(&f, "cq_overflows"), 0);
	for (i = 0; i < nq * per; i += 509) {
		uint8_t buf[4096];

		CU_ASSERT(pread(fd, buf, 4096, (off_t)i * 4096) == 4096 &&
			  memcmp(buf, f.data + (size_t)(i % H_DATA_PAGES) * 4096, 4096) == 0);
	}
	free(seen);
	CU_ASSERT_EQUAL(h_fe_close(&f), 0);
	CU_ASSERT_EQUAL(h_detach(&f), 0);
	h_fe_free(&f);
	close(fd);
}

/*
 * A disk on tmpfs is memory-backed: its reads and writes are done at once on the device's
 * thread (sync_ios), not handed to io_uring, whose kernel worker every tmpfs read would
 * wait for.  Still right: 32 writes then 32 reads posted at once read back what was
 * written, on the file too; and a barrier keeps its order though it goes through io_uring
 * (a write posted after a barrier write of the same sectors is on the disk last; done at
 * once, it would be overwritten by the barrier's).  A short read (the file shrank) is an
 * error response.
 */
static void test_mem_backed(void)
{
	struct h_conn c = { .order = 2 };
	struct blkif_request r;
	struct blkif_response rsp;
	uint8_t *want = malloc(4096), *got = malloc(4096);
	char path[64];
	struct h_fe f;
	unsigned int i, answered;
	int fd;

	CU_ASSERT_FATAL(want && got);
	snprintf(path, sizeof(path), "/dev/shm/pvio-test-mem-%d.img", (int)getpid());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	CU_ASSERT_FATAL(fd >= 0 && ftruncate(fd, DISK_BYTES) == 0);
	CU_ASSERT_EQUAL_FATAL(h_attach(&f, 1, next_devid++, DISK_BYTES, "w", path), 0);
	CU_ASSERT_EQUAL_FATAL(h_connect(&f, &c), 0);
	for (i = 0; i < 32; i++) {
		fill(f.data + (size_t)i * 4096, 4096, 100 + i);
		h_rw(&f, &r, BLKIF_OP_WRITE, (uint64_t)i * 8, i, 8);
		h_put(&f, 0, &r);
	}
	h_push(&f, 0);
	for (answered = 0; answered < 32 && h_get(&f, 0, &rsp, 5000) == 0; answered++)
		CU_ASSERT_EQUAL(rsp.status, BLKIF_RSP_OKAY);
	CU_ASSERT_EQUAL(answered, 32);
	memset(f.data + 32 * 4096, 0xee, 32 * 4096);
	for (i = 0; i < 32; i++) {
		h_rw(&f, &r, BLKIF_OP_READ, (uint64_t)i * 8, 32 + i, 8);
		h_put(&f, 0, &r);
	}
	h_push(&f, 0);
	for (answered = 0; answered < 32 && h_get(&f, 0, &rsp, 5000) == 0; answered++)
		CU_ASSERT_EQUAL(rsp.status, BLKIF_RSP_OKAY);
	CU_ASSERT_EQUAL(answered, 32);
	for (i = 0; i < 32; i++) {
		fill(want, 4096, 100 + i);
		CU_ASSERT(memcmp(f.data + (size_t)(32 + i) * 4096, want, 4096) == 0);
		CU_ASSERT(pread(fd, got, 4096, (off_t)i * 4096) == 4096 && !memcmp(got, want, 4096));
	}
	CU_ASSERT(h_stat(&f, "sync_ios") >= 64);
	/* write A, barrier write B, write C, all to sector 400, in one push: C lands last */
	fill(f.data, 4096, 1);
	fill(f.data + 4096, 4096, 2);
	fill(f.data + 2 * 4096, 4096, 3);
	h_rw(&f, &r, BLKIF_OP_WRITE, 400, 0, 8);
	h_put(&f, 0, &r);
	h_rw(&f, &r, BLKIF_OP_WRITE_BARRIER, 400, 1, 8);
	h_put(&f, 0, &r);
	h_rw(&f, &r, BLKIF_OP_WRITE, 400, 2, 8);
	h_put(&f, 0, &r);
	h_push(&f, 0);
	for (answered = 0; answered < 3 && h_get(&f, 0, &rsp, 5000) == 0; answered++)
		CU_ASSERT_EQUAL(rsp.status, BLKIF_RSP_OKAY);
	CU_ASSERT_EQUAL(answered, 3);
	fill(want, 4096, 3);
	CU_ASSERT(pread(fd, got, 4096, 400 * 512) == 4096 && !memcmp(got, want, 4096));
	CU_ASSERT_EQUAL(h_stat(&f, "barriers"), 1);
	CU_ASSERT_EQUAL(h_stat(&f, "errors"), 0);
	/* The file shrank under the disk: a read past its new end is a short read, an error. */
	CU_ASSERT_FATAL(ftruncate(fd, DISK_BYTES / 2) == 0);
	h_rw(&f, &r, BLKIF_OP_READ, DISK_BYTES / 512 - 8, 0, 8);
	CU_ASSERT_EQUAL(h_do(&f, 0, &r), BLKIF_RSP_ERROR);
	CU_ASSERT_EQUAL(h_stat(&f, "errors"), 1);
	CU_ASSERT_EQUAL(h_fe_close(&f), 0);
	CU_ASSERT_EQUAL(h_detach(&f), 0);
	h_fe_free(&f);
	close(fd);
	unlink(path);
	free(want);
	free(got);
}

static CU_TestInfo deep_tests[] = {
	{ "io_uring_submit refused: retried, the write reaches the disk", test_submit_retry },
	{ "read-only grant refused with -EINVAL (Xen's gntdev): per-request map", test_ro_einval },
	{ "16 queues x 512 slots of write+flush at once: all answered", test_deep_queues },
	{ "tmpfs disk: I/O done at once, right; a barrier keeps its order", test_mem_backed },
	CU_TEST_INFO_NULL,
};

static CU_TestInfo bounce_tests[] = {
	{ "copy mode: bounce pool bounded, requests wait on the ring, idle pool released",
	  test_bounce_bound },
	CU_TEST_INFO_NULL,
};

static CU_TestInfo bounce_mq_tests[] = {
	{ "copy mode, two queues: each queue's pool is its share of --max-bounce", test_bounce_split },
	CU_TEST_INFO_NULL,
};

static CU_TestInfo small_cache_tests[] = {
	{ "persistent cache full: least recently used evicted, data right", test_cache_lru },
	CU_TEST_INFO_NULL,
};

#define DEVICE_TESTS(sfx)								\
	{ "read/write round trip through the file", test_read_write },			\
	{ "flush and barrier", test_flush_barrier },					\
	{ "discard punches a hole", test_discard },					\
	{ "indirect requests", test_indirect },						\
	{ "same id twice: both answered", test_same_id },				\
	{ "a full ring in one push", test_batch },					\
	{ "a pass's grant maps in one call; a bad ref fails only its request", test_map_batch }, \
	{ "16-page ring, 4 queues", test_ring16_queues4 },				\
	{ "ring orders 0, 2, 4 (ring-ref%u)", test_ring_orders },			\
	{ "persistent grants on and off", test_persistent_on_off },			\
	{ "reconnect after Closed", test_reconnect },					\
	{ "detach + attach at the same path, seen at once: a new device", test_reattach_same_path }, \
	{ "the same while connected: old drained, new target served", test_reattach_connected }, \
	{ "null driver", test_null },							\
	{ "hostile request table", test_hostile_requests },				\
	{ "hostile xenstore values -> Closing + error", test_hostile_xenstore },	\
	{ "req_prod overflow -> Closing, others unaffected", test_req_prod_overflow },	\
	{ "req_prod overflow on queue 1 of 2 -> queue 0 stopped too, Closing", test_req_prod_overflow_mq }, \
	{ "detach with I/O in flight", test_detach_inflight },				\
	{ "SIGTERM with I/O in flight, restart resumes", test_sigterm_restart },		\
	{ "backend directory removed while connected", test_remove_connected },		\
	{ "only the front end's state node is watched", test_fe_watch_state_only },	\
	{ "a guest's string in the error node: printable, bounded", test_hostile_string },	\
	{ "control socket", test_ctl },							\
	{ "targets that are not disks; a long params in list", test_bad_targets },	\
	{ "online resize", test_resize },						\
	{ "a second pvio-backd for the domain is refused", test_second_daemon_refused },	\
	{ "SIGTERM exits 0 (no leak)", test_sigterm_exit_clean },			\
	CU_TEST_INFO_NULL

static CU_TestInfo map_tests[] = { DEVICE_TESTS(map) };
static CU_TestInfo copy_tests[] = { DEVICE_TESTS(copy) };
static CU_TestInfo pure_tests[] = {
	{ "request validation", test_check_pure },
	{ "--types parsing", test_types_parse },
	{ "guest strings made printable and bounded", test_str_clean },
	{ "pvio-backd: bad command lines", test_bad_arguments },
	{ "event loop: wake-ups counted (sleeps that returned events only)", test_loop_wakeups },
	CU_TEST_INFO_NULL,
};

int main(void)
{
	CU_SuiteInfo suites[] = {
		{ "pure", NULL, NULL, NULL, NULL, pure_tests },
		{ "map", suite_init_map, suite_clean, NULL, NULL, map_tests },
		{ "copy", suite_init_copy, suite_clean, NULL, NULL, copy_tests },
		{ "small-cache", suite_init_small_cache, suite_clean, NULL, NULL, small_cache_tests },
		{ "restart", restart_suite_init, restart_suite_clean, NULL, NULL, restart_tests },
		{ "deep", suite_init_deep, suite_clean, NULL, NULL, deep_tests },
		{ "bounce", suite_init_bounce, suite_clean, NULL, NULL, bounce_tests },
		{ "bounce-mq", suite_init_bounce_mq, suite_clean, NULL, NULL, bounce_mq_tests },
		{ "fair", fair_suite_init, fair_suite_clean, NULL, NULL, fair_tests },
		{ "fair-time", fair_time_suite_init, fair_suite_clean, NULL, NULL, fair_time_tests },
		{ "fair-done", fair_done_suite_init, fair_suite_clean, NULL, NULL, fair_done_tests },
		{ "fair-mt", fair_mt_suite_init, fair_suite_clean, NULL, NULL, fair_mt_tests },
		{ "poll", poll_suite_init, poll_suite_clean, NULL, NULL, poll_tests },
		CU_SUITE_INFO_NULL,
	};

	signal(SIGPIPE, SIG_IGN);
	return pv_test_main(suites);
}
