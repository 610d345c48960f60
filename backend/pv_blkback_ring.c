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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "pv_blkback.h"

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
	default: /* BLKIF_OP_RESERVED_1 and everything unknown */
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

static void respond(struct pv_blkback_queue *q, uint64_t id, uint8_t op, int16_t status)
{
	struct blkif_response rsp = { .id = id, .operation = op, .status = status };

	/* Slot rsp_prod_pvt holds a request we consumed already: ours to overwrite. */
	memcpy(pv_blkif_back_rsp(&q->ring, q->ring.rsp_prod_pvt), &rsp, sizeof(rsp));
	q->ring.rsp_prod_pvt++;
	q->need_push = 1;
}

/* Publishes the responses of this pass; one notification at most. */
static void push(struct pv_blkback_queue *q)
{
	struct pv_blkback_dev *dev = q->dev;

	if (!q->need_push)
		return;
	q->need_push = 0;
	if (pv_ring_push_responses_and_check_notify(&q->ring)) {
		pv_evtchn_notify(dev->d->plat, q->port);
		dev->st.notifications_out++;
	}
}

void pv_blkback_fatal(struct pv_blkback_dev *dev, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pv_blkback_node_write(dev, 0, "error", msg);
	pv_backd_log_rl(&dev->rl, PV_LOG_WARN, COMP, "vbd %u/%u: %s", dev->domid, dev->devid, msg);
}

/* ---- persistent grants ------------------------------------------------------------------- */

static unsigned int pg_hash(grant_ref_t ref, unsigned int size)
{
	return (ref * 2654435761u) & (size - 1);
}

static void *pg_lookup(const struct pv_blkback_queue *q, grant_ref_t ref)
{
	unsigned int i = pg_hash(ref, q->pg_size);

	/* The table is never more than half full, so an empty slot ends every probe. */
	while (q->pg[i].page) {
		if (q->pg[i].ref == ref)
			return q->pg[i].page;
		i = (i + 1) & (q->pg_size - 1);
	}
	return NULL;
}

static void pg_insert(struct pv_blkback_queue *q, grant_ref_t ref, void *page)
{
	unsigned int i = pg_hash(ref, q->pg_size);

	while (q->pg[i].page)
		i = (i + 1) & (q->pg_size - 1);
	q->pg[i].ref = ref;
	q->pg[i].page = page;
	q->pg_count++;
}

/* ---- grants of one request --------------------------------------------------------------- */

/*
 * Tries to make the missing pages of a request persistent: maps the distinct new refs in
 * one call, writable (a persistent page serves reads and writes alike).  Returns 0 (all
 * pages present now), 1 (not done: the cache is full, or a page is granted read-only and
 * read-only is enough for this request: map per request instead), or -errno.
 */
static int map_persistent(struct pv_blkback_queue *q, const struct blkif_request_segment *segs,
			  unsigned int n, int need_write)
{
	struct pv_blkback_dev *dev = q->dev;
	unsigned int i, k, uniq = 0;
	uint8_t *addr;
	int rc;

	for (i = 0; i < n; i++) {
		if (q->pages[i])
			continue;
		for (k = 0; k < uniq && q->refs[k] != segs[i].gref; k++)
			;
		if (k == uniq)
			q->refs[uniq++] = segs[i].gref;
	}
	if (q->pg_count + uniq > q->pg_max || q->nchunks >= q->pg_max)
		return 1;
	rc = pv_gnt_map(dev->d->plat, (domid_t)dev->domid, uniq, q->refs, 1, (void **)&addr);
	if (rc == -EACCES && !need_write)
		return 1;
	if (rc < 0)
		return rc;
	dev->st.grant_maps += uniq;
	q->chunks[q->nchunks++] = (struct pv_blkback_chunk){ addr, uniq };
	for (k = 0; k < uniq; k++)
		pg_insert(q, q->refs[k], addr + (size_t)k * PV_PAGE_SIZE);
	for (i = 0; i < n; i++)
		if (!q->pages[i])
			q->pages[i] = pg_lookup(q, segs[i].gref);
	return 0;
}

