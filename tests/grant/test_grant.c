/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of grant/: the front end's pools (pv_gref_), the back end's persistent map
 * cache (pv_gcache_) and grant-copy batches (pv_gcopy_), against a fake platform (an
 * operations table, pv_platform_impl.h) that counts every grant operation, refuses what
 * Xen refuses (a ref outside the table, one not granted, a write to a read-only grant),
 * can run out of grants like gntalloc, and checks that every unmap and unshare names
 * exactly what was mapped or shared.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pv_test.h"
#include "pv_platform_impl.h"
#include "pv_gcache.h"
#include "pv_gcopy.h"
#include "pv_gref.h"
#include "grant_tests.h"

/* ---- the fake platform ---------------------------------------------------------------- */

#define FK_REFS   512u  /* the peer's grant table (map and copy side) */
#define FK_LIVE   256u  /* live shares / maps tracked */
#define FK_RO     1u
#define FK_GRANT  2u

static struct {
	/* granting side */
	unsigned int share_limit;  /* pages we may have shared at once (gntalloc's 1024) */
	unsigned int shared;       /* pages shared now */
	unsigned int share_calls, unshare_calls;
	int unshare_busy;          /* > 0: that many unshare calls answer -EBUSY */
	grant_ref_t next_ref;
	struct { void *addr; unsigned int count; } shares[FK_LIVE];
	/* mapping side: the peer granted these */
	uint8_t flags[FK_REFS];
	uint8_t mem[FK_REFS][PV_PAGE_SIZE];
	unsigned int map_calls, mapped_pages, unmap_calls, unmapped_pages;
	grant_ref_t last_map_refs[FK_REFS];
	unsigned int last_map_count;
	struct { void *addr; unsigned int count; } maps[FK_LIVE];
	unsigned int bad_unmaps, bad_unshares;
	/* copies */
	unsigned int copy_calls, copy_segs;
	int copy_rc;               /* != 0: the whole batch fails so, no status set */
} fk;

static void fk_reset(void)
{
	unsigned int i;

	for (i = 0; i < FK_LIVE; i++) {
		free(fk.shares[i].addr);
		free(fk.maps[i].addr);
	}
	memset(&fk, 0, sizeof(fk));
	fk.share_limit = 1u << 20;
	fk.next_ref = 8; /* refs 0..7 are reserved in Xen */
	for (i = 8; i < FK_REFS; i++) {
		fk.flags[i] = FK_GRANT;
		memset(fk.mem[i], 0, PV_PAGE_SIZE);
		memcpy(fk.mem[i], &i, sizeof(i)); /* each page names its ref */
	}
}

static unsigned int live(void *const *addrs, size_t stride, unsigned int n)
{
	unsigned int i, k = 0;

	for (i = 0; i < n; i++)
		k += *(void *const *)((const char *)addrs + i * stride) != NULL;
	return k;
}

static unsigned int fk_live_shares(void)
{
	return live(&fk.shares[0].addr, sizeof(fk.shares[0]), FK_LIVE);
}

static unsigned int fk_live_maps(void)
{
	return live(&fk.maps[0].addr, sizeof(fk.maps[0]), FK_LIVE);
}

static int fk_share(struct pv_platform *p, domid_t peer, unsigned int count, int writable,
		    grant_ref_t *refs, void **addr)
{
	unsigned int i;

	(void)p; (void)peer; (void)writable;
	fk.share_calls++;
	if (count > fk.share_limit - fk.shared)
		return -ENOSPC;
	for (i = 0; i < FK_LIVE && fk.shares[i].addr; i++)
		;
	if (i == FK_LIVE)
		return -ENOMEM;
	fk.shares[i].addr = aligned_alloc(PV_PAGE_SIZE, (size_t)count * PV_PAGE_SIZE);
	if (!fk.shares[i].addr)
		return -ENOMEM;
	memset(fk.shares[i].addr, 0, (size_t)count * PV_PAGE_SIZE);
	fk.shares[i].count = count;
	fk.shared += count;
	while (count--)
		*refs++ = fk.next_ref++;
	*addr = fk.shares[i].addr;
	return 0;
}

static int fk_unshare(struct pv_platform *p, void *addr, unsigned int count)
{
	unsigned int i;

	(void)p;
	fk.unshare_calls++;
	if (fk.unshare_busy > 0) {
		fk.unshare_busy--;
		return -EBUSY;
	}
	for (i = 0; i < FK_LIVE; i++)
		if (fk.shares[i].addr == addr && fk.shares[i].count == count)
			break;
	if (i == FK_LIVE) {
		fk.bad_unshares++;
		return -EINVAL;
	}
	free(addr);
	fk.shares[i].addr = NULL;
	fk.shared -= count;
	return 0;
}

/* What Xen answers for one ref: 0, -EINVAL (outside the table) or -EACCES. */
static int fk_check(grant_ref_t ref, int write)
{
	if (ref >= FK_REFS)
		return -EINVAL;
	if (!(fk.flags[ref] & FK_GRANT) || (write && (fk.flags[ref] & FK_RO)))
		return -EACCES;
	return 0;
}

