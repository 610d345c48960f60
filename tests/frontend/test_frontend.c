/* SPDX-License-Identifier: MIT */
/*
 * libpvio-front's blkfront against an in-test back end (fake_back.c), and pvio-fuse.
 *
 * The suite starts a real pvio-simd in a fresh rundir and creates domain 1, the guest.
 * This process plays the toolstack (dom0: writes the vbd's nodes) and the guest (domain 1:
 * blkfront); a forked child plays the back end (dom0), honest or hostile as each test
 * chooses.  The fake's disk is memory shared with this process, so every write is checked
 * where it landed, not only by reading it back.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pv_test.h"
#include "pv_simtest.h"
#include "pv_platform.h"
#include "pv_blkfront.h"
#include "sim/pv_sim.h"
#include "fake_back.h"

#define FE_DOM 1u
#define DEVID  51728u /* xvdb */
#define SECTORS 16384u /* 8 MiB */

static struct pv_simtest T;
static uint64_t rng = 0x9E3779B97F4A7C15ull;

static uint64_t rnd(uint64_t bound)
{
	return pv_simtest_rand(&rng, bound);
}

/* The toolstack's part (docs/protocol.md): both directories, fresh, with their perms. */
static int attach(unsigned int devid)
{
	char be[200], fe[200], path[300];
	const struct pv_xs_perm be_perms[] = { { 0, PV_XS_PERM_NONE }, { FE_DOM, PV_XS_PERM_READ } };
	const struct pv_xs_perm fe_perms[] = { { FE_DOM, PV_XS_PERM_NONE }, { 0, PV_XS_PERM_READ } };
	int rc = 0;

	snprintf(be, sizeof(be), "/local/domain/0/backend/vbd/%u/%u", FE_DOM, devid);
	snprintf(fe, sizeof(fe), "/local/domain/%u/device/vbd/%u", FE_DOM, devid);
	pv_xs_rm(T.dom0, 0, be);
	pv_xs_rm(T.dom0, 0, fe);
	/* Permissions first: nodes created below inherit them. */
	if (pv_xs_mkdir(T.dom0, 0, be) < 0 || pv_xs_mkdir(T.dom0, 0, fe) < 0 ||
	    pv_xs_set_perms(T.dom0, 0, be, be_perms, 2) < 0 || pv_xs_set_perms(T.dom0, 0, fe, fe_perms, 2) < 0)
		return -EIO;
#define W(dir, node, ...)							\
	do {									\
		snprintf(path, sizeof(path), "%s/%s", dir, node);		\
		if (rc == 0)							\
			rc = pv_xs_printf(T.dom0, 0, path, __VA_ARGS__);		\
	} while (0)
	W(be, "frontend", "%s", fe);
	W(be, "frontend-id", "%u", FE_DOM);
	W(be, "mode", "w");
	W(be, "state", "1");
	W(fe, "backend", "%s", be);
	W(fe, "backend-id", "0");
	W(fe, "virtual-device", "%u", devid);
	W(fe, "state", "1");
#undef W
	return rc;
}

static int suite_init(void)
{
	if (pv_simtest_start(&T, "pvio-test-front", FE_DOM) < 0)
		return -1;
	return attach(DEVID) < 0 ? -1 : 0;
}

/* 0 only if pvio-simd exited cleanly (under ASan: with no leak). */
static int suite_clean(void)
{
	return pv_simtest_stop(&T);
}

/* ---- helpers ------------------------------------------------------------------------- */

static struct fake_cfg base_cfg(void)
{
	return (struct fake_cfg){
		.devid = DEVID, .fe_domid = FE_DOM, .sectors = SECTORS, .sector_size = 512,
		.max_ring_order = -1, .max_queues = -1, .flush = 1,
	};
}

/* A fresh guest platform handle and a fake back end with cfg; attach() first. */
static int start(struct fake *f, const struct fake_cfg *cfg, struct pv_platform **p)
{
	int rc;

	rc = attach(cfg->devid);
	if (rc < 0)
		return rc;
	rc = fake_start(f, T.rundir, cfg);
	if (rc < 0)
		return rc;
	return pv_simtest_open(&T, FE_DOM, p);
}

static void stop(struct fake *f, struct pv_platform *p)
{
	if (p)
		pv_platform_close(p);
	CU_ASSERT_EQUAL(fake_stop(f), 0); /* the fake did not crash either */
}

struct aio {
	struct pv_blkfront_io io;
	uint8_t *buf;
	int busy, status, calls;
};

static void aio_done(struct pv_blkfront_io *io, int status)
{
	struct aio *a = io->opaque;

	a->status = status;
	a->busy = 0;
	a->calls++;
}

/*
 * Random ios (sector multiples up to max_bytes) at queue depth qd, count of them in
 * [base, base + span), the first `writes` writes and the rest reads, no two in flight
 * overlapping; each checked against the fake's disk once it completes (nothing else writes
 * the range meanwhile).  Through the whole handle (queue -1) or one queue's calls, so a
 * queue's thread runs it too (rng: its own).  Returns 0 or the first error.
 */
struct io_run {
	struct pv_blkfront *bf;
	int queue;
	struct fake *f;
	unsigned int qd, count, writes, ss;
	size_t max_bytes;
	uint64_t base, span, *rng;
	unsigned int ios;   /* out: completed */
};

static int run_ios(struct io_run *r)
{
	struct aio *a = calloc(r->qd, sizeof(*a));
	unsigned int issued = 0, done = 0, i, j;
	int rc = 0, n;

	if (!a)
		return -ENOMEM;
	for (i = 0; i < r->qd; i++)
		if (!(a[i].buf = malloc(r->max_bytes)))
			rc = -ENOMEM;
	while (!rc && done < r->count) {
		for (i = 0; i < r->qd && issued < r->count; i++) {
			size_t len = (1 + pv_simtest_rand(r->rng, r->max_bytes / r->ss)) * r->ss;
			uint64_t off = r->base + pv_simtest_rand(r->rng, (r->span - len) / r->ss + 1) * r->ss;
			int wr = issued < r->writes;

			if (a[i].busy)
				continue;
			for (j = 0; j < r->qd; j++)
				if (a[j].busy && off < a[j].io.offset + a[j].io.len &&
				    a[j].io.offset < off + len)
					break;
			if (j < r->qd)
				continue;
			for (size_t b = 0; wr && b < len; b++)
				a[i].buf[b] = (uint8_t)pv_simtest_rand(r->rng, 256);
			a[i].io = (struct pv_blkfront_io){ .op = wr ? PV_BLKFRONT_WRITE : PV_BLKFRONT_READ,
							  .offset = off, .len = len, .buf = a[i].buf,
							  .done = aio_done, .opaque = &a[i] };
			rc = r->queue < 0 ? pv_blkfront_submit(r->bf, &a[i].io) :
			     pv_blkfront_queue_submit(r->bf, (unsigned int)r->queue, &a[i].io);
			if (rc == -EAGAIN) {
				rc = 0;
				break;
			}
			if (rc < 0)
				break;
			a[i].busy = 1;
			issued++;
		}
		if (rc)
			break;
		if (r->queue < 0) {
			pv_blkfront_kick(r->bf);
			n = pv_blkfront_poll(r->bf, 5000);
		} else {
			pv_blkfront_queue_kick(r->bf, (unsigned int)r->queue);
			n = pv_blkfront_queue_poll(r->bf, (unsigned int)r->queue, 5000);
		}
		if (n <= 0) {
			rc = n < 0 ? n : -ETIMEDOUT;
			break;
		}
		done += (unsigned int)n;
		for (i = 0; i < r->qd; i++) {
			if (a[i].busy || !a[i].calls)
				continue;
			a[i].calls = 0;
			r->ios++;
			if (a[i].status) {
				rc = a[i].status;
				break;
			}
			if (memcmp(r->f->disk + a[i].io.offset, a[i].buf, a[i].io.len)) {
				rc = -EILSEQ;
				break;
			}
		}
	}
	while ((r->queue < 0 ? pv_blkfront_poll(r->bf, 100) :
		pv_blkfront_queue_poll(r->bf, (unsigned int)r->queue, 100)) > 0)
		;
	for (i = 0; i < r->qd; i++)
		free(a[i].buf);
	free(a);
	return rc;
}

/* Random writes over the whole disk through the whole handle (see run_ios()). */
static int random_writes(struct pv_blkfront *bf, struct fake *f, unsigned int qd, unsigned int count,
			 size_t max_bytes, unsigned int ss)
{
	struct io_run r = { .bf = bf, .queue = -1, .f = f, .qd = qd, .count = count,
			    .writes = count, .ss = ss, .max_bytes = max_bytes, .base = 0,
			    .span = f->disk_bytes, .rng = &rng };

	return run_ios(&r);
}

/* Random reads through the sync API, compared with the fake's disk. */
static int random_reads(struct pv_blkfront *bf, struct fake *f, unsigned int count, size_t max_bytes,
			unsigned int ss)
{
	uint8_t *buf = malloc(max_bytes);
	int rc = 0;

	if (!buf)
		return -ENOMEM;
	while (count-- && !rc) {
		size_t len = (1 + rnd(max_bytes / ss)) * ss;
		uint64_t off = rnd((f->disk_bytes - len) / ss + 1) * ss;
		ssize_t n = pv_blkfront_pread(bf, buf, len, off);

		if (n != (ssize_t)len)
			rc = n < 0 ? (int)n : -EIO;
		else if (memcmp(buf, f->disk + off, len))
			rc = -EILSEQ;
	}
	free(buf);
	return rc;
}

/* ---- functional ---------------------------------------------------------------------- */

