/* SPDX-License-Identifier: MIT */
/*
 * sim_hv.c - pvio-simd's hypervisor: domains, grant-table registrations, event channels,
 * and the hypercall sockets that reach them.
 *
 * Everything here is setup.  The daemon hands out file descriptors (a granter's memory
 * and tables, the eventfds of a channel) and keeps the books Xen keeps (who granted what,
 * which ports are bound to which, who holds which pins) so that a process that dies or a
 * domain that is destroyed leaves nothing behind.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "sim_hv.h"
#include "pv_accept.h"
#include "pv_daemon.h"
#include "sim_unix.h"
#include "pv_sim_grant.h"
#include "pv_ring.h"

#define DOMID_LIMIT 0x7FF0u /* DOMID_FIRST_RESERVED */

/*
 * What one domU may hold at once.  Event channels: libxl's default max_event_channels.
 * Hypercall connections: a handful per process is normal; the fd budget
 * (sim_hv_domu_fd_budget) bounds them further.
 */
#define DOMU_MAX_PORTS 1023u
#define DOMU_MAX_CONNS 64u

/* How long every listener sleeps after accept() ran out of fds (pv_accept.h). */
#define ACCEPT_PAUSE_MS 100

/*
 * A granter's registered memory and grant table; kept while its process lives, and after
 * that while any grantee still has one of its pages mapped.
 */
struct sim_reg {
	struct sim_reg *next;
	struct sim_dom *dom; /* the granter, charged for the two fds */
	uint32_t gen;
	uint32_t pages, entries;
	int memfd, gntfd;
	struct grant_entry_v1 *gnt;
	/*
	 * Pins of each entry, reading (low 16 bits) and writing (high 16): the daemon's own
	 * memory, the only truth about "in use"; GTF_reading/GTF_writing in the entry are
	 * set and cleared from it.
	 */
	uint32_t *pins;
	uint64_t npins;     /* all entries' pins: an orphan with none left is freed */
	grant_ref_t hint;   /* the last entry GET_PEER found granted to hint_dom */
	domid_t hint_dom;
	int orphaned;       /* the process that registered it is gone */
};

#define PIN_RD(p)  ((p) & 0xFFFFu)
#define PIN_WR(p)  ((p) >> 16)
#define PIN_MAX    0xFFFFu

/*
 * One page a connection has mapped: Xen's maptrack entry, in the daemon's memory.  The
 * registration is named by (granter, generation), which no other registration shares,
 * rather than by pointer: a destroyed granter's registrations go while pins remain.
 */
struct sim_mt {
	uint32_t ref;
	uint32_t gen;
	domid_t domid;
	uint8_t inuse, writable;
	uint32_t next_free;
};

enum port_state { PORT_FREE, PORT_UNBOUND, PORT_BOUND };

struct sim_port {
	enum port_state state;
	domid_t remote;
	evtchn_port_t remote_port;
	int fd_ours, fd_theirs; /* the allocator's pair, kept while bound too: a rebind needs them */
	struct sim_conn *owner;
};

struct sim_conn {
	struct sim_conn *next;
	struct sim_hv *hv;
	struct sim_dom *dom;
	int fd;
	/* Pages mapped: slots [0, mt_len) used at some time, a free list through them. */
	struct sim_mt *mt;
	uint32_t mt_cap, mt_len, mt_free, mt_used;
	struct sim_reg *reg; /* the registration this connection made, if any */
};

#define MT_NONE UINT32_MAX

struct sim_dom {
	struct sim_hv *hv;
	domid_t domid;
	int dying;
	int hc_fd; /* listening hypercall socket */
	char *dir;
	/* What this domain made in the rundir, so that a failed create removes only that
	 * (never the socket of another daemon that made create fail with EADDRINUSE). */
	int made_dir, made_hc, made_xs;
	struct sim_reg *regs; /* newest first; regs->orphaned == 0 means current */
	struct sim_conn *conns;
	unsigned int nconns;
	unsigned int nfds;    /* fds the daemon holds for this domain (see fd_take) */
	struct sim_port ports[PV_SIM_MAX_PORTS];
};

struct sim_hv {
	struct pv_loop *loop;
	struct pv_xsd *xsd;
	char *rundir;
	struct sim_dom *dom[DOMID_LIMIT];
	/*
	 * Grant table generations, daemon-wide: a destroyed domain's id comes back with a new
	 * domain, and (domid, generation) must still name one table only, or a grantee's old
	 * maptrack entry would unpin the new domain's grants and a cached view would stay dead.
	 */
	uint32_t next_gen;
	unsigned int fd_budget; /* per domU */
	int epoch_fd;           /* the epochs of pv_sim_proto.h, handed out read-only */
	uint32_t *epochs;
	struct pv_accept listening; /* the hypercall listeners, paused when out of fds */
	struct pv_sim_stats st;
};

