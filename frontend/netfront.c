/* SPDX-License-Identifier: MIT */
/*
 * netfront.c - the data path: frames copied into granted tx pages and sent as chains of
 * tx requests (extra info for GSO), rx buffers kept posted and received chains checked
 * and handed to the caller, as io/netif.h and Linux's xen-netfront do it.
 *
 * The back end is untrusted.  Each response is copied off the ring once
 * (pv_netif_*_front_copy_rsp) and only the copy is looked at.  tx: the id names a slot of
 * a bounded table, with its generation; an id not in flight is a broken back end (the
 * device fails, as Linux's netfront since XSA-391: the slot it should have freed would
 * otherwise leak).  rx: the buffer of ring index i is ours to name (id i & mask), so the
 * back end can only fill it, never point us elsewhere; a bad chain is dropped and
 * counted and its buffers posted again.
 *
 * Costs per frame: no allocation and no grant operation; one memcpy on tx, none on rx
 * (the callback reads the granted pages).  Notifications: one per ring per kick, only
 * when the back end asked for one (req_event).
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "netfront_priv.h"


static int fail(struct pv_netfront *nf, int why)
{
	if (!nf->failed)
		nf->failed = why;
	return nf->failed;
}

/* ---- setup --------------------------------------------------------------------------- */

int nf_data_init(struct pv_netfront *nf)
{
	unsigned int i, j, per_q = NF_DEVICE_PAGE_BUDGET / nf->nq;
	int rc;

	for (i = 0; i < nf->nq; i++) {
		struct nf_queue *q = &nf->q[i];
		unsigned int ntx = q->tx.nr_ents;

		q->nrx = q->rx.nr_ents;
		/* two ring pages and every rx slot's buffer first; the tx pool takes the rest */
		if (per_q < 2 + q->nrx + XEN_NETIF_NR_SLOTS_MIN)
			return -ENOSPC;
		if (ntx > per_q - 2 - q->nrx)
			ntx = per_q - 2 - q->nrx;
		if (ntx > NF_TX_ID_MASK + 1)
			ntx = NF_TX_ID_MASK + 1;
		q->tx_refs = calloc(ntx, sizeof(*q->tx_refs));
		q->tx_slots = calloc(ntx, sizeof(*q->tx_slots));
		q->tx_free = calloc(ntx, sizeof(*q->tx_free));
		q->rx_refs = calloc(q->nrx, sizeof(*q->rx_refs));
		if (!q->tx_refs || !q->tx_slots || !q->tx_free || !q->rx_refs)
			return -ENOMEM;
		rc = nf_gnt_alloc(nf, ntx, 0, q->tx_refs, (void **)&q->tx_pages);
		if (rc < 0) {
			q->tx_pages = NULL;
			return rc;
		}
		q->ntx = ntx;
		for (j = 0; j < ntx; j++)
			q->tx_free[j] = (uint16_t)(ntx - 1 - j);
		q->ntx_free = ntx;
		rc = nf_gnt_alloc(nf, q->nrx, 1, q->rx_refs, (void **)&q->rx_pages);
		if (rc < 0) {
			q->rx_pages = NULL;
			return rc;
		}
	}
	nf->info.tx_pages = nf->q[0].ntx;
	nf->info.rx_slots = nf->q[0].nrx;
	return 0;
}

int nf_data_free(struct pv_netfront *nf)
{
	unsigned int i;
	int busy = 0;

	for (i = 0; i < NF_MAX_QUEUES; i++) {
		struct nf_queue *q = &nf->q[i];

		if (q->tx_pages && nf_gnt_free(nf, q->tx_pages, q->ntx) < 0)
			busy = 1;
		if (q->rx_pages && nf_gnt_free(nf, q->rx_pages, q->nrx) < 0)
			busy = 1;
		q->tx_pages = q->rx_pages = NULL;
		free(q->tx_refs);
		free(q->tx_slots);
		free(q->tx_free);
		free(q->rx_refs);
		q->tx_refs = q->rx_refs = NULL;
		q->tx_slots = NULL;
		q->tx_free = NULL;
		q->ntx = q->ntx_free = 0;
	}
	return busy;
}

unsigned int nf_tx_inflight(const struct pv_netfront *nf)
{
	unsigned int i, n = 0;

	for (i = 0; i < nf->nq; i++)
		n += nf->q[i].ntx - nf->q[i].ntx_free;
	return n;
}

