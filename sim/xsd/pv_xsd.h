/* SPDX-License-Identifier: MIT */
/*
 * pv_xsd.h - pvio-simd's xenstore daemon: the tree, Xen's permission model, watches,
 * transactions and quotas, speaking io/xs_wire.h to the real libxenstore and
 * xenstore-utils over unix sockets.
 *
 * The simulator gives it one listening socket per domain; every connection accepted on
 * domain N's socket acts as domain N (domain 0 is privileged), as Xen's xenstored knows a
 * guest by the ring it talks on.  It runs inside the caller's pv_loop and does its own
 * non-blocking socket I/O.  Nothing a client sends can crash it: a malformed message gets
 * an XS_ERROR reply or, when the stream can no longer be parsed, the connection closes.
 */
#ifndef PV_XSD_H
#define PV_XSD_H

#include <stddef.h>
#include <stdint.h>

#include "pv_loop.h"
#include "pv_xen_types.h"

struct pv_xsd;

/*
 * Quotas; 0 takes the default shown, which is Xen 4.17's C xenstored's (what
 * `xenstore-control quota` reports).  They count per domain, over all its connections,
 * and bind domUs only, except max_path which binds every domain as in Xen.
 */
struct pv_xsd_limits {
	unsigned int max_nodes;        /* nodes a domU owns: 1000 */
	unsigned int max_watches;      /* watches of a domU: 128 */
	unsigned int max_transactions; /* open transactions of a domU: 10 */
	unsigned int max_outstanding;  /* requests of a domU whose replies it has not read: 20 */
	unsigned int max_txn_nodes;    /* nodes one domU transaction may touch: 1024 */
	unsigned int max_memory;       /* reported only ("memory", 2.5 MiB); see docs */
	unsigned int max_memory_soft;  /* reported only ("quota-soft" memory, 2 MiB) */
	unsigned int max_node_size;    /* bytes of a node's record (Xen's tdb layout): 2048 */
	unsigned int max_path;         /* bytes of a path after "/local/domain/<id>/": 2048 */
	unsigned int max_perms;        /* permission entries of a node, owner included: 5 */
	unsigned int max_payload;      /* bytes of one message's payload: 4096 (XENSTORE_PAYLOAD_MAX) */
	unsigned int max_conns;        /* connections of one domU at once: 64 (dom0: no cap) */
	unsigned int accept_pause_ms;  /* listeners sleep this long when accept() is out of fds: 100 */
};

/* Creates the store with Xen's initial tree ("/", "/local", "/local/domain", "/tool"). */
struct pv_xsd *pv_xsd_new(struct pv_loop *loop, const struct pv_xsd_limits *limits);

/* Closes every connection and listening socket it holds, and frees the store. */
void pv_xsd_free(struct pv_xsd *xsd);

/*
 * Serves listen_fd (a listening unix socket, which the store now owns and closes) for
 * domain domid: every connection accepted there is domain domid.  Returns 0 or -errno.
 */
int pv_xsd_listen(struct pv_xsd *xsd, int listen_fd, domid_t domid);

/*
 * A new domain: creates /local/domain/<domid> as libxl does (owned by dom0, readable by the
 * domain; its device/, data/, control/, drivers/, feature/, attr/, error/ children owned by
 * the domain) and fires the @introduceDomain watch.  Returns 0 or -errno (-EEXIST).
 */
int pv_xsd_domain_introduce(struct pv_xsd *xsd, domid_t domid);

/*
 * The domain is gone: closes its listening socket and connections (dropping their watches
 * and transactions), removes /local/domain/<domid>, and fires @releaseDomain.
 * Returns 0 or -ENOENT.
 */
int pv_xsd_domain_release(struct pv_xsd *xsd, domid_t domid);

/* Counters for tests and the daemon's status output. */
struct pv_xsd_stats {
	uint64_t messages;      /* requests handled */
	uint64_t errors;        /* XS_ERROR replies sent */
	uint64_t bad_messages;  /* malformed requests (bad length, type, path, txn id ...) */
	uint64_t watch_events;  /* XS_WATCH_EVENT messages queued */
	uint64_t conflicts;     /* transactions ended with EAGAIN */
	uint64_t refused;       /* connections closed at once: their domain was at max_conns */
	uint64_t accept_paused; /* times accept() ran out of fds and listening paused */
	unsigned int connections;
	unsigned int nodes;
};
void pv_xsd_get_stats(const struct pv_xsd *xsd, struct pv_xsd_stats *st);

#endif /* PV_XSD_H */
