/* SPDX-License-Identifier: MIT */
/*
 * pv_netfront.h - libpvio-front's network front end: connects to a vif's back end through
 * the XenBus handshake of io/netif.h (as Linux's xen-netfront does it) and moves Ethernet
 * frames over the tx and rx rings.
 *
 * It works against any netif back end that offers feature-rx-copy: pvio-backd, Linux's
 * xen-netback.  It uses what the back end offers and the caller allows: scatter-gather,
 * GSO (TCPv4/TCPv6) and checksum offload both ways, split event channels, multi-queue.
 *
 * The back end is untrusted.  Every response is copied off the ring once and checked:
 * a tx id must name a tx slot in flight (a bad one makes the device fail with -EPROTO, as
 * Linux's netfront treats it since XSA-391); an rx response must carry the id of the
 * buffer posted at its ring index, a status and offset that stay inside the page, and a
 * packet must end within XEN_NETIF_NR_SLOTS_MIN slots and within what the back end
 * published; extra-info slots must have a known type.  A bad rx packet is dropped and
 * counted and the device keeps working; a producer index beyond what we posted makes the
 * device fail with -EPROTO.
 *
 * Data moves through pages granted once at connect (tx: one page per tx slot; rx: one
 * page per rx ring slot, kept posted): no grant operation per packet, one copy on tx,
 * and none on rx (the receive callback sees the granted pages).
 *
 * Threads: one thread at a time per handle.  Everything returns 0, a count or -errno.
 */
#ifndef PV_NETFRONT_H
#define PV_NETFRONT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "pv_platform.h"

struct pv_netfront;

struct pv_netfront_opts {
	unsigned int max_queues;  /* 0: as many as the back end offers, up to 2 */
	int no_split_evtchn;      /* 1: one event channel per queue even if split is offered */
	int no_gso;               /* 1: neither send GSO packets nor accept them (feature-gso-*=0) */
	int no_csum_offload;      /* 1: feature-no-csum-offload=1: every rx checksum filled in */
	unsigned int timeout_ms;  /* for connect and disconnect; 0: 10000 */
};

/*
 * Connects to the vif whose frontend directory is device/vif/<devid> of our domain (the
 * toolstack wrote it: backend, backend-id, mac).  Returns 0 when the back end is
 * Connected and rx buffers are posted, or -errno: -ENOENT no such device, -ETIMEDOUT,
 * -EPROTO (mac, the back end's nodes missing or out of range, no feature-rx-copy, or the
 * back end went Closing).
 */
int pv_netfront_open(struct pv_platform *p, unsigned int devid, const struct pv_netfront_opts *o,
		     struct pv_netfront **out);

/* Closing -> Closed, grants ended, ports unbound, handle freed.  Safe on NULL. */
void pv_netfront_close(struct pv_netfront *nf);

/*
 * The close protocol without freeing the handle: 0, -ETIMEDOUT (the back end did not
 * reach Closing in time; we closed anyway) or -EBUSY (it still maps some of our pages;
 * they are left to pv_platform_close()).  Afterwards only info, stats and close work.
 */
int pv_netfront_disconnect(struct pv_netfront *nf);

struct pv_netfront_info {
	uint8_t mac[6];            /* from device/vif/<devid>/mac */
	unsigned int queues;
	int split_evtchn;
	int sg;                    /* back end takes multi-slot packets (feature-sg) */
	int gso_tcpv4, gso_tcpv6;  /* back end takes GSO packets (and we allow it) */
	int ipv6_csum;             /* back end takes csum_blank IPv6 packets */
	unsigned int max_tx_slots; /* data slots per packet we send */
	unsigned int tx_pages, rx_slots; /* per queue */
};
int pv_netfront_info(struct pv_netfront *nf, struct pv_netfront_info *info);

/* Offload metadata of one packet, both ways. */
#define PV_NETFRONT_CSUM_PARTIAL 1u /* checksum not filled in (NETTXF/NETRXF_csum_blank) */
#define PV_NETFRONT_CSUM_VALID   2u /* checksum known good (data_validated) */
#define PV_NETFRONT_GSO_NONE  0
#define PV_NETFRONT_GSO_TCPV4 1    /* = XEN_NETIF_GSO_TYPE_TCPV4 */
#define PV_NETFRONT_GSO_TCPV6 2
struct pv_netfront_meta {
	uint16_t flags;     /* PV_NETFRONT_CSUM_* */
	uint8_t gso_type;   /* PV_NETFRONT_GSO_*; needs CSUM_PARTIAL */
	uint16_t gso_size;  /* MSS of the GSO packet */
	uint16_t queue;     /* send: the queue (modulo the count); receive: where it came */
};