static int fk_map(struct pv_platform *p, domid_t peer, unsigned int count, const grant_ref_t *refs,
		  int writable, void **addr)
{
	unsigned int i, k;
	uint8_t *a;
	int rc;

	(void)p; (void)peer;
	fk.map_calls++;
	fk.last_map_count = count;
	memcpy(fk.last_map_refs, refs, (count < FK_REFS ? count : FK_REFS) * sizeof(*refs));
	for (i = 0; i < count; i++)
		if ((rc = fk_check(refs[i], writable)) < 0)
			return rc; /* all or nothing */
	for (k = 0; k < FK_LIVE && fk.maps[k].addr; k++)
		;
	if (k == FK_LIVE)
		return -ENOMEM;
	a = aligned_alloc(PV_PAGE_SIZE, (size_t)count * PV_PAGE_SIZE);
	if (!a)
		return -ENOMEM;
	for (i = 0; i < count; i++)
		memcpy(a + (size_t)i * PV_PAGE_SIZE, fk.mem[refs[i]], PV_PAGE_SIZE);
	fk.maps[k].addr = a;
	fk.maps[k].count = count;
	fk.mapped_pages += count;
	*addr = a;
	return 0;
}

static int fk_unmap(struct pv_platform *p, void *addr, unsigned int count)
{
	unsigned int k;

	(void)p;
	fk.unmap_calls++;
	for (k = 0; k < FK_LIVE; k++)
		if (fk.maps[k].addr == addr && fk.maps[k].count == count)
			break;
	if (k == FK_LIVE) {
		fk.bad_unmaps++;
		return -EINVAL;
	}
	free(addr);
	fk.maps[k].addr = NULL;
	fk.unmapped_pages += count;
	return 0;
}

static int fk_copy(struct pv_platform *p, struct pv_gnt_copy_seg *segs, unsigned int count)
{
	unsigned int i;
	int failed = 0;

	(void)p;
	fk.copy_calls++;
	fk.copy_segs += count;
	if (fk.copy_rc)
		return fk.copy_rc;
	for (i = 0; i < count; i++) {
		struct pv_gnt_copy_seg *g = &segs[i];
		int rc = fk_check(g->ref, g->to_granted);

		if (rc == 0 && (unsigned int)g->offset + g->len > PV_PAGE_SIZE)
			rc = -EINVAL;
		if (rc == 0) {
			if (g->to_granted)
				memcpy(fk.mem[g->ref] + g->offset, g->local, g->len);
			else
				memcpy(g->local, fk.mem[g->ref] + g->offset, g->len);
		}
		g->status = (int16_t)rc;
		failed |= rc < 0;
	}
	return failed ? -EIO : 0;
}

static const struct pv_platform_ops fk_ops = {
	.name = "fake",
	.gnt_share = fk_share,
	.gnt_unshare = fk_unshare,
	.gnt_map = fk_map,
	.gnt_unmap = fk_unmap,
	.gnt_copy = fk_copy,
};

static const struct pv_platform_ops fk_nocopy_ops = {
	.name = "fake-nocopy",
	.gnt_map = fk_map,
	.gnt_unmap = fk_unmap,
};

static struct pv_platform plat = { .ops = &fk_ops, .domid = 0 };
static struct pv_platform plat_nocopy = { .ops = &fk_nocopy_ops, .domid = 0 };

static int suite_init(void)
{
	fk_reset();
	return 0;
}

static int suite_clean(void)
{
	fk_reset();
	return 0;
}

/* ---- pv_gref: front-end pools ---------------------------------------------------------- */

static void test_gref_alloc_exhaust_free(void)
{
	struct pv_gref_pool gp;
	int idx[16], i, k;

	fk_reset();
	CU_ASSERT_EQUAL_FATAL(pv_gref_pool_init(&gp, &plat, 1, 64, 1), 0);
	CU_ASSERT_EQUAL(pv_gref_avail(&gp), 0); /* nothing granted yet */
	CU_ASSERT_EQUAL(pv_gref_get(&gp), -ENOSPC);
	CU_ASSERT_EQUAL_FATAL(pv_gref_pool_share(&gp, 16), 0);
	CU_ASSERT_EQUAL(fk.share_calls, 1); /* the whole pool in one grant operation */
	CU_ASSERT_EQUAL(fk.shared, 16);
	CU_ASSERT_EQUAL(pv_gref_avail(&gp), 16);
	CU_ASSERT_EQUAL(pv_gref_pool_share(&gp, 16), -EBUSY);
	for (i = 0; i < 16; i++) {
		idx[i] = pv_gref_get(&gp);
		CU_ASSERT_EQUAL(idx[i], i); /* page 0 first */
		CU_ASSERT_EQUAL(pv_gref_page(&gp, (uint32_t)idx[i]),
				(uint8_t *)fk.shares[0].addr + (size_t)i * PV_PAGE_SIZE);
		for (k = 0; k < i; k++)
			CU_ASSERT_NOT_EQUAL(pv_gref_ref(&gp, (uint32_t)idx[k]),
					    pv_gref_ref(&gp, (uint32_t)idx[i]));
	}
	/* Exhausted: refused, not a page handed out twice. */
	CU_ASSERT_EQUAL(pv_gref_avail(&gp), 0);
	CU_ASSERT_EQUAL(pv_gref_get(&gp), -ENOSPC);
	CU_ASSERT_EQUAL(pv_gref_put(&gp, 7), 0);
	CU_ASSERT_EQUAL(pv_gref_avail(&gp), 1);
	CU_ASSERT_EQUAL(pv_gref_get(&gp), 7); /* the page given back is the one lent next */
	/* Indices it never lent, and a pool already full, are refused. */
	CU_ASSERT_EQUAL(pv_gref_put(&gp, 16), -EINVAL);
	CU_ASSERT_EQUAL(pv_gref_put(&gp, UINT32_MAX), -EINVAL);
	for (i = 0; i < 16; i++)
		CU_ASSERT_EQUAL(pv_gref_put(&gp, (uint32_t)idx[i]), 0);
	CU_ASSERT_EQUAL(pv_gref_put(&gp, 0), -EINVAL);
	CU_ASSERT_EQUAL(pv_gref_avail(&gp), 16);
	CU_ASSERT_EQUAL(fk.share_calls, 1); /* no grant operation on the hot path */
	CU_ASSERT_EQUAL(pv_gref_pool_fini(&gp, 0), 16);
	CU_ASSERT_EQUAL(fk_live_shares(), 0);
	CU_ASSERT_EQUAL(fk.bad_unshares, 0);
	CU_ASSERT_EQUAL(pv_gref_pool_fini(&gp, 0), 0); /* twice: nothing left */
	CU_ASSERT_EQUAL(fk.unshare_calls, 1);
	CU_ASSERT_EQUAL(pv_gref_pool_init(&gp, &plat, 1, 0, 1), -EINVAL);
	pv_gref_pool_fini(&gp, 0);
}

