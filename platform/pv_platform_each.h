/* SPDX-License-Identifier: MIT */
/*
 * The batch operations done one call at a time, for a platform without a batch of its own
 * (pv_platform.c's dispatchers) and for the fuzzers' fake platform, which replaces
 * pv_platform.c whole: one copy of the undo and of the stop.
 */
#ifndef PV_PLATFORM_EACH_H
#define PV_PLATFORM_EACH_H

#include <errno.h>

#include "pv_platform.h"

typedef int (*pv_gnt_map_fn)(struct pv_platform *p, domid_t peer, unsigned int count,
			     const grant_ref_t *refs, int writable, void **addr);
typedef int (*pv_gnt_unmap_fn)(struct pv_platform *p, void *addr, unsigned int count);

/* pv_gnt_map_batch() by n calls of map; those made before a failure are undone. */
static inline int pv_gnt_map_each(struct pv_platform *p, domid_t peer, unsigned int n,
				  const unsigned int *counts, const grant_ref_t *refs,
				  int writable, void **addrs, pv_gnt_map_fn map,
				  pv_gnt_unmap_fn unmap)
{
	unsigned int i, at;
	int rc = 0;

	for (i = 0, at = 0; i < n && rc == 0; at += counts[i++])
		rc = map(p, peer, counts[i], refs + at, writable, &addrs[i]);
	if (rc < 0)
		for (i--; i-- > 0;)
			unmap(p, addrs[i], counts[i]);
	return rc;
}

/*
 * pv_evtchn_pending_batch() by calls of pending until it has none or max ports.  An error
 * after some ports still returns those: they are masked and the caller's.
 */
static inline int pv_evtchn_pending_each(struct pv_platform *p, evtchn_port_t *ports,
					 unsigned int max, int (*pending)(struct pv_platform *p))
{
	unsigned int n = 0;
	int port = -EAGAIN;

	while (n < max && (port = pending(p)) >= 0)
		ports[n++] = (evtchn_port_t)port;
	return n || port == -EAGAIN ? (int)n : port;
}

#endif
