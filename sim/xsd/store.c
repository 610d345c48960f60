/* SPDX-License-Identifier: MIT */
/*
 * store.c - the node table, paths, Xen's permission model, quotas and transactions.
 *
 * Every operation goes through a view (struct xsd_view): either the store itself or one
 * transaction.  A transaction copies a node into its own table the first time it touches
 * it and remembers the generation the store had then (or that the node was absent);
 * reads of nodes it has not modified still go to the store, which is fine because if
 * the store changed meanwhile the commit fails anyway.  Commit checks every touched
 * node's generation, then moves the modified ones into the store: the children lists
 * came along with the nodes, so nothing has to be re-linked.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xsd.h"

/* ---- the hash table -------------------------------------------------------------------- */

static uint64_t path_hash(const struct pv_xsd *x, const char *p, uint32_t len)
{
	uint64_t h = 0xcbf29ce484222325ull ^ x->seed;

	for (uint32_t i = 0; i < len; i++) {
		h ^= (unsigned char)p[i];
		h *= 0x100000001b3ull;
	}
	/* FNV alone leaves the low bits (the bucket index) weak. */
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return h;
}

static struct xsd_node *map_find(const struct xsd_map *m, const char *p, uint32_t len,
				 uint64_t h)
{
	struct xsd_node *n;

	if (!m->nb)
		return NULL;
	for (n = m->b[h & (m->nb - 1)]; n; n = n->hnext)
		if (n->hash == h && n->plen == len && !memcmp(n->path, p, len))
			return n;
	return NULL;
}

/* Makes room for extra more nodes, so that adding them cannot fail; load factor <= 1. */
static int map_reserve(struct xsd_map *m, size_t extra)
{
	if (m->n + extra > m->nb) {
		size_t nb = m->nb ? m->nb : 32;
		struct xsd_node **b;

		while (nb < m->n + extra)
			nb *= 2;
		if (!(b = calloc(nb, sizeof(*b))))
			return -ENOMEM;
		for (size_t i = 0; i < m->nb; i++) {
			while (m->b[i]) {
				struct xsd_node *o = m->b[i];

				m->b[i] = o->hnext;
				o->hnext = b[o->hash & (nb - 1)];
				b[o->hash & (nb - 1)] = o;
			}
		}
		free(m->b);
		m->b = b;
		m->nb = nb;
	}
	return 0;
}

static int map_add(struct xsd_map *m, struct xsd_node *n)
{
	if (map_reserve(m, 1) < 0)
		return -ENOMEM;
	n->hnext = m->b[n->hash & (m->nb - 1)];
	m->b[n->hash & (m->nb - 1)] = n;
	m->n++;
	return 0;
}

static void map_del(struct xsd_map *m, struct xsd_node *n)
{
	struct xsd_node **pp = &m->b[n->hash & (m->nb - 1)];

	while (*pp != n)
		pp = &(*pp)->hnext;
	*pp = n->hnext;
	m->n--;
}

/* ---- nodes ------------------------------------------------------------------------------ */

static struct xsd_node *node_alloc(const char *p, uint32_t len, uint64_t h)
{
	struct xsd_node *n = calloc(1, sizeof(*n) + len + 1);

	if (!n)
		return NULL;
	memcpy(n->path, p, len);
	n->plen = len;
	n->hash = h;
	return n;
}

static void node_clear(struct xsd_node *n)
{
	free(n->value);
	free(n->perms);
	free(n->kids);
	n->value = n->kids = NULL;
	n->perms = NULL;
	n->vlen = n->kidslen = n->nperms = 0;
}

static void node_free(struct xsd_node *n)
{
	node_clear(n);
	free(n);
}

static void *memdup(const void *p, size_t len)
{
	void *q = malloc(len ? len : 1);

	if (q && len)
		memcpy(q, p, len);
	return q;
}

static int node_copy(struct xsd_node *dst, const struct xsd_node *src)
{
	char *v = memdup(src->value, src->vlen), *k = memdup(src->kids, src->kidslen);
	struct xsd_perm *p = memdup(src->perms, src->nperms * sizeof(*p));

	if (!v || !k || !p) {
		free(v);
		free(k);
		free(p);
		return -ENOMEM;
	}
	node_clear(dst);
	dst->value = v;
	dst->vlen = src->vlen;
	dst->kids = k;
	dst->kidslen = src->kidslen;
	dst->perms = p;
	dst->nperms = src->nperms;
	dst->gen = src->gen;
	return 0;
}

