/* SPDX-License-Identifier: MIT */
/*
 * pv_netback.h - netback in pvio-backd: one vif as the daemon holds it (docs/protocol.md).
 *
 *   pv_netback_xenbus.c  the XenBus back state machine of each vif (lifecycle)
 *   pv_netback_ring.c    the data path: tx and rx rings, grant copy, validation, fairness
 *   pv_netback_tap.c     the host end: a TAP device vif<domid>.<devid> per vif
 *
 * The rules are io/netif.h's and Linux's xen-netback's (the peer of a Linux netfront):
 * a guest that sends a malformed packet gets XEN_NETIF_RSP_ERROR and a counter; one
 * that breaks the protocol (a producer index past the ring, a slot crossing its page,
 * a missing or unknown extra-info slot, too many slots) is disconnected: `error` node,
 * Closing.  Every other vif and disk keeps being served.
 */
#ifndef PV_NETBACK_H
#define PV_NETBACK_H

#include <sys/uio.h>

#include "pv_backd.h"
#include "pv_gcopy.h"
#include "pv_netif.h"

#define PV_NETBACK_MAX_QUEUES  8
#define PV_NETBACK_MAX_VIFS    1024
/*
 * Slots of one tx packet, as Linux netback: up to 1 + XEN_NETIF_NR_SLOTS_MIN are taken;
 * more are answered XEN_NETIF_RSP_ERROR (its legacy limit); more than 1 + FATAL_SLOTS
 * (its fatal_skb_slots default) is an attack: disconnect.
 */
#define PV_NETBACK_FATAL_SLOTS 20u
#define PV_NETBACK_MAX_PKT     (XEN_NETIF_MAX_TX_SIZE + 1u)
#define PV_NETBACK_ETH_HLEN    14u
/*
 * Fairness: packets per queue and direction per turn.  Packets per grant-copy batch: tx's
 * is also the longest run of TCP segments written to the TAP as one GSO frame.  Each batch
 * costs system calls (a grant-copy ioctl, a notify, a TAP write per run), and in a PV dom0
 * every one goes through Xen.  On Xen a Linux guest without TSO sent 1448-byte frames at
 * 0.09-0.15x xen-netback's rate with batches of 8 or without the merging, at 0.45-0.71x
 * with both batches 32, at 0.15 and 0.36x with tx 32 and rx 8 (docs/xen.md).  Buffers: a batch
 * of largest packets per queue and direction (2 MiB each, touched only as packets fill it).
 */
#define PV_NETBACK_BUDGET      32u
#define PV_NETBACK_TX_BATCH    32u
#define PV_NETBACK_RX_BATCH    32u
/* A storm: SPURIOUS_MAX notifications in a row that brought nothing (as blkback's). */
#define PV_NETBACK_SPURIOUS_MAX 8u
#define PV_NETBACK_STORM_MAX_SHIFT 6u
/* rx: a packet that waited this long for guest buffers is dropped, with the TAP's queue. */
#define PV_NETBACK_RX_DRAIN_NS (2000000000ull)

/* Per-vif counters (pv_backd_ctl.h's vif-stats); cumulative since the vif was first seen. */
struct pv_netback_stats {
	uint64_t tx_packets, tx_bytes, tx_gso, tx_csum_blank;
	uint64_t tx_dropped;       /* packets answered XEN_NETIF_RSP_ERROR, or not delivered */
	uint64_t tx_bad_size;      /* first slot < ETH_HLEN, a slot larger than what is left */
	uint64_t tx_too_many_slots;/* more than 1 + XEN_NETIF_NR_SLOTS_MIN: dropped */
	uint64_t tx_bad_grant;     /* a grant copy failed: the packet dropped */
	uint64_t tx_bad_csum;      /* csum_blank/GSO on headers we cannot parse: dropped */
	uint64_t tx_tap_errors;    /* the TAP refused the packet */
	uint64_t tx_mcast;         /* multicast-control requests (answered, no packet) */
	uint64_t tx_credit_waits;  /* intake paused by the rate limit */
	uint64_t tx_coalesced;     /* TCP segments that went to the TAP inside another's GSO frame */
	uint64_t rx_packets, rx_bytes, rx_gso;
	uint64_t rx_dropped;       /* packets from the TAP the guest never got */
	uint64_t rx_bad_grant;     /* rx slots whose grant copy failed */
	uint64_t rx_stalls;        /* the TAP left unread: the guest posted no buffers */
	uint64_t protocol_errors;  /* fatal: the vif was disconnected */
	uint64_t grant_copies, grant_copy_batches, notifications_in, notifications_out;
	uint64_t budget_yields, spurious_notifications, storm_masks, fe_watch_events;
};

