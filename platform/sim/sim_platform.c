/* SPDX-License-Identifier: MIT */
/*
 * sim_platform.c - the platform interface over pvio-simd.
 *
 * Setup (grant-table registration, learning a granter's memory, event channel allocation)
 * is a request on the domain's hypercall socket, and so is a grant map and unmap (one
 * request per call, however many pages): the daemon checks and pins the entries in its
 * own memory and sets the in-use flags, and the page is then mmapped here from the
 * granter's memfd.  A grant copy checks the entry here, on the granter's table, which
 * this process can only read, and copies; a notify writes the peer's eventfd
 * (docs/sim-platform.md says where this differs from Xen).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <xenstore.h>

#include "pv_platform_impl.h"
#include "pv_ring.h"
#include "pv_sim.h"
#include "pv_sim_grant.h"
#include "sim_unix.h"

#define DEFAULT_MEM_MB      64
#define DEFAULT_GNT_ENTRIES 32768u
#define RESERVED_REFS       8u /* GNTTAB_NR_RESERVED_ENTRIES: the toolstack's */

/* Pages we shared (pv_gnt_share), so unshare can find their refs. */
struct share {
	struct share *next;
	void *addr;
	unsigned int count;
	uint16_t flags; /* what every entry of the share was granted with */
	grant_ref_t refs[];
};

/*
 * A granter whose memory and tables we have mapped.  The newest view of a domain comes
 * first in the list; an older one (the granter started over) lives on only while
 * mappings of it do.
 */
struct peer {
	struct peer *next;
	domid_t domid;
	int stale;          /* a newer view of the domain replaced it */
	unsigned int nmaps; /* struct mapping using it */
	uint32_t gen, pages, entries;
	int memfd;
	uint8_t *mem;
	const struct grant_entry_v1 *gnt; /* read-only: only the granter and the daemon write it */
};

/* One pv_gnt_map() result. */
struct mapping {
	struct mapping *next;
	void *addr;
	unsigned int count;
	int writable;
	struct peer *peer;
	uint32_t handle[]; /* the daemon's maptrack handle of each page */
};

/*
 * A port's mask lives here, not in the kernel: delivering a port masks it and unmasking
 * costs nothing, which is what the hot path does once per wake-up.  Only an event that
 * arrives while masked disarms the port's epoll entry (one epoll_ctl), so that a masked
 * port wakes nobody more than once, and the unmask re-arms it, which reports the event.
 */
struct port {
	int poll_fd, notify_fd;
	uint8_t masked;   /* delivered, not unmasked yet */
	uint8_t disarmed; /* an event came while masked: out of the epoll set until unmask */
};

struct sim {
	int hc;
	/* each domain's registration generation, written by the daemon only */
	const uint32_t *epochs;
	uint64_t hypercalls; /* round trips to the daemon, for tests */
	/* our own memory and grant table, registered on first share */
	int memfd, gntfd;
	uint8_t *mem;
	struct grant_entry_v1 *gnt;
	uint32_t pages, entries, next_page;
	uint8_t *page_used;
	grant_ref_t *ref_free;
	uint32_t nref_free;
	struct share *shares;
	struct peer *peers;
	struct mapping *maps;
	/* event channels */
	int epfd;
	struct port ports[PV_SIM_MAX_PORTS];
};

static struct sim *S(struct pv_platform *p)
{
	return p->priv;
}

/* One request, one reply.  Returns the daemon's answer (0 or -errno) or a socket error. */
static int hc_call(struct sim *s, struct pv_sim_msg *m, const int *fds, unsigned int nfds,
		   int *rfds, unsigned int *nrfds)
{
	unsigned int n = 0, i;
	ssize_t len;
	int rc, tmp[PV_SIM_MAX_FDS];

	if (nrfds)
		*nrfds = 0;
	s->hypercalls++;
	rc = pv_sim_send(s->hc, m, offsetof(struct pv_sim_msg, data) + m->ndata, fds, nfds);
	if (rc < 0)
		return rc;
	len = pv_sim_recv(s->hc, m, tmp, &n);
	if (len < (ssize_t)offsetof(struct pv_sim_msg, data)) {
		for (i = 0; i < n; i++)
			close(tmp[i]);
		return len < 0 ? (int)len : -EPROTO;
	}
	if (nrfds) {
		*nrfds = n;
		memcpy(rfds, tmp, n * sizeof(int));
	} else {
		for (i = 0; i < n; i++)
			close(tmp[i]);
	}
	return m->ret;
}

/* ---- open / close -------------------------------------------------------------------- */

static void sim_close(struct pv_platform *p)
{
	struct sim *s = S(p);
	unsigned int i;

	if (p->xs) {
		xs_close(p->xs);
		p->xs = NULL;
	}
	if (!s)
		return;
	while (s->maps)
		pv_platform_sim_ops.gnt_unmap(p, s->maps->addr, s->maps->count);
	while (s->shares) {
		struct share *sh = s->shares;

		s->shares = sh->next;
		for (i = 0; i < sh->count; i++)
			pv_sim_gnt_end_access(&s->gnt[sh->refs[i]]);
		free(sh);
	}
	while (s->peers) {
		struct peer *pe = s->peers;

		s->peers = pe->next;
		munmap(pe->mem, (size_t)pe->pages * PV_PAGE_SIZE);
		munmap((void *)pe->gnt, (size_t)pe->entries * sizeof(*pe->gnt));
		close(pe->memfd);
		free(pe);
	}
	for (i = 0; i < PV_SIM_MAX_PORTS; i++)
		if (s->ports[i].poll_fd >= 0) {
			close(s->ports[i].poll_fd);
			close(s->ports[i].notify_fd);
		}
	if (s->mem)
		munmap(s->mem, (size_t)s->pages * PV_PAGE_SIZE);
	if (s->gnt)
		munmap(s->gnt, (size_t)s->entries * sizeof(*s->gnt));
	if (s->epochs)
		munmap((void *)s->epochs, PV_SIM_EPOCH_ENTRIES * sizeof(*s->epochs));
	if (s->memfd >= 0)
		close(s->memfd);
	if (s->gntfd >= 0)
		close(s->gntfd);
	if (s->epfd >= 0)
		close(s->epfd);
	if (s->hc >= 0)
		close(s->hc); /* the daemon closes our ports and unpins what is left */
	free(s->page_used);
	free(s->ref_free);
	free(s);
	p->priv = NULL;
}

