/* SPDX-License-Identifier: MIT */
/*
 * abi.h - the tables that abi_pvio.c and abi_xen.c build from abi_fields.def, and the
 * ring drivers that pvio_peer.c and xen_peer.c build over the two ring implementations.
 * Nothing here includes a ring header, so both sides can share it.
 */
#ifndef PV_TEST_ABI_H
#define PV_TEST_ABI_H

#include <stddef.h>
#include <stdint.h>

struct abi_entry {
	const char *what;   /* "struct blkif_request.id", "BLKIF_OP_READ", ... */
	long long value;    /* offset, or the constant's value, or the struct's size */
	size_t size;        /* the field's size (0 for structs and constants) */
};

/* Ring sizes for a protocol at ring-page-order 0..5 (5 is past pvio's maximum). */
struct abi_ring_sizes {
	const char *proto;
	size_t entry_size;
	unsigned int nr_ents[6];
};

extern const struct abi_entry abi_pvio[], abi_xen[];
extern const size_t abi_pvio_count, abi_xen_count;
extern const struct abi_ring_sizes abi_xen_rings[];
extern const size_t abi_rings_count; /* 3: blkif, netif_tx, netif_rx */
void abi_pvio_rings(struct abi_ring_sizes out[3]);

/*
 * One end of a ring, driven either by pvio's ring.h or by Xen's own io/ring.h macros.
 * The contents of request and response id are a pure function of id (exchange.h), so
 * a consumer can check every field it receives.
 */
struct ring_driver {
	const char *name;
	/* Attach to page with private indices at start; init_shared also resets the header
	 * and sets the shared indices to start. */
	void *(*front_new)(void *page, size_t bytes, uint32_t start, int init_shared);
	void *(*back_new)(void *page, size_t bytes, uint32_t start);
	void (*end_free)(void *end);
	unsigned int (*nr_ents)(void *end);
	/* Produce n requests with ids first_id.. and push; returns the notify decision. */
	int (*produce)(void *front, unsigned int n, uint64_t first_id);
	/* Consume up to max requests expecting ids first_id..: count, -1 bad content,
	 * -2 producer overflow detected. */
	int (*consume)(void *back, unsigned int max, uint64_t first_id);
	int (*respond)(void *back, unsigned int n, uint64_t first_id);
	int (*collect)(void *front, unsigned int max, uint64_t first_id);
	unsigned int (*final_check_req)(void *back);
	unsigned int (*final_check_rsp)(void *front);
	unsigned int (*free_requests)(void *front);
	int (*req_prod_overflow)(void *back, uint32_t prod);
	int (*rsp_prod_overflow)(void *front, uint32_t prod);
	/* The end's two private indices: producer, consumer. */
	void (*indices)(void *end, uint32_t out[2]);
};

extern const struct ring_driver pvio_blk_driver, pvio_tx_driver;
extern const struct ring_driver xen_blk_driver, xen_tx_driver;

#endif