static void test_gref_share_bounds(void)
{
	struct pv_gref_pool gp;

	fk_reset();
	CU_ASSERT_EQUAL_FATAL(pv_gref_pool_init(&gp, &plat, 1, 8, 1), 0);
	CU_ASSERT_EQUAL(pv_gref_pool_share(&gp, 0), -EINVAL);
	CU_ASSERT_EQUAL(pv_gref_pool_share(&gp, 9), -EINVAL);
	fk.share_limit = 4; /* the guest has fewer grants left: unchanged, retry possible */
	CU_ASSERT_EQUAL(pv_gref_pool_share(&gp, 8), -ENOSPC);
	CU_ASSERT_EQUAL(pv_gref_avail(&gp), 0);
	CU_ASSERT_EQUAL(pv_gref_pool_share(&gp, 4), 0);
	CU_ASSERT_EQUAL(pv_gref_avail(&gp), 4);
	/* A peer that keeps a page mapped: fini gives up after its tries, leaves it. */
	fk.unshare_busy = 100;
	CU_ASSERT_EQUAL(pv_gref_pool_fini(&gp, 2), -EBUSY);
	CU_ASSERT_EQUAL(fk.unshare_calls, 3);
	CU_ASSERT_PTR_NULL(gp.base);
	CU_ASSERT_EQUAL(fk_live_shares(), 1); /* left to pv_platform_close() */
	fk_reset();
}

static void test_gref_per_request_budget(void)
{
	struct pv_gref_pool gp;
	grant_ref_t refs[8];
	void *a, *b;

	fk_reset();
	CU_ASSERT_EQUAL_FATAL(pv_gref_pool_init(&gp, &plat, 1, 32, 0), 0);
	CU_ASSERT_EQUAL(pv_gref_pool_share(&gp, 8), 0);
	CU_ASSERT_EQUAL(fk.share_calls, 0); /* a budget, nothing granted */
	CU_ASSERT_EQUAL(pv_gref_avail(&gp), 8);
	CU_ASSERT_EQUAL(pv_gref_get(&gp), -ENOSPC); /* no pool pages to lend */
	CU_ASSERT_EQUAL(pv_gref_share_req(&gp, 5, 1, refs, &a), 0);
	CU_ASSERT_EQUAL(pv_gref_avail(&gp), 3);
	/* Over the budget: refused before any grant operation. */
	CU_ASSERT_EQUAL(pv_gref_share_req(&gp, 4, 0, refs, &b), -ENOSPC);
	CU_ASSERT_EQUAL(fk.share_calls, 1);
	CU_ASSERT_EQUAL(pv_gref_share_req(&gp, 3, 0, refs, &b), 0);
	CU_ASSERT_EQUAL(pv_gref_avail(&gp), 0);
	/* The back end still maps them: -EBUSY, still counted against the budget. */
	fk.unshare_busy = 1;
	CU_ASSERT_EQUAL(pv_gref_unshare_req(&gp, a, 5, 0), -EBUSY);
	CU_ASSERT_EQUAL(pv_gref_avail(&gp), 0);
	CU_ASSERT_EQUAL(pv_gref_unshare_req(&gp, a, 5, 0), 0);
	CU_ASSERT_EQUAL(pv_gref_avail(&gp), 5);
	/* More than is out is a caller bug, refused without touching the budget. */
	CU_ASSERT_EQUAL(pv_gref_unshare_req(&gp, b, 4, 0), -EINVAL);
	CU_ASSERT_EQUAL(pv_gref_unshare_req(&gp, b, 3, 1), 0);
	CU_ASSERT_EQUAL(pv_gref_avail(&gp), 8);
	CU_ASSERT_EQUAL(fk_live_shares(), 0);
	CU_ASSERT_EQUAL(fk.bad_unshares, 0);
	CU_ASSERT_EQUAL(pv_gref_pool_fini(&gp, 0), 0);
}

static void test_gref_budget(void)
{
	/* blkfront's numbers: 1024 pages per device, less the rings, per queue. */
	CU_ASSERT_EQUAL(pv_gref_budget(1024, 1, 1), 1023);
	CU_ASSERT_EQUAL(pv_gref_budget(1024, 4 * 16, 4), (1024 - 64) / 4);
	/* Rings count at most half the budget; no queue is the same as one. */
	CU_ASSERT_EQUAL(pv_gref_budget(1024, 4000, 2), 256);
	CU_ASSERT_EQUAL(pv_gref_budget(1024, 0, 0), 1024);
}

struct want_ctx {
	unsigned int want;      /* pages each pool wants */
	unsigned int min_fit;   /* below this budget nothing useful fits: -ENOSPC */
	unsigned int calls;
	unsigned int last_budget;
};

static int want_cb(void *opaque, unsigned int i, unsigned int budget)
{
	struct want_ctx *w = opaque;

	(void)i;
	w->calls++;
	w->last_budget = budget;
	if (budget < w->min_fit)
		return -ENOSPC;
	return (int)w->want;
}

