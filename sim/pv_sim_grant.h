/* SPDX-License-Identifier: MIT */
/*
 * pv_sim_grant.h - what Xen's grant-table code does to a v1 grant entry, done on the
 * shared tables of pv_sim_proto.h.  Used by pvio-simd to pin (set GTF_reading /
 * GTF_writing) and unpin, by the granter's library to revoke, and by a grantee's library
 * to check an entry before a grant copy.
 *
 * The granter owns its entries but may not revoke one in use: it ends access with a
 * compare-and-swap that fails while GTF_reading/GTF_writing is set.  Only the daemon sets
 * and clears those flags (grantees see the table read-only), from pin counts it keeps in
 * its own memory, so no grantee can make an entry look unused.
 */
#ifndef PV_SIM_GRANT_H
#define PV_SIM_GRANT_H

#include <errno.h>
#include <stdint.h>

#include "pv_sim_proto.h"

static inline uint32_t *pv_sim_gnt_word(struct grant_entry_v1 *e)
{
	/* flags (low 16 bits) and domid (high 16 bits) change together, as in Xen. */
	return (uint32_t *)(void *)e;
}

/*
 * May domain me use entry word w (writable: for writing)?  0, or -EACCES (not a
 * permit-access entry for me, or read-only).
 */
static inline int pv_sim_gnt_allows(uint32_t w, domid_t me, int writable)
{
	uint16_t flags = (uint16_t)w;

	if ((flags & GTF_type_mask) != GTF_permit_access || (domid_t)(w >> 16) != me ||
	    (writable && (flags & GTF_readonly)))
		return -EACCES;
	return 0;
}

/*
 * Marks entry e in use by domain me (GTF_reading, and GTF_writing when writable) if it
 * permits that: the check and the marking are one compare-and-swap, so the granter cannot
 * end access in between.  0 or -EACCES.  The caller counts the pin.
 */
static inline int pv_sim_gnt_mark(struct grant_entry_v1 *e, domid_t me, int writable)
{
	uint32_t *w = pv_sim_gnt_word(e);
	uint32_t old = __atomic_load_n(w, __ATOMIC_ACQUIRE);

	for (;;) {
		if (pv_sim_gnt_allows(old, me, writable) < 0)
			return -EACCES;
		if (__atomic_compare_exchange_n(w, &old,
						old | GTF_reading | (writable ? GTF_writing : 0), 0,
						__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			return 0;
	}
}

/* Makes entry e's in-use flags say what the pin counts say. */
static inline void pv_sim_gnt_sync_flags(struct grant_entry_v1 *e, uint32_t cnt_rd,
					 uint32_t cnt_wr)
{
	uint32_t *w = pv_sim_gnt_word(e);
	uint32_t old = __atomic_load_n(w, __ATOMIC_ACQUIRE), new_;

	do {
		new_ = old;
		if (!cnt_wr)
			new_ &= ~(uint32_t)GTF_writing;
		if (!cnt_rd && !cnt_wr)
			new_ &= ~(uint32_t)GTF_reading;
	} while (new_ != old && !__atomic_compare_exchange_n(w, &old, new_, 0, __ATOMIC_ACQ_REL,
							     __ATOMIC_ACQUIRE));
}

/*
 * The granter ends access to entry e (Xen's gnttab_end_foreign_access_ref): succeeds only
 * while no grantee has it in use.  Returns 0 or -EBUSY.
 */
static inline int pv_sim_gnt_end_access(struct grant_entry_v1 *e)
{
	uint32_t *w = pv_sim_gnt_word(e);
	uint32_t old = __atomic_load_n(w, __ATOMIC_ACQUIRE);

	for (;;) {
		if (old & (GTF_reading | GTF_writing))
			return -EBUSY;
		if (__atomic_compare_exchange_n(w, &old, old & 0xFFFF0000u, 0, __ATOMIC_ACQ_REL,
						__ATOMIC_ACQUIRE))
			return 0;
	}
}

#endif /* PV_SIM_GRANT_H */
