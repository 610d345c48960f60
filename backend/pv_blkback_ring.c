/* SPDX-License-Identifier: MIT */
/*
 * pv_blkback_ring.c - blkback's data path: connect (map rings, bind ports, size the
 * request pool), intake (read req_prod once, copy each request, validate only the copy),
 * grants (persistent cache, per-request maps, or grant copy into bounce buffers), and
 * responses (one push and at most one notification per pass).
 *
 * Everything on the shared pages belongs to a guest that may be hostile: indices are
 * checked by pv_ring_back_req_prod(), requests are copied before they are looked at,
 * indirect descriptors are copied out of their pages before they are validated, and
 * every bad request is answered with BLKIF_RSP_ERROR and counted, never trusted.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "pv_blkback.h"
#include "pv_netback.h"

#define COMP "blkback"

/* ---- validation -------------------------------------------------------------------------- */

int pv_blkback_check_req(const struct pv_blkback_limits *l, const struct blkif_request *r,
			 struct pv_blkback_hdr *h)
{
	memset(h, 0, sizeof(*h));
	h->sector = r->sector_number;
	switch (r->operation) {
	case BLKIF_OP_READ:
	case BLKIF_OP_WRITE:
		h->kind = r->operation == BLKIF_OP_READ ? PV_BLK_READ : PV_BLK_WRITE;
		if (r->nr_segments == 0 || r->nr_segments > BLKIF_MAX_SEGMENTS_PER_REQUEST)
			return -EINVAL;
		h->nseg = r->nr_segments;
		break;
	case BLKIF_OP_WRITE_BARRIER:
	case BLKIF_OP_FLUSH_DISKCACHE:
		/* A write on a read-only disk is refused as such first, as Linux does. */
		if (l->readonly)
			return -EROFS;
		if (r->operation == BLKIF_OP_WRITE_BARRIER ? !l->barrier : !l->flush)
			return -EOPNOTSUPP;
		h->kind = r->operation == BLKIF_OP_WRITE_BARRIER ? PV_BLK_BARRIER : PV_BLK_FLUSH;
		/* May carry data (a write that must be durable), or none at all. */
		if (r->nr_segments > BLKIF_MAX_SEGMENTS_PER_REQUEST)
			return -EINVAL;
		h->nseg = r->nr_segments;
		break;
	case BLKIF_OP_DISCARD: {
		struct blkif_request_discard dr;

		if (l->readonly)
			return -EROFS;
		if (!l->discard)
			return -EOPNOTSUPP;
		memcpy(&dr, r, sizeof(dr)); /* the same slot read as its discard form */
		h->kind = PV_BLK_DISCARD;
		h->sector = dr.sector_number;
		h->nr_sectors = dr.nr_sectors;
		break;
	}
	case BLKIF_OP_INDIRECT: {
		struct blkif_request_indirect ir;

		if (!l->max_indirect)
			return -EOPNOTSUPP;
		memcpy(&ir, r, sizeof(ir));
		if (ir.indirect_op != BLKIF_OP_READ && ir.indirect_op != BLKIF_OP_WRITE)
			return -EINVAL;
		if (ir.nr_segments == 0 || ir.nr_segments > l->max_indirect)
			return -EINVAL;
		h->kind = ir.indirect_op == BLKIF_OP_READ ? PV_BLK_READ : PV_BLK_WRITE;
		h->nseg = ir.nr_segments;
		h->indirect = 1;
		h->sector = ir.sector_number;
		h->nr_ind_pages = (h->nseg + PV_BLKIF_SEGS_PER_INDIRECT_FRAME - 1) /
				  PV_BLKIF_SEGS_PER_INDIRECT_FRAME;
		if (h->nr_ind_pages > BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST)
			return -EINVAL;
		break;
	}
	default: /* BLKIF_OP_RESERVED_1 and everything unknown: BLKIF_RSP_EOPNOTSUPP */
		return -EOPNOTSUPP;
	}
	if (l->readonly && h->kind != PV_BLK_READ)
		return -EROFS;
	if (h->kind == PV_BLK_DISCARD) {
		uint64_t end = h->sector + h->nr_sectors;

		if (end < h->sector || end > l->sectors)
			return -ERANGE;
	}
	return 0;
}

int pv_blkback_check_segs(const struct pv_blkback_limits *l, uint64_t sector,
			  const struct blkif_request_segment *segs, unsigned int n,
			  uint64_t *nr_sectors)
{
	uint64_t total = 0, end;
	unsigned int i;

	for (i = 0; i < n; i++) {
		if (segs[i].last_sect >= PV_BLKIF_SECTORS_PER_PAGE ||
		    segs[i].first_sect > segs[i].last_sect)
			return -EINVAL;
		total += (uint64_t)(segs[i].last_sect - segs[i].first_sect) + 1;
	}
	/* Wrap-around first, then the size: start + count must not pass the end. */
	end = sector + total;
	if (end < sector || end > l->sectors)
		return -ERANGE;
	*nr_sectors = total;
	return 0;
}

/* ---- responses --------------------------------------------------------------------------- */

/* js: the request's journal entry, told first where its response goes (-1: none). */
static void respond(struct pv_blkback_queue *q, int js, uint64_t id, uint8_t op, int16_t status)
{
	struct blkif_response rsp = { .id = id, .operation = op, .status = status };

	pv_blkback_journal_responding(q, js);
	/* Slot rsp_prod_pvt holds a request we consumed (and journalled): ours to overwrite. */
	memcpy(pv_blkif_back_rsp(&q->ring, q->ring.rsp_prod_pvt), &rsp, sizeof(rsp));
	q->ring.rsp_prod_pvt++;
	q->need_push = 1;
}

void pv_blkback_unmap_flush(struct pv_blkback_queue *q)
{
	struct pv_blkback_dev *dev = q->dev;

	unsigned int i, pages = 0;
	int rc;

	if (!q->nunmap)
		return;
	for (i = 0; i < q->nunmap; i++)
		pages += q->unmap_count[i];
	rc = pv_gnt_unmap_batch(q->w->plat, q->unmap_addr, q->unmap_count, q->nunmap);
	if (rc < 0) {
		pv_backd_log_rl(&q->rl, PV_LOG_WARN, COMP, "vbd %u/%u: unmapping %u grant "
				"mappings: %s", dev->domid, dev->devid, q->nunmap, strerror(-rc));
		/*
		 * A batch refused whole (-ENOMEM for its handle list, say) must not leave the
		 * guest's pages mapped: one by one, which refuses what is already unmapped.
		 */
		for (i = 0; i < q->nunmap; i++)
			pv_gnt_unmap(q->w->plat, q->unmap_addr[i], q->unmap_count[i]);
	}
	q->st.grant_unmaps += pages;
	q->nunmap = 0;
}

uint64_t pv_blkback_turn_ns(const struct pv_backd *d)
{
	return d->turn_ns ? d->turn_ns : PV_BLKBACK_TURN_NS;
}