static void test_gref_pools_fit_guest_limit(void)
{
	struct pv_gref_pool gp[4];
	struct pv_gref_pool *pp[4] = { &gp[0], &gp[1], &gp[2], &gp[3] };
	struct want_ctx w = { .want = 900, .min_fit = 11 };
	unsigned int i;
	int rc;

	fk_reset();
	/* gntalloc's default: 1024 pages for all of the guest's userspace. */
	fk.share_limit = 1024;
	for (i = 0; i < 4; i++)
		CU_ASSERT_EQUAL_FATAL(pv_gref_pool_init(&gp[i], &plat, 1, 1000, 1), 0);
	rc = pv_gref_pools_share(pp, 4, 1000, 11, want_cb, &w);
	/* 4 x 900 does not fit, 4 x 500 neither, 4 x 250 does: every pool alike. */
	CU_ASSERT_EQUAL(rc, 250);
	for (i = 0; i < 4; i++) {
		CU_ASSERT_EQUAL(gp[i].pages, 250);
		CU_ASSERT_EQUAL(pv_gref_avail(&gp[i]), 250);
	}
	CU_ASSERT_EQUAL(fk.shared, 1000);
	CU_ASSERT_EQUAL(fk_live_shares(), 4);
	/* The attempts that did not fit were rolled back exactly. */
	CU_ASSERT_EQUAL(fk.bad_unshares, 0);
	CU_ASSERT_EQUAL(fk.unshare_calls, fk.share_calls - 4 - 2);
	for (i = 0; i < 4; i++)
		CU_ASSERT_EQUAL(pv_gref_pool_fini(&gp[i], 0), 250);
	CU_ASSERT_EQUAL(fk_live_shares(), 0);

	/* A pool that wants less than the budget gets what it wants. */
	fk_reset();
	w = (struct want_ctx){ .want = 100, .min_fit = 11 };
	for (i = 0; i < 2; i++)
		CU_ASSERT_EQUAL_FATAL(pv_gref_pool_init(&gp[i], &plat, 1, 512, 1), 0);
	CU_ASSERT_EQUAL(pv_gref_pools_share(pp, 2, 512, 11, want_cb, &w), 512);
	CU_ASSERT_EQUAL(gp[0].pages, 100);
	CU_ASSERT_EQUAL(fk.share_calls, 2);
	for (i = 0; i < 2; i++)
		pv_gref_pool_fini(&gp[i], 0);

	/* Nothing fits above min_budget: the error, nothing left shared. */
	fk_reset();
	fk.share_limit = 10;
	w = (struct want_ctx){ .want = 900, .min_fit = 11 };
	for (i = 0; i < 2; i++)
		CU_ASSERT_EQUAL_FATAL(pv_gref_pool_init(&gp[i], &plat, 1, 1000, 1), 0);
	CU_ASSERT_EQUAL(pv_gref_pools_share(pp, 2, 1000, 11, want_cb, &w), -ENOSPC);
	CU_ASSERT(w.last_budget >= 11);
	CU_ASSERT_EQUAL(fk_live_shares(), 0);
	CU_ASSERT_EQUAL(pv_gref_avail(&gp[0]), 0);

	/*
	 * The caller's own -ENOSPC (its requests cannot shrink to the budget) halves on too,
	 * down to the smallest budget >= min_budget: 1000 500 250 125 62 31 15.
	 */
	for (i = 0; i < 2; i++)
		pv_gref_pool_fini(&gp[i], 0);
	fk_reset();
	w = (struct want_ctx){ .want = 900, .min_fit = 600 };
	fk.share_limit = 1000;
	for (i = 0; i < 2; i++)
		CU_ASSERT_EQUAL_FATAL(pv_gref_pool_init(&gp[i], &plat, 1, 1000, 1), 0);
	CU_ASSERT_EQUAL(pv_gref_pools_share(pp, 2, 1000, 11, want_cb, &w), -ENOSPC);
	CU_ASSERT_EQUAL(w.last_budget, 15);
	CU_ASSERT_EQUAL(fk_live_shares(), 0);
	CU_ASSERT_EQUAL(fk.bad_unshares, 0);

	/* A budget above a pool's tables is refused before anything is granted. */
	CU_ASSERT_EQUAL(pv_gref_pools_share(pp, 2, 1001, 11, want_cb, &w), -EINVAL);
	CU_ASSERT_EQUAL(pv_gref_pools_share(pp, 2, 1000, 11, NULL, &w), -EINVAL);
	for (i = 0; i < 2; i++)
		pv_gref_pool_fini(&gp[i], 0);
	fk_reset();
}

/* ---- pv_gcache: back-end map cache --------------------------------------------------- */

static grant_ref_t page_ref(const void *page)
{
	grant_ref_t r;

	memcpy(&r, page, sizeof(r));
	return r;
}

