/* SPDX-License-Identifier: MIT */
/*
 * pv_netback_ring.c - netback's data path: connect, the tx and rx rings, grant copy.
 *
 * tx (guest -> world), as Linux's xenvif_tx_build_gops: read req_prod once and check it,
 * copy each request out of the shared page before looking at it, gather the packet's
 * extra-info and data slots, apply Linux's limits, then copy every granted fragment of a
 * batch of packets with one grant-copy call, answer every slot, then write each packet
 * to the TAP with its virtio_net_hdr (GSO, checksum offsets computed from the headers);
 * consecutive segments of a TCP flow go as one GSO frame, as GRO merges them for Linux.
 *
 * rx (world -> guest), as Linux's rx.c with request-rx-copy: read frames from the TAP,
 * each into whole pages of the guest's posted buffers (NETRXF_more_data between slots,
 * a GSO extra-info slot after the first), one grant copy per batch.  A frame that finds
 * too few buffers is held and the TAP is no longer read until the guest posts more
 * (req_event asks it to say so): backpressure, not a spin.  A frame held longer than
 * PV_NETBACK_RX_DRAIN_NS is dropped with what the TAP queued meanwhile.
 *
 * Both directions work within PV_NETBACK_BUDGET packets per turn; a queue with more
 * goes to netback's run queue and waits for one turn of every other fd.
 */
#include <errno.h>
#include <linux/virtio_net.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pv_netback.h"

#define COMP "netback"
#define VHDR sizeof(struct virtio_net_hdr)
#define RXBUF_SZ (VHDR + PV_NETBACK_MAX_PKT)


/* ---- grant copy: batches of grant/pv_gcopy.h ------------------------------------------ */

int pv_netback_gnt_copy(struct pv_netback_vif *vif, struct pv_gcopy_batch *b)
{
	unsigned int n = pv_gcopy_count(b);
	int rc;

	if (!n)
		return 0;
	vif->st.grant_copy_batches++;
	vif->st.grant_copies += n;
	rc = pv_gcopy_flush(b);
	if (rc < 0)
		for (unsigned int i = 0; i < n; i++)
			b->segs[i].status = (int16_t)rc;
	return rc;
}

/* ---- checksums ----------------------------------------------------------------------------- */

static unsigned int be16(const uint8_t *p)
{
	return (unsigned int)p[0] << 8 | p[1];
}

int pv_netback_csum_where(const uint8_t *f, unsigned int len, unsigned int *start,
			  unsigned int *off, unsigned int *proto)
{
	unsigned int p = PV_NETBACK_ETH_HLEN, l4, pr, i;

	if (len < PV_NETBACK_ETH_HLEN)
		return -EPROTO;
	switch (be16(f + 12)) {
	case 0x0800: {
		unsigned int ihl;

		if (len < p + 20 || f[p] >> 4 != 4)
			return -EPROTO;
		ihl = (f[p] & 15u) * 4;
		if (ihl < 20 || len < p + ihl || (be16(f + p + 6) & 0x3fff))
			return -EPROTO; /* short, or a fragment */
		pr = f[p + 9];
		l4 = p + ihl;
		break;
	}
	case 0x86dd:
		if (len < p + 40 || f[p] >> 4 != 6)
			return -EPROTO;
		pr = f[p + 6];
		l4 = p + 40;
		for (i = 0; i < 8; i++) {
			if (pr == 0 || pr == 43 || pr == 60) { /* hop-by-hop, routing, dest opts */
				if (len < l4 + 8)
					return -EPROTO;
				pr = f[l4];
				l4 += (f[l4 + 1] + 1u) * 8;
			} else if (pr == 44) {                  /* fragment: not offloadable */
				return -EPROTO;
			} else if (pr == 51) {                  /* AH */
				if (len < l4 + 8)
					return -EPROTO;
				pr = f[l4];
				l4 += (f[l4 + 1] + 2u) * 4;
			} else {
				break;
			}
		}
		break;
	default:
		return -EPROTO;
	}
	if (pr == 6 && len >= l4 + 20)
		*off = 16;
	else if (pr == 17 && len >= l4 + 8)
		*off = 6;
	else
		return -EPROTO;
	*start = l4;
	*proto = pr;
	return 0;
}

static uint32_t sum16(const uint8_t *p, size_t len, uint32_t s)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		s += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		s += (uint32_t)p[len - 1] << 8;
	return s;
}

static uint16_t fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

/* The pseudo-header sum a CHECKSUM_PARTIAL packet carries in its checksum field. */
static void put_pseudo(uint8_t *f, unsigned int len, unsigned int start, unsigned int off,
		       unsigned int proto)
{
	uint32_t s = proto + (len - start);

	if (be16(f + 12) == 0x0800)
		s = sum16(f + PV_NETBACK_ETH_HLEN + 12, 8, s);
	else
		s = sum16(f + PV_NETBACK_ETH_HLEN + 8, 32, s);
	s = fold(s);
	f[start + off] = (uint8_t)(s >> 8);
	f[start + off + 1] = (uint8_t)s;
}

/* Completes a partial checksum for a guest that cannot take csum_blank. */
static void csum_complete(uint8_t *f, unsigned int len, unsigned int start, unsigned int off)
{
	uint16_t c;

	if (start >= len || start + off + 2 > len)
		return;
	c = (uint16_t)~fold(sum16(f + start, len - start, 0));
	f[start + off] = (uint8_t)(c >> 8);
	f[start + off + 1] = (uint8_t)c;
}

/* ---- notifications ------------------------------------------------------------------------- */

static void push_tx(struct pv_netback_queue *q)
{
	if (pv_ring_push_responses_and_check_notify(&q->tx)) {
		pv_evtchn_notify(q->vif->d->plat, q->tx_port);
		q->vif->st.notifications_out++;
	}
}

static void push_rx(struct pv_netback_queue *q)
{
	if (pv_ring_push_responses_and_check_notify(&q->rx)) {
		pv_evtchn_notify(q->vif->d->plat, q->rx_port);
		q->vif->st.notifications_out++;
	}
}

static void tap_poll(struct pv_netback_queue *q, int on)
{
	struct pv_loop *loop = q->vif->d->loop;

	if (q->tap_fd < 0 || q->tap_polled == (unsigned int)on)
		return;
	if (on)
		q->tap_polled = pv_loop_add(loop, q->tap_fd, EPOLLIN, pv_netback_on_tap, q) == 0;
	else {
		pv_loop_del(loop, q->tap_fd);
		q->tap_polled = 0;
	}
}

/* ---- tx ------------------------------------------------------------------------------------ */