struct pv_netback_vif;

/* One tx packet of a batch between intake and its responses. */
struct pv_netback_txpkt {
	uint16_t ids[1 + PV_NETBACK_FATAL_SLOTS]; /* data slots, in ring order */
	unsigned int nslots, nextra;  /* data slots, extra-info slots (NULL responses) */
	unsigned int first_extra;     /* extra slots come right after the first data slot */
	unsigned int seg0, nseg;      /* its segments in q->segs */
	unsigned int len;             /* bytes */
	int16_t status;               /* XEN_NETIF_RSP_OKAY so far, or ERROR */
	uint16_t flags;               /* first slot's NETTXF_* */
	uint8_t gso_type;             /* XEN_NETIF_GSO_TYPE_* */
	uint16_t gso_size;
	uint8_t *data;
};

/* One rx packet of a batch: read from the TAP, copied into guest buffers. */
struct pv_netback_rxpkt {
	uint8_t *buf;                 /* virtio_net_hdr, then the frame */
	unsigned int len;             /* frame bytes */
	unsigned int seg0, nseg;      /* data slots' segments in q->rsegs */
	uint16_t ids[PV_NETBACK_MAX_PKT / PV_PAGE_SIZE + 2];
	uint16_t flags;               /* NETRXF_* of the first slot */
	uint8_t gso_type;
	uint16_t gso_size;
};

struct pv_netback_queue {
	struct pv_netback_vif *vif;
	unsigned int idx;
	struct pv_ring_back tx, rx;
	void *tx_addr, *rx_addr;
	evtchn_port_t tx_port, rx_port;         /* ours: equal unless split */
	evtchn_port_t remote_tx, remote_rx;
	unsigned int tx_bound, rx_bound;
	int tap_fd;
	unsigned int tap_polled;                /* EPOLLIN on tap_fd is registered */
	/* tx batch */
	struct pv_netback_txpkt tp[PV_NETBACK_TX_BATCH];
	struct pv_gnt_copy_seg segs[PV_NETBACK_TX_BATCH * (1 + PV_NETBACK_FATAL_SLOTS)];
	struct pv_gcopy_batch txb;              /* over segs */
	uint8_t *txbuf;                         /* PV_NETBACK_TX_BATCH packets */
	/* rx batch */
	struct pv_netback_rxpkt rp[PV_NETBACK_RX_BATCH];
	struct pv_gnt_copy_seg rsegs[PV_NETBACK_RX_BATCH * (PV_NETBACK_MAX_PKT / PV_PAGE_SIZE + 1)];
	struct pv_gcopy_batch rxb;              /* over rsegs */
	uint8_t *rxbuf;                         /* PV_NETBACK_RX_BATCH packets, with headers */
	unsigned int rx_held;                   /* rp[0] read, waiting for guest buffers */
	uint64_t rx_stall_ns;
	/* rate limit (Linux netback's credit scheduler) */
	uint64_t credit_bytes, credit_usec, remaining_credit, window_ns, credit_at_ns;
	/* fairness */
	struct pv_netback_queue *run_next, *timer_next;
	unsigned int on_runq, spurious, storm_level, storm_masked_tx, storm_masked_rx;
	/* tx/rx req_cons and rx_held when the last notification was handled */
	pv_ring_idx_t note_txc, note_rxc;
	unsigned int note_held;
	uint64_t storm_until_ns;
};

struct pv_netback_vif {
	struct pv_backd *d;
	struct pv_netback_vif *next;
	uint64_t uid;
	unsigned int domid, devid;
	char be_path[96];
	char fe_path[160];
	char token[40];
	char ifname[16];
	char bridge[16];
	unsigned int fe_watched;
	unsigned int opened, connected, dirty, removed, detach, broken;
	int state;
	/* what the front end negotiated */
	unsigned int nqueues, split, sg, gso4, gso6, csum, ipv6_csum, rx_notify;
	uint64_t rate_bytes, rate_usec;
	struct pv_netback_queue *qs;
	struct pv_netback_stats st;
	struct pv_backd_ratelimit rl;
};

