/* SPDX-License-Identifier: MIT */
/*
 * sim_hv.h - pvio-simd's hypervisor state: domains, their grant-table registrations,
 * event channels, and the hypercall connections of the processes that act as them.
 */
#ifndef PV_SIM_HV_H
#define PV_SIM_HV_H

#include "pv_loop.h"
#include "pv_xsd.h"
#include "pv_sim_proto.h"

struct sim_hv;

/*
 * File descriptors the daemon may hold for one domU (its hypercall connections, two per
 * event channel, two per grant-table registration): an eighth of
 * RLIMIT_NOFILE, between 16 and 4096, so that no single domain can use up the daemon's
 * fds and lock dom0 out.  Domain 0 has no budget.  Call after raising the limit.
 */
unsigned int sim_hv_domu_fd_budget(void);

/* Creates the hypervisor with its rundir and domain 0.  Returns NULL with errno set. */
struct sim_hv *sim_hv_new(struct pv_loop *loop, struct pv_xsd *xsd, const char *rundir);

/* Destroys every domain (0 last), removing their sockets and folders. */
void sim_hv_free(struct sim_hv *hv);

/* Creates domain domid (PV_SIM_DOMID_ANY: the lowest free id >= 1).  Returns the id or -errno. */
int sim_hv_domain_create(struct sim_hv *hv, unsigned int domid);

/* Destroys domain domid (not 0).  Returns 0 or -errno. */
int sim_hv_domain_destroy(struct sim_hv *hv, unsigned int domid);

#endif
