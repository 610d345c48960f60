/* SPDX-License-Identifier: MIT */
/* The ABI table as Xen's public headers (Debian's libxen-dev) lay it out. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "xen_headers.h"
#include "abi.h"

#define ABI_SIDE_XEN
#define SRING struct blkif_sring
const struct abi_entry abi_xen[] = {
#include "abi_table.h"
};
const size_t abi_xen_count = sizeof(abi_xen) / sizeof(abi_xen[0]);

/* io/ring.h's own arithmetic; order 5 is listed as 0 since neither side may use it. */
#define SIZES(p) { #p, sizeof(union p##_sring_entry), \
	{ __CONST_RING_SIZE(p, 4096), __CONST_RING_SIZE(p, 4096 << 1), \
	  __CONST_RING_SIZE(p, 4096 << 2), __CONST_RING_SIZE(p, 4096 << 3), \
	  __CONST_RING_SIZE(p, 4096 << 4), 0 } }
const struct abi_ring_sizes abi_xen_rings[] = { SIZES(blkif), SIZES(netif_tx), SIZES(netif_rx) };
const size_t abi_rings_count = sizeof(abi_xen_rings) / sizeof(abi_xen_rings[0]);