/* Publishes the responses of this pass; one notification at most. */
static void push(struct pv_blkback_queue *q)
{
	int notify;

	if (!q->need_push)
		return;
	/* Unmapped first: a guest told "done" may end its grants at once. */
	pv_blkback_unmap_flush(q);
	q->need_push = 0;
	notify = pv_ring_push_responses_and_check_notify(&q->ring);
	/* Published: the journal entries of these responses are free now, not before. */
	pv_blkback_journal_published(q);
	if (notify) {
		pv_evtchn_notify(q->w->plat, q->port);
		q->st.notifications_out++;
	}
}

static void fatal_v(struct pv_blkback_dev *dev, struct pv_backd_ratelimit *rl, const char *fmt,
		    va_list ap)
{
	char msg[256];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	/* Callers clean guest strings (pv_backd_str_clean); this keeps the node one line. */
	pv_backd_str_printable(msg);
	pv_blkback_node_write(dev, 0, "error", msg);
	pv_backd_log_rl(rl, PV_LOG_WARN, COMP, "vbd %u/%u: %s", dev->domid, dev->devid, msg);
}

void pv_blkback_fatal(struct pv_blkback_dev *dev, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fatal_v(dev, &dev->rl_ctl, fmt, ap);
	va_end(ap);
}

void pv_blkback_queue_fatal(struct pv_blkback_queue *q, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fatal_v(q->dev, &q->rl, fmt, ap);
	va_end(ap);
}

/* ---- persistent grants ------------------------------------------------------------------- */

/*
 * The cache itself is grant/pv_gcache.c: one per queue, bounded by --max-persistent
 * shared by the queues, least recently used chunks evicted, chunks of requests in flight
 * pinned.  Here: which pages a request makes persistent, and the counters.
 */
void pv_blkback_req_unpin(struct pv_blkback_req *rq)
{
	pv_gcache_unpin(&rq->q->gc, &rq->pins);
}

/*
 * A writable map of a page the guest granted read-only fails with -EACCES on the sim but
 * with -EINVAL from Linux's gntdev on Xen (the failed GNTTABOP_map_grant_ref shows as an
 * invalid mmap).  PVIO_BACKD_TEST_MAP_EINVAL=1 (tests only) makes the sim's answer Xen's.
 */
static int xen_errno;
static pthread_once_t xen_errno_once = PTHREAD_ONCE_INIT;

static void xen_errno_read(void)
{
	const char *e = getenv("PVIO_BACKD_TEST_MAP_EINVAL");

	xen_errno = e && strcmp(e, "1") == 0;
}

static int map_refused(int rc)
{
	pthread_once(&xen_errno_once, xen_errno_read); /* worker threads ask at once */
	if (xen_errno && rc == -EACCES)
		rc = -EINVAL;
	return rc == -EACCES || rc == -EINVAL;
}

/* ---- grants of one request --------------------------------------------------------------- */

static void map_flush(struct pv_blkback_queue *q);

/*
 * Tries to make the missing pages of a request persistent: maps the distinct new refs in
 * one call, writable (a persistent page serves reads and writes alike), evicting least
 * recently used ones if the cache is full.  Returns 0 (all pages present now), 1 (not
 * done: no room, or a page is granted read-only and read-only is enough for this
 * request: map per request instead), or -errno.
 */
static int map_persistent(struct pv_blkback_queue *q, struct pv_blkback_req *rq,
			  const struct blkif_request_segment *segs, unsigned int n, int need_write)
{
	unsigned int i, m = 0, evicted;
	int rc;

	for (i = 0; i < n; i++)
		if (!q->pages[i])
			q->refs[m++] = segs[i].gref;
	rc = pv_gcache_map(&q->gc, q->refs, m, &evicted);
	q->st.grant_map_calls += rc != 0 && rc != -ENOBUFS; /* 0: nothing new to map */
	q->st.grant_unmaps += evicted;
	q->st.persistent_evictions += evicted;
	if (rc == -ENOBUFS)
		return 1;
	/* Read-only is enough for this request: map it on its own (-EINVAL: a bad ref too). */
	if (!need_write && map_refused(rc))
		return 1;
	if (rc < 0)
		return rc;
	q->st.grant_maps += (unsigned int)rc;
	for (i = 0; i < n; i++)
		if (!q->pages[i] && !(q->pages[i] = pv_gcache_get(&q->gc, segs[i].gref,
								  rq ? &rq->pins : NULL)))
			return 1; /* cannot pin it (not for a request sized within max_segs) */
	return 0;
}

/*
 * Map mode: finds every page in the persistent cache, or puts the request in the queue's
 * map batch for the rest, then points the request's iovecs into what it has.  Returns 0
 * (ready), 1 (in the batch: map_flush() finishes and queues it) or -errno.
 */
static int grants_map(struct pv_blkback_queue *q, struct pv_blkback_req *rq,
		      const struct blkif_request_segment *segs, unsigned int n, int need_write)
{
	struct pv_blkback_dev *dev = q->dev;
	unsigned int i, m = 0;
	int rc;

	pv_gcache_tick(&q->gc);
	for (i = 0; i < n; i++) {
		q->pages[i] = dev->persistent ? pv_gcache_get(&q->gc, segs[i].gref, &rq->pins) : NULL;
		if (q->pages[i])
			q->st.persistent_hits++;
		else
			m++;
	}
	if (m && dev->persistent) {
		rc = map_persistent(q, rq, segs, n, need_write);
		if (rc < 0)
			return rc;
		if (rc == 0)
			m = 0;
		else /* what the cache did take is used, the rest mapped for this request */
			for (m = 0, i = 0; i < n; i++)
				m += !q->pages[i];
	}
	if (m && (q->mb_n == PV_BLKBACK_MAP_BATCH_REQS ||
		  q->mb_pages + m > PV_BLKBACK_MAP_BATCH_PAGES ||
		  (q->mb_n && q->mb_write != need_write)))
		map_flush(q);
	for (i = 0; i < n; i++) {
		rq->iov[i].iov_len = (size_t)(segs[i].last_sect - segs[i].first_sect + 1) * 512u;
		if (q->pages[i]) {
			rq->iov[i].iov_base = (uint8_t *)q->pages[i] + segs[i].first_sect * 512u;
			continue;
		}
		rq->iov[i].iov_base = NULL; /* map_flush() */
		q->mb_refs[q->mb_pages] = segs[i].gref;
		q->mb_off[q->mb_pages] = (uint16_t)(segs[i].first_sect * 512u);
		q->mb_seg[q->mb_pages++] = (uint16_t)i;
	}
	rq->niov = n;
	if (!m)
		return 0;
	q->mb_write = need_write;
	q->mb_count[q->mb_n] = m;
	q->mb_req[q->mb_n++] = rq;
	return 1;
}

