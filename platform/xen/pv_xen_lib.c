/* SPDX-License-Identifier: MIT */
/*
 * pv_xen_lib.c - the Xen side of the xen platform: libxenevtchn, libxengnttab (gntdev and
 * gntalloc) and libxenctrl, behind the plain-typed functions of pv_platform_priv.h.
 *
 * This file includes Xen's headers and no pvio header (see pv_platform_priv.h); pv_xen.c
 * does the opposite.  Every -1 or NULL with errno becomes -errno here.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

/* xenctrl.h first: it defines __XEN_TOOLS__, which the Xen headers the others pull in need. */
#include <xenctrl.h>
#include <xenevtchn.h>
#include <xengnttab.h>
#include <xentoollog.h>

#include "pv_platform_priv.h"

#define PAGE_SIZE_XEN 4096U

/*
 * The Xen libraries log failures to stderr unless given a logger of their own; pvio's
 * libraries never log (the caller decides what an administrator sees, from the -errno
 * and errmsg), so they get one that drops everything.  It keeps no state, so a single
 * instance serves every handle and thread.
 */
static void quiet_vmessage(struct xentoollog_logger *logger, xentoollog_level level,
			   int errnoval, const char *context, const char *format, va_list al)
{
	(void)logger, (void)level, (void)errnoval, (void)context, (void)format, (void)al;
}

static void quiet_destroy(struct xentoollog_logger *logger)
{
	(void)logger;
}

static struct xentoollog_logger quiet_logger = {
	.vmessage = quiet_vmessage,
	.progress = NULL,
	.destroy = quiet_destroy,
};

/*
 * Mappings and shared regions made through this handle, so that close can release what
 * the caller left behind (closing the gntdev or gntalloc fd alone keeps existing mmaps
 * alive) and unmap can refuse an address it did not hand out.  Keyed by address; mmap
 * addresses differ in their page number, which spreads them over the buckets.
 */
#define REGION_BUCKETS 256

struct region {
	void *addr;
	unsigned int count;
	struct region *next;
};

struct pv_xenlib {
	xenevtchn_handle *xce;
	xengnttab_handle *xgt;
	xengntshr_handle *xgs;
	xc_interface *xch;
	int xgt_err, xgs_err, xch_err; /* errno of a failed optional open */
	int can_copy;
	struct region *maps[REGION_BUCKETS];
	struct region *shares[REGION_BUCKETS];
};

static struct region **bucket(struct region **table, const void *addr)
{
	return &table[((uintptr_t)addr / PAGE_SIZE_XEN) % REGION_BUCKETS];
}

static struct region **find(struct region **table, const void *addr)
{
	struct region **r;

	for (r = bucket(table, addr); *r; r = &(*r)->next)
		if ((*r)->addr == addr)
			return r;
	return NULL;
}

static void track(struct region **table, struct region *r, void *addr, unsigned int count)
{
	struct region **b = bucket(table, addr);

	r->addr = addr;
	r->count = count;
	r->next = *b;
	*b = r;
}

static int saved_errno(void)
{
	return errno > 0 ? errno : EIO;
}

int pv_xenlib_open(struct pv_xenlib **out, const char **errmsg)
{
	struct pv_xenlib *x;
	int fd, fl, err;

	x = calloc(1, sizeof(*x));
	if (!x) {
		*errmsg = "out of memory";
		return -ENOMEM;
	}

	x->xce = xenevtchn_open(&quiet_logger, 0);
	if (!x->xce) {
		err = saved_errno();
		free(x);
		switch (err) {
		case ENOENT:
		case ENODEV:
		case ENXIO:
			*errmsg = "no Xen hypervisor: /dev/xen/evtchn is missing (is this a Xen "
				  "domain with xen-evtchn loaded?  Without Xen, run pvio-simd and "
				  "use --platform sim:RUNDIR:DOMID, or set PVIO_PLATFORM)";
			return -ENOENT;
		case EACCES:
		case EPERM:
			*errmsg = "permission denied opening /dev/xen/evtchn (pvio needs root, or "
				  "access to /dev/xen/*)";
			return -EACCES;
		default:
			*errmsg = "cannot open the Xen event channel device /dev/xen/evtchn";
			return -err;
		}
	}
	/* The device blocks in read() by default; pending() must return -EAGAIN instead. */
	fd = xenevtchn_fd(x->xce);
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		err = saved_errno();
		pv_xenlib_close(x);
		*errmsg = "cannot make /dev/xen/evtchn non-blocking";
		return -err;
	}

	x->xgt = xengnttab_open(&quiet_logger, 0);
	if (!x->xgt)
		x->xgt_err = saved_errno();
	/* Kernels before Linux 4.6 lack the ioctl; an empty batch asks without copying. */
	else if (xengnttab_grant_copy(x->xgt, 0, NULL) == 0)
		x->can_copy = 1;

	x->xgs = xengntshr_open(&quiet_logger, 0);
	if (!x->xgs)
		x->xgs_err = saved_errno();

	x->xch = xc_interface_open(&quiet_logger, &quiet_logger, 0);
	if (!x->xch)
		x->xch_err = saved_errno();

	*out = x;
	return 0;
}

