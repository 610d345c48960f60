/* SPDX-License-Identifier: MIT */
/*
 * harness.h - what the pvio-backd tests share: a pvio-simd and a pvio-backd in a temp
 * rundir, a toolstack (dom0 handle) and hand-written front ends (guest handles).
 */
#ifndef BACKEND_HARNESS_H
#define BACKEND_HARNESS_H

#include <stdint.h>
#include <sys/types.h>

#include "pv_blkif.h"
#include "pv_platform.h"
#include "pv_simtest.h"

#define H_NDOMS     3   /* guests 1..3 */
#define H_DATA_PAGES 64
#define H_MAXQ      16

extern struct pv_simtest h_sim; /* rundir, pvio-simd, dom0 */
extern pid_t h_backd;
extern struct pv_platform *h_dom[H_NDOMS + 1];

/* Starts pvio-simd and pvio-backd (extra options for the daemon, may be NULL). */
int h_start(const char *backd_extra);
/* Stops both; returns pvio-backd's wait status (or -1, also when pvio-simd did not exit 0),
 * and removes the rundir. */
int h_stop(void);
int h_backd_start(const char *extra);
/* SIGTERM to pvio-backd; returns its wait status. */
int h_backd_sigterm(void);
/*
 * SIGSTOP to pvio-backd, then waits (5 s at most) until it is seen stopped: what is
 * published meanwhile is all there when it looks again (SIGCONT).  0, or -1.
 */
int h_backd_pause(void);

/* One front end as a guest's blkfront would be, hand-written to be able to misbehave. */
struct h_fe {
	unsigned int domid, devid;
	char be[128], fe[128], disk[300];
	int diskfd;
	unsigned int nq, order;
	struct {
		struct pv_ring_front ring;
		void *sring;
		grant_ref_t refs[16];
		evtchn_port_t port;
		uint64_t next_id;
	} q[H_MAXQ];
	uint8_t *data;                 /* H_DATA_PAGES pages granted writable to dom0 */
	grant_ref_t data_refs[H_DATA_PAGES];
};

/* Toolstack: a disk file of the given size, and the nodes of docs/protocol.md. */
int h_attach(struct h_fe *f, unsigned int domid, unsigned int devid, uint64_t bytes,
	     const char *mode, const char *params_override);
/* Toolstack detach: online=0, state=5, wait Closed, remove both directories. */
int h_detach(struct h_fe *f);

/* Options for h_connect: which nodes to write and how. */
struct h_conn {
	unsigned int order;        /* ring-page-order (0: node absent unless force_order) */
	unsigned int nq;           /* 0 or 1: no multi-queue node */
	int persistent;
	const char *protocol;      /* NULL: absent */
	const char *bad_node;      /* written after the good ones: "name=value" */
	int force_order;
};
/* Shares rings and data pages, writes the nodes and Initialised; does not wait. */
int h_connect_start(struct h_fe *f, const struct h_conn *c);
/* h_connect_start, then waits for the backend's Connected. */
int h_connect(struct h_fe *f, const struct h_conn *c);
/* Front end Closed, wait backend Closed, then unshare everything (fails if still mapped). */
int h_fe_close(struct h_fe *f);
/* Unshares the front end's pages and unbinds its ports: -EBUSY if the backend still maps any. */
int h_fe_release(struct h_fe *f);
void h_fe_free(struct h_fe *f);

int h_wait_be_state(struct h_fe *f, int state, int ms);
int h_be_state(struct h_fe *f);
int h_be_has(struct h_fe *f, const char *node);

/* Puts one request on queue qi (the caller filled everything but the slot). */
void h_put(struct h_fe *f, unsigned int qi, const struct blkif_request *r);
/* Publishes and notifies if asked (counted in h_kicks). */
void h_push(struct h_fe *f, unsigned int qi);
extern unsigned long h_kicks;
/* Takes one response (waits up to ms).  Returns 0 or -ETIMEDOUT. */
int h_get(struct h_fe *f, unsigned int qi, struct blkif_response *rsp, int ms);
/* One request, its response; returns the status or -1000 on time-out. */
int h_do(struct h_fe *f, unsigned int qi, const struct blkif_request *r);

/* A read/write of n sectors at sector from data page pg (contiguous pages). */
void h_rw(struct h_fe *f, struct blkif_request *r, uint8_t op, uint64_t sector,
	  unsigned int pg, unsigned int nsect);

/* pvio-backd's counter `name` for this device via the control socket; -1 on error. */
long long h_stat(struct h_fe *f, const char *name);
/* The raw answer of one control command. */
int h_ctl(const char *cmd, char *out, size_t len);

#endif
