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
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "blkfront_priv.h"

/* XenBus states (io/xenbus.h). */
enum {
	XB_UNKNOWN = 0,
	XB_INITIALISING = 1,
	XB_INITWAIT = 2,
	XB_INITIALISED = 3,
	XB_CONNECTED = 4,
	XB_CLOSING = 5,
	XB_CLOSED = 6,
};

#define DOMID_FIRST_RESERVED 0x7FF0u
#define BF_PATH_MAX 1024u

/* ---- small helpers ----------------------------------------------------------------- */

int bf_parse_u64(const char *s, uint64_t *v)
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

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static char *path_of(const char *dir, const char *node)
{
	char *s;

	if (asprintf(&s, "%s/%s", dir, node) < 0)
		return NULL;
	return s;
}

/* Reads dir/node as a string.  -ENOENT when absent. */
static int read_str(struct pv_blkfront *bf, const char *dir, const char *node, char **val)
{
	char *path = path_of(dir, node);
	int rc;

	if (!path)
		return -ENOMEM;
	rc = pv_xs_read(bf->p, 0, path, val, NULL);
	free(path);
	return rc;
}

/*
 * Reads an unsigned node of the back end's.  Absent: *v = def, returns 0.  Present and a
 * plain decimal no larger than max: returns 1.  Anything else is -EPROTO: a peer that
 * writes garbage is not a peer to connect to.
 */
static int read_uint(struct pv_blkfront *bf, const char *dir, const char *node, uint64_t def,
		     uint64_t max, uint64_t *v)
{
	char *s = NULL;
	int rc = read_str(bf, dir, node, &s);

	if (rc == -ENOENT) {
		*v = def;
		return 0;
	}
	if (rc < 0)
		return rc;
	rc = bf_parse_u64(s, v) < 0 || *v > max ? -EPROTO : 1;
	free(s);
	return rc;
}

/*
 * Writes our state only while the node exists, in a transaction: once the toolstack has
 * removed the device (a forced detach), a plain write would re-create the directory and
 * leave the vdev looking in use (Linux's xenbus_switch_state takes the same care).
 * Returns 0 (also when the device is gone) or -errno.
 */
static int write_state(struct pv_blkfront *bf, int state)
{
	char *path = path_of(bf->fe_path, "state");
	int rc, tries;

	if (!path)
		return -ENOMEM;
	for (tries = 0; tries < 100; tries++) {
		pv_xs_txn_t t;
		char *old = NULL;

		rc = pv_xs_txn_start(bf->p, &t);
		if (rc < 0)
			break;
		rc = pv_xs_read(bf->p, t, path, &old, NULL);
		free(old);
		if (rc == 0)
			rc = pv_xs_printf(bf->p, t, path, "%d", state);
		if (rc < 0) {
			pv_xs_txn_end(bf->p, t, 1);
			if (rc == -ENOENT)
				rc = 0;
			break;
		}
		rc = pv_xs_txn_end(bf->p, t, 0);
		if (rc != -EAGAIN)
			break;
	}
	free(path);
	return rc;
}

/* The back end's state; XB_UNKNOWN when absent or unreadable (a peer's garbage included). */
int bf_backend_state(struct pv_blkfront *bf)
{
	uint64_t v;

	if (read_uint(bf, bf->be_path, "state", XB_UNKNOWN, 255, &v) < 0)
		return XB_UNKNOWN;
	return (int)v;
}

int bf_drain_watch(struct pv_blkfront *bf)
{
	char *path, *token;
	int ours = 0;

	/*
	 * Events for other tokens belong to other users of this platform handle; we cannot
	 * give them back, so a handle shared with another xenbus client loses them (the
	 * porting guide says to give each device its own handle when that matters).
	 */
	while (pv_xs_watch_next(bf->p, &path, &token) == 0) {
		if (strcmp(token, bf->token) == 0)
			ours = 1;
		free(path);
		free(token);
	}
	return ours;
}

