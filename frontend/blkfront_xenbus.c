/* SPDX-License-Identifier: MIT */
/*
 * blkfront_xenbus.c - the front half of the vbd handshake (io/blkif.h, docs/protocol.md):
 * Initialising -> (back end InitWait) -> rings, event channels and nodes in one
 * transaction -> Initialised -> (back end Connected) -> Connected; and Closing -> Closed.
 *
 * Every value read from the back end's directory is untrusted: it is parsed strictly
 * (plain decimal; garbage or a value that does not fit its type is -EPROTO), values that
 * are impossible (0 queues, a sector size that is not a power of two) are -EPROTO, and
 * values that are legal but beyond what we use (an order of 99, 100000 queues) are
 * clamped to our limits, as Linux's xen-blkfront does.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blkfront_priv.h"

/* ---- small helpers ----------------------------------------------------------------- */

/* Reads an unsigned node of the back end's: xbf_read_uint()'s 0, 1 or -EPROTO. */
static int read_uint(struct pv_blkfront *bf, const char *node, uint64_t def, uint64_t max,
		     uint64_t *v)
{
	return xbf_read_uint(&bf->xb, bf->xb.be_path, node, def, max, v);
}

void bf_reread_size(struct pv_blkfront *bf, struct xbf *x)
{
	uint64_t v;

	/* Queue threads check ios against it while another takes a resize. */
	if (xbf_read_uint(x, x->be_path, "sectors", 0, UINT64_MAX >> PV_BLKIF_SECTOR_SHIFT, &v) == 1 &&
	    v > 0)
		__atomic_store_n(&bf->info.sectors, v, __ATOMIC_RELAXED);
}

/* ---- rings and nodes ----------------------------------------------------------------- */

static void free_rings(struct pv_blkfront *bf, int *busy)
{
	unsigned int i, tries;

	for (i = 0; i < BF_MAX_QUEUES; i++) {
		struct bf_queue *q = &bf->q[i];

		if (q->port_ok) {
			pv_evtchn_unbind(q->p, q->port);
			q->port_ok = 0;
		}
		if (!q->ring_addr)
			continue;
		/* A back end that is slow to unmap gets a short grace period. */
		for (tries = 0;; tries++) {
			int rc = pv_gnt_unshare(bf->xb.p, q->ring_addr, q->ring_pages);

			if (rc == 0) {
				bf->st.grants_shared += q->ring_pages;
				q->ring_addr = NULL;
				break;
			}
			if (rc != -EBUSY || tries >= 200) {
				/* Left to the platform: it ends what it can when closed. */
				*busy = 1;
				q->ring_addr = NULL;
				break;
			}
			usleep(1000);
		}
	}
}

static int alloc_rings(struct pv_blkfront *bf)
{
	unsigned int i, npages = 1u << bf->ring_order;
	int rc;

	for (i = 0; i < bf->nq; i++) {
		struct bf_queue *q = &bf->q[i];

		/* One share call per ring: all its pages, contiguous, granted together. */
		rc = pv_gnt_share(bf->xb.p, bf->xb.backend_id, npages, 1, q->ring_refs, &q->ring_addr);
		if (rc < 0) {
			q->ring_addr = NULL;
			return rc;
		}
		bf->st.grants_shared += npages;
		q->ring_pages = npages;
		rc = pv_ring_front_init(&q->ring, q->ring_addr, (size_t)npages * PV_PAGE_SIZE,
					sizeof(union pv_blkif_sring_entry));
		if (rc < 0)
			return rc;
		/* The queue's handle: a thread of its own waits for its events there. */
		rc = pv_evtchn_alloc_unbound(q->p, bf->xb.backend_id, &q->port);
		if (rc < 0)
			return rc;
		q->port_ok = 1;
	}
	return 0;
}

/* Whether a node of our directory is one we write at each connection. */
static int is_our_node(const char *n)
{
	static const char *const names[] = {
		"ring-ref", "ring-page-order", "event-channel", "multi-queue-num-queues",
		"protocol", "feature-persistent",
	};
	unsigned int i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(n, names[i]) == 0)
			return 1;
	return strncmp(n, "ring-ref", 8) == 0 || strncmp(n, "queue-", 6) == 0;
}

