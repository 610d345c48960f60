/* SPDX-License-Identifier: MIT */
/*
 * blkfront_priv.h - what blkfront_xenbus.c (the handshake) and blkfront.c (the data
 * path) share.  Not installed; not part of the API.
 */
#ifndef PV_BLKFRONT_PRIV_H
#define PV_BLKFRONT_PRIV_H

#include <pthread.h>

#include "pv_blkfront.h"
#include "pv_blkif.h"
#include "pv_gref.h"
#include "xbfront.h"

#define BF_MAX_QUEUES        PV_BLKFRONT_MAX_QUEUES
#define BF_MAX_INDIRECT_SEGS 256u
/* Indirect descriptor pages a request of BF_MAX_INDIRECT_SEGS segments needs. */
#define BF_MAX_INDIRECT_PAGES \
	((BF_MAX_INDIRECT_SEGS + PV_BLKIF_SEGS_PER_INDIRECT_FRAME - 1) / PV_BLKIF_SEGS_PER_INDIRECT_FRAME)
#define BF_MAX_REQ_PAGES     (BF_MAX_INDIRECT_SEGS + BF_MAX_INDIRECT_PAGES)
/*
 * Granted pages a device may hold at once over all its queues (the persistent pools, or
 * pages granted per request).  slots x segments can reach 512 x 257 pages per queue, far
 * more than a guest should pin for one disk, so the pools are capped and a request waits
 * for pages as it waits for a ring slot.  1024 is also what Linux's gntalloc grants to
 * all of a domU's userspace together by default, so a pool that does not fit is halved
 * until it does (bf_data_init, pv_gref_pools_share).
 */
#define BF_DEVICE_PAGE_BUDGET 1024u

/* The ring request id: slot index in the low 16 bits, the slot's generation above. */
#define BF_ID_SLOT_BITS 16
#define BF_ID_SLOT_MASK ((1u << BF_ID_SLOT_BITS) - 1)

enum bf_slot_state {
	BF_SLOT_FREE,
	BF_SLOT_BUSY,   /* request on the ring, response awaited */
	BF_SLOT_STUCK,  /* completed, but its per-request grants are still mapped by the peer */
};

/* One ring request in flight; the ring id names it by index, never by address. */
struct bf_slot {
	struct pv_blkfront_io *io;
	uint64_t buf_off;      /* where in io->buf this request's data starts */
	uint32_t len;          /* data bytes (0 for flush, discard) */
	uint32_t gen;          /* bumped at each use; the high bits of the id */
	uint8_t state;         /* enum bf_slot_state */
	uint8_t op;            /* operation the response must echo */
	uint8_t alt_op;        /* also accepted (the inner op of an indirect request) */
	uint16_t npages;       /* data pages + indirect pages */
	uint16_t ndata;        /* data pages */
	void *shared;          /* per-request grants (no persistent pool): their pages */
	uint32_t *pages;       /* pool pages (persistent): indices into the pool */
};

struct bf_queue {
	/* The handle of the queue's port and grants: opts.queue_platform[i], or the device's. */
	struct pv_platform *p;
	struct pv_ring_front ring;
	void *ring_addr;
	unsigned int ring_pages;
	grant_ref_t ring_refs[PV_RING_MAX_PAGES];
	evtchn_port_t port;
	int port_ok;

	struct bf_slot *slots;  /* ring.nr_ents of them */
	uint32_t *free_slots;   /* stack of free slot indices */
	unsigned int nfree_slots;
	uint32_t *slot_pages;   /* nr_ents x bf->max_req_pages pool indices */
	unsigned int inflight;  /* BUSY slots */
	unsigned int stuck;     /* STUCK slots */

	/*
	 * The queue's grants (grant/pv_gref.h): with persistent grants a pool granted once at
	 * connect, every page reused; without, the budget of the pages granted per request.
	 */
	struct pv_gref_pool gp;

	int unpushed;           /* requests produced but not yet pushed */
};