static int kids_add(struct xsd_node *n, const char *name, uint32_t len)
{
	char *k = realloc(n->kids, n->kidslen + len + 1);

	if (!k)
		return -ENOMEM;
	memcpy(k + n->kidslen, name, len);
	k[n->kidslen + len] = '\0';
	n->kids = k;
	n->kidslen += len + 1;
	return 0;
}

static void kids_del(struct xsd_node *n, const char *name, uint32_t len)
{
	uint32_t off = 0;

	while (off < n->kidslen) {
		uint32_t l = (uint32_t)strlen(n->kids + off);

		if (l == len && !memcmp(n->kids + off, name, len)) {
			memmove(n->kids + off, n->kids + off + l + 1, n->kidslen - off - l - 1);
			n->kidslen -= l + 1;
			return;
		}
		off += l + 1;
	}
}

/* Length of the parent's path within p[0, len): "/a/b" -> 2 ("/a"), "/a" -> 1 ("/"). */
static uint32_t parent_len(const char *p, uint32_t len)
{
	while (len > 1 && p[len - 1] != '/')
		len--;
	return len > 1 ? len - 1 : 1;
}

/* ---- paths and permissions --------------------------------------------------------------- */

static bool path_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '/' || c == '_' || c == '@';
}

/* Bytes of "/local/domain/<id>/" (up to 5 digits, as Xen's sscanf) that p starts with. */
size_t xsd_local_prefix(const char *p)
{
	static const char pre[] = "/local/domain/";
	size_t i = sizeof(pre) - 1, d;

	if (strncmp(p, pre, i))
		return 0;
	for (d = 0; d < 5 && p[i + d] >= '0' && p[i + d] <= '9'; d++)
		;
	return d && p[i + d] == '/' ? i + d + 1 : 0;
}

/* A node's size as Xen's C xenstored stores it, which its node-size quota bounds. */
static size_t rec_size(uint32_t nperms, uint32_t vlen, uint32_t kidslen)
{
	return XSD_REC_HDR + (size_t)nperms * XSD_REC_PERM + vlen + kidslen;
}

static int size_ok(const struct xsd_view *v, uint32_t nperms, uint32_t vlen, uint32_t kidslen)
{
	return v->dom == 0 || rec_size(nperms, vlen, kidslen) < v->x->lim.max_node_size ? 0 : -ENOSPC;
}

int xsd_canon(const struct pv_xsd *x, domid_t dom, const char *in, bool special, char **out,
	      uint32_t *rel)
{
	uint32_t r = 0;
	size_t len;
	char *p;

	if (in[0] == '@' && !special)
		return -EINVAL;
	if (in[0] == '@' || in[0] == '/') {
		p = strdup(in);
	} else {
		int n = asprintf(&p, "/local/domain/%u/%s", dom, in);

		if (n < 0)
			p = NULL;
		else
			r = (uint32_t)(n - strlen(in));
	}
	if (!p)
		return -ENOMEM;
	len = strlen(p);
	/* Xen's limit counts past a domain's home, for every domain, dom0 included. */
	if (len > xsd_local_prefix(p) + x->lim.max_path || (len == 1 && p[0] == '@'))
		goto bad;
	for (size_t i = 0; i < len; i++)
		if (!path_char(p[i]))
			goto bad;
	if (p[0] == '/' && ((len > 1 && p[len - 1] == '/') || strstr(p, "//")))
		goto bad;
	*out = p;
	if (rel)
		*rel = r;
	return 0;
bad:
	free(p);
	return -EINVAL;
}

/* Xen's rule: dom0 and the owner may do anything; a listed domain gets its entry; any
 * other domain gets the owner entry's bits, which are thus the default. */
unsigned int xsd_perm_for(domid_t dom, const struct xsd_perm *p, uint32_t n)
{
	if (dom == 0 || p[0].id == dom)
		return XSD_PERM_READ | XSD_PERM_WRITE | XSD_PERM_OWNER;
	for (uint32_t i = 1; i < n; i++)
		if (p[i].id == dom)
			return p[i].mode;
	return p[0].mode;
}

/* ---- views ------------------------------------------------------------------------------- */

static int tx_entry(struct xsd_view *v, const char *p, uint32_t len, uint64_t h,
		    struct xsd_node **out)
{
	struct xsd_txn *t = v->t;
	struct xsd_node *e = map_find(&t->map, p, len, h), *n;

