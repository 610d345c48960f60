/* SPDX-License-Identifier: MIT */
/*
 * xbfront.h - the xenbus half that blkfront and netfront share: finding the back end from
 * our device directory, watching it, reading its untrusted nodes, walking our state node
 * and publishing our connection nodes in one transaction.
 *
 * The two front ends negotiate different rings and features, but the handshake around
 * them is the same XenBus protocol (io/xenbus.h); one copy keeps a fix to it (a forced
 * detach must not re-create our state node, a peer's garbage is -EPROTO) in both.
 * Private to frontend/; every function returns 0 (or a value) or -errno.
 */
#ifndef PV_XBFRONT_H
#define PV_XBFRONT_H

#include <stdint.h>

#include "pv_platform.h"

/* XenBus states (io/xenbus.h). */
enum {
	XB_UNKNOWN = 0,
	XB_INITIALISING = 1,
	XB_INITWAIT = 2,
	XB_INITIALISED = 3,
	XB_CONNECTED = 4,
	XB_CLOSING = 5,
	XB_CLOSED = 6,
};
#define ST(x) (1u << (x))

#define XBF_PATH_MAX 1024u /* the longest back-end path we accept from our directory */

/* One device's xenbus end: embedded in struct pv_blkfront and struct pv_netfront. */
struct xbf {
	struct pv_platform *p;
	char *fe_path, *be_path;       /* ours, and the one our "backend" node names */
	domid_t backend_id;
	char token[48];
	int watching;                  /* a watch on be_path under token is set */
	int closed;                    /* the Closing -> Closed walk is done */
	/*
	 * The back end drains when we leave Connected and only then says Closed: on a
	 * toolstack's detach (its Closing is already there) the close waits for Closed, so
	 * that nothing of ours is still mapped when we end our grants (blkfront).
	 */
	int close_waits_closed;
};

uint64_t xbf_now_ms(void);

/* A plain decimal (no sign, space or newline) that fits 64 bits: 0, else -EINVAL. */
int xbf_parse_u64(const char *s, uint64_t *v);

/* Reads dir/node as a string (malloc'd).  -ENOENT when absent. */
int xbf_read_str(struct xbf *x, const char *dir, const char *node, char **val);

/*
 * Reads an unsigned node of the back end's.  Absent: *v = def, returns 0.  Present and a
 * plain decimal no larger than max: returns 1.  Anything else is -EPROTO: a peer that
 * writes garbage is not a peer to connect to.
 */
int xbf_read_uint(struct xbf *x, const char *dir, const char *node, uint64_t def,
		  uint64_t max, uint64_t *v);

/*
 * Makes fe_path "/local/domain/<us>/device/<kind>/<devid>" and reads its "backend" and
 * "backend-id".  -ENOENT when the toolstack has not written them (or we may not read
 * them), -EPROTO for a path or id that cannot be right.  be_path is set as soon as it
 * is read, so the caller frees it whatever the result.
 */
int xbf_find_backend(struct xbf *x, struct pv_platform *p, const char *kind, unsigned int devid);

/* Watches the back end's directory; the token "<lib>/<devid>/<owner>" names our handle. */
int xbf_watch(struct xbf *x, const char *lib, unsigned int devid, const void *owner);
/* Removes the watch, if set, and the events it left queued; safe twice. */
void xbf_unwatch(struct xbf *x);
/*
 * For an open that fails before our state node was touched: unwatches and drops be_path,
 * so that xbf_close() does not announce a close nobody was told of an open for.
 */
void xbf_forget_backend(struct xbf *x);

/* Writes our state only while our state node exists (see xbfront.c).  0 also when gone. */
int xbf_write_state(struct xbf *x, int state);
/* The back end's state; XB_UNKNOWN when absent or unreadable (a peer's garbage included). */
int xbf_backend_state(struct xbf *x);
/*
 * 1 if the toolstack asks us to let go of the device (libxl's and pvio-ctl's detach: the
 * back end's online=0 and state Closing), 0 if not.
 */
int xbf_detach_requested(struct xbf *x);
/* Takes every queued watch event; 1 if one was ours. */
int xbf_drain_watch(struct xbf *x);
/*
 * Waits until the back end's state is in want (returns it), in bad (-EPROTO), or until
 * deadline (-ETIMEDOUT).
 */
int xbf_wait_backend(struct xbf *x, unsigned int want, unsigned int bad, uint64_t deadline);

/*
 * A back end still Initialised or Connected holds a connection we no longer have (our
 * process restarted): walk it through Closing -> Closed first, as a reconnect would.
 */
void xbf_reset_stale(struct xbf *x, uint64_t deadline);

/*
 * Our half of the close: Closing, wait for the back end to close (or to be gone), Closed.
 * Once per device (x->closed), and only when the back end was found.  0 or -ETIMEDOUT.
 */
int xbf_close(struct xbf *x, uint64_t deadline);

/* Writes dir/node = v (decimal) inside transaction t. */
int xbf_txn_u(struct xbf *x, pv_xs_txn_t t, const char *dir, const char *node, unsigned int v);

/*
 * Publishes our connection nodes: in one transaction, removes the nodes of our directory
 * that ours() claims (a previous connection's queue-3/ would mislead), calls write(arg, t)
 * and sets our state to state, so that the back end sees all of it or none.  A conflicting
 * transaction is retried with a growing pause.
 */
int xbf_publish(struct xbf *x, int (*ours)(const char *node),
		int (*write)(void *arg, pv_xs_txn_t t), void *arg, int state);

/*
 * Takes every pending event-channel event, unmasking each port, and returns how many there
 * were (the callers count them as wakeups).
 */
unsigned int xbf_drain_events(struct pv_platform *p);

/* Frees the paths; the struct may be reused after. */
void xbf_free(struct xbf *x);

#endif /* PV_XBFRONT_H */