static void test_matrix(void)
{
	unsigned int order, pers, ind, queues;

	for (order = 0; order <= 4; order += 4)
		for (pers = 0; pers < 2; pers++)
			for (ind = 0; ind < 2; ind++)
				for (queues = 1; queues <= 4; queues += 3) {
					struct fake_cfg c = base_cfg();
					struct pv_platform *p = NULL;
					struct pv_blkfront *bf = NULL;
					struct pv_blkfront_info in;
					struct pv_blkfront_stats st;
					struct fake f;
					int rc;

					c.max_ring_order = order ? (int)order : -1;
					c.persistent = (int)pers;
					c.indirect = ind ? 256 : 0;
					c.max_queues = queues > 1 ? (int)queues : -1;
					c.discard = 1;
					CU_ASSERT_EQUAL_FATAL(start(&f, &c, &p), 0);
					rc = pv_blkfront_open(p, DEVID, NULL, &bf);
					CU_ASSERT_EQUAL(rc, 0);
					if (rc == 0) {
						CU_ASSERT_EQUAL(pv_blkfront_info(bf, &in), 0);
						CU_ASSERT_EQUAL(in.sectors, SECTORS);
						CU_ASSERT_EQUAL(in.sector_size, 512);
						CU_ASSERT_EQUAL(in.ring_pages, 1u << order);
						CU_ASSERT_EQUAL(in.ring_slots, 32u << order);
						CU_ASSERT_EQUAL(in.queues, queues);
						CU_ASSERT_EQUAL(in.persistent, (int)pers);
						/* 1024 pages per device: 4 queues get 128-segment requests */
						CU_ASSERT_EQUAL(in.indirect_segments,
								ind ? (queues == 4 ? 128u : 256u) : 0u);
						CU_ASSERT_EQUAL(f.seen->ring_pages, 1u << order);
						CU_ASSERT_EQUAL(f.seen->queues, queues);
						CU_ASSERT_EQUAL(f.seen->protocol_ok, 1);
						CU_ASSERT_EQUAL(random_writes(bf, &f, 8, 200, 384 << 10, 512), 0);
						CU_ASSERT_EQUAL(random_reads(bf, &f, 50, 384 << 10, 512), 0);
						CU_ASSERT_EQUAL(pv_blkfront_flush(bf), 0);
						CU_ASSERT(f.seen->flushes >= 1);
						/* Discard zeroes on this back end: the range reads back as zeros. */
						CU_ASSERT_EQUAL(pv_blkfront_discard(bf, 4096 * 3, 8192), 0);
						CU_ASSERT_EQUAL(f.disk[4096 * 3 + 100], 0);
						pv_blkfront_get_stats(bf, &st);
						CU_ASSERT(st.requests == st.responses);
						CU_ASSERT_EQUAL(st.bad_responses, 0);
						CU_ASSERT_EQUAL(st.persistent_hits > 0, (int)pers);
						CU_ASSERT_EQUAL(st.indirect_requests > 0, (int)ind);
						CU_ASSERT_EQUAL(f.seen->indirect > 0, (int)ind);
						CU_ASSERT(f.seen->max_segs <= (ind ? 256u : 11u));
						if (ind)
							CU_ASSERT(f.seen->max_segs > 11u);
						if (queues > 1)
							CU_ASSERT(st.kicks >= 1);
						/* Grants: only rings and pools when persistent, per request otherwise. */
						if (pers) {
							CU_ASSERT(st.grants_shared <= 4u * (1024 + 16));
						} else {
							CU_ASSERT(st.grants_shared > st.requests / 2);
						}
					}
					pv_blkfront_close(bf);
					stop(&f, p);
				}
}

static void test_queue_depths(void)
{
	static const unsigned int qds[] = { 1, 2, 3, 4, 8, 16, 31, 32, 33, 64 };
	unsigned int k, queues;

	for (queues = 1; queues <= 4; queues += 3) {
		struct fake_cfg c = base_cfg();
		struct pv_platform *p = NULL;
		struct pv_blkfront *bf = NULL;
		struct fake f;

		c.max_queues = (int)queues;
		c.persistent = 1;
		CU_ASSERT_EQUAL_FATAL(start(&f, &c, &p), 0);
		CU_ASSERT_EQUAL(pv_blkfront_open(p, DEVID, NULL, &bf), 0);
		for (k = 0; bf && k < sizeof(qds) / sizeof(qds[0]); k++) {
			int rc = random_writes(bf, &f, qds[k], 300, 8192, 512);

			if (rc)
				fprintf(stderr, "queues %u qd %u: %s\n", queues, qds[k], strerror(-rc));
			CU_ASSERT_EQUAL(rc, 0);
		}
		pv_blkfront_close(bf);
		stop(&f, p);
	}
}

/* A 4 MiB io on a small ring: split, partly held back, finished as slots come free. */
static void test_large_io(void)
{
	unsigned int ind;

	for (ind = 0; ind < 2; ind++) {
		struct fake_cfg c = base_cfg();
		struct pv_platform *p = NULL;
		struct pv_blkfront *bf = NULL;
		size_t len = 4u << 20;
		uint8_t *buf = malloc(len), *back = malloc(len);
		struct fake f;

		c.indirect = ind ? 64 : 0;
		c.persistent = (int)ind;
		CU_ASSERT_EQUAL_FATAL(start(&f, &c, &p), 0);
		CU_ASSERT_EQUAL(pv_blkfront_open(p, DEVID, NULL, &bf), 0);
		for (size_t i = 0; i < len; i++)
			buf[i] = (uint8_t)(i * 7 + (i >> 12));
		CU_ASSERT_EQUAL(pv_blkfront_pwrite(bf, buf, len, 512 * 3), (ssize_t)len);
		CU_ASSERT_EQUAL(memcmp(f.disk + 512 * 3, buf, len), 0);
		CU_ASSERT_EQUAL(pv_blkfront_pread(bf, back, len, 512 * 3), (ssize_t)len);
		CU_ASSERT_EQUAL(memcmp(back, buf, len), 0);
		/* The whole disk in one read, and the very last sector. */
		CU_ASSERT_EQUAL(pv_blkfront_pread(bf, back, 512, (SECTORS - 1) * 512ull), 512);
		pv_blkfront_close(bf);
		stop(&f, p);
		free(buf);
		free(back);
	}
}

static void test_invalid_ios(void)
{
	struct fake_cfg c = base_cfg();
	struct pv_platform *p = NULL;
	struct pv_blkfront *bf = NULL;
	struct pv_blkfront_io io = { .op = PV_BLKFRONT_READ };
	uint8_t buf[8192];
	struct fake f;

	c.flush = 0;
	c.sector_size = 4096;
	CU_ASSERT_EQUAL_FATAL(start(&f, &c, &p), 0);
	CU_ASSERT_EQUAL_FATAL(pv_blkfront_open(p, DEVID, NULL, &bf), 0);
	CU_ASSERT_EQUAL(pv_blkfront_pread(bf, buf, 512, 0), -EINVAL);      /* < sector-size */
	CU_ASSERT_EQUAL(pv_blkfront_pread(bf, buf, 4096, 512), -EINVAL);   /* misaligned */
	CU_ASSERT_EQUAL(pv_blkfront_pread(bf, buf, 4095, 0), -EINVAL);
	CU_ASSERT_EQUAL(pv_blkfront_pread(bf, buf, 0, 0), -EINVAL);
	CU_ASSERT_EQUAL(pv_blkfront_pread(bf, buf, 8192, SECTORS * 512ull - 4096), -EINVAL); /* past end */
	CU_ASSERT_EQUAL(pv_blkfront_pread(bf, buf, 4096, UINT64_MAX - 4095), -EINVAL);     /* wraps */
	CU_ASSERT_EQUAL(pv_blkfront_pread(bf, buf, 4096, SECTORS * 512ull - 4096), 4096);
	CU_ASSERT_EQUAL(pv_blkfront_flush(bf), -EINVAL);                   /* not offered */
	CU_ASSERT_EQUAL(pv_blkfront_discard(bf, 0, 4096), -EINVAL);        /* not offered */
	io.op = (enum pv_blkfront_op)42;
	io.len = 4096;
	io.buf = buf;
	CU_ASSERT_EQUAL(pv_blkfront_submit(bf, &io), -EINVAL);
	io.op = PV_BLKFRONT_READ;
	io.buf = NULL;
	CU_ASSERT_EQUAL(pv_blkfront_submit(bf, &io), -EINVAL);
	CU_ASSERT_EQUAL(pv_blkfront_submit(NULL, &io), -EINVAL);
	CU_ASSERT_EQUAL(pv_blkfront_poll(bf, 0), 0);  /* nothing in flight */
	CU_ASSERT_EQUAL(pv_blkfront_poll(bf, -1), 0); /* nothing to wait for */
	CU_ASSERT(pv_blkfront_fd(bf) >= 0);
	pv_blkfront_close(bf);
	stop(&f, p);

	/* Read-only disk. */
	c = base_cfg();
	c.readonly = 1;
	c.discard = 1;
	CU_ASSERT_EQUAL_FATAL(start(&f, &c, &p), 0);
	CU_ASSERT_EQUAL_FATAL(pv_blkfront_open(p, DEVID, NULL, &bf), 0);
	CU_ASSERT_EQUAL(pv_blkfront_pwrite(bf, buf, 512, 0), -EROFS);
	CU_ASSERT_EQUAL(pv_blkfront_discard(bf, 0, 512), -EROFS);
	CU_ASSERT_EQUAL(pv_blkfront_pread(bf, buf, 512, 0), 512);
	pv_blkfront_close(bf);
	stop(&f, p);
}

