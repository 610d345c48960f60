/* SPDX-License-Identifier: MIT */
/*
 * pv_ring.h - shared request/response rings, wire-compatible with Xen's io/ring.h.
 *
 * What the includer provides: nothing but a C11 compiler with GCC's __atomic builtins
 * (gcc, clang).  The header uses no libc function and needs no Xen header, so a guest
 * OS or unikernel can take it as it is.
 *
 * The layout of one ring (one or more contiguous pages shared by the two ends):
 *
 *     offset 0   req_prod  req_event  rsp_prod  rsp_event     (4 x uint32_t)
 *     offset 16  pvt[4]    pad[44]                            (io/ring.h: pvt, __pad)
 *     offset 64  entries: union { request; response; } x nr_ents
 *
 * nr_ents is the largest power of two that fits, computed by each end from the size
 * it agreed on (ring-page-order); it is never read from the shared page.
 *
 * The front end produces requests and consumes responses; the back end consumes
 * requests and produces responses.  Both use free-running 32-bit indices that wrap at
 * 2^32; the slot of index i is i & (nr_ents - 1).
 *
 * Usage, front end (one request, event-channel notification):
 *
 *     struct pv_ring_front f;
 *     pv_ring_front_init(&f, page, PV_PAGE_SIZE, sizeof(union pv_blkif_sring_entry));
 *     struct blkif_request *req = pv_blkif_front_req(&f, f.req_prod_pvt++);
 *     ... fill *req ...
 *     if (pv_ring_push_requests_and_check_notify(&f))
 *         kick the event channel;
 *
 * Back end: pv_ring_back_req_prod() reads the producer index once and rejects an
 * impossible one; each request is copied out with pv_blkif_back_copy_req() and only the
 * copy is validated; pv_ring_final_check_requests() closes the race with a producer that
 * is about to go to sleep.  Everything on the shared page may change under our feet:
 * the peer is not trusted.
 */
#ifndef PV_RING_H
#define PV_RING_H

#include <stddef.h>
#include <stdint.h>
#include <errno.h>

#define PV_PAGE_SHIFT 12
#define PV_PAGE_SIZE  (1u << PV_PAGE_SHIFT)

/* Largest ring-page-order pvio offers and accepts: 16 pages, as Linux blkback. */
#define PV_RING_MAX_PAGE_ORDER 4
#define PV_RING_MAX_PAGES      (1u << PV_RING_MAX_PAGE_ORDER)

typedef uint32_t pv_ring_idx_t;

/* The shared header.  Field for field io/ring.h's __name##_sring. */
struct pv_sring {
	pv_ring_idx_t req_prod, req_event;
	pv_ring_idx_t rsp_prod, rsp_event;
	uint8_t pvt[4];
	uint8_t pad[44];
	unsigned char ring[];
};

/* The front end's private indices (io/ring.h's __name##_front_ring). */
struct pv_ring_front {
	pv_ring_idx_t req_prod_pvt;
	pv_ring_idx_t rsp_cons;
	unsigned int nr_ents;
	struct pv_sring *sring;
};

/* The back end's private indices (io/ring.h's __name##_back_ring). */
struct pv_ring_back {
	pv_ring_idx_t rsp_prod_pvt;
	pv_ring_idx_t req_cons;
	unsigned int nr_ents;
	struct pv_sring *sring;
};

/*
 * Barriers, as io/ring.h's xen_mb/xen_rmb/xen_wmb.  The peer may run on another CPU
 * (another domain, another process), so these are real fences, not compiler barriers.
 */
#define pv_ring_mb()  __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define pv_ring_rmb() __atomic_thread_fence(__ATOMIC_ACQUIRE)
#define pv_ring_wmb() __atomic_thread_fence(__ATOMIC_RELEASE)
/* Keeps the compiler from re-reading shared memory in place of a private copy. */
#define pv_ring_barrier() __asm__ __volatile__("" ::: "memory")

/*
 * One look of a busy-polling loop: tells the CPU we spin (x86 PAUSE, arm YIELD), which
 * spares the sibling hyperthread and the memory-order flush on exit from the loop.
 * Spinners also sched_yield() every PV_RING_SPIN_YIELD_NS of spinning: with more
 * runnable threads than cores the peer may be waiting for our CPU, and a pure spin would
 * keep it waiting for the rest of our time slice (or the whole spin budget).  A yield
 * costs a system call (about 2 us in a PVM guest), so not much more often than that.
 */
#define PV_RING_SPIN_YIELD_NS 20000u
static inline void pv_ring_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__) || defined(__arm__)
	__asm__ __volatile__("yield" ::: "memory");