static int write_queue_nodes(struct pv_blkfront *bf, pv_xs_txn_t t, const char *dir,
			     const struct bf_queue *q)
{
	char node[32];
	unsigned int i;
	int rc;

	if (!bf->use_ring_order) {
		rc = xbf_txn_u(&bf->xb, t, dir, "ring-ref", q->ring_refs[0]);
	} else {
		for (i = 0, rc = 0; i < q->ring_pages && rc == 0; i++) {
			snprintf(node, sizeof(node), "ring-ref%u", i);
			rc = xbf_txn_u(&bf->xb, t, dir, node, q->ring_refs[i]);
		}
	}
	if (rc == 0)
		rc = xbf_txn_u(&bf->xb, t, dir, "event-channel", q->port);
	return rc;
}

/* Our nodes of the connection, inside xbf_publish()'s transaction (which adds the state). */
static int write_conn_nodes(void *arg, pv_xs_txn_t t)
{
	struct pv_blkfront *bf = arg;
	char dir[XBF_PATH_MAX + 32], path[XBF_PATH_MAX + 64];
	unsigned int i;
	int rc = 0;

	if (bf->use_ring_order)
		rc = xbf_txn_u(&bf->xb, t, bf->xb.fe_path, "ring-page-order", bf->ring_order);
	if (rc == 0 && bf->nq == 1) {
		rc = write_queue_nodes(bf, t, bf->xb.fe_path, &bf->q[0]);
	} else if (rc == 0) {
		rc = xbf_txn_u(&bf->xb, t, bf->xb.fe_path, "multi-queue-num-queues", bf->nq);
		for (i = 0; rc == 0 && i < bf->nq; i++) {
			snprintf(dir, sizeof(dir), "%s/queue-%u", bf->xb.fe_path, i);
			rc = write_queue_nodes(bf, t, dir, &bf->q[i]);
		}
	}
	if (rc == 0) {
		snprintf(path, sizeof(path), "%s/protocol", bf->xb.fe_path);
		rc = pv_xs_printf(bf->xb.p, t, path, "x86_64-abi");
	}
	if (rc == 0)
		rc = xbf_txn_u(&bf->xb, t, bf->xb.fe_path, "feature-persistent",
			       (unsigned int)bf->fe_persistent);
	return rc;
}

/* ---- negotiation --------------------------------------------------------------------- */

/* What the back end offers before InitWait: ring geometry. */
static int read_ring_features(struct pv_blkfront *bf)
{
	const struct pv_blkfront_opts *o = &bf->opts;
	uint64_t order, queues;
	unsigned int want;
	int rc;

	rc = read_uint(bf, "max-ring-page-order", 0, UINT32_MAX, &order);
	if (rc < 0)
		return rc;
	if (rc == 1 && !o->no_ring_order) {
		want = o->max_ring_page_order ? o->max_ring_page_order : PV_RING_MAX_PAGE_ORDER;
		if (want > PV_RING_MAX_PAGE_ORDER)
			want = PV_RING_MAX_PAGE_ORDER;
		bf->ring_order = order < want ? (unsigned int)order : want;
		/* Linux writes plain ring-ref for one page even when the order is offered. */
		bf->use_ring_order = bf->ring_order > 0;
	} else {
		bf->ring_order = 0;
		bf->use_ring_order = 0;
	}
	rc = read_uint(bf, "multi-queue-max-queues", 1, UINT32_MAX, &queues);
	if (rc < 0)
		return rc;
	if (queues == 0)
		return -EPROTO; /* "at most 0 queues" cannot be served */
	want = o->max_queues ? o->max_queues : BF_MAX_QUEUES;
	if (want > BF_MAX_QUEUES)
		want = BF_MAX_QUEUES;
	bf->nq = queues < want ? (unsigned int)queues : want;
	return 0;
}

static int is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