/* BLKIF_RSP_ERROR and EOPNOTSUPP are clean per-io errors; the device stays usable. */
static void test_error_status(void)
{
	struct fake_cfg c = base_cfg();
	struct pv_platform *p = NULL;
	struct pv_blkfront *bf = NULL;
	struct pv_blkfront_stats st;
	uint8_t buf[65536];
	struct fake f;

	c.hostile = FAKE_ERROR_AT;
	c.error_sector = 100;
	CU_ASSERT_EQUAL_FATAL(start(&f, &c, &p), 0);
	CU_ASSERT_EQUAL_FATAL(pv_blkfront_open(p, DEVID, NULL, &bf), 0);
	CU_ASSERT_EQUAL(pv_blkfront_pread(bf, buf, 512, 100 * 512), -EIO);
	/* An io split in several requests, one of which fails: the io fails once. */
	CU_ASSERT_EQUAL(pv_blkfront_pread(bf, buf, sizeof(buf), 0), -EIO);
	CU_ASSERT_EQUAL(pv_blkfront_pread(bf, buf, sizeof(buf), 200 * 512), (ssize_t)sizeof(buf));
	pv_blkfront_get_stats(bf, &st);
	CU_ASSERT(st.errors >= 2);
	CU_ASSERT_EQUAL(st.bad_responses, 0);
	pv_blkfront_close(bf);
	stop(&f, p);

	c = base_cfg();
	c.hostile = FAKE_EOPNOTSUPP_FLUSH;
	CU_ASSERT_EQUAL_FATAL(start(&f, &c, &p), 0);
	CU_ASSERT_EQUAL_FATAL(pv_blkfront_open(p, DEVID, NULL, &bf), 0);
	CU_ASSERT_EQUAL(pv_blkfront_flush(bf), -EOPNOTSUPP);
	CU_ASSERT_EQUAL(pv_blkfront_pread(bf, buf, 512, 0), 512);
	pv_blkfront_close(bf);
	stop(&f, p);

	/* Only a barrier offered: flush uses it. */
	c = base_cfg();
	c.flush = 0;
	c.barrier = 1;
	CU_ASSERT_EQUAL_FATAL(start(&f, &c, &p), 0);
	CU_ASSERT_EQUAL_FATAL(pv_blkfront_open(p, DEVID, NULL, &bf), 0);
	CU_ASSERT_EQUAL(pv_blkfront_flush(bf), 0);
	CU_ASSERT_EQUAL(f.seen->barriers, 1);
	pv_blkfront_close(bf);
	stop(&f, p);
}

static void test_opts_limit(void)
{
	struct fake_cfg c = base_cfg();
	struct pv_blkfront_opts o = { .max_queues = 2, .max_ring_page_order = 1, .no_persistent = 1,
				      .max_indirect_segments = 32 };
	struct pv_platform *p = NULL;
	struct pv_blkfront *bf = NULL;
	struct pv_blkfront_info in;
	struct fake f;

	c.max_ring_order = 4;
	c.max_queues = 4;
	c.persistent = 1;
	c.indirect = 256;
	CU_ASSERT_EQUAL_FATAL(start(&f, &c, &p), 0);
	CU_ASSERT_EQUAL_FATAL(pv_blkfront_open(p, DEVID, &o, &bf), 0);
	pv_blkfront_info(bf, &in);
	CU_ASSERT_EQUAL(in.queues, 2);
	CU_ASSERT_EQUAL(in.ring_pages, 2);
	CU_ASSERT_EQUAL(in.persistent, 0);
	CU_ASSERT_EQUAL(f.seen->fe_persistent, 0);
	CU_ASSERT_EQUAL(in.indirect_segments, 32);
	CU_ASSERT_EQUAL(random_writes(bf, &f, 4, 50, 256 << 10, 512), 0);
	CU_ASSERT(f.seen->max_segs <= 32);
	pv_blkfront_close(bf);
	stop(&f, p);

	/* no_ring_order and no_indirect. */
	o = (struct pv_blkfront_opts){ .no_ring_order = 1, .no_indirect = 1 };
	CU_ASSERT_EQUAL_FATAL(start(&f, &c, &p), 0);
	CU_ASSERT_EQUAL_FATAL(pv_blkfront_open(p, DEVID, &o, &bf), 0);
	pv_blkfront_info(bf, &in);
	CU_ASSERT_EQUAL(in.ring_pages, 1);
	CU_ASSERT_EQUAL(in.indirect_segments, 0);
	CU_ASSERT_EQUAL(in.persistent, 1);
	CU_ASSERT_EQUAL(in.queues, 4);
	pv_blkfront_close(bf);
	stop(&f, p);
}

static void test_close_reopen(void)
{
	struct fake_cfg c = base_cfg();
	struct pv_platform *p = NULL;
	struct pv_blkfront *bf = NULL;
	struct pv_blkfront_info in;
	uint8_t buf[4096], back[4096];
	unsigned int round;
	struct fake f;

	c.max_ring_order = 4;
	c.max_queues = 4;
	c.persistent = 1;
	CU_ASSERT_EQUAL_FATAL(start(&f, &c, &p), 0);
	memset(buf, 0x5A, sizeof(buf));
	for (round = 0; round < 3; round++) {
		/*
		 * Fewer queues and pages each time, down to one queue and one page: nodes of the
		 * previous connection (multi-queue-num-queues, ring-page-order) must not survive.
		 */
		static const unsigned int queues[] = { 4, 2, 1 }, orders[] = { 4, 2, 0 };
		struct pv_blkfront_opts o = { .max_queues = queues[round], .max_ring_page_order = orders[round],
					      .no_ring_order = orders[round] == 0 };

		CU_ASSERT_EQUAL_FATAL(pv_blkfront_open(p, DEVID, &o, &bf), 0);
		pv_blkfront_info(bf, &in);
		CU_ASSERT_EQUAL(f.seen->queues, queues[round]);
		CU_ASSERT_EQUAL(f.seen->ring_pages, 1u << orders[round]);
		CU_ASSERT_EQUAL(in.queues, queues[round]);
		if (round)
			CU_ASSERT_EQUAL(pv_blkfront_pread(bf, back, sizeof(back), 8192), 4096);
		if (round)
			CU_ASSERT_EQUAL(memcmp(back, buf, sizeof(buf)), 0);
		buf[0] = (uint8_t)round;
		CU_ASSERT_EQUAL(pv_blkfront_pwrite(bf, buf, sizeof(buf), 8192), 4096);
		CU_ASSERT_EQUAL(pv_blkfront_disconnect(bf), 0);
		pv_blkfront_close(bf);
		bf = NULL;
	}
	CU_ASSERT_EQUAL(f.seen->connects, 3);
	stop(&f, p);
}

/* A guest process dies Connected; the next one walks the back end through Closing first. */
static void test_restart_after_crash(void)
{
	struct fake_cfg c = base_cfg();
	struct pv_platform *p = NULL;
	struct pv_blkfront *bf = NULL;
	uint8_t buf[512];
	struct fake f;
	pid_t pid;
	int st = 0;

	c.persistent = 1;
	CU_ASSERT_EQUAL_FATAL(start(&f, &c, &p), 0);
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		struct pv_platform *q;
		struct pv_blkfront *b;

		if (pv_simtest_open(&T, FE_DOM, &q) < 0 || pv_blkfront_open(q, DEVID, NULL, &b) < 0)
			_exit(1);
		_exit(pv_blkfront_pwrite(b, "x", 1, 0) == -EINVAL ? 0 : 1); /* dies Connected */
	}
	waitpid(pid, &st, 0);
	CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CU_ASSERT_EQUAL(f.seen->connects, 1);
	CU_ASSERT_EQUAL(pv_blkfront_open(p, DEVID, NULL, &bf), 0);
	CU_ASSERT_EQUAL(f.seen->connects, 2);
	CU_ASSERT(f.seen->closes >= 1);
	/* The reconnected device works: the back end reaches the new process's ring and pages,
	 * never the dead one's (the sim refuses new pins on a dead granter's table). */
	memset(buf, 0xA7, sizeof(buf));
	CU_ASSERT_EQUAL(pv_blkfront_pwrite(bf, buf, sizeof(buf), 4096), (ssize_t)sizeof(buf));
	memset(buf, 0, sizeof(buf));
	CU_ASSERT_EQUAL(pv_blkfront_pread(bf, buf, sizeof(buf), 4096), (ssize_t)sizeof(buf));
	CU_ASSERT_EQUAL(buf[0], 0xA7);
	CU_ASSERT_EQUAL(buf[511], 0xA7);
	pv_blkfront_close(bf);
	stop(&f, p);
}

/* Close while requests are in flight: close waits for them, each done() runs once. */
static void test_close_inflight(void)
{
	struct fake_cfg c = base_cfg();
	struct pv_platform *p = NULL;
	struct pv_blkfront *bf = NULL;
	struct aio a[24];
	unsigned int i, calls = 0, ok = 0;
	struct fake f;

	c.delay_us = 20000;
	c.persistent = 1;
	CU_ASSERT_EQUAL_FATAL(start(&f, &c, &p), 0);
	CU_ASSERT_EQUAL_FATAL(pv_blkfront_open(p, DEVID, NULL, &bf), 0);
	for (i = 0; i < 24; i++) {
		a[i] = (struct aio){ .buf = malloc(8192), .busy = 1 };
		memset(a[i].buf, (int)i, 8192);
		a[i].io = (struct pv_blkfront_io){ .op = PV_BLKFRONT_WRITE, .offset = i * 8192ull, .len = 8192,
						  .buf = a[i].buf, .done = aio_done, .opaque = &a[i] };
		CU_ASSERT_EQUAL(pv_blkfront_submit(bf, &a[i].io), 0);
	}
	pv_blkfront_kick(bf);
	pv_blkfront_close(bf);
	for (i = 0; i < 24; i++) {
		calls += (unsigned int)a[i].calls;
		ok += a[i].calls == 1 && a[i].status == 0 && f.disk[i * 8192] == (uint8_t)i;
		free(a[i].buf);
	}
	CU_ASSERT_EQUAL(calls, 24);
	CU_ASSERT_EQUAL(ok, 24);
	stop(&f, p);
}

/* ---- hostile back ends -------------------------------------------------------------- */

