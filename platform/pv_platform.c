/* SPDX-License-Identifier: MIT */
/*
 * pv_platform.c - opening a platform by name, and the public functions of pv_platform.h
 * that dispatch to its operations table.
 *
 * The dispatchers check what is cheap to check (NULL pointers, empty batches) so that an
 * implementation can trust its arguments, and return -ENOTSUP for an operation a port
 * left out (a front-end-only port has no gnt_map).  pv_evtchn_notify() checks nothing:
 * it runs once per ring pass and must stay one indirect call.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pv_platform_each.h"
#include "pv_platform_impl.h"
#include "pv_platform_priv.h"

static int parse_domid(const char *s, size_t len)
{
	uint64_t v;

	if (pv_xs_parse_u64(s, len, &v) < 0 || v >= DOMID_SELF)
		return -EINVAL;
	return (int)v;
}

/* "<rundir>:<domid>": the domid follows the last ':' so that a rundir may contain one. */
static int check_sim_arg(const char *arg)
{
	const char *colon = strrchr(arg, ':');

	if (!colon || colon == arg)
		return -EINVAL;
	return parse_domid(colon + 1, strlen(colon + 1)) < 0 ? -EINVAL : 0;
}

static int select_ops(const char *spec, const struct pv_platform_ops **ops, const char **arg,
		      const char **why)
{
	static const char usage[] =
		"unknown platform (expected \"xen\" or \"sim:<rundir>:<domid>\")";

	if (!strcmp(spec, "xen")) {
		*ops = &pv_platform_xen_ops;
		*arg = "";
		return 0;
	}
	if (!strncmp(spec, "xen:", 4)) {
		*why = "the xen platform takes no argument (use \"xen\")";
		return -EINVAL;
	}
	if (!strcmp(spec, "sim") || !strncmp(spec, "sim:", 4)) {
		*arg = spec[3] ? spec + 4 : "";
		if (check_sim_arg(*arg) < 0) {
			*why = "bad sim platform: expected \"sim:<rundir>:<domid>\" with domid "
			       "below 32752";
			return -EINVAL;
		}
		*ops = &pv_platform_sim_ops;
		return 0;
	}
	*why = usage;
	return -EINVAL;
}

int pv_platform_open(const char *spec, struct pv_platform **out, const char **errmsg)
{
	const struct pv_platform_ops *ops = NULL;
	const char *why = NULL, *arg = "";
	struct pv_platform *p;
	int rc;

	if (!out) {
		why = "no place to return the platform handle";
		rc = -EINVAL;
		goto fail;
	}
	*out = NULL;
	if (!spec) {
		spec = getenv("PVIO_PLATFORM");
		if (!spec || !*spec)
			spec = "xen";
	}
	rc = select_ops(spec, &ops, &arg, &why);
	if (rc < 0)
		goto fail;

	p = calloc(1, sizeof(*p));
	if (!p) {
		why = "out of memory";
		rc = -ENOMEM;
		goto fail;
	}
	p->ops = ops;
	p->domid = DOMID_INVALID;
	rc = ops->open(p, arg, &why);
	if (rc < 0) {
		free(p);
		if (!why)
			why = "the platform failed to open";
		goto fail;
	}
	*out = p;
	if (errmsg)
		*errmsg = NULL;
	return 0;

fail:
	if (errmsg)
		*errmsg = why;
	return rc;
}

void pv_platform_close(struct pv_platform *p)
{
	if (!p)
		return;
	p->ops->close(p);
	free(p);
}

const char *pv_platform_name(const struct pv_platform *p)
{
	return p ? p->ops->name : NULL;
}

domid_t pv_platform_domid(const struct pv_platform *p)
{
	return p ? p->domid : DOMID_INVALID;
}

/* ---- grants ------------------------------------------------------------------------ */

int pv_gnt_share(struct pv_platform *p, domid_t peer, unsigned int count, int writable,
		 grant_ref_t *refs, void **addr)
{
	if (!p || !count || !refs || !addr)
		return -EINVAL;
	if (!p->ops->gnt_share)
		return -ENOTSUP;
	return p->ops->gnt_share(p, peer, count, writable, refs, addr);
}

int pv_gnt_unshare(struct pv_platform *p, void *addr, unsigned int count)
{
	if (!p || !addr || !count)
		return -EINVAL;
	if (!p->ops->gnt_unshare)
		return -ENOTSUP;
	return p->ops->gnt_unshare(p, addr, count);
}

int pv_gnt_map(struct pv_platform *p, domid_t peer, unsigned int count,
	       const grant_ref_t *refs, int writable, void **addr)
{
	if (!p || !count || !refs || !addr)
		return -EINVAL;
	if (!p->ops->gnt_map)
		return -ENOTSUP;
	return p->ops->gnt_map(p, peer, count, refs, writable, addr);
}

