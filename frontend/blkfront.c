/* SPDX-License-Identifier: MIT */
/*
 * blkfront.c - the data path: ios split into ring requests, granted pages (a persistent
 * pool, or grants per request), responses checked against a table of requests in flight.
 *
 * The back end is untrusted.  A response is copied off the ring once
 * (pv_blkif_front_copy_rsp) and only the copy is looked at; its id must name a slot of
 * this ring that is in flight with the same generation, its operation must be the one we
 * sent and its status one of the three blkif defines.  Anything else makes the device
 * fail with -EPROTO: every io in flight completes with -EPROTO and nothing of the ring is
 * read again.  Data always moves through pages we granted (never the caller's buffer), so
 * a back end that misbehaves after an io completed cannot reach the caller's memory.
 *
 * Costs per request: no allocation; with persistent grants no grant operation either
 * (one memcpy per page in and out); without, one pv_gnt_share() and one
 * pv_gnt_unshare() per request, batched over all its pages.  Notifications: one per
 * ring per kick, and only when the back end asked for one.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "blkfront_priv.h"

/* The library's bookkeeping in pv_blkfront_io._priv. */
#define IO_CURSOR(io) ((io)->_priv[0]) /* bytes (flush, discard: 0 or 1) issued */
#define IO_TOTAL(io)  ((io)->_priv[1]) /* what there is to issue */
#define IO_OUT(io)    ((io)->_priv[2]) /* ring requests outstanding */
#define IO_STATUS(io) ((io)->_priv[3]) /* 0, or the first error, negated */


/* ---- setup --------------------------------------------------------------------------- */

/* Indirect segments per request (0: direct requests only) and what follows from it. */
static void set_segs(struct pv_blkfront *bf, unsigned int indirect)
{
	if (indirect <= BLKIF_MAX_SEGMENTS_PER_REQUEST)
		indirect = 0; /* not worth an indirect page */
	bf->info.indirect_segments = indirect;
	bf->max_segs = indirect ? indirect : BLKIF_MAX_SEGMENTS_PER_REQUEST;
	/* <= 256 segments fit one indirect page */
	bf->max_req_pages = indirect ? indirect + 1 : BLKIF_MAX_SEGMENTS_PER_REQUEST;
}

/*
 * pv_gref_pools_share()'s question: the pages queue i's pool wants when a pool may have
 * budget pages.  Requests are made smaller until the largest fits in the budget.
 */
static int pool_want(void *opaque, unsigned int i, unsigned int budget)
{
	struct pv_blkfront *bf = opaque;
	size_t want;

	while (bf->info.indirect_segments && bf->max_req_pages > budget)
		set_segs(bf, bf->info.indirect_segments / 2);
	if (bf->max_req_pages > budget)
		return -ENOSPC;
	want = (size_t)bf->q[i].ring.nr_ents * bf->max_req_pages;
	return want < budget ? (int)want : (int)budget;
}

int bf_data_init(struct pv_blkfront *bf)
{
	struct pv_gref_pool *pools[BF_MAX_QUEUES];
	unsigned int i, j, budget, nq = bf->nq ? bf->nq : 1;
	int rc;

	/*
	 * The device's budget, less the rings (granted already), shared by the queues.  The
	 * guest may have fewer grants than that to give (gntalloc's limit, other users): then
	 * every pool is halved, and requests made smaller to fit, until the pools are granted.
	 */
	budget = pv_gref_budget(BF_DEVICE_PAGE_BUDGET, nq << bf->ring_order, nq);
	set_segs(bf, bf->info.indirect_segments);
	for (i = 0; i < bf->nq; i++) {
		struct bf_queue *q = &bf->q[i];
		unsigned int n = q->ring.nr_ents;

		q->slots = calloc(n, sizeof(*q->slots));
		q->free_slots = malloc(n * sizeof(*q->free_slots));
		if (!q->slots || !q->free_slots)
			return -ENOMEM;
		/* The device's handle: a domain has one grant table (the sim's is one process's). */
		rc = pv_gref_pool_init(&q->gp, bf->xb.p, bf->xb.backend_id, budget, bf->info.persistent);
		if (rc < 0)
			return rc;
		pools[i] = &q->gp;
		/* Pushed in reverse so that slot 0 is used first: easier to read in a trace. */
		for (j = 0; j < n; j++)
			q->free_slots[j] = n - 1 - j;
		q->nfree_slots = n;
	}
	rc = pv_gref_pools_share(pools, bf->nq, budget, BLKIF_MAX_SEGMENTS_PER_REQUEST, pool_want, bf);
	if (rc < 0)
		return rc;
	if (!bf->info.persistent)
		return 0;
	for (i = 0; i < bf->nq; i++) {
		struct bf_queue *q = &bf->q[i];
		unsigned int n = q->ring.nr_ents;

		q->slot_pages = malloc((size_t)n * bf->max_req_pages * sizeof(*q->slot_pages));
		if (!q->slot_pages)
			return -ENOMEM;
		for (j = 0; j < n; j++)
			q->slots[j].pages = q->slot_pages + (size_t)j * bf->max_req_pages;
		bf->st.grants_shared += q->gp.pages;
	}
	return 0;
}

/*
 * Per-request grants are shared and ended on the device's platform handle, which queue
 * lanes' threads use together: one at a time.  Persistent grants need no lock (no grant
 * operation after connect), nor does a handle without queue lanes.
 */
static void gnt_lock(struct pv_blkfront *bf)
{
	if (bf->own_handles)
		pthread_mutex_lock(&bf->gnt_lock);
}

