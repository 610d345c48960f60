/* SPDX-License-Identifier: MIT */
/*
 * pv_gref.c - the front end's grant pools (see pv_gref.h): setup, the budget that fits
 * every queue's pool into what the guest can grant, and the per-request grant path.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pv_gref.h"

int pv_gref_pool_init(struct pv_gref_pool *gp, struct pv_platform *p, domid_t peer,
		      unsigned int cap, int persistent)
{
	memset(gp, 0, sizeof(*gp));
	if (!cap)
		return -EINVAL;
	gp->p = p;
	gp->peer = peer;
	gp->cap = cap;
	gp->persistent = persistent != 0;
	gp->refs = malloc((size_t)cap * sizeof(*gp->refs));
	gp->free = malloc((size_t)cap * sizeof(*gp->free));
	if (!gp->refs || !gp->free)
		return -ENOMEM;
	return 0;
}

int pv_gref_pool_share(struct pv_gref_pool *gp, unsigned int pages)
{
	unsigned int j;
	void *base;
	int rc;

	if (!pages || pages > gp->cap || !gp->refs)
		return -EINVAL;
	if (gp->base || gp->out)
		return -EBUSY;
	if (!gp->persistent) {
		gp->pages = pages;
		return 0;
	}
	/* The whole pool in one grant operation, kept until disconnect. */
	rc = pv_gnt_share(gp->p, gp->peer, pages, 1, gp->refs, &base);
	if (rc < 0)
		return rc;
	gp->base = base;
	gp->pages = pages;
	/* Pushed in reverse so that page 0 is lent first: easier to read in a trace. */
	for (j = 0; j < pages; j++)
		gp->free[j] = pages - 1 - j;
	gp->nfree = pages;
	return 0;
}

int pv_gref_unshare_retry(struct pv_platform *p, void *addr, unsigned int count,
			  unsigned int tries)
{
	unsigned int k;
	int rc;

	for (k = 0;; k++) {
		rc = pv_gnt_unshare(p, addr, count);
		if (rc == 0)
			return 0;
		if (rc != -EBUSY || k >= tries)
			return -EBUSY;
		/* A back end still unmapping gets a short grace period. */
		usleep(1000);
	}
}

int pv_gref_pool_fini(struct pv_gref_pool *gp, unsigned int tries)
{
	int rc = 0;

	if (gp->base) {
		if (pv_gref_unshare_retry(gp->p, gp->base, gp->pages, tries) < 0)
			rc = -EBUSY; /* left to pv_platform_close() */
		else
			rc = (int)gp->pages;
	}
	free(gp->refs);
	free(gp->free);
	memset(gp, 0, sizeof(*gp));
	return rc;
}

unsigned int pv_gref_budget(unsigned int device_pages, unsigned int ring_pages, unsigned int nq)
{
	if (!nq)
		nq = 1;
	if (ring_pages > device_pages / 2)
		ring_pages = device_pages / 2;
	return (device_pages - ring_pages) / nq;
}

/* One attempt at budget b: every pool or none. */
static int share_all(struct pv_gref_pool *const *pools, unsigned int n, unsigned int b,
		     int (*want)(void *, unsigned int, unsigned int), void *opaque)
{
	unsigned int i, k;
	int rc = 0, w;

	for (i = 0; i < n; i++) {
		w = want(opaque, i, b);
		if (w < 0) {
			rc = w;
			break;
		}
		if (w == 0)
			w = 1;
		rc = pv_gref_pool_share(pools[i], (unsigned int)w < b ? (unsigned int)w : b);
		if (rc < 0)
			break;
	}
	if (rc < 0)
		for (k = 0; k < i; k++) {
			/* Not advertised yet: the back end cannot have mapped them. */
			if (pools[k]->base)
				pv_gnt_unshare(pools[k]->p, pools[k]->base, pools[k]->pages);
			pools[k]->base = NULL;
			pools[k]->pages = pools[k]->nfree = 0;
		}
	return rc;
}

int pv_gref_pools_share(struct pv_gref_pool *const *pools, unsigned int n, unsigned int budget,
			unsigned int min_budget,
			int (*want)(void *opaque, unsigned int i, unsigned int budget), void *opaque)
{
	unsigned int i;
	int rc;

	if (!want || (n && !pools))
		return -EINVAL;
	for (i = 0; i < n; i++)
		if (!pools[i] || budget > pools[i]->cap)
			return -EINVAL;
	while ((rc = share_all(pools, n, budget, want, opaque)) == -ENOSPC || rc == -ENOMEM) {
		if (budget / 2 < min_budget || budget / 2 == 0)
			return rc;
		budget /= 2;
	}
	return rc < 0 ? rc : (int)budget;
}

int pv_gref_share_req(struct pv_gref_pool *gp, unsigned int count, int writable,
		      grant_ref_t *refs, void **addr)
{
	int rc;

	if (count > pv_gref_avail(gp))
		return -ENOSPC;
	rc = pv_gnt_share(gp->p, gp->peer, count, writable, refs, addr);
	if (rc < 0)
		return rc;
	gp->out += count;
	return 0;
}

int pv_gref_unshare_req(struct pv_gref_pool *gp, void *addr, unsigned int count,
			unsigned int tries)
{
	if (count > gp->out)
		return -EINVAL;
	if (pv_gref_unshare_retry(gp->p, addr, count, tries) < 0)
		return -EBUSY;
	gp->out -= count;
	return 0;
}