static void test_open_errors(void)
{
	struct fake_cfg c = base_cfg();
	struct pv_blkfront_opts o = { .timeout_ms = 400 };
	struct pv_platform *p = NULL;
	struct pv_blkfront *bf = NULL;
	struct fake f;

	/* No such device. */
	CU_ASSERT_EQUAL_FATAL(start(&f, &c, &p), 0);
	CU_ASSERT_EQUAL(pv_blkfront_open(p, 51744, &o, &bf), -ENOENT);
	CU_ASSERT_PTR_NULL(bf);
	CU_ASSERT_EQUAL(pv_blkfront_open(NULL, DEVID, &o, &bf), -EINVAL);
	stop(&f, p);

	/* A back end that never reaches InitWait. */
	c.hostile = FAKE_SILENT;
	CU_ASSERT_EQUAL_FATAL(start(&f, &c, &p), 0);
	CU_ASSERT_EQUAL(pv_blkfront_open(p, DEVID, &o, &bf), -ETIMEDOUT);
	stop(&f, p);

	/* A back end that refuses our rings: Closing instead of Connected. */
	c.hostile = FAKE_REFUSE;
	CU_ASSERT_EQUAL_FATAL(start(&f, &c, &p), 0);
	CU_ASSERT_EQUAL(pv_blkfront_open(p, DEVID, &o, &bf), -EPROTO);
	stop(&f, p);
}

struct node_case {
	const char *name, *value;
	int at_connect;
	int want;                 /* open's result */
	unsigned int ring_pages, queues, indirect;
	const char *name2, *value2; /* a second node, so one check cannot hide behind another */
};

static void test_hostile_nodes(void)
{
	static const struct node_case cases[] = {
		{ "max-ring-page-order", "99", 0, 0, 16, 1, 0 },     /* clamped, as Linux */
		{ "max-ring-page-order", "-1", 0, -EPROTO, 0, 0, 0 },
		{ "max-ring-page-order", "4294967296", 0, -EPROTO, 0, 0, 0 },
		{ "multi-queue-max-queues", "0", 0, -EPROTO, 0, 0, 0 },
		{ "multi-queue-max-queues", "100000", 0, 0, 1, 4, 0 }, /* clamped */
		{ "multi-queue-max-queues", "two", 0, -EPROTO, 0, 0, 0 },
		{ "feature-max-indirect-segments", "4294967296", 1, -EPROTO, 0, 0, 0 },
		{ "feature-max-indirect-segments", "4294967295", 1, 0, 1, 1, 256 },
		{ "sectors", "abc", 1, -EPROTO, 0, 0, 0 },
		{ "sectors", "", 1, -EPROTO, 0, 0, 0 },
		{ "sectors", "36028797018963968", 1, -EPROTO, 0, 0, 0 }, /* 2^55: bytes overflow */
		{ "sector-size", "0", 1, -EPROTO, 0, 0, 0 },
		{ "sector-size", "0", 1, -EPROTO, 0, 0, 0, "physical-sector-size", "4096" },
		{ "sector-size", "3", 1, -EPROTO, 0, 0, 0 },
		{ "sector-size", "3", 1, -EPROTO, 0, 0, 0, "physical-sector-size", "4096" },
		{ "sector-size", "1073741824", 1, -EPROTO, 0, 0, 0 },
		{ "sector-size", "1073741824", 1, -EPROTO, 0, 0, 0, "physical-sector-size", "4096" },
		{ "physical-sector-size", "256", 1, -EPROTO, 0, 0, 0 },
		{ "feature-persistent", "yes", 1, -EPROTO, 0, 0, 0 },
		{ "info", "12x", 1, -EPROTO, 0, 0, 0 },
	};
	unsigned int i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct node_case *k = &cases[i];
		struct fake_cfg c = base_cfg();
		struct pv_blkfront_opts o = { .timeout_ms = 3000 };
		struct pv_platform *p = NULL;
		struct pv_blkfront *bf = NULL;
		struct pv_blkfront_info in;
		struct fake_node *n = k->at_connect ? c.connect_nodes : c.init_nodes;
		struct fake f;
		uint8_t buf[512];
		int rc;

		snprintf(n[0].name, sizeof(n[0].name), "%s", k->name);
		snprintf(n[0].value, sizeof(n[0].value), "%s", k->value);
		if (k->name2) {
			snprintf(n[1].name, sizeof(n[1].name), "%s", k->name2);
			snprintf(n[1].value, sizeof(n[1].value), "%s", k->value2);
		}
		CU_ASSERT_EQUAL_FATAL(start(&f, &c, &p), 0);
		rc = pv_blkfront_open(p, DEVID, &o, &bf);
		if (rc != k->want)
			fprintf(stderr, "%s=%s: open %d, want %d\n", k->name, k->value, rc, k->want);
		CU_ASSERT_EQUAL(rc, k->want);
		if (rc == 0) {
			pv_blkfront_info(bf, &in);
			CU_ASSERT_EQUAL(in.ring_pages, k->ring_pages);
			CU_ASSERT_EQUAL(in.queues, k->queues);
			CU_ASSERT_EQUAL(in.indirect_segments, k->indirect);
			CU_ASSERT_EQUAL(pv_blkfront_pread(bf, buf, sizeof(buf), 0), 512);
			pv_blkfront_close(bf);
		} else {
			CU_ASSERT_PTR_NULL(bf);
			/* The front end still closed properly, so the fake saw it go. */
			CU_ASSERT(f.seen->closes >= 1);
		}
		stop(&f, p);
	}
}

static void test_hostile_responses(void)
{
	static const enum fake_hostile modes[] = {
		FAKE_UNKNOWN_ID, FAKE_DUP_RSP, FAKE_NOT_IN_FLIGHT, FAKE_RSP_PROD, FAKE_BAD_OP,
		FAKE_BAD_STATUS, FAKE_STALE_GEN,
	};
	unsigned int i, pers;

	for (pers = 0; pers < 2; pers++)
		for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
			struct fake_cfg c = base_cfg();
			struct pv_platform *p = NULL;
			struct pv_blkfront *bf = NULL;
			struct pv_blkfront_stats st;
			struct aio a[4];
			unsigned int k, calls = 0;
			int rc = 0, n;
			struct fake f;

			c.hostile = modes[i];
			c.persistent = (int)pers;
			CU_ASSERT_EQUAL_FATAL(start(&f, &c, &p), 0);
			CU_ASSERT_EQUAL_FATAL(pv_blkfront_open(p, DEVID, NULL, &bf), 0);
			for (k = 0; k < 4; k++) {
				a[k] = (struct aio){ .buf = malloc(4096), .busy = 1 };
				a[k].io = (struct pv_blkfront_io){ .op = PV_BLKFRONT_READ, .offset = k * 4096ull,
								  .len = 4096, .buf = a[k].buf,
								  .done = aio_done, .opaque = &a[k] };
				CU_ASSERT_EQUAL(pv_blkfront_submit(bf, &a[k].io), 0);
			}
			pv_blkfront_kick(bf);
			for (k = 0; k < 20 && rc == 0; k++) {
				n = pv_blkfront_poll(bf, 1000);
				if (n < 0)
					rc = n;
			}
			if (rc != -EPROTO)
				fprintf(stderr, "hostile mode %d: poll %d\n", (int)modes[i], rc);
			CU_ASSERT_EQUAL(rc, -EPROTO);
			pv_blkfront_get_stats(bf, &st);
			CU_ASSERT(st.bad_responses >= 1);
			/* Every io completed exactly once, the rest with -EPROTO. */
			for (k = 0; k < 4; k++) {
				calls += (unsigned int)a[k].calls;
				CU_ASSERT(a[k].status == 0 || a[k].status == -EPROTO || a[k].status == -EIO);
			}
			CU_ASSERT_EQUAL(calls, 4);
			CU_ASSERT_EQUAL(pv_blkfront_submit(bf, &a[0].io), -EPROTO);
			CU_ASSERT_EQUAL(pv_blkfront_poll(bf, 0), -EPROTO);
			CU_ASSERT_EQUAL(pv_blkfront_pread(bf, a[0].buf, 512, 0), -EPROTO);
			pv_blkfront_close(bf);
			for (k = 0; k < 4; k++)
				free(a[k].buf);
			stop(&f, p);
		}
}

/* The back end goes Closing with a request unanswered: the io fails, nothing hangs. */
static void test_close_mid_io(void)
{
	struct fake_cfg c = base_cfg();
	struct pv_platform *p = NULL;
	struct pv_blkfront *bf = NULL;
	uint8_t buf[4096];
	struct fake f;

	c.hostile = FAKE_CLOSE_MID_IO;
	CU_ASSERT_EQUAL_FATAL(start(&f, &c, &p), 0);
	CU_ASSERT_EQUAL_FATAL(pv_blkfront_open(p, DEVID, NULL, &bf), 0);
	CU_ASSERT_EQUAL(pv_blkfront_pread(bf, buf, sizeof(buf), 0), -ENOTCONN);
	CU_ASSERT_EQUAL(pv_blkfront_pread(bf, buf, sizeof(buf), 0), -ENOTCONN);
	CU_ASSERT_EQUAL(pv_blkfront_disconnect(bf), 0);
	pv_blkfront_close(bf);
	stop(&f, p);
}

/* A back end that keeps one of our pages mapped: disconnect reports it, nothing crashes. */
static void test_keep_mapped(void)
{
	unsigned int pers;

	for (pers = 0; pers < 2; pers++) {
		struct fake_cfg c = base_cfg();
		struct pv_platform *p = NULL;
		struct pv_blkfront *bf = NULL;
		uint8_t buf[4096];
		struct fake f;

		c.hostile = FAKE_KEEP_MAPPED;
		c.persistent = (int)pers;
		CU_ASSERT_EQUAL_FATAL(start(&f, &c, &p), 0);
		CU_ASSERT_EQUAL_FATAL(pv_blkfront_open(p, DEVID, NULL, &bf), 0);
		CU_ASSERT_EQUAL(pv_blkfront_pread(bf, buf, sizeof(buf), 0), 4096);
		CU_ASSERT_EQUAL(pv_blkfront_pread(bf, buf, sizeof(buf), 4096), 4096);
		CU_ASSERT_EQUAL(pv_blkfront_disconnect(bf), -EBUSY);
		pv_blkfront_close(bf);
		stop(&f, p);
	}
}

