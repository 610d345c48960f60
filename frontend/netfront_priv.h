/* SPDX-License-Identifier: MIT */
/*
 * netfront_priv.h - what netfront_xenbus.c (the handshake) and netfront.c (the data
 * path) share.  Not installed; not part of the API.
 */
#ifndef PV_NETFRONT_PRIV_H
#define PV_NETFRONT_PRIV_H

#include "pv_netfront.h"
#include "pv_netif.h"
#include "xbfront.h"

#define NF_MAX_QUEUES 2u
/*
 * Granted pages a device may hold at once: rings, rx buffers and tx pages of every queue.
 * 1024 is what Linux's gntalloc grants to all of a domU's userspace by default; the tx
 * pools shrink to fit (nf_data_init).
 */
#define NF_DEVICE_PAGE_BUDGET 1024u
/* A tx id: the slot index in the low 8 bits (a one-page tx ring has 256 slots), a generation above. */
#define NF_TX_ID_BITS 8
#define NF_TX_ID_MASK ((1u << NF_TX_ID_BITS) - 1)
/* The longest frame either way: XEN_NETIF_MAX_TX_SIZE, and on rx a GSO frame with its header. */
#define NF_RX_MAX_FRAME (65536u + 64u)
#define NF_MIN_FRAME 14u
/* Passes over the rings one pv_netfront_poll() makes while responses keep coming. */
#define NF_POLL_ROUNDS 16u /* an Ethernet header: Linux's netback drops anything shorter */

struct nf_txslot {
	uint8_t busy;
	uint8_t gen;
};

struct nf_queue {
	unsigned int idx;
	struct pv_ring_front tx, rx;
	void *tx_ring, *rx_ring;
	grant_ref_t tx_ring_ref, rx_ring_ref;
	evtchn_port_t tx_port, rx_port; /* equal without split event channels */
	int tx_port_ok, rx_port_ok;

	/* tx: one granted page per slot, a free stack of slot indices */
	uint8_t *tx_pages;
	grant_ref_t *tx_refs;
	struct nf_txslot *tx_slots;
	uint16_t *tx_free;
	unsigned int ntx, ntx_free;
	unsigned int tx_extras_out;     /* extra-info requests whose NULL response is due */
	int tx_unpushed;
	pv_ring_idx_t tx_pushed;         /* our own copy of the req_prod we published */

	/* rx: the page of ring index i is rx_pages[i & (slots - 1)], posted with id i & mask */
	uint8_t *rx_pages;
	grant_ref_t *rx_refs;
	unsigned int nrx;
};

struct pv_netfront {
	struct xbf xb;                  /* platform, paths, watch: the xenbus end (xbfront.h) */
	unsigned int devid;
	unsigned int timeout_ms;
	struct pv_netfront_opts opts;

	struct pv_netfront_info info;
	int fe_gso;                     /* what we wrote in feature-gso-tcpv4/6 */
	struct nf_queue q[NF_MAX_QUEUES];
	unsigned int nq;

	int connected;
	int more;                       /* poll stopped with responses still waiting */
	int failed;                     /* 0, -EPROTO or -ENOTCONN */
	struct pv_netfront_stats st;
};

/* netfront.c */
int nf_data_init(struct pv_netfront *nf);
/* Ends the data pages' grants; 1 when the back end still maps some (left to the platform). */
int nf_data_free(struct pv_netfront *nf);
void nf_post_rx(struct pv_netfront *nf, struct nf_queue *q, int notify);
unsigned int nf_tx_inflight(const struct pv_netfront *nf);

/* netfront_xenbus.c */
/* Grants: the one place that shares and ends pages (grant/ will take this over). */
int nf_gnt_alloc(struct pv_netfront *nf, unsigned int count, int writable, grant_ref_t *refs,
		 void **addr);
int nf_gnt_free(struct pv_netfront *nf, void *addr, unsigned int count);

#endif /* PV_NETFRONT_PRIV_H */