static void tx_rsp(struct pv_netback_queue *q, uint16_t id, int16_t status)
{
	struct netif_tx_response *r = pv_netif_tx_back_rsp(&q->tx, q->tx.rsp_prod_pvt++);

	r->id = id;
	r->status = status;
}

/* Linux's tx_add_credit: one interval's bytes, a burst of at least 128 KiB kept. */
void pv_netback_credit_add(struct pv_netback_queue *q)
{
	uint64_t burst = q->credit_bytes > 131072 ? q->credit_bytes : 131072;
	uint64_t c = q->remaining_credit + q->credit_bytes;

	q->remaining_credit = c < burst ? c : burst;
}

/* Linux's tx_credit_exceeded: may a packet of size bytes go now? */
static int credit_ok(struct pv_netback_queue *q, unsigned int size)
{
	uint64_t now, next;

	if (!q->credit_bytes || size <= q->remaining_credit)
		return 1;
	if (q->credit_at_ns)
		return 0; /* the refill timer is pending */
	now = pv_backd_now_ns();
	next = q->window_ns + q->credit_usec * 1000ull;
	if (now >= next) {
		q->window_ns = now;
		pv_netback_credit_add(q);
	}
	if (size <= q->remaining_credit)
		return 1;
	q->credit_at_ns = next;
	q->window_ns = next;
	q->vif->st.tx_credit_waits++;
	pv_netback_timer_at(q->vif->d, next);
	return 0;
}

/*
 * Takes one packet at req_cons (prod published).  Returns 1 (taken: pkt says how to
 * answer it), 0 (the rate limit holds it back) or -1 (protocol error: fatal written).
 */
static int tx_take(struct pv_netback_queue *q, pv_ring_idx_t prod, struct pv_netback_txpkt *pkt,
		   uint8_t *data)
{
	struct pv_netback_vif *vif = q->vif;
	struct netif_tx_request first, r, frag[PV_NETBACK_FATAL_SLOTS];
	struct netif_extra_info ex[XEN_NETIF_EXTRA_TYPE_MAX - 1], e;
	pv_ring_idx_t idx = q->tx.req_cons;
	unsigned int work, slots = 0, i, more, drop = 0;
	uint16_t left;

	pv_netif_tx_back_copy_req(&q->tx, idx, &first);
	if (!credit_ok(q, first.size))
		return 0;
	if (q->credit_bytes)
		q->remaining_credit -= first.size;
	idx++;
	work = prod - idx;
	memset(pkt, 0, sizeof(*pkt));
	memset(ex, 0, sizeof(ex));
	pkt->ids[0] = first.id;
	pkt->nslots = 1;
	pkt->flags = first.flags;
	pkt->data = data;
	pkt->status = NETIF_RSP_OKAY;
	if (first.flags & NETTXF_extra_info) {
		do {
			if (work == 0) {
				q->tx.req_cons = idx;
				pv_netback_fatal(vif, "tx: extra info missing");
				return -1;
			}
			pv_netif_tx_back_copy_req(&q->tx, idx, &r); /* an extra slot is a slot */
			memcpy(&e, &r, sizeof(e));
			idx++;
			work--;
			pkt->nextra++;
			if (e.type == XEN_NETIF_EXTRA_TYPE_NONE || e.type >= XEN_NETIF_EXTRA_TYPE_MAX) {
				q->tx.req_cons = idx;
				pv_netback_fatal(vif, "tx: bad extra info type %u", e.type);
				return -1;
			}
			ex[e.type - 1] = e; /* a repeated type: the last wins, as Linux */
		} while (e.flags & XEN_NETIF_EXTRA_FLAG_MORE);
	}
	if (ex[XEN_NETIF_EXTRA_TYPE_MCAST_ADD - 1].type || ex[XEN_NETIF_EXTRA_TYPE_MCAST_DEL - 1].type) {
		/* feature-multicast-control=0: no filter to change; answered, no packet. */
		vif->st.tx_mcast++;
		q->tx.req_cons = idx;
		pkt->len = 0;
		pkt->data = NULL;
		return 1;
	}
	left = first.size;
	if (first.flags & NETTXF_more_data) {
		do {
			if (slots >= work) {
				q->tx.req_cons = idx + slots;
				pv_netback_fatal(vif, "tx: a packet of more slots than published");
				return -1;
			}
			if (slots >= PV_NETBACK_FATAL_SLOTS) {
				q->tx.req_cons = idx + slots;
				pv_netback_fatal(vif, "tx: a packet of more than %u slots",
						 1 + PV_NETBACK_FATAL_SLOTS);
				return -1;
			}
			if (!drop && slots >= XEN_NETIF_NR_SLOTS_MIN) {
				drop = 1;
				vif->st.tx_too_many_slots++;
			}
			pv_netif_tx_back_copy_req(&q->tx, idx + slots, &r);
			if (!drop && r.size > left) {
				drop = 1; /* a first slot smaller than the rest */
				vif->st.tx_bad_size++;
			}
			left = (uint16_t)(left - r.size);
			frag[slots] = r;
			pkt->ids[1 + slots] = r.id;
			slots++;
			if ((unsigned int)r.offset + r.size > PV_PAGE_SIZE) {
				q->tx.req_cons = idx + slots;
				pv_netback_fatal(vif, "tx: a slot crosses its page");
				return -1;
			}
			more = r.flags & NETTXF_more_data;
		} while (more);
	}
	pkt->nslots = 1 + slots;
	q->tx.req_cons = idx + slots;
	if (drop) {
		pkt->status = NETIF_RSP_ERROR;
		return 1;
	}
	if (left < PV_NETBACK_ETH_HLEN) {
		vif->st.tx_bad_size++;
		pkt->status = NETIF_RSP_ERROR;
		return 1;
	}
	if ((unsigned int)first.offset + left > PV_PAGE_SIZE) {
		pv_netback_fatal(vif, "tx: the first slot crosses its page");
		return -1;
	}
	e = ex[XEN_NETIF_EXTRA_TYPE_GSO - 1];
	if (e.type) {
		if (!e.u.gso.size) {
			pv_netback_fatal(vif, "tx: GSO size 0");
			return -1;
		}
		if (e.u.gso.type != XEN_NETIF_GSO_TYPE_TCPV4 &&
		    e.u.gso.type != XEN_NETIF_GSO_TYPE_TCPV6) {
			pv_netback_fatal(vif, "tx: bad GSO type %u", e.u.gso.type);
			return -1;
		}
		pkt->gso_type = e.u.gso.type;
		pkt->gso_size = e.u.gso.size;
	}
	/*
	 * One segment per slot with data, into one contiguous buffer: first, then the
	 * fragments (every slot was checked to stay within its page, and the batch holds a
	 * whole batch of largest packets, so no add fails).
	 */
	pkt->len = first.size;
	pkt->seg0 = pv_gcopy_count(&q->txb);
	pv_gcopy_add(&q->txb, data, (domid_t)vif->domid, first.gref, first.offset, left, 0);
	{
		unsigned int at = left;

		for (i = 0; i < slots; i++) {
			if (frag[i].size)
				pv_gcopy_add(&q->txb, data + at, (domid_t)vif->domid, frag[i].gref,
					     frag[i].offset, frag[i].size, 0);
			at += frag[i].size;
		}
	}
	pkt->nseg = pv_gcopy_count(&q->txb) - pkt->seg0;
	return 1;
}