unsigned int sim_hv_domu_fd_budget(void)
{
	struct rlimit rl;
	rlim_t n = 1024;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		n = rl.rlim_cur;
	else if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
		n = 1u << 20;
	n /= 8;
	return n < 16 ? 16 : n > 4096 ? 4096 : (unsigned int)n;
}

/*
 * Charges n daemon fds to domain d.  A domU past its budget gets -EMFILE, as a process
 * past its own RLIMIT_NOFILE would: its flood fails, nobody else's requests do.
 */
static int fd_take(struct sim_dom *d, unsigned int n)
{
	if (d->domid != 0 && d->nfds + n > d->hv->fd_budget) {
		d->hv->st.over_budget++;
		return -EMFILE;
	}
	d->nfds += n;
	return 0;
}

static void fd_give(struct sim_dom *d, unsigned int n)
{
	d->nfds = d->nfds >= n ? d->nfds - n : 0;
}

static struct sim_dom *dom_get(struct sim_hv *hv, uint64_t domid)
{
	return domid < DOMID_LIMIT ? hv->dom[domid] : NULL;
}

static struct sim_reg *dom_current_reg(struct sim_dom *d)
{
	return d->regs && !d->regs->orphaned ? d->regs : NULL;
}

static struct sim_reg *dom_find_reg(struct sim_dom *d, uint32_t gen)
{
	struct sim_reg *r;

	for (r = d->regs; r; r = r->next)
		if (r->gen == gen)
			return r;
	return NULL;
}

static void reg_free(struct sim_reg *r)
{
	if (r->dom) {
		fd_give(r->dom, 2);
		r->dom->hv->st.pins -= r->npins; /* their maptrack entries now name nothing */
	}
	free(r->pins);
	if (r->gnt)
		munmap(r->gnt, (size_t)r->entries * sizeof(*r->gnt));
	close(r->memfd);
	close(r->gntfd);
	free(r);
}

/*
 * The registering process is gone.  Like gntalloc on release, end every grant nobody has
 * in use, so that a grantee with a stale view fails instead of reading a dead table; the
 * ones in use stay valid until unmapped, as Xen defers them.
 */
static void reg_orphan(struct sim_reg *r)
{
	uint32_t i;

	r->orphaned = 1; /* no new pins: GNT_MAP takes only a current registration */
	/* Grantees' cached views are stale from now on; they ask again on their next failure. */
	if (r->dom && r->dom->hv->epochs[r->dom->domid] == r->gen)
		__atomic_store_n(&r->dom->hv->epochs[r->dom->domid], 0, __ATOMIC_RELEASE);
	for (i = 0; i < r->entries; i++)
		if (!r->pins[i] && (r->gnt[i].flags & GTF_permit_access)) {
			/* Nobody has it mapped, whatever the (dead) granter left in its flags. */
			pv_sim_gnt_sync_flags(&r->gnt[i], 0, 0);
			pv_sim_gnt_end_access(&r->gnt[i]);
		}
}

/*
 * Frees the registrations of d whose process is gone and that nobody has pinned any more:
 * their grants were ended at orphaning, and GNT_MAP takes none of an orphan, so no new
 * pin can appear.  Without this a domain whose processes restart would pile up two fds
 * per restart.
 */
static void dom_sweep_regs(struct sim_dom *d)
{
	struct sim_reg **pp = &d->regs;

	while (*pp) {
		struct sim_reg *r = *pp;

		if (!r->orphaned || r->npins) {
			pp = &r->next;
			continue;
		}
		*pp = r->next;
		reg_free(r);
	}
}

/* ---- sockets and folders -------------------------------------------------------------- */

static char *path_join(const char *dir, const char *name)
{
	char *p;

	return asprintf(&p, "%s/%s", dir, name) < 0 ? NULL : p;
}

/* ---- event channels ------------------------------------------------------------------- */

static void port_close(struct sim_hv *hv, struct sim_dom *d, evtchn_port_t p)
{
	struct sim_port *sp = &d->ports[p];

	if (sp->state == PORT_BOUND) {
		struct sim_dom *r = dom_get(hv, sp->remote);

		/* As in Xen, the other end falls back to unbound.  The allocating end keeps its
		 * eventfds while bound, so that the same domain can bind it again (a restarted
		 * back end re-attaching to a front end's port); a binder's port, which has no
		 * fds to hand out, only forgets its peer. */
		if (r && sp->remote_port < PV_SIM_MAX_PORTS &&
		    r->ports[sp->remote_port].state == PORT_BOUND &&
		    r->ports[sp->remote_port].remote == d->domid &&
		    r->ports[sp->remote_port].remote_port == p) {
			r->ports[sp->remote_port].remote_port = 0;
			if (r->ports[sp->remote_port].fd_ours >= 0)
				r->ports[sp->remote_port].state = PORT_UNBOUND;
		}
	}
	if (sp->fd_ours >= 0) {
		close(sp->fd_ours);
		fd_give(d, 1);
	}
	if (sp->fd_theirs >= 0) {
		close(sp->fd_theirs);
		fd_give(d, 1);
	}
	*sp = (struct sim_port){ .state = PORT_FREE, .fd_ours = -1, .fd_theirs = -1 };
}

