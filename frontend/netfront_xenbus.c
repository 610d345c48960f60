/* SPDX-License-Identifier: MIT */
/*
 * netfront_xenbus.c - the front half of the vif handshake, as Linux's xen-netfront does it
 * (docs/protocol.md, io/netif.h): Initialising -> (back end InitWait: its features) ->
 * rings, event channels, our features and state Connected in one transaction -> (back end
 * Connected) -> rx buffers posted; and Closing -> Closed.
 *
 * Every value read from the back end's directory (and the mac the toolstack wrote) is
 * untrusted: parsed strictly, garbage is -EPROTO, a queue count beyond ours is clamped.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "netfront_priv.h"
#include "pv_gref.h"

/* ---- grants ------------------------------------------------------------------------ */

/*
 * A queue's rings and its tx and rx pages are granted once, at connect, each as one array
 * (the ring index names the page), so netfront needs no allocator of grant/'s pools: only
 * its unshare with a grace period.
 */
int nf_gnt_alloc(struct pv_netfront *nf, unsigned int count, int writable, grant_ref_t *refs,
		 void **addr)
{
	return pv_gnt_share(nf->xb.p, nf->xb.backend_id, count, writable, refs, addr);
}

/* Ends the grants of count pages, giving a slow back end a short grace period to unmap. */
int nf_gnt_free(struct pv_netfront *nf, void *addr, unsigned int count)
{
	return pv_gref_unshare_retry(nf->xb.p, addr, count, 200);
}

/* ---- small helpers ----------------------------------------------------------------- */

/* Reads an unsigned node of the back end's: xbf_read_uint()'s 0, 1 or -EPROTO. */
static int read_uint(struct pv_netfront *nf, const char *node, uint64_t def, uint64_t max,
		     uint64_t *v)
{
	return xbf_read_uint(&nf->xb, nf->xb.be_path, node, def, max, v);
}

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned int i;

	if (strlen(s) != 17)
		return -EPROTO;
	for (i = 0; i < 6; i++) {
		const char *h = s + i * 3;
		unsigned int v = 0, k;

		for (k = 0; k < 2; k++) {
			char c = h[k];

			v <<= 4;
			if (c >= '0' && c <= '9')
				v |= (unsigned int)(c - '0');
			else if (c >= 'a' && c <= 'f')
				v |= (unsigned int)(c - 'a' + 10);
			else if (c >= 'A' && c <= 'F')
				v |= (unsigned int)(c - 'A' + 10);
			else
				return -EPROTO;
		}
		if (i < 5 && h[2] != ':')
			return -EPROTO;
		mac[i] = (uint8_t)v;
	}
	return 0;
}

/* ---- rings and nodes ------------------------------------------------------------------- */

static void free_rings(struct pv_netfront *nf, int *busy)
{
	unsigned int i;

	for (i = 0; i < NF_MAX_QUEUES; i++) {
		struct nf_queue *q = &nf->q[i];

		if (q->rx_port_ok && (!q->tx_port_ok || q->rx_port != q->tx_port))
			pv_evtchn_unbind(nf->xb.p, q->rx_port);
		if (q->tx_port_ok)
			pv_evtchn_unbind(nf->xb.p, q->tx_port);
		q->tx_port_ok = q->rx_port_ok = 0;
		if (q->tx_ring && nf_gnt_free(nf, q->tx_ring, 1) < 0)
			*busy = 1;
		if (q->rx_ring && nf_gnt_free(nf, q->rx_ring, 1) < 0)
			*busy = 1;
		q->tx_ring = q->rx_ring = NULL;
	}
}

static int alloc_rings(struct pv_netfront *nf)
{
	unsigned int i;
	int rc;

	for (i = 0; i < nf->nq; i++) {
		struct nf_queue *q = &nf->q[i];

		q->idx = i;
		rc = nf_gnt_alloc(nf, 1, 1, &q->tx_ring_ref, &q->tx_ring);
		if (rc < 0) {
			q->tx_ring = NULL;
			return rc;
		}
		rc = nf_gnt_alloc(nf, 1, 1, &q->rx_ring_ref, &q->rx_ring);
		if (rc < 0) {
			q->rx_ring = NULL;
			return rc;
		}
		if (pv_ring_front_init(&q->tx, q->tx_ring, PV_PAGE_SIZE, sizeof(union pv_netif_tx_sring_entry)) < 0 ||
		    pv_ring_front_init(&q->rx, q->rx_ring, PV_PAGE_SIZE, sizeof(union pv_netif_rx_sring_entry)) < 0)
			return -EINVAL;
		q->tx_pushed = 0;
		rc = pv_evtchn_alloc_unbound(nf->xb.p, nf->xb.backend_id, &q->tx_port);
		if (rc < 0)
			return rc;
		q->tx_port_ok = 1;
		if (nf->info.split_evtchn) {
			rc = pv_evtchn_alloc_unbound(nf->xb.p, nf->xb.backend_id, &q->rx_port);
			if (rc < 0)
				return rc;
		} else {
			q->rx_port = q->tx_port;
		}
		q->rx_port_ok = 1;
	}
	return 0;
}