#else
	pv_ring_barrier();
#endif
}

/*
 * Shared indices are read and written with single, untorn accesses: the peer writes
 * them concurrently, and a value read once must be the value used.
 */
static inline pv_ring_idx_t _pv_ring_load(const pv_ring_idx_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static inline void _pv_ring_store(pv_ring_idx_t *p, pv_ring_idx_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELAXED);
}

/*
 * Number of entries of entsz bytes in a ring of the given size: the largest power of
 * two that fits after the 64-byte header (io/ring.h's __CONST_RING_SIZE).  Returns 0
 * when not even one entry fits.
 */
static inline unsigned int pv_ring_size(size_t ring_bytes, size_t entsz)
{
	size_t n;
	unsigned int p = 1;

	if (entsz == 0 || ring_bytes <= offsetof(struct pv_sring, ring))
		return 0;
	n = (ring_bytes - offsetof(struct pv_sring, ring)) / entsz;
	if (n == 0)
		return 0;
	if (n > 0x80000000u)
		n = 0x80000000u;
	while ((size_t)p * 2 <= n)
		p *= 2;
	return p;
}

/* Ring size for a ring of 2^order pages; 0 for an order pvio does not support. */
static inline unsigned int pv_ring_size_order(unsigned int order, size_t entsz)
{
	if (order > PV_RING_MAX_PAGE_ORDER)
		return 0;
	return pv_ring_size((size_t)PV_PAGE_SIZE << order, entsz);
}

/* Resets the shared header of a fresh ring (io/ring.h's SHARED_RING_INIT). */
static inline void pv_sring_init(struct pv_sring *s)
{
	unsigned int i;

	s->req_prod = s->rsp_prod = 0;
	s->req_event = s->rsp_event = 1;
	for (i = 0; i < sizeof(s->pvt); i++)
		s->pvt[i] = 0;
	for (i = 0; i < sizeof(s->pad); i++)
		s->pad[i] = 0;
}

/*
 * Attach to a ring whose shared indices are already live, with private indices at idx
 * (io/ring.h's FRONT_RING_ATTACH / BACK_RING_ATTACH): used to resume a ring, e.g. after
 * a backend restart.  Returns 0, or -EINVAL when no entry fits in ring_bytes.
 */
static inline int pv_ring_front_attach(struct pv_ring_front *r, struct pv_sring *s,
				       size_t ring_bytes, size_t entsz, pv_ring_idx_t idx)
{
	unsigned int n = pv_ring_size(ring_bytes, entsz);

	if (n == 0)
		return -EINVAL;
	r->req_prod_pvt = idx;
	r->rsp_cons = idx;
	r->nr_ents = n;
	r->sring = s;
	return 0;
}

static inline int pv_ring_back_attach(struct pv_ring_back *r, struct pv_sring *s,
				      size_t ring_bytes, size_t entsz, pv_ring_idx_t idx)
{
	unsigned int n = pv_ring_size(ring_bytes, entsz);

	if (n == 0)
		return -EINVAL;
	r->rsp_prod_pvt = idx;
	r->req_cons = idx;
	r->nr_ents = n;
	r->sring = s;
	return 0;
}

/* Front end creating a new ring: resets the shared header too (XEN_FRONT_RING_INIT). */
static inline int pv_ring_front_init(struct pv_ring_front *r, struct pv_sring *s,
				     size_t ring_bytes, size_t entsz)
{
	int rc = pv_ring_front_attach(r, s, ring_bytes, entsz, 0);

	if (rc == 0)
		pv_sring_init(s);
	return rc;
}

/* Back end joining a ring the front end initialised (BACK_RING_INIT). */
static inline int pv_ring_back_init(struct pv_ring_back *r, struct pv_sring *s,
				    size_t ring_bytes, size_t entsz)
{
	return pv_ring_back_attach(r, s, ring_bytes, entsz, 0);
}

/* Slot address of index idx in a ring of nr_ents entries of entsz bytes. */
static inline void *_pv_ring_slot(struct pv_sring *s, unsigned int nr_ents,
				  pv_ring_idx_t idx, size_t entsz)
{
	return s->ring + (size_t)(idx & (nr_ents - 1)) * entsz;
}

/* ---- front end ------------------------------------------------------------------- */

/* Requests the front end may still produce before it must consume responses. */
static inline unsigned int pv_ring_free_requests(const struct pv_ring_front *r)
{
	return r->nr_ents - (r->req_prod_pvt - r->rsp_cons);
}

static inline int pv_ring_full(const struct pv_ring_front *r)
{
	return pv_ring_free_requests(r) == 0;
}

