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
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "netfront_priv.h"
#include "pv_gref.h"

enum {
	XB_UNKNOWN = 0,
	XB_INITIALISING = 1,
	XB_INITWAIT = 2,
	XB_INITIALISED = 3,
	XB_CONNECTED = 4,
	XB_CLOSING = 5,
	XB_CLOSED = 6,
};
#define ST(x) (1u << (x))

#define DOMID_FIRST_RESERVED 0x7FF0u
#define NF_PATH_MAX 1024u

/* ---- grants ------------------------------------------------------------------------ */

/*
 * A queue's rings and its tx and rx pages are granted once, at connect, each as one array
 * (the ring index names the page), so netfront needs no allocator of grant/'s pools: only
 * its unshare with a grace period.
 */
int nf_gnt_alloc(struct pv_netfront *nf, unsigned int count, int writable, grant_ref_t *refs,
		 void **addr)
{
	return pv_gnt_share(nf->p, nf->backend_id, count, writable, refs, addr);
}

/* Ends the grants of count pages, giving a slow back end a short grace period to unmap. */
int nf_gnt_free(struct pv_netfront *nf, void *addr, unsigned int count)
{
	return pv_gref_unshare_retry(nf->p, addr, count, 200);
}

/* ---- small helpers ----------------------------------------------------------------- */

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int parse_u64(const char *s, uint64_t *v)
{
	uint64_t r = 0;

	if (!s || !*s)
		return -EINVAL;
	for (; *s; s++) {
		unsigned int d = (unsigned char)*s - '0';

		if (d > 9 || r > (UINT64_MAX - d) / 10)
			return -EINVAL;
		r = r * 10 + d;
	}
	*v = r;
	return 0;
}

static int read_str(struct pv_netfront *nf, const char *dir, const char *node, char **val)
{
	char *path;
	int rc;

	if (asprintf(&path, "%s/%s", dir, node) < 0)
		return -ENOMEM;
	rc = pv_xs_read(nf->p, 0, path, val, NULL);
	free(path);
	return rc;
}

/* Absent: *v = def, 0.  A plain decimal <= max: 1.  Anything else: -EPROTO. */
static int read_uint(struct pv_netfront *nf, const char *dir, const char *node, uint64_t def,
		     uint64_t max, uint64_t *v)
{
	char *s = NULL;
	int rc = read_str(nf, dir, node, &s);

	if (rc == -ENOENT) {
		*v = def;
		return 0;
	}
	if (rc < 0)
		return rc;
	rc = parse_u64(s, v) < 0 || *v > max ? -EPROTO : 1;
	free(s);
	return rc;
}

/* Writes our state only while the node exists (a forced detach must not re-create it). */
static int write_state(struct pv_netfront *nf, int state)
{
	char *path;
	int rc = 0, tries;

	if (asprintf(&path, "%s/state", nf->fe_path) < 0)
		return -ENOMEM;
	for (tries = 0; tries < 100; tries++) {
		pv_xs_txn_t t;
		char *old = NULL;

		rc = pv_xs_txn_start(nf->p, &t);
		if (rc < 0)
			break;
		rc = pv_xs_read(nf->p, t, path, &old, NULL);
		free(old);
		if (rc == 0)
			rc = pv_xs_printf(nf->p, t, path, "%d", state);
		if (rc < 0) {
			pv_xs_txn_end(nf->p, t, 1);
			if (rc == -ENOENT)
				rc = 0;
			break;
		}
		rc = pv_xs_txn_end(nf->p, t, 0);
		if (rc != -EAGAIN)
			break;
	}
	free(path);
	return rc;
}

int nf_backend_state(struct pv_netfront *nf)
{
	uint64_t v;

	if (read_uint(nf, nf->be_path, "state", XB_UNKNOWN, 255, &v) < 0)
		return XB_UNKNOWN;
	return (int)v;
}

