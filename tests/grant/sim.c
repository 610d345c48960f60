/* SPDX-License-Identifier: MIT */
/*
 * grant/ between two domains of a real pvio-simd: a guest's pools (pv_gref_) granted to
 * dom0, dom0's map cache (pv_gcache_) and copy batches (pv_gcopy_) on them, and what the
 * sim refuses (a read-only grant written, a ref never granted, a ref outside the table)
 * coming back as the per-segment or per-call errors grant/ promises.
 */
#include <errno.h>
#include <string.h>

#include "pv_test.h"
#include "pv_simtest.h"
#include "pv_gcache.h"
#include "pv_gcopy.h"
#include "pv_gref.h"
#include "grant_tests.h"

static struct pv_simtest T;
static struct pv_platform *guest;

static int sim_init(void)
{
	if (pv_simtest_start(&T, "pvio-test-grant", 1) < 0)
		return -1;
	return pv_simtest_open(&T, 1, &guest) < 0 ? -1 : 0;
}

static int sim_clean(void)
{
	if (guest)
		pv_platform_close(guest);
	guest = NULL;
	return pv_simtest_stop(&T);
}

static void test_sim_pool_cache_copy(void)
{
	struct pv_gref_pool pool, ro;
	struct pv_gcache c;
	struct pv_gnt_copy_seg segs[8];
	struct pv_gcopy_batch b;
	uint32_t pin_store[4];
	struct pv_gcache_pins pins = { pin_store, 0, 4 };
	grant_ref_t refs[4], ro_ref;
	uint8_t buf[3][512], *pg;
	void *ro_page;
	unsigned int i, ev;
	int idx[4];

	/* The guest: a persistent pool of 4 pages, and one page granted read-only. */
	CU_ASSERT_EQUAL_FATAL(pv_gref_pool_init(&pool, guest, 0, 4, 1), 0);
	CU_ASSERT_EQUAL_FATAL(pv_gref_pool_share(&pool, 4), 0);
	CU_ASSERT_EQUAL_FATAL(pv_gref_pool_init(&ro, guest, 0, 1, 0), 0);
	CU_ASSERT_EQUAL_FATAL(pv_gref_pool_share(&ro, 1), 0);
	CU_ASSERT_EQUAL_FATAL(pv_gref_share_req(&ro, 1, 0, &ro_ref, &ro_page), 0);
	memset(ro_page, 0x77, PV_PAGE_SIZE);
	for (i = 0; i < 4; i++) {
		idx[i] = pv_gref_get(&pool);
		CU_ASSERT_FATAL(idx[i] >= 0);
		refs[i] = pv_gref_ref(&pool, (uint32_t)idx[i]);
		memset(pv_gref_page(&pool, (uint32_t)idx[i]), 0x10 + i, PV_PAGE_SIZE);
	}

	/* dom0 maps them once, writable, and sees the guest's bytes. */
	CU_ASSERT_EQUAL_FATAL(pv_gcache_init(&c, T.dom0, 1, 8, 1), 0);
	pv_gcache_tick(&c);
	CU_ASSERT_EQUAL(pv_gcache_map(&c, refs, 4, &ev), 4);
	for (i = 0; i < 4; i++) {
		pg = pv_gcache_get(&c, refs[i], &pins);
		CU_ASSERT_PTR_NOT_NULL_FATAL(pg);
		CU_ASSERT_EQUAL(pg[100], 0x10 + i);
	}
	pg = pv_gcache_get(&c, refs[2], NULL);
	pg[5] = 0xee; /* a write through the mapping lands in the guest's page */
	CU_ASSERT_EQUAL(((uint8_t *)pv_gref_page(&pool, (uint32_t)idx[2]))[5], 0xee);
	/* Read-only grant into a writable cache, and refs never granted: refused, none kept. */
	CU_ASSERT_EQUAL(pv_gcache_map(&c, &ro_ref, 1, &ev), -EACCES);
	refs[0] = 0xfffff0u;
	CU_ASSERT(pv_gcache_map(&c, refs, 1, &ev) < 0);
	refs[0] = pv_gref_ref(&pool, (uint32_t)idx[0]);
	CU_ASSERT_EQUAL(pv_gcache_count(&c), 4);

	/* One batch: a read, a write, a write to the read-only page, a bad ref, a read of it. */
	pv_gcopy_init(&b, T.dom0, segs, 8);
	memset(buf, 0, sizeof(buf));
	memset(buf[1], 0x5a, 512);
	CU_ASSERT_EQUAL(pv_gcopy_add(&b, buf[0], 1, refs[1], 512, 512, 0), 0);
	CU_ASSERT_EQUAL(pv_gcopy_add(&b, buf[1], 1, refs[3], 1024, 512, 1), 1);
	CU_ASSERT_EQUAL(pv_gcopy_add(&b, buf[1], 1, ro_ref, 0, 512, 1), 2);
	CU_ASSERT_EQUAL(pv_gcopy_add(&b, buf[2], 1, 0xfffff0u, 0, 512, 0), 3);
	CU_ASSERT_EQUAL(pv_gcopy_add(&b, buf[2], 1, ro_ref, 0, 512, 0), 4);
	CU_ASSERT_EQUAL(pv_gcopy_flush(&b), 2);
	CU_ASSERT_EQUAL(pv_gcopy_status(&b, 0), 0);
	CU_ASSERT_EQUAL(pv_gcopy_status(&b, 1), 0);
	CU_ASSERT_EQUAL(pv_gcopy_status(&b, 2), -EACCES);
	CU_ASSERT(pv_gcopy_status(&b, 3) < 0);
	CU_ASSERT_EQUAL(pv_gcopy_status(&b, 4), 0);
	CU_ASSERT_EQUAL(buf[0][0], 0x11);
	CU_ASSERT_EQUAL(((uint8_t *)pv_gref_page(&pool, (uint32_t)idx[3]))[1024], 0x5a);
	CU_ASSERT_EQUAL(((uint8_t *)ro_page)[0], 0x77); /* not written */
	CU_ASSERT_EQUAL(buf[2][511], 0x77);

	/* The guest cannot end grants dom0 still maps; it can once dom0 let go. */
	for (i = 0; i < 4; i++)
		CU_ASSERT_EQUAL(pv_gref_put(&pool, (uint32_t)idx[i]), 0);
	pv_gcache_unpin(&c, &pins);
	CU_ASSERT_EQUAL(pv_gcache_fini(&c), 4);
	CU_ASSERT_EQUAL(pv_gref_unshare_req(&ro, ro_page, 1, 0), 0);
	CU_ASSERT_EQUAL(pv_gref_pool_fini(&ro, 0), 0);
	CU_ASSERT_EQUAL(pv_gref_pool_fini(&pool, 10), 4);
}