/* A packet whose fragments all arrived: into the TAP with its virtio_net_hdr. */
static void tx_deliver(struct pv_netback_queue *q, struct pv_netback_txpkt *pkt)
{
	struct pv_netback_vif *vif = q->vif;
	struct virtio_net_hdr h = { 0 };
	struct iovec iov[2];
	unsigned int start, off, proto;

	if (pkt->gso_type || (pkt->flags & NETTXF_csum_blank)) {
		if (pv_netback_csum_where(pkt->data, pkt->len, &start, &off, &proto) < 0 ||
		    (pkt->gso_type && proto != 6)) {
			/* Linux: "Can't setup checksum": answered OKAY, the packet dropped. */
			vif->st.tx_bad_csum++;
			vif->st.tx_dropped++;
			return;
		}
		if (!(pkt->flags & NETTXF_csum_blank))
			put_pseudo(pkt->data, pkt->len, start, off, proto); /* GSO: fixed up */
		h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
		h.csum_start = (uint16_t)start;
		h.csum_offset = (uint16_t)off;
		h.hdr_len = (uint16_t)(start + off + 2);
		if (pkt->gso_type) {
			h.gso_type = pkt->gso_type == XEN_NETIF_GSO_TYPE_TCPV4 ?
				     VIRTIO_NET_HDR_GSO_TCPV4 : VIRTIO_NET_HDR_GSO_TCPV6;
			h.gso_size = pkt->gso_size;
			h.hdr_len = (uint16_t)(start + ((pkt->data[start + 12] >> 4) * 4u));
		}
	} else if (pkt->flags & NETTXF_data_validated) {
		h.flags = VIRTIO_NET_HDR_F_DATA_VALID;
	}
	iov[0] = (struct iovec){ &h, VHDR };
	iov[1] = (struct iovec){ pkt->data, pkt->len };
	if (writev(q->tap_fd, iov, 2) < 0) {
		vif->st.tx_tap_errors++;
		vif->st.tx_dropped++;
		return;
	}
	vif->st.tx_packets++;
	vif->st.tx_bytes += pkt->len;
	vif->st.tx_gso += pkt->gso_type != 0;
	vif->st.tx_csum_blank += (pkt->flags & NETTXF_csum_blank) != 0;
}

/* ---- tx coalescing: what Linux's netback gets from napi_gro_receive ------------------------- */

/* One TCP segment's layout (tcp_seg). */
struct pv_netback_seg {
	unsigned int l4, thl, plen; /* L4 offset, TCP header bytes, payload bytes */
	int v6;
};

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)be16(p) << 16 | be16(p + 2);
}

/*
 * Do pkt's headers make a plain TCP segment that may join others (as Linux's
 * tcp4/6_gro_receive): IPv4 without options or fragmentation, or IPv6 without extension
 * headers, lengths exactly the frame's, ACK with at most PSH, payload?  Its checksum is
 * tcp_csum_ok()'s, asked only of segments that would be merged.  Returns 1 with *s, else 0.
 */
static int tcp_seg(const struct pv_netback_txpkt *pkt, struct pv_netback_seg *s)
{
	const uint8_t *f = pkt->data;
	unsigned int start, off, proto;

	if (pkt->status != NETIF_RSP_OKAY || !f || pkt->gso_type ||
	    pv_netback_csum_where(f, pkt->len, &start, &off, &proto) < 0 || proto != 6)
		return 0;
	s->v6 = be16(f + 12) == 0x86dd;
	s->l4 = start;
	if (s->v6 ? start != PV_NETBACK_ETH_HLEN + 40 || be16(f + 18) != pkt->len - start
		  : start != PV_NETBACK_ETH_HLEN + 20 || be16(f + 16) != pkt->len - PV_NETBACK_ETH_HLEN ||
		    (be16(f + 20) & 0x2000))
		return 0; /* options, extension headers, padding, more fragments */
	if (!s->v6 && fold(sum16(f + PV_NETBACK_ETH_HLEN, 20, 0)) != 0xffff)
		return 0; /* a bad IPv4 header checksum: the merged frame's would be made good */
	s->thl = (f[start + 12] >> 4) * 4u;
	if (s->thl < 20 || start + s->thl >= pkt->len || (f[start + 13] & ~0x08) != 0x10)
		return 0;
	s->plen = pkt->len - start - s->thl;
	return 1;
}

/*
 * A checksum we can vouch for: the guest's csum_blank or data_validated, or one that
 * verifies here (a merged frame's is computed anew, so a bad one would be made good; the
 * stack drops it when it goes alone).
 */
static int tcp_csum_ok(const struct pv_netback_txpkt *pkt, const struct pv_netback_seg *s)
{
	const uint8_t *f = pkt->data;
	uint32_t sum = 6 + (pkt->len - s->l4);

	if (pkt->flags & (NETTXF_csum_blank | NETTXF_data_validated))
		return 1;
	sum = s->v6 ? sum16(f + PV_NETBACK_ETH_HLEN + 8, 32, sum) :
		      sum16(f + PV_NETBACK_ETH_HLEN + 12, 8, sum);
	return fold(sum16(f + s->l4, pkt->len - s->l4, sum)) == 0xffff;
}

/*
 * May b (segment sb) follow last (sl) in the run that head (sh) starts, payload so far
 * total?  The same flow and headers as the head's but for the sequence number, PSH and
 * the checksums (the IPv4 id counts up unless DF), each segment but the last full size.
 */