/* What pvio-backd holds for netback (d->net). */
struct pv_netback {
	char root[64];                   /* /local/domain/<self>/backend/vif */
	struct pv_netback_vif *vifs;
	unsigned int nvifs;
	uint64_t next_uid;
	struct pv_netback_queue **ports; /* local port -> queue */
	unsigned int nports;
	int work_fd, timer_fd;
	struct pv_netback_queue *runq_head, *runq_tail;
	unsigned int max_queues;
};

/* ---- pvio-backd's hooks --------------------------------------------------------------- */

/* Watches backend/vif (the watch fires once: existing vifs are found).  0 or -errno. */
int pv_netback_init(struct pv_backd *d);
/* Returns 1 if the event was netback's (token "vif" or "nfe:..."), else 0. */
int pv_netback_watch_event(struct pv_backd *d, const char *path, const char *token);
void pv_netback_process_dirty(struct pv_backd *d);
/* A pending (masked) event-channel port: 1 if it was a vif's, else 0. */
int pv_netback_port_event(struct pv_backd *d, evtchn_port_t port);
/* Once a second: rx stalls, polling for guests without feature-rx-notify. */
void pv_netback_tick(struct pv_backd *d);
/* SIGTERM: every vif disconnects at once (nothing is in flight between passes). */
void pv_netback_shutdown(struct pv_backd *d);
void pv_netback_free_all(struct pv_backd *d);
struct pv_netback_vif *pv_netback_find(struct pv_backd *d, unsigned int domid, unsigned int devid);
/* One vif's JSON object; bytes written or -ENOSPC. */
int pv_netback_ctl_json(const struct pv_netback_vif *vif, char *buf, size_t len);

/* ---- internal ------------------------------------------------------------------------ */

/* pv_netback_ring.c */
int pv_netback_connect(struct pv_netback_vif *vif);
void pv_netback_disconnect(struct pv_netback_vif *vif);
void pv_netback_kick(struct pv_netback_queue *q);
/* The rate limit's refill of one interval (Linux's tx_add_credit). */
void pv_netback_credit_add(struct pv_netback_queue *q);
/* The loop's callback of a queue's TAP fd. */
void pv_netback_on_tap(struct pv_loop *loop, int fd, uint32_t events, void *opaque);
/* Flushes a batch of grant copies (grant/pv_gcopy.h) and counts it: 0, how many
 * segments failed, or -errno (then every segment's status says so). */
int pv_netback_gnt_copy(struct pv_netback_vif *vif, struct pv_gcopy_batch *b);
/* The guest broke the protocol: `error` node, counter, Closing. */
void pv_netback_fatal(struct pv_netback_vif *vif, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/*
 * Where the checksum of a frame's TCP/UDP header lives (as Linux's skb_checksum_setup):
 * IPv4 or IPv6 with extension headers, not a fragment.  Returns 0 with *start (L4
 * offset in the frame), *off (checksum field within L4), *proto, or -EPROTO.
 */
int pv_netback_csum_where(const uint8_t *frame, unsigned int len, unsigned int *start,
			  unsigned int *off, unsigned int *proto);

/* pv_netback_tap.c */
/* Opens one TAP fd per queue (IFF_MULTI_QUEUE when several), up, MTU 1500, bridged. */
int pv_netback_tap_open(struct pv_netback_vif *vif);
void pv_netback_tap_close(struct pv_netback_vif *vif);
/* TUNSETOFFLOAD to what the guest negotiated. */
int pv_netback_tap_offload(struct pv_netback_vif *vif);

/* pv_netback_xenbus.c */
/* Wake netback's timer at `at` (monotonic ns) or earlier: storms, the rate limit. */
void pv_netback_timer_at(struct pv_backd *d, uint64_t at);
/* q has work left after its budget: to the back of netback's run queue. */
void pv_netback_sched_more(struct pv_netback_queue *q);
void pv_netback_sched_forget(struct pv_netback_queue *q);
int pv_netback_node_write(struct pv_netback_vif *vif, const char *node, const char *val);
void pv_netback_failed(struct pv_netback_vif *vif);

#endif /* PV_NETBACK_H */