/* Copy mode: the request's own bounce pages; writes are copied in now, reads at the end. */
static int grants_copy(struct pv_blkback_queue *q, struct pv_blkback_req *rq,
		       const struct blkif_request_segment *segs, unsigned int n, int to_guest)
{
	struct pv_blkback_dev *dev = q->dev;
	unsigned int i;

	if (pv_blkback_bounce_get(rq, n, q->pages) < 0)
		return -ENOBUFS;
	pv_gcopy_reset(&rq->copy);
	for (i = 0; i < n; i++) {
		unsigned int off = segs[i].first_sect * 512u;
		unsigned int len = (segs[i].last_sect - segs[i].first_sect + 1) * 512u;

		/* Checked segments (pv_blkback_check_segs) within max_segs: always fits. */
		if (pv_gcopy_add(&rq->copy, (uint8_t *)q->pages[i] + off, (domid_t)dev->domid,
				 segs[i].gref, off, len, to_guest) < 0)
			return -EINVAL;
		rq->iov[i].iov_base = rq->cseg[i].local;
		rq->iov[i].iov_len = len;
	}
	rq->niov = n;
	if (to_guest) {
		rq->copy_back = 1;
		return 0;
	}
	q->st.grant_copies += n;
	return pv_gcopy_flush(&rq->copy) != 0 ? -EACCES : 0;
}

/*
 * Map mode with persistent grants: the front end's indirect pages come from its persistent
 * pool (Linux's xen-blkfront and pvio's both do that), so they are looked up, or mapped
 * once, like data pages, and no hypercall is left per indirect request.  Copies the
 * descriptor bytes into q->ind_buf.  0, 1 (cannot: the cache is full or a page is
 * read-only; use grant copy) or -errno.
 */
static int indirect_persistent(struct pv_blkback_queue *q, const grant_ref_t *grefs,
			       unsigned int n, size_t bytes)
{
	struct blkif_request_segment s[BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST];
	unsigned int i, miss = 0;
	int rc;

	/* Used only here (copied out at once): marked used, not held busy. */
	pv_gcache_tick(&q->gc);
	for (i = 0; i < n; i++) {
		s[i] = (struct blkif_request_segment){ .gref = grefs[i] };
		q->pages[i] = pv_gcache_get(&q->gc, grefs[i], NULL);
		miss += !q->pages[i];
	}
	if (miss && (rc = map_persistent(q, NULL, s, n, 0)) != 0)
		return rc;
	for (i = 0; i < n; i++) {
		size_t left = bytes - (size_t)i * PV_PAGE_SIZE;

		memcpy(q->ind_buf + (size_t)i * PV_PAGE_SIZE, q->pages[i],
		       left < PV_PAGE_SIZE ? left : PV_PAGE_SIZE);
	}
	q->st.persistent_hits += n - miss;
	return 0;
}

/*
 * Copies the descriptors of an indirect request out of its pages into q->segs: from
 * persistently mapped pages when it can, else one grant copy batch (a map, copy and unmap
 * where the platform has no grant copy).
 */
static int fetch_indirect(struct pv_blkback_queue *q, const struct blkif_request *r,
			  const struct pv_blkback_hdr *h)
{
	struct pv_blkback_dev *dev = q->dev;
	struct pv_gnt_copy_seg c[BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST];
	struct pv_gcopy_batch b;
	struct blkif_request_indirect ir;
	size_t bytes = (size_t)h->nseg * sizeof(struct blkif_request_segment);
	unsigned int i;
	void *addr;
	int rc;

	memcpy(&ir, r, sizeof(ir));
	if (dev->persistent && !q->w->grant_copy) {
		rc = indirect_persistent(q, ir.indirect_grefs, h->nr_ind_pages, bytes);
		if (rc < 0)
			return rc;
		if (rc == 0)
			goto copied;
	}
	pv_gcopy_init(&b, q->w->plat, c, BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST);
	for (i = 0; i < h->nr_ind_pages; i++) {
		size_t left = bytes - (size_t)i * PV_PAGE_SIZE;

		if (pv_gcopy_add(&b, q->ind_buf + (size_t)i * PV_PAGE_SIZE, (domid_t)dev->domid,
				 ir.indirect_grefs[i], 0,
				 (unsigned int)(left < PV_PAGE_SIZE ? left : PV_PAGE_SIZE), 0) < 0)
			return -EINVAL; /* nr_ind_pages checked: cannot happen */
	}
	rc = pv_gcopy_flush(&b);
	if (rc == -ENOTSUP) {
		rc = pv_gnt_map(q->w->plat, (domid_t)dev->domid, h->nr_ind_pages,
				ir.indirect_grefs, 0, &addr);
		if (rc < 0)
			return rc;
		memcpy(q->ind_buf, addr, bytes);
		pv_gnt_unmap(q->w->plat, addr, h->nr_ind_pages);
		q->st.grant_maps += h->nr_ind_pages;
		q->st.grant_unmaps += h->nr_ind_pages;
	} else {
		q->st.grant_copies += h->nr_ind_pages;
		if (rc != 0)
			return -EACCES;
	}
copied:
	memcpy(q->segs, q->ind_buf, bytes);
	return 0;
}

/* ---- request lifetime -------------------------------------------------------------------- */

static void req_free(struct pv_blkback_req *rq)
{
	struct pv_blkback_queue *q = rq->q;

	pv_blkback_req_unpin(rq);
	pv_blkback_bounce_put(rq);
	if (rq->map_addr) {
		/* Unmapped with others before this request's response is published (push). */
		if (q->nunmap == PV_BLKBACK_UNMAP_BATCH)
			pv_blkback_unmap_flush(q);
		q->unmap_addr[q->nunmap] = rq->map_addr;
		q->unmap_count[q->nunmap++] = rq->map_count;
		rq->map_addr = NULL;
		rq->map_count = 0;
	}
	rq->next_free = q->free;
	q->free = rq;
	q->inflight--;
}

void pv_blkback_req_done(struct pv_blkback_req *rq, int ok)
{
	struct pv_blkback_queue *q = rq->q;

	if (!ok && rq->status == BLKIF_RSP_OKAY) {
		rq->status = BLKIF_RSP_ERROR;
		q->st.errors++;
	}
	if (rq->copy_back && rq->status == BLKIF_RSP_OKAY) {
		q->st.grant_copies += rq->niov;
		if (pv_gcopy_flush(&rq->copy) != 0) {
			/* The guest revoked or never granted write access: its fault. */
			rq->status = BLKIF_RSP_ERROR;
			q->st.bad_requests++;
		}
	}
	if (rq->status == BLKIF_RSP_OKAY) {
		if (rq->kind == PV_BLK_READ)
			q->st.bytes_read += rq->bytes;
		else
			q->st.bytes_written += rq->bytes;
	}
	respond(q, rq->jslot, rq->id, rq->op, rq->status);
	req_free(rq);
}

