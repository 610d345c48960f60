/* SPDX-License-Identifier: MIT */
/*
 * pv_sim_grant.h - what Xen's grant-table code does when a domain maps, copies or revokes
 * a grant, done on the shared tables of pv_sim_proto.h.  Used by the grantee's library
 * (platform/sim/) to pin and unpin, by the granter's library to revoke, and by pvio-simd
 * to unpin for a process that died.
 *
 * The granter owns its entries but may not revoke one in use: it ends access with a
 * compare-and-swap that fails while GTF_reading/GTF_writing is set.  Grantees set those
 * flags with a compare-and-swap on the (flags, domid) word that also proves the entry
 * still grants them access.  Pin counts live in the active table, which the granter never
 * sees, so a granter cannot forge "not in use".
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

/* Makes the entry's in-use flags say what the pin counts say (the entry lock is held). */
static inline void _pv_sim_gnt_sync_flags(uint32_t *w, uint32_t cnt_rd, uint32_t cnt_wr)
{
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
 * An entry lock is held for a few instructions.  One still held after this many spins
 * (about a millisecond) belongs to a process that died holding it, or to a hostile one:
 * the caller gets -EBUSY instead of spinning forever (the daemon must never hang on it).
 */
#define PV_SIM_ACT_SPINS (1u << 16)

static inline int pv_sim_act_lock(uint32_t *act, uint32_t *cur)
{
	uint32_t v = __atomic_load_n(act, __ATOMIC_RELAXED), spins;

	for (spins = 0;; spins++) {
		if (!(v & PV_SIM_ACT_LOCK) &&
		    __atomic_compare_exchange_n(act, &v, v | PV_SIM_ACT_LOCK, 1,
						__ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
			break;
		if (spins >= PV_SIM_ACT_SPINS)
			return -EBUSY;
		__builtin_ia32_pause();
		v = __atomic_load_n(act, __ATOMIC_RELAXED);
	}
	*cur = v;
	return 0;
}

static inline void pv_sim_act_unlock(uint32_t *act, uint32_t v)
{
	__atomic_store_n(act, v & ~PV_SIM_ACT_LOCK, __ATOMIC_RELEASE);
}

/*
 * Pins entry ref for domain me: the entry must permit access to me (and be writable when
 * writable is set) and name a frame inside the granter's memory.  Returns 0 and *frame, or
 * -EINVAL (no such entry, frame outside memory), -EACCES (not granted to us, read-only),
 * -EBUSY (pin count saturated).
 */
static inline int pv_sim_gnt_pin(struct grant_entry_v1 *tab, uint32_t *active,
				 uint32_t nr_entries, uint32_t mem_pages, grant_ref_t ref,
				 domid_t me, int writable, uint32_t *frame)
{
	uint32_t *w, *act, a, cnt_rd, cnt_wr, old, new_;
	uint32_t fr;
	int rc = 0;

	if (ref >= nr_entries)
		return -EINVAL;
	w = pv_sim_gnt_word(&tab[ref]);
	act = &active[ref];
	if (pv_sim_act_lock(act, &a) < 0)
		return -EBUSY;
	cnt_rd = (a >> PV_SIM_ACT_RD_SHIFT) & PV_SIM_ACT_CNT_MASK;
	cnt_wr = (a >> PV_SIM_ACT_WR_SHIFT) & PV_SIM_ACT_CNT_MASK;
	if (a & PV_SIM_ACT_DEAD) {
		rc = -EACCES; /* a stale view of a granter that has started over */
		goto out;
	}
	if ((writable ? cnt_wr : cnt_rd) == PV_SIM_ACT_CNT_MASK) {
		rc = -EBUSY;
		goto out;
	}
	old = __atomic_load_n(w, __ATOMIC_ACQUIRE);
	for (;;) {
		uint16_t flags = (uint16_t)old;

		if ((flags & GTF_type_mask) != GTF_permit_access || (domid_t)(old >> 16) != me ||
		    (writable && (flags & GTF_readonly))) {
			rc = -EACCES;
			goto out;
		}
		new_ = old | GTF_reading | (writable ? GTF_writing : 0);
		if (__atomic_compare_exchange_n(w, &old, new_, 0, __ATOMIC_ACQ_REL,
						__ATOMIC_ACQUIRE))
			break;
	}
	/* Read the frame once, after the entry is pinned: the granter may not change it now. */
	fr = __atomic_load_n(&tab[ref].frame, __ATOMIC_ACQUIRE);
	if (fr >= mem_pages) {
		/* Undo the flags we set unless someone else holds the entry too. */
		_pv_sim_gnt_sync_flags(w, cnt_rd, cnt_wr);
		rc = -EINVAL;
		goto out;
	}
	*frame = fr;
	if (writable)
		cnt_wr++;
	else
		cnt_rd++;
	a = (a & PV_SIM_ACT_DEAD) | (cnt_rd << PV_SIM_ACT_RD_SHIFT) | (cnt_wr << PV_SIM_ACT_WR_SHIFT);
out:
	pv_sim_act_unlock(act, a);
	return rc;
}

/*
 * Drops one pin taken by pv_sim_gnt_pin(); clears the in-use flags with the last one.
 * 0, or -EBUSY when the entry's lock is stuck (the pin stays).
 */
static inline int pv_sim_gnt_unpin(struct grant_entry_v1 *tab, uint32_t *active,
				   uint32_t nr_entries, grant_ref_t ref, int writable)
{
	uint32_t *w, *act, a, cnt_rd, cnt_wr;

	if (ref >= nr_entries)
		return 0;
	w = pv_sim_gnt_word(&tab[ref]);
	act = &active[ref];
	if (pv_sim_act_lock(act, &a) < 0)
		return -EBUSY;
	cnt_rd = (a >> PV_SIM_ACT_RD_SHIFT) & PV_SIM_ACT_CNT_MASK;
	cnt_wr = (a >> PV_SIM_ACT_WR_SHIFT) & PV_SIM_ACT_CNT_MASK;
	if (writable && cnt_wr)
		cnt_wr--;
	else if (!writable && cnt_rd)
		cnt_rd--;
	_pv_sim_gnt_sync_flags(w, cnt_rd, cnt_wr);
	a = (a & PV_SIM_ACT_DEAD) | (cnt_rd << PV_SIM_ACT_RD_SHIFT) | (cnt_wr << PV_SIM_ACT_WR_SHIFT);
	pv_sim_act_unlock(act, a);
	return 0;
}

/*
 * The granter's process is gone: no grantee may pin the entry again (existing pins stay
 * until unmapped, as Xen defers a dead domain's in-use grants).  Only the daemon calls it.
 * 0, or -EBUSY when the entry's lock is stuck.
 */
static inline int pv_sim_gnt_kill(uint32_t *act)
{
	uint32_t a;

	if (pv_sim_act_lock(act, &a) < 0)
		return -EBUSY;
	pv_sim_act_unlock(act, a | PV_SIM_ACT_DEAD);
	return 0;
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