static void gnt_unlock(struct pv_blkfront *bf)
{
	if (bf->own_handles)
		pthread_mutex_unlock(&bf->gnt_lock);
}

/* Ends per-request grants with a short grace period for a back end still unmapping. */
static int unshare_req(struct pv_blkfront *bf, struct pv_blkfront_stats *st, struct bf_queue *q,
		       void *addr, unsigned int count, unsigned int tries)
{
	int rc;

	gnt_lock(bf);
	rc = pv_gref_unshare_req(&q->gp, addr, count, tries);
	gnt_unlock(bf);
	if (rc < 0)
		return -EBUSY;
	st->grants_shared += count;
	return 0;
}

unsigned int bf_retry_stuck(struct pv_blkfront *bf)
{
	unsigned int i, j, left = 0;

	for (i = 0; i < bf->nq; i++) {
		struct bf_queue *q = &bf->q[i];

		for (j = 0; q->slots && j < q->ring.nr_ents; j++) {
			struct bf_slot *s = &q->slots[j];

			if (s->state != BF_SLOT_STUCK)
				continue;
			if (unshare_req(bf, &bf->st, q, s->shared, s->npages, 100) < 0) {
				left++;
				continue;
			}
			s->shared = NULL;
			s->state = BF_SLOT_FREE;
			q->stuck--;
			q->free_slots[q->nfree_slots++] = j;
		}
	}
	return left;
}

int bf_data_free(struct pv_blkfront *bf)
{
	unsigned int i;
	int busy = 0;

	for (i = 0; i < BF_MAX_QUEUES; i++) {
		struct bf_queue *q = &bf->q[i];
		int rc = pv_gref_pool_fini(&q->gp, 200);

		if (rc < 0)
			busy = 1; /* left to pv_platform_close() */
		else
			bf->st.grants_shared += (unsigned int)rc;
		free(q->slots);
		free(q->free_slots);
		free(q->slot_pages);
		q->slots = NULL;
		q->free_slots = NULL;
		q->slot_pages = NULL;
		q->nfree_slots = q->inflight = q->stuck = 0;
	}
	return busy;
}

static unsigned int lane_inflight(const struct bf_lane *l)
{
	unsigned int i, n = 0;

	for (i = l->first; i < l->first + l->n; i++)
		n += l->bf->q[i].inflight;
	return n;
}

unsigned int bf_inflight(const struct pv_blkfront *bf)
{
	return lane_inflight(&bf->all);
}

int bf_backlogged(const struct pv_blkfront *bf)
{
	unsigned int i;

	for (i = 0; i < bf->nq; i++)
		if (bf->lane[i].backlog)
			return 1;
	return bf->all.backlog != NULL;
}

/*
 * The first failure wins; the others' threads learn it from bf_failed() and, asleep in
 * a poll, from fail_efd, which stays readable from then on.
 */
static void bf_set_failed(struct pv_blkfront *bf, int status)
{
	int zero = 0;
	uint64_t one = 1;

	if (__atomic_compare_exchange_n(&bf->failed, &zero, status, 0, __ATOMIC_ACQ_REL,
					__ATOMIC_ACQUIRE) && bf->fail_efd >= 0)
		(void)!write(bf->fail_efd, &one, sizeof(one));
}

/* ---- issuing requests ---------------------------------------------------------------- */

/*
 * Puts the next piece of io on a ring.  Returns 1 when a request was produced, 0 when
 * no ring has room (a slot and, for data, a page), or -errno.
 */