static int is_our_node(const char *n)
{
	static const char *const names[] = {
		"tx-ring-ref", "rx-ring-ref", "event-channel", "event-channel-tx", "event-channel-rx",
		"multi-queue-num-queues", "request-rx-copy", "feature-rx-notify", "feature-sg",
		"feature-gso-tcpv4", "feature-gso-tcpv6", "feature-ipv6-csum-offload",
		"feature-no-csum-offload",
	};
	unsigned int i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(n, names[i]) == 0)
			return 1;
	return strncmp(n, "queue-", 6) == 0;
}

static int write_queue_nodes(struct pv_netfront *nf, pv_xs_txn_t t, const char *dir,
			     const struct nf_queue *q)
{
	int rc = xbf_txn_u(&nf->xb, t, dir, "tx-ring-ref", q->tx_ring_ref);

	if (rc == 0)
		rc = xbf_txn_u(&nf->xb, t, dir, "rx-ring-ref", q->rx_ring_ref);
	if (rc == 0 && nf->info.split_evtchn) {
		rc = xbf_txn_u(&nf->xb, t, dir, "event-channel-tx", q->tx_port);
		if (rc == 0)
			rc = xbf_txn_u(&nf->xb, t, dir, "event-channel-rx", q->rx_port);
	} else if (rc == 0) {
		rc = xbf_txn_u(&nf->xb, t, dir, "event-channel", q->tx_port);
	}
	return rc;
}

/* Our nodes of the connection, inside xbf_publish()'s transaction (which adds the state). */
static int write_conn_nodes(void *arg, pv_xs_txn_t t)
{
	struct pv_netfront *nf = arg;
	char dir[XBF_PATH_MAX + 32];
	unsigned int i;
	int rc = 0, csum = !nf->opts.no_csum_offload;
	const char *fe = nf->xb.fe_path;

	/* As Linux's netfront: one queue flat, several under queue-N/ with the count. */
	if (nf->nq == 1) {
		rc = write_queue_nodes(nf, t, fe, &nf->q[0]);
	} else {
		rc = xbf_txn_u(&nf->xb, t, fe, "multi-queue-num-queues", nf->nq);
		for (i = 0; rc == 0 && i < nf->nq; i++) {
			snprintf(dir, sizeof(dir), "%s/queue-%u", fe, i);
			rc = write_queue_nodes(nf, t, dir, &nf->q[i]);
		}
	}
	if (rc == 0)
		rc = xbf_txn_u(&nf->xb, t, fe, "request-rx-copy", 1);
	if (rc == 0) /* Linux's netback refuses a front end without it */
		rc = xbf_txn_u(&nf->xb, t, fe, "feature-rx-notify", 1);
	if (rc == 0) /* we take multi-slot rx frames */
		rc = xbf_txn_u(&nf->xb, t, fe, "feature-sg", 1);
	if (rc == 0)
		rc = xbf_txn_u(&nf->xb, t, fe, "feature-gso-tcpv4", (unsigned int)nf->fe_gso);
	if (rc == 0)
		rc = xbf_txn_u(&nf->xb, t, fe, "feature-gso-tcpv6", (unsigned int)nf->fe_gso);
	if (rc == 0)
		rc = xbf_txn_u(&nf->xb, t, fe, "feature-ipv6-csum-offload", (unsigned int)csum);
	if (rc == 0)
		rc = xbf_txn_u(&nf->xb, t, fe, "feature-no-csum-offload", (unsigned int)!csum);
	return rc;
}

/* The back end's features, written before InitWait. */
static int read_features(struct pv_netfront *nf)
{
	struct pv_netfront_info *in = &nf->info;
	uint64_t rxcopy, sg, g4, g6, v6, split, mq;
	unsigned int want;
	int rc;

#define RD(node, var)									\
	do {										\
		rc = read_uint(nf, node, 0, UINT32_MAX, &var);		\
		if (rc < 0)								\
			return rc;							\
	} while (0)
	RD("feature-rx-copy", rxcopy);
	RD("feature-sg", sg);
	RD("feature-gso-tcpv4", g4);
	RD("feature-gso-tcpv6", g6);
	RD("feature-ipv6-csum-offload", v6);
	RD("feature-split-event-channels", split);
#undef RD
	/* Linux's netfront: a back end that cannot copy into our buffers is not usable. */
	if (!rxcopy)
		return -EPROTO;
	rc = read_uint(nf, "multi-queue-max-queues", 1, UINT32_MAX, &mq);
	if (rc < 0)
		return rc;
	if (mq == 0)
		mq = 1;
	want = nf->opts.max_queues ? nf->opts.max_queues : NF_MAX_QUEUES;
	if (want > NF_MAX_QUEUES)
		want = NF_MAX_QUEUES;
	nf->nq = mq < want ? (unsigned int)mq : want;
	in->queues = nf->nq;
	in->sg = sg != 0;
	in->max_tx_slots = in->sg ? XEN_NETIF_NR_SLOTS_MIN : 1;
	/* A GSO frame is longer than a page: without sg it cannot be sent. */
	in->gso_tcpv4 = g4 && in->sg && !nf->opts.no_gso;
	in->gso_tcpv6 = g6 && in->sg && !nf->opts.no_gso;
	in->ipv6_csum = v6 != 0;
	in->split_evtchn = split && !nf->opts.no_split_evtchn;
	return 0;
}