static int port_alloc(struct sim_dom *d)
{
	unsigned int p, max = d->domid ? DOMU_MAX_PORTS + 1 : PV_SIM_MAX_PORTS;

	for (p = 1; p < max; p++) /* port 0 is never valid, as in Xen */
		if (d->ports[p].state == PORT_FREE)
			return (int)p;
	return -ENOSPC;
}

static int op_evtchn_alloc(struct sim_hv *hv, struct sim_conn *c, struct pv_sim_msg *m,
			   int *fds, unsigned int *nfds)
{
	struct sim_dom *d = c->dom;
	int p, a, b;

	if (!dom_get(hv, m->a[0]))
		return -ESRCH;
	p = port_alloc(d);
	if (p < 0)
		return p;
	if ((a = fd_take(d, 2)) < 0)
		return a;
	a = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	b = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (a < 0 || b < 0) {
		if (a >= 0)
			close(a);
		if (b >= 0)
			close(b);
		fd_give(d, 2);
		return -ENFILE;
	}
	d->ports[p] = (struct sim_port){ .state = PORT_UNBOUND, .remote = (domid_t)m->a[0],
					 .fd_ours = a, .fd_theirs = b, .owner = c };
	m->a[0] = (uint64_t)p;
	fds[0] = a; /* we poll a */
	fds[1] = b; /* and notify by writing b */
	*nfds = 2;
	return 0;
}

static int op_evtchn_bind(struct sim_hv *hv, struct sim_conn *c, struct pv_sim_msg *m,
			  int *fds, unsigned int *nfds)
{
	struct sim_dom *d = c->dom, *r = dom_get(hv, m->a[0]);
	struct sim_port *rp;
	int p;

	if (!r || r->dying)
		return -ESRCH;
	if (m->a[1] == 0 || m->a[1] >= PV_SIM_MAX_PORTS)
		return -EINVAL;
	rp = &r->ports[m->a[1]];
	if (rp->state != PORT_UNBOUND || rp->remote != d->domid)
		return -EINVAL;
	p = port_alloc(d);
	if (p < 0)
		return p;
	/* Copies go to the binder (closed here once sent); the port keeps its own for a rebind. */
	fds[0] = dup(rp->fd_theirs);
	fds[1] = dup(rp->fd_ours);
	if (fds[0] < 0 || fds[1] < 0) {
		if (fds[0] >= 0)
			close(fds[0]);
		if (fds[1] >= 0)
			close(fds[1]);
		return -ENFILE;
	}
	d->ports[p] = (struct sim_port){ .state = PORT_BOUND, .remote = r->domid,
					 .remote_port = (evtchn_port_t)m->a[1],
					 .fd_ours = -1, .fd_theirs = -1, .owner = c };
	*nfds = 2;
	rp->state = PORT_BOUND;
	rp->remote_port = (evtchn_port_t)p;
	m->a[0] = (uint64_t)p;
	return 0; /* the caller closes the daemon's copies of both fds once they are sent */
}

static int op_evtchn_close(struct sim_hv *hv, struct sim_conn *c, struct pv_sim_msg *m)
{
	struct sim_dom *d = c->dom;

	if (m->a[0] == 0 || m->a[0] >= PV_SIM_MAX_PORTS || d->ports[m->a[0]].state == PORT_FREE ||
	    d->ports[m->a[0]].owner != c)
		return -EINVAL;
	port_close(hv, d, (evtchn_port_t)m->a[0]);
	return 0;
}

/* ---- grant tables --------------------------------------------------------------------- */

static int check_memfd(int fd, uint64_t need)
{
	struct stat st;
	int seals = fcntl(fd, F_GET_SEALS);

	/* Unsealed, a granter could shrink its memory under a grantee's mapping (SIGBUS). */
	if (seals < 0 || !(seals & F_SEAL_SHRINK) || fstat(fd, &st) < 0)
		return -EINVAL;
	return (uint64_t)st.st_size >= need ? 0 : -EINVAL;
}

