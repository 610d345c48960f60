/* SPDX-License-Identifier: MIT */
/*
 * pv_blkfront.h - libpvio-front's block front end: connects to a vbd's back end through
 * the XenBus handshake of io/blkif.h and moves block I/O over the shared ring(s).
 *
 * It works against any blkif back end: pvio-backd, Linux's xen-blkback, QEMU's qdisk.
 * It uses every feature the back end offers and the caller allows (multi-page rings,
 * persistent grants, indirect descriptors, multi-queue, flush, barrier, discard) and
 * treats the back end as untrusted: a response's id indexes a bounded table of requests
 * in flight, and every response is copied off the ring and checked before use.
 *
 * Data moves between the caller's buffers and granted pages: a persistent grant pool
 * (feature-persistent) or pages granted per request.  The caller's buffers need no
 * alignment; offsets and lengths must be multiples of the disk's sector-size.
 *
 * Threads: one thread at a time per handle, or any number through pv_blkfront_mt_io()
 * (below), or a thread per queue (pv_blkfront_queue_*, below).  Everything returns 0, a
 * count or -errno.
 */
#ifndef PV_BLKFRONT_H
#define PV_BLKFRONT_H

#include <stddef.h>
#include <stdint.h>

#include "pv_platform.h"

struct pv_blkfront;

#define PV_BLKFRONT_MAX_QUEUES 4u

struct pv_blkfront_opts {
	unsigned int max_queues;        /* 0: as many as the back end offers, up to 4 */
	unsigned int max_ring_page_order; /* 0..4; default (0 here means) as offered, up to 4 */
	int no_ring_order;              /* 1: force a one-page ring (ring-ref, no ring-page-order) */
	int no_persistent;              /* 1: do not use persistent grants */
	unsigned int max_indirect_segments; /* 0: as offered up to 256; set no_indirect to disable */
	int no_indirect;
	unsigned int timeout_ms;        /* for connect and disconnect; 0: 10000 */
	/*
	 * (Extension.)  A platform handle of its own for queue i, or NULL: queue i's event
	 * channel and a xenstore watch of its own are on it, so that a thread of its own can
	 * drive the queue (pv_blkfront_queue_*, below).  Grants stay on the handle given to
	 * pv_blkfront_open() (a domain has one grant table; without persistent grants the
	 * queues' threads take turns at it).  Each must be a distinct handle of the same
	 * domain, other than that one, and must outlive the blkfront handle.  Entries past the
	 * negotiated number of queues are unused.
	 */
	struct pv_platform *queue_platform[PV_BLKFRONT_MAX_QUEUES];
};

/*
 * Connects to the vbd whose frontend directory is device/vbd/<devid> of our domain (the
 * toolstack wrote it, with "backend" and "backend-id").  Returns 0 when the back end is
 * Connected, or -errno: -ENOENT no such device, -ETIMEDOUT, -EPROTO (the back end's nodes
 * are missing or out of range, or it went to Closing).
 */
int pv_blkfront_open(struct pv_platform *p, unsigned int devid, const struct pv_blkfront_opts *o,
		     struct pv_blkfront **out);

/*
 * Waits for requests in flight (completing them), goes Closing -> Closed, ends every grant
 * and unbinds the event channels.  Safe on NULL.
 */
void pv_blkfront_close(struct pv_blkfront *bf);

/*
 * (Extension.)  The close protocol of pv_blkfront_close() without freeing the handle, so
 * that the caller learns how it went: 0; -ETIMEDOUT when the back end did not reach
 * Closing in time (we went Closed anyway); -EBUSY when the back end still maps some of
 * our pages after a grace period (they are left to pv_platform_close()).  The handle
 * then only accepts pv_blkfront_info(), pv_blkfront_get_stats() and pv_blkfront_close().
 */
int pv_blkfront_disconnect(struct pv_blkfront *bf);

struct pv_blkfront_info {
	uint64_t sectors;               /* disk size in 512-byte sectors */
	unsigned int sector_size;       /* logical, bytes */
	unsigned int physical_sector_size;
	int readonly;                   /* VDISK_READONLY or mode r */
	int flush, barrier, discard, discard_secure;
	unsigned int discard_granularity, discard_alignment;
	int persistent;                 /* persistent grants in use */
	unsigned int indirect_segments; /* 0: indirect not in use */
	unsigned int queues;
	unsigned int ring_pages;        /* per queue */
	unsigned int ring_slots;        /* per queue */
};
int pv_blkfront_info(struct pv_blkfront *bf, struct pv_blkfront_info *info);

/* ---- asynchronous API ---------------------------------------------------------------- */

enum pv_blkfront_op {
	PV_BLKFRONT_READ,
	PV_BLKFRONT_WRITE,
	PV_BLKFRONT_FLUSH,   /* BLKIF_OP_FLUSH_DISKCACHE (or a barrier if only that exists) */
	PV_BLKFRONT_DISCARD,
};

