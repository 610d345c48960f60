/* SPDX-License-Identifier: MIT */
/*
 * pv_platform_impl.h - what a platform implementation provides (xen/, sim/, or a guest OS
 * port).  pv_platform.c dispatches the public API of pv_platform.h through these
 * operations; the xenstore calls (pv_xs_*) are common code over the libxenstore handle
 * that open() leaves in p->xs.
 *
 * Every operation returns 0, a count, or -errno, exactly as the public function it backs
 * documents; only the implementation sees a library's -1 + errno.
 */
#ifndef PV_PLATFORM_IMPL_H
#define PV_PLATFORM_IMPL_H

#include "pv_platform.h"

struct xs_handle;

struct pv_platform_ops {
	const char *name;
	/*
	 * arg: what followed "<name>:" in the spec ("" if nothing).  Sets p->domid, p->xs
	 * (an open libxenstore handle) and p->priv.  On failure releases what it took and sets
	 * *errmsg to a static reason.
	 */
	int (*open)(struct pv_platform *p, const char *arg, const char **errmsg);
	void (*close)(struct pv_platform *p); /* also closes p->xs */

	int (*gnt_share)(struct pv_platform *p, domid_t peer, unsigned int count, int writable,
			 grant_ref_t *refs, void **addr);
	int (*gnt_unshare)(struct pv_platform *p, void *addr, unsigned int count);
	int (*gnt_map)(struct pv_platform *p, domid_t peer, unsigned int count,
		       const grant_ref_t *refs, int writable, void **addr);
	/* NULL: pv_gnt_map_batch() calls gnt_map once per mapping. */
	int (*gnt_map_batch)(struct pv_platform *p, domid_t peer, unsigned int n,
			     const unsigned int *counts, const grant_ref_t *refs, int writable,
			     void **addrs);
	int (*gnt_unmap)(struct pv_platform *p, void *addr, unsigned int count);
	/* NULL: pv_gnt_unmap_batch() calls gnt_unmap once per mapping. */
	int (*gnt_unmap_batch)(struct pv_platform *p, void *const *addrs,
			       const unsigned int *counts, unsigned int n);
	int (*gnt_copy)(struct pv_platform *p, struct pv_gnt_copy_seg *segs, unsigned int count);

	int (*evtchn_alloc_unbound)(struct pv_platform *p, domid_t remote, evtchn_port_t *port);
	int (*evtchn_bind_interdomain)(struct pv_platform *p, domid_t remote,
				       evtchn_port_t remote_port, evtchn_port_t *local);
	int (*evtchn_unbind)(struct pv_platform *p, evtchn_port_t port);
	int (*evtchn_notify)(struct pv_platform *p, evtchn_port_t port);
	int (*evtchn_fd)(struct pv_platform *p);
	int (*evtchn_pending)(struct pv_platform *p);
	/* NULL: pv_evtchn_pending_batch() calls evtchn_pending until it has none. */
	int (*evtchn_pending_batch)(struct pv_platform *p, evtchn_port_t *ports, unsigned int max);
	int (*evtchn_unmask)(struct pv_platform *p, evtchn_port_t port);

	int (*domain_info)(struct pv_platform *p, domid_t domid, struct pv_dominfo *info);
};

struct pv_platform {
	const struct pv_platform_ops *ops;
	domid_t domid;
	struct xs_handle *xs;
	void *priv; /* the implementation's own state */
};

extern const struct pv_platform_ops pv_platform_xen_ops;
extern const struct pv_platform_ops pv_platform_sim_ops;

/*
 * Opens libxenstore on the unix socket at path (NULL: libxenstore's default, which on Xen
 * is the kernel's xenbus device or xenstored's socket).  libxenstore 4.17 takes the
 * socket path only from $XENSTORED_PATH, so this sets it for the duration of the call:
 * setup only, not thread-safe.  Returns the handle or NULL with errno set.
 */
struct xs_handle *pv_platform_xs_open(const char *path);

#endif /* PV_PLATFORM_IMPL_H */
