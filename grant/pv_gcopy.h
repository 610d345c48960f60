/* SPDX-License-Identifier: MIT */
/*
 * pv_gcopy.h - a batch of grant copies: segments added one by one, then all done by one
 * pv_gnt_copy() call (one hypercall on Xen), each with its own status.
 *
 * The caller owns the segment storage (sized at setup, e.g. to a ring's requests), so
 * nothing here allocates; a batch is a few words on top of it:
 *
 *   struct pv_gnt_copy_seg segs[N];
 *   struct pv_gcopy_batch b;
 *   pv_gcopy_init(&b, plat, segs, N);
 *   pv_gcopy_add(&b, buf, domid, ref, offset, len, 0);   ... (granted page -> buf)
 *   failed = pv_gcopy_flush(&b);                         0, or how many failed
 *   pv_gcopy_status(&b, i)                               segment i: 0 or -errno
 *   pv_gcopy_reset(&b);                                  empty again
 *
 * A flushed batch keeps its segments until reset, so the same copies can be flushed
 * again later (a read's data goes back to the guest at completion).  Refs, offsets and
 * lengths usually come from a hostile peer: pv_gcopy_add() refuses a segment that leaves
 * the page, and the hypervisor refuses a ref that is not granted to us (that segment's
 * status), never the whole batch.
 */
#ifndef PV_GCOPY_H
#define PV_GCOPY_H

#include <errno.h>
#include <stdint.h>

#include "pv_platform.h"
#include "pv_ring.h" /* PV_PAGE_SIZE */

struct pv_gcopy_batch {
	struct pv_platform *p;
	struct pv_gnt_copy_seg *segs; /* the caller's [cap] */
	unsigned int n, cap;
};

static inline void pv_gcopy_init(struct pv_gcopy_batch *b, struct pv_platform *p,
				 struct pv_gnt_copy_seg *segs, unsigned int cap)
{
	b->p = p;
	b->segs = segs;
	b->n = 0;
	b->cap = segs ? cap : 0;
}

static inline void pv_gcopy_reset(struct pv_gcopy_batch *b)
{
	b->n = 0;
}

/*
 * Adds a copy of len bytes between local and offset..offset+len of page ref granted by
 * domid: to_granted = 1 writes the granted page, 0 reads it.  Returns the segment's index,
 * -ENOSPC when the batch is full, or -EINVAL (no buffer, len 0, or past the page end).
 */
static inline int pv_gcopy_add(struct pv_gcopy_batch *b, void *local, domid_t domid,
			       grant_ref_t ref, unsigned int offset, unsigned int len,
			       int to_granted)
{
	if (!local || !len || offset >= PV_PAGE_SIZE || len > PV_PAGE_SIZE - offset)
		return -EINVAL;
	if (b->n >= b->cap)
		return -ENOSPC;
	b->segs[b->n] = (struct pv_gnt_copy_seg){
		.local = local, .ref = ref, .domid = domid, .offset = (uint16_t)offset,
		.len = (uint16_t)len, .to_granted = (uint8_t)(to_granted != 0),
	};
	return (int)b->n++;
}

/*
 * Performs every segment added since the last reset in one pv_gnt_copy() call.  Returns
 * 0 when all succeeded (and for an empty batch), the number of segments that failed
 * (> 0; pv_gcopy_status() says which and why; all of them when the platform refused the
 * batch as a whole), or -ENOTSUP where the platform has no grant copy (nothing copied:
 * map and memcpy instead).
 */
int pv_gcopy_flush(struct pv_gcopy_batch *b);

/* Segment i's result after a flush: 0 or -errno (-EACCES, -EINVAL ...); -EINVAL past n. */
static inline int pv_gcopy_status(const struct pv_gcopy_batch *b, unsigned int i)
{
	return i < b->n ? b->segs[i].status : -EINVAL;
}

static inline unsigned int pv_gcopy_count(const struct pv_gcopy_batch *b)
{
	return b->n;
}

#endif /* PV_GCOPY_H */