int nf_drain_watch(struct pv_netfront *nf)
{
	char *path, *token;
	int ours = 0;

	/* Other tokens belong to other users of this handle (see the porting guide). */
	while (pv_xs_watch_next(nf->p, &path, &token) == 0) {
		if (strcmp(token, nf->token) == 0)
			ours = 1;
		free(path);
		free(token);
	}
	return ours;
}

/* Waits until the back end's state is in want (returns it) or in bad (-EPROTO). */
static int wait_backend(struct pv_netfront *nf, unsigned int want, unsigned int bad, uint64_t deadline)
{
	int fd = pv_xs_watch_fd(nf->p);

	for (;;) {
		int st = nf_backend_state(nf);
		uint64_t now;
		struct pollfd pfd;

		if (st >= 0 && st < 32 && (want & ST(st)))
			return st;
		if (st >= 0 && st < 32 && (bad & ST(st)))
			return -EPROTO;
		now = now_ms();
		if (now >= deadline)
			return -ETIMEDOUT;
		if (fd < 0) {
			usleep(1000);
			continue;
		}
		pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
		/* watches coalesce and another client may take ours: look again every 50 ms */
		if (poll(&pfd, 1, (int)(deadline - now < 50 ? deadline - now : 50)) > 0)
			nf_drain_watch(nf);
	}
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
			pv_evtchn_unbind(nf->p, q->rx_port);
		if (q->tx_port_ok)
			pv_evtchn_unbind(nf->p, q->tx_port);
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
		rc = pv_evtchn_alloc_unbound(nf->p, nf->backend_id, &q->tx_port);
		if (rc < 0)
			return rc;
		q->tx_port_ok = 1;
		if (nf->info.split_evtchn) {
			rc = pv_evtchn_alloc_unbound(nf->p, nf->backend_id, &q->rx_port);
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

static int txn_u(struct pv_netfront *nf, pv_xs_txn_t t, const char *dir, const char *node, unsigned int v)
{
	char path[NF_PATH_MAX + 64];

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, node) >= sizeof(path))
		return -ENAMETOOLONG;
	return pv_xs_printf(nf->p, t, path, "%u", v);
}

static int write_queue_nodes(struct pv_netfront *nf, pv_xs_txn_t t, const char *dir,
			     const struct nf_queue *q)
{
	int rc = txn_u(nf, t, dir, "tx-ring-ref", q->tx_ring_ref);

	if (rc == 0)
		rc = txn_u(nf, t, dir, "rx-ring-ref", q->rx_ring_ref);
	if (rc == 0 && nf->info.split_evtchn) {
		rc = txn_u(nf, t, dir, "event-channel-tx", q->tx_port);
		if (rc == 0)
			rc = txn_u(nf, t, dir, "event-channel-rx", q->rx_port);
	} else if (rc == 0) {
		rc = txn_u(nf, t, dir, "event-channel", q->tx_port);
	}
	return rc;
}

