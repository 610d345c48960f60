/* SPDX-License-Identifier: MIT */
/*
 * pv_xen.c - the xen platform: pv_platform_xen_ops, over the real hypervisor's device
 * files through Xen's libraries.  The library calls themselves are in pv_xen_lib.c (which
 * cannot include pvio's headers); this file turns pvio's types into plain ones and back,
 * opens xenstore and finds out which domain we are.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <xenstore.h>

#include "pv_platform_impl.h"
#include "pv_platform_priv.h"

static struct pv_xenlib *lib(const struct pv_platform *p)
{
	return p->priv;
}

/* The kernel lists "control_d" in /proc/xen/capabilities only in the control domain. */
static int is_dom0(void)
{
	char buf[64];
	FILE *f = fopen("/proc/xen/capabilities", "re");
	int yes = 0;

	if (!f)
		return 0;
	if (fgets(buf, sizeof(buf), f))
		yes = strstr(buf, "control_d") != NULL;
	fclose(f);
	return yes;
}

/*
 * A relative xenstore path is resolved in our own /local/domain/<id>, so "domid" is our
 * id: the toolstack writes it for every domU, xen-init-dom0 for dom0.  A dom0 booted
 * without xen-init-dom0 lacks the node, and is domain 0 by definition.
 */
static int find_domid(struct pv_platform *p, const char **errmsg)
{
	uint64_t id;
	int rc = pv_xs_read_u64(p, XBT_NULL, "domid", &id);

	if (rc == 0 && id < DOMID_SELF) {
		p->domid = (domid_t)id;
		return 0;
	}
	if (rc < 0 && is_dom0()) {
		p->domid = 0;
		return 0;
	}
	*errmsg = "cannot tell our domain id: xenstore's \"domid\" node is missing or invalid, "
		  "and this is not dom0";
	return rc < 0 ? rc : -EINVAL;
}

static void xen_close(struct pv_platform *p)
{
	xs_close(p->xs);
	p->xs = NULL;
	pv_xenlib_close(lib(p));
	p->priv = NULL;
}

static int xen_open(struct pv_platform *p, const char *arg, const char **errmsg)
{
	struct pv_xenlib *x;
	int rc;

	(void)arg; /* pv_platform_open() accepts only a bare "xen" */
	rc = pv_xenlib_open(&x, errmsg);
	if (rc < 0)
		return rc;
	p->priv = x;
	p->xs = pv_platform_xs_open(NULL);
	if (!p->xs) {
		rc = pv_neg_errno();
		*errmsg = "cannot connect to xenstore (is xenstored running, or /dev/xen/xenbus "
			  "present?)";
		goto fail;
	}
	rc = find_domid(p, errmsg);
	if (rc < 0)
		goto fail;
	return 0;

fail:
	xen_close(p);
	return rc;
}

/* ---- grants ------------------------------------------------------------------------ */

static int xen_gnt_share(struct pv_platform *p, domid_t peer, unsigned int count, int writable,
			 grant_ref_t *refs, void **addr)
{
	return pv_xenlib_gnt_share(lib(p), peer, count, writable, refs, addr);
}

static int xen_gnt_unshare(struct pv_platform *p, void *addr, unsigned int count)
{
	return pv_xenlib_gnt_unshare(lib(p), addr, count);
}

static int xen_gnt_map(struct pv_platform *p, domid_t peer, unsigned int count,
		       const grant_ref_t *refs, int writable, void **addr)
{
	return pv_xenlib_gnt_map(lib(p), peer, count, refs, writable, addr);
}

static int xen_gnt_unmap(struct pv_platform *p, void *addr, unsigned int count)
{
	return pv_xenlib_gnt_unmap(lib(p), addr, count);
}

/* Converted through the stack, a bounded chunk at a time: a copy allocates nothing. */
#define COPY_CHUNK 32

static int xen_gnt_copy(struct pv_platform *p, struct pv_gnt_copy_seg *segs, unsigned int count)
{
	struct pv_xenlib_copy c[COPY_CHUNK];
	unsigned int done, n, i;
	int rc, failed = 0;

	for (done = 0; done < count; done += n) {
		n = count - done < COPY_CHUNK ? count - done : COPY_CHUNK;
		for (i = 0; i < n; i++) {
			const struct pv_gnt_copy_seg *s = &segs[done + i];

			c[i] = (struct pv_xenlib_copy){
				.local = s->local,
				.ref = s->ref,
				.domid = s->domid,
				.offset = s->offset,
				.len = s->len,
				.to_granted = s->to_granted,
			};
		}
		rc = pv_xenlib_gnt_copy(lib(p), c, n);
		if (rc < 0 && rc != -EIO)
			return rc;
		failed |= rc < 0;
		for (i = 0; i < n; i++)
			segs[done + i].status = c[i].status;
	}
	return failed ? -EIO : 0;
}

/* ---- event channels ------------------------------------------------------------------ */

static int xen_evtchn_alloc_unbound(struct pv_platform *p, domid_t remote, evtchn_port_t *port)
{
	int rc = pv_xenlib_evtchn_alloc_unbound(lib(p), remote);

	if (rc < 0)
		return rc;
	*port = (evtchn_port_t)rc;
	return 0;
}

static int xen_evtchn_bind_interdomain(struct pv_platform *p, domid_t remote,
				       evtchn_port_t remote_port, evtchn_port_t *local)
{
	int rc = pv_xenlib_evtchn_bind_interdomain(lib(p), remote, remote_port);

	if (rc < 0)
		return rc;
	*local = (evtchn_port_t)rc;
	return 0;
}

static int xen_evtchn_unbind(struct pv_platform *p, evtchn_port_t port)
{
	return pv_xenlib_evtchn_unbind(lib(p), port);
}

static int xen_evtchn_notify(struct pv_platform *p, evtchn_port_t port)
{
	return pv_xenlib_evtchn_notify(lib(p), port);
}

static int xen_evtchn_fd(struct pv_platform *p)
{
	return pv_xenlib_evtchn_fd(lib(p));
}

static int xen_evtchn_pending(struct pv_platform *p)
{
	return pv_xenlib_evtchn_pending(lib(p));
}

static int xen_evtchn_unmask(struct pv_platform *p, evtchn_port_t port)
{
	return pv_xenlib_evtchn_unmask(lib(p), port);
}

/* ---- domains ----------------------------------------------------------------------- */

static int xen_domain_info(struct pv_platform *p, domid_t domid, struct pv_dominfo *info)
{
	int dying, shutdown;
	int rc = pv_xenlib_domain_info(lib(p), domid, &dying, &shutdown);

	if (rc < 0)
		return rc;
	*info = (struct pv_dominfo){ .domid = domid, .dying = dying, .shutdown = shutdown };
	return 0;
}

const struct pv_platform_ops pv_platform_xen_ops = {
	.name = "xen",
	.open = xen_open,
	.close = xen_close,
	.gnt_share = xen_gnt_share,
	.gnt_unshare = xen_gnt_unshare,
	.gnt_map = xen_gnt_map,
	.gnt_unmap = xen_gnt_unmap,
	.gnt_copy = xen_gnt_copy,
	.evtchn_alloc_unbound = xen_evtchn_alloc_unbound,
	.evtchn_bind_interdomain = xen_evtchn_bind_interdomain,
	.evtchn_unbind = xen_evtchn_unbind,
	.evtchn_notify = xen_evtchn_notify,
	.evtchn_fd = xen_evtchn_fd,
	.evtchn_pending = xen_evtchn_pending,
	.evtchn_unmask = xen_evtchn_unmask,
	.domain_info = xen_domain_info,
};
