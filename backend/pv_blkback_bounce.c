/* SPDX-License-Identifier: MIT */
/*
 * pv_blkback_bounce.c - grant-copy mode's bounce pages: one pool per queue, bounded.
 *
 * A device's --max-bounce bytes are shared evenly by its queues, each pool its queue's
 * thread's alone (address space reserved with MAP_NORESERVE, resident only once used),
 * and never less than one largest request (PV_BLKBACK_BOUNCE_MIN).  The free list is a
 * stack, so a queue that keeps few requests in flight keeps reusing the same few pages.
 * A request is not taken off the ring while the pool lacks its pages and the queue has
 * requests in flight: their completions free pages and take it then (the pool holds at
 * least one largest request, so this always ends).  A queue idle for a whole tick (a
 * second) with no page in use gives all of them back to the kernel.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "pv_blkback.h"

#define COMP "bounce"

int pv_blkback_bounce_init(struct pv_blkback_queue *q)
{
	size_t bytes = q->w->max_bounce ? q->w->max_bounce : PV_BLKBACK_BOUNCE_DEFAULT;
	unsigned int i;

	if (!q->dev->copy || q->bounce)
		return 0;
	bytes /= q->dev->nqueues;
	if (bytes < PV_BLKBACK_BOUNCE_MIN)
		bytes = PV_BLKBACK_BOUNCE_MIN;
	q->bounce_pages = (unsigned int)(bytes / PV_PAGE_SIZE);
	q->bounce = mmap(NULL, (size_t)q->bounce_pages * PV_PAGE_SIZE, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (q->bounce == MAP_FAILED) {
		q->bounce = NULL;
		return -ENOMEM;
	}
	q->bounce_free = malloc((size_t)q->bounce_pages * sizeof(*q->bounce_free));
	if (!q->bounce_free) {
		pv_blkback_bounce_fini(q);
		return -ENOMEM;
	}
	/* Page 0 on top: the first requests use the lowest pages. */
	for (i = 0; i < q->bounce_pages; i++)
		q->bounce_free[i] = q->bounce_pages - 1 - i;
	q->bounce_nfree = q->bounce_pages;
	q->bounce_dirty = 0;
	return 0;
}

void pv_blkback_bounce_fini(struct pv_blkback_queue *q)
{
	if (q->bounce)
		munmap(q->bounce, (size_t)q->bounce_pages * PV_PAGE_SIZE);
	free(q->bounce_free);
	q->bounce = NULL;
	q->bounce_free = NULL;
	q->bounce_pages = q->bounce_nfree = 0;
}

/* Bounce pages a request (a private copy, not yet validated) will need; 0 if malformed. */
static unsigned int pages_of(const struct pv_blkback_queue *q, const struct blkif_request *r)
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
		return ir.nr_segments <= q->lim.max_indirect ? ir.nr_segments : 0;
	default:
		return 0;
	}
}

int pv_blkback_bounce_room(struct pv_blkback_queue *q, const struct blkif_request *r)
{
	unsigned int need;

	if (!q->bounce)
		return 1;
	need = pages_of(q, r);
	if (need <= q->bounce_nfree || !q->inflight)
		return 1;
	q->st.bounce_waits++;
	return 0;
}

int pv_blkback_bounce_get(struct pv_blkback_req *rq, unsigned int n, void **pages)
{
	struct pv_blkback_queue *q = rq->q;
	unsigned int i, used;

	if (n > q->bounce_nfree)
		return -ENOBUFS; /* only a pool smaller than one request: refused at start */
	for (i = 0; i < n; i++)
		pages[i] = q->bounce + (size_t)q->bounce_free[--q->bounce_nfree] * PV_PAGE_SIZE;
	rq->nbounce = n;
	used = q->bounce_pages - q->bounce_nfree;
	if (used > q->st.bounce_peak)
		q->st.bounce_peak = used;
	q->bounce_dirty = 1;
	return 0;
}

void pv_blkback_bounce_put(struct pv_blkback_req *rq)
{
	struct pv_blkback_queue *q = rq->q;
	unsigned int i;

	/* The pages are the cseg buffers, each at its page's start plus the segment offset. */
	for (i = 0; i < rq->nbounce; i++) {
		uintptr_t off = (uintptr_t)((uint8_t *)rq->cseg[i].local - q->bounce);

		q->bounce_free[q->bounce_nfree++] = (uint32_t)(off / PV_PAGE_SIZE);
	}
	rq->nbounce = 0;
}

void pv_blkback_bounce_tick(struct pv_blkback_queue *q)
{
	uint64_t reqs = q->st.requests;

	if (!q->bounce)
		return;
	if (q->bounce_dirty && reqs == q->bounce_idle_mark &&
	    q->bounce_nfree == q->bounce_pages) {
		madvise(q->bounce, (size_t)q->bounce_pages * PV_PAGE_SIZE, MADV_DONTNEED);
		q->bounce_dirty = 0;
		q->st.bounce_releases++;
	}
	q->bounce_idle_mark = reqs;
}
