/* SPDX-License-Identifier: MIT */
/*
 * pv_blkback.h - one vbd as pvio-backd holds it: device, queues, request pool.
 * Internal to backend/ (and tests/backend, which checks the pure parts).
 */
#ifndef PV_BLKBACK_H
#define PV_BLKBACK_H

#include "pv_backd.h"
#include "pv_gcache.h"
#include "pv_gcopy.h"

struct io_uring;

/* One request from intake to response; a pool of them is sized to the ring at connect. */
struct pv_blkback_req {
	struct pv_blkback_queue *q;
	struct pv_blkback_req *next_free;
	uint64_t id;             /* the front end's tag, echoed */
	uint64_t sector;
	uint64_t nr_sectors;     /* discard */
	uint64_t bytes;          /* data bytes the I/O must move */
	uint8_t op;              /* wire operation, echoed */
	uint8_t kind;            /* enum pv_blkback_kind */
	uint8_t pending;         /* io_uring completions still to come */
	uint8_t copy_back;       /* copy mode read: bounce -> guest pages at completion */
	int16_t status;          /* BLKIF_RSP_* so far */
	int jslot;               /* its restart-journal entry (-1: no journal) */
	unsigned int niov;
	void *map_addr;          /* per-request grant mapping (no persistent slot) */
	unsigned int map_count;
	struct iovec *iov;             /* [max_segs] */
	struct pv_gnt_copy_seg *cseg;  /* copy mode: [max_segs], copy's storage */
	struct pv_gcopy_batch copy;    /* copy mode: the request's grant copies */
	unsigned int nbounce;          /* copy mode: pages from the device's pool (cseg[i]) */
	struct pv_gcache_pins pins;    /* persistent chunks this request holds busy */
};