/*
 * The operation a response carries: the request's, but for an indirect request the inner
 * one.  blkif.h is silent on it; Linux's xen-blkback answers so and its xen-blkfront
 * disables the disk on BLKIF_OP_INDIRECT ("response has wrong operation").
 */
static uint8_t response_op(const struct blkif_request *r)
{
	struct blkif_request_indirect ir;

	if (r->operation != BLKIF_OP_INDIRECT)
		return r->operation;
	memcpy(&ir, r, sizeof(ir));
	return ir.indirect_op;
}

static void bad_request(struct pv_blkback_queue *q, const struct blkif_request *r, int js,
			int why)
{
	struct pv_blkback_dev *dev = q->dev;

	q->st.bad_requests++;
	/*
	 * An operation (or feature) we do not offer is BLKIF_RSP_EOPNOTSUPP, as Linux's
	 * xen-blkback answers an unknown opcode or a discard its disk cannot do; everything
	 * malformed, out of range or a write to a read-only disk is BLKIF_RSP_ERROR.
	 */
	respond(q, js, r->id, response_op(r), why == -EOPNOTSUPP ? BLKIF_RSP_EOPNOTSUPP :
		BLKIF_RSP_ERROR);
	pv_backd_log_rl(&q->rl, PV_LOG_DEBUG, COMP, "vbd %u/%u queue %u: bad request op %u: %s",
			dev->domid, dev->devid, q->idx, r->operation, strerror(-why));
}

/* A request taken whose grants or indirect pages fail: answered with an error now. */
static void req_refused(struct pv_blkback_queue *q, struct pv_blkback_req *rq, int why)
{
	struct pv_blkback_dev *dev = q->dev;

	rq->status = BLKIF_RSP_ERROR;
	q->st.bad_requests++;
	respond(q, rq->jslot, rq->id, rq->op, BLKIF_RSP_ERROR);
	req_free(rq);
	pv_backd_log_rl(&q->rl, PV_LOG_DEBUG, COMP, "vbd %u/%u queue %u: bad request op %u: %s",
			dev->domid, dev->devid, q->idx, rq->op, strerror(-why));
}

/*
 * Maps the pages of every request in the queue's batch in one call, points their iovecs
 * into them and queues their I/O, in ring order.  One bad ref fails the whole call: the
 * batch is then mapped request by request, so that only the guilty one gets an error (a
 * hostile guest's bad refs cost it round trips; the daemon's own check refuses most of
 * them before any).
 */
static void map_flush(struct pv_blkback_queue *q)
{
	struct pv_blkback_dev *dev = q->dev;
	unsigned int j, k, at, n = q->mb_n;
	int rc;

	if (!n)
		return;
	rc = pv_gnt_map_batch(q->w->plat, (domid_t)dev->domid, n, q->mb_count, q->mb_refs,
			      q->mb_write, q->mb_addr);
	q->st.grant_map_calls++;
	for (j = 0, at = 0; j < n; at += q->mb_count[j++]) {
		struct pv_blkback_req *rq = q->mb_req[j];
		unsigned int cnt = q->mb_count[j];
		void *addr = q->mb_addr[j];
		int r = rc;

		if (rc < 0) {
			r = pv_gnt_map(q->w->plat, (domid_t)dev->domid, cnt, q->mb_refs + at,
				       q->mb_write, &addr);
			q->st.grant_map_calls++;
		}
		if (r < 0) {
			req_refused(q, rq, r);
			continue;
		}
		q->st.grant_maps += cnt;
		rq->map_addr = addr;
		rq->map_count = cnt;
		for (k = 0; k < cnt; k++)
			rq->iov[q->mb_seg[at + k]].iov_base = (uint8_t *)addr +
				(size_t)k * PV_PAGE_SIZE + q->mb_off[at + k];
		if (pv_blkback_io_queue(rq) < 0)
			pv_blkback_req_done(rq, 0);
	}
	q->mb_n = q->mb_pages = 0;
}

/* r: the private copy, journalled in entry js (-1: no journal). */
static void start_request(struct pv_blkback_queue *q, const struct blkif_request *r, int js)
{
	struct pv_blkback_dev *dev = q->dev;
	const struct blkif_request_segment *segs = r->seg;
	struct pv_blkback_hdr h;
	struct pv_blkback_req *rq;
	uint64_t nsect = 0;
	int rc, batched = 0;

	q->st.requests++;
	rc = pv_blkback_check_req(&q->lim, r, &h);
	if (rc < 0) {
		bad_request(q, r, js, rc);
		return;
	}
	/* The ring never holds more requests than the pool: cons overflow stops intake first. */
	rq = q->free;
	q->free = rq->next_free;
	q->inflight++;
	rq->id = r->id;
	rq->jslot = js;
	rq->op = response_op(r);
	rq->kind = (uint8_t)h.kind;
	rq->sector = h.sector;
	rq->nr_sectors = h.nr_sectors;
	rq->bytes = 0;
	rq->pending = 0;
	rq->copy_back = 0;
	rq->status = BLKIF_RSP_OKAY;
	rq->niov = 0;
	if (h.nseg) {
		if (h.indirect) {
			rc = fetch_indirect(q, r, &h);
			if (rc < 0)
				goto bad;
			segs = q->segs;
		}
		rc = pv_blkback_check_segs(&q->lim, h.sector, segs, h.nseg, &nsect);
		if (rc < 0)
			goto bad;
		rq->bytes = nsect << PV_BLKIF_SECTOR_SHIFT;
		if (dev->copy)
			rc = grants_copy(q, rq, segs, h.nseg, h.kind == PV_BLK_READ);
		else
			rc = grants_map(q, rq, segs, h.nseg, h.kind == PV_BLK_READ);
		if (rc < 0)
			goto bad;
		batched = rc == 1;
	}
	switch (h.kind) {
	case PV_BLK_READ: q->st.reads++; break;
	case PV_BLK_WRITE: q->st.writes++; break;
	case PV_BLK_FLUSH: q->st.flushes++; break;
	case PV_BLK_BARRIER: q->st.barriers++; break;
	case PV_BLK_DISCARD: q->st.discards++; break;
	}
	q->st.indirect += h.indirect;
	if (batched)
		return; /* its pages come with the batch's: map_flush() queues it */
	/* The batch's requests came first on the ring: their I/O is queued first. */
	map_flush(q);
	if (pv_blkback_io_queue(rq) < 0)
		pv_blkback_req_done(rq, 0);
	return;
bad:
	req_refused(q, rq, rc);
}

/* ---- intake ------------------------------------------------------------------------------ */

static void ring_broken(struct pv_blkback_queue *q)
{
	q->stopped = 1;
	pv_blkback_queue_fatal(q, "queue %u: request producer index beyond the ring", q->idx);
	pv_blkback_failed(q);
}

