/* SPDX-License-Identifier: MIT */
/*
 * pv_sim_proto.h - the "hypercall" protocol between a simulated domain (platform/sim/) and
 * pvio-simd, and the layout of the memory they share.
 *
 * Each domain N has a SOCK_SEQPACKET socket <rundir>/domN/hypercall beside its xenstore
 * socket <rundir>/domN/socket; the daemon knows the caller's domain by the socket it came
 * in on, as Xen knows which domain made a hypercall.  One request packet, one reply
 * packet; file descriptors travel with SCM_RIGHTS.  Only setup uses this socket: ring
 * data, grant maps and copies, and notifications go directly between the domains.
 *
 * Shared memory, all memfds:
 *   memory   the granting domain's pages (registered by it, sealed against resizing)
 *   gnttab   its struct grant_entry_v1[] (registered by it, sealed against resizing; the
 *            daemon seals it against new writable mappings too once it and the granter
 *            hold theirs, so a grantee gets it read-only)
 *   epochs   one uint32_t per domid: the generation of the domain's current grant-table
 *            registration, 0 when it has none (created and written by the daemon only,
 *            sealed against writes by anyone else).  A grantee compares it with the
 *            generation of its cached view and asks GET_PEER again only when they differ.
 *
 * Pins (who has which grant mapped) live in the daemon's memory only: a grantee maps with
 * GNT_MAP, which checks and pins a batch of refs and sets GTF_reading/GTF_writing, and
 * unmaps with GNT_UNMAP; what a connection still holds when it closes is released.
 */
#ifndef PV_SIM_PROTO_H
#define PV_SIM_PROTO_H

#include <stdint.h>

#include "pv_xen_types.h"

#define PV_SIM_PROTO_VERSION 2

/*
 * The longest rundir pvio-simd can serve: every domain's sockets live under it, and the
 * longest, "<rundir>/dom32751/hypercall", must fit a unix socket address (108 bytes with
 * its NUL on Linux).
 */
#define PV_SIM_LONGEST_SOCKET "/dom32751/hypercall"
#define PV_SIM_SUN_PATH_MAX   108
#define PV_SIM_RUNDIR_MAX     (PV_SIM_SUN_PATH_MAX - 1 - (sizeof(PV_SIM_LONGEST_SOCKET) - 1))

/* Xen's own grant_table.h defines these too; a file includes one or the other. */
#ifndef __XEN_PUBLIC_GRANT_TABLE_H__
/*
 * A version-1 grant table entry, laid out as public/grant_table.h's (tests/abi checks it): the granting domain fills domid and
 * frame, then sets flags; the hypervisor (pvio-simd's library, on sim) sets GTF_reading /
 * GTF_writing while the grantee has the page mapped or is copying, so the granter can tell
 * an entry in use from one it may revoke.  flags and domid form one 32-bit word that both
 * sides change with compare-and-swap.
 */
struct grant_entry_v1 {
	uint16_t flags;
	domid_t domid;
	uint32_t frame;
};

#define GTF_invalid        (0U << 0)
#define GTF_permit_access  (1U << 0)
#define GTF_type_mask      (3U << 0)
#define GTF_readonly       (1U << 2)
#define GTF_reading        (1U << 3)
#define GTF_writing        (1U << 4)
#endif


