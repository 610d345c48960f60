/* SPDX-License-Identifier: MIT */
/*
 * pv_gref.h - the front end's grant pools: pages granted to one back end, either once
 * and lent out per request (persistent), or granted per request within a page budget.
 *
 * A front end sizes one pool per ring at connect (pv_gref_pool_init), grants them all
 * through pv_gref_pools_share(), which fits the pools into the pages the device may hold
 * (pv_gref_budget) and halves them until the guest can grant that many (Linux's gntalloc
 * grants 1024 pages to all of a domU's userspace by default), then per request:
 *
 *   persistent   idx = pv_gref_get(gp); ... pv_gref_ref(gp, idx), pv_gref_page(gp, idx);
 *                pv_gref_put(gp, idx) once the response came back
 *   per request  pv_gref_share_req() / pv_gref_unshare_req(): one grant operation each,
 *                counted against the same budget (pv_gref_avail)
 *
 * Nothing on the hot path allocates or makes a system call (a persistent pool needs no
 * grant operation at all); init and share are setup.  The indices are the caller's own
 * (never a value from the peer), yet pv_gref_put() refuses one it did not hand out.
 * Single-threaded, like the ring it serves.  Never logs.
 */
#ifndef PV_GREF_H
#define PV_GREF_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include "pv_platform.h"
#include "pv_ring.h" /* PV_PAGE_SIZE */

struct pv_gref_pool {
	struct pv_platform *p;
	domid_t peer;
	unsigned int persistent; /* 1: granted once, lent out; 0: a budget for per-request grants */
	unsigned int cap;        /* the most pages it may ever hold (its arrays' size) */
	unsigned int pages;      /* persistent: pages granted; per request: the budget */
	unsigned int nfree;      /* persistent: pages not lent out */
	unsigned int out;        /* per request: pages granted now */
	uint8_t *base;           /* persistent: the pages, contiguous; NULL when not shared */
	grant_ref_t *refs;       /* [cap]: ref of page i */
	uint32_t *free;          /* [cap]: stack of free page indices */
};

/*
 * Sets gp up for at most cap pages granted to peer (allocates its tables; grants nothing
 * yet).  Returns 0, -EINVAL (cap 0) or -ENOMEM (gp then still safe to pass to fini).
 */
int pv_gref_pool_init(struct pv_gref_pool *gp, struct pv_platform *p, domid_t peer,
		      unsigned int cap, int persistent);

/*
 * Persistent: grants pages pages (writable, one grant operation), every one free.
 * Per request: sets the budget to pages.  Returns 0, or -errno and gp unchanged
 * (-EINVAL: pages 0 or above cap; -EBUSY: already shared; -ENOSPC/-ENOMEM: the guest
 * cannot grant that many now).
 */
int pv_gref_pool_share(struct pv_gref_pool *gp, unsigned int pages);

/*
 * Ends a persistent pool's grants, retrying every millisecond up to tries times while
 * the peer still maps a page, and frees the tables.  Returns the pages ended (0 for a
 * per-request or unshared pool), or -EBUSY when the peer kept a page mapped: the pages
 * are then left to pv_platform_close().  Safe on a zeroed or finished pool.
 */
int pv_gref_pool_fini(struct pv_gref_pool *gp, unsigned int tries);

/*
 * The device's page budget split between its queues: device_pages less the rings
 * (ring_pages, counted at most half of it), divided by nq.
 */
unsigned int pv_gref_budget(unsigned int device_pages, unsigned int ring_pages, unsigned int nq);

/*
 * Shares the n pools pools[0..n), all alike, each with at most budget pages.  want(opaque, i, b) says how
 * many pages pool i wants when a pool may have b (the caller may shrink its requests to
 * fit b), or -errno (-ENOSPC: nothing useful fits in b).  When a pool cannot be granted
 * (-ENOSPC, -ENOMEM) the pools granted so far are ended and every pool tried again with
 * half the budget, down to min_budget.  Returns the budget the pools were shared with,
 * or -errno (no pool shared).
 */
int pv_gref_pools_share(struct pv_gref_pool *const *pools, unsigned int n, unsigned int budget,
			unsigned int min_budget,
			int (*want)(void *opaque, unsigned int i, unsigned int budget), void *opaque);

/*
 * Ends the grants of count pages at addr (from pv_gnt_share()), retrying every
 * millisecond up to tries times while the peer still maps one.  0 or -EBUSY.
 */
int pv_gref_unshare_retry(struct pv_platform *p, void *addr, unsigned int count,
			  unsigned int tries);

/*
 * Per request: grants count new pages (writable or read-only) within the budget.
 * Returns 0 with refs[] and *addr, -ENOSPC when the budget has fewer pages left, or
 * pv_gnt_share()'s -errno.
 */
int pv_gref_share_req(struct pv_gref_pool *gp, unsigned int count, int writable,
		      grant_ref_t *refs, void **addr);

/* Per request: ends them (tries as pv_gref_unshare_retry).  0, or -EBUSY (still held). */
int pv_gref_unshare_req(struct pv_gref_pool *gp, void *addr, unsigned int count,
			unsigned int tries);

/* ---- hot path ------------------------------------------------------------------------ */

/* Pages a request may take now: free pool pages, or what is left of the budget. */
static inline unsigned int pv_gref_avail(const struct pv_gref_pool *gp)
{
	if (gp->persistent)
		return gp->base ? gp->nfree : 0;
	return gp->pages > gp->out ? gp->pages - gp->out : 0;
}

/* Takes a free page of a persistent pool: its index, or -ENOSPC. */
static inline int pv_gref_get(struct pv_gref_pool *gp)
{
	if (!gp->base || !gp->nfree)
		return -ENOSPC;
	return (int)gp->free[--gp->nfree];
}

/* Gives page idx back.  0, or -EINVAL for an index not in the pool or a pool already full. */
static inline int pv_gref_put(struct pv_gref_pool *gp, uint32_t idx)
{
	if (idx >= gp->pages || gp->nfree >= gp->pages)
		return -EINVAL;
	gp->free[gp->nfree++] = idx;
	return 0;
}

static inline grant_ref_t pv_gref_ref(const struct pv_gref_pool *gp, uint32_t idx)
{
	return gp->refs[idx];
}

static inline void *pv_gref_page(const struct pv_gref_pool *gp, uint32_t idx)
{
	return gp->base + (size_t)idx * PV_PAGE_SIZE;
}

#endif /* PV_GREF_H */