static void test_sim_unshare_while_mapped(void)
{
	struct pv_gref_pool pool;
	struct pv_gcache c;
	grant_ref_t ref;
	void *page;

	CU_ASSERT_EQUAL_FATAL(pv_gref_pool_init(&pool, guest, 0, 2, 0), 0);
	CU_ASSERT_EQUAL_FATAL(pv_gref_pool_share(&pool, 2), 0);
	CU_ASSERT_EQUAL_FATAL(pv_gref_share_req(&pool, 1, 1, &ref, &page), 0);
	CU_ASSERT_EQUAL_FATAL(pv_gcache_init(&c, T.dom0, 1, 4, 1), 0);
	pv_gcache_tick(&c);
	CU_ASSERT_EQUAL(pv_gcache_map(&c, &ref, 1, NULL), 1);
	/* Still mapped by the back end: -EBUSY, and still counted against the budget. */
	CU_ASSERT_EQUAL(pv_gref_unshare_req(&pool, page, 1, 2), -EBUSY);
	CU_ASSERT_EQUAL(pv_gref_avail(&pool), 1);
	CU_ASSERT_EQUAL(pv_gcache_fini(&c), 1);
	CU_ASSERT_EQUAL(pv_gref_unshare_req(&pool, page, 1, 0), 0);
	CU_ASSERT_EQUAL(pv_gref_avail(&pool), 2);
	CU_ASSERT_EQUAL(pv_gref_pool_fini(&pool, 0), 0);
}

static CU_TestInfo sim_tests[] = {
	{ "guest pool -> dom0 cache and copy batch; refusals per segment", test_sim_pool_cache_copy },
	{ "a grant the back end still maps is not ended", test_sim_unshare_while_mapped },
	CU_TEST_INFO_NULL,
};

CU_SuiteInfo grant_sim_suite = { "grant-sim", sim_init, sim_clean, NULL, NULL, sim_tests };
