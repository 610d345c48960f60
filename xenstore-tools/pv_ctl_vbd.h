/* SPDX-License-Identifier: MIT */
/*
 * pv_ctl_vbd.h - the toolstack's side of a vbd in xenstore (docs/protocol.md, "Block device").
 *
 * Paths: backend  /local/domain/<be>/backend/vbd/<fe>/<devid>
 *        frontend /local/domain/<fe>/device/vbd/<devid>
 * Removal, closing, finding and waiting are pv_ctl_dev_*(..., "vbd", ...) in pv_ctl_dev.h.
 * Every function returns 0 (or a count) or -errno and prints nothing; the command layer
 * (pv_ctl_cmd.h) turns results into messages.
 */
#ifndef PV_CTL_VBD_H
#define PV_CTL_VBD_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "pv_ctl_dev.h"
#include "pv_ctl_disk.h"
#include "pv_platform.h"

/*
 * Writes the backend and frontend directories of disk d for frontend fe, backend be, in one
 * transaction (retried on conflict), with libxl's permissions: the backend directory owned by
 * be and readable by fe, the frontend directory owned by fe and readable by be.
 * Returns 0, -EEXIST when either directory already exists (the vdev is in use), or -errno.
 */
int pv_ctl_vbd_write(struct pv_platform *p, domid_t fe, domid_t be, const struct pv_ctl_disk *d);

/* One vbd as block-list shows it. */
struct pv_ctl_vbd_info {
	uint32_t devid;          /* first: pv_ctl_dev_table keys on it */
	int backend_id;          /* -1: no backend directory found */
	int fe_state, be_state;  /* -1: absent */
	char dev[PV_CTL_VDEV_MAX];
	char mode[4];
	char type[16];
	char be_path[PV_CTL_PATH_MAX];
	char *params;            /* malloc'd, "" when absent */
	int direct_io_safe;      /* the toolstack's node is "1" */
	int direct;              /* pvio-backd serves it with O_DIRECT; -1: not known */
};

/*
 * Lists the vbds of domain fe, sorted by devid: *out is a malloc'd array of *n entries;
 * release it with pv_ctl_vbd_list_free().
 */
int pv_ctl_vbd_list(struct pv_platform *p, domid_t fe, struct pv_ctl_vbd_info **out,
		    unsigned int *n);
void pv_ctl_vbd_list_free(struct pv_ctl_vbd_info *v, unsigned int n);

#endif