void pv_xenlib_close(struct pv_xenlib *x)
{
	struct region *r, *next;
	unsigned int i;

	if (!x)
		return;
	for (i = 0; i < REGION_BUCKETS; i++) {
		for (r = x->maps[i]; r; r = next) {
			next = r->next;
			xengnttab_unmap(x->xgt, r->addr, r->count);
			free(r);
		}
		for (r = x->shares[i]; r; r = next) {
			next = r->next;
			xengntshr_unshare(x->xgs, r->addr, r->count);
			free(r);
		}
		x->maps[i] = x->shares[i] = NULL;
	}
	if (x->xch)
		xc_interface_close(x->xch);
	if (x->xgs)
		xengntshr_close(x->xgs);
	if (x->xgt)
		xengnttab_close(x->xgt);
	if (x->xce)
		xenevtchn_close(x->xce); /* unbinds every port still bound */
	free(x);
}

/* ---- grants ------------------------------------------------------------------------ */

int pv_xenlib_gnt_share(struct pv_xenlib *x, uint32_t peer, unsigned int count, int writable,
			uint32_t *refs, void **addr)
{
	struct region *r;
	void *a;

	if (!x->xgs)
		return -x->xgs_err;
	if (count > INT32_MAX / PAGE_SIZE_XEN)
		return -EINVAL;
	r = malloc(sizeof(*r));
	if (!r)
		return -ENOMEM;
	/* gntalloc hands out zeroed pages, as pv_gnt_share() promises. */
	a = xengntshr_share_pages(x->xgs, peer, (int)count, refs, writable != 0);
	if (!a) {
		int err = saved_errno();

		free(r);
		return -err;
	}
	track(x->shares, r, a, count);
	*addr = a;
	return 0;
}

int pv_xenlib_gnt_unshare(struct pv_xenlib *x, void *addr, unsigned int count)
{
	struct region **rp, *r;

	if (!x->xgs)
		return -x->xgs_err;
	rp = find(x->shares, addr);
	if (!rp || (*rp)->count != count)
		return -EINVAL;
	/*
	 * Unmapping our side is all we can do: gntalloc ends the grant, and frees the page,
	 * only once the peer has unmapped it too.
	 */
	if (xengntshr_unshare(x->xgs, addr, count) < 0)
		return -saved_errno();
	r = *rp;
	*rp = r->next;
	free(r);
	return 0;
}

int pv_xenlib_gnt_map(struct pv_xenlib *x, uint32_t peer, unsigned int count,
		      const uint32_t *refs, int writable, void **addr)
{
	struct region *r;
	void *a;

	if (!x->xgt)
		return -x->xgt_err;
	r = malloc(sizeof(*r));
	if (!r)
		return -ENOMEM;
	/* The library takes refs as non-const but only reads them. */
	a = xengnttab_map_domain_grant_refs(x->xgt, count, peer, (uint32_t *)refs,
					    PROT_READ | (writable ? PROT_WRITE : 0));
	if (!a) {
		int err = saved_errno();

		free(r);
		return -err;
	}
	track(x->maps, r, a, count);
	*addr = a;
	return 0;
}

int pv_xenlib_gnt_unmap(struct pv_xenlib *x, void *addr, unsigned int count)
{
	struct region **rp, *r;

	if (!x->xgt)
		return -x->xgt_err;
	rp = find(x->maps, addr);
	if (!rp || (*rp)->count != count)
		return -EINVAL;
	if (xengnttab_unmap(x->xgt, addr, count) < 0)
		return -saved_errno();
	r = *rp;
	*rp = r->next;
	free(r);
	return 0;
}

static int16_t gntst_to_errno(int16_t st)
{
	switch (st) {
	case GNTST_okay:
		return 0;
	case GNTST_bad_domain:
		return -ESRCH;
	case GNTST_bad_gntref:
	case GNTST_bad_handle:
	case GNTST_bad_page:
	case GNTST_bad_copy_arg:
	case GNTST_address_too_big:
		return -EINVAL;
	case GNTST_bad_virt_addr:
	case GNTST_bad_dev_addr:
		return -EFAULT;
	case GNTST_permission_denied:
		return -EACCES;
	case GNTST_eagain:
		return -EAGAIN;
	case GNTST_no_device_space:
	case GNTST_no_space:
		return -ENOSPC;
	default:
		return -EIO;
	}
}