static int issue_one(struct bf_lane *l, struct pv_blkfront_io *io)
{
	struct pv_blkfront *bf = l->bf;
	struct bf_queue *q = NULL;
	struct bf_slot *s;
	struct blkif_request req;
	struct blkif_request_segment *segs = req.seg;
	grant_ref_t refs[BF_MAX_REQ_PAGES];
	unsigned int i, k, idx, ndata = 0, npages = 0, avail = 0, is_data;
	uint64_t id, remaining = 0;
	uint8_t *base = NULL;
	int rc;

	is_data = io->op == PV_BLKFRONT_READ || io->op == PV_BLKFRONT_WRITE;
	for (k = 0; k < l->n; k++) {
		struct bf_queue *c = &bf->q[l->first + (l->next_q + k) % l->n];

		if (!c->nfree_slots)
			continue;
		if (is_data && (avail = pv_gref_avail(&c->gp)) == 0)
			continue;
		q = c;
		l->next_q = (l->next_q + k + 1) % l->n;
		break;
	}
	if (!q)
		return 0;

	if (is_data) {
		remaining = IO_TOTAL(io) - IO_CURSOR(io);
		ndata = (unsigned int)((remaining + PV_PAGE_SIZE - 1) / PV_PAGE_SIZE > bf->max_segs ?
				       bf->max_segs : (remaining + PV_PAGE_SIZE - 1) / PV_PAGE_SIZE);
		if (ndata > avail)
			ndata = avail;
		/* More than a direct request holds needs an indirect page as well. */
		if (ndata > BLKIF_MAX_SEGMENTS_PER_REQUEST && ndata + 1 > avail)
			ndata = avail - 1;
		npages = ndata + (ndata > BLKIF_MAX_SEGMENTS_PER_REQUEST);
		if (remaining > (uint64_t)ndata * PV_PAGE_SIZE)
			remaining = (uint64_t)ndata * PV_PAGE_SIZE;
		if (!bf->info.persistent) {
			/*
			 * One grant operation for the request.  A write's pages are only read by
			 * the back end: grant them read-only, as Linux does.
			 */
			gnt_lock(bf);
			rc = pv_gref_share_req(&q->gp, npages, io->op == PV_BLKFRONT_READ, refs,
					       (void **)&base);
			gnt_unlock(bf);
			if (rc < 0)
				/* Out of grants or memory: wait for requests in flight to give some back. */
				return (rc == -ENOSPC || rc == -ENOMEM) && lane_inflight(l) ? 0 : rc;
			l->st.grants_shared += npages;
		}
	}

	idx = q->free_slots[--q->nfree_slots];
	s = &q->slots[idx];
	s->gen++;
	id = ((uint64_t)s->gen << BF_ID_SLOT_BITS) | idx;
	s->io = io;
	s->buf_off = IO_CURSOR(io);
	s->len = (uint32_t)remaining;
	s->npages = (uint16_t)npages;
	s->ndata = (uint16_t)ndata;
	s->shared = base;
	s->state = BF_SLOT_BUSY;
	memset(&req, 0, sizeof(req));

	if (is_data) {
		const uint8_t *src = (const uint8_t *)io->buf + s->buf_off;

		/* With an indirect page (the last one), its segments replace req.seg. */
		for (i = 0; i < npages; i++) {
			uint8_t *page;

			if (bf->info.persistent) {
				/* npages <= pv_gref_avail(): never fails */
				uint32_t pg = (uint32_t)pv_gref_get(&q->gp);

				s->pages[i] = pg;
				refs[i] = pv_gref_ref(&q->gp, pg);
				page = pv_gref_page(&q->gp, pg);
				l->st.persistent_hits += i < ndata;
			} else {
				page = base + (size_t)i * PV_PAGE_SIZE;
			}
			if (i == ndata) {
				segs = (struct blkif_request_segment *)page;
				break;
			}
			if (io->op == PV_BLKFRONT_WRITE) {
				uint64_t n = s->len - (uint64_t)i * PV_PAGE_SIZE;

				memcpy(page, src + (size_t)i * PV_PAGE_SIZE, n < PV_PAGE_SIZE ? n : PV_PAGE_SIZE);
			}
		}
		for (i = 0; i < ndata; i++) {
			uint64_t n = s->len - (uint64_t)i * PV_PAGE_SIZE;

			if (n > PV_PAGE_SIZE)
				n = PV_PAGE_SIZE;
			segs[i] = (struct blkif_request_segment){
				.gref = refs[i], .first_sect = 0,
				.last_sect = (uint8_t)((n >> PV_BLKIF_SECTOR_SHIFT) - 1),
			};
		}
		s->op = io->op == PV_BLKFRONT_READ ? BLKIF_OP_READ : BLKIF_OP_WRITE;
		s->alt_op = s->op;
		if (npages > ndata) {
			struct blkif_request_indirect *ind = (struct blkif_request_indirect *)&req;

			ind->operation = BLKIF_OP_INDIRECT;
			ind->indirect_op = s->op;
			ind->nr_segments = (uint16_t)ndata;
			ind->id = id;
			ind->sector_number = (io->offset + s->buf_off) >> PV_BLKIF_SECTOR_SHIFT;
			ind->handle = (blkif_vdev_t)bf->devid;
			ind->indirect_grefs[0] = refs[ndata];
			/* Linux's blkback answers with the inner operation; accept INDIRECT too. */
			s->alt_op = BLKIF_OP_INDIRECT;
			l->st.indirect_requests++;
		} else {
			req.operation = s->op;
			req.nr_segments = (uint8_t)ndata;
			req.handle = (blkif_vdev_t)bf->devid;
			req.id = id;
			req.sector_number = (io->offset + s->buf_off) >> PV_BLKIF_SECTOR_SHIFT;
		}
		IO_CURSOR(io) += s->len;
	} else if (io->op == PV_BLKFRONT_FLUSH) {
		s->op = s->alt_op = bf->info.flush ? BLKIF_OP_FLUSH_DISKCACHE : BLKIF_OP_WRITE_BARRIER;
		req.operation = s->op;
		req.handle = (blkif_vdev_t)bf->devid;
		req.id = id;
		IO_CURSOR(io) = IO_TOTAL(io);
	} else {
		struct blkif_request_discard *d = (struct blkif_request_discard *)&req;

		s->op = s->alt_op = BLKIF_OP_DISCARD;
		d->operation = BLKIF_OP_DISCARD;
		d->handle = (blkif_vdev_t)bf->devid;
		d->id = id;
		d->sector_number = io->offset >> PV_BLKIF_SECTOR_SHIFT;
		d->nr_sectors = io->len >> PV_BLKIF_SECTOR_SHIFT;
		IO_CURSOR(io) = IO_TOTAL(io);
	}
	/* Built privately, stored once: the slot is the back end's to read, not ours. */
	memcpy(pv_blkif_front_req(&q->ring, q->ring.req_prod_pvt), &req, sizeof(req));
	q->ring.req_prod_pvt++;
	q->unpushed = 1;
	q->inflight++;
	IO_OUT(io)++;
	l->st.requests++;
	return 1;
}

/*
 * Issues as much of io as fits.  Returns the number of requests produced, or -errno when
 * none of io is on a ring.  Once part of it is, a failure to issue the rest is io's status,
 * delivered by done() when the parts in flight complete: the caller may not free an io
 * the back end still answers for.
 */