static int op_register(struct sim_hv *hv, struct sim_conn *c, struct pv_sim_msg *m,
		       const int *in, unsigned int nin)
{
	struct sim_dom *d = c->dom;
	uint64_t pages = m->a[0], entries = m->a[1];
	struct sim_reg *r;
	int rc;

	if (nin != 2)
		return -EINVAL;
	if (c->reg || dom_current_reg(d))
		return -EBUSY; /* one grant table per domain, as in Xen */
	dom_sweep_regs(d); /* pins dropped by live grantees since the last process left */
	if (pages == 0 || pages > PV_SIM_MAX_MEM_PAGES || entries < 8 ||
	    entries > PV_SIM_MAX_GNT_ENTRIES)
		return -EINVAL;
	if ((rc = check_memfd(in[0], pages * PV_PAGE_SIZE)) ||
	    (rc = check_memfd(in[1], entries * sizeof(struct grant_entry_v1))))
		return rc;
	if ((rc = fd_take(d, 2)) < 0)
		return rc;
	r = calloc(1, sizeof(*r));
	if (!r) {
		fd_give(d, 2);
		return -ENOMEM;
	}
	r->dom = d;
	r->pages = (uint32_t)pages;
	r->entries = (uint32_t)entries;
	r->memfd = dup(in[0]);
	r->gntfd = dup(in[1]);
	r->pins = calloc(entries, sizeof(*r->pins));
	if (r->memfd < 0 || r->gntfd < 0 || !r->pins) {
		rc = r->pins ? -errno : -ENOMEM;
		goto fail;
	}
	r->gnt = mmap(NULL, entries * sizeof(*r->gnt), PROT_READ | PROT_WRITE, MAP_SHARED,
		      r->gntfd, 0);
	if (r->gnt == MAP_FAILED) {
		rc = -errno;
		r->gnt = NULL;
		goto fail;
	}
	/*
	 * The granter mapped its table before registering it, and the daemon just did: from
	 * now on nobody maps it writable or writes it, so the grantees GET_PEER hands it to
	 * can only read it and cannot touch the in-use flags.  A granter that did not map it
	 * first has no table to write to, which hurts only itself.
	 */
	if (fcntl(r->gntfd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE) < 0) {
		rc = -EINVAL;
		goto fail;
	}
	if (++hv->next_gen == 0) /* 0 means "no registration" in the epochs */
		++hv->next_gen;
	r->gen = hv->next_gen;
	__atomic_store_n(&hv->epochs[d->domid], r->gen, __ATOMIC_RELEASE);
	r->next = d->regs;
	d->regs = r;
	c->reg = r;
	m->a[2] = r->gen;
	return 0;
fail:
	reg_free(r); /* closing a -1 fd is harmless */
	return rc;
}

static int granted_to(struct sim_reg *r, grant_ref_t ref, domid_t me)
{
	uint32_t w = __atomic_load_n(pv_sim_gnt_word(&r->gnt[ref]), __ATOMIC_ACQUIRE);

	return pv_sim_gnt_allows(w, me, 0) == 0;
}

static int op_get_peer(struct sim_hv *hv, struct sim_conn *c, struct pv_sim_msg *m,
		       int *fds, unsigned int *nfds)
{
	struct sim_dom *p = dom_get(hv, m->a[0]);
	struct sim_reg *r;
	domid_t me;
	uint32_t i;

	if (!p)
		return -ESRCH;
	r = dom_current_reg(p);
	if (!r)
		return -ENOENT;
	/*
	 * Only a domain the granter grants something to now may reach its memory: the nearest
	 * the sim comes to Xen's "no grant, no access" (a process that got the fd earlier
	 * keeps it: docs/sim-platform.md).  The entry found last time is tried first, so a
	 * grantee asking again (a new process, a stale view) rarely costs a scan.
	 */
	me = c->dom->domid;
	if (!(r->hint_dom == me && granted_to(r, r->hint, me))) {
		for (i = 0; i < r->entries && !granted_to(r, i, me); i++)
			;
		if (i == r->entries) {
			hv->st.peer_refused++;
			return -EACCES;
		}
		r->hint = i;
		r->hint_dom = me;
	}
	m->a[0] = r->pages;
	m->a[1] = r->entries;
	m->a[2] = r->gen;
	fds[0] = r->memfd;
	fds[1] = r->gntfd;
	*nfds = 2;
	return 0;
}

/* ---- pins: what a connection has mapped ------------------------------------------------ */

/* A free maptrack slot of c (grown by doubling up to the cap), or MT_NONE. */
static uint32_t mt_get(struct sim_conn *c)
{
	uint32_t slot;

	if (c->mt_free == MT_NONE && c->mt_len == c->mt_cap) {
		uint32_t cap = c->mt_cap ? c->mt_cap * 2 : 64;
		struct sim_mt *n;

		if (c->mt_cap >= PV_SIM_MAPTRACK_ENTRIES)
			return MT_NONE;
		if (cap > PV_SIM_MAPTRACK_ENTRIES)
			cap = PV_SIM_MAPTRACK_ENTRIES;
		n = realloc(c->mt, cap * sizeof(*n));
		if (!n)
			return MT_NONE;
		c->mt = n;
		c->mt_cap = cap;
	}
	if (c->mt_free != MT_NONE) {
		slot = c->mt_free;
		c->mt_free = c->mt[slot].next_free;
	} else {
		slot = c->mt_len++;
	}
	c->mt_used++;
	return slot;
}

/* Drops one pin of r's entry ref; the last one clears the entry's in-use flags. */
static void pin_drop(struct sim_hv *hv, struct sim_reg *r, grant_ref_t ref, int writable)
{
	uint32_t p = r->pins[ref], rd = PIN_RD(p), wr = PIN_WR(p);

	if (writable && wr)
		wr--;
	else if (!writable && rd)
		rd--;
	else
		return;
	r->pins[ref] = rd | wr << 16;
	r->npins--;
	hv->st.pins--;
	pv_sim_gnt_sync_flags(&r->gnt[ref], rd, wr);
	if (r->orphaned && !r->npins)
		dom_sweep_regs(r->dom); /* frees r: the last page of a dead granter unmapped */
}