/*
 * Who drives some queues, with the data path's state that is theirs alone: the whole
 * handle (every queue; pv_blkfront_submit(), _poll()), or one thread per queue
 * (pv_blkfront_queue_*()).  Nothing here is shared between two lanes' threads.
 */
struct bf_lane {
	struct pv_blkfront *bf;
	unsigned int first, n;          /* its queues: bf->q[first .. first + n - 1] */
	unsigned int next_q;
	struct pv_blkfront_io *backlog; /* the one io only partly on its rings */
	struct pv_blkfront_stats st;
	uint64_t next_xs_ns;            /* spinning: when to look at xenstore again */
	/* A queue's lane: a watch on the back end's state of its own (xb.p: the queue's). */
	struct xbf xb;
};

struct pv_blkfront {
	struct xbf xb;                 /* platform, paths, watch: the xenbus end (xbfront.h) */
	unsigned int devid;
	unsigned int timeout_ms;
	struct pv_blkfront_opts opts;

	/* negotiated */
	struct pv_blkfront_info info;
	unsigned int ring_order;       /* 0 with the legacy ring-ref node */
	int use_ring_order;
	unsigned int max_req_pages;    /* data + indirect pages of the largest request */
	unsigned int max_segs;         /* segments of the largest request */
	int fe_persistent;             /* what we wrote in feature-persistent */

	struct bf_queue q[BF_MAX_QUEUES];
	unsigned int nq;

	int connected;                 /* ring(s) usable */
	/*
	 * 0, or why the device is unusable (-EPROTO, -ENOTCONN).  Queue lanes' threads set it
	 * and read it together: only through bf_failed() and bf_set_failed().
	 */
	int failed;
	int fail_efd;                  /* eventfd, readable once failed (queue lanes); or -1 */
	struct bf_lane all;            /* the whole handle's lane */
	struct bf_lane lane[BF_MAX_QUEUES]; /* queue i's own, if it has a handle of its own */
	int own_handles;               /* some queue has a platform handle of its own */
	pthread_mutex_t gnt_lock;      /* xb.p's grant calls, with own_handles (blkfront.c) */
	struct pv_blkfront_stats st;   /* the handshake's (rings' grants, detach requests) */

	/* pv_blkfront_set_notify() */
	unsigned int notify;           /* enum pv_blkfront_notify */
	uint64_t spin_ns;              /* spin budget of one poll */
};

static inline int bf_failed(const struct pv_blkfront *bf)
{
	return __atomic_load_n(&bf->failed, __ATOMIC_ACQUIRE);
}

/* blkfront.c: data-path setup and teardown, called by the handshake. */
int bf_data_init(struct pv_blkfront *bf);
/* Frees the data path; 1 when the back end still maps pool pages (left to the platform). */
int bf_data_free(struct pv_blkfront *bf);
/* Completes every io still in flight with status (the rings are abandoned). */
int bf_fail_all(struct pv_blkfront *bf, int status);
/* Whether any lane has an io only partly on the rings. */
int bf_backlogged(const struct pv_blkfront *bf);
/* Queue lanes' watches and the failure eventfd, after the data path is up; and undone. */
int bf_lanes_init(struct pv_blkfront *bf);
void bf_lanes_free(struct pv_blkfront *bf);
/* Ends per-request grants left STUCK; returns how many remain. */
unsigned int bf_retry_stuck(struct pv_blkfront *bf);
unsigned int bf_inflight(const struct pv_blkfront *bf);

/*
 * blkfront_xenbus.c: re-reads "sectors" (online resize) through x (the device's xenbus end,
 * or a queue lane's).  The back end's state and the watch events are xbf_backend_state()
 * and xbf_drain_watch() (xbfront.h).
 */
void bf_reread_size(struct pv_blkfront *bf, struct xbf *x);
int bf_xenbus_events(struct pv_blkfront *bf);

#endif /* PV_BLKFRONT_PRIV_H */