/* Publishes produced requests without deciding about a notification (RING_PUSH_REQUESTS). */
static inline void pv_ring_push_requests(struct pv_ring_front *r)
{
	pv_ring_wmb(); /* back end sees the requests before the producer index */
	_pv_ring_store(&r->sring->req_prod, r->req_prod_pvt);
}

/*
 * Publishes produced requests.  Returns nonzero when the back end asked to be woken for
 * one of them (req_event lies in (old, new]), exactly as RING_PUSH_REQUESTS_AND_CHECK_NOTIFY.
 */
static inline int pv_ring_push_requests_and_check_notify(struct pv_ring_front *r)
{
	pv_ring_idx_t old = _pv_ring_load(&r->sring->req_prod);
	pv_ring_idx_t new_ = r->req_prod_pvt;

	pv_ring_wmb(); /* back end sees the requests before the producer index */
	_pv_ring_store(&r->sring->req_prod, new_);
	pv_ring_mb(); /* back end sees the new index before we read req_event */
	return (pv_ring_idx_t)(new_ - _pv_ring_load(&r->sring->req_event)) <
	       (pv_ring_idx_t)(new_ - old);
}

/*
 * Reads the back end's response producer index once, into *prod, and checks it: more
 * responses than requests in flight is a broken or hostile back end.
 * Returns the number of responses ready (0 or more), or -EOVERFLOW.
 * Response contents are safe to read after this returns (it includes the read barrier).
 */
static inline long pv_ring_front_rsp_prod(const struct pv_ring_front *r, pv_ring_idx_t *prod)
{
	pv_ring_idx_t p = _pv_ring_load(&r->sring->rsp_prod);

	pv_ring_rmb(); /* responses are read after the index that published them */
	if ((pv_ring_idx_t)(p - r->rsp_cons) > r->nr_ents)
		return -EOVERFLOW;
	*prod = p;
	return (long)(pv_ring_idx_t)(p - r->rsp_cons);
}

/* io/ring.h's RING_HAS_UNCONSUMED_RESPONSES (a count, as Xen's default). */
static inline unsigned int pv_ring_unconsumed_responses(const struct pv_ring_front *r)
{
	return _pv_ring_load(&r->sring->rsp_prod) - r->rsp_cons;
}

/*
 * Called when the front end has consumed every response it saw: asks to be notified at
 * the next one, then looks again.  Returns nonzero if responses arrived meanwhile (keep
 * going), zero if it is safe to wait for an event (RING_FINAL_CHECK_FOR_RESPONSES).
 */
static inline unsigned int pv_ring_final_check_responses(struct pv_ring_front *r)
{
	unsigned int work = pv_ring_unconsumed_responses(r);

	if (work)
		return work;
	_pv_ring_store(&r->sring->rsp_event, r->rsp_cons + 1);
	pv_ring_mb(); /* rsp_event is visible before we look at rsp_prod again */
	return pv_ring_unconsumed_responses(r);
}

/* ---- back end -------------------------------------------------------------------- */

/*
 * Reads the front end's request producer index once, into *prod, and checks it: a
 * producer more than a ring ahead of our responses is impossible for an honest front
 * end (RING_REQUEST_PROD_OVERFLOW).  On -EOVERFLOW the caller must stop using the
 * ring (blkback halts it and goes to Closing).  Request contents are safe to read after
 * this returns 0 (it includes the read barrier).
 */
static inline int pv_ring_back_req_prod(const struct pv_ring_back *r, pv_ring_idx_t *prod)
{
	pv_ring_idx_t p = _pv_ring_load(&r->sring->req_prod);

	pv_ring_rmb(); /* requests are read after the index that published them */
	if ((pv_ring_idx_t)(p - r->rsp_prod_pvt) > r->nr_ents)
		return -EOVERFLOW;
	*prod = p;
	return 0;
}

/*
 * Would consuming index cons overrun responses not yet produced?  The loop guard of
 * every consumer (RING_REQUEST_CONS_OVERFLOW): a full ring of requests must wait until
 * responses free their slots.
 */
static inline int pv_ring_req_cons_overflow(const struct pv_ring_back *r, pv_ring_idx_t cons)
{
	return (pv_ring_idx_t)(cons - r->rsp_prod_pvt) >= r->nr_ents;
}

/* io/ring.h's RING_HAS_UNCONSUMED_REQUESTS: bounded by the free response slots too. */
static inline unsigned int pv_ring_unconsumed_requests(const struct pv_ring_back *r)
{
	unsigned int req = _pv_ring_load(&r->sring->req_prod) - r->req_cons;
	unsigned int rsp = r->nr_ents - (r->req_cons - r->rsp_prod_pvt);

	return req < rsp ? req : rsp;
}