/* Keeps every rx slot posted: the buffer of index i is page i & mask, id i & mask. */
void nf_post_rx(struct pv_netfront *nf, struct nf_queue *q, int notify)
{
	unsigned int mask = q->nrx - 1;
	int posted = 0;

	while (q->rx.req_prod_pvt - q->rx.rsp_cons < q->nrx) {
		pv_ring_idx_t i = q->rx.req_prod_pvt++;
		struct netif_rx_request *req = pv_netif_rx_front_req(&q->rx, i);

		req->id = (uint16_t)(i & mask);
		req->pad = 0;
		req->gref = q->rx_refs[i & mask];
		posted = 1;
	}
	/* feature-rx-notify: the back end sleeps on req_event when it ran out of buffers */
	if (!notify) {
		pv_ring_push_requests(&q->rx);
	} else if (posted && pv_ring_push_requests_and_check_notify(&q->rx)) {
		pv_evtchn_notify(nf->xb.p, q->rx_port);
		nf->st.kicks++;
	}
}

/* ---- tx ------------------------------------------------------------------------------ */

static struct nf_queue *pick_queue(struct pv_netfront *nf, const struct pv_netfront_meta *m)
{
	return &nf->q[m ? m->queue % nf->nq : 0];
}

unsigned int pv_netfront_tx_free(struct pv_netfront *nf, unsigned int queue)
{
	struct nf_queue *q;
	unsigned int r;

	if (!nf || !nf->connected || nf->failed)
		return 0;
	q = &nf->q[queue % nf->nq];
	r = pv_ring_free_requests(&q->tx);
	return r < q->ntx_free ? r : q->ntx_free;
}

int pv_netfront_send(struct pv_netfront *nf, const struct iovec *iov, int iovcnt,
		     const struct pv_netfront_meta *m)
{
	struct nf_queue *q;
	size_t len = 0, done = 0, ioff = 0;
	unsigned int nslots, k, need;
	uint16_t csum = 0;
	int gso = 0, ii = 0;

	if (!nf || (iovcnt > 0 && !iov) || iovcnt < 0)
		return -EINVAL;
	if (nf->failed)
		return nf->failed;
	if (!nf->connected)
		return -ENOTCONN;
	for (k = 0; k < (unsigned int)iovcnt; k++) {
		if (iov[k].iov_len > XEN_NETIF_MAX_TX_SIZE)
			return -EMSGSIZE;
		len += iov[k].iov_len;
	}
	if (len < NF_MIN_FRAME)
		return -EINVAL;
	if (len > XEN_NETIF_MAX_TX_SIZE)
		return -EMSGSIZE;
	if (m && m->gso_type != PV_NETFRONT_GSO_NONE) {
		if ((m->gso_type == PV_NETFRONT_GSO_TCPV4 && !nf->info.gso_tcpv4) ||
		    (m->gso_type == PV_NETFRONT_GSO_TCPV6 && !nf->info.gso_tcpv6))
			return -EOPNOTSUPP;
		if ((m->gso_type != PV_NETFRONT_GSO_TCPV4 && m->gso_type != PV_NETFRONT_GSO_TCPV6) ||
		    m->gso_size == 0 || !(m->flags & PV_NETFRONT_CSUM_PARTIAL))
			return -EINVAL;
		gso = 1;
	}
	/* As Linux's netfront: a partial checksum is also "validated" (the back end fills it). */
	if (m && (m->flags & PV_NETFRONT_CSUM_PARTIAL))
		csum = NETTXF_csum_blank | NETTXF_data_validated;
	else if (m && (m->flags & PV_NETFRONT_CSUM_VALID))
		csum = NETTXF_data_validated;
	nslots = (unsigned int)((len + PV_PAGE_SIZE - 1) / PV_PAGE_SIZE);
	if (nslots > nf->info.max_tx_slots)
		return -EMSGSIZE;
	q = pick_queue(nf, m);
	need = nslots + (unsigned int)gso;
	if (pv_ring_free_requests(&q->tx) < need || q->ntx_free < nslots) {
		nf->st.tx_busy++;
		return -EAGAIN;
	}
	for (k = 0; k < nslots; k++) {
		unsigned int s = q->tx_free[--q->ntx_free];
		uint8_t *page = q->tx_pages + (size_t)s * PV_PAGE_SIZE;
		size_t chunk = len - done < PV_PAGE_SIZE ? len - done : PV_PAGE_SIZE, got = 0;
		struct netif_tx_request *req;

		while (got < chunk) {
			size_t n = iov[ii].iov_len - ioff;

			if (n > chunk - got)
				n = chunk - got;
			memcpy(page + got, (const uint8_t *)iov[ii].iov_base + ioff, n);
			got += n;
			ioff += n;
			if (ioff == iov[ii].iov_len) {
				ii++;
				ioff = 0;
			}
		}
		q->tx_slots[s].busy = 1;
		req = pv_netif_tx_front_req(&q->tx, q->tx.req_prod_pvt++);
		req->gref = q->tx_refs[s];
		req->offset = 0;
		req->id = (uint16_t)((unsigned int)q->tx_slots[s].gen << NF_TX_ID_BITS | s);
		/* io/netif.h: the first slot's size is the whole frame's */
		req->size = (uint16_t)(k == 0 ? len : chunk);
		req->flags = (uint16_t)((k == 0 ? csum : 0) | (k + 1 < nslots ? NETTXF_more_data : 0) |
					(k == 0 && gso ? NETTXF_extra_info : 0));
		if (k == 0 && gso) {
			struct netif_extra_info *ex =
				(struct netif_extra_info *)(void *)pv_netif_tx_front_req(&q->tx,
											q->tx.req_prod_pvt++);

			memset(ex, 0, sizeof(union pv_netif_tx_sring_entry));
			ex->type = XEN_NETIF_EXTRA_TYPE_GSO;
			ex->flags = 0;
			ex->u.gso.size = m->gso_size;
			ex->u.gso.type = m->gso_type;
			q->tx_extras_out++;
		}
		done += chunk;
	}
	q->tx_unpushed = 1;
	nf->st.tx_packets++;
	nf->st.tx_bytes += len;
	nf->st.tx_slots += nslots;
	nf->st.tx_gso += (unsigned int)gso;
	return 0;
}