	if (e) {
		*out = e;
		return 0;
	}
	/* A domU's transaction is bounded like its nodes, or reading absent paths in one
	 * would grow memory without limit. */
	if (v->dom != 0 && t->entries >= v->x->lim.max_txn_nodes)
		return -ENOSPC;
	e = node_alloc(p, len, h);
	if (!e)
		return -ENOMEM;
	if (map_add(&t->map, e) < 0) {
		free(e);
		return -ENOMEM;
	}
	n = map_find(&v->x->store, p, len, h);
	e->base_exists = n != NULL;
	e->base_gen = n ? n->gen : 0;
	*t->tail = e;
	t->tail = &e->lnext;
	t->entries++;
	*out = e;
	return 0;
}

/* The node at p[0, len) as the view sees it (NULL: absent); a transaction records it. */
static int get_h(struct xsd_view *v, const char *p, uint32_t len, uint64_t h,
		 struct xsd_node **out)
{
	struct xsd_node *e;
	int rc;

	if (!v->t) {
		*out = map_find(&v->x->store, p, len, h);
		return 0;
	}
	if ((rc = tx_entry(v, p, len, h, &e)) < 0)
		return rc;
	if (e->modified)
		*out = e->exists ? e : NULL;
	else
		*out = map_find(&v->x->store, p, len, h);
	return 0;
}

static int get_len(struct xsd_view *v, const char *p, uint32_t len, struct xsd_node **out)
{
	return get_h(v, p, len, path_hash(v->x, p, len), out);
}

int xsd_get(struct xsd_view *v, const char *path, struct xsd_node **out)
{
	return get_len(v, path, (uint32_t)strlen(path), out);
}

/* Like get, but records nothing: only to decide which error a failure reports. */
static struct xsd_node *peek(struct xsd_view *v, const char *p, uint32_t len)
{
	uint64_t h = path_hash(v->x, p, len);

	if (v->t) {
		struct xsd_node *e = map_find(&v->t->map, p, len, h);

		if (e && e->modified)
			return e->exists ? e : NULL;
	}
	return map_find(&v->x->store, p, len, h);
}

/* Makes *np, a node get returned, one this view may change. */
static int mut(struct xsd_view *v, struct xsd_node **np)
{
	struct xsd_node *e;
	int rc;

	if (!v->t)
		return 0;
	if ((rc = tx_entry(v, (*np)->path, (*np)->plen, (*np)->hash, &e)) < 0)
		return rc;
	if (!e->modified) {
		if ((rc = node_copy(e, *np)) < 0)
			return rc;
		e->modified = e->exists = true;
	}
	*np = e;
	return 0;
}

/* Adds an absent node, taking over value and perms (both malloc'ed). */
static int create(struct xsd_view *v, const char *p, uint32_t len, char *value, uint32_t vlen,
		  struct xsd_perm *perms, uint32_t nperms, struct xsd_node **out)
{
	uint64_t h = path_hash(v->x, p, len);
	struct xsd_node *n;
	int rc;

	if (v->t) {
		if ((rc = tx_entry(v, p, len, h, &n)) < 0)
			return rc;
		node_clear(n);
		n->modified = n->exists = true;
	} else {
		n = node_alloc(p, len, h);
		if (!n)
			return -ENOMEM;
		if (map_add(&v->x->store, n) < 0) {
			free(n);
			return -ENOMEM;
		}
	}
	n->value = value;
	n->vlen = vlen;
	n->perms = perms;
	n->nperms = nperms;
	*out = n;
	return 0;
}

static void touch(struct xsd_view *v, struct xsd_node *n)
{
	n->gen = ++v->x->gen;
}

static void account(struct xsd_view *v, domid_t owner, int delta)
{
	if (!v->t)
		v->x->owned[owner] += (uint32_t)delta;
	else if (owner == v->dom)
		v->t->delta += delta;
}

/* May domain v->dom own add more nodes?  Dom0 has no quota, as in Xen. */
static int quota(struct xsd_view *v, unsigned int add)
{
	long have;

	if (v->dom == 0)
		return 0;
	have = (long)v->x->owned[v->dom] + (v->t ? v->t->delta : 0);
	return have + (long)add > (long)v->x->lim.max_nodes ? -ENOSPC : 0;
}

/* Watches fire now, or at commit for a transaction (once per node, as Xen). */
static void changed(struct xsd_view *v, struct xsd_node *n, enum xsd_fire how)
{
	if (!v->t)
		xsd_fire(v->x, n->path, n->perms, n->nperms, how == XSD_FIRE_EXACT);
	else if (how > n->fire)
		n->fire = (uint8_t)how;
}

