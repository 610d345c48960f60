/* SPDX-License-Identifier: MIT */
/*
 * pv_gcache.c - the back end's persistent map cache (see pv_gcache.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pv_gcache.h"
#include "pv_ring.h" /* PV_PAGE_SIZE */

int pv_gcache_init(struct pv_gcache *c, struct pv_platform *p, domid_t peer,
		   unsigned int max, int writable)
{
	memset(c, 0, sizeof(*c));
	if (!max || max > (1u << 30))
		return -EINVAL;
	c->p = p;
	c->peer = peer;
	c->writable = writable != 0;
	c->max = max;
	for (c->size = 1; c->size < 2 * max; c->size *= 2)
		;
	c->tab = calloc(c->size, sizeof(*c->tab));
	c->scratch = calloc(c->size, sizeof(*c->scratch));
	c->chunks = calloc(max, sizeof(*c->chunks));
	c->uniq = calloc(max, sizeof(*c->uniq));
	if (!c->tab || !c->scratch || !c->chunks || !c->uniq)
		return -ENOMEM;
	return 0;
}

unsigned int pv_gcache_fini(struct pv_gcache *c)
{
	unsigned int i, n = 0;

	for (i = 0; c->chunks && i < c->nchunks; i++) {
		if (!c->chunks[i].addr)
			continue; /* evicted */
		pv_gnt_unmap(c->p, c->chunks[i].addr, c->chunks[i].count);
		n += c->chunks[i].count;
	}
	free(c->tab);
	free(c->scratch);
	free(c->chunks);
	free(c->uniq);
	memset(c, 0, sizeof(*c));
	return n;
}

static unsigned int hash(grant_ref_t ref, unsigned int size)
{
	return (ref * 2654435761u) & (size - 1);
}

/* The hash slot of ref, or -1. */
static int find(const struct pv_gcache *c, grant_ref_t ref)
{
	unsigned int i = hash(ref, c->size);

	/* Never more than half full, so an empty slot ends every probe. */
	while (c->tab[i].page) {
		if (c->tab[i].ref == ref)
			return (int)i;
		i = (i + 1) & (c->size - 1);
	}
	return -1;
}

static void insert(struct pv_gcache *c, grant_ref_t ref, uint32_t chunk, void *page)
{
	unsigned int i = hash(ref, c->size);

	while (c->tab[i].page)
		i = (i + 1) & (c->size - 1);
	c->tab[i] = (struct pv_gcache_ent){ .ref = ref, .chunk = chunk, .page = page };
	c->count++;
}

void *pv_gcache_get(struct pv_gcache *c, grant_ref_t ref, struct pv_gcache_pins *pins)
{
	struct pv_gcache_chunk *ch;
	int i;

	if (!c->tab || (i = find(c, ref)) < 0)
		return NULL;
	ch = &c->chunks[c->tab[i].chunk];
	if (pins && ch->pinned_at != c->clock) {
		/* A page the user cannot pin could be evicted under it: not given. */
		if (pins->n >= pins->cap)
			return NULL;
		ch->pinned_at = c->clock;
		ch->busy++;
		pins->chunk[pins->n++] = c->tab[i].chunk;
	}
	ch->last_use = c->clock;
	return c->tab[i].page;
}

void pv_gcache_unpin(struct pv_gcache *c, struct pv_gcache_pins *pins)
{
	unsigned int i;

	for (i = 0; i < pins->n; i++)
		if (pins->chunk[i] < c->nchunks && c->chunks[pins->chunk[i]].busy)
			c->chunks[pins->chunk[i]].busy--;
	pins->n = 0;
}

/*
 * Makes room for need more pages: unmaps the least recently used chunks that nobody pins
 * and the current tick did not touch, at least 1/16 of the cache at a time, then rebuilds
 * the hash without them.  Returns 1 if there is room now.
 */
static int evict(struct pv_gcache *c, unsigned int need, unsigned int *evicted)
{
	unsigned int want = need > c->max / 16 ? need : c->max / 16, i, any = 0;

	while (c->max - c->count < want) {
		struct pv_gcache_chunk *ch, *lru = NULL;

		for (i = 0; i < c->nchunks; i++) {
			ch = &c->chunks[i];
			if (ch->addr && !ch->busy && ch->last_use != c->clock &&
			    (!lru || ch->last_use < lru->last_use))
				lru = ch;
		}
		if (!lru)
			break;
		pv_gnt_unmap(c->p, lru->addr, lru->count);
		*evicted += lru->count;
		c->count -= lru->count;
		lru->addr = NULL;
		any = 1;
	}
	if (any) {
		memcpy(c->scratch, c->tab, (size_t)c->size * sizeof(*c->tab));
		memset(c->tab, 0, (size_t)c->size * sizeof(*c->tab));
		c->count = 0;
		for (i = 0; i < c->size; i++) {
			struct pv_gcache_ent *e = &c->scratch[i];

			if (e->page && c->chunks[e->chunk].addr)
				insert(c, e->ref, e->chunk, e->page);
		}
		while (c->nchunks && !c->chunks[c->nchunks - 1].addr)
			c->nchunks--;
	}
	return c->max - c->count >= need;
}

int pv_gcache_map(struct pv_gcache *c, const grant_ref_t *refs, unsigned int n,
		  unsigned int *evicted)
{
	unsigned int i, k, uniq = 0, slot, ev = 0;
	uint8_t *addr;
	void *a;
	int rc;

	if (evicted)
		*evicted = 0;
	if (!c->tab)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		if (find(c, refs[i]) >= 0)
			continue;
		for (k = 0; k < uniq && c->uniq[k] != refs[i]; k++)
			;
		if (k < uniq)
			continue;
		if (uniq == c->max)
			return -ENOBUFS;
		c->uniq[uniq++] = refs[i];
	}
	if (!uniq)
		return 0;
	rc = c->count + uniq > c->max && !evict(c, uniq, &ev);
	if (evicted)
		*evicted = ev;
	if (rc)
		return -ENOBUFS;
	for (slot = 0; slot < c->nchunks && c->chunks[slot].addr; slot++)
		;
	if (slot >= c->max)
		return -ENOBUFS;
	rc = pv_gnt_map(c->p, c->peer, uniq, c->uniq, c->writable, &a);
	if (rc < 0)
		return rc == -ENOBUFS ? -ENOMEM : rc; /* -ENOBUFS means "no room" here */
	addr = a;
	/* Used by this tick: not evicted for its own next misses, nor first in line later. */
	c->chunks[slot] = (struct pv_gcache_chunk){ .addr = addr, .count = uniq,
						    .last_use = c->clock };
	if (slot == c->nchunks)
		c->nchunks++;
	for (k = 0; k < uniq; k++)
		insert(c, c->uniq[k], slot, addr + (size_t)k * PV_PAGE_SIZE);
	return (int)uniq;
}
