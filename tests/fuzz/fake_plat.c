/* SPDX-License-Identifier: MIT */
/* fake_plat.c - pv_platform.h in this process, for the fuzzers; see fake_plat.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fake_plat.h"
#include "pv_platform_each.h"
#include "fuzz.h"

#define PAGE       4096u
#define MAX_NODES  512
#define MAX_WATCH  64
#define MAX_EVENTS 1024
#define MAX_MAPS   1024
#define MAX_MAPPED 4096u /* pages mapped at once: the grant-mapping budget (maptrack) */
#define MAX_PORTS  256

struct pv_platform {
	domid_t domid;
};

struct node {
	char *path;
	char *val;
	size_t len;
};

struct watch {
	char *path, *token;
};

struct event {
	char *path, *token;
};

struct mapping {
	uint8_t *addr;
	unsigned int count;
	uint16_t pages[256 + 16];
};

uint8_t *fp_mem;
uint8_t fp_grant[FP_PAGES];
uint32_t fp_page_uses[FP_PAGES];
struct fp_hooks fp_hooks;
int fp_fail_xs_after;
int fp_fail_rc = -EIO;

static struct pv_platform plat;
static int memfd = -1, evfd = -1, xsfd = -1;
static struct node nodes[MAX_NODES];
static unsigned int nnodes;
static struct watch watches[MAX_WATCH];
static unsigned int nwatches;
static struct event events[MAX_EVENTS];
static unsigned int ev_head, ev_count;
static struct mapping maps[MAX_MAPS];
static unsigned int nmaps, mapped_pages;
static uint16_t map_refs[FP_PAGES];
static uint8_t port_live[MAX_PORTS], port_pending[MAX_PORTS];
static unsigned int next_port, nports, npending;
static uint64_t notifies;
static unsigned int share_cursor;

/* ---- set-up -------------------------------------------------------------------------- */