static int issue(struct bf_lane *l, struct pv_blkfront_io *io)
{
	int n = 0, rc;

	while (IO_CURSOR(io) < IO_TOTAL(io)) {
		rc = issue_one(l, io);
		if (rc < 0 && IO_OUT(io)) {
			if (!IO_STATUS(io))
				IO_STATUS(io) = (uint64_t)(int64_t)rc;
			IO_CURSOR(io) = IO_TOTAL(io);
			return n ? n : 1;
		}
		if (rc <= 0)
			return rc < 0 ? rc : n;
		n++;
	}
	return n;
}

static int lane_kick(struct bf_lane *l)
{
	struct pv_blkfront *bf = l->bf;
	unsigned int i;
	int rc = 0, failed = bf_failed(bf);

	if (!bf->connected || failed)
		return failed ? failed : -ENOTCONN;
	for (i = l->first; i < l->first + l->n; i++) {
		struct bf_queue *q = &bf->q[i];

		if (!q->unpushed)
			continue;
		q->unpushed = 0;
		if (pv_ring_push_requests_and_check_notify(&q->ring)) {
			int r = pv_evtchn_notify(q->p, q->port);

			if (r < 0)
				rc = r;
			l->st.kicks++;
		}
	}
	return rc;
}

int pv_blkfront_kick(struct pv_blkfront *bf)
{
	if (!bf)
		return -EINVAL;
	return lane_kick(&bf->all);
}

static int io_status(int16_t st)
{
	return st == BLKIF_RSP_OKAY ? 0 : st == BLKIF_RSP_EOPNOTSUPP ? -EOPNOTSUPP : -EIO;
}

/* One ring request of io finished with status; calls done() when it was the last. */
static int io_part_done(struct bf_lane *l, struct pv_blkfront_io *io, int status)
{
	if (status && !IO_STATUS(io))
		IO_STATUS(io) = (uint64_t)(int64_t)status;
	IO_OUT(io)--;
	if (IO_STATUS(io) && io == l->backlog) {
		/* No point issuing the rest of an io that already failed. */
		IO_CURSOR(io) = IO_TOTAL(io);
		l->backlog = NULL;
	}
	if (IO_OUT(io) || IO_CURSOR(io) < IO_TOTAL(io))
		return 0;
	if (io->done)
		io->done(io, (int)(int64_t)IO_STATUS(io));
	return 1;
}

static int validate(struct pv_blkfront *bf, struct pv_blkfront_io *io)
{
	const struct pv_blkfront_info *in = &bf->info;
	uint64_t size = __atomic_load_n(&in->sectors, __ATOMIC_RELAXED) << PV_BLKIF_SECTOR_SHIFT;

	switch (io->op) {
	case PV_BLKFRONT_READ:
	case PV_BLKFRONT_WRITE:
		if (!io->buf)
			return -EINVAL;
		break;
	case PV_BLKFRONT_FLUSH:
		return in->flush || in->barrier ? 0 : -EINVAL;
	case PV_BLKFRONT_DISCARD:
		if (!in->discard)
			return -EINVAL;
		break;
	default:
		return -EINVAL;
	}
	if (io->op != PV_BLKFRONT_READ && in->readonly)
		return -EROFS;
	if (!io->len || io->offset % in->sector_size || io->len % in->sector_size)
		return -EINVAL;
	if (io->offset > size || io->len > size - io->offset)
		return -EINVAL;
	return 0;
}

static int lane_submit(struct bf_lane *l, struct pv_blkfront_io *io)
{
	struct pv_blkfront *bf = l->bf;
	int rc = bf_failed(bf);

	if (!io)
		return -EINVAL;
	if (rc)
		return rc;
	if (!bf->connected)
		return -ENOTCONN;
	rc = validate(bf, io);
	if (rc < 0)
		return rc;
	/* One io at a time may be partly issued; the rest wait their turn (ordering). */
	if (l->backlog)
		return -EAGAIN;
	IO_CURSOR(io) = 0;
	IO_TOTAL(io) = io->op == PV_BLKFRONT_READ || io->op == PV_BLKFRONT_WRITE ? io->len : 1;
	IO_OUT(io) = 0;
	IO_STATUS(io) = 0;
	rc = issue(l, io);
	if (rc < 0)
		return rc;
	if (rc == 0)
		return -EAGAIN;
	if (IO_CURSOR(io) < IO_TOTAL(io))
		l->backlog = io;
	return 0;
}

int pv_blkfront_submit(struct pv_blkfront *bf, struct pv_blkfront_io *io)
{
	if (!bf)
		return -EINVAL;
	return lane_submit(&bf->all, io);
}

/* ---- responses ----------------------------------------------------------------------- */

static void release_slot(struct bf_lane *l, struct bf_queue *q, struct bf_slot *s,
			 uint32_t idx)
{
	unsigned int i;

	if (l->bf->info.persistent) {
		for (i = 0; i < s->npages; i++)
			pv_gref_put(&q->gp, s->pages[i]);
	} else if (s->shared) {
		/* A back end that answered but still maps the pages: keep the slot out of use. */
		if (unshare_req(l->bf, &l->st, q, s->shared, s->npages, 0) < 0) {
			s->state = BF_SLOT_STUCK;
			q->stuck++;
			return;
		}
		s->shared = NULL;
	}
	s->state = BF_SLOT_FREE;
	q->free_slots[q->nfree_slots++] = idx;
}

