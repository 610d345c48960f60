/* SPDX-License-Identifier: MIT */
/*
 * pv_ctl_vif.h - the toolstack's side of a vif in xenstore (docs/protocol.md, "Network
 * device (vif): the toolstack's nodes"), as libxl's libxl__set_xenstore_nic writes it.
 *
 * Paths: backend  /local/domain/<be>/backend/vif/<fe>/<devid>
 *        frontend /local/domain/<fe>/device/vif/<devid>
 * Removal, closing, finding and waiting are pv_ctl_dev_*(..., "vif", ...) in pv_ctl_dev.h.
 * Every function returns 0 (or a count) or -errno and prints nothing.
 */
#ifndef PV_CTL_VIF_H
#define PV_CTL_VIF_H

#include <stdint.h>

#include "pv_ctl_dev.h"
#include "pv_ctl_vifspec.h"
#include "pv_platform.h"

/*
 * Writes the backend and frontend directories of vif v for frontend fe, backend be, in one
 * transaction (retried on conflict), with libxl's permissions (backend owned by be and
 * readable by fe, frontend owned by fe and readable by be).  With v->devid < 0 the devid is
 * the next free one, chosen inside the transaction: one more than the highest devid any
 * backend holds for fe (as libxl's libxl__device_nextid), skipping numbers a frontend
 * directory already uses (a guest can create those itself), from 0 again past the top.
 * Returns 0 and *devid, -EEXIST when devid= is in use, -ENOSPC when no devid is free.
 */
int pv_ctl_vif_write(struct pv_platform *p, domid_t fe, domid_t be, const struct pv_ctl_vif *v,
		     uint32_t *devid);

/* A value read from a node the guest writes: absent, or not what the protocol allows. */
#define PV_CTL_ABSENT  (-1L)
#define PV_CTL_INVALID (-2L)

/* One vif as network-list shows it. */
struct pv_ctl_vif_info {
	uint32_t devid;               /* first: pv_ctl_dev_table keys on it */
	int backend_id;               /* -1: no backend directory found */
	long fe_state, be_state;      /* 0..8, or PV_CTL_ABSENT / PV_CTL_INVALID */
	long evtch, tx_ref, rx_ref;   /* the frontend's (queue-0's with multi-queue) */
	long queues;                  /* multi-queue-num-queues, or absent (one queue) */
	int has_mac;                  /* the backend's mac (the guest's if no backend) parsed */
	uint8_t mac[6];
	char be_path[PV_CTL_PATH_MAX];
	/* The backend's own values, "" when absent; printable ASCII only (else "?") */
	char bridge[PV_CTL_IFNAME_MAX];
	char vifname[PV_CTL_IFNAME_MAX];
	char ip[PV_CTL_VIF_IP_MAX];
	char rate[48];
	char script[PV_CTL_VIF_SCRIPT_MAX];
};

/*
 * Lists the vifs of domain fe, sorted by devid: *out is a malloc'd array of *n entries
 * (free() it).  Values from the frontend directory are the guest's and are parsed
 * strictly: a value that is not a number in range is PV_CTL_INVALID, never copied.
 */
int pv_ctl_vif_list(struct pv_platform *p, domid_t fe, struct pv_ctl_vif_info **out,
		    unsigned int *n);

/* XenBus state name ("Connected"), or NULL outside 0..8. */
const char *pv_ctl_state_name(long state);

#endif