/*
 * After a restart: what the previous daemon took but never published, from the journal's
 * copies (indirect pages are re-read: the guest keeps them granted until answered).  In
 * copy mode a request waits for its bounce pages as a new one would: answering an honest
 * request with an error because the pool is busy would be a lie.  Returns 1 when some
 * wait for bounce pages.
 */
static int replay(struct pv_blkback_queue *q)
{
	struct blkif_request r;
	int js;

	while (pv_blkback_journal_replay_peek(q, &r) == 0) {
		if (q->dev->copy && !pv_blkback_bounce_room(q, &r))
			return 1;
		js = pv_blkback_journal_replay_next(q, &r);
		start_request(q, &r, js);
	}
	return 0;
}

unsigned int pv_blkback_kick_budget(struct pv_blkback_queue *q, unsigned int budget, int *more)
{
	struct pv_blkback_dev *dev = q->dev;
	unsigned int taken = 0;
	int bounce_wait = 0, late = 0;
	/* Bounded turns only (the run queue exists): a turn past its time yields. */
	uint64_t t0 = budget != ~0u ? pv_backd_now_ns() : 0, turn = pv_blkback_turn_ns(q->w);

	*more = 0;
	q->waiting = 0;
	/* Responses already written go out first: a completion never waits behind intake. */
	push(q);
	if (q->njreplay && !q->stopped && replay(q)) {
		q->waiting = 1;
		/* New requests wait behind the old ones; completions kick us again. */
		map_flush(q);
		pv_blkback_io_submit(q);
		push(q);
		return 0;
	}
	for (;;) {
		pv_ring_idx_t prod;

		if (q->stopped)
			break;
		/*
		 * Also impossible: a producer behind requests we took.  The ring helper checks
		 * against our responses only (as Xen's RING_REQUEST_PROD_OVERFLOW), which lets
		 * such an index through while requests are in flight; the loop below would then
		 * run through 2^32 slots (bad requests are answered at once) to reach it.
		 */
		if (pv_ring_back_req_prod(&q->ring, &prod) < 0 ||
		    (pv_ring_idx_t)(prod - q->ring.req_cons) > q->ring.nr_ents) {
			ring_broken(q);
			break;
		}
		while (q->ring.req_cons != prod &&
		       !pv_ring_req_cons_overflow(&q->ring, q->ring.req_cons) &&
		       (!q->have_stop_at || q->stop_left) && taken < budget && !late) {
			struct blkif_request r;
			int js;

			/*
			 * A journal entry lives until its response is published: with none free,
			 * publish what is answered (at most req_cons - rsp_prod_pvt < nr_ents
			 * entries stay taken, so one frees up).
			 */
			if (!pv_blkback_journal_free_slots(q)) {
				push(q);
				if (!pv_blkback_journal_free_slots(q))
					break; /* cannot happen; never without a record */
			}
			pv_blkif_back_copy_req(&q->ring, q->ring.req_cons, &r);
			/* Left on the ring (copied again later) until completions free bounce. */
			if (dev->copy && !pv_blkback_bounce_room(q, &r)) {
				bounce_wait = 1;
				break;
			}
			/* Recorded, then consumed: a restart finds it either way, never neither. */
			js = pv_blkback_journal_take(q, q->ring.req_cons, &r);
			q->ring.req_cons++;
			pv_blkback_journal_consumed(q);
			q->stop_left -= q->have_stop_at;
			taken++;
			start_request(q, &r, js);
			if (t0 && taken % PV_BLKBACK_TURN_CHECK == 0 && pv_backd_now_ns() - t0 > turn)
				late = 1;
		}
		map_flush(q);
		pv_blkback_io_submit(q);
		push(q);
		if (bounce_wait) {
			q->waiting = 1; /* not a spurious notification: see sched_notified */
			break; /* the device's completions kick this queue again */
		}
		if (q->have_stop_at) {
			if (!q->stop_left) {
				q->stopped = 1;
				/*
				 * A drain longer than one budget ends here, on a later turn, not in
				 * the disconnect that began it: the state machine must look again.
				 */
				if (q->drain_wait)
					pv_blkback_mark_dirty(dev);
			} else if (taken >= budget || late)
				*more = 1;
			break;
		}
		/*
		 * Out of budget: come back after the other queues, without waiting for a
		 * notification (the guest sends none for requests it published already).
		 */
		if (taken >= budget || late) {
			/*
			 * Nothing left and --poll-us: polled, req_event left behind.  A guest at
			 * QD32 fills each turn's budget exactly, and re-arming here stopped its
			 * polling after the first burst.
			 */
			if (pv_ring_unconsumed_requests(&q->ring))
				*more = 1;
			else if (!pv_blkback_poll_begin(q))
				*more = pv_ring_final_check_requests(&q->ring) != 0;
			break;
		}
		/*
		 * --poll-us: req_event is left behind (the guest then sends no notification)
		 * and the loop keeps looking at the ring; pv_blkback_poll_idle() re-arms it
		 * as below when the time is up.
		 */
		if (pv_blkback_poll_begin(q)) {
			if (!pv_ring_unconsumed_requests(&q->ring))
				break;
			continue;
		}
		/* Re-arms req_event, then looks again: closes the race with a sleeping producer. */
		if (!pv_ring_final_check_requests(&q->ring))
			break;
	}
	push(q);
	if (*more && late)
		q->st.time_yields++;
	else if (*more)
		q->st.budget_yields++;
	return taken;
}

void pv_blkback_kick(struct pv_blkback_queue *q)
{
	int more;

	pv_blkback_kick_budget(q, q->w->sched_ok ? PV_BLKBACK_KICK_BUDGET : ~0u, &more);
	if (more)
		pv_blkback_sched_more(q);
}

/* One notified queue's turn: a budget, then unmask (or back off), then the run queue. */
static void notified_turn(struct pv_backd *d, struct pv_blkback_queue *q)
{
	unsigned int taken;
	int more;

	taken = pv_blkback_kick_budget(q, d->sched_ok ? PV_BLKBACK_KICK_BUDGET : ~0u, &more);
	/* Unmasked (or not, in a storm) after the pass: an event meanwhile stays pending. */
	/* A notification for requests that wait for bounce pages brought work all the same:
	 * counting it spurious would storm-mask a busy, honest guest. */
	pv_blkback_sched_notified(q, taken || q->waiting);
	if (more)
		pv_blkback_sched_more(q);
}

/*
 * Requests waiting on q's ring, and whether q is short: few requests in flight or
 * waiting.  A guest at queue depth 1 is short; a flooder is not.  req_prod is the guest's
 * and only steers the order here (kick checks it before any use): an impossible value
 * makes the queue long.
 */
static unsigned int queue_backlog(const struct pv_blkback_queue *q)
{
	pv_ring_idx_t prod = __atomic_load_n(&q->ring.sring->req_prod, __ATOMIC_RELAXED);

	return (pv_ring_idx_t)(prod - q->ring.req_cons);
}

