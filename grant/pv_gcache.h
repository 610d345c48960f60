/* SPDX-License-Identifier: MIT */
/*
 * pv_gcache.h - the back end's persistent map cache: pages another domain granted,
 * mapped once and kept, looked up by grant ref, bounded, least recently used evicted.
 *
 * One cache per ring (no lock: the ring's thread owns it).  Pages mapped by one call form
 * a chunk, unmapped together and so evicted together.  A user (a request) works in ticks:
 *
 *   pv_gcache_tick(c);                          a new request
 *   page = pv_gcache_get(c, ref, &pins);        hit: marked used, its chunk pinned
 *   n = pv_gcache_map(c, refs, k, &evicted);    misses: one map call for the new refs
 *   ... I/O ...
 *   pv_gcache_unpin(c, &pins);                  the request finished
 *
 * A pinned chunk (a request in flight uses it) and a chunk the current tick touched are
 * never evicted.  When full, eviction frees at least a sixteenth of the cache at once, as
 * Linux's blkback purges a share of its grants, so that it does not run per request; the
 * hash is rebuilt then, which is the only O(size) step.  Lookups are an open-addressed
 * hash never more than half full.  No allocation after init; refs are untrusted values
 * and only ever used as keys or passed to pv_gnt_map(), which refuses bad ones.
 */
#ifndef PV_GCACHE_H
#define PV_GCACHE_H

#include <stdint.h>

#include "pv_platform.h"

struct pv_gcache_ent {
	grant_ref_t ref;
	uint32_t chunk;  /* index in chunks[] */
	void *page;      /* NULL: an empty hash slot */
};

struct pv_gcache_chunk {
	void *addr;         /* NULL: a free entry (evicted) */
	unsigned int count;
	unsigned int busy;  /* users that pinned it: not evictable */
	uint64_t last_use;  /* the tick that last used it */
	uint64_t pinned_at; /* the tick that last counted itself in busy */
};

/* A user's pins: storage the caller owns, cap >= the pages one tick may look up. */
struct pv_gcache_pins {
	uint32_t *chunk;
	unsigned int n, cap;
};

struct pv_gcache {
	struct pv_platform *p;
	domid_t peer;
	int writable;
	unsigned int max;     /* pages at most */
	unsigned int count;   /* pages mapped */
	unsigned int size;    /* hash slots: a power of two >= 2 * max */
	unsigned int nchunks; /* chunks[] in use (evicted ones inside included) */
	uint64_t clock;       /* the current tick */
	struct pv_gcache_ent *tab, *scratch;
	struct pv_gcache_chunk *chunks; /* [max] */
	grant_ref_t *uniq;              /* [max]: the distinct refs of one map call */
};

/*
 * Sets c up for at most max pages granted by peer, mapped writable (writable = 1: a page
 * then serves reads and writes alike) or read-only.  Returns 0, -EINVAL (max 0 or above
 * 2^30) or -ENOMEM (c then still safe to pass to pv_gcache_fini()).
 */
int pv_gcache_init(struct pv_gcache *c, struct pv_platform *p, domid_t peer,
		   unsigned int max, int writable);

/* Unmaps every page and frees the tables.  Returns the pages unmapped; safe to repeat. */
unsigned int pv_gcache_fini(struct pv_gcache *c);

/* A new user: what it touches from now on is not evicted for its own misses. */
static inline void pv_gcache_tick(struct pv_gcache *c)
{
	c->clock++;
}

/*
 * The mapped page of ref, or NULL (not cached, or pins full).  Marks it used by the
 * current tick; with pins, also pins its chunk (once per tick) until pv_gcache_unpin().
 */
void *pv_gcache_get(struct pv_gcache *c, grant_ref_t ref, struct pv_gcache_pins *pins);

/*
 * Makes the refs present: maps, in one pv_gnt_map() call, those of refs[0..n) not cached
 * yet (duplicates counted once), evicting least recently used unpinned chunks to make
 * room.  Nothing is pinned: pv_gcache_get() them next.  Returns the pages mapped (0: all
 * were cached), -ENOBUFS when they cannot fit (more than max, or the rest is pinned or in
 * use by this tick; map them some other way), or pv_gnt_map()'s -errno (a bad or
 * ungranted ref: nothing mapped).  *evicted (may be NULL) gets the pages evicted, which
 * happens even when the call then fails.
 */
int pv_gcache_map(struct pv_gcache *c, const grant_ref_t *refs, unsigned int n,
		  unsigned int *evicted);

/* Releases the chunks pins holds; pins is empty after. */
void pv_gcache_unpin(struct pv_gcache *c, struct pv_gcache_pins *pins);

static inline unsigned int pv_gcache_count(const struct pv_gcache *c)
{
	return c->count;
}

#endif /* PV_GCACHE_H */