int pv_netfront_kick(struct pv_netfront *nf)
{
	unsigned int i;

	if (!nf)
		return -EINVAL;
	if (nf->failed)
		return nf->failed;
	for (i = 0; i < nf->nq; i++) {
		struct nf_queue *q = &nf->q[i];

		if (!q->tx_unpushed)
			continue;
		q->tx_unpushed = 0;
		q->tx_pushed = q->tx.req_prod_pvt;
		if (pv_ring_push_requests_and_check_notify(&q->tx)) {
			pv_evtchn_notify(nf->xb.p, q->tx_port);
			nf->st.kicks++;
		}
	}
	return 0;
}

/* Takes tx responses.  Returns how many responses were taken, or -EPROTO. */
static int tx_gc(struct pv_netfront *nf, struct nf_queue *q)
{
	pv_ring_idx_t prod, i, pushed = q->tx_pushed; /* never the shared copy */
	long n = pv_ring_front_rsp_prod(&q->tx, &prod);

	/* more responses than requests we published: nothing after this can be trusted */
	if (n < 0 || (pv_ring_idx_t)(prod - q->tx.rsp_cons) > (pv_ring_idx_t)(pushed - q->tx.rsp_cons)) {
		nf->st.overflow++;
		return fail(nf, -EPROTO);
	}
	for (i = q->tx.rsp_cons; i != prod; i++) {
		struct netif_tx_response r;
		unsigned int s, gen;

		pv_netif_tx_front_copy_rsp(&q->tx, i, &r);
		if (r.status == NETIF_RSP_NULL) {
			/* the answer to an extra-info slot; one we did not send is only noise */
			if (q->tx_extras_out)
				q->tx_extras_out--;
			else
				nf->st.bad_tx_rsp++;
			continue;
		}
		s = r.id & NF_TX_ID_MASK;
		gen = r.id >> NF_TX_ID_BITS;
		if (s >= q->ntx || !q->tx_slots[s].busy || q->tx_slots[s].gen != gen) {
			nf->st.bad_tx_rsp++;
			q->tx.rsp_cons = i + 1;
			return fail(nf, -EPROTO);
		}
		if (r.status == NETIF_RSP_ERROR || r.status == NETIF_RSP_DROPPED)
			nf->st.tx_errors++;
		else if (r.status != NETIF_RSP_OKAY)
			nf->st.bad_tx_rsp++;
		q->tx_slots[s].busy = 0;
		q->tx_slots[s].gen++;
		q->tx_free[q->ntx_free++] = (uint16_t)s;
	}
	n = (long)(pv_ring_idx_t)(prod - q->tx.rsp_cons);
	q->tx.rsp_cons = prod;
	return (int)n;
}