static int write_nodes_once(struct pv_netfront *nf)
{
	char **names = NULL, dir[NF_PATH_MAX + 32], path[NF_PATH_MAX + 64];
	unsigned int n = 0, i;
	pv_xs_txn_t t;
	int rc, csum = !nf->opts.no_csum_offload;

	rc = pv_xs_txn_start(nf->p, &t);
	if (rc < 0)
		return rc;
	/* a previous connection's queue-1/ would mislead a back end that reads it */
	rc = pv_xs_directory(nf->p, t, nf->fe_path, &names, &n);
	for (i = 0; rc == 0 && i < n; i++) {
		if (!is_our_node(names[i]))
			continue;
		snprintf(path, sizeof(path), "%s/%s", nf->fe_path, names[i]);
		rc = pv_xs_rm(nf->p, t, path);
		if (rc == -ENOENT)
			rc = 0;
	}
	free(names);
	/* As Linux's netfront: one queue flat, several under queue-N/ with the count. */
	if (rc == 0 && nf->nq == 1) {
		rc = write_queue_nodes(nf, t, nf->fe_path, &nf->q[0]);
	} else if (rc == 0) {
		rc = txn_u(nf, t, nf->fe_path, "multi-queue-num-queues", nf->nq);
		for (i = 0; rc == 0 && i < nf->nq; i++) {
			snprintf(dir, sizeof(dir), "%s/queue-%u", nf->fe_path, i);
			rc = write_queue_nodes(nf, t, dir, &nf->q[i]);
		}
	}
	if (rc == 0)
		rc = txn_u(nf, t, nf->fe_path, "request-rx-copy", 1);
	if (rc == 0) /* Linux's netback refuses a front end without it */
		rc = txn_u(nf, t, nf->fe_path, "feature-rx-notify", 1);
	if (rc == 0) /* we take multi-slot rx frames */
		rc = txn_u(nf, t, nf->fe_path, "feature-sg", 1);
	if (rc == 0)
		rc = txn_u(nf, t, nf->fe_path, "feature-gso-tcpv4", (unsigned int)nf->fe_gso);
	if (rc == 0)
		rc = txn_u(nf, t, nf->fe_path, "feature-gso-tcpv6", (unsigned int)nf->fe_gso);
	if (rc == 0)
		rc = txn_u(nf, t, nf->fe_path, "feature-ipv6-csum-offload", (unsigned int)csum);
	if (rc == 0)
		rc = txn_u(nf, t, nf->fe_path, "feature-no-csum-offload", (unsigned int)!csum);
	/* Linux's netfront goes from Initialising straight to Connected; in the same
	 * transaction the back end sees all of it or none. */
	if (rc == 0)
		rc = txn_u(nf, t, nf->fe_path, "state", XB_CONNECTED);
	if (rc < 0) {
		pv_xs_txn_end(nf->p, t, 1);
		return rc == -EAGAIN ? -EIO : rc;
	}
	return pv_xs_txn_end(nf->p, t, 0);
}

