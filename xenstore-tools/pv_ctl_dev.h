/* SPDX-License-Identifier: MIT */
/*
 * pv_ctl_dev.h - a device's toolstack record in xenstore, whatever the device kind ("vbd",
 * "vif"): its paths, the transaction its nodes are written in, the permissions libxl gives
 * them, removing and closing it, finding its backend, waiting for the backend, and walking
 * a domain's devices for a listing.
 *
 * Paths: backend  /local/domain/<be>/backend/<kind>/<fe>/<devid>
 *        frontend /local/domain/<fe>/device/<kind>/<devid>
 * pv_ctl_vbd.c and pv_ctl_vif.c write what differs between the kinds (which nodes, how a
 * devid is chosen, what a listing shows); one copy of the rest keeps the two alike.
 * Every function returns 0 (or a count) or -errno and prints nothing.
 */
#ifndef PV_CTL_DEV_H
#define PV_CTL_DEV_H

#include <stddef.h>
#include <stdint.h>

#include "pv_platform.h"

#define PV_CTL_PATH_MAX 128 /* the longest device path is ~60 characters */

void pv_ctl_dev_fe_path(char *buf, size_t len, const char *kind, domid_t fe, uint32_t devid);
void pv_ctl_dev_be_path(char *buf, size_t len, const char *kind, domid_t be, domid_t fe,
			uint32_t devid);

/* 1 if path exists, 0 if not, -errno. */
int pv_ctl_dev_exists(struct pv_platform *p, pv_xs_txn_t t, const char *path);
/* A directory entry that names a domain (decimal, below 0x7FF0) or a devid (decimal, u32). */
int pv_ctl_dev_parse_domid_name(const char *s, domid_t *out);
int pv_ctl_dev_parse_devid_name(const char *s, uint32_t *out);

/* Writes dir/name = val inside transaction t. */
int pv_ctl_dev_write_node(struct pv_platform *p, pv_xs_txn_t t, const char *dir,
			  const char *name, const char *val);
/*
 * Makes directory path of one end of a device with libxl's permissions (owned by owner,
 * whose own entry is "n": others get nothing; readable by peer) and the two nodes every
 * end starts with, naming the other: <peer_end> = peer_path, <peer_end>-id = peer
 * (peer_end "frontend" in a backend directory, "backend" in a frontend one).
 */
int pv_ctl_dev_mkdir(struct pv_platform *p, pv_xs_txn_t t, const char *path, domid_t owner,
		     domid_t peer, const char *peer_end, const char *peer_path);
/*
 * Runs body(p, t, arg) in a transaction and commits it, again from the start while the
 * commit conflicts (at most 100 times: one that keeps conflicting is someone else's bug).
 * A body that fails aborts the transaction and its error is returned.
 */
int pv_ctl_dev_txn(struct pv_platform *p, int (*body)(struct pv_platform *p, pv_xs_txn_t t,
						     void *arg), void *arg);

/*
 * Removes both directories in one transaction, and the backend's backend/<kind>/<fe> once
 * empty; a missing one is not an error.  be < 0: only the frontend directory.
 */
int pv_ctl_dev_remove(struct pv_platform *p, const char *kind, domid_t fe, int be,
		      uint32_t devid);
/*
 * Removes every device of kind that fe has, under every backend domain, without asking
 * anyone to close (libxl's forced removal, as when a domain is destroyed): each backend
 * sees its directory go, drains and lets go of its target.  Returns how many, or -errno.
 */
int pv_ctl_dev_remove_all(struct pv_platform *p, const char *kind, domid_t fe);
/* Asks the backend to close for good: online=0 and state=5 (Closing), one transaction. */
int pv_ctl_dev_close(struct pv_platform *p, const char *kind, domid_t fe, domid_t be,
		     uint32_t devid);
/*
 * Finds the backend domain of device devid of fe by looking for its backend directory under
 * every domain (the frontend's own "backend-id" is written by the guest and so not trusted).
 * Returns 0 and *be (-1 when only the frontend directory exists), or -ENOENT.
 */
int pv_ctl_dev_find(struct pv_platform *p, const char *kind, domid_t fe, uint32_t devid,
		    int *be);

/* Reads dir/name into buf ("" when absent), cut at the first line end; 1, 0 if absent, -errno. */
int pv_ctl_dev_read_line(struct pv_platform *p, const char *dir, const char *name, char *buf,
			 size_t len);

enum pv_ctl_wait {
	PV_CTL_WAIT_ATTACHED, /* hotplug-status=connected, or state 2 (InitWait) or 4 */
	PV_CTL_WAIT_CLOSED,   /* state 6 (Closed), or the directory gone */
};

/*
 * Watches the backend directory be_path until the condition holds (0), the backend fails
 * (-EIO: state Closing/Closed while attaching, an `error` node, hotplug-status=error, or
 * the directory removed; why gets a one-line reason) or timeout_ms passes (-ETIMEDOUT;
 * why gets the last state seen).
 */
int pv_ctl_dev_wait(struct pv_platform *p, const char *be_path, enum pv_ctl_wait what,
		    int timeout_ms, char *why, size_t whylen);

/*
 * A listing's growing array of per-device entries, one per devid.  An entry's type begins
 * with `uint32_t devid` (the listings' info structs do); init gives a new entry its
 * "absent" values.
 */
struct pv_ctl_dev_table {
	void *v;
	unsigned int n, cap;
	size_t size;
	void (*init)(void *e);
};

/* The entry of devid, added (zeroed, devid set, init called) if there is none; NULL: ENOMEM. */
void *pv_ctl_dev_table_get(struct pv_ctl_dev_table *tb, uint32_t devid);
/* Sorts the entries by devid. */
void pv_ctl_dev_table_sort(struct pv_ctl_dev_table *tb);

/*
 * Calls fn(arg, be, dir) with dir = /local/domain/<be>/backend/<kind>/<fe> for every domain
 * be, whether or not dir exists, until fn fails; returns its error, or 0.
 */
int pv_ctl_dev_each_backend(struct pv_platform *p, pv_xs_txn_t t, const char *kind, domid_t fe,
			    int (*fn)(void *arg, domid_t be, const char *dir), void *arg);

/*
 * Walks fe's devices of kind into tb: every backend directory first (only they are written
 * by trusted domains), on_backend(arg, entry, be) for each, then the frontend directories
 * (a half-removed device, or one the guest made itself), on_frontend(arg, entry) for each.
 * Unreadable directories are passed over.  Stops at the first callback error and returns it.
 */
int pv_ctl_dev_scan(struct pv_platform *p, const char *kind, domid_t fe,
		    struct pv_ctl_dev_table *tb, int (*on_backend)(void *arg, void *e, domid_t be),
		    int (*on_frontend)(void *arg, void *e), void *arg);

#endif
