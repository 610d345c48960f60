/* SPDX-License-Identifier: MIT */
/*
 * pv_blkif.h - the block-device ring protocol, wire-identical to Xen's io/blkif.h.
 *
 * Struct, field and constant names are Xen's own, so that code and documentation read
 * the same on both sides; tests/abi proves every size and offset equal to the headers
 * of Debian's libxen-dev.  Do not include this together with Xen's io/blkif.h: they
 * define the same names.
 *
 * Sector numbers (sector_number, first_sect, last_sect, nr_sectors) are always in
 * 512-byte units, whatever sector-size the backend advertises.
 *
 * This is the 64-bit layout ("x86_64-abi" in the frontend's protocol node).  A 32-bit
 * x86 guest uses a layout where the 64-bit id is only 4-byte aligned ("x86_32-abi");
 * pvio does not serve that protocol yet.
 */
#ifndef PV_BLKIF_H
#define PV_BLKIF_H

#include "pv_ring.h"
#include "pv_xen_types.h"

typedef uint16_t blkif_vdev_t;
typedef uint64_t blkif_sector_t;

/* Operations (blkif_request.operation); each but READ/WRITE needs its feature node. */
#define BLKIF_OP_READ            0
#define BLKIF_OP_WRITE           1
#define BLKIF_OP_WRITE_BARRIER   2 /* feature-barrier */
#define BLKIF_OP_FLUSH_DISKCACHE 3 /* feature-flush-cache */
#define BLKIF_OP_RESERVED_1      4 /* was BLKIF_OP_WRITE_TRIM; never valid */
#define BLKIF_OP_DISCARD         5 /* feature-discard */
#define BLKIF_OP_INDIRECT        6 /* feature-max-indirect-segments */

#define BLKIF_MAX_SEGMENTS_PER_REQUEST       11
#define BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST 8

/* Sectors of 512 bytes in one 4 KiB page: last_sect must stay below this. */
#define PV_BLKIF_SECTORS_PER_PAGE (PV_PAGE_SIZE / 512)
#define PV_BLKIF_SECTOR_SHIFT     9

struct blkif_request_segment {
	grant_ref_t gref;   /* grant of the data page */
	uint8_t first_sect; /* first 512-byte sector in the page (inclusive) */
	uint8_t last_sect;  /* last 512-byte sector in the page (inclusive) */
};

/* Segments one indirect page holds. */
#define PV_BLKIF_SEGS_PER_INDIRECT_FRAME \
	(PV_PAGE_SIZE / sizeof(struct blkif_request_segment))

struct blkif_request {
	uint8_t operation;   /* BLKIF_OP_* */
	uint8_t nr_segments; /* 1..BLKIF_MAX_SEGMENTS_PER_REQUEST for read/write */
	blkif_vdev_t handle;
	uint64_t id;         /* the front end's tag, echoed in the response */
	blkif_sector_t sector_number;
	struct blkif_request_segment seg[BLKIF_MAX_SEGMENTS_PER_REQUEST];
};

/* The same slot read as a discard when operation == BLKIF_OP_DISCARD. */
struct blkif_request_discard {
	uint8_t operation;
	uint8_t flag;        /* BLKIF_DISCARD_SECURE, honoured only with discard-secure=1 */
#define BLKIF_DISCARD_SECURE (1 << 0)
	blkif_vdev_t handle;
	uint64_t id;
	blkif_sector_t sector_number;
	uint64_t nr_sectors;
};

/* The same slot read as an indirect request when operation == BLKIF_OP_INDIRECT. */
struct blkif_request_indirect {
	uint8_t operation;
	uint8_t indirect_op; /* BLKIF_OP_READ or BLKIF_OP_WRITE */
	uint16_t nr_segments; /* up to feature-max-indirect-segments */
	uint64_t id;
	blkif_sector_t sector_number;
	blkif_vdev_t handle;
	uint16_t _pad1;
	grant_ref_t indirect_grefs[BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST];
};

struct blkif_response {
	uint64_t id;       /* copied from the request */
	uint8_t operation; /* copied from the request */
	int16_t status;    /* BLKIF_RSP_* */
};

#define BLKIF_RSP_EOPNOTSUPP -2
#define BLKIF_RSP_ERROR      -1
#define BLKIF_RSP_OKAY        0

/* The "info" node's bits. */
#define VDISK_CDROM     0x1
#define VDISK_REMOVABLE 0x2
#define VDISK_READONLY  0x4

PV_RING_DEFINE(blkif, struct blkif_request, struct blkif_response);

/* A request slot read as its discard or indirect form; same slot, same size. */
_Static_assert(sizeof(struct blkif_request_discard) <= sizeof(struct blkif_request),
	       "discard request fits a slot");
_Static_assert(sizeof(struct blkif_request_indirect) <= sizeof(struct blkif_request),
	       "indirect request fits a slot");

#endif /* PV_BLKIF_H */
