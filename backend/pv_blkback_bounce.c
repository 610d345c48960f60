/* SPDX-License-Identifier: MIT */
/*
 * pv_blkback_bounce.c - grant-copy mode's bounce pages: one pool per device, bounded.
 *
 * Every queue of a device takes the pages of its requests from one pool of --max-bounce
 * bytes (address space reserved with MAP_NORESERVE, resident only once used).  The free
 * list is a stack, so a device that keeps few requests in flight keeps reusing the same
 * few pages.  A request is not taken off the ring while the pool lacks its pages and the
 * device has requests in flight: their completions free pages and take it then (the
 * pool holds at least one largest request, so this always ends).  A device idle for a
 * whole tick (a second) with no page in use gives all of them back to the kernel.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "pv_blkback.h"

#define COMP "bounce"

int pv_blkback_bounce_init(struct pv_blkback_dev *dev)
{
	size_t bytes = dev->w->max_bounce ? dev->w->max_bounce : PV_BLKBACK_BOUNCE_DEFAULT;
	unsigned int i;

	if (!dev->copy || dev->bounce)
		return 0;
	dev->bounce_pages = (unsigned int)(bytes / PV_PAGE_SIZE);
	dev->bounce = mmap(NULL, (size_t)dev->bounce_pages * PV_PAGE_SIZE, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (dev->bounce == MAP_FAILED) {
		dev->bounce = NULL;
		return -ENOMEM;
	}
	dev->bounce_free = malloc((size_t)dev->bounce_pages * sizeof(*dev->bounce_free));
	if (!dev->bounce_free) {
		pv_blkback_bounce_fini(dev);
		return -ENOMEM;
	}
	/* Page 0 on top: the first requests use the lowest pages. */
	for (i = 0; i < dev->bounce_pages; i++)
		dev->bounce_free[i] = dev->bounce_pages - 1 - i;
	dev->bounce_nfree = dev->bounce_pages;
	dev->bounce_dirty = 0;
	return 0;
}

void pv_blkback_bounce_fini(struct pv_blkback_dev *dev)
{
	if (dev->bounce)
		munmap(dev->bounce, (size_t)dev->bounce_pages * PV_PAGE_SIZE);
	free(dev->bounce_free);
	dev->bounce = NULL;
	dev->bounce_free = NULL;
	dev->bounce_pages = dev->bounce_nfree = 0;
}

/* Bounce pages a request (a private copy, not yet validated) will need; 0 if malformed. */
static unsigned int pages_of(const struct pv_blkback_dev *dev, const struct blkif_request *r)
{
	struct blkif_request_indirect ir;

	switch (r->operation) {
	case BLKIF_OP_READ:
	case BLKIF_OP_WRITE:
	case BLKIF_OP_WRITE_BARRIER:
	case BLKIF_OP_FLUSH_DISKCACHE:
		return r->nr_segments <= BLKIF_MAX_SEGMENTS_PER_REQUEST ? r->nr_segments : 0;
	case BLKIF_OP_INDIRECT:
		memcpy(&ir, r, sizeof(ir));
		return ir.nr_segments <= dev->lim.max_indirect ? ir.nr_segments : 0;
	default:
		return 0;
	}
}

int pv_blkback_bounce_room(struct pv_blkback_dev *dev, const struct blkif_request *r)
{
	unsigned int need;

	if (!dev->bounce)
		return 1;
	need = pages_of(dev, r);
	if (need <= dev->bounce_nfree || !dev->inflight)
		return 1;
	dev->st.bounce_waits++;
	return 0;
}

int pv_blkback_bounce_get(struct pv_blkback_req *rq, unsigned int n, void **pages)
{
	struct pv_blkback_dev *dev = rq->q->dev;
	unsigned int i, used;

	if (n > dev->bounce_nfree)
		return -ENOBUFS; /* only a pool smaller than one request: refused at start */
	for (i = 0; i < n; i++)
		pages[i] = dev->bounce + (size_t)dev->bounce_free[--dev->bounce_nfree] * PV_PAGE_SIZE;
	rq->nbounce = n;
	used = dev->bounce_pages - dev->bounce_nfree;
	if (used > dev->st.bounce_peak)
		dev->st.bounce_peak = used;
	dev->bounce_dirty = 1;
	return 0;
}

void pv_blkback_bounce_put(struct pv_blkback_req *rq)
{
	struct pv_blkback_dev *dev = rq->q->dev;
	unsigned int i;

	/* The pages are the cseg buffers, each at its page's start plus the segment offset. */
	for (i = 0; i < rq->nbounce; i++) {
		uintptr_t off = (uintptr_t)((uint8_t *)rq->cseg[i].local - dev->bounce);

		dev->bounce_free[dev->bounce_nfree++] = (uint32_t)(off / PV_PAGE_SIZE);
	}
	rq->nbounce = 0;
}

void pv_blkback_bounce_tick(struct pv_blkback_dev *dev)
{
	uint64_t reqs = dev->st.requests;

	if (!dev->bounce)
		return;
	if (dev->bounce_dirty && reqs == dev->bounce_idle_mark &&
	    dev->bounce_nfree == dev->bounce_pages) {
		madvise(dev->bounce, (size_t)dev->bounce_pages * PV_PAGE_SIZE, MADV_DONTNEED);
		dev->bounce_dirty = 0;
		dev->st.bounce_releases++;
	}
	dev->bounce_idle_mark = reqs;
}