struct pv_blkfront_io {
	enum pv_blkfront_op op;
	uint64_t offset;     /* bytes; multiple of sector_size */
	size_t len;          /* bytes; multiple of sector_size; 0 for flush */
	void *buf;           /* read into / write from; NULL for flush and discard */
	/* Called from pv_blkfront_poll() with 0 or -errno (-EIO for BLKIF_RSP_ERROR,
	 * -EOPNOTSUPP for BLKIF_RSP_EOPNOTSUPP). */
	void (*done)(struct pv_blkfront_io *io, int status);
	void *opaque;
	/* private to the library */
	uint64_t _priv[4];
};

/*
 * Queues io.  A large io is split over several ring requests as needed.  Returns 0, or
 * -EAGAIN when the rings are full (poll, then retry), -EINVAL (alignment, range past the
 * end, op not offered), -EROFS (write or discard on a read-only disk), -ENOTCONN.
 */
int pv_blkfront_submit(struct pv_blkfront *bf, struct pv_blkfront_io *io);

/* Pushes queued requests and notifies the back end once per ring (batching). */
int pv_blkfront_kick(struct pv_blkfront *bf);

/*
 * Processes responses, calling done() for each completed io; waits up to timeout_ms
 * (0: no wait, -1: forever) for at least one.  Returns the number of ios completed.
 * -EPROTO when the back end broke the protocol (the device is then unusable).
 * (Extension:) -ENOTCONN when the back end left Connected (went Closing).  In both
 * cases every io in flight has completed, with that status, before this returns, and
 * submit() returns the same error from then on.  Returns 0 at once when nothing is in
 * flight.  Also pushes requests not yet kicked.
 */
int pv_blkfront_poll(struct pv_blkfront *bf, int timeout_ms);

/*
 * The fd that becomes readable when responses may be ready (for the caller's poll loop).
 * -EINVAL when some queue has a platform handle of its own: its events arrive on that
 * handle's fd, not on this one (pv_blkfront_queue_fd()).
 */
int pv_blkfront_fd(struct pv_blkfront *bf);

/*
 * How pv_blkfront_poll() waits for responses (docs/benchmarking.md, "Polling").
 *
 *   EVENT   ask the back end for a notification (rsp_event) and sleep on the event
 *           channel: no CPU spent waiting, a wake-up per batch of responses.
 *   HYBRID  first spin on the rings (a pause instruction per look, the clock every few
 *           dozen looks) for up to budget_us (default PV_BLKFRONT_HYBRID_US), then as EVENT.
 *   POLL    spin while requests are in flight, up to budget_us (default
 *           PV_BLKFRONT_POLL_US, long: only a back end that stopped answering reaches
 *           it), then as EVENT.
 *
 * While spinning, rsp_event is not moved: the back end sees that we want no notification
 * and sends none, so a request's round trip costs no system call on our side.  When the
 * spin gives up, the usual final check (rsp_event moved, the ring looked at again) comes
 * before the sleep, so no response is missed.  A poll with timeout_ms 0 never spins, and
 * the spin never outlasts timeout_ms.  Xenstore (a back end that left, a resize) is looked
 * at about once a millisecond while spinning.  A spinning front end takes a core: with a
 * polling back end as well, two.  budget_us 0 picks the default; at most 10 s.
 * Returns 0, or -EINVAL.
 */
enum pv_blkfront_notify {
	PV_BLKFRONT_NOTIFY_EVENT,
	PV_BLKFRONT_NOTIFY_HYBRID,
	PV_BLKFRONT_NOTIFY_POLL,
};
#define PV_BLKFRONT_HYBRID_US 50u
#define PV_BLKFRONT_POLL_US   100000u
#define PV_BLKFRONT_SPIN_MAX_US 10000000u
int pv_blkfront_set_notify(struct pv_blkfront *bf, enum pv_blkfront_notify mode,
			   unsigned int budget_us);

/* ---- synchronous API ------------------------------------------------------------------ */

ssize_t pv_blkfront_pread(struct pv_blkfront *bf, void *buf, size_t len, uint64_t offset);
ssize_t pv_blkfront_pwrite(struct pv_blkfront *bf, const void *buf, size_t len, uint64_t offset);
int pv_blkfront_flush(struct pv_blkfront *bf);
int pv_blkfront_discard(struct pv_blkfront *bf, uint64_t offset, uint64_t len);

/*
 * (Extension.)  A Xen virtual-device name, xvd<letters>[<partition>] (xvdb, xvdb1, xvdaa),
 * or a plain number, to the devid of device/vbd/<devid> (docs/protocol.md).  Returns 0
 * and *devid, or -EINVAL.
 */