void bf_reread_size(struct pv_blkfront *bf)
{
	uint64_t v;

	if (read_uint(bf, bf->be_path, "sectors", 0, UINT64_MAX >> PV_BLKIF_SECTOR_SHIFT, &v) == 1 &&
	    v > 0)
		bf->info.sectors = v;
}

/*
 * Waits until the back end's state satisfies want(state) (returns the state), until it
 * reaches a state in bad (returns -EPROTO), or until deadline (-ETIMEDOUT).  Reads the
 * state after every watch event rather than trusting the event: watches coalesce.
 */
static int wait_backend(struct pv_blkfront *bf, unsigned int want_mask, unsigned int bad_mask,
			uint64_t deadline)
{
	int fd = pv_xs_watch_fd(bf->p);

	for (;;) {
		int st = bf_backend_state(bf);
		uint64_t now;
		struct pollfd pfd;

		if (st >= 0 && st < 32 && (want_mask & (1u << st)))
			return st;
		if (st >= 0 && st < 32 && (bad_mask & (1u << st)))
			return -EPROTO;
		now = now_ms();
		if (now >= deadline)
			return -ETIMEDOUT;
		if (fd < 0) {
			/* No watch fd on this platform: poll the node, gently. */
			usleep(1000);
			continue;
		}
		pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
		/* Cap each sleep so a watch lost to another client costs 50 ms, not the timeout. */
		if (poll(&pfd, 1, (int)(deadline - now < 50 ? deadline - now : 50)) > 0)
			bf_drain_watch(bf);
	}
}

#define ST(x) (1u << (x))

/* ---- rings and nodes ----------------------------------------------------------------- */