/* ---- pvio-fuse ----------------------------------------------------------------------- */

static void test_fuse(void)
{
	struct fake_cfg c = base_cfg();
	char mnt[600], file[700], spec[600];
	struct fake f;
	struct stat sb;
	pid_t pid;
	int st = 0, i;

	if (access("/dev/fuse", R_OK | W_OK) != 0) {
		CU_FAIL("/dev/fuse is not usable here: pvio-fuse not tested");
		return;
	}
	c.sectors = 128u << 11; /* 128 MiB */
	c.max_ring_order = 4;
	c.max_queues = 2;
	c.persistent = 1;
	c.indirect = 64;
	c.discard = 1;
	CU_ASSERT_EQUAL_FATAL(attach(DEVID), 0);
	CU_ASSERT_EQUAL_FATAL(fake_start(&f, T.rundir, &c), 0);
	snprintf(mnt, sizeof(mnt), "%s/mnt", T.rundir);
	snprintf(file, sizeof(file), "%s/disk", mnt);
	snprintf(spec, sizeof(spec), "sim:%s:%u", T.rundir, FE_DOM);
	mkdir(mnt, 0700);
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		execl(pv_simtest_bin("pvio-fuse"), "pvio-fuse", "--platform", spec, "--vdev", "xvdb", "-f",
		      mnt, (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 500; i++) {
		if (stat(file, &sb) == 0 && sb.st_size == (off_t)(c.sectors * 512))
			break;
		if (waitpid(pid, &st, WNOHANG) == pid) {
			pid = -1;
			break;
		}
		usleep(10000);
	}
	CU_ASSERT_EQUAL(sb.st_size, (off_t)(c.sectors * 512));
	if (pid > 0 && i < 500) {
		CU_ASSERT_EQUAL(pv_simtest_sh("mkfs.ext4 -q -F %s >/dev/null 2>&1", file), 0);
		CU_ASSERT_EQUAL(pv_simtest_sh("e2fsck -fn %s >/dev/null 2>&1", file), 0);
		CU_ASSERT(f.seen->discards > 0); /* mkfs punched holes: discard */
		if (access("/usr/bin/fio", X_OK) != 0 && pv_simtest_sh("command -v fio >/dev/null") != 0) {
			CU_FAIL("fio is not installed: its verify jobs were skipped");
		} else {
			CU_ASSERT_EQUAL(pv_simtest_sh("fio --name=psync --filename=%s --ioengine=psync --rw=randwrite "
					    "--bs=4k --size=16M --offset=64M --verify=crc32c --do_verify=1 --verify_state_save=0 "
					    "--output=/dev/null", file), 0);
			CU_ASSERT_EQUAL(pv_simtest_sh("fio --name=aio --filename=%s --ioengine=libaio --iodepth=8 "
					    "--rw=randwrite --bsrange=512-64k --size=16M --offset=96M "
					    "--verify=crc32c --do_verify=1 --verify_state_save=0 --fsync=32 --output=/dev/null", file), 0);
		}
		/* Unaligned I/O through the file: read-modify-write on sector boundaries. */
		{
			int fd = open(file, O_RDWR);
			char msg[] = "unaligned write across a sector boundary";
			char back[sizeof(msg)];

			CU_ASSERT(fd >= 0);
			if (fd >= 0) {
				CU_ASSERT_EQUAL(pwrite(fd, msg, sizeof(msg), 120u << 20 | 500), (ssize_t)sizeof(msg));
				CU_ASSERT_EQUAL(fsync(fd), 0);
				CU_ASSERT_EQUAL(memcmp(f.disk + (120u << 20 | 500), msg, sizeof(msg)), 0);
				CU_ASSERT_EQUAL(pread(fd, back, sizeof(back), 120u << 20 | 500), (ssize_t)sizeof(back));
				CU_ASSERT_EQUAL(memcmp(back, msg, sizeof(msg)), 0);
				close(fd);
			}
		}
		CU_ASSERT(f.seen->flushes > 0);
		CU_ASSERT_EQUAL(pv_simtest_sh("fusermount3 -u %s", mnt), 0);
		waitpid(pid, &st, 0);
		CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
		/* pvio-fuse closed the device properly on unmount. */
		CU_ASSERT(f.seen->closes >= 1);

		/* Again, ended by SIGTERM this time: it unmounts, flushes and closes as well. */
		fflush(NULL);
		pid = fork();
		if (pid == 0) {
			execl(pv_simtest_bin("pvio-fuse"), "pvio-fuse", "--platform", spec, "--vdev", "51728", "-f",
			      mnt, (char *)NULL);
			_exit(127);
		}
		for (i = 0; i < 500 && stat(file, &sb) != 0; i++)
			usleep(10000);
		CU_ASSERT(i < 500);
		CU_ASSERT_EQUAL(pv_simtest_sh("e2fsck -fn %s >/dev/null 2>&1", file), 0);
		kill(pid, SIGTERM);
		waitpid(pid, &st, 0);
		CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
		CU_ASSERT(f.seen->closes >= 2);
		CU_ASSERT(stat(file, &sb) != 0); /* unmounted */
	} else {
		if (pid > 0) {
			kill(pid, SIGTERM);
			waitpid(pid, &st, 0);
		}
		CU_FAIL("pvio-fuse did not come up");
	}
	CU_ASSERT_EQUAL(fake_stop(&f), 0);
}

/* ---- polling (pv_blkfront_set_notify) ------------------------------------------------ */

/*
 * Writes then reads back count ios of up to 8 KiB at queue depth qd, every write checked
 * on the fake's disk and every read against it; done() must come exactly once per io.
 * Returns 0 or the first error.
 */
static int exactly_once(struct pv_blkfront *bf, struct fake *f, unsigned int qd, unsigned int count)
{
	struct aio *a = calloc(qd, sizeof(*a));
	/* used: slot submitted at least once; checked: its last io looked at */
	uint8_t *used = calloc(qd, 1), *checked = calloc(qd, 1);
	unsigned int issued, done, pass, i;
	int rc = 0;

	if (!a || !used || !checked)
		rc = -ENOMEM;
	for (i = 0; !rc && i < qd; i++)
		if (!(a[i].buf = malloc(8192)))
			rc = -ENOMEM;
	for (pass = 0; pass < 2 && !rc; pass++) {
		issued = done = 0;
		while (!rc && done < count) {
			for (i = 0; i < qd && issued < count; i++) {
				/* io k of the pass: a slot of its own (no overlap), sizes 512..8192 */
				size_t len = (size_t)(1 + issued % 16) * 512;
				uint64_t off = (uint64_t)issued * 8192 % (f->disk_bytes - 8192);

				if (a[i].busy || (used[i] && !checked[i]))
					continue;
				if (pass == 0)
					for (size_t b = 0; b < len; b++)
						a[i].buf[b] = (uint8_t)rnd(256);
				else
					memset(a[i].buf, 0xEE, len);
				a[i].io = (struct pv_blkfront_io){
					.op = pass ? PV_BLKFRONT_READ : PV_BLKFRONT_WRITE, .offset = off,
					.len = len, .buf = a[i].buf, .done = aio_done, .opaque = &a[i] };
				a[i].calls = 0;
				a[i].busy = 1;
				rc = pv_blkfront_submit(bf, &a[i].io);
				if (rc < 0) {
					a[i].busy = 0;
					rc = rc == -EAGAIN ? 0 : rc;
					break;
				}
				used[i] = 1;
				checked[i] = 0;
				issued++;
			}
			if (rc)
				break;
			pv_blkfront_kick(bf);
			int n = pv_blkfront_poll(bf, 5000);

			if (n <= 0) {
				rc = n < 0 ? n : -ETIMEDOUT;
				break;
			}
			done += (unsigned int)n;
			for (i = 0; i < qd && !rc; i++) {
				if (!used[i] || checked[i] || a[i].busy)
					continue;
				if (a[i].calls != 1)
					rc = -EALREADY;
				else if (a[i].status)
					rc = a[i].status;
				else if (memcmp(f->disk + a[i].io.offset, a[i].buf, a[i].io.len))
					rc = -EILSEQ;
				checked[i] = 1;
			}
		}
		/* Nothing answered twice after the last io either. */
		if (!rc && pv_blkfront_poll(bf, 0) != 0)
			rc = -EALREADY;
		for (i = 0; i < qd && !rc; i++)
			if (used[i] && (a[i].calls != 1 || a[i].busy))
				rc = -EALREADY;
		if (!rc && (done != count || issued != count))
			rc = -EPROTO;
	}
	for (i = 0; a && i < qd; i++)
		free(a[i].buf);
	free(a);
	free(used);
	free(checked);
	return rc;
}

/*
 * Polling and hybrid waits answer every io once with the right data, at QD1 and QD32.
 * While spinning the front end never moves rsp_event, so the (event-driven) fake sends a
 * notification only after a spin ran out and re-armed it: notifications <= expired spins
 * + 1 (the ring starts armed).
 */
static void test_poll_modes(void)
{
	static const unsigned int qds[] = { 1, 32 };
	unsigned int mode, k;

	for (mode = PV_BLKFRONT_NOTIFY_HYBRID; mode <= PV_BLKFRONT_NOTIFY_POLL; mode++) {
		struct fake_cfg c = base_cfg();
		struct pv_platform *p = NULL;
		struct pv_blkfront *bf = NULL;
		struct pv_blkfront_stats st;
		struct fake f;

		c.persistent = 1;
		CU_ASSERT_EQUAL_FATAL(start(&f, &c, &p), 0);
		CU_ASSERT_EQUAL_FATAL(pv_blkfront_open(p, DEVID, NULL, &bf), 0);
		CU_ASSERT_EQUAL(pv_blkfront_set_notify(bf, (enum pv_blkfront_notify)mode, 0), 0);
		for (k = 0; k < 2; k++) {
			int rc = exactly_once(bf, &f, qds[k], 400);

			if (rc)
				fprintf(stderr, "notify %u qd %u: %s\n", mode, qds[k], strerror(-rc));
			CU_ASSERT_EQUAL(rc, 0);
		}
		pv_blkfront_get_stats(bf, &st);
		CU_ASSERT_EQUAL(st.responses, st.requests);
		if (mode == PV_BLKFRONT_NOTIFY_POLL) {
			uint64_t sent = f.seen->notifications;

			CU_ASSERT(sent <= st.spin_expired + 1);
			if (sent > st.spin_expired + 1)
				fprintf(stderr, "poll: %llu notifications, %llu expired spins\n",
					(unsigned long long)sent, (unsigned long long)st.spin_expired);
		}
		/* Back to events: still answered, with notifications again. */
		CU_ASSERT_EQUAL(pv_blkfront_set_notify(bf, PV_BLKFRONT_NOTIFY_EVENT, 0), 0);
		CU_ASSERT_EQUAL(exactly_once(bf, &f, 4, 50), 0);
		pv_blkfront_close(bf);
		stop(&f, p);
	}
}

/*
 * A caller that waits on pv_blkfront_fd() and then calls pv_blkfront_poll(bf, 0): the call
 * takes the event it woke for, so the fd is not left readable (the caller's loop would
 * spin).  A sleeping call leaves events for later; this one may not.
 */
static void test_poll_fd_drained(void)
{
	struct fake_cfg c = base_cfg();
	struct pv_platform *p = NULL;
	struct pv_blkfront *bf = NULL;
	struct aio a = { 0 };
	struct pollfd pfd;
	uint8_t buf[4096];
	struct fake f;
	unsigned int round;

	c.delay_us = 20000;
	CU_ASSERT_EQUAL_FATAL(start(&f, &c, &p), 0);
	CU_ASSERT_EQUAL_FATAL(pv_blkfront_open(p, DEVID, NULL, &bf), 0);
	pfd = (struct pollfd){ .fd = pv_blkfront_fd(bf), .events = POLLIN };
	CU_ASSERT_FATAL(pfd.fd >= 0);
	for (round = 0; round < 3; round++) {
		a.io = (struct pv_blkfront_io){ .op = PV_BLKFRONT_READ, .len = sizeof(buf), .buf = buf,
						.offset = round * 4096u, .done = aio_done, .opaque = &a };
		a.calls = 0;
		CU_ASSERT_EQUAL(pv_blkfront_submit(bf, &a.io), 0);
		CU_ASSERT_EQUAL(pv_blkfront_kick(bf), 0);
		/* The back end waits 20 ms: this finds nothing and asks for the response's event. */
		CU_ASSERT_EQUAL(pv_blkfront_poll(bf, 0), 0);
		CU_ASSERT_EQUAL(poll(&pfd, 1, 5000), 1);
		CU_ASSERT_EQUAL(pv_blkfront_poll(bf, 0), 1);
		CU_ASSERT_EQUAL(a.calls, 1);
		CU_ASSERT_EQUAL(poll(&pfd, 1, 0), 0);
	}
	pv_blkfront_close(bf);
	stop(&f, p);
}

static void test_poll_bad_args(void)
{
	struct fake_cfg c = base_cfg();
	struct pv_platform *p = NULL;
	struct pv_blkfront *bf = NULL;
	struct fake f;

	CU_ASSERT_EQUAL(pv_blkfront_set_notify(NULL, PV_BLKFRONT_NOTIFY_POLL, 0), -EINVAL);
	CU_ASSERT_EQUAL_FATAL(start(&f, &c, &p), 0);
	CU_ASSERT_EQUAL_FATAL(pv_blkfront_open(p, DEVID, NULL, &bf), 0);
	CU_ASSERT_EQUAL(pv_blkfront_set_notify(bf, (enum pv_blkfront_notify)7, 0), -EINVAL);
	CU_ASSERT_EQUAL(pv_blkfront_set_notify(bf, PV_BLKFRONT_NOTIFY_POLL,
					       PV_BLKFRONT_SPIN_MAX_US + 1), -EINVAL);
	CU_ASSERT_EQUAL(pv_blkfront_set_notify(bf, PV_BLKFRONT_NOTIFY_POLL, PV_BLKFRONT_SPIN_MAX_US), 0);
	pv_blkfront_close(bf);
	stop(&f, p);
}

/* User plus system CPU time of this process so far, in seconds (/proc/self/stat). */
static double self_cpu_s(void)
{
	char buf[1024], *s;
	unsigned long long ut = 0, stime = 0;
	FILE *fp = fopen("/proc/self/stat", "r");
	size_t n;

	if (!fp)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	s = strrchr(buf, ')'); /* comm may hold spaces */
	if (!s || sscanf(s + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &stime) != 2)
		return -1;
	return (double)(ut + stime) / (double)sysconf(_SC_CLK_TCK);
}

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * A back end that takes a request and never answers (still Connected): a polling front
 * end spins for its budget, then sleeps on the event channel, so over a long wait it
 * spends far less CPU than wall time.  A front end that spun for the whole wait would use
 * about as much CPU as wall time.  (CPU against wall, not a latency.)
 */
static void test_poll_gives_up(void)
{
	struct fake_cfg c = base_cfg();
	struct pv_blkfront_opts o = { .timeout_ms = 500 };
	struct pv_platform *p = NULL;
	struct pv_blkfront *bf = NULL;
	struct pv_blkfront_stats st;
	struct aio a = { 0 };
	uint8_t buf[4096];
	double cpu0, cpu1, t0, t1;
	int rc, polls = 0;
	struct fake f;

	c.hostile = FAKE_MUTE;
	CU_ASSERT_EQUAL_FATAL(start(&f, &c, &p), 0);
	CU_ASSERT_EQUAL_FATAL(pv_blkfront_open(p, DEVID, &o, &bf), 0);
	/* 20 ms of spinning per poll call at most. */
	CU_ASSERT_EQUAL(pv_blkfront_set_notify(bf, PV_BLKFRONT_NOTIFY_POLL, 20000), 0);
	a.io = (struct pv_blkfront_io){ .op = PV_BLKFRONT_READ, .offset = 0, .len = sizeof(buf),
					.buf = buf, .done = aio_done, .opaque = &a };
	CU_ASSERT_EQUAL_FATAL(pv_blkfront_submit(bf, &a.io), 0);
	CU_ASSERT_EQUAL(pv_blkfront_kick(bf), 0);
	cpu0 = self_cpu_s();
	t0 = mono_s();
	/* Several calls: each spins once, then sleeps out its timeout. */
	do {
		rc = pv_blkfront_poll(bf, 400);
		polls++;
	} while (rc == 0 && mono_s() - t0 < 1.6);
	t1 = mono_s();
	cpu1 = self_cpu_s();
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_EQUAL(a.calls, 0);
	CU_ASSERT(cpu0 >= 0 && cpu1 >= 0);
	pv_blkfront_get_stats(bf, &st);
	CU_ASSERT(st.spin_expired >= (uint64_t)polls);
	CU_ASSERT(t1 - t0 >= 1.6);
	/* 4 polls x 20 ms of spinning is ~0.08 s; spinning throughout would be ~1.6 s. */
	CU_ASSERT(cpu1 - cpu0 < 0.4 * (t1 - t0));
	if (cpu1 - cpu0 >= 0.4 * (t1 - t0))
		fprintf(stderr, "poll gives up: %.3f s CPU in %.3f s (%d polls, %llu expired)\n",
			cpu1 - cpu0, t1 - t0, polls, (unsigned long long)st.spin_expired);
	pv_blkfront_close(bf); /* the io fails at close: nobody answers it */
	stop(&f, p);
}

/* ---- vdev names (pvio-fuse --vdev, the nbdkit plugin's vdev=) ------------------------- */

static void test_parse_vdev(void)
{
	static const struct {
		const char *s;
		int rc;
		unsigned int devid;
	} c[] = {
		{ "xvda", 0, 51712 }, { "xvdb", 0, 51728 }, { "xvdb1", 0, 51729 },
		{ "xvdp15", 0, 51967 }, { "xvdq", 0, (1u << 28) | (16u << 8) },
		{ "xvdaa", 0, (1u << 28) | (26u << 8) }, { "xvdb16", 0, (1u << 28) | (1u << 8) | 16 },
		{ "51728", 0, 51728 }, { "268435455", 0, 268435455 },
		{ "0", -EINVAL, 0 }, { "536870912", -EINVAL, 0 }, { "4294967295", -EINVAL, 0 },
		{ "99999999999999999999", -EINVAL, 0 }, { "12x", -EINVAL, 0 }, { "", -EINVAL, 0 },
		{ "xvd", -EINVAL, 0 }, { "xvdA", -EINVAL, 0 }, { "xvda 1", -EINVAL, 0 },
		{ "xvda+1", -EINVAL, 0 }, { "xvda-1", -EINVAL, 0 }, { "xvda256", -EINVAL, 0 },
		{ "xvda1x", -EINVAL, 0 }, { "sda", -EINVAL, 0 }, { "xvdzzzzz", -EINVAL, 0 },
	};
	unsigned int i, d;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		d = 0;
		CU_ASSERT_EQUAL(pv_blkfront_parse_vdev(c[i].s, &d), c[i].rc);
		if (c[i].rc == 0 && d != c[i].devid)
			fprintf(stderr, "\n    %s -> %u, want %u\n", c[i].s, d, c[i].devid);
		if (c[i].rc == 0)
			CU_ASSERT_EQUAL(d, c[i].devid);
	}
}

