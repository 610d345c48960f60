/* SPDX-License-Identifier: MIT */
/*
 * pv_backd.h - pvio-backd's internals, shared by the files of backend/ and by
 * tests/backend.  Not an installed interface.
 *
 *   pv_backd.c           the daemon: options, event loop, signals, watches, the tick
 *   pv_backd_log.c       levelled, component-prefixed, rate-limited logging to stderr
 *   pv_backd_ctl.c       the control socket of pv_backd_ctl.h
 *   pv_blkback_xenbus.c  one vbd's XenBus back state machine (lifecycle)
 *   pv_blkback_ring.c    the data path: ring intake, validation, grants, responses
 *   pv_blkback_io.c      storage drivers: file/block device over io_uring, null
 *   pv_netback_*.c       netback: vifs, their rings and TAP devices (pv_netback.h)
 *
 * Lifecycle and data path are separate: the state machine calls pv_blkback_connect()
 * and pv_blkback_disconnect(); the data path knows nothing about xenstore except the
 * one `error` node it writes through pv_blkback_fatal().
 */
#ifndef PV_BACKD_H
#define PV_BACKD_H

#include <stdarg.h>
#include <stdint.h>
#include <sys/uio.h>

#include "pv_blkif.h"
#include "pv_loop.h"
#include "pv_platform.h"

/* ---- logging ------------------------------------------------------------------------ */

enum pv_backd_level { PV_LOG_ERROR, PV_LOG_WARN, PV_LOG_INFO, PV_LOG_DEBUG };

extern enum pv_backd_level pv_backd_log_level;

/* Parses "error" | "warn" | "info" | "debug".  Returns 0 or -EINVAL. */
int pv_backd_log_parse(const char *s, enum pv_backd_level *out);

/*
 * Where log lines go.  STDERR: "pvio-backd: <component>: <level>: message", with a
 * "<N>" syslog priority prefix when stderr is journald's stream ($JOURNAL_STREAM), so
 * that journalctl -p works for the systemd unit.  SYSLOG: syslog(3), facility LOG_DAEMON,
 * the level as priority (a detached daemon has no terminal to write to).  FILE: appended
 * to a file with a timestamp (--log-file).  also_stderr keeps stderr too (a detaching
 * daemon's start-up errors still reach whoever started it).
 */
enum pv_backd_sink { PV_LOG_TO_STDERR, PV_LOG_TO_SYSLOG, PV_LOG_TO_FILE };
/* Switches to sink (path for PV_LOG_TO_FILE).  Returns 0 or -errno (the sink is unchanged). */
int pv_backd_log_open(enum pv_backd_sink sink, const char *path, int also_stderr);
/* Stops copying lines to stderr (it is about to be /dev/null). */
void pv_backd_log_stderr_off(void);
/* Closes a log file or syslog; logging goes back to stderr. */
void pv_backd_log_close(void);