static void test_gcache_hit_miss(void)
{
	struct pv_gcache c;
	grant_ref_t refs[] = { 9, 10, 9, 11 };
	uint32_t pin_store[4];
	struct pv_gcache_pins pins = { pin_store, 0, 4 };
	unsigned int ev = 99;
	void *p9;

	fk_reset();
	CU_ASSERT_EQUAL_FATAL(pv_gcache_init(&c, &plat, 1, 16, 1), 0);
	pv_gcache_tick(&c);
	CU_ASSERT_PTR_NULL(pv_gcache_get(&c, 9, &pins));
	CU_ASSERT_EQUAL(pins.n, 0);
	/* One map call for the distinct misses. */
	CU_ASSERT_EQUAL(pv_gcache_map(&c, refs, 4, &ev), 3);
	CU_ASSERT_EQUAL(ev, 0);
	CU_ASSERT_EQUAL(fk.map_calls, 1);
	CU_ASSERT_EQUAL(fk.last_map_count, 3);
	CU_ASSERT_EQUAL(pv_gcache_count(&c), 3);
	p9 = pv_gcache_get(&c, 9, &pins);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p9);
	CU_ASSERT_EQUAL(page_ref(p9), 9);
	CU_ASSERT_EQUAL(page_ref(pv_gcache_get(&c, 11, &pins)), 11);
	/* Pages of one chunk pin it once per tick. */
	CU_ASSERT_EQUAL(pins.n, 1);
	CU_ASSERT_EQUAL(c.chunks[pins.chunk[0]].busy, 1);
	/* Present already: no map call. */
	CU_ASSERT_EQUAL(pv_gcache_map(&c, refs, 4, NULL), 0);
	CU_ASSERT_EQUAL(fk.map_calls, 1);
	pv_gcache_unpin(&c, &pins);
	CU_ASSERT_EQUAL(pins.n, 0);
	CU_ASSERT_EQUAL(c.chunks[0].busy, 0);
	pv_gcache_unpin(&c, &pins); /* twice: nothing */
	CU_ASSERT_EQUAL(c.chunks[0].busy, 0);
	CU_ASSERT_EQUAL(pv_gcache_fini(&c), 3);
	CU_ASSERT_EQUAL(fk_live_maps(), 0);
	CU_ASSERT_EQUAL(fk.bad_unmaps, 0);
	CU_ASSERT_EQUAL(pv_gcache_fini(&c), 0); /* safe to repeat */
	CU_ASSERT_PTR_NULL(pv_gcache_get(&c, 9, NULL)); /* and to look up in */
	CU_ASSERT_EQUAL(pv_gcache_init(&c, &plat, 1, 0, 1), -EINVAL);
	pv_gcache_fini(&c);
}

/* Maps 4 refs from base as one chunk in a tick of its own; pins it if pins != NULL. */
static void map_chunk(struct pv_gcache *c, grant_ref_t base, struct pv_gcache_pins *pins)
{
	grant_ref_t r[4] = { base, base + 1, base + 2, base + 3 };
	unsigned int i;

	pv_gcache_tick(c);
	CU_ASSERT_EQUAL(pv_gcache_map(c, r, 4, NULL), 4);
	for (i = 0; i < 4; i++)
		CU_ASSERT_PTR_NOT_NULL(pv_gcache_get(c, base + i, pins));
}

/* Is ref in the cache?  Read from the table, so that no use is recorded. */
static int cached(const struct pv_gcache *c, grant_ref_t ref)
{
	unsigned int i;

	for (i = 0; i < c->size; i++)
		if (c->tab[i].page && c->tab[i].ref == ref)
			return page_ref(c->tab[i].page) == ref;
	return 0;
}

static int chunk_cached(const struct pv_gcache *c, grant_ref_t base)
{
	unsigned int i, n = 0;

	for (i = 0; i < 4; i++)
		n += cached(c, base + i);
	CU_ASSERT(n == 0 || n == 4); /* a chunk goes as a whole */
	return n == 4;
}

static void test_gcache_lru_pinned(void)
{
	struct pv_gcache c;
	uint32_t store_a[8], store_all[16];
	struct pv_gcache_pins pins_a = { store_a, 0, 8 }, pins_all = { store_all, 0, 16 };
	grant_ref_t r[8];
	unsigned int i, ev;
	grant_ref_t base;

	fk_reset();
	CU_ASSERT_EQUAL_FATAL(pv_gcache_init(&c, &plat, 1, 32, 1), 0);
	/* A (16..19) stays pinned by a request in flight; B..H follow, one tick each. */
	map_chunk(&c, 16, &pins_a);
	for (base = 20; base <= 44; base += 4)
		map_chunk(&c, base, NULL);
	CU_ASSERT_EQUAL(pv_gcache_count(&c), 32);

	/* Full: the least recently used unpinned chunk goes, B, not the older pinned A. */
	pv_gcache_tick(&c);
	for (i = 0; i < 4; i++)
		r[i] = 100 + i;
	CU_ASSERT_EQUAL(pv_gcache_map(&c, r, 4, &ev), 4);
	CU_ASSERT_EQUAL(ev, 4);
	CU_ASSERT(chunk_cached(&c, 16));
	CU_ASSERT(!chunk_cached(&c, 20));
	CU_ASSERT(chunk_cached(&c, 24));
	CU_ASSERT(chunk_cached(&c, 100));
	CU_ASSERT_EQUAL(fk.unmapped_pages, 4);
	CU_ASSERT_EQUAL(fk.bad_unmaps, 0);

	/* C used by this request: it survives; D and E, the oldest unpinned, go. */
	pv_gcache_tick(&c);
	CU_ASSERT_PTR_NOT_NULL(pv_gcache_get(&c, 25, NULL));
	for (i = 0; i < 8; i++)
		r[i] = 104 + i;
	CU_ASSERT_EQUAL(pv_gcache_map(&c, r, 8, &ev), 8);
	CU_ASSERT_EQUAL(ev, 8);
	CU_ASSERT(chunk_cached(&c, 24));
	CU_ASSERT(!chunk_cached(&c, 28));
	CU_ASSERT(!chunk_cached(&c, 32));
	CU_ASSERT(chunk_cached(&c, 36));
	CU_ASSERT(chunk_cached(&c, 16));

	/* A's request finished: now it is the least recently used. */
	pv_gcache_unpin(&c, &pins_a);
	pv_gcache_tick(&c);
	for (i = 0; i < 4; i++)
		r[i] = 112 + i;
	CU_ASSERT_EQUAL(pv_gcache_map(&c, r, 4, &ev), 4);
	CU_ASSERT_EQUAL(ev, 4);
	CU_ASSERT(!chunk_cached(&c, 16));
	CU_ASSERT(chunk_cached(&c, 36));
	CU_ASSERT_EQUAL(pv_gcache_count(&c), 32);

	/* Everything pinned: no room, nothing evicted, no map call. */
	pv_gcache_tick(&c);
	for (i = 0; i < c.size; i++)
		if (c.tab[i].page)
			pv_gcache_get(&c, c.tab[i].ref, &pins_all);
	CU_ASSERT_EQUAL(pins_all.n, 7); /* one pin per chunk: C F G H, 100, 104, 112 */
	pv_gcache_tick(&c);
	for (i = 0; i < 4; i++)
		r[i] = 120 + i;
	i = fk.map_calls;
	CU_ASSERT_EQUAL(pv_gcache_map(&c, r, 4, &ev), -ENOBUFS);
	CU_ASSERT_EQUAL(ev, 0);
	CU_ASSERT_EQUAL(fk.map_calls, i);
	CU_ASSERT_EQUAL(pv_gcache_count(&c), 32);
	/* ... and the same when this tick used every chunk (unpinned). */
	pv_gcache_unpin(&c, &pins_all);
	for (i = 0; i < c.size; i++)
		if (c.tab[i].page)
			pv_gcache_get(&c, c.tab[i].ref, NULL);
	CU_ASSERT_EQUAL(pv_gcache_map(&c, r, 4, &ev), -ENOBUFS);
	CU_ASSERT_EQUAL(ev, 0);
	/* Next tick they are fair game again. */
	pv_gcache_tick(&c);
	CU_ASSERT_EQUAL(pv_gcache_map(&c, r, 4, &ev), 4);
	CU_ASSERT_EQUAL(ev, 4);

	CU_ASSERT_EQUAL(pv_gcache_fini(&c), 32);
	CU_ASSERT_EQUAL(fk_live_maps(), 0);
	CU_ASSERT_EQUAL(fk.bad_unmaps, 0);
	CU_ASSERT_EQUAL(fk.mapped_pages, fk.unmapped_pages);
}