/* Map mode: finds or maps every page, then points the request's iovecs into them. */
static int grants_map(struct pv_blkback_queue *q, struct pv_blkback_req *rq,
		      const struct blkif_request_segment *segs, unsigned int n, int need_write)
{
	struct pv_blkback_dev *dev = q->dev;
	unsigned int i, m = 0;
	uint8_t *addr;
	int rc;

	for (i = 0; i < n; i++) {
		q->pages[i] = dev->persistent ? pg_lookup(q, segs[i].gref) : NULL;
		if (q->pages[i])
			dev->st.persistent_hits++;
		else
			m++;
	}
	if (m && dev->persistent) {
		rc = map_persistent(q, segs, n, need_write);
		if (rc < 0)
			return rc;
		if (rc == 0)
			m = 0;
	}
	if (m) {
		/* One call for every page the cache could not give: contiguous, one unmap later. */
		m = 0;
		for (i = 0; i < n; i++) {
			if (q->pages[i])
				continue;
			q->refs[m] = segs[i].gref;
			q->refseg[m++] = (uint16_t)i;
		}
		rc = pv_gnt_map(dev->d->plat, (domid_t)dev->domid, m, q->refs, need_write,
				(void **)&addr);
		if (rc < 0)
			return rc;
		dev->st.grant_maps += m;
		rq->map_addr = addr;
		rq->map_count = m;
		for (i = 0; i < m; i++)
			q->pages[q->refseg[i]] = addr + (size_t)i * PV_PAGE_SIZE;
	}
	for (i = 0; i < n; i++) {
		rq->iov[i].iov_base = (uint8_t *)q->pages[i] + segs[i].first_sect * 512u;
		rq->iov[i].iov_len = (size_t)(segs[i].last_sect - segs[i].first_sect + 1) * 512u;
	}
	rq->niov = n;
	return 0;
}