/* What the back end writes before Connected: the disk and the data-path features. */
static int read_connect_info(struct pv_blkfront *bf)
{
	struct pv_blkfront_info *in = &bf->info;
	uint64_t v, ss, pss, info;
	char *mode = NULL;
	int rc;

	rc = read_uint(bf, "sectors", 0, UINT64_MAX >> PV_BLKIF_SECTOR_SHIFT, &v);
	if (rc <= 0)
		return rc < 0 ? rc : -EPROTO; /* a disk of no known size */
	in->sectors = v;
	rc = read_uint(bf, "sector-size", 512, UINT32_MAX, &ss);
	if (rc < 0)
		return rc;
	/* The front end lays requests out in whole pages: 512 .. 4096, as Linux's block layer. */
	if (!is_pow2(ss) || ss < 512 || ss > PV_PAGE_SIZE)
		return -EPROTO;
	rc = read_uint(bf, "physical-sector-size", ss, UINT32_MAX, &pss);
	if (rc < 0)
		return rc;
	if (!is_pow2(pss) || pss < ss || pss > (1u << 20))
		return -EPROTO;
	in->sector_size = (unsigned int)ss;
	in->physical_sector_size = (unsigned int)pss;
	rc = read_uint(bf, "info", 0, UINT32_MAX, &info);
	if (rc < 0)
		return rc;
	in->readonly = !!(info & VDISK_READONLY);
	if (xbf_read_str(&bf->xb, bf->xb.be_path, "mode", &mode) == 0) {
		if (strcmp(mode, "r") == 0)
			in->readonly = 1;
		free(mode);
	}

#define BOOL_NODE(name, field)							\
	do {									\
		rc = read_uint(bf, name, 0, UINT32_MAX, &v);	\
		if (rc < 0)							\
			return rc;						\
		field = v != 0;							\
	} while (0)
	BOOL_NODE("feature-flush-cache", in->flush);
	BOOL_NODE("feature-barrier", in->barrier);
	BOOL_NODE("feature-discard", in->discard);
	if (in->discard) {
		BOOL_NODE("discard-secure", in->discard_secure);
		rc = read_uint(bf, "discard-granularity", ss, UINT32_MAX, &v);
		if (rc < 0)
			return rc;
		in->discard_granularity = (unsigned int)v;
		rc = read_uint(bf, "discard-alignment", 0, UINT32_MAX, &v);
		if (rc < 0)
			return rc;
		in->discard_alignment = (unsigned int)v;
	}
	BOOL_NODE("feature-persistent", in->persistent);
#undef BOOL_NODE
	in->persistent = in->persistent && bf->fe_persistent;

	rc = read_uint(bf, "feature-max-indirect-segments", 0, UINT32_MAX, &v);
	if (rc < 0)
		return rc;
	{
		unsigned int want = bf->opts.max_indirect_segments ? bf->opts.max_indirect_segments
								    : BF_MAX_INDIRECT_SEGS;

		if (want > BF_MAX_INDIRECT_SEGS)
			want = BF_MAX_INDIRECT_SEGS;
		if (v > want)
			v = want;
		/* Indirect is worth it only beyond what a direct request carries. */
		in->indirect_segments = !bf->opts.no_indirect && v > BLKIF_MAX_SEGMENTS_PER_REQUEST ?
					(unsigned int)v : 0;
	}
	in->queues = bf->nq;
	in->ring_pages = 1u << bf->ring_order;
	in->ring_slots = bf->q[0].ring.nr_ents;
	return 0;
}

/* ---- open / close -------------------------------------------------------------------- */

/* Closing -> Closed, grants ended, ports unbound; safe on a half-built device and twice. */
static int teardown(struct pv_blkfront *bf)
{
	uint64_t deadline = xbf_now_ms() + bf->timeout_ms;
	int busy = 0, rc = 0;

	if (bf->connected && !bf_failed(bf)) {
		/* Finish what is in flight: the back end answers before it closes. */
		while ((bf_inflight(bf) || bf_backlogged(bf)) && !bf_failed(bf)) {
			uint64_t now = xbf_now_ms();

			/* one clock reading: a second one could pass the deadline, and poll(-1) */
			if (now >= deadline || pv_blkfront_poll(bf, (int)(deadline - now)) < 0)
				break;
		}
	}
	if (bf_inflight(bf) || bf_backlogged(bf))
		bf_fail_all(bf, -ENOTCONN);
	bf->connected = 0;
	bf_lanes_free(bf);
	rc = xbf_close(&bf->xb, deadline);
	if (bf_retry_stuck(bf))
		busy = 1;
	if (bf_data_free(bf))
		busy = 1;
	free_rings(bf, &busy);
	xbf_unwatch(&bf->xb);
	return busy ? -EBUSY : rc;
}

int pv_blkfront_open(struct pv_platform *p, unsigned int devid, const struct pv_blkfront_opts *o,
		     struct pv_blkfront **out)
{
	struct pv_blkfront *bf;
	unsigned int i, j;
	uint64_t deadline;
	int rc;