/* Consumes q's responses.  Returns ios completed, or -EPROTO. */
static int process_queue(struct bf_lane *l, struct bf_queue *q)
{
	struct pv_blkfront *bf = l->bf;
	pv_ring_idx_t prod, i;
	int completed = 0;
	long n;

	n = pv_ring_front_rsp_prod(&q->ring, &prod);
	if (n < 0) {
		l->st.bad_responses++;
		return -EPROTO;
	}
	for (i = q->ring.rsp_cons; i != prod; i++) {
		struct blkif_response rsp;
		struct pv_blkfront_io *io;
		struct bf_slot *s;
		uint32_t idx;
		int status;

		pv_blkif_front_copy_rsp(&q->ring, i, &rsp);
		q->ring.rsp_cons = i + 1;
		idx = (uint32_t)(rsp.id & BF_ID_SLOT_MASK);
		s = idx < q->ring.nr_ents ? &q->slots[idx] : NULL;
		if (!s || s->state != BF_SLOT_BUSY || (rsp.id >> BF_ID_SLOT_BITS) != s->gen ||
		    (rsp.operation != s->op && rsp.operation != s->alt_op) ||
		    rsp.status < BLKIF_RSP_EOPNOTSUPP || rsp.status > BLKIF_RSP_OKAY) {
			l->st.bad_responses++;
			return -EPROTO;
		}
		l->st.responses++;
		io = s->io;
		status = io_status(rsp.status);
		if (status)
			l->st.errors++;
		if (status == 0 && s->op == BLKIF_OP_READ) {
			uint8_t *dst = (uint8_t *)io->buf + s->buf_off;
			unsigned int k;

			for (k = 0; k < s->ndata; k++) {
				uint64_t len = s->len - (uint64_t)k * PV_PAGE_SIZE;
				const uint8_t *page = bf->info.persistent ?
					(const uint8_t *)pv_gref_page(&q->gp, s->pages[k]) :
					(const uint8_t *)s->shared + (size_t)k * PV_PAGE_SIZE;

				memcpy(dst + (size_t)k * PV_PAGE_SIZE, page,
				       len < PV_PAGE_SIZE ? len : PV_PAGE_SIZE);
			}
		}
		s->io = NULL;
		q->inflight--;
		release_slot(l, q, s, idx);
		/* done() may submit more: everything above is consistent by now. */
		completed += io_part_done(l, io, status);
	}
	return completed;
}

/* Fails l's partly issued io; the parts on the rings complete it when they are failed. */
static int fail_backlog(struct bf_lane *l, int status)
{
	struct pv_blkfront_io *io = l->backlog;

	if (!io)
		return 0;
	l->backlog = NULL;
	IO_CURSOR(io) = IO_TOTAL(io);
	if (IO_OUT(io))
		return 0;
	IO_OUT(io) = 1;
	return io_part_done(l, io, status);
}

/* Completes every ring request in flight on l's queues with status. */
static int fail_slots(struct bf_lane *l, int status)
{
	struct pv_blkfront *bf = l->bf;
	struct pv_blkfront_io *io;
	unsigned int i, j;
	int completed = 0;

	for (i = l->first; i < l->first + l->n; i++) {
		struct bf_queue *q = &bf->q[i];

		for (j = 0; q->slots && j < q->ring.nr_ents; j++) {
			struct bf_slot *s = &q->slots[j];

			if (s->state != BF_SLOT_BUSY)
				continue;
			io = s->io;
			s->io = NULL;
			q->inflight--;
			/*
			 * The back end may still write these pages: per-request grants are ended
			 * at disconnect (STUCK until then); pool pages simply stay out of use.
			 */
			if (s->shared) {
				s->state = BF_SLOT_STUCK;
				q->stuck++;
			} else {
				s->state = BF_SLOT_FREE;
			}
			completed += io_part_done(l, io, status);
		}
	}
	return completed;
}

int bf_fail_all(struct pv_blkfront *bf, int status)
{
	unsigned int i;
	int completed = 0;

	bf_set_failed(bf, status);
	for (i = 0; i < BF_MAX_QUEUES; i++)
		completed += fail_backlog(&bf->lane[i], status);
	completed += fail_backlog(&bf->all, status);
	return completed + fail_slots(&bf->all, status);
}

/*
 * The device failed: l's ios complete with status.  A queue's lane fails its own ios
 * only: the other queues' belong to other threads, which see bf_failed() themselves.
 */
static int lane_fail(struct bf_lane *l, int status)
{
	if (l == &l->bf->all)
		return bf_fail_all(l->bf, status);
	bf_set_failed(l->bf, status);
	return fail_backlog(l, status) + fail_slots(l, status);
}

static void pump_backlog(struct bf_lane *l)
{
	struct pv_blkfront_io *io = l->backlog;
	int rc;

	if (!io)
		return;
	rc = issue(l, io);
	if (rc < 0) {
		/* Cannot issue the rest (say, grants ran out with nothing in flight). */
		l->backlog = NULL;
		IO_CURSOR(io) = IO_TOTAL(io);
		IO_OUT(io)++;
		io_part_done(l, io, rc);
		return;
	}
	if (IO_CURSOR(io) >= IO_TOTAL(io))
		l->backlog = NULL;
}

/* Takes l's responses, then fails what is left with -ENOTCONN: the back end left. */
static int lane_backend_left(struct bf_lane *l)
{
	unsigned int i;
	int rc;

	for (i = l->first; i < l->first + l->n; i++) {
		rc = process_queue(l, &l->bf->q[i]);
		if (rc < 0) {
			lane_fail(l, rc);
			return rc;
		}
	}
	lane_fail(l, -ENOTCONN);
	return -ENOTCONN;
}

