/* SPDX-License-Identifier: MIT */
/*
 * fake_back.h - a small blkif back end for blkfront's tests, run in a forked child acting
 * as domain 0.  It does the back end's half of the handshake with the features a test
 * chooses, serves requests from a memory disk shared with the test process (so a test
 * can look at "the disk" directly), and can misbehave in the ways a hostile back end may.
 */
#ifndef FAKE_BACK_H
#define FAKE_BACK_H

#include <stdint.h>
#include <sys/types.h>

enum fake_hostile {
	FAKE_HONEST,
	FAKE_UNKNOWN_ID,     /* answers with an id no request had */
	FAKE_DUP_RSP,        /* answers each request twice */
	FAKE_NOT_IN_FLIGHT,  /* answers with the id of another (free) slot */
	FAKE_RSP_PROD,       /* publishes rsp_prod far beyond the ring */
	FAKE_BAD_OP,         /* answers with an operation the request did not have */
	FAKE_BAD_STATUS,     /* answers with status 7 */
	FAKE_STALE_GEN,      /* answers with the right slot but an older generation */
	FAKE_CLOSE_MID_IO,   /* takes a request, never answers, goes Closing */
	FAKE_KEEP_MAPPED,    /* maps a data page of the first request and never unmaps it */
	FAKE_REFUSE,         /* goes Closing instead of Connected */
	FAKE_SILENT,         /* never leaves Initialising */
	FAKE_ERROR_AT,       /* BLKIF_RSP_ERROR for requests touching sector error_sector */
	FAKE_EOPNOTSUPP_FLUSH, /* offers flush, answers it EOPNOTSUPP */
	FAKE_MUTE,           /* takes requests, never answers, stays Connected */
};

#define FAKE_MAX_NODES 4

struct fake_node {
	char name[48];
	char value[48];
};

struct fake_cfg {
	unsigned int devid;
	unsigned int fe_domid;
	uint64_t sectors;
	unsigned int sector_size;     /* 0: node absent (512) */
	int max_ring_order;           /* -1: node absent */
	int max_queues;               /* -1: node absent */
	int persistent, flush, barrier, discard, readonly;
	unsigned int indirect;        /* 0: node absent */
	unsigned int delay_us;        /* per batch of requests, to keep ios in flight */
	enum fake_hostile hostile;
	unsigned int hostile_queues;  /* the queues hostile applies to, a bit each; 0: all */
	unsigned int mute_queues;     /* these take requests and never answer (FAKE_MUTE) */
	uint64_t error_sector;
	/* Written after the normal nodes, before InitWait / before Connected: hostile values. */
	struct fake_node init_nodes[FAKE_MAX_NODES];
	struct fake_node connect_nodes[FAKE_MAX_NODES];
};

/* What the fake saw, for the test to check; in memory shared with the test. */
struct fake_seen {
	volatile int connects, closes;
	volatile unsigned int ring_pages, queues, fe_persistent, protocol_ok;
	volatile uint64_t requests, reads, writes, flushes, barriers, discards, indirect;
	volatile unsigned int max_segs;
	volatile int bad_requests;
	volatile uint64_t notifications; /* sent to the front end */
	volatile uint64_t taken;         /* requests consumed, answered or not */
	volatile int exited;
};

struct fake {
	pid_t pid;
	struct fake_cfg cfg;
	struct fake_seen *seen;  /* shared */
	uint8_t *disk;           /* shared, cfg.sectors * 512 bytes */
	size_t disk_bytes;
};

/* Creates the disk (zeroed) and forks the back end.  Returns 0 or -errno. */
int fake_start(struct fake *f, const char *rundir, const struct fake_cfg *cfg);
/* Kills the back end and frees the disk.  Returns 0 when the child had not crashed. */
int fake_stop(struct fake *f);

#endif