/* ---- a thread per queue ------------------------------------------------------------- */

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* One queue's thread: its own region of the disk, its own random numbers. */
struct qthread {
	pthread_t th;
	struct io_run run;
	uint64_t rng;
	int rc;
	/* hostile tests: one read on queue, then a poll of timeout_ms */
	struct pv_blkfront *bf;
	unsigned int queue;
	pthread_barrier_t *submitted;  /* or NULL: every thread's read is on its ring first */
	int timeout_ms, poll_rc, io_status, io_calls;
	uint64_t took_ms;
};

/* Half writes, half reads of the thread's own region, through its queue: run_ios(). */
static void *qthread_io(void *arg)
{
	struct qthread *t = arg;

	t->run.rng = &t->rng;
	t->rc = run_ios(&t->run);
	return NULL;
}

/* Extra platform handles of the guest, one per queue. */
static int open_queue_handles(struct pv_platform **qp, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (pv_simtest_open(&T, FE_DOM, &qp[i]) < 0)
			return -EIO;
	return 0;
}

static void close_queue_handles(struct pv_platform **qp, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (qp[i])
			pv_platform_close(qp[i]);
}

/* start(), n queue handles, and blkfront open on them. */
static int qt_start(struct fake *f, const struct fake_cfg *c, struct pv_platform **p,
		    struct pv_platform **qp, unsigned int n, struct pv_blkfront **bf)
{
	struct pv_blkfront_opts o = { 0 };
	int rc = start(f, c, p);