/*
 * Acts on queued xenstore watch events (never blocks): a back end that left fails every io
 * in flight with -ENOTCONN (after taking the responses it did give); a new `sectors`
 * (online resize) is taken.  Returns 0 or -ENOTCONN / -EPROTO.
 */
int bf_xenbus_events(struct pv_blkfront *bf)
{
	if (!xbf_drain_watch(&bf->xb))
		return 0;
	/*
	 * The toolstack asks us to let go (block-detach).  An open handle is a disk in use:
	 * as Linux's blkfront ("Device in use; refusing to close"), go on; the back end
	 * serves until we close, and the toolstack says busy, or forces the removal.
	 */
	if (xbf_detach_requested(&bf->xb)) {
		bf->st.detach_requests++;
		bf_reread_size(bf, &bf->xb);
		return 0;
	}
	if (xbf_backend_state(&bf->xb) != XB_CONNECTED)
		return lane_backend_left(&bf->all);
	bf_reread_size(bf, &bf->xb);
	return 0;
}

/*
 * A lane's xenstore: the whole handle's, or a queue's own watch on the back end's
 * directory: a back end that left, or a resize (a detach request is counted by the whole
 * handle's watch).
 */
static int lane_xenbus_events(struct bf_lane *l)
{
	if (l == &l->bf->all)
		return bf_xenbus_events(l->bf);
	if (!xbf_drain_watch(&l->xb))
		return 0;
	if (xbf_backend_state(&l->xb) == XB_CONNECTED || xbf_detach_requested(&l->xb)) {
		bf_reread_size(l->bf, &l->xb);
		return 0;
	}
	return lane_backend_left(l);
}

int bf_lanes_init(struct pv_blkfront *bf)
{
	unsigned int i;
	int rc;

	bf->all = (struct bf_lane){ .bf = bf, .first = 0, .n = bf->nq };
	for (i = 0; i < bf->nq; i++) {
		struct bf_lane *l = &bf->lane[i];

		if (bf->q[i].p == bf->xb.p)
			continue;
		if (bf->fail_efd < 0) {
			bf->fail_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
			if (bf->fail_efd < 0)
				return -errno;
		}
		*l = (struct bf_lane){ .bf = bf, .first = i, .n = 1 };
		/* The device's paths, borrowed: bf->xb owns them and outlives the lanes. */
		l->xb.p = bf->q[i].p;
		l->xb.fe_path = bf->xb.fe_path;
		l->xb.be_path = bf->xb.be_path;
		l->xb.backend_id = bf->xb.backend_id;
		rc = xbf_watch(&l->xb, "pv_blkfront_q", bf->devid, l);
		if (rc < 0)
			return rc;
		bf->own_handles = 1;
	}
	return 0;
}

void bf_lanes_free(struct pv_blkfront *bf)
{
	unsigned int i;

	for (i = 0; i < BF_MAX_QUEUES; i++) {
		struct bf_lane *l = &bf->lane[i];

		if (l->bf)
			xbf_unwatch(&l->xb);
		memset(&l->xb, 0, sizeof(l->xb));
	}
	if (bf->fail_efd >= 0)
		close(bf->fail_efd);
	bf->fail_efd = -1;
}

/* Looks between clock reads while spinning: a clock read is ~20 ns, a look a few. */
#define BF_SPIN_LOOKS 64
/* Spinning: how often xenstore is looked at (a system call or two). */
#define BF_SPIN_XS_NS 1000000ull

static uint64_t bf_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int pv_blkfront_set_notify(struct pv_blkfront *bf, enum pv_blkfront_notify mode,
			   unsigned int budget_us)
{
	if (!bf || budget_us > PV_BLKFRONT_SPIN_MAX_US)
		return -EINVAL;
	switch (mode) {
	case PV_BLKFRONT_NOTIFY_EVENT:
		budget_us = 0;
		break;
	case PV_BLKFRONT_NOTIFY_HYBRID:
		budget_us = budget_us ? budget_us : PV_BLKFRONT_HYBRID_US;
		break;
	case PV_BLKFRONT_NOTIFY_POLL:
		budget_us = budget_us ? budget_us : PV_BLKFRONT_POLL_US;
		break;
	default:
		return -EINVAL;
	}
	bf->notify = mode;
	bf->spin_ns = (uint64_t)budget_us * 1000u;
	return 0;
}

/*
 * Spins on l's rings, rsp_event left where it is (we want no notification), until a
 * response is there (1), limit_ns passed (0), or xenstore says the device is gone
 * (-errno).  Only the shared producer indices are read; process_queue() checks them.
 */
static int bf_spin(struct bf_lane *l, uint64_t limit_ns)
{
	struct pv_blkfront *bf = l->bf;
	uint64_t start = bf_now_ns(), yielded = start, now;
	unsigned int i, looks;
	int rc;

	for (;;) {
		for (looks = 0; looks < BF_SPIN_LOOKS; looks++) {
			for (i = l->first; i < l->first + l->n; i++)
				if (pv_ring_unconsumed_responses(&bf->q[i].ring))
					return 1;
			pv_ring_cpu_relax();
		}
		now = bf_now_ns();
		if (now - start >= limit_ns)
			return 0;
		if (now - yielded >= PV_RING_SPIN_YIELD_NS) {
			sched_yield(); /* the back end may wait for our CPU */
			yielded = now;
		}
		if (bf_failed(bf))
			return 0; /* another queue's thread failed the device: the caller sees it */
		if (now >= l->next_xs_ns) {
			l->next_xs_ns = now + BF_SPIN_XS_NS;
			if ((rc = lane_xenbus_events(l)) < 0)
				return rc;
		}
	}
}

