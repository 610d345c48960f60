/* SPDX-License-Identifier: MIT */
/*
 * pv_blkback_io.c - blkback's storage drivers.
 *
 *   file   a regular file or a block device, through one io_uring per queue (each on its
 *          queue's thread, so a disk's queues never share one ring or lock): readv and
 *          writev straight from the granted pages (or bounce buffers), fdatasync for
 *          flush and barrier, fallocate(PUNCH_HOLE | KEEP_SIZE) for discard.  The ring's
 *          completions wake the event loop through an eventfd.  With O_DIRECT (--cache,
 *          direct-io-safe) data requests bypass dom0's page cache; see open_direct().
 *   null   params "null:" (or "null:<sectors>") or type "null": completes at once, reads
 *          return zeros.  For benchmarks of the protocol without storage.
 *
 * One io_uring_submit per pass of the ring, whatever the number of requests in it.  The
 * rings are sized for everything that can be in flight: two SQEs (and so two CQEs) per
 * request slot of the queue, so neither of io_uring's queues overflows.  A barrier drains
 * its own queue's ring only, as Linux's blkback drains one ring: a guest orders requests
 * within a queue, never across queues.  A flush's fdatasync covers every write completed
 * before it, on whichever queue.  A submit the kernel refuses
 * (-EAGAIN, -EBUSY) or takes only in part leaves the rest in the SQ ring; it is retried
 * after the next completions, or after 1 ms (pv_blkback_sched_retry), so no request waits
 * for a notification that will not come.
 *
 * PVIO_BACKD_TEST_SUBMIT_FAIL=N (tests only): the first N submits fail, alternately with
 * -EAGAIN and -EBUSY, without reaching the kernel.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/magic.h>
#include <linux/fs.h>
#include <linux/stat.h> /* statx's dio fields: older glibc's struct statx lacks them */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <liburing.h>

#include "pv_blkback.h"

#define COMP "io"

#define NULL_DEFAULT_SECTORS (1ull << 21) /* 1 GiB */
#define UD_SYNC 1ull /* user_data tag: a completion whose success is res == 0 */
#define URING_MAX_SQ 32768u /* the kernel's IORING_MAX_ENTRIES */

/* Shared by the worker threads: read once, counted down atomically. */
static _Atomic unsigned int test_submit_fail;
static pthread_once_t test_submit_once = PTHREAD_ONCE_INIT;

static void test_submit_read(void)
{
	const char *e = getenv("PVIO_BACKD_TEST_SUBMIT_FAIL");

	atomic_store(&test_submit_fail, e ? (unsigned int)strtoul(e, NULL, 10) : 0);
}

static int parse_null(const char *params, uint64_t *sectors)
{
	const char *p = params + 5;
	uint64_t v = 0;

	if (strncmp(params, "null:", 5) != 0)
		return 0;
	if (!*p) {
		*sectors = NULL_DEFAULT_SECTORS;
		return 1;
	}
	for (; *p >= '0' && *p <= '9' && v < (1ull << 50); p++)
		v = v * 10 + (uint64_t)(*p - '0');
	if (*p || v == 0 || v >= (1ull << 50))
		return -EINVAL;
	*sectors = v;
	return 1;
}

int pv_blkback_io_size(struct pv_blkback_dev *dev, uint64_t *sectors)
{
	struct stat st;
	uint64_t bytes;

	if (dev->driver == PV_BLKBACK_DRV_NULL) {
		*sectors = dev->lim.sectors;
		return 0;
	}
	if (fstat(dev->fd, &st) < 0)
		return -errno;
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(dev->fd, BLKGETSIZE64, &bytes) < 0)
			return -errno;
	} else {
		bytes = (uint64_t)st.st_size;
	}
	*sectors = bytes >> PV_BLKIF_SECTOR_SHIFT;
	return 0;
}

/* Does the target take PUNCH_HOLE?  Punching past the end of a file changes nothing. */
static int probe_discard(struct pv_blkback_dev *dev, const struct stat *st)
{
	if (S_ISBLK(st->st_mode)) {
		uint64_t range[2] = { 0, 0 };

		return ioctl(dev->fd, BLKDISCARD, range) == 0;
	}
	return fallocate(dev->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			 st->st_size + PV_PAGE_SIZE, PV_PAGE_SIZE) == 0;
}