/* Releases c's maptrack slot and the pin it holds.  0, or -EINVAL if c holds no such slot. */
static int mt_put(struct sim_hv *hv, struct sim_conn *c, uint32_t slot)
{
	struct sim_mt *e;
	struct sim_dom *g;
	struct sim_reg *r;

	if (slot >= c->mt_len || !c->mt[slot].inuse)
		return -EINVAL;
	e = &c->mt[slot];
	g = dom_get(hv, e->domid);
	r = g ? dom_find_reg(g, e->gen) : NULL;
	if (r) /* else the granter was destroyed, and its table with it */
		pin_drop(hv, r, e->ref, e->writable);
	e->inuse = 0;
	e->next_free = c->mt_free;
	c->mt_free = slot;
	c->mt_used--;
	return 0;
}

/*
 * Pins one entry of r for c's domain and records it in c's maptrack.  0 and *out, or
 * -EINVAL (no such entry, frame outside the granter's memory), -EACCES (not granted to
 * us, read-only), -EBUSY (pin count saturated), -ENOSPC (maptrack full).
 */
static int pin_one(struct sim_hv *hv, struct sim_conn *c, struct sim_reg *r, grant_ref_t ref,
		   int writable, struct pv_sim_map_out *out)
{
	uint32_t p, frame, slot;

	if (ref >= r->entries)
		return -EINVAL;
	p = r->pins[ref];
	if ((writable ? PIN_WR(p) : PIN_RD(p)) == PIN_MAX)
		return -EBUSY;
	if (pv_sim_gnt_mark(&r->gnt[ref], c->dom->domid, writable) < 0)
		return -EACCES;
	/* Read the frame once, after the entry is marked in use: the granter may not change it now. */
	frame = __atomic_load_n(&r->gnt[ref].frame, __ATOMIC_ACQUIRE);
	slot = frame < r->pages ? mt_get(c) : MT_NONE;
	if (slot == MT_NONE) {
		pv_sim_gnt_sync_flags(&r->gnt[ref], PIN_RD(p), PIN_WR(p)); /* undo our marking */
		if (frame < r->pages)
			hv->st.maptrack_full++;
		return frame < r->pages ? -ENOSPC : -EINVAL;
	}
	r->pins[ref] = writable ? p + (1u << 16) : p + 1;
	r->npins++;
	hv->st.pins++;
	c->mt[slot] = (struct sim_mt){ .ref = ref, .gen = r->gen, .domid = r->dom->domid,
				       .inuse = 1, .writable = !!writable, .next_free = MT_NONE };
	out->frame = frame;
	out->handle = slot;
	return 0;
}

/*
 * GNT_MAP: pins a batch of refs of the granter's current registration, all or nothing.
 * The pins are the daemon's: a grantee that dies after this holds them only through its
 * connection, which the daemon releases when it closes.
 */
static int op_gnt_map(struct sim_hv *hv, struct sim_conn *c, struct pv_sim_msg *m, size_t din)
{
	grant_ref_t refs[PV_SIM_MAP_BATCH];
	struct pv_sim_map_out out[PV_SIM_MAP_BATCH];
	struct sim_dom *g = dom_get(hv, m->a[0]);
	uint64_t n = m->a[2];
	struct sim_reg *r;
	unsigned int i;
	int rc = 0;

	if (n == 0 || n > PV_SIM_MAP_BATCH || din < n * sizeof(uint32_t))
		return -EINVAL;
	if (!g)
		return -ESRCH;
	r = dom_current_reg(g);
	if (!r || r->gen != m->a[1]) {
		hv->st.stale_maps++;
		return -ESTALE;
	}
	memcpy(refs, m->data, n * sizeof(uint32_t)); /* the reply overwrites data[] */
	for (i = 0; i < n; i++)
		if ((rc = pin_one(hv, c, r, refs[i], !!m->a[3], &out[i])) < 0)
			break;
	if (rc < 0) {
		while (i-- > 0)
			mt_put(hv, c, out[i].handle);
		if (rc != -ENOSPC)
			hv->st.bad_maps++;
		return rc;
	}
	memcpy(m->data, out, n * sizeof(out[0]));
	m->ndata = (uint32_t)(n * sizeof(out[0]));
	return 0;
}

/* GNT_UNMAP: releases a batch of this connection's maptrack handles. */
static int op_gnt_unmap(struct sim_hv *hv, struct sim_conn *c, struct pv_sim_msg *m, size_t din)
{
	uint64_t n = m->a[0];
	unsigned int i, bad = 0;
	uint32_t h;

	if (n == 0 || n > PV_SIM_UNMAP_BATCH || din < n * sizeof(uint32_t))
		return -EINVAL;
	hv->st.unmap_calls++;
	for (i = 0; i < n; i++) {
		memcpy(&h, m->data + i * sizeof(h), sizeof(h));
		bad += mt_put(hv, c, h) < 0;
	}
	hv->st.bad_unmaps += bad;
	return bad ? -EINVAL : 0;
}