static void free_rings(struct pv_blkfront *bf, int *busy)
{
	unsigned int i, tries;

	for (i = 0; i < BF_MAX_QUEUES; i++) {
		struct bf_queue *q = &bf->q[i];

		if (q->port_ok) {
			pv_evtchn_unbind(bf->p, q->port);
			q->port_ok = 0;
		}
		if (!q->ring_addr)
			continue;
		/* A back end that is slow to unmap gets a short grace period. */
		for (tries = 0;; tries++) {
			int rc = pv_gnt_unshare(bf->p, q->ring_addr, q->ring_pages);

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
		rc = pv_gnt_share(bf->p, bf->backend_id, npages, 1, q->ring_refs, &q->ring_addr);
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
		rc = pv_evtchn_alloc_unbound(bf->p, bf->backend_id, &q->port);
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

static int txn_printf(struct pv_blkfront *bf, pv_xs_txn_t t, const char *dir, const char *node,
		      unsigned int v)
{
	char path[BF_PATH_MAX + 64];

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, node) >= sizeof(path))
		return -ENAMETOOLONG;
	return pv_xs_printf(bf->p, t, path, "%u", v);
}

static int write_queue_nodes(struct pv_blkfront *bf, pv_xs_txn_t t, const char *dir,
			     const struct bf_queue *q)
{
	char node[32];
	unsigned int i;
	int rc;

	if (!bf->use_ring_order) {
		rc = txn_printf(bf, t, dir, "ring-ref", q->ring_refs[0]);
	} else {
		for (i = 0, rc = 0; i < q->ring_pages && rc == 0; i++) {
			snprintf(node, sizeof(node), "ring-ref%u", i);
			rc = txn_printf(bf, t, dir, node, q->ring_refs[i]);
		}
	}
	if (rc == 0)
		rc = txn_printf(bf, t, dir, "event-channel", q->port);
	return rc;
}

/* One attempt at the transaction; -EAGAIN from the end means "again". */
static int write_nodes_once(struct pv_blkfront *bf)
{
	char **names = NULL, dir[BF_PATH_MAX + 32], path[BF_PATH_MAX + 64];
	unsigned int n = 0, i;
	pv_xs_txn_t t;
	int rc;

	rc = pv_xs_txn_start(bf->p, &t);
	if (rc < 0)
		return rc;
	/* A previous connection's nodes (say queue-3/ of a 4-queue ring) would mislead. */
	rc = pv_xs_directory(bf->p, t, bf->fe_path, &names, &n);
	for (i = 0; rc == 0 && i < n; i++) {
		if (!is_our_node(names[i]))
			continue;
		snprintf(path, sizeof(path), "%s/%s", bf->fe_path, names[i]);
		rc = pv_xs_rm(bf->p, t, path);
		if (rc == -ENOENT)
			rc = 0;
	}
	free(names);
	if (rc == 0 && bf->use_ring_order)
		rc = txn_printf(bf, t, bf->fe_path, "ring-page-order", bf->ring_order);
	if (rc == 0 && bf->nq == 1) {
		rc = write_queue_nodes(bf, t, bf->fe_path, &bf->q[0]);
	} else if (rc == 0) {
		rc = txn_printf(bf, t, bf->fe_path, "multi-queue-num-queues", bf->nq);
		for (i = 0; rc == 0 && i < bf->nq; i++) {
			snprintf(dir, sizeof(dir), "%s/queue-%u", bf->fe_path, i);
			rc = write_queue_nodes(bf, t, dir, &bf->q[i]);
		}
	}
	if (rc == 0) {
		snprintf(path, sizeof(path), "%s/protocol", bf->fe_path);
		rc = pv_xs_printf(bf->p, t, path, "x86_64-abi");
	}
	if (rc == 0)
		rc = txn_printf(bf, t, bf->fe_path, "feature-persistent", (unsigned int)bf->fe_persistent);
	/* The state goes in the same transaction: the back end sees all of it or none. */
	if (rc == 0)
		rc = txn_printf(bf, t, bf->fe_path, "state", XB_INITIALISED);
	if (rc < 0) {
		pv_xs_txn_end(bf->p, t, 1);
		return rc == -EAGAIN ? -EIO : rc;
	}
	return pv_xs_txn_end(bf->p, t, 0);
}

static int write_nodes(struct pv_blkfront *bf)
{
	unsigned int tries;
	int rc;

	for (tries = 0; tries < 64; tries++) {
		rc = write_nodes_once(bf);
		if (rc != -EAGAIN)
			return rc;
		usleep(100u << (tries < 6 ? tries : 6));
	}
	return -EAGAIN;
}

/* ---- negotiation --------------------------------------------------------------------- */

/* What the back end offers before InitWait: ring geometry. */
static int read_ring_features(struct pv_blkfront *bf)
{
	const struct pv_blkfront_opts *o = &bf->opts;
	uint64_t order, queues;
	unsigned int want;
	int rc;

	rc = read_uint(bf, bf->be_path, "max-ring-page-order", 0, UINT32_MAX, &order);
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
	rc = read_uint(bf, bf->be_path, "multi-queue-max-queues", 1, UINT32_MAX, &queues);
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

	rc = read_uint(bf, bf->be_path, "sectors", 0, UINT64_MAX >> PV_BLKIF_SECTOR_SHIFT, &v);
	if (rc <= 0)
		return rc < 0 ? rc : -EPROTO; /* a disk of no known size */
	in->sectors = v;
	rc = read_uint(bf, bf->be_path, "sector-size", 512, UINT32_MAX, &ss);
	if (rc < 0)
		return rc;
	/* The front end lays requests out in whole pages: 512 .. 4096, as Linux's block layer. */
	if (!is_pow2(ss) || ss < 512 || ss > PV_PAGE_SIZE)
		return -EPROTO;
	rc = read_uint(bf, bf->be_path, "physical-sector-size", ss, UINT32_MAX, &pss);
	if (rc < 0)
		return rc;
	if (!is_pow2(pss) || pss < ss || pss > (1u << 20))
		return -EPROTO;
	in->sector_size = (unsigned int)ss;
	in->physical_sector_size = (unsigned int)pss;
	rc = read_uint(bf, bf->be_path, "info", 0, UINT32_MAX, &info);
	if (rc < 0)
		return rc;
	in->readonly = !!(info & VDISK_READONLY);
	if (read_str(bf, bf->be_path, "mode", &mode) == 0) {
		if (strcmp(mode, "r") == 0)
			in->readonly = 1;
		free(mode);
	}

#define BOOL_NODE(name, field)							\
	do {									\
		rc = read_uint(bf, bf->be_path, name, 0, UINT32_MAX, &v);	\
		if (rc < 0)							\
			return rc;						\
		field = v != 0;							\
	} while (0)
	BOOL_NODE("feature-flush-cache", in->flush);
	BOOL_NODE("feature-barrier", in->barrier);
	BOOL_NODE("feature-discard", in->discard);
	if (in->discard) {
		BOOL_NODE("discard-secure", in->discard_secure);
		rc = read_uint(bf, bf->be_path, "discard-granularity", ss, UINT32_MAX, &v);
		if (rc < 0)
			return rc;
		in->discard_granularity = (unsigned int)v;
		rc = read_uint(bf, bf->be_path, "discard-alignment", 0, UINT32_MAX, &v);
		if (rc < 0)
			return rc;
		in->discard_alignment = (unsigned int)v;
	}
	BOOL_NODE("feature-persistent", in->persistent);
#undef BOOL_NODE
	in->persistent = in->persistent && bf->fe_persistent;

	rc = read_uint(bf, bf->be_path, "feature-max-indirect-segments", 0, UINT32_MAX, &v);
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

static int read_frontend(struct pv_blkfront *bf)
{
	uint64_t id;
	char *s = NULL;
	int rc;

	rc = read_str(bf, bf->fe_path, "backend", &s);
	if (rc < 0)
		return rc == -ENOENT || rc == -EACCES ? -ENOENT : rc;
	if (s[0] != '/' || strlen(s) >= BF_PATH_MAX) {
		free(s);
		return -EPROTO;
	}
	bf->be_path = s;
	rc = read_uint(bf, bf->fe_path, "backend-id", UINT64_MAX, DOMID_FIRST_RESERVED - 1, &id);
	if (rc < 0)
		return rc;
	if (rc == 0)
		return -ENOENT;
	bf->backend_id = (domid_t)id;
	return 0;
}

/* Closing -> Closed, grants ended, ports unbound; safe on a half-built device and twice. */
static int teardown(struct pv_blkfront *bf)
{
	uint64_t deadline = now_ms() + bf->timeout_ms;
	int busy = 0, rc = 0;

	if (bf->connected && !bf->failed) {
		/* Finish what is in flight: the back end answers before it closes. */
		while ((bf_inflight(bf) || bf->backlog) && !bf->failed) {
			uint64_t now = now_ms();

			/* one clock reading: a second one could pass the deadline, and poll(-1) */
			if (now >= deadline || pv_blkfront_poll(bf, (int)(deadline - now)) < 0)
				break;
		}
	}
	if (bf_inflight(bf) || bf->backlog)
		bf_fail_all(bf, -ENOTCONN);
	bf->connected = 0;
	if (bf->be_path && bf->fe_path && !bf->closed) {
		bf->closed = 1;
		write_state(bf, XB_CLOSING);
		/* Tolerate a back end that is gone or never started (no state). */
		rc = wait_backend(bf, ST(XB_UNKNOWN) | ST(XB_CLOSING) | ST(XB_CLOSED), 0, deadline);
		write_state(bf, XB_CLOSED);
		rc = rc < 0 ? rc : 0;
	}
	if (bf_retry_stuck(bf))
		busy = 1;
	if (bf_data_free(bf))
		busy = 1;
	free_rings(bf, &busy);
	if (bf->watching) {
		pv_xs_unwatch(bf->p, bf->be_path, bf->token);
		bf_drain_watch(bf);
		bf->watching = 0;
	}
	return busy ? -EBUSY : rc;
}

int pv_blkfront_open(struct pv_platform *p, unsigned int devid, const struct pv_blkfront_opts *o,
		     struct pv_blkfront **out)
{
	struct pv_blkfront *bf;
	uint64_t deadline;
	int rc;

	if (!p || !out)
		return -EINVAL;
	*out = NULL;
	bf = calloc(1, sizeof(*bf));
	if (!bf)
		return -ENOMEM;
	bf->p = p;
	bf->devid = devid;
	if (o)
		bf->opts = *o;
	bf->timeout_ms = bf->opts.timeout_ms ? bf->opts.timeout_ms : 10000;
	deadline = now_ms() + bf->timeout_ms;
	bf->fe_persistent = !bf->opts.no_persistent;
	if (asprintf(&bf->fe_path, "/local/domain/%u/device/vbd/%u", (unsigned int)pv_platform_domid(p),
		     devid) < 0) {
		bf->fe_path = NULL;
		rc = -ENOMEM;
		goto fail;
	}
	rc = read_frontend(bf);
	if (rc < 0)
		goto fail_quiet;
	snprintf(bf->token, sizeof(bf->token), "pv_blkfront/%u/%p", devid, (void *)bf);
	rc = pv_xs_watch(p, bf->be_path, bf->token);
	if (rc < 0)
		goto fail_quiet;
	bf->watching = 1;

	/*
	 * A back end still Initialised or Connected holds a connection we no longer have (our
	 * process restarted): walk it through Closing -> Closed first, as a reconnect would.
	 */
	rc = bf_backend_state(bf);
	if (rc == XB_INITIALISED || rc == XB_CONNECTED) {
		write_state(bf, XB_CLOSING);
		wait_backend(bf, ST(XB_UNKNOWN) | ST(XB_CLOSING) | ST(XB_CLOSED) | ST(XB_INITWAIT), 0,
			     deadline);
		write_state(bf, XB_CLOSED);
		wait_backend(bf, ST(XB_UNKNOWN) | ST(XB_CLOSED) | ST(XB_INITWAIT), 0, deadline);
	}
	rc = write_state(bf, XB_INITIALISING);
	if (rc < 0)
		goto fail_quiet;
	rc = wait_backend(bf, ST(XB_INITWAIT), 0, deadline);
	if (rc < 0)
		goto fail;
	rc = read_ring_features(bf);
	if (rc < 0)
		goto fail;
	rc = alloc_rings(bf);
	if (rc < 0)
		goto fail;
	rc = write_nodes(bf);
	if (rc < 0)
		goto fail;
	/* Closing or Closed now means the back end refused what we wrote. */
	rc = wait_backend(bf, ST(XB_CONNECTED), ST(XB_CLOSING) | ST(XB_CLOSED), deadline);
	if (rc < 0)
		goto fail;
	rc = read_connect_info(bf);
	if (rc < 0)
		goto fail;
	rc = bf_data_init(bf);
	if (rc < 0)
		goto fail;
	bf->connected = 1;
	rc = write_state(bf, XB_CONNECTED);
	if (rc < 0)
		goto fail;
	*out = bf;
	return 0;

fail_quiet:
	/* Our state node was not touched yet: do not announce a close. */
	if (bf->watching) {
		pv_xs_unwatch(p, bf->be_path, bf->token);
		bf_drain_watch(bf);
		bf->watching = 0;
	}
	free(bf->be_path);
	bf->be_path = NULL;
fail:
	bf->timeout_ms = bf->timeout_ms < 2000 ? bf->timeout_ms : 2000;
	teardown(bf);
	free(bf->be_path);
	free(bf->fe_path);
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
	free(bf->be_path);
	free(bf->fe_path);
	free(bf);
}

int pv_blkfront_info(struct pv_blkfront *bf, struct pv_blkfront_info *info)
{
	if (!bf || !info)
		return -EINVAL;
	/* Current as of now: a resize the back end published is taken here too. */
	if (bf->connected && !bf->failed)
		bf_xenbus_events(bf);
	*info = bf->info;
	return 0;
}

void pv_blkfront_get_stats(struct pv_blkfront *bf, struct pv_blkfront_stats *st)
{
	if (bf && st)
		*st = bf->st;
}