/* One log line to the current sink, when level is enabled. */
void pv_backd_log(enum pv_backd_level lvl, const char *component, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * A token bucket for messages a guest can provoke: at most burst messages, refilled at
 * one per interval; the rest are counted and reported as one line when logging resumes.
 */
struct pv_backd_ratelimit {
	uint64_t last_ns;
	unsigned int tokens;
	unsigned int suppressed;
};
void pv_backd_log_rl(struct pv_backd_ratelimit *rl, enum pv_backd_level lvl,
		     const char *component, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/*
 * A string from a guest, made safe for a log line or a xenstore node: printable ASCII as
 * is, every other byte (and backslash) as \xNN, at most max source bytes, and "..." when
 * cut (by max or by len).  Always NUL-terminated.  Returns the length written.
 */
size_t pv_backd_str_clean(char *dst, size_t len, const char *src, size_t max);
/* Replaces every byte that is not printable ASCII in s with '?'. */
void pv_backd_str_printable(char *s);

/* ---- request validation (pure functions; unit-tested) ----------------------------------- */

/* What a request is checked against: the device and the features it offered. */
struct pv_blkback_limits {
	uint64_t sectors;          /* disk size in 512-byte units */
	unsigned int readonly;     /* mode r */
	unsigned int flush;        /* feature-flush-cache offered */
	unsigned int barrier;      /* feature-barrier offered */
	unsigned int discard;      /* feature-discard offered */
	unsigned int max_indirect; /* feature-max-indirect-segments offered, 0: none */
};

/* The effective operation of a request that passed pv_blkback_check_req(). */
enum pv_blkback_kind { PV_BLK_READ, PV_BLK_WRITE, PV_BLK_FLUSH, PV_BLK_BARRIER, PV_BLK_DISCARD };

struct pv_blkback_hdr {
	enum pv_blkback_kind kind;
	unsigned int nseg;       /* data segments (direct, or descriptors of an indirect) */
	unsigned int indirect;   /* segments are in indirect pages */
	unsigned int nr_ind_pages;
	uint64_t sector;
	uint64_t nr_sectors;     /* discard only; data requests sum their segments */
};

/*
 * Checks the header of a private copy of a request: opcode known and offered, segment
 * count in range, read-only device, discard range.  Returns 0 and *h, or -EINVAL
 * (malformed), -EOPNOTSUPP (operation or feature not offered: answered
 * BLKIF_RSP_EOPNOTSUPP), -EROFS (a write, flush, barrier or discard to a read-only disk)
 * or -ERANGE (sectors outside the disk).
 */
int pv_blkback_check_req(const struct pv_blkback_limits *l, const struct blkif_request *r,
			 struct pv_blkback_hdr *h);

/*
 * Checks n segment descriptors (already copied out of shared memory) and the sector
 * range they cover from sector, with wrap-around and size checks.  Returns 0 and the
 * total in *nr_sectors, or -EINVAL / -ERANGE.
 */
int pv_blkback_check_segs(const struct pv_blkback_limits *l, uint64_t sector,
			  const struct blkif_request_segment *segs, unsigned int n,
			  uint64_t *nr_sectors);

/* ---- the daemon and its devices ------------------------------------------------------- */

#define PV_BLKBACK_MAX_INDIRECT_SEGS 256
/*
 * Persistent grant cache: per queue, slots x (SEGS + 1) pages (Linux's xen-blkfront pool),
 * and per device at most --max-persistent pages (default DEFAULT: 16 MiB of mappings),
 * shared evenly by its queues; least recently used chunks are unmapped to make room.
 */
#define PV_BLKBACK_PERSISTENT_SEGS    32
#define PV_BLKBACK_PERSISTENT_MAX     16384u
#define PV_BLKBACK_PERSISTENT_DEFAULT 4096u
/* Copy mode: bounce memory per device (--max-bounce), at least one largest request. */
#define PV_BLKBACK_BOUNCE_MIN        ((size_t)PV_BLKBACK_MAX_INDIRECT_SEGS * 4096)
#define PV_BLKBACK_BOUNCE_MAX        ((size_t)1 << 30)
#define PV_BLKBACK_BOUNCE_DEFAULT    ((size_t)32 << 20)
#define PV_BLKBACK_MAX_QUEUES        16
#define PV_BLKBACK_MAX_DEVICES       1024
/*
 * Fairness: a queue takes at most KICK_BUDGET requests per turn, then goes to the back of
 * the run queue; one pass of the event loop turns at most PASS_QUEUES queues (ports with
 * an event, or run-queue entries), then lets every other fd in.
 */
#define PV_BLKBACK_KICK_BUDGET       32u
#define PV_BLKBACK_PASS_QUEUES       64u
/*
 * A turn is also bounded in time: a request can cost tens of microseconds (a grant map
 * per read), so 32 of them held the loop for milliseconds while another guest waited.
 * The clock is read every TURN_CHECK requests of a turn, and after every batch of
 * UNMAP_BATCH completions; a turn or a completion batch past TURN_NS yields as the
 * request budget does (--test-turn-ns changes it, for tests).
 */
#define PV_BLKBACK_TURN_NS           150000u
#define PV_BLKBACK_TURN_CHECK        4u
/* Per-request grant mappings released at completion are unmapped this many per call. */
#define PV_BLKBACK_UNMAP_BATCH       16u
/* Map mode: requests (and their pages) whose grants are mapped in one call (sim: one round trip). */
#define PV_BLKBACK_MAP_BATCH_REQS    PV_BLKBACK_KICK_BUDGET
#define PV_BLKBACK_MAP_BATCH_PAGES   PV_BLKBACK_MAX_INDIRECT_SEGS
/*
 * A queue with at most this many requests in flight and on its ring is short (a guest at
 * a low queue depth): its notification is served before those of long queues, and
 * between the run queue's turns (pv_blkback_sched.c).
 */
#define PV_BLKBACK_SHORT_QUEUE       4u
/*
 * Event storms (as Xen's lateeoi after XSA-332): after SPURIOUS_MAX notifications in a
 * row that brought no request, the port stays masked for 1 ms, doubling per storm up to
 * STORM_MAX_MS; a request resets both.  Unmasking looks at the ring again.
 */
#define PV_BLKBACK_SPURIOUS_MAX      8u
#define PV_BLKBACK_STORM_MAX_SHIFT   6u /* 64 ms */

/* Counters of pv_backd_ctl.h; cumulative since the device was first seen. */
struct pv_blkback_stats {
	uint64_t requests, reads, writes, flushes, barriers, discards, indirect;
	uint64_t bytes_read, bytes_written, errors, bad_requests, persistent_hits;
	uint64_t grant_maps, grant_unmaps, grant_copies, notifications_in, notifications_out;
	uint64_t grant_map_calls;        /* map calls for requests' pages: grant_maps / this = pages per call */
	/* Restart journal (pv_blkback_journal.c): requests executed again after a restart,
	 * answered ones a restart found published and dropped, resumes refused or degraded
	 * because the journal was missing, stale or inconsistent. */
	uint64_t journal_replayed, journal_dropped, journal_lost;
	/* Fairness (pv_blkback_sched.c) */
	uint64_t budget_yields;          /* passes cut short by the request budget */
	uint64_t time_yields;            /* turns cut short by the time budget (TURN_NS) */
	uint64_t completion_yields;      /* completion batches cut short by the time budget */
	uint64_t spurious_notifications; /* notifications that brought no request */
	uint64_t storm_masks;            /* times the port was left masked for a while */
	uint64_t persistent_evictions;   /* persistent pages unmapped to make room (LRU) */
	uint64_t bounce_waits;           /* copy mode: intake paused, bounce pool empty */
	uint64_t bounce_peak;            /* copy mode: most pages one queue's pool had in use at once */
	uint64_t bounce_releases;        /* copy mode: idle pool given back to the kernel */
	uint64_t submit_retries;         /* io_uring_submit refused or took nothing: retried */
	uint64_t cq_overflows;           /* io_uring completion queue seen overflowed */
	uint64_t fe_watch_events;        /* watch events of the front end's state node */
	/* Busy-polling (--poll-us): looks that found requests, polls that ran out and slept. */
	uint64_t poll_hits, poll_expired;
	uint64_t sync_ios;               /* memory-backed target: done at once, not by io_uring */
	/* O_DIRECT disk: requests not aligned to its logical block, done through the page cache. */
	uint64_t buffered_fallbacks;
};

/*
 * --cache: may file and block-device disks bypass dom0's page cache (O_DIRECT)?  AUTO: only
 * disks whose backend directory says direct-io-safe = 1 (as QEMU's qdisk); NONE: every
 * one (the administrator vouches for the storage); WRITEBACK: none (the page cache).
 */
enum pv_backd_cache { PV_BACKD_CACHE_AUTO, PV_BACKD_CACHE_NONE, PV_BACKD_CACHE_WRITEBACK };

struct pv_blkback_dev;
struct pv_blkback_queue;
struct pv_backd_client;
struct pv_netback;

struct pv_backd {
	struct pv_platform *plat;
	struct pv_loop *loop;
	domid_t self;
	char root[64];                 /* /local/domain/<self>/backend/vbd */
	unsigned int types_mask;       /* PV_BACKD_TYPE_* served */
	unsigned int grant_copy;       /* --grant-copy */
	enum pv_backd_cache cache;     /* --cache */
	unsigned int max_queues;       /* offered in multi-queue-max-queues */
	unsigned int max_persistent;   /* persistent grant pages per device; 0: the default */
	size_t max_bounce;             /* copy mode: bounce bytes per device; 0: the default */
	unsigned int stopping;         /* SIGTERM seen: drain, detach, exit */
	char *state_dir;               /* restart journals live here (beside the lock); NULL: none */
	int lock_fd;                   /* the one-daemon flock; every io_uring holds it too */
	uint64_t test_reorder;         /* --test-reorder SEED: hold and shuffle completions */
	uint64_t turn_ns;              /* time budget of a turn; 0: PV_BLKBACK_TURN_NS */
	uint64_t test_rng;
	uint64_t stop_deadline_ns;
	int ctl_fd;
	char *ctl_path;
	struct pv_backd_client *clients; /* connected, not yet answered */
	struct pv_blkback_dev *devs;
	unsigned int ndevs;
	uint64_t next_dev_id;          /* makes each device's frontend watch token unique */
	uint64_t last_tick_ns;
	/* Local event-channel port -> queue, for pv_evtchn_pending()'s answer. */
	struct pv_blkback_queue **ports;
	unsigned int nports;
	/* Fairness (pv_blkback_sched.c): queues with requests left over, masked storms. */
	unsigned int sched_ok;         /* the two fds below exist: budgets apply */
	int sched_work_fd;             /* eventfd, readable while the run queue is not empty */
	int sched_timer_fd;            /* timerfd: the next storm-masked port to unmask */
	struct pv_blkback_queue *runq_head, *runq_tail;
	unsigned int runq_len;
	struct pv_blkback_queue *storm_list;
	uint64_t retry_at_ns;          /* devices with submit_retry set: submit again then */
	/* Busy-polling (--poll-us, pv_blkback_sched.c): rings looked at instead of re-armed. */
	uint64_t poll_ns;              /* 0: off */
	struct pv_blkback_queue *poll_head;
	uint64_t poll_yielded_ns;      /* the last sched_yield() while polling */
	struct pv_netback *net;        /* netback's vifs (pv_netback.h); NULL: none served */
	/*
	 * Data-path threads (pv_backd_worker.c).  The main thread's d keeps xenstore, the
	 * control socket, netback and every device's state machine; each worker has a
	 * struct pv_backd of its own (own platform handle, loop, run queue, ports) for the
	 * rings and I/O of the queues given to it.  main: the main d, in a worker's d
	 * (NULL in the main d).  No workers (--threads 0): every queue's data path is the
	 * main d.
	 */
	struct pv_backd *main;
	const char *spec;              /* the platform spec a worker opens its handle with */
	unsigned int nworkers;
	struct pv_backd_worker *workers;
	int wake_fd;                   /* main: eventfd a worker writes after marking a device */
	unsigned int thread_idx;       /* a worker's number from 1 (thread "pvio-backd/N"); main: 0 */
};

/* --threads: data-path threads at most (a thread per CPU is the default). */
#define PV_BACKD_MAX_THREADS 64

#define PV_BACKD_TYPE_PHY  (1u << 0)
#define PV_BACKD_TYPE_FILE (1u << 1)
#define PV_BACKD_TYPE_PVIO (1u << 2)
#define PV_BACKD_TYPE_NULL (1u << 3)
/* Parses "phy,file,pvio,null".  Returns 0 or -EINVAL. */
int pv_backd_parse_types(const char *s, unsigned int *mask);

/* Monotonic nanoseconds. */
uint64_t pv_backd_now_ns(void);

/* ---- the control socket (pv_backd_ctl.c) ------------------------------------------------ */

int pv_backd_ctl_open(struct pv_backd *d, const char *path);
void pv_backd_ctl_close(struct pv_backd *d);
/* Appends one device's JSON object to buf; returns bytes written or -ENOSPC. */
int pv_backd_ctl_json(struct pv_blkback_dev *dev, char *buf, size_t len);

/* ---- the state machine (pv_blkback_xenbus.c) ------------------------------------------- */

/* Handles one watch event on our backend root or a device's frontend directory. */
void pv_blkback_watch_event(struct pv_backd *d, const char *path, const char *token);
/* Runs the state machine of every device marked dirty. */
void pv_blkback_process_dirty(struct pv_backd *d);
/* Once a second: online resize. */
void pv_blkback_tick(struct pv_backd *d);
/* SIGTERM: stop intake everywhere; returns 1 once nothing is in flight and all is unmapped. */
int pv_blkback_shutdown_step(struct pv_backd *d);
/* Frees every device (after pv_blkback_shutdown_step() returned 1, or on a dead loop). */
void pv_blkback_free_all(struct pv_backd *d);
struct pv_blkback_dev *pv_blkback_find(struct pv_backd *d, unsigned int domid, unsigned int devid);

#endif /* PV_BACKD_H */