/* The platform handles l's events arrive on: the device's and its queues' own, once each. */
static unsigned int lane_handles(const struct bf_lane *l, struct pv_platform **h)
{
	const struct pv_blkfront *bf = l->bf;
	unsigned int i, n = 0;

	if (l == &bf->all)
		h[n++] = bf->xb.p;
	for (i = l->first; i < l->first + l->n; i++)
		if (bf->q[i].p != bf->xb.p)
			h[n++] = bf->q[i].p;
	return n;
}

static int lane_poll(struct bf_lane *l, int timeout_ms)
{
	struct pv_blkfront *bf = l->bf;
	struct pv_platform *h[BF_MAX_QUEUES + 1];
	struct pollfd pfd[BF_MAX_QUEUES + 3];
	struct xbf *x = l == &bf->all ? &bf->xb : &l->xb;
	uint64_t deadline = 0, limit;
	int completed = 0, xsfd, rc0, spin, drain;
	unsigned int i, nh, nfd, xs_at;

	rc0 = bf_failed(bf);
	if (rc0) {
		/* Another queue's thread failed the device: ours complete now (see the header). */
		lane_fail(l, rc0);
		return rc0;
	}
	if (!bf->connected)
		return -ENOTCONN;
	if (timeout_ms > 0)
		deadline = xbf_now_ms() + (uint64_t)timeout_ms;
	nh = lane_handles(l, h);
	for (nfd = 0; nfd < nh; nfd++)
		pfd[nfd] = (struct pollfd){ .fd = pv_evtchn_fd(h[nfd]), .events = POLLIN };
	xs_at = nfd;
	xsfd = pv_xs_watch_fd(x->p);
	if (xsfd >= 0)
		pfd[nfd++] = (struct pollfd){ .fd = xsfd, .events = POLLIN };
	/* Never drained: once failed, it wakes every sleeper at once and for good. */
	if (bf->fail_efd >= 0)
		pfd[nfd++] = (struct pollfd){ .fd = bf->fail_efd, .events = POLLIN };
	/*
	 * Spinning is what polling modes do instead of system calls: xenstore is then looked
	 * at once a millisecond, and events are only drained on the way to a sleep.
	 */
	spin = bf->notify != PV_BLKFRONT_NOTIFY_EVENT && bf->spin_ns && timeout_ms != 0;
	drain = timeout_ms == 0;
	/* Even an idle guest must notice a resize or a back end that left. */
	if (!spin || bf_now_ns() >= l->next_xs_ns) {
		if (spin)
			l->next_xs_ns = bf_now_ns() + BF_SPIN_XS_NS;
		if ((rc0 = lane_xenbus_events(l)) < 0)
			return rc0;
	}
	for (;;) {
		int work = 0, ms, rc;

		rc = bf_failed(bf);
		if (rc) {
			lane_fail(l, rc);
			return rc;
		}
		/*
		 * Events are taken (and our ports unmasked) before the rings are looked at, but
		 * only when there may be some: after poll() saw one, or on a call that does not
		 * sleep (the caller polls our fd, which must not stay readable).  An event left
		 * untaken keeps the fd readable, so the poll() below returns at once and the
		 * next pass takes it: nothing is lost, and a QD1 round trip saves a system call.
		 */
		if (drain)
			for (i = 0; i < nh; i++)
				l->st.wakeups += xbf_drain_events(h[i]);
		drain = 0;
		for (i = l->first; i < l->first + l->n; i++) {
			rc = process_queue(l, &bf->q[i]);
			if (rc < 0) {
				lane_fail(l, rc);
				return rc;
			}
			completed += rc;
		}
		pump_backlog(l);
		lane_kick(l);
		if (completed)
			return completed;
		if (!lane_inflight(l) && !l->backlog)
			return 0;
		if (spin) {
			/* Once per call: after it, the event path below (final check, sleep). */
			spin = 0;
			limit = bf->spin_ns;
			if (timeout_ms > 0 && (uint64_t)timeout_ms * 1000000u < limit)
				limit = (uint64_t)timeout_ms * 1000000u;
			rc = bf_spin(l, limit);
			if (rc < 0)
				return rc;
			if (rc > 0) {
				spin = 1; /* responses came: take them without a system call */
				continue;
			}
			l->st.spin_expired++;
			continue; /* events drained, rings looked at once more, then the final check */
		}
		/* Ask for an event at the next response, then look once more (no lost wakeup). */
		for (i = l->first; i < l->first + l->n; i++)
			if (pv_ring_final_check_responses(&bf->q[i].ring))
				work = 1;
		if (work)
			continue;
		if (timeout_ms < 0) {
			ms = -1;
		} else if (timeout_ms == 0) {
			ms = 0;
		} else {
			uint64_t now = xbf_now_ms();

			if (now >= deadline)
				return 0;
			ms = (int)(deadline - now);
		}
		rc = poll(pfd, nfd, ms);
		if (rc < 0 && errno != EINTR)
			return -errno;
		for (i = 0; rc > 0 && i < nh; i++)
			drain |= pfd[i].revents != 0;
		if (rc > 0 && xsfd >= 0 && (pfd[xs_at].revents & POLLIN) &&
		    (rc = lane_xenbus_events(l)) < 0)
			return rc;
		if (timeout_ms == 0)
			return completed;
	}
}

