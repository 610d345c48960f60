/* SPDX-License-Identifier: MIT */
/*
 * pv_platform.h - the porting interface: everything a front end or back end needs from
 * a hypervisor (grants, event channels, xenstore, domain queries), behind one handle.
 *
 * A platform is opened once per process (or per simulated domain in a test) and passed
 * explicitly to every call; there is no global.  Two implementations exist:
 *
 *   xen  over libxengnttab/libxengntshr, libxenevtchn, libxenstore and libxenctrl
 *   sim  over pvio-simd (sim/), the simulated hypervisor
 *
 * Every function returns 0, a count, or -errno; none logs.  A guest OS porter implements
 * struct pv_platform_ops (platform/pv_platform_impl.h) for their OS.
 *
 * Threads: a handle may be used by one thread at a time; notify may be called from any
 * thread.
 */
#ifndef PV_PLATFORM_H
#define PV_PLATFORM_H

#include <stddef.h>
#include <stdint.h>

#include "pv_xen_types.h"

struct pv_platform;

/*
 * Opens the platform named by spec:
 *   "xen"                      the real hypervisor (needs the /dev/xen devices; dom0 or a domU)
 *   "sim:<rundir>:<domid>"     pvio-simd's domain <domid>, whose sockets are in
 *                              <rundir>/dom<domid>/
 *   NULL                       $PVIO_PLATFORM, else "xen"
 * Returns 0 and *out, or -errno: -ENOENT when the hypervisor (or pvio-simd) is absent,
 * -ENOTSUP for a platform this build does not include.  *errmsg, when not NULL, gets a
 * static one-line reason suitable for an administrator.
 */
int pv_platform_open(const char *spec, struct pv_platform **out, const char **errmsg);

/* Closes the handle and every grant, mapping, port and watch still held through it. */
void pv_platform_close(struct pv_platform *p);

/* "xen" or "sim". */
const char *pv_platform_name(const struct pv_platform *p);

/* Our own domain id, as xenstore's /local/domain/<id> uses it. */
domid_t pv_platform_domid(const struct pv_platform *p);

/* ---- grants, granting side (front end) --------------------------------------------- */

/*
 * Allocates count pages of our memory, zeroed and contiguous in our address space, and
 * grants each to domain peer; refs[i] receives the reference of page i.  writable=0 grants
 * read-only access.  Returns 0 and *addr, or -errno (-ENOSPC: grant table full).
 */
int pv_gnt_share(struct pv_platform *p, domid_t peer, unsigned int count, int writable,
		 grant_ref_t *refs, void **addr);

/*
 * Ends the grants of pages shared by pv_gnt_share() and frees them.  Returns -EBUSY
 * (and leaves everything as it was) when the peer still has one of them mapped, where
 * the platform can tell (sim); on xen the kernel defers the release instead.
 */
int pv_gnt_unshare(struct pv_platform *p, void *addr, unsigned int count);

/* ---- grants, mapping side (back end) ------------------------------------------------- */

/*
 * Maps count pages granted by domain peer, contiguously.  Returns 0 and *addr, or
 * -errno: -EACCES when a ref is not granted to us (or not writable with writable=1),
 * -EINVAL for a ref outside the granter's table.  All or nothing.
 */
int pv_gnt_map(struct pv_platform *p, domid_t peer, unsigned int count,
	       const grant_ref_t *refs, int writable, void **addr);

/*
 * n mappings at once, as n pv_gnt_map() calls would make them: mapping i is counts[i]
 * pages, the refs of all of them one after the other in refs; addrs[i] receives mapping
 * i's address, and each is unmapped on its own (pv_gnt_unmap(), pv_gnt_unmap_batch()).
 * Where the platform can (sim), the batch costs one round trip to the hypervisor per
 * PV_SIM_MAP_BATCH pages, not one per mapping.  All or nothing: on error no mapping is
 * left and the error is that of the first bad one (which the caller finds by mapping them
 * one by one).  Returns 0 or -errno.
 */
int pv_gnt_map_batch(struct pv_platform *p, domid_t peer, unsigned int n,
		     const unsigned int *counts, const grant_ref_t *refs, int writable,
		     void **addrs);

/* Unmaps what pv_gnt_map() returned. */
int pv_gnt_unmap(struct pv_platform *p, void *addr, unsigned int count);

/*
 * Unmaps n mappings at once: addrs[i] with counts[i] pages, each as pv_gnt_map() returned
 * it.  Where the platform can (sim), every mapping is checked first and the whole batch
 * costs one round trip to the hypervisor per PV_GNT_UNMAP_BATCH_PAGES pages; an address
 * not mapped, a count that is not the mapping's, or a mapping named twice is -EINVAL
 * and nothing is unmapped.  Where it cannot (xen: libxengnttab has no batch unmap), this
 * is one pv_gnt_unmap() per mapping, and a bad one is skipped: the rest are unmapped and
 * the first error is returned.  Returns 0 or -errno.
 */
#define PV_GNT_UNMAP_BATCH_PAGES 512u
int pv_gnt_unmap_batch(struct pv_platform *p, void *const *addrs, const unsigned int *counts,
		       unsigned int n);

/* One segment of a grant copy: between our buffer and a page another domain granted. */
struct pv_gnt_copy_seg {
	void *local;           /* our buffer */
	grant_ref_t ref;       /* the granted page */
	domid_t domid;         /* its granter */
	uint16_t offset;       /* in the granted page; offset + len <= 4096 */
	uint16_t len;
	uint8_t to_granted;    /* 1: local -> granted page; 0: granted page -> local */
	int16_t status;        /* out: 0 or -errno for this segment */
};