static int tcp_follows(const uint8_t *head, const struct pv_netback_seg *sh, const uint8_t *last,
		       const struct pv_netback_seg *sl, const uint8_t *b,
		       const struct pv_netback_seg *sb, unsigned int total)
{
	unsigned int t = sh->l4, e = PV_NETBACK_ETH_HLEN;

	if (sb->v6 != sh->v6 || sb->l4 != t || sb->thl != sh->thl || sl->plen != sh->plen ||
	    sb->plen > sh->plen || (last[t + 13] & 0x08) ||
	    (t - e) + sh->thl + total + sb->plen > 65535 ||
	    be32(b + t + 4) != be32(last + t + 4) + sl->plen || memcmp(head, b, e) != 0)
		return 0;
	if (sh->v6) {
		if (memcmp(head + e, b + e, 4) != 0 || memcmp(head + e + 6, b + e + 6, 34) != 0)
			return 0;
	} else if (memcmp(head + e, b + e, 2) != 0 || memcmp(head + e + 6, b + e + 6, 4) != 0 ||
		   memcmp(head + e + 12, b + e + 12, 8) != 0 ||
		   (!(head[e + 6] & 0x40) && be16(b + e + 4) != ((be16(last + e + 4) + 1) & 0xffff))) {
		return 0;
	}
	/* ports; ack, offset, window; urgent pointer and options */
	return memcmp(head + t, b + t, 4) == 0 && memcmp(head + t + 8, b + t + 8, 5) == 0 &&
	       memcmp(head + t + 14, b + t + 14, 2) == 0 &&
	       memcmp(head + t + 18, b + t + 18, sh->thl - 18) == 0;
}

/*
 * A batch's TCP segments, each looked at once: seg[k] its layout, st[k] SEG_NO (not a
 * mergeable segment, or its checksum is bad), SEG_HDR (headers fit, checksum not asked
 * yet) or SEG_OK (checksum vouched for).
 */
enum { SEG_NO = -1, SEG_HDR = 0, SEG_OK = 1 };

/*
 * How many packets from tp[i] on (1 at least) go to the TAP as one frame.  Checksums are
 * verified only for a run of two or more, and the run ends before the first bad one.
 */
static unsigned int tx_run(struct pv_netback_queue *q, unsigned int i, unsigned int npk,
			   const struct pv_netback_seg *seg, int8_t *st)
{
	unsigned int j, k, total = seg[i].plen;

	if (st[i] == SEG_NO)
		return 1;
	for (j = i + 1; j < npk && st[j] != SEG_NO &&
	     tcp_follows(q->tp[i].data, &seg[i], q->tp[j - 1].data, &seg[j - 1], q->tp[j].data,
			 &seg[j], total); j++)
		total += seg[j].plen;
	if (j - i < 2)
		return 1;
	for (k = i; k < j; k++) {
		if (st[k] == SEG_HDR)
			st[k] = tcp_csum_ok(&q->tp[k], &seg[k]) ? SEG_OK : SEG_NO;
		if (st[k] == SEG_NO)
			break;
	}
	return k - i > 1 ? k - i : 1;
}

/*
 * n segments of one flow from tp[i] on as one GSO frame: the head's headers with the
 * lengths, the IPv4 header checksum and PSH of the whole, the TCP checksum partial.
 */
static void tx_deliver_run(struct pv_netback_queue *q, unsigned int i, unsigned int n,
			   const struct pv_netback_seg *head)
{
	struct pv_netback_vif *vif = q->vif;
	struct pv_netback_txpkt *p = &q->tp[i];
	struct virtio_net_hdr h = { 0 };
	struct iovec iov[1 + PV_NETBACK_TX_BATCH];
	struct pv_netback_seg sh = *head;
	uint8_t *f = p->data, psh = 0;
	unsigned int k, len = 0, e = PV_NETBACK_ETH_HLEN;
	uint16_t c;

	for (k = 0; k < n; k++) {
		struct pv_netback_txpkt *pk = &q->tp[i + k];
		unsigned int hl = k ? sh.l4 + sh.thl : 0;

		iov[1 + k] = (struct iovec){ pk->data + hl, pk->len - hl };
		len += pk->len - hl;
		psh |= pk->data[sh.l4 + 13] & 0x08;
	}
	f[sh.l4 + 13] |= psh;
	if (sh.v6) {
		f[e + 4] = (uint8_t)((len - sh.l4) >> 8);
		f[e + 5] = (uint8_t)(len - sh.l4);
	} else {
		f[e + 2] = (uint8_t)((len - e) >> 8);
		f[e + 3] = (uint8_t)(len - e);
		f[e + 10] = f[e + 11] = 0;
		c = (uint16_t)~fold(sum16(f + e, 20, 0));
		f[e + 10] = (uint8_t)(c >> 8);
		f[e + 11] = (uint8_t)c;
	}
	put_pseudo(f, len, sh.l4, 16, 6);
	h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	h.csum_start = (uint16_t)sh.l4;
	h.csum_offset = 16;
	h.hdr_len = (uint16_t)(sh.l4 + sh.thl);
	h.gso_type = sh.v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4;
	h.gso_size = (uint16_t)sh.plen;
	iov[0] = (struct iovec){ &h, VHDR };
	if (writev(q->tap_fd, iov, (int)n + 1) < 0) {
		vif->st.tx_tap_errors++;
		vif->st.tx_dropped += n;
		return;
	}
	for (k = 0; k < n; k++) {
		struct pv_netback_txpkt *pk = &q->tp[i + k];

		vif->st.tx_bytes += pk->len;
		vif->st.tx_csum_blank += (pk->flags & NETTXF_csum_blank) != 0;
	}
	vif->st.tx_packets += n;
	vif->st.tx_coalesced += n - 1;
}