/* ---- rx ------------------------------------------------------------------------------ */

enum rx_bad { RX_OK, RX_BAD_ID, RX_BAD_SIZE, RX_BAD_CHAIN, RX_BAD_EXTRA, RX_BAD_GSO, RX_ERR };

static void count_bad(struct pv_netfront *nf, enum rx_bad why)
{
	nf->st.rx_dropped++;
	switch (why) {
	case RX_BAD_ID: nf->st.bad_rx_id++; break;
	case RX_BAD_SIZE: nf->st.bad_rx_size++; break;
	case RX_BAD_CHAIN: nf->st.bad_rx_chain++; break;
	case RX_BAD_EXTRA: nf->st.bad_rx_extra++; break;
	case RX_BAD_GSO: nf->st.bad_rx_gso++; break;
	case RX_ERR: nf->st.rx_errors++; break;
	case RX_OK: break;
	}
}

/* Checks one data slot (a copy) and adds it to the frame. */
static enum rx_bad rx_slot(struct nf_queue *q, pv_ring_idx_t i, const struct netif_rx_response *r,
			   struct iovec *iov, int *niov, size_t *total)
{
	unsigned int mask = q->nrx - 1;

	if (r->id != (i & mask))
		return RX_BAD_ID;
	if (r->status < 0)
		return RX_ERR;
	if ((unsigned int)r->offset + (unsigned int)r->status > PV_PAGE_SIZE)
		return RX_BAD_SIZE;
	if (*niov >= XEN_NETIF_NR_SLOTS_MIN)
		return RX_BAD_CHAIN;
	iov[*niov].iov_base = q->rx_pages + (size_t)(i & mask) * PV_PAGE_SIZE + r->offset;
	iov[*niov].iov_len = (size_t)r->status;
	(*niov)++;
	*total += (size_t)r->status;
	return RX_OK;
}

/*
 * Takes the frames the back end published.  A frame must be whole within what was
 * published (Linux's netback pushes whole frames; Linux's netfront drops a cut one too).
 * Returns frames delivered (>= 0) with *slots the slots consumed, or -EPROTO.
 */