int pv_blkfront_parse_vdev(const char *s, unsigned int *devid);

/* ---- several threads (extension) ------------------------------------------------------ */

/*
 * A handle is one thread's at a time.  pv_blkfront_mt_start() hands it to an I/O thread
 * of its own; from then on any number of threads may call pv_blkfront_mt_io(), each
 * blocking until its io has completed, and their ios are on the rings together (queue
 * depth: as many as there are callers).  Nothing else may use the handle or its platform
 * handle until pv_blkfront_mt_stop(), which waits for the ios in flight, ends the thread
 * and gives the handle back (pv_blkfront_flush(), _close() ...).  Needs a connected
 * handle whose queues have no platform handles of their own (opts.queue_platform; -EINVAL).
 * Returns 0 or -errno (-ENOMEM, or pthread_create()'s error).
 */
struct pv_blkfront_mt;
int pv_blkfront_mt_start(struct pv_blkfront *bf, struct pv_blkfront_mt **out);

/*
 * One io through the I/O thread, from any thread: READ or WRITE (buf, len, offset as for
 * pv_blkfront_submit(); one io may be split over several ring requests), FLUSH (buf NULL,
 * len 0), DISCARD.  Returns 0 or -errno as done() would get it, or submit()'s error;
 * -ESHUTDOWN once pv_blkfront_mt_stop() has begun.
 */
int pv_blkfront_mt_io(struct pv_blkfront_mt *m, enum pv_blkfront_op op, void *buf, size_t len,
		      uint64_t offset);

struct pv_blkfront_mt_stats {
	uint64_t ios;                /* ios submitted */
	unsigned int max_inflight;   /* most ios in flight at once */
};

/* Call when no thread is in, or will enter, pv_blkfront_mt_io().  Safe on NULL. */
void pv_blkfront_mt_stop(struct pv_blkfront_mt *m, struct pv_blkfront_mt_stats *st);

/* ---- a thread per queue (extension) ------------------------------------------------- */

/*
 * A queue opened with a platform handle of its own (opts.queue_platform) can be driven by
 * a thread of its own: pv_blkfront_queue_submit() puts ios on that queue only, _kick()
 * notifies it, _poll() completes its responses and sleeps on its handle alone.  Threads
 * driving different queues run together without a lock between them; one queue is one
 * thread's at a time.  They behave as pv_blkfront_submit(), _kick() and _poll() do, on
 * one queue: the same checks, errors and notify mode (pv_blkfront_set_notify(), called
 * before the threads start).
 *
 * A back end that breaks the protocol on one queue fails the device: every queue's ios
 * complete with -EPROTO as their threads next look (a thread asleep in _poll() is woken).
 * A back end that leaves Connected, or a resize, is seen by each queue on its own xenstore
 * watch.
 *
 * The handle's other calls (pv_blkfront_submit(), _poll(), _info(), the synchronous
 * calls, _close() ...) use every queue: call them only while no thread is in a
 * pv_blkfront_queue_*() call.  Returns -EINVAL when queue has no platform handle of its
 * own or is not one of the negotiated queues.
 */
int pv_blkfront_queue_submit(struct pv_blkfront *bf, unsigned int queue, struct pv_blkfront_io *io);
int pv_blkfront_queue_kick(struct pv_blkfront *bf, unsigned int queue);
int pv_blkfront_queue_poll(struct pv_blkfront *bf, unsigned int queue, int timeout_ms);
/* The fd that becomes readable when the queue's responses may be ready. */
int pv_blkfront_queue_fd(struct pv_blkfront *bf, unsigned int queue);

/* ---- counters ------------------------------------------------------------------------- */

struct pv_blkfront_stats {
	uint64_t requests, responses;     /* ring requests and responses */
	uint64_t kicks, wakeups;          /* notifications sent, events received */
	uint64_t grants_shared;           /* grant operations (share + end) */
	uint64_t persistent_hits;         /* segments that reused a persistent grant */
	uint64_t indirect_requests;
	uint64_t bad_responses;           /* unknown id, bad op, overflowed producer */
	uint64_t errors;                  /* BLKIF_RSP_ERROR / EOPNOTSUPP */
	uint64_t detach_requests;         /* the toolstack asked us to let go while open:
					   * the disk was in use, we went on */
	uint64_t spin_expired;            /* spins that ran out of budget and slept */
};
void pv_blkfront_get_stats(struct pv_blkfront *bf, struct pv_blkfront_stats *st);
/*
 * (Extension.)  The counters of the ios submitted through pv_blkfront_queue_submit() on
 * queue, from the thread that drives it.  Returns 0 or -EINVAL.
 */
int pv_blkfront_queue_get_stats(struct pv_blkfront *bf, unsigned int queue,
				struct pv_blkfront_stats *st);

#endif /* PV_BLKFRONT_H */