/* One batch's copies, deliveries and responses (ring order: first, extras, fragments). */
static void tx_finish(struct pv_netback_queue *q, unsigned int npk)
{
	struct pv_netback_vif *vif = q->vif;
	struct pv_netback_seg seg[PV_NETBACK_TX_BATCH];
	int8_t st[PV_NETBACK_TX_BATCH];
	unsigned int i, j;

	if (pv_netback_gnt_copy(vif, &q->txb) != 0) {
		for (i = 0; i < npk; i++) {
			struct pv_netback_txpkt *p = &q->tp[i];

			for (j = 0; p->status == NETIF_RSP_OKAY && j < p->nseg; j++)
				if (q->segs[p->seg0 + j].status < 0) {
					p->status = NETIF_RSP_ERROR;
					vif->st.tx_bad_grant++;
				}
		}
	}
	/*
	 * Answer the whole batch before the first write to the TAP, as Linux's netback
	 * answers a packet before netif_receive_skb: the copies are done, the guest's pages
	 * are free again, and each write runs the host's stack (bridge, TCP) synchronously.
	 * Answering after the writes made the guest wait for all of them: a Linux guest's
	 * TCP frees its skbs only on the response (TCP small queues), so with 1500-byte
	 * frames its throughput was bounded by that wait.  What the TAP makes of a packet
	 * never changed its status (Linux: "Can't setup checksum" is answered OKAY too).
	 */
	for (i = 0; i < npk; i++) {
		struct pv_netback_txpkt *p = &q->tp[i];

		tx_rsp(q, p->ids[0], p->status);
		for (j = 0; j < p->nextra; j++)
			tx_rsp(q, 0, NETIF_RSP_NULL);
		for (j = 1; j < p->nslots; j++)
			tx_rsp(q, p->ids[j], p->status);
	}
	if (npk)
		push_tx(q);
	/*
	 * Each TAP write runs the host's stack once, whatever its size: consecutive segments
	 * of a flow go as one GSO frame, as Linux's netback passes its packets through GRO
	 * (one TCP receive and at most one ACK per merged frame instead of per segment).
	 */
	for (i = 0; i < npk; i++)
		st[i] = tcp_seg(&q->tp[i], &seg[i]) ? SEG_HDR : SEG_NO;
	for (i = 0; i < npk; i += j) {
		struct pv_netback_txpkt *p = &q->tp[i];

		j = 1;
		if (p->status != NETIF_RSP_OKAY)
			vif->st.tx_dropped++;
		else if (p->data && (j = tx_run(q, i, npk, seg, st)) > 1)
			tx_deliver_run(q, i, j, &seg[i]);
		else if (p->data)
			tx_deliver(q, p);
	}
}

/* Returns 1 if the budget ran out with requests left. */
static int tx_pass(struct pv_netback_queue *q)
{
	struct pv_netback_vif *vif = q->vif;
	unsigned int done = 0;

	for (;;) {
		pv_ring_idx_t prod = __atomic_load_n(&q->tx.sring->req_prod, __ATOMIC_RELAXED);
		unsigned int npk = 0;
		int r = 1;

		pv_gcopy_init(&q->txb, vif->d->plat, q->segs, sizeof(q->segs) / sizeof(q->segs[0]));

		pv_ring_rmb();
		if ((pv_ring_idx_t)(prod - q->tx.req_cons) > q->tx.nr_ents) {
			pv_netback_fatal(vif, "tx: req_prod %u is more than a ring ahead of %u", prod,
					 q->tx.req_cons);
			return 0;
		}
		if (prod == q->tx.req_cons) {
			if (q->credit_at_ns || !pv_ring_final_check_requests(&q->tx))
				return 0;
			continue;
		}
		while (npk < PV_NETBACK_TX_BATCH && done < PV_NETBACK_BUDGET && q->tx.req_cons != prod) {
			r = tx_take(q, prod, &q->tp[npk], q->txbuf + (size_t)npk * PV_NETBACK_MAX_PKT);
			if (r <= 0)
				break;
			npk++;
			done++;
		}
		if (r < 0)
			return 0; /* the ring is dead: no responses on it */
		tx_finish(q, npk);
		if (r == 0)
			return 0; /* the credit timer brings us back */
		if (done >= PV_NETBACK_BUDGET)
			return q->tx.req_cons != prod || pv_ring_unconsumed_requests(&q->tx);
	}
}

/* ---- rx ------------------------------------------------------------------------------------ */

/* Data slots of a frame: whole pages from offset 0 (Linux fully packs guest rx slots). */
static unsigned int rx_data_slots(unsigned int len)
{
	return len ? (len + PV_PAGE_SIZE - 1) / PV_PAGE_SIZE : 1;
}

/* Reads one frame into p.  Returns 1, 0 (TAP empty), or -1 (a frame to drop: counted). */
static int rx_read(struct pv_netback_queue *q, struct pv_netback_rxpkt *p)
{
	struct pv_netback_vif *vif = q->vif;
	struct virtio_net_hdr h;
	ssize_t n = read(q->tap_fd, p->buf, RXBUF_SZ);
	unsigned int gt;

	if (n < 0)
		return 0;
	if ((size_t)n < VHDR + PV_NETBACK_ETH_HLEN) {
		vif->st.rx_dropped++;
		return -1;
	}
	memcpy(&h, p->buf, VHDR);
	p->len = (unsigned int)((size_t)n - VHDR);
	p->flags = 0;
	p->gso_type = XEN_NETIF_GSO_TYPE_NONE;
	p->gso_size = 0;
	gt = h.gso_type & (unsigned int)~VIRTIO_NET_HDR_GSO_ECN;
	if (gt == VIRTIO_NET_HDR_GSO_TCPV4 && vif->gso4 && vif->sg)
		p->gso_type = XEN_NETIF_GSO_TYPE_TCPV4;
	else if (gt == VIRTIO_NET_HDR_GSO_TCPV6 && vif->gso6 && vif->sg)
		p->gso_type = XEN_NETIF_GSO_TYPE_TCPV6;
	else if (gt != VIRTIO_NET_HDR_GSO_NONE) {
		vif->st.rx_dropped++; /* the offload we set excludes it: never expected */
		return -1;
	}
	p->gso_size = p->gso_type ? h.gso_size : 0;
	if (!vif->sg && p->len > PV_PAGE_SIZE) {
		vif->st.rx_dropped++;
		return -1;
	}
	if (h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		uint8_t *f = p->buf + VHDR;
		int v6 = be16(f + 12) == 0x86dd;

		if (vif->csum && (!v6 || vif->ipv6_csum)) {
			p->flags = NETRXF_csum_blank | NETRXF_data_validated;
		} else if (!p->gso_type) {
			csum_complete(f, p->len, h.csum_start, h.csum_offset);
			p->flags = NETRXF_data_validated;
		} else {
			vif->st.rx_dropped++;
			return -1;
		}
	} else if (h.flags & VIRTIO_NET_HDR_F_DATA_VALID) {
		p->flags = NETRXF_data_validated;
	}
	return 1;
}

static void rx_rsp(struct pv_netback_queue *q, uint16_t id, uint16_t flags, int16_t status)
{
	struct netif_rx_response *r = pv_netif_rx_back_rsp(&q->rx, q->rx.rsp_prod_pvt++);

	r->id = id;
	r->offset = 0;
	r->flags = flags;
	r->status = status;
}