static void test_gcache_evict_share(void)
{
	struct pv_gcache c;
	grant_ref_t r[1] = { 200 };
	unsigned int ev;
	grant_ref_t base;

	/* A full cache frees at least 1/16 at once, so eviction does not run per request. */
	fk_reset();
	CU_ASSERT_EQUAL_FATAL(pv_gcache_init(&c, &plat, 1, 64, 1), 0);
	for (base = 16; base < 16 + 64; base += 4)
		map_chunk(&c, base, NULL);
	pv_gcache_tick(&c);
	CU_ASSERT_EQUAL(pv_gcache_map(&c, r, 1, &ev), 1);
	CU_ASSERT_EQUAL(ev, 4); /* need 1, 64/16 = 4 freed: one whole chunk */
	CU_ASSERT_EQUAL(pv_gcache_count(&c), 61);
	pv_gcache_fini(&c);
	CU_ASSERT_EQUAL(fk_live_maps(), 0);
}

static void test_gcache_hostile_refs(void)
{
	struct pv_gcache c;
	grant_ref_t r[12];
	uint32_t one[1];
	struct pv_gcache_pins pins = { one, 0, 1 };
	unsigned int i, ev;

	fk_reset();
	CU_ASSERT_EQUAL_FATAL(pv_gcache_init(&c, &plat, 1, 8, 1), 0);
	/* A ref outside the granter's table among good ones: all or nothing. */
	pv_gcache_tick(&c);
	r[0] = 20; r[1] = 100000; r[2] = 21;
	CU_ASSERT_EQUAL(pv_gcache_map(&c, r, 3, &ev), -EINVAL);
	CU_ASSERT_EQUAL(pv_gcache_count(&c), 0);
	CU_ASSERT_EQUAL(fk_live_maps(), 0);
	/* Not granted, or granted read-only to a writable cache: -EACCES. */
	fk.flags[22] = 0;
	r[1] = 22;
	CU_ASSERT_EQUAL(pv_gcache_map(&c, r, 3, &ev), -EACCES);
	fk.flags[22] = FK_GRANT | FK_RO;
	CU_ASSERT_EQUAL(pv_gcache_map(&c, r, 3, &ev), -EACCES);
	CU_ASSERT_EQUAL(pv_gcache_count(&c), 0);
	CU_ASSERT_PTR_NULL(pv_gcache_get(&c, 22, NULL));
	CU_ASSERT_PTR_NULL(pv_gcache_get(&c, UINT32_MAX, NULL));
	/* More distinct refs than the cache holds: no map call at all. */
	for (i = 0; i < 9; i++)
		r[i] = 30 + i;
	i = fk.map_calls;
	CU_ASSERT_EQUAL(pv_gcache_map(&c, r, 9, &ev), -ENOBUFS);
	CU_ASSERT_EQUAL(fk.map_calls, i);
	/* The same ref many times is one page. */
	for (i = 0; i < 12; i++)
		r[i] = 40;
	CU_ASSERT_EQUAL(pv_gcache_map(&c, r, 12, &ev), 1);
	CU_ASSERT_EQUAL(fk.last_map_count, 1);
	pv_gcache_fini(&c);

	/*
	 * Refs chosen to collide in the hash (multiples of its size) make one long probe
	 * chain; eviction's rebuild must keep every survivor reachable.
	 */
	fk_reset();
	CU_ASSERT_EQUAL_FATAL(pv_gcache_init(&c, &plat, 1, 8, 1), 0);
	CU_ASSERT_EQUAL(c.size, 16);
	pv_gcache_tick(&c);
	for (i = 0; i < 4; i++)
		r[i] = 16 * (i + 1);        /* 16 32 48 64 */
	CU_ASSERT_EQUAL(pv_gcache_map(&c, r, 4, &ev), 4);
	pv_gcache_tick(&c);
	for (i = 0; i < 4; i++)
		r[i] = 16 * (i + 5);        /* 80 .. 128 */
	CU_ASSERT_EQUAL(pv_gcache_map(&c, r, 4, &ev), 4);
	pv_gcache_tick(&c);
	for (i = 0; i < 4; i++)
		r[i] = 16 * (i + 9);        /* 144 .. 192: evicts the first chunk */
	CU_ASSERT_EQUAL(pv_gcache_map(&c, r, 4, &ev), 4);
	CU_ASSERT_EQUAL(ev, 4);
	pv_gcache_tick(&c);
	for (i = 1; i <= 12; i++) {
		void *pg = pv_gcache_get(&c, 16 * i, NULL);

		if (i <= 4) {
			CU_ASSERT_PTR_NULL(pg);
		} else {
			CU_ASSERT_PTR_NOT_NULL_FATAL(pg);
			CU_ASSERT_EQUAL(page_ref(pg), 16 * i);
		}
	}
	/* Pins full: a page that cannot be pinned is not given out. */
	pv_gcache_tick(&c);
	CU_ASSERT_PTR_NOT_NULL(pv_gcache_get(&c, 80, &pins));
	CU_ASSERT_PTR_NULL(pv_gcache_get(&c, 144, &pins));
	CU_ASSERT_EQUAL(pins.n, 1);
	pv_gcache_unpin(&c, &pins);
	CU_ASSERT_EQUAL(pv_gcache_fini(&c), 8);
	CU_ASSERT_EQUAL(fk_live_maps(), 0);
	CU_ASSERT_EQUAL(fk.bad_unmaps, 0);

	/* A read-only cache maps read-only grants. */
	fk_reset();
	CU_ASSERT_EQUAL_FATAL(pv_gcache_init(&c, &plat, 1, 8, 0), 0);
	fk.flags[50] = FK_GRANT | FK_RO;
	r[0] = 50;
	CU_ASSERT_EQUAL(pv_gcache_map(&c, r, 1, &ev), 1);
	pv_gcache_fini(&c);
	fk_reset();
}