/* RING_FINAL_CHECK_FOR_REQUESTS; see pv_ring_final_check_responses(). */
static inline unsigned int pv_ring_final_check_requests(struct pv_ring_back *r)
{
	unsigned int work = pv_ring_unconsumed_requests(r);

	if (work)
		return work;
	_pv_ring_store(&r->sring->req_event, r->req_cons + 1);
	pv_ring_mb(); /* req_event is visible before we look at req_prod again */
	return pv_ring_unconsumed_requests(r);
}

/* Publishes produced responses without a notification decision (RING_PUSH_RESPONSES). */
static inline void pv_ring_push_responses(struct pv_ring_back *r)
{
	pv_ring_wmb(); /* front end sees the responses before the producer index */
	_pv_ring_store(&r->sring->rsp_prod, r->rsp_prod_pvt);
}

/* RING_PUSH_RESPONSES_AND_CHECK_NOTIFY; see pv_ring_push_requests_and_check_notify(). */
static inline int pv_ring_push_responses_and_check_notify(struct pv_ring_back *r)
{
	pv_ring_idx_t old = _pv_ring_load(&r->sring->rsp_prod);
	pv_ring_idx_t new_ = r->rsp_prod_pvt;

	pv_ring_wmb(); /* front end sees the responses before the producer index */
	_pv_ring_store(&r->sring->rsp_prod, new_);
	pv_ring_mb(); /* front end sees the new index before we read rsp_event */
	return (pv_ring_idx_t)(new_ - _pv_ring_load(&r->sring->rsp_event)) <
	       (pv_ring_idx_t)(new_ - old);
}

/*
 * PV_RING_DEFINE(name, req_t, rsp_t) declares the typed slot accessors of one protocol:
 *
 *   union pv_<name>_sring_entry                 one slot
 *   pv_<name>_ring_size(order)                  entries in a ring of 2^order pages
 *   pv_<name>_front_req(f, idx)                 request slot to fill
 *   pv_<name>_front_copy_rsp(f, idx, rsp)       response copied out of the shared page
 *   pv_<name>_back_copy_req(b, idx, req)        request copied out of the shared page
 *   pv_<name>_back_rsp(b, idx)                  response slot to fill
 *
 * The copy functions are the only way a consumer should read a slot: the peer can
 * rewrite it at any time, so the copy is taken once and only the copy is looked at.
 */
#define PV_RING_DEFINE(name, req_t, rsp_t)						\
union pv_##name##_sring_entry {								\
	req_t req;									\
	rsp_t rsp;									\
};											\
static inline unsigned int pv_##name##_ring_size(unsigned int order)			\
{											\
	return pv_ring_size_order(order, sizeof(union pv_##name##_sring_entry));	\
}											\
static inline req_t *pv_##name##_front_req(struct pv_ring_front *r, pv_ring_idx_t idx)	\
{											\
	return &((union pv_##name##_sring_entry *)_pv_ring_slot(r->sring, r->nr_ents,	\
		idx, sizeof(union pv_##name##_sring_entry)))->req;			\
}											\
static inline void pv_##name##_front_copy_rsp(const struct pv_ring_front *r,		\
					      pv_ring_idx_t idx, rsp_t *dst)		\
{											\
	const union pv_##name##_sring_entry *e = (const union pv_##name##_sring_entry *)\
		_pv_ring_slot(r->sring, r->nr_ents, idx,				\
			      sizeof(union pv_##name##_sring_entry));			\
	__builtin_memcpy(dst, &e->rsp, sizeof(*dst));					\
	pv_ring_barrier();								\
}											\
static inline rsp_t *pv_##name##_back_rsp(struct pv_ring_back *r, pv_ring_idx_t idx)	\
{											\
	return &((union pv_##name##_sring_entry *)_pv_ring_slot(r->sring, r->nr_ents,	\
		idx, sizeof(union pv_##name##_sring_entry)))->rsp;			\
}											\
static inline void pv_##name##_back_copy_req(const struct pv_ring_back *r,		\
					     pv_ring_idx_t idx, req_t *dst)		\
{											\
	const union pv_##name##_sring_entry *e = (const union pv_##name##_sring_entry *)\
		_pv_ring_slot(r->sring, r->nr_ents, idx,				\
			      sizeof(union pv_##name##_sring_entry));			\
	__builtin_memcpy(dst, &e->req, sizeof(*dst));					\
	pv_ring_barrier();								\
}											\
struct pv_##name##_ring_sizes_unused /* swallows the caller's semicolon */

#endif /* PV_RING_H */