/* Takes p's guest buffers (needed checked) and queues its copies. */
static void rx_take(struct pv_netback_queue *q, struct pv_netback_rxpkt *p)
{
	struct pv_netback_vif *vif = q->vif;
	unsigned int nd = rx_data_slots(p->len), i, k = 0, at = 0;
	struct netif_rx_request r;

	p->seg0 = pv_gcopy_count(&q->rxb);
	p->nseg = nd;
	for (i = 0; i < nd; i++) {
		unsigned int len = p->len - at > PV_PAGE_SIZE ? PV_PAGE_SIZE : p->len - at;

		pv_netif_rx_back_copy_req(&q->rx, q->rx.req_cons++, &r);
		p->ids[k++] = r.id;
		/* len is 1..PV_PAGE_SIZE at offset 0, and the batch holds a batch of the largest
		 * frames: the add cannot fail. */
		pv_gcopy_add(&q->rxb, p->buf + VHDR + at, (domid_t)vif->domid, r.gref, 0, len, 1);
		at += len;
		if (i == 0 && p->gso_type) {
			/* The extra-info slot takes a request of its own, right after the first. */
			pv_netif_rx_back_copy_req(&q->rx, q->rx.req_cons++, &r);
			p->ids[k++] = r.id;
		}
	}
}

static void rx_finish(struct pv_netback_queue *q, unsigned int npk)
{
	struct pv_netback_vif *vif = q->vif;
	unsigned int i, j;

	pv_netback_gnt_copy(vif, &q->rxb);
	for (i = 0; i < npk; i++) {
		struct pv_netback_rxpkt *p = &q->rp[i];
		unsigned int k = 0, bad = 0;

		for (j = 0; j < p->nseg; j++) {
			struct pv_gnt_copy_seg *s = &q->rsegs[p->seg0 + j];
			uint16_t fl = j + 1 < p->nseg ? NETRXF_more_data : 0;
			int16_t st = s->status < 0 ? NETIF_RSP_ERROR : (int16_t)s->len;

			bad |= s->status < 0;
			if (j == 0)
				fl |= p->flags | (p->gso_type ? NETRXF_extra_info : 0);
			rx_rsp(q, p->ids[k++], fl, st);
			if (j == 0 && p->gso_type) {
				struct netif_extra_info e = { .type = XEN_NETIF_EXTRA_TYPE_GSO };

				e.u.gso.size = p->gso_size;
				e.u.gso.type = p->gso_type;
				memcpy(pv_netif_rx_back_rsp(&q->rx, q->rx.rsp_prod_pvt++), &e,
				       sizeof(e));
				k++;
			}
		}
		if (bad) {
			vif->st.rx_bad_grant++;
			vif->st.rx_dropped++;
		} else {
			vif->st.rx_packets++;
			vif->st.rx_bytes += p->len;
			vif->st.rx_gso += p->gso_type != 0;
		}
	}
	if (npk)
		push_rx(q);
}

/* Drops the held frame and what the TAP queued behind it (the guest posts no buffers). */
static void rx_drain(struct pv_netback_queue *q)
{
	struct pv_netback_vif *vif = q->vif;
	unsigned int n;

	vif->st.rx_dropped++;
	q->rx_held = 0;
	for (n = 0; n < 4096 && read(q->tap_fd, q->rp[0].buf, RXBUF_SZ) >= 0; n++)
		vif->st.rx_dropped++;
}

/* Returns 1 if the budget ran out with frames perhaps left. */
static int rx_pass(struct pv_netback_queue *q)
{
	struct pv_netback_vif *vif = q->vif;
	unsigned int done = 0;

	if (q->tap_fd < 0)
		return 0;
	if (q->rx_held && pv_backd_now_ns() - q->rx_stall_ns > PV_NETBACK_RX_DRAIN_NS)
		rx_drain(q);
	while (done < PV_NETBACK_BUDGET) {
		unsigned int npk = 0, hold = 0, empty = 0, was_held = 0;
		pv_ring_idx_t prod = __atomic_load_n(&q->rx.sring->req_prod, __ATOMIC_RELAXED);

		pv_gcopy_init(&q->rxb, vif->d->plat, q->rsegs, sizeof(q->rsegs) / sizeof(q->rsegs[0]));

		pv_ring_rmb();
		if ((pv_ring_idx_t)(prod - q->rx.rsp_prod_pvt) > q->rx.nr_ents) {
			pv_netback_fatal(vif, "rx: req_prod %u is more than a ring ahead of %u", prod,
					 q->rx.rsp_prod_pvt);
			return 0;
		}
		while (npk < PV_NETBACK_RX_BATCH && done < PV_NETBACK_BUDGET) {
			struct pv_netback_rxpkt *p = &q->rp[npk];
			unsigned int need;
			int r = 1;

			was_held = npk == 0 && q->rx_held;
			if (!was_held)
				r = rx_read(q, p);
			q->rx_held = 0;
			if (r == 0) {
				empty = 1;
				break;
			}
			if (r < 0) {
				done++; /* a dropped frame costs a turn too: bounded work */
				continue;
			}
			need = rx_data_slots(p->len) + (p->gso_type != 0);
			if (need > q->rx.nr_ents) {
				vif->st.rx_dropped++;
				done++;
				continue;
			}
			if ((pv_ring_idx_t)(prod - q->rx.req_cons) < need) {
				/* Ask to be told when the guest posts more, then look once more. */
				__atomic_store_n(&q->rx.sring->req_event, prod + 1, __ATOMIC_RELAXED);
				pv_ring_mb();
				prod = __atomic_load_n(&q->rx.sring->req_prod, __ATOMIC_RELAXED);
				pv_ring_rmb();
				if ((pv_ring_idx_t)(prod - q->rx.rsp_prod_pvt) > q->rx.nr_ents) {
					pv_netback_fatal(vif, "rx: req_prod beyond the ring");
					return 0;
				}
				if ((pv_ring_idx_t)(prod - q->rx.req_cons) < need) {
					hold = 1;
					break;
				}
			}
			rx_take(q, p);
			npk++;
			done++;
		}
		rx_finish(q, npk);
		if (hold) {
			/* The frame moves to rp[0] (buffers swap with it) and waits there. */
			struct pv_netback_rxpkt t = q->rp[0];

			q->rp[0] = q->rp[npk];
			q->rp[npk] = t;
			if (!was_held || npk) {
				/* A new frame waits: its time starts now. */
				q->rx_stall_ns = pv_backd_now_ns();
				vif->st.rx_stalls++;
			}
			q->rx_held = 1;
			tap_poll(q, 0);
			return 0;
		}
		if (empty) {
			tap_poll(q, 1);
			return 0;
		}
	}
	vif->st.budget_yields++;
	return 1;
}