enum pv_sim_op {
	PV_SIM_OP_HELLO = 1,        /* -> a[0] = our domid, a[1] = epoch entries; fd: epochs
	                             * (read-only) */
	PV_SIM_OP_REGISTER_GNTTAB,  /* a[0] = memory pages, a[1] = grant entries; fds: memory, gnttab */
	PV_SIM_OP_GET_PEER,         /* a[0] = domid -> a[0] = pages, a[1] = entries, a[2] = registration
	                             * generation; fds: memory, gnttab (read-only).  Refused
	                             * (EACCES) unless the granter grants the caller something */
	PV_SIM_OP_EVTCHN_ALLOC,     /* a[0] = remote domid -> a[0] = port; fds: ours, peer's */
	PV_SIM_OP_EVTCHN_BIND,      /* a[0] = remote domid, a[1] = remote port -> a[0] = port; fds */
	PV_SIM_OP_EVTCHN_CLOSE,     /* a[0] = port */
	PV_SIM_OP_DOMAIN_INFO,      /* a[0] = domid -> a[0] = flags (PV_SIM_DOM_*) */
	PV_SIM_OP_DOMAIN_CREATE,    /* dom0 only: a[0] = domid or PV_SIM_DOMID_ANY -> a[0] = domid */
	PV_SIM_OP_DOMAIN_DESTROY,   /* dom0 only: a[0] = domid */
	PV_SIM_OP_DOMAIN_LIST,      /* -> a[0] = n; data: n x uint16_t domid */
	PV_SIM_OP_GNT_MAP,          /* a[0] = granter, a[1] = generation, a[2] = n, a[3] = writable;
	                             * data: n x uint32_t ref -> data: n x struct pv_sim_map_out.
	                             * All or nothing; ESTALE: the generation is not current */
	PV_SIM_OP_GNT_UNMAP,        /* a[0] = n; data: n x uint32_t handle.  Every handle of this
	                             * connection is released; EINVAL if one was not */
	PV_SIM_OP_STATS,            /* -> data: struct pv_sim_stats */
	PV_SIM_OP_MAX,
};

#define PV_SIM_DOMID_ANY 0xFFFFu
#define PV_SIM_DOM_DYING 1u

/* Limits the daemon enforces on what a domain registers or asks for. */
#define PV_SIM_MAX_MEM_PAGES     (1u << 20) /* 4 GiB of guest memory */
#define PV_SIM_MAX_GNT_ENTRIES   (1u << 16)
#define PV_SIM_MAX_PORTS         4096       /* per domain, as Xen's 2-level ABI on 64-bit */
#define PV_SIM_MAPTRACK_ENTRIES  (1u << 16) /* pages one connection may hold mapped at once */
#define PV_SIM_MAP_BATCH         256u       /* refs per GNT_MAP (what fits in data[]) */
#define PV_SIM_UNMAP_BATCH       512u       /* handles per GNT_UNMAP */
#define PV_SIM_MAX_DOMAINS       1024
#define PV_SIM_EPOCH_ENTRIES     0x7FF0u    /* DOMID_FIRST_RESERVED */

struct pv_sim_msg {
	uint32_t op;      /* enum pv_sim_op */
	int32_t ret;      /* reply: 0 or -errno */
	uint64_t a[4];
	uint32_t ndata;   /* bytes of data[] used */
	uint8_t data[2048];
};

/* One page GNT_MAP pinned: where it is in the granter's memory, and what releases it. */
struct pv_sim_map_out {
	uint32_t frame;
	uint32_t handle; /* a slot of the connection's maptrack, kept in the daemon */
};

/* The daemon's counts of refused and hostile input (PV_SIM_OP_STATS, dom0 only). */
struct pv_sim_stats {
	uint64_t refused_conns;     /* connections closed at once: over a domain's caps */
	uint64_t accept_paused;     /* listeners paused after accept() ran out of fds */
	uint64_t over_budget;       /* requests refused with EMFILE: a domain's fd budget */
	uint64_t bad_maps;          /* GNT_MAP refused: not granted, read-only, bad ref or frame */
	uint64_t bad_unmaps;        /* GNT_UNMAP handles the connection did not hold */
	uint64_t stale_maps;        /* GNT_MAP on a registration that is no longer current */
	uint64_t maptrack_full;     /* GNT_MAP refused: the connection's maptrack is full */
	uint64_t peer_refused;      /* GET_PEER refused: no live grant to the caller */
	uint64_t pins;              /* pages mapped now, all connections */
	uint64_t unmap_calls;       /* GNT_UNMAP requests, all connections (batches count once) */
};

#endif /* PV_SIM_PROTO_H */