/* ---- pv_gcopy: copy batches ------------------------------------------------------------ */

static void test_gcopy_add_bounds(void)
{
	struct pv_gnt_copy_seg segs[2];
	struct pv_gcopy_batch b;
	uint8_t buf[64];

	pv_gcopy_init(&b, &plat, segs, 2);
	CU_ASSERT_EQUAL(pv_gcopy_add(&b, NULL, 1, 20, 0, 8, 0), -EINVAL);
	CU_ASSERT_EQUAL(pv_gcopy_add(&b, buf, 1, 20, 0, 0, 0), -EINVAL);
	CU_ASSERT_EQUAL(pv_gcopy_add(&b, buf, 1, 20, PV_PAGE_SIZE, 1, 0), -EINVAL);
	CU_ASSERT_EQUAL(pv_gcopy_add(&b, buf, 1, 20, 4000, 97, 0), -EINVAL);
	CU_ASSERT_EQUAL(pv_gcopy_add(&b, buf, 1, 20, 0, PV_PAGE_SIZE + 1, 0), -EINVAL);
	CU_ASSERT_EQUAL(pv_gcopy_add(&b, buf, 1, 20, UINT32_MAX, 2, 0), -EINVAL);
	CU_ASSERT_EQUAL(pv_gcopy_count(&b), 0);
	CU_ASSERT_EQUAL(pv_gcopy_add(&b, buf, 1, 20, 4000, 96, 0), 0);
	CU_ASSERT_EQUAL(pv_gcopy_add(&b, buf, 1, 21, 0, 64, 1), 1);
	CU_ASSERT_EQUAL(pv_gcopy_add(&b, buf, 1, 22, 0, 64, 1), -ENOSPC);
	CU_ASSERT_EQUAL(pv_gcopy_count(&b), 2);
	CU_ASSERT_EQUAL(pv_gcopy_status(&b, 2), -EINVAL);
	pv_gcopy_reset(&b);
	CU_ASSERT_EQUAL(pv_gcopy_count(&b), 0);
	pv_gcopy_init(&b, &plat, NULL, 5); /* no storage: nothing fits */
	CU_ASSERT_EQUAL(pv_gcopy_add(&b, buf, 1, 20, 0, 8, 0), -ENOSPC);
}

