/* SPDX-License-Identifier: MIT */
/*
 * pv_platform_priv.h - internals shared by the files of platform/ and its unit tests;
 * not part of the porting interface.
 *
 * It includes no pvio or Xen header on purpose: platform/xen/pv_xen_lib.c must see only
 * Xen's headers (ring/pv_xen_types.h defines names that xen/grant_table.h and xen/xen.h
 * define too), and this header is its only link to the pvio side.
 */
#ifndef PV_PLATFORM_PRIV_H
#define PV_PLATFORM_PRIV_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

/* The -errno of a library call that failed; -EIO if it failed without saying why. */
static inline int pv_neg_errno(void)
{
	return errno > 0 ? -errno : -EIO;
}

/*
 * Parses the len bytes at s as an unsigned decimal number, as xenstore stores them.
 * Anything else - empty, a sign, spaces, a trailing newline, a NUL inside len, hex, a
 * value above UINT64_MAX - is -EINVAL, since a peer domain may have written it.
 * *v is written only on success.
 */
int pv_xs_parse_u64(const char *s, size_t len, uint64_t *v);

/* ---- platform/xen: the Xen libraries behind plain C types ------------------------------ */

struct pv_xenlib;

/*
 * Opens the event channel device (required), gntdev and gntalloc and privcmd (each
 * optional: a front end has no use for gntdev, a domU none for privcmd; the operations
 * that need a missing one return the errno its open failed with).  The libraries' own
 * messages are discarded.  Returns 0 and *out, or -errno and a static *errmsg.
 */
int pv_xenlib_open(struct pv_xenlib **out, const char **errmsg);
void pv_xenlib_close(struct pv_xenlib *x); /* unmaps and unshares what is left; NULL ok */

/* As the pv_gnt_* functions of pv_platform.h, arguments already checked. */
int pv_xenlib_gnt_share(struct pv_xenlib *x, uint32_t peer, unsigned int count, int writable,
			uint32_t *refs, void **addr);
int pv_xenlib_gnt_unshare(struct pv_xenlib *x, void *addr, unsigned int count);
int pv_xenlib_gnt_map(struct pv_xenlib *x, uint32_t peer, unsigned int count,
		      const uint32_t *refs, int writable, void **addr);
int pv_xenlib_gnt_unmap(struct pv_xenlib *x, void *addr, unsigned int count);

/* One grant copy segment: the fields of struct pv_gnt_copy_seg, in plain types. */
struct pv_xenlib_copy {
	void *local;
	uint32_t ref;
	uint16_t domid;
	uint16_t offset;
	uint16_t len;
	uint8_t to_granted;
	int16_t status; /* out: 0 or -errno */
};
/* Returns 0, -EIO when a segment failed (see its status), -ENOTSUP without grant copy. */
int pv_xenlib_gnt_copy(struct pv_xenlib *x, struct pv_xenlib_copy *segs, unsigned int count);

/* Event channels: ports are returned as a non-negative int. */
int pv_xenlib_evtchn_alloc_unbound(struct pv_xenlib *x, uint32_t remote);
int pv_xenlib_evtchn_bind_interdomain(struct pv_xenlib *x, uint32_t remote,
				      uint32_t remote_port);
int pv_xenlib_evtchn_unbind(struct pv_xenlib *x, uint32_t port);
int pv_xenlib_evtchn_notify(struct pv_xenlib *x, uint32_t port);
int pv_xenlib_evtchn_fd(struct pv_xenlib *x);
int pv_xenlib_evtchn_pending(struct pv_xenlib *x);
int pv_xenlib_evtchn_unmask(struct pv_xenlib *x, uint32_t port);

/* Returns 0 with the domain's state, -ESRCH when it does not exist. */
int pv_xenlib_domain_info(struct pv_xenlib *x, uint32_t domid, int *dying, int *shutdown);

#endif /* PV_PLATFORM_PRIV_H */