struct pv_blkback_queue {
	struct pv_blkback_dev *dev;
	unsigned int idx;
	struct pv_ring_back ring;
	void *ring_addr;
	unsigned int ring_pages;
	evtchn_port_t port;        /* ours */
	evtchn_port_t remote_port; /* the front end's */
	unsigned int bound;
	unsigned int stopped;      /* takes no more requests (broken, SIGTERM, drained) */
	unsigned int have_stop_at; /* disconnecting: take stop_left more requests, then stop */
	unsigned int stop_left;
	unsigned int need_push;    /* responses produced, not yet published */
	unsigned int inflight;
	unsigned int max_segs;     /* per request: 11, or the indirect maximum */
	struct pv_blkback_req *reqs, *free;
	struct iovec *iovs;
	struct pv_gnt_copy_seg *csegs;
	/* Scratch of one request's setup (single-threaded, never held across passes). */
	struct blkif_request_segment *segs;
	grant_ref_t *refs;
	void **pages;
	uint8_t *ind_buf;
	/*
	 * Map mode: taken requests whose pages (not persistent) wait to be mapped together,
	 * by map_flush() before the pass submits, or before any later request is queued (so
	 * that the I/O is queued in ring order).  Never held across passes.
	 */
	struct pv_blkback_req **mb_req;    /* [PV_BLKBACK_MAP_BATCH_REQS] */
	unsigned int *mb_count;            /* [PV_BLKBACK_MAP_BATCH_REQS]: pages of each */
	void **mb_addr;                    /* [PV_BLKBACK_MAP_BATCH_REQS] */
	grant_ref_t *mb_refs;              /* [PV_BLKBACK_MAP_BATCH_PAGES] */
	uint16_t *mb_seg;                  /* [PV_BLKBACK_MAP_BATCH_PAGES]: the page's segment */
	uint16_t *mb_off;                  /* [PV_BLKBACK_MAP_BATCH_PAGES]: its data's offset */
	unsigned int mb_n, mb_pages;
	int mb_write;
	/* Persistent grants (grant/pv_gcache.h); gc.tab NULL: none negotiated. */
	struct pv_gcache gc;
	/* Restart journal (pv_blkback_journal.c); jh NULL: none (the log said why). */
	struct pv_bj_hdr *jh;
	struct pv_bj_ent *je;
	size_t jlen;
	char *jpath;
	unsigned int jn;           /* entries: nr_ents */
	uint16_t *jfree;           /* free entries (stack) */
	unsigned int njfree;
	uint16_t *junpub;          /* entries whose response is written, not yet published */
	unsigned int njunpub;
	uint16_t *jreplay;         /* after a restart: entries to execute again, in ring order */
	unsigned int njreplay;
	uint32_t *pin_pool;            /* [nr_ents * max_segs]: the requests' pins */
	/* Fairness (pv_blkback_sched.c) */
	struct pv_blkback_queue *run_next, *storm_next;
	unsigned int on_runq;
	unsigned int storm_masked;  /* on d->storm_list, port masked until storm_until_ns */
	unsigned int waiting;       /* requests left on the ring for bounce pages or behind a replay */
	unsigned int spurious;      /* notifications in a row that brought no request */
	pv_ring_idx_t note_cons;    /* req_cons when the last notification was handled */
	unsigned int storm_level;   /* backoff exponent of the next mask */
	uint64_t storm_until_ns;
	/* Busy-polling: on d->poll_head, req_event not re-armed, until poll_until_ns. */
	struct pv_blkback_queue *poll_next;
	unsigned int on_poll;
	uint64_t poll_until_ns;
	/*
	 * The queue's data path belongs to one thread, w (pv_backd_worker.c), with all it
	 * needs: its own io_uring, bounce pool, counters and unmap batch, so that the queues
	 * of one disk are served by as many threads, with no lock between them.  The main
	 * thread reaches it only through pv_backd_worker_call().
	 */
	struct pv_backd *w;
	struct io_uring *uring;
	int uring_efd;
	unsigned int barriers;     /* barriers in the io_uring: later writes wait behind them */
	unsigned int drain_wait;   /* intake stopped: the drain's end must wake the state machine */
	unsigned int submit_retry; /* io_uring_submit failed: pv_blkback_sched.c retries */
	struct pv_blkback_limits lim; /* the device's, as this thread checks requests against */
	struct pv_blkback_stats st;   /* added to the device's when the queue goes */
	struct pv_backd_ratelimit rl; /* the data path's messages */
	/* --test-reorder: finished requests held back, answered later in random order. */
	struct pv_blkback_req **held;
	unsigned int nheld, held_max;
	/* Copy mode: the queue's share of the device's bounce memory (pv_blkback_bounce.c) */
	uint8_t *bounce;
	uint32_t *bounce_free;     /* stack of free page indices */
	unsigned int bounce_pages, bounce_nfree;
	unsigned int bounce_dirty; /* pages used since the last release */
	uint64_t bounce_idle_mark; /* st.requests at the last tick */
	/* Finished requests' grant mappings, unmapped in one call before responses go out. */
	void *unmap_addr[PV_BLKBACK_UNMAP_BATCH];
	unsigned int unmap_count[PV_BLKBACK_UNMAP_BATCH];
	unsigned int nunmap;
};

enum pv_blkback_driver { PV_BLKBACK_DRV_FILE, PV_BLKBACK_DRV_NULL };