/*
 * The batch is converted on the stack, COPY_BATCH segments at a time, so a copy
 * allocates nothing.  A segment the kernel would reject for the whole ioctl (offset +
 * len past the page, no buffer) is failed alone instead of being sent.
 */
#define COPY_BATCH 32

int pv_xenlib_gnt_copy(struct pv_xenlib *x, struct pv_xenlib_copy *segs, unsigned int count)
{
	xengnttab_grant_copy_segment_t op[COPY_BATCH];
	unsigned int idx[COPY_BATCH];
	unsigned int i = 0, n, j;
	int failed = 0;

	if (!x->xgt)
		return -x->xgt_err;
	if (!x->can_copy)
		return -ENOTSUP;
	while (i < count) {
		for (n = 0; i < count && n < COPY_BATCH; i++) {
			struct pv_xenlib_copy *s = &segs[i];
			xengnttab_grant_copy_segment_t *o = &op[n];

			if (!s->local || (unsigned int)s->offset + s->len > PAGE_SIZE_XEN) {
				s->status = -EINVAL;
				failed = 1;
				continue;
			}
			if (s->to_granted) {
				o->source.virt = s->local;
				o->dest.foreign.ref = s->ref;
				o->dest.foreign.offset = s->offset;
				o->dest.foreign.domid = s->domid;
				o->flags = GNTCOPY_dest_gref;
			} else {
				o->source.foreign.ref = s->ref;
				o->source.foreign.offset = s->offset;
				o->source.foreign.domid = s->domid;
				o->dest.virt = s->local;
				o->flags = GNTCOPY_source_gref;
			}
			o->len = s->len;
			o->status = GNTST_general_error;
			idx[n++] = i;
		}
		if (!n)
			continue;
		if (xengnttab_grant_copy(x->xgt, n, op) < 0) {
			/* The kernel stops at the first bad buffer; which ones ran is unknown. */
			int16_t err = (int16_t)-saved_errno();

			for (j = 0; j < n; j++)
				segs[idx[j]].status = err;
			failed = 1;
			continue;
		}
		for (j = 0; j < n; j++) {
			segs[idx[j]].status = gntst_to_errno(op[j].status);
			if (op[j].status != GNTST_okay)
				failed = 1;
		}
	}
	return failed ? -EIO : 0;
}

/* ---- event channels ------------------------------------------------------------------ */

int pv_xenlib_evtchn_alloc_unbound(struct pv_xenlib *x, uint32_t remote)
{
	xenevtchn_port_or_error_t port = xenevtchn_bind_unbound_port(x->xce, remote);

	return port < 0 ? -saved_errno() : port;
}

int pv_xenlib_evtchn_bind_interdomain(struct pv_xenlib *x, uint32_t remote,
				      uint32_t remote_port)
{
	xenevtchn_port_or_error_t port = xenevtchn_bind_interdomain(x->xce, remote, remote_port);

	return port < 0 ? -saved_errno() : port;
}

int pv_xenlib_evtchn_unbind(struct pv_xenlib *x, uint32_t port)
{
	return xenevtchn_unbind(x->xce, port) < 0 ? -saved_errno() : 0;
}

int pv_xenlib_evtchn_notify(struct pv_xenlib *x, uint32_t port)
{
	return xenevtchn_notify(x->xce, port) < 0 ? -saved_errno() : 0;
}

int pv_xenlib_evtchn_fd(struct pv_xenlib *x)
{
	return xenevtchn_fd(x->xce);
}

/* Linux's evtchn driver masks a port when it queues its event: exactly our contract. */
int pv_xenlib_evtchn_pending(struct pv_xenlib *x)
{
	xenevtchn_port_or_error_t port = xenevtchn_pending(x->xce);

	return port < 0 ? -saved_errno() : port;
}

int pv_xenlib_evtchn_unmask(struct pv_xenlib *x, uint32_t port)
{
	return xenevtchn_unmask(x->xce, port) < 0 ? -saved_errno() : 0;
}

/* ---- domains ----------------------------------------------------------------------- */

int pv_xenlib_domain_info(struct pv_xenlib *x, uint32_t domid, int *dying, int *shutdown)
{
	xc_dominfo_t info;
	int n;

	if (!x->xch)
		return -x->xch_err;
	/* Returns the first domain with an id >= domid, so check it is the one asked for. */
	n = xc_domain_getinfo(x->xch, domid, 1, &info);
	if (n < 0)
		return -saved_errno();
	if (n == 0 || info.domid != domid)
		return -ESRCH;
	*dying = info.dying;
	*shutdown = info.shutdown || info.crashed;
	return 0;
}
