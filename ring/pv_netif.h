/* SPDX-License-Identifier: MIT */
/*
 * pv_netif.h - the network-device ring protocol, wire-identical to Xen's io/netif.h.
 *
 * Two rings per queue: tx (guest to backend) and rx (backend to guest).  A packet on
 * tx is one or more netif_tx_request slots chained with NETTXF_more_data; a slot with
 * NETTXF_extra_info is followed by netif_extra_info slots (GSO, multicast, hash),
 * themselves chained with XEN_NETIF_EXTRA_FLAG_MORE.  The rx ring mirrors this with
 * NETRXF_* flags.  Names are Xen's; tests/abi proves the layouts equal.
 */
#ifndef PV_NETIF_H
#define PV_NETIF_H

#include "pv_ring.h"
#include "pv_xen_types.h"

/* A packet may span at most this many tx slots unless feature-sg says more. */
#define XEN_NETIF_NR_SLOTS_MIN 18
#define XEN_NETIF_MAX_TX_SIZE  0xFFFF

/* netif_tx_request.flags */
#define _NETTXF_csum_blank     (0)
#define  NETTXF_csum_blank     (1U << _NETTXF_csum_blank)     /* checksum to be filled */
#define _NETTXF_data_validated (1)
#define  NETTXF_data_validated (1U << _NETTXF_data_validated) /* checksum known good */
#define _NETTXF_more_data      (2)
#define  NETTXF_more_data      (1U << _NETTXF_more_data)      /* packet continues */
#define _NETTXF_extra_info     (3)
#define  NETTXF_extra_info     (1U << _NETTXF_extra_info)     /* extra slot follows */

struct netif_tx_request {
	grant_ref_t gref;
	uint16_t offset; /* within the granted page */
	uint16_t flags;  /* NETTXF_* */
	uint16_t id;     /* echoed in the response */
	uint16_t size;   /* first slot: whole packet; others: this fragment */
};

/* netif_extra_info.type */
#define XEN_NETIF_EXTRA_TYPE_NONE      (0)
#define XEN_NETIF_EXTRA_TYPE_GSO       (1)
#define XEN_NETIF_EXTRA_TYPE_MCAST_ADD (2)
#define XEN_NETIF_EXTRA_TYPE_MCAST_DEL (3)
#define XEN_NETIF_EXTRA_TYPE_HASH      (4)
#define XEN_NETIF_EXTRA_TYPE_MAX       (5)

/* netif_extra_info.flags */
#define _XEN_NETIF_EXTRA_FLAG_MORE (0)
#define  XEN_NETIF_EXTRA_FLAG_MORE (1U << _XEN_NETIF_EXTRA_FLAG_MORE)

/* netif_extra_info.u.gso.type */
#define XEN_NETIF_GSO_TYPE_NONE  (0)
#define XEN_NETIF_GSO_TYPE_TCPV4 (1)
#define XEN_NETIF_GSO_TYPE_TCPV6 (2)

struct netif_extra_info {
	uint8_t type;  /* XEN_NETIF_EXTRA_TYPE_* */
	uint8_t flags; /* XEN_NETIF_EXTRA_FLAG_* */
	union {
		struct {
			uint16_t size;     /* maximum payload of one segment */
			uint8_t type;      /* XEN_NETIF_GSO_TYPE_* */
			uint8_t pad;
			uint16_t features; /* none defined yet */
		} gso;
		struct {
			uint8_t addr[6];
		} mcast;
		struct {
			uint8_t type;
			uint8_t algorithm;
			uint8_t value[4];
		} hash;
		uint16_t pad[3];
	} u;
};

struct netif_tx_response {
	uint16_t id;
	int16_t status; /* NETIF_RSP_* */
};

struct netif_rx_request {
	uint16_t id;
	uint16_t pad;
	grant_ref_t gref; /* page the backend fills */
};

/* netif_rx_response.flags */
#define _NETRXF_data_validated (0)
#define  NETRXF_data_validated (1U << _NETRXF_data_validated)
#define _NETRXF_csum_blank     (1)
#define  NETRXF_csum_blank     (1U << _NETRXF_csum_blank)
#define _NETRXF_more_data      (2)
#define  NETRXF_more_data      (1U << _NETRXF_more_data)
#define _NETRXF_extra_info     (3)
#define  NETRXF_extra_info     (1U << _NETRXF_extra_info)
#define _NETRXF_gso_prefix     (4)
#define  NETRXF_gso_prefix     (1U << _NETRXF_gso_prefix)

struct netif_rx_response {
	uint16_t id;
	uint16_t offset;
	uint16_t flags;  /* NETRXF_* */
	int16_t status;  /* negative: NETIF_RSP_*; otherwise bytes received */
};

#define NETIF_RSP_DROPPED -2
#define NETIF_RSP_ERROR   -1
#define NETIF_RSP_OKAY     0
#define NETIF_RSP_NULL     1 /* padding slot for an extra-info request */

PV_RING_DEFINE(netif_tx, struct netif_tx_request, struct netif_tx_response);
PV_RING_DEFINE(netif_rx, struct netif_rx_request, struct netif_rx_response);

/* An extra-info slot occupies a tx request slot (or an rx response slot). */
_Static_assert(sizeof(struct netif_extra_info) <= sizeof(struct netif_tx_request),
	       "extra info fits a tx slot");
_Static_assert(sizeof(struct netif_extra_info) <= sizeof(struct netif_rx_response),
	       "extra info fits an rx slot");

#endif /* PV_NETIF_H */