/* ---- connections ------------------------------------------------------------------------ */

static void conn_release(struct sim_hv *hv, struct sim_conn *c)
{
	struct sim_dom *d = c->dom;
	unsigned int i;

	/*
	 * Unpin whatever the process still had mapped: Xen's maptrack walk at domain death,
	 * on the daemon's own records, as long as the most the connection ever held at once.
	 */
	for (i = 0; i < c->mt_len && c->mt_used; i++)
		if (c->mt[i].inuse)
			mt_put(hv, c, i);
	free(c->mt);
	c->mt = NULL;
	for (i = 1; i < PV_SIM_MAX_PORTS; i++)
		if (d->ports[i].state != PORT_FREE && d->ports[i].owner == c)
			port_close(hv, d, i);
	if (c->reg) {
		reg_orphan(c->reg);
		dom_sweep_regs(d);
	}
	pv_loop_del(hv->loop, c->fd);
	close(c->fd);
	fd_give(d, 1);
	d->nconns--;
}

static void conn_free(struct sim_hv *hv, struct sim_conn *c)
{
	struct sim_conn **pp;

	for (pp = &c->dom->conns; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	conn_release(hv, c);
	free(c);
}

static int op_hello(struct sim_hv *hv, struct sim_conn *c, struct pv_sim_msg *m, int *fds,
		    unsigned int *nfds)
{
	if (m->a[0] != PV_SIM_PROTO_VERSION)
		return -EPROTONOSUPPORT;
	m->a[0] = c->dom->domid;
	m->a[1] = PV_SIM_EPOCH_ENTRIES;
	fds[0] = hv->epoch_fd;
	*nfds = 1;
	return 0;
}

static int op_domain_list(struct sim_hv *hv, struct pv_sim_msg *m)
{
	unsigned int i, n = 0;

	for (i = 0; i < DOMID_LIMIT && n < sizeof(m->data) / sizeof(uint16_t); i++)
		if (hv->dom[i]) {
			uint16_t id = (uint16_t)i;

			memcpy(m->data + n * sizeof(id), &id, sizeof(id));
			n++;
		}
	m->a[0] = n;
	m->ndata = n * sizeof(uint16_t);
	return 0;
}

/* din: bytes of data[] the request carried. */
static int dispatch(struct sim_hv *hv, struct sim_conn *c, struct pv_sim_msg *m, size_t din,
		    const int *in, unsigned int nin, int *out, unsigned int *nout, int *close_out)
{
	struct sim_dom *d;
	int rc;

	*close_out = 0;
	switch (m->op) {
	case PV_SIM_OP_HELLO:
		return op_hello(hv, c, m, out, nout);
	case PV_SIM_OP_REGISTER_GNTTAB:
		return op_register(hv, c, m, in, nin);
	case PV_SIM_OP_GET_PEER:
		return op_get_peer(hv, c, m, out, nout);
	case PV_SIM_OP_EVTCHN_ALLOC:
		return op_evtchn_alloc(hv, c, m, out, nout);
	case PV_SIM_OP_EVTCHN_BIND:
		rc = op_evtchn_bind(hv, c, m, out, nout);
		*close_out = rc == 0;
		return rc;
	case PV_SIM_OP_EVTCHN_CLOSE:
		return op_evtchn_close(hv, c, m);
	case PV_SIM_OP_DOMAIN_INFO:
		d = dom_get(hv, m->a[0]);
		if (!d)
			return -ESRCH;
		m->a[0] = d->dying ? PV_SIM_DOM_DYING : 0;
		return 0;
	case PV_SIM_OP_DOMAIN_CREATE:
		if (c->dom->domid != 0)
			return -EPERM;
		rc = sim_hv_domain_create(hv, (unsigned int)(m->a[0] > 0xFFFF ? 0x10000 : m->a[0]));
		if (rc < 0)
			return rc;
		m->a[0] = (uint64_t)rc;
		return 0;
	case PV_SIM_OP_DOMAIN_DESTROY:
		if (c->dom->domid != 0)
			return -EPERM;
		return sim_hv_domain_destroy(hv, (unsigned int)(m->a[0] > 0xFFFF ? 0x10000 : m->a[0]));
	case PV_SIM_OP_DOMAIN_LIST:
		return op_domain_list(hv, m);
	case PV_SIM_OP_GNT_MAP:
		return op_gnt_map(hv, c, m, din);
	case PV_SIM_OP_GNT_UNMAP:
		return op_gnt_unmap(hv, c, m, din);
	case PV_SIM_OP_STATS:
		if (c->dom->domid != 0)
			return -EPERM;
		memcpy(m->data, &hv->st, sizeof(hv->st));
		m->ndata = sizeof(hv->st);
		return 0;
	default:
		return -ENOSYS;
	}
}

static void conn_io(struct pv_loop *loop, int fd, uint32_t events, void *opaque)
{
	struct sim_conn *c = opaque;
	struct sim_hv *hv = c->hv;
	struct sim_dom *d = c->dom;
	struct pv_sim_msg m;
	int in[PV_SIM_MAX_FDS], out[PV_SIM_MAX_FDS];
	unsigned int nin = 0, nout = 0, i;
	int close_out, destroyed_self;
	size_t len;
	ssize_t n;

	(void)loop;
	(void)fd;
	if (!(events & EPOLLIN)) {
		conn_free(hv, c);
		return;
	}
	n = pv_sim_recv(c->fd, &m, in, &nin);
	if (n == 0 || (n < 0 && n != -EMSGSIZE && n != -EAGAIN)) {
		conn_free(hv, c);
		return;
	}
	if (n == -EAGAIN)
		return;
	if (n < (ssize_t)offsetof(struct pv_sim_msg, data)) {
		/* Undersized or truncated: a broken client gets an error, never a guess. */
		memset(&m, 0, offsetof(struct pv_sim_msg, data));
		m.ret = -EINVAL;
		close_out = 0;
	} else {
		m.ndata = 0;
		m.ret = dispatch(hv, c, &m, (size_t)n - offsetof(struct pv_sim_msg, data), in, nin,
				 out, &nout, &close_out);
		if (m.ret < 0)
			nout = 0;
	}
	for (i = 0; i < nin; i++)
		close(in[i]);
	/* A dom0 connection may just have destroyed its own domain: then c is gone too. */
	destroyed_self = hv->dom[d->domid] != d;
	if (destroyed_self)
		return;
	len = offsetof(struct pv_sim_msg, data) + m.ndata;
	if (pv_sim_send(c->fd, &m, len, out, nout) < 0) {
		if (close_out)
			for (i = 0; i < nout; i++)
				close(out[i]);
		conn_free(hv, c);
		return;
	}
	if (close_out)
		for (i = 0; i < nout; i++)
			close(out[i]);
}

static void hc_accept(struct pv_loop *loop, int fd, uint32_t events, void *opaque)
{
	struct sim_dom *d = opaque;
	struct sim_conn *c;
	int cfd;

	(void)events;
	cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (cfd < 0) {
		if (pv_accept_failed(&d->hv->listening, errno))
			d->hv->st.accept_paused = d->hv->listening.pauses;
		return;
	}
	/* Over its caps, a domain's new connection is closed at once: refused, not queued. */
	if ((d->domid != 0 && d->nconns >= DOMU_MAX_CONNS) || fd_take(d, 1) < 0) {
		d->hv->st.refused_conns++;
		close(cfd);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(cfd);
		fd_give(d, 1);
		return;
	}
	c->hv = d->hv;
	c->fd = cfd;
	c->mt_free = MT_NONE;
	c->dom = d;
	if (pv_loop_add(loop, cfd, EPOLLIN, conn_io, c) < 0) {
		close(cfd);
		fd_give(d, 1);
		free(c);
		return;
	}
	c->next = d->conns;
	d->conns = c;
	d->nconns++;
}

/* ---- domains ------------------------------------------------------------------------------ */

static void dom_free(struct sim_hv *hv, struct sim_dom *d)
{
	char *p;
	unsigned int i;

	d->dying = 1;
	while (d->conns)
		conn_free(hv, d->conns);
	for (i = 1; i < PV_SIM_MAX_PORTS; i++)
		if (d->ports[i].state != PORT_FREE)
			port_close(hv, d, i);
	if (d->hc_fd >= 0) {
		pv_accept_del(&hv->listening, d->hc_fd);
		close(d->hc_fd);
	}
	pv_xsd_domain_release(hv->xsd, d->domid);
	while (d->regs) {
		struct sim_reg *r = d->regs;

		d->regs = r->next;
		reg_free(r);
	}
	if (d->dir) {
		if (d->made_hc && (p = path_join(d->dir, "hypercall"))) {
			unlink(p);
			free(p);
		}
		if (d->made_xs && (p = path_join(d->dir, "socket"))) {
			unlink(p);
			free(p);
		}
		if (d->made_dir || d->made_hc || d->made_xs)
			rmdir(d->dir); /* fails, harmlessly, if anything else is in it */
		free(d->dir);
	}
	__atomic_store_n(&hv->epochs[d->domid], 0, __ATOMIC_RELEASE);
	hv->dom[d->domid] = NULL;
	free(d);
}

int sim_hv_domain_create(struct sim_hv *hv, unsigned int domid)
{
	struct sim_dom *d;
	char *p = NULL;
	int xfd = -1, rc;
	unsigned int i;

	if (domid == PV_SIM_DOMID_ANY) {
		for (domid = 1; domid < DOMID_LIMIT && hv->dom[domid]; domid++)
			;
		if (domid == DOMID_LIMIT)
			return -ENOSPC;
	}
	if (domid >= DOMID_LIMIT)
		return -EINVAL;
	if (hv->dom[domid])
		return -EEXIST;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->hv = hv;
	d->domid = (domid_t)domid;
	d->hc_fd = -1;
	for (i = 0; i < PV_SIM_MAX_PORTS; i++)
		d->ports[i] = (struct sim_port){ .state = PORT_FREE, .fd_ours = -1, .fd_theirs = -1 };
	hv->dom[domid] = d;
	if (asprintf(&d->dir, "%s/dom%u", hv->rundir, domid) < 0) {
		d->dir = NULL;
		rc = -ENOMEM;
		goto fail;
	}
	if (mkdir(d->dir, 0755) == 0)
		d->made_dir = 1;
	else if (errno != EEXIST) {
		rc = -errno;
		goto fail;
	}
	if (!(p = path_join(d->dir, "hypercall"))) {
		rc = -ENOMEM;
		goto fail;
	}
	rc = pv_listen_unix(p, SOCK_SEQPACKET, 0);
	free(p);
	if (rc < 0)
		goto fail;
	d->hc_fd = rc;
	d->made_hc = 1;
	if ((rc = pv_accept_add(&hv->listening, d->hc_fd, hc_accept, d)) < 0) {
		close(d->hc_fd);
		d->hc_fd = -1;
		goto fail;
	}
	if (!(p = path_join(d->dir, "socket"))) {
		rc = -ENOMEM;
		goto fail;
	}
	xfd = pv_listen_unix(p, SOCK_STREAM, 0);
	free(p);
	if (xfd < 0) {
		rc = xfd;
		goto fail;
	}
	d->made_xs = 1;
	if ((rc = pv_xsd_listen(hv->xsd, xfd, d->domid)) < 0)
		goto fail; /* the store closed xfd */
	if ((rc = pv_xsd_domain_introduce(hv->xsd, d->domid)) < 0 && rc != -EEXIST)
		goto fail;
	return (int)domid;
fail:
	dom_free(hv, d);
	return rc;
}

int sim_hv_domain_destroy(struct sim_hv *hv, unsigned int domid)
{
	struct sim_dom *d;

	if (domid == 0)
		return -EPERM;
	d = domid < DOMID_LIMIT ? hv->dom[domid] : NULL;
	if (!d)
		return -ESRCH;
	dom_free(hv, d);
	return 0;
}

/*
 * The epochs: the daemon's own writable mapping is made before F_SEAL_FUTURE_WRITE, after
 * which nobody (a grantee mapping the fd it got with HELLO) can map it writable or write it.
 */
static int epochs_new(struct sim_hv *hv)
{
	size_t sz = PV_SIM_EPOCH_ENTRIES * sizeof(uint32_t);

	hv->epoch_fd = memfd_create("pvio-sim-epochs", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (hv->epoch_fd < 0 || ftruncate(hv->epoch_fd, (off_t)sz) < 0)
		return -errno;
	hv->epochs = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_SHARED, hv->epoch_fd, 0);
	if (hv->epochs == MAP_FAILED) {
		hv->epochs = NULL;
		return -errno;
	}
	if (fcntl(hv->epoch_fd, F_ADD_SEALS,
		  F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_FUTURE_WRITE | F_SEAL_SEAL) < 0)
		return -errno;
	return 0;
}

static void epochs_free(struct sim_hv *hv)
{
	if (hv->epochs)
		munmap(hv->epochs, PV_SIM_EPOCH_ENTRIES * sizeof(uint32_t));
	if (hv->epoch_fd >= 0)
		close(hv->epoch_fd);
}

struct sim_hv *sim_hv_new(struct pv_loop *loop, struct pv_xsd *xsd, const char *rundir)
{
	struct sim_hv *hv = calloc(1, sizeof(*hv));
	int rc;

	if (!hv)
		return NULL;
	hv->loop = loop;
	hv->xsd = xsd;
	hv->epoch_fd = -1;
	hv->fd_budget = sim_hv_domu_fd_budget();
	hv->rundir = strdup(rundir);
	hv->listening.timer_fd = -1;
	if (!hv->rundir || epochs_new(hv) < 0 ||
	    pv_accept_init(&hv->listening, loop, ACCEPT_PAUSE_MS) < 0) {
		pv_accept_fini(&hv->listening);
		epochs_free(hv);
		free(hv->rundir);
		free(hv);
		return NULL;
	}
	rc = sim_hv_domain_create(hv, 0);
	if (rc < 0) {
		pv_accept_fini(&hv->listening);
		epochs_free(hv);
		free(hv->rundir);
		free(hv);
		errno = -rc;
		return NULL;
	}
	return hv;
}

void sim_hv_free(struct sim_hv *hv)
{
	unsigned int i;

	if (!hv)
		return;
	for (i = DOMID_LIMIT; i-- > 0;)
		if (hv->dom[i])
			dom_free(hv, hv->dom[i]);
	pv_accept_fini(&hv->listening);
	epochs_free(hv);
	free(hv->rundir);
	free(hv);
}
