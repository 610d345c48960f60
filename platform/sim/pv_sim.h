/* SPDX-License-Identifier: MIT */
/*
 * pv_sim.h - what only the simulated hypervisor offers: the toolstack's domain lifecycle
 * and the daemon's counters.
 * On real Xen, xl does this.  Every call needs a platform opened as "sim:<rundir>:0".
 */
#ifndef PV_SIM_H
#define PV_SIM_H

#include "pv_platform.h"

#define PV_SIM_ANY_DOMID 0xFFFFu

/* Creates a domain (want = PV_SIM_ANY_DOMID for the lowest free id).  Returns 0 and *got. */
int pv_sim_domain_create(struct pv_platform *p, unsigned int want, domid_t *got);

/* Destroys a domain, releasing its grants, ports, watches and transactions. */
int pv_sim_domain_destroy(struct pv_platform *p, domid_t domid);

/* Lists existing domains into ids[max]; returns how many exist (may exceed max). */
int pv_sim_domain_list(struct pv_platform *p, domid_t *ids, unsigned int max);

/*
 * Round trips this handle has made to pvio-simd (any domain).  A grant map or unmap is one
 * per call (per 256 and 512 pages); a failed map or a copy asks only when the cached view
 * of the granter is missing or stale; tests count on it.
 */
uint64_t pv_sim_hypercalls(struct pv_platform *p);

/*
 * pvio-simd's counters of refused and hostile input (pv_sim_proto.h's struct
 * pv_sim_stats: n names and values, in that order).  names[i] is valid for the life of the
 * program.  Returns how many counters there are (at most max filled), or -errno.
 */
int pv_sim_stats(struct pv_platform *p, const char **names, uint64_t *values, unsigned int max);

#endif