static int queue_short(const struct pv_blkback_queue *q)
{
	unsigned int backlog = queue_backlog(q);

	return backlog <= q->ring.nr_ents && q->inflight + backlog <= PV_BLKBACK_SHORT_QUEUE;
}

void pv_blkback_evtchn_ready(struct pv_backd *d)
{
	struct pv_blkback_queue *longq[PV_BLKBACK_PASS_QUEUES];
	evtchn_port_t ports[PV_BLKBACK_PASS_QUEUES];
	unsigned int nlong = 0, i;
	int n;

	/*
	 * A bounded batch: a port unmasked here can be pending again at once; the evtchn fd
	 * stays readable, so what is left waits for one turn of the other fds.  Short queues
	 * are served as their ports come, long ones after them: a guest waiting for one
	 * request does not wait behind a flooder's turns of PV_BLKBACK_KICK_BUDGET.
	 */
	n = pv_evtchn_pending_batch(d->plat, ports, PV_BLKBACK_PASS_QUEUES);
	for (i = 0; i < (unsigned int)(n > 0 ? n : 0); i++) {
		evtchn_port_t port = ports[i];
		struct pv_blkback_queue *q = port < d->nports ? d->ports[port] : NULL;

		if (!q) {
			/* A vif's port, or one we no longer use. */
			if (!pv_netback_port_event(d, port))
				pv_evtchn_unmask(d->plat, port);
			continue;
		}
		q->st.notifications_in++;
		if (d->sched_ok && !queue_short(q)) {
			longq[nlong++] = q;
			continue;
		}
		notified_turn(d, q);
	}
	for (i = 0; i < nlong; i++)
		/* Still there: a turn above cannot unbind a port (a disconnect waits for dirty). */
		notified_turn(d, longq[i]);
}

void pv_blkback_after_completions(struct pv_blkback_queue *q)
{
	/*
	 * Freed slots may let requests waiting behind a full ring in.  A few are taken now;
	 * a ring full of them (a flooder: a turn of grant maps costs a millisecond) gets its
	 * responses out now and its intake on the run queue, where other guests'
	 * notifications are served between turns.
	 */
	if (q->w->sched_ok && !q->stopped && queue_backlog(q) > PV_BLKBACK_SHORT_QUEUE) {
		push(q);
		pv_blkback_sched_more(q);
	} else {
		pv_blkback_kick(q);
	}
	if (q->drain_wait)
		pv_blkback_mark_dirty(q->dev);
}

void pv_blkback_queue_stop_intake(struct pv_blkback_queue *q, int snapshot)
{
	pv_ring_idx_t prod;

	/* Whoever stops intake waits for the drain: its end must wake the state machine. */
	q->drain_wait = 1;
	if (q->stopped || q->have_stop_at)
		return;
	if (!snapshot || pv_ring_back_req_prod(&q->ring, &prod) < 0) {
		q->stopped = 1;
		return;
	}
	/* What the front end published before it was told to go: served, then no more. */
	q->stop_left = prod - q->ring.req_cons;
	if (q->stop_left > q->ring.nr_ents)
		q->stop_left = 0; /* a producer index behind us: nothing honest is pending */
	q->have_stop_at = 1;
	pv_blkback_kick(q);
	if (!q->stop_left)
		q->stopped = 1;
}

int pv_blkback_queue_drained(const struct pv_blkback_queue *q)
{
	return !q->inflight && q->stopped;
}

/* ---- connect and disconnect -------------------------------------------------------------- */

/* Through the calling thread's own xenstore connection (p): the main one's, or q->w's. */
static int fe_read(struct pv_platform *p, const char *dir, const char *node, char **val)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, node);
	return pv_xs_read(p, 0, path, val, NULL);
}

/* A uint32_t written by the guest: plain decimal, nothing else.  -ENOENT, -EINVAL. */
static int fe_read_u32(struct pv_platform *plat, const char *dir, const char *node,
		       uint32_t *out)
{
	uint64_t v = 0;
	char *s, *p;
	int rc = fe_read(plat, dir, node, &s);

	if (rc < 0)
		return rc;
	for (p = s; *p >= '0' && *p <= '9' && v <= UINT32_MAX; p++)
		v = v * 10 + (uint64_t)(*p - '0');
	rc = (p == s || *p || v > UINT32_MAX) ? -EINVAL : 0;
	if (rc == 0)
		*out = (uint32_t)v;
	free(s);
	return rc;
}

static int port_map_set(struct pv_backd *d, evtchn_port_t port, struct pv_blkback_queue *q)
{
	if (port >= d->nports) {
		unsigned int n = port + 64;
		struct pv_blkback_queue **p = realloc(d->ports, n * sizeof(*p));

		if (!p)
			return -ENOMEM;
		memset(p + d->nports, 0, (n - d->nports) * sizeof(*p));
		d->ports = p;
		d->nports = n;
	}
	d->ports[port] = q;
	return 0;
}

static int queue_alloc(struct pv_blkback_queue *q, int copy, int persistent)
{
	unsigned int n = q->ring.nr_ents, i, s = q->max_segs;

	q->reqs = calloc(n, sizeof(*q->reqs));
	q->iovs = calloc((size_t)n * s, sizeof(*q->iovs));
	q->segs = calloc(PV_BLKBACK_MAX_INDIRECT_SEGS, sizeof(*q->segs));
	q->refs = calloc(PV_BLKBACK_MAX_INDIRECT_SEGS, sizeof(*q->refs));
	q->pages = calloc(PV_BLKBACK_MAX_INDIRECT_SEGS, sizeof(*q->pages));
	q->ind_buf = malloc((size_t)BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST * PV_PAGE_SIZE);
	if (!q->reqs || !q->iovs || !q->segs || !q->refs || !q->pages || !q->ind_buf)
		return -ENOMEM;
	if (copy) {
		/* Bounce pages come from the device's pool (pv_blkback_bounce.c). */
		q->csegs = calloc((size_t)n * s, sizeof(*q->csegs));
		if (!q->csegs)
			return -ENOMEM;
	} else {
		q->mb_req = calloc(PV_BLKBACK_MAP_BATCH_REQS, sizeof(*q->mb_req));
		q->mb_count = calloc(PV_BLKBACK_MAP_BATCH_REQS, sizeof(*q->mb_count));
		q->mb_addr = calloc(PV_BLKBACK_MAP_BATCH_REQS, sizeof(*q->mb_addr));
		q->mb_refs = calloc(PV_BLKBACK_MAP_BATCH_PAGES, sizeof(*q->mb_refs));
		q->mb_seg = calloc(PV_BLKBACK_MAP_BATCH_PAGES, sizeof(*q->mb_seg));
		q->mb_off = calloc(PV_BLKBACK_MAP_BATCH_PAGES, sizeof(*q->mb_off));
		if (!q->mb_req || !q->mb_count || !q->mb_addr || !q->mb_refs || !q->mb_seg ||
		    !q->mb_off)
			return -ENOMEM;
	}
	if (persistent) {
		/*
		 * Room for what Linux's xen-blkfront keeps persistent by default: every slot's
		 * 32 indirect segments and their indirect page.  With less (once every slot's 11
		 * direct segments), its pool overflowed the cache under fio and every page past
		 * it cost a map and an unmap per request.  Grant mappings use the guest's memory,
		 * not ours; the cap bounds address space and maptrack entries per queue.
		 */
		unsigned int dev_max = q->w->max_persistent ? q->w->max_persistent :
				       PV_BLKBACK_PERSISTENT_DEFAULT;

		unsigned int max = n * (PV_BLKBACK_PERSISTENT_SEGS + 1);

		/* The device's bound, shared evenly by its queues. */
		if (max > dev_max / q->dev->nqueues)
			max = dev_max / q->dev->nqueues;
		if (!max)
			max = 1;
		if (pv_gcache_init(&q->gc, q->w->plat, (domid_t)q->dev->domid, max, 1) < 0)
			return -ENOMEM;
		q->pin_pool = calloc((size_t)n * s, sizeof(*q->pin_pool));
		if (!q->pin_pool)
			return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		struct pv_blkback_req *rq = &q->reqs[i];

		rq->q = q;
		rq->iov = &q->iovs[(size_t)i * s];
		if (persistent)
			rq->pins = (struct pv_gcache_pins){ .chunk = &q->pin_pool[(size_t)i * s], .cap = s };
		if (copy) {
			rq->cseg = &q->csegs[(size_t)i * s];
			pv_gcopy_init(&rq->copy, q->w->plat, rq->cseg, s);
		}
		rq->next_free = q->free;
		q->free = rq;
	}
	return 0;
}