int pv_blkfront_poll(struct pv_blkfront *bf, int timeout_ms)
{
	if (!bf)
		return -EINVAL;
	return lane_poll(&bf->all, timeout_ms);
}

int pv_blkfront_fd(struct pv_blkfront *bf)
{
	if (!bf || bf->own_handles)
		return -EINVAL;
	return pv_evtchn_fd(bf->xb.p);
}

/* ---- a thread per queue -------------------------------------------------------------- */

/* Queue's own lane; NULL when it has no platform handle of its own. */
static struct bf_lane *queue_lane(struct pv_blkfront *bf, unsigned int queue)
{
	if (!bf || queue >= bf->nq || !bf->lane[queue].bf)
		return NULL;
	return &bf->lane[queue];
}

int pv_blkfront_queue_submit(struct pv_blkfront *bf, unsigned int queue, struct pv_blkfront_io *io)
{
	struct bf_lane *l = queue_lane(bf, queue);

	return l ? lane_submit(l, io) : -EINVAL;
}

int pv_blkfront_queue_kick(struct pv_blkfront *bf, unsigned int queue)
{
	struct bf_lane *l = queue_lane(bf, queue);

	return l ? lane_kick(l) : -EINVAL;
}

int pv_blkfront_queue_poll(struct pv_blkfront *bf, unsigned int queue, int timeout_ms)
{
	struct bf_lane *l = queue_lane(bf, queue);

	return l ? lane_poll(l, timeout_ms) : -EINVAL;
}

int pv_blkfront_queue_fd(struct pv_blkfront *bf, unsigned int queue)
{
	struct bf_lane *l = queue_lane(bf, queue);

	return l ? pv_evtchn_fd(l->xb.p) : -EINVAL;
}

int pv_blkfront_queue_get_stats(struct pv_blkfront *bf, unsigned int queue,
				struct pv_blkfront_stats *st)
{
	struct bf_lane *l = queue_lane(bf, queue);

	if (!l || !st)
		return -EINVAL;
	*st = l->st;
	return 0;
}

static void stats_add(struct pv_blkfront_stats *to, const struct pv_blkfront_stats *from)
{
	to->requests += from->requests;
	to->responses += from->responses;
	to->kicks += from->kicks;
	to->wakeups += from->wakeups;
	to->grants_shared += from->grants_shared;
	to->persistent_hits += from->persistent_hits;
	to->indirect_requests += from->indirect_requests;
	to->bad_responses += from->bad_responses;
	to->errors += from->errors;
	to->detach_requests += from->detach_requests;
	to->spin_expired += from->spin_expired;
}

void pv_blkfront_get_stats(struct pv_blkfront *bf, struct pv_blkfront_stats *st)
{
	unsigned int i;

	if (!bf || !st)
		return;
	*st = bf->st;
	stats_add(st, &bf->all.st);
	for (i = 0; i < BF_MAX_QUEUES; i++)
		stats_add(st, &bf->lane[i].st);
}

/* ---- synchronous API ----------------------------------------------------------------- */

struct sync_ctx {
	int done, status;
};

static void sync_done(struct pv_blkfront_io *io, int status)
{
	struct sync_ctx *c = io->opaque;

	c->done = 1;
	c->status = status;
}

static int sync_wait(struct pv_blkfront *bf, struct pv_blkfront_io *io, struct sync_ctx *c)
{
	int rc;

	while ((rc = pv_blkfront_submit(bf, io)) == -EAGAIN) {
		/* Someone else's ios hold the rings: make progress on them. */
		rc = pv_blkfront_poll(bf, -1);
		if (rc < 0)
			return rc;
		if (rc == 0 && !bf_inflight(bf) && !bf_backlogged(bf))
			return -EAGAIN;
	}
	if (rc < 0)
		return rc;
	pv_blkfront_kick(bf);
	while (!c->done) {
		rc = pv_blkfront_poll(bf, -1);
		if (rc < 0 && !c->done)
			return rc;
	}
	return c->status;
}

static int run_sync(struct pv_blkfront *bf, struct pv_blkfront_io *io)
{
	struct sync_ctx c = { 0, 0 };
	int rc;

	io->done = sync_done;
	io->opaque = &c;
	rc = sync_wait(bf, io, &c);
	io->opaque = NULL; /* c ends here; io may not */
	return rc;
}

ssize_t pv_blkfront_pread(struct pv_blkfront *bf, void *buf, size_t len, uint64_t offset)
{
	struct pv_blkfront_io io = { .op = PV_BLKFRONT_READ, .offset = offset, .len = len, .buf = buf };
	int rc = run_sync(bf, &io);

	return rc < 0 ? rc : (ssize_t)len;
}

ssize_t pv_blkfront_pwrite(struct pv_blkfront *bf, const void *buf, size_t len, uint64_t offset)
{
	struct pv_blkfront_io io = { .op = PV_BLKFRONT_WRITE, .offset = offset, .len = len,
				     .buf = (void *)buf };
	int rc = run_sync(bf, &io);

	return rc < 0 ? rc : (ssize_t)len;
}

int pv_blkfront_flush(struct pv_blkfront *bf)
{
	struct pv_blkfront_io io = { .op = PV_BLKFRONT_FLUSH };

	return run_sync(bf, &io);
}

int pv_blkfront_discard(struct pv_blkfront *bf, uint64_t offset, uint64_t len)
{
	struct pv_blkfront_io io = { .op = PV_BLKFRONT_DISCARD, .offset = offset, .len = len };

	if (len > SIZE_MAX)
		return -EINVAL;
	return run_sync(bf, &io);
}