struct pv_blkback_dev {
	/*
	 * d: the main thread's daemon, which runs the state machine; each queue's data path
	 * is the thread's in q->w.  What the queues read of the device (target, limits,
	 * mode) is written before they connect and not while they are connected, except
	 * through pv_backd_worker_call().
	 */
	struct pv_backd *d;
	/* A worker's news for the state machine (PV_BLKBACK_ASYNC_*), taken by the main thread. */
	_Atomic unsigned int async;
	struct pv_blkback_dev *next;
	uint64_t uid;
	unsigned int domid, devid;
	char be_path[96];
	char fe_path[160];
	char token[40];
	unsigned int fe_watched;
	char *params;
	char mode[4];
	char type[16];
	unsigned int ignored;   /* a type we do not serve: never touched */
	unsigned int opened;    /* target open, features written */
	unsigned int connected; /* rings mapped */
	unsigned int dirty;     /* run the state machine again */
	unsigned int removed;   /* backend directory gone: free once drained */
	unsigned int detach;    /* online=0 or state 5 by the toolstack: no reconnect */
	int state;              /* the XenBus state we last wrote (0: none) */
	int target;             /* disconnecting: state to write once drained (0: none) */
	int fd;
	/* O_DIRECT: a second descriptor of the target (-1: none), for requests aligned to
	 * dio_align (offset, lengths) and dio_mem_align (addresses); the rest use fd. */
	int dfd;
	unsigned int dio_align, dio_mem_align;
	unsigned int direct_io_safe; /* the toolstack's node, read at open */
	enum pv_blkback_driver driver;
	unsigned int is_blockdev;
	/*
	 * The target lives in memory (tmpfs, ramfs): reads and writes are done at once on
	 * the device's thread, since io_uring hands every one of them to a kernel worker
	 * (shmem cannot be read without blocking here) for a copy that never waits for I/O.
	 */
	unsigned int mem_backed;
	struct pv_blkback_limits lim;
	unsigned int sector_size, phys_sector_size, info, discard_gran;
	unsigned int nqueues, ring_order, persistent, copy;
	struct pv_blkback_queue *qs;
	/* Counters of the main thread, and of queues gone (added as each goes). */
	struct pv_blkback_stats st;
	struct pv_backd_ratelimit rl_ctl;  /* the state machine's messages */
};

/* pv_blkback_ring.c */
/*
 * The main thread's side: each reads what the front end wrote, or reaches every queue on
 * its own thread (pv_backd_worker_call) and waits for it.
 */
/* Gives each queue a thread, which maps its ring, binds its port and starts its I/O. */
int pv_blkback_connect(struct pv_blkback_dev *dev);
/* Stops intake.  snapshot=1: first take what the front end has published so far. */
void pv_blkback_stop_intake(struct pv_blkback_dev *dev, int snapshot);
int pv_blkback_drained(struct pv_blkback_dev *dev);
/* Unmaps rings and grants, unbinds ports, frees the pool; safe to call twice. */
void pv_blkback_disconnect(struct pv_blkback_dev *dev);
/* The same for one queue, on its thread. */
void pv_blkback_queue_stop_intake(struct pv_blkback_queue *q, int snapshot);
int pv_blkback_queue_drained(const struct pv_blkback_queue *q);
/* Takes requests within the budget; a queue with requests left joins the run queue. */
void pv_blkback_kick(struct pv_blkback_queue *q);
/*
 * Unmaps the per-request grant mappings of finished requests (one platform call): before
 * any response is published, so that a guest told "done" finds its pages unmapped.
 */
void pv_blkback_unmap_flush(struct pv_blkback_queue *q);
/* The time budget of a turn, in ns. */
uint64_t pv_blkback_turn_ns(const struct pv_backd *d);
/* to += from, counter by counter (a queue's into its device's); bounce_peak: the larger. */
void pv_blkback_stats_add(struct pv_blkback_stats *to, const struct pv_blkback_stats *from);
/* Releases what a finished request held in the persistent cache (pv_blkback_ring.c). */
void pv_blkback_req_unpin(struct pv_blkback_req *rq);
/*
 * Takes at most budget requests from q (then publishes their responses).  Returns the
 * number taken; *more = 1 if the budget ran out with requests still on the ring.
 */
unsigned int pv_blkback_kick_budget(struct pv_blkback_queue *q, unsigned int budget, int *more);
void pv_blkback_evtchn_ready(struct pv_backd *d);
/* Called by the storage driver for each request it finished; ok=0 is an I/O error. */
void pv_blkback_req_done(struct pv_blkback_req *rq, int ok);
/* After a batch of completions: publish, notify, take more, notice a finished drain. */
void pv_blkback_after_completions(struct pv_blkback_queue *q);
/* Writes the `error` node (one line, for the toolstack) and logs it. */
/*
 * Writes node under the device's backend directory, but only while that directory exists
 * (checked in the same transaction; t = 0 uses one of its own): once the toolstack has
 * removed the device, a write would re-create it and leave the vdev looking in use.
 * Returns 0 (also when the device is gone) or -errno.
 */