void pv_netback_on_tap(struct pv_loop *loop, int fd, uint32_t events, void *opaque)
{
	struct pv_netback_queue *q = opaque;

	(void)loop;
	(void)fd;
	(void)events;
	pv_netback_kick(q);
	pv_netback_process_dirty(q->vif->d);
}

/* ---- kick, events -------------------------------------------------------------------------- */

void pv_netback_kick(struct pv_netback_queue *q)
{
	struct pv_netback_vif *vif = q->vif;
	int more;

	if (!vif->connected || vif->broken)
		return;
	more = tx_pass(q);
	if (vif->broken)
		return;
	if (rx_pass(q))
		more = 1;
	if (vif->broken)
		return;
	if (more) {
		vif->st.budget_yields++;
		pv_netback_sched_more(q);
	}
}

int pv_netback_port_event(struct pv_backd *d, evtchn_port_t port)
{
	struct pv_netback_queue *q;
	struct pv_netback_vif *vif;
	unsigned int progress;

	if (!d->net || port >= d->net->nports || !(q = d->net->ports[port]))
		return 0;
	vif = q->vif;
	vif->st.notifications_in++;
	pv_netback_kick(q);
	if (!vif->connected || vif->broken)
		return 1; /* the port goes with the disconnect */
	/*
	 * Progress since the last notification, by any path (this kick, packets from the TAP,
	 * a run-queue turn, the storm timer's unmask): the guest notifies after publishing and
	 * we may have looked first.  Measured across this kick only, an honest guest whose
	 * requests were taken elsewhere looks like a storm, and once masked its notification
	 * pending across the unmask that served it masks the port again, for longer.
	 */
	progress = q->note_txc != q->tx.req_cons || q->note_rxc != q->rx.req_cons ||
		   q->note_held != q->rx_held || q->on_runq || q->credit_at_ns;
	q->note_txc = q->tx.req_cons;
	q->note_rxc = q->rx.req_cons;
	q->note_held = q->rx_held;
	if (progress) {
		q->spurious = 0;
		q->storm_level = 0;
	} else {
		vif->st.spurious_notifications++;
		if (q->spurious < PV_NETBACK_SPURIOUS_MAX)
			q->spurious++;
	}
	if (q->spurious < PV_NETBACK_SPURIOUS_MAX) {
		pv_evtchn_unmask(d->plat, port);
		return 1;
	}
	/* A storm: the port stays masked for a while (Xen's lateeoi after XSA-332). */
	vif->st.storm_masks++;
	if (port == q->tx_port)
		q->storm_masked_tx = 1;
	else
		q->storm_masked_rx = 1;
	q->storm_until_ns = pv_backd_now_ns() + (1000000ull << q->storm_level);
	if (q->storm_level < PV_NETBACK_STORM_MAX_SHIFT)
		q->storm_level++;
	pv_netback_timer_at(d, q->storm_until_ns);
	return 1;
}

/* ---- connect and disconnect ---------------------------------------------------------------- */

static int fe_read(struct pv_netback_vif *vif, const char *dir, const char *node, char **val)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, node);
	return pv_xs_read(vif->d->plat, 0, path, val, NULL);
}

