/* SPDX-License-Identifier: MIT */
/*
 * fake_plat.h - an in-process implementation of platform/pv_platform.h for the fuzzers.
 *
 * The fuzzer plays the other domain.  Its "guest memory" is FP_PAGES pages of one memfd:
 * a page is granted by setting fp_grant[] (blkback's fuzzer, as the guest), or by the code
 * under test calling pv_gnt_share() (blkfront's fuzzer, where the fuzzer is the back end).
 * pv_gnt_map() maps the memfd's pages again, so the code under test and the fuzzer see
 * the same bytes as two domains do, and a read-only grant is mapped without PROT_WRITE: a
 * write to it is a crash the fuzzer reports.  Unmapping what was never mapped, a grant
 * copy past a page, and (fp_check_clean) a mapping, share, port or watch left behind
 * after teardown abort the run as well.
 *
 * xenstore is a flat table of nodes with libxenstore's semantics as far as the code under
 * test can tell: implicit parents, recursive rm, watches that fire on the node and its
 * descendants (and once when set), one queued event per change.  Transactions always
 * commit.  fp_fail_xs_after makes the n-th xenstore call from now fail, to reach the error
 * paths.
 *
 * Linked instead of platform/: it defines every function of pv_platform.h.
 */
#ifndef FAKE_PLAT_H
#define FAKE_PLAT_H

#include <stddef.h>
#include <stdint.h>

#include "pv_platform.h"

#define FP_PAGES    2048u
#define FP_REF_BASE 8u   /* refs 0..7 are reserved in Xen; ref = page + FP_REF_BASE */

#define FP_G_GRANTED 1u  /* the page is granted to the other domain */
#define FP_G_RO      2u  /* ... read-only */
#define FP_G_SHARED  4u  /* by pv_gnt_share() (the code under test is the granter) */

extern uint8_t *fp_mem;            /* FP_PAGES pages */
extern uint8_t fp_grant[FP_PAGES]; /* FP_G_* of each page */
/* Successful grant maps and copies of each page since fp_reset(). */
extern uint32_t fp_page_uses[FP_PAGES];

/* Called after every change the code under test makes to xenstore, and at each notify. */
struct fp_hooks {
	void (*xs_changed)(const char *path);
	void (*notified)(evtchn_port_t port);
};
extern struct fp_hooks fp_hooks;
extern int fp_fail_xs_after; /* > 0: the n-th xenstore call from now returns fp_fail_rc */
extern int fp_fail_rc;

/* The handle the code under test uses (domain domid).  fp_init() runs once per process. */
struct pv_platform *fp_init(domid_t domid);
/* Forgets all state of the previous input (nodes, grants, ports, events). */
void fp_reset(void);
/* Aborts if a mapping, shared page, bound port or (watches = 1) a watch is left. */
void fp_check_clean(int watches);

/* The other domain's side of xenstore: no hook runs, watches fire. */
void fp_xs_set(const char *path, const void *val, size_t len);
void fp_xs_set_str(const char *path, const char *val);
void fp_xs_rm(const char *path);
/* Fires the watches of path (and below) without a change, as a coalesced event would. */
void fp_xs_fire(const char *path);
/* The node's value (NUL-terminated) or NULL. */
const char *fp_xs_get(const char *path);

/* The other domain notifies port (ours): pv_evtchn_pending() returns it. */
void fp_evtchn_raise(evtchn_port_t port);
/* The port the other domain allocated or bound for us, by our port; 0 if none. */
unsigned int fp_ports_live(void);
unsigned int fp_maps_live(void);
uint64_t fp_notifies(void);

/* The page behind a ref (NULL if out of range) and whether the code under test shares it. */
uint8_t *fp_page(grant_ref_t ref);

#endif