static void test_gcopy_flush_errors(void)
{
	struct pv_gnt_copy_seg segs[8];
	struct pv_gcopy_batch b;
	uint8_t in[4][512], out[512];
	unsigned int i;

	fk_reset();
	CU_ASSERT_EQUAL(pv_gcopy_flush(&(struct pv_gcopy_batch){ .p = &plat }), 0);
	CU_ASSERT_EQUAL(fk.copy_calls, 0); /* an empty batch is no hypercall */
	memset(fk.mem[25] + 100, 0xab, 512);
	fk.flags[27] = 0;                  /* not granted */
	fk.flags[28] = FK_GRANT | FK_RO;   /* read-only */
	memset(out, 0x5a, sizeof(out));
	memset(in, 0, sizeof(in));
	pv_gcopy_init(&b, &plat, segs, 8);
	CU_ASSERT_EQUAL(pv_gcopy_add(&b, in[0], 1, 25, 100, 512, 0), 0); /* read: fine */
	CU_ASSERT_EQUAL(pv_gcopy_add(&b, in[1], 1, 27, 0, 512, 0), 1);   /* ungranted */
	CU_ASSERT_EQUAL(pv_gcopy_add(&b, in[2], 1, 9999, 0, 512, 0), 2); /* outside the table */
	CU_ASSERT_EQUAL(pv_gcopy_add(&b, out, 1, 28, 0, 512, 1), 3);     /* write to read-only */
	CU_ASSERT_EQUAL(pv_gcopy_add(&b, out, 1, 26, 512, 512, 1), 4);   /* write: fine */
	CU_ASSERT_EQUAL(pv_gcopy_add(&b, in[3], 1, 28, 0, 512, 0), 5);   /* read of read-only: fine */
	CU_ASSERT_EQUAL(pv_gcopy_flush(&b), 3);
	CU_ASSERT_EQUAL(fk.copy_calls, 1); /* the whole batch in one call */
	CU_ASSERT_EQUAL(fk.copy_segs, 6);
	CU_ASSERT_EQUAL(pv_gcopy_status(&b, 0), 0);
	CU_ASSERT_EQUAL(pv_gcopy_status(&b, 1), -EACCES);
	CU_ASSERT_EQUAL(pv_gcopy_status(&b, 2), -EINVAL);
	CU_ASSERT_EQUAL(pv_gcopy_status(&b, 3), -EACCES);
	CU_ASSERT_EQUAL(pv_gcopy_status(&b, 4), 0);
	CU_ASSERT_EQUAL(pv_gcopy_status(&b, 5), 0);
	for (i = 0; i < 512; i++) {
		CU_ASSERT_EQUAL(in[0][i], 0xab);
		CU_ASSERT_EQUAL(fk.mem[26][512 + i], 0x5a);
		CU_ASSERT_EQUAL(in[1][i], 0); /* failed segments touched nothing */
	}
	CU_ASSERT_EQUAL(fk.mem[28][0], 28); /* the read-only page was not written */

	/* The guest grants what was missing: the same batch flushes clean, statuses reset. */
	fk.flags[27] = FK_GRANT;
	fk.flags[28] = FK_GRANT;
	segs[2].ref = 29;
	CU_ASSERT_EQUAL(pv_gcopy_flush(&b), 0);
	for (i = 0; i < 6; i++)
		CU_ASSERT_EQUAL(pv_gcopy_status(&b, i), 0);
	CU_ASSERT_EQUAL(fk.copy_calls, 2);
	CU_ASSERT_EQUAL(fk.mem[28][0], 0x5a);

	/* A platform that refuses the batch as a whole: every segment failed, with why. */
	fk.copy_rc = -ENOMEM;
	CU_ASSERT_EQUAL(pv_gcopy_flush(&b), 6);
	for (i = 0; i < 6; i++)
		CU_ASSERT_EQUAL(pv_gcopy_status(&b, i), -ENOMEM);
	fk.copy_rc = -EIO; /* failed, but marked no segment */
	CU_ASSERT_EQUAL(pv_gcopy_flush(&b), 6);
	CU_ASSERT_EQUAL(pv_gcopy_status(&b, 0), -EIO);
	fk.copy_rc = 0;

	/* No grant copy on this platform: said so, nothing copied (map and copy instead). */
	pv_gcopy_init(&b, &plat_nocopy, segs, 8);
	CU_ASSERT_EQUAL(pv_gcopy_add(&b, in[0], 1, 25, 0, 8, 0), 0);
	CU_ASSERT_EQUAL(pv_gcopy_flush(&b), -ENOTSUP);
	fk_reset();
}

static CU_TestInfo gref_tests[] = {
	{ "persistent pool: one grant operation, lend in order, exhaustion, bad puts", test_gref_alloc_exhaust_free },
	{ "share beyond the tables or the guest's grants: refused, pool unchanged; busy fini", test_gref_share_bounds },
	{ "per-request grants within the budget; a peer still mapping keeps them counted", test_gref_per_request_budget },
	{ "the device budget split between queues and rings", test_gref_budget },
	{ "pools fit the guest's grant limit (gntalloc 1024): halved alike, rolled back", test_gref_pools_fit_guest_limit },
	CU_TEST_INFO_NULL,
};

static CU_TestInfo gcache_tests[] = {
	{ "hits, misses, one map call per request's distinct misses, pins", test_gcache_hit_miss },
	{ "LRU eviction order; pinned chunks and this tick's skipped", test_gcache_lru_pinned },
	{ "a full cache frees a sixteenth at once", test_gcache_evict_share },
	{ "hostile refs: bad, ungranted, read-only, too many, repeated, colliding", test_gcache_hostile_refs },
	CU_TEST_INFO_NULL,
};

static CU_TestInfo gcopy_tests[] = {
	{ "segments that leave the page or overfill the batch are refused", test_gcopy_add_bounds },
	{ "one call per flush, per-segment errors, reflush, whole-batch failure, no copy", test_gcopy_flush_errors },
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{ "gref", suite_init, suite_clean, NULL, NULL, gref_tests },
	{ "gcache", suite_init, suite_clean, NULL, NULL, gcache_tests },
	{ "gcopy", suite_init, suite_clean, NULL, NULL, gcopy_tests },
	{ NULL, NULL, NULL, NULL, NULL, NULL }, /* grant_sim_suite */
	CU_SUITE_INFO_NULL,
};

int main(void)
{
	suites[3] = grant_sim_suite;
	return pv_test_main(suites);
}
