/* SPDX-License-Identifier: MIT */
/*
 * xsd.h - private to sim/xsd: the daemon's data structures and the functions its files
 * share.  Nothing here is API; pv_xsd.h is.
 *
 * The store is a hash table of nodes keyed by absolute path, each node listing its
 * children's names, as Xen's C xenstored keeps its tdb.  A transaction is a second,
 * smaller table of the same nodes: the ones it touched, each remembering the generation
 * it first saw in the store; commit checks those generations and copies the modified
 * nodes over (see store.c).
 */
#ifndef PV_XSD_PRIV_H
#define PV_XSD_PRIV_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include <xen/io/xs_wire.h>

#include "pv_accept.h"
#include "pv_xsd.h"

/* Permission bits of one (domid, perm) entry; OWNER is never stored, only computed. */
#define XSD_PERM_NONE  0u
#define XSD_PERM_READ  1u
#define XSD_PERM_WRITE 2u
#define XSD_PERM_OWNER 4u

/* Xen's DOMID_FIRST_RESERVED: ids from here up are not domains (DOMID_SELF ...). */
#define XSD_DOMID_RESERVED 0x7FF0u

/*
 * Quota errors are C xenstored's: E2BIG for watches, ENOSPC for the rest.  Paths longer
 * than max_path past their "/local/domain/<id>/" are invalid names (EINVAL), so an
 * absolute path is at most max_path + XSD_LOCAL_PREFIX_MAX bytes.
 */
#define XSD_LOCAL_PREFIX_MAX (sizeof("/local/domain/65535/") - 1)

/* Xen's struct xs_tdb_record_hdr and struct xs_permissions: a node's size for the quota. */
#define XSD_REC_HDR  24u
#define XSD_REC_PERM 8u

/*
 * A client that does not read its replies stops being read at OUT_SOFT queued bytes
 * (the kernel then blocks its writes); one that lets watch events pile up past OUT_HARD
 * is disconnected.  Xen's xenstored drops such guests too.
 */
#define XSD_OUT_SOFT (64u * 1024)
#define XSD_OUT_HARD (4u * 1024 * 1024)

struct xsd_perm {
	domid_t id;
	uint8_t mode; /* XSD_PERM_READ | XSD_PERM_WRITE */
};

/* How a change fires watches: on the node and its ancestors, or on the node alone. */
enum xsd_fire { XSD_FIRE_NONE, XSD_FIRE_EXACT, XSD_FIRE_TREE };

struct xsd_node {
	struct xsd_node *hnext; /* hash chain */
	struct xsd_node *lnext; /* transaction entries: in the order first touched */
	uint64_t hash;
	char *value;
	uint32_t vlen;
	uint32_t nperms;        /* >= 1 for a node that exists; perms[0] is the owner */
	struct xsd_perm *perms;
	char *kids;             /* children's names, each NUL-terminated, in creation order */
	uint32_t kidslen;
	uint64_t gen;           /* changes whenever value, perms or children change */
	/* transaction entries only */
	uint64_t base_gen;      /* the store's gen when first touched (0: it was absent) */
	bool base_exists;
	bool modified;          /* false: only read; the store's node is the content */
	bool exists;            /* when modified: false if the transaction deleted it */
	uint8_t fire;           /* enum xsd_fire, fired at commit */
	uint32_t plen;
	char path[];
};

struct xsd_map {
	struct xsd_node **b;
	size_t nb, n;
};

struct xsd_txn {
	struct xsd_txn *next;
	uint32_t id;
	unsigned int entries;
	struct xsd_map map;
	struct xsd_node *first, **tail;
	long delta;             /* nodes its domain gains if this commits, for the quota */
	int err;                /* an operation failed half done: commit must not apply */
};

struct xsd_watch {
	struct xsd_watch *next;
	uint32_t rel;  /* bytes of "/local/domain/<id>/" to strip from events; 0: absolute */
	char *token;   /* points into path's allocation */
	char path[];   /* absolute, or "@..." */
};