static int rx_process(struct pv_netfront *nf, struct nf_queue *q, pv_netfront_rx_fn rx,
		      void *opaque, unsigned int *slots)
{
	pv_ring_idx_t prod, i;
	long n = pv_ring_front_rsp_prod(&q->rx, &prod);
	int got = 0;

	*slots = 0;
	if (n < 0 || (pv_ring_idx_t)(prod - q->rx.rsp_cons) >
			     (pv_ring_idx_t)(q->rx.req_prod_pvt - q->rx.rsp_cons)) {
		nf->st.overflow++;
		return fail(nf, -EPROTO);
	}
	*slots = (unsigned int)n;
	i = q->rx.rsp_cons;
	while (i != prod) {
		struct iovec iov[XEN_NETIF_NR_SLOTS_MIN];
		struct netif_extra_info gso = { 0 };
		struct netif_rx_response r0, r;
		struct pv_netfront_meta m = { 0 };
		enum rx_bad bad, b;
		unsigned int nslots = 1, nextra = 0;
		size_t total = 0;
		int niov = 0, more;

		pv_netif_rx_front_copy_rsp(&q->rx, i, &r0);
		bad = rx_slot(q, i, &r0, iov, &niov, &total);
		i++;
		if (bad == RX_OK && (r0.flags & NETRXF_gso_prefix))
			bad = RX_BAD_GSO; /* never asked for (feature-gso-tcpv4-prefix) */
		if (r0.flags & NETRXF_extra_info) {
			struct netif_extra_info ex;

			do {
				if (i == prod || ++nextra > XEN_NETIF_EXTRA_TYPE_MAX - 1) {
					bad = bad ? bad : RX_BAD_EXTRA;
					goto done;
				}
				pv_netif_rx_front_copy_rsp(&q->rx, i, (struct netif_rx_response *)&r);
				memcpy(&ex, &r, sizeof(ex));
				i++;
				if (ex.type == XEN_NETIF_EXTRA_TYPE_NONE || ex.type >= XEN_NETIF_EXTRA_TYPE_MAX)
					bad = bad ? bad : RX_BAD_EXTRA;
				else if (ex.type == XEN_NETIF_EXTRA_TYPE_GSO)
					gso = ex;
			} while (ex.flags & XEN_NETIF_EXTRA_FLAG_MORE);
		}
		more = r0.flags & NETRXF_more_data;
		while (more) {
			if (i == prod) {
				bad = bad ? bad : RX_BAD_CHAIN;
				goto done;
			}
			pv_netif_rx_front_copy_rsp(&q->rx, i, &r);
			/* the rest of a bad chain is still consumed, up to its end */
			b = ++nslots > XEN_NETIF_NR_SLOTS_MIN ? RX_BAD_CHAIN
							      : rx_slot(q, i, &r, iov, &niov, &total);
			bad = bad ? bad : b;
			i++;
			more = r.flags & NETRXF_more_data;
		}
		if (bad == RX_OK && (total < NF_MIN_FRAME || total > NF_RX_MAX_FRAME))
			bad = RX_BAD_SIZE;
		if (bad == RX_OK && gso.type == XEN_NETIF_EXTRA_TYPE_GSO) {
			if (gso.u.gso.size == 0 || (gso.u.gso.type != XEN_NETIF_GSO_TYPE_TCPV4 &&
						    gso.u.gso.type != XEN_NETIF_GSO_TYPE_TCPV6))
				bad = RX_BAD_GSO;
			m.gso_type = gso.u.gso.type;
			m.gso_size = gso.u.gso.size;
		}
done:
		q->rx.rsp_cons = i;
		if (bad != RX_OK) {
			count_bad(nf, bad);
			continue;
		}
		if (r0.flags & NETRXF_csum_blank)
			m.flags |= PV_NETFRONT_CSUM_PARTIAL;
		if (r0.flags & NETRXF_data_validated)
			m.flags |= PV_NETFRONT_CSUM_VALID;
		m.queue = (uint16_t)q->idx;
		nf->st.rx_packets++;
		nf->st.rx_bytes += total;
		nf->st.rx_slots += (unsigned int)niov;
		nf->st.rx_gso += m.gso_type != 0;
		got++;
		if (rx)
			rx(opaque, iov, niov, &m);
	}
	return got;
}

/* ---- poll ---------------------------------------------------------------------------- */

/* A back end that left Connected ends the device.  Never blocks. */
static int xenbus_events(struct pv_netfront *nf)
{
	if (!xbf_drain_watch(&nf->xb))
		return 0;
	if (xbf_backend_state(&nf->xb) != XB_CONNECTED)
		return fail(nf, -ENOTCONN);
	return 0;
}

int pv_netfront_poll(struct pv_netfront *nf, int timeout_ms, pv_netfront_rx_fn rx, void *opaque)
{
	uint64_t deadline = 0;
	int evfd, xsfd, rc, got = 0, progress = 0;
	unsigned int i, rounds = 0;

	if (!nf)
		return -EINVAL;
	if (nf->failed)
		return nf->failed;
	if (!nf->connected)
		return -ENOTCONN;
	if (timeout_ms > 0)
		deadline = xbf_now_ms() + (uint64_t)timeout_ms;
	evfd = pv_evtchn_fd(nf->xb.p);
	xsfd = pv_xs_watch_fd(nf->xb.p);
	if ((rc = xenbus_events(nf)) < 0)
		return rc;
	for (;;) {
		struct pollfd pfd[2];
		int work = 0, ms;

		nf->st.wakeups += xbf_drain_events(nf->xb.p);
		for (i = 0; i < nf->nq; i++) {
			struct nf_queue *q = &nf->q[i];
			unsigned int slots;

			rc = tx_gc(nf, q);
			if (rc < 0)
				return rc;
			progress += rc;
			rc = rx_process(nf, q, rx, opaque, &slots);
			if (rc < 0)
				return rc;
			got += rc;
			progress += (int)slots;
			nf_post_rx(nf, q, 1);
		}
		pv_netfront_kick(nf);
		/*
		 * Ask for an event at the next response, then look once more: returning with
		 * responses unconsumed and rsp_event behind them would sleep through them
		 * (the back end notifies only when it crosses rsp_event).
		 */
		for (i = 0; i < nf->nq; i++) {
			if (pv_ring_final_check_responses(&nf->q[i].tx))
				work = 1;
			if (pv_ring_final_check_responses(&nf->q[i].rx))
				work = 1;
		}
		if (work) {
			/* a busy back end: the caller gets its turn, and knows to come back */
			if (++rounds >= NF_POLL_ROUNDS) {
				nf->more = 1;
				return got;
			}
			continue;
		}
		nf->more = 0;
		if (got || progress)
			return got;
		if (timeout_ms == 0)
			return 0;
		if (timeout_ms < 0) {
			ms = -1;
		} else {
			uint64_t now = xbf_now_ms();

			if (now >= deadline)
				return 0;
			ms = (int)(deadline - now);
		}
		pfd[0] = (struct pollfd){ .fd = evfd, .events = POLLIN };
		pfd[1] = (struct pollfd){ .fd = xsfd, .events = POLLIN };
		rc = poll(pfd, xsfd >= 0 ? 2 : 1, ms);
		if (rc < 0 && errno != EINTR)
			return -errno;
		if (rc > 0 && xsfd >= 0 && (pfd[1].revents & POLLIN) && (rc = xenbus_events(nf)) < 0)
			return rc;
	}
}

