/* SPDX-License-Identifier: MIT */
/*
 * fake_netback.h - a small netif back end for netfront's tests, run in a forked child
 * acting as domain 0.  It does the back end's half of the vif handshake with the
 * features a test chooses, takes every frame the front end sends (recording the last one
 * in memory shared with the test) and sends it straight back on the rx ring: an echo.
 * It can misbehave, for the first `count` frames, in the ways a hostile back end may.
 */
#ifndef FAKE_NETBACK_H
#define FAKE_NETBACK_H

#include <stdint.h>
#include <sys/types.h>

enum fnb_hostile {
	FNB_HONEST,
	FNB_RX_BAD_ID,        /* rx response id is not the one posted at its index */
	FNB_RX_OFFSET,        /* offset + size beyond the page */
	FNB_RX_STATUS_ERR,    /* rx status NETIF_RSP_ERROR */
	FNB_RX_CUT_CHAIN,     /* the last slot says more_data: a chain that never ends */
	FNB_RX_LONG_CHAIN,    /* a chain of more than XEN_NETIF_NR_SLOTS_MIN slots */
	FNB_RX_BAD_EXTRA,     /* extra info of type 9 */
	FNB_RX_EXTRA_CUT,     /* extra_info flag on the last slot published */
	FNB_RX_EXTRA_LOOP,    /* extra info with FLAG_MORE, again and again */
	FNB_RX_GSO_ZERO,      /* GSO extra with size 0 */
	FNB_RX_GSO_TYPE,      /* GSO extra with type 7 */
	FNB_RX_PREFIX,        /* NETRXF_gso_prefix, never asked for */
	FNB_RX_SHORT,         /* a frame of 6 bytes */
	FNB_RX_PROD_OVERFLOW, /* rx rsp_prod far beyond what was posted */
	FNB_TX_BAD_ID,        /* tx response with the right slot, another generation */
	FNB_TX_DUP,           /* every slot of a frame answered with the first slot's id */
	FNB_TX_BAD_STATUS,    /* tx status 5 */
	FNB_TX_ERROR,         /* tx status NETIF_RSP_ERROR */
	FNB_TX_STRAY_NULL,    /* NETIF_RSP_NULL in place of a slot's answer */
	FNB_TX_PROD_OVERFLOW, /* tx rsp_prod far beyond the requests */
	FNB_CLOSE_AFTER,      /* goes Closing after the first frame */
	FNB_REFUSE,           /* goes Closing instead of Connected */
};

#define FNB_MAX_NODES 4
#define FNB_MAX_FRAME 70000

struct fnb_node {
	char name[48];
	char value[48];
};

struct fnb_cfg {
	unsigned int devid, fe_domid;
	int sg, gso4, gso6, csum6, split, rxcopy; /* features offered */
	int max_queues;            /* -1: node absent */
	unsigned int rx_chunk;     /* bytes per rx slot (0: a page) */
	enum fnb_hostile hostile;
	unsigned int count;        /* frames to misbehave on (0: 1) */
	struct fnb_node init_nodes[FNB_MAX_NODES]; /* written just before InitWait */
};

struct fnb_seen {
	volatile int connects, closes, bad;
	volatile unsigned int queues, split, rx_notify, rx_copy, fe_gso4, fe_sg;
	volatile uint64_t frames, echoed, gso_frames;
	volatile uint32_t last_len;
	volatile uint16_t last_flags, last_gso_size;
	volatile uint8_t last_gso_type;
	volatile unsigned int last_slots;
	uint8_t last[FNB_MAX_FRAME];
};

/* Frames on their way from one fake's vif to its peer's (bridge mode); shared memory. */
#define FNB_MBOX_SLOTS 64
struct fnb_mbox {
	volatile uint32_t head, tail; /* free-running; the writer owns head, the reader tail */
	int efd;                      /* an eventfd: the writer wakes the reader */
	volatile uint64_t dropped;    /* frames that found the box full */
	struct {
		uint32_t len;
		uint16_t flags, gso_size;
		uint8_t gso_type;
		uint8_t data[FNB_MAX_FRAME];
	} s[FNB_MBOX_SLOTS];
};

struct fnb {
	pid_t pid;
	struct fnb_cfg cfg;
	struct fnb_seen *seen;  /* shared */
	struct fnb_mbox *in, *out; /* bridge mode: frames to send on rx / taken from tx */
};

int fnb_start(struct fnb *f, const char *rundir, const struct fnb_cfg *cfg);
/*
 * Bridge mode: two fakes, one per vif, each handing the frames its guest sends to the
 * other's guest (a two-port switch, with offloads passed through).  Honest only.
 */
int fnb_start_pair(struct fnb *a, struct fnb *b, const char *rundir, const struct fnb_cfg *ca,
		   const struct fnb_cfg *cb);
/* Kills the back end.  Returns 0 when the child had not crashed. */
int fnb_stop(struct fnb *f);

#endif