static int write_nodes(struct pv_netfront *nf)
{
	unsigned int tries;
	int rc = -EAGAIN;

	for (tries = 0; tries < 64 && rc == -EAGAIN; tries++) {
		rc = write_nodes_once(nf);
		if (rc == -EAGAIN)
			usleep(100u << (tries < 6 ? tries : 6));
	}
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
		rc = read_uint(nf, nf->be_path, node, 0, UINT32_MAX, &var);		\
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
	rc = read_uint(nf, nf->be_path, "multi-queue-max-queues", 1, UINT32_MAX, &mq);
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

static int read_frontend(struct pv_netfront *nf)
{
	uint64_t id;
	char *s = NULL;
	int rc;

	rc = read_str(nf, nf->fe_path, "backend", &s);
	if (rc < 0)
		return rc == -ENOENT || rc == -EACCES ? -ENOENT : rc;
	if (s[0] != '/' || strlen(s) >= NF_PATH_MAX) {
		free(s);
		return -EPROTO;
	}
	nf->be_path = s;
	rc = read_uint(nf, nf->fe_path, "backend-id", UINT64_MAX, DOMID_FIRST_RESERVED - 1, &id);
	if (rc < 0)
		return rc;
	if (rc == 0)
		return -ENOENT;
	nf->backend_id = (domid_t)id;
	rc = read_str(nf, nf->fe_path, "mac", &s);
	if (rc < 0)
		return rc == -ENOENT ? -EPROTO : rc;
	rc = parse_mac(s, nf->info.mac);
	free(s);
	return rc;
}

/* Closing -> Closed, grants ended, ports unbound; safe on a half-built device and twice. */
static int teardown(struct pv_netfront *nf)
{
	uint64_t deadline, grace = now_ms() + (nf->timeout_ms < 500 ? nf->timeout_ms : 500);
	int busy = 0, rc = 0;

	if (nf->connected && !nf->failed) {
		/*
		 * Give what we sent a moment to go out; a frame the back end never answers is
		 * lost as a network loses frames, and must not hold up the close.
		 */
		pv_netfront_kick(nf);
		while (nf_tx_inflight(nf) && !nf->failed) {
			uint64_t now = now_ms();

			if (now >= grace || pv_netfront_poll(nf, (int)(grace - now), NULL, NULL) < 0)
				break;
		}
	}
	deadline = now_ms() + nf->timeout_ms;
	nf->connected = 0;
	if (nf->be_path && nf->fe_path && !nf->closed) {
		nf->closed = 1;
		write_state(nf, XB_CLOSING);
		rc = wait_backend(nf, ST(XB_UNKNOWN) | ST(XB_CLOSING) | ST(XB_CLOSED), 0, deadline);
		write_state(nf, XB_CLOSED);
		rc = rc < 0 ? rc : 0;
	}
	if (nf_data_free(nf))
		busy = 1;
	free_rings(nf, &busy);
	if (nf->watching) {
		pv_xs_unwatch(nf->p, nf->be_path, nf->token);
		nf_drain_watch(nf);
		nf->watching = 0;
	}
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
	nf->p = p;
	nf->devid = devid;
	if (o)
		nf->opts = *o;
	nf->timeout_ms = nf->opts.timeout_ms ? nf->opts.timeout_ms : 10000;
	deadline = now_ms() + nf->timeout_ms;
	nf->fe_gso = !nf->opts.no_gso;
	if (asprintf(&nf->fe_path, "/local/domain/%u/device/vif/%u", (unsigned int)pv_platform_domid(p),
		     devid) < 0) {
		nf->fe_path = NULL;
		rc = -ENOMEM;
		goto fail_quiet;
	}
	rc = read_frontend(nf);
	if (rc < 0)
		goto fail_quiet;
	snprintf(nf->token, sizeof(nf->token), "pv_netfront/%u/%p", devid, (void *)nf);
	rc = pv_xs_watch(p, nf->be_path, nf->token);
	if (rc < 0)
		goto fail_quiet;
	nf->watching = 1;

	/* A back end still connected to our previous life: walk it through Closing first. */
	rc = nf_backend_state(nf);
	if (rc == XB_INITIALISED || rc == XB_CONNECTED) {
		write_state(nf, XB_CLOSING);
		wait_backend(nf, ST(XB_UNKNOWN) | ST(XB_CLOSING) | ST(XB_CLOSED) | ST(XB_INITWAIT), 0,
			     deadline);
		write_state(nf, XB_CLOSED);
		wait_backend(nf, ST(XB_UNKNOWN) | ST(XB_CLOSED) | ST(XB_INITWAIT), 0, deadline);
	}
	rc = write_state(nf, XB_INITIALISING);
	if (rc < 0)
		goto fail_quiet;
	rc = wait_backend(nf, ST(XB_INITWAIT), 0, deadline);
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
	rc = write_nodes(nf);
	if (rc < 0)
		goto fail;
	rc = wait_backend(nf, ST(XB_CONNECTED), ST(XB_CLOSING) | ST(XB_CLOSED), deadline);
	if (rc < 0)
		goto fail;
	nf->connected = 1;
	*out = nf;
	return 0;

fail_quiet:
	if (nf->watching) {
		pv_xs_unwatch(p, nf->be_path, nf->token);
		nf_drain_watch(nf);
		nf->watching = 0;
	}
	free(nf->be_path);
	nf->be_path = NULL;
fail:
	nf->timeout_ms = nf->timeout_ms < 2000 ? nf->timeout_ms : 2000;
	teardown(nf);
	free(nf->be_path);
	free(nf->fe_path);
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
	free(nf->be_path);
	free(nf->fe_path);
	free(nf);
}

int pv_netfront_info(struct pv_netfront *nf, struct pv_netfront_info *info)
{
	if (!nf || !info)
		return -EINVAL;
	*info = nf->info;
	return 0;
}