/* Deletes one node the view may change; a transaction keeps its perms for the events. */
static void del(struct xsd_view *v, struct xsd_node *n)
{
	account(v, n->perms[0].id, -1);
	if (!v->t) {
		map_del(&v->x->store, n);
		node_free(n);
		return;
	}
	free(n->value);
	free(n->kids);
	n->value = n->kids = NULL;
	n->vlen = n->kidslen = 0;
	n->exists = false;
	touch(v, n);
}

/*
 * Why an absent node is absent: ENOENT, unless the nearest existing ancestor is not
 * readable, so that a guest cannot probe for nodes it may not see (as Xen).
 */
static int missing(struct xsd_view *v, const char *p, uint32_t len)
{
	while (len > 1) {
		struct xsd_node *a;

		len = parent_len(p, len);
		a = peek(v, p, len);
		if (a)
			return xsd_perm_for(v->dom, a->perms, a->nperms) & XSD_PERM_READ ? -ENOENT
											  : -EACCES;
	}
	return -ENOENT;
}

int xsd_lookup(struct xsd_view *v, const char *path, unsigned int need, struct xsd_node **out)
{
	uint32_t len = (uint32_t)strlen(path);
	struct xsd_node *n;
	int rc;

	if ((rc = get_len(v, path, len, &n)) < 0)
		return rc;
	if (!n)
		return missing(v, path, len);
	if ((xsd_perm_for(v->dom, n->perms, n->nperms) & need) != need)
		return -EACCES;
	*out = n;
	return 0;
}

/* ---- operations -------------------------------------------------------------------------- */

static void half_done(struct xsd_view *v, int rc)
{
	if (v->t && !v->t->err)
		v->t->err = rc;
}

/* Creates path[0, len) under the mutable parent, perms inherited as Xen does. */
static int create_child(struct xsd_view *v, struct xsd_node *parent, const char *path,
			uint32_t len, const void *val, uint32_t vlen, struct xsd_node **out)
{
	uint32_t start = parent->plen == 1 ? 1 : parent->plen + 1;
	struct xsd_perm *perms;
	char *value;
	int rc;

	/* The new node, and its parent with one more child name. */
	if ((rc = size_ok(v, parent->nperms, vlen, 0)) < 0 ||
	    (rc = size_ok(v, parent->nperms, parent->vlen, parent->kidslen + (len - start) + 1)) < 0)
		return rc;
	perms = memdup(parent->perms, parent->nperms * sizeof(*perms));
	value = memdup(val, vlen);
	if (!perms || !value || (rc = kids_add(parent, path + start, len - start)) < 0) {
		free(perms);
		free(value);
		return -ENOMEM;
	}
	/* A guest owns what it creates; dom0's nodes keep the parent's owner. */
	if (v->dom != 0)
		perms[0].id = v->dom;
	if ((rc = create(v, path, len, value, vlen, perms, parent->nperms, out)) < 0) {
		kids_del(parent, path + start, len - start);
		free(perms);
		free(value);
		return rc;
	}
	account(v, perms[0].id, 1);
	touch(v, parent);
	touch(v, *out);
	return 0;
}

int xsd_write(struct xsd_view *v, const char *path, const void *val, uint32_t vlen, bool mkdir)
{
	uint32_t len = (uint32_t)strlen(path), alen = len;
	struct xsd_node *n, *a = NULL;
	unsigned int levels = 0;
	int rc;

	if ((rc = get_len(v, path, len, &n)) < 0)
		return rc;
	if (n) {
		char *nv;

		if (!(xsd_perm_for(v->dom, n->perms, n->nperms) & XSD_PERM_WRITE))
			return -EACCES;
		if (mkdir)
			return 0;
		if ((rc = size_ok(v, n->nperms, vlen, n->kidslen)) < 0)
			return rc;
		if (!(nv = memdup(val, vlen)) || (rc = mut(v, &n)) < 0) {
			free(nv);
			return nv ? rc : -ENOMEM;
		}
		free(n->value);
		n->value = nv;
		n->vlen = vlen;
		touch(v, n);
		changed(v, n, XSD_FIRE_TREE);
		return 0;
	}
	while (!a) {
		levels++;
		alen = parent_len(path, alen);
		if ((rc = get_len(v, path, alen, &a)) < 0)
			return rc;
	}
	if (!(xsd_perm_for(v->dom, a->perms, a->nperms) & XSD_PERM_WRITE))
		return -EACCES;
	if ((rc = quota(v, levels)) < 0 || (rc = mut(v, &a)) < 0)
		return rc;
	while (alen < len) {
		uint32_t end = alen + 1;

		while (end < len && path[end] != '/')
			end++;
		if ((rc = create_child(v, a, path, end, end == len ? val : "",
				       end == len ? vlen : 0, &n)) < 0) {
			half_done(v, rc);
			return rc;
		}
		a = n;
		alen = end;
	}
	changed(v, a, XSD_FIRE_TREE);
	return 0;
}