struct queue_connect_args {
	char dir[200];
	int have_order, resume;
};

/* On q's thread: maps its ring, binds its port, sizes its pool, starts its I/O. */
static int queue_connect(struct pv_blkback_queue *q, void *arg)
{
	const struct queue_connect_args *a = arg;
	struct pv_blkback_dev *dev = q->dev;
	struct pv_backd *d = q->w;
	grant_ref_t refs[PV_RING_MAX_PAGES];
	unsigned int i, npages = 1u << dev->ring_order;
	uint32_t v;
	char node[32];
	int rc;

	q->uring_efd = -1;
	q->lim = dev->lim;
	if (pv_blkback_sched_init(d) < 0) /* without it: no budget, but no lost request */
		pv_backd_log(PV_LOG_WARN, COMP, "no request budget: %s", strerror(errno));
	for (i = 0; i < npages; i++) {
		if (a->have_order)
			snprintf(node, sizeof(node), "ring-ref%u", i);
		else
			snprintf(node, sizeof(node), "ring-ref");
		rc = fe_read_u32(d->plat, a->dir, node, &v);
		if (rc < 0) {
			pv_blkback_queue_fatal(q, "queue %u: %s missing or malformed", q->idx, node);
			return rc;
		}
		refs[i] = v;
	}
	rc = fe_read_u32(d->plat, a->dir, "event-channel", &v);
	if (rc < 0) {
		pv_blkback_queue_fatal(q, "queue %u: event-channel missing or malformed", q->idx);
		return rc;
	}
	q->remote_port = v;
	rc = pv_gnt_map(d->plat, (domid_t)dev->domid, npages, refs, 1, &q->ring_addr);
	if (rc < 0) {
		q->ring_addr = NULL;
		pv_blkback_queue_fatal(q, "queue %u: mapping ring-ref failed: %s", q->idx,
				       strerror(-rc));
		return rc;
	}
	q->ring_pages = npages;
	q->st.grant_maps += npages;
	/*
	 * Where to attach is the journal's answer (pv_blkback_journal.c): after a restart
	 * [rsp_prod, req_prod) is not "what the old daemon never answered", since responses
	 * are written in completion order over slots of requests taken earlier.
	 */
	rc = pv_ring_back_attach(&q->ring, q->ring_addr, (size_t)npages * PV_PAGE_SIZE,
				 sizeof(union pv_blkif_sring_entry), 0);
	if (rc < 0)
		return rc;
	rc = pv_blkback_journal_open(q, refs, a->resume ? PV_BJ_RESUME : PV_BJ_FRESH,
				     &q->ring.rsp_prod_pvt, &q->ring.req_cons);
	if (rc < 0)
		return rc;
	rc = pv_evtchn_bind_interdomain(d->plat, (domid_t)dev->domid, q->remote_port, &q->port);
	if (rc < 0) {
		pv_blkback_queue_fatal(q, "queue %u: binding event-channel %u failed: %s", q->idx,
				       q->remote_port, strerror(-rc));
		return rc;
	}
	q->bound = 1;
	rc = port_map_set(d, q->port, q);
	if (rc < 0)
		return rc;
	q->max_segs = q->lim.max_indirect ? PV_BLKBACK_MAX_INDIRECT_SEGS :
		      BLKIF_MAX_SEGMENTS_PER_REQUEST;
	rc = queue_alloc(q, dev->copy, dev->persistent);
	if (rc < 0) {
		pv_blkback_queue_fatal(q, "queue %u: out of memory", q->idx);
		return rc;
	}
	rc = pv_blkback_bounce_init(q);
	if (rc < 0) {
		pv_blkback_queue_fatal(q, "queue %u: out of memory for bounce buffers", q->idx);
		return rc;
	}
	rc = pv_blkback_io_start(q);
	if (rc < 0)
		pv_blkback_queue_fatal(q, "queue %u: cannot start I/O: %s", q->idx, strerror(-rc));
	return rc;
}

static int call_close_journal(struct pv_blkback_queue *q, void *arg)
{
	(void)arg;
	pv_blkback_journal_close(q, 0);
	return 0;
}