static int sim_open(struct pv_platform *p, const char *arg, const char **errmsg)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct pv_sim_msg m = { .op = PV_SIM_OP_HELLO, .a = { PV_SIM_PROTO_VERSION } };
	char rundir[256], *end, *xspath = NULL;
	const char *colon = strrchr(arg, ':');
	unsigned long domid;
	struct sim *s;
	int rc, fds[PV_SIM_MAX_FDS];
	unsigned int n, i;

	if (!colon || colon == arg || (size_t)(colon - arg) >= sizeof(rundir)) {
		*errmsg = "sim platform spec must be sim:<rundir>:<domid>";
		return -EINVAL;
	}
	memcpy(rundir, arg, (size_t)(colon - arg));
	rundir[colon - arg] = '\0';
	errno = 0;
	domid = strtoul(colon + 1, &end, 10);
	if (errno || end == colon + 1 || *end || domid >= 0x7FF0) {
		*errmsg = "sim platform: bad domain id";
		return -EINVAL;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->hc = s->memfd = s->gntfd = -1;
	for (i = 0; i < PV_SIM_MAX_PORTS; i++)
		s->ports[i].poll_fd = s->ports[i].notify_fd = -1;
	p->priv = s;
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (s->epfd < 0) {
		rc = -errno;
		goto fail;
	}
	if ((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/dom%lu/hypercall", rundir,
			     domid) >= sizeof(sa.sun_path)) {
		/* errmsg points at static text: this one names the rundir, per thread. */
		static __thread char msg[400];

		snprintf(msg, sizeof(msg), "sim platform: rundir %.*s is too long (%d bytes): "
			 "pvio-simd's sockets under it must fit a unix socket path of %zu bytes, "
			 "so at most %zu bytes", (int)(colon - arg), arg, (int)(colon - arg),
			 sizeof(sa.sun_path), (size_t)PV_SIM_RUNDIR_MAX);
		*errmsg = msg;
		rc = -ENAMETOOLONG;
		goto fail;
	}
	s->hc = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (s->hc < 0 || connect(s->hc, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		rc = -errno;
		*errmsg = "sim platform: cannot reach pvio-simd (is it running, and does the domain exist?)";
		if (rc == -ECONNREFUSED)
			rc = -ENOENT;
		goto fail;
	}
	rc = hc_call(s, &m, NULL, 0, fds, &n);
	if (rc < 0 || n != 1 || m.a[0] != domid || m.a[1] != PV_SIM_EPOCH_ENTRIES) {
		for (i = 0; i < n; i++)
			close(fds[i]);
		if (rc == 0)
			rc = -EPROTO;
		*errmsg = "sim platform: pvio-simd refused the connection";
		goto fail;
	}
	s->epochs = mmap(NULL, PV_SIM_EPOCH_ENTRIES * sizeof(*s->epochs), PROT_READ, MAP_SHARED,
			 fds[0], 0);
	close(fds[0]);
	if (s->epochs == MAP_FAILED) {
		s->epochs = NULL;
		rc = -ENOMEM;
		goto fail;
	}
	p->domid = (domid_t)domid;
	if (asprintf(&xspath, "%s/dom%lu/socket", rundir, domid) < 0) {
		rc = -ENOMEM;
		goto fail;
	}
	p->xs = pv_platform_xs_open(xspath);
	free(xspath);
	if (!p->xs) {
		rc = errno ? -errno : -EIO;
		*errmsg = "sim platform: cannot open the domain's xenstore socket";
		goto fail;
	}
	return 0;
fail:
	sim_close(p);
	return rc;
}

/* ---- granting ----------------------------------------------------------------------------- */

/* Undoes a registration attempt that failed: the next share starts from scratch. */
static void unregister_gnttab(struct sim *s)
{
	if (s->mem)
		munmap(s->mem, (size_t)s->pages * PV_PAGE_SIZE);
	if (s->gnt)
		munmap(s->gnt, (size_t)s->entries * sizeof(*s->gnt));
	if (s->memfd >= 0)
		close(s->memfd);
	if (s->gntfd >= 0)
		close(s->gntfd);
	free(s->page_used);
	free(s->ref_free);
	s->mem = NULL;
	s->gnt = NULL;
	s->memfd = s->gntfd = -1;
	s->page_used = NULL;
	s->ref_free = NULL;
	s->pages = s->entries = s->next_page = s->nref_free = 0;
}

static int register_gnttab_once(struct sim *s)
{
	struct pv_sim_msg m = { .op = PV_SIM_OP_REGISTER_GNTTAB };
	const char *e = getenv("PVIO_SIM_MEM_MB");
	unsigned long mb = e ? strtoul(e, NULL, 10) : DEFAULT_MEM_MB;
	int fds[2], rc;
	uint32_t i;

	if (mb == 0 || mb > (PV_SIM_MAX_MEM_PAGES / 256))
		mb = DEFAULT_MEM_MB;
	s->pages = (uint32_t)(mb * 256);
	s->entries = DEFAULT_GNT_ENTRIES;
	s->memfd = memfd_create("pvio-sim-memory", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	s->gntfd = memfd_create("pvio-sim-gnttab", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (s->memfd < 0 || s->gntfd < 0 ||
	    ftruncate(s->memfd, (off_t)s->pages * PV_PAGE_SIZE) < 0 ||
	    ftruncate(s->gntfd, (off_t)(s->entries * sizeof(*s->gnt))) < 0 ||
	    fcntl(s->memfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) < 0 ||
	    fcntl(s->gntfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) < 0)
		return -errno;
	s->mem = mmap(NULL, (size_t)s->pages * PV_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		      s->memfd, 0);
	s->gnt = mmap(NULL, s->entries * sizeof(*s->gnt), PROT_READ | PROT_WRITE, MAP_SHARED,
		      s->gntfd, 0);
	s->page_used = calloc(s->pages, 1);
	s->ref_free = malloc(s->entries * sizeof(*s->ref_free));
	if (s->mem == MAP_FAILED || s->gnt == MAP_FAILED || !s->page_used || !s->ref_free) {
		if (s->mem == MAP_FAILED)
			s->mem = NULL;
		if (s->gnt == MAP_FAILED)
			s->gnt = NULL;
		return -ENOMEM;
	}
	for (i = s->entries; i-- > RESERVED_REFS;)
		s->ref_free[s->nref_free++] = i;
	m.a[0] = s->pages;
	m.a[1] = s->entries;
	fds[0] = s->memfd;
	fds[1] = s->gntfd;
	rc = hc_call(s, &m, fds, 2, NULL, NULL);
	return rc;
}

/*
 * Creates our memory and grant table and registers them with the daemon, all or nothing:
 * a refusal (another process of the domain has a table: -EBUSY) leaves nothing behind,
 * so that a later share tries again rather than grant from a table nobody can see.
 */
static int register_gnttab(struct sim *s)
{
	int rc = register_gnttab_once(s);

	if (rc < 0)
		unregister_gnttab(s);
	return rc;
}

/* First fit from a moving hint: shares are setup, and mostly of one page. */
static long alloc_pages(struct sim *s, unsigned int count)
{
	uint32_t tried, start = s->next_page, i;

	for (tried = 0; tried < s->pages; tried++) {
		uint32_t first = (start + tried) % s->pages;

		if (first + count > s->pages)
			continue;
		for (i = 0; i < count && !s->page_used[first + i]; i++)
			;
		if (i == count) {
			memset(s->page_used + first, 1, count);
			s->next_page = (first + count) % s->pages;
			return first;
		}
		tried += i;
	}
	return -ENOMEM;
}

static int sim_gnt_share(struct pv_platform *p, domid_t peer, unsigned int count, int writable,
			 grant_ref_t *refs, void **addr)
{
	struct sim *s = S(p);
	struct share *sh;
	long first;
	unsigned int i;
	int rc;

	if (!s->gnt && (rc = register_gnttab(s)) < 0)
		return rc;
	if (count > s->nref_free)
		return -ENOSPC;
	first = alloc_pages(s, count);
	if (first < 0)
		return (int)first;
	sh = malloc(sizeof(*sh) + count * sizeof(grant_ref_t));
	if (!sh) {
		memset(s->page_used + first, 0, count);
		return -ENOMEM;
	}
	sh->addr = s->mem + (size_t)first * PV_PAGE_SIZE;
	sh->count = count;
	sh->flags = (uint16_t)(GTF_permit_access | (writable ? 0 : GTF_readonly));
	memset(sh->addr, 0, (size_t)count * PV_PAGE_SIZE);
	for (i = 0; i < count; i++) {
		grant_ref_t ref = s->ref_free[--s->nref_free];
		struct grant_entry_v1 *e = &s->gnt[ref];

		e->domid = peer;
		e->frame = (uint32_t)first + i;
		/* The grantee may act as soon as flags are visible: fill the rest first. */
		__atomic_store_n(&e->flags, sh->flags, __ATOMIC_RELEASE);
		sh->refs[i] = refs[i] = ref;
	}
	sh->next = s->shares;
	s->shares = sh;
	*addr = sh->addr;
	return 0;
}

static int sim_gnt_unshare(struct pv_platform *p, void *addr, unsigned int count)
{
	struct sim *s = S(p);
	struct share **pp, *sh;
	unsigned int i, j;

	for (pp = &s->shares; *pp && (*pp)->addr != addr; pp = &(*pp)->next)
		;
	sh = *pp;
	if (!sh || sh->count != count)
		return -EINVAL;
	for (i = 0; i < count; i++)
		if (pv_sim_gnt_end_access(&s->gnt[sh->refs[i]]) < 0)
			break;
	if (i < count) {
		/* Someone has one mapped: put back what we ended, read-only included. */
		for (j = 0; j < i; j++) {
			struct grant_entry_v1 *e = &s->gnt[sh->refs[j]];

			__atomic_store_n(&e->flags, sh->flags, __ATOMIC_RELEASE);
		}
		return -EBUSY;
	}
	for (i = 0; i < count; i++)
		s->ref_free[s->nref_free++] = sh->refs[i];
	memset(s->page_used + ((uint8_t *)addr - s->mem) / PV_PAGE_SIZE, 0, count);
	*pp = sh->next;
	free(sh);
	return 0;
}

/* ---- mapping and copying ------------------------------------------------------------------ */

static void peer_free(struct peer *pe)
{
	if (pe->mem && pe->mem != MAP_FAILED)
		munmap(pe->mem, (size_t)pe->pages * PV_PAGE_SIZE);
	if (pe->gnt && (const void *)pe->gnt != MAP_FAILED)
		munmap((void *)pe->gnt, (size_t)pe->entries * sizeof(*pe->gnt));
	if (pe->memfd >= 0)
		close(pe->memfd);
	free(pe);
}

static uint32_t epoch(const struct sim *s, domid_t domid)
{
	return domid < PV_SIM_EPOCH_ENTRIES ? __atomic_load_n(&s->epochs[domid], __ATOMIC_ACQUIRE)
					    : 0;
}

/*
 * Marks the views of domid other than keep stale (keep NULL: marks nothing), and frees
 * every stale view that nothing maps any more.
 */
static void peers_trim(struct sim *s, domid_t domid, const struct peer *keep)
{
	struct peer **pp = &s->peers, *pe;

	while ((pe = *pp)) {
		if (keep && pe != keep && pe->domid == domid)
			pe->stale = 1;
		if (pe->stale && !pe->nmaps) {
			*pp = pe->next;
			peer_free(pe);
		} else {
			pp = &pe->next;
		}
	}
}

/*
 * The granter's memory and tables: our newest view of it while the daemon's epoch for
 * the domain still names that view's registration, else the daemon's answer.  A failed
 * map or copy on a current view is a bad grant, not a stale view: it costs no round trip.
 */
static int get_peer(struct sim *s, domid_t domid, struct peer **out)
{
	struct pv_sim_msg m = { .op = PV_SIM_OP_GET_PEER, .a = { domid } };
	uint32_t ep = epoch(s, domid);
	struct peer *pe, *cur;
	int fds[PV_SIM_MAX_FDS], rc;
	unsigned int n, i;

	for (cur = s->peers; cur && (cur->domid != domid || cur->stale); cur = cur->next)
		;
	if (cur && (cur->gen == ep || ep == 0)) {
		/* With ep 0 the granter is gone: the daemon ended its unused grants, and refuses
		 * maps of the old registration (ESTALE). */
		*out = cur;
		return 0;
	}
	rc = hc_call(s, &m, NULL, 0, fds, &n); /* ep 0, nothing cached: ESRCH or ENOENT */
	if (rc < 0 || n != 2 || m.a[0] == 0 || m.a[0] > PV_SIM_MAX_MEM_PAGES || m.a[1] == 0 ||
	    m.a[1] > PV_SIM_MAX_GNT_ENTRIES) {
		if (rc == 0) {
			for (i = 0; i < n; i++)
				close(fds[i]);
			rc = -EPROTO;
		}
		return rc;
	}
	if (cur && cur->gen == m.a[2]) {
		for (i = 0; i < n; i++)
			close(fds[i]);
		*out = cur;
		return 0;
	}
	pe = calloc(1, sizeof(*pe));
	if (!pe) {
		for (i = 0; i < n; i++)
			close(fds[i]);
		return -ENOMEM;
	}
	pe->domid = domid;
	pe->pages = (uint32_t)m.a[0];
	pe->entries = (uint32_t)m.a[1];
	pe->gen = (uint32_t)m.a[2];
	pe->memfd = fds[0];
	pe->mem = mmap(NULL, (size_t)pe->pages * PV_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		       fds[0], 0);
	pe->gnt = mmap(NULL, pe->entries * sizeof(*pe->gnt), PROT_READ, MAP_SHARED, fds[1], 0);
	close(fds[1]);
	if (pe->mem == MAP_FAILED || (const void *)pe->gnt == MAP_FAILED) {
		peer_free(pe);
		return -ENOMEM;
	}
	pe->next = s->peers;
	s->peers = pe;
	peers_trim(s, domid, pe);
	*out = pe;
	return 0;
}

/* Did a map or copy on view pe fail because the granter has started over since? */
static int peer_outdated(const struct sim *s, const struct peer *pe)
{
	uint32_t ep = epoch(s, pe->domid);

	return ep != 0 && ep != pe->gen;
}

/*
 * Could domain me use entry ref of view pe (for writing, if writable)?  The daemon
 * decides for a map; this is the check before a copy, and the one that spares a map the
 * round trip when its answer is certain to be no.  Returns 0 and *frame, -EINVAL (no such
 * entry, frame outside the granter's memory) or -EACCES.
 */
static int entry_check(const struct peer *pe, grant_ref_t ref, domid_t me, int writable,
		       uint32_t *frame)
{
	uint32_t w, fr;

	if (ref >= pe->entries)
		return -EINVAL;
	w = __atomic_load_n((const uint32_t *)(const void *)&pe->gnt[ref], __ATOMIC_ACQUIRE);
	if (pv_sim_gnt_allows(w, me, writable) < 0)
		return -EACCES;
	fr = __atomic_load_n(&pe->gnt[ref].frame, __ATOMIC_ACQUIRE);
	if (fr >= pe->pages)
		return -EINVAL;
	*frame = fr;
	return 0;
}

/* Releases maptrack handles in the daemon, a batch per request.  0 or -errno. */
static int hc_unmap(struct sim *s, const uint32_t *handles, unsigned int count)
{
	struct pv_sim_msg m = { .op = PV_SIM_OP_GNT_UNMAP };
	unsigned int done, n;
	int rc = 0, r;

	for (done = 0; done < count; done += n) {
		n = count - done < PV_SIM_UNMAP_BATCH ? count - done : PV_SIM_UNMAP_BATCH;
		m.op = PV_SIM_OP_GNT_UNMAP;
		m.a[0] = n;
		m.ndata = n * sizeof(uint32_t);
		memcpy(m.data, handles + done, m.ndata);
		if ((r = hc_call(s, &m, NULL, 0, NULL, NULL)) < 0 && !rc)
			rc = r;
	}
	return rc;
}

/*
 * Asks the daemon to pin every ref (it sets the in-use flags) and maps the pages, or
 * does nothing.  Returns 0, -EACCES, -EINVAL, -ESTALE (pe is not the granter's current
 * table), -ENOSPC, -EBUSY or -ENOMEM.
 */
static int map_once(struct sim *s, domid_t me, struct peer *pe, unsigned int count,
		    const grant_ref_t *refs, int writable, uint8_t **addr, uint32_t *handle)
{
	int prot = PROT_READ | (writable ? PROT_WRITE : 0);
	struct pv_sim_msg m;
	uint8_t *base;
	unsigned int i, done, n, run;
	uint32_t frame;
	int rc = 0;

	/* A map the daemon would refuse costs no round trip (a hostile request, 256 of them). */
	for (i = 0; i < count; i++)
		if ((rc = entry_check(pe, refs[i], me, writable, &frame)) < 0)
			return rc;
	/* Reserve the whole range first so that the pages land next to each other. */
	base = mmap(NULL, (size_t)count * PV_PAGE_SIZE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED)
		return -ENOMEM;
	for (done = 0; done < count && rc == 0; done += n) {
		struct pv_sim_map_out out[PV_SIM_MAP_BATCH];

		n = count - done < PV_SIM_MAP_BATCH ? count - done : PV_SIM_MAP_BATCH;
		m = (struct pv_sim_msg){ .op = PV_SIM_OP_GNT_MAP,
					 .a = { pe->domid, pe->gen, n, !!writable },
					 .ndata = (uint32_t)(n * sizeof(uint32_t)) };
		memcpy(m.data, refs + done, m.ndata);
		rc = hc_call(s, &m, NULL, 0, NULL, NULL);
		if (rc < 0)
			break;
		if (m.ndata != n * sizeof(out[0])) {
			rc = -EPROTO;
			break;
		}
		memcpy(out, m.data, m.ndata);
		for (i = 0; i < n; i++)
			handle[done + i] = out[i].handle;
		/* One mmap per run of consecutive frames (a multi-page share is one run). */
		for (i = 0; i < n && rc == 0; i += run) {
			for (run = 1; i + run < n && out[i + run].frame == out[i].frame + run; run++)
				;
			if (out[i].frame >= pe->pages || run > pe->pages - out[i].frame ||
			    mmap(base + (size_t)(done + i) * PV_PAGE_SIZE, (size_t)run * PV_PAGE_SIZE,
				 prot, MAP_SHARED | MAP_FIXED, pe->memfd,
				 (off_t)out[i].frame * PV_PAGE_SIZE) == MAP_FAILED)
				rc = out[i].frame >= pe->pages ? -EPROTO : -ENOMEM;
		}
		if (rc < 0) {
			done += n; /* these are pinned too: released below */
			n = 0;
		}
	}
	if (rc < 0) {
		/* Unmap before unpinning: once unpinned the granter may reuse the pages. */
		munmap(base, (size_t)count * PV_PAGE_SIZE);
		if (done)
			hc_unmap(s, handle, done);
		return rc;
	}
	*addr = base;
	return 0;
}

/*
 * map_once(), and once more should the granter have started over with a new table since
 * we looked.  *pe: the granter's table the pages come from.
 */
static int map_fresh(struct sim *s, domid_t me, domid_t peer, unsigned int count,
		     const grant_ref_t *refs, int writable, uint8_t **addr, uint32_t *handle,
		     struct peer **pe)
{
	int rc;

	rc = get_peer(s, peer, pe);
	if (rc < 0)
		return rc;
	rc = map_once(s, me, *pe, count, refs, writable, addr, handle);
	if ((rc == -EACCES || rc == -EINVAL || rc == -ESTALE) && peer_outdated(s, *pe)) {
		struct peer *fresh;

		if (get_peer(s, peer, &fresh) == 0 && fresh != *pe) {
			*pe = fresh;
			rc = map_once(s, me, fresh, count, refs, writable, addr, handle);
		}
	}
	return rc == -ESTALE ? -EACCES : rc; /* the granter is gone: its grants with it */
}

static void mapping_link(struct sim *s, struct mapping *mp, uint8_t *addr, unsigned int count,
			 int writable, struct peer *pe)
{
	mp->addr = addr;
	mp->count = count;
	mp->writable = writable;
	mp->peer = pe;
	pe->nmaps++;
	mp->next = s->maps;
	s->maps = mp;
}

static int sim_gnt_map(struct pv_platform *p, domid_t peer, unsigned int count,
		       const grant_ref_t *refs, int writable, void **addr)
{
	struct sim *s = S(p);
	struct mapping *mp;
	struct peer *pe;
	uint8_t *base;
	int rc;

	if (count == 0)
		return -EINVAL;
	mp = malloc(sizeof(*mp) + count * sizeof(uint32_t));
	if (!mp)
		return -ENOMEM;
	rc = map_fresh(s, p->domid, peer, count, refs, writable, &base, mp->handle, &pe);
	if (rc < 0) {
		free(mp);
		return rc;
	}
	mapping_link(s, mp, base, count, writable, pe);
	*addr = base;
	return 0;
}

/*
 * Every mapping's pages in one reservation and one GNT_MAP per PV_SIM_MAP_BATCH refs: a
 * back end that maps each request's pages pays one round trip per batch of requests, not
 * one per request.  Each piece is then a mapping of its own, as sim_gnt_map() makes them.
 */
static int sim_gnt_map_batch(struct pv_platform *p, domid_t peer, unsigned int n,
			     const unsigned int *counts, const grant_ref_t *refs, int writable,
			     void **addrs)
{
	struct sim *s = S(p);
	struct mapping *stack_m[32] = { 0 }, **mps = stack_m;
	uint32_t stack_h[PV_SIM_MAP_BATCH], *h = stack_h; /* 1 KiB: less than a round trip */
	unsigned int i, total = 0, at;
	struct peer *pe;
	uint8_t *base;
	int rc = 0;

	for (i = 0; i < n; i++) {
		if (!counts[i] || total + counts[i] < total)
			return -EINVAL;
		total += counts[i];
	}
	if (n > sizeof(stack_m) / sizeof(stack_m[0]) && !(mps = calloc(n, sizeof(*mps))))
		return -ENOMEM;
	if (total > PV_SIM_MAP_BATCH && !(h = malloc((size_t)total * sizeof(*h))))
		rc = -ENOMEM;
	for (i = 0; i < n && rc == 0; i++)
		if (!(mps[i] = malloc(sizeof(*mps[i]) + counts[i] * sizeof(uint32_t))))
			rc = -ENOMEM;
	if (rc == 0)
		rc = map_fresh(s, p->domid, peer, total, refs, writable, &base, h, &pe);
	if (rc == 0) {
		for (i = 0, at = 0; i < n; at += counts[i++]) {
			memcpy(mps[i]->handle, h + at, counts[i] * sizeof(*h));
			mapping_link(s, mps[i], base + (size_t)at * PV_PAGE_SIZE, counts[i], writable, pe);
			addrs[i] = mps[i]->addr;
			mps[i] = NULL;
		}
	}
	for (i = 0; i < n; i++)
		free(mps[i]);
	if (h != stack_h)
		free(h);
	if (mps != stack_m)
		free(mps);
	return rc;
}

static int sim_gnt_unmap(struct pv_platform *p, void *addr, unsigned int count)
{
	struct sim *s = S(p);
	struct mapping **pp, *mp;
	int rc;

	for (pp = &s->maps; *pp && (*pp)->addr != addr; pp = &(*pp)->next)
		;
	mp = *pp;
	if (!mp || mp->count != count)
		return -EINVAL;
	/* Unmap before unpinning: once unpinned the granter may reuse the page. */
	munmap(mp->addr, (size_t)count * PV_PAGE_SIZE);
	/* Should the daemon be unreachable, it releases the pins when it sees us close. */
	rc = hc_unmap(s, mp->handle, count);
	*pp = mp->next;
	if (!--mp->peer->nmaps && mp->peer->stale)
		peers_trim(s, mp->peer->domid, NULL);
	free(mp);
	return rc == -EINVAL ? -EPROTO : 0;
}

_Static_assert(PV_SIM_UNMAP_BATCH == PV_GNT_UNMAP_BATCH_PAGES, "one round trip per batch");

/*
 * Many mappings, one GNT_UNMAP for all their handles (per PV_SIM_UNMAP_BATCH): a back end
 * that unmaps each request's pages at completion pays one round trip per batch of
 * requests, not one per request.  Every mapping is found first, so a bad batch changes
 * nothing.
 */
static int sim_gnt_unmap_batch(struct pv_platform *p, void *const *addrs,
			       const unsigned int *counts, unsigned int n)
{
	struct sim *s = S(p);
	struct mapping *stack_m[32], **mps = stack_m, **pp, *mp;
	uint32_t stack_h[PV_SIM_UNMAP_BATCH] = { 0 }, *h = stack_h; /* 2 KiB: less than a round trip */
	unsigned int i, j, total = 0;
	int rc = 0;

	if (n > sizeof(stack_m) / sizeof(stack_m[0]) && !(mps = malloc(n * sizeof(*mps))))
		return -ENOMEM;
	for (i = 0; i < n && rc == 0; i++) {
		for (j = 0; j < i && addrs[j] != addrs[i]; j++)
			;
		for (mp = s->maps; mp && mp->addr != addrs[i]; mp = mp->next)
			;
		if (j < i || !mp || mp->count != counts[i] || total + counts[i] < total)
			rc = -EINVAL;
		else
			total += counts[i];
		mps[i] = mp;
	}
	if (rc == 0 && total > PV_SIM_UNMAP_BATCH && !(h = malloc((size_t)total * sizeof(*h))))
		rc = -ENOMEM;
	if (rc < 0) {
		if (mps != stack_m)
			free(mps);
		return rc;
	}
	for (i = 0, total = 0; i < n; i++) {
		/* Unmap before unpinning: once unpinned the granter may reuse the page. */
		munmap(mps[i]->addr, (size_t)mps[i]->count * PV_PAGE_SIZE);
		memcpy(h + total, mps[i]->handle, mps[i]->count * sizeof(*h));
		total += mps[i]->count;
		mps[i]->addr = NULL; /* marks it for the unlinking pass below */
	}
	rc = hc_unmap(s, h, total);
	for (pp = &s->maps; *pp;) {
		mp = *pp;
		if (mp->addr) {
			pp = &mp->next;
			continue;
		}
		*pp = mp->next;
		if (!--mp->peer->nmaps && mp->peer->stale)
			peers_trim(s, mp->peer->domid, NULL);
		free(mp);
	}
	if (h != stack_h)
		free(h);
	if (mps != stack_m)
		free(mps);
	return rc == -EINVAL ? -EPROTO : 0;
}

/*
 * One segment on view pe.  Returns 0, -EINVAL or -EACCES.  Unlike Xen, nothing marks the
 * entry in use during the copy (that takes the daemon): the entry is checked before and
 * after, so a grant the granter ended meanwhile fails the segment (docs/sim-platform.md).
 */
static int copy_one(domid_t me, struct peer *pe, struct pv_gnt_copy_seg *g)
{
	uint32_t frame, again;
	uint8_t *page;
	int rc;

	rc = entry_check(pe, g->ref, me, g->to_granted, &frame);
	if (rc < 0)
		return rc;
	page = pe->mem + (size_t)frame * PV_PAGE_SIZE + g->offset;
	if (g->to_granted)
		memcpy(page, g->local, g->len);
	else
		memcpy(g->local, page, g->len);
	if (entry_check(pe, g->ref, me, g->to_granted, &again) < 0 || again != frame)
		return -EACCES;
	return 0;
}

/*
 * A batch asks the daemon at most once per granter whose view is missing or stale: a
 * granter it could not reach fails the batch's other segments for it without asking
 * again (a hostile request of 256 bad segments is 256 local checks, not 256 round trips).
 */
static int sim_gnt_copy(struct pv_platform *p, struct pv_gnt_copy_seg *segs, unsigned int count)
{
	struct sim *s = S(p);
	unsigned int i;
	int failed = 0, bad_rc = 0;
	uint32_t bad_dom = UINT32_MAX;

	for (i = 0; i < count; i++) {
		struct pv_gnt_copy_seg *g = &segs[i];
		struct peer *pe;
		int rc;

		if (!g->local || (unsigned int)g->offset + g->len > PV_PAGE_SIZE) {
			rc = -EINVAL;
		} else if (g->domid == bad_dom) {
			rc = bad_rc;
		} else if ((rc = get_peer(s, g->domid, &pe)) < 0) {
			bad_dom = g->domid;
			bad_rc = rc;
		} else {
			rc = copy_one(p->domid, pe, g);
			if ((rc == -EACCES || rc == -EINVAL) && peer_outdated(s, pe) &&
			    get_peer(s, g->domid, &pe) == 0)
				rc = copy_one(p->domid, pe, g);
		}
		g->status = (int16_t)rc;
		failed |= rc < 0;
	}
	return failed ? -EIO : 0;
}

/* ---- event channels ------------------------------------------------------------------------ */

static int port_install(struct sim *s, evtchn_port_t port, const int *fds)
{
	/*
	 * Edge-triggered: reported once per notification (every eventfd write wakes its
	 * waiters), so the count need not be read back to make the next one an event.
	 */
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET, .data.u32 = port };

	if (port == 0 || port >= PV_SIM_MAX_PORTS || s->ports[port].poll_fd >= 0 ||
	    epoll_ctl(s->epfd, EPOLL_CTL_ADD, fds[0], &ev) < 0) {
		close(fds[0]);
		close(fds[1]);
		return -EPROTO;
	}
	s->ports[port].poll_fd = fds[0];
	s->ports[port].notify_fd = fds[1];
	s->ports[port].masked = s->ports[port].disarmed = 0;
	return 0;
}

static int evtchn_setup(struct pv_platform *p, struct pv_sim_msg *m, evtchn_port_t *port)
{
	struct sim *s = S(p);
	int fds[PV_SIM_MAX_FDS], rc;
	unsigned int n, i;

	rc = hc_call(s, m, NULL, 0, fds, &n);
	if (rc == 0 && n != 2)
		rc = -EPROTO;
	if (rc < 0) {
		for (i = 0; i < n; i++)
			close(fds[i]);
		return rc;
	}
	rc = port_install(s, (evtchn_port_t)m->a[0], fds);
	if (rc == 0)
		*port = (evtchn_port_t)m->a[0];
	return rc;
}

static int sim_evtchn_alloc_unbound(struct pv_platform *p, domid_t remote, evtchn_port_t *port)
{
	struct pv_sim_msg m = { .op = PV_SIM_OP_EVTCHN_ALLOC, .a = { remote } };

	return evtchn_setup(p, &m, port);
}

static int sim_evtchn_bind_interdomain(struct pv_platform *p, domid_t remote,
				       evtchn_port_t remote_port, evtchn_port_t *local)
{
	struct pv_sim_msg m = { .op = PV_SIM_OP_EVTCHN_BIND, .a = { remote, remote_port } };

	return evtchn_setup(p, &m, local);
}

static int sim_evtchn_unbind(struct pv_platform *p, evtchn_port_t port)
{
	struct sim *s = S(p);
	struct pv_sim_msg m = { .op = PV_SIM_OP_EVTCHN_CLOSE, .a = { port } };

	if (port >= PV_SIM_MAX_PORTS || s->ports[port].poll_fd < 0)
		return -EINVAL;
	epoll_ctl(s->epfd, EPOLL_CTL_DEL, s->ports[port].poll_fd, NULL);
	close(s->ports[port].poll_fd);
	close(s->ports[port].notify_fd);
	s->ports[port].poll_fd = s->ports[port].notify_fd = -1;
	return hc_call(s, &m, NULL, 0, NULL, NULL);
}

static int sim_evtchn_notify(struct pv_platform *p, evtchn_port_t port)
{
	struct sim *s = S(p);
	uint64_t one = 1;

	if (port >= PV_SIM_MAX_PORTS || s->ports[port].notify_fd < 0)
		return -EINVAL;
	/* A full counter (2^64 - 2 events nobody read) still leaves the event pending. */
	if (write(s->ports[port].notify_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		return -errno;
	return 0;
}

static int sim_evtchn_fd(struct pv_platform *p)
{
	return S(p)->epfd;
}

/*
 * One reported port: delivered (and masked) if it was not masked, else taken out of the
 * epoll set until its unmask (an event while masked stays pending, as on Xen).  Returns
 * 1 if delivered.
 */
static int port_fired(struct sim *s, uint32_t port)
{
	struct port *pt;
	struct epoll_event off = { .events = 0, .data.u32 = port };

	if (port >= PV_SIM_MAX_PORTS || s->ports[port].poll_fd < 0)
		return 0;
	pt = &s->ports[port];
	if (!pt->masked) {
		pt->masked = 1;
		return 1;
	}
	if (!pt->disarmed && epoll_ctl(s->epfd, EPOLL_CTL_MOD, pt->poll_fd, &off) == 0)
		pt->disarmed = 1;
	return 0;
}

static int sim_evtchn_pending(struct pv_platform *p)
{
	struct sim *s = S(p);
	struct epoll_event ev;
	int n;

	for (;;) {
		n = epoll_wait(s->epfd, &ev, 1, 0);
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EAGAIN;
		if (port_fired(s, ev.data.u32))
			return (int)ev.data.u32;
	}
}

/* One epoll_wait for every pending port (a masked one reported is left out). */
static int sim_evtchn_pending_batch(struct pv_platform *p, evtchn_port_t *ports,
				    unsigned int max)
{
	struct sim *s = S(p);
	struct epoll_event ev[64];
	unsigned int i, k = 0;
	int n;

	n = epoll_wait(s->epfd, ev, max < 64 ? (int)max : 64, 0);
	if (n < 0)
		return -errno;
	for (i = 0; i < (unsigned int)n; i++)
		if (port_fired(s, ev[i].data.u32))
			ports[k++] = ev[i].data.u32;
	return (int)k;
}

static int sim_evtchn_unmask(struct pv_platform *p, evtchn_port_t port)
{
	struct sim *s = S(p);
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET, .data.u32 = port };
	struct port *pt;

	if (port >= PV_SIM_MAX_PORTS || s->ports[port].poll_fd < 0)
		return -EINVAL;
	pt = &s->ports[port];
	pt->masked = 0;
	if (!pt->disarmed)
		return 0;
	/* Back in the set; the count the event left makes it report at once. */
	pt->disarmed = 0;
	return epoll_ctl(s->epfd, EPOLL_CTL_MOD, pt->poll_fd, &ev) < 0 ? -errno : 0;
}

/* ---- domains ------------------------------------------------------------------------------ */

static int sim_domain_info(struct pv_platform *p, domid_t domid, struct pv_dominfo *info)
{
	struct pv_sim_msg m = { .op = PV_SIM_OP_DOMAIN_INFO, .a = { domid } };
	int rc = hc_call(S(p), &m, NULL, 0, NULL, NULL);

	if (rc < 0)
		return rc;
	info->domid = domid;
	info->dying = !!(m.a[0] & PV_SIM_DOM_DYING);
	info->shutdown = 0;
	return 0;
}

/* The sim state of p, or NULL if p is not a sim platform (the daemon checks privilege). */
static struct sim *sim_of(struct pv_platform *p)
{
	return p && p->ops == &pv_platform_sim_ops ? S(p) : NULL;
}

uint64_t pv_sim_hypercalls(struct pv_platform *p)
{
	struct sim *s = sim_of(p);

	return s ? s->hypercalls : 0;
}

int pv_sim_stats(struct pv_platform *p, const char **names, uint64_t *values, unsigned int max)
{
	static const char *const n[] = {
		"refused-connections", "accept-paused", "over-fd-budget", "bad-maps",
		"bad-unmaps", "stale-maps", "maptrack-full", "peer-refused", "pages-mapped",
		"unmap-calls",
	};
	struct pv_sim_msg m = { .op = PV_SIM_OP_STATS };
	struct pv_sim_stats st;
	uint64_t v[sizeof(n) / sizeof(n[0])];
	struct sim *s = sim_of(p);
	unsigned int i;
	int rc;

	_Static_assert(sizeof(st) == sizeof(v), "a name for every counter");
	if (!s)
		return -EINVAL;
	rc = hc_call(s, &m, NULL, 0, NULL, NULL);
	if (rc < 0)
		return rc;
	if (m.ndata != sizeof(st))
		return -EPROTO;
	memcpy(v, m.data, sizeof(v));
	for (i = 0; i < max && i < sizeof(n) / sizeof(n[0]); i++) {
		names[i] = n[i];
		values[i] = v[i];
	}
	return (int)(sizeof(n) / sizeof(n[0]));
}

int pv_sim_domain_create(struct pv_platform *p, unsigned int want, domid_t *got)
{
	struct pv_sim_msg m = { .op = PV_SIM_OP_DOMAIN_CREATE, .a = { want } };
	struct sim *s = sim_of(p);
	int rc;

	if (!s)
		return -EINVAL;
	rc = hc_call(s, &m, NULL, 0, NULL, NULL);
	if (rc == 0)
		*got = (domid_t)m.a[0];
	return rc;
}

int pv_sim_domain_destroy(struct pv_platform *p, domid_t domid)
{
	struct pv_sim_msg m = { .op = PV_SIM_OP_DOMAIN_DESTROY, .a = { domid } };
	struct sim *s = sim_of(p);

	return s ? hc_call(s, &m, NULL, 0, NULL, NULL) : -EINVAL;
}

int pv_sim_domain_list(struct pv_platform *p, domid_t *ids, unsigned int max)
{
	struct pv_sim_msg m = { .op = PV_SIM_OP_DOMAIN_LIST };
	struct sim *s = sim_of(p);
	unsigned int i, n;
	int rc;

	if (!s)
		return -EINVAL;
	rc = hc_call(s, &m, NULL, 0, NULL, NULL);
	if (rc < 0)
		return rc;
	n = (unsigned int)m.a[0];
	if (n > m.ndata / sizeof(uint16_t))
		return -EPROTO;
	for (i = 0; i < n && i < max; i++) {
		uint16_t id;

		memcpy(&id, m.data + i * sizeof(id), sizeof(id));
		ids[i] = id;
	}
	return (int)n;
}

const struct pv_platform_ops pv_platform_sim_ops = {
	.name = "sim",
	.open = sim_open,
	.close = sim_close,
	.gnt_share = sim_gnt_share,
	.gnt_unshare = sim_gnt_unshare,
	.gnt_map = sim_gnt_map,
	.gnt_map_batch = sim_gnt_map_batch,
	.gnt_unmap = sim_gnt_unmap,
	.gnt_unmap_batch = sim_gnt_unmap_batch,
	.gnt_copy = sim_gnt_copy,
	.evtchn_alloc_unbound = sim_evtchn_alloc_unbound,
	.evtchn_bind_interdomain = sim_evtchn_bind_interdomain,
	.evtchn_unbind = sim_evtchn_unbind,
	.evtchn_notify = sim_evtchn_notify,
	.evtchn_fd = sim_evtchn_fd,
	.evtchn_pending = sim_evtchn_pending,
	.evtchn_pending_batch = sim_evtchn_pending_batch,
	.evtchn_unmask = sim_evtchn_unmask,
	.domain_info = sim_domain_info,
};