/* A uint32_t the guest wrote: plain decimal.  -ENOENT, -EINVAL. */
static int fe_u32(struct pv_netback_vif *vif, const char *dir, const char *node, uint32_t *out)
{
	uint64_t v = 0;
	char *s, *p;
	int rc = fe_read(vif, dir, node, &s);

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

/* A feature flag: absent means def; anything but 0/1 is refused. */
static int fe_flag(struct pv_netback_vif *vif, const char *node, unsigned int def,
		   unsigned int *out)
{
	uint32_t v = def;
	int rc = fe_u32(vif, vif->fe_path, node, &v);

	if (rc == -ENOENT)
		v = def;
	else if (rc < 0 || v > 1) {
		pv_netback_fatal(vif, "%s: 0 or 1 expected", node);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

static int port_map_set(struct pv_backd *d, evtchn_port_t port, struct pv_netback_queue *q)
{
	struct pv_netback *nb = d->net;

	if (port >= nb->nports) {
		unsigned int n = port + 64;
		struct pv_netback_queue **p = realloc(nb->ports, n * sizeof(*p));

		if (!p)
			return -ENOMEM;
		memset(p + nb->nports, 0, (n - nb->nports) * sizeof(*p));
		nb->ports = p;
		nb->nports = n;
	}
	nb->ports[port] = q;
	return 0;
}

static int bind(struct pv_netback_queue *q, evtchn_port_t remote, evtchn_port_t *local)
{
	struct pv_netback_vif *vif = q->vif;
	int rc = pv_evtchn_bind_interdomain(vif->d->plat, (domid_t)vif->domid, remote, local);

	if (rc < 0)
		return rc;
	rc = port_map_set(vif->d, *local, q);
	if (rc < 0)
		pv_evtchn_unbind(vif->d->plat, *local);
	return rc;
}

static int queue_connect(struct pv_netback_queue *q, const char *dir)
{
	struct pv_netback_vif *vif = q->vif;
	struct pv_platform *plat = vif->d->plat;
	uint32_t txref, rxref, ptx = 0, prx = 0, p1 = 0;
	grant_ref_t ref;
	int rc;

	if (fe_u32(vif, dir, "tx-ring-ref", &txref) < 0 || fe_u32(vif, dir, "rx-ring-ref", &rxref) < 0) {
		pv_netback_fatal(vif, "%s: reading tx-ring-ref/rx-ring-ref", dir);
		return -EINVAL;
	}
	if (fe_u32(vif, dir, "event-channel-tx", &ptx) == 0 &&
	    fe_u32(vif, dir, "event-channel-rx", &prx) == 0) {
		vif->split = 1;
	} else if (fe_u32(vif, dir, "event-channel", &p1) == 0) {
		ptx = prx = p1;
		vif->split = 0;
	} else {
		pv_netback_fatal(vif, "%s: reading event-channel", dir);
		return -EINVAL;
	}
	ref = txref;
	rc = pv_gnt_map(plat, (domid_t)vif->domid, 1, &ref, 1, &q->tx_addr);
	if (rc < 0) {
		q->tx_addr = NULL;
		pv_netback_fatal(vif, "mapping tx-ring-ref %u: %s", txref, strerror(-rc));
		return rc;
	}
	ref = rxref;
	rc = pv_gnt_map(plat, (domid_t)vif->domid, 1, &ref, 1, &q->rx_addr);
	if (rc < 0) {
		q->rx_addr = NULL;
		pv_netback_fatal(vif, "mapping rx-ring-ref %u: %s", rxref, strerror(-rc));
		return rc;
	}
	/*
	 * At our last published response: 0 on a fresh ring; after a daemon restart, where
	 * the previous one stopped (it answers everything it takes within one pass).  A
	 * scribbled index is caught by the producer checks like any other.
	 */
	pv_ring_back_attach(&q->tx, q->tx_addr, PV_PAGE_SIZE, sizeof(union pv_netif_tx_sring_entry),
			    __atomic_load_n(&((struct pv_sring *)q->tx_addr)->rsp_prod, __ATOMIC_RELAXED));
	pv_ring_back_attach(&q->rx, q->rx_addr, PV_PAGE_SIZE, sizeof(union pv_netif_rx_sring_entry),
			    __atomic_load_n(&((struct pv_sring *)q->rx_addr)->rsp_prod, __ATOMIC_RELAXED));
	rc = bind(q, ptx, &q->tx_port);
	if (rc < 0) {
		pv_netback_fatal(vif, "binding event channel %u: %s", ptx, strerror(-rc));
		return rc;
	}
	q->tx_bound = 1;
	q->remote_tx = ptx;
	if (vif->split) {
		rc = bind(q, prx, &q->rx_port);
		if (rc < 0) {
			pv_netback_fatal(vif, "binding event channel %u: %s", prx, strerror(-rc));
			return rc;
		}
		q->rx_bound = 1;
	} else {
		q->rx_port = q->tx_port;
	}
	q->remote_rx = prx;
	q->txbuf = malloc((size_t)PV_NETBACK_TX_BATCH * PV_NETBACK_MAX_PKT);
	q->rxbuf = malloc((size_t)PV_NETBACK_RX_BATCH * RXBUF_SZ);
	if (!q->txbuf || !q->rxbuf)
		return -ENOMEM;
	for (unsigned int i = 0; i < PV_NETBACK_RX_BATCH; i++)
		q->rp[i].buf = q->rxbuf + (size_t)i * RXBUF_SZ;
	q->credit_bytes = vif->rate_bytes;
	q->credit_usec = vif->rate_usec;
	q->remaining_credit = vif->rate_bytes;
	q->window_ns = pv_backd_now_ns();
	return 0;
}

int pv_netback_connect(struct pv_netback_vif *vif)
{
	struct pv_netback *nb = vif->d->net;
	uint32_t nq = 1;
	unsigned int i, copy = 0, nocsum = 0;
	char dir[sizeof(vif->fe_path) + 24];
	int rc;

	vif->broken = 0;
	rc = fe_u32(vif, vif->fe_path, "multi-queue-num-queues", &nq);
	if (rc == -ENOENT)
		nq = 1;
	else if (rc < 0 || nq == 0 || nq > nb->max_queues) {
		pv_netback_fatal(vif, "multi-queue-num-queues: 1..%u", nb->max_queues);
		return -EINVAL;
	}
	if (fe_flag(vif, "request-rx-copy", 0, &copy) < 0)
		return -EINVAL;
	if (!copy) {
		pv_netback_fatal(vif, "request-rx-copy must be 1 (no page flipping)");
		return -EOPNOTSUPP;
	}
	if (fe_flag(vif, "feature-sg", 0, &vif->sg) < 0 ||
	    fe_flag(vif, "feature-gso-tcpv4", 0, &vif->gso4) < 0 ||
	    fe_flag(vif, "feature-gso-tcpv6", 0, &vif->gso6) < 0 ||
	    fe_flag(vif, "feature-no-csum-offload", 0, &nocsum) < 0 ||
	    fe_flag(vif, "feature-ipv6-csum-offload", 0, &vif->ipv6_csum) < 0 ||
	    fe_flag(vif, "feature-rx-notify", 0, &vif->rx_notify) < 0)
		return -EINVAL;
	vif->csum = !nocsum;
	vif->qs = calloc(nq, sizeof(*vif->qs));
	if (!vif->qs)
		return -ENOMEM;
	vif->nqueues = nq;
	for (i = 0; i < nq; i++) {
		vif->qs[i].vif = vif;
		vif->qs[i].idx = i;
		vif->qs[i].tap_fd = -1;
	}
	for (i = 0; i < nq; i++) {
		if (nq > 1)
			snprintf(dir, sizeof(dir), "%s/queue-%u", vif->fe_path, i);
		else
			snprintf(dir, sizeof(dir), "%s", vif->fe_path);
		rc = queue_connect(&vif->qs[i], dir);
		if (rc < 0)
			return rc;
	}
	rc = pv_netback_tap_open(vif);
	if (rc < 0) {
		char msg[96];

		snprintf(msg, sizeof(msg), "cannot create %s: %s", vif->ifname, strerror(-rc));
		pv_netback_node_write(vif, "error", msg);
		return rc;
	}
	for (i = 0; i < nq; i++)
		tap_poll(&vif->qs[i], 1);
	vif->connected = 1;
	pv_backd_log(PV_LOG_INFO, COMP, "vif %u/%u: connected, %u queue%s%s%s%s%s", vif->domid,
		     vif->devid, nq, nq > 1 ? "s" : "", vif->split ? ", split event channels" : "",
		     vif->sg ? ", sg" : "", vif->gso4 || vif->gso6 ? ", gso" : "",
		     vif->rate_bytes ? ", rate limited" : "");
	return 0;
}

void pv_netback_disconnect(struct pv_netback_vif *vif)
{
	struct pv_backd *d = vif->d;
	unsigned int i;

	if (!vif->qs)
		return;
	pv_netback_tap_close(vif);
	for (i = 0; i < vif->nqueues; i++) {
		struct pv_netback_queue *q = &vif->qs[i];

		pv_netback_sched_forget(q);
		if (q->tx_bound) {
			if (d->net && q->tx_port < d->net->nports)
				d->net->ports[q->tx_port] = NULL;
			pv_evtchn_unbind(d->plat, q->tx_port);
		}
		if (q->rx_bound) {
			if (d->net && q->rx_port < d->net->nports)
				d->net->ports[q->rx_port] = NULL;
			pv_evtchn_unbind(d->plat, q->rx_port);
		}
		if (q->tx_addr)
			pv_gnt_unmap(d->plat, q->tx_addr, 1);
		if (q->rx_addr)
			pv_gnt_unmap(d->plat, q->rx_addr, 1);
		free(q->txbuf);
		free(q->rxbuf);
	}
	free(vif->qs);
	vif->qs = NULL;
	vif->nqueues = 0;
	if (vif->connected)
		pv_backd_log(PV_LOG_INFO, COMP, "vif %u/%u: disconnected", vif->domid, vif->devid);
	vif->connected = 0;
}