/* The mac the toolstack wrote for us (a missing one is as bad as garbage). */
static int read_mac(struct pv_netfront *nf)
{
	char *s = NULL;
	int rc;

	rc = xbf_read_str(&nf->xb, nf->xb.fe_path, "mac", &s);
	if (rc < 0)
		return rc == -ENOENT ? -EPROTO : rc;
	rc = parse_mac(s, nf->info.mac);
	free(s);
	return rc;
}

/* Closing -> Closed, grants ended, ports unbound; safe on a half-built device and twice. */
static int teardown(struct pv_netfront *nf)
{
	uint64_t deadline, grace = xbf_now_ms() + (nf->timeout_ms < 500 ? nf->timeout_ms : 500);
	int busy = 0, rc = 0;

	if (nf->connected && !nf->failed) {
		/*
		 * Give what we sent a moment to go out; a frame the back end never answers is
		 * lost as a network loses frames, and must not hold up the close.
		 */
		pv_netfront_kick(nf);
		while (nf_tx_inflight(nf) && !nf->failed) {
			uint64_t now = xbf_now_ms();

			if (now >= grace || pv_netfront_poll(nf, (int)(grace - now), NULL, NULL) < 0)
				break;
		}
	}
	deadline = xbf_now_ms() + nf->timeout_ms;
	nf->connected = 0;
	rc = xbf_close(&nf->xb, deadline);
	if (nf_data_free(nf))
		busy = 1;
	free_rings(nf, &busy);
	xbf_unwatch(&nf->xb);
	return busy ? -EBUSY : rc;
}

int pv_netfront_open(struct pv_platform *p, unsigned int devid, const struct pv_netfront_opts *o,
		     struct pv_netfront **out)
{
	struct pv_netfront *nf;
	uint64_t deadline;
	unsigned int i;
	int rc;

	if (!p || !out)
		return -EINVAL;
	*out = NULL;
	nf = calloc(1, sizeof(*nf));
	if (!nf)
		return -ENOMEM;
	nf->devid = devid;
	if (o)
		nf->opts = *o;
	nf->timeout_ms = nf->opts.timeout_ms ? nf->opts.timeout_ms : 10000;
	deadline = xbf_now_ms() + nf->timeout_ms;
	nf->fe_gso = !nf->opts.no_gso;
	rc = xbf_find_backend(&nf->xb, p, "vif", devid);
	if (rc == 0)
		rc = read_mac(nf);
	if (rc < 0)
		goto fail_quiet;
	rc = xbf_watch(&nf->xb, "pv_netfront", devid, nf);
	if (rc < 0)
		goto fail_quiet;
	/* A back end still connected to our previous life: walk it through Closing first. */
	xbf_reset_stale(&nf->xb, deadline);
	rc = xbf_write_state(&nf->xb, XB_INITIALISING);
	if (rc < 0)
		goto fail_quiet;
	rc = xbf_wait_backend(&nf->xb, ST(XB_INITWAIT), 0, deadline);
	if (rc < 0)
		goto fail;
	rc = read_features(nf);
	if (rc < 0)
		goto fail;
	rc = alloc_rings(nf);
	if (rc < 0)
		goto fail;
	rc = nf_data_init(nf);
	if (rc < 0)
		goto fail;
	/* Buffers posted before the back end looks, as Linux's netfront: no notification yet. */
	for (i = 0; i < nf->nq; i++)
		nf_post_rx(nf, &nf->q[i], 0);
	/*
	 * Linux's netfront goes from Initialising straight to Connected; in the same
	 * transaction the back end sees all of it or none.
	 */
	rc = xbf_publish(&nf->xb, is_our_node, write_conn_nodes, nf, XB_CONNECTED);
	if (rc < 0)
		goto fail;
	rc = xbf_wait_backend(&nf->xb, ST(XB_CONNECTED), ST(XB_CLOSING) | ST(XB_CLOSED), deadline);
	if (rc < 0)
		goto fail;
	nf->connected = 1;
	*out = nf;
	return 0;

fail_quiet:
	xbf_forget_backend(&nf->xb);
fail:
	nf->timeout_ms = nf->timeout_ms < 2000 ? nf->timeout_ms : 2000;
	teardown(nf);
	xbf_free(&nf->xb);
	free(nf);
	return rc;
}

int pv_netfront_disconnect(struct pv_netfront *nf)
{
	if (!nf)
		return -EINVAL;
	return teardown(nf);
}

void pv_netfront_close(struct pv_netfront *nf)
{
	if (!nf)
		return;
	teardown(nf);
	xbf_free(&nf->xb);
	free(nf);
}

int pv_netfront_info(struct pv_netfront *nf, struct pv_netfront_info *info)
{
	if (!nf || !info)
		return -EINVAL;
	*info = nf->info;
	return 0;
}