struct pv_platform *fp_init(domid_t domid)
{
	plat.domid = domid;
	if (memfd >= 0)
		return &plat;
	memfd = memfd_create("fp-guest", MFD_CLOEXEC);
	FUZZ_CHECK(memfd >= 0 && ftruncate(memfd, (off_t)FP_PAGES * PAGE) == 0);
	fp_mem = mmap(NULL, (size_t)FP_PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	FUZZ_CHECK(fp_mem != MAP_FAILED);
	evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	xsfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	FUZZ_CHECK(evfd >= 0 && xsfd >= 0);
	return &plat;
}

static void fd_set_ready(int fd, int ready)
{
	uint64_t v = 1;

	if (ready)
		FUZZ_CHECK(write(fd, &v, sizeof(v)) == sizeof(v));
	else if (read(fd, &v, sizeof(v)) < 0)
		FUZZ_CHECK(errno == EAGAIN);
}

static void events_clear(void)
{
	while (ev_count) {
		free(events[ev_head].path);
		free(events[ev_head].token);
		ev_head = (ev_head + 1) % MAX_EVENTS;
		ev_count--;
	}
	ev_head = 0;
	fd_set_ready(xsfd, 0);
}

void fp_reset(void)
{
	unsigned int i;

	for (i = 0; i < nnodes; i++) {
		free(nodes[i].path);
		free(nodes[i].val);
	}
	nnodes = 0;
	for (i = 0; i < nwatches; i++) {
		free(watches[i].path);
		free(watches[i].token);
	}
	nwatches = 0;
	events_clear();
	for (i = 0; i < nmaps; i++)
		munmap(maps[i].addr, (size_t)maps[i].count * PAGE);
	nmaps = mapped_pages = 0;
	memset(map_refs, 0, sizeof(map_refs));
	memset(fp_page_uses, 0, sizeof(fp_page_uses));
	memset(fp_grant, 0, sizeof(fp_grant));
	memset(port_live, 0, sizeof(port_live));
	memset(port_pending, 0, sizeof(port_pending));
	next_port = 1;
	nports = npending = 0;
	notifies = 0;
	share_cursor = 0;
	fd_set_ready(evfd, 0);
	memset(&fp_hooks, 0, sizeof(fp_hooks));
	fp_fail_xs_after = 0;
	fp_fail_rc = -EIO;
}

void fp_check_clean(int check_watches)
{
	unsigned int i;

	FUZZ_CHECK(nmaps == 0 && mapped_pages == 0);
	FUZZ_CHECK(nports == 0);
	FUZZ_CHECK(!check_watches || nwatches == 0);
	for (i = 0; i < FP_PAGES; i++)
		FUZZ_CHECK(!(fp_grant[i] & FP_G_SHARED));
}

unsigned int fp_ports_live(void)
{
	return nports;
}

unsigned int fp_maps_live(void)
{
	return mapped_pages;
}

uint64_t fp_notifies(void)
{
	return notifies;
}

uint8_t *fp_page(grant_ref_t ref)
{
	if (ref < FP_REF_BASE || ref - FP_REF_BASE >= FP_PAGES)
		return NULL;
	return fp_mem + (size_t)(ref - FP_REF_BASE) * PAGE;
}

/* ---- xenstore ------------------------------------------------------------------------ */

static int xs_fault(void)
{
	if (fp_fail_xs_after > 0 && --fp_fail_xs_after == 0)
		return fp_fail_rc;
	return 0;
}

static struct node *find(const char *path)
{
	for (unsigned int i = 0; i < nnodes; i++)
		if (!strcmp(nodes[i].path, path))
			return &nodes[i];
	return NULL;
}

/* Is a at or under b ("/a/b" is under "/a", "/ab" is not)? */
static int under(const char *a, const char *b)
{
	size_t n = strlen(b);

	return !strncmp(a, b, n) && (a[n] == '\0' || a[n] == '/' || (n == 1 && b[0] == '/'));
}

static int has_descendant(const char *path)
{
	for (unsigned int i = 0; i < nnodes; i++)
		if (under(nodes[i].path, path) && strcmp(nodes[i].path, path))
			return 1;
	return 0;
}

static void queue_event(const char *path, const char *token)
{
	unsigned int slot;

	if (ev_count == MAX_EVENTS)
		return; /* as a real xenstored would drop a client: events are lost */
	slot = (ev_head + ev_count) % MAX_EVENTS;
	events[slot].path = strdup(path);
	events[slot].token = strdup(token);
	FUZZ_CHECK(events[slot].path && events[slot].token);
	if (ev_count++ == 0)
		fd_set_ready(xsfd, 1);
}

/* A change at path fires the watches on it, its ancestors and (rm) its descendants. */
static void fire(const char *path, int removed)
{
	for (unsigned int i = 0; i < nwatches; i++)
		if (under(path, watches[i].path) || (removed && under(watches[i].path, path)))
			queue_event(path, watches[i].token);
}

static void set_node(const char *path, const void *val, size_t len)
{
	struct node *n = find(path);

	if (!n) {
		FUZZ_CHECK(nnodes < MAX_NODES);
		n = &nodes[nnodes++];
		n->path = strdup(path);
		FUZZ_CHECK(n->path);
	} else {
		free(n->val);
	}
	n->val = malloc(len + 1);
	FUZZ_CHECK(n->val);
	if (len)
		memcpy(n->val, val, len);
	n->val[len] = '\0';
	n->len = len;
	fire(path, 0);
}

static int rm_nodes(const char *path)
{
	int found = has_descendant(path) || find(path);

	for (unsigned int i = 0; i < nnodes;) {
		if (under(nodes[i].path, path)) {
			free(nodes[i].path);
			free(nodes[i].val);
			nodes[i] = nodes[--nnodes];
		} else {
			i++;
		}
	}
	if (found)
		fire(path, 1);
	return found ? 0 : -ENOENT;
}

static void changed(const char *path)
{
	if (fp_hooks.xs_changed)
		fp_hooks.xs_changed(path);
}

void fp_xs_set(const char *path, const void *val, size_t len)
{
	if (nnodes < MAX_NODES || find(path))
		set_node(path, val, len);
}

void fp_xs_set_str(const char *path, const char *val)
{
	fp_xs_set(path, val, strlen(val));
}

void fp_xs_rm(const char *path)
{
	rm_nodes(path);
}

void fp_xs_fire(const char *path)
{
	fire(path, 1);
}

const char *fp_xs_get(const char *path)
{
	struct node *n = find(path);

	return n ? n->val : NULL;
}

int pv_xs_read(struct pv_platform *p, pv_xs_txn_t t, const char *path, char **val, size_t *len)
{
	struct node *n;
	int rc;

	(void)t;
	if (!p || !path || !val)
		return -EINVAL;
	*val = NULL;
	if ((rc = xs_fault()) < 0)
		return rc;
	n = find(path);
	if (!n && !has_descendant(path))
		return -ENOENT;
	*val = malloc(n ? n->len + 1 : 1);
	if (!*val)
		return -ENOMEM;
	if (n)
		memcpy(*val, n->val, n->len + 1);
	else
		(*val)[0] = '\0';
	if (len)
		*len = n ? n->len : 0;
	return 0;
}

int pv_xs_write(struct pv_platform *p, pv_xs_txn_t t, const char *path, const void *val,
		size_t len)
{
	int rc;

	(void)t;
	if (!p || !path || (!val && len))
		return -EINVAL;
	if ((rc = xs_fault()) < 0)
		return rc;
	if (len > 4096 || strlen(path) > 3072)
		return -E2BIG;
	if (nnodes >= MAX_NODES && !find(path))
		return -EDQUOT;
	set_node(path, val, len);
	changed(path);
	return 0;
}

/* pv_xs_printf() and pv_xs_read_u64(): platform/pv_xs_fmt.c, over the two above. */

int pv_xs_mkdir(struct pv_platform *p, pv_xs_txn_t t, const char *path)
{
	int rc;

	(void)t;
	if (!p || !path)
		return -EINVAL;
	if ((rc = xs_fault()) < 0)
		return rc;
	if (find(path) || has_descendant(path))
		return 0;
	if (nnodes >= MAX_NODES)
		return -EDQUOT;
	set_node(path, "", 0);
	changed(path);
	return 0;
}

int pv_xs_rm(struct pv_platform *p, pv_xs_txn_t t, const char *path)
{
	int rc;

	(void)t;
	if (!p || !path)
		return -EINVAL;
	if ((rc = xs_fault()) < 0)
		return rc;
	rc = rm_nodes(path);
	if (rc == 0)
		changed(path);
	return rc;
}

int pv_xs_directory(struct pv_platform *p, pv_xs_txn_t t, const char *path, char ***names,
		    unsigned int *n)
{
	size_t pl = strlen(path ? path : ""), bytes = 0;
	const char *kid[MAX_NODES];
	size_t klen[MAX_NODES];
	unsigned int k = 0, i, j;
	char **out, *s;
	int rc;

	(void)t;
	if (!p || !path || !names || !n)
		return -EINVAL;
	if ((rc = xs_fault()) < 0)
		return rc;
	if (!find(path) && !has_descendant(path))
		return -ENOENT;
	for (i = 0; i < nnodes; i++) {
		const char *c = nodes[i].path;
		size_t l;

		if (!under(c, path) || !strcmp(c, path))
			continue;
		c += (pl == 1) ? 1 : pl + 1;
		l = strcspn(c, "/");
		for (j = 0; j < k && !(klen[j] == l && !strncmp(kid[j], c, l)); j++)
			;
		if (j < k)
			continue;
		kid[k] = c;
		klen[k++] = l;
		bytes += l + 1;
	}
	out = malloc(k * sizeof(*out) + bytes + 1);
	if (!out)
		return -ENOMEM;
	s = (char *)(out + k);
	for (j = 0; j < k; j++) {
		out[j] = s;
		memcpy(s, kid[j], klen[j]);
		s[klen[j]] = '\0';
		s += klen[j] + 1;
	}
	*names = out;
	*n = k;
	return 0;
}

int pv_xs_set_perms(struct pv_platform *p, pv_xs_txn_t t, const char *path,
		    const struct pv_xs_perm *perms, unsigned int n)
{
	(void)t;
	if (!p || !path || !perms || !n)
		return -EINVAL;
	return xs_fault();
}

int pv_xs_txn_start(struct pv_platform *p, pv_xs_txn_t *t)
{
	int rc;

	if (!p || !t)
		return -EINVAL;
	if ((rc = xs_fault()) < 0)
		return rc;
	*t = 1;
	return 0;
}

int pv_xs_txn_end(struct pv_platform *p, pv_xs_txn_t t, int abort)
{
	(void)abort;
	if (!p || !t)
		return -EINVAL;
	return xs_fault();
}

int pv_xs_watch(struct pv_platform *p, const char *path, const char *token)
{
	int rc;

	if (!p || !path || !token)
		return -EINVAL;
	if ((rc = xs_fault()) < 0)
		return rc;
	if (nwatches == MAX_WATCH)
		return -ENOSPC;
	watches[nwatches].path = strdup(path);
	watches[nwatches].token = strdup(token);
	FUZZ_CHECK(watches[nwatches].path && watches[nwatches].token);
	nwatches++;
	queue_event(path, token); /* the initial event, as xenstored sends */
	return 0;
}

int pv_xs_unwatch(struct pv_platform *p, const char *path, const char *token)
{
	if (!p || !path || !token)
		return -EINVAL;
	/* No fault here: a failed unwatch would only leave the watch behind, which
	 * fp_check_clean() would then blame on the code under test. */
	for (unsigned int i = 0; i < nwatches; i++) {
		if (strcmp(watches[i].path, path) || strcmp(watches[i].token, token))
			continue;
		free(watches[i].path);
		free(watches[i].token);
		watches[i] = watches[--nwatches];
		return 0;
	}
	return -ENOENT;
}

int pv_xs_watch_fd(struct pv_platform *p)
{
	return p ? xsfd : -EINVAL;
}

int pv_xs_watch_next(struct pv_platform *p, char **path, char **token)
{
	if (!p || !path || !token)
		return -EINVAL;
	if (!ev_count)
		return -EAGAIN;
	*path = events[ev_head].path;
	*token = events[ev_head].token;
	ev_head = (ev_head + 1) % MAX_EVENTS;
	if (--ev_count == 0)
		fd_set_ready(xsfd, 0);
	return 0;
}

/* ---- grants ---------------------------------------------------------------------------- */

static int ref_check(grant_ref_t ref, int writable)
{
	uint8_t g;

	if (ref < FP_REF_BASE || ref - FP_REF_BASE >= FP_PAGES)
		return -EINVAL;
	g = fp_grant[ref - FP_REF_BASE];
	if (!(g & FP_G_GRANTED) || (writable && (g & FP_G_RO)))
		return -EACCES;
	return 0;
}

int pv_gnt_share(struct pv_platform *p, domid_t peer, unsigned int count, int writable,
		 grant_ref_t *refs, void **addr)
{
	unsigned int start, i, tries;

	(void)peer;
	if (!p || !count || !refs || !addr)
		return -EINVAL;
	if (count > FP_PAGES)
		return -ENOSPC;
	/* First fit from a cursor; pages the fuzzer granted itself are not ours to share. */
	for (tries = 0, start = share_cursor; tries < 2 * FP_PAGES; tries++) {
		if (start + count > FP_PAGES) {
			start = 0;
			continue;
		}
		for (i = 0; i < count && !fp_grant[start + i]; i++)
			;
		if (i == count)
			break;
		start += i + 1;
	}
	if (tries == 2 * FP_PAGES)
		return -ENOSPC;
	memset(fp_mem + (size_t)start * PAGE, 0, (size_t)count * PAGE);
	for (i = 0; i < count; i++) {
		fp_grant[start + i] = FP_G_SHARED | FP_G_GRANTED | (writable ? 0 : FP_G_RO);
		refs[i] = start + i + FP_REF_BASE;
	}
	share_cursor = (start + count) % FP_PAGES;
	*addr = fp_mem + (size_t)start * PAGE;
	return 0;
}

int pv_gnt_unshare(struct pv_platform *p, void *addr, unsigned int count)
{
	size_t off = (size_t)((uint8_t *)addr - fp_mem);
	unsigned int start, i;

	if (!p || !addr || !count)
		return -EINVAL;
	FUZZ_CHECK((uint8_t *)addr >= fp_mem && off % PAGE == 0 && off / PAGE + count <= FP_PAGES);
	start = (unsigned int)(off / PAGE);
	for (i = 0; i < count; i++) {
		FUZZ_CHECK(fp_grant[start + i] & FP_G_SHARED); /* unsharing what it never shared */
		if (map_refs[start + i])
			return -EBUSY;
	}
	for (i = 0; i < count; i++)
		fp_grant[start + i] = 0;
	return 0;
}

int pv_gnt_map(struct pv_platform *p, domid_t peer, unsigned int count,
	       const grant_ref_t *refs, int writable, void **addr)
{
	struct mapping *m;
	unsigned int i;
	uint8_t *a;
	int rc;

	(void)peer;
	if (!p || !count || !refs || !addr)
		return -EINVAL;
	if (count > 256 + 16)
		return -EINVAL;
	for (i = 0; i < count; i++)
		if ((rc = ref_check(refs[i], writable)) < 0)
			return rc;
	if (nmaps == MAX_MAPS || mapped_pages + count > MAX_MAPPED)
		return -ENOMEM;
	a = mmap(NULL, (size_t)count * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	FUZZ_CHECK(a != MAP_FAILED);
	m = &maps[nmaps++];
	m->addr = a;
	m->count = count;
	for (i = 0; i < count; i++) {
		unsigned int pg = refs[i] - FP_REF_BASE;
		void *r = mmap(a + (size_t)i * PAGE, PAGE,
			       PROT_READ | (writable ? PROT_WRITE : 0), MAP_SHARED | MAP_FIXED,
			       memfd, (off_t)pg * PAGE);

		FUZZ_CHECK(r == a + (size_t)i * PAGE);
		m->pages[i] = (uint16_t)pg;
		map_refs[pg]++;
		fp_page_uses[pg]++;
	}
	mapped_pages += count;
	*addr = a;
	return 0;
}

int pv_gnt_unmap(struct pv_platform *p, void *addr, unsigned int count)
{
	unsigned int i;

	if (!p || !addr || !count)
		return -EINVAL;
	for (i = 0; i < nmaps && maps[i].addr != addr; i++)
		;
	/* Unmapping what was not mapped (or with another count) is the caller's bug. */
	FUZZ_CHECK(i < nmaps && maps[i].count == count);
	for (unsigned int k = 0; k < count; k++)
		map_refs[maps[i].pages[k]]--;
	munmap(addr, (size_t)count * PAGE);
	mapped_pages -= count;
	maps[i] = maps[--nmaps];
	return 0;
}

/* As the platform's generic one: one map per mapping, undone on an error. */
int pv_gnt_map_batch(struct pv_platform *p, domid_t peer, unsigned int n,
		     const unsigned int *counts, const grant_ref_t *refs, int writable,
		     void **addrs)
{
	if (!p || !n || !counts || !refs || !addrs)
		return -EINVAL;
	return pv_gnt_map_each(p, peer, n, counts, refs, writable, addrs, pv_gnt_map,
			       pv_gnt_unmap);
}

int pv_gnt_unmap_batch(struct pv_platform *p, void *const *addrs, const unsigned int *counts,
		       unsigned int n)
{
	unsigned int i;

	if (!p || !addrs || !counts || !n)
		return -EINVAL;
	for (i = 0; i < n; i++)
		if (!addrs[i] || !counts[i])
			return -EINVAL;
	/* pv_gnt_unmap aborts on anything not mapped, a mapping named twice included. */
	for (i = 0; i < n; i++)
		pv_gnt_unmap(p, addrs[i], counts[i]);
	return 0;
}

int pv_gnt_copy(struct pv_platform *p, struct pv_gnt_copy_seg *segs, unsigned int count)
{
	int rc = 0;

	if (!p || !segs || !count)
		return -EINVAL;
	for (unsigned int i = 0; i < count; i++) {
		struct pv_gnt_copy_seg *s = &segs[i];
		int r = ref_check(s->ref, s->to_granted);
		uint8_t *pg;

		/* The caller promises offset + len <= 4096 (pv_platform.h). */
		FUZZ_CHECK((unsigned int)s->offset + s->len <= PAGE);
		s->status = (int16_t)r;
		if (r < 0) {
			rc = -EIO;
			continue;
		}
		fp_page_uses[s->ref - FP_REF_BASE]++;
		pg = fp_page(s->ref) + s->offset;
		if (s->to_granted)
			memcpy(pg, s->local, s->len);
		else
			memcpy(s->local, pg, s->len);
	}
	return rc;
}

/* ---- event channels -------------------------------------------------------------------- */

static int port_new(evtchn_port_t *port)
{
	unsigned int i;

	for (i = 0; i < MAX_PORTS - 1; i++) {
		unsigned int pt = 1 + (next_port + i - 1) % (MAX_PORTS - 1);

		if (!port_live[pt]) {
			port_live[pt] = 1;
			nports++;
			next_port = pt + 1;
			*port = pt;
			return 0;
		}
	}
	return -ENOSPC;
}

int pv_evtchn_alloc_unbound(struct pv_platform *p, domid_t remote, evtchn_port_t *port)
{
	(void)remote;
	if (!p || !port)
		return -EINVAL;
	return port_new(port);
}

int pv_evtchn_bind_interdomain(struct pv_platform *p, domid_t remote, evtchn_port_t remote_port,
			       evtchn_port_t *local)
{
	(void)remote;
	if (!p || !local)
		return -EINVAL;
	/* Any port number the guest wrote: refuse what no domain could have allocated. */
	if (remote_port == 0 || remote_port >= 4096)
		return -EINVAL;
	return port_new(local);
}

int pv_evtchn_unbind(struct pv_platform *p, evtchn_port_t port)
{
	if (!p)
		return -EINVAL;
	FUZZ_CHECK(port < MAX_PORTS && port_live[port]); /* unbinding a port it does not hold */
	port_live[port] = 0;
	if (port_pending[port]) {
		port_pending[port] = 0;
		npending--;
	}
	nports--;
	return 0;
}

int pv_evtchn_notify(struct pv_platform *p, evtchn_port_t port)
{
	(void)p;
	FUZZ_CHECK(port < MAX_PORTS && port_live[port]);
	notifies++;
	if (fp_hooks.notified)
		fp_hooks.notified(port);
	return 0;
}

void fp_evtchn_raise(evtchn_port_t port)
{
	if (port >= MAX_PORTS || !port_live[port] || port_pending[port])
		return;
	port_pending[port] = 1;
	if (npending++ == 0)
		fd_set_ready(evfd, 1);
}

int pv_evtchn_fd(struct pv_platform *p)
{
	return p ? evfd : -EINVAL;
}

int pv_evtchn_pending(struct pv_platform *p)
{
	if (!p)
		return -EINVAL;
	for (unsigned int i = 1; npending && i < MAX_PORTS; i++) {
		if (!port_pending[i])
			continue;
		port_pending[i] = 0;
		if (--npending == 0)
			fd_set_ready(evfd, 0);
		return (int)i;
	}
	return -EAGAIN;
}

int pv_evtchn_pending_batch(struct pv_platform *p, evtchn_port_t *ports, unsigned int max)
{
	if (!p || !ports || !max)
		return -EINVAL;
	return pv_evtchn_pending_each(p, ports, max, pv_evtchn_pending);
}

int pv_evtchn_unmask(struct pv_platform *p, evtchn_port_t port)
{
	(void)port;
	return p ? 0 : -EINVAL;
}

/* ---- the rest ---------------------------------------------------------------------------- */

void pv_platform_close(struct pv_platform *p)
{
	(void)p;
}

const char *pv_platform_name(const struct pv_platform *p)
{
	(void)p;
	return "fuzz";
}

domid_t pv_platform_domid(const struct pv_platform *p)
{
	return p->domid;
}

int pv_domain_info(struct pv_platform *p, domid_t domid, struct pv_dominfo *info)
{
	if (!p || !info)
		return -EINVAL;
	*info = (struct pv_dominfo){ .domid = domid };
	return 0;
}

int pv_platform_open(const char *spec, struct pv_platform **out, const char **errmsg)
{
	(void)spec;
	if (errmsg)
		*errmsg = "the fuzzers' platform is opened by fp_init()";
	if (out)
		*out = NULL;
	return -ENOTSUP;
}