/*
 * Performs count copies in one batch.  Returns 0 when every segment succeeded, else
 * -EIO with each failed segment's status set (-EACCES, -EINVAL ...); -ENOTSUP where the
 * platform has no grant copy.
 */
int pv_gnt_copy(struct pv_platform *p, struct pv_gnt_copy_seg *segs, unsigned int count);

/* ---- event channels ---------------------------------------------------------------- */

/* Allocates a port that domain remote may bind to.  Returns 0 and *port, or -errno. */
int pv_evtchn_alloc_unbound(struct pv_platform *p, domid_t remote, evtchn_port_t *port);

/* Binds to port remote_port that domain remote allocated for us.  Returns 0 and *local. */
int pv_evtchn_bind_interdomain(struct pv_platform *p, domid_t remote, evtchn_port_t remote_port,
			       evtchn_port_t *local);

int pv_evtchn_unbind(struct pv_platform *p, evtchn_port_t port);

/* Signals the peer of a bound port.  The hot path: one system call, no allocation. */
int pv_evtchn_notify(struct pv_platform *p, evtchn_port_t port);

/*
 * One file descriptor, readable when any of our ports has an event pending.  Poll it,
 * then call pv_evtchn_pending() until it returns -EAGAIN.
 */
int pv_evtchn_fd(struct pv_platform *p);

/*
 * Returns a port with an event pending, now masked (it delivers nothing more until
 * pv_evtchn_unmask(); events meanwhile stay pending), or -EAGAIN when none is.
 */
int pv_evtchn_pending(struct pv_platform *p);
/*
 * Up to max pending ports at once, each as pv_evtchn_pending() returns it (masked: the
 * caller's to handle and unmask).  Returns how many (0: none) or -errno.  Fewer than max
 * means that no other port was seen pending: the caller can wait for the fd instead of
 * asking again (one that became pending since keeps the fd readable).  Where the platform
 * can (sim) this is one look for every port, not one per port and an empty one.
 */
int pv_evtchn_pending_batch(struct pv_platform *p, evtchn_port_t *ports, unsigned int max);

/* Re-enables delivery on port; an event that arrived while masked is delivered now. */
int pv_evtchn_unmask(struct pv_platform *p, evtchn_port_t port);

/* ---- xenstore (the real libxenstore on both platforms) -------------------------------- */

typedef uint32_t pv_xs_txn_t; /* 0: no transaction */

/* Reads path into a new NUL-terminated buffer (*val, *len without the NUL); free() it. */
int pv_xs_read(struct pv_platform *p, pv_xs_txn_t t, const char *path, char **val, size_t *len);
int pv_xs_write(struct pv_platform *p, pv_xs_txn_t t, const char *path, const void *val,
		size_t len);
/* Convenience: write a NUL-terminated string / read and parse an unsigned integer. */
int pv_xs_printf(struct pv_platform *p, pv_xs_txn_t t, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
int pv_xs_read_u64(struct pv_platform *p, pv_xs_txn_t t, const char *path, uint64_t *v);
int pv_xs_mkdir(struct pv_platform *p, pv_xs_txn_t t, const char *path);
int pv_xs_rm(struct pv_platform *p, pv_xs_txn_t t, const char *path);
/* Lists the children of path: *names is one malloc'd array of *n strings; free() it. */
int pv_xs_directory(struct pv_platform *p, pv_xs_txn_t t, const char *path, char ***names,
		    unsigned int *n);

/* Xen's permission model: the first entry names the owner and everyone else's access. */
#define PV_XS_PERM_NONE  0
#define PV_XS_PERM_READ  1
#define PV_XS_PERM_WRITE 2
#define PV_XS_PERM_BOTH  3
struct pv_xs_perm {
	domid_t domid;
	uint8_t perm; /* PV_XS_PERM_* */
};
int pv_xs_set_perms(struct pv_platform *p, pv_xs_txn_t t, const char *path,
		    const struct pv_xs_perm *perms, unsigned int n);

int pv_xs_txn_start(struct pv_platform *p, pv_xs_txn_t *t);
/* Ends a transaction; abort=1 discards it.  -EAGAIN: it conflicted, start over. */
int pv_xs_txn_end(struct pv_platform *p, pv_xs_txn_t t, int abort);

/* Watches: a watch fires once when set, and whenever path or a descendant changes. */
int pv_xs_watch(struct pv_platform *p, const char *path, const char *token);
int pv_xs_unwatch(struct pv_platform *p, const char *path, const char *token);
/* The fd readable when a watch event is queued. */
int pv_xs_watch_fd(struct pv_platform *p);
/* Takes one queued event without blocking: path and token, malloc'd; -EAGAIN if none. */
int pv_xs_watch_next(struct pv_platform *p, char **path, char **token);

/* ---- domains ---------------------------------------------------------------------- */

struct pv_dominfo {
	domid_t domid;
	int dying;    /* being destroyed: its devices should be torn down */
	int shutdown; /* shut down (crashed, powered off), not yet destroyed */
};

/* Returns 0 and *info, or -ESRCH when domain domid does not exist. */
int pv_domain_info(struct pv_platform *p, domid_t domid, struct pv_dominfo *info);

#endif /* PV_PLATFORM_H */