/* Copy mode: the request's own bounce pages; writes are copied in now, reads at the end. */
static int grants_copy(struct pv_blkback_queue *q, struct pv_blkback_req *rq,
		       const struct blkif_request_segment *segs, unsigned int n, int to_guest)
{
	struct pv_blkback_dev *dev = q->dev;
	unsigned int i;

	for (i = 0; i < n; i++) {
		uint16_t off = (uint16_t)(segs[i].first_sect * 512u);
		uint16_t len = (uint16_t)((segs[i].last_sect - segs[i].first_sect + 1) * 512u);

		rq->cseg[i] = (struct pv_gnt_copy_seg){
			.local = rq->bounce + (size_t)i * PV_PAGE_SIZE + off,
			.ref = segs[i].gref, .domid = (domid_t)dev->domid,
			.offset = off, .len = len, .to_granted = (uint8_t)to_guest,
		};
		rq->iov[i].iov_base = rq->cseg[i].local;
		rq->iov[i].iov_len = len;
	}
	rq->niov = n;
	if (to_guest) {
		rq->copy_back = 1;
		return 0;
	}
	dev->st.grant_copies += n;
	return pv_gnt_copy(dev->d->plat, rq->cseg, n) < 0 ? -EACCES : 0;
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

	for (i = 0; i < n; i++) {
		s[i] = (struct blkif_request_segment){ .gref = grefs[i] };
		q->pages[i] = pg_lookup(q, grefs[i]);
		miss += !q->pages[i];
	}
	if (miss && (rc = map_persistent(q, s, n, 0)) != 0)
		return rc;
	for (i = 0; i < n; i++) {
		size_t left = bytes - (size_t)i * PV_PAGE_SIZE;

		memcpy(q->ind_buf + (size_t)i * PV_PAGE_SIZE, q->pages[i],
		       left < PV_PAGE_SIZE ? left : PV_PAGE_SIZE);
	}
	q->dev->st.persistent_hits += n - miss;
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
	struct blkif_request_indirect ir;
	size_t bytes = (size_t)h->nseg * sizeof(struct blkif_request_segment);
	unsigned int i;
	void *addr;
	int rc;

	memcpy(&ir, r, sizeof(ir));
	if (dev->persistent && !dev->d->grant_copy) {
		rc = indirect_persistent(q, ir.indirect_grefs, h->nr_ind_pages, bytes);
		if (rc < 0)
			return rc;
		if (rc == 0)
			goto copied;
	}
	for (i = 0; i < h->nr_ind_pages; i++) {
		size_t left = bytes - (size_t)i * PV_PAGE_SIZE;

		c[i] = (struct pv_gnt_copy_seg){
			.local = q->ind_buf + (size_t)i * PV_PAGE_SIZE, .ref = ir.indirect_grefs[i],
			.domid = (domid_t)dev->domid, .len = (uint16_t)(left < PV_PAGE_SIZE ? left : PV_PAGE_SIZE),
		};
	}
	rc = pv_gnt_copy(dev->d->plat, c, h->nr_ind_pages);
	if (rc == -ENOTSUP) {
		rc = pv_gnt_map(dev->d->plat, (domid_t)dev->domid, h->nr_ind_pages,
				ir.indirect_grefs, 0, &addr);
		if (rc < 0)
			return rc;
		memcpy(q->ind_buf, addr, bytes);
		pv_gnt_unmap(dev->d->plat, addr, h->nr_ind_pages);
		dev->st.grant_maps += h->nr_ind_pages;
		dev->st.grant_unmaps += h->nr_ind_pages;
	} else {
		dev->st.grant_copies += h->nr_ind_pages;
		if (rc < 0)
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
	struct pv_blkback_dev *dev = q->dev;

	if (rq->map_addr) {
		pv_gnt_unmap(dev->d->plat, rq->map_addr, rq->map_count);
		dev->st.grant_unmaps += rq->map_count;
		rq->map_addr = NULL;
		rq->map_count = 0;
	}
	rq->next_free = q->free;
	q->free = rq;
	q->inflight--;
	dev->inflight--;
}

void pv_blkback_req_done(struct pv_blkback_req *rq, int ok)
{
	struct pv_blkback_queue *q = rq->q;
	struct pv_blkback_dev *dev = q->dev;

	if (!ok && rq->status == BLKIF_RSP_OKAY) {
		rq->status = BLKIF_RSP_ERROR;
		dev->st.errors++;
	}
	if (rq->copy_back && rq->status == BLKIF_RSP_OKAY) {
		dev->st.grant_copies += rq->niov;
		if (pv_gnt_copy(dev->d->plat, rq->cseg, rq->niov) < 0) {
			/* The guest revoked or never granted write access: its fault. */
			rq->status = BLKIF_RSP_ERROR;
			dev->st.bad_requests++;
		}
	}
	if (rq->status == BLKIF_RSP_OKAY) {
		if (rq->kind == PV_BLK_READ)
			dev->st.bytes_read += rq->bytes;
		else
			dev->st.bytes_written += rq->bytes;
	}
	respond(q, rq->id, rq->op, rq->status);
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

static void bad_request(struct pv_blkback_queue *q, const struct blkif_request *r, int why)
{
	struct pv_blkback_dev *dev = q->dev;

	dev->st.bad_requests++;
	respond(q, r->id, response_op(r), BLKIF_RSP_ERROR);
	pv_backd_log_rl(&dev->rl, PV_LOG_DEBUG, COMP, "vbd %u/%u queue %u: bad request op %u: %s",
			dev->domid, dev->devid, q->idx, r->operation, strerror(-why));
}

static void start_request(struct pv_blkback_queue *q, const struct blkif_request *r)
{
	struct pv_blkback_dev *dev = q->dev;
	const struct blkif_request_segment *segs = r->seg;
	struct pv_blkback_hdr h;
	struct pv_blkback_req *rq;
	uint64_t nsect = 0;
	int rc;

	dev->st.requests++;
	rc = pv_blkback_check_req(&dev->lim, r, &h);
	if (rc < 0) {
		bad_request(q, r, rc);
		return;
	}
	/* The ring never holds more requests than the pool: cons overflow stops intake first. */
	rq = q->free;
	q->free = rq->next_free;
	q->inflight++;
	dev->inflight++;
	rq->id = r->id;
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
		rc = pv_blkback_check_segs(&dev->lim, h.sector, segs, h.nseg, &nsect);
		if (rc < 0)
			goto bad;
		rq->bytes = nsect << PV_BLKIF_SECTOR_SHIFT;
		if (dev->copy)
			rc = grants_copy(q, rq, segs, h.nseg, h.kind == PV_BLK_READ);
		else
			rc = grants_map(q, rq, segs, h.nseg, h.kind == PV_BLK_READ);
		if (rc < 0)
			goto bad;
	}
	switch (h.kind) {
	case PV_BLK_READ: dev->st.reads++; break;
	case PV_BLK_WRITE: dev->st.writes++; break;
	case PV_BLK_FLUSH: dev->st.flushes++; break;
	case PV_BLK_BARRIER: dev->st.barriers++; break;
	case PV_BLK_DISCARD: dev->st.discards++; break;
	}
	dev->st.indirect += h.indirect;
	if (pv_blkback_io_queue(rq) < 0)
		pv_blkback_req_done(rq, 0);
	return;
bad:
	rq->status = BLKIF_RSP_ERROR;
	dev->st.bad_requests++;
	respond(q, rq->id, rq->op, BLKIF_RSP_ERROR);
	req_free(rq);
	pv_backd_log_rl(&dev->rl, PV_LOG_DEBUG, COMP, "vbd %u/%u queue %u: bad request op %u: %s",
			dev->domid, dev->devid, q->idx, r->operation, strerror(-rc));
}

/* ---- intake ------------------------------------------------------------------------------ */

static void ring_broken(struct pv_blkback_queue *q)
{
	q->stopped = 1;
	pv_blkback_fatal(q->dev, "queue %u: request producer index beyond the ring", q->idx);
	pv_blkback_failed(q->dev);
}

void pv_blkback_kick(struct pv_blkback_queue *q)
{
	struct pv_blkback_dev *dev = q->dev;

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
		       (!q->have_stop_at || q->stop_left)) {
			struct blkif_request r;

			pv_blkif_back_copy_req(&q->ring, q->ring.req_cons, &r);
			q->ring.req_cons++;
			q->stop_left -= q->have_stop_at;
			start_request(q, &r);
		}
		pv_blkback_io_submit(dev);
		push(q);
		if (q->have_stop_at) {
			if (!q->stop_left)
				q->stopped = 1;
			break;
		}
		/* Re-arms req_event, then looks again: closes the race with a sleeping producer. */
		if (!pv_ring_final_check_requests(&q->ring))
			break;
	}
	push(q);
}

