/* SPDX-License-Identifier: MIT */
/* The ABI table as pvio's own headers lay it out. */
#include <stddef.h>

#include "pv_blkif.h"
#include "pv_netif.h"
#include "../../sim/pv_sim_proto.h" /* the sim's grant_entry_v1 */
#include "abi.h"

#define SRING struct pv_sring
const struct abi_entry abi_pvio[] = {
#include "abi_table.h"
};
const size_t abi_pvio_count = sizeof(abi_pvio) / sizeof(abi_pvio[0]);

/* pvio computes ring sizes at run time (the order comes from xenstore). */
#define SIZES(i, p) do {							\
	unsigned int o_;							\
	out[i].proto = #p;							\
	out[i].entry_size = sizeof(union pv_##p##_sring_entry);			\
	for (o_ = 0; o_ < 6; o_++)						\
		out[i].nr_ents[o_] = pv_##p##_ring_size(o_);			\
} while (0)

void abi_pvio_rings(struct abi_ring_sizes out[3])
{
	SIZES(0, blkif);
	SIZES(1, netif_tx);
	SIZES(2, netif_rx);
}