int pv_blkback_connect(struct pv_blkback_dev *dev)
{
	struct pv_backd *d = dev->d;
	struct queue_connect_args a;
	uint32_t nq = 1, order = 0;
	unsigned int i;
	int rc;
	char *s;

	/*
	 * Connected already: the state was written by the previous daemon, so this is a
	 * restart and the journal says where the ring stands (it also checks that the ring
	 * is the one it describes: a front end may have started over while we were dead).
	 */
	a.resume = dev->state == XenbusStateConnected;
	rc = fe_read(d->plat, dev->fe_path, "protocol", &s);
	if (rc == 0) {
		int ok = strcmp(s, "x86_64-abi") == 0;
		char clean[64];

		if (!ok) {
			pv_backd_str_clean(clean, sizeof(clean), s, 32);
			pv_blkback_fatal(dev, "protocol \"%s\" not supported", clean);
		}
		free(s);
		if (!ok)
			return -EPROTONOSUPPORT;
	}
	dev->persistent = 0;
	if (fe_read(d->plat, dev->fe_path, "feature-persistent", &s) == 0) {
		dev->persistent = strcmp(s, "1") == 0;
		free(s);
	}
	rc = fe_read_u32(d->plat, dev->fe_path, "multi-queue-num-queues", &nq);
	if (rc == -EINVAL || (rc == 0 && (nq == 0 || nq > d->max_queues))) {
		pv_blkback_fatal(dev, "multi-queue-num-queues invalid (1..%u)", d->max_queues);
		return -EINVAL;
	}
	if (rc < 0)
		nq = 1;
	rc = fe_read_u32(d->plat, dev->fe_path, "ring-page-order", &order);
	a.have_order = rc == 0;
	if (rc == -EINVAL || (rc == 0 && order > PV_RING_MAX_PAGE_ORDER)) {
		pv_blkback_fatal(dev, "ring-page-order invalid (0..%u)", PV_RING_MAX_PAGE_ORDER);
		return -EINVAL;
	}
	if (!a.have_order)
		order = 0;
	dev->ring_order = order;
	dev->copy = d->grant_copy;
	dev->qs = calloc(nq, sizeof(*dev->qs));
	if (!dev->qs)
		return -ENOMEM;
	dev->nqueues = nq;
	for (i = 0; i < nq; i++) {
		struct pv_blkback_queue *q = &dev->qs[i];

		q->dev = dev;
		q->idx = i;
		/* One queue: its nodes sit in the frontend directory itself (io/blkif.h). */
		if (nq == 1)
			snprintf(a.dir, sizeof(a.dir), "%s", dev->fe_path);
		else
			snprintf(a.dir, sizeof(a.dir), "%s/queue-%u", dev->fe_path, i);
		pv_backd_worker_assign(q);
		rc = pv_backd_worker_call(q, queue_connect, &a);
		if (rc < 0)
			goto fail;
	}
	dev->connected = 1;
	pv_backd_log(PV_LOG_INFO, COMP, "vbd %u/%u: connected: %u queue(s) of %u page(s), %s%s",
		     dev->domid, dev->devid, nq, 1u << order, dev->copy ? "grant copy" : "grant map",
		     dev->persistent ? ", persistent grants" : "");
	return 0;
fail:
	/*
	 * A resume that failed keeps its journals (closed here, so the disconnect does not
	 * delete them): a later attempt, by us or by the next daemon while the state still
	 * says Connected, can still resume exactly.  Queues already recovered left their
	 * journal consistent (recovery is idempotent); a fresh connect's journals go.
	 */
	if (a.resume) {
		pv_backd_worker_call_all(dev, call_close_journal, NULL);
		pv_backd_log(PV_LOG_WARN, COMP, "vbd %u/%u: resume failed; restart journals kept",
			     dev->domid, dev->devid);
	}
	pv_blkback_disconnect(dev);
	return rc;
}

void pv_blkback_stats_add(struct pv_blkback_stats *to, const struct pv_blkback_stats *from)
{
	_Static_assert(sizeof(*to) % sizeof(uint64_t) == 0, "every counter is a uint64_t");
	const uint64_t *f = (const uint64_t *)from;
	uint64_t *t = (uint64_t *)to;
	uint64_t peak = to->bounce_peak > from->bounce_peak ? to->bounce_peak : from->bounce_peak;
	size_t i;

	for (i = 0; i < sizeof(*to) / sizeof(uint64_t); i++)
		t[i] += f[i];
	to->bounce_peak = peak; /* a high-water mark: the largest, not a sum */
}

/* On q's thread: lets go of everything the queue holds; its counters go to the device's. */
static int queue_release(struct pv_blkback_queue *q, void *arg)
{
	struct pv_blkback_dev *dev = q->dev;
	struct pv_backd *d = q->w;
	unsigned int i;

	(void)arg;
	/* The ring first: io_uring_queue_exit waits for what the kernel still holds. */
	pv_blkback_io_stop(q);
	pv_blkback_unmap_flush(q);
	pv_blkback_sched_forget(q);
	if (q->bound) {
		pv_evtchn_unbind(d->plat, q->port);
		if (q->port < d->nports)
			d->ports[q->port] = NULL;
		q->bound = 0;
	}
	/* Requests still holding maps (only when forced out with I/O in flight). */
	if (q->reqs) {
		for (i = 0; i < q->ring.nr_ents; i++) {
			if (q->reqs[i].map_addr) {
				pv_gnt_unmap(d->plat, q->reqs[i].map_addr, q->reqs[i].map_count);
				q->st.grant_unmaps += q->reqs[i].map_count;
			}
		}
	}
	q->st.grant_unmaps += pv_gcache_fini(&q->gc);
	if (q->ring_addr) {
		pv_gnt_unmap(d->plat, q->ring_addr, q->ring_pages);
		q->st.grant_unmaps += q->ring_pages;
	}
	/* Kept when the daemon exits (its successor resumes), deleted when the connection ends. */
	pv_blkback_journal_close(q, !d->stopping);
	pv_blkback_bounce_fini(q);
	free(q->reqs);
	free(q->iovs);
	free(q->csegs);
	free(q->segs);
	free(q->refs);
	free(q->pages);
	free(q->ind_buf);
	free(q->pin_pool);
	free(q->mb_req);
	free(q->mb_count);
	free(q->mb_addr);
	free(q->mb_refs);
	free(q->mb_seg);
	free(q->mb_off);
	/* The main thread waits meanwhile: dev->st is not written by anyone else. */
	pv_blkback_stats_add(&dev->st, &q->st);
	memset(q, 0, sizeof(*q));
	q->dev = dev;
	q->w = d; /* released by the main thread, after this call */
	q->uring_efd = -1;
	return 0;
}

void pv_blkback_disconnect(struct pv_blkback_dev *dev)
{
	unsigned int i;

	pv_backd_worker_call_all(dev, queue_release, NULL);
	for (i = 0; i < dev->nqueues; i++)
		pv_backd_worker_release(&dev->qs[i]);
	free(dev->qs);
	dev->qs = NULL;
	dev->nqueues = 0;
	if (dev->connected)
		pv_backd_log(PV_LOG_INFO, COMP, "vbd %u/%u: disconnected", dev->domid, dev->devid);
	dev->connected = 0;
}

static int call_stop_intake(struct pv_blkback_queue *q, void *arg)
{
	pv_blkback_queue_stop_intake(q, *(const int *)arg);
	return 0;
}

void pv_blkback_stop_intake(struct pv_blkback_dev *dev, int snapshot)
{
	pv_backd_worker_call_all(dev, call_stop_intake, &snapshot);
}

static int call_drained(struct pv_blkback_queue *q, void *arg)
{
	(void)arg;
	return pv_blkback_queue_drained(q);
}

int pv_blkback_drained(struct pv_blkback_dev *dev)
{
	return pv_backd_worker_call_all(dev, call_drained, NULL) > 0;
}