/*
 * Copies one frame (Ethernet header first, 14 .. 65535 bytes) into granted tx pages and
 * queues it; pv_netfront_kick() or pv_netfront_poll() publishes it.  Returns 0, or
 * -EAGAIN (no tx slot or page free: poll, then retry), -EMSGSIZE (too long, or more than
 * a page without feature-sg), -EINVAL, -EOPNOTSUPP (GSO the back end does not take),
 * -ENOTCONN / -EPROTO (the device failed).
 */
int pv_netfront_send(struct pv_netfront *nf, const struct iovec *iov, int iovcnt,
		     const struct pv_netfront_meta *m);

/* Publishes queued frames and notifies the back end once per ring that asked for it. */
int pv_netfront_kick(struct pv_netfront *nf);

/*
 * Called by pv_netfront_poll() once per frame received, with the frame as iovcnt pieces
 * that point into granted rx pages: valid only until the callback returns (the pages are
 * posted again).  The back end may still write them, so do not read a byte twice and
 * trust it to be the same.
 */
typedef void (*pv_netfront_rx_fn)(void *opaque, const struct iovec *iov, int iovcnt,
				  const struct pv_netfront_meta *m);

/*
 * Takes tx completions and received frames (calling rx for each), posts the rx buffers
 * again and publishes queued frames.  Waits up to timeout_ms (0: no wait, -1: forever)
 * until something arrived.  Returns the number of frames received, or -EPROTO (the back
 * end broke the protocol) / -ENOTCONN (it left Connected): the device is then unusable.
 */
int pv_netfront_poll(struct pv_netfront *nf, int timeout_ms, pv_netfront_rx_fn rx, void *opaque);

/*
 * Nonzero when the last pv_netfront_poll() stopped with responses still on the rings (a
 * busy back end; a poll makes a bounded number of passes so that the caller gets its
 * turn): call pv_netfront_poll() again before waiting on the fds, which would not wake
 * for those.  After a poll that returns with this 0, the fds wake for anything new.
 */
int pv_netfront_more(struct pv_netfront *nf);

/*
 * The fds to wait on in the caller's event loop (readable: call pv_netfront_poll(nf, 0,
 * ...)): the event-channel fd and the xenstore watch fd.  Returns how many (1 or 2).
 */
int pv_netfront_fds(struct pv_netfront *nf, int fds[2]);

/* Tx slots free on the queue a send with meta->queue = queue would use. */
unsigned int pv_netfront_tx_free(struct pv_netfront *nf, unsigned int queue);

/*
 * Helper for a partial checksum (CSUM_PARTIAL): where the TCP or UDP checksum of an
 * Ethernet frame (IPv4 or IPv6, optional 802.1Q tag) starts and where its field is, as
 * virtio_net_hdr's csum_start / csum_offset; *hdr_len gets the end of the TCP header (or
 * of the UDP header).  Returns 0 or -EINVAL when the frame is not such a packet.
 */
int pv_netfront_csum_offsets(const void *frame, size_t len, uint16_t *csum_start,
			     uint16_t *csum_offset, uint16_t *hdr_len);

struct pv_netfront_stats {
	uint64_t tx_packets, tx_bytes, tx_slots, tx_gso;
	uint64_t tx_errors;       /* NETIF_RSP_ERROR / DROPPED from the back end */
	uint64_t tx_busy;         /* sends refused with -EAGAIN */
	uint64_t rx_packets, rx_bytes, rx_slots, rx_gso;
	uint64_t rx_errors;       /* negative rx status from the back end */
	uint64_t rx_dropped;      /* bad rx packets dropped, every cause below */
	uint64_t bad_rx_id;       /* id is not the buffer posted at that index */
	uint64_t bad_rx_size;     /* offset + size past the page, or a frame too short or long */
	uint64_t bad_rx_chain;    /* more than XEN_NETIF_NR_SLOTS_MIN slots, or cut off */
	uint64_t bad_rx_extra;    /* unknown extra type, extra chain cut off or too long */
	uint64_t bad_rx_gso;      /* GSO size 0 or an unknown GSO type */
	uint64_t bad_tx_rsp;      /* unknown or duplicate tx id, unknown status, stray NULL */
	uint64_t overflow;        /* a producer index beyond what we posted */
	uint64_t kicks, wakeups;
};
void pv_netfront_get_stats(struct pv_netfront *nf, struct pv_netfront_stats *st);

#endif /* PV_NETFRONT_H */