struct xsd_conn {
	struct xsd_conn *next;
	struct pv_xsd *x;
	int fd;
	domid_t domid;
	bool dead;        /* closed; freed by reap() (conn.c) once nothing uses it */
	uint32_t events;  /* what pv_loop watches for now */
	char *in;         /* received bytes not yet handled */
	size_t in_len, in_cap;
	char *out;        /* queued output: out[out_off, out_len) */
	size_t out_off, out_len, out_cap;
	struct xsd_watch *watches;
	unsigned int nwatches;
	struct xsd_txn *txns;
	unsigned int ntxns;
	unsigned int nreplies;  /* replies queued and not yet fully sent */
};

/* What one domain holds, over all its connections: the quotas count these. */
struct xsd_acc {
	uint16_t conns, watches, txns, outstanding;
};

struct xsd_listener {
	struct xsd_listener *next;
	struct pv_xsd *x;
	int fd;
	domid_t domid;
};

struct xsd_special {
	const char *name;
	struct xsd_perm *perms;
	uint32_t nperms;
};

struct pv_xsd {
	struct pv_loop *loop;
	struct pv_xsd_limits lim;
	uint64_t seed;          /* keys the path hash, so clients cannot aim at one chain */
	uint64_t gen;
	uint32_t next_txid;
	struct xsd_map store;
	uint32_t *owned;        /* nodes owned, indexed by domid */
	uint8_t *introduced;    /* bitmap indexed by domid */
	struct xsd_special special[2]; /* @introduceDomain, @releaseDomain */
	struct xsd_conn *conns;
	struct xsd_listener *listeners;
	struct xsd_acc *acc;    /* per domain, indexed by domid */
	struct pv_accept listening; /* the listeners, paused when accept() runs out of fds */
	bool need_reap;
	struct pv_xsd_stats st;
};

/* Where an operation happens: the store itself, or a transaction of domain dom. */
struct xsd_view {
	struct pv_xsd *x;
	struct xsd_txn *t;
	domid_t dom;
};

/* ---- store.c ---- */
int xsd_store_init(struct pv_xsd *x);
void xsd_store_free(struct pv_xsd *x);
size_t xsd_local_prefix(const char *p);
int xsd_canon(const struct pv_xsd *x, domid_t dom, const char *in, bool special, char **out,
	      uint32_t *rel);
unsigned int xsd_perm_for(domid_t dom, const struct xsd_perm *p, uint32_t n);
int xsd_get(struct xsd_view *v, const char *path, struct xsd_node **out);
int xsd_lookup(struct xsd_view *v, const char *path, unsigned int need, struct xsd_node **out);
int xsd_write(struct xsd_view *v, const char *path, const void *val, uint32_t vlen, bool mkdir);
int xsd_rm(struct xsd_view *v, const char *path);
int xsd_set_perms(struct xsd_view *v, const char *path, const struct xsd_perm *p, uint32_t n);
struct xsd_txn *xsd_txn_new(void);
int xsd_txn_commit(struct pv_xsd *x, struct xsd_txn *t, domid_t dom);
void xsd_txn_free(struct xsd_txn *t);

/* ---- watch.c ---- */
int xsd_watch_add(struct xsd_conn *c, const char *path, uint32_t rel, const char *token);
int xsd_watch_del(struct xsd_conn *c, const char *path, const char *token);
void xsd_watches_free(struct xsd_conn *c);
void xsd_fire(struct pv_xsd *x, const char *path, const struct xsd_perm *p, uint32_t n,
	      bool exact);
void xsd_fire_special(struct pv_xsd *x, unsigned int which);

/* ---- conn.c ---- */
int xsd_queue(struct xsd_conn *c, uint32_t type, uint32_t req_id, uint32_t tx_id,
	      const struct iovec *iov, int niov);
void xsd_conn_kill(struct xsd_conn *c);
void xsd_domain_add(struct pv_xsd *x, domid_t domid);
int xsd_domain_drop(struct pv_xsd *x, domid_t domid, bool whole);
bool xsd_introduced(const struct pv_xsd *x, domid_t domid);
bool xsd_domain_live(const struct pv_xsd *x, domid_t domid);
void xsd_conn_rearm(struct xsd_conn *c);

/* ---- proto.c ---- */
void xsd_handle(struct xsd_conn *c, const struct xsd_sockmsg *hdr, const char *body);
void xsd_txns_free(struct xsd_conn *c);

#endif