	if (rc == 0)
		rc = open_queue_handles(qp, n);
	if (rc == 0) {
		memcpy(o.queue_platform, qp, n * sizeof(*qp));
		rc = pv_blkfront_open(*p, DEVID, &o, bf);
	}
	return rc;
}

static void qt_stop(struct pv_blkfront *bf, struct fake *f, struct pv_platform *p,
		    struct pv_platform **qp, unsigned int n)
{
	pv_blkfront_close(bf);
	close_queue_handles(qp, n);
	stop(f, p);
}

/*
 * Four queues, four threads, each on its own region: every write lands where it should,
 * every read returns it, each queue's counters are its own, and the handle's own calls
 * work once the threads are out.  Persistent grants and grants per request (the threads
 * then take turns at the grant table), event and poll waits.
 */
static void test_qt_data(void)
{
	unsigned int pers, mode, i;

	for (pers = 0; pers < 2; pers++)
		for (mode = 0; mode < 2; mode++) {
			struct fake_cfg c = base_cfg();
			struct pv_platform *p = NULL, *qp[4] = { NULL };
			struct pv_blkfront *bf = NULL;
			struct pv_blkfront_stats st, qs, sum = { 0 };
			struct pv_blkfront_info in;
			struct qthread t[4];
			uint8_t buf[8192];
			struct fake f;

			c.max_queues = 4;
			c.persistent = (int)pers;
			c.indirect = 32;
			CU_ASSERT_EQUAL_FATAL(qt_start(&f, &c, &p, qp, 4, &bf), 0);
			CU_ASSERT_EQUAL(pv_blkfront_set_notify(bf, mode ? PV_BLKFRONT_NOTIFY_POLL :
							       PV_BLKFRONT_NOTIFY_EVENT, 0), 0);
			pv_blkfront_info(bf, &in);
			CU_ASSERT_EQUAL_FATAL(in.queues, 4);
			for (i = 0; i < 4; i++) {
				t[i] = (struct qthread){ .rng = 77 + i, .run = {
					.bf = bf, .queue = (int)i, .f = &f, .qd = 8, .count = 200,
					.writes = 100, .ss = 512, .max_bytes = 64 * 1024,
					.base = f.disk_bytes / 4 * i, .span = f.disk_bytes / 4 } };
				CU_ASSERT_EQUAL_FATAL(pthread_create(&t[i].th, NULL, qthread_io, &t[i]), 0);
			}
			for (i = 0; i < 4; i++) {
				pthread_join(t[i].th, NULL);
				CU_ASSERT_EQUAL(t[i].rc, 0);
				CU_ASSERT_EQUAL(t[i].run.ios, 200);
				CU_ASSERT_EQUAL(pv_blkfront_queue_get_stats(bf, i, &qs), 0);
				/* each io on its own queue: at least one request each, none lost */
				CU_ASSERT(qs.requests >= 200);
				CU_ASSERT_EQUAL(qs.responses, qs.requests);
				CU_ASSERT_EQUAL(qs.bad_responses, 0);
				sum.requests += qs.requests;
			}
			pv_blkfront_get_stats(bf, &st);
			CU_ASSERT_EQUAL(st.requests, sum.requests);
			CU_ASSERT_EQUAL(f.seen->requests, sum.requests);
			/* The threads are out: the handle's own calls use every queue again. */
			memset(buf, 0x5a, sizeof(buf));
			CU_ASSERT_EQUAL(pv_blkfront_pwrite(bf, buf, sizeof(buf), 4096), (ssize_t)sizeof(buf));
			CU_ASSERT_EQUAL(memcmp(f.disk + 4096, buf, sizeof(buf)), 0);
			CU_ASSERT_EQUAL(random_reads(bf, &f, 20, 16384, 512), 0);
			CU_ASSERT_EQUAL(pv_blkfront_flush(bf), 0);
			CU_ASSERT_EQUAL(pv_blkfront_disconnect(bf), 0);
			qt_stop(bf, &f, p, qp, 4);
		}
}

/*
 * What the queue calls refuse: a queue without a handle of its own, one past the
 * negotiated queues, handles shared; and the whole-handle calls that cannot work with
 * queue handles.  Queue 0 on the device's handle and queue 1 on its own: the handle's
 * own calls wait on both.
 */
static void test_qt_args(void)
{
	struct fake_cfg c = base_cfg();
	struct pv_platform *p = NULL, *qp[2] = { NULL };
	struct pv_blkfront_opts o = { 0 };
	struct pv_blkfront *bf = NULL;
	struct pv_blkfront_mt *m = NULL;
	struct pv_blkfront_stats st;
	struct pv_blkfront_io io = { .op = PV_BLKFRONT_READ, .len = 4096 };
	uint8_t buf[4096];
	struct fake f;

	c.max_queues = 2;
	io.buf = buf;
	CU_ASSERT_EQUAL_FATAL(start(&f, &c, &p), 0);
	CU_ASSERT_EQUAL_FATAL(open_queue_handles(qp, 2), 0);
	o.queue_platform[0] = p;
	CU_ASSERT_EQUAL(pv_blkfront_open(p, DEVID, &o, &bf), -EINVAL);
	o.queue_platform[0] = qp[0];
	o.queue_platform[1] = qp[0];
	CU_ASSERT_EQUAL(pv_blkfront_open(p, DEVID, &o, &bf), -EINVAL);
	CU_ASSERT_PTR_NULL(bf);

	o.queue_platform[0] = NULL;
	o.queue_platform[1] = qp[1];
	CU_ASSERT_EQUAL_FATAL(pv_blkfront_open(p, DEVID, &o, &bf), 0);
	CU_ASSERT_EQUAL(pv_blkfront_queue_submit(bf, 0, &io), -EINVAL);
	CU_ASSERT_EQUAL(pv_blkfront_queue_submit(bf, 2, &io), -EINVAL);
	CU_ASSERT_EQUAL(pv_blkfront_queue_submit(bf, 99, &io), -EINVAL);
	CU_ASSERT_EQUAL(pv_blkfront_queue_kick(bf, 0), -EINVAL);
	CU_ASSERT_EQUAL(pv_blkfront_queue_poll(bf, 0, 0), -EINVAL);
	CU_ASSERT_EQUAL(pv_blkfront_queue_fd(bf, 0), -EINVAL);
	CU_ASSERT_EQUAL(pv_blkfront_queue_get_stats(bf, 0, &st), -EINVAL);
	CU_ASSERT_EQUAL(pv_blkfront_queue_get_stats(bf, 1, NULL), -EINVAL);
	CU_ASSERT_EQUAL(pv_blkfront_queue_submit(NULL, 1, &io), -EINVAL);
	CU_ASSERT_EQUAL(pv_blkfront_queue_submit(bf, 1, NULL), -EINVAL);
	CU_ASSERT(pv_blkfront_queue_fd(bf, 1) >= 0);
	CU_ASSERT_EQUAL(pv_blkfront_fd(bf), -EINVAL);
	CU_ASSERT_EQUAL(pv_blkfront_mt_start(bf, &m), -EINVAL);
	/* queue 1 from this thread; then the handle's own calls over both queues */
	CU_ASSERT_EQUAL(pv_blkfront_queue_submit(bf, 1, &io), 0);
	CU_ASSERT_EQUAL(pv_blkfront_queue_kick(bf, 1), 0);
	while (pv_blkfront_queue_poll(bf, 1, 5000) == 0)
		;
	CU_ASSERT_EQUAL(pv_blkfront_queue_get_stats(bf, 1, &st), 0);
	CU_ASSERT_EQUAL(st.responses, 1);
	CU_ASSERT_EQUAL(random_writes(bf, &f, 16, 200, 32768, 512), 0);
	CU_ASSERT_EQUAL(random_reads(bf, &f, 50, 32768, 512), 0);
	CU_ASSERT_EQUAL(pv_blkfront_disconnect(bf), 0);
	qt_stop(bf, &f, p, qp, 2);
}

static void *qthread_one_read(void *arg)
{
	struct qthread *t = arg;
	struct aio a = { 0 };
	uint8_t buf[4096];
	uint64_t t0 = mono_ms();

	a.io = (struct pv_blkfront_io){ .op = PV_BLKFRONT_READ, .len = sizeof(buf), .buf = buf,
					.done = aio_done, .opaque = &a };
	t->rc = pv_blkfront_queue_submit(t->bf, t->queue, &a.io);
	if (t->rc == 0)
		t->rc = pv_blkfront_queue_kick(t->bf, t->queue);
	if (t->submitted)
		pthread_barrier_wait(t->submitted);
	t->poll_rc = pv_blkfront_queue_poll(t->bf, t->queue, t->timeout_ms);
	t->took_ms = mono_ms() - t0;
	t->io_status = a.status;
	t->io_calls = a.calls;
	return NULL;
}

/*
 * A back end that breaks queue 1's ring while queue 0's thread sleeps on a request it
 * never answers: queue 0's thread is woken and its io fails with -EPROTO, well before
 * its poll's timeout; from then on every queue refuses ios.
 */