void pv_blkback_evtchn_ready(struct pv_backd *d)
{
	int port;

	while ((port = pv_evtchn_pending(d->plat)) >= 0) {
		struct pv_blkback_queue *q = (unsigned int)port < d->nports ? d->ports[port] : NULL;

		/* Unmasked first: a notification during this pass then brings us back. */
		pv_evtchn_unmask(d->plat, (evtchn_port_t)port);
		if (!q)
			continue;
		q->dev->st.notifications_in++;
		pv_blkback_kick(q);
	}
}

void pv_blkback_after_completions(struct pv_blkback_dev *dev)
{
	unsigned int i;

	for (i = 0; i < dev->nqueues; i++) {
		/* Freed slots may let requests waiting behind a full ring in. */
		pv_blkback_kick(&dev->qs[i]);
	}
	if (dev->target)
		dev->dirty = 1;
}

void pv_blkback_stop_intake(struct pv_blkback_dev *dev, int snapshot)
{
	unsigned int i;

	for (i = 0; i < dev->nqueues; i++) {
		struct pv_blkback_queue *q = &dev->qs[i];
		pv_ring_idx_t prod;

		if (q->stopped || q->have_stop_at)
			continue;
		if (!snapshot || pv_ring_back_req_prod(&q->ring, &prod) < 0) {
			q->stopped = 1;
			continue;
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
}

int pv_blkback_drained(const struct pv_blkback_dev *dev)
{
	unsigned int i;

	if (dev->inflight)
		return 0;
	for (i = 0; i < dev->nqueues; i++)
		if (!dev->qs[i].stopped)
			return 0;
	return 1;
}

/* ---- connect and disconnect -------------------------------------------------------------- */

static int fe_read(struct pv_blkback_dev *dev, const char *dir, const char *node, char **val)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, node);
	return pv_xs_read(dev->d->plat, 0, path, val, NULL);
}