/*
 * Deletes the subtree at buf[0, len) (its node n already mutable), children first.  buf
 * has room for any path, so child paths are built in place: nothing is allocated here
 * outside a transaction, so a removal cannot stop half way.
 */
static int rm_tree(struct xsd_view *v, char *buf, uint32_t len, struct xsd_node *n,
		   enum xsd_fire how)
{
	uint32_t off;
	int rc;

	for (off = 0; off < n->kidslen; off += (uint32_t)strlen(n->kids + off) + 1) {
		const char *name = n->kids + off;
		uint32_t clen = len == 1 ? 1 : len + 1, nlen = (uint32_t)strlen(name);
		struct xsd_node *c;

		if (clen + nlen > v->x->lim.max_path + XSD_LOCAL_PREFIX_MAX)
			continue; /* cannot exist: every created path was checked */
		buf[clen - 1] = '/';
		memcpy(buf + clen, name, nlen);
		if ((rc = get_len(v, buf, clen + nlen, &c)) < 0 ||
		    (c && ((rc = mut(v, &c)) < 0 ||
			   (rc = rm_tree(v, buf, clen + nlen, c, XSD_FIRE_EXACT)) < 0)))
			return rc;
	}
	changed(v, n, how);
	del(v, n);
	return 0;
}

int xsd_rm(struct xsd_view *v, const char *path)
{
	uint32_t len = (uint32_t)strlen(path), plen = parent_len(path, len);
	struct xsd_node *n, *parent;
	char *buf;
	int rc;

	if (len == 1)
		return -EINVAL; /* "/" */
	if ((rc = get_len(v, path, len, &n)) < 0)
		return rc;
	if (!n) {
		/* Already gone is fine, if the parent is there (as Xen). */
		if ((rc = missing(v, path, len)) == -EACCES)
			return rc;
		return peek(v, path, plen) ? 0 : -ENOENT;
	}
	if (!(xsd_perm_for(v->dom, n->perms, n->nperms) & XSD_PERM_WRITE))
		return -EACCES;
	if ((rc = get_len(v, path, plen, &parent)) < 0)
		return rc;
	if (!parent)
		return -ENOENT; /* a transaction's inconsistent view: it will not commit */
	if (!(buf = malloc(v->x->lim.max_path + XSD_LOCAL_PREFIX_MAX + 2)))
		return -ENOMEM;
	memcpy(buf, path, len);
	if ((rc = mut(v, &parent)) < 0 || (rc = mut(v, &n)) < 0 ||
	    (rc = rm_tree(v, buf, len, n, XSD_FIRE_TREE)) < 0) {
		half_done(v, rc);
		free(buf);
		return rc;
	}
	free(buf);
	kids_del(parent, path + (plen == 1 ? 1 : plen + 1), len - (plen == 1 ? 1 : plen + 1));
	touch(v, parent);
	return 0;
}

int xsd_set_perms(struct xsd_view *v, const char *path, const struct xsd_perm *p, uint32_t cnt)
{
	struct xsd_perm *np;
	struct xsd_node *n;
	int rc;

	if ((rc = xsd_lookup(v, path, XSD_PERM_WRITE | XSD_PERM_OWNER, &n)) < 0)
		return rc;
	/* A guest may not give its node away (it would dodge its quota). */
	if (v->dom != 0 && p[0].id != n->perms[0].id)
		return -EPERM;
	if ((rc = size_ok(v, cnt, n->vlen, n->kidslen)) < 0)
		return rc;
	if (!(np = memdup(p, cnt * sizeof(*p))) || (rc = mut(v, &n)) < 0) {
		free(np);
		return np ? rc : -ENOMEM;
	}
	account(v, n->perms[0].id, -1);
	account(v, np[0].id, 1);
	free(n->perms);
	n->perms = np;
	n->nperms = cnt;
	touch(v, n);
	changed(v, n, XSD_FIRE_TREE);
	return 0;
}

/* ---- transactions ------------------------------------------------------------------------ */