int pv_netfront_more(struct pv_netfront *nf)
{
	return nf && !nf->failed && nf->more;
}

int pv_netfront_fds(struct pv_netfront *nf, int fds[2])
{
	int n = 0, fd;

	if (!nf || !fds)
		return -EINVAL;
	fd = pv_evtchn_fd(nf->xb.p);
	if (fd >= 0)
		fds[n++] = fd;
	fd = pv_xs_watch_fd(nf->xb.p);
	if (fd >= 0)
		fds[n++] = fd;
	return n;
}

/* ---- checksum offsets ---------------------------------------------------------------- */

int pv_netfront_csum_offsets(const void *frame, size_t len, uint16_t *csum_start,
			     uint16_t *csum_offset, uint16_t *hdr_len)
{
	const uint8_t *b = frame;
	size_t off = 14, l4;
	unsigned int proto, etype;

	if (!b || len < 14)
		return -EINVAL;
	etype = (unsigned int)b[12] << 8 | b[13];
	if (etype == 0x8100) { /* one 802.1Q tag */
		if (len < 18)
			return -EINVAL;
		etype = (unsigned int)b[16] << 8 | b[17];
		off = 18;
	}
	if (etype == 0x0800) {
		unsigned int ihl;

		if (len < off + 20 || (b[off] >> 4) != 4)
			return -EINVAL;
		ihl = (b[off] & 0xFu) * 4u;
		if (ihl < 20 || len < off + ihl)
			return -EINVAL;
		proto = b[off + 9];
		l4 = off + ihl;
	} else if (etype == 0x86DD) {
		unsigned int hops;

		if (len < off + 40 || (b[off] >> 4) != 6)
			return -EINVAL;
		proto = b[off + 6];
		l4 = off + 40;
		/* hop-by-hop, routing, destination options: a few, each bounded by len */
		for (hops = 0; hops < 8 && (proto == 0 || proto == 43 || proto == 60); hops++) {
			if (len < l4 + 8)
				return -EINVAL;
			proto = b[l4];
			l4 += ((size_t)b[l4 + 1] + 1u) * 8u;
		}
	} else {
		return -EINVAL;
	}
	if (l4 > 0xFFFF)
		return -EINVAL;
	if (proto == 6) {
		size_t thl;

		if (len < l4 + 20)
			return -EINVAL;
		thl = (size_t)(b[l4 + 12] >> 4) * 4u;
		if (thl < 20 || len < l4 + thl)
			return -EINVAL;
		*csum_offset = 16;
		*hdr_len = (uint16_t)(l4 + thl);
	} else if (proto == 17) {
		if (len < l4 + 8)
			return -EINVAL;
		*csum_offset = 6;
		*hdr_len = (uint16_t)(l4 + 8);
	} else {
		return -EINVAL;
	}
	*csum_start = (uint16_t)l4;
	return 0;
}

void pv_netfront_get_stats(struct pv_netfront *nf, struct pv_netfront_stats *st)
{
	if (nf && st)
		*st = nf->st;
}