	if (!p || !out)
		return -EINVAL;
	*out = NULL;
	bf = calloc(1, sizeof(*bf));
	if (!bf)
		return -ENOMEM;
	bf->devid = devid;
	bf->fail_efd = -1;
	pthread_mutex_init(&bf->gnt_lock, NULL);
	bf->all.bf = bf; /* no queues until the handshake: bf_lanes_init() */
	if (o)
		bf->opts = *o;
	for (i = 0; i < BF_MAX_QUEUES; i++) {
		struct pv_platform *qp = bf->opts.queue_platform[i];

		/* A queue's own handle is the point: sharing one would put two threads on it. */
		for (j = 0; qp && j < i; j++)
			if (bf->opts.queue_platform[j] == qp)
				qp = p;
		if (qp == p) {
			pthread_mutex_destroy(&bf->gnt_lock);
			free(bf);
			return -EINVAL;
		}
		bf->q[i].p = qp ? qp : p;
	}
	bf->timeout_ms = bf->opts.timeout_ms ? bf->opts.timeout_ms : 10000;
	deadline = xbf_now_ms() + bf->timeout_ms;
	bf->fe_persistent = !bf->opts.no_persistent;
	rc = xbf_find_backend(&bf->xb, p, "vbd", devid);
	if (rc < 0)
		goto fail_quiet;
	bf->xb.close_waits_closed = 1; /* blkback drains on our Closing, then says Closed */
	rc = xbf_watch(&bf->xb, "pv_blkfront", devid, bf);
	if (rc < 0)
		goto fail_quiet;
	xbf_reset_stale(&bf->xb, deadline);
	rc = xbf_write_state(&bf->xb, XB_INITIALISING);
	if (rc < 0)
		goto fail_quiet;
	rc = xbf_wait_backend(&bf->xb, ST(XB_INITWAIT), 0, deadline);
	if (rc < 0)
		goto fail;
	rc = read_ring_features(bf);
	if (rc < 0)
		goto fail;
	rc = alloc_rings(bf);
	if (rc < 0)
		goto fail;
	rc = xbf_publish(&bf->xb, is_our_node, write_conn_nodes, bf, XB_INITIALISED);
	if (rc < 0)
		goto fail;
	/* Closing or Closed now means the back end refused what we wrote. */
	rc = xbf_wait_backend(&bf->xb, ST(XB_CONNECTED), ST(XB_CLOSING) | ST(XB_CLOSED), deadline);
	if (rc < 0)
		goto fail;
	rc = read_connect_info(bf);
	if (rc < 0)
		goto fail;
	rc = bf_data_init(bf);
	if (rc < 0)
		goto fail;
	rc = bf_lanes_init(bf);
	if (rc < 0)
		goto fail;
	bf->connected = 1;
	rc = xbf_write_state(&bf->xb, XB_CONNECTED);
	if (rc < 0)
		goto fail;
	*out = bf;
	return 0;

fail_quiet:
	xbf_forget_backend(&bf->xb);
fail:
	bf->timeout_ms = bf->timeout_ms < 2000 ? bf->timeout_ms : 2000;
	teardown(bf);
	xbf_free(&bf->xb);
	pthread_mutex_destroy(&bf->gnt_lock);
	free(bf);
	return rc;
}

/*
 * Extension of pv_blkfront.h: the close protocol without freeing the handle, so that a
 * caller can learn whether it went cleanly.  Returns 0, -ETIMEDOUT (the back end did not
 * reach Closing in time; we closed anyway) or -EBUSY (the back end still maps some of our
 * pages; they are left to pv_platform_close()).
 */
int pv_blkfront_disconnect(struct pv_blkfront *bf)
{
	if (!bf)
		return -EINVAL;
	return teardown(bf);
}

void pv_blkfront_close(struct pv_blkfront *bf)
{
	if (!bf)
		return;
	teardown(bf);
	xbf_free(&bf->xb);
	pthread_mutex_destroy(&bf->gnt_lock);
	free(bf);
}

int pv_blkfront_info(struct pv_blkfront *bf, struct pv_blkfront_info *info)
{
	if (!bf || !info)
		return -EINVAL;
	/* Current as of now: a resize the back end published is taken here too. */
	if (bf->connected && !bf_failed(bf))
		bf_xenbus_events(bf);
	*info = bf->info;
	return 0;
}