int pv_gnt_map_batch(struct pv_platform *p, domid_t peer, unsigned int n,
		     const unsigned int *counts, const grant_ref_t *refs, int writable,
		     void **addrs)
{
	unsigned int i;

	if (!p || !n || !counts || !refs || !addrs)
		return -EINVAL;
	for (i = 0; i < n; i++)
		if (!counts[i])
			return -EINVAL;
	if (!p->ops->gnt_map || !p->ops->gnt_unmap)
		return -ENOTSUP;
	if (p->ops->gnt_map_batch)
		return p->ops->gnt_map_batch(p, peer, n, counts, refs, writable, addrs);
	return pv_gnt_map_each(p, peer, n, counts, refs, writable, addrs, p->ops->gnt_map,
			       p->ops->gnt_unmap);
}

int pv_gnt_unmap(struct pv_platform *p, void *addr, unsigned int count)
{
	if (!p || !addr || !count)
		return -EINVAL;
	if (!p->ops->gnt_unmap)
		return -ENOTSUP;
	return p->ops->gnt_unmap(p, addr, count);
}

int pv_gnt_unmap_batch(struct pv_platform *p, void *const *addrs, const unsigned int *counts,
		       unsigned int n)
{
	unsigned int i;
	int rc = 0, r;

	if (!p || !addrs || !counts || !n)
		return -EINVAL;
	for (i = 0; i < n; i++)
		if (!addrs[i] || !counts[i])
			return -EINVAL;
	if (!p->ops->gnt_unmap)
		return -ENOTSUP;
	if (p->ops->gnt_unmap_batch)
		return p->ops->gnt_unmap_batch(p, addrs, counts, n);
	for (i = 0; i < n; i++)
		if ((r = p->ops->gnt_unmap(p, addrs[i], counts[i])) < 0 && !rc)
			rc = r;
	return rc;
}

int pv_gnt_copy(struct pv_platform *p, struct pv_gnt_copy_seg *segs, unsigned int count)
{
	if (!p || !segs || !count)
		return -EINVAL;
	if (!p->ops->gnt_copy)
		return -ENOTSUP;
	return p->ops->gnt_copy(p, segs, count);
}

/* ---- event channels ------------------------------------------------------------------ */

int pv_evtchn_alloc_unbound(struct pv_platform *p, domid_t remote, evtchn_port_t *port)
{
	if (!p || !port)
		return -EINVAL;
	if (!p->ops->evtchn_alloc_unbound)
		return -ENOTSUP;
	return p->ops->evtchn_alloc_unbound(p, remote, port);
}

int pv_evtchn_bind_interdomain(struct pv_platform *p, domid_t remote, evtchn_port_t remote_port,
			       evtchn_port_t *local)
{
	if (!p || !local)
		return -EINVAL;
	if (!p->ops->evtchn_bind_interdomain)
		return -ENOTSUP;
	return p->ops->evtchn_bind_interdomain(p, remote, remote_port, local);
}

int pv_evtchn_unbind(struct pv_platform *p, evtchn_port_t port)
{
	if (!p)
		return -EINVAL;
	if (!p->ops->evtchn_unbind)
		return -ENOTSUP;
	return p->ops->evtchn_unbind(p, port);
}

int pv_evtchn_notify(struct pv_platform *p, evtchn_port_t port)
{
	return p->ops->evtchn_notify(p, port);
}

int pv_evtchn_fd(struct pv_platform *p)
{
	if (!p)
		return -EINVAL;
	if (!p->ops->evtchn_fd)
		return -ENOTSUP;
	return p->ops->evtchn_fd(p);
}

int pv_evtchn_pending(struct pv_platform *p)
{
	if (!p)
		return -EINVAL;
	if (!p->ops->evtchn_pending)
		return -ENOTSUP;
	return p->ops->evtchn_pending(p);
}

int pv_evtchn_pending_batch(struct pv_platform *p, evtchn_port_t *ports, unsigned int max)
{
	if (!p || !ports || !max)
		return -EINVAL;
	if (!p->ops->evtchn_pending)
		return -ENOTSUP;
	if (p->ops->evtchn_pending_batch)
		return p->ops->evtchn_pending_batch(p, ports, max);
	return pv_evtchn_pending_each(p, ports, max, p->ops->evtchn_pending);
}

int pv_evtchn_unmask(struct pv_platform *p, evtchn_port_t port)
{
	if (!p)
		return -EINVAL;
	if (!p->ops->evtchn_unmask)
		return -ENOTSUP;
	return p->ops->evtchn_unmask(p, port);
}

/* ---- domains ----------------------------------------------------------------------- */

int pv_domain_info(struct pv_platform *p, domid_t domid, struct pv_dominfo *info)
{
	if (!p || !info)
		return -EINVAL;
	if (!p->ops->domain_info)
		return -ENOTSUP;
	return p->ops->domain_info(p, domid, info);
}