/*
 * O_DIRECT, on a second descriptor of the same target: requests O_DIRECT cannot take (an
 * offset or a segment not a multiple of the target's logical block: a guest may send 512
 * B segments to a 4 KiB-sector device, since sector-size stays 512 whatever the cache
 * mode, so that a guest's partition table reads the same either way) go through the page
 * cache instead, counted in buffered_fallbacks.  The kernel keeps the two coherent: a
 * direct read writes back dirty cached pages of its range first, a direct write drops
 * them.  physical-sector-size is raised to the logical block so that guests align to it.
 *
 * Where O_DIRECT cannot be had at all (a file system that refuses it: ramfs, some FUSE;
 * a logical block larger than a page) the disk is served through the page cache, with
 * one warning; "direct" in the control socket's JSON says which it got.
 */
static void open_direct(struct pv_blkback_dev *dev, const struct stat *st)
{
	unsigned int align = 0, mem = 0;
	struct statx sx;
	struct stat dst;
	const char *why = NULL;
	int fd, err = 0;

	fd = open(dev->params, (dev->lim.readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NOCTTY |
		  O_DIRECT);
	if (fd < 0) {
		err = errno;
		why = "O_DIRECT refused";
	} else if (fstat(fd, &dst) < 0 || dst.st_dev != st->st_dev || dst.st_ino != st->st_ino ||
		   dst.st_rdev != st->st_rdev) {
		why = "the path changed between two opens";
	} else {
		if (statx(fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &sx) == 0 &&
		    (sx.stx_mask & STATX_DIOALIGN)) {
			align = sx.stx_dio_offset_align;
			mem = sx.stx_dio_mem_align;
			if (!align)
				why = "the file system has no direct I/O for this file";
		} else if (S_ISBLK(st->st_mode)) {
			int lbs = 0;

			if (ioctl(fd, BLKSSZGET, &lbs) == 0 && lbs > 0)
				align = mem = (unsigned int)lbs;
		}
		/* Not told: a page, which every logical block up to 4 KiB divides. */
		if (!why && !align)
			align = mem = PV_PAGE_SIZE;
		if (!mem)
			mem = align;
		if (!why && (align > PV_PAGE_SIZE || (align & (align - 1)) || mem > PV_PAGE_SIZE ||
			     (mem & (mem - 1))))
			why = "its alignment is not a power of two up to a page";
	}
	if (why) {
		if (fd >= 0)
			close(fd);
		pv_backd_log(PV_LOG_WARN, COMP, "vbd %u/%u: %s: %s%s%s: served through the page "
			     "cache (direct 0)", dev->domid, dev->devid, dev->params, why,
			     err ? ": " : "", err ? strerror(err) : "");
		return;
	}
	dev->dfd = fd;
	dev->dio_align = align;
	dev->dio_mem_align = mem;
	if (dev->phys_sector_size < align)
		dev->phys_sector_size = align;
}

int pv_blkback_io_open(struct pv_blkback_dev *dev)
{
	int ro = dev->lim.readonly, rc;
	uint64_t sectors;
	struct statfs sfs;
	struct stat st;

	dev->phys_sector_size = 512;
	dev->sector_size = 512;
	dev->discard_gran = PV_PAGE_SIZE;
	rc = strcmp(dev->type, "null") == 0 ? 1 : parse_null(dev->params, &sectors);
	if (rc < 0)
		return rc;
	if (rc > 0) {
		if (strcmp(dev->type, "null") == 0 && parse_null(dev->params, &sectors) <= 0)
			sectors = NULL_DEFAULT_SECTORS;
		dev->driver = PV_BLKBACK_DRV_NULL;
		dev->lim.sectors = sectors;
		dev->lim.flush = dev->lim.barrier = dev->lim.discard = !ro;
		return 0;
	}
	dev->driver = PV_BLKBACK_DRV_FILE;
	dev->fd = open(dev->params, (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NOCTTY);
	if (dev->fd < 0)
		return -errno;
	if (fstat(dev->fd, &st) < 0)
		rc = -errno;
	else if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
		rc = -EINVAL; /* a char device, fifo, socket: not a disk */
	else
		rc = 0;
	if (rc < 0) {
		close(dev->fd);
		dev->fd = -1;
		return rc;
	}
	dev->is_blockdev = S_ISBLK(st.st_mode);
	rc = pv_blkback_io_size(dev, &dev->lim.sectors);
	if (rc < 0) {
		close(dev->fd);
		dev->fd = -1;
		return rc;
	}
	if (dev->is_blockdev) {
		unsigned int pbs = 512;

		if (ioctl(dev->fd, BLKPBSZGET, &pbs) == 0 && pbs == 4096)
			dev->phys_sector_size = 4096;
	} else if (st.st_blksize >= 4096) {
		dev->phys_sector_size = 4096;
	}
	dev->lim.flush = dev->lim.barrier = !ro;
	dev->lim.discard = !ro && dev->discard_gran && probe_discard(dev, &st);
	dev->mem_backed = !dev->is_blockdev && fstatfs(dev->fd, &sfs) == 0 &&
			  (sfs.f_type == TMPFS_MAGIC || sfs.f_type == RAMFS_MAGIC);
	if (dev->d->cache == PV_BACKD_CACHE_NONE ||
	    (dev->d->cache == PV_BACKD_CACHE_AUTO && dev->direct_io_safe))
		open_direct(dev, &st);
	return 0;
}

void pv_blkback_io_close(struct pv_blkback_dev *dev)
{
	if (dev->fd >= 0)
		close(dev->fd);
	dev->fd = -1;
	if (dev->dfd >= 0)
		close(dev->dfd);
	dev->dfd = -1;
	dev->dio_align = dev->dio_mem_align = 0;
}

/* rq's data did not move: counted in pv_blkback_req_done(), said here (rate-limited). */
static void io_error(struct pv_blkback_queue *q, const struct pv_blkback_req *rq, int err)
{
	struct pv_blkback_dev *dev = q->dev;

	pv_backd_log_rl(&q->rl, PV_LOG_WARN, COMP, "vbd %u/%u: I/O error at sector %llu: %s",
			dev->domid, dev->devid, (unsigned long long)rq->sector,
			err ? strerror(err) : "short transfer");
}

/* The descriptor for rq's data: O_DIRECT when its offset and every segment allow. */
static int data_fd(struct pv_blkback_queue *q, const struct pv_blkback_req *rq, uint64_t off)
{
	struct pv_blkback_dev *dev = q->dev;
	uint64_t a, m;
	unsigned int i;

	if (dev->dfd < 0)
		return dev->fd;
	a = dev->dio_align - 1;
	m = dev->dio_mem_align - 1;
	if (!(off & a)) {
		for (i = 0; i < rq->niov; i++)
			if (((uintptr_t)rq->iov[i].iov_base & m) || (rq->iov[i].iov_len & a))
				break;
		if (i == rq->niov)
			return dev->dfd;
	}
	q->st.buffered_fallbacks++;
	return dev->fd;
}

/*
 * --test-reorder (tests only): a finished request is held back instead of answered, and
 * each pass answers a random part of what is held, in random order, so that responses
 * leave in an order unrelated to the requests' (as a busy disk's would, only more so).
 * The I/O itself is done when held: a kill then leaves requests done but unanswered.
 */
static uint64_t test_rand(struct pv_backd *d)
{
	/* xorshift64*: reproducible from the seed, no libc state shared with anyone. */
	d->test_rng ^= d->test_rng >> 12;
	d->test_rng ^= d->test_rng << 25;
	d->test_rng ^= d->test_rng >> 27;
	return d->test_rng * 2685821657736338717ull;
}

static void test_release(struct pv_blkback_queue *q)
{
	unsigned int n = q->nheld;

	while (n--) {
		unsigned int i = (unsigned int)(test_rand(q->w) % q->nheld);
		struct pv_blkback_req *rq = q->held[i];

		if (test_rand(q->w) & 1)
			continue;
		q->held[i] = q->held[--q->nheld];
		pv_blkback_req_done(rq, rq->status == BLKIF_RSP_OKAY);
	}
	if (q->nheld) {
		uint64_t one = 1;

		/* Come back for the rest on the next turn of the loop. */
		if (write(q->uring_efd, &one, sizeof(one)) < 0)
			pv_backd_log(PV_LOG_WARN, COMP, "test-reorder: eventfd: %s", strerror(errno));
	}
}

static void on_cqe(struct pv_loop *loop, int fd, uint32_t events, void *opaque)
{
	struct pv_blkback_queue *q = opaque;
	struct pv_blkback_dev *dev = q->dev;
	struct io_uring_cqe *cqes[PV_BLKBACK_UNMAP_BATCH];
	uint64_t v, t0 = pv_backd_now_ns(), turn = pv_blkback_turn_ns(q->w);
	unsigned int n, i, batches = 0;

	(void)loop;
	(void)events;
	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return;
	/* Sized so that it cannot happen; the kernel keeps them, but we want to know. */
	if (IO_URING_READ_ONCE(*q->uring->sq.kflags) & IORING_SQ_CQ_OVERFLOW)
		q->st.cq_overflows++;
	/*
	 * Bounded like a turn: a flooder's completions (an unmap per request, a response
	 * each) are taken a batch at a time; past the time budget the rest waits for the
	 * next pass of the loop, after the other fds, and the eventfd is made readable again
	 * to bring us back (the kernel signals only new completions).
	 */
	while ((n = io_uring_peek_batch_cqe(q->uring, cqes, PV_BLKBACK_UNMAP_BATCH)) > 0) {
		/* One batch at least per call: a budget too small still makes progress. */
		if (batches++ && q->w->sched_ok && pv_backd_now_ns() - t0 > turn) {
			uint64_t one = 1;

			q->st.completion_yields++;
			if (write(q->uring_efd, &one, sizeof(one)) < 0)
				pv_backd_log_rl(&q->rl, PV_LOG_WARN, COMP, "vbd %u/%u: eventfd: %s",
						dev->domid, dev->devid, strerror(errno));
			break;
		}
		for (i = 0; i < n; i++) {
			uint64_t ud = io_uring_cqe_get_data64(cqes[i]);
			struct pv_blkback_req *rq = (struct pv_blkback_req *)(uintptr_t)(ud & ~UD_SYNC);
			int res = cqes[i]->res;
			int ok = (ud & UD_SYNC) ? res == 0 : res >= 0 && (uint64_t)res == rq->bytes;

			if (!ok && rq->status == BLKIF_RSP_OKAY) {
				rq->status = BLKIF_RSP_ERROR;
				q->st.errors++;
				io_error(q, rq, res < 0 ? -res : 0);
			}
			if (--rq->pending)
				continue;
			if (rq->kind == PV_BLK_BARRIER && q->barriers)
				q->barriers--; /* writes after it may be done at once again */
			if (q->held && q->nheld < q->held_max)
				q->held[q->nheld++] = rq;
			else
				pv_blkback_req_done(rq, rq->status == BLKIF_RSP_OKAY);
		}
		io_uring_cq_advance(q->uring, n);
	}
	if (q->held)
		test_release(q);
	pv_blkback_after_completions(q);
}

int pv_blkback_io_cq_ready(const struct pv_blkback_queue *q)
{
	return q->uring && q->uring_efd >= 0 && io_uring_cq_ready(q->uring) > 0;
}

void pv_blkback_io_reap(struct pv_blkback_queue *q)
{
	on_cqe(q->w->loop, q->uring_efd, EPOLLIN, q);
}

int pv_blkback_io_start(struct pv_blkback_queue *q)
{
	struct pv_blkback_dev *dev = q->dev;
	struct io_uring_params p;
	unsigned int n = 1, entries = q->ring.nr_ents;
	int rc;

	if (dev->driver == PV_BLKBACK_DRV_NULL)
		return 0;
	pthread_once(&test_submit_once, test_submit_read);
	/*
	 * Two SQEs at most per request (data + sync), every slot of the queue: 512 slots
	 * need 1024.  The completion queue gets two CQEs per SQE (liburing's default is that
	 * too, but say it): more than can ever be outstanding.
	 */
	while (n < entries * 2 && n < URING_MAX_SQ)
		n *= 2;
	q->uring = calloc(1, sizeof(*q->uring));
	if (!q->uring)
		return -ENOMEM;
	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_CQSIZE;
	p.cq_entries = 2 * n;
	rc = io_uring_queue_init_params(n, q->uring, &p);
	if (rc < 0) {
		free(q->uring);
		q->uring = NULL;
		return rc;
	}
	/*
	 * The ring holds the daemon's lock file open (see take_lock() in pvio-backd.c): after
	 * kill -9 the lock is released only once the kernel has finished this ring's I/O, so
	 * a successor never re-executes a request while an old copy of it may still run.
	 */
	if (q->w->lock_fd >= 0) {
		rc = io_uring_register_files(q->uring, &q->w->lock_fd, 1);
		if (rc < 0)
			pv_backd_log(PV_LOG_WARN, COMP, "vbd %u/%u: io_uring_register_files: %s: a "
				     "restart may not wait for this daemon's I/O", dev->domid,
				     dev->devid, strerror(-rc));
	}
	if (q->w->test_reorder) {
		q->held_max = entries;
		q->held = calloc(entries, sizeof(*q->held));
		if (!q->held) {
			rc = -ENOMEM;
			goto fail;
		}
	}
	q->uring_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (q->uring_efd < 0) {
		rc = -errno;
		goto fail;
	}
	rc = io_uring_register_eventfd(q->uring, q->uring_efd);
	if (rc < 0)
		goto fail;
	rc = pv_loop_add(q->w->loop, q->uring_efd, EPOLLIN, on_cqe, q);
	if (rc < 0)
		goto fail;
	return 0;
fail:
	pv_blkback_io_stop(q);
	return rc;
}

void pv_blkback_io_stop(struct pv_blkback_queue *q)
{
	if (q->uring_efd >= 0) {
		pv_loop_del(q->w->loop, q->uring_efd);
		close(q->uring_efd);
		q->uring_efd = -1;
	}
	if (q->uring) {
		io_uring_queue_exit(q->uring);
		free(q->uring);
		q->uring = NULL;
	}
	q->barriers = 0;
	/* Held requests are dropped unanswered, as a kill would: the journal answers them. */
	free(q->held);
	q->held = NULL;
	q->nheld = q->held_max = 0;
}

static int submit(struct pv_blkback_queue *q)
{
	unsigned int n = atomic_load_explicit(&test_submit_fail, memory_order_relaxed);

	while (n && !atomic_compare_exchange_weak(&test_submit_fail, &n, n - 1))
		;
	if (n)
		return n % 2 ? -EAGAIN : -EBUSY;
	return io_uring_submit(q->uring);
}

void pv_blkback_io_submit(struct pv_blkback_queue *q)
{
	struct pv_blkback_dev *dev = q->dev;
	unsigned int tries;

	if (!q->uring)
		return;
	/* A short submit leaves the rest queued: go on while the kernel takes some. */
	for (tries = 0; tries < 8 && io_uring_sq_ready(q->uring); tries++) {
		int rc = submit(q);

		if (rc > 0 || rc == -EINTR)
			continue;
		/*
		 * -EBUSY: completions to reap first; -EAGAIN: the kernel is short of memory.
		 * The SQEs stay queued; the next completion or the retry timer submits them.
		 */
		q->st.submit_retries++;
		pv_backd_log_rl(&q->rl, PV_LOG_DEBUG, COMP, "vbd %u/%u: io_uring_submit: %s",
				dev->domid, dev->devid, rc < 0 ? strerror(-rc) : "nothing taken");
		pv_blkback_sched_retry(q);
		return;
	}
	if (io_uring_sq_ready(q->uring))
		pv_blkback_sched_retry(q); /* still taking some, but not all: later */
}

static struct io_uring_sqe *sqe_for(struct pv_blkback_req *rq, uint64_t tag)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(rq->q->uring);

	io_uring_sqe_set_data64(sqe, (uint64_t)(uintptr_t)rq | tag);
	rq->pending++;
	return sqe;
}

int pv_blkback_io_queue(struct pv_blkback_req *rq)
{
	struct pv_blkback_queue *q = rq->q;
	struct pv_blkback_dev *dev = q->dev;
	struct io_uring_sqe *sqe;
	off_t off = (off_t)(rq->sector << PV_BLKIF_SECTOR_SHIFT);
	unsigned int i;

	if (dev->driver == PV_BLKBACK_DRV_NULL) {
		if (rq->kind == PV_BLK_READ)
			for (i = 0; i < rq->niov; i++)
				memset(rq->iov[i].iov_base, 0, rq->iov[i].iov_len);
		pv_blkback_req_done(rq, 1);
		return 0;
	}
	if (rq->kind == PV_BLK_DISCARD && rq->nr_sectors == 0) {
		pv_blkback_req_done(rq, 1);
		return 0;
	}
	if (dev->mem_backed && (rq->kind == PV_BLK_READ || rq->kind == PV_BLK_WRITE) &&
	    dev->dfd < 0 && !q->held && !q->barriers) {
		ssize_t n = rq->kind == PV_BLK_READ ? preadv(dev->fd, rq->iov, (int)rq->niov, off) :
			    pwritev(dev->fd, rq->iov, (int)rq->niov, off);
		int ok = n >= 0 && (uint64_t)n == rq->bytes;

		q->st.sync_ios++;
		if (!ok)
			io_error(q, rq, n < 0 ? errno : 0);
		pv_blkback_req_done(rq, ok);
		return 0;
	}
	/*
	 * Room for both SQEs of a linked pair, so a link is never split across submits.  The
	 * SQ holds two per slot of the queue, so this is only ever short if the kernel
	 * refused our submits all along.
	 */
	if (io_uring_sq_space_left(q->uring) < 2) {
		pv_blkback_io_submit(q);
		if (io_uring_sq_space_left(q->uring) < 2)
			return -EBUSY;
	}
	switch (rq->kind) {
	case PV_BLK_READ:
		io_uring_prep_readv(sqe_for(rq, 0), data_fd(q, rq, (uint64_t)off), rq->iov,
				    rq->niov, (uint64_t)off);
		break;
	case PV_BLK_WRITE:
		io_uring_prep_writev(sqe_for(rq, 0), data_fd(q, rq, (uint64_t)off), rq->iov,
				     rq->niov, (uint64_t)off);
		break;
	case PV_BLK_FLUSH:
	case PV_BLK_BARRIER:
		/* A barrier waits for everything submitted before it (DRAIN); a flush need not. */
		if (rq->niov) {
			sqe = sqe_for(rq, 0);
			io_uring_prep_writev(sqe, data_fd(q, rq, (uint64_t)off), rq->iov,
					     rq->niov, (uint64_t)off);
			sqe->flags |= IOSQE_IO_LINK;
			if (rq->kind == PV_BLK_BARRIER)
				sqe->flags |= IOSQE_IO_DRAIN;
			sqe = sqe_for(rq, UD_SYNC);
			io_uring_prep_fsync(sqe, dev->fd, IORING_FSYNC_DATASYNC);
		} else {
			sqe = sqe_for(rq, UD_SYNC);
			io_uring_prep_fsync(sqe, dev->fd, IORING_FSYNC_DATASYNC);
			if (rq->kind == PV_BLK_BARRIER)
				sqe->flags |= IOSQE_IO_DRAIN;
		}
		break;
	case PV_BLK_DISCARD:
		io_uring_prep_fallocate(sqe_for(rq, UD_SYNC), dev->fd,
					FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (uint64_t)off,
					rq->nr_sectors << PV_BLKIF_SECTOR_SHIFT);
		break;
	}
	/* Everything after a barrier waits for it (IO_DRAIN): no write done at once either. */
	if (rq->kind == PV_BLK_BARRIER)
		q->barriers++;
	return 0;
}