static void test_qt_broken_ring(void)
{
	struct fake_cfg c = base_cfg();
	struct pv_platform *p = NULL, *qp[2] = { NULL };
	struct pv_blkfront *bf = NULL;
	struct pv_blkfront_stats st;
	struct pv_blkfront_io io = { .op = PV_BLKFRONT_READ, .len = 4096 };
	struct qthread t0, t1;
	uint8_t buf[4096];
	struct fake f;

	c.max_queues = 2;
	c.mute_queues = 1u << 0;
	c.hostile = FAKE_RSP_PROD;
	c.hostile_queues = 1u << 1;
	io.buf = buf;
	CU_ASSERT_EQUAL_FATAL(qt_start(&f, &c, &p, qp, 2, &bf), 0);
	t0 = (struct qthread){ .bf = bf, .queue = 0, .timeout_ms = 8000 };
	CU_ASSERT_EQUAL_FATAL(pthread_create(&t0.th, NULL, qthread_one_read, &t0), 0);
	/* queue 0's request is on its ring, unanswered, before queue 1 breaks */
	while (f.seen->taken < 1)
		usleep(1000);
	usleep(100000);
	t1 = (struct qthread){ .bf = bf, .queue = 1, .timeout_ms = 8000 };
	qthread_one_read(&t1);
	CU_ASSERT_EQUAL(t1.rc, 0);
	CU_ASSERT_EQUAL(t1.poll_rc, -EPROTO);
	pthread_join(t0.th, NULL);
	CU_ASSERT_EQUAL(t0.rc, 0);
	CU_ASSERT_EQUAL(t0.poll_rc, -EPROTO);
	CU_ASSERT_EQUAL(t0.io_calls, 1);
	CU_ASSERT_EQUAL(t0.io_status, -EPROTO);
	CU_ASSERT(t0.took_ms < 4000);
	CU_ASSERT_EQUAL(t1.io_calls, 1);
	CU_ASSERT_EQUAL(pv_blkfront_queue_submit(bf, 0, &io), -EPROTO);
	CU_ASSERT_EQUAL(pv_blkfront_queue_submit(bf, 1, &io), -EPROTO);
	CU_ASSERT_EQUAL(pv_blkfront_submit(bf, &io), -EPROTO);
	CU_ASSERT_EQUAL(pv_blkfront_queue_get_stats(bf, 1, &st), 0);
	CU_ASSERT_EQUAL(st.bad_responses, 1);
	qt_stop(bf, &f, p, qp, 2);
}

/*
 * The back end goes Closing while each queue's thread waits on its own request: each
 * thread learns it (its own watch, or the first one's failure) and its io completes
 * with -ENOTCONN.
 */
static void test_qt_backend_leaves(void)
{
	struct fake_cfg c = base_cfg();
	struct pv_platform *p = NULL, *qp[2] = { NULL };
	struct pv_blkfront *bf = NULL;
	struct qthread t[2];
	pthread_barrier_t submitted;
	struct fake f;
	unsigned int i;

	c.max_queues = 2;
	c.hostile = FAKE_CLOSE_MID_IO;
	CU_ASSERT_EQUAL_FATAL(qt_start(&f, &c, &p, qp, 2, &bf), 0);
	/*
	 * Both reads on their rings before either thread polls: a thread that polled first
	 * would fail the device, and the other's submit then rightly says -ENOTCONN.
	 */
	pthread_barrier_init(&submitted, NULL, 2);
	for (i = 0; i < 2; i++) {
		t[i] = (struct qthread){ .bf = bf, .queue = i, .timeout_ms = 8000,
					 .submitted = &submitted };
		CU_ASSERT_EQUAL_FATAL(pthread_create(&t[i].th, NULL, qthread_one_read, &t[i]), 0);
	}
	for (i = 0; i < 2; i++) {
		pthread_join(t[i].th, NULL);
		CU_ASSERT_EQUAL(t[i].rc, 0);
		CU_ASSERT_EQUAL(t[i].poll_rc, -ENOTCONN);
		CU_ASSERT_EQUAL(t[i].io_calls, 1);
		CU_ASSERT_EQUAL(t[i].io_status, -ENOTCONN);
		CU_ASSERT(t[i].took_ms < 4000);
	}
	CU_ASSERT_EQUAL(pv_blkfront_disconnect(bf), 0);
	pthread_barrier_destroy(&submitted);
	qt_stop(bf, &f, p, qp, 2);
}

/*
 * The back end shrinks the disk (its `sectors` node): a queue's thread, watching on its own
 * handle, refuses an io past the new end; the handle's info says the new size.
 */
static void test_qt_resize(void)
{
	struct fake_cfg c = base_cfg();
	struct pv_platform *p = NULL, *qp[2] = { NULL };
	struct pv_blkfront *bf = NULL;
	struct pv_blkfront_info in;
	struct aio a = { 0 };
	uint8_t buf[4096];
	char path[200];
	uint64_t t0;
	int rc = 0;
	struct fake f;

	c.max_queues = 2;
	CU_ASSERT_EQUAL_FATAL(qt_start(&f, &c, &p, qp, 2, &bf), 0);
	snprintf(path, sizeof(path), "/local/domain/0/backend/vbd/%u/%u/sectors", FE_DOM, DEVID);
	CU_ASSERT_EQUAL_FATAL(pv_xs_printf(T.dom0, 0, path, "%u", SECTORS / 2), 0);
	a.io = (struct pv_blkfront_io){ .op = PV_BLKFRONT_READ, .len = sizeof(buf), .buf = buf,
					.offset = (uint64_t)SECTORS / 2 * 512, .done = aio_done,
					.opaque = &a };
	/* Accepted (and answered: the fake's disk is larger) until the watch is seen. */
	for (t0 = mono_ms(); mono_ms() - t0 < 3000;) {
		rc = pv_blkfront_queue_submit(bf, 1, &a.io);
		if (rc != 0)
			break;
		pv_blkfront_queue_kick(bf, 1);
		while (a.calls == 0 && pv_blkfront_queue_poll(bf, 1, 1000) >= 0)
			;
		a.calls = 0;
	}
	CU_ASSERT_EQUAL(rc, -EINVAL);
	a.io.offset -= 4096;
	CU_ASSERT_EQUAL(pv_blkfront_queue_submit(bf, 1, &a.io), 0);
	pv_blkfront_queue_kick(bf, 1);
	while (a.calls == 0 && pv_blkfront_queue_poll(bf, 1, 1000) >= 0)
		;
	CU_ASSERT_EQUAL(a.status, 0);
	CU_ASSERT_EQUAL(pv_blkfront_info(bf, &in), 0);
	CU_ASSERT_EQUAL(in.sectors, SECTORS / 2);
	qt_stop(bf, &f, p, qp, 2);
}

/* ---- registry ------------------------------------------------------------------------ */

static CU_TestInfo functional_tests[] = {
	{ "every feature combination: rings 1/16 pages, persistent, indirect, 1/4 queues", test_matrix },
	{ "async writes at queue depths 1..64, 1 and 4 queues", test_queue_depths },
	{ "a 4 MiB io split over a small ring", test_large_io },
	{ "misaligned, out-of-range and unoffered ios are refused", test_invalid_ios },
	{ "error statuses are per-io errors", test_error_status },
	{ "options limit what is negotiated", test_opts_limit },
	{ "close and reopen, fewer queues each time", test_close_reopen },
	{ "close with ios in flight completes them", test_close_inflight },
	{ "a guest that died Connected: the next open reconnects", test_restart_after_crash },
	CU_TEST_INFO_NULL,
};

static CU_TestInfo hostile_tests[] = {
	{ "no device, silent back end, refusing back end", test_open_errors },
	{ "feature and disk nodes out of range", test_hostile_nodes },
	{ "bad responses: unknown id, duplicate, not in flight, rsp_prod, op, status, stale generation",
	  test_hostile_responses },
	{ "back end goes Closing mid-io", test_close_mid_io },
	{ "back end keeps a page mapped at close", test_keep_mapped },
	{ "vdev names and numbers: what xl accepts, nothing else", test_parse_vdev },
	CU_TEST_INFO_NULL,
};

static CU_TestInfo poll_tests[] = {
	{ "poll and hybrid waits: every io answered once, right data, QD1 and QD32", test_poll_modes },
	{ "a poll(0) after the caller's own wait on the fd leaves the fd unreadable",
	  test_poll_fd_drained },
	{ "pv_blkfront_set_notify refuses bad modes and budgets", test_poll_bad_args },
	{ "a back end that stops answering: a polling front end sleeps after its budget",
	  test_poll_gives_up },
	CU_TEST_INFO_NULL,
};

static CU_TestInfo thread_tests[] = {
	{ "a thread per queue: 4 queues, every io right, counters per queue; persistent or not, "
	  "event or poll", test_qt_data },
	{ "queue calls refuse queues without a handle of their own, shared handles, bad queues",
	  test_qt_args },
	{ "a broken ring on queue 1 wakes and fails queue 0's sleeping thread", test_qt_broken_ring },
	{ "back end goes Closing: every queue's thread sees it", test_qt_backend_leaves },
	{ "a smaller disk: a queue's thread refuses ios past the new end", test_qt_resize },
	CU_TEST_INFO_NULL,
};

static CU_TestInfo fuse_tests[] = {
	{ "pvio-fuse: mkfs.ext4, e2fsck, fio verify, unaligned io, unmount", test_fuse },
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{ "blkfront", suite_init, suite_clean, NULL, NULL, functional_tests },
	{ "blkfront-hostile", suite_init, suite_clean, NULL, NULL, hostile_tests },
	{ "blkfront-poll", suite_init, suite_clean, NULL, NULL, poll_tests },
	{ "blkfront-threads", suite_init, suite_clean, NULL, NULL, thread_tests },
	{ "pvio-fuse", suite_init, suite_clean, NULL, NULL, fuse_tests },
	CU_SUITE_INFO_NULL,
};

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	return pv_test_main(suites);
}