int pv_blkback_node_write(struct pv_blkback_dev *dev, pv_xs_txn_t t, const char *node,
			  const char *val);

void pv_blkback_fatal(struct pv_blkback_dev *dev, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The same from a queue's thread (its own rate limit, its own xenstore connection). */
void pv_blkback_queue_fatal(struct pv_blkback_queue *q, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* pv_blkback_sched.c: fairness between queues, event-storm backoff */
/* Creates the run queue's eventfd and the storm timer; idempotent.  0 or -errno. */
int pv_blkback_sched_init(struct pv_backd *d);
void pv_blkback_sched_fini(struct pv_backd *d);
/* q has requests left after its budget: to the back of the run queue. */
void pv_blkback_sched_more(struct pv_blkback_queue *q);
/* A notification on q's (masked) port took `taken` requests: unmask, or back off. */
void pv_blkback_sched_notified(struct pv_blkback_queue *q, unsigned int taken);
/* q's io_uring_submit failed: submit again in 1 ms (or at its next completion). */
void pv_blkback_sched_retry(struct pv_blkback_queue *q);
/* q is going away: off the run queue and the storm list (its port is unbound next). */
void pv_blkback_sched_forget(struct pv_blkback_queue *q);
/*
 * --poll-us: q's turn found no more requests.  Returns 1 when q is polled instead of
 * re-armed (req_event left behind, deadline renewed), 0 when polling is off or q takes
 * no more requests: then re-arm as usual.
 */
int pv_blkback_poll_begin(struct pv_blkback_queue *q);
/* pv_loop's idle hook: a slice of looking at polled rings.  Nonzero: keep polling. */
int pv_blkback_poll_idle(struct pv_loop *loop, void *opaque);

/* pv_blkback_bounce.c: copy mode's bounded bounce pool, one per queue */
int pv_blkback_bounce_init(struct pv_blkback_queue *q);
void pv_blkback_bounce_fini(struct pv_blkback_queue *q);
/* May r be taken off the ring now?  0: the pool lacks its pages until completions. */
int pv_blkback_bounce_room(struct pv_blkback_queue *q, const struct blkif_request *r);
/* n pages for rq into pages[]: 0 or -ENOBUFS. */
int pv_blkback_bounce_get(struct pv_blkback_req *rq, unsigned int n, void **pages);
void pv_blkback_bounce_put(struct pv_blkback_req *rq);
/* Once a second: an idle pool goes back to the kernel. */
void pv_blkback_bounce_tick(struct pv_blkback_queue *q);

/* pv_blkback_io.c */
int pv_blkback_io_open(struct pv_blkback_dev *dev);
void pv_blkback_io_close(struct pv_blkback_dev *dev);
int pv_blkback_io_size(struct pv_blkback_dev *dev, uint64_t *sectors);
/* q's io_uring (file driver), on q's thread. */
int pv_blkback_io_start(struct pv_blkback_queue *q);
void pv_blkback_io_stop(struct pv_blkback_queue *q);
/* Queues the I/O of rq (or completes it at once: null driver).  Returns 0 or -errno. */
int pv_blkback_io_queue(struct pv_blkback_req *rq);
/* Submits everything queued since the last call: one system call per pass. */
void pv_blkback_io_submit(struct pv_blkback_queue *q);
/*
 * Busy-polling (--poll-us): are completions waiting in q's io_uring (a look at shared
 * memory, no system call)?  pv_blkback_io_reap() takes them as their eventfd would.
 */
int pv_blkback_io_cq_ready(const struct pv_blkback_queue *q);
void pv_blkback_io_reap(struct pv_blkback_queue *q);

/* pv_blkback_journal.c: the restart journal of one queue (see the comment there). */
enum { PV_BJ_FRESH, PV_BJ_RESUME };
/*
 * After the ring is mapped: a fresh connection creates the journal and returns the index
 * to attach at; a resume reads it, drops what was published, queues the rest for
 * pv_blkback_journal_replay_next() and returns rsp_prod_pvt and req_cons in *rsp, *cons.
 * Returns 0, or -errno when the ring cannot be resumed exactly (fatal already written).
 */
int pv_blkback_journal_open(struct pv_blkback_queue *q, const grant_ref_t *refs, int mode,
			    pv_ring_idx_t *rsp, pv_ring_idx_t *cons);
/* Unmaps it; remove=1 deletes the file (the connection ended for good). */
void pv_blkback_journal_close(struct pv_blkback_queue *q, int remove);
/* Records the request at ring index idx; returns its entry (-1: no journal). */
int pv_blkback_journal_take(struct pv_blkback_queue *q, pv_ring_idx_t idx,
			    const struct blkif_request *r);
void pv_blkback_journal_consumed(struct pv_blkback_queue *q);
/* Entry js is about to be answered at ring slot rsp_prod_pvt. */
void pv_blkback_journal_responding(struct pv_blkback_queue *q, int js);
/* rsp_prod was published: frees the entries answered before it. */
void pv_blkback_journal_published(struct pv_blkback_queue *q);
int pv_blkback_journal_free_slots(const struct pv_blkback_queue *q);
/* The next request a restart must execute again: its entry, *r its private copy; or -1. */
int pv_blkback_journal_replay_next(struct pv_blkback_queue *q, struct blkif_request *r);
/* The next request to execute again, left in place: 0, or -1 when none is left. */
int pv_blkback_journal_replay_peek(const struct pv_blkback_queue *q, struct blkif_request *r);
/* The device is gone for good (removed by the toolstack): its journals go too. */
void pv_blkback_journal_forget(struct pv_backd *d, unsigned int domid, unsigned int devid);
/*
 * At start, before any device is served: removes the journals of devices whose backend
 * directory no longer exists (removed while no daemon ran).
 */
void pv_blkback_journal_sweep(struct pv_backd *d);

/* pv_blkback_xenbus.c */
/*
 * The data path found q's ring unusable (fatal already written): close the device.  On
 * q's thread: stops q's intake and leaves the rest (the other queues) to the main thread.
 */
void pv_blkback_failed(struct pv_blkback_queue *q);
/* The state machine must look at dev again (a drain ended): from any thread. */
void pv_blkback_mark_dirty(struct pv_blkback_dev *dev);

#define PV_BLKBACK_ASYNC_DIRTY  1u
#define PV_BLKBACK_ASYNC_FAILED 2u

/* pv_backd_worker.c: the data-path threads */
/* Starts n workers (0: none, the main thread serves every ring).  0 or -errno. */
int pv_backd_workers_start(struct pv_backd *d, unsigned int n);
/* Stops and joins them (every device disconnected first). */
void pv_backd_workers_stop(struct pv_backd *d);
/* Gives a connecting queue a data path: the worker with the fewest queues, or d. */
void pv_backd_worker_assign(struct pv_blkback_queue *q);
void pv_backd_worker_release(struct pv_blkback_queue *q);
/*
 * Runs fn(q, arg) on the thread owning q's data path, between two of its events (never
 * inside a turn), and waits for it; at once when that is this thread.  Returns fn's
 * result.
 */
int pv_backd_worker_call(struct pv_blkback_queue *q, int (*fn)(struct pv_blkback_queue *, void *),
			 void *arg);
/* fn on every queue of dev, each on its thread, in turn: the results ANDed (all 1: 1). */
int pv_backd_worker_call_all(struct pv_blkback_dev *dev,
			     int (*fn)(struct pv_blkback_queue *, void *), void *arg);
/* The worker's daemon when called on a worker thread, else NULL. */
struct pv_backd *pv_backd_worker_self(void);
/* A worker marked dev->async: wake the main thread. */
void pv_backd_worker_wake_main(struct pv_backd *w);
/* The main thread's wake_fd handler: applies the async marks, runs the state machine. */
void pv_blkback_async_apply(struct pv_backd *d);

#endif /* PV_BLKBACK_H */