/* A uint32_t written by the guest: plain decimal, nothing else.  -ENOENT, -EINVAL. */
static int fe_read_u32(struct pv_blkback_dev *dev, const char *dir, const char *node,
		       uint32_t *out)
{
	uint64_t v = 0;
	char *s, *p;
	int rc = fe_read(dev, dir, node, &s);

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
	q->refseg = calloc(PV_BLKBACK_MAX_INDIRECT_SEGS, sizeof(*q->refseg));
	q->pages = calloc(PV_BLKBACK_MAX_INDIRECT_SEGS, sizeof(*q->pages));
	q->ind_buf = malloc((size_t)BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST * PV_PAGE_SIZE);
	if (!q->reqs || !q->iovs || !q->segs || !q->refs || !q->refseg || !q->pages || !q->ind_buf)
		return -ENOMEM;
	if (copy) {
		q->csegs = calloc((size_t)n * s, sizeof(*q->csegs));
		/*
		 * One bounce page per possible segment of every slot: up to 512 MiB of address
		 * space for a 16-page ring with 256 indirect segments, reserved, not committed;
		 * only pages the guest's requests actually use become resident.
		 */
		q->bounce_len = (size_t)n * s * PV_PAGE_SIZE;
		q->bounce = mmap(NULL, q->bounce_len, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (q->bounce == MAP_FAILED)
			q->bounce = NULL; /* else the queue's teardown unmaps it */
		if (!q->csegs || !q->bounce)
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
		q->pg_max = n * (PV_BLKBACK_PERSISTENT_SEGS + 1);
		if (q->pg_max > PV_BLKBACK_PERSISTENT_MAX)
			q->pg_max = PV_BLKBACK_PERSISTENT_MAX;
		if (q->dev->d->max_persistent && q->pg_max > q->dev->d->max_persistent)
			q->pg_max = q->dev->d->max_persistent;
		for (q->pg_size = 1; q->pg_size < 2 * q->pg_max; q->pg_size *= 2)
			;
		q->pg = calloc(q->pg_size, sizeof(*q->pg));
		q->chunks = calloc(q->pg_max, sizeof(*q->chunks));
		if (!q->pg || !q->chunks)
			return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		struct pv_blkback_req *rq = &q->reqs[i];

		rq->q = q;
		rq->iov = &q->iovs[(size_t)i * s];
		if (copy) {
			rq->cseg = &q->csegs[(size_t)i * s];
			rq->bounce = q->bounce + (size_t)i * s * PV_PAGE_SIZE;
		}
		rq->next_free = q->free;
		q->free = rq;
	}
	return 0;
}

static int queue_connect(struct pv_blkback_dev *dev, struct pv_blkback_queue *q, const char *dir,
			 int have_order)
{
	struct pv_backd *d = dev->d;
	grant_ref_t refs[PV_RING_MAX_PAGES];
	unsigned int i, npages = 1u << dev->ring_order;
	uint32_t v;
	char node[32];
	int rc;

	for (i = 0; i < npages; i++) {
		if (have_order)
			snprintf(node, sizeof(node), "ring-ref%u", i);
		else
			snprintf(node, sizeof(node), "ring-ref");
		rc = fe_read_u32(dev, dir, node, &v);
		if (rc < 0) {
			pv_blkback_fatal(dev, "queue %u: %s missing or malformed", q->idx, node);
			return rc;
		}
		refs[i] = v;
	}
	rc = fe_read_u32(dev, dir, "event-channel", &v);
	if (rc < 0) {
		pv_blkback_fatal(dev, "queue %u: event-channel missing or malformed", q->idx);
		return rc;
	}
	q->remote_port = v;
	rc = pv_gnt_map(d->plat, (domid_t)dev->domid, npages, refs, 1, &q->ring_addr);
	if (rc < 0) {
		q->ring_addr = NULL;
		pv_blkback_fatal(dev, "queue %u: mapping ring-ref failed: %s", q->idx, strerror(-rc));
		return rc;
	}
	q->ring_pages = npages;
	dev->st.grant_maps += npages;
	/*
	 * Attach at the responses already published, not at 0: after a restart the requests
	 * between rsp_prod and req_prod are the ones the old daemon never answered.
	 */
	rc = pv_ring_back_attach(&q->ring, q->ring_addr, (size_t)npages * PV_PAGE_SIZE,
				 sizeof(union pv_blkif_sring_entry),
				 __atomic_load_n(&((struct pv_sring *)q->ring_addr)->rsp_prod,
						 __ATOMIC_ACQUIRE));
	if (rc < 0)
		return rc;
	rc = pv_evtchn_bind_interdomain(d->plat, (domid_t)dev->domid, q->remote_port, &q->port);
	if (rc < 0) {
		pv_blkback_fatal(dev, "queue %u: binding event-channel %u failed: %s", q->idx,
				 q->remote_port, strerror(-rc));
		return rc;
	}
	q->bound = 1;
	rc = port_map_set(d, q->port, q);
	if (rc < 0)
		return rc;
	q->max_segs = dev->lim.max_indirect ? PV_BLKBACK_MAX_INDIRECT_SEGS :
			BLKIF_MAX_SEGMENTS_PER_REQUEST;
	rc = queue_alloc(q, dev->copy, dev->persistent);
	if (rc < 0)
		pv_blkback_fatal(dev, "queue %u: out of memory", q->idx);
	return rc;
}

int pv_blkback_connect(struct pv_blkback_dev *dev)
{
	struct pv_backd *d = dev->d;
	uint32_t nq = 1, order = 0;
	unsigned int i, entries = 0;
	int rc, have_order;
	char *s;

	rc = fe_read(dev, dev->fe_path, "protocol", &s);
	if (rc == 0) {
		int ok = strcmp(s, "x86_64-abi") == 0;

		if (!ok)
			pv_blkback_fatal(dev, "protocol %.32s not supported", s);
		free(s);
		if (!ok)
			return -EPROTONOSUPPORT;
	}
	dev->persistent = 0;
	if (fe_read(dev, dev->fe_path, "feature-persistent", &s) == 0) {
		dev->persistent = strcmp(s, "1") == 0;
		free(s);
	}
	rc = fe_read_u32(dev, dev->fe_path, "multi-queue-num-queues", &nq);
	if (rc == -EINVAL || (rc == 0 && (nq == 0 || nq > d->max_queues))) {
		pv_blkback_fatal(dev, "multi-queue-num-queues invalid (1..%u)", d->max_queues);
		return -EINVAL;
	}
	if (rc < 0)
		nq = 1;
	rc = fe_read_u32(dev, dev->fe_path, "ring-page-order", &order);
	have_order = rc == 0;
	if (rc == -EINVAL || (rc == 0 && order > PV_RING_MAX_PAGE_ORDER)) {
		pv_blkback_fatal(dev, "ring-page-order invalid (0..%u)", PV_RING_MAX_PAGE_ORDER);
		return -EINVAL;
	}
	if (!have_order)
		order = 0;
	dev->ring_order = order;
	dev->copy = d->grant_copy;
	dev->qs = calloc(nq, sizeof(*dev->qs));
	if (!dev->qs)
		return -ENOMEM;
	dev->nqueues = nq;
	for (i = 0; i < nq; i++) {
		char dir[200];

		dev->qs[i].dev = dev;
		dev->qs[i].idx = i;
		/* One queue: its nodes sit in the frontend directory itself (io/blkif.h). */
		if (nq == 1)
			snprintf(dir, sizeof(dir), "%s", dev->fe_path);
		else
			snprintf(dir, sizeof(dir), "%s/queue-%u", dev->fe_path, i);
		rc = queue_connect(dev, &dev->qs[i], dir, have_order);
		if (rc < 0)
			goto fail;
		entries += dev->qs[i].ring.nr_ents;
	}
	rc = pv_blkback_io_start(dev, entries);
	if (rc < 0) {
		pv_blkback_fatal(dev, "cannot start I/O: %s", strerror(-rc));
		goto fail;
	}
	dev->connected = 1;
	pv_backd_log(PV_LOG_INFO, COMP, "vbd %u/%u: connected: %u queue(s) of %u page(s), %s%s",
		     dev->domid, dev->devid, nq, 1u << order, dev->copy ? "grant copy" : "grant map",
		     dev->persistent ? ", persistent grants" : "");
	return 0;
fail:
	pv_blkback_disconnect(dev);
	return rc;
}

static void queue_release(struct pv_blkback_dev *dev, struct pv_blkback_queue *q)
{
	struct pv_backd *d = dev->d;
	unsigned int i;

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
				dev->st.grant_unmaps += q->reqs[i].map_count;
			}
		}
	}
	for (i = 0; i < q->nchunks; i++) {
		pv_gnt_unmap(d->plat, q->chunks[i].addr, q->chunks[i].count);
		dev->st.grant_unmaps += q->chunks[i].count;
	}
	if (q->ring_addr) {
		pv_gnt_unmap(d->plat, q->ring_addr, q->ring_pages);
		dev->st.grant_unmaps += q->ring_pages;
	}
	if (q->bounce)
		munmap(q->bounce, q->bounce_len);
	free(q->reqs);
	free(q->iovs);
	free(q->csegs);
	free(q->segs);
	free(q->refs);
	free(q->refseg);
	free(q->pages);
	free(q->ind_buf);
	free(q->pg);
	free(q->chunks);
	memset(q, 0, sizeof(*q));
}

void pv_blkback_disconnect(struct pv_blkback_dev *dev)
{
	unsigned int i;

	/* The ring first: io_uring_queue_exit waits for what the kernel still holds. */
	pv_blkback_io_stop(dev);
	for (i = 0; i < dev->nqueues; i++)
		queue_release(dev, &dev->qs[i]);
	free(dev->qs);
	dev->qs = NULL;
	dev->nqueues = 0;
	dev->inflight = 0;
	if (dev->connected)
		pv_backd_log(PV_LOG_INFO, COMP, "vbd %u/%u: disconnected", dev->domid, dev->devid);
	dev->connected = 0;
}