struct xsd_txn *xsd_txn_new(void)
{
	struct xsd_txn *t = calloc(1, sizeof(*t));

	if (t)
		t->tail = &t->first;
	return t;
}

void xsd_txn_free(struct xsd_txn *t)
{
	if (!t)
		return;
	while (t->first) {
		struct xsd_node *e = t->first;

		t->first = e->lnext;
		node_free(e);
	}
	free(t->map.b);
	free(t);
}

/* Returns 0, or -EAGAIN if a node it touched changed since, or the quota error.  The
 * caller frees t either way. */
int xsd_txn_commit(struct pv_xsd *x, struct xsd_txn *t, domid_t dom)
{
	struct xsd_node *e, *n, *fresh = NULL;
	size_t nfresh = 0;

	if (t->err)
		return t->err;
	for (e = t->first; e; e = e->lnext) {
		n = map_find(&x->store, e->path, e->plen, e->hash);
		if (e->base_exists ? !n || n->gen != e->base_gen : n != NULL) {
			x->st.conflicts++;
			return -EAGAIN;
		}
	}
	/* Another transaction or a direct write may have used the quota up meanwhile. */
	if (dom != 0 && t->delta > 0 && (long)x->owned[dom] + t->delta > (long)x->lim.max_nodes)
		return -ENOSPC;
	/* The new nodes are allocated first: past this point nothing can fail. */
	for (e = t->first; e; e = e->lnext) {
		if (e->modified && e->exists && !map_find(&x->store, e->path, e->plen, e->hash)) {
			if (!(n = node_alloc(e->path, e->plen, e->hash))) {
				while (fresh) {
					n = fresh;
					fresh = n->hnext;
					free(n);
				}
				return -ENOMEM;
			}
			n->hnext = fresh;
			fresh = n;
			nfresh++;
		}
	}
	if (map_reserve(&x->store, nfresh) < 0) {
		while (fresh) {
			n = fresh;
			fresh = n->hnext;
			free(n);
		}
		return -ENOMEM;
	}
	while (fresh) {
		n = fresh;
		fresh = n->hnext;
		map_add(&x->store, n);
	}
	for (e = t->first; e; e = e->lnext) {
		if (!e->modified)
			continue;
		n = map_find(&x->store, e->path, e->plen, e->hash);
		if (!e->exists) {
			if (n) {
				x->owned[n->perms[0].id]--;
				map_del(&x->store, n);
				node_free(n);
			}
			continue;
		}
		if (n->perms)
			x->owned[n->perms[0].id]--;
		free(n->perms);
		n->perms = e->perms;
		n->nperms = e->nperms;
		e->perms = NULL;
		free(n->value);
		free(n->kids);
		n->value = e->value;
		n->vlen = e->vlen;
		n->kids = e->kids;
		n->kidslen = e->kidslen;
		e->value = e->kids = NULL;
		n->gen = ++x->gen;
		x->owned[n->perms[0].id]++;
	}
	for (e = t->first; e; e = e->lnext) {
		if (!e->fire)
			continue;
		n = e->exists ? map_find(&x->store, e->path, e->plen, e->hash) : e;
		xsd_fire(x, e->path, n->perms, n->nperms, e->fire == XSD_FIRE_EXACT);
	}
	return 0;
}

/* ---- the store ---------------------------------------------------------------------------- */

int xsd_store_init(struct pv_xsd *x)
{
	static const char *const initial[] = { "/local", "/local/domain", "/tool" };
	struct xsd_view v = { .x = x };
	struct xsd_node *root = node_alloc("/", 1, path_hash(x, "/", 1));

	if (!root || !(root->value = memdup("", 0)) ||
	    !(root->perms = calloc(1, sizeof(*root->perms))) || map_add(&x->store, root) < 0) {
		if (root)
			node_free(root);
		return -ENOMEM;
	}
	root->nperms = 1; /* "n0" */
	root->gen = ++x->gen;
	x->owned[0]++;
	for (size_t i = 0; i < sizeof(initial) / sizeof(initial[0]); i++) {
		int rc = xsd_write(&v, initial[i], "", 0, true);

		if (rc < 0)
			return rc;
	}
	return 0;
}

void xsd_store_free(struct pv_xsd *x)
{
	for (size_t i = 0; i < x->store.nb; i++) {
		while (x->store.b[i]) {
			struct xsd_node *n = x->store.b[i];

			x->store.b[i] = n->hnext;
			node_free(n);
		}
	}
	free(x->store.b);
	x->store = (struct xsd_map){ 0 };
}
